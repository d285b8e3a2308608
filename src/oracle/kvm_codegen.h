/* A tiny x86-64 machine-code emitter for the ring-0 guest (kvmguest.c).
 *
 * It knows only the handful of instructions the guest needs: moves of
 * immediates into general registers, the XSAVE family with a [reg] memory
 * operand, XGETBV/XSETBV, RDMSR/WRMSR, string copies and fills, port output
 * and HLT. Encodings are from the SDM Vol. 2 opcode tables; each emitter
 * names its encoding. Output goes into a fixed-size buffer; running out of
 * room sets the overflow flag instead of writing past the end.
 */
#ifndef XSTATE_ORACLE_KVM_CODEGEN_H
#define XSTATE_ORACLE_KVM_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* General registers by their encoding number (SDM Vol. 2 2.1.5, table 2-2). */
enum kc_reg {
	KC_RAX = 0, KC_RCX, KC_RDX, KC_RBX, KC_RSP, KC_RBP, KC_RSI, KC_RDI,
	KC_R8, KC_R9, KC_R10, KC_R11, KC_R12, KC_R13, KC_R14, KC_R15,
};

/* The XSAVE-family instructions, all in their REX.W (64-bit) forms. */
enum kc_xop {
	KC_XSAVE,    /* REX.W 0F AE /4 */
	KC_XRSTOR,   /* REX.W 0F AE /5 */
	KC_XSAVEOPT, /* REX.W 0F AE /6 */
	KC_XSAVEC,   /* REX.W 0F C7 /4 */
	KC_XSAVES,   /* REX.W 0F C7 /5 */
	KC_XRSTORS,  /* REX.W 0F C7 /3 */
};

struct kc_buf {
	uint8_t *code;
	size_t len, cap;
	bool overflow;
};

void kc_init(struct kc_buf *b, uint8_t *mem, size_t cap);
void kc_byte(struct kc_buf *b, uint8_t v);
void kc_u32(struct kc_buf *b, uint32_t v);
void kc_u64(struct kc_buf *b, uint64_t v);

/* reg := imm, with the shortest encoding that gives the full 64-bit value:
 * B8+r id (zero-extends) when imm fits in 32 bits, else REX.W B8+r io. */
void kc_mov_imm(struct kc_buf *b, enum kc_reg reg, uint64_t imm);
/* The same, always 10 bytes (REX.W B8+r io), for patching later. */
void kc_movabs(struct kc_buf *b, enum kc_reg reg, uint64_t imm);
/* dst := src, 64-bit (REX.W 89 /r). */
void kc_mov_reg(struct kc_buf *b, enum kc_reg dst, enum kc_reg src);

/* An XSAVE-family instruction on [base] (ModRM mod=00, no SIB: base must
 * not be RSP/RBP/R12/R13, which need other forms). EDX:EAX is the mask. */
void kc_xop(struct kc_buf *b, enum kc_xop op, enum kc_reg base);
void kc_xgetbv(struct kc_buf *b);  /* NP 0F 01 D0 */
void kc_xsetbv(struct kc_buf *b);  /* NP 0F 01 D1 */
void kc_rdmsr(struct kc_buf *b);   /* 0F 32 */
void kc_wrmsr(struct kc_buf *b);   /* 0F 30 */
void kc_rep_movsb(struct kc_buf *b); /* F3 A4: copy RCX bytes [RSI] -> [RDI] */
void kc_rep_stosb(struct kc_buf *b); /* F3 AA: store AL to RCX bytes at [RDI] */
void kc_out_eax(struct kc_buf *b, uint8_t port); /* E7 ib: out imm8, eax */
void kc_hlt(struct kc_buf *b);     /* F4 */
void kc_push_imm(struct kc_buf *b, int32_t v); /* 68 id (sign-extended to 64) */
void kc_jmp_abs(struct kc_buf *b, uint32_t from, uint32_t to); /* E9 cd, from = address of this insn */

/* Vector and x87 state, memory operand [base] (base as for kc_xop). */
void kc_movdqu(struct kc_buf *b, bool store, unsigned xmm, enum kc_reg base); /* F3 0F 6F/7F */
void kc_vmovdqu256(struct kc_buf *b, bool store, unsigned ymm, enum kc_reg base); /* VEX.256.F3.0F 6F/7F */
void kc_mxcsr(struct kc_buf *b, bool store, enum kc_reg base); /* LDMXCSR 0F AE /2, STMXCSR /3 */
void kc_fxsave64(struct kc_buf *b, enum kc_reg base); /* REX.W 0F AE /0 */
void kc_fninit(struct kc_buf *b);      /* DB E3 */
void kc_vzeroupper(struct kc_buf *b);  /* VEX.128.0F.WIG 77 = C5 F8 77 */
void kc_cpuid(struct kc_buf *b);       /* 0F A2 */
/* Control registers: MOV r64, CRn (0F 20 /r) and MOV CRn, r64 (0F 22 /r);
 * CLTS (0F 06); BTS/BTR r64, imm8 (REX.W 0F BA /5 ib, /6 ib). */
void kc_mov_from_cr(struct kc_buf *b, unsigned cr, enum kc_reg dst);
void kc_mov_to_cr(struct kc_buf *b, unsigned cr, enum kc_reg src);
void kc_clts(struct kc_buf *b);
void kc_bit(struct kc_buf *b, enum kc_reg reg, unsigned bit, bool set);

#endif
