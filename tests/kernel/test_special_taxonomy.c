/* The classes of seed 000 (taxonomy.c) on several models and policies,
 * checked against the kernel's own masks: what the classes say is what
 * the kernel does (restore mask, default buffers, independent set). */
#include "ktest.h"
#include "xstate/kernel_special.h"

static void check_model(const char *model, const char *pol)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	unsigned bad = 0, n = 0;

	if (kt_boot(&t, model, 1, pol)) {
		tap_ok(0, "boot %s %s", model, pol);
		return;
	}
	for (unsigned i = 0; i < XS_NAMED_COMPS; i++) {
		enum xk_xclass c = xk_xclass_of(k, i);
		uint64_t bit = XS_BIT(i);
		bool in_cpu = ((t.m.xcr0_supported | t.m.xss_supported) & bit) != 0;

		if (!in_cpu) {
			bad += c != XK_XC_ABSENT;
			continue;
		}
		n++;
		switch (c) {
		case XK_XC_USER:
		case XK_XC_USER_DYNAMIC:
			/* Class 1: in XCR0 and restored before user mode. */
			bad += !(k->xcr0 & bit) || !(k->restore_mask & bit);
			bad += (c == XK_XC_USER_DYNAMIC) != !!(k->init_xfd & bit);
			break;
		case XK_XC_USER_AFFECTS_KERNEL:
			/* PKRU: in XCR0, never in the restore (switched eagerly). */
			bad += i != XS_C_PKRU || (k->restore_mask & bit) || !(k->xcr0 & bit);
			break;
		case XK_XC_SUPERVISOR_USER:
		case XK_XC_SUPERVISOR_KERNEL:
			bad += !(k->xss & bit);
			/* In the restore, or independent -- never both. */
			bad += !!(k->restore_mask & bit) ==
			       !!(k->kcfg.independent_features & bit);
			bad += (c == XK_XC_SUPERVISOR_KERNEL) != (i == XS_C_CET_S);
			break;
		case XK_XC_INDEPENDENT:
			bad += !(k->kcfg.independent_features & bit) || (k->restore_mask & bit) ||
			       (k->kcfg.max_features & bit);
			break;
		case XK_XC_UNSUPPORTED:
			bad += !!((k->xcr0 | k->xss) & bit);
			bad += xk_xclass_reason(k, i)[0] == '\0';
			break;
		case XK_XC_ABSENT:
			bad++;
			break;
		}
		bad += xk_xclass_handling(k, i)[0] == '\0';
	}
	tap_ok(bad == 0 && n > 0, "%s %s: %u components classed consistently with the kernel's "
	       "masks", model, pol[0] ? pol : "(Linux)", n);
	xk_shutdown(k);
}

int main(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;

	tap_plan_lazy();
	if (kt_boot(&t, "intel-sapphire-rapids", 1, "") == 0) {
		tap_ok(xk_xclass_of(k, XS_C_AVX) == XK_XC_USER, "avx: user");
		tap_ok(xk_xclass_of(k, XS_C_PKRU) == XK_XC_USER_AFFECTS_KERNEL,
		       "pkru: user-affects-kernel");
		tap_ok(xk_xclass_of(k, XS_C_XTILEDATA) == XK_XC_USER_DYNAMIC, "xtiledata: user-dynamic");
		tap_ok(xk_xclass_of(k, XS_C_CET_U) == XK_XC_SUPERVISOR_USER,
		       "cet_u: supervisor-affects-user");
		tap_ok(xk_xclass_of(k, XS_C_PASID) == XK_XC_SUPERVISOR_USER,
		       "pasid: supervisor-affects-user");
		tap_ok(xk_xclass_of(k, XS_C_CET_S) == XK_XC_SUPERVISOR_KERNEL,
		       "cet_s: supervisor-affects-kernel");
		tap_ok(xk_xclass_of(k, XS_C_LBR) == XK_XC_INDEPENDENT, "lbr: independent");
		tap_ok(xk_xclass_of(k, XS_C_PT) == XK_XC_UNSUPPORTED, "pt: unsupported");
		tap_ok(xk_xclass_of(k, XS_C_UINTR) == XK_XC_UNSUPPORTED, "uintr: unsupported (off)");
		tap_ok(xk_xclass_of(k, XS_C_APX) == XK_XC_ABSENT, "apx: absent on this model");
		tap_ok(xk_xclass_seed000(XK_XC_USER_AFFECTS_KERNEL) == 1 &&
		       xk_xclass_seed000(XK_XC_SUPERVISOR_USER) == 2 &&
		       xk_xclass_seed000(XK_XC_SUPERVISOR_KERNEL) == 3 &&
		       xk_xclass_seed000(XK_XC_INDEPENDENT) == 0, "seed 000 class numbers");
		tap_ok(strstr(xk_xclass_handling(k, XS_C_PKRU), "eager") != NULL,
		       "pkru handling: %s", xk_xclass_handling(k, XS_C_PKRU));
		tap_ok(strstr(xk_xclass_handling(k, XS_C_CET_S), "guest-only") != NULL,
		       "cet_s handling: %s", xk_xclass_handling(k, XS_C_CET_S));
		tap_ok(strstr(xk_xclass_reason(k, XS_C_UINTR), "RFC") != NULL, "uintr reason: %s",
		       xk_xclass_reason(k, XS_C_UINTR));
		xk_shutdown(k);
	} else {
		tap_ok(0, "boot");
	}
	if (kt_boot(&t, "intel-sapphire-rapids", 1, "uintr=independent cet-s=independent") == 0) {
		tap_ok(xk_xclass_of(k, XS_C_UINTR) == XK_XC_SUPERVISOR_USER,
		       "uintr=independent: uintr is class 2 ...");
		tap_ok(strstr(xk_xclass_handling(k, XS_C_UINTR), "independent") != NULL,
		       "... handled as independent: %s", xk_xclass_handling(k, XS_C_UINTR));
		tap_ok(strstr(xk_xclass_handling(k, XS_C_CET_S), "independent") != NULL,
		       "cet-s=independent: %s", xk_xclass_handling(k, XS_C_CET_S));
		xk_shutdown(k);
	} else {
		tap_ok(0, "boot with policies");
	}
	check_model("intel-sapphire-rapids", "");
	check_model("intel-sapphire-rapids", "uintr=ordinary cet-s=task");
	check_model("intel-sapphire-rapids", "uintr=independent cet-s=independent");
	check_model("intel-granite-rapids", "");
	check_model("intel-alder-lake-pcore", "");
	check_model("intel-skylake-client", "");
	check_model("amd-zen4-raphael", "");
	check_model("host-amd-epyc-vm", "");
	check_model("intel-sapphire-rapids", "save=xsavec");
	return tap_done();
}
