/* Expectations: "expect ..." statements. Each holds (SIM_OK, and the
 * runner counts it) or fails (SIM_FAIL with what was observed). Register
 * expectations read through the CPU as the task's user code would; the
 * others look at kernel or CPU state without changing anything.
 */
#include <stdlib.h>
#include <string.h>

#include "xstate/sim.h"
#include "sim/sim_internal.h"

/* The word after "expect", without a leading '!'. */
static const char *topic(const struct sim_stmt *s)
{
	const char *w = s->argv[1];

	return w[0] == '!' ? w + 1 : w;
}

static int parse_neg(struct sim_parser *p, struct sim_stmt *s, bool allowed)
{
	s->a.neg = s->argv[1][0] == '!';
	if (s->a.neg && !allowed)
		return sim_parse_error(p, "'!' is not allowed here; use != (usage: %s)",
				       s->verb->usage);
	return 0;
}

static int parse_eq_ne(struct sim_parser *p, const char *w, int *op)
{
	if (sim_parse_cmp(p, w, op))
		return -1;
	if (*op != SIM_EQ && *op != SIM_NE)
		return sim_parse_error(p, "only == and != compare %s", "this");
	return 0;
}

static int result(struct sim_machine *m, bool ok, const char *fmt_got, const char *got,
		  const struct sim_stmt *s)
{
	if (ok) {
		sim_note(m, "%s %s", fmt_got, got);
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s %s", fmt_got, got);
}

/* ---- expect T REG OP VALUE / expect shadow T REG OP VALUE ---- */

static int parse_reg(struct sim_parser *p, struct sim_stmt *s)
{
	bool shadow = !strcmp(s->argv[1], "shadow");
	int i = shadow ? 2 : 1;

	if (parse_neg(p, s, false) || sim_parse_argc(p, s, i + 4, i + 4) ||
	    sim_parse_task(p, s->argv[i], &s->a.task[0]))
		return -1;
	if (p->tasks[s->a.task[0] - 1].kind != SIM_USER)
		return sim_parse_error(p, "%s is a kernel thread: it has no user registers",
				       s->argv[i]);
	if (sim_parse_reg(p, s->argv[i + 1], &s->a.reg) || parse_eq_ne(p, s->argv[i + 2], &s->a.op))
		return -1;
	s->a.flag = shadow;
	return sim_parse_value(p, s->argv[i + 3], s->a.reg.size, &s->a.val);
}

static int exec_reg(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	uint8_t got[8192];
	char g[160];
	bool eq;
	int rc;

	if (s->a.reg.size > sizeof(got))
		return sim_error(m, "register too large");
	if (s->a.flag) {
		if (!t->shadow || t->state == SIM_T_EXITED)
			return sim_error(m, "%s has no shadow (exited?)", t->name);
		xs_reg_peek(t->shadow, &s->a.reg, got);
	} else {
		struct sim_uinsn u;

		memset(&u, 0, sizeof(u));
		u.op = SIM_UOP_READ;
		u.reg = s->a.reg;
		u.out = got;
		rc = sim_user(m, t, &u);
		if (rc)
			return rc;
		if (t->last_signal)
			return sim_fail(m, "expect", "expectation failed: reading %s raised %s (%s)",
					s->a.reg.name, xs_fault_name(t->last_fault),
					sim_signal_name(t->last_signal));
	}
	eq = !memcmp(got, s->a.val, s->a.reg.size);
	sim_format_value(g, sizeof(g), got, s->a.reg.size);
	if (eq == (s->a.op == SIM_EQ))
		return result(m, true, "got", g, s);
	if (s->a.op == SIM_EQ) {
		char d[200];
		sim_format_diff(d, sizeof(d), got, s->a.val, s->a.reg.size, 0);
		return sim_fail(m, "expect", "expectation failed: %s %s = %s (%s)", t->name,
				s->a.reg.name, g, d);
	}
	return sim_fail(m, "expect", "expectation failed: %s %s = %s", t->name, s->a.reg.name, g);
}

/* ---- expect owner cpuN OP T|none / expect running cpuN OP T|idle ---- */

static int parse_cpu_task(struct sim_parser *p, struct sim_stmt *s)
{
	const char *none = !strcmp(s->verb->name, "owner") ? "none" : "idle";

	if (parse_neg(p, s, false) || sim_parse_argc(p, s, 5, 5) ||
	    sim_parse_cpu(p, s->argv[2], &s->a.cpu[0]) || parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	if (!strcmp(s->argv[4], none)) {
		s->a.task[0] = 0;
		return 0;
	}
	return sim_parse_task(p, s->argv[4], &s->a.task[0]);
}

static int exec_cpu_task(struct sim_machine *m, const struct sim_stmt *s)
{
	bool owner = !strcmp(s->verb->name, "owner");
	unsigned cpu = (unsigned)s->a.cpu[0];
	struct sim_task *got = owner ? sim_cpu_owner(m, cpu) : sim_cpu_current(m, cpu);
	struct sim_task *want = sim_stmt_task(m, s, 0);
	bool eq = got == want;

	return result(m, eq == (s->a.op == SIM_EQ), owner ? "owner is" : "running is",
		      sim_task_name_or(got, owner ? "none" : "idle"), s);
}

/* ---- expect [!]needs-load T ---- */

static int parse_task_only(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_neg(p, s, true) || sim_parse_argc(p, s, 3, 3) ||
	    sim_parse_task(p, s->argv[2], &s->a.task[0]))
		return -1;
	return 0;
}

static int exec_needs_load(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	bool set;

	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	set = t->k->need_load != 0;
	return result(m, set != s->a.neg, "need-load is", set ? "set" : "clear", s);
}

/* ---- expect saves|restores|skipped|switches|nm|xfd-writes [cpuN] OP N,
 *      expect warnings OP N, expect mem [T] OP BYTES ---- */

static int parse_counter(struct sim_parser *p, struct sim_stmt *s)
{
	int i = 2;

	if (parse_neg(p, s, false))
		return -1;
	s->a.cpu[0] = -1;
	s->a.task[0] = 0;
	if (s->argc == 5) {
		if (!strcmp(s->verb->name, "mem")) {
			if (sim_parse_task(p, s->argv[2], &s->a.task[0]))
				return -1;
		} else if (!strcmp(s->verb->name, "warnings")) {
			return sim_parse_error(p, "usage: %s", s->verb->usage);
		} else if (sim_parse_cpu(p, s->argv[2], &s->a.cpu[0])) {
			return -1;
		}
		i = 3;
	} else if (s->argc != 4) {
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	}
	if (sim_parse_cmp(p, s->argv[i], &s->a.op) || sim_parse_u64(p, s->argv[i + 1], &s->a.num[0]))
		return -1;
	return 0;
}

static uint64_t cpu_stat(const struct sim_machine *m, int cpu, size_t field)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < m->ncpus; i++)
		if (cpu < 0 || (unsigned)cpu == i)
			n += *(const uint64_t *)((const char *)&m->cstat[i] + field);
	return n;
}

