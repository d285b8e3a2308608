/* Running exec programs (prog.h) in the ring-0 guest, and comparing them
 * with the model.
 *
 * A program becomes straight-line guest code, one block per operation:
 *     mov r15, INDEX ; operand setup ; the instruction ; out 0xE1
 * so every finished operation exits to the host, which reads results from
 * the vCPU registers (XGETBV, RDMSR, CPUID) and snapshots buffers for dump.
 * An exception goes through the IDT stub (kvm_vm.c) to port 0xE2 with R15
 * still naming the operation. Buffers sit in guest memory, each ending at a
 * page boundary followed by an unmapped page, so an access past a buffer's
 * end raises #PF as the model's XS_PF does. After the program (or its first
 * fault) an optional observation block saves the final state: XSAVE with
 * EDX:EAX all ones when the guest can execute XSAVE, otherwise FXSAVE64
 * (x87 and SSE only).
 *
 * The model side runs the same program one operation at a time through
 * xs_exec_run and reads each operation's value with the side-effect-free
 * observers (xs_reg_peek, XGETBV/RDMSR/CPUID again), so the comparison is
 * of values, not of printed text.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/kvm_codegen.h"
#include "oracle/kvmguest_internal.h"

#define PROLOGUE_TAG 0xFFFF0000u /* R15 of the start-state instructions */
#define MEM_MAX ((size_t)KV_PT_MAX << 21)

const char *xo_kvm_verdict_name(enum xo_kvm_verdict v)
{
	switch (v) {
	case XO_KVM_SAME:
		return "same";
	case XO_KVM_DIFFERENT:
		return "different";
	case XO_KVM_NOT_RUN:
		return "not-run";
	}
	return "?";
}

/* ---- which programs the guest can run ---------------------------------- */

/* xmmN / ymmN (N < 16) and mxcsr are the registers the guest writes and
 * reads with real instructions (MOVDQU, VMOVDQU, LDMXCSR/STMXCSR), as the
 * user-mode oracle does. Returns 'x', 'y', 'm' or 0; *n is N. */
static char reg_class(const struct xs_reg *r, unsigned *n)
{
	char *end;
	unsigned long v;

	*n = 0;
	if (!strcmp(r->name, "mxcsr"))
		return 'm';
	if ((strncmp(r->name, "xmm", 3) && strncmp(r->name, "ymm", 3)) || !r->name[3])
		return 0;
	v = strtoul(r->name + 3, &end, 10);
	if (*end || v > 15)
		return 0;
	*n = (unsigned)v;
	return r->name[0];
}

static const char *op_unsupported(const struct xs_op *op)
{
	unsigned n;

	switch (op->kind) {
	case XS_OP_FILL: case XS_OP_SET: case XS_OP_DUMP:
	case XS_OP_XSAVE: case XS_OP_XSAVEOPT: case XS_OP_XSAVEC: case XS_OP_XSAVES:
	case XS_OP_XRSTOR: case XS_OP_XRSTORS:
	case XS_OP_XGETBV: case XS_OP_XSETBV: case XS_OP_RDMSR: case XS_OP_WRMSR:
	case XS_OP_LDMXCSR: case XS_OP_FNINIT: case XS_OP_VZEROUPPER:
	case XS_OP_TS: case XS_OP_OSXSAVE: case XS_OP_CPUID:
		return NULL;
	case XS_OP_READ: case XS_OP_WRITE:
		return reg_class(&op->reg, &n) ? NULL : "only xmm0-15, ymm0-15 and mxcsr";
	case XS_OP_CPL:
		return op->arg == 0 ? NULL : "the guest runs at CPL 0 only";
	case XS_OP_LOAD: case XS_OP_STORE:
		return "no files in the guest";
	case XS_OP_DECODE: case XS_OP_XINUSE:
		return "a model observer, not an instruction";
	case XS_OP_AC:
		return "alignment checking applies at CPL 3 only";
	case XS_OP_TILERELEASE: case XS_OP_RDPKRU: case XS_OP_WRPKRU:
		return "not generated for the guest";
	case XS_OP_COUNT:
		break;
	}
	return "unknown operation";
}

int xo_kvm_prog_check(const struct xs_prog *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->nops; i++) {
		const char *why = op_unsupported(&p->ops[i]);

		if (why) {
			snprintf(err, errlen, "line %d: %s: %s", p->ops[i].line,
				 xs_op_name(p->ops[i].kind), why);
			return -1;
		}
	}
	return 0;
}

