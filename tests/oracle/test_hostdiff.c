/* The host oracle and the differential test of the model against it.
 *
 * Runs only where the host has XSAVE in user mode; components and
 * instructions the host lacks are skipped, not failed. The budget is small
 * (a few thousand programs, well under a second on the project host).
 */
#include <string.h>

#include "tap.h"
#include "xstate/oracle.h"

static uint8_t a[8192] __attribute__((aligned(64)));
static uint8_t b[8192] __attribute__((aligned(64)));
static uint8_t c[8192] __attribute__((aligned(64)));

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A valid standard image with live x87, SSE and (if enabled) AVX values. */
static void live_image(const struct xs_host *h, uint8_t *img)
{
	memset(img, 0, sizeof(a));
	put16(img, 0x027F);
	put32(img + 24, 0x1F80);
	for (unsigned i = 0; i < 256; i++)
		img[160 + i] = (uint8_t)(i * 7 + 1);
	img[32] = 0x42;
	for (unsigned i = 2; i < 63; i++)
		if ((h->xcr0 & (1ull << i)) && h->size[i])
			for (unsigned k = 0; k < h->size[i]; k++)
				img[h->offset[i] + k] = (uint8_t)(k * 13 + i);
	put64(img + XS_HDR_OFFSET, h->xcr0);
}

static void test_oracle(const struct xs_host *h)
{
	struct xs_hw_op ops[4];
	struct xs_hw_outcome o;

	/* XRSTOR then XSAVE with nothing between: every register comes back. */
	live_image(h, a);
	memset(b, 0xA5, sizeof(b));
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = a, .mask = ~0ull };
	ops[1] = (struct xs_hw_op){ .kind = XS_HW_XSAVE, .mem = b, .mask = ~0ull };
	ops[2] = (struct xs_hw_op){ .kind = XS_HW_XGETBV, .ecx = 0 };
	tap_ok(xs_hw_run(ops, 3, 3, &o) == 0 && o.fault == XS_OK, "oracle: XRSTOR + XSAVE run");
	tap_ok(!memcmp(a + 160, b + 160, 256), "oracle: XMM0-15 survive XRSTOR -> XSAVE");
	tap_ok(!memcmp(a + 32, b + 32, 10), "oracle: ST0 survives");
	if (h->xcr0 & (1ull << XS_C_AVX))
		tap_ok(!memcmp(a + h->offset[2], b + h->offset[2], h->size[2]),
		       "oracle: YMM_Hi128 survives");
	else
		tap_skip("host has no AVX in XCR0");
	tap_eq_u64(get64(b + XS_HDR_OFFSET) & h->xcr0, h->xcr0, "oracle: XSTATE_BV = XINUSE = XCR0");
	tap_eq_u64(ops[2].out, h->xcr0, "oracle: XGETBV(0) reads XCR0");

	/* Faults: misaligned XRSTOR is #GP; the state it found survives the
	 * signal round trip (observed by the epilogue XSAVE). */
	memset(c, 0, sizeof(c));
	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = a, .mask = ~0ull };
	ops[1] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = a + 8, .mask = ~0ull };
	ops[2] = (struct xs_hw_op){ .kind = XS_HW_XGETBV, .ecx = 0 }; /* skipped */
	ops[3] = (struct xs_hw_op){ .kind = XS_HW_XSAVE, .mem = c, .mask = ~0ull };
	ops[2].out = 12345;
	tap_ok(xs_hw_run(ops, 4, 3, &o) == 0, "oracle: fault program runs");
	tap_eq_u64(o.fault, XS_GP, "oracle: misaligned XRSTOR raises #GP");
	tap_eq_u64(o.fault_op, 1, "oracle: ... at the second op");
	tap_eq_u64(ops[2].out, 12345, "oracle: nothing after the fault runs");
	tap_eq_u64(o.epi_fault, XS_OK, "oracle: the epilogue runs");
	tap_ok(!memcmp(c + 160, a + 160, 256), "oracle: XMM state unchanged by the faulting XRSTOR");

	/* XSTATE_BV bit outside XCR0 (SDM 13.8.1). */
	memcpy(b, a, sizeof(b));
	put64(b + XS_HDR_OFFSET, h->xcr0 | (1ull << 62));
	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = b, .mask = ~0ull };
	xs_hw_run(ops, 1, 1, &o);
	tap_eq_u64(o.fault, XS_GP, "oracle: XSTATE_BV[62] not in XCR0 raises #GP");

	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XGETBV, .ecx = 2 };
	xs_hw_run(ops, 1, 1, &o);
	tap_eq_u64(o.fault, XS_GP, "oracle: XGETBV(2) raises #GP");
	if (h->xsaves) {
		ops[0] = (struct xs_hw_op){ .kind = XS_HW_XSAVES, .mem = c, .mask = ~0ull };
		xs_hw_run(ops, 1, 1, &o);
		tap_eq_u64(o.fault, XS_GP, "oracle: XSAVES at CPL 3 raises #GP");
	} else {
		tap_skip("host has no XSAVES");
	}
	/* A bogus signal number maps to #GP; the known ones to their fault. */
	tap_eq_u64(xs_hw_fault_of(4, 0), XS_UD, "oracle: SIGILL is #UD");
	tap_eq_u64(xs_hw_fault_of(7, 1), XS_AC, "oracle: SIGBUS is #AC");
}

