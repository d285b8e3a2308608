/* The random program generator: one legal operation at a time, chosen by
 * the program's PRNG with weights that keep a few tasks busy on every CPU
 * and reach the kernel's interesting paths (preemption in user and kernel
 * mode, migration, kernel FPU in system calls, interrupts and kernel
 * threads, nested interrupts, fork/exec/exit) within a few dozen steps.
 * The same seed and machine state give the same choice.
 */
#include <string.h>

#include "sim/explore_internal.h"

enum { MAX_CAND = 64 };

/* Candidate tasks. what: 0 = running user tasks that can run user code,
 * 1 = any live task, 2 = live tasks not running. */
static unsigned candidates(const struct xe_exec *x, int what, unsigned *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < x->nlive && n < MAX_CAND; i++) {
		unsigned name = x->live[i];
		const struct sim_task *t = xe_task(x, name);
		int cpu;

		if (!t || t->state == SIM_T_EXITED)
			continue;
		cpu = xe_task_cpu(t);
		if (what == 0 && ((name & XE_KT) || cpu < 0 || xe_cpu_busy(x->m, (unsigned)cpu) ||
				  t->k->fpu.fpstate->in_use))
			continue;
		if (what == 2 && cpu >= 0)
			continue;
		out[n++] = name;
	}
	return n;
}

/* The tasks that can run user code now (x->ready), found once per step. */
static unsigned ready_tasks(struct xe_exec *x)
{
	if (!x->ready_valid) {
		x->nready = candidates(x, 0, x->ready);
		x->ready_valid = true;
	}
	return x->nready;
}

static unsigned pick(struct sim_prng *r, const unsigned *c, unsigned n)
{
	return n ? c[sim_prng_below(r, n)] : 0;
}

static unsigned busy_cpu(const struct xe_exec *x, struct sim_prng *r, bool kfpu)
{
	unsigned c[SIM_MAX_CPUS], n = 0;

	for (unsigned i = 0; i < x->m->ncpus; i++) {
		const struct xk_cpu *k = &x->m->k.cpu[i];
		if (kfpu ? !k->kernel_fpu_allowed : (k->irq_depth + k->nmi_depth) > 0)
			c[n++] = i;
	}
	return n ? c[sim_prng_below(r, n)] : 0;
}

enum cat {
	C_THREAD, C_KTHREAD, C_FORK, C_CLONE, C_EXEC, C_EXIT, C_SWITCH, C_MIGRATE, C_RETURN,
	C_ENTER, C_SYSCALL, C_KFPU, C_KFPU_BEGIN, C_KFPU_END, C_IRQ, C_IRQ_ENTER, C_IRQ_EXIT,
	C_NMI, C_WRITE, C_READ, C_TOUCH, C_VZU, C_TREL, C_FNINIT, C_LDMXCSR, C_WRPKRU, C_FEAT,
	C_COUNT
};

static const uint8_t kind_of[C_COUNT] = {
	[C_THREAD] = XE_THREAD, [C_KTHREAD] = XE_KTHREAD, [C_FORK] = XE_FORK,
	[C_CLONE] = XE_CLONE, [C_EXEC] = XE_EXEC, [C_EXIT] = XE_EXIT,
	[C_SWITCH] = XE_SWITCH, [C_MIGRATE] = XE_MIGRATE, [C_RETURN] = XE_RETURN,
	[C_ENTER] = XE_ENTER, [C_SYSCALL] = XE_SYSCALL, [C_KFPU] = XE_KFPU,
	[C_KFPU_BEGIN] = XE_KFPU_BEGIN, [C_KFPU_END] = XE_KFPU_END, [C_IRQ] = XE_IRQ,
	[C_IRQ_ENTER] = XE_IRQ_ENTER, [C_IRQ_EXIT] = XE_IRQ_EXIT, [C_NMI] = XE_NMI,
	[C_WRITE] = XE_WRITE, [C_READ] = XE_READ, [C_TOUCH] = XE_TOUCH,
	[C_VZU] = XE_VZEROUPPER, [C_TREL] = XE_TILERELEASE, [C_FNINIT] = XE_FNINIT,
	[C_LDMXCSR] = XE_LDMXCSR, [C_WRPKRU] = XE_WRPKRU, [C_FEAT] = XE_STMT,
};

