/* Probes of the ptrace FP regsets of a stopped tracee
 * (arch/x86/kernel/fpu/regset.c: xfpregs_get/set, xstateregs_get/set;
 * xstate.c: copy_xstate_to_uabi_buf, copy_uabi_to_xstate;
 * kernel/ptrace.c: ptrace_regset; linux-design.md section 6).
 *
 * The tracee loads pattern A and stops; the tracer reads, writes and reads
 * again; the tracee then reports its registers. A rejected write must leave
 * both the regset view and the registers exactly as they were. */
#include <stdlib.h>
#include <string.h>

#include "xstate/kconform.h"

static void add_call(struct xo_kresults *out, const char *key, const struct xo_kopres *r)
{
	char buf[48];

	xo_kres_add(out, key, "%s", xo_kfmt_call(buf, sizeof(buf), r, false));
}

static const char *zero_or_not(const uint8_t *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[off + i])
			return "nonzero";
	return "zero";
}

/* A 512-byte FXSAVE-format buffer as a standard image with FP|SSE present. */
static void fx_as_image(const uint8_t *fx, uint8_t *img)
{
	memset(img, 0, XO_KIMG_MAX);
	memcpy(img, fx, 512);
	xo_wr64(img, XO_HDR_XSTATE_BV, 3);
}

static bool skip_without_ptrace(const struct xo_kinfo *info, struct xo_kresults *out)
{
	if (info->ptrace)
		return false;
	xo_kres_skip(out, "target %s cannot ptrace its tasks", info->target);
	return true;
}

static struct xo_kop *tr(struct xo_kprog *p, enum xo_kop_kind k, uint64_t note, uint64_t len)
{
	return xo_kprog_add(p, k, note, len);
}

/* ptrace.get: both regsets and PTRACE_GETFPREGS, with natural and odd sizes. */
static void probe_get(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
		      struct xo_kresults *out)
{
	uint32_t xs = info->xstate_size;
	uint8_t *a, *img;
	struct xo_kprog p;
	struct xo_krun *r;

