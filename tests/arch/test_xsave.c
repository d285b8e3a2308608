/* XSAVE, XSAVEOPT, XSAVEC, XSAVES (SDM Vol. 1 13.7, 13.9-13.11): faults,
 * initial values, header rules, MXCSR rules, the init and modified
 * optimizations (on and off), XFD, and the layouts the models give. */
#include "cpu_fixture.h"

typedef enum xs_fault (*save_fn)(struct xs_cpu *, void *, size_t, uint64_t);

static const struct {
	const char *name;
	save_fn fn;
	bool cpl0;
} saves[] = {
	{ "XSAVE", xs_xsave, false },
	{ "XSAVEOPT", xs_xsaveopt, false },
	{ "XSAVEC", xs_xsavec, false },
	{ "XSAVES", xs_xsaves, true },
};

/* A save that faults writes no byte and changes no state. */
static void save_fault(struct xs_cpu *c, save_fn fn, uint8_t *a, size_t len, uint64_t mask,
		       enum xs_fault want, const char *what)
{
	struct xs_cpu *s = fx_snap(c);
	uint8_t *copy = fx_area();

	fx_pattern(a, AREA, 0x5A);
	memcpy(copy, a, AREA);
	FX_FAULT(c, s, fn(c, a, len, mask), want, "%s", what);
	tap_ok(!memcmp(a, copy, AREA), "%s: memory unchanged", what);
	xs_cpu_free(s);
	free(copy);
}

static void test_faults(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	uint8_t *a = fx_area();
	char what[160];

	for (size_t k = 0; k < 4; k++) {
		struct xs_cpu *c = xs_cpu_new(m);
		const char *n = saves[k].name;
		uint64_t all = 0x602E7 | (saves[k].cpl0 ? 0xDD00 : 0);
		uint32_t need;

		snprintf(what, sizeof(what), "%s with CR4.OSXSAVE=0", n);
		save_fault(c, saves[k].fn, a, AREA, ~0ULL, XS_UD, what);
		xs_cpu_free(c);

		c = fx_cpu(m, 0x602E7, 0xDD00);
		xs_set_cr0_ts(c, true);
		snprintf(what, sizeof(what), "%s with CR0.TS=1", n);
		save_fault(c, saves[k].fn, a, AREA, ~0ULL, XS_NM, what);
		xs_set_cr0_ts(c, false);

		snprintf(what, sizeof(what), "%s misaligned (+16)", n);
		save_fault(c, saves[k].fn, a + 16, AREA - 16, ~0ULL, XS_GP, what);
		xs_set_alignment_check(c, true);
		snprintf(what, sizeof(what), "%s misaligned, AC on, CPL 0", n);
		save_fault(c, saves[k].fn, a + 32, AREA - 32, ~0ULL, XS_GP, what);
		xs_set_cpl(c, 3);
		snprintf(what, sizeof(what), "%s misaligned, AC on, CPL 3 (impl: #GP, as the AMD host)", n);
		save_fault(c, saves[k].fn, a + 8, AREA - 8, 0x3, XS_GP, what);
		xs_set_alignment_check(c, false);
		if (saves[k].cpl0) {
			snprintf(what, sizeof(what), "%s at CPL 3", n);
			save_fault(c, saves[k].fn, a, AREA, ~0ULL, XS_GP, what);
		} else {
			snprintf(what, sizeof(what), "%s misaligned at CPL 3, AC off", n);
			save_fault(c, saves[k].fn, a + 8, AREA - 8, 0x3, XS_GP, what);
			FX_OK(c, saves[k].fn(c, a, AREA, ~0ULL), "%s at CPL 3", n);
		}
		xs_set_cpl(c, 0);

		/* #PF: the whole area is checked up front (13.13). */
		need = (k < 2) ? xs_size_standard(m, all) : xs_size_compacted(m, all);
		snprintf(what, sizeof(what), "%s with a buffer one byte short (%u)", n, need - 1);
		save_fault(c, saves[k].fn, a, need - 1, ~0ULL, XS_PF, what);
		FX_OK(c, saves[k].fn(c, a, need, ~0ULL), "%s with a buffer of exactly %u bytes", n, need);
		snprintf(what, sizeof(what), "%s with a 575-byte buffer, RFBM 0", n);
		save_fault(c, saves[k].fn, a, 575, 0, XS_PF, what);
		FX_OK(c, saves[k].fn(c, a, 576, 0), "%s RFBM 0 in 576 bytes", n);
		xs_cpu_free(c);
	}

	/* impl.xsave_misalign_ac: #AC instead of #GP at CPL 3 with AC on. */
	{
		struct xs_model m2 = *m;
		struct xs_cpu *c;

		m2.impl.xsave_misalign_ac = true;
		c = fx_cpu(&m2, 0x7, 0);
		xs_set_alignment_check(c, true);
		save_fault(c, xs_xsave, a + 16, AREA - 16, 7, XS_GP, "XSAVE misaligned, AC on, CPL 0: #GP");
		xs_set_cpl(c, 3);
		for (size_t k = 0; k < 4; k++) {
			snprintf(what, sizeof(what), "%s misaligned, AC on, CPL 3 (impl: #AC)", saves[k].name);
			save_fault(c, saves[k].fn, a + 4, AREA - 4, 7, saves[k].cpl0 ? XS_GP : XS_AC, what);
		}
		xs_set_alignment_check(c, false);
		save_fault(c, xs_xsave, a + 4, AREA - 4, 7, XS_GP, "XSAVE misaligned, AC off, CPL 3: #GP");
		xs_cpu_free(c);
	}

	/* Sub-feature not enumerated: #UD. */
	{
		struct xs_model m2 = *m;
		struct xs_cpu *c;

		m2.has_xsaveopt = false;
		m2.has_xsavec = false;
		m2.has_xsaves = false;
		m2.xss_supported = 0;
		c = fx_cpu(&m2, 0x7, 0);
		save_fault(c, xs_xsaveopt, a, AREA, 7, XS_UD, "XSAVEOPT without CPUID.(0DH,1):EAX[0]");
		save_fault(c, xs_xsavec, a, AREA, 7, XS_UD, "XSAVEC without CPUID.(0DH,1):EAX[1]");
		save_fault(c, xs_xsaves, a, AREA, 7, XS_UD, "XSAVES without CPUID.(0DH,1):EAX[3]");
		FX_OK(c, xs_xsave(c, a, AREA, 7), "XSAVE still works");
		xs_cpu_free(c);
		/* No XSAVE at all (CR4.OSXSAVE cannot even be set). */
		m2.feat.xsave = false;
		c = xs_cpu_new(&m2);
		save_fault(c, xs_xsave, a, AREA, 7, XS_UD, "XSAVE without CPUID.01H:ECX.XSAVE");
		tap_ok(strstr(xs_cpu_fault_reason(c), "XSAVE = 0") != NULL, "... for that reason");
		xs_cpu_free(c);
	}
	free(a);
}

