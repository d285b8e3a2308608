/* Private layout of struct xs_cpu, shared by the files of src/arch that
 * implement the instructions (cpu.c, regs.c, xcr.c, msr.c, xsave.c,
 * xrstor.c, supervisor.c, insn_misc.c). Nothing outside src/arch includes it.
 *
 * The register file is kept as XSAVE-image bytes so that saves and restores
 * are memcpy's:
 *   - regs[0..511]: the legacy region in FXSAVE layout, 64-bit form (SDM
 *     13.4.1). x87 owns bytes 0-23 and 32-159, SSE owns MXCSR (24-27) and
 *     XMM0-15 (160-415). Bytes 28-31 (MXCSR_MASK) and every reserved byte
 *     stay zero. Bytes 28-31 always hold the model's MXCSR_MASK (a constant
 *     of the model, not state), so a save of x87+SSE is one memcpy and a
 *     restore that reads back a saved image is one memcpy too.
 *   - one block per other supported component (user or supervisor), of the
 *     size CPUID.(0DH,i).EAX enumerates, laid out as the component's image.
 * Reserved bits and bytes inside the blocks are kept zero by every writer, so
 * a save never has to scrub them.
 */
#ifndef XSTATE_ARCH_CPU_INTERNAL_H
#define XSTATE_ARCH_CPU_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "xstate/cpu.h"

/* Legacy region (FXSAVE64 layout, SDM 13.4.1 table 13-1). */
#define LEG_FCW 0u
#define LEG_FSW 2u
#define LEG_FTW 4u   /* abridged tag byte; byte 5 reserved */
#define LEG_FOP 6u
#define LEG_FIP 8u   /* 64-bit FIP in the REX.W forms */
#define LEG_FDP 16u  /* 64-bit FDP in the REX.W forms */
#define LEG_MXCSR 24u
#define LEG_MXCSR_MASK 28u
#define LEG_ST 32u   /* ST0-7: 16-byte slots, 10 bytes used */
#define LEG_XMM 160u /* XMM0-15 */
#define LEG_END 416u /* bytes 416-511 are never written by XSAVE* */

#define HDR_XSTATE_BV 512u
#define HDR_XCOMP_BV 520u

#define FSW_ES 0x0080u
#define FSW_B 0x8000u

/* Everything compared by xs_cpu_equal, hashed by xs_cpu_hash and copied by
 * xs_cpu_copy, apart from the register bytes that follow it. Exactly 128
 * bytes with no padding holes, so the whole region is one memcmp/memcpy. */
struct xs_cpu_state {
	uint64_t xcr0;
	uint64_t xss;            /* IA32_XSS */
	uint64_t xfd;            /* IA32_XFD */
	uint64_t xfd_err;        /* IA32_XFD_ERR */
	uint64_t xinuse;
	uint64_t xmodified;
	uint64_t s_cet;          /* IA32_S_CET: CET state that XSAVE does not manage */
	uint64_t rinfo_la;       /* XRSTOR_INFO: linear address */
	uint64_t rinfo_xcomp_bv; /* XRSTOR_INFO: XCOMP_BV (0 for the standard form) */
	/* Segment state (segment.c, helper H5b): FS/GS hidden bases, the
	 * other GS base SWAPGS exchanges, the selectors. RESET: all zero. */
	uint64_t fs_base;
	uint64_t gs_base;
	uint64_t kernel_gs_base; /* IA32_KERNEL_GS_BASE */
	uint16_t fs_sel;
	uint16_t gs_sel;
	uint8_t rinfo_valid;     /* no XRSTOR_INFO after RESET */
	uint8_t rinfo_cpl;
	uint8_t rinfo_vmxnr;
	uint8_t cpl;
	uint8_t cr0_ts;
	uint8_t cr4_osxsave;
	uint8_t cr4_pke;
	uint8_t align_check;     /* CR0.AM and EFLAGS.AC */
	uint8_t vmx_nonroot;
	/* MXCSR written since the last restore of SSE. XMODIFIED[1] covers
	 * the XMM registers only, as XINUSE[1] does: on the AMD host an
	 * LDMXCSR after XRSTOR does not make XSAVEOPT write the XMMs (MXCSR
	 * itself XSAVEOPT always writes). XSAVES, which saves MXCSR only with
	 * SSE, looks at this flag too. */
	uint8_t mxcsr_modified;
	uint8_t cr4_fsgsbase;    /* CR4.FSGSBASE (segment.c) */
	uint8_t pad[128 - 12 * 8 - 2 * 2 - 11];
};

#define XS_LCACHE_N 4

