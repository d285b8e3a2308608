/* rt_sigreturn: restoring the extended state from a signal frame.
 *
 * arch/x86/kernel/signal_64.c: rt_sigreturn(); arch/x86/kernel/fpu/
 * signal.c: fpu__restore_sig(), __fpu_restore_sig(),
 * check_xstate_in_sigframe(), restore_fpregs_from_user(),
 * __restore_fpregs_from_user(); linux-design.md 5.3.
 *
 * What is validated, and by whom (64-bit frames):
 *   software  magic1, xstate_size in [576, user_size] and <= extended_size,
 *             MAGIC2 at buf + xstate_size; any of these wrong -> the frame
 *             is restored legacy-only ("fx_only": FXRSTOR of bytes 0-511,
 *             every other user component to init) -- not a failure;
 *             the rt_sigframe and the sw bytes must be readable.
 *   hardware  the XRSTOR itself, straight from user memory with RFBM =
 *             sw xfeatures & the task's user_xfeatures: XSTATE_BV bits
 *             outside XCR0 (supervisor bits included), XCOMP_BV / header
 *             bytes 8-23 in the standard form, reserved MXCSR bits; the
 *             model CPU raises the #GP exactly where the SDM says. Header
 *             bytes 24-63 are not checked by the standard form (SDM
 *             13.8.1): Linux accepts such a frame too.
 * Supervisor state is never taken from the frame: the XRSTOR is not
 * XRSTORS and its RFBM is user-only; if the registers were not current's,
 * the supervisor part comes from the kernel buffer afterwards.
 *
 * The spec (linux-design.md 5.3) lists two checks mainline does not have:
 * "extended_size < xstate_size + 4" (mainline: xstate_size > extended_size)
 * and a failure when xstate_size is below the size computed from the sw
 * xfeatures (not in mainline; a June 2026 series reworks this check).
 * This follows mainline
 * (tip/x86 after the April 2026 revert of "Refine and simplify the magic
 * number check", which had looked for MAGIC2 at user_size).
 *
 * A failed restore: Linux resets the user state to init and sends SIGSEGV
 * (policy sigreturn-fail=init, the default). sigreturn-fail=keep leaves
 * the state exactly as it was before the call: the live registers are
 * saved into the task's buffer first, and a failure makes the next return
 * to user mode reload them from there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/abi_internal.h"

struct restore_ctx {
	struct xk_kernel *k;
	struct xk_cpu *c;
	struct xk_task *t;
	struct xk_umem *mm;
	struct xk_sigreturn_result *res;
};

static void trace_xrstor(const struct restore_ctx *x, enum xk_insn insn, uint64_t buf,
			 uint64_t mask, enum xs_fault f, const char *why)
{
	XK_TRACE(x->k, .type = XK_EV_UABI, .cpu = (int)x->c->id, .insn = insn, .fault = f,
		 .mask = mask, .bytes = x->t->fpu.fpstate->user_size, .task = x->t, .value = buf,
		 .why = why);
}

/* FXRSTOR of the legacy area. The model has no FXRSTOR: XRSTOR of a copy
 * of bytes 0-511 with XSTATE_BV = x87|SSE and RFBM = x87|SSE loads the
 * same registers (x87, MXCSR, XMM0-15) and raises the same #GP for
 * reserved MXCSR bits; FXRSTOR's 16-byte alignment rule is checked here. */
static enum xs_fault fxrstor_from_user(const struct restore_ctx *x, uint64_t buf)
{
	uint8_t *src = xk_umem_ptr(x->mm, buf, XS_LEGACY_SIZE);
	uint8_t *img;
	enum xs_fault f;

	if (!src)
		return XS_PF;
	if (buf & 15)
		return XS_GP;
	img = aligned_alloc(64, XS_EXT_OFFSET);
	if (!img)
		return XS_PF; /* treated like an unresolvable fault: failure */
	memcpy(img, src, XS_LEGACY_SIZE);
	memset(img + XS_HDR_OFFSET, 0, XS_HDR_SIZE);
	abi_st64(img + XS_HDR_OFFSET, XS_MASK_FPSSE);
	f = xs_xrstor(x->c->hw, img, XS_EXT_OFFSET, XS_MASK_FPSSE);
	free(img);
	return f;
}

