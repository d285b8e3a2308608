/* Differential testing of the architecture model against this host's CPU.
 *
 * Each case is an exec program (prog.h) built from a seed: random register
 * contents loaded by XRSTOR from a random but valid standard image, then
 * saves, restores, XGETBV(1) and register writes with random RFBMs, on the
 * components the host enables. The same program runs on the model (the
 * host's CPUID plus the probed implementation choices, at CPL 3) and on
 * silicon (hostprog.c); the results are compared byte for byte: every
 * buffer, what the program printed, the fault and its line, and the state
 * observed after the program by one more XSAVE (so a fault must leave the
 * state unchanged on both).
 *
 * Silicon is not fully deterministic from user mode (spec section 15), so a
 * disagreeing silicon run is repeated; only if every repeat disagrees is it
 * a mismatch, reported as a minimal program (ops removed while it still
 * disagrees) with both outcomes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xstate/oracle.h"

static const char *const kind_names[XS_DK_COUNT] = {
	[XS_DK_RANDOM] = "random",
	[XS_DK_INIT_OPT] = "init-opt",
	[XS_DK_MODIFIED_OPT] = "modified-opt",
	[XS_DK_FAULT] = "fault",
};

const char *xs_diff_kind_name(enum xs_diff_kind k)
{
	return (unsigned)k < XS_DK_COUNT ? kind_names[k] : "?";
}

enum {
	IN_XSAVE, IN_XSAVEOPT, IN_XSAVEC, IN_XRSTOR, IN_XRSTOR_C, IN_XGETBV, IN_WRITE, IN_PRIV,
};
static const char *const insn_names[XS_DIFF_INSNS] = {
	"xsave", "xsaveopt", "xsavec", "xrstor", "xrstor(compacted)", "xgetbv", "register write",
	"cpl0-only (#GP)",
};

const char *xs_diff_insn_name(unsigned i)
{
	return i < XS_DIFF_INSNS ? insn_names[i] : "?";
}

/* ---- random numbers (xorshift64*, reproducible from the seed) ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *g)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return g->s * 0x2545F4914F6CDD1Dull;
}

static unsigned below(struct rng *g, unsigned n)
{
	return n ? (unsigned)(rnd(g) % n) : 0;
}

static bool chance(struct rng *g, unsigned pct)
{
	return below(g, 100) < pct;
}

static void rnd_bytes(struct rng *g, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0) {
			uint64_t v = rnd(g);

			memcpy(p + i, &v, n - i < 8 ? n - i : 8);
		}
	}
}

/* ---- the test context ---- */

struct diff {
	const struct xs_host *h;
	struct xs_model *m;
	struct xs_cpu *c;
	uint64_t xcr0;
	uint32_t mxcsr_mask;
	size_t bufsize;
	bool cmp_reserved;
	const struct xs_diff_opts *o;
	struct xs_diff_stats *s;
	/* per case */
	bool compacted[XS_PROG_MAX_BUFS];
	uint8_t insns[XS_DIFF_INSNS];
	struct xs_cpu *scratch[2]; /* for the architectural comparison */
	uint8_t *copy;
	/* reports */
	char (*shapes)[512];
	unsigned minimized;
	size_t nclass[2];
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint64_t rnd_subset(struct rng *g, uint64_t mask)
{
	return rnd(g) & mask;
}

/* An RFBM: often all ones (omitted), else a random subset of XCR0, with
 * random bits above it sometimes (they are ANDed away). */
static void rnd_rfbm(struct diff *d, struct rng *g, struct xs_op *op)
{
	if (chance(g, 40))
		return;
	op->has_arg = true;
	op->arg = rnd_subset(g, d->xcr0);
	if (chance(g, 20))
		op->arg |= rnd(g) & ~d->xcr0;
}

static uint32_t rnd_mxcsr(struct diff *d, struct rng *g)
{
	if (chance(g, 40))
		return XS_MXCSR_DEFAULT;
	return (uint32_t)rnd(g) & d->mxcsr_mask;
}

/* Random standard-format image with XSTATE_BV = bv; components in zeroed
 * hold their initial configuration instead of random bytes. */
static void rnd_image(struct diff *d, struct rng *g, uint8_t *img, uint64_t bv, uint64_t zeroed)
{
	const struct xs_host *h = d->h;

	rnd_bytes(g, img, h->std_size);
	put32(img + 24, rnd_mxcsr(d, g));
	if (zeroed & 1) {
		memset(img, 0, 24);
		memset(img + 32, 0, 128);
		put16(img, XS_FCW_DEFAULT);
	} else if (chance(g, 50)) {
		/* Mostly masked exceptions, as real programs run. */
		put16(img, (uint16_t)(0x037F ^ (rnd(g) & 0x0F00)));
	}
	if (zeroed & 2)
		memset(img + 160, 0, 256);
	memset(img + XS_HDR_OFFSET, 0, 24);
	put64(img + XS_HDR_OFFSET, bv);
	for (unsigned i = 2; i < 63; i++)
		if ((d->xcr0 & XS_BIT(i)) && (zeroed & XS_BIT(i)))
			memset(img + h->offset[i], 0, h->size[i]);
}

static struct xs_op *add(struct xs_prog *p, enum xs_op_kind k, int buf)
{
	struct xs_op op;

