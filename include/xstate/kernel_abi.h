/* xstate kernel manager: the user ABI of extended state (Linux x86-64).
 *
 *   - dynamic features (AMX): arch_prctl(ARCH_*_XCOMP_*) permissions, the
 *     XFD first-use path (#NM -> allocate -> retry), and two features from
 *     seed 004 that Linux does not have, both off by default (policies
 *     prealloc=on, harvest=on): a per-task pre-allocation call and lazy
 *     harvesting of clean, unused AMX buffers under memory pressure;
 *   - signal frames: delivery (get_sigframe + copy_fpstate_to_sigframe +
 *     fpu__clear_user_states), rt_sigreturn (fpu__restore_sig), sigaltstack
 *     and the AMX sizing rules around it, AT_MINSIGSTKSZ;
 *   - ptrace regsets NT_PRFPREG and NT_X86_XSTATE, with the generic UABI
 *     copy helpers (copy_xstate_to_uabi_buf / copy_uabi_to_xstate) that
 *     KVM_GET/SET_XSAVE2 reuse.
 *
 * Sources: arch/x86/kernel/fpu/{signal,regset,xstate}.c, fpu/xstate.h,
 * arch/x86/kernel/signal.c, kernel/signal.c (do_sigaltstack),
 * arch/x86/kernel/traps.c (handle_xfd_event); linux-design.md 4-6.
 *
 * User memory. The model has no page tables; a process's address space is
 * a struct xk_umem: a few page-aligned regions of real bytes (the stack,
 * an altstack ...). Frames are written there by the model CPU's XSAVE
 * exactly as Linux XSAVEs to the user stack, and read back by XRSTOR; an
 * access outside every region is a page fault the kernel cannot resolve
 * (Linux: -EFAULT / SIGSEGV). Region bytes are allocated page-aligned so
 * a virtual address and its host address agree modulo 64: the XSAVE
 * alignment rules apply to the virtual address as they would on hardware.
 * The caller (the simulator) owns the xk_umem of each process.
 *
 * General-purpose registers and the instruction pointer are not modelled:
 * the rt_sigframe fields that hold them are written as zero except rsp (the
 * interrupted stack pointer), cs/ss and the fpstate pointer. Everything of
 * the extended state -- the XSAVE image, the software-reserved bytes, the
 * header, MAGIC2 -- is exactly what Linux writes.
 */
#ifndef XSTATE_KERNEL_ABI_H
#define XSTATE_KERNEL_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xstate/kernel.h"

/* ---- Constants of the Linux x86-64 ABI ---- */

/* arch_prctl options (arch/x86/include/uapi/asm/prctl.h). */
enum {
	XK_ARCH_GET_XCOMP_SUPP = 0x1021,
	XK_ARCH_GET_XCOMP_PERM = 0x1022,
	XK_ARCH_REQ_XCOMP_PERM = 0x1023,
	XK_ARCH_GET_XCOMP_GUEST_PERM = 0x1024,
	XK_ARCH_REQ_XCOMP_GUEST_PERM = 0x1025,
	/* Not Linux (seed 004 item 7): per-task synchronous allocation of the
	 * buffer for a permitted dynamic feature; only with policy prealloc=on,
	 * otherwise it is an unknown option (-EINVAL) as in Linux. */
	XK_ARCH_REQ_XCOMP_PREALLOC = 0x10F0,
	XK_ARCH_XCOMP_TILECFG = 17,
	XK_ARCH_XCOMP_TILEDATA = 18,
};

