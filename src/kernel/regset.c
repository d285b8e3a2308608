/* ptrace regsets NT_PRFPREG and NT_X86_XSTATE, and the UABI copy helpers
 * behind them (and behind KVM_GET/SET_XSAVE2 and PKRU, later issues).
 *
 * arch/x86/kernel/fpu/regset.c: xfpregs_get/set(), xstateregs_get/set(),
 * sync_fpstate(), fpu_force_restore(); arch/x86/kernel/fpu/xstate.c:
 * __copy_xstate_to_uabi_buf(), copy_uabi_to_xstate(),
 * validate_user_xstate_header(); kernel/ptrace.c: ptrace_regset();
 * linux-design.md 6.
 *
 * The UABI format is always the standard one: the kernel buffer (compacted
 * when the boot chose XSAVEC/XSAVES) is converted component by component,
 * each at the address the buffer's own XCOMP_BV gives, each at its CPUID
 * standard offset in the UABI image. Every extended component's init
 * state is all zeros (checked at boot), so absent components are zero.
 */
#include <errno.h>
#include <stdlib.h>

#include "kernel/abi_internal.h"
#include "xstate/kernel_special.h" /* NT_X86_SHSTK (special states) */

#define MXCSR_OFF 24u
#define ST_OFF 32u
#define XMM_OFF 160u
#define PAD_OFF 416u

/* struct membuf: a bounded sequential writer. */
struct membuf {
	uint8_t *p;
	size_t left;
};

static void mb_write(struct membuf *m, const void *src, size_t n)
{
	if (n > m->left)
		n = m->left;
	memcpy(m->p, src, n);
	m->p += n;
	m->left -= n;
}

static void mb_zero(struct membuf *m, size_t n)
{
	if (n > m->left)
		n = m->left;
	memset(m->p, 0, n);
	m->p += n;
	m->left -= n;
}

/* The extended features of mask in standard-offset order
 * (xfeature_uncompact_order[]: APX at 960 sorts below later features). */
