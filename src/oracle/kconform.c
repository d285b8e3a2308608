/* Linux-kernel conformance oracle: probe registry, result lists, image
 * helpers, comparison and printing. Nothing here touches the host; the
 * backends (ktarget_*.c) do. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "xstate/kconform.h"
#include "xstate/json.h"

/* ---- Result lists ---- */

void xo_kres_init(struct xo_kresults *r)
{
	memset(r, 0, sizeof(*r));
}

void xo_kres_free(struct xo_kresults *r)
{
	free(r->v);
	xo_kres_init(r);
}

void xo_kres_add(struct xo_kresults *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	struct xo_kresult *e;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct xo_kresult *v = realloc(r->v, cap * sizeof(*v));

		if (!v) {
			r->status = XO_KPROBE_ERROR;
			snprintf(r->reason, sizeof(r->reason), "out of memory");
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	e = &r->v[r->n++];
	va_start(ap, fmt);
	/* A truncated key could collide with another one: treat it as a probe bug. */
	if ((size_t)snprintf(e->key, sizeof(e->key), "%s", key) >= sizeof(e->key) ||
	    (size_t)vsnprintf(e->val, sizeof(e->val), fmt, ap) >= sizeof(e->val))
		xo_kres_error(r, "result '%s' does not fit a key of %zu / value of %zu bytes", key,
			      sizeof(e->key) - 1, sizeof(e->val) - 1);
	va_end(ap);
}

void xo_kres_skip(struct xo_kresults *r, const char *fmt, ...)
{
	va_list ap;

	if (r->status == XO_KPROBE_ERROR)
		return;
	r->status = XO_KPROBE_SKIPPED;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

void xo_kres_error(struct xo_kresults *r, const char *fmt, ...)
{
	va_list ap;

	r->status = XO_KPROBE_ERROR;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

const char *xo_kres_get(const struct xo_kresults *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].key, key))
			return r->v[i].val;
	return NULL;
}

const char *xo_kprobe_status_name(enum xo_kprobe_status s)
{
	switch (s) {
	case XO_KPROBE_OK:
		return "ok";
	case XO_KPROBE_SKIPPED:
		return "skipped";
	case XO_KPROBE_ERROR:
		return "error";
	}
	return "?";
}

size_t xo_kres_diff(const struct xo_kresults *a, const struct xo_kresults *b, FILE *out,
		    const char *prefix)
{
	size_t ndiff = 0;

	if (!prefix)
		prefix = "";
	if (a->status != b->status) {
		ndiff++;
		if (out)
			fprintf(out, "%sstatus: a=%s b=%s\n", prefix, xo_kprobe_status_name(a->status),
				xo_kprobe_status_name(b->status));
	}
	for (size_t i = 0; i < a->n; i++) {
		const char *bv = xo_kres_get(b, a->v[i].key);

		if (bv && !strcmp(bv, a->v[i].val))
			continue;
		ndiff++;
		if (out)
			fprintf(out, "%s%s: a=%s b=%s\n", prefix, a->v[i].key, a->v[i].val,
				bv ? bv : "(absent)");
	}
	for (size_t i = 0; i < b->n; i++) {
		if (xo_kres_get(a, b->v[i].key))
			continue;
		ndiff++;
		if (out)
			fprintf(out, "%s%s: a=(absent) b=%s\n", prefix, b->v[i].key, b->v[i].val);
	}
	return ndiff;
}

void xo_kres_print(FILE *f, const char *probe, const struct xo_kresults *r)
{
	if (r->status != XO_KPROBE_OK)
		fprintf(f, "%-28s %-34s %s: %s\n", probe, "-", xo_kprobe_status_name(r->status),
			r->reason);
	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "%-28s %-34s %s\n", probe, r->v[i].key, r->v[i].val);
}

void xo_kres_print_json(FILE *f, const char *probe, const struct xo_kresults *r)
{
	fprintf(f, "{\"probe\": ");
	xs_json_string(f, probe);
	fprintf(f, ", \"status\": \"%s\", \"reason\": ", xo_kprobe_status_name(r->status));
	xs_json_string(f, r->reason);
	fprintf(f, ", \"results\": {");
	for (size_t i = 0; i < r->n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		xs_json_string(f, r->v[i].key);
		fprintf(f, ": ");
		xs_json_string(f, r->v[i].val);
	}
	fprintf(f, "}}");
}

/* ---- Probe registry ---- */

struct probe_table {
	const struct xo_kprobe *v;
	const size_t *n;
};

