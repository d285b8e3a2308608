/* Named registers, the small instructions (FNINIT, LDMXCSR, RDPKRU/WRPKRU,
 * VZEROUPPER, TILERELEASE) and the CPU's copy/equal/hash. */
#include "cpu_fixture.h"

static void test_lookup(void)
{
	struct xs_model *spr = fx_model("intel-sapphire-rapids");
	struct xs_model *host = fx_model("host-amd-epyc-vm");
	struct xs_model *sky = fx_model("intel-skylake-sp");
	struct xs_reg r;
	static const char *spr_ok[] = { "xmm0", "XMM15", "ymm7", "zmm31", "k7", "st7", "fcw", "fsw",
					"ftw", "fop", "fip", "fdp", "mxcsr", "pkru", "tilecfg", "tmm7",
					"u_cet", "pl3_ssp", "pl0_ssp", "pl1_ssp", "pl2_ssp", "pasid",
					"uintr_handler", "uintr_stackadjust", "uintr_misc", "uinv",
					"uintr_pd", "uintr_rr", "uintr_tt", "rtit_ctl", "lbr_ctl",
					"lbr_depth" };
	static const char *spr_bad[] = { "xmm16", "xmm01", "ymm16", "zmm32", "k8", "st8", "tmm8",
					 "bnd0", "bndcfgu", "r16", "hwp_request", "pm_ctl1", "rax",
					 "", "xmm", "averyveryverylongname" };

	for (size_t i = 0; i < sizeof(spr_ok) / sizeof(spr_ok[0]); i++)
		tap_ok(xs_reg_lookup(spr, spr_ok[i], &r) == 0, "SPR has %s", spr_ok[i]);
	for (size_t i = 0; i < sizeof(spr_bad) / sizeof(spr_bad[0]); i++)
		tap_ok(xs_reg_lookup(spr, spr_bad[i], &r) == -1, "SPR has no register \"%s\"", spr_bad[i]);
	tap_ok(xs_reg_lookup(host, "zmm0", &r) == -1 && xs_reg_lookup(host, "k0", &r) == -1 &&
	       xs_reg_lookup(host, "tmm0", &r) == -1 && xs_reg_lookup(host, "pkru", &r) == -1 &&
	       xs_reg_lookup(host, "uinv", &r) == -1, "the host lacks AVX-512, AMX, PKRU, UINTR registers");
	tap_ok(xs_reg_lookup(host, "u_cet", &r) == 0 && r.supervisor, "the host has u_cet (supervisor)");
	tap_ok(xs_reg_lookup(sky, "bnd3", &r) == 0 && xs_reg_lookup(sky, "bndstatus", &r) == 0,
	       "Skylake-SP has MPX registers");

	xs_reg_lookup(spr, "ZMM5", &r);
	tap_ok(!strcmp(r.name, "zmm5") && r.size == 64 && r.nparts == 3 && r.part[0].comp == XS_C_SSE &&
	       r.part[0].off == 160 + 80 && r.part[1].comp == XS_C_AVX && r.part[1].off == 80 &&
	       r.part[2].comp == XS_C_ZMM_HI256 && r.part[2].off == 160,
	       "zmm5 = XMM5 (legacy 240) + YMM5_H (AVX 80) + ZMM5_H (ZMM_Hi256 160)");
	xs_reg_lookup(spr, "zmm17", &r);
	tap_ok(r.nparts == 1 && r.part[0].comp == XS_C_HI16_ZMM && r.part[0].off == 64, "zmm17 in Hi16_ZMM at 64");
	xs_reg_lookup(spr, "st3", &r);
	tap_ok(r.size == 10 && r.part[0].off == 32 + 48, "st3: 10 bytes at 80");
	xs_reg_lookup(spr, "tmm2", &r);
	tap_ok(r.size == 1024 && r.part[0].off == 2048, "tmm2: 1024 bytes at 2048");
	xs_reg_lookup(spr, "uinv", &r);
	tap_ok(r.size == 1 && r.part[0].comp == XS_C_UINTR && r.part[0].off == 20, "uinv: UINTR byte 20");
}

static enum xs_fault wr(struct xs_cpu *c, const char *name, const void *v)
{
	struct xs_reg r;

