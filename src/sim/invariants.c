/* Named invariants of the kernel manager, checked after every step.
 *
 * The simulator's own check (shadow.c: "shadow" and "leak") compares what
 * a running task can observe with what its own instructions wrote. The
 * checks here look at what it cannot observe directly, each named after
 * the rule it enforces (linux-design.md section 11; users-and-bugs.md
 * section 2 ties real bugs to them):
 *
 *   lazyfp     a task running user code never has another task's values
 *              in its CPU's registers, not even behind a trap (CR0.TS,
 *              XFD): speculation past #NM reads them (LazyFP,
 *              CVE-2018-3665). Invariant 1 with users-and-bugs 2.
 *   kernel     no kernel XSAVE/XRSTOR(S)/WRMSR faults (ex_handler_fprestore),
 *              no WARN of any kind.
 *   ownership  fpregs_state_valid() is sound: whenever owner[c] == T and
 *              T.last_cpu == c, CPU c's registers hold T's state; user mode
 *              implies TIF_NEED_FPU_LOAD clear and T the owner; a clear
 *              flag implies the task is current with its registers live;
 *              an owner is a live user task. Invariants 2 and 3.
 *   xfd        IA32_XFD equals the per-CPU cache and, in user mode, the
 *              running task's fpstate->xfd. Invariant 6.
 *   buffer     xfd and xfeatures disjoint in the dynamic features, the
 *              default buffer armed for all of them, compacted buffers
 *              with xcomp_bv = xfeatures | bit 63 and XSTATE_BV inside it,
 *              sizes at least what the features need, buffers that only
 *              grow until exec. Invariants 7, 8, 9.
 *   memory     the kernel's byte count equals the sum of the live tasks'
 *              buffers and is back to zero when no task is left; no CPU
 *              names a freed task as owner.
 *
 * The feature invariants (supervisor, rejected, perm, uintr, fsgs, guest)
 * use the kernel's user-ABI and special-state records; see the functions
 * below for what each compares.
 *
 * Cost: every check is O(CPUs + tasks) pointer and integer tests; the two
 * that compare register bytes (lazyfp behind a trap, ownership for a
 * CPU whose registers are claimed valid for a task not in user mode) skip
 * components whose XINUSE bit says they are in their initial state. The
 * explorer passes the CPUs the last step touched; a scenario checks all.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"
#include "xstate/explore.h"
#include "xstate/kernel_abi.h"
#include "xstate/kernel_kvm.h"
#include "xstate/kernel_special.h"

static const struct {
	const char *name;
	const char *desc;
} invs[SIM_INV_COUNT] = {
	[SIM_INV_SHADOW] = { "shadow", "every running task observes exactly its shadow registers" },
	[SIM_INV_LEAK] = { "leak", "no task observes another task's, the kernel's or a guest's values" },
	[SIM_INV_LAZYFP] = { "lazyfp", "no foreign value in a running task's registers, not even "
			     "behind CR0.TS or XFD (LazyFP, CVE-2018-3665)" },
	[SIM_INV_KERNEL] = { "kernel", "no kernel XSAVE/XRSTOR(S)/WRMSR faults, no WARN, no oops" },
	[SIM_INV_OWNERSHIP] = { "ownership", "owner/last_cpu/TIF_NEED_FPU_LOAD consistent; a "
				"skipped restore is always sound" },
	[SIM_INV_XFD] = { "xfd", "IA32_XFD == per-CPU cache == the running task's fpstate xfd" },
	[SIM_INV_BUFFER] = { "buffer", "buffer sizes, xcomp_bv, XSTATE_BV and xfd rules; buffers "
			     "only grow until exec" },
	[SIM_INV_MEMORY] = { "memory", "buffer accounting equals the live buffers; back to zero "
			     "when no task is left; no freed owner" },
	[SIM_INV_SUPERVISOR] = { "supervisor", "supervisor state never changes from user-"
				 "controlled input (sigreturn, ptrace, KVM)" },
	[SIM_INV_REJECTED] = { "rejected", "a rejected sigreturn/ptrace/guest write changes "
			       "nothing" },
	[SIM_INV_PERM] = { "perm", "permissions live in the leader, only grow, and match the "
			   "buffer sizes" },
	[SIM_INV_UINTR] = { "uintr", "pending user interrupts are not lost" },
	[SIM_INV_FSGS] = { "fsgs", "FS/GS selectors and bases follow the chosen policy "
			   "(the simulator's check, verbs_fsgs.c)" },
	[SIM_INV_GUEST] = { "guest", "host XCR0/XSS/XFD_ERR outside the VM-entry window, the "
			    "guest's inside (the simulator's check, verbs_kvm.c)" },
	[SIM_INV_PKRU] = { "pkru", "PKRU holds the running task's value from the switch on, "
			   "kernel mode included (kernel accesses obey it)" },
};

const char *sim_inv_name(enum sim_inv i)
{
	return (unsigned)i < SIM_INV_COUNT ? invs[i].name : NULL;
}

const char *sim_inv_desc(enum sim_inv i)
{
	return (unsigned)i < SIM_INV_COUNT ? invs[i].desc : NULL;
}

int sim_inv_lookup(const char *name)
{
	for (unsigned i = 0; i < SIM_INV_COUNT; i++)
		if (!strcmp(name, invs[i].name))
			return (int)i;
	return -1;
}

int sim_inv_parse(const char *list, uint64_t *mask, char *err, size_t errlen)
{
	char word[64];
	uint64_t m = 0;
	const char *p = list;

	if (!list || !*list) {
		snprintf(err, errlen, "empty invariant list");
		return -1;
	}
	while (*p) {
		size_t n = strcspn(p, ",| ");
		bool minus = false;
		const char *w = word;
		int i;

		if (n == 0) {
			p++;
			continue;
		}
		if (n >= sizeof(word)) {
			snprintf(err, errlen, "invariant name too long");
			return -1;
		}
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		if (w[0] == '-') {
			minus = true;
			w++;
		}
		if (!strcmp(w, "all")) {
			m = minus ? 0 : SIM_INV_ALL;
			continue;
		}
		if (!strcmp(w, "none")) {
			if (!minus)
				m = 0;
			continue;
		}
		i = sim_inv_lookup(w);
		if (i < 0) {
			size_t pos = (size_t)snprintf(err, errlen, "unknown invariant '%s' (known: all none",
						      w);
			for (unsigned j = 0; j < SIM_INV_COUNT && pos < errlen; j++)
				pos += (size_t)snprintf(err + pos, errlen - pos, " %s", invs[j].name);
			if (pos < errlen)
				snprintf(err + pos, errlen - pos, ")");
			return -1;
		}
		if (minus)
			m &= ~SIM_INV_BIT(i);
		else
			m |= SIM_INV_BIT(i);
	}
	*mask = m;
	return 0;
}

const char *sim_inv_format(uint64_t mask, char *buf, size_t len)
{
	size_t pos = 0;

	if ((mask & SIM_INV_ALL) == SIM_INV_ALL) {
		snprintf(buf, len, "all");
		return buf;
	}
	buf[0] = '\0';
	for (unsigned i = 0; i < SIM_INV_COUNT && pos < len; i++)
		if (mask & SIM_INV_BIT(i))
			pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", pos ? "," : "",
						invs[i].name);
	if (!pos)
		snprintf(buf, len, "none");
	return buf;
}

/* ---- State ---- */