static const struct probe_table tables[] = {
	{ xo_kprobes_prctl, &xo_kprobes_prctl_n },
	{ xo_kprobes_sigframe, &xo_kprobes_sigframe_n },
	{ xo_kprobes_sigreturn, &xo_kprobes_sigreturn_n },
	{ xo_kprobes_ptrace, &xo_kprobes_ptrace_n },
	{ xo_kprobes_fsgs, &xo_kprobes_fsgs_n },
};

size_t xo_kprobe_count(void)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		n += *tables[i].n;
	return n;
}

const struct xo_kprobe *xo_kprobe_at(size_t idx)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (idx < *tables[i].n)
			return &tables[i].v[idx];
		idx -= *tables[i].n;
	}
	return NULL;
}

const struct xo_kprobe *xo_kprobe_find(const char *name)
{
	for (size_t i = 0; i < xo_kprobe_count(); i++)
		if (!strcmp(xo_kprobe_at(i)->name, name))
			return xo_kprobe_at(i);
	return NULL;
}

int xo_kprobe_run(const struct xo_kprobe *p, struct xo_ktarget *t, struct xo_kresults *out)
{
	struct xo_kinfo info;

	xo_kres_init(out);
	memset(&info, 0, sizeof(info));
	if (t->info(t, &info) < 0) {
		xo_kres_error(out, "target %s: no xstate information", t->name);
		return -1;
	}
	if (!info.xsave) {
		xo_kres_skip(out, "target %s runs tasks without XSAVE", t->name);
		return 0;
	}
	p->run(t, &info, p->arg, out);
	return out->status == XO_KPROBE_ERROR ? -1 : 0;
}

/* ---- Programs ---- */

bool xo_kop_is_tracer(enum xo_kop_kind k)
{
	return k >= XO_KOP_PEEKUSER;
}

void xo_kprog_init(struct xo_kprog *p)
{
	memset(p, 0, sizeof(*p));
}

struct xo_kop *xo_kprog_add(struct xo_kprog *p, enum xo_kop_kind kind, uint64_t a, uint64_t b)
{
	static struct xo_kop overflow; /* absorbs a probe bug; run() rejects n > max */
	struct xo_kop *op;

	if (p->n >= XO_KMAXOPS) {
		p->n = XO_KMAXOPS + 1;
		memset(&overflow, 0, sizeof(overflow));
		return &overflow;
	}
	op = &p->op[p->n++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->a = a;
	op->b = b;
	return op;
}

struct xo_krun *xo_krun(struct xo_ktarget *t, const struct xo_kprog *p)
{
	struct xo_krun *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (p->n > XO_KMAXOPS) {
		r->end = XO_KEND_ERROR;
		snprintf(r->error, sizeof(r->error), "program longer than %d operations", XO_KMAXOPS);
		return r;
	}
	t->run(t, p, r);
	return r;
}

struct xo_krun *xo_krun_checked(struct xo_ktarget *t, const struct xo_kprog *p,
				struct xo_kresults *out)
{
	struct xo_krun *r = xo_krun(t, p);

	if (!r) {
		xo_kres_error(out, "out of memory");
		return NULL;
	}
	if (r->end == XO_KEND_ERROR) {
		xo_kres_error(out, "target %s: %s", t->name, r->error);
		free(r);
		return NULL;
	}
	return r;
}

/* ---- Little-endian access ---- */

uint16_t xo_rd16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

uint32_t xo_rd32(const uint8_t *p, size_t off)
{
	return (uint32_t)xo_rd16(p, off) | (uint32_t)xo_rd16(p, off + 2) << 16;
}

uint64_t xo_rd64(const uint8_t *p, size_t off)
{
	return (uint64_t)xo_rd32(p, off) | (uint64_t)xo_rd32(p, off + 4) << 32;
}

void xo_wr16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

void xo_wr32(uint8_t *p, size_t off, uint32_t v)
{
	xo_wr16(p, off, (uint16_t)v);
	xo_wr16(p, off + 2, (uint16_t)(v >> 16));
}

void xo_wr64(uint8_t *p, size_t off, uint64_t v)
{
	xo_wr32(p, off, (uint32_t)v);
	xo_wr32(p, off + 4, (uint32_t)(v >> 32));
}

/* ---- Images ---- */

#define FCW_INIT 0x037F  /* x87 FINIT control word */
#define MXCSR_INIT 0x1F80 /* SDM 10.2.3.1 */

unsigned xo_kbit_outside_xcr0(const struct xo_kinfo *info)
{
	/* Not 8, 10-12, 15: supervisor components, never in XCR0 anyway. */
	for (unsigned c = 2; c < XO_KNFEAT; c++)
		if (c != 8 && c != 10 && c != 11 && c != 12 && c != 15 && !(info->xcr0 >> c & 1))
			return c;
	return 62;
}

uint32_t xo_kmxcsr_bad_bit(const struct xo_kinfo *info)
{
	for (unsigned b = 0; b < 32; b++)
		if (!(info->mxcsr_mask >> b & 1))
			return 1u << b;
	return 1u << 31;
}

void xo_kimg_init(const struct xo_kinfo *info, uint8_t *img)
{
	memset(img, 0, XO_KIMG_MAX);
	xo_wr16(img, XO_FX_FCW, FCW_INIT);
	xo_wr32(img, XO_FX_MXCSR, MXCSR_INIT);
	xo_wr32(img, XO_FX_MXCSR_MASK, info->mxcsr_mask);
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: deterministic on every target */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void rng_fill(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rng_next(s) >> 32);
}

/* Components a pattern fills: the ones any valid byte string may hold. MPX
 * BNDCSR and AMX TILECFG have reserved bits, PKRU is outside state_mask. */
#define PATTERN_COMPS ((1ULL << XO_C_FP) | (1ULL << XO_C_SSE) | (1ULL << XO_C_YMM) | \
		       (1ULL << XO_C_OPMASK) | (1ULL << XO_C_ZMM_HI256) | (1ULL << XO_C_HI16_ZMM))