static int exec_counter(struct sim_machine *m, const struct sim_stmt *s)
{
	const char *v = s->verb->name;
	uint64_t got;
	char g[32];

	if (!strcmp(v, "saves"))
		got = cpu_stat(m, s->a.cpu[0], offsetof(struct sim_cpu_stats, saves));
	else if (!strcmp(v, "restores"))
		got = cpu_stat(m, s->a.cpu[0], offsetof(struct sim_cpu_stats, restores));
	else if (!strcmp(v, "skipped"))
		got = cpu_stat(m, s->a.cpu[0], offsetof(struct sim_cpu_stats, restores_skipped));
	else if (!strcmp(v, "switches"))
		got = cpu_stat(m, s->a.cpu[0], offsetof(struct sim_cpu_stats, switches));
	else if (!strcmp(v, "nm"))
		got = cpu_stat(m, s->a.cpu[0], offsetof(struct sim_cpu_stats, nm));
	else if (!strcmp(v, "xfd-writes"))
		got = cpu_stat(m, s->a.cpu[0], offsetof(struct sim_cpu_stats, xfd_writes));
	else if (!strcmp(v, "warnings"))
		got = m->warnings;
	else if (s->a.task[0]) {
		struct sim_task *t = sim_stmt_task(m, s, 0);
		got = t->state == SIM_T_EXITED ? 0 : t->k->xstate_bytes;
	} else
		got = m->k.mem.bytes;
	snprintf(g, sizeof(g), "%llu", (unsigned long long)got);
	if (sim_cmp_u64(got, s->a.op, s->a.num[0]))
		return result(m, true, v, g, s);
	return sim_fail(m, "expect", "expectation failed: %s is %s, expected %s %llu", v, g,
			sim_cmp_name(s->a.op), (unsigned long long)s->a.num[0]);
}

