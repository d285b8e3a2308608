/* xstate architecture model: the FS and GS segments in 64-bit mode.
 *
 * Not XSAVE state, but architectural state every OS switches next to it,
 * and the subject of seed 002. Per logical processor (part of struct xs_cpu:
 * reset, copied, compared and hashed with the rest):
 *
 *   FS.selector, FS.base   the visible selector and the hidden base
 *   GS.selector, GS.base   (limits and attributes are ignored for FS/GS
 *                          in 64-bit mode and not modelled)
 *   IA32_KERNEL_GS_BASE    the other GS base, exchanged by SWAPGS
 *   CR4.FSGSBASE           enables RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE
 *   GDTR, LDTR             descriptor tables in memory (host pointers the
 *                          OS keeps alive; not compared or copied)
 *
 * A selector load reads its descriptor from memory at that moment and
 * caches the base in the hidden part: a later change of the descriptor
 * does not affect the register until the next load (seed 002 question 3).
 *
 * Loading a null selector (index 0 in the GDT, RPL 0-3) is legal in 64-bit
 * mode; what happens to the hidden base is documented by neither vendor.
 * Intel clears it; old AMD parts keep it (Linux's X86_BUG_NULL_SEG,
 * arch/x86/kernel/cpu/common.c). Zen 2 and later clear it (Linux detects
 * it on family 17h/18h; 19h+ enumerate CPUID 8000_0021H:EAX[6]
 * NullSelectorClearsBase) -- and so did this project's host, a Zen 3 KVM
 * guest, measured with MOV GS,0..3 after WRGSBASE, although Linux flags the
 * bug there because the hypervisor hides that CPUID bit.
 * xs_null_sel_keeps_base() encodes the rule.
 *
 * Not modelled: the other segment registers, 32-bit operand forms, the
 * descriptor "accessed" bit write-back (tables are read-only to the model;
 * Linux always presets the bit, fill_ldt()), IRET's nulling of selectors
 * whose DPL is below the new CPL (its null-selector rule is modelled:
 * xs_iret_segments()), system-descriptor LLDT (xs_lldt takes the table
 * directly).
 *
 * Sources: SDM Vol. 3A 3.4.2-3.4.5 (selectors, descriptors), 3.4.4
 * (segment loading in IA-32e mode), 5.6 (privilege checks for data
 * segments); Vol. 2 MOV (to Sreg), RDFSBASE/RDGSBASE, WRFSBASE/WRGSBASE,
 * SWAPGS, RDMSR/WRMSR; Vol. 4 MSRs C000_0100H-C000_0102H.
 */
#ifndef XSTATE_SEGMENT_H
#define XSTATE_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "xstate/cpu.h"
#include "xstate/model.h"

enum xs_seg { XS_SEG_FS = 0, XS_SEG_GS = 1 };

enum {
	XS_MSR_FS_BASE = 0xC0000100,
	XS_MSR_GS_BASE = 0xC0000101,
	XS_MSR_KERNEL_GS_BASE = 0xC0000102,
};

/* Selector fields (SDM Vol. 3A 3.4.2). */
#define XS_SEL_RPL_MASK 0x3u
#define XS_SEL_TI 0x4u /* 1: LDT */
static inline unsigned xs_sel_index(uint16_t sel) { return sel >> 3; }
static inline uint16_t xs_sel_make(unsigned index, bool ldt, unsigned rpl)
{
	return (uint16_t)((index << 3) | (ldt ? XS_SEL_TI : 0) | (rpl & 3));
}
/* Null: index 0 of the GDT, whatever the RPL. */
static inline bool xs_sel_is_null(uint16_t sel) { return (sel & ~XS_SEL_RPL_MASK) == 0; }

/* An 8-byte code/data or system segment descriptor (SDM Vol. 3A 3.4.5). */
struct xs_desc {
	uint32_t base;       /* 32 bits: FS/GS bases above 4 GiB come from MSRs or WR*BASE */
	uint32_t limit;      /* 20 bits */
	uint8_t type;        /* 4 bits; data: 1 accessed, 2 writable, 4 expand-down;
			      * code (8 set): 2 readable, 4 conforming */
	bool s;              /* 1: code or data segment, 0: system */
	uint8_t dpl;
	bool present;
	bool avl, l, db, g;
};
uint64_t xs_desc_pack(const struct xs_desc *d);
void xs_desc_unpack(uint64_t raw, struct xs_desc *d);
uint32_t xs_desc_base(uint64_t raw);

