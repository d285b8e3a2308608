/* xstate layout: offsets and sizes of an XSAVE area (SDM Vol. 1 13.4). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct layout_opts {
	const char *cpu, *xcr0, *xss, *format;
	bool json;
};

static int parse_args(int argc, char **argv, struct layout_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		int r;

		if ((r = cli_opt_value(argc, argv, &i, "--cpu", &o->cpu)) ||
		    (r = cli_opt_value(argc, argv, &i, "--xcr0", &o->xcr0)) ||
		    (r = cli_opt_value(argc, argv, &i, "--xss", &o->xss)) ||
		    (r = cli_opt_value(argc, argv, &i, "--format", &o->format))) {
			if (r < 0)
				return CLI_USAGE;
		} else if (cli_opt_flag(argv, i, "--json")) {
			o->json = true;
		} else {
			return cli_usage_error(argv[0], "unknown argument '%s'", argv[i]);
		}
	}
	return 0;
}

static int parse_mask(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	if (xs_mask_parse(s, out) != 0)
		return cli_usage_error(cmd, "%s '%s' is not a mask (a number, or names such as x87|sse|avx)",
				       opt, s);
	return 0;
}

static void print_json(const struct xs_model *m, const struct xs_layout *l, uint64_t xcr0,
		       uint64_t xss)
{
	bool first = true;

	printf("{\"cpu\":");
	xs_json_string(stdout, m->name);
	printf(",\"format\":\"%s\",\"xcr0\":", l->compacted ? "compacted" : "standard");
	json_hex(stdout, xcr0);
	printf(",\"xss\":");
	json_hex(stdout, xss);
	printf(",\"size\":%u,\"components\":[", l->size);
	for (unsigned i = 0; i < 63; i++) {
		if (!(l->mask & XS_BIT(i)))
			continue;
		printf("%s{\"index\":%u,\"name\":", first ? "" : ",", i);
		xs_json_string(stdout, xs_comp_name(i));
		printf(",\"offset\":%u,\"size\":%u,\"align64\":%s,\"supervisor\":%s}", l->offset[i],
		       l->size_of[i], i >= 2 && m->comp[i].align64 ? "true" : "false",
		       i >= 2 && m->comp[i].supervisor ? "true" : "false");
		first = false;
	}
	printf("]}\n");
}

static void print_text(const struct xs_model *m, const struct xs_layout *l, uint64_t xcr0,
		       uint64_t xss)
{
	char names[512];

	printf("%s, %s format, XCR0 0x%llx", m->name, l->compacted ? "compacted" : "standard",
	       (unsigned long long)xcr0);
	if (l->compacted)
		printf(", IA32_XSS 0x%llx", (unsigned long long)xss);
	printf(" (%s)\n", xs_mask_names(l->mask, names, sizeof(names)));
	printf("  %2s  %-10s %7s %6s %7s  %s\n", "i", "name", "offset", "size", "align64", "kind");
	for (unsigned i = 0; i < 63; i++) {
		if (!(l->mask & XS_BIT(i)))
			continue;
		printf("  %2u  %-10s %7u %6u %7s  %s\n", i, xs_comp_name(i), l->offset[i],
		       l->size_of[i], i >= 2 && m->comp[i].align64 ? "yes" : "-",
		       i < 2 ? "user (legacy region)" : m->comp[i].supervisor ? "supervisor" : "user");
	}
	printf("  header at 512, 64 bytes; total size %u bytes\n", l->size);
}

int cmd_layout(int argc, char **argv)
{
	struct layout_opts o;
	struct xs_model *m;
	struct xs_layout l;
	uint64_t xcr0, xss = 0;
	bool compacted;
	const char *why;
	int r;

	if ((r = parse_args(argc, argv, &o)) != 0)
		return r;
	if (o.format && strcmp(o.format, "standard") && strcmp(o.format, "compacted"))
		return cli_usage_error(argv[0], "--format must be standard or compacted, not '%s'",
				       o.format);
	m = malloc(sizeof(*m));
	if (!m) {
		fprintf(stderr, "xstate layout: out of memory\n");
		return CLI_FAIL;
	}
	r = CLI_USAGE;
	if (cli_load_model_as(argv[0], o.cpu, m) != 0)
		goto out;
	/* Default: the format Linux would use (compacted with XSAVES). */
	compacted = o.format ? !strcmp(o.format, "compacted") : m->has_xsavec;
	if (compacted && !m->has_xsavec) {
		r = cli_usage_error(argv[0], "%s has no compacted format (CPUID.(0DH,1).EAX[1]=0)",
				    m->name);
		goto out;
	}
	if (!compacted && o.xss) {
		r = cli_usage_error(argv[0], "--xss needs the compacted format: supervisor "
				    "components have no standard offset");
		goto out;
	}
	xcr0 = m->xcr0_supported;
	if (o.xcr0 && parse_mask(argv[0], "--xcr0", o.xcr0, &xcr0))
		goto out;
	if (compacted)
		xss = m->has_xsaves ? m->xss_supported : 0;
	if (o.xss && parse_mask(argv[0], "--xss", o.xss, &xss))
		goto out;
	if ((why = xs_xcr0_invalid_reason(m, xcr0))) {
		r = cli_usage_error(argv[0], "--xcr0 0x%llx: %s", (unsigned long long)xcr0, why);
		goto out;
	}
	if ((why = xs_xss_invalid_reason(m, xss))) {
		r = cli_usage_error(argv[0], "--xss 0x%llx: %s", (unsigned long long)xss, why);
		goto out;
	}
	if (compacted)
		xs_layout_compacted(m, xcr0 | xss, &l);
	else
		xs_layout_standard(m, xcr0, &l);
	if (o.json)
		print_json(m, &l, xcr0, xss);
	else
		print_text(m, &l, xcr0, xss);
	r = CLI_OK;
out:
	free(m);
	return r;
}
