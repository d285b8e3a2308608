/* xstate kernel manager: the OS side of XSAVE, following Linux's design
 * (arch/x86/kernel/fpu/, see ../shared/spec/linux-design.md sections 1-3).
 *
 * One struct xk_kernel is one booted machine: N model CPUs (struct xs_cpu,
 * touched only through the instruction API of cpu.h), the boot-time
 * configuration (which features XCR0 and IA32_XSS enable, the two buffer
 * configurations, the init image), the tasks and their xstate buffers, and
 * the per-CPU ownership bookkeeping.
 *
 * The simulator (src/sim) drives it: it decides which task runs where and
 * calls xk_switch() / xk_return_to_user() / xk_irq_enter() /
 * xk_handle_fault() ... in the order a real kernel would execute them. User
 * code runs on the model CPU between xk_return_to_user() and the next entry
 * (xk_enter_kernel(), xk_irq_enter() or a faulting instruction).
 *
 * The hot path (switch, return to user, kernel FPU) allocates nothing,
 * formats nothing and does O(1) work besides the XSAVE-family instruction
 * itself. A NULL trace callback costs one branch per event.
 *
 * Where this goes beyond or differs from Linux the comment says so.
 */
#ifndef XSTATE_KERNEL_H
#define XSTATE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xstate/cpu.h"
#include "xstate/kernel_policy.h"
#include "xstate/model.h"

#define XK_MAX_CPUS 64
/* The x86-64 GDT (arch/x86/include/asm/segment.h): 16 entries, TLS in 12-14. */
#define XK_GDT_ENTRIES 16
#define XK_GDT_ENTRY_TLS_MIN 12
#define XK_GDT_TLS_ENTRIES 3
#define XK_NAME_MAX 16
#define XK_ERR_MAX 256

/* ---- Linux's feature masks (arch/x86/include/asm/fpu/xstate.h) ---- */

#define XK_MASK_USER_SUPPORTED                                                         \
	(XS_MASK_FPSSE | XS_BIT(XS_C_AVX) | XS_MASK_AVX512 | XS_BIT(XS_C_PKRU) | XS_MASK_MPX | \
	 XS_MASK_AMX | XS_BIT(XS_C_APX))
/* PKRU is switched eagerly outside XRSTOR (thread.pkru), so never restored. */
#define XK_MASK_USER_RESTORE (XK_MASK_USER_SUPPORTED & ~XS_BIT(XS_C_PKRU))
/* The only dynamic (XFD-armed, allocated on first use) user feature. */
#define XK_MASK_USER_DYNAMIC XS_BIT(XS_C_XTILEDATA)
/* CET supervisor state: in XSS and kernel.max, but only in guest buffers
 * (v6.17 "guest supervisor"; the 2023 series called it kernel-dynamic). */
#define XK_MASK_GUEST_SUPERVISOR XS_BIT(XS_C_CET_S)
#define XK_MASK_SUPERVISOR_SUPPORTED \
	(XS_BIT(XS_C_PASID) | XS_BIT(XS_C_CET_U) | XK_MASK_GUEST_SUPERVISOR)
/* Saved/restored by their users (perf for LBR) with their own buffers. */
#define XK_MASK_INDEPENDENT XS_BIT(XS_C_LBR)
/* UINTR (component 14) never got into Linux (RFC 2021); here it is enabled
 * only by policy uintr= (kernel_special.h). Listing it keeps SUPERVISOR_ALL
 * "every supervisor bit" for the ptrace rule that preserves them. */
#define XK_MASK_SUPERVISOR_UNSUPPORTED (XS_BIT(XS_C_PT) | XS_BIT(XS_C_UINTR))
#define XK_MASK_SUPERVISOR_ALL \
	(XK_MASK_SUPERVISOR_SUPPORTED | XK_MASK_INDEPENDENT | XK_MASK_SUPERVISOR_UNSUPPORTED)
/* What a task restore loads (ANDed with kernel.max_features). */
#define XK_MASK_FPSTATE (XK_MASK_USER_RESTORE | XK_MASK_SUPERVISOR_SUPPORTED)
#define XK_MASK_SIGFRAME_INITOPT (XS_MASK_AMX | XK_MASK_USER_DYNAMIC)
/* Features the lazy (CR0.TS) scheme cannot switch: their instructions do
 * not raise #NM when CR0.TS is set, so a task would use the previous
 * task's registers. Linux's XFEATURE_MASK_EAGER (MPX) in
 * arch/x86/include/asm/fpu/xstate.h before v4.14: with eagerfpu=off
 * fpu__init_system_ctx_switch() dropped them from xfeatures_mask. Beyond
 * Linux: AMX and APX, which no lazy kernel ever knew (model: src/arch/regs.c,
 * access_check() gives only x87/SSE/AVX/AVX-512 the CR0.TS #NM). */
