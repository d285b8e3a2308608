/* xstate kernel manager: the special states -- the components that break
 * the simple rule "save everything at switch-out, load everything before
 * user mode" (issue "Special states"; seeds 000, 001, 003).
 *
 *   PKRU   user state the kernel obeys (copy_to_user checks it): switched
 *          eagerly at every context switch through thread.pkru, never part
 *          of the task restore; signal frames and ptrace carry it
 *          explicitly (pkru.c; Linux since 5.14).
 *   CET_U  supervisor state that affects user mode: in the task buffer,
 *          saved and restored with it; reported through NT_X86_SHSTK, never
 *          writable through NT_X86_XSTATE or a signal frame (cet.c).
 *   CET_S  supervisor state that affects kernel mode: Linux keeps it out of
 *          task buffers ("guest supervisor", guests only). Policy cet-s=
 *          models the alternatives seed 003 debated (cet.c, config.c).
 *   UINTR  user interrupts (2021 RFC, never merged): XSAVES clears UINV,
 *          XRSTORS #GPs while UINV != 0. Off in Linux; policy uintr=
 *          ordinary|independent shows seed 001's argument (uintr.c).
 *   LBR    an independent feature: saved and restored by its user (perf)
 *          with its own buffers and XSAVES/XRSTORS, never in a task buffer
 *          or a user ABI (independent.c).
 *
 * The classes of seed 000 ("user state", "supervisor state that affects
 * user mode", "supervisor state that affects kernel mode", plus PKRU's
 * "user state that affects the kernel") are computed from the boot
 * configuration by xk_xclass_of() (taxonomy.c) and shown by `xstate info`.
 *
 * Sources: arch/x86/include/asm/pkru.h, kernel/process_64.c (x86_pkru_load),
 * kernel/fpu/{core,regset,signal,xstate}.c, kernel/shstk.c,
 * events/intel/lbr.c (arch LBR XSAVES), the UINTR RFC (Sohil Mehta, 2021)
 * and Intel's ISE chapter on user interrupts; linux-design.md 1-3, 5, 6, 9.
 */
#ifndef XSTATE_KERNEL_SPECIAL_H
#define XSTATE_KERNEL_SPECIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xstate/kernel.h"

/* ---- Classes (taxonomy.c) ---- */

enum xk_xclass {
	XK_XC_ABSENT = 0,            /* the CPU model does not have the component */
	XK_XC_USER,                  /* seed 000 class 1: FP, SSE, AVX, ... */
	XK_XC_USER_DYNAMIC,          /* class 1, XFD-armed until first use: XTILEDATA */
	XK_XC_USER_AFFECTS_KERNEL,   /* PKRU: user state the kernel obeys */
	XK_XC_SUPERVISOR_USER,       /* class 2: CET_U, PASID (UINTR by policy) */
	XK_XC_SUPERVISOR_KERNEL,     /* class 3: CET_S */
	XK_XC_INDEPENDENT,           /* LBR: never in a task buffer */
	XK_XC_UNSUPPORTED,           /* the CPU has it, this kernel does not enable it */
};

/* The class of component comp under the booted configuration (policies
 * included). Components the CPU enumerates but the kernel left out are
 * XK_XC_UNSUPPORTED (PT, HDC, HWP, UINTR with uintr=off, or a feature
 * whose CPUID gate is absent). */
enum xk_xclass xk_xclass_of(const struct xk_kernel *k, unsigned comp);
/* "user", "user-dynamic", "user-affects-kernel", "supervisor-affects-user",
 * "supervisor-affects-kernel", "independent", "unsupported", "-". */
const char *xk_xclass_name(enum xk_xclass c);
/* Seed 000's class number: 1 (user state), 2 (supervisor state that
 * affects user mode), 3 (supervisor state that affects kernel mode);
 * PKRU is 1 ("user state that affects kernel mode"), 0 for the rest. */
int xk_xclass_seed000(enum xk_xclass c);
/* What the kernel does with the component, one short phrase
 * ("eager: WRPKRU at every switch"). Static text. */
