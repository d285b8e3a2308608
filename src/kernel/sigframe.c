/* Signal delivery: the x86-64 rt_sigframe with its XSAVE image, the user
 * state reset for the handler, and the frame-size bound AT_MINSIGSTKSZ.
 *
 * arch/x86/kernel/signal.c: get_sigframe(), init_sigframe_size(),
 * frame_uc_flags(); arch/x86/kernel/signal_64.c: x64_setup_rt_frame();
 * arch/x86/kernel/fpu/signal.c: copy_fpstate_to_sigframe(),
 * save_xstate_epilog(), fpu__alloc_mathframe(), fpu__get_fpstate_size();
 * arch/x86/kernel/fpu/xstate.h: xsave_to_user_sigframe(),
 * xfeatures_need_sigframe_write(), update_pkru_in_sigframe();
 * arch/x86/kernel/fpu/core.c: fpu__clear_user_states(); linux-design.md 5.
 *
 * The XSAVE image is written by the model CPU's XSAVE instruction straight
 * into the task's user memory, as Linux does; only what Linux writes by
 * software is written here: the zeroed header before the XSAVE, the PKRU
 * slot and bit, the software-reserved bytes, MAGIC2 and the FP|SSE bits.
 * Bytes neither writes (416-463, the unused parts of the rt_sigframe) keep
 * whatever the stack held before, as on real hardware.
 */
#include <errno.h>

#include "kernel/abi_internal.h"

struct xk_task *xk_abi_current(struct xk_kernel *k, unsigned cpu)
{
	struct xk_cpu *c;

	if (cpu >= k->ncpus)
		return NULL;
	c = &k->cpu[cpu];
	if (c->user_mode || !xk_user_task(c->current) || !c->current->proc ||
	    (c->current->flags & (XK_TF_EXITING | XK_TF_DEAD)))
		return NULL;
	return c->current;
}

/* ---- Register helpers shared with sigreturn.c ---- */

uint32_t xk_abi_read_pkru(struct xk_kernel *k, struct xk_cpu *c)
{
	uint32_t v = 0;

	if (abi_ospke(k) && xs_rdpkru(c->hw, &v) != XS_OK)
		v = 0;
	return v;
}

/* write_pkru(): only with OSPKE, only if it differs. */
void xk_abi_write_pkru(struct xk_kernel *k, struct xk_cpu *c, uint32_t pkru)
{
	enum xs_fault f;

	if (!abi_ospke(k) || xk_abi_read_pkru(k, c) == pkru)
		return;
	f = xs_wrpkru(c->hw, pkru);
	if (f)
		xk_warn(k, (int)c->id, "WRPKRU faulted", XK_I_NONE, f);
}

void xk_abi_restore_init(struct xk_kernel *k, struct xk_cpu *c, uint64_t mask, const char *why)
{
	const struct xk_fpstate *ifs = k->init_fpstate;
	enum xs_fault f;

	xk_hw_activate(k, c);
	if (k->restore_insn == XK_I_XRSTORS)
		f = xs_xrstors(c->hw, ifs->regs, ifs->size, mask);
	else
		f = xs_xrstor(c->hw, ifs->regs, ifs->size, mask);
	XK_TRACE(k, .type = XK_EV_RESTORE, .cpu = (int)c->id, .insn = k->restore_insn, .fault = f,
		 .mask = mask, .bytes = ifs->size, .task = NULL, .why = why);
	if (f)
		xk_warn(k, (int)c->id, "restore from init_fpstate faulted", k->restore_insn, f);
}

