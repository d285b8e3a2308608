/* xstate kernel manager: named policies and seeded bugs ("mutants").
 *
 * A policy is a set of named switches, each "name=value", with Linux's
 * behaviour as the default. Scenario files, `xstate run` and `xstate explore
 * --policy N=V` all go through xk_policy_set(), so the names and the error
 * messages are the same everywhere.
 *
 *   restore=eager|lazy   eager (default): Linux since 4.6/5.2 -- the save
 *                        happens at switch-out, the restore is deferred to
 *                        the return to user mode (TIF_NEED_FPU_LOAD).
 *                        lazy: the pre-2016 CR0.TS scheme -- the switch sets
 *                        CR0.TS and the previous task's values stay in the
 *                        registers; the first FPU instruction of the new
 *                        task raises #NM and the handler restores. This is
 *                        the LazyFP (CVE-2018-3665) precondition. As
 *                        Linux's eagerfpu=off, it leaves XK_MASK_EAGER_ONLY
 *                        (MPX, AMX, APX: no #NM on CR0.TS) out of XCR0.
 *   shortcut=on|off      on (default): skip the restore when the registers
 *                        still hold this task's state on this CPU (owner and
 *                        last_cpu check, fpregs_state_valid()). off: always
 *                        restore.
 *   save=auto|xsaves|xsavec|xsaveopt|xsave
 *                        auto (default): the best the CPU has, XSAVES >
 *                        XSAVEC > XSAVEOPT > XSAVE. Naming one acts like
 *                        Linux's clearcpuid= for the better ones: save=xsavec
 *                        means "no XSAVES" (so no supervisor state and
 *                        XRSTOR), save=xsaveopt and save=xsave use the
 *                        standard format. Booting refuses a choice the CPU
 *                        model does not have.
 *   mutant=NAME|none     add a seeded bug (repeatable); none clears them.
 *
 * User-ABI policies (kernel_abi.h; printed by xk_policy_format() only when
 * not the default):
 *   prealloc=off|on      on: ARCH_REQ_XCOMP_PREALLOC exists (seed 004 item 7,
 *                        not in Linux): a task allocates its AMX buffer with
 *                        a system call that returns -ENOMEM on failure.
 *   harvest=off|on       on: xk_xstate_harvest() (memory pressure) frees clean,
 *                        unused AMX buffers and re-arms XFD (seed 004, not in
 *                        Linux); pre-allocated buffers are never harvested.
 *   sigreturn-fail=init|keep
 *                        init (default, Linux): a sigreturn whose frame
 *                        fails to restore resets the user state to init
 *                        and sends SIGSEGV. keep: the state stays exactly as
 *                        it was before the call (SIGSEGV all the same).
 *
 * Special-state policies (kernel_special.h, issue "Special states"; printed
 * by xk_policy_format() only when not the default):
 *   cet-s=guest|task|independent
 *                        guest (default, Linux v6.17): CET supervisor state
 *                        (PL0-2_SSP) is a "guest supervisor" feature -- in
 *                        IA32_XSS and kernel.max, absent from the default task
 *                        buffers, present only in guest buffers. task: the
 *                        CET series before XFEATURE_MASK_KERNEL_DYNAMIC --
 *                        every task buffer carries it. independent: seed 003
 *                        (Maxim Levitsky) -- like LBR, never in any fpstate;
 *                        KVM switches it with its own XSAVES/XRSTORS.
 *   uintr=off|ordinary|independent
 *                        off (default, Linux: the 2021 RFC was never merged):
 *                        component 14 is not enabled. ordinary: UINTR is a
 *                        supervisor component of the task buffer, switched
 *                        with everything else, owner/last_cpu shortcut
 *                        included (the RFC; seed 001 predicts lost interrupts
 *                        and #GP). independent: seed 001's proposal (Andy
 *                        Lutomirski) -- own XSAVES at switch-out and own
 *                        XRSTORS before every return to user mode.
 *                        Boot refuses ordinary/independent on a CPU model
 *                        without UINTR.
 *   user-shstk=on|off    on (default): the kernel is built with
 *                        CONFIG_X86_USER_SHADOW_STACK -- user shadow stacks
 *                        when the CPU has them; NT_X86_SHSTK exists (ENODEV
 *                        while the task has no shadow stack). off: built
 *                        without it, as many distribution kernels (and the
 *                        project's host, `xstate conform`): no user shadow
 *                        stacks; NT_X86_SHSTK does not exist (EINVAL) and the
 *                        ARCH_SHSTK_* options are unknown (EINVAL). CET_U
 *                        stays in IA32_XSS either way (xsave_cpuid_features
 *                        follows the CPU's SHSTK bit, not the build option).
 *
 * FS/GS base policies (kernel_fsgs.h, seed 002; printed only when not the
 * default):
 *   fsgs=linux|lutomirski2016
 *                        linux (default, v5.9+): with FSGSBASE the selector
 *                        and the base of FS and GS are saved and restored
 *                        independently, ptrace base writes leave the
 *                        selector alone. lutomirski2016: seed 002's proposal --
 *                        save/report selector and base as the CPU has them;
 *                        restore: selector 0 -> the saved base, selector != 0
 *                        -> the base of the in-memory descriptor.
 *   fsgsbase=on|off      on (default): enable CR4.FSGSBASE when the CPU model
 *                        has it (user RD/WR{FS,GS}BASE, the kernel's fast
 *                        paths); off: Linux's "nofsgsbase" (legacy switch
 *                        paths, RD/WR*BASE raise #UD).
 */
