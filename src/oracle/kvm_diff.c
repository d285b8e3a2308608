/* Random ring-0 programs for `xstate diff-hw`: the guest against the model.
 *
 * Each case is a short exec program built in code from the operations the
 * guest can execute (exposure.runnable_ops): XSETBV with legal and illegal
 * values and ECX, XGETBV, RDMSR/WRMSR of IA32_XSS, IA32_XFD, IA32_XFD_ERR and
 * the CET MSRs, CPUID.(0DH,n), XMM writes and reads, the six save/restore
 * instructions on two buffers with random RFBMs, offsets (some misaligned)
 * and header/MXCSR corruptions, CR4.OSXSAVE and CR0.TS changes. Start states
 * are random legal XCR0/IA32_XSS values. A guest run is not interrupted by
 * the host between operations, so unlike the user-mode oracle a
 * disagreement is not repeated before it counts.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oracle/kvmguest_internal.h"
#include "xstate/sim.h"

#define MAX_OPS 8
#define MAX_LEGAL 64

struct gen {
	struct sim_prng rng;
	const struct xs_model *m;
	uint64_t runnable;
	uint64_t legal_xcr0[MAX_LEGAL], legal_xss[MAX_LEGAL];
	size_t nlegal_xcr0, nlegal_xss;
};

static uint64_t below(struct gen *g, uint64_t n)
{
	return n ? sim_prng_below(&g->rng, n) : 0;
}

static bool chance(struct gen *g, unsigned percent)
{
	return below(g, 100) < percent;
}

/* Every subset of sup that is_legal accepts (sup has few bits on every
 * CPU we model; more than 12 would make the walk long, so stop there). */
static size_t legal_subsets(const struct xs_model *m, uint64_t sup, bool xcr0, uint64_t *out)
{
	uint64_t sub = 0;
	size_t n = 0;

	if (__builtin_popcountll(sup) > 12)
		sup &= (1ULL << 13) - 1;
	do {
		const char *why = xcr0 ? xs_xcr0_invalid_reason(m, sub) : xs_xss_invalid_reason(m, sub);

		if (!why && n < MAX_LEGAL)
			out[n++] = sub;
		sub = (sub - sup) & sup;
	} while (sub);
	return n;
}

/* A value for XSETBV or WRMSR(IA32_XSS): mostly legal, sometimes one bit
 * off (a reserved, supervisor or unsupported bit; bit 0 cleared). */
static uint64_t mask_value(struct gen *g, bool xcr0)
{
	const uint64_t *legal = xcr0 ? g->legal_xcr0 : g->legal_xss;
	size_t n = xcr0 ? g->nlegal_xcr0 : g->nlegal_xss;
	uint64_t v = n ? legal[below(g, n)] : 0;

	if (chance(g, 40)) {
		switch (below(g, 4)) {
		case 0:
			v ^= 1ULL << below(g, 20); /* a named component */
			break;
		case 1:
			v |= 1ULL << below(g, 64);
			break;
		case 2:
			v &= ~1ULL;
			break;
		default:
			v |= 1ULL << (8 + below(g, 9)); /* a supervisor bit */
			break;
		}
	}
	return v;
}

static const uint32_t msrs[] = {
	XS_MSR_XSS, XS_MSR_XFD, XS_MSR_XFD_ERR, XS_MSR_U_CET, XS_MSR_S_CET, XS_MSR_PL0_SSP,
	XS_MSR_PL3_SSP,
};

static uint64_t rfbm(struct gen *g)
{
	switch (below(g, 4)) {
	case 0:
		return ~0ULL;
	case 1:
		return g->m->xcr0_supported | g->m->xss_supported;
	case 2:
		return sim_prng_next(&g->rng) & (g->m->xcr0_supported | g->m->xss_supported);
	default:
		return 1ULL << below(g, 20);
	}
}

static int add(struct xs_prog *p, struct xs_op *op)
{
	op->line = (int)p->nops + 1;
	return xs_prog_append(p, op) ? 0 : -1;
}

static int add_set(struct gen *g, struct xs_prog *p, int buf, uint32_t off, const void *bytes,
		   uint32_t len)
{
	struct xs_op op = { .kind = XS_OP_SET, .buf = buf, .off = off, .len = len };

	op.data = malloc(len);
	if (!op.data)
		return -1;
	memcpy(op.data, bytes, len);
	return add(p, &op);
}

/* Corrupt (or make valid) one field of an image: XSTATE_BV, XCOMP_BV, a
 * reserved header byte or MXCSR. */
