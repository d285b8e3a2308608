/* XRSTOR (standard and compacted) and XRSTORS (SDM Vol. 1 13.8, 13.12):
 * faults and header checks (state and memory unchanged), load and
 * initialization, the MXCSR table of spec 11.2, tracking, XFD, and the
 * standard <-> compacted round trip on every built-in model. */
#include "cpu_fixture.h"

typedef enum xs_fault (*rstor_fn)(struct xs_cpu *, const void *, size_t, uint64_t);

/* A restore that faults changes neither state nor memory. */
static void rstor_fault(struct xs_cpu *c, rstor_fn fn, uint8_t *a, size_t len, uint64_t mask,
			enum xs_fault want, const char *fmt, const char *what)
{
	struct xs_cpu *s = fx_snap(c);
	uint8_t *copy = fx_area();
	char name[200];

	snprintf(name, sizeof(name), fmt, what);
	memcpy(copy, a, AREA);
	FX_FAULT(c, s, fn(c, a, len, mask), want, "%s", name);
	tap_ok(!memcmp(a, copy, AREA), "%s: memory unchanged", name);
	xs_cpu_free(s);
	free(copy);
}

/* A valid image of x87|SSE|AVX data in the standard format. */
static void std_image(uint8_t *a, uint64_t xstate_bv)
{
	memset(a, 0, AREA);
	fx_pattern(a + 160, 256, 0x10);        /* XMM */
	fx_pattern(a + 576, 256, 0x20);        /* YMM_H */
	fx_st16(a, 0x037F);
	fx_pattern(a + 32, 10, 0x30);          /* ST0 */
	fx_st32(a + 24, 0x1F80 | 0x6000);      /* RC = 11b */
	fx_st64(a + 512, xstate_bv);
}

static void test_faults(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = xs_cpu_new(m);
	uint8_t *a = fx_area();

	std_image(a, 0x7);
	rstor_fault(c, xs_xrstor, a, AREA, 7, XS_UD, "%s", "XRSTOR with CR4.OSXSAVE=0");
	xs_cpu_free(c);
	c = fx_cpu(m, 0x602E7, 0xDD00);
	xs_set_cr0_ts(c, true);
	rstor_fault(c, xs_xrstor, a, AREA, 7, XS_NM, "%s", "XRSTOR with CR0.TS=1");
	rstor_fault(c, xs_xrstors, a, AREA, 7, XS_NM, "%s", "XRSTORS with CR0.TS=1");
	xs_set_cr0_ts(c, false);
	rstor_fault(c, xs_xrstor, a + 8, AREA - 8, 7, XS_GP, "%s", "XRSTOR misaligned");
	xs_set_cpl(c, 3);
	xs_set_alignment_check(c, true);
	rstor_fault(c, xs_xrstor, a + 8, AREA - 8, 7, XS_GP, "%s", "XRSTOR misaligned, AC at CPL 3 (impl: #GP)");
	rstor_fault(c, xs_xrstors, a, AREA, 7, XS_GP, "%s", "XRSTORS at CPL 3");
	xs_set_alignment_check(c, false);
	FX_OK(c, xs_xrstor(c, a, AREA, 7), "XRSTOR at CPL 3");
	xs_set_cpl(c, 0);
	{
		struct xs_model m3 = *m;
		struct xs_cpu *d;
		m3.impl.xsave_misalign_ac = true;
		d = fx_cpu(&m3, 0x7, 0);
		xs_set_cpl(d, 3);
		xs_set_alignment_check(d, true);
		rstor_fault(d, xs_xrstor, a + 8, AREA - 8, 7, XS_AC, "%s", "XRSTOR misaligned, AC at CPL 3 (impl: #AC)");
		xs_cpu_free(d);
	}
	rstor_fault(c, xs_xrstor, a, 575, 7, XS_PF, "%s", "XRSTOR with the header outside (575 bytes)");
	rstor_fault(c, xs_xrstor, a, 831, 7, XS_PF, "%s", "XRSTOR with AVX outside (831 bytes)");
	FX_OK(c, xs_xrstor(c, a, 832, 7), "XRSTOR in exactly 832 bytes");
	/* 13.13: bounds cover every requested component, loaded or not. */
	rstor_fault(c, xs_xrstor, a, 832, 0x602E7, XS_PF, "%s",
		    "XRSTOR RFBM 602E7H in 832 bytes although XSTATE_BV = 7");
	FX_OK(c, xs_xrstor(c, a, 576, 0x3), "XRSTOR RFBM x87|SSE in 576 bytes");
	xs_cpu_free(c);

	{
		struct xs_model m2 = *m;
		m2.has_xsaves = false;
		m2.xss_supported = 0;
		c = fx_cpu(&m2, 0x7, 0);
		fx_st64(a + 520, XS_COMPACTED_BIT | 7);
		rstor_fault(c, xs_xrstors, a, AREA, 7, XS_UD, "%s", "XRSTORS without XSAVES");
		xs_cpu_free(c);
	}
	free(a);
}

