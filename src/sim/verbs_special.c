/* Scenario verbs for the special states (kernel_special.h): PKRU checks of
 * kernel accesses, the CET user shadow stack (arch_prctl, CALL/RET,
 * NT_X86_SHSTK), user interrupts (registration, SENDUIPI, delivery
 * counts), perf's LBR context and branch recording, kernel scratch buffers
 * with raw XSAVE-family instructions (seed 000's "XSAVES twice"), the boot
 * configuration and the classes of seed 000.
 *
 * Where the architecture model lacks a piece of hardware (the shadow stack
 * pointer moving on CALL/RET, branch recording into LBR), the verbs do what
 * the processor would, through the model's own instructions at CPL 0, and
 * say so in the trace.
 *
 * Grammar (docs/readme/41-special-states.md):
 *   T shstk enable|disable|wrss|nowrss|lock [fails ERRNO|any]
 *   T call [N] | T ret [N]                  shadow stack push/pop (8 bytes each)
 *   shstk-regset T set VALUE [fails ERRNO|any]  NT_X86_SHSTK write by a tracer
 *   T uintr register [HANDLER] | T uintr unregister   [fails ERRNO|any]
 *   T senduipi R [VECTOR]                   SENDUIPI from T's user code to R
 *   T run                                   T runs user code (pending user
 *                                           interrupts are delivered)
 *   perf lbr T|cpuN [ctl=V] | perf lbr T|cpuN off
 *                                           perf's LBR call-stack event on T,
 *                                           or a CPU-wide one
 *   T branch FROM TO                        the CPU records a taken branch
 *   kbuf B [SIZE]                           a kernel scratch buffer (zeroed)
 *   kbuf B xstate_bv|xcomp_bv =|'|='|'&=' MASK   edit its header
 *   kinsn cpuN xsaves|xsavec|xsave|xsaveopt|xrstors|xrstor B MASK
 *                                           a kernel instruction on cpuN; the
 *                                           restores only inside a kernel FPU
 *                                           section (the registers are the
 *                                           kernel's there)
 *   expect uaccess T read|write PKEY ==|!= ok|EFAULT
 *   expect thread-pkru T ==|!= V
 *   expect ssp T ==|!= V|top|top-N          RDSSP executed by T
 *   expect shstk-regset T ==|!= V|top-N|ERRNO
 *   expect uintr T delivered|posted|spurious|misdelivered|notifications|pir OP N
 *   expect hw cpuN REG ==|!= VALUE          the register as the CPU holds it
 *   expect lbr cpuN ctl|depth|from0|to0|from1|to1|records OP V
 *   expect kbuf B xstate_bv|xcomp_bv [& MASK] ==|!= MASK
 *   expect kbuf B fault ==|!= #GP|none
 *   expect kbuf B REG ==|!= VALUE           decoded with the buffer's format
 *   expect config NAME [& MASK] OP VALUE    boot configuration (sizes, masks)
 *   expect class COMP ==|!= CLASS           seed 000 / Linux class
 *   expect kstat NAME OP N                  kernel counters
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"
#include "xstate/kernel_special.h"

/* ---- small helpers ---- */

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EINVAL", EINVAL }, { "EPERM", EPERM }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "ENODEV", ENODEV }, { "ESRCH", ESRCH }, { "EBUSY", EBUSY },
	{ "ENOMEM", ENOMEM }, { "EFAULT", EFAULT },
};

static const char *errno_name(int rc)
{
	if (rc == 0)
		return "ok";
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (-rc == errnos[i].err)
			return errnos[i].name;
	return "error";
}

static int parse_errno(struct sim_parser *p, const char *w, int *rc)
{
	if (!strcmp(w, "ok") || !strcmp(w, "0")) {
		*rc = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(w, errnos[i].name) || (w[0] == '-' && !strcmp(w + 1, errnos[i].name))) {
			*rc = -errnos[i].err;
			return 0;
		}
	return sim_parse_error(p, "'%s' is not an errno this verb returns (EINVAL EPERM "
			       "EOPNOTSUPP ENODEV ESRCH EBUSY ENOMEM EFAULT, or ok)", w);
}

/* "fails any": whatever the call returns is fine (random generators). */
#define FAILS_ANY 1

/* Optional "fails ERRNO" / "fails any" at argv[i..i+1]: a.num[2] gets the
 * expected result (0 = success, FAILS_ANY). Returns the index after it,
 * or -1. */
static int parse_fails(struct sim_parser *p, struct sim_stmt *s, int i)
{
	int rc = 0;

	if (i + 1 < s->argc && !strcmp(s->argv[i], "fails") && !strcmp(s->argv[i + 1], "any")) {
		s->a.num[2] = FAILS_ANY;
		return i + 2;
	}
	if (i < s->argc && !strcmp(s->argv[i], "fails")) {
		if (i + 1 >= s->argc || parse_errno(p, s->argv[i + 1], &rc))
			return i + 1 >= s->argc ? sim_parse_error(p, "'fails' needs an errno") : -1;
		if (!rc)
			return sim_parse_error(p, "'fails ok' makes no sense");
		i += 2;
	}
	s->a.num[2] = (uint64_t)(int64_t)rc;
	return i;
}

/* The result of a call against what the statement said. */
static int check_rc(struct sim_machine *m, const struct sim_stmt *s, int rc, const char *what)
{
	int want = (int)(int64_t)s->a.num[2];

	if (rc == want || want == FAILS_ANY) {
		sim_trace(m, SIM_TR_EVENT, "        %s -> %s%s", what, errno_name(rc),
			  want == FAILS_ANY ? "" : want ? " (as expected)" : "");
		return SIM_OK;
	}
	if (!want)
		return sim_error(m, "%s failed: %s", what, errno_name(rc));
	return sim_fail(m, "expect", "expectation failed: %s returned %s, expected %s", what,
			errno_name(rc), errno_name(want));
}

static int parse_user_task(struct sim_parser *p, const char *w, int *id)
{
	if (sim_parse_task(p, w, id))
		return -1;
	if (p->tasks[*id - 1].kind != SIM_USER)
		return sim_parse_error(p, "%s is a kernel thread", w);
	return 0;
}

static int parse_eq_ne(struct sim_parser *p, const char *w, int *op)
{
	if (sim_parse_cmp(p, w, op))
		return -1;
	if (*op != SIM_EQ && *op != SIM_NE)
		return sim_parse_error(p, "only == and != compare this");
	return 0;
}

