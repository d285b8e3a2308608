/* RDMSR / WRMSR: IA32_XSS, IA32_XFD, IA32_XFD_ERR and the MSRs of the
 * supervisor components, with the value checks (SDM 13.3, 13.14, and the
 * chapters of each feature). */
#include "cpu_fixture.h"

static void test_names(void)
{
	tap_eq_u64(xs_msr_lookup("IA32_XSS"), 0xDA0, "lookup IA32_XSS");
	tap_eq_u64(xs_msr_lookup("xfd"), 0x1C4, "lookup xfd (alias)");
	tap_eq_u64(xs_msr_lookup("ia32_uintr_misc"), 0x988, "lookup is case-insensitive");
	tap_ok(xs_msr_lookup("IA32_EFER") == -1, "unknown MSR name: -1");
	tap_ok(xs_msr_name(0x6A0) && !strcmp(xs_msr_name(0x6A0), "IA32_U_CET"), "name of 6A0H");
	tap_ok(xs_msr_name(0x10) == NULL, "name of an MSR the model lacks: NULL");
}

static void test_xss(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0), *s;
	uint64_t v;

	s = fx_snap(c);
	/* SPR IA32_XSS supports 0xDD00: PT, PASID, CET_U, CET_S, UINTR, LBR. */
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XSS, 0x1), XS_GP, "WRMSR IA32_XSS bit 0 (user bit)");
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XSS, 0x200), XS_GP, "WRMSR IA32_XSS bit 9 (PKRU, user)");
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XSS, 0x2000), XS_GP, "WRMSR IA32_XSS bit 13 (HDC, not on SPR)");
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XSS, 0x10000), XS_GP, "WRMSR IA32_XSS bit 16 (HWP, not on SPR)");
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XSS, 1ULL << 40), XS_GP, "WRMSR IA32_XSS reserved bit 40");
	xs_set_cpl(c, 3);
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XSS, 0x100), XS_GP, "WRMSR at CPL 3");
	FX_FAULT(c, s, xs_rdmsr(c, XS_MSR_XSS, &v), XS_GP, "RDMSR at CPL 3");
	xs_set_cpl(c, 0);
	FX_OK(c, xs_wrmsr(c, XS_MSR_XSS, 0xDD00), "WRMSR IA32_XSS all supported bits");
	FX_OK(c, xs_rdmsr(c, XS_MSR_XSS, &v), "RDMSR IA32_XSS");
	tap_eq_u64(v, 0xDD00, "IA32_XSS reads back");
	xs_cpu_free(c);
	xs_cpu_free(s);

	/* Without XSAVES the MSR does not exist (13.2). */
	{
		struct xs_model m2 = *fx_model("amd-zen2-rome");
		c = fx_cpu(&m2, 0x7, 0);
		s = fx_snap(c);
		if (m2.has_xsaves) {
			FX_OK(c, xs_wrmsr(c, XS_MSR_XSS, 0), "Rome: WRMSR IA32_XSS = 0 (XSAVES, no components)");
			FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XSS, 0x800), XS_GP, "Rome: CET_U not supported");
		}
		m2.has_xsaves = false;
		xs_cpu_free(c);
		xs_cpu_free(s);
		c = fx_cpu(&m2, 0x7, 0);
		s = fx_snap(c);
		FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XSS, 0), XS_GP, "WRMSR IA32_XSS without XSAVES");
		FX_FAULT(c, s, xs_rdmsr(c, XS_MSR_XSS, &v), XS_GP, "RDMSR IA32_XSS without XSAVES");
		xs_cpu_free(c);
		xs_cpu_free(s);
	}
}

