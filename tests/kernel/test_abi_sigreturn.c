/* rt_sigreturn: round trips, and one test per validation rule that flips
 * exactly the bit or size the rule guards (linux-design.md 5.3 against
 * mainline arch/x86/kernel/fpu/signal.c; see sigreturn.c for where the
 * two differ). Failures: SIGSEGV with the user state reset to init
 * (sigreturn-fail=init, Linux) or left exactly as it was
 * (sigreturn-fail=keep). Supervisor state never comes from the frame. */
#include "abi_util.h"

#define MODEL "intel-icelake-sp" /* AVX-512 + PKRU, XSAVES, compacted kernel buffers */

struct rt {
	struct at a;
	struct xk_task *t;
	struct xk_sigframe sf;
	uint8_t pre_xmm0[16], pre_ymm1[32], hnd_xmm0[16], hnd_ymm1[32];
};

/* Boot, write xmm0/ymm1, deliver a signal, write other values in the
 * handler. After that: sigreturn should bring pre_* back. */
static int rt_setup(struct rt *r, const char *model, const char *policy)
{
	memset(r, 0, sizeof(*r));
	if (at_boot(&r->a, model, 2, policy))
		return -1;
	r->t = at_spawn(&r->a, "t1", 0);
	kt_write(&r->a.kt, 0, "xmm0", 1);
	kt_write(&r->a.kt, 0, "ymm1", 2);
	at_peek(&r->a, 0, "xmm0", r->pre_xmm0);
	at_peek(&r->a, 0, "ymm1", r->pre_ymm1);
	if (at_deliver(&r->a, 0, AT_SP, 0, XK_SIGUSR1, &r->sf))
		return -1;
	kt_write(&r->a.kt, 0, "xmm0", 5);
	kt_write(&r->a.kt, 0, "ymm1", 6);
	at_peek(&r->a, 0, "xmm0", r->hnd_xmm0);
	at_peek(&r->a, 0, "ymm1", r->hnd_ymm1);
	return 0;
}

static bool reg_is(struct rt *r, const char *name, const uint8_t *want, unsigned n)
{
	uint8_t v[64];

	at_peek(&r->a, 0, name, v);
	return memcmp(v, want, n) == 0;
}

static bool reg_zero(struct rt *r, const char *name, unsigned n)
{
	static const uint8_t z[64];

	return reg_is(r, name, z, n);
}

static uint64_t fp(struct rt *r)
{
	return r->sf.fpstate;
}

static uint32_t usize(struct rt *r)
{
	return r->t->fpu.fpstate->user_size;
}

/* Expect a full, successful restore. */
static void expect_restored(struct rt *r, const char *what)
{
	struct xk_sigreturn_result res;
	int rc = at_sigreturn(&r->a, 0, r->sf.frame, &res);

	tap_ok(rc == 0 && !res.fx_only && res.signo == 0, "%s: restored (rc %d, %s)", what, rc,
	       res.why ? res.why : "");
	tap_ok(reg_is(r, "xmm0", r->pre_xmm0, 16) && reg_is(r, "ymm1", r->pre_ymm1, 32),
	       "%s: registers hold the frame's values", what);
	tap_eq_u64(res.sp, AT_SP, "%s: stack pointer back", what);
}

/* Expect the legacy-only fallback: XMM from the frame, the upper halves init. */
static void expect_fx_only(struct rt *r, const char *what)
{
	struct xk_sigreturn_result res;
	int rc = at_sigreturn(&r->a, 0, r->sf.frame, &res);
	uint8_t lo[32];

	memcpy(lo, r->pre_ymm1, 16);
	memset(lo + 16, 0, 16);
	tap_ok(rc == 0 && res.fx_only && res.signo == 0 && res.rfbm == XS_MASK_FPSSE,
	       "%s: legacy-only restore (rc %d, %s)", what, rc, res.why ? res.why : "");
	tap_ok(reg_is(r, "xmm0", r->pre_xmm0, 16) && reg_is(r, "ymm1", lo, 32),
	       "%s: XMM from the frame, YMM upper halves init", what);
}

