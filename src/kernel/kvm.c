/* KVM guest extended state: the vCPU's own fpstate, its swap in and out
 * around KVM_RUN, the guest's XCR0/XSS/PKRU/XFD around every VM entry and
 * exit, and the KVM_GET/SET_XSAVE2 user buffer (linux-design.md 8; the
 * sequence is described in include/xstate/kernel_kvm.h).
 *
 * Sources: arch/x86/kernel/fpu/core.c (KVM section), arch/x86/kvm/x86.c,
 * arch/x86/kvm/vmx/vmx.c (handle_nm_fault_irqoff).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/abi_internal.h"
#include "xstate/kernel_kvm.h"
#include "xstate/kernel_special.h" /* cet-s=independent: the vCPU's CET_S buffer */

/* ---- Allocation ---- */

struct xk_vcpu *xk_kvm_vcpu_of(const struct xk_task *t)
{
	return t ? t->vcpu : NULL;
}

uint64_t xk_kvm_supported_xcr0(const struct xk_kernel *k)
{
	/* kvm_caps.supported_xcr0 = kvm_host.xcr0 & KVM_SUPPORTED_XCR0: every
	 * user feature this kernel enabled. */
	return k->xcr0 & XK_MASK_USER_SUPPORTED;
}

/* kvm_caps.supported_xss: the CET components the host enabled (KVM's CET
 * virtualization exposes CET_U and CET_S; nothing else goes to guests). */
static uint64_t kvm_supported_xss(const struct xk_kernel *k)
{
	return k->xss & (XS_BIT(XS_C_CET_U) | XS_BIT(XS_C_CET_S));
}

/* fpstate_init_user(): FCW and MXCSR defaults, xcomp_bv for XSAVES. */
static void guest_fpstate_init(struct xk_kernel *k, struct xk_fpstate *fps)
{
	uint16_t fcw = XS_FCW_DEFAULT;
	uint32_t mxcsr = XS_MXCSR_DEFAULT;

	memcpy(fps->regs + 0, &fcw, sizeof(fcw));
	memcpy(fps->regs + 24, &mxcsr, sizeof(mxcsr));
	xk_fpstate_init_xcomp(k, fps);
}

/* fpu_alloc_guest_fpstate() (v6.17): sized by guest_default_cfg, user
 * sizes from the user defaults, XFD at its architectural RESET value 0. */
static struct xk_fpstate *guest_fpstate_alloc(struct xk_kernel *k, struct xk_task *t,
					      uint32_t size, uint64_t xfeatures)
{
	struct xk_fpstate *fps = xk_fpstate_alloc(k, t, size);

	if (!fps)
		return NULL;
	fps->is_valloc = true;
	fps->is_guest = true;
	fps->xfeatures = xfeatures;
	fps->user_size = k->ucfg.default_size;
	fps->user_xfeatures = k->ucfg.default_features;
	fps->xfd = 0;
	guest_fpstate_init(k, fps);
	return fps;
}

