/* Independent features: state in IA32_XSS that never enters a task buffer
 * or a user ABI, saved and restored by its user on its own schedule with
 * its own buffer (Linux: XFEATURE_MASK_INDEPENDENT = LBR, used by perf;
 * arch/x86/kernel/fpu/xstate.c xsaves()/xrstors(); arch/x86/events/intel/
 * lbr.c intel_pmu_arch_lbr_xsaves/xrstors). Policies can make CET_S
 * (seed 003) and UINTR (seed 001) independent as well.
 *
 * The task switch (switch.c) never names these features: its XSAVES RFBM
 * is fpstate->xfeatures and its XRSTORS mask kernel.max & FPSTATE, both
 * without them, so they stay in the registers untouched by any task
 * switch. What moves them is the perf context switch below.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/special_internal.h"

#define LBR_SINGLETONS 40u /* CTL, DEPTH, LER_FROM, LER_TO, LER_INFO (SDM 13.5.12) */
#define LBR_RECORD 24u

uint32_t xk_indep_size(const struct xk_kernel *k, uint64_t mask)
{
	/* Compacted: legacy area and header, then the components. */
	return (xk_calc_size(k, mask, true) + 63u) & ~63u;
}

struct xk_indep_buf *xk_indep_alloc(struct xk_kernel *k, struct xk_task *t, uint64_t mask)
{
	uint32_t size = xk_indep_size(k, mask);
	struct xk_indep_buf *b = xk_xstate_alloc(k, t, sizeof(*b), size,
						 "independent buffer");

	if (!b)
		return NULL;
	b->mask = mask;
	b->size = size;
	b->task = t;
	/* A valid compacted image of the initial configuration: XRSTORS
	 * needs XCOMP_BV[63] and XCOMP_BV covering XSTATE_BV (SDM 13.12). */
	{
		uint64_t xcomp = mask | XS_COMPACTED_BIT;

		memcpy(b->regs + XS_HDR_OFFSET + 8, &xcomp, sizeof(xcomp));
	}
	return b;
}

void xk_indep_free(struct xk_kernel *k, struct xk_indep_buf *b)
{
	if (b)
		xk_xstate_free(k, b->task, b, b->size);
}

/* validate_independent_components(): XSAVES in use, mask non-empty and
 * only independent features (and only ones b has room for). */
static bool indep_mask_ok(struct xk_kernel *k, int cpu, const struct xk_indep_buf *b,
			  uint64_t mask, enum xk_insn insn)
{
	if (!k->use_xsaves) {
		xk_warn(k, cpu, "xsaves/xrstors of independent features without XSAVES", insn,
			XS_OK);
		return false;
	}
	if (!mask || (mask & ~k->kcfg.independent_features) || !b || (mask & ~b->mask)) {
		xk_warn(k, cpu, "xsaves/xrstors: mask is not a non-empty subset of the "
			"independent features", insn, XS_OK);
		return false;
	}
	return true;
}

/* Run one XSAVES/XRSTORS on c at CPL 0 with CR0.TS clear (the lazy
 * policy may have set it; the kernel's own use must not trap). */
static enum xs_fault indep_op(struct xk_cpu *c, bool save, struct xk_indep_buf *b, uint64_t mask)
{
	bool ts = xs_cr0_ts(c->hw);
	int cpl = xk_special_cpl0(c);
	enum xs_fault f;

	if (ts)
		xs_set_cr0_ts(c->hw, false);
	f = save ? xs_xsaves(c->hw, b->regs, b->size, mask)
		 : xs_xrstors(c->hw, b->regs, b->size, mask);
	if (ts)
		xs_set_cr0_ts(c->hw, true);
	xk_special_cpl_restore(c, cpl);
	return f;
}

/* One XSAVES or XRSTORS of independent features on their own buffer
 * (arch/x86/kernel/fpu/xstate.c xsaves()/xrstors()): Linux's mask rules,
 * a trace event, and a WARN if the instruction faults — the invariant "no
 * kernel-issued XRSTORS ever faults" covers these too. */
static int indep_insn(struct xk_kernel *k, unsigned cpu, struct xk_indep_buf *b, uint64_t mask,
		      const char *why, bool save)
{
	enum xk_insn insn = save ? XK_I_XSAVES : XK_I_XRSTORS;
	enum xs_fault f;

	if (cpu >= k->ncpus)
		return -EINVAL;
	if (!indep_mask_ok(k, (int)cpu, b, mask, insn))
		return -EINVAL;
	f = indep_op(&k->cpu[cpu], save, b, mask);
	if (save)
		k->stats.indep_saves++;
	else
		k->stats.indep_restores++;
	XK_TRACE(k, .type = XK_EV_INDEP, .cpu = (int)cpu, .insn = insn, .fault = f,
		 .mask = mask, .bytes = b->size, .task = b->task, .why = why);
	if (f) {
		xk_warn(k, (int)cpu, save ? "XSAVES of independent features faulted"
					  : "XRSTORS of independent features faulted", insn, f);
		return -EFAULT;
	}
	if (save)
		b->saved = true;
	return 0;
}

