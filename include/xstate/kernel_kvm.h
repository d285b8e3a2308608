/* xstate kernel manager: KVM guest extended state (linux-design.md 8).
 *
 * A vCPU belongs to a user task (the thread that issues KVM_RUN). It owns a
 * guest fpstate of its own: sized and featured by guest_default_cfg (so it
 * carries CET_S, the "kernel-dynamic" / guest-supervisor feature, where the
 * CPU has it), with the guest's architectural XFD reset value 0, and its
 * own permission record: creating the first vCPU of a process freezes the
 * group's guest permissions (FPU_GUEST_PERM_LOCKED), after which
 * ARCH_REQ_XCOMP_GUEST_PERM fails with -EBUSY.
 *
 * The life of one KVM_RUN ioctl, as the model executes it:
 *
 *   xk_kvm_run_begin   kvm_load_guest_fpu() = fpu_swap_kvm_fpstate(gfpu, true):
 *                      save the host registers (unless need_load), install
 *                      the guest fpstate as the task's active one, restore it
 *                      (XFD := the guest's, then XRSTOR(S) with the FPSTATE mask).
 *   xk_kvm_vm_enter    vcpu_enter_guest(): a pending restore first
 *                      (switch_fpu_return, after a preemption or a kernel FPU
 *                      section), then kvm_load_guest_xsave_state(): XSETBV
 *                      guest XCR0, WRMSR guest IA32_XSS, WRPKRU guest PKRU,
 *                      WRMSR the guest's XFD_ERR; the CPU enters VMX non-root
 *                      operation at the guest's CPL. The guest now runs.
 *   xk_kvm_vm_exit     VM exit: back to root operation at CPL 0, then
 *                      kvm_load_host_xsave_state(): RDPKRU into the vCPU,
 *                      host PKRU, host XCR0, host IA32_XSS, sync the guest's
 *                      XFD, clear a guest XFD_ERR. Only now may the host run
 *                      an XSAVE-family instruction (the invariant "host-context
 *                      registers"; the KVM XCR0-ordering bug of
 *                      users-and-bugs.md section 2 broke it).
 *   xk_kvm_run_end     kvm_put_guest_fpu() = fpu_swap_kvm_fpstate(gfpu, false):
 *                      save the guest registers into the guest buffer, switch
 *                      back to the task's own fpstate and restore it. The ioctl
 *                      then returns to user mode.
 *
 * Between run_begin and run_end the vCPU task is in the kernel and may be
 * preempted, take interrupts and kernel FPU sections between an exit and
 * the next entry: the ordinary switch and kfpu code then saves the guest
 * state into the guest buffer (it is the task's active fpstate), and the
 * next VM entry restores it. A guest's state never reaches the host task's
 * buffer or registers, and the other way round.
 *
 * KVM_GET_XSAVE2 / KVM_SET_XSAVE2 move the guest fpstate through the
 * standard-format user ABI buffer (the ptrace helpers of kernel_abi.h):
 * size KVM_CAP_XSAVE2, features limited to the guest's CPUID, PKRU from and
 * to the vCPU's PKRU (KVM leaves it alone when the PKRU bit is clear),
 * XSTATE_BV bits outside KVM's supported XCR0 -> -EINVAL.
 *
 * Sources: arch/x86/kernel/fpu/core.c (fpu_alloc_guest_fpstate,
 * fpu_swap_kvm_fpstate, fpu_update_guest_xfd, fpu_sync_guest_vmexit_xfd_state,
 * fpu_copy_{guest_fpstate_to_uabi,uabi_to_guest_fpstate}),
 * arch/x86/kvm/x86.c (kvm_load_{guest,host}_xsave_state, __kvm_set_xcr,
 * kvm_vcpu_ioctl_x86_{get,set}_xsave*, KVM_CAP_XSAVE2, vcpu_enter_guest).
 */
#ifndef XSTATE_KERNEL_KVM_H
#define XSTATE_KERNEL_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xstate/kernel.h"

/* sizeof(struct kvm_xsave): the legacy KVM_GET/SET_XSAVE size and the
 * minimum of KVM_CAP_XSAVE2. */
#define XK_KVM_XSAVE_SIZE 4096u

struct xk_vcpu {
	unsigned id;                 /* = the vCPU task's tid (names in traces) */
	struct xk_task *task;        /* the vCPU thread */
	struct xk_fpu_guest gfpu;    /* guest_fpu: fpstate, xfeatures, xfd_err, uabi_size */

	/* Guest registers KVM keeps in vcpu->arch. */
	uint64_t supported_xcr0;     /* guest_supported_xcr0: what XSETBV may enable */
	uint64_t supported_xss;      /* what the guest's IA32_XSS may hold */
	uint64_t xcr0;               /* the guest's XCR0 (RESET: x87 only) */
	uint64_t xss;                /* the guest's IA32_XSS (RESET: 0) */
	uint32_t pkru;               /* vcpu->arch.pkru (RESET: 0) */
	uint32_t host_pkru;          /* vcpu->arch.host_pkru, read at entry */
	int guest_cpl;               /* CPL the guest code runs at (0: the guest kernel) */

	/* Where the vCPU is in a KVM_RUN. */
	bool fpu_loaded;             /* between run_begin and run_end */
	bool in_guest;               /* between VM entry and VM exit */
	int cpu;                     /* CPU of the current KVM_RUN, -1 outside */
	uint64_t entries, exits;

	/* Simulator data, released with the vCPU. */
	void *sim;
	void (*sim_release)(void *sim);
};

