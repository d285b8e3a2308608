/* xstate conform: the Linux-kernel conformance probes (include/xstate/kconform.h).
 *
 * Host only for now: every probe runs against this machine's Linux kernel
 * and its answers are printed. The side-by-side comparison with the
 * simulated kernel needs a struct xo_ktarget backed by src/kernel/, which
 * does not exist yet; until it does, nothing is compared and the output
 * says so. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/kconform.h"

#define PENDING "host only: the simulated-kernel target is not implemented yet, nothing is compared"
#define MAX_SELECT 64

struct selection {
	const char *pat[MAX_SELECT]; /* exact names or prefixes ending in '.' or '*' */
	int n;
};

static bool selected(const struct selection *s, const char *name)
{
	if (!s->n)
		return true;
	for (int i = 0; i < s->n; i++) {
		size_t len = strlen(s->pat[i]);

		if (!strcmp(name, s->pat[i]))
			return true;
		if (len && s->pat[i][len - 1] == '*' && !strncmp(name, s->pat[i], len - 1))
			return true;
		if (!strncmp(name, s->pat[i], len) && name[len] == '.')
			return true; /* "sigreturn" selects "sigreturn.*" */
	}
	return false;
}

static int list_probes(bool json)
{
	size_t n = xo_kprobe_count();

	if (json)
		printf("{\"probes\":[");
	for (size_t i = 0; i < n; i++) {
		const struct xo_kprobe *p = xo_kprobe_at(i);

		if (json) {
			printf("%s{\"name\":", i ? "," : "");
			json_string(stdout, p->name);
			printf(",\"surface\":");
			json_string(stdout, p->surface);
			printf(",\"summary\":");
			json_string(stdout, p->summary);
			printf("}");
		} else {
			printf("%-36s %-10s %s\n", p->name, p->surface, p->summary);
		}
	}
	if (json)
		printf("]}\n");
	return CLI_OK;
}

int cmd_conform(int argc, char **argv)
{
	struct selection sel = { .n = 0 };
	bool json = false, list = false;
	struct xo_ktarget *host;
	size_t nrun = 0, nres = 0, nskip = 0, nerr = 0;
	char why[160];

	for (int i = 1; i < argc; i++) {
		const char *v;
		int m;

		if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if (cli_opt_flag(argv, i, "--list")) {
			list = true;
		} else if ((m = cli_opt_value(argc, argv, &i, "--probe", &v)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			if (sel.n == MAX_SELECT)
				return cli_usage_error(argv[0], "more than %d --probe options", MAX_SELECT);
			sel.pat[sel.n++] = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--target", &v)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			if (strcmp(v, "host"))
				return cli_usage_error(argv[0],
						       "unknown target '%s' (only 'host' exists so far)", v);
		} else {
			return cli_usage_error(argv[0], "unknown argument '%s'", argv[i]);
		}
	}
	for (int i = 0; i < sel.n; i++) {
		bool any = false;

		for (size_t j = 0; j < xo_kprobe_count() && !any; j++) {
			struct selection one = { .pat = { sel.pat[i] }, .n = 1 };

			any = selected(&one, xo_kprobe_at(j)->name);
		}
		if (!any)
			return cli_usage_error(argv[0], "no probe matches '%s' (see --list)", sel.pat[i]);
	}
	if (list)
		return list_probes(json);

	host = xo_ktarget_host(why, sizeof(why));
	if (!host) {
		fprintf(stderr, "xstate conform: %s\n", why);
		return CLI_FAIL;
	}
	if (json)
		printf("{\"target\":\"host\",\"comparison\":\"pending\",\"note\":\"%s\",\"probes\":[",
		       PENDING);
	else
		printf("# %s\n%-28s %-34s %s\n", PENDING, "PROBE", "KEY", "HOST");
	for (size_t i = 0; i < xo_kprobe_count(); i++) {
		const struct xo_kprobe *p = xo_kprobe_at(i);
		struct xo_kresults r;

		if (!selected(&sel, p->name))
			continue;
		xo_kprobe_run(p, host, &r);
		if (json) {
			printf("%s", nrun ? "," : "");
			xo_kres_print_json(stdout, p->name, &r);
		} else {
			xo_kres_print(stdout, p->name, &r);
		}
		nrun++;
		nres += r.n;
		nskip += r.status == XO_KPROBE_SKIPPED;
		nerr += r.status == XO_KPROBE_ERROR;
		if (r.status == XO_KPROBE_ERROR)
			fprintf(stderr, "xstate conform: %s: %s\n", p->name, r.reason);
		xo_kres_free(&r);
	}
	if (json)
		printf("]}\n");
	else
		printf("# %zu probes, %zu results, %zu skipped, %zu failed to run\n", nrun, nres,
		       nskip, nerr);
	xo_ktarget_free(host);
	return nerr ? CLI_FAIL : CLI_OK;
}
