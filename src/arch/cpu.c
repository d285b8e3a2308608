/* One logical processor: life cycle, copy/compare/hash, observers, control
 * state, and the pieces every instruction shares (fault reasons, the XSAVE
 * prologue, layout caches, initial configurations). */
#include <stdio.h>
#include <stdlib.h>

#include "arch/cpu_internal.h"

const char *xs_fault_name(enum xs_fault f)
{
	switch (f) {
	case XS_OK: return "";
	case XS_UD: return "#UD";
	case XS_NM: return "#NM";
	case XS_GP: return "#GP";
	case XS_AC: return "#AC";
	case XS_PF: return "#PF";
	}
	return "#?";
}

enum xs_fault xsi_fault(struct xs_cpu *c, enum xs_fault f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return f;
}

const char *xs_cpu_fault_reason(const struct xs_cpu *c)
{
	return c->reason;
}

/* Register file layout: legacy region, then one 64-byte aligned block per
 * supported component i >= 2 (user or supervisor) of its CPUID size. */
static uint32_t plan_regs(struct xs_cpu *c, const struct xs_model *m)
{
	uint64_t all = (m->xcr0_supported | m->xss_supported) & ~XS_COMPACTED_BIT;
	uint32_t cur = XS_LEGACY_SIZE;

	c->present = XS_MASK_FPSSE;
	c->rsize[XS_C_X87] = 160;
	c->rsize[XS_C_SSE] = 256;
	for (unsigned i = 2; i < 63; i++) {
		if (!(all & XS_BIT(i)) || m->comp[i].size == 0)
			continue;
		cur = (cur + 63u) & ~63u;
		c->roff[i] = cur;
		c->rsize[i] = m->comp[i].size;
		cur += m->comp[i].size;
		c->present |= XS_BIT(i);
	}
	return (cur + 63u) & ~63u;
}

static void plan_hash(struct xs_cpu *c);

struct xs_cpu *xs_cpu_new(const struct xs_model *m)
{
	struct xs_cpu tmp, *c;
	uint32_t regs_size;

	memset(&tmp, 0, sizeof(tmp));
	regs_size = plan_regs(&tmp, m);
	c = aligned_alloc(64, (sizeof(*c) + regs_size + 63u) & ~(size_t)63u);
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c)); /* the register file: xs_cpu_reset() below */
	c->hash_blocks = (sizeof(c->st) + regs_size) / 64;
	c->hash_zero = malloc(c->hash_blocks * sizeof(uint64_t));
	if (!c->hash_zero) {
		free(c);
		return NULL;
	}
	c->model = *m;
	plan_regs(c, m);
	c->regs_size = regs_size;
	c->user_mask = c->present & ~m->xss_supported;
	c->mxcsr_mask = m->impl.mxcsr_mask ? m->impl.mxcsr_mask : 0xFFBFu;
	c->mxcsr_mask_img = m->impl.mxcsr_mask;
#if defined(__x86_64__)
	c->host_avx2 = __builtin_cpu_supports("avx2");
#endif
	c->canon_bits = m->feat.linear_bits >= 32 && m->feat.linear_bits <= 64 ?
			m->feat.linear_bits : 48;
	if (c->present & XS_BIT(XS_C_LBR) && c->rsize[XS_C_LBR] >= 40 + 24 * 8) {
		uint32_t n = (c->rsize[XS_C_LBR] - 40) / 24;
		if (n > 64)
			n = 64;
		c->lbr_max_depth = (uint8_t)(n & ~7u);
	}
	plan_hash(c);
	xs_cpu_reset(c);
	return c;
}

void xs_cpu_free(struct xs_cpu *c)
{
	if (!c)
		return;
	free(c->hash_zero);
	free(c);
}

const struct xs_model *xs_cpu_model(const struct xs_cpu *c)
{
	return &c->model;
}

