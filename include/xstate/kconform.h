/* Linux-kernel conformance oracle ("xstate conform").
 *
 * A probe asks a kernel a question about the x86 xstate ABI (signal frames,
 * sigreturn validation, arch_prctl XCOMP codes, AT_MINSIGSTKSZ, sigaltstack,
 * ptrace regsets, FS/GS bases) and records the answer as a list of named
 * results (key -> value string). Probes are written once, against the
 * abstract target below; the host backend (ktarget_host.c) answers with real
 * system calls, and a simulated-kernel backend answers with the kernel
 * manager of src/kernel/. Comparing the two lists field by field is the
 * conformance check.
 *
 * The target runs *task programs*: a short list of operations executed in a
 * fresh task (a forked child on the host), some by the task itself and some
 * by a tracer while the task is stopped. Everything a probe learns comes from
 * struct xo_kinfo and struct xo_krun; results never contain addresses (only
 * alignment and distance facts) or timing, so two runs on the same target
 * give identical lists.
 *
 * Semantics every backend must follow (the simulated one included):
 *  - A fresh task's user state is the init state (FCW 037FH, MXCSR 1F80H,
 *    everything else zero, as after execve) and it has no alternate stack,
 *    GS base 0, GS selector 0. Its FS base is unspecified (TLS on the host):
 *    probes set it before reporting it.
 *  - The task's user xstate changes only through LOAD_XSTATE, signal delivery
 *    and sigreturn, and tracer writes: the backend guarantees that whenever
 *    the kernel can look at the registers (a system call, a stop, a signal)
 *    they hold exactly the task's state. The state covers info.state_mask.
 *  - SIGALTSTACK(size) maps a fresh stack whose base is page aligned and whose
 *    top is base + size, fills it with XO_KSTACK_FILL, and leaves at least
 *    XO_KSTACK_SLACK writable bytes above the top (so frame tampering and
 *    over-reads stay harmless). size 0 disables the alternate stack.
 *  - SIGNAL sends the task SIGUSR1 (tgkill); the handler is installed with
 *    SA_SIGINFO|SA_ONSTACK. At entry it saves the user state it was given
 *    ("entry"), copies the frame's FP area, runs the tamper function, and as
 *    its very last act loads the clobber image (if any) before returning
 *    through the normal rt_sigreturn restorer.
 *  - SIGSEGV, SIGBUS, SIGILL, SIGFPE are caught (on the alternate stack if
 *    one is set): the run ends as XO_KEND_FATAL with the signal, its si_code
 *    and the user state found in that signal's frame.
 *  - Consecutive tracer operations run during one ptrace stop of the task;
 *    the task continues with the next task operation afterwards.
 */
#ifndef XSTATE_KCONFORM_H
#define XSTATE_KCONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- Linux UABI constants (defined here so no backend needs host headers) ---- */

/* arch/x86/include/uapi/asm/prctl.h */
enum {
	XO_ARCH_SET_GS = 0x1001,
	XO_ARCH_SET_FS = 0x1002,
	XO_ARCH_GET_FS = 0x1003,
	XO_ARCH_GET_GS = 0x1004,
	XO_ARCH_GET_XCOMP_SUPP = 0x1021,
	XO_ARCH_GET_XCOMP_PERM = 0x1022,
	XO_ARCH_REQ_XCOMP_PERM = 0x1023,
	XO_ARCH_GET_XCOMP_GUEST_PERM = 0x1024,
	XO_ARCH_REQ_XCOMP_GUEST_PERM = 0x1025,
	XO_ARCH_XCOMP_TILECFG = 17,
	XO_ARCH_XCOMP_TILEDATA = 18,
};

/* include/uapi/linux/elf.h */
enum {
	XO_NT_PRFPREG = 2,
	XO_NT_X86_XSTATE = 0x202,
	XO_NT_X86_SHSTK = 0x204,
	XO_NT_X86_XSAVE_LAYOUT = 0x205,
};