static void test_header_checks(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x7, 0xDD00);
	uint8_t *a = fx_area();

	/* Standard form (13.8.1). */
	std_image(a, 0x7 | XS_BIT(XS_C_PKRU));
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR: XSTATE_BV bit 9 not in XCR0");
	std_image(a, 0x7 | XS_BIT(63));
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR standard: XSTATE_BV bit 63");
	std_image(a, 0x7);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x1), "XRSTOR: XSTATE_BV bits in XCR0 but outside RFBM are fine");
	fx_st64(a + 520, 0x4);
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR standard: XCOMP_BV = 4 (no bit 63)");
	std_image(a, 0x7);
	a[528] = 1;
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR standard: header byte 16 set");
	std_image(a, 0x7);
	a[535] = 0x80;
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR standard: header byte 23 set");
	std_image(a, 0x7);
	a[536] = 1;
	a[575] = 0xFF;
	FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR standard: bytes 24-63 are not checked");

	/* MXCSR (Intel mask FFFFH: bit 16 and up reserved). */
	std_image(a, 0x7);
	fx_st32(a + 24, 0x11F80);
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR standard: MXCSR bit 16 set");
	rstor_fault(c, xs_xrstor, a, AREA, 0x4, XS_GP, "%s",
		    "XRSTOR standard: RFBM[2] alone loads (and checks) MXCSR");
	std_image(a, 0x5);
	fx_st32(a + 24, 0x80001F80);
	rstor_fault(c, xs_xrstor, a, AREA, 0x2, XS_GP, "%s",
		    "XRSTOR standard: MXCSR checked although XSTATE_BV[1] = 0");
	FX_OK(c, xs_xrstor(c, a, AREA, 0x1), "XRSTOR standard: RFBM x87 alone ignores MXCSR");

	/* Compacted form (13.8.2). */
	std_image(a, 0x7);
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x207);
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR compacted: XCOMP_BV bit 9 not in XCR0");
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x3);
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR compacted: XSTATE_BV bit 2 not in XCOMP_BV");
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x7);
	for (unsigned b = 528; b < 576; b += 47) {
		char what[80];
		a[b] = 0x10;
		snprintf(what, sizeof(what), "XRSTOR compacted: header byte %u set", b - 512);
		rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", what);
		a[b] = 0;
	}
	fx_st32(a + 24, 0x11F80);
	rstor_fault(c, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR compacted: MXCSR bit 16 set");
	fx_st64(a + 512, 0x5);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR compacted: bad MXCSR ignored when SSE is initialized");
	tap_eq_u64(xs_mxcsr(c), 0x1F80, "... and MXCSR = 1F80H");
	/* XSTATE_BV[63] with XCOMP_BV[63]: XSTATE_BV is a subset of XCOMP_BV,
	 * so the literal rule does not fault (spec 8.2, decision). */
	fx_st32(a + 24, 0x1F80);
	fx_st64(a + 512, 0x7 | XS_BIT(63));
	FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR compacted: XSTATE_BV[63] = 1 accepted");
	{
		struct xs_model m2 = *m;
		struct xs_cpu *d;
		m2.has_xsavec = false;
		m2.has_xsaves = false;
		m2.xss_supported = 0;
		d = fx_cpu(&m2, 0x7, 0);
		fx_st64(a + 512, 0x7);
		rstor_fault(d, xs_xrstor, a, AREA, 0x7, XS_GP, "%s", "XRSTOR compacted without compaction support");
		xs_cpu_free(d);
	}

	/* XRSTORS (13.12). */
	std_image(a, 0x7);
	rstor_fault(c, xs_xrstors, a, AREA, 0x7, XS_GP, "%s", "XRSTORS: XCOMP_BV[63] = 0");
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x7 | XS_BIT(XS_C_HWP));
	rstor_fault(c, xs_xrstors, a, AREA, ~0ULL, XS_GP, "%s", "XRSTORS: XCOMP_BV bit 16 not in XCR0|XSS");
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x7 | XS_BIT(XS_C_PT));
	fx_st64(a + 512, 0x7 | XS_BIT(XS_C_CET_U));
	rstor_fault(c, xs_xrstors, a, AREA, ~0ULL, XS_GP, "%s", "XRSTORS: XSTATE_BV bit 11 not in XCOMP_BV");
	fx_st64(a + 512, 0x7);
	a[560] = 1;
	rstor_fault(c, xs_xrstors, a, AREA, ~0ULL, XS_GP, "%s", "XRSTORS: header byte 48 set");
	a[560] = 0;
	fx_st32(a + 24, 0xFFFFFFFF);
	rstor_fault(c, xs_xrstors, a, AREA, ~0ULL, XS_GP, "%s", "XRSTORS: bad MXCSR");
	fx_st32(a + 24, 0x1F80);
	FX_OK(c, xs_xrstors(c, a, AREA, ~0ULL), "XRSTORS: a good image");
	tap_ok(strstr(xs_cpu_fault_reason(c), "MXCSR") != NULL, "the last fault's reason is kept");
	xs_cpu_free(c);
	free(a);
}