int xk_kvm_vcpu_create(struct xk_kernel *k, struct xk_task *t, struct xk_vcpu **out)
{
	struct xk_vcpu *v;
	struct xk_perm *gperm;

	if (out)
		*out = NULL;
	if (!xk_user_task(t) || !t->proc || (t->flags & (XK_TF_EXITING | XK_TF_DEAD)))
		return -EINVAL;
	if (t->vcpu)
		return -EEXIST;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->gfpu.fpstate = guest_fpstate_alloc(k, t, k->gcfg.size, k->gcfg.features);
	if (!v->gfpu.fpstate) {
		free(v);
		return -ENOMEM;
	}
	if (xk_cet_s_vcpu_create(k, t)) {
		xk_fpstate_free(k, v->gfpu.fpstate);
		free(v);
		return -ENOMEM;
	}
	v->id = t->tid;
	v->task = t;
	v->cpu = -1;
	v->gfpu.xfeatures = k->gcfg.features;
	/* uabi_size = sizeof(struct kvm_xsave); a larger user default would be
	 * a WARN in Linux and wins. */
	v->gfpu.uabi_size = XK_KVM_XSAVE_SIZE;
	if (k->ucfg.default_size > v->gfpu.uabi_size) {
		xk_warn(k, -1, "kvm: user default size exceeds struct kvm_xsave", XK_I_NONE, XS_OK);
		v->gfpu.uabi_size = k->ucfg.default_size;
	}
	/* What the guest may enable until KVM_SET_CPUID says otherwise: the
	 * guest buffer's user features (no dynamic ones), x87 always. */
	v->supported_xcr0 = (k->gcfg.features & XK_MASK_USER_SUPPORTED & ~XK_MASK_USER_DYNAMIC) |
			    XS_BIT(XS_C_X87);
	v->supported_xss = kvm_supported_xss(k) & k->gcfg.features;
	v->xcr0 = XS_BIT(XS_C_X87); /* RESET */
	v->xss = 0;
	v->pkru = 0;
	/* Only the first vCPU of the group may change the guest permissions:
	 * lock them (under siglock in Linux). */
	gperm = t->proc->leader ? &t->proc->leader->fpu.guest_perm : NULL;
	if (gperm)
		gperm->state_perm |= XK_GUEST_PERM_LOCKED;
	t->vcpu = v;
	if (out)
		*out = v;
	return 0;
}

static void vcpu_free(struct xk_kernel *k, struct xk_vcpu *v)
{
	if (v->sim_release)
		v->sim_release(v->sim);
	xk_fpstate_free(k, v->gfpu.fpstate);
	xk_cet_s_vcpu_destroy(k, v->task);
	if (v->task)
		v->task->vcpu = NULL;
	free(v);
}

int xk_kvm_vcpu_destroy(struct xk_kernel *k, struct xk_vcpu *v)
{
	/* fpu_free_guest_fpstate(): WARN unless valloc'ed guest state not in use. */
	if (v->fpu_loaded || v->gfpu.fpstate->in_use) {
		xk_warn(k, -1, "kvm: freeing a guest fpstate that is in use", XK_I_NONE, XS_OK);
		return -EBUSY;
	}
	vcpu_free(k, v);
	return 0;
}

/* A task going away takes its vCPU with it. If a KVM_RUN still had the
 * guest fpstate installed (the task was killed in the middle), the task's
 * own buffer goes back first so the release frees the right ones. */
void xk_kvm_task_release(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_vcpu *v = t->vcpu;
	struct xk_fpu *fpu = &t->fpu;

	if (!v)
		return;
	if (fpu->fpstate == v->gfpu.fpstate) {
		fpu->fpstate = fpu->task_fpstate ? fpu->task_fpstate : fpu->default_fpstate;
		fpu->task_fpstate = NULL;
	}
	v->gfpu.fpstate->in_use = false;
	v->fpu_loaded = v->in_guest = false;
	vcpu_free(k, v);
}

/* ---- KVM_CAP_XSAVE2 and KVM_SET_CPUID ---- */

/* kvm_get_filtered_xcr0(): supported XCR0 limited by the guest permission;
 * XTILECFG without XTILEDATA is useless, so it is dropped. */
static uint64_t filtered_xcr0(const struct xk_kernel *k, const struct xk_task *t)
{
	uint64_t perm = xk_xcomp_perm(t, true);
	uint64_t xcr0 = xk_kvm_supported_xcr0(k) & perm;

	if (!(xcr0 & XS_BIT(XS_C_XTILEDATA)))
		xcr0 &= ~XS_BIT(XS_C_XTILECFG);
	return xcr0;
}

uint32_t xk_kvm_cap_xsave2(const struct xk_kernel *k, const struct xk_task *t)
{
	uint32_t size = xk_calc_size(k, filtered_xcr0(k, t) | XS_MASK_FPSSE, false);

	return size < XK_KVM_XSAVE_SIZE ? XK_KVM_XSAVE_SIZE : size;
}

