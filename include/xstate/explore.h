/* xstate checker: explore interleavings of the simulated machine, check
 * named invariants after every step, minimize what breaks one.
 *
 * The explorer generates PROGRAMS: lists of operations, each one of the
 * scenario language's statements (struct xe_op prints as one scenario
 * line and executes through the same sim_*() call the statement's verb
 * makes). A program runs on a freshly booted machine, one operation per
 * step, the invariants checked after each. A failing program is reduced
 * by delta debugging (ddmin) to a short one that still breaks the same
 * invariant, and printed as a scenario file `xstate run` reproduces.
 *
 * Random mode: program k of a run is generated from seed S + k by the
 * machine's PRNG, choosing among the operations that are legal in the
 * current state. Programs are independent, so --jobs J threads and
 * --shard I/N machines split the program indices without sharing anything
 * mutable; the result (the lowest failing index) does not depend on J.
 *
 * Exhaustive mode: every sequence of a small alphabet of operations up to
 * a depth, breadth first, with states hashed so an equivalent state is
 * expanded once.
 *
 * Invariants: "shadow" and "leak" are the simulator's own check (sim.h);
 * the others live in invariants.c (enum sim_inv) and are turned on in a
 * scenario by the statement `invariants all|none|NAME,...`.
 */
#ifndef XSTATE_EXPLORE_H
#define XSTATE_EXPLORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "xstate/sim.h"

/* ---- Invariants (invariants.c) ---- */

enum sim_inv {
	SIM_INV_SHADOW = 0, /* sim_check(): observable registers == the task's shadow */
	SIM_INV_LEAK,       /* sim_check(): ... and never another task's / the kernel's value */
	SIM_INV_LAZYFP,     /* no foreign value behind a trap (CR0.TS, XFD) either */
	SIM_INV_KERNEL,     /* no kernel XSAVE/XRSTOR(S)/WRMSR faults, no WARN, no oops */
	SIM_INV_OWNERSHIP,  /* owner / last_cpu / TIF_NEED_FPU_LOAD consistent and sound */
	SIM_INV_XFD,        /* IA32_XFD == per-CPU cache; == the running task's fpstate xfd */
	SIM_INV_BUFFER,     /* buffer sizes, xcomp_bv, xfd vs xfeatures, grow-only */
	SIM_INV_MEMORY,     /* accounting == sum of live buffers; baseline when none */
	SIM_INV_SUPERVISOR, /* supervisor state unchanged by user-controlled input */
	SIM_INV_REJECTED,   /* a rejected sigreturn/ptrace/guest write changes nothing */
	SIM_INV_PERM,       /* permissions: leader's record, grow-only, size rules */
	SIM_INV_UINTR,      /* pending user interrupts are not lost */
	SIM_INV_FSGS,       /* FS/GS base semantics of the chosen policy (verbs_fsgs.c) */
	SIM_INV_GUEST,      /* host XCR0/XSS/XFD outside the VM-entry window (verbs_kvm.c) */
	SIM_INV_PKRU,       /* PKRU is the running task's from the switch on (eager) */
	SIM_INV_COUNT
};
#define SIM_INV_BIT(i) (1ULL << (i))
#define SIM_INV_ALL ((1ULL << SIM_INV_COUNT) - 1)
/* What sim_check() does by itself (not switchable here): the shadow and
 * leak checks, and the FS/GS and KVM guest checks of their issues
 * (verbs_fsgs.c, verbs_kvm.c). */
#define SIM_INV_BUILTIN                                                     \
	(SIM_INV_BIT(SIM_INV_SHADOW) | SIM_INV_BIT(SIM_INV_LEAK) |          \
	 SIM_INV_BIT(SIM_INV_FSGS) | SIM_INV_BIT(SIM_INV_GUEST))

const char *sim_inv_name(enum sim_inv i);  /* "lazyfp" */
const char *sim_inv_desc(enum sim_inv i);  /* one line */
int sim_inv_lookup(const char *name);      /* -1 if unknown */
/* "all", "none", or names joined by ',' or '|' (a leading '-' removes
 * one: "all,-lazyfp"). 0, or -1 with a message in err. */
int sim_inv_parse(const char *list, uint64_t *mask, char *err, size_t errlen);
/* "all" or the names, for printing (buf of at least 256 bytes). */
const char *sim_inv_format(uint64_t mask, char *buf, size_t len);