static void test_load_init(void)
{
	struct xs_model *m = fx_model("host-amd-epyc-vm");
	struct xs_cpu *c = fx_cpu(m, 0x7, 0);
	uint8_t *a = fx_area(), ymm[32], want[32];
	const uint8_t *legacy = xs_comp_regs(c, XS_C_X87);

	std_image(a, 0x7);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR standard x87|SSE|AVX");
	fx_reg_get(c, "ymm0", ymm);
	memcpy(want, a + 160, 16);
	memcpy(want + 16, a + 576, 16);
	tap_ok(!memcmp(ymm, want, 32), "YMM0 = XMM0 | YMM0_H from the image");
	tap_ok(!memcmp(legacy + 32, a + 32, 10), "ST0 loaded");
	tap_eq_u64(xs_mxcsr(c), 0x7F80, "MXCSR loaded");
	tap_eq_u64(xs_xinuse(c) & 7, 7, "loaded components are in use");

	/* XSTATE_BV 0: initialize; standard form still loads MXCSR. */
	std_image(a, 0);
	fx_st32(a + 24, 0x1F81);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR standard, XSTATE_BV = 0");
	fx_reg_get(c, "ymm0", ymm);
	tap_ok(fx_all(ymm, 32, 0), "YMM0 initialized to zero");
	tap_eq_u64(fx_ld16(legacy), 0x037F, "x87 initialized: FCW 037FH");
	tap_ok(fx_all(legacy + 32, 10, 0), "x87 initialized: ST0 zero");
	tap_eq_u64(xs_mxcsr(c), 0x1F81, "standard form: MXCSR loaded although SSE initialized");
	tap_eq_u64(xs_xinuse(c) & 7, 0, "initialized components leave XINUSE (xrstor_init_clears_xinuse)");

	/* RFBM[2] alone: standard loads MXCSR, compacted does not. */
	std_image(a, 0x4);
	fx_st32(a + 24, 0x1F82);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x4), "XRSTOR standard RFBM AVX");
	tap_eq_u64(xs_mxcsr(c), 0x1F82, "standard, RFBM[2]: MXCSR loaded");
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x7);
	fx_st32(a + 24, 0x1F83);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x4), "XRSTOR compacted RFBM AVX");
	tap_eq_u64(xs_mxcsr(c), 0x1F82, "compacted, RFBM[2]: MXCSR untouched");
	fx_st64(a + 512, 0x6);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x6), "XRSTOR compacted RFBM SSE|AVX, XSTATE_BV[1] = 1");
	tap_eq_u64(xs_mxcsr(c), 0x1F83, "compacted: MXCSR loaded with SSE");
	fx_st64(a + 512, 0x4);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x6), "XRSTOR compacted, SSE initialized");
	tap_eq_u64(xs_mxcsr(c), 0x1F80, "compacted: SSE init sets MXCSR = 1F80H");

	/* RFBM bits missing from XCOMP_BV are initialized (13.8.2). */
	fx_reg_fill(c, "ymm3", 0x44);
	xs_ldmxcsr(c, 0x1F84);
	std_image(a, 0x1);
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x1);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR compacted, XCOMP_BV = x87 only, RFBM 7");
	fx_reg_get(c, "ymm3", ymm);
	tap_ok(fx_all(ymm, 32, 0), "SSE and AVX, absent from XCOMP_BV, initialized");
	tap_eq_u64(xs_mxcsr(c), 0x1F80, "... with MXCSR = 1F80H");
	tap_ok(!memcmp(legacy + 32, a + 32, 10), "x87 loaded");

	/* RFBM[i] = 0: component untouched. */
	fx_reg_fill(c, "ymm3", 0x45);
	fx_reg_get(c, "ymm3", want);
	std_image(a, 0x7);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x1), "XRSTOR RFBM x87 only");
	fx_reg_get(c, "ymm3", ymm);
	tap_ok(!memcmp(ymm, want, 32), "YMM3 (RFBM[1,2] = 0) untouched");

	/* x87 loads as hardware does (measured on the host). */
	std_image(a, 0x1);
	fx_st16(a, 0xFFFF);           /* FCW: bits 15:13, 7 cleared, 6 set */
	fx_st16(a + 2, 0x0080);       /* FSW.ES without an unmasked exception */
	a[5] = 0xAA;                  /* reserved */
	fx_st16(a + 6, 0xFFFF);       /* FOP: 11 bits */
	fx_st64(a + 8, 0x1122334455667788ULL);
	fx_st64(a + 16, 0x99AABBCCDDEEFF00ULL);
	memset(a + 32 + 10, 0xCC, 6); /* ST0 reserved bytes */
	FX_OK(c, xs_xrstor(c, a, AREA, 0x1), "XRSTOR an x87 image with odd fields");
	tap_eq_u64(fx_ld16(legacy), 0x1F7F, "FCW 0xFFFF loads as 1F7FH");
	tap_eq_u64(fx_ld16(legacy + 2), 0, "FSW.ES/B recomputed (no unmasked exception)");
	tap_eq_u64(legacy[5], 0, "reserved byte 5 reads 0");
	tap_eq_u64(fx_ld16(legacy + 6), 0x7FF, "FOP keeps 11 bits");
	tap_eq_u64(fx_ld64(legacy + 8), 0x0000334455667788ULL, "FIP canonical (48 bits)");
	tap_eq_u64(fx_ld64(legacy + 16), 0xFFFFBBCCDDEEFF00ULL, "FDP canonical (sign-extended)");
	tap_ok(fx_all(legacy + 42, 6, 0), "ST0 reserved bytes read 0");
	xs_cpu_free(c);
	free(a);
}

