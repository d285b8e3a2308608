/* xstate machine simulator: an SMP machine of model CPUs running the kernel
 * manager (kernel.h), processes, user threads and kernel threads, driven by
 * a scenario (a line-oriented text file, see docs/readme/31-sim-and-scenarios.md)
 * or by a seeded random source.
 *
 * User code is modelled as what it does to the extended state: it writes
 * and reads named registers, touches components, makes system calls. Every
 * user instruction executes on the simulated CPU (cpu.h); when it faults the
 * machine calls the kernel's fault handler and retries or records the
 * signal. A read returns what the CPU's registers hold, never a value taken
 * from a task structure, so a kernel bug shows up as a wrong value.
 *
 * Each user task carries a SHADOW: a private model CPU on which only the
 * task's own instructions run, plus the kernel operations that legitimately
 * change a task's registers (exec, fork; later signal delivery, sigreturn,
 * ptrace writes through sim_shadow_*()). After every step the registers a
 * running task can observe must equal its shadow ("shadow" invariant); a
 * differing value that some other task (or the kernel) wrote is reported as
 * a "leak" instead. Values are tagged with their writers through a registry
 * of component images (sim_value_writers()).
 *
 * The same scenario and seed give the same trace, byte for byte: nothing
 * prints a pointer, a time or anything host-dependent.
 */
#ifndef XSTATE_SIM_H
#define XSTATE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xstate/cpu.h"
#include "xstate/kernel.h"
#include "xstate/model.h"

#define SIM_MAX_CPUS XK_MAX_CPUS
#define SIM_NAME_MAX XK_NAME_MAX   /* task and process names: 1-15 characters */
#define SIM_MSG_MAX 1024
#define SIM_MAX_ARGS 24
#define SIM_CONTEXT_LINES 12        /* trace lines kept for a failure report */

/* ---- Random source (prng.c): xoshiro256** seeded by splitmix64 ---- */

struct sim_prng {
	uint64_t s[4];
};
void sim_prng_seed(struct sim_prng *r, uint64_t seed);
uint64_t sim_prng_next(struct sim_prng *r);
uint64_t sim_prng_below(struct sim_prng *r, uint64_t n); /* uniform in [0, n) */

/* ---- Status of a step ---- */

enum sim_status {
	SIM_OK = 0,
	SIM_FAIL = 1,  /* an expectation or an invariant check failed: m->fail */
	SIM_ERROR = 2, /* the scenario asked for something impossible: m->err */
};

/* ---- Machine ---- */

enum sim_task_kind { SIM_USER = 0, SIM_KTHREAD };
enum sim_task_state { SIM_T_RUNNABLE = 0, SIM_T_RUNNING, SIM_T_EXITED };

/* Writers a value can be tagged with besides task ids (which start at 1). */
#define SIM_WRITER_NONE 0u
#define SIM_WRITER_KERNEL 0xFFFEu  /* kernel FPU code (the kfpu clobber) */
#define SIM_WRITER_INIT 0xFFFFu    /* the component's initial configuration */
#define SIM_WRITER_GUEST 0xF000u   /* + vCPU index: values a KVM guest wrote (verbs_kvm.c) */

struct sim_process {
	unsigned id;                 /* 1.. in creation order */
	char name[SIM_NAME_MAX];
	struct xk_process *k;        /* NULL until its first thread exists */
};

struct sim_task {
	unsigned id;                 /* 1.. in creation order; the writer tag of its values */
	char name[SIM_NAME_MAX];
	enum sim_task_kind kind;
	enum sim_task_state state;
	struct sim_process *proc;    /* NULL for kernel threads */
	unsigned cpu;                /* the CPU it runs on, or will run on when switched in */
	struct xk_task *k;           /* the kernel's task (k->sim points back here) */
	struct xs_cpu *shadow;       /* user tasks: what its registers should hold */
	uint8_t fsgs_nodesc;         /* bit per xs_seg: a tracer wrote a selector that names no
				      * descriptor; fsgs=lutomirski2016 gives base 0 at the
				      * next switch-in, whatever base it writes (verbs_fsgs.c) */
	/* Result of the task's last user instruction. */
	enum xs_fault last_fault;    /* first fault it raised, XS_OK if none */
	int last_signal;             /* signal it caused, 0 if none */
	unsigned nsignals;           /* signals delivered so far */
	unsigned nfaults;            /* faults raised so far (retried ones included) */
};

