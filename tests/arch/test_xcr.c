/* XGETBV / XSETBV and the control state around them (SDM Vol. 2 XGETBV,
 * XSETBV; Vol. 1 13.3, 13.6). */
#include "cpu_fixture.h"

static void test_reset(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = xs_cpu_new(m);

	tap_eq_u64(xs_xcr0(c), 1, "RESET: XCR0 = 1");
	tap_eq_u64(xs_xss(c), 0, "RESET: IA32_XSS = 0");
	tap_eq_u64(xs_xfd(c), 0, "RESET: IA32_XFD = 0");
	tap_eq_u64(xs_xfd_err(c), 0, "RESET: IA32_XFD_ERR = 0");
	tap_eq_u64(xs_xinuse(c), 0, "RESET: XINUSE = 0");
	tap_eq_u64(xs_xmodified(c), ~0ULL, "RESET: XMODIFIED all ones");
	tap_eq_u64(xs_mxcsr(c), 0x1F80, "RESET: MXCSR = 1F80H");
	tap_ok(!xs_cr4_osxsave(c) && !xs_cr0_ts(c) && xs_cpl(c) == 0, "RESET: OSXSAVE=0 TS=0 CPL=0");
	tap_eq_u64(fx_ld16(xs_comp_regs(c, XS_C_X87)), 0x037F, "RESET: FCW = 037FH");
	tap_ok(xs_comp_regs(c, XS_C_X87) == xs_comp_regs(c, XS_C_SSE),
	       "x87 and SSE share the legacy region");
	tap_ok(xs_comp_regs(c, XS_C_BNDREGS) == NULL, "SPR has no MPX registers");
	xs_cpu_free(c);
}

static void test_xgetbv(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = xs_cpu_new(m), *s;
	uint64_t v = 0;

	s = fx_snap(c);
	FX_FAULT(c, s, xs_xgetbv(c, 0, &v), XS_UD, "XGETBV with CR4.OSXSAVE=0");
	xs_set_cr4_osxsave(c, true);
	xs_cpu_copy(s, c);
	FX_OK(c, xs_xgetbv(c, 0, &v), "XGETBV(0)");
	tap_eq_u64(v, 1, "XGETBV(0) = XCR0 after RESET");
	FX_FAULT(c, s, xs_xgetbv(c, 2, &v), XS_GP, "XGETBV(2)");
	FX_FAULT(c, s, xs_xgetbv(c, 0xFFFFFFFF, &v), XS_GP, "XGETBV(FFFFFFFFH)");
	/* Any CPL may execute it. */
	xs_set_cpl(c, 3);
	FX_OK(c, xs_xgetbv(c, 0, &v), "XGETBV at CPL 3");
	xs_set_cpl(c, 0);

	FX_OK(c, xs_xsetbv(c, 0, 0x7), "XSETBV x87|SSE|AVX");
	FX_OK(c, xs_xgetbv(c, 1, &v), "XGETBV(1) with XGETBV1");
	tap_eq_u64(v, 0, "XGETBV(1) = XINUSE & XCR0 = 0 after RESET");
	fx_reg_fill(c, "ymm2", 1);
	xs_xgetbv(c, 1, &v);
	tap_eq_u64(v, 0x6, "XGETBV(1) after a YMM write: SSE and AVX in use");
	FX_OK(c, xs_ldmxcsr(c, 0x1F00), "LDMXCSR 1F00H");
	xs_cpu_free(c);

	/* MXCSR != 1F80H forces bit 1 (13.6) even with XMMs in init. */
	c = fx_cpu(m, 0x7, 0);
	xs_ldmxcsr(c, 0x1F80 | 0x40); /* DAZ */
	xs_xgetbv(c, 1, &v);
	tap_eq_u64(v, 0x2, "XGETBV(1) bit 1 forced by MXCSR != 1F80H");
	xs_ldmxcsr(c, 0x1F80);
	xs_xgetbv(c, 1, &v);
	tap_eq_u64(v, 0x0, "XGETBV(1) bit 1 clear again with MXCSR = 1F80H and XMMs init");
	/* ... but only where XCR0[1] = 1. */
	fx_reg_fill(c, "ymm1", 9);
	xs_xsetbv(c, 0, 0x1);
	xs_ldmxcsr(c, 0x1F00);
	xs_xgetbv(c, 1, &v);
	tap_eq_u64(v, 0x0, "XGETBV(1) masks XINUSE with XCR0 (no forced bit 1 without XCR0[1])");
	xs_cpu_free(c);
	xs_cpu_free(s);

	/* Without CPUID.(0DH,1):EAX[2], ECX=1 is #GP. */
	{
		struct xs_model m2 = *m;
		m2.has_xgetbv1 = false;
		c = fx_cpu(&m2, 0x7, 0);
		s = fx_snap(c);
		FX_FAULT(c, s, xs_xgetbv(c, 1, &v), XS_GP, "XGETBV(1) without XGETBV1");
		xs_cpu_free(c);
		xs_cpu_free(s);
	}
	/* XINUSE not tracked: XGETBV(1) reads XCR0. */
	{
		struct xs_model m3 = *m;
		m3.impl.xinuse_tracking = false;
		c = fx_cpu(&m3, 0x600e7, 0);
		xs_xgetbv(c, 1, &v);
		tap_eq_u64(v, 0x600e7, "XGETBV(1) without XINUSE tracking = XCR0");
		xs_cpu_free(c);
	}
}

