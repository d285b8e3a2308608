/* Measuring the host's implementation choices (struct xs_impl) from user
 * mode, by experiment on the real CPU.
 *
 * Each experiment is a short host program (hostcpu.c): restore a crafted
 * image, then save or read XINUSE, with pattern-filled buffers to see what
 * a save skipped. Each runs PROBE_RUNS times and the majority wins, because
 * a context switch between two instructions can change XINUSE (spec 15).
 *
 * What user mode cannot see: XSAVES and XRSTORS #GP at CPL 3, so their
 * init and modified optimizations are assumed to be those of XSAVEC and
 * XSAVEOPT (the same hardware mechanism: XINUSE and XMODIFIED/XRSTOR_INFO
 * are shared by all forms, SDM 13.6). The notes say so.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "xstate/oracle.h"

#define PROBE_RUNS 5
#define PAT 0xA5

struct probe_bufs {
	uint8_t a[8192] __attribute__((aligned(64)));
	uint8_t b[8192] __attribute__((aligned(64)));
	uint8_t pat[8192] __attribute__((aligned(64)));
};

__attribute__((format(printf, 2, 3))) static void note(struct xs_probe_report *r,
						       const char *fmt, ...)
{
	size_t n = strlen(r->notes);
	va_list ap;

	if (n + 2 >= sizeof(r->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(r->notes + n, sizeof(r->notes) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(r->notes);
	r->notes[n] = '\n';
	r->notes[n + 1] = '\0';
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A standard-format image: x87 with FCW as given, every enabled
 * component non-init (a byte of each register set) unless init_values,
 * XSTATE_BV = bv. */
static void image(const struct xs_host *h, uint8_t *img, uint64_t bv, bool init_values)
{
	memset(img, 0, h->std_size);
	put16(img, 0x037F);
	put32(img + 24, 0x1F80);
	if (!init_values) {
		put16(img, 0x027F);           /* precision control: non-init FCW */
		img[32] = 0x11;               /* ST0 mantissa byte */
		img[160] = 0x22;              /* XMM0 */
		for (unsigned i = 2; i < 63; i++)
			if ((h->xcr0 & (1ull << i)) && h->size[i])
				img[h->offset[i]] = (uint8_t)(0x30 + i);
	}
	put64(img + XS_HDR_OFFSET, bv);
}

/* XINUSE as an XSAVE to a fresh buffer reports it (XSTATE_BV = XINUSE &
 * RFBM for XSAVE; works without XGETBV(1)). */
static uint64_t xinuse_after(const struct xs_host *h, struct probe_bufs *pb, uint64_t bv1,
			     bool init1, uint64_t bv2, bool two)
{
	struct xs_hw_op ops[3];
	struct xs_hw_outcome o;
	size_t n = 0;
	uint8_t *a2 = pb->pat; /* second image lives in the pattern buffer */

	image(h, pb->a, bv1, init1);
	if (two)
		image(h, a2, bv2, true);
	memset(pb->b, PAT, sizeof(pb->b));
	memset(ops, 0, sizeof(ops));
	ops[n++] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = pb->a, .mask = ~0ull };
	if (two)
		ops[n++] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = a2, .mask = ~0ull };
	ops[n++] = (struct xs_hw_op){ .kind = XS_HW_XSAVE, .mem = pb->b, .mask = ~0ull };
	if (xs_hw_run(ops, n, n, &o) != 0 || o.fault)
		return ~0ull;
	return get64(pb->b + XS_HDR_OFFSET) & h->xcr0;
}

static bool majority(int yes)
{
	return yes * 2 > PROBE_RUNS;
}

/* The component whose region shows whether a save wrote it: AVX if
 * enabled (bytes of YMM_H), else x87 (the ST registers). */
static void witness(const struct xs_host *h, unsigned *comp, uint32_t *std_off, uint32_t *cmp_off,
		    uint32_t *len)
{
	if (h->xcr0 & (1ull << XS_C_AVX)) {
		*comp = XS_C_AVX;
		*std_off = h->offset[XS_C_AVX];
		*cmp_off = XS_EXT_OFFSET;
		*len = h->size[XS_C_AVX];
	} else {
		*comp = XS_C_X87;
		*std_off = *cmp_off = 32;
		*len = 128;
	}
}