/* What the checks remember of one task between steps (by sim task id). */
struct inv_task {
	const struct xk_fpstate *fps;  /* active buffer last validated */
	uint64_t xfeatures, user_xfeatures;
	uint32_t size, user_size;
	uint32_t max_size;             /* largest active buffer since exec */
	const struct xk_fpstate *prealloc; /* a pre-allocated buffer it must keep */
	uint64_t perm;                 /* group permission last seen (grow-only) */
	const struct xk_task *leader;  /* ... of this group leader */
};

/* A user-input write the next check looks at (sim_inv_before). */
enum pend_kind { PEND_NONE = 0, PEND_PTRACE, PEND_KVM };

struct sim_inv_state {
	uint64_t warnings;      /* k->stats.warnings already reported */
	enum pend_kind pend;
	struct sim_task *pend_task;  /* the tracee */
	char pend_query[96];         /* the expectation that holds if the write was accepted */
	char pend_what[96];
	uint64_t pend_hash;          /* its state before */
	/* The step in progress (sim_inv_step_begin): who ran where before it. */
	struct sim_task *before[SIM_MAX_CPUS];
	bool have_before;
	/* Memory accounting last verified at these counters. */
	bool mem_valid;
	uint64_t mem_allocs, mem_frees;
	bool suspect;
	struct xs_cpu *init;    /* a CPU in the initial state (shadow configuration) */
	struct inv_task *t;
	unsigned nt;
};

void sim_inv_state_free(struct sim_inv_state *s)
{
	if (!s)
		return;
	xs_cpu_free(s->init);
	free(s->t);
	free(s);
}

int sim_inv_enable(struct sim_machine *m, uint64_t mask)
{
	struct sim_inv_state *s = m->inv;

	if (!m->booted)
		return sim_error(m, "invariants: no machine");
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return sim_error(m, "out of memory");
		m->inv = s;
	}
	s->warnings = m->k.stats.warnings;
	m->inv_mask = mask & ~SIM_INV_BUILTIN;
	return SIM_OK;
}

bool sim_inv_suspect(const struct sim_machine *m)
{
	return m->inv && m->inv->suspect;
}

static struct inv_task *inv_task(struct sim_machine *m, const struct sim_task *t)
{
	struct sim_inv_state *s = m->inv;

	if (t->id > s->nt) {
		unsigned n = t->id + 16;
		struct inv_task *nt = realloc(s->t, n * sizeof(*nt));
		if (!nt)
			return NULL;
		memset(nt + s->nt, 0, (n - s->nt) * sizeof(*nt));
		s->t = nt;
		s->nt = n;
	}
	return &s->t[t->id - 1];
}

static const char *tname(const struct xk_task *t)
{
	const struct sim_task *st;

	if (!t)
		return "nobody";
	st = t->sim;
	return st ? st->name : t->name;
}

/* ---- Register comparisons ---- */

/* First differing byte of comp between two CPUs over the compared ranges,
 * or -1 if equal. */
static long comp_diff(const struct sim_machine *m, const struct xs_cpu *a, const struct xs_cpu *b,
		      unsigned comp)
{
	const uint8_t *x = xs_comp_regs(a, comp), *y = xs_comp_regs(b, comp);
	struct sim_range r[4];
	unsigned nr = sim_comp_ranges(m, comp, r);

	if (!x || !y)
		return -1;
	for (unsigned i = 0; i < nr; i++) {
		if (!memcmp(x + r[i].off, y + r[i].off, r[i].len))
			continue;
		for (unsigned j = 0; j < r[i].len; j++)
			if (x[r[i].off + j] != y[r[i].off + j])
				return r[i].off + j;
	}
	return -1;
}

/* The component is certainly in its initial configuration on hw. */
static bool comp_is_init(struct sim_machine *m, const struct xs_cpu *hw, unsigned comp)
{
	if (comp >= 2 && m->model->impl.xinuse_tracking && !(xs_xinuse(hw) & XS_BIT(comp)))
		return true;
	/* A CPU in the initial state, made on first need (rarely needed). */
	if (!m->inv->init && !(m->inv->init = sim_shadow_new(m)))
		return false;
	return comp_diff(m, hw, m->inv->init, comp) < 0;
}