	memset(&op, 0, sizeof(op));
	op.kind = k;
	op.buf = buf;
	op.line = (int)p->nops + 1;
	return xs_prog_append(p, &op);
}

static void add_set(struct xs_prog *p, int buf, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct xs_op *op = add(p, XS_OP_SET, buf);

	op->off = off;
	op->len = len;
	op->data = malloc(len);
	if (!op->data)
		abort();
	memcpy(op->data, data, len);
}

static void add_num(struct xs_prog *p, enum xs_op_kind k, uint64_t v)
{
	add(p, k, -1)->arg = v;
}

static int buf_id(struct xs_prog *p, const char *name)
{
	char e[128];

	return xs_prog_buffer(p, name, e, sizeof(e));
}

static void note_insn(struct diff *d, unsigned in)
{
	d->insns[in] = 1;
}

static void add_save(struct diff *d, struct rng *g, struct xs_prog *p, int buf, uint32_t off)
{
	static const enum xs_op_kind saves[3] = { XS_OP_XSAVE, XS_OP_XSAVEOPT, XS_OP_XSAVEC };
	unsigned k;
	struct xs_op *op;

	do
		k = below(g, 3);
	while ((k == 1 && !d->h->xsaveopt) || (k == 2 && !d->h->xsavec));
	op = add(p, saves[k], buf);
	op->off = off;
	op->arg = ~0ull;
	rnd_rfbm(d, g, op);
	note_insn(d, k == 0 ? IN_XSAVE : k == 1 ? IN_XSAVEOPT : IN_XSAVEC);
	if (!off)
		d->compacted[buf] = k == 2;
}

static void add_restore(struct diff *d, struct rng *g, struct xs_prog *p, int buf)
{
	struct xs_op *op = add(p, XS_OP_XRSTOR, buf);

	op->arg = ~0ull;
	rnd_rfbm(d, g, op);
	note_insn(d, d->compacted[buf] ? IN_XRSTOR_C : IN_XRSTOR);
}

static void add_write(struct diff *d, struct rng *g, struct xs_prog *p)
{
	struct xs_op *op;
	char name[8];
	unsigned r = below(g, 16), sel = below(g, 10);

	if (sel == 0) {
		add(p, XS_OP_FNINIT, -1);
		note_insn(d, IN_WRITE);
		return;
	}
	if (sel == 1 && d->h->avx) {
		add(p, XS_OP_VZEROUPPER, -1);
		note_insn(d, IN_WRITE);
		return;
	}
	if (sel == 2) {
		add_num(p, XS_OP_LDMXCSR, rnd_mxcsr(d, g));
		note_insn(d, IN_WRITE);
		return;
	}
	snprintf(name, sizeof(name), "%s%u", d->h->avx && chance(g, 50) ? "ymm" : "xmm", r);
	op = add(p, XS_OP_WRITE, -1);
	if (xs_reg_lookup(d->m, name, &op->reg) != 0) {
		p->nops--;
		return;
	}
	op->len = op->reg.size;
	op->data = malloc(op->len);
	if (!op->data)
		abort();
	if (chance(g, 15))
		memset(op->data, 0, op->len); /* writing zeros still makes it in use */
	else
		rnd_bytes(g, op->data, op->len);
	note_insn(d, IN_WRITE);
}

/* The common start: CPL 3, a random image in a, restored. Returns the
 * XSTATE_BV loaded. */
static uint64_t start(struct diff *d, struct rng *g, struct xs_prog *p, uint8_t *img,
		      uint64_t zeroed)
{
	uint64_t bv = chance(g, 30) ? d->xcr0 : rnd_subset(g, d->xcr0);
	int a = buf_id(p, "a");

	add_num(p, XS_OP_CPL, 3);
	rnd_image(d, g, img, bv, zeroed);
	add_set(p, a, 0, img, d->h->std_size);
	add_restore(d, g, p, a);
	return bv;
}

static uint64_t gen_random(struct diff *d, struct rng *g, struct xs_prog *p, uint8_t *img)
{
	uint64_t bv = start(d, g, p, img, 0);
	int bufs[3] = { buf_id(p, "a"), buf_id(p, "b"), buf_id(p, "c") };
	unsigned n = 1 + below(g, 6);

	for (unsigned k = 0; k < n; k++) {
		switch (below(g, 5)) {
		case 0:
		case 1:
			add_save(d, g, p, bufs[below(g, 3)], 0);
			break;
		case 2:
			add_restore(d, g, p, bufs[below(g, 3)]);
			break;
		case 3:
			if (d->h->xgetbv1) {
				add_num(p, XS_OP_XGETBV, 1);
				note_insn(d, IN_XGETBV);
			}
			break;
		case 4:
			add_write(d, g, p);
			break;
		}
	}
	add_save(d, g, p, bufs[1 + below(g, 2)], 0);
	return bv;
}

/* Restores of init components (by XSTATE_BV = 0 or by loading init
 * values), XINUSE, and saves that may skip them. */
static uint64_t gen_init_opt(struct diff *d, struct rng *g, struct xs_prog *p, uint8_t *img)
{
	uint64_t zeroed = rnd_subset(g, d->xcr0);
	uint64_t bv = start(d, g, p, img, zeroed);
	int b = buf_id(p, "b");
	struct xs_op *op;

	if (d->h->xgetbv1) {
		add_num(p, XS_OP_XGETBV, 1);
		note_insn(d, IN_XGETBV);
	}
	if (chance(g, 30))
		add_write(d, g, p);
	op = add(p, XS_OP_FILL, b);
	op->arg = 0xA5;
	add_save(d, g, p, b, 0);
	if (d->h->xgetbv1) {
		add_num(p, XS_OP_XGETBV, 1);
		note_insn(d, IN_XGETBV);
	}
	return bv;
}

/* XSAVEOPT to the buffer last restored from, after (or without) register
 * writes and other restores, with the memory of some components changed
 * so that a skipped component shows. */
static uint64_t gen_modified_opt(struct diff *d, struct rng *g, struct xs_prog *p, uint8_t *img)
{
	uint64_t bv = start(d, g, p, img, 0);
	int a = buf_id(p, "a"), b = buf_id(p, "b");
	uint8_t pat[64];
	struct xs_op *op;

	switch (below(g, 5)) {
	case 0:
		add_write(d, g, p);
		break;
	case 1:
		add_restore(d, g, p, b); /* XRSTOR_INFO now names b */
		break;
	case 2:
		add_save(d, g, p, b, 0);
		break;
	case 3:
		add_restore(d, g, p, a); /* again, maybe another RFBM */
		break;
	default:
		break;
	}
	/* Overwrite some bytes of a few components in a. */
	for (unsigned k = 0; k < 3; k++) {
		unsigned i = below(g, 3) == 0 ? 0 : below(g, 64);
		uint32_t off, len;

		if (i == 0) {
			off = 32 + 16 * below(g, 8); /* an ST register */
			len = 10;
		} else if (i == 1) {
			off = 160 + 16 * below(g, 16);
			len = 16;
		} else if (d->xcr0 & XS_BIT(i)) {
			off = d->h->offset[i];
			len = d->h->size[i] < 64 ? d->h->size[i] : 64;
		} else {
			continue;
		}
		memset(pat, 0x5A + k, sizeof(pat));
		add_set(p, a, off, pat, len);
	}
	op = add(p, XS_OP_XSAVEOPT, a);
	op->arg = ~0ull;
	rnd_rfbm(d, g, op);
	note_insn(d, IN_XSAVEOPT);
	if (!d->h->xsaveopt)
		op->kind = XS_OP_XSAVE;
	return bv;
}

/* Every way XRSTOR's header, alignment and MXCSR checks can #GP, the
 * CPL-0-only instructions, and near misses that must not fault. */
static uint64_t gen_fault(struct diff *d, struct rng *g, struct xs_prog *p, uint8_t *img)
{
	uint64_t bv = start(d, g, p, img, 0);
	int a = buf_id(p, "a"), b = buf_id(p, "b");
	uint8_t *bad = malloc(d->bufsize);
	uint64_t xcomp;
	uint32_t size = d->h->std_size;
	struct xs_op *op;
	unsigned bit;

	if (!bad)
		abort();
	rnd_image(d, g, bad, rnd_subset(g, d->xcr0), 0);
	switch (below(g, 16)) {
	case 0: /* XSTATE_BV bit not in XCR0 (13.8.1) */
		do
			bit = below(g, 64);
		while (d->xcr0 & XS_BIT(bit));
		put64(bad + XS_HDR_OFFSET, rnd_subset(g, d->xcr0) | XS_BIT(bit));
		break;
	case 1: /* XCOMP_BV non-zero in the standard form */
		put64(bad + XS_HDR_OFFSET + 8, (rnd(g) & ~XS_COMPACTED_BIT) | 1);
		break;
	case 2: /* header bytes 16-23 */
		bad[XS_HDR_OFFSET + 16 + below(g, 8)] = (uint8_t)(1 + below(g, 255));
		break;
	case 3: /* bytes 24-63 of a standard header are not checked */
		rnd_bytes(g, bad + XS_HDR_OFFSET + 24, 40);
		break;
	case 4: /* MXCSR reserved bits */
		put32(bad + 24, rnd_mxcsr(d, g) | (uint32_t)(rnd(g) & ~(uint64_t)d->mxcsr_mask) |
					(1u << (31 - below(g, 14))));
		break;
	case 5: /* compacted: XCOMP_BV bit not in XCR0 */
	case 6: /* compacted: XSTATE_BV not a subset of XCOMP_BV */
	case 7: /* compacted: reserved bytes 16-63 */
	case 8: /* compacted: bad MXCSR, loaded or not (XSTATE_BV[1]) */
	case 9: /* compacted and valid */
		if (!d->h->xsavec)
			break;
		xcomp = rnd_subset(g, d->xcr0);
		put64(bad + XS_HDR_OFFSET + 8, xcomp | XS_COMPACTED_BIT);
		put64(bad + XS_HDR_OFFSET, rnd_subset(g, xcomp));
		size = d->h->cmp_size;
		d->compacted[b] = true;
		switch (below(g, 5)) {
		case 0:
			do
				bit = below(g, 63);
			while (d->xcr0 & XS_BIT(bit));
			put64(bad + XS_HDR_OFFSET + 8, xcomp | XS_BIT(bit) | XS_COMPACTED_BIT);
			break;
		case 1:
			do
				bit = below(g, 64);
			while (xcomp & XS_BIT(bit) && bit != 63);
			if (bit == 63 && chance(g, 50))
				bit = 62;
			put64(bad + XS_HDR_OFFSET, rnd_subset(g, xcomp) | XS_BIT(bit));
			break;
		case 2:
			bad[XS_HDR_OFFSET + 16 + below(g, 48)] = (uint8_t)(1 + below(g, 255));
			break;
		case 3:
			put32(bad + 24, 0x1F80u | (uint32_t)(rnd(g) & ~(uint64_t)d->mxcsr_mask) |
						(1u << 31));
			break;
		}
		break;
	case 10: { /* misaligned operand */
		static const unsigned offs[] = { 1, 4, 8, 16, 32, 48, 63 };
		uint32_t off = offs[below(g, 7)];

		if (chance(g, 30)) {
			add_num(p, XS_OP_AC, 1); /* alignment checking on */
		}
		if (chance(g, 50)) {
			op = add(p, XS_OP_XRSTOR, a);
			op->off = off;
			op->arg = ~0ull;
			note_insn(d, IN_XRSTOR);
		} else {
			add_save(d, g, p, b, off);
		}
		free(bad);
		return bv;
	}
	case 11: /* XSAVES / XRSTORS: CPL 0 only */
		op = add(p, chance(g, 50) ? XS_OP_XSAVES : XS_OP_XRSTORS, a);
		op->arg = ~0ull;
		note_insn(d, IN_PRIV);
		free(bad);
		return bv;
	case 12: /* XSETBV: CPL 0 only */
		op = add(p, XS_OP_XSETBV, -1);
		op->arg = 0;
		op->arg2 = d->xcr0;
		note_insn(d, IN_PRIV);
		free(bad);
		return bv;
	case 13: /* XGETBV of an XCR that does not exist */
		add_num(p, XS_OP_XGETBV, 2 + below(g, 0x100));
		note_insn(d, IN_XGETBV);
		free(bad);
		return bv;
	default: /* a valid image: must restore */
		break;
	}
	add_set(p, b, 0, bad, size);
	free(bad);
	add_restore(d, g, p, b);
	return bv;
}

/* ---- comparing ---- */

struct verdict {
	bool equal;   /* byte for byte */
	bool equiv;   /* equal up to what the SDM leaves to the implementation */
	char what[1024];
};

__attribute__((format(printf, 2, 3))) static void say(struct verdict *v, const char *fmt, ...)
{
	size_t n = strlen(v->what);
	va_list ap;

	if (n + 1 >= sizeof(v->what))
		return;
	va_start(ap, fmt);
	vsnprintf(v->what + n, sizeof(v->what) - n, fmt, ap);
	va_end(ap);
}

static bool skip_byte(const struct diff *d, size_t i)
{
	return !d->cmp_reserved && i >= 416 && i < 464;
}

static void cmp_bytes(const struct diff *d, struct verdict *v, const char *name, const uint8_t *mo,
		      const uint8_t *hw, size_t n)
{
	size_t first = n, last = 0, count = 0;

	for (size_t i = 0; i < n; i++)
		if (mo[i] != hw[i] && !skip_byte(d, i)) {
			if (first == n)
				first = i;
			last = i;
			count++;
		}
	if (!count)
		return;
	v->equal = false;
	say(v, "%s: %zu byte%s differ in %zu-%zu; first at %zu: model", name, count,
	    count == 1 ? "" : "s", first, last, first);
	for (size_t i = first; i < first + 16 && i < n; i++)
		say(v, " %02x", mo[i]);
	say(v, ", silicon");
	for (size_t i = first; i < first + 16 && i < n; i++)
		say(v, " %02x", hw[i]);
	say(v, "\n");
}

/* ---- the architectural comparison ----
 *
 * Byte equality is the strict verdict: the model reproduces this host. Where
 * bytes differ, the SDM may still allow both (spec section 13): XSTATE_BV[i]
 * and XGETBV(1)[i] of a component in its initial configuration, whether
 * XSAVEOPT/XSAVEC wrote such a component, #AC instead of #GP for a
 * misaligned operand with alignment checking on. Two images are then
 * equivalent if XRSTOR of each (on a scratch model CPU) yields the same
 * registers and every byte outside the component regions is equal. */

/* The bytes of an image that belong to a component region (or XSTATE_BV)
 * in the given format (xcomp: 0 standard, else XCOMP_BV), as a byte mask. */
static void region_mask(const struct diff *d, uint64_t xcomp, uint8_t *mask, size_t n)
{
	struct xs_layout lay;

	memset(mask, 0, n);
	memset(mask, 1, 24);               /* x87 control/status/pointers */
	memset(mask + 24, 1, 4);           /* MXCSR */
	memset(mask + 32, 1, 416 - 32);    /* ST0-7, XMM0-15 */
	memset(mask + XS_HDR_OFFSET, 1, 8); /* XSTATE_BV */
	if (xcomp)
		xs_layout_compacted(d->m, xcomp & ~XS_COMPACTED_BIT, &lay);
	else
		xs_layout_standard(d->m, d->xcr0, &lay);
	for (unsigned i = 2; i < 63; i++)
		if ((lay.mask & XS_BIT(i)) && lay.offset[i] + lay.size_of[i] <= n)
			memset(mask + lay.offset[i], 1, lay.size_of[i]);
}

/* Restore buf into the scratch CPU, read in the given format (xcomp: 0
 * standard, else a valid XCOMP_BV). Header bits that would fault for
 * reasons both sides share (compared byte for byte elsewhere) are cleared in
 * a copy first, so that the registers can be compared. */
static enum xs_fault scratch_restore(struct diff *d, struct xs_cpu *c, const uint8_t *buf,
				     size_t n, uint64_t xcomp)
{
	char err[128];
	uint64_t bv;
	uint32_t mxcsr;

	if (xs_exec_setup_cpu(c, d->xcr0, 0, err, sizeof(err)) != 0)
		return XS_GP;
	memcpy(d->copy, buf, n);
	memcpy(&bv, d->copy + XS_HDR_OFFSET, 8);
	bv &= d->xcr0 & (xcomp ? xcomp : ~0ull);
	memcpy(d->copy + XS_HDR_OFFSET, &bv, 8);
	memcpy(d->copy + XS_HDR_OFFSET + 8, &xcomp, 8);
	memset(d->copy + XS_HDR_OFFSET + 16, 0, 48);
	/* Bits outside MXCSR_MASK would #GP: a pattern the save left alone. */
	memcpy(&mxcsr, d->copy + 24, 4);
	mxcsr &= d->mxcsr_mask;
	memcpy(d->copy + 24, &mxcsr, 4);
	return xs_xrstor(c, d->copy, n, ~0ull);
}

static bool same_regs(const struct diff *d, const struct xs_cpu *a, const struct xs_cpu *b)
{
	for (unsigned i = 0; i < 63; i++) {
		const uint8_t *ra, *rb;

		if (!(d->xcr0 & XS_BIT(i)))
			continue;
		ra = xs_comp_regs(a, i);
		rb = xs_comp_regs(b, i);
		if (i < 2) {
			if (memcmp(ra, rb, 416))
				return false;
		} else if (memcmp(ra, rb, d->h->size[i])) {
			return false;
		}
	}
	return true;
}

static bool equivalent_as(struct diff *d, const uint8_t *mo, const uint8_t *hw, size_t n,
			  uint64_t xcomp)
{
	uint8_t *mask;
	uint64_t bm, bh;
	bool eq = true;
	enum xs_fault fm, fh;

	memcpy(&bm, mo + XS_HDR_OFFSET, 8);
	memcpy(&bh, hw + XS_HDR_OFFSET, 8);
	mask = malloc(n);
	if (!mask)
		return false;
	region_mask(d, xcomp, mask, n);
	/* XSAVEC writes MXCSR_MASK with SSE, so it may be skipped with it. */
	if (xcomp && ((bm ^ bh) & XS_BIT(XS_C_SSE)))
		memset(mask + 28, 1, 4);
	for (size_t i = 0; i < n && eq; i++)
		if (!mask[i] && !skip_byte(d, i) && mo[i] != hw[i])
			eq = false;
	free(mask);
	if (!eq)
		return false;
	fm = scratch_restore(d, d->scratch[0], mo, n, xcomp);
	fh = scratch_restore(d, d->scratch[1], hw, n, xcomp);
	if (fm != fh)
		return false;
	if (fm != XS_OK)
		return !memcmp(mo, hw, n);
	return same_regs(d, d->scratch[0], d->scratch[1]);
}

/* Equal bytes, or the same state under the standard reading (what XSAVE
 * and XSAVEOPT write) or the compacted reading its header names. */
static bool equivalent(struct diff *d, const uint8_t *mo, const uint8_t *hw, size_t n)
{
	uint64_t bm, bh, xcomp;

	if (!memcmp(mo, hw, n))
		return true;
	if (memcmp(mo + XS_HDR_OFFSET + 8, hw + XS_HDR_OFFSET + 8, 8))
		return false; /* XCOMP_BV */
	memcpy(&bm, mo + XS_HDR_OFFSET, 8);
	memcpy(&bh, hw + XS_HDR_OFFSET, 8);
	if ((bm ^ bh) & ~d->xcr0)
		return false;
	if (equivalent_as(d, mo, hw, n, 0))
		return true;
	memcpy(&xcomp, mo + XS_HDR_OFFSET + 8, 8);
	return (xcomp & XS_COMPACTED_BIT) && !(xcomp & ~(d->xcr0 | XS_COMPACTED_BIT)) &&
	       equivalent_as(d, mo, hw, n, xcomp);
}

/* XGETBV(1) outputs may differ in the bits of components that were in
 * their initial configuration at that moment (the model's registers then;
 * the buffers show the registers agree). Printed lines are values only. */
static bool text_equivalent(const char *a, const char *b, const struct xs_run_result *mo)
{
	for (int line = 0; *a || *b; line++) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if (la != lb || memcmp(a, b, la)) {
			unsigned long long va = strtoull(a, NULL, 16), vb = strtoull(b, NULL, 16);
			uint64_t init = line < mo->nlines ? mo->line_init[line] : 0;

			if (!*a || !*b || la > 18 || lb > 18 || ((va ^ vb) & ~init))
				return false;
		}
		a += la + (a[la] ? 1 : 0);
		b += lb + (b[lb] ? 1 : 0);
	}
	return true;
}