/* restore_fpregs_from_user() + __restore_fpregs_from_user(). */
static bool restore_fpregs_from_user(const struct restore_ctx *x, uint64_t buf,
				     uint64_t xrestore, bool fx_only)
{
	struct xk_kernel *k = x->k;
	struct xk_cpu *c = x->c;
	struct xk_task *t = x->t;

	for (int attempt = 0;; attempt++) {
		struct xk_fpstate *fps = t->fpu.fpstate;
		uint64_t task_xf = fps->user_xfeatures, mask = xrestore & task_xf;
		uint64_t init_bv = task_xf & ~mask;
		uint8_t *p = xk_umem_ptr(x->mm, buf, 0);
		enum xs_fault f;

		xk_hw_activate(k, c);
		xk_xfd_update(k, c, fps); /* "Ensure that XFD is up to date" */
		if (fx_only) {
			f = fxrstor_from_user(x, buf);
			trace_xrstor(x, XK_I_XRSTOR, buf, XS_MASK_FPSSE, f,
				     "signal frame -> registers, legacy area only (FXRSTOR)");
		} else {
			f = p ? xs_xrstor(c->hw, p, xk_umem_avail(x->mm, buf), mask) : XS_PF;
			trace_xrstor(x, XK_I_XRSTOR, buf, mask, f, "signal frame -> registers");
		}
		x->res->rfbm = fx_only ? XS_MASK_FPSSE : mask;
		if (f == XS_OK) {
			if (init_bv)
				xk_abi_restore_init(k, c, init_bv,
						    "sigreturn: components absent from the frame");
			/* Mutants (checker issue): the frame trusted as the
			 * pre-5.13 slow path trusted its copy of it. */
			if (!fx_only && xk_mutant(k, XK_MUT_SIGRETURN_HEADER_UNCHECKED))
				memcpy(fps->regs + XS_HDR_OFFSET + 16, p + XS_HDR_OFFSET + 16,
				       XS_HDR_SIZE - 16);
			if (!fx_only && xk_mutant(k, XK_MUT_SIGRETURN_SUPERVISOR_BITS))
				abi_st64(fps->regs + XS_HDR_OFFSET,
					 xk_fpstate_xstate_bv(fps) |
						 (xrestore & XK_MASK_SUPERVISOR_ALL));
			break;
		}
		/* The restore may have changed registers that were not
		 * current's: nobody owns them any more. */
		if (t->need_load)
			xk_set_owner(k, c, NULL);
		if (f != XS_PF) {
			x->res->why = fx_only ? "FXRSTOR of the legacy area faulted"
					      : "XRSTOR from the frame faulted";
			return false;
		}
		/* fault_in_readable(buf, user_size): retry only if it is there. */
		if (attempt >= 1 || !xk_umem_ptr(x->mm, buf, fps->user_size)) {
			x->res->why = "the XSAVE area is not readable";
			return false;
		}
	}
	/* Supervisor state was not in the registers: load it from the kernel
	 * buffer, never from the frame. */
	if (t->need_load && abi_supervisor_mask(k))
		xk_abi_restore_supervisor(k, c, t, "sigreturn: supervisor state from the task buffer");
	xk_mark_active(k, c, t, "sigreturn");
	return true;
}

/* check_xstate_in_sigframe(): false only when the sw bytes or MAGIC2
 * cannot be read; a bad layout falls back to fx_only. */
static bool check_xstate_in_sigframe(const struct restore_ctx *x, uint64_t buf,
				     uint64_t *xfeatures, bool *fx_only)
{
	uint8_t sw[XK_SW_SIZE];
	uint32_t magic1, xstate_size, extended_size, magic2;

	if (xk_copy_from_user(x->mm, sw, buf + XK_SW_OFF, sizeof(sw))) {
		x->res->why = "the software-reserved bytes are not readable";
		return false;
	}
	magic1 = abi_ld32(sw + XK_SW_MAGIC1 - XK_SW_OFF);
	extended_size = abi_ld32(sw + XK_SW_EXTENDED_SIZE - XK_SW_OFF);
	xstate_size = abi_ld32(sw + XK_SW_XSTATE_SIZE - XK_SW_OFF);
	*xfeatures = abi_ld64(sw + XK_SW_XFEATURES - XK_SW_OFF);
	*fx_only = false;
	if (magic1 != XK_FP_XSTATE_MAGIC1) {
		x->res->why = "magic1 missing: legacy-only restore";
		goto setfx;
	}
	if (xstate_size < XS_EXT_OFFSET || xstate_size > x->t->fpu.fpstate->user_size ||
	    xstate_size > extended_size) {
		x->res->why = "xstate_size out of range: legacy-only restore";
		goto setfx;
	}
	if (xk_copy_from_user(x->mm, &magic2, buf + xstate_size, sizeof(magic2))) {
		x->res->why = "MAGIC2 is not readable";
		return false;
	}
	if (magic2 == XK_FP_XSTATE_MAGIC2)
		return true;
	x->res->why = "magic2 missing: legacy-only restore";
setfx:
	*fx_only = true;
	*xfeatures = XS_MASK_FPSSE;
	return true;
}

