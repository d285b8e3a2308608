/* Feature operations of the explorer (XE_STMT): the user-ABI (AMX
 * permission and first use, signals with honest and tampering handlers,
 * sigreturn, ptrace, allocation failures, memory pressure), special-state
 * (CET shadow stacks, user interrupts, LBR), FS/GS base and KVM statements
 * of the scenario language.
 *
 * Each is a line of scenario text made from a template of the table below
 * and parsed by the verb's own parse function, in a parser whose symbol
 * table holds just the tasks the line names, then executed by the verb's
 * own exec function with those tasks bound: exactly what `xstate run` does
 * with the same line, so the printed counterexample is what ran.
 *
 * Whether a feature statement is possible depends on verb state the
 * explorer cannot see (a handler to return from, a ptrace buffer to edit,
 * a call the kernel refuses). Such a statement reports SIM_ERROR without
 * changing the machine; the explorer checks that nothing changed (a
 * fingerprint of the kernel's bookkeeping and counters) and drops it from
 * the program. A SIM_ERROR after a change would make the program diverge
 * from its text: that is reported as an internal error.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/explore_internal.h"
#include "xstate/kernel_special.h"

enum who {
	W_NONE = 0, /* no task */
	W_RUN,      /* a user task running on a CPU that can return to user mode */
	W_PTRACE,   /* a live user task whose CPU (if any) is not busy: the tracee */
};

enum need {
	N_ANY = 0,
	N_AMX,      /* a dynamic feature (XTILEDATA) enabled */
	N_PREALLOC, /* policy prealloc=on */
	N_HARVEST,  /* policy harvest=on */
	N_SHSTK,    /* user shadow stacks */
	N_UINTR,    /* policy uintr=ordinary|independent */
	N_LBR,      /* arch LBR enabled */
};

enum aux {
	A_NONE = 0,
	A_REG,      /* a register name (frame and ptrace fields) */
	A_XBIT,     /* an interesting XSTATE_BV bit */
	A_HDR,      /* a header byte 8..63 */
	A_TMM,      /* tile 0..7 */
	A_SMALL,    /* 1..4 */
};

struct tmpl {
	const char *fmt;     /* %T subject, %U second task, %A aux, %V byte, %W 32-bit value */
	uint8_t who, need, aux;
	bool two;            /* %U: a second live user task */
	uint16_t weight;
	uint8_t family;      /* bit of xe_config.feats */
};

enum fam { F_AMX = 0, F_SIGNAL, F_PTRACE, F_ALLOC, F_CET, F_UINTR, F_LBR, F_FSGS, F_KVM, F_COUNT };

static const char *const fam_names[F_COUNT] = {
	[F_AMX] = "amx", [F_SIGNAL] = "signal", [F_PTRACE] = "ptrace", [F_ALLOC] = "alloc",
	[F_CET] = "cet", [F_UINTR] = "uintr", [F_LBR] = "lbr", [F_FSGS] = "fsgs", [F_KVM] = "kvm",
};

int xe_feats_parse(const char *list, uint64_t *mask, char *err, size_t errlen)
{
	char word[32];
	uint64_t m = 0;

	while (*list) {
		size_t n = strcspn(list, ",| ");
		unsigned f;

		if (!n) {
			list++;
			continue;
		}
		snprintf(word, sizeof(word), "%.*s", (int)n, list);
		list += n;
		if (!strcmp(word, "all")) {
			m = ~0ULL;
			continue;
		}
		if (!strcmp(word, "none") || !strcmp(word, "core"))
			continue;
		for (f = 0; f < F_COUNT && strcmp(word, fam_names[f]); f++)
			;
		if (f == F_COUNT) {
			size_t pos = (size_t)snprintf(err, errlen, "unknown feature family '%s' (known: "
						      "all none core", word);
			for (f = 0; f < F_COUNT && pos < errlen; f++)
				pos += (size_t)snprintf(err + pos, errlen - pos, " %s", fam_names[f]);
			if (pos < errlen)
				snprintf(err + pos, errlen - pos, ")");
			return -1;
		}
		m |= 1ULL << f;
	}
	*mask = m;
	return 0;
}

/* A valid palette-1 tile configuration: 8 tiles of 16 rows x 64 bytes. */
#define TILECFG_VALID                                                         \
	"bytes:01000000000000000000000000000000400040004000400040004000400040000000" \
	"000000000000000000000000000010101010101010100000000000000000"

