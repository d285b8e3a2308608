/* xstate kernel manager: FS and GS bases of 64-bit tasks (seed 002,
 * linux-design.md 7).
 *
 * Each task has an FS and a GS selector and base (thread.fsindex/fsbase,
 * thread.gsindex/gsbase: valid while it is not running), three TLS
 * descriptors copied into the per-CPU GDT at every switch, and its
 * process's LDT (modify_ldt). The kernel touches the CPU only with
 * instructions (segment.h): MOV to FS/GS, RD/WR{FS,GS}BASE, SWAPGS, the
 * base MSRs, LGDT/LLDT. Every kernel entry from user mode and every exit to
 * it executes SWAPGS, so in the kernel GS.base is this CPU's per-CPU area and
 * the user's GS base is in IA32_KERNEL_GS_BASE ("inactive").
 *
 * Policies (kernel_policy.h):
 *
 *   fsgs=linux (default: process_64.c since v5.9)
 *     switch-out  save_fsgs(): selectors; with FSGSBASE the bases by
 *                 RDFSBASE / SWAPGS+RDGSBASE+SWAPGS; without it
 *                 save_base_legacy(): selector 0 -> keep the saved base
 *                 (no MSR read), selector != 0 -> base := 0.
 *     switch-in   with FSGSBASE: reload a selector if prev's or next's is
 *                 nonzero, then ALWAYS write the saved base
 *                 (WRFSBASE / SWAPGS+WRGSBASE+SWAPGS): selector and base
 *                 are preserved independently. Without it
 *                 load_seg_legacy(): selector >= 4 -> load it (base from
 *                 the descriptor); <= 3 with base 0 -> load it (on
 *                 X86_BUG_NULL_SEG CPUs after __USER_DS), skipped when
 *                 prev index, next index and prev base are all 0; <= 3
 *                 with a base -> reload the selector if it changed, WRMSR
 *                 the base.
 *     ptrace      fs_base/gs_base writes change only the base (-EIO at or
 *                 above TASK_SIZE_MAX); selector writes store the index
 *                 (-EIO unless 0 or RPL 3).
 *
 *   fsgs=lutomirski2016 (seed 002's proposal)
 *     save/report the selector and the base as the CPU has them (RDFSBASE
 *     or RDMSR, whatever the selector); restore: selector 0 -> the saved
 *     base, selector != 0 -> load the selector, whose in-memory
 *     descriptor gives the base. Syscalls, ptrace and signals as Linux.
 *
 * Common to both: ARCH_SET_FS/GS (-EPERM at or above TASK_SIZE_MAX)
 * zero the selector and set the base; ARCH_GET_FS/GS report the effective
 * base (x86_fsbase_read_task); signal delivery and sigreturn leave FS/GS
 * alone (the 64-bit sigcontext's fs/gs fields are written as 0 and
 * ignored); fork copies the parent's live values, its TLS descriptors and
 * (new process) its LDT; exec clears everything; set_thread_area reloads
 * FS/GS of the calling task when they use the changed TLS slot; modify_ldt
 * installs a new LDT on every CPU running the process but (64-bit) leaves
 * FS/GS loaded from it alone.
 *
 * A kernel selector load that faults (a selector whose descriptor went
 * away) loads 0 instead (loadsegment()'s exception fixup).
 *
 * CLONE_SETTLS (xk_clone_tls in kernel.h) gives the child FS selector 0
 * and the base; PTRACE_ARCH_PRCTL acts on a stopped tracee's thread struct.
 *
 * Not modelled: 32-bit tasks and tracers (their selector writes reload
 * the base), get_thread_area, modify_ldt reads, percpu user segments.
 */
#ifndef XSTATE_KERNEL_FSGS_H
#define XSTATE_KERNEL_FSGS_H

#include <stdbool.h>
#include <stdint.h>

#include "xstate/kernel.h"
#include "xstate/segment.h"

/* arch_prctl codes (arch/x86/include/uapi/asm/prctl.h). */
enum {
	XK_ARCH_SET_GS = 0x1001,
	XK_ARCH_SET_FS = 0x1002,
	XK_ARCH_GET_FS = 0x1003,
	XK_ARCH_GET_GS = 0x1004,
};

/* GDT entries and selectors (arch/x86/include/asm/segment.h). */
enum {
	XK_GDT_ENTRY_KERNEL32_CS = 1,
	XK_GDT_ENTRY_KERNEL_CS = 2,
	XK_GDT_ENTRY_KERNEL_DS = 3,
	XK_GDT_ENTRY_USER32_CS = 4,
	XK_GDT_ENTRY_USER_DS = 5,
	XK_GDT_ENTRY_USER_CS = 6,
	XK_GDT_ENTRY_TSS = 8,     /* two entries */
	XK_GDT_ENTRY_LDT = 10,    /* two entries */
	XK_GDT_ENTRY_CPUNODE = 15,
};
#define XK_SEL_USER_DS 0x2bu     /* __USER_DS */
#define XK_SEL_TLS(i) ((uint16_t)(((XK_GDT_ENTRY_TLS_MIN + (i)) << 3) | 3)) /* 0x63 0x6b 0x73 */
#define XK_LDT_ENTRIES 8192u
/* This CPU's per-CPU area: the kernel's GS base (a direct-map address). */
#define XK_PERCPU_BASE(cpu) (0xffff888100000000ULL + (uint64_t)(cpu) * 0x200000ULL)

