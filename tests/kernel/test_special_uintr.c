/* User interrupts (kernel_special.h, uintr.c) under uintr=off (Linux),
 * ordinary and independent, and the uintr-shortcut mutant. Seed 001's
 * questions, answered by what each run does:
 *   - a receiver switched to a kernel thread and back on the same CPU:
 *     ordinary (owner/last_cpu shortcut, no XRSTORS) runs with UINV = 0
 *     and loses the next user interrupt; independent delivers it;
 *   - an exec (buffer reset without a save) makes ordinary's XRSTORS #GP;
 *   - fork's XSAVES clears the parent's live UINV under ordinary;
 *   - interrupts posted while the receiver is switched out or migrating
 *     are delivered when it next runs (independent). */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_special.h"

#define HANDLER 0x401000ULL
#define MODEL "intel-sapphire-rapids"

static uint8_t cpu_uinv(struct kt *t, unsigned cpu)
{
	struct xs_cpu *hw = t->k.cpu[cpu].hw;
	int cpl = xs_cpl(hw);
	uint64_t v = 0;

	xs_set_cpl(hw, 0);
	xs_rdmsr(hw, XS_MSR_UINTR_MISC, &v);
	xs_set_cpl(hw, cpl);
	return (uint8_t)(v >> 32);
}

struct rx {
	struct kt t;
	struct xk_task *r, *other, *kth;
	const char *pol;
	bool indep;
};

static int rx_setup(struct rx *x, const char *pol)
{
	struct xk_kernel *k = &x->t.k;

	x->pol = pol;
	x->indep = strstr(pol, "independent") != NULL;
	if (kt_boot(&x->t, MODEL, 2, pol))
		return -1;
	x->r = xk_spawn(k, "r");
	x->other = xk_spawn(k, "o");
	x->kth = xk_kthread_create(k, "kt");
	kt_run(&x->t, 0, x->r);
	xk_enter_kernel(k, 0);
	if (xk_uintr_register(k, 0, HANDLER))
		return -1;
	xk_return_to_user(k, 0);
	kt_run(&x->t, 1, x->other);
	return 0;
}

static uint64_t delivered(struct rx *x)
{
	return xk_uintr_of(x->r)->delivered;
}

static void test_off(void)
{
	struct kt t;
	struct xk_task *a;
	struct xs_model m;
	struct xk_kernel k;
	struct xk_boot_opts o;
	char err[256];

	if (kt_boot(&t, MODEL, 1, "")) {
		tap_ok(0, "boot");
		return;
	}
	tap_ok(!xk_uintr_enabled(&t.k), "uintr=off (Linux): not enabled");
	tap_ok(!(t.k.xss & XS_BIT(XS_C_UINTR)), "IA32_XSS lacks UINTR");
	tap_ok(xk_xclass_of(&t.k, XS_C_UINTR) == XK_XC_UNSUPPORTED, "class: unsupported");
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	xk_enter_kernel(&t.k, 0);
	tap_ok(xk_uintr_register(&t.k, 0, HANDLER) == -EOPNOTSUPP, "register: -EOPNOTSUPP");
	xk_shutdown(&t.k);

	xs_model_load("intel-icelake-sp", &m, err, sizeof(err));
	memset(&o, 0, sizeof(o));
	o.ncpus = 1;
	xk_policy_default(&o.policy);
	o.policy.uintr = XK_UINTR_INDEPENDENT;
	tap_ok(xk_boot(&k, &m, &o, err, sizeof(err)) == -1 && strstr(err, "uintr=independent"),
	       "uintr=independent on icelake: boot refused: %s", err);
}

/* Registration, and a delivery while the receiver runs. */
static void test_running(const char *pol)
{
	struct rx x;
	struct xk_kernel *k = &x.t.k;
	struct xk_uintr *u;

	if (rx_setup(&x, pol)) {
		tap_ok(0, "%s: setup", pol);
		return;
	}
	u = xk_uintr_of(x.r);
	tap_ok(xk_uintr_enabled(k), "%s: enabled", pol);
	tap_eq_u64(cpu_uinv(&x.t, 0), XK_UINTR_NV, "%s: UINV programmed on the receiver's CPU",
		   pol);
	tap_ok(!!(k->kcfg.default_features & XS_BIT(XS_C_UINTR)) == !x.indep,
	       "%s: UINTR %s the task buffer", pol, x.indep ? "not in" : "in");
	tap_ok(xk_uintr_senduipi(k, x.r, 3) == 1, "%s: SENDUIPI while running: notification sent",
	       pol);
	tap_eq_u64(u->delivered, 1, "%s: delivered at once", pol);
	tap_ok(u->vectors_delivered == (1ULL << 3), "%s: vector 3", pol);
	tap_ok(x.t.bad == 0, "%s: no invariant broken (%s)", pol, x.t.bad ? x.t.bad_why : "-");
	xk_shutdown(k);
}

