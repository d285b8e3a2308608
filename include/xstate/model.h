/* xstate architecture model: state components, CPU models, layouts.
 *
 * A CPU model (struct xs_model) is everything the architecture exposes about
 * XSAVE on one processor: CPUID leaf 0xD, the leaf 1/6/7/0x80000008 feature bits that gate
 * components, and the implementation choices the SDM leaves open. Models come
 * from text files in the data/cpus format (the same format as
 * ../shared/data/cpuid-xsave), from the built-in copies of those files, or
 * from the host's CPUID.
 *
 * Sources: Intel SDM Vol. 1 ch. 13 ("Managing State Using the XSAVE Feature
 * Set"), Vol. 2A CPUID leaf 0DH.
 */
#ifndef XSTATE_MODEL_H
#define XSTATE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* State component numbers (SDM Vol. 1 13.1). */
enum xs_comp {
	XS_C_X87 = 0,
	XS_C_SSE = 1,
	XS_C_AVX = 2,        /* YMM_Hi128 */
	XS_C_BNDREGS = 3,    /* MPX */
	XS_C_BNDCSR = 4,     /* MPX */
	XS_C_OPMASK = 5,     /* AVX-512 k0-k7 */
	XS_C_ZMM_HI256 = 6,  /* AVX-512 */
	XS_C_HI16_ZMM = 7,   /* AVX-512 */
	XS_C_PT = 8,         /* supervisor */
	XS_C_PKRU = 9,
	XS_C_PASID = 10,     /* supervisor */
	XS_C_CET_U = 11,     /* supervisor */
	XS_C_CET_S = 12,     /* supervisor */
	XS_C_HDC = 13,       /* supervisor */
	XS_C_UINTR = 14,     /* supervisor */
	XS_C_LBR = 15,       /* supervisor (arch LBR) */
	XS_C_HWP = 16,       /* supervisor */
	XS_C_XTILECFG = 17,  /* AMX */
	XS_C_XTILEDATA = 18, /* AMX, XFD-capable */
	XS_C_APX = 19,       /* EGPR R16-R31 */
	XS_NAMED_COMPS = 20,
	XS_MAX_COMPS = 63,   /* bit 63 is never a component */
};

#define XS_BIT(c) (1ULL << (c))
#define XS_LEGACY_SIZE 512u
#define XS_HDR_OFFSET 512u
#define XS_HDR_SIZE 64u
#define XS_EXT_OFFSET 576u
#define XS_COMPACTED_BIT (1ULL << 63)
#define XS_MXCSR_DEFAULT 0x1F80u
#define XS_FCW_DEFAULT 0x037Fu

#define XS_MASK_FPSSE (XS_BIT(XS_C_X87) | XS_BIT(XS_C_SSE))
#define XS_MASK_AVX512 (XS_BIT(XS_C_OPMASK) | XS_BIT(XS_C_ZMM_HI256) | XS_BIT(XS_C_HI16_ZMM))
#define XS_MASK_MPX (XS_BIT(XS_C_BNDREGS) | XS_BIT(XS_C_BNDCSR))
#define XS_MASK_AMX (XS_BIT(XS_C_XTILECFG) | XS_BIT(XS_C_XTILEDATA))
/* Components that can only ever be enabled in IA32_XSS (SDM 13.1, 13.3). */
#define XS_MASK_SUPERVISOR_ARCH                                                  \
	(XS_BIT(XS_C_PT) | XS_BIT(XS_C_PASID) | XS_BIT(XS_C_CET_U) | XS_BIT(XS_C_CET_S) | \
	 XS_BIT(XS_C_HDC) | XS_BIT(XS_C_UINTR) | XS_BIT(XS_C_LBR) | XS_BIT(XS_C_HWP))

/* The architectural facts of a component that do not come from CPUID. */
struct xs_comp_info {
	const char *name;      /* short name used on the command line: "avx", "xtiledata" */
	const char *title;     /* "AVX (YMM_Hi128)" */
	bool supervisor;       /* managed through IA32_XSS */
	bool xsave_enabled;    /* its instructions #UD unless XCR0[i]=1 (13.1) */
	uint32_t arch_size;    /* size the architecture defines (CPUID may differ, e.g. Zen 2 PKRU) */
};

/* NULL for component numbers that have no name. */
const struct xs_comp_info *xs_comp_info(unsigned comp);
/* Short name, or "comp<N>" for unnamed components (static storage per N). */
const char *xs_comp_name(unsigned comp);
/* Component number for a short name (case-insensitive), or -1. */
int xs_comp_lookup(const char *name);

struct xs_cpuid {
	uint32_t eax, ebx, ecx, edx;
};

/* Feature bits of CPUID leaves 1, 7 and 0x80000008 that gate XSAVE components
 * or change XSAVE behaviour. Files that carry no such leaves get values
 * derived from leaf 0xD (model.c derive_features, docs/readme/20-models.md). */
