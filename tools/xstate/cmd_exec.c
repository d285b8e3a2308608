/* xstate exec: run a program of XSAVE-family instructions on one modelled
 * logical processor (the language is in include/xstate/prog.h and
 * docs/readme/22-exec.md).
 *
 * Exit status: 0 the program ran to the end; 1 a file could not be read or
 * written; 2 usage error or bad program syntax (with the line number); 3 an
 * instruction faulted ("#GP: reason" on stderr; nothing after it ran).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/cpu.h"
#include "xstate/oracle.h"
#include "xstate/prog.h"

static char *read_stream(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *s = malloc(cap);

	while (s) {
		size_t got;

		if (n + 1 >= cap) {
			char *t = realloc(s, cap *= 2);

			if (!t) {
				free(s);
				return NULL;
			}
			s = t;
		}
		got = fread(s + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (s) {
		s[n] = '\0';
		*len = n;
	}
	return s;
}

/* The program arguments as one text, a newline after each. */
static char *join_args(int n, char **args, size_t *len)
{
	size_t total = 1, at = 0;
	char *s;

	for (int k = 0; k < n; k++)
		total += strlen(args[k]) + 1;
	s = malloc(total);
	if (!s)
		return NULL;
	for (int k = 0; k < n; k++) {
		size_t l = strlen(args[k]);

		memcpy(s + at, args[k], l);
		at += l;
		s[at++] = '\n';
	}
	s[at] = '\0';
	*len = at;
	return s;
}

/* 1-based line number of position p in text. */
static size_t line_of(const char *text, const char *p)
{
	size_t line = 1;

	for (; text < p; text++)
		line += *text == '\n';
	return line;
}

/* Shared by exec and decode: --cpu/--xcr0/--xss into a configured CPU. */
static int mask_opt(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	if (cli_parse_u64(s, out) == 0 || xs_mask_parse(s, out) == 0)
		return 0;
	return cli_usage_error(cmd, "%s '%s' is not a mask (a number, or names such as x87|sse|avx)",
			       opt, s);
}

int cmd_exec(int argc, char **argv)
{
	const char *cpu = NULL, *xcr0_s = NULL, *xss_s = NULL;
	struct xs_model *m = malloc(sizeof(*m));
	struct xs_cpu *c = NULL;
	struct xs_prog p;
	struct xs_exec e;
	char err[1024];
	uint64_t xcr0, xss;
	int first = argc, r = CLI_USAGE, i;
	enum xs_exec_status st;
	bool compare = false;

	if (!m) {
		fprintf(stderr, "xstate exec: out of memory\n");
		return CLI_FAIL;
	}
	for (i = 1; i < argc; i++) {
		int o;

		if (!strcmp(argv[i], "--")) {
			first = i + 1;
			break;
		}
		if ((o = cli_opt_value(argc, argv, &i, "--cpu", &cpu)) ||
		    (o = cli_opt_value(argc, argv, &i, "--xcr0", &xcr0_s)) ||
		    (o = cli_opt_value(argc, argv, &i, "--xss", &xss_s))) {
			if (o < 0)
				goto out_model;
			continue;
		}
		if (cli_opt_flag(argv, i, "--compare")) {
			compare = true;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1] == '-') {
			r = cli_usage_error(argv[0], "unknown option '%s'", argv[i]);
			goto out_model;
		}
		first = i;
		break;
	}
	if (compare && ((cpu && strcmp(cpu, "host")) || xcr0_s || xss_s)) {
		r = cli_usage_error(argv[0], "--compare runs on this host with its XCR0: no --cpu "
				    "(other than host), --xcr0 or --xss");
		goto out_model;
	}
	if (cli_load_model_as(argv[0], compare ? "host" : cpu, m) != 0)
		goto out_model;
	xcr0 = m->xcr0_supported;
	xss = m->has_xsaves ? m->xss_supported : 0;
	if ((xcr0_s && mask_opt(argv[0], "--xcr0", xcr0_s, &xcr0)) ||
	    (xss_s && mask_opt(argv[0], "--xss", xss_s, &xss)))
		goto out_model;
	c = xs_cpu_new(m);
	if (!c) {
		fprintf(stderr, "xstate exec: out of memory\n");
		r = CLI_FAIL;
		goto out_model;
	}
	if (xs_exec_setup_cpu(c, xcr0, xss, err, sizeof(err)) != 0) {
		r = cli_usage_error(argv[0], "%s", err);
		goto out_cpu;
	}

	xs_prog_init(&p, m);
	{
		/* One line per argument (an argument holding newlines is several
		 * lines), or standard input: line numbers count the same way. */
		size_t len;
		char *text = first < argc ? join_args(argc - first, argv + first, &len)
					  : read_stream(stdin, &len);
		const char *nul;

		if (!text) {
			fprintf(stderr, "xstate exec: %s\n", first < argc ? "out of memory"
					: "cannot read the program from standard input");
			r = CLI_FAIL;
			goto out_prog;
		}
		nul = memchr(text, '\0', len);
		if (nul) {
			fprintf(stderr, "xstate exec: line %zu: contains a NUL byte (not a text program)\n",
				line_of(text, nul));
			free(text);
			goto out_prog;
		}
		if (xs_prog_parse(&p, text, err, sizeof(err)) != 0) {
			fprintf(stderr, "xstate exec: %s\n", err);
			free(text);
			goto out_prog;
		}
		free(text);
	}
	if (compare) {
		/* Model and silicon, compared as diff-hw does (XCR0 = the host's). */
		int v = xs_diff_program(&p, 5, stdout, err, sizeof(err));

		if (v < 0)
			fprintf(stderr, "xstate exec: %s\n", err);
		r = v < 0 ? CLI_USAGE : v ? CLI_OK : CLI_FAIL; /* 1, 2: agree */
		goto out_prog;
	}
	if (xs_exec_init(&e, c, &p) != 0) {
		fprintf(stderr, "xstate exec: out of memory\n");
		r = CLI_FAIL;
		goto out_prog;
	}
	st = xs_exec_run(&e, &p, 0, p.nops, stdout);
	fflush(stdout);
	switch (st) {
	case XS_EXEC_OK:
		r = CLI_OK;
		break;
	case XS_EXEC_FAULT: {
		char line[256];

		xs_prog_format_op(&p, &p.ops[e.fault_op], line, sizeof(line));
		fprintf(stderr, "%s: %s (line %d: %s)\n", xs_fault_name(e.fault), e.fault_reason,
			e.fault_line, line);
		r = CLI_FAULT;
		break;
	}
	case XS_EXEC_ERROR:
		fprintf(stderr, "xstate exec: %s\n", e.err);
		r = CLI_FAIL;
		break;
	}
	xs_exec_free(&e);
out_prog:
	xs_prog_free(&p);
out_cpu:
	xs_cpu_free(c);
out_model:
	free(m);
	return r;
}