	if (skip_without_ptrace(info, out))
		return;
	a = malloc(2 * (size_t)XO_KIMG_MAX);
	if (!a)
		return xo_kres_error(out, "out of memory");
	img = a + XO_KIMG_MAX;
	xo_kimg_pattern(info, 20, a);
	xo_kprog_init(&p);
	xo_kprog_add(&p, XO_KOP_LOAD_XSTATE, 0, ~0ULL)->data = a;
	tr(&p, XO_KOP_GETREGSET, XO_NT_PRFPREG, 512);          /* 1 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_XSTATE, xs);        /* 2 */
	tr(&p, XO_KOP_GETFPREGS, 0, 0);                        /* 3 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_XSTATE, xs + 64);   /* 4 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_XSTATE, 576);       /* 5 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_PRFPREG, 256);          /* 6 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_XSTATE, xs - 4);    /* 7 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_PRFPREG, 510);          /* 8 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_SHSTK, 8);          /* 9 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_XSAVE_LAYOUT, 64);  /* 10 */
	xo_kprog_add(&p, XO_KOP_SAVE_XSTATE, 0, 0);           /* 11 */
	r = xo_krun_checked(t, &p, out);
	if (r) {
		const uint8_t *fx = r->res[1].img, *x = r->res[2].img;
		struct xo_kcand c[] = { { "input", a } };
		char buf[48];

		xo_kres_add(out, "end", "%s", xo_kfmt_end(buf, sizeof(buf), r));
		add_call(out, "prfpreg", &r->res[1]);
		xo_kres_add(out, "prfpreg.len", "%u", r->res[1].len);
		fx_as_image(fx, img);
		xo_kres_add(out, "prfpreg.fp", "%s", xo_kimg_classify(info, img, XO_C_FP, c, 1));
		xo_kres_add(out, "prfpreg.mxcsr", "%s", xo_kimg_classify(info, img, XO_C_MXCSR, c, 1));
		xo_kres_add(out, "prfpreg.sse", "%s", xo_kimg_classify(info, img, XO_C_SSE, c, 1));
		xo_kres_add(out, "prfpreg.mxcsr_mask", "0x%x", xo_rd32(fx, XO_FX_MXCSR_MASK));
		xo_kres_add(out, "prfpreg.bytes416-463", "%s", zero_or_not(fx, XO_FX_RESERVED, 48));
		xo_kres_add(out, "prfpreg.u64@464", "0x%llx",
			    (unsigned long long)xo_rd64(fx, XO_SW_MAGIC1));
		xo_kres_add(out, "prfpreg.bytes472-511", "%s", zero_or_not(fx, 472, 40));
		xo_kres_add(out, "getfpregs", "%s",
			    r->res[3].ret ? xo_kerrno_name(r->res[3].err)
			    : memcmp(r->res[3].img, fx, 512) ? "differs-from-prfpreg"
							     : "same-as-prfpreg");

		add_call(out, "xstate", &r->res[2]);
		xo_kres_add(out, "xstate.len", "%u", r->res[2].len);
		xo_kres_add(out, "xstate.xstate_bv", "0x%llx",
			    (unsigned long long)xo_rd64(x, XO_HDR_XSTATE_BV));
		xo_kres_add(out, "xstate.xcomp_bv", "0x%llx",
			    (unsigned long long)xo_rd64(x, XO_HDR_XCOMP_BV));
		xo_kres_add(out, "xstate.hdr_reserved", "%s", zero_or_not(x, XO_HDR_RESERVED, 48));
		xo_kres_add(out, "xstate.u64@464", "0x%llx",
			    (unsigned long long)xo_rd64(x, XO_SW_MAGIC1));
		xo_kres_add(out, "xstate.bytes472-511", "%s", zero_or_not(x, 472, 40));
		xo_kres_add(out, "xstate.bytes416-463", "%s", zero_or_not(x, XO_FX_RESERVED, 48));
		xo_kres_add(out, "xstate.legacy_same_as_prfpreg", "%s",
			    memcmp(x, fx, 416) ? "no" : "yes");
		xo_kres_add_state(out, "xstate", info, x, c, 1);

		add_call(out, "xstate.len+64", &r->res[4]);
		xo_kres_add(out, "xstate.len+64.len", "%u", r->res[4].len);
		add_call(out, "xstate.len576", &r->res[5]);
		xo_kres_add(out, "xstate.len576.len", "%u", r->res[5].len);
		xo_kres_add(out, "xstate.len576.prefix", "%s",
			    memcmp(r->res[5].img, x, 576) ? "differs" : "same");
		add_call(out, "prfpreg.len256", &r->res[6]);
		xo_kres_add(out, "prfpreg.len256.len", "%u", r->res[6].len);
		add_call(out, "xstate.len-4", &r->res[7]);
		add_call(out, "prfpreg.len510", &r->res[8]);
		add_call(out, "shstk", &r->res[9]);
		add_call(out, "xsave_layout", &r->res[10]);
		if (r->end == XO_KEND_EXIT)
			xo_kres_add_state(out, "after", info, r->res[11].img, c, 1);
		free(r);
	}
	free(a);
}

/* ptrace.get_ymm_init: a component in init state is absent from xfeatures
 * and its bytes are zero-filled. */
