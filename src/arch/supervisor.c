/* Supervisor state components and their MSRs (SDM Vol. 1 13.5.6-13.5.13,
 * the CET/UINTR/LBR/HWP/HDC chapters of Vol. 3, and the ISE for UINTR).
 *
 * One place holds the value rules of each MSR; WRMSR applies them to the
 * value written and XRSTORS to every MSR of an image it loads (13.12: "#GP if
 * a value would be unsupported, or a reserved portion of the image is not
 * zero"). The per-component side effects of XSAVES/XRSTORS live here too.
 */
#include <inttypes.h>

#include "arch/cpu_internal.h"

/* IA32_U_CET / IA32_S_CET (Vol. 1 17.2 "CET MSRs"). */
#define CET_SH_STK_EN 0x1ULL
#define CET_WR_SHSTK_EN 0x2ULL
#define CET_IBT_LOW 0x3CULL        /* ENDBR_EN, LEG_IW_EN, NO_TRACK_EN, SUPPRESS_DIS */
#define CET_RESERVED 0x3C0ULL      /* bits 9:6 */
#define CET_SUPPRESS 0x400ULL      /* bit 10 */
#define CET_WAIT_ENDBR 0x800ULL    /* bit 11: TRACKER = WAIT_FOR_ENDBRANCH */
#define CET_LEG_BITMAP ~0xFFFULL   /* bits 63:12 */

/* IA32_RTIT_CTL bits defined by the SDM (Vol. 3 33.2.8.2): 17:0, 22:19,
 * 27:24, 47:32 (ADDRn_CFG), 55 (InjectPsbPmiOnEnable). */
#define RTIT_CTL_VALID 0x0080FFFF0F7BFFFFULL
#define RTIT_TRACEEN 0x1ULL
#define PT_USED 72u                /* nine MSRs (13.5.6) */

#define PASID_VALID 0x800FFFFFULL  /* bits 19:0 PASID, 31 valid */
#define PM_CTL1_VALID 0x1ULL       /* HDC_Allow_Block */
/* IA32_HWP_REQUEST: 41:0 fields, 42 package control, 63:59 valid bits. */
#define HWP_REQ_VALID 0xF80007FFFFFFFFFFULL
/* IA32_LBR_CTL: LBREn, OS, USR, CALL_STACK, branch-type filters 22:16
 * (the mask KVM uses for arch LBR). */
#define LBR_CTL_VALID 0x7F000FULL
#define LBR_DEPTH_RESERVED ~0xFFULL
#define LBR_SINGLETONS 40u         /* CTL, DEPTH, LER_FROM, LER_TO, LER_INFO */
#define LBR_RECORD 24u             /* FROM, TO, INFO */

/* UINTR image (13.5.11): HANDLER 0, STACKADJUST 8, MISC 16 (UITTSZ 31:0,
 * UINV 39:32, UIF bit 63), PD 24, RR 32, TT 40. */
#define UINTR_MISC_UIF (1ULL << 63)
#define UINTR_MISC_RSVD_MSR 0xFFFFFF0000000000ULL   /* 63:40 through WRMSR */
#define UINTR_MISC_RSVD_IMG 0x7FFFFF0000000000ULL   /* 62:40 in the image */
#define UINTR_UINV_BYTE 20u
#define UINTR_USED 48u