/* fpstate_realloc() for a guest buffer that is not installed (KVM_SET_CPUID
 * happens outside KVM_RUN): a new zeroed buffer with xcomp_bv set -- Linux
 * does not copy the old contents either -- and the old one freed. */
static int guest_realloc(struct xk_kernel *k, struct xk_vcpu *v, uint64_t xf)
{
	struct xk_perm *gp = &v->task->proc->leader->fpu.guest_perm;
	struct xk_fpstate *old = v->gfpu.fpstate, *n;

	n = guest_fpstate_alloc(k, v->task, gp->state_size, old->xfeatures | xf);
	if (!n)
		return -ENOMEM;
	n->user_size = gp->user_state_size;
	n->user_xfeatures = old->user_xfeatures | xf;
	n->xfd = old->xfd & ~xf;
	xk_fpstate_init_xcomp(k, n);
	v->gfpu.fpstate = n;
	v->gfpu.xfeatures |= xf;
	v->gfpu.uabi_size = gp->user_state_size > XK_KVM_XSAVE_SIZE ? gp->user_state_size
								    : XK_KVM_XSAVE_SIZE;
	XK_TRACE(k, .type = XK_EV_REALLOC, .cpu = -1, .task = v->task, .bytes = n->size,
		 .old = old->size, .mask = n->xfeatures, .value = n->xfd,
		 .why = "kvm: guest dynamic feature enabled");
	xk_fpstate_free(k, old);
	return 0;
}

int xk_kvm_set_cpuid(struct xk_kernel *k, struct xk_vcpu *v, uint64_t xcr0)
{
	uint64_t want = (xcr0 & xk_kvm_supported_xcr0(k)) | XS_BIT(XS_C_X87);
	uint64_t dyn = want & XK_MASK_USER_DYNAMIC & ~v->gfpu.xfeatures;

	if (v->fpu_loaded)
		return -EBUSY;
	if (dyn) {
		/* fpu_enable_guest_xfd_features() -> __xfd_enable_feature():
		 * the group's guest permission decides. */
		uint64_t perm = v->task->proc->leader->fpu.guest_perm.state_perm;
		int ret;

		if ((perm & dyn) != dyn)
			return -EPERM;
		ret = guest_realloc(k, v, dyn);
		if (ret)
			return ret;
	}
	v->supported_xcr0 = want;
	return 0;
}

/* ---- KVM_RUN ---- */

/* The vCPU task current on cpu in kernel mode, or NULL. */
static struct xk_vcpu *run_vcpu(struct xk_kernel *k, unsigned cpu)
{
	struct xk_cpu *c;
	struct xk_task *t;

	if (cpu >= k->ncpus)
		return NULL;
	c = &k->cpu[cpu];
	t = c->current;
	if (!xk_user_task(t) || !t->vcpu || c->user_mode || (t->flags & XK_TF_EXITING))
		return NULL;
	return t->vcpu;
}

/* fpu_swap_kvm_fpstate(gfpu, enter_guest). */
static void swap_fpstate(struct xk_kernel *k, struct xk_cpu *c, struct xk_vcpu *v, bool enter)
{
	struct xk_task *t = v->task;
	struct xk_fpu *fpu = &t->fpu;
	struct xk_fpstate *guest = v->gfpu.fpstate;
	const char *why = enter ? "kvm: load guest fpu" : "kvm: put guest fpu";

	if (!fpu->fpstate->is_confidential && !t->need_load)
		xk_save_fpregs(k, c, fpu, why);
	if (enter) {
		fpu->task_fpstate = fpu->fpstate;
		fpu->fpstate = guest;
		guest->in_use = true;
	} else {
		guest->in_use = false;
		fpu->fpstate = fpu->task_fpstate;
		fpu->task_fpstate = NULL;
	}
	/* Mutant: the way out forgets to load the host state back: the
	 * registers keep the guest's values while fpregs_mark_activate()
	 * below tells the kernel they hold the task's. */
	bool skip = !enter && xk_mutant(k, XK_MUT_GUEST_STATE_LEAK);

	if (fpu->fpstate->is_confidential)
		xk_xfd_update(k, c, fpu->fpstate);
	else if (!skip)
		/* Includes the XFD update. */
		xk_restore_fpregs(k, c, fpu->fpstate, k->restore_mask, why);
	xk_mark_active(k, c, t, why);
}