/* Compacted offsets for one XCOMP_BV (key has bit 63 set; 0 = empty slot). */
struct xs_lcache {
	uint64_t key;
	uint32_t off[64];
};

struct xs_cpu {
	struct xs_model model;   /* private copy: the CPU outlives the caller's model */
	uint64_t present;        /* components with registers (0, 1 and blocks i >= 2) */
	uint64_t user_mask;      /* present user components */
	uint32_t mxcsr_mask;     /* loads #GP outside it: impl.mxcsr_mask, 0 read as FFBFH (SDM 11.6.6) */
	uint32_t mxcsr_mask_img; /* what saves store in bytes 28-31 (impl.mxcsr_mask as is) */
	uint32_t regs_size;      /* bytes of regs[], a multiple of 64 */
	uint32_t roff[64];       /* offset of component i's block in regs[] */
	uint32_t rsize[64];      /* its size (CPUID.(0DH,i).EAX); 0 if absent */
	uint8_t lbr_max_depth;   /* LBR records the component has room for */
	uint8_t canon_bits;      /* linear-address width for canonical checks */
	bool host_avx2;          /* the host running the model has AVX2 (copy loops) */

	/* Layout caches (not state). */
	uint64_t std_key;        /* mask whose standard-format end is std_end */
	uint32_t std_end;
	unsigned lc_next;
	struct xs_lcache lc[XS_LCACHE_N];

	char reason[256];        /* why the last faulting instruction faulted */

	/* GDTR/LDTR (segment.c): descriptor tables in host memory the OS
	 * owns. Host pointers: not part of the compared/copied state. */
	const uint64_t *gdt, *ldt;
	uint32_t gdt_n, ldt_n;

	/* xs_cpu_hash: value of an all-zero 64-byte block at each position. */
	size_t hash_blocks;
	uint64_t *hash_zero;
	uint64_t hash_zero_total;

	_Alignas(64) struct xs_cpu_state st;
	uint8_t regs[];          /* register file, regs_size bytes */
};

_Static_assert(sizeof(struct xs_cpu_state) == 128, "state header has no holes");

/* The hot paths of the instructions are a handful of small functions;
 * inlining them keeps their many arguments in registers. */
#define XS_HOT static inline __attribute__((always_inline))

/* Unaligned little-endian accessors (x86 is little-endian; memcpy keeps the
 * compiler honest about aliasing and compiles to one move). */
static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* memcpy for copies of a few hundred bytes. With a constant size GCC
 * inlines "rep movsq", which costs more than the whole instruction should on
 * AMD; hiding the size makes it call libc's vectorized memcpy. */
static inline void bigcopy(void *dst, const void *src, size_t n)
{
	__asm__("" : "+r"(n));
	memcpy(dst, src, n);
}

/* memset(0) counterpart of bigcopy: a constant 128 or 256 becomes "rep
 * stosq", the costliest part of an x87/SSE initialization on AMD. */
static inline void bigzero(void *dst, size_t n)
{
	__asm__("" : "+r"(n));
	memset(dst, 0, n);
}

static inline uint8_t *creg(struct xs_cpu *c, unsigned i) { return c->regs + c->roff[i]; }
static inline const uint8_t *ccreg(const struct xs_cpu *c, unsigned i)
{
	return c->regs + c->roff[i];
}

static inline uint32_t cpu_mxcsr(const struct xs_cpu *c) { return ld32(c->regs + LEG_MXCSR); }

/* XFD is armed for i iff XCR0[i] = IA32_XFD[i] = 1 (SDM 13.14). */
static inline uint64_t xfd_armed(const struct xs_cpu *c) { return c->st.xcr0 & c->st.xfd; }

/* A write to component(s) mask: in use (unless the write leaves it init,
 * which callers handle) and modified (SDM 13.6). */
static inline void touch(struct xs_cpu *c, uint64_t mask)
{
	c->st.xinuse |= mask;
	c->st.xmodified |= mask;
}

/* The component went back to its initial configuration through an
 * instruction that may clear XINUSE (VZEROUPPER, TILERELEASE, a restore
 * that initializes it): XINUSE[i] may become 0 (13.6). */
static inline void became_init(struct xs_cpu *c, uint64_t mask)
{
	if (c->model.impl.xinuse_tracking)
		c->st.xinuse &= ~mask;
	c->st.xmodified |= mask;
}

/* End of the compacted area for the components of sub, all in the format
 * whose offsets are off: offsets grow with the component number, so it is
 * the end of the highest one (13.4.3). At least 576. */
