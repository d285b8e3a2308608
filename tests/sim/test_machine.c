/* The machine at the API level: the random source, the shadow check and
 * how it classifies a wrong value (leak vs corruption), the shadow API that
 * later issues use, and the signal-delivery seam. Kernel bugs are simulated
 * by executing instructions on a CPU behind the kernel's back. */
#include "simtest.h"

static void test_prng(void)
{
	struct sim_prng a, b, c;
	bool same = true, differ = false, bounded = true;
	unsigned hist[7] = { 0 };

	sim_prng_seed(&a, 42);
	sim_prng_seed(&b, 42);
	sim_prng_seed(&c, 43);
	for (int i = 0; i < 1000; i++) {
		uint64_t x = sim_prng_next(&a), y = sim_prng_next(&b), z = sim_prng_next(&c);
		same &= x == y;
		differ |= x != z;
	}
	tap_ok(same, "same seed, same sequence");
	tap_ok(differ, "another seed, another sequence");
	for (int i = 0; i < 70000; i++) {
		uint64_t v = sim_prng_below(&a, 7);
		bounded &= v < 7;
		if (v < 7)
			hist[v]++;
	}
	tap_ok(bounded, "below(7) stays below 7");
	bool flat = true;
	for (int i = 0; i < 7; i++)
		flat &= hist[i] > 9000 && hist[i] < 11000;
	tap_ok(flat, "below(7) is roughly uniform");
	tap_eq_u64(sim_prng_below(&a, 0), 0, "below(0) is 0");
}

/* Two user tasks on one CPU: a wrote ymm1 = 0x11.., b (running, in user
 * mode) wrote ymm1 = 0x22.. */
static struct sim_machine *two_tasks(struct sim_task **a, struct sim_task **b)
{
	struct sim_machine *m = st_machine("intel-sapphire-rapids", 1, NULL);
	uint8_t v[32];

	if (!m)
		return NULL;
	if (sim_spawn(m, "a", NULL, 0, a) || sim_spawn(m, "b", NULL, 0, b))
		goto bad;
	memset(v, 0x11, sizeof(v));
	if (sim_user_write(m, *a, "ymm1", v) || sim_switch(m, 0, *b))
		goto bad;
	memset(v, 0x22, sizeof(v));
	if (sim_user_write(m, *b, "ymm1", v) || sim_check(m))
		goto bad;
	return m;
bad:
	tap_diag("setup: %s%s", m->err, m->fail);
	sim_machine_free(m);
	return NULL;
}

static void test_leak_from_wrong_restore(void)
{
	struct sim_task *a, *b;
	struct sim_machine *m = two_tasks(&a, &b);
	struct xs_cpu *hw;
	int rc;

	if (!tap_ok(m != NULL, "two tasks set up"))
		return;
	hw = sim_cpu_hw(m, 0);
	/* Kernel bug: on the way back to b, restore a's buffer. */
	sim_enter_kernel(m, 0);
	tap_ok(xs_xrstors(hw, a->k->fpu.fpstate->regs, a->k->fpu.fpstate->size,
			  m->k.restore_mask) == XS_OK, "XRSTORS of a's buffer on b's CPU");
	rc = sim_check(m);
	tap_ok(rc == SIM_FAIL && m->fail_check && !strcmp(m->fail_check, "leak"),
	       "the check reports a leak");
	tap_ok(strstr(m->fail, "b on cpu0 sees a's value in sse") != NULL,
	       "naming the observer, the writer and the component");
	tap_diag("  %s", m->fail);
	sim_machine_free(m);
}