void xo_kimg_pattern(const struct xo_kinfo *info, unsigned seed, uint8_t *img)
{
	static const uint16_t fcw[4] = { 0x027F, 0x0A7F, 0x067F, 0x0E7F }; /* PC/RC vary, all masked */
	static const uint8_t ftw[4] = { 0x0F, 0xF0, 0x3C, 0xC3 };
	uint64_t s = 0x9E3779B97F4A7C15ULL * (seed + 1);
	uint64_t mask = info->state_mask & PATTERN_COMPS;
	uint32_t mxcsr = MXCSR_INIT | (uint32_t)(1 + seed % 3) << 13; /* rounding control */

	xo_kimg_init(info, img);
	xo_wr16(img, XO_FX_FCW, fcw[seed % 4]);
	img[XO_FX_FTW] = ftw[seed % 4];
	for (int i = 0; i < 8; i++)
		rng_fill(&s, img + XO_FX_ST + 16 * i, 10);
	if (seed & 1)
		mxcsr |= 0x8000; /* FTZ */
	xo_wr32(img, XO_FX_MXCSR, mxcsr & (info->mxcsr_mask ? info->mxcsr_mask : 0xFFFF));
	rng_fill(&s, img + XO_FX_XMM, 256);
	for (unsigned c = 2; c < XO_KNFEAT; c++) {
		if (!(mask >> c & 1) || !info->comp_size[c] ||
		    info->comp_off[c] + info->comp_size[c] > XO_KIMG_MAX)
			continue;
		rng_fill(&s, img + info->comp_off[c], info->comp_size[c]);
	}
	xo_wr64(img, XO_HDR_XSTATE_BV, mask);
}

static bool bv(const uint8_t *img, unsigned c)
{
	return xo_rd64(img, XO_HDR_XSTATE_BV) >> c & 1;
}

/* Effective bytes of component comp: a pointer to them in img, or to the
 * init value when the XSTATE_BV bit is clear. */
static bool range_equal(const uint8_t *a, bool ain, const uint8_t *b, bool bin, size_t off,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t x = ain ? a[off + i] : 0, y = bin ? b[off + i] : 0;

		if (x != y)
			return false;
	}
	return true;
}

static bool fp_equal(const uint8_t *a, const uint8_t *b)
{
	bool ai = bv(a, XO_C_FP), bi = bv(b, XO_C_FP);
	uint16_t fa = ai ? xo_rd16(a, XO_FX_FCW) : FCW_INIT, fb = bi ? xo_rd16(b, XO_FX_FCW) : FCW_INIT;

	if (fa != fb)
		return false;
	/* FSW, FTW (abridged), FOP, FIP, FDP; byte 5 is reserved */
	if (!range_equal(a, ai, b, bi, XO_FX_FSW, 3) || !range_equal(a, ai, b, bi, XO_FX_FOP, 18))
		return false;
	for (int i = 0; i < 8; i++)
		if (!range_equal(a, ai, b, bi, XO_FX_ST + 16 * i, 10)) /* bytes 10..15 reserved */
			return false;
	return true;
}

bool xo_kimg_comp_equal(const struct xo_kinfo *info, const uint8_t *a, const uint8_t *b,
			unsigned comp)
{
	switch (comp) {
	case XO_C_FP:
		return fp_equal(a, b);
	case XO_C_MXCSR:
		return xo_rd32(a, XO_FX_MXCSR) == xo_rd32(b, XO_FX_MXCSR);
	case XO_C_SSE:
		return range_equal(a, bv(a, XO_C_SSE), b, bv(b, XO_C_SSE), XO_FX_XMM, 256);
	default:
		if (comp >= XO_KNFEAT || !info->comp_size[comp] ||
		    info->comp_off[comp] + info->comp_size[comp] > XO_KIMG_MAX)
			return true;
		return range_equal(a, bv(a, comp), b, bv(b, comp), info->comp_off[comp],
				   info->comp_size[comp]);
	}
}