/* After RESET every component is in its initial configuration: XSAVE
 * writes the init values (13.6) and XSTATE_BV = XINUSE & RFBM = 0. */
static void test_init_values(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0);
	uint8_t *a = fx_area();
	bool rest_zero = true;

	fx_pattern(a, AREA, 0x11);
	FX_OK(c, xs_xsave(c, a, AREA, ~0ULL), "XSAVE of the RESET state");
	tap_eq_u64(fx_ld16(a), 0x037F, "init FCW = 037FH");
	tap_ok(fx_all(a + 2, 22, 0), "init FSW, FTW (abridged 00H), FOP, FIP, FDP = 0");
	tap_eq_u64(fx_ld32(a + 24), 0x1F80, "MXCSR = 1F80H");
	tap_eq_u64(fx_ld32(a + 28), m->impl.mxcsr_mask, "MXCSR_MASK = the model's mask");
	for (unsigned j = 0; j < 8; j++)
		rest_zero &= fx_all(a + 32 + 16 * j, 16, 0);
	tap_ok(rest_zero, "ST0-7 zero");
	tap_ok(fx_all(a + 160, 256, 0), "XMM0-15 zero");
	{
		uint8_t *copy = fx_area();
		fx_pattern(copy, AREA, 0x11);
		tap_ok(!memcmp(a + 416, copy + 416, 96), "bytes 416-511 not written");
		tap_ok(!memcmp(a + 520, copy + 520, 56), "header bytes 8-63 not written");
		tap_eq_u64(fx_xstate_bv(a), fx_xstate_bv(copy) & ~0x602E7ULL,
			   "XSTATE_BV: RFBM bits = XINUSE = 0, the others kept");
		free(copy);
	}
	tap_ok(fx_all(a + 576, 256, 0), "AVX area zero");
	tap_ok(fx_all(a + 0x440, 64 + 512 + 1024, 0), "AVX-512 areas zero");
	tap_ok(fx_all(a + 0xa80, 8, 0), "PKRU area zero");
	tap_ok(fx_all(a + 0xac0, 64 + 8192, 0), "AMX areas zero");
	xs_cpu_free(c);

	/* Supervisor init values, written by XSAVES without the init
	 * optimization: HWP 8000FF01H (Granite Rapids), HDC 1 (added). */
	{
		struct xs_model g = *fx_model("intel-granite-rapids");
		struct xs_layout l;
		g.impl.xsaves_init_opt = false;
		c = fx_cpu(&g, 0x7, XS_BIT(XS_C_HWP) | XS_BIT(XS_C_PT));
		fx_pattern(a, AREA, 0x22);
		FX_OK(c, xs_xsaves(c, a, AREA, ~0ULL), "XSAVES of the RESET state (no init optimization)");
		xs_layout_compacted(&g, XS_COMPACTED_BIT | 0x7 | XS_BIT(XS_C_HWP) | XS_BIT(XS_C_PT), &l);
		tap_eq_u64(fx_ld64(a + l.offset[XS_C_HWP]), 0x8000FF01ULL, "init IA32_HWP_REQUEST = 8000FF01H");
		tap_ok(fx_all(a + l.offset[XS_C_PT], 128, 0), "init PT = zeros");
		tap_eq_u64(fx_xstate_bv(a), 0, "XSTATE_BV = 0 for components in init");
		xs_cpu_free(c);
	}
	{
		struct xs_model h = *fx_model("intel-alder-lake-pcore");
		h.xss_supported |= XS_BIT(XS_C_HDC);
		h.comp[XS_C_HDC].size = 8;
		h.comp[XS_C_HDC].supervisor = true;
		h.impl.xsaves_init_opt = false;
		c = fx_cpu(&h, 0x7, XS_BIT(XS_C_HDC));
		fx_pattern(a, AREA, 0x22);
		FX_OK(c, xs_xsaves(c, a, AREA, ~0ULL), "XSAVES with HDC");
		tap_eq_u64(fx_ld64(a + 832), 1, "init IA32_PM_CTL1 = 1");
		xs_cpu_free(c);
	}
	free(a);
}

