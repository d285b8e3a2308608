/* AMX first use (#NM -> permission -> allocation -> retry), allocation
 * failure, memory accounting, frames with and without AMX, and the two
 * seed-004 extensions: pre-allocation and harvesting. */
#include "abi_util.h"

#define AMX "intel-sapphire-rapids"

static bool fail_alloc;

static bool veto(void *ctx, const struct xk_task *t, size_t bytes)
{
	return fail_alloc;
}

/* Configure the tiles (LDTILECFG: palette 1, 8 tiles of 16 x 64 B). */
static void ldtilecfg(struct at *a, unsigned cpu)
{
	uint8_t cfg[64] = { 1 };
	struct xs_reg tc;

	for (int i = 0; i < 8; i++) {
		cfg[16 + 2 * i] = 64;
		cfg[48 + i] = 16;
	}
	xs_reg_lookup(&a->kt.m, "tilecfg", &tc);
	xs_reg_write(a->kt.k.cpu[cpu].hw, &tc, cfg);
}

/* A user instruction on tile data, with the kernel's fault handling. */
static struct xk_fault_result touch_tmm0(struct at *a, unsigned cpu, unsigned seed)
{
	struct xk_fault_result r = { XK_FA_RETRY, 0, 0, "no fault" };
	enum xs_fault f = kt_write(&a->kt, cpu, "tmm0", seed);

	if (f == XS_OK)
		return r;
	r = xk_handle_fault(&a->kt.k, cpu, f);
	if (r.action == XK_FA_RETRY)
		tap_ok(kt_write(&a->kt, cpu, "tmm0", seed) == XS_OK, "the instruction re-executes");
	else
		xk_return_to_user(&a->kt.k, cpu);
	return r;
}