/* Does MOV Sreg of a null selector leave the hidden base alone on this
 * CPU model (X86_BUG_NULL_SEG)? AMD before family 17h: yes; Intel, Zen 2
 * and later: no (it is cleared). */
bool xs_null_sel_keeps_base(const struct xs_model *m);

/* CR4.FSGSBASE: #GP without CPUID.(07H,0):EBX.FSGSBASE. */
enum xs_fault xs_set_cr4_fsgsbase(struct xs_cpu *c, bool on);
bool xs_cr4_fsgsbase(const struct xs_cpu *c);

/* LGDT / LLDT: table points at n descriptors (n = limit+1 / 8). CPL 0
 * only (#GP). xs_lldt(c, NULL, 0) loads a null LDT: every selector with
 * TI = 1 then #GPs. The memory must stay valid while loaded. */
enum xs_fault xs_lgdt(struct xs_cpu *c, const uint64_t *table, unsigned n);
enum xs_fault xs_lldt(struct xs_cpu *c, const uint64_t *table, unsigned n);

/* MOV FS/GS, sel (SDM Vol. 2 MOV, 64-bit mode): a null selector loads the
 * register (base per xs_null_sel_keeps_base); otherwise #GP(sel) if the
 * index is outside the table (or TI = 1 with a null LDT), the descriptor is
 * not data or readable code, or (data / non-conforming code) RPL > DPL or
 * CPL > DPL; #NP(sel) -- reported as XS_GP with the reason saying #NP, the
 * model has no #NP -- if it is not present. Then selector := sel and the
 * hidden base := the descriptor's 32-bit base. A faulting load changes
 * nothing. */
enum xs_fault xs_mov_to_seg(struct xs_cpu *c, enum xs_seg s, uint16_t sel);
uint16_t xs_mov_from_seg(const struct xs_cpu *c, enum xs_seg s);

/* RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (64-bit operand forms): #UD unless
 * CPUID has FSGSBASE and CR4.FSGSBASE = 1, at any CPL; WR*BASE #GP(0) on a
 * non-canonical value. */
enum xs_fault xs_rdsegbase(struct xs_cpu *c, enum xs_seg s, uint64_t *v);
enum xs_fault xs_wrsegbase(struct xs_cpu *c, enum xs_seg s, uint64_t v);

/* The FS/GS part of IRET (IRETQ) to CPL 3 (SDM Vol. 2 IRET,
 * RETURN-TO-OUTER-PRIVILEGE-LEVEL): a segment register holding a null
 * selector -- or a data / non-conforming code segment whose DPL is below
 * the new CPL -- gets selector 0; the hidden base is left as it is. So a
 * null selector 1-3 that user code loaded reads 0 after the next exception
 * or interrupt return (SYSRET leaves it). The hidden part keeps no DPL in
 * this model, so only the null rule is applied: Linux never returns to user
 * mode with a DPL < 3 segment in FS/GS (a kernel load of one faults and
 * loadsegment() loads 0 instead). Measured on the project host (AMD Zen 3):
 * GS = 1..3 reads 0 after a ptrace stop. */
void xs_iret_segments(struct xs_cpu *c);

/* SWAPGS: GS.base <-> IA32_KERNEL_GS_BASE; #GP(0) unless CPL 0. */
enum xs_fault xs_swapgs(struct xs_cpu *c);

/* RDMSR/WRMSR of IA32_FS_BASE, IA32_GS_BASE, IA32_KERNEL_GS_BASE: CPL 0
 * (#GP), WRMSR #GP on a non-canonical value. Other MSR numbers: #GP. */
enum xs_fault xs_seg_rdmsr(struct xs_cpu *c, uint32_t msr, uint64_t *v);
enum xs_fault xs_seg_wrmsr(struct xs_cpu *c, uint32_t msr, uint64_t v);

/* Observer: the segment state without executing anything. */
struct xs_seg_view {
	uint16_t fs_sel, gs_sel;
	uint64_t fs_base, gs_base, kernel_gs_base;
	bool cr4_fsgsbase;
};
void xs_seg_peek(const struct xs_cpu *c, struct xs_seg_view *v);

#endif
