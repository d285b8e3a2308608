/* Explorer internals shared by src/sim/explore*.c (not part of the API). */
#ifndef XSTATE_EXPLORE_INTERNAL_H
#define XSTATE_EXPLORE_INTERNAL_H

#include "sim/sim_internal.h"
#include "xstate/explore.h"

#define XE_MAX_REGS 160
/* xe_op_exec(): a feature statement that was impossible and changed nothing. */
#define XE_SKIP 3

/* Registers user code writes and reads, for one configuration: every
 * register whose components the shadow check covers and user code may
 * touch without a permission (tile data needs one: feature ops). */
struct xe_regs {
	struct xs_reg r[XE_MAX_REGS];
	unsigned n;
	uint64_t touch_comps;      /* components `touch` may name */
	uint32_t mxcsr_mask;
	bool pkru;                 /* WRPKRU works (PKU enabled) */
};

/* One program run in progress: a machine and the names it has bound. */
struct xe_exec {
	const struct xe_config *cfg;
	const struct xe_regs *regs;
	struct sim_machine *m;
	struct sim_trace tr;
	struct sim_task *byname[2][XE_MAX_NAMES]; /* [kthread?][number] */
	unsigned next_name[2];                    /* last number given out */
	unsigned live_user, live_kthreads;
	uint16_t live[XE_MAX_NAMES];              /* names of tasks not exited */
	unsigned nlive;
	uint16_t gen_base[32];                    /* generator weights that never change */
	unsigned gen_base_total;                  /* their sum, without the state-dependent ones */
	bool gen_ready;
	bool alloc_armed;                         /* inside alloc-fail always ... off */
	uint16_t feat_w[2][96];                   /* feature template weights (per program),
						   * [alloc_armed] */
	unsigned feat_total[2];                   /* their sums */
	uint16_t guest_task[4];                   /* vCPU gN -> its VMM task's name */
	unsigned ready[64], nready;               /* generator: tasks that can run user code now */
	bool ready_valid;                         /* ready[] found for this step */
	bool feat_ready;
	uint64_t dirty;                           /* CPUs the last step touched */
	uint64_t check_comps;                     /* components it may have changed */
	bool fast;                                /* untagged: own checks, narrowed */
	uint8_t val[8192];
};

/* explore_ops.c */
int xe_regs_build(const struct xe_config *c, const struct sim_machine *m, struct xe_regs *r);
int xe_exec_start(struct xe_exec *x, const struct xe_config *c, const struct xe_regs *regs,
		  uint64_t seed, bool tagged, char *err, size_t errlen);
void xe_exec_end(struct xe_exec *x);
/* The task bound to a name, or NULL (inline: the generator asks for
 * every live task on every step). */
static inline struct sim_task *xe_task(const struct xe_exec *x, unsigned name)
{
	unsigned kt = (name & XE_KT) ? 1 : 0, n = name & ~XE_KT;

	if (!name || n >= XE_MAX_NAMES)
		return NULL;
	return x->byname[kt][n];
}
/* Is op possible now (what the scenario statement's verb would accept)? */
bool xe_op_legal(const struct xe_exec *x, const struct xe_op *op);
/* Execute op as its statement would: a sim_status (SIM_ERROR: impossible). */
int xe_op_exec(struct xe_exec *x, const struct xe_op *op);
/* Checks after a step: sim_check + the enabled invariants (dirty CPUs). */
int xe_check(struct xe_exec *x);
/* CPU a task runs on, or -1. */
static inline int xe_task_cpu(const struct sim_task *t)
{
	if (!t || t->state == SIM_T_EXITED || !t->k)
		return -1;
	return t->k->on_cpu;
}
/* Inside a kernel FPU section or an interrupt: no user code runs there. */
static inline bool xe_cpu_busy(const struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];

	return !c->kernel_fpu_allowed || c->irq_depth || c->nmi_depth;
}

/* explore_gen.c: pick a legal random operation (false: none possible). */
bool xe_gen_op(struct xe_exec *x, struct sim_prng *r, struct xe_op *op);

/* explore_feat.c: feature operations (XE_STMT). */
unsigned xe_feat_count(void);
/* FS/GS operations are among the configuration's families. */
bool xe_fsgs_enabled(const struct xe_config *c);
bool xe_feat_gen(struct xe_exec *x, struct sim_prng *r, struct xe_op *op);
bool xe_feat_legal(const struct xe_exec *x, const struct xe_op *op);
int xe_feat_exec(struct xe_exec *x, const struct xe_op *op);
int xe_feat_format(const struct xe_exec *x, const struct xe_config *c, const struct xe_op *op,
		   char *buf, size_t len);

/* Monotonic seconds. */
double xe_now(void);

#endif
