/* CET: the user shadow stack (CET_U, seed 000's "supervisor state that
 * affects user mode") and the policy side of CET supervisor state (CET_S,
 * "supervisor state that affects kernel mode", seed 003).
 *
 * CET_U (IA32_U_CET, IA32_PL3_SSP) is an ordinary member of the task
 * buffer: XSAVES at switch-out, XRSTORS before user mode, copied at fork
 * (arch/x86/kernel/shstk.c, fpu/core.c). User code moves PL3_SSP by itself
 * (CALL/RET), so the buffer is the only place the value survives a switch.
 * It is never part of a user ABI: signal frames are XSAVEd with
 * user_xfeatures (no supervisor bits) and restored with XRSTOR, which
 * #GPs on a supervisor bit in XSTATE_BV; NT_X86_XSTATE rejects header
 * bits outside user_xfeatures. NT_X86_SHSTK exposes user_ssp only.
 *
 * CET_S (PL0-2_SSP) is restored by the task restore like every supervisor
 * feature in kernel.max (forced to init for host tasks); where it lives
 * is decided at boot by policy cet-s= (config.c): Linux keeps it in guest
 * buffers only; cet-s=task puts it in every task buffer; cet-s=independent
 * takes it out of every fpstate (KVM would switch it itself with
 * xk_xsaves_indep/xk_xrstors_indep, independent.c).
 */
#include <errno.h>
#include <string.h>

#include "kernel/special_internal.h"
#include "xstate/kernel_abi.h" /* XK_TASK_SIZE_MAX */

bool xk_shstk_supported(const struct xk_kernel *k)
{
	/* X86_FEATURE_USER_SHSTK: built with CONFIG_X86_USER_SHADOW_STACK
	 * (policy user-shstk), SHSTK, and CET_USER managed by XSAVES. */
	return !k->policy.no_user_shstk && k->model->feat.shstk && k->use_xsaves &&
	       (k->kcfg.max_features & XS_BIT(XS_C_CET_U));
}

uint64_t xk_shstk_features(const struct xk_task *t)
{
	return t && t->special ? t->special->shstk_features : 0;
}

static int cet_wrmsr(struct xk_kernel *k, struct xk_cpu *c, uint32_t msr, uint64_t v)
{
	enum xs_fault f = xs_wrmsr(c->hw, msr, v);

	if (f) {
		xk_warn(k, (int)c->id, "shadow stack: WRMSR faulted", XK_I_WRMSR, f);
		return -EINVAL;
	}
	return 0;
}

/* fpregs_lock_and_load(): the MSRs are written on the live registers, so
 * the task's state must be in them first. */
static void lock_and_load(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	if (t->need_load)
		xk_restore_userregs(k, c, t, "fpregs_lock_and_load");
}

/* shstk_setup(). */
static long shstk_setup(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			struct xk_special *sp)
{
	uint64_t base, ssp;

	if (sp->shstk_features & XK_ARCH_SHSTK_SHSTK)
		return 0;
	/* alloc_shstk(): a mapping of XK_SHSTK_SIZE; addresses are
	 * synthetic and distinct per task. SSP starts at its top. */
	base = XK_SHSTK_TOP - (uint64_t)t->tid * 2 * XK_SHSTK_SIZE;
	ssp = base + XK_SHSTK_SIZE;
	lock_and_load(k, c, t);
	if (cet_wrmsr(k, c, XS_MSR_PL3_SSP, ssp) || cet_wrmsr(k, c, XS_MSR_U_CET, XK_CET_SHSTK_EN))
		return -EINVAL;
	sp->shstk_base = base;
	sp->shstk_size = XK_SHSTK_SIZE;
	sp->shstk_features |= XK_ARCH_SHSTK_SHSTK;
	return 0;
}

/* shstk_disable(). */
static long shstk_disable(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			  struct xk_special *sp)
{
	if (!(sp->shstk_features & XK_ARCH_SHSTK_SHSTK))
		return 0;
	lock_and_load(k, c, t);
	if (cet_wrmsr(k, c, XS_MSR_U_CET, 0) || cet_wrmsr(k, c, XS_MSR_PL3_SSP, 0))
		return -EINVAL;
	sp->shstk_base = sp->shstk_size = 0; /* shstk_free() */
	sp->shstk_features &= ~(XK_ARCH_SHSTK_SHSTK | XK_ARCH_SHSTK_WRSS);
	return 0;
}

