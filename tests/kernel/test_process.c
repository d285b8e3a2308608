/* fork/clone, exec, exit: register inheritance, reset, buffer release and
 * memory accounting, allocation failure, thread groups and permissions. */
#include <errno.h>

#include "ktest.h"

static bool fail_next;

static bool alloc_fail(void *ctx, const struct xk_task *t, size_t bytes)
{
	(void)ctx;
	(void)t;
	(void)bytes;
	if (fail_next) {
		fail_next = false;
		return true;
	}
	return false;
}

static void fork_copies(const char *model)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *c = NULL;
	bool avx;

	if (kt_boot(&t, model, 2, ""))
		return;
	avx = kt_has_reg(&t, "ymm1");
	a = xk_spawn(k, "parent");
	kt_run(&t, 0, a);
	kt_write(&t, 0, "xmm5", 5);
	if (avx)
		kt_write(&t, 0, "ymm1", 6);
	xk_enter_kernel(k, 0);
	kt_reset_counts(&t);
	tap_ok(xk_clone(k, 0, 0, "child", &c) == 0 && c, "%s: fork", model);
	tap_ok(t.saves_of[c->tid] == 1 && t.n[XK_EV_RESTORE] == 0 && a->need_load == 0,
	       "%s: fork saves the live registers into the child, parent stays live", model);
	tap_ok(c->need_load == k->restore_mask && c->fpu.last_cpu == -1 && c->proc != a->proc &&
		       c->proc->leader == c,
	       "%s: child: need_load set, last_cpu -1, new process", model);
	tap_eq_u64(xk_fpstate_xstate_bv(c->fpu.fpstate) & XS_BIT(XS_C_PASID), 0,
		   "%s: child XSTATE_BV has no PASID", model);
	if (k->xss & XS_BIT(XS_C_PASID)) {
		struct xk_task *c3 = NULL;
		uint64_t v = 0;

		/* The parent has a PASID (the kernel wrote the MSR, as the
		 * ENQCMD fix-up does); the child must not inherit it. */
		tap_ok(xs_wrmsr(k->cpu[0].hw, XS_MSR_PASID, 0x80000005u) == XS_OK &&
			       xk_clone(k, 0, 0, "c3", &c3) == 0 &&
			       !(xk_fpstate_xstate_bv(c3->fpu.fpstate) & XS_BIT(XS_C_PASID)),
		       "%s: parent PASID in use: child XSTATE_BV still has no PASID", model);
		xk_return_to_user(k, 0);
		kt_run(&t, 1, c3);
		xk_enter_kernel(k, 1);
		tap_ok(xs_rdmsr(k->cpu[1].hw, XS_MSR_PASID, &v) == XS_OK && v == 0,
		       "%s: child runs with PASID 0", model);
		kt_idle(&t, 1);
		xk_enter_kernel(k, 0);
	}
	tap_ok(c->fpu.fpstate->xfeatures == k->kcfg.default_features &&
		       c->fpu.fpstate->size == k->kcfg.default_size,
	       "%s: child has a default-size buffer", model);
	xk_return_to_user(k, 0);
	kt_write(&t, 0, "xmm5", 55); /* the parent moves on */
	kt_run(&t, 1, c);
	tap_ok(kt_check(&t, 1, "xmm5", 5) == 1 && (!avx || kt_check(&t, 1, "ymm1", 6) == 1),
	       "%s: child on CPU 1 sees the parent's registers at fork", model);
	tap_ok(kt_check(&t, 0, "xmm5", 55) == 1, "%s: parent keeps its own", model);

	/* fork while the parent's registers are not live: loaded first. */
	kt_idle(&t, 0);
	kt_run(&t, 0, a);
	xk_enter_kernel(k, 0);
	kt_idle(&t, 0);
	xk_switch(k, 0, a); /* a current, in kernel, need_load set */
	kt_reset_counts(&t);
	{
		struct xk_task *c2 = NULL;

		tap_ok(a->need_load && xk_clone(k, 0, 0, "child2", &c2) == 0 &&
			       a->need_load == 0 && t.skips_of[a->tid] + t.restores_of[a->tid] == 1,
		       "%s: fork with need_load set makes the parent live first", model);
		xk_return_to_user(k, 0);
		xk_enter_kernel(k, 1);
		xk_switch(k, 1, c2);
		xk_return_to_user(k, 1);
		tap_ok(kt_check(&t, 1, "xmm5", 55) == 1, "%s: second child has the parent's value",
		       model);
	}
	tap_ok(t.bad == 0, "%s: fork invariants%s%s", model, t.bad ? ": " : "", t.bad_why);
	xk_shutdown(k);
}

