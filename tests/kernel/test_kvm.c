/* KVM guest state (kernel_kvm.h): the vCPU's own fpstate, the swap around
 * KVM_RUN, the guest's XCR0/XSS/PKRU/XFD around entries and exits, the
 * KVM_GET/SET_XSAVE2 buffer, and the three seeded bugs. */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_abi.h"
#include "xstate/kernel_kvm.h"
#include "xstate/kernel_special.h" /* XK_NT_X86_SHSTK */

#define SPR "intel-sapphire-rapids"

/* Run the vCPU task t on cpu 0 in kernel mode (as in an ioctl). */
static int to_kernel(struct kt *t, struct xk_task *task)
{
	int r = kt_run(t, 0, task);

	return r ? r : xk_enter_kernel(&t->k, 0);
}

static struct xs_cpu *hw(struct kt *t)
{
	return t->k.cpu[0].hw;
}

static void test_create(void)
{
	struct kt t;
	struct xk_vcpu *v;
	struct xk_task *a;
	uint64_t perm = 0;

	if (kt_boot(&t, SPR, 1, ""))
		return;
	a = xk_spawn(&t.k, "vmm");
	tap_ok(xk_kvm_vcpu_create(&t.k, a, &v) == 0, "create a vCPU");
	tap_eq_u64(v->gfpu.fpstate->size, t.k.gcfg.size, "guest buffer sized by guest_default_cfg");
	tap_eq_u64(v->gfpu.fpstate->xfeatures, t.k.gcfg.features, "... with its features");
	tap_ok((v->gfpu.fpstate->xfeatures & XS_BIT(XS_C_CET_S)) &&
	       !(a->fpu.fpstate->xfeatures & XS_BIT(XS_C_CET_S)),
	       "CET_S in the guest buffer only (guest supervisor)");
	tap_ok(v->gfpu.fpstate->is_guest && v->gfpu.fpstate->is_valloc &&
	       !v->gfpu.fpstate->in_use, "is_guest, is_valloc, not in use");
	tap_eq_u64(v->gfpu.fpstate->xfd, 0, "guest XFD at its RESET value 0");
	tap_eq_u64(v->gfpu.uabi_size, XK_KVM_XSAVE_SIZE, "uabi_size = sizeof(struct kvm_xsave)");
	tap_eq_u64(v->xcr0, 1, "guest XCR0 at RESET");
	tap_ok((a->fpu.guest_perm.state_perm & XK_GUEST_PERM_LOCKED) != 0, "guest permissions locked");
	tap_eq_u64(xk_arch_prctl(&t.k, a, NULL, XK_ARCH_REQ_XCOMP_GUEST_PERM, 18), -EBUSY,
		   "ARCH_REQ_XCOMP_GUEST_PERM after the first vCPU: -EBUSY");
	perm = xk_xcomp_perm(a, true);
	tap_ok(!(perm & XK_GUEST_PERM_LOCKED), "the LOCKED bit is never shown");
	tap_eq_u64(xk_kvm_vcpu_create(&t.k, a, NULL), -EEXIST, "one vCPU per task");
	tap_eq_u64(xk_kvm_cap_xsave2(&t.k, a), XK_KVM_XSAVE_SIZE,
		   "KVM_CAP_XSAVE2 without AMX permission: 4096");
	tap_eq_u64(xk_kvm_vcpu_destroy(&t.k, v), 0, "destroy");
	tap_ok(a->vcpu == NULL, "task forgets it");
	tap_ok(t.bad == 0, "no kernel warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

/* Host state in, guest state out, and back: neither sees the other's. */
static void test_run_cycle(const char *policy, bool leak, bool xcr0_bug)
{
	struct kt t;
	struct xk_vcpu *v;
	struct xk_task *a, *b;
	uint64_t pl0 = 0;

	if (kt_boot(&t, SPR, 1, policy))
		return;
	a = xk_spawn(&t.k, "vmm");
	b = xk_spawn(&t.k, "other");
	xk_kvm_vcpu_create(&t.k, a, &v);
	kt_run(&t, 0, a);
	kt_write(&t, 0, "ymm1", 0xA1);
	kt_write(&t, 0, "zmm20", 0xA2);
	xk_enter_kernel(&t.k, 0);
	tap_eq_u64(xk_return_to_user(&t.k, 0), 0, "[%s] plain return to user", policy);
	xk_enter_kernel(&t.k, 0);

	tap_eq_u64(xk_kvm_run_begin(&t.k, 0), 0, "[%s] KVM_RUN: load guest fpu", policy);
	tap_ok(a->fpu.fpstate == v->gfpu.fpstate && a->fpu.task_fpstate != NULL &&
	       v->gfpu.fpstate->in_use, "[%s] guest fpstate installed", policy);
	tap_eq_u64(kt_zero(&t, 0, "ymm1"), 1, "[%s] registers hold the guest's (init) state",
		   policy);
	tap_eq_u64(xk_return_to_user(&t.k, 0), -EBUSY, "[%s] no return to user inside KVM_RUN",
		   policy);
	tap_eq_u64(xk_kvm_vm_enter(&t.k, 0), 0, "[%s] VM entry", policy);
	tap_eq_u64(xs_xcr0(hw(&t)), 1, "[%s] guest XCR0 (x87) loaded", policy);
	tap_eq_u64(xk_switch(&t.k, 0, b), -EBUSY, "[%s] no switch while the guest runs", policy);
	tap_eq_u64(xk_kvm_guest_xsetbv(&t.k, 0, 0x7), 0, "[%s] guest XSETBV x87|sse|avx", policy);
	tap_eq_u64(xk_kvm_guest_xsetbv(&t.k, 0, 0x5), -EINVAL, "[%s] guest XSETBV AVX without SSE: #GP",
		   policy);
	tap_eq_u64(xk_kvm_guest_xsetbv(&t.k, 0, 0x1 | 0x2 | 0x4 | 0x20000), -EINVAL,
		   "[%s] guest XSETBV outside its CPUID (XTILECFG): #GP", policy);
	tap_eq_u64(v->xcr0, 7, "[%s] rejected XSETBVs changed nothing", policy);
	tap_eq_u64(xs_xcr0(hw(&t)), 7, "[%s] hardware has the guest XCR0", policy);
	tap_eq_u64(kt_write(&t, 0, "ymm1", 0xB1), XS_OK, "[%s] guest writes ymm1", policy);
	tap_eq_u64(kt_write(&t, 0, "zmm20", 0xB2), XS_UD, "[%s] guest without AVX-512 in XCR0: #UD",
		   policy);
	tap_eq_u64(xk_kvm_guest_wrmsr(&t.k, 0, XS_MSR_XSS, XS_BIT(XS_C_CET_S)), 0,
		   "[%s] guest WRMSR IA32_XSS = cet_s", policy);
	tap_eq_u64(xk_kvm_guest_wrmsr(&t.k, 0, XS_MSR_XSS, XS_BIT(XS_C_PT)), -EINVAL,
		   "[%s] guest WRMSR IA32_XSS = pt: #GP", policy);
	tap_eq_u64(xs_wrmsr(hw(&t), XS_MSR_PL0_SSP, 0x7000), XS_OK,
		   "[%s] guest kernel writes IA32_PL0_SSP (CET_S)", policy);
	tap_eq_u64(xk_kvm_vm_exit(&t.k, 0), 0, "[%s] VM exit", policy);
	if (!xcr0_bug) {
		tap_eq_u64(xs_xcr0(hw(&t)), t.k.xcr0, "[%s] host XCR0 back at exit", policy);
		tap_eq_u64(xs_xss(hw(&t)), t.k.xss, "[%s] host IA32_XSS back at exit", policy);
	} else {
		tap_ok(xs_xcr0(hw(&t)) != t.k.xcr0,
		       "[%s] mutant: the guest XCR0 is still loaded after the exit", policy);
	}

	/* Preempted between exit and the next entry: the guest state is the
	 * active fpstate and is saved into the guest buffer. */
	kt_reset_counts(&t);
	tap_eq_u64(xk_switch(&t.k, 0, b), 0, "[%s] preempt the vCPU thread", policy);
	xk_return_to_user(&t.k, 0);
	kt_write(&t, 0, "ymm1", 0xC1);
	if (xcr0_bug) {
		tap_ok(t.bad > 0, "[%s] mutant: a host XSAVE/XRSTOR under the guest XCR0 faults "
		       "(%s)", policy, t.bad_why);
		xk_shutdown(&t.k);
		return;
	}
	tap_ok(t.saves_of[a->tid] == 1 && kt_check(&t, 0, "ymm1", 0xC1) == 1,
	       "[%s] guest state saved at the switch, other task runs", policy);
	{
		/* Preempted inside KVM_RUN is not a ptrace stop: every regset
		 * fails -ESRCH before its own checks (ptrace_check_attach()). */
		uint8_t rb[16384];
		uint64_t ssp = 0;
		size_t len = sizeof(rb), slen = sizeof(ssp);

		tap_eq_u64(xk_ptrace_regset(&t.k, a, true, XK_NT_X86_XSTATE, rb, &len),
			   (uint64_t)-ESRCH, "[%s] NT_X86_XSTATE of a vCPU thread in KVM_RUN: -ESRCH",
			   policy);
		tap_eq_u64(xk_ptrace_regset(&t.k, a, true, XK_NT_X86_SHSTK, &ssp, &slen),
			   (uint64_t)-ESRCH, "[%s] NT_X86_SHSTK of a vCPU thread in KVM_RUN: -ESRCH "
			   "(not -ENODEV: the attach check comes first)", policy);
	}
	xk_enter_kernel(&t.k, 0);
	xk_switch(&t.k, 0, a);
	tap_eq_u64(xk_kvm_vm_enter(&t.k, 0), 0, "[%s] re-enter after the preemption", policy);
	tap_eq_u64(kt_check(&t, 0, "ymm1", 0xB1), 1, "[%s] guest sees its own ymm1 again", policy);
	xs_rdmsr(hw(&t), XS_MSR_PL0_SSP, &pl0);
	tap_eq_u64(pl0, 0x7000, "[%s] and its own PL0_SSP", policy);
	xk_kvm_vm_exit(&t.k, 0);

	tap_eq_u64(xk_kvm_run_end(&t.k, 0), 0, "[%s] KVM_RUN returns: put guest fpu", policy);
	tap_ok(a->fpu.fpstate == a->fpu.default_fpstate && !a->fpu.task_fpstate &&
	       !v->gfpu.fpstate->in_use, "[%s] own fpstate back", policy);
	pl0 = 1;
	xs_rdmsr(hw(&t), XS_MSR_PL0_SSP, &pl0); /* still in the kernel: CPL 0 */
	xk_return_to_user(&t.k, 0);
	if (leak) {
		tap_eq_u64(kt_check(&t, 0, "ymm1", 0xB1), 1,
			   "[%s] mutant: the host task sees the guest's ymm1", policy);
	} else {
		tap_eq_u64(kt_check(&t, 0, "ymm1", 0xA1), 1, "[%s] host task sees its own ymm1",
			   policy);
		tap_eq_u64(kt_check(&t, 0, "zmm20", 0xA2), 1, "[%s] and its own zmm20", policy);
		tap_eq_u64(pl0, 0, "[%s] the guest's CET_S is init in the host (not in the task "
			   "buffer)", policy);
	}
	tap_ok(t.bad == 0, "[%s] no kernel warning (%s)", policy, t.bad_why);
	xk_shutdown(&t.k);
}

/* KVM_GET_XSAVE2 / KVM_SET_XSAVE2. */
static void test_xsave2(void)
{
	struct kt t;
	struct xk_vcpu *v;
	struct xk_task *a;
	uint8_t buf[XK_KVM_XSAVE_SIZE], img[XK_KVM_XSAVE_SIZE], before[XK_KVM_XSAVE_SIZE];
	uint32_t ymm1_off;
	uint64_t bv;

	if (kt_boot(&t, SPR, 1, ""))
		return;
	a = xk_spawn(&t.k, "vmm");
	xk_kvm_vcpu_create(&t.k, a, &v);
	to_kernel(&t, a);
	xk_kvm_run_begin(&t.k, 0);
	xk_kvm_vm_enter(&t.k, 0);
	xk_kvm_guest_xsetbv(&t.k, 0, 0x7 | XS_BIT(XS_C_PKRU));
	kt_write(&t, 0, "ymm1", 0x31);
	xs_wrpkru(hw(&t), 0x55);
	tap_eq_u64(xk_kvm_get_xsave2(&t.k, v, buf, sizeof(buf)), -EBUSY, "GET_XSAVE2 during KVM_RUN");
	xk_kvm_vm_exit(&t.k, 0);
	xk_kvm_run_end(&t.k, 0);
	tap_eq_u64(v->pkru, 0x55, "guest PKRU kept by KVM at the exit");
	tap_ok(xs_xcr0(hw(&t)) == t.k.xcr0, "host XCR0");

	memset(buf, 0xEE, sizeof(buf));
	tap_eq_u64(xk_kvm_get_xsave2(&t.k, v, buf, sizeof(buf)), 0, "KVM_GET_XSAVE2");
	memcpy(&bv, buf + XS_HDR_OFFSET, 8);
	tap_ok((bv & 0x7) == 0x6 || (bv & 0x7) == 0x7, "XSTATE_BV has sse|avx (0x%llx)",
	       (unsigned long long)bv);
	tap_ok(bv & XS_BIT(XS_C_PKRU), "and PKRU");
	tap_ok(!(bv & XS_MASK_SUPERVISOR_ARCH), "never supervisor state (CET_S stays in the kernel)");
	ymm1_off = t.k.xf[XS_C_AVX].offset + 16;
	tap_eq_u64(buf[ymm1_off], (uint8_t)(0x31 * 31 + 16 * 7 + 1), "upper ymm1 bytes in the image");
	tap_eq_u64(buf[t.k.xf[XS_C_PKRU].offset], 0x55, "PKRU from the vCPU");
	tap_eq_u64(xk_kvm_get_xsave2(&t.k, v, buf, 1024), -EFAULT, "short buffer: -EFAULT");

	/* SET: a modified image round-trips. */
	memcpy(img, buf, sizeof(img));
	img[ymm1_off] = 0x99;
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, img, sizeof(img)), 0, "KVM_SET_XSAVE2");
	memset(buf, 0, sizeof(buf));
	xk_kvm_get_xsave2(&t.k, v, buf, sizeof(buf));
	tap_eq_u64(buf[ymm1_off], 0x99, "read back what was set");

	/* Rejections change nothing. */
	memcpy(before, buf, sizeof(before));
	memcpy(img, buf, sizeof(img));
	bv = XS_MASK_FPSSE | XS_BIT(XS_C_XTILEDATA);
	memcpy(img + XS_HDR_OFFSET, &bv, 8);
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, img, sizeof(img)), -EINVAL,
		   "XSTATE_BV with a feature the guest buffer has no room for: -EINVAL");
	memcpy(img, before, sizeof(img));
	bv = XS_MASK_FPSSE | XS_BIT(XS_C_CET_S);
	memcpy(img + XS_HDR_OFFSET, &bv, 8);
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, img, sizeof(img)), -EINVAL,
		   "XSTATE_BV with a supervisor feature: -EINVAL");
	memcpy(img, before, sizeof(img));
	img[XS_HDR_OFFSET + 8] = 1;
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, img, sizeof(img)), -EINVAL, "XCOMP_BV != 0: -EINVAL");
	memcpy(img, before, sizeof(img));
	img[XS_HDR_OFFSET + 20] = 1;
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, img, sizeof(img)), -EINVAL,
		   "reserved header bytes: -EINVAL");
	memcpy(img, before, sizeof(img));
	img[24 + 3] = 0xFF; /* MXCSR reserved bits */
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, img, sizeof(img)), -EINVAL, "MXCSR reserved bits: -EINVAL");
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, before, 512), -EFAULT, "short buffer: -EFAULT");
	memset(buf, 0, sizeof(buf));
	xk_kvm_get_xsave2(&t.k, v, buf, sizeof(buf));
	tap_ok(memcmp(buf, before, sizeof(buf)) == 0, "the rejected images changed nothing");

	/* PKRU: KVM's odd ABI leaves it alone when its bit is clear. */
	memcpy(img, before, sizeof(img));
	bv = XS_MASK_FPSSE;
	memcpy(img + XS_HDR_OFFSET, &bv, 8);
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, img, sizeof(img)), 0, "SET without the PKRU bit");
	tap_eq_u64(v->pkru, 0x55, "PKRU untouched");
	memcpy(img, before, sizeof(img));
	img[t.k.xf[XS_C_PKRU].offset] = 0x0C;
	tap_eq_u64(xk_kvm_set_xsave2(&t.k, v, img, sizeof(img)), 0, "SET with the PKRU bit");
	tap_eq_u64(v->pkru, 0x0C, "PKRU taken from the image");

	/* The next KVM_RUN gives the guest what was set. */
	xk_kvm_run_begin(&t.k, 0);
	xk_kvm_vm_enter(&t.k, 0);
	{
		struct xs_reg r;
		uint8_t val[32];
		uint32_t pk = 0;

		xs_reg_lookup(&t.m, "ymm1", &r);
		xs_reg_peek(hw(&t), &r, val);
		tap_eq_u64(val[16], 0x99, "guest ymm1 from KVM_SET_XSAVE2");
		xs_rdpkru(hw(&t), &pk);
		tap_eq_u64(pk, 0x0C, "guest PKRU from KVM_SET_XSAVE2");
	}
	xk_kvm_vm_exit(&t.k, 0);
	xk_kvm_run_end(&t.k, 0);
	tap_ok(t.bad == 0, "no kernel warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

/* AMX for a guest: guest permission before the vCPU, KVM_SET_CPUID grows
 * the guest buffer, the guest arms XFD and takes #NM: the host never sees
 * the guest's XFD_ERR or XFD. */
static void test_guest_xfd(void)
{
	struct kt t;
	struct xk_vcpu *v;
	struct xk_task *a;
	uint64_t val = 0, xtile = XS_BIT(XS_C_XTILECFG) | XS_BIT(XS_C_XTILEDATA);
	struct xs_reg r;
	uint8_t tile[1024];

	if (kt_boot(&t, SPR, 1, ""))
		return;
	if (!t.k.dynamic) {
		tap_skip("no AMX on this model");
		xk_shutdown(&t.k);
		return;
	}
	a = xk_spawn(&t.k, "vmm");
	tap_eq_u64(xk_arch_prctl(&t.k, a, NULL, XK_ARCH_REQ_XCOMP_GUEST_PERM, 18), 0,
		   "guest AMX permission before the first vCPU");
	xk_kvm_vcpu_create(&t.k, a, &v);
	tap_eq_u64(xk_kvm_cap_xsave2(&t.k, a), t.k.ucfg.max_size, "KVM_CAP_XSAVE2 grows to the AMX size");
	tap_eq_u64(xk_kvm_set_cpuid(&t.k, v, t.k.xcr0), 0, "KVM_SET_CPUID with AMX");
	tap_ok((v->gfpu.xfeatures & XS_BIT(XS_C_XTILEDATA)) &&
	       (v->gfpu.fpstate->xfeatures & XS_BIT(XS_C_XTILEDATA)),
	       "guest buffer grew for tile data");
	tap_eq_u64(v->gfpu.uabi_size, t.k.ucfg.max_size, "uabi_size grew too");
	to_kernel(&t, a);
	xk_kvm_run_begin(&t.k, 0);
	tap_eq_u64(xs_xfd(hw(&t)), 0, "guest XFD (0) loaded by the swap");
	xk_kvm_vm_enter(&t.k, 0);
	tap_eq_u64(xk_kvm_guest_xsetbv(&t.k, 0, 0x7 | xtile), 0, "guest enables AMX");
	tap_eq_u64(xk_kvm_guest_wrmsr(&t.k, 0, XS_MSR_XFD, XS_BIT(XS_C_XTILEDATA)), 0,
		   "guest arms XFD for tile data");
	tap_eq_u64(xs_xfd(hw(&t)), XS_BIT(XS_C_XTILEDATA), "MSR follows");
	/* LDTILECFG (palette 1, tile 0: 16 rows of 64 bytes) does not touch
	 * tile data, so no #NM yet (SDM 13.14). */
	xs_reg_lookup(&t.m, "tilecfg", &r);
	memset(tile, 0, sizeof(tile));
	tile[0] = 1;
	tile[16] = 64;
	tile[48] = 16;
	tap_eq_u64(xs_reg_write(hw(&t), &r, tile), XS_OK, "guest LDTILECFG");
	xs_reg_lookup(&t.m, "tmm0", &r);
	memset(tile, 1, sizeof(tile));
	tap_eq_u64(xs_reg_write(hw(&t), &r, tile), XS_NM, "guest tile access: #NM");
	tap_eq_u64(xk_kvm_guest_nm(&t.k, 0), 0, "KVM handles the #NM exit");
	tap_eq_u64(v->gfpu.xfd_err, XS_BIT(XS_C_XTILEDATA), "XFD_ERR kept for the guest");
	tap_eq_u64(xs_xfd_err(hw(&t)), XS_BIT(XS_C_XTILEDATA), "guest sees XFD_ERR after the entry");
	xk_kvm_guest_rdmsr(&t.k, 0, XS_MSR_XFD_ERR, &val);
	tap_eq_u64(val, XS_BIT(XS_C_XTILEDATA), "guest RDMSR XFD_ERR");
	xk_kvm_vm_exit(&t.k, 0);
	tap_eq_u64(xs_xfd_err(hw(&t)), 0, "host XFD_ERR is 0 after the exit");
	xk_kvm_run_end(&t.k, 0);
	tap_eq_u64(xs_xfd(hw(&t)), t.k.init_xfd, "host XFD back after the put");
	tap_eq_u64(t.k.cpu[0].xfd_state, t.k.init_xfd, "per-CPU XFD cache mirrors it");
	tap_eq_u64(v->gfpu.fpstate->xfd, XS_BIT(XS_C_XTILEDATA), "guest buffer keeps the guest XFD");
	tap_ok(t.bad == 0, "no kernel warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

/* A task killed inside KVM_RUN: the release frees everything. */
static void test_release(void)
{
	struct kt t;
	struct xk_vcpu *v;
	struct xk_task *a;

	if (kt_boot(&t, SPR, 1, ""))
		return;
	a = xk_spawn(&t.k, "vmm");
	xk_kvm_vcpu_create(&t.k, a, &v);
	to_kernel(&t, a);
	xk_kvm_run_begin(&t.k, 0);
	tap_eq_u64(xk_kvm_vcpu_destroy(&t.k, v), -EBUSY, "no destroy while in use");
	xk_exit(&t.k, 0);
	xk_switch(&t.k, 0, NULL);
	tap_eq_u64(t.k.mem.bytes, 0, "all buffers freed with the task");
	xk_shutdown(&t.k);
}

int main(void)
{
	tap_plan_lazy();
	test_create();
	test_run_cycle("", false, false);
	test_run_cycle("mutant=guest-state-leak", true, false);
	test_run_cycle("mutant=kvm-xcr0-order", false, true);
	test_xsave2();
	test_guest_xfd();
	test_release();
	return tap_done();
}