#define XK_MASK_EAGER_ONLY (XS_MASK_MPX | XS_MASK_AMX | XS_BIT(XS_C_APX))
#define XK_GUEST_PERM_LOCKED (1ULL << 63)
#define XK_MXCSR_FEATURE_MASK_DEFAULT 0x0000FFBFu /* used when MXCSR_MASK reads 0 */
#define XK_PKRU_INIT_DEFAULT 0x55555554u          /* init_pkru_value */
#define XK_KFPU_387 (1u << 0)                     /* kernel_fpu_begin_mask(): FNINIT */
#define XK_KFPU_MXCSR (1u << 1)                   /* kernel_fpu_begin_mask(): LDMXCSR 1F80 */
#define XK_KFPU_DEFAULT (XK_KFPU_387 | XK_KFPU_MXCSR)

/* Signal numbers and si_codes the fault handler returns (Linux x86-64 ABI). */
enum {
	XK_SIGILL = 4,
	XK_SIGBUS = 7,
	XK_SIGSEGV = 11,
	XK_ILL_ILLOPC = 1,
	XK_ILL_ILLOPN = 2,
	XK_SEGV_MAPERR = 1,
	XK_BUS_ADRALN = 1,
	XK_SI_KERNEL = 0x80,
};

/* ---- Boot configuration (struct fpu_state_config, xstate.c) ---- */

struct xk_fpu_config {
	uint32_t max_size;            /* bytes for max_features */
	uint32_t default_size;        /* bytes for default_features */
	uint64_t max_features;
	uint64_t default_features;    /* max minus USER_DYNAMIC and GUEST_SUPERVISOR */
	uint64_t legacy_features;     /* FP|SSE */
	uint64_t independent_features;
};

/* guest_default_cfg (v6.17): what a new vCPU fpstate gets. */
struct xk_guest_config {
	uint32_t size;
	uint64_t features;            /* kernel.max minus USER_DYNAMIC */
};

/* The feature taxonomy of seed 000, as masks of the enabled features
 * (each already ANDed with what this boot enabled, except where noted). */
struct xk_taxonomy {
	uint64_t user;                      /* in XCR0: user.max_features */
	uint64_t supervisor;                /* in IA32_XSS and task buffers: PASID, CET_U (+CET_S for guests) */
	uint64_t independent;               /* in IA32_XSS, never in task buffers: LBR */
	uint64_t user_dynamic;              /* XFD-armed, allocated on first use: XTILEDATA */
	uint64_t guest_supervisor;          /* "kernel dynamic": CET_S, guest buffers only */
	uint64_t user_affects_kernel;       /* PKRU: user state the kernel obeys, switched eagerly */
	uint64_t supervisor_affects_user;   /* PASID, CET_U: restored before user mode */
	uint64_t supervisor_affects_kernel; /* CET_S: would need loading at switch, not at exit */
};

/* The kernel's cached copy of CPUID.(0DH,i) for one feature (setup_xstate_cache). */
struct xk_xfeature {
	uint32_t size;    /* EAX */
	uint32_t offset;  /* EBX: standard-format offset, user features only */
	bool supervisor;  /* ECX[0] */
	bool align64;     /* ECX[1] */
	bool xfd;         /* ECX[2] */
};

/* ---- Per-task state ---- */

/* struct fpstate: one xstate buffer. Allocated 64-byte aligned with regs[]
 * following the fields; regs holds `size` bytes (kernel format: compacted
 * when the boot chose the compacted format, else standard). */
struct xk_fpstate {
	uint32_t size;            /* bytes of regs */
	uint32_t user_size;       /* UABI (standard-format) size for user_xfeatures */
	uint64_t xfeatures;       /* components regs has room for = the save RFBM */
	uint64_t user_xfeatures;  /* components valid in UABI buffers of this task */
	uint64_t xfd;             /* IA32_XFD value while this fpstate is active */
	bool is_valloc;           /* grown buffer (freed on exec/exit); false = default */
	bool is_guest;            /* a vCPU's buffer (KVM issue) */
	bool is_confidential;     /* encrypted guest: firmware saves/restores (KVM issue) */
	bool in_use;              /* guest fpstate currently installed (KVM issue) */
	bool is_prealloc;         /* user-ABI issue, beyond Linux: allocated by
				   * ARCH_REQ_XCOMP_PREALLOC, never harvested */
	struct xk_task *task;     /* the task the buffer belongs to (NULL: init_fpstate) */
	_Alignas(64) uint8_t regs[];
};

