/* Explorer reports: the summary and counterexample for people, one JSON
 * object for programs, and the merge of the JSON reports of shards run on
 * other machines (a Slurm array, GNU parallel) into one.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/explore_internal.h"
#include "xstate/json.h"

/* ---- People ---- */

static void human_count(char *buf, size_t len, double v)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
}

static void header_text(const struct xe_config *c, const struct xe_report *r, char *buf,
			size_t len)
{
	const struct xe_violation *v = &r->v;
	char pol[256];

	char where[96];

	xk_policy_format(&c->policy, pol, sizeof(pol));
	if (r->exhaustive)
		snprintf(where, sizeof(where), "exhaustive search, a shortest sequence of %u operations", v->step);
	else
		snprintf(where, sizeof(where), "program %llu (seed %llu), step %u",
			 (unsigned long long)v->program, (unsigned long long)v->seed, v->step);
	snprintf(buf, len,
		 "xstate explore counterexample: invariant '%s'\n"
		 "%.900s\n"
		 "found: %s; minimized from %u to %u operations\n"
		 "machine: %s, %u CPUs, policy %s\n"
		 "reproduce: xstate run FILE",
		 v->check, v->message, where, v->found.n, v->min.n ? v->min.n : v->found.n,
		 c->model_spec, c->ncpus, pol);
}

/* The scenario of the counterexample (minimized if there is one). */
static char *counterexample(const struct xe_config *c, const struct xe_report *r)
{
	char hdr[2048];
	const struct xe_prog *p = r->v.min.n ? &r->v.min : &r->v.found;

	header_text(c, r, hdr, sizeof(hdr));
	return xe_prog_text(c, p, hdr);
}

void xe_report_print(const struct xe_config *c, const struct xe_report *r, FILE *f,
		     bool with_trace)
{
	char pol[256], inv[256], a[32], b[32], line[512];
	double rate = r->elapsed > 0 ? (double)r->steps / r->elapsed : 0;

	xk_policy_format(&c->policy, pol, sizeof(pol));
	sim_inv_format(c->inv_mask | SIM_INV_BUILTIN, inv, sizeof(inv));
	if (r->failed)
		fprintf(f, "explore: invariant '%s' BROKEN\n", r->v.check);
	else
		fprintf(f, "explore: no invariant broke\n");
	fprintf(f, "  machine     %s, %u CPUs, up to %u user tasks\n", c->model_spec, c->ncpus,
		c->max_tasks);
	fprintf(f, "  policy      %s\n", pol);
	fprintf(f, "  invariants  %s\n", inv);
	human_count(a, sizeof(a), (double)r->steps);
	human_count(b, sizeof(b), rate);
	if (r->exhaustive) {
		fprintf(f, "  searched    every sequence of the alphabet up to depth %u: %llu distinct "
			"states, %s steps, %.2f s\n", r->depth, (unsigned long long)r->states, a,
			r->elapsed);
	} else {
		fprintf(f, "  searched    %s steps in %llu programs (seeds from %llu", a,
			(unsigned long long)r->programs, (unsigned long long)r->seed);
		if (r->nshards > 1)
			fprintf(f, ", shard %u/%u", r->shard, r->nshards);
		fprintf(f, "), %u job%s, %.2f s, %s steps/s\n", r->jobs, r->jobs == 1 ? "" : "s",
			r->elapsed, b);
	}
	if (r->internal_errors)
		fprintf(f, "  INTERNAL    %llu generated steps were impossible (an explorer bug): "
			"%s\n", (unsigned long long)r->internal_errors, r->internal);
	if (!r->failed)
		return;

	if (r->exhaustive)
		fprintf(f, "\nfirst failing step: a shortest sequence, %u operations (setup "
			"included), %.3f s into the search:\n", r->v.step, r->v.found_after);
	else
		fprintf(f, "\nfirst failing step: program %llu (seed %llu), step %u, %.3f s into "
			"the run:\n", (unsigned long long)r->v.program,
			(unsigned long long)r->v.seed, r->v.step, r->v.found_after);
	if (r->v.found.n) {
		xe_op_format(c, &r->v.found.ops[r->v.found.n - 1], line, sizeof(line));
		fprintf(f, "  %s\n", line);
	}
	fprintf(f, "  %s\n", r->v.message);
	if (r->v.min.n)
		fprintf(f, "minimized: %u -> %u operations (%u replays, %.2f s)\n", r->v.found.n,
			r->v.min.n, r->v.min_runs, r->v.min_seconds);

	char *text = counterexample(c, r);
	if (!text)
		return;
	fprintf(f, "\n---- counterexample: save as FILE, `xstate run FILE` reproduces it ----\n");
	fputs(text, f);
	if (with_trace) {
		struct sim_run_opts o;
		struct sim_result *res = calloc(1, sizeof(*res));

		fprintf(f, "---- its trace ----\n");
		memset(&o, 0, sizeof(o));
		o.out = f;
		o.level = SIM_TR_EVENT;
		if (res) {
			sim_run_string(text, "counterexample.xs", &o, res);
			if (res->status == SIM_FAIL)
				fprintf(f, "FAIL %s\n", res->message);
			else
				fprintf(f, "the scenario did NOT reproduce the failure (%s): please "
					"report this\n", res->status == SIM_OK ? "it passed" : res->message);
			free(res);
		}
	}
	free(text);
}

