/* Kernel-mode FPU sections: kernel_fpu_begin_mask() / kernel_fpu_end()
 * (arch/x86/kernel/fpu/core.c; linux-design.md section 3.5). */
#include <errno.h>

#include "kernel/kernel_internal.h"

/* irq_fpu_usable(): never in NMI, never nested. In hardirq Linux also
 * requires that the interrupted code did not hold fpregs_lock(); every
 * fpregs_lock() section of this kernel is a single call the simulator
 * cannot interrupt, so that condition always holds here. */
bool xk_kfpu_usable(const struct xk_kernel *k, unsigned cpu)
{
	const struct xk_cpu *c;

	if (cpu >= k->ncpus)
		return false;
	c = &k->cpu[cpu];
	return c->kernel_fpu_allowed && !c->nmi_depth && !c->user_mode;
}

int xk_kfpu_begin(struct xk_kernel *k, unsigned cpu, unsigned mask)
{
	struct xk_cpu *c;
	struct xk_task *t;
	enum xs_fault f;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	if (!xk_kfpu_usable(k, cpu)) {
		xk_warn(k, (int)cpu, "kernel_fpu_begin: FPU not usable (nested or NMI)",
			XK_I_NONE, XS_OK);
		return -EBUSY;
	}
	c->kernel_fpu_allowed = false;
	c->kfpu_mask = mask;
	c->kfpu_depth = c->irq_depth + c->nmi_depth;
	k->stats.kfpu_sections++;
	t = c->current;
	XK_TRACE(k, .type = XK_EV_KFPU_BEGIN, .cpu = (int)cpu, .task = t, .value = mask);

	xk_hw_activate(k, c);
	/* Live user registers of current are saved first; kernel threads
	 * and user workers have none. */
	if (xk_user_task(t) && !t->need_load) {
		xk_set_need_load(k, (int)cpu, t, k->restore_mask, "kernel_fpu_begin");
		xk_save_fpregs(k, c, &t->fpu, "kernel_fpu_begin");
	}
	/* __cpu_invalidate_fpregs_state(): nobody's state is in the registers.
	 * Mutants (checker issue): kfpu-keeps-owner forgets it everywhere,
	 * kfpu-kthread-keeps-owner when no user task is current. */
	if (!xk_mutant(k, XK_MUT_KFPU_KEEPS_OWNER) &&
	    !(xk_mutant(k, XK_MUT_KFPU_KTHREAD_KEEPS_OWNER) && !xk_user_task(t)))
		xk_set_owner(k, c, NULL);

	if (mask & XK_KFPU_MXCSR) {
		f = xs_ldmxcsr(c->hw, XS_MXCSR_DEFAULT);
		if (f)
			xk_warn(k, (int)cpu, "kernel_fpu_begin: LDMXCSR faulted", XK_I_LDMXCSR, f);
	}
	if (mask & XK_KFPU_387) {
		f = xs_fninit(c->hw);
		if (f)
			xk_warn(k, (int)cpu, "kernel_fpu_begin: FNINIT faulted", XK_I_FNINIT, f);
	}
	return 0;
}

int xk_kfpu_end(struct xk_kernel *k, unsigned cpu)
{
	struct xk_cpu *c;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	if (c->kernel_fpu_allowed) {
		xk_warn(k, (int)cpu, "kernel_fpu_end without kernel_fpu_begin", XK_I_NONE, XS_OK);
		return -EINVAL;
	}
	if (c->kfpu_depth != c->irq_depth + c->nmi_depth) {
		xk_warn(k, (int)cpu, "kernel_fpu_end in another context than its begin",
			XK_I_NONE, XS_OK);
		return -EINVAL;
	}
	c->kernel_fpu_allowed = true;
	c->kfpu_mask = 0;
	XK_TRACE(k, .type = XK_EV_KFPU_END, .cpu = (int)cpu, .task = c->current);
	/* User registers come back on the exit to user (need_load is set). */
	return 0;
}