/* Expect SIGSEGV; with keep, the handler's values stay; else init. */
static void expect_segv(struct rt *r, const char *what, bool keep)
{
	struct xk_sigreturn_result res;
	int rc = at_sigreturn(&r->a, 0, r->sf.frame, &res);

	tap_ok(rc == -EFAULT && res.signo == XK_SIGSEGV, "%s: SIGSEGV (rc %d, %s)", what, rc,
	       res.why ? res.why : "");
	if (keep)
		tap_ok(reg_is(r, "xmm0", r->hnd_xmm0, 16) && reg_is(r, "ymm1", r->hnd_ymm1, 32),
		       "%s: sigreturn-fail=keep: state exactly as before the call", what);
	else
		tap_ok(reg_zero(r, "xmm0", 16) && reg_zero(r, "ymm1", 32) &&
			       xs_mxcsr(r->a.kt.k.cpu[0].hw) == 0x1f80,
		       "%s: user state reset to init (Linux)", what);
	tap_ok(r->a.kt.bad == 0, "%s: no invariant violation (%s)", what, r->a.kt.bad_why);
}

enum tamper {
	T_NONE,
	T_MAGIC1,          /* flip bit 0 of magic1 */
	T_XSTATE_SIZE_LOW, /* xstate_size 575 */
	T_XSTATE_SIZE_576, /* xstate_size 576, MAGIC2 moved there: accepted */
	T_XSTATE_SIZE_BIG, /* xstate_size user_size + 64, MAGIC2 moved there */
	T_EXT_SIZE_LOW,    /* extended_size = xstate_size - 1 */
	T_EXT_SIZE_EQ,     /* extended_size = xstate_size: accepted by mainline */
	T_MAGIC2,          /* flip bit 0 of MAGIC2 */
	T_SW_NO_AVX,       /* sw xfeatures without AVX: AVX to init */
	T_BV_NO_AVX,       /* XSTATE_BV without AVX: AVX to init */
	T_BV_BIT62,        /* XSTATE_BV bit 62 (not in XCR0) */
	T_XCOMP_BIT0,      /* XCOMP_BV bit 0 */
	T_XCOMP_BIT63,     /* XCOMP_BV bit 63: compacted form, XSTATE_BV not in XCOMP_BV */
	T_RSVD16,          /* header byte 16 (reserved[0]), as corrupt_xstate_header.c */
	T_RSVD24,          /* header byte 24: not checked by the standard form */
	T_MXCSR_RSVD,      /* MXCSR bit 16 */
	T_MXCSR_RSVD_FX,   /* MXCSR bit 16 and magic1 broken: FXRSTOR path */
	T_FPSTATE_NULL,    /* uc_mcontext.fpstate = NULL */
	T_FPSTATE_UNMAPPED,
	T_FRAME_UNMAPPED,  /* the rt_sigframe itself */
};