/* ---- guest memory layout ----------------------------------------------- */

struct layout {
	size_t bufsize, nbufs;
	uint64_t buf[XS_PROG_MAX_BUFS + 1]; /* [nbufs] is the observation buffer */
	uint64_t guard[XS_PROG_MAX_BUFS + 1];
	uint64_t blob, blob_size;           /* constant data (set bytes, register values) */
	uint64_t reads;                     /* XO_KVM_READ_SLOT bytes per operation */
	size_t mem;
};

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static size_t blob_need(const struct xs_prog *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nops; i++) {
		const struct xs_op *op = &p->ops[i];

		if (op->kind == XS_OP_SET || op->kind == XS_OP_WRITE)
			n += round_up(op->len, 64);
		else if (op->kind == XS_OP_LDMXCSR)
			n += 64;
	}
	return n;
}

static int plan_layout(const struct xs_prog *p, struct layout *l, char *err, size_t errlen)
{
	uint64_t span, at = KV_DATA;

	memset(l, 0, sizeof(*l));
	l->bufsize = p->bufsize;
	l->nbufs = p->nbufs;
	if (!l->bufsize || l->bufsize % 64 || l->nbufs > XS_PROG_MAX_BUFS) {
		snprintf(err, errlen, "program buffers (%zu of %zu bytes) cannot be laid out",
			 l->nbufs, l->bufsize);
		return -1;
	}
	/* Each buffer ends where a page ends; the next page stays unmapped. */
	span = round_up(l->bufsize, 4096);
	for (size_t i = 0; i <= l->nbufs; i++) {
		l->buf[i] = at + span - l->bufsize;
		l->guard[i] = at + span;
		at += span + 4096;
	}
	l->blob = at;
	l->blob_size = blob_need(p);
	at = round_up(at + l->blob_size, 4096);
	l->reads = at;
	at = round_up(at + (uint64_t)XO_KVM_READ_SLOT * (p->nops + 1), 4096);
	l->mem = round_up(at, 2u << 20);
	if (l->mem > MEM_MAX) {
		snprintf(err, errlen, "program needs %llu bytes of guest memory (at most %zu)",
			 (unsigned long long)at, MEM_MAX);
		return -1;
	}
	return 0;
}

/* ---- code generation --------------------------------------------------- */

/* EDX:EAX of a save/restore: the operand's RFBM, all ones when omitted
 * (the exec default). */
static uint64_t op_rfbm(const struct xs_op *op)
{
	return op->has_arg ? op->arg : ~0ULL;
}

static void emit_edx_eax(struct kc_buf *b, uint64_t v)
{
	kc_mov_imm(b, KC_RAX, (uint32_t)v);
	kc_mov_imm(b, KC_RDX, (uint32_t)(v >> 32));
}

static const enum kc_xop xop_of[XS_OP_COUNT] = {
	[XS_OP_XSAVE] = KC_XSAVE,   [XS_OP_XSAVEOPT] = KC_XSAVEOPT, [XS_OP_XSAVEC] = KC_XSAVEC,
	[XS_OP_XSAVES] = KC_XSAVES, [XS_OP_XRSTOR] = KC_XRSTOR,     [XS_OP_XRSTORS] = KC_XRSTORS,
};

static void emit_reg(struct kc_buf *b, const struct xs_op *op, bool write, uint64_t data,
		     uint64_t slot)
{
	unsigned n;
	char cls = reg_class(&op->reg, &n);

	kc_mov_imm(b, KC_RSI, data);
	kc_mov_imm(b, KC_RDI, slot);
	if (cls == 'x')
		kc_movdqu(b, !write, n, write ? KC_RSI : KC_RDI);
	else if (cls == 'y')
		kc_vmovdqu256(b, !write, n, write ? KC_RSI : KC_RDI);
	else
		kc_mxcsr(b, !write, write ? KC_RSI : KC_RDI);
}

/* One operation. *blob is the next free constant-data address; the data
 * is copied into guest memory here. */