/* Turn the invariants of mask on for m (the built-in two are always on).
 * Takes a baseline of the machine as it is now. SIM_OK or SIM_ERROR. */
int sim_inv_enable(struct sim_machine *m, uint64_t mask);
/* Check the enabled invariants now: SIM_OK, or SIM_FAIL with m->fail and
 * m->fail_check = the invariant's name. cpus: the CPUs whose state the
 * last step may have changed (~0: all). Called by sim_step_done(). */
int sim_inv_check(struct sim_machine *m, uint64_t cpus);
/* The explorer's fast path: called before a step whose checks will name
 * only the CPUs it touched, so the per-task checks look at the tasks that
 * ran there before or after it. */
void sim_inv_step_begin(struct sim_machine *m);
/* Without value tags (m->check.values off) a value behind a trap cannot
 * be told from the task's own: the check then only sets this flag, and
 * the explorer replays the program with tags to decide. */
bool sim_inv_suspect(const struct sim_machine *m);
void sim_inv_state_free(struct sim_inv_state *s);

/* Called by the scenario runner before a statement executes (and by the
 * explorer before a feature statement): the invariants that compare a
 * state before and after one statement take their snapshot here. */
void sim_inv_before(struct sim_machine *m, const struct sim_stmt *s);
/* Run one statement line (e.g. an expectation) in a symbol table holding
 * only task a (which the line names), without disturbing m->fail/note.
 * SIM_OK, SIM_FAIL or SIM_ERROR. */
int sim_line_query(struct sim_machine *m, const char *text, struct sim_task *a);

/* The `invariants` statement (verbs in invariants.c). */
extern const struct sim_verb_set sim_verbs_invariants;

/* ---- Operations ---- */

enum xe_kind {
	XE_THREAD = 0,   /* thread tN on cpuC */
	XE_KTHREAD,      /* kthread kN on cpuC */
	XE_FORK,         /* fork tA as tN */
	XE_CLONE,        /* clone tA as tN */
	XE_EXEC,         /* exec tA */
	XE_EXIT,         /* exit tA */
	XE_SWITCH,       /* switch cpuC to X|idle */
	XE_MIGRATE,      /* migrate X to cpuC */
	XE_RETURN,       /* return cpuC */
	XE_ENTER,        /* enter cpuC */
	XE_SYSCALL,      /* tA syscall */
	XE_KFPU,         /* kfpu cpuC [MASK] [noclobber] */
	XE_KFPU_BEGIN,   /* kfpu cpuC begin [MASK] [noclobber] */
	XE_KFPU_END,     /* kfpu cpuC end */
	XE_IRQ,          /* irq cpuC [kfpu [MASK] [noclobber]] */
	XE_IRQ_ENTER,    /* irq cpuC enter */
	XE_IRQ_EXIT,     /* irq cpuC exit */
	XE_NMI,          /* nmi cpuC */
	XE_NMI_ENTER,    /* nmi cpuC enter */
	XE_WRITE,        /* tA write REG = seq:0xBB */
	XE_READ,         /* tA read REG */
	XE_TOUCH,        /* tA touch COMP */
	XE_VZEROUPPER,   /* tA vzeroupper */
	XE_TILERELEASE,  /* tA tilerelease */
	XE_FNINIT,       /* tA fninit */
	XE_LDMXCSR,      /* tA ldmxcsr V */
	XE_WRPKRU,       /* tA wrpkru V */
	XE_STMT,         /* a feature statement (explore_feat.c): text template */
	XE_KIND_COUNT
};

/* Task names: user tasks t1, t2 ... and kernel threads k1, k2 ... in
 * creation order within a program; XE_KT marks a kernel thread's number. */
#define XE_KT 0x8000u
#define XE_MAX_NAMES 1024

enum xe_flags {
	XE_F_NOCLOBBER = 1u << 0, /* kfpu / irq kfpu: no SIMD clobber */
	XE_F_IRQ_KFPU = 1u << 1,  /* irq: with a kernel FPU section */
	XE_F_SETTLS = 1u << 2,    /* fork/clone: CLONE_SETTLS, FS base val << 12 */
};

