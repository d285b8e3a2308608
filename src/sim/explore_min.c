/* Counterexample minimization: delta debugging (Zeller and Hildebrandt,
 * "Simplifying and Isolating Failure-Inducing Input", TSE 2002) over the
 * operation list of a failing program.
 *
 * A candidate is a sub-list of the operations. It is replayed leniently:
 * an operation that is impossible in the state the candidate reaches (a
 * task whose creation was removed, a switch to a task now running
 * elsewhere) is skipped, as if it were not in the list, so removing a
 * creation removes what depends on it in the same test. The candidate
 * "still fails" when some step breaks the same invariant (check name) as
 * the original; everything after that step is dropped at once. The result
 * is the list of operations that actually ran, replayed strictly once
 * more: it is a valid scenario that fails the same way. After ddmin, no
 * single operation and no pair of operations can be removed (a switch
 * away and back only go together), and no fork or clone can become a new
 * thread of its own (which frees the chain of parents behind it).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/explore_internal.h"

#define MIN_MAX_RUNS 20000

struct ctx {
	const struct xe_config *c;
	const char *check;
	unsigned runs;
	struct xe_prog tmp, exec;
};

/* Does cand still fail the same way? On success cand is cut to the
 * operations that ran, up to the failing one. */
static bool still_fails(struct ctx *x, struct xe_prog *cand)
{
	struct xe_replay_opts o = { .tagged = true, .lenient = true, .executed = &x->exec };
	struct xe_outcome out;

	if (x->runs >= MIN_MAX_RUNS)
		return false;
	x->runs++;
	xe_prog_run(x->c, cand, &o, &out);
	if (out.status != SIM_FAIL || strcmp(out.check, x->check) != 0)
		return false;
	xe_prog_copy(cand, &x->exec);
	return true;
}

/* Build the candidate from cur: the chunk [lo, hi) (keep) or everything
 * but it (!keep). */
static void slice(const struct xe_prog *cur, unsigned lo, unsigned hi, bool keep,
		  struct xe_prog *out)
{
	out->n = 0;
	for (unsigned i = 0; i < cur->n; i++)
		if ((i >= lo && i < hi) == keep)
			xe_prog_push(out, &cur->ops[i]);
}

static void ddmin(struct ctx *x, struct xe_prog *cur)
{
	unsigned n = 2;

	while (cur->n >= 2) {
		unsigned len = cur->n, chunk = (len + n - 1) / n;
		bool reduced = false;

		/* Reduce to a subset. */
		for (unsigned lo = 0; lo < len && !reduced; lo += chunk) {
			slice(cur, lo, lo + chunk, true, &x->tmp);
			if (x->tmp.n < len && still_fails(x, &x->tmp)) {
				xe_prog_copy(cur, &x->tmp);
				n = 2;
				reduced = true;
			}
		}
		/* Reduce to a complement. */
		for (unsigned lo = 0; lo < len && !reduced; lo += chunk) {
			slice(cur, lo, lo + chunk, false, &x->tmp);
			if (x->tmp.n < len && still_fails(x, &x->tmp)) {
				xe_prog_copy(cur, &x->tmp);
				n = n > 2 ? n - 1 : 2;
				reduced = true;
			}
		}
		if (reduced)
			continue;
		if (n >= len || x->runs >= MIN_MAX_RUNS)
			break;
		n = n * 2 < len ? n * 2 : len;
	}
}

/* Single removals until none goes (1-minimal). */
static void remove_singles(struct ctx *x, struct xe_prog *cur)
{
	for (unsigned i = 0; i < cur->n && x->runs < MIN_MAX_RUNS;) {
		slice(cur, i, i + 1, false, &x->tmp);
		if (still_fails(x, &x->tmp)) {
			xe_prog_copy(cur, &x->tmp);
			i = 0;
		} else {
			i++;
		}
	}
}

/* 1-minimal is not 2-minimal: a switch away and the switch back, or a
 * thread and the migration that needs it, only go together. One pair
 * removed (true) or none goes; short lists only (n^2 replays). */