int xk_kvm_run_begin(struct xk_kernel *k, unsigned cpu)
{
	struct xk_vcpu *v = run_vcpu(k, cpu);
	struct xk_cpu *c;

	if (!v)
		return -EINVAL;
	c = &k->cpu[cpu];
	if (v->fpu_loaded || !c->kernel_fpu_allowed || c->irq_depth || c->nmi_depth)
		return -EBUSY;
	swap_fpstate(k, c, v, true);
	v->fpu_loaded = true;
	v->cpu = (int)cpu;
	return 0;
}

static void cpu_setup_event(struct xk_kernel *k, struct xk_cpu *c, enum xk_insn insn,
			    enum xs_fault f, uint32_t reg, uint64_t value, const char *why)
{
	XK_TRACE(k, .type = XK_EV_CPU_SETUP, .cpu = (int)c->id, .insn = insn, .fault = f,
		 .reg = reg, .value = value, .why = why);
	if (f)
		xk_warn(k, (int)c->id, why, insn, f);
}

/* KVM switches PKRU when the host has PKU and the guest uses it:
 * (xcr0 & PKRU) || guest CR4.PKE. The guest OS here enables CR4.PKE
 * whenever the CPU has PKU, as Linux guests do. */
static bool guest_uses_pkru(const struct xk_kernel *k, const struct xk_vcpu *v)
{
	(void)v;
	return k->model->feat.pku;
}

/* kvm_load_guest_xsave_state() and the entry itself. */
static void enter_guest(struct xk_kernel *k, struct xk_cpu *c, struct xk_vcpu *v)
{
	enum xs_fault f;

	if (v->xcr0 != k->xcr0) {
		f = xs_xsetbv(c->hw, 0, v->xcr0);
		cpu_setup_event(k, c, XK_I_XSETBV, f, 0, v->xcr0, "kvm: guest XCR0");
	}
	if (k->use_xsaves && v->xss != k->xss) {
		f = xs_wrmsr(c->hw, XS_MSR_XSS, v->xss);
		cpu_setup_event(k, c, XK_I_WRMSR, f, XS_MSR_XSS, v->xss, "kvm: guest IA32_XSS");
	}
	if (guest_uses_pkru(k, v)) {
		uint32_t host = 0;

		xs_rdpkru(c->hw, &host);
		v->host_pkru = host;
		if (v->pkru != host)
			xs_wrpkru(c->hw, v->pkru);
	}
	if (v->gfpu.xfd_err) {
		f = xs_wrmsr(c->hw, XS_MSR_XFD_ERR, v->gfpu.xfd_err);
		cpu_setup_event(k, c, XK_I_WRMSR, f, XS_MSR_XFD_ERR, v->gfpu.xfd_err,
				"kvm: guest XFD_ERR");
	}
	/* VM entry: non-root operation at the guest's privilege level. */
	xs_set_vmx_nonroot(c->hw, true);
	xs_set_cpl(c->hw, v->guest_cpl);
	v->in_guest = true;
	v->entries++;
}

/* The exit itself and kvm_load_host_xsave_state(). keep_xfd_err: the
 * hardware XFD_ERR is the guest's (#NM exit): read it before anything. */