	if (xs_reg_lookup(xs_cpu_model(c), name, &r))
		return (enum xs_fault)-1;
	return xs_reg_write(c, &r, v);
}

static enum xs_fault rd(struct xs_cpu *c, const char *name, void *v)
{
	struct xs_reg r;

	if (xs_reg_lookup(xs_cpu_model(c), name, &r))
		return (enum xs_fault)-1;
	return xs_reg_read(c, &r, v);
}

static void test_write_faults(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = xs_cpu_new(m), *s;
	uint8_t v[1024], out[1024];
	uint8_t cfg[64] = { 1 };

	fx_pattern(v, sizeof(v), 3);
	s = fx_snap(c);
	FX_OK(c, wr(c, "xmm2", v), "legacy SSE works with CR4.OSXSAVE = 0");
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, wr(c, "ymm2", v), XS_UD, "ymm2 with CR4.OSXSAVE = 0");
	xs_cpu_free(c);

	c = fx_cpu(m, 0x3, 0);
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, wr(c, "ymm2", v), XS_UD, "ymm2 with XCR0[2] = 0");
	FX_FAULT(c, s, rd(c, "ymm2", out), XS_UD, "read ymm2 with XCR0[2] = 0");
	xs_xsetbv(c, 0, 0x7);
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, wr(c, "zmm2", v), XS_UD, "zmm2 with XCR0[7:5] = 0");
	FX_FAULT(c, s, wr(c, "k1", v), XS_UD, "k1 with XCR0[7:5] = 0");
	FX_FAULT(c, s, wr(c, "zmm20", v), XS_UD, "zmm20 with XCR0[7:5] = 0");
	FX_FAULT(c, s, wr(c, "tilecfg", cfg), XS_UD, "tilecfg with XCR0[18:17] = 0");
	FX_FAULT(c, s, wr(c, "pkru", v), XS_UD, "pkru with CR4.PKE = 0");
	xs_set_cr0_ts(c, true);
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, wr(c, "xmm0", v), XS_NM, "xmm0 with CR0.TS = 1");
	FX_FAULT(c, s, wr(c, "st0", v), XS_NM, "st0 with CR0.TS = 1");
	FX_FAULT(c, s, wr(c, "mxcsr", v), XS_NM, "mxcsr with CR0.TS = 1");
	FX_FAULT(c, s, wr(c, "ymm0", v), XS_NM, "ymm0 with CR0.TS = 1");
	FX_FAULT(c, s, rd(c, "xmm0", out), XS_NM, "read xmm0 with CR0.TS = 1");
	xs_set_cr0_ts(c, false);
	xs_cpu_copy(s, c);
	{
		uint32_t mx = 0x10000;
		FX_FAULT(c, s, wr(c, "mxcsr", &mx), XS_GP, "mxcsr = 10000H (reserved on Intel)");
	}
	/* Supervisor registers: CPL 0 and the WRMSR checks. */
	{
		uint64_t ssp = 0x7fff0002;
		uint8_t vec = 0xEC;
		FX_FAULT(c, s, wr(c, "pl3_ssp", &ssp), XS_GP, "pl3_ssp not 4-byte aligned");
		xs_set_cpl(c, 3);
		xs_cpu_copy(s, c);
		ssp = 0x7fff0000;
		FX_FAULT(c, s, wr(c, "pl3_ssp", &ssp), XS_GP, "pl3_ssp at CPL 3");
		FX_FAULT(c, s, rd(c, "uinv", out), XS_GP, "read uinv at CPL 3");
		xs_set_cpl(c, 0);
		FX_OK(c, wr(c, "pl3_ssp", &ssp), "pl3_ssp at CPL 0");
		FX_OK(c, wr(c, "uinv", &vec), "uinv = ECH");
		{
			uint64_t misc;
			xs_rdmsr(c, XS_MSR_UINTR_MISC, &misc);
			tap_eq_u64(misc, 0xEC00000000ULL, "uinv is UINTR_MISC[39:32]");
		}
		tap_ok(xs_xinuse(c) & XS_BIT(XS_C_UINTR), "uinv write: UINTR in use");
	}
	xs_cpu_free(c);

	/* AMX: tiles must be configured; XFD #NM sets IA32_XFD_ERR. */
	c = fx_cpu(m, 0x602E7, 0);
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, wr(c, "tmm0", v), XS_UD, "tmm0 without a tile configuration");
	cfg[0] = 2;
	FX_FAULT(c, s, wr(c, "tilecfg", cfg), XS_GP, "tilecfg palette 2");
	cfg[0] = 1;
	cfg[5] = 1;
	FX_FAULT(c, s, wr(c, "tilecfg", cfg), XS_GP, "tilecfg reserved byte 5");
	cfg[5] = 0;
	cfg[48] = 17;
	FX_FAULT(c, s, wr(c, "tilecfg", cfg), XS_GP, "tilecfg 17 rows");
	cfg[48] = 0;
	cfg[48 + 9] = 1;
	FX_FAULT(c, s, wr(c, "tilecfg", cfg), XS_GP, "tilecfg tile 9 configured");
	cfg[48 + 9] = 0;
	cfg[16] = 64;
	cfg[48] = 16;
	FX_OK(c, wr(c, "tilecfg", cfg), "LDTILECFG palette 1");
	FX_OK(c, wr(c, "tmm0", v), "tmm0");
	tap_ok((xs_xinuse(c) & XS_MASK_AMX) == XS_MASK_AMX, "TILECFG and TILEDATA in use");
	xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_XTILEDATA));
	xs_cpu_copy(s, c);
	tap_ok(wr(c, "tmm1", v) == XS_NM && xs_xfd_err(c) == XS_BIT(XS_C_XTILEDATA),
	       "tmm1 with XFD armed: #NM, IA32_XFD_ERR = TILEDATA");
	xs_wrmsr(c, XS_MSR_XFD_ERR, 0);
	tap_ok(xs_cpu_equal(c, s), "nothing else changed");
	tap_ok(rd(c, "tmm0", out) == XS_NM, "reading tmm0 with XFD armed: #NM");
	xs_wrmsr(c, XS_MSR_XFD_ERR, 0);
	FX_OK(c, rd(c, "tilecfg", out), "STTILECFG with XFD armed: no #NM");
	FX_OK(c, wr(c, "tilecfg", cfg), "LDTILECFG with XFD armed: no #NM");
	tap_ok(fx_all(xs_comp_regs(c, XS_C_XTILEDATA), 8192, 0), "LDTILECFG zeroed the tiles");
	xs_wrmsr(c, XS_MSR_XFD, 0);
	cfg[0] = 0;
	FX_OK(c, wr(c, "tilecfg", cfg), "LDTILECFG palette 0");
	tap_ok(fx_all(xs_comp_regs(c, XS_C_XTILECFG), 64, 0) && !(xs_xinuse(c) & XS_MASK_AMX),
	       "palette 0: AMX back to its initial state");
	xs_cpu_free(c);
	xs_cpu_free(s);

	/* MPX disabled: the accesses are NOPs (13.3). */
	{
		struct xs_model *sky = fx_model("intel-skylake-sp");
		c = fx_cpu(sky, 0x7, 0);
		s = fx_snap(c);
		FX_OK(c, wr(c, "bnd0", v), "bnd0 write with XCR0[4:3] = 0");
		tap_ok(xs_cpu_equal(c, s), "... is a NOP");
		xs_xsetbv(c, 0, 0x1F);
		FX_OK(c, wr(c, "bnd0", v), "bnd0 write with MPX enabled");
		rd(c, "bnd0", out);
		tap_ok(!memcmp(out, v, 16) && (xs_xinuse(c) & XS_BIT(XS_C_BNDREGS)), "bnd0 written, BNDREGS in use");
		xs_cpu_free(c);
		xs_cpu_free(s);
	}

	/* APX: r16-r31 need XCR0[19] (an APX model made from SPR). */
	{
		struct xs_model apx = *m;
		apx.xcr0_supported |= XS_BIT(XS_C_APX);
		apx.comp[XS_C_APX].size = 128;
		apx.comp[XS_C_APX].offset = 960;
		apx.feat.apx = true;
		c = fx_cpu(&apx, 0x7, 0);
		s = fx_snap(c);
		FX_FAULT(c, s, wr(c, "r16", v), XS_UD, "r16 with XCR0[19] = 0");
		xs_xsetbv(c, 0, 0x7 | XS_BIT(XS_C_APX));
		FX_OK(c, wr(c, "r31", v), "r31 with XCR0[19] = 1");
		tap_ok(!memcmp(xs_comp_regs(c, XS_C_APX) + 120, v, 8), "r31 at byte 120 of the APX component");
		xs_cpu_free(c);
		xs_cpu_free(s);
	}
}

