#include "cli.h"
#include "xstate/oracle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_opt_value(int argc, char **argv, int *i, const char *opt, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(opt);

	if (strncmp(a, opt, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "xstate %s: option %s needs a value\n", argv[0], opt);
		return -1;
	}
	*i += 1;
	*val = argv[*i];
	return 1;
}

bool cli_opt_flag(char **argv, int i, const char *opt)
{
	return strcmp(argv[i], opt) == 0;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xstate %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'xstate help %s')\n", cmd);
	return CLI_USAGE;
}

int cli_load_model_as(const char *cmd, const char *spec, struct xs_model *m)
{
	char err[512];

	if (!spec)
		spec = xs_default_model_name();
	if (xs_model_load(spec, m, err, sizeof(err)) != 0) {
		fprintf(stderr, "xstate%s%s: cannot load CPU model '%s': %s\n", cmd ? " " : "",
			cmd ? cmd : "", spec, err);
		return -1;
	}
	/* The host's implementation choices are measured, not guessed from
	 * its vendor (src/oracle/probe.c; well under a millisecond). */
	if (!strcmp(spec, "host") && xs_probe_apply(m, err, sizeof(err)) != 0)
		fprintf(stderr, "xstate%s%s: %s; using the vendor defaults\n", cmd ? " " : "",
			cmd ? cmd : "", err);
	return 0;
}

int cli_load_model(const char *spec, struct xs_model *m)
{
	return cli_load_model_as(NULL, spec, m);
}

void cli_json_model_identity(FILE *f, const struct xs_model *m)
{
	char names[512];

	fprintf(f, "\"name\":");
	xs_json_string(f, m->name);
	fprintf(f, ",\"vendor\":");
	xs_json_string(f, m->vendor);
	fprintf(f, ",\"title\":");
	xs_json_string(f, m->title);
	fprintf(f, ",\"brand\":");
	xs_json_string(f, m->brand);
	fprintf(f, ",\"signature\":");
	json_hex(f, m->signature);
	fprintf(f, ",\"xcr0_supported\":");
	json_hex(f, m->xcr0_supported);
	fprintf(f, ",\"xcr0_supported_names\":");
	xs_json_string(f, xs_mask_names(m->xcr0_supported, names, sizeof(names)));
	fprintf(f, ",\"xss_supported\":");
	json_hex(f, m->xss_supported);
	fprintf(f, ",\"xss_supported_names\":");
	xs_json_string(f, xs_mask_names(m->xss_supported, names, sizeof(names)));
}

void json_hex(FILE *f, uint64_t v)
{
	fprintf(f, "\"0x%llx\"", (unsigned long long)v);
}

bool cli_stderr_is_tty(void)
{
	return isatty(2);
}