struct sim_cpu_stats {
	uint64_t saves, restores, restores_skipped, xfd_writes, switches, nm;
};

/* Invariant checks run after every step. */
struct sim_checks {
	bool shadow;      /* observable registers of running tasks == their shadows */
	bool x87_errptr;  /* compare FOP/FIP/FDP too (off on models that drop them) */
	bool values;      /* tag values with their writers (leak vs corruption) */
	/* Run user instructions on the shadows too. Only benchmarks turn it
	 * off (the shadows then go stale: no check may run afterwards). */
	bool shadow_update;
};

struct sim_machine;

/* Signal delivery seam: the machine calls it when the kernel's fault
 * handler asks for a signal. The default records it (t->last_signal,
 * t->nsignals) and returns the task to user mode past the instruction; the
 * signal-frame issue replaces it (and updates the shadow with
 * sim_shadow_*()). Returns a sim_status. */
typedef int (*sim_signal_fn)(struct sim_machine *m, struct sim_task *t, int signo, int si_code);

struct sim_machine {
	const struct xs_model *model;  /* owned copy (freed with the machine) */
	unsigned ncpus;
	struct xk_kernel k;
	bool booted;
	bool booting;                  /* kernel events of the boot go to SIM_TR_DETAIL */

	struct sim_task **tasks;       /* by id - 1 */
	unsigned ntasks, cap_tasks;
	struct sim_process **procs;    /* by id - 1 */
	unsigned nprocs, cap_procs;

	struct sim_prng rng;
	uint64_t seed;

	struct sim_checks check;
	uint64_t shadow_mask;          /* user components the shadow check covers */
	uint8_t *zero_image;           /* standard-format image with XSTATE_BV=0 (init loads) */
	uint32_t zero_image_len;
	struct sim_values *values;     /* writer registry (values.c) */
	struct xs_reg kclobber[8];     /* registers kernel FPU code overwrites */
	unsigned nkclobber;

	struct sim_cpu_stats cstat[SIM_MAX_CPUS]; /* since the last `counters reset` */
	uint64_t steps;                /* steps executed (random steps included) */
	uint64_t checks;               /* invariant checks passed */
	uint64_t warnings;             /* kernel WARN events seen */

	sim_signal_fn deliver_signal;
	void *abi;                     /* user-ABI verbs' state (verbs_abi.c), NULL until used */

	/* Extra invariants (xstate/explore.h, src/sim/invariants.c): none
	 * unless the `invariants` statement or the explorer turns them on;
	 * sim_step_done() runs them after sim_check(). */
	uint64_t inv_mask;
	struct sim_inv_state *inv;

	/* Scenario support: parser symbol id - 1 -> the task/process created
	 * by the declaring statement (run.c). */
	struct sim_task **bysym;
	unsigned nbysym;
	struct sim_process **procsym;
	unsigned nprocsym;
	bool seed_forced;              /* --seed wins over the machine line */
	uint64_t forced_seed;
	const char *policy_extra;      /* applied after the machine line's policy */
	char note[256];                /* sim_note() */
	uint8_t scratch[2][8192];      /* register values of the instruction being run */

	/* FS/GS bases and KVM guests (verbs_fsgs.c, verbs_kvm.c): NULL until
	 * a scenario uses them; freed with the machine. */
	struct sim_fsgs *fsgs;
	struct sim_kvm *kvm;

	/* Output. */
	struct sim_trace *trace;
	unsigned cur_line;             /* scenario line being executed (0: none) */

	/* Result of the last failing step. */
	char fail[SIM_MSG_MAX];        /* SIM_FAIL: what failed */
	const char *fail_check;        /* "expect", "shadow", "leak", "kernel" */
	char err[SIM_MSG_MAX];         /* SIM_ERROR: why the step was impossible */
};

/* Create an empty machine; sim_machine_boot() configures it (the `machine`
 * statement). trace may be NULL (no output at all). */
struct sim_machine *sim_machine_new(struct sim_trace *trace);
void sim_machine_free(struct sim_machine *m);
/* Boot ncpus CPUs of the model (copied) under the policy. SIM_OK or
 * SIM_ERROR with m->err set. */
