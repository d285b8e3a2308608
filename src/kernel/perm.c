/* Permissions for dynamic features (arch_prctl ARCH_*_XCOMP_*) and the
 * sigaltstack sizing rules that go with them.
 *
 * arch/x86/kernel/fpu/xstate.c: fpu_xstate_prctl(), xstate_request_perm(),
 * __xstate_request_perm(), validate_sigaltstack(); arch/x86/kernel/signal.c:
 * sigaltstack_size_valid(); kernel/signal.c: do_sigaltstack(),
 * on_sig_stack(), sas_ss_flags(); linux-design.md 4.1, 4.2.
 *
 * Permissions live in the thread-group leader's struct fpu (perm and
 * guest_perm), only grow, are inherited by fork and reset by exec
 * (process.c). Linux takes sighand->siglock around the check-and-store;
 * every call here is one uninterruptible step of the simulator.
 */
#include <errno.h>

#include "kernel/abi_internal.h"
#include "xstate/kernel_fsgs.h" /* FS/GS issue: ARCH_SET/GET_FS/GS */

/* xstate_prctl_req[]: facility index -> the components it needs. Only AMX
 * has one (XTILEDATA; XTILECFG is a static feature). */
static uint64_t xstate_prctl_req(unsigned long idx)
{
	return idx == XK_ARCH_XCOMP_TILEDATA ? XS_BIT(XS_C_XTILEDATA) : 0;
}

static struct xk_perm *group_perm(struct xk_task *t, bool guest)
{
	struct xk_task *leader = t && t->proc ? t->proc->leader : NULL;

	if (!leader)
		return NULL;
	return guest ? &leader->fpu.guest_perm : &leader->fpu.perm;
}

uint64_t xk_xcomp_perm(const struct xk_task *t, bool guest)
{
	struct xk_perm *p = group_perm((struct xk_task *)t, guest);

	/* GET hides supervisor bits and FPU_GUEST_PERM_LOCKED. */
	return p ? p->state_perm & XK_MASK_USER_SUPPORTED : 0;
}

/* fpu__get_fpstate_size(): the default (= maximum) fpstate part of a frame. */
static uint32_t fpstate_frame_size(const struct xk_kernel *k, bool ia32)
{
	return k->ucfg.max_size + XK_FP_XSTATE_MAGIC2_SIZE + (ia32 ? XK_FSAVE_HEADER_SIZE : 0);
}

uint32_t xk_perm_frame_size(const struct xk_kernel *k, uint32_t usize)
{
	/* validate_sigaltstack(): get_sigframe_size() is based on user.max_size. */
	return xk_sigframe_max_size(k, XK_CONFIG_IA32_EMULATION) - k->ucfg.max_size + usize;
}

/* validate_sigaltstack(): every thread of the group must have no altstack
 * or one that holds the larger frame. Note "<": a stack of exactly the
 * frame size passes here but is refused by sigaltstack() (">"). */
static int validate_sigaltstack(const struct xk_kernel *k, struct xk_task *t, uint32_t usize)
{
	uint64_t framesize = xk_perm_frame_size(k, usize);

	for (struct xk_task *th = t->proc->threads; th; th = th->group_next)
		if (th->sig.sas_ss_size && th->sig.sas_ss_size < framesize)
			return -ENOSPC;
	return 0;
}

static void trace_perm(struct xk_kernel *k, struct xk_task *t, int option, uint64_t req,
		       uint64_t perm, uint32_t usize, int ret, const char *why)
{
	XK_TRACE(k, .type = XK_EV_PERM, .cpu = t->on_cpu, .task = t, .reg = (uint32_t)option,
		 .mask = req, .value = perm, .bytes = usize, .si_code = ret, .why = why);
}

