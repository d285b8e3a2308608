/* xstate run FILE [--trace] [--quiet] [--json] [--seed S] [--policy N=V]...
 *
 * Runs a scenario on the simulated machine. Prints the trace (which CPU
 * runs what, every save and restore the kernel executes, every user
 * instruction), then PASS or the first failure with the lines that led to
 * it. Exit 0: every expectation and check held; 1: one failed; 2: the file
 * is malformed or asks for something impossible.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/sim.h"

static void print_json(const struct sim_result *r, const char *file)
{
	static const char *const status[] = { "pass", "fail", "error" };

	printf("{\"file\":");
	xs_json_string(stdout, file);
	printf(",\"result\":\"%s\",\"model\":", status[r->status]);
	xs_json_string(stdout, r->model);
	printf(",\"cpus\":%u,\"policy\":", r->ncpus);
	xs_json_string(stdout, r->policy);
	printf(",\"seed\":%llu", (unsigned long long)r->seed);
	printf(",\"expectations\":{\"total\":%u,\"passed\":%u,\"failed\":%u,\"not_run\":%u}",
	       r->expect_total, r->expect_passed, r->expect_failed,
	       r->expect_total - r->expect_passed - r->expect_failed);
	if (r->status == SIM_OK) {
		printf(",\"failure\":null");
	} else {
		printf(",\"failure\":{\"line\":%u,\"statement\":", r->fail_line);
		xs_json_string(stdout, r->fail_text);
		printf(",\"check\":");
		if (r->fail_check)
			xs_json_string(stdout, r->fail_check);
		else
			printf(r->status == SIM_ERROR ? "\"scenario\"" : "null");
		printf(",\"message\":");
		xs_json_string(stdout, r->message);
		printf(",\"context\":[");
		for (unsigned i = 0; i < r->ncontext; i++) {
			if (i)
				putchar(',');
			xs_json_string(stdout, r->context[i]);
		}
		printf("]}");
	}
	printf(",\"counters\":{\"steps\":%llu,\"checks\":%llu,\"saves\":%llu,\"restores\":%llu,"
	       "\"restores_skipped\":%llu,\"switches\":%llu,\"xfd_writes\":%llu,\"warnings\":%llu,"
	       "\"mem_bytes\":%llu,\"mem_peak\":%llu}}\n",
	       (unsigned long long)r->steps, (unsigned long long)r->checks,
	       (unsigned long long)r->saves, (unsigned long long)r->restores,
	       (unsigned long long)r->restores_skipped, (unsigned long long)r->switches,
	       (unsigned long long)r->xfd_writes, (unsigned long long)r->warnings,
	       (unsigned long long)r->mem_bytes, (unsigned long long)r->mem_peak);
}

static void print_failure(const struct sim_result *r, bool traced)
{
	if (!traced && r->ncontext) {
		printf("last trace lines:\n");
		for (unsigned i = 0; i < r->ncontext; i++)
			printf("  | %s\n", r->context[i]);
	}
	printf("FAIL %s\n", r->message);
	printf("  at line %u: %s\n", r->fail_line, r->fail_text);
	printf("  check: %s; %u of %u expectations held before it\n",
	       r->fail_check ? r->fail_check : "?", r->expect_passed, r->expect_total);
}

int cmd_run(int argc, char **argv)
{
	struct sim_run_opts o;
	struct sim_scenario *sc;
	struct sim_result *r;
	const char *file = NULL, *val;
	char err[SIM_MSG_MAX];
	char *policy = NULL;
	bool json = false, quiet = false, trace = false;
	int rc, status;

	memset(&o, 0, sizeof(o));
	for (int i = 1; i < argc; i++) {
		if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if (cli_opt_flag(argv, i, "--trace")) {
			trace = true;
		} else if (cli_opt_flag(argv, i, "--quiet")) {
			quiet = true;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--seed", &val))) {
			if (rc < 0)
				return CLI_USAGE;
			if (cli_parse_u64(val, &o.seed))
				return cli_usage_error("run", "--seed: '%s' is not a number", val);
			o.seed_set = true;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--policy", &val))) {
			size_t n = policy ? strlen(policy) : 0;
			char *p;

			if (rc < 0)
				return free(policy), CLI_USAGE;
			p = realloc(policy, n + strlen(val) + 2);
			if (!p)
				return free(policy), CLI_FAULT;
			policy = p;
			if (n)
				policy[n++] = ' ';
			strcpy(policy + n, val);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			free(policy);
			return cli_usage_error("run", "unknown option '%s'", argv[i]);
		} else if (!file) {
			file = argv[i];
		} else {
			free(policy);
			return cli_usage_error("run", "one scenario file at a time");
		}
	}
	if (!file) {
		free(policy);
		return cli_usage_error("run", "which scenario file?");
	}
	if (policy) {
		/* Check the override before running anything. */
		struct xk_policy pol;

		xk_policy_default(&pol);
		if (xk_policy_parse(&pol, policy, err, sizeof(err))) {
			free(policy);
			return cli_usage_error("run", "--policy: %s", err);
		}
		o.policy_extra = policy;
	}

	r = calloc(1, sizeof(*r));
	if (!r) {
		free(policy);
		return CLI_FAULT;
	}
	if (sim_scenario_load(file, &sc, err, sizeof(err))) {
		fprintf(stderr, "xstate run: %s\n", err);
		if (json) {
			size_t n = strlen(file);

			r->status = SIM_ERROR;
			snprintf(r->message, sizeof(r->message), "%s", err);
			/* The parser's message is "FILE:LINE: reason". */
			if (!strncmp(err, file, n) && err[n] == ':')
				r->fail_line = (unsigned)strtoul(err + n + 1, NULL, 10);
			print_json(r, file);
		}
		free(r);
		free(policy);
		return CLI_USAGE;
	}
	o.out = json || quiet ? NULL : stdout;
	o.level = trace ? SIM_TR_DETAIL : SIM_TR_EVENT;
	sim_scenario_run(sc, &o, r);
	sim_scenario_free(sc);

	if (json) {
		print_json(r, file);
	} else if (r->status == SIM_OK) {
		printf("PASS %s: %u expectation%s held; %llu steps, %llu checks, %llu saves, "
		       "%llu restores (%llu skipped)\n", file, r->expect_passed,
		       r->expect_passed == 1 ? "" : "s", (unsigned long long)r->steps,
		       (unsigned long long)r->checks, (unsigned long long)r->saves,
		       (unsigned long long)r->restores, (unsigned long long)r->restores_skipped);
	} else if (r->status == SIM_FAIL) {
		print_failure(r, o.out != NULL);
	}
	if (r->status == SIM_ERROR)
		fprintf(stderr, "xstate run: %s\n", r->message);
	status = r->status == SIM_OK ? CLI_OK : r->status == SIM_FAIL ? CLI_FAIL : CLI_USAGE;
	free(r);
	free(policy);
	return status;
}