static void exit_guest(struct xk_kernel *k, struct xk_cpu *c, struct xk_vcpu *v, bool nm)
{
	enum xs_fault f;

	xs_set_vmx_nonroot(c->hw, false);
	xs_set_cpl(c->hw, 0);
	v->in_guest = false;
	v->exits++;
	/* handle_nm_fault_irqoff(): keep the guest's XFD_ERR before the host
	 * can clobber it. */
	if (nm && v->gfpu.fpstate->xfd)
		xs_rdmsr(c->hw, XS_MSR_XFD_ERR, &v->gfpu.xfd_err);
	if (guest_uses_pkru(k, v)) {
		uint32_t g = 0;

		xs_rdpkru(c->hw, &g);
		v->pkru = g;
		if (g != v->host_pkru)
			xs_wrpkru(c->hw, v->host_pkru);
	}
	/* Mutant: the host XCR0/XSS come back only in kvm_put_guest_fpu, after
	 * the host has XSAVEd/XRSTORed under the guest's XCR0 (the bug Marcelo
	 * Tosatti fixed, "KVM: x86: fix maintenance of guest/host xcr0 state"). */
	if (!xk_mutant(k, XK_MUT_KVM_XCR0_ORDER)) {
		if (v->xcr0 != k->xcr0) {
			f = xs_xsetbv(c->hw, 0, k->xcr0);
			cpu_setup_event(k, c, XK_I_XSETBV, f, 0, k->xcr0, "kvm: host XCR0");
		}
		if (k->use_xsaves && v->xss != k->xss) {
			f = xs_wrmsr(c->hw, XS_MSR_XSS, k->xss);
			cpu_setup_event(k, c, XK_I_WRMSR, f, XS_MSR_XSS, k->xss,
					"kvm: host IA32_XSS");
		}
	}
	/* fpu_sync_guest_vmexit_xfd_state(): harmless when writes are
	 * intercepted (one pointless RDMSR), required when they are not. */
	if (k->dynamic && k->model->has_xfd) {
		uint64_t xfd = 0;

		if (!xs_rdmsr(c->hw, XS_MSR_XFD, &xfd)) {
			v->gfpu.fpstate->xfd = xfd;
			c->xfd_state = xfd;
		}
	}
	if (v->gfpu.xfd_err) {
		f = xs_wrmsr(c->hw, XS_MSR_XFD_ERR, 0);
		cpu_setup_event(k, c, XK_I_WRMSR, f, XS_MSR_XFD_ERR, 0, "kvm: host XFD_ERR");
	}
}

/* The host registers the mutant left behind come back at the latest here. */
static void late_host_xcr0(struct xk_kernel *k, struct xk_cpu *c)
{
	enum xs_fault f;
	uint64_t xcr0 = xs_xcr0(c->hw);

	if (xcr0 != k->xcr0) {
		f = xs_xsetbv(c->hw, 0, k->xcr0);
		cpu_setup_event(k, c, XK_I_XSETBV, f, 0, k->xcr0, "kvm: host XCR0 (late)");
	}
	if (k->use_xsaves && xs_xss(c->hw) != k->xss) {
		f = xs_wrmsr(c->hw, XS_MSR_XSS, k->xss);
		cpu_setup_event(k, c, XK_I_WRMSR, f, XS_MSR_XSS, k->xss, "kvm: host IA32_XSS (late)");
	}
}

int xk_kvm_vm_enter(struct xk_kernel *k, unsigned cpu)
{
	struct xk_vcpu *v = run_vcpu(k, cpu);
	struct xk_cpu *c;
	struct xk_task *t;

	if (!v)
		return -EINVAL;
	c = &k->cpu[cpu];
	t = v->task;
	if (!v->fpu_loaded || v->in_guest || !c->kernel_fpu_allowed || c->irq_depth ||
	    c->nmi_depth)
		return -EBUSY;
	/* The task may have been preempted or migrated since run_begin. */
	v->cpu = (int)cpu;
	/* vcpu_enter_guest(): TIF_NEED_FPU_LOAD -> switch_fpu_return(). */
	if (t->need_load)
		xk_restore_userregs(k, c, t, "kvm: enter guest");
	enter_guest(k, c, v);
	return 0;
}

int xk_kvm_vm_exit(struct xk_kernel *k, unsigned cpu)
{
	struct xk_vcpu *v = xk_kvm_in_guest(k, cpu);

	if (!v)
		return run_vcpu(k, cpu) ? -EBUSY : -EINVAL;
	exit_guest(k, &k->cpu[cpu], v, false);
	return 0;
}