struct xe_op {
	uint8_t kind;      /* enum xe_kind */
	uint8_t cpu;
	uint8_t flags;     /* enum xe_flags */
	uint8_t kmask;     /* kernel FPU mask (XK_KFPU_*) */
	uint16_t task;     /* subject (name number, | XE_KT for kthreads); 0 none/idle */
	uint16_t task2;    /* fork/clone: the child */
	uint16_t reg;      /* register table index; touch: component; XE_STMT: template */
	uint16_t aux;      /* XE_STMT: template argument */
	uint32_t val;      /* write: seq start byte; ldmxcsr/wrpkru: the value */
};

struct xe_prog {
	struct xe_op *ops;
	unsigned n, cap;
};
void xe_prog_init(struct xe_prog *p);
void xe_prog_free(struct xe_prog *p);
int xe_prog_push(struct xe_prog *p, const struct xe_op *op);
int xe_prog_copy(struct xe_prog *dst, const struct xe_prog *src);

/* ---- Configuration ---- */

struct xe_config {
	char model_spec[256];     /* as given (--cpu): printed in scenarios */
	struct xs_model model;
	unsigned ncpus;           /* 1..8, default 2 */
	unsigned max_tasks;       /* user tasks alive at once, default 4 */
	struct xk_policy policy;
	uint64_t inv_mask;        /* enum sim_inv bits (default SIM_INV_ALL) */
	unsigned prog_len;        /* operations per random program, default 1000 */
	uint64_t kinds;           /* enabled operation kinds (bit per enum xe_kind) */
	uint64_t feats;           /* enabled feature families (explore_feat.c), ~0: all */
	struct xe_regs *regs;     /* registers user code uses (xe_config_ready) */
};

/* Defaults; loads model_spec (NULL: the built-in default). 0 or -1 with err. */
int xe_config_init(struct xe_config *c, const char *model_spec, char *err, size_t errlen);
/* Apply "name=value" policy settings (xk_policy_parse). */
int xe_config_policy(struct xe_config *c, const char *settings, char *err, size_t errlen);
/* Feature families of generated operations besides the core ones:
 * "all", "none"/"core", or names joined by ',' (amx signal ptrace alloc
 * cet uintr lbr fsgs kvm); "-NAME" removes one ("all,-fsgs"). */
int xe_feats_parse(const char *list, uint64_t *mask, char *err, size_t errlen);
/* Boot the configuration once: refuses what the kernel refuses (a policy
 * the model lacks), builds the register table. Required before use. */
int xe_config_ready(struct xe_config *c, char *err, size_t errlen);
void xe_config_free(struct xe_config *c);

/* ---- Mutant catalogue (explore_mutants.c) ---- */

/* Every seeded bug of the kernel manager (enum xk_mutant), with what it
 * needs to be reachable: extra policy settings and a CPU model that has the
 * feature (NULL: any). */
struct xe_mutant {
	int id;                   /* enum xk_mutant */
	const char *name;
	const char *desc;
	const char *policy;       /* settings the bug lives under, "" if none */
	const char *model;        /* preferred model when --cpu is not given, or NULL */
	const char *bug_class;    /* the real bug it re-creates */
	const char *invariant;    /* the invariant expected to catch it */
};
unsigned xe_mutant_count(void);
/* i in [0, xe_mutant_count()): every enum xk_mutant value, in order. */
const struct xe_mutant *xe_mutant_get(unsigned i);
const struct xe_mutant *xe_mutant_find(const char *name);
/* Configure c for the mutant: the bit, its policy, its model (when the
 * caller did not choose one: model_spec NULL). */
int xe_config_mutant(struct xe_config *c, const struct xe_mutant *mu, bool model_chosen,
		     char *err, size_t errlen);

/* ---- Running programs ---- */

/* Outcome of one program run. */
struct xe_outcome {
	int status;               /* SIM_OK, SIM_FAIL, SIM_ERROR */
	unsigned step;            /* 1-based index of the failing operation (0: none) */
	unsigned executed;        /* operations executed */
	const char *check;        /* invariant name on SIM_FAIL, "scenario" on SIM_ERROR */
	char message[SIM_MSG_MAX];
	bool suspect;             /* untagged run saw a value behind a trap */
	uint64_t checks;
	/* The kernel's counters at the end (compare with `xstate run`). */
	uint64_t saves, restores, restores_skipped, switches, xfd_writes;
};

struct xe_replay_opts {
	bool tagged;              /* value tags on (exact leak/lazyfp classification) */
	bool lenient;             /* skip operations impossible in the current state */
	struct xe_prog *executed; /* lenient: receives the operations actually run */
};