static void diff_text(char *buf, size_t len, const struct xs_cpu *hw, const struct xs_cpu *sh,
		      unsigned comp, long off)
{
	const uint8_t *a = xs_comp_regs(hw, comp), *b = xs_comp_regs(sh, comp);

	sim_format_diff(buf, len, a + off, b + off, 8, (size_t)off);
}

/* ---- lazyfp ---- */

static int check_lazyfp(struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];
	const struct xs_cpu *hw = c->hw;
	struct sim_task *t = c->current ? c->current->sim : NULL;
	uint64_t hidden;
	bool ts;

	if (!c->user_mode || !t || t->kind != SIM_USER || t->state == SIM_T_EXITED)
		return SIM_OK;
	ts = xs_cr0_ts(hw);
	hidden = m->shadow_mask & xs_xcr0(hw);
	if (!ts)
		hidden &= xs_xfd(hw);
	while (hidden) {
		unsigned comp = (unsigned)__builtin_ctzll(hidden);
		unsigned w;
		bool self = false;
		long off;
		char d[160], nb[SIM_NAME_MAX + 8];

		hidden &= hidden - 1;
		if (comp >= 2 && m->model->impl.xinuse_tracking && !(xs_xinuse(hw) & XS_BIT(comp)))
			continue;
		off = comp_diff(m, hw, t->shadow, comp);
		if (off < 0 || comp_is_init(m, hw, comp))
			continue;
		if (!m->check.values) {
			m->inv->suspect = true; /* the explorer replays with tags */
			continue;
		}
		w = sim_value_writer(m, hw, comp, t->id, &self);
		if (self || w == t->id)
			continue; /* its own older value: not foreign */
		diff_text(d, sizeof(d), hw, t->shadow, comp, off);
		return sim_fail(m, "lazyfp", "lazyfp: %s runs in user mode on cpu%u while %s holds "
				"%s%s value behind %s (LazyFP, CVE-2018-3665: speculation past the "
				"trap reads it): %s", t->name, cpu, xs_comp_name(comp),
				sim_writer_name(m, w, nb, sizeof(nb)),
				w == SIM_WRITER_KERNEL ? "'s FPU code's" : "'s",
				ts ? "CR0.TS" : "XFD", d);
	}
	return SIM_OK;
}

/* ---- kernel ---- */

static int check_kernel(struct sim_machine *m)
{
	struct sim_inv_state *s = m->inv;

	if (m->k.stats.warnings == s->warnings)
		return SIM_OK;
	s->warnings = m->k.stats.warnings;
	return sim_fail(m, "kernel", "kernel: WARN %s", m->k.last_warning);
}

/* ---- ownership ---- */

static int check_ownership_cpu(struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];
	const struct xk_task *cur = c->current, *own = xk_fpu_task(c->owner);
	const struct sim_task *so;
	uint64_t mask;

	if (own) {
		if (own->flags & XK_TF_DEAD)
			return sim_fail(m, "ownership", "ownership: cpu%u's register owner %s was "
					"released (use after free of its fpu)", cpu, tname(own));
		if (own->flags & (XK_TF_KTHREAD | XK_TF_USER_WORKER))
			return sim_fail(m, "ownership", "ownership: cpu%u's register owner is kernel "
					"thread %s", cpu, tname(own));
	}
	if (c->user_mode) {
		if (!cur || (cur->flags & (XK_TF_KTHREAD | XK_TF_USER_WORKER)))
			return sim_fail(m, "ownership", "ownership: cpu%u is in user mode without a "
					"user task", cpu);
		/* With CR0.TS set (lazy restore) the #NM handler loads first. */
		if (!xs_cr0_ts(c->hw)) {
			if (cur->need_load)
				return sim_fail(m, "ownership", "ownership: %s runs user code on cpu%u "
						"with TIF_NEED_FPU_LOAD set", tname(cur), cpu);
			if (c->owner != &cur->fpu || cur->fpu.last_cpu != (int)cpu)
				return sim_fail(m, "ownership", "ownership: %s runs user code on cpu%u "
						"but owner is %s and last_cpu %d", tname(cur), cpu,
						tname(own), cur->fpu.last_cpu);
		}
	}
	/* Soundness of the shortcut: registers claimed valid for own must be
	 * its state. The running task with TIF_NEED_FPU_LOAD clear (user or
	 * kernel mode) is what sim_check() compares already. */
	if (!own || own->fpu.last_cpu != (int)cpu || !(so = own->sim) || !so->shadow ||
	    so->state == SIM_T_EXITED)
		return SIM_OK;
	if (cur == own && !own->need_load && c->kernel_fpu_allowed && !xs_cr0_ts(c->hw))
		return SIM_OK;
	/* A vCPU task with its guest fpstate installed: the registers are the
	 * guest's, which the KVM check compares with the guest's shadow. */
	if (own->fpu.fpstate->is_guest)
		return SIM_OK;
	mask = m->shadow_mask & xs_xcr0(c->hw) & ~own->fpu.fpstate->xfd;
	while (mask) {
		unsigned comp = (unsigned)__builtin_ctzll(mask);
		long off;
		char d[160], nb[SIM_NAME_MAX + 8];

		mask &= mask - 1;
		if (comp >= 2 && m->model->impl.xinuse_tracking &&
		    !(xs_xinuse(c->hw) & XS_BIT(comp)) && !(xs_xinuse(so->shadow) & XS_BIT(comp)))
			continue;
		off = comp_diff(m, c->hw, so->shadow, comp);
		if (off < 0)
			continue;
		diff_text(d, sizeof(d), c->hw, so->shadow, comp, off);
		if (m->check.values) {
			bool self = false;
			unsigned w = sim_value_writer(m, c->hw, comp, so->id, &self);
			return sim_fail(m, "ownership", "ownership: cpu%u's registers are taken as %s's "
					"(owner and last_cpu match, a restore would be skipped) but %s "
					"holds %s: %s", cpu, so->name, xs_comp_name(comp),
					self ? "a stale value of its own" :
					w == SIM_WRITER_INIT ? "the initial configuration" :
					sim_writer_name(m, w, nb, sizeof(nb)), d);
		}
		return sim_fail(m, "ownership", "ownership: cpu%u's registers are taken as %s's (owner "
				"and last_cpu match, a restore would be skipped) but %s differs: %s",
				cpu, so->name, xs_comp_name(comp), d);
	}
	return SIM_OK;
}

