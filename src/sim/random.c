/* A seeded random schedule: legal operations picked by the machine's
 * PRNG, with the invariant checks after each. The same seed gives the same
 * operations and the same trace. Tasks are neither created nor destroyed
 * here (the scenario does that), so names stay what the scenario declared.
 */
#include <string.h>

#include "sim/sim_internal.h"

enum rop {
	ROP_SWITCH,
	ROP_WRITE,
	ROP_READ,
	ROP_IRQ_KFPU,
	ROP_SYSCALL_KFPU,
	ROP_MIGRATE,
	ROP_SYSCALL,
	ROP_RETURN,
	ROP_COUNT
};

/* Registers random user code writes: every register whose components the
 * shadow check covers (tile state excluded: it needs permission first). */
static unsigned random_regs(struct sim_machine *m, struct xs_reg *regs, unsigned max)
{
	static const struct {
		const char *fmt;
		unsigned n;
	} families[] = {
		{ "xmm%u", 16 }, { "ymm%u", 16 }, { "zmm%u", 32 }, { "k%u", 8 },
		{ "st%u", 8 },   { "r%u", 32 },   { "bnd%u", 4 },
	};
	uint64_t allowed = m->shadow_mask & ~XS_MASK_AMX;
	unsigned n = 0;
	char name[16];

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		for (unsigned i = 0; i < families[f].n && n < max; i++) {
			struct xs_reg r;
			bool ok = true;

			if (families[f].fmt[0] == 'r' && i < 16)
				continue; /* r0-r15 are not XSAVE state; APX is r16-r31 */
			snprintf(name, sizeof(name), families[f].fmt, i);
			if (xs_reg_lookup(m->model, name, &r))
				continue;
			for (unsigned p = 0; p < r.nparts; p++)
				ok &= (allowed >> r.part[p].comp) & 1;
			if (ok && !r.supervisor)
				regs[n++] = r;
		}
	return n;
}

static struct sim_task *pick_task(struct sim_machine *m, bool running, bool user_only)
{
	struct sim_task *cand[64];
	unsigned n = 0;

	for (unsigned i = 0; i < m->ntasks && n < 64; i++) {
		struct sim_task *t = m->tasks[i];
		if (t->state == SIM_T_EXITED || (user_only && t->kind != SIM_USER))
			continue;
		if (running != (t->k->on_cpu >= 0))
			continue;
		cand[n++] = t;
	}
	return n ? cand[sim_prng_below(&m->rng, n)] : NULL;
}

static bool cpu_preemptible(const struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];

	return c->kernel_fpu_allowed && !c->irq_depth && !c->nmi_depth;
}

static int random_op(struct sim_machine *m, uint64_t step, struct xs_reg *regs, unsigned nregs)
{
	unsigned cpu = (unsigned)sim_prng_below(&m->rng, m->ncpus);
	enum rop op = (enum rop)sim_prng_below(&m->rng, ROP_COUNT);
	struct sim_task *t;
	uint8_t val[64];

	if (!cpu_preemptible(m, cpu))
		return SIM_OK;
	switch (op) {
	case ROP_SWITCH:
		t = sim_prng_below(&m->rng, 4) ? pick_task(m, false, false) : NULL;
		sim_trace(m, SIM_TR_STEP, "  r%llu  switch cpu%u to %s", (unsigned long long)step,
			  cpu, sim_task_name_or(t, "idle"));
		return sim_switch(m, cpu, t);
	case ROP_WRITE:
	case ROP_READ: {
		struct sim_uinsn u;

		t = pick_task(m, true, true);
		if (!t || !nregs || !cpu_preemptible(m, (unsigned)t->k->on_cpu))
			return SIM_OK;
		memset(&u, 0, sizeof(u));
		u.reg = regs[sim_prng_below(&m->rng, nregs)];
		u.op = op == ROP_WRITE ? SIM_UOP_WRITE : SIM_UOP_READ;
		for (unsigned i = 0; i < sizeof(val); i += 8) {
			uint64_t r = sim_prng_next(&m->rng);
			memcpy(val + i, &r, 8);
		}
		u.val = val;
		sim_trace(m, SIM_TR_STEP, "  r%llu  %s %s %s", (unsigned long long)step, t->name,
			  op == ROP_WRITE ? "write" : "read", u.reg.name);
		return sim_user(m, t, &u);
	}
	case ROP_IRQ_KFPU: {
		bool from_user = m->k.cpu[cpu].user_mode;
		int rc;

		sim_trace(m, SIM_TR_STEP, "  r%llu  irq cpu%u kfpu", (unsigned long long)step, cpu);
		rc = sim_irq_enter(m, cpu, XK_IRQ_HARD);
		if (!rc)
			rc = sim_kfpu_begin(m, cpu, XK_KFPU_DEFAULT, true);
		if (!rc && !m->k.cpu[cpu].kernel_fpu_allowed)
			rc = sim_kfpu_end(m, cpu);
		if (!rc)
			rc = sim_irq_exit(m, cpu);
		(void)from_user;
		return rc;
	}
	case ROP_SYSCALL_KFPU: {
		int rc;

		sim_trace(m, SIM_TR_STEP, "  r%llu  kfpu cpu%u", (unsigned long long)step, cpu);
		rc = sim_kfpu_begin(m, cpu, XK_KFPU_DEFAULT, true);
		if (!rc && !m->k.cpu[cpu].kernel_fpu_allowed)
			rc = sim_kfpu_end(m, cpu);
		return rc;
	}
	case ROP_MIGRATE:
		t = pick_task(m, sim_prng_below(&m->rng, 2), true);
		if (!t || m->ncpus < 2 || (t->k->on_cpu >= 0 && !cpu_preemptible(m, (unsigned)t->k->on_cpu)))
			return SIM_OK;
		sim_trace(m, SIM_TR_STEP, "  r%llu  migrate %s to cpu%u", (unsigned long long)step,
			  t->name, cpu);
		return sim_migrate(m, t, cpu);
	case ROP_SYSCALL:
		t = sim_cpu_current(m, cpu);
		if (!t || t->kind != SIM_USER)
			return SIM_OK;
		sim_trace(m, SIM_TR_STEP, "  r%llu  %s syscall", (unsigned long long)step, t->name);
		if (sim_cpu_user_mode(m, cpu))
			sim_enter_kernel(m, cpu);
		return sim_return_to_user(m, cpu);
	case ROP_RETURN:
		t = sim_cpu_current(m, cpu);
		if (!t || t->kind != SIM_USER || sim_cpu_user_mode(m, cpu))
			return SIM_OK;
		sim_trace(m, SIM_TR_STEP, "  r%llu  return cpu%u", (unsigned long long)step, cpu);
		return sim_return_to_user(m, cpu);
	case ROP_COUNT:
		break;
	}
	return SIM_OK;
}

int sim_random_steps(struct sim_machine *m, uint64_t n)
{
	struct xs_reg regs[128];
	unsigned nregs;

	if (!m->booted)
		return sim_error(m, "no machine");
	nregs = random_regs(m, regs, 128);
	for (uint64_t i = 1; i <= n; i++) {
		int rc = sim_step_done(m, random_op(m, i, regs, nregs));
		if (rc)
			return rc;
	}
	return SIM_OK;
}