static const struct tmpl tmpls[] = {
	/* AMX: permission, tile configuration, first use (#NM, allocation). */
	{ "%T arch_prctl REQ_XCOMP_PERM", W_RUN, N_AMX, A_NONE, false, 25, F_AMX },
	{ "%T write tilecfg = " TILECFG_VALID, W_RUN, N_AMX, A_NONE, false, 15, F_AMX },
	{ "%T write tmm%A = seq:%V", W_RUN, N_AMX, A_TMM, false, 30, F_AMX },
	{ "%T read tmm%A", W_RUN, N_AMX, A_TMM, false, 8, F_AMX },
	{ "%T arch_prctl REQ_XCOMP_GUEST_PERM", W_RUN, N_AMX, A_NONE, false, 3, F_AMX },
	{ "%T arch_prctl REQ_XCOMP_PREALLOC", W_RUN, N_PREALLOC, A_NONE, false, 15, F_AMX },
	{ "memory-pressure", W_NONE, N_HARVEST, A_NONE, false, 15, F_AMX },
	/* A window in which xstate allocations fail (first use, pre-allocation,
	 * UINTR's UPID); no task is created inside it (a failed creation is
	 * not a scenario step). */
	{ "alloc-fail always", W_NONE, N_AMX, A_NONE, false, 3, F_ALLOC },
	{ "alloc-fail off", W_NONE, N_AMX, A_NONE, false, 0, F_ALLOC },
	/* Signals: handlers, delivery, honest and tampering handlers, return. */
	{ "%T sigaction SIGUSR1", W_RUN, N_ANY, A_NONE, false, 8, F_SIGNAL },
	{ "%T sigaction SIGUSR1 onstack", W_RUN, N_ANY, A_NONE, false, 3, F_SIGNAL },
	{ "%T sigaction SIGSEGV", W_RUN, N_ANY, A_NONE, false, 3, F_SIGNAL },
	{ "%T sigaction SIGILL", W_RUN, N_ANY, A_NONE, false, 3, F_SIGNAL },
	{ "%T signal SIGUSR1", W_RUN, N_ANY, A_NONE, false, 15, F_SIGNAL },
	{ "%T signal SIGUSR1 onstack", W_RUN, N_ANY, A_NONE, false, 4, F_SIGNAL },
	{ "%T sigaltstack 65536", W_RUN, N_ANY, A_NONE, false, 4, F_SIGNAL },
	{ "%T sigaltstack 8192", W_RUN, N_ANY, A_NONE, false, 2, F_SIGNAL },
	{ "%T sigaltstack off", W_RUN, N_ANY, A_NONE, false, 2, F_SIGNAL },
	{ "%T sigreturn", W_RUN, N_ANY, A_NONE, false, 30, F_SIGNAL },
	{ "%T frame set %A = seq:%V", W_RUN, N_ANY, A_REG, false, 15, F_SIGNAL },
	{ "%T frame flip xstate_bv %A", W_RUN, N_ANY, A_XBIT, false, 6, F_SIGNAL },
	{ "%T frame flip sw_xfeatures %A", W_RUN, N_ANY, A_XBIT, false, 3, F_SIGNAL },
	{ "%T frame flip xcomp_bv 63", W_RUN, N_ANY, A_NONE, false, 2, F_SIGNAL },
	{ "%T frame flip hdr.%A 0", W_RUN, N_ANY, A_HDR, false, 3, F_SIGNAL },
	{ "%T frame set mxcsr = 0x%W", W_RUN, N_ANY, A_NONE, false, 3, F_SIGNAL },
	{ "%T frame flip magic1 0", W_RUN, N_ANY, A_NONE, false, 2, F_SIGNAL },
	/* ptrace regsets, honest and tampering tracers. */
	{ "ptrace %T get xstate", W_PTRACE, N_ANY, A_NONE, false, 10, F_PTRACE },
	{ "ptrace %T get fpregs", W_PTRACE, N_ANY, A_NONE, false, 3, F_PTRACE },
	{ "ptrace %T set xstate", W_PTRACE, N_ANY, A_NONE, false, 10, F_PTRACE },
	{ "ptrace %T set fpregs", W_PTRACE, N_ANY, A_NONE, false, 4, F_PTRACE },
	{ "ptrace %T poke %A = seq:%V", W_PTRACE, N_ANY, A_REG, false, 10, F_PTRACE },
	{ "ptrace %T flip xstate_bv %A", W_PTRACE, N_ANY, A_XBIT, false, 4, F_PTRACE },
	{ "ptrace %T poke mxcsr = 0x%W", W_PTRACE, N_ANY, A_NONE, false, 3, F_PTRACE },
	{ "ptrace %T flip hdr.%A 0", W_PTRACE, N_ANY, A_HDR, false, 2, F_PTRACE },
	/* CET user shadow stacks. */
	{ "%T shstk enable", W_RUN, N_SHSTK, A_NONE, false, 8, F_CET },
	{ "%T shstk disable", W_RUN, N_SHSTK, A_NONE, false, 2, F_CET },
	{ "%T shstk wrss", W_RUN, N_SHSTK, A_NONE, false, 2, F_CET },
	{ "%T shstk lock", W_RUN, N_SHSTK, A_NONE, false, 1, F_CET },
	{ "%T call %A", W_RUN, N_SHSTK, A_SMALL, false, 8, F_CET },
	{ "%T ret %A", W_RUN, N_SHSTK, A_SMALL, false, 8, F_CET },
	{ "shstk-regset %T set top", W_PTRACE, N_SHSTK, A_NONE, false, 3, F_CET },
	{ "shstk-regset %T set top-%A", W_PTRACE, N_SHSTK, A_SMALL, false, 3, F_CET },
	{ "shstk-regset %T set 0x%W", W_PTRACE, N_SHSTK, A_NONE, false, 2, F_CET },
	/* User interrupts. */
	{ "%T uintr register", W_RUN, N_UINTR, A_NONE, false, 12, F_UINTR },
	{ "%T uintr unregister", W_RUN, N_UINTR, A_NONE, false, 2, F_UINTR },
	{ "%T senduipi %U", W_RUN, N_UINTR, A_NONE, true, 25, F_UINTR },
	{ "%T run", W_RUN, N_UINTR, A_NONE, false, 8, F_UINTR },
	/* perf's LBR context (an independent feature). */
	{ "perf lbr %T", W_PTRACE, N_LBR, A_NONE, false, 3, F_LBR },
	{ "perf lbr %T off", W_PTRACE, N_LBR, A_NONE, false, 1, F_LBR },
	{ "%T branch 0x401000 0x402000", W_RUN, N_LBR, A_NONE, false, 6, F_LBR },
};
#define NTMPL (sizeof(tmpls) / sizeof(tmpls[0]))