/* struct fpu_state_perm. */
struct xk_perm {
	uint64_t state_perm;       /* permitted features incl. supervisor; guest: may carry LOCKED */
	uint32_t state_size;       /* kernel buffer size for that set */
	uint32_t user_state_size;  /* UABI size for that set */
};

/* struct fpu. Embedded in struct xk_task (Linux 6.15+: right after task_struct). */
struct xk_fpu {
	int last_cpu;                     /* CPU whose registers held this state last; -1 none */
	struct xk_fpstate *fpstate;       /* the active buffer */
	struct xk_fpstate *task_fpstate;  /* __task_fpstate: the task's own buffer while a
					   * guest fpstate is swapped in (KVM issue); NULL now */
	struct xk_fpstate *default_fpstate; /* the default-size buffer allocated with the task */
	/* Permission records. The copy that counts is the thread-group leader's
	 * (xk_group_perm()); fpstate_reset() sets every task's to the defaults.
	 * Grown by the AMX-permission issue (arch_prctl ARCH_REQ_XCOMP_PERM). */
	struct xk_perm perm;
	struct xk_perm guest_perm;
};

/* Per-task thread state that is not XSAVE-managed here. Seams for later issues. */
struct xk_thread {
	uint32_t pkru;      /* thread.pkru: PKRU truth; switched eagerly (PKRU issue). Set to
			     * the init value at fork/exec, not yet written to the CPU. */
	bool pkru_deferred; /* mutant pkru-lazy only: thread.pkru not yet written to the
			     * CPU; done at the return to user (kernel_special.h) */
	/* FS/GS (kernel_fsgs.h): selectors and bases as last saved (valid
	 * while the task is not running), and the TLS descriptors load_TLS()
	 * copies into the GDT at every switch. */
	uint16_t fsindex;
	uint16_t gsindex;
	uint64_t fsbase;
	uint64_t gsbase;
	uint64_t tls_array[XK_GDT_TLS_ENTRIES];
	/* entry_64.S: the next return to user mode goes through IRET -- the
	 * task entered by an exception or an interrupt, or has a signal frame
	 * to run (regs->ip changed: no SYSRET, do_syscall_64()) -- not SYSRET
	 * (a system call). IRET nulls FS/GS holding a null selector 1-3
	 * (xs_iret_segments()); SYSRET leaves them. */
	bool exit_iret;
};

/* Signal state placeholder (signal frames / sigaltstack issue). */
struct xk_sigstate {
	uint64_t sas_ss_sp;
	uint64_t sas_ss_size;  /* 0: no altstack */
	unsigned sas_ss_flags;
};

enum xk_task_flags {
	XK_TF_KTHREAD = 1u << 0,      /* PF_KTHREAD: never owns user FPU state */
	XK_TF_USER_WORKER = 1u << 1,  /* PF_USER_WORKER (io_uring worker): like a kthread for FPU */
	XK_TF_EXITING = 1u << 2,      /* xk_exit() ran; released at the switch away */
	XK_TF_DEAD = 1u << 3,         /* released: buffers freed; struct kept (zombie leader) */
};

struct xk_process;
struct xk_special;
struct xk_vcpu;

struct xk_task {
	unsigned tid;                 /* unique, from 1 */
	char name[XK_NAME_MAX];
	unsigned flags;               /* enum xk_task_flags */
	/* TIF_NEED_FPU_LOAD as a MASK of the components that must be loaded
	 * into the registers before this task returns to user mode. Linux's
	 * flag is all or nothing: it is either 0 or k->restore_mask (= every
	 * component of kernel.max & FPSTATE). The mask form lets later issues
	 * express partial loads (PKRU, supervisor or independent state) without
	 * changing the seams: "flag set" is need_load != 0. */
	uint64_t need_load;
	int on_cpu;                   /* CPU it is current on, -1 if not running */
	struct xk_fpu fpu;
	struct xk_process *proc;
	struct xk_task *group_next, *group_prev; /* threads of proc */
	struct xk_task *all_next, *all_prev;     /* all tasks of the kernel */
	struct xk_thread thread;
	struct xk_sigstate sig;
	uint64_t xstate_bytes;        /* bytes of xstate buffers this task holds now */
	/* Special states (kernel_special.h): shadow stack, UINTR receiver,
	 * perf LBR context. NULL until the task uses one; freed at release. */
	struct xk_special *special;
	/* KVM (kernel_kvm.h): the vCPU this task runs, NULL if none; freed at release. */
	struct xk_vcpu *vcpu;
	void *sim;                    /* free for the simulator's own per-task data */
};

/* A thread group (process). Permissions live in the leader's struct fpu,
 * as in Linux (sighand->siglock protects them there). A leader that exits
 * before its threads stays as a zombie (XK_TF_DEAD, buffers freed) so the
 * records survive; the process goes away with its last thread. */
