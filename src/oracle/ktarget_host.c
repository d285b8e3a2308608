/* The host's Linux kernel as a conformance target (struct xo_ktarget).
 *
 * Every task program runs in a forked child, so the probing process is never
 * damaged. The parent is the tracer when a program has tracer operations.
 *
 * The child keeps the task's user xstate in memory (cur_img) and makes the
 * registers equal to it around every kernel entry: each system call and
 * ptrace stop goes through xo_host_wsys, which XRSTORs cur_img, executes
 * SYSCALL (or INT3 for a stop), and XSAVEs the registers back. Compiled C in
 * between may use vector registers freely; the kernel never sees it.
 *
 * FS/GS programs change the FS base that glibc uses for TLS, so everything
 * the child runs after fork is TLS-free: raw system calls (no errno), no
 * stack protector, no ASan instrumentation, and exit_group instead of exit.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xstate/kconform.h"

#if defined(__x86_64__) && defined(__linux__)

#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <ucontext.h>

#if defined(__has_attribute)
#if __has_attribute(no_stack_protector)
#define XO_NOSP __attribute__((no_stack_protector))
#endif
#endif
#ifndef XO_NOSP
#define XO_NOSP
#endif
/* Code that may run while FS points somewhere other than glibc's TCB. */
#define XO_RAW XO_NOSP __attribute__((no_sanitize_address, noinline))
#define XO_HIDDEN __attribute__((visibility("hidden")))

#define PAGE 4096u

/* ---- Assembly: wrapped kernel entry, image load, signal entry ---- */

/* Argument block of xo_host_wsys; the offsets are used by the assembly. */
struct wsys {
	uint8_t *img;  /* 0: XRSTOR before and XSAVE after (NULL: neither) */
	uint64_t mask; /* 8 */
	long nr;       /* 16 */
	long a[6];     /* 24..64 */
	long ret;      /* 72 */
	uint64_t sp;   /* 80: rsp at the SYSCALL/INT3 instruction */
	uint64_t trap; /* 88: nonzero: INT3 instead of SYSCALL */
};
_Static_assert(offsetof(struct wsys, ret) == 72 && offsetof(struct wsys, trap) == 88,
	       "xo_host_wsys offsets");

void xo_host_wsys(struct wsys *w) XO_HIDDEN;
/* registers := cur (RFBM all); registers := in over RFBM load; cur := registers */
void xo_host_load(uint8_t *cur, const uint8_t *in, uint64_t load, uint64_t all) XO_HIDDEN;
void xo_host_sig_entry(int sig, siginfo_t *si, void *uc) XO_HIDDEN;
void xo_host_sig_c(int sig, siginfo_t *si, void *uc) XO_HIDDEN;

/* Read by the signal entry stub. */
XO_HIDDEN uint64_t xo_host_h_sp;        /* rsp at handler entry */
XO_HIDDEN uint64_t xo_host_h_mask;      /* RFBM for the stub's XSAVE/XRSTOR */
XO_HIDDEN uint8_t *xo_host_h_entry;     /* where the stub saves the entry state */
XO_HIDDEN uint8_t *xo_host_h_clobber;   /* image loaded just before returning */