static void emit_op(struct kc_buf *b, uint8_t *mem, const struct layout *l, const struct xs_op *op,
		    size_t idx, uint64_t *blob)
{
	uint64_t addr = op->buf >= 0 ? l->buf[op->buf] + op->off : 0;
	uint64_t slot = l->reads + (uint64_t)XO_KVM_READ_SLOT * idx;
	uint32_t mx;

	kc_mov_imm(b, KC_R15, idx);
	switch (op->kind) {
	case XS_OP_FILL:
		kc_mov_imm(b, KC_RDI, l->buf[op->buf]);
		kc_mov_imm(b, KC_RCX, l->bufsize);
		kc_mov_imm(b, KC_RAX, op->arg & 0xFF);
		kc_rep_stosb(b);
		break;
	case XS_OP_SET:
		memcpy(mem + *blob, op->data, op->len);
		kc_mov_imm(b, KC_RSI, *blob);
		kc_mov_imm(b, KC_RDI, addr);
		kc_mov_imm(b, KC_RCX, op->len);
		kc_rep_movsb(b);
		*blob += round_up(op->len, 64);
		break;
	case XS_OP_XSAVE: case XS_OP_XSAVEOPT: case XS_OP_XSAVEC: case XS_OP_XSAVES:
	case XS_OP_XRSTOR: case XS_OP_XRSTORS:
		kc_mov_imm(b, KC_RDI, addr);
		emit_edx_eax(b, op_rfbm(op));
		kc_xop(b, xop_of[op->kind], KC_RDI);
		break;
	case XS_OP_XGETBV:
		kc_mov_imm(b, KC_RCX, (uint32_t)op->arg);
		kc_xgetbv(b);
		break;
	case XS_OP_XSETBV:
		kc_mov_imm(b, KC_RCX, (uint32_t)op->arg);
		emit_edx_eax(b, op->arg2);
		kc_xsetbv(b);
		break;
	case XS_OP_RDMSR:
		kc_mov_imm(b, KC_RCX, (uint32_t)op->arg);
		kc_rdmsr(b);
		break;
	case XS_OP_WRMSR:
		kc_mov_imm(b, KC_RCX, (uint32_t)op->arg);
		emit_edx_eax(b, op->arg2);
		kc_wrmsr(b);
		break;
	case XS_OP_READ:
		emit_reg(b, op, false, 0, slot);
		break;
	case XS_OP_WRITE:
		memcpy(mem + *blob, op->data, op->len);
		emit_reg(b, op, true, *blob, slot);
		*blob += round_up(op->len, 64);
		break;
	case XS_OP_LDMXCSR:
		mx = (uint32_t)op->arg;
		memcpy(mem + *blob, &mx, 4);
		kc_mov_imm(b, KC_RSI, *blob);
		kc_mxcsr(b, false, KC_RSI);
		*blob += 64;
		break;
	case XS_OP_FNINIT:
		kc_fninit(b);
		break;
	case XS_OP_VZEROUPPER:
		kc_vzeroupper(b);
		break;
	case XS_OP_TS:
		if (op->arg) {
			kc_mov_from_cr(b, 0, KC_RAX);
			kc_bit(b, KC_RAX, 3, true); /* CR0.TS */
			kc_mov_to_cr(b, 0, KC_RAX);
		} else {
			kc_clts(b);
		}
		break;
	case XS_OP_OSXSAVE:
		kc_mov_from_cr(b, 4, KC_RAX);
		kc_bit(b, KC_RAX, 18, op->arg != 0); /* CR4.OSXSAVE */
		kc_mov_to_cr(b, 4, KC_RAX);
		break;
	case XS_OP_CPUID:
		kc_mov_imm(b, KC_RAX, 0xD);
		kc_mov_imm(b, KC_RCX, (uint32_t)op->arg);
		kc_cpuid(b);
		break;
	default: /* DUMP, CPL 0: the host does the work at the exit */
		break;
	}
	kc_out_eax(b, KV_PORT_DONE);
}

/* The start state of xs_exec_setup_cpu: XSETBV(0, xcr0) and, when asked
 * for, WRMSR(IA32_XSS, xss). CR4.OSXSAVE is set by kv_start. */
static void emit_prologue(struct kc_buf *b, uint64_t xcr0, uint64_t xss)
{
	kc_mov_imm(b, KC_R15, PROLOGUE_TAG);
	kc_mov_imm(b, KC_RCX, 0);
	emit_edx_eax(b, xcr0);
	kc_xsetbv(b);
	kc_out_eax(b, KV_PORT_DONE);
	if (xss) {
		kc_mov_imm(b, KC_R15, PROLOGUE_TAG + 1);
		kc_mov_imm(b, KC_RCX, XS_MSR_XSS);
		emit_edx_eax(b, xss);
		kc_wrmsr(b);
		kc_out_eax(b, KV_PORT_DONE);
	}
}

