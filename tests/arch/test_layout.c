/* XSAVE area layouts (SDM 13.4.3), the CPUID.(0DH) sizes of every CPU model,
 * and mask names. */
#include "tap.h"
#include "xstate/model.h"

static struct xs_model load(const char *name)
{
	struct xs_model m;
	char err[512];

	if (xs_model_load(name, &m, err, sizeof(err)) != 0) {
		tap_ok(0, "load %s: %s", name, err);
		exit(1);
	}
	return m;
}

/* SDM 13.4.3 worked examples (spec section 4.3) on Sapphire Rapids. */
static void test_spr_examples(void)
{
	struct xs_model m = load("intel-sapphire-rapids");
	struct xs_layout l;

	xs_layout_compacted(&m, 0x8000000000000207ULL, &l);
	tap_ok(l.compacted, "SPR 0x8000000000000207: compacted");
	tap_eq_u64(l.mask, 0x207, "SPR 0x8000000000000207: mask without bit 63");
	tap_eq_u64(l.offset[XS_C_AVX], 576, "SPR 0x207 compacted: AVX at 576");
	tap_eq_u64(l.offset[XS_C_PKRU], 832, "SPR 0x207 compacted: PKRU at 832");
	tap_eq_u64(l.size, 840, "SPR 0x207 compacted: 840 bytes");
	tap_eq_u64(l.offset[XS_C_SSE], 160, "SSE reported at its legacy slot 160");
	tap_eq_u64(l.size_of[XS_C_X87], 160, "x87 size 160");

	xs_layout_compacted(&m, 0x602e7, &l);
	tap_eq_u64(l.offset[XS_C_OPMASK], 832, "SPR 0x602e7 compacted: opmask at 832");
	tap_eq_u64(l.offset[XS_C_ZMM_HI256], 896, "SPR 0x602e7 compacted: ZMM_Hi256 at 896");
	tap_eq_u64(l.offset[XS_C_HI16_ZMM], 1408, "SPR 0x602e7 compacted: Hi16_ZMM at 1408");
	tap_eq_u64(l.offset[XS_C_PKRU], 2432, "SPR 0x602e7 compacted: PKRU at 2432");
	tap_eq_u64(l.offset[XS_C_XTILECFG], 2496, "SPR 0x602e7 compacted: TILECFG at 2496 (aligned)");
	tap_eq_u64(l.offset[XS_C_XTILEDATA], 2560, "SPR 0x602e7 compacted: TILEDATA at 2560");
	tap_eq_u64(l.size, 10752, "SPR 0x602e7 compacted: 10752 bytes");
	tap_eq_u64(xs_size_compacted(&m, 0x602e7), 10752, "xs_size_compacted agrees");

	xs_layout_standard(&m, 0x602e7, &l);
	tap_ok(!l.compacted, "standard layout is not compacted");
	tap_eq_u64(l.offset[XS_C_XTILEDATA], 2816, "SPR standard: TILEDATA at 2816");
	tap_eq_u64(l.size, 11008, "SPR 0x602e7 standard: 11008 bytes");
	tap_eq_u64(xs_size_standard(&m, 0x602e7), 11008, "xs_size_standard agrees");

	/* PKRU alone: padding before TILECFG depends on what precedes it. */
	tap_eq_u64(xs_size_compacted(&m, 0x20207), 896 + 64, /* PKRU ends at 840 */
		   "SPR PKRU then TILECFG: TILECFG rounded up to 896");
	/* Supervisor components: compacted only. */
	xs_layout_standard(&m, 0x107, &l);
	tap_eq_u64(l.mask, 0x7, "standard layout leaves supervisor PT out");
	tap_eq_u64(l.size, 832, "standard size ignores PT");
	xs_layout_compacted(&m, 0x8000000000000107ULL, &l);
	tap_eq_u64(l.offset[XS_C_PT], 832, "compacted PT follows AVX at 832");
	tap_eq_u64(l.size, 960, "compacted x87|sse|avx|pt = 960");
	/* Unsupported bits lay out nothing. */
	xs_layout_compacted(&m, 0x8000000000002007ULL, &l);
	tap_eq_u64(l.mask, 0x7, "unsupported bit 13 (HDC on SPR) is not laid out");
	tap_eq_u64(l.size, 832, "and takes no space");
}

/* In the compacted form x87/SSE bits move nothing (13.4.3). */
static void test_legacy_bits(void)
{
	struct xs_model m = load("intel-skylake-sp");

	tap_eq_u64(xs_size_compacted(&m, 0x4), xs_size_compacted(&m, 0x7),
		   "compacted size ignores bits 0 and 1");
	tap_eq_u64(xs_size_compacted(&m, 0x3), 576, "x87|sse compacted = 576");
	tap_eq_u64(xs_size_standard(&m, 0x3), 576, "x87|sse standard = 576");
	tap_eq_u64(xs_size_standard(&m, 0), 576, "empty standard = 576 (legacy + header)");
}