static void test_tracking(void)
{
	struct xs_model base = *fx_model("intel-sapphire-rapids");
	uint8_t *a = fx_area();

	for (int clears = 0; clears < 2; clears++) {
		struct xs_model m = base;
		struct xs_cpu *c;
		uint64_t v;

		m.impl.xrstor_init_clears_xinuse = clears;
		c = fx_cpu(&m, 0x602E7, 0);
		fx_reg_fill(c, "ymm1", 1);
		fx_reg_fill(c, "k1", 1);
		memset(a, 0, AREA);
		fx_st32(a + 24, 0x1F80);
		fx_st64(a + 512, XS_BIT(XS_C_OPMASK)); /* opmask loaded with zeros */
		FX_OK(c, xs_xrstor(c, a, AREA, 0x27), "XRSTOR RFBM x87|SSE|AVX|opmask");
		tap_ok(xs_xinuse(c) & XS_BIT(XS_C_OPMASK), "loaded (even zeros): XINUSE[5] = 1");
		tap_eq_u64(xs_xinuse(c) & 0x7, clears ? 0 : 0x6,
			   "initialized: XINUSE cleared iff xrstor_init_clears_xinuse (%d)", clears);
		tap_eq_u64(xs_xmodified(c), ~0x27ULL, "XMODIFIED = ~RFBM");
		xs_xsave(c, a, AREA, 0x602E7);
		tap_ok(fx_xstate_bv(a) & XS_BIT(XS_C_OPMASK), "a following XSAVE reports XSTATE_BV[5] = 1");
		FX_OK(c, xs_xrstor(c, a, AREA, 0), "XRSTOR RFBM 0");
		tap_eq_u64(xs_xmodified(c), ~0ULL, "RFBM 0: XMODIFIED all ones");
		xs_xgetbv(c, 1, &v);
		tap_ok(v & XS_BIT(XS_C_OPMASK), "RFBM 0: XINUSE unchanged");
		xs_cpu_free(c);
	}
	{
		struct xs_model m = base;
		struct xs_cpu *c;
		m.impl.xinuse_tracking = false;
		c = fx_cpu(&m, 0x602E7, 0);
		memset(a, 0, AREA);
		FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "XRSTOR all init, XINUSE not tracked");
		tap_eq_u64(xs_xinuse(c) & 0x602E7, 0x602E7, "XINUSE stays all ones without tracking");
		xs_xsavec(c, a, AREA, 0x602E7);
		tap_eq_u64(fx_xstate_bv(a), 0x602E7, "XSAVEC then reports every component");
		xs_cpu_free(c);
	}
	free(a);
}