void xk_abi_restore_supervisor(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			       const char *why)
{
	struct xk_fpstate *fps = t->fpu.fpstate;
	uint64_t mask = abi_supervisor_mask(k);
	enum xs_fault f;

	if (!mask)
		return;
	xk_hw_activate(k, c);
	if (k->restore_insn == XK_I_XRSTORS)
		f = xs_xrstors(c->hw, fps->regs, fps->size, mask);
	else
		f = xs_xrstor(c->hw, fps->regs, fps->size, mask);
	XK_TRACE(k, .type = XK_EV_RESTORE, .cpu = (int)c->id, .insn = k->restore_insn, .fault = f,
		 .mask = mask, .bytes = fps->size, .task = t, .why = why);
	if (f)
		xk_warn(k, (int)c->id, "supervisor restore faulted", k->restore_insn, f);
}

void xk_abi_clear_user_states(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			      const char *why)
{
	/* Supervisor state must be current's before the task runs again. */
	if (abi_supervisor_mask(k) && !xk_fpregs_valid(k, &t->fpu, c->id))
		xk_abi_restore_supervisor(k, c, t, why);
	/* Newer kernels update XFD here: the registers may have been another
	 * task's, and the task must not run with that task's XFD value. */
	xk_xfd_update(k, c, t->fpu.fpstate);
	/* restore_fpregs_from_init_fpstate(USER_RESTORE) + pkru_write_default() */
	xk_abi_restore_init(k, c, XK_MASK_USER_RESTORE & k->kcfg.max_features, why);
	xk_abi_write_pkru(k, c, XK_PKRU_INIT_DEFAULT);
	xk_mark_active(k, c, t, why);
}

/* ---- Sizes ---- */

