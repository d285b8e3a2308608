/* The simulated kernel as a conformance target (struct xo_ktarget): the
 * kernel manager of src/kernel/ on a simulated machine (src/sim/) booted on
 * a CPU model -- normally the model of this host, so that its answers can
 * be compared field by field with the host kernel's (ktarget_host.c).
 *
 * Every task program runs on a freshly booted machine (2 CPUs by default)
 * in a freshly spawned task, so runs are independent and deterministic.
 * Each operation goes through the same kernel entry points a real task's
 * would, in the order a real kernel executes them:
 *
 *   task instructions   LOAD_XSTATE / SAVE_XSTATE are the user XRSTOR /
 *                       XSAVE the host child executes, run on the model CPU
 *                       the task is on; a fault goes to the kernel's fault
 *                       handler (fixed up and retried, or a signal);
 *   system calls        enter the kernel on the task's CPU, call the kernel
 *                       manager (xk_arch_prctl, xk_sigaltstack, ...), return
 *                       to user mode through the exit-to-user path;
 *   SIGNAL              tgkill: SIGUSR1 is delivered on the way out of the
 *                       system call (xk_signal_deliver: the frame is XSAVEd
 *                       into the task's simulated user memory); the handler
 *                       runs in user mode on init state, saves it, copies
 *                       and tampers with the frame bytes in user memory,
 *                       loads the clobber image, and returns through
 *                       rt_sigreturn (xk_sigreturn at sp = frame + 8);
 *   tracer operations   a ptrace stop: the tracee traps into the kernel and
 *                       is scheduled out (its registers are saved), a
 *                       tracer task runs on the other CPU and uses its own
 *                       vector registers, the regset calls read and write
 *                       the stopped tracee's buffer (xk_ptrace_regset), and
 *                       the tracee resumes on its CPU.
 *
 * The machine's shadow check stays on: after every operation the registers
 * of every running task must equal what that task's own instructions and
 * the kernel's documented changes made them (sim.h). Signal delivery sets
 * the shadow to init (as fpu__clear_user_states() must); after a sigreturn
 * or a ptrace write the shadow takes the task's registers as the kernel
 * left them -- whether that state is right is what the comparison with the
 * host judges -- so the check still catches any value leaking in from the
 * tracer or from a stale CPU later.
 *
 * Results are classified exactly as the host backend classifies them (the
 * same frame_len rule, the same geometry fields, the same call results),
 * so the probes' result lists compare field by field. Operations the
 * simulated kernel has no interface for report XO_KST_UNSUPPORTED.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xstate/kconform.h"
#include "xstate/kernel_abi.h"
#include "xstate/kernel_fsgs.h"
#include "xstate/segment.h"
#include "xstate/sim.h"

/* The task's address space (simulated user memory, kernel_abi.h). */
#define U_STACK_TOP 0x00007ffffff00000ULL
#define U_STACK_SIZE (256u * 1024u)
/* The task's stack pointer at its system calls (as in a call chain: not
 * 16-byte aligned, well inside the stack). */
#define U_SP (U_STACK_TOP - 0x3000u - 0x38u)
#define U_DATA 0x0000000000600000ULL /* .data: the u64 an ARCH_GET_* call fills */
#define U_ALT_AREA 0x00007f0000000000ULL
#define U_HANDLER 0x401100u
#define U_RESTORER 0x401000u
#define PAGE 4096u

/* si_code of a signal sent by tgkill (include/uapi/asm-generic/siginfo.h). */
#define SI_TKILL (-6)

#define DEFAULT_CPUS 2u
#define END 1 /* an operation ended the run (fatal signal or kill) */

struct simk {
	struct xs_model model;
	unsigned ncpus;
	struct xk_policy policy;
	FILE *trace;
	int trace_level;
	bool have_info;
	struct xo_kinfo info;
	unsigned runs;
};

/* One task program on one machine. */
struct srun {
	struct simk *sk;
	const struct xo_kprog *p;
	struct xo_krun *r;
	const struct xo_kinfo *info;
	struct sim_machine *m;
	struct sim_trace tr;
	struct sim_task *t, *tracer;
	unsigned home;          /* the tracee's CPU */
	struct xk_umem mm;
	uint64_t sp;            /* user stack pointer at the next system call */
	uint64_t alt_base, alt_top, alt_next;
	uint8_t *img;           /* 64-byte aligned XO_KIMG_MAX scratch images */
	uint8_t *img2;
};

/* ---- Failures ---- */