/* tap_diag for text of several lines: every line gets its "# ". */
static void diag_text(const char *title, const char *text)
{
	tap_diag("%s", title);
	while (*text) {
		size_t n = strcspn(text, "\n");

		tap_diag("  %.*s", (int)n, text);
		text += n + (text[n] ? 1 : 0);
	}
}

static void test_probe(void)
{
	struct xs_probe_report r1, r2;

	tap_ok(xs_probe_host(&r1) == 0 && xs_probe_host(&r2) == 0, "probe: runs");
	tap_ok(!memcmp(&r1.impl, &r2.impl, sizeof(r1.impl)), "probe: two probes agree");
	tap_ok((r1.impl.mxcsr_mask & 0xFFBFu) == 0xFFBFu, "probe: MXCSR_MASK 0x%x has the "
	       "architectural bits", r1.impl.mxcsr_mask);
	tap_ok(r1.impl.xinuse_tracking || !r1.impl.xrstor_init_clears_xinuse,
	       "probe: init restores clear XINUSE only where XINUSE is tracked");
	diag_text("probe notes:", r1.notes);
}

static void break_mxcsr_mask(struct xs_model *m)
{
	m->impl.mxcsr_mask ^= 0x20000u; /* AMD's MM bit: present on some hosts only */
}

static void test_diff(const struct xs_host *h)
{
	struct xs_diff_opts o = { .cases = 2000, .seed = 1, .repeats = 5, .minimize = true,
				  .max_reports = 4 };
	struct xs_diff_stats s;
	char err[256], names[256];

	if (xs_diff_run(&o, &s, err, sizeof(err)) != 0) {
		tap_ok(0, "diff: runs (%s)", err);
		return;
	}
	tap_eq_u64(s.cases, 2000, "diff: 2000 programs compared");
	for (unsigned k = 0; k < XS_DK_COUNT; k++)
		tap_ok(s.by_kind[k] > 0, "diff: %s cases ran", xs_diff_kind_name(k));
	tap_ok(s.by_insn[0] && s.by_insn[3], "diff: XSAVE and XRSTOR exercised");
	tap_ok(!h->xsaveopt || s.by_insn[1], "diff: XSAVEOPT exercised where the host has it");
	tap_ok(!h->xsavec || (s.by_insn[2] && s.by_insn[4]),
	       "diff: XSAVEC and compacted XRSTOR exercised where the host has them");
	tap_eq_u64(s.mismatches, 0, "diff: the model agrees with silicon (architecturally)");
	for (size_t r = 0; r < s.nreports; r++) {
		diag_text(s.reports[r].impl_defined ? "implementation-defined difference:" :
			  "MISMATCH:", s.reports[r].program);
		diag_text("-- model:", s.reports[r].model_out);
		diag_text("-- silicon:", s.reports[r].hw_out);
	}
	tap_diag("diff: %llu implementation-defined differences, %llu silicon reruns "
		 "(%llu recovered: spec 15 noise); %s",
		 (unsigned long long)s.impl_defined, (unsigned long long)s.reruns,
		 (unsigned long long)s.rerun_recovered, s.reserved_note);
	for (unsigned i = 2; i < XS_NAMED_COMPS; i++)
		if (s.comps_skipped & XS_BIT(i))
			tap_skip("component %s: this host lacks it", xs_comp_name(i));
	tap_diag("components tested: %s", xs_mask_names(s.comps_tested, names, sizeof(names)));
	xs_diff_stats_free(&s);

	/* The comparison must catch a wrong model: a MXCSR_MASK that differs
	 * from the host's changes every image's bytes 28-31 and which MXCSR
	 * values load. */
	o.cases = 200;
	o.minimize = false;
	o.tweak_model = break_mxcsr_mask;
	if (xs_diff_run(&o, &s, err, sizeof(err)) != 0) {
		tap_ok(0, "diff: broken model runs (%s)", err);
		return;
	}
	tap_ok(s.mismatches > 0, "diff: a model with the wrong MXCSR_MASK disagrees (%llu of 200)",
	       (unsigned long long)s.mismatches);
	xs_diff_stats_free(&s);
}

int main(void)
{
	const struct xs_host *h;

	tap_plan_lazy();
	h = xs_host_get();
	if (!h) {
		tap_skip("the host has no usable XSAVE in user mode");
		return tap_done();
	}
	test_oracle(h);
	test_probe();
	test_diff(h);
	return tap_done();
}
