/* Register ownership, switch-out save, return-to-user restore, kernel
 * entry/exit (arch/x86/include/asm/fpu/sched.h, kernel/fpu/context.h,
 * core.c; linux-design.md section 3).
 *
 * Hot path: no allocation, no formatting, O(1) besides the instruction. */
#include <errno.h>

#include "kernel/kernel_internal.h"
#include "kernel/special_internal.h" /* special-states hooks */
#include "xstate/kernel_fsgs.h"
#include "xstate/kernel_kvm.h"

struct xk_task *xk_fpu_task(const struct xk_fpu *fpu)
{
	if (!fpu)
		return NULL;
	return (struct xk_task *)((const char *)fpu - offsetof(struct xk_task, fpu));
}

/* fpregs_state_valid(). */
bool xk_fpregs_valid(const struct xk_kernel *k, const struct xk_fpu *fpu, unsigned cpu)
{
	if (k->cpu[cpu].owner != fpu)
		return false;
	/* Mutant: forget that the registers may hold a state this task left
	 * on this CPU before it ran (and saved) elsewhere. */
	if (xk_mutant(k, XK_MUT_SHORTCUT_IGNORES_LAST_CPU))
		return true;
	return fpu->last_cpu == (int)cpu;
}

void xk_set_need_load(struct xk_kernel *k, int cpu, struct xk_task *t, uint64_t mask,
		      const char *why)
{
	if (t->need_load == mask)
		return;
	XK_TRACE(k, .type = XK_EV_TIF, .cpu = cpu, .task = t, .old = t->need_load, .mask = mask,
		 .why = why);
	t->need_load = mask;
}

void xk_set_owner(struct xk_kernel *k, struct xk_cpu *c, struct xk_fpu *fpu)
{
	if (c->owner == fpu)
		return;
	XK_TRACE(k, .type = XK_EV_OWNER, .cpu = (int)c->id, .task = xk_fpu_task(fpu),
		 .other = xk_fpu_task(c->owner));
	c->owner = fpu;
}

/* The lazy policy leaves CR0.TS set behind a switch; any kernel use of
 * the registers clears it first (clts), as fpregs_activate() did. */
void xk_hw_activate(struct xk_kernel *k, struct xk_cpu *c)
{
	if (k->policy.restore != XK_RESTORE_LAZY || !xs_cr0_ts(c->hw))
		return;
	xs_set_cr0_ts(c->hw, false);
	XK_TRACE(k, .type = XK_EV_TS, .cpu = (int)c->id, .insn = XK_I_CLTS, .value = 0);
}

static void hw_deactivate(struct xk_kernel *k, struct xk_cpu *c)
{
	if (xs_cr0_ts(c->hw))
		return;
	xs_set_cr0_ts(c->hw, true);
	XK_TRACE(k, .type = XK_EV_TS, .cpu = (int)c->id, .insn = XK_I_STTS, .value = 1);
}

/* xfd_update_state(): the MSR must equal the fpstate's xfd before any
 * XRSTOR of it; written only when it differs from the per-CPU cache. */
void xk_xfd_update(struct xk_kernel *k, struct xk_cpu *c, const struct xk_fpstate *fps)
{
	enum xs_fault f;

	if (!k->dynamic || c->xfd_state == fps->xfd)
		return;
	f = xs_wrmsr(c->hw, XS_MSR_XFD, fps->xfd);
	XK_TRACE(k, .type = XK_EV_XFD_WRITE, .cpu = (int)c->id, .insn = XK_I_WRMSR, .fault = f,
		 .reg = XS_MSR_XFD, .old = c->xfd_state, .value = fps->xfd, .task = fps->task);
	if (f) {
		xk_warn(k, (int)c->id, "WRMSR IA32_XFD faulted", XK_I_WRMSR, f);
		return;
	}
	c->xfd_state = fps->xfd;
	k->stats.xfd_writes++;
}

/* save_fpregs_to_fpstate() -> os_xsave(): RFBM = fpstate->xfeatures. */
void xk_save_fpregs(struct xk_kernel *k, struct xk_cpu *c, struct xk_fpu *fpu, const char *why)
{
	struct xk_fpstate *fps = fpu->fpstate;
	uint64_t mask = fps->xfeatures;
	enum xs_fault f;

	xk_hw_activate(k, c);
	switch (k->save_insn) {
	case XK_I_XSAVES:
		f = xs_xsaves(c->hw, fps->regs, fps->size, mask);
		break;
	case XK_I_XSAVEC:
		f = xs_xsavec(c->hw, fps->regs, fps->size, mask);
		break;
	case XK_I_XSAVEOPT:
		f = xs_xsaveopt(c->hw, fps->regs, fps->size, mask);
		break;
	default:
		f = xs_xsave(c->hw, fps->regs, fps->size, mask);
		break;
	}
	k->stats.saves++;
	XK_TRACE(k, .type = XK_EV_SAVE, .cpu = (int)c->id, .insn = k->save_insn, .fault = f,
		 .mask = mask, .bytes = fps->size, .task = fps->task, .why = why);
	if (f)
		xk_warn(k, (int)c->id, "xstate save faulted", k->save_insn, f);
}

