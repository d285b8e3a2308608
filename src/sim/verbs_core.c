/* Core verbs of the scenario language: the machine, tasks, scheduling,
 * kernel FPU use, interrupts, and what user code does.
 * Grammar and semantics: docs/readme/31-sim-and-scenarios.md.
 */
#include <stdlib.h>
#include <string.h>

#include "xstate/sim.h"
#include "sim/sim_internal.h"

/* ---- machine / policy ---- */

struct machine_cfg {
	const struct xs_model *model; /* the scenario's copy */
	unsigned ncpus;
	struct xk_policy policy;
	uint64_t seed;
};

static int policy_words(struct sim_parser *p, const struct sim_stmt *s, int from,
			struct machine_cfg *cfg)
{
	char err[XK_ERR_MAX];

	for (int i = from; i < s->argc; i++) {
		if (!strcmp(s->argv[i], "policy"))
			continue;
		if (!strchr(s->argv[i], '='))
			return sim_parse_error(p, "expected NAME=VALUE, got '%s' (usage: %s)",
					       s->argv[i], s->verb->usage);
		if (xk_policy_set(&cfg->policy, s->argv[i], err, sizeof(err)))
			return sim_parse_error(p, "%s", err);
	}
	return 0;
}

static int parse_machine(struct sim_parser *p, struct sim_stmt *s)
{
	struct machine_cfg *cfg;
	const char *cpu = NULL;
	char err[512];
	uint64_t v;
	int i;

	if (p->have_machine)
		return sim_parse_error(p, "only one machine statement");
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return sim_parse_error(p, "out of memory");
	s->a.ext = cfg;
	cfg->ncpus = 1;
	xk_policy_default(&cfg->policy);
	for (i = 1; i < s->argc; i++) {
		const char *w = s->argv[i];
		if (!strncmp(w, "cpu=", 4)) {
			cpu = w + 4;
		} else if (!strncmp(w, "cpus=", 5)) {
			if (sim_parse_u64(p, w + 5, &v))
				return -1;
			if (v < 1 || v > SIM_MAX_CPUS)
				return sim_parse_error(p, "cpus=%s: 1 to %d", w + 5, SIM_MAX_CPUS);
			cfg->ncpus = (unsigned)v;
		} else if (!strncmp(w, "seed=", 5)) {
			if (sim_parse_u64(p, w + 5, &cfg->seed))
				return -1;
			p->sc->seed = cfg->seed;
			p->sc->seed_given = true;
		} else {
			break;
		}
	}
	if (policy_words(p, s, i, cfg))
		return -1;
	if (!cpu || !*cpu)
		cpu = xs_default_model_name();
	if (xs_model_load(cpu, &p->sc->model, err, sizeof(err)))
		return sim_parse_error(p, "cpu=%s: %s", cpu, err);
	cfg->model = &p->sc->model;
	p->model = &p->sc->model;
	p->ncpus = cfg->ncpus;
	p->sc->ncpus = cfg->ncpus;
	p->sc->policy = cfg->policy;
	p->have_machine = true;
	return 0;
}

static int exec_machine(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct machine_cfg *cfg = s->a.ext;
	struct xk_policy pol = cfg->policy;
	char err[XK_ERR_MAX], pb[128], xb[200];
	int rc;

	if (m->policy_extra && xk_policy_parse(&pol, m->policy_extra, err, sizeof(err)))
		return sim_error(m, "policy override: %s", err);
	rc = sim_machine_boot(m, cfg->model, cfg->ncpus, &pol,
			      m->seed_forced ? m->forced_seed : cfg->seed);
	if (rc)
		return rc;
	xk_policy_format(&m->k.policy, pb, sizeof(pb));
	sim_trace(m, SIM_TR_EVENT, "        %u x %s, policy %s", m->ncpus, m->model->name, pb);
	sim_trace(m, SIM_TR_EVENT, "        kernel: XCR0=%s, save %s, restore %s, task buffer %uB%s",
		  xs_mask_names(m->k.xcr0, xb, sizeof(xb)), xk_insn_name(m->k.save_insn),
		  xk_insn_name(m->k.restore_insn), m->k.kcfg.default_size,
		  m->k.compacted ? " (compacted)" : "");
	if (m->k.lazy_dropped)
		sim_trace(m, SIM_TR_EVENT,
			  "        kernel: restore=lazy: %s not enabled (their instructions ignore "
			  "CR0.TS; Linux eagerfpu=off did the same for MPX)",
			  xs_mask_names(m->k.lazy_dropped, xb, sizeof(xb)));
	return SIM_OK;
}

