/* xstate bench explore [--cpu M] [--seconds S] [--rounds R] [--features LIST] [--json]
 *
 * Explorer throughput: checked steps per second with every invariant on,
 * with 1 job and with 2 jobs (threads), each for S seconds (default 3) of
 * `xstate explore` on M (default intel-sapphire-rapids, AVX-512 and AMX).
 * A step is one generated operation, executed and followed by every check.
 *
 * The S seconds of each are split into R rounds (default 3) that alternate
 * 1 job, 2 jobs, 1 job, ...: on a virtual machine the speed of a core
 * drifts by a fifth from one second to the next, and alternating gives
 * both the same slow and fast moments, so their ratio measures the
 * explorer, not the drift. Round i explores other seeds than round i-1.
 *
 * Two rates per run: per wall-clock second (what a user waits for; the
 * 2-job figure is the one scaling is judged by) and per CPU-second of the
 * jobs (per core: what one core does when nothing else competes for it).
 * On a machine where other processes run, the wall rates drop and the
 * 2-job wall rate cannot double; the CPU rates say what the explorer itself
 * costs. --json: steps_per_s_1, steps_per_s_2 (wall), cpu_steps_per_s_1,
 * cpu_steps_per_s_2, scaling (= steps_per_s_2 / steps_per_s_1).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "xstate/explore.h"

struct rates {
	double wall, cpu, elapsed, cpu_seconds;
	uint64_t steps, programs;
};

/* One round of `jobs` jobs for `seconds`, added to out. */
static int run(struct xe_config *c, unsigned jobs, double seconds, uint64_t seed,
	       struct rates *out)
{
	struct xe_run_opts o;
	struct xe_report r;

	memset(&o, 0, sizeof(o));
	o.seed = seed;
	o.jobs = jobs;
	o.nshards = 1;
	o.seconds = seconds;
	o.minimize = false;
	if (xe_explore(c, &o, &r))
		return -1;
	out->elapsed += r.elapsed;
	out->cpu_seconds += r.cpu_seconds;
	out->steps += r.steps;
	out->programs += r.programs;
	out->wall = out->elapsed > 0 ? (double)out->steps / out->elapsed : 0;
	out->cpu = out->cpu_seconds > 0 ? (double)out->steps / out->cpu_seconds : 0;
	if (r.failed)
		fprintf(stderr, "xstate bench explore: note: invariant '%s' broke during the run "
			"(program %llu); the rate covers the programs run until then\n", r.v.check,
			(unsigned long long)r.v.program);
	xe_report_free(&r);
	return 0;
}

int bench_explore(int argc, char **argv)
{
	const char *val, *model = "intel-sapphire-rapids", *feats = NULL;
	double seconds = 3;
	unsigned rounds = 3;
	bool json = false;
	struct xe_config c;
	struct rates r1, r2;
	char err[512];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--cpu", &val))) {
			if (rc < 0)
				return CLI_USAGE;
			model = val;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--features", &val))) {
			if (rc < 0)
				return CLI_USAGE;
			feats = val;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--seconds", &val))) {
			char *end;

			if (rc < 0)
				return CLI_USAGE;
			seconds = strtod(val, &end);
			if (*end || seconds <= 0 || seconds > 3600)
				return cli_usage_error("bench explore", "--seconds: '%s' is not in (0, 3600]",
						       val);
		} else if ((rc = cli_opt_value(argc, argv, &i, "--rounds", &val))) {
			char *end;
			unsigned long n;

			if (rc < 0)
				return CLI_USAGE;
			n = strtoul(val, &end, 10);
			if (*end || !*val || n < 1 || n > 100)
				return cli_usage_error("bench explore", "--rounds: '%s' is not in 1..100",
						       val);
			rounds = (unsigned)n;
		} else {
			return cli_usage_error("bench explore", "unknown option '%s' (usage: bench "
					       "explore [--cpu M] [--seconds S] [--rounds R] "
					       "[--features LIST] [--json])", argv[i]);
		}
	}
	if (xe_config_init(&c, model, err, sizeof(err))) {
		fprintf(stderr, "xstate bench explore: cannot load CPU model '%s': %s\n", model, err);
		return CLI_USAGE;
	}
	if (feats && xe_feats_parse(feats, &c.feats, err, sizeof(err)))
		return cli_usage_error("bench explore", "--features: %s", err);
	if (xe_config_ready(&c, err, sizeof(err))) {
		fprintf(stderr, "xstate bench explore: %s\n", err);
		return CLI_USAGE;
	}
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	for (unsigned i = 0; i < rounds; i++) {
		/* Disjoint seeds per round: a round's programs are new ones. */
		uint64_t seed = 1 + (uint64_t)i * 1000003u;

		if (run(&c, 1, seconds / rounds, seed, &r1) ||
		    run(&c, 2, seconds / rounds, seed, &r2)) {
			fprintf(stderr, "xstate bench explore: cannot start the jobs\n");
			xe_config_free(&c);
			return CLI_FAULT;
		}
	}
	if (json) {
		printf("{\"model\":");
		xs_json_string(stdout, c.model_spec);
		printf(",\"features\":");
		xs_json_string(stdout, feats ? feats : "all");
		printf(",\"invariants\":\"all\",\"seconds\":%.1f,\"rounds\":%u,\"online_cpus\":%ld,"
		       "\"steps_per_s_1\":%.0f,\"steps_per_s_2\":%.0f,\"cpu_steps_per_s_1\":%.0f,"
		       "\"cpu_steps_per_s_2\":%.0f,\"scaling\":%.3f,\"steps_1\":%llu,\"steps_2\":%llu}\n",
		       seconds, rounds, sysconf(_SC_NPROCESSORS_ONLN), r1.wall, r2.wall, r1.cpu, r2.cpu,
		       r1.wall > 0 ? r2.wall / r1.wall : 0.0, (unsigned long long)r1.steps,
		       (unsigned long long)r2.steps);
	} else {
		printf("explorer throughput on %s, every invariant on, features %s, %.1f s per run "
		       "in %u alternating round%s\n", c.model_spec, feats ? feats : "all", seconds,
		       rounds, rounds == 1 ? "" : "s");
		printf("  %-6s %14s %16s %12s %10s\n", "jobs", "steps/s (wall)", "steps/s per core",
		       "steps", "programs");
		printf("  %-6u %14.0f %16.0f %12llu %10llu\n", 1u, r1.wall, r1.cpu,
		       (unsigned long long)r1.steps, (unsigned long long)r1.programs);
		printf("  %-6u %14.0f %16.0f %12llu %10llu\n", 2u, r2.wall, r2.cpu,
		       (unsigned long long)r2.steps, (unsigned long long)r2.programs);
		printf("  2 jobs / 1 job (wall): %.2fx   (%ld CPUs online)\n",
		       r1.wall > 0 ? r2.wall / r1.wall : 0.0, sysconf(_SC_NPROCESSORS_ONLN));
		printf("  targets: >= 1,000,000 steps/s per core; 2 jobs >= 1.8x 1 job\n");
	}
	xe_config_free(&c);
	return CLI_OK;
}