static void test_xfd(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0), *s;
	uint8_t *a = fx_area();
	struct xs_reg r;
	uint8_t cfg[64] = { 1 };

	cfg[16] = 64;
	cfg[48] = 16;
	xs_reg_lookup(m, "tilecfg", &r);
	xs_reg_write(c, &r, cfg);
	fx_reg_fill(c, "tmm0", 0x21);
	memset(a, 0, AREA);
	FX_OK(c, xs_xsave(c, a, AREA, ~0ULL), "XSAVE with AMX data");
	xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_XTILEDATA));
	s = fx_snap(c);
	{
		uint8_t *copy = fx_area();
		enum xs_fault f;
		memcpy(copy, a, AREA);
		f = xs_xrstor(c, a, AREA, ~0ULL);
		tap_ok(f == XS_NM, "XRSTOR XSTATE_BV[18] = 1 with XFD armed: #NM");
		tap_eq_u64(xs_xfd_err(c), XS_BIT(XS_C_XTILEDATA), "IA32_XFD_ERR := XFD & components needed");
		xs_wrmsr(c, XS_MSR_XFD_ERR, 0);
		tap_ok(xs_cpu_equal(c, s), "nothing else changed");
		tap_ok(!memcmp(copy, a, AREA), "memory unchanged");
		free(copy);
	}
	fx_st64(a + 512, fx_xstate_bv(a) & ~XS_BIT(XS_C_XTILEDATA));
	FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "XRSTOR XSTATE_BV[18] = 0 with XFD armed: no #NM");
	tap_ok(fx_all(xs_comp_regs(c, XS_C_XTILEDATA), 8192, 0), "TILEDATA initialized");
	tap_eq_u64(xs_xfd_err(c), 0, "IA32_XFD_ERR not written");
	/* XRSTORS behaves the same. */
	fx_reg_fill(c, "ymm0", 1);
	xs_wrmsr(c, XS_MSR_XFD, 0);
	fx_reg_fill(c, "tmm1", 0x22);
	memset(a, 0, AREA);
	xs_xsaves(c, a, AREA, ~0ULL);
	xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_XTILEDATA));
	xs_cpu_copy(s, c);
	tap_ok(xs_xrstors(c, a, AREA, ~0ULL) == XS_NM && xs_xfd_err(c) == XS_BIT(18),
	       "XRSTORS of armed TILEDATA: #NM and XFD_ERR");
	xs_wrmsr(c, XS_MSR_XFD_ERR, 0);
	tap_ok(xs_cpu_equal(c, s), "XRSTORS #NM changed nothing else");
	/* Only a requested component faults. */
	FX_OK(c, xs_xrstors(c, a, AREA, ~XS_BIT(XS_C_XTILEDATA)), "XRSTORS without TILEDATA in RFBM");
	xs_cpu_free(c);
	xs_cpu_free(s);
	free(a);
}

/* Values for every supervisor MSR that pass the WRMSR checks. */
static void fill_supervisor(struct xs_cpu *c, uint64_t xss)
{
	static const struct {
		uint32_t msr;
		uint64_t v;
	} vals[] = {
		{ XS_MSR_U_CET, 0x1 }, { XS_MSR_PL3_SSP, 0x7ffff000 }, { XS_MSR_PL0_SSP, 0x7fffe000 },
		{ XS_MSR_PL1_SSP, 0x7fffd000 }, { XS_MSR_PL2_SSP, 0x7fffc000 }, { XS_MSR_PASID, 0x80000042 },
		{ XS_MSR_UINTR_HANDLER, 0x401000 }, { XS_MSR_UINTR_STACKADJUST, 0x80 },
		{ XS_MSR_UINTR_MISC, 0xEC00000003ULL }, { XS_MSR_UINTR_PD, 0x7f0000001000 },
		{ XS_MSR_UINTR_RR, 0x5 }, { XS_MSR_UINTR_TT, 0x7f0000002001 },
		{ XS_MSR_RTIT_CTL, 0x2001 }, { XS_MSR_LBR_CTL, 0x7 }, { XS_MSR_HWP_REQUEST, 0x80001F02 },
		{ XS_MSR_PM_CTL1, 0 },
	};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t old;
		if (xs_rdmsr(c, vals[i].msr, &old) == XS_OK && xs_wrmsr(c, vals[i].msr, vals[i].v) != XS_OK)
			tap_ok(0, "WRMSR %s: %s", xs_msr_name(vals[i].msr), xs_cpu_fault_reason(c));
	}
	(void)xss;
}

/* Standard <-> compacted round trip: save compacted (XSAVEC for user,
 * XSAVES for everything), restore into a fresh CPU, save standard there,
 * and compare the bytes of every component. */
