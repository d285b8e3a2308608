/* Explorer operations: each struct xe_op is one scenario statement. It
 * prints as that statement and executes through the same sim_*() calls
 * the statement's verb makes (verbs_core.c), so a program the explorer
 * ran is a scenario `xstate run` runs the same way. xe_op_legal() mirrors
 * what the verbs and the machine accept, so generated programs never ask
 * for an impossible step.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/explore_internal.h"

double xe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Programs ---- */

void xe_prog_init(struct xe_prog *p)
{
	memset(p, 0, sizeof(*p));
}

void xe_prog_free(struct xe_prog *p)
{
	free(p->ops);
	xe_prog_init(p);
}

int xe_prog_push(struct xe_prog *p, const struct xe_op *op)
{
	if (p->n == p->cap) {
		unsigned cap = p->cap ? p->cap * 2 : 256;
		struct xe_op *n = realloc(p->ops, cap * sizeof(*n));
		if (!n)
			return -1;
		p->ops = n;
		p->cap = cap;
	}
	p->ops[p->n++] = *op;
	return 0;
}

int xe_prog_copy(struct xe_prog *dst, const struct xe_prog *src)
{
	dst->n = 0;
	for (unsigned i = 0; i < src->n; i++)
		if (xe_prog_push(dst, &src->ops[i]))
			return -1;
	return 0;
}

/* ---- Register table ---- */

int xe_regs_build(const struct xe_config *c, const struct sim_machine *m, struct xe_regs *r)
{
	static const struct {
		const char *fmt;
		unsigned first, n;
	} families[] = {
		{ "xmm%u", 0, 16 }, { "ymm%u", 0, 16 }, { "zmm%u", 0, 32 }, { "k%u", 0, 8 },
		{ "st%u", 0, 8 },   { "r%u", 16, 16 },  { "bnd%u", 0, 4 },
	};
	/* Tile data needs a permission first (feature operations). */
	uint64_t allowed = m->shadow_mask & ~XS_MASK_AMX;
	char name[16];

	memset(r, 0, sizeof(*r));
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		for (unsigned i = families[f].first; i < families[f].first + families[f].n; i++) {
			struct xs_reg reg;
			bool ok = true;

			snprintf(name, sizeof(name), families[f].fmt, i);
			if (xs_reg_lookup(m->model, name, &reg) || reg.supervisor)
				continue;
			for (unsigned p = 0; p < reg.nparts; p++)
				ok &= (allowed >> reg.part[p].comp) & 1;
			if (ok && r->n < XE_MAX_REGS)
				r->r[r->n++] = reg;
		}
	for (unsigned comp = 0; comp < XS_NAMED_COMPS; comp++) {
		struct xs_reg reg;

		if (!((allowed >> comp) & 1) || comp == XS_C_PKRU)
			continue;
		if (!sim_touch_reg(m->model, (int)comp, &reg))
			r->touch_comps |= XS_BIT(comp);
	}
	r->mxcsr_mask = m->k.mxcsr_feature_mask;
	r->pkru = (m->k.xcr0 & XS_BIT(XS_C_PKRU)) && m->model->feat.pku;
	(void)c;
	return r->n ? 0 : -1;
}

/* ---- Names ---- */

static void task_name(unsigned name, char *buf, size_t len)
{
	if (!name)
		snprintf(buf, len, "idle");
	else
		snprintf(buf, len, "%c%u", (name & XE_KT) ? 'k' : 't', name & ~XE_KT);
}

static bool name_free(const struct xe_exec *x, unsigned name)
{
	unsigned n = name & ~XE_KT;

	return name && n < XE_MAX_NAMES && !x->byname[(name & XE_KT) ? 1 : 0][n];
}

/* ---- Machine ---- */

