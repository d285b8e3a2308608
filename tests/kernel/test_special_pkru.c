/* PKRU: user state that affects the kernel (kernel_special.h, pkru.c).
 * Eager switch through thread.pkru, kernel accesses checked against the
 * right task's keys, fork/exec/kernel threads, never in the task restore,
 * and the pkru-lazy mutant caught by a kernel access. */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_special.h"

#define PKRU_A 0x0000000Cu /* key 1: access- and write-disabled */
#define PKRU_B 0x00000000u /* every key open */
#define PKRU_W 0x00000008u /* key 1: write-disabled only */

static uint32_t cpu_pkru(struct kt *t, unsigned cpu)
{
	uint32_t v = 0;

	xs_rdpkru(t->k.cpu[cpu].hw, &v);
	return v;
}

static enum xs_fault user_wrpkru(struct kt *t, unsigned cpu, uint32_t v)
{
	return xs_wrpkru(t->k.cpu[cpu].hw, v);
}

static void test_eager_switch(void)
{
	struct kt t;
	struct xk_task *a, *b, *kt1;
	struct xk_kernel *k = &t.k;

	if (kt_boot(&t, "intel-icelake-sp", 1, "")) {
		tap_ok(0, "boot icelake");
		return;
	}
	tap_ok(xk_pkru_enabled(k), "icelake: OSPKE, PKRU managed");
	tap_ok(!(k->restore_mask & XS_BIT(XS_C_PKRU)), "PKRU is not in the task restore mask");
	a = xk_spawn(k, "a");
	b = xk_spawn(k, "b");
	kt1 = xk_kthread_create(k, "kt");
	tap_eq_u64(a->thread.pkru, XK_PKRU_INIT_DEFAULT, "a new task's thread.pkru is init_pkru");

	tap_ok(kt_run(&t, 0, a) == 0, "a runs");
	tap_eq_u64(cpu_pkru(&t, 0), XK_PKRU_INIT_DEFAULT, "a starts with init_pkru in the register");
	tap_ok(user_wrpkru(&t, 0, PKRU_A) == XS_OK, "a: WRPKRU A");
	tap_eq_u64(xk_pkru_get(k, a), PKRU_A, "xk_pkru_get(a) while running reads the register");

	/* Switch to b: the kernel runs for b before b returns to user mode. */
	xk_enter_kernel(k, 0);
	tap_ok(xk_switch(k, 0, b) == 0, "switch a -> b");
	tap_eq_u64(a->thread.pkru, PKRU_A, "a's value stashed in thread.pkru at the switch");
	tap_eq_u64(cpu_pkru(&t, 0), XK_PKRU_INIT_DEFAULT,
		   "b's PKRU is in the register already in the kernel (eager)");
	tap_ok(xk_pkru_uaccess(k, 0, 1, false) == -EFAULT,
	       "copy_from_user for b, key 1: b's init PKRU forbids it");
	tap_ok(xk_pkru_uaccess(k, 0, 0, true) == 0, "copy_to_user for b, key 0: allowed");
	tap_ok(xk_return_to_user(k, 0) == 0, "b to user");
	tap_ok(user_wrpkru(&t, 0, PKRU_B) == XS_OK, "b: WRPKRU 0 (all keys open)");

	/* Back to a: the kernel access for a obeys a's keys, not b's. */
	xk_enter_kernel(k, 0);
	tap_ok(xk_switch(k, 0, a) == 0, "switch b -> a");
	tap_eq_u64(cpu_pkru(&t, 0), PKRU_A, "a's PKRU loaded at the switch");
	tap_ok(xk_pkru_uaccess(k, 0, 1, true) == -EFAULT, "kernel write for a, key 1: EFAULT");
	tap_ok(xk_pkru_uaccess(k, 0, 2, true) == 0, "kernel write for a, key 2: allowed");
	tap_ok(xk_pkru_uaccess(k, 0, 16, false) == -EINVAL, "pkey 16 is invalid");

	/* A kernel thread runs with init_pkru; the idle task too. */
	tap_ok(xk_switch(k, 0, kt1) == 0, "switch a -> kthread");
	tap_eq_u64(cpu_pkru(&t, 0), XK_PKRU_INIT_DEFAULT, "the kernel thread runs with init_pkru");
	tap_ok(xk_pkru_uaccess(k, 0, 0, false) == -EINVAL, "no user task: uaccess refused");
	tap_ok(xk_switch(k, 0, b) == 0 && xk_return_to_user(k, 0) == 0, "kthread -> b");
	tap_eq_u64(cpu_pkru(&t, 0), PKRU_B, "b's own value came back through thread.pkru");

	/* Task restores never carry PKRU. */
	{
		unsigned bad = 0;
		kt_reset_counts(&t);
		for (int i = 0; i < 4; i++) {
			struct xk_task *n = i & 1 ? b : a;
			if (kt_run(&t, 0, n))
				bad++;
			if (cpu_pkru(&t, 0) != (n == a ? PKRU_A : PKRU_B))
				bad++;
		}
		tap_ok(!bad, "4 switches: each task sees its own PKRU");
		tap_ok(t.n[XK_EV_PKRU] == 4, "one WRPKRU per switch between differing values (%u)",
		       t.n[XK_EV_PKRU]);
	}
	tap_ok(t.bad == 0, "no invariant broken (%s)", t.bad ? t.bad_why : "-");
	xk_shutdown(k);
}

