/* Kernel manager internals shared by the src/kernel sources (not part of the API). */
#ifndef XSTATE_KERNEL_INTERNAL_H
#define XSTATE_KERNEL_INTERNAL_H

#include "xstate/kernel.h"

/* Emit a trace event. The struct is only built when a callback is
 * installed: a NULL callback costs one predictable branch. */
#define XK_TRACE(k, ...)                                                  \
	do {                                                              \
		if (__builtin_expect((k)->trace != NULL, 0)) {            \
			struct xk_event xk_ev_ = { __VA_ARGS__ };         \
			(k)->trace((k)->trace_ctx, &xk_ev_);              \
		}                                                         \
	} while (0)

static inline bool xk_user_task(const struct xk_task *t)
{
	return t && !(t->flags & (XK_TF_KTHREAD | XK_TF_USER_WORKER));
}

/* ptrace_check_attach() (kernel/ptrace.c): a ptrace request on a regset
 * needs a stopped tracee, or it fails -ESRCH before any regset code runs.
 * Stopped here: a live user task that is not running and not inside
 * KVM_RUN -- a vCPU thread preempted there is not in a ptrace stop (that
 * needs the way back to user mode) and its active fpstate is the guest's. */
static inline bool xk_ptrace_stopped(const struct xk_task *t)
{
	return xk_user_task(t) && !(t->flags & (XK_TF_EXITING | XK_TF_DEAD)) && t->on_cpu < 0 &&
	       !t->fpu.fpstate->in_use;
}

static inline struct xk_cpu *xk_cpu_of(struct xk_kernel *k, unsigned cpu)
{
	return &k->cpu[cpu];
}

/* A kernel WARN: counted, remembered, traced. Never aborts. */
void xk_warn(struct xk_kernel *k, int cpu, const char *why, enum xk_insn insn, enum xs_fault f);

/* fpstate.c */
/* Every xstate buffer's memory, with the accounting (k->mem, the task's
 * xstate_bytes) and the alloc_fail knob: head bytes of struct, then size
 * bytes of state, zeroed and 64-byte aligned. */
void *xk_xstate_alloc(struct xk_kernel *k, struct xk_task *t, size_t head, uint32_t size,
		      const char *why);
void xk_xstate_free(struct xk_kernel *k, struct xk_task *t, void *p, uint32_t size);
struct xk_fpstate *xk_fpstate_alloc(struct xk_kernel *k, struct xk_task *t, uint32_t size);
void xk_fpstate_free(struct xk_kernel *k, struct xk_fpstate *fps);
void xk_fpstate_reset(struct xk_kernel *k, struct xk_fpu *fpu);
void xk_fpstate_init_xcomp(struct xk_kernel *k, struct xk_fpstate *fps);
void xk_fpstate_copy_init(struct xk_kernel *k, int cpu, struct xk_fpstate *fps);
int xk_init_fpstate_setup(struct xk_kernel *k, char *err, size_t errlen);

/* switch.c: the register primitives every path uses. */
void xk_set_need_load(struct xk_kernel *k, int cpu, struct xk_task *t, uint64_t mask,
		      const char *why);
void xk_set_owner(struct xk_kernel *k, struct xk_cpu *c, struct xk_fpu *fpu);
void xk_hw_activate(struct xk_kernel *k, struct xk_cpu *c); /* CLTS if CR0.TS is set */
void xk_save_fpregs(struct xk_kernel *k, struct xk_cpu *c, struct xk_fpu *fpu, const char *why);
void xk_restore_fpregs(struct xk_kernel *k, struct xk_cpu *c, struct xk_fpstate *fps,
		       uint64_t mask, const char *why);
void xk_xfd_update(struct xk_kernel *k, struct xk_cpu *c, const struct xk_fpstate *fps);
/* fpregs_restore_userregs() without the user-mode transition. */
void xk_restore_userregs(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			 const char *why);
/* fpregs_mark_activate(): owner = fpu, last_cpu = cpu, need_load = 0. */
void xk_mark_active(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t, const char *why);
void xk_to_user_mode(struct xk_kernel *k, struct xk_cpu *c);

/* process.c */
void xk_task_release(struct xk_kernel *k, struct xk_task *t);
void xk_task_free_all(struct xk_kernel *k);

/* The XFD first-use seam, called by fault.c only when the group permission
 * covers event; implemented in xfd.c (user-ABI issue): reallocate the
 * buffer to the permitted size (fpstate_realloc), disarm XFD for the task,
 * return 0 to retry; -EFAULT (the caller sends SIGSEGV) if the allocation
 * fails. */
int xk_xfd_enable_feature(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			  uint64_t event);

#endif
