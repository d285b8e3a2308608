/* xstate bench checker [--runs N] [--timeout S] [--mutant NAME]... [--json]
 *
 * The benchmark of the checker: for every seeded bug of the catalogue
 * (xstate explore --list-mutants), N runs (default 5) of `xstate explore
 * --mutant NAME` on one job with different seeds, each until the first
 * violation or the timeout (default 30 s). Per mutant: how many runs found
 * it, the median time and steps to the first violation, and the length of
 * the minimized counterexample (median and maximum).
 *
 * A run counts as found only if the violation is the mutant's: the
 * minimized counterexample must pass on the same machine without the
 * mutant (a violation the unmutated manager also has is a different bug,
 * reported as "not attributable").
 *
 * Targets: every mutant found, each in under 10 s median on one core, with
 * minimized counterexamples of at most 15 operations.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/explore.h"

#define MAX_RUNS 32

struct result {
	const char *name;
	unsigned runs, found, foreign;
	double seconds[MAX_RUNS];
	double steps[MAX_RUNS];
	double ops[MAX_RUNS];
	char invariant[32];
	char error[256];
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of the n values, with the runs that did not find it counted as
 * infinitely slow (so a mutant found in fewer than half the runs has no
 * median). */
static double median(const double *v, unsigned n, unsigned total)
{
	double tmp[MAX_RUNS], m;

	if (!total)
		return -1;
	for (unsigned i = 0; i < total; i++)
		tmp[i] = i < n ? v[i] : 1e300;
	qsort(tmp, total, sizeof(*tmp), cmp_double);
	m = total % 2 ? tmp[total / 2] : (tmp[total / 2 - 1] + tmp[total / 2]) / 2;
	return m >= 1e299 ? -1 : m;
}

