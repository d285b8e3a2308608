/* Internals shared by the user-ABI sources of the kernel manager
 * (perm.c, xfd.c, sigframe.c, sigreturn.c, regset.c, uaccess.c). */
#ifndef XSTATE_KERNEL_ABI_INTERNAL_H
#define XSTATE_KERNEL_ABI_INTERNAL_H

#include <string.h>

#include "kernel/kernel_internal.h"
#include "xstate/kernel_abi.h"

static inline uint64_t abi_ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t abi_ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void abi_st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void abi_st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void abi_st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* X86_FEATURE_OSPKE: PKU present and the kernel enabled PKRU. */
static inline bool abi_ospke(const struct xk_kernel *k)
{
	return k->model->feat.pku && (k->xcr0 & XS_BIT(XS_C_PKRU));
}

/* xfeatures_mask_supervisor(). Special states: every supervisor feature
 * of the task buffers -- Linux's SUPERVISOR_SUPPORTED, plus UINTR when
 * policy uintr=ordinary puts it there (kernel_special.h). */
static inline uint64_t abi_supervisor_mask(const struct xk_kernel *k)
{
	return k->kcfg.max_features & ~XK_MASK_USER_SUPPORTED;
}

/* The current user task of cpu, in kernel mode, or NULL. */
struct xk_task *xk_abi_current(struct xk_kernel *k, unsigned cpu);

/* fpu__clear_user_states(): supervisor state loaded if the registers are
 * not valid, XFD up to date, every user component but PKRU from
 * init_fpstate, PKRU = init_pkru, registers marked as current's. */
void xk_abi_clear_user_states(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			      const char *why);
/* os_xrstor(&init_fpstate, mask) without touching XFD. */
void xk_abi_restore_init(struct xk_kernel *k, struct xk_cpu *c, uint64_t mask, const char *why);
/* os_xrstor_supervisor(fpstate). */
void xk_abi_restore_supervisor(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			       const char *why);
/* WRPKRU if OSPKE and the value differs (write_pkru()). */
void xk_abi_write_pkru(struct xk_kernel *k, struct xk_cpu *c, uint32_t pkru);
uint32_t xk_abi_read_pkru(struct xk_kernel *k, struct xk_cpu *c);

/* fpstate_realloc(): a buffer for fps->xfeatures | xf of ksize bytes,
 * registers loaded first if need be, XFD disarmed for xf, old grown buffer
 * freed. t must be current on c. 0 or -ENOMEM. */
int xk_abi_fpstate_realloc(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
			   uint64_t xf, uint32_t ksize, uint32_t usize, const char *why);

/* ARCH_REQ_XCOMP_PREALLOC (xfd.c). */
int xk_abi_prealloc(struct xk_kernel *k, struct xk_task *t, unsigned long idx);

/* The standard-format (UABI) size for a feature mask. */
static inline uint32_t abi_user_size(const struct xk_kernel *k, uint64_t mask)
{
	return xk_calc_size(k, mask & XK_MASK_USER_SUPPORTED, false);
}

#endif