/* ---- JSON ---- */

void xe_report_json(const struct xe_config *c, const struct xe_report *r, FILE *f)
{
	char pol[256], inv[256];

	xk_policy_format(&c->policy, pol, sizeof(pol));
	sim_inv_format(c->inv_mask | SIM_INV_BUILTIN, inv, sizeof(inv));
	fprintf(f, "{\"tool\":\"xstate explore\",\"result\":\"%s\",\"mode\":\"%s\",\"model\":",
		r->failed ? "fail" : "pass", r->exhaustive ? "exhaustive" : "random");
	xs_json_string(f, c->model_spec);
	fprintf(f, ",\"cpus\":%u,\"tasks\":%u,\"policy\":", c->ncpus, c->max_tasks);
	xs_json_string(f, pol);
	fprintf(f, ",\"invariants\":");
	xs_json_string(f, inv);
	fprintf(f, ",\"seed\":%llu,\"shard\":%u,\"nshards\":%u,\"jobs\":%u,\"program_len\":%u",
		(unsigned long long)r->seed, r->shard, r->nshards ? r->nshards : 1, r->jobs,
		c->prog_len);
	fprintf(f, ",\"steps\":%llu,\"programs\":%llu,\"checks\":%llu,\"states\":%llu,\"depth\":%u",
		(unsigned long long)r->steps, (unsigned long long)r->programs,
		(unsigned long long)r->checks, (unsigned long long)r->states, r->depth);
	fprintf(f, ",\"elapsed\":%.3f,\"cpu_seconds\":%.3f,\"steps_per_s\":%.0f,"
		"\"internal_errors\":%llu", r->elapsed, r->cpu_seconds,
		r->elapsed > 0 ? (double)r->steps / r->elapsed : 0.0,
		(unsigned long long)r->internal_errors);
	if (!r->failed) {
		fprintf(f, ",\"violation\":null}\n");
		return;
	}
	char *text = counterexample(c, r);
	fprintf(f, ",\"violation\":{\"invariant\":");
	xs_json_string(f, r->v.check);
	fprintf(f, ",\"message\":");
	xs_json_string(f, r->v.message);
	fprintf(f, ",\"program\":%llu,\"seed\":%llu,\"step\":%u,\"found_after\":%.3f,"
		"\"steps_before\":%llu,\"found_ops\":%u,\"minimized_ops\":%u,\"minimize_runs\":%u,"
		"\"scenario\":",
		(unsigned long long)r->v.program, (unsigned long long)r->v.seed, r->v.step,
		r->v.found_after, (unsigned long long)r->v.steps_before, r->v.found.n,
		r->v.min.n ? r->v.min.n : r->v.found.n, r->v.min_runs);
	xs_json_string(f, text ? text : "");
	fprintf(f, "}}\n");
	free(text);
}

/* ---- Merge ---- */

