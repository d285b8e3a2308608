/* ptrace regsets NT_PRFPREG and NT_X86_XSTATE: sizes, reads against the
 * registers, round trips that reach the registers at the next return to
 * user mode, and one test per validation rule of a write (each flips
 * exactly the bit or size it guards); a rejected write changes no byte. */
#include "abi_util.h"

#define MODEL "intel-icelake-sp"

struct rs {
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t;
	uint32_t size;
	uint8_t *buf;
};

static int rs_setup(struct rs *r, const char *model)
{
	memset(r, 0, sizeof(*r));
	if (at_boot(&r->a, model, 2, ""))
		return -1;
	r->k = &r->a.kt.k;
	r->t = at_spawn(&r->a, "t1", 0);
	kt_write(&r->a.kt, 0, "xmm0", 1);
	kt_write(&r->a.kt, 0, "st1", 2);
	if (kt_has_reg(&r->a.kt, "ymm2"))
		kt_write(&r->a.kt, 0, "ymm2", 3);
	if (kt_has_reg(&r->a.kt, "zmm20")) {
		kt_write(&r->a.kt, 0, "zmm20", 4);
		kt_write(&r->a.kt, 0, "k1", 5);
	}
	r->size = xk_regset_size(r->k, XK_NT_X86_XSTATE);
	r->buf = calloc(1, r->size + 64);
	return 0;
}

static void rs_free(struct rs *r)
{
	free(r->buf);
	at_shutdown(&r->a);
}

/* Stop the tracee: switch it out (its registers are saved). */
static void stop(struct rs *r)
{
	kt_idle(&r->a.kt, 0);
}

static int regset(struct rs *r, bool set, unsigned type, void *buf, size_t len)
{
	size_t l = len;

	return xk_ptrace_regset(r->k, r->t, set, type, buf, &l);
}

