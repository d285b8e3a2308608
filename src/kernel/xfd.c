/* Dynamic features at run time: the XFD first-use path, buffer growth,
 * and the two seed-004 extensions Linux does not have.
 *
 * arch/x86/kernel/fpu/xstate.c: __xfd_enable_feature(), fpstate_realloc();
 * arch/x86/kernel/traps.c: handle_xfd_event() (fault.c calls in here once
 * the group permission covers the event); linux-design.md 4.3.
 *
 * First use: the task touched tile data while XFD arms it, the #NM handler
 * cleared XFD_ERR and checked the permission; here the larger buffer is
 * allocated (a scenario's allocation veto makes it fail: the caller then
 * sends SIGSEGV at the faulting instruction), XFD is disarmed for the task
 * and the instruction runs again. Nothing is copied: the live state stays
 * in the registers (they are loaded first if they were not).
 *
 * Beyond Linux (seed 004 items 7 and "lazy harvest"), both off by default:
 *   prealloc=on  ARCH_REQ_XCOMP_PREALLOC: the same allocation done by a
 *                system call of one task, which returns -ENOMEM instead of
 *                a signal; the buffer is marked pre-allocated.
 *   harvest=on   xk_xstate_harvest(), called under memory pressure: tasks
 *                that are not running and whose tile data is in its
 *                initial configuration ("clean, unused") go back to the
 *                default buffer with XFD re-armed; the large buffer is
 *                freed. A pre-allocated buffer is never harvested -- the
 *                guarantee the pre-allocation call made.
 */
#include <errno.h>

#include "kernel/abi_internal.h"

static void trace_realloc(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			  const struct xk_fpstate *from, const struct xk_fpstate *to, const char *why)
{
	XK_TRACE(k, .type = XK_EV_REALLOC, .cpu = c ? (int)c->id : -1, .task = t,
		 .bytes = to->size, .old = from->size, .mask = to->xfeatures, .value = to->xfd,
		 .why = why);
}

int xk_abi_fpstate_realloc(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			   uint64_t xf, uint32_t ksize, uint32_t usize, const char *why)
{
	struct xk_fpu *fpu = &t->fpu;
	struct xk_fpstate *cur = fpu->fpstate, *nfs;

	nfs = xk_fpstate_alloc(k, t, ksize); /* vzalloc(); the scenario veto acts here */
	if (!nfs)
		return -ENOMEM;
	nfs->user_size = usize;
	nfs->is_valloc = true;

	/* fpregs_lock(): the state must be in the registers before the
	 * buffer (and maybe its layout) changes under it. */
	if (t->need_load && c && c->current == t)
		xk_restore_userregs(k, c, t, "realloc: load registers first");

	nfs->xfeatures = cur->xfeatures | xf;
	nfs->user_xfeatures = cur->user_xfeatures | xf;
	nfs->xfd = cur->xfd & ~xf;
	xk_fpstate_init_xcomp(k, nfs);
	fpu->fpstate = nfs;
	if (c)
		xk_xfd_update(k, c, nfs); /* disarm XFD for the task now */
	/* Mutant amx-realloc-no-copy (checker issue): the old state is not
	 * carried over -- the registers are reloaded from the new buffer,
	 * which holds nothing yet. */
	if (c && c->current == t && xk_mutant(k, XK_MUT_AMX_REALLOC_NO_COPY)) {
		xk_restore_fpregs(k, c, nfs, k->restore_mask, "realloc (mutant): from the new buffer");
		xk_mark_active(k, c, t, "realloc (mutant)");
	}
	trace_realloc(k, c, t, cur, nfs, why);
	/* Only a grown (vmalloc'ed) buffer is freed; the default one belongs
	 * to the task (embedded in task_struct in Linux). */
	if (cur->is_valloc)
		xk_fpstate_free(k, cur);
	return 0;
}

/* __xfd_enable_feature(xfd_err, NULL). fault.c already cleared XFD_ERR,
 * masked the event to USER_DYNAMIC and checked the permission under the
 * (modelled) siglock; the sizes are read from the group's record. */
int xk_xfd_enable_feature(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			  uint64_t event)
{
	struct xk_perm *perm = xk_group_perm(t);
	uint32_t ksize, usize;

	if (!perm || (perm->state_perm & event) != event)
		return -EPERM;
	XK_TRACE(k, .type = XK_EV_PERM, .cpu = (int)c->id, .task = t, .mask = event,
		 .value = perm->state_perm, .bytes = perm->user_state_size, .si_code = 0,
		 .why = "#NM: the process has permission");
	/* Linux trusts the sizes stored with the permission; a record whose
	 * bit was set without them (a test poking it) must not yield a buffer
	 * too small for its features. */
	ksize = xk_calc_size(k, t->fpu.fpstate->xfeatures | event, k->compacted);
	usize = abi_user_size(k, t->fpu.fpstate->user_xfeatures | event);
	if (perm->state_size > ksize)
		ksize = perm->state_size;
	if (perm->user_state_size > usize)
		usize = perm->user_state_size;
	/* "If that fails there is no way out": -EFAULT -> SIGSEGV. */
	if (xk_abi_fpstate_realloc(k, c, t, event, ksize, usize, "XFD first use"))
		return -EFAULT;
	return 0;
}

