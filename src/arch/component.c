/* State components: the facts the architecture fixes for each component
 * number, independent of any CPU's enumeration (SDM Vol. 1 13.1, 13.5).
 * Sizes and offsets a CPU actually uses come from CPUID leaf 0DH (model.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xstate/model.h"

/* arch_size is the number of bytes the component's registers occupy in the
 * XSAVE area (13.5). x87 and SSE report their legacy-region share. PT is
 * 128 on every enumerating CPU (9 MSRs use 72 bytes; the rest is reserved
 * and written as zero, 13.5.6). */
static const struct xs_comp_info comps[XS_NAMED_COMPS] = {
	[XS_C_X87] = { "x87", "x87 FPU/MMX", false, false, 160 },
	[XS_C_SSE] = { "sse", "SSE (XMM, MXCSR)", false, false, 256 },
	[XS_C_AVX] = { "avx", "AVX (YMM_Hi128)", false, true, 256 },
	/* MPX instructions act as NOPs rather than #UD when XCR0[4:3] are clear. */
	[XS_C_BNDREGS] = { "bndregs", "MPX BNDREGS", false, false, 64 },
	[XS_C_BNDCSR] = { "bndcsr", "MPX BNDCSR", false, false, 64 },
	[XS_C_OPMASK] = { "opmask", "AVX-512 opmask (k0-k7)", false, true, 64 },
	[XS_C_ZMM_HI256] = { "zmm_hi256", "AVX-512 ZMM_Hi256", false, true, 512 },
	[XS_C_HI16_ZMM] = { "hi16_zmm", "AVX-512 Hi16_ZMM", false, true, 1024 },
	[XS_C_PT] = { "pt", "Processor Trace", true, false, 128 },
	/* PKRU works whatever XCR0 says (13.5.7). */
	[XS_C_PKRU] = { "pkru", "PKRU (protection keys)", false, false, 8 },
	[XS_C_PASID] = { "pasid", "PASID", true, false, 8 },
	[XS_C_CET_U] = { "cet_u", "CET user (U_CET, PL3_SSP)", true, false, 16 },
	[XS_C_CET_S] = { "cet_s", "CET supervisor (PL0-2_SSP)", true, false, 24 },
	[XS_C_HDC] = { "hdc", "HDC (PM_CTL1)", true, false, 8 },
	[XS_C_UINTR] = { "uintr", "User interrupts (UINTR)", true, false, 48 },
	[XS_C_LBR] = { "lbr", "Architectural LBR", true, false, 808 },
	[XS_C_HWP] = { "hwp", "HWP (HWP_REQUEST)", true, false, 8 },
	[XS_C_XTILECFG] = { "xtilecfg", "AMX TILECFG", false, true, 64 },
	[XS_C_XTILEDATA] = { "xtiledata", "AMX TILEDATA", false, true, 8192 },
	[XS_C_APX] = { "apx", "APX (EGPR R16-R31)", false, true, 128 },
};

/* Other spellings accepted on the command line (Linux and SDM names). */
static const struct {
	const char *alias;
	unsigned comp;
} aliases[] = {
	{ "fp", XS_C_X87 },         { "fpu", XS_C_X87 },
	{ "ymm", XS_C_AVX },        { "ymm_hi128", XS_C_AVX },
	{ "k", XS_C_OPMASK },       { "zmm_h", XS_C_ZMM_HI256 },
	{ "hi16zmm", XS_C_HI16_ZMM }, { "zmmhi256", XS_C_ZMM_HI256 },
	{ "tilecfg", XS_C_XTILECFG }, { "tiledata", XS_C_XTILEDATA },
	{ "egpr", XS_C_APX },       { "arch_lbr", XS_C_LBR },
	{ "cet_user", XS_C_CET_U }, { "cet_kernel", XS_C_CET_S },
};

const struct xs_comp_info *xs_comp_info(unsigned comp)
{
	if (comp >= XS_NAMED_COMPS)
		return NULL;
	return &comps[comp];
}

const char *xs_comp_name(unsigned comp)
{
	static const char unnamed[64][8] = {
#define U8(n) "comp" #n
		U8(0),  U8(1),  U8(2),  U8(3),  U8(4),  U8(5),  U8(6),  U8(7),
		U8(8),  U8(9),  U8(10), U8(11), U8(12), U8(13), U8(14), U8(15),
		U8(16), U8(17), U8(18), U8(19), U8(20), U8(21), U8(22), U8(23),
		U8(24), U8(25), U8(26), U8(27), U8(28), U8(29), U8(30), U8(31),
		U8(32), U8(33), U8(34), U8(35), U8(36), U8(37), U8(38), U8(39),
		U8(40), U8(41), U8(42), U8(43), U8(44), U8(45), U8(46), U8(47),
		U8(48), U8(49), U8(50), U8(51), U8(52), U8(53), U8(54), U8(55),
		U8(56), U8(57), U8(58), U8(59), U8(60), U8(61), U8(62), U8(63),
#undef U8
	};

	if (comp < XS_NAMED_COMPS)
		return comps[comp].name;
	if (comp < 64)
		return unnamed[comp];
	return "comp?";
}

int xs_comp_lookup(const char *name)
{
	if (!name || !*name)
		return -1;
	for (unsigned i = 0; i < XS_NAMED_COMPS; i++)
		if (strcasecmp(name, comps[i].name) == 0)
			return (int)i;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(name, aliases[i].alias) == 0)
			return (int)aliases[i].comp;
	/* "compN" names any component number, named or not. */
	if (strncasecmp(name, "comp", 4) == 0 && isdigit((unsigned char)name[4])) {
		char *end;
		unsigned long n = strtoul(name + 4, &end, 10);
		if (*end == '\0' && n < 64 && end - (name + 4) <= 2)
			return (int)n;
	}
	return -1;
}
