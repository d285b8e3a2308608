/* xstate cpus: the built-in CPU models (data/cpus compiled in). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_json(const struct xs_model *models, size_t n)
{
	printf("{\"default\":");
	xs_json_string(stdout, xs_default_model_name());
	printf(",\"cpus\":[");
	for (size_t i = 0; i < n; i++) {
		const struct xs_model *m = &models[i];

		printf("%s{", i ? "," : "");
		cli_json_model_identity(stdout, m);
		printf("}");
	}
	printf("]}\n");
}

static void print_table(const struct xs_model *models, size_t n)
{
	printf("%-31s %-12s %-9s %-8s %s\n", "NAME", "VENDOR", "XCR0", "XSS", "TITLE");
	for (size_t i = 0; i < n; i++) {
		const struct xs_model *m = &models[i];
		char x0[24], xs[24];

		snprintf(x0, sizeof(x0), "0x%llx", (unsigned long long)m->xcr0_supported);
		snprintf(xs, sizeof(xs), "0x%llx", (unsigned long long)m->xss_supported);
		printf("%-31s %-12s %-9s %-8s %s%s\n", m->name, m->vendor, x0, xs, m->title,
		       strcmp(m->name, xs_default_model_name()) ? "" : " [default]");
	}
	printf("\nXCR0/XSS: components the CPU supports (CPUID.(0DH,0).EDX:EAX, (0DH,1).EDX:ECX).\n"
	       "Use one with --cpu NAME; 'xstate info --cpu NAME' shows it in full.\n");
}

int cmd_cpus(int argc, char **argv)
{
	bool json = false;
	size_t n = xs_builtin_count();
	struct xs_model *models;
	int status = CLI_OK;

	for (int i = 1; i < argc; i++) {
		if (cli_opt_flag(argv, i, "--json"))
			json = true;
		else
			return cli_usage_error(argv[0], "unknown argument '%s'", argv[i]);
	}
	models = calloc(n ? n : 1, sizeof(*models));
	if (!models) {
		fprintf(stderr, "xstate cpus: out of memory\n");
		return CLI_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		if (cli_load_model_as(argv[0], xs_builtin_name(i), &models[i]) != 0) {
			status = CLI_FAIL;
			goto out;
		}
	}
	if (json)
		print_json(models, n);
	else
		print_table(models, n);
out:
	free(models);
	return status;
}
