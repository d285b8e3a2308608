/* Scenario verbs for FS/GS bases (kernel_fsgs.h, seed 002) and the "fsgs"
 * check.
 *
 * User code: `T wrfsbase V`, `T wrgsbase V`, `T rdfsbase`, `T rdgsbase`,
 * `T mov fs|gs = SEL` run on the CPU (faults go to the kernel's handler)
 * and on the task's shadow, whose segment state is part of its model CPU.
 * System calls: `T set_thread_area ENTRY|-1 BASE|empty`,
 * `T modify_ldt ENTRY BASE|empty`; ARCH_SET/GET_FS/GS go through the user
 * ABI's `T arch_prctl` verb. A tracer: `pokeuser T FIELD = V` and
 * `ptrace-regs T [base-first|selector-first]` (read the four USER fields,
 * write them back in that order) on a stopped (switched-out) task.
 * Expectations: `expect seg T fs|gs|fsbase|gsbase OP V` (what the CPU holds
 * while T runs in user mode: the base its memory accesses use),
 * `expect peek T fs_base|gs_base|fs|gs OP V` (PTRACE_PEEKUSER), `expect
 * result T OP 0|ENAME` (the last of the calls above). Both value
 * expectations take a trailing `if NAME=VALUE`: they apply only under that
 * policy, so one file states the answer of each policy side by side.
 *
 * The check (after every step, with the shadow check). What the shadow
 * must hold follows each policy's own rule:
 *   fsgs=linux with FSGSBASE: selector and base exactly as the task's own
 *     instructions and the ABI calls left them (invariant 29); a selector
 *     whose descriptor vanished becomes 0 at the next switch-in;
 *   fsgs=lutomirski2016: the same, except that every switch-in reloads a
 *     nonzero selector from its descriptor in memory (the proposal);
 *   fsgs=linux without FSGSBASE: no exact rule (the legacy paths keep a
 *     stale saved base for selector 0), only the leak check.
 * Leak check (every policy): a task never runs with the kernel's per-CPU
 * GS base, and never with a base that only other processes wrote.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"
#include "xstate/kernel_fsgs.h"
#include "xstate/segment.h"

/* A base value and the processes that put it in a register or descriptor. */
struct fsgs_val {
	uint64_t value;
	uint64_t procs;   /* bit i: process id i (< 64) */
	bool high;        /* a process with id >= 64 did */
};

struct sim_fsgs {
	int *rc;          /* last result per task id - 1 */
	bool *have_rc;
	unsigned nt;
	struct fsgs_val *v;
	unsigned nv, cap;
};

static struct sim_fsgs *st(struct sim_machine *m)
{
	if (!m->fsgs)
		m->fsgs = calloc(1, sizeof(*m->fsgs));
	return m->fsgs;
}

void sim_fsgs_free(struct sim_machine *m)
{
	if (!m->fsgs)
		return;
	free(m->fsgs->rc);
	free(m->fsgs->have_rc);
	free(m->fsgs->v);
	free(m->fsgs);
	m->fsgs = NULL;
}

static void set_rc(struct sim_machine *m, const struct sim_task *t, int rc)
{
	struct sim_fsgs *f = st(m);

	if (!f)
		return;
	if (t->id > f->nt) {
		unsigned n = t->id + 16;
		int *r = realloc(f->rc, n * sizeof(*r));
		bool *h = r ? realloc(f->have_rc, n * sizeof(*h)) : NULL;

		if (r)
			f->rc = r;
		if (!h)
			return;
		f->have_rc = h;
		memset(h + f->nt, 0, (n - f->nt) * sizeof(*h));
		f->nt = n;
	}
	f->rc[t->id - 1] = rc;
	f->have_rc[t->id - 1] = true;
}

/* ---- The leak registry ---- */

static struct fsgs_val *find_val(struct sim_fsgs *f, uint64_t v)
{
	for (unsigned i = 0; i < f->nv; i++)
		if (f->v[i].value == v)
			return &f->v[i];
	return NULL;
}

static void note_value(struct sim_machine *m, const struct sim_task *t, uint64_t v)
{
	struct sim_fsgs *f = st(m);
	struct fsgs_val *e;
	unsigned pid = t->proc ? t->proc->id : 0;

	if (!f || !v)
		return;
	e = find_val(f, v);
	if (!e) {
		if (f->nv == f->cap) {
			unsigned cap = f->cap ? f->cap * 2 : 32;
			struct fsgs_val *n = realloc(f->v, cap * sizeof(*n));

			if (!n)
				return;
			f->v = n;
			f->cap = cap;
		}
		e = &f->v[f->nv++];
		memset(e, 0, sizeof(*e));
		e->value = v;
	}
	if (pid < 64)
		e->procs |= 1ULL << pid;
	else
		e->high = true;
}

void sim_fsgs_forked(struct sim_machine *m, const struct sim_task *child,
		     const struct sim_task *parent)
{
	struct sim_fsgs *f = m->fsgs;
	unsigned pp = parent->proc ? parent->proc->id : 0, cp = child->proc ? child->proc->id : 0;

	if (!f || pp == cp || pp >= 64)
		return;
	/* Everything the parent's process owned, the child's owns too (its
	 * registers, TLS and LDT are copies). */
	for (unsigned i = 0; i < f->nv; i++)
		if ((f->v[i].procs >> pp) & 1) {
			if (cp < 64)
				f->v[i].procs |= 1ULL << cp;
			else
				f->v[i].high = true;
		}
}