/* Initial configuration (SDM 13.6). */
void xsi_comp_init(struct xs_cpu *c, unsigned i)
{
	uint8_t *r;

	/* Added by helper D2 (simulator speed): a user component whose XINUSE
	 * bit is clear is already in its initial configuration (SDM 13.6), so
	 * there is nothing to write. Saves clearing 8 KiB of tile data on every
	 * task restore (Linux's restore RFBM always includes XTILEDATA). Every
	 * writer of user registers sets XINUSE (touch()/restore), so the bit
	 * being clear really means "init"; x87/SSE have non-zero init values and
	 * always take the full path.
	 * Reviewer R3: the same holds for the supervisor components whose
	 * initial configuration is all zeros (PASID, CET, UINTR, PT): their
	 * writers (WRMSR, XRSTORS loads) set XINUSE too, and XSAVES's side
	 * effects (UINV, TraceEn := 0) only move them towards init; checked
	 * with an assertion over the whole test suite. LBR (DEPTH is kept), HDC
	 * and HWP (non-zero init) always take the full path. */
	if (i >= 2 && c->model.impl.xinuse_tracking && !(c->st.xinuse & XS_BIT(i)) &&
	    !(XSI_NONZERO_INIT & XS_BIT(i)))
		return;

	switch (i) {
	case XS_C_X87:
		/* FCW=037FH, FSW=0, FTW=FFFFH (abridged 00H), FOP=FIP=FDP=0, ST0-7 zero. */
		memset(c->regs, 0, LEG_MXCSR);
		bigzero(c->regs + LEG_ST, LEG_XMM - LEG_ST);
		st16(c->regs + LEG_FCW, XS_FCW_DEFAULT);
		return;
	case XS_C_SSE:
		/* XMM0-15 zero; MXCSR is not part of the initial-configuration test. */
		bigzero(c->regs + LEG_XMM, LEG_END - LEG_XMM);
		return;
	}
	r = creg(c, i);
	switch (i) {
	case XS_C_LBR: {
		/* All LBR MSRs zero except IA32_LBR_DEPTH, which keeps its value (13.5.12). */
		uint64_t depth = ld64(r + 8);
		memset(r, 0, c->rsize[i]);
		st64(r + 8, depth);
		return;
	}
	case XS_C_HDC:
		memset(r, 0, c->rsize[i]);
		st64(r, 1); /* IA32_PM_CTL1 = 1 (13.5.10) */
		return;
	case XS_C_HWP:
		memset(r, 0, c->rsize[i]);
		st64(r, 0x8000FF01u); /* IA32_HWP_REQUEST (13.5.13) */
		return;
	default:
		memset(r, 0, c->rsize[i]);
	}
}

void xsi_init_image(const struct xs_cpu *c, unsigned i, uint8_t *dst)
{
	switch (i) {
	case XS_C_X87:
		memset(dst, 0, LEG_MXCSR);
		memset(dst + LEG_ST, 0, LEG_XMM - LEG_ST);
		st16(dst + LEG_FCW, XS_FCW_DEFAULT);
		return;
	case XS_C_SSE:
		memset(dst + LEG_XMM, 0, LEG_END - LEG_XMM);
		return;
	case XS_C_HDC:
		memset(dst, 0, c->rsize[i]);
		st64(dst, 1);
		return;
	case XS_C_HWP:
		memset(dst, 0, c->rsize[i]);
		st64(dst, 0x8000FF01u);
		return;
	default:
		memset(dst, 0, c->rsize[i]);
	}
}

typedef uint64_t v2u64 __attribute__((vector_size(16)));

/* n bytes of zero? 16-byte vector ORs (SSE2, any x86-64), then the tail. */
static bool all_zero(const uint8_t *p, size_t n)
{
	v2u64 acc = { 0, 0 };
	uint64_t t = 0;
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		v2u64 q;
		memcpy(&q, p + i, 16);
		acc |= q;
	}
	for (; i < n; i++)
		t |= p[i];
	return !(acc[0] | acc[1] | t);
}

#if defined(__x86_64__)
typedef uint64_t v4u64 __attribute__((vector_size(32)));
__attribute__((target("avx2"))) static uint64_t copy_or_avx2(uint8_t *d, const uint8_t *s, size_t n)
{
	v4u64 acc = { 0, 0, 0, 0 };
	uint64_t t = 0;
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		v4u64 q;
		memcpy(&q, s + i, 32);
		memcpy(d + i, &q, 32);
		acc |= q;
	}
	for (; i < n; i += 8) {
		uint64_t w = ld64(s + i);
		st64(d + i, w);
		t |= w;
	}
	return acc[0] | acc[1] | acc[2] | acc[3] | t;
}
#endif