static void test_xsetbv(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = xs_cpu_new(m), *s;
	static const struct {
		uint64_t v;
		const char *what;
	} bad[] = {
		{ 0x0, "bit 0 clear" },
		{ 0x2, "x87 clear" },
		{ 0x5, "AVX without SSE" },
		{ 0x83, "AVX-512 partial (bit 7 only)" },
		{ 0xE3, "AVX-512 without AVX" },
		{ 0x67, "AVX-512 without Hi16_ZMM" },
		{ 0x20007, "TILECFG without TILEDATA" },
		{ 0x40007, "TILEDATA without TILECFG" },
		{ 0x107, "supervisor bit 8 (PT)" },
		{ 0x807, "supervisor bit 11 (CET_U)" },
		{ 0x1F, "MPX, not supported on SPR" },
		{ 0x80007ULL, "APX, not supported on SPR" },
		{ 0x8000000000000007ULL, "bit 63" },
		{ 0x100000007ULL, "reserved bit 32" },
	};

	s = fx_snap(c);
	FX_FAULT(c, s, xs_xsetbv(c, 0, 7), XS_UD, "XSETBV with CR4.OSXSAVE=0");
	xs_set_cr4_osxsave(c, true);
	xs_cpu_copy(s, c);
	xs_set_cpl(c, 3);
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, xs_xsetbv(c, 0, 7), XS_GP, "XSETBV at CPL 3");
	xs_set_cpl(c, 0);
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, xs_xsetbv(c, 1, 7), XS_GP, "XSETBV ECX=1 (XCR1 is read-only)");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		FX_FAULT(c, s, xs_xsetbv(c, 0, bad[i].v), XS_GP, "XSETBV %#llx: %s",
			 (unsigned long long)bad[i].v, bad[i].what);
	FX_OK(c, xs_xsetbv(c, 0, 0x602E7), "XSETBV every SPR user component");
	tap_eq_u64(xs_xcr0(c), 0x602E7, "XCR0 written");
	tap_ok(strlen(xs_cpu_fault_reason(c)) > 0, "a fault reason is recorded");

	/* XSETBV keeps the contents of a component it disables (13.3). */
	fx_reg_fill(c, "ymm5", 0x33);
	{
		uint8_t before[32], after[32];
		fx_reg_get(c, "ymm5", before);
		FX_OK(c, xs_xsetbv(c, 0, 0x3), "XSETBV x87|SSE");
		FX_OK(c, xs_xsetbv(c, 0, 0x7), "XSETBV x87|SSE|AVX again");
		fx_reg_get(c, "ymm5", after);
		tap_ok(!memcmp(before, after, 32), "AVX contents survive clearing XCR0[2]");
	}
	xs_cpu_free(c);
	xs_cpu_free(s);

	/* MPX pair rule on a model with MPX (Skylake-SP). */
	m = fx_model("intel-skylake-sp");
	c = fx_cpu(m, 0x3, 0);
	s = fx_snap(c);
	FX_FAULT(c, s, xs_xsetbv(c, 0, 0xB), XS_GP, "XSETBV BNDREGS without BNDCSR");
	FX_FAULT(c, s, xs_xsetbv(c, 0, 0x13), XS_GP, "XSETBV BNDCSR without BNDREGS");
	FX_OK(c, xs_xsetbv(c, 0, 0x1F), "XSETBV MPX pair");
	FX_OK(c, xs_xsetbv(c, 0, 0xFF), "XSETBV AVX-512 + MPX (Skylake-SP)");
	xs_cpu_free(c);
	xs_cpu_free(s);

	/* No XSAVE at all: #UD, and CR4.OSXSAVE cannot be set. */
	{
		struct xs_model m2 = *fx_model("host-amd-epyc-vm");
		m2.feat.xsave = false;
		c = xs_cpu_new(&m2);
		s = fx_snap(c);
		FX_FAULT(c, s, xs_set_cr4_osxsave(c, true), XS_GP, "MOV CR4.OSXSAVE without XSAVE");
		FX_FAULT(c, s, xs_xsetbv(c, 0, 1), XS_UD, "XSETBV without XSAVE");
		FX_FAULT(c, s, xs_xgetbv(c, 0, &(uint64_t){ 0 }), XS_UD, "XGETBV without XSAVE");
		xs_cpu_free(c);
		xs_cpu_free(s);
	}
}

static void test_control(void)
{
	struct xs_model *m = fx_model("host-amd-epyc-vm");
	struct xs_cpu *c = xs_cpu_new(m), *s = fx_snap(c);

	/* The host has no PKU. */
	FX_FAULT(c, s, xs_set_cr4_pke(c, true), XS_GP, "MOV CR4.PKE without PKU");
	tap_ok(!xs_cr4_pke(c), "CR4.PKE stays clear");
	xs_set_cr0_ts(c, true);
	tap_ok(xs_cr0_ts(c), "CR0.TS set");
	tap_ok(!xs_cpu_equal(c, s), "CR0.TS is part of the compared state");
	xs_set_cr0_ts(c, false);
	tap_ok(xs_cpu_equal(c, s), "and clearing it restores equality");
	xs_set_cpl(c, 3);
	tap_ok(xs_cpl(c) == 3 && !xs_cpu_equal(c, s), "CPL is state");
	xs_cpu_free(c);
	xs_cpu_free(s);

	m = fx_model("intel-sapphire-rapids");
	c = xs_cpu_new(m);
	tap_ok(xs_set_cr4_pke(c, true) == XS_OK && xs_cr4_pke(c), "MOV CR4.PKE with PKU");
	xs_cpu_free(c);
}

int main(void)
{
	tap_plan_lazy();
	test_reset();
	test_xgetbv();
	test_xsetbv();
	test_control();
	return tap_done();
}