static inline uint32_t compacted_end_of(const struct xs_cpu *c, const uint32_t *off, uint64_t sub)
{
	unsigned h;
	uint32_t end;

	sub &= ~(XS_MASK_FPSSE | XS_COMPACTED_BIT);
	if (!sub)
		return XS_EXT_OFFSET;
	h = 63u - (unsigned)__builtin_clzll(sub);
	end = off[h] + c->rsize[h];
	return end > XS_EXT_OFFSET ? end : XS_EXT_OFFSET;
}

/* Copy n bytes (a multiple of 8) and return the OR of all of them as
 * 64-bit words (0: all zero). AVX2 when the host has it. */
uint64_t xsi_copy_or(const struct xs_cpu *c, uint8_t *dst, const uint8_t *src, size_t n);

/* Component i in its initial configuration (SDM 13.6), judged as the AMD
 * host judges it for XINUSE: x87 by FCW, FSW, the abridged tags and ST0-7
 * (FOP, FIP and FDP are not looked at), SSE by XMM0-15 (not MXCSR). LBR is
 * never reported init (its XINUSE has its own rules). */
bool xsi_comp_is_init(const struct xs_cpu *c, unsigned i);

/* XINUSE after a write to x87: set, or with impl.x87_xinuse_by_value the
 * x87 values decide (13.6 allows either). */
static inline void touch_x87(struct xs_cpu *c)
{
	touch(c, XS_BIT(XS_C_X87));
	if (c->model.impl.x87_xinuse_by_value && c->model.impl.xinuse_tracking &&
	    xsi_comp_is_init(c, XS_C_X87))
		c->st.xinuse &= ~XS_BIT(XS_C_X87);
}

static inline bool canonical(const struct xs_cpu *c, uint64_t v)
{
	unsigned sh = 64u - c->canon_bits;
	return (uint64_t)((int64_t)(v << sh) >> sh) == v;
}

static inline uint64_t canonicalize(const struct xs_cpu *c, uint64_t v)
{
	unsigned sh = 64u - c->canon_bits;
	return (uint64_t)((int64_t)(v << sh) >> sh);
}

/* Record the fault reason (printf-style) and return f. */
__attribute__((format(printf, 3, 4)))
enum xs_fault xsi_fault(struct xs_cpu *c, enum xs_fault f, const char *fmt, ...);

/* The fault paths of xsi_xsave_prologue (out of line, cold). */
enum xs_fault xsi_prologue_fault(struct xs_cpu *c, const char *insn, bool feature,
				 const char *feature_name, bool cpl0_only, const void *mem);
enum xs_fault xsi_misaligned(struct xs_cpu *c, const char *insn, const void *mem);

/* Common prologue of the XSAVE family, in the order of the SDM's exception
 * tables (13.7-13.12, spec section 6): #UD (no XSAVE, sub-feature not
 * enumerated, CR4.OSXSAVE = 0), #NM (CR0.TS), #GP for CPL > 0 when
 * cpl0_only, then #GP/#AC for an operand not 64-byte aligned. */
static inline enum xs_fault xsi_xsave_prologue(struct xs_cpu *c, const char *insn, bool feature,
					       const char *feature_name, bool cpl0_only,
					       const void *mem)
{
	if (__builtin_expect(!c->model.feat.xsave || !feature || !c->st.cr4_osxsave ||
			     c->st.cr0_ts || (cpl0_only && c->st.cpl != 0) ||
			     ((uintptr_t)mem & 63u), 0))
		return xsi_prologue_fault(c, insn, feature, feature_name, cpl0_only, mem);
	return XS_OK;
}

/* Compacted offsets for xcomp_bv (bit 63 set), from a small cache keyed by
 * XCOMP_BV (the layout depends on nothing else). */
const uint32_t *xsi_compacted_fill(struct xs_cpu *c, uint64_t xcomp_bv);
static inline const uint32_t *xsi_compacted_offsets(struct xs_cpu *c, uint64_t xcomp_bv)
{
	for (unsigned i = 0; i < XS_LCACHE_N; i++)
		if (c->lc[i].key == xcomp_bv)
			return c->lc[i].off;
	return xsi_compacted_fill(c, xcomp_bv);
}
/* Bytes of the run of components that starts at the lowest one of *rest
 * (i) and in which each next component of *rest follows the previous one
 * directly both in the image (offsets off) and in the register file, so
 * one memcpy moves them all; the run is removed from *rest. (With XSAVES
 * on the Intel models AVX, the AVX-512 components and the rest of a
 * switch's state are one run.) */