/* ---- Shadows ---- */

/* Exact rule in force: Linux with FSGSBASE, or the 2016 proposal. */
static bool exact(const struct sim_machine *m)
{
	return m->k.policy.fsgs == XK_FSGS_LUTO2016 || m->k.fsgsbase;
}

/* Run f on t's shadow with t's descriptor tables loaded (the GDT of the
 * CPU it runs on, its TLS, its process's LDT) and CR4.FSGSBASE as the
 * kernel set it. The tables are unloaded again afterwards: the shadow
 * must not keep pointers into this stack frame. */
struct shadow_tables {
	uint64_t gdt[XK_GDT_ENTRIES];
	int cpl;
};

static void tables_on(struct sim_machine *m, struct sim_task *t, struct shadow_tables *tb)
{
	const uint64_t *ldt;
	unsigned n;

	xk_fsgs_task_gdt(&m->k, t->k, t->cpu < m->ncpus ? t->cpu : 0, tb->gdt);
	ldt = xk_fsgs_task_ldt(t->k, &n);
	tb->cpl = xs_cpl(t->shadow);
	xs_set_cpl(t->shadow, 0);
	xs_lgdt(t->shadow, tb->gdt, XK_GDT_ENTRIES);
	xs_lldt(t->shadow, ldt, n);
	xs_set_cr4_fsgsbase(t->shadow, m->k.fsgsbase);
	xs_set_cpl(t->shadow, tb->cpl);
}

static void tables_off(struct sim_task *t, const struct shadow_tables *tb)
{
	xs_set_cpl(t->shadow, 0);
	xs_lgdt(t->shadow, NULL, 0);
	xs_lldt(t->shadow, NULL, 0);
	xs_set_cpl(t->shadow, tb->cpl);
}

static uint64_t shadow_base(const struct sim_task *t, enum xs_seg s)
{
	struct xs_seg_view v;

	xs_seg_peek(t->shadow, &v);
	return s == XS_SEG_FS ? v.fs_base : v.gs_base;
}

/* Set a base of the shadow the way the kernel does for the task: WRMSR
 * (the shadow is never in the kernel, so its GS base is the user's). */
static void shadow_set_base(struct sim_task *t, enum xs_seg s, uint64_t v)
{
	int cpl = xs_cpl(t->shadow);

	xs_set_cpl(t->shadow, 0);
	xs_seg_wrmsr(t->shadow, s == XS_SEG_FS ? XS_MSR_FS_BASE : XS_MSR_GS_BASE, v);
	xs_set_cpl(t->shadow, cpl);
}

/* A kernel selector load for the task (loadsegment() with its fixup,
 * load_gs_index()'s __USER_DS step on X86_BUG_NULL_SEG CPUs). */
static void shadow_loadseg(struct sim_machine *m, struct sim_task *t, enum xs_seg s, uint16_t sel)
{
	if (xs_mov_to_seg(t->shadow, s, sel) == XS_OK)
		return;
	if (s == XS_SEG_GS && m->k.null_seg_bug)
		xs_mov_to_seg(t->shadow, s, XK_SEL_USER_DS);
	xs_mov_to_seg(t->shadow, s, 0);
}

void sim_fsgs_switched_in(struct sim_machine *m, struct sim_task *t)
{
	struct shadow_tables tb;

	if (!t || t->kind != SIM_USER || !t->shadow)
		return;
	t->fsgs_nodesc = 0; /* the selector written by a tracer is loaded (or not) now */
	if (!exact(m))
		return;
	tables_on(m, t, &tb);
	for (int s = XS_SEG_FS; s <= XS_SEG_GS; s++) {
		uint16_t sel = xs_mov_from_seg(t->shadow, (enum xs_seg)s);
		uint64_t base = shadow_base(t, (enum xs_seg)s);

		if (!sel)
			continue; /* both policies: selector 0 keeps its base */
		shadow_loadseg(m, t, (enum xs_seg)s, sel);
		/* Linux: the saved base is written back whatever the selector;
		 * 2016: the descriptor's base stays, and a selector that names
		 * none (null 1-3, or its descriptor gone) has base 0. */
		if (m->k.policy.fsgs == XK_FSGS_LINUX)
			shadow_set_base(t, (enum xs_seg)s, base);
		else if (xs_sel_is_null(xs_mov_from_seg(t->shadow, (enum xs_seg)s)))
			shadow_set_base(t, (enum xs_seg)s, 0);
	}
	tables_off(t, &tb);
}

void sim_fsgs_exec(struct sim_machine *m, struct sim_task *t)
{
	if (!t->shadow)
		return;
	xs_mov_to_seg(t->shadow, XS_SEG_FS, 0);
	xs_mov_to_seg(t->shadow, XS_SEG_GS, 0);
	shadow_set_base(t, XS_SEG_FS, 0);
	shadow_set_base(t, XS_SEG_GS, 0);
}

