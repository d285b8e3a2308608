/* The checker: every seeded bug is found, attributed and minimized; the
 * unmutated manager passes a short exploration; counterexamples replay
 * through the scenario runner; runs are deterministic; the exhaustive mode
 * counts states; each invariant fires on the state it forbids.
 *
 * Budgets are in steps (deterministic); under the sanitizers (5x slower)
 * the clean run is shorter. */
#include "simtest.h"
#include "xstate/explore.h"
#include "xstate/kernel_special.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static int config(struct xe_config *c, const char *model, const char *policy)
{
	char err[512];

	if (xe_config_init(c, model, err, sizeof(err)) ||
	    (policy && xe_config_policy(c, policy, err, sizeof(err))) ||
	    xe_config_ready(c, err, sizeof(err))) {
		tap_diag("config %s %s: %s", model ? model : "default", policy ? policy : "", err);
		return -1;
	}
	return 0;
}

static void run_opts(struct xe_run_opts *o, uint64_t seed, uint64_t steps, unsigned jobs)
{
	memset(o, 0, sizeof(*o));
	o->seed = seed;
	o->steps = steps;
	o->jobs = jobs;
	o->nshards = 1;
	o->minimize = true;
}

/* ---- invariant names ---- */

static void test_names(void)
{
	uint64_t m;
	char err[512], buf[256];

	tap_ok(sim_inv_parse("all", &m, err, sizeof(err)) == 0 && m == SIM_INV_ALL, "'all' parses");
	tap_ok(sim_inv_parse("all,-lazyfp", &m, err, sizeof(err)) == 0 &&
	       m == (SIM_INV_ALL & ~SIM_INV_BIT(SIM_INV_LAZYFP)), "'all,-lazyfp' removes one");
	tap_ok(sim_inv_parse("ownership|memory", &m, err, sizeof(err)) == 0 &&
	       m == (SIM_INV_BIT(SIM_INV_OWNERSHIP) | SIM_INV_BIT(SIM_INV_MEMORY)), "names join");
	tap_ok(sim_inv_parse("ownerhsip", &m, err, sizeof(err)) == -1 &&
	       strstr(err, "unknown invariant 'ownerhsip'"), "a typo is refused: %s", err);
	tap_ok(!strcmp(sim_inv_format(SIM_INV_ALL, buf, sizeof(buf)), "all"), "format all");
	for (unsigned i = 0; i < SIM_INV_COUNT; i++)
		if (sim_inv_lookup(sim_inv_name((enum sim_inv)i)) != (int)i)
			tap_ok(0, "invariant %u name round trip", i);
	tap_ok(xe_mutant_count() == XK_MUT_COUNT, "the catalogue has every kernel mutant (%u)",
	       xe_mutant_count());
}

/* ---- each invariant fires on the state it forbids ---- */

static struct sim_machine *machine_with_task(struct sim_task **t)
{
	struct sim_machine *m = st_machine("intel-sapphire-rapids", 2, NULL);
	uint8_t v[64];

	if (!m)
		return NULL;
	memset(v, 0x5A, sizeof(v));
	if (sim_spawn(m, "a", NULL, 0, t) || sim_user_write(m, *t, "zmm1", v) ||
	    sim_inv_enable(m, SIM_INV_ALL) || sim_inv_check(m, ~0ULL)) {
		tap_diag("setup: %s%s", m->err, m->fail);
		sim_machine_free(m);
		return NULL;
	}
	return m;
}

static void expect_fail(struct sim_machine *m, const char *name, const char *what)
{
	uint64_t mask = m->inv_mask;
	int rc;

	/* Only the invariant under test, so another one cannot fire first. */
	m->inv_mask = SIM_INV_BIT(sim_inv_lookup(name));
	rc = sim_inv_check(m, ~0ULL);
	m->inv_mask = mask;

	tap_ok(rc == SIM_FAIL && m->fail_check && !strcmp(m->fail_check, name), "%s: '%s' fires (%s)",
	       what, name, rc == SIM_FAIL ? m->fail : "no failure");
}