static const struct msr_slot {
	uint32_t msr;
	uint8_t comp;
	uint16_t off;
} slots[] = {
	{ XS_MSR_RTIT_CTL, XS_C_PT, 0 },
	{ XS_MSR_PASID, XS_C_PASID, 0 },
	{ XS_MSR_U_CET, XS_C_CET_U, 0 },
	{ XS_MSR_PL3_SSP, XS_C_CET_U, 8 },
	{ XS_MSR_PL0_SSP, XS_C_CET_S, 0 },
	{ XS_MSR_PL1_SSP, XS_C_CET_S, 8 },
	{ XS_MSR_PL2_SSP, XS_C_CET_S, 16 },
	{ XS_MSR_PM_CTL1, XS_C_HDC, 0 },
	{ XS_MSR_UINTR_HANDLER, XS_C_UINTR, 0 },
	{ XS_MSR_UINTR_STACKADJUST, XS_C_UINTR, 8 },
	{ XS_MSR_UINTR_MISC, XS_C_UINTR, 16 },
	{ XS_MSR_UINTR_PD, XS_C_UINTR, 24 },
	{ XS_MSR_UINTR_RR, XS_C_UINTR, 32 },
	{ XS_MSR_UINTR_TT, XS_C_UINTR, 40 },
	{ XS_MSR_LBR_CTL, XS_C_LBR, 0 },
	{ XS_MSR_LBR_DEPTH, XS_C_LBR, 8 },
	{ XS_MSR_HWP_REQUEST, XS_C_HWP, 0 },
};

int xsi_msr_slot(const struct xs_cpu *c, uint32_t msr, unsigned *comp, unsigned *off)
{
	for (size_t k = 0; k < sizeof(slots) / sizeof(slots[0]); k++) {
		if (slots[k].msr != msr)
			continue;
		if (!(c->present & XS_BIT(slots[k].comp)) ||
		    c->rsize[slots[k].comp] < slots[k].off + 8u)
			return -1;
		*comp = slots[k].comp;
		*off = slots[k].off;
		return 0;
	}
	return -1;
}

long xsi_msr_at(const struct xs_cpu *c, unsigned comp, unsigned off)
{
	for (size_t k = 0; k < sizeof(slots) / sizeof(slots[0]); k++)
		if (slots[k].comp == comp && off >= slots[k].off && off < slots[k].off + 8u)
			return (c->present & XS_BIT(comp)) ? (long)slots[k].msr : -1;
	return -1;
}

static const char *mname(uint32_t msr)
{
	const char *n = xs_msr_name(msr);
	return n ? n : "MSR";
}

/* One rule broken: record it and return false. */
__attribute__((format(printf, 3, 4)))
static bool bad(struct xs_cpu *c, const char *insn, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	xsi_fault(c, XS_GP, "%s: %s", insn, what);
	return false;
}

static bool cet_ctl_ok(struct xs_cpu *c, const char *insn, uint32_t msr, uint64_t v)
{
	const struct xs_features *ft = &c->model.feat;

	if (v & CET_RESERVED)
		return bad(c, insn, "%s = %#" PRIx64 " sets reserved bits 9:6 (SDM Vol. 1 17.2.3)",
			   mname(msr), v);
	if ((v & CET_SUPPRESS) && (v & CET_WAIT_ENDBR))
		return bad(c, insn, "%s = %#" PRIx64 " sets SUPPRESS with TRACKER = WAIT_FOR_ENDBRANCH (SDM Vol. 1 17.2.3)",
			   mname(msr), v);
	if (!canonical(c, v & CET_LEG_BITMAP))
		return bad(c, insn, "%s = %#" PRIx64 ": EB_LEG_BITMAP_BASE (bits 63:12) is not canonical (SDM Vol. 1 17.2.3)",
			   mname(msr), v);
	if (!ft->shstk && (v & (CET_SH_STK_EN | CET_WR_SHSTK_EN)))
		return bad(c, insn, "%s = %#" PRIx64 " enables shadow stacks, which CPUID.(07H,0):ECX.CET_SS does not enumerate (SDM Vol. 1 17.2.3)",
			   mname(msr), v);
	if (!ft->ibt && (v & (CET_IBT_LOW | CET_SUPPRESS | CET_WAIT_ENDBR | CET_LEG_BITMAP)))
		return bad(c, insn, "%s = %#" PRIx64 " sets indirect-branch-tracking bits, which CPUID.(07H,0):EDX.CET_IBT does not enumerate (SDM Vol. 1 17.2.3)",
			   mname(msr), v);
	return true;
}

