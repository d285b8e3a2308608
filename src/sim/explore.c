/* The random explorer: configurations, program runs, parallel jobs.
 *
 * Program k of a run is generated from seed + k. A shard I of N owns the
 * programs k = I + N*s (s = 0, 1, ...); within a shard, job j of J owns
 * s = j, j+J, ... Each job has its own machines, register scratch and
 * results; the jobs share only two atomics (the lowest failing s found so
 * far, and a stop flag) and their progress counters. A job stops before a
 * program whose s is above the lowest failure, so with a step budget the
 * failure reported -- the lowest s -- is the same for any J.
 *
 * A program first runs untagged (no value registry, checks only on the
 * CPUs each step touched: the fast path). A failure, or a value behind a
 * trap the fast path cannot classify (sim_inv_suspect), makes the program
 * run again with value tags and the full checks, which decides.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/explore_internal.h"

/* ---- Configuration ---- */

int xe_config_init(struct xe_config *c, const char *model_spec, char *err, size_t errlen)
{
	const char *spec = model_spec && *model_spec ? model_spec : xs_default_model_name();

	memset(c, 0, sizeof(*c));
	snprintf(c->model_spec, sizeof(c->model_spec), "%s", spec);
	if (xs_model_load(spec, &c->model, err, errlen))
		return -1;
	c->ncpus = 2;
	c->max_tasks = 4;
	xk_policy_default(&c->policy);
	c->inv_mask = SIM_INV_ALL;
	c->prog_len = 1000;
	c->kinds = (1ULL << XE_KIND_COUNT) - 1;
	c->feats = ~0ULL;
	return 0;
}

int xe_config_policy(struct xe_config *c, const char *settings, char *err, size_t errlen)
{
	return xk_policy_parse(&c->policy, settings, err, errlen);
}