static uint64_t copy_or_sse2(uint8_t *d, const uint8_t *s, size_t n)
{
	v2u64 acc = { 0, 0 };
	uint64_t t = 0;
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		v2u64 q;
		memcpy(&q, s + i, 16);
		memcpy(d + i, &q, 16);
		acc |= q;
	}
	for (; i < n; i += 8) {
		uint64_t w = ld64(s + i);
		st64(d + i, w);
		t |= w;
	}
	return acc[0] | acc[1] | t;
}

uint64_t xsi_copy_or(const struct xs_cpu *c, uint8_t *dst, const uint8_t *src, size_t n)
{
#if defined(__x86_64__)
	if (c->host_avx2)
		return copy_or_avx2(dst, src, n);
#endif
	return copy_or_sse2(dst, src, n);
}

bool xsi_comp_is_init(const struct xs_cpu *c, unsigned i)
{
	const uint8_t *r;

	switch (i) {
	case XS_C_X87:
		r = c->regs;
		return ld16(r + LEG_FCW) == XS_FCW_DEFAULT && ld32(r + LEG_FSW) == 0 &&
		       all_zero(r + LEG_ST, LEG_XMM - LEG_ST);
	case XS_C_SSE:
		return all_zero(c->regs + LEG_XMM, LEG_END - LEG_XMM);
	case XS_C_LBR:
		return false;
	case XS_C_HDC:
		return ld64(ccreg(c, i)) == 1 && all_zero(ccreg(c, i) + 8, c->rsize[i] - 8);
	case XS_C_HWP:
		return ld64(ccreg(c, i)) == 0x8000FF01u && all_zero(ccreg(c, i) + 8, c->rsize[i] - 8);
	}
	return all_zero(ccreg(c, i), c->rsize[i]);
}

/* State after RESET (SDM 9.1, 13.3): XCR0=1, IA32_XSS=IA32_XFD=XFD_ERR=0,
 * CR4.OSXSAVE=CR0.TS=0, every component in its initial configuration with
 * MXCSR=1F80H, XINUSE=0, XMODIFIED all ones, no XRSTOR_INFO. */
void xs_cpu_reset(struct xs_cpu *c)
{
	memset(&c->st, 0, sizeof(c->st) + c->regs_size);
	c->st.xcr0 = XS_BIT(XS_C_X87);
	c->st.xinuse = c->model.impl.xinuse_tracking ? 0 : c->present;
	c->st.xmodified = ~0ULL;
	c->st.mxcsr_modified = 1;
	for (unsigned i = 0; i < 63; i++)
		if (c->present & XS_BIT(i))
			xsi_comp_init(c, i);
	st32(c->regs + LEG_MXCSR, XS_MXCSR_DEFAULT);
	st32(c->regs + LEG_MXCSR_MASK, c->mxcsr_mask_img);
	/* IA32_LBR_DEPTH resets to the deepest supported value. */
	if (c->present & XS_BIT(XS_C_LBR))
		st64(creg(c, XS_C_LBR) + 8, c->lbr_max_depth);
	c->std_key = 0;
	c->std_end = XS_EXT_OFFSET;
	c->reason[0] = '\0';
}

void xs_cpu_copy(struct xs_cpu *dst, const struct xs_cpu *src)
{
	if (dst == src)
		return;
	if (dst->regs_size != src->regs_size) {
		/* Programming error: the API requires CPUs of the same model. */
		fprintf(stderr, "xs_cpu_copy: CPUs of different models (%s, %s)\n",
			dst->model.name, src->model.name);
		abort();
	}
	memcpy(&dst->st, &src->st, sizeof(src->st) + src->regs_size);
}

bool xs_cpu_equal(const struct xs_cpu *a, const struct xs_cpu *b)
{
	if (a->regs_size != b->regs_size)
		return false;
	return memcmp(&a->st, &b->st, sizeof(a->st) + a->regs_size) == 0;
}