/* A task's TIF_NEED_FPU_LOAD clear means its registers are live on the
 * CPU it is current on (invariant 3). */
static int check_ownership_task(struct sim_machine *m, const struct xk_task *t)
{
	if (t->on_cpu < 0)
		return sim_fail(m, "ownership", "ownership: %s is not running but "
				"TIF_NEED_FPU_LOAD is clear (its registers are gone)", tname(t));
	if (m->k.cpu[t->on_cpu].owner != &t->fpu || t->fpu.last_cpu != t->on_cpu)
		return sim_fail(m, "ownership", "ownership: %s has TIF_NEED_FPU_LOAD clear on "
				"cpu%d but owner is %s and last_cpu %d", tname(t), t->on_cpu,
				tname(xk_fpu_task(m->k.cpu[t->on_cpu].owner)), t->fpu.last_cpu);
	return SIM_OK;
}

/* ---- xfd ---- */

static int check_xfd_cpu(struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];
	uint64_t hw = xs_xfd(c->hw);

	if (!m->model->has_xfd)
		return SIM_OK;
	if (hw != c->xfd_state)
		return sim_fail(m, "xfd", "xfd: cpu%u's IA32_XFD is %#llx but the kernel's per-CPU "
				"cache says %#llx", cpu, (unsigned long long)hw,
				(unsigned long long)c->xfd_state);
	if (c->user_mode && c->current && !xs_cr0_ts(c->hw) &&
	    hw != c->current->fpu.fpstate->xfd)
		return sim_fail(m, "xfd", "xfd: %s runs user code on cpu%u with IA32_XFD %#llx, its "
				"buffer's xfd is %#llx", tname(c->current), cpu,
				(unsigned long long)hw,
				(unsigned long long)c->current->fpu.fpstate->xfd);
	return SIM_OK;
}

/* ---- buffer ---- */

static int check_buffer_task(struct sim_machine *m, const struct xk_task *t)
{
	const struct xk_kernel *k = &m->k;
	const struct xk_fpstate *fps = t->fpu.fpstate;
	const struct sim_task *st = t->sim;
	struct inv_task *it;
	uint64_t bv, cbv;

	if (!fps)
		return sim_fail(m, "buffer", "buffer: %s has no active buffer", tname(t));
	if (fps->xfd & fps->xfeatures & k->tax.user_dynamic)
		return sim_fail(m, "buffer", "buffer: %s's buffer has room for %#llx but XFD arms "
				"%#llx of it (invariant 7)", tname(t),
				(unsigned long long)fps->xfeatures, (unsigned long long)fps->xfd);
	if (fps == t->fpu.default_fpstate && !fps->is_guest && fps->xfd != k->init_xfd)
		return sim_fail(m, "buffer", "buffer: %s's default buffer has xfd %#llx, not %#llx",
				tname(t), (unsigned long long)fps->xfd,
				(unsigned long long)k->init_xfd);
	bv = xk_fpstate_xstate_bv(fps);
	cbv = xk_fpstate_xcomp_bv(fps);
	if (k->compacted) {
		if (cbv != (fps->xfeatures | XS_COMPACTED_BIT))
			return sim_fail(m, "buffer", "buffer: %s's compacted buffer has xcomp_bv "
					"%#llx, not xfeatures|bit63 = %#llx (invariant 8)", tname(t),
					(unsigned long long)cbv,
					(unsigned long long)(fps->xfeatures | XS_COMPACTED_BIT));
	} else if (cbv) {
		return sim_fail(m, "buffer", "buffer: %s's standard-format buffer has xcomp_bv %#llx",
				tname(t), (unsigned long long)cbv);
	}
	if (bv & ~fps->xfeatures)
		return sim_fail(m, "buffer", "buffer: %s's buffer has XSTATE_BV %#llx outside its "
				"xfeatures %#llx (XRSTORS would #GP)", tname(t),
				(unsigned long long)bv, (unsigned long long)fps->xfeatures);
	/* Reserved header bytes 16-63 (invariants 8, 10): XRSTORS #GPs. */
	for (unsigned b = XS_HDR_OFFSET + 16; b < XS_HDR_OFFSET + XS_HDR_SIZE; b += 8) {
		uint64_t w;

		memcpy(&w, fps->regs + b, 8);
		if (w)
			return sim_fail(m, "buffer", "buffer: %s's buffer has reserved header bytes "
					"%u-%u = %#llx (XRSTORS would #GP)", tname(t),
					b - XS_HDR_OFFSET, b - XS_HDR_OFFSET + 7,
					(unsigned long long)w);
	}
	if (!st || !(it = inv_task(m, st)))
		return SIM_OK;
	/* Inside KVM_RUN the guest fpstate is the active one; the rules below
	 * are about the task's own buffer, waiting in task_fpstate. */
	if (fps->is_guest && !(fps = t->fpu.task_fpstate))
		return SIM_OK;
	/* A pre-allocated buffer is the task's until exec (seed 004: never
	 * harvested, so a later first use cannot fail). */
	if (fps->is_prealloc)
		it->prealloc = fps;
	else if (it->prealloc) {
		const struct xk_perm *gp = xk_group_perm((struct xk_task *)t);

		if (gp && gp->state_perm == k->kcfg.default_features)
			it->prealloc = NULL; /* exec reset the permissions */
		else
			return sim_fail(m, "buffer", "buffer: %s's pre-allocated buffer was taken "
					"away (now %u bytes, %s)", tname(t), fps->size,
					fps == t->fpu.default_fpstate ? "the default one" : "another");
	}
	if (it->fps != fps || it->xfeatures != fps->xfeatures || it->size != fps->size ||
	    it->user_xfeatures != fps->user_xfeatures || it->user_size != fps->user_size) {
		uint32_t need = xk_calc_size(k, fps->xfeatures, k->compacted);
		uint32_t uneed = xk_calc_size(k, fps->user_xfeatures, false);
		const struct xk_perm *perm = xk_group_perm((struct xk_task *)t);

		if (fps->size < need)
			return sim_fail(m, "buffer", "buffer: %s's buffer is %u bytes, its features "
					"need %u (invariant 9)", tname(t), fps->size, need);
		if (fps->user_size < uneed)
			return sim_fail(m, "buffer", "buffer: %s's user size is %u bytes, its user "
					"features need %u (invariant 9)", tname(t), fps->user_size,
					uneed);
		/* Buffers only grow until exec (which resets the permissions);
		 * harvest=on (seed 004, not Linux) shrinks by design. */
		if (fps->size < it->max_size && !k->policy.xfd_harvest &&
		    !(fps == t->fpu.default_fpstate && perm &&
		      perm->state_perm == k->kcfg.default_features))
			return sim_fail(m, "buffer", "buffer: %s's buffer shrank from %u to %u bytes "
					"without an exec (invariant 9)", tname(t), it->max_size,
					fps->size);
		if (fps->size < it->max_size)
			it->max_size = 0;
		it->fps = fps;
		it->xfeatures = fps->xfeatures;
		it->user_xfeatures = fps->user_xfeatures;
		it->size = fps->size;
		it->user_size = fps->user_size;
		if (fps->size > it->max_size)
			it->max_size = fps->size;
	}
	return SIM_OK;
}