__asm__(".pushsection .text\n"
	".p2align 4\n"
	".globl xo_host_wsys\n"
	".hidden xo_host_wsys\n"
	".type xo_host_wsys,@function\n"
	"xo_host_wsys:\n"
	"	push %rbx\n"
	"	mov %rdi, %rbx\n"
	"	mov 0(%rbx), %rcx\n"
	"	test %rcx, %rcx\n"
	"	jz 1f\n"
	"	mov 8(%rbx), %eax\n"
	"	mov 12(%rbx), %edx\n"
	"	xrstor64 (%rcx)\n"
	"1:	mov %rsp, 80(%rbx)\n"
	"	cmpq $0, 88(%rbx)\n"
	"	jne 3f\n"
	"	mov 16(%rbx), %rax\n"
	"	mov 24(%rbx), %rdi\n"
	"	mov 32(%rbx), %rsi\n"
	"	mov 40(%rbx), %rdx\n"
	"	mov 48(%rbx), %r10\n"
	"	mov 56(%rbx), %r8\n"
	"	mov 64(%rbx), %r9\n"
	"	syscall\n"
	"	jmp 4f\n"
	"3:	int3\n"
	"	xor %eax, %eax\n"
	"4:	mov %rax, 72(%rbx)\n"
	"	mov 0(%rbx), %rcx\n"
	"	test %rcx, %rcx\n"
	"	jz 2f\n"
	"	mov 8(%rbx), %eax\n"
	"	mov 12(%rbx), %edx\n"
	"	xsave64 (%rcx)\n"
	"2:	pop %rbx\n"
	"	ret\n"
	".size xo_host_wsys, .-xo_host_wsys\n"

	".p2align 4\n"
	".globl xo_host_load\n"
	".hidden xo_host_load\n"
	".type xo_host_load,@function\n"
	"xo_host_load:\n"
	"	mov %rdx, %r8\n"
	"	mov %ecx, %eax\n"
	"	mov %rcx, %rdx\n"
	"	shr $32, %rdx\n"
	"	xrstor64 (%rdi)\n"
	"	mov %r8d, %eax\n"
	"	mov %r8, %rdx\n"
	"	shr $32, %rdx\n"
	"	xrstor64 (%rsi)\n"
	"	mov %ecx, %eax\n"
	"	mov %rcx, %rdx\n"
	"	shr $32, %rdx\n"
	"	xsave64 (%rdi)\n"
	"	ret\n"
	".size xo_host_load, .-xo_host_load\n"

	/* SIGUSR1 handler: save the state the kernel handed us before any
	 * compiled code runs, call the C part, load the clobber image last. */
	".p2align 4\n"
	".globl xo_host_sig_entry\n"
	".hidden xo_host_sig_entry\n"
	".type xo_host_sig_entry,@function\n"
	"xo_host_sig_entry:\n"
	"	mov %rsp, xo_host_h_sp(%rip)\n"
	"	push %rdi\n"
	"	push %rsi\n"
	"	push %rdx\n"
	"	mov xo_host_h_entry(%rip), %rcx\n"
	"	test %rcx, %rcx\n"
	"	jz 1f\n"
	"	mov xo_host_h_mask(%rip), %eax\n"
	"	mov xo_host_h_mask+4(%rip), %edx\n"
	"	xsave64 (%rcx)\n"
	"1:	pop %rdx\n"
	"	pop %rsi\n"
	"	pop %rdi\n"
	"	sub $8, %rsp\n"
	"	call xo_host_sig_c\n"
	"	add $8, %rsp\n"
	"	mov xo_host_h_clobber(%rip), %rcx\n"
	"	test %rcx, %rcx\n"
	"	jz 2f\n"
	"	mov xo_host_h_mask(%rip), %eax\n"
	"	mov xo_host_h_mask+4(%rip), %edx\n"
	"	xrstor64 (%rcx)\n"
	"2:	ret\n"
	".size xo_host_sig_entry, .-xo_host_sig_entry\n"
	".popsection\n");

static inline long raw_sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Copies and fills for code that runs in the child: no libc, so nothing
 * here depends on TLS, and no sanitizer interceptor eats the few hundred
 * bytes of stack a minimal alternate signal stack leaves a handler. */
static inline void raw_copy(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static inline void raw_fill(void *dst, int c, size_t n)
{
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
}

static inline void cpuid2(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* ---- Host facts ---- */

struct host_priv {
	bool have_info;
	struct xo_kinfo info;
};

static int ptrace_usable(void)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return 0;
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			raw_sys(SYS_exit_group, 1, 0, 0, 0, 0, 0);
		raw_sys(SYS_kill, raw_sys(SYS_getpid, 0, 0, 0, 0, 0, 0), SIGSTOP, 0, 0, 0, 0);
		raw_sys(SYS_exit_group, 0, 0, 0, 0, 0, 0);
	}
	if (waitpid(pid, &st, 0) != pid)
		return 0;
	if (WIFSTOPPED(st)) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return 1;
	}
	return 0;
}