static void check_first_use(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t, *t2;
	struct xk_fault_result r;
	uint64_t mem0, tile = XS_BIT(XS_C_XTILEDATA);
	uint32_t def;

	if (at_boot(&a, AMX, 2, "")) {
		tap_skip("%s does not boot", AMX);
		return;
	}
	k = &a.kt.k;
	xk_set_alloc_fail(k, veto, NULL);
	t = at_spawn(&a, "t1", 0);
	def = t->fpu.fpstate->size;
	kt_write(&a.kt, 0, "zmm3", 3);
	ldtilecfg(&a, 0);
	tap_eq_u64(xs_xfd(k->cpu[0].hw), tile, "XFD armed for the task by default");

	/* Without permission: SIGILL/ILL_ILLOPC, nothing allocated. */
	mem0 = k->mem.bytes;
	r = touch_tmm0(&a, 0, 1);
	tap_ok(r.action == XK_FA_SIGNAL && r.signo == XK_SIGILL && r.si_code == XK_ILL_ILLOPC,
	       "no permission: SIGILL/ILL_ILLOPC (%s)", r.why);
	tap_ok(k->mem.bytes == mem0 && t->fpu.fpstate == t->fpu.default_fpstate,
	       "no permission: nothing allocated");

	/* Permission, then an allocation failure: SIGSEGV, nothing changed. */
	tap_eq_u64(xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18), 0, "permission granted");
	fail_alloc = true;
	kt_reset_counts(&a.kt);
	r = touch_tmm0(&a, 0, 1);
	fail_alloc = false;
	tap_ok(r.action == XK_FA_SIGNAL && r.signo == XK_SIGSEGV && r.si_code == XK_SI_KERNEL,
	       "allocation failure: SIGSEGV at the instruction (%s)", r.why);
	tap_ok(k->mem.bytes == mem0 && k->mem.failures == 1 && t->fpu.fpstate->xfd == tile &&
		       xs_xfd(k->cpu[0].hw) == tile,
	       "allocation failure: no memory taken, XFD still armed");
	tap_eq_u64(kt_peek(&a.kt, 0, "zmm3", 3), 1, "allocation failure: registers kept");

	/* First use: #NM, permission check, allocation, XFD disarmed, retry. */
	kt_reset_counts(&a.kt);
	r = touch_tmm0(&a, 0, 7);
	tap_ok(r.action == XK_FA_RETRY, "first use with permission: retried (%s)", r.why);
	tap_ok(a.kt.n[XK_EV_PERM] == 1 && a.kt.n[XK_EV_ALLOC] == 1 && a.kt.n[XK_EV_REALLOC] == 1 &&
		       a.kt.n[XK_EV_FAULT] == 1,
	       "trace: #NM fault, permission check, allocation, buffer switch");
	tap_eq_u64(t->fpu.fpstate->size, t->proc->leader->fpu.perm.state_size,
		   "new buffer: the permitted kernel size");
	tap_eq_u64(t->fpu.fpstate->user_size, k->ucfg.max_size, "new buffer: full user size");
	tap_ok((t->fpu.fpstate->xfeatures & tile) && (t->fpu.fpstate->user_xfeatures & tile) &&
		       t->fpu.fpstate->xfd == 0 && xs_xfd(k->cpu[0].hw) == 0,
	       "XTILEDATA in the buffer's features, XFD disarmed (MSR 0)");
	tap_eq_u64(k->mem.bytes, mem0 + t->fpu.fpstate->size,
		   "machine accounting: + %u bytes", t->fpu.fpstate->size);
	tap_eq_u64(t->xstate_bytes, def + t->fpu.fpstate->size,
		   "task accounting: default %u + AMX buffer %u", def, t->fpu.fpstate->size);
	tap_eq_u64(kt_peek(&a.kt, 0, "zmm3", 3), 1, "registers survive the reallocation");
	tap_eq_u64(kt_peek(&a.kt, 0, "tmm0", 7), 1, "tile data written");

	/* Switches: the tile data is saved and restored; another task runs
	 * with XFD armed. */
	t2 = xk_spawn(k, "t2");
	kt_run(&a.kt, 0, t2);
	tap_eq_u64(xs_xfd(k->cpu[0].hw), tile, "t2 runs with XFD armed");
	ldtilecfg(&a, 0);
	tap_eq_u64(kt_write(&a.kt, 0, "tmm0", 1), XS_NM, "t2's tile access faults");
	xk_handle_fault(k, 0, XS_NM); /* t2's process has no permission: SIGILL */
	xk_return_to_user(k, 0);
	kt_run(&a.kt, 1, t);
	tap_eq_u64(kt_peek(&a.kt, 1, "tmm0", 7), 1, "t1's tile data follows it to cpu1");
	tap_eq_u64(xs_xfd(k->cpu[1].hw), 0, "XFD disarmed on cpu1 for t1");
	tap_ok(a.kt.bad == 0, "no invariant violation (%s)", a.kt.bad_why);

	/* exec frees the AMX buffer and drops the permission. */
	xk_enter_kernel(k, 1);
	xk_exec(k, 1);
	tap_ok(t->fpu.fpstate == t->fpu.default_fpstate && t->xstate_bytes == def &&
		       t->fpu.fpstate->xfd == tile,
	       "exec: back to the default buffer, XFD armed, %u bytes", def);
	at_shutdown(&a);
}