/* wrss_control(). */
static long wrss_control(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			 struct xk_special *sp, bool enable)
{
	uint64_t v = 0;
	enum xs_fault f;

	if (!(sp->shstk_features & XK_ARCH_SHSTK_SHSTK))
		return -EPERM;
	if (!!(sp->shstk_features & XK_ARCH_SHSTK_WRSS) == enable)
		return 0;
	lock_and_load(k, c, t);
	f = xs_rdmsr(c->hw, XS_MSR_U_CET, &v);
	if (f) {
		xk_warn(k, (int)c->id, "shadow stack: RDMSR IA32_U_CET faulted", XK_I_RDMSR, f);
		return -EINVAL;
	}
	v = enable ? v | XK_CET_WRSS_EN : v & ~XK_CET_WRSS_EN;
	if (cet_wrmsr(k, c, XS_MSR_U_CET, v))
		return -EINVAL;
	if (enable)
		sp->shstk_features |= XK_ARCH_SHSTK_WRSS;
	else
		sp->shstk_features &= ~XK_ARCH_SHSTK_WRSS;
	return 0;
}

long xk_shstk_prctl(struct xk_kernel *k, unsigned cpu, int option, uint64_t arg2,
		    uint64_t *status)
{
	struct xk_special *sp;
	struct xk_cpu *c;
	struct xk_task *t;

	/* Without CONFIG_X86_USER_SHADOW_STACK shstk_prctl() is a stub:
	 * do_arch_prctl_64() answers every ARCH_SHSTK_* with -EINVAL. */
	if (cpu >= k->ncpus || k->policy.no_user_shstk)
		return -EINVAL;
	c = &k->cpu[cpu];
	t = c->current;
	if (!xk_user_task(t) || c->user_mode)
		return -EINVAL;
	if (option == XK_ARCH_SHSTK_STATUS) {
		if (status)
			*status = xk_shstk_features(t);
		return 0;
	}
	sp = xk_special_get(k, t);
	if (!sp)
		return -ENOMEM;
	if (option == XK_ARCH_SHSTK_LOCK) {
		sp->shstk_locked |= arg2;
		return 0;
	}
	/* UNLOCK only through ptrace (task != current). */
	if (option != XK_ARCH_SHSTK_ENABLE && option != XK_ARCH_SHSTK_DISABLE)
		return -EINVAL;
	if (arg2 & sp->shstk_locked)
		return -EPERM;
	if (__builtin_popcountll(arg2) > 1)
		return -EINVAL;
	if (!(arg2 & (XK_ARCH_SHSTK_SHSTK | XK_ARCH_SHSTK_WRSS)))
		return -EINVAL;
	if (!xk_shstk_supported(k))
		return -EOPNOTSUPP;
	if (option == XK_ARCH_SHSTK_DISABLE)
		return arg2 & XK_ARCH_SHSTK_WRSS ? wrss_control(k, c, t, sp, false)
						 : shstk_disable(k, c, t, sp);
	return arg2 & XK_ARCH_SHSTK_SHSTK ? shstk_setup(k, c, t, sp)
					  : wrss_control(k, c, t, sp, true);
}

static int regset_done(struct xk_kernel *k, struct xk_task *t, bool set, size_t bytes, int rc)
{
	XK_TRACE(k, .type = XK_EV_REGSET, .cpu = -1, .task = t, .reg = XK_NT_X86_SHSTK,
		 .value = set, .bytes = (uint32_t)bytes, .si_code = rc);
	return rc;
}

