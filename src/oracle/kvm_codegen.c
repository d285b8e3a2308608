/* x86-64 machine-code emitter for the ring-0 guest. Encodings: SDM Vol. 2,
 * chapter 2 (REX, ModRM) and the instruction pages named at each emitter. */
#include "oracle/kvm_codegen.h"

#include <string.h>

#define REX_W 0x48
#define REX_B 0x01
#define REX_R 0x04

void kc_init(struct kc_buf *b, uint8_t *mem, size_t cap)
{
	b->code = mem;
	b->len = 0;
	b->cap = cap;
	b->overflow = false;
}

void kc_byte(struct kc_buf *b, uint8_t v)
{
	if (b->len >= b->cap) {
		b->overflow = true;
		return;
	}
	b->code[b->len++] = v;
}

void kc_u32(struct kc_buf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		kc_byte(b, (uint8_t)(v >> (8 * i)));
}

void kc_u64(struct kc_buf *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		kc_byte(b, (uint8_t)(v >> (8 * i)));
}

static bool plain_base(struct kc_buf *b, enum kc_reg base);

static uint8_t modrm(unsigned mod, unsigned reg, unsigned rm)
{
	return (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7));
}

/* MOV r32, imm32 (B8+rd id) zero-extends into the 64-bit register
 * (SDM Vol. 1 3.4.1.1); MOV r64, imm64 is REX.W B8+rd io. */
void kc_mov_imm(struct kc_buf *b, enum kc_reg reg, uint64_t imm)
{
	if (imm > UINT32_MAX) {
		kc_movabs(b, reg, imm);
		return;
	}
	if (reg >= KC_R8)
		kc_byte(b, 0x40 | REX_B);
	kc_byte(b, (uint8_t)(0xB8 + (reg & 7)));
	kc_u32(b, (uint32_t)imm);
}

void kc_movabs(struct kc_buf *b, enum kc_reg reg, uint64_t imm)
{
	kc_byte(b, (uint8_t)(REX_W | (reg >= KC_R8 ? REX_B : 0)));
	kc_byte(b, (uint8_t)(0xB8 + (reg & 7)));
	kc_u64(b, imm);
}

/* MOV r/m64, r64: REX.W 89 /r, ModRM mod=11 reg=src rm=dst. */
void kc_mov_reg(struct kc_buf *b, enum kc_reg dst, enum kc_reg src)
{
	kc_byte(b, (uint8_t)(REX_W | (src >= KC_R8 ? REX_R : 0) | (dst >= KC_R8 ? REX_B : 0)));
	kc_byte(b, 0x89);
	kc_byte(b, modrm(3, src, dst));
}

/* XSAVE/XRSTOR/XSAVEOPT: 0F AE /4 /5 /6; XSAVEC/XSAVES/XRSTORS: 0F C7
 * /4 /5 /3. With REX.W they are the 64-bit forms (XSAVE64 etc.). The
 * ModRM byte uses mod=00 and rm=base; rm=100 would mean SIB and rm=101
 * RIP-relative, so RSP/RBP/R12/R13 are not accepted as bases. */
void kc_xop(struct kc_buf *b, enum kc_xop op, enum kc_reg base)
{
	static const struct { uint8_t opc, ext; } enc[] = {
		[KC_XSAVE] = { 0xAE, 4 },  [KC_XRSTOR] = { 0xAE, 5 },
		[KC_XSAVEOPT] = { 0xAE, 6 }, [KC_XSAVEC] = { 0xC7, 4 },
		[KC_XSAVES] = { 0xC7, 5 }, [KC_XRSTORS] = { 0xC7, 3 },
	};

	if (!plain_base(b, base))
		return;
	kc_byte(b, (uint8_t)(REX_W | (base >= KC_R8 ? REX_B : 0)));
	kc_byte(b, 0x0F);
	kc_byte(b, enc[op].opc);
	kc_byte(b, modrm(0, enc[op].ext, base));
}

void kc_xgetbv(struct kc_buf *b)
{
	kc_byte(b, 0x0F);
	kc_byte(b, 0x01);
	kc_byte(b, 0xD0);
}

void kc_xsetbv(struct kc_buf *b)
{
	kc_byte(b, 0x0F);
	kc_byte(b, 0x01);
	kc_byte(b, 0xD1);
}

void kc_rdmsr(struct kc_buf *b)
{
	kc_byte(b, 0x0F);
	kc_byte(b, 0x32);
}

void kc_wrmsr(struct kc_buf *b)
{
	kc_byte(b, 0x0F);
	kc_byte(b, 0x30);
}

void kc_rep_movsb(struct kc_buf *b)
{
	kc_byte(b, 0xF3);
	kc_byte(b, 0xA4);
}

void kc_rep_stosb(struct kc_buf *b)
{
	kc_byte(b, 0xF3);
	kc_byte(b, 0xAA);
}

void kc_out_eax(struct kc_buf *b, uint8_t port)
{
	kc_byte(b, 0xE7);
	kc_byte(b, port);
}

void kc_hlt(struct kc_buf *b)
{
	kc_byte(b, 0xF4);
}