/* restore_fpregs_from_fpstate(fps, mask): XFD first, then XRSTOR(S) with
 * mask & kernel.max_features -- not fps->xfeatures, so components the
 * buffer does not own (another task's AMX, guest-only CET_S) are forced
 * to their init state. */
void xk_restore_fpregs(struct xk_kernel *k, struct xk_cpu *c, struct xk_fpstate *fps,
		       uint64_t mask, const char *why)
{
	enum xs_fault f;

	mask &= k->kcfg.max_features;
	xk_hw_activate(k, c);
	xk_xfd_update(k, c, fps);
	if (k->restore_insn == XK_I_XRSTORS)
		f = xs_xrstors(c->hw, fps->regs, fps->size, mask);
	else
		f = xs_xrstor(c->hw, fps->regs, fps->size, mask);
	k->stats.restores++;
	XK_TRACE(k, .type = XK_EV_RESTORE, .cpu = (int)c->id, .insn = k->restore_insn, .fault = f,
		 .mask = mask, .bytes = fps->size, .task = fps->task, .why = why);
	if (f)
		xk_warn(k, (int)c->id, "xstate restore faulted", k->restore_insn, f);
}

void xk_mark_active(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t, const char *why)
{
	xk_set_owner(k, c, &t->fpu);
	t->fpu.last_cpu = (int)c->id;
	xk_set_need_load(k, (int)c->id, t, 0, why);
}

/* fpregs_restore_userregs(): make the registers hold t's state. */
void xk_restore_userregs(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			 const char *why)
{
	if (k->policy.shortcut && xk_fpregs_valid(k, &t->fpu, c->id)) {
		k->stats.restores_skipped++;
		XK_TRACE(k, .type = XK_EV_RESTORE_SKIP, .cpu = (int)c->id, .task = t,
			 .mask = t->need_load, .why = why);
		xk_hw_activate(k, c);
	} else {
		xk_restore_fpregs(k, c, t->fpu.fpstate, t->need_load, why);
	}
	xk_mark_active(k, c, t, why);
}

void xk_to_user_mode(struct xk_kernel *k, struct xk_cpu *c)
{
	xk_fsgs_exit_to_user(k, c); /* FS/GS issue: SWAPGS */
	c->user_mode = true;
	xs_set_cpl(c->hw, 3);
	XK_TRACE(k, .type = XK_EV_RETURN_USER, .cpu = (int)c->id, .task = c->current);
}

int xk_switch(struct xk_kernel *k, unsigned cpu, struct xk_task *next)
{
	struct xk_cpu *c;
	struct xk_task *prev;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	prev = c->current;
	if (c->user_mode)
		return -EINVAL;
	if (c->irq_depth || c->nmi_depth || !c->kernel_fpu_allowed)
		return -EBUSY; /* fpregs_lock()/preempt_disable() held */
	/* KVM issue: a guest running here must VM-exit first (an interrupt
	 * does that before the host can schedule). */
	if (prev && prev->vcpu && prev->vcpu->in_guest)
		return -EBUSY;
	if (next == prev)
		return 0;
	if (next && (next->on_cpu >= 0 || (next->flags & (XK_TF_EXITING | XK_TF_DEAD))))
		return -EINVAL;

	/* switch_fpu(prev, cpu) */
	if (xk_user_task(prev) && !prev->need_load) {
		xk_set_need_load(k, (int)cpu, prev, k->restore_mask, "switch-out");
		xk_save_fpregs(k, c, &prev->fpu, "switch-out");
		/* The save preserved the registers: owner stays prev. */
		prev->fpu.last_cpu = (int)cpu;
	}
	/* Special states (special.c): x86_pkru_load(prev, next) -- PKRU is
	 * switched here, eagerly, not deferred with the rest; perf's LBR
	 * context switch; the UINTR switch-out. Before CR0.TS is set. */
	xk_special_switch(k, c, prev, next);
	/* FS/GS issue (fsgs.c): save_fsgs(prev), load_TLS(next), the LDT,
	 * x86_fsgsbase_load(prev, next). */
	xk_fsgs_switch(k, c, prev, next);
	/* Lazy (pre-2016): the next task's first FPU instruction traps. */
	if (k->policy.restore == XK_RESTORE_LAZY)
		hw_deactivate(k, c);

	k->stats.switches++;
	XK_TRACE(k, .type = XK_EV_SWITCH, .cpu = (int)cpu, .task = next, .other = prev);
	c->current = next;
	if (next)
		next->on_cpu = (int)cpu;
	if (prev) {
		prev->on_cpu = -1;
		if (prev->flags & XK_TF_EXITING)
			xk_task_release(k, prev); /* finish_task_switch() of a dead task */
	}
	return 0;
}