static bool canon_ok(struct xs_cpu *c, const char *insn, uint32_t msr, uint64_t v)
{
	if (!canonical(c, v))
		return bad(c, insn, "%s = %#" PRIx64 " is not canonical (%u-bit linear addresses)",
			   mname(msr), v, c->canon_bits);
	return true;
}

/* The value rules shared by WRMSR and XRSTORS. old is the current value
 * (only RTIT_CTL's TraceEn rule needs it; XRSTORS passes the value itself). */
static bool value_ok(struct xs_cpu *c, const char *insn, uint32_t msr, uint64_t v, bool image)
{
	switch (msr) {
	case XS_MSR_U_CET:
	case XS_MSR_S_CET:
		return cet_ctl_ok(c, insn, msr, v);
	case XS_MSR_PL0_SSP:
	case XS_MSR_PL1_SSP:
	case XS_MSR_PL2_SSP:
	case XS_MSR_PL3_SSP:
		if (!canon_ok(c, insn, msr, v))
			return false;
		/* KVM __kvm_set_msr: "All SSP MSRs except MSR_IA32_INT_SSP_TAB
		 * must be 4-byte aligned" (spec 11.6, unverified in the SDM). */
		if (v & 3)
			return bad(c, insn, "%s = %#" PRIx64 " is not 4-byte aligned (SDM Vol. 1 17.2.3)",
				   mname(msr), v);
		return true;
	case XS_MSR_PASID:
		if (v & ~PASID_VALID)
			return bad(c, insn, "IA32_PASID = %#" PRIx64 " sets reserved bits (valid: 31, 19:0) (SDM 13.5.8)", v);
		return true;
	case XS_MSR_PM_CTL1:
		if (v & ~PM_CTL1_VALID)
			return bad(c, insn, "IA32_PM_CTL1 = %#" PRIx64 " sets reserved bits (valid: bit 0) (SDM 13.5.10)", v);
		return true;
	case XS_MSR_HWP_REQUEST:
		if (v & ~HWP_REQ_VALID)
			return bad(c, insn, "IA32_HWP_REQUEST = %#" PRIx64 " sets reserved bits 58:43 (SDM 13.5.13)", v);
		return true;
	case XS_MSR_RTIT_CTL:
		if (v & ~RTIT_CTL_VALID)
			return bad(c, insn, "IA32_RTIT_CTL = %#" PRIx64 " sets reserved bits (%#" "llx) (SDM 13.5.6, Vol. 3 33.2.8.2)",
				   v, v & ~RTIT_CTL_VALID);
		return true;
	case XS_MSR_LBR_CTL:
		if (v & ~LBR_CTL_VALID)
			return bad(c, insn, "IA32_LBR_CTL = %#" PRIx64 " sets reserved bits (valid: %#llx) (SDM 13.5.12)",
				   v, (unsigned long long)LBR_CTL_VALID);
		return true;
	case XS_MSR_LBR_DEPTH:
		if (v & LBR_DEPTH_RESERVED)
			return bad(c, insn, "IA32_LBR_DEPTH = %#" PRIx64 " sets reserved bits 63:8 (SDM 13.5.12)", v);
		/* WRMSR takes only a supported depth; XRSTORS with another
		 * value takes the depth-mismatch path (13.5.12). */
		if (!image && (v == 0 || v % 8 || v > c->lbr_max_depth))
			return bad(c, insn, "IA32_LBR_DEPTH = %" PRIu64 " is not a supported depth (multiples of 8 up to %u) (SDM 13.5.12)",
				   v, c->lbr_max_depth);
		return true;
	case XS_MSR_UINTR_HANDLER:
	case XS_MSR_UINTR_STACKADJUST:
		return canon_ok(c, insn, msr, v);
	case XS_MSR_UINTR_MISC:
		if (v & (image ? UINTR_MISC_RSVD_IMG : UINTR_MISC_RSVD_MSR))
			return bad(c, insn, "IA32_UINTR_MISC = %#" PRIx64 " sets reserved bits %s (ISE UINTR)",
				   v, image ? "62:40" : "63:40");
		return true;
	case XS_MSR_UINTR_PD:
		if (v & 0x3F)
			return bad(c, insn, "IA32_UINTR_PD = %#" PRIx64 " sets reserved bits 5:0 (ISE UINTR)", v);
		return canon_ok(c, insn, msr, v);
	case XS_MSR_UINTR_TT:
		if (v & 0xE)
			return bad(c, insn, "IA32_UINTR_TT = %#" PRIx64 " sets reserved bits 3:1 (ISE UINTR)", v);
		return canon_ok(c, insn, msr, v);
	case XS_MSR_UINTR_RR:
		return true;
	}
	return true;
}