struct xk_process {
	unsigned pid;                 /* = leader's tid */
	struct xk_task *leader;
	struct xk_task *threads;      /* list through group_next */
	unsigned nthreads;            /* threads not yet released (zombie leader excluded) */
	/* mm->context.ldt (kernel_fsgs.h): modify_ldt's table, NULL if none;
	 * replaced (never edited in place) on every write, as in Linux. */
	uint64_t *ldt;
	uint32_t ldt_entries;
	void *sim;                    /* free for the simulator */
};

/* struct fpu_guest (KVM issue): declared so the seam exists. */
struct xk_fpu_guest {
	uint64_t xfeatures;
	uint64_t xfd_err;
	uint32_t uabi_size;
	struct xk_fpstate *fpstate;
};

/* ---- Per-CPU state ---- */

struct xk_cpu {
	struct xs_cpu *hw;            /* the model CPU */
	unsigned id;
	struct xk_fpu *owner;         /* fpu_fpregs_owner_ctx: whose state the registers hold; NULL nobody */
	struct xk_task *current;      /* NULL: idle */
	uint64_t xfd_state;           /* per-CPU cache of IA32_XFD (xfd_state) */
	bool kernel_fpu_allowed;      /* false inside a kernel FPU section (no nesting) */
	unsigned kfpu_mask;           /* mask of the active kernel FPU section */
	unsigned kfpu_depth;          /* interrupt depth the section began at */
	bool user_mode;               /* executing user code of current (CPL 3) */
	unsigned irq_depth;           /* hardirq nesting */
	unsigned nmi_depth;
	uint32_t irq_from_user;       /* bit d: interrupt at depth d came from user mode */
	uint32_t irq_is_nmi;          /* bit d: interrupt at depth d is an NMI */
	/* FS/GS (kernel_fsgs.h): this CPU's GDT (TLS slots rewritten at every
	 * switch), the LDT loaded in LDTR, and the idle task's saved FS/GS. */
	uint64_t gdt[XK_GDT_ENTRIES];
	const uint64_t *ldt;
	struct xk_thread idle_thread;
};

/* ---- Trace ---- */

enum xk_insn {
	XK_I_NONE = 0,
	XK_I_XSAVE,
	XK_I_XSAVEOPT,
	XK_I_XSAVEC,
	XK_I_XSAVES,
	XK_I_XRSTOR,
	XK_I_XRSTORS,
	XK_I_XSETBV,
	XK_I_WRMSR,
	XK_I_RDMSR,
	XK_I_FNINIT,
	XK_I_LDMXCSR,
	XK_I_CLTS,
	XK_I_STTS,
	XK_I_MOV_CR4,
	XK_I_MEMCPY,   /* not an instruction: a buffer copy (init image into a task) */
	XK_I_WRPKRU,   /* special states: the eager PKRU switch (kernel_special.h) */
};