void sim_fsgs_arch_prctl(struct sim_machine *m, struct sim_task *t, int option, uint64_t arg)
{
	enum xs_seg s;

	if (option == XK_ARCH_SET_FS)
		s = XS_SEG_FS;
	else if (option == XK_ARCH_SET_GS)
		s = XS_SEG_GS;
	else
		return;
	/* do_arch_prctl_64(): selector 0, base arg. */
	xs_mov_to_seg(t->shadow, s, 0);
	shadow_set_base(t, s, arg);
	t->fsgs_nodesc &= (uint8_t)~(1u << s);
	note_value(m, t, arg);
}

/* ---- The check ---- */

static const char *seg_name(enum xs_seg s)
{
	return s == XS_SEG_FS ? "FS" : "GS";
}

static const char *rule_name(const struct sim_machine *m)
{
	if (m->k.policy.fsgs == XK_FSGS_LUTO2016)
		return "fsgs=lutomirski2016";
	return m->k.fsgsbase ? "fsgs=linux with FSGSBASE" : "fsgs=linux without FSGSBASE";
}

int sim_fsgs_check(struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];
	struct sim_task *t = c->current ? c->current->sim : NULL;
	struct xs_seg_view hw, sh;

	if (!t || t->kind != SIM_USER || t->state == SIM_T_EXITED || !c->user_mode || !t->shadow)
		return SIM_OK;
	xs_seg_peek(c->hw, &hw);
	xs_seg_peek(t->shadow, &sh);
	for (int s = XS_SEG_FS; s <= XS_SEG_GS; s++) {
		uint64_t hb = s == XS_SEG_FS ? hw.fs_base : hw.gs_base;
		uint64_t sb = s == XS_SEG_FS ? sh.fs_base : sh.gs_base;
		uint16_t hs = s == XS_SEG_FS ? hw.fs_sel : hw.gs_sel;
		uint16_t ss = s == XS_SEG_FS ? sh.fs_sel : sh.gs_sel;
		const struct fsgs_val *e;

		/* The task's last return to user mode was an IRET, which nulls a
		 * null selector 1-3 (xs_iret_segments()): the shadow follows. */
		if (hs == 0 && ss != 0 && xs_sel_is_null(ss) && t->k->thread.exit_iret) {
			xs_mov_to_seg(t->shadow, (enum xs_seg)s, 0);
			shadow_set_base(t, (enum xs_seg)s, sb);
			ss = 0;
		}

		if (hb != sb) {
			for (unsigned i = 0; i < m->ncpus; i++)
				if (hb == XK_PERCPU_BASE(i))
					return sim_fail(m, "leak", "leak: %s on cpu%u runs with the "
							"kernel's per-CPU GS base 0x%llx in %s "
							"(a SWAPGS missing?)", t->name, cpu,
							(unsigned long long)hb,
							seg_name((enum xs_seg)s));
		}
		if (exact(m) && (hb != sb || hs != ss))
			return sim_fail(m, "fsgs", "fsgs: %s on cpu%u has %s selector 0x%x base "
					"0x%llx, but %s says selector 0x%x base 0x%llx", t->name,
					cpu, seg_name((enum xs_seg)s), hs, (unsigned long long)hb,
					rule_name(m), ss, (unsigned long long)sb);
		if (hb == sb || !m->fsgs || !t->proc)
			continue;
		e = find_val(m->fsgs, hb);
		if (e && !e->high && t->proc->id < 64 && !((e->procs >> t->proc->id) & 1))
			return sim_fail(m, "leak", "leak: %s on cpu%u runs with %s base 0x%llx, "
					"which only other processes set", t->name, cpu,
					seg_name((enum xs_seg)s), (unsigned long long)hb);
	}
	return SIM_OK;
}

/* ---- User instructions ---- */

enum seg_op { OP_WRBASE = 0, OP_RDBASE, OP_MOV };

struct seg_insn {
	enum seg_op op;
	enum xs_seg seg;
	uint64_t val;
};

static enum xs_fault run_seg(struct xs_cpu *c, const struct seg_insn *u, uint64_t *out)
{
	switch (u->op) {
	case OP_WRBASE:
		return xs_wrsegbase(c, u->seg, u->val);
	case OP_RDBASE:
		return xs_rdsegbase(c, u->seg, out);
	case OP_MOV:
		return xs_mov_to_seg(c, u->seg, (uint16_t)u->val);
	}
	return XS_UD;
}

static const char *insn_name(const struct seg_insn *u)
{
	static const char *const n[3][2] = { { "WRFSBASE", "WRGSBASE" },
					     { "RDFSBASE", "RDGSBASE" },
					     { "MOV FS", "MOV GS" } };

	return n[u->op][u->seg];
}