static bool guest_can(const struct xo_kvm *k, enum xs_op_kind kind)
{
	return k->x.runnable_ops & XS_BIT(kind);
}

/* Returns the observation block's address, or 0 if the code did not fit. */
static uint64_t generate(const struct xo_kvm *k, struct kv_vm *vm, const struct layout *l,
			 const struct xs_prog *p, uint64_t xcr0, uint64_t xss, bool *obs_xsave)
{
	uint8_t *mem = kv_mem(vm);
	uint64_t blob = l->blob, obs;
	struct kc_buf b;

	kc_init(&b, mem + KV_CODE, KV_CODE_END - KV_CODE);
	emit_prologue(&b, xcr0, xss);
	for (size_t i = 0; i < p->nops; i++)
		emit_op(&b, mem, l, &p->ops[i], i, &blob);
	kc_out_eax(&b, KV_PORT_END);
	kc_hlt(&b);
	obs = KV_CODE + b.len;
	*obs_xsave = guest_can(k, XS_OP_XSAVE);
	kc_mov_imm(&b, KC_R15, p->nops);
	kc_mov_imm(&b, KC_RDI, l->buf[l->nbufs]);
	emit_edx_eax(&b, ~0ULL);
	if (*obs_xsave)
		kc_xop(&b, KC_XSAVE, KC_RDI);
	else
		kc_fxsave64(&b, KC_RDI);
	kc_out_eax(&b, KV_PORT_OBSERVED);
	kc_hlt(&b);
	return b.overflow ? 0 : obs;
}

/* ---- running ------------------------------------------------------------ */

void xo_kvm_opvals_free(struct xo_kvm_opval *o, size_t n)
{
	if (!o)
		return;
	for (size_t i = 0; i < n; i++)
		free(o[i].snap);
	free(o);
}

void xo_kvm_run_free(struct xo_kvm_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < XS_PROG_MAX_BUFS; i++) {
		free(r->res.bufs[i]);
		r->res.bufs[i] = NULL;
	}
	free(r->res.after);
	r->res.after = NULL;
}

static void text_add(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void text_add(char *out, size_t len, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n >= len - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, len - n, fmt, ap);
	va_end(ap);
}

/* The values operations produced, one line each: "SOURCE = VALUE". */
void xo_kvm_format_values(const struct xs_prog *p, const struct xo_kvm_opval *v, size_t n,
			  char *out, size_t len)
{
	char src[160];

	for (size_t i = 0; i < n && i < p->nops; i++) {
		const struct xs_op *op = &p->ops[i];

		if (!v[i].done)
			continue;
		xs_prog_format_op(p, op, src, sizeof(src));
		switch (op->kind) {
		case XS_OP_XGETBV: case XS_OP_RDMSR:
			text_add(out, len, "%s = 0x%llx\n", src, (unsigned long long)v[i].val[0]);
			break;
		case XS_OP_CPUID:
			text_add(out, len, "%s = eax=%08llx ebx=%08llx ecx=%08llx edx=%08llx\n", src,
				 (unsigned long long)v[i].val[0], (unsigned long long)v[i].val[1],
				 (unsigned long long)v[i].val[2], (unsigned long long)v[i].val[3]);
			break;
		case XS_OP_READ:
			text_add(out, len, "%s = 0x", src);
			for (size_t b = op->reg.size; b-- > 0;)
				text_add(out, len, "%02x", b < XO_KVM_READ_SLOT ? v[i].read[b] : 0);
			text_add(out, len, "\n");
			break;
		default:
			break;
		}
	}
}

struct run_ctx {
	struct xo_kvm_run *r;
	struct xo_kvm_opval *obs;
	const struct xs_prog *p;
	const struct layout *l;
	struct kv_vm *vm;
};

static int on_done(struct run_ctx *c, const struct kv_exit *e, char *err, size_t errlen)
{
	uint64_t idx = e->gpr[KC_R15];
	const struct xs_op *op;
	struct xo_kvm_opval *o;

	if (idx >= PROLOGUE_TAG)
		return 0;
	if (idx >= c->p->nops) {
		snprintf(err, errlen, "guest reported operation %llu of %zu",
			 (unsigned long long)idx, c->p->nops);
		return -1;
	}
	op = &c->p->ops[idx];
	o = &c->obs[idx];
	o->done = true;
	o->val[0] = (e->gpr[KC_RDX] << 32) | (uint32_t)e->gpr[KC_RAX];
	if (op->kind == XS_OP_CPUID) {
		o->val[0] = (uint32_t)e->gpr[KC_RAX];
		o->val[1] = (uint32_t)e->gpr[KC_RBX];
		o->val[2] = (uint32_t)e->gpr[KC_RCX];
		o->val[3] = (uint32_t)e->gpr[KC_RDX];
	}
	if (op->kind == XS_OP_DUMP) {
		o->snap = malloc(c->l->bufsize);
		if (!o->snap) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(o->snap, kv_mem(c->vm) + c->l->buf[op->buf], c->l->bufsize);
	}
	return 0;
}