/* XSAVE: XSTATE_BV read-modify-write; XSAVEC: written, 0 outside RFBM. */
static void test_header_rules(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0);
	uint8_t *a = fx_area(), *copy = fx_area();

	fx_reg_fill(c, "ymm1", 3);    /* SSE and AVX in use */
	fx_reg_fill(c, "k3", 4);      /* opmask in use */
	fx_pattern(a, AREA, 0x33);
	fx_st64(a + 512, 0x8000000000FF0003ULL); /* bits outside RFBM, bit 63 */
	fx_st64(a + 520, 0x1234);
	memcpy(copy, a, AREA);
	FX_OK(c, xs_xsave(c, a, AREA, XS_BIT(XS_C_SSE) | XS_BIT(XS_C_AVX) | XS_BIT(XS_C_XTILECFG)),
	      "XSAVE RFBM SSE|AVX|TILECFG");
	tap_eq_u64(fx_xstate_bv(a), (0x8000000000FF0003ULL & ~(0x6ULL | XS_BIT(17))) | 0x6,
		   "XSAVE: XSTATE_BV = (old & ~RFBM) | (XINUSE & RFBM)");
	tap_ok(!memcmp(a + 520, copy + 520, 56), "XSAVE: XCOMP_BV and bytes 16-63 untouched");
	tap_ok(!memcmp(a, copy, 24) && !memcmp(a + 32, copy + 32, 128), "XSAVE: x87 not in RFBM, not written");
	tap_ok(!memcmp(a + 0x440, copy + 0x440, 64), "XSAVE: opmask (in use, not in RFBM) not written");

	fx_pattern(a, AREA, 0x44);
	fx_st64(a + 512, ~0ULL);
	memcpy(copy, a, AREA);
	FX_OK(c, xs_xsavec(c, a, AREA, XS_BIT(XS_C_SSE) | XS_BIT(XS_C_AVX) | XS_BIT(XS_C_XTILECFG)),
	      "XSAVEC RFBM SSE|AVX|TILECFG");
	tap_eq_u64(fx_xstate_bv(a), 0x6, "XSAVEC: XSTATE_BV = RFBM & XINUSE, zero elsewhere (bit 63 too)");
	tap_eq_u64(fx_xcomp_bv(a), XS_COMPACTED_BIT | 0x6 | XS_BIT(17), "XSAVEC: XCOMP_BV = RFBM | bit 63");
	tap_ok(!memcmp(a + 528, copy + 528, 48), "XSAVEC: header bytes 16-63 untouched");
	tap_ok(!memcmp(a + 416, copy + 416, 96), "XSAVEC: bytes 416-511 untouched");
	/* TILECFG is in init: not written (init optimization), but it still
	 * takes its place in the layout, 64-byte aligned after AVX at 576. */
	tap_ok(!memcmp(a + 832, copy + 832, 64), "XSAVEC: TILECFG (init) not written at 832");
	xs_cpu_free(c);
	free(a);
	free(copy);
}

/* Spec section 11.2. */
static void test_mxcsr_rules(void)
{
	struct xs_model *m = fx_model("host-amd-epyc-vm");
	struct xs_cpu *c = fx_cpu(m, 0x7, 0x1800);
	uint8_t *a = fx_area();

	xs_ldmxcsr(c, 0x1F80 | 0x8000); /* FZ */
	fx_pattern(a, AREA, 0x55);
	FX_OK(c, xs_xsave(c, a, AREA, XS_BIT(XS_C_AVX)), "XSAVE RFBM AVX only");
	tap_eq_u64(fx_ld32(a + 24), 0x9F80, "XSAVE: RFBM[2] alone writes MXCSR");
	tap_eq_u64(fx_ld32(a + 28), m->impl.mxcsr_mask, "... and MXCSR_MASK");
	tap_ok(a[160] == (uint8_t)(0x55 + 160 * 7) && a[0] == 0x55, "... but neither XMM nor x87");

	fx_pattern(a, AREA, 0x55);
	FX_OK(c, xs_xsave(c, a, AREA, XS_BIT(XS_C_X87)), "XSAVE RFBM x87 only");
	tap_ok(a[24] == (uint8_t)(0x55 + 24 * 7) && a[27] == (uint8_t)(0x55 + 27 * 7) &&
	       a[28] == (uint8_t)(0x55 + 28 * 7), "XSAVE: RFBM[0] alone leaves MXCSR and MXCSR_MASK unwritten");

	fx_pattern(a, AREA, 0x55);
	FX_OK(c, xs_xsavec(c, a, AREA, XS_BIT(XS_C_AVX)), "XSAVEC RFBM AVX only, MXCSR != 1F80H");
	tap_ok(a[24] == (uint8_t)(0x55 + 24 * 7), "XSAVEC: RFBM[2] does not save MXCSR");

	fx_pattern(a, AREA, 0x55);
	FX_OK(c, xs_xsavec(c, a, AREA, 0x3), "XSAVEC RFBM x87|SSE, XMMs init, MXCSR != 1F80H");
	tap_eq_u64(fx_xstate_bv(a), 0x2, "XSAVEC: XSTATE_BV[1] = 1 because MXCSR != 1F80H");
	tap_eq_u64(fx_ld32(a + 24), 0x9F80, "XSAVEC: MXCSR saved");
	tap_ok(fx_all(a + 160, 256, 0), "XSAVEC: XMMs saved (as zeros) with it");

	xs_ldmxcsr(c, 0x1F80);
	fx_pattern(a, AREA, 0x55);
	FX_OK(c, xs_xsavec(c, a, AREA, 0x3), "XSAVEC RFBM x87|SSE, all init");
	tap_eq_u64(fx_xstate_bv(a), 0, "XSAVEC: XSTATE_BV[1] = 0 with MXCSR = 1F80H");
	tap_ok(a[24] == (uint8_t)(0x55 + 24 * 7) && a[160] == (uint8_t)(0x55 + 160 * 7),
	       "XSAVEC (init optimization): neither MXCSR nor XMMs written");

	fx_pattern(a, AREA, 0x55);
	FX_OK(c, xs_xsaveopt(c, a, AREA, 0x3), "XSAVEOPT RFBM x87|SSE, all init");
	tap_eq_u64(fx_ld32(a + 24), 0x1F80, "XSAVEOPT: MXCSR written although SSE is skipped");
	tap_ok(a[160] == (uint8_t)(0x55 + 160 * 7), "XSAVEOPT: XMMs skipped (init optimization)");

	xs_ldmxcsr(c, 0x1FC0);
	fx_pattern(a, AREA, 0x55);
	FX_OK(c, xs_xsaves(c, a, AREA, 0x2), "XSAVES RFBM SSE, MXCSR != 1F80H");
	tap_ok(fx_xstate_bv(a) == 0x2 && fx_ld32(a + 24) == 0x1FC0, "XSAVES: like XSAVEC for MXCSR");
	xs_cpu_free(c);
	free(a);
}

