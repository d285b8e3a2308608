/* Supervisor components through XSAVES/XRSTORS (SDM 13.5.6-13.5.13,
 * 13.11, 13.12): UINTR's UINV rules, CET value checks, PT's TraceEn, LBR
 * depth rules, HDC/HWP/PASID values. Every fault leaves the state as it was. */
#include "cpu_fixture.h"

/* A compacted image holding comps (XSTATE_BV = loaded); returns the offset
 * of component k in it. */
static uint32_t image(const struct xs_model *m, uint8_t *a, uint64_t xcomp, uint64_t loaded,
		      unsigned k)
{
	struct xs_layout l;

	memset(a, 0, AREA);
	fx_st32(a + 24, 0x1F80);
	fx_st64(a + 512, loaded);
	fx_st64(a + 520, XS_COMPACTED_BIT | xcomp);
	xs_layout_compacted(m, XS_COMPACTED_BIT | xcomp, &l);
	return l.offset[k];
}

static void xrstors_fault(struct xs_cpu *c, uint8_t *a, uint64_t mask, const char *what)
{
	struct xs_cpu *s = fx_snap(c);

	FX_FAULT(c, s, xs_xrstors(c, a, AREA, mask), XS_GP, "%s", what);
	xs_cpu_free(s);
}

static uint8_t uinv(const struct xs_cpu *c)
{
	return xs_comp_regs(c, XS_C_UINTR)[20];
}

static void test_uintr(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	uint64_t xss = XS_BIT(XS_C_UINTR);
	struct xs_cpu *c = fx_cpu(m, 0x7, xss);
	uint8_t *a = fx_area(), *b = fx_area();
	uint32_t o;
	uint64_t v;

	FX_OK(c, xs_wrmsr(c, XS_MSR_UINTR_MISC, 0xEC00000010ULL), "WRMSR UINTR_MISC: UINV = ECH");
	FX_OK(c, xs_wrmsr(c, XS_MSR_UINTR_HANDLER, 0x401000), "WRMSR UINTR_HANDLER");
	tap_eq_u64(uinv(c), 0xEC, "UINV = ECH");
	FX_OK(c, xs_xsaves(c, a, AREA, xss), "XSAVES UINTR");
	o = image(m, b, xss, xss, XS_C_UINTR);
	tap_eq_u64(a[o + 20], 0xEC, "the image holds UINV = ECH");
	tap_eq_u64(uinv(c), 0, "XSAVES cleared UINV after saving (13.5.11)");
	xs_rdmsr(c, XS_MSR_UINTR_MISC, &v);
	tap_eq_u64(v, 0x10, "the rest of UINTR_MISC is kept");
	tap_ok(xs_xmodified(c) & xss, "clearing UINV marks UINTR modified");

	FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS with UINV = 0 loads the image");
	tap_eq_u64(uinv(c), 0xEC, "UINV loaded");
	xrstors_fault(c, a, xss, "second XRSTORS in a row: UINV != 0");
	{
		uint8_t *z = fx_area();
		image(m, z, xss, 0, XS_C_UINTR);
		xrstors_fault(c, z, xss, "XRSTORS initializing UINTR while UINV != 0");
		free(z);
	}
	FX_OK(c, xs_xrstors(c, a, AREA, 0x3), "XRSTORS without UINTR in RFBM: no UINV check");
	FX_OK(c, xs_xsaves(c, a, AREA, xss), "XSAVES");
	FX_OK(c, xs_xrstors(c, a, AREA, xss), "XSAVES + XRSTORS works again");

	/* The modified optimization may skip the write; UINV is cleared anyway. */
	FX_OK(c, xs_xsaves(c, a, AREA, xss), "XSAVES right after XRSTORS (unmodified UINTR)");
	tap_eq_u64(uinv(c), 0, "UINV cleared even when the write was optimized away");
	xs_cpu_free(c);

	/* Image value checks (13.5.11). */
	c = fx_cpu(m, 0x7, xss);
	{
		static const struct {
			unsigned off;
			uint64_t v;
			const char *what;
		} bad[] = {
			{ 0, 0x0000800000000000ULL, "UINTR_HANDLER not canonical" },
			{ 8, 0x8000000000000000ULL >> 1, "UINTR_STACKADJUST not canonical" },
			{ 16, 1ULL << 40, "UINTR_MISC reserved bit 40" },
			{ 16, 1ULL << 62, "UINTR_MISC reserved bit 62" },
			{ 24, 0x1008, "UINTR_PD bits 5:0" },
			{ 24, 0x0000800000000000ULL, "UINTR_PD not canonical" },
			{ 40, 0x2004, "UINTR_TT bits 3:1" },
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char what[120];
			o = image(m, a, xss, xss, XS_C_UINTR);
			fx_st64(a + o + bad[i].off, bad[i].v);
			snprintf(what, sizeof(what), "XRSTORS UINTR image: %s", bad[i].what);
			xrstors_fault(c, a, xss, what);
		}
		o = image(m, a, xss, xss, XS_C_UINTR);
		fx_st64(a + o + 16, (1ULL << 63) | 0x3);
		fx_st64(a + o + 32, 0xFFFFFFFFFFFFFFFFULL);
		FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS UINTR with UIF = 1 and any UIRR");
	}
	xs_cpu_free(c);
	free(a);
	free(b);
}

