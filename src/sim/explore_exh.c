/* Bounded exhaustive exploration: every sequence of a small alphabet of
 * operations up to a depth, breadth first, each distinct machine state
 * expanded once.
 *
 * The machine cannot be copied, so a state is represented by the shortest
 * sequence that reaches it: expanding it replays that sequence on a fresh
 * machine for each of its successors. Breadth first, the first sequence
 * reaching a state is a shortest one, so a violation comes with a shortest
 * path (then minimized like a random one, which only drops what does not
 * matter).
 *
 * States are equal when xe_state_hash() is: every register image and
 * control register of every CPU, the kernel's per-CPU bookkeeping, every
 * task's flags, TIF_NEED_FPU_LOAD, last_cpu, CPU and buffer bytes, and every
 * task's shadow. Left out: counters, and XRSTOR_INFO (it holds host
 * addresses, which differ from replay to replay); two states that differ
 * only there are taken as one.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/explore_internal.h"

/* ---- State hash ---- */

static uint64_t mixw(uint64_t h, uint64_t w)
{
	h ^= w + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	h *= 0xFF51AFD7ED558CCDULL;
	return h ^ (h >> 29);
}

static uint64_t mixb(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = mixw(h, w);
	}
	for (; i < n; i++)
		h = mixw(h, p[i]);
	return h;
}

static uint64_t cpu_hash(const struct sim_machine *m, const struct xs_cpu *c, uint64_t h)
{
	for (unsigned comp = 0; comp < XS_NAMED_COMPS; comp++) {
		const uint8_t *r = xs_comp_regs(c, comp);
		struct sim_range rg[4];
		unsigned nr;

		if (!r || comp == XS_C_SSE) /* x87 and SSE share the legacy region */
			continue;
		if (comp == XS_C_X87) {
			h = mixb(h, r, XS_LEGACY_SIZE);
			continue;
		}
		nr = sim_comp_ranges(m, comp, rg);
		for (unsigned i = 0; i < nr; i++)
			h = mixb(h, r + rg[i].off, rg[i].len);
	}
	h = mixw(h, xs_xcr0(c));
	h = mixw(h, xs_xss(c));
	h = mixw(h, xs_xfd(c));
	h = mixw(h, xs_xfd_err(c));
	h = mixw(h, xs_xinuse(c));
	h = mixw(h, xs_xmodified(c));
	h = mixw(h, (uint64_t)xs_cr0_ts(c) | (uint64_t)xs_cpl(c) << 1 | (uint64_t)xs_mxcsr(c) << 8);
	return h;
}

static uint64_t tid_of(const struct xk_task *t)
{
	return t ? t->tid : 0;
}

uint64_t xe_state_hash(const struct sim_machine *m)
{
	uint64_t h = 0x243F6A8885A308D3ULL;

	for (unsigned i = 0; i < m->ncpus; i++) {
		const struct xk_cpu *c = &m->k.cpu[i];

		h = cpu_hash(m, c->hw, h);
		h = mixw(h, tid_of(xk_fpu_task(c->owner)) | tid_of(c->current) << 20 |
			 (uint64_t)c->user_mode << 40 | (uint64_t)c->kernel_fpu_allowed << 41 |
			 (uint64_t)c->kfpu_mask << 42 | (uint64_t)c->irq_depth << 48 |
			 (uint64_t)c->nmi_depth << 56);
		h = mixw(h, c->xfd_state ^ ((uint64_t)c->irq_from_user << 32) ^ c->irq_is_nmi);
	}
	for (const struct xk_task *t = m->k.tasks; t; t = t->all_next) {
		const struct xk_fpstate *f = t->fpu.fpstate;

		h = mixw(h, t->tid | (uint64_t)t->flags << 24 | (uint64_t)(uint32_t)t->on_cpu << 32);
		h = mixw(h, t->need_load ^ ((uint64_t)(uint32_t)t->fpu.last_cpu << 48));
		h = mixw(h, t->thread.pkru);
		if (f && !(t->flags & XK_TF_DEAD)) {
			h = mixw(h, f->xfeatures ^ f->xfd ^ (uint64_t)f->size << 40);
			h = mixb(h, f->regs, f->size);
		}
	}
	for (unsigned i = 0; i < m->ntasks; i++) {
		const struct sim_task *t = m->tasks[i];

		h = mixw(h, t->state | (uint64_t)t->last_signal << 8);
		if (t->shadow && t->state != SIM_T_EXITED)
			h = cpu_hash(m, t->shadow, h);
	}
	return h ? h : 1;
}

