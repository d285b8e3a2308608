/* Helpers of the FS/GS and KVM simulator tests: run a scenario up to a
 * line and keep the machine, to damage its state the way a kernel bug
 * would and show that the checks notice. */
#ifndef XSTATE_TESTS_H5B_UTIL_H
#define XSTATE_TESTS_H5B_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simtest.h"

struct partial {
	struct sim_scenario *sc;
	struct sim_machine *m;
	int status;
};

/* Parse text and execute its statements (with the checks after each) as
 * the runner does, stopping after n statements (all if n < 0). */
static inline int partial_run(struct partial *p, const char *text, int n)
{
	char err[SIM_MSG_MAX];

	memset(p, 0, sizeof(*p));
	if (sim_scenario_parse(text, "t.xs", &p->sc, err, sizeof(err))) {
		tap_diag("parse: %s", err);
		return -1;
	}
	p->m = sim_machine_new(NULL);
	p->m->nbysym = p->sc->ntasks;
	p->m->nprocsym = p->sc->nprocs;
	p->m->bysym = calloc(p->sc->ntasks + 1, sizeof(*p->m->bysym));
	p->m->procsym = calloc(p->sc->nprocs + 1, sizeof(*p->m->procsym));
	for (unsigned i = 0; i < p->sc->nstmts && (n < 0 || (int)i < n); i++) {
		const struct sim_stmt *s = &p->sc->stmts[i];

		p->status = sim_step_done(p->m, s->verb->exec(p->m, s));
		if (p->status) {
			tap_diag("line %u: %s%s", s->line, p->m->fail, p->m->err);
			return -1;
		}
	}
	return 0;
}

static inline void partial_free(struct partial *p)
{
	sim_machine_free(p->m);
	sim_scenario_free(p->sc);
}

/* Read a whole file (examples) into a malloc'd string; NULL if absent. */
static inline char *slurp(const char *rel)
{
	const char *top = getenv("XSTATE_TOP");
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A statement a user gets wrong, and words its error message must hold. */
struct st_bad {
	const char *text, *want;
};

/* Each text, run after the line "machine", must stop with a scenario
 * error (SIM_ERROR) whose message holds its words. */
static inline void st_expect_errors(const char *machine, const struct st_bad *bad, size_t n)
{
	char text[512];

	for (size_t i = 0; i < n; i++) {
		const struct sim_result *r;

		snprintf(text, sizeof(text), "%s\n%s", machine, bad[i].text);
		r = st_run(text, NULL);
		tap_ok(r->status == SIM_ERROR && strstr(r->message, bad[i].want),
		       "error: %s (%s)", bad[i].want, r->message);
	}
}

#endif
