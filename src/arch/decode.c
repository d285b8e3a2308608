/* Decoding XSAVE images: what each byte of an area means (SDM Vol. 1 13.4,
 * 13.5) and whether XRSTOR would take it.
 *
 * The verdict is not re-derived here: the image is restored on a scratch
 * copy of the caller's CPU, so `xstate decode` can never disagree with the
 * model's XRSTOR. Only the presentation lives in this file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xstate/prog.h"
#include "xstate/json.h"

/* A run of equally sized registers inside a component image. */
struct reg_run {
	const char *fmt;    /* printf format with one %u: "ymm%u_h" */
	unsigned first;     /* number of the first register */
	unsigned count;
	unsigned size;      /* bytes each */
	unsigned off;       /* offset of the first in the component */
};

#define RUNS_MAX 6
static const struct comp_regs {
	struct reg_run run[RUNS_MAX];
} comp_regs[XS_NAMED_COMPS] = {
	[XS_C_AVX] = { { { "ymm%u_h", 0, 16, 16, 0 } } },
	[XS_C_BNDREGS] = { { { "bnd%u", 0, 4, 16, 0 } } },
	[XS_C_BNDCSR] = { { { "bndcfgu", 0, 1, 8, 0 }, { "bndstatus", 0, 1, 8, 8 } } },
	[XS_C_OPMASK] = { { { "k%u", 0, 8, 8, 0 } } },
	[XS_C_ZMM_HI256] = { { { "zmm%u_h", 0, 16, 32, 0 } } },
	[XS_C_HI16_ZMM] = { { { "zmm%u", 16, 16, 64, 0 } } },
	[XS_C_PT] = { { { "rtit_ctl", 0, 1, 8, 0 },
			{ "rtit_output_base", 0, 1, 8, 8 },
			{ "rtit_output_mask_ptrs", 0, 1, 8, 16 },
			{ "rtit_status", 0, 1, 8, 24 },
			{ "rtit_cr3_match", 0, 1, 8, 32 },
			{ "rtit_addr%u", 0, 4, 8, 40 } } },
	[XS_C_PKRU] = { { { "pkru", 0, 1, 4, 0 } } },
	[XS_C_PASID] = { { { "pasid", 0, 1, 8, 0 } } },
	[XS_C_CET_U] = { { { "u_cet", 0, 1, 8, 0 }, { "pl3_ssp", 0, 1, 8, 8 } } },
	[XS_C_CET_S] = { { { "pl%u_ssp", 0, 3, 8, 0 } } },
	[XS_C_HDC] = { { { "pm_ctl1", 0, 1, 8, 0 } } },
	[XS_C_UINTR] = { { { "uintr_handler", 0, 1, 8, 0 },
			   { "uintr_stackadjust", 0, 1, 8, 8 },
			   { "uintr_misc", 0, 1, 8, 16 },
			   { "uintr_pd", 0, 1, 8, 24 },
			   { "uintr_rr", 0, 1, 8, 32 },
			   { "uintr_tt", 0, 1, 8, 40 } } },
	[XS_C_LBR] = { { { "lbr_ctl", 0, 1, 8, 0 },
			 { "lbr_depth", 0, 1, 8, 8 },
			 { "ler_from", 0, 1, 8, 16 },
			 { "ler_to", 0, 1, 8, 24 },
			 { "ler_info", 0, 1, 8, 32 } } },
	[XS_C_HWP] = { { { "hwp_request", 0, 1, 8, 0 } } },
	[XS_C_XTILECFG] = { { { "tilecfg", 0, 1, 64, 0 } } },
	[XS_C_APX] = { { { "r%u", 16, 16, 8, 0 } } },
};