static void compare(struct diff *d, const struct xs_prog *p, const struct xs_run_result *mo,
		    const struct xs_run_result *hw, struct verdict *v)
{
	bool fault_swap;

	memset(v, 0, sizeof(*v));
	v->equal = v->equiv = true;
	fault_swap = mo->fault_line == hw->fault_line &&
		     ((mo->fault == XS_AC && hw->fault == XS_GP) ||
		      (mo->fault == XS_GP && hw->fault == XS_AC));
	if (mo->fault != hw->fault || (mo->fault && mo->fault_line != hw->fault_line)) {
		v->equal = false;
		v->equiv = fault_swap; /* the SDM allows either with AC on (13.7) */
		say(v, "fault: model %s%s line %d, silicon %s%s line %d\n",
		    mo->fault ? xs_fault_name(mo->fault) : "none", mo->fault ? " at" : "",
		    mo->fault_line, hw->fault ? xs_fault_name(hw->fault) : "none",
		    hw->fault ? " at" : "", hw->fault_line);
	}
	for (size_t i = 0; i < p->nbufs; i++) {
		bool before = v->equal;

		cmp_bytes(d, v, p->bufname[i], mo->bufs[i], hw->bufs[i], p->bufsize);
		if (before != v->equal && !equivalent(d, mo->bufs[i], hw->bufs[i], p->bufsize))
			v->equiv = false;
	}
	{
		bool before = v->equal;

		cmp_bytes(d, v, "state after (XSAVE)", mo->after, hw->after, d->h->std_size);
		if (before != v->equal && !equivalent(d, mo->after, hw->after, d->h->std_size))
			v->equiv = false;
	}
	if (strcmp(mo->text, hw->text)) {
		v->equal = false;
		if (!text_equivalent(mo->text, hw->text, mo))
			v->equiv = false;
		say(v, "output: model '%s', silicon '%s'\n", mo->text, hw->text);
	}
}