int xe_exec_start(struct xe_exec *x, const struct xe_config *c, const struct xe_regs *regs,
		  uint64_t seed, bool tagged, char *err, size_t errlen)
{
	int rc;

	memset(x->byname, 0, sizeof(x->byname));
	x->cfg = c;
	x->regs = regs;
	x->next_name[0] = x->next_name[1] = 0;
	x->live_user = x->live_kthreads = 0;
	x->nlive = 0;
	x->gen_ready = false;
	x->alloc_armed = false;
	x->feat_ready = false;
	memset(x->guest_task, 0, sizeof(x->guest_task));
	x->dirty = ~0ULL;
	sim_trace_init(&x->tr, NULL, SIM_TR_STEP);
	x->tr.disabled = true; /* no formatting at all; the kernel's trace hook stays off */
	x->m = sim_machine_new(&x->tr);
	if (!x->m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x->m->check.values = tagged; /* before the boot: no registry untagged */
	rc = sim_machine_boot(x->m, &c->model, c->ncpus, &c->policy, seed);
	if (!rc)
		rc = sim_inv_enable(x->m, c->inv_mask);
	if (rc) {
		snprintf(err, errlen, "%s", x->m->err);
		sim_machine_free(x->m);
		x->m = NULL;
		return -1;
	}
	x->m->check.values = tagged;
	/* The fast path does the shadow check itself (xe_check), on the CPUs
	 * and components a step can have changed; sim_user()'s own checks
	 * (before each instruction, and of each read) are subsumed. */
	x->fast = !tagged;
	if (x->fast)
		x->m->check.shadow = false;
	x->check_comps = ~0ULL;
	return 0;
}

void xe_exec_end(struct xe_exec *x)
{
	sim_machine_free(x->m);
	x->m = NULL;
}

static unsigned irq_depth(const struct sim_machine *m, unsigned cpu)
{
	return m->k.cpu[cpu].irq_depth + m->k.cpu[cpu].nmi_depth;
}

/* A user task running on a CPU that can return to user mode (not inside
 * KVM_RUN, where the guest fpstate is installed until the ioctl returns). */
static bool user_ready(const struct xe_exec *x, const struct sim_task *t)
{
	int cpu = xe_task_cpu(t);

	return t && t->kind == SIM_USER && cpu >= 0 && !xe_cpu_busy(x->m, (unsigned)cpu) &&
	       !t->k->fpu.fpstate->in_use;
}

static bool kfpu_usable(const struct sim_machine *m, unsigned cpu)
{
	return m->k.cpu[cpu].kernel_fpu_allowed && !m->k.cpu[cpu].nmi_depth;
}

bool xe_op_legal(const struct xe_exec *x, const struct xe_op *op)
{
	const struct sim_machine *m = x->m;
	const struct sim_task *t = xe_task(x, op->task);
	unsigned cpu = op->cpu;
	int tc;

	if (op->kind == XE_STMT)
		return xe_feat_legal(x, op);
	if (cpu >= m->ncpus)
		return false;
	switch ((enum xe_kind)op->kind) {
	case XE_THREAD:
	case XE_KTHREAD:
		if (x->alloc_armed)
			return false;
		if (!name_free(x, op->task) || !!(op->task & XE_KT) != (op->kind == XE_KTHREAD))
			return false;
		return m->k.cpu[cpu].current || !xe_cpu_busy(m, cpu);
	case XE_FORK:
	case XE_CLONE:
		return !x->alloc_armed && user_ready(x, t) && name_free(x, op->task2) && !(op->task2 & XE_KT);
	case XE_EXEC:
		return user_ready(x, t) && t->k->proc && t->k->proc->nthreads <= 1;
	case XE_EXIT:
		return user_ready(x, t);
	case XE_SWITCH:
		if (xe_cpu_busy(m, cpu))
			return false;
		if (!op->task)
			return true;
		if (!t || t->state == SIM_T_EXITED)
			return false;
		tc = xe_task_cpu(t);
		return tc < 0 || tc == (int)cpu;
	case XE_MIGRATE:
		if (!t || t->state == SIM_T_EXITED || xe_cpu_busy(m, cpu))
			return false;
		tc = xe_task_cpu(t);
		return tc < 0 || (tc != (int)cpu && !xe_cpu_busy(m, (unsigned)tc));
	case XE_RETURN: {
		const struct sim_task *cur = sim_cpu_current(m, cpu);

		return !m->k.cpu[cpu].user_mode && cur && cur->kind == SIM_USER &&
		       cur->state != SIM_T_EXITED && !xe_cpu_busy(m, cpu) &&
		       !cur->k->fpu.fpstate->in_use;
	}
	case XE_ENTER:
		return m->k.cpu[cpu].user_mode;
	case XE_KFPU:
	case XE_KFPU_BEGIN:
		return kfpu_usable(m, cpu);
	case XE_KFPU_END:
		return !m->k.cpu[cpu].kernel_fpu_allowed &&
		       m->k.cpu[cpu].kfpu_depth == irq_depth(m, cpu);
	/* Nothing interrupts an NMI handler (NMIs and interrupts stay blocked
	 * until its IRET). */
	case XE_IRQ:
		if (irq_depth(m, cpu) >= 4 || m->k.cpu[cpu].nmi_depth)
			return false;
		return !(op->flags & XE_F_IRQ_KFPU) || m->k.cpu[cpu].kernel_fpu_allowed;
	case XE_IRQ_ENTER:
	case XE_NMI_ENTER:
	case XE_NMI:
		return irq_depth(m, cpu) < 4 && !m->k.cpu[cpu].nmi_depth;
	case XE_IRQ_EXIT: {
		const struct xk_cpu *c = &m->k.cpu[cpu];
		unsigned d = irq_depth(m, cpu);

		return d && !(!c->kernel_fpu_allowed && c->kfpu_depth >= d);
	}
	case XE_SYSCALL:
	case XE_WRITE:
	case XE_READ:
	case XE_VZEROUPPER:
	case XE_TILERELEASE:
	case XE_FNINIT:
	case XE_LDMXCSR:
	case XE_WRPKRU:
		if ((op->kind == XE_WRITE || op->kind == XE_READ) && op->reg >= x->regs->n)
			return false;
		return user_ready(x, t);
	case XE_TOUCH:
		return user_ready(x, t) && op->reg < 64 && ((x->regs->touch_comps >> op->reg) & 1);
	case XE_STMT:
	case XE_KIND_COUNT:
		break;
	}
	return false;
}

/* ---- Execution ---- */

static void seq_value(uint8_t *v, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)(start + i);
}