static bool region_is(const uint8_t *p, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* XRSTOR with XSTATE_BV = XCR0 of an image holding initial values: is
 * XINUSE then 0 for the components loaded? */
static int load_init_run(const struct xs_host *h, struct probe_bufs *pb)
{
	uint64_t x = xinuse_after(h, pb, h->xcr0, true, 0, false);

	return x == ~0ull ? -1 : (x & h->xcr0 & ~2ull) == 0;
}

/* x87 loaded non-init (FCW only, ST zero), then FNINIT: XINUSE[0]? */
static int fninit_run(const struct xs_host *h, struct probe_bufs *pb)
{
	struct xs_hw_op ops[3];
	struct xs_hw_outcome o;

	image(h, pb->a, 1, true);
	put16(pb->a, 0x027F);
	memset(pb->b, PAT, sizeof(pb->b));
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = pb->a, .mask = 1 };
	ops[1] = (struct xs_hw_op){ .kind = XS_HW_FNINIT };
	ops[2] = (struct xs_hw_op){ .kind = XS_HW_XSAVE, .mem = pb->b, .mask = 1 };
	if (xs_hw_run(ops, 3, 3, &o) != 0 || o.fault)
		return -1;
	return (get64(pb->b + XS_HDR_OFFSET) & 1) == 0;
}

/* Misaligned XSAVE with EFLAGS.AC = 1 at CPL 3: #AC (1) or #GP (0)? */
static int misaligned_ac_run(struct probe_bufs *pb)
{
	struct xs_hw_op op;
	struct xs_hw_outcome o;

	memset(&op, 0, sizeof(op));
	op.kind = XS_HW_XSAVE;
	op.mem = pb->b + 8;
	op.mask = 1;
	op.ac = true;
	if (xs_hw_run(&op, 1, 1, &o) != 0 || !o.fault)
		return -1;
	return o.fault == XS_AC;
}

/* Save with `kind` after restoring init state: did it skip the witness? */
static int init_opt_run(const struct xs_host *h, struct probe_bufs *pb, enum xs_hw_kind kind)
{
	unsigned comp;
	uint32_t so, co, len;
	struct xs_hw_op ops[2];
	struct xs_hw_outcome o;

	witness(h, &comp, &so, &co, &len);
	image(h, pb->a, 0, true);
	memset(pb->b, PAT, sizeof(pb->b));
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = pb->a, .mask = ~0ull };
	ops[1] = (struct xs_hw_op){ .kind = (uint8_t)kind, .mem = pb->b, .mask = h->xcr0 };
	if (xs_hw_run(ops, 2, 2, &o) != 0 || o.fault)
		return -1;
	return region_is(pb->b + (kind == XS_HW_XSAVEC ? co : so), PAT, len);
}

/* XSAVEOPT to the buffer just restored from, after overwriting the
 * witness's bytes there (memory only): skipped means the modified
 * optimization is in use. */
static int modified_opt_run(const struct xs_host *h, struct probe_bufs *pb)
{
	unsigned comp;
	uint32_t so, co, len;
	struct xs_hw_op ops[3];
	struct xs_hw_outcome o;

	witness(h, &comp, &so, &co, &len);
	image(h, pb->a, h->xcr0, false);
	memset(pb->pat, PAT, sizeof(pb->pat));
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = pb->a, .mask = ~0ull };
	ops[1] = (struct xs_hw_op){ .kind = XS_HW_COPY, .mem = pb->a + so, .src = pb->pat,
				    .len = len };
	ops[2] = (struct xs_hw_op){ .kind = XS_HW_XSAVEOPT, .mem = pb->a, .mask = ~0ull };
	if (xs_hw_run(ops, 3, 3, &o) != 0 || o.fault)
		return -1;
	return region_is(pb->a + so, PAT, len);
}