enum xk_ev_type {
	XK_EV_CPU_SETUP = 0, /* CR4/XCR0/XSS/XFD written at boot: insn, reg, value */
	XK_EV_SAVE,          /* task state saved: insn, mask=RFBM, bytes, task=buffer owner, why */
	XK_EV_RESTORE,       /* task state loaded: insn, mask=RFBM, bytes, task=buffer owner, why */
	XK_EV_RESTORE_SKIP,  /* restore skipped, registers valid: task, mask=need_load */
	XK_EV_XFD_WRITE,     /* IA32_XFD updated before a restore: old, value */
	XK_EV_OWNER,         /* per-CPU owner changed: other=old owner's task, task=new (NULL nobody) */
	XK_EV_TIF,           /* need_load changed: task, old, mask=new */
	XK_EV_TS,            /* CR0.TS set/cleared (lazy policy): value 1/0 */
	XK_EV_KFPU_BEGIN,    /* kernel FPU section: value = KFPU mask, task = current (NULL kthread/idle) */
	XK_EV_KFPU_END,
	XK_EV_SWITCH,        /* other=prev, task=next (NULL idle) */
	XK_EV_RETURN_USER,   /* task goes to user mode */
	XK_EV_FAULT,         /* user fault handled: fault, signo/si_code (0 = retried), why */
	XK_EV_CLONE,         /* task=child, other=parent, value=clone flags */
	XK_EV_EXEC,          /* task */
	XK_EV_EXIT,          /* task exits (fpu__drop) */
	XK_EV_ALLOC,         /* buffer allocated: task, bytes; fault=XS_PF and why if it failed */
	XK_EV_FREE,          /* buffer freed: task, bytes */
	XK_EV_INIT_COPY,     /* init image copied into task's buffer (exec/kthread): bytes */
	XK_EV_WARN,          /* a kernel WARN/BUG: why (static text), insn/fault if any */
	/* User ABI (kernel_abi.h). */
	XK_EV_PERM,          /* permission check/grant: task, reg=arch_prctl option (0: #NM),
			      * mask=requested, value=group permission, bytes=user size,
			      * si_code=0 or -errno */
	XK_EV_REALLOC,       /* task's active buffer replaced: bytes=new size, old=old size,
			      * mask=new xfeatures, value=new xfd, why */
	XK_EV_SIGFRAME,      /* signal frame: task, signo, value=fpstate address, old=frame
			      * address, mask=XSAVE RFBM, bytes=xstate size; fault if it failed */
	XK_EV_SIGRETURN,     /* rt_sigreturn: task, value=fpstate address, old=frame, mask=XRSTOR
			      * RFBM, signo=SIGSEGV if it failed, why */
	XK_EV_UABI,          /* XSAVE/XRSTOR on user memory (signal frames): insn, mask, task,
			      * value=address, bytes, fault (a user-memory fault is expected) */
	XK_EV_REGSET,        /* ptrace regset: task=tracee, reg=NT type, value=1 set / 0 get,
			      * bytes, si_code=0 or -errno */
	/* Special states (kernel_special.h). */
	XK_EV_PKRU,          /* PKRU written by the kernel: insn WRPKRU, task=whose value
			      * (NULL: init), other=prev, old, value, why */
	XK_EV_INDEP,         /* independent-feature XSAVES/XRSTORS on its own buffer: insn,
			      * mask, bytes, task, fault, why; or an MSR its users write
			      * (insn WRMSR, reg, value) */
	XK_EV_UINTR,         /* user interrupts: task=receiver, value=vector, mask=PIR or
			      * UIRR, why (posted, notified, spurious, delivered ...) */
	/* FS/GS base and KVM (kernel_fsgs.h, kernel_kvm.h). */
	XK_EV_FSGS,          /* FS/GS of a task saved, loaded or set: task (NULL: idle), reg=0 FS
			      * / 1 GS, old=selector, value=base, why (static: what and how) */
	XK_EV_KVM,           /* a KVM_RUN step: task=vCPU thread, why, value=guest XCR0 */
	XK_EV_COUNT
};

struct xk_event {
	enum xk_ev_type type;
	int cpu;                     /* -1 when not about one CPU */
	enum xk_insn insn;
	enum xs_fault fault;         /* the instruction's result, or the fault handled */
	uint32_t reg;                /* MSR number, XCR index or CR number */
	uint32_t bytes;              /* buffer bytes involved */
	uint64_t mask;               /* RFBM or new need_load mask */
	uint64_t old;                /* previous value (TIF mask, MSR) */
	uint64_t value;              /* value written, KFPU mask, clone flags ... */
	const struct xk_task *task;  /* subject: whose buffer / new owner / child / next */
	const struct xk_task *other; /* old owner / parent / prev */
	int signo, si_code;
	const char *why;             /* static string, never formatted in the kernel */
};

typedef void (*xk_trace_fn)(void *ctx, const struct xk_event *ev);

/* Allocation veto: called before every xstate buffer allocation; return
 * true to make it fail (scenario knob "alloc fails"). NULL: never fails. */
typedef bool (*xk_alloc_fail_fn)(void *ctx, const struct xk_task *t, size_t bytes);

/* Bytes of xstate buffers (fpstate->size) allocated for tasks, machine-wide.
 * init_fpstate is boot memory and not counted. */
struct xk_mem {
	uint64_t bytes;      /* allocated now */
	uint64_t peak;
	uint64_t allocs, frees, failures;
};

/* Counters for tests, benchmarks and `xstate run` summaries. */
struct xk_stats {
	uint64_t saves;           /* task saves (switch-out, kernel FPU begin, fork copy) */
	uint64_t restores;        /* task restores */
	uint64_t restores_skipped;
	uint64_t xfd_writes;
	uint64_t switches;
	uint64_t kfpu_sections;
	uint64_t nm_lazy;         /* #NM handled by the lazy policy */
	uint64_t nm_xfd;          /* #NM with XFD_ERR != 0 */
	uint64_t signals;         /* faults turned into signals */
	uint64_t warnings;        /* kernel WARNs (bugs): also see k->last_warning */
	/* Special states (kernel_special.h). */
	uint64_t pkru_writes;     /* WRPKRU by the kernel (switch, exec, signals) */
	uint64_t indep_saves;     /* XSAVES of independent features into their own buffers */
	uint64_t indep_restores;
	uint64_t uintr_spurious;  /* notification vector taken as an ordinary interrupt */
};

/* ---- The kernel ---- */

