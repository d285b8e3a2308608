/* Scenario verbs for the user ABI of extended state (kernel_abi.h): AMX
 * permissions, signal frames and sigreturn, sigaltstack, ptrace regsets,
 * the allocation-failure knob and memory pressure.
 *
 * Signals. A handler is not a block of statements: delivering a signal
 * puts the task "in its handler", and every statement about the task from
 * then on is the handler's code, until `T sigreturn` returns from the
 * innermost frame (signals nest). The handler may read and tamper with its
 * frame (`T frame set|flip ...`, `expect frame T ...`) before returning.
 * Faults the kernel turns into signals (SIGILL, SIGSEGV ...) get a frame
 * too once the process installed a handler for them (`T sigaction SIG`);
 * otherwise they are only recorded (the simulator does not kill processes).
 *
 * User memory. Each process has a struct xk_umem; each thread a 512 KiB
 * stack in it (tops 2 MiB apart below 0x7ffffff00000) and, after its first
 * `sigaltstack`, a 1 MiB altstack area whose top SIZE bytes are the stack.
 * The machine records each task's user stack pointer: frames go below it.
 *
 * Checks. After every delivery the XSAVE image in the frame is compared,
 * component by component (the bytes sim_comp_ranges() names), with an XSAVE
 * of the task's shadow with the same mask ("frame" check); then the shadow
 * follows what the kernel did: user state to init for the handler, the
 * frame's image after a sigreturn, the tracee's exported state after a
 * ptrace write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/sim_internal.h"
#include "xstate/kernel_abi.h"

#define ABI_MAX_FRAMES 32
#define ABI_STACK_TOP 0x00007ffffff00000ULL
#define ABI_STACK_STRIDE 0x200000ULL
#define ABI_STACK_SIZE (512u * 1024u)
#define ABI_ALT_AREA 0x00007f0000000000ULL
#define ABI_ALT_STRIDE 0x1000000ULL
#define ABI_ALT_SIZE (1024u * 1024u)
#define ABI_HANDLER 0x401100u
#define ABI_RESTORER 0x401000u

struct abi_frame {
	uint64_t frame, fpstate;
	uint32_t xstate_size;
	uint64_t rfbm;
	int signo;
	bool altstack;
};

struct abi_task {
	bool init;
	uint64_t sp;
	uint64_t stack_base, alt_base;
	struct abi_frame frames[ABI_MAX_FRAMES];
	unsigned nframes;
	bool have_rc;
	long rc;               /* last ABI call: 0 or -errno */
	bool have_value;
	uint64_t value;        /* last arch_prctl GET value */
	uint8_t *regset;       /* the ptrace buffer */
	uint32_t regset_len;
	unsigned regset_type;
};

struct abi_proc {
	bool init;
	struct xk_umem mm;
	struct xk_sigaction act[65];
	uint64_t installed;    /* bit signo - 1 (sig_bit()): a handler is installed */
};

struct sim_abi {
	struct abi_task *t;
	unsigned nt;
	struct abi_proc *p;
	unsigned np;
	long alloc_fail;       /* 0 off, > 0 fail that many, < 0 always */
	bool have_harvest;
	unsigned harvested;
	uint64_t harvested_bytes;
};

static bool veto_alloc(void *ctx, const struct xk_task *t, size_t bytes);
static int deliver_fault_signal(struct sim_machine *m, struct sim_task *t, int signo, int code);

/* Signals 1-64 in a u64 (a shift by 64 would be undefined). */
static uint64_t sig_bit(int signo)
{
	return 1ULL << ((unsigned)(signo - 1) & 63);
}

static struct sim_abi *abi_of(struct sim_machine *m)
{
	if (!m->abi) {
		m->abi = calloc(1, sizeof(struct sim_abi));
		if (m->abi) {
			xk_set_alloc_fail(&m->k, veto_alloc, m);
			m->deliver_signal = deliver_fault_signal;
		}
	}
	return m->abi;
}

void sim_abi_free(struct sim_machine *m)
{
	struct sim_abi *a = m->abi;

	if (!a)
		return;
	for (unsigned i = 0; i < a->nt; i++)
		free(a->t[i].regset);
	for (unsigned i = 0; i < a->np; i++)
		xk_umem_free(&a->p[i].mm);
	free(a->t);
	free(a->p);
	free(a);
	m->abi = NULL;
}

static bool grow(void **arr, unsigned *n, unsigned want, size_t elem)
{
	void *na;

	if (want <= *n)
		return true;
	na = realloc(*arr, want * elem);
	if (!na)
		return false;
	memset((char *)na + *n * elem, 0, (want - *n) * elem);
	*arr = na;
	*n = want;
	return true;
}

static struct abi_proc *proc_of(struct sim_machine *m, const struct sim_task *t)
{
	struct sim_abi *a = abi_of(m);
	unsigned id = t->proc ? t->proc->id : 0;

	if (!a || !id || !grow((void **)&a->p, &a->np, id, sizeof(*a->p)))
		return NULL;
	if (!a->p[id - 1].init) {
		xk_umem_init(&a->p[id - 1].mm);
		a->p[id - 1].init = true;
	}
	return &a->p[id - 1];
}

/* The task's ABI state; its stack is mapped on first use. */
static struct abi_task *task_of(struct sim_machine *m, const struct sim_task *t)
{
	struct sim_abi *a = abi_of(m);
	struct abi_proc *p = proc_of(m, t);
	struct abi_task *at;
	uint64_t top;

	if (!a || !p || !grow((void **)&a->t, &a->nt, t->id, sizeof(*a->t)))
		return NULL;
	at = &a->t[t->id - 1];
	if (!at->init) {
		top = ABI_STACK_TOP - (uint64_t)(t->id - 1) * ABI_STACK_STRIDE;
		at->stack_base = top - ABI_STACK_SIZE;
		if (xk_umem_map(&p->mm, at->stack_base, ABI_STACK_SIZE, "stack"))
			return NULL;
		at->sp = top - 0x108; /* as at a function's entry: sp % 16 == 8 */
		at->init = true;
	}
	return at;
}

static bool veto_alloc(void *ctx, const struct xk_task *t, size_t bytes)
{
	struct sim_machine *m = ctx;
	struct sim_abi *a = m->abi;

	if (!a || !a->alloc_fail)
		return false;
	if (a->alloc_fail > 0)
		a->alloc_fail--;
	return true;
}

/* ---- names ---- */

static const struct {
	const char *name;
	int signo;
} sig_names[] = {
	{ "SIGILL", 4 },   { "SIGBUS", 7 },   { "SIGUSR1", 10 }, { "SIGSEGV", 11 },
	{ "SIGUSR2", 12 }, { "SIGALRM", 14 }, { "SIGSYS", 31 },
};

static const char *sig_name(int signo)
{
	static _Thread_local char buf[16];

	for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]); i++)
		if (sig_names[i].signo == signo)
			return sig_names[i].name;
	snprintf(buf, sizeof(buf), "signal %d", signo);
	return buf;
}

static int parse_sig(struct sim_parser *p, const char *w, int *signo)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]); i++)
		if (!strcasecmp(w, sig_names[i].name)) {
			*signo = sig_names[i].signo;
			return 0;
		}
	if (w[0] >= '0' && w[0] <= '9') {
		if (sim_parse_u64(p, w, &v))
			return -1;
		if (v >= 1 && v <= 64) {
			*signo = (int)v;
			return 0;
		}
	}
	return sim_parse_error(p, "expected a signal (SIGUSR1 SIGUSR2 SIGALRM SIGILL SIGSEGV "
			       "SIGBUS SIGSYS or 1-64), got '%s'", w);
}

static const struct {
	const char *name;
	int err;
} errno_names[] = {
	{ "0", 0 },	      { "EPERM", EPERM },   { "ESRCH", ESRCH },	  { "ENOMEM", ENOMEM },
	{ "EFAULT", EFAULT }, { "EBUSY", EBUSY },   { "EEXIST", EEXIST }, { "EINVAL", EINVAL },
	{ "ENOSPC", ENOSPC }, { "EOPNOTSUPP", EOPNOTSUPP }, { "ENODEV", ENODEV },
};

