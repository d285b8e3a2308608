/* Named registers: the register accesses user (and kernel) code performs
 * between saves and restores. A name maps to byte ranges of component
 * images (a YMM register is XMM in SSE plus YMM_H in AVX); a write executes
 * as the instruction that writes the register would, faults included, and
 * marks the touched components in use and modified (SDM 13.6).
 *
 * Also here: the x87 field rules a load applies and the TILECFG check. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "arch/cpu_internal.h"

#define AVX_MASK (XS_BIT(XS_C_SSE) | XS_BIT(XS_C_AVX))
#define AVX512_XCR0 (AVX_MASK | XS_MASK_AVX512)

/* x87 fields after a load, as measured with XRSTOR64 + XSAVE64 on the
 * project's AMD host (the same rules Bochs applies): FCW keeps bits 12:8 and
 * 5:0 and reads bit 6 as 1; FSW.ES and FSW.B are recomputed from the
 * unmasked exception flags; FOP keeps 11 bits; FIP/FDP are sign-extended
 * from the linear-address width; reserved bytes (5, 10-15 of each ST slot)
 * read as zero. */
void xsi_x87_normalize(struct xs_cpu *c)
{
	uint8_t *r = c->regs;
	uint16_t fcw = (uint16_t)((ld16(r + LEG_FCW) & 0x1F3Fu) | 0x0040u);
	uint16_t fsw = ld16(r + LEG_FSW);

	if (fsw & ~fcw & 0x3Fu)
		fsw |= FSW_ES | FSW_B;
	else
		fsw &= (uint16_t)~(FSW_ES | FSW_B);
	st16(r + LEG_FCW, fcw);
	st16(r + LEG_FSW, fsw);
	r[LEG_FTW + 1] = 0;
	st16(r + LEG_FOP, ld16(r + LEG_FOP) & 0x7FFu);
	st64(r + LEG_FIP, canonicalize(c, ld64(r + LEG_FIP)));
	st64(r + LEG_FDP, canonicalize(c, ld64(r + LEG_FDP)));
	for (unsigned j = 0; j < 8; j++) {
		st16(r + LEG_ST + 16 * j + 10, 0);
		st32(r + LEG_ST + 16 * j + 12, 0);
	}
}

/* The image's ST slots are in stack order: slot j holds ST(j), physical
 * register (TOP + j) mod 8 (the abridged tag byte is indexed by physical
 * register). An instruction that changes TOP without moving data (FNINIT,
 * FLDENV-style FSW writes) keeps the physical registers, so the slots
 * rotate: new slot j = old slot (j + new - old) mod 8. Seen on the host:
 * XRSTOR of an image with TOP = 7 then FNINIT shows old slot 1 in slot 0. */
void xsi_x87_set_top(struct xs_cpu *c, unsigned old_top, unsigned new_top)
{
	uint8_t *st = c->regs + LEG_ST, tmp[128];
	uint16_t fsw = ld16(c->regs + LEG_FSW);

	if (old_top != new_top) {
		memcpy(tmp, st, sizeof(tmp));
		for (unsigned j = 0; j < 8; j++)
			memcpy(st + 16 * j, tmp + 16 * ((j + new_top - old_top) & 7), 16);
	}
	st16(c->regs + LEG_FSW, (uint16_t)((fsw & ~0x3800u) | (new_top << 11)));
}

/* A TILECFG that LDTILECFG accepts with palette 1 (SDM Vol. 2 LDTILECFG):
 * 8 tiles of at most 16 rows of 64 bytes, bytes 2-15 reserved, entries of
 * tiles 8-15 zero. Palette 0 means "no configuration" (the initial state). */
