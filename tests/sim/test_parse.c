/* The scenario parser: values, names, and precise "FILE:LINE: reason"
 * errors for malformed input (exit 2 in `xstate run`). */
#include "simtest.h"

#define HDR "machine cpu=intel-sapphire-rapids cpus=2\n"

/* Parse text; return the error message ("" if it parsed). */
static const char *parse_err(const char *text)
{
	static char err[SIM_MSG_MAX];
	struct sim_scenario *sc;

	err[0] = '\0';
	if (sim_scenario_parse(text, "bad.xs", &sc, err, sizeof(err)) == 0) {
		sim_scenario_free(sc);
		return "";
	}
	return err;
}

static void expect_error(const char *text, const char *where, const char *what)
{
	const char *e = parse_err(text);

	if (!tap_ok(strncmp(e, where, strlen(where)) == 0 && strstr(e, what) != NULL,
		    "error '%s' at %s", what, where))
		tap_diag("  got '%s'", e);
}

/* The value bytes of the first statement after the header of text. */
static const uint8_t *value_of(const char *text, struct sim_scenario **keep)
{
	char err[SIM_MSG_MAX];

	if (sim_scenario_parse(text, "v.xs", keep, err, sizeof(err))) {
		tap_diag("%s", err);
		return NULL;
	}
	return (*keep)->stmts[(*keep)->nstmts - 1].a.val;
}

static void test_values(void)
{
	struct sim_scenario *sc;
	const uint8_t *v;
	bool ok;

	v = value_of(HDR "thread t\nt write ymm3 = fill:0xab\n", &sc);
	ok = v != NULL;
	for (int i = 0; v && i < 32; i++)
		ok &= v[i] == 0xAB;
	tap_ok(ok, "fill:0xab fills all 32 bytes of ymm3");
	sim_scenario_free(sc);

	v = value_of(HDR "thread t\nt write xmm1 = seq:0x40\n", &sc);
	ok = v != NULL;
	for (int i = 0; v && i < 16; i++)
		ok &= v[i] == 0x40 + i;
	tap_ok(ok, "seq:0x40 counts up from byte 0");
	sim_scenario_free(sc);

	v = value_of(HDR "thread t\nt write xmm1 = 0x0102_0304\n", &sc);
	tap_ok(v && v[0] == 4 && v[1] == 3 && v[2] == 2 && v[3] == 1 && v[4] == 0 && v[15] == 0,
	       "0x numbers are little-endian in the register, '_' separates digits");
	sim_scenario_free(sc);

	v = value_of(HDR "thread t\nt write xmm1 = bytes:0102\n", &sc);
	tap_ok(v && v[0] == 1 && v[1] == 2 && v[2] == 0, "bytes: gives byte 0 first");
	sim_scenario_free(sc);

	v = value_of(HDR "thread t\nt write mxcsr = 8064\n", &sc);
	tap_ok(v && v[0] == 0x80 && v[1] == 0x1F, "decimal numbers");
	sim_scenario_free(sc);

	v = value_of(HDR "thread t\nt write zmm31=zero   # comment\n", &sc);
	ok = v != NULL;
	for (int i = 0; v && i < 64; i++)
		ok &= v[i] == 0;
	tap_ok(ok, "REG=VALUE form, zero, trailing comment");
	sim_scenario_free(sc);
}

static void test_names_and_counts(void)
{
	struct sim_scenario *sc;
	char err[SIM_MSG_MAX];
	int rc = sim_scenario_parse(HDR "# comment line\n\nprocess P\nthread a in P on cpu1\n"
				    "clone a as b\nfork a as c process Q\nkthread k on cpu0\n"
				    "expect fault a == #NM   # #NM is a word, this is a comment\n"
				    "expect !needs-load a\nexpect a ymm0 == 0\n",
				    "ok.xs", &sc, err, sizeof(err));

	tap_ok(rc == 0, "a well-formed scenario parses");
	if (rc) {
		tap_diag("%s", err);
		return;
	}
	tap_eq_u64(sc->ntasks, 4, "four tasks declared");
	tap_eq_u64(sc->nprocs, 2, "two processes (P and Q; kernel threads have none)");
	tap_eq_u64(sc->nexpect, 3, "three expectations");
	tap_eq_u64(sc->ncpus, 2, "cpus=2");
	tap_eq_u64(sc->stmts[sc->nstmts - 3].a.num[0], XS_NM, "#NM parsed, rest of the line ignored");
	tap_ok(sc->stmts[sc->nstmts - 2].a.neg, "! negates needs-load");
	sim_scenario_free(sc);
}