/* Init and modified optimizations, on and off. A pattern in memory shows
 * whether a component was written. */
static void test_optimizations(void)
{
	struct xs_model base = *fx_model("intel-sapphire-rapids");
	uint8_t *a = fx_area(), *b = fx_area();
	uint8_t pat = 0x66;

	for (int on = 0; on < 2; on++) {
		struct xs_model m = base;
		struct xs_cpu *c;
		bool written;

		m.impl.xsaveopt_init_opt = on;
		m.impl.xsaveopt_modified_opt = on;
		m.impl.xsavec_init_opt = on;
		m.impl.xsaves_init_opt = on;
		m.impl.xsaves_modified_opt = on;
		c = fx_cpu(&m, 0x602E7, 0xDD00);
		fx_reg_fill(c, "xmm0", 1); /* SSE in use; AVX, AVX-512 init */

		/* init optimization */
		fx_pattern(a, AREA, pat);
		FX_OK(c, xs_xsaveopt(c, a, AREA, 0x7), "XSAVEOPT (opt %s)", on ? "on" : "off");
		written = fx_all(a + 576, 256, 0);
		tap_ok(written == !on, "XSAVEOPT init optimization %s: AVX (init) %s", on ? "on" : "off",
		       on ? "skipped" : "written");
		tap_ok(!fx_all(a + 160, 16, 0), "XSAVEOPT writes XMM0 (in use) either way");
		fx_pattern(a, AREA, pat);
		FX_OK(c, xs_xsavec(c, a, AREA, 0x7), "XSAVEC");
		tap_ok(fx_all(a + 576, 256, 0) == !on, "XSAVEC init optimization %s", on ? "on" : "off");
		fx_pattern(a, AREA, pat);
		FX_OK(c, xs_xsaves(c, a, AREA, 0x7), "XSAVES");
		tap_ok(fx_all(a + 576, 256, 0) == !on, "XSAVES init optimization %s", on ? "on" : "off");
		fx_pattern(a, AREA, pat);
		FX_OK(c, xs_xsave(c, a, AREA, 0x7), "XSAVE");
		tap_ok(fx_all(a + 576, 256, 0), "XSAVE never optimizes (opt %s)", on ? "on" : "off");

		/* modified optimization of XSAVEOPT: standard XRSTOR, then the
		 * memory changes behind the processor's back. */
		fx_reg_fill(c, "ymm4", 7);
		memset(a, 0, AREA); /* a valid header */
		FX_OK(c, xs_xsave(c, a, AREA, 0x7), "XSAVE ymm4");
		FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR (standard) from the same area");
		tap_eq_u64(xs_xmodified(c) & 0x7, 0, "XRSTOR clears XMODIFIED for RFBM");
		memset(a + 576, 0xEE, 256);
		FX_OK(c, xs_xsaveopt(c, a, AREA, 0x7), "XSAVEOPT after XRSTOR, same address");
		tap_ok(fx_all(a + 576, 256, 0xEE) == on,
		       "XSAVEOPT modified optimization %s: unmodified AVX %s", on ? "on" : "off",
		       on ? "skipped" : "written");
		/* A write to YMM sets XMODIFIED: written again. */
		FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR again");
		memset(a + 576, 0xEE, 256);
		fx_reg_fill(c, "ymm4", 7);
		tap_ok(xs_xmodified(c) & XS_BIT(XS_C_AVX), "a register write sets XMODIFIED[2]");
		FX_OK(c, xs_xsaveopt(c, a, AREA, 0x7), "XSAVEOPT after a YMM write");
		tap_ok(!fx_all(a + 576, 256, 0xEE), "modified AVX written");
		/* LDMXCSR: XSAVEOPT still skips the XMMs (XMODIFIED[1] covers
		 * them only, as on the AMD host) but writes the new MXCSR. */
		fx_reg_fill(c, "xmm3", 0x31);
		memset(a, 0, AREA);
		FX_OK(c, xs_xsave(c, a, AREA, 0x7), "XSAVE");
		FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR");
		FX_OK(c, xs_ldmxcsr(c, 0x1F00), "LDMXCSR 1F00H");
		memset(a + 160, 0x5C, 16);
		FX_OK(c, xs_xsaveopt(c, a, AREA, 0x7), "XSAVEOPT after LDMXCSR");
		tap_ok(fx_all(a + 160, 16, 0x5C) == on && fx_ld32(a + 24) == 0x1F00,
		       "XSAVEOPT (opt %s): XMM0 %s, MXCSR written", on ? "on" : "off",
		       on ? "skipped" : "written");
		xs_ldmxcsr(c, 0x1F80);
		/* Other address: no optimization. */
		FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR at A");
		memcpy(b, a, AREA);
		memset(b + 576, 0xEE, 256);
		FX_OK(c, xs_xsaveopt(c, b, AREA, 0x7), "XSAVEOPT at B");
		tap_ok(!fx_all(b + 576, 256, 0xEE), "XSAVEOPT at another address writes AVX");
		/* Other CPL: no optimization. */
		FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR at CPL 0");
		memset(a + 576, 0xEE, 256);
		xs_set_cpl(c, 3);
		FX_OK(c, xs_xsaveopt(c, a, AREA, 0x7), "XSAVEOPT at CPL 3");
		tap_ok(!fx_all(a + 576, 256, 0xEE), "XRSTOR_INFO CPL differs: AVX written");
		xs_set_cpl(c, 0);
		/* Other VMX mode: no optimization. */
		FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR in VMX root");
		memset(a + 576, 0xEE, 256);
		xs_set_vmx_nonroot(c, true);
		FX_OK(c, xs_xsaveopt(c, a, AREA, 0x7), "XSAVEOPT in VMX non-root");
		tap_ok(!fx_all(a + 576, 256, 0xEE), "XRSTOR_INFO VMX flag differs: AVX written");
		xs_set_vmx_nonroot(c, false);
		/* A compacted restore in between: XRSTOR_INFO.z != 0. */
		memset(b, 0, AREA);
		FX_OK(c, xs_xsavec(c, b, AREA, 0x7), "XSAVEC to B");
		FX_OK(c, xs_xrstor(c, b, AREA, 0x7), "compacted XRSTOR from B");
		memset(b + 576, 0xEE, 256);
		FX_OK(c, xs_xsaveopt(c, b, AREA, 0x7), "XSAVEOPT to B after a compacted XRSTOR");
		tap_ok(!fx_all(b + 576, 256, 0xEE), "XSAVEOPT needs XRSTOR_INFO.z = 0: AVX written");

		/* modified optimization of XSAVES: needs z = RFBM | bit 63. */
		FX_OK(c, xs_xsaves(c, b, AREA, 0x7), "XSAVES RFBM 7");
		FX_OK(c, xs_xrstors(c, b, AREA, 0x7), "XRSTORS from it");
		memset(b + 576, 0xEE, 256);
		FX_OK(c, xs_xsaves(c, b, AREA, 0x7), "XSAVES again, same RFBM");
		tap_ok(fx_all(b + 576, 256, 0xEE) == on, "XSAVES modified optimization %s",
		       on ? "on" : "off");
		/* XSAVES saves MXCSR only with SSE: an LDMXCSR makes it write SSE. */
		FX_OK(c, xs_xsaves(c, b, AREA, 0x7), "XSAVES");
		FX_OK(c, xs_xrstors(c, b, AREA, 0x7), "XRSTORS");
		FX_OK(c, xs_ldmxcsr(c, 0x1F40), "LDMXCSR 1F40H");
		fx_st32(b + 24, 0);
		FX_OK(c, xs_xsaves(c, b, AREA, 0x7), "XSAVES after LDMXCSR");
		tap_eq_u64(fx_ld32(b + 24), 0x1F40, "XSAVES wrote the new MXCSR (opt %s)", on ? "on" : "off");
		xs_ldmxcsr(c, 0x1F80);
		fx_reg_fill(c, "ymm4", 9);
		FX_OK(c, xs_xsaves(c, b, AREA, 0x7), "XSAVES after a YMM write");
		tap_ok(!fx_all(b + 576, 256, 0xEE), "XSAVES writes the modified AVX");
		FX_OK(c, xs_xrstors(c, b, AREA, 0x7), "XRSTORS");
		memset(b + 576, 0xEE, 256);
		FX_OK(c, xs_xsaves(c, b, AREA, 0x7 | XS_BIT(XS_C_PKRU)), "XSAVES with another RFBM");
		tap_ok(!fx_all(b + 576, 256, 0xEE), "XSAVES: XRSTOR_INFO.z != RFBM|bit63: AVX written");
		xs_cpu_free(c);
	}
	free(a);
	free(b);
}