static void test_corruption_kinds(void)
{
	struct sim_task *a, *b;
	struct sim_machine *m = two_tasks(&a, &b);
	struct xs_reg r;
	uint8_t v[32];
	static uint8_t old[4096] __attribute__((aligned(64)));
	struct xs_cpu *hw;
	int rc;

	if (!m)
		return;
	hw = sim_cpu_hw(m, 0);
	xs_reg_lookup(m->model, "ymm1", &r);

	/* Bytes nobody wrote. */
	memset(v, 0x5C, sizeof(v));
	xs_reg_write(hw, &r, v);
	rc = sim_check(m);
	tap_ok(rc == SIM_FAIL && !strcmp(m->fail_check, "shadow") &&
	       strstr(m->fail, "bytes no task wrote in sse") && strstr(m->fail, "byte 176: got 5c"),
	       "a value no task wrote is a corruption (shadow), with the first differing byte");
	tap_diag("  %s", m->fail);

	/* The initial configuration: VZEROUPPER behind b's back. */
	memset(v, 0x22, sizeof(v));
	xs_reg_write(hw, &r, v);
	tap_ok(sim_check(m) == SIM_OK, "put back, the check holds again");
	xs_vzeroupper(hw);
	rc = sim_check(m);
	tap_ok(rc == SIM_FAIL && strstr(m->fail, "initial configuration of avx"),
	       "an init component where the task has values");

	/* A stale value of b's own. */
	xs_reg_write(hw, &r, v);
	sim_enter_kernel(m, 0);
	memset(old, 0, sizeof(old));
	tap_ok(xs_xsave(hw, old, sizeof(old), XS_MASK_FPSSE) == XS_OK,
	       "XSAVE of b's SSE state");
	sim_return_to_user(m, 0);
	memset(v, 0x33, sizeof(v));
	tap_ok(sim_user_write(m, b, "ymm1", v) == SIM_OK, "b writes a new value");
	sim_enter_kernel(m, 0);
	xs_xrstor(hw, old, sizeof(old), XS_MASK_FPSSE);
	rc = sim_check(m);
	tap_ok(rc == SIM_FAIL && strstr(m->fail, "stale value of its own in sse"),
	       "an old value of the task itself is stale, not a leak");

	/* A value the kernel's FPU code wrote. */
	xs_set_cpl(hw, 0);
	memset(v, 0x77, sizeof(v));
	xs_reg_write(hw, &r, v);
	sim_values_note(m, hw, XS_C_SSE, SIM_WRITER_KERNEL);
	rc = sim_check(m);
	tap_ok(rc == SIM_FAIL && !strcmp(m->fail_check, "leak") &&
	       strstr(m->fail, "sees kernel's FPU code's value"),
	       "kernel FPU values seen by a task are a leak");
	sim_machine_free(m);
}

static int got_signo, got_calls;

static int my_deliver(struct sim_machine *m, struct sim_task *t, int signo, int si_code)
{
	got_signo = signo;
	got_calls++;
	return sim_return_to_user(m, (unsigned)t->k->on_cpu);
}

static void test_signal_seam(void)
{
	struct sim_machine *m = st_machine("intel-sapphire-rapids", 1, NULL);
	struct sim_task *t;
	uint8_t cfg[64], tile[1024];

	if (!m || sim_spawn(m, "t", NULL, 0, &t))
		return;
	m->deliver_signal = my_deliver;
	memset(cfg, 0, sizeof(cfg));
	cfg[0] = 1;    /* palette 1 */
	cfg[16] = 64;  /* tmm0: 64 bytes per row */
	cfg[48] = 16;  /* 16 rows */
	memset(tile, 1, sizeof(tile));
	tap_ok(sim_user_write(m, t, "tilecfg", cfg) == SIM_OK && t->last_signal == 0,
	       "LDTILECFG works without permission");
	tap_ok(sim_user_write(m, t, "tmm0", tile) == SIM_OK, "tile write handled");
	tap_ok(got_calls == 1 && got_signo == XK_SIGILL && t->last_fault == XS_NM,
	       "XFD #NM without permission reaches the delivery hook as SIGILL");
	tap_ok(sim_check(m) == SIM_OK, "the shadow did not take the failed write");
	sim_machine_free(m);
}

