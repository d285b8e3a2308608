/* RDMSR / WRMSR of the MSRs that belong to the XSAVE architecture:
 * IA32_XSS (13.3), IA32_XFD and IA32_XFD_ERR (13.14), IA32_S_CET, and the
 * MSRs that make up the supervisor state components (supervisor.c holds
 * their value rules). Both instructions are CPL 0 only (#GP otherwise); an
 * MSR the model does not implement is #GP, as on hardware. */
#include <inttypes.h>
#include <strings.h>

#include "arch/cpu_internal.h"

static const struct {
	uint32_t msr;
	const char *name;
	const char *alias;
} msr_names[] = {
	{ XS_MSR_XSS, "IA32_XSS", "xss" },
	{ XS_MSR_XFD, "IA32_XFD", "xfd" },
	{ XS_MSR_XFD_ERR, "IA32_XFD_ERR", "xfd_err" },
	{ XS_MSR_RTIT_CTL, "IA32_RTIT_CTL", "rtit_ctl" },
	{ XS_MSR_U_CET, "IA32_U_CET", "u_cet" },
	{ XS_MSR_S_CET, "IA32_S_CET", "s_cet" },
	{ XS_MSR_PL0_SSP, "IA32_PL0_SSP", "pl0_ssp" },
	{ XS_MSR_PL1_SSP, "IA32_PL1_SSP", "pl1_ssp" },
	{ XS_MSR_PL2_SSP, "IA32_PL2_SSP", "pl2_ssp" },
	{ XS_MSR_PL3_SSP, "IA32_PL3_SSP", "pl3_ssp" },
	{ XS_MSR_HWP_REQUEST, "IA32_HWP_REQUEST", "hwp_request" },
	{ XS_MSR_UINTR_RR, "IA32_UINTR_RR", "uintr_rr" },
	{ XS_MSR_UINTR_HANDLER, "IA32_UINTR_HANDLER", "uintr_handler" },
	{ XS_MSR_UINTR_STACKADJUST, "IA32_UINTR_STACKADJUST", "uintr_stackadjust" },
	{ XS_MSR_UINTR_MISC, "IA32_UINTR_MISC", "uintr_misc" },
	{ XS_MSR_UINTR_PD, "IA32_UINTR_PD", "uintr_pd" },
	{ XS_MSR_UINTR_TT, "IA32_UINTR_TT", "uintr_tt" },
	{ XS_MSR_PASID, "IA32_PASID", "pasid" },
	{ XS_MSR_PM_CTL1, "IA32_PM_CTL1", "pm_ctl1" },
	{ XS_MSR_LBR_CTL, "IA32_LBR_CTL", "lbr_ctl" },
	{ XS_MSR_LBR_DEPTH, "IA32_LBR_DEPTH", "lbr_depth" },
};
#define NMSR (sizeof(msr_names) / sizeof(msr_names[0]))

long xs_msr_lookup(const char *name)
{
	if (!name)
		return -1;
	for (size_t k = 0; k < NMSR; k++)
		if (!strcasecmp(name, msr_names[k].name) || !strcasecmp(name, msr_names[k].alias))
			return msr_names[k].msr;
	return -1;
}

const char *xs_msr_name(uint32_t msr)
{
	for (size_t k = 0; k < NMSR; k++)
		if (msr_names[k].msr == msr)
			return msr_names[k].name;
	return NULL;
}

/* Bits of IA32_XFD / IA32_XFD_ERR that exist: CPUID.(0DH,i).ECX[2] (13.14). */
static uint64_t xfd_bits(const struct xs_cpu *c)
{
	uint64_t b = 0;

	for (unsigned i = 2; i < 63; i++)
		if ((c->present & XS_BIT(i)) && c->model.comp[i].xfd)
			b |= XS_BIT(i);
	return b;
}

static bool has_cet(const struct xs_cpu *c)
{
	return c->present & (XS_BIT(XS_C_CET_U) | XS_BIT(XS_C_CET_S));
}

