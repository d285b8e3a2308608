/* The scenario runner: statements in order, one step each, the checks after
 * every step, expectations counted, the first failure kept with the trace
 * lines that led to it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"
#include "xstate/explore.h"

struct sim_task *sim_stmt_task(const struct sim_machine *m, const struct sim_stmt *s, int i)
{
	int sym = s->a.task[i];

	if (sym <= 0 || (unsigned)sym > m->nbysym)
		return NULL;
	return m->bysym[sym - 1];
}

struct sim_process *sim_stmt_proc(const struct sim_machine *m, const struct sim_stmt *s)
{
	int sym = s->a.proc;

	if (sym <= 0 || (unsigned)sym > m->nprocsym)
		return NULL;
	return m->procsym[sym - 1];
}

int sim_bind_task(struct sim_machine *m, int sym, struct sim_task *t)
{
	if (sym <= 0 || (unsigned)sym > m->nbysym)
		return -1;
	m->bysym[sym - 1] = t;
	return 0;
}

int sim_bind_proc(struct sim_machine *m, int sym, struct sim_process *p)
{
	if (sym <= 0 || (unsigned)sym > m->nprocsym)
		return -1;
	m->procsym[sym - 1] = p;
	return 0;
}

void sim_note(struct sim_machine *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->note, sizeof(m->note), fmt, ap);
	va_end(ap);
}

static void fill_counters(const struct sim_machine *m, struct sim_result *res)
{
	res->steps = m->steps;
	res->checks = m->checks;
	res->warnings = m->warnings;
	res->seed = m->seed;
	if (!m->booted)
		return;
	/* Whole-run totals from the kernel (not reset by `counters reset`). */
	res->saves = m->k.stats.saves;
	res->restores = m->k.stats.restores;
	res->restores_skipped = m->k.stats.restores_skipped;
	res->switches = m->k.stats.switches;
	res->xfd_writes = m->k.stats.xfd_writes;
	res->mem_bytes = m->k.mem.bytes;
	res->mem_peak = m->k.mem.peak;
	xk_policy_format(&m->k.policy, res->policy, sizeof(res->policy));
	snprintf(res->model, sizeof(res->model), "%s", m->model->name);
	res->ncpus = m->ncpus;
}

static void keep_context(const struct sim_trace *tr, struct sim_result *res)
{
	unsigned first = (tr->ring_next + SIM_CONTEXT_LINES - tr->ring_count) % SIM_CONTEXT_LINES;

	res->ncontext = tr->ring_count;
	for (unsigned i = 0; i < tr->ring_count; i++)
		memcpy(res->context[i], tr->ring[(first + i) % SIM_CONTEXT_LINES],
		       sizeof(res->context[i]));
}

int sim_scenario_run(const struct sim_scenario *sc, const struct sim_run_opts *o,
		     struct sim_result *res)
{
	struct sim_trace tr;
	struct sim_machine *m;
	unsigned i;
	int rc = SIM_OK;

	memset(res, 0, sizeof(*res));
	res->expect_total = sc->nexpect;
	sim_trace_init(&tr, o ? o->out : NULL, o ? o->level : SIM_TR_STEP);
	m = sim_machine_new(&tr);
	if (!m) {
		res->status = SIM_ERROR;
		snprintf(res->message, sizeof(res->message), "%s: out of memory", sc->file);
		return SIM_ERROR;
	}
	if (o && o->seed_set) {
		m->seed_forced = true;
		m->forced_seed = o->seed;
	}
	if (o)
		m->policy_extra = o->policy_extra;
	m->nbysym = sc->ntasks;
	m->nprocsym = sc->nprocs;
	m->bysym = calloc(sc->ntasks + 1, sizeof(*m->bysym));
	m->procsym = calloc(sc->nprocs + 1, sizeof(*m->procsym));
	if (!m->bysym || !m->procsym) {
		sim_machine_free(m);
		res->status = SIM_ERROR;
		snprintf(res->message, sizeof(res->message), "%s: out of memory", sc->file);
		return SIM_ERROR;
	}

	for (i = 0; i < sc->nstmts; i++) {
		const struct sim_stmt *s = &sc->stmts[i];
		bool expect = s->verb->kind == SIM_VERB_EXPECT;

		m->cur_line = s->line;
		m->note[0] = '\0';
		sim_trace(m, SIM_TR_STEP, "%4u  %s", s->line, s->text);
		if (m->inv_mask) /* explore.h: snapshots of the checks */
			sim_inv_before(m, s);
		rc = s->verb->exec(m, s);
		rc = sim_step_done(m, rc);
		if (rc == SIM_OK && expect) {
			res->expect_passed++;
			sim_trace(m, SIM_TR_STEP, "        ok: %s", m->note);
		}
		if (rc != SIM_OK)
			break;
	}

	res->status = rc;
	if (rc != SIM_OK) {
		const struct sim_stmt *s = &sc->stmts[i];

		res->fail_line = s->line;
		snprintf(res->fail_text, sizeof(res->fail_text), "%s", s->text);
		keep_context(&tr, res);
		if (rc == SIM_FAIL) {
			if (sc->stmts[i].verb->kind == SIM_VERB_EXPECT &&
			    m->fail_check && !strcmp(m->fail_check, "expect"))
				res->expect_failed = 1;
			res->fail_check = m->fail_check;
			snprintf(res->message, sizeof(res->message), "%.200s:%u: %.800s", sc->file,
				 s->line, m->fail);
			sim_trace(m, SIM_TR_STEP, "        FAILED: %s", m->fail);
		} else {
			snprintf(res->message, sizeof(res->message), "%.200s:%u: %.800s", sc->file,
				 s->line, m->err);
		}
	}
	fill_counters(m, res);
	sim_machine_free(m);
	return res->status;
}

int sim_run_string(const char *text, const char *file, const struct sim_run_opts *o,
		   struct sim_result *res)
{
	struct sim_scenario *sc;
	char err[SIM_MSG_MAX];

	if (sim_scenario_parse(text, file, &sc, err, sizeof(err))) {
		memset(res, 0, sizeof(*res));
		res->status = SIM_ERROR;
		snprintf(res->message, sizeof(res->message), "%s", err);
		return SIM_ERROR;
	}
	sim_scenario_run(sc, o, res);
	sim_scenario_free(sc);
	return res->status;
}