const char *xsi_tilecfg_invalid(const uint8_t *cfg)
{
	if (cfg[0] != 1)
		return cfg[0] ? "palette_id is not 0 or 1" : "palette_id is 0 (tiles not configured)";
	for (unsigned b = 2; b < 16; b++)
		if (cfg[b])
			return "reserved bytes 2-15 are not zero";
	for (unsigned t = 0; t < 16; t++) {
		uint16_t colsb = ld16(cfg + 16 + 2 * t);
		uint8_t rows = cfg[48 + t];

		if (t >= 8 && (colsb || rows))
			return "a tile beyond palette 1's eight is configured";
		if (rows > 16)
			return "a tile has more than 16 rows";
		if (colsb > 64)
			return "a tile has more than 64 bytes per row";
	}
	return NULL;
}

/* What kind of instruction accesses a register. */
enum reg_class {
	RC_BAD,
	RC_X87,      /* FLDCW, FLD, ...: #NM on CR0.TS */
	RC_MXCSR,    /* LDMXCSR / STMXCSR */
	RC_SSE,      /* legacy SSE: no XCR0 requirement */
	RC_AVX,      /* VEX: XCR0[2:1] = 11b */
	RC_AVX512,   /* EVEX / opmask: XCR0[7:5] = 111b and XCR0[2:1] = 11b */
	RC_MPX,      /* NOPs unless XCR0[4:3] = 11b */
	RC_PKRU,     /* RDPKRU / WRPKRU: CR4.PKE */
	RC_TILECFG,  /* LDTILECFG / STTILECFG */
	RC_TILE,     /* TILELOADD / TILESTORED */
	RC_APX,      /* EGPRs: XCR0[19] */
	RC_MSR,      /* RDMSR / WRMSR: CPL 0 */
};

XS_HOT enum reg_class reg_class(const struct xs_reg *r)
{
	if (r->supervisor)
		return RC_MSR;
	switch (r->part[0].comp) {
	case XS_C_X87: return RC_X87;
	case XS_C_SSE:
		if (r->part[0].off == LEG_MXCSR)
			return RC_MXCSR;
		if (r->nparts == 1)
			return RC_SSE;
		return r->nparts == 2 ? RC_AVX : RC_AVX512;
	case XS_C_OPMASK:
	case XS_C_HI16_ZMM: return RC_AVX512;
	case XS_C_BNDREGS:
	case XS_C_BNDCSR: return RC_MPX;
	case XS_C_PKRU: return RC_PKRU;
	case XS_C_XTILECFG: return RC_TILECFG;
	case XS_C_XTILEDATA: return RC_TILE;
	case XS_C_APX: return RC_APX;
	}
	return RC_BAD;
}

XS_HOT uint64_t reg_comps(const struct xs_reg *r)
{
	uint64_t m = 0;

	for (unsigned k = 0; k < r->nparts && k < 3; k++)
		m |= XS_BIT(r->part[k].comp);
	return m;
}

/* Register descriptions come from xs_reg_lookup, but they are plain structs:
 * check that they fit this CPU before using them. When they do, *comps is
 * the set of components they span (reg_comps(), in the same pass). */
XS_HOT bool reg_fits_comps(const struct xs_cpu *c, const struct xs_reg *r, uint64_t *comps)
{
	unsigned total = 0, n = r->nparts;
	uint64_t m = 0;

	if (n == 0 || n > 3)
		return false;
	for (unsigned k = 0; k < n; k++) {
		unsigned comp = r->part[k].comp;

		if (comp >= 63)
			return false;
		if (!(c->present & XS_BIT(comp)) ||
		    (uint32_t)r->part[k].off + r->part[k].len >
			    (comp < 2 ? XS_LEGACY_SIZE : c->rsize[comp]))
			return false;
		m |= XS_BIT(comp);
		total += r->part[k].len;
	}
	*comps = m;
	return total == r->size;
}

XS_HOT bool reg_fits(const struct xs_cpu *c, const struct xs_reg *r)
{
	uint64_t comps;

	return reg_fits_comps(c, r, &comps);
}

static bool mpx_enabled(const struct xs_cpu *c)
{
	return c->st.cr4_osxsave && (c->st.xcr0 & XS_MASK_MPX) == XS_MASK_MPX;
}