static int host_info(struct xo_ktarget *t, struct xo_kinfo *out)
{
	struct host_priv *hp = t->priv;
	struct xo_kinfo *in = &hp->info;
	uint32_t r[4];
	_Alignas(64) uint8_t fx[512];

	if (hp->have_info) {
		*out = *in;
		return 0;
	}
	memset(in, 0, sizeof(*in));
	snprintf(in->target, sizeof(in->target), "host");
	cpuid2(1, 0, r);
	in->fsgsbase = (getauxval(AT_HWCAP2) & XO_HWCAP2_FSGSBASE) != 0;
	memset(fx, 0, sizeof(fx));
	__asm__ volatile("fxsave64 %0" : "=m"(fx));
	in->mxcsr_mask = xo_rd32(fx, XO_FX_MXCSR_MASK);
	if (!in->mxcsr_mask)
		in->mxcsr_mask = 0x0000FFBF; /* SDM 11.6.6: zero means the default mask */
	if (r[2] >> 27 & 1) { /* OSXSAVE: the kernel enabled XSAVE */
		in->xsave = true;
		in->xcr0 = xgetbv0();
		/* PKRU is switched outside XRSTOR; AMX needs arch_prctl permission */
		in->state_mask = in->xcr0 & ~((1ULL << XO_C_PKRU) | (1ULL << XO_C_XTILE_CFG) |
					      (1ULL << XO_C_XTILE_DATA));
		cpuid2(0xD, 0, r);
		in->xstate_size = r[1];
		in->comp_off[0] = 0;
		in->comp_size[0] = 160;
		in->comp_off[1] = 160;
		in->comp_size[1] = 256;
		for (unsigned c = 2; c < XO_KNFEAT; c++) {
			if (!(in->xcr0 >> c & 1))
				continue;
			cpuid2(0xD, c, r);
			in->comp_size[c] = r[0];
			in->comp_off[c] = r[1];
		}
		if (in->xstate_size + 64 > XO_KIMG_MAX) {
			in->xsave = false; /* larger than a run can carry */
		}
	}
	in->ptrace = ptrace_usable();
	hp->have_info = true;
	*out = *in;
	return 0;
}

/* ---- The child ---- */

struct host_shared {
	struct xo_krun run;
	volatile int stop_at; /* first tracer op of the current stop, or -1 */
};

struct child {
	const struct xo_kprog *p;
	struct host_shared *sh;
	struct xo_kinfo info;
	int cur_sig;            /* run.sig index of the signal being delivered, or -1 */
	const struct xo_kop *sig_op;
	uint64_t alt_base, alt_top;
	const struct wsys *sig_w; /* the SIGNAL system call in flight: its sp is the interrupted sp */
	long pid, tid;
};

static struct child child;
static _Alignas(64) uint8_t cur_img[XO_KIMG_MAX];
static _Alignas(64) uint8_t load_img[XO_KIMG_MAX];
static _Alignas(64) uint8_t entry_img[XO_KIMG_MAX];
static _Alignas(64) uint8_t clobber_img[XO_KIMG_MAX];

/* A system call with the registers holding cur_img; w records the sp. */
XO_RAW static long xsys_w(struct wsys *w, long nr, long a1, long a2, long a3)
{
	raw_fill(w, 0, sizeof(*w));
	w->img = cur_img;
	w->mask = child.info.state_mask;
	w->nr = nr;
	w->a[0] = a1;
	w->a[1] = a2;
	w->a[2] = a3;
	xo_host_wsys(w);
	return w->ret;
}

XO_RAW static long xsys(long nr, long a1, long a2, long a3)
{
	struct wsys w;

	return xsys_w(&w, nr, a1, a2, a3);
}