#ifndef XSTATE_KERNEL_POLICY_H
#define XSTATE_KERNEL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xk_restore_mode {
	XK_RESTORE_EAGER = 0, /* Linux: deferred restore on return to user */
	XK_RESTORE_LAZY,      /* pre-2016: CR0.TS + restore in the #NM handler */
};

enum xk_save_choice {
	XK_SAVE_AUTO = 0,
	XK_SAVE_XSAVES,
	XK_SAVE_XSAVEC,
	XK_SAVE_XSAVEOPT,
	XK_SAVE_XSAVE,
};

/* cet-s= (special states). */
enum xk_cet_s_mode {
	XK_CET_S_GUEST = 0,   /* Linux v6.17: guest buffers only */
	XK_CET_S_TASK,        /* in every task buffer (pre-KERNEL_DYNAMIC CET series) */
	XK_CET_S_INDEPENDENT, /* seed 003: own XSAVES/XRSTORS, never in an fpstate */
};

/* fsgs= (FS/GS base, seed 002). */
enum xk_fsgs_mode {
	XK_FSGS_LINUX = 0,    /* v5.9+: selector and base preserved independently */
	XK_FSGS_LUTO2016,     /* seed 002: selector != 0 -> base from the descriptor */
};

/* uintr= (special states). */
enum xk_uintr_mode {
	XK_UINTR_OFF = 0,     /* Linux: not enabled */
	XK_UINTR_ORDINARY,    /* task buffer, switched with the rest (2021 RFC) */
	XK_UINTR_INDEPENDENT, /* seed 001: own save/restore, no shortcut */
};

/* Seeded bugs. Each is consulted at exactly one documented point of the
 * kernel code through xk_mutant(k, XK_MUT_...); the checker issue extends
 * this list (e.g. "stale owner check after kernel FPU use", "forget reload
 * flag after ptrace write"). Keep the numbers stable: they are bit numbers
 * of struct xk_policy.mutants. */