/* ---- expect fault T OP #NM|none / expect signal T OP SIGILL|none ---- */

static int parse_fault(struct sim_parser *p, struct sim_stmt *s)
{
	enum xs_fault f;
	int sig;

	if (parse_neg(p, s, false) || sim_parse_argc(p, s, 5, 5) ||
	    sim_parse_task(p, s->argv[2], &s->a.task[0]) || parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	if (!strcmp(s->verb->name, "fault")) {
		if (sim_parse_fault(p, s->argv[4], &f))
			return -1;
		s->a.num[0] = f;
	} else {
		if (sim_parse_signal(p, s->argv[4], &sig))
			return -1;
		s->a.num[0] = (uint64_t)sig;
	}
	return 0;
}

static int exec_fault(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	bool fault = !strcmp(s->verb->name, "fault");
	uint64_t got = fault ? (uint64_t)t->last_fault : (uint64_t)t->last_signal;
	const char *g = fault ? (got ? xs_fault_name(t->last_fault) : "none") :
		sim_signal_name(t->last_signal);

	return result(m, (got == s->a.num[0]) == (s->a.op == SIM_EQ),
		      fault ? "last fault" : "last signal", g, s);
}

/* ---- expect xinuse cpuN [& MASK] OP VALUE / expect xfd cpuN OP MASK /
 *      expect ts cpuN OP 0|1 ---- */

/* The tail shared by "expect WHAT SUBJECT [& MASK] ==|!= VALUE" forms:
 * argv[3..] after the subject has been parsed. */
static int parse_masked_compare(struct sim_parser *p, struct sim_stmt *s)
{
	int i = 3;

	s->a.mask = ~0ULL;
	if (s->argc == 7 && !strcmp(s->argv[3], "&")) {
		if (sim_parse_mask(p, s->argv[4], &s->a.mask))
			return -1;
		i = 5;
	} else if (s->argc != 5) {
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	}
	if (parse_eq_ne(p, s->argv[i], &s->a.op) || sim_parse_mask(p, s->argv[i + 1], &s->a.num[0]))
		return -1;
	return 0;
}

static int parse_cpu_mask(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_neg(p, s, false) || sim_parse_argc(p, s, 5, 7) ||
	    sim_parse_cpu(p, s->argv[2], &s->a.cpu[0]))
		return -1;
	return parse_masked_compare(p, s);
}

static int exec_cpu_mask(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct xs_cpu *hw = sim_cpu_hw(m, (unsigned)s->a.cpu[0]);
	const char *v = s->verb->name;
	uint64_t got;
	char g[200];

	if (!strcmp(v, "xinuse"))
		got = xs_xinuse(hw);
	else if (!strcmp(v, "xfd"))
		got = xs_xfd(hw);
	else
		got = xs_cr0_ts(hw);
	got &= s->a.mask;
	if (!strcmp(v, "ts"))
		snprintf(g, sizeof(g), "%llu", (unsigned long long)got);
	else if (!got)
		snprintf(g, sizeof(g), "0");
	else
		xs_mask_names(got, g, sizeof(g));
	return result(m, (got == s->a.num[0]) == (s->a.op == SIM_EQ), v, g, s);
}

/* ---- expect state T OP running|runnable|exited ---- */

static const char *const state_names[] = { "runnable", "running", "exited" };

static int parse_state(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_neg(p, s, false) || sim_parse_argc(p, s, 5, 5) ||
	    sim_parse_task(p, s->argv[2], &s->a.task[0]) || parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	for (int i = 0; i < 3; i++)
		if (!strcmp(s->argv[4], state_names[i])) {
			s->a.num[0] = (uint64_t)i;
			return 0;
		}
	return sim_parse_error(p, "expected running, runnable or exited");
}

static int exec_state(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);

	return result(m, ((uint64_t)t->state == s->a.num[0]) == (s->a.op == SIM_EQ), "state is",
		      state_names[t->state], s);
}

/* ---- expect mode cpuN OP user|kernel ---- */

static int parse_mode(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_neg(p, s, false) || sim_parse_argc(p, s, 5, 5) ||
	    sim_parse_cpu(p, s->argv[2], &s->a.cpu[0]) || parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	if (strcmp(s->argv[4], "user") && strcmp(s->argv[4], "kernel"))
		return sim_parse_error(p, "expected user or kernel");
	s->a.flag = !strcmp(s->argv[4], "user");
	return 0;
}