/* Hash of all state, for the explorer's state dedup. The state region is
 * hashed in 64-byte blocks; each 16-byte chunk is mixed on its own by a
 * 64x64->128-bit multiply of its two words, each XORed with a key that
 * depends on the block's position (so swapping two registers changes the
 * hash), and the block values are summed: no dependency chain, about one
 * multiply per 16 bytes. All-zero blocks (most of an AMX or AVX-512 register
 * file) are skipped: their contribution is precomputed per CPU (zero_hash),
 * so hash = sum over every block, computed as zero_total + sum over the
 * non-zero blocks of (value - value of a zero block). */
#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x27D4EB2F165667C5ULL
static inline uint64_t rotl64(uint64_t x, unsigned r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t mix128(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t block_value(const uint64_t w[8], uint64_t k)
{
	return mix128(w[0] ^ k, w[1] ^ (k ^ P2)) +
	       rotl64(mix128(w[2] ^ (k + P2), w[3] ^ (k ^ P4)), 17) +
	       rotl64(mix128(w[4] ^ (k + P4), w[5] ^ (k ^ P3)), 31) +
	       rotl64(mix128(w[6] ^ (k - P2), w[7] ^ (k ^ P1)), 47);
}

static inline uint64_t block_key(size_t b)
{
	return P1 + (uint64_t)b * P3;
}

static void plan_hash(struct xs_cpu *c)
{
	static const uint64_t zero[8];

	c->hash_zero_total = 0;
	for (size_t b = 0; b < c->hash_blocks; b++) {
		c->hash_zero[b] = block_value(zero, block_key(b));
		c->hash_zero_total += c->hash_zero[b];
	}
}

uint64_t xs_cpu_hash(const struct xs_cpu *c)
{
	const uint8_t *p = (const uint8_t *)&c->st;
	uint64_t acc = c->hash_zero_total, h;

	for (size_t b = 0; b < c->hash_blocks; b++, p += 64) {
		v2u64 q[4], any;
		uint64_t w[8];

		/* Zero test with 16-byte vector loads (SSE2, any x86-64). */
		memcpy(q, p, 64);
		any = (q[0] | q[1]) | (q[2] | q[3]);
		if (!(any[0] | any[1]))
			continue;
		memcpy(w, p, 64);
		acc += block_value(w, block_key(b)) - c->hash_zero[b];
	}
	h = acc ^ c->hash_blocks;
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}

/* Control state. */
void xs_set_cpl(struct xs_cpu *c, int cpl)
{
	c->st.cpl = (uint8_t)(cpl & 3);
}

int xs_cpl(const struct xs_cpu *c)
{
	return c->st.cpl;
}

/* MOV to CR4 #GP if it sets OSXSAVE without CPUID.01H:ECX.XSAVE (13.2). */
enum xs_fault xs_set_cr4_osxsave(struct xs_cpu *c, bool on)
{
	if (on && !c->model.feat.xsave)
		return xsi_fault(c, XS_GP, "MOV CR4: OSXSAVE set but CPUID.01H:ECX.XSAVE = 0 (SDM 13.2)");
	c->st.cr4_osxsave = on;
	return XS_OK;
}

bool xs_cr4_osxsave(const struct xs_cpu *c)
{
	return c->st.cr4_osxsave;
}

/* MOV to CR4 #GP if it sets PKE without CPUID.07H:ECX.PKU (SDM Vol. 3 2.5). */
enum xs_fault xs_set_cr4_pke(struct xs_cpu *c, bool on)
{
	if (on && !c->model.feat.pku)
		return xsi_fault(c, XS_GP, "MOV CR4: PKE set but CPUID.(07H,0):ECX.PKU = 0");
	c->st.cr4_pke = on;
	return XS_OK;
}

bool xs_cr4_pke(const struct xs_cpu *c)
{
	return c->st.cr4_pke;
}

void xs_set_cr0_ts(struct xs_cpu *c, bool ts)
{
	c->st.cr0_ts = ts;
}

bool xs_cr0_ts(const struct xs_cpu *c)
{
	return c->st.cr0_ts;
}

void xs_set_alignment_check(struct xs_cpu *c, bool on)
{
	c->st.align_check = on;
}

void xs_set_vmx_nonroot(struct xs_cpu *c, bool on)
{
	c->st.vmx_nonroot = on;
}

/* Observers. */
uint64_t xs_xcr0(const struct xs_cpu *c) { return c->st.xcr0; }
uint64_t xs_xss(const struct xs_cpu *c) { return c->st.xss; }
uint64_t xs_xfd(const struct xs_cpu *c) { return c->st.xfd; }
uint64_t xs_xfd_err(const struct xs_cpu *c) { return c->st.xfd_err; }
uint64_t xs_xinuse(const struct xs_cpu *c) { return c->st.xinuse; }
uint64_t xs_xmodified(const struct xs_cpu *c) { return c->st.xmodified; }
uint32_t xs_mxcsr(const struct xs_cpu *c) { return cpu_mxcsr(c); }

const uint8_t *xs_comp_regs(const struct xs_cpu *c, unsigned comp)
{
	if (comp >= 63 || !(c->present & XS_BIT(comp)))
		return NULL;
	return ccreg(c, comp);
}

enum xs_fault xsi_misaligned(struct xs_cpu *c, const char *insn, const void *mem)
{
	/* The SDM allows #AC instead of #GP when alignment checking is on at
	 * CPL 3 (Vol. 2 XSAVE "#AC"); impl.xsave_misalign_ac picks #AC. The
	 * AMD host raises #GP. */
	if (c->st.align_check && c->st.cpl == 3 && c->model.impl.xsave_misalign_ac)
		return xsi_fault(c, XS_AC,
				 "%s: operand %p not 64-byte aligned with alignment checking at CPL 3 (SDM Vol. 2 %s #AC)",
				 insn, mem, insn);
	return xsi_fault(c, XS_GP, "%s: operand %p not 64-byte aligned (SDM 13.4)", insn, mem);
}

enum xs_fault xsi_prologue_fault(struct xs_cpu *c, const char *insn, bool feature,
				 const char *feature_name, bool cpl0_only, const void *mem)
{
	if (!c->model.feat.xsave)
		return xsi_fault(c, XS_UD, "%s: CPUID.01H:ECX.XSAVE = 0 (SDM 13.2)", insn);
	if (!feature)
		return xsi_fault(c, XS_UD, "%s: %s = 0, the instruction is not supported (SDM 13.2)",
				 insn, feature_name);
	if (!c->st.cr4_osxsave)
		return xsi_fault(c, XS_UD, "%s: CR4.OSXSAVE = 0 (SDM 13.3)", insn);
	if (c->st.cr0_ts)
		return xsi_fault(c, XS_NM, "%s: CR0.TS = 1 (SDM Vol. 2 %s exceptions)", insn, insn);
	if (cpl0_only && c->st.cpl != 0)
		return xsi_fault(c, XS_GP, "%s: CPL %u > 0, the instruction is privileged (SDM 13.11/13.12)",
				 insn, c->st.cpl);
	return xsi_misaligned(c, insn, mem);
}

const uint32_t *xsi_compacted_fill(struct xs_cpu *c, uint64_t xcomp_bv)
{
	struct xs_layout l;
	struct xs_lcache *e;

	e = &c->lc[c->lc_next++ % XS_LCACHE_N];
	xs_layout_compacted(&c->model, xcomp_bv, &l);
	memcpy(e->off, l.offset, sizeof(e->off));
	e->key = xcomp_bv;
	return e->off;
}

uint32_t xsi_std_end(struct xs_cpu *c, uint64_t mask)
{
	uint64_t m = mask & ~XS_MASK_FPSSE;
	uint32_t end = XS_EXT_OFFSET;

	if (mask == c->std_key)
		return c->std_end;
	while (m) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		uint32_t e = c->model.comp[i].offset + c->rsize[i];
		m &= m - 1;
		if (e > end)
			end = e;
	}
	c->std_key = mask;
	c->std_end = end;
	return end;
}