static void probe_get_ymm_init(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			       struct xo_kresults *out)
{
	uint8_t *a;
	struct xo_kprog p;
	struct xo_krun *r;

	if (skip_without_ptrace(info, out))
		return;
	if (!(info->state_mask >> XO_C_YMM & 1))
		return xo_kres_skip(out, "target has no AVX state");
	a = malloc(XO_KIMG_MAX);
	if (!a)
		return xo_kres_error(out, "out of memory");
	xo_kimg_pattern(info, 21, a);
	xo_wr64(a, XO_HDR_XSTATE_BV, xo_rd64(a, XO_HDR_XSTATE_BV) & ~(1ULL << XO_C_YMM));
	xo_kprog_init(&p);
	xo_kprog_add(&p, XO_KOP_LOAD_XSTATE, 0, ~0ULL)->data = a;
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_XSTATE, info->xstate_size);
	r = xo_krun_checked(t, &p, out);
	if (r) {
		const uint8_t *x = r->res[1].img;

		add_call(out, "xstate", &r->res[1]);
		xo_kres_add(out, "xstate.xstate_bv", "0x%llx",
			    (unsigned long long)xo_rd64(x, XO_HDR_XSTATE_BV));
		xo_kres_add(out, "xstate.ymm_bytes", "%s",
			    zero_or_not(x, info->comp_off[XO_C_YMM], info->comp_size[XO_C_YMM]));
		free(r);
	}
	free(a);
}

/* ---- Writes ---- */

enum pt_how { SET_XSTATE, SET_PRFPREG, SET_FPREGS };

struct pt_case {
	enum pt_how how;
	int len_delta;      /* iov_len = natural size + len_delta ... */
	bool len_abs;       /* ... or exactly len_delta */
	void (*mutate)(uint8_t *data, const struct xo_kinfo *info);
};

static void m_bv_fpsse(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr64(d, XO_HDR_XSTATE_BV, 3);
}

static void m_bv_zero(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr64(d, XO_HDR_XSTATE_BV, 0);
}

static void m_mxcsr_reserved(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr32(d, XO_FX_MXCSR, xo_rd32(d, XO_FX_MXCSR) | xo_kmxcsr_bad_bit(info));
}

static void m_bv_zero_bad_mxcsr(uint8_t *d, const struct xo_kinfo *info)
{
	m_bv_zero(d, info);
	m_mxcsr_reserved(d, info);
}

static void m_bv_ymm_only_bad_mxcsr(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr64(d, XO_HDR_XSTATE_BV, 1ULL << XO_C_YMM);
	m_mxcsr_reserved(d, info);
}

static void m_sw_junk(uint8_t *d, const struct xo_kinfo *info)
{
	memset(d + XO_SW_MAGIC1, 0xFF, 48);
}

static void m_fx_reserved(uint8_t *d, const struct xo_kinfo *info)
{
	memset(d + XO_FX_RESERVED, 0xFF, 48);
}

static void m_xfeatures_outside(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr64(d, XO_HDR_XSTATE_BV,
		xo_rd64(d, XO_HDR_XSTATE_BV) | 1ULL << xo_kbit_outside_xcr0(info));
}

static void m_xfeatures_bit63(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr64(d, XO_HDR_XSTATE_BV, xo_rd64(d, XO_HDR_XSTATE_BV) | 1ULL << 63);
}

static void m_xcomp_bv_compacted(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr64(d, XO_HDR_XCOMP_BV, 1ULL << 63 | xo_rd64(d, XO_HDR_XSTATE_BV));
}

static void m_xcomp_bv_1(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr64(d, XO_HDR_XCOMP_BV, 1);
}

static void m_reserved_528(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr32(d, XO_HDR_RESERVED, 0x0FFFFFFF);
}

static void m_reserved_575(uint8_t *d, const struct xo_kinfo *info)
{
	d[XO_HDR_END - 1] = 1;
}

static void m_mxcsr_mask_zero(uint8_t *d, const struct xo_kinfo *info)
{
	xo_wr32(d, XO_FX_MXCSR_MASK, 0);
}

static void probe_set(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
		      struct xo_kresults *out)
{
	const struct pt_case *pc = arg;
	uint32_t natural = pc->how == SET_XSTATE ? info->xstate_size : 512;
	uint64_t note = pc->how == SET_XSTATE ? XO_NT_X86_XSTATE : XO_NT_PRFPREG;
	uint64_t len = pc->len_abs ? (uint64_t)pc->len_delta
				   : (uint64_t)((int64_t)natural + pc->len_delta);
	uint8_t *buf, *a, *b, *d, *init, *before, *after;
	struct xo_kprog p;
	struct xo_krun *r;
	struct xo_kop *op;

