/* Probes of the x86-64 signal frame's extended-state area
 * (arch/x86/kernel/fpu/signal.c: copy_fpstate_to_sigframe, save_sw_bytes;
 * arch/x86/kernel/signal.c: get_sigframe; linux-design.md section 5.1/5.2).
 *
 * Frames are taken on a fresh alternate stack filled with XO_KSTACK_FILL, so
 * bytes the kernel leaves alone are recognisable and every distance from
 * the stack top is deterministic. */
#include <stdlib.h>
#include <string.h>

#include "xstate/kconform.h"

#define ALTSTACK_SIZE 65536u

/* "untouched" (still the altstack fill), "zero", or "written". */
static const char *range_kind(const uint8_t *p, size_t off, size_t n)
{
	bool fill = true, zero = true;

	for (size_t i = 0; i < n; i++) {
		fill &= p[off + i] == XO_KSTACK_FILL;
		zero &= p[off + i] == 0;
	}
	return fill ? "untouched" : zero ? "zero" : "written";
}

static void add_u32(struct xo_kresults *out, const char *key, uint32_t v)
{
	xo_kres_add(out, key, "%u", v);
}

static void add_hex(struct xo_kresults *out, const char *key, uint64_t v)
{
	xo_kres_add(out, key, "0x%llx", (unsigned long long)v);
}

/* The software bytes, header and magic of a captured frame. */
static void report_frame_format(struct xo_kresults *out, const struct xo_ksigres *s)
{
	const uint8_t *f = s->frame;
	uint32_t xs = xo_rd32(f, XO_SW_XSTATE_SIZE);
	size_t pad_nonzero = 0, rsv_nonzero = 0;

	add_hex(out, "sw.magic1", xo_rd32(f, XO_SW_MAGIC1));
	add_u32(out, "sw.extended_size", xo_rd32(f, XO_SW_EXTENDED_SIZE));
	add_hex(out, "sw.xfeatures", xo_rd64(f, XO_SW_XFEATURES));
	add_u32(out, "sw.xstate_size", xs);
	for (int i = 0; i < 7; i++)
		pad_nonzero += xo_rd32(f, XO_SW_PADDING + 4 * i) != 0;
	xo_kres_add(out, "sw.padding", "%s", pad_nonzero ? "nonzero" : "zero");
	if (xs >= XO_HDR_END && xs + 4 <= s->frame_len)
		add_hex(out, "magic2@xstate_size", xo_rd32(f, xs));
	else
		xo_kres_add(out, "magic2@xstate_size", "out-of-frame");
	add_hex(out, "hdr.xstate_bv", xo_rd64(f, XO_HDR_XSTATE_BV));
	add_hex(out, "hdr.xcomp_bv", xo_rd64(f, XO_HDR_XCOMP_BV));
	for (size_t i = XO_HDR_RESERVED; i < XO_HDR_END; i++)
		rsv_nonzero += f[i] != 0;
	xo_kres_add(out, "hdr.reserved", "%s", rsv_nonzero ? "nonzero" : "zero");
	add_hex(out, "fx.mxcsr_mask", xo_rd32(f, XO_FX_MXCSR_MASK));
	xo_kres_add(out, "fx.bytes416-463", "%s", range_kind(f, XO_FX_RESERVED, 48));
}

static void report_geometry(struct xo_kresults *out, const struct xo_ksigres *s)
{
	xo_kres_add(out, "uc_flags", "0x%llx", (unsigned long long)s->uc_flags);
	add_u32(out, "fpregs.mod64", s->fpregs_mod64);
	xo_kres_add(out, "on_altstack", "%s", s->on_altstack ? "yes" : "no");
	if (s->on_altstack) {
		add_u32(out, "geom.top-fpregs", s->top_minus_fpregs);
		add_u32(out, "geom.top-sp", s->top_minus_sp);
		add_u32(out, "geom.uc-sp", s->uc_minus_sp);
		add_u32(out, "geom.siginfo-sp", s->info_minus_sp);
	} else {
		xo_kres_add(out, "redzone_skipped", "%s", s->redzone_ok ? "yes" : "no");
	}
}

/* Run: [altstack], load img (unless NULL), signal, save. */
static struct xo_krun *signal_run(struct xo_ktarget *t, const uint8_t *img, bool altstack,
				  struct xo_kresults *out, unsigned *save)
{
	struct xo_kprog p;

	xo_kprog_init(&p);
	if (altstack)
		xo_kprog_add(&p, XO_KOP_SIGALTSTACK, ALTSTACK_SIZE, 0);
	if (img)
		xo_kprog_add(&p, XO_KOP_LOAD_XSTATE, 0, ~0ULL)->data = img;
	xo_kprog_add(&p, XO_KOP_SIGNAL, 0, 0);
	*save = p.n;
	xo_kprog_add(&p, XO_KOP_SAVE_XSTATE, 0, 0);
	return xo_krun_checked(t, &p, out);
}

