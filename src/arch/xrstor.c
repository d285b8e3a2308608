/* The restore instructions: XRSTOR (standard and compacted forms) and
 * XRSTORS (SDM Vol. 1 13.8, 13.12; Vol. 2 instruction pages), 64-bit forms.
 *
 * Order of the checks, all made before any state changes:
 *   1. #UD / #NM / #GP(CPL) / alignment (xsi_xsave_prologue)
 *   2. #PF if the header is outside the buffer
 *   3. header #GP (13.8.1 / 13.8.2 / 13.12)
 *   4. #PF if a component the instruction operates on is outside (13.13)
 *   5. MXCSR #GP, then XRSTORS's supervisor checks (#GP)
 *   6. XFD #NM (13.14), the one fault that writes state (IA32_XFD_ERR)
 * The SDM fixes 1-3; the order of 4-6 among themselves is this model's
 * choice (spec section 10 marks it unverified).
 */
#include "arch/cpu_internal.h"

static const char *cname(unsigned i)
{
	return xs_comp_name(i);
}

static inline unsigned lowest(uint64_t m)
{
	return (unsigned)__builtin_ctzll(m);
}

/* True if the legacy region of an image already reads as the register file
 * would hold it after the load (every image a save wrote does): then loading
 * it is a plain copy, with no patch stores that would stall the next save's
 * wide loads on store forwarding. */
XS_HOT bool legacy_is_normal(const struct xs_cpu *c, const uint8_t *m)
{
	uint16_t fcw = ld16(m + LEG_FCW), fsw = ld16(m + LEG_FSW);
	uint16_t es = (fsw & ~fcw & 0x3Fu) ? (FSW_ES | FSW_B) : 0;
	uint64_t st_rsvd = 0;

	for (unsigned j = 0; j < 8; j++)
		st_rsvd |= ld64(m + LEG_ST + 16 * j + 8) >> 16;
	return ld32(m + LEG_MXCSR_MASK) == c->mxcsr_mask_img && (fcw & 0xE0C0u) == 0x0040u &&
	       (fsw & (FSW_ES | FSW_B)) == es && m[LEG_FTW + 1] == 0 && ld16(m + LEG_FOP) < 0x800u &&
	       canonical(c, ld64(m + LEG_FIP)) && canonical(c, ld64(m + LEG_FDP)) && !st_rsvd;
}

/* Load the legacy region for the components in lmask (bits 0/1). When both
 * are loaded MXCSR comes along (every form loads MXCSR when SSE is loaded);
 * otherwise MXCSR is the caller's. MXCSR_MASK is ignored (13.4.1).
 * Returns the loaded components that are now in their initial
 * configuration when chk (impl.xrstor_load_checks_init): the copy ORs the
 * bytes as it moves them, so the test costs no second pass. */
XS_HOT uint64_t load_legacy(struct xs_cpu *c, const uint8_t *m, uint64_t lmask, bool chk)
{
	uint8_t *r = c->regs;
	uint64_t st_or = 1, xmm_or = 1, zero = 0;
	bool normal;

	if (lmask == XS_MASK_FPSSE && !chk) {
		bigcopy(r, m, LEG_END);
		if (__builtin_expect(!legacy_is_normal(c, m), 0)) {
			st32(r + LEG_MXCSR_MASK, c->mxcsr_mask_img);
			xsi_x87_normalize(c);
		}
		return 0;
	}
	if (lmask & XS_BIT(XS_C_X87)) {
		memcpy(r, m, LEG_MXCSR);
		if (chk)
			st_or = xsi_copy_or(c, r + LEG_ST, m + LEG_ST, LEG_XMM - LEG_ST);
		else
			bigcopy(r + LEG_ST, m + LEG_ST, LEG_XMM - LEG_ST);
	}
	if (lmask & XS_BIT(XS_C_SSE)) {
		if (lmask & XS_BIT(XS_C_X87))
			memcpy(r + LEG_MXCSR, m + LEG_MXCSR, 4);
		if (chk) {
			xmm_or = xsi_copy_or(c, r + LEG_XMM, m + LEG_XMM, LEG_END - LEG_XMM);
			zero |= xmm_or ? 0 : XS_BIT(XS_C_SSE);
		} else {
			bigcopy(r + LEG_XMM, m + LEG_XMM, LEG_END - LEG_XMM);
		}
	}
	if (lmask & XS_BIT(XS_C_X87)) {
		normal = legacy_is_normal(c, m);
		if (!normal)
			xsi_x87_normalize(c);
		/* Initial configuration: FCW 037FH, FSW 0, no tags, ST0-7 zero
		 * (FOP/FIP/FDP not looked at, as on the AMD host). */
		if (chk && (normal ? ld16(m + LEG_FCW) == XS_FCW_DEFAULT && ld16(m + LEG_FSW) == 0 &&
					 m[LEG_FTW] == 0 && !st_or
				   : xsi_comp_is_init(c, XS_C_X87)))
			zero |= XS_BIT(XS_C_X87);
	}
	return chk ? zero : 0;
}