	if (skip_without_ptrace(info, out))
		return;
	buf = malloc(6 * (size_t)XO_KIMG_MAX);
	if (!buf)
		return xo_kres_error(out, "out of memory");
	a = buf;
	b = a + XO_KIMG_MAX;
	d = b + XO_KIMG_MAX;
	init = d + XO_KIMG_MAX;
	before = init + XO_KIMG_MAX;
	after = before + XO_KIMG_MAX;
	xo_kimg_pattern(info, 30, a);
	xo_kimg_pattern(info, 31, b);
	xo_kimg_init(info, init);
	memcpy(d, b, XO_KIMG_MAX);
	if (pc->mutate)
		pc->mutate(d, info);

	xo_kprog_init(&p);
	xo_kprog_add(&p, XO_KOP_LOAD_XSTATE, 0, ~0ULL)->data = a;              /* 0 */
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_XSTATE, info->xstate_size);          /* 1 */
	if (pc->how == SET_FPREGS)
		op = tr(&p, XO_KOP_SETFPREGS, 0, 0);                            /* 2 */
	else
		op = tr(&p, XO_KOP_SETREGSET, note, len);
	op->data = d;
	tr(&p, XO_KOP_GETREGSET, XO_NT_X86_XSTATE, info->xstate_size);          /* 3 */
	xo_kprog_add(&p, XO_KOP_SAVE_XSTATE, 0, 0);                            /* 4 */
	r = xo_krun_checked(t, &p, out);
	if (r) {
		/* init before new: a component the write left out (XSTATE_BV bit
		 * clear) is "new" and "init" at once; init says more. */
		struct xo_kcand c[] = { { "saved", a }, { "init", init }, { "new", d } };
		bool same_view = !memcmp(r->res[1].img, r->res[3].img, info->xstate_size);
		bool same_regs = true;
		unsigned comps[XO_KNFEAT + 1], nc = xo_kimg_comps(info, comps);
		char s[48];

		memcpy(before, r->res[1].img, XO_KIMG_MAX);
		memcpy(after, r->res[3].img, XO_KIMG_MAX);
		for (unsigned i = 0; i < nc; i++)
			same_regs &= xo_kimg_comp_equal(info, r->res[4].img, a, comps[i]);
		xo_kres_add(out, "end", "%s", xo_kfmt_end(s, sizeof(s), r));
		add_call(out, "set", &r->res[2]);
		if (pc->how != SET_FPREGS)
			xo_kres_add(out, "set.len", "%u", r->res[2].len);
		xo_kres_add(out, "unchanged", "%s", same_view && same_regs ? "yes" : "no");
		xo_kres_add_state(out, "get_after", info, after, c, 3);
		xo_kres_add(out, "get_after.mxcsr_mask", "0x%x", xo_rd32(after, XO_FX_MXCSR_MASK));
		xo_kres_add(out, "get_after.xstate_bv", "0x%llx",
			    (unsigned long long)xo_rd64(after, XO_HDR_XSTATE_BV));
		if (r->end == XO_KEND_EXIT)
			xo_kres_add_state(out, "after", info, r->res[4].img, c, 3);
		free(r);
	}
	free(buf);
}

#define SETCASE(n, how, d, abs, m, s)                                        \
	{ "ptrace." n, "ptrace", s, probe_set, &(const struct pt_case){ how, d, abs, m } }

