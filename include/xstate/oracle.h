/* xstate oracles: this host's real CPU, run from user mode.
 *
 * The host oracle executes XSAVE-family instructions for real, at CPL 3, in
 * one sequence whose only code between two instructions uses general-purpose
 * registers (src/oracle/hostcpu.c is compiled with general-regs-only and
 * calls nothing), so the register state an instruction sees is the state the
 * previous one left. Faults are caught with signal handlers that resume after
 * the faulting instruction; the kernel saves the register state in the signal
 * frame and restores it on return, so the state after a fault can be observed.
 *
 * Silicon is not fully deterministic from user mode (spec section 15): a
 * context switch or VM exit between two instructions goes through the
 * kernel's XSAVES/XRSTORS and can change XINUSE. Callers that compare with
 * the model repeat a disagreeing run before believing it (hostdiff.c).
 */
#ifndef XSTATE_ORACLE_H
#define XSTATE_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xstate/cpu.h"
#include "xstate/model.h"
#include "xstate/prog.h"

/* What the host's CPU and OS let user mode do. */
struct xs_host {
	bool xsave;         /* CPUID.1:ECX[26] and CR4.OSXSAVE (ECX[27]) */
	bool fxsr;          /* CPUID.1:EDX[24] */
	bool avx;           /* CPUID.1:ECX[28] and XCR0[2:1]=11b */
	bool xsaveopt;      /* CPUID.(0DH,1):EAX[0] */
	bool xsavec;        /* EAX[1] */
	bool xgetbv1;       /* EAX[2] */
	bool xsaves;        /* EAX[3] (CPL 0 only: user mode sees #GP) */
	uint64_t xcr0;      /* XGETBV(0) */
	uint32_t std_size;  /* CPUID.(0DH,0).EBX: standard size for XCR0 */
	uint32_t cmp_size;  /* compacted size for XCR0 (from the sub-leaves) */
	uint32_t offset[64], size[64]; /* standard offsets and sizes, sub-leaf i */
	bool align64[64];
};

/* Detect once (cached in memory). Returns NULL if the host has no usable
 * XSAVE (not x86-64, CPUID.1:ECX.XSAVE=0 or the OS did not set OSXSAVE). */
const struct xs_host *xs_host_get(void);

/* One step of a host program. */
enum xs_hw_kind {
	XS_HW_NOP = 0,
	XS_HW_XSAVE,      /* xsave64 (mem), EDX:EAX = mask */
	XS_HW_XSAVEOPT,
	XS_HW_XSAVEC,
	XS_HW_XSAVES,     /* #GP at CPL 3: only for fault comparison */
	XS_HW_XRSTOR,
	XS_HW_XRSTORS,    /* likewise */
	XS_HW_FXSAVE,     /* fxsave64 (mem) */
	XS_HW_FXRSTOR,
	XS_HW_XGETBV,     /* out = XCR[ecx] */
	XS_HW_XSETBV,     /* #GP at CPL 3 */
	XS_HW_LDMXCSR,    /* ldmxcsr (src) */
	XS_HW_STMXCSR,    /* out = MXCSR */
	XS_HW_FNINIT,
	XS_HW_VZEROUPPER,
	XS_HW_WRITE_XMM,  /* movdqu (src), %xmm<reg>: SSE only, upper YMM kept */
	XS_HW_WRITE_YMM,  /* vmovdqu (src), %ymm<reg>: SSE and AVX */
	XS_HW_READ_XMM,   /* movdqu %xmm<reg>, (mem) */
	XS_HW_READ_YMM,   /* vmovdqu %ymm<reg>, (mem) */
	XS_HW_COPY,       /* memory only: len bytes src -> mem (rep movsb) */
};