/* "policy NAME=VALUE ..." right after the machine line: joins its policy. */
static int parse_policy(struct sim_parser *p, struct sim_stmt *s)
{
	struct sim_scenario *sc = p->sc;
	struct machine_cfg *cfg;

	if (sim_parse_argc(p, s, 2, SIM_MAX_ARGS))
		return -1;
	for (unsigned i = 1; i < sc->nstmts; i++)
		if (strcmp(sc->stmts[i].verb->name, "policy") != 0)
			return sim_parse_error(p, "policy statements must directly follow the "
					       "machine line");
	cfg = sc->stmts[0].a.ext;
	if (policy_words(p, s, 1, cfg))
		return -1;
	sc->policy = cfg->policy;
	return 0;
}

static int exec_nothing(struct sim_machine *m, const struct sim_stmt *s)
{
	return SIM_OK;
}

/* ---- processes and tasks ---- */

static int parse_process(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 2))
		return -1;
	return sim_parse_new_proc(p, s->argv[1], &s->a.proc);
}

static int exec_process(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_process *pr = sim_process_new(m, s->argv[1]);

	if (!pr)
		return sim_error(m, "out of memory");
	return sim_bind_proc(m, s->a.proc, pr);
}

/* Optional "on cpuN" at argv[i]; returns the next index or -1. */
static int parse_on_cpu(struct sim_parser *p, struct sim_stmt *s, int i)
{
	s->a.cpu[0] = 0;
	if (i < s->argc && !strcmp(s->argv[i], "on")) {
		if (i + 1 >= s->argc)
			return sim_parse_error(p, "'on' needs a CPU");
		if (sim_parse_cpu(p, s->argv[i + 1], &s->a.cpu[0]))
			return -1;
		i += 2;
	}
	return i;
}

/* Threads declared per process so far (parse time). */
static bool proc_has_thread(const struct sim_parser *p, int proc)
{
	for (unsigned i = 0; i < p->ntasks; i++)
		if (p->tasks[i].kind == SIM_USER && (int)p->tasks[i].proc == proc)
			return true;
	return false;
}

static int parse_thread(struct sim_parser *p, struct sim_stmt *s)
{
	int i = 2, proc = 0;

	if (sim_parse_argc(p, s, 2, 6))
		return -1;
	if (i < s->argc && !strcmp(s->argv[i], "in")) {
		if (i + 1 >= s->argc)
			return sim_parse_error(p, "'in' needs a process");
		if (sim_parse_proc(p, s->argv[i + 1], &proc))
			return -1;
		if (proc_has_thread(p, proc))
			return sim_parse_error(p, "process %s already has a thread: create more "
					       "with 'clone THREAD as %s'", s->argv[i + 1],
					       s->argv[1]);
		i += 2;
	}
	i = parse_on_cpu(p, s, i);
	if (i < 0)
		return -1;
	if (i != s->argc)
		return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[i], s->verb->usage);
	if (sim_parse_new_task(p, s->argv[1], SIM_USER, (unsigned)proc, &s->a.task[0]))
		return -1;
	/* No "in P": a process of its own, named after the thread. */
	if (!proc && sim_parse_new_proc(p, s->argv[1], &proc))
		return -1;
	p->tasks[s->a.task[0] - 1].proc = (unsigned)proc;
	s->a.proc = proc;
	return 0;
}

static int exec_thread(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_process *pr = sim_stmt_proc(m, s);
	struct sim_task *t;
	int rc;

	if (!pr) {
		/* No process statement: one named after the thread. */
		pr = sim_process_new(m, s->argv[1]);
		if (!pr || sim_bind_proc(m, s->a.proc, pr))
			return sim_error(m, "out of memory");
	}
	rc = sim_spawn(m, s->argv[1], pr, (unsigned)s->a.cpu[0], &t);
	if (t && sim_bind_task(m, s->a.task[0], t))
		return sim_error(m, "out of memory");
	return rc;
}

