/* arch_prctl(ARCH_*_XCOMP_*) and the sigaltstack sizing rules of dynamic
 * features: Linux's codes, error numbers and check order, with the exact
 * size boundaries (linux-design.md 4.1, 4.2; xstate.c, signal.c). */
#include "abi_util.h"

#define AMX "intel-sapphire-rapids"
#define SCRATCH (AT_STACK_TOP - 64) /* a u64 for the GET options */

static long prctl(struct at *a, struct xk_task *t, int opt, uint64_t arg)
{
	return xk_arch_prctl(&a->kt.k, t, &a->mm, opt, arg);
}

static uint64_t get(struct at *a, struct xk_task *t, int opt)
{
	at_st64(a, SCRATCH, 0xdeadbeef);
	if (prctl(a, t, opt, SCRATCH))
		return 0xdeadbeef;
	return at_ld64(a, SCRATCH);
}

static void check_codes(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t;
	uint64_t tile = XS_BIT(XS_C_XTILEDATA);

	if (at_boot(&a, AMX, 2, "")) {
		tap_skip("%s does not boot", AMX);
		return;
	}
	k = &a.kt.k;
	t = at_spawn(&a, "t1", 0);
	tap_eq_u64(get(&a, t, XK_ARCH_GET_XCOMP_SUPP), k->ucfg.max_features | XS_MASK_FPSSE,
		   "GET_XCOMP_SUPP = user.max_features | legacy");
	tap_ok(get(&a, t, XK_ARCH_GET_XCOMP_SUPP) & tile, "GET_XCOMP_SUPP has XTILEDATA");
	tap_eq_u64(get(&a, t, XK_ARCH_GET_XCOMP_PERM), k->ucfg.default_features,
		   "GET_XCOMP_PERM at start: the default user features (XTILECFG, no XTILEDATA)");
	tap_eq_u64(get(&a, t, XK_ARCH_GET_XCOMP_GUEST_PERM),
		   k->gcfg.features & XK_MASK_USER_SUPPORTED,
		   "GET_XCOMP_GUEST_PERM at start: guest defaults, user bits only");
	tap_eq_u64(prctl(&a, t, XK_ARCH_GET_XCOMP_PERM, 0x1000), (uint64_t)-EFAULT,
		   "GET with an unmapped pointer -> EFAULT");
	tap_eq_u64(prctl(&a, t, 0x1026, 0), (uint64_t)-EINVAL, "unknown option 0x1026 -> EINVAL");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PREALLOC, 18), (uint64_t)-EINVAL,
		   "ARCH_REQ_XCOMP_PREALLOC without prealloc=on: unknown option -> EINVAL");
	/* REQ checks in order: index range, facility table, support. */
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 20), (uint64_t)-EINVAL,
		   "REQ idx 20 (XFEATURE_MAX) -> EINVAL");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 64), (uint64_t)-EINVAL,
		   "REQ idx 64 -> EINVAL");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 19), (uint64_t)-EOPNOTSUPP,
		   "REQ idx 19 (APX, static) -> EOPNOTSUPP");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 17), (uint64_t)-EOPNOTSUPP,
		   "REQ idx 17 (XTILECFG: not the facility's index) -> EOPNOTSUPP");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 2), (uint64_t)-EOPNOTSUPP,
		   "REQ idx 2 (AVX) -> EOPNOTSUPP");
	tap_eq_u64(get(&a, t, XK_ARCH_GET_XCOMP_PERM) & tile, 0, "refused requests grant nothing");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 18), 0, "REQ idx 18 (XTILEDATA) -> 0");
	tap_ok(get(&a, t, XK_ARCH_GET_XCOMP_PERM) & tile, "GET_XCOMP_PERM now has XTILEDATA");
	tap_eq_u64(t->proc->leader->fpu.perm.user_state_size, k->ucfg.max_size,
		   "permitted user size = the full standard size (%u)", k->ucfg.max_size);
	tap_eq_u64(t->proc->leader->fpu.perm.state_size,
		   xk_calc_size(k, t->proc->leader->fpu.perm.state_perm, k->compacted),
		   "permitted kernel size = calc(permitted | supervisor, compacted)");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 18), 0, "REQ again -> 0 (already permitted)");
	tap_eq_u64(get(&a, t, XK_ARCH_GET_XCOMP_GUEST_PERM) & tile, 0,
		   "guest permission is separate");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_GUEST_PERM, 18), 0, "REQ_GUEST 18 -> 0");
	tap_ok(get(&a, t, XK_ARCH_GET_XCOMP_GUEST_PERM) & tile, "guest permission granted");
	/* No buffer has grown: permission is not allocation. */
	tap_ok(t->fpu.fpstate == t->fpu.default_fpstate && t->fpu.fpstate->xfd == tile,
	       "permission alone allocates nothing, XFD stays armed");
	at_shutdown(&a);

	/* A CPU without AMX: the facility is not supported. */
	if (at_boot(&a, "intel-icelake-sp", 1, "") == 0) {
		t = at_spawn(&a, "t1", 0);
		tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 18), (uint64_t)-EOPNOTSUPP,
			   "no AMX: REQ 18 -> EOPNOTSUPP");
		tap_eq_u64(get(&a, t, XK_ARCH_GET_XCOMP_SUPP) & XS_MASK_AMX, 0,
			   "no AMX: GET_XCOMP_SUPP without tiles");
		at_shutdown(&a);
	}
}