static int result(struct sim_machine *m, bool ok, const char *what, const char *got)
{
	if (ok) {
		sim_note(m, "%s %s", what, got);
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s %s", what, got);
}

/* Run an action of t in the kernel: t runs (user mode), enters the kernel
 * (a system call), the action, back to user mode. Returns the CPU. */
static int syscall_enter(struct sim_machine *m, struct sim_task *t, unsigned *cpu)
{
	int rc = sim_ensure_user(m, t);

	if (rc)
		return rc;
	*cpu = (unsigned)t->k->on_cpu;
	return sim_enter_kernel(m, *cpu);
}

/* RDMSR/WRMSR as the processor itself does them (any CPL). */
static uint64_t hw_rdmsr(struct xs_cpu *hw, uint32_t msr)
{
	int cpl = xs_cpl(hw);
	uint64_t v = 0;

	xs_set_cpl(hw, 0);
	xs_rdmsr(hw, msr, &v);
	xs_set_cpl(hw, cpl);
	return v;
}

static enum xs_fault hw_wrmsr(struct xs_cpu *hw, uint32_t msr, uint64_t v)
{
	int cpl = xs_cpl(hw);
	enum xs_fault f;

	xs_set_cpl(hw, 0);
	f = xs_wrmsr(hw, msr, v);
	xs_set_cpl(hw, cpl);
	return f;
}

/* "top" / "top-N" (relative to t's shadow stack top) or a number. a.num[1]
 * gets the number, a.flag whether it is relative (num[1] = N then). */
static int parse_ssp_value(struct sim_parser *p, struct sim_stmt *s, const char *w)
{
	s->a.flag = false;
	if (!strncmp(w, "top", 3)) {
		s->a.flag = true;
		s->a.num[1] = 0;
		if (!w[3])
			return 0;
		if (w[3] != '-')
			return sim_parse_error(p, "'%s': top or top-N", w);
		return sim_parse_u64(p, w + 4, &s->a.num[1]);
	}
	return sim_parse_u64(p, w, &s->a.num[1]);
}

static int ssp_value(struct sim_machine *m, const struct sim_stmt *s, const struct sim_task *t,
		     uint64_t *v)
{
	const struct xk_special *sp = t->k ? t->k->special : NULL;

	if (!s->a.flag) {
		*v = s->a.num[1];
		return SIM_OK;
	}
	if (!sp || !sp->shstk_size)
		return sim_error(m, "%s has no shadow stack: 'top' means nothing", t->name);
	*v = sp->shstk_base + sp->shstk_size - s->a.num[1];
	return SIM_OK;
}

/* ---- T shstk enable|disable|wrss|nowrss|lock [fails E] ---- */

static int parse_shstk(struct sim_parser *p, struct sim_stmt *s)
{
	static const char *const ops[] = { "enable", "disable", "wrss", "nowrss", "lock" };
	int i;

	if (parse_user_task(p, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 3, 5))
		return -1;
	s->a.op = -1;
	for (i = 0; i < 5; i++)
		if (!strcmp(s->argv[2], ops[i]))
			s->a.op = i;
	if (s->a.op < 0)
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	i = parse_fails(p, s, 3);
	if (i < 0)
		return -1;
	if (i != s->argc)
		return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[i], s->verb->usage);
	return 0;
}

static int exec_shstk(struct sim_machine *m, const struct sim_stmt *s)
{
	static const struct {
		int option;
		uint64_t arg;
		const char *text;
	} ops[] = {
		{ XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK, "arch_prctl(ARCH_SHSTK_ENABLE, SHSTK)" },
		{ XK_ARCH_SHSTK_DISABLE, XK_ARCH_SHSTK_SHSTK, "arch_prctl(ARCH_SHSTK_DISABLE, SHSTK)" },
		{ XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_WRSS, "arch_prctl(ARCH_SHSTK_ENABLE, WRSS)" },
		{ XK_ARCH_SHSTK_DISABLE, XK_ARCH_SHSTK_WRSS, "arch_prctl(ARCH_SHSTK_DISABLE, WRSS)" },
		{ XK_ARCH_SHSTK_LOCK, XK_ARCH_SHSTK_SHSTK | XK_ARCH_SHSTK_WRSS,
		  "arch_prctl(ARCH_SHSTK_LOCK, SHSTK|WRSS)" },
	};
	struct sim_task *t = sim_stmt_task(m, s, 0);
	unsigned cpu;
	char what[128];
	long r;
	int rc = syscall_enter(m, t, &cpu);

	if (rc)
		return rc;
	r = xk_shstk_prctl(&m->k, cpu, ops[s->a.op].option, ops[s->a.op].arg, NULL);
	snprintf(what, sizeof(what), "cpu%u  %s %s", cpu, t->name, ops[s->a.op].text);
	rc = check_rc(m, s, (int)r, what);
	if (rc)
		return rc;
	return sim_return_to_user(m, cpu);
}

/* ---- T call [N] / T ret [N]: the CPU moves PL3_SSP ---- */

static int parse_call(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_user_task(p, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 2, 3))
		return -1;
	s->a.num[0] = 1;
	if (s->argc == 3 && sim_parse_u64(p, s->argv[2], &s->a.num[0]))
		return -1;
	if (s->a.num[0] > 1u << 20)
		return sim_parse_error(p, "%s: at most 1048576", s->argv[2]);
	return 0;
}

static int exec_call(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	bool call = !strcmp(s->verb->name, "call");
	struct xs_cpu *hw;
	uint64_t ssp, delta = 8 * s->a.num[0];
	enum xs_fault f;
	int rc = sim_ensure_user(m, t);

	if (rc)
		return rc;
	hw = sim_cpu_hw(m, (unsigned)t->k->on_cpu);
	if (!m->k.model->feat.shstk || !(m->k.xss & XS_BIT(XS_C_CET_U)) ||
	    !(hw_rdmsr(hw, XS_MSR_U_CET) & XK_CET_SHSTK_EN)) {
		sim_trace(m, SIM_TR_EVENT, "        cpu%d  %s %s x%llu (no shadow stack)", t->k->on_cpu,
			  t->name, call ? "CALL" : "RET", (unsigned long long)s->a.num[0]);
		return SIM_OK;
	}
	/* The processor pushes/pops a return address on the shadow stack: SSP
	 * moves by 8 (the model has no shadow-stack memory, so no #CP). */
	ssp = hw_rdmsr(hw, XS_MSR_PL3_SSP);
	ssp = call ? ssp - delta : ssp + delta;
	f = hw_wrmsr(hw, XS_MSR_PL3_SSP, ssp);
	if (f)
		return sim_fail(m, "kernel", "%s's shadow stack pointer 0x%llx is invalid (%s)",
				t->name, (unsigned long long)ssp, xs_cpu_fault_reason(hw));
	sim_trace(m, SIM_TR_EVENT, "        cpu%d  %s %s x%llu: SSP -> 0x%llx", t->k->on_cpu, t->name,
		  call ? "CALL" : "RET", (unsigned long long)s->a.num[0], (unsigned long long)ssp);
	return SIM_OK;
}

/* ---- shstk-regset T set VALUE [fails E] / expect shstk-regset T OP V|E ---- */

static int parse_shstk_set(struct sim_parser *p, struct sim_stmt *s)
{
	int i;

	if (sim_parse_argc(p, s, 4, 6) || parse_user_task(p, s->argv[1], &s->a.task[0]) ||
	    sim_parse_word(p, s, 2, "set") || parse_ssp_value(p, s, s->argv[3]))
		return -1;
	i = parse_fails(p, s, 4);
	if (i < 0)
		return -1;
	if (i != s->argc)
		return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[i], s->verb->usage);
	return 0;
}

