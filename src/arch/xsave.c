/* The save instructions: XSAVE, XSAVEOPT, XSAVEC, XSAVES (SDM Vol. 1
 * 13.7, 13.9, 13.10, 13.11; Vol. 2 instruction pages). All four are the
 * 64-bit forms (REX.W: 64-bit FIP/FDP in the legacy region).
 *
 * Every check is made before the first byte is written: #UD, #NM, #GP
 * (CPL, alignment), then #PF for the whole area the instruction may touch
 * (13.13: any byte of any component it operates on, even one it skips).
 * The register file holds image bytes, so each component is one memcpy.
 */
#include "arch/cpu_internal.h"

/* Legacy region. wmask says which of x87 (bit 0) and SSE (bit 1) are
 * written; mxcsr whether MXCSR and MXCSR_MASK are. Bytes 416-511 are never
 * written (SDM Vol. 2 XSAVE: "bytes 511:464 ... not written"). */
XS_HOT void save_legacy(const struct xs_cpu *c, uint8_t *m, uint64_t wmask, bool mxcsr)
{
	const uint8_t *r = c->regs;

	if (wmask == XS_MASK_FPSSE && mxcsr) {
		/* Fast path: bytes 0-415 in one copy. The register file holds
		 * zero in every reserved byte and the model's MXCSR_MASK in
		 * bytes 28-31. */
		bigcopy(m, r, LEG_END);
	} else {
		if (wmask & XS_BIT(XS_C_X87)) {
			memcpy(m, r, LEG_MXCSR);
			bigcopy(m + LEG_ST, r + LEG_ST, LEG_XMM - LEG_ST);
		}
		if (wmask & XS_BIT(XS_C_SSE))
			bigcopy(m + LEG_XMM, r + LEG_XMM, LEG_END - LEG_XMM);
		if (mxcsr)
			memcpy(m + LEG_MXCSR, r + LEG_MXCSR, 8); /* MXCSR, MXCSR_MASK */
	}
	/* AMD without (working) XSaveErPtr: FOP, FIP and FDP are stored as 0
	 * unless FSW.ES = 1 (APM FXSAVE; spec 12; measured on the host, which
	 * stores zeros even though it sets XSaveErPtr). */
	if ((wmask & XS_BIT(XS_C_X87)) && c->model.impl.x87_errptr_only_if_es &&
	    !(ld16(r + LEG_FSW) & FSW_ES)) {
		st16(m + LEG_FOP, 0);
		st64(m + LEG_FIP, 0);
		st64(m + LEG_FDP, 0);
	}
	/* CPUID.(07H,0):EBX[13] (FCS/FDS deprecated) has nothing to do here:
	 * the REX.W forms store 64-bit FIP/FDP and no FCS/FDS at all. */
}

/* XRSTOR_INFO = <CPL, VMX non-root, linear address, z> (13.9, 13.11). */
XS_HOT bool rinfo_matches(const struct xs_cpu *c, const void *mem, uint64_t z)
{
	return c->st.rinfo_valid && c->st.rinfo_cpl == c->st.cpl &&
	       c->st.rinfo_vmxnr == c->st.vmx_nonroot &&
	       c->st.rinfo_la == (uint64_t)(uintptr_t)mem && c->st.rinfo_xcomp_bv == z;
}

static enum xs_fault too_small(struct xs_cpu *c, const char *insn, uint32_t need, size_t len,
			       uint64_t rfbm)
{
	return xsi_fault(c, XS_PF,
			 "%s: the area for RFBM %#llx needs %u bytes but the buffer has %zu (SDM 13.13)",
			 insn, (unsigned long long)rfbm, need, len);
}

/* XSAVE and XSAVEOPT: standard format, read-modify-write of XSTATE_BV. */
XS_HOT enum xs_fault save_standard(struct xs_cpu *c, void *mem, size_t len, uint64_t mask,
				   bool opt)
{
	const char *insn = opt ? "XSAVEOPT" : "XSAVE";
	const struct xs_impl *im = &c->model.impl;
	uint8_t *m = mem;
	uint64_t rfbm, armed, write, rest, bv;
	uint32_t need;
	enum xs_fault f;

	f = xsi_xsave_prologue(c, insn, opt ? c->model.has_xsaveopt : true,
			       "CPUID.(0DH,1):EAX[0] (XSAVEOPT)", false, mem);
	if (f)
		return f;
	rfbm = c->st.xcr0 & mask; /* 13.7 */
	need = xsi_std_end(c, rfbm);
	if (len < need)
		return too_small(c, insn, need, len, rfbm);

	/* XFD-armed components are saved as if in their initial configuration
	 * (13.14): XSTATE_BV[i] = 0; XSAVE writes init values, XSAVEOPT nothing. */
	armed = rfbm & xfd_armed(c);
	write = rfbm & ~armed;
	if (opt) {
		/* 13.9 init optimization: components with XINUSE[i] = 0. */
		if (im->xsaveopt_init_opt)
			write &= c->st.xinuse;
		/* 13.9 modified optimization: only if the last restore was a
		 * standard-form XRSTOR of this area in this context. */
		if (im->xsaveopt_modified_opt && rinfo_matches(c, mem, 0))
			write &= c->st.xmodified;
	}
	/* MXCSR and MXCSR_MASK: written iff RFBM[1] or RFBM[2], never optimized
	 * away (13.7, 13.9). */
	save_legacy(c, m, write & XS_MASK_FPSSE,
		    (rfbm & (XS_BIT(XS_C_SSE) | XS_BIT(XS_C_AVX))) != 0);
	for (rest = write & ~XS_MASK_FPSSE; rest; rest &= rest - 1) {
		unsigned i = (unsigned)__builtin_ctzll(rest);
		memcpy(m + c->model.comp[i].offset, ccreg(c, i), c->rsize[i]);
	}
	if (!opt)
		for (rest = armed; rest; rest &= rest - 1) {
			unsigned i = (unsigned)__builtin_ctzll(rest);
			xsi_init_image(c, i, i < 2 ? m : m + c->model.comp[i].offset);
		}
	/* XSTATE_BV := (XSTATE_BV & ~RFBM) | (XINUSE & RFBM); bits outside
	 * RFBM, bit 63 included, are preserved; no other header byte is written. */
	bv = (ld64(m + HDR_XSTATE_BV) & ~rfbm) | (c->st.xinuse & rfbm & ~armed);
	st64(m + HDR_XSTATE_BV, bv);
	return XS_OK;
}

