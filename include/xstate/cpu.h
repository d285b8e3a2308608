/* xstate architecture model: one logical processor and its XSAVE instructions.
 *
 * struct xs_cpu is opaque. Everything above the architecture layer (the
 * kernel manager, the simulator) changes it only by executing instructions:
 * the XSAVE family, XGETBV/XSETBV, RDMSR/WRMSR, and the register accesses
 * user code performs. Every instruction returns the fault it raises and, when
 * it faults, leaves all architectural state exactly as it was (the one
 * exception the SDM makes, IA32_XFD_ERR written by an XFD #NM, is modelled).
 *
 * Memory operands are host buffers: (mem, len). The linear address used for
 * alignment checks and the XRSTOR_INFO tuple is the buffer's address. An
 * access past len raises XS_PF, so untrusted images cannot overrun.
 */
#ifndef XSTATE_CPU_H
#define XSTATE_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xstate/model.h"

enum xs_fault {
	XS_OK = 0,
	XS_UD,  /* invalid opcode */
	XS_NM,  /* device not available (CR0.TS or XFD) */
	XS_GP,  /* general protection */
	XS_AC,  /* alignment check */
	XS_PF,  /* memory operand outside the buffer */
};
const char *xs_fault_name(enum xs_fault f); /* "#GP", "" for XS_OK */

/* MSR numbers the model implements. */
enum {
	XS_MSR_RTIT_CTL = 0x570,
	XS_MSR_XFD = 0x1C4,
	XS_MSR_XFD_ERR = 0x1C5,
	XS_MSR_U_CET = 0x6A0,
	XS_MSR_S_CET = 0x6A2,
	XS_MSR_PL0_SSP = 0x6A4,
	XS_MSR_PL1_SSP = 0x6A5,
	XS_MSR_PL2_SSP = 0x6A6,
	XS_MSR_PL3_SSP = 0x6A7,
	XS_MSR_HWP_REQUEST = 0x774,
	XS_MSR_UINTR_RR = 0x985,
	XS_MSR_UINTR_HANDLER = 0x986,
	XS_MSR_UINTR_STACKADJUST = 0x987,
	XS_MSR_UINTR_MISC = 0x988,
	XS_MSR_UINTR_PD = 0x989,
	XS_MSR_UINTR_TT = 0x98A,
	XS_MSR_PASID = 0xD93,
	XS_MSR_XSS = 0xDA0,
	XS_MSR_PM_CTL1 = 0xDB0,
	XS_MSR_LBR_CTL = 0x14CE,
	XS_MSR_LBR_DEPTH = 0x14CF,
};
/* MSR number for a name such as "IA32_XSS" or "xss" (case-insensitive), or -1. */
long xs_msr_lookup(const char *name);
const char *xs_msr_name(uint32_t msr); /* NULL if unknown */

struct xs_cpu;

/* Life cycle. A new CPU is in the state after RESET (SDM 9.1 / 13.3):
 * XCR0=1, IA32_XSS=0, IA32_XFD=0, XFD_ERR=0, CR4.OSXSAVE=0, CR0.TS=0, CPL=0,
 * every component in its initial configuration, MXCSR=1F80H, XINUSE=0,
 * XMODIFIED=all ones, no XRSTOR_INFO. */
struct xs_cpu *xs_cpu_new(const struct xs_model *m);
void xs_cpu_free(struct xs_cpu *c);
void xs_cpu_reset(struct xs_cpu *c);
void xs_cpu_copy(struct xs_cpu *dst, const struct xs_cpu *src); /* same model */
bool xs_cpu_equal(const struct xs_cpu *a, const struct xs_cpu *b); /* all state */
uint64_t xs_cpu_hash(const struct xs_cpu *c);
const struct xs_model *xs_cpu_model(const struct xs_cpu *c);
/* Why the last faulting instruction faulted ("XSTATE_BV has bit 9 not in XCR0"). */
const char *xs_cpu_fault_reason(const struct xs_cpu *c);

/* Control state that is not XSAVE state (set by the simulated kernel/VMM). */
void xs_set_cpl(struct xs_cpu *c, int cpl);
int xs_cpl(const struct xs_cpu *c);
enum xs_fault xs_set_cr4_osxsave(struct xs_cpu *c, bool on); /* #GP without XSAVE */
bool xs_cr4_osxsave(const struct xs_cpu *c);
enum xs_fault xs_set_cr4_pke(struct xs_cpu *c, bool on);     /* #GP without PKU */
bool xs_cr4_pke(const struct xs_cpu *c);
void xs_set_cr0_ts(struct xs_cpu *c, bool ts);  /* CLTS / STTS (mov cr0) */
bool xs_cr0_ts(const struct xs_cpu *c);
void xs_set_alignment_check(struct xs_cpu *c, bool on); /* CR0.AM and EFLAGS.AC */
void xs_set_vmx_nonroot(struct xs_cpu *c, bool on);     /* part of XRSTOR_INFO */