static void test_tracking(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0);
	uint8_t v[64], out[64];
	uint32_t mx = 0x1F00;

	fx_pattern(v, 64, 9);
	tap_eq_u64(xs_xinuse(c), 0, "nothing in use");
	FX_OK(c, wr(c, "zmm3", v), "zmm3");
	tap_eq_u64(xs_xinuse(c), XS_BIT(1) | XS_BIT(2) | XS_BIT(6), "zmm3 touches SSE, AVX, ZMM_Hi256");
	FX_OK(c, wr(c, "zmm19", v), "zmm19");
	tap_ok(xs_xinuse(c) & XS_BIT(XS_C_HI16_ZMM), "zmm19 touches Hi16_ZMM");
	FX_OK(c, wr(c, "st1", v), "st1");
	tap_ok(xs_xinuse(c) & XS_BIT(XS_C_X87), "st1 touches x87");
	rd(c, "zmm3", out);
	tap_ok(!memcmp(out, v, 64), "zmm3 reads back");
	xs_set_cpl(c, 0);
	{
		uint8_t *a = fx_area();
		memset(a, 0, AREA);
		xs_xrstor(c, a, AREA, ~0ULL);
		free(a);
	}
	tap_eq_u64(xs_xinuse(c), 0, "XRSTOR of an empty image: nothing in use");
	tap_eq_u64(xs_xmodified(c) & 0x602E7, 0, "... and nothing modified");
	FX_OK(c, wr(c, "mxcsr", &mx), "mxcsr = 1F00H");
	tap_ok(xs_xinuse(c) == 0 && !(xs_xmodified(c) & XS_BIT(1)),
	       "MXCSR: neither XINUSE[1] (13.6) nor XMODIFIED[1] (XMMs only, as on the AMD host)");
	xs_cpu_free(c);
}