struct xk_boot_opts {
	unsigned ncpus;               /* 1..XK_MAX_CPUS */
	struct xs_cpu **cpus;         /* ncpus CPUs of the model, or NULL: the kernel
				       * creates them (and frees them at shutdown) */
	struct xk_policy policy;      /* xk_policy_default() for Linux */
	xk_trace_fn trace;            /* may be NULL; also settable later (xk_set_trace) */
	void *trace_ctx;
	xk_alloc_fail_fn alloc_fail;  /* may be NULL */
	void *alloc_ctx;
};

struct xk_kernel {
	const struct xs_model *model;
	struct xk_policy policy;

	/* Instruction choice (section 3.3). */
	bool compacted;               /* kernel buffers in the compacted format */
	bool use_xsaves;              /* supervisor state managed: XSAVES/XRSTORS */
	enum xk_insn save_insn;       /* XSAVES > XSAVEC > XSAVEOPT > XSAVE (policy save=) */
	enum xk_insn restore_insn;    /* XRSTORS if XSAVES, else XRSTOR */

	/* Boot configuration, read-only after xk_boot(). */
	uint64_t xcr0;                /* = user.max_features */
	uint64_t xss;                 /* supervisor | independent */
	struct xk_fpu_config kcfg;    /* fpu_kernel_cfg */
	struct xk_fpu_config ucfg;    /* fpu_user_cfg (UABI, standard format) */
	struct xk_guest_config gcfg;  /* guest_default_cfg */
	struct xk_taxonomy tax;
	struct xk_xfeature xf[64];    /* cached CPUID.(0DH,i) for i in kernel.max */
	uint64_t restore_mask;        /* kcfg.max_features & FPSTATE: the task restore RFBM */
	uint64_t lazy_dropped;        /* restore=lazy: features not enabled because only an
				       * eager switch protects them (XK_MASK_EAGER_ONLY) */
	uint64_t init_xfd;            /* init_fpstate.xfd = user.max & USER_DYNAMIC */
	bool dynamic;                 /* fpu_state_size_dynamic(): init_xfd != 0 */
	uint32_t mxcsr_feature_mask;
	struct xk_fpstate *init_fpstate; /* the init image (kernel default size) */
	/* FS/GS (kernel_fsgs.h): X86_FEATURE_FSGSBASE in use (CPU has it and
	 * policy fsgsbase=on), X86_BUG_NULL_SEG (detected at boot). */
	bool fsgsbase;
	bool null_seg_bug;

	unsigned ncpus;
	struct xk_cpu cpu[XK_MAX_CPUS];
	bool own_cpus;

	struct xk_task *tasks;        /* every task not yet freed */
	unsigned ntasks;
	unsigned next_tid;

	xk_trace_fn trace;
	void *trace_ctx;
	xk_alloc_fail_fn alloc_fail;
	void *alloc_ctx;

	struct xk_mem mem;
	struct xk_stats stats;
	char last_warning[XK_ERR_MAX]; /* first line of the last WARN */
};

/* Boot the kernel on the model: compute the configuration from CPUID,
 * check it (refuse with a reason in err if Linux's paranoid checks fail or
 * the model lacks XSAVE -- Linux would fall back to FXSAVE, which this
 * model does not have), bring every CPU up (CR4.OSXSAVE, CR4.PKE if PKU,
 * XSETBV, WRMSR IA32_XSS, WRMSR IA32_XFD = init_xfd) and build the init
 * image. The model must outlive the kernel. Returns 0 or -1. On failure k
 * holds nothing that needs xk_shutdown(). */
int xk_boot(struct xk_kernel *k, const struct xs_model *m, const struct xk_boot_opts *o,
	    char *err, size_t errlen);
/* Free every task, buffer and (if the kernel created them) the CPUs. */
void xk_shutdown(struct xk_kernel *k);
void xk_set_trace(struct xk_kernel *k, xk_trace_fn fn, void *ctx);
void xk_set_alloc_fail(struct xk_kernel *k, xk_alloc_fail_fn fn, void *ctx);

/* Print the boot configuration (features, taxonomy, sizes, instructions)
 * for people; JSON-free on purpose: the CLI formats JSON itself from k. */
void xk_config_print(const struct xk_kernel *k, FILE *f);

/* Size of an XSAVE area for mask as the kernel computes it from its cached
 * CPUID values (xstate_calculate_size()). */
uint32_t xk_calc_size(const struct xk_kernel *k, uint64_t mask, bool compacted);
/* Offset of component i in a kernel-format buffer whose xcomp_bv is the
 * buffer's own (compacted) or standard; 0 if the buffer has no room for it. */
