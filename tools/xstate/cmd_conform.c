/* xstate conform: the Linux-kernel conformance probes (include/xstate/kconform.h)
 * run against the host's kernel and against the simulated kernel (src/kernel
 * on a simulated machine of the host's CPU model), compared field by field.
 *
 *   xstate conform [--target host|sim|both] [--probe P]... [--json]
 *                  [--diffs] [--model M] [--policy P] [--cpus N] [--trace]
 *
 * With both targets (the default) every result is printed side by side
 * (host | sim | match), followed by coverage counts per ABI surface and per
 * rule (probe); the exit status is 1 on any difference or probe error.
 * A probe the host kernel cannot answer (a missing interface or feature) is
 * reported as skipped; a result the simulated kernel cannot produce yet is
 * "unsupported", never a match. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/kconform.h"
#include "xstate/kernel.h"

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
		const char *note = xo_kprobe_note(p->name);

		if (json) {
			printf("%s{\"name\":", i ? "," : "");
			xs_json_string(stdout, p->name);
			printf(",\"surface\":");
			xs_json_string(stdout, p->surface);
			printf(",\"summary\":");
			xs_json_string(stdout, p->summary);
			if (note) {
				printf(",\"linux_note\":");
				xs_json_string(stdout, note);
			}
			printf("}");
		} else {
			printf("%-36s %-10s %s\n", p->name, p->surface, p->summary);
		}
	}
	if (json)
		printf("]}\n");
	return CLI_OK;
}

/* ---- Options ---- */