enum xk_mutant {
	/* switch.c, fpregs_state_valid(): the "registers still valid" shortcut
	 * checks only the per-CPU owner and ignores fpu->last_cpu, so a task
	 * that migrates back to a CPU it owned earlier skips a needed restore. */
	XK_MUT_SHORTCUT_IGNORES_LAST_CPU = 0,
	/* Special states (kernel_special.h). pkru.c: PKRU is loaded at the
	 * return to user mode instead of eagerly at the switch, so kernel code
	 * running for the next task (copy_to_user) obeys the previous task's
	 * protection keys. */
	XK_MUT_PKRU_LAZY,
	/* uintr.c, policy uintr=independent: the UINTR restore before user mode
	 * is skipped when owner/last_cpu say the registers are still valid --
	 * but the switch-out XSAVES cleared UINV (seed 001), so notifications
	 * are no longer recognized and user interrupts are lost. */
	XK_MUT_UINTR_SHORTCUT,
	/* cet.c, NT_X86_SHSTK set: the "< TASK_SIZE_MAX and 8-byte aligned"
	 * check on the new SSP is missing, so a bad value reaches the task
	 * buffer and the kernel's XRSTORS before user mode #GPs (the regset's
	 * comment: "kernel instructions (IRET, etc) can cause exceptions in the
	 * case of disallowed CET register values"). */
	XK_MUT_SHSTK_SET_UNCHECKED,
	/* FS/GS base and KVM (kernel_fsgs.h, kernel_kvm.h). fsgs.c, ptrace
	 * putreg(fs_base/gs_base): the base write also zeroes the selector, as
	 * before v5.9 (do_arch_prctl_64) -- with FSGSBASE, POKEUSER then loses
	 * a nonzero selector (selftest test_ptrace_write_gsbase). */
	XK_MUT_FSGS_PTRACE_SELECTOR,
	/* kvm.c, VM exit: the host XCR0/IA32_XSS are restored only after
	 * kvm_put_guest_fpu, so host XSAVE/XRSTOR run under the guest's XCR0
	 * (users-and-bugs.md 2, "KVM XCR0/XSS ordering"). */
	XK_MUT_KVM_XCR0_ORDER,
	/* kvm.c, fpu_swap_kvm_fpstate(exit): the host fpstate is not restored,
	 * yet the registers are marked as the task's: the guest's values reach
	 * host user mode. */
	XK_MUT_GUEST_STATE_LEAK,
	/* Checker issue (explore.h): core bug classes of the manager.
	 * config.c, boot: the lazy CR0.TS scheme in place of the eager restore
	 * -- the previous task's registers stay live behind the trap (the
	 * LazyFP precondition, CVE-2018-3665); same as policy restore=lazy. */
	XK_MUT_LAZY_FP,
	/* kfpu.c, kernel_fpu_begin(): __cpu_invalidate_fpregs_state() is
	 * forgotten, so the owner/last_cpu check still trusts registers the
	 * kernel's SIMD code has overwritten (stale owner after kernel FPU use). */
	XK_MUT_KFPU_KEEPS_OWNER,
	/* kfpu.c, kernel_fpu_begin(): the invalidation sits inside the "save
	 * the user task's live state" branch, so kernel FPU use from a kernel
	 * thread (or the idle task) leaves the previous user task's ownership
	 * standing (stale owner check after a kernel thread). */
	XK_MUT_KFPU_KTHREAD_KEEPS_OWNER,
	/* process.c, exec: __fpu_invalidate_fpregs_state() is missing, so the
	 * return to user skips the restore of the init state and the new
	 * program sees the old one's registers. */
	XK_MUT_EXEC_KEEPS_LAST_CPU,
	/* process.c, fpu_clone(): the child's buffer is filled by XSAVE of the
	 * live registers without loading the parent's state first when its
	 * TIF_NEED_FPU_LOAD is set -- the child inherits whatever the registers
	 * hold (kernel SIMD values, another task's state). */
	XK_MUT_FORK_SKIPS_LOAD,
	/* User ABI (kernel_abi.h), added by the checker issue in the ABI files.
	 * sigreturn.c: the frame's reserved header bytes (24-63, which the
	 * standard-form XRSTOR does not check) are copied into the task's
	 * kernel buffer, as the pre-5.13 slow path copied the user buffer
	 * verbatim (syzbot "WARNING in ex_handler_fprestore"). */
	XK_MUT_SIGRETURN_HEADER_UNCHECKED,
	/* sigreturn.c: the frame's software xfeatures word is trusted for
	 * supervisor components: their XSTATE_BV bits are set in the task's
	 * kernel buffer. */
	XK_MUT_SIGRETURN_SUPERVISOR_BITS,
	/* regset.c copy_uabi_to_xstate(): the image's XSTATE_BV replaces the
	 * kernel's supervisor bits instead of keeping them (ptrace and
	 * KVM_SET_XSAVE wipe the tracee's CET state). */
	XK_MUT_UABI_DROPS_SUPERVISOR,
	/* regset.c: reserved MXCSR bits of a ptrace image are not refused
	 * (145e9e0d8c6 "Fail ptrace() requests that try to set invalid MXCSR
	 * values"): the XRSTORS before the tracee's user mode #GPs. */
	XK_MUT_PTRACE_MXCSR_UNCHECKED,
	/* regset.c: a ptrace write does not invalidate the tracee's cached
	 * registers (fpu_force_restore forgotten): it resumes with its old
	 * values. */
	XK_MUT_PTRACE_NO_RELOAD,
	/* xfd.c fpstate_realloc(): the first use of AMX does not carry the old
	 * state into the new buffer -- it reloads the registers from the new,
	 * empty one. */
	XK_MUT_AMX_REALLOC_NO_COPY,
	/* xfd.c, harvest=on: a pre-allocated buffer is harvested too, breaking
	 * the pre-allocation guarantee (seed 004). */
	XK_MUT_HARVEST_PREALLOC,
	/* regset.c copy_uabi_to_xstate(): the reserved MXCSR bits are checked
	 * after the components are copied, so a refused write (-EINVAL) leaves
	 * part of the image in the tracee's buffer. */
	XK_MUT_PTRACE_PARTIAL_WRITE,
	XK_MUT_COUNT
};

