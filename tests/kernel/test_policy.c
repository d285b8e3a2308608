/* Named policies (parse, errors, print), the lazy CR0.TS policy with its
 * #NM restore, and the fault handler's signals. */
#include <errno.h>

#include "ktest.h"

static void parse(void)
{
	struct xk_policy p, q;
	char err[256], buf[256];

	xk_policy_default(&p);
	xk_policy_format(&p, buf, sizeof(buf));
	tap_ok(strcmp(buf, "restore=eager shortcut=on save=auto") == 0, "default prints '%s'", buf);
	tap_ok(xk_policy_parse(&p, "restore=lazy, shortcut=off save=xsavec", err, sizeof(err)) ==
			       0 &&
		       p.restore == XK_RESTORE_LAZY && !p.shortcut && p.save == XK_SAVE_XSAVEC,
	       "parse a list");
	xk_policy_format(&p, buf, sizeof(buf));
	tap_ok(strcmp(buf, "restore=lazy shortcut=off save=xsavec") == 0, "prints '%s'", buf);
	q = p;
	tap_ok(xk_policy_parse(&p, "restore=lazy save=bogus", err, sizeof(err)) == -1 &&
		       xk_policy_equal(&p, &q),
	       "a bad list changes nothing");
	tap_ok(strcmp(err, "save: 'bogus' is not one of auto|xsaves|xsavec|xsaveopt|xsave") == 0,
	       "error: %s", err);
	tap_ok(xk_policy_set(&p, "colour=red", err, sizeof(err)) == -1 &&
		       strstr(err, "unknown policy 'colour'") && strstr(err, "restore"),
	       "error: %s", err);
	tap_ok(xk_policy_set(&p, "restore", err, sizeof(err)) == -1 && strstr(err, "name=value"),
	       "error: %s", err);
	tap_ok(xk_policy_set(&p, "=x", err, sizeof(err)) == -1, "error: %s", err);
	tap_ok(xk_policy_set(&p, "shortcut=maybe", err, sizeof(err)) == -1 &&
		       strstr(err, "on|off"),
	       "error: %s", err);
	tap_ok(xk_policy_set(&p, "restore=", err, sizeof(err)) == -1, "error: %s", err);
	tap_ok(xk_policy_set(&p, "mutant=nope", err, sizeof(err)) == -1 &&
		       strstr(err, "shortcut-ignores-last-cpu"),
	       "error: %s", err);
	tap_ok(xk_policy_set(&p, "mutant=shortcut-ignores-last-cpu", err, sizeof(err)) == 0 &&
		       xk_mutant_lookup("shortcut-ignores-last-cpu") ==
			       XK_MUT_SHORTCUT_IGNORES_LAST_CPU &&
		       p.mutants == 1ull << XK_MUT_SHORTCUT_IGNORES_LAST_CPU,
	       "mutant by name");
	xk_policy_format(&p, buf, sizeof(buf));
	tap_ok(strstr(buf, " mutant=shortcut-ignores-last-cpu") != NULL, "prints '%s'", buf);
	tap_ok(xk_policy_format(&p, NULL, 0) == (int)strlen(buf) &&
		       xk_policy_format(&p, buf, 10) == (int)strlen("restore=lazy shortcut=off "
								     "save=xsavec mutant="
								     "shortcut-ignores-last-cpu"),
	       "format reports the full length");
	tap_ok(xk_policy_set(&p, "mutant=none", err, sizeof(err)) == 0 && p.mutants == 0,
	       "mutant=none clears");
	tap_ok(xk_policy_set(&p, "RESTORE=EAGER", err, sizeof(err)) == 0 &&
		       p.restore == XK_RESTORE_EAGER,
	       "names are case-insensitive");
	/* 4 + later issues' (user ABI: prealloc, harvest, sigreturn-fail). */
	tap_ok(xk_policy_count() >= 7 && strcmp(xk_policy_name(0), "restore") == 0 &&
		       strcmp(xk_policy_name(6), "sigreturn-fail") == 0 &&
		       xk_policy_values(xk_policy_count()) == NULL,
	       "policy table");
	{
		char lng[300];

		memset(lng, 'a', sizeof(lng) - 1);
		lng[sizeof(lng) - 1] = '\0';
		tap_ok(xk_policy_parse(&p, lng, err, sizeof(err)) == -1, "overlong item: %s", err);
	}
}