/* xstate_request_perm() + __xstate_request_perm(). */
static int request_perm(struct xk_kernel *k, struct xk_task *t, int option, unsigned long idx,
			bool guest)
{
	uint64_t requested, permitted, mask;
	struct xk_perm *perm;
	uint32_t ksize, usize;
	int ret;

	if (idx >= XS_NAMED_COMPS) { /* XFEATURE_MAX */
		ret = -EINVAL;
		trace_perm(k, t, option, 0, 0, 0, ret, "feature index out of range");
		return ret;
	}
	requested = xstate_prctl_req(idx);
	if (!requested) {
		ret = -EOPNOTSUPP;
		trace_perm(k, t, option, 0, 0, 0, ret, "not a permission-controlled feature");
		return ret;
	}
	if ((k->ucfg.max_features & requested) != requested) {
		ret = -EOPNOTSUPP;
		trace_perm(k, t, option, requested, 0, 0, ret, "feature not enabled on this machine");
		return ret;
	}
	perm = group_perm(t, guest);
	permitted = perm->state_perm;
	if ((permitted & requested) == requested) {
		trace_perm(k, t, option, requested, permitted, perm->user_state_size, 0,
			   "already permitted");
		return 0;
	}
	/* spin_lock_irq(&current->sighand->siglock); re-read. */
	if (guest && (permitted & XK_GUEST_PERM_LOCKED)) {
		ret = -EBUSY;
		trace_perm(k, t, option, requested, permitted, 0, ret,
			   "guest permissions locked by the first vCPU");
		return ret;
	}
	/* permitted carries the supervisor features: keep them in the
	 * kernel size, leave them out of the user size. */
	mask = permitted | requested;
	ksize = xk_calc_size(k, mask & ~XK_GUEST_PERM_LOCKED, k->compacted);
	usize = abi_user_size(k, mask);
	if (!guest) {
		ret = validate_sigaltstack(k, t, usize);
		if (ret) {
			trace_perm(k, t, option, requested, permitted, usize, ret,
				   "a thread's sigaltstack is too small for the larger frame");
			return ret;
		}
	}
	perm->state_perm = mask;
	perm->state_size = ksize;
	perm->user_state_size = usize;
	trace_perm(k, t, option, requested, mask, usize, 0, "granted for the process");
	return 0;
}

static long put_user_u64(struct xk_umem *mm, uint64_t addr, uint64_t v)
{
	return xk_copy_to_user(mm, addr, &v, sizeof(v));
}

long xk_arch_prctl(struct xk_kernel *k, struct xk_task *t, struct xk_umem *mm, int option,
		   uint64_t arg2)
{
	if (!xk_user_task(t) || !t->proc || (t->flags & (XK_TF_EXITING | XK_TF_DEAD)))
		return -EINVAL;

	switch (option) {
	case XK_ARCH_GET_XCOMP_SUPP:
		return put_user_u64(mm, arg2, k->ucfg.max_features | k->ucfg.legacy_features);
	case XK_ARCH_GET_XCOMP_PERM:
		return put_user_u64(mm, arg2, xk_xcomp_perm(t, false));
	case XK_ARCH_GET_XCOMP_GUEST_PERM:
		return put_user_u64(mm, arg2, xk_xcomp_perm(t, true));
	case XK_ARCH_REQ_XCOMP_GUEST_PERM:
		return request_perm(k, t, option, (unsigned long)arg2, true);
	case XK_ARCH_REQ_XCOMP_PERM:
		return request_perm(k, t, option, (unsigned long)arg2, false);
	case XK_ARCH_REQ_XCOMP_PREALLOC:
		if (k->policy.xfd_prealloc)
			return xk_abi_prealloc(k, t, (unsigned long)arg2);
		return -EINVAL;
	/* FS/GS issue: do_arch_prctl_64() (fsgs.c); GET stores the base. */
	case XK_ARCH_SET_FS:
	case XK_ARCH_SET_GS:
		return xk_fsgs_arch_prctl(k, t, option, arg2, NULL);
	case XK_ARCH_GET_FS:
	case XK_ARCH_GET_GS: {
		uint64_t base = 0;
		long r = xk_fsgs_arch_prctl(k, t, option, 0, &base);

		return r ? r : put_user_u64(mm, arg2, base);
	}
	default:
		return -EINVAL;
	}
}

const char *xk_arch_prctl_name(int option)
{
	switch (option) {
	case XK_ARCH_GET_XCOMP_SUPP:
		return "ARCH_GET_XCOMP_SUPP";
	case XK_ARCH_GET_XCOMP_PERM:
		return "ARCH_GET_XCOMP_PERM";
	case XK_ARCH_REQ_XCOMP_PERM:
		return "ARCH_REQ_XCOMP_PERM";
	case XK_ARCH_GET_XCOMP_GUEST_PERM:
		return "ARCH_GET_XCOMP_GUEST_PERM";
	case XK_ARCH_REQ_XCOMP_GUEST_PERM:
		return "ARCH_REQ_XCOMP_GUEST_PERM";
	case XK_ARCH_REQ_XCOMP_PREALLOC:
		return "ARCH_REQ_XCOMP_PREALLOC";
	case XK_ARCH_SET_FS: /* FS/GS issue (kernel_fsgs.h) */
		return "ARCH_SET_FS";
	case XK_ARCH_SET_GS:
		return "ARCH_SET_GS";
	case XK_ARCH_GET_FS:
		return "ARCH_GET_FS";
	case XK_ARCH_GET_GS:
		return "ARCH_GET_GS";
	default:
		return "unknown";
	}
}

