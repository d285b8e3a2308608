/* Faults raised by user instructions (arch/x86/kernel/traps.c:
 * exc_device_not_available() with handle_xfd_event(), do_error_trap(),
 * exc_general_protection(), exc_alignment_check(); linux-design.md 4.3).
 *
 * Signals Linux sends for the faults the model raises:
 *   #UD -> SIGILL  ILL_ILLOPN   (do_error_trap(X86_TRAP_UD, SIGILL, ILL_ILLOPN))
 *   #GP -> SIGSEGV SI_KERNEL    (exc_general_protection: force_sig(SIGSEGV))
 *   #AC -> SIGBUS  BUS_ADRALN   (exc_alignment_check)
 *   #PF -> SIGSEGV SEGV_MAPERR  (the model's "operand outside its buffer"
 *                                stands for an access to an unmapped page)
 *   #NM -> XFD first use, the lazy-restore trap, or die("unexpected #NM"). */
#include <errno.h>

#include "kernel/kernel_internal.h"
#include "xstate/kernel_fsgs.h"

static struct xk_fault_result fault_result(enum xk_fault_action a, int signo, int code,
					   const char *why)
{
	struct xk_fault_result r = { a, signo, code, why };

	return r;
}

/* xk_xfd_enable_feature() (allocation + XFD disarm) is in xfd.c (user-ABI issue). */

/* handle_xfd_event(): called with XFD_ERR != 0. */
static struct xk_fault_result handle_xfd_event(struct xk_kernel *k, struct xk_cpu *c,
					       struct xk_task *t, uint64_t xfd_err)
{
	uint64_t event = xfd_err & XK_MASK_USER_DYNAMIC;
	struct xk_perm *perm;
	enum xs_fault f;

	k->stats.nm_xfd++;
	f = xs_wrmsr(c->hw, XS_MSR_XFD_ERR, 0);
	XK_TRACE(k, .type = XK_EV_XFD_WRITE, .cpu = (int)c->id, .insn = XK_I_WRMSR, .fault = f,
		 .reg = XS_MSR_XFD_ERR, .old = xfd_err, .value = 0, .task = t);
	if (!event) /* pr_err_once("XFD: Invalid xfd error"), then retry */
		return fault_result(XK_FA_RETRY, 0, 0, "XFD #NM without a dynamic feature");
	perm = xk_group_perm(t);
	if (!perm || (perm->state_perm & event) != event)
		return fault_result(XK_FA_SIGNAL, XK_SIGILL, XK_ILL_ILLOPC,
				    "XFD #NM: feature not permitted");
	if (xk_xfd_enable_feature(k, c, t, event))
		return fault_result(XK_FA_SIGNAL, XK_SIGSEGV, XK_SI_KERNEL,
				    "XFD #NM: buffer allocation failed");
	return fault_result(XK_FA_RETRY, 0, 0, "XFD #NM: feature enabled");
}

static struct xk_fault_result handle_nm(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	uint64_t xfd_err = 0;

	if (k->model->has_xfd && xs_rdmsr(c->hw, XS_MSR_XFD_ERR, &xfd_err) == XS_OK && xfd_err)
		return handle_xfd_event(k, c, t, xfd_err);
	if (xs_cr0_ts(c->hw) && k->policy.restore == XK_RESTORE_LAZY) {
		/* Pre-2016 fpu__restore(): clts, load the task's state, own it. */
		k->stats.nm_lazy++;
		xk_hw_activate(k, c);
		if (t->need_load)
			xk_restore_fpregs(k, c, t->fpu.fpstate, t->need_load, "#NM (lazy restore)");
		xk_mark_active(k, c, t, "#NM (lazy restore)");
		return fault_result(XK_FA_RETRY, 0, 0, "#NM: lazy restore");
	}
	return fault_result(XK_FA_OOPS, 0, 0, "unexpected #NM exception");
}

struct xk_fault_result xk_handle_fault(struct xk_kernel *k, unsigned cpu, enum xs_fault f)
{
	struct xk_fault_result r;
	struct xk_cpu *c;
	struct xk_task *t;

	if (cpu >= k->ncpus)
		return fault_result(XK_FA_OOPS, 0, 0, "no such CPU");
	c = &k->cpu[cpu];
	t = c->current;
	if (!c->user_mode || !xk_user_task(t))
		return fault_result(XK_FA_OOPS, 0, 0, "fault outside user mode");
	/* Exception entry. */
	c->user_mode = false;
	xs_set_cpl(c->hw, 0);
	xk_fsgs_enter_kernel(k, c); /* FS/GS issue: SWAPGS */
	t->thread.exit_iret = true; /* exceptions return with IRET */

	switch (f) {
	case XS_NM:
		r = handle_nm(k, c, t);
		break;
	case XS_UD:
		r = fault_result(XK_FA_SIGNAL, XK_SIGILL, XK_ILL_ILLOPN, "invalid opcode");
		break;
	case XS_GP:
		r = fault_result(XK_FA_SIGNAL, XK_SIGSEGV, XK_SI_KERNEL, "general protection");
		break;
	case XS_AC:
		r = fault_result(XK_FA_SIGNAL, XK_SIGBUS, XK_BUS_ADRALN, "alignment check");
		break;
	case XS_PF:
		r = fault_result(XK_FA_SIGNAL, XK_SIGSEGV, XK_SEGV_MAPERR, "page fault");
		break;
	default:
		r = fault_result(XK_FA_OOPS, 0, 0, "no fault to handle");
		break;
	}
	if (r.action == XK_FA_SIGNAL)
		k->stats.signals++;
	XK_TRACE(k, .type = XK_EV_FAULT, .cpu = (int)cpu, .fault = f, .task = t,
		 .signo = r.signo, .si_code = r.si_code, .value = r.action, .why = r.why);
	if (r.action == XK_FA_RETRY)
		xk_return_to_user(k, cpu);
	return r;
}