/* fpu__restore_sig(buf, 0) for a 64-bit frame. */
static bool fpu_restore_sig(const struct restore_ctx *x, uint64_t buf)
{
	struct xk_kernel *k = x->k;
	struct xk_task *t = x->t;
	uint64_t xfeatures;
	bool fx_only, ok;

	x->res->fpstate = buf;
	if (!buf) {
		xk_abi_clear_user_states(k, x->c, t, "sigreturn: no fpstate, user state to init");
		x->res->reset = true;
		x->res->why = "fpstate pointer NULL: user state reset";
		return true;
	}
	if (k->policy.sigreturn_keep && !t->need_load) {
		/* Beyond Linux: keep the pre-sigreturn state where a failure
		 * cannot touch it. */
		xk_set_need_load(k, (int)x->c->id, t, k->restore_mask, "sigreturn-fail=keep");
		xk_save_fpregs(k, x->c, &t->fpu, "sigreturn-fail=keep: state kept in the buffer");
		t->fpu.last_cpu = (int)x->c->id;
	}
	ok = xk_access_ok(buf, (uint64_t)t->fpu.fpstate->user_size + XK_FP_XSTATE_MAGIC2_SIZE);
	if (!ok)
		x->res->why = "fpstate pointer outside user space";
	if (ok)
		ok = check_xstate_in_sigframe(x, buf, &xfeatures, &fx_only);
	if (ok) {
		x->res->fx_only = fx_only;
		ok = restore_fpregs_from_user(x, buf, xfeatures, fx_only);
	}
	if (ok)
		return true;
	if (k->policy.sigreturn_keep) {
		/* The buffer holds the state of before; make sure it is what
		 * the next return to user mode loads. */
		if (x->c->owner == &t->fpu)
			xk_set_owner(k, x->c, NULL);
		if (!t->need_load)
			xk_set_need_load(k, (int)x->c->id, t, k->restore_mask, "sigreturn failed");
	} else {
		xk_abi_clear_user_states(k, x->c, t, "sigreturn failed: user state to init");
		x->res->reset = true;
	}
	return false;
}

int xk_sigreturn(struct xk_kernel *k, unsigned cpu, struct xk_umem *mm, uint64_t sp,
		 struct xk_sigreturn_result *res)
{
	struct xk_task *t = xk_abi_current(k, cpu);
	struct restore_ctx x;
	uint64_t frame = sp - 8;
	struct xk_stack ss;
	const uint8_t *f;

	if (!t || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->sp = sp;
	x = (struct restore_ctx){ k, &k->cpu[cpu], t, mm, res };

	f = xk_access_ok(frame, XK_RT_SIGFRAME_SIZE) ? xk_umem_ptr(mm, frame, XK_RT_SIGFRAME_SIZE)
						      : NULL;
	if (!f) {
		res->why = "the rt_sigframe is not readable";
		goto badframe;
	}
	/* restore_sigcontext(): registers first (only sp is modelled), then
	 * the FPU state. */
	res->sp = abi_ld64(f + XK_RTF_RSP);
	if (!fpu_restore_sig(&x, abi_ld64(f + XK_RTF_FPSTATE))) {
		res->failed = true;
		goto badframe;
	}
	/* restore_altstack(): errors other than -EFAULT are squashed. */
	ss.sp = abi_ld64(f + XK_RTF_SS_SP);
	ss.flags = abi_ld32(f + XK_RTF_SS_FLAGS);
	ss.size = abi_ld64(f + XK_RTF_SS_SIZE);
	(void)xk_sigaltstack(k, t, res->sp, &ss, NULL);
	if (!res->why)
		res->why = "restored";
	XK_TRACE(k, .type = XK_EV_SIGRETURN, .cpu = (int)cpu, .task = t, .value = res->fpstate,
		 .mask = res->rfbm, .old = frame, .why = res->why);
	return 0;

badframe:
	/* signal_fault() -> force_sig(SIGSEGV) */
	res->signo = XK_SIGSEGV;
	res->failed = true;
	XK_TRACE(k, .type = XK_EV_SIGRETURN, .cpu = (int)cpu, .task = t, .value = res->fpstate,
		 .mask = res->rfbm, .old = frame, .signo = XK_SIGSEGV, .si_code = XK_SI_KERNEL,
		 .why = res->why);
	return -EFAULT;
}