static void test_worked_sizes(void)
{
	struct xs_model host = load("host-amd-epyc-vm");
	struct xs_model skl = load("intel-skylake-client");
	struct xs_model raph = load("amd-zen4-raphael");
	struct xs_layout l;

	xs_layout_compacted(&host, 0x1807, &l);
	tap_eq_u64(l.size, 872, "host 0x1807 compacted = 872 (Linux: context size 872)");
	tap_eq_u64(l.offset[XS_C_CET_U], 832, "host CET_U at 832 (Linux xstate_offset[11])");
	tap_eq_u64(l.offset[XS_C_CET_S], 848, "host CET_S at 848 (Linux xstate_offset[12])");
	tap_eq_u64(xs_size_compacted(&skl, 0x1f), 960, "Skylake client 0x1f compacted = 960");
	tap_eq_u64(xs_size_compacted(&raph, 0xae7), 2456, "Raphael 0xae7 compacted = 2456");
	/* AMD has no MPX hole: opmask right after AVX in the standard format. */
	xs_layout_standard(&raph, 0x2e7, &l);
	tap_eq_u64(l.offset[XS_C_OPMASK], 0x340, "Zen 4 standard opmask at 0x340");
	tap_eq_u64(l.offset[XS_C_PKRU], 0x980, "Zen 4 standard PKRU at 0x980");
}

/* Every model: sizes recomputed from the components reproduce the dump. */
static void test_every_model(void)
{
	for (size_t i = 0; i < xs_builtin_count(); i++) {
		const char *name = xs_builtin_name(i);
		struct xs_model m = load(name);
		struct xs_cpuid c0, c1;

		tap_eq_u64(xs_size_standard(&m, m.xcr0_supported), m.leaf_d[0].ecx,
			   "%s: 0.ECX = standard size of all supported user components", name);
		if (!m.dump_masks_known) {
			tap_skip("%s: no xcr0/ia32_xss header", name);
			continue;
		}
		c0 = xs_model_cpuid_d(&m, m.dump_xcr0, m.dump_xss, 0);
		c1 = xs_model_cpuid_d(&m, m.dump_xcr0, m.dump_xss, 1);
		tap_eq_u64(xs_size_standard(&m, m.dump_xcr0), m.leaf_d[0].ebx,
			   "%s: standard size of xcr0 0x%llx = 0.EBX", name,
			   (unsigned long long)m.dump_xcr0);
		tap_eq_u64(xs_size_compacted(&m, m.dump_xcr0 | m.dump_xss), m.leaf_d[1].ebx,
			   "%s: compacted size of xcr0|xss = 1.EBX", name);
		tap_ok(c0.eax == m.leaf_d[0].eax && c0.ebx == m.leaf_d[0].ebx &&
			       c0.ecx == m.leaf_d[0].ecx && c0.edx == m.leaf_d[0].edx,
		       "%s: cpuid_d(0) at dump masks = dumped sub-leaf 0", name);
		tap_ok(c1.eax == m.leaf_d[1].eax && c1.ebx == m.leaf_d[1].ebx &&
			       c1.ecx == m.leaf_d[1].ecx && c1.edx == m.leaf_d[1].edx,
		       "%s: cpuid_d(1) at dump masks = dumped sub-leaf 1", name);
		if (m.linux_known)
			tap_eq_u64(xs_size_compacted(&m, m.linux_xfeatures), m.linux_context_size,
				   "%s: Linux context size", name);
		/* Layout and size functions agree for every subset of 8 bits. */
		{
			uint64_t all = m.xcr0_supported | m.xss_supported;
			bool ok = true;
			for (unsigned s = 0; s < 256; s++) {
				uint64_t mask = 0, rest = all;
				struct xs_layout l;

				for (unsigned b = 0; rest && b < 8; b++) {
					uint64_t low = rest & -rest;
					if (s & (1u << b))
						mask |= low;
					rest &= rest - 1;
				}
				mask |= rest & (s & 1 ? ~0ULL : 0);
				xs_layout_compacted(&m, mask, &l);
				ok &= l.size == xs_size_compacted(&m, mask);
				xs_layout_standard(&m, mask, &l);
				ok &= l.size == xs_size_standard(&m, mask);
			}
			tap_ok(ok, "%s: xs_layout_* sizes equal xs_size_* for 256 masks", name);
		}
	}
}

