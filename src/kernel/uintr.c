/* User interrupts (UINTR, component 14): the 2021 RFC "x86 User Interrupts
 * support" (never merged; linux-design.md 9) and seed 001.
 *
 * Two architectural rules make UINTR special (SDM 13.5.11, ISE):
 *   - XSAVES clears UINV after saving: a save is destructive. The
 *     "registers are still valid" shortcut (owner/last_cpu) then returns
 *     a task to user mode with UINV = 0, and its notifications are no
 *     longer recognized -- user interrupts are lost.
 *   - XRSTORS #GPs, before loading UINTR, while UINV != 0: restoring a
 *     second time without a save in between faults, so every path that
 *     restores without having saved (exec's buffer reset, a task that
 *     exited without saving) becomes a kernel #GP.
 *
 * policy uintr=ordinary: UINTR is one more supervisor component of the task
 * buffer; the RFC's UPID handling (SN set when the state is saved, cleared
 * with pending requests re-sent before user mode) but nothing else. This
 * is what seed 001 predicts breaks.
 * policy uintr=independent: seed 001's proposal -- UINTR lives in a buffer
 * of its own, saved with its own XSAVES at every switch-out (UINV = 0 from
 * then on: kernel threads and other tasks never see it) and restored with
 * its own XRSTORS before every return to user mode that finds it not live
 * on this CPU. No shortcut: the save destroyed UINV.
 *
 * The second half of the file is the hardware the architecture model does
 * not implement: SENDUIPI's UPID update, the notification IPI, and
 * user-interrupt delivery.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/special_internal.h"
#include "xstate/kernel_abi.h" /* XK_TASK_SIZE_MAX */

/* Kernel addresses of UPIDs (synthetic: canonical, 64-byte aligned, one
 * per task id), as written to IA32_UINTR_PD. */
#define UPID_BASE 0xffff888040000000ULL
#define UINTR_STACKADJUST 128u /* the x86-64 red zone, as the RFC set it */

static uint64_t upid_nv(const struct xk_upid *u)
{
	return (u->nc >> 16) & 0xff;
}

static unsigned upid_ndst(const struct xk_upid *u)
{
	return (unsigned)(u->nc >> 32);
}

static void upid_set_ndst(struct xk_upid *u, unsigned cpu)
{
	u->nc = (u->nc & 0xffffffffULL) | ((uint64_t)cpu << 32);
}

bool xk_uintr_enabled(const struct xk_kernel *k)
{
	uint64_t m = k->kcfg.max_features | k->kcfg.independent_features;

	return k->policy.uintr != XK_UINTR_OFF && (m & XS_BIT(XS_C_UINTR));
}

struct xk_uintr *xk_uintr_of(const struct xk_task *t)
{
	return t && t->special ? t->special->uintr : NULL;
}

/* The receiver whose UPID lives at addr (IA32_UINTR_PD), NULL if none. */
static struct xk_task *upid_owner(const struct xk_kernel *k, uint64_t addr)
{
	for (struct xk_task *t = k->tasks; t; t = t->all_next) {
		const struct xk_uintr *u = xk_uintr_of(t);

		if (u && u->upid_addr == addr)
			return t;
	}
	return NULL;
}

static void uintr_trace(struct xk_kernel *k, int cpu, const struct xk_task *t, uint64_t vector,
			uint64_t reqs, const char *why)
{
	XK_TRACE(k, .type = XK_EV_UINTR, .cpu = cpu, .task = t, .value = vector, .mask = reqs,
		 .why = why);
}

/* RDMSR/WRMSR of the UINTR MSRs as the kernel (or, in the hardware half,
 * the processor) does them: at CPL 0 whatever the CPU model's CPL. */
static uint64_t u_rdmsr(struct xk_kernel *k, struct xk_cpu *c, uint32_t msr)
{
	int cpl = xk_special_cpl0(c);
	uint64_t v = 0;
	enum xs_fault f = xs_rdmsr(c->hw, msr, &v);

	xk_special_cpl_restore(c, cpl);
	if (f)
		xk_warn(k, (int)c->id, "UINTR: RDMSR faulted", XK_I_RDMSR, f);
	return v;
}

static void u_wrmsr(struct xk_kernel *k, struct xk_cpu *c, uint32_t msr, uint64_t v)
{
	int cpl = xk_special_cpl0(c);
	enum xs_fault f = xs_wrmsr(c->hw, msr, v);

	xk_special_cpl_restore(c, cpl);
	if (f)
		xk_warn(k, (int)c->id, "UINTR: WRMSR faulted", XK_I_WRMSR, f);
}