/* ssp_get() / ssp_set() (arch/x86/kernel/fpu/regset.c). */
int xk_shstk_regset(struct xk_kernel *k, struct xk_task *t, bool set, void *buf, size_t *len)
{
	struct xk_fpstate *fps;
	uint32_t off;
	uint64_t ssp;
	size_t count = len ? *len : 0;

	/* ptrace_check_attach() first, as for every regset (regset.c): a
	 * vCPU thread inside KVM_RUN is not stopped, and its active fpstate
	 * is the guest's (the explorer found the WARN below reached that way). */
	if (!t || !xk_ptrace_stopped(t))
		return regset_done(k, t, set, 0, -ESRCH);
	/* ptrace_regset() (kernel/ptrace.c), before the regset's own code:
	 * iov_len a multiple of the regset's size (8) or -EINVAL, then clamped
	 * to n * size = 8 -- a 16-byte SET writes user_ssp like an 8-byte one. */
	if (count % sizeof(ssp))
		return regset_done(k, t, set, 0, -EINVAL);
	if (count > sizeof(ssp))
		count = sizeof(ssp);
	/* ssp_active(): the regset exists only while shadow stacks are on. */
	if (!xk_shstk_supported(k) || !(xk_shstk_features(t) & XK_ARCH_SHSTK_SHSTK))
		return regset_done(k, t, set, 0, -ENODEV);
	if (set && count != sizeof(ssp))
		return regset_done(k, t, set, 0, -EINVAL);
	if (set) {
		memcpy(&ssp, buf, sizeof(ssp));
		/* "Some kernel instructions (IRET, etc) can cause exceptions in
		 * the case of disallowed CET register values." Mutant: no check. */
		if (!xk_mutant(k, XK_MUT_SHSTK_SET_UNCHECKED) &&
		    (ssp >= XK_TASK_SIZE_MAX || (ssp & 7)))
			return regset_done(k, t, set, 0, -EINVAL);
	}
	/* sync_fpstate() is a no-op: a stopped tracee's buffer is current.
	 * get_xsave_addr(): no address while the component is in its init
	 * state -- impossible with SHSTK_EN set, hence Linux's WARN_ON. */
	fps = t->fpu.fpstate;
	off = xk_comp_offset(k, fps, XS_C_CET_U);
	if (!off || !(xk_fpstate_xstate_bv(fps) & XS_BIT(XS_C_CET_U))) {
		xk_warn(k, -1, "NT_X86_SHSTK: CET_USER is in its initial state", XK_I_NONE, XS_OK);
		return regset_done(k, t, set, 0, -ENODEV);
	}
	if (!set) {
		memcpy(&ssp, fps->regs + off + 8, sizeof(ssp));
		memcpy(buf, &ssp, count);
		if (len)
			*len = count;
		return regset_done(k, t, set, count, 0);
	}
	/* fpu_force_restore(): the tracee reloads at its next return. */
	t->fpu.last_cpu = -1;
	memcpy(fps->regs + off + 8, &ssp, sizeof(ssp));
	*len = count; /* ptrace writes the clamped iov_len back on success */
	return regset_done(k, t, set, sizeof(ssp), 0);
}

/* shstk_alloc_thread_stack() + update_fpu_shstk(): a thread (CLONE_VM
 * without CLONE_VFORK) gets a shadow stack of its own and its buffer's
 * user_ssp points at the top; fork keeps the parent's (copied mm); vfork
 * shares it. thread.features are copied with the thread struct. */
void xk_cet_clone(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *parent,
		  struct xk_task *child, unsigned flags)
{
	struct xk_special *psp = parent->special, *csp;
	struct xk_fpstate *fps = child->fpu.fpstate;
	uint32_t off;
	uint64_t ssp;

	if (!psp || !(psp->shstk_features & XK_ARCH_SHSTK_SHSTK))
		return;
	csp = xk_special_get(k, child);
	if (!csp)
		return;
	csp->shstk_features = psp->shstk_features;
	csp->shstk_locked = psp->shstk_locked;
	if (flags & XK_CLONE_VFORK)
		return; /* shares the parent's: base/size stay 0, nothing to free */
	csp->shstk_base = XK_SHSTK_TOP - (uint64_t)child->tid * 2 * XK_SHSTK_SIZE;
	csp->shstk_size = XK_SHSTK_SIZE;
	if (!(flags & XK_CLONE_VM)) {
		/* The copied mm has the parent's shadow stack at the same place. */
		csp->shstk_base = psp->shstk_base;
		return;
	}
	ssp = csp->shstk_base + csp->shstk_size;
	off = xk_comp_offset(k, fps, XS_C_CET_U);
	if (!off || !(xk_fpstate_xstate_bv(fps) & XS_BIT(XS_C_CET_U))) {
		xk_warn(k, (int)c->id, "clone: CET_USER not in the child's buffer", XK_I_NONE, XS_OK);
		return;
	}
	memcpy(fps->regs + off + 8, &ssp, sizeof(ssp));
}