static int exec_shstk_set(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	uint64_t v;
	size_t len = 8;
	char what[128];
	int rc;

	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	if ((rc = ssp_value(m, s, t, &v)))
		return rc;
	snprintf(what, sizeof(what), "ptrace SETREGSET NT_X86_SHSTK %s := 0x%llx", t->name,
		 (unsigned long long)v);
	return check_rc(m, s, xk_shstk_regset(&m->k, t->k, true, &v, &len), what);
}

static int parse_x_shstk_regset(struct sim_parser *p, struct sim_stmt *s)
{
	int rc = 0;

	if (sim_parse_argc(p, s, 5, 5) || parse_user_task(p, s->argv[2], &s->a.task[0]) ||
	    parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	s->a.num[2] = 0;
	if (s->argv[4][0] == 'E' || s->argv[4][0] == '-') {
		if (parse_errno(p, s->argv[4], &rc))
			return -1;
		s->a.num[2] = (uint64_t)(int64_t)rc;
		return 0;
	}
	return parse_ssp_value(p, s, s->argv[4]);
}

static int exec_x_shstk_regset(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	int want_rc = (int)(int64_t)s->a.num[2];
	uint64_t v = 0, want = 0;
	size_t len = 8;
	char g[64];
	int rc;

	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	rc = xk_shstk_regset(&m->k, t->k, false, &v, &len);
	if (rc || want_rc) {
		snprintf(g, sizeof(g), "%s", errno_name(rc));
		return result(m, (rc == want_rc) == (s->a.op == SIM_EQ), "NT_X86_SHSTK get:", g);
	}
	if ((rc = ssp_value(m, s, t, &want)))
		return rc;
	snprintf(g, sizeof(g), "0x%llx", (unsigned long long)v);
	return result(m, (v == want) == (s->a.op == SIM_EQ), "NT_X86_SHSTK get:", g);
}

/* ---- expect ssp T OP V|top|top-N: RDSSP by T ---- */

static int parse_x_ssp(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 5) || parse_user_task(p, s->argv[2], &s->a.task[0]) ||
	    parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	return parse_ssp_value(p, s, s->argv[4]);
}

static int exec_x_ssp(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	struct xs_cpu *hw;
	uint64_t got = 0, want = 0;
	char g[64];
	int rc = sim_ensure_user(m, t);

	if (rc || (rc = ssp_value(m, s, t, &want)))
		return rc;
	hw = sim_cpu_hw(m, (unsigned)t->k->on_cpu);
	/* RDSSP is a NOP (the destination keeps 0) without shadow stacks. */
	if (m->k.xss & XS_BIT(XS_C_CET_U) && (hw_rdmsr(hw, XS_MSR_U_CET) & XK_CET_SHSTK_EN))
		got = hw_rdmsr(hw, XS_MSR_PL3_SSP);
	snprintf(g, sizeof(g), "0x%llx", (unsigned long long)got);
	return result(m, (got == want) == (s->a.op == SIM_EQ), "SSP", g);
}

/* ---- expect uaccess T read|write PKEY ==|!= ok|EFAULT ---- */

static int parse_x_uaccess(struct sim_parser *p, struct sim_stmt *s)
{
	int rc;

	if (sim_parse_argc(p, s, 7, 7) || parse_user_task(p, s->argv[2], &s->a.task[0]))
		return -1;
	if (strcmp(s->argv[3], "read") && strcmp(s->argv[3], "write"))
		return sim_parse_error(p, "expected read or write (usage: %s)", s->verb->usage);
	s->a.flag = !strcmp(s->argv[3], "write");
	if (sim_parse_u64(p, s->argv[4], &s->a.num[0]))
		return -1;
	if (s->a.num[0] > 15)
		return sim_parse_error(p, "protection key %s: 0 to 15", s->argv[4]);
	if (parse_eq_ne(p, s->argv[5], &s->a.op) || parse_errno(p, s->argv[6], &rc))
		return -1;
	s->a.num[2] = (uint64_t)(int64_t)rc;
	return 0;
}

static int exec_x_uaccess(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	int cpu, rc;

	if (t->state == SIM_T_EXITED || !t->k || t->k->on_cpu < 0)
		return sim_error(m, "%s is not current anywhere: the kernel accesses user memory "
				 "only for the task it runs", t->name);
	cpu = t->k->on_cpu;
	if (sim_cpu_user_mode(m, (unsigned)cpu))
		return sim_error(m, "%s is in user mode on cpu%d: enter the kernel first (a switch, "
				 "'enter cpu%d')", t->name, cpu, cpu);
	rc = xk_pkru_uaccess(&m->k, (unsigned)cpu, (unsigned)s->a.num[0], s->a.flag);
	if (rc == -EINVAL)
		return sim_error(m, "cpu%d: no user task in the kernel", cpu);
	return result(m, (rc == (int)(int64_t)s->a.num[2]) == (s->a.op == SIM_EQ),
		      s->a.flag ? "copy_to_user:" : "copy_from_user:", errno_name(rc));
}

/* ---- expect thread-pkru T OP V ---- */

static int parse_x_tpkru(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 5) || parse_user_task(p, s->argv[2], &s->a.task[0]) ||
	    parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	return sim_parse_u64(p, s->argv[4], &s->a.num[0]);
}

static int exec_x_tpkru(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	char g[32];

	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	snprintf(g, sizeof(g), "0x%08x", t->k->thread.pkru);
	return result(m, (t->k->thread.pkru == s->a.num[0]) == (s->a.op == SIM_EQ),
		      "thread.pkru", g);
}

/* ---- UINTR ---- */

static int parse_uintr(struct sim_parser *p, struct sim_stmt *s)
{
	int i = 3;

	if (parse_user_task(p, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 3, 6))
		return -1;
	if (!strcmp(s->argv[2], "register")) {
		s->a.op = 0;
		s->a.num[0] = 0;
		if (i < s->argc && strcmp(s->argv[i], "fails")) {
			if (sim_parse_u64(p, s->argv[i], &s->a.num[0]))
				return -1;
			i++;
		}
	} else if (!strcmp(s->argv[2], "unregister")) {
		s->a.op = 1;
	} else {
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	}
	i = parse_fails(p, s, i);
	if (i < 0)
		return -1;
	if (i != s->argc)
		return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[i], s->verb->usage);
	return 0;
}

static int exec_uintr(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	/* A handler address of its own per task unless given. */
	uint64_t handler = s->a.num[0] ? s->a.num[0] : 0x401000ULL + 0x100ULL * t->id;
	char what[128];
	unsigned cpu;
	int rc = syscall_enter(m, t, &cpu);

	if (rc)
		return rc;
	if (s->a.op == 0) {
		snprintf(what, sizeof(what), "cpu%u  %s uintr_register_handler(0x%llx)", cpu, t->name,
			 (unsigned long long)handler);
		rc = check_rc(m, s, xk_uintr_register(&m->k, cpu, handler), what);
	} else {
		snprintf(what, sizeof(what), "cpu%u  %s uintr_unregister_handler()", cpu, t->name);
		rc = check_rc(m, s, xk_uintr_unregister(&m->k, cpu), what);
	}
	return rc ? rc : sim_return_to_user(m, cpu);
}