/* A tiny reader for the objects xe_report_json writes: strings, numbers,
 * null, nested objects. */
struct jv {
	char key[32];
	char *str;          /* decoded string, or the number/literal text */
	bool is_obj;
	struct jv *kids;
	unsigned nkids;
};

static void jv_free(struct jv *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(v[i].str);
		jv_free(v[i].kids, v[i].nkids);
		free(v[i].kids);
	}
}

static const char *ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *parse_str(const char *p, char **out)
{
	size_t cap = 64, n = 0;
	char *s = malloc(cap);

	if (!s || *p != '"')
		return free(s), NULL;
	for (p++; *p && *p != '"'; p++) {
		char ch = *p;

		if (ch == '\\') {
			p++;
			switch (*p) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'u': {
				unsigned v = 0;
				for (int i = 1; i <= 4; i++) {
					if (!isxdigit((unsigned char)p[i]))
						return free(s), NULL;
					v = v * 16 + (unsigned)(isdigit((unsigned char)p[i]) ? p[i] - '0' :
								 (tolower((unsigned char)p[i]) - 'a' + 10));
				}
				p += 4;
				ch = v < 0x80 ? (char)v : '?';
				break;
			}
			case '\0': return free(s), NULL;
			default: ch = *p; break;
			}
		}
		if (n + 2 > cap) {
			char *ns = realloc(s, cap *= 2);
			if (!ns)
				return free(s), NULL;
			s = ns;
		}
		s[n++] = ch;
	}
	if (*p != '"')
		return free(s), NULL;
	s[n] = '\0';
	*out = s;
	return p + 1;
}

static const char *parse_obj(const char *p, struct jv **kids, unsigned *n, int depth);

static const char *parse_val(const char *p, struct jv *v, int depth)
{
	p = ws(p);
	if (*p == '"')
		return parse_str(p, &v->str);
	if (*p == '{') {
		v->is_obj = true;
		return parse_obj(p, &v->kids, &v->nkids, depth + 1);
	}
	const char *q = p;
	while (*q && (isalnum((unsigned char)*q) || *q == '.' || *q == '-' || *q == '+'))
		q++;
	if (q == p)
		return NULL;
	v->str = strndup(p, (size_t)(q - p));
	return v->str ? q : NULL;
}

static const char *parse_obj(const char *p, struct jv **kids, unsigned *n, int depth)
{
	unsigned cap = 0;

	*kids = NULL;
	*n = 0;
	if (depth > 4 || *(p = ws(p)) != '{')
		return NULL;
	p = ws(p + 1);
	if (*p == '}')
		return p + 1;
	for (;;) {
		char *key = NULL;
		struct jv *v;

		if (*n == cap) {
			struct jv *nk = realloc(*kids, (cap = cap ? cap * 2 : 16) * sizeof(*nk));
			if (!nk)
				return NULL;
			*kids = nk;
		}
		v = &(*kids)[*n];
		memset(v, 0, sizeof(*v));
		p = parse_str(ws(p), &key);
		if (!p)
			return NULL;
		snprintf(v->key, sizeof(v->key), "%s", key);
		free(key);
		(*n)++;
		p = ws(p);
		if (*p != ':')
			return NULL;
		p = parse_val(p + 1, v, depth);
		if (!p)
			return NULL;
		p = ws(p);
		if (*p == ',') {
			p = ws(p + 1);
			continue;
		}
		if (*p == '}')
			return p + 1;
		return NULL;
	}
}

static const struct jv *jget(const struct jv *kids, unsigned n, const char *key)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(kids[i].key, key))
			return &kids[i];
	return NULL;
}

static const char *jstr_of(const struct jv *kids, unsigned n, const char *key)
{
	const struct jv *v = jget(kids, n, key);

	return v && v->str ? v->str : "";
}

static double jnum(const struct jv *kids, unsigned n, const char *key)
{
	const struct jv *v = jget(kids, n, key);

	return v && v->str ? strtod(v->str, NULL) : 0;
}

