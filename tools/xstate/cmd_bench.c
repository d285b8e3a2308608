/* xstate bench: dispatch to the benchmarks (bench_*.c, weak in cli.h). */
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	cli_cmd_fn *fn;
	const char *what;
} benches[] = {
	{ "insn", bench_insn, "model vs silicon XSAVEC+XRSTOR round trip" },
	{ "switch", bench_switch, "simulated context switches" },
	{ "checker", bench_checker, "invariant checker throughput" },
	{ "explore", bench_explore, "explorer throughput" },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

int cmd_bench(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc < 2 ? stderr : stdout, "usage: xstate bench insn|switch|checker|explore "
			"[OPTIONS]\n");
		for (size_t i = 0; i < NBENCH; i++)
			fprintf(argc < 2 ? stderr : stdout, "  %-8s %s%s\n", benches[i].name,
				benches[i].what, benches[i].fn ? "" : " (not built)");
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	for (size_t i = 0; i < NBENCH; i++) {
		if (strcmp(argv[1], benches[i].name))
			continue;
		if (!benches[i].fn) {
			fprintf(stderr, "xstate bench: '%s' is not built in this build\n", argv[1]);
			return CLI_FAIL;
		}
		return benches[i].fn(argc - 1, argv + 1);
	}
	return cli_usage_error(argv[0], "unknown benchmark '%s' (insn, switch, checker, explore)",
			       argv[1]);
}