/* Load user component i >= 2 from its image; returns true if chk and the
 * component is now in its initial configuration. */
XS_HOT bool load_user(struct xs_cpu *c, unsigned i, const uint8_t *img, bool chk)
{
	uint8_t *r = creg(c, i);

	switch (i) {
	case XS_C_PKRU:
		/* PKRU is bytes 3:0 of the component (13.5.7). */
		memset(r, 0, c->rsize[i]);
		memcpy(r, img, 4);
		return chk && ld32(r) == 0;
	case XS_C_XTILECFG:
		/* An invalid TILECFG image is not a fault: the restore
		 * initializes TILECFG instead (13.5.14). */
		if (xsi_tilecfg_invalid(img))
			memset(r, 0, c->rsize[i]);
		else
			memcpy(r, img, c->rsize[i]);
		return chk && xsi_comp_is_init(c, i);
	}
	if (chk && !(c->rsize[i] & 7))
		return xsi_copy_or(c, r, img, c->rsize[i]) == 0;
	memcpy(r, img, c->rsize[i]);
	return chk && xsi_comp_is_init(c, i);
}

static enum xs_fault check_mxcsr(struct xs_cpu *c, const char *insn, const uint8_t *m,
				 const char *sect)
{
	uint32_t v = ld32(m + LEG_MXCSR);

	if (v & ~c->mxcsr_mask)
		return xsi_fault(c, XS_GP,
				 "%s: MXCSR value %#x in the image sets bits outside MXCSR_MASK %#x (SDM %s)",
				 insn, v, c->mxcsr_mask, sect);
	return XS_OK;
}

/* XFD #NM: IA32_XFD_ERR := IA32_XFD & the components the load needs (13.14). */
static enum xs_fault xfd_fault(struct xs_cpu *c, const char *insn, uint64_t load)
{
	uint64_t armed = load & xfd_armed(c);

	c->st.xfd_err = c->st.xfd & load;
	return xsi_fault(c, XS_NM,
			 "%s: XSTATE_BV[%u] (%s) = 1 but XFD is armed for it; IA32_XFD_ERR := %#llx (SDM 13.14)",
			 insn, lowest(armed), cname(lowest(armed)), (unsigned long long)c->st.xfd_err);
}

/* Tracking after a restore (13.8.3, spec section 5). zero: components
 * loaded with their initial configuration (impl.xrstor_load_checks_init). */
XS_HOT void after_restore(struct xs_cpu *c, const void *mem, uint64_t rfbm,
			  uint64_t loaded, uint64_t inited, uint64_t zero, uint64_t xcomp_bv)
{
	const struct xs_impl *im = &c->model.impl;

	loaded &= ~zero;
	inited |= zero;
	c->st.xinuse &= ~zero;
	c->st.xinuse |= loaded;
	if (im->xinuse_tracking && im->xrstor_init_clears_xinuse)
		c->st.xinuse &= ~inited;
	/* RFBM[i] = 0: XMODIFIED[i] := 1; RFBM[i] = 1: XMODIFIED[i] := 0. */
	c->st.xmodified = ~rfbm;
	c->st.mxcsr_modified = !(rfbm & XS_BIT(XS_C_SSE));
	c->st.rinfo_valid = 1;
	c->st.rinfo_cpl = c->st.cpl;
	c->st.rinfo_vmxnr = c->st.vmx_nonroot;
	c->st.rinfo_la = (uint64_t)(uintptr_t)mem;
	c->st.rinfo_xcomp_bv = xcomp_bv;
}