static void round_trip(const char *name)
{
	struct xs_model *m = fx_model(name);
	uint64_t xcr0 = fx_all_user(m), xss = m->has_xsaves ? m->xss_supported : 0;
	struct xs_cpu *c1 = fx_cpu(m, xcr0, xss), *c2 = fx_cpu(m, xcr0, xss);
	uint8_t *img = fx_area(), *cmp = fx_area(), *std = fx_area(), *sv2 = fx_area();
	struct xs_layout ls, lc;
	bool same = true;

	/* Random-looking user state through a standard XRSTOR. */
	fx_pattern(img, AREA, (uint8_t)m->signature);
	memset(img + 416, 0, 96);
	memset(img + 512, 0, 64);
	fx_st32(img + 24, 0x1F80 | 0x3F);
	fx_st64(img + 512, xcr0);
	if (xcr0 & XS_BIT(XS_C_XTILECFG)) {
		uint8_t *cfg = img + m->comp[XS_C_XTILECFG].offset;
		memset(cfg, 0, 64);
		cfg[0] = 1;
		for (unsigned t = 0; t < 8; t++) {
			cfg[16 + 2 * t] = 64;
			cfg[48 + t] = (uint8_t)(16 - t);
		}
	}
	if (xcr0 & XS_BIT(XS_C_BNDCSR))
		memset(img + m->comp[XS_C_BNDCSR].offset, 0, 16);
	FX_OK(c1, xs_xrstor(c1, img, AREA, ~0ULL), "%s: XRSTOR random user state", name);
	xs_set_cr4_pke(c1, m->feat.pku);
	fill_supervisor(c1, xss);

	memset(cmp, 0, AREA);
	FX_OK(c1, xs_xsavec(c1, cmp, AREA, ~0ULL), "%s: XSAVEC", name);
	FX_OK(c2, xs_xrstor(c2, cmp, AREA, ~0ULL), "%s: compacted XRSTOR", name);
	memset(std, 0, AREA);
	FX_OK(c2, xs_xsave(c2, std, AREA, ~0ULL), "%s: XSAVE (standard)", name);
	tap_eq_u64(fx_xstate_bv(std), fx_xstate_bv(cmp), "%s: same XSTATE_BV", name);
	xs_layout_compacted(m, fx_xcomp_bv(cmp), &lc);
	xs_layout_standard(m, xcr0, &ls);
	tap_ok(!memcmp(cmp, std, 416), "%s: legacy region (x87, MXCSR, XMM) equal", name);
	for (unsigned i = 2; i < 63; i++) {
		if (!(xcr0 & XS_BIT(i)))
			continue;
		if (memcmp(cmp + lc.offset[i], std + ls.offset[i], m->comp[i].size)) {
			same = false;
			tap_diag("%s: component %u differs (compacted %u, standard %u)", name, i,
				 lc.offset[i], ls.offset[i]);
		}
	}
	tap_ok(same, "%s: every user component equal in both formats", name);
	for (unsigned i = 0; i < 63; i++)
		if ((xcr0 & XS_BIT(i)) && memcmp(xs_comp_regs(c1, i), xs_comp_regs(c2, i),
						  i < 2 ? 512 : m->comp[i].size))
			same = false;
	tap_ok(same, "%s: both CPUs hold the same user registers", name);

	if (m->has_xsaves) {
		memset(cmp, 0, AREA);
		memset(sv2, 0, AREA);
		FX_OK(c1, xs_xsaves(c1, cmp, AREA, ~0ULL), "%s: XSAVES everything", name);
		tap_eq_u64(fx_xstate_bv(cmp), xcr0 | xss, "%s: every component in use", name);
		xs_cpu_free(c2);
		c2 = fx_cpu(m, xcr0, xss);
		FX_OK(c2, xs_xrstors(c2, cmp, AREA, ~0ULL), "%s: XRSTORS into a fresh CPU", name);
		FX_OK(c2, xs_xsaves(c2, sv2, AREA, ~0ULL), "%s: XSAVES again", name);
		tap_ok(!memcmp(cmp, sv2, xs_size_compacted(m, xcr0 | xss)),
		       "%s: XSAVES -> XRSTORS -> XSAVES gives the same %u bytes", name,
		       xs_size_compacted(m, xcr0 | xss));
	}
	xs_cpu_free(c1);
	xs_cpu_free(c2);
	free(img);
	free(cmp);
	free(std);
	free(sv2);
}

static void test_round_trips(void)
{
	for (size_t i = 0; i < xs_builtin_count(); i++)
		round_trip(xs_builtin_name(i));
}

/* Restore rules the other tests do not reach: the bounds check of the
 * compacted form, its initialization of x87 and of XFD-armed components,
 * components XCR0 leaves out, the XRSTORS header rules checked one by one,
 * PKRU's 4 bytes, a bad TILECFG, MXCSR_MASK 0, and XINUSE after a
 * compacted load of init values (impl.xrstor_load_checks_init). */
