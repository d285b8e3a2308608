/* The host CPU as an oracle: XSAVE-family instructions executed for real at
 * CPL 3.
 *
 * Why this file looks the way it does:
 * - Register state must survive from one instruction to the next. Every
 *   function that runs between two instructions is compiled with
 *   target("general-regs-only") and calls nothing (no libc: glibc's memcpy
 *   uses AVX, and the dynamic linker's lazy binding saves and restores vector
 *   registers with XSAVEC), so only the instructions under test touch x87,
 *   SSE and AVX state. Memory copies inside a run use rep movsb.
 * - Faults are caught like the kernel's exception tables: before each
 *   instruction the asm records its address and a resume address; the
 *   SIGSEGV/SIGILL/SIGBUS handler checks the faulting RIP against it, notes
 *   the signal and resumes after the instruction. The kernel saves the user
 *   register state into the signal frame and restores it on sigreturn, so
 *   the state after a fault stays observable (a siglongjmp would leave the
 *   handler's init state behind). The handlers run on a sigaltstack.
 * - #GP arrives as SIGSEGV with si_code SI_KERNEL, a page fault as SIGSEGV
 *   with SEGV_MAPERR/ACCERR, #UD as SIGILL, #AC as SIGBUS (BUS_ADRALN).
 */
#include <cpuid.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "xstate/oracle.h"

#if !defined(__x86_64__)
#error "the host oracle needs x86-64"
#endif

#define EFLAGS_AC 0x40000ull

/* Shared with the signal handler. */
static struct {
	volatile uint64_t ip;      /* armed instruction */
	volatile uint64_t fixup;   /* where to resume if it faults */
	volatile int signo, code;
} hw_trap;

static struct sigaction hw_old[3];
static const int hw_signals[3] = { SIGSEGV, SIGILL, SIGBUS };
static bool hw_installed;

static void hw_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g;

	/* Linux enters the handler with the interrupted EFLAGS.AC: clear it
	 * before any C code can make an unaligned access (an #AC here would
	 * recurse on the alternate stack). */
	__asm__ volatile("pushfq\n\tandq %0, (%%rsp)\n\tpopfq" : : "r"(~EFLAGS_AC) : "memory", "cc");
	g = uc->uc_mcontext.gregs;
	if (hw_trap.fixup && (uint64_t)g[REG_RIP] == hw_trap.ip) {
		hw_trap.signo = sig;
		hw_trap.code = si->si_code;
		g[REG_RIP] = (greg_t)hw_trap.fixup;
		g[REG_EFL] &= ~(greg_t)EFLAGS_AC;
		hw_trap.fixup = 0;
		return;
	}
	/* Not an armed instruction: give the fault back to whoever had it
	 * (the default action, or a sanitizer's handler). */
	for (int i = 0; i < 3; i++)
		if (hw_signals[i] == sig)
			sigaction(sig, &hw_old[i], NULL);
}

