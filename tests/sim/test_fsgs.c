/* FS/GS in the simulator (verbs_fsgs.c): the seed 002 examples under both
 * policies, the fsgs-ptrace-selector mutant caught by the "fsgs" check,
 * the leak checks fed with damaged state, verb errors. */
#include "h5b_util.h"
#include "xstate/kernel_fsgs.h"
#include "xstate/segment.h"

static const char *const examples[] = {
	"examples/fsgs-q1a-same-cpu.xs",      "examples/fsgs-q1b-other-cpu.xs",
	"examples/fsgs-q2a-ptrace-same-cpu.xs", "examples/fsgs-q2b-ptrace-migrate.xs",
	"examples/fsgs-q3-descriptor-change.xs", "examples/fsgs-q4-signals.xs",
	"examples/fsgs-legacy-nofsgsbase.xs",  "examples/fsgs-luto-ptrace-bad-selector.xs",
	"examples/fsgs-settls-ptrace-prctl.xs",
};

static void test_examples(void)
{
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char *text = slurp(examples[i]);
		const struct sim_result *r;

		if (!text) {
			tap_skip("%s not found (run from the top directory)", examples[i]);
			continue;
		}
		r = st_run(text, NULL);
		tap_ok(r->status == SIM_OK && r->expect_passed == r->expect_total,
		       "%s under fsgs=linux", examples[i]);
		r = st_run(text, "fsgs=lutomirski2016");
		tap_ok(r->status == SIM_OK && r->expect_passed == r->expect_total,
		       "%s under fsgs=lutomirski2016", examples[i]);
		free(text);
	}
}

/* The answers differ: an expectation of one policy fails under the other. */
static void test_answers_differ(void)
{
	static const char *text =
		"machine cpu=intel-icelake-sp cpus=1\nthread t1\nthread t2\n"
		"t1 set_thread_area -1 0x7000\nt1 mov fs = 0x63\nt1 wrfsbase 0x200000000\n"
		"switch cpu0 to t2\nswitch cpu0 to t1\nexpect seg t1 fsbase == 0x200000000\n";
	const struct sim_result *r;

	r = st_run(text, NULL);
	tap_ok(r->status == SIM_OK, "linux: FS base survives under a nonzero selector");
	r = st_run(text, "fsgs=lutomirski2016");
	tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "expect") &&
	       strstr(r->message, "0x7000"),
	       "2016: the same expectation fails, the descriptor's base is back");
	r = st_run(text, "fsgsbase=off");
	tap_ok(r->status == SIM_FAIL && strstr(r->message, "WRFSBASE") == NULL,
	       "no FSGSBASE: WRFSBASE raises #UD (SIGILL), the base stays the descriptor's");
}

/* The pre-5.9 ptrace semantics: the fsgs check (not an expectation) fails
 * when the task next runs. */
static void test_mutant(void)
{
	static const char *text =
		"machine cpu=intel-icelake-sp cpus=1\nthread t1\nthread t2\n"
		"t1 set_thread_area -1 0x7000\nt1 mov fs = 0x63\n"
		"switch cpu0 to t2\npokeuser t1 fs = 0x63\npokeuser t1 fs_base = 0x500000000\n"
		"switch cpu0 to t1\nt1 rdfsbase\n";
	static const char *base_first =
		"machine cpu=intel-icelake-sp cpus=1\nthread t1\nthread t2\n"
		"t1 set_thread_area -1 0x7000\nt1 mov fs = 0x63\n"
		"switch cpu0 to t2\npokeuser t1 fs_base = 0x500000000\npokeuser t1 fs = 0x63\n"
		"switch cpu0 to t1\nt1 rdfsbase\n";
	const struct sim_result *r;

	r = st_run(text, NULL);
	tap_ok(r->status == SIM_OK, "selector then base: fine on Linux v5.9+");
	r = st_run(text, "mutant=fsgs-ptrace-selector");
	tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "fsgs") &&
	       strstr(r->message, "selector 0x0") && strstr(r->message, "selector 0x63"),
	       "mutant fsgs-ptrace-selector: the fsgs check catches the lost selector");
	r = st_run(base_first, "mutant=fsgs-ptrace-selector");
	tap_ok(r->status == SIM_OK, "... base then selector hides it (the selector is rewritten)");
	r = st_run(text, "mutant=fsgs-ptrace-selector,fsgs=lutomirski2016");
	tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "fsgs"),
	       "... and under the 2016 rule too");
}

/* The checks notice damaged state: the kernel's GS base in user mode, a
 * base only another process set (both with no exact rule in force). */