/* The categories whose weight depends on the state (weights() sets them). */
static const uint8_t dynamic_cats[] = { C_THREAD, C_KTHREAD, C_FORK, C_CLONE, C_EXIT,
					C_KFPU_END, C_IRQ_EXIT };

/* The weights that depend only on the configuration, once per program;
 * 1 marks the categories whose weight depends on the state. */
static void base_weights(struct xe_exec *x)
{
	uint16_t *w = x->gen_base;

	memset(w, 0, sizeof(x->gen_base));
	w[C_THREAD] = w[C_KTHREAD] = w[C_FORK] = w[C_CLONE] = w[C_EXIT] = 1;
	w[C_KFPU_END] = w[C_IRQ_EXIT] = 1;
	w[C_EXEC] = 6;
	w[C_SWITCH] = 110;
	w[C_MIGRATE] = x->m->ncpus > 1 ? 40 : 0;
	w[C_RETURN] = 20;
	w[C_ENTER] = 12;
	w[C_SYSCALL] = 25;
	w[C_KFPU] = 35;
	w[C_KFPU_BEGIN] = 10;
	w[C_IRQ] = 30;
	w[C_IRQ_ENTER] = 6;
	w[C_NMI] = 4;
	w[C_WRITE] = 280;
	w[C_READ] = 80;
	w[C_TOUCH] = x->regs->touch_comps ? 10 : 0;
	w[C_VZU] = 6;
	w[C_TREL] = (x->m->k.xcr0 & XS_MASK_AMX) ? 3 : 0;
	w[C_FNINIT] = 5;
	w[C_LDMXCSR] = 8;
	w[C_WRPKRU] = x->regs->pkru ? 8 : 0;
	w[C_FEAT] = xe_feat_count() ? 60 : 0;
	for (unsigned k = 0; k < C_COUNT; k++)
		if (!((x->cfg->kinds >> kind_of[k]) & 1))
			w[k] = 0;
	x->gen_base_total = 0;
	for (unsigned k = 0; k < C_COUNT; k++)
		x->gen_base_total += w[k];
	for (size_t i = 0; i < sizeof(dynamic_cats); i++)
		x->gen_base_total -= w[dynamic_cats[i]];
	x->gen_ready = true;
}

/* This step's weights in w (C_COUNT of them); returns their sum. Runs on
 * every step: a copy of the base and the few state-dependent ones. */
static unsigned weights(struct xe_exec *x, uint16_t *w)
{
	const struct xe_config *c = x->cfg;
	const uint16_t *b = x->gen_base;
	unsigned open_kfpu = 0, open_irq = 0, total;

	if (!x->gen_ready)
		base_weights(x);
	for (unsigned i = 0; i < x->m->ncpus; i++) {
		open_kfpu += !x->m->k.cpu[i].kernel_fpu_allowed;
		open_irq += (x->m->k.cpu[i].irq_depth + x->m->k.cpu[i].nmi_depth) > 0;
	}
	memcpy(w, b, C_COUNT * sizeof(*w));
	if (b[C_THREAD])
		w[C_THREAD] = x->live_user < 2 ? 400 : x->live_user < c->max_tasks ? 6 : 0;
	if (b[C_KTHREAD])
		w[C_KTHREAD] = x->live_kthreads == 0 ? 15 : x->live_kthreads < 2 ? 2 : 0;
	if (b[C_FORK])
		w[C_FORK] = x->live_user < c->max_tasks ? 8 : 0;
	if (b[C_CLONE])
		w[C_CLONE] = x->live_user < c->max_tasks ? 6 : 0;
	if (b[C_EXIT])
		w[C_EXIT] = x->live_user > 1 ? 4 : 0;
	if (b[C_KFPU_END])
		w[C_KFPU_END] = open_kfpu ? 60 : 0;
	if (b[C_IRQ_EXIT])
		w[C_IRQ_EXIT] = open_irq ? 50 : 0;
	total = x->gen_base_total;
	for (size_t i = 0; i < sizeof(dynamic_cats); i++)
		total += w[dynamic_cats[i]];
	return total;
}