/* ---- Visited set: open addressing on 64-bit hashes ---- */

struct hset {
	uint64_t *slot;
	size_t cap, n;
};

static bool hset_add(struct hset *s, uint64_t h)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1 << 16;
		uint64_t *n = calloc(cap, sizeof(*n));

		if (!n)
			return false;
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i]) {
				size_t j = s->slot[i] & (cap - 1);
				while (n[j])
					j = (j + 1) & (cap - 1);
				n[j] = s->slot[i];
			}
		free(s->slot);
		s->slot = n;
		s->cap = cap;
	}
	for (size_t j = h & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
		if (s->slot[j] == h)
			return false;
		if (!s->slot[j]) {
			s->slot[j] = h;
			s->n++;
			return true;
		}
	}
}

/* ---- The alphabet ---- */

struct alphabet {
	struct xe_op setup[8];
	unsigned nsetup;
	struct xe_op op[96];
	unsigned n;
};

/* The register the alphabet writes and reads: the one spanning the most
 * components (zmm0 on AVX-512: SSE, AVX and ZMM_Hi256 at once). */
static unsigned widest_reg(const struct xe_regs *r)
{
	unsigned best = 0;

	for (unsigned i = 1; i < r->n; i++)
		if (r->r[i].nparts > r->r[best].nparts ||
		    (r->r[i].nparts == r->r[best].nparts && r->r[i].size > r->r[best].size))
			best = i;
	return best;
}

static void build_alphabet(const struct xe_config *c, struct alphabet *a)
{
	unsigned ncpus = c->ncpus, nuser = c->max_tasks < 2 ? c->max_tasks : 2;
	unsigned reg = widest_reg(c->regs);
	struct xe_op o;

	memset(a, 0, sizeof(*a));
	/* Setup: t1 on cpu0, t2 on cpu1 (or waiting on cpu0), k1 waiting. */
	for (unsigned t = 1; t <= nuser; t++) {
		memset(&o, 0, sizeof(o));
		o.kind = XE_THREAD;
		o.task = (uint16_t)t;
		o.cpu = (uint8_t)((t - 1) % ncpus);
		a->setup[a->nsetup++] = o;
	}
	memset(&o, 0, sizeof(o));
	o.kind = XE_KTHREAD;
	o.task = 1 | XE_KT;
	a->setup[a->nsetup++] = o;

#define ADD(...)                                                        \
	do {                                                            \
		struct xe_op op_ = { __VA_ARGS__ };                     \
		if (a->n < sizeof(a->op) / sizeof(a->op[0]))            \
			a->op[a->n++] = op_;                            \
	} while (0)
	for (unsigned cpu = 0; cpu < ncpus; cpu++) {
		for (unsigned t = 1; t <= nuser; t++)
			ADD(.kind = XE_SWITCH, .cpu = (uint8_t)cpu, .task = (uint16_t)t);
		ADD(.kind = XE_SWITCH, .cpu = (uint8_t)cpu, .task = 1 | XE_KT);
		ADD(.kind = XE_SWITCH, .cpu = (uint8_t)cpu, .task = 0);
		ADD(.kind = XE_KFPU, .cpu = (uint8_t)cpu, .kmask = XK_KFPU_DEFAULT);
		ADD(.kind = XE_IRQ, .cpu = (uint8_t)cpu, .kmask = XK_KFPU_DEFAULT,
		    .flags = XE_F_IRQ_KFPU);
		ADD(.kind = XE_RETURN, .cpu = (uint8_t)cpu);
	}
	for (unsigned t = 1; t <= nuser; t++) {
		ADD(.kind = XE_WRITE, .task = (uint16_t)t, .reg = (uint16_t)reg,
		    .val = 0x10 * t);
		ADD(.kind = XE_WRITE, .task = (uint16_t)t, .reg = (uint16_t)reg,
		    .val = 0x10 * t + 8);
		ADD(.kind = XE_READ, .task = (uint16_t)t, .reg = (uint16_t)reg);
		ADD(.kind = XE_SYSCALL, .task = (uint16_t)t);
		ADD(.kind = XE_EXEC, .task = (uint16_t)t);
		for (unsigned cpu = 0; ncpus > 1 && cpu < ncpus; cpu++)
			ADD(.kind = XE_MIGRATE, .task = (uint16_t)t, .cpu = (uint8_t)cpu);
	}
#undef ADD
}

