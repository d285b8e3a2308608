/* Comparing a program's run in the ring-0 guest with the model's run.
 *
 * The model is xo_kvm_model (the guest's CPUID) in the start state of
 * xs_exec_setup_cpu; it runs the program one operation at a time through
 * xs_exec_run, so after each operation the value it produced can be read
 * with side-effect-free observers and set against what the guest reported:
 * faults (kind and operation), XGETBV/RDMSR/CPUID values, registers read,
 * buffers dumped, then the final buffers and the observation save.
 *
 * Reserved bytes 416-463 of the legacy region are not compared (SDM Vol. 1
 * 10.5.1: software must not rely on them; spec section 13). An observation
 * made with FXSAVE64 (when the guest cannot execute XSAVE) is compared with
 * the model's XSAVE of x87 and SSE over the legacy bytes 0-415.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "oracle/kvmguest_internal.h"

#define RESERVED_LO 416u
#define RESERVED_HI 464u

struct cmp_state {
	struct xo_kvm_cmp *c;
	const struct xs_prog *p;
	bool differs;
};

static void differ(struct cmp_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void differ(struct cmp_state *s, const char *fmt, ...)
{
	va_list ap;

	if (s->differs)
		return; /* keep the first difference */
	s->differs = true;
	va_start(ap, fmt);
	vsnprintf(s->c->diff, sizeof(s->c->diff), fmt, ap);
	va_end(ap);
}

/* First differing byte of a and b over [from, to), skipping the reserved
 * legacy bytes when skip_reserved; -1 if none. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t from, size_t to,
		       bool skip_reserved)
{
	for (size_t i = from; i < to; i++) {
		if (skip_reserved && i >= RESERVED_LO && i < RESERVED_HI)
			continue;
		if (a[i] != b[i])
			return (long)i;
	}
	return -1;
}

static const char *fault_text(enum xs_fault f)
{
	return f == XS_OK ? "no fault" : xs_fault_name(f);
}

/* The model's value of operation op (which just ran without a fault). */
static void model_value(struct xs_cpu *cpu, const struct xs_op *op, struct xo_kvm_opval *v)
{
	const struct xs_model *m = xs_cpu_model(cpu);
	struct xs_cpuid r;

	v->done = true;
	switch (op->kind) {
	case XS_OP_XGETBV:
		xs_xgetbv(cpu, (uint32_t)op->arg, &v->val[0]);
		break;
	case XS_OP_RDMSR:
		xs_rdmsr(cpu, (uint32_t)op->arg, &v->val[0]);
		break;
	case XS_OP_CPUID:
		r = xs_model_cpuid_d(m, xs_xcr0(cpu), xs_xss(cpu), (unsigned)op->arg);
		v->val[0] = r.eax;
		v->val[1] = r.ebx;
		v->val[2] = r.ecx;
		v->val[3] = r.edx;
		break;
	case XS_OP_READ:
		if (op->reg.size <= XO_KVM_READ_SLOT)
			xs_reg_peek(cpu, &op->reg, v->read);
		break;
	default:
		break;
	}
}

static void compare_value(struct cmp_state *s, size_t i, const struct xo_kvm_opval *g,
			  const struct xo_kvm_opval *m, const struct xs_exec *ex)
{
	const struct xs_op *op = &s->p->ops[i];
	char src[160];
	long d;

	xs_prog_format_op(s->p, op, src, sizeof(src));
	switch (op->kind) {
	case XS_OP_XGETBV: case XS_OP_RDMSR:
		if (g->val[0] != m->val[0])
			differ(s, "line %d (%s): guest 0x%llx, model 0x%llx", op->line, src,
			       (unsigned long long)g->val[0], (unsigned long long)m->val[0]);
		break;
	case XS_OP_CPUID:
		for (int r = 0; r < 4; r++)
			if (g->val[r] != m->val[r])
				differ(s, "line %d (%s): %s guest 0x%llx, model 0x%llx", op->line, src,
				       (const char *[]){ "eax", "ebx", "ecx", "edx" }[r],
				       (unsigned long long)g->val[r], (unsigned long long)m->val[r]);
		break;
	case XS_OP_READ:
		if (memcmp(g->read, m->read, op->reg.size < XO_KVM_READ_SLOT ? op->reg.size
									   : XO_KVM_READ_SLOT))
			differ(s, "line %d (%s): the register's value differs", op->line, src);
		break;
	case XS_OP_DUMP: {
		size_t from = op->has_range ? op->off : 0;
		size_t to = op->has_range ? (size_t)op->off + op->len : ex->bufsize;

		if (to > ex->bufsize)
			to = ex->bufsize;
		d = g->snap ? first_diff(g->snap, ex->buf[op->buf], from, to, false) : 0;
		if (d >= 0)
			differ(s, "line %d (%s): buffer %s differs at byte %ld (guest 0x%02x, model 0x%02x)",
			       op->line, src, s->p->bufname[op->buf], d, g->snap ? g->snap[d] : 0,
			       ex->buf[op->buf][d]);
		break;
	}
	default:
		break;
	}
}

