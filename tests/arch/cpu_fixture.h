/* Shared helpers of the instruction tests (test_xcr/msr/xsave/xrstor/
 * supervisor/regs): load a model, make a CPU with XSAVE enabled, aligned
 * buffers, and the "faults and changes nothing" assertion. */
#ifndef XSTATE_TESTS_CPU_FIXTURE_H
#define XSTATE_TESTS_CPU_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xstate/cpu.h"
#include "xstate/model.h"

#define AREA 16384 /* big enough for every built-in model's largest area */

static struct xs_model fx_model_storage[8];
static int fx_model_n;

/* A built-in model (aborts the test on failure: every caller needs it). */
static inline struct xs_model *fx_model(const char *name)
{
	char err[256];
	struct xs_model *m = &fx_model_storage[fx_model_n++ % 8];

	if (xs_model_load(name, m, err, sizeof(err))) {
		printf("Bail out! cannot load model %s: %s\n", name, err);
		exit(1);
	}
	return m;
}

/* A CPU with CR4.OSXSAVE=1, XCR0=xcr0, IA32_XSS=xss (at CPL 0). */
static inline struct xs_cpu *fx_cpu(const struct xs_model *m, uint64_t xcr0, uint64_t xss)
{
	struct xs_cpu *c = xs_cpu_new(m);

	if (!c || xs_set_cr4_osxsave(c, true) || xs_xsetbv(c, 0, xcr0) ||
	    (xss && xs_wrmsr(c, XS_MSR_XSS, xss))) {
		printf("Bail out! cannot set up %s with XCR0 %#llx XSS %#llx: %s\n", m->name,
		       (unsigned long long)xcr0, (unsigned long long)xss,
		       c ? xs_cpu_fault_reason(c) : "no memory");
		exit(1);
	}
	return c;
}

/* The user components the model supports, as a legal XCR0. */
static inline uint64_t fx_all_user(const struct xs_model *m)
{
	return m->xcr0_supported & ~XS_COMPACTED_BIT;
}

static inline uint8_t *fx_area(void)
{
	uint8_t *p = aligned_alloc(64, AREA + 64);

	if (!p)
		exit(1);
	memset(p, 0, AREA + 64);
	return p;
}

static inline void fx_pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static inline uint64_t fx_ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t fx_ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t fx_ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline void fx_st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void fx_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void fx_st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static inline uint64_t fx_xstate_bv(const uint8_t *a) { return fx_ld64(a + 512); }
static inline uint64_t fx_xcomp_bv(const uint8_t *a) { return fx_ld64(a + 520); }

static inline bool fx_all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Write a named register (the test fails loudly if it cannot). */
static inline void fx_reg_fill(struct xs_cpu *c, const char *name, uint8_t seed)
{
	struct xs_reg r;
	uint8_t v[1024];

	if (xs_reg_lookup(xs_cpu_model(c), name, &r)) {
		tap_ok(0, "lookup %s", name);
		return;
	}
	fx_pattern(v, r.size, seed);
	if (xs_reg_write(c, &r, v) != XS_OK)
		tap_ok(0, "write %s: %s", name, xs_cpu_fault_reason(c));
}

static inline void fx_reg_get(struct xs_cpu *c, const char *name, void *out)
{
	struct xs_reg r;

	if (xs_reg_lookup(xs_cpu_model(c), name, &r) == 0)
		xs_reg_peek(c, &r, out);
}

/* Assert that f is the fault want and that the CPU equals its snapshot. */
#define FX_FAULT(c, snap, expr, want, ...)                                          \
	do {                                                                        \
		enum xs_fault fx_f_ = (expr);                                       \
		char fx_name_[200];                                                 \
		snprintf(fx_name_, sizeof(fx_name_), __VA_ARGS__);                  \
		if (!tap_ok(fx_f_ == (want) && xs_cpu_equal((c), (snap)),           \
			    "%s: %s, state unchanged", fx_name_, xs_fault_name(want)))  \
			tap_diag("  got %s (%s), equal=%d", fx_f_ ? xs_fault_name(fx_f_) : "OK", \
				 xs_cpu_fault_reason(c), xs_cpu_equal((c), (snap)));  \
	} while (0)

#define FX_OK(c, expr, ...)                                                         \
	do {                                                                        \
		enum xs_fault fx_f_ = (expr);                                       \
		if (!tap_ok(fx_f_ == XS_OK, __VA_ARGS__))                            \
			tap_diag("  fault %s: %s", xs_fault_name(fx_f_), xs_cpu_fault_reason(c)); \
	} while (0)

/* Snapshot of a CPU (same model). */
static inline struct xs_cpu *fx_snap(const struct xs_cpu *c)
{
	struct xs_cpu *s = xs_cpu_new(xs_cpu_model(c));

	xs_cpu_copy(s, c);
	return s;
}

#endif