static void check_reads(void)
{
	struct rs r;
	struct xs_cpu *ref;
	uint8_t *img, fx[512];
	size_t len;
	uint64_t word0;
	uint32_t pk;

	if (rs_setup(&r, MODEL)) {
		tap_skip("%s does not boot", MODEL);
		return;
	}
	tap_eq_u64(xk_regset_size(r.k, XK_NT_PRFPREG), 512, "NT_PRFPREG: 512 bytes");
	tap_eq_u64(r.size, r.k->ucfg.max_size, "NT_X86_XSTATE: user.max_size (%u)", r.size);
	tap_eq_u64(xk_regset_size(r.k, 0x203), 0, "unknown regset: size 0");
	len = 64;
	tap_eq_u64(xk_ptrace_regset(r.k, r.t, false, 0x203, r.buf, &len), (uint64_t)-ESRCH,
		   "unknown regset, running tracee -> ESRCH (ptrace_check_attach() first)");
	len = 12;
	tap_eq_u64(xk_ptrace_regset(r.k, r.t, true, XK_NT_X86_XSTATE, r.buf, &len), (uint64_t)-ESRCH,
		   "iov_len 12, running tracee -> ESRCH (ptrace_check_attach() first)");
	tap_eq_u64(regset(&r, false, XK_NT_X86_XSTATE, r.buf, r.size), (uint64_t)-ESRCH,
		   "a running tracee -> ESRCH");
	/* Reference: an XSAVE of the live registers, before the tracee stops. */
	ref = xs_cpu_new(&r.a.kt.m);
	xs_cpu_copy(ref, r.k->cpu[0].hw);
	stop(&r);
	len = 64;
	tap_eq_u64(xk_ptrace_regset(r.k, r.t, false, 0x203, r.buf, &len), (uint64_t)-EINVAL,
		   "unknown regset -> EINVAL");
	len = r.size + 64;
	tap_eq_u64(xk_ptrace_regset(r.k, r.t, false, XK_NT_X86_XSTATE, r.buf, &len), 0, "GET xstate");
	tap_eq_u64(len, r.size, "GET: the length is clamped to the regset size");
	img = aligned_alloc(64, (r.size + 127) & ~63u);
	memset(img, 0, r.size + 64);
	xs_set_cpl(ref, 0);
	xs_xsave(ref, img, r.size, r.t->fpu.fpstate->user_xfeatures);
	tap_ok(memcmp(r.buf, img, 416) == 0, "legacy area = XSAVE of the registers");
	{
		uint32_t pko = r.a.kt.m.comp[XS_C_PKRU].offset;
		bool same = memcmp(r.buf + 576, img + 576, pko - 576) == 0 &&
			    memcmp(r.buf + pko + 8, img + pko + 8, r.size - pko - 8) == 0;
		tap_ok(same, "extended area = XSAVE of the registers (PKRU aside)");
		memcpy(&pk, r.buf + pko, 4);
		/* Written from thread.pkru when the saved XSTATE_BV has PKRU. */
		tap_eq_u64(pk, (xk_fpstate_xstate_bv(r.t->fpu.fpstate) & XS_BIT(XS_C_PKRU))
				       ? r.t->thread.pkru : 0,
			   "PKRU slot = thread.pkru if PKRU is in use, else 0");
	}
	memcpy(&word0, r.buf + 464, 8);
	tap_eq_u64(word0, r.k->xcr0, "sw_reserved word 0 = XCR0 (not the frame's magic format)");
	{
		bool zero = true;
		for (unsigned i = 416; i < 464; i++)
			zero &= r.buf[i] == 0;
		for (unsigned i = 472; i < 512; i++)
			zero &= r.buf[i] == 0;
		for (unsigned i = 520; i < 576; i++)
			zero &= r.buf[i] == 0;
		tap_ok(zero, "padding, rest of sw_reserved, XCOMP_BV and reserved header zero");
	}
	{
		uint64_t bv;

		memcpy(&bv, r.buf + 512, 8);
		tap_eq_u64(bv, xk_fpstate_xstate_bv(r.t->fpu.fpstate) & r.t->fpu.fpstate->user_xfeatures,
			   "header xfeatures = saved XSTATE_BV & user_xfeatures (no supervisor bits)");
	}
	/* NT_PRFPREG: the FXSAVE image = the first 416 bytes, then zeros. */
	len = 512;
	tap_eq_u64(xk_ptrace_regset(r.k, r.t, false, XK_NT_PRFPREG, fx, &len), 0, "GET fpregs");
	tap_ok(memcmp(fx, r.buf, 416) == 0, "NT_PRFPREG = legacy area of NT_X86_XSTATE");
	{
		bool zero = true;
		for (unsigned i = 416; i < 512; i++)
			zero &= fx[i] == 0;
		tap_ok(zero, "NT_PRFPREG bytes 416-511 zero");
	}
	len = 12;
	tap_eq_u64(xk_ptrace_regset(r.k, r.t, false, XK_NT_PRFPREG, fx, &len), (uint64_t)-EINVAL,
		   "iov_len not a multiple of 8 -> EINVAL");
	free(img);
	xs_cpu_free(ref);
	rs_free(&r);
}

