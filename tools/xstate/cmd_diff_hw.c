/* xstate diff-hw: differential test of the architecture model against this
 * host's CPU (src/oracle/hostdiff.c). Exit 1 on any mismatch. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/kvmguest.h"
#include "xstate/oracle.h"

/* Ring 0: the same kind of programs at CPL 0 in a minimal KVM guest
 * (src/oracle/kvm_diff.c), so XSAVES/XRSTORS, XSETBV and the IA32_XSS/XFD
 * MSRs are compared as far as the nested virtual CPU exposes them. */
struct ring0 {
	int status;                   /* 0 ran, 1 skipped (no usable KVM), -1 error, 2 not asked */
	char why[256];
	struct xo_kvm_diff_stats s;
};

static void ring0_run(struct ring0 *r, const struct xs_diff_opts *o, uint64_t cases)
{
	struct xs_diff_opts ro = *o;

	memset(&r->s, 0, sizeof(r->s));
	if (!cases) {
		r->status = 2;
		return;
	}
	ro.cases = cases;
	r->status = xo_kvm_diff(&ro, &r->s, r->why, sizeof(r->why));
}

static void ring0_print_text(const struct ring0 *r)
{
	if (r->status == 2)
		return;
	printf("\nring 0 (KVM guest): ");
	if (r->status == 1) {
		printf("skipped: %s\n", r->why);
		return;
	}
	if (r->status < 0) {
		printf("error: %s\n", r->why);
		return;
	}
	printf("%" PRIu64 " cases in %.2f s: %" PRIu64 " same, %" PRIu64 " different, %" PRIu64
	       " not run (the guest cannot execute the instruction); %" PRIu64
	       " ended in the same fault\n", r->s.cases, r->s.seconds, r->s.same, r->s.different,
	       r->s.not_run, r->s.faults_compared);
	xo_kvm_exposure_print(&r->s.exposure, stdout);
	for (size_t i = 0; i < r->s.nreports; i++) {
		const struct xs_diff_mismatch *m = &r->s.reports[i];

		printf("\nRING-0 MISMATCH %zu:\n%s-- model:\n%s-- guest:\n%s", i + 1, m->program,
		       m->model_out, m->hw_out);
	}
}

static void ring0_print_json(const struct ring0 *r)
{
	printf(",\"ring0\":{\"status\":\"%s\"",
	       r->status == 0 ? "ran" : r->status == 1 ? "skipped" : r->status == 2 ? "off" : "error");
	if (r->status == 1 || r->status < 0) {
		printf(",\"reason\":");
		xs_json_string(stdout, r->why);
	}
	if (r->status == 0) {
		printf(",\"cases\":%" PRIu64 ",\"same\":%" PRIu64 ",\"different\":%" PRIu64
		       ",\"not_run\":%" PRIu64 ",\"faults_compared\":%" PRIu64 ",\"exposure\":",
		       r->s.cases, r->s.same, r->s.different, r->s.not_run, r->s.faults_compared);
		xo_kvm_exposure_json(&r->s.exposure, stdout);
	}
	printf("}");
}

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

static void print_json(const struct xs_diff_stats *s, const struct xs_diff_opts *o,
		       const struct ring0 *r0)
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
		xs_json_string(stdout, xs_diff_insn_name(i));
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
		xs_json_string(stdout, m->program);
		printf(",\"model\":");
		xs_json_string(stdout, m->model_out);
		printf(",\"silicon\":");
		xs_json_string(stdout, m->hw_out);
		printf("}");
	}
	printf("]");
	ring0_print_json(r0);
	printf("}\n");
}

int cmd_diff_hw(int argc, char **argv)
{
	struct xs_diff_opts o = { .cases = 10000, .seed = 1, .repeats = 5, .minimize = true,
				  .max_reports = 10 };
	struct xs_diff_stats s;
	struct ring0 r0;
	uint64_t ring0_cases = 200;
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
		} else if ((r = cli_opt_value(argc, argv, &i, "--ring0-cases", &v))) {
			if (r < 0 || cli_parse_u64(v, &ring0_cases) != 0)
				return r < 0 ? CLI_USAGE :
					cli_usage_error(argv[0], "--ring0-cases '%s' is not a number", v);
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
	ring0_run(&r0, &o, ring0_cases);
	if (json) {
		print_json(&s, &o, &r0);
	} else {
		print_text(&s, &o);
		ring0_print_text(&r0);
	}
	xs_diff_stats_free(&s);
	if (r0.status == 0)
		xo_kvm_diff_free(&r0.s);
	if (r0.status < 0)
		return CLI_FAIL;
	return s.mismatches || (r0.status == 0 && r0.s.different) ? CLI_FAIL : CLI_OK;
}