XO_RAW static void xstop(void)
{
	struct wsys w;

	raw_fill(&w, 0, sizeof(w));
	w.img = cur_img;
	w.mask = child.info.state_mask;
	w.trap = 1;
	xo_host_wsys(&w);
}

XO_RAW static _Noreturn void child_exit(int code)
{
	for (;;)
		raw_sys(SYS_exit_group, code, 0, 0, 0, 0, 0);
}

/* Length of the FP area at fx worth copying: the frame's own xstate_size + 4
 * when the software bytes are sane, else the 512-byte FXSAVE part. */
XO_RAW static uint32_t frame_len(const uint8_t *fx, const struct xo_kinfo *info)
{
	uint32_t m1, xs;

	raw_copy(&m1, fx + XO_SW_MAGIC1, 4);
	raw_copy(&xs, fx + XO_SW_XSTATE_SIZE, 4);
	if (m1 == XO_FP_XSTATE_MAGIC1 && xs >= XO_HDR_END && xs <= info->xstate_size)
		return xs + 4;
	return 512;
}

XO_RAW static uint16_t sel_read(enum xo_kseg s)
{
	uint16_t v = 0;

	if (s == XO_KSEG_FS)
		__asm__ volatile("movw %%fs, %0" : "=r"(v));
	else if (s == XO_KSEG_GS)
		__asm__ volatile("movw %%gs, %0" : "=r"(v));
	else
		__asm__ volatile("movw %%ss, %0" : "=r"(v));
	return v;
}

XO_RAW static uint64_t base_read(enum xo_kseg s)
{
	uint64_t v;

	if (s == XO_KSEG_FS)
		__asm__ volatile("rdfsbase %0" : "=r"(v));
	else
		__asm__ volatile("rdgsbase %0" : "=r"(v));
	return v;
}

XO_RAW void xo_host_sig_c(int sig, siginfo_t *si, void *ucv)
{
	struct child *c = &child;
	ucontext_t *uc = ucv;
	struct xo_ksigres *r;
	uint8_t *fx;
	uint64_t sp = xo_host_h_sp, csgsfs;

	if (c->cur_sig < 0)
		return;
	r = &c->sh->run.sig[c->cur_sig];
	r->delivered = true;
	r->signo = si->si_signo;
	r->code = si->si_code;
	r->uc_flags = uc->uc_flags;
	raw_copy(r->entry, entry_img, c->info.xstate_size);
	csgsfs = (uint64_t)uc->uc_mcontext.gregs[REG_CSGSFS]; /* cs, gs, fs, ss: 16 bits each */
	r->sc_gs = (uint16_t)(csgsfs >> 16);
	r->sc_fs = (uint16_t)(csgsfs >> 32);
	r->h_fs = sel_read(XO_KSEG_FS);
	r->h_gs = sel_read(XO_KSEG_GS);
	if (c->info.fsgsbase) {
		r->h_bases = true;
		r->h_fsbase = base_read(XO_KSEG_FS);
		r->h_gsbase = base_read(XO_KSEG_GS);
	}
	fx = (uint8_t *)uc->uc_mcontext.fpregs;
	if (!fx)
		return;
	r->fpregs_mod64 = (uint32_t)((uintptr_t)fx % 64);
	r->frame_len = frame_len(fx, &c->info);
	raw_copy(r->frame, fx, r->frame_len);
	if (c->alt_top && sp >= c->alt_base && sp < c->alt_top) {
		r->on_altstack = true;
		r->top_minus_fpregs = (uint32_t)(c->alt_top - (uintptr_t)fx);
		r->top_minus_sp = (uint32_t)(c->alt_top - sp);
		r->uc_minus_sp = (uint32_t)((uintptr_t)uc - sp);
		r->info_minus_sp = (uint32_t)((uintptr_t)si - sp);
	} else {
		/* The kernel skips the 128-byte red zone below the interrupted sp. */
		r->redzone_ok = c->sig_w && (uintptr_t)fx + r->frame_len <= c->sig_w->sp - 128;
	}
	if (c->sig_op->sig.tamper) {
		struct xo_kframe_edit e;

		raw_fill(&e, 0, sizeof(e));
		e.fx = fx;
		e.len = r->frame_len;
		e.cap = r->on_altstack ? (uint32_t)(c->alt_top + XO_KSTACK_SLACK - (uintptr_t)fx)
				       : r->frame_len + 64;
		e.info = &c->info;
		e.arg = c->sig_op->sig.tamper_arg;
		c->sig_op->sig.tamper(&e);
		if (e.fpregs_null) {
			uc->uc_mcontext.fpregs = NULL;
		} else if (e.fpregs_delta) {
			fx += e.fpregs_delta;
			uc->uc_mcontext.fpregs = (void *)fx;
		}
	}
	if (uc->uc_mcontext.fpregs)
		raw_copy(r->tampered, fx, r->frame_len);
	(void)sig;
}