/* include/uapi/linux/auxvec.h, arch/x86/include/uapi/asm/auxvec.h */
enum { XO_AT_HWCAP2 = 26, XO_AT_MINSIGSTKSZ = 51 };
#define XO_HWCAP2_FSGSBASE (1u << 1)

/* include/uapi/asm-generic/signal.h: sigaltstack's floor */
#define XO_MINSIGSTKSZ 2048u

/* arch/x86/include/uapi/asm/ucontext.h */
#define XO_UC_FP_XSTATE 0x1u

/* arch/x86/include/uapi/asm/sigcontext.h: struct _fpx_sw_bytes in the
 * FXSAVE sw_reserved area, the XSAVE header, and MAGIC2 after the image. */
#define XO_FP_XSTATE_MAGIC1 0x46505853u
#define XO_FP_XSTATE_MAGIC2 0x46505845u
enum {
	XO_FX_FCW = 0,
	XO_FX_FSW = 2,
	XO_FX_FTW = 4,
	XO_FX_FOP = 6,
	XO_FX_FIP = 8,
	XO_FX_FDP = 16,
	XO_FX_MXCSR = 24,
	XO_FX_MXCSR_MASK = 28,
	XO_FX_ST = 32,   /* 8 x 16 bytes, 10 used */
	XO_FX_XMM = 160, /* 16 x 16 bytes */
	XO_FX_RESERVED = 416,
	XO_SW_MAGIC1 = 464,
	XO_SW_EXTENDED_SIZE = 468,
	XO_SW_XFEATURES = 472,
	XO_SW_XSTATE_SIZE = 480,
	XO_SW_PADDING = 484, /* 7 x u32 */
	XO_HDR_XSTATE_BV = 512,
	XO_HDR_XCOMP_BV = 520,
	XO_HDR_RESERVED = 528,
	XO_HDR_END = 576,
};

/* XSAVE component numbers the probes name (SDM vol. 1, 13.1). */
enum {
	XO_C_FP = 0,
	XO_C_SSE = 1,
	XO_C_YMM = 2,
	XO_C_OPMASK = 5,
	XO_C_ZMM_HI256 = 6,
	XO_C_HI16_ZMM = 7,
	XO_C_PKRU = 9,
	XO_C_XTILE_CFG = 17,
	XO_C_XTILE_DATA = 18,
	XO_KNFEAT = 20, /* XFEATURE_MAX */
	/* Pseudo-component for image comparisons: MXCSR (bytes 24..27), which
	 * XRSTOR loads whenever RFBM covers SSE or YMM, whatever XSTATE_BV says. */
	XO_C_MXCSR = 63,
};

/* ---- Target description ---- */

#define XO_KIMG_MAX 16384u     /* largest standard-format image a run carries */
#define XO_KMAXOPS 24          /* operations per task program */
#define XO_KMAXSIG 2           /* SIGNAL operations per program */
#define XO_KSTACK_FILL 0xA5u   /* byte a fresh alternate stack is filled with */
#define XO_KSTACK_SLACK 16384u /* writable bytes above an alternate stack's top */

struct xo_kinfo {
	char target[32];   /* "host", "sim" */
	bool xsave;        /* the target runs tasks with XSAVE (else nothing here applies) */
	uint64_t xcr0;     /* user features the kernel enabled */
	/* Components a task's image carries in task programs: XCR0 minus PKRU
	 * (switched outside XRSTOR) and minus XFD-armed dynamic state. */
	uint64_t state_mask;
	uint32_t xstate_size;            /* standard-format size for xcr0 (CPUID 0xD.0:EBX) */
	uint32_t comp_off[XO_KNFEAT];    /* standard offsets (CPUID 0xD.i:EBX), 0 if absent */
	uint32_t comp_size[XO_KNFEAT];   /* sizes (CPUID 0xD.i:EAX), 0 if absent */
	uint32_t mxcsr_mask;             /* the FXSAVE MXCSR_MASK of the target's CPU */
	bool fsgsbase;                   /* user RD/WR{FS,GS}BASE enabled (AT_HWCAP2 bit 1) */
	bool ptrace;                     /* tracer operations work (no seccomp/LSM veto) */
};