/* "no fault" or "#GP at line N: reason", then what the program printed. */
static void outcome(char *out, size_t len, const struct xs_run_result *r, const char *why)
{
	if (r->fault)
		snprintf(out, len, "%s at line %d%s%s\n%.1500s", xs_fault_name(r->fault),
			 r->fault_line, *why ? ": " : "", why, r->text);
	else
		snprintf(out, len, "no fault\n%.1500s", r->text);
}

/* Run p on both; repeat silicon while it differs. Returns 1 if some run
 * was byte-equal, 2 if the best was architecturally equivalent (an
 * implementation-defined difference), 0 if every run disagreed, -1 on
 * error. v describes the last difference. */
static int run_both(struct diff *d, const struct xs_prog *p, struct verdict *v, char *mo_out,
		    size_t mo_len, uint64_t *reruns, bool *recovered)
{
	struct xs_run_result mo, hw;
	char err[256];
	int tries = d->o->repeats > 0 ? d->o->repeats : 5, best = 0;

	*recovered = false;
	if (xs_exec_setup_cpu(d->c, d->xcr0, 0, err, sizeof(err)) != 0 ||
	    xs_model_prog_run(p, d->c, true, &mo, err, sizeof(err)) != 0)
		return -1;
	if (mo_out)
		outcome(mo_out, mo_len, &mo, mo.fault ? xs_cpu_fault_reason(d->c) : "");
	for (int t = 0; t <= tries; t++) {
		if (xs_hw_prog_run(p, true, &hw, err, sizeof(err)) != 0) {
			xs_run_result_free(&mo);
			return -1;
		}
		compare(d, p, &mo, &hw, v);
		xs_run_result_free(&hw);
		if (v->equal) {
			*recovered = t > 0;
			best = 1;
			break;
		}
		if (v->equiv)
			best = 2;
		if (t < tries)
			(*reruns)++;
	}
	xs_run_result_free(&mo);
	return best;
}