int sim_machine_boot(struct sim_machine *m, const struct xs_model *model, unsigned ncpus,
		     const struct xk_policy *policy, uint64_t seed);

struct sim_task *sim_task_by_name(const struct sim_machine *m, const char *name);
struct sim_process *sim_process_by_name(const struct sim_machine *m, const char *name);
struct sim_process *sim_process_new(struct sim_machine *m, const char *name);
/* The task current on cpu (NULL = idle), and whether it is in user mode. */
static inline struct sim_task *sim_cpu_current(const struct sim_machine *m, unsigned cpu)
{
	const struct xk_task *t = m->k.cpu[cpu].current;

	return t ? (struct sim_task *)t->sim : NULL;
}
static inline bool sim_cpu_user_mode(const struct sim_machine *m, unsigned cpu)
{
	return m->k.cpu[cpu].user_mode;
}
struct xs_cpu *sim_cpu_hw(const struct sim_machine *m, unsigned cpu);
/* The task whose fpu the kernel records as the register owner of cpu. */
struct sim_task *sim_cpu_owner(const struct sim_machine *m, unsigned cpu);
const char *sim_task_name_or(const struct sim_task *t, const char *none);

/* ---- Operations (sched.c, task.c, user.c): each is one step ----
 * All return a sim_status; SIM_ERROR with m->err when the machine cannot do
 * it (a task that is not running, a CPU in user mode ...). Implicit
 * transitions (entering the kernel before a switch, returning to user mode
 * before a user instruction) are done and traced as the hardware would. */

/* Task creation. A user thread starts as a new process (xk_spawn, the state
 * after execve: init). It is placed on cpu and runs there at once if cpu is
 * idle (in the kernel, about to return to user mode). */
int sim_spawn(struct sim_machine *m, const char *name, struct sim_process *p, unsigned cpu,
	      struct sim_task **out);
int sim_kthread(struct sim_machine *m, const char *name, unsigned cpu, struct sim_task **out);
/* fork (thread=false: new process named pname, or the child's name if NULL)
 * or clone(CLONE_THREAD|CLONE_VM) of parent, which must be running. */
int sim_fork(struct sim_machine *m, struct sim_task *parent, const char *name, bool thread,
	     const char *pname, struct sim_task **out);
/* The same with CLONE_SETTLS when settls: the child's FS selector 0 and
 * base tls (kernel: -EPERM at or above TASK_SIZE_MAX, a refused fork). */
int sim_fork_tls(struct sim_machine *m, struct sim_task *parent, const char *name, bool thread,
		 const char *pname, bool settls, uint64_t tls, struct sim_task **out);
int sim_exec(struct sim_machine *m, struct sim_task *t);
int sim_exit(struct sim_machine *m, struct sim_task *t);

/* Scheduling. next NULL = idle. */
int sim_enter_kernel(struct sim_machine *m, unsigned cpu);
int sim_switch(struct sim_machine *m, unsigned cpu, struct sim_task *next);
int sim_migrate(struct sim_machine *m, struct sim_task *t, unsigned cpu);
int sim_return_to_user(struct sim_machine *m, unsigned cpu);
/* Make t run in user mode (error if it is not current anywhere). */
int sim_ensure_user(struct sim_machine *m, struct sim_task *t);

/* Kernel FPU. begin clobbers the vector registers with a kernel value (as
 * the kernel's SIMD code would) when clobber is set. */
int sim_kfpu_begin(struct sim_machine *m, unsigned cpu, unsigned mask, bool clobber);
int sim_kfpu_end(struct sim_machine *m, unsigned cpu);
int sim_irq_enter(struct sim_machine *m, unsigned cpu, enum xk_irq_kind kind);
int sim_irq_exit(struct sim_machine *m, unsigned cpu);