/* A write that reaches the registers at the next return to user mode. */
static void check_round_trip(void)
{
	struct rs r;
	uint8_t v[64];
	unsigned restores;

	if (rs_setup(&r, MODEL))
		return;
	stop(&r);
	regset(&r, false, XK_NT_X86_XSTATE, r.buf, r.size);
	kt_pattern(v, 16, 40);
	memcpy(r.buf + 160, v, 16); /* XMM0 */
	memset(r.buf + 464, 0xee, 48); /* sw_reserved: ignored on write */
	tap_eq_u64(regset(&r, true, XK_NT_X86_XSTATE, r.buf, r.size), 0, "SET xstate");
	tap_eq_u64(r.t->fpu.last_cpu, (uint64_t)-1, "the tracee's cached registers invalidated");
	restores = r.a.kt.restores_of[r.t->tid];
	kt_run(&r.a.kt, 0, r.t);
	tap_eq_u64(r.a.kt.restores_of[r.t->tid], restores + 1,
		   "back on the CPU that still holds its old registers: restored, not skipped");
	tap_eq_u64(kt_peek(&r.a.kt, 0, "xmm0", 40), 1, "XMM0 has the written value");
	tap_eq_u64(kt_peek(&r.a.kt, 0, "zmm20", 4), 1, "ZMM20 unchanged");
	/* NT_PRFPREG write. */
	stop(&r);
	regset(&r, false, XK_NT_PRFPREG, r.buf, 512);
	kt_pattern(v, 16, 41);
	memcpy(r.buf + 176, v, 16); /* XMM1 */
	tap_eq_u64(regset(&r, true, XK_NT_PRFPREG, r.buf, 520), 0,
		   "SET fpregs with iov_len 520: clamped to 512, accepted");
	tap_ok((xk_fpstate_xstate_bv(r.t->fpu.fpstate) & XS_MASK_FPSSE) == XS_MASK_FPSSE,
	       "SET fpregs marks FP|SSE in XSTATE_BV");
	kt_run(&r.a.kt, 0, r.t);
	tap_eq_u64(kt_peek(&r.a.kt, 0, "xmm1", 41), 1, "XMM1 has the written value");
	tap_eq_u64(kt_peek(&r.a.kt, 0, "xmm0", 40), 1, "XMM0 kept");
	tap_ok(r.a.kt.bad == 0, "no invariant violation (%s)", r.a.kt.bad_why);
	rs_free(&r);
}

enum wflip {
	W_SHORT,       /* count = size - 8 */
	W_BV_CET,      /* xfeatures bit 11 (CET_U, supervisor) */
	W_BV_BIT62,
	W_BV_AMX,      /* XTILEDATA before the buffer grew (SPR) */
	W_XCOMP_BIT0,
	W_XCOMP_BIT63,
	W_RSVD16,
	W_RSVD63,
	W_MXCSR_FP,    /* MXCSR bit 16 with FP set */
	W_MXCSR_YMM,   /* MXCSR bit 16 with only YMM set */
	W_MXCSR_SSE,   /* MXCSR bit 16 with only SSE set */
	W_FX_SHORT,    /* NT_PRFPREG with 504 bytes */
	W_FX_MXCSR,    /* NT_PRFPREG with MXCSR bit 16 */
};

static void check_rejected(enum wflip w, const char *what)
{
	const char *model = w == W_BV_AMX || w == W_BV_CET ? "intel-sapphire-rapids" : MODEL;
	struct rs r;
	struct xk_fpstate *fps;
	uint8_t *before;
	uint64_t bv;
	uint32_t pkru, mx;
	int rc, want = -EINVAL;

	if (rs_setup(&r, model)) {
		tap_skip("%s: %s does not boot", what, model);
		return;
	}
	stop(&r);
	regset(&r, false, XK_NT_X86_XSTATE, r.buf, r.size);
	memcpy(&bv, r.buf + 512, 8);
	memcpy(&mx, r.buf + 24, 4);
	switch (w) {
	case W_SHORT:
		want = -EFAULT;
		break;
	case W_BV_CET:
		bv |= XS_BIT(XS_C_CET_U);
		break;
	case W_BV_BIT62:
		bv |= 1ULL << 62;
		break;
	case W_BV_AMX:
		bv |= XS_BIT(XS_C_XTILEDATA);
		break;
	case W_XCOMP_BIT0:
		r.buf[520] = 1;
		break;
	case W_XCOMP_BIT63:
		r.buf[527] = 0x80;
		break;
	case W_RSVD16:
		r.buf[528] = 1;
		break;
	case W_RSVD63:
		r.buf[575] = 0x80;
		break;
	case W_MXCSR_FP:
		mx |= 1u << 16;
		bv |= XS_BIT(XS_C_X87);
		break;
	case W_MXCSR_YMM:
		mx |= 1u << 16;
		bv = XS_BIT(XS_C_AVX);
		break;
	case W_MXCSR_SSE:
		mx |= 1u << 16;
		bv = XS_BIT(XS_C_SSE);
		break;
	case W_FX_SHORT:
		break;
	case W_FX_MXCSR:
		mx |= 1u << 16;
		break;
	}
	memcpy(r.buf + 512, &bv, 8);
	memcpy(r.buf + 24, &mx, 4);
	fps = r.t->fpu.fpstate;
	before = malloc(fps->size);
	memcpy(before, fps->regs, fps->size);
	pkru = r.t->thread.pkru;
	if (w == W_FX_SHORT)
		rc = regset(&r, true, XK_NT_PRFPREG, r.buf, 504);
	else if (w == W_FX_MXCSR)
		rc = regset(&r, true, XK_NT_PRFPREG, r.buf, 512);
	else
		rc = regset(&r, true, XK_NT_X86_XSTATE, r.buf, w == W_SHORT ? r.size - 8 : r.size);
	tap_eq_u64(rc, (uint64_t)want, "%s -> %s", what, want == -EFAULT ? "EFAULT" : "EINVAL");
	tap_ok(memcmp(before, fps->regs, fps->size) == 0 && r.t->thread.pkru == pkru &&
		       r.t->fpu.fpstate == fps,
	       "%s: the tracee's state is unchanged", what);
	free(before);
	rs_free(&r);
}

