/* The simulated machine: N model CPUs under one kernel manager, the tasks
 * and processes the scenario created, counters and the end-of-step checks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"
#include "xstate/explore.h"

struct sim_machine *sim_machine_new(struct sim_trace *trace)
{
	struct sim_machine *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->trace = trace;
	m->check.shadow = true;
	m->check.x87_errptr = true;
	m->check.values = true;
	m->check.shadow_update = true;
	return m;
}

static void task_free(struct sim_task *t)
{
	if (!t)
		return;
	xs_cpu_free(t->shadow);
	free(t);
}

void sim_machine_free(struct sim_machine *m)
{
	if (!m)
		return;
	sim_abi_free(m); /* user-ABI state (user memory) */
	/* FS/GS and KVM data first: the kernel's vCPUs point into it. */
	sim_kvm_free(m);
	sim_fsgs_free(m);
	if (m->booted)
		xk_shutdown(&m->k);
	for (unsigned i = 0; i < m->ntasks; i++)
		task_free(m->tasks[i]);
	free(m->tasks);
	for (unsigned i = 0; i < m->nprocs; i++)
		free(m->procs[i]);
	free(m->procs);
	free(m->bysym);
	free(m->procsym);
	free(m->zero_image);
	sim_values_free(m->values);
	sim_inv_state_free(m->inv);
	free((void *)m->model);
	free(m);
}

int sim_machine_boot(struct sim_machine *m, const struct xs_model *model, unsigned ncpus,
		     const struct xk_policy *policy, uint64_t seed)
{
	struct xk_boot_opts o;
	struct xs_model *copy;
	struct xs_cpu *init;
	char err[XK_ERR_MAX];
	int rc;

	if (m->booted)
		return sim_error(m, "the machine is already booted");
	if (ncpus < 1 || ncpus > SIM_MAX_CPUS)
		return sim_error(m, "cpus=%u: 1 to %d CPUs", ncpus, SIM_MAX_CPUS);
	copy = malloc(sizeof(*copy));
	if (!copy)
		return sim_error(m, "out of memory");
	*copy = *model;
	m->model = copy;
	m->ncpus = ncpus;
	memset(&o, 0, sizeof(o));
	o.ncpus = ncpus;
	o.policy = *policy;
	if (!m->trace || !m->trace->disabled) {
		o.trace = sim_on_kernel_event;
		o.trace_ctx = m;
	}
	m->booting = true;
	rc = xk_boot(&m->k, m->model, &o, err, sizeof(err));
	m->booting = false;
	if (rc != 0)
		return sim_error(m, "kernel boot on %s failed: %s", model->name, err);
	m->booted = true;
	sim_counters_reset(m); /* count what the scenario does, not the boot */
	m->warnings = 0;
	m->seed = seed;
	sim_prng_seed(&m->rng, seed);

	/* What the shadow check covers: the user components the kernel
	 * switches with XSAVE/XRSTOR. PKRU is switched eagerly outside XRSTOR
	 * (thread.pkru): the "pkru" invariant (invariants.c) compares it in
	 * every mode, not this mask (the ownership invariant must not expect
	 * it to stay with the owner's registers). */
	m->shadow_mask = m->k.xcr0 & XK_MASK_USER_RESTORE;
	/* AMD parts without XSaveErPtr save FOP/FIP/FDP as zero unless an x87
	 * exception is pending (impl.x87_errptr_only_if_es): a save/restore
	 * round trip legitimately loses them (Linux's X86_BUG_FXSAVE_LEAK). */
	m->check.x87_errptr = !model->impl.x87_errptr_only_if_es;

	m->zero_image_len = (xs_size_standard(model, m->k.xcr0) + 63u) & ~63u;
	m->zero_image = aligned_alloc(64, m->zero_image_len);
	if (!m->zero_image)
		return sim_error(m, "out of memory");
	memset(m->zero_image, 0, m->zero_image_len);
	/* A machine booted with value tags off (the explorer's fast path) has
	 * no registry: it would never be used, and building it hashes every
	 * component's initial image (checker issue, helper I: a tenth of a
	 * short program's cost). */
	if (!m->check.values)
		return SIM_OK;
	init = sim_shadow_new(m);
	if (!init)
		return sim_error(m, "cannot create a shadow CPU");
	m->values = sim_values_new(m, init);
	xs_cpu_free(init);
	if (!m->values)
		return sim_error(m, "out of memory");
	return SIM_OK;
}

struct sim_task *sim_task_add(struct sim_machine *m, const char *name, enum sim_task_kind kind,
			      struct sim_process *p, struct xk_task *k, unsigned cpu)
{
	struct sim_task *t;

	if (m->ntasks == m->cap_tasks) {
		unsigned cap = m->cap_tasks ? m->cap_tasks * 2 : 16;
		struct sim_task **n = realloc(m->tasks, cap * sizeof(*n));
		if (!n)
			return NULL;
		m->tasks = n;
		m->cap_tasks = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->id = m->ntasks + 1;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->kind = kind;
	t->state = SIM_T_RUNNABLE;
	t->proc = p;
	t->k = k;
	t->cpu = cpu;
	k->sim = t;
	if (p && !p->k)
		p->k = k->proc;
	if (kind == SIM_USER) {
		t->shadow = sim_shadow_new(m);
		if (!t->shadow) {
			free(t);
			return NULL;
		}
	}
	m->tasks[m->ntasks++] = t;
	return t;
}

struct sim_process *sim_process_new(struct sim_machine *m, const char *name)
{
	struct sim_process *p;