static void compare_buffers(struct cmp_state *s, const struct xo_kvm_run *r,
			    const struct xs_exec *ex)
{
	for (size_t b = 0; b < s->p->nbufs && b < r->res.nbufs; b++) {
		long d = first_diff(r->res.bufs[b], ex->buf[b], 0, ex->bufsize, false);

		if (d >= 0)
			differ(s, "final buffer %s differs at byte %ld (guest 0x%02x, model 0x%02x)",
			       s->p->bufname[b], d, r->res.bufs[b][d], ex->buf[b][d]);
	}
}

/* The final state: the model saves it the way the guest did. */
static void compare_observation(struct cmp_state *s, const struct xo_kvm_run *r,
				struct xs_cpu *cpu, size_t bufsize)
{
	uint8_t *img = aligned_alloc(64, (bufsize + 63) / 64 * 64);
	enum xs_fault f;
	long d;

	if (!img)
		return;
	memset(img, 0, bufsize);
	if (r->observed_xsave) {
		f = xs_xsave(cpu, img, bufsize, ~0ULL);
		if (f == XS_OK && r->res.after) {
			d = first_diff(r->res.after, img, 0, bufsize, true);
			if (d >= 0)
				differ(s, "final state (XSAVE, all of XCR0) differs at byte %ld "
					  "(guest 0x%02x, model 0x%02x)",
				       d, r->res.after[d], img[d]);
		} else if ((f == XS_OK) != (r->res.after != NULL)) {
			differ(s, "final-state XSAVE: guest %s, model %s",
			       r->res.after ? "saved" : "faulted", fault_text(f));
		}
	} else if (r->res.after && (xs_xcr0(cpu) & XS_MASK_FPSSE) == XS_MASK_FPSSE &&
		   xs_xsave(cpu, img, bufsize, XS_MASK_FPSSE) == XS_OK) {
		d = first_diff(r->res.after, img, 0, RESERVED_LO, false);
		if (d >= 0)
			differ(s, "final x87/SSE state (guest FXSAVE, model XSAVE of x87|sse) "
				  "differs at byte %ld (guest 0x%02x, model 0x%02x)",
			       d, r->res.after[d], img[d]);
	}
	free(img);
}

static void summary(char *out, size_t len, enum xs_fault f, bool faulted, int line,
		    const char *extra, const char *values)
{
	if (faulted)
		snprintf(out, len, "%s at line %d", fault_text(f), line);
	else
		snprintf(out, len, "no fault");
	if (extra[0])
		snprintf(out + strlen(out), len - strlen(out), "; %s", extra);
	if (values[0])
		snprintf(out + strlen(out), len - strlen(out), "\n%s", values);
}

/* Step the model through p, comparing after each operation. */
static int step_model(struct cmp_state *s, struct xs_cpu *cpu, const struct xo_kvm_run *r,
		      const struct xo_kvm_opval *gv, struct xo_kvm_opval *mv, bool *m_faulted,
		      struct xs_exec *ex, char *err, size_t errlen)
{
	const struct xs_prog *p = s->p;