uint32_t xk_comp_offset(const struct xk_kernel *k, const struct xk_fpstate *fps, unsigned comp);
/* XSTATE_BV / XCOMP_BV of a buffer (header at XS_HDR_OFFSET). */
uint64_t xk_fpstate_xstate_bv(const struct xk_fpstate *fps);
uint64_t xk_fpstate_xcomp_bv(const struct xk_fpstate *fps);

/* ---- Tasks (process.c) ---- */

/* The first user process (like init after execve): a new thread group
 * whose one thread has the init FPU state and need_load set. Not running
 * anywhere; make it run with xk_switch(). NULL if the allocation fails. */
struct xk_task *xk_spawn(struct xk_kernel *k, const char *name);
/* A kernel thread: never owns user FPU state, never saved or restored. */
struct xk_task *xk_kthread_create(struct xk_kernel *k, const char *name);

enum xk_clone_flags {
	XK_CLONE_THREAD = 1u << 0,  /* CLONE_THREAD: same thread group, no perm copy */
	XK_CLONE_VM = 1u << 1,      /* CLONE_VM: shared mm (altstack cleared unless VFORK) */
	XK_CLONE_VFORK = 1u << 2,
	XK_CLONE_USER_WORKER = 1u << 3, /* PF_USER_WORKER child ("minimal" fpu_clone) */
	XK_CLONE_SETTLS = 1u << 4,  /* CLONE_SETTLS: the child's FS base (xk_clone_tls) */
};
/* fork/clone from the current task of cpu (in kernel mode): the child gets a
 * default-size buffer filled by XSAVE of the parent's LIVE registers with
 * the child's default RFBM (loading the parent's registers first if its
 * need_load is set), PASID cleared in XSTATE_BV, need_load set, last_cpu -1.
 * A new process copies the parent leader's perm/guest_perm (if dynamic
 * features exist); a new thread joins the parent's group and uses its
 * leader's. Returns 0 with *child set, -ENOMEM (allocation failed: nothing
 * changed) or -EINVAL (no user task current in kernel mode). */
int xk_clone(struct xk_kernel *k, unsigned cpu, unsigned flags, const char *name,
	     struct xk_task **child);
/* The same with CLONE_SETTLS in flags: copy_thread() -> set_new_tls(),
 * which for a 64-bit child is do_arch_prctl_64(ARCH_SET_FS, tls) on the
 * child: FS selector 0, FS base tls. A tls at or above TASK_SIZE_MAX fails
 * the clone with -EPERM, nothing changed. Without CLONE_SETTLS tls is
 * ignored, as Linux ignores it. */
int xk_clone_tls(struct xk_kernel *k, unsigned cpu, unsigned flags, const char *name,
		 uint64_t tls, struct xk_task **child);
/* execve by the current task of cpu: buffer back to the default one (a
 * grown one is freed), permissions reset, init image copied, need_load set,
 * last_cpu -1, thread.pkru = init. Linux's de_thread kills the other
 * threads first; here they must have exited already (-EBUSY otherwise). */
int xk_exec(struct xk_kernel *k, unsigned cpu);
/* The current task of cpu exits (fpu__drop: owner cleared if it owns the
 * registers). It stays current until the next xk_switch() away from it,
 * which releases it (buffers freed, accounting decremented). */
int xk_exit(struct xk_kernel *k, unsigned cpu);
/* The group-leader permission record that counts for t (NULL for kthreads). */
struct xk_perm *xk_group_perm(struct xk_task *t);
struct xk_task *xk_task_by_tid(const struct xk_kernel *k, unsigned tid);

/* ---- Switch and return to user (switch.c) ---- */

/* fpregs_state_valid(): owner[cpu] == fpu && fpu->last_cpu == cpu. */
bool xk_fpregs_valid(const struct xk_kernel *k, const struct xk_fpu *fpu, unsigned cpu);
/* Schedule next on cpu (NULL = idle) from kernel mode. Switch-out of prev
 * (a user task with need_load clear): need_load set, state saved with
 * RFBM = fpstate->xfeatures, last_cpu = cpu, owner unchanged. Nothing is
 * loaded for next (eager: deferred to xk_return_to_user; lazy: CR0.TS set
 * and the #NM handler loads). prev released here if it exited. Returns 0,
 * or -EINVAL (cpu in user mode, next running elsewhere or released),
 * -EBUSY (inside a kernel FPU section or an interrupt: not preemptible). */
int xk_switch(struct xk_kernel *k, unsigned cpu, struct xk_task *next);
/* Exit to user mode of current on cpu (exit_to_user_mode_prepare ->
 * fpregs_restore_userregs): if need_load is set and the registers are not
 * valid (or shortcut=off), IA32_XFD := fpstate->xfd, then XRSTOR(S) with
 * RFBM = need_load (= kernel.max & FPSTATE); owner = fpu, last_cpu = cpu,
 * need_load = 0. Lazy policy: sets CR0.TS instead of restoring (unless the
 * registers are valid). Then CPL 3. Returns 0 or -EINVAL (no user task,
 * or an interrupt is still being handled). */