static uint8_t cpu_uinv(struct xk_kernel *k, struct xk_cpu *c)
{
	return (uint8_t)(u_rdmsr(k, c, XS_MSR_UINTR_MISC) >> 32);
}

/* Clear the receiver state in the registers: UINV first (so nothing more
 * is recognized), then the rest. */
static void clear_uintr_regs(struct xk_kernel *k, struct xk_cpu *c)
{
	u_wrmsr(k, c, XS_MSR_UINTR_MISC, 0);
	u_wrmsr(k, c, XS_MSR_UINTR_HANDLER, 0);
	u_wrmsr(k, c, XS_MSR_UINTR_STACKADJUST, 0);
	u_wrmsr(k, c, XS_MSR_UINTR_PD, 0);
	u_wrmsr(k, c, XS_MSR_UINTR_RR, 0);
}

int xk_uintr_register(struct xk_kernel *k, unsigned cpu, uint64_t handler)
{
	struct xk_special *sp;
	struct xk_uintr *u;
	struct xk_cpu *c;
	struct xk_task *t;
	uint64_t misc;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	t = c->current;
	if (!xk_user_task(t) || c->user_mode)
		return -EINVAL;
	if (!xk_uintr_enabled(k))
		return -EOPNOTSUPP;
	if (!handler || handler >= XK_TASK_SIZE_MAX)
		return -EINVAL;
	sp = xk_special_get(k, t);
	if (!sp)
		return -ENOMEM;
	if (sp->uintr)
		return -EBUSY;
	u = aligned_alloc(64, sizeof(*u));
	if (!u)
		return -ENOMEM;
	memset(u, 0, sizeof(*u));
	u->upid_addr = UPID_BASE + (uint64_t)t->tid * 64;
	u->handler = handler;
	u->live_cpu = -1;
	u->upid.nc = (uint64_t)XK_UINTR_NV << 16;
	upid_set_ndst(&u->upid, cpu);
	if (k->policy.uintr == XK_UINTR_INDEPENDENT) {
		u->buf = xk_indep_alloc(k, t, XS_BIT(XS_C_UINTR));
		if (!u->buf) {
			free(u);
			return -ENOMEM;
		}
	} else if (t->need_load) {
		/* fpregs_lock_and_load(): program the live registers. */
		xk_restore_userregs(k, c, t, "fpregs_lock_and_load");
	}
	sp->uintr = u;
	/* do_uintr_register_handler(): UINV last. */
	u_wrmsr(k, c, XS_MSR_UINTR_HANDLER, handler);
	u_wrmsr(k, c, XS_MSR_UINTR_PD, u->upid_addr);
	u_wrmsr(k, c, XS_MSR_UINTR_STACKADJUST, UINTR_STACKADJUST);
	misc = u_rdmsr(k, c, XS_MSR_UINTR_MISC) & ~(0xffULL << 32);
	u_wrmsr(k, c, XS_MSR_UINTR_MISC, misc | (uint64_t)XK_UINTR_NV << 32);
	if (k->policy.uintr == XK_UINTR_INDEPENDENT)
		u->live_cpu = (int)cpu;
	uintr_trace(k, (int)cpu, t, XK_UINTR_NV, 0, "receiver registered: UINV set");
	return 0;
}

/* uintr_free(): the registration goes away (unregister, exec, exit).
 * clear_regs: also clear the registers -- always for uintr=independent and
 * the explicit unregister; under uintr=ordinary, exec and exit treat UINTR
 * like any other component and leave the registers to the buffer reset. */
static void drop(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t, bool clear_regs,
		 const char *why)
{
	struct xk_uintr *u = xk_uintr_of(t);

	if (!u)
		return;
	if (clear_regs) {
		if (k->policy.uintr == XK_UINTR_ORDINARY && t->need_load)
			xk_restore_userregs(k, c, t, "fpregs_lock_and_load");
		clear_uintr_regs(k, c);
	}
	uintr_trace(k, (int)c->id, t, 0, u->upid.pir, why);
	xk_indep_free(k, u->buf);
	free(u);
	t->special->uintr = NULL;
}

int xk_uintr_unregister(struct xk_kernel *k, unsigned cpu)
{
	struct xk_cpu *c;
	struct xk_task *t;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	t = c->current;
	if (!xk_user_task(t) || c->user_mode || !xk_uintr_of(t))
		return -EINVAL;
	drop(k, c, t, true, "receiver unregistered");
	return 0;
}