static int seg_user(struct sim_machine *m, struct sim_task *t, const struct seg_insn *u)
{
	struct shadow_tables tb;
	uint64_t got = 0, want = 0;
	enum xs_fault f;
	unsigned cpu;
	int rc = sim_ensure_user(m, t);

	if (!rc && m->check.shadow)
		rc = sim_check(m);
	if (rc)
		return rc;
	t->last_fault = XS_OK;
	t->last_signal = 0;
	for (int attempt = 0;; attempt++) {
		struct xk_fault_result r;

		cpu = (unsigned)t->k->on_cpu;
		f = run_seg(m->k.cpu[cpu].hw, u, &got);
		if (f == XS_OK)
			break;
		if (t->last_fault == XS_OK)
			t->last_fault = f;
		t->nfaults++;
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s %s 0x%llx -> %s (%s)", cpu, t->name,
			  insn_name(u), (unsigned long long)u->val, xs_fault_name(f),
			  xs_cpu_fault_reason(m->k.cpu[cpu].hw));
		if (attempt >= 4)
			return sim_fail(m, "kernel", "%s's %s faulted %s 5 times in a row", t->name,
					insn_name(u), xs_fault_name(f));
		r = xk_handle_fault(&m->k, cpu, f);
		if (r.action == XK_FA_RETRY)
			continue;
		if (r.action == XK_FA_OOPS)
			return sim_fail(m, "kernel", "kernel oops on cpu%u handling %s from %s: %s",
					cpu, xs_fault_name(f), t->name, r.why ? r.why : "?");
		t->last_signal = r.signo;
		t->nsignals++;
		if (m->deliver_signal)
			return m->deliver_signal(m, t, r.signo, r.si_code);
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s gets %s (recorded; the instruction "
			  "is skipped)", cpu, t->name, sim_signal_name(r.signo));
		return sim_return_to_user(m, cpu);
	}
	if (sim_tracing(m)) {
		if (u->op == OP_RDBASE)
			sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s %s = 0x%llx", cpu, t->name,
				  insn_name(u), (unsigned long long)got);
		else
			sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s %s 0x%llx", cpu, t->name,
				  insn_name(u), (unsigned long long)u->val);
	}
	if (!m->check.shadow_update)
		return SIM_OK;
	tables_on(m, t, &tb);
	f = run_seg(t->shadow, u, &want);
	tables_off(t, &tb);
	if (f)
		return sim_fail(m, "shadow", "%s's %s succeeded on cpu%u but faults %s on its shadow "
				"(%s)", t->name, insn_name(u), cpu, xs_fault_name(f),
				xs_cpu_fault_reason(t->shadow));
	if (u->op == OP_RDBASE && got != want)
		return sim_fail(m, "fsgs", "fsgs: %s %s on cpu%u read 0x%llx, its own value is "
				"0x%llx (%s)", t->name, insn_name(u), cpu, (unsigned long long)got,
				(unsigned long long)want, rule_name(m));
	if (u->op == OP_WRBASE)
		note_value(m, t, u->val);
	return SIM_OK;
}

/* ---- Parsing helpers ---- */

static int parse_subject(struct sim_parser *p, struct sim_stmt *s, const char *w, int *id)
{
	if (sim_parse_task(p, w, id))
		return -1;
	if (p->tasks[*id - 1].kind != SIM_USER)
		return sim_parse_error(p, "%s is a kernel thread", w);
	return 0;
}

static int parse_seg(struct sim_parser *p, const char *w, enum xs_seg *s)
{
	if (!strcmp(w, "fs"))
		*s = XS_SEG_FS;
	else if (!strcmp(w, "gs"))
		*s = XS_SEG_GS;
	else
		return sim_parse_error(p, "expected fs or gs, got '%s'", w);
	return 0;
}

/* T wrfsbase V | T wrgsbase V | T rdfsbase | T rdgsbase */
static int parse_base_insn(struct sim_parser *p, struct sim_stmt *s)
{
	bool wr = s->verb->name[0] == 'w';

	if (parse_subject(p, s, s->argv[0], &s->a.task[0]) ||
	    sim_parse_argc(p, s, wr ? 3 : 2, wr ? 3 : 2))
		return -1;
	s->a.op = wr ? OP_WRBASE : OP_RDBASE;
	s->a.num[1] = strstr(s->verb->name, "gs") ? XS_SEG_GS : XS_SEG_FS;
	return wr ? sim_parse_u64(p, s->argv[2], &s->a.num[0]) : 0;
}

/* T mov fs|gs = SEL */
static int parse_mov(struct sim_parser *p, struct sim_stmt *s)
{
	enum xs_seg sg = XS_SEG_FS;

	if (parse_subject(p, s, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 5, 5) ||
	    parse_seg(p, s->argv[2], &sg) || sim_parse_word(p, s, 3, "=") ||
	    sim_parse_u64(p, s->argv[4], &s->a.num[0]))
		return -1;
	if (s->a.num[0] > 0xFFFF)
		return sim_parse_error(p, "a selector is 16 bits");
	s->a.op = OP_MOV;
	s->a.num[1] = sg;
	return 0;
}

static int exec_seg_insn(struct sim_machine *m, const struct sim_stmt *s)
{
	struct seg_insn u = { (enum seg_op)s->a.op, (enum xs_seg)s->a.num[1], s->a.num[0] };

	return seg_user(m, sim_stmt_task(m, s, 0), &u);
}

/* "empty" or a 32-bit base. */
static int parse_desc_arg(struct sim_parser *p, struct sim_stmt *s, const char *w)
{
	if (!strcmp(w, "empty")) {
		s->a.flag = true;
		return 0;
	}
	s->a.flag = false;
	if (sim_parse_u64(p, w, &s->a.num[1]))
		return -1;
	if (s->a.num[1] > 0xFFFFFFFFu)
		return sim_parse_error(p, "a descriptor base has 32 bits (larger bases need "
				       "ARCH_SET_FS/GS or WRFSBASE)");
	return 0;
}