/* What a write does with PKRU and with supervisor state. */
static void check_pkru_supervisor(void)
{
	struct rs r;
	uint64_t bv, sup;
	uint32_t pk = 0x44;
	uint32_t pko;

	if (rs_setup(&r, "intel-sapphire-rapids"))
		return;
	stop(&r);
	pko = r.a.kt.m.comp[XS_C_PKRU].offset;
	sup = xk_fpstate_xstate_bv(r.t->fpu.fpstate) & XK_MASK_SUPERVISOR_ALL;
	regset(&r, false, XK_NT_X86_XSTATE, r.buf, r.size);
	memcpy(&bv, r.buf + 512, 8);
	bv |= XS_BIT(XS_C_PKRU);
	memcpy(r.buf + 512, &bv, 8);
	memcpy(r.buf + pko, &pk, 4);
	tap_eq_u64(regset(&r, true, XK_NT_X86_XSTATE, r.buf, r.size), 0, "SET with PKRU");
	tap_eq_u64(r.t->thread.pkru, 0x44, "thread.pkru = the image's PKRU");
	tap_eq_u64(xk_fpstate_xstate_bv(r.t->fpu.fpstate) & XK_MASK_SUPERVISOR_ALL, sup,
		   "supervisor XSTATE_BV bits kept");
	bv &= ~XS_BIT(XS_C_PKRU);
	memcpy(r.buf + 512, &bv, 8);
	tap_eq_u64(regset(&r, true, XK_NT_X86_XSTATE, r.buf, r.size), 0, "SET without PKRU");
	tap_eq_u64(r.t->thread.pkru, 0, "PKRU bit clear -> thread.pkru 0 (what XRSTOR would load)");
	/* MXCSR is not checked when neither FP, SSE nor YMM is written. */
	bv = 0;
	memcpy(r.buf + 512, &bv, 8);
	r.buf[26] |= 1; /* MXCSR bit 16 */
	tap_eq_u64(regset(&r, true, XK_NT_X86_XSTATE, r.buf, r.size), 0,
		   "xfeatures 0: MXCSR not looked at -> accepted");
	tap_eq_u64(xk_fpstate_xstate_bv(r.t->fpu.fpstate), sup,
		   "xfeatures 0: every user component to init at the next restore");
	rs_free(&r);
}

/* Reviewer additions (R4). Writes that name only some legacy features,
 * and reads of components whose XSTATE_BV bit is clear: the UABI copies
 * take FP, MXCSR and XMM from init_fpstate then, whatever the kernel
 * buffer still holds (xstate.c __copy_xstate_to_uabi_buf(),
 * copy_uabi_to_xstate()). */
static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* A NT_X86_XSTATE write of the current image with header xfeatures bv,
 * FCW fcw and MXCSR mxcsr. */
static int write_bv(struct rs *r, uint64_t bv, uint16_t fcw, uint32_t mxcsr)
{
	regset(r, false, XK_NT_X86_XSTATE, r->buf, r->size);
	memcpy(r->buf + 512, &bv, 8);
	memcpy(r->buf + 0, &fcw, 2);
	memcpy(r->buf + 24, &mxcsr, 4);
	return regset(r, true, XK_NT_X86_XSTATE, r->buf, r->size);
}