static void report_run(struct xo_kresults *out, const struct xo_kinfo *info,
		       const struct xo_krun *r, const uint8_t *input, unsigned save)
{
	const struct xo_ksigres *s = &r->sig[0];
	const uint8_t *after = r->res[save].img;
	struct xo_kcand in_first[] = { { "input", input }, { "init", NULL } };
	struct xo_kcand init_first[] = { { "init", NULL }, { "input", input } };
	uint8_t *init = malloc(XO_KIMG_MAX);
	char buf[48];

	if (!init) {
		xo_kres_error(out, "out of memory");
		return;
	}
	xo_kimg_init(info, init);
	in_first[1].img = init;
	init_first[0].img = init;
	xo_kres_add(out, "end", "%s", xo_kfmt_end(buf, sizeof(buf), r));
	xo_kres_add(out, "delivered", "%s", s->delivered ? "yes" : "no");
	if (s->delivered) {
		xo_kres_add(out, "si_code", "%d", s->code);
		report_geometry(out, s);
		if (s->frame_len) {
			report_frame_format(out, s);
			xo_kres_add_state(out, "frame", info, s->frame, in_first, 2);
		}
		xo_kres_add_state(out, "entry", info, s->entry, init_first, 2);
		xo_kres_add(out, "sigcontext.fs", "0x%x", s->sc_fs);
		xo_kres_add(out, "sigcontext.gs", "0x%x", s->sc_gs);
	}
	if (r->end == XO_KEND_EXIT)
		xo_kres_add_state(out, "after", info, after, in_first, 2);
	free(init);
}

/* sigframe.layout: every state_mask component non-init. */
static void probe_layout(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			 struct xo_kresults *out)
{
	uint8_t *a = malloc(XO_KIMG_MAX);
	struct xo_krun *r;
	unsigned save;

	if (!a)
		return xo_kres_error(out, "out of memory");
	xo_kimg_pattern(info, 1, a);
	r = signal_run(t, a, true, out, &save);
	if (r) {
		report_run(out, info, r, a, save);
		free(r);
	}
	free(a);
}

/* sigframe.ymm_init: YMM in its init state is not written to the frame. */
static void probe_ymm_init(struct xo_ktarget *t, const struct xo_kinfo *info,
			   const void *arg, struct xo_kresults *out)
{
	uint8_t *a;
	struct xo_krun *r;
	unsigned save;

	if (!(info->state_mask >> XO_C_YMM & 1))
		return xo_kres_skip(out, "target has no AVX state (XCR0 0x%llx)",
				    (unsigned long long)info->xcr0);
	a = malloc(XO_KIMG_MAX);
	if (!a)
		return xo_kres_error(out, "out of memory");
	xo_kimg_pattern(info, 2, a);
	xo_wr64(a, XO_HDR_XSTATE_BV, xo_rd64(a, XO_HDR_XSTATE_BV) & ~(1ULL << XO_C_YMM));
	r = signal_run(t, a, true, out, &save);
	if (r) {
		const struct xo_ksigres *s = &r->sig[0];

		report_run(out, info, r, a, save);
		if (s->frame_len >= info->comp_off[XO_C_YMM] + info->comp_size[XO_C_YMM])
			xo_kres_add(out, "frame.ymm_bytes", "%s",
				    range_kind(s->frame, info->comp_off[XO_C_YMM],
					       info->comp_size[XO_C_YMM]));
		free(r);
	}
	free(a);
}

/* sigframe.init_state: a task that never touched its registers. */
static void probe_init_state(struct xo_ktarget *t, const struct xo_kinfo *info,
			     const void *arg, struct xo_kresults *out)
{
	uint8_t *init = malloc(XO_KIMG_MAX);
	struct xo_krun *r;
	unsigned save;

	if (!init)
		return xo_kres_error(out, "out of memory");
	xo_kimg_init(info, init);
	r = signal_run(t, NULL, true, out, &save);
	if (r) {
		report_run(out, info, r, init, save);
		free(r);
	}
	free(init);
}

/* sigframe.no_altstack: the frame on the interrupted stack. */
static void probe_no_altstack(struct xo_ktarget *t, const struct xo_kinfo *info,
			      const void *arg, struct xo_kresults *out)
{
	uint8_t *a = malloc(XO_KIMG_MAX);
	struct xo_krun *r;
	unsigned save;

	if (!a)
		return xo_kres_error(out, "out of memory");
	xo_kimg_pattern(info, 3, a);
	r = signal_run(t, a, false, out, &save);
	if (r) {
		const struct xo_ksigres *s = &r->sig[0];
		struct xo_kcand c[] = { { "input", a } };
		char buf[48];

		/* Stack contents around the frame are not deterministic here: report
		 * only what the kernel itself writes. */
		xo_kres_add(out, "end", "%s", xo_kfmt_end(buf, sizeof(buf), r));
		xo_kres_add(out, "delivered", "%s", s->delivered ? "yes" : "no");
		report_geometry(out, s);
		add_hex(out, "sw.magic1", xo_rd32(s->frame, XO_SW_MAGIC1));
		add_u32(out, "sw.xstate_size", xo_rd32(s->frame, XO_SW_XSTATE_SIZE));
		add_hex(out, "hdr.xstate_bv", xo_rd64(s->frame, XO_HDR_XSTATE_BV));
		xo_kres_add_state(out, "frame", info, s->frame, c, 1);
		if (r->end == XO_KEND_EXIT)
			xo_kres_add_state(out, "after", info, r->res[save].img, c, 1);
		free(r);
	}
	free(a);
}

const struct xo_kprobe xo_kprobes_sigframe[] = {
	{ "sigframe.layout", "sigframe",
	  "frame of a task with every component in use: sw bytes, header, magics, geometry",
	  probe_layout, NULL },
	{ "sigframe.ymm_init", "sigframe", "YMM in init state: XSTATE_BV bit and frame bytes",
	  probe_ymm_init, NULL },
	{ "sigframe.init_state", "sigframe", "frame of a task still in the init state",
	  probe_init_state, NULL },
	{ "sigframe.no_altstack", "sigframe", "frame on the interrupted stack (red zone, alignment)",
	  probe_no_altstack, NULL },
};
const size_t xo_kprobes_sigframe_n = sizeof(xo_kprobes_sigframe) / sizeof(xo_kprobes_sigframe[0]);