static char *slurp(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!nb || cap > (256u << 20)) {
				free(nb ? nb : buf);
				fclose(f);
				snprintf(err, errlen, "%s: too large", path);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
	} while (got);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int xe_merge(char **files, int nfiles, bool json, FILE *f, char *err, size_t errlen)
{
	struct jv *docs = calloc((size_t)nfiles, sizeof(*docs));
	double steps = 0, programs = 0, checks = 0, elapsed = 0, internal = 0, cpu_seconds = 0;
	int best = -1, status = 0;
	unsigned nshards = 0, jobs = 0;
	bool *seen = NULL;

	if (!docs) {
		snprintf(err, errlen, "out of memory");
		return 2;
	}
	for (int i = 0; i < nfiles; i++) {
		char *text = slurp(files[i], err, errlen);
		const char *end;

		if (!text) {
			status = 2;
			goto out;
		}
		docs[i].is_obj = true;
		end = parse_obj(text, &docs[i].kids, &docs[i].nkids, 0);
		free(text);
		if (!end || strcmp(jstr_of(docs[i].kids, docs[i].nkids, "tool"), "xstate explore")) {
			snprintf(err, errlen, "%s: not the --json output of xstate explore", files[i]);
			status = 2;
			goto out;
		}
	}
	for (int i = 0; i < nfiles; i++) {
		const struct jv *d = docs[i].kids;
		unsigned n = docs[i].nkids, ns = (unsigned)jnum(d, n, "nshards");
		unsigned sh = (unsigned)jnum(d, n, "shard");
		const struct jv *v = jget(d, n, "violation");
		static const char *const same[] = { "model", "policy", "invariants", "mode", "seed",
						    "cpus", "tasks", "program_len", "nshards" };

		for (size_t k = 0; i && k < sizeof(same) / sizeof(same[0]); k++) {
			const struct jv *a = jget(d, n, same[k]), *b = jget(docs[0].kids, docs[0].nkids,
									   same[k]);
			if (!a || !b || !a->str || !b->str || strcmp(a->str, b->str)) {
				snprintf(err, errlen, "%s and %s differ in %s: not shards of one run",
					 files[0], files[i], same[k]);
				status = 2;
				goto out;
			}
		}
		if (!nshards) {
			nshards = ns ? ns : 1;
			seen = calloc(nshards, sizeof(*seen));
			if (!seen) {
				status = 2;
				goto out;
			}
		}
		if (sh >= nshards || seen[sh]) {
			snprintf(err, errlen, "%s: shard %u/%u %s", files[i], sh, nshards,
				 sh >= nshards ? "out of range" : "given twice");
			status = 2;
			goto out;
		}
		seen[sh] = true;
		steps += jnum(d, n, "steps");
		programs += jnum(d, n, "programs");
		checks += jnum(d, n, "checks");
		internal += jnum(d, n, "internal_errors");
		jobs += (unsigned)jnum(d, n, "jobs");
		cpu_seconds += jnum(d, n, "elapsed") * jnum(d, n, "jobs");
		if (jnum(d, n, "elapsed") > elapsed)
			elapsed = jnum(d, n, "elapsed");
		if (v && v->is_obj) {
			double prog = jnum(v->kids, v->nkids, "program");
			if (best < 0) {
				best = i;
			} else {
				const struct jv *bv = jget(docs[best].kids, docs[best].nkids, "violation");
				if (prog < jnum(bv->kids, bv->nkids, "program"))
					best = i;
			}
		}
	}
	{
		const struct jv *d0 = docs[0].kids;
		unsigned n0 = docs[0].nkids, missing = 0;

		for (unsigned s = 0; s < nshards; s++)
			missing += !seen[s];
		if (json) {
			fprintf(f, "{\"tool\":\"xstate explore\",\"merged\":%d,\"result\":\"%s\","
				"\"mode\":", nfiles, best >= 0 ? "fail" : "pass");
			xs_json_string(f, jstr_of(d0, n0, "mode"));
			fprintf(f, ",\"model\":");
			xs_json_string(f, jstr_of(d0, n0, "model"));
			fprintf(f, ",\"cpus\":%s,\"tasks\":%s,\"policy\":", jstr_of(d0, n0, "cpus"),
				jstr_of(d0, n0, "tasks"));
			xs_json_string(f, jstr_of(d0, n0, "policy"));
			fprintf(f, ",\"invariants\":");
			xs_json_string(f, jstr_of(d0, n0, "invariants"));
			fprintf(f, ",\"seed\":%s,\"nshards\":%u,\"missing_shards\":%u,\"jobs\":%u,"
				"\"program_len\":%s,\"steps\":%.0f,\"programs\":%.0f,\"checks\":%.0f,"
				"\"elapsed\":%.3f,\"cpu_seconds\":%.3f,\"internal_errors\":%.0f",
				jstr_of(d0, n0, "seed"), nshards, missing, jobs,
				jstr_of(d0, n0, "program_len"), steps, programs, checks, elapsed,
				cpu_seconds, internal);
			if (best < 0) {
				fprintf(f, ",\"violation\":null}\n");
			} else {
				const struct jv *v = jget(docs[best].kids, docs[best].nkids, "violation");
				fprintf(f, ",\"violation\":{\"invariant\":");
				xs_json_string(f, jstr_of(v->kids, v->nkids, "invariant"));
				fprintf(f, ",\"message\":");
				xs_json_string(f, jstr_of(v->kids, v->nkids, "message"));
				fprintf(f, ",\"program\":%s,\"seed\":%s,\"step\":%s,\"shard_file\":",
					jstr_of(v->kids, v->nkids, "program"),
					jstr_of(v->kids, v->nkids, "seed"), jstr_of(v->kids, v->nkids, "step"));
				xs_json_string(f, files[best]);
				fprintf(f, ",\"minimized_ops\":%s,\"scenario\":",
					jstr_of(v->kids, v->nkids, "minimized_ops"));
				xs_json_string(f, jstr_of(v->kids, v->nkids, "scenario"));
				fprintf(f, "}}\n");
			}
		} else {
			char a[32];

			human_count(a, sizeof(a), steps);
			fprintf(f, "explore (merged %d shard report%s): %s\n", nfiles,
				nfiles == 1 ? "" : "s",
				best >= 0 ? "an invariant BROKE" : "no invariant broke");
			fprintf(f, "  machine     %s, %s CPUs, up to %s user tasks\n",
				jstr_of(d0, n0, "model"), jstr_of(d0, n0, "cpus"),
				jstr_of(d0, n0, "tasks"));
			fprintf(f, "  policy      %s\n", jstr_of(d0, n0, "policy"));
			fprintf(f, "  invariants  %s\n", jstr_of(d0, n0, "invariants"));
			fprintf(f, "  searched    %s steps in %.0f programs (seed %s, %u shards%s), %u "
				"jobs, %.2f s wall, %.1f CPU-s\n", a, programs, jstr_of(d0, n0, "seed"),
				nshards, missing ? ", SOME MISSING" : "", jobs, elapsed, cpu_seconds);
			if (missing)
				fprintf(f, "  missing     %u of %u shards\n", missing, nshards);
			if (internal > 0)
				fprintf(f, "  INTERNAL    %.0f impossible generated steps\n", internal);
			if (best >= 0) {
				const struct jv *v = jget(docs[best].kids, docs[best].nkids, "violation");
				fprintf(f, "\ninvariant '%s' broke in program %s (seed %s, step %s; from "
					"%s):\n  %s\n", jstr_of(v->kids, v->nkids, "invariant"),
					jstr_of(v->kids, v->nkids, "program"),
					jstr_of(v->kids, v->nkids, "seed"), jstr_of(v->kids, v->nkids, "step"),
					files[best], jstr_of(v->kids, v->nkids, "message"));
				fprintf(f, "\n---- counterexample: save as FILE, `xstate run FILE` "
					"reproduces it ----\n%s", jstr_of(v->kids, v->nkids, "scenario"));
			}
		}
		status = best >= 0 ? 1 : 0;
	}
out:
	for (int i = 0; i < nfiles; i++) {
		jv_free(docs[i].kids, docs[i].nkids);
		free(docs[i].kids);
	}
	free(docs);
	free(seen);
	return status;
}