static void test_fork_exec(void)
{
	struct kt t;
	struct xk_task *a, *c = NULL;
	struct xk_kernel *k = &t.k;

	if (kt_boot(&t, "intel-icelake-sp", 1, "")) {
		tap_ok(0, "boot icelake");
		return;
	}
	a = xk_spawn(k, "a");
	kt_run(&t, 0, a);
	user_wrpkru(&t, 0, PKRU_W);
	xk_enter_kernel(k, 0);
	tap_ok(xk_clone(k, 0, 0, "child", &c) == 0 && c, "fork");
	tap_eq_u64(c->thread.pkru, PKRU_W, "the child's thread.pkru is the parent's live register");
	tap_ok(xk_exec(k, 0) == 0, "a execs");
	tap_eq_u64(cpu_pkru(&t, 0), XK_PKRU_INIT_DEFAULT,
		   "exec writes init_pkru to the register (pkru_write_default)");
	xk_return_to_user(k, 0);
	tap_eq_u64(cpu_pkru(&t, 0), XK_PKRU_INIT_DEFAULT, "after exec a runs with init_pkru");
	kt_run(&t, 0, c);
	tap_eq_u64(cpu_pkru(&t, 0), PKRU_W, "the child runs with the value it inherited");
	tap_ok(t.bad == 0, "no invariant broken (%s)", t.bad ? t.bad_why : "-");
	xk_shutdown(k);
}

/* The mutant: PKRU deferred to the return to user. Same sequence as a
 * correct kernel; the kernel access made for the next task shows it. */
static void test_mutant_pkru_lazy(void)
{
	for (int mut = 0; mut < 2; mut++) {
		struct kt t;
		struct xk_task *a, *b;
		struct xk_kernel *k = &t.k;
		int r;

		if (kt_boot(&t, "intel-icelake-sp", 1, mut ? "mutant=pkru-lazy" : "")) {
			tap_ok(0, "boot");
			return;
		}
		a = xk_spawn(k, "a");
		b = xk_spawn(k, "b");
		kt_run(&t, 0, a);
		user_wrpkru(&t, 0, PKRU_B);   /* a opens every key */
		kt_run(&t, 0, b);
		user_wrpkru(&t, 0, PKRU_A);   /* b closes key 1 */
		xk_enter_kernel(k, 0);
		xk_switch(k, 0, a);
		r = xk_pkru_uaccess(k, 0, 1, true);
		if (!mut)
			tap_ok(r == 0, "correct kernel: copy_to_user for a, key 1, allowed by a's PKRU");
		else
			tap_ok(r == -EFAULT, "mutant pkru-lazy: the same copy_to_user faults with b's "
			       "stale PKRU");
		xk_return_to_user(k, 0);      /* a runs: its PKRU is loaded now either way */
		xk_enter_kernel(k, 0);
		xk_switch(k, 0, b);
		r = xk_pkru_uaccess(k, 0, 1, true);
		if (!mut)
			tap_ok(r == -EFAULT, "correct kernel: copy_to_user for b, key 1, refused");
		else
			tap_ok(r == 0, "mutant pkru-lazy: the kernel writes b's protected page with "
			       "a's keys");
		xk_return_to_user(k, 0);
		tap_eq_u64(cpu_pkru(&t, 0), PKRU_A, "%s: in user mode b has its PKRU",
			   mut ? "mutant" : "correct");
		xk_shutdown(k);
	}
}