int xk_xsaves_indep(struct xk_kernel *k, unsigned cpu, struct xk_indep_buf *b, uint64_t mask,
		    const char *why)
{
	return indep_insn(k, cpu, b, mask, why, true);
}

int xk_xrstors_indep(struct xk_kernel *k, unsigned cpu, struct xk_indep_buf *b, uint64_t mask,
		     const char *why)
{
	return indep_insn(k, cpu, b, mask, why, false);
}

/* ---- perf: per-task LBR call stack ---- */

bool xk_perf_lbr_attached(const struct xk_task *t)
{
	return t && t->special && t->special->lbr;
}

static int lbr_wrmsr(struct xk_kernel *k, struct xk_cpu *c, uint32_t msr, uint64_t v,
		     const char *why)
{
	int cpl = xk_special_cpl0(c);
	enum xs_fault f = xs_wrmsr(c->hw, msr, v);

	xk_special_cpl_restore(c, cpl);
	XK_TRACE(k, .type = XK_EV_INDEP, .cpu = (int)c->id, .insn = XK_I_WRMSR, .fault = f,
		 .reg = msr, .value = v, .why = why);
	if (f) {
		xk_warn(k, (int)c->id, "perf: WRMSR of an LBR MSR faulted", XK_I_WRMSR, f);
		return -EINVAL;
	}
	return 0;
}

/* intel_pmu_lbr_sched_task(sched_in = false): save the task's records
 * (XSAVES of LBR alone) and stop recording. */
void xk_lbr_sched_out(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev)
{
	struct xk_special *sp = prev->special;

	if (!sp || !sp->lbr)
		return;
	if (xk_xsaves_indep(k, c->id, sp->lbr, XS_BIT(XS_C_LBR), "perf LBR sched-out") == 0)
		lbr_wrmsr(k, c, XS_MSR_LBR_CTL, 0, "perf LBR: stop recording");
}

/* The depth the LBR component has room for (its size, SDM 13.5.12). */
static uint64_t lbr_depth_max(const struct xk_kernel *k)
{
	uint32_t size = k->model->comp[XS_C_LBR].size;

	return size > LBR_SINGLETONS ? (size - LBR_SINGLETONS) / LBR_RECORD : 0;
}

/* intel_pmu_lbr_sched_task(sched_in = true): restore the task's records,
 * or on its first run reset them (a write to IA32_LBR_DEPTH zeroes every
 * record) and start recording. */
void xk_lbr_sched_in(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *next)
{
	struct xk_special *sp = next->special;

	if (!sp || !sp->lbr)
		return;
	if (sp->lbr->saved) {
		xk_xrstors_indep(k, c->id, sp->lbr, XS_BIT(XS_C_LBR), "perf LBR sched-in");
		return;
	}
	if (lbr_wrmsr(k, c, XS_MSR_LBR_DEPTH, lbr_depth_max(k), "perf LBR: reset records"))
		return;
	lbr_wrmsr(k, c, XS_MSR_LBR_CTL, sp->lbr_ctl, "perf LBR: start recording");
}

int xk_perf_lbr_attach(struct xk_kernel *k, struct xk_task *t, uint64_t ctl)
{
	struct xk_special *sp;

	if (!(k->kcfg.independent_features & XS_BIT(XS_C_LBR)) || !lbr_depth_max(k))
		return -EOPNOTSUPP;
	if (!xk_user_task(t) || (t->flags & (XK_TF_EXITING | XK_TF_DEAD)))
		return -EINVAL;
	sp = xk_special_get(k, t);
	if (!sp)
		return -ENOMEM;
	if (sp->lbr)
		return -EBUSY;
	sp->lbr = xk_indep_alloc(k, t, XS_BIT(XS_C_LBR));
	if (!sp->lbr)
		return -ENOMEM;
	sp->lbr_ctl = ctl;
	/* Attached to a running task: it is "scheduled in" now. */
	if (t->on_cpu >= 0)
		xk_lbr_sched_in(k, &k->cpu[t->on_cpu], t);
	return 0;
}

int xk_perf_lbr_detach(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_special *sp = t ? t->special : NULL;

	if (!sp || !sp->lbr)
		return -EINVAL;
	if (t->on_cpu >= 0)
		lbr_wrmsr(k, &k->cpu[t->on_cpu], XS_MSR_LBR_CTL, 0, "perf LBR: event removed");
	xk_indep_free(k, sp->lbr);
	sp->lbr = NULL;
	return 0;
}

int xk_perf_lbr_cpu(struct xk_kernel *k, unsigned cpu, uint64_t ctl)
{
	struct xk_cpu *c;

	if (!(k->kcfg.independent_features & XS_BIT(XS_C_LBR)) || !lbr_depth_max(k))
		return -EOPNOTSUPP;
	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	if (!ctl)
		return lbr_wrmsr(k, c, XS_MSR_LBR_CTL, 0, "perf LBR (cpu-wide): stop");
	if (lbr_wrmsr(k, c, XS_MSR_LBR_DEPTH, lbr_depth_max(k), "perf LBR (cpu-wide): reset records"))
		return -EINVAL;
	return lbr_wrmsr(k, c, XS_MSR_LBR_CTL, ctl, "perf LBR (cpu-wide): start recording");
}