/* User instructions of t (made to run in user mode first). */
enum sim_uop {
	SIM_UOP_WRITE = 0, /* write reg = val */
	SIM_UOP_READ,      /* read reg into val (compared with the shadow) */
	SIM_UOP_TOUCH,     /* read + write back the first register of comp */
	SIM_UOP_VZEROUPPER,
	SIM_UOP_TILERELEASE,
	SIM_UOP_FNINIT,
	SIM_UOP_LDMXCSR,   /* val: 4 bytes */
	SIM_UOP_WRPKRU,    /* val: 4 bytes */
};
struct sim_uinsn {
	enum sim_uop op;
	struct xs_reg reg;     /* WRITE / READ / TOUCH */
	int comp;              /* TOUCH */
	const uint8_t *val;    /* WRITE / LDMXCSR / WRPKRU: reg.size (or 4) bytes */
	uint8_t *out;          /* READ: reg.size bytes (may be NULL) */
};
int sim_user(struct sim_machine *m, struct sim_task *t, const struct sim_uinsn *u);
/* Convenience: write/read a register by name. */
int sim_user_write(struct sim_machine *m, struct sim_task *t, const char *reg, const void *val);
int sim_user_read(struct sim_machine *m, struct sim_task *t, const char *reg, void *out);

/* Run the invariant checks now (done after every step by sim_step_done()). */
int sim_check(struct sim_machine *m);
/* The same checks for one CPU; comps narrows the register comparison
 * (~0: all). The explorer's fast path (explore.h). */
int sim_check_cpu(struct sim_machine *m, unsigned cpu, uint64_t comps);
/* End of one step: count it and run the checks. */
int sim_step_done(struct sim_machine *m, int status);
void sim_counters_reset(struct sim_machine *m);
uint64_t sim_count_saves(const struct sim_machine *m, int cpu);    /* cpu -1: all */
uint64_t sim_count_restores(const struct sim_machine *m, int cpu); /* cpu -1: all */

/* Random schedule (random.c): n steps chosen by m->rng among legal
 * operations (switches, migrations, user writes/reads, kernel FPU in
 * interrupts, system calls), checks after each. */
int sim_random_steps(struct sim_machine *m, uint64_t n);

