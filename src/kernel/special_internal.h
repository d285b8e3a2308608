/* Special states (kernel_special.h): the hooks the core kernel code calls
 * and the policy masks the boot configuration uses. Not part of the API. */
#ifndef XSTATE_KERNEL_SPECIAL_INTERNAL_H
#define XSTATE_KERNEL_SPECIAL_INTERNAL_H

#include "kernel/kernel_internal.h"
#include "xstate/kernel_special.h"

/* ---- Policy masks for config.c ---- */

/* The supervisor features task buffers may carry (Linux:
 * XFEATURE_MASK_SUPERVISOR_SUPPORTED), adjusted by policy: uintr=ordinary
 * adds UINTR (the RFC), cet-s=independent takes CET_S out. */
static inline uint64_t xk_special_supervisor_mask(const struct xk_policy *p)
{
	uint64_t m = XK_MASK_SUPERVISOR_SUPPORTED;

	if (p->uintr == XK_UINTR_ORDINARY)
		m |= XS_BIT(XS_C_UINTR);
	if (p->cet_s == XK_CET_S_INDEPENDENT)
		m &= ~XS_BIT(XS_C_CET_S);
	return m;
}

/* Features a policy makes independent (in IA32_XSS, never in an fpstate). */
static inline uint64_t xk_special_independent_mask(const struct xk_policy *p)
{
	uint64_t m = 0;

	if (p->uintr == XK_UINTR_INDEPENDENT)
		m |= XS_BIT(XS_C_UINTR);
	if (p->cet_s == XK_CET_S_INDEPENDENT)
		m |= XS_BIT(XS_C_CET_S);
	return m;
}

/* Features kept out of host default buffers but put in guest ones
 * (Linux v6.17: XFEATURE_MASK_GUEST_SUPERVISOR). cet-s=task: none. */
static inline uint64_t xk_special_guest_only_mask(const struct xk_policy *p)
{
	return p->cet_s == XK_CET_S_GUEST ? XK_MASK_GUEST_SUPERVISOR : 0;
}

/* ---- Hooks in the core paths ---- */

/* xk_switch(), after switch_fpu(prev) and before the lazy policy sets
 * CR0.TS: perf LBR sched-out/in, UINTR switch-out, x86_pkru_load(). */
void xk_special_switch(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev,
		       struct xk_task *next);
/* xk_return_to_user(), after the FPU restore, before CPL 3. */
void xk_special_return_to_user(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t);
/* Right after the transition to CPL 3: the CPU recognizes pending user
 * interrupts (uintr.c hardware side). */
void xk_special_in_user(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t);
/* xk_clone(): parent is current on cpu, child fully set up. */
void xk_special_clone(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *parent,
		      struct xk_task *child, unsigned flags);
/* xk_exec() after fpu_flush_thread(): pkru_write_default(), shadow stack
 * and UINTR registration dropped with the old mm. */
void xk_special_exec(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t);
/* xk_exit() (exit_thread): UINTR unregistered, shadow stack freed. */
void xk_special_exit(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t);
/* Task release: free what xk_special_get() allocated. */
void xk_special_release(struct xk_kernel *k, struct xk_task *t);

/* ---- Between the special-state files ---- */

/* pkru.c */
void xk_pkru_switch(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev,
		    struct xk_task *next);
void xk_pkru_return_to_user(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t);
void xk_pkru_write(struct xk_kernel *k, struct xk_cpu *c, uint32_t pkru,
		   const struct xk_task *whose, const char *why);
uint32_t xk_pkru_read(struct xk_kernel *k, struct xk_cpu *c);

/* cet.c */
void xk_cet_clone(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *parent,
		  struct xk_task *child, unsigned flags);
void xk_cet_exec(struct xk_kernel *k, struct xk_task *t);
void xk_cet_s_sched_out(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev);
void xk_cet_s_sched_in(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *next);

/* independent.c: perf LBR context switch. */
void xk_lbr_sched_out(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev);
void xk_lbr_sched_in(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *next);

/* uintr.c */
void xk_uintr_switch_out(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev);
void xk_uintr_return_to_user(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t);
void xk_uintr_clone(struct xk_kernel *k, struct xk_task *child);
void xk_uintr_drop(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t, const char *why);
void xk_uintr_release(struct xk_kernel *k, struct xk_task *t);

/* Temporarily run at CPL 0 on c (the CPU's own microcode-level actions
 * and kernel instructions issued while the CPU model is at CPL 3, e.g.
 * between xk_to_user_mode() and the next entry). Returns the old CPL. */
static inline int xk_special_cpl0(struct xk_cpu *c)
{
	int cpl = xs_cpl(c->hw);

	if (cpl)
		xs_set_cpl(c->hw, 0);
	return cpl;
}

static inline void xk_special_cpl_restore(struct xk_cpu *c, int cpl)
{
	if (cpl)
		xs_set_cpl(c->hw, cpl);
}

#endif