XO_RAW static void fatal_handler(int sig, siginfo_t *si, void *ucv)
{
	struct xo_krun *run = &child.sh->run;
	ucontext_t *uc = ucv;
	uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;

	run->end = XO_KEND_FATAL;
	run->signo = si->si_signo;
	run->code = si->si_code;
	if (fx) {
		raw_copy(run->end_state, fx, frame_len(fx, &child.info));
		run->end_state_valid = true;
	}
	(void)sig;
	child_exit(0);
}

XO_RAW static void op_altstack(const struct xo_kop *op, struct xo_kopres *res)
{
	stack_t ss;
	long ret;

	raw_fill(&ss, 0, sizeof(ss));
	if (op->a == 0) {
		ss.ss_flags = SS_DISABLE;
	} else {
		uint64_t len = (op->a + PAGE - 1) / PAGE * PAGE + XO_KSTACK_SLACK;
		long base = raw_sys(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (base < 0 && base > -4096) {
			res->ret = -1;
			res->err = (int)-base;
			return;
		}
		raw_fill((void *)base, XO_KSTACK_FILL, len);
		ss.ss_sp = (void *)base;
		ss.ss_size = op->a;
	}
	ret = xsys(SYS_sigaltstack, (long)&ss, 0, 0);
	if (ret < 0) {
		res->ret = -1;
		res->err = (int)-ret;
		return;
	}
	if (op->a) {
		child.alt_base = (uintptr_t)ss.ss_sp;
		child.alt_top = child.alt_base + op->a;
	} else {
		child.alt_base = child.alt_top = 0;
	}
}

XO_RAW static void op_signal(const struct xo_kop *op, struct xo_kopres *res)
{
	struct child *c = &child;
	struct xo_krun *run = &c->sh->run;
	long ret;

	if (run->nsig >= XO_KMAXSIG) {
		res->status = XO_KST_UNSUPPORTED;
		return;
	}
	c->cur_sig = (int)run->nsig++;
	c->sig_op = op;
	res->val = (uint64_t)c->cur_sig;
	if (op->sig.clobber) {
		raw_copy(clobber_img, op->sig.clobber, c->info.xstate_size);
		xo_host_h_clobber = clobber_img;
	} else {
		xo_host_h_clobber = NULL;
	}
	{
		struct wsys w;

		/* xo_host_wsys stores w.sp before SYSCALL, so the handler,
		 * which runs on the way out of it, can read it. */
		c->sig_w = &w;
		ret = xsys_w(&w, SYS_tgkill, c->pid, c->tid, SIGUSR1);
		c->sig_w = NULL;
	}
	run->sig[c->cur_sig].returned = true;
	c->cur_sig = -1;
	xo_host_h_clobber = NULL;
	if (ret < 0) {
		res->ret = -1;
		res->err = (int)-ret;
	}
}

XO_RAW static void task_op(const struct xo_kop *op, struct xo_kopres *res)
{
	struct child *c = &child;
	long ret;

	res->status = XO_KST_DONE;
	switch (op->kind) {
	case XO_KOP_AUXV:
		break; /* filled before the program started (getauxval uses errno) */
	case XO_KOP_ARCH_PRCTL: {
		long arg = (long)op->b;

		if (op->argk == XO_KARG_OUT)
			arg = (long)&res->val;
		ret = xsys(SYS_arch_prctl, (long)op->a, arg, 0);
		if (ret < 0) {
			res->ret = -1;
			res->err = (int)-ret;
		} else {
			res->ret = ret;
		}
		break;
	}
	case XO_KOP_SIGALTSTACK:
		op_altstack(op, res);
		break;
	case XO_KOP_LOAD_XSTATE:
		raw_copy(load_img, op->data, c->info.xstate_size);
		xo_host_load(cur_img, load_img, op->b & c->info.state_mask, c->info.state_mask);
		break;
	case XO_KOP_SAVE_XSTATE:
		raw_copy(res->img, cur_img, c->info.xstate_size);
		res->len = c->info.xstate_size;
		break;
	case XO_KOP_SIGNAL:
		op_signal(op, res);
		break;
	case XO_KOP_SEL_READ:
		res->val = sel_read((enum xo_kseg)op->a);
		break;
	case XO_KOP_SEL_LOAD: {
		/* Read back in the same breath: null selectors 1..3 do not
		 * survive the next IRET (an interrupt, a fault, a stop). */
		uint16_t v = (uint16_t)op->b, back = 0;

		if (op->a == XO_KSEG_FS)
			__asm__ volatile("movw %1, %%fs\n\tmovw %%fs, %0" : "=&r"(back) : "r"(v));
		else if (op->a == XO_KSEG_GS)
			__asm__ volatile("movw %1, %%gs\n\tmovw %%gs, %0" : "=&r"(back) : "r"(v));
		else
			res->status = XO_KST_UNSUPPORTED;
		res->val = back;
		break;
	}
	case XO_KOP_BASE_READ:
		if (!c->info.fsgsbase || op->a == XO_KSEG_SS)
			res->status = XO_KST_UNSUPPORTED;
		else
			res->val = base_read((enum xo_kseg)op->a);
		break;
	case XO_KOP_BASE_WRITE:
		if (!c->info.fsgsbase || op->a == XO_KSEG_SS)
			res->status = XO_KST_UNSUPPORTED;
		else if (op->a == XO_KSEG_FS)
			__asm__ volatile("wrfsbase %0" : : "r"(op->b) : "memory");
		else
			__asm__ volatile("wrgsbase %0" : : "r"(op->b) : "memory");
		break;
	default:
		res->status = XO_KST_UNSUPPORTED;
		break;
	}
}

XO_RAW static _Noreturn void child_run(void)
{
	struct child *c = &child;
	const struct xo_kprog *p = c->p;

	for (unsigned i = 0; i < p->n;) {
		if (xo_kop_is_tracer(p->op[i].kind)) {
			c->sh->stop_at = (int)i;
			xstop();
			while (i < p->n && xo_kop_is_tracer(p->op[i].kind))
				i++;
			continue;
		}
		task_op(&p->op[i], &c->sh->run.res[i]);
		i++;
	}
	c->sh->run.end = XO_KEND_EXIT;
	child_exit(0);
}

static _Noreturn void child_start(const struct xo_kprog *p, struct host_shared *sh,
				  const struct xo_kinfo *info, bool traced)
{
	struct sigaction sa;
	sigset_t all;
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };

	child.p = p;
	child.sh = sh;
	child.info = *info;
	child.cur_sig = -1;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	raw_fill(&sa, 0, sizeof(sa));
	sa.sa_sigaction = xo_host_sig_entry;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = fatal_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (traced && ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) {
		sh->run.end = XO_KEND_ERROR;
		snprintf(sh->run.error, sizeof(sh->run.error), "PTRACE_TRACEME: %s",
			 xo_kerrno_name(errno));
		child_exit(0);
	}
	alarm(5); /* a wedged program dies instead of hanging the prober */
	for (unsigned i = 0; i < p->n; i++) {
		if (p->op[i].kind != XO_KOP_AUXV)
			continue;
		errno = 0;
		sh->run.res[i].val = getauxval((unsigned long)p->op[i].a);
		if (errno) {
			sh->run.res[i].ret = -1;
			sh->run.res[i].err = errno;
		}
	}
	child.pid = raw_sys(SYS_getpid, 0, 0, 0, 0, 0, 0);
	child.tid = raw_sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
	/* The task starts in the init state, like a freshly exec'ed one. */
	raw_fill(cur_img, 0, sizeof(cur_img));
	xo_wr16(cur_img, XO_FX_FCW, 0x037F);
	xo_wr32(cur_img, XO_FX_MXCSR, 0x1F80);
	xo_host_h_mask = info->state_mask;
	xo_host_h_entry = entry_img;
	xo_host_h_clobber = NULL;
	child_run();
}