/* The faults of the instruction that accesses r (of class k), checked in
 * the SDM's order (#UD, then #NM for CR0.TS, then #NM for XFD). MPX accesses
 * when MPX is not enabled are NOPs: *nop is set and XS_OK returned. *comps:
 * the components r spans (valid when the result is XS_OK). */
XS_HOT enum xs_fault access_check(struct xs_cpu *c, const struct xs_reg *r, enum reg_class k,
				  uint64_t *comps_out, bool write, bool *nop)
{
	const char *op = write ? "write" : "read";
	uint64_t armed, comps = 0;
	bool ts = false;

	*nop = false;
	if (k == RC_BAD || !reg_fits_comps(c, r, &comps))
		return xsi_fault(c, XS_UD, "%s %s: not a register of model %s", op, r->name,
				 c->model.name);
	*comps_out = comps;
	switch (k) {
	case RC_X87:
	case RC_MXCSR:
	case RC_SSE:
		ts = true;
		break;
	case RC_AVX:
		if (!c->st.cr4_osxsave || (c->st.xcr0 & AVX_MASK) != AVX_MASK)
			return xsi_fault(c, XS_UD, "%s %s: AVX needs CR4.OSXSAVE = 1 and XCR0[2:1] = 11b (SDM 13.3)",
					 op, r->name);
		ts = true;
		break;
	case RC_AVX512:
		if (!c->st.cr4_osxsave || (c->st.xcr0 & AVX512_XCR0) != AVX512_XCR0)
			return xsi_fault(c, XS_UD,
					 "%s %s: AVX-512 needs CR4.OSXSAVE = 1, XCR0[7:5] = 111b and XCR0[2:1] = 11b (SDM 13.3)",
					 op, r->name);
		ts = true;
		break;
	case RC_MPX:
		if (!mpx_enabled(c)) {
			*nop = true; /* MPX instructions execute as NOPs (13.3) */
			return XS_OK;
		}
		break;
	case RC_PKRU:
		if (!c->st.cr4_pke)
			return xsi_fault(c, XS_UD, "%s %s: CR4.PKE = 0 (SDM Vol. 2 %s)", op, r->name,
					 write ? "WRPKRU" : "RDPKRU");
		break;
	case RC_TILECFG:
	case RC_TILE:
		if (!c->st.cr4_osxsave || (c->st.xcr0 & XS_MASK_AMX) != XS_MASK_AMX)
			return xsi_fault(c, XS_UD, "%s %s: AMX needs CR4.OSXSAVE = 1 and XCR0[18:17] = 11b (SDM 13.3)",
					 op, r->name);
		if (k == RC_TILE && ccreg(c, XS_C_XTILECFG)[0] == 0)
			return xsi_fault(c, XS_UD, "%s %s: tiles are not configured (TILECFG palette 0) (SDM Vol. 2 TILELOADD)",
					 op, r->name);
		/* LDTILECFG and STTILECFG do not access TILEDATA: no XFD #NM (13.14). */
		if (k == RC_TILECFG)
			comps = 0;
		break;
	case RC_APX:
		if (!c->st.cr4_osxsave || !(c->st.xcr0 & XS_BIT(XS_C_APX)))
			return xsi_fault(c, XS_UD, "%s %s: APX needs CR4.OSXSAVE = 1 and XCR0[19] = 1", op,
					 r->name);
		break;
	case RC_MSR:
		if (c->st.cpl != 0)
			return xsi_fault(c, XS_GP, "%s %s: %s at CPL %u > 0 (SDM Vol. 2 %s)", op, r->name,
					 write ? "WRMSR" : "RDMSR", c->st.cpl, write ? "WRMSR" : "RDMSR");
		return XS_OK;
	case RC_BAD:
		break;
	}
	if (ts && c->st.cr0_ts)
		return xsi_fault(c, XS_NM, "%s %s: CR0.TS = 1 (SDM Vol. 3 2.5)", op, r->name);
	armed = comps & xfd_armed(c);
	if (armed) {
		/* IA32_XFD_ERR := IA32_XFD & the components the instruction needs (13.14). */
		c->st.xfd_err = c->st.xfd & comps;
		return xsi_fault(c, XS_NM, "%s %s: XFD is armed for %s; IA32_XFD_ERR := %#" PRIx64 " (SDM 13.14)",
				 op, r->name, xs_comp_name((unsigned)__builtin_ctzll(armed)), c->st.xfd_err);
	}
	return XS_OK;
}

