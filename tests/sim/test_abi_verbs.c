/* The user-ABI scenario verbs (verbs_abi.c): they parse what they should
 * and refuse the rest precisely, their expectations fail when they should,
 * the frame check catches a kernel that writes the wrong registers into a
 * signal frame, and the shadow follows sigreturn and ptrace writes. */
#include "simtest.h"

#define SPR "machine cpu=intel-sapphire-rapids cpus=2\nthread t1 on cpu0\n"
#define ICX "machine cpu=intel-icelake-sp cpus=2\nthread t1 on cpu0\n"

static bool has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

static void parse_errors(void)
{
	static const struct {
		const char *line, *msg;
	} cases[] = {
		{ "t1 signal SIGFOO", "expected a signal" },
		{ "t1 signal SIGUSR1 nowhere", "unexpected 'nowhere'" },
		{ "t1 frame set nosuch = 1", "unknown field 'nosuch'" },
		{ "t1 frame set u_cet = 1", "supervisor state" },
		{ "t1 frame flip magic1 32", "the field has 32 bits" },
		{ "t1 frame set hdr.64 = 1", "the header has bytes 0-63" },
		{ "t1 frame set xstate_size = 0x100000000", "does not fit in 4 bytes" },
		{ "t1 sigaltstack 9999999", "at most" },
		{ "t1 arch_prctl GET_SOMETHING", "unknown arch_prctl option" },
		{ "ptrace t1 get avx", "regset 'avx'" },
		{ "ptrace t1 poke uc.flags = 1", "not in regsets" },
		{ "alloc-fail sometimes", "usage" },
		{ "expect errno t1 == EWHAT", "expected 0 or an errno name" },
		{ "expect errno t1 < 0", "only == and !=" },
		{ "expect frame t1 ymm0 & 3 == 0", "& MASK on number fields" },
		{ "expect buffer t1 == huge", "default, grown or prealloc" },
	};
	char text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sim_result *r;

		snprintf(text, sizeof(text), SPR "%s\n", cases[i].line);
		r = st_run(text, NULL);
		tap_ok(r->status == SIM_ERROR && has(r->message, cases[i].msg),
		       "parse error for '%s': %s", cases[i].line, r->message);
	}
}

static void run_errors(void)
{
	const struct sim_result *r;

	r = st_run(SPR "t1 sigreturn\n", NULL);
	tap_ok(r->status == SIM_ERROR && has(r->message, "not in a signal handler"),
	       "sigreturn outside a handler: %s", r->message);
	r = st_run(SPR "t1 frame flip magic1 0\n", NULL);
	tap_ok(r->status == SIM_ERROR && has(r->message, "no frame"), "frame edit outside a handler");
	r = st_run(SPR "ptrace t1 poke xmm0 = 1\n", NULL);
	tap_ok(r->status == SIM_ERROR && has(r->message, "get ... first"),
	       "poke before get: %s", r->message);
	r = st_run(SPR "expect errno t1 == 0\n", NULL);
	tap_ok(r->status == SIM_ERROR && has(r->message, "no ABI call"), "errno before any call");
	r = st_run(SPR "expect harvested == 0\n", NULL);
	tap_ok(r->status == SIM_ERROR && has(r->message, "memory-pressure"),
	       "harvested before memory-pressure");
}

/* Expectations that must fail, with the observed value in the message. */
static void failing_expectations(void)
{
	const struct sim_result *r;

	r = st_run(SPR "t1 arch_prctl REQ_XCOMP_PERM 17\nexpect errno t1 == 0\n", NULL);
	tap_ok(r->status == SIM_FAIL && has(r->message, "EOPNOTSUPP"),
	       "expect errno fails with the errno: %s", r->message);
	r = st_run(SPR "t1 write xmm1 = fill:0x11\nt1 signal SIGUSR1\n"
		       "expect frame t1 xmm1 == fill:0x12\n", NULL);
	tap_ok(r->status == SIM_FAIL && has(r->message, "fill:0x11"),
	       "expect frame fails with the frame's value: %s", r->message);
	r = st_run(SPR "t1 signal SIGUSR1\nexpect frame t1 xstate_size == 11008\n", NULL);
	tap_ok(r->status == SIM_FAIL && has(r->message, "xstate_size"),
	       "a frame without AMX is not 11008 bytes");
	r = st_run(SPR "expect minsigstksz == 11936\n", NULL);
	tap_ok(r->status == SIM_FAIL && has(r->message, "11952"), "AT_MINSIGSTKSZ mismatch reported");
	r = st_run(SPR "expect perm t1 & xtiledata == xtiledata\n", NULL);
	tap_ok(r->status == SIM_FAIL, "no permission at start");
}

/* The frame check: a kernel bug that leaves stale registers for the
 * signal frame's XSAVE is caught at the delivery, as "frame". */