static int parse_senduipi(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_user_task(p, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 3, 4) ||
	    parse_user_task(p, s->argv[2], &s->a.task[1]))
		return -1;
	s->a.num[0] = 0;
	if (s->argc == 4 && sim_parse_u64(p, s->argv[3], &s->a.num[0]))
		return -1;
	if (s->a.num[0] > 63)
		return sim_parse_error(p, "vector %s: 0 to 63", s->argv[3]);
	return 0;
}

static int exec_senduipi(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0), *r = sim_stmt_task(m, s, 1);
	int rc = sim_ensure_user(m, t);

	if (rc)
		return rc;
	if (r->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", r->name);
	if (!xk_uintr_of(r->k))
		return sim_error(m, "%s registered no user-interrupt handler", r->name);
	rc = xk_uintr_senduipi(&m->k, r->k, (unsigned)s->a.num[0]);
	sim_trace(m, SIM_TR_EVENT, "        cpu%d  %s SENDUIPI -> %s vector %llu: %s", t->k->on_cpu,
		  t->name, r->name, (unsigned long long)s->a.num[0],
		  rc == 1 ? "notification IPI sent" : "posted only (SN or ON set)");
	return SIM_OK;
}

static int parse_run(struct sim_parser *p, struct sim_stmt *s)
{
	return parse_user_task(p, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 2, 2) ? -1 : 0;
}

static int exec_run(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_ensure_user(m, sim_stmt_task(m, s, 0));
}

static const char *const uintr_fields[] = { "delivered", "posted", "spurious", "misdelivered",
					    "notifications", "pir" };

static int parse_x_uintr(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 6, 6) || parse_user_task(p, s->argv[2], &s->a.task[0]))
		return -1;
	s->a.num[1] = 99;
	for (unsigned i = 0; i < 6; i++)
		if (!strcmp(s->argv[3], uintr_fields[i]))
			s->a.num[1] = i;
	if (s->a.num[1] == 99)
		return sim_parse_error(p, "'%s': delivered posted spurious misdelivered notifications "
				       "pir", s->argv[3]);
	return sim_parse_cmp(p, s->argv[4], &s->a.op) || sim_parse_u64(p, s->argv[5], &s->a.num[0]);
}

static int exec_x_uintr(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	const struct xk_uintr *u = t->state == SIM_T_EXITED ? NULL : xk_uintr_of(t->k);
	uint64_t got;
	char what[64], g[32];

	if (!u)
		return sim_error(m, "%s is no registered receiver", t->name);
	switch (s->a.num[1]) {
	case 0: got = u->delivered; break;
	case 1: got = u->posted; break;
	case 2: got = u->spurious; break;
	case 3: got = u->misdelivered; break;
	case 4: got = u->notifications; break;
	default: got = u->upid.pir; break;
	}
	snprintf(what, sizeof(what), "%s %s:", t->name, uintr_fields[s->a.num[1]]);
	snprintf(g, sizeof(g), s->a.num[1] == 5 ? "0x%llx" : "%llu", (unsigned long long)got);
	if (sim_cmp_u64(got, s->a.op, s->a.num[0]))
		return result(m, true, what, g);
	return sim_fail(m, "expect", "expectation failed: %s %s, expected %s %llu", what, g,
			sim_cmp_name(s->a.op), (unsigned long long)s->a.num[0]);
}

/* ---- perf lbr T [ctl=V] | perf lbr T off ---- */

static int parse_perf(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 3, 4) || sim_parse_word(p, s, 1, "lbr"))
		return -1;
	s->a.cpu[0] = -1;
	if (!strncmp(s->argv[2], "cpu", 3)) {
		if (sim_parse_cpu(p, s->argv[2], &s->a.cpu[0]))
			return -1;
	} else if (parse_user_task(p, s->argv[2], &s->a.task[0])) {
		return -1;
	}
	s->a.op = 0;
	s->a.num[0] = XK_LBR_CTL_CALLSTACK;
	if (s->argc == 4) {
		if (!strcmp(s->argv[3], "off"))
			s->a.op = 1;
		else if (!strncmp(s->argv[3], "ctl=", 4))
			return sim_parse_u64(p, s->argv[3] + 4, &s->a.num[0]);
		else
			return sim_parse_error(p, "usage: %s", s->verb->usage);
	}
	return 0;
}

static int exec_perf(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t;
	int rc;

	if (s->a.cpu[0] >= 0) {
		rc = xk_perf_lbr_cpu(&m->k, (unsigned)s->a.cpu[0], s->a.op ? 0 : s->a.num[0]);
		if (rc)
			return sim_error(m, "perf lbr cpu%d: %s", s->a.cpu[0], errno_name(rc));
		sim_trace(m, SIM_TR_EVENT, "        perf: CPU-wide LBR event on cpu%d %s", s->a.cpu[0],
			  s->a.op ? "stopped" : "started");
		return SIM_OK;
	}
	t = sim_stmt_task(m, s, 0);
	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	rc = s->a.op ? xk_perf_lbr_detach(&m->k, t->k)
		     : xk_perf_lbr_attach(&m->k, t->k, s->a.num[0]);
	if (rc)
		return sim_error(m, "perf lbr %s: %s", t->name, errno_name(rc));
	sim_trace(m, SIM_TR_EVENT, "        perf: LBR call-stack event %s %s", s->a.op ? "removed from"
		  : "attached to", t->name);
	return SIM_OK;
}

/* ---- T branch FROM TO: the CPU records a taken branch ---- */

#define LBR_SINGLETONS 40u
#define LBR_RECORD 24u

static _Thread_local _Alignas(64) uint8_t lbr_image[4096];

static int parse_branch(struct sim_parser *p, struct sim_stmt *s)
{
	return parse_user_task(p, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 4, 4) ||
	       sim_parse_u64(p, s->argv[2], &s->a.num[0]) ||
	       sim_parse_u64(p, s->argv[3], &s->a.num[1]) ? -1 : 0;
}