static void test_xfd(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0);
	uint8_t cfg[64] = { 1 }, *a = fx_area();
	struct xs_reg r;
	struct xs_layout l;

	cfg[16] = 64; /* tile 0: 16 rows of 64 bytes */
	cfg[48] = 16;
	xs_reg_lookup(m, "tilecfg", &r);
	FX_OK(c, xs_reg_write(c, &r, cfg), "LDTILECFG palette 1");
	fx_reg_fill(c, "tmm0", 0x77);
	FX_OK(c, xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_XTILEDATA)), "arm XFD for TILEDATA");

	fx_pattern(a, AREA, 0x12);
	FX_OK(c, xs_xsave(c, a, AREA, ~0ULL), "XSAVE with TILEDATA armed: no #NM");
	tap_eq_u64(fx_xstate_bv(a) & XS_BIT(18), 0, "XSAVE: XSTATE_BV[18] = 0");
	tap_ok(fx_all(a + 0xb00, 8192, 0), "XSAVE: TILEDATA written with init values");
	tap_ok(fx_xstate_bv(a) & XS_BIT(17), "XSAVE: TILECFG (not armed) saved as in use");

	fx_pattern(a, AREA, 0x12);
	FX_OK(c, xs_xsaveopt(c, a, AREA, ~0ULL), "XSAVEOPT with TILEDATA armed");
	tap_ok(fx_xstate_bv(a) == (fx_xstate_bv(a) & ~XS_BIT(18)) &&
	       a[0xb00] == (uint8_t)(0x12 + 0xb00 * 7), "XSAVEOPT: XSTATE_BV[18] = 0, nothing written");

	fx_pattern(a, AREA, 0x12);
	FX_OK(c, xs_xsavec(c, a, AREA, ~0ULL), "XSAVEC with TILEDATA armed");
	xs_layout_compacted(m, fx_xcomp_bv(a), &l);
	tap_eq_u64(fx_xstate_bv(a) & XS_BIT(18), 0, "XSAVEC: XSTATE_BV[18] = 0");
	tap_ok(fx_xcomp_bv(a) & XS_BIT(18), "XSAVEC: XCOMP_BV[18] = 1 (format unaffected)");
	tap_ok(a[l.offset[18]] == (uint8_t)(0x12 + l.offset[18] * 7), "XSAVEC: TILEDATA not written");
	tap_eq_u64(xs_xfd_err(c), 0, "saves never write IA32_XFD_ERR");

	/* Disarmed: saved again. */
	xs_wrmsr(c, XS_MSR_XFD, 0);
	FX_OK(c, xs_xsavec(c, a, AREA, ~0ULL), "XSAVEC with XFD disarmed");
	tap_ok(fx_xstate_bv(a) & XS_BIT(18), "TILEDATA saved once XFD is clear");
	tap_ok(a[l.offset[18]] == 0x77, "TILEDATA contents survived the armed period");
	xs_cpu_free(c);
	free(a);
}