enum xs_fault xs_xsave(struct xs_cpu *c, void *mem, size_t len, uint64_t mask)
{
	return save_standard(c, mem, len, mask, false);
}

enum xs_fault xs_xsaveopt(struct xs_cpu *c, void *mem, size_t len, uint64_t mask)
{
	return save_standard(c, mem, len, mask, true);
}

/* XSAVEC and XSAVES: compacted format, header bytes 0-15 written. */
XS_HOT enum xs_fault save_compacted(struct xs_cpu *c, void *mem, size_t len, uint64_t mask,
				    bool sup)
{
	const char *insn = sup ? "XSAVES" : "XSAVEC";
	const struct xs_impl *im = &c->model.impl;
	uint8_t *m = mem;
	uint64_t rfbm, key, armed, bv, write, rest;
	const uint32_t *off;
	uint32_t need;
	enum xs_fault f;

	if (sup)
		f = xsi_xsave_prologue(c, insn, c->model.has_xsaves, "CPUID.(0DH,1):EAX[3] (XSAVES)",
				       true, mem);
	else
		f = xsi_xsave_prologue(c, insn, c->model.has_xsavec, "CPUID.(0DH,1):EAX[1] (XSAVEC)",
				       false, mem);
	if (f)
		return f;
	/* 13.10: RFBM = XCR0 & EDX:EAX; 13.11: (XCR0 | IA32_XSS) & EDX:EAX. */
	rfbm = (sup ? c->st.xcr0 | c->st.xss : c->st.xcr0) & mask;
	key = rfbm | XS_COMPACTED_BIT;
	off = xsi_compacted_offsets(c, key);
	need = compacted_end_of(c, off, rfbm);
	if (len < need)
		return too_small(c, insn, need, len, rfbm);

	/* XSTATE_BV = RFBM & XINUSE, armed components as init (13.14), and
	 * bit 1 set when MXCSR is not its default (13.10). */
	armed = rfbm & xfd_armed(c);
	bv = rfbm & c->st.xinuse & ~armed;
	if ((rfbm & XS_BIT(XS_C_SSE)) && cpu_mxcsr(c) != XS_MXCSR_DEFAULT)
		bv |= XS_BIT(XS_C_SSE);
	write = rfbm & ~armed;
	if (sup ? im->xsaves_init_opt : im->xsavec_init_opt)
		write &= bv;
	/* 13.11: modified optimization only if XRSTOR_INFO = <CPL, VMXNR, LA,
	 * RFBM | bit 63> exactly. XSAVEC has none (13.10). */
	if (sup && im->xsaves_modified_opt && rinfo_matches(c, mem, key))
		write &= c->st.xmodified | (c->st.mxcsr_modified ? XS_BIT(XS_C_SSE) : 0);
	/* An LBR component in its initial configuration is not written, nor
	 * any byte of it touched (13.5.12). */
	if (sup && !(c->st.xinuse & XS_BIT(XS_C_LBR)))
		write &= ~XS_BIT(XS_C_LBR);

	/* SSE, MXCSR included, is saved as one: written iff SSE is (13.10). */
	save_legacy(c, m, write & XS_MASK_FPSSE, (write & XS_BIT(XS_C_SSE)) != 0);
	rest = write & ~(XS_MASK_FPSSE | XS_BIT(XS_C_LBR));
	while (rest) {
		unsigned i = (unsigned)__builtin_ctzll(rest);
		uint32_t n = xsi_run_len(c, off, i, &rest);

		memcpy(m + off[i], ccreg(c, i), n);
	}
	if (write & XS_BIT(XS_C_LBR))
		memcpy(m + off[XS_C_LBR], ccreg(c, XS_C_LBR), xsi_sup_save_len(c, XS_C_LBR));
	st64(m + HDR_XSTATE_BV, bv);
	st64(m + HDR_XCOMP_BV, key);
	if (sup)
		xsi_sup_after_save(c, rfbm);
	return XS_OK;
}

enum xs_fault xs_xsavec(struct xs_cpu *c, void *mem, size_t len, uint64_t mask)
{
	return save_compacted(c, mem, len, mask, false);
}

enum xs_fault xs_xsaves(struct xs_cpu *c, void *mem, size_t len, uint64_t mask)
{
	return save_compacted(c, mem, len, mask, true);
}
