/* Shared helpers of the xstate command-line tool. */
#ifndef XSTATE_CLI_H
#define XSTATE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "xstate/json.h"
#include "xstate/model.h"

/* Exit statuses every command uses. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_FAULT = 3 };

/* A subcommand: argv[0] is the subcommand name. Returns the exit status. */
typedef int cli_cmd_fn(int argc, char **argv);

/* Subcommands and benchmarks, one file each (cmd_*.c, bench_*.c). Weak, so
 * the tool links while a layer is still being built; main.c lists only the
 * ones present. */
#define CLI_WEAK __attribute__((weak))
extern cli_cmd_fn cmd_cpus CLI_WEAK, cmd_info CLI_WEAK, cmd_layout CLI_WEAK, cmd_exec CLI_WEAK,
	cmd_decode CLI_WEAK, cmd_run CLI_WEAK, cmd_explore CLI_WEAK, cmd_bench CLI_WEAK,
	cmd_diff_hw CLI_WEAK, cmd_probe CLI_WEAK, cmd_conform CLI_WEAK;
extern cli_cmd_fn bench_insn CLI_WEAK, bench_switch CLI_WEAK, bench_checker CLI_WEAK,
	bench_explore CLI_WEAK;

struct cli_command {
	const char *name;
	cli_cmd_fn *fn;
	const char *usage;   /* one line: "info [--cpu NAME|FILE|host]" */
	const char *summary; /* what it does */
};

/* Option helpers. cli_opt_value() matches "--opt VALUE" and "--opt=VALUE" at
 * argv[*i], advancing *i past the value; returns 1 if matched, 0 if not, and
 * -1 (after printing an error) if the value is missing. */
int cli_opt_value(int argc, char **argv, int *i, const char *opt, const char **val);
bool cli_opt_flag(char **argv, int i, const char *opt);
/* Numbers: decimal or 0x-hex, full 64 bits; 0 on success, -1 on error. */
int cli_parse_u64(const char *s, uint64_t *out);
/* Report a usage error (status 2) with the command's usage line. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Load --cpu SPEC (a built-in name, a model file, or "host"); NULL spec means
 * the built-in default. Prints "xstate: ..." and returns -1 on failure. */
int cli_load_model(const char *spec, struct xs_model *m);
/* The same, reporting as "xstate CMD: cannot load CPU model 'X': FILE:LINE: reason". */
int cli_load_model_as(const char *cmd, const char *spec, struct xs_model *m);

/* JSON output (strings: xs_json_string, xstate/json.h). */
void json_hex(FILE *f, uint64_t v); /* "0x..." as a JSON string */
/* A model's identity as JSON members (no braces): name, vendor, title,
 * brand, signature, xcr0_supported(_names), xss_supported(_names). */
void cli_json_model_identity(FILE *f, const struct xs_model *m);

/* True when standard error is a terminal (progress lines go there). */
bool cli_stderr_is_tty(void);

#endif