/* Distinct register values land at the offsets the model's CPUID gives. */
static void check_layout(const char *model, uint64_t xcr0, const uint32_t *std_off,
			 const uint32_t *cmp_off)
{
	struct xs_model *m = fx_model(model);
	struct xs_cpu *c = fx_cpu(m, xcr0, 0);
	uint8_t *a = fx_area();
	static const struct {
		const char *reg;
		unsigned comp, off, len;
	} probe[] = {
		{ "ymm0", XS_C_AVX, 0, 16 },      { "k0", XS_C_OPMASK, 0, 8 },
		{ "zmm0", XS_C_ZMM_HI256, 0, 32 }, { "zmm16", XS_C_HI16_ZMM, 0, 64 },
		{ "pkru", XS_C_PKRU, 0, 4 },      { "bnd0", XS_C_BNDREGS, 0, 16 },
	};
	uint8_t val[64];

	xs_set_cr4_pke(c, m->feat.pku);
	for (size_t p = 0; p < sizeof(probe) / sizeof(probe[0]); p++) {
		struct xs_reg r;
		unsigned k = probe[p].comp;

		if (!(xcr0 & XS_BIT(k)) || xs_reg_lookup(m, probe[p].reg, &r))
			continue;
		if (k == XS_C_PKRU && !m->feat.pku)
			continue;
		fx_pattern(val, sizeof(val), (uint8_t)(0x80 + k));
		xs_reg_write(c, &r, val);
		/* the bytes of this register that live in component k */
		unsigned skip = r.size - probe[p].len;
		memset(a, 0, AREA);
		FX_OK(c, xs_xsave(c, a, AREA, xcr0), "%s XSAVE", model);
		tap_ok(!memcmp(a + std_off[k], val + skip, probe[p].len), "%s: %s at standard offset %u",
		       model, xs_comp_name(k), std_off[k]);
		memset(a, 0, AREA);
		FX_OK(c, xs_xsavec(c, a, AREA, xcr0), "%s XSAVEC", model);
		tap_ok(!memcmp(a + cmp_off[k], val + skip, probe[p].len),
		       "%s: %s at compacted offset %u (XCOMP_BV %#llx)", model, xs_comp_name(k),
		       cmp_off[k], (unsigned long long)xcr0);
	}
	xs_cpu_free(c);
	free(a);
}