static enum xs_fault header_too_small(struct xs_cpu *c, const char *insn, size_t len)
{
	return xsi_fault(c, XS_PF,
			 "%s: the XSAVE header (bytes 512-575) is outside the %zu-byte buffer (SDM 13.13)",
			 insn, len);
}

/* Standard form of XRSTOR (13.8.1). */
XS_HOT enum xs_fault restore_standard(struct xs_cpu *c, const uint8_t *m, size_t len,
				      uint64_t rfbm, uint64_t bv)
{
	uint64_t load, init, rest, zero;
	uint32_t need;
	bool chk;
	enum xs_fault f;

	if (bv & ~c->st.xcr0) {
		unsigned i = lowest(bv & ~c->st.xcr0);
		return xsi_fault(c, XS_GP, "XRSTOR: XSTATE_BV bit %u (%s) is not set in XCR0 %#llx (SDM 13.8.1)",
				 i, i == 63 ? "compaction bit" : cname(i),
				 (unsigned long long)c->st.xcr0);
	}
	if (ld64(m + HDR_XCOMP_BV) | ld64(m + HDR_XCOMP_BV + 8))
		return xsi_fault(c, XS_GP,
				 "XRSTOR: header bytes 8-23 are not zero (XCOMP_BV %#llx) in the standard form (SDM 13.8.1)",
				 (unsigned long long)ld64(m + HDR_XCOMP_BV));
	need = xsi_std_end(c, rfbm);
	if (len < need)
		return xsi_fault(c, XS_PF,
				 "XRSTOR: the area for RFBM %#llx needs %u bytes but the buffer has %zu (SDM 13.13)",
				 (unsigned long long)rfbm, need, len);
	/* MXCSR is loaded whenever RFBM[1] or RFBM[2] is set, whatever
	 * XSTATE_BV says (13.8.1). */
	if (rfbm & (XS_BIT(XS_C_SSE) | XS_BIT(XS_C_AVX))) {
		f = check_mxcsr(c, "XRSTOR", m, "13.8.1");
		if (f)
			return f;
	}
	load = rfbm & bv;
	init = rfbm & ~bv;
	if (load & xfd_armed(c))
		return xfd_fault(c, "XRSTOR", load);
	chk = c->model.impl.xrstor_load_checks_init && c->model.impl.xinuse_tracking;
	zero = load_legacy(c, m, load & XS_MASK_FPSSE, chk);
	if (init & XS_BIT(XS_C_X87))
		xsi_comp_init(c, XS_C_X87);
	if (init & XS_BIT(XS_C_SSE))
		xsi_comp_init(c, XS_C_SSE);
	if ((rfbm & (XS_BIT(XS_C_SSE) | XS_BIT(XS_C_AVX))) && (load & XS_MASK_FPSSE) != XS_MASK_FPSSE)
		st32(c->regs + LEG_MXCSR, ld32(m + LEG_MXCSR));
	for (rest = load & ~XS_MASK_FPSSE; rest; rest &= rest - 1) {
		unsigned i = lowest(rest);
		if (load_user(c, i, m + c->model.comp[i].offset, chk))
			zero |= XS_BIT(i);
	}
	for (rest = init & ~XS_MASK_FPSSE & xsi_init_may_write(c); rest; rest &= rest - 1)
		xsi_comp_init(c, lowest(rest));
	after_restore(c, m, rfbm, load, init, zero, 0);
	return XS_OK;
}

XS_HOT bool header_tail_nonzero(const uint8_t *m, unsigned *at)
{
	uint64_t any = 0;

	for (unsigned b = 16; b < XS_HDR_SIZE; b += 8)
		any |= ld64(m + XS_HDR_OFFSET + b);
	if (!any)
		return false;
	for (unsigned b = 16; b < XS_HDR_SIZE; b += 8)
		if (ld64(m + XS_HDR_OFFSET + b)) {
			*at = b;
			return true;
		}
	return false;
}

/* Compacted form of XRSTOR and XRSTORS, after the header checks that
 * differ between them (13.8.2, 13.12). */