/* Seed 001: "if we're running a UPID-enabled user task and we switch to a
 * kernel thread, we do XSAVES and UINV is cleared. Then we switch back to
 * the same task and don't do XRSTORS ... and UINV is still clear." */
static void test_kthread_roundtrip(const char *pol, bool expect_lost)
{
	struct rx x;
	struct xk_kernel *k = &x.t.k;
	struct xk_uintr *u;

	if (rx_setup(&x, pol)) {
		tap_ok(0, "%s: setup", pol);
		return;
	}
	u = xk_uintr_of(x.r);
	xk_enter_kernel(k, 0);
	xk_switch(k, 0, x.kth);
	tap_eq_u64(cpu_uinv(&x.t, 0), 0, "%s: the kernel thread runs with UINV = 0", pol);
	xk_switch(k, 0, x.r);
	xk_return_to_user(k, 0);
	{
		const char *why = xk_uintr_check(k, 0);

		tap_ok(expect_lost ? why && strstr(why, "UINV") : !why,
		       "%s: invariant check: %s", pol, why ? why : "holds");
	}
	xk_uintr_senduipi(k, x.r, 5);
	if (expect_lost) {
		tap_eq_u64(cpu_uinv(&x.t, 0), 0, "%s: back without XRSTORS: UINV still 0", pol);
		tap_eq_u64(u->delivered, 0, "%s: the user interrupt is lost", pol);
		tap_ok(u->spurious == 1 && u->upid.pir == (1ULL << 5),
		       "%s: the notification went to the kernel, the request stays in PIR", pol);
		xk_uintr_senduipi(k, x.r, 6);
		tap_ok(u->delivered == 0 && u->posted == 2, "%s: and the next one too (ON set)", pol);
	} else {
		tap_eq_u64(cpu_uinv(&x.t, 0), XK_UINTR_NV, "%s: UINV restored", pol);
		tap_eq_u64(u->delivered, 1, "%s: the user interrupt is delivered", pol);
		tap_ok(!xk_uintr_check(k, 0) && !xk_uintr_check(k, 1),
		       "%s: invariant holds after the delivery", pol);
	}
	tap_ok(x.t.bad == 0, "%s: no kernel warning (%s)", pol, x.t.bad ? x.t.bad_why : "-");
	xk_shutdown(k);
}

/* Posted while switched out (SN), delivered when it runs again, also on
 * another CPU. */
static void test_switched_out(const char *pol, bool expect_lost)
{
	struct rx x;
	struct xk_kernel *k = &x.t.k;
	struct xk_uintr *u;

	if (rx_setup(&x, pol)) {
		tap_ok(0, "%s: setup", pol);
		return;
	}
	u = xk_uintr_of(x.r);
	kt_idle(&x.t, 0);
	tap_ok(u->upid.nc & XK_UPID_SN, "%s: switched out: SN set", pol);
	tap_ok(xk_uintr_senduipi(k, x.r, 7) == 0, "%s: SENDUIPI: posted, no IPI", pol);
	kt_run(&x.t, 0, x.r);
	if (expect_lost) {
		tap_eq_u64(u->delivered, 0, "%s: same CPU, shortcut: the posted interrupt is lost",
			   pol);
	} else {
		tap_eq_u64(u->delivered, 1, "%s: delivered when it runs again", pol);
	}
	/* Migrating: posted while moving, delivered on cpu1. */
	kt_idle(&x.t, 1);
	kt_idle(&x.t, 0);
	xk_uintr_senduipi(k, x.r, 9);
	kt_run(&x.t, 1, x.r);
	if (expect_lost)
		/* The second switch-out saved UINV = 0 into the buffer: the
		 * receiver state itself is destroyed, a real restore cannot
		 * bring it back. */
		tap_ok(!(u->vectors_delivered & (1ULL << 9)) && cpu_uinv(&x.t, 1) == 0,
		       "%s: the buffer now holds UINV = 0: lost on cpu1 too", pol);
	else
		tap_ok(u->vectors_delivered & (1ULL << 9),
		       "%s: posted during a migration, delivered on cpu1", pol);
	tap_eq_u64(u->upid.nc >> 32, 1, "%s: NDST follows the receiver", pol);
	tap_ok(x.t.bad == 0, "%s: no kernel warning (%s)", pol, x.t.bad ? x.t.bad_why : "-");
	xk_shutdown(k);
}