static uint32_t round_up_u32(uint32_t v, uint32_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* init_sigframe_size(): MAX_FRAME_SIGINFO_UCTXT_SIZE + MAX_FRAME_PADDING
 * (15) + fpu__get_fpstate_size() + MAX_XSAVE_PADDING (63), rounded up to
 * FRAME_ALIGNMENT (16). With IA32 emulation the worst-case frame is
 * struct sigframe_ia32 and the fpstate part includes the fsave header. */
uint32_t xk_sigframe_max_size(const struct xk_kernel *k, bool ia32_emulation)
{
	uint32_t uctxt = ia32_emulation ? XK_SIGFRAME_IA32_SIZE : XK_RT_SIGFRAME_SIZE;
	uint32_t fpsize = k->ucfg.max_size + XK_FP_XSTATE_MAGIC2_SIZE +
			  (ia32_emulation ? XK_FSAVE_HEADER_SIZE : 0);

	return round_up_u32(uctxt + 15 + fpsize + 63, 16);
}

uint32_t xk_at_minsigstksz(const struct xk_kernel *k)
{
	return xk_sigframe_max_size(k, XK_CONFIG_IA32_EMULATION);
}

uint32_t xk_task_sigframe_xstate_size(const struct xk_task *t)
{
	return t->fpu.fpstate->user_size + XK_FP_XSTATE_MAGIC2_SIZE;
}

/* ---- The XSAVE image ---- */

/* xfeatures_need_sigframe_write(): in-use features, plus everything that
 * is not allowed to be left out (all but AMX). */
static uint64_t need_sigframe_write(struct xk_kernel *k, struct xk_cpu *c)
{
	uint64_t inuse;

	/* XGETBV(1); every CPU with XFD has it. Without it, no shortcut. */
	if (xs_xgetbv(c->hw, 1, &inuse) != XS_OK)
		return ~0ULL;
	return inuse | (XK_MASK_USER_SUPPORTED & ~XK_MASK_SIGFRAME_INITOPT);
}

/* xsave_to_user_sigframe() + update_pkru_in_sigframe(). */
static enum xs_fault xsave_to_sigframe(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
				       struct xk_umem *mm, uint64_t buf_fx, uint32_t pkru,
				       uint64_t *rfbm)
{
	const struct xk_fpstate *fps = t->fpu.fpstate;
	uint64_t mask = fps->user_xfeatures;
	uint8_t *buf = xk_umem_ptr(mm, buf_fx, 0);
	enum xs_fault f;

	/* The AMX-in-init shortcut (seed 004 item 9): don't write 8 KiB of
	 * zeros; XSTATE_BV[18] stays 0 from the cleared header. */
	if (k->dynamic)
		mask &= need_sigframe_write(k, c);
	*rfbm = mask;
	if (!buf)
		return XS_PF;
	xk_hw_activate(k, c);
	f = xs_xsave(c->hw, buf, xk_umem_avail(mm, buf_fx), mask);
	XK_TRACE(k, .type = XK_EV_UABI, .cpu = (int)c->id, .insn = XK_I_XSAVE, .fault = f,
		 .mask = mask, .bytes = fps->user_size, .task = t, .value = buf_fx,
		 .why = "registers -> signal frame");
	if (f || !abi_ospke(k))
		return f;
	/* Mark PKRU in use and store the value the task had before
	 * sig_prepare_pkru() opened every key for the frame write. */
	abi_st64(buf + XS_HDR_OFFSET, abi_ld64(buf + XS_HDR_OFFSET) | XS_BIT(XS_C_PKRU));
	abi_st32(buf + k->xf[XS_C_PKRU].offset, pkru);
	return XS_OK;
}

/* save_xstate_epilog(): the software-reserved bytes, MAGIC2 after the
 * image, and FP|SSE always marked present (legacy applications edit the
 * legacy area without touching the header). */
static void save_xstate_epilog(uint8_t *buf, const struct xk_fpstate *fps)
{
	memset(buf + XK_SW_OFF, 0, XK_SW_SIZE);
	abi_st32(buf + XK_SW_MAGIC1, XK_FP_XSTATE_MAGIC1);
	abi_st32(buf + XK_SW_EXTENDED_SIZE, fps->user_size + XK_FP_XSTATE_MAGIC2_SIZE);
	abi_st64(buf + XK_SW_XFEATURES, fps->user_xfeatures);
	abi_st32(buf + XK_SW_XSTATE_SIZE, fps->user_size);
	abi_st32(buf + fps->user_size, XK_FP_XSTATE_MAGIC2);
	abi_st64(buf + XS_HDR_OFFSET, abi_ld64(buf + XS_HDR_OFFSET) | XS_MASK_FPSSE);
}

/* copy_fpstate_to_sigframe() for a 64-bit frame (buf == buf_fx). */
static bool copy_fpstate_to_sigframe(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
				     struct xk_umem *mm, uint64_t buf_fx, uint32_t pkru,
				     uint64_t *rfbm)
{
	const struct xk_fpstate *fps;
	uint32_t size = t->fpu.fpstate->user_size;
	uint8_t *buf, *hdr;

	if (!xk_access_ok(buf_fx, size + XK_FP_XSTATE_MAGIC2_SIZE))
		return false;
	/* Clear the header first: XSAVE leaves its reserved bytes alone. */
	hdr = xk_umem_ptr(mm, buf_fx + XS_HDR_OFFSET, XS_HDR_SIZE);
	if (!hdr)
		return false;
	memset(hdr, 0, XS_HDR_SIZE);
	for (int attempt = 0;; attempt++) {
		enum xs_fault f;

		/* fpregs_lock(): the registers must hold current's state. */
		if (t->need_load)
			xk_restore_userregs(k, c, t, "signal frame: load registers");
		f = xsave_to_sigframe(k, c, t, mm, buf_fx, pkru, rfbm);
		if (f == XS_OK)
			break;
		/* __clear_user(buf_fx, user_size) resolves a missing page; if the
		 * memory is not there at all the frame cannot be written. */
		buf = xk_umem_ptr(mm, buf_fx, size);
		if (!buf)
			return false;
		if (attempt >= 1) { /* Linux would loop here; it cannot happen there */
			xk_warn(k, (int)c->id, "XSAVE to the signal frame keeps faulting", XK_I_XSAVE,
				f);
			return false;
		}
		memset(buf, 0, size);
	}
	fps = t->fpu.fpstate;
	buf = xk_umem_ptr(mm, buf_fx, (uint64_t)fps->user_size + XK_FP_XSTATE_MAGIC2_SIZE);
	if (!buf)
		return false;
	save_xstate_epilog(buf, fps);
	return true;
}

/* ---- The rt_sigframe ---- */

static uint64_t round_down_u64(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

/* __on_sig_stack() without the SS_AUTODISARM rule. */
static bool sp_on_altstack(const struct xk_task *t, uint64_t sp)
{
	return sp > t->sig.sas_ss_sp && sp - t->sig.sas_ss_sp <= t->sig.sas_ss_size;
}

/* x64_setup_rt_frame()'s field stores (unsafe_put_user ...): only these
 * bytes of the 440 are written. GPRs and RIP are not modelled: 0. */
static bool write_rt_sigframe(struct xk_umem *mm, uint64_t frame, uint64_t fpstate, uint64_t sp,
			      const struct xk_task *t, const struct xk_sigaction *act,
			      const struct xk_siginfo *info)
{
	uint8_t *f = xk_access_ok(frame, XK_RT_SIGFRAME_SIZE)
			     ? xk_umem_ptr(mm, frame, XK_RT_SIGFRAME_SIZE)
			     : NULL;
	uint8_t *sc;

	if (!f)
		return false;
	abi_st64(f + XK_RTF_UC_FLAGS, XK_UC_FP_XSTATE | XK_UC_SIGCONTEXT_SS |
					      XK_UC_STRICT_RESTORE_SS);
	abi_st64(f + XK_RTF_UC_LINK, 0);
	/* unsafe_save_altstack(): the task's recorded altstack, as stored. */
	abi_st64(f + XK_RTF_SS_SP, t->sig.sas_ss_sp);
	abi_st32(f + XK_RTF_SS_FLAGS, (uint32_t)t->sig.sas_ss_flags);
	abi_st64(f + XK_RTF_SS_SIZE, t->sig.sas_ss_size);
	abi_st64(f + XK_RTF_PRETCODE, act->restorer);
	/* __unsafe_setup_sigcontext(): r8..r15, di, si, bp, bx, dx, ax, cx,
	 * sp, ip, flags; cs, gs, fs, ss; err, trapno, oldmask, cr2, fpstate. */
	sc = f + XK_RTF_MCONTEXT;
	memset(sc, 0, 18 * 8);
	abi_st64(f + XK_RTF_RSP, sp);
	abi_st16(f + XK_RTF_CS, XK_USER_CS);
	abi_st16(f + XK_RTF_CS + 2, 0);
	abi_st16(f + XK_RTF_CS + 4, 0);
	abi_st16(f + XK_RTF_SS, XK_USER_DS);
	abi_st64(sc + 152, 0);            /* err */
	abi_st64(sc + 160, info->trapno); /* trapno */
	abi_st64(sc + 168, 0);            /* oldmask */
	abi_st64(sc + 176, 0);            /* cr2 */
	abi_st64(f + XK_RTF_FPSTATE, fpstate);
	abi_st64(f + XK_RTF_SIGMASK, 0);  /* unsafe_put_sigmask(): nothing blocked */
	if (act->flags & XK_SA_SIGINFO) {
		/* copy_siginfo_to_user(): the whole 128 bytes. */
		uint8_t *si = f + XK_RTF_INFO;

		memset(si, 0, XK_RT_SIGFRAME_SIZE - XK_RTF_INFO);
		abi_st32(si + 0, (uint32_t)info->signo);
		abi_st32(si + 8, (uint32_t)info->code);
		abi_st64(si + 16, info->addr);
	}
	return true;
}

int xk_signal_deliver(struct xk_kernel *k, unsigned cpu, struct xk_umem *mm, uint64_t sp,
		      const struct xk_sigaction *act, const struct xk_siginfo *info,
		      struct xk_sigframe *out)
{
	struct xk_task *t = xk_abi_current(k, cpu);
	struct xk_cpu *c;
	bool nested, entering = false;
	uint64_t fsp, buf_fx, frame, rfbm = 0;
	uint32_t math_size, pkru;

	if (!t || !act || !info)
		return -EINVAL;
	c = &k->cpu[cpu];
	memset(out, 0, sizeof(*out));
	out->interrupted_sp = sp;

	/* get_sigframe() */
	nested = xk_on_sig_stack(t, sp);
	fsp = sp - XK_RED_ZONE;
	if ((act->flags & XK_SA_ONSTACK) && t->sig.sas_ss_size && !xk_on_sig_stack(t, fsp)) {
		/* sas_ss_flags(sp) == 0: switch to the top of the altstack. */
		fsp = t->sig.sas_ss_sp + t->sig.sas_ss_size;
		entering = true;
	}
	math_size = xk_task_sigframe_xstate_size(t); /* fpu__alloc_mathframe() */
	buf_fx = round_down_u64(fsp - math_size, 64);
	frame = round_down_u64(buf_fx - XK_RT_SIGFRAME_SIZE, 16) - 8;
	out->frame = frame;
	out->fpstate = buf_fx;
	out->altstack = nested || entering;
	if ((nested || entering) && !sp_on_altstack(t, frame)) {
		XK_TRACE(k, .type = XK_EV_SIGFRAME, .cpu = (int)cpu, .task = t, .fault = XS_PF,
			 .value = buf_fx, .old = frame, .bytes = math_size, .signo = info->signo,
			 .why = "overflowed sigaltstack");
		return -EFAULT;
	}

	/* sig_prepare_pkru(): every key writable while the frame is written. */
	pkru = xk_abi_read_pkru(k, c);
	xk_abi_write_pkru(k, c, 0);
	if (!copy_fpstate_to_sigframe(k, c, t, mm, buf_fx, pkru, &rfbm)) {
		xk_abi_write_pkru(k, c, pkru);
		XK_TRACE(k, .type = XK_EV_SIGFRAME, .cpu = (int)cpu, .task = t, .fault = XS_PF,
			 .value = buf_fx, .old = frame, .mask = rfbm, .bytes = math_size,
			 .signo = info->signo, .why = "the frame's XSAVE area is not writable");
		return -EFAULT;
	}
	out->rfbm = rfbm;
	out->xstate_size = t->fpu.fpstate->user_size;
	out->xfeatures = t->fpu.fpstate->user_xfeatures;
	/* The ucontext: a fault here leaves PKRU as sig_prepare_pkru() set it,
	 * as in Linux (x64_setup_rt_frame returns -EFAULT; SIGSEGV follows). */
	if (!write_rt_sigframe(mm, frame, buf_fx, sp, t, act, info)) {
		XK_TRACE(k, .type = XK_EV_SIGFRAME, .cpu = (int)cpu, .task = t, .fault = XS_PF,
			 .value = buf_fx, .old = frame, .mask = rfbm, .bytes = math_size,
			 .signo = info->signo, .why = "the rt_sigframe is not writable");
		return -EFAULT;
	}
	XK_TRACE(k, .type = XK_EV_SIGFRAME, .cpu = (int)cpu, .task = t, .insn = XK_I_XSAVE,
		 .value = buf_fx, .old = frame, .mask = rfbm, .bytes = out->xstate_size,
		 .signo = info->signo,
		 .why = out->altstack ? "frame on the sigaltstack" : "frame on the stack");

	/* handle_signal(): the handler starts with clean user state. */
	xk_abi_clear_user_states(k, c, t, "signal delivery: user state to init");
	/* regs->ip is the handler now: do_syscall_64() cannot SYSRET. */
	t->thread.exit_iret = true;
	/* signal_delivered(): SS_AUTODISARM drops the altstack until sigreturn. */
	if (t->sig.sas_ss_flags & XK_SS_AUTODISARM) {
		t->sig.sas_ss_sp = 0;
		t->sig.sas_ss_size = 0;
		t->sig.sas_ss_flags = XK_SS_DISABLE;
	}
	return 0;
}