/* Frames: no AMX space without first use; AMX in init left out. */
static void check_frames(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t;
	struct xk_sigframe sf;
	uint32_t off;
	uint8_t v[64];

	if (at_boot(&a, AMX, 1, ""))
		return;
	k = &a.kt.k;
	t = at_spawn(&a, "t1", 0);
	off = a.kt.m.comp[XS_C_XTILEDATA].offset;
	at_deliver(&a, 0, AT_SP, 0, XK_SIGUSR1, &sf);
	tap_eq_u64(sf.xstate_size, k->ucfg.default_size,
		   "no permission: frame without tile data (%u bytes)", sf.xstate_size);
	tap_eq_u64(at_ld32(&a, sf.fpstate + 480), k->ucfg.default_size,
		   "sw xstate_size <= XTILEDATA offset (amx.c's check)");
	tap_eq_u64(at_ld64(&a, sf.fpstate + 472) & XS_BIT(XS_C_XTILEDATA), 0,
		   "sw xfeatures without XTILEDATA");
	at_sigreturn(&a, 0, sf.frame, NULL);
	xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	at_deliver(&a, 0, AT_SP, 0, XK_SIGUSR1, &sf);
	tap_eq_u64(sf.xstate_size, k->ucfg.default_size,
		   "permission, not used yet: still the small frame");
	at_sigreturn(&a, 0, sf.frame, NULL);
	ldtilecfg(&a, 0);
	touch_tmm0(&a, 0, 5);
	memset(at_mem(&a, AT_STACK_TOP - AT_STACK_SIZE, AT_STACK_SIZE), 0xa5, AT_STACK_SIZE);
	at_deliver(&a, 0, AT_SP, 0, XK_SIGUSR1, &sf);
	tap_eq_u64(sf.xstate_size, k->ucfg.max_size, "after first use: full frame (%u bytes)",
		   sf.xstate_size);
	tap_ok(at_ld64(&a, sf.fpstate + 512) & XS_BIT(XS_C_XTILEDATA), "tile data in XSTATE_BV");
	kt_pattern(v, 64, 5);
	tap_ok(memcmp(at_mem(&a, sf.fpstate + off, 64), v, 64) == 0, "TMM0 bytes at offset %u", off);
	tap_ok(sf.rfbm & XS_BIT(XS_C_XTILEDATA), "XSAVE mask includes XTILEDATA");
	at_sigreturn(&a, 0, sf.frame, NULL);
	tap_eq_u64(kt_peek(&a.kt, 0, "tmm0", 5), 1, "sigreturn restores the tile data");
	/* TILERELEASE: AMX in init, left out of the XSAVE (seed 004 item 9). */
	tap_eq_u64(xs_tilerelease(k->cpu[0].hw), XS_OK, "TILERELEASE");
	memset(at_mem(&a, AT_STACK_TOP - AT_STACK_SIZE, AT_STACK_SIZE), 0xa5, AT_STACK_SIZE);
	at_deliver(&a, 0, AT_SP, 0, XK_SIGUSR1, &sf);
	tap_eq_u64(sf.xstate_size, k->ucfg.max_size, "AMX in init: the frame keeps its full size");
	tap_eq_u64(sf.rfbm & XS_MASK_AMX, 0, "AMX in init: not in the XSAVE mask");
	tap_eq_u64(at_ld64(&a, sf.fpstate + 512) & XS_MASK_AMX, 0, "AMX in init: XSTATE_BV[18:17] 0");
	tap_ok(*at_mem(&a, sf.fpstate + off, 1) == 0xa5 &&
		       *at_mem(&a, sf.fpstate + off + 8191, 1) == 0xa5,
	       "AMX in init: the 8 KiB are not written");
	tap_eq_u64(at_ld32(&a, sf.fpstate + k->ucfg.max_size), XK_FP_XSTATE_MAGIC2,
		   "MAGIC2 still after the full size");
	tap_eq_u64(at_sigreturn(&a, 0, sf.frame, NULL), 0, "sigreturn of that frame");
	tap_eq_u64(kt_peek(&a.kt, 0, "tmm0", 0), 0, "tile data stays init");
	at_shutdown(&a);
}