struct xs_features {
	bool xsave;              /* 01H:ECX[26] */
	bool avx;                /* 01H:ECX[28] */
	bool fsgsbase;           /* 07H.0:EBX[0] */
	bool mpx;                /* 07H.0:EBX[14] */
	bool avx512f;            /* 07H.0:EBX[16] */
	bool fcs_fds_deprecated; /* 07H.0:EBX[13]: saves store 0 in FCS/FDS */
	bool pt;                 /* 07H.0:EBX[25] */
	bool pku;                /* 07H.0:ECX[3] */
	bool shstk;              /* 07H.0:ECX[7] (CET shadow stack) */
	bool enqcmd;             /* 07H.0:ECX[29] (PASID) */
	bool ibt;                /* 07H.0:EDX[20] */
	bool uintr;              /* 07H.0:EDX[5] */
	bool arch_lbr;           /* 07H.0:EDX[19] */
	bool amx_tile;           /* 07H.0:EDX[24] */
	bool apx;                /* 07H.1:EDX[21] */
	bool hwp;                /* 06H:EAX[7] */
	bool hdc;                /* 06H:EAX[13] */
	bool xsaveerptr;         /* 80000008H:EBX[2] (AMD: FIP/FDP/FOP always saved) */
	uint8_t linear_bits;     /* 80000008H:EAX[15:8], default 48 */
};

/* Choices the SDM leaves to the implementation (Vol. 1 13.6, 13.9-13.11 and
 * the "implementation-defined" list of spec section 13). Named fields, so a
 * model says what it does instead of the code doing it by accident. Files
 * may set them with "# impl.<field>: <value>" header lines. */
struct xs_impl {
	bool xinuse_tracking;       /* XINUSE is tracked; false: XINUSE[i]=1 for every enabled i */
	bool xrstor_init_clears_xinuse; /* a restore that initializes i clears XINUSE[i] */
	bool xsaveopt_init_opt;     /* XSAVEOPT skips components with XINUSE[i]=0 */
	bool xsaveopt_modified_opt; /* XSAVEOPT skips unmodified components (13.9) */
	bool xsavec_init_opt;       /* XSAVEC skips components with XINUSE[i]=0 (13.10) */
	bool xsaves_init_opt;       /* XSAVES skips components with XINUSE[i]=0 (13.11) */
	bool xsaves_modified_opt;   /* XSAVES skips unmodified components (13.11) */
	uint32_t mxcsr_mask;        /* MXCSR_MASK stored by saves; loads #GP outside it */
	bool x87_errptr_only_if_es; /* AMD without XSaveErPtr: FIP/FDP/FOP saved as 0 unless FSW.ES */
	/* A restore that loads component i with its initial configuration leaves
	 * XINUSE[i] = 0 instead of 1 (measured on the AMD host, spec 15). */
	bool xrstor_load_checks_init;
	/* XINUSE[0] follows the x87 values: FNINIT/FLDCW & co. that leave x87 in
	 * its initial configuration leave XINUSE[0] = 0 (measured on the AMD host). */
	bool x87_xinuse_by_value;
	/* A misaligned XSAVE-family operand at CPL 3 with CR0.AM = EFLAGS.AC = 1
	 * raises #AC instead of #GP (the SDM allows either; the AMD host: #GP). */
	bool xsave_misalign_ac;
};

struct xs_comp_enum {
	uint32_t size;    /* CPUID.(0DH,i).EAX */
	uint32_t offset;  /* CPUID.(0DH,i).EBX, standard format; 0 for supervisor */
	bool supervisor;  /* ECX[0] */
	bool align64;     /* ECX[1]: 64-byte aligned in the compacted format */
	bool xfd;         /* ECX[2]: XFD can be armed for it */
};

/* Feature leaves a model file may carry besides leaf 0DH ("0x7.0 eax=..."). */
enum xs_leaf {
	XS_LEAF_1,        /* 0x1.0 */
	XS_LEAF_6,        /* 0x6.0 */
	XS_LEAF_7_0,      /* 0x7.0 */
	XS_LEAF_7_1,      /* 0x7.1 */
	XS_LEAF_80000008, /* 0x80000008.0 */
	XS_NLEAVES,
};
/* CPUID input (leaf, sub-leaf) of a feature leaf. */
void xs_leaf_id(enum xs_leaf l, uint32_t *leaf, uint32_t *subleaf);

enum xs_vendor { XS_VENDOR_OTHER, XS_VENDOR_INTEL, XS_VENDOR_AMD };

#define XS_MODEL_NAME_MAX 64
#define XS_MODEL_TEXT_MAX 160

struct xs_model {
	char name[XS_MODEL_NAME_MAX];     /* built-in name, file stem, or "host" */
	char source[XS_MODEL_TEXT_MAX];   /* "builtin", a path, or "host CPUID" */
	char title[XS_MODEL_TEXT_MAX];    /* "# name:" header */
	char vendor[16];                  /* "GenuineIntel" / "AuthenticAMD" */
	char brand[64];
	uint32_t signature;               /* CPUID.1.EAX */