/* ---- Task programs ---- */

enum xo_kop_kind {
	/* Done by the task. */
	XO_KOP_AUXV = 1,    /* a = AT_* type; val = value, err = ENOENT if absent */
	XO_KOP_ARCH_PRCTL,  /* a = code; argument per argk/b; ret, err, val (XO_KARG_OUT) */
	XO_KOP_SIGALTSTACK, /* a = size (0: SS_DISABLE); ret, err */
	XO_KOP_LOAD_XSTATE, /* XRSTOR data (standard image) with RFBM = b & state_mask */
	XO_KOP_SAVE_XSTATE, /* img = the task's current user state (standard image) */
	XO_KOP_SIGNAL,      /* SIGUSR1 to itself, handler behaviour from sig; see xo_ksigres */
	XO_KOP_SEL_READ,    /* a = enum xo_kseg; val = selector */
	XO_KOP_SEL_LOAD,    /* mov b -> segment a (FS or GS); val = selector read right after */
	XO_KOP_BASE_READ,   /* RDFSBASE/RDGSBASE (a = FS or GS); UNSUPPORTED without fsgsbase */
	XO_KOP_BASE_WRITE,  /* WRFSBASE/WRGSBASE b */
	/* Done by a tracer while the task is stopped. */
	XO_KOP_PEEKUSER,   /* a = enum xo_kusr; val; ret 0 or -1 with err */
	XO_KOP_POKEUSER,   /* a = enum xo_kusr, b = value */
	XO_KOP_GETREGSET,  /* a = note type, b = iov_len (<= XO_KIMG_MAX); img, len = iov_len after */
	XO_KOP_SETREGSET,  /* a = note type, b = iov_len, data = bytes; len = iov_len after */
	XO_KOP_GETFPREGS,  /* PTRACE_GETFPREGS: 512 bytes into img */
	XO_KOP_SETFPREGS,  /* PTRACE_SETFPREGS from data (512 bytes) */
	XO_KOP_PTRACE_ARCH_PRCTL, /* a = code, b = the argument (a GET: val = what
				   * the kernel stored in the tracer's memory) */
};
bool xo_kop_is_tracer(enum xo_kop_kind k);

enum xo_kseg { XO_KSEG_FS, XO_KSEG_GS, XO_KSEG_SS };
enum xo_kusr { XO_KUSR_FS_BASE, XO_KUSR_GS_BASE, XO_KUSR_FS, XO_KUSR_GS };
enum xo_karg {
	XO_KARG_VALUE,  /* the argument is b */
	XO_KARG_OUT,    /* a pointer to a u64 the call fills; reported as val */
	XO_KARG_BADPTR, /* b is passed as a pointer; it must be unmapped in the task */
};

/* What a tamper function sees, and may change, in the signal handler. */
struct xo_kframe_edit {
	uint8_t *fx;          /* uc_mcontext.fpregs as delivered (never NULL here) */
	uint32_t len;         /* bytes of the FP area the kernel wrote (xstate_size + 4) */
	uint32_t cap;         /* writable bytes from fx (>= len + 64) */
	bool fpregs_null;     /* set to make uc_mcontext.fpregs NULL */
	int32_t fpregs_delta; /* added to uc_mcontext.fpregs (the tamper moves bytes itself) */
	const struct xo_kinfo *info;
	const void *arg;
};
/* Must be a pure function of its input: it runs inside a signal handler on
 * the host (no libc beyond mem*) and on simulated memory in the sim. */
typedef void xo_ktamper_fn(struct xo_kframe_edit *e);