static uint64_t ld(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

struct out {
	FILE *f;
	bool json;
	bool first;   /* no comma before the next JSON member */
};

static void hexle(FILE *f, const uint8_t *p, unsigned n)
{
	fputs("0x", f);
	while (n-- > 0)
		fprintf(f, "%02x", p[n]);
}

/* One register: "  NAME = 0x..." or a JSON member. */
static void reg(struct out *o, const char *name, const uint8_t *p, unsigned n)
{
	if (o->json) {
		fprintf(o->f, "%s\"%s\":\"", o->first ? "" : ",", name);
		hexle(o->f, p, n);
		fputc('"', o->f);
		o->first = false;
		return;
	}
	fprintf(o->f, "    %-18s ", name);
	hexle(o->f, p, n);
	fputc('\n', o->f);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Components without named registers (TILEDATA, unknown numbers) and the
 * LBR triples: 64-byte lines, zero lines elided. */
static void raw(struct out *o, const char *prefix, const uint8_t *p, unsigned n)
{
	char name[40];
	unsigned zero = 0;

	for (unsigned off = 0; off < n; off += 64) {
		unsigned k = n - off < 64 ? n - off : 64;

		if (all_zero(p + off, k)) {
			zero++;
			continue;
		}
		snprintf(name, sizeof(name), "%s+%u", prefix, off);
		reg(o, name, p + off, k);
	}
	if (zero && !o->json)
		fprintf(o->f, "    (%u all-zero line%s of 64 bytes not shown)\n", zero,
			zero == 1 ? "" : "s");
}

static void comp_registers(struct out *o, unsigned comp, const uint8_t *p, unsigned size)
{
	const struct comp_regs *cr = comp < XS_NAMED_COMPS ? &comp_regs[comp] : NULL;
	unsigned covered = 0;
	char name[40];

	if (comp == XS_C_XTILEDATA) {
		raw(o, "tiledata", p, size);
		return;
	}
	for (unsigned r = 0; cr && r < RUNS_MAX && cr->run[r].fmt; r++) {
		const struct reg_run *run = &cr->run[r];

		for (unsigned i = 0; i < run->count; i++) {
			unsigned off = run->off + i * run->size;

			if (off + run->size > size)
				break;
			snprintf(name, sizeof(name), run->fmt, run->first + i);
			reg(o, name, p + off, run->size);
			if (off + run->size > covered)
				covered = off + run->size;
		}
	}
	if (covered == 0)
		raw(o, "bytes", p, size);
	else if (covered < size && !all_zero(p + covered, size - covered)) {
		snprintf(name, sizeof(name), "reserved@%u", covered);
		raw(o, name, p + covered, size - covered);
	}
}

static void legacy(struct out *o, const uint8_t *img, size_t len)
{
	char name[16];

	if (len < XS_LEGACY_SIZE) {
		if (!o->json)
			fprintf(o->f, "  legacy region: truncated (%zu of 512 bytes)\n", len);
		return;
	}
	if (!o->json)
		fprintf(o->f, "  x87 (legacy bytes 0-159)\n");
	reg(o, "fcw", img + 0, 2);
	reg(o, "fsw", img + 2, 2);
	reg(o, "ftw_abridged", img + 4, 1);
	reg(o, "fop", img + 6, 2);
	reg(o, "fip", img + 8, 8);
	reg(o, "fdp", img + 16, 8);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "st%u", i);
		reg(o, name, img + 32 + 16 * i, 10);
	}
	if (!o->json)
		fprintf(o->f, "  sse (legacy bytes 24-31, 160-415)\n");
	reg(o, "mxcsr", img + 24, 4);
	reg(o, "mxcsr_mask", img + 28, 4);
	for (unsigned i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "xmm%u", i);
		reg(o, name, img + 160 + 16 * i, 16);
	}
}

static const char *verdict_text(enum xs_fault f)
{
	return f == XS_OK ? "restores" : "faults";
}

/* Restore on a scratch copy of ctx; reason into why. */
static enum xs_fault try_restore(const struct xs_cpu *ctx, bool supervisor, const uint8_t *img,
				 size_t len, int cpl, char *why, size_t whylen)
{
	struct xs_cpu *s = xs_cpu_new(xs_cpu_model(ctx));
	enum xs_fault f;

	if (!s) {
		snprintf(why, whylen, "out of memory");
		return XS_GP;
	}
	xs_cpu_copy(s, ctx);
	if (cpl >= 0)
		xs_set_cpl(s, cpl);
	f = supervisor ? xs_xrstors(s, img, len, ~0ull) : xs_xrstor(s, img, len, ~0ull);
	snprintf(why, whylen, "%s", f == XS_OK ? "" : xs_cpu_fault_reason(s));
	xs_cpu_free(s);
	return f;
}