int xk_return_to_user(struct xk_kernel *k, unsigned cpu)
{
	struct xk_cpu *c;
	struct xk_task *t;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	t = c->current;
	if (!xk_user_task(t) || (t->flags & XK_TF_EXITING) || c->irq_depth || c->nmi_depth ||
	    !c->kernel_fpu_allowed)
		return -EINVAL;
	if (c->user_mode)
		return 0;
	/* KVM issue: inside KVM_RUN the guest fpstate is installed; the ioctl
	 * puts it back (xk_kvm_run_end) before returning to user mode. */
	if (t->fpu.fpstate->in_use)
		return -EBUSY;
	if (t->need_load) {
		if (k->policy.restore == XK_RESTORE_LAZY) {
			/* Lazy: restore only if the registers are already ours
			 * (fpu_want_lazy_restore); otherwise TS stays set and
			 * the #NM handler restores at the first FPU use. */
			if (k->policy.shortcut && xk_fpregs_valid(k, &t->fpu, cpu)) {
				k->stats.restores_skipped++;
				XK_TRACE(k, .type = XK_EV_RESTORE_SKIP, .cpu = (int)cpu, .task = t,
					 .mask = t->need_load, .why = "return to user (lazy)");
				xk_hw_activate(k, c);
				xk_mark_active(k, c, t, "return to user (lazy)");
			} else {
				hw_deactivate(k, c);
			}
		} else {
			xk_restore_userregs(k, c, t, "return to user");
		}
	} else if (k->policy.restore == XK_RESTORE_LAZY) {
		xk_hw_activate(k, c);
	}
	xk_special_return_to_user(k, c, t); /* special states: UINTR, mutant pkru-lazy */
	xk_to_user_mode(k, c);
	xk_special_in_user(k, c, t);        /* pending user interrupts are delivered */
	return 0;
}

static int enter_from_user(struct xk_kernel *k, unsigned cpu, bool iret)
{
	struct xk_cpu *c;

	if (cpu >= k->ncpus || !k->cpu[cpu].user_mode)
		return -EINVAL;
	c = &k->cpu[cpu];
	c->user_mode = false;
	xs_set_cpl(c->hw, 0);
	xk_fsgs_enter_kernel(k, c); /* FS/GS issue: SWAPGS */
	if (c->current)
		c->current->thread.exit_iret = iret; /* SYSRET back, or IRET */
	return 0;
}

int xk_enter_kernel(struct xk_kernel *k, unsigned cpu)
{
	return enter_from_user(k, cpu, false);
}

int xk_enter_kernel_trap(struct xk_kernel *k, unsigned cpu)
{
	return enter_from_user(k, cpu, true);
}

int xk_irq_enter(struct xk_kernel *k, unsigned cpu, enum xk_irq_kind kind)
{
	struct xk_cpu *c;
	unsigned depth;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	depth = c->irq_depth + c->nmi_depth;
	if (depth >= 32)
		return -EBUSY;
	c->irq_from_user &= ~(1u << depth);
	c->irq_is_nmi &= ~(1u << depth);
	if (c->user_mode) {
		c->irq_from_user |= 1u << depth;
		c->user_mode = false;
		xs_set_cpl(c->hw, 0);
		xk_fsgs_enter_kernel(k, c); /* FS/GS issue: SWAPGS */
		if (c->current)
			c->current->thread.exit_iret = true; /* interrupts return with IRET */
	}
	if (kind == XK_IRQ_NMI) {
		c->irq_is_nmi |= 1u << depth;
		c->nmi_depth++;
	} else {
		c->irq_depth++;
	}
	return 0;
}

int xk_irq_exit(struct xk_kernel *k, unsigned cpu)
{
	struct xk_cpu *c;
	unsigned depth;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	depth = c->irq_depth + c->nmi_depth;
	if (!depth)
		return -EINVAL;
	if (!c->kernel_fpu_allowed && c->kfpu_depth >= depth)
		return -EBUSY; /* the handler must kernel_fpu_end() first */
	depth--;
	if (c->irq_is_nmi & (1u << depth))
		c->nmi_depth--;
	else
		c->irq_depth--;
	return (c->irq_from_user >> depth) & 1;
}