/* Lazy: the switch sets CR0.TS; the previous task's values stay in the
 * registers behind it; the first FPU use traps and the #NM handler loads. */
static void lazy(const char *model)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *b;
	struct xk_fault_result r;

	if (kt_boot(&t, model, 2, "restore=lazy"))
		return;
	a = xk_spawn(k, "a");
	b = xk_spawn(k, "b");
	kt_run(&t, 0, a);
	tap_ok(xs_cr0_ts(k->cpu[0].hw) && a->need_load, "%s lazy: a starts with TS set", model);
	tap_ok(kt_write(&t, 0, "xmm0", 1) == XS_NM, "%s lazy: first FPU use raises #NM", model);
	kt_reset_counts(&t);
	r = xk_handle_fault(k, 0, XS_NM);
	tap_ok(r.action == XK_FA_RETRY && t.restores_of[a->tid] == 1 && !xs_cr0_ts(k->cpu[0].hw) &&
		       k->cpu[0].user_mode && k->stats.nm_lazy == 1,
	       "%s lazy: #NM restores, clears TS, retries", model);
	tap_ok(kt_write(&t, 0, "xmm0", 1) == XS_OK, "%s lazy: retried instruction runs", model);

	kt_reset_counts(&t);
	kt_run(&t, 0, b);
	tap_ok(t.saves_of[a->tid] == 1 && t.restores_of[b->tid] == 0 && xs_cr0_ts(k->cpu[0].hw),
	       "%s lazy: switch saves a, loads nothing for b, sets TS", model);
	tap_ok(kt_peek(&t, 0, "xmm0", 1) == 1,
	       "%s lazy: a's xmm0 still in the registers behind TS (LazyFP precondition)", model);
	tap_ok(kt_check(&t, 0, "xmm0", 1) == -1, "%s lazy: b's read of xmm0 traps (#NM)", model);
	r = xk_handle_fault(k, 0, XS_NM);
	tap_ok(r.action == XK_FA_RETRY && kt_zero(&t, 0, "xmm0") == 1,
	       "%s lazy: after #NM b reads its own (init) xmm0", model);
	kt_write(&t, 0, "xmm0", 2);

	/* a returns to CPU 1: TS set there too, restore at first use. */
	kt_reset_counts(&t);
	kt_run(&t, 1, a);
	tap_ok(xs_cr0_ts(k->cpu[1].hw) && t.restores_of[a->tid] == 0,
	       "%s lazy: no restore at return to user", model);
	xk_handle_fault(k, 1, XS_NM);
	tap_ok(kt_check(&t, 1, "xmm0", 1) == 1, "%s lazy: a sees its value on CPU 1", model);

	/* Back on a CPU whose registers are still b's: the lazy shortcut. */
	kt_idle(&t, 0);
	kt_reset_counts(&t);
	kt_run(&t, 0, b);
	tap_ok(!xs_cr0_ts(k->cpu[0].hw) && t.skips_of[b->tid] == 1 && b->need_load == 0 &&
		       kt_check(&t, 0, "xmm0", 2) == 1,
	       "%s lazy: registers still b's: TS cleared without a restore", model);

	/* Kernel FPU use in between: TS cleared for the kernel, set again. */
	xk_irq_enter(k, 0, XK_IRQ_HARD);
	xk_kfpu_begin(k, 0, XK_KFPU_DEFAULT);
	kt_write(&t, 0, "xmm0", 77);
	xk_kfpu_end(k, 0);
	xk_irq_exit(k, 0);
	xk_return_to_user(k, 0);
	tap_ok(xs_cr0_ts(k->cpu[0].hw), "%s lazy: after a kernel FPU section TS is set", model);
	xk_handle_fault(k, 0, XS_NM);
	tap_ok(kt_check(&t, 0, "xmm0", 2) == 1, "%s lazy: b's value restored after #NM", model);
	tap_ok(t.bad == 0, "%s lazy: invariants%s%s", model, t.bad ? ": " : "", t.bad_why);
	xk_shutdown(k);
}

/* MPX (and AMX, APX) instructions ignore CR0.TS: under the lazy scheme a
 * task would use the previous task's bounds registers without a trap.
 * restore=lazy is Linux's eagerfpu=off, which dropped them from XCR0. */