/* memcpy of one register part: the usual lengths as constants, which the
 * compiler turns into a few moves instead of a library call. */
static inline void part_copy(uint8_t *dst, const uint8_t *src, unsigned len)
{
	switch (len) {
	case 8: memcpy(dst, src, 8); break;
	case 16: memcpy(dst, src, 16); break;
	case 32: memcpy(dst, src, 32); break;
	case 64: memcpy(dst, src, 64); break;
	default: memcpy(dst, src, len); break;
	}
}

XS_HOT void copy_in(struct xs_cpu *c, const struct xs_reg *r, const uint8_t *v)
{
	for (unsigned k = 0; k < r->nparts; k++) {
		part_copy(creg(c, r->part[k].comp) + r->part[k].off, v, r->part[k].len);
		v += r->part[k].len;
	}
}

void xs_reg_peek(const struct xs_cpu *c, const struct xs_reg *r, void *val)
{
	uint8_t *v = val;

	if (!reg_fits(c, r)) {
		memset(val, 0, r->size);
		return;
	}
	for (unsigned k = 0; k < r->nparts; k++) {
		part_copy(v, ccreg(c, r->part[k].comp) + r->part[k].off, r->part[k].len);
		v += r->part[k].len;
	}
}

/* WRMSR of the MSR that holds a supervisor register (uinv is a byte of
 * IA32_UINTR_MISC). */
static enum xs_fault msr_reg_write(struct xs_cpu *c, const struct xs_reg *r, const uint8_t *v)
{
	unsigned comp = r->part[0].comp, off = r->part[0].off;
	long msr = xsi_msr_at(c, comp, off);
	unsigned base = off & ~7u;
	uint64_t old, nv;

	if (msr < 0 || off + r->part[0].len > base + 8)
		return xsi_fault(c, XS_UD, "write %s: no MSR holds it", r->name);
	old = xsi_msr_load(c, (uint32_t)msr);
	nv = old;
	memcpy((uint8_t *)&nv + (off - base), v, r->part[0].len);
	if (!xsi_msr_value_ok(c, "WRMSR", (uint32_t)msr, nv, old))
		return XS_GP;
	xsi_msr_store(c, (uint32_t)msr, nv);
	touch(c, XS_BIT(comp));
	return XS_OK;
}

enum xs_fault xs_reg_write(struct xs_cpu *c, const struct xs_reg *r, const void *val)
{
	enum reg_class k = reg_class(r);
	uint64_t comps = 0;
	const uint8_t *v = val;
	bool nop;
	enum xs_fault f = access_check(c, r, k, &comps, true, &nop);
	const char *why;

	if (f || nop)
		return f;
	switch (k) {
	case RC_MSR:
		return msr_reg_write(c, r, v);
	case RC_MXCSR:
		return xs_ldmxcsr(c, ld32(v));
	case RC_TILECFG:
		/* LDTILECFG: #GP on a bad configuration; palette 0 returns both
		 * AMX components to their initial state; otherwise the tiles are
		 * zeroed (SDM Vol. 2 LDTILECFG). */
		if (v[0] == 0) {
			xsi_comp_init(c, XS_C_XTILECFG);
			xsi_comp_init(c, XS_C_XTILEDATA);
			became_init(c, XS_MASK_AMX);
			return XS_OK;
		}
		why = xsi_tilecfg_invalid(v);
		if (why)
			return xsi_fault(c, XS_GP, "write %s (LDTILECFG): %s (SDM Vol. 2 LDTILECFG)", r->name, why);
		memcpy(creg(c, XS_C_XTILECFG), v, 64);
		touch(c, XS_BIT(XS_C_XTILECFG));
		xsi_comp_init(c, XS_C_XTILEDATA);
		became_init(c, XS_BIT(XS_C_XTILEDATA));
		return XS_OK;
	case RC_PKRU:
		return xs_wrpkru(c, ld32(v));
	default:
		break;
	}
	if (k == RC_X87) {
		/* A new TOP in FSW (FLDENV) leaves the physical registers where
		 * they are. */
		unsigned old_top = (ld16(c->regs + LEG_FSW) >> 11) & 7, new_top;
		copy_in(c, r, v);
		new_top = (ld16(c->regs + LEG_FSW) >> 11) & 7;
		if (new_top != old_top)
			xsi_x87_set_top(c, old_top, new_top);
		xsi_x87_normalize(c);
		touch_x87(c);
		return XS_OK;
	}
	copy_in(c, r, v);
	touch(c, comps);
	return XS_OK;
}