static void tamper(struct rt *r, enum tamper t)
{
	struct at *a = &r->a;
	uint64_t f = fp(r), us = usize(r);

	switch (t) {
	case T_NONE:
		break;
	case T_MAGIC1:
		at_st32(a, f + 464, at_ld32(a, f + 464) ^ 1);
		break;
	case T_XSTATE_SIZE_LOW:
		at_st32(a, f + 480, 575);
		at_st32(a, f + 575, XK_FP_XSTATE_MAGIC2);
		break;
	case T_XSTATE_SIZE_576:
		at_st32(a, f + 480, 576);
		at_st32(a, f + 576, XK_FP_XSTATE_MAGIC2); /* over YMM0's upper half (not checked) */
		break;
	case T_XSTATE_SIZE_BIG:
		at_st32(a, f + 480, (uint32_t)us + 64);
		at_st32(a, f + 468, (uint32_t)us + 68);
		at_st32(a, f + us + 64, XK_FP_XSTATE_MAGIC2);
		break;
	case T_EXT_SIZE_LOW:
		at_st32(a, f + 468, (uint32_t)us - 1);
		break;
	case T_EXT_SIZE_EQ:
		at_st32(a, f + 468, (uint32_t)us);
		break;
	case T_MAGIC2:
		at_st32(a, f + us, at_ld32(a, f + us) ^ 1);
		break;
	case T_SW_NO_AVX:
		at_st64(a, f + 472, at_ld64(a, f + 472) & ~XS_BIT(XS_C_AVX));
		break;
	case T_BV_NO_AVX:
		at_st64(a, f + 512, at_ld64(a, f + 512) & ~XS_BIT(XS_C_AVX));
		break;
	case T_BV_BIT62:
		at_st64(a, f + 512, at_ld64(a, f + 512) | (1ULL << 62));
		break;
	case T_XCOMP_BIT0:
		at_st64(a, f + 520, 1);
		break;
	case T_XCOMP_BIT63:
		at_st64(a, f + 520, 1ULL << 63);
		break;
	case T_RSVD16:
		at_st64(a, f + 528, 1);
		break;
	case T_RSVD24:
		at_st64(a, f + 536, 1);
		break;
	case T_MXCSR_RSVD:
		at_st32(a, f + 24, at_ld32(a, f + 24) | (1u << 16));
		break;
	case T_MXCSR_RSVD_FX:
		at_st32(a, f + 24, at_ld32(a, f + 24) | (1u << 16));
		at_st32(a, f + 464, 0);
		break;
	case T_FPSTATE_NULL:
		at_st64(a, r->sf.frame + XK_RTF_FPSTATE, 0);
		break;
	case T_FPSTATE_UNMAPPED:
		at_st64(a, r->sf.frame + XK_RTF_FPSTATE, 0x40000000u);
		break;
	case T_FRAME_UNMAPPED:
		r->sf.frame = 0x40000000u;
		break;
	}
}

static void run_case(enum tamper t, const char *what, const char *policy, bool keep)
{
	struct rt r;
	char name[160];

	snprintf(name, sizeof(name), "%s%s", what, keep ? " [keep]" : "");
	if (rt_setup(&r, MODEL, policy)) {
		tap_skip("%s: setup failed", name);
		return;
	}
	tamper(&r, t);
	switch (t) {
	case T_NONE:
	case T_XSTATE_SIZE_576:
	case T_EXT_SIZE_EQ:
	case T_RSVD24:
		expect_restored(&r, name);
		break;
	case T_MAGIC1:
	case T_XSTATE_SIZE_LOW:
	case T_XSTATE_SIZE_BIG:
	case T_EXT_SIZE_LOW:
	case T_MAGIC2:
		expect_fx_only(&r, name);
		break;
	case T_SW_NO_AVX:
	case T_BV_NO_AVX: {
		struct xk_sigreturn_result res;
		uint8_t lo[32];
		int rc = at_sigreturn(&r.a, 0, r.sf.frame, &res);

		memcpy(lo, r.pre_ymm1, 16);
		memset(lo + 16, 0, 16);
		tap_ok(rc == 0 && !res.fx_only, "%s: restored", name);
		tap_ok(reg_is(&r, "xmm0", r.pre_xmm0, 16) && reg_is(&r, "ymm1", lo, 32),
		       "%s: AVX to init, SSE from the frame", name);
		break;
	}
	case T_FPSTATE_NULL: {
		struct xk_sigreturn_result res;
		int rc = at_sigreturn(&r.a, 0, r.sf.frame, &res);

		tap_ok(rc == 0 && res.signo == 0, "%s: success", name);
		tap_ok(reg_zero(&r, "xmm0", 16) && reg_zero(&r, "ymm1", 32),
		       "%s: user state reset to init", name);
		break;
	}
	case T_FRAME_UNMAPPED: {
		struct xk_sigreturn_result res;
		int rc = at_sigreturn(&r.a, 0, r.sf.frame, &res);

		/* badframe before fpu__restore_sig(): nothing is reset. */
		tap_ok(rc == -EFAULT && res.signo == XK_SIGSEGV, "%s: SIGSEGV", name);
		tap_ok(reg_is(&r, "xmm0", r.hnd_xmm0, 16), "%s: FPU state untouched", name);
		break;
	}
	default:
		expect_segv(&r, name, keep);
		break;
	}
	at_shutdown(&r.a);
}