static const char *err_name(long rc)
{
	static _Thread_local char buf[32];

	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == -rc)
			return rc ? errno_names[i].name : "0 (success)";
	snprintf(buf, sizeof(buf), "errno %ld", -rc);
	return buf;
}

static int parse_errno(struct sim_parser *p, const char *w, long *rc)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (!strcasecmp(w, errno_names[i].name)) {
			*rc = -errno_names[i].err;
			return 0;
		}
	return sim_parse_error(p, "expected 0 or an errno name (EINVAL ENOMEM ENOSPC EPERM "
			       "EOPNOTSUPP EBUSY EFAULT ESRCH), got '%s'", w);
}

static const struct {
	const char *name;
	int option;
} prctl_names[] = {
	{ "GET_XCOMP_SUPP", XK_ARCH_GET_XCOMP_SUPP },
	{ "GET_XCOMP_PERM", XK_ARCH_GET_XCOMP_PERM },
	{ "REQ_XCOMP_PERM", XK_ARCH_REQ_XCOMP_PERM },
	{ "GET_XCOMP_GUEST_PERM", XK_ARCH_GET_XCOMP_GUEST_PERM },
	{ "REQ_XCOMP_GUEST_PERM", XK_ARCH_REQ_XCOMP_GUEST_PERM },
	{ "REQ_XCOMP_PREALLOC", XK_ARCH_REQ_XCOMP_PREALLOC },
	/* FS/GS issue (kernel_fsgs.h): do_arch_prctl_64(). */
	{ "SET_FS", 0x1002 },
	{ "SET_GS", 0x1001 },
	{ "GET_FS", 0x1003 },
	{ "GET_GS", 0x1004 },
};

/* ---- frame and regset fields ---- */

enum fbase { FB_XSAVE = 0, FB_UC };
enum fspecial { FS_NONE = 0, FS_MAGIC2 };

struct field {
	enum fbase base;
	enum fspecial special;
	uint32_t off, width;
	bool is_mask;          /* parse values as component masks */
	bool is_reg;
	struct xs_reg reg;     /* is_reg: gathered from its parts */
};

static const struct {
	const char *name;
	enum fbase base;
	uint32_t off, width;
	bool mask;
} named_fields[] = {
	{ "fcw", FB_XSAVE, 0, 2, false },	       { "fsw", FB_XSAVE, 2, 2, false },
	{ "ftw", FB_XSAVE, 4, 1, false },	       { "mxcsr", FB_XSAVE, 24, 4, false },
	{ "mxcsr_mask", FB_XSAVE, 28, 4, false },      { "magic1", FB_XSAVE, 464, 4, false },
	{ "extended_size", FB_XSAVE, 468, 4, false },  { "sw_xfeatures", FB_XSAVE, 472, 8, true },
	{ "xstate_size", FB_XSAVE, 480, 4, false },    { "xstate_bv", FB_XSAVE, 512, 8, true },
	{ "xcomp_bv", FB_XSAVE, 520, 8, true },        { "uc.pretcode", FB_UC, 0, 8, false },
	{ "uc.flags", FB_UC, 8, 8, false },	       { "uc.ss_sp", FB_UC, 24, 8, false },
	{ "uc.ss_flags", FB_UC, 32, 4, false },	       { "uc.ss_size", FB_UC, 40, 8, false },
	{ "uc.rsp", FB_UC, XK_RTF_RSP, 8, false },     { "uc.trapno", FB_UC, XK_RTF_TRAPNO, 8, false },
	{ "uc.fpstate", FB_UC, XK_RTF_FPSTATE, 8, false },
	{ "uc.signo", FB_UC, XK_RTF_INFO, 4, false },  { "uc.code", FB_UC, XK_RTF_INFO + 8, 4, false },
	/* FS/GS issue: sigcontext's u16 cs, gs, fs, ss (64-bit: gs/fs written 0, ignored). */
	{ "uc.cs", FB_UC, XK_RTF_CS, 2, false },       { "uc.gs", FB_UC, XK_RTF_CS + 2, 2, false },
	{ "uc.fs", FB_UC, XK_RTF_CS + 4, 2, false },   { "uc.ss", FB_UC, XK_RTF_SS, 2, false },
};

#define FIELD_USAGE                                                                       \
	"FIELD: fcw fsw ftw mxcsr mxcsr_mask magic1 extended_size sw_xfeatures xstate_size " \
	"magic2 xstate_bv xcomp_bv hdr.N byte.N u16.N u32.N u64.N (offsets in the XSAVE area), " \
	"uc.flags uc.fpstate uc.rsp uc.ss_sp uc.ss_flags uc.ss_size uc.signo uc.code "        \
	"uc.pretcode uc.u64.N (the rt_sigframe), or a register name"

static int parse_field(struct sim_parser *p, const char *w, struct field *f, bool allow_uc)
{
	const char *num = NULL;
	uint64_t v;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < sizeof(named_fields) / sizeof(named_fields[0]); i++) {
		if (strcmp(w, named_fields[i].name))
			continue;
		f->base = named_fields[i].base;
		f->off = named_fields[i].off;
		f->width = named_fields[i].width;
		f->is_mask = named_fields[i].mask;
		goto check;
	}
	if (!strcmp(w, "magic2")) {
		f->special = FS_MAGIC2;
		f->width = 4;
		goto check;
	}
	if (!strncmp(w, "uc.", 3)) {
		f->base = FB_UC;
		w += 3;
	}
	if (!strncmp(w, "hdr.", 4)) {
		num = w + 4, f->width = 1, f->off = 512;
	} else if (!strncmp(w, "byte.", 5)) {
		num = w + 5, f->width = 1;
	} else if (!strncmp(w, "u16.", 4)) {
		num = w + 4, f->width = 2;
	} else if (!strncmp(w, "u32.", 4)) {
		num = w + 4, f->width = 4;
	} else if (!strncmp(w, "u64.", 4)) {
		num = w + 4, f->width = 8;
	}
	if (num) {
		if (sim_parse_u64(p, num, &v))
			return -1;
		if (f->off == 512 && v >= 64)
			return sim_parse_error(p, "hdr.%s: the header has bytes 0-63", num);
		if (v > 65536)
			return sim_parse_error(p, "offset %s too large", num);
		f->off += (uint32_t)v;
		goto check;
	}
	if (f->base == FB_XSAVE && xs_reg_lookup(p->model, w, &f->reg) == 0) {
		if (f->reg.supervisor)
			return sim_parse_error(p, "%s is supervisor state: it is never in a UABI "
					       "buffer", w);
		f->is_reg = true;
		f->width = f->reg.size;
		goto check;
	}
	return sim_parse_error(p, "unknown field '%s' (%s)", w, FIELD_USAGE);
check:
	if (f->base == FB_UC && !allow_uc)
		return sim_parse_error(p, "uc.* fields are in signal frames, not in regsets");
	return 0;
}

/* A field's value word: a register value, a mask, or a number. */
static int parse_field_value(struct sim_parser *p, const struct field *f, const char *w,
			     uint8_t **out)
{
	uint64_t v;

	if (f->is_reg)
		return sim_parse_value(p, w, f->width, out);
	/* Numbers, or component names for the xfeatures-like fields (and for
	 * any u64: sw_reserved word 0 of a regset is XCR0). */
	if (f->is_mask || f->width == 8 ? sim_parse_mask(p, w, &v) : sim_parse_u64(p, w, &v))
		return -1;
	if (f->width < 8 && (v >> (8 * f->width)))
		return sim_parse_error(p, "%s does not fit in %u bytes", w, f->width);
	*out = calloc(1, 8);
	if (!*out)
		return sim_parse_error(p, "out of memory");
	memcpy(*out, &v, 8);
	return 0;
}