static void test_xfd(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0), *s = fx_snap(c);
	uint64_t v;

	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_XTILECFG)), XS_GP,
		 "WRMSR IA32_XFD bit 17 (TILECFG has no ECX[2])");
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_AVX)), XS_GP, "WRMSR IA32_XFD bit 2");
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XFD_ERR, XS_BIT(XS_C_SSE)), XS_GP, "WRMSR IA32_XFD_ERR bit 1");
	FX_OK(c, xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_XTILEDATA)), "WRMSR IA32_XFD bit 18");
	tap_eq_u64(xs_xfd(c), XS_BIT(XS_C_XTILEDATA), "IA32_XFD = TILEDATA");
	FX_OK(c, xs_wrmsr(c, XS_MSR_XFD_ERR, XS_BIT(XS_C_XTILEDATA)), "WRMSR IA32_XFD_ERR bit 18");
	xs_rdmsr(c, XS_MSR_XFD_ERR, &v);
	tap_eq_u64(v, XS_BIT(XS_C_XTILEDATA), "RDMSR IA32_XFD_ERR");
	xs_cpu_free(c);
	xs_cpu_free(s);

	m = fx_model("host-amd-epyc-vm");
	c = fx_cpu(m, 0x7, 0);
	s = fx_snap(c);
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_XFD, 0), XS_GP, "WRMSR IA32_XFD without XFD (host)");
	FX_FAULT(c, s, xs_rdmsr(c, XS_MSR_XFD_ERR, &v), XS_GP, "RDMSR IA32_XFD_ERR without XFD");
	FX_FAULT(c, s, xs_rdmsr(c, XS_MSR_PASID, &v), XS_GP, "RDMSR IA32_PASID on the host (no PASID)");
	FX_FAULT(c, s, xs_wrmsr(c, 0x10, 0), XS_GP, "WRMSR of an MSR the model does not implement");
	xs_cpu_free(c);
	xs_cpu_free(s);
}

/* Each MSR of a supervisor component: a good value is stored and marks the
 * component in use and modified; each bad value #GPs and changes nothing. */
struct msr_case {
	uint32_t msr;
	uint64_t good;
	uint64_t bad[4];
	const char *why[4];
};

static void run_cases(const struct xs_model *m, const struct msr_case *k, size_t n)
{
	const char *model = m->name;
	struct xs_cpu *c = fx_cpu(m, m->xcr0_supported & 0x7, 0), *s = fx_snap(c);

	for (size_t i = 0; i < n; i++) {
		unsigned comp = 0;
		uint64_t v = ~0ULL;

		for (unsigned b = 0; b < 4 && k[i].why[b]; b++)
			FX_FAULT(c, s, xs_wrmsr(c, k[i].msr, k[i].bad[b]), XS_GP, "%s WRMSR %s = %#llx (%s)",
				 model, xs_msr_name(k[i].msr), (unsigned long long)k[i].bad[b], k[i].why[b]);
		FX_OK(c, xs_wrmsr(c, k[i].msr, k[i].good), "%s WRMSR %s = %#llx", model,
		      xs_msr_name(k[i].msr), (unsigned long long)k[i].good);
		xs_rdmsr(c, k[i].msr, &v);
		tap_eq_u64(v, k[i].good, "%s RDMSR %s reads it back", model, xs_msr_name(k[i].msr));
		switch (k[i].msr) {
		case XS_MSR_U_CET: case XS_MSR_PL3_SSP: comp = XS_C_CET_U; break;
		case XS_MSR_PL0_SSP: case XS_MSR_PL1_SSP: case XS_MSR_PL2_SSP: comp = XS_C_CET_S; break;
		case XS_MSR_PASID: comp = XS_C_PASID; break;
		case XS_MSR_RTIT_CTL: comp = XS_C_PT; break;
		case XS_MSR_LBR_CTL: case XS_MSR_LBR_DEPTH: comp = XS_C_LBR; break;
		case XS_MSR_HWP_REQUEST: comp = XS_C_HWP; break;
		case XS_MSR_PM_CTL1: comp = XS_C_HDC; break;
		default: comp = XS_C_UINTR;
		}
		if (k[i].msr != XS_MSR_S_CET)
			tap_ok((xs_xinuse(c) & XS_BIT(comp)) && (xs_xmodified(c) & XS_BIT(comp)),
			       "%s WRMSR %s sets XINUSE[%u] and XMODIFIED[%u]", model,
			       xs_msr_name(k[i].msr), comp, comp);
		xs_cpu_copy(s, c);
	}
	xs_cpu_free(c);
	xs_cpu_free(s);
}