static bool remove_pair(struct ctx *x, struct xe_prog *cur)
{
	if (cur->n > 40)
		return false;
	for (unsigned i = 0; i < cur->n; i++)
		for (unsigned j = i + 1; j < cur->n && x->runs < MIN_MAX_RUNS; j++) {
			x->tmp.n = 0;
			for (unsigned k = 0; k < cur->n; k++)
				if (k != i && k != j)
					xe_prog_push(&x->tmp, &cur->ops[k]);
			if (still_fails(x, &x->tmp)) {
				xe_prog_copy(cur, &x->tmp);
				return true;
			}
		}
	return false;
}

/* A fork or clone whose child could as well be a new thread of its own
 * (on either CPU): the chain of parents that only existed to create it
 * then goes with the next single removals. One replaced (true) or none. */
static bool simplify_creation(struct ctx *x, struct xe_prog *cur, unsigned ncpus)
{
	for (unsigned i = 0; i < cur->n; i++) {
		const struct xe_op *op = &cur->ops[i];

		if (op->kind != XE_FORK && op->kind != XE_CLONE)
			continue;
		for (unsigned cpu = 0; cpu < ncpus && x->runs < MIN_MAX_RUNS; cpu++) {
			struct xe_op th;

			memset(&th, 0, sizeof(th));
			th.kind = XE_THREAD;
			th.task = op->task2;
			th.cpu = (uint8_t)cpu;
			xe_prog_copy(&x->tmp, cur);
			x->tmp.ops[i] = th;
			if (still_fails(x, &x->tmp)) {
				xe_prog_copy(cur, &x->tmp);
				return true;
			}
		}
	}
	return false;
}

/* Give the tasks of p the names t1, t2 ... and k1 ... in creation order
 * (a minimized program keeps the numbers of the long one otherwise). */
static void renumber(struct xe_prog *p)
{
	uint16_t map[2][XE_MAX_NAMES];
	unsigned next[2] = { 0, 0 };

	memset(map, 0, sizeof(map));
	for (unsigned i = 0; i < p->n; i++) {
		struct xe_op *op = &p->ops[i];
		uint16_t *names[2] = { &op->task, &op->task2 };

		for (unsigned j = 0; j < 2; j++) {
			unsigned nm = *names[j], kt = (nm & XE_KT) ? 1 : 0, n = nm & ~XE_KT;

			if (!nm || n >= XE_MAX_NAMES)
				continue;
			if (!map[kt][n])
				map[kt][n] = (uint16_t)(++next[kt] | (kt ? XE_KT : 0));
			*names[j] = map[kt][n];
		}
	}
}

int xe_minimize(const struct xe_config *c, const struct xe_prog *in, const char *check,
		struct xe_prog *out, unsigned *runs)
{
	struct ctx x;
	struct xe_prog cur;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.check = check;
	xe_prog_init(&x.tmp);
	xe_prog_init(&x.exec);
	xe_prog_init(&cur);
	xe_prog_copy(&cur, in);
	if (!still_fails(&x, &cur)) {
		/* Not reproducible as a list (should not happen): keep it. */
		xe_prog_copy(out, in);
	} else {
		/* ddmin, then single removals (1-minimal), then pairs, each
		 * pair removed followed by singles again. */
		ddmin(&x, &cur);
		do
			remove_singles(&x, &cur);
		while (remove_pair(&x, &cur) || simplify_creation(&x, &cur, c->ncpus));
		/* Readable names, if the program still fails with them. */
		xe_prog_copy(&x.tmp, &cur);
		renumber(&x.tmp);
		if (still_fails(&x, &x.tmp))
			xe_prog_copy(&cur, &x.tmp);
		xe_prog_copy(out, &cur);
	}
	if (runs)
		*runs = x.runs;
	xe_prog_free(&x.tmp);
	xe_prog_free(&x.exec);
	xe_prog_free(&cur);
	return 0;
}