/* ---- pkru ---- */

static uint32_t pkru_of(const struct xs_cpu *c)
{
	const uint8_t *r = xs_comp_regs(c, XS_C_PKRU);
	uint32_t v = 0;

	if (r)
		memcpy(&v, r, 4);
	return v;
}

/* Linux 5.14+ (linux-design.md invariant 22): PKRU is switched eagerly, so
 * from the switch on -- in kernel mode too, where copy_to_user obeys it --
 * the register holds the running task's value. The task's value is what its own WRPKRUs, exec, signal
 * delivery, sigreturn and ptrace left in its shadow. */
static int check_pkru_cpu(struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];
	const struct sim_task *t = c->current ? c->current->sim : NULL;
	uint32_t hw, want;

	if (!xk_pkru_enabled(&m->k) || !xs_cr4_pke(c->hw))
		return SIM_OK;
	/* Kernel threads and idle access no user memory: not checked; a guest
	 * runs with its own PKRU (KVM's). */
	if (!t || t->kind != SIM_USER || t->state == SIM_T_EXITED || !t->shadow ||
	    xk_kvm_in_guest(&m->k, cpu))
		return SIM_OK;
	hw = pkru_of(c->hw);
	want = pkru_of(t->shadow);
	if (hw == want)
		return SIM_OK;
	return sim_fail(m, "pkru", "pkru: cpu%u runs %s in %s mode with PKRU 0x%08x, its value is "
			"0x%08x (kernel accesses for it obey another task's keys)", cpu,
			t->name, c->user_mode ? "user" : "kernel", hw, want);
}

/* ---- uintr ---- */

/* A registered receiver running user code must get its interrupts: the
 * CPU recognizes its notification vector (UINV), names its UPID, and holds
 * no request it has not delivered (seed 001: a skipped restore leaves UINV
 * cleared by the switch-out XSAVES, and interrupts posted from then on are
 * never recognized). */
static int check_uintr_cpu(struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];
	const struct xk_uintr *u;
	const uint8_t *r;
	uint64_t pd, rr;

	if (!c->user_mode || !c->current || !(u = xk_uintr_of(c->current)))
		return SIM_OK;
	if (!(r = xs_comp_regs(c->hw, XS_C_UINTR)))
		return SIM_OK;
	memcpy(&pd, r + 24, 8);
	memcpy(&rr, r + 32, 8);
	if (r[20] != XK_UINTR_NV)
		return sim_fail(m, "uintr", "uintr: receiver %s runs user code on cpu%u with UINV "
				"%#x, not %#x: its user interrupts are not recognized (lost)",
				tname(c->current), cpu, r[20], XK_UINTR_NV);
	if (pd != u->upid_addr)
		return sim_fail(m, "uintr", "uintr: receiver %s runs user code on cpu%u with "
				"UINTR_PD %#llx, its UPID is at %#llx", tname(c->current), cpu,
				(unsigned long long)pd, (unsigned long long)u->upid_addr);
	if (rr || (u->upid.pir && !(u->upid.nc & XK_UPID_SN)))
		return sim_fail(m, "uintr", "uintr: receiver %s runs user code on cpu%u with "
				"undelivered user interrupts (UIRR %#llx, PIR %#llx)",
				tname(c->current), cpu, (unsigned long long)rr,
				(unsigned long long)u->upid.pir);
	return SIM_OK;
}

/* ---- supervisor ---- */

/* The task's value of supervisor component comp: the registers when they
 * are its live state, else its buffer (the initial state, all zero, when
 * XSTATE_BV says so). NULL if the model has no such component. */