static void test_restore_rules(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0xDD00);
	uint8_t *a = fx_area(), ymm[32], want[32], cfg[64] = { 1 };
	const uint8_t *legacy = xs_comp_regs(c, XS_C_X87);
	struct xs_reg r;
	uint32_t need;

	/* 13.13: the compacted area, checked before anything is loaded. */
	fx_reg_fill(c, "zmm20", 5);
	memset(a, 0, AREA);
	FX_OK(c, xs_xsavec(c, a, AREA, 0x602E7), "XSAVEC every user component");
	need = xs_size_compacted(m, 0x602E7);
	rstor_fault(c, xs_xrstor, a, need - 1, ~0ULL, XS_PF, "%s", "compacted XRSTOR one byte short");
	FX_OK(c, xs_xrstor(c, a, need, ~0ULL), "compacted XRSTOR in exactly the compacted size");
	memset(a, 0, AREA);
	FX_OK(c, xs_xsaves(c, a, AREA, ~0ULL), "XSAVES everything");
	need = xs_size_compacted(m, 0x602E7 | 0xDD00);
	rstor_fault(c, xs_xrstors, a, need - 1, ~0ULL, XS_PF, "%s", "XRSTORS one byte short");
	FX_OK(c, xs_xrstors(c, a, need, ~0ULL), "XRSTORS in exactly the compacted size");

	/* Compacted form, XSTATE_BV[0] = 0: x87 is initialized. */
	fx_reg_fill(c, "st0", 0x61);
	fx_reg_fill(c, "fcw", 0x7F);
	std_image(a, 0x6);
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x7);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "compacted XRSTOR, XSTATE_BV[0] = 0");
	tap_eq_u64(fx_ld16(legacy), 0x037F, "x87 initialized by the compacted form: FCW 037FH");
	tap_ok(fx_all(legacy + 32, 10, 0), "... and ST0 zero");

	/* Compacted form with TILEDATA armed but XSTATE_BV[18] = 0 (13.14). */
	cfg[16] = 64;
	cfg[48] = 16;
	xs_reg_lookup(m, "tilecfg", &r);
	xs_reg_write(c, &r, cfg);
	fx_reg_fill(c, "tmm0", 0x33);
	memset(a, 0, AREA);
	FX_OK(c, xs_xsavec(c, a, AREA, 0x602E7), "XSAVEC with tile data");
	fx_st64(a + 512, fx_xstate_bv(a) & ~XS_BIT(XS_C_XTILEDATA));
	xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_XTILEDATA));
	FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "compacted XRSTOR initializing armed TILEDATA: no #NM");
	tap_ok(fx_all(xs_comp_regs(c, XS_C_XTILEDATA), 8192, 0), "TILEDATA initialized");
	tap_eq_u64(xs_xfd_err(c), 0, "IA32_XFD_ERR not written");
	xs_wrmsr(c, XS_MSR_XFD, 0);

	/* A component XCR0 leaves out keeps its contents through a restore
	 * with RFBM all ones (RFBM = XCR0 & EDX:EAX, 13.3). */
	fx_reg_fill(c, "ymm5", 0x71);
	fx_reg_get(c, "ymm5", want);
	FX_OK(c, xs_xsetbv(c, 0, 0x3), "XSETBV x87|SSE");
	std_image(a, 0x3);
	FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "standard XRSTOR, RFBM all ones, AVX not in XCR0");
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x3);
	FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "compacted XRSTOR, RFBM all ones, AVX not in XCR0");
	FX_OK(c, xs_xsetbv(c, 0, 0x602E7), "XSETBV everything again");
	fx_reg_get(c, "ymm5", ymm);
	tap_ok(!memcmp(ymm + 16, want + 16, 16), "YMM5_H untouched while XCR0[2] = 0");

	/* XRSTORS header rules, each with an image that is otherwise good. */
	memset(a, 0, AREA);
	fx_st32(a + 24, 0x1F80);
	fx_st64(a + 512, 0x3);
	fx_st64(a + 520, 0x3);
	rstor_fault(c, xs_xrstors, a, AREA, ~0ULL, XS_GP, "%s", "XRSTORS: XCOMP_BV = 3 without bit 63");
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x3);
	FX_OK(c, xs_xrstors(c, a, AREA, ~0ULL), "XRSTORS: the same image with bit 63");
	fx_st64(a + 512, 0x3 | XS_BIT(XS_C_PASID));
	rstor_fault(c, xs_xrstors, a, AREA, ~0ULL, XS_GP, "%s",
		    "XRSTORS: XSTATE_BV bit 10 (PASID, enabled) not in XCOMP_BV");
	fx_st64(a + 512, 0x3 | XS_BIT(63));
	FX_OK(c, xs_xrstors(c, a, AREA, ~0ULL), "XRSTORS: XSTATE_BV[63] = 1 is inside XCOMP_BV");
	xs_cpu_free(c);
	c = fx_cpu(m, 0x7, XS_BIT(XS_C_PT) | XS_BIT(XS_C_CET_U));
	fx_st64(a + 512, 0x3);
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x3 | XS_BIT(XS_C_CET_S));
	rstor_fault(c, xs_xrstors, a, AREA, ~0ULL, XS_GP, "%s",
		    "XRSTORS: XCOMP_BV bit 12 (CET_S, supported, not in IA32_XSS)");
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x3 | XS_BIT(XS_C_OPMASK));
	rstor_fault(c, xs_xrstors, a, AREA, ~0ULL, XS_GP, "%s",
		    "XRSTORS: XCOMP_BV bit 5 (opmask, supported, not in XCR0)");
	xs_cpu_free(c);

	/* PKRU is bytes 3:0 of its component (13.5.7). */
	c = fx_cpu(m, 0x207, 0);
	xs_set_cr4_pke(c, true);
	memset(a, 0, AREA);
	fx_st32(a + 24, 0x1F80);
	fx_st64(a + 512, XS_BIT(XS_C_PKRU));
	fx_st32(a + 0xA80, 0x55555554);
	fx_st32(a + 0xA84, 0xFFFFFFFF);
	FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "XRSTOR PKRU with bytes 4-7 set");
	{
		uint32_t pkru = 0;
		xs_rdpkru(c, &pkru);
		tap_eq_u64(pkru, 0x55555554, "RDPKRU reads bytes 3:0");
	}
	fx_pattern(a, AREA, 0x19);
	FX_OK(c, xs_xsave(c, a, AREA, ~0ULL), "XSAVE PKRU");
	tap_ok(fx_ld32(a + 0xA80) == 0x55555554 && fx_ld32(a + 0xA84) == 0,
	       "XSAVE writes PKRU and zeros in bytes 4-7");
	xs_cpu_free(c);

	/* A TILECFG that LDTILECFG would refuse initializes TILECFG (13.5.14). */
	c = fx_cpu(m, 0x60007, 0);
	memset(a, 0, AREA);
	fx_st32(a + 24, 0x1F80);
	fx_st64(a + 512, XS_BIT(XS_C_XTILECFG));
	memcpy(a + 0xAC0, cfg, 64);
	FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "XRSTOR a valid TILECFG");
	tap_ok(!memcmp(xs_comp_regs(c, XS_C_XTILECFG), cfg, 64), "valid TILECFG loaded");
	a[0xAC0] = 2; /* palette 2 does not exist */
	FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "XRSTOR a TILECFG with palette 2: no fault");
	tap_ok(fx_all(xs_comp_regs(c, XS_C_XTILECFG), 64, 0), "... TILECFG initialized instead");
	xs_cpu_free(c);

	/* MXCSR_MASK 0 means FFBFH for loads (SDM Vol. 1 11.6.6); saves store 0. */
	{
		struct xs_model m0 = *m;
		struct xs_cpu *s;

		m0.impl.mxcsr_mask = 0;
		c = fx_cpu(&m0, 0x7, 0);
		FX_OK(c, xs_ldmxcsr(c, 0x1FBF), "MXCSR_MASK 0: LDMXCSR 1FBFH");
		s = fx_snap(c);
		FX_FAULT(c, s, xs_ldmxcsr(c, 0x1FC0), XS_GP, "MXCSR_MASK 0: LDMXCSR DAZ (bit 6)");
		xs_cpu_free(s);
		std_image(a, 0x7);
		fx_st32(a + 24, 0x1F80 | 0x40);
		rstor_fault(c, xs_xrstor, a, AREA, ~0ULL, XS_GP, "%s", "MXCSR_MASK 0: XRSTOR MXCSR with DAZ");
		FX_OK(c, xs_xsave(c, a, AREA, ~0ULL), "XSAVE");
		tap_eq_u64(fx_ld32(a + 28), 0, "MXCSR_MASK stored as 0");
		xs_cpu_free(c);
	}

	/* impl.xrstor_load_checks_init (AMD): a compacted load of zeros. */
	c = fx_cpu(fx_model("host-amd-epyc-vm"), 0x7, 0);
	fx_reg_fill(c, "ymm1", 0x10);
	memset(a, 0, AREA);
	fx_st32(a + 24, 0x1F80);
	fx_st64(a + 512, 0x6);
	fx_st64(a + 520, XS_COMPACTED_BIT | 0x7);
	fx_st64(a + 160, 1);
	FX_OK(c, xs_xrstor(c, a, AREA, ~0ULL), "compacted XRSTOR: AVX loaded with zeros, SSE with data");
	tap_eq_u64(xs_xinuse(c) & 0x6, 0x2, "AVX loaded in its initial configuration leaves XINUSE[2] = 0");
	xs_cpu_free(c);
	free(a);
}

int main(void)
{
	tap_plan_lazy();
	test_faults();
	test_header_checks();
	test_load_init();
	test_tracking();
	test_xfd();
	test_round_trips();
	test_restore_rules();
	return tap_done();
}