const struct xo_kprobe xo_kprobes_ptrace[] = {
	{ "ptrace.get", "ptrace", "GETREGSET NT_PRFPREG / NT_X86_XSTATE / GETFPREGS and sizes",
	  probe_get, NULL },
	{ "ptrace.get_ymm_init", "ptrace", "NT_X86_XSTATE read of a task with YMM in init state",
	  probe_get_ymm_init, NULL },
	SETCASE("xstate.valid", SET_XSTATE, 0, false, NULL, "write a complete new state"),
	SETCASE("xstate.bv_fpsse", SET_XSTATE, 0, false, m_bv_fpsse, "xfeatures = FP|SSE"),
	SETCASE("xstate.bv_zero", SET_XSTATE, 0, false, m_bv_zero, "xfeatures = 0"),
	SETCASE("xstate.bv_zero_bad_mxcsr", SET_XSTATE, 0, false, m_bv_zero_bad_mxcsr,
		"xfeatures = 0 with a reserved MXCSR bit"),
	SETCASE("xstate.bv_ymm_bad_mxcsr", SET_XSTATE, 0, false, m_bv_ymm_only_bad_mxcsr,
		"xfeatures = YMM with a reserved MXCSR bit"),
	SETCASE("xstate.sw_junk", SET_XSTATE, 0, false, m_sw_junk, "sw_reserved bytes all ones"),
	SETCASE("xstate.fx_reserved", SET_XSTATE, 0, false, m_fx_reserved,
		"FXSAVE bytes 416..463 all ones"),
	SETCASE("xstate.mxcsr_mask_zero", SET_XSTATE, 0, false, m_mxcsr_mask_zero,
		"MXCSR_MASK field 0"),
	SETCASE("xstate.len-8", SET_XSTATE, -8, false, NULL, "iov_len = size - 8"),
	SETCASE("xstate.len-4", SET_XSTATE, -4, false, NULL, "iov_len = size - 4 (not a multiple of 8)"),
	SETCASE("xstate.len+64", SET_XSTATE, 64, false, NULL, "iov_len = size + 64"),
	SETCASE("xstate.len512", SET_XSTATE, 512, true, NULL, "iov_len = 512"),
	SETCASE("xstate.len0", SET_XSTATE, 0, true, NULL, "iov_len = 0"),
	SETCASE("xstate.xfeatures_outside", SET_XSTATE, 0, false, m_xfeatures_outside,
		"xfeatures with a component outside XCR0"),
	SETCASE("xstate.xfeatures_bit63", SET_XSTATE, 0, false, m_xfeatures_bit63, "xfeatures bit 63"),
	SETCASE("xstate.xcomp_bv_compacted", SET_XSTATE, 0, false, m_xcomp_bv_compacted,
		"xcomp_bv = bit 63 | xfeatures"),
	SETCASE("xstate.xcomp_bv_1", SET_XSTATE, 0, false, m_xcomp_bv_1, "xcomp_bv = 1"),
	SETCASE("xstate.reserved_528", SET_XSTATE, 0, false, m_reserved_528,
		"header reserved bytes 528..531 nonzero"),
	SETCASE("xstate.reserved_575", SET_XSTATE, 0, false, m_reserved_575, "last header byte nonzero"),
	SETCASE("xstate.mxcsr_reserved", SET_XSTATE, 0, false, m_mxcsr_reserved,
		"MXCSR with a bit outside MXCSR_MASK"),
	SETCASE("prfpreg.valid", SET_PRFPREG, 0, false, NULL, "NT_PRFPREG write of new legacy state"),
	SETCASE("prfpreg.len256", SET_PRFPREG, 256, true, NULL, "NT_PRFPREG iov_len 256"),
	SETCASE("prfpreg.len+16", SET_PRFPREG, 16, false, NULL, "NT_PRFPREG iov_len 528"),
	SETCASE("prfpreg.len510", SET_PRFPREG, 510, true, NULL, "NT_PRFPREG iov_len 510"),
	SETCASE("prfpreg.mxcsr_reserved", SET_PRFPREG, 0, false, m_mxcsr_reserved,
		"NT_PRFPREG with a reserved MXCSR bit"),
	SETCASE("setfpregs.valid", SET_FPREGS, 0, false, NULL, "PTRACE_SETFPREGS of new legacy state"),
	SETCASE("setfpregs.mxcsr_reserved", SET_FPREGS, 0, false, m_mxcsr_reserved,
		"PTRACE_SETFPREGS with a reserved MXCSR bit"),
};
const size_t xo_kprobes_ptrace_n = sizeof(xo_kprobes_ptrace) / sizeof(xo_kprobes_ptrace[0]);