static void test_fire(void)
{
	struct sim_task *t;
	struct sim_machine *m;

	if ((m = machine_with_task(&t))) {
		m->k.cpu[0].xfd_state ^= XS_BIT(XS_C_XTILEDATA);
		expect_fail(m, "xfd", "per-CPU XFD cache differs from the MSR");
		m->k.cpu[0].xfd_state ^= XS_BIT(XS_C_XTILEDATA);
		tap_ok(sim_inv_check(m, ~0ULL) == SIM_OK, "and passes again once repaired");
		m->k.mem.bytes += 64;
		expect_fail(m, "memory", "accounting off by 64 bytes");
		m->k.mem.bytes -= 64;
		m->k.stats.warnings++;
		expect_fail(m, "kernel", "a kernel WARN");
		t->k->fpu.default_fpstate->xfd = 0;
		expect_fail(m, "buffer", "default buffer not armed for AMX");
		t->k->fpu.default_fpstate->xfd = m->k.init_xfd;
		/* In user mode with TIF_NEED_FPU_LOAD set. */
		t->k->need_load = m->k.restore_mask;
		expect_fail(m, "ownership", "user mode with the load flag set");
		t->k->need_load = 0;
		/* The owner claims valid registers that are not the task's:
		 * saved (flag set), then overwritten without invalidating. */
		{
			struct xs_reg r;
			uint8_t v[16];

			memset(v, 0x77, sizeof(v));
			sim_enter_kernel(m, 0);
			t->k->need_load = m->k.restore_mask;
			xs_reg_lookup(m->model, "xmm1", &r);
			xs_reg_write(m->k.cpu[0].hw, &r, v);
			expect_fail(m, "ownership", "owner and last_cpu claim registers the kernel "
				    "overwrote");
		}
		sim_machine_free(m);
	}
	/* A lazy restore leaves the previous task's values behind CR0.TS. */
	{
		const struct sim_result *r = st_run(
			"machine cpu=intel-sapphire-rapids cpus=1 restore=lazy\n"
			"invariants all\n"
			"thread a\nthread b\n"
			"a write xmm1 = fill:0x11\n"
			"switch cpu0 to b\n"
			"b syscall\n", NULL);
		tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "lazyfp"),
		       "lazyfp fires on restore=lazy: %s", r->message);
		r = st_run("machine cpu=intel-sapphire-rapids cpus=1 restore=lazy\n"
			   "thread a\nthread b\n"
			   "a write xmm1 = fill:0x11\n"
			   "switch cpu0 to b\n"
			   "b syscall\n", NULL);
		tap_ok(r->status == SIM_OK, "without the invariants statement the scenario passes");
	}
	/* PKRU loaded at the return instead of the switch. */
	{
		const struct sim_result *r = st_run(
			"machine cpu=intel-sapphire-rapids cpus=1 mutant=pkru-lazy\n"
			"invariants pkru\n"
			/* special states: the boot loads init_pkru (setup_pku), so the
			 * first task's value is already there; a switch between two
			 * different values shows the deferred load. */
			"thread a on cpu0\nthread b\na wrpkru 0x0\nswitch cpu0 to b\n", NULL);
		tap_ok(r->status == SIM_FAIL && r->fail_check && !strcmp(r->fail_check, "pkru"),
		       "pkru fires on pkru-lazy: %s", r->message);
	}
	{
		const struct sim_result *r = st_run("machine cpus=1\ninvariants bogus\n", NULL);
		tap_ok(r->status == SIM_ERROR && strstr(r->message, "unknown invariant 'bogus'"),
		       "invariants statement refuses unknown names: %s", r->message);
	}
}

/* ---- every mutant ---- */