/* Guest permission locking (the first vCPU sets FPU_GUEST_PERM_LOCKED). */
static void check_guest_lock(void)
{
	struct at a;
	struct xk_task *t;

	if (at_boot(&a, AMX, 1, ""))
		return;
	t = at_spawn(&a, "t1", 0);
	t->fpu.guest_perm.state_perm |= XK_GUEST_PERM_LOCKED;
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_GUEST_PERM, 18), (uint64_t)-EBUSY,
		   "REQ_GUEST with the guest permissions locked -> EBUSY");
	tap_eq_u64(get(&a, t, XK_ARCH_GET_XCOMP_GUEST_PERM) >> 63, 0,
		   "GET_XCOMP_GUEST_PERM hides the LOCKED bit");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 18), 0,
		   "the host permission is not locked by it");
	at_shutdown(&a);
	/* The lockless "already permitted" check comes before the lock test
	 * (xstate_request_perm()): a granted request repeated after the
	 * first vCPU locked the permissions still returns 0. */
	if (at_boot(&a, AMX, 1, ""))
		return;
	t = at_spawn(&a, "t1", 0);
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_GUEST_PERM, 18), 0, "REQ_GUEST 18 granted");
	t->fpu.guest_perm.state_perm |= XK_GUEST_PERM_LOCKED;
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_GUEST_PERM, 18), 0,
		   "REQ_GUEST 18 again after the lock: already permitted -> 0, not EBUSY");
	at_shutdown(&a);
}

/* The sigaltstack rules: the request checks every thread with "<", and
 * sigaltstack() afterwards demands ">" a slightly different bound. */