static void test_misc_insns(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *c = fx_cpu(m, 0x602E7, 0), *s;
	const uint8_t *legacy = xs_comp_regs(c, XS_C_X87);
	uint8_t v[64], out[64];
	uint32_t pk;

	fx_pattern(v, 64, 5);
	/* FNINIT */
	wr(c, "st0", v);
	{
		uint16_t fcw = 0x0272;
		wr(c, "fcw", &fcw);
	}
	FX_OK(c, xs_fninit(c), "FNINIT");
	tap_eq_u64(fx_ld16(legacy), 0x037F, "FNINIT: FCW = 037FH");
	tap_ok(fx_all(legacy + 2, 22, 0), "FNINIT: FSW, FTW, FOP, FIP, FDP = 0");
	tap_ok(!memcmp(legacy + 32, v, 10), "FNINIT keeps ST0's contents");
	xs_set_cr0_ts(c, true);
	s = fx_snap(c);
	FX_FAULT(c, s, xs_fninit(c), XS_NM, "FNINIT with CR0.TS = 1");
	FX_FAULT(c, s, xs_ldmxcsr(c, 0x1F80), XS_NM, "LDMXCSR with CR0.TS = 1");
	FX_FAULT(c, s, xs_vzeroupper(c), XS_NM, "VZEROUPPER with CR0.TS = 1");
	xs_set_cr0_ts(c, false);
	xs_cpu_copy(s, c);
	/* LDMXCSR against the model's MXCSR_MASK. */
	FX_FAULT(c, s, xs_ldmxcsr(c, 0x21F80), XS_GP, "Intel LDMXCSR bit 17 (MXCSR_MASK FFFFH)");
	FX_OK(c, xs_ldmxcsr(c, 0xFFFF), "LDMXCSR FFFFH");
	tap_eq_u64(xs_mxcsr(c), 0xFFFF, "MXCSR = FFFFH");
	{
		struct xs_cpu *h = fx_cpu(fx_model("host-amd-epyc-vm"), 0x7, 0);
		struct xs_cpu *hs = fx_snap(h);
		FX_OK(h, xs_ldmxcsr(h, 0x21F80), "AMD LDMXCSR bit 17 (MXCSR_MASK 2FFFFH)");
		xs_cpu_copy(hs, h);
		FX_FAULT(h, hs, xs_ldmxcsr(h, 0x41F80), XS_GP, "AMD LDMXCSR bit 18");
		FX_FAULT(h, hs, xs_rdpkru(h, &pk), XS_UD, "RDPKRU on a CPU without PKU");
		FX_FAULT(h, hs, xs_tilerelease(h), XS_UD, "TILERELEASE on a CPU without AMX");
		xs_cpu_free(h);
		xs_cpu_free(hs);
	}
	/* RDPKRU / WRPKRU: CR4.PKE, not XCR0[9] (13.5.7). */
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, xs_wrpkru(c, 0x55555554), XS_UD, "WRPKRU with CR4.PKE = 0");
	FX_FAULT(c, s, xs_rdpkru(c, &pk), XS_UD, "RDPKRU with CR4.PKE = 0");
	xs_set_cr4_pke(c, true);
	xs_xsetbv(c, 0, 0x600E7);
	FX_OK(c, xs_wrpkru(c, 0x55555554), "WRPKRU with XCR0[9] = 0");
	FX_OK(c, xs_rdpkru(c, &pk), "RDPKRU");
	tap_eq_u64(pk, 0x55555554, "PKRU reads back");
	tap_ok(xs_xinuse(c) & XS_BIT(XS_C_PKRU), "WRPKRU: PKRU in use");
	xs_xsetbv(c, 0, 0x602E7);

	/* VZEROUPPER: AVX (and ZMM_Hi256) back to init, XMMs kept. */
	wr(c, "zmm4", v);
	FX_OK(c, xs_vzeroupper(c), "VZEROUPPER");
	rd(c, "zmm4", out);
	tap_ok(!memcmp(out, v, 16) && fx_all(out + 16, 48, 0), "VZEROUPPER: XMM4 kept, bits 511:128 zero");
	tap_eq_u64(xs_xinuse(c) & (XS_BIT(2) | XS_BIT(6)), 0, "VZEROUPPER: XINUSE[2] and [6] cleared");
	tap_ok(xs_xinuse(c) & XS_BIT(1), "VZEROUPPER: XINUSE[1] kept");
	{
		uint8_t *img = fx_area();
		xs_xsave(c, img, AREA, 0x7);
		xs_xrstor(c, img, AREA, 0x7);
		FX_OK(c, xs_vzeroupper(c), "VZEROUPPER after XRSTOR");
		tap_eq_u64(xs_xmodified(c) & 0x6, 0x6, "VZEROUPPER sets XMODIFIED[2] and [1] (as on the AMD host)");
		free(img);
	}
	xs_xsetbv(c, 0, 0x3);
	xs_cpu_copy(s, c);
	FX_FAULT(c, s, xs_vzeroupper(c), XS_UD, "VZEROUPPER with XCR0[2] = 0");
	FX_FAULT(c, s, xs_tilerelease(c), XS_UD, "TILERELEASE with XCR0[18:17] = 0");
	xs_xsetbv(c, 0, 0x602E7);

	/* TILERELEASE, also with XFD armed (no #NM, 13.14). */
	{
		uint8_t cfg[64] = { 1 }, tile[1024];
		cfg[16] = 64;
		cfg[48] = 16;
		fx_pattern(tile, sizeof(tile), 8);
		wr(c, "tilecfg", cfg);
		FX_OK(c, wr(c, "tmm3", tile), "tmm3");
		xs_wrmsr(c, XS_MSR_XFD, XS_BIT(XS_C_XTILEDATA));
		FX_OK(c, xs_tilerelease(c), "TILERELEASE with XFD armed");
		tap_ok(fx_all(xs_comp_regs(c, XS_C_XTILEDATA), 8192, 0) &&
		       fx_all(xs_comp_regs(c, XS_C_XTILECFG), 64, 0), "TILERELEASE: AMX initialized");
		tap_eq_u64(xs_xinuse(c) & XS_MASK_AMX, 0, "TILERELEASE: XINUSE[18:17] cleared");
		tap_eq_u64(xs_xfd_err(c), 0, "TILERELEASE: IA32_XFD_ERR untouched");
	}
	xs_cpu_free(c);
	xs_cpu_free(s);
}