static void test_layouts(void)
{
	uint32_t spr_std[20] = { 0 }, spr_cmp[20] = { 0 };
	uint32_t zen4_std[20] = { 0 }, zen4_cmp[20] = { 0 };
	uint32_t sky_std[20] = { 0 }, sky_cmp[20] = { 0 };

	/* Spec 4.3 worked example (SPR, XCR0 602E7H). */
	spr_std[2] = 576; spr_std[5] = 0x440; spr_std[6] = 0x480; spr_std[7] = 0x680; spr_std[9] = 0xa80;
	spr_cmp[2] = 576; spr_cmp[5] = 832; spr_cmp[6] = 896; spr_cmp[7] = 1408; spr_cmp[9] = 2432;
	check_layout("intel-sapphire-rapids", 0x602E7, spr_std, spr_cmp);
	/* AMD Zen 4: no MPX hole (data/cpus README). */
	zen4_std[2] = 576; zen4_std[5] = 0x340; zen4_std[6] = 0x380; zen4_std[7] = 0x580; zen4_std[9] = 0x980;
	zen4_cmp[2] = 576; zen4_cmp[5] = 832; zen4_cmp[6] = 896; zen4_cmp[7] = 1408; zen4_cmp[9] = 2432;
	check_layout("amd-zen4-genoa", 0x2E7, zen4_std, zen4_cmp);
	/* Without AVX-512, PKRU compacts right after AVX on Zen 4. */
	zen4_cmp[9] = 832;
	check_layout("amd-zen4-genoa", 0x207, zen4_std, zen4_cmp);
	/* Skylake-SP with MPX: BNDREGS at 960 standard, 832 compacted. */
	sky_std[2] = 576; sky_std[3] = 960; sky_std[5] = 0x440; sky_std[6] = 0x480; sky_std[7] = 0x680;
	sky_cmp[2] = 576; sky_cmp[3] = 832; sky_cmp[5] = 960; sky_cmp[6] = 1024; sky_cmp[7] = 1536;
	check_layout("intel-skylake-sp", 0xFF, sky_std, sky_cmp);

	/* The host: AVX at 576; XSAVES puts CET_U at 832 and CET_S at 848
	 * (its Linux boot log: xstate_offset[11]: 832, [12]: 848). */
	{
		struct xs_model *m = fx_model("host-amd-epyc-vm");
		struct xs_cpu *c = fx_cpu(m, 0x7, 0x1800);
		uint8_t *a = fx_area();
		uint32_t need = xs_size_compacted(m, 0x1807);

		tap_eq_u64(need, 872, "host: compacted size of 1807H is 872 (Linux: context size 872)");
		fx_reg_fill(c, "ymm0", 0x40);
		xs_wrmsr(c, XS_MSR_U_CET, 0x1);
		xs_wrmsr(c, XS_MSR_PL3_SSP, 0x7ffff000);
		xs_wrmsr(c, XS_MSR_PL0_SSP, 0x7fffe000);
		FX_OK(c, xs_xsaves(c, a, need, ~0ULL), "host XSAVES into 872 bytes");
		tap_eq_u64(fx_xcomp_bv(a), XS_COMPACTED_BIT | 0x1807, "host XSAVES XCOMP_BV");
		tap_eq_u64(fx_ld64(a + 832), 0x1, "host: IA32_U_CET at 832");
		tap_eq_u64(fx_ld64(a + 840), 0x7ffff000, "host: IA32_PL3_SSP at 840");
		tap_eq_u64(fx_ld64(a + 848), 0x7fffe000, "host: IA32_PL0_SSP at 848");
		tap_eq_u64(a[576], 0x40 + 16 * 7, "host: YMM0_H at 576");
		xs_cpu_free(c);
		free(a);
	}
}

/* AMD without XSaveErPtr: FOP/FIP/FDP saved as 0 unless FSW.ES = 1. */
static void test_x87_errptr(void)
{
	struct xs_model m = *fx_model("host-amd-epyc-vm");
	struct xs_reg r;
	uint8_t *a = fx_area();

	for (int quirk = 0; quirk < 2; quirk++) {
		struct xs_cpu *c;
		uint64_t fip = 0x00007f0000123456ULL;

		m.impl.x87_errptr_only_if_es = quirk;
		c = fx_cpu(&m, 0x7, 0);
		xs_reg_lookup(&m, "fip", &r);
		xs_reg_write(c, &r, &fip);
		xs_reg_lookup(&m, "fdp", &r);
		xs_reg_write(c, &r, &fip);
		FX_OK(c, xs_xsave(c, a, AREA, 1), "XSAVE x87, ES=0 (quirk %s)", quirk ? "on" : "off");
		tap_eq_u64(fx_ld64(a + 8), quirk ? 0 : fip, "FIP saved %s", quirk ? "as 0" : "as is");
		tap_eq_u64(fx_ld64(a + 16), quirk ? 0 : fip, "FDP saved %s", quirk ? "as 0" : "as is");
		/* An unmasked pending exception (FCW=0, FSW.IE=1) sets ES. */
		{
			uint16_t fcw = 0, fsw = 1;
			xs_reg_lookup(&m, "fcw", &r);
			xs_reg_write(c, &r, &fcw);
			xs_reg_lookup(&m, "fsw", &r);
			xs_reg_write(c, &r, &fsw);
		}
		FX_OK(c, xs_xsave(c, a, AREA, 1), "XSAVE x87, ES=1");
		tap_eq_u64(fx_ld16(a + 2), 0x8081, "FSW.ES and FSW.B derived from the unmasked IE");
		tap_eq_u64(fx_ld64(a + 8), fip, "ES=1: FIP saved (quirk %s)", quirk ? "on" : "off");
		xs_cpu_free(c);
	}
	free(a);
}

/* Fault priority (SDM Vol. 3 6.9: faults from decoding the instruction,
 * #UD and then #NM, come before faults on executing it, #GP): checks that
 * overlap are reported in that order. */