static int exec_branch(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	const struct xs_model *mod = m->model;
	uint32_t size, comp = mod->comp[XS_C_LBR].size;
	uint64_t ctl, depth, bv = XS_BIT(XS_C_LBR);
	struct xs_cpu *hw;
	uint8_t *a, *lbr;
	int cpl, rc = sim_ensure_user(m, t);

	if (rc)
		return rc;
	hw = sim_cpu_hw(m, (unsigned)t->k->on_cpu);
	if (!(m->k.xss & bv) || comp < LBR_SINGLETONS + LBR_RECORD)
		return sim_error(m, "this machine has no arch LBR enabled");
	ctl = hw_rdmsr(hw, XS_MSR_LBR_CTL);
	/* LBREn and USR: user-mode branches are recorded. */
	if ((ctl & 5) != 5) {
		sim_trace(m, SIM_TR_EVENT, "        cpu%d  %s branch 0x%llx -> 0x%llx (LBR off)",
			  t->k->on_cpu, t->name, (unsigned long long)s->a.num[0],
			  (unsigned long long)s->a.num[1]);
		return SIM_OK;
	}
	/* The model has no branch engine: build an image of LBR from the
	 * registers as they are (an observer read), shift the records, put
	 * the new one first and XRSTORS it -- what the hardware's recording
	 * amounts to. The image lives in memory that is never freed: XRSTORS
	 * leaves its address in XRSTOR_INFO, and a kernel buffer later
	 * allocated at a freed address would let a kernel XSAVES skip LBR
	 * as "unmodified" (the modified optimization, SDM 13.11). */
	size = xs_size_compacted(mod, bv);
	if (size > sizeof(lbr_image))
		return sim_error(m, "LBR component too large");
	a = lbr_image;
	memset(a, 0, size);
	lbr = a + XS_EXT_OFFSET;
	memcpy(lbr, xs_comp_regs(hw, XS_C_LBR), comp);
	memcpy(&depth, lbr + 8, 8);
	if (depth >= 1 && LBR_SINGLETONS + depth * LBR_RECORD <= comp) {
		uint64_t xcomp = bv | XS_COMPACTED_BIT;

		memmove(lbr + LBR_SINGLETONS + LBR_RECORD, lbr + LBR_SINGLETONS,
			(depth - 1) * LBR_RECORD);
		memcpy(lbr + LBR_SINGLETONS, &s->a.num[0], 8);
		memcpy(lbr + LBR_SINGLETONS + 8, &s->a.num[1], 8);
		memset(lbr + LBR_SINGLETONS + 16, 0, 8);
		memcpy(a + XS_HDR_OFFSET, &bv, 8);
		memcpy(a + XS_HDR_OFFSET + 8, &xcomp, 8);
		cpl = xs_cpl(hw);
		xs_set_cpl(hw, 0);
		xs_xrstors(hw, a, size, bv);
		xs_set_cpl(hw, cpl);
	}
	sim_trace(m, SIM_TR_EVENT, "        cpu%d  %s branch 0x%llx -> 0x%llx recorded in LBR",
		  t->k->on_cpu, t->name, (unsigned long long)s->a.num[0],
		  (unsigned long long)s->a.num[1]);
	return SIM_OK;
}

static const char *const lbr_fields[] = { "ctl", "depth", "from0", "to0", "from1", "to1",
					  "records" };

static int parse_x_lbr(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 6, 6) || sim_parse_cpu(p, s->argv[2], &s->a.cpu[0]))
		return -1;
	s->a.num[1] = 99;
	for (unsigned i = 0; i < 7; i++)
		if (!strcmp(s->argv[3], lbr_fields[i]))
			s->a.num[1] = i;
	if (s->a.num[1] == 99)
		return sim_parse_error(p, "'%s': ctl depth from0 to0 from1 to1 records", s->argv[3]);
	return sim_parse_cmp(p, s->argv[4], &s->a.op) || sim_parse_u64(p, s->argv[5], &s->a.num[0]);
}

static int exec_x_lbr(struct sim_machine *m, const struct sim_stmt *s)
{
	const uint8_t *r = xs_comp_regs(sim_cpu_hw(m, (unsigned)s->a.cpu[0]), XS_C_LBR);
	uint32_t comp = m->model->comp[XS_C_LBR].size;
	static const unsigned off[6] = { 0, 8, 40, 48, 64, 72 };
	uint64_t got = 0, depth;
	char what[64], g[32];

	if (!r || comp < LBR_SINGLETONS + 2 * LBR_RECORD)
		return sim_error(m, "this CPU model has no arch LBR");
	if (s->a.num[1] < 6) {
		memcpy(&got, r + off[s->a.num[1]], 8);
	} else {
		memcpy(&depth, r + 8, 8);
		for (uint64_t i = 0; i < depth && LBR_SINGLETONS + (i + 1) * LBR_RECORD <= comp; i++) {
			uint64_t from;

			memcpy(&from, r + LBR_SINGLETONS + i * LBR_RECORD, 8);
			got += from != 0;
		}
	}
	snprintf(what, sizeof(what), "cpu%d LBR %s:", s->a.cpu[0], lbr_fields[s->a.num[1]]);
	snprintf(g, sizeof(g), s->a.num[1] < 6 ? "0x%llx" : "%llu", (unsigned long long)got);
	if (sim_cmp_u64(got, s->a.op, s->a.num[0]))
		return result(m, true, what, g);
	return sim_fail(m, "expect", "expectation failed: %s %s, expected %s 0x%llx", what, g,
			sim_cmp_name(s->a.op), (unsigned long long)s->a.num[0]);
}

/* ---- expect hw cpuN REG OP VALUE ---- */

static int parse_x_hw(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 6, 6) || sim_parse_cpu(p, s->argv[2], &s->a.cpu[0]) ||
	    sim_parse_reg(p, s->argv[3], &s->a.reg) || parse_eq_ne(p, s->argv[4], &s->a.op))
		return -1;
	return sim_parse_value(p, s->argv[5], s->a.reg.size, &s->a.val);
}

static int exec_x_hw(struct sim_machine *m, const struct sim_stmt *s)
{
	uint8_t got[8192];
	char what[64], g[160], d[200];
	bool eq;

	if (s->a.reg.size > sizeof(got))
		return sim_error(m, "register too large");
	xs_reg_peek(sim_cpu_hw(m, (unsigned)s->a.cpu[0]), &s->a.reg, got);
	eq = !memcmp(got, s->a.val, s->a.reg.size);
	sim_format_value(g, sizeof(g), got, s->a.reg.size);
	snprintf(what, sizeof(what), "cpu%d %s =", s->a.cpu[0], s->a.reg.name);
	if (eq == (s->a.op == SIM_EQ))
		return result(m, true, what, g);
	if (s->a.op == SIM_EQ) {
		sim_format_diff(d, sizeof(d), got, s->a.val, s->a.reg.size, 0);
		return sim_fail(m, "expect", "expectation failed: %s %s (%s)", what, g, d);
	}
	return sim_fail(m, "expect", "expectation failed: %s %s", what, g);
}

/* ---- kernel scratch buffers: kbuf / kinsn / expect kbuf ---- */

/* The declaring statement's data. Referencing statements keep a plain
 * pointer to it in a.num[2] (it lives as long as the parsed scenario).
 * The bytes are zeroed each time the declaration runs. */
struct kbuf {
	char name[SIM_NAME_MAX];
	uint32_t size;
	enum xs_fault last;      /* result of the last kinsn on it */
	const char *reason;      /* why it faulted (static storage of the CPU) */
	char why[200];
	_Alignas(64) uint8_t bytes[];
};

#define KBUF_DEFAULT 16384u

static struct kbuf *find_kbuf(struct sim_parser *p, const char *name)
{
	for (unsigned i = 0; i < p->sc->nstmts; i++) {
		const struct sim_stmt *d = &p->sc->stmts[i];
		struct kbuf *b = d->a.ext;

		if (!strcmp(d->verb->name, "kbuf") && d->argc <= 3 && b && !strcmp(b->name, name))
			return b;
	}
	return NULL;
}

static int parse_kbuf_ref(struct sim_parser *p, struct sim_stmt *s, const char *name)
{
	struct kbuf *b = find_kbuf(p, name);

	if (!b)
		return sim_parse_error(p, "no kernel buffer '%s' (declare it with 'kbuf %s')", name,
				       name);
	s->a.num[2] = (uint64_t)(uintptr_t)b;
	return 0;
}

