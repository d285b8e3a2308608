/* Scheduling and kernel entries: which task runs where, in which mode.
 *
 * The machine calls the kernel in the order a real kernel executes: a
 * switch happens in kernel mode (so a CPU running user code enters the
 * kernel first, as on a timer interrupt), user code runs only after the
 * exit-to-user path, kernel FPU sections happen in kernel mode.
 */
#include <errno.h>
#include <string.h>

#include "sim/sim_internal.h"

static int check_cpu(struct sim_machine *m, unsigned cpu)
{
	if (!m->booted)
		return sim_error(m, "no machine");
	if (cpu >= m->ncpus)
		return sim_error(m, "cpu%u: the machine has %u CPUs", cpu, m->ncpus);
	return SIM_OK;
}

int sim_enter_kernel(struct sim_machine *m, unsigned cpu)
{
	int rc = check_cpu(m, cpu);

	if (rc)
		return rc;
	sim_kvm_interrupt(m, cpu); /* a running guest VM-exits first (verbs_kvm.c) */
	if (!m->k.cpu[cpu].user_mode)
		return SIM_OK;
	xk_enter_kernel(&m->k, cpu);
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_DETAIL, "        cpu%u  enter kernel from %s", cpu,
		  sim_task_name_or(sim_cpu_current(m, cpu), "idle"));
	return SIM_OK;
}

int sim_switch(struct sim_machine *m, unsigned cpu, struct sim_task *next)
{
	struct sim_task *prev;
	int rc = check_cpu(m, cpu);

	if (rc)
		return rc;
	prev = sim_cpu_current(m, cpu);
	if (next && next->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", next->name);
	if (next && next->k->on_cpu >= 0 && (unsigned)next->k->on_cpu != cpu)
		return sim_error(m, "%s is running on cpu%d (migrate it, or switch cpu%d away "
				 "from it first)", next->name, next->k->on_cpu, next->k->on_cpu);
	if (prev == next)
		return SIM_OK;
	sim_enter_kernel(m, cpu);
	rc = xk_switch(&m->k, cpu, next ? next->k : NULL);
	if (rc == -EBUSY)
		return sim_error(m, "cpu%u cannot switch now: inside a kernel FPU section or an "
				 "interrupt", cpu);
	if (rc)
		return sim_error(m, "cpu%u: switch to %s refused (%s)", cpu,
				 sim_task_name_or(next, "idle"), sim_errno_name(rc));
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  switch %s -> %s", cpu,
			  sim_task_name_or(prev, "idle"), sim_task_name_or(next, "idle"));
	if (prev && prev->state != SIM_T_EXITED)
		prev->state = SIM_T_RUNNABLE;
	if (next) {
		next->state = SIM_T_RUNNING;
		next->cpu = cpu;
		/* The policy's FS/GS restore on next's shadow (verbs_fsgs.c);
		 * without shadow updates (benchmarks) the shadows go stale anyway. */
		if (m->check.shadow_update)
			sim_fsgs_switched_in(m, next);
	}
	return SIM_OK;
}

int sim_migrate(struct sim_machine *m, struct sim_task *t, unsigned cpu)
{
	int rc = check_cpu(m, cpu);

	if (rc)
		return rc;
	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	if (t->k->on_cpu >= 0) {
		unsigned from = (unsigned)t->k->on_cpu;
		if (from == cpu)
			return SIM_OK;
		rc = sim_switch(m, from, NULL);
		if (rc)
			return rc;
	}
	if (t->cpu != cpu)
		sim_trace(m, SIM_TR_EVENT, "        migrate %s: cpu%u -> cpu%u", t->name, t->cpu, cpu);
	t->cpu = cpu;
	return sim_switch(m, cpu, t);
}

int sim_return_to_user(struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c;
	struct sim_task *t;
	int rc = check_cpu(m, cpu);

	if (rc)
		return rc;
	c = &m->k.cpu[cpu];
	t = sim_cpu_current(m, cpu);
	if (c->user_mode)
		return SIM_OK;
	if (!t)
		return sim_error(m, "cpu%u is idle: nothing returns to user mode", cpu);
	if (t->kind != SIM_USER)
		return sim_error(m, "cpu%u runs kernel thread %s: nothing returns to user mode",
				 cpu, t->name);
	if (!c->kernel_fpu_allowed)
		return sim_error(m, "cpu%u is inside a kernel FPU section (kfpu cpu%u end first)",
				 cpu, cpu);
	if (c->irq_depth || c->nmi_depth)
		return sim_error(m, "cpu%u is handling an interrupt (irq cpu%u exit first)", cpu,
				 cpu);
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  return to user: %s%s", cpu, t->name,
			  t->k->need_load ? " (need-load set)" : "");
	rc = xk_return_to_user(&m->k, cpu);
	if (rc)
		return sim_error(m, "cpu%u: return to user refused (%s)", cpu, sim_errno_name(rc));
	return SIM_OK;
}

int sim_ensure_user(struct sim_machine *m, struct sim_task *t)
{
	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	if (t->kind != SIM_USER)
		return sim_error(m, "%s is a kernel thread: it runs no user code", t->name);
	if (t->k->on_cpu < 0)
		return sim_error(m, "%s is not running (switch a CPU to it first)", t->name);
	return sim_return_to_user(m, (unsigned)t->k->on_cpu);
}

/* What kernel SIMD code (crypto, RAID, checksums) does between
 * kernel_fpu_begin() and kernel_fpu_end(): it overwrites vector registers,
 * the widest the CPU has, upper halves and AVX-512's upper 16 included.
 * A kernel that forgot to save the user's state loses it here. */