static void check_partial_writes(void)
{
	const uint64_t fp = XS_BIT(XS_C_X87), sse = XS_BIT(XS_C_SSE), ymm = XS_BIT(XS_C_AVX);
	struct rs r;
	struct xk_fpstate *fps;
	uint8_t fx[512], v[16];

	if (rs_setup(&r, MODEL))
		return;
	stop(&r);
	fps = r.t->fpu.fpstate;
	tap_eq_u64(write_bv(&r, fp | sse, 0x027f, 0x1f80), 0, "partial: FP|SSE write, FCW 0x27f");
	/* SSE alone: MXCSR is taken although FP (whose chunk holds it) is not. */
	tap_eq_u64(write_bv(&r, sse, 0x0123, 0x7f80), 0, "partial: SSE-only write, MXCSR 0x7f80");
	tap_eq_u64(ld32(fps->regs + 24), 0x7f80, "partial: SSE-only write stores MXCSR");
	tap_eq_u64(ld16(fps->regs), 0x027f, "partial: SSE-only write leaves the FP chunk alone");
	regset(&r, false, XK_NT_X86_XSTATE, r.buf, r.size);
	tap_eq_u64(ld16(r.buf), 0x037f, "partial: FP not in XSTATE_BV -> FCW read from init (0x37f)");
	tap_eq_u64(ld32(r.buf + 24), 0x7f80, "partial: SSE in XSTATE_BV -> MXCSR from the buffer");
	/* FP alone: its chunk carries MXCSR into the buffer, but a read shows
	 * the init MXCSR (neither SSE nor YMM is set). */
	tap_eq_u64(write_bv(&r, fp, 0x027f, 0x5f80), 0, "partial: FP-only write, MXCSR 0x5f80");
	tap_eq_u64(ld32(fps->regs + 24), 0x5f80, "partial: the FP chunk carried MXCSR in");
	regset(&r, false, XK_NT_X86_XSTATE, r.buf, r.size);
	tap_eq_u64(ld32(r.buf + 24), 0x1f80, "partial: neither SSE nor YMM -> MXCSR read from init");
	tap_eq_u64(ld16(r.buf), 0x027f, "partial: FP in XSTATE_BV -> FCW from the buffer");
	/* YMM alone: NT_X86_XSTATE shows MXCSR, NT_PRFPREG (FX mode masks
	 * the header to FP|SSE) shows the init value. */
	tap_eq_u64(write_bv(&r, ymm, 0x0123, 0x7f80), 0, "partial: YMM-only write, MXCSR 0x7f80");
	regset(&r, false, XK_NT_X86_XSTATE, r.buf, r.size);
	tap_eq_u64(ld32(r.buf + 24), 0x7f80, "partial: NT_X86_XSTATE: YMM set -> MXCSR shown");
	regset(&r, false, XK_NT_PRFPREG, fx, sizeof(fx));
	tap_eq_u64(ld32(fx + 24), 0x1f80, "partial: NT_PRFPREG: SSE clear -> init MXCSR (YMM ignored)");
	/* Nothing at all, then NT_PRFPREG: the write marks FP|SSE in use, or
	 * the restore would initialise what it wrote. */
	tap_eq_u64(write_bv(&r, 0, 0x037f, 0x1f80), 0, "partial: xfeatures 0");
	tap_eq_u64(xk_fpstate_xstate_bv(fps) & XS_MASK_FPSSE, 0, "partial: FP|SSE now init");
	regset(&r, false, XK_NT_PRFPREG, fx, sizeof(fx));
	kt_pattern(v, 16, 43);
	memcpy(fx + 176, v, 16); /* XMM1 */
	tap_eq_u64(regset(&r, true, XK_NT_PRFPREG, fx, sizeof(fx)), 0, "partial: NT_PRFPREG write");
	tap_eq_u64(xk_fpstate_xstate_bv(fps) & XS_MASK_FPSSE, XS_MASK_FPSSE,
		   "partial: NT_PRFPREG write sets XSTATE_BV FP|SSE");
	kt_run(&r.a.kt, 0, r.t);
	tap_eq_u64(kt_peek(&r.a.kt, 0, "xmm1", 43), 1, "partial: XMM1 loaded from the write");
	tap_ok(r.a.kt.bad == 0, "partial: no invariant violation (%s)", r.a.kt.bad_why);
	rs_free(&r);
}