/* exec resets the buffer without saving: the XRSTORS before user mode
 * finds UINV != 0. */
static void test_exec(const char *pol, bool expect_gp)
{
	struct rx x;
	struct xk_kernel *k = &x.t.k;

	if (rx_setup(&x, pol)) {
		tap_ok(0, "%s: setup", pol);
		return;
	}
	xk_enter_kernel(k, 0);
	tap_ok(xk_exec(k, 0) == 0, "%s: exec", pol);
	tap_ok(xk_uintr_of(x.r) == NULL, "%s: the receiver is gone with the old mm", pol);
	xk_return_to_user(k, 0);
	if (expect_gp)
		tap_ok(k->stats.warnings == 1 && strstr(k->last_warning, "restore faulted #GP"),
		       "%s: the XRSTORS after exec #GPs (UINV != 0): %s", pol, k->last_warning);
	else
		tap_ok(k->stats.warnings == 0, "%s: exec is clean", pol);
	if (expect_gp)
		tap_eq_u64(cpu_uinv(&x.t, 0), XK_UINTR_NV,
			   "%s: and the task runs on with the old UINV (its UPID is freed)", pol);
	else
		tap_eq_u64(cpu_uinv(&x.t, 0), 0, "%s: after exec UINV = 0", pol);
	xk_shutdown(k);
}

/* fork's XSAVES of the parent's live registers clears UINV. */
static void test_fork(const char *pol, bool expect_lost)
{
	struct rx x;
	struct xk_kernel *k = &x.t.k;
	struct xk_task *c = NULL;

	if (rx_setup(&x, pol)) {
		tap_ok(0, "%s: setup", pol);
		return;
	}
	xk_enter_kernel(k, 0);
	tap_ok(xk_clone(k, 0, 0, "child", &c) == 0, "%s: fork", pol);
	tap_ok(xk_uintr_of(c) == NULL, "%s: the child is no receiver", pol);
	xk_return_to_user(k, 0);
	xk_uintr_senduipi(k, x.r, 2);
	tap_eq_u64(delivered(&x), expect_lost ? 0 : 1, "%s: the parent %s", pol,
		   expect_lost ? "lost its interrupt (fork's XSAVES cleared UINV)"
			       : "still receives");
	kt_run(&x.t, 1, c);
	tap_eq_u64(cpu_uinv(&x.t, 1), 0, "%s: the child runs with UINV = 0", pol);
	tap_ok(x.t.bad == 0, "%s: no kernel warning (%s)", pol, x.t.bad ? x.t.bad_why : "-");
	xk_shutdown(k);
}

/* An exit is safe under both: fpu__drop() only disowns the registers, and
 * the final switch away still saves (switch_fpu() does not look at
 * PF_EXITING), which clears UINV before anyone restores. */
static void test_exit(const char *pol)
{
	struct rx x;
	struct xk_kernel *k = &x.t.k;

	if (rx_setup(&x, pol)) {
		tap_ok(0, "%s: setup", pol);
		return;
	}
	xk_enter_kernel(k, 0);
	xk_exit(k, 0);
	xk_switch(k, 0, NULL);
	kt_idle(&x.t, 1);
	kt_run(&x.t, 0, x.other);
	tap_ok(k->stats.warnings == 0, "%s: after the receiver exits, the next task's restore "
	       "is clean", pol);
	tap_eq_u64(cpu_uinv(&x.t, 0), 0, "%s: UINV = 0 after the exit", pol);
	xk_shutdown(k);
}

int main(void)
{
	tap_plan_lazy();
	test_off();
	test_running("uintr=ordinary");
	test_running("uintr=independent");
	test_kthread_roundtrip("uintr=ordinary", true);
	test_kthread_roundtrip("uintr=ordinary shortcut=off", false);
	test_kthread_roundtrip("uintr=independent", false);
	test_kthread_roundtrip("uintr=independent mutant=uintr-shortcut", true);
	test_switched_out("uintr=ordinary", true);
	test_switched_out("uintr=independent", false);
	test_exec("uintr=ordinary", true);
	test_exec("uintr=independent", false);
	test_fork("uintr=ordinary", true);
	test_fork("uintr=independent", false);
	test_exit("uintr=ordinary");
	test_exit("uintr=independent");
	return tap_done();
}