int xk_kvm_run_end(struct xk_kernel *k, unsigned cpu)
{
	struct xk_vcpu *v = run_vcpu(k, cpu);
	struct xk_cpu *c;

	if (!v)
		return -EINVAL;
	c = &k->cpu[cpu];
	if (!v->fpu_loaded || v->in_guest || !c->kernel_fpu_allowed || c->irq_depth ||
	    c->nmi_depth)
		return -EBUSY;
	swap_fpstate(k, c, v, false);
	if (xk_mutant(k, XK_MUT_KVM_XCR0_ORDER))
		late_host_xcr0(k, c);
	v->fpu_loaded = false;
	v->cpu = -1;
	return 0;
}

struct xk_vcpu *xk_kvm_in_guest(const struct xk_kernel *k, unsigned cpu)
{
	const struct xk_task *t;

	if (cpu >= k->ncpus)
		return NULL;
	t = k->cpu[cpu].current;
	if (!t || !t->vcpu || !t->vcpu->in_guest)
		return NULL;
	return t->vcpu;
}

/* ---- Intercepted guest instructions ---- */

/* __kvm_set_xcr(): the architectural XCR0 rules, then only features the
 * guest's CPUID has ("do not allow the guest to set bits that we do not
 * support saving"). */
static bool guest_xcr0_valid(const struct xk_kernel *k, const struct xk_vcpu *v, uint64_t xcr0)
{
	if (xs_xcr0_invalid_reason(k->model, xcr0))
		return false;
	return !(xcr0 & ~(v->supported_xcr0 | XS_BIT(XS_C_X87)));
}

int xk_kvm_guest_xsetbv(struct xk_kernel *k, unsigned cpu, uint64_t xcr0)
{
	struct xk_vcpu *v = xk_kvm_in_guest(k, cpu);
	struct xk_cpu *c;

	if (!v)
		return -EBUSY;
	c = &k->cpu[cpu];
	exit_guest(k, c, v, false);
	if (!guest_xcr0_valid(k, v, xcr0)) {
		enter_guest(k, c, v);
		return -EINVAL; /* kvm_inject_gp() */
	}
	v->xcr0 = xcr0;
	enter_guest(k, c, v);
	return 0;
}

/* fpu_update_guest_xfd(): the guest's state is resident (the guest was
 * running), so only the MSR follows; not resident, XFD-disabled components
 * are cleared in the buffer's XSTATE_BV first (newer kernels), or a later
 * XRSTOR of them would #NM in the host. */
static void update_guest_xfd(struct xk_kernel *k, struct xk_cpu *c, struct xk_vcpu *v,
			     uint64_t xfd)
{
	struct xk_fpstate *fps = v->gfpu.fpstate;

	if (xfd && v->task->need_load) {
		uint64_t bv = xk_fpstate_xstate_bv(fps) & ~xfd;

		memcpy(fps->regs + XS_HDR_OFFSET, &bv, sizeof(bv));
	}
	fps->xfd = xfd;
	if (fps->in_use)
		xk_xfd_update(k, c, fps);
}

int xk_kvm_guest_wrmsr(struct xk_kernel *k, unsigned cpu, uint32_t msr, uint64_t val)
{
	struct xk_vcpu *v = xk_kvm_in_guest(k, cpu);
	struct xk_cpu *c;
	int ret = 0;

	if (!v)
		return -EBUSY;
	c = &k->cpu[cpu];
	switch (msr) {
	case XS_MSR_XSS:
		exit_guest(k, c, v, false);
		if (val & ~v->supported_xss)
			ret = -EINVAL;
		else
			v->xss = val;
		break;
	case XS_MSR_XFD:
		exit_guest(k, c, v, false);
		if (!k->model->has_xfd ||
		    (val & ~(v->supported_xcr0 & XK_MASK_USER_DYNAMIC)))
			ret = -EINVAL;
		else
			update_guest_xfd(k, c, v, val);
		break;
	case XS_MSR_XFD_ERR:
		exit_guest(k, c, v, false);
		if (!k->model->has_xfd || (val & ~(v->supported_xcr0 & XK_MASK_USER_DYNAMIC)))
			ret = -EINVAL;
		else
			v->gfpu.xfd_err = val;
		/* The exit above zeroed the hardware copy if the old value was
		 * non-zero; the entry below loads the new one if non-zero. */
		break;
	default:
		return -EINVAL; /* passed through: not KVM's business */
	}
	enter_guest(k, c, v);
	return ret;
}