	*m_faulted = false;
	for (size_t i = 0; i < p->nops; i++) {
		const struct xs_op *op = &p->ops[i];
		enum xs_exec_status st;
		char src[160];

		if (r->unexecutable && i == r->unexec_op)
			return 0; /* the guest could not go on */
		st = xs_exec_run(ex, p, i, i + 1, NULL);
		if (st == XS_EXEC_ERROR) {
			snprintf(err, errlen, "model: %s", ex->err);
			return -1;
		}
		xs_prog_format_op(p, op, src, sizeof(src));
		if (st == XS_EXEC_FAULT) {
			*m_faulted = true;
			if (!r->faulted || r->fault_op != i || r->res.fault != ex->fault)
				differ(s, "line %d (%s): model %s (%s), guest %s", op->line, src,
				       xs_fault_name(ex->fault), ex->fault_reason,
				       r->faulted && r->fault_op == i ? fault_text(r->res.fault)
								      : "no fault");
			return 0;
		}
		if (r->faulted && r->fault_op == i) {
			differ(s, "line %d (%s): guest %s (vector %u, error code 0x%x), model no fault",
			       op->line, src, fault_text(r->res.fault), r->vector, r->error_code);
			return 0;
		}
		model_value(cpu, op, &mv[i]);
		compare_value(s, i, &gv[i], &mv[i], ex);
	}
	return 0;
}

int xo_kvm_compare(struct xo_kvm *k, const struct xs_prog *p, uint64_t xcr0, uint64_t xss,
		   bool observe, struct xo_kvm_cmp *c, char *err, size_t errlen)
{
	struct cmp_state s = { .c = c, .p = p };
	struct xo_kvm_run r;
	struct xo_kvm_opval *gv = NULL, *mv = NULL;
	struct xs_cpu *cpu = NULL;
	struct xs_exec ex;
	bool ex_ready = false, m_faulted = false, m_setup_ok;
	char mvals[1024] = "", merr[256] = "";
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (xo_kvm_run_values(k, p, xcr0, xss, observe, &r, &gv, err, errlen) < 0)
		return -1;
	mv = calloc(p->nops ? p->nops : 1, sizeof(*mv));
	cpu = xs_cpu_new(&k->model);
	if (!mv || !cpu) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	m_setup_ok = xs_exec_setup_cpu(cpu, xcr0, xss, merr, sizeof(merr)) == 0;
	if (!m_setup_ok || r.setup_failed) {
		if (m_setup_ok || !r.setup_failed)
			differ(&s, "start state (xcr0 0x%llx, xss 0x%llx): model %s, guest %s",
			       (unsigned long long)xcr0, (unsigned long long)xss,
			       m_setup_ok ? "accepts it" : merr,
			       r.setup_failed ? r.unexec_why : "accepts it");
		goto verdict;
	}
	if (xs_exec_init(&ex, cpu, p) < 0) {
		snprintf(err, errlen, "model: %s", ex.err);
		goto out;
	}
	ex_ready = true;
	if (step_model(&s, cpu, &r, gv, mv, &m_faulted, &ex, err, errlen) < 0)
		goto out;
	if (!r.unexecutable) {
		if (!m_faulted && r.faulted)
			differ(&s, "guest %s at line %d, model ran on", fault_text(r.res.fault),
			       r.res.fault_line);
		compare_buffers(&s, &r, &ex);
		if (observe)
			compare_observation(&s, &r, cpu, ex.bufsize);
	}
verdict:
	if (s.differs)
		c->verdict = XO_KVM_DIFFERENT;
	else if (r.unexecutable)
		c->verdict = XO_KVM_NOT_RUN;
	else
		c->verdict = XO_KVM_SAME;
	if (c->verdict == XO_KVM_NOT_RUN)
		snprintf(c->diff, sizeof(c->diff), "line %d: %s", r.unexec_line, r.unexec_why);
	xo_kvm_format_values(p, mv, p->nops, mvals, sizeof(mvals));
	summary(c->model_out, sizeof(c->model_out), ex_ready ? ex.fault : XS_OK, m_faulted,
		ex_ready ? ex.fault_line : 0, m_setup_ok ? "" : merr, mvals);
	summary(c->guest_out, sizeof(c->guest_out), r.res.fault, r.faulted, r.res.fault_line,
		r.unexecutable || r.setup_failed ? r.unexec_why : "", r.res.text);
	rc = 0;
out:
	if (ex_ready)
		xs_exec_free(&ex);
	xs_cpu_free(cpu);
	xo_kvm_opvals_free(mv, p->nops);
	xo_kvm_opvals_free(gv, p->nops);
	xo_kvm_run_free(&r);
	return rc;
}