/* The AMD host's XINUSE (measured, spec 15 / docs): a restore that loads
 * initial values leaves XINUSE clear, and x87 XINUSE follows the values. */
static void test_amd_xinuse(void)
{
	struct xs_model m = *fx_model("host-amd-epyc-vm");
	uint8_t *a = fx_area();

	tap_ok(m.impl.xrstor_load_checks_init && m.impl.x87_xinuse_by_value,
	       "the AMD models have xrstor_load_checks_init and x87_xinuse_by_value");
	for (int on = 0; on < 2; on++) {
		struct xs_cpu *c;
		uint16_t fcw;

		m.impl.xrstor_load_checks_init = on;
		m.impl.x87_xinuse_by_value = on;
		c = fx_cpu(&m, 0x7, 0);
		memset(a, 0, AREA);
		fx_st16(a, 0x037F);
		fx_st32(a + 24, 0x1F81);
		fx_st64(a + 512, 0x7);
		FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR XSTATE_BV 7 of initial values (%s)", on ? "on" : "off");
		tap_eq_u64(xs_xinuse(c), on ? 0 : 7, "XINUSE after loading initial values (%s)", on ? "AMD" : "SDM");
		a[160] = 1;
		FX_OK(c, xs_xrstor(c, a, AREA, 0x7), "XRSTOR with XMM0 = 1");
		tap_eq_u64(xs_xinuse(c), on ? 2 : 7, "only SSE in use (%s)", on ? "AMD" : "SDM");
		a[160] = 0;
		xs_xrstor(c, a, AREA, 0x7);
		FX_OK(c, xs_fninit(c), "FNINIT from the initial state");
		tap_eq_u64(xs_xinuse(c) & 1, on ? 0 : 1, "FNINIT leaves x87 %s", on ? "not in use (values init)" : "in use");
		fcw = 0x037F;
		wr(c, "fcw", &fcw);
		tap_eq_u64(xs_xinuse(c) & 1, on ? 0 : 1, "FLDCW 037FH: x87 %s", on ? "still init" : "in use");
		fcw = 0x027F;
		wr(c, "fcw", &fcw);
		tap_eq_u64(xs_xinuse(c) & 1, 1, "FLDCW 027FH: x87 in use");
		xs_cpu_free(c);
	}
	free(a);
}