static const uint8_t *sup_state(struct sim_machine *m, const struct xk_task *t, unsigned comp,
				uint8_t *zero)
{
	const struct xk_fpstate *fps = t->fpu.fpstate;
	uint32_t off;

	/* Inside KVM_RUN the guest fpstate is installed: the task's own state
	 * waits in task_fpstate, the registers are the guest's. */
	if (fps->is_guest) {
		if (!(fps = t->fpu.task_fpstate))
			return NULL;
	} else if (t->on_cpu >= 0 && !t->need_load && m->k.cpu[t->on_cpu].kernel_fpu_allowed) {
		return xs_comp_regs(m->k.cpu[t->on_cpu].hw, comp);
	}
	if (!(fps->xfeatures & XS_BIT(comp)) || !(xk_fpstate_xstate_bv(fps) & XS_BIT(comp)))
		return zero;
	off = xk_comp_offset(&m->k, fps, comp);
	return off ? fps->regs + off : zero;
}

/* Supervisor state is the kernel's: it may hold only what the kernel's own
 * records say (linux-design.md invariants 12, 20). User-controlled images
 * (frames, ptrace, KVM buffers) can never put anything else there:
 *   PASID   never assigned by this kernel: always init;
 *   CET_U   shadow stack off: U_CET = 0, PL3_SSP = 0; on: SHSTK_EN set,
 *           WRSS_EN exactly when WRSS is enabled, and PL3_SSP an 8-byte
 *           aligned user address. */
static int check_supervisor_task(struct sim_machine *m, const struct xk_task *t)
{
	const struct xk_kernel *k = &m->k;
	uint8_t zero[64] = { 0 };
	const uint8_t *r;
	uint64_t v, ucet, ssp, feat;

	if ((k->xss & XS_BIT(XS_C_PASID)) && (r = sup_state(m, t, XS_C_PASID, zero))) {
		memcpy(&v, r, 8);
		if (v)
			return sim_fail(m, "supervisor", "supervisor: %s's PASID is %#llx, but this "
					"kernel never assigned one", tname(t), (unsigned long long)v);
	}
	if (!(k->xss & XS_BIT(XS_C_CET_U)) || !(r = sup_state(m, t, XS_C_CET_U, zero)))
		return SIM_OK;
	memcpy(&ucet, r, 8);
	memcpy(&ssp, r + 8, 8);
	feat = xk_shstk_features(t);
	if (!(feat & XK_ARCH_SHSTK_SHSTK)) {
		if (ucet || ssp)
			return sim_fail(m, "supervisor", "supervisor: %s has no shadow stack, but its "
					"CET state is U_CET %#llx PL3_SSP %#llx", tname(t),
					(unsigned long long)ucet, (unsigned long long)ssp);
		return SIM_OK;
	}
	if (!(ucet & XK_CET_SHSTK_EN) || !!(ucet & XK_CET_WRSS_EN) != !!(feat & XK_ARCH_SHSTK_WRSS))
		return sim_fail(m, "supervisor", "supervisor: %s's U_CET is %#llx, its shadow-stack "
				"features %#llx", tname(t), (unsigned long long)ucet,
				(unsigned long long)feat);
	/* CALL/RET move PL3_SSP by 8 and the model has no shadow-stack memory
	 * (no #CP), so user code can take it past either end; what it cannot
	 * do is misalign it or leave user space (the bounds NT_X86_SHSTK
	 * enforces on a tracer's value). */
	if ((ssp & 7) || ssp >= XK_TASK_SIZE_MAX)
		return sim_fail(m, "supervisor", "supervisor: %s's PL3_SSP is %#llx (unaligned or "
				"not a user address): no kernel path writes that", tname(t),
				(unsigned long long)ssp);
	return SIM_OK;
}

/* ---- perm ---- */

/* Permissions (invariant 14): the group leader's record counts, includes
 * the default features, only grows until exec, and its sizes are the
 * features' sizes; a task's buffer never has room for a feature its group
 * is not permitted (first use allocates only what is permitted). */
static int check_perm_task(struct sim_machine *m, const struct xk_task *t)
{
	const struct xk_kernel *k = &m->k;
	const struct xk_perm *p = xk_group_perm((struct xk_task *)t);
	const struct sim_task *st = t->sim;
	const struct xk_fpstate *fps = t->fpu.fpstate;
	struct inv_task *it;
	uint64_t perm;

	if (!p || !t->proc || !t->proc->leader)
		return SIM_OK;
	perm = p->state_perm & ~XK_GUEST_PERM_LOCKED;
	if ((perm & k->kcfg.default_features) != k->kcfg.default_features)
		return sim_fail(m, "perm", "perm: %s's group permits %#llx, without the default "
				"features %#llx", tname(t), (unsigned long long)perm,
				(unsigned long long)k->kcfg.default_features);
	if (fps && !fps->is_guest && (fps->xfeatures & k->tax.user_dynamic & ~perm))
		return sim_fail(m, "perm", "perm: %s's buffer has room for %#llx, its group is "
				"permitted only %#llx", tname(t), (unsigned long long)fps->xfeatures,
				(unsigned long long)perm);
	if (!st || !(it = inv_task(m, st)))
		return SIM_OK;
	if (it->leader == t->proc->leader && it->perm && (it->perm & ~perm) &&
	    perm != k->kcfg.default_features)
		return sim_fail(m, "perm", "perm: %s's group permission shrank from %#llx to %#llx "
				"without an exec (a grant must OR, never overwrite)", tname(t),
				(unsigned long long)it->perm, (unsigned long long)perm);
	if (it->perm != perm || it->leader != t->proc->leader) {
		uint32_t ksz = xk_calc_size(k, perm & k->kcfg.max_features, k->compacted);

		if (p->state_size < ksz)
			return sim_fail(m, "perm", "perm: %s's group permission %#llx has state size "
					"%u, its features need %u", tname(t), (unsigned long long)perm,
					p->state_size, ksz);
		it->perm = perm;
		it->leader = t->proc->leader;
	}
	return SIM_OK;
}