/* KVM_CREATE_VCPU for task t (a user task; it becomes the vCPU thread):
 * fpu_alloc_guest_fpstate() + lock the group's guest permissions. Returns
 * 0, -EINVAL (not a user task), -EEXIST (t already runs a vCPU), -ENOMEM. */
int xk_kvm_vcpu_create(struct xk_kernel *k, struct xk_task *t, struct xk_vcpu **out);
/* fpu_free_guest_fpstate(): refused (-EBUSY) while a KVM_RUN has the guest
 * fpstate installed. Called for a task's vCPU when the task is released. */
int xk_kvm_vcpu_destroy(struct xk_kernel *k, struct xk_vcpu *v);
/* The vCPU task t runs, NULL if none. */
struct xk_vcpu *xk_kvm_vcpu_of(const struct xk_task *t);

/* KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) in t's process: max(4096, standard
 * size of KVM's supported XCR0 filtered by the group's guest permission,
 * XTILECFG dropped unless XTILEDATA is permitted). */
uint32_t xk_kvm_cap_xsave2(const struct xk_kernel *k, const struct xk_task *t);
/* KVM's supported XCR0 (kvm_caps.supported_xcr0): the host's user features. */
uint64_t xk_kvm_supported_xcr0(const struct xk_kernel *k);

/* KVM_SET_CPUID2, the XSAVE part: the guest may enable xcr0 (x87 always);
 * bits KVM does not support are dropped. Dynamic features (XTILEDATA)
 * need the group's guest permission (-EPERM) and grow the guest buffer
 * (fpu_enable_guest_xfd_features, -ENOMEM). -EBUSY during a KVM_RUN. */
int xk_kvm_set_cpuid(struct xk_kernel *k, struct xk_vcpu *v, uint64_t xcr0);

/* The KVM_RUN steps described above. cpu is where the vCPU task is current
 * in kernel mode. Each returns 0, -EINVAL (no vCPU task current in kernel
 * mode on cpu) or -EBUSY (the step is out of order). */
int xk_kvm_run_begin(struct xk_kernel *k, unsigned cpu);
int xk_kvm_vm_enter(struct xk_kernel *k, unsigned cpu);
int xk_kvm_vm_exit(struct xk_kernel *k, unsigned cpu);
int xk_kvm_run_end(struct xk_kernel *k, unsigned cpu);
/* The vCPU whose guest runs on cpu right now (between entry and exit). */
struct xk_vcpu *xk_kvm_in_guest(const struct xk_kernel *k, unsigned cpu);

/* What guest code does that KVM intercepts. Each is one VM exit, the
 * emulation and the VM entry, with the guest still running afterwards.
 * Return 0, or -EINVAL when KVM injects #GP into the guest (nothing changed);
 * -EBUSY if the guest is not running on cpu.
 *   XSETBV: __kvm_set_xcr(): XCR0 rules of the SDM plus "only what the
 *           guest's CPUID allows".
 *   WRMSR IA32_XSS: kvm_set_msr_common(): only supported supervisor bits.
 *   WRMSR IA32_XFD: fpu_update_guest_xfd() (only XFD-capable supported bits).
 *   WRMSR IA32_XFD_ERR: the guest's copy (guest_fpu.xfd_err).
 * Other MSRs (CET, ...) are passed through: the caller executes them. */
int xk_kvm_guest_xsetbv(struct xk_kernel *k, unsigned cpu, uint64_t xcr0);
int xk_kvm_guest_wrmsr(struct xk_kernel *k, unsigned cpu, uint32_t msr, uint64_t val);
/* RDMSR of IA32_XFD_ERR / IA32_XFD / IA32_XSS by the guest: KVM's copy.
 * -EINVAL for other MSRs (passed through). */
int xk_kvm_guest_rdmsr(struct xk_kernel *k, unsigned cpu, uint32_t msr, uint64_t *val);
/* The guest raised #NM: VM exit (the #NM intercept is on while the guest's
 * XFD is non-zero), KVM keeps XFD_ERR for the guest
 * (handle_nm_fault_irqoff), the host sees XFD_ERR = 0, #NM is injected and
 * the guest resumes. */
int xk_kvm_guest_nm(struct xk_kernel *k, unsigned cpu);

/* KVM_GET_XSAVE2 (len >= KVM_CAP_XSAVE2) or KVM_GET_XSAVE (len = 4096,
 * truncated): the guest fpstate as a standard-format image with the
 * guest's CPUID features (x87|SSE always) and the vCPU's PKRU. -EFAULT if
 * len is smaller than the size the ioctl writes; -EBUSY during a KVM_RUN. */
int xk_kvm_get_xsave2(struct xk_kernel *k, struct xk_vcpu *v, void *buf, size_t len);
/* KVM_SET_XSAVE(2): reads guest_fpu.uabi_size bytes (-EFAULT if len is
 * smaller). XSTATE_BV bits of XFD-disabled features are cleared first
 * (compatibility rule); then bits outside KVM's supported XCR0 -> -EINVAL,
 * and the ptrace import rules (-EINVAL: features the guest buffer has no
 * room for, xcomp_bv, reserved header bytes, MXCSR). PKRU: taken from the
 * image only if its bit is set (KVM's odd ABI), else the vCPU keeps its
 * PKRU. A rejected image changes nothing. -EBUSY during a KVM_RUN. */
int xk_kvm_set_xsave2(struct xk_kernel *k, struct xk_vcpu *v, const void *buf, size_t len);

/* kernel-internal: a released task's vCPU goes with it. */
void xk_kvm_task_release(struct xk_kernel *k, struct xk_task *t);

#endif