/* Image offset of register part i (legacy offsets for x87 and SSE). */
static uint32_t part_offset(const struct xs_model *model, const struct xs_reg *r, unsigned i)
{
	unsigned c = r->part[i].comp;

	return c < 2 ? r->part[i].off : model->comp[c].offset + r->part[i].off;
}

/* Read or write a field of a buffer (base: the buffer's first byte, len
 * bytes). magic2 sits after xstate_size bytes. 0, or -1 if outside. */
static int field_io(const struct xs_model *model, const struct field *f, uint8_t *buf,
		    uint64_t len, uint32_t magic2_off, uint8_t *val, bool write)
{
	if (f->is_reg) {
		uint32_t done = 0;

		for (unsigned i = 0; i < f->reg.nparts; i++) {
			uint32_t off = part_offset(model, &f->reg, i), n = f->reg.part[i].len;

			if ((uint64_t)off + n > len)
				return -1;
			if (write)
				memcpy(buf + off, val + done, n);
			else
				memcpy(val + done, buf + off, n);
			done += n;
		}
		return 0;
	}
	{
		uint32_t off = f->special == FS_MAGIC2 ? magic2_off : f->off;

		if ((uint64_t)off + f->width > len)
			return -1;
		if (write)
			memcpy(buf + off, val, f->width);
		else
			memcpy(val, buf + off, f->width);
	}
	return 0;
}

/* ---- parse helpers ---- */

static int parse_subject(struct sim_parser *p, struct sim_stmt *s, const char *word, int *id)
{
	if (sim_parse_task(p, word, id))
		return -1;
	if (p->tasks[*id - 1].kind != SIM_USER)
		return sim_parse_error(p, "%s is a kernel thread: it has no user ABI", word);
	return 0;
}

struct abi_args {
	struct field f;
	int signo;
	uint32_t flags;
	int option;
	bool arg_given, addr_given;
	uint64_t arg, addr;
	unsigned regset;
	bool len_given;
	uint64_t len;
	int bit;
	long err;
	int mode;              /* verb-specific */
};

static struct abi_args *args_of(struct sim_parser *p, struct sim_stmt *s)
{
	struct abi_args *x = calloc(1, sizeof(*x));

	if (!x) {
		sim_parse_error(p, "out of memory");
		return NULL;
	}
	s->a.ext = x;
	return x;
}

/* ---- run helpers ---- */

static int need_task(struct sim_machine *m, const struct sim_stmt *s, struct sim_task **t,
		     struct abi_task **at)
{
	*t = sim_stmt_task(m, s, 0);
	if (!*t)
		return sim_error(m, "no such task");
	*at = task_of(m, *t);
	if (!*at)
		return sim_error(m, "out of memory (user memory of %s)", (*t)->name);
	return SIM_OK;
}

/* Make t run in user mode, then enter the kernel as a system call does. */
static int syscall_enter(struct sim_machine *m, struct sim_task *t, unsigned *cpu)
{
	int rc = sim_ensure_user(m, t);

	if (rc)
		return rc;
	*cpu = (unsigned)t->k->on_cpu;
	return sim_enter_kernel(m, *cpu);
}

static void set_rc(struct abi_task *at, long rc)
{
	at->have_rc = true;
	at->rc = rc;
}

/* Compare the frame's XSAVE image with an XSAVE of the shadow. */
static int frame_check(struct sim_machine *m, struct sim_task *t, struct xk_umem *mm,
		       const struct xk_sigframe *sf)
{
	uint32_t us = sf->xstate_size;
	uint8_t *img = calloc(1, us + 64), *f = xk_umem_ptr(mm, sf->fpstate, us);
	uint64_t comps = sf->rfbm & m->shadow_mask;
	struct sim_range r[8];
	int rc = SIM_OK;

	if (!img || !f) {
		free(img);
		return sim_error(m, "frame check: out of memory or frame unreadable");
	}
	if (sim_shadow_save_image(m, t, img, us, sf->rfbm) != XS_OK) {
		free(img);
		return SIM_OK; /* the shadow cannot say */
	}
	for (uint64_t c = comps; c && rc == SIM_OK; c &= c - 1) {
		unsigned comp = (unsigned)__builtin_ctzll(c), n = sim_comp_ranges(m, comp, r);
		uint32_t base = comp < 2 ? 0 : m->model->comp[comp].offset;

		for (unsigned i = 0; i < n; i++) {
			if (memcmp(f + base + r[i].off, img + base + r[i].off, r[i].len)) {
				char d[200];

				sim_format_diff(d, sizeof(d), f + base + r[i].off, img + base + r[i].off,
						r[i].len, base + r[i].off);
				rc = sim_fail(m, "frame", "frame: %s's signal frame holds a wrong %s "
					      "(%s): %s", t->name, xs_comp_name(comp),
					      "not what the task's registers held", d);
				break;
			}
		}
	}
	free(img);
	return rc;
}

/* The default action of a signal nobody handles: recorded only. */
static int default_action(struct sim_machine *m, struct sim_task *t, unsigned cpu, int signo)
{
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s gets %s: no handler, default action "
			  "(recorded)", cpu, t->name, sig_name(signo));
	return sim_return_to_user(m, cpu);
}

/* sigcontext.trapno: the vector of the fault that caused the signal
 * (thread.trap_nr); 0 for a signal sent by kill(). */
static uint32_t trap_number(const struct sim_task *t, bool sent)
{
	if (sent)
		return 0;
	switch (t->last_fault) {
	case XS_UD:
		return 6;
	case XS_NM:
		return 7;
	case XS_GP:
		return 13;
	case XS_PF:
		return 14;
	case XS_AC:
		return 17;
	default:
		return 0;
	}
}

/* Build a frame for signo on t's CPU (t current, in the kernel) and return
 * to user mode in the handler. A frame that does not fit: SIGSEGV. */
static int deliver(struct sim_machine *m, struct sim_task *t, int signo, int code,
		   uint32_t flags, bool force_handler)
{
	struct abi_task *at = task_of(m, t);
	struct abi_proc *ap = proc_of(m, t);
	unsigned cpu = (unsigned)t->k->on_cpu;
	struct xk_sigaction act = { ABI_HANDLER, ABI_RESTORER, XK_SA_SIGINFO | XK_SA_RESTORER };
	struct xk_siginfo info = { signo, code, 0, trap_number(t, force_handler) };
	struct xk_sigframe sf;
	int rc;

	if (!at || !ap)
		return sim_error(m, "out of memory");
	if (ap->installed & sig_bit(signo))
		act = ap->act[signo];
	else if (!force_handler)
		return default_action(m, t, cpu, signo);
	act.flags |= flags;
	if (at->nframes >= ABI_MAX_FRAMES)
		return sim_error(m, "%s: more than %d nested signal frames", t->name, ABI_MAX_FRAMES);
	rc = xk_signal_deliver(&m->k, cpu, &ap->mm, at->sp, &act, &info, &sf);
	set_rc(at, rc);
	if (rc) {
		/* force_sigsegv(): the frame could not be written. */
		t->last_signal = XK_SIGSEGV;
		t->nsignals++;
		if (sim_tracing(m))
			sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s: no room for the %s frame "
				  "below sp 0x%llx%s -> SIGSEGV (forced)", cpu, t->name,
				  sig_name(signo), (unsigned long long)at->sp,
				  (act.flags & XK_SA_ONSTACK) && t->k->sig.sas_ss_size
					  ? " on the sigaltstack" : "");
		if (signo != XK_SIGSEGV && (ap->installed & sig_bit(XK_SIGSEGV)))
			return deliver(m, t, XK_SIGSEGV, XK_SI_KERNEL, 0, true);
		return sim_return_to_user(m, cpu);
	}
	rc = frame_check(m, t, &ap->mm, &sf);
	if (rc)
		return rc;
	at->frames[at->nframes++] = (struct abi_frame){ sf.frame, sf.fpstate, sf.xstate_size,
							sf.rfbm, signo, sf.altstack };
	at->sp = sf.frame;
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s enters its %s handler: frame 0x%llx, "
			  "XSAVE area 0x%llx (%u bytes)%s", cpu, t->name, sig_name(signo),
			  (unsigned long long)sf.frame, (unsigned long long)sf.fpstate,
			  sf.xstate_size, sf.altstack ? " on the sigaltstack" : "");
	/* fpu__clear_user_states(): the handler starts clean. */
	sim_shadow_init(m, t, XK_MASK_USER_RESTORE);
	if (m->model->feat.pku)
		sim_shadow_set_pkru(m, t, XK_PKRU_INIT_DEFAULT);
	return sim_return_to_user(m, cpu);
}