bool xsi_msr_value_ok(struct xs_cpu *c, const char *insn, uint32_t msr, uint64_t val,
		      uint64_t old)
{
	if (!value_ok(c, insn, msr, val, false))
		return false;
	/* While TraceEn = 1 only TraceEn itself may change (Vol. 3 33.2.8.2). */
	if (msr == XS_MSR_RTIT_CTL && (old & RTIT_TRACEEN) && ((old ^ val) & ~RTIT_TRACEEN))
		return bad(c, insn, "IA32_RTIT_CTL: bits other than TraceEn change while TraceEn = 1 (SDM Vol. 3 33.2.8.2)");
	return true;
}

uint64_t xsi_msr_load(const struct xs_cpu *c, uint32_t msr)
{
	unsigned comp, off;
	uint64_t v;

	if (msr == XS_MSR_S_CET)
		return c->st.s_cet;
	if (xsi_msr_slot(c, msr, &comp, &off))
		return 0;
	v = ld64(ccreg(c, comp) + off);
	/* UIF sits in bit 63 of the image's MISC qword; the MSR has none. */
	if (msr == XS_MSR_UINTR_MISC)
		v &= ~UINTR_MISC_UIF;
	return v;
}

void xsi_msr_store(struct xs_cpu *c, uint32_t msr, uint64_t val)
{
	unsigned comp, off;
	uint8_t *r;

	if (msr == XS_MSR_S_CET) {
		c->st.s_cet = val;
		return;
	}
	if (xsi_msr_slot(c, msr, &comp, &off))
		return;
	r = creg(c, comp);
	switch (msr) {
	case XS_MSR_UINTR_MISC:
		val |= ld64(r + off) & UINTR_MISC_UIF;
		break;
	case XS_MSR_LBR_DEPTH:
		/* A write to IA32_LBR_DEPTH resets every LBR record to 0
		 * (arch LBR; KVM's arch-LBR series relies on it). */
		memset(r + LBR_SINGLETONS, 0, c->rsize[comp] - LBR_SINGLETONS);
		break;
	}
	st64(r + off, val);
}

/* Bytes of a component image past the architecturally used ones must be
 * zero for XRSTORS (13.12). */
static bool tail_zero(struct xs_cpu *c, unsigned i, const uint8_t *img, uint32_t used)
{
	for (uint32_t b = used; b < c->rsize[i]; b++)
		if (img[b])
			return bad(c, "XRSTORS", "%s image byte %u (reserved) is %#x, not zero (SDM 13.12)",
				   xs_comp_name(i), b, img[b]);
	return true;
}

static bool image_msrs_ok(struct xs_cpu *c, unsigned i, const uint8_t *img)
{
	for (size_t k = 0; k < sizeof(slots) / sizeof(slots[0]); k++)
		if (slots[k].comp == i && slots[k].off + 8u <= c->rsize[i] &&
		    !value_ok(c, "XRSTORS", slots[k].msr, ld64(img + slots[k].off), true))
			return false;
	return true;
}