static void frame_check_catches_bug(void)
{
	static const char text[] =
		"machine cpu=intel-icelake-sp cpus=2\n"
		"thread t1 on cpu0\n"
		"t1 write zmm2 = fill:0x01\n"
		"migrate t1 to cpu1\n"
		"t1 write zmm2 = fill:0x02\n"
		"migrate t1 to cpu0\n"
		"t1 signal SIGUSR1\n"
		"expect frame t1 zmm2 == fill:0x02\n"
		"t1 sigreturn\n"
		"expect t1 zmm2 == fill:0x02\n";
	const struct sim_result *r = st_run(text, NULL);

	tap_ok(r->status == SIM_OK, "correct kernel: the frame has the task's live registers");
	r = st_run(text, "mutant=shortcut-ignores-last-cpu");
	tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "frame") &&
		       r->fail_line == 7,
	       "shortcut-ignores-last-cpu: the stale frame is caught at the delivery (%s, line %u: %s)",
	       r->fail_check ? r->fail_check : "-", r->fail_line, r->message);
}

/* The shadow follows sigreturn (frame edits) and ptrace writes; a wrong
 * expectation about the shadow fails. */
static void shadow_follows(void)
{
	const struct sim_result *r;

	r = st_run(ICX "t1 write ymm4 = fill:0x44\n"
		       "t1 signal SIGUSR1\n"
		       "t1 frame set ymm4 = fill:0x4f\n"
		       "t1 sigreturn\n"
		       "expect shadow t1 ymm4 == fill:0x4f\n"
		       "expect t1 ymm4 == fill:0x4f\n", NULL);
	tap_ok(r->status == SIM_OK, "a frame edit reaches the registers and the shadow");
	r = st_run(ICX "t1 write ymm4 = fill:0x44\n"
		       "ptrace t1 get xstate\n"
		       "ptrace t1 poke ymm4 = fill:0x4e\n"
		       "ptrace t1 set xstate\n"
		       "expect shadow t1 ymm4 == fill:0x4e\n"
		       "switch cpu1 to t1\n"
		       "expect t1 ymm4 == fill:0x4e\n", NULL);
	tap_ok(r->status == SIM_OK, "a ptrace write reaches the registers and the shadow");
	r = st_run(ICX "t1 write ymm4 = fill:0x44\n"
		       "ptrace t1 get xstate\n"
		       "ptrace t1 flip xstate_bv 2\n"
		       "ptrace t1 set xstate\n"
		       "switch cpu0 to t1\n"
		       "expect t1 ymm4 == 0x44444444444444444444444444444444\n", NULL);
	tap_ok(r->status == SIM_OK, "a ptrace write without AVX: the upper halves go to init");
	/* SIGSEGV after a bad sigreturn goes to an installed handler. */
	r = st_run(ICX "t1 sigaction SIGSEGV\n"
		       "t1 signal SIGUSR1\n"
		       "t1 frame flip hdr.16 0\n"
		       "t1 sigreturn\n"
		       "expect signal t1 == SIGSEGV\n"
		       "expect in-handler t1 == 1\n"
		       "expect frame t1 uc.signo == 11\n"
		       "expect frame t1 uc.code == 0x80\n"
		       "t1 sigreturn\n"
		       "expect in-handler t1 == 0\n", NULL);
	tap_ok(r->status == SIM_OK, "the SIGSEGV of a bad frame is delivered to its handler");
}

static void deterministic(void)
{
	static const char text[] = SPR
		"t1 arch_prctl REQ_XCOMP_PERM 18\n"
		"t1 write tilecfg = bytes:0100000000000000000000000000000040000000000000000000000000000000"
		"0000000000000000000000000000000010000000000000000000000000000000\n"
		"t1 write tmm0 = fill:0x01\n"
		"t1 signal SIGUSR1\n"
		"t1 sigreturn\n"
		"ptrace t1 get xstate\n";
	int s1, s2;
	char *a = st_trace(text, SIM_TR_DETAIL, NULL, false, 0, &s1);
	char *b = st_trace(text, SIM_TR_DETAIL, NULL, false, 0, &s2);

	tap_ok(s1 == SIM_OK && s2 == SIM_OK && a && b && !strcmp(a, b),
	       "the same scenario gives the same trace, byte for byte");
	tap_ok(has(a, "#NM") && has(a, "perm ") && has(a, "allocated buffer") && has(a, "realloc") &&
		       has(a, "fixed up, retry"),
	       "the AMX first use shows #NM, the permission check, the allocation, the retry");
	tap_ok(has(a, "registers -> signal frame") && has(a, "signal frame -> registers"),
	       "the frame's XSAVE and the sigreturn's XRSTOR are in the trace");
	free(a);
	free(b);
}