/* ---- rejected ---- */

static uint64_t hmix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	return h * 0xFF51AFD7ED558CCDULL;
}

static uint64_t hbytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = hmix(h, w);
	}
	return h;
}

/* Everything of a stopped task a regset write may change. Not last_cpu:
 * Linux's xstateregs_set() invalidates it before validating the image
 * (fpu_force_restore), which only forces a reload of unchanged values. */
static uint64_t task_state_hash(const struct xk_task *t)
{
	const struct xk_fpstate *f = t->fpu.fpstate;
	const struct xk_perm *p = xk_group_perm((struct xk_task *)t);
	uint64_t h = 0x7A3B;

	h = hmix(h, (uintptr_t)f);
	h = hmix(h, t->thread.pkru);
	h = hmix(h, p ? p->state_perm : 0);
	if (f) {
		h = hmix(h, f->xfeatures ^ f->user_xfeatures ^ f->xfd ^ f->size);
		h = hbytes(h, f->regs, f->size);
	}
	return h;
}

/* Every vCPU's guest state (a KVM_SET_XSAVE2 names its vCPU by a name only
 * the KVM verbs know; a refused one must leave all of them alone). */
static uint64_t vcpu_state_hash(const struct sim_machine *m)
{
	uint64_t h = 0x51ED;

	for (const struct xk_task *t = m->k.tasks; t; t = t->all_next) {
		const struct xk_vcpu *v = t->vcpu;

		if (!v || !v->gfpu.fpstate)
			continue;
		h = hmix(h, v->pkru ^ v->gfpu.xfd_err ^ v->xcr0);
		h = hbytes(h, v->gfpu.fpstate->regs, v->gfpu.fpstate->size);
	}
	return h;
}

/* Before a user-controlled write that can be refused: the state it must
 * leave unchanged if it is. ptrace SETREGSET on a stopped tracee (one that
 * is running is first switched out by the verb, which saves it: nothing to
 * compare with), KVM_SET_XSAVE2. A refused sigreturn is the shadow check's:
 * Linux resets the state (sigreturn-fail=init), and with keep the shadow
 * stays as it was. */
void sim_inv_before(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_inv_state *st = m->inv;

	if (!st || !(m->inv_mask & SIM_INV_BIT(SIM_INV_REJECTED)) || !s || !s->verb)
		return;
	st->pend = PEND_NONE;
	if (!strcmp(s->verb->name, "ptrace") && s->argc >= 3 && !strcmp(s->argv[2], "set")) {
		struct sim_task *t = sim_stmt_task(m, s, 0);

		if (!t || t->state == SIM_T_EXITED || !t->k || t->k->on_cpu >= 0)
			return;
		st->pend = PEND_PTRACE;
		st->pend_task = t;
		st->pend_hash = task_state_hash(t->k);
		snprintf(st->pend_query, sizeof(st->pend_query), "expect errno %s == 0", t->name);
		snprintf(st->pend_what, sizeof(st->pend_what), "%s's state", t->name);
	} else if (!strcmp(s->verb->name, "kvm") && s->argc >= 3 &&
		   !strcmp(s->argv[2], "set-xsave")) {
		st->pend = PEND_KVM;
		st->pend_task = NULL;
		st->pend_hash = vcpu_state_hash(m);
		snprintf(st->pend_query, sizeof(st->pend_query), "expect kvm %.40s errno == 0",
			 s->argv[1]);
		snprintf(st->pend_what, sizeof(st->pend_what), "the guest state");
	}
}

static int check_rejected(struct sim_machine *m)
{
	struct sim_inv_state *st = m->inv;
	enum pend_kind k = st->pend;
	uint64_t now;

	st->pend = PEND_NONE;
	if (k == PEND_NONE)
		return SIM_OK;
	if (k == PEND_PTRACE) {
		struct sim_task *t = st->pend_task;

		if (t->state == SIM_T_EXITED || !t->k || t->k->on_cpu >= 0)
			return SIM_OK;
		now = task_state_hash(t->k);
	} else {
		now = vcpu_state_hash(m);
	}
	if (now == st->pend_hash || sim_line_query(m, st->pend_query, st->pend_task) == SIM_OK)
		return SIM_OK; /* unchanged, or accepted */
	return sim_fail(m, "rejected", "rejected: the kernel refused the write but %s changed",
			st->pend_what);
}

/* The per-task checks in one walk of the task list. */
static int check_one_task(struct sim_machine *m, uint64_t mask, const struct xk_task *t)
{
	unsigned fl = t->flags;
	int rc;

	if (fl & XK_TF_DEAD)
		return SIM_OK;
	if ((mask & SIM_INV_BIT(SIM_INV_MEMORY)) && (!t->fpu.fpstate || !t->fpu.default_fpstate))
		return sim_fail(m, "memory", "memory: live task %s has lost its buffer", tname(t));
	if (fl & (XK_TF_KTHREAD | XK_TF_USER_WORKER))
		return SIM_OK;
	if ((mask & SIM_INV_BIT(SIM_INV_OWNERSHIP)) && !t->need_load && !(fl & XK_TF_EXITING) &&
	    (rc = check_ownership_task(m, t)))
		return rc;
	if ((mask & SIM_INV_BIT(SIM_INV_BUFFER)) && (rc = check_buffer_task(m, t)))
		return rc;
	if ((mask & SIM_INV_BIT(SIM_INV_SUPERVISOR)) && t->fpu.fpstate &&
	    (rc = check_supervisor_task(m, t)))
		return rc;
	if ((mask & SIM_INV_BIT(SIM_INV_PERM)) && (rc = check_perm_task(m, t)))
		return rc;
	return SIM_OK;
}