/* Observers: read architectural and internal tracking state without
 * executing an instruction (for the simulator's checks and for tests). */
uint64_t xs_xcr0(const struct xs_cpu *c);
uint64_t xs_xss(const struct xs_cpu *c);
uint64_t xs_xfd(const struct xs_cpu *c);
uint64_t xs_xfd_err(const struct xs_cpu *c);
uint64_t xs_xinuse(const struct xs_cpu *c);
uint64_t xs_xmodified(const struct xs_cpu *c);
uint32_t xs_mxcsr(const struct xs_cpu *c);
/* Register bytes of a component as the processor holds them, laid out as the
 * component's image in an XSAVE area; for x87 and SSE the 512-byte legacy
 * region (both return the same pointer). NULL if the model lacks it. */
const uint8_t *xs_comp_regs(const struct xs_cpu *c, unsigned comp);

/* XCR access (SDM Vol. 2 XGETBV/XSETBV, Vol. 1 13.3). */
enum xs_fault xs_xgetbv(struct xs_cpu *c, uint32_t ecx, uint64_t *val);
enum xs_fault xs_xsetbv(struct xs_cpu *c, uint32_t ecx, uint64_t val);
/* MSRs: IA32_XSS, IA32_XFD, IA32_XFD_ERR and the MSRs that make up the
 * supervisor components, with the WRMSR value checks XRSTORS also applies. */
enum xs_fault xs_rdmsr(struct xs_cpu *c, uint32_t msr, uint64_t *val);
enum xs_fault xs_wrmsr(struct xs_cpu *c, uint32_t msr, uint64_t val);

/* The XSAVE family (SDM Vol. 1 13.7-13.12). mask is EDX:EAX. These are the
 * 64-bit forms (XSAVE64 etc.: REX.W, 64-bit FIP/FDP). */
enum xs_fault xs_xsave(struct xs_cpu *c, void *mem, size_t len, uint64_t mask);
enum xs_fault xs_xsaveopt(struct xs_cpu *c, void *mem, size_t len, uint64_t mask);
enum xs_fault xs_xsavec(struct xs_cpu *c, void *mem, size_t len, uint64_t mask);
enum xs_fault xs_xsaves(struct xs_cpu *c, void *mem, size_t len, uint64_t mask);
enum xs_fault xs_xrstor(struct xs_cpu *c, const void *mem, size_t len, uint64_t mask);
enum xs_fault xs_xrstors(struct xs_cpu *c, const void *mem, size_t len, uint64_t mask);

/* Other instructions that change XSAVE-managed state. */
enum xs_fault xs_fninit(struct xs_cpu *c);
enum xs_fault xs_ldmxcsr(struct xs_cpu *c, uint32_t val);
enum xs_fault xs_rdpkru(struct xs_cpu *c, uint32_t *val);
enum xs_fault xs_wrpkru(struct xs_cpu *c, uint32_t val);
enum xs_fault xs_vzeroupper(struct xs_cpu *c);  /* AVX -> init */
enum xs_fault xs_tilerelease(struct xs_cpu *c); /* TILECFG+TILEDATA -> init */

/* Named registers ("xmm3", "ymm3", "zmm17", "k2", "st0", "fcw", "mxcsr",
 * "tmm1", "tilecfg", "pkru", "r16", "bnd0", "u_cet", "pl3_ssp", "uinv" ...).
 * A register may span components (ymm3 = XMM3 in SSE + YMM3_H in AVX). */
struct xs_reg {
	char name[24];     /* lower case; the longest is "uintr_stackadjust" */
	uint16_t size;     /* bytes */
	uint8_t nparts;
	bool supervisor;   /* an MSR: writable only at CPL 0 */
	struct {
		uint8_t comp;
		uint16_t off;  /* byte offset in the component's image (legacy offset for x87/SSE) */
		uint16_t len;
	} part[3];
};
int xs_reg_lookup(const struct xs_model *m, const char *name, struct xs_reg *out);
/* Execute a user (or kernel) instruction that writes/reads the register.
 * Writes fault as the instruction would (#UD if the component is not
 * enabled, #NM if XFD-armed, #GP for supervisor registers at CPL>0) and mark
 * the components in use and modified. val is size bytes, little-endian. */
enum xs_fault xs_reg_write(struct xs_cpu *c, const struct xs_reg *r, const void *val);
enum xs_fault xs_reg_read(struct xs_cpu *c, const struct xs_reg *r, void *val);
/* Read without executing anything (no fault, no tracking): for observers. */
void xs_reg_peek(const struct xs_cpu *c, const struct xs_reg *r, void *val);

#endif