static unsigned uncompact_order(const struct xk_kernel *k, uint64_t mask, unsigned *order)
{
	unsigned n = 0;

	for (uint64_t rest = mask & ~XS_MASK_FPSSE & ~XS_COMPACTED_BIT; rest; rest &= rest - 1) {
		unsigned i = (unsigned)__builtin_ctzll(rest), j = n++;

		while (j > 0 && k->xf[order[j - 1]].offset > k->xf[i].offset) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	return n;
}

void xk_copy_xstate_to_uabi(const struct xk_kernel *k, const struct xk_fpstate *fps,
			    uint64_t xfeatures, uint32_t pkru, enum xk_copy_mode mode, void *buf,
			    size_t len)
{
	const uint8_t *xs = fps->regs, *xinit = k->init_fpstate->regs;
	struct membuf to = { buf, len };
	uint64_t hdr = xk_fpstate_xstate_bv(fps);
	uint8_t header[XS_HDR_SIZE], sw[XK_SW_SIZE];
	unsigned order[64], n, zerofrom;

	switch (mode) {
	case XK_COPY_FP:
		hdr &= XS_BIT(XS_C_X87);
		break;
	case XK_COPY_FX:
		hdr &= XS_MASK_FPSSE;
		break;
	case XK_COPY_XSAVE:
		hdr &= fps->user_xfeatures & xfeatures;
		break;
	}
	/* FP up to MXCSR; MXCSR + MXCSR_MASK when SSE or YMM; ST0-7; XMM. */
	mb_write(&to, (hdr & XS_BIT(XS_C_X87)) ? xs : xinit, MXCSR_OFF);
	mb_write(&to, (hdr & (XS_BIT(XS_C_SSE) | XS_BIT(XS_C_AVX))) ? xs + MXCSR_OFF
								       : xinit + MXCSR_OFF, 8);
	mb_write(&to, ((hdr & XS_BIT(XS_C_X87)) ? xs : xinit) + ST_OFF, XMM_OFF - ST_OFF);
	mb_write(&to, ((hdr & XS_BIT(XS_C_SSE)) ? xs : xinit) + XMM_OFF, PAD_OFF - XMM_OFF);
	if (mode != XK_COPY_XSAVE)
		goto out;

	mb_zero(&to, XK_SW_OFF - PAD_OFF);
	/* xstate_fx_sw_bytes[]: word 0 = XCR0 (update_regset_xstate_info),
	 * not the signal frame's magic format. */
	memset(sw, 0, sizeof(sw));
	abi_st64(sw, k->ucfg.max_features);
	mb_write(&to, sw, sizeof(sw));
	memset(header, 0, sizeof(header));
	abi_st64(header, hdr);
	mb_write(&to, header, sizeof(header));

	zerofrom = XS_EXT_OFFSET;
	n = uncompact_order(k, hdr, order);
	for (unsigned j = 0; j < n; j++) {
		unsigned i = order[j];
		uint32_t off = k->xf[i].offset, size = k->xf[i].size;

		if (zerofrom < off)
			mb_zero(&to, off - zerofrom);
		if (i == XS_C_PKRU) {
			uint8_t v[8] = { 0 };

			/* The buffer's PKRU may be stale: thread.pkru is the truth. */
			abi_st32(v, pkru);
			mb_write(&to, v, sizeof(v) < size ? sizeof(v) : size);
			if (size > sizeof(v))
				mb_zero(&to, size - sizeof(v));
		} else {
			uint32_t from = xk_comp_offset(k, fps, i);

			if (from)
				mb_write(&to, xs + from, size);
			else
				mb_zero(&to, size);
		}
		zerofrom = off + size;
	}
out:
	mb_zero(&to, to.left);
}

/* validate_user_xstate_header(). */
static int validate_user_xstate_header(const uint8_t *h, const struct xk_fpstate *fps)
{
	if (abi_ld64(h) & ~fps->user_xfeatures)
		return -EINVAL; /* unknown, supervisor, or not yet allocated (AMX) */
	if (abi_ld64(h + 8))
		return -EINVAL; /* userspace uses the standard format */
	for (unsigned b = 16; b < XS_HDR_SIZE; b++)
		if (h[b])
			return -EINVAL; /* reserved */
	return 0;
}

/* xstate_offsets[]/xstate_sizes[] of the UABI image, legacy included. */
static void uabi_slot(const struct xk_kernel *k, unsigned i, uint32_t *off, uint32_t *size)
{
	if (i == XS_C_X87) {
		*off = 0;
		*size = XMM_OFF; /* bytes 0-159: FCW ... MXCSR, MXCSR_MASK, ST0-7 */
	} else if (i == XS_C_SSE) {
		*off = XMM_OFF;
		*size = PAD_OFF - XMM_OFF;
	} else {
		*off = k->xf[i].offset;
		*size = k->xf[i].size;
	}
}

int xk_copy_uabi_to_xstate(const struct xk_kernel *k, struct xk_fpstate *fps, const void *buf,
			   size_t len, uint32_t *pkru)
{
	const uint8_t *src = buf;
	uint64_t xfeatures, bv;
	uint32_t mxcsr[2] = { 0, 0 }, off, size;
	int ret;

	if (len < XS_EXT_OFFSET)
		return -EFAULT;
	ret = validate_user_xstate_header(src + XS_HDR_OFFSET, fps);
	if (ret)
		return ret;
	xfeatures = abi_ld64(src + XS_HDR_OFFSET);
	if (xfeatures & (XS_MASK_FPSSE | XS_BIT(XS_C_AVX))) {
		mxcsr[0] = abi_ld32(src + MXCSR_OFF);
		mxcsr[1] = abi_ld32(src + MXCSR_OFF + 4);
		/* Mutant ptrace-mxcsr-unchecked (checker issue) skips it;
		 * ptrace-partial-write does it after the copy (below). */
		if ((mxcsr[0] & ~k->mxcsr_feature_mask) &&
		    !xk_mutant(k, XK_MUT_PTRACE_MXCSR_UNCHECKED) &&
		    !xk_mutant(k, XK_MUT_PTRACE_PARTIAL_WRITE))
			return -EINVAL; /* reserved MXCSR bits */
	}
	/* Every source byte must be there before anything changes (a kernel
	 * buffer in Linux is always large enough; a short one is -EFAULT). */
	for (uint64_t rest = xfeatures; rest; rest &= rest - 1) {
		uabi_slot(k, (unsigned)__builtin_ctzll(rest), &off, &size);
		if ((size_t)off + size > len)
			return -EFAULT;
	}
	/* SSE and YMM need MXCSR even without FP (whose chunk carries it). */
	if ((xfeatures & (XS_MASK_FPSSE | XS_BIT(XS_C_AVX))) && !(xfeatures & XS_BIT(XS_C_X87))) {
		abi_st32(fps->regs + MXCSR_OFF, mxcsr[0]);
		abi_st32(fps->regs + MXCSR_OFF + 4, mxcsr[1]);
	}
	for (uint64_t rest = xfeatures; rest; rest &= rest - 1) {
		unsigned i = (unsigned)__builtin_ctzll(rest);
		uint32_t dst = xk_comp_offset(k, fps, i);

		uabi_slot(k, i, &off, &size);
		if (i < 2 || dst)
			memcpy(fps->regs + (i < 2 ? off : dst), src + off, size);
	}
	if (xk_mutant(k, XK_MUT_PTRACE_PARTIAL_WRITE) && (mxcsr[0] & ~k->mxcsr_feature_mask))
		return -EINVAL; /* too late: the components are in */
	if (pkru) {
		if (xfeatures & XS_BIT(XS_C_PKRU))
			*pkru = abi_ld32(src + k->xf[XS_C_PKRU].offset);
		else
			*pkru = 0; /* what XRSTOR would load for an init PKRU */
	}
	/* User bits from the image; supervisor bits stay as they were (not
	 * with mutant uabi-drops-supervisor, checker issue). */
	bv = xk_mutant(k, XK_MUT_UABI_DROPS_SUPERVISOR)
		     ? xfeatures
		     : (xk_fpstate_xstate_bv(fps) & XK_MASK_SUPERVISOR_ALL) | xfeatures;
	abi_st64(fps->regs + XS_HDR_OFFSET, bv);
	return 0;
}

uint32_t xk_regset_size(const struct xk_kernel *k, unsigned type)
{
	switch (type) {
	case XK_NT_PRFPREG:
		return XS_LEGACY_SIZE;
	case XK_NT_X86_XSTATE:
		return k->ucfg.max_size;
	case XK_NT_X86_SHSTK: /* special states (cet.c): user_ssp */
		return xk_shstk_supported(k) ? 8 : 0;
	default:
		return 0;
	}
}

const char *xk_regset_name(unsigned type)
{
	switch (type) {
	case XK_NT_PRFPREG:
		return "NT_PRFPREG";
	case XK_NT_X86_XSTATE:
		return "NT_X86_XSTATE";
	case XK_NT_X86_SHSTK:
		return "NT_X86_SHSTK";
	default:
		return "unknown";
	}
}

/* fpu_force_restore(): the stopped tracee reloads at its next exit.
 * Mutant ptrace-no-reload (checker issue) forgets it. */
static void fpu_force_restore(const struct xk_kernel *k, struct xk_task *t)
{
	if (!xk_mutant(k, XK_MUT_PTRACE_NO_RELOAD))
		t->fpu.last_cpu = -1;
}

/* xfpregs_set(). */
static int xfpregs_set(struct xk_kernel *k, struct xk_task *t, const uint8_t *buf, size_t count)
{
	struct xk_fpstate *fps = t->fpu.fpstate;

	if (count != XS_LEGACY_SIZE)
		return -EINVAL; /* "no funny business with partial or oversized writes" */
	if ((abi_ld32(buf + MXCSR_OFF) & ~k->mxcsr_feature_mask) &&
	    !xk_mutant(k, XK_MUT_PTRACE_MXCSR_UNCHECKED))
		return -EINVAL;
	fpu_force_restore(k, t);
	memcpy(fps->regs, buf, XS_LEGACY_SIZE);
	abi_st64(fps->regs + XS_HDR_OFFSET, xk_fpstate_xstate_bv(fps) | XS_MASK_FPSSE);
	return 0;
}

/* xstateregs_set(). */
static int xstateregs_set(struct xk_kernel *k, struct xk_task *t, const uint8_t *buf,
			  size_t count)
{
	if (count != k->ucfg.max_size)
		return -EFAULT; /* a whole standard-format buffer is needed */
	fpu_force_restore(k, t);
	return xk_copy_uabi_to_xstate(k, t->fpu.fpstate, buf, count, &t->thread.pkru);
}

int xk_ptrace_regset(struct xk_kernel *k, struct xk_task *target, bool set, unsigned type,
		     void *iov, size_t *iov_len)
{
	uint32_t size = xk_regset_size(k, type);
	size_t n;
	int ret;

	/* Special states: NT_X86_SHSTK has its own rules (cet.c ssp_get/ssp_set).
	 * A kernel built without user shadow stacks has no such regset:
	 * find_regset() fails, ptrace_regset() returns -EINVAL (below). */
	if (type == XK_NT_X86_SHSTK && !k->policy.no_user_shstk)
		return xk_shstk_regset(k, target, set, iov, iov_len);
	/* sys_ptrace() runs ptrace_check_attach() before arch_ptrace() gets
	 * to the regset: -ESRCH comes before any -EINVAL. (Checker issue,
	 * helper I: the explorer found a write landing in the guest buffer of
	 * a vCPU thread preempted inside KVM_RUN.) */
	if (!target || !xk_ptrace_stopped(target))
		ret = -ESRCH;
	else if (!size || !iov_len || (*iov_len % 8) != 0)
		ret = -EINVAL; /* ptrace_regset(): no such regset, or iov_len % size */
	else
		ret = 0;
	if (ret)
		goto out;
	n = *iov_len < size ? *iov_len : size;
	*iov_len = n;
	/* A stopped tracee's registers were saved when it was switched out
	 * (sync_fpstate() only matters for current, i.e. core dumps). */
	if (!set) {
		xk_copy_xstate_to_uabi(k, target->fpu.fpstate, target->fpu.fpstate->user_xfeatures,
				       target->thread.pkru,
				       type == XK_NT_PRFPREG ? XK_COPY_FX : XK_COPY_XSAVE, iov, n);
	} else if (type == XK_NT_PRFPREG) {
		ret = xfpregs_set(k, target, iov, n);
	} else {
		ret = xstateregs_set(k, target, iov, n);
	}
out:
	XK_TRACE(k, .type = XK_EV_REGSET, .cpu = -1, .task = target, .reg = type,
		 .value = set, .bytes = iov_len ? (uint32_t)*iov_len : 0, .si_code = ret,
		 .why = set ? "PTRACE_SETREGSET" : "PTRACE_GETREGSET");
	return ret;
}
