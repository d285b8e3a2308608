/* xstate oracles: the ring-0 part of the silicon oracle, a KVM guest.
 *
 * Where /dev/kvm is usable, a minimal guest built from this project's own
 * sources (no guest image: page tables, GDT, IDT and code are generated in
 * src/oracle/kvm_vm.c and kvm_codegen.c) runs exec programs (prog.h) at
 * CPL 0 in 64-bit mode, so XSETBV, XSAVES/XRSTORS and the IA32_XSS/XFD MSRs
 * can be compared with the model as far as the virtual CPU exposes them.
 *
 * Each program runs in a fresh VM whose vCPU starts from RESET state; the
 * guest reports each finished operation and each exception through port
 * I/O, and the host reads values from the vCPU registers and buffers from
 * guest memory. The model to compare with is built from the CPUID the guest
 * reads when it executes CPUID (xo_kvm_model), formatted in the data/cpus text
 * format and parsed by xs_model_parse, the way the host model is built
 * (src/arch/host.c). KVM's own table (KVM_GET_SUPPORTED_CPUID) is reported
 * next to it: a nested hypervisor may answer CPUID differently.
 *
 * Under nested virtualization the hypervisor may fail to execute an
 * instruction at all (KVM's instruction emulator gives up with
 * KVM_EXIT_INTERNAL_ERROR): that outcome is "unexecutable", kept apart from
 * both agreement and mismatch. xo_kvm_exposure() says what was found.
 */
#ifndef XSTATE_KVMGUEST_H
#define XSTATE_KVMGUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xstate/cpu.h"
#include "xstate/model.h"
#include "xstate/oracle.h"
#include "xstate/prog.h"

/* How one instruction fared in the guest. */
enum xo_kvm_outcome {
	XO_KVM_EXECUTED = 0,  /* ran to completion */
	XO_KVM_FAULTED,       /* raised an exception (vector) */
	XO_KVM_UNEXECUTABLE,  /* the hypervisor could not run it (emulation failure) */
};
const char *xo_kvm_outcome_name(enum xo_kvm_outcome o);

/* One probe of the exposure report: a single instruction in a fresh VM. */
struct xo_kvm_probe {
	char what[48];              /* "xgetbv 0", "rdmsr IA32_XSS" */
	enum xo_kvm_outcome outcome;
	unsigned vector;            /* FAULTED: exception vector */
	bool has_value;
	uint64_t value;             /* EXECUTED: value read (xgetbv, rdmsr, cpuid EBX);
				     * xsetbv: XCR0 afterwards, from KVM_GET_XCRS */
};

#define XO_KVM_MAX_PROBES 32
#define XO_KVM_MAX_MSRS 256

/* One view of the XSAVE enumeration. */
struct xo_kvm_cpuid_view {
	bool xsave, osxsave, avx;   /* CPUID.1:ECX[26], [27], [28] */
	uint64_t xcr0_supported;    /* 0DH.0 EDX:EAX */
	uint64_t xss_supported;     /* 0DH.1 EDX:ECX */
	uint32_t d1_eax;            /* 0DH.1 EAX: XSAVEOPT, XSAVEC, XGETBV1, XSAVES, XFD (bits 0-4) */
};

/* What the (possibly nested) virtual CPU exposes to the guest. */
struct xo_kvm_exposure {
	char module[32];            /* KVM flavour: "kvm_intel", "kvm_amd", "kvm_pvm", "" */
	char vendor[13];
	char brand[49];
	uint32_t signature;         /* CPUID.1.EAX */
	/* KVM_GET_SUPPORTED_CPUID, handed to the vCPU with KVM_SET_CPUID2 */
	struct xo_kvm_cpuid_view table;
	/* what CPUID returns when the guest executes it: the model's source */
	struct xo_kvm_cpuid_view guest;
	char cpuid_differs[160];    /* leaves where the two differ ("0x1.0 0xd.1"), or "" */
	/* the guest view, for convenience */
	uint64_t xcr0_supported, xss_supported;
	bool xsaveopt, xsavec, xgetbv1, xsaves, xfd;
	uint32_t mxcsr_mask;        /* FXSAVE in the guest (0: FXSAVE did not run) */
	/* KVM_GET_MSR_INDEX_LIST / KVM_GET_MSR_FEATURE_INDEX_LIST */
	size_t nmsrs, nfeature_msrs;
	uint32_t msrs[XO_KVM_MAX_MSRS], feature_msrs[XO_KVM_MAX_MSRS];
	bool msr_listed_xss, msr_listed_xfd, msr_listed_xfd_err;
	/* single instructions executed in the guest at CPL 0 */
	size_t nprobes;
	struct xo_kvm_probe probe[XO_KVM_MAX_PROBES];
	/* operations the ring-0 runner can use here (bit per enum xs_op_kind) */
	uint64_t runnable_ops;
	/* the text given to xs_model_parse for the guest model */
	char model_text[4096];
};

struct xo_kvm;

/* Open the oracle: check /dev/kvm, read what KVM supports, probe the
 * instructions, build the guest model. 0 on success; 1 if KVM is
 * unavailable or unusable here (err says why: callers skip); -1 on an
 * unexpected failure (err). About 0.1 s (one small VM per probe). */