unsigned xo_kimg_comps(const struct xo_kinfo *info, unsigned out[XO_KNFEAT + 1])
{
	unsigned n = 0;

	out[n++] = XO_C_FP;
	out[n++] = XO_C_MXCSR;
	out[n++] = XO_C_SSE;
	for (unsigned c = 2; c < XO_KNFEAT; c++)
		if (info->state_mask >> c & 1)
			out[n++] = c;
	return n;
}

const char *xo_kcomp_name(unsigned comp)
{
	static const char *const names[XO_KNFEAT] = {
		"fp", "sse", "ymm", "bndregs", "bndcsr", "opmask", "zmm_hi256", "hi16_zmm",
		"pt", "pkru", "pasid", "cet_u", "cet_s", "c13", "c14", "lbr", "c16",
		"xtilecfg", "xtiledata", "apx",
	};

	if (comp == XO_C_MXCSR)
		return "mxcsr";
	return comp < XO_KNFEAT ? names[comp] : "?";
}

const char *xo_kimg_classify(const struct xo_kinfo *info, const uint8_t *img, unsigned comp,
			     const struct xo_kcand *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].img && xo_kimg_comp_equal(info, img, c[i].img, comp))
			return c[i].name;
	return "other";
}

void xo_kres_add_state(struct xo_kresults *r, const char *prefix, const struct xo_kinfo *info,
		       const uint8_t *img, const struct xo_kcand *c, size_t n)
{
	unsigned comps[XO_KNFEAT + 1], nc = xo_kimg_comps(info, comps);
	char key[64];

	for (unsigned i = 0; i < nc; i++) {
		snprintf(key, sizeof(key), "%s.%s", prefix, xo_kcomp_name(comps[i]));
		xo_kres_add(r, key, "%s", xo_kimg_classify(info, img, comps[i], c, n));
	}
}

/* ---- Formatting ---- */

const char *xo_kerrno_name(int err)
{
	static const struct {
		int err;
		const char *name;
	} names[] = {
		{ EPERM, "EPERM" },   { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
		{ EIO, "EIO" },       { E2BIG, "E2BIG" },   { ENOMEM, "ENOMEM" },
		{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },   { ENODEV, "ENODEV" },
		{ EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" }, { ENOSYS, "ENOSYS" },
		{ EOPNOTSUPP, "EOPNOTSUPP" },
	};
	static char other[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(other, sizeof(other), "E%d", err);
	return other;
}

const char *xo_kfmt_call(char *buf, size_t len, const struct xo_kopres *r, bool with_val)
{
	if (r->status == XO_KST_NOTRUN)
		snprintf(buf, len, "not-run");
	else if (r->status == XO_KST_UNSUPPORTED)
		snprintf(buf, len, "unsupported");
	else if (r->ret < 0)
		snprintf(buf, len, "%s", xo_kerrno_name(r->err));
	else if (r->ret > 0)
		snprintf(buf, len, "ret=%ld", r->ret);
	else if (with_val)
		snprintf(buf, len, "ok 0x%llx", (unsigned long long)r->val);
	else
		snprintf(buf, len, "ok");
	return buf;
}

const char *xo_ksig_name(int sig)
{
	static char other[16];

	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGBUS:
		return "SIGBUS";
	case SIGILL:
		return "SIGILL";
	case SIGFPE:
		return "SIGFPE";
	case SIGKILL:
		return "SIGKILL";
	case SIGTRAP:
		return "SIGTRAP";
	case SIGUSR1:
		return "SIGUSR1";
	case SIGALRM:
		return "SIGALRM";
	case SIGABRT:
		return "SIGABRT";
	}
	snprintf(other, sizeof(other), "SIG%d", sig);
	return other;
}

const char *xo_kfmt_end(char *buf, size_t len, const struct xo_krun *r)
{
	switch (r->end) {
	case XO_KEND_EXIT:
		snprintf(buf, len, "exit");
		break;
	case XO_KEND_FATAL:
		snprintf(buf, len, "%s/0x%x", xo_ksig_name(r->signo), (unsigned)r->code);
		break;
	case XO_KEND_KILLED:
		snprintf(buf, len, "killed %s", xo_ksig_name(r->signo));
		break;
	default:
		snprintf(buf, len, "error");
		break;
	}
	return buf;
}