static inline uint32_t xsi_run_len(const struct xs_cpu *c, const uint32_t *off, unsigned i,
				   uint64_t *rest)
{
	uint32_t len = c->rsize[i];

	*rest &= *rest - 1;
	while (*rest) {
		unsigned n = (unsigned)__builtin_ctzll(*rest);

		if (off[n] != off[i] + len || c->roff[n] != c->roff[i] + len)
			break;
		len += c->rsize[n];
		*rest &= *rest - 1;
	}
	return len;
}

/* End (bytes from the base) of the standard-format components in mask,
 * at least 576. */
uint32_t xsi_std_end(struct xs_cpu *c, uint64_t mask);

/* Initial configuration of component i in the register file (SDM 13.6). For
 * SSE only the XMM registers: MXCSR is the caller's business. */
void xsi_comp_init(struct xs_cpu *c, unsigned i);
/* Components whose initial configuration is not all zeros. */
#define XSI_NONZERO_INIT (XS_BIT(XS_C_LBR) | XS_BIT(XS_C_HDC) | XS_BIT(XS_C_HWP))
/* The components xsi_comp_init() may change; it returns at once for the
 * others (so callers on hot paths need not call it for them). */
static inline uint64_t xsi_init_may_write(const struct xs_cpu *c)
{
	return c->model.impl.xinuse_tracking ? c->st.xinuse | XSI_NONZERO_INIT | XS_MASK_FPSSE
					     : ~0ULL;
}
/* Write the initial configuration of user component i as an image. */
void xsi_init_image(const struct xs_cpu *c, unsigned i, uint8_t *dst);

/* x87 fields as an FXRSTOR/XRSTOR load leaves them (measured on the host,
 * see regs.c): FCW bits 15:13 and 7 clear, bit 6 set; FSW.ES/B recomputed;
 * FOP 11 bits; FIP/FDP canonical; reserved bytes zero. */
void xsi_x87_normalize(struct xs_cpu *c);
/* TOP changes from old_top to new_top without moving data: rotate the ST
 * slots so the physical registers keep their values, and set FSW.TOP. */
void xsi_x87_set_top(struct xs_cpu *c, unsigned old_top, unsigned new_top);
/* TILECFG image valid for LDTILECFG (SDM Vol. 2 LDTILECFG)? NULL if so. */
const char *xsi_tilecfg_invalid(const uint8_t *cfg);

/* Supervisor components (supervisor.c). */
/* Checks XRSTORS makes before touching any state when RFBM[i]=1 (restore or
 * initialize): UINTR's UINV, PT's TraceEn. false with c->reason set. */
bool xsi_sup_precheck(struct xs_cpu *c, unsigned i);
/* The components xsi_sup_precheck() can refuse; for all others it is true. */
#define XSI_SUP_PRECHECK_MASK (XS_BIT(XS_C_UINTR) | XS_BIT(XS_C_PT))
/* Value checks on an image XRSTORS would load (the WRMSR checks plus reserved
 * bytes). false with c->reason set. */
bool xsi_sup_check_image(struct xs_cpu *c, unsigned i, const uint8_t *img);
/* Load an image that passed the check; returns false if XINUSE[i] must be
 * left as it was (LBR with a depth mismatch, 13.5.12). */
bool xsi_sup_load(struct xs_cpu *c, unsigned i, const uint8_t *img);
/* Bytes XSAVES writes for component i (LBR: singletons and DEPTH records). */
uint32_t xsi_sup_save_len(const struct xs_cpu *c, unsigned i);
/* Side effects of XSAVES after saving (UINTR clears UINV, PT clears TraceEn). */
void xsi_sup_after_save(struct xs_cpu *c, uint64_t rfbm);

/* MSR backing: the component and byte offset that hold an MSR, or -1. */
int xsi_msr_slot(const struct xs_cpu *c, uint32_t msr, unsigned *comp, unsigned *off);
/* WRMSR value check for an MSR of a supervisor component or IA32_S_CET;
 * old is the current value. false with c->reason set ("WRMSR IA32_U_CET: ..."). */
bool xsi_msr_value_ok(struct xs_cpu *c, const char *insn, uint32_t msr, uint64_t val,
		      uint64_t old);
/* Store a checked value (LBR_DEPTH clears the records, UINTR_MISC keeps UIF). */
void xsi_msr_store(struct xs_cpu *c, uint32_t msr, uint64_t val);
/* The MSR whose 8-byte slot in component comp holds byte off, or -1. */
long xsi_msr_at(const struct xs_cpu *c, unsigned comp, unsigned off);
/* Value as RDMSR returns it. */
uint64_t xsi_msr_load(const struct xs_cpu *c, uint32_t msr);

#endif