int xk_return_to_user(struct xk_kernel *k, unsigned cpu);
/* Syscall or exception entry from user mode: CPL 0. -EINVAL if not in user mode. */
int xk_enter_kernel(struct xk_kernel *k, unsigned cpu);
/* An exception entry from user mode that needs no fault handling (INT3:
 * a ptrace or debugger stop): like xk_enter_kernel(), but the way back to
 * user mode is IRET. */
int xk_enter_kernel_trap(struct xk_kernel *k, unsigned cpu);

enum xk_irq_kind { XK_IRQ_HARD = 0, XK_IRQ_NMI };
/* Interrupt entry (from user or kernel mode) and exit. xk_irq_exit returns
 * 1 when the interrupt came from user mode (the simulator then may
 * xk_switch() and must xk_return_to_user()), 0 when it returns to kernel
 * code, -EINVAL if no interrupt is active, -EBUSY if a kernel FPU section
 * begun in this interrupt has not ended. */
int xk_irq_enter(struct xk_kernel *k, unsigned cpu, enum xk_irq_kind kind);
int xk_irq_exit(struct xk_kernel *k, unsigned cpu);

/* ---- Kernel-mode FPU (kfpu.c) ---- */

/* irq_fpu_usable(): not in NMI, not already in a section. */
bool xk_kfpu_usable(const struct xk_kernel *k, unsigned cpu);
/* kernel_fpu_begin_mask(mask): saves the live user state of current (if
 * any and need_load clear: need_load set first), owner = NULL, then
 * KFPU_MXCSR -> LDMXCSR 1F80, KFPU_387 -> FNINIT. Returns 0, -EBUSY when
 * not usable (nesting, NMI) -- a WARN in Linux, counted here. */
int xk_kfpu_begin(struct xk_kernel *k, unsigned cpu, unsigned mask);
/* kernel_fpu_end(): re-allow; user registers come back on exit to user.
 * -EINVAL if no section is active. */
int xk_kfpu_end(struct xk_kernel *k, unsigned cpu);

/* ---- Faults from user mode (fault.c) ---- */

enum xk_fault_action {
	XK_FA_RETRY = 0,  /* fixed up: re-execute the faulting instruction */
	XK_FA_SIGNAL,     /* deliver signo/si_code at the faulting instruction */
	XK_FA_OOPS,       /* the kernel cannot handle it (Linux: die()) */
};
struct xk_fault_result {
	enum xk_fault_action action;
	int signo;
	int si_code;
	const char *why;  /* static text */
};
/* A user instruction of current on cpu faulted with f. The handler runs in
 * kernel mode; when it returns RETRY the CPU is back in user mode, ready
 * to re-execute. For SIGNAL the simulator delivers the signal (signal
 * frames are a later issue) and calls xk_return_to_user() itself.
 *   #NM: XFD_ERR != 0 -> the XFD first-use path (handle_xfd_event: clear
 *        XFD_ERR; not permitted -> SIGILL/ILL_ILLOPC; permitted -> xfd.c
 *        grows the buffer and disarms XFD (RETRY), or SIGSEGV/SI_KERNEL if
 *        the allocation fails -- kernel_abi.h); else CR0.TS set with the
 *        lazy policy -> CLTS + restore, RETRY; else OOPS ("unexpected #NM").
 *   #UD -> SIGILL/ILL_ILLOPN; #GP -> SIGSEGV/SI_KERNEL; #AC -> SIGBUS/
 *   BUS_ADRALN; #PF (operand outside its buffer) -> SIGSEGV/SEGV_MAPERR. */
struct xk_fault_result xk_handle_fault(struct xk_kernel *k, unsigned cpu, enum xs_fault f);

/* ---- Trace helpers (trace.c) ---- */

const char *xk_event_name(enum xk_ev_type t);   /* "save", "restore", ... */
const char *xk_insn_name(enum xk_insn i);       /* "XSAVES", "" for none */
/* One readable line (no newline) for an event, e.g.
 * "cpu1 save     XSAVES  rfbm=x87|sse|avx 832B buf=task 3 'a' (switch-out)".
 * Returns the length snprintf would have written. */
int xk_event_format(const struct xk_event *e, char *buf, size_t len);
/* The task owning an fpu, NULL for NULL. */
struct xk_task *xk_fpu_task(const struct xk_fpu *fpu);

/* ---- Mutants ---- */
static inline bool xk_mutant(const struct xk_kernel *k, enum xk_mutant m)
{
	return (k->policy.mutants >> m) & 1;
}

#endif