static unsigned kfpu_mask(struct sim_prng *r)
{
	static const uint8_t masks[8] = { XK_KFPU_DEFAULT, XK_KFPU_DEFAULT, XK_KFPU_DEFAULT,
					  XK_KFPU_DEFAULT, XK_KFPU_DEFAULT, XK_KFPU_387,
					  XK_KFPU_MXCSR, 0 };
	return masks[sim_prng_below(r, 8)];
}

static uint8_t kfpu_flags(struct sim_prng *r)
{
	return sim_prng_below(r, 8) == 0 ? XE_F_NOCLOBBER : 0;
}

/* Fill op for category k; false if the state offers nothing for it. */
static bool fill(struct xe_exec *x, struct sim_prng *r, enum cat k, struct xe_op *op)
{
	unsigned cand[MAX_CAND], n;
	unsigned ncpus = x->m->ncpus;

	memset(op, 0, sizeof(*op));
	op->cpu = (uint8_t)sim_prng_below(r, ncpus);
	op->kmask = XK_KFPU_DEFAULT;
	switch (k) {
	case C_THREAD:
		op->kind = XE_THREAD;
		op->task = (uint16_t)(x->next_name[0] + 1);
		return op->task < XE_MAX_NAMES;
	case C_KTHREAD:
		op->kind = XE_KTHREAD;
		op->task = (uint16_t)((x->next_name[1] + 1) | XE_KT);
		return (x->next_name[1] + 1) < XE_MAX_NAMES;
	case C_FORK:
	case C_CLONE:
		op->kind = k == C_FORK ? XE_FORK : XE_CLONE;
		n = ready_tasks(x);
		op->task = (uint16_t)pick(r, x->ready, n);
		op->task2 = (uint16_t)(x->next_name[0] + 1);
		/* A quarter with CLONE_SETTLS (pthread_create's), when FS/GS
		 * operations are on: a fresh FS base for the child. */
		if (xe_fsgs_enabled(x->cfg) && sim_prng_below(r, 4) == 0) {
			op->flags = XE_F_SETTLS;
			op->val = 1 + (uint32_t)sim_prng_below(r, 0xFFFFFFF);
		}
		return n && op->task2 < XE_MAX_NAMES;
	case C_EXEC:
	case C_EXIT:
	case C_SYSCALL:
	case C_WRITE:
	case C_READ:
	case C_TOUCH:
	case C_VZU:
	case C_TREL:
	case C_FNINIT:
	case C_LDMXCSR:
	case C_WRPKRU:
		n = ready_tasks(x);
		if (!n)
			return false;
		op->task = (uint16_t)pick(r, x->ready, n);
		switch (k) {
		case C_EXEC: op->kind = XE_EXEC; break;
		case C_EXIT: op->kind = XE_EXIT; break;
		case C_SYSCALL: op->kind = XE_SYSCALL; break;
		case C_WRITE:
			op->kind = XE_WRITE;
			op->reg = (uint16_t)sim_prng_below(r, x->regs->n);
			op->val = 1 + (uint32_t)sim_prng_below(r, 255);
			break;
		case C_READ:
			op->kind = XE_READ;
			op->reg = (uint16_t)sim_prng_below(r, x->regs->n);
			break;
		case C_TOUCH: {
			uint64_t tc = x->regs->touch_comps;
			unsigned nc = (unsigned)__builtin_popcountll(tc), j;

			if (!nc)
				return false;
			op->kind = XE_TOUCH;
			j = (unsigned)sim_prng_below(r, nc);
			while (j--)
				tc &= tc - 1;
			op->reg = (uint16_t)__builtin_ctzll(tc);
			break;
		}
		case C_VZU: op->kind = XE_VZEROUPPER; break;
		case C_TREL: op->kind = XE_TILERELEASE; break;
		case C_FNINIT: op->kind = XE_FNINIT; break;
		case C_LDMXCSR:
			op->kind = XE_LDMXCSR;
			op->val = (uint32_t)sim_prng_next(r) & x->regs->mxcsr_mask & 0xFFFF;
			break;
		case C_WRPKRU:
			op->kind = XE_WRPKRU;
			/* Key 0 stays accessible, as every real program keeps it. */
			op->val = (uint32_t)sim_prng_next(r) & ~3u;
			break;
		default:
			break;
		}
		return true;
	case C_SWITCH:
		op->kind = XE_SWITCH;
		if (sim_prng_below(r, 5) == 0)
			return sim_cpu_current(x->m, op->cpu) != NULL; /* to idle */
		n = candidates(x, 2, cand);
		op->task = (uint16_t)pick(r, cand, n);
		return n > 0;
	case C_MIGRATE:
		op->kind = XE_MIGRATE;
		n = candidates(x, 1, cand);
		op->task = (uint16_t)pick(r, cand, n);
		return n > 0 && xe_task_cpu(xe_task(x, op->task)) != (int)op->cpu;
	case C_RETURN:
		op->kind = XE_RETURN;
		return true;
	case C_ENTER:
		op->kind = XE_ENTER;
		return true;
	case C_KFPU:
	case C_KFPU_BEGIN:
		op->kind = k == C_KFPU ? XE_KFPU : XE_KFPU_BEGIN;
		op->kmask = (uint8_t)kfpu_mask(r);
		op->flags = kfpu_flags(r);
		return true;
	case C_KFPU_END:
		op->kind = XE_KFPU_END;
		op->cpu = (uint8_t)busy_cpu(x, r, true);
		return true;
	case C_IRQ:
		op->kind = XE_IRQ;
		if (sim_prng_below(r, 4)) {
			op->flags = XE_F_IRQ_KFPU | kfpu_flags(r);
			op->kmask = (uint8_t)kfpu_mask(r);
		}
		return true;
	case C_IRQ_ENTER:
		op->kind = sim_prng_below(r, 4) ? XE_IRQ_ENTER : XE_NMI_ENTER;
		return true;
	case C_IRQ_EXIT:
		op->kind = XE_IRQ_EXIT;
		op->cpu = (uint8_t)busy_cpu(x, r, false);
		return true;
	case C_NMI:
		op->kind = XE_NMI;
		return true;
	case C_FEAT:
		return xe_feat_gen(x, r, op);
	case C_COUNT:
		break;
	}
	return false;
}