static int parse_kthread(struct sim_parser *p, struct sim_stmt *s)
{
	int i;

	if (sim_parse_argc(p, s, 2, 4))
		return -1;
	i = parse_on_cpu(p, s, 2);
	if (i < 0)
		return -1;
	if (i != s->argc)
		return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[i], s->verb->usage);
	return sim_parse_new_task(p, s->argv[1], SIM_KTHREAD, 0, &s->a.task[0]);
}

static int exec_kthread(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t;
	int rc = sim_kthread(m, s->argv[1], (unsigned)s->a.cpu[0], &t);

	if (t && sim_bind_task(m, s->a.task[0], t))
		return sim_error(m, "out of memory");
	return rc;
}

/* fork T as U [process Q] [tls=V] / clone T as U [tls=V] */
static int parse_fork(struct sim_parser *p, struct sim_stmt *s)
{
	bool thread = !strcmp(s->verb->name, "clone");
	int parent, proc, argc = s->argc;

	/* tls=V: CLONE_SETTLS, the child's FS base (num[0], num[1] = 1). */
	if (argc > 4 && !strncmp(s->argv[argc - 1], "tls=", 4)) {
		if (sim_parse_u64(p, s->argv[argc - 1] + 4, &s->a.num[0]))
			return -1;
		s->a.num[1] = 1;
		argc--;
	}
	if (sim_parse_argc(p, s, 4, thread ? 5 : 7) || sim_parse_task(p, s->argv[1], &parent) ||
	    sim_parse_word(p, s, 2, "as"))
		return -1;
	if (p->tasks[parent - 1].kind != SIM_USER)
		return sim_parse_error(p, "%s is a kernel thread", s->argv[1]);
	if (thread) {
		if (argc != 4)
			return sim_parse_error(p, "usage: %s", s->verb->usage);
		proc = (int)p->tasks[parent - 1].proc;
	} else {
		const char *pname = s->argv[3];
		if (argc == 6) {
			if (strcmp(s->argv[4], "process"))
				return sim_parse_error(p, "expected 'process NAME' (usage: %s)",
						       s->verb->usage);
			pname = s->argv[5];
		} else if (argc != 4) {
			return sim_parse_error(p, "usage: %s", s->verb->usage);
		}
		if (sim_parse_new_proc(p, pname, &proc))
			return -1;
		snprintf(s->a.name, sizeof(s->a.name), "%s", pname);
	}
	s->a.task[1] = parent;
	s->a.proc = proc;
	s->a.flag = thread;
	return sim_parse_new_task(p, s->argv[3], SIM_USER, (unsigned)proc, &s->a.task[0]);
}

static int exec_fork(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t;
	int rc = sim_fork_tls(m, sim_stmt_task(m, s, 1), s->argv[3], s->a.flag,
			      s->a.flag ? NULL : s->a.name, s->a.num[1] != 0, s->a.num[0], &t);

	if (t) {
		if (sim_bind_task(m, s->a.task[0], t) ||
		    (!s->a.flag && sim_bind_proc(m, s->a.proc, t->proc)))
			return sim_error(m, "out of memory");
	}
	return rc;
}

static int parse_one_task(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 2) || sim_parse_task(p, s->argv[1], &s->a.task[0]))
		return -1;
	if (p->tasks[s->a.task[0] - 1].kind != SIM_USER)
		return sim_parse_error(p, "%s is a kernel thread", s->argv[1]);
	return 0;
}

static int exec_exec(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_exec(m, sim_stmt_task(m, s, 0));
}

static int exec_exit(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_exit(m, sim_stmt_task(m, s, 0));
}

/* ---- scheduling ---- */

/* switch cpuN to T|idle */
static int parse_switch(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 4, 4) || sim_parse_cpu(p, s->argv[1], &s->a.cpu[0]) ||
	    sim_parse_word(p, s, 2, "to"))
		return -1;
	return sim_parse_task_or_idle(p, s->argv[3], &s->a.task[0]);
}