/* Signals and flags (include/uapi/asm-generic/signal*.h, x86). */
enum {
	XK_SIGUSR1 = 10,
	XK_SIGUSR2 = 12,
	XK_SIGALRM = 14,
	XK_SIGSYS = 31,
};
#define XK_SA_SIGINFO 0x00000004u
#define XK_SA_RESTORER 0x04000000u
#define XK_SA_ONSTACK 0x08000000u
#define XK_SS_ONSTACK 1u
#define XK_SS_DISABLE 2u
#define XK_SS_AUTODISARM (1u << 31)
#define XK_SS_FLAG_BITS XK_SS_AUTODISARM
#define XK_MINSIGSTKSZ 2048u
#define XK_SIGSTKSZ 8192u
#define XK_AT_MINSIGSTKSZ 51
#define XK_UC_FP_XSTATE 0x1u
#define XK_UC_SIGCONTEXT_SS 0x2u
#define XK_UC_STRICT_RESTORE_SS 0x4u
#define XK_USER_CS 0x33u
#define XK_USER_DS 0x2bu
#define XK_X86_TRAP_NM 7u
/* TASK_SIZE_MAX with 4-level paging: the highest user address + 1. */
#define XK_TASK_SIZE_MAX 0x00007ffffffff000ULL

/* struct _fpx_sw_bytes in the FXSAVE area's software-reserved bytes
 * (arch/x86/include/uapi/asm/sigcontext.h). */
#define XK_FP_XSTATE_MAGIC1 0x46505853u /* "FPXS" */
#define XK_FP_XSTATE_MAGIC2 0x46505845u /* "FPXE" */
#define XK_FP_XSTATE_MAGIC2_SIZE 4u
#define XK_SW_OFF 464u            /* sw_reserved[] */
#define XK_SW_MAGIC1 464u
#define XK_SW_EXTENDED_SIZE 468u
#define XK_SW_XFEATURES 472u
#define XK_SW_XSTATE_SIZE 480u
#define XK_SW_SIZE 48u
#define XK_FSAVE_HEADER_SIZE 112u /* struct fregs_state (ia32 frames) */

/* x86-64 struct rt_sigframe (arch/x86/include/asm/sigframe.h):
 * pretcode, struct ucontext (uc_flags, uc_link, uc_stack, uc_mcontext =
 * struct sigcontext_64, uc_sigmask), struct siginfo. */
#define XK_RT_SIGFRAME_SIZE 440u
#define XK_RTF_PRETCODE 0u
#define XK_RTF_UC_FLAGS 8u
#define XK_RTF_UC_LINK 16u
#define XK_RTF_SS_SP 24u
#define XK_RTF_SS_FLAGS 32u
#define XK_RTF_SS_SIZE 40u
#define XK_RTF_MCONTEXT 48u
#define XK_RTF_RSP (XK_RTF_MCONTEXT + 15 * 8) /* r8..r15 rdi rsi rbp rbx rdx rax rcx rsp */
#define XK_RTF_RIP (XK_RTF_MCONTEXT + 16 * 8)
#define XK_RTF_CS (XK_RTF_MCONTEXT + 18 * 8)  /* u16 cs, gs, fs, ss */
#define XK_RTF_SS (XK_RTF_CS + 6)
#define XK_RTF_TRAPNO (XK_RTF_MCONTEXT + 160)
#define XK_RTF_FPSTATE (XK_RTF_MCONTEXT + 184) /* sigcontext.fpstate = 232 */
#define XK_RTF_SIGMASK 304u
#define XK_RTF_INFO 312u
/* sizeof(struct sigframe_ia32): 732 bytes of fields, padded to 736 by the
 * u64 in _fpx_sw_bytes inside _fpstate_32 (8-byte alignment). Verified on
 * the project host: AT_MINSIGSTKSZ 1776 for an 832-byte XSAVE area. */
#define XK_SIGFRAME_IA32_SIZE 736u
/* Linux's CONFIG_IA32_EMULATION (on in distribution kernels and on the
 * project host): the frame-size bound then covers 32-bit frames too. */
#define XK_CONFIG_IA32_EMULATION 1
#define XK_RED_ZONE 128u

/* ptrace regsets (include/uapi/linux/elf.h). */
enum { XK_NT_PRFPREG = 2, XK_NT_X86_XSTATE = 0x202 };