const char *xk_xclass_handling(const struct xk_kernel *k, unsigned comp);
/* Why an unsupported component is not enabled ("no CPUID gate: shstk"). */
const char *xk_xclass_reason(const struct xk_kernel *k, unsigned comp);

/* ---- PKRU (pkru.c) ---- */

/* X86_FEATURE_OSPKE: PKU present and PKRU enabled in XCR0. */
bool xk_pkru_enabled(const struct xk_kernel *k);
/* init_pkru_value: every key but 0 access-disabled. */
uint32_t xk_pkru_init(const struct xk_kernel *k);
/* The PKRU value of t: the CPU's register while t is current somewhere
 * (Linux: "for current the authoritative source of PKRU is the hardware
 * itself"), else thread.pkru. 0 without OSPKE. */
uint32_t xk_pkru_get(struct xk_kernel *k, const struct xk_task *t);
/* A kernel access to user memory tagged with protection key pkey, made on
 * behalf of the current task of cpu (copy_to_user / copy_from_user, get/
 * put_user), cpu in kernel mode. The CPU applies PKRU to supervisor
 * accesses to user pages as well (SDM Vol. 3 4.6.2; Linux runs with
 * CR0.WP = 1, so WD applies to kernel writes). Returns 0, -EFAULT when
 * PKRU forbids it, -EINVAL (no user task current in kernel mode, pkey >
 * 15). Without OSPKE every access is allowed. */
int xk_pkru_uaccess(struct xk_kernel *k, unsigned cpu, unsigned pkey, bool write);

/* ---- CET user shadow stack and CET_S (cet.c) ---- */

/* arch_prctl() options (arch/x86/include/uapi/asm/prctl.h). */
enum {
	XK_ARCH_SHSTK_ENABLE = 0x5001,
	XK_ARCH_SHSTK_DISABLE = 0x5002,
	XK_ARCH_SHSTK_LOCK = 0x5003,
	XK_ARCH_SHSTK_UNLOCK = 0x5004,
	XK_ARCH_SHSTK_STATUS = 0x5005,
};
#define XK_ARCH_SHSTK_SHSTK (1ULL << 0)
#define XK_ARCH_SHSTK_WRSS (1ULL << 1)
/* IA32_U_CET bits (SDM Vol. 1 17.2.3). */
#define XK_CET_SHSTK_EN (1ULL << 0)
#define XK_CET_WRSS_EN (1ULL << 1)
/* ptrace regset (include/uapi/linux/elf.h). */
#define XK_NT_X86_SHSTK 0x204u
/* Shadow stacks the model hands out: the first one's top, and the size
 * (Linux: min(RLIMIT_STACK, 4 GiB) page aligned; 8 MiB is the usual
 * RLIMIT_STACK). Addresses are synthetic: the model has no page tables. */
#define XK_SHSTK_TOP 0x00007f0000000000ULL
#define XK_SHSTK_SIZE 0x800000ULL

/* X86_FEATURE_USER_SHSTK: shadow stacks for user mode are available
 * (SHSTK enumerated, XSAVES, CET_U enabled in IA32_XSS). */
bool xk_shstk_supported(const struct xk_kernel *k);
/* thread.features of t (ARCH_SHSTK_* bits); 0 for tasks without any. */
uint64_t xk_shstk_features(const struct xk_task *t);
/* arch_prctl(ARCH_SHSTK_*, arg2) by the current task of cpu (kernel mode,
 * a system call). ENABLE/DISABLE take exactly one feature bit; STATUS
 * stores thread.features in *status (may be NULL). Linux's errors:
 * -EOPNOTSUPP without user shadow stacks, -EPERM for a locked feature or
 * WRSS without SHSTK, -EINVAL otherwise (several bits, unknown bit,
 * UNLOCK not through ptrace). ENABLE(SHSTK) allocates a shadow stack and
 * writes IA32_PL3_SSP (its top) and IA32_U_CET = SHSTK_EN on the live
 * registers (fpregs_lock_and_load first). Enabling an enabled feature
 * is 0. */