/* x87 error pointers with FSW.ES = 0 (all exceptions masked): saved as 0? */
static int errptr_run(const struct xs_host *h, struct probe_bufs *pb, bool pending)
{
	struct xs_hw_op ops[2];
	struct xs_hw_outcome o;

	image(h, pb->a, 1, true);
	put16(pb->a, pending ? 0x027E : 0x027F); /* IM unmasked when pending */
	put16(pb->a + 2, pending ? 0x8081 : 0);  /* B, ES, IE */
	put16(pb->a + 6, 0x0123);                /* FOP */
	put64(pb->a + 8, 0x1000);                /* FIP */
	put64(pb->a + 16, 0x2000);               /* FDP */
	memset(pb->b, PAT, sizeof(pb->b));
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = pb->a, .mask = 1 };
	ops[1] = (struct xs_hw_op){ .kind = XS_HW_XSAVE, .mem = pb->b, .mask = 1 };
	if (xs_hw_run(ops, 2, 2, &o) != 0 || o.fault)
		return -1;
	return get64(pb->b + 8) == 0 && get64(pb->b + 16) == 0;
}

/* Bytes 416-463 after XSAVE: 0 untouched, 1 written the same way each
 * time, 2 written differently. */
static int reserved_run(const struct xs_host *h, struct probe_bufs *pb, uint8_t *first)
{
	struct xs_hw_op ops[2];
	struct xs_hw_outcome o;

	image(h, pb->a, h->xcr0, false);
	memset(pb->b, PAT, sizeof(pb->b));
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = pb->a, .mask = ~0ull };
	ops[1] = (struct xs_hw_op){ .kind = XS_HW_XSAVE, .mem = pb->b, .mask = ~0ull };
	if (xs_hw_run(ops, 2, 2, &o) != 0 || o.fault)
		return -1;
	if (region_is(pb->b + 416, PAT, 48))
		return 0;
	if (first[0] == 0 && first[1] == 0) {
		memcpy(first + 2, pb->b + 416, 48);
		first[0] = 1;
		return 1;
	}
	return memcmp(first + 2, pb->b + 416, 48) ? 2 : 1;
}

