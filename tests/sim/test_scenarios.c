/* Scenarios end to end: machine + kernel + architecture model. The
 * questions of the examples with their answers asserted, the seeded bug
 * (mutant) that the expectations and the shadow check must catch, failure
 * and error reporting, and determinism of the trace. */
#include "simtest.h"

#define MUTANT "mutant=shortcut-ignores-last-cpu"

static const char *const lazy_after_kthread =
	"machine cpu=intel-sapphire-rapids cpus=1\n"
	"thread t1 on cpu0\n"
	"kthread kw on cpu0\n"
	"t1 write zmm5 = seq\n"
	"switch cpu0 to kw\n"
	"expect owner cpu0 == t1\n"
	"expect needs-load t1\n"
	"switch cpu0 to t1\n"
	"return cpu0\n"
	"expect restores cpu0 == 1\n"
	"expect skipped cpu0 == 1\n"
	"expect t1 zmm5 == seq\n";

static const char *const migration =
	"machine cpu=intel-sapphire-rapids cpus=2\n"
	"thread t1 on cpu0\n"
	"thread t2 on cpu1\n"
	"t1 write ymm1 = fill:0x11\n"
	"t2 write ymm1 = fill:0x22\n"
	"migrate t1 to cpu1\n"
	"expect t1 ymm1 == fill:0x11\n"
	"t1 write ymm1 = fill:0x33\n"
	"migrate t1 to cpu0\n"
	"expect owner cpu0 == t1\n"
	"expect t1 ymm1 == fill:0x33\n"
	"expect restores cpu0 == 2\n";

static const char *const random_sched =
	"machine cpu=intel-sapphire-rapids cpus=3 seed=1\n"
	"thread a on cpu0\nthread b on cpu1\nthread c on cpu2\nthread d on cpu0\n"
	"kthread kw on cpu1\n"
	"random steps=1500\n"
	"expect warnings == 0\n";