XS_HOT enum xs_fault restore_compacted(struct xs_cpu *c, const char *insn, const uint8_t *m,
				       size_t len, uint64_t rfbm, uint64_t bv, uint64_t xcomp_bv,
				       bool sup)
{
	const uint32_t *off = xsi_compacted_offsets(c, xcomp_bv);
	uint64_t load, init, rest, zero, no_inuse = 0;
	bool chk;
	uint32_t need = compacted_end_of(c, off, rfbm & xcomp_bv);
	enum xs_fault f;

	if (len < need)
		return xsi_fault(c, XS_PF,
				 "%s: the area for XCOMP_BV %#llx needs %u bytes but the buffer has %zu (SDM 13.13)",
				 insn, (unsigned long long)xcomp_bv, need, len);
	/* TO_BE_RESTORED = RFBM & XCOMP_BV & XSTATE_BV (XSTATE_BV is a subset
	 * of XCOMP_BV here); everything else in RFBM is initialized, including
	 * components absent from XCOMP_BV (Vol. 2 XRSTOR pseudocode). */
	load = rfbm & bv;
	init = rfbm & ~load;
	/* MXCSR is loaded iff SSE is; an initialized SSE sets MXCSR to 1F80H. */
	if (load & XS_BIT(XS_C_SSE)) {
		f = check_mxcsr(c, insn, m, sup ? "13.12" : "13.8.2");
		if (f)
			return f;
	}
	if (sup) {
		for (rest = rfbm & XSI_SUP_PRECHECK_MASK; rest; rest &= rest - 1)
			if (!xsi_sup_precheck(c, lowest(rest)))
				return XS_GP;
		for (rest = load & ~c->user_mask; rest; rest &= rest - 1) {
			unsigned i = lowest(rest);
			if (!xsi_sup_check_image(c, i, m + off[i]))
				return XS_GP;
		}
	}
	if (load & xfd_armed(c))
		return xfd_fault(c, insn, load);
	chk = c->model.impl.xrstor_load_checks_init && c->model.impl.xinuse_tracking;
	zero = load_legacy(c, m, load & XS_MASK_FPSSE, chk);
	if (init & XS_BIT(XS_C_X87))
		xsi_comp_init(c, XS_C_X87);
	if ((load & XS_MASK_FPSSE) == XS_BIT(XS_C_SSE))
		st32(c->regs + LEG_MXCSR, ld32(m + LEG_MXCSR));
	else if (init & XS_BIT(XS_C_SSE)) {
		xsi_comp_init(c, XS_C_SSE);
		st32(c->regs + LEG_MXCSR, XS_MXCSR_DEFAULT);
	}
	/* Plain user components (no check, no PKRU/TILECFG rule) in runs of one
	 * memcpy each; load_user() would copy the same bytes one by one. */
	rest = load & c->user_mask & ~XS_MASK_FPSSE;
	if (!chk) {
		uint64_t plain = rest & ~(XS_BIT(XS_C_PKRU) | XS_BIT(XS_C_XTILECFG));

		rest &= ~plain;
		while (plain) {
			unsigned i = lowest(plain);
			uint32_t n = xsi_run_len(c, off, i, &plain);

			memcpy(creg(c, i), m + off[i], n);
		}
	}
	for (; rest; rest &= rest - 1) {
		unsigned i = lowest(rest);
		if (load_user(c, i, m + off[i], chk))
			zero |= XS_BIT(i);
	}
	for (rest = load & ~c->user_mask; rest; rest &= rest - 1) {
		unsigned i = lowest(rest);
		if (!xsi_sup_load(c, i, m + off[i]))
			no_inuse |= XS_BIT(i);
		else if (chk && xsi_comp_is_init(c, i))
			zero |= XS_BIT(i);
	}
	for (rest = init & ~XS_MASK_FPSSE & xsi_init_may_write(c); rest; rest &= rest - 1)
		xsi_comp_init(c, lowest(rest));
	after_restore(c, m, rfbm, load & ~no_inuse, init, zero, xcomp_bv);
	return XS_OK;
}

enum xs_fault xs_xrstor(struct xs_cpu *c, const void *mem, size_t len, uint64_t mask)
{
	const uint8_t *m = mem;
	uint64_t rfbm, bv, xcomp_bv;
	unsigned at;
	enum xs_fault f;

