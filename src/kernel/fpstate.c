/* xstate buffers: allocation with memory accounting, reset to the
 * defaults, and the init image (arch/x86/kernel/fpu/core.c fpstate_reset(),
 * xstate.c setup_init_fpu_buf()). */
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"

static size_t fpstate_alloc_bytes(uint32_t size)
{
	return (sizeof(struct xk_fpstate) + size + 63) & ~(size_t)63;
}

static struct xk_fpstate *fpstate_raw(uint32_t size)
{
	size_t bytes = fpstate_alloc_bytes(size);
	struct xk_fpstate *fps = aligned_alloc(64, bytes);

	if (fps)
		memset(fps, 0, bytes); /* vzalloc() */
	return fps;
}

/* Zeroed, 64-byte aligned memory for an xstate buffer of size bytes whose
 * struct is head bytes, counted against t; NULL (traced, counted as a
 * failure) when the allocation fails or the alloc_fail hook vetoes it.
 * Every xstate buffer (task, guest, independent) comes from here. */
void *xk_xstate_alloc(struct xk_kernel *k, struct xk_task *t, size_t head, uint32_t size,
		      const char *why)
{
	size_t bytes = (head + size + 63) & ~(size_t)63;
	void *p = NULL;

	if (!k->alloc_fail || !k->alloc_fail(k->alloc_ctx, t, size))
		p = aligned_alloc(64, bytes);
	if (!p) {
		k->mem.failures++;
		XK_TRACE(k, .type = XK_EV_ALLOC, .cpu = -1, .fault = XS_PF, .bytes = size, .task = t,
			 .why = why ? why : "allocation failed");
		return NULL;
	}
	memset(p, 0, bytes); /* vzalloc() */
	k->mem.allocs++;
	k->mem.bytes += size;
	if (k->mem.bytes > k->mem.peak)
		k->mem.peak = k->mem.bytes;
	if (t)
		t->xstate_bytes += size;
	XK_TRACE(k, .type = XK_EV_ALLOC, .cpu = -1, .bytes = size, .task = t, .why = why);
	return p;
}

void xk_xstate_free(struct xk_kernel *k, struct xk_task *t, void *p, uint32_t size)
{
	if (!p)
		return;
	k->mem.frees++;
	k->mem.bytes -= size;
	if (t)
		t->xstate_bytes -= size;
	XK_TRACE(k, .type = XK_EV_FREE, .cpu = -1, .bytes = size, .task = t);
	free(p);
}

/* Allocate a buffer of size bytes for t (Linux: the default buffer is part
 * of task_struct, grown ones are vzalloc'ed; both count here). The
 * alloc_fail hook can veto it, as a scenario knob. */
struct xk_fpstate *xk_fpstate_alloc(struct xk_kernel *k, struct xk_task *t, uint32_t size)
{
	struct xk_fpstate *fps = xk_xstate_alloc(k, t, sizeof(*fps), size, NULL);

	if (fps) {
		fps->size = size;
		fps->task = t;
	}
	return fps;
}

void xk_fpstate_free(struct xk_kernel *k, struct xk_fpstate *fps)
{
	if (fps)
		xk_xstate_free(k, fps->task, fps, fps->size);
}

/* fpstate_reset(): back to the default buffer with the default features,
 * XFD armed for the dynamic ones, default permissions. Does not touch the
 * buffer contents. */
