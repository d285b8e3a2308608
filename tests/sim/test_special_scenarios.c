/* The special-state scenarios end to end (examples/pkru-*, cet-*, uintr-*,
 * lbr-*, seed000-*): each passes under its own policy; each alternative
 * policy and each special-state mutant makes the scenario that asks about
 * it fail, at the expectation that shows the bug; the verbs' parse errors
 * are precise. */
#include <stdio.h>

#include "simtest.h"

/* Run an example file with an extra policy; the result stays in r. */
static int run_file(const char *name, const char *policy, struct sim_result *r)
{
	const char *top = getenv("XSTATE_TOP");
	char path[512], err[SIM_MSG_MAX];
	struct sim_scenario *sc;
	struct sim_run_opts o;

	snprintf(path, sizeof(path), "%s/examples/%s", top ? top : ".", name);
	memset(r, 0, sizeof(*r));
	if (sim_scenario_load(path, &sc, err, sizeof(err))) {
		tap_diag("%s", err);
		r->status = SIM_ERROR;
		return SIM_ERROR;
	}
	memset(&o, 0, sizeof(o));
	o.policy_extra = policy;
	sim_scenario_run(sc, &o, r);
	sim_scenario_free(sc);
	if (r->status != SIM_OK)
		tap_diag("  %s%s%s: %s", name, policy ? " --policy " : "", policy ? policy : "",
			 r->message);
	return r->status;
}

/* The line of the first statement in examples/NAME that contains text. */
static unsigned line_of(const char *name, const char *text)
{
	const char *top = getenv("XSTATE_TOP");
	char path[512], line[512];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/examples/%s", top ? top : ".", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (line[0] != '#' && strstr(line, text)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	return 0;
}

static const char *const files[] = {
	"pkru-eager-switch.xs", "pkru-fork-exec.xs", "pkru-signal-ptrace.xs", "cet-shstk.xs",
	"cet-s-guest.xs",
	"cet-s-task.xs", "cet-s-independent.xs", "uintr-off.xs", "uintr-ordinary.xs",
	"uintr-independent.xs", "lbr-independent.xs", "seed000-xsaves-twice.xs",
	"seed000-classes.xs",
};

static void test_examples_pass(void)
{
	struct sim_result r;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		run_file(files[i], NULL, &r);
		tap_ok(r.status == SIM_OK && r.expect_passed == r.expect_total && r.expect_total > 0 &&
		       r.warnings == (strcmp(files[i], "uintr-ordinary.xs") ? 0u : 1u),
		       "%s passes (%u expectations)", files[i], r.expect_passed);
	}
}

/* Each mutant is caught, at the expectation that names the bug. */
static void test_mutants(void)
{
	struct sim_result r;

	run_file("pkru-eager-switch.xs", "mutant=pkru-lazy", &r);
	tap_ok(r.status == SIM_FAIL &&
	       r.fail_line == line_of("pkru-eager-switch.xs", "expect uaccess a write 1 == ok") &&
	       r.fail_check &&
	       !strcmp(r.fail_check, "expect") && strstr(r.message, "copy_to_user: EFAULT"),
	       "mutant pkru-lazy: the kernel access for a uses b's stale PKRU (line %u)",
	       r.fail_line);
	run_file("pkru-fork-exec.xs", "mutant=pkru-lazy", &r);
	tap_ok(r.status == SIM_FAIL && strstr(r.message, "copy_to_user"),
	       "mutant pkru-lazy: caught by pkru-fork-exec.xs too (line %u)", r.fail_line);

	run_file("uintr-independent.xs", "mutant=uintr-shortcut", &r);
	tap_ok(r.status == SIM_FAIL && strstr(r.message, "uinv") &&
	       r.fail_line == line_of("uintr-independent.xs", "0xec        # restored by the return"),
	       "mutant uintr-shortcut: UINV 0 after the kernel-thread round trip (line %u)",
	       r.fail_line);

	run_file("cet-shstk.xs", "mutant=shstk-set-unchecked", &r);
	tap_ok(r.status == SIM_FAIL && strstr(r.message, "returned ok, expected EINVAL"),
	       "mutant shstk-set-unchecked: the bad SSP is accepted (line %u)", r.fail_line);

	/* The mutant's consequence: a faulting kernel XRSTORS. */
	{
		const struct sim_result *x = st_run(
			"machine cpu=intel-sapphire-rapids cpus=1\n"
			"thread a on cpu0\nthread b\n"
			"a shstk enable\n"
			"switch cpu0 to b\n"
			"shstk-regset a set 0x8000000000000000\n"
			"switch cpu0 to a\n"
			"a run\n"
			"expect warnings == 0\n", "mutant=shstk-set-unchecked");

		tap_ok(x->status == SIM_FAIL && x->warnings == 1,
		       "mutant shstk-set-unchecked: the XRSTORS before user mode #GPs (WARN)");
	}
}

/* Seed 001's kernel-thread round trip, the same text under each policy. */
static const char *const kthread_roundtrip =
	"machine cpu=intel-sapphire-rapids cpus=2\n"
	"thread r on cpu0\nthread s on cpu1\nkthread kt\n"
	"r uintr register\n"
	"switch cpu0 to kt\nswitch cpu0 to r\nr run\n"
	"s senduipi r 1\n"
	"expect uintr r delivered == 1\n"
	"exec r\nr run\n"
	"expect warnings == 0\n";