int xs_probe_host(struct xs_probe_report *r)
{
	const struct xs_host *h = xs_host_get();
	struct probe_bufs *pb;
	int clears = 0, tracked = 0, xopt = 0, xmod = 0, xc = 0, es0 = 0, es1 = 0, rw = 0, rnd = 0;
	int ldinit = 0, fnin = 0, acs = 0;
	uint8_t first[50] = { 0 };
	uint64_t xinuse;

	memset(r, 0, sizeof(*r));
	if (!h)
		return -1;
	if (h->std_size > sizeof(pb->a)) {
		note(r, "standard size %u exceeds the probe's buffers", h->std_size);
		return -1;
	}
	pb = aligned_alloc(64, sizeof(*pb));
	if (!pb)
		return -1;
	for (int k = 0; k < PROBE_RUNS; k++) {
		/* Load every component non-init, then restore XSTATE_BV=0. */
		xinuse = xinuse_after(h, pb, h->xcr0, false, 0, true);
		if (xinuse != ~0ull && (xinuse & h->xcr0 & ~2ull) == 0)
			clears++;
		if (xinuse != ~0ull && (xinuse & h->xcr0) != h->xcr0)
			tracked++;
		if (init_opt_run(h, pb, XS_HW_XSAVEOPT) == 1)
			xopt++;
		if (h->xsavec && init_opt_run(h, pb, XS_HW_XSAVEC) == 1)
			xc++;
		if (modified_opt_run(h, pb) == 1)
			xmod++;
		if (load_init_run(h, pb) == 1)
			ldinit++;
		if (fninit_run(h, pb) == 1)
			fnin++;
		if (misaligned_ac_run(pb) == 1)
			acs++;
		if (errptr_run(h, pb, false) == 1)
			es0++;
		if (errptr_run(h, pb, true) == 1)
			es1++;
		switch (reserved_run(h, pb, first)) {
		case 1:
			rw++;
			break;
		case 2:
			rw++;
			rnd++;
			break;
		}
	}
	free(pb);

	r->measured_xinuse = true;
	r->impl.xinuse_tracking = majority(tracked);
	r->impl.xrstor_init_clears_xinuse = majority(clears);
	r->impl.xsaveopt_init_opt = h->xsaveopt && majority(xopt);
	r->impl.xsaveopt_modified_opt = h->xsaveopt && majority(xmod);
	r->impl.xsavec_init_opt = h->xsavec && majority(xc);
	r->impl.xsaves_init_opt = r->impl.xsavec_init_opt;
	r->impl.xsaves_modified_opt = r->impl.xsaveopt_modified_opt;
	r->impl.x87_errptr_only_if_es = majority(es0) && !majority(es1);
	r->impl.xrstor_load_checks_init = majority(ldinit);
	r->impl.x87_xinuse_by_value = majority(fnin);
	r->misaligned_ac = majority(acs);
	r->reserved_416_written = majority(rw);
	r->reserved_416_deterministic = rnd == 0;
	r->impl.mxcsr_mask = xs_host_mxcsr_mask();
	note(r, "xinuse: %d/%d runs saw XINUSE=0 for a component after XRSTOR of XSTATE_BV=0",
	     clears, PROBE_RUNS);
	if (!h->xsaveopt)
		note(r, "no XSAVEOPT: its optimizations are reported as off");
	if (!h->xsavec)
		note(r, "no XSAVEC: xsavec_init_opt reported as off");
	note(r, "xsaves_init_opt / xsaves_modified_opt: XSAVES cannot run at CPL 3; assumed equal "
	     "to xsavec_init_opt / xsaveopt_modified_opt (XINUSE and XMODIFIED are shared)");
	note(r, "XRSTOR loading initial values left XINUSE=0: %d/%d runs; FNINIT with ST0-7 zero "
	     "left XINUSE[0]=0: %d/%d runs", ldinit, PROBE_RUNS, fnin, PROBE_RUNS);
	note(r, "misaligned XSAVE with EFLAGS.AC=1 at CPL 3 raised %s", r->misaligned_ac ? "#AC" : "#GP");
	note(r, "x87 error pointers with FSW.ES=0 saved as 0: %d/%d runs; with ES=1: %d/%d runs",
	     es0, PROBE_RUNS, es1, PROBE_RUNS);
	note(r, "legacy bytes 416-463: %s by XSAVE%s", r->reserved_416_written ? "written" :
	     "not written", r->reserved_416_written && !r->reserved_416_deterministic ?
	     " (not the same bytes every time)" : "");
	return 0;
}

int xs_probe_apply(struct xs_model *m, char *err, size_t errlen)
{
	struct xs_probe_report r;

	if (xs_probe_host(&r) != 0) {
		snprintf(err, errlen, "host: cannot probe: no usable XSAVE in user mode");
		return -1;
	}
	xs_probe_apply_report(m, &r);
	return 0;
}

void xs_probe_apply_report(struct xs_model *m, const struct xs_probe_report *r)
{
	/* Field by field: only what the probe measured (or assumes, see the
	 * notes); any other choice keeps the model's default. */
	m->impl.xinuse_tracking = r->impl.xinuse_tracking;
	m->impl.xrstor_init_clears_xinuse = r->impl.xrstor_init_clears_xinuse;
	m->impl.xsaveopt_init_opt = r->impl.xsaveopt_init_opt;
	m->impl.xsaveopt_modified_opt = r->impl.xsaveopt_modified_opt;
	m->impl.xsavec_init_opt = r->impl.xsavec_init_opt;
	m->impl.xsaves_init_opt = r->impl.xsaves_init_opt;
	m->impl.xsaves_modified_opt = r->impl.xsaves_modified_opt;
	m->impl.mxcsr_mask = r->impl.mxcsr_mask;
	m->impl.x87_errptr_only_if_es = r->impl.x87_errptr_only_if_es;
	m->impl.xrstor_load_checks_init = r->impl.xrstor_load_checks_init;
	m->impl.x87_xinuse_by_value = r->impl.x87_xinuse_by_value;
	m->impl.xsave_misalign_ac = r->misaligned_ac;
}