static int exec_switch(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_switch(m, (unsigned)s->a.cpu[0], sim_stmt_task(m, s, 0));
}

/* migrate T to cpuN */
static int parse_migrate(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 4, 4) || sim_parse_task(p, s->argv[1], &s->a.task[0]) ||
	    sim_parse_word(p, s, 2, "to"))
		return -1;
	return sim_parse_cpu(p, s->argv[3], &s->a.cpu[0]);
}

static int exec_migrate(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_migrate(m, sim_stmt_task(m, s, 0), (unsigned)s->a.cpu[0]);
}

static int parse_cpu_only(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 2))
		return -1;
	return sim_parse_cpu(p, s->argv[1], &s->a.cpu[0]);
}

static int exec_return(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_return_to_user(m, (unsigned)s->a.cpu[0]);
}

static int exec_enter(struct sim_machine *m, const struct sim_stmt *s)
{
	unsigned cpu = (unsigned)s->a.cpu[0];

	if (!sim_cpu_user_mode(m, cpu))
		return sim_error(m, "cpu%u is not in user mode", cpu);
	return sim_enter_kernel(m, cpu);
}

/* ---- kernel FPU and interrupts ---- */

/* KFPU mask words: 387|mxcsr (default), 387, mxcsr, none, or a number;
 * plus "noclobber". Parsed from argv[from..]. */
static int parse_kfpu_tail(struct sim_parser *p, struct sim_stmt *s, int from)
{
	s->a.mask = XK_KFPU_DEFAULT;
	s->a.flag = true; /* clobber */
	for (int i = from; i < s->argc; i++) {
		const char *w = s->argv[i];
		uint64_t v;

		if (!strcmp(w, "noclobber"))
			s->a.flag = false;
		else if (!strcmp(w, "387|mxcsr") || !strcmp(w, "mxcsr|387") || !strcmp(w, "all"))
			s->a.mask = XK_KFPU_DEFAULT;
		else if (!strcmp(w, "387") || !strcmp(w, "x87"))
			s->a.mask = XK_KFPU_387;
		else if (!strcmp(w, "mxcsr"))
			s->a.mask = XK_KFPU_MXCSR;
		else if (!strcmp(w, "none"))
			s->a.mask = 0;
		else if (w[0] >= '0' && w[0] <= '9') {
			if (sim_parse_u64(p, w, &v))
				return -1;
			if (v & ~(uint64_t)XK_KFPU_DEFAULT)
				return sim_parse_error(p, "kernel FPU mask %s: only bits 0 (387) and "
						       "1 (mxcsr)", w);
			s->a.mask = v;
		} else
			return sim_parse_error(p, "unexpected '%s' (usage: %s)", w, s->verb->usage);
	}
	return 0;
}

/* kfpu cpuN begin [MASK] [noclobber] | kfpu cpuN end | kfpu cpuN [MASK] */
static int parse_kfpu(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 5) || sim_parse_cpu(p, s->argv[1], &s->a.cpu[0]))
		return -1;
	s->a.op = 0; /* begin+end */
	if (s->argc >= 3 && !strcmp(s->argv[2], "begin")) {
		s->a.op = 1;
		return parse_kfpu_tail(p, s, 3);
	}
	if (s->argc >= 3 && !strcmp(s->argv[2], "end")) {
		s->a.op = 2;
		return sim_parse_argc(p, s, 3, 3);
	}
	return parse_kfpu_tail(p, s, 2);
}

static int exec_kfpu(struct sim_machine *m, const struct sim_stmt *s)
{
	unsigned cpu = (unsigned)s->a.cpu[0];
	int rc;

	if (s->a.op == 2)
		return sim_kfpu_end(m, cpu);
	rc = sim_kfpu_begin(m, cpu, (unsigned)s->a.mask, s->a.flag);
	if (rc || s->a.op == 1 || m->k.cpu[cpu].kernel_fpu_allowed)
		return rc;
	return sim_kfpu_end(m, cpu);
}