static void test_cpuid_d(void)
{
	struct xs_model m = load("intel-sapphire-rapids");
	struct xs_cpuid r;

	r = xs_model_cpuid_d(&m, 0x7, 0, 0);
	tap_eq_u64(r.ebx, 832, "SPR CPUID.(0DH,0).EBX with XCR0=7 is 832");
	tap_eq_u64(r.ecx, 11008, "SPR 0.ECX does not depend on XCR0");
	r = xs_model_cpuid_d(&m, 0x7, 0x100, 1);
	tap_eq_u64(r.ebx, 960, "SPR 1.EBX with XCR0|XSS = 0x107 is 960");
	r = xs_model_cpuid_d(&m, 0x7, 0, 18);
	tap_eq_u64(r.eax, 8192, "sub-leaf 18 EAX is the TILEDATA size");
	tap_eq_u64(r.ecx, 6, "sub-leaf 18 ECX: aligned, XFD");
	r = xs_model_cpuid_d(&m, 0x7, 0, 13);
	tap_ok(!(r.eax | r.ebx | r.ecx | r.edx), "unsupported sub-leaf 13 is all zero");
	r = xs_model_cpuid_d(&m, 0x7, 0, 64);
	tap_ok(!(r.eax | r.ebx | r.ecx | r.edx), "sub-leaf 64 is all zero");

	/* A CPU with XSAVEC but not XSAVES: 1.EBX is the compacted size of XCR0. */
	m.has_xsaves = false;
	r = xs_model_cpuid_d(&m, 0x7, 0x100, 1);
	tap_eq_u64(r.ebx, 832, "without XSAVES 1.EBX ignores IA32_XSS");
	m.has_xsavec = false;
	r = xs_model_cpuid_d(&m, 0x7, 0x100, 1);
	tap_eq_u64(r.ebx, 0, "without XSAVEC 1.EBX is 0");
}

static void test_masks(void)
{
	char buf[256];
	uint64_t v = 0;

	tap_ok(xs_mask_parse("x87|sse|avx", &v) == 0 && v == 7, "parse x87|sse|avx = 7");
	tap_ok(xs_mask_parse("0x1807", &v) == 0 && v == 0x1807, "parse 0x1807");
	tap_ok(xs_mask_parse("7", &v) == 0 && v == 7, "parse decimal 7");
	tap_ok(xs_mask_parse("AVX, pkru", &v) == 0 && v == 0x204, "parse 'AVX, pkru' = 0x204");
	tap_ok(xs_mask_parse("x87+0x200|xtiledata", &v) == 0 && v == 0x40201,
	       "parse mixes numbers and names");
	tap_ok(xs_mask_parse("comp40|cet_u", &v) == 0 && v == (XS_BIT(40) | XS_BIT(11)),
	       "parse compN");
	tap_ok(xs_mask_parse("none", &v) == 0 && v == 0, "parse none = 0");
	tap_ok(xs_mask_parse("", &v) != 0, "reject empty mask");
	tap_ok(xs_mask_parse("x87|", &v) != 0, "reject trailing separator");
	tap_ok(xs_mask_parse("bogus", &v) != 0, "reject unknown name");
	tap_ok(xs_mask_parse("0xzz", &v) != 0, "reject bad number");
	tap_ok(xs_mask_parse("comp64", &v) != 0, "reject comp64");
	tap_ok(xs_mask_parse("99999999999999999999999", &v) != 0, "reject overflowing number");

	tap_ok(!strcmp(xs_mask_names(0x1807, buf, sizeof(buf)), "x87|sse|avx|cet_u|cet_s"),
	       "names of 0x1807: %s", buf);
	tap_ok(!strcmp(xs_mask_names(0, buf, sizeof(buf)), "none"), "names of 0: none");
	tap_ok(!strcmp(xs_mask_names(XS_BIT(63), buf, sizeof(buf)), "comp63"), "names of bit 63");
	tap_ok(xs_mask_parse(xs_mask_names(0x8000000000f6ffffULL, buf, sizeof(buf)), &v) == 0 &&
		       v == 0x8000000000f6ffffULL,
	       "names round-trip through parse");
	xs_mask_names(~0ULL, buf, 20);
	tap_ok(strlen(buf) < 20, "names truncate safely: '%s'", buf);

	tap_ok(xs_comp_lookup("XTILEDATA") == 18, "lookup is case-insensitive");
	tap_ok(xs_comp_lookup("ymm") == XS_C_AVX, "lookup alias ymm");
	tap_ok(xs_comp_lookup("comp7") == 7, "lookup comp7");
	tap_ok(xs_comp_lookup("avx512") == -1, "lookup unknown");
	tap_ok(!strcmp(xs_comp_name(40), "comp40"), "name of 40 is comp40");
	tap_ok(xs_comp_info(XS_C_PT)->supervisor && !xs_comp_info(XS_C_PKRU)->supervisor,
	       "PT supervisor, PKRU user");
	tap_ok(xs_comp_info(XS_C_APX) && !xs_comp_info(XS_NAMED_COMPS), "info for 19, not 20");
}

int main(void)
{
	tap_plan_lazy();
	test_spr_examples();
	test_legacy_bits();
	test_worked_sizes();
	test_every_model();
	test_cpuid_d();
	test_masks();
	return tap_done();
}