/* The categories that need a task able to run user code now. */
static const uint8_t user_cats[] = { C_FORK, C_CLONE, C_EXEC, C_EXIT, C_SYSCALL, C_WRITE, C_READ,
				     C_TOUCH, C_VZU, C_TREL, C_FNINIT, C_LDMXCSR, C_WRPKRU };

bool xe_gen_op(struct xe_exec *x, struct sim_prng *r, struct xe_op *op)
{
	uint16_t w[C_COUNT];
	unsigned total;

	/* The tasks that can run user code are found when a category first
	 * needs them (ready_tasks()): walking every live task costs more than
	 * the rest of the choice, and half the steps do not need them. */
	x->ready_valid = false;
	total = weights(x, w);
	for (int attempt = 0; total && attempt < 32; attempt++) {
		unsigned v = (unsigned)sim_prng_below(r, total), k = 0;

		while (v >= w[k])
			v -= w[k++];
		if (memchr(user_cats, (int)k, sizeof(user_cats)) && !ready_tasks(x)) {
			/* None can: leave those categories out, as if never offered. */
			for (size_t i = 0; i < sizeof(user_cats); i++) {
				total -= w[user_cats[i]];
				w[user_cats[i]] = 0;
			}
			continue;
		}
		if (fill(x, r, (enum cat)k, op) && xe_op_legal(x, op))
			return true;
	}
	if (!total)
		return false;
	/* Few operations are possible (every CPU inside an interrupt or a
	 * kernel FPU section): try every category in turn. */
	for (unsigned i = 0, k0 = (unsigned)sim_prng_below(r, C_COUNT); i < C_COUNT; i++) {
		unsigned k = (k0 + i) % C_COUNT;

		for (int attempt = 0; w[k] && attempt < 8; attempt++)
			if (fill(x, r, (enum cat)k, op) && xe_op_legal(x, op))
				return true;
	}
	return false;
}