static int exec_mode(struct sim_machine *m, const struct sim_stmt *s)
{
	bool user = sim_cpu_user_mode(m, (unsigned)s->a.cpu[0]);

	return result(m, (user == s->a.flag) == (s->a.op == SIM_EQ), "mode is",
		      user ? "user" : "kernel", s);
}

/* ---- expect regs cpuN COMP OP T|init|kernel|nobody: whose value the
 *      CPU's registers hold for a component ---- */

static int parse_regs(struct sim_parser *p, struct sim_stmt *s)
{
	const char *w;

	if (parse_neg(p, s, false) || sim_parse_argc(p, s, 6, 6) ||
	    sim_parse_cpu(p, s->argv[2], &s->a.cpu[0]) || sim_parse_comp(p, s->argv[3], &s->a.comp) ||
	    parse_eq_ne(p, s->argv[4], &s->a.op))
		return -1;
	w = s->argv[5];
	s->a.task[0] = 0;
	if (!strcmp(w, "init"))
		s->a.num[0] = SIM_WRITER_INIT;
	else if (!strcmp(w, "kernel"))
		s->a.num[0] = SIM_WRITER_KERNEL;
	else if (!strcmp(w, "nobody"))
		s->a.num[0] = SIM_WRITER_NONE;
	else
		return sim_parse_task(p, w, &s->a.task[0]);
	return 0;
}

static int exec_regs(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct xs_cpu *hw = sim_cpu_hw(m, (unsigned)s->a.cpu[0]);
	unsigned want = s->a.task[0] ? sim_stmt_task(m, s, 0)->id : (unsigned)s->a.num[0];
	unsigned got;
	bool also = false;
	char nb[SIM_NAME_MAX + 8];

	if (!xs_comp_regs(hw, (unsigned)s->a.comp))
		return sim_error(m, "component not present");
	got = sim_value_writer(m, hw, (unsigned)s->a.comp, want, &also);
	/* A value several tasks produced (fork copies) matches any of them. */
	return result(m, (got == want || also) == (s->a.op == SIM_EQ), "written by",
		      sim_writer_name(m, also ? want : got, nb, sizeof(nb)), s);
}

/* ---- expect xstate-bv T [& MASK] ==|!= MASK: the XSTATE_BV of the task's
 *      buffer (what its last save wrote) ---- */

static int parse_xstate_bv(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_neg(p, s, false) || sim_parse_argc(p, s, 5, 7) ||
	    sim_parse_task(p, s->argv[2], &s->a.task[0]))
		return -1;
	return parse_masked_compare(p, s);
}

static int exec_xstate_bv(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	uint64_t got;
	char g[200];

	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	got = xk_fpstate_xstate_bv(t->k->fpu.fpstate) & s->a.mask;
	if (!got)
		snprintf(g, sizeof(g), "0");
	else
		xs_mask_names(got, g, sizeof(g));
	return result(m, (got == s->a.num[0]) == (s->a.op == SIM_EQ), "xstate_bv", g, s);
}

/* ---- expect last-cpu T OP cpuN|none ---- */

static int parse_last_cpu(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_neg(p, s, false) || sim_parse_argc(p, s, 5, 5) ||
	    sim_parse_task(p, s->argv[2], &s->a.task[0]) || parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	if (!strcmp(s->argv[4], "none")) {
		s->a.cpu[0] = -1;
		return 0;
	}
	return sim_parse_cpu(p, s->argv[4], &s->a.cpu[0]);
}

static int exec_last_cpu(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	char g[16];
	int got;

	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	got = t->k->fpu.last_cpu;
	if (got < 0)
		snprintf(g, sizeof(g), "none");
	else
		snprintf(g, sizeof(g), "cpu%d", got);
	return result(m, (got == s->a.cpu[0]) == (s->a.op == SIM_EQ), "last_cpu is", g, s);
}

