/* Independent features (independent.c): Linux's xsaves()/xrstors() rules,
 * LBR kept out of every task buffer, perf's per-task LBR context switched
 * on its own schedule, and task switches that leave LBR alone. */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_special.h"

#define LBR_REC0_FROM 40u
#define LBR_REC0_TO 48u

static const uint8_t *lbr_regs(struct kt *t, unsigned cpu)
{
	return xs_comp_regs(t->k.cpu[cpu].hw, XS_C_LBR);
}

static uint64_t lbr_u64(struct kt *t, unsigned cpu, unsigned off)
{
	uint64_t v;

	memcpy(&v, lbr_regs(t, cpu) + off, sizeof(v));
	return v;
}

/* The CPU records a taken branch while LBR_CTL.LBREn is set: the records
 * shift down, record 0 gets FROM/TO. The model has no branch engine; this
 * does what the hardware would: an image of the registers as they are
 * (observer read) with the new record, loaded by XRSTORS of LBR alone. */
static void cpu_branch(struct kt *t, unsigned cpu, uint64_t from, uint64_t to)
{
	struct xs_cpu *hw = t->k.cpu[cpu].hw;
	static _Alignas(64) uint8_t img[4096];
	uint32_t size = xs_size_compacted(&t->m, XS_BIT(XS_C_LBR));
	uint32_t n = t->m.comp[XS_C_LBR].size;
	uint64_t bv = XS_BIT(XS_C_LBR), xcomp = bv | XS_COMPACTED_BIT, depth;
	uint8_t *lbr = img + XS_EXT_OFFSET;
	int cpl = xs_cpl(hw);

	if (!(lbr_u64(t, cpu, 0) & 1))
		return; /* LBREn clear: nothing recorded */
	/* An image of the registers as they are (an observer read), the new
	 * record first, loaded with XRSTORS. */
	memset(img, 0, sizeof(img));
	memcpy(lbr, lbr_regs(t, cpu), n);
	memcpy(&depth, lbr + 8, 8);
	if (depth < 1 || 40 + depth * 24 > n)
		return;
	memmove(lbr + LBR_REC0_FROM + 24, lbr + LBR_REC0_FROM, (depth - 1) * 24);
	memcpy(lbr + LBR_REC0_FROM, &from, 8);
	memcpy(lbr + LBR_REC0_TO, &to, 8);
	memset(lbr + LBR_REC0_TO + 8, 0, 8);
	memcpy(img + XS_HDR_OFFSET, &bv, 8);
	memcpy(img + XS_HDR_OFFSET + 8, &xcomp, 8);
	xs_set_cpl(hw, 0);
	xs_xrstors(hw, img, size, bv);
	xs_set_cpl(hw, cpl);
}

static void test_rules(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a;
	struct xk_indep_buf *b;
	uint64_t lbr = XS_BIT(XS_C_LBR);

	if (kt_boot(&t, "intel-alder-lake-pcore", 1, "")) {
		tap_ok(0, "boot alder-lake");
		return;
	}
	tap_ok(k->kcfg.independent_features == lbr, "alder-lake: LBR is the independent feature");
	tap_ok(k->xss & lbr, "LBR in IA32_XSS");
	tap_ok(!(k->kcfg.max_features & lbr) && !(k->gcfg.features & lbr) &&
	       !(k->restore_mask & lbr), "LBR in no task or guest buffer, never in the restore");
	tap_ok(xk_xclass_of(k, XS_C_LBR) == XK_XC_INDEPENDENT, "class: independent");
	tap_eq_u64(xk_indep_size(k, lbr), 1408, "an LBR buffer: 576 + 808 -> 1408 bytes");
	a = xk_spawn(k, "a");
	kt_run(&t, 0, a);
	xk_enter_kernel(k, 0);
	b = xk_indep_alloc(k, a, lbr);
	tap_ok(b != NULL, "alloc");
	tap_eq_u64(a->xstate_bytes, k->kcfg.default_size + 1408, "counted in the task's bytes");
	tap_ok(xk_xsaves_indep(k, 0, b, 0, "t") == -EINVAL && k->stats.warnings == 1,
	       "xsaves with mask 0: WARN, nothing done");
	tap_ok(xk_xsaves_indep(k, 0, b, XS_BIT(XS_C_AVX), "t") == -EINVAL &&
	       k->stats.warnings == 2, "xsaves of a non-independent feature: WARN");
	tap_ok(xk_xrstors_indep(k, 0, b, lbr | XS_BIT(XS_C_CET_U), "t") == -EINVAL &&
	       k->stats.warnings == 3, "xrstors of LBR|CET_U: WARN");
	tap_ok(k->stats.indep_saves == 0 && k->stats.indep_restores == 0,
	       "no instruction executed for the rejected calls");
	tap_ok(xk_xrstors_indep(k, 0, b, lbr, "t") == 0, "xrstors of a fresh buffer: LBR init");
	tap_ok(xk_xsaves_indep(k, 0, b, lbr, "t") == 0 && b->saved, "xsaves of LBR");
	xk_indep_free(k, b);
	tap_eq_u64(a->xstate_bytes, k->kcfg.default_size, "freed");
	xk_shutdown(k);

	if (kt_boot(&t, "intel-alder-lake-pcore", 1, "save=xsavec")) {
		tap_ok(0, "boot save=xsavec");
		return;
	}
	tap_ok(t.k.kcfg.independent_features == 0, "without XSAVES there are no independent features");
	tap_ok(xk_perf_lbr_attach(&t.k, xk_spawn(&t.k, "a"), XK_LBR_CTL_CALLSTACK) == -EOPNOTSUPP,
	       "perf LBR: -EOPNOTSUPP");
	xk_shutdown(&t.k);
}