void xk_uintr_drop(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t, const char *why)
{
	drop(k, c, t, k->policy.uintr == XK_UINTR_INDEPENDENT, why);
}

void xk_uintr_release(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_uintr *u = xk_uintr_of(t);

	if (!u)
		return;
	xk_indep_free(k, u->buf);
	free(u);
	t->special->uintr = NULL;
}

/* Switch-out of a receiver: suppress notifications (SN, tglx: "wherever
 * xstate is saved"); uintr=independent also saves the state now, which
 * clears UINV on this CPU. (ordinary: switch_fpu()'s XSAVES did that.) */
void xk_uintr_switch_out(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev)
{
	struct xk_uintr *u = xk_uintr_of(prev);

	if (!u)
		return;
	u->upid.nc |= XK_UPID_SN;
	if (k->policy.uintr == XK_UINTR_INDEPENDENT && u->live_cpu == (int)c->id) {
		xk_xsaves_indep(k, c->id, u->buf, XS_BIT(XS_C_UINTR), "uintr switch-out");
		u->live_cpu = -1;
	}
}

/* Before user mode (the RFC's switch_uintr_return()): independent state
 * restored if it is not live here, NDST = this CPU, SN cleared, and
 * requests posted while notifications were suppressed re-sent as a
 * self-IPI of the notification vector. */
void xk_uintr_return_to_user(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	struct xk_uintr *u = xk_uintr_of(t);

	if (!u)
		return;
	if (k->policy.uintr == XK_UINTR_INDEPENDENT && u->live_cpu != (int)c->id) {
		/* Mutant: trust owner/last_cpu as for the FPU registers. */
		if (xk_mutant(k, XK_MUT_UINTR_SHORTCUT) && xk_fpregs_valid(k, &t->fpu, c->id)) {
			uintr_trace(k, (int)c->id, t, 0, 0,
				    "restore skipped: owner/last_cpu say the registers are valid");
		} else {
			xk_xrstors_indep(k, c->id, u->buf, XS_BIT(XS_C_UINTR),
					 "uintr return to user");
		}
		u->live_cpu = (int)c->id;
	}
	upid_set_ndst(&u->upid, c->id);
	u->upid.nc &= ~XK_UPID_SN;
	if (u->upid.pir) {
		u->upid.nc |= XK_UPID_ON;
		uintr_trace(k, (int)c->id, t, upid_nv(&u->upid), u->upid.pir,
			    "pending requests: self-IPI of the notification vector");
		if (!xk_uintr_notify(k, c->id, (unsigned)upid_nv(&u->upid)))
			u->spurious++;
	}
}

/* fork: the child is no receiver. uintr=ordinary: its buffer got the
 * parent's UINTR state from the fork XSAVES; drop it from XSTATE_BV (as
 * for PASID) so the child never loads the parent's UPID. */
void xk_uintr_clone(struct xk_kernel *k, struct xk_task *child)
{
	struct xk_fpstate *fps = child->fpu.fpstate;
	uint64_t bv;

	if (k->policy.uintr != XK_UINTR_ORDINARY || !(fps->xfeatures & XS_BIT(XS_C_UINTR)))
		return;
	bv = xk_fpstate_xstate_bv(fps) & ~XS_BIT(XS_C_UINTR);
	memcpy(fps->regs + XS_HDR_OFFSET, &bv, sizeof(bv));
}

/* ---- The hardware side (see kernel_special.h) ---- */

int xk_uintr_senduipi(struct xk_kernel *k, struct xk_task *r, unsigned vector)
{
	struct xk_uintr *u = xk_uintr_of(r);
	unsigned ndst;

	if (!u || vector > 63)
		return -EINVAL;
	u->posted++;
	u->upid.pir |= 1ULL << vector;
	if (u->upid.nc & (XK_UPID_SN | XK_UPID_ON)) {
		uintr_trace(k, -1, r, vector, u->upid.pir,
			    u->upid.nc & XK_UPID_SN ? "posted (SN set: no notification)"
						    : "posted (ON already set)");
		return 0;
	}
	u->upid.nc |= XK_UPID_ON;
	ndst = upid_ndst(&u->upid);
	uintr_trace(k, (int)ndst, r, vector, u->upid.pir, "posted, notification IPI sent");
	if (ndst >= k->ncpus)
		return 1;
	if (!xk_uintr_notify(k, ndst, (unsigned)upid_nv(&u->upid)))
		u->spurious++;
	return 1;
}