static void test_no_pku(void)
{
	struct kt t;
	struct xk_task *a, *b;
	struct xk_kernel *k = &t.k;

	if (kt_boot(&t, "intel-skylake-client", 1, "")) {
		tap_ok(0, "boot skylake-client");
		return;
	}
	tap_ok(!xk_pkru_enabled(k), "skylake-client: no PKU, PKRU not managed");
	a = xk_spawn(k, "a");
	b = xk_spawn(k, "b");
	kt_run(&t, 0, a);
	kt_run(&t, 0, b);
	xk_enter_kernel(k, 0);
	tap_ok(xk_pkru_uaccess(k, 0, 1, true) == 0, "without PKU every kernel access passes");
	tap_ok(t.n[XK_EV_PKRU] == 0, "no WRPKRU without PKU");
	tap_eq_u64(xk_pkru_get(k, a), 0, "xk_pkru_get is 0 without PKU");
	xk_shutdown(k);
}

static void test_policy_names(void)
{
	struct xk_policy p;
	char err[256], buf[256];

	xk_policy_default(&p);
	tap_ok(p.cet_s == XK_CET_S_GUEST && p.uintr == XK_UINTR_OFF, "defaults: cet-s=guest uintr=off");
	tap_ok(xk_policy_parse(&p, "cet-s=independent,uintr=ordinary", err, sizeof(err)) == 0,
	       "parse cet-s=independent,uintr=ordinary");
	tap_ok(p.cet_s == XK_CET_S_INDEPENDENT && p.uintr == XK_UINTR_ORDINARY, "values set");
	xk_policy_format(&p, buf, sizeof(buf));
	tap_ok(strstr(buf, " cet-s=independent") && strstr(buf, " uintr=ordinary"),
	       "format shows non-default special policies: %s", buf);
	tap_ok(xk_policy_set(&p, "uintr=sometimes", err, sizeof(err)) == -1 &&
	       strstr(err, "off|ordinary|independent"), "bad uintr value: %s", err);
	tap_ok(xk_policy_set(&p, "cet-s=kernel", err, sizeof(err)) == -1 &&
	       strstr(err, "guest|task|independent"), "bad cet-s value: %s", err);
	tap_ok(p.uintr == XK_UINTR_ORDINARY, "a rejected setting changes nothing");
	for (const char *n = "pkru-lazy"; n; n = NULL)
		tap_ok(xk_mutant_lookup(n) == XK_MUT_PKRU_LAZY, "mutant %s known", n);
	tap_ok(xk_mutant_lookup("uintr-shortcut") == XK_MUT_UINTR_SHORTCUT, "mutant uintr-shortcut");
	tap_ok(xk_mutant_lookup("shstk-set-unchecked") == XK_MUT_SHSTK_SET_UNCHECKED,
	       "mutant shstk-set-unchecked");
	xk_policy_default(&p);
	xk_policy_format(&p, buf, sizeof(buf));
	tap_ok(!strstr(buf, "cet-s") && !strstr(buf, "uintr"), "defaults are not printed: %s", buf);
}

int main(void)
{
	tap_plan_lazy();
	test_eager_switch();
	test_fork_exec();
	test_mutant_pkru_lazy();
	test_no_pku();
	test_policy_names();
	return tap_done();
}
