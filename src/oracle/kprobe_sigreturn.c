/* Probes of rt_sigreturn's validation of the frame's extended-state area
 * (arch/x86/kernel/fpu/signal.c: check_xstate_in_sigframe, fpu__restore_sig,
 * restore_fpregs_from_user; linux-design.md section 5.3).
 *
 * Each case loads pattern A into the task, takes SIGUSR1 on an alternate
 * stack, lets a tamper function edit the frame, loads pattern C in the
 * handler (so a component the kernel does not restore shows up as
 * "handler"), and returns. The result says how the run ended and, component
 * by component, what the task's state became:
 *   saved   - pattern A, i.e. restored from the untouched frame data
 *   init    - the init value (reset: legacy-only fallback or failure)
 *   frame   - the tampered frame's own (edited) value
 *   handler - pattern C, left over from the handler: not restored at all
 * A rejected frame ends the task with SIGSEGV (si_code SI_KERNEL = 0x80); the
 * state found in that SIGSEGV's frame is reported as segv.<component>. */
#include <stdlib.h>
#include <string.h>

#include "xstate/kconform.h"

#define ALTSTACK_SIZE 65536u

static uint32_t sw_xstate_size(const struct xo_kframe_edit *e)
{
	return xo_rd32(e->fx, XO_SW_XSTATE_SIZE);
}

static uint64_t bv_get(const struct xo_kframe_edit *e)
{
	return xo_rd64(e->fx, XO_HDR_XSTATE_BV);
}

/* ---- Tamper functions, one per validation rule ---- */

static void t_edit_data(struct xo_kframe_edit *e)
{
	const uint8_t *b = e->arg; /* pattern B */
	const struct xo_kinfo *info = e->info;

	memcpy(e->fx, b, 160);                     /* x87 */
	memcpy(e->fx + XO_FX_MXCSR, b + XO_FX_MXCSR, 4);
	memcpy(e->fx + XO_FX_XMM, b + XO_FX_XMM, 256);
	for (unsigned c = 2; c < XO_KNFEAT; c++)
		if ((info->state_mask >> c & 1) && info->comp_off[c] + info->comp_size[c] <= e->len)
			memcpy(e->fx + info->comp_off[c], b + info->comp_off[c], info->comp_size[c]);
}

static void t_null_fpregs(struct xo_kframe_edit *e)
{
	e->fpregs_null = true;
}

static void t_bv_clear_ymm(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_HDR_XSTATE_BV, bv_get(e) & ~(1ULL << XO_C_YMM));
}

static void t_bv_clear_fpsse(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_HDR_XSTATE_BV, bv_get(e) & ~3ULL);
}

static void t_bv_zero(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_HDR_XSTATE_BV, 0);
}

static void t_bad_magic1(struct xo_kframe_edit *e)
{
	xo_wr32(e->fx, XO_SW_MAGIC1, xo_rd32(e->fx, XO_SW_MAGIC1) ^ 1);
}

static void t_bad_magic2(struct xo_kframe_edit *e)
{
	uint32_t xs = sw_xstate_size(e);

	xo_wr32(e->fx, xs, xo_rd32(e->fx, xs) ^ 1);
}

static void t_xstate_size_575(struct xo_kframe_edit *e)
{
	xo_wr32(e->fx, XO_SW_XSTATE_SIZE, 575);
}

static void t_xstate_size_big(struct xo_kframe_edit *e)
{
	uint32_t xs = sw_xstate_size(e);

	/* MAGIC2 follows the claimed size, so only the size rule can object. */
	xo_wr32(e->fx, XO_SW_XSTATE_SIZE, xs + 64);
	xo_wr32(e->fx, XO_SW_EXTENDED_SIZE, xs + 64 + 4);
	xo_wr32(e->fx, xs + 64, XO_FP_XSTATE_MAGIC2);
}

static void t_xstate_size_576(struct xo_kframe_edit *e)
{
	xo_wr32(e->fx, XO_SW_XSTATE_SIZE, 576);
	xo_wr32(e->fx, 576, XO_FP_XSTATE_MAGIC2);
}