static void exec_resets(const char *model)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a;
	struct xs_reg r;
	uint32_t mx = 0x3F80;

	if (kt_boot(&t, model, 1, ""))
		return;
	a = xk_spawn(k, "a");
	kt_run(&t, 0, a);
	kt_write(&t, 0, "xmm7", 9);
	kt_write(&t, 0, "st3", 9);
	xs_reg_lookup(&t.m, "mxcsr", &r);
	xs_reg_write(k->cpu[0].hw, &r, &mx);
	a->fpu.perm.state_perm |= XS_BIT(XS_C_XTILEDATA); /* as if granted */
	xk_enter_kernel(k, 0);
	kt_reset_counts(&t);
	tap_ok(xk_exec(k, 0) == 0 && a->need_load == k->restore_mask && a->fpu.last_cpu == -1,
	       "%s: exec sets need_load and invalidates last_cpu", model);
	tap_eq_u64(a->fpu.perm.state_perm, k->kcfg.default_features, "%s: exec resets perms",
		   model);
	tap_eq_u64(xk_fpstate_xstate_bv(a->fpu.fpstate), 0, "%s: exec: XSTATE_BV 0", model);
	xk_return_to_user(k, 0);
	tap_ok(t.restores_of[a->tid] == 1, "%s: exec: restored although registers were live",
	       model);
	tap_ok(kt_zero(&t, 0, "xmm7") == 1 && xs_mxcsr(k->cpu[0].hw) == XS_MXCSR_DEFAULT,
	       "%s: after exec: xmm7 zero, MXCSR 0x1F80", model);
	{
		uint16_t fcw = 0;

		xs_reg_lookup(&t.m, "fcw", &r);
		xs_reg_read(k->cpu[0].hw, &r, &fcw);
		tap_eq_u64(fcw, XS_FCW_DEFAULT, "%s: after exec: FCW 0x37F", model);
	}
	xk_shutdown(k);
}

static void exit_frees(const char *model)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *b = NULL, *th = NULL, *kw;
	uint32_t ds = 0;

	if (kt_boot(&t, model, 2, ""))
		return;
	tap_eq_u64(k->mem.bytes, 0, "%s: baseline 0 bytes", model);
	a = xk_spawn(k, "a");
	ds = k->kcfg.default_size;
	tap_ok(k->mem.bytes == ds && a->xstate_bytes == ds, "%s: spawn: %u bytes accounted",
	       model, ds);
	tap_ok(((uintptr_t)a->fpu.fpstate->regs & 63) == 0, "%s: buffer 64-byte aligned", model);
	kt_run(&t, 0, a);
	kt_write(&t, 0, "xmm1", 1);
	xk_enter_kernel(k, 0);
	xk_clone(k, 0, 0, "b", &b);
	xk_clone(k, 0, XK_CLONE_THREAD | XK_CLONE_VM, "thread", &th);
	kw = xk_kthread_create(k, "kworker");
	tap_ok(k->mem.bytes == 4ull * ds && k->mem.allocs == 4 && k->ntasks == 4,
	       "%s: 4 tasks, %llu bytes", model, (unsigned long long)k->mem.bytes);
	tap_ok(th->proc == a->proc && a->proc->nthreads == 2 && xk_group_perm(th) == &a->fpu.perm,
	       "%s: a thread joins the group and uses the leader's perm", model);

	/* The leader exits first: zombie until its thread is gone. */
	tap_ok(xk_exit(k, 0) == 0 && k->cpu[0].owner == NULL,
	       "%s: exit with live registers clears the owner", model);
	tap_ok(xk_return_to_user(k, 0) == -EINVAL, "%s: an exiting task cannot return to user",
	       model);
	xk_switch(k, 0, th);
	tap_ok(k->mem.bytes == 3ull * ds && (a->flags & XK_TF_DEAD) && k->ntasks == 4 &&
		       xk_group_perm(th) == &a->fpu.perm,
	       "%s: leader released (buffers freed, zombie kept for the perm record)", model);
	xk_return_to_user(k, 0);
	tap_ok(kt_check(&t, 0, "xmm1", 1) == 1, "%s: the thread inherited xmm1", model);
	xk_enter_kernel(k, 0);
	xk_exit(k, 0);
	xk_switch(k, 0, b);
	tap_ok(k->mem.bytes == 2ull * ds && k->ntasks == 2,
	       "%s: last thread gone: process and zombie leader freed", model);
	xk_return_to_user(k, 0);
	xk_enter_kernel(k, 0);
	/* b exits while not owning the registers (need_load set). */
	xk_switch(k, 0, kw);
	xk_switch(k, 0, b);
	tap_ok(b->need_load && xk_exit(k, 0) == 0, "%s: exit with need_load set", model);
	xk_switch(k, 0, kw);
	xk_exit(k, 0);
	xk_switch(k, 0, NULL);
	tap_ok(k->mem.bytes == 0 && k->ntasks == 0 && k->mem.allocs == k->mem.frees,
	       "%s: everything freed: back to baseline (peak %llu)", model,
	       (unsigned long long)k->mem.peak);
	tap_ok(k->cpu[0].owner == NULL && k->cpu[1].owner == NULL, "%s: no owner left", model);
	tap_ok(t.bad == 0, "%s: exit invariants%s%s", model, t.bad ? ": " : "", t.bad_why);
	xk_shutdown(k);
}