struct xo_ksig {
	xo_ktamper_fn *tamper;  /* NULL: leave the frame alone */
	const void *tamper_arg;
	const uint8_t *clobber; /* image the handler loads last (RFBM = state_mask); NULL: none */
};

struct xo_kop {
	enum xo_kop_kind kind;
	uint64_t a, b;
	enum xo_karg argk;
	const uint8_t *data;
	struct xo_ksig sig;
};

struct xo_kprog {
	unsigned n;
	struct xo_kop op[XO_KMAXOPS];
};

/* ---- Results of a run ---- */

enum xo_kstatus { XO_KST_NOTRUN = 0, XO_KST_DONE, XO_KST_UNSUPPORTED };

struct xo_kopres {
	enum xo_kstatus status;
	long ret;
	int err; /* errno value when ret < 0 */
	uint64_t val;
	uint32_t len;
	uint8_t img[XO_KIMG_MAX];
};

struct xo_ksigres {
	bool delivered, returned; /* handler ran; sigreturn came back to the task */
	int signo, code;
	uint64_t uc_flags;
	uint32_t fpregs_mod64;
	bool on_altstack; /* the geometry fields below are valid */
	uint32_t top_minus_fpregs, top_minus_sp, uc_minus_sp, info_minus_sp;
	bool redzone_ok;        /* FP area ends at or below the interrupted sp - 128 */
	uint16_t sc_fs, sc_gs;  /* sigcontext fs/gs fields */
	uint16_t h_fs, h_gs;    /* selectors inside the handler */
	bool h_bases;           /* h_fsbase/h_gsbase valid (fsgsbase) */
	uint64_t h_fsbase, h_gsbase;
	uint32_t frame_len;            /* bytes copied into frame */
	uint8_t frame[XO_KIMG_MAX];    /* FP area before tampering */
	uint8_t tampered[XO_KIMG_MAX]; /* FP area after tampering (what sigreturn sees) */
	uint8_t entry[XO_KIMG_MAX];    /* user state at handler entry */
};

enum xo_kend {
	XO_KEND_NONE = 0,
	XO_KEND_EXIT,   /* every operation ran */
	XO_KEND_FATAL,  /* a fatal signal was caught: signo, code, end_state */
	XO_KEND_KILLED, /* the task died of signal signo without being caught */
	XO_KEND_ERROR,  /* the backend failed: error */
};

struct xo_krun {
	enum xo_kend end;
	int signo, code;
	bool end_state_valid;
	uint8_t end_state[XO_KIMG_MAX];
	unsigned nsig;
	struct xo_ksigres sig[XO_KMAXSIG]; /* one per SIGNAL op, in order; kopres.val = index */
	struct xo_kopres res[XO_KMAXOPS];
	char error[160];
};

/* ---- The target interface ---- */

struct xo_ktarget {
	const char *name;
	/* Facts probes shape their inputs with. 0, or -1 if the target is unusable. */
	int (*info)(struct xo_ktarget *t, struct xo_kinfo *out);
	/* Run p in a fresh task and fill r (zeroed by the caller). 0, or -1 with
	 * r->end = XO_KEND_ERROR when the backend itself failed. */
	int (*run)(struct xo_ktarget *t, const struct xo_kprog *p, struct xo_krun *r);
	void (*destroy)(struct xo_ktarget *t);
	void *priv;
};

/* The host's Linux kernel (src/oracle/ktarget_host.c). NULL (with a reason
 * in why) when this is not x86-64 Linux. */
struct xo_ktarget *xo_ktarget_host(char *why, size_t whylen);
void xo_ktarget_free(struct xo_ktarget *t);

/* The simulated kernel (src/oracle/ktarget_sim.c): every program runs in a
 * fresh task on a freshly booted simulated machine of the model. */