/* The machine's signal seam: faults the kernel turned into signals. */
static int deliver_fault_signal(struct sim_machine *m, struct sim_task *t, int signo, int code)
{
	return deliver(m, t, signo, code, 0, false);
}

/* ---- T sigaction SIG [onstack] [nosiginfo] ---- */

static int parse_sigaction(struct sim_parser *p, struct sim_stmt *s)
{
	struct abi_args *x;

	if (parse_subject(p, s, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 3, 5) ||
	    !(x = args_of(p, s)) || parse_sig(p, s->argv[2], &x->signo))
		return -1;
	x->flags = XK_SA_SIGINFO | XK_SA_RESTORER;
	for (int i = 3; i < s->argc; i++) {
		if (!strcmp(s->argv[i], "onstack"))
			x->flags |= XK_SA_ONSTACK;
		else if (!strcmp(s->argv[i], "nosiginfo"))
			x->flags &= ~XK_SA_SIGINFO;
		else
			return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[i],
					       s->verb->usage);
	}
	return 0;
}

static int exec_sigaction(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct abi_args *x = s->a.ext;
	struct sim_task *t = sim_stmt_task(m, s, 0);
	struct abi_proc *ap = proc_of(m, t);

	if (!ap)
		return sim_error(m, "out of memory");
	ap->act[x->signo] = (struct xk_sigaction){ ABI_HANDLER, ABI_RESTORER, x->flags };
	ap->installed |= sig_bit(x->signo);
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        %s: handler for %s installed%s", t->name,
			  sig_name(x->signo), (x->flags & XK_SA_ONSTACK) ? " (SA_ONSTACK)" : "");
	return SIM_OK;
}

/* ---- T signal SIG [onstack] ---- */

static int parse_signal(struct sim_parser *p, struct sim_stmt *s)
{
	struct abi_args *x;

	if (parse_subject(p, s, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 3, 4) ||
	    !(x = args_of(p, s)) || parse_sig(p, s->argv[2], &x->signo))
		return -1;
	if (s->argc == 4) {
		if (strcmp(s->argv[3], "onstack"))
			return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[3],
					       s->verb->usage);
		x->flags = XK_SA_ONSTACK;
	}
	return 0;
}

static int exec_signal(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct abi_args *x = s->a.ext;
	struct sim_task *t;
	struct abi_task *at;
	unsigned cpu;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	if (t->k->on_cpu < 0)
		return sim_error(m, "%s is not running: a signal is delivered on its way back to "
				 "user mode (switch a CPU to it first)", t->name);
	cpu = (unsigned)t->k->on_cpu;
	if ((rc = sim_enter_kernel(m, cpu)))
		return rc;
	t->last_signal = x->signo;
	t->nsignals++;
	return deliver(m, t, x->signo, 0 /* SI_USER */, x->flags, true);
}

/* ---- T sigreturn ---- */

static int parse_task_only(struct sim_parser *p, struct sim_stmt *s)
{
	return parse_subject(p, s, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 2, 2) ? -1 : 0;
}

/* What the registers must hold after a successful sigreturn. */
static int shadow_after_sigreturn(struct sim_machine *m, struct sim_task *t, const uint8_t *img,
				  uint32_t len, const struct xk_sigreturn_result *res)
{
	uint64_t user = t->k->fpu.fpstate->user_xfeatures;
	enum xs_fault f;

	if (res->reset) {
		sim_shadow_init(m, t, XK_MASK_USER_RESTORE);
		if (m->model->feat.pku)
			sim_shadow_set_pkru(m, t, XK_PKRU_INIT_DEFAULT);
		return SIM_OK;
	}
	if (res->failed)
		return SIM_OK; /* sigreturn-fail=keep, or a frame never read */
	if (res->fx_only) {
		uint8_t leg[XS_EXT_OFFSET];
		uint64_t bv = XS_MASK_FPSSE;

		memcpy(leg, img, XS_LEGACY_SIZE);
		memset(leg + XS_HDR_OFFSET, 0, XS_HDR_SIZE);
		memcpy(leg + XS_HDR_OFFSET, &bv, 8);
		f = sim_shadow_load_image(m, t, leg, sizeof(leg), XS_MASK_FPSSE);
	} else {
		f = sim_shadow_load_image(m, t, img, len, res->rfbm);
	}
	if (f)
		return sim_fail(m, "frame", "the kernel restored %s's frame but the same XRSTOR "
				"on its shadow raises %s", t->name, xs_fault_name(f));
	/* PKRU too: Linux's init_bv (user_xfeatures & ~xrestore) includes it,
	 * so a frame that leaves it out resets it to its init value 0 (added by
	 * the checker issue, helper I: the explorer's pkru invariant found the
	 * shadow keeping the old value). */
	sim_shadow_init(m, t, user & ~res->rfbm & (XK_MASK_USER_RESTORE | XS_BIT(XS_C_PKRU)));
	return SIM_OK;
}

static int exec_sigreturn(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t;
	struct abi_task *at;
	struct abi_proc *ap;
	struct abi_frame fr;
	struct xk_sigreturn_result res;
	uint8_t *img = NULL, *src;
	uint32_t len = 0;
	unsigned cpu;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	if (!at->nframes)
		return sim_error(m, "%s is not in a signal handler", t->name);
	ap = proc_of(m, t);
	if ((rc = syscall_enter(m, t, &cpu)))
		return rc;
	fr = at->frames[--at->nframes];
	/* The bytes the XRSTOR will read, for the shadow. */
	{
		uint64_t fp = 0;
		const uint8_t *uf = xk_umem_ptr(&ap->mm, fr.frame, XK_RT_SIGFRAME_SIZE);

		if (uf)
			memcpy(&fp, uf + XK_RTF_FPSTATE, 8);
		uint64_t avail = xk_umem_avail(&ap->mm, fp);

		len = t->k->fpu.fpstate->user_size + 64u;
		if (avail < len)
			len = (uint32_t)avail;
		src = fp ? xk_umem_ptr(&ap->mm, fp, len) : NULL;
		/* A legacy-only restore reads 512 bytes: an image near the end
		 * of user memory may have fewer than 576 (zero-padded here). */
		if (src && len >= XS_LEGACY_SIZE &&
		    (img = calloc(1, len > XS_EXT_OFFSET ? len : XS_EXT_OFFSET)))
			memcpy(img, src, len);
		if (img && len < XS_EXT_OFFSET)
			len = XS_EXT_OFFSET;
	}
	rc = xk_sigreturn(&m->k, cpu, &ap->mm, fr.frame + 8, &res);
	set_rc(at, rc);
	at->sp = res.sp;
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s returns from its %s handler: %s%s%s",
			  cpu, t->name, sig_name(fr.signo), res.why ? res.why : "",
			  res.fx_only && !res.failed ? "" : "",
			  res.failed ? (m->k.policy.sigreturn_keep ? " -> SIGSEGV, state kept"
								   : res.reset ? " -> SIGSEGV, user state reset"
									       : " -> SIGSEGV")
				     : "");
	if (!res.failed || res.reset)
		rc = img || res.reset ? shadow_after_sigreturn(m, t, img, len, &res)
				      : sim_error(m, "sigreturn: frame image unreadable");
	else
		rc = SIM_OK;
	free(img);
	if (rc)
		return rc;
	if (res.failed) {
		t->last_signal = XK_SIGSEGV;
		t->nsignals++;
		if (ap->installed & sig_bit(XK_SIGSEGV))
			return deliver(m, t, XK_SIGSEGV, XK_SI_KERNEL, 0, true);
	}
	return sim_return_to_user(m, cpu);
}