static void t_xstate_size_576_fpsse(struct xo_kframe_edit *e)
{
	t_xstate_size_576(e);
	xo_wr64(e->fx, XO_SW_XFEATURES, 3);
}

static void t_extended_size_small(struct xo_kframe_edit *e)
{
	xo_wr32(e->fx, XO_SW_EXTENDED_SIZE, sw_xstate_size(e) + 3);
}

static void t_extended_size_below(struct xo_kframe_edit *e)
{
	xo_wr32(e->fx, XO_SW_EXTENDED_SIZE, sw_xstate_size(e) - 1);
}

static void t_extended_size_big(struct xo_kframe_edit *e)
{
	xo_wr32(e->fx, XO_SW_EXTENDED_SIZE, sw_xstate_size(e) + 4 + 64);
}

static void t_xfeatures_outside(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_SW_XFEATURES,
		xo_rd64(e->fx, XO_SW_XFEATURES) | 1ULL << xo_kbit_outside_xcr0(e->info));
}

static void t_xfeatures_bit63(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_SW_XFEATURES, xo_rd64(e->fx, XO_SW_XFEATURES) | 1ULL << 63);
}

static void t_xfeatures_fpsse(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_SW_XFEATURES, 3);
}

static void t_xfeatures_zero(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_SW_XFEATURES, 0);
}

static void t_bv_outside_xcr0(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_HDR_XSTATE_BV, bv_get(e) | 1ULL << xo_kbit_outside_xcr0(e->info));
}

static void t_bv_bit63(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_HDR_XSTATE_BV, bv_get(e) | 1ULL << 63);
}

static void t_xcomp_bv_1(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_HDR_XCOMP_BV, 1);
}

static void t_xcomp_bv_compacted(struct xo_kframe_edit *e)
{
	/* A consistent compacted-form header over the same bytes. */
	xo_wr64(e->fx, XO_HDR_XCOMP_BV, 1ULL << 63 | bv_get(e));
}

static void t_xcomp_bv_bit63_only(struct xo_kframe_edit *e)
{
	xo_wr64(e->fx, XO_HDR_XCOMP_BV, 1ULL << 63);
}

static void t_hdr_reserved_528(struct xo_kframe_edit *e)
{
	/* tools/testing/selftests/x86/corrupt_xstate_header.c */
	xo_wr32(e->fx, XO_HDR_RESERVED, 0x0FFFFFFF);
}

static void t_hdr_reserved_575(struct xo_kframe_edit *e)
{
	e->fx[XO_HDR_END - 1] = 1;
}

static void t_mxcsr_reserved(struct xo_kframe_edit *e)
{
	xo_wr32(e->fx, XO_FX_MXCSR, xo_rd32(e->fx, XO_FX_MXCSR) | xo_kmxcsr_bad_bit(e->info));
}

static void t_mxcsr_mask_field(struct xo_kframe_edit *e)
{
	xo_wr32(e->fx, XO_FX_MXCSR_MASK, 0);
}

static void t_ftw_zero(struct xo_kframe_edit *e)
{
	e->fx[XO_FX_FTW] = 0;
}

static void t_ftw_reserved(struct xo_kframe_edit *e)
{
	e->fx[XO_FX_FTW + 1] = 0xFF;
}

static void t_sw_padding(struct xo_kframe_edit *e)
{
	for (int i = 0; i < 7; i++)
		xo_wr32(e->fx, XO_SW_PADDING + 4 * i, 0xFFFFFFFF);
}

static void t_fx_reserved(struct xo_kframe_edit *e)
{
	memset(e->fx + XO_FX_RESERVED, 0xFF, 48);
}

static void t_magic1_and_reserved(struct xo_kframe_edit *e)
{
	t_bad_magic1(e);
	t_hdr_reserved_528(e);
}

static void t_magic1_and_mxcsr(struct xo_kframe_edit *e)
{
	t_bad_magic1(e);
	t_mxcsr_reserved(e);
}

static void move_up(struct xo_kframe_edit *e, int32_t by)
{
	if (e->len + (uint32_t)by > e->cap)
		return; /* the backend promised len + 64 */
	memmove(e->fx + by, e->fx, e->len);
	e->fpregs_delta = by;
}