static void lazy_eager_only(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *b;

	if (kt_boot(&t, "intel-skylake-client", 1, "") == 0) {
		tap_ok((k->xcr0 & XS_MASK_MPX) == XS_MASK_MPX && !k->lazy_dropped,
		       "skylake eager: MPX enabled");
		xk_shutdown(k);
	}
	if (kt_boot(&t, "intel-skylake-client", 1, "restore=lazy"))
		return;
	tap_ok(!(k->xcr0 & XS_MASK_MPX) && k->lazy_dropped == XS_MASK_MPX &&
		       !(k->kcfg.max_features & XS_MASK_MPX) &&
		       k->kcfg.max_size == xk_calc_size(k, k->kcfg.max_features, k->compacted),
	       "skylake lazy: MPX not enabled, sizes without it (%u bytes)", k->kcfg.max_size);
	a = xk_spawn(k, "a");
	b = xk_spawn(k, "b");
	kt_run(&t, 0, a);
	tap_ok(kt_write(&t, 0, "bnd0", 1) == XS_OK, "skylake lazy: BNDMOV does not trap");
	kt_run(&t, 0, b);
	tap_ok(kt_zero(&t, 0, "bnd0") == 1 && kt_peek(&t, 0, "bnd0", 1) == 0,
	       "skylake lazy: b does not see a's bnd0 (MPX is a NOP)");
	xk_shutdown(k);

	if (kt_boot(&t, "intel-sapphire-rapids", 1, "mutant=lazy-fp") == 0) {
		tap_ok(!(k->xcr0 & XS_MASK_AMX) && k->lazy_dropped == XS_MASK_AMX && !k->dynamic &&
			       k->init_xfd == 0,
		       "sapphire rapids lazy: AMX not enabled, no XFD");
		xk_shutdown(k);
	}
}

static void faults(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a;
	struct xk_fault_result r;
	uint64_t v;

	if (kt_boot(&t, "intel-sapphire-rapids", 1, ""))
		return;
	a = xk_spawn(k, "a");
	kt_run(&t, 0, a);

	tap_ok(xs_xsetbv(k->cpu[0].hw, 0, 3) == XS_GP, "XSETBV at CPL 3 raises #GP");
	r = xk_handle_fault(k, 0, XS_GP);
	tap_ok(r.action == XK_FA_SIGNAL && r.signo == XK_SIGSEGV && r.si_code == XK_SI_KERNEL &&
		       !k->cpu[0].user_mode,
	       "#GP -> SIGSEGV/SI_KERNEL, CPU left in the kernel");
	xk_return_to_user(k, 0);
	r = xk_handle_fault(k, 0, XS_UD);
	tap_ok(r.action == XK_FA_SIGNAL && r.signo == XK_SIGILL && r.si_code == XK_ILL_ILLOPN,
	       "#UD -> SIGILL/ILL_ILLOPN");
	xk_return_to_user(k, 0);
	r = xk_handle_fault(k, 0, XS_AC);
	tap_ok(r.signo == XK_SIGBUS && r.si_code == XK_BUS_ADRALN, "#AC -> SIGBUS/BUS_ADRALN");
	xk_return_to_user(k, 0);
	r = xk_handle_fault(k, 0, XS_PF);
	tap_ok(r.signo == XK_SIGSEGV && r.si_code == XK_SEGV_MAPERR, "#PF -> SIGSEGV/SEGV_MAPERR");
	xk_return_to_user(k, 0);

	/* First touch of tile data: XFD #NM without permission -> SIGILL.
	 * Tiles must be configured first (LDTILECFG does not touch tile data). */
	{
		uint8_t cfg[64] = { 1 };
		struct xs_reg tc;

		for (int i = 0; i < 8; i++) {
			cfg[16 + 2 * i] = 64;
			cfg[48 + i] = 16;
		}
		xs_reg_lookup(&t.m, "tilecfg", &tc);
		tap_ok(xs_reg_write(k->cpu[0].hw, &tc, cfg) == XS_OK, "LDTILECFG needs no XFD");
	}
	tap_ok(kt_write(&t, 0, "tmm0", 1) == XS_NM && xs_xfd_err(k->cpu[0].hw) != 0,
	       "tile data access with XFD armed: #NM, XFD_ERR set");
	r = xk_handle_fault(k, 0, XS_NM);
	tap_ok(r.action == XK_FA_SIGNAL && r.signo == XK_SIGILL && r.si_code == XK_ILL_ILLOPC &&
		       k->stats.nm_xfd == 1,
	       "XFD #NM without permission -> SIGILL/ILL_ILLOPC");
	xs_rdmsr(k->cpu[0].hw, XS_MSR_XFD_ERR, &v);
	tap_eq_u64(v, 0, "XFD_ERR cleared by the handler");
	xk_return_to_user(k, 0);
	/* With permission the buffer grows (xfd.c, user-ABI issue) and the
	 * instruction is retried. */
	a->fpu.perm.state_perm |= XS_BIT(XS_C_XTILEDATA);
	kt_write(&t, 0, "tmm0", 1);
	r = xk_handle_fault(k, 0, XS_NM);
	tap_ok(r.action == XK_FA_RETRY && kt_write(&t, 0, "tmm0", 1) == XS_OK,
	       "XFD #NM with permission: buffer grown, instruction retried (%s)", r.why);
	xk_enter_kernel(k, 0);
	xk_return_to_user(k, 0);

	/* #NM with neither XFD_ERR nor lazy TS: the kernel dies. */
	r = xk_handle_fault(k, 0, XS_NM);
	tap_ok(r.action == XK_FA_OOPS, "unexpected #NM -> oops (%s)", r.why);
	xk_return_to_user(k, 0);
	r = xk_handle_fault(k, 0, XS_OK);
	tap_ok(r.action == XK_FA_OOPS, "no fault -> oops");
	xk_return_to_user(k, 0);
	xk_enter_kernel(k, 0);
	r = xk_handle_fault(k, 0, XS_GP);
	tap_ok(r.action == XK_FA_OOPS, "fault outside user mode -> oops");
	tap_ok(t.n[XK_EV_FAULT] == 8 && k->stats.signals == 5, "faults traced (%u) and counted",
	       t.n[XK_EV_FAULT]);
	xk_shutdown(k);
}