static const struct {
	enum tamper t;
	const char *what;
} cases[] = {
	{ T_NONE, "untouched frame" },
	{ T_MAGIC1, "magic1 bit 0 flipped" },
	{ T_XSTATE_SIZE_LOW, "xstate_size 575 (< 576)" },
	{ T_XSTATE_SIZE_576, "xstate_size 576 (the minimum)" },
	{ T_XSTATE_SIZE_BIG, "xstate_size > user_size" },
	{ T_EXT_SIZE_LOW, "extended_size < xstate_size" },
	{ T_EXT_SIZE_EQ, "extended_size = xstate_size (mainline accepts)" },
	{ T_MAGIC2, "MAGIC2 bit 0 flipped" },
	{ T_SW_NO_AVX, "sw xfeatures without AVX" },
	{ T_BV_NO_AVX, "XSTATE_BV without AVX" },
	{ T_BV_BIT62, "XSTATE_BV bit 62 (not in XCR0)" },
	{ T_XCOMP_BIT0, "XCOMP_BV bit 0" },
	{ T_XCOMP_BIT63, "XCOMP_BV bit 63 (compacted header)" },
	{ T_RSVD16, "header reserved byte 16" },
	{ T_RSVD24, "header reserved byte 24 (not checked, SDM 13.8.1)" },
	{ T_MXCSR_RSVD, "MXCSR reserved bit 16" },
	{ T_MXCSR_RSVD_FX, "MXCSR reserved bit 16, legacy-only path" },
	{ T_FPSTATE_NULL, "fpstate pointer NULL" },
	{ T_FPSTATE_UNMAPPED, "fpstate pointer unmapped" },
	{ T_FRAME_UNMAPPED, "rt_sigframe unmapped" },
};

/* The path where the registers are not current's at sigreturn time: the
 * task was switched out inside the system call. */
static void check_need_load_path(void)
{
	struct rt r;
	struct xk_task *other;

	if (rt_setup(&r, MODEL, "")) {
		tap_skip("need-load path: setup failed");
		return;
	}
	other = xk_spawn(&r.a.kt.k, "t2");
	xk_enter_kernel(&r.a.kt.k, 0);
	xk_switch(&r.a.kt.k, 0, other);
	xk_return_to_user(&r.a.kt.k, 0);
	kt_write(&r.a.kt, 0, "xmm0", 9);
	xk_enter_kernel(&r.a.kt.k, 0);
	xk_switch(&r.a.kt.k, 0, r.t);
	tap_ok(r.t->need_load != 0, "need-load path: t1 back in the kernel, registers not loaded");
	expect_restored(&r, "need-load path");
	tap_ok(r.a.kt.bad == 0, "need-load path: no invariant violation (%s)", r.a.kt.bad_why);
	at_shutdown(&r.a);
}

/* Supervisor state (CET_U) survives delivery and sigreturn, is never in
 * the frame, and a frame that claims it is refused. */