/* ---- The parent: tracer ---- */

static long user_off(uint64_t field)
{
	switch (field) {
	case XO_KUSR_FS_BASE:
		return (long)offsetof(struct user, regs.fs_base);
	case XO_KUSR_GS_BASE:
		return (long)offsetof(struct user, regs.gs_base);
	case XO_KUSR_FS:
		return (long)offsetof(struct user, regs.fs);
	default:
		return (long)offsetof(struct user, regs.gs);
	}
}

static void tracer_op(pid_t pid, const struct xo_kop *op, struct xo_kopres *res)
{
	static _Alignas(64) uint8_t buf[XO_KIMG_MAX];
	struct iovec iov;
	long r = 0;

	res->status = XO_KST_DONE;
	errno = 0;
	switch (op->kind) {
	case XO_KOP_PEEKUSER:
		res->val = (uint64_t)ptrace(PTRACE_PEEKUSER, pid, user_off(op->a), 0);
		r = errno ? -1 : 0;
		break;
	case XO_KOP_POKEUSER:
		r = ptrace(PTRACE_POKEUSER, pid, user_off(op->a), op->b);
		break;
	case XO_KOP_GETREGSET:
		memset(buf, 0, sizeof(buf));
		iov.iov_base = buf;
		iov.iov_len = op->b < XO_KIMG_MAX ? op->b : XO_KIMG_MAX;
		r = ptrace(PTRACE_GETREGSET, pid, op->a, &iov);
		res->len = (uint32_t)iov.iov_len;
		memcpy(res->img, buf, sizeof(buf));
		break;
	case XO_KOP_SETREGSET:
		iov.iov_len = op->b < XO_KIMG_MAX ? op->b : XO_KIMG_MAX;
		memset(buf, 0, sizeof(buf));
		if (op->data)
			memcpy(buf, op->data, iov.iov_len);
		iov.iov_base = buf;
		r = ptrace(PTRACE_SETREGSET, pid, op->a, &iov);
		res->len = (uint32_t)iov.iov_len;
		break;
	case XO_KOP_GETFPREGS:
		memset(buf, 0, sizeof(buf));
		r = ptrace(PTRACE_GETFPREGS, pid, 0, buf);
		memcpy(res->img, buf, 512);
		res->len = 512;
		break;
	case XO_KOP_SETFPREGS:
		memset(buf, 0, sizeof(buf));
		if (op->data)
			memcpy(buf, op->data, 512);
		r = ptrace(PTRACE_SETFPREGS, pid, 0, buf);
		break;
	case XO_KOP_PTRACE_ARCH_PRCTL: {
		/* arch_ptrace(): do_arch_prctl_64(child, data, addr); a GET's
		 * put_user() writes to the tracer's memory at addr. */
		uint64_t v = 0;
		bool get = op->a == XO_ARCH_GET_FS || op->a == XO_ARCH_GET_GS;

		r = ptrace(PTRACE_ARCH_PRCTL, pid, get ? (void *)&v : (void *)(uintptr_t)op->b,
			   (void *)(uintptr_t)op->a);
		res->val = v;
		break;
	}
	default:
		res->status = XO_KST_UNSUPPORTED;
		return;
	}
	res->ret = r < 0 ? -1 : 0;
	res->err = r < 0 ? errno : 0;
}