	f = xsi_xsave_prologue(c, "XRSTOR", true, "", false, mem);
	if (f)
		return f;
	if (len < XS_EXT_OFFSET)
		return header_too_small(c, "XRSTOR", len);
	bv = ld64(m + HDR_XSTATE_BV);
	xcomp_bv = ld64(m + HDR_XCOMP_BV);
	rfbm = c->st.xcr0 & mask; /* 13.8 */
	if (!(xcomp_bv & XS_COMPACTED_BIT))
		return restore_standard(c, m, len, rfbm, bv);

	/* Compacted form (13.8.2). */
	if (!c->model.has_xsavec)
		return xsi_fault(c, XS_GP,
				 "XRSTOR: XCOMP_BV[63] = 1 but the compacted form is not supported (CPUID.(0DH,1):EAX[1] = 0) (SDM 13.8)");
	if (xcomp_bv & ~XS_COMPACTED_BIT & ~c->st.xcr0) {
		unsigned i = lowest(xcomp_bv & ~XS_COMPACTED_BIT & ~c->st.xcr0);
		return xsi_fault(c, XS_GP, "XRSTOR: XCOMP_BV bit %u (%s) is not set in XCR0 %#llx (SDM 13.8.2)",
				 i, cname(i), (unsigned long long)c->st.xcr0);
	}
	if (bv & ~xcomp_bv) {
		unsigned i = lowest(bv & ~xcomp_bv);
		return xsi_fault(c, XS_GP, "XRSTOR: XSTATE_BV bit %u (%s) is not set in XCOMP_BV %#llx (SDM 13.8.2)",
				 i, cname(i), (unsigned long long)xcomp_bv);
	}
	if (header_tail_nonzero(m, &at))
		return xsi_fault(c, XS_GP,
				 "XRSTOR: header bytes 16-63 are not zero (bytes %u-%u hold %#llx) (SDM 13.8.2)",
				 at, at + 7, (unsigned long long)ld64(m + XS_HDR_OFFSET + at));
	return restore_compacted(c, "XRSTOR", m, len, rfbm, bv, xcomp_bv, false);
}

enum xs_fault xs_xrstors(struct xs_cpu *c, const void *mem, size_t len, uint64_t mask)
{
	const uint8_t *m = mem;
	uint64_t rfbm, bv, xcomp_bv, enabled;
	unsigned at;
	enum xs_fault f;

	f = xsi_xsave_prologue(c, "XRSTORS", c->model.has_xsaves, "CPUID.(0DH,1):EAX[3] (XSAVES)",
			       true, mem);
	if (f)
		return f;
	if (len < XS_EXT_OFFSET)
		return header_too_small(c, "XRSTORS", len);
	bv = ld64(m + HDR_XSTATE_BV);
	xcomp_bv = ld64(m + HDR_XCOMP_BV);
	enabled = c->st.xcr0 | c->st.xss;
	/* 13.12 */
	if (!(xcomp_bv & XS_COMPACTED_BIT))
		return xsi_fault(c, XS_GP,
				 "XRSTORS: XCOMP_BV[63] = 0; XRSTORS restores only the compacted format (SDM 13.12)");
	if (xcomp_bv & ~XS_COMPACTED_BIT & ~enabled) {
		unsigned i = lowest(xcomp_bv & ~XS_COMPACTED_BIT & ~enabled);
		return xsi_fault(c, XS_GP,
				 "XRSTORS: XCOMP_BV bit %u (%s) is not set in XCR0 | IA32_XSS %#llx (SDM 13.12)",
				 i, cname(i), (unsigned long long)enabled);
	}
	if (bv & ~xcomp_bv) {
		unsigned i = lowest(bv & ~xcomp_bv);
		return xsi_fault(c, XS_GP, "XRSTORS: XSTATE_BV bit %u (%s) is not set in XCOMP_BV %#llx (SDM 13.12)",
				 i, cname(i), (unsigned long long)xcomp_bv);
	}
	if (header_tail_nonzero(m, &at))
		return xsi_fault(c, XS_GP,
				 "XRSTORS: header bytes 16-63 are not zero (bytes %u-%u hold %#llx) (SDM 13.12)",
				 at, at + 7, (unsigned long long)ld64(m + XS_HDR_OFFSET + at));
	rfbm = enabled & mask;
	return restore_compacted(c, "XRSTORS", m, len, rfbm, bv, xcomp_bv, true);
}