/* ---- Search ---- */

struct node {
	uint32_t parent;   /* index in nodes, UINT32_MAX for the root */
	uint16_t op;       /* alphabet index of the last operation */
	uint16_t depth;
};

/* The operations from the root to node i, setup first. */
static void path_of(const struct alphabet *a, const struct node *nodes, uint32_t i,
		    struct xe_prog *p)
{
	unsigned d = nodes[i].depth;
	struct xe_op tmp[256];

	p->n = 0;
	for (unsigned s = 0; s < a->nsetup; s++)
		xe_prog_push(p, &a->setup[s]);
	for (unsigned k = d; k > 0 && i != UINT32_MAX; k--, i = nodes[i].parent)
		tmp[k - 1] = a->op[nodes[i].op];
	for (unsigned k = 0; k < d; k++)
		xe_prog_push(p, &tmp[k]);
}

/* Replay p on x (already started); SIM_OK or the failure. */
static int replay(struct xe_exec *x, const struct xe_prog *p, unsigned *failed_at)
{
	for (unsigned i = 0; i < p->n; i++) {
		int rc = xe_op_exec(x, &p->ops[i]);

		if (rc == SIM_OK)
			rc = xe_check(x);
		if (rc != SIM_OK) {
			*failed_at = i + 1;
			return rc;
		}
	}
	return SIM_OK;
}

