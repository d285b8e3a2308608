/* Helpers shared by the simulator tests: run a scenario held in a string
 * and look at the result. */
#ifndef XSTATE_TESTS_SIMTEST_H
#define XSTATE_TESTS_SIMTEST_H

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xstate/sim.h"

/* Run text; policy may add kernel settings ("mutant=..."). The result
 * lives in a static buffer until the next call. */
static inline const struct sim_result *st_run(const char *text, const char *policy)
{
	static struct sim_result r;
	struct sim_run_opts o;

	memset(&o, 0, sizeof(o));
	o.policy_extra = policy;
	sim_run_string(text, "t.xs", &o, &r);
	if (r.status != SIM_OK)
		tap_diag("  %s", r.message);
	return &r;
}

/* Run text with the trace (level) captured into a malloc'd string. */
static inline char *st_trace(const char *text, int level, const char *policy, bool seed_set,
			     uint64_t seed, int *status)
{
	struct sim_result *r = calloc(1, sizeof(*r));
	struct sim_run_opts o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	memset(&o, 0, sizeof(o));
	o.out = f;
	o.level = level;
	o.policy_extra = policy;
	o.seed_set = seed_set;
	o.seed = seed;
	sim_run_string(text, "t.xs", &o, r);
	fclose(f);
	*status = r->status;
	free(r);
	return buf;
}

/* A machine booted on a built-in model, for API-level tests. */
static inline struct sim_machine *st_machine(const char *model, unsigned ncpus,
					     const char *policy)
{
	static struct xs_model m;
	struct xk_policy pol;
	struct sim_machine *mach;
	char err[512];

	if (xs_model_load(model, &m, err, sizeof(err))) {
		tap_diag("model %s: %s", model, err);
		return NULL;
	}
	xk_policy_default(&pol);
	if (policy && xk_policy_parse(&pol, policy, err, sizeof(err))) {
		tap_diag("policy: %s", err);
		return NULL;
	}
	mach = sim_machine_new(NULL);
	if (!mach || sim_machine_boot(mach, &m, ncpus, &pol, 1)) {
		tap_diag("boot: %s", mach ? mach->err : "oom");
		sim_machine_free(mach);
		return NULL;
	}
	return mach;
}

#endif
