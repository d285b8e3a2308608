/* xstate: one command-line tool for the architecture model, the kernel
 * manager, the simulator, the checker and the oracles.
 *
 * Each subcommand lives in its own cmd_*.c file (declared in cli.h);
 * "xstate help" lists the commands this build has. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
	{ "cpus", cmd_cpus, "cpus [--json]", "list the built-in CPU models" },
	{ "info", cmd_info, "info [--cpu NAME|FILE|host] [--policy LIST] [--json]",
	  "print a CPU model: components, masks, sizes, implementation choices" },
	{ "layout", cmd_layout,
	  "layout [--cpu M] [--xcr0 MASK] [--xss MASK] [--format standard|compacted] [--json]",
	  "offsets and sizes of an XSAVE area" },
	{ "exec", cmd_exec, "exec [--cpu M] [--xcr0 MASK] [--xss MASK] [--compare] [PROGRAM-LINE...]",
	  "run XSAVE-family instructions on one modelled logical processor at CPL 0" },
	{ "decode", cmd_decode, "decode [--cpu M] [--xcr0 MASK] [--xss MASK] [--json] FILE",
	  "print an XSAVE image component by component and why XRSTOR would fault" },
	{ "run", cmd_run, "run FILE [--trace] [--quiet] [--json] [--seed S] [--policy N=V]...",
	  "run a scenario on the simulated machine" },
	{ "explore", cmd_explore, "explore [--cpu M] [--cpus N] [--tasks N] [--policy N=V]... "
	  "[--steps N|--seconds S] [--seed S] [--jobs J] [--shard I/N] [--mutant NAME] "
	  "[--invariants LIST] [--features LIST] [--exhaustive --depth D] [--out FILE] [--json] | "
	  "--list-mutants | --list-invariants | --merge FILE...",
	  "search interleavings for invariant violations" },
	{ "bench", cmd_bench,
	  "bench insn|switch|checker|explore [--json] (insn: [--cpu M] [--iterations N] "
	  "[--repetitions R])",
	  "benchmarks" },
	{ "diff-hw", cmd_diff_hw, "diff-hw [--cases N] [--seed S] [--ring0-cases N] [--strict] [--no-minimize] [--json]",
	  "differential test of the model against this host's CPU" },
	{ "probe", cmd_probe, "probe [--out FILE]",
	  "measure this host's implementation choices and write a CPU model file" },
	{ "conform", cmd_conform,
	  "conform [--target host|sim|both] [--probe P]... [--diffs] [--list] [--model M] "
	  "[--policy P] [--cpus N] [--trace] [--json]",
	  "compare the simulated kernel with this host's Linux kernel" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i].fn && strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int help(FILE *f, const char *topic)
{
	const struct cli_command *c = topic ? find(topic) : NULL;

	if (c) {
		fprintf(f, "usage: xstate %s\n  %s\n", c->usage, c->summary);
		return 0;
	}
	fprintf(f, "usage: xstate COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i].fn)
			fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'xstate help COMMAND' shows a command's options. See README.md.\n");
	return topic ? 2 : 0;
}

int main(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2)
		return help(stderr, NULL), CLI_USAGE;
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help(stdout, argc > 2 ? argv[2] : NULL);
	c = find(argv[1]);
	if (!c) {
		fprintf(stderr, "xstate: unknown command '%s'\n", argv[1]);
		help(stderr, NULL);
		return CLI_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