void xk_fpstate_reset(struct xk_kernel *k, struct xk_fpu *fpu)
{
	struct xk_fpstate *fps = fpu->default_fpstate;

	fpu->fpstate = fps;
	fpu->task_fpstate = NULL;
	fps->size = k->kcfg.default_size;
	fps->user_size = k->ucfg.default_size;
	fps->xfeatures = k->kcfg.default_features;
	fps->user_xfeatures = k->ucfg.default_features;
	fps->xfd = k->init_xfd;
	fps->is_valloc = fps->is_guest = fps->is_confidential = fps->in_use = false;
	fpu->perm.state_perm = k->kcfg.default_features;
	fpu->perm.state_size = k->kcfg.default_size;
	fpu->perm.user_state_size = k->ucfg.default_size;
	fpu->guest_perm.state_perm = k->gcfg.features;
	fpu->guest_perm.state_size = k->gcfg.size;
	fpu->guest_perm.user_state_size = k->ucfg.default_size;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t xk_fpstate_xstate_bv(const struct xk_fpstate *fps)
{
	return get_u64(fps->regs + XS_HDR_OFFSET);
}

uint64_t xk_fpstate_xcomp_bv(const struct xk_fpstate *fps)
{
	return get_u64(fps->regs + XS_HDR_OFFSET + 8);
}

/* xstate_init_xcomp_bv(): compacted buffers carry xfeatures | bit 63. */
void xk_fpstate_init_xcomp(struct xk_kernel *k, struct xk_fpstate *fps)
{
	if (k->compacted)
		put_u64(fps->regs + XS_HDR_OFFSET + 8, fps->xfeatures | XS_COMPACTED_BIT);
}

/* fpu_reset_fpregs() / minimal fpu_clone(): copy the legacy area and the
 * header of init_fpstate (init_fpstate_copy_size() = sizeof(struct
 * xregs_state) with XSAVE): XSTATE_BV 0, so every extended component is
 * initialized at the next restore; xcomp_bv = default | bit 63. */
void xk_fpstate_copy_init(struct xk_kernel *k, int cpu, struct xk_fpstate *fps)
{
	memcpy(fps->regs, k->init_fpstate->regs, XS_EXT_OFFSET);
	XK_TRACE(k, .type = XK_EV_INIT_COPY, .cpu = cpu, .insn = XK_I_MEMCPY,
		 .bytes = XS_EXT_OFFSET, .task = fps->task);
}

/* setup_init_fpu_buf() on the boot CPU: legacy init values (FCW, MXCSR),
 * XRSTOR(S) of a header with XSTATE_BV = 0 so every component is in its
 * init state, then read the legacy area back. Linux uses FXSAVE for the
 * read-back; the model has no FXSAVE, so XSAVE with RFBM = x87|SSE into a
 * scratch buffer stands in (it writes the same 512 bytes). */
int xk_init_fpstate_setup(struct xk_kernel *k, char *err, size_t errlen)
{
	struct xk_cpu *c = &k->cpu[0];
	uint32_t size = k->kcfg.default_size, mask, i;
	struct xk_fpstate *fps = fpstate_raw(size);
	uint8_t *scratch = NULL;
	uint16_t fcw = XS_FCW_DEFAULT;
	uint32_t mxcsr = XS_MXCSR_DEFAULT;
	enum xs_fault f;

	scratch = aligned_alloc(64, (k->ucfg.max_size + 63) & ~63u);
	if (!fps || !scratch) {
		snprintf(err, errlen, "out of memory for init_fpstate");
		goto fail;
	}
	fps->size = size;
	fps->user_size = k->ucfg.default_size;
	fps->xfeatures = k->kcfg.default_features;
	fps->user_xfeatures = k->ucfg.default_features;
	fps->xfd = k->init_xfd;
	memcpy(fps->regs + 0, &fcw, 2);    /* fpstate_init_fxstate() */
	memcpy(fps->regs + 24, &mxcsr, 4);
	xk_fpstate_init_xcomp(k, fps);

	f = k->restore_insn == XK_I_XRSTORS ? xs_xrstors(c->hw, fps->regs, size, ~0ULL)
					    : xs_xrstor(c->hw, fps->regs, size, ~0ULL);
	/* EDX:EAX = -1 (os_xrstor_booting); the trace shows the RFBM it gives. */
	XK_TRACE(k, .type = XK_EV_RESTORE, .cpu = 0, .insn = k->restore_insn, .fault = f,
		 .mask = k->xcr0 | (k->use_xsaves ? k->xss : 0), .bytes = size,
		 .why = "boot: every component to its init state");
	if (f) {
		snprintf(err, errlen, "%s of the init image raised %s: %s",
			 xk_insn_name(k->restore_insn), xs_fault_name(f),
			 xs_cpu_fault_reason(c->hw));
		goto fail;
	}
	memset(scratch, 0, k->ucfg.max_size);
	f = xs_xsave(c->hw, scratch, XS_EXT_OFFSET, XS_MASK_FPSSE);
	if (f) {
		snprintf(err, errlen, "XSAVE of the legacy init state raised %s: %s",
			 xs_fault_name(f), xs_cpu_fault_reason(c->hw));
		goto fail;
	}
	memcpy(fps->regs, scratch, XS_LEGACY_SIZE);
	memcpy(&mask, scratch + 28, 4);
	k->mxcsr_feature_mask = mask ? mask : XK_MXCSR_FEATURE_MASK_DEFAULT;

	/* Every extended component's init state must be all zeros (Linux
	 * relies on it: init_fpstate holds only the legacy values and a header
	 * with XSTATE_BV 0, and signal/ptrace exports zero-fill). Check it on
	 * the hardware: XSAVE every user feature from the all-init state. */
	memset(scratch, 0, k->ucfg.max_size);
	f = xs_xsave(c->hw, scratch, k->ucfg.max_size, k->ucfg.max_features);
	if (f) {
		snprintf(err, errlen, "XSAVE of the user init state raised %s: %s",
			 xs_fault_name(f), xs_cpu_fault_reason(c->hw));
		goto fail;
	}
	for (i = XS_EXT_OFFSET; i < k->ucfg.max_size; i++) {
		uint64_t w;

		/* Eight bytes at a time where possible: the byte loop over an
		 * 11 KB AMX area was half of every boot (checker issue speed). */
		if (!(i & 7) && i + 8 <= k->ucfg.max_size && (memcpy(&w, scratch + i, 8), !w)) {
			i += 7;
			continue;
		}
		if (scratch[i]) {
			snprintf(err, errlen,
				 "the init state is not all zeros at offset %u of the standard "
				 "format",
				 i);
			goto fail;
		}
	}
	free(scratch);
	k->init_fpstate = fps;
	return 0;
fail:
	free(scratch);
	free(fps);
	return -1;
}