static void test_supervisor_msrs(void)
{
	static const struct msr_case spr[] = {
		{ XS_MSR_U_CET, 0x7ffff000ULL | 0x5,
		  { 0x40, 0xC00, 0x0000800000000000ULL },
		  { "reserved bit 6", "SUPPRESS with WAIT_FOR_ENDBRANCH", "non-canonical legacy bitmap" } },
		{ XS_MSR_S_CET, 0x1, { 0x200 }, { "reserved bit 9" } },
		{ XS_MSR_PL3_SSP, 0x00007ffffffff000ULL,
		  { 0x00007ffffffff002ULL, 0x0000800000000000ULL },
		  { "not 4-byte aligned", "not canonical" } },
		{ XS_MSR_PL0_SSP, 0xffff800000001000ULL, { 0x1001 }, { "not 4-byte aligned" } },
		{ XS_MSR_PL1_SSP, 0x2000, { 0x1ULL << 50 }, { "not canonical" } },
		{ XS_MSR_PL2_SSP, 0x3000, { 0x3003 }, { "not 4-byte aligned" } },
		{ XS_MSR_PASID, 0x80000123ULL, { 0x100000 }, { "reserved bit 20" } },
		{ XS_MSR_UINTR_HANDLER, 0x401000, { 0x0001000000000000ULL }, { "not canonical" } },
		{ XS_MSR_UINTR_STACKADJUST, 0x80, { 0x0080000000000000ULL }, { "not canonical" } },
		{ XS_MSR_UINTR_MISC, 0x000000EC00000010ULL,
		  { 0x0000010000000000ULL, 0x8000000000000000ULL }, { "reserved bit 40", "reserved bit 63" } },
		{ XS_MSR_UINTR_PD, 0x7f0000001000ULL, { 0x1010, 0x0000800000000000ULL },
		  { "reserved bits 5:0", "not canonical" } },
		{ XS_MSR_UINTR_TT, 0x7f0000002001ULL, { 0x2002 }, { "reserved bits 3:1" } },
		{ XS_MSR_UINTR_RR, 0xFFFFFFFFFFFFFFFFULL, { 0 }, { NULL } },
		{ XS_MSR_RTIT_CTL, 0x2000 | 0x4 | 0x8, { 0x40000, 0x100000000000000ULL },
		  { "reserved bit 18", "reserved bit 56" } },
		{ XS_MSR_LBR_CTL, 0x7F000F, { 0x10, 0x800000 }, { "reserved bit 4", "reserved bit 23" } },
		{ XS_MSR_LBR_DEPTH, 16, { 0, 12, 40, 0x100 },
		  { "depth 0", "not a multiple of 8", "deeper than the component holds", "reserved bit 8" } },
	};
	static const struct msr_case gnr[] = {
		{ XS_MSR_HWP_REQUEST, 0x8000FF01ULL | (1ULL << 42) | (0x1FULL << 59),
		  { 1ULL << 43, 1ULL << 58 }, { "reserved bit 43", "reserved bit 58" } },
	};
	static const struct msr_case adl[] = {
		{ XS_MSR_PM_CTL1, 0, { 2 }, { "reserved bit 1" } },
	};

	struct xs_model hdc = *fx_model("intel-alder-lake-pcore");

	run_cases(fx_model("intel-sapphire-rapids"), spr, sizeof(spr) / sizeof(spr[0]));
	run_cases(fx_model("intel-granite-rapids"), gnr, sizeof(gnr) / sizeof(gnr[0]));
	/* No dump enumerates HDC: add the 8-byte supervisor component. */
	hdc.xss_supported |= XS_BIT(XS_C_HDC);
	hdc.comp[XS_C_HDC].size = 8;
	hdc.comp[XS_C_HDC].supervisor = true;
	hdc.feat.hdc = true;
	run_cases(&hdc, adl, sizeof(adl) / sizeof(adl[0]));
}

