/* Other instructions that change XSAVE-managed state: FNINIT, LDMXCSR,
 * RDPKRU/WRPKRU, VZEROUPPER, TILERELEASE (SDM Vol. 2 pages). */
#include "arch/cpu_internal.h"

enum xs_fault xs_fninit(struct xs_cpu *c)
{
	uint8_t *r = c->regs;

	if (c->st.cr0_ts)
		return xsi_fault(c, XS_NM, "FNINIT: CR0.TS = 1 (SDM Vol. 2 FINIT/FNINIT)");
	/* FCW=037FH, FSW=0, all tags empty, FOP/FIP/FDP=0; ST0-7 keep their
	 * contents, so x87 is in its initial configuration after only if they
	 * are zero (which impl.x87_xinuse_by_value looks at). */
	xsi_x87_set_top(c, (ld16(r + LEG_FSW) >> 11) & 7, 0);
	memset(r, 0, LEG_MXCSR);
	st16(r + LEG_FCW, XS_FCW_DEFAULT);
	touch_x87(c);
	return XS_OK;
}

enum xs_fault xs_ldmxcsr(struct xs_cpu *c, uint32_t val)
{
	if (c->st.cr0_ts)
		return xsi_fault(c, XS_NM, "LDMXCSR: CR0.TS = 1 (SDM Vol. 2 LDMXCSR)");
	if (val & ~c->mxcsr_mask)
		return xsi_fault(c, XS_GP,
				 "LDMXCSR: %#x sets bits outside MXCSR_MASK %#x (SDM Vol. 2 LDMXCSR)", val,
				 c->mxcsr_mask);
	st32(c->regs + LEG_MXCSR, val);
	/* MXCSR is part of SSE but neither of XINUSE[1] (13.6) nor, as the
	 * AMD host shows, of XMODIFIED[1]: tracked on its own. */
	c->st.mxcsr_modified = 1;
	return XS_OK;
}

static enum xs_fault pkru_check(struct xs_cpu *c, const char *insn)
{
	if (!(c->present & XS_BIT(XS_C_PKRU)) || !c->model.feat.pku)
		return xsi_fault(c, XS_UD, "%s: CPUID.(07H,0):ECX.PKU = 0 (SDM Vol. 2 %s)", insn, insn);
	if (!c->st.cr4_pke)
		return xsi_fault(c, XS_UD, "%s: CR4.PKE = 0 (SDM Vol. 2 %s)", insn, insn);
	return XS_OK;
}

enum xs_fault xs_rdpkru(struct xs_cpu *c, uint32_t *val)
{
	enum xs_fault f = pkru_check(c, "RDPKRU");

	if (f)
		return f;
	*val = ld32(creg(c, XS_C_PKRU));
	return XS_OK;
}

/* PKRU works whatever XCR0[9] says (13.5.7). */
enum xs_fault xs_wrpkru(struct xs_cpu *c, uint32_t val)
{
	enum xs_fault f = pkru_check(c, "WRPKRU");

	if (f)
		return f;
	st32(creg(c, XS_C_PKRU), val);
	touch(c, XS_BIT(XS_C_PKRU));
	return XS_OK;
}

/* VZEROUPPER zeroes bits MAXVL-1:128 of YMM/ZMM0-15: AVX returns to its
 * initial configuration, and so does ZMM_Hi256 where it is enabled. */
enum xs_fault xs_vzeroupper(struct xs_cpu *c)
{
	uint64_t avx = XS_BIT(XS_C_SSE) | XS_BIT(XS_C_AVX), m = XS_BIT(XS_C_AVX);

	if (!c->model.feat.avx || !(c->present & XS_BIT(XS_C_AVX)))
		return xsi_fault(c, XS_UD, "VZEROUPPER: CPUID.01H:ECX.AVX = 0");
	if (!c->st.cr4_osxsave || (c->st.xcr0 & avx) != avx)
		return xsi_fault(c, XS_UD, "VZEROUPPER: needs CR4.OSXSAVE = 1 and XCR0[2:1] = 11b (SDM 13.3)");
	if (c->st.cr0_ts)
		return xsi_fault(c, XS_NM, "VZEROUPPER: CR0.TS = 1 (SDM Vol. 2 VZEROUPPER)");
	xsi_comp_init(c, XS_C_AVX);
	if (c->st.xcr0 & XS_BIT(XS_C_ZMM_HI256)) {
		xsi_comp_init(c, XS_C_ZMM_HI256);
		m |= XS_BIT(XS_C_ZMM_HI256);
	}
	became_init(c, m);
	/* It writes the whole vector registers: on the AMD host a following
	 * XSAVEOPT no longer skips the XMMs, so XMODIFIED[1] is set too (any
	 * extra XMODIFIED bit is architecturally harmless). XINUSE[1] stays. */
	c->st.xmodified |= XS_BIT(XS_C_SSE);
	return XS_OK;
}

/* TILERELEASE returns TILECFG and TILEDATA to their initial state; it is
 * one of the exceptions that never takes an XFD #NM (13.14). */
enum xs_fault xs_tilerelease(struct xs_cpu *c)
{
	if (!c->model.feat.amx_tile || (c->present & XS_MASK_AMX) != XS_MASK_AMX)
		return xsi_fault(c, XS_UD, "TILERELEASE: CPUID.(07H,0):EDX.AMX-TILE = 0");
	if (!c->st.cr4_osxsave || (c->st.xcr0 & XS_MASK_AMX) != XS_MASK_AMX)
		return xsi_fault(c, XS_UD, "TILERELEASE: needs CR4.OSXSAVE = 1 and XCR0[18:17] = 11b (SDM 13.3)");
	xsi_comp_init(c, XS_C_XTILECFG);
	xsi_comp_init(c, XS_C_XTILEDATA);
	became_init(c, XS_MASK_AMX);
	return XS_OK;
}