/* A copy of p without op `skip` (SIZE_MAX: none). */
static void clone_without(const struct xs_prog *p, struct xs_prog *q, size_t skip)
{
	xs_prog_init(q, p->model);
	memcpy(q->bufname, p->bufname, sizeof(q->bufname));
	q->nbufs = p->nbufs;
	for (size_t i = 0; i < p->nops; i++) {
		struct xs_op op = p->ops[i];

		if (i == skip)
			continue;
		if (op.data) {
			op.data = malloc(op.len);
			if (!op.data)
				abort();
			memcpy(op.data, p->ops[i].data, op.len);
		}
		op.path = NULL;
		op.line = (int)q->nops + 1;
		xs_prog_append(q, &op);
	}
}

/* Remove ops while the program still gives the same verdict (cls: 0 a
 * mismatch, 2 an implementation-defined difference). */
static void minimize(struct diff *d, struct xs_prog *p, int cls)
{
	bool progress = true;

	while (progress) {
		progress = false;
		for (size_t i = p->nops; i-- > 1;) {
			struct xs_prog q;
			struct verdict v;
			uint64_t ignored = 0;
			bool rec;

			clone_without(p, &q, i);
			if (run_both(d, &q, &v, NULL, 0, &ignored, &rec) == cls) {
				xs_prog_free(p);
				*p = q;
				progress = true;
			} else {
				xs_prog_free(&q);
			}
		}
	}
}