bool xsi_sup_precheck(struct xs_cpu *c, unsigned i)
{
	const uint8_t *r = ccreg(c, i);

	switch (i) {
	case XS_C_UINTR:
		/* Before it updates UINTR, XRSTORS #GPs if UINV != 0 (13.5.11;
		 * applied whether it loads or initializes the component). */
		if (r[UINTR_UINV_BYTE])
			return bad(c, "XRSTORS",
				   "UINV = %#x is not zero, so UINTR state cannot be restored (SDM 13.5.11)",
				   r[UINTR_UINV_BYTE]);
		return true;
	case XS_C_PT:
		/* #GP, before any PT state changes, if it would restore or
		 * initialize PT while TraceEn = 1 (13.5.6). */
		if (ld64(r) & RTIT_TRACEEN)
			return bad(c, "XRSTORS", "IA32_RTIT_CTL.TraceEn = 1 while PT state is restored (SDM 13.5.6)");
		return true;
	}
	return true;
}

bool xsi_sup_check_image(struct xs_cpu *c, unsigned i, const uint8_t *img)
{
	if (!image_msrs_ok(c, i, img))
		return false;
	switch (i) {
	case XS_C_PT:
		return tail_zero(c, i, img, PT_USED);
	case XS_C_PASID:
	case XS_C_HDC:
	case XS_C_HWP:
		return tail_zero(c, i, img, 8);
	case XS_C_CET_U:
		return tail_zero(c, i, img, 16);
	case XS_C_CET_S:
		return tail_zero(c, i, img, 24);
	case XS_C_UINTR:
		return tail_zero(c, i, img, UINTR_USED);
	case XS_C_LBR:
		return tail_zero(c, i, img, LBR_SINGLETONS + (uint32_t)c->lbr_max_depth * LBR_RECORD);
	}
	return true;
}

bool xsi_sup_load(struct xs_cpu *c, unsigned i, const uint8_t *img)
{
	uint8_t *r = creg(c, i);

	if (i == XS_C_LBR) {
		uint64_t depth = ld64(r + 8);
		uint32_t rec = LBR_SINGLETONS + (uint32_t)depth * LBR_RECORD;

		if (ld64(img + 8) == depth) {
			/* Same depth: the singletons and DEPTH records (13.5.12). */
			memcpy(r, img, rec);
			memset(r + rec, 0, c->rsize[i] - rec);
			return true;
		}
		/* Depth mismatch: the singletons except DEPTH, every record
		 * zeroed, XINUSE[15] left as it was (13.5.12). */
		memcpy(r, img, 8);
		memcpy(r + 16, img + 16, LBR_SINGLETONS - 16);
		memset(r + LBR_SINGLETONS, 0, c->rsize[i] - LBR_SINGLETONS);
		return false;
	}
	memcpy(r, img, c->rsize[i]);
	return true;
}

uint32_t xsi_sup_save_len(const struct xs_cpu *c, unsigned i)
{
	if (i == XS_C_LBR)
		return LBR_SINGLETONS + (uint32_t)ld64(ccreg(c, i) + 8) * LBR_RECORD;
	return c->rsize[i];
}

void xsi_sup_after_save(struct xs_cpu *c, uint64_t rfbm)
{
	/* UINTR: after saving, XSAVES clears UINV (13.5.11). Applied whenever
	 * RFBM[14] = 1, also when an optimization skipped the write. */
	if ((rfbm & XS_BIT(XS_C_UINTR)) && creg(c, XS_C_UINTR)[UINTR_UINV_BYTE]) {
		creg(c, XS_C_UINTR)[UINTR_UINV_BYTE] = 0;
		c->st.xmodified |= XS_BIT(XS_C_UINTR);
	}
	/* PT: XSAVES clears IA32_RTIT_CTL.TraceEn after saving it (13.5.6). */
	if (rfbm & XS_BIT(XS_C_PT)) {
		uint8_t *r = creg(c, XS_C_PT);
		uint64_t ctl = ld64(r);
		if (ctl & RTIT_TRACEEN) {
			st64(r, ctl & ~RTIT_TRACEEN);
			c->st.xmodified |= XS_BIT(XS_C_PT);
		}
	}
}
