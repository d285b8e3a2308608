/* The classes of state of seed 000, for one booted configuration:
 *   1. user state (FP, SSE, AVX ...), restored before user mode;
 *      PKRU: "user state that affect[s] kernel mode", switched eagerly;
 *   2. supervisor state that affects user mode (CET_U, PASID): in the task
 *      buffer, restored before user mode like user state;
 *   3. supervisor state that affects kernel mode (CET_S): cannot wait for
 *      the return to user mode -- Linux keeps it out of task buffers;
 * plus Linux's own categories: user dynamic (XTILEDATA), independent (LBR),
 * and what the kernel does not enable. The kernel's decisions follow the
 * masks of k->tax computed at boot (config.c build_taxonomy); this file
 * names them. */
#include "kernel/special_internal.h"

static bool cpu_has(const struct xk_kernel *k, unsigned comp)
{
	const struct xs_model *m = k->model;

	if (comp >= 63)
		return false;
	return ((m->xcr0_supported | m->xss_supported) & XS_BIT(comp)) != 0;
}

enum xk_xclass xk_xclass_of(const struct xk_kernel *k, unsigned comp)
{
	const struct xk_taxonomy *t = &k->tax;
	uint64_t bit;

	if (!cpu_has(k, comp))
		return XK_XC_ABSENT;
	bit = XS_BIT(comp);
	if (!((k->kcfg.max_features | k->kcfg.independent_features) & bit))
		return XK_XC_UNSUPPORTED;
	if (t->user_affects_kernel & bit)
		return XK_XC_USER_AFFECTS_KERNEL;
	if (t->user_dynamic & bit)
		return XK_XC_USER_DYNAMIC;
	if (t->user & bit)
		return XK_XC_USER;
	if (t->supervisor_affects_kernel & bit)
		return XK_XC_SUPERVISOR_KERNEL;
	if (t->supervisor_affects_user & bit)
		return XK_XC_SUPERVISOR_USER;
	return XK_XC_INDEPENDENT;
}

const char *xk_xclass_name(enum xk_xclass c)
{
	switch (c) {
	case XK_XC_USER:
		return "user";
	case XK_XC_USER_DYNAMIC:
		return "user-dynamic";
	case XK_XC_USER_AFFECTS_KERNEL:
		return "user-affects-kernel";
	case XK_XC_SUPERVISOR_USER:
		return "supervisor-affects-user";
	case XK_XC_SUPERVISOR_KERNEL:
		return "supervisor-affects-kernel";
	case XK_XC_INDEPENDENT:
		return "independent";
	case XK_XC_UNSUPPORTED:
		return "unsupported";
	case XK_XC_ABSENT:
		break;
	}
	return "-";
}

int xk_xclass_seed000(enum xk_xclass c)
{
	switch (c) {
	case XK_XC_USER:
	case XK_XC_USER_DYNAMIC:
	case XK_XC_USER_AFFECTS_KERNEL:
		return 1;
	case XK_XC_SUPERVISOR_USER:
		return 2;
	case XK_XC_SUPERVISOR_KERNEL:
		return 3;
	default:
		return 0;
	}
}

const char *xk_xclass_handling(const struct xk_kernel *k, unsigned comp)
{
	uint64_t bit = comp < 63 ? XS_BIT(comp) : 0;
	bool indep = (k->kcfg.independent_features & bit) != 0;

	switch (xk_xclass_of(k, comp)) {
	case XK_XC_USER:
		return "task buffer: saved at switch-out, restored before user mode";
	case XK_XC_USER_DYNAMIC:
		return "task buffer once permitted and used: XFD-armed until the first #NM";
	case XK_XC_USER_AFFECTS_KERNEL:
		return "eager: RDPKRU/WRPKRU at every switch (thread.pkru), never XRSTORed";
	case XK_XC_SUPERVISOR_USER:
		if (indep)
			return "independent: own XSAVES at switch-out, XRSTORS before every "
			       "return to user (uintr=independent)";
		if (comp == XS_C_PASID)
			return "task buffer, restored before user mode; cleared at fork";
		return "task buffer: saved at switch-out, restored before user mode";
	case XK_XC_SUPERVISOR_KERNEL:
		if (indep)
			return "independent: never in an fpstate, KVM's own XSAVES/XRSTORS "
			       "(cet-s=independent)";
		if (k->tax.guest_supervisor & bit)
			return "guest-only: in guest buffers; host restores force init";
		return "every task buffer (cet-s=task); host tasks restore init";
	case XK_XC_INDEPENDENT:
		if (comp == XS_C_LBR)
			return "own schedule: perf XSAVES/XRSTORS at sched-out/in, never in a "
			       "task buffer";
		return "own schedule: XSAVES/XRSTORS by its user, never in a task buffer";
	case XK_XC_UNSUPPORTED:
		return "not enabled by this kernel";
	case XK_XC_ABSENT:
		break;
	}
	return "-";
}

const char *xk_xclass_reason(const struct xk_kernel *k, unsigned comp)
{
	const struct xs_features *f = &k->model->feat;

	if (xk_xclass_of(k, comp) != XK_XC_UNSUPPORTED)
		return "";
	switch (comp) {
	case XS_C_PT:
		return "Linux never manages PT state with XSAVES";
	case XS_C_HDC:
	case XS_C_HWP:
		return "Linux does not support it";
	case XS_C_UINTR:
		if (!f->uintr)
			return "no CPUID gate (uintr)";
		return k->use_xsaves ? "the UINTR RFC was never merged (policy uintr=)"
				     : "no XSAVES (supervisor state)";
	case XS_C_LBR:
		return f->arch_lbr ? "no XSAVES" : "no arch LBR (CPUID.(07H,0):EDX[19])";
	case XS_C_CET_U:
	case XS_C_CET_S:
		if (!f->shstk)
			return "no CPUID gate (shstk)";
		break;
	case XS_C_PASID:
		if (!f->enqcmd)
			return "no CPUID gate (enqcmd)";
		break;
	case XS_C_PKRU:
		if (!f->pku)
			return "no CPUID gate (pku)";
		break;
	case XS_C_XTILECFG:
	case XS_C_XTILEDATA:
		if (!f->amx_tile)
			return "no CPUID gate (amx_tile)";
		if (!k->model->has_xfd)
			return "no XFD";
		if (!k->compacted)
			return "standard-format kernel buffers";
		break;
	default:
		break;
	}
	if ((k->model->xss_supported & XS_BIT(comp)) && !k->use_xsaves)
		return "no XSAVES (supervisor state)";
	return "not enabled by the boot configuration";
}