/* Run p on a fresh machine of c, checking after every step; stops at the
 * first failure. */
int xe_prog_run(const struct xe_config *c, const struct xe_prog *p,
		const struct xe_replay_opts *o, struct xe_outcome *out);

/* Print one operation as a scenario line (no newline). */
int xe_op_format(const struct xe_config *c, const struct xe_op *op, char *buf, size_t len);
/* The whole program as a scenario file: machine line, invariants line,
 * one statement per operation. header (may be NULL) becomes # comments. */
void xe_prog_write(const struct xe_config *c, const struct xe_prog *p, const char *header,
		   FILE *f);
char *xe_prog_text(const struct xe_config *c, const struct xe_prog *p, const char *header);

/* Delta debugging: the smallest program (1-minimal under removal of any
 * one operation) that still fails with the same invariant name as `check`.
 * Returns 0 with *out set; runs counts the replays. */
int xe_minimize(const struct xe_config *c, const struct xe_prog *in, const char *check,
		struct xe_prog *out, unsigned *runs);

/* ---- Random exploration (explore.c) ---- */

struct xe_progress {
	uint64_t steps, programs, states;
	double elapsed;
	unsigned jobs;
};
typedef void (*xe_progress_fn)(void *ctx, const struct xe_progress *p);

struct xe_run_opts {
	uint64_t seed;            /* program k uses seed + k (k counted over all shards) */
	uint64_t steps;           /* step budget of this shard (0: seconds only) */
	double seconds;           /* time budget (0: steps only) */
	unsigned jobs;            /* threads, default 1 */
	unsigned shard, nshards;  /* this machine's share: programs k = shard (mod nshards) */
	bool minimize;            /* delta-debug a failure (default on) */
	xe_progress_fn progress;  /* called about twice a second from the main thread */
	void *progress_ctx;
};

struct xe_violation {
	char check[32];
	char message[SIM_MSG_MAX];
	uint64_t program;         /* global program index k */
	uint64_t seed;            /* seed + k */
	unsigned step;            /* failing operation, 1-based */
	struct xe_prog found;     /* the program up to and including the failing step */
	struct xe_prog min;       /* minimized (empty if minimization was off) */
	unsigned min_runs;
	double min_seconds;
	double found_after;       /* seconds into the run */
	uint64_t steps_before;    /* steps executed by this job before the failing program */
};

struct xe_report {
	uint64_t steps, programs, checks, states, internal_errors;
	double elapsed;
	double cpu_seconds;       /* CPU time of the jobs (rates per core) */
	uint64_t seed;
	unsigned jobs, shard, nshards;
	bool exhaustive;
	unsigned depth;
	bool failed;
	struct xe_violation v;
	char internal[SIM_MSG_MAX]; /* first internal error (a generator bug) */
};
void xe_report_free(struct xe_report *r);

int xe_explore(const struct xe_config *c, const struct xe_run_opts *o, struct xe_report *r);

/* One random program: generate and run it (seed), at most c->prog_len
 * operations. p receives the operations executed. */
int xe_random_program(const struct xe_config *c, uint64_t seed, bool tagged, struct xe_prog *p,
		      struct xe_outcome *out);

/* ---- Exhaustive exploration (explore_exh.c) ---- */

struct xe_exh_opts {
	unsigned depth;           /* operations after the fixed setup */
	uint64_t max_states;      /* stop expanding after this many (0: 2M) */
	xe_progress_fn progress;
	void *progress_ctx;
};
int xe_exhaustive(const struct xe_config *c, const struct xe_exh_opts *o, struct xe_report *r);

/* A hash of everything that determines the machine's future (CPUs, kernel
 * bookkeeping, buffers, shadows); counters and names excluded. */
uint64_t xe_state_hash(const struct sim_machine *m);

/* ---- Reports ---- */

/* People: the summary; on a violation the counterexample scenario and its
 * trace. JSON: one object (xe_report_json), mergeable with xe_merge. */
void xe_report_print(const struct xe_config *c, const struct xe_report *r, FILE *f,
		     bool with_trace);
void xe_report_json(const struct xe_config *c, const struct xe_report *r, FILE *f);
/* Merge --json outputs of shards (files) into one report printed to f
 * (json or text). Returns the exit status (0 none broke, 1 violation, 2 bad input). */
int xe_merge(char **files, int nfiles, bool json, FILE *f, char *err, size_t errlen);

#endif