static void t_fpregs_plus64(struct xo_kframe_edit *e)
{
	move_up(e, 64);
}

static void t_fpregs_plus16(struct xo_kframe_edit *e)
{
	move_up(e, 16);
}

struct sr_case {
	xo_ktamper_fn *fn;
	bool needs_ymm; /* the rule is about YMM: skip without AVX */
	bool data_b;    /* the tamper writes pattern B (passed as its argument) */
};

static void report_state(struct xo_kresults *out, const char *prefix, const struct xo_kinfo *info,
			 const uint8_t *img, const uint8_t *const cand_img[4])
{
	struct xo_kcand cand[] = {
		{ "saved", cand_img[0] },
		{ "init", cand_img[1] },
		{ "frame", cand_img[2] },
		{ "handler", cand_img[3] },
	};

	xo_kres_add_state(out, prefix, info, img, cand, 4);
}

static void probe_sigreturn(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			    struct xo_kresults *out)
{
	const struct sr_case *sc = arg;
	uint8_t *buf = malloc(4 * (size_t)XO_KIMG_MAX);
	uint8_t *a, *b, *c, *init;
	struct xo_kprog p;
	struct xo_krun *r;
	struct xo_kop *sig;
	char s[48];

	if (!buf)
		return xo_kres_error(out, "out of memory");
	if (sc->needs_ymm && !(info->state_mask >> XO_C_YMM & 1)) {
		free(buf);
		return xo_kres_skip(out, "target has no AVX state (XCR0 0x%llx)",
				    (unsigned long long)info->xcr0);
	}
	a = buf;
	b = buf + XO_KIMG_MAX;
	c = buf + 2 * XO_KIMG_MAX;
	init = buf + 3 * XO_KIMG_MAX;
	xo_kimg_pattern(info, 10, a);
	xo_kimg_pattern(info, 11, b);
	xo_kimg_pattern(info, 12, c);
	xo_kimg_init(info, init);

	xo_kprog_init(&p);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, ALTSTACK_SIZE, 0);
	xo_kprog_add(&p, XO_KOP_LOAD_XSTATE, 0, ~0ULL)->data = a;
	sig = xo_kprog_add(&p, XO_KOP_SIGNAL, 0, 0);
	sig->sig.tamper = sc->fn;
	sig->sig.tamper_arg = sc->data_b ? b : NULL;
	sig->sig.clobber = c;
	xo_kprog_add(&p, XO_KOP_SAVE_XSTATE, 0, 0);
	r = xo_krun_checked(t, &p, out);
	if (r) {
		const struct xo_ksigres *sr = &r->sig[0];
		const uint8_t *cand[4] = { a, init, sr->tampered, c };

		xo_kres_add(out, "end", "%s", xo_kfmt_end(s, sizeof(s), r));
		xo_kres_add(out, "delivered", "%s", sr->delivered ? "yes" : "no");
		xo_kres_add(out, "returned", "%s", sr->returned ? "yes" : "no");
		if (r->end == XO_KEND_EXIT)
			report_state(out, "after", info, r->res[3].img, cand);
		else if (r->end == XO_KEND_FATAL && r->end_state_valid)
			report_state(out, "segv", info, r->end_state, cand);
		free(r);
	}
	free(buf);
}

#define CASE(n, f, y, b, s)                                                    \
	{ "sigreturn." n, "sigreturn", s, probe_sigreturn,                     \
	  &(const struct sr_case){ f, y, b } }