/* T set_thread_area ENTRY|-1 BASE|empty, T modify_ldt ENTRY BASE|empty */
static int parse_desc_call(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_subject(p, s, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 4, 4))
		return -1;
	if (!strcmp(s->argv[2], "-1"))
		s->a.num[0] = 0xFFFFFFFFu;
	else if (sim_parse_u64(p, s->argv[2], &s->a.num[0]))
		return -1;
	return parse_desc_arg(p, s, s->argv[3]);
}

/* Enter the kernel for a system call of t; the CPU. */
static int syscall_enter(struct sim_machine *m, struct sim_task *t, unsigned *cpu)
{
	int rc = sim_ensure_user(m, t);

	if (rc)
		return rc;
	*cpu = (unsigned)t->k->on_cpu;
	return sim_enter_kernel(m, *cpu);
}

static int exec_desc_call(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	bool tls = !strcmp(s->verb->name, "set_thread_area");
	uint32_t entry = (uint32_t)s->a.num[0];
	struct xk_user_desc u = s->a.flag ? xk_user_desc_empty(entry)
					  : xk_user_desc_data(entry, (uint32_t)s->a.num[1]);
	unsigned cpu;
	int rc = syscall_enter(m, t, &cpu), r;

	if (rc)
		return rc;
	r = tls ? xk_set_thread_area(&m->k, cpu, &u) : xk_modify_ldt(&m->k, cpu, 0x11, &u);
	set_rc(m, t, r);
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s %s(entry %u, %s 0x%llx) = %s", cpu,
			  t->name, tls ? "set_thread_area" : "modify_ldt", u.entry_number,
			  s->a.flag ? "empty" : "base", (unsigned long long)s->a.num[1],
			  r ? sim_errno_name(r) : "0");
	if (!r && !s->a.flag)
		note_value(m, t, s->a.num[1]);
	if (!r && tls) {
		/* The kernel reloads FS/GS of the caller that use the slot. */
		uint16_t sel = XK_SEL_TLS(u.entry_number - XK_GDT_ENTRY_TLS_MIN);
		struct shadow_tables tb;

		tables_on(m, t, &tb);
		for (int sg = XS_SEG_FS; sg <= XS_SEG_GS; sg++)
			if (xs_mov_from_seg(t->shadow, (enum xs_seg)sg) == sel)
				shadow_loadseg(m, t, (enum xs_seg)sg, sel);
		tables_off(t, &tb);
	}
	return sim_return_to_user(m, cpu);
}

/* ---- ptrace ---- */

static int parse_ureg(struct sim_parser *p, const char *w, int *r)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(w, xk_ureg_name((enum xk_ureg)i))) {
			*r = i;
			return 0;
		}
	return sim_parse_error(p, "expected fs_base, gs_base, fs or gs, got '%s'", w);
}

/* pokeuser T FIELD = VALUE */
static int parse_poke(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 5) || parse_subject(p, s, s->argv[1], &s->a.task[0]) ||
	    parse_ureg(p, s->argv[2], &s->a.op) || sim_parse_word(p, s, 3, "=") ||
	    sim_parse_u64(p, s->argv[4], &s->a.num[0]))
		return -1;
	return 0;
}

static int stopped(struct sim_machine *m, const struct sim_task *t)
{
	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	if (t->k->on_cpu >= 0)
		return sim_error(m, "%s is running on cpu%d: a tracee must be stopped (switch the CPU "
				 "away from it first)", t->name, t->k->on_cpu);
	return SIM_OK;
}

/* One POKEUSER, and what it means for the task's registers: a base write
 * sets the base only; a selector write sets the selector (what the reload
 * at the next switch-in will load: 0 if its descriptor does not load) and
 * keeps the base, except under fsgs=lutomirski2016 for a selector that
 * names no descriptor (base 0). The policy's switch-in rule then applies
 * as usual. */
static int poke(struct sim_machine *m, struct sim_task *t, enum xk_ureg r, uint64_t v)
{
	enum xs_seg sg = (r == XK_UREG_FS || r == XK_UREG_FS_BASE) ? XS_SEG_FS : XS_SEG_GS;
	int ret = xk_ptrace_pokeuser(&m->k, t->k, r, v);

	set_rc(m, t, ret);
	sim_trace(m, SIM_TR_EVENT, "        tracer: PTRACE_POKEUSER %s %s = 0x%llx -> %s", t->name,
		  xk_ureg_name(r), (unsigned long long)v, ret ? sim_errno_name(ret) : "0");
	if (ret)
		return SIM_OK;
	if (r == XK_UREG_FS_BASE || r == XK_UREG_GS_BASE) {
		/* 2016: a nonzero selector's base is its descriptor's, and the
		 * selector written before names none: base 0 whatever comes. */
		shadow_set_base(t, sg, (t->fsgs_nodesc >> sg) & 1 ? 0 : v);
		note_value(m, t, v);
	} else {
		struct shadow_tables tb;
		uint64_t base = shadow_base(t, sg);

		tables_on(m, t, &tb);
		shadow_loadseg(m, t, sg, (uint16_t)v);
		tables_off(t, &tb);
		/* fsgs=lutomirski2016 reloads a nonzero selector from its
		 * descriptor at the switch-in: one that names none (its load
		 * fails, or a null selector 1-3) leaves base 0. Otherwise the
		 * base stays (linux writes it back; 2016 reloads the
		 * descriptor's then, sim_fsgs_switched_in()). */
		t->fsgs_nodesc &= (uint8_t)~(1u << sg);
		if (m->k.policy.fsgs == XK_FSGS_LUTO2016 && v &&
		    xs_sel_is_null(xs_mov_from_seg(t->shadow, sg))) {
			t->fsgs_nodesc |= (uint8_t)(1u << sg);
			shadow_set_base(t, sg, 0);
		} else {
			shadow_set_base(t, sg, base);
		}
	}
	return SIM_OK;
}