static void check_prealloc(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t;
	struct xk_fault_result r;
	uint64_t mem0;

	if (at_boot(&a, AMX, 1, "prealloc=on"))
		return;
	k = &a.kt.k;
	xk_set_alloc_fail(k, veto, NULL);
	t = at_spawn(&a, "t1", 0);
	xk_enter_kernel(k, 0);
	tap_eq_u64(xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PREALLOC, 18), (uint64_t)-EPERM,
		   "prealloc without permission -> EPERM");
	tap_eq_u64(xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PREALLOC, 17),
		   (uint64_t)-EOPNOTSUPP, "prealloc idx 17 -> EOPNOTSUPP");
	xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	mem0 = k->mem.bytes;
	fail_alloc = true;
	tap_eq_u64(xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PREALLOC, 18), (uint64_t)-ENOMEM,
		   "prealloc, allocation fails -> ENOMEM (an error code, not a signal)");
	fail_alloc = false;
	tap_ok(k->mem.bytes == mem0 && t->fpu.fpstate == t->fpu.default_fpstate,
	       "ENOMEM: nothing changed");
	tap_eq_u64(xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PREALLOC, 18), 0, "prealloc -> 0");
	tap_ok(xk_xstate_is_prealloc(t) && t->fpu.fpstate->xfd == 0 &&
		       xs_xfd(k->cpu[0].hw) == 0,
	       "buffer allocated and marked, XFD disarmed");
	xk_return_to_user(k, 0);
	ldtilecfg(&a, 0);
	kt_reset_counts(&a.kt);
	r = touch_tmm0(&a, 0, 2);
	tap_ok(r.action == XK_FA_RETRY && a.kt.n[XK_EV_FAULT] == 0, "tile use takes no #NM");
	at_shutdown(&a);
}