/* ---- Simulated user memory ---- */

#define XK_UMEM_REGIONS 16
#define XK_PAGE_SIZE 4096u

struct xk_uregion {
	uint64_t base;     /* page aligned */
	uint64_t size;     /* bytes, a multiple of the page size */
	uint8_t *bytes;    /* host memory, page aligned */
	char name[16];
	uint64_t touched;  /* lowest offset xk_umem_ptr() handed out (uaccess.c reuses
			    * a region's memory after zeroing from here) */
};

struct xk_umem {
	struct xk_uregion r[XK_UMEM_REGIONS];
	unsigned n;
};

void xk_umem_init(struct xk_umem *mm);
/* Map [base, base+size) (size rounded up to pages), zero-filled. 0, or
 * -EINVAL (unaligned, zero, above TASK_SIZE_MAX), -EEXIST (overlaps a
 * mapping), -ENOSPC (no free region slot), -ENOMEM. */
int xk_umem_map(struct xk_umem *mm, uint64_t base, uint64_t size, const char *name);
int xk_umem_unmap(struct xk_umem *mm, uint64_t base); /* 0 or -ENOENT */
void xk_umem_free(struct xk_umem *mm);
/* The host bytes of [addr, addr+len) if they lie in one region, else NULL
 * (a fault). len 0 asks for the address alone. */
uint8_t *xk_umem_ptr(const struct xk_umem *mm, uint64_t addr, uint64_t len);
/* Bytes from addr to the end of its region (0 if unmapped). */
uint64_t xk_umem_avail(const struct xk_umem *mm, uint64_t addr);
int xk_copy_to_user(struct xk_umem *mm, uint64_t addr, const void *src, size_t len);
int xk_copy_from_user(const struct xk_umem *mm, void *dst, uint64_t addr, size_t len);
/* access_ok(): a range check only, as in Linux; mapping faults come later. */
bool xk_access_ok(uint64_t addr, uint64_t len);

/* ---- Dynamic features: permissions and first use (perm.c, xfd.c) ---- */

/* arch_prctl(option, arg2) by t. GET options store a u64 at user address
 * arg2 in mm (-EFAULT if that is not mapped). Returns 0 or -errno, with
 * Linux's codes: REQ: idx >= 20 -> -EINVAL; not a permission facility or
 * not supported -> -EOPNOTSUPP; a thread's sigaltstack too small for the
 * larger frame -> -ENOSPC; guest permissions locked -> -EBUSY. Unknown
 * option -> -EINVAL. PREALLOC (policy prealloc=on): not permitted ->
 * -EPERM, allocation failure -> -ENOMEM. t must be a user task; for
 * PREALLOC it must be current in kernel mode on some CPU (a system call). */
long xk_arch_prctl(struct xk_kernel *k, struct xk_task *t, struct xk_umem *mm, int option,
		   uint64_t arg2);
/* The permission GET_XCOMP_(GUEST_)PERM reports (USER_SUPPORTED bits). */
uint64_t xk_xcomp_perm(const struct xk_task *t, bool guest);

/* Memory pressure (policy harvest=on): for every task that is not running
 * and holds a grown buffer that was not pre-allocated and whose dynamic
 * state is in its initial configuration, re-arm XFD for it, move its
 * state back into the default buffer and free the large one. Returns the
 * number of buffers freed (0 with the policy off); *bytes (may be NULL)
 * gets the bytes released. */
unsigned xk_xstate_harvest(struct xk_kernel *k, uint64_t *bytes);
/* True if t's active buffer was pre-allocated (never harvested). */
bool xk_xstate_is_prealloc(const struct xk_task *t);

/* ---- Signals (sigframe.c, sigreturn.c, sigaltstack in perm.c) ---- */