static int exec_poke(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	int rc = stopped(m, t);

	return rc ? rc : poke(m, t, (enum xk_ureg)s->a.op, s->a.num[0]);
}

/* ptrace-regs T [base-first|selector-first] */
static int parse_regs(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 2, 3) || parse_subject(p, s, s->argv[1], &s->a.task[0]))
		return -1;
	s->a.flag = true; /* struct user_regs_struct order: fs_base, gs_base ... fs, gs */
	if (s->argc == 3) {
		if (!strcmp(s->argv[2], "selector-first"))
			s->a.flag = false;
		else if (strcmp(s->argv[2], "base-first"))
			return sim_parse_error(p, "expected base-first or selector-first");
	}
	return 0;
}

static int exec_regs(struct sim_machine *m, const struct sim_stmt *s)
{
	static const enum xk_ureg base_first[4] = { XK_UREG_FS_BASE, XK_UREG_GS_BASE, XK_UREG_FS,
						    XK_UREG_GS };
	static const enum xk_ureg sel_first[4] = { XK_UREG_FS, XK_UREG_GS, XK_UREG_FS_BASE,
						   XK_UREG_GS_BASE };
	struct sim_task *t = sim_stmt_task(m, s, 0);
	const enum xk_ureg *order = s->a.flag ? base_first : sel_first;
	uint64_t v[4];
	int rc = stopped(m, t);

	if (rc)
		return rc;
	for (int i = 0; i < 4; i++) {
		int r = xk_ptrace_peekuser(&m->k, t->k, (enum xk_ureg)i, &v[i]);

		if (r)
			return sim_error(m, "PTRACE_PEEKUSER %s of %s: %s", xk_ureg_name((enum xk_ureg)i),
					 t->name, sim_errno_name(r));
	}
	sim_trace(m, SIM_TR_EVENT, "        tracer: read %s: fs=0x%llx fs_base=0x%llx gs=0x%llx "
		  "gs_base=0x%llx; writing it back %s", t->name, (unsigned long long)v[XK_UREG_FS],
		  (unsigned long long)v[XK_UREG_FS_BASE], (unsigned long long)v[XK_UREG_GS],
		  (unsigned long long)v[XK_UREG_GS_BASE], s->a.flag ? "base first" : "selector first");
	for (int i = 0; i < 4; i++)
		if ((rc = poke(m, t, order[i], v[order[i]])))
			return rc;
	return SIM_OK;
}

/* ptrace-arch-prctl T SET_FS|SET_GS VALUE | ptrace-arch-prctl T GET_FS|GET_GS |
 * ptrace-arch-prctl T CODE [VALUE] (a number: any other code, -EINVAL) */
static const struct {
	const char *name;
	int code;
} prctl_codes[] = {
	{ "SET_FS", XK_ARCH_SET_FS }, { "SET_GS", XK_ARCH_SET_GS },
	{ "GET_FS", XK_ARCH_GET_FS }, { "GET_GS", XK_ARCH_GET_GS },
};

static int parse_ptrace_prctl(struct sim_parser *p, struct sim_stmt *s)
{
	uint64_t code = 0;
	bool set;

	if (sim_parse_argc(p, s, 3, 4) || parse_subject(p, s, s->argv[1], &s->a.task[0]))
		return -1;
	s->a.op = -1;
	for (size_t i = 0; i < sizeof(prctl_codes) / sizeof(prctl_codes[0]); i++)
		if (!strcmp(s->argv[2], prctl_codes[i].name))
			s->a.op = prctl_codes[i].code;
	if (s->a.op < 0) {
		if (sim_parse_u64(p, s->argv[2], &code) || code > 0xFFFF)
			return sim_parse_error(p, "expected SET_FS, SET_GS, GET_FS, GET_GS or a "
					       "code number, got '%s'", s->argv[2]);
		s->a.op = (int)code;
	}
	set = s->a.op == XK_ARCH_SET_FS || s->a.op == XK_ARCH_SET_GS;
	if (set && s->argc != 4)
		return sim_parse_error(p, "%s needs a VALUE (usage: %s)", s->argv[2], s->verb->usage);
	if ((s->a.op == XK_ARCH_GET_FS || s->a.op == XK_ARCH_GET_GS) && s->argc != 3)
		return sim_parse_error(p, "%s takes no VALUE (usage: %s)", s->argv[2],
				       s->verb->usage);
	return s->argc == 4 ? sim_parse_u64(p, s->argv[3], &s->a.num[0]) : 0;
}