void kc_push_imm(struct kc_buf *b, int32_t v)
{
	kc_byte(b, 0x68);
	kc_u32(b, (uint32_t)v);
}

/* JMP rel32 (E9 cd): the displacement counts from the end of the 5-byte
 * instruction. */
void kc_jmp_abs(struct kc_buf *b, uint32_t from, uint32_t to)
{
	kc_byte(b, 0xE9);
	kc_u32(b, to - (from + 5));
}

/* A [base] operand in the forms kc_xop accepts: false (and overflow set)
 * for bases that need a SIB byte or a displacement. */
static bool plain_base(struct kc_buf *b, enum kc_reg base)
{
	if ((base & 7) == 4 || (base & 7) == 5) {
		b->overflow = true;
		return false;
	}
	return true;
}

/* MOVDQU xmm, m128 (F3 0F 6F /r) and MOVDQU m128, xmm (F3 0F 7F /r). The
 * mandatory prefix comes before REX (SDM Vol. 2 2.2.1). */
void kc_movdqu(struct kc_buf *b, bool store, unsigned xmm, enum kc_reg base)
{
	uint8_t rex = (uint8_t)(0x40 | (xmm >= 8 ? REX_R : 0) | (base >= KC_R8 ? REX_B : 0));

	if (!plain_base(b, base) || xmm > 15)
		return;
	kc_byte(b, 0xF3);
	if (rex != 0x40)
		kc_byte(b, rex);
	kc_byte(b, 0x0F);
	kc_byte(b, store ? 0x7F : 0x6F);
	kc_byte(b, modrm(0, xmm, base));
}

/* VMOVDQU ymm, m256 / m256, ymm: VEX.256.F3.0F.WIG 6F/7F /r. Two-byte VEX
 * (C5): bit 7 = NOT REX.R, bits 6:3 = NOT vvvv (1111: unused), bit 2 = L
 * (256-bit), bits 1:0 = pp (10b: F3). Bases R8-R15 would need the
 * three-byte form and are refused. */
void kc_vmovdqu256(struct kc_buf *b, bool store, unsigned ymm, enum kc_reg base)
{
	if (!plain_base(b, base) || base >= KC_R8 || ymm > 15) {
		b->overflow = true;
		return;
	}
	kc_byte(b, 0xC5);
	kc_byte(b, (uint8_t)((ymm >= 8 ? 0x00 : 0x80) | 0x78 | 0x04 | 0x02));
	kc_byte(b, store ? 0x7F : 0x6F);
	kc_byte(b, modrm(0, ymm, base));
}

void kc_mxcsr(struct kc_buf *b, bool store, enum kc_reg base)
{
	if (!plain_base(b, base))
		return;
	if (base >= KC_R8)
		kc_byte(b, 0x40 | REX_B);
	kc_byte(b, 0x0F);
	kc_byte(b, 0xAE);
	kc_byte(b, modrm(0, store ? 3 : 2, base));
}

void kc_fxsave64(struct kc_buf *b, enum kc_reg base)
{
	if (!plain_base(b, base))
		return;
	kc_byte(b, (uint8_t)(REX_W | (base >= KC_R8 ? REX_B : 0)));
	kc_byte(b, 0x0F);
	kc_byte(b, 0xAE);
	kc_byte(b, modrm(0, 0, base));
}

void kc_fninit(struct kc_buf *b)
{
	kc_byte(b, 0xDB);
	kc_byte(b, 0xE3);
}

void kc_vzeroupper(struct kc_buf *b)
{
	kc_byte(b, 0xC5);
	kc_byte(b, 0xF8);
	kc_byte(b, 0x77);
}

void kc_cpuid(struct kc_buf *b)
{
	kc_byte(b, 0x0F);
	kc_byte(b, 0xA2);
}

/* MOV to/from control registers ignore ModRM.mod and always take a
 * register operand (SDM Vol. 2 MOV-Move to/from Control Registers). */
void kc_mov_from_cr(struct kc_buf *b, unsigned cr, enum kc_reg dst)
{
	if (dst >= KC_R8)
		kc_byte(b, 0x40 | REX_B);
	kc_byte(b, 0x0F);
	kc_byte(b, 0x20);
	kc_byte(b, modrm(3, cr, dst));
}

void kc_mov_to_cr(struct kc_buf *b, unsigned cr, enum kc_reg src)
{
	if (src >= KC_R8)
		kc_byte(b, 0x40 | REX_B);
	kc_byte(b, 0x0F);
	kc_byte(b, 0x22);
	kc_byte(b, modrm(3, cr, src));
}

void kc_clts(struct kc_buf *b)
{
	kc_byte(b, 0x0F);
	kc_byte(b, 0x06);
}

void kc_bit(struct kc_buf *b, enum kc_reg reg, unsigned bit, bool set)
{
	kc_byte(b, (uint8_t)(REX_W | (reg >= KC_R8 ? REX_B : 0)));
	kc_byte(b, 0x0F);
	kc_byte(b, 0xBA);
	kc_byte(b, modrm(3, set ? 5 : 6, reg));
	kc_byte(b, (uint8_t)(bit & 63));
}