static void bind(struct xe_exec *x, unsigned name, struct sim_task *t)
{
	unsigned kt = (name & XE_KT) ? 1 : 0, n = name & ~XE_KT;

	if (t && n < XE_MAX_NAMES) {
		x->byname[kt][n] = t;
		if (n > x->next_name[kt])
			x->next_name[kt] = n;
		if (kt)
			x->live_kthreads++;
		else
			x->live_user++;
		if (x->nlive < XE_MAX_NAMES)
			x->live[x->nlive++] = (uint16_t)name;
	}
}

static void unbind_live(struct xe_exec *x, unsigned name)
{
	for (unsigned i = 0; i < x->nlive; i++)
		if (x->live[i] == name) {
			memmove(&x->live[i], &x->live[i + 1], (x->nlive - i - 1) * sizeof(x->live[0]));
			x->nlive--;
			return;
		}
}

static void dirty_task(struct xe_exec *x, const struct sim_task *t)
{
	int cpu = xe_task_cpu(t);

	if (cpu >= 0)
		x->dirty |= 1ULL << cpu;
}

/* Components a user instruction changes or reads (the narrowed check
 * after it when no kernel code ran). */
static uint64_t insn_comps(const struct xe_exec *x, const struct xe_op *op)
{
	uint64_t mask = 0;
	const struct xs_reg *r;

	switch (op->kind) {
	case XE_WRITE:
	case XE_READ:
		r = &x->regs->r[op->reg];
		for (unsigned i = 0; i < r->nparts; i++)
			mask |= XS_BIT(r->part[i].comp);
		return mask;
	case XE_TOUCH:
		return XS_BIT(op->reg);
	case XE_VZEROUPPER:
		return XS_BIT(XS_C_AVX) | XS_BIT(XS_C_ZMM_HI256);
	case XE_TILERELEASE:
		return XS_MASK_AMX;
	case XE_FNINIT:
		return XS_BIT(XS_C_X87);
	case XE_LDMXCSR:
		return XS_BIT(XS_C_SSE);
	case XE_WRPKRU:
		return XS_BIT(XS_C_PKRU);
	}
	return ~0ULL;
}

static int check_cpu(struct sim_machine *m, unsigned cpu, uint64_t comps);