/* Harvesting under memory pressure: clean, unused, not pre-allocated. */
static void check_harvest(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *clean, *dirty, *pre, *run;
	struct xk_fault_result r;
	uint64_t freed, mem0;
	uint32_t big;

	if (at_boot(&a, AMX, 2, "harvest=on prealloc=on"))
		return;
	k = &a.kt.k;
	clean = at_spawn(&a, "clean", 0);
	xk_arch_prctl(k, clean, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	kt_write(&a.kt, 0, "zmm5", 11);
	kt_write(&a.kt, 0, "k3", 12);
	ldtilecfg(&a, 0);
	touch_tmm0(&a, 0, 1);
	big = clean->fpu.fpstate->size;
	xs_tilerelease(k->cpu[0].hw); /* tiles back in init: clean */
	ldtilecfg(&a, 0);             /* TILECFG in use again; tile data stays init */

	dirty = xk_spawn(k, "dirty");
	kt_run(&a.kt, 0, dirty);
	xk_arch_prctl(k, dirty, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	ldtilecfg(&a, 0);
	touch_tmm0(&a, 0, 2);

	pre = xk_spawn(k, "pre");
	kt_run(&a.kt, 0, pre);
	xk_arch_prctl(k, pre, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	xk_enter_kernel(k, 0);
	xk_arch_prctl(k, pre, &a.mm, XK_ARCH_REQ_XCOMP_PREALLOC, 18);
	xk_return_to_user(k, 0);

	run = xk_spawn(k, "run");
	kt_run(&a.kt, 1, run);
	xk_arch_prctl(k, run, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	ldtilecfg(&a, 1);
	touch_tmm0(&a, 1, 3);
	xs_tilerelease(k->cpu[1].hw); /* clean but running */

	kt_idle(&a.kt, 0);
	mem0 = k->mem.bytes;
	tap_eq_u64(xk_xstate_harvest(k, &freed), 1, "harvest frees exactly one buffer");
	tap_eq_u64(freed, big, "%u bytes released", big);
	tap_eq_u64(k->mem.bytes, mem0 - big, "machine accounting drops by that");
	tap_ok(clean->fpu.fpstate == clean->fpu.default_fpstate &&
		       clean->fpu.fpstate->xfd == XS_BIT(XS_C_XTILEDATA),
	       "clean: back to the default buffer, XFD re-armed");
	tap_ok(dirty->fpu.fpstate != dirty->fpu.default_fpstate, "dirty (live tile data): kept");
	tap_ok(pre->fpu.fpstate != pre->fpu.default_fpstate && xk_xstate_is_prealloc(pre),
	       "pre-allocated: never harvested");
	tap_ok(run->fpu.fpstate != run->fpu.default_fpstate, "running: kept");
	/* The harvested task loses nothing and can use AMX again. */
	kt_run(&a.kt, 0, clean);
	tap_ok(kt_peek(&a.kt, 0, "zmm5", 11) == 1 && kt_peek(&a.kt, 0, "k3", 12) == 1,
	       "harvested task: its registers survived the move");
	tap_eq_u64(xs_xfd(k->cpu[0].hw), XS_BIT(XS_C_XTILEDATA), "harvested task runs with XFD armed");
	kt_reset_counts(&a.kt);
	r = touch_tmm0(&a, 0, 4);
	tap_ok(r.action == XK_FA_RETRY && a.kt.n[XK_EV_FAULT] == 1 && a.kt.n[XK_EV_REALLOC] == 1,
	       "next tile use: #NM and a new buffer");
	tap_ok(a.kt.bad == 0, "no invariant violation (%s)", a.kt.bad_why);
	at_shutdown(&a);

	if (at_boot(&a, AMX, 1, "") == 0) {
		clean = at_spawn(&a, "c", 0);
		xk_arch_prctl(&a.kt.k, clean, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
		ldtilecfg(&a, 0);
		touch_tmm0(&a, 0, 1);
		xs_tilerelease(a.kt.k.cpu[0].hw);
		kt_idle(&a.kt, 0);
		tap_eq_u64(xk_xstate_harvest(&a.kt.k, NULL), 0, "harvest=off (Linux): nothing freed");
		at_shutdown(&a);
	}
}

/* Reviewer additions (R4): paths where the registers a CPU holds are not
 * the task's own, and the MSR side of the #NM. Each fails if the rule it
 * names is removed. */

/* IA32_XFD_ERR is cleared by the #NM handler (traps.c handle_xfd_event). */
static void check_xfd_err_cleared(void)
{
	struct at a;
	if (at_boot(&a, AMX, 1, ""))
		return;
	at_spawn(&a, "t1", 0);
	xk_arch_prctl(&a.kt.k, a.kt.k.cpu[0].current, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	ldtilecfg(&a, 0);
	touch_tmm0(&a, 0, 3);
	tap_eq_u64(xs_xfd_err(a.kt.k.cpu[0].hw), 0, "after the XFD #NM: IA32_XFD_ERR cleared by the handler");
	at_shutdown(&a);
}

/* fpstate_realloc() with the registers not loaded (the task was switched
 * out inside the system call): they are loaded first, so the state is not
 * lost to the empty new buffer. */
static void check_prealloc_not_loaded(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t, *other;

	if (at_boot(&a, AMX, 1, "prealloc=on"))
		return;
	k = &a.kt.k;
	t = at_spawn(&a, "t1", 0);
	kt_write(&a.kt, 0, "zmm5", 21);
	xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	other = xk_spawn(k, "t2");
	xk_enter_kernel(k, 0);
	xk_switch(k, 0, other);
	xk_return_to_user(k, 0);
	kt_write(&a.kt, 0, "zmm5", 22);
	xk_enter_kernel(k, 0);
	xk_switch(k, 0, t);
	tap_ok(t->need_load != 0, "prealloc: t1 back in the kernel, its registers not loaded");
	tap_eq_u64(xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PREALLOC, 18), 0,
		   "prealloc with the registers not loaded -> 0");
	xk_return_to_user(k, 0);
	tap_eq_u64(kt_peek(&a.kt, 0, "zmm5", 21), 1, "prealloc: t1's ZMM5 survived the new buffer");
	tap_ok(a.kt.bad == 0, "prealloc: no invariant violation (%s)", a.kt.bad_why);
	at_shutdown(&a);
}

/* A harvested task whose CPU still holds its registers (nothing ran there
 * since): the next return to user mode must restore, which re-arms XFD. */
static void check_harvest_same_cpu(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t;
	struct xk_fault_result r;

	if (at_boot(&a, AMX, 1, "harvest=on"))
		return;
	k = &a.kt.k;
	t = at_spawn(&a, "t1", 0);
	xk_arch_prctl(k, t, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	ldtilecfg(&a, 0);
	touch_tmm0(&a, 0, 1);
	xs_tilerelease(k->cpu[0].hw);
	kt_idle(&a.kt, 0);
	tap_eq_u64(xk_xstate_harvest(k, NULL), 1, "same CPU: the clean buffer is harvested");
	kt_run(&a.kt, 0, t);
	tap_eq_u64(xs_xfd(k->cpu[0].hw), XS_BIT(XS_C_XTILEDATA),
		   "same CPU: back on the CPU that held its registers, XFD re-armed");
	ldtilecfg(&a, 0);
	kt_reset_counts(&a.kt);
	r = touch_tmm0(&a, 0, 2);
	tap_ok(r.action == XK_FA_RETRY && a.kt.n[XK_EV_FAULT] == 1 && a.kt.n[XK_EV_REALLOC] == 1,
	       "same CPU: the next tile use takes #NM and allocates again");
	at_shutdown(&a);
}

/* fpu__clear_user_states() updates XFD: a sigreturn with a NULL fpstate
 * by a task (no AMX) whose CPU last ran an AMX task (XFD 0) must not
 * leave XFD disarmed ("x86/fpu: Ensure XFD state on signal delivery"). */
static void check_clear_user_states_xfd(void)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t, *amx;
	struct xk_sigframe sf;
	struct xk_fault_result r;
	uint64_t tile = XS_BIT(XS_C_XTILEDATA);

	if (at_boot(&a, AMX, 1, ""))
		return;
	k = &a.kt.k;
	t = at_spawn(&a, "t1", 0);
	at_deliver(&a, 0, AT_SP, 0, XK_SIGUSR1, &sf);
	at_st64(&a, sf.frame + XK_RTF_FPSTATE, 0);
	amx = xk_spawn(k, "amx");
	xk_enter_kernel(k, 0);
	xk_switch(k, 0, amx);
	xk_return_to_user(k, 0);
	xk_arch_prctl(k, amx, &a.mm, XK_ARCH_REQ_XCOMP_PERM, 18);
	ldtilecfg(&a, 0);
	touch_tmm0(&a, 0, 5);
	tap_eq_u64(xs_xfd(k->cpu[0].hw), 0, "clear_user_states: the AMX task runs with XFD 0");
	xk_enter_kernel(k, 0);
	xk_switch(k, 0, t); /* t1 in its sigreturn system call, registers not loaded */
	tap_eq_u64(at_sigreturn(&a, 0, sf.frame, NULL), 0, "clear_user_states: sigreturn, fpstate NULL");
	tap_eq_u64(xs_xfd(k->cpu[0].hw), tile, "clear_user_states: t1 back in user mode with XFD armed");
	ldtilecfg(&a, 0);
	r = touch_tmm0(&a, 0, 6);
	tap_ok(r.action == XK_FA_SIGNAL && r.signo == XK_SIGILL,
	       "clear_user_states: t1's tile access still takes #NM -> SIGILL");
	tap_ok(t->fpu.fpstate == t->fpu.default_fpstate, "clear_user_states: t1 has no AMX buffer");
	at_shutdown(&a);
}

int main(void)
{
	tap_plan_lazy();
	check_first_use();
	check_frames();
	check_prealloc();
	check_harvest();
	check_xfd_err_cleared();
	check_prealloc_not_loaded();
	check_harvest_same_cpu();
	check_clear_user_states_xfd();
	return tap_done();
}