/* ---- T frame set FIELD = VALUE | T frame flip FIELD BIT ---- */

static int parse_buffer_edit(struct sim_parser *p, struct sim_stmt *s, int i, bool allow_uc)
{
	struct abi_args *x = args_of(p, s);
	uint64_t v;

	if (!x)
		return -1;
	if (s->argc - i == 4 && (!strcmp(s->argv[i], "set") || !strcmp(s->argv[i], "poke")) &&
	    !strcmp(s->argv[i + 2], "=")) {
		x->mode = 0;
		if (parse_field(p, s->argv[i + 1], &x->f, allow_uc))
			return -1;
		return parse_field_value(p, &x->f, s->argv[i + 3], &s->a.val);
	}
	if (s->argc - i == 3 && !strcmp(s->argv[i], "flip")) {
		x->mode = 1;
		if (parse_field(p, s->argv[i + 1], &x->f, allow_uc) ||
		    sim_parse_u64(p, s->argv[i + 2], &v))
			return -1;
		if (v >= 8u * x->f.width)
			return sim_parse_error(p, "bit %s: the field has %u bits", s->argv[i + 2],
					       8 * x->f.width);
		x->bit = (int)v;
		return 0;
	}
	return sim_parse_error(p, "usage: %s", s->verb->usage);
}

static int parse_frame(struct sim_parser *p, struct sim_stmt *s)
{
	if (parse_subject(p, s, s->argv[0], &s->a.task[0]))
		return -1;
	return parse_buffer_edit(p, s, 2, true);
}

/* Apply a set/flip edit to buf. */
static int apply_edit(struct sim_machine *m, const struct sim_stmt *s, uint8_t *buf, uint64_t len,
		      uint32_t magic2_off, const char *what)
{
	const struct abi_args *x = s->a.ext;
	uint8_t v[8192];
	const char *name = s->argv[s->argc - (x->mode % 10 == 0 ? 3 : 2)];

	if (x->f.width > sizeof(v))
		return sim_error(m, "field too large");
	if (x->mode % 10 == 0) { /* set (frame) / poke (ptrace, mode 10) */
		memcpy(v, s->a.val, x->f.width);
	} else if (field_io(m->model, &x->f, buf, len, magic2_off, v, false)) {
		goto outside;
	} else {
		v[x->bit / 8] ^= (uint8_t)(1u << (x->bit % 8));
	}
	if (field_io(m->model, &x->f, buf, len, magic2_off, v, true))
		goto outside;
	return SIM_OK;
outside:
	return sim_error(m, "%s (%u bytes) lies outside the %s, which has %llu bytes", name,
			 x->f.width, what, (unsigned long long)len);
}

/* The frame's buffer for a field base: the XSAVE area or the rt_sigframe. */
static uint8_t *frame_buf(struct sim_machine *m, struct sim_task *t, const struct abi_frame *fr,
			  enum fbase base, uint64_t *len)
{
	struct abi_proc *ap = proc_of(m, t);
	uint64_t addr = base == FB_UC ? fr->frame : fr->fpstate;

	*len = ap ? xk_umem_avail(&ap->mm, addr) : 0;
	return ap ? xk_umem_ptr(&ap->mm, addr, 0) : NULL;
}

static int exec_frame(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct abi_args *x = s->a.ext;
	struct sim_task *t;
	struct abi_task *at;
	struct abi_frame *fr;
	uint8_t *buf;
	uint64_t len;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	if (!at->nframes)
		return sim_error(m, "%s is not in a signal handler: no frame", t->name);
	fr = &at->frames[at->nframes - 1];
	buf = frame_buf(m, t, fr, x->f.base, &len);
	if (!buf)
		return sim_error(m, "%s's frame is not in user memory", t->name);
	rc = apply_edit(m, s, buf, len, fr->xstate_size,
			x->f.base == FB_UC ? "user memory from the rt_sigframe on"
					   : "user memory from the XSAVE area on");
	if (!rc && sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        %s's handler edits its frame: %s", t->name,
			  s->text);
	return rc;
}

/* ---- T sigaltstack SIZE [autodisarm] | T sigaltstack off ---- */

static int parse_sigaltstack(struct sim_parser *p, struct sim_stmt *s)
{
	struct abi_args *x;

	if (parse_subject(p, s, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 3, 4) ||
	    !(x = args_of(p, s)))
		return -1;
	if (!strcmp(s->argv[2], "off")) {
		x->flags = XK_SS_DISABLE;
		return sim_parse_argc(p, s, 3, 3);
	}
	if (sim_parse_u64(p, s->argv[2], &x->len))
		return -1;
	if (x->len > ABI_ALT_SIZE)
		return sim_parse_error(p, "altstack of %s bytes: at most %u", s->argv[2],
				       ABI_ALT_SIZE);
	if (s->argc == 4) {
		if (strcmp(s->argv[3], "autodisarm"))
			return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[3],
					       s->verb->usage);
		x->flags = XK_SS_AUTODISARM;
	}
	return 0;
}

static int exec_sigaltstack(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct abi_args *x = s->a.ext;
	struct sim_task *t;
	struct abi_task *at;
	struct abi_proc *ap;
	struct xk_stack ss;
	unsigned cpu;
	long r;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	ap = proc_of(m, t);
	if (!at->alt_base) {
		uint64_t base = ABI_ALT_AREA + (uint64_t)t->id * ABI_ALT_STRIDE;

		if (xk_umem_map(&ap->mm, base, ABI_ALT_SIZE, "altstack"))
			return sim_error(m, "cannot map %s's altstack", t->name);
		at->alt_base = base;
	}
	if ((rc = syscall_enter(m, t, &cpu)))
		return rc;
	ss.flags = x->flags;
	ss.size = x->len;
	ss.sp = at->alt_base + ABI_ALT_SIZE - x->len; /* the stack's top is the area's */
	r = xk_sigaltstack(&m->k, t->k, at->sp, &ss, NULL);
	set_rc(at, r);
	if (sim_tracing(m)) {
		if (x->flags == XK_SS_DISABLE)
			sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s sigaltstack(SS_DISABLE) = %s",
				  cpu, t->name, err_name(r));
		else
			sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s sigaltstack(sp 0x%llx, %llu "
				  "bytes%s) = %s", cpu, t->name, (unsigned long long)ss.sp,
				  (unsigned long long)ss.size,
				  (x->flags & XK_SS_AUTODISARM) ? ", SS_AUTODISARM" : "",
				  err_name(r));
	}
	return sim_return_to_user(m, cpu);
}

/* ---- T arch_prctl OPTION [ARG|addr=ADDR] ---- */

static int parse_arch_prctl(struct sim_parser *p, struct sim_stmt *s)
{
	struct abi_args *x;
	const char *w;
	uint64_t v;

	if (parse_subject(p, s, s->argv[0], &s->a.task[0]) || sim_parse_argc(p, s, 3, 4) ||
	    !(x = args_of(p, s)))
		return -1;
	w = s->argv[2];
	if (!strncasecmp(w, "ARCH_", 5))
		w += 5;
	x->option = -1;
	for (size_t i = 0; i < sizeof(prctl_names) / sizeof(prctl_names[0]); i++)
		if (!strcasecmp(w, prctl_names[i].name))
			x->option = prctl_names[i].option;
	if (x->option < 0) {
		if (w[0] < '0' || w[0] > '9')
			return sim_parse_error(p, "unknown arch_prctl option '%s' (GET_XCOMP_SUPP "
					       "GET_XCOMP_PERM REQ_XCOMP_PERM GET_XCOMP_GUEST_PERM "
					       "REQ_XCOMP_GUEST_PERM REQ_XCOMP_PREALLOC or a number)",
					       s->argv[2]);
		if (sim_parse_u64(p, w, &v))
			return -1;
		x->option = (int)v;
	}
	if (s->argc == 4) {
		if (!strncmp(s->argv[3], "addr=", 5)) {
			x->addr_given = true;
			return sim_parse_u64(p, s->argv[3] + 5, &x->addr);
		}
		x->arg_given = true;
		return sim_parse_u64(p, s->argv[3], &x->arg);
	}
	return 0;
}