/* Trace formatting: every event type renders a line naming its parts. */
static void trace_format(void)
{
	struct xk_task fake;
	struct xk_event e;
	char buf[400];
	int bad = 0;

	memset(&fake, 0, sizeof(fake));
	fake.tid = 3;
	snprintf(fake.name, sizeof(fake.name), "a");
	for (int ty = 0; ty < XK_EV_COUNT; ty++) {
		memset(&e, 0, sizeof(e));
		e.type = (enum xk_ev_type)ty;
		e.cpu = 1;
		e.task = &fake;
		e.insn = ty == XK_EV_CPU_SETUP ? XK_I_XSETBV : XK_I_XSAVES;
		e.mask = 7;
		e.bytes = 832;
		if (xk_event_format(&e, buf, sizeof(buf)) <= 0 || !strstr(buf, "cpu1"))
			bad++;
		if (strcmp(xk_event_name(e.type), "?") == 0)
			bad++;
	}
	tap_ok(bad == 0, "every event type has a name and a line");
	memset(&e, 0, sizeof(e));
	e.type = XK_EV_SAVE;
	e.cpu = 0;
	e.insn = XK_I_XSAVES;
	e.mask = 7;
	e.bytes = 832;
	e.task = &fake;
	e.why = "switch-out";
	xk_event_format(&e, buf, sizeof(buf));
	tap_ok(strstr(buf, "XSAVES") && strstr(buf, "x87|sse|avx") && strstr(buf, "832B") &&
		       strstr(buf, "task 3 'a'") && strstr(buf, "switch-out"),
	       "save line: %s", buf);
	tap_ok(strcmp(xk_insn_name(XK_I_XRSTORS), "XRSTORS") == 0 &&
		       strcmp(xk_event_name(XK_EV_COUNT), "?") == 0,
	       "names");
}

int main(void)
{
	tap_plan_lazy();
	parse();
	for (size_t i = 0; i < xs_builtin_count(); i++)
		lazy(xs_builtin_name(i));
	lazy_eager_only();
	faults();
	trace_format();
	return tap_done();
}
