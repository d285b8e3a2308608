/* FS and GS in 64-bit mode: selectors, hidden bases, the descriptor tables
 * loads read, RD/WR{FS,GS}BASE, SWAPGS and the base MSRs
 * (include/xstate/segment.h). */
#include <inttypes.h>

#include "arch/cpu_internal.h"
#include "xstate/segment.h"

static const char *const seg_name[] = { "FS", "GS" };

/* ---- Descriptors (SDM Vol. 3A 3.4.5, figure 3-8) ---- */

uint64_t xs_desc_pack(const struct xs_desc *d)
{
	uint64_t r = 0;

	r |= (uint64_t)(d->limit & 0xFFFFu);
	r |= (uint64_t)(d->base & 0xFFFFFFu) << 16;
	r |= (uint64_t)(d->type & 0xFu) << 40;
	r |= (uint64_t)d->s << 44;
	r |= (uint64_t)(d->dpl & 3u) << 45;
	r |= (uint64_t)d->present << 47;
	r |= (uint64_t)((d->limit >> 16) & 0xFu) << 48;
	r |= (uint64_t)d->avl << 52;
	r |= (uint64_t)d->l << 53;
	r |= (uint64_t)d->db << 54;
	r |= (uint64_t)d->g << 55;
	r |= (uint64_t)(d->base >> 24) << 56;
	return r;
}

void xs_desc_unpack(uint64_t raw, struct xs_desc *d)
{
	d->limit = (uint32_t)(raw & 0xFFFFu) | (uint32_t)((raw >> 48) & 0xFu) << 16;
	d->base = xs_desc_base(raw);
	d->type = (uint8_t)((raw >> 40) & 0xFu);
	d->s = (raw >> 44) & 1;
	d->dpl = (uint8_t)((raw >> 45) & 3u);
	d->present = (raw >> 47) & 1;
	d->avl = (raw >> 52) & 1;
	d->l = (raw >> 53) & 1;
	d->db = (raw >> 54) & 1;
	d->g = (raw >> 55) & 1;
}

uint32_t xs_desc_base(uint64_t raw)
{
	return (uint32_t)((raw >> 16) & 0xFFFFFFu) | (uint32_t)(raw >> 56) << 24;
}

/* Family from CPUID.1.EAX (SDM Vol. 2 CPUID: extended family counts only
 * when the base family is 0FH). */
static unsigned cpu_family(uint32_t sig)
{
	unsigned f = (sig >> 8) & 0xFu;

	return f == 0xFu ? f + ((sig >> 20) & 0xFFu) : f;
}

bool xs_null_sel_keeps_base(const struct xs_model *m)
{
	/* Linux check_null_seg_clears_base(): Zen 2 (17h) and Hygon (18h)
	 * clear the base by experiment, 19h+ say so in CPUID; older AMD parts
	 * keep it. Intel clears it (detect_null_seg_behavior()'s comment). */
	return m->vendor_id == XS_VENDOR_AMD && cpu_family(m->signature) < 0x17;
}

/* ---- Control state ---- */

enum xs_fault xs_set_cr4_fsgsbase(struct xs_cpu *c, bool on)
{
	if (on && !c->model.feat.fsgsbase)
		return xsi_fault(c, XS_GP,
				 "MOV CR4: FSGSBASE set but CPUID.(07H,0):EBX.FSGSBASE = 0 (SDM Vol. 3A 2.5)");
	c->st.cr4_fsgsbase = on;
	return XS_OK;
}

bool xs_cr4_fsgsbase(const struct xs_cpu *c)
{
	return c->st.cr4_fsgsbase;
}

/* The tables hold up to 8192 descriptors (13-bit index). */
static enum xs_fault load_table(struct xs_cpu *c, const char *insn, const uint64_t *t,
				unsigned n, const uint64_t **dst, uint32_t *dst_n)
{
	if (c->st.cpl != 0)
		return xsi_fault(c, XS_GP, "%s: CPL %u > 0 (SDM Vol. 2 %s)", insn, c->st.cpl, insn);
	if (n > 8192 || (n && !t))
		return xsi_fault(c, XS_GP, "%s: %u descriptors: the limit allows at most 8192", insn,
				 n);
	*dst = n ? t : NULL;
	*dst_n = n;
	return XS_OK;
}