static int user_insn(struct xe_exec *x, struct sim_task *t, const struct xe_op *op)
{
	struct sim_uinsn u;

	memset(&u, 0, sizeof(u));
	switch (op->kind) {
	case XE_WRITE:
		u.op = SIM_UOP_WRITE;
		u.reg = x->regs->r[op->reg];
		seq_value(x->val, u.reg.size, (uint8_t)op->val);
		u.val = x->val;
		break;
	case XE_READ:
		u.op = SIM_UOP_READ;
		u.reg = x->regs->r[op->reg];
		break;
	case XE_TOUCH:
		u.op = SIM_UOP_TOUCH;
		u.comp = op->reg;
		sim_touch_reg(x->m->model, u.comp, &u.reg);
		break;
	case XE_VZEROUPPER:
		u.op = SIM_UOP_VZEROUPPER;
		break;
	case XE_TILERELEASE:
		u.op = SIM_UOP_TILERELEASE;
		break;
	case XE_FNINIT:
		u.op = SIM_UOP_FNINIT;
		break;
	case XE_LDMXCSR:
	case XE_WRPKRU:
		u.op = op->kind == XE_LDMXCSR ? SIM_UOP_LDMXCSR : SIM_UOP_WRPKRU;
		for (int i = 0; i < 4; i++)
			x->val[i] = (uint8_t)(op->val >> (8 * i));
		u.val = x->val;
		break;
	}
	return sim_user(x->m, t, &u);
}

/* The irq statement (verbs_core.c exec_irq): entry, the section, exit. */
static int irq_stmt(struct sim_machine *m, unsigned cpu, enum xk_irq_kind kind, bool kfpu,
		    unsigned mask, bool clobber)
{
	int rc = sim_irq_enter(m, cpu, kind);

	if (rc)
		return rc;
	if (kfpu) {
		bool began;

		rc = sim_kfpu_begin(m, cpu, mask, clobber);
		began = !m->k.cpu[cpu].kernel_fpu_allowed;
		if (rc)
			return rc;
		if (began && (rc = sim_kfpu_end(m, cpu)))
			return rc;
	}
	return sim_irq_exit(m, cpu);
}

int xe_op_exec(struct xe_exec *x, const struct xe_op *op)
{
	struct sim_machine *m = x->m;
	struct sim_task *t = xe_task(x, op->task), *child = NULL;
	unsigned cpu = op->cpu;
	bool clobber = !(op->flags & XE_F_NOCLOBBER);
	char name[16];
	int rc;

	x->dirty = cpu < 64 ? 1ULL << cpu : 0;
	x->check_comps = ~0ULL;
	if (x->fast && m->inv_mask)
		sim_inv_step_begin(m);
	if (op->kind == XE_STMT)
		return xe_feat_exec(x, op);
	dirty_task(x, t);
	switch ((enum xe_kind)op->kind) {
	case XE_THREAD:
	case XE_KTHREAD:
		task_name(op->task, name, sizeof(name));
		rc = op->kind == XE_THREAD ? sim_spawn(m, name, NULL, cpu, &child)
					   : sim_kthread(m, name, cpu, &child);
		bind(x, op->task, child);
		return rc;
	case XE_FORK:
	case XE_CLONE:
		task_name(op->task2, name, sizeof(name));
		rc = sim_fork_tls(m, t, name, op->kind == XE_CLONE, NULL, op->flags & XE_F_SETTLS,
				  (uint64_t)op->val << 12, &child);
		bind(x, op->task2, child);
		return rc;
	case XE_EXEC:
		return sim_exec(m, t);
	case XE_EXIT:
		rc = sim_exit(m, t);
		if (t && t->state == SIM_T_EXITED) {
			x->live_user--;
			unbind_live(x, op->task);
		}
		return rc;
	case XE_SWITCH:
		return sim_switch(m, cpu, t);
	case XE_MIGRATE:
		rc = sim_migrate(m, t, cpu);
		dirty_task(x, t);
		return rc;
	case XE_RETURN:
		return sim_return_to_user(m, cpu);
	case XE_ENTER:
		if (!sim_cpu_user_mode(m, cpu))
			return sim_error(m, "cpu%u is not in user mode", cpu);
		return sim_enter_kernel(m, cpu);
	case XE_SYSCALL:
		rc = sim_ensure_user(m, t);
		if (rc)
			return rc;
		sim_enter_kernel(m, (unsigned)t->k->on_cpu);
		return sim_return_to_user(m, (unsigned)t->k->on_cpu);
	case XE_KFPU:
		rc = sim_kfpu_begin(m, cpu, op->kmask, clobber);
		if (rc || m->k.cpu[cpu].kernel_fpu_allowed)
			return rc;
		return sim_kfpu_end(m, cpu);
	case XE_KFPU_BEGIN:
		return sim_kfpu_begin(m, cpu, op->kmask, clobber);
	case XE_KFPU_END:
		return sim_kfpu_end(m, cpu);
	case XE_IRQ:
		return irq_stmt(m, cpu, XK_IRQ_HARD, op->flags & XE_F_IRQ_KFPU, op->kmask, clobber);
	case XE_NMI:
		return irq_stmt(m, cpu, XK_IRQ_NMI, false, 0, false);
	case XE_IRQ_ENTER:
		return sim_irq_enter(m, cpu, XK_IRQ_HARD);
	case XE_NMI_ENTER:
		return sim_irq_enter(m, cpu, XK_IRQ_NMI);
	case XE_IRQ_EXIT:
		return sim_irq_exit(m, cpu);
	case XE_WRITE:
	case XE_READ:
	case XE_TOUCH:
	case XE_VZEROUPPER:
	case XE_TILERELEASE:
	case XE_FNINIT:
	case XE_LDMXCSR:
	case XE_WRPKRU:
		if (!t)
			return sim_error(m, "no such task");
		if (x->fast) {
			/* sim_user() with its checks off: return to user mode
			 * (and check, before the instruction mixes its own bytes
			 * in), run it, and narrow the check after it to its
			 * components when no kernel code ran. */
			int tc = xe_task_cpu(t);
			unsigned nf = t->nfaults;

			if (tc >= 0 && !m->k.cpu[tc].user_mode) {
				rc = sim_ensure_user(m, t);
				if (!rc)
					rc = check_cpu(m, (unsigned)tc, ~0ULL);
				if (rc)
					return rc;
			}
			rc = user_insn(x, t, op);
			if (!rc && tc >= 0 && t->nfaults == nf && xe_task_cpu(t) == tc &&
			    m->k.cpu[tc].user_mode)
				x->check_comps = insn_comps(x, op);
			dirty_task(x, t);
			return rc;
		}
		rc = user_insn(x, t, op);
		dirty_task(x, t);
		return rc;
	case XE_STMT:
	case XE_KIND_COUNT:
		break;
	}
	return sim_error(m, "unknown operation %u", op->kind);
}