/* An exception report: vector in EAX, error code and RIP on the stack. */
static int on_trap(struct run_ctx *c, const struct kv_exit *e, char *err, size_t errlen)
{
	uint64_t idx = e->gpr[KC_R15], rsp = e->gpr[KC_RSP], ec = 0;
	int f = xo_kvm_fault_of_vector(e->data);

	if (rsp + 16 <= kv_mem_size(c->vm))
		memcpy(&ec, kv_mem(c->vm) + rsp, 8);
	c->r->vector = e->data;
	c->r->error_code = (uint32_t)ec;
	if (idx >= PROLOGUE_TAG) {
		c->r->setup_failed = true;
		snprintf(c->r->unexec_why, sizeof(c->r->unexec_why),
			 "start state: %s faulted with vector %u",
			 idx == PROLOGUE_TAG ? "XSETBV(0, xcr0)" : "WRMSR(IA32_XSS, xss)", e->data);
		return 1;
	}
	if (idx >= c->p->nops || f < 0) {
		snprintf(err, errlen, "unexpected exception vector %u (error code 0x%llx) at %s %llu",
			 e->data, (unsigned long long)ec,
			 idx >= c->p->nops ? "observation, op" : "op", (unsigned long long)idx);
		return -1;
	}
	c->r->res.fault = (enum xs_fault)f;
	c->r->res.fault_line = c->p->ops[idx].line;
	c->r->faulted = true;
	c->r->fault_op = idx;
	return 0;
}

/* The first few instruction bytes KVM could not emulate, in hex. */
static const char *insn_hex(const struct kv_exit *e, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < e->insn_size && i < 6 && n + 4 < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%02x", i ? " " : "", e->insn[i]);
	return out;
}

static void on_unexecutable(struct run_ctx *c, const struct kv_exit *e)
{
	uint64_t idx = e->gpr[KC_R15];
	char bytes[32];

	c->r->unexecutable = true;
	c->r->unexec_op = idx < c->p->nops ? idx : c->p->nops;
	c->r->unexec_line = idx < c->p->nops ? c->p->ops[idx].line : 0;
	if (idx >= PROLOGUE_TAG)
		snprintf(c->r->unexec_why, sizeof(c->r->unexec_why),
			 "start state: the hypervisor could not execute %s (KVM exit %u)",
			 idx == PROLOGUE_TAG ? "XSETBV" : "WRMSR", e->reason);
	else if (idx < c->p->nops)
		snprintf(c->r->unexec_why, sizeof(c->r->unexec_why),
			 "the hypervisor could not execute '%s' (KVM exit %u, suberror %u%s%s)",
			 xs_op_name(c->p->ops[idx].kind), e->reason, e->data,
			 e->insn_size ? ", bytes " : "", insn_hex(e, bytes, sizeof(bytes)));
	else
		snprintf(c->r->unexec_why, sizeof(c->r->unexec_why),
			 "the hypervisor could not execute the observation save (KVM exit %u)",
			 e->reason);
}

static int copy_results(struct run_ctx *c, bool observed)
{
	struct xs_run_result *res = &c->r->res;
	uint8_t *mem = kv_mem(c->vm);

	res->nbufs = c->l->nbufs;
	res->bufsize = c->l->bufsize;
	for (size_t i = 0; i < c->l->nbufs; i++) {
		res->bufs[i] = malloc(c->l->bufsize);
		if (!res->bufs[i])
			return -1;
		memcpy(res->bufs[i], mem + c->l->buf[i], c->l->bufsize);
	}
	if (observed) {
		res->after = malloc(c->l->bufsize);
		if (!res->after)
			return -1;
		memcpy(res->after, mem + c->l->buf[c->l->nbufs], c->l->bufsize);
	}
	for (size_t i = 0; i < c->p->nops; i++)
		if (c->obs[i].done && c->p->ops[i].kind == XS_OP_READ)
			memcpy(c->obs[i].read, mem + c->l->reads + (uint64_t)XO_KVM_READ_SLOT * i,
			       XO_KVM_READ_SLOT);
	xo_kvm_format_values(c->p, c->obs, c->p->nops, res->text, sizeof(res->text));
	return 0;
}