static void shape(const struct xs_prog *p, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->nops && n + 1 < len; i++) {
		char line[256];

		if (p->ops[i].kind == XS_OP_SET) {
			snprintf(line, sizeof(line), "set %s", p->bufname[p->ops[i].buf]);
		} else if (p->ops[i].kind == XS_OP_WRITE) {
			snprintf(line, sizeof(line), "write %.3s", p->ops[i].reg.name);
		} else if (xs_op_is_xsave_family(p->ops[i].kind)) {
			snprintf(line, sizeof(line), "%s %s%s", xs_op_name(p->ops[i].kind),
				 p->bufname[p->ops[i].buf], p->ops[i].off ? "+" : "");
		} else {
			xs_prog_format_op(p, &p->ops[i], line, sizeof(line));
		}
		n += (size_t)snprintf(out + n, len - n, "%s;", line);
	}
}

static void report(struct diff *d, struct xs_prog *p, enum xs_diff_kind kind, int cls)
{
	struct xs_diff_stats *s = d->s;
	struct xs_diff_mismatch *mm;
	struct verdict v;
	uint64_t ignored = 0;
	bool rec;
	FILE *f;
	size_t max = d->o->max_reports ? d->o->max_reports : 10;
	char sh[sizeof(d->shapes[0])];

	/* Up to max reports of each class: implementation-defined
	 * differences must not crowd out mismatches. */
	if (s->nreports >= 2 * max || d->nclass[cls == 2] >= max || d->minimized >= 200)
		return;
	if (d->o->minimize) {
		minimize(d, p, cls);
		d->minimized++;
	}
	/* One report per shape (the ops without their data): the same
	 * disagreement found again adds nothing. */
	shape(p, sh, sizeof(sh));
	for (size_t i = 0; i < s->nreports; i++)
		if (!strcmp(d->shapes[i], sh))
			return;
	mm = &s->reports[s->nreports];
	snprintf(d->shapes[s->nreports], sizeof(d->shapes[0]), "%s", sh);
	memset(mm, 0, sizeof(*mm));
	mm->kind = kind;
	mm->impl_defined = cls == 2;
	f = fmemopen(mm->program, sizeof(mm->program) - 1, "w");
	if (f) {
		fprintf(f, "# xstate exec --cpu host --xcr0 0x%" PRIx64 " (case kind %s)\n", d->xcr0,
			xs_diff_kind_name(kind));
		xs_prog_print(p, f);
		fclose(f);
	}
	if (run_both(d, p, &v, mm->model_out, sizeof(mm->model_out), &ignored, &rec) == cls) {
		snprintf(mm->hw_out, sizeof(mm->hw_out), "%s", v.what);
		s->nreports++;
		d->nclass[cls == 2]++;
	}
}