/* Reviewer additions (R4): hostile statements run to a precise error or
 * to Linux's answer, never to a crash (this test also runs under ASan and
 * UBSan in `make test`). */
static void hostile_inputs(void)
{
	static const struct {
		const char *text;
		int status;
		const char *msg; /* in the message (errors), or NULL */
	} cases[] = {
		/* Signal 64: the last bit of the handler mask. */
		{ "t1 sigaction 64\nt1 signal 64\nexpect in-handler t1 == 1\nt1 sigreturn\n"
		  "expect in-handler t1 == 0\n", SIM_OK, NULL },
		/* Edits at any offset: inside user memory they land, outside
		 * they are refused with the field, its size and the room. */
		{ "t1 signal SIGUSR1\nt1 frame set byte.65536 = 1\n", SIM_ERROR,
		  "byte.65536 (1 bytes) lies outside the user memory from the XSAVE area on" },
		{ "t1 signal SIGUSR1\nt1 frame flip uc.u64.65536 63\n", SIM_ERROR,
		  "uc.u64.65536 (8 bytes) lies outside the user memory from the rt_sigframe on" },
		{ "t1 signal SIGUSR1\nt1 frame set u64.3000 = 0xffffffffffffffff\nt1 sigreturn\n"
		  "expect errno t1 == 0\n", SIM_OK, NULL },
		{ "ptrace t1 get fpregs\nptrace t1 poke ymm3 = fill:0x01\n", SIM_ERROR,
		  "ymm3 (32 bytes) lies outside the regset buffer, which has 576 bytes" },
		{ "ptrace t1 get xstate len=8\nptrace t1 flip u64.72 0\n", SIM_ERROR,
		  "lies outside the regset buffer, which has 72 bytes" },
		/* Frame pointers anywhere: SIGSEGV, or Linux's fallback. */
		{ "t1 signal SIGUSR1\nt1 frame set uc.fpstate = 0xffffffffffffffc0\nt1 sigreturn\n"
		  "expect errno t1 == EFAULT\nexpect signal t1 == SIGSEGV\n", SIM_OK, NULL },
		{ "t1 signal SIGUSR1\nt1 frame set uc.fpstate = 0x7ffffffffff0\nt1 sigreturn\n"
		  "expect signal t1 == SIGSEGV\n", SIM_OK, NULL },
		/* 512 bytes below the end of the stack mapping, no magic1: the
		 * legacy-only restore reads exactly those 512 bytes. */
		{ "t1 signal SIGUSR1\nt1 frame set uc.fpstate = 0x7fffffeffe00\nt1 sigreturn\n"
		  "expect errno t1 == 0\nexpect t1 xmm0 == zero\n", SIM_OK, NULL },
		{ "t1 signal SIGUSR1\nt1 frame set xstate_size = 0xffffffff\n"
		  "t1 frame set extended_size = 0xffffffff\nt1 sigreturn\nexpect errno t1 == 0\n",
		  SIM_OK, NULL },
		/* A handler that moves its stack pointer off the map. */
		{ "t1 signal SIGUSR1\nt1 frame set uc.rsp = 8\nt1 sigreturn\nt1 signal SIGUSR1\n"
		  "expect errno t1 == EFAULT\nexpect signal t1 == SIGSEGV\n"
		  "expect in-handler t1 == 0\n", SIM_OK, NULL },
		{ "t1 signal SIGUSR1\nt1 frame set uc.ss_sp = 0xfffffffffffff000\n"
		  "t1 frame set uc.ss_size = 0xffffffffffffffff\nt1 frame set uc.ss_flags = 0\n"
		  "t1 sigreturn\nt1 signal SIGUSR1 onstack\nexpect signal t1 == SIGSEGV\n", SIM_OK,
		  NULL },
		/* ptrace buffers of any size. */
		{ "ptrace t1 get xstate len=0\nexpect errno t1 == 0\nptrace t1 set xstate len=0\n"
		  "expect errno t1 == EFAULT\nptrace t1 set xstate len=4\nexpect errno t1 == EINVAL\n"
		  "ptrace t1 set fpregs len=8\nexpect errno t1 == EINVAL\n"
		  "ptrace t1 get fpregs len=1048576\nptrace t1 set fpregs len=1048576\n"
		  "expect errno t1 == 0\n", SIM_OK, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024];
		const struct sim_result *r;

		snprintf(text, sizeof(text), SPR "%s", cases[i].text);
		r = st_run(text, NULL);
		tap_ok(r->status == cases[i].status && (!cases[i].msg || has(r->message, cases[i].msg)),
		       "hostile %zu: %s", i, r->message[0] ? r->message : "ok");
	}
}

int main(void)
{
	tap_plan_lazy();
	parse_errors();
	run_errors();
	failing_expectations();
	frame_check_catches_bug();
	shadow_follows();
	deterministic();
	hostile_inputs();
	return tap_done();
}