static int hw_install(void)
{
	static char altstack[1 << 16] __attribute__((aligned(64)));
	struct sigaction sa;
	stack_t ss;

	if (hw_installed)
		return 0;
	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	if (sigaltstack(&ss, NULL) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = hw_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		if (sigaction(hw_signals[i], &sa, &hw_old[i]) != 0)
			return -1;
	hw_installed = true;
	return 0;
}

/* Code that runs between two instructions under test: no vector registers,
 * no calls out, and no sanitizer instrumentation (ASan's fake stacks and
 * UBSan's handlers call into a runtime that may use SSE/AVX). */
#define HW_NOVEC                                                                 \
	__attribute__((noinline, target("general-regs-only"),                  \
		       no_sanitize("address", "undefined")))

HW_NOVEC static enum xs_fault hw_fault_of(int signo, int si_code)
{
	switch (signo) {
	case 0:
		return XS_OK;
	case SIGILL:
		return XS_UD;
	case SIGBUS:
		return XS_AC;
	case SIGSEGV:
		return si_code == SI_KERNEL ? XS_GP : XS_PF;
	default:
		return XS_GP;
	}
}

enum xs_fault xs_hw_fault_of(int signo, int si_code)
{
	return hw_fault_of(signo, si_code);
}

/* ---- host detection ---- */

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static void host_detect(struct xs_host *h)
{
	unsigned a, b, c, d, max;

	memset(h, 0, sizeof(*h));
	max = __get_cpuid_max(0, NULL);
	if (max < 1)
		return;
	__cpuid(1, a, b, c, d);
	h->fxsr = d & (1u << 24);
	if (!(c & (1u << 26)) || !(c & (1u << 27)) || max < 0xd)
		return;
	h->xsave = true;
	h->xcr0 = xgetbv0();
	h->avx = (c & (1u << 28)) && (h->xcr0 & 6) == 6;
	__cpuid_count(0xd, 0, a, b, c, d);
	h->std_size = b;
	__cpuid_count(0xd, 1, a, b, c, d);
	h->xsaveopt = a & 1;
	h->xsavec = a & 2;
	h->xgetbv1 = a & 4;
	h->xsaves = a & 8;
	h->size[0] = 160;
	h->size[1] = 256;
	h->offset[1] = 160;
	for (unsigned i = 2; i < 63; i++) {
		__cpuid_count(0xd, i, a, b, c, d);
		h->size[i] = a;
		h->offset[i] = b;
		h->align64[i] = c & 2;
	}
	/* Compacted size for XCR0 (SDM 13.4.3); sub-leaf 1 EBX would include
	 * IA32_XSS, which user mode cannot read. */
	h->cmp_size = XS_EXT_OFFSET;
	for (unsigned i = 2; i < 63; i++) {
		if (!(h->xcr0 & (1ull << i)))
			continue;
		if (h->align64[i])
			h->cmp_size = (h->cmp_size + 63) & ~63u;
		h->cmp_size += h->size[i];
	}
}

const struct xs_host *xs_host_get(void)
{
	static struct xs_host host;
	static bool done;

	if (!done) {
		host_detect(&host);
		done = true;
	}
	return host.xsave ? &host : NULL;
}

/* ---- the runner ---- */

/* Arm the trap for the instruction at 1: and resume at 2:. AC is set from
 * %[ac] just before and cleared right after; the stack pointer steps over
 * the red zone because this is a leaf function and pushfq writes below rsp. */
#define HW_ASM(insn)                                                            \
	__asm__ volatile("leaq -128(%%rsp), %%rsp\n\t"                          \
			 "pushfq\n\t"                                           \
			 "orq %[ac], (%%rsp)\n\t"                               \
			 "popfq\n\t"                                            \
			 "leaq 128(%%rsp), %%rsp\n\t"                           \
			 "leaq 1f(%%rip), %%r11\n\t"                            \
			 "movq %%r11, %[ip]\n\t"                                \
			 "leaq 2f(%%rip), %%r11\n\t"                            \
			 "movq %%r11, %[fix]\n"                                 \
			 "1:\t" insn "\n"                                       \
			 "2:\tleaq -128(%%rsp), %%rsp\n\t"                      \
			 "pushfq\n\t"                                           \
			 "andq %[noac], (%%rsp)\n\t"                            \
			 "popfq\n\t"                                            \
			 "leaq 128(%%rsp), %%rsp\n\t"                           \
			 : [ip] "=m"(hw_trap.ip), [fix] "=m"(hw_trap.fixup),    \
			   "+a"(lo), "+d"(hi)                                   \
			 : [m] "r"(mem), [s] "r"(src), "c"(ecx), [ac] "r"(ac),  \
			   [noac] "r"(~EFLAGS_AC)                               \
			 : "r11", "memory", "cc")

#define REG_CASES(insn_fmt_a, insn_fmt_b)                                       \
	REG_CASE(0, insn_fmt_a, insn_fmt_b) REG_CASE(1, insn_fmt_a, insn_fmt_b)   \
	REG_CASE(2, insn_fmt_a, insn_fmt_b) REG_CASE(3, insn_fmt_a, insn_fmt_b)   \
	REG_CASE(4, insn_fmt_a, insn_fmt_b) REG_CASE(5, insn_fmt_a, insn_fmt_b)   \
	REG_CASE(6, insn_fmt_a, insn_fmt_b) REG_CASE(7, insn_fmt_a, insn_fmt_b)   \
	REG_CASE(8, insn_fmt_a, insn_fmt_b) REG_CASE(9, insn_fmt_a, insn_fmt_b)   \
	REG_CASE(10, insn_fmt_a, insn_fmt_b) REG_CASE(11, insn_fmt_a, insn_fmt_b) \
	REG_CASE(12, insn_fmt_a, insn_fmt_b) REG_CASE(13, insn_fmt_a, insn_fmt_b) \
	REG_CASE(14, insn_fmt_a, insn_fmt_b) REG_CASE(15, insn_fmt_a, insn_fmt_b)
#define REG_CASE(n, a_, b_) \
	case n:             \
		HW_ASM(a_ #n b_); \
		break;

HW_NOVEC static void hw_write_xmm(unsigned reg, const void *src)
{
	uint32_t lo = 0, hi = 0, ecx = 0;
	uint64_t ac = 0;
	void *mem = NULL;

	switch (reg) {
		REG_CASES("movdqu (%[s]), %%xmm", "")
	}
}

HW_NOVEC static void hw_write_ymm(unsigned reg, const void *src)
{
	uint32_t lo = 0, hi = 0, ecx = 0;
	uint64_t ac = 0;
	void *mem = NULL;

	switch (reg) {
		REG_CASES("vmovdqu (%[s]), %%ymm", "")
	}
}

HW_NOVEC static void hw_read_xmm(unsigned reg, void *mem)
{
	uint32_t lo = 0, hi = 0, ecx = 0;
	uint64_t ac = 0;
	const void *src = NULL;

	switch (reg) {
		REG_CASES("movdqu %%xmm", ", (%[m])")
	}
}

HW_NOVEC static void hw_read_ymm(unsigned reg, void *mem)
{
	uint32_t lo = 0, hi = 0, ecx = 0;
	uint64_t ac = 0;
	const void *src = NULL;

	switch (reg) {
		REG_CASES("vmovdqu %%ymm", ", (%[m])")
	}
}

/* One instruction. Returns the signal it raised (0 if none). */
HW_NOVEC static void hw_step(struct xs_hw_op *op)
{
	uint32_t lo = (uint32_t)op->mask, hi = (uint32_t)(op->mask >> 32), ecx = op->ecx;
	uint64_t ac = op->ac ? EFLAGS_AC : 0;
	void *mem = op->mem;
	const void *src = op->src;

	switch (op->kind) {
	case XS_HW_XSAVE:
		HW_ASM("xsave64 (%[m])");
		break;
	case XS_HW_XSAVEOPT:
		HW_ASM("xsaveopt64 (%[m])");
		break;
	case XS_HW_XSAVEC:
		HW_ASM("xsavec64 (%[m])");
		break;
	case XS_HW_XSAVES:
		HW_ASM("xsaves64 (%[m])");
		break;
	case XS_HW_XRSTOR:
		HW_ASM("xrstor64 (%[m])");
		break;
	case XS_HW_XRSTORS:
		HW_ASM("xrstors64 (%[m])");
		break;
	case XS_HW_FXSAVE:
		HW_ASM("fxsave64 (%[m])");
		break;
	case XS_HW_FXRSTOR:
		HW_ASM("fxrstor64 (%[m])");
		break;
	case XS_HW_XGETBV:
		HW_ASM("xgetbv");
		op->out = (uint64_t)hi << 32 | lo;
		break;
	case XS_HW_XSETBV:
		HW_ASM("xsetbv");
		break;
	case XS_HW_LDMXCSR:
		HW_ASM("ldmxcsr (%[s])");
		break;
	case XS_HW_STMXCSR:
		HW_ASM("stmxcsr (%[m])");
		break;
	case XS_HW_FNINIT:
		HW_ASM("fninit");
		break;
	case XS_HW_VZEROUPPER:
		HW_ASM("vzeroupper");
		break;
	case XS_HW_WRITE_XMM:
		hw_write_xmm(op->reg, src);
		break;
	case XS_HW_WRITE_YMM:
		hw_write_ymm(op->reg, src);
		break;
	case XS_HW_READ_XMM:
		hw_read_xmm(op->reg, mem);
		break;
	case XS_HW_READ_YMM:
		hw_read_ymm(op->reg, mem);
		break;
	case XS_HW_COPY: {
		void *d = mem;
		const void *s = src;
		size_t n = op->len;

		__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
		break;
	}
	default:
		break;
	}
}

HW_NOVEC static void hw_exec(struct xs_hw_op *ops, size_t n, size_t epilogue,
			     struct xs_hw_outcome *res)
{
	uint32_t mxcsr;
	uint16_t fcw;
	bool faulted = false;

	__asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fcw));
	for (size_t i = 0; i < n; i++) {
		if (faulted && i < epilogue)
			continue;
		hw_trap.signo = 0;
		hw_step(&ops[i]);
		hw_trap.fixup = 0;
		if (!hw_trap.signo)
			continue;
		if (i >= epilogue) {
			if (res->epi_fault == XS_OK)
				res->epi_fault = hw_fault_of(hw_trap.signo, hw_trap.code);
		} else if (!faulted) {
			faulted = true;
			res->fault_op = i;
			res->signo = hw_trap.signo;
			res->si_code = hw_trap.code;
			res->fault = hw_fault_of(hw_trap.signo, hw_trap.code);
		}
	}
	/* Give the caller the ABI's x87/SSE environment back: empty x87
	 * stack, its control word and MXCSR. */
	__asm__ volatile("fninit\n\tfldcw %0\n\tldmxcsr %1" : : "m"(fcw), "m"(mxcsr));
}