/* ---- driver ---- */

static int setup(struct diff *d, struct xs_diff_stats *s, char *err, size_t errlen)
{
	struct xs_probe_report pr;

	d->h = xs_host_get();
	if (!d->h) {
		snprintf(err, errlen, "this host has no usable XSAVE in user mode");
		return -1;
	}
	d->m = malloc(sizeof(*d->m));
	if (!d->m)
		return -1;
	if (xs_model_load("host", d->m, err, errlen) != 0)
		return -1;
	if (xs_probe_host(&pr) != 0) {
		snprintf(err, errlen, "probing the host failed");
		return -1;
	}
	xs_probe_apply_report(d->m, &pr);
	if (d->o->tweak_model)
		d->o->tweak_model(d->m);
	d->xcr0 = d->h->xcr0;
	d->mxcsr_mask = pr.impl.mxcsr_mask;
	/* Bytes 416-463 are reserved: compared only if XSAVE leaves them
	 * alone or writes them the same way every time (then the model must
	 * match); otherwise excluded. */
	d->cmp_reserved = !pr.reserved_416_written || pr.reserved_416_deterministic;
	snprintf(s->reserved_note, sizeof(s->reserved_note),
		 "legacy bytes 416-463: %s",
		 !pr.reserved_416_written ? "XSAVE does not write them on this host: compared" :
		 pr.reserved_416_deterministic ? "written the same way every time: compared" :
		 "written differently from run to run: excluded");
	s->reserved_compared = d->cmp_reserved;
	d->c = xs_cpu_new(d->m);
	d->scratch[0] = xs_cpu_new(d->m);
	d->scratch[1] = xs_cpu_new(d->m);
	d->bufsize = xs_prog_bufsize(d->m);
	d->copy = aligned_alloc(64, d->bufsize);
	if (!d->c || !d->scratch[0] || !d->scratch[1] || !d->copy)
		return -1;
	s->comps_tested = d->xcr0;
	s->comps_skipped = (d->m->xcr0_supported | XS_MASK_FPSSE | XS_BIT(XS_C_AVX) |
			    XS_MASK_AVX512 | XS_MASK_MPX | XS_BIT(XS_C_PKRU) | XS_MASK_AMX |
			    XS_BIT(XS_C_APX)) & ~d->xcr0;
	return 0;
}