enum xs_fault xs_lgdt(struct xs_cpu *c, const uint64_t *table, unsigned n)
{
	return load_table(c, "LGDT", table, n, &c->gdt, &c->gdt_n);
}

enum xs_fault xs_lldt(struct xs_cpu *c, const uint64_t *table, unsigned n)
{
	return load_table(c, "LLDT", table, n, &c->ldt, &c->ldt_n);
}

/* ---- Selector loads ---- */

static uint16_t *sel_reg(struct xs_cpu *c, enum xs_seg s)
{
	return s == XS_SEG_FS ? &c->st.fs_sel : &c->st.gs_sel;
}

static uint64_t *base_reg(struct xs_cpu *c, enum xs_seg s)
{
	return s == XS_SEG_FS ? &c->st.fs_base : &c->st.gs_base;
}

/* The descriptor sel names, or a #GP(sel) with the reason. */
static enum xs_fault fetch_desc(struct xs_cpu *c, enum xs_seg s, uint16_t sel, uint64_t *raw)
{
	bool ldt = sel & XS_SEL_TI;
	const uint64_t *t = ldt ? c->ldt : c->gdt;
	uint32_t n = ldt ? c->ldt_n : c->gdt_n;
	unsigned idx = xs_sel_index(sel);

	if (idx >= n)
		return xsi_fault(c, XS_GP,
				 "MOV %s, %#x: index %u is outside the %s (%u descriptors) (SDM Vol. 2 MOV: #GP(selector))",
				 seg_name[s], sel, idx, ldt ? "LDT" : "GDT", n);
	*raw = t[idx];
	return XS_OK;
}

enum xs_fault xs_mov_to_seg(struct xs_cpu *c, enum xs_seg s, uint16_t sel)
{
	unsigned rpl = sel & XS_SEL_RPL_MASK;
	struct xs_desc d;
	uint64_t raw = 0;
	enum xs_fault f;
	bool code;

	if (xs_sel_is_null(sel)) {
		/* 64-bit mode allows null selectors in FS/GS (SDM 3.4.4). */
		*sel_reg(c, s) = sel;
		if (!xs_null_sel_keeps_base(&c->model))
			*base_reg(c, s) = 0;
		return XS_OK;
	}
	f = fetch_desc(c, s, sel, &raw);
	if (f)
		return f;
	xs_desc_unpack(raw, &d);
	code = d.type & 8u;
	if (!d.s || (code && !(d.type & 2u)))
		return xsi_fault(c, XS_GP,
				 "MOV %s, %#x: descriptor %#" PRIx64 " is not a data or readable code segment (SDM Vol. 2 MOV: #GP(selector))",
				 seg_name[s], sel, raw);
	if ((!code || !(d.type & 4u)) && (rpl > d.dpl || c->st.cpl > d.dpl))
		return xsi_fault(c, XS_GP,
				 "MOV %s, %#x: RPL %u / CPL %u above DPL %u (SDM Vol. 3A 5.7: #GP(selector))",
				 seg_name[s], sel, rpl, c->st.cpl, d.dpl);
	if (!d.present)
		return xsi_fault(c, XS_GP,
				 "MOV %s, %#x: segment not present: #NP(selector) on hardware (the model reports #GP)",
				 seg_name[s], sel);
	*sel_reg(c, s) = sel;
	*base_reg(c, s) = d.base; /* 32-bit base, zero-extended */
	return XS_OK;
}

uint16_t xs_mov_from_seg(const struct xs_cpu *c, enum xs_seg s)
{
	return s == XS_SEG_FS ? c->st.fs_sel : c->st.gs_sel;
}

/* ---- RD/WR{FS,GS}BASE ---- */

static enum xs_fault base_insn_ud(struct xs_cpu *c, const char *insn)
{
	if (!c->model.feat.fsgsbase)
		return xsi_fault(c, XS_UD, "%s: CPUID.(07H,0):EBX.FSGSBASE = 0", insn);
	if (!c->st.cr4_fsgsbase)
		return xsi_fault(c, XS_UD, "%s: CR4.FSGSBASE = 0 (SDM Vol. 2 %s #UD)", insn, insn);
	return XS_OK;
}