/* irq cpuN [kfpu [MASK] [noclobber]] | irq cpuN enter | irq cpuN exit; nmi likewise */
static int parse_irq(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 5) || sim_parse_cpu(p, s->argv[1], &s->a.cpu[0]))
		return -1;
	s->a.op = 0;  /* enter + exit */
	s->a.num[0] = 0; /* no kfpu */
	if (s->argc == 2)
		return 0;
	if (!strcmp(s->argv[2], "enter")) {
		s->a.op = 1;
		return sim_parse_argc(p, s, 3, 3);
	}
	if (!strcmp(s->argv[2], "exit")) {
		s->a.op = 2;
		return sim_parse_argc(p, s, 3, 3);
	}
	if (!strcmp(s->argv[2], "kfpu")) {
		s->a.num[0] = 1;
		return parse_kfpu_tail(p, s, 3);
	}
	return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[2], s->verb->usage);
}

static int exec_irq(struct sim_machine *m, const struct sim_stmt *s)
{
	unsigned cpu = (unsigned)s->a.cpu[0];
	enum xk_irq_kind kind = !strcmp(s->verb->name, "nmi") ? XK_IRQ_NMI : XK_IRQ_HARD;
	int rc;

	if (s->a.op == 2)
		return sim_irq_exit(m, cpu);
	rc = sim_irq_enter(m, cpu, kind);
	if (rc || s->a.op == 1)
		return rc;
	if (s->a.num[0]) {
		bool began;
		rc = sim_kfpu_begin(m, cpu, (unsigned)s->a.mask, s->a.flag);
		began = !m->k.cpu[cpu].kernel_fpu_allowed;
		if (rc)
			return rc;
		if (began && (rc = sim_kfpu_end(m, cpu)))
			return rc;
	}
	return sim_irq_exit(m, cpu);
}

/* ---- misc ---- */

static int parse_counters(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 2) || sim_parse_word(p, s, 1, "reset"))
		return -1;
	return 0;
}

static int exec_counters(struct sim_machine *m, const struct sim_stmt *s)
{
	sim_counters_reset(m);
	return SIM_OK;
}

/* check shadow=on|off */
static int parse_check(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 2))
		return -1;
	if (!strcmp(s->argv[1], "shadow=on"))
		s->a.flag = true;
	else if (!strcmp(s->argv[1], "shadow=off"))
		s->a.flag = false;
	else
		return sim_parse_error(p, "expected shadow=on or shadow=off");
	return 0;
}

static int exec_check(struct sim_machine *m, const struct sim_stmt *s)
{
	m->check.shadow = s->a.flag;
	return SIM_OK;
}

static int parse_note(struct sim_parser *p, struct sim_stmt *s)
{
	return sim_parse_argc(p, s, 1, SIM_MAX_ARGS);
}

/* random steps=N */
static int parse_random(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 2))
		return -1;
	if (strncmp(s->argv[1], "steps=", 6))
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	if (sim_parse_u64(p, s->argv[1] + 6, &s->a.num[0]))
		return -1;
	if (s->a.num[0] > 100000000)
		return sim_parse_error(p, "steps=%s: at most 100000000", s->argv[1] + 6);
	return 0;
}

static int exec_random(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_random_steps(m, s->a.num[0]);
}

/* ---- task verbs: "T write ..." ---- */

static int parse_task_subject(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_task(p, s->argv[0], &s->a.task[0]))
		return -1;
	if (p->tasks[s->a.task[0] - 1].kind != SIM_USER)
		return sim_parse_error(p, "%s is a kernel thread: it runs no user code", s->argv[0]);
	return 0;
}

/* T write REG = VALUE (also "REG VALUE" and "REG=VALUE") */
static int parse_write(struct sim_parser *p, struct sim_stmt *s)
{
	char regname[64];
	const char *val = NULL;

	if (parse_task_subject(p, s))
		return -1;
	if (s->argc == 3 && strchr(s->argv[2], '=')) {
		size_t n = (size_t)(strchr(s->argv[2], '=') - s->argv[2]);
		if (n >= sizeof(regname))
			return sim_parse_error(p, "bad register '%s'", s->argv[2]);
		memcpy(regname, s->argv[2], n);
		regname[n] = '\0';
		val = s->argv[2] + n + 1;
	} else if (s->argc == 5 && !strcmp(s->argv[3], "=")) {
		snprintf(regname, sizeof(regname), "%s", s->argv[2]);
		val = s->argv[4];
	} else if (s->argc == 4) {
		snprintf(regname, sizeof(regname), "%s", s->argv[2]);
		val = s->argv[3];
	} else {
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	}
	if (sim_parse_reg(p, regname, &s->a.reg))
		return -1;
	return sim_parse_value(p, val, s->a.reg.size, &s->a.val);
}