static int add_header_change(struct gen *g, struct xs_prog *p, int buf)
{
	uint64_t all = g->m->xcr0_supported | g->m->xss_supported, v;
	uint32_t mx;

	switch (below(g, 4)) {
	case 0: /* XSTATE_BV */
		v = chance(g, 50) ? (sim_prng_next(&g->rng) & all) : (1ULL << below(g, 64));
		return add_set(g, p, buf, XS_HDR_OFFSET, &v, 8);
	case 1: /* XCOMP_BV */
		v = chance(g, 70) ? (XS_COMPACTED_BIT | (sim_prng_next(&g->rng) & all))
				  : sim_prng_next(&g->rng);
		return add_set(g, p, buf, XS_HDR_OFFSET + 8, &v, 8);
	case 2: /* a reserved header byte */
		v = 1 + below(g, 255);
		return add_set(g, p, buf, XS_HDR_OFFSET + 16 + (uint32_t)below(g, 48), &v, 1);
	default: /* MXCSR: valid, or with a reserved bit */
		mx = chance(g, 50) ? XS_MXCSR_DEFAULT : (uint32_t)sim_prng_next(&g->rng);
		return add_set(g, p, buf, 24, &mx, 4);
	}
}

static int add_xop(struct gen *g, struct xs_prog *p, int buf)
{
	static const enum xs_op_kind kinds[] = {
		XS_OP_XSAVE, XS_OP_XSAVEOPT, XS_OP_XSAVEC, XS_OP_XSAVES, XS_OP_XRSTOR, XS_OP_XRSTORS,
	};
	enum xs_op_kind k = kinds[below(g, 6)];
	struct xs_op op = { .buf = buf, .has_arg = true };

	if (!(g->runnable & XS_BIT(k)))
		return 0;
	op.kind = k;
	op.arg = rfbm(g);
	op.off = chance(g, 85) ? 0 : (chance(g, 50) ? 64 : 8 * (uint32_t)(1 + below(g, 7)));
	return add(p, &op);
}

static int add_write_xmm(struct gen *g, struct xs_prog *p)
{
	struct xs_op op = { .kind = XS_OP_WRITE, .buf = -1 };
	char name[8];

	snprintf(name, sizeof(name), "xmm%u", (unsigned)below(g, 16));
	if (xs_reg_lookup(g->m, name, &op.reg) < 0)
		return 0;
	op.len = op.reg.size;
	op.data = malloc(op.len);
	if (!op.data)
		return -1;
	for (uint32_t i = 0; i < op.len; i++)
		op.data[i] = (uint8_t)sim_prng_next(&g->rng);
	if (add(p, &op) < 0)
		return -1;
	if (!chance(g, 50))
		return 0;
	op.kind = XS_OP_READ;
	op.data = NULL;
	op.len = 0;
	return add(p, &op);
}

/* One random operation of a kind the guest can run. */
static int add_random_op(struct gen *g, struct xs_prog *p, int a, int b)
{
	struct xs_op op = { .buf = -1 };

	switch (below(g, 11)) {
	case 0:
	case 1:
		op.kind = XS_OP_XSETBV;
		op.arg = chance(g, 90) ? 0 : below(g, 3);
		op.arg2 = mask_value(g, true);
		break;
	case 2:
		op.kind = XS_OP_XGETBV;
		op.arg = below(g, 3);
		break;
	case 3:
		op.kind = chance(g, 50) ? XS_OP_WRMSR : XS_OP_RDMSR;
		op.arg = msrs[below(g, sizeof(msrs) / sizeof(msrs[0]))];
		op.arg2 = op.arg == XS_MSR_XSS ? mask_value(g, false)
					       : (chance(g, 50) ? 0 : 1ULL << below(g, 64));
		break;
	case 4:
		op.kind = XS_OP_CPUID;
		op.arg = chance(g, 80) ? below(g, 3) : below(g, 64);
		break;
	case 5:
	case 6:
	case 7:
		return add_xop(g, p, chance(g, 70) ? a : b);
	case 8:
		return add_header_change(g, p, chance(g, 70) ? a : b);
	case 9:
		if (g->runnable & XS_BIT(XS_OP_WRITE))
			return add_write_xmm(g, p);
		op.kind = XS_OP_FNINIT;
		break;
	default:
		op.kind = chance(g, 50) ? XS_OP_OSXSAVE : XS_OP_TS;
		op.arg = chance(g, 50);
		break;
	}
	if (!(g->runnable & XS_BIT(op.kind)))
		return 0;
	return add(p, &op);
}