int xk_uintr_notify(struct xk_kernel *k, unsigned cpu, unsigned vector)
{
	struct xk_cpu *c;
	struct xk_task *owner;
	struct xk_uintr *u;
	uint8_t uinv;

	if (cpu >= k->ncpus)
		return 0;
	c = &k->cpu[cpu];
	uinv = cpu_uinv(k, c);
	if (!uinv || uinv != vector) {
		/* An ordinary interrupt: the kernel's handler for the vector. */
		k->stats.uintr_spurious++;
		uintr_trace(k, (int)cpu, c->current, vector, uinv,
			    "not UINV here: ordinary interrupt, the kernel ignores it; the "
			    "request stays posted");
		return 0;
	}
	/* User-interrupt notification processing: the UPID at UINTR_PD. */
	owner = upid_owner(k, u_rdmsr(k, c, XS_MSR_UINTR_PD));
	u = xk_uintr_of(owner);
	if (!u) {
		xk_warn(k, (int)cpu, "UINTR notification: IA32_UINTR_PD names no UPID", XK_I_NONE,
			XS_OK);
		return 1;
	}
	u->upid.nc &= ~XK_UPID_ON;
	u->notifications++;
	u_wrmsr(k, c, XS_MSR_UINTR_RR, u_rdmsr(k, c, XS_MSR_UINTR_RR) | u->upid.pir);
	uintr_trace(k, (int)cpu, owner, vector, u->upid.pir, "notification: PIR -> UIRR");
	u->upid.pir = 0;
	if (c->user_mode)
		xk_uintr_deliver(k, cpu);
	return 1;
}

unsigned xk_uintr_deliver(struct xk_kernel *k, unsigned cpu)
{
	struct xk_cpu *c;
	struct xk_task *owner;
	struct xk_uintr *u;
	uint64_t uirr;
	unsigned n = 0;

	if (cpu >= k->ncpus || !xk_uintr_enabled(k))
		return 0;
	c = &k->cpu[cpu];
	if (!c->user_mode)
		return 0;
	uirr = u_rdmsr(k, c, XS_MSR_UINTR_RR);
	if (!uirr)
		return 0;
	owner = upid_owner(k, u_rdmsr(k, c, XS_MSR_UINTR_PD));
	u = xk_uintr_of(owner);
	while (uirr) {
		unsigned v = 63u - (unsigned)__builtin_clzll(uirr);

		uirr &= ~(1ULL << v);
		u_wrmsr(k, c, XS_MSR_UINTR_RR, uirr);
		if (!u) {
			xk_warn(k, (int)cpu, "user interrupt delivered with no receiver's state "
				"loaded", XK_I_NONE, XS_OK);
			continue;
		}
		if (owner != c->current) {
			u->misdelivered++;
			uintr_trace(k, (int)cpu, owner, v, uirr,
				    "delivered to its handler in ANOTHER task's context");
			continue;
		}
		u->delivered++;
		u->vectors_delivered |= 1ULL << v;
		n++;
		uintr_trace(k, (int)cpu, owner, v, uirr, "delivered to the user handler");
	}
	return n;
}

const char *xk_uintr_check(const struct xk_kernel *k, unsigned cpu)
{
	const struct xk_cpu *c;
	const struct xk_uintr *u;
	const uint8_t *r;
	uint64_t pd;

	if (cpu >= k->ncpus || !xk_uintr_enabled(k))
		return NULL;
	c = &k->cpu[cpu];
	u = xk_uintr_of(c->current);
	if (!c->user_mode || !u)
		return NULL;
	r = xs_comp_regs(c->hw, XS_C_UINTR);
	if (!r)
		return NULL;
	memcpy(&pd, r + 24, sizeof(pd));
	if (r[20] != upid_nv(&u->upid))
		return "a receiver runs in user mode with UINV != its notification vector: "
		       "notifications reach the kernel, user interrupts are lost";
	if (pd != u->upid_addr)
		return "a receiver runs in user mode with IA32_UINTR_PD not naming its UPID";
	if (u->upid.nc & XK_UPID_SN)
		return "a receiver runs in user mode with SN set: senders only post";
	if (upid_ndst(&u->upid) != cpu)
		return "a receiver runs in user mode on a CPU its UPID's NDST does not name";
	if (u->upid.pir || (u->upid.nc & XK_UPID_ON))
		return "a receiver runs in user mode with requests left posted in its UPID";
	return NULL;
}