static int check_cpu(struct sim_machine *m, unsigned cpu, uint64_t comps)
{
	return sim_check_cpu(m, cpu, comps);
}

/* After a step. Tagged runs (replays, counterexamples) do exactly what
 * sim_step_done() does in `xstate run`. The fast path checks only the CPUs
 * the step touched -- a CPU's registers, its current task and that task's
 * shadow change only through operations on that CPU -- and, after a user
 * instruction no kernel code interrupted, only its components. A failure
 * found this way is always replayed tagged, so a counterexample never
 * depends on the narrowing. */
int xe_check(struct xe_exec *x)
{
	struct sim_machine *m = x->m;
	int rc = SIM_OK;

	m->steps++;
	if (!x->fast) {
		rc = sim_check(m);
		if (rc == SIM_OK && m->inv_mask)
			rc = sim_inv_check(m, ~0ULL);
		return rc;
	}
	for (unsigned i = 0; i < m->ncpus && rc == SIM_OK; i++)
		if ((x->dirty >> i) & 1)
			rc = check_cpu(m, i, x->check_comps);
	/* A user instruction that ran without any kernel code (the narrowed
	 * case) changed no kernel record, buffer, MSR or mode: every
	 * invariants.c rule holds as it did after the previous step. */
	if (rc == SIM_OK && m->inv_mask && x->check_comps == ~0ULL)
		rc = sim_inv_check(m, x->dirty);
	return rc;
}

/* ---- Formatting ---- */

static const char *kmask_word(unsigned mask)
{
	switch (mask & XK_KFPU_DEFAULT) {
	case XK_KFPU_DEFAULT:
		return "";
	case XK_KFPU_387:
		return " 387";
	case XK_KFPU_MXCSR:
		return " mxcsr";
	}
	return " none";
}