const struct xo_kprobe xo_kprobes_sigreturn[] = {
	CASE("untouched", NULL, false, false, "frame returned as delivered"),
	CASE("edit_data", t_edit_data, false, true,
	     "handler writes new register data into the frame"),
	CASE("fpregs_null", t_null_fpregs, false, false, "uc_mcontext.fpregs = NULL"),
	CASE("bv_clear_ymm", t_bv_clear_ymm, true, false, "XSTATE_BV without YMM"),
	CASE("bv_clear_fpsse", t_bv_clear_fpsse, false, false, "XSTATE_BV without FP and SSE"),
	CASE("bv_zero", t_bv_zero, false, false, "XSTATE_BV = 0"),
	CASE("bad_magic1", t_bad_magic1, false, false, "sw_reserved magic1 wrong"),
	CASE("bad_magic2", t_bad_magic2, false, false, "MAGIC2 after the image wrong"),
	CASE("xstate_size_575", t_xstate_size_575, false, false, "sw xstate_size below 576"),
	CASE("xstate_size_big", t_xstate_size_big, false, false,
	     "sw xstate_size above the task's size (MAGIC2 moved along)"),
	CASE("xstate_size_576", t_xstate_size_576, false, false,
	     "sw xstate_size 576 (MAGIC2 moved) with all xfeatures"),
	CASE("xstate_size_576_fpsse", t_xstate_size_576_fpsse, false, false,
	     "sw xstate_size 576 and xfeatures FP|SSE (consistent legacy frame)"),
	CASE("extended_size_small", t_extended_size_small, false, false,
	     "sw extended_size below xstate_size + 4"),
	CASE("extended_size_below", t_extended_size_below, false, false,
	     "sw extended_size below xstate_size"),
	CASE("extended_size_big", t_extended_size_big, false, false, "sw extended_size too large"),
	CASE("xfeatures_outside", t_xfeatures_outside, false, false,
	     "sw xfeatures with a component outside XCR0"),
	CASE("xfeatures_bit63", t_xfeatures_bit63, false, false, "sw xfeatures bit 63"),
	CASE("xfeatures_fpsse", t_xfeatures_fpsse, true, false, "sw xfeatures = FP|SSE"),
	CASE("xfeatures_zero", t_xfeatures_zero, false, false, "sw xfeatures = 0"),
	CASE("bv_outside_xcr0", t_bv_outside_xcr0, false, false,
	     "header XSTATE_BV with a component outside XCR0"),
	CASE("bv_bit63", t_bv_bit63, false, false, "header XSTATE_BV bit 63"),
	CASE("xcomp_bv_1", t_xcomp_bv_1, false, false, "header XCOMP_BV = 1 (standard form)"),
	CASE("xcomp_bv_compacted", t_xcomp_bv_compacted, false, false,
	     "header XCOMP_BV = bit 63 | XSTATE_BV (a valid compacted header)"),
	CASE("xcomp_bv_bit63_only", t_xcomp_bv_bit63_only, false, false,
	     "header XCOMP_BV = bit 63 alone (XSTATE_BV not covered)"),
	CASE("hdr_reserved_528", t_hdr_reserved_528, false, false,
	     "0x0FFFFFFF at frame offset 528 (selftest corrupt_xstate_header)"),
	CASE("hdr_reserved_575", t_hdr_reserved_575, false, false, "last header byte nonzero"),
	CASE("mxcsr_reserved", t_mxcsr_reserved, false, false,
	     "MXCSR with a bit outside MXCSR_MASK"),
	CASE("mxcsr_mask_field", t_mxcsr_mask_field, false, false, "MXCSR_MASK field = 0"),
	CASE("ftw_zero", t_ftw_zero, false, false, "abridged FTW = 0"),
	CASE("ftw_reserved", t_ftw_reserved, false, false, "reserved byte after FTW = 0xFF"),
	CASE("sw_padding", t_sw_padding, false, false, "sw_reserved padding all ones"),
	CASE("fx_reserved", t_fx_reserved, false, false, "FXSAVE bytes 416..463 all ones"),
	CASE("magic1_and_reserved", t_magic1_and_reserved, false, false,
	     "bad magic1 and a corrupt header together"),
	CASE("magic1_and_mxcsr", t_magic1_and_mxcsr, false, false,
	     "bad magic1 and a reserved MXCSR bit together"),
	CASE("fpregs_plus64", t_fpregs_plus64, false, false,
	     "FP area moved up 64 bytes, fpregs pointer follows"),
	CASE("fpregs_plus16", t_fpregs_plus16, false, false,
	     "FP area moved up 16 bytes (not 64-byte aligned), fpregs pointer follows"),
};
const size_t xo_kprobes_sigreturn_n = sizeof(xo_kprobes_sigreturn) / sizeof(xo_kprobes_sigreturn[0]);