long xk_shstk_prctl(struct xk_kernel *k, unsigned cpu, int option, uint64_t arg2,
		    uint64_t *status);
/* PTRACE_GET/SETREGSET(NT_X86_SHSTK) (ptrace_regset() + regset.c
 * ssp_get/ssp_set) on a stopped tracee t: 8 bytes, CET_USER.user_ssp of its
 * buffer. -ESRCH: t running, a kernel thread or dead. -EINVAL: *len not a
 * multiple of 8; a longer *len is clamped to 8. -ENODEV: no user shadow
 * stacks, shadow stack not enabled for t, or (a WARN) the CET_U component
 * is in its initial state in the buffer; SET: -EINVAL if *len is 0 or the
 * value is not below TASK_SIZE_MAX and 8-byte aligned. A SET writes only
 * user_ssp and makes t reload its registers (fpu_force_restore). On success
 * *len is the clamped length (GET stores that many bytes, 0 or 8). A
 * refused call changes nothing. */
int xk_shstk_regset(struct xk_kernel *k, struct xk_task *t, bool set, void *buf, size_t *len);

/* cet-s=independent (seed 003, Maxim Levitsky: "adding
 * XFEATURE_MASK_CET_KERNEL to XFEATURE_MASK_INDEPENDENT"): the guest's CET_S
 * is in no fpstate, so KVM has to switch it itself, on the scheduler's
 * schedule like perf's LBR: at the switch away from a vCPU thread XSAVES
 * into the vCPU's own buffer and XRSTORS of the initial state (no guest's
 * PL0-2_SSP may reach another vCPU), at the switch to one XRSTORS from its
 * buffer -- whether or not the guest runs in between (Yang Weijiang: CET
 * supervisor state "require[s] relatively eager handling"). The count of
 * these instructions is the eagerness cost; the 640-byte buffer per vCPU
 * and the guest fpstates 24 bytes smaller are the size cost. The scheduler
 * hook is in special.c; the state of a task's vCPU: */
struct xk_indep_buf *xk_cet_s_guest_buf(const struct xk_task *t);
/* KVM_CREATE_VCPU / vCPU destruction (kvm.c): the buffer is allocated with
 * the vCPU, where -ENOMEM can still be returned (0 when the policy does
 * not use one), and freed with it. */
int xk_cet_s_vcpu_create(struct xk_kernel *k, struct xk_task *t);
void xk_cet_s_vcpu_destroy(struct xk_kernel *k, struct xk_task *t);

/* ---- Independent features (independent.c) ---- */

/* A compacted XSAVES area of its own for independent features (perf's
 * task_ctx->xsave for LBR; KVM's CET_S under cet-s=independent; a task's
 * UINTR state under uintr=independent): the 512-byte legacy area and the
 * header that XSAVES needs, then the components -- "the 512-byte wastes
 * from extra copies of the legacy area" of seed 001. */
struct xk_indep_buf {
	uint64_t mask;          /* components it has room for */
	uint32_t size;          /* bytes of regs */
	bool saved;             /* holds a saved state (XSAVES ran) */
	struct xk_task *task;   /* whose (for traces and accounting) */
	_Alignas(64) uint8_t regs[];
};

/* Bytes of an independent buffer for mask (compacted: 576 + components). */
uint32_t xk_indep_size(const struct xk_kernel *k, uint64_t mask);
/* Allocate one (zeroed: XRSTORS of it loads the initial configuration);
 * counted in k->mem and t->xstate_bytes like fpstates; NULL on failure
 * (the alloc_fail hook applies). */
struct xk_indep_buf *xk_indep_alloc(struct xk_kernel *k, struct xk_task *t, uint64_t mask);
void xk_indep_free(struct xk_kernel *k, struct xk_indep_buf *b);
/* xsaves()/xrstors() of arch/x86/kernel/fpu/xstate.c: XSAVES/XRSTORS of
 * mask on cpu with b. Linux's rules: the kernel must use XSAVES, and mask
 * must be a non-empty subset of the independent features
 * (kcfg.independent_features) and of b->mask; otherwise WARN and nothing
 * is executed (-EINVAL). A faulting instruction is a WARN too (-EFAULT). */