static void verdict_line(struct out *o, const char *insn, enum xs_fault f, const char *why,
			 size_t len)
{
	if (o->json) {
		fprintf(o->f, ",\"%s\":{\"verdict\":\"%s\"", insn,
			f == XS_PF ? "truncated" : verdict_text(f));
		if (f != XS_OK) {
			fprintf(o->f, ",\"fault\":");
			xs_json_string(o->f, xs_fault_name(f));
			fprintf(o->f, ",\"reason\":");
			xs_json_string(o->f, why);
		}
		fputc('}', o->f);
		return;
	}
	if (f == XS_OK)
		fprintf(o->f, "%s (RFBM all ones): would restore\n", insn);
	else if (f == XS_PF)
		fprintf(o->f, "%s (RFBM all ones): cannot complete: the image is truncated at %zu "
			"bytes (%s)\n", insn, len, why);
	else
		fprintf(o->f, "%s (RFBM all ones): would fault: %s: %s\n", insn, xs_fault_name(f),
			why);
}

enum xs_decode_verdict xs_decode_image(FILE *f, const struct xs_cpu *ctx, const uint8_t *img,
				       size_t len, bool json)
{
	const struct xs_model *m = xs_cpu_model(ctx);
	struct out o = { f, json, true };
	uint64_t xstate_bv = 0, xcomp_bv = 0;
	bool has_hdr = len >= XS_EXT_OFFSET, compacted;
	struct xs_layout lay;
	char names[512], why[256];
	enum xs_fault fr, frs = XS_OK;
	bool try_s;
	size_t need;

	if (has_hdr) {
		xstate_bv = ld(img + XS_HDR_OFFSET, 8);
		xcomp_bv = ld(img + XS_HDR_OFFSET + 8, 8);
	}
	compacted = xcomp_bv & XS_COMPACTED_BIT;
	if (compacted)
		xs_layout_compacted(m, xcomp_bv & ~XS_COMPACTED_BIT, &lay);
	else
		/* Standard format: every user component of the model that XCR0
		 * or XSTATE_BV names has its CPUID offset. */
		xs_layout_standard(m, (xs_xcr0(ctx) | xstate_bv) & m->xcr0_supported, &lay);
	need = has_hdr ? lay.size : XS_EXT_OFFSET;

	if (json) {
		fprintf(f, "{\"cpu\":");
		xs_json_string(f, m->name);
		fprintf(f, ",\"bytes\":%zu,\"format\":\"%s\",\"truncated\":%s", len,
			compacted ? "compacted" : "standard", len < need ? "true" : "false");
		if (has_hdr)
			fprintf(f, ",\"xstate_bv\":\"0x%" PRIx64 "\",\"xcomp_bv\":\"0x%" PRIx64 "\"",
				xstate_bv, xcomp_bv);
		fprintf(f, ",\"legacy\":{");
	} else {
		fprintf(f, "XSAVE image: %zu bytes, %s format, CPU model %s (XCR0=0x%" PRIx64
			   ", IA32_XSS=0x%" PRIx64 ")\n", len, compacted ? "compacted" : "standard",
			m->name, xs_xcr0(ctx), xs_xss(ctx));
		if (len < need)
			fprintf(f, "  note: %zu bytes, the layout of XCR0|XSTATE_BV needs %zu\n", len,
				need);
	}
	legacy(&o, img, len);
	if (json)
		fputc('}', f);

	if (!has_hdr) {
		if (!json)
			fprintf(f, "  header: missing (an XSAVE image has at least 576 bytes)\n");
	} else if (!json) {
		fprintf(f, "  header (bytes 512-575)\n");
		fprintf(f, "    %-18s 0x%016" PRIx64 "  %s\n", "xstate_bv", xstate_bv,
			xs_mask_names(xstate_bv, names, sizeof(names)));
		fprintf(f, "    %-18s 0x%016" PRIx64 "  %s\n", "xcomp_bv", xcomp_bv,
			compacted ? xs_mask_names(xcomp_bv & ~XS_COMPACTED_BIT, names, sizeof(names))
				  : "(standard format)");
		if (!all_zero(img + XS_HDR_OFFSET + 16, 48)) {
			fprintf(f, "    reserved bytes 528-575 are not zero:");
			for (unsigned i = 16; i < 64; i++)
				if (img[XS_HDR_OFFSET + i])
					fprintf(f, " [%u]=0x%02x", XS_HDR_OFFSET + i,
						img[XS_HDR_OFFSET + i]);
			fputc('\n', f);
		}
	}

	if (json)
		fprintf(f, ",\"components\":[");
	o.first = true;
	for (unsigned i = 0; has_hdr && i < 63; i++) {
		bool present = lay.mask & XS_BIT(i);
		const char *state;

		if (!present && !(xstate_bv & XS_BIT(i)))
			continue;
		if (i < 2 && !present)
			present = true; /* x87/SSE always sit in the legacy region */
		state = xstate_bv & XS_BIT(i) ? "XSTATE_BV=1 (restored from the image)"
					      : "XSTATE_BV=0 (XRSTOR initializes it)";
		if (json) {
			fprintf(f, "%s{\"comp\":%u,\"name\":", o.first ? "" : ",", i);
			xs_json_string(f, xs_comp_name(i));
			fprintf(f, ",\"xstate_bv\":%s", xstate_bv & XS_BIT(i) ? "true" : "false");
			o.first = false;
		}
		if (i < 2) {
			if (!json)
				fprintf(f, "  %s: %s\n", xs_comp_name(i), state);
		} else if (!present || lay.size_of[i] == 0) {
			if (json)
				fprintf(f, ",\"present\":false");
			else
				fprintf(f, "  %s (component %u): %s, but the %s has no place for it\n",
					xs_comp_name(i), i, state,
					compacted ? "XCOMP_BV" : "model's standard layout");
		} else {
			uint32_t off = lay.offset[i], size = lay.size_of[i];

			if (json)
				fprintf(f, ",\"offset\":%u,\"size\":%u", off, size);
			else
				fprintf(f, "  %s (component %u) at %u, %u bytes: %s\n", xs_comp_name(i),
					i, off, size, state);
			if (!(xstate_bv & XS_BIT(i))) {
				/* XRSTOR never reads them; XSAVEC may not have written them. */
			} else if (off + size > len) {
				if (json)
					fprintf(f, ",\"truncated\":true");
				else
					fprintf(f, "    truncated: the image ends at %zu\n", len);
			} else {
				struct out ro = { f, json, true };

				if (json)
					fprintf(f, ",\"registers\":{");
				comp_registers(&ro, i, img + off, size);
				if (json)
					fputc('}', f);
			}
		}
		if (json)
			fputc('}', f);
	}
	if (json)
		fputc(']', f);

	/* The verdict from the model itself. XRSTOR runs at the context's
	 * CPL; XRSTORS at CPL 0 when the image is compacted and the model has
	 * XSAVES. */
	fr = try_restore(ctx, false, img, len, -1, why, sizeof(why));
	verdict_line(&o, "xrstor", fr, why, len);
	try_s = compacted && m->has_xsaves;
	if (try_s) {
		char why_s[256];

		frs = try_restore(ctx, true, img, len, 0, why_s, sizeof(why_s));
		verdict_line(&o, "xrstors", frs, why_s, len);
	}
	if (json)
		fprintf(f, "}\n");
	if (fr == XS_PF || (try_s && frs == XS_PF) || !has_hdr)
		return XS_DECODE_TRUNCATED;
	return fr == XS_OK ? XS_DECODE_RESTORES : XS_DECODE_FAULTS;
}