int xe_op_format(const struct xe_config *c, const struct xe_op *op, char *buf, size_t len)
{
	char a[16], b[16];
	const char *nc = (op->flags & XE_F_NOCLOBBER) ? " noclobber" : "";

	task_name(op->task, a, sizeof(a));
	task_name(op->task2, b, sizeof(b));
	switch ((enum xe_kind)op->kind) {
	case XE_THREAD:
		return snprintf(buf, len, "thread %s on cpu%u", a, op->cpu);
	case XE_KTHREAD:
		return snprintf(buf, len, "kthread %s on cpu%u", a, op->cpu);
	case XE_FORK:
	case XE_CLONE:
		if (op->flags & XE_F_SETTLS)
			return snprintf(buf, len, "%s %s as %s tls=0x%llx",
					op->kind == XE_FORK ? "fork" : "clone", a, b,
					(unsigned long long)op->val << 12);
		return snprintf(buf, len, "%s %s as %s", op->kind == XE_FORK ? "fork" : "clone", a, b);
	case XE_EXEC:
		return snprintf(buf, len, "exec %s", a);
	case XE_EXIT:
		return snprintf(buf, len, "exit %s", a);
	case XE_SWITCH:
		return snprintf(buf, len, "switch cpu%u to %s", op->cpu, a);
	case XE_MIGRATE:
		return snprintf(buf, len, "migrate %s to cpu%u", a, op->cpu);
	case XE_RETURN:
		return snprintf(buf, len, "return cpu%u", op->cpu);
	case XE_ENTER:
		return snprintf(buf, len, "enter cpu%u", op->cpu);
	case XE_SYSCALL:
		return snprintf(buf, len, "%s syscall", a);
	case XE_KFPU:
		return snprintf(buf, len, "kfpu cpu%u%s%s", op->cpu, kmask_word(op->kmask), nc);
	case XE_KFPU_BEGIN:
		return snprintf(buf, len, "kfpu cpu%u begin%s%s", op->cpu, kmask_word(op->kmask), nc);
	case XE_KFPU_END:
		return snprintf(buf, len, "kfpu cpu%u end", op->cpu);
	case XE_IRQ:
		if (op->flags & XE_F_IRQ_KFPU)
			return snprintf(buf, len, "irq cpu%u kfpu%s%s", op->cpu, kmask_word(op->kmask),
					nc);
		return snprintf(buf, len, "irq cpu%u", op->cpu);
	case XE_IRQ_ENTER:
		return snprintf(buf, len, "irq cpu%u enter", op->cpu);
	case XE_IRQ_EXIT:
		return snprintf(buf, len, "irq cpu%u exit", op->cpu);
	case XE_NMI:
		return snprintf(buf, len, "nmi cpu%u", op->cpu);
	case XE_NMI_ENTER:
		return snprintf(buf, len, "nmi cpu%u enter", op->cpu);
	case XE_WRITE:
	case XE_READ: {
		char rn[32];

		if (c->regs && op->reg < c->regs->n)
			snprintf(rn, sizeof(rn), "%s", c->regs->r[op->reg].name);
		else
			snprintf(rn, sizeof(rn), "reg%u", op->reg);
		if (op->kind == XE_READ)
			return snprintf(buf, len, "%s read %s", a, rn);
		return snprintf(buf, len, "%s write %s = seq:0x%02x", a, rn, op->val & 0xFF);
	}
	case XE_TOUCH:
		return snprintf(buf, len, "%s touch %s", a, xs_comp_name(op->reg));
	case XE_VZEROUPPER:
		return snprintf(buf, len, "%s vzeroupper", a);
	case XE_TILERELEASE:
		return snprintf(buf, len, "%s tilerelease", a);
	case XE_FNINIT:
		return snprintf(buf, len, "%s fninit", a);
	case XE_LDMXCSR:
		return snprintf(buf, len, "%s ldmxcsr 0x%x", a, op->val);
	case XE_WRPKRU:
		return snprintf(buf, len, "%s wrpkru 0x%x", a, op->val);
	case XE_STMT:
		return xe_feat_format(NULL, c, op, buf, len);
	case XE_KIND_COUNT:
		break;
	}
	return snprintf(buf, len, "note unknown operation %u", op->kind);
}

void xe_prog_write(const struct xe_config *c, const struct xe_prog *p, const char *header,
		   FILE *f)
{
	char pol[256], inv[256], line[512];

	if (header) {
		const char *s = header;
		while (*s) {
			size_t n = strcspn(s, "\n");
			fprintf(f, "# %.*s\n", (int)n, s);
			s += n;
			if (*s)
				s++;
		}
	}
	xk_policy_format(&c->policy, pol, sizeof(pol));
	fprintf(f, "machine cpu=%s cpus=%u %s\n", c->model_spec, c->ncpus, pol);
	fprintf(f, "invariants %s\n", sim_inv_format(c->inv_mask, inv, sizeof(inv)));
	for (unsigned i = 0; i < p->n; i++) {
		xe_op_format(c, &p->ops[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
}

char *xe_prog_text(const struct xe_config *c, const struct xe_prog *p, const char *header)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	xe_prog_write(c, p, header, f);
	fclose(f);
	return buf;
}