int xo_kvm_open(struct xo_kvm **out, char *err, size_t errlen);
void xo_kvm_close(struct xo_kvm *k);
const struct xo_kvm_exposure *xo_kvm_exposure(const struct xo_kvm *k);
/* The model of the guest's virtual CPU (name "kvm-guest"). */
const struct xs_model *xo_kvm_model(const struct xo_kvm *k);
/* People-readable report of the exposure (what the nested CPU exposed). */
void xo_kvm_exposure_print(const struct xo_kvm_exposure *x, FILE *f);
void xo_kvm_exposure_json(const struct xo_kvm_exposure *x, FILE *f);

/* ---- running exec programs in the guest ---- */

/* Can the ring-0 runner run p? It runs the instruction operations, buffer
 * writes (fill, set), dump, read/write of xmm/ymm/mxcsr, ldmxcsr, fninit,
 * vzeroupper, ts, osxsave and cpl 0. Not: files (load/store), decode,
 * xinuse (model observers), other CPLs, ac, PKRU, AMX. -1 with a reason. */
int xo_kvm_prog_check(const struct xs_prog *p, char *err, size_t errlen);

struct xo_kvm_run {
	struct xs_run_result res;   /* fault, fault_line, text, bufs, after (as the model's) */
	bool faulted;               /* an operation raised an exception ... */
	size_t fault_op;            /* ... this one (res.fault says which) */
	bool observed_xsave;        /* res.after is an XSAVE image; else FXSAVE64 (x87, SSE) */
	bool unexecutable;          /* the hypervisor could not run op unexec_op */
	size_t unexec_op;
	int unexec_line;
	char unexec_why[160];
	bool setup_failed;          /* XSETBV/WRMSR of the start state faulted */
	unsigned vector;            /* exception of the faulting op */
	uint32_t error_code;
	size_t exits;               /* KVM exits taken */
};
void xo_kvm_run_free(struct xo_kvm_run *r);

/* Run p (parsed with a model whose bufsize the guest uses, normally
 * xo_kvm_model) in a fresh guest. The start state is that of
 * xs_exec_setup_cpu: RESET, CR4.OSXSAVE=1, XSETBV(0, xcr0), WRMSR(IA32_XSS,
 * xss) when xss != 0. Running stops at the first fault or unexecutable op.
 * With observe, the final state is saved into r->res.after after the end or
 * the fault (not after an unexecutable op: the vCPU is not trusted then):
 * XSAVE with RFBM all ones, or FXSAVE64 when the guest cannot execute XSAVE
 * (r->observed_xsave says which). 0 on success (whatever the program did),
 * -1 on error (err). */
int xo_kvm_prog_run(struct xo_kvm *k, const struct xs_prog *p, uint64_t xcr0, uint64_t xss,
		    bool observe, struct xo_kvm_run *r, char *err, size_t errlen);

/* Verdict of one program run on both sides. */
enum xo_kvm_verdict {
	XO_KVM_SAME = 0,     /* same fault (and line), same output, same buffers */
	XO_KVM_DIFFERENT,    /* diff says where */
	XO_KVM_NOT_RUN,      /* the guest could not execute an op it reached */
};
const char *xo_kvm_verdict_name(enum xo_kvm_verdict v);

struct xo_kvm_cmp {
	enum xo_kvm_verdict verdict;
	char diff[1024];         /* first difference, or why it was not run */
	char model_out[2048];    /* what the model did (fault + output) */
	char guest_out[2048];    /* what the guest did */
};

/* Run p in the guest and on xo_kvm_model from the same start state, and
 * compare: fault kind and line, printed output, final buffers, and the
 * observed final state when observe is set. 0, or -1 on error. */
int xo_kvm_compare(struct xo_kvm *k, const struct xs_prog *p, uint64_t xcr0, uint64_t xss,
		   bool observe, struct xo_kvm_cmp *c, char *err, size_t errlen);

/* ---- entry point for `xstate diff-hw` ---- */

struct xo_kvm_diff_stats {
	uint64_t cases;           /* random ring-0 programs generated */
	uint64_t same, different, not_run;
	uint64_t faults_compared; /* cases where both sides faulted */
	uint64_t by_op[XS_OP_COUNT];    /* operations in the generated programs, by kind */
	uint64_t skipped_ops;     /* instruction kinds left out because the guest cannot
				   * execute them (bit per enum xs_op_kind) */
	double seconds;
	size_t nreports;
	struct xs_diff_mismatch *reports; /* first max_reports differences (owned) */
	struct xo_kvm_exposure exposure;
};

/* Run o->cases random ring-0 programs (seeded by o->seed; o->max_reports,
 * o->progress honoured; repeats and minimize ignored: a guest run is not
 * interrupted by the host, so it is repeatable). Each program mixes XSETBV
 * (legal and illegal values), WRMSR/RDMSR of IA32_XSS and IA32_XFD, XGETBV,
 * register writes, the six save/restore instructions with random RFBMs and
 * header corruptions, using only the operations the guest can run
 * (exposure.runnable_ops). Returns 0 with stats filled; 1 if KVM is
 * unavailable (err says why: report "skipped"); -1 on error. Free with
 * xo_kvm_diff_free. */
int xo_kvm_diff(const struct xs_diff_opts *o, struct xo_kvm_diff_stats *s, char *err,
		size_t errlen);
void xo_kvm_diff_free(struct xo_kvm_diff_stats *s);

#endif