/* Allocation failure: fork fails cleanly with ENOMEM, nothing changes. */
static void alloc_failure(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *c = (struct xk_task *)&t;
	uint64_t bytes;
	unsigned ntasks;

	if (kt_boot(&t, "intel-skylake-sp", 1, ""))
		return;
	xk_set_alloc_fail(k, alloc_fail, NULL);
	a = xk_spawn(k, "a");
	kt_run(&t, 0, a);
	xk_enter_kernel(k, 0);
	bytes = k->mem.bytes;
	ntasks = k->ntasks;
	fail_next = true;
	tap_ok(xk_clone(k, 0, 0, "c", &c) == -ENOMEM && c == NULL,
	       "allocation failure: fork returns ENOMEM");
	tap_ok(k->mem.bytes == bytes && k->ntasks == ntasks && k->mem.failures == 1 &&
		       t.n[XK_EV_ALLOC] >= 2,
	       "allocation failure: nothing allocated, failure counted and traced");
	fail_next = true;
	tap_ok(xk_spawn(k, "x") == NULL && xk_kthread_create(k, "y") != NULL,
	       "spawn fails once, then works");
	tap_ok(xk_clone(k, 0, 0, "c", &c) == 0 && c, "fork works again");
	xk_shutdown(k);
}

static void perms_inherit(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *c = NULL, *th = NULL, *g = NULL;

	if (kt_boot(&t, "intel-sapphire-rapids", 1, ""))
		return;
	a = xk_spawn(k, "a");
	kt_run(&t, 0, a);
	xk_enter_kernel(k, 0);
	xk_clone(k, 0, XK_CLONE_THREAD | XK_CLONE_VM, "th", &th);
	a->fpu.perm.state_perm |= XS_BIT(XS_C_XTILEDATA); /* the AMX issue's grant */
	a->fpu.perm.state_size = k->kcfg.max_size;
	xk_clone(k, 0, 0, "c", &c);
	tap_ok(c->fpu.perm.state_perm == a->fpu.perm.state_perm &&
		       c->fpu.perm.state_size == k->kcfg.max_size,
	       "a new process copies the leader's permission record");
	/* A thread forks: the child copies the group leader's record. */
	xk_switch(k, 0, th);
	xk_return_to_user(k, 0);
	xk_enter_kernel(k, 0);
	xk_clone(k, 0, 0, "g", &g);
	tap_ok(g->fpu.perm.state_perm & XS_BIT(XS_C_XTILEDATA),
	       "a fork from a non-leader thread copies the leader's record");
	tap_ok(th->fpu.perm.state_perm == k->kcfg.default_features &&
		       xk_group_perm(th)->state_perm & XS_BIT(XS_C_XTILEDATA),
	       "a thread's own record stays default; the group's counts");
	tap_ok(c->fpu.fpstate->xfd == XS_BIT(XS_C_XTILEDATA) &&
		       !(c->fpu.fpstate->xfeatures & XS_BIT(XS_C_XTILEDATA)),
	       "the child still has XFD armed and no tile data room");
	xk_shutdown(k);
}

int main(void)
{
	tap_plan_lazy();
	for (size_t i = 0; i < xs_builtin_count(); i++) {
		fork_copies(xs_builtin_name(i));
		exec_resets(xs_builtin_name(i));
		exit_frees(xs_builtin_name(i));
	}
	alloc_failure();
	perms_inherit();
	return tap_done();
}