struct xs_model;
struct xo_ksim_opts {
	const struct xs_model *model; /* copied; "host" (probed) to compare with the host */
	unsigned ncpus;               /* 0: 2 (the tracer runs on the other CPU) */
	const char *policy;           /* kernel policy settings (xk_policy_parse), NULL: Linux */
	FILE *trace;                  /* machine trace of every run, or NULL */
	int trace_level;              /* enum sim_trace_level */
};
/* NULL with a reason in why (a policy that does not parse, no memory). */
struct xo_ktarget *xo_ktarget_sim(const struct xo_ksim_opts *o, char *why, size_t whylen);
/* The host kernel's build/boot choices a CPU model cannot carry, as kernel
 * policy settings for the simulated kernel ("user-shstk=off,fsgsbase=off",
 * "" for Linux's defaults); m is the host's model. 0, or -1 (buf "") when
 * this is not x86-64 Linux (src/oracle/kconform_hostcfg.c). */
int xo_host_kernel_policy(const struct xs_model *m, char *buf, size_t len);

/* ---- Result lists ---- */

enum xo_kprobe_status { XO_KPROBE_OK = 0, XO_KPROBE_SKIPPED, XO_KPROBE_ERROR };

struct xo_kresult {
	char key[56];
	char val[88];
};

struct xo_kresults {
	enum xo_kprobe_status status;
	char reason[160]; /* SKIPPED/ERROR */
	size_t n, cap;
	struct xo_kresult *v;
};