struct xs_hw_op {
	uint8_t kind;
	uint8_t reg;       /* WRITE_/READ_ register number 0-15 */
	bool ac;           /* run with EFLAGS.AC=1 (alignment checking; Linux sets CR0.AM) */
	uint32_t ecx;      /* XGETBV/XSETBV */
	uint32_t len;      /* COPY */
	uint64_t mask;     /* EDX:EAX */
	void *mem;
	const void *src;
	uint64_t out;      /* XGETBV/STMXCSR result */
};

struct xs_hw_outcome {
	enum xs_fault fault;     /* first fault of the body, XS_OK if none */
	size_t fault_op;         /* its index */
	int signo, si_code;      /* as delivered */
	enum xs_fault epi_fault; /* first fault in the epilogue */
};

/* Run ops[0..n) on this CPU. After a fault the rest of the body is skipped,
 * but ops[epilogue..n) always run (to observe the state after a fault); pass
 * epilogue = n for none. Leaves MXCSR and the x87 control word as it found
 * them and the x87 stack empty (the C ABI). Returns -1 without running
 * anything if the host has no XSAVE. Not reentrant (one thread at a time). */
int xs_hw_run(struct xs_hw_op *ops, size_t n, size_t epilogue, struct xs_hw_outcome *out);

/* Benchmark loop: XRSTOR buf once, then iters times XSAVEC (or XSAVE when
 * !compacted) + XRSTOR of buf with EDX:EAX = mask, nothing in between.
 * buf must hold a valid image (checked once with faults caught). -1 if the
 * host lacks the instruction or the image faults. */
int xs_hw_roundtrip(void *buf, uint64_t mask, bool compacted, uint64_t iters);

/* MXCSR_MASK as FXSAVE stores it (0 read as the default 0xFFBF). */
uint32_t xs_host_mxcsr_mask(void);

/* Signal number / si_code to the fault it reports (#GP, #UD, #AC, #PF). */
enum xs_fault xs_hw_fault_of(int signo, int si_code);

/* ---- Running exec programs (prog.h) on silicon: src/oracle/hostprog.c ---- */

/* Output of one run of a program, on the model or on silicon. */
struct xs_run_result {
	enum xs_fault fault;
	int fault_line;             /* line of the faulting op (0 if none) */
	char text[4096];            /* what the program printed (xgetbv, read, rdmsr) */
	size_t nbufs;
	size_t bufsize;
	uint8_t *bufs[XS_PROG_MAX_BUFS]; /* final contents (owned) */
	uint8_t *after;             /* state observed after the program (XSAVE, all) */
	int nlines;                 /* model runs: per printed line, the user */
	uint64_t line_init[64];     /* components then in their initial configuration */
};
void xs_run_result_free(struct xs_run_result *r);

/* User components whose registers hold their initial configuration. */
uint64_t xs_cpu_init_mask(const struct xs_cpu *c);

/* Can this program run on silicon? (cpl 3 only, no MSRs/XSETBV needed to
 * succeed, only registers xmm0-15/ymm0-15/mxcsr, no files.) -1 with a reason. */
int xs_hw_prog_check(const struct xs_prog *p, char *err, size_t errlen);
/* Run p on silicon / on the model CPU c (configured by the caller). Both end
 * with an observation XSAVE (RFBM all ones) into r->after when observe is set. */
int xs_hw_prog_run(const struct xs_prog *p, bool observe, struct xs_run_result *r, char *err,
		   size_t errlen);
int xs_model_prog_run(const struct xs_prog *p, struct xs_cpu *c, bool observe,
		      struct xs_run_result *r, char *err, size_t errlen);

/* ---- Probing the host's implementation choices: src/oracle/probe.c ---- */

struct xs_probe_report {
	struct xs_impl impl;        /* the measured (or assumed) choices */
	bool measured_xinuse;       /* false: could not run (no XSAVE) */
	bool reserved_416_written;  /* XSAVE writes bytes 416-463 of the legacy area */
	bool reserved_416_deterministic; /* ... and the same bytes every time */
	bool misaligned_ac;         /* misaligned operand with AC=1 at CPL 3: #AC, not #GP */
	char notes[1024];           /* one line per assumption */
};
/* Measure. Returns 0, or -1 when the host has no usable XSAVE. Fast (well
 * under a millisecond); repeats each experiment and takes the majority. */