struct xk_sigaction {
	uint64_t handler;
	uint64_t restorer;   /* sa_restorer: becomes the frame's pretcode */
	uint32_t flags;      /* XK_SA_ONSTACK ... */
};

struct xk_siginfo {
	int signo;
	int code;            /* si_code */
	uint64_t addr;       /* si_addr for fault signals (the model has no IP: 0) */
	uint32_t trapno;     /* sigcontext.trapno */
};

/* Where a delivered frame went. */
struct xk_sigframe {
	uint64_t frame;      /* the rt_sigframe = the handler's stack pointer */
	uint64_t fpstate;    /* uc_mcontext.fpstate: the 64-byte aligned XSAVE image */
	uint64_t interrupted_sp;
	uint32_t xstate_size; /* fpstate->user_size: the XSAVE image's bytes */
	uint64_t xfeatures;  /* sw_reserved xfeatures = fpstate->user_xfeatures */
	uint64_t rfbm;       /* the mask the XSAVE ran with (init AMX left out) */
	bool altstack;       /* built on the sigaltstack */
};

/* Deliver a signal to the current task of cpu, which is in kernel mode
 * (after a fault, a system call or an interrupt from user mode) with user
 * stack pointer sp. Builds the frame as x64_setup_rt_frame() does and
 * then resets the user state (fpu__clear_user_states): the handler starts
 * with every user component in its initial configuration and PKRU =
 * init_pkru. The caller then returns to user mode at the handler.
 * Returns 0; -EFAULT if the frame does not fit (outside user memory, or
 * an overflowed sigaltstack): nothing changed, and Linux then forces
 * SIGSEGV; -EINVAL if no user task is current in kernel mode. */
int xk_signal_deliver(struct xk_kernel *k, unsigned cpu, struct xk_umem *mm, uint64_t sp,
		      const struct xk_sigaction *act, const struct xk_siginfo *info,
		      struct xk_sigframe *out);

struct xk_sigreturn_result {
	uint64_t sp;         /* the stack pointer restored from the frame */
	uint64_t fpstate;    /* the fpstate pointer the frame held */
	uint64_t rfbm;       /* the XRSTOR mask used (0: no XRSTOR from the frame) */
	bool fx_only;        /* magic check failed: legacy-only restore */
	bool failed;         /* the frame was bad: SIGSEGV, user state per policy */
	bool reset;          /* the user state was reset to init (fpu__clear_user_states) */
	int signo;           /* SIGSEGV on failure, else 0 */
	const char *why;     /* static text: why it failed / which path */
};
/* rt_sigreturn by the current task of cpu (in kernel mode after the
 * system call) whose user stack pointer is sp (the frame is at sp - 8).
 * Returns 0 on success, -EFAULT when the frame is bad (res->signo =
 * SIGSEGV): with policy sigreturn-fail=init (Linux) the user state is
 * reset to init, with sigreturn-fail=keep it stays exactly as it was
 * before the call. -EINVAL if no user task is current in kernel mode. */
int xk_sigreturn(struct xk_kernel *k, unsigned cpu, struct xk_umem *mm, uint64_t sp,
		 struct xk_sigreturn_result *res);

struct xk_stack {
	uint64_t sp;
	uint64_t size;
	uint32_t flags;      /* XK_SS_DISABLE, XK_SS_ONSTACK, | XK_SS_AUTODISARM */
};
/* sigaltstack(ss, oss) by t whose user stack pointer is cur_sp
 * (do_sigaltstack). Either pointer may be NULL. Returns 0, -EPERM (on the
 * altstack now), -EINVAL (bad mode), -ENOMEM (smaller than MINSIGSTKSZ, or
 * too small for the frame once AMX is permitted). */
int xk_sigaltstack(struct xk_kernel *k, struct xk_task *t, uint64_t cur_sp,
		   const struct xk_stack *ss, struct xk_stack *oss);
bool xk_on_sig_stack(const struct xk_task *t, uint64_t sp);