/* struct user_desc (arch/x86/include/uapi/asm/ldt.h). */
struct xk_user_desc {
	uint32_t entry_number;    /* set_thread_area: 0xFFFFFFFF = pick a free TLS slot */
	uint32_t base_addr;
	uint32_t limit;
	bool seg_32bit;
	uint8_t contents;         /* 0 data, 1 data expand-down, 2 code */
	bool read_exec_only;
	bool limit_in_pages;
	bool seg_not_present;
	bool useable;
};
/* A flat 4 GiB data segment at base: what TLS libraries install. */
struct xk_user_desc xk_user_desc_data(uint32_t entry, uint32_t base);
/* The "empty" descriptor (LDT_empty()): deletes an entry. */
struct xk_user_desc xk_user_desc_empty(uint32_t entry);

/* ptrace USER area fields of struct user_regs_struct. */
enum xk_ureg { XK_UREG_FS_BASE = 0, XK_UREG_GS_BASE, XK_UREG_FS, XK_UREG_GS };
const char *xk_ureg_name(enum xk_ureg r); /* "fs_base" ... */

/* arch_prctl(ARCH_SET_FS/GS, arg2) / (ARCH_GET_FS/GS, &out) for t.
 * do_arch_prctl_64(): t current on some CPU in kernel mode (a system call)
 * acts on the registers; a task that is not running acts on its thread
 * struct (as PTRACE_ARCH_PRCTL would). Returns 0, -EPERM (base at or above
 * TASK_SIZE_MAX), -EINVAL (unknown option, a kernel thread, or t running in
 * user mode). */
long xk_fsgs_arch_prctl(struct xk_kernel *k, struct xk_task *t, int option, uint64_t arg2,
			uint64_t *out);
/* ptrace(PTRACE_ARCH_PRCTL, t, addr, code) by a tracer on a stopped t
 * (-ESRCH otherwise): ARCH_SET_FS/GS set t's saved selector 0 and base
 * addr (-EPERM at or above TASK_SIZE_MAX), ARCH_GET_FS/GS report its base
 * in *out (what the tracer's put_user would store at addr); any other
 * code -EINVAL -- the XSTATE options are the system call's only.
 * (ARCH_SHSTK_LOCK/UNLOCK/STATUS through ptrace, for CRIU, are not
 * modelled: -EINVAL here.) */
long xk_ptrace_arch_prctl(struct xk_kernel *k, struct xk_task *t, int code, uint64_t addr,
			  uint64_t *out);
/* set_thread_area(u) by the current task of cpu (kernel mode). u is
 * updated with the slot chosen for entry_number -1. 0, -EINVAL (slot out of
 * 12..14, or a descriptor TLS may not hold: 16-bit, code, not present),
 * -ESRCH (no free slot). */
int xk_set_thread_area(struct xk_kernel *k, unsigned cpu, struct xk_user_desc *u);
/* modify_ldt(func, u) by the current task of cpu: func 1 (old mode) or
 * 0x11 write one entry (write_ldt). 0, -EINVAL (entry >= 8192, 16-bit,
 * contents 3 that is present), -ENOMEM, -ENOSYS (other func). */
int xk_modify_ldt(struct xk_kernel *k, unsigned cpu, int func, const struct xk_user_desc *u);

/* x86_fsbase_read_task() / x86_gsbase_read_task() and the selector. */
uint64_t xk_fsgs_read_base(struct xk_kernel *k, struct xk_task *t, enum xs_seg s);
uint16_t xk_fsgs_read_sel(struct xk_kernel *k, struct xk_task *t, enum xs_seg s);

/* PTRACE_PEEKUSER / PTRACE_POKEUSER of fs_base, gs_base, fs, gs on a
 * stopped tracee (not running: -ESRCH; kernel thread: -EIO). POKE: -EIO
 * for a base at or above TASK_SIZE_MAX or a selector that is neither 0 nor
 * RPL 3 (the value is truncated to 16 bits first, as putreg() does). */
int xk_ptrace_peekuser(struct xk_kernel *k, struct xk_task *t, enum xk_ureg r, uint64_t *val);
int xk_ptrace_pokeuser(struct xk_kernel *k, struct xk_task *t, enum xk_ureg r, uint64_t val);

/* What user code of t sees as descriptor tables: the GDT cpu holds while
 * t runs there (its TLS slots included) and its process's LDT (NULL, 0 if
 * none). For the simulator's shadows. */
void xk_fsgs_task_gdt(const struct xk_kernel *k, const struct xk_task *t, unsigned cpu,
		      uint64_t gdt[XK_GDT_ENTRIES]);
const uint64_t *xk_fsgs_task_ldt(const struct xk_task *t, unsigned *n);

/* ---- Kernel-internal hooks (called by config.c, switch.c, fault.c,
 * process.c) ---- */
void xk_fsgs_boot(struct xk_kernel *k);
/* __switch_to(): save prev (NULL: idle), load_TLS(next), switch the LDT if
 * the process changes, load next. */
void xk_fsgs_switch(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev,
		    struct xk_task *next);
/* SWAPGS at kernel entry from user mode (after CPL 0) and at the exit to
 * user mode (before CPL 3). */
void xk_fsgs_enter_kernel(struct xk_kernel *k, struct xk_cpu *c);
void xk_fsgs_exit_to_user(struct xk_kernel *k, struct xk_cpu *c);
/* copy_thread(): current_save_fsgs() of the parent (before its thread is
 * copied), the LDT for a new process. */
void xk_fsgs_clone(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *parent,
		   struct xk_task *child, unsigned flags);
/* exec: TLS cleared, LDT dropped, FS/GS selectors and bases 0. */
void xk_fsgs_exec(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t);
void xk_fsgs_process_free(struct xk_process *p);

#endif
