/* xstate probe: measure this host's XSAVE implementation choices by
 * experiment (src/oracle/probe.c) and write a CPU model file: the host's
 * CPUID with "# impl.*" headers set to what was measured. The notes (what
 * was measured, what was assumed) go to standard error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/oracle.h"

int cmd_probe(int argc, char **argv)
{
	const char *out = NULL;
	struct xs_probe_report rep;
	struct xs_model *m;
	char err[512];
	FILE *f = stdout;
	int r = CLI_FAIL;

	for (int i = 1; i < argc; i++) {
		int o = cli_opt_value(argc, argv, &i, "--out", &out);

		if (o < 0)
			return CLI_USAGE;
		if (!o)
			return cli_usage_error(argv[0], "unknown argument '%s'", argv[i]);
	}
	m = malloc(sizeof(*m));
	if (!m)
		return CLI_FAIL;
	if (xs_model_from_host(m, err, sizeof(err)) != 0) {
		fprintf(stderr, "xstate probe: %s\n", err);
		goto done;
	}
	if (xs_probe_host(&rep) != 0) {
		fprintf(stderr, "xstate probe: this host has no usable XSAVE in user mode\n");
		goto done;
	}
	xs_probe_apply_report(m, &rep);
	if (out) {
		f = fopen(out, "w");
		if (!f) {
			fprintf(stderr, "xstate probe: cannot create '%s': %s\n", out, strerror(errno));
			goto done;
		}
	}
	fprintf(f, "# probe: implementation choices measured by 'xstate probe' (see stderr notes)\n");
	if (xs_model_write(m, f) != 0 || (out && fclose(f) != 0)) {
		fprintf(stderr, "xstate probe: cannot write the model%s%s\n", out ? " to " : "",
			out ? out : "");
		goto done;
	}
	fprintf(stderr, "%s", rep.notes);
	r = CLI_OK;
done:
	free(m);
	return r;
}