static void test_mutants(void)
{
	for (unsigned i = 0; i < xe_mutant_count(); i++) {
		const struct xe_mutant *mu = xe_mutant_get(i);
		struct xe_config c, clean;
		struct xe_run_opts o;
		struct xe_report r;
		char err[512];
		const struct xe_prog *p;
		char *text;
		struct sim_result res;
		struct sim_run_opts so;

		if (xe_config_init(&c, NULL, err, sizeof(err)) ||
		    xe_config_mutant(&c, mu, false, err, sizeof(err)) ||
		    xe_config_ready(&c, err, sizeof(err))) {
			tap_ok(0, "mutant %s: configuration: %s", mu->name, err);
			continue;
		}
		run_opts(&o, 1, 2000000, 1);
		xe_explore(&c, &o, &r);
		if (!tap_ok(r.failed, "mutant %s is found (%llu steps searched)", mu->name,
			    (unsigned long long)r.steps)) {
			xe_report_free(&r);
			xe_config_free(&c);
			continue;
		}
		p = r.v.min.n ? &r.v.min : &r.v.found;
		tap_ok(p->n >= 1 && p->n <= 15, "  minimized to %u operations (from %u), invariant %s",
		       p->n, r.v.found.n, r.v.check);
		/* The counterexample is a scenario the runner reproduces. */
		text = xe_prog_text(&c, p, "test");
		memset(&so, 0, sizeof(so));
		sim_run_string(text, "cx.xs", &so, &res);
		tap_ok(res.status == SIM_FAIL && res.fail_check && !strcmp(res.fail_check, r.v.check),
		       "  the scenario fails the same way under the runner (%s)", res.message);
		/* ... and it is the mutant's: the same scenario passes without it. */
		clean = c;
		clean.policy.mutants = 0;
		{
			char *ctext = xe_prog_text(&clean, p, NULL);
			/* Passes, or cannot even run (the correct kernel refuses a
			 * call the mutant accepted): either way not this failure. */
			sim_run_string(ctext, "clean.xs", &so, &res);
			tap_ok(res.status != SIM_FAIL, "  and does not fail on the unmutated manager "
			       "(%s)", res.status == SIM_OK ? "passes" : res.message);
			free(ctext);
		}
		free(text);
		xe_report_free(&r);
		xe_config_free(&c);
	}
}

/* ---- the unmutated manager ---- */

static void test_clean(void)
{
	struct xe_config c;
	struct xe_run_opts o;
	struct xe_report r;

	if (config(&c, NULL, NULL))
		return;
	run_opts(&o, 7, SANITIZED ? 60000 : 300000, 1);
	xe_explore(&c, &o, &r);
	tap_ok(!r.failed, "unmutated manager: no invariant broke in %llu steps%s%s",
	       (unsigned long long)r.steps, r.failed ? ": " : "", r.failed ? r.v.message : "");
	tap_ok(r.internal_errors == 0, "no impossible generated step (%s)", r.internal);
	tap_ok(r.steps >= o.steps * 9 / 10, "the budget was used (%llu of %llu steps)",
	       (unsigned long long)r.steps, (unsigned long long)o.steps);
	xe_report_free(&r);
	xe_config_free(&c);
}

/* ---- determinism ---- */

static void test_determinism(void)
{
	struct xe_config c;
	struct xe_run_opts o;
	struct xe_report a, b, j2;
	char *ta, *tb;

	if (config(&c, NULL, "mutant=shortcut-ignores-last-cpu"))
		return;
	run_opts(&o, 11, 400000, 1);
	xe_explore(&c, &o, &a);
	xe_explore(&c, &o, &b);
	o.jobs = 2;
	xe_explore(&c, &o, &j2);
	ta = xe_prog_text(&c, &a.v.min, NULL);
	tb = xe_prog_text(&c, &b.v.min, NULL);
	tap_ok(a.failed && b.failed && a.v.program == b.v.program && a.v.step == b.v.step &&
	       ta && tb && !strcmp(ta, tb), "same seed: same failing program, step and "
	       "counterexample (program %llu step %u)", (unsigned long long)a.v.program, a.v.step);
	tap_ok(j2.failed && j2.v.program == a.v.program && j2.v.step == a.v.step,
	       "2 jobs report the same (lowest) failing program as 1 (%llu vs %llu)",
	       (unsigned long long)j2.v.program, (unsigned long long)a.v.program);
	free(ta);
	free(tb);
	xe_report_free(&a);
	xe_report_free(&b);
	xe_report_free(&j2);
	xe_config_free(&c);
}

/* ---- shards cover disjoint programs ---- */

