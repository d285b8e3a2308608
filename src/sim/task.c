/* Task life cycle on the machine: spawn, kernel threads, fork/clone, exec,
 * exit -- the kernel call plus what it legitimately does to the task's
 * registers, recorded in the shadow (linux-design.md 3.6).
 */
#include <errno.h>
#include <string.h>

#include "sim/sim_internal.h"
#include "xstate/kernel_fsgs.h" /* XK_ARCH_SET_FS */

/* Place a new task: it runs at once if its CPU is idle. */
static int place(struct sim_machine *m, struct sim_task *t, unsigned cpu)
{
	if (m->k.cpu[cpu].current)
		return SIM_OK;
	return sim_switch(m, cpu, t);
}

int sim_spawn(struct sim_machine *m, const char *name, struct sim_process *p, unsigned cpu,
	      struct sim_task **out)
{
	struct xk_task *kt;
	struct sim_task *t;

	if (out)
		*out = NULL;
	if (!m->booted || cpu >= m->ncpus)
		return sim_error(m, "no such CPU");
	if (sim_task_by_name(m, name))
		return sim_error(m, "task %s exists", name);
	if (p && p->k)
		return sim_error(m, "process %s already has threads: create more with clone",
				 p->name);
	if (!p && !(p = sim_process_new(m, name)))
		return sim_error(m, "out of memory");
	kt = xk_spawn(&m->k, name);
	if (!kt)
		return sim_error(m, "the kernel could not create %s (out of memory)", name);
	t = sim_task_add(m, name, SIM_USER, p, kt, cpu);
	if (!t)
		return sim_error(m, "out of memory");
	/* The state after execve: init, and PKRU = init_pkru_value. */
	sim_shadow_set_pkru(m, t, kt->thread.pkru);
	sim_trace(m, SIM_TR_EVENT, "        new user thread %s (process %s) on cpu%u", name,
		  p->name, cpu);
	if (out)
		*out = t;
	return place(m, t, cpu);
}

int sim_kthread(struct sim_machine *m, const char *name, unsigned cpu, struct sim_task **out)
{
	struct xk_task *kt;
	struct sim_task *t;

	if (out)
		*out = NULL;
	if (!m->booted || cpu >= m->ncpus)
		return sim_error(m, "no such CPU");
	kt = xk_kthread_create(&m->k, name);
	if (!kt)
		return sim_error(m, "the kernel could not create %s (out of memory)", name);
	t = sim_task_add(m, name, SIM_KTHREAD, NULL, kt, cpu);
	if (!t)
		return sim_error(m, "out of memory");
	sim_trace(m, SIM_TR_EVENT, "        new kernel thread %s on cpu%u", name, cpu);
	if (out)
		*out = t;
	return place(m, t, cpu);
}

/* The CPU a running task is current on, after entering the kernel. */
static int running_in_kernel(struct sim_machine *m, struct sim_task *t, const char *what,
			     unsigned *cpu)
{
	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s: %s has exited", what, t->name);
	if (t->kind != SIM_USER)
		return sim_error(m, "%s: %s is a kernel thread", what, t->name);
	if (t->k->on_cpu < 0)
		return sim_error(m, "%s: %s is not running (switch a CPU to it first)", what,
				 t->name);
	*cpu = (unsigned)t->k->on_cpu;
	return sim_enter_kernel(m, *cpu);
}

int sim_fork(struct sim_machine *m, struct sim_task *parent, const char *name, bool thread,
	     const char *pname, struct sim_task **out)
{
	return sim_fork_tls(m, parent, name, thread, pname, false, 0, out);
}

int sim_fork_tls(struct sim_machine *m, struct sim_task *parent, const char *name, bool thread,
		 const char *pname, bool settls, uint64_t tls, struct sim_task **out)
{
	struct sim_process *p;
	struct xk_task *kc;
	struct sim_task *t;
	unsigned cpu = 0;
	int rc;

	if (out)
		*out = NULL;
	if (sim_task_by_name(m, name))
		return sim_error(m, "task %s exists", name);
	rc = running_in_kernel(m, parent, thread ? "clone" : "fork", &cpu);
	if (rc)
		return rc;
	rc = xk_clone_tls(&m->k, cpu, (thread ? XK_CLONE_THREAD | XK_CLONE_VM : 0) |
			  (settls ? XK_CLONE_SETTLS : 0), name, tls, &kc);
	if (rc)
		return sim_error(m, "%s %s: the kernel refused (%s)", thread ? "clone" : "fork",
				 parent->name, sim_errno_name(rc));
	if (thread) {
		p = parent->proc;
	} else {
		p = sim_process_new(m, pname ? pname : name);
		if (!p)
			return sim_error(m, "out of memory");
	}
	t = sim_task_add(m, name, SIM_USER, p, kc, cpu);
	if (!t)
		return sim_error(m, "out of memory");
	/* fpu_clone(): the parent's live registers, except dynamic features
	 * (tile data), which a child never inherits. */
	sim_shadow_copy(m, t, parent, XK_MASK_USER_DYNAMIC);
	sim_fsgs_forked(m, t, parent); /* FS/GS values the child owns too (verbs_fsgs.c) */
	if (settls)
		sim_fsgs_arch_prctl(m, t, XK_ARCH_SET_FS, tls); /* set_new_tls(): ARCH_SET_FS */
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s %s -> %s (process %s)%s", cpu,
		  thread ? "clone" : "fork", parent->name, name, p->name,
		  settls ? ", CLONE_SETTLS" : "");
	if (out)
		*out = t;
	return SIM_OK;
}

int sim_exec(struct sim_machine *m, struct sim_task *t)
{
	unsigned cpu = 0;
	int rc = running_in_kernel(m, t, "exec", &cpu);

	if (rc)
		return rc;
	rc = xk_exec(&m->k, cpu);
	if (rc == -EBUSY)
		return sim_error(m, "exec %s: other threads of process %s are alive (exit them "
				 "first; Linux's de_thread kills them)", t->name, t->proc->name);
	if (rc)
		return sim_error(m, "exec %s: the kernel refused (%s)", t->name, sim_errno_name(rc));
	/* fpu_flush_thread(): every user component init; pkru_flush_thread(). */
	sim_shadow_init(m, t, m->k.xcr0);
	sim_fsgs_exec(m, t); /* FS/GS selectors and bases 0 (verbs_fsgs.c) */
	sim_shadow_set_pkru(m, t, t->k->thread.pkru);
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  exec %s: registers to be reset to init", cpu,
		  t->name);
	return SIM_OK;
}

int sim_exit(struct sim_machine *m, struct sim_task *t)
{
	unsigned cpu = 0;
	int rc = running_in_kernel(m, t, "exit", &cpu);

	if (rc)
		return rc;
	rc = xk_exit(&m->k, cpu);
	if (rc)
		return sim_error(m, "exit %s: the kernel refused (%s)", t->name, sim_errno_name(rc));
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  exit %s", cpu, t->name);
	t->state = SIM_T_EXITED;
	/* The switch away releases the kernel's task. */
	rc = xk_switch(&m->k, cpu, NULL);
	if (rc)
		return sim_error(m, "exit %s: switching cpu%u to idle failed (%s)", t->name, cpu,
				 sim_errno_name(rc));
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  switch %s -> idle", cpu, t->name);
	t->k = NULL;
	return SIM_OK;
}