static bool option_is_get(int option)
{
	return option == XK_ARCH_GET_XCOMP_SUPP || option == XK_ARCH_GET_XCOMP_PERM ||
	       option == XK_ARCH_GET_XCOMP_GUEST_PERM ||
	       option == 0x1003 || option == 0x1004; /* ARCH_GET_FS/GS (FS/GS issue) */
}

static int exec_arch_prctl(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct abi_args *x = s->a.ext;
	struct sim_task *t;
	struct abi_task *at;
	struct abi_proc *ap;
	uint64_t arg, v = 0;
	unsigned cpu;
	char vb[200];
	long r;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	ap = proc_of(m, t);
	if ((rc = syscall_enter(m, t, &cpu)))
		return rc;
	if (option_is_get(x->option))
		arg = x->addr_given ? x->addr : at->stack_base; /* a u64 on the task's stack */
	else
		arg = x->arg_given ? x->arg : XK_ARCH_XCOMP_TILEDATA;
	r = xk_arch_prctl(&m->k, t->k, &ap->mm, x->option, arg);
	set_rc(at, r);
	if (r == 0)
		sim_fsgs_arch_prctl(m, t, x->option, arg); /* ARCH_SET_FS/GS: the shadow (verbs_fsgs.c) */
	at->have_value = false;
	if (r == 0 && option_is_get(x->option) &&
	    xk_copy_from_user(&ap->mm, &v, arg, sizeof(v)) == 0) {
		at->have_value = true;
		at->value = v;
	}
	if (sim_tracing(m)) {
		if (at->have_value)
			sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s arch_prctl(%s) = 0, *0x%llx = %s",
				  cpu, t->name, xk_arch_prctl_name(x->option),
				  (unsigned long long)arg, xs_mask_names(v, vb, sizeof(vb)));
		else
			sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s arch_prctl(%s, %llu) = %s", cpu,
				  t->name, xk_arch_prctl_name(x->option), (unsigned long long)arg,
				  err_name(r));
	}
	return sim_return_to_user(m, cpu);
}

/* ---- ptrace T get|set xstate|fpregs [len=N] / ptrace T set|flip FIELD ... ---- */

static int parse_ptrace(struct sim_parser *p, struct sim_stmt *s)
{
	struct abi_args *x;
	int i;

	if (sim_parse_argc(p, s, 4, 6) || parse_subject(p, s, s->argv[1], &s->a.task[0]))
		return -1;
	if (!strcmp(s->argv[2], "poke") || !strcmp(s->argv[2], "flip")) {
		/* ptrace T poke FIELD = VALUE | ptrace T flip FIELD BIT */
		if (parse_buffer_edit(p, s, 2, false))
			return -1;
		((struct abi_args *)s->a.ext)->mode += 10;
		return 0;
	}
	if (!(x = args_of(p, s)))
		return -1;
	if (!strcmp(s->argv[2], "get"))
		x->mode = 0;
	else if (!strcmp(s->argv[2], "set"))
		x->mode = 1;
	else
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	if (!strcmp(s->argv[3], "xstate") || !strcmp(s->argv[3], "NT_X86_XSTATE"))
		x->regset = XK_NT_X86_XSTATE;
	else if (!strcmp(s->argv[3], "fpregs") || !strcmp(s->argv[3], "NT_PRFPREG"))
		x->regset = XK_NT_PRFPREG;
	else
		return sim_parse_error(p, "regset '%s': xstate (NT_X86_XSTATE) or fpregs "
				       "(NT_PRFPREG)", s->argv[3]);
	for (i = 4; i < s->argc; i++) {
		if (strncmp(s->argv[i], "len=", 4))
			return sim_parse_error(p, "unexpected '%s' (usage: %s)", s->argv[i],
					       s->verb->usage);
		x->len_given = true;
		if (sim_parse_u64(p, s->argv[i] + 4, &x->len))
			return -1;
		if (x->len > 1u << 20)
			return sim_parse_error(p, "len=%s: too large", s->argv[i] + 4);
	}
	return 0;
}

/* The tracee stops: if it runs, its CPU switches away (saving it). */
static int ptrace_stop(struct sim_machine *m, struct sim_task *t)
{
	int rc;

	if (t->k->on_cpu < 0)
		return SIM_OK;
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        ptrace: %s stops (leaves cpu%d)", t->name,
			  t->k->on_cpu);
	rc = sim_switch(m, (unsigned)t->k->on_cpu, NULL);
	return rc;
}

/* What the tracee's registers must hold once it runs again: the kernel's
 * buffer, as the UABI export sees it (xfeatures absent -> init). */
static int shadow_after_write(struct sim_machine *m, struct sim_task *t)
{
	const struct xk_fpstate *fps = t->k->fpu.fpstate;
	uint32_t size = m->k.ucfg.max_size;
	uint8_t *img = calloc(1, size);
	enum xs_fault f;

	if (!img)
		return sim_error(m, "out of memory");
	xk_copy_xstate_to_uabi(&m->k, fps, fps->user_xfeatures, t->k->thread.pkru, XK_COPY_XSAVE,
			       img, size);
	/* A standard-format kernel buffer loads MXCSR from the buffer even
	 * when SSE and YMM are init (SDM 13.8.1); the export shows init. */
	if (!m->k.compacted)
		memcpy(img + 24, fps->regs + 24, 4);
	/* A compacted one (XRSTORS) loads MXCSR only with XSTATE_BV[1] and
	 * sets 1F80H otherwise (SDM 13.8.2) -- though the export shows the
	 * MXCSR copy_uabi_to_xstate() stored for a YMM-only image. Added by
	 * the checker issue (helper I): the explorer found this mismatch; it
	 * is Linux's behaviour on XSAVES machines (the MXCSR of such a ptrace
	 * write is lost), so the shadow follows the hardware. */
	else if (!(xk_fpstate_xstate_bv(fps) & XS_BIT(XS_C_SSE))) {
		uint32_t def = XS_MXCSR_DEFAULT;

		memcpy(img + 24, &def, 4);
	}
	memset(img + XK_SW_OFF, 0, XK_SW_SIZE);
	f = sim_shadow_load_image(m, t, img, size, XK_MASK_USER_RESTORE);
	free(img);
	if (f)
		return sim_fail(m, "shadow", "the kernel accepted a ptrace write to %s but its "
				"image faults %s on the shadow", t->name, xs_fault_name(f));
	if (m->model->feat.pku)
		sim_shadow_set_pkru(m, t, t->k->thread.pkru);
	return SIM_OK;
}

