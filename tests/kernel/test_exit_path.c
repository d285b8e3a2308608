/* Two things `xstate conform` found the simulated kernel doing differently
 * from the host's Linux kernel, fixed here and pinned down:
 *
 *  - the way back to user mode: a system call returns with SYSRET, which
 *    leaves FS/GS alone; an exception (a fault, INT3 for a ptrace stop), an
 *    interrupt, or a signal delivery returns with IRET, which turns a null
 *    selector 1-3 in FS/GS into 0 (SDM IRET, return to an outer privilege
 *    level) and keeps the base;
 *  - the build option CONFIG_X86_USER_SHADOW_STACK (policy user-shstk): on,
 *    NT_X86_SHSTK exists and reads ENODEV while the task has no shadow
 *    stack; off (the host's kernel), the regset does not exist (EINVAL) and
 *    ARCH_SHSTK_* are unknown options (EINVAL). */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_abi.h"
#include "xstate/kernel_fsgs.h"
#include "xstate/kernel_special.h"

#define BASE_A 0x200000000ULL

static struct xs_seg_view view(struct kt *t, unsigned cpu)
{
	struct xs_seg_view v;

	xs_seg_peek(t->k.cpu[cpu].hw, &v);
	return v;
}

/* User code of the task on cpu 0: GS := sel (then, with FSGSBASE, the base). */
static void user_gs(struct kt *t, uint16_t sel, uint64_t base)
{
	struct xs_cpu *hw = t->k.cpu[0].hw;

	xs_mov_to_seg(hw, XS_SEG_GS, sel);
	if (t->k.fsgsbase)
		xs_wrsegbase(hw, XS_SEG_GS, base);
}

static void test_iret(const char *model)
{
	struct kt t;
	struct xk_task *a;
	uint64_t base;

	if (kt_boot(&t, model, 1, "")) {
		tap_skip("no model %s", model);
		return;
	}
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	base = t.k.fsgsbase ? BASE_A : 0;

	user_gs(&t, 2, base);
	xk_enter_kernel(&t.k, 0); /* a system call */
	xk_return_to_user(&t.k, 0);
	tap_ok(view(&t, 0).gs_sel == 2 && view(&t, 0).gs_base == base,
	       "%s: GS 2 survives a system call (SYSRET)", model);

	xk_enter_kernel_trap(&t.k, 0); /* INT3 */
	xk_return_to_user(&t.k, 0);
	tap_ok(view(&t, 0).gs_sel == 0 && view(&t, 0).gs_base == base,
	       "%s: after INT3 the IRET leaves GS 0, base kept (0x%llx)", model,
	       (unsigned long long)view(&t, 0).gs_base);

	user_gs(&t, 3, base);
	xk_irq_enter(&t.k, 0, XK_IRQ_HARD);
	if (xk_irq_exit(&t.k, 0) == 1)
		xk_return_to_user(&t.k, 0);
	tap_ok(view(&t, 0).gs_sel == 0, "%s: an interrupt from user mode returns with IRET: GS 0",
	       model);

	user_gs(&t, 0x2b, base);
	xk_enter_kernel_trap(&t.k, 0);
	xk_return_to_user(&t.k, 0);
	tap_ok(view(&t, 0).gs_sel == 0x2b, "%s: IRET keeps a real selector (__USER_DS)", model);

	user_gs(&t, 1, base);
	xk_enter_kernel(&t.k, 0);
	xk_switch(&t.k, 0, NULL); /* a blocking system call */
	xk_switch(&t.k, 0, a);
	xk_return_to_user(&t.k, 0);
	tap_eq_u64(view(&t, 0).gs_sel, 1, "%s: GS 1 saved and reloaded across a switch (SYSRET)",
		   model);
	tap_ok(t.bad == 0, "%s: no warning (%s)", model, t.bad_why);
	xk_shutdown(&t.k);
}

static void test_user_shstk(void)
{
	static const char *const policies[] = { "", "user-shstk=off" };
	uint8_t buf[8] = { 0 };

	for (int i = 0; i < 2; i++) {
		bool off = i == 1;
		struct xk_task *a, *b;
		size_t len = sizeof(buf);
		struct kt t;
		long r;

		if (kt_boot(&t, "intel-sapphire-rapids", 2, policies[i])) {
			tap_skip("no model intel-sapphire-rapids");
			return;
		}
		tap_ok(xk_shstk_supported(&t.k) == !off, "%s: user shadow stacks %s",
		       off ? "user-shstk=off" : "default", off ? "not built in" : "supported");
		a = xk_spawn(&t.k, "a");
		b = xk_spawn(&t.k, "b");
		kt_run(&t, 0, a);
		kt_run(&t, 1, b);
		xk_enter_kernel(&t.k, 1);
		r = xk_shstk_prctl(&t.k, 1, XK_ARCH_SHSTK_STATUS, 0, NULL);
		xk_return_to_user(&t.k, 1);
		tap_eq_u64((uint64_t)r, off ? (uint64_t)-EINVAL : 0,
			   "ARCH_SHSTK_STATUS: %s", off ? "unknown option (EINVAL)" : "ok");
		kt_idle(&t, 0); /* a stops */
		r = xk_ptrace_regset(&t.k, a, false, XK_NT_X86_SHSTK, buf, &len);
		tap_eq_u64((uint64_t)r, off ? (uint64_t)-EINVAL : (uint64_t)-ENODEV,
			   "NT_X86_SHSTK read without a shadow stack: %s",
			   off ? "EINVAL (no such regset)" : "ENODEV (not active)");
		xk_shutdown(&t.k);
	}
}

static void test_policy_text(void)
{
	struct xk_policy p, q;
	char err[256], buf[256];

	xk_policy_default(&p);
	tap_ok(!p.no_user_shstk, "default: built with user shadow stacks");
	tap_ok(xk_policy_set(&p, "user-shstk=off", err, sizeof(err)) == 0 && p.no_user_shstk,
	       "user-shstk=off parses");
	xk_policy_format(&p, buf, sizeof(buf));
	tap_ok(strstr(buf, "user-shstk=off") != NULL, "and is printed: %s", buf);
	xk_policy_default(&q);
	tap_ok(xk_policy_parse(&q, buf, err, sizeof(err)) == 0 && xk_policy_equal(&p, &q),
	       "the printed form reads back");
	tap_ok(xk_policy_set(&q, "user-shstk=maybe", err, sizeof(err)) != 0 && strstr(err, "on|off"),
	       "a bad value is refused: %s", err);
}

int main(void)
{
	tap_plan_lazy();
	test_iret("intel-icelake-sp");   /* FSGSBASE */
	test_iret("amd-zen2-rome");      /* AMD, null loads clear the base too */
	test_user_shstk();
	test_policy_text();
	return tap_done();
}