/* The exit loop. Returns 0 when the run is over (whatever the guest did). */
static int drive(struct run_ctx *c, uint64_t obs_rip, bool observe, bool *observed, char *err,
		 size_t errlen)
{
	size_t max_exits = 2 * c->p->nops + 16;
	bool observing = false;
	struct kv_exit e;
	int rc;

	*observed = false;
	while (c->r->exits < max_exits) {
		if (kv_run(c->vm, &e, err, errlen) < 0)
			return -1;
		c->r->exits++;
		if (e.kind == KV_EXIT_OTHER) {
			on_unexecutable(c, &e);
			return 0; /* the vCPU is not trusted after this */
		}
		if (e.kind != KV_EXIT_OUT) {
			snprintf(err, errlen, "guest stopped unexpectedly (HLT at 0x%llx)",
				 (unsigned long long)e.rip);
			return -1;
		}
		switch (e.port) {
		case KV_PORT_DONE:
			if (on_done(c, &e, err, errlen) < 0)
				return -1;
			continue;
		case KV_PORT_OBSERVED:
			*observed = true;
			return 0;
		case KV_PORT_TRAP:
			if (observing)
				return 0; /* the observation itself faulted: no after image */
			rc = on_trap(c, &e, err, errlen);
			if (rc < 0)
				return -1;
			if (rc > 0)
				return 0; /* start state refused */
			break;
		case KV_PORT_END:
			break;
		default:
			snprintf(err, errlen, "guest wrote to unexpected port 0x%x", e.port);
			return -1;
		}
		if (!observe || observing)
			return 0;
		observing = true;
		if (kv_resume_at(c->vm, obs_rip) < 0) {
			snprintf(err, errlen, "KVM_SET_REGS failed");
			return -1;
		}
	}
	snprintf(err, errlen, "guest did not finish within %zu exits", max_exits);
	return -1;
}

int xo_kvm_run_values(struct xo_kvm *k, const struct xs_prog *p, uint64_t xcr0, uint64_t xss,
		      bool observe, struct xo_kvm_run *r, struct xo_kvm_opval **obs_out, char *err,
		      size_t errlen)
{
	struct layout l;
	struct kv_vm *vm = NULL;
	struct run_ctx c;
	uint64_t obs_rip;
	bool observed = false;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	*obs_out = NULL;
	if (xo_kvm_prog_check(p, err, errlen) < 0 || plan_layout(p, &l, err, errlen) < 0)
		return -1;
	if (xo_kvm_new_vm(k, l.mem, &vm, err, errlen) != KV_OPEN_OK)
		return -1;
	c.r = r;
	c.p = p;
	c.l = &l;
	c.vm = vm;
	c.obs = calloc(p->nops ? p->nops : 1, sizeof(*c.obs));
	if (!c.obs) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i <= l.nbufs; i++)
		kv_set_page_present(vm, l.guard[i], false);
	obs_rip = generate(k, vm, &l, p, xcr0, xss, &r->observed_xsave);
	if (!obs_rip) {
		snprintf(err, errlen, "program too long for the guest's code area");
		goto out;
	}
	if (kv_start(vm, KV_CODE, true, err, errlen) < 0)
		goto out;
	if (drive(&c, obs_rip, observe, &observed, err, errlen) < 0)
		goto out;
	if (copy_results(&c, observed) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*obs_out = c.obs;
	c.obs = NULL;
	rc = 0;
out:
	if (rc < 0) {
		xo_kvm_run_free(r);
		xo_kvm_opvals_free(c.obs, p->nops);
	}
	kv_close(vm);
	return rc;
}

int xo_kvm_prog_run(struct xo_kvm *k, const struct xs_prog *p, uint64_t xcr0, uint64_t xss,
		    bool observe, struct xo_kvm_run *r, char *err, size_t errlen)
{
	struct xo_kvm_opval *obs;

	if (xo_kvm_run_values(k, p, xcr0, xss, observe, r, &obs, err, errlen) < 0)
		return -1;
	xo_kvm_opvals_free(obs, p->nops);
	return 0;
}