static void test_shards(void)
{
	struct xe_config c;
	struct xe_run_opts o;
	struct xe_report s0, s1, all;

	if (config(&c, NULL, "mutant=fork-skips-load"))
		return;
	run_opts(&o, 3, 2000000, 1);
	o.minimize = false;
	xe_explore(&c, &o, &all);
	o.nshards = 2;
	o.shard = 0;
	xe_explore(&c, &o, &s0);
	o.shard = 1;
	xe_explore(&c, &o, &s1);
	tap_ok(all.failed && (s0.failed || s1.failed), "a sharded run finds it too");
	if (all.failed && (s0.failed || s1.failed)) {
		uint64_t lo = s0.failed && (!s1.failed || s0.v.program < s1.v.program) ? s0.v.program
											: s1.v.program;
		tap_ok(lo == all.v.program, "the lowest failing program over the shards is the "
		       "unsharded run's (%llu, %llu)", (unsigned long long)lo,
		       (unsigned long long)all.v.program);
		tap_ok((!s0.failed || s0.v.program % 2 == 0) && (!s1.failed || s1.v.program % 2 == 1),
		       "shard I/2 runs programs I mod 2");
	}
	xe_report_free(&all);
	xe_report_free(&s0);
	xe_report_free(&s1);
	xe_config_free(&c);
}

/* ---- replay fidelity: the explorer's run is the scenario runner's ---- */

static void test_fidelity(void)
{
	struct xe_config c;
	unsigned same = 0, n = SANITIZED ? 6 : 30;

	if (config(&c, NULL, NULL))
		return;
	for (unsigned s = 1; s <= n; s++) {
		struct xe_prog p;
		struct xe_outcome out;
		struct sim_result res;
		struct sim_run_opts so;
		char *text;

		xe_prog_init(&p);
		xe_random_program(&c, 1000 + s, true, &p, &out);
		text = xe_prog_text(&c, &p, NULL);
		memset(&so, 0, sizeof(so));
		sim_run_string(text, "fidelity.xs", &so, &res);
		if (res.status == out.status && res.saves == out.saves &&
		    res.restores == out.restores && res.restores_skipped == out.restores_skipped &&
		    res.switches == out.switches && res.xfd_writes == out.xfd_writes)
			same++;
		else
			tap_diag("seed %u: explorer %d %llu/%llu/%llu, runner %d %llu/%llu/%llu (%s)",
				 1000 + s, out.status, (unsigned long long)out.saves,
				 (unsigned long long)out.restores, (unsigned long long)out.switches,
				 res.status, (unsigned long long)res.saves,
				 (unsigned long long)res.restores, (unsigned long long)res.switches,
				 res.message);
		free(text);
		xe_prog_free(&p);
	}
	tap_ok(same == n, "%u of %u random programs run identically as scenarios (status, saves, "
	       "restores, skipped restores, switches, XFD writes)", same, n);
	xe_config_free(&c);
}

/* ---- exhaustive ---- */

static void test_exhaustive(void)
{
	struct xe_config c;
	struct xe_exh_opts o;
	struct xe_report a, b;

	if (config(&c, NULL, NULL))
		return;
	memset(&o, 0, sizeof(o));
	o.depth = SANITIZED ? 2 : 3;
	xe_exhaustive(&c, &o, &a);
	xe_exhaustive(&c, &o, &b);
	tap_ok(!a.failed && a.states > 20, "exhaustive depth %u: %llu distinct states, no violation",
	       o.depth, (unsigned long long)a.states);
	tap_ok(a.states == b.states && a.steps == b.steps, "the count is deterministic (%llu, %llu)",
	       (unsigned long long)a.states, (unsigned long long)b.states);
	o.depth++;
	xe_report_free(&b);
	xe_exhaustive(&c, &o, &b);
	tap_ok(b.states > a.states, "one level deeper visits more states (%llu)",
	       (unsigned long long)b.states);
	xe_report_free(&a);
	xe_report_free(&b);
	xe_config_free(&c);

	if (config(&c, NULL, "mutant=kfpu-keeps-owner"))
		return;
	o.depth = 3;
	xe_exhaustive(&c, &o, &a);
	tap_ok(a.failed && a.v.min.n <= 6, "exhaustive finds kfpu-keeps-owner within depth 3 (%s, "
	       "%u operations)", a.failed ? a.v.check : "-", a.v.min.n);
	xe_report_free(&a);
	xe_config_free(&c);
}

int main(void)
{
	tap_plan_lazy();
	test_names();
	test_fire();
	test_mutants();
	test_clean();
	test_determinism();
	test_shards();
	test_fidelity();
	test_exhaustive();
	return tap_done();
}