static struct kbuf *kbuf_of(const struct sim_stmt *s)
{
	return (struct kbuf *)(uintptr_t)s->a.num[2];
}

static int parse_kbuf(struct sim_parser *p, struct sim_stmt *s)
{
	struct kbuf *b;
	uint64_t size = KBUF_DEFAULT;

	if (sim_parse_argc(p, s, 2, 5))
		return -1;
	if (s->argc == 5) {
		/* kbuf B xstate_bv|xcomp_bv =||=|&= MASK */
		if (parse_kbuf_ref(p, s, s->argv[1]))
			return -1;
		if (strcmp(s->argv[2], "xstate_bv") && strcmp(s->argv[2], "xcomp_bv"))
			return sim_parse_error(p, "'%s': xstate_bv or xcomp_bv", s->argv[2]);
		s->a.num[1] = !strcmp(s->argv[2], "xcomp_bv") ? 8 : 0;
		if (!strcmp(s->argv[3], "="))
			s->a.op = 0;
		else if (!strcmp(s->argv[3], "|="))
			s->a.op = 1;
		else if (!strcmp(s->argv[3], "&="))
			s->a.op = 2;
		else
			return sim_parse_error(p, "'%s': =, |= or &=", s->argv[3]);
		/* Numbers as given: bit 63 of XCOMP_BV is a number, not a name. */
		if (sim_parse_mask(p, s->argv[4], &s->a.mask))
			return -1;
		return 0;
	}
	if (s->argc == 4)
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	if (find_kbuf(p, s->argv[1]))
		return sim_parse_error(p, "kernel buffer '%s' declared twice", s->argv[1]);
	if (strlen(s->argv[1]) >= SIM_NAME_MAX)
		return sim_parse_error(p, "name '%s' too long", s->argv[1]);
	if (s->argc == 3 && sim_parse_u64(p, s->argv[2], &size))
		return -1;
	if (size < XS_EXT_OFFSET || size > 1u << 20)
		return sim_parse_error(p, "size %llu: %u to 1048576 bytes", (unsigned long long)size,
				       XS_EXT_OFFSET);
	b = aligned_alloc(64, (sizeof(*b) + size + 63) & ~(size_t)63);
	if (!b)
		return sim_parse_error(p, "out of memory");
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", s->argv[1]);
	b->size = (uint32_t)size;
	s->a.ext = b;
	return 0;
}

static int exec_kbuf(struct sim_machine *m, const struct sim_stmt *s)
{
	struct kbuf *b;
	uint64_t v;

	if (s->argc <= 3) {
		b = s->a.ext;
		memset(b->bytes, 0, b->size);
		b->last = XS_OK;
		b->why[0] = '\0';
		return SIM_OK;
	}
	b = kbuf_of(s);
	memcpy(&v, b->bytes + XS_HDR_OFFSET + s->a.num[1], 8);
	v = s->a.op == 0 ? s->a.mask : s->a.op == 1 ? v | s->a.mask : v & s->a.mask;
	memcpy(b->bytes + XS_HDR_OFFSET + s->a.num[1], &v, 8);
	sim_trace(m, SIM_TR_EVENT, "        kernel: %s.%s := 0x%llx", b->name, s->argv[2],
		  (unsigned long long)v);
	return SIM_OK;
}

static const char *const insns[] = { "xsaves", "xsavec", "xsave", "xsaveopt", "xrstors", "xrstor" };

static int parse_kinsn(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 5) || sim_parse_cpu(p, s->argv[1], &s->a.cpu[0]))
		return -1;
	s->a.op = -1;
	for (int i = 0; i < 6; i++)
		if (!strcmp(s->argv[2], insns[i]))
			s->a.op = i;
	if (s->a.op < 0)
		return sim_parse_error(p, "'%s': xsaves xsavec xsave xsaveopt xrstors xrstor",
				       s->argv[2]);
	return parse_kbuf_ref(p, s, s->argv[3]) || sim_parse_mask(p, s->argv[4], &s->a.mask);
}

static int exec_kinsn(struct sim_machine *m, const struct sim_stmt *s)
{
	unsigned cpu = (unsigned)s->a.cpu[0];
	const struct xk_cpu *c = &m->k.cpu[cpu];
	struct xs_cpu *hw = c->hw;
	struct kbuf *b = kbuf_of(s);
	bool restore = s->a.op >= 4;
	enum xs_fault f;
	char mb[200];

	if (c->user_mode)
		return sim_error(m, "cpu%u is in user mode: kernel instructions need the kernel", cpu);
	/* A restore changes the registers: only where they are the kernel's. */
	if (restore && c->kernel_fpu_allowed)
		return sim_error(m, "cpu%u: %s would overwrite registers the kernel tracks as some "
				 "task's; do it inside a kernel FPU section ('kfpu cpu%u begin "
				 "noclobber')", cpu, insns[s->a.op], cpu);
	switch (s->a.op) {
	case 0: f = xs_xsaves(hw, b->bytes, b->size, s->a.mask); break;
	case 1: f = xs_xsavec(hw, b->bytes, b->size, s->a.mask); break;
	case 2: f = xs_xsave(hw, b->bytes, b->size, s->a.mask); break;
	case 3: f = xs_xsaveopt(hw, b->bytes, b->size, s->a.mask); break;
	case 4: f = xs_xrstors(hw, b->bytes, b->size, s->a.mask); break;
	default: f = xs_xrstor(hw, b->bytes, b->size, s->a.mask); break;
	}
	b->last = f;
	snprintf(b->why, sizeof(b->why), "%s", f ? xs_cpu_fault_reason(hw) : "");
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  kernel %s %s rfbm=%s%s%s%s", cpu, insns[s->a.op],
		  b->name, xs_mask_names(s->a.mask, mb, sizeof(mb)), f ? " -> " : "",
		  f ? xs_fault_name(f) : "", f ? b->why : "");
	return SIM_OK;
}

/* expect kbuf B xstate_bv|xcomp_bv [& MASK] OP MASK | fault OP #GP|none | REG OP VALUE */
static int parse_x_kbuf(struct sim_parser *p, struct sim_stmt *s)
{
	const char *f;
	int i = 4;

	if (sim_parse_argc(p, s, 6, 8) || parse_kbuf_ref(p, s, s->argv[2]))
		return -1;
	f = s->argv[3];
	s->a.mask = ~0ULL;
	if (!strcmp(f, "xstate_bv") || !strcmp(f, "xcomp_bv")) {
		s->a.num[1] = !strcmp(f, "xcomp_bv") ? 1 : 0;
		if (s->argc == 8 && !strcmp(s->argv[4], "&")) {
			if (sim_parse_mask(p, s->argv[5], &s->a.mask))
				return -1;
			i = 6;
		} else if (s->argc != 6) {
			return sim_parse_error(p, "usage: %s", s->verb->usage);
		}
		return parse_eq_ne(p, s->argv[i], &s->a.op) ||
		       sim_parse_mask(p, s->argv[i + 1], &s->a.num[0]);
	}
	if (s->argc != 6)
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	if (!strcmp(f, "fault")) {
		enum xs_fault fl;

		s->a.num[1] = 2;
		if (parse_eq_ne(p, s->argv[4], &s->a.op) || sim_parse_fault(p, s->argv[5], &fl))
			return -1;
		s->a.num[0] = fl;
		return 0;
	}
	s->a.num[1] = 3;
	if (sim_parse_reg(p, f, &s->a.reg) || parse_eq_ne(p, s->argv[4], &s->a.op))
		return -1;
	return sim_parse_value(p, s->argv[5], s->a.reg.size, &s->a.val);
}