/* The alternative policies give the other answer. */
static void test_alternatives(void)
{
	const struct sim_result *x;
	struct sim_result r;

	x = st_run(kthread_roundtrip, "uintr=independent");
	tap_ok(x->status == SIM_OK, "uintr=independent: delivered after the round trip, clean exec");
	x = st_run(kthread_roundtrip, "uintr=ordinary");
	tap_ok(x->status == SIM_FAIL && x->fail_line == 10 && strstr(x->message, "delivered: 0"),
	       "uintr=ordinary: the interrupt is lost after the round trip (seed 001)");
	x = st_run(kthread_roundtrip, "uintr=ordinary shortcut=off");
	tap_ok(x->status == SIM_FAIL && x->fail_line == 13 && x->warnings == 1,
	       "uintr=ordinary shortcut=off: delivered -- the shortcut was the culprit -- but exec's "
	       "XRSTORS still #GPs");
	x = st_run(kthread_roundtrip, "uintr=independent mutant=uintr-shortcut");
	tap_ok(x->status == SIM_FAIL && x->fail_line == 10,
	       "mutant uintr-shortcut: lost, as under ordinary");
	run_file("cet-s-guest.xs", "cet-s=task", &r);
	tap_ok(r.status == SIM_FAIL && strstr(r.message, "default"),
	       "cet-s=task: CET_S in the default buffer (line %u)", r.fail_line);
	run_file("cet-s-independent.xs", "cet-s=guest", &r);
	tap_ok(r.status == SIM_FAIL, "cet-s=guest fails cet-s-independent.xs (line %u)",
	       r.fail_line);
	run_file("uintr-off.xs", "uintr=independent", &r);
	tap_ok(r.status == SIM_FAIL, "uintr=independent: component 14 is managed (line %u)",
	       r.fail_line);
}

static void test_parse_errors(void)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "machine\nthread t\nt shstk fly\n", "usage" },
		{ "machine\nthread t\nt shstk enable fails EWHAT\n", "not an errno" },
		{ "machine\nthread t\nkinsn cpu0 xsaves B sse\n", "no kernel buffer 'B'" },
		{ "machine\nkbuf B\nkbuf B\n", "declared twice" },
		{ "machine\nkbuf B 12\n", "size 12" },
		{ "machine\nkbuf B\nkbuf B xcomp_bv ^= 1\n", "=, |= or &=" },
		{ "machine\nthread t\nexpect uaccess t write 16 == ok\n", "0 to 15" },
		{ "machine\nthread t\nexpect class foo == user\n", "not a state component" },
		{ "machine\nthread t\nexpect class avx == userish\n", "supervisor-affects-user" },
		{ "machine\nthread t\nexpect uintr t eaten == 1\n", "delivered posted" },
		{ "machine\nthread t\nexpect config sizes == 1\n", "default-size" },
		{ "machine\nthread t\nthread r\nt senduipi r 64\n", "0 to 63" },
		{ "machine\nkthread k\nk shstk enable\n", "" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sim_scenario *sc = NULL;
		char err[SIM_MSG_MAX];
		int rc = sim_scenario_parse(bad[i].text, "bad.xs", &sc, err, sizeof(err));

		tap_ok(rc == -1 && strstr(err, bad[i].msg) && strstr(err, "bad.xs:"),
		       "parse error %zu: %s", i, rc ? err : "(parsed)");
		if (!rc)
			sim_scenario_free(sc);
	}
}

/* Runtime errors: the machine cannot do it. */
static void test_runtime_errors(void)
{
	const struct sim_result *r;

	r = st_run("machine cpu=intel-sapphire-rapids\nthread t on cpu0\nkbuf B\n"
		   "kinsn cpu0 xrstors B sse\n", NULL);
	tap_ok(r->status == SIM_ERROR && strstr(r->message, "kernel FPU section"),
	       "a raw restore outside a kernel FPU section is refused");
	r = st_run("machine cpu=intel-sapphire-rapids\nthread t on cpu0\nthread r\n"
		   "t senduipi r\n", "uintr=independent");
	tap_ok(r->status == SIM_ERROR && strstr(r->message, "no user-interrupt handler"),
	       "SENDUIPI to a task that registered nothing");
	r = st_run("machine cpu=intel-sapphire-rapids\nthread t on cpu0\n"
		   "expect uaccess t read 0 == ok\nexpect uaccess t read 1 == EFAULT\n", NULL);
	tap_ok(r->status == SIM_OK, "uaccess right after the spawn (kernel mode, init_pkru)");
	r = st_run("machine cpu=intel-sapphire-rapids\nthread t on cpu0\nt run\n"
		   "expect uaccess t read 1 == ok\n", NULL);
	tap_ok(r->status == SIM_ERROR && strstr(r->message, "user mode"),
	       "uaccess of a task in user mode is refused");
	r = st_run("machine cpu=intel-icelake-sp\nthread t on cpu0\nperf lbr t\n", NULL);
	tap_ok(r->status == SIM_ERROR && strstr(r->message, "EOPNOTSUPP"),
	       "perf lbr without arch LBR");
	r = st_run("machine cpu=intel-icelake-sp\nthread t on cpu0\n", "uintr=ordinary");
	tap_ok(r->status == SIM_ERROR && strstr(r->message, "uintr=ordinary"),
	       "uintr= on a CPU without UINTR: boot refused");
}

int main(void)
{
	tap_plan_lazy();
	test_examples_pass();
	test_mutants();
	test_alternatives();
	test_parse_errors();
	test_runtime_errors();
	return tap_done();
}