/* get_sigframe_size(): the worst-case frame; AT_MINSIGSTKSZ. Computed from
 * user.max_size, so it includes AMX whether or not a task may use it. */
uint32_t xk_sigframe_max_size(const struct xk_kernel *k, bool ia32_emulation);
uint32_t xk_at_minsigstksz(const struct xk_kernel *k);
/* The XSAVE part of t's frames now: fpstate->user_size + MAGIC2. */
uint32_t xk_task_sigframe_xstate_size(const struct xk_task *t);
/* The frame bound the permission check applies for a task group whose
 * permitted user size would be usize (validate_sigaltstack()). */
uint32_t xk_perm_frame_size(const struct xk_kernel *k, uint32_t usize);
/* The smallest ss_size sigaltstack() accepts for t now. */
uint64_t xk_sigaltstack_min(const struct xk_kernel *k, const struct xk_task *t);

/* ---- ptrace regsets and UABI copies (regset.c) ---- */

enum xk_copy_mode { XK_COPY_FP = 0, XK_COPY_FX, XK_COPY_XSAVE };

/* __copy_xstate_to_uabi_buf(): the standard-format image of fps into buf
 * (len bytes, truncated or zero-padded like a membuf). FP: x87 only, FX:
 * the 512-byte FXSAVE image, XSAVE: header xfeatures = XSTATE_BV &
 * user_xfeatures & xfeatures, sw_reserved = the regset's sw bytes (XCR0 in
 * the first word), components at their standard offsets, PKRU from pkru. */
void xk_copy_xstate_to_uabi(const struct xk_kernel *k, const struct xk_fpstate *fps,
			    uint64_t xfeatures, uint32_t pkru, enum xk_copy_mode mode, void *buf,
			    size_t len);
/* copy_uabi_to_xstate(): validate a standard-format image (len bytes) and
 * copy it into fps. -EINVAL: header xfeatures outside fps->user_xfeatures,
 * xcomp_bv != 0, reserved header bytes != 0, MXCSR reserved bits (when
 * FP|SSE|YMM is set); -EFAULT: len too short. Nothing changes on error.
 * pkru (may be NULL, as KVM passes): set from the image, or 0 if the PKRU
 * bit is clear. Supervisor XSTATE_BV bits of fps are kept. */
int xk_copy_uabi_to_xstate(const struct xk_kernel *k, struct xk_fpstate *fps, const void *buf,
			   size_t len, uint32_t *pkru);

/* The regset's total size: 512 (NT_PRFPREG), user.max_size
 * (NT_X86_XSTATE); 0 for an unknown type. */
uint32_t xk_regset_size(const struct xk_kernel *k, unsigned type);
/* PTRACE_GETREGSET / PTRACE_SETREGSET on a stopped tracee (ptrace_regset):
 * *iov_len must be a multiple of 8 (-EINVAL) and is clamped to the regset
 * size; GET writes that many bytes. SET follows xfpregs_set() /
 * xstateregs_set(): NT_PRFPREG needs exactly 512 bytes (-EINVAL), valid
 * MXCSR (-EINVAL); NT_X86_XSTATE needs exactly user.max_size bytes
 * (-EFAULT) and passes xk_copy_uabi_to_xstate(). A successful SET makes
 * the tracee reload its registers at its next return to user mode; a
 * rejected one changes nothing. -ESRCH: the tracee is running (stop it
 * first: switching it out saves its registers), a kernel thread, or dead.
 * Unknown type: -EINVAL. */
int xk_ptrace_regset(struct xk_kernel *k, struct xk_task *target, bool set, unsigned type,
		     void *iov, size_t *iov_len);

/* ---- Trace helper ---- */
const char *xk_arch_prctl_name(int option); /* "ARCH_REQ_XCOMP_PERM", "0x1234" */
const char *xk_regset_name(unsigned type);  /* "NT_X86_XSTATE" */

#endif