/* FNINIT and FSW writes change TOP without moving the physical registers:
 * the ST slots of the image rotate (measured on the host). */
static void test_x87_top(void)
{
	struct xs_model *m = fx_model("host-amd-epyc-vm");
	struct xs_cpu *c = fx_cpu(m, 0x7, 0);
	uint8_t *a = fx_area(), *out = fx_area();
	uint16_t fsw;

	memset(a, 0, AREA);
	fx_st16(a, 0x037F);
	fx_st16(a + 2, 7 << 11); /* TOP = 7 */
	for (unsigned j = 0; j < 8; j++)
		memset(a + 32 + 16 * j, 0x10 + j, 10);
	fx_st64(a + 512, 0x1);
	FX_OK(c, xs_xrstor(c, a, AREA, 0x1), "XRSTOR x87 with TOP = 7");
	FX_OK(c, xs_fninit(c), "FNINIT");
	xs_xsave(c, out, AREA, 0x1);
	tap_ok(out[32] == 0x11 && out[32 + 16 * 6] == 0x17 && out[32 + 16 * 7] == 0x10,
	       "after FNINIT slot j holds old slot (j - 7) mod 8: physical registers kept");
	tap_eq_u64(fx_ld16(out + 2), 0, "FSW = 0 (TOP 0)");
	fsw = 2 << 11;
	wr(c, "fsw", &fsw);
	xs_xsave(c, out, AREA, 0x1);
	tap_ok(out[32] == 0x13 && out[32 + 16 * 7] == 0x12, "FSW.TOP 0 -> 2 rotates the slots by 2");
	xs_cpu_free(c);
	free(a);
	free(out);
}