static void test_leak_checks(void)
{
	static const char *text =
		"machine cpu=intel-icelake-sp cpus=2 fsgsbase=off\n"
		"thread a on cpu0\nthread b on cpu1\n"
		"a syscall\nb syscall\n";
	struct partial p;
	struct sim_task *a, *b;
	struct xs_cpu *hw;

	if (partial_run(&p, text, -1))
		return;
	a = sim_task_by_name(p.m, "a");
	b = sim_task_by_name(p.m, "b");
	hw = sim_cpu_hw(p.m, 0);
	tap_eq_u64(sim_check(p.m), SIM_OK, "clean state passes");
	/* A kernel that forgot SWAPGS on the way out. */
	xs_set_cpl(hw, 0);
	xs_swapgs(hw);
	xs_set_cpl(hw, 3);
	tap_ok(sim_check(p.m) == SIM_FAIL && !strcmp(p.m->fail_check, "leak") &&
	       strstr(p.m->fail, "per-CPU GS base"), "kernel GS base in user mode: leak (%s)",
	       p.m->fail);
	xs_set_cpl(hw, 0);
	xs_swapgs(hw);
	xs_set_cpl(hw, 3);
	tap_eq_u64(sim_check(p.m), SIM_OK, "repaired");
	/* b's process sets a base; a runs with it. */
	sim_fsgs_arch_prctl(p.m, b, XK_ARCH_SET_GS, 0x5000);
	xs_set_cpl(hw, 0);
	xs_seg_wrmsr(hw, XS_MSR_GS_BASE, 0x5000);
	xs_set_cpl(hw, 3);
	tap_ok(sim_check(p.m) == SIM_FAIL && !strcmp(p.m->fail_check, "leak") &&
	       strstr(p.m->fail, "only other processes"), "another process's base: leak (%s)",
	       p.m->fail);
	sim_fsgs_arch_prctl(p.m, a, XK_ARCH_SET_GS, 0x5000);
	tap_eq_u64(sim_check(p.m), SIM_OK, "... not once a's own code set it too");
	partial_free(&p);
}

/* Under an exact rule any difference is reported, naming both states. */
static void test_exact_check(void)
{
	static const char *text = "machine cpu=intel-icelake-sp cpus=1\nthread a\na wrgsbase 0x1000\n";
	struct partial p;
	struct xs_cpu *hw;

	if (partial_run(&p, text, -1))
		return;
	hw = sim_cpu_hw(p.m, 0);
	tap_eq_u64(sim_check(p.m), SIM_OK, "clean");
	xs_wrsegbase(hw, XS_SEG_GS, 0x2000);
	tap_ok(sim_check(p.m) == SIM_FAIL && !strcmp(p.m->fail_check, "fsgs") &&
	       strstr(p.m->fail, "base 0x2000") && strstr(p.m->fail, "base 0x1000"),
	       "a changed GS base: fsgs (%s)", p.m->fail);
	partial_free(&p);
}

static void test_errors(void)
{
	static const struct st_bad bad[] = {
		{ "thread t\nt mov es = 0x2b\n", "expected fs or gs" },
		{ "thread t\nt set_thread_area 12 0x100000000\n", "32 bits" },
		{ "thread t\npokeuser t ds = 1\n", "expected fs_base" },
		{ "thread t\nexpect seg t fsbase == 1 if fsgs=bsd\n", "fsgs" },
		{ "thread t\nexpect seg t cs == 1\n", "expected fs, gs" },
		{ "thread t\nptrace-regs t sideways\n", "base-first" },
		{ "thread t\nthread u\nptrace-arch-prctl t SET_FS\n", "SET_FS needs a VALUE" },
		{ "thread t\nthread u\nptrace-arch-prctl t GET_GS 5\n", "GET_GS takes no VALUE" },
		{ "thread t\nthread u\nptrace-arch-prctl t SET_TLS 5\n", "expected SET_FS" },
		{ "thread t\nptrace-arch-prctl t SET_FS 0x1000\n", "stopped" },
		{ "thread t\nclone t as u tls=many\n", "many" },
		{ "thread t\nclone t as u tls=0x800000000000\n", "refused (EPERM)" },
		{ "thread t\nfork t as u process p extra tls=1\n", "too many words" },
	};
	const struct sim_result *r;

	st_expect_errors("machine cpu=intel-icelake-sp", bad, sizeof(bad) / sizeof(bad[0]));
	r = st_run("machine cpu=intel-icelake-sp\nthread t\npokeuser t fs = 0\n", NULL);
	tap_ok(r->status == SIM_ERROR && strstr(r->message, "stopped"),
	       "pokeuser on a running task: error");
	r = st_run("machine cpu=intel-icelake-sp\nthread t\nexpect result t == 0\n", NULL);
	tap_ok(r->status == SIM_ERROR, "expect result without a call: error");
}

int main(void)
{
	tap_plan_lazy();
	test_examples();
	test_answers_differ();
	test_mutant();
	test_leak_checks();
	test_exact_check();
	test_errors();
	return tap_done();
}