/* exec: the old mm and its shadow stack are gone (the buffer reset made
 * CET_U init); reset_thread_features(). */
void xk_cet_exec(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_special *sp = t->special;

	(void)k;
	if (!sp)
		return;
	sp->shstk_features = sp->shstk_locked = 0;
	sp->shstk_base = sp->shstk_size = 0;
}

/* ---- cet-s=independent: the guest CET_S of a vCPU thread ---- */

struct xk_indep_buf *xk_cet_s_guest_buf(const struct xk_task *t)
{
	return t && t->special ? t->special->cet_s : NULL;
}

int xk_cet_s_vcpu_create(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_special *sp;

	if (k->policy.cet_s != XK_CET_S_INDEPENDENT ||
	    !(k->kcfg.independent_features & XS_BIT(XS_C_CET_S)))
		return 0;
	if (!(sp = xk_special_get(k, t)))
		return -ENOMEM;
	/* A new vCPU starts from the initial state, never a destroyed one's. */
	xk_indep_free(k, sp->cet_s);
	sp->cet_s = xk_indep_alloc(k, t, XS_BIT(XS_C_CET_S));
	return sp->cet_s ? 0 : -ENOMEM;
}

void xk_cet_s_vcpu_destroy(struct xk_kernel *k, struct xk_task *t)
{
	if (t && t->special) {
		xk_indep_free(k, t->special->cet_s);
		t->special->cet_s = NULL;
	}
}

/* The vCPU's buffer: KVM_CREATE_VCPU allocated it (a switch cannot fail,
 * so it never allocates; the explorer found the WARN of an allocation that
 * failed here when the switch-in allocated it). */
static struct xk_indep_buf *cet_s_buf(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	struct xk_indep_buf *b = xk_cet_s_guest_buf(t);

	if (!(k->kcfg.independent_features & XS_BIT(XS_C_CET_S)))
		return NULL;
	if (!b)
		xk_warn(k, (int)c->id, "cet-s=independent: no buffer for the vCPU's CET_S", XK_I_NONE,
			XS_OK);
	return b;
}

/* The switch away from a vCPU thread: save its guest's CET_S, then put the
 * initial state in the registers. */
void xk_cet_s_sched_out(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev)
{
	struct xk_indep_buf *b = cet_s_buf(k, c, prev);
	uint64_t bv = 0;

	if (!b)
		return;
	if (xk_xsaves_indep(k, c->id, b, XS_BIT(XS_C_CET_S), "vCPU CET_S sched-out"))
		return;
	/* XRSTORS with XSTATE_BV[12] = 0 initializes CET_S; the header is
	 * patched around it so the saved image stays. */
	memcpy(&bv, b->regs + XS_HDR_OFFSET, sizeof(bv));
	{
		uint64_t zero = 0;

		memcpy(b->regs + XS_HDR_OFFSET, &zero, sizeof(zero));
		xk_xrstors_indep(k, c->id, b, XS_BIT(XS_C_CET_S), "vCPU CET_S: host gets init");
		memcpy(b->regs + XS_HDR_OFFSET, &bv, sizeof(bv));
	}
}

/* The switch to a vCPU thread: its guest's CET_S (init the first time). */
void xk_cet_s_sched_in(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *next)
{
	struct xk_indep_buf *b = cet_s_buf(k, c, next);

	if (b)
		xk_xrstors_indep(k, c->id, b, XS_BIT(XS_C_CET_S), "vCPU CET_S sched-in");
}