static int exec_write(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_uinsn u;

	memset(&u, 0, sizeof(u));
	u.op = SIM_UOP_WRITE;
	u.reg = s->a.reg;
	u.val = s->a.val;
	return sim_user(m, sim_stmt_task(m, s, 0), &u);
}

static int parse_read(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_task_subject(p, s) || sim_parse_argc(p, s, 3, 3))
		return -1;
	return sim_parse_reg(p, s->argv[2], &s->a.reg);
}

static int exec_read(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_uinsn u;

	memset(&u, 0, sizeof(u));
	u.op = SIM_UOP_READ;
	u.reg = s->a.reg;
	return sim_user(m, sim_stmt_task(m, s, 0), &u);
}

/* T touch COMP[|COMP...] */
static int parse_touch(struct sim_parser *p, struct sim_stmt *s)
{
	uint64_t mask;

	if (parse_task_subject(p, s) || sim_parse_argc(p, s, 3, 3) ||
	    sim_parse_mask(p, s->argv[2], &mask))
		return -1;
	if (!mask)
		return sim_parse_error(p, "touch needs at least one component");
	for (uint64_t mm = mask; mm; mm &= mm - 1) {
		unsigned c = (unsigned)__builtin_ctzll(mm);
		struct xs_reg r;
		if (!(p->model->xcr0_supported & XS_BIT(c)))
			return sim_parse_error(p, "component %s is not a user component of CPU "
					       "model %s", xs_comp_name(c), p->model->name);
		if (sim_touch_reg(p->model, (int)c, &r))
			return sim_parse_error(p, "component %s has no register user code can "
					       "touch", xs_comp_name(c));
	}
	s->a.mask = mask;
	return 0;
}

static int exec_touch(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);

	for (uint64_t mm = s->a.mask; mm; mm &= mm - 1) {
		struct sim_uinsn u;
		int rc;

		memset(&u, 0, sizeof(u));
		u.op = SIM_UOP_TOUCH;
		u.comp = __builtin_ctzll(mm);
		sim_touch_reg(m->model, u.comp, &u.reg);
		rc = sim_user(m, t, &u);
		if (rc || t->last_signal)
			return rc;
	}
	return SIM_OK;
}

static int parse_simple_uop(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_task_subject(p, s) || sim_parse_argc(p, s, 2, 2))
		return -1;
	if (!strcmp(s->verb->name, "vzeroupper"))
		s->a.op = SIM_UOP_VZEROUPPER;
	else if (!strcmp(s->verb->name, "tilerelease"))
		s->a.op = SIM_UOP_TILERELEASE;
	else
		s->a.op = SIM_UOP_FNINIT;
	return 0;
}

static int parse_u32_uop(struct sim_parser *p, struct sim_stmt *s)
{
	uint64_t v;

	if (parse_task_subject(p, s) || sim_parse_argc(p, s, 3, 3) ||
	    sim_parse_u64(p, s->argv[2], &v))
		return -1;
	if (v > 0xFFFFFFFFu)
		return sim_parse_error(p, "%s takes a 32-bit value", s->verb->name);
	s->a.op = !strcmp(s->verb->name, "ldmxcsr") ? SIM_UOP_LDMXCSR : SIM_UOP_WRPKRU;
	s->a.val = malloc(4);
	if (!s->a.val)
		return sim_parse_error(p, "out of memory");
	for (int i = 0; i < 4; i++)
		s->a.val[i] = (uint8_t)(v >> (8 * i));
	return 0;
}

static int exec_uop(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_uinsn u;

	memset(&u, 0, sizeof(u));
	u.op = (enum sim_uop)s->a.op;
	u.val = s->a.val;
	return sim_user(m, sim_stmt_task(m, s, 0), &u);
}