/* A register's bytes as the buffer holds them: compacted layout from the
 * buffer's own XCOMP_BV, standard offsets otherwise. */
static int kbuf_reg(struct sim_machine *m, const struct kbuf *b, const struct xs_reg *r,
		    uint8_t *out)
{
	uint64_t xcomp;
	struct xs_layout lay;

	memcpy(&xcomp, b->bytes + XS_HDR_OFFSET + 8, 8);
	if (xcomp & XS_COMPACTED_BIT)
		xs_layout_compacted(m->model, xcomp, &lay);
	for (unsigned i = 0; i < r->nparts; i++) {
		unsigned comp = r->part[i].comp;
		uint32_t off;

		if (comp < 2)
			off = r->part[i].off; /* legacy region: fixed */
		else if (xcomp & XS_COMPACTED_BIT) {
			if (!(lay.mask & XS_BIT(comp)))
				return sim_error(m, "%s: XCOMP_BV 0x%llx has no %s", b->name,
						 (unsigned long long)xcomp, xs_comp_name(comp));
			off = lay.offset[comp] + r->part[i].off;
		} else {
			off = m->model->comp[comp].offset + r->part[i].off;
		}
		if (off + r->part[i].len > b->size)
			return sim_error(m, "%s: %s lies beyond the buffer", b->name, r->name);
		memcpy(out, b->bytes + off, r->part[i].len);
		out += r->part[i].len;
	}
	return SIM_OK;
}

static int exec_x_kbuf(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct kbuf *b = kbuf_of(s);
	char what[64], g[320];
	uint8_t got[8192];
	uint64_t v;
	int rc;

	if (s->a.num[1] <= 1) {
		memcpy(&v, b->bytes + XS_HDR_OFFSET + 8 * s->a.num[1], 8);
		v &= s->a.mask;
		snprintf(what, sizeof(what), "%s.%s", b->name, s->a.num[1] ? "xcomp_bv" : "xstate_bv");
		if (!v)
			snprintf(g, sizeof(g), "0");
		else
			xs_mask_names(v, g, sizeof(g));
		return result(m, (v == s->a.num[0]) == (s->a.op == SIM_EQ), what, g);
	}
	if (s->a.num[1] == 2) {
		snprintf(what, sizeof(what), "last instruction on %s:", b->name);
		snprintf(g, sizeof(g), "%s%s%s", b->last ? xs_fault_name(b->last) : "none",
			 b->last ? " " : "", b->why);
		return result(m, ((uint64_t)b->last == s->a.num[0]) == (s->a.op == SIM_EQ), what, g);
	}
	if (s->a.reg.size > sizeof(got))
		return sim_error(m, "register too large");
	if ((rc = kbuf_reg(m, b, &s->a.reg, got)))
		return rc;
	sim_format_value(g, sizeof(g), got, s->a.reg.size);
	snprintf(what, sizeof(what), "%s %s =", b->name, s->a.reg.name);
	return result(m, !memcmp(got, s->a.val, s->a.reg.size) == (s->a.op == SIM_EQ), what, g);
}

/* ---- expect config NAME [& MASK] OP VALUE ---- */

static const char *const cfg_names[] = {
	"default-size", "max-size", "guest-size", "user-default-size", "user-max-size",
	"default", "max", "guest", "independent", "restore", "xss", "xcr0", "user-default",
};
#define CFG_NSIZES 5

static int parse_x_config(struct sim_parser *p, struct sim_stmt *s)
{
	int i = 4;

	if (sim_parse_argc(p, s, 5, 7))
		return -1;
	s->a.num[1] = 99;
	for (unsigned k = 0; k < sizeof(cfg_names) / sizeof(cfg_names[0]); k++)
		if (!strcmp(s->argv[2], cfg_names[k]))
			s->a.num[1] = k;
	if (s->a.num[1] == 99)
		return sim_parse_error(p, "'%s': default-size max-size guest-size user-default-size "
				       "user-max-size default max guest independent restore xss xcr0 "
				       "user-default", s->argv[2]);
	s->a.mask = ~0ULL;
	if (s->a.num[1] < CFG_NSIZES) {
		if (s->argc != 5)
			return sim_parse_error(p, "usage: %s", s->verb->usage);
		return sim_parse_cmp(p, s->argv[3], &s->a.op) ||
		       sim_parse_u64(p, s->argv[4], &s->a.num[0]);
	}
	if (s->argc == 7 && !strcmp(s->argv[3], "&")) {
		if (sim_parse_mask(p, s->argv[4], &s->a.mask))
			return -1;
		i = 6;
	} else if (s->argc != 5) {
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	} else {
		i = 4;
	}
	return parse_eq_ne(p, s->argv[i - 1], &s->a.op) || sim_parse_mask(p, s->argv[i], &s->a.num[0]);
}

static int exec_x_config(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct xk_kernel *k = &m->k;
	uint64_t v;
	char g[200];

	switch (s->a.num[1]) {
	case 0: v = k->kcfg.default_size; break;
	case 1: v = k->kcfg.max_size; break;
	case 2: v = k->gcfg.size; break;
	case 3: v = k->ucfg.default_size; break;
	case 4: v = k->ucfg.max_size; break;
	case 5: v = k->kcfg.default_features; break;
	case 6: v = k->kcfg.max_features; break;
	case 7: v = k->gcfg.features; break;
	case 8: v = k->kcfg.independent_features; break;
	case 9: v = k->restore_mask; break;
	case 10: v = k->xss; break;
	case 11: v = k->xcr0; break;
	default: v = k->ucfg.default_features; break;
	}
	if (s->a.num[1] < CFG_NSIZES) {
		snprintf(g, sizeof(g), "%llu", (unsigned long long)v);
		if (sim_cmp_u64(v, s->a.op, s->a.num[0]))
			return result(m, true, cfg_names[s->a.num[1]], g);
		return sim_fail(m, "expect", "expectation failed: %s is %s, expected %s %llu",
				cfg_names[s->a.num[1]], g, sim_cmp_name(s->a.op),
				(unsigned long long)s->a.num[0]);
	}
	v &= s->a.mask;
	if (!v)
		snprintf(g, sizeof(g), "0");
	else
		xs_mask_names(v, g, sizeof(g));
	return result(m, (v == s->a.num[0]) == (s->a.op == SIM_EQ), cfg_names[s->a.num[1]], g);
}

/* ---- expect class COMP ==|!= CLASS ---- */