static void test_answers(void)
{
	const struct sim_result *r;

	r = st_run(lazy_after_kthread, NULL);
	tap_ok(r->status == SIM_OK && r->expect_passed == 5,
	       "after a kernel thread: no restore, owner unchanged");

	r = st_run("machine cpu=intel-icelake-sp cpus=1\nthread t1\n"
		   "t1 write ymm7 = fill:0x5a\ncounters reset\nt1 syscall\nirq cpu0\n"
		   "expect saves == 0\nexpect restores == 0\nexpect !needs-load t1\n"
		   "switch cpu0 to idle\nswitch cpu0 to t1\nreturn cpu0\n"
		   "expect saves == 1\nexpect restores == 0\nexpect t1 ymm7 == fill:0x5a\n", NULL);
	tap_ok(r->status == SIM_OK && r->expect_passed == 6,
	       "same CPU: syscall/irq save nothing; idle and back: one save, no restore");

	r = st_run(migration, NULL);
	tap_ok(r->status == SIM_OK, "migration there and back restores both times");

	r = st_run("machine cpu=intel-sapphire-rapids cpus=1\nthread t1\n"
		   "t1 write zmm20 = seq:0x40\ncounters reset\nirq cpu0 kfpu\n"
		   "expect saves cpu0 == 1\nexpect restores cpu0 == 1\nexpect t1 zmm20 == seq:0x40\n"
		   "kfpu cpu0 begin\nexpect owner cpu0 == none\nexpect regs cpu0 zmm_hi256 == kernel\n"
		   "kfpu cpu0 end\nexpect t1 zmm20 == seq:0x40\n", NULL);
	tap_ok(r->status == SIM_OK && r->expect_passed == 6,
	       "kernel FPU in an interrupt and in a syscall: saved, clobbered, restored");

	r = st_run("machine cpu=intel-sapphire-rapids cpus=2\nthread p\n"
		   "p write ymm2 = fill:0x77\np ldmxcsr 0x1fa0\nfork p as c\nclone p as s\n"
		   "expect needs-load c\nexpect mem == 7680\nmigrate c to cpu1\n"
		   "expect c ymm2 == fill:0x77\nexpect c mxcsr == 0x1fa0\nexec c\n"
		   "expect c ymm2 == zero\nexpect c mxcsr == 0x1f80\nexit c\n"
		   "expect state c == exited\nexpect mem == 5120\nswitch cpu1 to s\n"
		   "expect s ymm2 == fill:0x77\n", NULL);
	tap_ok(r->status == SIM_OK && r->expect_passed == 9,
	       "fork/clone copy live registers, exec inits, exit frees the buffer");

	r = st_run("machine cpu=intel-sapphire-rapids cpus=1\nthread i\nthread w\n"
		   "i syscall\nexpect xinuse cpu0 & avx|zmm_hi256 == 0\nswitch cpu0 to w\n"
		   "expect xstate-bv i & sse|avx|zmm_hi256 == 0\nw write zmm9 = fill:0xc3\nswitch cpu0 to i\nreturn cpu0\n"
		   "expect xinuse cpu0 & zmm_hi256 == 0\ni touch avx\n"
		   "expect xinuse cpu0 & avx == avx\ni vzeroupper\nexpect xinuse cpu0 & avx == 0\n",
		   NULL);
	tap_ok(r->status == SIM_OK && r->expect_passed == 5,
	       "an untouched thread stays init; touch and vzeroupper move XINUSE");

	r = st_run("machine cpu=intel-skylake-client cpus=1 restore=lazy\nthread t1\nthread t2\n"
		   "t1 write ymm4 = fill:0xa1\nswitch cpu0 to t2\nreturn cpu0\nexpect ts cpu0 == 1\n"
		   "expect regs cpu0 avx == t1\ncounters reset\nt2 write ymm4 = fill:0xb2\n"
		   "expect fault t2 == #NM\nexpect nm cpu0 == 1\nexpect restores cpu0 == 1\n"
		   "expect t2 ymm4 == fill:0xb2\n", NULL);
	tap_ok(r->status == SIM_OK && r->expect_passed == 6,
	       "lazy policy: CR0.TS, #NM-driven restore, old values behind the trap");

	r = st_run("machine cpu=intel-sapphire-rapids cpus=1 shortcut=off\nthread t1\n"
		   "kthread kw\nt1 write zmm5 = seq\nswitch cpu0 to kw\nswitch cpu0 to t1\nreturn cpu0\n"
		   "switch cpu0 to idle\nswitch cpu0 to t1\nreturn cpu0\n"
		   "expect restores cpu0 == 3\nexpect skipped cpu0 == 0\nexpect t1 zmm5 == seq\n", NULL);
	tap_ok(r->status == SIM_OK, "shortcut=off: every return restores");

	r = st_run("machine cpu=intel-sapphire-rapids cpus=1\nthread t\n"
		   "kfpu cpu0 begin\nkfpu cpu0 begin\nkfpu cpu0 end\nexpect warnings == 1\n", NULL);
	tap_ok(r->status == SIM_OK, "a nested kernel_fpu_begin is refused with a WARN");

	r = st_run("machine cpu=amd-zen3-milan cpus=1\nthread t\nt write ymm15 = seq\n"
		   "switch cpu0 to idle\nswitch cpu0 to t\nexpect t ymm15 == seq\n", NULL);
	tap_ok(r->status == SIM_OK, "AMD Zen 3 (XSAVES, no AVX-512)");
}

static void test_mutant_caught(void)
{
	const struct sim_result *r;
	int caught = 0;
	char text[1024];

	r = st_run(migration, MUTANT);
	tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "shadow"),
	       "mutant shortcut-ignores-last-cpu: the shadow check fails");
	tap_eq_u64(r->fail_line, 11, "at the read on cpu0 after migrating back");
	tap_ok(strstr(r->message, "stale value of its own") != NULL, "a stale value, not a leak");
	tap_ok(r->ncontext > 3, "with trace context");

	/* Shadow check off: the expectation on the value catches it. */
	snprintf(text, sizeof(text), "machine cpu=intel-sapphire-rapids cpus=2\ncheck shadow=off\n%s",
		 strchr(migration, '\n') + 1);
	r = st_run(text, MUTANT);
	tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "expect") &&
	       r->expect_failed == 1 && r->fail_line == 12,
	       "with the shadow check off the value expectation fails");
	r = st_run(text, NULL);
	tap_ok(r->status == SIM_OK, "and holds on the correct kernel");

	r = st_run(random_sched, NULL);
	tap_ok(r->status == SIM_OK && r->steps > 1500, "1500 random steps on the correct kernel");
	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct sim_result *rr = calloc(1, sizeof(*rr));
		struct sim_run_opts o;

		memset(&o, 0, sizeof(o));
		o.policy_extra = MUTANT;
		o.seed_set = true;
		o.seed = seed;
		sim_run_string(random_sched, "r.xs", &o, rr);
		caught += rr->status == SIM_FAIL && !strcmp(rr->fail_check, "shadow");
		free(rr);
	}
	tap_ok(caught >= 3, "random schedules catch the mutant (%d of 6 seeds)", caught);
}