/* T syscall: enter the kernel and come back (no FPU use). */
static int parse_syscall(struct sim_parser *p, struct sim_stmt *s)
{
	return parse_task_subject(p, s) || sim_parse_argc(p, s, 2, 2) ? -1 : 0;
}

static int exec_syscall(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	int rc = sim_ensure_user(m, t);

	if (rc)
		return rc;
	sim_enter_kernel(m, (unsigned)t->k->on_cpu);
	return sim_return_to_user(m, (unsigned)t->k->on_cpu);
}

static const struct sim_verb verbs[] = {
	{ "machine", SIM_VERB_STMT, "machine [cpu=MODEL] [cpus=N] [seed=S] [policy] [NAME=VALUE ...]",
	  parse_machine, exec_machine },
	{ "policy", SIM_VERB_STMT, "policy NAME=VALUE ...", parse_policy, exec_nothing },
	{ "process", SIM_VERB_STMT, "process P", parse_process, exec_process },
	{ "thread", SIM_VERB_STMT, "thread T [in P] [on cpuN]", parse_thread, exec_thread },
	{ "kthread", SIM_VERB_STMT, "kthread K [on cpuN]", parse_kthread, exec_kthread },
	{ "fork", SIM_VERB_STMT, "fork T as U [process P] [tls=V]", parse_fork, exec_fork },
	{ "clone", SIM_VERB_STMT, "clone T as U [tls=V]", parse_fork, exec_fork },
	{ "exec", SIM_VERB_STMT, "exec T", parse_one_task, exec_exec },
	{ "exit", SIM_VERB_STMT, "exit T", parse_one_task, exec_exit },
	{ "switch", SIM_VERB_STMT, "switch cpuN to T|idle", parse_switch, exec_switch },
	{ "migrate", SIM_VERB_STMT, "migrate T to cpuN", parse_migrate, exec_migrate },
	{ "return", SIM_VERB_STMT, "return cpuN", parse_cpu_only, exec_return },
	{ "enter", SIM_VERB_STMT, "enter cpuN", parse_cpu_only, exec_enter },
	{ "kfpu", SIM_VERB_STMT, "kfpu cpuN begin [MASK] [noclobber] | kfpu cpuN end | "
	  "kfpu cpuN [MASK] [noclobber]", parse_kfpu, exec_kfpu },
	{ "irq", SIM_VERB_STMT, "irq cpuN [kfpu [MASK] [noclobber]] | irq cpuN enter | irq cpuN exit",
	  parse_irq, exec_irq },
	{ "nmi", SIM_VERB_STMT, "nmi cpuN [kfpu [MASK] [noclobber]] | nmi cpuN enter | nmi cpuN exit",
	  parse_irq, exec_irq },
	{ "counters", SIM_VERB_STMT, "counters reset", parse_counters, exec_counters },
	{ "check", SIM_VERB_STMT, "check shadow=on|off", parse_check, exec_check },
	{ "note", SIM_VERB_STMT, "note TEXT ...", parse_note, exec_nothing },
	{ "random", SIM_VERB_STMT, "random steps=N", parse_random, exec_random },

	{ "write", SIM_VERB_TASK, "T write REG = VALUE", parse_write, exec_write },
	{ "read", SIM_VERB_TASK, "T read REG", parse_read, exec_read },
	{ "touch", SIM_VERB_TASK, "T touch COMP[|COMP...]", parse_touch, exec_touch },
	{ "vzeroupper", SIM_VERB_TASK, "T vzeroupper", parse_simple_uop, exec_uop },
	{ "tilerelease", SIM_VERB_TASK, "T tilerelease", parse_simple_uop, exec_uop },
	{ "fninit", SIM_VERB_TASK, "T fninit", parse_simple_uop, exec_uop },
	{ "ldmxcsr", SIM_VERB_TASK, "T ldmxcsr VALUE", parse_u32_uop, exec_uop },
	{ "wrpkru", SIM_VERB_TASK, "T wrpkru VALUE", parse_u32_uop, exec_uop },
	{ "syscall", SIM_VERB_TASK, "T syscall", parse_syscall, exec_syscall },
};

const struct sim_verb_set sim_verbs_core = { "core", verbs, sizeof(verbs) / sizeof(verbs[0]) };
