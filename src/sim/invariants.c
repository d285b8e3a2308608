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
	[SIM_INV_FSGS] = { "fsgs", "FS/GS base semantics of the chosen policy" },
	[SIM_INV_GUEST] = { "guest", "host XCR0/XSS/XFD whenever the host saves or restores" },
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
};

struct sim_inv_state {
	uint64_t warnings;      /* k->stats.warnings already reported */
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
static int check_ownership_tasks(struct sim_machine *m)
{
	for (const struct xk_task *t = m->k.tasks; t; t = t->all_next) {
		if (t->flags & (XK_TF_KTHREAD | XK_TF_USER_WORKER | XK_TF_EXITING | XK_TF_DEAD))
			continue;
		if (t->need_load)
			continue;
		if (t->on_cpu < 0)
			return sim_fail(m, "ownership", "ownership: %s is not running but "
					"TIF_NEED_FPU_LOAD is clear (its registers are gone)", tname(t));
		if (m->k.cpu[t->on_cpu].owner != &t->fpu || t->fpu.last_cpu != t->on_cpu)
			return sim_fail(m, "ownership", "ownership: %s has TIF_NEED_FPU_LOAD clear on "
					"cpu%d but owner is %s and last_cpu %d", tname(t), t->on_cpu,
					tname(xk_fpu_task(m->k.cpu[t->on_cpu].owner)), t->fpu.last_cpu);
	}
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
	if (!st || !(it = inv_task(m, st)))
		return SIM_OK;
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

/* ---- memory ---- */

static int check_memory(struct sim_machine *m)
{
	uint64_t sum = 0;
	unsigned live = 0;

	for (const struct xk_task *t = m->k.tasks; t; t = t->all_next) {
		sum += t->xstate_bytes;
		if (!(t->flags & XK_TF_DEAD))
			live++;
		if (!(t->flags & XK_TF_DEAD) && (!t->fpu.fpstate || !t->fpu.default_fpstate))
			return sim_fail(m, "memory", "memory: live task %s has lost its buffer",
					tname(t));
	}
	if (sum != m->k.mem.bytes)
		return sim_fail(m, "memory", "memory: the kernel counts %llu bytes of xstate buffers, "
				"the tasks hold %llu", (unsigned long long)m->k.mem.bytes,
				(unsigned long long)sum);
	if (!live && m->k.mem.bytes)
		return sim_fail(m, "memory", "memory: no task is left but %llu bytes of xstate "
				"buffers are still allocated (a leak)",
				(unsigned long long)m->k.mem.bytes);
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
	/* Kernel threads and idle access no user memory: not checked. */
	if (!t || t->kind != SIM_USER || t->state == SIM_T_EXITED || !t->shadow)
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

/* ---- Driver ---- */

int sim_inv_check(struct sim_machine *m, uint64_t cpus)
{
	uint64_t mask = m->inv_mask;
	int rc;

	if (!mask || !m->inv || !m->booted)
		return SIM_OK;
	if ((mask & SIM_INV_BIT(SIM_INV_KERNEL)) && (rc = check_kernel(m)))
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
	if ((mask & SIM_INV_BIT(SIM_INV_OWNERSHIP)) && (rc = check_ownership_tasks(m)))
		return rc;
	if (mask & SIM_INV_BIT(SIM_INV_BUFFER))
		for (const struct xk_task *t = m->k.tasks; t; t = t->all_next)
			if (!(t->flags & (XK_TF_KTHREAD | XK_TF_DEAD)) &&
			    (rc = check_buffer_task(m, t)))
				return rc;
	if ((mask & SIM_INV_BIT(SIM_INV_MEMORY)) && (rc = check_memory(m)))
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