static void check_supervisor(void)
{
	const char *models[] = { "intel-sapphire-rapids", "intel-alder-lake-pcore", "amd-zen4-genoa" };
	struct rt r;
	struct xk_sigreturn_result res;
	uint64_t ucet = 0, ssp = 0;
	const char *m = NULL;

	for (unsigned i = 0; i < 3 && !m; i++) {
		if (rt_setup(&r, models[i], ""))
			continue;
		if (r.a.kt.k.kcfg.max_features & XS_BIT(XS_C_CET_U))
			m = models[i];
		else
			at_shutdown(&r.a);
	}
	if (!m) {
		tap_skip("no built-in model with CET_U managed by the kernel");
		return;
	}
	/* Give the task CET state: the kernel writes the MSRs while its
	 * registers are live (as arch_prctl(ARCH_SHSTK_ENABLE) would). */
	xk_enter_kernel(&r.a.kt.k, 0);
	tap_ok(xs_wrmsr(r.a.kt.k.cpu[0].hw, XS_MSR_U_CET, 1) == XS_OK &&
		       xs_wrmsr(r.a.kt.k.cpu[0].hw, XS_MSR_PL3_SSP, 0x7fff0000) == XS_OK,
	       "%s: U_CET/PL3_SSP set for the task", m);
	xk_return_to_user(&r.a.kt.k, 0);
	tap_ok(!(at_ld64(&r.a, fp(&r) + 512) & XS_BIT(XS_C_CET_U)) &&
		       !(at_ld64(&r.a, fp(&r) + 472) & XS_MASK_SUPERVISOR_ARCH),
	       "%s: no supervisor bit in the frame's XSTATE_BV or sw xfeatures", m);
	/* sw xfeatures claiming CET_U: masked by user_xfeatures, harmless. */
	at_st64(&r.a, fp(&r) + 472, at_ld64(&r.a, fp(&r) + 472) | XS_BIT(XS_C_CET_U));
	tap_ok(at_sigreturn(&r.a, 0, r.sf.frame, &res) == 0 && !(res.rfbm & XS_BIT(XS_C_CET_U)),
	       "%s: sw xfeatures with CET_U: restored, CET_U not in the XRSTOR mask", m);
	at_peek(&r.a, 0, "u_cet", (uint8_t *)&ucet);
	at_peek(&r.a, 0, "pl3_ssp", (uint8_t *)&ssp);
	tap_ok(ucet == 1 && ssp == 0x7fff0000, "%s: CET_U unchanged by delivery and sigreturn", m);
	/* A frame whose XSTATE_BV claims CET_U: the XRSTOR #GPs. */
	at_deliver(&r.a, 0, AT_SP, 0, XK_SIGUSR1, &r.sf);
	at_st64(&r.a, fp(&r) + 512, at_ld64(&r.a, fp(&r) + 512) | XS_BIT(XS_C_CET_U));
	tap_ok(at_sigreturn(&r.a, 0, r.sf.frame, &res) == -EFAULT && res.signo == XK_SIGSEGV,
	       "%s: XSTATE_BV with CET_U (supervisor) -> SIGSEGV", m);
	at_peek(&r.a, 0, "u_cet", (uint8_t *)&ucet);
	tap_ok(ucet == 1, "%s: CET_U still the task's after the failed sigreturn", m);
	/* The registers are another task's when the sigreturn runs: the
	 * supervisor part comes back from the task's buffer, never the frame. */
	{
		struct xk_task *other = xk_spawn(&r.a.kt.k, "t2");

		at_deliver(&r.a, 0, AT_SP, 0, XK_SIGUSR1, &r.sf);
		xk_enter_kernel(&r.a.kt.k, 0);
		xk_switch(&r.a.kt.k, 0, other);
		xk_return_to_user(&r.a.kt.k, 0);
		at_peek(&r.a, 0, "u_cet", (uint8_t *)&ucet);
		tap_ok(ucet == 0, "%s: t2 runs with its own (init) CET_U", m);
		xk_enter_kernel(&r.a.kt.k, 0);
		xk_switch(&r.a.kt.k, 0, r.t);
		tap_ok(at_sigreturn(&r.a, 0, r.sf.frame, &res) == 0 && r.t->need_load == 0,
		       "%s: sigreturn with the registers not loaded", m);
		at_peek(&r.a, 0, "u_cet", (uint8_t *)&ucet);
		at_peek(&r.a, 0, "pl3_ssp", (uint8_t *)&ssp);
		tap_ok(ucet == 1 && ssp == 0x7fff0000,
		       "%s: CET_U restored from the task's buffer (XRSTORS supervisor)", m);
	}
	at_shutdown(&r.a);
}