static void check_altstack_rules(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t, *t2;
	struct xk_stack ss = { AT_ALT_BASE, 0, 0 };
	uint32_t frame, fsize;

	if (at_boot(&a, AMX, 2, "")) {
		tap_skip("%s does not boot", AMX);
		return;
	}
	k = &a.kt.k;
	t = at_spawn(&a, "t1", 0);
	xk_enter_kernel(k, 0);
	tap_eq_u64(xk_clone(k, 0, XK_CLONE_THREAD | XK_CLONE_VM, "t2", &t2), 0, "thread t2 created");
	xk_return_to_user(k, 0);
	frame = xk_sigframe_max_size(k, true) - k->ucfg.max_size + k->ucfg.max_size;
	tap_eq_u64(xk_perm_frame_size(k, k->ucfg.max_size), frame,
		   "permission frame bound with AMX = AT_MINSIGSTKSZ (%u)", frame);
	tap_eq_u64(xk_at_minsigstksz(k), 11952,
		   "Sapphire Rapids AT_MINSIGSTKSZ: round_up(736 + 15 + 11008 + 4 + 112 + 63, 16)");
	/* Before permission: any altstack >= MINSIGSTKSZ is accepted. */
	ss.size = frame - 1;
	tap_eq_u64(xk_sigaltstack(k, t2, 0, &ss, NULL), 0,
		   "no permission yet: t2 altstack of %u bytes accepted", frame - 1);
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 18), (uint64_t)-ENOSPC,
		   "t2's altstack is 1 byte short of the AMX frame -> ENOSPC");
	tap_eq_u64(get(&a, t, XK_ARCH_GET_XCOMP_PERM) & XS_BIT(XS_C_XTILEDATA), 0,
		   "refused: no permission recorded");
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_GUEST_PERM, 18), 0,
		   "a guest request does not look at altstacks");
	ss.size = frame;
	tap_eq_u64(xk_sigaltstack(k, t2, 0, &ss, NULL), 0, "t2 altstack grows to exactly %u", frame);
	tap_eq_u64(prctl(&a, t, XK_ARCH_REQ_XCOMP_PERM, 18), 0,
		   "an altstack of exactly the frame size passes the request check (<)");
	/* Now sigaltstack() enforces ss_size > fsize. */
	fsize = xk_sigframe_max_size(k, true) - (k->ucfg.max_size + 4 + 112) + k->ucfg.max_size;
	tap_eq_u64(xk_sigaltstack_min(k, t), fsize + 1, "sigaltstack minimum now %u", fsize + 1);
	ss.size = fsize;
	tap_eq_u64(xk_sigaltstack(k, t, 0, &ss, NULL), (uint64_t)-ENOMEM,
		   "with permission: altstack of %u (= fsize) -> ENOMEM", fsize);
	ss.size = 4096;
	tap_eq_u64(xk_sigaltstack(k, t, 0, &ss, NULL), (uint64_t)-ENOMEM,
		   "with permission: 4096-byte altstack -> ENOMEM");
	ss.size = fsize + 1;
	tap_eq_u64(xk_sigaltstack(k, t, 0, &ss, NULL), 0, "altstack of fsize + 1 accepted");
	ss.flags = XK_SS_DISABLE;
	ss.size = 16;
	tap_eq_u64(xk_sigaltstack(k, t, 0, &ss, NULL), 0, "SS_DISABLE needs no size");
	tap_eq_u64(t->sig.sas_ss_size, 0, "disabled");
	at_shutdown(&a);
}

/* Permission is per process: shared by threads, inherited by fork, reset
 * by exec, never revoked. */
static void check_lifetime(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t, *thr, *child;
	uint64_t tile = XS_BIT(XS_C_XTILEDATA);

	if (at_boot(&a, AMX, 2, "")) {
		tap_skip("%s does not boot", AMX);
		return;
	}
	k = &a.kt.k;
	t = at_spawn(&a, "t1", 0);
	xk_enter_kernel(k, 0);
	xk_clone(k, 0, XK_CLONE_THREAD | XK_CLONE_VM, "thr", &thr);
	xk_return_to_user(k, 0);
	tap_eq_u64(prctl(&a, thr, XK_ARCH_REQ_XCOMP_PERM, 18), 0, "a thread requests");
	tap_ok(get(&a, t, XK_ARCH_GET_XCOMP_PERM) & tile, "the whole process has it");
	xk_enter_kernel(k, 0);
	tap_eq_u64(xk_clone(k, 0, 0, "child", &child), 0, "fork");
	xk_return_to_user(k, 0);
	tap_ok(get(&a, child, XK_ARCH_GET_XCOMP_PERM) & tile, "the forked child inherits it");
	xk_enter_kernel(k, 0);
	xk_switch(k, 0, child);
	tap_eq_u64(xk_exec(k, 0), 0, "the child execs");
	xk_return_to_user(k, 0);
	tap_eq_u64(get(&a, child, XK_ARCH_GET_XCOMP_PERM) & tile, 0, "exec resets it");
	tap_ok(get(&a, t, XK_ARCH_GET_XCOMP_PERM) & tile, "the parent keeps it");
	at_shutdown(&a);
}

int main(void)
{
	tap_plan_lazy();
	check_codes();
	check_guest_lock();
	check_altstack_rules();
	check_lifetime();
	return tap_done();
}