static enum xs_fault unknown(struct xs_cpu *c, const char *insn, uint32_t msr)
{
	const char *n = xs_msr_name(msr);

	return xsi_fault(c, XS_GP, "%s: MSR %#x%s%s%s is not implemented by model %s", insn, msr,
			 n ? " (" : "", n ? n : "", n ? ")" : "", c->model.name);
}

/* Which MSRs exist: IA32_XSS with XSAVES (13.2), IA32_XFD/XFD_ERR with XFD
 * (13.14), IA32_S_CET with CET, the rest with their component. */
static enum xs_fault exists(struct xs_cpu *c, const char *insn, uint32_t msr)
{
	unsigned comp, off;

	switch (msr) {
	case XS_MSR_XSS:
		if (!c->model.has_xsaves)
			return xsi_fault(c, XS_GP,
					 "%s IA32_XSS: CPUID.(0DH,1):EAX[3] = 0, the MSR does not exist (SDM 13.3)",
					 insn);
		return XS_OK;
	case XS_MSR_XFD:
	case XS_MSR_XFD_ERR:
		if (!c->model.has_xfd)
			return xsi_fault(c, XS_GP,
					 "%s %s: CPUID.(0DH,1):EAX[4] = 0, the MSR does not exist (SDM 13.14)",
					 insn, xs_msr_name(msr));
		return XS_OK;
	case XS_MSR_S_CET:
		return has_cet(c) ? XS_OK : unknown(c, insn, msr);
	}
	return xsi_msr_slot(c, msr, &comp, &off) ? unknown(c, insn, msr) : XS_OK;
}

enum xs_fault xs_rdmsr(struct xs_cpu *c, uint32_t msr, uint64_t *val)
{
	enum xs_fault f;

	if (c->st.cpl != 0)
		return xsi_fault(c, XS_GP, "RDMSR: CPL %u > 0 (SDM Vol. 2 RDMSR)", c->st.cpl);
	f = exists(c, "RDMSR", msr);
	if (f)
		return f;
	switch (msr) {
	case XS_MSR_XSS: *val = c->st.xss; break;
	case XS_MSR_XFD: *val = c->st.xfd; break;
	case XS_MSR_XFD_ERR: *val = c->st.xfd_err; break;
	default: *val = xsi_msr_load(c, msr);
	}
	return XS_OK;
}

enum xs_fault xs_wrmsr(struct xs_cpu *c, uint32_t msr, uint64_t val)
{
	unsigned comp, off;
	const char *why;
	enum xs_fault f;

	if (c->st.cpl != 0)
		return xsi_fault(c, XS_GP, "WRMSR: CPL %u > 0 (SDM Vol. 2 WRMSR)", c->st.cpl);
	f = exists(c, "WRMSR", msr);
	if (f)
		return f;
	switch (msr) {
	case XS_MSR_XSS:
		why = xs_xss_invalid_reason(&c->model, val);
		if (why)
			return xsi_fault(c, XS_GP, "WRMSR IA32_XSS = %#" PRIx64 ": %s (SDM 13.3)", val, why);
		c->st.xss = val;
		return XS_OK;
	case XS_MSR_XFD:
	case XS_MSR_XFD_ERR:
		if (val & ~xfd_bits(c))
			return xsi_fault(c, XS_GP,
					 "WRMSR %s = %#" PRIx64 ": bits %#" PRIx64 " are not XFD-capable (CPUID.(0DH,i).ECX[2] = 0) (SDM 13.14)",
					 xs_msr_name(msr), val, val & ~xfd_bits(c));
		if (msr == XS_MSR_XFD)
			c->st.xfd = val;
		else
			c->st.xfd_err = val;
		return XS_OK;
	}
	if (!xsi_msr_value_ok(c, "WRMSR", msr, val, xsi_msr_load(c, msr)))
		return XS_GP;
	xsi_msr_store(c, msr, val);
	if (!xsi_msr_slot(c, msr, &comp, &off))
		touch(c, XS_BIT(comp));
	return XS_OK;
}
