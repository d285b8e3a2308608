/* xstate diff-hw: differential test of the architecture model against this
 * host's CPU (src/oracle/hostdiff.c). Exit 1 on any mismatch. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/oracle.h"

static void print_text(const struct xs_diff_stats *s, const struct xs_diff_opts *o)
{
	char names[256];

	printf("diff-hw: %" PRIu64 " cases (seed %" PRIu64 ") in %.2f s, %" PRIu64
	       " mismatch%s\n", s->cases, o->seed, s->seconds, s->mismatches,
	       s->mismatches == 1 ? "" : "es");
	printf("  implementation-defined differences (the SDM allows both; the model chose "
	       "differently from this host): %" PRIu64 "%s\n", s->impl_defined,
	       o->strict ? " (--strict: counted as mismatches)" : "");
	printf("  silicon reruns: %" PRIu64 " (%" PRIu64 " cases agreed on a rerun: spec 15 noise)\n",
	       s->reruns, s->rerun_recovered);
	printf("  components tested: %s\n", xs_mask_names(s->comps_tested, names, sizeof(names)));
	printf("  components skipped (the host lacks them): %s\n",
	       s->comps_skipped ? xs_mask_names(s->comps_skipped, names, sizeof(names)) : "none");
	printf("  %s\n", s->reserved_note);
	printf("\n  %-20s %10s %10s %12s\n", "case kind", "cases", "mismatch", "impl-defined");
	for (unsigned k = 0; k < XS_DK_COUNT; k++)
		printf("  %-20s %10" PRIu64 " %10" PRIu64 " %12" PRIu64 "\n", xs_diff_kind_name(k),
		       s->by_kind[k], s->mismatch_by_kind[k], s->impl_by_kind[k]);
	printf("\n  %-20s %10s\n", "instruction", "cases");
	for (unsigned i = 0; i < XS_DIFF_INSNS; i++)
		printf("  %-20s %10" PRIu64 "\n", xs_diff_insn_name(i), s->by_insn[i]);
	printf("\n  %-20s %10s\n", "component live", "cases");
	for (unsigned i = 0; i < 63; i++)
		if (s->comps_tested & XS_BIT(i))
			printf("  %-20s %10" PRIu64 "\n", xs_comp_name(i), s->by_comp[i]);
	for (size_t r = 0; r < s->nreports; r++) {
		const struct xs_diff_mismatch *m = &s->reports[r];

		printf("\n%s %zu (%s):\n%s", m->impl_defined ? "implementation-defined difference" :
		       "MISMATCH", r + 1, xs_diff_kind_name(m->kind), m->program);
		printf("-- model:\n%s-- silicon (every repeat):\n%s", m->model_out, m->hw_out);
	}
	if (s->mismatches + s->impl_defined > s->nreports)
		printf("\n(%" PRIu64 " more differences not shown: one report per program shape)\n",
		       s->mismatches + s->impl_defined - s->nreports);
}

static void print_json(const struct xs_diff_stats *s, const struct xs_diff_opts *o)
{
	printf("{\"cases\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"seconds\":%.3f,\"mismatches\":%" PRIu64
	       ",\"impl_defined\":%" PRIu64 ",\"strict\":%s,\"reruns\":%" PRIu64
	       ",\"rerun_recovered\":%" PRIu64 ",\"components_tested\":",
	       s->cases, o->seed, s->seconds, s->mismatches, s->impl_defined,
	       o->strict ? "true" : "false", s->reruns, s->rerun_recovered);
	json_hex(stdout, s->comps_tested);
	printf(",\"components_skipped\":");
	json_hex(stdout, s->comps_skipped);
	printf(",\"reserved_416_463_compared\":%s,\"kinds\":{",
	       s->reserved_compared ? "true" : "false");
	for (unsigned k = 0; k < XS_DK_COUNT; k++)
		printf("%s\"%s\":{\"cases\":%" PRIu64 ",\"mismatches\":%" PRIu64
		       ",\"impl_defined\":%" PRIu64 "}", k ? "," : "", xs_diff_kind_name(k),
		       s->by_kind[k], s->mismatch_by_kind[k], s->impl_by_kind[k]);
	printf("},\"instructions\":{");
	for (unsigned i = 0; i < XS_DIFF_INSNS; i++) {
		printf("%s", i ? "," : "");
		json_string(stdout, xs_diff_insn_name(i));
		printf(":%" PRIu64, s->by_insn[i]);
	}
	printf("},\"components\":{");
	for (unsigned i = 0, first = 1; i < 63; i++)
		if (s->comps_tested & XS_BIT(i)) {
			printf("%s\"%s\":%" PRIu64, first ? "" : ",", xs_comp_name(i), s->by_comp[i]);
			first = 0;
		}
	printf("},\"reports\":[");
	for (size_t r = 0; r < s->nreports; r++) {
		const struct xs_diff_mismatch *m = &s->reports[r];

		printf("%s{\"kind\":\"%s\",\"impl_defined\":%s,\"program\":", r ? "," : "",
		       xs_diff_kind_name(m->kind), m->impl_defined ? "true" : "false");
		json_string(stdout, m->program);
		printf(",\"model\":");
		json_string(stdout, m->model_out);
		printf(",\"silicon\":");
		json_string(stdout, m->hw_out);
		printf("}");
	}
	printf("]}\n");
}

int cmd_diff_hw(int argc, char **argv)
{
	struct xs_diff_opts o = { .cases = 10000, .seed = 1, .repeats = 5, .minimize = true,
				  .max_reports = 10 };
	struct xs_diff_stats s;
	const char *v;
	bool json = false;
	char err[512];

	for (int i = 1; i < argc; i++) {
		int r;

		if ((r = cli_opt_value(argc, argv, &i, "--cases", &v))) {
			if (r < 0 || cli_parse_u64(v, &o.cases) != 0)
				return r < 0 ? CLI_USAGE :
					cli_usage_error(argv[0], "--cases '%s' is not a number", v);
		} else if ((r = cli_opt_value(argc, argv, &i, "--seed", &v))) {
			if (r < 0 || cli_parse_u64(v, &o.seed) != 0)
				return r < 0 ? CLI_USAGE :
					cli_usage_error(argv[0], "--seed '%s' is not a number", v);
		} else if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if (cli_opt_flag(argv, i, "--strict")) {
			o.strict = true;
		} else if (cli_opt_flag(argv, i, "--no-minimize")) {
			o.minimize = false;
		} else {
			return cli_usage_error(argv[0], "unknown argument '%s'", argv[i]);
		}
	}
	if (cli_stderr_is_tty())
		o.progress = stderr;
	if (xs_diff_run(&o, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "xstate diff-hw: %s\n", err);
		xs_diff_stats_free(&s);
		return CLI_FAIL;
	}
	if (json)
		print_json(&s, &o);
	else
		print_text(&s, &o);
	xs_diff_stats_free(&s);
	return s.mismatches ? CLI_FAIL : CLI_OK;
}