/* Memory accounting: the kernel's count equals the live buffers, and is 0
 * once no task is left. Recomputed when buffers were allocated or freed. */
static int check_memory(struct sim_machine *m, bool force)
{
	struct sim_inv_state *s = m->inv;
	uint64_t sum = 0;
	unsigned live = 0;

	if (!force && s->mem_valid && s->mem_allocs == m->k.mem.allocs &&
	    s->mem_frees == m->k.mem.frees)
		return SIM_OK;
	for (const struct xk_task *t = m->k.tasks; t; t = t->all_next) {
		sum += t->xstate_bytes;
		live += !(t->flags & XK_TF_DEAD);
	}
	if (sum != m->k.mem.bytes)
		return sim_fail(m, "memory", "memory: the kernel counts %llu bytes of xstate buffers, "
				"the tasks hold %llu", (unsigned long long)m->k.mem.bytes,
				(unsigned long long)sum);
	if (!live && m->k.mem.bytes)
		return sim_fail(m, "memory", "memory: no task is left but %llu bytes of xstate "
				"buffers are still allocated (a leak)",
				(unsigned long long)m->k.mem.bytes);
	s->mem_valid = true;
	s->mem_allocs = m->k.mem.allocs;
	s->mem_frees = m->k.mem.frees;
	return SIM_OK;
}

void sim_inv_step_begin(struct sim_machine *m)
{
	struct sim_inv_state *s = m->inv;

	if (!s)
		return;
	for (unsigned i = 0; i < m->ncpus; i++)
		s->before[i] = sim_cpu_current(m, i);
	s->have_before = true;
}

/* The per-task checks: every task, or (cpus != ~0, after
 * sim_inv_step_begin) the tasks current on those CPUs before or after the
 * step -- the only ones a step on those CPUs can change. */
static int check_tasks(struct sim_machine *m, uint64_t mask, uint64_t cpus)
{
	struct sim_inv_state *s = m->inv;
	int rc;

	if (cpus == ~0ULL || !s->have_before) {
		for (const struct xk_task *t = m->k.tasks; t; t = t->all_next)
			if ((rc = check_one_task(m, mask, t)))
				return rc;
	} else {
		for (unsigned i = 0; i < m->ncpus; i++) {
			const struct sim_task *b = s->before[i], *a = sim_cpu_current(m, i);

			if (!((cpus >> i) & 1))
				continue;
			if (a && a->k && (rc = check_one_task(m, mask, a->k)))
				return rc;
			if (b && b != a && b->state != SIM_T_EXITED && b->k &&
			    (rc = check_one_task(m, mask, b->k)))
				return rc;
		}
	}
	s->have_before = false;
	if (mask & SIM_INV_BIT(SIM_INV_MEMORY))
		return check_memory(m, cpus == ~0ULL);
	return SIM_OK;
}

/* ---- Driver ---- */

int sim_inv_check(struct sim_machine *m, uint64_t cpus)
{
	uint64_t mask = m->inv_mask;
	int rc;

	if (!mask || !m->inv || !m->booted)
		return SIM_OK;
	if ((mask & SIM_INV_BIT(SIM_INV_KERNEL)) && (rc = check_kernel(m)))
		return rc;
	if ((mask & SIM_INV_BIT(SIM_INV_REJECTED)) && m->inv->pend && (rc = check_rejected(m)))
		return rc;
	for (unsigned i = 0; i < m->ncpus; i++) {
		if (!((cpus >> i) & 1))
			continue;
		if ((mask & SIM_INV_BIT(SIM_INV_OWNERSHIP)) && (rc = check_ownership_cpu(m, i)))
			return rc;
		if ((mask & SIM_INV_BIT(SIM_INV_XFD)) && (rc = check_xfd_cpu(m, i)))
			return rc;
		if ((mask & SIM_INV_BIT(SIM_INV_LAZYFP)) && (rc = check_lazyfp(m, i)))
			return rc;
		if ((mask & SIM_INV_BIT(SIM_INV_PKRU)) && (rc = check_pkru_cpu(m, i)))
			return rc;
		if ((mask & SIM_INV_BIT(SIM_INV_UINTR)) && (rc = check_uintr_cpu(m, i)))
			return rc;
	}
	if (mask & (SIM_INV_BIT(SIM_INV_OWNERSHIP) | SIM_INV_BIT(SIM_INV_BUFFER) |
		    SIM_INV_BIT(SIM_INV_MEMORY) | SIM_INV_BIT(SIM_INV_SUPERVISOR) |
		    SIM_INV_BIT(SIM_INV_PERM)))
		if ((rc = check_tasks(m, mask, cpus)))
			return rc;
	m->checks++;
	return SIM_OK;
}

/* ---- The `invariants` statement ---- */

static int parse_invariants(struct sim_parser *p, struct sim_stmt *s)
{
	char list[512], err[512];
	size_t pos = 0;

	if (sim_parse_argc(p, s, 2, SIM_MAX_ARGS))
		return -1;
	list[0] = '\0';
	for (int i = 1; i < s->argc && pos < sizeof(list); i++)
		pos += (size_t)snprintf(list + pos, sizeof(list) - pos, "%s%s", i > 1 ? "," : "",
					s->argv[i]);
	if (sim_inv_parse(list, &s->a.mask, err, sizeof(err)))
		return sim_parse_error(p, "%s", err);
	return 0;
}

static int exec_invariants(struct sim_machine *m, const struct sim_stmt *s)
{
	return sim_inv_enable(m, s->a.mask);
}

static const struct sim_verb verbs[] = {
	{ "invariants", SIM_VERB_STMT, "invariants all|none|NAME[,NAME...] (-NAME removes one)",
	  parse_invariants, exec_invariants },
};

const struct sim_verb_set sim_verbs_invariants = { "invariants", verbs,
						   sizeof(verbs) / sizeof(verbs[0]) };