static void test_copy_equal_hash(void)
{
	struct xs_model *m = fx_model("intel-sapphire-rapids");
	struct xs_cpu *a = fx_cpu(m, 0x602E7, 0xDD00), *b = xs_cpu_new(m);
	uint8_t v1[16], v2[16];

	fx_pattern(v1, 16, 1);
	fx_pattern(v2, 16, 2);
	wr(a, "xmm1", v1);
	wr(a, "xmm2", v2);
	tap_ok(!xs_cpu_equal(a, b), "different CPUs are not equal");
	xs_cpu_copy(b, a);
	tap_ok(xs_cpu_equal(a, b) && xs_cpu_hash(a) == xs_cpu_hash(b), "copy: equal, same hash");
	tap_ok(xs_cpu_model(b)->xcr0_supported == m->xcr0_supported, "same model");
	wr(b, "xmm1", v2);
	wr(b, "xmm2", v1);
	tap_ok(!xs_cpu_equal(a, b) && xs_cpu_hash(a) != xs_cpu_hash(b),
	       "swapping two registers changes equality and hash");
	xs_cpu_copy(b, a);
	{
		uint8_t t[1024] = { 0 }, cfg[64] = { 1 };
		cfg[16] = 64;
		cfg[48] = 16;
		wr(b, "tilecfg", cfg);
		xs_cpu_copy(a, b);
		t[1023] = 1;
		wr(b, "tmm7", t);
		tap_ok(!xs_cpu_equal(a, b) && xs_cpu_hash(a) != xs_cpu_hash(b),
		       "one bit in the last tile changes equality and hash");
	}
	xs_cpu_copy(b, a);
	xs_wrmsr(b, XS_MSR_XFD_ERR, XS_BIT(18));
	tap_ok(!xs_cpu_equal(a, b) && xs_cpu_hash(a) != xs_cpu_hash(b), "IA32_XFD_ERR is state");
	xs_cpu_copy(b, a);
	xs_set_vmx_nonroot(b, true);
	tap_ok(!xs_cpu_equal(a, b) && xs_cpu_hash(a) != xs_cpu_hash(b), "the VMX flag is state");
	xs_cpu_copy(b, a);
	xs_set_alignment_check(b, true);
	tap_ok(!xs_cpu_equal(a, b), "the alignment-check flag is state");
	xs_cpu_copy(b, a);
	{
		uint8_t *img = fx_area();
		xs_xsave(b, img, AREA, 0x3);
		xs_cpu_copy(a, b);
		xs_xrstor(b, img, AREA, 0x3);
		xs_xrstor(a, img + 64, AREA - 64, 0x3); /* fails: misaligned */
		xs_xrstor(a, img, AREA, 0x3);
		tap_ok(xs_cpu_equal(a, b), "the same XRSTOR from the same address: equal");
		memcpy(img + 1024, img, 576);
		xs_xrstor(a, img + 1024, AREA - 1024, 0x3);
		tap_ok(!xs_cpu_equal(a, b), "XRSTOR_INFO (the address) is state");
		free(img);
	}
	{
		/* 256 states that differ in one register byte: 256 hashes. */
		uint64_t h[256];
		int dup = 0;
		for (int i = 0; i < 256; i++) {
			uint8_t x[16] = { 0 };
			x[(i * 5) % 16] = (uint8_t)(i | 1);
			x[15] = (uint8_t)i;
			wr(b, "xmm7", x);
			h[i] = xs_cpu_hash(b);
			for (int j = 0; j < i; j++)
				dup += h[j] == h[i];
		}
		tap_ok(dup == 0, "256 one-register variations hash to 256 values");
	}
	xs_cpu_reset(b);
	{
		struct xs_cpu *fresh = xs_cpu_new(m);
		tap_ok(xs_cpu_equal(b, fresh) && xs_cpu_hash(b) == xs_cpu_hash(fresh), "reset = new");
		xs_cpu_free(fresh);
	}
	xs_cpu_free(a);
	xs_cpu_free(b);
}

int main(void)
{
	tap_plan_lazy();
	test_lookup();
	test_write_faults();
	test_tracking();
	test_misc_insns();
	test_amd_xinuse();
	test_x87_top();
	test_copy_equal_hash();
	return tap_done();
}
