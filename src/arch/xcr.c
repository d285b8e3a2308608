/* XGETBV and XSETBV (SDM Vol. 2 pages; Vol. 1 13.3, 13.6). */
#include <inttypes.h>

#include "arch/cpu_internal.h"

/* #UD if CPUID.01H:ECX.XSAVE = 0 or CR4.OSXSAVE = 0 (both instructions). */
static enum xs_fault xcr_ud(struct xs_cpu *c, const char *insn)
{
	if (!c->model.feat.xsave)
		return xsi_fault(c, XS_UD, "%s: CPUID.01H:ECX.XSAVE = 0 (SDM 13.2)", insn);
	if (!c->st.cr4_osxsave)
		return xsi_fault(c, XS_UD, "%s: CR4.OSXSAVE = 0 (SDM 13.3)", insn);
	return XS_OK;
}

enum xs_fault xs_xgetbv(struct xs_cpu *c, uint32_t ecx, uint64_t *val)
{
	enum xs_fault f = xcr_ud(c, "XGETBV");
	uint64_t v;

	if (f)
		return f;
	switch (ecx) {
	case 0:
		*val = c->st.xcr0;
		return XS_OK;
	case 1:
		/* XCR1 exists only with CPUID.(0DH,1):EAX[2] (13.2). */
		if (!c->model.has_xgetbv1)
			break;
		/* XINUSE & XCR0, bit 1 also set when MXCSR is not 1F80H (13.6).
		 * XFD-armed components are reported as XINUSE says (the SDM
		 * is silent, spec section 10). */
		v = c->st.xinuse & c->st.xcr0;
		if ((c->st.xcr0 & XS_BIT(XS_C_SSE)) && cpu_mxcsr(c) != XS_MXCSR_DEFAULT)
			v |= XS_BIT(XS_C_SSE);
		*val = v;
		return XS_OK;
	}
	return xsi_fault(c, XS_GP, "XGETBV: ECX = %u names no readable XCR%s (SDM Vol. 2 XGETBV)", ecx,
			 ecx == 1 ? " (CPUID.(0DH,1):EAX[2] = 0)" : "");
}

enum xs_fault xs_xsetbv(struct xs_cpu *c, uint32_t ecx, uint64_t val)
{
	enum xs_fault f = xcr_ud(c, "XSETBV");
	const char *why;

	if (f)
		return f;
	/* #GP(0) order of the SDM page: CPL, ECX, value. VMX non-root
	 * operation would VM-exit here; the model executes it as the VMM would. */
	if (c->st.cpl != 0)
		return xsi_fault(c, XS_GP, "XSETBV: CPL %u > 0 (SDM Vol. 2 XSETBV)", c->st.cpl);
	if (ecx != 0)
		return xsi_fault(c, XS_GP, "XSETBV: ECX = %u, only XCR0 is writable (SDM Vol. 2 XSETBV)", ecx);
	why = xs_xcr0_invalid_reason(&c->model, val);
	if (why)
		return xsi_fault(c, XS_GP, "XSETBV XCR0 = %#" PRIx64 ": %s (SDM Vol. 2 XSETBV, 13.3)", val, why);
	/* Clearing a bit keeps the component's contents (13.3). */
	c->st.xcr0 = val;
	return XS_OK;
}