static void test_cet(void)
{
	static const struct {
		const char *model;
		unsigned comp, off;
		uint64_t v;
		const char *what;
	} bad[] = {
		{ "intel-sapphire-rapids", XS_C_CET_U, 0, 0x40, "U_CET reserved bit 6" },
		{ "intel-sapphire-rapids", XS_C_CET_U, 0, 0x200, "U_CET reserved bit 9" },
		{ "intel-sapphire-rapids", XS_C_CET_U, 0, 0xC04, "U_CET SUPPRESS with WAIT_FOR_ENDBRANCH" },
		{ "intel-sapphire-rapids", XS_C_CET_U, 0, 0xFFF0000000000000ULL, "U_CET legacy bitmap not canonical" },
		{ "intel-sapphire-rapids", XS_C_CET_U, 8, 0x7ffff001, "PL3_SSP not 4-byte aligned" },
		{ "intel-sapphire-rapids", XS_C_CET_U, 8, 0x0001000000000000ULL, "PL3_SSP not canonical" },
		{ "intel-sapphire-rapids", XS_C_CET_S, 0, 0x2, "PL0_SSP not 4-byte aligned" },
		{ "intel-sapphire-rapids", XS_C_CET_S, 16, 0x8000000000000000ULL, "PL2_SSP not canonical" },
		{ "host-amd-epyc-vm", XS_C_CET_U, 0, 0x4, "U_CET ENDBR_EN on a CPU without IBT" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xs_model *m = fx_model(bad[i].model);
		uint64_t xss = XS_BIT(XS_C_CET_U) | XS_BIT(XS_C_CET_S);
		struct xs_cpu *c = fx_cpu(m, 0x7, xss);
		uint8_t *a = fx_area();
		uint32_t o = image(m, a, xss, xss, bad[i].comp);
		char what[160];

		fx_st64(a + o + bad[i].off, bad[i].v);
		snprintf(what, sizeof(what), "%s XRSTORS CET image: %s", bad[i].model, bad[i].what);
		xrstors_fault(c, a, xss, what);
		fx_st64(a + o + bad[i].off,
			bad[i].comp == XS_C_CET_U && bad[i].off == 0 ? 0x1 : 0x7fff0000);
		FX_OK(c, xs_xrstors(c, a, AREA, xss), "%s: the same image with a good value loads",
		      bad[i].model);
		xs_cpu_free(c);
		free(a);
	}
}

static void test_pt(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	uint64_t xss = XS_BIT(XS_C_PT);
	struct xs_cpu *c = fx_cpu(m, 0x7, xss);
	uint8_t *a = fx_area();
	uint32_t o;
	uint64_t v;

	FX_OK(c, xs_wrmsr(c, XS_MSR_RTIT_CTL, 0x2009), "WRMSR RTIT_CTL TraceEn|User|BranchEn");
	{
		struct xs_cpu *s = fx_snap(c);
		uint8_t *z = fx_area();
		image(m, z, xss, 0, XS_C_PT);
		FX_FAULT(c, s, xs_xrstors(c, z, AREA, xss), XS_GP, "XRSTORS initializing PT with TraceEn = 1");
		image(m, z, xss, xss, XS_C_PT);
		FX_FAULT(c, s, xs_xrstors(c, z, AREA, xss), XS_GP, "XRSTORS loading PT with TraceEn = 1");
		FX_OK(c, xs_xrstors(c, z, AREA, 0x3), "XRSTORS without PT in RFBM while tracing");
		xs_cpu_free(s);
		free(z);
	}
	fx_pattern(a, AREA, 0x31);
	memset(a + 512, 0, 64);
	FX_OK(c, xs_xsaves(c, a, AREA, xss), "XSAVES PT");
	o = 576; /* PT is the first extended component */
	tap_eq_u64(fx_ld64(a + o), 0x2009, "the image holds TraceEn = 1");
	tap_ok(fx_all(a + o + 72, 56, 0), "XSAVES wrote zeros in PT's reserved bytes 72-127");
	xs_rdmsr(c, XS_MSR_RTIT_CTL, &v);
	tap_eq_u64(v, 0x2008, "XSAVES cleared TraceEn after saving (13.5.6)");
	FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS PT with TraceEn = 0 now");
	xs_rdmsr(c, XS_MSR_RTIT_CTL, &v);
	tap_eq_u64(v, 0x2009, "TraceEn restored from the image");
	FX_OK(c, xs_xsaves(c, a, AREA, xss), "XSAVES");

	xs_cpu_free(c);
	c = fx_cpu(m, 0x7, xss);
	o = image(m, a, xss, xss, XS_C_PT);
	fx_st64(a + o, 1ULL << 18);
	xrstors_fault(c, a, xss, "XRSTORS PT image: RTIT_CTL reserved bit 18");
	o = image(m, a, xss, xss, XS_C_PT);
	a[o + 100] = 1;
	xrstors_fault(c, a, xss, "XRSTORS PT image: reserved byte 100 not zero");
	xs_cpu_free(c);
	free(a);
}

static void test_lbr(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	uint64_t xss = XS_BIT(XS_C_LBR);
	struct xs_cpu *c = fx_cpu(m, 0x7, xss);
	uint8_t *a = fx_area(), *ref = fx_area();
	const uint8_t *r = xs_comp_regs(c, XS_C_LBR);
	uint32_t o = 576;
	uint64_t v;

	/* Init LBR: XSAVES writes nothing of it, even without the init
	 * optimization (13.5.12). */
	fx_pattern(a, AREA, 0x41);
	memset(a + 512, 0, 64);
	memcpy(ref, a, AREA);
	FX_OK(c, xs_xsaves(c, a, AREA, xss), "XSAVES of LBR in its initial configuration");
	tap_ok(!memcmp(a + o, ref + o, 808), "init LBR: no byte written");

	/* DEPTH 8: singletons and 8 records written, the rest untouched. */
	xs_wrmsr(c, XS_MSR_LBR_DEPTH, 8);
	xs_wrmsr(c, XS_MSR_LBR_CTL, 0x7);
	FX_OK(c, xs_xsaves(c, a, AREA, xss), "XSAVES LBR with DEPTH 8");
	tap_eq_u64(fx_ld64(a + o), 0x7, "LBR_CTL saved");
	tap_eq_u64(fx_ld64(a + o + 8), 8, "LBR_DEPTH saved");
	tap_ok(fx_all(a + o + 40, 8 * 24, 0), "8 records saved (zeros)");
	tap_ok(!memcmp(a + o + 40 + 8 * 24, ref + o + 40 + 8 * 24, 24 * 24), "records 8-31 untouched");

	/* XRSTORS, same depth: records loaded. */
	fx_st64(a + o + 16, 0x1111);       /* LER_FROM */
	fx_st64(a + o + 40, 0x401000);     /* FROM_0 */
	fx_st64(a + o + 40 + 7 * 24, 0x7); /* FROM_7 */
	memset(a + o + 40 + 8 * 24, 0, 24 * 24);
	FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS LBR, image DEPTH = DEPTH");
	tap_ok(fx_ld64(r + 40) == 0x401000 && fx_ld64(r + 40 + 7 * 24) == 7 && fx_ld64(r + 16) == 0x1111,
	       "records and LER loaded");
	tap_ok(xs_xinuse(c) & xss, "XINUSE[15] = 1");

	/* Depth mismatch: singletons but DEPTH, records zeroed, XINUSE kept. */
	fx_st64(a + o + 8, 16);
	fx_st64(a + o, 0x3);
	fx_st64(a + o + 16, 0x2222);
	{
		uint8_t *z = fx_area();
		struct xs_cpu *d;
		image(m, z, xss, 0, XS_C_LBR);
		FX_OK(c, xs_xrstors(c, z, AREA, xss), "XRSTORS initializing LBR");
		xs_rdmsr(c, XS_MSR_LBR_DEPTH, &v);
		tap_eq_u64(v, 8, "LBR init keeps DEPTH");
		tap_ok(fx_all(r, 8, 0) && fx_all(r + 16, 808 - 16, 0), "LBR init zeroes everything else");
		tap_ok(!(xs_xinuse(c) & xss), "LBR init clears XINUSE[15]");
		d = fx_snap(c);
		FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS LBR, image DEPTH 16 != 8");
		xs_rdmsr(c, XS_MSR_LBR_DEPTH, &v);
		tap_eq_u64(v, 8, "DEPTH not loaded");
		tap_ok(fx_ld64(r) == 0x3 && fx_ld64(r + 16) == 0x2222, "LBR_CTL and LER loaded");
		tap_ok(fx_all(r + 40, 768, 0), "every record zeroed");
		tap_ok(!(xs_xinuse(c) & xss), "XINUSE[15] left as it was (0)");
		xs_cpu_free(d);
		free(z);
	}
	fx_st64(a + o + 8, 0x108);
	xrstors_fault(c, a, xss, "XRSTORS LBR image: DEPTH reserved bit 8");
	fx_st64(a + o + 8, 8);
	fx_st64(a + o, 0x10);
	xrstors_fault(c, a, xss, "XRSTORS LBR image: LBR_CTL reserved bit 4");
	xs_cpu_free(c);
	free(a);
	free(ref);
}

static void test_values(void)
{
	struct xs_model g = *fx_model("intel-granite-rapids");
	uint64_t xss = XS_BIT(XS_C_HWP) | XS_BIT(XS_C_PASID);
	struct xs_cpu *c = fx_cpu(&g, 0x7, xss);
	uint8_t *a = fx_area();
	uint64_t v;
	struct xs_layout l;

	xs_wrmsr(c, XS_MSR_HWP_REQUEST, 0x80002002);
	image(&g, a, xss, 0, XS_C_HWP);
	FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS initializing HWP and PASID");
	xs_rdmsr(c, XS_MSR_HWP_REQUEST, &v);
	tap_eq_u64(v, 0x8000FF01ULL, "HWP init: IA32_HWP_REQUEST = 8000FF01H");
	image(&g, a, xss, xss, XS_C_HWP);
	xs_layout_compacted(&g, XS_COMPACTED_BIT | xss, &l);
	fx_st64(a + l.offset[XS_C_HWP], 1ULL << 50);
	xrstors_fault(c, a, xss, "XRSTORS HWP image: reserved bit 50");
	fx_st64(a + l.offset[XS_C_HWP], 0x80000101);
	fx_st64(a + l.offset[XS_C_PASID], 1ULL << 32);
	xrstors_fault(c, a, xss, "XRSTORS PASID image: reserved bit 32");
	fx_st64(a + l.offset[XS_C_PASID], 0x80000007);
	FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS good HWP and PASID");
	xs_rdmsr(c, XS_MSR_PASID, &v);
	tap_eq_u64(v, 0x80000007, "PASID loaded");
	xs_cpu_free(c);

	/* HDC (no dump has it: added to Alder Lake). */
	{
		struct xs_model h = *fx_model("intel-alder-lake-pcore");
		h.xss_supported |= XS_BIT(XS_C_HDC);
		h.comp[XS_C_HDC].size = 8;
		h.comp[XS_C_HDC].supervisor = true;
		c = fx_cpu(&h, 0x7, XS_BIT(XS_C_HDC));
		xs_rdmsr(c, XS_MSR_PM_CTL1, &v);
		tap_eq_u64(v, 1, "RESET: IA32_PM_CTL1 = 1 (HDC initial configuration)");
		xs_wrmsr(c, XS_MSR_PM_CTL1, 0);
		image(&h, a, XS_BIT(XS_C_HDC), 0, XS_C_HDC);
		FX_OK(c, xs_xrstors(c, a, AREA, ~0ULL), "XRSTORS initializing HDC");
		xs_rdmsr(c, XS_MSR_PM_CTL1, &v);
		tap_eq_u64(v, 1, "HDC init: IA32_PM_CTL1 = 1");
		image(&h, a, XS_BIT(XS_C_HDC), XS_BIT(XS_C_HDC), XS_C_HDC);
		fx_st64(a + 576, 2);
		xrstors_fault(c, a, ~0ULL, "XRSTORS HDC image: reserved bit 1");
		xs_cpu_free(c);
	}
	free(a);
}

/* Rules of supervisor images the other tests do not reach: shadow-stack
 * bits need CPUID CET_SS, UINTR_TT must be canonical (checked by WRMSR and
 * XRSTORS alike), and with impl.xrstor_load_checks_init a supervisor
 * component loaded with its initial configuration leaves XINUSE clear. */
static void test_more_values(void)
{
	struct xs_model m = *fx_model("intel-sapphire-rapids");
	uint64_t xss = XS_BIT(XS_C_CET_U) | XS_BIT(XS_C_UINTR);
	struct xs_cpu *c, *s;
	uint8_t *a = fx_area();
	uint32_t o;

	m.feat.shstk = false;
	c = fx_cpu(&m, 0x7, xss);
	s = fx_snap(c);
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_U_CET, 0x1), XS_GP, "WRMSR U_CET SH_STK_EN without CET_SS");
	o = image(&m, a, xss, xss, XS_C_CET_U);
	fx_st64(a + o, 0x2);
	xrstors_fault(c, a, xss, "XRSTORS U_CET WR_SHSTK_EN without CET_SS");
	fx_st64(a + o, 0x4);
	FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS U_CET ENDBR_EN (IBT is there)");
	xs_cpu_free(c);
	xs_cpu_free(s);

	c = fx_cpu(fx_model("intel-sapphire-rapids"), 0x7, xss);
	s = fx_snap(c);
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_UINTR_TT, 0x0000800000000001ULL), XS_GP,
		 "WRMSR UINTR_TT not canonical");
	o = image(&m, a, xss, xss, XS_C_UINTR);
	fx_st64(a + o + 40, 0xFFFF7F0000000001ULL);
	xrstors_fault(c, a, xss, "XRSTORS UINTR image: UINTR_TT not canonical");
	fx_st64(a + o + 40, 0xFFFF800000000001ULL);
	FX_OK(c, xs_xrstors(c, a, AREA, xss), "XRSTORS UINTR_TT canonical (upper half)");
	xs_cpu_free(c);
	xs_cpu_free(s);

	/* AMD host model: CET_U loaded with zeros (XSTATE_BV[11] = 1). */
	c = fx_cpu(fx_model("host-amd-epyc-vm"), 0x7, XS_BIT(XS_C_CET_U));
	FX_OK(c, xs_wrmsr(c, XS_MSR_PL3_SSP, 0x1000), "WRMSR PL3_SSP");
	tap_ok(xs_xinuse(c) & XS_BIT(XS_C_CET_U), "CET_U in use");
	o = image(fx_model("host-amd-epyc-vm"), a, XS_BIT(XS_C_CET_U), XS_BIT(XS_C_CET_U), XS_C_CET_U);
	FX_OK(c, xs_xrstors(c, a, AREA, ~0ULL), "XRSTORS CET_U loaded with zeros");
	tap_eq_u64(xs_xinuse(c) & XS_BIT(XS_C_CET_U), 0,
		   "xrstor_load_checks_init: CET_U loaded in its initial configuration is not in use");
	xs_cpu_free(c);
	free(a);
}

int main(void)
{
	tap_plan_lazy();
	test_uintr();
	test_cet();
	test_pt();
	test_lbr();
	test_values();
	test_more_values();
	return tap_done();
}