static int exec_ptrace(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct abi_args *x = s->a.ext;
	struct sim_task *t;
	struct abi_task *at;
	size_t len;
	long r;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	if (x->mode >= 10) {
		if (!at->regset)
			return sim_error(m, "no ptrace buffer for %s yet (ptrace %s get ... first)",
					 t->name, t->name);
		rc = apply_edit(m, s, at->regset, at->regset_len, 0, "regset buffer");
		if (!rc && sim_tracing(m))
			sim_trace(m, SIM_TR_EVENT, "        tracer edits its copy of %s's %s: %s",
				  t->name, xk_regset_name(at->regset_type), s->text);
		return rc;
	}
	if ((rc = ptrace_stop(m, t)))
		return rc;
	len = x->len_given ? x->len : xk_regset_size(&m->k, x->regset);
	if (!at->regset || at->regset_len < len + 64) {
		uint8_t *nb = realloc(at->regset, len + 64);

		if (!nb)
			return sim_error(m, "out of memory");
		memset(nb + (at->regset ? at->regset_len : 0), 0,
		       len + 64 - (at->regset ? at->regset_len : 0));
		at->regset = nb;
		at->regset_len = (uint32_t)len + 64;
	}
	if (x->mode == 0 || at->regset_type != x->regset)
		memset(at->regset, 0, at->regset_len);
	at->regset_type = x->regset;
	r = xk_ptrace_regset(&m->k, t->k, x->mode == 1, x->regset, at->regset, &len);
	set_rc(at, r);
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        ptrace(%s, %s, %s, %zu bytes) = %s",
			  x->mode ? "PTRACE_SETREGSET" : "PTRACE_GETREGSET", t->name,
			  xk_regset_name(x->regset), len, err_name(r));
	if (r == 0 && x->mode == 1)
		return shadow_after_write(m, t);
	return SIM_OK;
}

/* ---- alloc-fail next [N] | always | off ---- */

static int parse_alloc_fail(struct sim_parser *p, struct sim_stmt *s)
{
	uint64_t n = 1;

	if (sim_parse_argc(p, s, 2, 3))
		return -1;
	if (!strcmp(s->argv[1], "off")) {
		s->a.num[0] = 0;
		return sim_parse_argc(p, s, 2, 2);
	}
	if (!strcmp(s->argv[1], "always")) {
		s->a.num[0] = (uint64_t)-1;
		return sim_parse_argc(p, s, 2, 2);
	}
	if (strcmp(s->argv[1], "next"))
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	if (s->argc == 3 && sim_parse_u64(p, s->argv[2], &n))
		return -1;
	if (!n || n > 1000000)
		return sim_parse_error(p, "alloc-fail next N: N from 1 to 1000000");
	s->a.num[0] = n;
	return 0;
}

static int exec_alloc_fail(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_abi *a = abi_of(m);

	if (!a)
		return sim_error(m, "out of memory");
	a->alloc_fail = (long)s->a.num[0];
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        knob: %s", s->text);
	return SIM_OK;
}

/* ---- memory-pressure ---- */

static int parse_no_args(struct sim_parser *p, struct sim_stmt *s)
{
	return sim_parse_argc(p, s, 1, 1);
}

static int exec_pressure(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_abi *a = abi_of(m);

	if (!a)
		return sim_error(m, "out of memory");
	a->harvested = xk_xstate_harvest(&m->k, &a->harvested_bytes);
	a->have_harvest = true;
	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        memory pressure: %u AMX buffer%s harvested "
			  "(%llu bytes)%s", a->harvested, a->harvested == 1 ? "" : "s",
			  (unsigned long long)a->harvested_bytes,
			  m->k.policy.xfd_harvest ? "" : " -- policy harvest=off (Linux)");
	return SIM_OK;
}

/* ---- expectations ---- */

static int parse_op(struct sim_parser *p, const char *w, int *op, bool eq_ne_only)
{
	if (sim_parse_cmp(p, w, op))
		return -1;
	if (eq_ne_only && *op != SIM_EQ && *op != SIM_NE)
		return sim_parse_error(p, "only == and != compare this");
	return 0;
}

static int check_u64(struct sim_machine *m, uint64_t got, int op, uint64_t want,
		     const char *what)
{
	if (sim_cmp_u64(got, op, want)) {
		sim_note(m, "%s = %llu (0x%llx)", what, (unsigned long long)got,
			 (unsigned long long)got);
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s = %llu (0x%llx), expected %s %llu "
			"(0x%llx)", what, (unsigned long long)got, (unsigned long long)got,
			sim_cmp_name(op), (unsigned long long)want, (unsigned long long)want);
}

/* expect errno T ==|!= NAME */
static int parse_x_errno(struct sim_parser *p, struct sim_stmt *s)
{
	struct abi_args *x;

	if (sim_parse_argc(p, s, 5, 5) || parse_subject(p, s, s->argv[2], &s->a.task[0]) ||
	    parse_op(p, s->argv[3], &s->a.op, true) || !(x = args_of(p, s)))
		return -1;
	return parse_errno(p, s->argv[4], &x->err);
}

static int exec_x_errno(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct abi_args *x = s->a.ext;
	struct sim_task *t;
	struct abi_task *at;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	if (!at->have_rc)
		return sim_error(m, "%s made no ABI call yet", t->name);
	if ((at->rc == x->err) == (s->a.op == SIM_EQ)) {
		sim_note(m, "got %s", err_name(at->rc));
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s's last call returned %s", t->name,
			err_name(at->rc));
}

/* expect value T [& MASK] OP VALUE: the u64 the last GET stored. */
static int parse_masked(struct sim_parser *p, struct sim_stmt *s, int i, bool eq_ne_only)
{
	s->a.mask = ~0ULL;
	if (s->argc == i + 4 && !strcmp(s->argv[i], "&")) {
		if (sim_parse_mask(p, s->argv[i + 1], &s->a.mask))
			return -1;
		i += 2;
	}
	if (s->argc != i + 2)
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	if (parse_op(p, s->argv[i], &s->a.op, eq_ne_only))
		return -1;
	return sim_parse_mask(p, s->argv[i + 1], &s->a.num[0]);
}

static int parse_x_value(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 7) || parse_subject(p, s, s->argv[2], &s->a.task[0]))
		return -1;
	return parse_masked(p, s, 3, false);
}

static int exec_x_value(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t;
	struct abi_task *at;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	if (!at->have_value)
		return sim_error(m, "%s's last call stored no value (a GET arch_prctl that succeeded)",
				 t->name);
	return check_u64(m, at->value & s->a.mask, s->a.op, s->a.num[0], "value");
}

/* expect perm T [& MASK] OP MASK (host permission of T's process) */
static int exec_x_perm(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);

	return check_u64(m, xk_xcomp_perm(t->k, false) & s->a.mask, s->a.op, s->a.num[0],
			 "permission");
}

/* expect frame T FIELD ==|!= VALUE / expect regset T FIELD ==|!= VALUE */
static int parse_x_buffer(struct sim_parser *p, struct sim_stmt *s)
{
	bool frame = !strcmp(s->verb->name, "frame");
	struct abi_args *x;
	int i = 4;

	if (sim_parse_argc(p, s, 6, 8) || parse_subject(p, s, s->argv[2], &s->a.task[0]) ||
	    !(x = args_of(p, s)) || parse_field(p, s->argv[3], &x->f, frame))
		return -1;
	s->a.mask = ~0ULL;
	if (s->argc == 8) {
		if (strcmp(s->argv[4], "&") || x->f.is_reg)
			return sim_parse_error(p, "usage: %s (& MASK on number fields)",
					       s->verb->usage);
		if (x->f.is_mask ? sim_parse_mask(p, s->argv[5], &s->a.mask)
				 : sim_parse_u64(p, s->argv[5], &s->a.mask))
			return -1;
		i = 6;
	} else if (s->argc != 6) {
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	}
	if (parse_op(p, s->argv[i], &s->a.op, true))
		return -1;
	return parse_field_value(p, &x->f, s->argv[i + 1], &s->a.val);
}

