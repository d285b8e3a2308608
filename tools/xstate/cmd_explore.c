/* xstate explore: search interleavings of the simulated machine for an
 * invariant violation; print the first failing step, a minimized
 * counterexample as a scenario file, and its trace.
 *
 *   xstate explore [--cpu M] [--cpus N] [--tasks N] [--policy N=V]...
 *                  [--steps N | --seconds S] [--seed S] [--jobs J] [--shard I/N]
 *                  [--mutant NAME] [--invariants LIST] [--features LIST] [--length N]
 *                  [--exhaustive --depth D [--max-states N]]
 *                  [--out FILE] [--no-minimize] [--no-trace] [--json]
 *   xstate explore --list-mutants [--json]
 *   xstate explore --list-invariants
 *   xstate explore --merge FILE... [--json]
 *
 * Exit 0: no invariant broke; 1: a counterexample; 2: usage or input error.
 * Progress (steps, states, rate, elapsed) goes to standard error when it
 * is a terminal.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/explore.h"

static const char *const usage =
	"explore [--cpu M] [--cpus N] [--tasks N] [--policy N=V]... [--steps N|--seconds S] "
	"[--seed S] [--jobs J] [--shard I/N] [--mutant NAME] [--invariants LIST] [--features LIST] "
	"[--length N] "
	"[--exhaustive --depth D] [--out FILE] [--no-minimize] [--no-trace] [--json] | "
	"--list-mutants | --list-invariants | --merge FILE...";

static void progress(void *ctx, const struct xe_progress *p)
{
	const bool *exhaustive = ctx;
	double rate = p->elapsed > 0 ? (double)p->steps / p->elapsed : 0;

	if (*exhaustive)
		fprintf(stderr, "\rexplore: %llu states, %llu steps, %.2fM steps/s, %.1f s   ",
			(unsigned long long)p->states, (unsigned long long)p->steps, rate / 1e6,
			p->elapsed);
	else
		fprintf(stderr, "\rexplore: %llu steps, %llu programs, %.2fM steps/s, %.1f s, "
			"%u job%s   ", (unsigned long long)p->steps, (unsigned long long)p->programs,
			rate / 1e6, p->elapsed, p->jobs, p->jobs == 1 ? "" : "s");
	fflush(stderr);
}

static int list_mutants(bool json)
{
	unsigned n = xe_mutant_count();

	if (json) {
		printf("[");
		for (unsigned i = 0; i < n; i++) {
			const struct xe_mutant *mu = xe_mutant_get(i);
			printf("%s{\"name\":", i ? "," : "");
			xs_json_string(stdout, mu->name);
			printf(",\"description\":");
			xs_json_string(stdout, mu->desc);
			printf(",\"bug_class\":");
			xs_json_string(stdout, mu->bug_class);
			printf(",\"policy\":");
			xs_json_string(stdout, mu->policy);
			printf(",\"invariant\":");
			xs_json_string(stdout, mu->invariant);
			printf("}");
		}
		printf("]\n");
		return CLI_OK;
	}
	for (unsigned i = 0; i < n; i++)
		printf("%s\n", xe_mutant_get(i)->name);
	return CLI_OK;
}

static int list_invariants(void)
{
	for (unsigned i = 0; i < SIM_INV_COUNT; i++)
		printf("%-11s %s\n", sim_inv_name((enum sim_inv)i), sim_inv_desc((enum sim_inv)i));
	return CLI_OK;
}

static int parse_shard(const char *v, unsigned *i, unsigned *n)
{
	char *end;
	unsigned long a, b;

	a = strtoul(v, &end, 10);
	if (end == v || *end != '/')
		return -1;
	b = strtoul(end + 1, &end, 10);
	if (*end || b < 1 || a >= b || b > 1000000)
		return -1;
	*i = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

int cmd_explore(int argc, char **argv)
{
	const char *val, *model = NULL, *mutant = NULL, *invs = NULL, *out_file = NULL;
	const char *feats = NULL;
	char err[1024];
	char *policy = NULL;
	bool json = false, exhaustive = false, no_trace = false, minimize = true;
	uint64_t v, cpus = 2, tasks = 4, length = 0, depth = 0, max_states = 0;
	struct xe_run_opts ro;
	struct xe_exh_opts eo;
	struct xe_config c;
	struct xe_report r;
	int rc, status;

	memset(&ro, 0, sizeof(ro));
	memset(&eo, 0, sizeof(eo));
	ro.seed = 1;
	ro.jobs = 1;
	ro.nshards = 1;
	for (int i = 1; i < argc; i++) {
		if (cli_opt_flag(argv, i, "--help") || cli_opt_flag(argv, i, "-h")) {
			printf("usage: xstate %s\n", usage);
			return CLI_OK;
		}
		if (cli_opt_flag(argv, i, "--merge")) {
			bool mj = false;
			char **files = calloc((size_t)argc, sizeof(*files));
			int nf = 0;

			if (!files)
				return CLI_FAULT;
			for (int k = 1; k < argc; k++) {
				if (k == i)
					continue;
				if (cli_opt_flag(argv, k, "--json"))
					mj = true;
				else if (argv[k][0] == '-' && argv[k][1])
					return free(files), cli_usage_error("explore", "--merge takes only "
									   "FILEs and --json, not '%s'",
									   argv[k]);
				else
					files[nf++] = argv[k];
			}
			if (!nf)
				return free(files), cli_usage_error("explore", "--merge: which files?");
			rc = xe_merge(files, nf, mj, stdout, err, sizeof(err));
			free(files);
			if (rc == 2)
				fprintf(stderr, "xstate explore: --merge: %s\n", err);
			return rc;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if (cli_opt_flag(argv, i, "--list-mutants")) {
			for (int k = 1; k < argc; k++)
				json |= cli_opt_flag(argv, k, "--json");
			return list_mutants(json);
		} else if (cli_opt_flag(argv, i, "--list-invariants")) {
			return list_invariants();
		} else if (cli_opt_flag(argv, i, "--exhaustive")) {
			exhaustive = true;
		} else if (cli_opt_flag(argv, i, "--no-trace")) {
			no_trace = true;
		} else if (cli_opt_flag(argv, i, "--no-minimize")) {
			minimize = false;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--cpu", &val))) {
			if (rc < 0)
				goto usage;
			model = val;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--mutant", &val))) {
			if (rc < 0)
				goto usage;
			mutant = val;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--invariants", &val))) {
			if (rc < 0)
				goto usage;
			invs = val;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--features", &val))) {
			if (rc < 0)
				goto usage;
			feats = val;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--out", &val))) {
			if (rc < 0)
				goto usage;
			out_file = val;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--shard", &val))) {
			if (rc < 0)
				goto usage;
			if (parse_shard(val, &ro.shard, &ro.nshards)) {
				free(policy);
				return cli_usage_error("explore", "--shard: '%s' is not I/N with 0 <= I < N",
						       val);
			}
		} else if ((rc = cli_opt_value(argc, argv, &i, "--seconds", &val))) {
			char *end;

			if (rc < 0)
				goto usage;
			ro.seconds = strtod(val, &end);
			if (*end || ro.seconds <= 0 || ro.seconds > 1e7) {
				free(policy);
				return cli_usage_error("explore", "--seconds: '%s' is not a positive "
						       "number", val);
			}
		} else if ((rc = cli_opt_value(argc, argv, &i, "--policy", &val))) {
			size_t n = policy ? strlen(policy) : 0;
			char *p;

			if (rc < 0)
				goto usage;
			p = realloc(policy, n + strlen(val) + 2);
			if (!p)
				return free(policy), CLI_FAULT;
			policy = p;
			if (n)
				policy[n++] = ' ';
			strcpy(policy + n, val);
		} else {
			static const struct {
				const char *opt;
				uint64_t min, max;
			} nums[] = {
				{ "--cpus", 1, 8 },     { "--tasks", 1, 64 },     { "--steps", 1, 1ULL << 50 },
				{ "--seed", 0, ~0ULL }, { "--jobs", 1, 256 },     { "--length", 1, 100000 },
				{ "--depth", 1, 64 },   { "--max-states", 1, 1ULL << 40 },
			};
			uint64_t *dst[] = { &cpus, &tasks, &ro.steps, &ro.seed, NULL, &length, &depth,
					    &max_states };
			size_t k;

			for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
				rc = cli_opt_value(argc, argv, &i, nums[k].opt, &val);
				if (!rc)
					continue;
				if (rc < 0)
					goto usage;
				if (cli_parse_u64(val, &v) || v < nums[k].min || v > nums[k].max) {
					free(policy);
					return cli_usage_error("explore", "%s: '%s' is not a number in %llu..%llu",
							       nums[k].opt, val,
							       (unsigned long long)nums[k].min,
							       (unsigned long long)nums[k].max);
				}
				if (dst[k])
					*dst[k] = v;
				else
					ro.jobs = (unsigned)v;
				break;
			}
			if (k == sizeof(nums) / sizeof(nums[0])) {
				free(policy);
				return cli_usage_error("explore", "unknown option '%s'", argv[i]);
			}
		}
	}
	if (ro.steps && ro.seconds > 0) {
		free(policy);
		return cli_usage_error("explore", "--steps and --seconds: choose one");
	}
	if (exhaustive && !depth) {
		free(policy);
		return cli_usage_error("explore", "--exhaustive needs --depth D");
	}
	if (depth && !exhaustive) {
		free(policy);
		return cli_usage_error("explore", "--depth is for --exhaustive");
	}

	if (xe_config_init(&c, model, err, sizeof(err))) {
		fprintf(stderr, "xstate explore: cannot load CPU model '%s': %s\n",
			model ? model : "(default)", err);
		free(policy);
		return CLI_USAGE;
	}
	c.ncpus = (unsigned)cpus;
	c.max_tasks = (unsigned)tasks;
	if (length)
		c.prog_len = (unsigned)length;
	if (mutant) {
		const struct xe_mutant *mu = xe_mutant_find(mutant);

		if (!mu) {
			fprintf(stderr, "xstate explore: unknown mutant '%s' (see --list-mutants)\n",
				mutant);
			free(policy);
			return CLI_USAGE;
		}
		if (xe_config_mutant(&c, mu, model != NULL, err, sizeof(err))) {
			fprintf(stderr, "xstate explore: --mutant %s: %s\n", mutant, err);
			free(policy);
			return CLI_USAGE;
		}
	}
	if (policy && xe_config_policy(&c, policy, err, sizeof(err))) {
		free(policy);
		return cli_usage_error("explore", "--policy: %s", err);
	}
	free(policy);
	if (invs && sim_inv_parse(invs, &c.inv_mask, err, sizeof(err)))
		return cli_usage_error("explore", "--invariants: %s", err);
	if (feats && xe_feats_parse(feats, &c.feats, err, sizeof(err)))
		return cli_usage_error("explore", "--features: %s", err);
	if (xe_config_ready(&c, err, sizeof(err))) {
		fprintf(stderr, "xstate explore: %s\n", err);
		xe_config_free(&c);
		return CLI_USAGE;
	}

	if (!json && cli_stderr_is_tty()) {
		ro.progress = eo.progress = progress;
		ro.progress_ctx = eo.progress_ctx = &exhaustive;
	}
	ro.minimize = minimize;
	if (exhaustive) {
		eo.depth = (unsigned)depth;
		eo.max_states = max_states;
		rc = xe_exhaustive(&c, &eo, &r);
	} else {
		rc = xe_explore(&c, &ro, &r);
	}
	if (ro.progress)
		fprintf(stderr, "\n");
	if (rc) {
		fprintf(stderr, "xstate explore: out of memory or threads\n");
		xe_config_free(&c);
		return CLI_FAULT;
	}
	if (json)
		xe_report_json(&c, &r, stdout);
	else
		xe_report_print(&c, &r, stdout, !no_trace);
	if (r.failed && out_file) {
		FILE *f = fopen(out_file, "w");
		char hdr[512];

		snprintf(hdr, sizeof(hdr), "xstate explore counterexample: invariant '%s'\n%.400s",
			 r.v.check, r.v.message);
		if (!f) {
			fprintf(stderr, "xstate explore: %s: cannot write\n", out_file);
		} else {
			xe_prog_write(&c, r.v.min.n ? &r.v.min : &r.v.found, hdr, f);
			fclose(f);
		}
	}
	if (r.internal_errors)
		fprintf(stderr, "xstate explore: %llu impossible generated steps (explorer bug): %s\n",
			(unsigned long long)r.internal_errors, r.internal);
	status = r.failed ? CLI_FAIL : CLI_OK;
	xe_report_free(&r);
	xe_config_free(&c);
	return status;
usage:
	free(policy);
	fprintf(stderr, "usage: xstate %s\n", usage);
	return CLI_USAGE;
}