struct opts {
	struct selection sel;
	bool json, list, diffs_only, trace;
	bool host, sim;
	const char *model, *policy;
	unsigned ncpus;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->host = o->sim = true;
	for (int i = 1; i < argc; i++) {
		const char *v;
		int m;

		if (cli_opt_flag(argv, i, "--json")) {
			o->json = true;
		} else if (cli_opt_flag(argv, i, "--list")) {
			o->list = true;
		} else if (cli_opt_flag(argv, i, "--diffs")) {
			o->diffs_only = true;
		} else if (cli_opt_flag(argv, i, "--trace")) {
			o->trace = true;
		} else if ((m = cli_opt_value(argc, argv, &i, "--probe", &v)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			if (o->sel.n == MAX_SELECT)
				return cli_usage_error(argv[0], "more than %d --probe options", MAX_SELECT);
			o->sel.pat[o->sel.n++] = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--target", &v)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			o->host = !strcmp(v, "host") || !strcmp(v, "both");
			o->sim = !strcmp(v, "sim") || !strcmp(v, "both");
			if (!o->host && !o->sim)
				return cli_usage_error(argv[0], "unknown target '%s' (host, sim or both)", v);
		} else if ((m = cli_opt_value(argc, argv, &i, "--model", &v)) != 0) {
			if (m < 0)
				return CLI_USAGE;
			o->model = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--policy", &v)) != 0) {
			struct xk_policy pol;
			char err[256];

			if (m < 0)
				return CLI_USAGE;
			xk_policy_default(&pol);
			if (xk_policy_parse(&pol, v, err, sizeof(err)))
				return cli_usage_error(argv[0], "--policy: %s", err);
			o->policy = v;
		} else if ((m = cli_opt_value(argc, argv, &i, "--cpus", &v)) != 0) {
			uint64_t n;

			if (m < 0)
				return CLI_USAGE;
			if (cli_parse_u64(v, &n) || n < 1 || n > XK_MAX_CPUS)
				return cli_usage_error(argv[0], "--cpus: '%s' is not 1..%d", v, XK_MAX_CPUS);
			o->ncpus = (unsigned)n;
		} else {
			return cli_usage_error(argv[0], "unknown argument '%s'", argv[i]);
		}
	}
	for (int i = 0; i < o->sel.n; i++) {
		bool any = false;

		for (size_t j = 0; j < xo_kprobe_count() && !any; j++) {
			struct selection one = { .pat = { o->sel.pat[i] }, .n = 1 };

			any = selected(&one, xo_kprobe_at(j)->name);
		}
		if (!any)
			return cli_usage_error(argv[0], "no probe matches '%s' (see --list)", o->sel.pat[i]);
	}
	return CLI_OK;
}

/* ---- One target ---- */

static int run_single(const struct opts *o, struct xo_ktarget *t)
{
	size_t nrun = 0, nres = 0, nskip = 0, nerr = 0;

	if (o->json)
		printf("{\"target\":\"%s\",\"probes\":[", t->name);
	else
		printf("%-28s %-34s %s\n", "PROBE", "KEY", !strcmp(t->name, "host") ? "HOST" : "SIM");
	for (size_t i = 0; i < xo_kprobe_count(); i++) {
		const struct xo_kprobe *p = xo_kprobe_at(i);
		struct xo_kresults r;

		if (!selected(&o->sel, p->name))
			continue;
		xo_kprobe_run(p, t, &r);
		if (o->json) {
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
			fprintf(stderr, "xstate conform: %s: %s: %s\n", t->name, p->name, r.reason);
		xo_kres_free(&r);
	}
	if (o->json)
		printf("]}\n");
	else
		printf("# %s: %zu probes, %zu results, %zu skipped, %zu failed to run\n", t->name, nrun,
		       nres, nskip, nerr);
	return nerr ? CLI_FAIL : CLI_OK;
}

/* ---- Both targets ---- */

enum verdict { V_MATCH = 0, V_DIFF, V_UNSUPP };
static const char *const verdict_name[] = { "=", "DIFF", "unsupported" };
static const char *const verdict_json[] = { "yes", "no", "unsupported" };

/* How a probe's comparison went. */
enum pstatus { P_COMPARED = 0, P_HOST_SKIPPED, P_SIM_UNSUPPORTED, P_ERROR };
static const char *const pstatus_name[] = { "compared", "skipped", "unsupported", "error" };

struct counts {
	size_t probes, compared, skipped, unsupported_probes, errors;
	size_t results, match, diff, unsupp;
};

static void count_add(struct counts *a, const struct counts *b)
{
	a->probes += b->probes;
	a->compared += b->compared;
	a->skipped += b->skipped;
	a->unsupported_probes += b->unsupported_probes;
	a->errors += b->errors;
	a->results += b->results;
	a->match += b->match;
	a->diff += b->diff;
	a->unsupp += b->unsupp;
}

static enum verdict judge(const char *hv, const char *sv)
{
	if (hv && sv && !strcmp(hv, sv))
		return V_MATCH;
	if (sv && !strcmp(sv, "unsupported") && (!hv || strcmp(hv, "unsupported")))
		return V_UNSUPP;
	return V_DIFF;
}

struct row_out {
	const struct opts *o;
	const char *probe;
	bool first; /* JSON: first result of the probe */
};

static void row(struct row_out *ro, const char *key, const char *hv, const char *sv,
		enum verdict v, struct counts *c)
{
	c->results++;
	c->match += v == V_MATCH;
	c->diff += v == V_DIFF;
	c->unsupp += v == V_UNSUPP;
	if (ro->o->json) {
		printf("%s{\"key\":", ro->first ? "" : ",");
		xs_json_string(stdout, key);
		printf(",\"host\":");
		if (hv)
			xs_json_string(stdout, hv);
		else
			printf("null");
		printf(",\"sim\":");
		if (sv)
			xs_json_string(stdout, sv);
		else
			printf("null");
		printf(",\"match\":\"%s\"}", verdict_json[v]);
		ro->first = false;
		return;
	}
	if (ro->o->diffs_only && v == V_MATCH)
		return;
	printf("%-28s %-34s %-22s %-22s %s\n", ro->probe, key, hv ? hv : "(absent)",
	       sv ? sv : "(absent)", verdict_name[v]);
}

/* Compare two result lists of one probe, key by key (host order first,
 * then keys only the simulated kernel produced). */
static void compare_lists(struct row_out *ro, const struct xo_kresults *h,
			  const struct xo_kresults *s, bool sim_skipped, struct counts *c)
{
	for (size_t i = 0; i < h->n; i++) {
		const char *sv = sim_skipped ? "unsupported" : xo_kres_get(s, h->v[i].key);

		row(ro, h->v[i].key, h->v[i].val, sv, judge(h->v[i].val, sv), c);
	}
	if (sim_skipped)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (!xo_kres_get(h, s->v[i].key))
			row(ro, s->v[i].key, NULL, s->v[i].val, V_DIFF, c);
}

static void json_target_status(const char *name, const struct xo_kresults *r)
{
	printf("\"%s\":{\"status\":\"%s\",\"reason\":", name, xo_kprobe_status_name(r->status));
	xs_json_string(stdout, r->reason);
	printf("}");
}

/* Run one probe on both targets and print the comparison. */
static enum pstatus compare_probe(const struct opts *o, const struct xo_kprobe *p,
				  struct xo_ktarget *host, struct xo_ktarget *sim, bool first,
				  struct counts *c)
{
	struct xo_kresults h, s;
	struct row_out ro = { o, p->name, true };
	const char *note = xo_kprobe_note(p->name);
	enum pstatus st;

	xo_kprobe_run(p, host, &h);
	xo_kprobe_run(p, sim, &s);
	if (h.status == XO_KPROBE_ERROR || s.status == XO_KPROBE_ERROR)
		st = P_ERROR;
	else if (h.status == XO_KPROBE_SKIPPED)
		st = P_HOST_SKIPPED;
	else if (s.status == XO_KPROBE_SKIPPED)
		st = P_SIM_UNSUPPORTED;
	else
		st = P_COMPARED;
	c->probes++;
	c->compared += st == P_COMPARED;
	c->skipped += st == P_HOST_SKIPPED;
	c->unsupported_probes += st == P_SIM_UNSUPPORTED;
	c->errors += st == P_ERROR;
	if (h.status == XO_KPROBE_ERROR)
		fprintf(stderr, "xstate conform: host: %s: %s\n", p->name, h.reason);
	if (s.status == XO_KPROBE_ERROR)
		fprintf(stderr, "xstate conform: sim: %s: %s\n", p->name, s.reason);

	if (o->json) {
		printf("%s{\"probe\":", first ? "" : ",");
		xs_json_string(stdout, p->name);
		printf(",\"surface\":");
		xs_json_string(stdout, p->surface);
		printf(",\"status\":\"%s\",", pstatus_name[st]);
		json_target_status("host", &h);
		printf(",");
		json_target_status("sim", &s);
		if (note) {
			printf(",\"linux_note\":");
			xs_json_string(stdout, note);
		}
		printf(",\"results\":[");
	} else if (st != P_COMPARED || !o->diffs_only) {
		if (st == P_HOST_SKIPPED)
			printf("%-28s %-34s skipped: %s\n", p->name, "-", h.reason);
		else if (st == P_ERROR)
			printf("%-28s %-34s %-22s %-22s %s\n", p->name, "-",
			       xo_kprobe_status_name(h.status), xo_kprobe_status_name(s.status), "ERROR");
		else if (st == P_SIM_UNSUPPORTED)
			printf("%-28s %-34s %-22s %-22s %s: %s\n", p->name, "-", "ok", "skipped",
			       "unsupported", s.reason);
		if (note && st != P_HOST_SKIPPED)
			printf("%-28s %-34s linux: %s\n", p->name, "-", note);
	}
	if (st == P_COMPARED || st == P_SIM_UNSUPPORTED)
		compare_lists(&ro, &h, &s, st == P_SIM_UNSUPPORTED, c);
	if (o->json)
		printf("]}");
	xo_kres_free(&h);
	xo_kres_free(&s);
	return st;
}

/* The facts both targets shaped the probes' inputs with. */
static void compare_info(const struct opts *o, struct xo_ktarget *host, struct xo_ktarget *sim,
			 struct counts *c)
{
	struct xo_kinfo a, b;
	struct row_out ro = { o, "target.info", true };
	char hv[48], sv[48], key[48];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	c->probes++;
	if (host->info(host, &a) < 0 || sim->info(sim, &b) < 0) {
		c->errors++;
		fprintf(stderr, "xstate conform: a target gave no xstate information\n");
		if (o->json)
			printf("{\"probe\":\"target.info\",\"surface\":\"target\",\"status\":\"error\","
			       "\"results\":[]}");
		return;
	}
	c->compared++;
	if (o->json)
		printf("{\"probe\":\"target.info\",\"surface\":\"target\",\"status\":\"compared\","
		       "\"results\":[");
	snprintf(hv, sizeof(hv), "%d", a.xsave);
	snprintf(sv, sizeof(sv), "%d", b.xsave);
	row(&ro, "xsave", hv, sv, judge(hv, sv), c);
	snprintf(hv, sizeof(hv), "0x%llx", (unsigned long long)a.xcr0);
	snprintf(sv, sizeof(sv), "0x%llx", (unsigned long long)b.xcr0);
	row(&ro, "xcr0", hv, sv, judge(hv, sv), c);
	snprintf(hv, sizeof(hv), "0x%llx", (unsigned long long)a.state_mask);
	snprintf(sv, sizeof(sv), "0x%llx", (unsigned long long)b.state_mask);
	row(&ro, "state_mask", hv, sv, judge(hv, sv), c);
	snprintf(hv, sizeof(hv), "%u", a.xstate_size);
	snprintf(sv, sizeof(sv), "%u", b.xstate_size);
	row(&ro, "xstate_size", hv, sv, judge(hv, sv), c);
	for (unsigned i = 2; i < XO_KNFEAT; i++) {
		if (!a.comp_size[i] && !b.comp_size[i])
			continue;
		snprintf(key, sizeof(key), "comp.%s", xo_kcomp_name(i));
		snprintf(hv, sizeof(hv), "%u@%u", a.comp_size[i], a.comp_off[i]);
		snprintf(sv, sizeof(sv), "%u@%u", b.comp_size[i], b.comp_off[i]);
		row(&ro, key, hv, sv, judge(hv, sv), c);
	}
	snprintf(hv, sizeof(hv), "0x%x", a.mxcsr_mask);
	snprintf(sv, sizeof(sv), "0x%x", b.mxcsr_mask);
	row(&ro, "mxcsr_mask", hv, sv, judge(hv, sv), c);
	snprintf(hv, sizeof(hv), "%d", a.fsgsbase);
	snprintf(sv, sizeof(sv), "%d", b.fsgsbase);
	row(&ro, "fsgsbase", hv, sv, judge(hv, sv), c);
	snprintf(hv, sizeof(hv), "%d", a.ptrace);
	snprintf(sv, sizeof(sv), "%d", b.ptrace);
	row(&ro, "ptrace", hv, sv, judge(hv, sv), c);
	if (o->json)
		printf("]}");
}

static const char *const surfaces[] = { "target", "prctl", "sigframe", "sigreturn", "ptrace",
					"fsgs" };
#define NSURF (sizeof(surfaces) / sizeof(surfaces[0]))

static size_t surface_index(const char *s)
{
	for (size_t i = 0; i < NSURF; i++)
		if (!strcmp(surfaces[i], s))
			return i;
	return 0;
}

struct rule_count {
	const char *probe;
	enum pstatus st;
	struct counts c;
};

static void print_coverage(const struct opts *o, const struct counts surf[NSURF],
			   const struct rule_count *rules, size_t nrules, const struct counts *tot)
{
	if (o->json) {
		printf("],\"coverage\":{\"surfaces\":[");
		for (size_t i = 0; i < NSURF; i++)
			printf("%s{\"surface\":\"%s\",\"probes\":%zu,\"compared\":%zu,\"skipped\":%zu,"
			       "\"unsupported_probes\":%zu,\"errors\":%zu,\"results\":%zu,\"match\":%zu,"
			       "\"differ\":%zu,\"unsupported\":%zu}",
			       i ? "," : "", surfaces[i], surf[i].probes, surf[i].compared,
			       surf[i].skipped, surf[i].unsupported_probes, surf[i].errors,
			       surf[i].results, surf[i].match, surf[i].diff, surf[i].unsupp);
		printf("],\"rules\":[");
		for (size_t i = 0; i < nrules; i++)
			printf("%s{\"probe\":\"%s\",\"status\":\"%s\",\"results\":%zu,\"match\":%zu,"
			       "\"differ\":%zu,\"unsupported\":%zu}",
			       i ? "," : "", rules[i].probe, pstatus_name[rules[i].st],
			       rules[i].c.results, rules[i].c.match, rules[i].c.diff, rules[i].c.unsupp);
		printf("]},\"summary\":{\"probes\":%zu,\"compared\":%zu,\"skipped\":%zu,"
		       "\"unsupported_probes\":%zu,\"errors\":%zu,\"results\":%zu,\"match\":%zu,"
		       "\"differ\":%zu,\"unsupported\":%zu}}\n",
		       tot->probes, tot->compared, tot->skipped, tot->unsupported_probes, tot->errors,
		       tot->results, tot->match, tot->diff, tot->unsupp);
		return;
	}
	printf("\n# coverage by surface\n%-10s %6s %8s %7s %7s %6s %7s %6s %6s %7s\n", "SURFACE",
	       "PROBES", "COMPARED", "SKIPPED", "UNSUPP", "ERRORS", "RESULTS", "MATCH", "DIFFER",
	       "UNSUPP");
	for (size_t i = 0; i < NSURF; i++)
		if (surf[i].probes)
			printf("%-10s %6zu %8zu %7zu %7zu %6zu %7zu %6zu %6zu %7zu\n", surfaces[i],
			       surf[i].probes, surf[i].compared, surf[i].skipped,
			       surf[i].unsupported_probes, surf[i].errors, surf[i].results,
			       surf[i].match, surf[i].diff, surf[i].unsupp);
	printf("%-10s %6zu %8zu %7zu %7zu %6zu %7zu %6zu %6zu %7zu\n", "total", tot->probes,
	       tot->compared, tot->skipped, tot->unsupported_probes, tot->errors, tot->results,
	       tot->match, tot->diff, tot->unsupp);
	printf("\n# coverage by rule (one probe per rule)\n%-36s %-11s %7s %6s %6s %6s\n", "RULE",
	       "STATUS", "RESULTS", "MATCH", "DIFFER", "UNSUPP");
	for (size_t i = 0; i < nrules; i++)
		printf("%-36s %-11s %7zu %6zu %6zu %6zu\n", rules[i].probe, pstatus_name[rules[i].st],
		       rules[i].c.results, rules[i].c.match, rules[i].c.diff, rules[i].c.unsupp);
	printf("\n# %zu probes: %zu compared, %zu skipped (host lacks the interface), %zu unsupported "
	       "by the simulated kernel, %zu errors; %zu results: %zu match, %zu differ, %zu "
	       "unsupported\n",
	       tot->probes, tot->compared, tot->skipped, tot->unsupported_probes, tot->errors,
	       tot->results, tot->match, tot->diff, tot->unsupp);
}

static int run_both(const struct opts *o, struct xo_ktarget *host, struct xo_ktarget *sim,
		    const char *model_desc)
{
	struct counts surf[NSURF], tot;
	size_t n = xo_kprobe_count(), nrules = 0;
	struct rule_count *rules = calloc(n + 1, sizeof(*rules));
	bool first = true;

	if (!rules) {
		fprintf(stderr, "xstate conform: out of memory\n");
		return CLI_FAIL;
	}
	memset(surf, 0, sizeof(surf));
	memset(&tot, 0, sizeof(tot));
	if (o->json) {
		printf("{\"targets\":[\"host\",\"sim\"],\"sim_model\":");
		xs_json_string(stdout, model_desc);
		printf(",\"probes\":[");
	} else {
		printf("# host kernel vs. simulated kernel (%s)\n", model_desc);
		printf("%-28s %-34s %-22s %-22s %s\n", "PROBE", "KEY", "HOST", "SIM", "MATCH");
	}
	if (!o->sel.n) {
		struct rule_count *rc = &rules[nrules++];

		rc->probe = "target.info";
		compare_info(o, host, sim, &rc->c);
		rc->st = rc->c.errors ? P_ERROR : P_COMPARED;
		count_add(&surf[0], &rc->c);
		first = false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct xo_kprobe *p = xo_kprobe_at(i);
		struct rule_count *rc;

		if (!selected(&o->sel, p->name))
			continue;
		rc = &rules[nrules++];
		rc->probe = p->name;
		rc->st = compare_probe(o, p, host, sim, first, &rc->c);
		count_add(&surf[surface_index(p->surface)], &rc->c);
		first = false;
	}
	for (size_t i = 0; i < NSURF; i++)
		count_add(&tot, &surf[i]);
	print_coverage(o, surf, rules, nrules, &tot);
	free(rules);
	return tot.diff || tot.errors ? CLI_FAIL : CLI_OK;
}

/* ---- Entry ---- */

static struct xo_ktarget *make_sim(const struct opts *o, char *desc, size_t desclen)
{
	struct xs_model *m = malloc(sizeof(*m));
	struct xo_ksim_opts so;
	struct xo_ktarget *t;
	const char *spec = o->model ? o->model : "host";
	char why[256], policy[512];

	if (!m) {
		fprintf(stderr, "xstate conform: out of memory\n");
		return NULL;
	}
	if (cli_load_model_as("conform", spec, m)) {
		free(m);
		return NULL;
	}
	/* The host's model gets the host kernel's configuration too; the
	 * user's --policy settings come after it. */
	policy[0] = '\0';
	if (!strcmp(spec, "host"))
		xo_host_kernel_policy(m, policy, sizeof(policy));
	if (o->policy)
		snprintf(policy + strlen(policy), sizeof(policy) - strlen(policy), "%s%s",
			 policy[0] ? "," : "", o->policy);
	memset(&so, 0, sizeof(so));
	so.model = m;
	so.ncpus = o->ncpus;
	so.policy = policy;
	so.trace = o->trace ? stderr : NULL;
	so.trace_level = 1;
	t = xo_ktarget_sim(&so, why, sizeof(why));
	if (!t)
		fprintf(stderr, "xstate conform: simulated kernel: %s\n", why);
	snprintf(desc, desclen, "model %s, %u CPUs, policy %s", m->name, o->ncpus ? o->ncpus : 2,
		 policy[0] ? policy : "linux");
	free(m);
	return t;
}

int cmd_conform(int argc, char **argv)
{
	struct opts o;
	struct xo_ktarget *host = NULL, *sim = NULL;
	char why[160], desc[640];
	int rc = parse_opts(argc, argv, &o);

	if (rc != CLI_OK)
		return rc;
	if (o.list)
		return list_probes(o.json);
	if (o.host) {
		host = xo_ktarget_host(why, sizeof(why));
		if (!host) {
			fprintf(stderr, "xstate conform: %s\n", why);
			return CLI_FAIL;
		}
	}
	if (o.sim && !(sim = make_sim(&o, desc, sizeof(desc)))) {
		xo_ktarget_free(host);
		return CLI_FAIL;
	}
	if (host && sim)
		rc = run_both(&o, host, sim, desc);
	else
		rc = run_single(&o, host ? host : sim);
	xo_ktarget_free(host);
	xo_ktarget_free(sim);
	return rc;
}