enum xs_fault xs_reg_read(struct xs_cpu *c, const struct xs_reg *r, void *val)
{
	bool nop;
	uint64_t comps = 0;
	enum xs_fault f = access_check(c, r, reg_class(r), &comps, false, &nop);

	if (f)
		return f;
	if (nop) {
		memset(val, 0, r->size);
		return XS_OK;
	}
	if (r->supervisor) {
		unsigned comp = r->part[0].comp, off = r->part[0].off, base = off & ~7u;
		long msr = xsi_msr_at(c, comp, off);
		uint64_t v;

		if (msr < 0 || off + r->part[0].len > base + 8)
			return xsi_fault(c, XS_UD, "read %s: no MSR holds it", r->name);
		v = xsi_msr_load(c, (uint32_t)msr);
		memcpy(val, (uint8_t *)&v + (off - base), r->part[0].len);
		return XS_OK;
	}
	xs_reg_peek(c, r, val);
	return XS_OK;
}

/* Name table. */
static void part(struct xs_reg *r, unsigned comp, unsigned off, unsigned len)
{
	r->part[r->nparts].comp = (uint8_t)comp;
	r->part[r->nparts].off = (uint16_t)off;
	r->part[r->nparts].len = (uint16_t)len;
	r->nparts++;
	r->size = (uint16_t)(r->size + len);
}

static const struct fixed_reg {
	const char *name;
	uint8_t comp;
	uint16_t off, len;
	bool supervisor;
} fixed[] = {
	{ "fcw", XS_C_X87, LEG_FCW, 2, false },
	{ "fsw", XS_C_X87, LEG_FSW, 2, false },
	{ "ftw", XS_C_X87, LEG_FTW, 1, false },
	{ "fop", XS_C_X87, LEG_FOP, 2, false },
	{ "fip", XS_C_X87, LEG_FIP, 8, false },
	{ "fdp", XS_C_X87, LEG_FDP, 8, false },
	{ "mxcsr", XS_C_SSE, LEG_MXCSR, 4, false },
	{ "bndcfgu", XS_C_BNDCSR, 0, 8, false },
	{ "bndstatus", XS_C_BNDCSR, 8, 8, false },
	{ "pkru", XS_C_PKRU, 0, 4, false },
	{ "tilecfg", XS_C_XTILECFG, 0, 64, false },
	{ "u_cet", XS_C_CET_U, 0, 8, true },
	{ "pl3_ssp", XS_C_CET_U, 8, 8, true },
	{ "pl0_ssp", XS_C_CET_S, 0, 8, true },
	{ "pl1_ssp", XS_C_CET_S, 8, 8, true },
	{ "pl2_ssp", XS_C_CET_S, 16, 8, true },
	{ "pasid", XS_C_PASID, 0, 8, true },
	{ "uintr_handler", XS_C_UINTR, 0, 8, true },
	{ "uintr_stackadjust", XS_C_UINTR, 8, 8, true },
	{ "uintr_misc", XS_C_UINTR, 16, 8, true },
	{ "uinv", XS_C_UINTR, 20, 1, true },
	{ "uintr_pd", XS_C_UINTR, 24, 8, true },
	{ "uintr_rr", XS_C_UINTR, 32, 8, true },
	{ "uintr_tt", XS_C_UINTR, 40, 8, true },
	{ "rtit_ctl", XS_C_PT, 0, 8, true },
	{ "lbr_ctl", XS_C_LBR, 0, 8, true },
	{ "lbr_depth", XS_C_LBR, 8, 8, true },
	{ "hwp_request", XS_C_HWP, 0, 8, true },
	{ "pm_ctl1", XS_C_HDC, 0, 8, true },
};