/* The registers kernel SIMD code overwrites: the widest vector registers
 * at both ends of each bank (0 and 15, and 16 and 31 with AVX-512) and two
 * mask registers. A kernel save or restore moves whole components, so one
 * overwritten register in each component already shows a missed save; the
 * few at the bank ends keep the clobber cheap enough to run on every kernel
 * FPU section of an exploration. */
static void pick_clobber_regs(struct sim_machine *m)
{
	static const uint8_t vec16[] = { 0, 15 }, vec32[] = { 0, 15, 16, 31 }, kreg[] = { 1, 7 };
	const uint8_t *vec = vec16;
	size_t nvec = sizeof(vec16);
	char name[16];
	const char *kind = "xmm";
	unsigned n = 0;

	if (m->k.xcr0 & XS_BIT(XS_C_ZMM_HI256)) {
		kind = "zmm";
		if (m->k.xcr0 & XS_BIT(XS_C_HI16_ZMM)) {
			vec = vec32;
			nvec = sizeof(vec32);
		}
	} else if (m->k.xcr0 & XS_BIT(XS_C_AVX)) {
		kind = "ymm";
	}
	for (size_t i = 0; i < nvec; i++) {
		snprintf(name, sizeof(name), "%s%u", kind, vec[i]);
		if (!xs_reg_lookup(m->model, name, &m->kclobber[n]))
			n++;
	}
	if (m->k.xcr0 & XS_BIT(XS_C_OPMASK))
		for (size_t i = 0; i < sizeof(kreg); i++) {
			snprintf(name, sizeof(name), "k%u", kreg[i]);
			if (!xs_reg_lookup(m->model, name, &m->kclobber[n]))
				n++;
		}
	m->nkclobber = n;
}

static int kfpu_clobber(struct sim_machine *m, unsigned cpu)
{
	struct xs_cpu *hw = m->k.cpu[cpu].hw;
	uint8_t val[64];
	uint64_t comps = 0;

	if (!m->nkclobber)
		pick_clobber_regs(m);
	for (unsigned i = 0; i < m->nkclobber; i++) {
		const struct xs_reg *r = &m->kclobber[i];
		enum xs_fault f;

		/* A value that says "kernel": 0x6b ('k') with the register number. */
		memset(val, 0x6B, sizeof(val));
		val[0] = (uint8_t)i;
		f = xs_reg_write(hw, r, val);
		if (f)
			return sim_fail(m, "kernel", "kernel FPU code on cpu%u faulted %s writing %s "
					"(%s)", cpu, xs_fault_name(f), r->name, xs_cpu_fault_reason(hw));
		for (unsigned p = 0; p < r->nparts; p++)
			comps |= XS_BIT(r->part[p].comp);
	}
	while (comps) {
		unsigned c = (unsigned)__builtin_ctzll(comps);
		comps &= comps - 1;
		sim_values_note(m, hw, c, SIM_WRITER_KERNEL);
	}
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  kernel SIMD code overwrites %u vector registers",
		  cpu, m->nkclobber);
	return SIM_OK;
}

int sim_kfpu_begin(struct sim_machine *m, unsigned cpu, unsigned mask, bool clobber)
{
	int rc = check_cpu(m, cpu);

	if (rc)
		return rc;
	sim_enter_kernel(m, cpu);
	rc = xk_kfpu_begin(&m->k, cpu, mask);
	if (rc == -EBUSY) {
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  kernel FPU not usable here: "
			  "kernel_fpu_begin refused", cpu);
		return SIM_OK;
	}
	if (rc)
		return sim_error(m, "kfpu cpu%u begin: %s", cpu, sim_errno_name(rc));
	return clobber ? kfpu_clobber(m, cpu) : SIM_OK;
}

int sim_kfpu_end(struct sim_machine *m, unsigned cpu)
{
	int rc = check_cpu(m, cpu);

	if (rc)
		return rc;
	if (m->k.cpu[cpu].kernel_fpu_allowed)
		return sim_error(m, "cpu%u has no kernel FPU section to end", cpu);
	rc = xk_kfpu_end(&m->k, cpu);
	if (rc)
		return sim_error(m, "kfpu cpu%u end: %s (a section begun in another context?)",
				 cpu, sim_errno_name(rc));
	return SIM_OK;
}

int sim_irq_enter(struct sim_machine *m, unsigned cpu, enum xk_irq_kind kind)
{
	int rc = check_cpu(m, cpu);

	if (rc)
		return rc;
	sim_kvm_interrupt(m, cpu); /* a running guest VM-exits first (verbs_kvm.c) */
	rc = xk_irq_enter(&m->k, cpu, kind);
	if (rc)
		return sim_error(m, "cpu%u: interrupt entry refused (%s)", cpu, sim_errno_name(rc));
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s while %s runs in %s mode", cpu,
		  kind == XK_IRQ_NMI ? "NMI" : "interrupt",
		  sim_task_name_or(sim_cpu_current(m, cpu), "idle"),
		  m->k.cpu[cpu].irq_from_user & (1u << (m->k.cpu[cpu].irq_depth +
							m->k.cpu[cpu].nmi_depth - 1)) ? "user" : "kernel");
	return SIM_OK;
}

int sim_irq_exit(struct sim_machine *m, unsigned cpu)
{
	int rc = check_cpu(m, cpu);

	if (rc)
		return rc;
	rc = xk_irq_exit(&m->k, cpu);
	if (rc == -EBUSY)
		return sim_error(m, "cpu%u: the interrupt handler is still in a kernel FPU section "
				 "(kfpu cpu%u end first)", cpu, cpu);
	if (rc < 0)
		return sim_error(m, "cpu%u is not handling an interrupt", cpu);
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  interrupt return to %s mode", cpu,
		  rc == 1 ? "user" : "kernel");
	if (rc == 1)
		return sim_return_to_user(m, cpu);
	return SIM_OK;
}
