/* KVM guests in the simulator (verbs_kvm.c): the examples, the two KVM
 * mutants caught by the "leak" and "guest" checks, a host value planted
 * in a running guest reported as a leak, verb errors. */
#include "h5b_util.h"
#include "xstate/kernel_kvm.h"

static const char *const examples[] = {
	"examples/kvm-guest-isolation.xs",
	"examples/kvm-xsave2.xs",
	"examples/kvm-guest-amx.xs",
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
		tap_ok(r->status == SIM_OK && r->expect_passed == r->expect_total && r->expect_total,
		       "%s", examples[i]);
		free(text);
	}
}

static const char *isolation =
	"machine cpu=intel-sapphire-rapids cpus=2\nthread vmm\nthread other on cpu1\n"
	"vmm write ymm1 = fill:0x11\nvcpu g0 in vmm\nkvm g0 run\nguest g0 xsetbv x87|sse|avx\n"
	"guest g0 write ymm1 = fill:0x22\nkvm g0 exit\nirq cpu0 kfpu\nkvm g0 enter\n"
	"expect guest g0 ymm1 == fill:0x22\nkvm g0 stop\nexpect vmm ymm1 == fill:0x11\n";

static void test_mutants(void)
{
	const struct sim_result *r;

	r = st_run(isolation, NULL);
	tap_ok(r->status == SIM_OK, "isolation with a kernel FPU section inside KVM_RUN");
	r = st_run(isolation, "mutant=guest-state-leak");
	tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "leak") &&
	       strstr(r->message, "guest g0"),
	       "mutant guest-state-leak: the host task sees the guest's value (leak)");
	r = st_run(isolation, "mutant=kvm-xcr0-order");
	tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "guest") &&
	       strstr(r->message, "host context"),
	       "mutant kvm-xcr0-order: the guest XCR0 in host context (guest check)");
}

/* A kernel bug that would load host values into a running guest. */
static void test_host_to_guest(void)
{
	static const char *text =
		"machine cpu=intel-sapphire-rapids cpus=1\nthread vmm\n"
		"vmm write ymm1 = fill:0x11\nvcpu g0 in vmm\nkvm g0 run\n"
		"guest g0 xsetbv x87|sse|avx\n";
	struct partial p;
	struct xs_cpu *hw;
	struct xs_reg r;
	uint8_t v[32];

	if (partial_run(&p, text, -1))
		return;
	hw = sim_cpu_hw(p.m, 0);
	tap_eq_u64(sim_check(p.m), SIM_OK, "the guest runs with its own (init) registers");
	xs_reg_lookup(p.m->model, "ymm1", &r);
	memset(v, 0x11, sizeof(v));
	xs_reg_write(hw, &r, v); /* the host task's value, as a missed restore would leave */
	tap_ok(sim_check(p.m) == SIM_FAIL && !strcmp(p.m->fail_check, "leak") &&
	       strstr(p.m->fail, "guest g0") && strstr(p.m->fail, "vmm"),
	       "a host value in the guest: leak (%s)", p.m->fail);
	partial_free(&p);
}

static void test_errors(void)
{
	static const struct st_bad bad[] = {
		{ "thread t\nkvm g0 run\n", "no vCPU named g0" },
		{ "thread t\nvcpu g0 in t\nguest g0 write ymm1 = 1\n", "not running" },
		{ "thread t\nvcpu g0 in t\nkvm g0 fly\n", "unknown kvm operation" },
		{ "thread t\nvcpu g0 in t\nguest g0 jump high\n", "unknown guest operation" },
		{ "thread t\nvcpu g0 in t\nvcpu g0 in t\n", "exists" },
		{ "thread t\nvcpu g0 in t\nkvm g0 set-xsave\n", "get-xsave first" },
		{ "thread t\nvcpu g0 in t\nexpect kvm g0 color == 1\n", "unknown kvm field" },
	};
	const struct sim_result *r;

	st_expect_errors("machine cpu=intel-sapphire-rapids", bad, sizeof(bad) / sizeof(bad[0]));
	r = st_run("machine cpu=intel-sapphire-rapids\nthread t\nvcpu g0 in t\nkvm g0 run\n"
		   "t write ymm0 = 1\n", NULL);
	tap_ok(r->status == SIM_ERROR && strstr(r->message, "return to user refused"),
	       "the vCPU thread cannot run user code inside KVM_RUN");
	r = st_run("machine cpu=intel-sapphire-rapids\nthread t\nthread u\nvcpu g0 in t\n"
		   "kvm g0 run\nswitch cpu0 to u\nexpect kvm g0 in-guest == 0\n"
		   "switch cpu0 to t\nkvm g0 enter\nexpect kvm g0 in-guest == 1\nkvm g0 stop\n", NULL);
	tap_ok(r->status == SIM_OK, "a switch away from a running guest VM-exits first");
	r = st_run("machine cpu=intel-sapphire-rapids\nthread t\nvcpu g0 in t\nkvm g0 run\n"
		   "exit t\n", NULL);
	tap_ok(r->status == SIM_OK, "the vCPU thread may die inside KVM_RUN (buffers freed)");
}

int main(void)
{
	tap_plan_lazy();
	test_examples();
	test_mutants();
	test_host_to_guest();
	test_errors();
	return tap_done();
}