enum xs_fault xs_rdsegbase(struct xs_cpu *c, enum xs_seg s, uint64_t *v)
{
	enum xs_fault f = base_insn_ud(c, s == XS_SEG_FS ? "RDFSBASE" : "RDGSBASE");

	if (f)
		return f;
	*v = *base_reg(c, s);
	return XS_OK;
}

enum xs_fault xs_wrsegbase(struct xs_cpu *c, enum xs_seg s, uint64_t v)
{
	const char *insn = s == XS_SEG_FS ? "WRFSBASE" : "WRGSBASE";
	enum xs_fault f = base_insn_ud(c, insn);

	if (f)
		return f;
	if (!canonical(c, v))
		return xsi_fault(c, XS_GP, "%s %#" PRIx64 ": not canonical (%u-bit linear addresses) (SDM Vol. 2 %s #GP(0))",
				 insn, v, c->canon_bits, insn);
	*base_reg(c, s) = v;
	return XS_OK;
}

enum xs_fault xs_swapgs(struct xs_cpu *c)
{
	uint64_t t;

	if (c->st.cpl != 0)
		return xsi_fault(c, XS_GP, "SWAPGS: CPL %u > 0 (SDM Vol. 2 SWAPGS #GP(0))", c->st.cpl);
	t = c->st.gs_base;
	c->st.gs_base = c->st.kernel_gs_base;
	c->st.kernel_gs_base = t;
	return XS_OK;
}

/* ---- MSRs ---- */

static uint64_t *msr_slot(struct xs_cpu *c, uint32_t msr)
{
	switch (msr) {
	case XS_MSR_FS_BASE:
		return &c->st.fs_base;
	case XS_MSR_GS_BASE:
		return &c->st.gs_base;
	case XS_MSR_KERNEL_GS_BASE:
		return &c->st.kernel_gs_base;
	}
	return NULL;
}

enum xs_fault xs_seg_rdmsr(struct xs_cpu *c, uint32_t msr, uint64_t *v)
{
	uint64_t *p = msr_slot(c, msr);

	if (!p)
		return xsi_fault(c, XS_GP, "RDMSR %#x: not a segment base MSR", msr);
	if (c->st.cpl != 0)
		return xsi_fault(c, XS_GP, "RDMSR %#x: CPL %u > 0", msr, c->st.cpl);
	*v = *p;
	return XS_OK;
}

enum xs_fault xs_seg_wrmsr(struct xs_cpu *c, uint32_t msr, uint64_t v)
{
	uint64_t *p = msr_slot(c, msr);

	if (!p)
		return xsi_fault(c, XS_GP, "WRMSR %#x: not a segment base MSR", msr);
	if (c->st.cpl != 0)
		return xsi_fault(c, XS_GP, "WRMSR %#x: CPL %u > 0", msr, c->st.cpl);
	if (!canonical(c, v))
		return xsi_fault(c, XS_GP, "WRMSR %#x := %#" PRIx64 ": not canonical (SDM Vol. 4 2.1)",
				 msr, v);
	*p = v;
	return XS_OK;
}

void xs_iret_segments(struct xs_cpu *c)
{
	for (int s = XS_SEG_FS; s <= XS_SEG_GS; s++) {
		uint16_t *sel = sel_reg(c, (enum xs_seg)s);

		if (xs_sel_is_null(*sel))
			*sel = 0; /* "SegmentSelector := 0": the RPL goes too */
	}
}

void xs_seg_peek(const struct xs_cpu *c, struct xs_seg_view *v)
{
	v->fs_sel = c->st.fs_sel;
	v->gs_sel = c->st.gs_sel;
	v->fs_base = c->st.fs_base;
	v->gs_base = c->st.gs_base;
	v->kernel_gs_base = c->st.kernel_gs_base;
	v->cr4_fsgsbase = c->st.cr4_fsgsbase;
}