void xo_kres_init(struct xo_kresults *r);
void xo_kres_free(struct xo_kresults *r);
void xo_kres_add(struct xo_kresults *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void xo_kres_skip(struct xo_kresults *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xo_kres_error(struct xo_kresults *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *xo_kres_get(const struct xo_kresults *r, const char *key); /* NULL if absent */
const char *xo_kprobe_status_name(enum xo_kprobe_status s);

/* Field-by-field comparison of two lists of the same probe: prints one line
 * per difference ("key: a=... b=...", missing keys as "(absent)") to out if
 * non-NULL and returns the number of differences (status counts as a field). */
size_t xo_kres_diff(const struct xo_kresults *a, const struct xo_kresults *b, FILE *out,
		    const char *prefix);
void xo_kres_print(FILE *f, const char *probe, const struct xo_kresults *r);
void xo_kres_print_json(FILE *f, const char *probe, const struct xo_kresults *r);

/* ---- Probe registry ---- */

struct xo_kprobe {
	const char *name;    /* "sigreturn.bad_magic1" */
	const char *surface; /* "sigframe", "sigreturn", "prctl", "ptrace", "fsgs" */
	const char *summary;
	void (*run)(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
		    struct xo_kresults *out);
	const void *arg; /* probe-specific case description, passed to run */
};

size_t xo_kprobe_count(void);
const struct xo_kprobe *xo_kprobe_at(size_t i);
const struct xo_kprobe *xo_kprobe_find(const char *name);
/* Where Linux departs from the written specification (linux-design.md) and
 * the simulated kernel follows Linux ("reality wins"): why Linux answers as
 * it does, for the probe's output and the README. NULL for other probes
 * (src/oracle/kconform_notes.c). */
const char *xo_kprobe_note(const char *probe);
/* Run one probe: fetch info, run, catch backend errors. 0 unless ERROR. */
int xo_kprobe_run(const struct xo_kprobe *p, struct xo_ktarget *t, struct xo_kresults *out);

/* Probe tables, one per ABI surface (src/oracle/kprobe_*.c). */
extern const struct xo_kprobe xo_kprobes_prctl[];
extern const size_t xo_kprobes_prctl_n;
extern const struct xo_kprobe xo_kprobes_sigframe[];
extern const size_t xo_kprobes_sigframe_n;
extern const struct xo_kprobe xo_kprobes_sigreturn[];
extern const size_t xo_kprobes_sigreturn_n;
extern const struct xo_kprobe xo_kprobes_ptrace[];
extern const size_t xo_kprobes_ptrace_n;
extern const struct xo_kprobe xo_kprobes_fsgs[];
extern const size_t xo_kprobes_fsgs_n;

/* ---- Helpers for probe bodies ---- */

/* Programs. */
void xo_kprog_init(struct xo_kprog *p);
struct xo_kop *xo_kprog_add(struct xo_kprog *p, enum xo_kop_kind kind, uint64_t a, uint64_t b);
/* Allocate a zeroed run, run p, return it (NULL only on allocation failure;
 * a backend failure is r->end == XO_KEND_ERROR). Free with free(). */
struct xo_krun *xo_krun(struct xo_ktarget *t, const struct xo_kprog *p);
/* The same, but a backend failure marks out as ERROR and returns NULL. */
struct xo_krun *xo_krun_checked(struct xo_ktarget *t, const struct xo_kprog *p,
				struct xo_kresults *out);

/* Little-endian field access in images and frames. */
uint16_t xo_rd16(const uint8_t *p, size_t off);
uint32_t xo_rd32(const uint8_t *p, size_t off);
uint64_t xo_rd64(const uint8_t *p, size_t off);
void xo_wr16(uint8_t *p, size_t off, uint16_t v);
void xo_wr32(uint8_t *p, size_t off, uint32_t v);
void xo_wr64(uint8_t *p, size_t off, uint64_t v);

/* Tampering helpers: the lowest user component not enabled in XCR0 (a bit
 * a frame or a ptrace image may never carry; 62 if none), and the lowest
 * MXCSR bit the CPU reserves (clear in MXCSR_MASK). */
unsigned xo_kbit_outside_xcr0(const struct xo_kinfo *info);
uint32_t xo_kmxcsr_bad_bit(const struct xo_kinfo *info);

/* Standard-format images of user state (XO_KIMG_MAX bytes). */
void xo_kimg_init(const struct xo_kinfo *info, uint8_t *img);
/* Every component of state_mask non-init with seed-derived contents, valid
 * for XRSTOR (MXCSR within mxcsr_mask, exceptions masked); XSTATE_BV = mask. */
void xo_kimg_pattern(const struct xo_kinfo *info, unsigned seed, uint8_t *img);
/* Compare one component (XO_C_FP, XO_C_SSE = XMM registers, XO_C_MXCSR, or
 * i >= 2) by its effective value: a component whose XSTATE_BV bit is clear
 * counts as its init value. */
bool xo_kimg_comp_equal(const struct xo_kinfo *info, const uint8_t *a, const uint8_t *b,
			unsigned comp);
/* Components probes report for a state: FP, MXCSR, SSE, then state_mask
 * bits >= 2. Fills out[] and returns the count. */
unsigned xo_kimg_comps(const struct xo_kinfo *info, unsigned out[XO_KNFEAT + 1]);
const char *xo_kcomp_name(unsigned comp); /* "fp", "mxcsr", "sse", "ymm", "c5", ... */

struct xo_kcand {
	const char *name;
	const uint8_t *img;
};
/* Name of the first candidate whose component equals img's, else "other". */
const char *xo_kimg_classify(const struct xo_kinfo *info, const uint8_t *img, unsigned comp,
			     const struct xo_kcand *c, size_t n);
/* Add "<prefix>.<comp>" = classification for every reported component. */
void xo_kres_add_state(struct xo_kresults *r, const char *prefix, const struct xo_kinfo *info,
		       const uint8_t *img, const struct xo_kcand *c, size_t n);

/* "ok", "ok 0x7", or an errno name ("EINVAL"); for call-like results. */
const char *xo_kfmt_call(char *buf, size_t len, const struct xo_kopres *r, bool with_val);
const char *xo_kerrno_name(int err); /* "EINVAL", or "E<n>" for unnamed values */
/* How a run ended: "exit", "SIGSEGV/0x80" (caught, with si_code), "killed SIGKILL", "error". */
const char *xo_kfmt_end(char *buf, size_t len, const struct xo_krun *r);
const char *xo_ksig_name(int sig);

#endif