static void test_reporting(void)
{
	const struct sim_result *r;

	r = st_run("machine cpu=intel-sapphire-rapids cpus=1\nthread t\n"
		   "expect running cpu0 == t\nexpect restores == 5\nexpect owner cpu0 == none\n", NULL);
	tap_ok(r->status == SIM_FAIL, "a wrong count fails");
	tap_eq_u64(r->fail_line, 4, "at its line");
	tap_ok(r->expect_passed == 1 && r->expect_failed == 1 && r->expect_total == 3,
	       "1 passed, 1 failed, 1 not run");
	tap_ok(strstr(r->message, "t.xs:4:") && strstr(r->message, "restores is 0, expected == 5"),
	       "message names file, line, got and expected");
	tap_ok(!strcmp(r->fail_text, "expect restores == 5"), "the statement as written");

	r = st_run("machine cpu=intel-sapphire-rapids cpus=2\nthread a on cpu0\nthread b on cpu1\n"
		   "switch cpu0 to b\n", NULL);
	tap_ok(r->status == SIM_ERROR && strstr(r->message, "t.xs:4:") &&
	       strstr(r->message, "b is running on cpu1"), "an impossible step is an error at its line");

	r = st_run("machine cpu=intel-sapphire-rapids\nthread t\nexpect t ymm1 == 0\n"
		   "t write ymm1 = 1\nexpect t ymm1 == 1\nexpect t ymm1 != 1\n", NULL);
	tap_ok(r->status == SIM_FAIL && r->fail_line == 6 && r->expect_failed == 1 &&
	       r->expect_passed == 2, "register expectations: == and !=");
	tap_ok(strstr(r->message, "t ymm1 = 0x1") != NULL, "the value read is shown");
}

static void test_determinism_and_trace(void)
{
	int s1, s2, s3;
	char *a = st_trace(random_sched, SIM_TR_DETAIL, NULL, false, 0, &s1);
	char *b = st_trace(random_sched, SIM_TR_DETAIL, NULL, false, 0, &s2);
	char *c = st_trace(random_sched, SIM_TR_DETAIL, NULL, true, 2, &s3);

	tap_ok(s1 == SIM_OK && s2 == SIM_OK && s3 == SIM_OK, "three random runs pass");
	tap_ok(a && b && strlen(a) > 10000 && !strcmp(a, b), "same seed: identical traces (%zu bytes)",
	       a ? strlen(a) : 0);
	tap_ok(c && strcmp(a, c) != 0, "--seed 2: another schedule");
	free(a);
	free(b);
	free(c);

	a = st_trace(lazy_after_kthread, SIM_TR_EVENT, NULL, false, 0, &s1);
	tap_ok(a && strstr(a, "XSAVES   save t1") && strstr(a, "XRSTORS  load t1") &&
	       strstr(a, "no restore: registers still hold t1's state"),
	       "the trace shows each save and restore with its instruction");
	tap_ok(a && strstr(a, "   9  return cpu0\n"), "and the scenario lines with their numbers");
	free(a);
	a = st_trace(lazy_after_kthread, SIM_TR_EVENT, "save=xsaveopt", false, 0, &s1);
	tap_ok(s1 == SIM_OK && a && strstr(a, "XSAVEOPT save t1") && strstr(a, "XRSTOR   load t1"),
	       "save=xsaveopt: XSAVEOPT and XRSTOR, same answers");
	free(a);
	a = st_trace(lazy_after_kthread, SIM_TR_DETAIL, NULL, false, 0, &s1);
	tap_ok(a && strstr(a, "state cpu0: kw (kernel)  owner=t1  regs=t1"),
	       "--trace: which CPU holds whose registers");
	free(a);
}

int main(void)
{
	tap_plan_lazy();
	test_answers();
	test_mutant_caught();
	test_reporting();
	test_determinism_and_trace();
	return tap_done();
}