int xs_hw_run(struct xs_hw_op *ops, size_t n, size_t epilogue, struct xs_hw_outcome *out)
{
	const struct xs_host *h = xs_host_get();

	memset(out, 0, sizeof(*out));
	if (!h || hw_install() != 0)
		return -1;
	hw_exec(ops, n, epilogue, out);
	if (h->avx)
		__asm__ volatile("vzeroupper");
	return 0;
}

uint32_t xs_host_mxcsr_mask(void)
{
	static uint8_t area[512] __attribute__((aligned(64)));
	struct xs_hw_op op;
	struct xs_hw_outcome o;
	uint32_t mask;

	memset(&op, 0, sizeof(op));
	memset(area, 0, sizeof(area));
	op.kind = XS_HW_FXSAVE;
	op.mem = area;
	if (xs_hw_run(&op, 1, 1, &o) != 0 || o.fault)
		return 0xFFBFu;
	memcpy(&mask, area + 28, sizeof(mask));
	/* 0 means the default mask (SDM Vol. 1 11.6.6). */
	return mask ? mask : 0xFFBFu;
}

/* ---- timing: XSAVEC (or XSAVE) + XRSTOR round trips ---- */

HW_NOVEC static void hw_roundtrips(void *buf, uint64_t mask, bool compacted, uint64_t iters)
{
	uint32_t lo = (uint32_t)mask, hi = (uint32_t)(mask >> 32), mxcsr;
	uint16_t fcw;

	__asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fcw));
	__asm__ volatile("xrstor64 (%0)" : : "r"(buf), "a"(lo), "d"(hi) : "memory");
	if (compacted) {
		for (uint64_t i = 0; i < iters; i++)
			__asm__ volatile("xsavec64 (%0)\n\txrstor64 (%0)"
					 : : "r"(buf), "a"(lo), "d"(hi) : "memory");
	} else {
		for (uint64_t i = 0; i < iters; i++)
			__asm__ volatile("xsave64 (%0)\n\txrstor64 (%0)"
					 : : "r"(buf), "a"(lo), "d"(hi) : "memory");
	}
	__asm__ volatile("fninit\n\tfldcw %0\n\tldmxcsr %1" : : "m"(fcw), "m"(mxcsr));
}

int xs_hw_roundtrip(void *buf, uint64_t mask, bool compacted, uint64_t iters)
{
	const struct xs_host *h = xs_host_get();
	struct xs_hw_op ops[2];
	struct xs_hw_outcome o;

	if (!h || (compacted && !h->xsavec))
		return -1;
	/* One checked trip first: the timed loop has no fault handling. */
	memset(ops, 0, sizeof(ops));
	ops[0].kind = XS_HW_XRSTOR;
	ops[0].mem = buf;
	ops[0].mask = mask;
	ops[1].kind = compacted ? XS_HW_XSAVEC : XS_HW_XSAVE;
	ops[1].mem = buf;
	ops[1].mask = mask;
	if (xs_hw_run(ops, 2, 2, &o) != 0 || o.fault)
		return -1;
	hw_roundtrips(buf, mask, compacted, iters);
	if (h->avx)
		__asm__ volatile("vzeroupper");
	return 0;
}