int xk_kvm_guest_rdmsr(struct xk_kernel *k, unsigned cpu, uint32_t msr, uint64_t *val)
{
	struct xk_vcpu *v = xk_kvm_in_guest(k, cpu);

	if (!v)
		return -EBUSY;
	switch (msr) {
	case XS_MSR_XSS:
		*val = v->xss;
		return 0;
	case XS_MSR_XFD:
		*val = v->gfpu.fpstate->xfd;
		return 0;
	case XS_MSR_XFD_ERR:
		*val = v->gfpu.xfd_err;
		return 0;
	}
	return -EINVAL;
}

int xk_kvm_guest_nm(struct xk_kernel *k, unsigned cpu)
{
	struct xk_vcpu *v = xk_kvm_in_guest(k, cpu);
	struct xk_cpu *c;

	if (!v)
		return -EBUSY;
	c = &k->cpu[cpu];
	exit_guest(k, c, v, true);
	/* kvm_queue_exception(vcpu, NM_VECTOR): the guest's handler runs
	 * after the entry and reads its XFD_ERR. */
	enter_guest(k, c, v);
	return 0;
}

/* ---- KVM_GET_XSAVE2 / KVM_SET_XSAVE2 ---- */

int xk_kvm_get_xsave2(struct xk_kernel *k, struct xk_vcpu *v, void *buf, size_t len)
{
	/* Only what the guest's CPUID enables (x87|SSE always), so an image
	 * taken here restores on a host that lacks features the guest never
	 * saw. */
	uint64_t xfeatures = v->supported_xcr0 | XS_MASK_FPSSE;

	if (v->fpu_loaded)
		return -EBUSY;
	if (len != XK_KVM_XSAVE_SIZE && len < xk_kvm_cap_xsave2(k, v->task))
		return -EFAULT;
	xk_copy_xstate_to_uabi(k, v->gfpu.fpstate, xfeatures, v->pkru, XK_COPY_XSAVE, buf, len);
	return 0;
}

int xk_kvm_set_xsave2(struct xk_kernel *k, struct xk_vcpu *v, const void *buf, size_t len)
{
	struct xk_fpstate *fps = v->gfpu.fpstate;
	uint32_t size = v->gfpu.uabi_size;
	uint8_t *img;
	uint64_t xfeatures;
	uint32_t pkru = v->pkru;
	int ret;

	if (v->fpu_loaded)
		return -EBUSY;
	if (len < size)
		return -EFAULT; /* memdup_user(argp, uabi_size) */
	img = malloc(size);
	if (!img)
		return -ENOMEM;
	memcpy(img, buf, size);
	/* Compatibility: XFD-disabled features need not be in their initial
	 * state, but XSTATE_BV[i] must be clear or XRSTOR would #NM. */
	xfeatures = abi_ld64(img + XS_HDR_OFFSET) & ~fps->xfd;
	abi_st64(img + XS_HDR_OFFSET, xfeatures);
	/* fpu_copy_uabi_to_guest_fpstate(gfpu, buf, kvm_caps.supported_xcr0, &pkru). */
	if (xfeatures & ~xk_kvm_supported_xcr0(k)) {
		free(img);
		return -EINVAL;
	}
	/* KVM's odd ABI: PKRU stays what it was when its bit is clear. */
	ret = xk_copy_uabi_to_xstate(k, fps, img, size,
				     (xfeatures & XS_BIT(XS_C_PKRU)) ? &pkru : NULL);
	free(img);
	if (ret)
		return ret;
	v->pkru = pkru;
	return 0;
}