static const struct sim_verb verbs[] = {
	{ "reg", SIM_VERB_EXPECT, "expect T REG ==|!= VALUE", parse_reg, exec_reg },
	{ "shadow", SIM_VERB_EXPECT, "expect shadow T REG ==|!= VALUE", parse_reg, exec_reg },
	{ "owner", SIM_VERB_EXPECT, "expect owner cpuN ==|!= T|none", parse_cpu_task,
	  exec_cpu_task },
	{ "running", SIM_VERB_EXPECT, "expect running cpuN ==|!= T|idle", parse_cpu_task,
	  exec_cpu_task },
	{ "needs-load", SIM_VERB_EXPECT, "expect [!]needs-load T", parse_task_only,
	  exec_needs_load },
	{ "saves", SIM_VERB_EXPECT, "expect saves [cpuN] OP N", parse_counter, exec_counter },
	{ "restores", SIM_VERB_EXPECT, "expect restores [cpuN] OP N", parse_counter, exec_counter },
	{ "skipped", SIM_VERB_EXPECT, "expect skipped [cpuN] OP N", parse_counter, exec_counter },
	{ "switches", SIM_VERB_EXPECT, "expect switches [cpuN] OP N", parse_counter, exec_counter },
	{ "nm", SIM_VERB_EXPECT, "expect nm [cpuN] OP N", parse_counter, exec_counter },
	{ "xfd-writes", SIM_VERB_EXPECT, "expect xfd-writes [cpuN] OP N", parse_counter,
	  exec_counter },
	{ "warnings", SIM_VERB_EXPECT, "expect warnings OP N", parse_counter, exec_counter },
	{ "mem", SIM_VERB_EXPECT, "expect mem [T] OP BYTES", parse_counter, exec_counter },
	{ "fault", SIM_VERB_EXPECT, "expect fault T ==|!= #UD|#NM|#GP|#AC|#PF|none", parse_fault,
	  exec_fault },
	{ "signal", SIM_VERB_EXPECT, "expect signal T ==|!= SIGILL|SIGSEGV|SIGBUS|none",
	  parse_fault, exec_fault },
	{ "xinuse", SIM_VERB_EXPECT, "expect xinuse cpuN [& MASK] ==|!= MASK", parse_cpu_mask,
	  exec_cpu_mask },
	{ "xfd", SIM_VERB_EXPECT, "expect xfd cpuN [& MASK] ==|!= MASK", parse_cpu_mask,
	  exec_cpu_mask },
	{ "ts", SIM_VERB_EXPECT, "expect ts cpuN ==|!= 0|1", parse_cpu_mask, exec_cpu_mask },
	{ "state", SIM_VERB_EXPECT, "expect state T ==|!= running|runnable|exited", parse_state,
	  exec_state },
	{ "mode", SIM_VERB_EXPECT, "expect mode cpuN ==|!= user|kernel", parse_mode, exec_mode },
	{ "regs", SIM_VERB_EXPECT, "expect regs cpuN COMP ==|!= T|init|kernel|nobody", parse_regs,
	  exec_regs },
	{ "xstate-bv", SIM_VERB_EXPECT, "expect xstate-bv T [& MASK] ==|!= MASK", parse_xstate_bv,
	  exec_xstate_bv },
	{ "last-cpu", SIM_VERB_EXPECT, "expect last-cpu T ==|!= cpuN|none", parse_last_cpu,
	  exec_last_cpu },
};

const struct sim_verb_set sim_verbs_expect = { "expect", verbs, sizeof(verbs) / sizeof(verbs[0]) };

/* The "expect" statement: dispatch on the next word. */
static int parse_expect(struct sim_parser *p, struct sim_stmt *s)
{
	const struct sim_verb *v;
	int dummy;

	if (s->argc < 2)
		return sim_parse_error(p, "expect what?");
	v = sim_verb_find(SIM_VERB_EXPECT, topic(s));
	if (!v && !sim_parse_task(p, s->argv[1], &dummy))
		v = sim_verb_find(SIM_VERB_EXPECT, "reg");
	if (!v) {
		p->err[0] = '\0';
		return sim_parse_error(p, "unknown expectation '%s' (a task name, or: owner running "
				       "needs-load saves restores skipped switches nm xfd-writes "
				       "warnings mem fault signal xinuse xfd ts state mode regs "
				       "xstate-bv last-cpu shadow)", s->argv[1]);
	}
	s->verb = v;
	return v->parse(p, s);
}

static int exec_expect(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_error(m, "internal: unresolved expectation");
}

static const struct sim_verb expect_stmt[] = {
	{ "expect", SIM_VERB_STMT, "expect WHAT ...", parse_expect, exec_expect },
};

const struct sim_verb_set sim_verbs_expect_stmt = { "expect-statement", expect_stmt, 1 };