static void test_perf_context(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *b;

	if (kt_boot(&t, "intel-alder-lake-pcore", 2, "")) {
		tap_ok(0, "boot");
		return;
	}
	a = xk_spawn(k, "a");
	b = xk_spawn(k, "b");
	tap_ok(xk_perf_lbr_attach(k, a, XK_LBR_CTL_CALLSTACK) == 0, "perf: LBR call stack on a");
	tap_ok(xk_perf_lbr_attach(k, a, XK_LBR_CTL_CALLSTACK) == -EBUSY, "attach twice: -EBUSY");
	kt_run(&t, 0, a);
	tap_eq_u64(lbr_u64(&t, 0, 0), XK_LBR_CTL_CALLSTACK, "a runs: LBR_CTL enabled");
	cpu_branch(&t, 0, 0x401000, 0x402000);
	cpu_branch(&t, 0, 0x402010, 0x403000);
	tap_eq_u64(lbr_u64(&t, 0, LBR_REC0_FROM), 0x402010, "a's newest record");
	kt_reset_counts(&t);
	kt_run(&t, 0, b);
	tap_eq_u64(lbr_u64(&t, 0, 0), 0, "b runs: recording stopped");
	tap_ok(t.n[XK_EV_INDEP] >= 2, "sched-out: XSAVES(LBR) + WRMSR LBR_CTL (%u events)",
	       t.n[XK_EV_INDEP]);
	cpu_branch(&t, 0, 0x501000, 0x502000);
	tap_eq_u64(lbr_u64(&t, 0, LBR_REC0_FROM), 0x402010, "b's branches are not recorded");
	/* a moves to cpu1: its records go with its perf context. */
	kt_idle(&t, 0);
	kt_run(&t, 1, a);
	tap_eq_u64(lbr_u64(&t, 1, LBR_REC0_FROM), 0x402010, "a on cpu1: its records restored");
	tap_eq_u64(lbr_u64(&t, 1, LBR_REC0_FROM + 24), 0x401000, "... both of them");
	tap_eq_u64(lbr_u64(&t, 1, 0), XK_LBR_CTL_CALLSTACK, "... and recording on");
	tap_ok(t.bad == 0, "no invariant broken (%s)", t.bad ? t.bad_why : "-");
	xk_enter_kernel(k, 1);
	tap_ok(xk_exit(k, 1) == 0 && !xk_perf_lbr_attached(a), "exit detaches the LBR event");
	xk_switch(k, 1, NULL);
	xk_shutdown(k);
}

/* A CPU-wide LBR session (perf's CPU event: no per-task context): task
 * switches, kernel FPU use and migrations never touch LBR. */
static void test_switches_leave_lbr(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *b;
	uint8_t before[1024];
	size_t n;
	struct xs_cpu *hw;
	int same;

	if (kt_boot(&t, "intel-alder-lake-pcore", 2, "")) {
		tap_ok(0, "boot");
		return;
	}
	hw = k->cpu[0].hw;
	n = t.m.comp[XS_C_LBR].size;
	xs_wrmsr(hw, XS_MSR_LBR_CTL, XK_LBR_CTL_CALLSTACK);
	a = xk_spawn(k, "a");
	b = xk_spawn(k, "b");
	kt_run(&t, 0, a);
	cpu_branch(&t, 0, 0x1000, 0x2000);
	memcpy(before, lbr_regs(&t, 0), n);
	kt_reset_counts(&t);
	for (int i = 0; i < 6; i++) {
		kt_write(&t, 0, "ymm1", (unsigned)i);
		kt_run(&t, 0, i & 1 ? a : b);
	}
	xk_enter_kernel(k, 0);
	xk_kfpu_begin(k, 0, XK_KFPU_DEFAULT);
	xk_kfpu_end(k, 0);
	xk_return_to_user(k, 0);
	kt_run(&t, 1, a);
	kt_run(&t, 0, b);
	same = memcmp(before, lbr_regs(&t, 0), n) == 0;
	tap_ok(same, "LBR state unchanged by %u saves and %u restores of task state",
	       t.n[XK_EV_SAVE], t.n[XK_EV_RESTORE]);
	tap_ok(t.n[XK_EV_SAVE] >= 6 && t.n[XK_EV_RESTORE] >= 6, "there were task switches");
	tap_ok(t.n[XK_EV_INDEP] == 0, "and no independent XSAVES/XRSTORS");
	tap_ok(t.bad == 0, "no invariant broken (%s)", t.bad ? t.bad_why : "-");
	xk_shutdown(k);
}

int main(void)
{
	tap_plan_lazy();
	test_rules();
	test_perf_context();
	test_switches_leave_lbr();
	return tap_done();
}