static int parse_x_class(struct sim_parser *p, struct sim_stmt *s)
{
	static const char *const names[] = { "user", "user-dynamic", "user-affects-kernel",
					      "supervisor-affects-user", "supervisor-affects-kernel",
					      "independent", "unsupported", "-" };
	static const enum xk_xclass vals[] = { XK_XC_USER, XK_XC_USER_DYNAMIC,
					       XK_XC_USER_AFFECTS_KERNEL, XK_XC_SUPERVISOR_USER,
					       XK_XC_SUPERVISOR_KERNEL, XK_XC_INDEPENDENT,
					       XK_XC_UNSUPPORTED, XK_XC_ABSENT };

	if (sim_parse_argc(p, s, 5, 5) || parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	/* Any component, supervisor ones included. */
	s->a.comp = xs_comp_lookup(s->argv[2]);
	if (s->a.comp < 0 || s->a.comp >= 63)
		return sim_parse_error(p, "'%s' is not a state component", s->argv[2]);
	for (unsigned i = 0; i < 8; i++)
		if (!strcmp(s->argv[4], names[i])) {
			s->a.num[0] = vals[i];
			return 0;
		}
	return sim_parse_error(p, "'%s': user user-dynamic user-affects-kernel "
			       "supervisor-affects-user supervisor-affects-kernel independent "
			       "unsupported", s->argv[4]);
}

static int exec_x_class(struct sim_machine *m, const struct sim_stmt *s)
{
	enum xk_xclass c = xk_xclass_of(&m->k, (unsigned)s->a.comp);
	char what[64], g[200];

	snprintf(what, sizeof(what), "%s is", xs_comp_name((unsigned)s->a.comp));
	snprintf(g, sizeof(g), "%s (%s)", xk_xclass_name(c), xk_xclass_handling(&m->k,
		 (unsigned)s->a.comp));
	return result(m, ((uint64_t)c == s->a.num[0]) == (s->a.op == SIM_EQ), what, g);
}

/* ---- expect kstat NAME OP N ---- */

static const char *const kstat_names[] = { "pkru-writes", "indep-saves", "indep-restores",
					   "uintr-spurious", "warnings", "saves", "restores" };

static int parse_x_kstat(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 5))
		return -1;
	s->a.num[1] = 99;
	for (unsigned i = 0; i < 7; i++)
		if (!strcmp(s->argv[2], kstat_names[i]))
			s->a.num[1] = i;
	if (s->a.num[1] == 99)
		return sim_parse_error(p, "'%s': pkru-writes indep-saves indep-restores "
				       "uintr-spurious warnings saves restores", s->argv[2]);
	return sim_parse_cmp(p, s->argv[3], &s->a.op) || sim_parse_u64(p, s->argv[4], &s->a.num[0]);
}

static int exec_x_kstat(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct xk_stats *st = &m->k.stats;
	const uint64_t v[7] = { st->pkru_writes, st->indep_saves, st->indep_restores,
				st->uintr_spurious, st->warnings, st->saves, st->restores };
	uint64_t got = v[s->a.num[1]];
	char g[32];

	snprintf(g, sizeof(g), "%llu", (unsigned long long)got);
	if (sim_cmp_u64(got, s->a.op, s->a.num[0]))
		return result(m, true, kstat_names[s->a.num[1]], g);
	return sim_fail(m, "expect", "expectation failed: kernel %s is %s, expected %s %llu",
			kstat_names[s->a.num[1]], g, sim_cmp_name(s->a.op),
			(unsigned long long)s->a.num[0]);
}

static const struct sim_verb verbs[] = {
	{ "shstk", SIM_VERB_TASK, "T shstk enable|disable|wrss|nowrss|lock [fails ERRNO|any]",
	  parse_shstk, exec_shstk },
	{ "call", SIM_VERB_TASK, "T call [N]", parse_call, exec_call },
	{ "ret", SIM_VERB_TASK, "T ret [N]", parse_call, exec_call },
	{ "shstk-regset", SIM_VERB_STMT, "shstk-regset T set VALUE|top|top-N [fails ERRNO|any]",
	  parse_shstk_set, exec_shstk_set },
	{ "uintr", SIM_VERB_TASK, "T uintr register [HANDLER] | T uintr unregister [fails ERRNO|any]",
	  parse_uintr, exec_uintr },
	{ "senduipi", SIM_VERB_TASK, "T senduipi R [VECTOR]", parse_senduipi, exec_senduipi },
	{ "run", SIM_VERB_TASK, "T run", parse_run, exec_run },
	{ "perf", SIM_VERB_STMT, "perf lbr T|cpuN [ctl=V] | perf lbr T|cpuN off", parse_perf,
	  exec_perf },
	{ "branch", SIM_VERB_TASK, "T branch FROM TO", parse_branch, exec_branch },
	{ "kbuf", SIM_VERB_STMT, "kbuf B [SIZE] | kbuf B xstate_bv|xcomp_bv =|'|='|'&=' MASK",
	  parse_kbuf, exec_kbuf },
	{ "kinsn", SIM_VERB_STMT, "kinsn cpuN xsaves|xsavec|xsave|xsaveopt|xrstors|xrstor B MASK",
	  parse_kinsn, exec_kinsn },

	{ "uaccess", SIM_VERB_EXPECT, "expect uaccess T read|write PKEY ==|!= ok|EFAULT",
	  parse_x_uaccess, exec_x_uaccess },
	{ "thread-pkru", SIM_VERB_EXPECT, "expect thread-pkru T ==|!= VALUE", parse_x_tpkru,
	  exec_x_tpkru },
	{ "ssp", SIM_VERB_EXPECT, "expect ssp T ==|!= VALUE|top|top-N", parse_x_ssp, exec_x_ssp },
	{ "shstk-regset", SIM_VERB_EXPECT, "expect shstk-regset T ==|!= VALUE|top-N|ERRNO",
	  parse_x_shstk_regset, exec_x_shstk_regset },
	{ "uintr", SIM_VERB_EXPECT,
	  "expect uintr T delivered|posted|spurious|misdelivered|notifications|pir OP N",
	  parse_x_uintr, exec_x_uintr },
	{ "hw", SIM_VERB_EXPECT, "expect hw cpuN REG ==|!= VALUE", parse_x_hw, exec_x_hw },
	{ "lbr", SIM_VERB_EXPECT, "expect lbr cpuN ctl|depth|from0|to0|from1|to1|records OP V",
	  parse_x_lbr, exec_x_lbr },
	{ "kbuf", SIM_VERB_EXPECT,
	  "expect kbuf B xstate_bv|xcomp_bv [& MASK] ==|!= MASK | expect kbuf B fault ==|!= "
	  "#GP|none | expect kbuf B REG ==|!= VALUE", parse_x_kbuf, exec_x_kbuf },
	{ "config", SIM_VERB_EXPECT, "expect config NAME [& MASK] OP VALUE", parse_x_config,
	  exec_x_config },
	{ "class", SIM_VERB_EXPECT, "expect class COMP ==|!= CLASS", parse_x_class, exec_x_class },
	{ "kstat", SIM_VERB_EXPECT, "expect kstat NAME OP N", parse_x_kstat, exec_x_kstat },
};

const struct sim_verb_set sim_verbs_special = { "special", verbs,
						 sizeof(verbs) / sizeof(verbs[0]) };