int xe_exhaustive(const struct xe_config *c, const struct xe_exh_opts *o, struct xe_report *r)
{
	struct alphabet a;
	struct hset seen = { 0 };
	struct node *nodes = NULL;
	size_t nnodes = 0, cap = 0, head = 0;
	struct xe_exec *x = malloc(sizeof(*x));
	struct xe_prog path, tmp;
	uint64_t max_states = o->max_states ? o->max_states : 2000000;
	double t0 = xe_now(), last = t0;
	char err[SIM_MSG_MAX];
	int result = 0;

	memset(r, 0, sizeof(*r));
	r->exhaustive = true;
	r->depth = o->depth;
	r->jobs = 1;
	r->nshards = 1;
	xe_prog_init(&path);
	xe_prog_init(&tmp);
	xe_prog_init(&r->v.found);
	xe_prog_init(&r->v.min);
	if (!x)
		return -1;
	build_alphabet(c, &a);

	/* The root: the state after the setup. */
	cap = 1024;
	nodes = malloc(cap * sizeof(*nodes));
	if (!nodes) {
		free(x);
		return -1;
	}
	nodes[nnodes++] = (struct node){ UINT32_MAX, 0, 0 };
	for (head = 0; head < nnodes && !r->failed; head++) {
		unsigned d = nodes[head].depth;
		unsigned failed_at = 0;
		int rc;

		path_of(&a, nodes, (uint32_t)head, &path);
		if (head == 0) {
			if (xe_exec_start(x, c, c->regs, 0, false, err, sizeof(err))) {
				result = -1;
				break;
			}
			rc = replay(x, &path, &failed_at);
			r->steps += path.n;
			if (rc == SIM_OK)
				hset_add(&seen, xe_state_hash(x->m));
			else
				snprintf(r->internal, sizeof(r->internal), "the setup failed: %.900s",
					 rc == SIM_FAIL ? x->m->fail : x->m->err);
			xe_exec_end(x);
			if (rc != SIM_OK) {
				r->internal_errors++;
				break;
			}
			r->states = 1;
		}
		if (d >= o->depth)
			continue;
		for (unsigned k = 0; k < a.n && !r->failed; k++) {
			if (xe_exec_start(x, c, c->regs, 0, false, err, sizeof(err))) {
				result = -1;
				break;
			}
			rc = replay(x, &path, &failed_at);
			r->steps += path.n;
			if (rc == SIM_OK && xe_op_legal(x, &a.op[k])) {
				rc = xe_op_exec(x, &a.op[k]);
				if (rc == SIM_OK)
					rc = xe_check(x);
				r->steps++;
				/* The fast checks decide nothing about a value behind a
				 * trap, nor name a failure exactly: replay tagged. */
				if (rc == SIM_FAIL || (rc == SIM_OK && sim_inv_suspect(x->m))) {
					struct xe_replay_opts ro = { .tagged = true };
					struct xe_outcome out;

					xe_prog_copy(&tmp, &path);
					xe_prog_push(&tmp, &a.op[k]);
					xe_prog_run(c, &tmp, &ro, &out);
					if (out.status == SIM_FAIL) {
						rc = SIM_FAIL;
						snprintf(x->m->fail, sizeof(x->m->fail), "%s", out.message);
						x->m->fail_check = out.check;
					} else {
						rc = SIM_OK;
					}
				}
				if (rc == SIM_OK && hset_add(&seen, xe_state_hash(x->m))) {
					if (nnodes == cap) {
						struct node *nn = realloc(nodes, (cap *= 2) * sizeof(*nn));
						if (!nn) {
							xe_exec_end(x);
							result = -1;
							break;
						}
						nodes = nn;
					}
					nodes[nnodes++] = (struct node){ (uint32_t)head, (uint16_t)k,
									 (uint16_t)(d + 1) };
					r->states++;
				} else if (rc == SIM_FAIL) {
					r->failed = true;
					snprintf(r->v.check, sizeof(r->v.check), "%s", x->m->fail_check);
					snprintf(r->v.message, sizeof(r->v.message), "%s", x->m->fail);
					xe_prog_copy(&r->v.found, &path);
					xe_prog_push(&r->v.found, &a.op[k]);
					r->v.step = r->v.found.n;
					r->v.program = head;
					r->v.found_after = xe_now() - t0;
				} else if (rc == SIM_ERROR) {
					r->internal_errors++;
					if (!r->internal[0])
						snprintf(r->internal, sizeof(r->internal), "%s", x->m->err);
				}
			} else if (rc == SIM_FAIL) {
				/* A prefix that used to pass now fails: not deterministic. */
				r->internal_errors++;
				snprintf(r->internal, sizeof(r->internal), "replay diverged: %.900s",
					 x->m->fail);
			}
			xe_exec_end(x);
		}
		if (r->states >= max_states)
			break;
		if (o->progress && xe_now() - last >= 0.5) {
			struct xe_progress pr = { .steps = r->steps, .programs = head + 1,
						  .states = r->states, .elapsed = xe_now() - t0,
						  .jobs = 1 };
			last = xe_now();
			o->progress(o->progress_ctx, &pr);
		}
	}
	r->programs = head;
	r->elapsed = xe_now() - t0;
	if (r->failed) {
		double t = xe_now();
		xe_minimize(c, &r->v.found, r->v.check, &r->v.min, &r->v.min_runs);
		r->v.min_seconds = xe_now() - t;
	}
	xe_prog_free(&path);
	xe_prog_free(&tmp);
	free(nodes);
	free(seen.slot);
	free(x);
	return result;
}