/* XSTATE_BV bits worth flipping: FP, SSE, AVX, AVX-512, PKRU, supervisor
 * ones (PASID, CET_U, CET_S, UINTR), AMX, and bits no CPU has. */
static const uint8_t xbits[] = { 0, 1, 2, 5, 6, 7, 9, 10, 11, 12, 14, 17, 18, 20, 62, 63 };

unsigned xe_feat_count(void)
{
	return NTMPL;
}

/* Templates whose verb this build has (the verb sets are registered by
 * their issues; a missing one just leaves its operations out). */
static bool have_verb[NTMPL];
static pthread_once_t verbs_once = PTHREAD_ONCE_INIT;

static void find_verbs(void)
{
	for (unsigned i = 0; i < NTMPL; i++) {
		char w[3][32] = { "", "", "" };

		sscanf(tmpls[i].fmt, "%31s %31s", w[0], w[1]);
		have_verb[i] = sim_verb_find(SIM_VERB_STMT, w[0]) ||
			       (w[0][0] == '%' && sim_verb_find(SIM_VERB_TASK, w[1]));
	}
}

static bool need_ok(const struct sim_machine *m, unsigned ti)
{
	const struct xk_kernel *k = &m->k;
	uint8_t need = tmpls[ti].need;

	pthread_once(&verbs_once, find_verbs);
	if (!have_verb[ti])
		return false;

	switch ((enum need)need) {
	case N_ANY:
		return true;
	case N_AMX:
		return (k->xcr0 & XS_BIT(XS_C_XTILEDATA)) && k->dynamic;
	case N_PREALLOC:
		return k->policy.xfd_prealloc && (k->xcr0 & XS_BIT(XS_C_XTILEDATA));
	case N_HARVEST:
		return k->policy.xfd_harvest && (k->xcr0 & XS_BIT(XS_C_XTILEDATA));
	case N_SHSTK:
		return xk_shstk_supported(k);
	case N_UINTR:
		return xk_uintr_enabled(k);
	case N_LBR:
		return (k->xss & XS_BIT(XS_C_LBR)) != 0;
	}
	return false;
}