/* ARCH_REQ_XCOMP_PREALLOC (not Linux). Argument checks as for
 * ARCH_REQ_XCOMP_PERM; then the first-use allocation, synchronously. */
int xk_abi_prealloc(struct xk_kernel *k, struct xk_task *t, unsigned long idx)
{
	uint64_t req = idx == XK_ARCH_XCOMP_TILEDATA ? XS_BIT(XS_C_XTILEDATA) : 0;
	struct xk_perm *perm = xk_group_perm(t);
	struct xk_cpu *c;
	int ret;

	if (idx >= XS_NAMED_COMPS)
		return -EINVAL;
	if (!req || (k->ucfg.max_features & req) != req)
		return -EOPNOTSUPP;
	if (!perm || (perm->state_perm & req) != req) {
		XK_TRACE(k, .type = XK_EV_PERM, .cpu = t->on_cpu, .task = t,
			 .reg = XK_ARCH_REQ_XCOMP_PREALLOC, .mask = req,
			 .value = perm ? perm->state_perm : 0, .si_code = -EPERM,
			 .why = "pre-allocation without permission");
		return -EPERM;
	}
	/* A system call: t is current in kernel mode. */
	if (t->on_cpu < 0 || k->cpu[t->on_cpu].current != t || k->cpu[t->on_cpu].user_mode)
		return -EINVAL;
	c = &k->cpu[t->on_cpu];
	if ((t->fpu.fpstate->xfeatures & req) != req) {
		ret = xk_abi_fpstate_realloc(k, c, t, req, perm->state_size,
					     perm->user_state_size, "pre-allocation");
		if (ret)
			return ret;
	}
	t->fpu.fpstate->is_prealloc = true;
	return 0;
}

bool xk_xstate_is_prealloc(const struct xk_task *t)
{
	return t && t->fpu.fpstate && t->fpu.fpstate->is_prealloc;
}

/* Move t's state from its grown buffer back into its default buffer: the
 * legacy area, the header and every component the default buffer has, at
 * the offsets each buffer's own format gives (the standard offsets, or
 * each buffer's compacted layout). Dynamic components are in their init
 * state (the caller checked), so nothing is lost. */
static void shrink_to_default(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_fpu *fpu = &t->fpu;
	struct xk_fpstate *big = fpu->fpstate, *def = fpu->default_fpstate;
	uint64_t dyn = big->xfeatures & ~def->xfeatures;
	uint64_t bv = xk_fpstate_xstate_bv(big) & def->xfeatures;
	uint64_t rest;

	memcpy(def->regs, big->regs, XS_LEGACY_SIZE);
	memset(def->regs + XS_HDR_OFFSET, 0, XS_HDR_SIZE);
	abi_st64(def->regs + XS_HDR_OFFSET, bv);
	xk_fpstate_init_xcomp(k, def);
	for (rest = bv & ~XS_MASK_FPSSE; rest; rest &= rest - 1) {
		unsigned i = (unsigned)__builtin_ctzll(rest);
		uint32_t from = xk_comp_offset(k, big, i), to = xk_comp_offset(k, def, i);

		if (from && to)
			memcpy(def->regs + to, big->regs + from, k->xf[i].size);
	}
	def->user_xfeatures = big->user_xfeatures & ~dyn;
	def->xfd = big->xfd | (dyn & k->init_xfd); /* re-arm XFD */
	def->is_prealloc = false;
	fpu->fpstate = def;
	/* The registers a CPU may still hold for t were loaded with XFD
	 * disarmed: force the next return to user to restore (and write XFD). */
	fpu->last_cpu = -1;
	trace_realloc(k, NULL, t, big, def, "harvest: clean AMX buffer freed, XFD re-armed");
	xk_fpstate_free(k, big);
}

unsigned xk_xstate_harvest(struct xk_kernel *k, uint64_t *bytes)
{
	unsigned n = 0;
	uint64_t freed = 0;

	if (bytes)
		*bytes = 0;
	if (!k->policy.xfd_harvest || !k->dynamic)
		return 0;
	for (struct xk_task *t = k->tasks; t; t = t->all_next) {
		struct xk_fpstate *fps = t->fpu.fpstate, *def = t->fpu.default_fpstate;
		uint64_t dyn;

		if (!xk_user_task(t) || (t->flags & (XK_TF_EXITING | XK_TF_DEAD)))
			continue;
		/* Running tasks own live registers: not unused. */
		if (t->on_cpu >= 0 || !t->need_load)
			continue;
		if (!fps || fps == def || !fps->is_valloc || fps->is_guest || t->fpu.task_fpstate)
			continue;
		/* The pre-allocation guarantee; mutant harvest-prealloc (checker
		 * issue) breaks it. */
		if (fps->is_prealloc && !xk_mutant(k, XK_MUT_HARVEST_PREALLOC))
			continue;
		dyn = fps->xfeatures & ~def->xfeatures & XK_MASK_USER_DYNAMIC;
		if (xk_fpstate_xstate_bv(fps) & dyn) /* dirty: live tile data */
			continue;
		freed += fps->size;
		shrink_to_default(k, t);
		n++;
	}
	if (bytes)
		*bytes = freed;
	return n;
}