int xs_diff_run(const struct xs_diff_opts *o, struct xs_diff_stats *s, char *err, size_t errlen)
{
	struct diff d;
	struct timespec t0, t1;
	uint8_t *img;
	size_t max = o->max_reports ? o->max_reports : 10;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	memset(&d, 0, sizeof(d));
	d.o = o;
	d.s = s;
	s->reports = calloc(2 * max, sizeof(*s->reports));
	d.shapes = calloc(2 * max, sizeof(*d.shapes));
	if (!s->reports || !d.shapes || setup(&d, s, err, errlen) != 0)
		goto out;
	img = malloc(d.bufsize);
	if (!img)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t n = 0; n < o->cases; n++) {
		struct rng g = { (o->seed + n) * 0x9E3779B97F4A7C15ull + 1 };
		enum xs_diff_kind kind = (enum xs_diff_kind)(n % XS_DK_COUNT);
		struct xs_prog p;
		struct verdict v;
		uint64_t bv = 0;
		bool rec;
		int r;

		for (int w = 0; w < 4; w++)
			rnd(&g);
		memset(d.compacted, 0, sizeof(d.compacted));
		memset(d.insns, 0, sizeof(d.insns));
		xs_prog_init(&p, d.m);
		switch (kind) {
		case XS_DK_RANDOM:
			bv = gen_random(&d, &g, &p, img);
			break;
		case XS_DK_INIT_OPT:
			bv = gen_init_opt(&d, &g, &p, img);
			break;
		case XS_DK_MODIFIED_OPT:
			bv = gen_modified_opt(&d, &g, &p, img);
			break;
		default:
			bv = gen_fault(&d, &g, &p, img);
			break;
		}
		r = run_both(&d, &p, &v, NULL, 0, &s->reruns, &rec);
		if (r < 0) {
			snprintf(err, errlen, "case %" PRIu64 ": a run failed", n);
			xs_prog_free(&p);
			free(img);
			goto out;
		}
		s->cases++;
		s->by_kind[kind]++;
		for (unsigned i = 0; i < XS_DIFF_INSNS; i++)
			s->by_insn[i] += d.insns[i];
		for (unsigned i = 0; i < 64; i++)
			if (bv & XS_BIT(i))
				s->by_comp[i]++;
		if (kind == XS_DK_FAULT)
			s->faults_compared++;
		if (rec)
			s->rerun_recovered++;
		if (r == 2 && o->strict)
			r = 0;
		if (r == 0) {
			s->mismatches++;
			s->mismatch_by_kind[kind]++;
			report(&d, &p, kind, 0);
		} else if (r == 2) {
			s->impl_defined++;
			s->impl_by_kind[kind]++;
			report(&d, &p, kind, 2);
		}
		xs_prog_free(&p);
		if (o->progress && (n + 1) % 100000 == 0)
			fprintf(o->progress, "diff-hw: %" PRIu64 " cases, %" PRIu64 " mismatches\n",
				n + 1, s->mismatches);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	free(img);
	ret = 0;
out:
	free(d.shapes);
	xs_cpu_free(d.scratch[0]);
	xs_cpu_free(d.scratch[1]);
	free(d.copy);
	xs_cpu_free(d.c);
	free(d.m);
	return ret;
}

void xs_diff_stats_free(struct xs_diff_stats *s)
{
	free(s->reports);
	s->reports = NULL;
	s->nreports = 0;
}

int xs_diff_program(const struct xs_prog *p, int repeats, FILE *out, char *err, size_t errlen)
{
	struct xs_diff_opts o;
	struct xs_diff_stats s;
	struct diff d;
	struct verdict v;
	struct xs_run_result hw;
	char mo_out[2048];
	uint64_t reruns = 0;
	bool rec;
	int r;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	o.repeats = repeats;
	d.o = &o;
	d.s = &s;
	if (setup(&d, &s, err, errlen) != 0) {
		r = -1;
		goto out;
	}
	if (xs_hw_prog_check(p, err, errlen) != 0) {
		r = -1;
		goto out;
	}
	r = run_both(&d, p, &v, mo_out, sizeof(mo_out), &reruns, &rec);
	if (r < 0) {
		snprintf(err, errlen, "a run failed");
		goto out;
	}
	fprintf(out, "-- model:\n%s", mo_out);
	if (xs_hw_prog_run(p, true, &hw, err, errlen) == 0) {
		outcome(mo_out, sizeof(mo_out), &hw, "");
		fprintf(out, "-- silicon:\n%s", mo_out);
		xs_run_result_free(&hw);
	}
	if (r == 1)
		fprintf(out, "-- agree%s (buffers, output, fault, state after)\n",
			rec ? " after a rerun" : "");
	else if (r == 2)
		fprintf(out, "-- agree up to implementation-defined choices (spec 13) the model "
			"makes differently from this host:\n%s", v.what);
	else
		fprintf(out, "-- DISAGREE on every one of %d runs:\n%s", repeats + 1, v.what);
out:
	xs_cpu_free(d.scratch[0]);
	xs_cpu_free(d.scratch[1]);
	free(d.copy);
	xs_cpu_free(d.c);
	free(d.m);
	return r;
}