/* ---- Choosing one ---- */

static unsigned pick_task(struct xe_exec *x, struct sim_prng *r, uint8_t who)
{
	unsigned cand[64], n = 0;

	for (unsigned i = 0; i < x->nlive && n < 64; i++) {
		unsigned name = x->live[i];
		const struct sim_task *t = xe_task(x, name);
		int cpu;

		if ((name & XE_KT) || !t || t->state == SIM_T_EXITED)
			continue;
		cpu = xe_task_cpu(t);
		if (who == W_RUN && (cpu < 0 || xe_cpu_busy(x->m, (unsigned)cpu)))
			continue;
		if (who == W_PTRACE && cpu >= 0 && xe_cpu_busy(x->m, (unsigned)cpu))
			continue;
		cand[n++] = name;
	}
	return n ? cand[sim_prng_below(r, n)] : 0;
}

bool xe_feat_gen(struct xe_exec *x, struct sim_prng *r, struct xe_op *op)
{
	unsigned w[NTMPL], total = 0, v, k = 0;
	const struct tmpl *t;

	for (unsigned i = 0; i < NTMPL; i++) {
		w[i] = ((x->cfg->feats >> tmpls[i].family) & 1) && need_ok(x->m, i)
			       ? tmpls[i].weight : 0;
		if (!strncmp(tmpls[i].fmt, "alloc-fail", 10))
			w[i] = x->alloc_armed ? (strstr(tmpls[i].fmt, "off") ? 150 : 0) : w[i];
		total += w[i];
	}
	if (!total)
		return false;
	v = (unsigned)sim_prng_below(r, total);
	while (v >= w[k])
		v -= w[k++];
	t = &tmpls[k];
	memset(op, 0, sizeof(*op));
	op->kind = XE_STMT;
	op->reg = (uint16_t)k;
	if (t->who != W_NONE && !(op->task = (uint16_t)pick_task(x, r, t->who)))
		return false;
	if (t->two && !(op->task2 = (uint16_t)pick_task(x, r, W_PTRACE)))
		return false;
	switch ((enum aux)t->aux) {
	case A_REG:
		op->aux = (uint16_t)sim_prng_below(r, x->regs->n);
		break;
	case A_XBIT:
		op->aux = xbits[sim_prng_below(r, sizeof(xbits))];
		break;
	case A_HDR:
		op->aux = (uint16_t)(8 + sim_prng_below(r, 56));
		break;
	case A_TMM:
		op->aux = (uint16_t)sim_prng_below(r, 8);
		break;
	case A_SMALL:
		op->aux = (uint16_t)(1 + sim_prng_below(r, 4));
		break;
	case A_NONE:
		break;
	}
	op->val = (uint32_t)sim_prng_next(r);
	if (!(op->val & 0xFF))
		op->val |= 1;
	return true;
}

bool xe_feat_legal(const struct xe_exec *x, const struct xe_op *op)
{
	const struct tmpl *t;
	const struct sim_task *a, *b;

	if (op->reg >= NTMPL)
		return false;
	t = &tmpls[op->reg];
	if (!need_ok(x->m, op->reg))
		return false;
	if (t->who != W_NONE) {
		int cpu;

		a = xe_task(x, op->task);
		if (!a || a->kind != SIM_USER || a->state == SIM_T_EXITED)
			return false;
		cpu = xe_task_cpu(a);
		if (t->who == W_RUN && (cpu < 0 || xe_cpu_busy(x->m, (unsigned)cpu)))
			return false;
		if (t->who == W_PTRACE && cpu >= 0 && xe_cpu_busy(x->m, (unsigned)cpu))
			return false;
	}
	if (t->two) {
		b = xe_task(x, op->task2);
		if (!b || b->kind != SIM_USER || b->state == SIM_T_EXITED)
			return false;
	}
	if (t->aux == A_REG && op->aux >= x->regs->n)
		return false;
	return true;
}

/* ---- Text ---- */

static void tname(unsigned name, char *buf, size_t len)
{
	snprintf(buf, len, "%c%u", (name & XE_KT) ? 'k' : 't', name & ~XE_KT);
}