/* The tracer's PTRACE_ARCH_PRCTL: the stopped tracee's saved selector 0
 * and base for a SET (its shadow the same, as ARCH_SET_* by itself). */
static int exec_ptrace_prctl(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	uint64_t out = 0;
	long r;
	int rc = stopped(m, t);

	if (rc)
		return rc;
	r = xk_ptrace_arch_prctl(&m->k, t->k, s->a.op, s->a.num[0], &out);
	set_rc(m, t, (int)r);
	if (s->a.op == XK_ARCH_GET_FS || s->a.op == XK_ARCH_GET_GS)
		sim_trace(m, SIM_TR_EVENT, "        tracer: PTRACE_ARCH_PRCTL %s %s -> %s, 0x%llx",
			  t->name, s->argv[2], r ? sim_errno_name((int)r) : "0",
			  (unsigned long long)out);
	else
		sim_trace(m, SIM_TR_EVENT, "        tracer: PTRACE_ARCH_PRCTL %s %s 0x%llx -> %s",
			  t->name, s->argv[2], (unsigned long long)s->a.num[0],
			  r ? sim_errno_name((int)r) : "0");
	if (!r)
		sim_fsgs_arch_prctl(m, t, s->a.op, s->a.num[0]);
	return SIM_OK;
}

/* ---- Expectations ---- */

/* The trailing "if NAME=VALUE": holds when setting it would not change
 * the machine's policy. */
struct cond {
	char setting[64];
};

static int parse_cond(struct sim_parser *p, struct sim_stmt *s, int at)
{
	struct xk_policy pol;
	struct cond *c;
	char err[XK_ERR_MAX];

	if (at >= s->argc)
		return 0;
	if (at + 2 != s->argc || strcmp(s->argv[at], "if"))
		return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[at], s->verb->usage);
	xk_policy_default(&pol);
	if (xk_policy_set(&pol, s->argv[at + 1], err, sizeof(err)))
		return sim_parse_error(p, "if %s: %s", s->argv[at + 1], err);
	c = calloc(1, sizeof(*c));
	if (!c)
		return sim_parse_error(p, "out of memory");
	snprintf(c->setting, sizeof(c->setting), "%s", s->argv[at + 1]);
	s->a.ext = c;
	return 0;
}

/* true: the expectation applies. Otherwise a note says why not. */
static bool cond_holds(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct cond *c = s->a.ext;
	struct xk_policy pol = m->k.policy;
	char err[XK_ERR_MAX];

	if (!c)
		return true;
	if (xk_policy_set(&pol, c->setting, err, sizeof(err)) == 0 &&
	    xk_policy_equal(&pol, &m->k.policy))
		return true;
	sim_note(m, "not checked: applies with %s only", c->setting);
	return false;
}

static int parse_eq_ne(struct sim_parser *p, const char *w, int *op)
{
	if (sim_parse_cmp(p, w, op))
		return -1;
	if (*op != SIM_EQ && *op != SIM_NE)
		return sim_parse_error(p, "only == and != compare here");
	return 0;
}

static const char *const seg_fields[] = { "fs", "gs", "fsbase", "gsbase" };

/* expect seg T FIELD OP V [if NAME=VALUE] */
static int parse_x_seg(struct sim_parser *p, struct sim_stmt *s)
{
	int i;

	if (sim_parse_argc(p, s, 6, 8) || parse_subject(p, s, s->argv[2], &s->a.task[0]))
		return -1;
	for (i = 0; i < 4; i++)
		if (!strcmp(s->argv[3], seg_fields[i]))
			break;
	if (i == 4)
		return sim_parse_error(p, "expected fs, gs, fsbase or gsbase, got '%s'", s->argv[3]);
	s->a.num[1] = (uint64_t)i;
	if (parse_eq_ne(p, s->argv[4], &s->a.op) || sim_parse_u64(p, s->argv[5], &s->a.num[0]))
		return -1;
	return parse_cond(p, s, 6);
}

static int result_u64(struct sim_machine *m, const struct sim_stmt *s, const char *what,
		      uint64_t got)
{
	bool eq = got == s->a.num[0];

	if (eq == (s->a.op == SIM_EQ)) {
		sim_note(m, "%s = 0x%llx", what, (unsigned long long)got);
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s = 0x%llx, expected %s 0x%llx", what,
			(unsigned long long)got, sim_cmp_name(s->a.op),
			(unsigned long long)s->a.num[0]);
}

static int exec_x_seg(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	struct xs_seg_view v;
	uint64_t got;
	char what[64];
	int rc;

	if (!cond_holds(m, s))
		return SIM_OK;
	if ((rc = sim_ensure_user(m, t)))
		return rc;
	xs_seg_peek(m->k.cpu[t->k->on_cpu].hw, &v);
	switch (s->a.num[1]) {
	case 0: got = v.fs_sel; break;
	case 1: got = v.gs_sel; break;
	case 2: got = v.fs_base; break;
	default: got = v.gs_base; break;
	}
	snprintf(what, sizeof(what), "%s %s", t->name, seg_fields[s->a.num[1]]);
	return result_u64(m, s, what, got);
}