/* Live supervisor state (CET_U): never in NT_X86_XSTATE, untouched by a
 * write (its XSTATE_BV bit and its registers survive). */
static void check_live_supervisor(void)
{
	struct rs r;
	uint64_t bv, ucet = 0, ssp = 0;

	if (rs_setup(&r, "intel-sapphire-rapids"))
		return;
	if (!(r.k->kcfg.max_features & XS_BIT(XS_C_CET_U))) {
		tap_skip("no CET_U in the kernel's features");
		rs_free(&r);
		return;
	}
	xk_enter_kernel(r.k, 0);
	xs_wrmsr(r.k->cpu[0].hw, XS_MSR_U_CET, 1);
	xs_wrmsr(r.k->cpu[0].hw, XS_MSR_PL3_SSP, 0x7fff0000);
	xk_return_to_user(r.k, 0);
	stop(&r);
	tap_ok(xk_fpstate_xstate_bv(r.t->fpu.fpstate) & XS_BIT(XS_C_CET_U),
	       "CET_U live: saved with XSTATE_BV[11] set");
	tap_eq_u64(regset(&r, false, XK_NT_X86_XSTATE, r.buf, r.size), 0, "CET_U live: GET xstate");
	memcpy(&bv, r.buf + 512, 8);
	tap_eq_u64(bv & XK_MASK_SUPERVISOR_ALL, 0, "CET_U live: no supervisor bit in the header");
	tap_eq_u64(bv, xk_fpstate_xstate_bv(r.t->fpu.fpstate) & r.t->fpu.fpstate->user_xfeatures,
		   "CET_U live: header = XSTATE_BV & user_xfeatures");
	tap_eq_u64(regset(&r, true, XK_NT_X86_XSTATE, r.buf, r.size), 0, "CET_U live: SET it back");
	tap_ok(xk_fpstate_xstate_bv(r.t->fpu.fpstate) & XS_BIT(XS_C_CET_U),
	       "CET_U live: the write keeps XSTATE_BV[11]");
	kt_run(&r.a.kt, 0, r.t);
	at_peek(&r.a, 0, "u_cet", (uint8_t *)&ucet);
	at_peek(&r.a, 0, "pl3_ssp", (uint8_t *)&ssp);
	tap_ok(ucet == 1 && ssp == 0x7fff0000, "CET_U live: U_CET/PL3_SSP restored unchanged");
	rs_free(&r);
}

int main(void)
{
	tap_plan_lazy();
	check_reads();
	check_round_trip();
	check_rejected(W_SHORT, "xstate write of size - 8 bytes");
	check_rejected(W_BV_CET, "xstate write with CET_U (supervisor) in xfeatures");
	check_rejected(W_BV_BIT62, "xstate write with xfeatures bit 62");
	check_rejected(W_BV_AMX, "xstate write with XTILEDATA before first use");
	check_rejected(W_XCOMP_BIT0, "xstate write with XCOMP_BV bit 0");
	check_rejected(W_XCOMP_BIT63, "xstate write with XCOMP_BV bit 63 (compacted)");
	check_rejected(W_RSVD16, "xstate write with header byte 16 bit 0");
	check_rejected(W_RSVD63, "xstate write with header byte 63 bit 7");
	check_rejected(W_MXCSR_FP, "xstate write with MXCSR bit 16, FP set");
	check_rejected(W_MXCSR_YMM, "xstate write with MXCSR bit 16, only YMM set");
	check_rejected(W_MXCSR_SSE, "xstate write with MXCSR bit 16, only SSE set");
	check_rejected(W_FX_SHORT, "fpregs write of 504 bytes");
	check_rejected(W_FX_MXCSR, "fpregs write with MXCSR bit 16");
	check_pkru_supervisor();
	check_partial_writes();
	check_live_supervisor();
	return tap_done();
}