/* Reviewer additions (R4): the frame's XSAVE image moved elsewhere by the
 * handler (uc_mcontext.fpstate rewritten). Alignment is the hardware's
 * rule (XRSTOR: 64 bytes, FXRSTOR: 16), user memory the kernel's. */
enum moved { MV_MAGIC2_UNMAPPED, MV_FX_ALIGN16, MV_FX_ALIGN8, MV_XRSTOR_ALIGN16 };

static void run_moved(enum moved m, const char *what)
{
	struct rt r;
	uint64_t to, len;

	if (rt_setup(&r, MODEL, "")) {
		tap_skip("%s: setup failed", what);
		return;
	}
	len = usize(&r) + 4;
	switch (m) {
	case MV_MAGIC2_UNMAPPED:
		/* The first 1024 bytes at the very top of the stack mapping:
		 * the sw bytes are readable, MAGIC2 at + xstate_size is not.
		 * check_xstate_in_sigframe(): __get_user(magic2) faults ->
		 * failure, not the legacy-only fallback. */
		to = AT_STACK_TOP - 1024;
		len = 1024;
		break;
	case MV_FX_ALIGN16:
	case MV_XRSTOR_ALIGN16:
		to = fp(&r) - 0x4000 + 16;
		break;
	case MV_FX_ALIGN8:
	default:
		to = fp(&r) - 0x4000 + 8;
		break;
	}
	memcpy(at_mem(&r.a, to, len), at_mem(&r.a, fp(&r), len), len);
	at_st64(&r.a, r.sf.frame + XK_RTF_FPSTATE, to);
	if (m == MV_FX_ALIGN16 || m == MV_FX_ALIGN8)
		at_st32(&r.a, to + 464, 0); /* magic1 gone: FXRSTOR path */
	if (m == MV_FX_ALIGN16)
		expect_fx_only(&r, what);
	else
		expect_segv(&r, what, false);
	at_shutdown(&r.a);
}

int main(void)
{
	tap_plan_lazy();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(cases[i].t, cases[i].what, "", false);
	/* The failing cases again under sigreturn-fail=keep. */
	run_case(T_BV_BIT62, "XSTATE_BV bit 62", "sigreturn-fail=keep", true);
	run_case(T_XCOMP_BIT0, "XCOMP_BV bit 0", "sigreturn-fail=keep", true);
	run_case(T_RSVD16, "header reserved byte 16", "sigreturn-fail=keep", true);
	run_case(T_MXCSR_RSVD, "MXCSR reserved bit 16", "sigreturn-fail=keep", true);
	run_case(T_MXCSR_RSVD_FX, "MXCSR reserved, legacy-only", "sigreturn-fail=keep", true);
	run_case(T_FPSTATE_UNMAPPED, "fpstate unmapped", "sigreturn-fail=keep", true);
	check_need_load_path();
	check_supervisor();
	run_moved(MV_MAGIC2_UNMAPPED, "MAGIC2 beyond user memory");
	run_moved(MV_FX_ALIGN16, "image moved to a 16-byte boundary, magic1 gone: FXRSTOR");
	run_moved(MV_FX_ALIGN8, "image moved to an 8-byte boundary, magic1 gone: FXRSTOR #GP");
	run_moved(MV_XRSTOR_ALIGN16, "image moved to a 16-byte boundary: XRSTOR #GP");
	return tap_done();
}