static int exec_x_buffer(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct abi_args *x = s->a.ext;
	bool frame = !strcmp(s->verb->name, "frame");
	struct sim_task *t;
	struct abi_task *at;
	uint8_t got[8192], *buf;
	uint64_t len;
	uint32_t m2 = 0;
	char g[200];
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	if (frame) {
		if (!at->nframes)
			return sim_error(m, "%s is not in a signal handler: no frame", t->name);
		buf = frame_buf(m, t, &at->frames[at->nframes - 1], x->f.base, &len);
		m2 = at->frames[at->nframes - 1].xstate_size;
	} else {
		buf = at->regset;
		len = at->regset_len;
	}
	if (!buf || field_io(m->model, &x->f, buf, len, m2, got, false))
		return sim_error(m, "%s: no such field in %s's %s", s->argv[3], t->name,
				 frame ? "frame" : "ptrace buffer");
	if (!x->f.is_reg) { /* number fields: little endian, maybe masked */
		uint64_t v = 0;

		memcpy(&v, got, x->f.width);
		v &= s->a.mask;
		memcpy(got, &v, x->f.width);
	}
	sim_format_value(g, sizeof(g), got, x->f.width);
	if (!memcmp(got, s->a.val, x->f.width) == (s->a.op == SIM_EQ)) {
		sim_note(m, "%s = %s", s->argv[3], g);
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s's %s %s = %s", t->name,
			frame ? "frame" : "ptrace buffer", s->argv[3], g);
}

/* expect in-handler T OP N: signal frames T has not returned from */
static int parse_x_task_count(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 5) || parse_subject(p, s, s->argv[2], &s->a.task[0]) ||
	    parse_op(p, s->argv[3], &s->a.op, false))
		return -1;
	return sim_parse_u64(p, s->argv[4], &s->a.num[0]);
}

static int exec_x_task_count(struct sim_machine *m, const struct sim_stmt *s)
{
	const char *v = s->verb->name;
	struct sim_task *t;
	struct abi_task *at;
	uint64_t got;
	int rc = need_task(m, s, &t, &at);

	if (rc)
		return rc;
	if (!strcmp(v, "in-handler"))
		got = at->nframes;
	else if (!strcmp(v, "xstate-size"))
		got = t->k->fpu.fpstate->user_size;
	else if (!strcmp(v, "sigaltstack-min"))
		got = xk_sigaltstack_min(&m->k, t->k);
	else /* altstack */
		got = t->k->sig.sas_ss_size;
	return check_u64(m, got, s->a.op, s->a.num[0], v);
}

/* expect buffer T ==|!= default|grown|prealloc */
static int parse_x_bufkind(struct sim_parser *p, struct sim_stmt *s)
{
	static const char *const kinds[] = { "default", "grown", "prealloc" };

	if (sim_parse_argc(p, s, 5, 5) || parse_subject(p, s, s->argv[2], &s->a.task[0]) ||
	    parse_op(p, s->argv[3], &s->a.op, true))
		return -1;
	for (int i = 0; i < 3; i++)
		if (!strcmp(s->argv[4], kinds[i])) {
			s->a.num[0] = (uint64_t)i;
			return 0;
		}
	return sim_parse_error(p, "expected default, grown or prealloc");
}

static int exec_x_bufkind(struct sim_machine *m, const struct sim_stmt *s)
{
	static const char *const kinds[] = { "default", "grown", "prealloc" };
	struct sim_task *t = sim_stmt_task(m, s, 0);
	const struct xk_fpu *fpu = &t->k->fpu;
	unsigned got = fpu->fpstate == fpu->default_fpstate ? 0 : fpu->fpstate->is_prealloc ? 2 : 1;

	if ((got == s->a.num[0]) == (s->a.op == SIM_EQ)) {
		sim_note(m, "%s's buffer: %s (%u bytes)", t->name, kinds[got], fpu->fpstate->size);
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s's buffer is %s (%u bytes)", t->name,
			kinds[got], fpu->fpstate->size);
}

/* expect minsigstksz OP N / expect harvested OP N */
static int parse_x_machine_count(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 4, 4) || parse_op(p, s->argv[2], &s->a.op, false))
		return -1;
	return sim_parse_u64(p, s->argv[3], &s->a.num[0]);
}

static int exec_x_machine_count(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_abi *a = abi_of(m);

	if (!strcmp(s->verb->name, "minsigstksz"))
		return check_u64(m, xk_at_minsigstksz(&m->k), s->a.op, s->a.num[0],
				 "AT_MINSIGSTKSZ");
	if (!a || !a->have_harvest)
		return sim_error(m, "no memory-pressure statement ran yet");
	return check_u64(m, a->harvested, s->a.op, s->a.num[0], "buffers harvested");
}

static int parse_x_perm(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 5, 7) || parse_subject(p, s, s->argv[2], &s->a.task[0]))
		return -1;
	return parse_masked(p, s, 3, true);
}

static const struct sim_verb verbs[] = {
	{ "sigaction", SIM_VERB_TASK, "T sigaction SIG [onstack] [nosiginfo]", parse_sigaction,
	  exec_sigaction },
	{ "signal", SIM_VERB_TASK, "T signal SIG [onstack]", parse_signal, exec_signal },
	{ "sigreturn", SIM_VERB_TASK, "T sigreturn", parse_task_only, exec_sigreturn },
	{ "frame", SIM_VERB_TASK, "T frame set FIELD = VALUE | T frame flip FIELD BIT",
	  parse_frame, exec_frame },
	{ "sigaltstack", SIM_VERB_TASK, "T sigaltstack SIZE [autodisarm] | T sigaltstack off",
	  parse_sigaltstack, exec_sigaltstack },
	{ "arch_prctl", SIM_VERB_TASK, "T arch_prctl OPTION [ARG | addr=ADDR]", parse_arch_prctl,
	  exec_arch_prctl },
	{ "ptrace", SIM_VERB_STMT,
	  "ptrace T get|set xstate|fpregs [len=N] | ptrace T poke FIELD = VALUE | "
	  "ptrace T flip FIELD BIT",
	  parse_ptrace, exec_ptrace },
	{ "alloc-fail", SIM_VERB_STMT, "alloc-fail next [N] | alloc-fail always | alloc-fail off",
	  parse_alloc_fail, exec_alloc_fail },
	{ "memory-pressure", SIM_VERB_STMT, "memory-pressure", parse_no_args, exec_pressure },
	{ "errno", SIM_VERB_EXPECT, "expect errno T ==|!= 0|ENAME", parse_x_errno, exec_x_errno },
	{ "value", SIM_VERB_EXPECT, "expect value T [& MASK] OP MASK", parse_x_value,
	  exec_x_value },
	{ "perm", SIM_VERB_EXPECT, "expect perm T [& MASK] ==|!= MASK", parse_x_perm,
	  exec_x_perm },
	{ "frame", SIM_VERB_EXPECT, "expect frame T FIELD [& MASK] ==|!= VALUE", parse_x_buffer,
	  exec_x_buffer },
	{ "regset", SIM_VERB_EXPECT, "expect regset T FIELD [& MASK] ==|!= VALUE", parse_x_buffer,
	  exec_x_buffer },
	{ "in-handler", SIM_VERB_EXPECT, "expect in-handler T OP N", parse_x_task_count,
	  exec_x_task_count },
	{ "xstate-size", SIM_VERB_EXPECT, "expect xstate-size T OP N", parse_x_task_count,
	  exec_x_task_count },
	{ "sigaltstack-min", SIM_VERB_EXPECT, "expect sigaltstack-min T OP N",
	  parse_x_task_count, exec_x_task_count },
	{ "altstack", SIM_VERB_EXPECT, "expect altstack T OP SIZE", parse_x_task_count,
	  exec_x_task_count },
	{ "buffer", SIM_VERB_EXPECT, "expect buffer T ==|!= default|grown|prealloc",
	  parse_x_bufkind, exec_x_bufkind },
	{ "minsigstksz", SIM_VERB_EXPECT, "expect minsigstksz OP N", parse_x_machine_count,
	  exec_x_machine_count },
	{ "harvested", SIM_VERB_EXPECT, "expect harvested OP N", parse_x_machine_count,
	  exec_x_machine_count },
};

const struct sim_verb_set sim_verbs_abi = { "abi", verbs, sizeof(verbs) / sizeof(verbs[0]) };