	if (m->nprocs == m->cap_procs) {
		unsigned cap = m->cap_procs ? m->cap_procs * 2 : 16;
		struct sim_process **n = realloc(m->procs, cap * sizeof(*n));
		if (!n)
			return NULL;
		m->procs = n;
		m->cap_procs = cap;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = m->nprocs + 1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	m->procs[m->nprocs++] = p;
	return p;
}

struct sim_task *sim_task_by_name(const struct sim_machine *m, const char *name)
{
	for (unsigned i = 0; i < m->ntasks; i++)
		if (!strcmp(m->tasks[i]->name, name))
			return m->tasks[i];
	return NULL;
}

struct sim_process *sim_process_by_name(const struct sim_machine *m, const char *name)
{
	for (unsigned i = 0; i < m->nprocs; i++)
		if (!strcmp(m->procs[i]->name, name))
			return m->procs[i];
	return NULL;
}

struct xs_cpu *sim_cpu_hw(const struct sim_machine *m, unsigned cpu)
{
	return m->k.cpu[cpu].hw;
}

struct sim_task *sim_cpu_owner(const struct sim_machine *m, unsigned cpu)
{
	const struct xk_task *t = xk_fpu_task(m->k.cpu[cpu].owner);

	return t ? t->sim : NULL;
}

const char *sim_task_name_or(const struct sim_task *t, const char *none)
{
	return t ? t->name : none;
}

int sim_fail(struct sim_machine *m, const char *check, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->fail, sizeof(m->fail), fmt, ap);
	va_end(ap);
	m->fail_check = check;
	return SIM_FAIL;
}

int sim_error(struct sim_machine *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return SIM_ERROR;
}

const char *sim_errno_name(int rc)
{
	switch (-rc) {
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case ENOSPC: return "ENOSPC";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	}
	return "error";
}

void sim_counters_reset(struct sim_machine *m)
{
	memset(m->cstat, 0, sizeof(m->cstat));
}

uint64_t sim_count_saves(const struct sim_machine *m, int cpu)
{
	uint64_t n = 0;

	if (cpu >= 0)
		return m->cstat[cpu].saves;
	for (unsigned i = 0; i < m->ncpus; i++)
		n += m->cstat[i].saves;
	return n;
}

uint64_t sim_count_restores(const struct sim_machine *m, int cpu)
{
	uint64_t n = 0;

	if (cpu >= 0)
		return m->cstat[cpu].restores;
	for (unsigned i = 0; i < m->ncpus; i++)
		n += m->cstat[i].restores;
	return n;
}

int sim_step_done(struct sim_machine *m, int status)
{
	m->steps++;
	if (status == SIM_OK && m->booted)
		status = sim_check(m);
	if (status == SIM_OK && m->booted && m->inv_mask)
		status = sim_inv_check(m, ~0ULL); /* explore.h */
	if (status == SIM_OK && m->booted && m->trace && m->trace->out &&
	    m->trace->level >= SIM_TR_DETAIL)
		sim_trace_state(m);
	return status;
}

/* "regs=t1" / "regs=init" / "regs=sse:t1,avx:t2" for one CPU. */
static void regs_summary(struct sim_machine *m, unsigned cpu, char *buf, size_t len)
{
	const struct xs_cpu *hw = m->k.cpu[cpu].hw;
	unsigned writer[64], single = SIM_WRITER_INIT;
	bool mixed = false, self_too;
	size_t pos = 0;
	char nb[SIM_NAME_MAX + 8];

	for (unsigned c = 0; c < 64; c++) {
		writer[c] = SIM_WRITER_INIT;
		if (!((m->shadow_mask >> c) & 1))
			continue;
		writer[c] = sim_value_writer(m, hw, c, 0, &self_too);
		if (writer[c] == SIM_WRITER_INIT)
			continue;
		if (single == SIM_WRITER_INIT)
			single = writer[c];
		else if (single != writer[c])
			mixed = true;
	}
	if (!mixed) {
		snprintf(buf, len, "%s", sim_writer_name(m, single, nb, sizeof(nb)));
		return;
	}
	buf[0] = '\0';
	for (unsigned c = 0; c < 64 && pos < len; c++) {
		if (writer[c] == SIM_WRITER_INIT)
			continue;
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%s:%s", pos ? "," : "",
					xs_comp_name(c), sim_writer_name(m, writer[c], nb, sizeof(nb)));
	}
}

void sim_trace_state(struct sim_machine *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		const struct xk_cpu *c = &m->k.cpu[i];
		struct sim_task *cur = sim_cpu_current(m, i), *own = sim_cpu_owner(m, i);
		char regs[200];

		regs_summary(m, i, regs, sizeof(regs));
		sim_trace(m, SIM_TR_DETAIL, "        state cpu%u: %s%s%s  owner=%s  regs=%s%s%s", i,
			  sim_task_name_or(cur, "idle"), c->user_mode ? " (user)" : " (kernel)",
			  cur && cur->k->need_load ? " need-load" : "", sim_task_name_or(own, "none"),
			  regs, xs_cr0_ts(c->hw) ? "  CR0.TS" : "",
			  c->kernel_fpu_allowed ? "" : "  in-kfpu");
	}
}