static int backend_error(struct srun *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The run failed: the reason (truncated to the run's error field). */
static int backend_error(struct srun *x, const char *fmt, ...)
{
	va_list ap;

	x->r->end = XO_KEND_ERROR;
	va_start(ap, fmt);
	vsnprintf(x->r->error, sizeof(x->r->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* A step the machine refused (SIM_ERROR) or a check that failed (SIM_FAIL:
 * a kernel bug the shadow caught). */
static int sim_bad(struct srun *x, int rc, const char *what)
{
	if (rc == SIM_FAIL)
		return backend_error(x, "%s: check failed: %s", what, x->m->fail);
	return backend_error(x, "%s: %s", what, x->m->err);
}

#define SIMCALL(x, call, what)                          \
	do {                                            \
		int rc_ = (call);                       \
		if (rc_ != SIM_OK)                      \
			return sim_bad((x), rc_, (what)); \
	} while (0)

/* ---- Machine and task ---- */

static int srun_start(struct srun *x, struct simk *sk, const struct xo_kprog *p,
		      struct xo_krun *r, const struct xo_kinfo *info)
{
	char name[SIM_NAME_MAX];
	int rc;

	memset(x, 0, sizeof(*x));
	x->sk = sk;
	x->p = p;
	x->r = r;
	x->info = info;
	x->sp = U_SP;
	x->alt_next = U_ALT_AREA;
	xk_umem_init(&x->mm);
	x->img = aligned_alloc(64, XO_KIMG_MAX);
	x->img2 = aligned_alloc(64, XO_KIMG_MAX);
	if (!x->img || !x->img2)
		return backend_error(x, "out of memory");
	sim_trace_init(&x->tr, sk->trace, sk->trace ? sk->trace_level : 0);
	if (!sk->trace)
		x->tr.disabled = true; /* nothing to print: skip the kernel's event formatting */
	x->m = sim_machine_new(&x->tr);
	if (!x->m)
		return backend_error(x, "out of memory");
	if (sk->trace)
		fprintf(sk->trace, "# sim run %u\n", sk->runs);
	SIMCALL(x, sim_machine_boot(x->m, &sk->model, sk->ncpus, &sk->policy, 1), "boot");
	x->home = 0;
	snprintf(name, sizeof(name), "task%u", sk->runs % 100000u);
	rc = sim_spawn(x->m, name, NULL, x->home, &x->t);
	if (rc)
		return sim_bad(x, rc, "spawn task");
	/* The tracer exists from the start, as the parent does on the host;
	 * it runs on the other CPU (or waits for the tracee to stop). */
	if (p)
		SIMCALL(x, sim_spawn(x->m, "tracer", NULL, sk->ncpus > 1 ? 1 : 0, &x->tracer),
			"spawn tracer");
	if (xk_umem_map(&x->mm, U_STACK_TOP - U_STACK_SIZE, U_STACK_SIZE, "stack") ||
	    xk_umem_map(&x->mm, U_DATA, PAGE, "data"))
		return backend_error(x, "cannot map the task's memory");
	return 0;
}

static void srun_finish(struct srun *x)
{
	sim_machine_free(x->m);
	xk_umem_free(&x->mm);
	free(x->img);
	free(x->img2);
}

/* The task is in the kernel on its CPU (a system call or an exception). */
static int syscall_enter(struct srun *x, unsigned *cpu)
{
	SIMCALL(x, sim_ensure_user(x->m, x->t), "run task");
	*cpu = (unsigned)x->t->k->on_cpu;
	SIMCALL(x, sim_enter_kernel(x->m, *cpu), "system call");
	return 0;
}

static int syscall_exit(struct srun *x, unsigned cpu)
{
	SIMCALL(x, sim_return_to_user(x->m, cpu), "return to user mode");
	SIMCALL(x, sim_step_done(x->m, SIM_OK), "after the system call");
	return 0;
}

static int user_xinsn(struct srun *x, bool restore, uint8_t *buf, uint64_t mask);

/* The shadow takes the task's registers as the kernel left them (after a
 * sigreturn or a ptrace write: the probes judge that state against the
 * host). Read with an XSAVE in user mode, which also gets the registers
 * loaded first under the lazy policy (#NM). */
static int shadow_resync(struct srun *x)
{
	uint64_t mask = x->m->shadow_mask;
	struct xs_cpu *hw;
	int rc;

	memset(x->img2, 0, XO_KIMG_MAX);
	if ((rc = user_xinsn(x, false, x->img2, mask)))
		return rc;
	if (sim_shadow_load_image(x->m, x->t, x->img2, XO_KIMG_MAX, mask) != XS_OK)
		return backend_error(x, "shadow resync: the task's own image faults on its shadow");
	hw = sim_cpu_hw(x->m, (unsigned)x->t->k->on_cpu);
	if (x->m->model->feat.pku && (x->m->k.xcr0 & XS_BIT(XS_C_PKRU))) {
		uint32_t pkru = 0;

		if (xs_rdpkru(hw, &pkru) == XS_OK)
			sim_shadow_set_pkru(x->m, x->t, pkru);
	}
	return 0;
}

/* ---- Signals ---- */

/* Length of the FP area at fx worth copying: the host backend's rule. */
static uint32_t frame_len(const uint8_t *fx, const struct xo_kinfo *info)
{
	uint32_t m1 = xo_rd32(fx, XO_SW_MAGIC1), xs = xo_rd32(fx, XO_SW_XSTATE_SIZE);

	if (m1 == XO_FP_XSTATE_MAGIC1 && xs >= XO_HDR_END && xs <= info->xstate_size)
		return xs + 4;
	return 512;
}

/* The FP area of a frame, if readable (len bytes of it). */
static uint8_t *frame_fx(struct srun *x, uint64_t fpstate, uint32_t *len)
{
	uint8_t *fx = fpstate ? xk_umem_ptr(&x->mm, fpstate, 512) : NULL;

	if (!fx)
		return NULL;
	*len = frame_len(fx, x->info);
	return xk_umem_ptr(&x->mm, fpstate, *len) ? fx : NULL;
}

static int deliver(struct srun *x, unsigned cpu, int signo, int code, struct xk_sigframe *sf)
{
	/* sigaction(SA_SIGINFO | SA_ONSTACK), as the host child installs
	 * every handler; libc adds SA_RESTORER. */
	struct xk_sigaction act = { U_HANDLER, U_RESTORER,
				    XK_SA_SIGINFO | XK_SA_ONSTACK | XK_SA_RESTORER };
	struct xk_siginfo si = { signo, code, 0, 0 };

	return xk_signal_deliver(&x->m->k, cpu, &x->mm, x->sp, &act, &si, sf);
}

/* A fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE) for the task, in the
 * kernel on its CPU: the host child catches it on the alternate stack and
 * reports the state found in that signal's frame. A frame that cannot be
 * written kills the task (force_sigsegv). */
static int fatal_signal(struct srun *x, int signo, int code)
{
	struct xk_sigframe sf;
	unsigned cpu = (unsigned)x->t->k->on_cpu;
	uint32_t len;
	uint8_t *fx;

	if (x->m->k.cpu[cpu].user_mode)
		SIMCALL(x, sim_enter_kernel(x->m, cpu), "fatal signal");
	if (deliver(x, cpu, signo, code, &sf)) {
		x->r->end = XO_KEND_KILLED;
		x->r->signo = XK_SIGSEGV;
		return END;
	}
	x->r->end = XO_KEND_FATAL;
	x->r->signo = signo;
	x->r->code = code;
	fx = frame_fx(x, sf.fpstate, &len);
	if (fx) {
		memcpy(x->r->end_state, fx, len);
		x->r->end_state_valid = true;
	}
	return END;
}

/* ---- The shadow's FS and GS ----
 * The machine's "fsgs" check (src/sim/verbs_fsgs.c) compares the selectors
 * and bases a running task has with its shadow's, which follows the task's
 * own segment instructions and the kernel's documented changes (the
 * switch-in rule is applied by the machine itself). Instructions run on the
 * shadow with the task's descriptor tables and CR4.FSGSBASE loaded. */

struct seg_tables {
	uint64_t gdt[XK_GDT_ENTRIES];
	int cpl;
};

static void shadow_tables_on(struct srun *x, struct seg_tables *tb)
{
	struct sim_task *t = x->t;
	const uint64_t *ldt;
	unsigned n;

	xk_fsgs_task_gdt(&x->m->k, t->k, t->cpu < x->m->ncpus ? t->cpu : 0, tb->gdt);
	ldt = xk_fsgs_task_ldt(t->k, &n);
	tb->cpl = xs_cpl(t->shadow);
	xs_set_cpl(t->shadow, 0);
	xs_lgdt(t->shadow, tb->gdt, XK_GDT_ENTRIES);
	xs_lldt(t->shadow, ldt, n);
	xs_set_cr4_fsgsbase(t->shadow, x->m->k.fsgsbase);
	xs_set_cpl(t->shadow, tb->cpl);
}

static void shadow_tables_off(struct srun *x, const struct seg_tables *tb)
{
	xs_set_cpl(x->t->shadow, 0);
	xs_lgdt(x->t->shadow, NULL, 0);
	xs_lldt(x->t->shadow, NULL, 0);
	xs_set_cpl(x->t->shadow, tb->cpl);
}

static uint64_t shadow_base(struct srun *x, enum xs_seg s)
{
	struct xs_seg_view v;

	xs_seg_peek(x->t->shadow, &v);
	return s == XS_SEG_FS ? v.fs_base : v.gs_base;
}

/* The kernel sets a base for the task (the shadow is never in the kernel:
 * its GS base is the user's). */
static void shadow_set_base(struct srun *x, enum xs_seg s, uint64_t v)
{
	int cpl = xs_cpl(x->t->shadow);

	xs_set_cpl(x->t->shadow, 0);
	xs_seg_wrmsr(x->t->shadow, s == XS_SEG_FS ? XS_MSR_FS_BASE : XS_MSR_GS_BASE, v);
	xs_set_cpl(x->t->shadow, cpl);
}

/* A tracer's selector write: the selector the next switch-in loads
 * (loadsegment()'s fixup: 0 if it does not load; load_gs_index()'s
 * __USER_DS step on X86_BUG_NULL_SEG CPUs), the base kept. */
static void shadow_poke_selector(struct srun *x, enum xs_seg s, uint16_t sel)
{
	uint64_t base = shadow_base(x, s);
	struct seg_tables tb;

	shadow_tables_on(x, &tb);
	if (xs_mov_to_seg(x->t->shadow, s, sel) != XS_OK) {
		if (s == XS_SEG_GS && x->m->k.null_seg_bug)
			xs_mov_to_seg(x->t->shadow, s, XK_SEL_USER_DS);
		xs_mov_to_seg(x->t->shadow, s, 0);
	}
	shadow_tables_off(x, &tb);
	shadow_set_base(x, s, base);
}

/* ---- User instructions ---- */

/* One instruction of the task's user code, as the host child executes it. */
enum uop { U_XRSTOR, U_XSAVE, U_MOV_SEG, U_RDBASE, U_WRBASE };

struct uinsn {
	enum uop op;
	uint8_t *buf;     /* XRSTOR/XSAVE: XO_KIMG_MAX bytes, 64-byte aligned */
	uint64_t mask;    /* XRSTOR/XSAVE: EDX:EAX */
	enum xs_seg seg;  /* MOV Sreg, RD/WR*BASE */
	uint64_t val;     /* MOV: the selector; WRBASE: the base; RDBASE: result */
};

static enum xs_fault uinsn_exec(struct xs_cpu *hw, struct uinsn *u)
{
	switch (u->op) {
	case U_XRSTOR:
		return xs_xrstor(hw, u->buf, XO_KIMG_MAX, u->mask);
	case U_XSAVE:
		return xs_xsave(hw, u->buf, XO_KIMG_MAX, u->mask);
	case U_MOV_SEG:
		return xs_mov_to_seg(hw, u->seg, (uint16_t)u->val);
	case U_RDBASE:
		return xs_rdsegbase(hw, u->seg, &u->val);
	case U_WRBASE:
		return xs_wrsegbase(hw, u->seg, u->val);
	}
	return XS_UD;
}

/* Execute u in user mode on the task's CPU. A fault goes to the kernel:
 * fixed up -> retried, else the fatal-signal path (END). */
static int user_insn(struct srun *x, struct uinsn *u)
{
	for (int attempt = 0;; attempt++) {
		struct xk_fault_result fr;
		enum xs_fault f;
		unsigned cpu;

		SIMCALL(x, sim_ensure_user(x->m, x->t), "run task");
		cpu = (unsigned)x->t->k->on_cpu;
		f = uinsn_exec(sim_cpu_hw(x->m, cpu), u);
		if (f == XS_OK)
			break;
		if (attempt >= 4)
			return backend_error(x, "a user instruction keeps faulting %s after fix-ups",
					     xs_fault_name(f));
		fr = xk_handle_fault(&x->m->k, cpu, f);
		if (fr.action == XK_FA_RETRY)
			continue;
		if (fr.action == XK_FA_OOPS)
			return backend_error(x, "kernel oops on a user fault: %s",
					     fr.why ? fr.why : "?");
		return fatal_signal(x, fr.signo, fr.si_code);
	}
	/* The same instruction on the task's shadow. */
	if (u->op == U_XRSTOR &&
	    sim_shadow_load_image(x->m, x->t, u->buf, XO_KIMG_MAX, u->mask) != XS_OK)
		return backend_error(x, "the task's XRSTOR faults on its shadow");
	if (u->op == U_MOV_SEG || u->op == U_RDBASE || u->op == U_WRBASE) {
		struct uinsn su = *u;
		struct seg_tables tb;
		enum xs_fault f;

		shadow_tables_on(x, &tb);
		f = uinsn_exec(x->t->shadow, &su);
		shadow_tables_off(x, &tb);
		if (f != XS_OK)
			return backend_error(x, "a segment instruction succeeded on the CPU but "
					     "faults %s on the task's shadow", xs_fault_name(f));
		if (u->op == U_RDBASE && su.val != u->val)
			return backend_error(x, "fsgs check: RD%sBASE read 0x%llx, the task's own "
					     "value is 0x%llx", u->seg == XS_SEG_FS ? "FS" : "GS",
					     (unsigned long long)u->val, (unsigned long long)su.val);
	}
	return 0;
}

/* XRSTOR (restore) or XSAVE of buf with mask by the task in user mode. */
static int user_xinsn(struct srun *x, bool restore, uint8_t *buf, uint64_t mask)
{
	struct uinsn u = { restore ? U_XRSTOR : U_XSAVE, buf, mask, XS_SEG_FS, 0 };

	return user_insn(x, &u);
}

/* Load an image into the registers (RFBM = mask & state_mask). */
static int load_image(struct srun *x, const uint8_t *data, uint64_t mask)
{
	memset(x->img, 0, XO_KIMG_MAX);
	if (data)
		memcpy(x->img, data, x->info->xstate_size);
	return user_xinsn(x, true, x->img, mask & x->info->state_mask);
}

/* XSAVE of the registers (RFBM = state_mask), xstate_size bytes into out. */
static int save_image(struct srun *x, uint8_t *out)
{
	int rc;

	memset(x->img, 0, XO_KIMG_MAX);
	rc = user_xinsn(x, false, x->img, x->info->state_mask);
	if (!rc)
		memcpy(out, x->img, x->info->xstate_size);
	return rc;
}

/* ---- Task operations ---- */

static void set_call(struct xo_kopres *res, long ret)
{
	res->ret = ret < 0 ? -1 : ret;
	res->err = ret < 0 ? (int)-ret : 0;
}

static bool is_fsgs_code(uint64_t code)
{
	return code >= XO_ARCH_SET_GS && code <= XO_ARCH_GET_GS;
}

static int op_auxv(struct srun *x, const struct xo_kop *op, struct xo_kopres *res)
{
	switch (op->a) {
	case XO_AT_MINSIGSTKSZ:
		/* create_elf_tables(): ARCH_DLINFO, get_sigframe_size() */
		res->val = xk_at_minsigstksz(&x->m->k);
		break;
	case XO_AT_HWCAP2:
		/* ELF_HWCAP2: HWCAP2_FSGSBASE once CR4.FSGSBASE is on (cpu/common.c) */
		res->val = x->m->k.fsgsbase ? XO_HWCAP2_FSGSBASE : 0;
		break;
	default:
		res->ret = -1;
		res->err = ENOENT;
		break;
	}
	return 0;
}

/* do_arch_prctl_64(): FS/GS bases; a GET stores the base with put_user(). */
static long arch_prctl_fsgs(struct srun *x, const struct xo_kop *op, uint64_t arg)
{
	uint64_t base = 0;
	long ret = xk_fsgs_arch_prctl(&x->m->k, x->t->k, (int)op->a, arg, &base);

	if (!ret && (op->a == XO_ARCH_GET_FS || op->a == XO_ARCH_GET_GS) &&
	    xk_copy_to_user(&x->mm, arg, &base, sizeof(base)))
		ret = -EFAULT;
	return ret;
}

static int op_arch_prctl(struct srun *x, const struct xo_kop *op, struct xo_kopres *res)
{
	uint64_t arg = op->b, zero = 0;
	unsigned cpu = 0;
	long ret;
	int rc;

	if (op->argk == XO_KARG_OUT) {
		arg = U_DATA;
		xk_copy_to_user(&x->mm, U_DATA, &zero, sizeof(zero));
	}
	if ((rc = syscall_enter(x, &cpu)))
		return rc;
	/* arch_prctl(): do_arch_prctl_64() first, then do_arch_prctl_common() */
	if (is_fsgs_code(op->a)) {
		ret = arch_prctl_fsgs(x, op, arg);
		if (!ret) /* selector 0 and the new base, for the task's shadow */
			sim_fsgs_arch_prctl(x->m, x->t, (int)op->a, arg);
	} else
		ret = xk_arch_prctl(&x->m->k, x->t->k, &x->mm, (int)op->a, arg);
	set_call(res, ret);
	if (op->argk == XO_KARG_OUT)
		xk_copy_from_user(&x->mm, &res->val, U_DATA, sizeof(res->val));
	return syscall_exit(x, cpu);
}

static int op_sigaltstack(struct srun *x, const struct xo_kop *op, struct xo_kopres *res)
{
	struct xk_stack ss = { 0, 0, XK_SS_DISABLE };
	unsigned cpu;
	int ret, rc;

	if (op->a) {
		/* mmap: a fresh page-aligned stack, filled, with slack above. */
		uint64_t len = (op->a + PAGE - 1) / PAGE * PAGE + XO_KSTACK_SLACK;
		uint64_t base = x->alt_next;
		uint8_t *bytes;

		if (op->a > (1ULL << 32) || xk_umem_map(&x->mm, base, len, "altstack")) {
			res->ret = -1;
			res->err = ENOMEM;
			return 0;
		}
		x->alt_next = base + len + PAGE; /* a guard page between mappings */
		bytes = xk_umem_ptr(&x->mm, base, len);
		memset(bytes, XO_KSTACK_FILL, len);
		ss = (struct xk_stack){ base, op->a, 0 };
	}
	if ((rc = syscall_enter(x, &cpu)))
		return rc;
	ret = xk_sigaltstack(&x->m->k, x->t->k, x->sp, &ss, NULL);
	set_call(res, ret);
	if (!ret) {
		x->alt_base = op->a ? ss.sp : 0;
		x->alt_top = op->a ? ss.sp + op->a : 0;
	}
	return syscall_exit(x, cpu);
}

/* The handler's view of its frame: geometry, sigcontext, the FP area. */
static void handler_entry(struct srun *x, const struct xk_sigframe *sf, struct xo_ksigres *s)
{
	const uint8_t *f = xk_umem_ptr(&x->mm, sf->frame, XK_RT_SIGFRAME_SIZE);
	uint64_t hsp = sf->frame; /* rsp at the handler's first instruction */
	uint64_t fpstate;
	uint32_t len;
	uint8_t *fx;

	if (!f)
		return;
	s->uc_flags = xo_rd64(f, XK_RTF_UC_FLAGS);
	s->sc_gs = xo_rd16(f, XK_RTF_CS + 2); /* u16 cs, gs, fs, ss */
	s->sc_fs = xo_rd16(f, XK_RTF_CS + 4);
	fpstate = xo_rd64(f, XK_RTF_FPSTATE);
	fx = frame_fx(x, fpstate, &len);
	if (!fx)
		return;
	s->fpregs_mod64 = (uint32_t)(fpstate % 64);
	s->frame_len = len;
	memcpy(s->frame, fx, len);
	if (x->alt_top && hsp >= x->alt_base && hsp < x->alt_top) {
		s->on_altstack = true;
		s->top_minus_fpregs = (uint32_t)(x->alt_top - fpstate);
		s->top_minus_sp = (uint32_t)(x->alt_top - hsp);
		s->uc_minus_sp = (uint32_t)(sf->frame + XK_RTF_UC_FLAGS - hsp);
		s->info_minus_sp = (uint32_t)(sf->frame + XK_RTF_INFO - hsp);
	} else {
		/* The kernel skips the 128-byte red zone below the interrupted sp. */
		s->redzone_ok = fpstate + len <= x->sp - XK_RED_ZONE;
	}
}

/* The tamper function edits the frame bytes in the task's memory; the
 * fpregs pointer lives in the frame's sigcontext. */
static void handler_tamper(struct srun *x, const struct xk_sigframe *sf, const struct xo_kop *op,
			   struct xo_ksigres *s)
{
	uint8_t *f = xk_umem_ptr(&x->mm, sf->frame, XK_RT_SIGFRAME_SIZE);
	uint64_t fpstate = f ? xo_rd64(f, XK_RTF_FPSTATE) : 0;
	uint8_t *fx = fpstate ? xk_umem_ptr(&x->mm, fpstate, 0) : NULL;

	if (!f || !fx || !s->frame_len)
		return;
	if (op->sig.tamper) {
		struct xo_kframe_edit e;
		uint64_t cap = s->on_altstack ? x->alt_top + XO_KSTACK_SLACK - fpstate
					      : (uint64_t)s->frame_len + 64;
		uint64_t avail = xk_umem_avail(&x->mm, fpstate);

		memset(&e, 0, sizeof(e));
		e.fx = fx;
		e.len = s->frame_len;
		e.cap = (uint32_t)(cap < avail ? cap : avail);
		e.info = x->info;
		e.arg = op->sig.tamper_arg;
		op->sig.tamper(&e);
		if (e.fpregs_null)
			fpstate = 0;
		else
			fpstate += (uint64_t)(int64_t)e.fpregs_delta;
		xo_wr64(f, XK_RTF_FPSTATE, fpstate);
	}
	fx = fpstate ? xk_umem_ptr(&x->mm, fpstate, s->frame_len) : NULL;
	if (fx)
		memcpy(s->tampered, fx, s->frame_len);
}

/* The handler reads its selectors, and its bases with FSGSBASE. */
static int handler_segments(struct srun *x, struct xo_ksigres *s)
{
	struct uinsn u = { U_RDBASE, NULL, 0, XS_SEG_FS, 0 };
	struct xs_cpu *hw = sim_cpu_hw(x->m, (unsigned)x->t->k->on_cpu);
	int rc;

	s->h_fs = xs_mov_from_seg(hw, XS_SEG_FS);
	s->h_gs = xs_mov_from_seg(hw, XS_SEG_GS);
	if (!x->info->fsgsbase)
		return 0;
	if ((rc = user_insn(x, &u)))
		return rc;
	s->h_fsbase = u.val;
	u.seg = XS_SEG_GS;
	if ((rc = user_insn(x, &u)))
		return rc;
	s->h_gsbase = u.val;
	s->h_bases = true;
	return 0;
}

static int op_signal(struct srun *x, const struct xo_kop *op, struct xo_kopres *res)
{
	struct xo_krun *r = x->r;
	struct xk_sigreturn_result sr;
	struct xk_sigframe sf;
	struct xo_ksigres *s;
	unsigned cpu;
	int rc;

	if (r->nsig >= XO_KMAXSIG) {
		res->status = XO_KST_UNSUPPORTED;
		return 0;
	}
	res->val = r->nsig;
	s = &r->sig[r->nsig++];
	/* tgkill(getpid(), gettid(), SIGUSR1): the signal is pending when the
	 * system call returns and is delivered on the way out. */
	if ((rc = syscall_enter(x, &cpu)))
		return rc;
	if (deliver(x, cpu, XK_SIGUSR1, SI_TKILL, &sf))
		return fatal_signal(x, XK_SIGSEGV, XK_SI_KERNEL); /* force_sigsegv() */
	/* fpu__clear_user_states(): the handler starts on init state. */
	sim_shadow_init(x->m, x->t, x->m->shadow_mask);
	SIMCALL(x, sim_return_to_user(x->m, cpu), "enter the handler");
	if (x->m->model->feat.pku)
		sim_shadow_set_pkru(x->m, x->t, XK_PKRU_INIT_DEFAULT);
	SIMCALL(x, sim_step_done(x->m, SIM_OK), "handler entry");
	s->delivered = true;
	s->signo = XK_SIGUSR1;
	s->code = SI_TKILL;
	if ((rc = save_image(x, s->entry)))
		return rc;
	if ((rc = handler_segments(x, s)))
		return rc;
	handler_entry(x, &sf, s);
	handler_tamper(x, &sf, op, s);
	if (op->sig.clobber && (rc = load_image(x, op->sig.clobber, ~0ULL)))
		return rc;
	/* ret -> the restorer -> rt_sigreturn, with sp just above pretcode */
	if ((rc = syscall_enter(x, &cpu)))
		return rc;
	if (xk_sigreturn(&x->m->k, cpu, &x->mm, sf.frame + 8, &sr)) {
		x->sp = sr.sp;
		return fatal_signal(x, sr.signo ? sr.signo : XK_SIGSEGV, XK_SI_KERNEL);
	}
	x->sp = sr.sp;
	SIMCALL(x, sim_return_to_user(x->m, cpu), "return from the handler");
	if ((rc = shadow_resync(x)))
		return rc;
	SIMCALL(x, sim_step_done(x->m, SIM_OK), "after sigreturn");
	s->returned = true;
	return 0;
}

/* Selector and base instructions of the task (FS and GS; the model has
 * no SS). */
static int seg_op(struct srun *x, const struct xo_kop *op, struct xo_kopres *res)
{
	enum xs_seg seg = op->a == XO_KSEG_FS ? XS_SEG_FS : XS_SEG_GS;
	struct uinsn u = { U_MOV_SEG, NULL, 0, seg, op->b };
	int rc;

	if (op->a != XO_KSEG_FS && op->a != XO_KSEG_GS) {
		res->status = XO_KST_UNSUPPORTED; /* SS is not modelled */
		return 0;
	}
	switch (op->kind) {
	case XO_KOP_SEL_READ:
		SIMCALL(x, sim_ensure_user(x->m, x->t), "run task");
		res->val = xs_mov_from_seg(sim_cpu_hw(x->m, (unsigned)x->t->k->on_cpu), seg);
		return 0;
	case XO_KOP_SEL_LOAD:
		/* mov b -> %gs, then mov %gs -> val in the same breath */
		if ((rc = user_insn(x, &u)))
			return rc;
		res->val = xs_mov_from_seg(sim_cpu_hw(x->m, (unsigned)x->t->k->on_cpu), seg);
		return 0;
	default:
		/* RD/WR{FS,GS}BASE: the host backend only runs them with FSGSBASE */
		if (!x->info->fsgsbase) {
			res->status = XO_KST_UNSUPPORTED;
			return 0;
		}
		u.op = op->kind == XO_KOP_BASE_READ ? U_RDBASE : U_WRBASE;
		if ((rc = user_insn(x, &u)))
			return rc;
		if (op->kind == XO_KOP_BASE_READ)
			res->val = u.val;
		return 0;
	}
}

static int task_op(struct srun *x, const struct xo_kop *op, struct xo_kopres *res)
{
	int rc;

	res->status = XO_KST_DONE;
	switch (op->kind) {
	case XO_KOP_AUXV:
		return op_auxv(x, op, res);
	case XO_KOP_ARCH_PRCTL:
		return op_arch_prctl(x, op, res);
	case XO_KOP_SIGALTSTACK:
		return op_sigaltstack(x, op, res);
	case XO_KOP_LOAD_XSTATE:
		if ((rc = load_image(x, op->data, op->b)))
			return rc;
		SIMCALL(x, sim_step_done(x->m, SIM_OK), "after XRSTOR");
		return 0;
	case XO_KOP_SAVE_XSTATE:
		res->len = x->info->xstate_size;
		return save_image(x, res->img);
	case XO_KOP_SIGNAL:
		return op_signal(x, op, res);
	case XO_KOP_SEL_READ:
	case XO_KOP_SEL_LOAD:
	case XO_KOP_BASE_READ:
	case XO_KOP_BASE_WRITE:
		return seg_op(x, op, res);
	default:
		res->status = XO_KST_UNSUPPORTED;
		return 0;
	}
}

/* ---- Tracer operations ---- */

/* The tracee traps (INT3) and stops: it is scheduled out, which saves its
 * registers; the tracer, on the other CPU, uses its own vector registers
 * before its ptrace calls, as compiled code would. */
static int stop_begin(struct srun *x, unsigned *tracer_cpu)
{
	static const uint8_t mine[64] = { 0x74, 0x72, 0x61, 0x63, 0x65, 0x72 }; /* "tracer" */
	struct sim_machine *m = x->m;
	unsigned cpu;

	SIMCALL(x, sim_ensure_user(m, x->t), "run task");
	cpu = (unsigned)x->t->k->on_cpu;
	x->home = cpu;
	/* INT3: an exception entry, so the way back is IRET */
	if (xk_enter_kernel_trap(&m->k, cpu))
		return backend_error(x, "INT3: cpu%u is not in user mode", cpu);
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s: INT3 -> ptrace stop", cpu, x->t->name);
	SIMCALL(x, sim_switch(m, cpu, NULL), "stop the tracee");
	*tracer_cpu = x->tracer->cpu;
	if (x->tracer->k->on_cpu < 0)
		SIMCALL(x, sim_switch(m, *tracer_cpu, x->tracer), "run the tracer");
	SIMCALL(x, sim_user_write(m, x->tracer, "xmm0", mine), "tracer code");
	if (m->k.xcr0 & XS_BIT(XS_C_AVX))
		SIMCALL(x, sim_user_write(m, x->tracer, "ymm1", mine), "tracer code");
	SIMCALL(x, sim_enter_kernel(m, *tracer_cpu), "ptrace system call");
	return 0;
}

static int stop_end(struct srun *x, unsigned tracer_cpu, bool wrote)
{
	struct sim_machine *m = x->m;
	int rc;

	/* PTRACE_CONT: the tracer returns to user mode (or makes room on a
	 * single CPU), the tracee runs again where it stopped. */
	if (tracer_cpu == x->home)
		SIMCALL(x, sim_switch(m, tracer_cpu, NULL), "tracer sleeps");
	else
		SIMCALL(x, sim_return_to_user(m, tracer_cpu), "tracer returns");
	SIMCALL(x, sim_switch(m, x->home, x->t), "resume the tracee");
	SIMCALL(x, sim_return_to_user(m, x->home), "tracee returns to user mode");
	if (wrote && (rc = shadow_resync(x)))
		return rc;
	SIMCALL(x, sim_step_done(m, SIM_OK), "after the ptrace stop");
	return 0;
}

static int regset(struct srun *x, bool set, unsigned type, uint64_t want, const uint8_t *data,
		  struct xo_kopres *res)
{
	size_t len = want < XO_KIMG_MAX ? (size_t)want : XO_KIMG_MAX;
	int ret;

	memset(x->img, 0, XO_KIMG_MAX);
	if (set && data)
		memcpy(x->img, data, len);
	ret = xk_ptrace_regset(&x->m->k, x->t->k, set, type, x->img, &len);
	set_call(res, ret);
	res->len = (uint32_t)len;
	if (!set)
		memcpy(res->img, x->img, XO_KIMG_MAX);
	return ret;
}

static void tracer_op(struct srun *x, const struct xo_kop *op, struct xo_kopres *res, bool *wrote)
{
	res->status = XO_KST_DONE;
	switch (op->kind) {
	case XO_KOP_GETREGSET:
		regset(x, false, (unsigned)op->a, op->b, NULL, res);
		break;
	case XO_KOP_SETREGSET:
		*wrote |= regset(x, true, (unsigned)op->a, op->b, op->data, res) == 0;
		break;
	case XO_KOP_GETFPREGS:
		/* arch_ptrace(): copy_regset_to_user(REGSET_FP, 0, 512) */
		regset(x, false, XK_NT_PRFPREG, 512, NULL, res);
		res->len = 512;
		break;
	case XO_KOP_SETFPREGS:
		*wrote |= regset(x, true, XK_NT_PRFPREG, 512, op->data, res) == 0;
		break;
	case XO_KOP_PEEKUSER:
	case XO_KOP_POKEUSER: {
		static const enum xk_ureg ureg[] = {
			[XO_KUSR_FS_BASE] = XK_UREG_FS_BASE, [XO_KUSR_GS_BASE] = XK_UREG_GS_BASE,
			[XO_KUSR_FS] = XK_UREG_FS,           [XO_KUSR_GS] = XK_UREG_GS,
		};
		enum xk_ureg reg;
		int ret;

		if (op->a > XO_KUSR_GS) {
			res->status = XO_KST_UNSUPPORTED;
			break;
		}
		reg = ureg[op->a];
		if (op->kind == XO_KOP_PEEKUSER) {
			ret = xk_ptrace_peekuser(&x->m->k, x->t->k, reg, &res->val);
		} else {
			enum xs_seg s = reg == XK_UREG_FS || reg == XK_UREG_FS_BASE ? XS_SEG_FS
										 : XS_SEG_GS;

			ret = xk_ptrace_pokeuser(&x->m->k, x->t->k, reg, op->b);
			if (!ret && (reg == XK_UREG_FS_BASE || reg == XK_UREG_GS_BASE))
				shadow_set_base(x, s, op->b);
			else if (!ret)
				shadow_poke_selector(x, s, (uint16_t)op->b);
		}
		set_call(res, ret);
		break;
	}
	case XO_KOP_PTRACE_ARCH_PRCTL: {
		long ret = xk_ptrace_arch_prctl(&x->m->k, x->t->k, (int)op->a, op->b, &res->val);

		/* ARCH_SET_*: selector 0 and the base, as the task's own call. */
		if (!ret && (op->a == XO_ARCH_SET_FS || op->a == XO_ARCH_SET_GS)) {
			enum xs_seg s = op->a == XO_ARCH_SET_FS ? XS_SEG_FS : XS_SEG_GS;

			shadow_poke_selector(x, s, 0);
			shadow_set_base(x, s, op->b);
		}
		set_call(res, (int)ret);
		break;
	}
	default:
		res->status = XO_KST_UNSUPPORTED;
		break;
	}
}

/* ---- The target ---- */

static const char *op_name(enum xo_kop_kind k)
{
	static const char *const names[] = {
		[XO_KOP_AUXV] = "auxv",           [XO_KOP_ARCH_PRCTL] = "arch_prctl",
		[XO_KOP_SIGALTSTACK] = "sigaltstack", [XO_KOP_LOAD_XSTATE] = "load (XRSTOR)",
		[XO_KOP_SAVE_XSTATE] = "save (XSAVE)", [XO_KOP_SIGNAL] = "signal",
		[XO_KOP_SEL_READ] = "selector read", [XO_KOP_SEL_LOAD] = "selector load",
		[XO_KOP_BASE_READ] = "base read",  [XO_KOP_BASE_WRITE] = "base write",
		[XO_KOP_PEEKUSER] = "peekuser",    [XO_KOP_POKEUSER] = "pokeuser",
		[XO_KOP_GETREGSET] = "getregset",  [XO_KOP_SETREGSET] = "setregset",
		[XO_KOP_GETFPREGS] = "getfpregs",  [XO_KOP_SETFPREGS] = "setfpregs",
		[XO_KOP_PTRACE_ARCH_PRCTL] = "ptrace arch_prctl",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "?";
}

static int run_program(struct srun *x)
{
	const struct xo_kprog *p = x->p;

	for (unsigned i = 0; i < p->n;) {
		int rc;

		if (sim_tracing(x->m))
			sim_trace(x->m, SIM_TR_STEP, "op %u: %s a=0x%llx b=0x%llx", i,
				  op_name(p->op[i].kind), (unsigned long long)p->op[i].a,
				  (unsigned long long)p->op[i].b);

		if (xo_kop_is_tracer(p->op[i].kind)) {
			unsigned tcpu = 0;
			bool wrote = false;

			if ((rc = stop_begin(x, &tcpu)))
				return rc;
			for (; i < p->n && xo_kop_is_tracer(p->op[i].kind); i++)
				tracer_op(x, &p->op[i], &x->r->res[i], &wrote);
			if ((rc = stop_end(x, tcpu, wrote)))
				return rc;
			continue;
		}
		rc = task_op(x, &p->op[i], &x->r->res[i]);
		if (rc)
			return rc;
		i++;
	}
	x->r->end = XO_KEND_EXIT;
	/* exit_group(): the task's FPU state is dropped with it. */
	SIMCALL(x, sim_exit(x->m, x->t), "exit");
	return 0;
}

/* A kernel WARN during the run is a bug of the simulated kernel, whatever
 * the results say. */
static int check_warnings(struct srun *x, int rc)
{
	if (rc < 0 || !x->m || !x->m->k.stats.warnings)
		return rc;
	return backend_error(x, "kernel WARN: %s", x->m->k.last_warning);
}

static int simk_info(struct xo_ktarget *t, struct xo_kinfo *out)
{
	struct simk *sk = t->priv;
	struct xo_kinfo *in = &sk->info;
	const struct xs_model *model = &sk->model;
	struct xo_krun *r;
	struct srun x;
	int rc;

	if (sk->have_info) {
		*out = *in;
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	memset(in, 0, sizeof(*in));
	snprintf(in->target, sizeof(in->target), "sim");
	/* A machine booted for the purpose: XCR0 as this kernel sets it, and
	 * MXCSR_MASK as a task's XSAVE finds it. */
	rc = srun_start(&x, sk, NULL, r, in);
	if (!rc) {
		struct xk_kernel *k = &x.m->k;

		in->xsave = true;
		in->xcr0 = k->xcr0;
		/* PKRU is switched outside XRSTOR; AMX needs arch_prctl permission */
		in->state_mask = k->xcr0 & ~(XS_BIT(XS_C_PKRU) | XS_MASK_AMX);
		in->xstate_size = xs_size_standard(model, k->xcr0); /* CPUID.(0DH,0):EBX */
		in->comp_off[0] = 0;
		in->comp_size[0] = 160;
		in->comp_off[1] = 160;
		in->comp_size[1] = 256;
		for (unsigned c = 2; c < XO_KNFEAT; c++) {
			if (!(k->xcr0 >> c & 1))
				continue;
			in->comp_size[c] = model->comp[c].size;
			in->comp_off[c] = model->comp[c].offset;
		}
		in->ptrace = true;
		in->fsgsbase = k->fsgsbase; /* AT_HWCAP2 bit 1 */
		if (in->xstate_size + 64 > XO_KIMG_MAX)
			in->xsave = false;
		if (in->xsave && (rc = user_xinsn(&x, false, x.img, XS_MASK_FPSSE)) == 0) {
			in->mxcsr_mask = xo_rd32(x.img, XO_FX_MXCSR_MASK);
			if (!in->mxcsr_mask)
				in->mxcsr_mask = 0x0000FFBF; /* SDM 11.6.6: zero means the default */
		}
	}
	if (rc)
		fprintf(stderr, "xstate: simulated kernel: %s\n", r->error);
	srun_finish(&x);
	free(r);
	if (rc)
		return -1;
	sk->have_info = true;
	*out = *in;
	return 0;
}

static int simk_run(struct xo_ktarget *t, const struct xo_kprog *p, struct xo_krun *r)
{
	struct simk *sk = t->priv;
	struct xo_kinfo info;
	struct srun x;
	int rc;

	if (simk_info(t, &info) < 0 || !info.xsave) {
		r->end = XO_KEND_ERROR;
		snprintf(r->error, sizeof(r->error), "the simulated kernel runs tasks without XSAVE");
		return -1;
	}
	sk->runs++;
	rc = srun_start(&x, sk, p, r, &info);
	if (!rc)
		rc = run_program(&x);
	rc = check_warnings(&x, rc);
	srun_finish(&x);
	if (rc < 0) {
		r->end = XO_KEND_ERROR;
		return -1;
	}
	return 0;
}

static void simk_destroy(struct xo_ktarget *t)
{
	free(t->priv);
	free(t);
}

struct xo_ktarget *xo_ktarget_sim(const struct xo_ksim_opts *o, char *why, size_t whylen)
{
	struct xo_ktarget *t = calloc(1, sizeof(*t));
	struct simk *sk = calloc(1, sizeof(*sk));
	char err[256];

	if (!t || !sk) {
		free(t);
		free(sk);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	sk->model = *o->model;
	sk->ncpus = o->ncpus ? o->ncpus : DEFAULT_CPUS;
	xk_policy_default(&sk->policy);
	if (o->policy && xk_policy_parse(&sk->policy, o->policy, err, sizeof(err))) {
		snprintf(why, whylen, "policy: %s", err);
		free(t);
		free(sk);
		return NULL;
	}
	sk->trace = o->trace;
	sk->trace_level = o->trace_level;
	t->name = "sim";
	t->info = simk_info;
	t->run = simk_run;
	t->destroy = simk_destroy;
	t->priv = sk;
	return t;
}