int xk_xsaves_indep(struct xk_kernel *k, unsigned cpu, struct xk_indep_buf *b, uint64_t mask,
		    const char *why);
int xk_xrstors_indep(struct xk_kernel *k, unsigned cpu, struct xk_indep_buf *b, uint64_t mask,
		     const char *why);

/* perf's per-task LBR call-stack context with arch LBR
 * (intel_pmu_lbr_sched_task -> intel_pmu_arch_lbr_xsaves/xrstors): at the
 * switch away from t the LBR state is saved into t's own buffer and
 * recording stops (IA32_LBR_CTL = 0); at the switch to t it is restored,
 * or, the first time, the records are reset (WRMSR IA32_LBR_DEPTH) and
 * IA32_LBR_CTL := ctl. This runs on the scheduler's schedule, independent
 * of the FPU state: the task XSAVES/XRSTORS never include LBR. t must not
 * be running. Returns 0, -EOPNOTSUPP (no arch LBR enabled), -EBUSY
 * (already attached / running), -ENOMEM, -EINVAL (bad ctl: checked on the
 * first WRMSR; then a WARN). */
#define XK_LBR_CTL_CALLSTACK 0x38000DULL /* LBREn|USR|CALL_STACK, calls and returns */
int xk_perf_lbr_attach(struct xk_kernel *k, struct xk_task *t, uint64_t ctl);
int xk_perf_lbr_detach(struct xk_kernel *k, struct xk_task *t);
bool xk_perf_lbr_attached(const struct xk_task *t);
/* A CPU-wide LBR event on cpu (no per-task context): records reset, then
 * IA32_LBR_CTL := ctl; ctl 0 stops it. Task switches never touch it.
 * 0, -EOPNOTSUPP (no arch LBR), -EINVAL (bad cpu or ctl: WARN). */
int xk_perf_lbr_cpu(struct xk_kernel *k, unsigned cpu, uint64_t ctl);

/* ---- User interrupts (uintr.c) ---- */

/* UINTR_NOTIFICATION_VECTOR of the RFC. */
#define XK_UINTR_NV 0xECu

/* The user posted-interrupt descriptor (ISE "UPID"): 16 bytes in kernel
 * memory, written by SENDUIPI (the sender's CPU) and by the kernel. */
struct xk_upid {
	uint64_t nc;   /* ON bit 0, SN bit 1, NV 23:16, NDST (APIC ID) 63:32 */
	uint64_t pir;  /* posted user-interrupt requests, one bit per vector */
};
#define XK_UPID_ON (1ULL << 0)
#define XK_UPID_SN (1ULL << 1)

/* A registered receiver (uintr_register_handler()). */
struct xk_uintr {
	_Alignas(64) struct xk_upid upid;
	uint64_t upid_addr;          /* the kernel address written to IA32_UINTR_PD */
	uint64_t handler;            /* IA32_UINTR_HANDLER */
	struct xk_indep_buf *buf;    /* uintr=independent: the task's UINTR state */
	int live_cpu;                /* independent: CPU whose registers hold it, -1 */
	/* What happened to it (the CPU side counts deliveries). */
	uint64_t posted;             /* SENDUIPIs that targeted it */
	uint64_t delivered;          /* user interrupts its handler received */
	uint64_t misdelivered;       /* ... while another task was running (a leak) */
	uint64_t notifications;      /* notification IPIs recognized as such */
	uint64_t spurious;           /* notifications that reached the kernel instead */
	uint64_t vectors_delivered;  /* bit v: vector v delivered at least once */
};