static double max_of(const double *v, unsigned n)
{
	double m = 0;

	for (unsigned i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

/* Does the program pass without the mutant bit? */
static bool attributable(const struct xe_config *c, const struct xe_prog *p, int mutant)
{
	struct xe_config clean = *c;
	struct xe_replay_opts ro = { .tagged = true };
	struct xe_outcome out;

	clean.policy.mutants &= ~(1ULL << mutant);
	xe_prog_run(&clean, p, &ro, &out);
	/* It passes, or the correct kernel refuses a call the mutant
	 * accepted (the program cannot even run): not this failure. */
	return out.status != SIM_FAIL;
}

static void bench_one(const struct xe_mutant *mu, unsigned runs, double timeout,
		      struct result *res)
{
	char err[512];

	memset(res, 0, sizeof(*res));
	res->name = mu->name;
	for (unsigned k = 0; k < runs; k++) {
		struct xe_config c;
		struct xe_run_opts o;
		struct xe_report r;

		res->runs++;
		if (xe_config_init(&c, NULL, err, sizeof(err)) ||
		    xe_config_mutant(&c, mu, false, err, sizeof(err)) ||
		    xe_config_ready(&c, err, sizeof(err))) {
			snprintf(res->error, sizeof(res->error), "%.200s", err);
			return;
		}
		memset(&o, 0, sizeof(o));
		/* Seeds far apart so the runs share no program. */
		o.seed = 1 + (uint64_t)k * 1000003u;
		o.jobs = 1;
		o.nshards = 1;
		o.seconds = timeout;
		o.minimize = true;
		if (xe_explore(&c, &o, &r)) {
			snprintf(res->error, sizeof(res->error), "cannot run");
			xe_config_free(&c);
			return;
		}
		if (r.failed) {
			const struct xe_prog *p = r.v.min.n ? &r.v.min : &r.v.found;

			if (attributable(&c, p, mu->id)) {
				unsigned i = res->found++;

				res->seconds[i] = r.v.found_after;
				res->steps[i] = (double)(r.v.steps_before + r.v.step);
				res->ops[i] = p->n;
				snprintf(res->invariant, sizeof(res->invariant), "%s", r.v.check);
			} else {
				res->foreign++;
				if (!res->error[0])
					snprintf(res->error, sizeof(res->error), "not attributable: %s: "
						 "%.180s", r.v.check, r.v.message);
			}
		}
		xe_report_free(&r);
		xe_config_free(&c);
	}
}

int bench_checker(int argc, char **argv)
{
	const char *val;
	const char *only[64];
	unsigned nonly = 0, runs = 5, n = xe_mutant_count(), nres = 0;
	double timeout = 30;
	bool json = false, all_found = true;
	double worst_median = 0, worst_ops = 0;
	struct result *res;
	uint64_t v;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--runs", &val))) {
			if (rc < 0 || cli_parse_u64(val, &v) || v < 1 || v > MAX_RUNS)
				return cli_usage_error("bench checker", "--runs: 1 to %d", MAX_RUNS);
			runs = (unsigned)v;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--timeout", &val))) {
			char *end;

			if (rc < 0)
				return CLI_USAGE;
			timeout = strtod(val, &end);
			if (*end || timeout <= 0 || timeout > 3600)
				return cli_usage_error("bench checker", "--timeout: '%s' is not in (0, 3600]",
						       val);
		} else if ((rc = cli_opt_value(argc, argv, &i, "--mutant", &val))) {
			if (rc < 0)
				return CLI_USAGE;
			if (!xe_mutant_find(val))
				return cli_usage_error("bench checker", "unknown mutant '%s' (xstate explore "
						       "--list-mutants)", val);
			if (nonly < 64)
				only[nonly++] = val;
		} else {
			return cli_usage_error("bench checker", "unknown option '%s' (usage: bench "
					       "checker [--runs N] [--timeout S] [--mutant NAME]... "
					       "[--json])", argv[i]);
		}
	}
	res = calloc(n, sizeof(*res));
	if (!res)
		return CLI_FAULT;
	if (!json)
		printf("%-26s %6s %12s %12s %9s %8s  %s\n", "mutant", "found", "median time",
		       "median steps", "min ops", "max ops", "invariant");
	for (unsigned i = 0; i < n; i++) {
		const struct xe_mutant *mu = xe_mutant_get(i);
		struct result *r = &res[nres];
		double mt, ms, mo, xo;
		bool selected = !nonly;

		for (unsigned k = 0; k < nonly; k++)
			selected |= !strcmp(only[k], mu->name);
		if (!selected)
			continue;
		bench_one(mu, runs, timeout, r);
		nres++;
		mt = median(r->seconds, r->found, r->runs);
		ms = median(r->steps, r->found, r->runs);
		mo = median(r->ops, r->found, r->found);
		xo = max_of(r->ops, r->found);
		if (mt < 0)
			all_found = false;
		else if (mt > worst_median)
			worst_median = mt;
		if (xo > worst_ops)
			worst_ops = xo;
		if (json)
			continue;
		if (mt < 0)
			printf("%-26s %3u/%-2u %12s %12s %9s %8s  %s\n", r->name, r->found, r->runs,
			       "-", "-", "-", "-", r->error[0] ? r->error : "not found");
		else
			printf("%-26s %3u/%-2u %11.3fs %12.0f %9.0f %8.0f  %s\n", r->name, r->found,
			       r->runs, mt, ms, mo, xo, r->invariant);
		fflush(stdout);
	}
	if (json) {
		printf("{\"runs\":%u,\"timeout\":%.1f,\"mutants\":[", runs, timeout);
		for (unsigned i = 0; i < nres; i++) {
			struct result *r = &res[i];
			double mt = median(r->seconds, r->found, r->runs);

			printf("%s{\"name\":", i ? "," : "");
			xs_json_string(stdout, r->name);
			printf(",\"found\":%u,\"runs\":%u,\"not_attributable\":%u", r->found, r->runs,
			       r->foreign);
			if (mt < 0) {
				printf(",\"median_seconds\":null,\"median_steps\":null,"
				       "\"minimized_ops_median\":null,\"minimized_ops_max\":null");
			} else {
				printf(",\"median_seconds\":%.4f,\"median_steps\":%.0f,"
				       "\"minimized_ops_median\":%.0f,\"minimized_ops_max\":%.0f", mt,
				       median(r->steps, r->found, r->runs),
				       median(r->ops, r->found, r->found), max_of(r->ops, r->found));
			}
			printf(",\"invariant\":");
			xs_json_string(stdout, r->invariant);
			printf(",\"error\":");
			xs_json_string(stdout, r->error);
			printf("}");
		}
		printf("],\"all_found\":%s,\"max_median_seconds\":%.4f,\"max_minimized_ops\":%.0f}\n",
		       all_found ? "true" : "false", worst_median, worst_ops);
	} else {
		printf("\n%u mutants, %u runs each: %s; slowest median %.3f s (target < 10 s); longest "
		       "minimized counterexample %.0f operations (target <= 15)\n", nres, runs,
		       all_found ? "every mutant found" : "SOME NOT FOUND", worst_median, worst_ops);
	}
	free(res);
	return all_found ? CLI_OK : CLI_FAIL;
}