/* ---- sigaltstack ---- */

/* __on_sig_stack(): the stack grows down, so sp == ss_sp is outside. */
static bool on_sig_stack_raw(const struct xk_task *t, uint64_t sp)
{
	return sp > t->sig.sas_ss_sp && sp - t->sig.sas_ss_sp <= t->sig.sas_ss_size;
}

bool xk_on_sig_stack(const struct xk_task *t, uint64_t sp)
{
	/* SS_AUTODISARM: "on the stack" is never reported (include/linux/sched/signal.h). */
	if (t->sig.sas_ss_flags & XK_SS_AUTODISARM)
		return false;
	return on_sig_stack_raw(t, sp);
}

static uint32_t sas_ss_flags(const struct xk_task *t, uint64_t sp)
{
	if (!t->sig.sas_ss_size)
		return XK_SS_DISABLE;
	return xk_on_sig_stack(t, sp) ? XK_SS_ONSTACK : 0;
}

/* sigaltstack_size_valid(): with dynamic features, a stack that cannot
 * hold the frame of the group's permitted features is refused once the
 * permission includes a dynamic feature (before that, legacy leniency).
 * fsize leaves out the MAGIC2 and fsave-header bytes that the permission
 * check (validate_sigaltstack) includes: Linux's own asymmetry. */
static uint64_t sigaltstack_fsize(const struct xk_kernel *k, const struct xk_task *t)
{
	const struct xk_perm *p = &t->proc->leader->fpu.perm;

	return (uint64_t)xk_sigframe_max_size(k, XK_CONFIG_IA32_EMULATION) -
	       fpstate_frame_size(k, XK_CONFIG_IA32_EMULATION) + p->user_state_size;
}

static bool sigaltstack_enforced(const struct xk_kernel *k, const struct xk_task *t)
{
	/* No strict_sas_size (CONFIG_STRICT_SIGALTSTACK_SIZE=n, the default). */
	if (!k->dynamic)
		return false;
	return (t->proc->leader->fpu.perm.state_perm & XK_MASK_USER_DYNAMIC) != 0;
}

static bool sigaltstack_size_valid(const struct xk_kernel *k, const struct xk_task *t,
				   uint64_t ss_size)
{
	if (!sigaltstack_enforced(k, t))
		return true;
	return ss_size > sigaltstack_fsize(k, t);
}

uint64_t xk_sigaltstack_min(const struct xk_kernel *k, const struct xk_task *t)
{
	uint64_t min = XK_MINSIGSTKSZ;

	if (xk_user_task(t) && t->proc && sigaltstack_enforced(k, t) &&
	    sigaltstack_fsize(k, t) + 1 > min)
		min = sigaltstack_fsize(k, t) + 1;
	return min;
}

int xk_sigaltstack(struct xk_kernel *k, struct xk_task *t, uint64_t cur_sp,
		   const struct xk_stack *ss, struct xk_stack *oss)
{
	uint64_t sp, size;
	uint32_t mode;

	if (!xk_user_task(t) || !t->proc)
		return -EINVAL;
	if (oss) {
		oss->sp = t->sig.sas_ss_sp;
		oss->size = t->sig.sas_ss_size;
		oss->flags = sas_ss_flags(t, cur_sp) | (t->sig.sas_ss_flags & XK_SS_FLAG_BITS);
	}
	if (!ss)
		return 0;
	if (xk_on_sig_stack(t, cur_sp))
		return -EPERM;
	mode = ss->flags & ~XK_SS_FLAG_BITS;
	if (mode != XK_SS_DISABLE && mode != XK_SS_ONSTACK && mode != 0)
		return -EINVAL;
	/* No change requested: done before any size check. */
	if (t->sig.sas_ss_sp == ss->sp && t->sig.sas_ss_size == ss->size &&
	    t->sig.sas_ss_flags == ss->flags)
		return 0;
	sp = ss->sp;
	size = ss->size;
	if (mode == XK_SS_DISABLE) {
		sp = 0;
		size = 0;
	} else if (size < XK_MINSIGSTKSZ || !sigaltstack_size_valid(k, t, size)) {
		return -ENOMEM;
	}
	t->sig.sas_ss_sp = sp;
	t->sig.sas_ss_size = size;
	t->sig.sas_ss_flags = ss->flags;
	return 0;
}