/* "xmm12" -> 12 for prefix "xmm"; -1 if name is not prefix + decimal. */
static int indexed(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long v;

	if (strncasecmp(name, prefix, n) || !isdigit((unsigned char)name[n]))
		return -1;
	if (name[n] == '0' && name[n + 1])
		return -1; /* no leading zeros: "xmm01" */
	v = strtol(name + n, &end, 10);
	if (*end || v > 99)
		return -1;
	return (int)v;
}

static bool has(const struct xs_model *m, uint64_t mask)
{
	uint64_t all = m->xcr0_supported | m->xss_supported;

	for (uint64_t b = mask; b; b &= b - 1) {
		unsigned i = (unsigned)__builtin_ctzll(b);
		if (!(all & XS_BIT(i)) || (i >= 2 && m->comp[i].size == 0))
			return false;
	}
	return true;
}

int xs_reg_lookup(const struct xs_model *m, const char *name, struct xs_reg *out)
{
	struct xs_reg r;
	int n;

	if (!name || strlen(name) >= sizeof(r.name))
		return -1;
	memset(&r, 0, sizeof(r));
	for (size_t k = 0; name[k]; k++)
		r.name[k] = (char)tolower((unsigned char)name[k]);

	if ((n = indexed(name, "xmm")) >= 0 && n < 16) {
		part(&r, XS_C_SSE, LEG_XMM + 16 * n, 16);
	} else if ((n = indexed(name, "ymm")) >= 0 && n < 16) {
		part(&r, XS_C_SSE, LEG_XMM + 16 * n, 16);
		part(&r, XS_C_AVX, 16 * n, 16);
	} else if ((n = indexed(name, "zmm")) >= 0 && n < 32) {
		if (n < 16) {
			part(&r, XS_C_SSE, LEG_XMM + 16 * n, 16);
			part(&r, XS_C_AVX, 16 * n, 16);
			part(&r, XS_C_ZMM_HI256, 32 * n, 32);
		} else {
			part(&r, XS_C_HI16_ZMM, 64 * (n - 16), 64);
		}
	} else if ((n = indexed(name, "k")) >= 0 && n < 8) {
		part(&r, XS_C_OPMASK, 8 * n, 8);
	} else if ((n = indexed(name, "st")) >= 0 && n < 8) {
		part(&r, XS_C_X87, LEG_ST + 16 * n, 10);
	} else if ((n = indexed(name, "tmm")) >= 0 && n < 8) {
		part(&r, XS_C_XTILEDATA, 1024 * n, 1024);
	} else if ((n = indexed(name, "bnd")) >= 0 && n < 4) {
		part(&r, XS_C_BNDREGS, 16 * n, 16);
	} else if ((n = indexed(name, "r")) >= 16 && n < 32) {
		part(&r, XS_C_APX, 8 * (n - 16), 8);
	} else {
		const struct fixed_reg *f = NULL;

		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			if (!strcasecmp(name, fixed[k].name))
				f = &fixed[k];
		if (!f)
			return -1;
		part(&r, f->comp, f->off, f->len);
		r.supervisor = f->supervisor;
	}
	if (!has(m, reg_comps(&r)))
		return -1;
	for (unsigned k = 0; k < r.nparts; k++)
		if (r.part[k].comp >= 2 &&
		    (uint32_t)r.part[k].off + r.part[k].len > m->comp[r.part[k].comp].size)
			return -1;
	*out = r;
	return 0;
}