int xe_feat_format(const struct xe_exec *x, const struct xe_config *c, const struct xe_op *op,
		   char *buf, size_t len)
{
	const struct tmpl *t;
	size_t pos = 0;
	char tmp[64];

	if (op->reg >= NTMPL)
		return snprintf(buf, len, "note unknown feature operation %u", op->reg);
	t = &tmpls[op->reg];
	buf[0] = '\0';
	for (const char *f = t->fmt; *f && pos + 1 < len; f++) {
		if (*f != '%' || !f[1]) {
			buf[pos++] = *f;
			continue;
		}
		f++;
		tmp[0] = '\0';
		switch (*f) {
		case 'T':
			tname(op->task, tmp, sizeof(tmp));
			break;
		case 'U':
			tname(op->task2, tmp, sizeof(tmp));
			break;
		case 'V':
			snprintf(tmp, sizeof(tmp), "0x%02x", op->val & 0xFF);
			break;
		case 'W':
			snprintf(tmp, sizeof(tmp), "%x", op->val);
			break;
		case 'A':
			if (t->aux == A_REG)
				snprintf(tmp, sizeof(tmp), "%s",
					 c->regs && op->aux < c->regs->n ? c->regs->r[op->aux].name : "xmm0");
			else if (t->aux == A_SMALL && strstr(t->fmt, "top-"))
				snprintf(tmp, sizeof(tmp), "%u", 8u * op->aux);
			else
				snprintf(tmp, sizeof(tmp), "%u", op->aux);
			break;
		default:
			tmp[0] = *f;
			tmp[1] = '\0';
			break;
		}
		pos += (size_t)snprintf(buf + pos, len - pos, "%s", tmp);
		if (pos >= len)
			pos = len - 1;
	}
	buf[pos] = '\0';
	(void)x;
	return (int)pos;
}

/* ---- Parsing one line in a small symbol table ---- */

struct mini {
	struct sim_parser p;
	struct sim_scenario sc;
	struct sim_symbol sym[2];
	char procs[2][SIM_NAME_MAX];
	struct sim_task *task[2];
	struct sim_process *proc[2];
	char words[512];
};