int xs_probe_host(struct xs_probe_report *r);
/* Measure and apply the choices to a model of this host (the fields the
 * probe measures; others keep the model's defaults). */
int xs_probe_apply(struct xs_model *m, char *err, size_t errlen);
void xs_probe_apply_report(struct xs_model *m, const struct xs_probe_report *r);

/* ---- Differential testing: src/oracle/hostdiff.c ---- */

struct xs_diff_opts {
	uint64_t cases;
	uint64_t seed;
	int repeats;                /* silicon reruns before a mismatch counts (default 5) */
	bool minimize;              /* shrink mismatching programs */
	bool strict;                /* implementation-defined differences are mismatches */
	size_t max_reports;         /* mismatches kept in full (default 10) */
	FILE *progress;             /* progress lines, or NULL */
	/* Called on the host model after probing (tests use it to break the
	 * model on purpose and see the comparison catch it). */
	void (*tweak_model)(struct xs_model *m);
};

enum xs_diff_kind {
	XS_DK_RANDOM,       /* random loads, saves, restores */
	XS_DK_INIT_OPT,     /* restores of init components, XINUSE, XSAVEOPT/XSAVEC */
	XS_DK_MODIFIED_OPT, /* XSAVEOPT to the last restored buffer after writes */
	XS_DK_FAULT,        /* header / alignment / MXCSR / reserved-bit faults */
	XS_DK_COUNT,
};
const char *xs_diff_kind_name(enum xs_diff_kind k);

enum { XS_DIFF_INSNS = 8 };  /* xsave xsaveopt xsavec xrstor xrstor(c) xgetbv1 write fault */

struct xs_diff_mismatch {
	char program[8192];       /* minimal exec program */
	char model_out[2048];     /* what the model did */
	char hw_out[2048];        /* what silicon did (every repeat disagreed) */
	enum xs_diff_kind kind;
	bool impl_defined;        /* architecturally equivalent, bytes differ */
};

struct xs_diff_stats {
	uint64_t cases, mismatches, reruns, rerun_recovered, faults_compared;
	uint64_t by_kind[XS_DK_COUNT], mismatch_by_kind[XS_DK_COUNT];
	/* Byte differences the SDM allows (XSTATE_BV/XINUSE of init components,
	 * skipped init components, #AC for #GP): the model chose differently
	 * from this host. Not mismatches unless opts.strict. */
	uint64_t impl_defined, impl_by_kind[XS_DK_COUNT];
	uint64_t by_insn[XS_DIFF_INSNS];
	uint64_t by_comp[64];       /* cases in which the component was live */
	uint64_t comps_tested;      /* host XCR0 */
	uint64_t comps_skipped;     /* components the model knows but the host lacks */
	bool reserved_compared;     /* bytes 416-463 compared */
	char reserved_note[256];
	double seconds;
	size_t nreports;
	struct xs_diff_mismatch *reports; /* nreports entries (owned) */
};
const char *xs_diff_insn_name(unsigned i);
/* Run the differential test. Returns 0 (stats filled, mismatches counted),
 * -1 with err if it cannot run (no XSAVE on the host, model failure). */
int xs_diff_run(const struct xs_diff_opts *o, struct xs_diff_stats *s, char *err, size_t errlen);
void xs_diff_stats_free(struct xs_diff_stats *s);
/* Run one program (parsed for the host model) on the model and on
 * silicon; print both outcomes and the verdict to out. 1 agree byte for
 * byte, 2 agree up to implementation-defined choices, 0 disagree on every
 * repeat, -1 error (err). */
int xs_diff_program(const struct xs_prog *p, int repeats, FILE *out, char *err, size_t errlen);

#endif
