/* Special states: the per-task record and the hooks the core paths call
 * (switch, return to user, clone, exec, exit, release). Each hook costs one
 * branch for a task that uses none of them (t->special == NULL), apart
 * from PKRU, which every switch handles (it is not optional state). */
#include <stdlib.h>

#include "kernel/special_internal.h"
#include "xstate/kernel_kvm.h" /* xk_kvm_vcpu_of(): cet-s=independent */

struct xk_special *xk_special_get(struct xk_kernel *k, struct xk_task *t)
{
	(void)k;
	if (!t->special)
		t->special = calloc(1, sizeof(*t->special));
	return t->special;
}

void xk_special_switch(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev,
		       struct xk_task *next)
{
	/* perf's sched-out runs before the switch proper, sched-in after it
	 * (prepare_task_switch / finish_task_switch); x86_pkru_load() sits in
	 * __switch_to() between them. */
	if (prev && prev->special) {
		xk_lbr_sched_out(k, c, prev);
		xk_uintr_switch_out(k, c, prev);
	}
	/* cet-s=independent: a vCPU thread's guest CET_S, LBR-style. */
	if (k->policy.cet_s == XK_CET_S_INDEPENDENT && prev && xk_kvm_vcpu_of(prev))
		xk_cet_s_sched_out(k, c, prev);
	xk_pkru_switch(k, c, prev, next);
	if (k->policy.cet_s == XK_CET_S_INDEPENDENT && next && xk_kvm_vcpu_of(next))
		xk_cet_s_sched_in(k, c, next);
	if (next && next->special)
		xk_lbr_sched_in(k, c, next);
}

void xk_special_return_to_user(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	xk_pkru_return_to_user(k, c, t);
	if (t->special)
		xk_uintr_return_to_user(k, c, t);
}

void xk_special_in_user(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	(void)t;
	/* Pending user interrupts are recognized at the transition to CPL 3,
	 * whoever's state the registers hold. */
	if (xk_uintr_enabled(k))
		xk_uintr_deliver(k, c->id);
}

void xk_special_clone(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *parent,
		      struct xk_task *child, unsigned flags)
{
	/* copy_thread(): "Clone current's PKRU value from hardware.
	 * tsk->thread.pkru is only valid when scheduled out." */
	if (xk_pkru_enabled(k))
		child->thread.pkru = xk_pkru_get(k, parent);
	if (!xk_user_task(child))
		return; /* a user worker: fpu_clone(minimal) stops before the shadow stack */
	xk_cet_clone(k, c, parent, child, flags);
	xk_uintr_clone(k, child);
}

void xk_special_exec(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	/* flush_thread(): pkru_write_default() -- the CPU's register too: the
	 * task returns to user mode without a switch. */
	t->thread.pkru = xk_pkru_init(k);
	t->thread.pkru_deferred = false;
	xk_pkru_write(k, c, t->thread.pkru, t, "exec");
	if (!t->special)
		return;
	xk_cet_exec(k, t);
	xk_uintr_drop(k, c, t, "exec: receiver freed with the old mm");
}

void xk_special_exit(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	if (!t->special)
		return;
	xk_uintr_drop(k, c, t, "exit: receiver freed");
	if (t->special->lbr)
		xk_perf_lbr_detach(k, t);
	t->special->shstk_base = t->special->shstk_size = 0; /* shstk_free() */
}

void xk_special_release(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_special *sp = t->special;

	if (!sp)
		return;
	xk_uintr_release(k, t);
	xk_indep_free(k, sp->lbr);
	xk_indep_free(k, sp->cet_s);
	free(sp);
	t->special = NULL;
}