static int split(char *s, char **argv)
{
	int n = 0;

	while (*s && n < SIM_MAX_ARGS) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		argv[n++] = s;
		while (*s && *s != ' ')
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

static void add_sym(struct mini *mi, struct sim_task *t)
{
	unsigned i = mi->p.ntasks;

	for (unsigned j = 0; j < i; j++)
		if (mi->task[j] == t)
			return;
	memset(&mi->sym[i], 0, sizeof(mi->sym[i]));
	snprintf(mi->sym[i].name, sizeof(mi->sym[i].name), "%s", t->name);
	mi->sym[i].kind = t->kind;
	mi->sym[i].proc = i + 1;
	snprintf(mi->procs[i], SIM_NAME_MAX, "%s", t->proc ? t->proc->name : t->name);
	mi->task[i] = t;
	mi->proc[i] = t->proc;
	mi->p.ntasks = mi->p.nprocs = i + 1;
}

/* A fingerprint of what a statement may change before it reports an
 * error: kernel bookkeeping, counters, the simulator's hooks. */
static uint64_t fingerprint(const struct sim_machine *m)
{
	const struct xk_stats *st = &m->k.stats;
	uint64_t h = 0xCBF29CE484222325ULL;

#define FP(v) (h = (h ^ (uint64_t)(v)) * 0x100000001B3ULL)
	for (unsigned i = 0; i < m->ncpus; i++) {
		const struct xk_cpu *c = &m->k.cpu[i];
		FP((uintptr_t)c->current);
		FP((uintptr_t)c->owner);
		FP(c->user_mode | c->irq_depth << 1 | c->nmi_depth << 8 | c->kernel_fpu_allowed << 16);
		FP(xs_cr0_ts(c->hw));
		FP(xs_xfd(c->hw));
		FP(xs_xinuse(c->hw));
	}
	FP(st->saves);
	FP(st->restores);
	FP(st->restores_skipped);
	FP(st->switches);
	FP(st->kfpu_sections);
	FP(st->signals);
	FP(st->warnings);
	FP(st->pkru_writes);
	FP(st->indep_saves);
	FP(st->indep_restores);
	FP(m->k.mem.allocs);
	FP(m->k.mem.frees);
	FP(m->ntasks);
	/* Not m->deliver_signal / k.alloc_fail: the user-ABI verbs install
	 * theirs on first use, even by a statement that then fails; without
	 * an installed handler or an alloc-fail knob they act as the defaults. */
	for (const struct xk_task *t = m->k.tasks; t; t = t->all_next) {
		FP(t->need_load);
		FP(t->fpu.last_cpu);
		FP((uintptr_t)t->fpu.fpstate);
		FP(t->on_cpu);
	}
#undef FP
	return h;
}

int xe_feat_exec(struct xe_exec *x, const struct xe_op *op)
{
	struct sim_machine *m = x->m;
	struct mini *mi = malloc(sizeof(*mi));
	struct sim_stmt s;
	const struct sim_verb *v;
	struct sim_task **save_b, *a, *b;
	struct sim_process **save_p;
	unsigned save_nb, save_np;
	uint64_t before;
	int rc;

	if (!mi)
		return sim_error(m, "out of memory");
	memset(mi, 0, sizeof(*mi));
	memset(&s, 0, sizeof(s));
	mi->p.file = "explore";
	mi->p.line = 1;
	mi->p.sc = &mi->sc;
	mi->p.have_machine = true;
	mi->p.model = (struct xs_model *)&x->cfg->model;
	mi->p.ncpus = m->ncpus;
	mi->p.tasks = mi->sym;
	mi->p.cap_tasks = 2;
	mi->p.procs = mi->procs;
	mi->p.cap_procs = 2;
	mi->sc.model = x->cfg->model;
	mi->sc.ncpus = m->ncpus;
	mi->sc.policy = m->k.policy;
	a = xe_task(x, op->task);
	b = xe_task(x, op->task2);
	if (a)
		add_sym(mi, a);
	if (b)
		add_sym(mi, b);
	xe_feat_format(x, x->cfg, op, mi->words, sizeof(mi->words));
	s.text = strdup(mi->words);
	s.line = 1;
	s.argc = split(mi->words, s.argv);
	rc = SIM_ERROR;
	if (!s.argc || !s.text)
		goto out;
	v = sim_verb_find(SIM_VERB_STMT, s.argv[0]);
	if (!v && s.argc > 1)
		v = sim_verb_find(SIM_VERB_TASK, s.argv[1]);
	if (!v) {
		rc = sim_error(m, "explore: no verb for '%s'", s.text);
		goto out;
	}
	s.verb = v;
	if (v->parse && v->parse(&mi->p, &s)) {
		rc = sim_error(m, "explore: '%s': %s", s.text, mi->p.err);
		goto out;
	}
	/* Bind the statement's symbols (1, 2) to the tasks it names. */
	save_b = m->bysym;
	save_nb = m->nbysym;
	save_p = m->procsym;
	save_np = m->nprocsym;
	m->bysym = mi->task;
	m->nbysym = mi->p.ntasks;
	m->procsym = mi->proc;
	m->nprocsym = mi->p.nprocs;
	if (a)
		x->dirty |= xe_task_cpu(a) >= 0 ? 1ULL << xe_task_cpu(a) : 0;
	if (b)
		x->dirty |= xe_task_cpu(b) >= 0 ? 1ULL << xe_task_cpu(b) : 0;
	before = fingerprint(m);
	rc = v->exec(m, &s);
	m->bysym = save_b;
	m->nbysym = save_nb;
	m->procsym = save_p;
	m->nprocsym = save_np;
	if (a && xe_task_cpu(a) >= 0)
		x->dirty |= 1ULL << xe_task_cpu(a);
	if (b && xe_task_cpu(b) >= 0)
		x->dirty |= 1ULL << xe_task_cpu(b);
	/* Feature statements can move tasks and touch any CPU (a signal
	 * switches a tracee out, senduipi notifies another CPU): check all. */
	x->dirty = ~0ULL;
	if (rc == SIM_ERROR && fingerprint(m) == before)
		rc = XE_SKIP;
	if (rc == SIM_OK && !strncmp(tmpls[op->reg].fmt, "alloc-fail", 10))
		x->alloc_armed = !strstr(tmpls[op->reg].fmt, "off");
out:
	free(s.text);
	free(s.a.val);
	free(s.a.ext);
	free(mi);
	return rc;
}