static void test_shadow_api(void)
{
	struct sim_machine *m = st_machine("intel-sapphire-rapids", 1, NULL);
	struct sim_task *t;
	struct xs_reg r, rx;
	uint8_t v[32], got[32];
	uint8_t *img;
	size_t len;
	struct xs_cpu *before;
	uint32_t mx;

	if (!m || sim_spawn(m, "t", NULL, 0, &t))
		return;
	len = (xs_size_standard(m->model, m->k.xcr0) + 63) & ~(size_t)63;
	img = aligned_alloc(64, len);
	xs_reg_lookup(m->model, "ymm2", &r);
	xs_reg_lookup(m->model, "xmm2", &rx);
	memset(v, 0x42, sizeof(v));
	tap_ok(sim_user_write(m, t, "ymm2", v) == SIM_OK, "t writes ymm2");
	tap_ok(sim_shadow_save_image(m, t, img, len, m->k.xcr0) == XS_OK,
	       "save the shadow as a standard-format image");
	memset(v, 0x43, sizeof(v));
	tap_ok(sim_shadow_write_reg(m, t, &r, v) == SIM_OK, "write the shadow (ptrace-style)");
	xs_reg_peek(t->shadow, &r, got);
	tap_ok(got[31] == 0x43, "the shadow holds the new value");
	tap_ok(sim_check(m) == SIM_FAIL, "now the CPU differs from the shadow");
	tap_ok(sim_shadow_load_image(m, t, img, len, m->k.xcr0) == XS_OK,
	       "load the image back (sigreturn-style)");
	xs_reg_peek(t->shadow, &r, got);
	tap_ok(got[0] == 0x42 && got[31] == 0x42, "the shadow holds the saved value again");
	tap_ok(sim_check(m) == SIM_OK, "and matches the CPU");

	/* A rejected image leaves the shadow as it was. */
	before = xs_cpu_new(m->model);
	xs_cpu_copy(before, t->shadow);
	img[512] |= 0x80; /* XSTATE_BV bit 7 ... */
	img[519] = 0x40;  /* ... and bit 62, never in XCR0 */
	tap_ok(sim_shadow_load_image(m, t, img, len, m->k.xcr0) == XS_GP,
	       "an image with XSTATE_BV outside XCR0 faults #GP");
	tap_ok(xs_cpu_equal(before, t->shadow), "and leaves the shadow unchanged");
	xs_cpu_free(before);

	/* init of AVX only: the XMM half and MXCSR stay. */
	sim_shadow_set_pkru(m, t, 0x55555554);
	xs_ldmxcsr(t->shadow, 0x1FA0);
	sim_shadow_init(m, t, XS_BIT(XS_C_AVX));
	xs_reg_peek(t->shadow, &r, got);
	mx = xs_mxcsr(t->shadow);
	tap_ok(got[0] == 0x42 && got[16] == 0 && got[31] == 0, "init AVX: upper half zero, XMM kept");
	tap_eq_u64(mx, 0x1FA0, "init AVX keeps MXCSR");
	sim_shadow_init(m, t, XS_BIT(XS_C_SSE));
	tap_eq_u64(xs_mxcsr(t->shadow), XS_MXCSR_DEFAULT, "init SSE resets MXCSR");
	free(img);
	sim_machine_free(m);
}

static void test_user_errors(void)
{
	struct sim_machine *m = st_machine("intel-icelake-sp", 2, NULL);
	struct sim_task *a, *b, *k;
	uint8_t v[16] = { 1 };

	if (!m)
		return;
	sim_spawn(m, "a", NULL, 0, &a);
	sim_spawn(m, "b", NULL, 0, &b);
	sim_kthread(m, "k", 1, &k);
	tap_ok(sim_user_write(m, b, "xmm0", v) == SIM_ERROR && strstr(m->err, "not running"),
	       "a task that does not run cannot execute");
	tap_ok(sim_switch(m, 1, a) == SIM_ERROR && strstr(m->err, "running on cpu0"),
	       "a task cannot run on two CPUs");
	tap_ok(sim_return_to_user(m, 1) == SIM_ERROR && strstr(m->err, "kernel thread"),
	       "a kernel thread never returns to user mode");
	tap_ok(sim_migrate(m, a, 1) == SIM_OK && sim_cpu_current(m, 1) == a &&
	       sim_cpu_current(m, 0) == NULL, "migrate: a leaves cpu0 and runs on cpu1");
	tap_ok(sim_kfpu_begin(m, 1, XK_KFPU_DEFAULT, true) == SIM_OK, "kernel FPU section");
	tap_ok(sim_switch(m, 1, b) == SIM_ERROR && strstr(m->err, "kernel FPU section"),
	       "no switch inside it");
	tap_ok(sim_kfpu_end(m, 1) == SIM_OK && sim_kfpu_end(m, 1) == SIM_ERROR,
	       "end once, not twice");
	tap_ok(sim_exit(m, a) == SIM_OK && a->state == SIM_T_EXITED, "exit");
	tap_ok(sim_switch(m, 0, a) == SIM_ERROR && strstr(m->err, "exited"),
	       "an exited task cannot run again");
	tap_ok(sim_check(m) == SIM_OK, "checks still hold");
	sim_machine_free(m);
}

int main(void)
{
	tap_plan_lazy();
	test_prng();
	test_leak_from_wrong_restore();
	test_corruption_kinds();
	test_signal_seam();
	test_shadow_api();
	test_user_errors();
	return tap_done();
}