static int parent_wait(pid_t pid, const struct xo_kprog *p, struct host_shared *sh, bool traced)
{
	struct xo_krun *run = &sh->run;
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, __WALL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(run->error, sizeof(run->error), "waitpid: %s", xo_kerrno_name(errno));
			kill(pid, SIGKILL);
			return -1;
		}
		if (WIFEXITED(st)) {
			if (run->end == XO_KEND_NONE) {
				snprintf(run->error, sizeof(run->error), "task exited %d early",
					 WEXITSTATUS(st));
				return -1;
			}
			return run->end == XO_KEND_ERROR ? -1 : 0;
		}
		if (WIFSIGNALED(st)) {
			run->end = XO_KEND_KILLED;
			run->signo = WTERMSIG(st);
			return 0;
		}
		if (!WIFSTOPPED(st) || !traced)
			continue;
		if (WSTOPSIG(st) == SIGTRAP && sh->stop_at >= 0) {
			for (unsigned i = (unsigned)sh->stop_at; i < p->n && xo_kop_is_tracer(p->op[i].kind);
			     i++)
				tracer_op(pid, &p->op[i], &run->res[i]);
			sh->stop_at = -1;
			ptrace(PTRACE_CONT, pid, 0, 0);
		} else {
			ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st));
		}
	}
}