int xe_config_ready(struct xe_config *c, char *err, size_t errlen)
{
	struct xe_exec x;
	struct xe_regs tmp;
	int rc;

	if (c->ncpus < 1 || c->ncpus > 8) {
		snprintf(err, errlen, "cpus=%u: 1 to 8", c->ncpus);
		return -1;
	}
	if (c->max_tasks < 1 || c->max_tasks > 64) {
		snprintf(err, errlen, "tasks=%u: 1 to 64", c->max_tasks);
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	memset(&x, 0, sizeof(x));
	if (xe_exec_start(&x, c, &tmp, 0, false, err, errlen))
		return -1;
	free(c->regs);
	c->regs = malloc(sizeof(*c->regs));
	rc = c->regs ? xe_regs_build(c, x.m, c->regs) : -1;
	xe_exec_end(&x);
	if (rc) {
		snprintf(err, errlen, "%s: no user register to explore with", c->model.name);
		return -1;
	}
	return 0;
}

void xe_config_free(struct xe_config *c)
{
	free(c->regs);
	c->regs = NULL;
}

/* ---- One program ---- */

static void outcome_fail(struct xe_outcome *out, const struct sim_machine *m, int rc, unsigned step)
{
	out->status = rc;
	out->step = step;
	if (rc == SIM_FAIL) {
		out->check = m->fail_check ? m->fail_check : "?";
		snprintf(out->message, sizeof(out->message), "%s", m->fail);
	} else {
		out->check = "scenario";
		snprintf(out->message, sizeof(out->message), "%s", m->err);
	}
}

static void outcome_counters(struct xe_outcome *out, const struct sim_machine *m)
{
	out->suspect = sim_inv_suspect(m);
	out->checks = m->checks;
	out->saves = m->k.stats.saves;
	out->restores = m->k.stats.restores;
	out->restores_skipped = m->k.stats.restores_skipped;
	out->switches = m->k.stats.switches;
	out->xfd_writes = m->k.stats.xfd_writes;
}

int xe_prog_run(const struct xe_config *c, const struct xe_prog *p,
		const struct xe_replay_opts *o, struct xe_outcome *out)
{
	struct xe_exec *x = malloc(sizeof(*x));
	bool tagged = o ? o->tagged : true, lenient = o && o->lenient;
	char err[SIM_MSG_MAX];

	memset(out, 0, sizeof(*out));
	if (o && o->executed)
		o->executed->n = 0;
	if (!x) {
		out->status = SIM_ERROR;
		out->check = "scenario";
		snprintf(out->message, sizeof(out->message), "out of memory");
		return SIM_ERROR;
	}
	if (xe_exec_start(x, c, c->regs, 0, tagged, err, sizeof(err))) {
		out->status = SIM_ERROR;
		out->check = "scenario";
		snprintf(out->message, sizeof(out->message), "%s", err);
		free(x);
		return SIM_ERROR;
	}
	for (unsigned i = 0; i < p->n; i++) {
		const struct xe_op *op = &p->ops[i];
		int rc;

		if (lenient && !xe_op_legal(x, op))
			continue;
		rc = xe_op_exec(x, op);
		if (rc == XE_SKIP) {
			if (lenient)
				continue;
			/* A recorded statement that is impossible now: the
			 * program does not replay as it ran. */
			rc = sim_error(x->m, "explore: step %u cannot be replayed", i + 1);
		}
		if (rc == SIM_OK)
			rc = xe_check(x);
		out->executed++;
		if (o && o->executed)
			xe_prog_push(o->executed, op);
		if (rc != SIM_OK) {
			outcome_fail(out, x->m, rc, i + 1);
			break;
		}
	}
	outcome_counters(out, x->m);
	xe_exec_end(x);
	free(x);
	return out->status;
}

/* Generate and run one program (the fast path when !tagged). */
static int random_program(struct xe_exec *x, const struct xe_config *c, uint64_t seed, bool tagged,
			  struct xe_prog *p, struct xe_outcome *out)
{
	struct sim_prng r;
	char err[SIM_MSG_MAX];

	memset(out, 0, sizeof(*out));
	p->n = 0;
	if (xe_exec_start(x, c, c->regs, seed, tagged, err, sizeof(err))) {
		out->status = SIM_ERROR;
		out->check = "scenario";
		snprintf(out->message, sizeof(out->message), "%s", err);
		return SIM_ERROR;
	}
	/* The generator's own stream, apart from the machine's. */
	sim_prng_seed(&r, seed ^ 0x6A09E667F3BCC909ULL);
	for (unsigned i = 0; i < c->prog_len; i++) {
		struct xe_op op;
		int rc;

		if (!xe_gen_op(x, &r, &op))
			break;
		rc = xe_op_exec(x, &op);
		if (rc == XE_SKIP)
			continue; /* impossible now and nothing changed: not in the program */
		xe_prog_push(p, &op);
		if (rc == SIM_OK)
			rc = xe_check(x);
		out->executed++;
		if (rc != SIM_OK) {
			outcome_fail(out, x->m, rc, i + 1);
			break;
		}
	}
	outcome_counters(out, x->m);
	xe_exec_end(x);
	return out->status;
}

/* Fast run, then a tagged replay when it failed or saw a suspect value. */
static int decided_program(struct xe_exec *x, const struct xe_config *c, uint64_t seed,
			   struct xe_prog *p, struct xe_outcome *out)
{
	struct xe_replay_opts ro = { .tagged = true };
	uint64_t fast_checks;

	random_program(x, c, seed, false, p, out);
	if (out->status == SIM_OK && !out->suspect)
		return SIM_OK;
	fast_checks = out->checks;
	xe_prog_run(c, p, &ro, out);
	out->checks += fast_checks;
	return out->status;
}

int xe_random_program(const struct xe_config *c, uint64_t seed, bool tagged, struct xe_prog *p,
		      struct xe_outcome *out)
{
	struct xe_exec *x = malloc(sizeof(*x));
	int rc;

	if (!x) {
		memset(out, 0, sizeof(*out));
		out->status = SIM_ERROR;
		out->check = "scenario";
		snprintf(out->message, sizeof(out->message), "out of memory");
		return SIM_ERROR;
	}
	rc = tagged ? random_program(x, c, seed, true, p, out) : decided_program(x, c, seed, p, out);
	free(x);
	return rc;
}

/* ---- Jobs ---- */

struct shared {
	const struct xe_config *c;
	const struct xe_run_opts *o;
	uint64_t nprogs;               /* shard-local program budget (UINT64_MAX: time only) */
	double t0, deadline;           /* deadline 0: none */
	_Atomic uint64_t best;         /* lowest failing shard-local index, UINT64_MAX none */
	atomic_bool stop;
	atomic_uint finished;          /* jobs that returned */
};

struct job {
	struct shared *sh;
	unsigned j;
	pthread_t th;
	_Atomic uint64_t steps, programs, checks;
	uint64_t internal_errors;
	char internal[SIM_MSG_MAX];
	bool failed;
	uint64_t fail_s;               /* shard-local index of its lowest failure */
	struct xe_prog fail_prog;
	struct xe_outcome fail_out;
	double fail_at;
	uint64_t steps_before;
	double cpu_seconds;
};

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *job_main(void *arg)
{
	struct job *jb = arg;
	struct shared *sh = jb->sh;
	const struct xe_config *c = sh->c;
	const struct xe_run_opts *o = sh->o;
	unsigned J = o->jobs ? o->jobs : 1;
	struct xe_exec *x = malloc(sizeof(*x));
	struct xe_prog p;
	struct xe_outcome out;
	double cpu0 = thread_cpu_seconds();

	xe_prog_init(&p);
	if (!x) {
		atomic_fetch_add(&sh->finished, 1);
		return NULL;
	}
	for (uint64_t s = jb->j; s < sh->nprogs; s += J) {
		uint64_t k = o->shard + (uint64_t)o->nshards * s;

		if (atomic_load(&sh->stop) || s > atomic_load(&sh->best))
			break;
		if (sh->deadline > 0 && xe_now() >= sh->deadline)
			break;
		decided_program(x, c, o->seed + k, &p, &out);
		atomic_fetch_add(&jb->steps, out.executed);
		atomic_fetch_add(&jb->programs, 1);
		atomic_fetch_add(&jb->checks, out.checks);
		if (out.status == SIM_ERROR) {
			/* The generator asked for an impossible step: a bug here
			 * (or a statement that failed after the kernel WARNed). */
			if (!jb->internal_errors++)
				snprintf(jb->internal, sizeof(jb->internal),
					 "program %llu (seed %llu) step %u: %.900s",
					 (unsigned long long)k, (unsigned long long)(o->seed + k),
					 out.step, out.message);
			continue;
		}
		if (out.status == SIM_FAIL) {
			uint64_t cur = atomic_load(&sh->best);

			jb->failed = true;
			jb->fail_s = s;
			jb->fail_out = out;
			jb->fail_at = xe_now() - sh->t0;
			jb->steps_before = atomic_load(&jb->steps) - out.executed;
			xe_prog_copy(&jb->fail_prog, &p);
			while (s < cur && !atomic_compare_exchange_weak(&sh->best, &cur, s))
				;
			break;
		}
	}
	xe_prog_free(&p);
	free(x);
	jb->cpu_seconds = thread_cpu_seconds() - cpu0;
	atomic_fetch_add(&sh->finished, 1);
	return NULL;
}

static void progress_now(struct shared *sh, struct job *jobs, unsigned J, struct xe_progress *pr)
{
	memset(pr, 0, sizeof(*pr));
	for (unsigned j = 0; j < J; j++) {
		pr->steps += atomic_load(&jobs[j].steps);
		pr->programs += atomic_load(&jobs[j].programs);
	}
	pr->elapsed = xe_now() - sh->t0;
	pr->jobs = J;
}

void xe_report_free(struct xe_report *r)
{
	xe_prog_free(&r->v.found);
	xe_prog_free(&r->v.min);
}

int xe_explore(const struct xe_config *c, const struct xe_run_opts *o, struct xe_report *r)
{
	struct xe_run_opts oo = *o;
	struct shared sh;
	struct job *jobs;
	unsigned J;
	int best = -1;
	double last = 0;

	memset(r, 0, sizeof(*r));
	if (!oo.jobs)
		oo.jobs = 1;
	if (!oo.nshards)
		oo.nshards = 1;
	if (!oo.steps && oo.seconds <= 0)
		oo.steps = 1000000;
	J = oo.jobs;
	memset(&sh, 0, sizeof(sh));
	sh.c = c;
	sh.o = &oo;
	sh.nprogs = oo.steps ? (oo.steps + c->prog_len - 1) / c->prog_len : UINT64_MAX;
	sh.t0 = xe_now();
	sh.deadline = oo.seconds > 0 ? sh.t0 + oo.seconds : 0;
	atomic_init(&sh.best, UINT64_MAX);
	atomic_init(&sh.stop, false);
	atomic_init(&sh.finished, 0);
	jobs = calloc(J, sizeof(*jobs));
	if (!jobs)
		return -1;
	for (unsigned j = 0; j < J; j++) {
		jobs[j].sh = &sh;
		jobs[j].j = j;
		xe_prog_init(&jobs[j].fail_prog);
		if (pthread_create(&jobs[j].th, NULL, job_main, &jobs[j])) {
			atomic_store(&sh.stop, true);
			while (atomic_load(&sh.finished) < j)
				;
			for (unsigned i = 0; i < j; i++)
				pthread_join(jobs[i].th, NULL);
			free(jobs);
			return -1;
		}
	}
	/* Progress from this thread while the jobs run. */
	while (atomic_load(&sh.finished) < J) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		if (oo.progress && xe_now() - last >= 0.5) {
			struct xe_progress pr;

			last = xe_now();
			progress_now(&sh, jobs, J, &pr);
			oo.progress(oo.progress_ctx, &pr);
		}
	}
	for (unsigned j = 0; j < J; j++)
		pthread_join(jobs[j].th, NULL);
	r->elapsed = xe_now() - sh.t0;
	r->seed = oo.seed;
	r->jobs = J;
	r->shard = oo.shard;
	r->nshards = oo.nshards;
	for (unsigned j = 0; j < J; j++) {
		r->steps += atomic_load(&jobs[j].steps);
		r->programs += atomic_load(&jobs[j].programs);
		r->checks += atomic_load(&jobs[j].checks);
		r->internal_errors += jobs[j].internal_errors;
		r->cpu_seconds += jobs[j].cpu_seconds;
		if (jobs[j].internal_errors && !r->internal[0])
			snprintf(r->internal, sizeof(r->internal), "%s", jobs[j].internal);
		if (jobs[j].failed && (best < 0 || jobs[j].fail_s < jobs[best].fail_s))
			best = (int)j;
	}
	if (best >= 0) {
		struct job *jb = &jobs[best];
		struct xe_violation *v = &r->v;
		double t = xe_now();

		r->failed = true;
		snprintf(v->check, sizeof(v->check), "%s", jb->fail_out.check);
		snprintf(v->message, sizeof(v->message), "%s", jb->fail_out.message);
		v->program = oo.shard + (uint64_t)oo.nshards * jb->fail_s;
		v->seed = oo.seed + v->program;
		v->step = jb->fail_out.step;
		v->found_after = jb->fail_at;
		v->steps_before = jb->steps_before;
		xe_prog_init(&v->found);
		xe_prog_init(&v->min);
		xe_prog_copy(&v->found, &jb->fail_prog);
		if (v->found.n > v->step)
			v->found.n = v->step;
		if (oo.minimize)
			xe_minimize(c, &v->found, v->check, &v->min, &v->min_runs);
		v->min_seconds = xe_now() - t;
	}
	for (unsigned j = 0; j < J; j++)
		xe_prog_free(&jobs[j].fail_prog);
	free(jobs);
	return 0;
}