/* Set m->fail (SIM_FAIL) or m->err (SIM_ERROR); return the status. */
int sim_fail(struct sim_machine *m, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int sim_error(struct sim_machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Shadows (shadow.c): the API later issues use to say what a task's
 * registers must hold after a kernel operation that changes them. ---- */

/* Components mask -> their initial configuration (exec, signal delivery). */
void sim_shadow_init(struct sim_machine *m, struct sim_task *t, uint64_t mask);
/* dst's shadow := src's (fork/clone), then components in init_mask -> init. */
void sim_shadow_copy(struct sim_machine *m, struct sim_task *dst, const struct sim_task *src,
		     uint64_t init_mask);
/* Load a standard-format (UABI) XSAVE image into the shadow with XRSTOR and
 * RFBM = mask, exactly as a sigreturn or ptrace write should leave the
 * registers. Returns the fault (XS_OK) so callers can reject bad images. */
enum xs_fault sim_shadow_load_image(struct sim_machine *m, struct sim_task *t, const void *img,
				    size_t len, uint64_t mask);
/* Save the shadow as a standard-format image with XSAVE (RFBM = mask): what
 * a signal frame or a ptrace read should contain. */
enum xs_fault sim_shadow_save_image(struct sim_machine *m, struct sim_task *t, void *img,
				    size_t len, uint64_t mask);
/* Write one register of the shadow (ptrace-style) and tag the value. */
int sim_shadow_write_reg(struct sim_machine *m, struct sim_task *t, const struct xs_reg *r,
			 const void *val);
void sim_shadow_set_pkru(struct sim_machine *m, struct sim_task *t, uint32_t pkru);

/* Compared bytes of a component: [off, off+len) ranges of xs_comp_regs()
 * (x87 and SSE share the legacy region). Returns the number of ranges. */
struct sim_range {
	uint16_t off, len;
};
unsigned sim_comp_ranges(const struct sim_machine *m, unsigned comp, struct sim_range *r);

/* ---- Value writers (values.c) ---- */

/* Record that writer (task id or SIM_WRITER_KERNEL) produced the current
 * image of comp held by cpu (a model CPU: real or shadow). */
void sim_values_note(struct sim_machine *m, const struct xs_cpu *cpu, unsigned comp,
		     unsigned writer);
/* Who produced this image of comp: SIM_WRITER_INIT if it is the initial
 * configuration, else the first writer recorded, SIM_WRITER_NONE if nobody
 * (a corrupted value). *self_too is set when `self` also produced it. */
unsigned sim_value_writer(const struct sim_machine *m, const struct xs_cpu *cpu, unsigned comp,
			  unsigned self, bool *self_too);
/* "t1", "kernel", "init", "nobody" */
const char *sim_writer_name(const struct sim_machine *m, unsigned writer, char *buf, size_t len);

/* ---- Trace (trace.c) ---- */

enum sim_trace_level {
	SIM_TR_STEP = 0,   /* one line per scenario step, expectation results */
	SIM_TR_EVENT = 1,  /* kernel saves/restores/faults, user instructions */
	SIM_TR_DETAIL = 2, /* ownership/TIF changes, per-step machine state */
};

struct sim_trace {
	FILE *out;                 /* NULL: only the context ring is kept */
	int level;                 /* print lines with level <= this */
	char ring[SIM_CONTEXT_LINES][256];
	unsigned ring_next, ring_count;
	uint64_t lines;            /* lines produced at level <= SIM_TR_EVENT */
	bool disabled;             /* nothing at all (benchmarks) */
};
void sim_trace_init(struct sim_trace *tr, FILE *out, int level);
/* False when nothing would be recorded (benchmarks): skip formatting. */
static inline bool sim_tracing(const struct sim_machine *m)
{
	return m->trace && !m->trace->disabled;
}
void sim_trace(struct sim_machine *m, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The last n context lines, oldest first, to f with a prefix. */
void sim_trace_context(const struct sim_trace *tr, FILE *f, const char *prefix);
/* The kernel's trace callback (ctx = the machine). */
void sim_on_kernel_event(void *ctx, const struct xk_event *ev);
/* Per-step machine state line(s) at SIM_TR_DETAIL. */
void sim_trace_state(struct sim_machine *m);

/* Register values for people: "0x1f80", "fill:0xab (32 bytes)", "seq:0x00",
 * long values abbreviated. */
void sim_format_value(char *buf, size_t len, const uint8_t *v, size_t n);
/* First differing byte of a and b (n bytes) as "byte 12: 0xab != 0x00". */
void sim_format_diff(char *buf, size_t len, const uint8_t *got, const uint8_t *want, size_t n,
		     size_t base);

/* ---- Scenario language (parse.c, run.c, verbs*.c) ---- */

struct sim_scenario;
struct sim_stmt;

/* What a statement's words resolved to. Parse functions fill what their
 * verb needs; exec functions read it. */
struct sim_args {
	int task[3];           /* task ids (1..), 0 = none/idle */
	int cpu[2];
	int proc;              /* process id, 0 = none */
	uint64_t num[3];
	int op;                /* enum sim_cmp */
	bool neg;              /* "!" prefix (expect !needs-load t1) */
	bool flag;
	struct xs_reg reg;
	int comp;
	uint64_t mask;
	uint8_t *val;          /* a register value (reg.size bytes), owned */
	char name[SIM_NAME_MAX];
	char name2[SIM_NAME_MAX];
	void *ext;             /* verb-specific data, freed with free() */
};

enum sim_cmp { SIM_EQ = 0, SIM_NE, SIM_LT, SIM_LE, SIM_GT, SIM_GE };

struct sim_stmt {
	unsigned line;
	const struct sim_verb *verb;
	int argc;
	char *argv[SIM_MAX_ARGS];   /* the words (argv[0] is the verb or a task name) */
	char *text;                 /* the line as written, without comment and outer blanks */
	struct sim_args a;
};

/* A verb. Statement verbs are matched on the first word; task verbs on the
 * second word when the first is a task name ("t1 write ..."); expectation
 * verbs on the word after "expect" ("expect owner ..."; the task-register
 * form "expect t1 ymm3 == V" uses the expectation verb named "reg"). */
enum sim_verb_kind { SIM_VERB_STMT = 0, SIM_VERB_TASK, SIM_VERB_EXPECT };

struct sim_parser;

struct sim_verb {
	const char *name;
	enum sim_verb_kind kind;
	const char *usage;   /* the grammar, for error messages and docs */
	/* Check the words and resolve names (tasks declared so far, registers
	 * of the model, numbers); 0, or sim_parse_error(). */
	int (*parse)(struct sim_parser *p, struct sim_stmt *s);
	/* Run it: SIM_OK, SIM_FAIL (expectation failed), SIM_ERROR. */
	int (*exec)(struct sim_machine *m, const struct sim_stmt *s);
};

struct sim_verb_set {
	const char *topic;
	const struct sim_verb *verbs;
	size_t n;
};

/* The registry (verbs.c). To add verbs: write src/sim/verbs_<topic>.c
 * defining `const struct sim_verb_set sim_verbs_<topic>`, declare it below,
 * and add one line to the array in verbs.c. */
extern const struct sim_verb_set *const sim_verb_registry[];
extern const struct sim_verb_set sim_verbs_core, sim_verbs_expect_stmt, sim_verbs_expect;
extern const struct sim_verb_set sim_verbs_fsgs, sim_verbs_kvm; /* verbs_fsgs.c, verbs_kvm.c */

/* ---- FS/GS bases and KVM guests (verbs_fsgs.c, verbs_kvm.c) ----
 * The checks run after every step with the shadow check (sim_check):
 * "fsgs" -- the running task's FS/GS selectors and bases follow the
 * policy's rule, no kernel GS base or other process's base in user mode;
 * "guest" -- host XCR0/XSS/XFD_ERR outside a guest, the guest's inside;
 * a guest's registers hold the guest's shadow ("leak" if a host value),
 * the host's never a guest value. The machine's hooks call the rest. */
int sim_fsgs_check(struct sim_machine *m, unsigned cpu);
int sim_kvm_check(struct sim_machine *m, unsigned cpu);
/* t has its guest fpstate installed: its own shadow does not apply now. */
bool sim_kvm_guest_regs(const struct sim_machine *m, const struct sim_task *t);
/* An interrupt reaches cpu while a guest runs there: VM exit first. */
int sim_kvm_interrupt(struct sim_machine *m, unsigned cpu);
/* "guest G" for a SIM_WRITER_GUEST tag, NULL otherwise. */
const char *sim_kvm_writer_name(const struct sim_machine *m, unsigned writer, char *buf,
				size_t len);
/* What the kernel did to a task's FS/GS that its shadow must follow. */
void sim_fsgs_switched_in(struct sim_machine *m, struct sim_task *t);
void sim_fsgs_exec(struct sim_machine *m, struct sim_task *t);
void sim_fsgs_forked(struct sim_machine *m, const struct sim_task *child,
		     const struct sim_task *parent);
void sim_fsgs_arch_prctl(struct sim_machine *m, struct sim_task *t, int option, uint64_t arg);
void sim_fsgs_free(struct sim_machine *m);
void sim_kvm_free(struct sim_machine *m);
extern const struct sim_verb_set sim_verbs_abi; /* verbs_abi.c (user ABI) */
/* Special states: PKRU, CET, UINTR, LBR (verbs_special.c, kernel_special.h). */
extern const struct sim_verb_set sim_verbs_special;
/* Free m->abi (verbs_abi.c); called by sim_machine_free(). */
void sim_abi_free(struct sim_machine *m);
const struct sim_verb *sim_verb_find(enum sim_verb_kind kind, const char *name);

/* Parser state visible to verbs. */
#define SIM_SYM_MAX 4096
struct sim_symbol {
	char name[SIM_NAME_MAX];
	enum sim_task_kind kind;
	unsigned proc;          /* process id (user tasks) */
	unsigned line;          /* declaring line */
};
struct sim_parser {
	const char *file;
	unsigned line;
	char err[SIM_MSG_MAX];
	struct sim_scenario *sc;
	bool have_machine;
	struct xs_model *model;  /* after the machine line */
	unsigned ncpus;
	struct sim_symbol *tasks;    /* id - 1 */
	unsigned ntasks, cap_tasks;
	char (*procs)[SIM_NAME_MAX]; /* id - 1 */
	unsigned nprocs, cap_procs;
};

/* Helpers for verb parse functions. All return 0 or -1 after
 * sim_parse_error(). `what` names the expected thing in messages. */
int sim_parse_error(struct sim_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sim_parse_argc(struct sim_parser *p, const struct sim_stmt *s, int min, int max);
int sim_parse_word(struct sim_parser *p, const struct sim_stmt *s, int i, const char *word);
int sim_parse_task(struct sim_parser *p, const char *word, int *id);       /* declared task */
int sim_parse_task_or_idle(struct sim_parser *p, const char *word, int *id); /* "idle" -> 0 */
int sim_parse_new_task(struct sim_parser *p, const char *word, enum sim_task_kind kind,
		       unsigned proc, int *id);
int sim_parse_proc(struct sim_parser *p, const char *word, int *id);
int sim_parse_new_proc(struct sim_parser *p, const char *word, int *id);
int sim_parse_cpu(struct sim_parser *p, const char *word, int *cpu);      /* "cpu1" */
int sim_parse_u64(struct sim_parser *p, const char *word, uint64_t *v);
int sim_parse_cmp(struct sim_parser *p, const char *word, int *op);
int sim_parse_mask(struct sim_parser *p, const char *word, uint64_t *mask);
int sim_parse_comp(struct sim_parser *p, const char *word, int *comp);
int sim_parse_reg(struct sim_parser *p, const char *word, struct xs_reg *r);
/* A register value: 0xHEX (a number, most significant digit first),
 * decimal, fill:0xBB, seq[:0xSS], zero, bytes:HEX (byte 0 first). */
int sim_parse_value(struct sim_parser *p, const char *word, size_t size, uint8_t **out);
int sim_parse_fault(struct sim_parser *p, const char *word, enum xs_fault *f); /* #NM, none */
int sim_parse_signal(struct sim_parser *p, const char *word, int *signo);    /* SIGILL, none */
bool sim_cmp_u64(uint64_t got, int op, uint64_t want);
const char *sim_cmp_name(int op);
const char *sim_signal_name(int signo); /* "SIGILL", "none" for 0 */

/* A parsed scenario. */
struct sim_scenario {
	char *file;
	struct sim_stmt *stmts;
	unsigned nstmts, cap;
	struct xs_model model;      /* from the machine line */
	unsigned ncpus;
	struct xk_policy policy;
	uint64_t seed;              /* machine seed= (overridden by --seed) */
	bool seed_given;
	unsigned nexpect;           /* expectation statements */
	unsigned ntasks, nprocs;    /* declared task and process symbols */
};

/* For verb exec functions: the task (process) a statement's a.task[i]
 * (a.proc) names, and binding a declared symbol to what was created. */
struct sim_task *sim_stmt_task(const struct sim_machine *m, const struct sim_stmt *s, int i);
struct sim_process *sim_stmt_proc(const struct sim_machine *m, const struct sim_stmt *s);
int sim_bind_task(struct sim_machine *m, int sym, struct sim_task *t);
int sim_bind_proc(struct sim_machine *m, int sym, struct sim_process *p);
/* A note printed after an expectation that held ("got 0x1f80"). */
void sim_note(struct sim_machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a whole file. 0, or -1 with "FILE:LINE: reason" in err. */
int sim_scenario_parse(const char *text, const char *file, struct sim_scenario **out,
		       char *err, size_t errlen);
int sim_scenario_load(const char *path, struct sim_scenario **out, char *err, size_t errlen);
void sim_scenario_free(struct sim_scenario *sc);

/* Running. */
struct sim_run_opts {
	FILE *out;          /* trace output, NULL for none */
	int level;          /* enum sim_trace_level */
	bool seed_set;
	uint64_t seed;      /* overrides the scenario's */
	/* Optional kernel policy override applied after the scenario's
	 * (tests use it to run a scenario against a mutant). */
	const char *policy_extra;
};

struct sim_result {
	int status;                     /* SIM_OK / SIM_FAIL / SIM_ERROR */
	unsigned expect_passed, expect_failed, expect_total;
	unsigned fail_line;             /* line of the failure or error (0: none) */
	char fail_text[256];            /* the statement as written */
	char message[SIM_MSG_MAX];      /* "FILE:LINE: reason" (error) or the failure */
	const char *fail_check;         /* "expect", "shadow", "leak", "kernel", NULL */
	char context[SIM_CONTEXT_LINES][256]; /* last trace lines before the failure */
	unsigned ncontext;
	uint64_t steps, checks, warnings, seed;
	uint64_t saves, restores, restores_skipped, switches, xfd_writes;
	uint64_t mem_bytes, mem_peak;
	char policy[128];
	char model[XS_MODEL_NAME_MAX];
	unsigned ncpus;
};

int sim_scenario_run(const struct sim_scenario *sc, const struct sim_run_opts *o,
		     struct sim_result *res);
/* Parse and run a scenario held in a string (tests). */
int sim_run_string(const char *text, const char *file, const struct sim_run_opts *o,
		   struct sim_result *res);

#endif