/* The policy enabled UINTR and the CPU has it. */
bool xk_uintr_enabled(const struct xk_kernel *k);
/* The receiver state of t, NULL if t registered no handler. */
struct xk_uintr *xk_uintr_of(const struct xk_task *t);
/* uintr_register_handler(handler) by the current task of cpu (kernel
 * mode): allocates the UPID (NV = XK_UINTR_NV, NDST = this CPU) and
 * programs the task's UINTR state: HANDLER, PD, STACKADJUST = 128 (the
 * red zone), UINV = NV in IA32_UINTR_MISC. ordinary: on the live
 * registers after fpregs_lock_and_load (the RFC); independent: on the
 * registers, which then are this task's (live_cpu). Returns 0,
 * -EOPNOTSUPP (uintr=off), -EBUSY (already registered), -EINVAL (handler
 * not a canonical user address), -ENOMEM. */
int xk_uintr_register(struct xk_kernel *k, unsigned cpu, uint64_t handler);
/* uintr_unregister_handler(): clears the task's UINTR state (UINV first,
 * then the rest) and frees the UPID. -EINVAL if not registered. */
int xk_uintr_unregister(struct xk_kernel *k, unsigned cpu);

/* The hardware side. The architecture model implements the UINTR state
 * and XSAVES/XRSTORS's rules for it but no interrupts; what the sender's
 * CPU, the local APIC and the receiver's CPU do is modelled here on top of
 * its RDMSR/WRMSR (executed as the processor would, whatever the CPL):
 *
 * SENDUIPI to receiver r, vector v (the UITT lookup is not modelled: the
 * sender names r): set PIR[v]; if SN = 0 and ON = 0, set ON and send the
 * notification IPI (vector NV) to NDST. Returns 1 if an IPI was sent, 0
 * if only posted, -EINVAL (r has no UPID, v > 63). */
int xk_uintr_senduipi(struct xk_kernel *k, struct xk_task *r, unsigned vector);
/* The interrupt vector arrives at cpu. If it equals the CPU's UINV (and
 * UINV != 0): user-interrupt notification processing (ISE): the UPID at
 * IA32_UINTR_PD gets ON = 0, UIRR |= PIR, PIR = 0; then, in user mode,
 * delivery. Otherwise it is an ordinary interrupt: the kernel's handler
 * for the notification vector finds nothing to do (RFC: "spurious"),
 * and the request stays posted. Returns 1 if processed as a
 * notification, 0 if it went to the kernel. */
int xk_uintr_notify(struct xk_kernel *k, unsigned cpu, unsigned vector);
/* User-interrupt delivery on cpu, which is in user mode: each pending
 * vector of UIRR, highest first, is cleared and counted as delivered to
 * the receiver whose UPID the CPU's IA32_UINTR_PD names (its handler
 * runs, returns with UIRET) -- or as misdelivered when that receiver is
 * not the task running there. UIF is not modelled (always 1). Returns
 * the number delivered; a UIRR naming no registered UPID is a WARN. */
unsigned xk_uintr_deliver(struct xk_kernel *k, unsigned cpu);

/* Invariant "pending user interrupts are not lost" on cpu, for checkers
 * (an observer: executes nothing). When a registered receiver runs in user
 * mode there, the CPU must be able to take its notifications and nothing
 * may be left behind: UINV = the UPID's NV, IA32_UINTR_PD = its UPID, SN
 * clear, NDST = cpu, ON clear and PIR empty (posted requests moved to UIRR
 * and delivered). NULL if that holds or nothing is to check, else why not
 * (static text). */
const char *xk_uintr_check(const struct xk_kernel *k, unsigned cpu);

/* ---- Per-task special state ---- */

struct xk_special {
	/* CET shadow stack (thread.features, thread.features_locked, the
	 * shadow stack the kernel allocated for the task). */
	uint64_t shstk_features;
	uint64_t shstk_locked;
	uint64_t shstk_base;
	uint64_t shstk_size;
	/* perf LBR call-stack context (NULL: none). */
	struct xk_indep_buf *lbr;
	uint64_t lbr_ctl;
	/* UINTR receiver (NULL: not registered). */
	struct xk_uintr *uintr;
	/* cet-s=independent: the guest CET_S of the task's vCPU (NULL: none). */
	struct xk_indep_buf *cet_s;
};

/* The special state of t, allocated on first use (NULL: out of memory). */
struct xk_special *xk_special_get(struct xk_kernel *k, struct xk_task *t);

#endif