	struct xs_cpuid leaf_d[64];       /* CPUID.(0DH,i) as read (0/1 EBX: at dump time) */
	uint64_t xcr0_supported;          /* 0DH.0 EDX:EAX */
	uint64_t xss_supported;           /* 0DH.1 EDX:ECX */
	bool has_xsaveopt;                /* 0DH.1 EAX[0] */
	bool has_xsavec;                  /* 0DH.1 EAX[1] */
	bool has_xgetbv1;                 /* 0DH.1 EAX[2] */
	bool has_xsaves;                  /* 0DH.1 EAX[3] */
	bool has_xfd;                     /* 0DH.1 EAX[4] */
	struct xs_comp_enum comp[64];     /* per component, from sub-leaf i >= 2 */

	struct xs_features feat;
	struct xs_impl impl;
	struct xs_cpuid leaf[XS_NLEAVES]; /* feature leaves as read, where present */
	uint32_t leaf_present;            /* bit per enum xs_leaf */
	enum xs_vendor vendor_id;         /* from vendor */

	bool dump_masks_known;            /* "# xcr0:" / "# ia32_xss:" headers present */
	uint64_t dump_xcr0, dump_xss;     /* OS configuration when the dump was taken */
	bool linux_known;                 /* "# linux_xfeatures:" / "# linux_context_size:" */
	uint64_t linux_xfeatures;
	uint32_t linux_context_size;
};

/* Loading. All return 0 on success or -1 with a message "FILE:LINE: reason"
 * (or "host: reason") in err. A model that loads is consistent: no
 * overlapping user components, no supervisor component with a standard
 * offset, sizes in sub-leaves 0 and 1 that agree with the components. */
int xs_model_load(const char *spec, struct xs_model *m, char *err, size_t errlen);
int xs_model_parse(const char *text, const char *filename, struct xs_model *m, char *err,
		   size_t errlen);
int xs_model_from_host(struct xs_model *m, char *err, size_t errlen);
/* Write a model in the data/cpus file format (with impl.* and feature leaves). */
int xs_model_write(const struct xs_model *m, FILE *f);

/* True if a and b describe the same CPU (everything but name and source). */
bool xs_model_equal(const struct xs_model *a, const struct xs_model *b);

/* NULL if XSETBV(0, xcr0) is legal on this model, else the rule it breaks
 * (SDM Vol. 1 13.3, Vol. 2 XSETBV). Thread-local storage. */
const char *xs_xcr0_invalid_reason(const struct xs_model *m, uint64_t xcr0);
/* NULL if WRMSR(IA32_XSS, xss) is legal, else why not (SDM 13.3). */
const char *xs_xss_invalid_reason(const struct xs_model *m, uint64_t xss);

/* Named fields of struct xs_features and struct xs_impl, for "# feat.X:" /
 * "# impl.X:" headers, `xstate info` and probes. */
struct xs_field {
	const char *name;  /* "mxcsr_mask" */
	unsigned width;    /* 1: bool, 8: uint8_t, 32: uint32_t */
	size_t offset;     /* in the struct */
	const char *doc;
};
const struct xs_field *xs_impl_fields(size_t *count);
const struct xs_field *xs_feat_fields(size_t *count);
const struct xs_field *xs_field_find(const struct xs_field *f, size_t count, const char *name);
uint64_t xs_field_get(const void *obj, const struct xs_field *f);
/* -1 if v does not fit the field (a bool takes 0 or 1). */
int xs_field_set(void *obj, const struct xs_field *f, uint64_t v);

size_t xs_builtin_count(void);
const char *xs_builtin_name(size_t i);
const char *xs_builtin_text(size_t i);
const char *xs_default_model_name(void);

/* Layouts (SDM 13.4). Offsets of x87 and SSE are reported as 0 and 160 (their
 * legacy-region slots), sizes 160 and 256. */
struct xs_layout {
	bool compacted;
	uint64_t mask;            /* components laid out (XCOMP_BV[62:0] or the requested mask) */
	uint32_t size;            /* total bytes */
	uint32_t offset[64];      /* valid where mask has the bit */
	uint32_t size_of[64];
};
void xs_layout_standard(const struct xs_model *m, uint64_t mask, struct xs_layout *out);
void xs_layout_compacted(const struct xs_model *m, uint64_t xcomp_bv, struct xs_layout *out);
uint32_t xs_size_standard(const struct xs_model *m, uint64_t mask);  /* max(576, max off+size) */
uint32_t xs_size_compacted(const struct xs_model *m, uint64_t mask); /* 13.4.3 algorithm */

/* CPUID.(0DH,subleaf) as this model returns it with the given XCR0/IA32_XSS
 * in force (sub-leaf 0 EBX and sub-leaf 1 EBX depend on them). */
struct xs_cpuid xs_model_cpuid_d(const struct xs_model *m, uint64_t xcr0, uint64_t xss,
				 unsigned subleaf);

/* Render a mask as "x87|sse|avx" into buf. */
const char *xs_mask_names(uint64_t mask, char *buf, size_t len);
/* Parse a mask: a number (0x.., decimal) or names joined by '|' or ','. */
int xs_mask_parse(const char *s, uint64_t *out);

#endif