/* expect peek T FIELD OP V [if NAME=VALUE] */
static int parse_x_peek(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 6, 8) || parse_subject(p, s, s->argv[2], &s->a.task[0]) ||
	    parse_ureg(p, s->argv[3], &s->a.comp) ||
	    parse_eq_ne(p, s->argv[4], &s->a.op) || sim_parse_u64(p, s->argv[5], &s->a.num[0]))
		return -1;
	return parse_cond(p, s, 6);
}

static int exec_x_peek(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	uint64_t got = 0;
	char what[64];
	int rc;

	if (!cond_holds(m, s))
		return SIM_OK;
	if ((rc = stopped(m, t)))
		return rc;
	rc = xk_ptrace_peekuser(&m->k, t->k, (enum xk_ureg)s->a.comp, &got);
	if (rc)
		return sim_error(m, "PTRACE_PEEKUSER of %s: %s", t->name, sim_errno_name(rc));
	snprintf(what, sizeof(what), "PEEKUSER %s %s", t->name, xk_ureg_name((enum xk_ureg)s->a.comp));
	return result_u64(m, s, what, got);
}

/* expect result T OP 0|ENAME */
static const struct {
	const char *name;
	int v;
} errnos[] = {
	{ "0", 0 },	      { "EPERM", EPERM },   { "ESRCH", ESRCH }, { "EIO", EIO },
	{ "ENOMEM", ENOMEM }, { "EINVAL", EINVAL }, { "ENOSYS", ENOSYS },
};

static int parse_x_result(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 5) || parse_subject(p, s, s->argv[2], &s->a.task[0]) ||
	    parse_eq_ne(p, s->argv[3], &s->a.op))
		return -1;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(s->argv[4], errnos[i].name)) {
			s->a.num[0] = (uint64_t)errnos[i].v;
			return 0;
		}
	return sim_parse_error(p, "expected 0 or an error name (EPERM, ESRCH, EIO, ENOMEM, EINVAL, "
			       "ENOSYS), got '%s'", s->argv[4]);
}

static const char *errno_str(int e)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].v == e)
			return errnos[i].name;
	return "E?";
}

static int exec_x_result(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	struct sim_fsgs *f = m->fsgs;
	int got;

	if (!f || t->id > f->nt || !f->have_rc[t->id - 1])
		return sim_error(m, "%s made no FS/GS call yet (set_thread_area, modify_ldt, "
				 "pokeuser, ptrace-arch-prctl)", t->name);
	got = -f->rc[t->id - 1];
	if ((got == (int)s->a.num[0]) == (s->a.op == SIM_EQ)) {
		sim_note(m, "result %s", errno_str(got));
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s's last FS/GS call returned %s%s",
			t->name, got ? "-" : "", errno_str(got));
}

static const struct sim_verb verbs[] = {
	{ "wrfsbase", SIM_VERB_TASK, "T wrfsbase VALUE", parse_base_insn, exec_seg_insn },
	{ "wrgsbase", SIM_VERB_TASK, "T wrgsbase VALUE", parse_base_insn, exec_seg_insn },
	{ "rdfsbase", SIM_VERB_TASK, "T rdfsbase", parse_base_insn, exec_seg_insn },
	{ "rdgsbase", SIM_VERB_TASK, "T rdgsbase", parse_base_insn, exec_seg_insn },
	{ "mov", SIM_VERB_TASK, "T mov fs|gs = SELECTOR", parse_mov, exec_seg_insn },
	{ "set_thread_area", SIM_VERB_TASK, "T set_thread_area ENTRY|-1 BASE|empty",
	  parse_desc_call, exec_desc_call },
	{ "modify_ldt", SIM_VERB_TASK, "T modify_ldt ENTRY BASE|empty", parse_desc_call,
	  exec_desc_call },
	{ "pokeuser", SIM_VERB_STMT, "pokeuser T fs_base|gs_base|fs|gs = VALUE", parse_poke,
	  exec_poke },
	{ "ptrace-arch-prctl", SIM_VERB_STMT, "ptrace-arch-prctl T SET_FS|SET_GS VALUE | "
	  "ptrace-arch-prctl T GET_FS|GET_GS | ptrace-arch-prctl T CODE [VALUE]",
	  parse_ptrace_prctl, exec_ptrace_prctl },
	{ "ptrace-regs", SIM_VERB_STMT, "ptrace-regs T [base-first|selector-first]", parse_regs,
	  exec_regs },
	{ "seg", SIM_VERB_EXPECT, "expect seg T fs|gs|fsbase|gsbase ==|!= VALUE [if NAME=VALUE]",
	  parse_x_seg, exec_x_seg },
	{ "peek", SIM_VERB_EXPECT,
	  "expect peek T fs_base|gs_base|fs|gs ==|!= VALUE [if NAME=VALUE]", parse_x_peek,
	  exec_x_peek },
	{ "result", SIM_VERB_EXPECT, "expect result T ==|!= 0|ENAME", parse_x_result,
	  exec_x_result },
};

const struct sim_verb_set sim_verbs_fsgs = { "fsgs", verbs, sizeof(verbs) / sizeof(verbs[0]) };