static int build_case(struct gen *g, struct xs_prog *p, uint64_t *xcr0, uint64_t *xss)
{
	char err[128];
	int a = xs_prog_buffer(p, "a", err, sizeof(err));
	int b = xs_prog_buffer(p, "b", err, sizeof(err));
	size_t n = 1 + below(g, MAX_OPS);

	if (a < 0 || b < 0)
		return -1;
	*xcr0 = g->nlegal_xcr0 ? g->legal_xcr0[below(g, g->nlegal_xcr0)] : 1;
	*xss = g->nlegal_xss && (g->runnable & XS_BIT(XS_OP_WRMSR)) ?
		       g->legal_xss[below(g, g->nlegal_xss)] : 0;
	for (size_t i = 0; i < n * 3 && p->nops < n; i++)
		if (add_random_op(g, p, a, b) < 0)
			return -1;
	return 0;
}

static void keep_report(struct xo_kvm_diff_stats *s, const struct xs_diff_opts *o,
			const struct xs_prog *p, uint64_t xcr0, uint64_t xss,
			const struct xo_kvm_cmp *c)
{
	size_t max = o->max_reports ? o->max_reports : 10;
	struct xs_diff_mismatch *r;
	FILE *f;

	if (s->nreports >= max)
		return;
	r = &s->reports[s->nreports++];
	memset(r, 0, sizeof(*r));
	r->kind = XS_DK_FAULT;
	f = fmemopen(r->program, sizeof(r->program) - 1, "w");
	if (f) {
		fprintf(f, "# ring 0 (KVM guest), start: xcr0 0x%llx, xss 0x%llx\n# %s\n",
			(unsigned long long)xcr0, (unsigned long long)xss, c->diff);
		xs_prog_print(p, f);
		fclose(f);
	}
	snprintf(r->model_out, sizeof(r->model_out), "%s", c->model_out);
	snprintf(r->hw_out, sizeof(r->hw_out), "%s", c->guest_out);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int run_cases(struct xo_kvm *k, const struct xs_diff_opts *o, struct xo_kvm_diff_stats *s,
		     struct gen *g, char *err, size_t errlen)
{
	for (uint64_t i = 0; i < o->cases; i++) {
		struct xs_prog p;
		struct xo_kvm_cmp c;
		uint64_t xcr0, xss;
		int rc;

		xs_prog_init(&p, &k->model);
		rc = build_case(g, &p, &xcr0, &xss);
		if (rc == 0)
			rc = xo_kvm_compare(k, &p, xcr0, xss, true, &c, err, errlen);
		if (rc < 0) {
			xs_prog_free(&p);
			return -1;
		}
		s->cases++;
		for (size_t j = 0; j < p.nops; j++)
			s->by_op[p.ops[j].kind]++;
		if (c.verdict == XO_KVM_SAME)
			s->same++;
		else if (c.verdict == XO_KVM_NOT_RUN)
			s->not_run++;
		else {
			s->different++;
			keep_report(s, o, &p, xcr0, xss, &c);
		}
		if (c.verdict == XO_KVM_SAME && strncmp(c.guest_out, "no fault", 8))
			s->faults_compared++;
		xs_prog_free(&p);
		if (o->progress && o->cases >= 10 && (i + 1) % (o->cases / 10) == 0)
			fprintf(o->progress, "ring 0: %llu/%llu cases, %llu different\n",
				(unsigned long long)(i + 1), (unsigned long long)o->cases,
				(unsigned long long)s->different);
	}
	return 0;
}

int xo_kvm_diff(const struct xs_diff_opts *o, struct xo_kvm_diff_stats *s, char *err,
		size_t errlen)
{
	struct xo_kvm *k;
	struct gen g;
	double t0 = now();
	size_t max = o->max_reports ? o->max_reports : 10;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = xo_kvm_open(&k, err, errlen);
	if (rc != 0)
		return rc;
	s->exposure = k->x;
	s->reports = calloc(max, sizeof(*s->reports));
	if (!s->reports) {
		xo_kvm_close(k);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&g, 0, sizeof(g));
	sim_prng_seed(&g.rng, o->seed);
	g.m = &k->model;
	g.runnable = k->x.runnable_ops;
	g.nlegal_xcr0 = legal_subsets(g.m, g.m->xcr0_supported, true, g.legal_xcr0);
	g.nlegal_xss = legal_subsets(g.m, g.m->xss_supported, false, g.legal_xss);
	for (int kind = 0; kind < XS_OP_COUNT; kind++)
		if (kind >= XS_OP_XSAVE && kind <= XS_OP_WRMSR && !(g.runnable & XS_BIT(kind)))
			s->skipped_ops |= XS_BIT(kind);
	rc = run_cases(k, o, s, &g, err, errlen);
	s->seconds = now() - t0;
	xo_kvm_close(k);
	if (rc < 0) {
		xo_kvm_diff_free(s);
		return -1;
	}
	return 0;
}

void xo_kvm_diff_free(struct xo_kvm_diff_stats *s)
{
	free(s->reports);
	s->reports = NULL;
	s->nreports = 0;
}