static void test_fault_priority(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x7, 0x100);
	uint8_t *a = fx_area();

	xs_set_cr0_ts(c, true);
	xs_set_cpl(c, 3);
	save_fault(c, xs_xsaves, a, AREA, ~0ULL, XS_NM, "XSAVES at CPL 3 with CR0.TS=1: #NM before #GP");
	save_fault(c, xs_xsave, a + 8, AREA - 8, ~0ULL, XS_NM,
		   "XSAVE misaligned with CR0.TS=1: #NM before #GP");
	xs_set_cr4_osxsave(c, false);
	save_fault(c, xs_xsave, a, AREA, ~0ULL, XS_UD, "XSAVE with CR4.OSXSAVE=0 and CR0.TS=1: #UD before #NM");
	save_fault(c, xs_xsaves, a, AREA, ~0ULL, XS_UD,
		   "XSAVES with CR4.OSXSAVE=0, CR0.TS=1, CPL 3: #UD first");
	xs_cpu_free(c);
	free(a);
}

/* XSAVEC rules the other tests do not reach: bits outside RFBM are written
 * as 0 even for SSE with MXCSR != 1F80H (13.10), XSAVEC never applies the
 * modified optimization (13.10), and XSAVES writes no byte of an LBR
 * component in its initial configuration even without the init
 * optimization (13.5.12). */
static void test_compacted_save_rules(void)
{
	struct xs_model m = *fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(&m, 0x7, 0xDD00);
	uint8_t *a = fx_area();
	struct xs_layout l;

	FX_OK(c, xs_ldmxcsr(c, 0x1F00), "LDMXCSR 1F00H");
	fx_reg_fill(c, "ymm2", 3);
	fx_pattern(a, AREA, 0x21);
	FX_OK(c, xs_xsavec(c, a, AREA, 0x5), "XSAVEC RFBM x87|AVX with MXCSR != 1F80H");
	tap_eq_u64(fx_xstate_bv(a), 0x4, "XSTATE_BV[1] = 0: SSE is outside RFBM (MXCSR does not force it)");
	tap_ok(a[24] == (uint8_t)(0x21 + 24 * 7) && a[28] == (uint8_t)(0x21 + 28 * 7),
	       "MXCSR and MXCSR_MASK not written without RFBM[1]");
	FX_OK(c, xs_xsavec(c, a, AREA, 0x7), "XSAVEC RFBM x87|SSE|AVX");
	tap_ok(fx_xstate_bv(a) & 2, "with RFBM[1] = 1, MXCSR != 1F80H sets XSTATE_BV[1]");
	xs_ldmxcsr(c, 0x1F80);

	/* No modified optimization: a compacted XRSTOR from the same address
	 * with XCOMP_BV = RFBM | bit 63 does not let XSAVEC skip anything. */
	memset(a, 0, AREA);
	FX_OK(c, xs_xsavec(c, a, AREA, 0x7), "XSAVEC");
	FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "compacted XRSTOR from the same area");
	tap_eq_u64(xs_xmodified(c) & 7, 0, "XMODIFIED clear for RFBM");
	memset(a + 576, 0xEE, 256);
	FX_OK(c, xs_xsavec(c, a, AREA, 0x7), "XSAVEC again, same address and RFBM");
	tap_ok(!fx_all(a + 576, 256, 0xEE), "XSAVEC wrote the unmodified AVX (no modified optimization)");
	/* XSAVES's modified optimization covers SSE, MXCSR included: after an
	 * XRSTORS of SSE neither the XMMs nor MXCSR count as modified. */
	fx_reg_fill(c, "xmm1", 0x3C);
	FX_OK(c, xs_xsaves(c, a, AREA, 0x7), "XSAVES with XMM1 in use");
	FX_OK(c, xs_xrstors(c, a, AREA, 0x7), "XRSTORS from it");
	memset(a + 24, 0xEE, 4);
	memset(a + 160, 0xEE, 256);
	FX_OK(c, xs_xsaves(c, a, AREA, 0x7), "XSAVES again, SSE unmodified");
	tap_ok(fx_all(a + 160, 256, 0xEE) && fx_all(a + 24, 4, 0xEE),
	       "XSAVES skipped the unmodified SSE (XMMs and MXCSR)");
	xs_cpu_free(c);

	m.impl.xsaves_init_opt = false;
	c = fx_cpu(&m, 0x7, 0xDD00);
	tap_eq_u64(xs_xinuse(c) & XS_BIT(XS_C_LBR), 0, "after RESET LBR is not in use");
	fx_pattern(a, AREA, 0x43);
	FX_OK(c, xs_xsaves(c, a, AREA, 0x7 | XS_BIT(XS_C_LBR)), "XSAVES AVX|LBR, init optimization off");
	xs_layout_compacted(&m, fx_xcomp_bv(a), &l);
	tap_ok(fx_all(a + 576, 256, 0), "init AVX written (no init optimization)");
	{
		bool untouched = true;

		for (uint32_t i = 0; i < l.size_of[XS_C_LBR]; i++)
			if (a[l.offset[XS_C_LBR] + i] != (uint8_t)(0x43 + (l.offset[XS_C_LBR] + i) * 7))
				untouched = false;
		tap_ok(untouched, "no byte of the init LBR component written (13.5.12)");
	}
	tap_eq_u64(fx_xstate_bv(a) & XS_BIT(XS_C_LBR), 0, "XSTATE_BV[15] = 0");
	xs_cpu_free(c);
	free(a);
}

int main(void)
{
	tap_plan_lazy();
	test_faults();
	test_init_values();
	test_header_rules();
	test_mxcsr_rules();
	test_optimizations();
	test_xfd();
	test_layouts();
	test_x87_errptr();
	test_fault_priority();
	test_compacted_save_rules();
	return tap_done();
}