static int host_run(struct xo_ktarget *t, const struct xo_kprog *p, struct xo_krun *r)
{
	struct xo_kinfo info;
	struct host_shared *sh;
	bool traced = false;
	pid_t pid;
	int ret;

	if (host_info(t, &info) < 0 || !info.xsave) {
		r->end = XO_KEND_ERROR;
		snprintf(r->error, sizeof(r->error), "host runs tasks without XSAVE");
		return -1;
	}
	for (unsigned i = 0; i < p->n; i++)
		traced |= xo_kop_is_tracer(p->op[i].kind);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		r->end = XO_KEND_ERROR;
		snprintf(r->error, sizeof(r->error), "mmap: %s", xo_kerrno_name(errno));
		return -1;
	}
	sh->stop_at = -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		munmap(sh, sizeof(*sh));
		r->end = XO_KEND_ERROR;
		snprintf(r->error, sizeof(r->error), "fork: %s", xo_kerrno_name(errno));
		return -1;
	}
	if (pid == 0)
		child_start(p, sh, &info, traced);
	ret = parent_wait(pid, p, sh, traced);
	memcpy(r, &sh->run, sizeof(*r));
	if (ret < 0)
		r->end = XO_KEND_ERROR;
	munmap(sh, sizeof(*sh));
	return ret;
}

static void host_destroy(struct xo_ktarget *t)
{
	free(t->priv);
	free(t);
}

struct xo_ktarget *xo_ktarget_host(char *why, size_t whylen)
{
	struct xo_ktarget *t = calloc(1, sizeof(*t));
	struct host_priv *hp = calloc(1, sizeof(*hp));

	if (!t || !hp) {
		free(t);
		free(hp);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	t->name = "host";
	t->info = host_info;
	t->run = host_run;
	t->destroy = host_destroy;
	t->priv = hp;
	return t;
}

#else /* not x86-64 Linux */

struct xo_ktarget *xo_ktarget_host(char *why, size_t whylen)
{
	snprintf(why, whylen, "the host kernel oracle needs x86-64 Linux");
	return NULL;
}

#endif

void xo_ktarget_free(struct xo_ktarget *t)
{
	if (t)
		t->destroy(t);
}