static void test_special_rules(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x7, 0), *s;
	uint64_t v;

	/* IA32_RTIT_CTL: with TraceEn = 1 only TraceEn may change. */
	FX_OK(c, xs_wrmsr(c, XS_MSR_RTIT_CTL, 0x2001), "WRMSR RTIT_CTL TraceEn|BranchEn");
	s = fx_snap(c);
	FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_RTIT_CTL, 0x2005), XS_GP, "RTIT_CTL: OS bit changes while TraceEn=1");
	FX_OK(c, xs_wrmsr(c, XS_MSR_RTIT_CTL, 0x2000), "RTIT_CTL: clearing TraceEn alone is allowed");
	FX_OK(c, xs_wrmsr(c, XS_MSR_RTIT_CTL, 0x0004), "RTIT_CTL: other bits change with TraceEn=0");

	/* IA32_LBR_DEPTH: a write clears every LBR record. */
	{
		struct xs_reg r;
		uint8_t rec[8], zero[8] = { 0 };
		xs_rdmsr(c, XS_MSR_LBR_DEPTH, &v);
		tap_eq_u64(v, 32, "IA32_LBR_DEPTH resets to the deepest the component holds (32)");
		/* Put a record in through XRSTORS (the only way in). */
		uint8_t *a = fx_area();
		xs_wrmsr(c, XS_MSR_XSS, XS_BIT(XS_C_LBR));
		fx_st64(a + 512, XS_BIT(XS_C_LBR));
		fx_st64(a + 520, XS_COMPACTED_BIT | XS_BIT(XS_C_LBR));
		fx_st64(a + 576 + 8, 32);           /* DEPTH = current */
		fx_st64(a + 576 + 40, 0x401000);    /* FROM_0 */
		FX_OK(c, xs_xrstors(c, a, AREA, XS_BIT(XS_C_LBR)), "XRSTORS an LBR image");
		memcpy(rec, xs_comp_regs(c, XS_C_LBR) + 40, 8);
		tap_ok(fx_ld64(rec) == 0x401000, "LBR record 0 loaded");
		FX_OK(c, xs_wrmsr(c, XS_MSR_LBR_DEPTH, 8), "WRMSR IA32_LBR_DEPTH 8");
		tap_ok(!memcmp(xs_comp_regs(c, XS_C_LBR) + 40, zero, 8), "the write cleared the records");
		(void)r;
		free(a);
	}

	/* UINTR_MISC keeps UIF (image bit 63) and RDMSR does not show it. */
	{
		uint8_t *a = fx_area();
		xs_wrmsr(c, XS_MSR_XSS, XS_BIT(XS_C_UINTR));
		fx_st64(a + 512, XS_BIT(XS_C_UINTR));
		fx_st64(a + 520, XS_COMPACTED_BIT | XS_BIT(XS_C_UINTR));
		fx_st64(a + 576 + 16, 1ULL << 63); /* UIF */
		FX_OK(c, xs_xrstors(c, a, AREA, XS_BIT(XS_C_UINTR)), "XRSTORS UINTR with UIF=1");
		xs_rdmsr(c, XS_MSR_UINTR_MISC, &v);
		tap_eq_u64(v, 0, "RDMSR IA32_UINTR_MISC does not show UIF");
		FX_OK(c, xs_wrmsr(c, XS_MSR_UINTR_MISC, 0x10), "WRMSR IA32_UINTR_MISC UITTSZ");
		tap_eq_u64(fx_ld64(xs_comp_regs(c, XS_C_UINTR) + 16), (1ULL << 63) | 0x10,
			   "WRMSR kept UIF in the register image");
		free(a);
	}
	xs_cpu_free(c);
	xs_cpu_free(s);

	/* CET on AMD: no IBT, so the IBT bits of U_CET are reserved. */
	m = fx_model("host-amd-epyc-vm");
	c = fx_cpu(m, 0x7, 0x1800);
	s = fx_snap(c);
	if (!m->feat.ibt) {
		FX_FAULT(c, s, xs_wrmsr(c, XS_MSR_U_CET, 0x4), XS_GP, "host: ENDBR_EN without IBT");
	} else {
		tap_skip("host model claims IBT");
	}
	FX_OK(c, xs_wrmsr(c, XS_MSR_U_CET, 0x1), "host: SH_STK_EN");
	FX_OK(c, xs_wrmsr(c, XS_MSR_PL3_SSP, 0x7ffffffff000ULL), "host: PL3_SSP");
	tap_ok(xs_xinuse(c) & XS_BIT(XS_C_CET_U), "host: CET_U in use");
	xs_cpu_free(c);
	xs_cpu_free(s);
}

int main(void)
{
	tap_plan_lazy();
	test_names();
	test_xss();
	test_xfd();
	test_supervisor_msrs();
	test_special_rules();
	return tap_done();
}