static void test_errors(void)
{
	expect_error("thread t\n", "bad.xs:1:", "first statement must be 'machine");
	expect_error("# only a comment\n", "bad.xs:1:", "no 'machine' statement");
	expect_error("machine cpu=no-such-cpu\n", "bad.xs:1:", "cpu=no-such-cpu");
	expect_error("machine cpus=0\n", "bad.xs:1:", "1 to 64");
	expect_error(HDR "machine\n", "bad.xs:2:", "only one machine");
	expect_error(HDR "frobnicate cpu0\n", "bad.xs:2:", "unknown statement or task 'frobnicate'");
	expect_error(HDR "thread t\nt frob ymm0\n", "bad.xs:3:", "unknown task verb 'frob'");
	expect_error(HDR "switch cpu0 to ghost\n", "bad.xs:2:", "unknown task 'ghost'");
	expect_error(HDR "switch cpu2 to idle\n", "bad.xs:2:", "the machine has 2 CPUs");
	expect_error(HDR "switch cpu0 idle\n", "bad.xs:2:", "too few words");
	expect_error(HDR "thread t\nthread t\n", "bad.xs:3:", "already declared on line 2");
	expect_error(HDR "thread cpu1\n", "bad.xs:2:", "cannot name a task");
	expect_error(HDR "thread idle\n", "bad.xs:2:", "cannot name a task");
	expect_error(HDR "thread t\nt write ymm99 = 0\n", "bad.xs:3:", "not a register");
	expect_error(HDR "thread t\nt write xmm0 = 0x1122334455667788112233445566778899\n",
		     "bad.xs:3:", "more than 16 bytes");
	expect_error(HDR "thread t\nt write xmm0 = fill:0x100\n", "bad.xs:3:", "larger than 0xff");
	expect_error(HDR "thread t\nt write xmm0 = 0xzz\n", "bad.xs:3:", "bad hex digit");
	expect_error(HDR "thread t\nt write xmm0 = bytes:123\n", "bad.xs:3:", "even number");
	expect_error(HDR "thread t\nt write xmm0 = banana\n", "bad.xs:3:", "expected a value");
	expect_error(HDR "thread t\nt write xmm0\n", "bad.xs:3:", "usage");
	expect_error(HDR "process P\nthread a in P\nthread b in P\n", "bad.xs:4:",
		     "already has a thread");
	expect_error(HDR "kthread k\nk write xmm0 = 0\n", "bad.xs:3:", "kernel thread");
	expect_error(HDR "thread t\nexpect owner cpu0 < t\n", "bad.xs:3:", "only == and !=");
	expect_error(HDR "thread t\nexpect restores cpu0 ~ 1\n", "bad.xs:3:", "comparison");
	expect_error(HDR "thread t\nexpect fault t == XX\n", "bad.xs:3:", "expected a fault");
	expect_error(HDR "thread t\nexpect fault t == #XX\n", "bad.xs:3:", "too few words");
	expect_error(HDR "thread t\nexpect wibble t\n", "bad.xs:3:", "unknown expectation");
	expect_error(HDR "thread t\nexpect t ymm0 = 0\n", "bad.xs:3:", "comparison");
	expect_error(HDR "kfpu cpu0 begin 7\n", "bad.xs:2:", "only bits 0");
	expect_error(HDR "thread t\nt touch bogus\n", "bad.xs:3:", "component mask");
	expect_error("machine cpu=amd-zen3-milan\nthread t\nt touch zmm_hi256\n", "bad.xs:3:",
		     "not a user component");
	expect_error(HDR "thread t\npolicy restore=lazy\n", "bad.xs:3:", "directly follow");
	expect_error("machine cpu=intel-skylake-client bogus=1\n", "bad.xs:1:", "bogus");
	expect_error(HDR "random steps=x\n", "bad.xs:2:", "expected a number");
	expect_error(HDR "fork ghost as t\n", "bad.xs:2:", "unknown task 'ghost'");
	expect_error(HDR "thread t\nfork t as u process\n", "bad.xs:3:", "usage");
	tap_ok(strstr(parse_err(HDR "thread t\n\n\n\nt write xmm0 =\n"), "bad.xs:6:") != NULL,
	       "line numbers count blank lines");
}

static void test_policy_lines(void)
{
	struct sim_scenario *sc;
	char err[SIM_MSG_MAX];
	int rc = sim_scenario_parse("machine cpu=intel-skylake-client policy restore=lazy\n"
				    "policy shortcut=off\nthread t\n", "p.xs", &sc, err, sizeof(err));

	tap_ok(rc == 0, "policy on the machine line and on policy lines");
	if (!rc) {
		tap_ok(sc->policy.restore == XK_RESTORE_LAZY && !sc->policy.shortcut,
		       "both settings reach the scenario's policy");
		sim_scenario_free(sc);
	}
}

int main(void)
{
	tap_plan_lazy();
	test_values();
	test_names_and_counts();
	test_errors();
	test_policy_lines();
	return tap_done();
}