struct xk_policy {
	enum xk_restore_mode restore;
	bool shortcut;
	enum xk_save_choice save;
	/* Bit (1 << enum xk_mutant) set: that seeded bug is active. Zero for a
	 * correct kernel. */
	uint64_t mutants;
	/* User ABI (see above). Defaults: false = Linux. */
	bool xfd_prealloc;
	bool xfd_harvest;
	bool sigreturn_keep;
	/* Special states (see above). Defaults: 0 = Linux. */
	enum xk_cet_s_mode cet_s;
	enum xk_uintr_mode uintr;
	bool no_user_shstk;       /* user-shstk=off */
	/* FS/GS base (see above). Defaults: 0/false = Linux. */
	enum xk_fsgs_mode fsgs;
	bool nofsgsbase;
};

/* Linux defaults: restore=eager shortcut=on save=auto, no mutants. */
void xk_policy_default(struct xk_policy *p);
/* Apply one "name=value". Returns 0, or -1 with a precise message in err
 * ("unknown policy 'foo' (known: restore, shortcut, save, mutant)",
 * "restore: 'x' is not one of eager|lazy"); p is unchanged on error. */
int xk_policy_set(struct xk_policy *p, const char *setting, char *err, size_t errlen);
/* Apply a list of settings separated by ',' or blanks ("restore=lazy,save=xsave").
 * All or nothing: p is unchanged on error. */
int xk_policy_parse(struct xk_policy *p, const char *list, char *err, size_t errlen);
/* "restore=eager shortcut=on save=auto" (+ " mutant=NAME" per active mutant).
 * Returns the length snprintf would have written. */
int xk_policy_format(const struct xk_policy *p, char *buf, size_t len);
bool xk_policy_equal(const struct xk_policy *a, const struct xk_policy *b);

/* The policy names and their value lists, for help texts:
 * name i in [0, xk_policy_count()), e.g. "restore" / "eager|lazy". */
size_t xk_policy_count(void);
const char *xk_policy_name(size_t i);
const char *xk_policy_values(size_t i);

/* Mutant names ("shortcut-ignores-last-cpu") and descriptions. */
const char *xk_mutant_name(enum xk_mutant m);
const char *xk_mutant_desc(enum xk_mutant m);
int xk_mutant_lookup(const char *name); /* -1 if unknown */

#endif
