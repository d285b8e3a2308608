/* Minimal TAP producer in the style of the kernel's kselftest.h.
 *
 *   tap_plan(n) / tap_plan_lazy();
 *   tap_ok(cond, "name %d", i);  tap_skip("reason");  tap_eq_u64(a, b, "name");
 *   return tap_done();
 *
 * Every test program prints "TAP version 13", one "ok"/"not ok" line per
 * check, and exits 0 only if nothing failed. tests/run.sh counts the lines.
 */
#ifndef XSTATE_TESTS_TAP_H
#define XSTATE_TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_skipped, tap_planned = -1;

static inline void tap_plan(int n)
{
	printf("TAP version 13\n1..%d\n", n);
	tap_planned = n;
}

static inline void tap_plan_lazy(void)
{
	printf("TAP version 13\n");
	tap_planned = 0;
}

static inline void tap_vresult(int ok, const char *fmt, va_list ap)
{
	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - ", ok ? "" : "not ", tap_n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((format(printf, 2, 3)))
static inline int tap_ok(int ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vresult(ok, fmt, ap);
	va_end(ap);
	return ok;
}

__attribute__((format(printf, 1, 2)))
static inline void tap_skip(const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	tap_skipped++;
	printf("ok %d # SKIP ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((format(printf, 1, 2)))
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define tap_eq_u64(got, want, ...)                                                  \
	do {                                                                        \
		uint64_t tap_g_ = (uint64_t)(got), tap_w_ = (uint64_t)(want);       \
		if (!tap_ok(tap_g_ == tap_w_, __VA_ARGS__))                         \
			tap_diag("  got 0x%" PRIx64 ", want 0x%" PRIx64, tap_g_, tap_w_); \
	} while (0)

static inline int tap_done(void)
{
	if (tap_planned == 0)
		printf("1..%d\n", tap_n);
	else if (tap_planned > 0 && tap_planned != tap_n) {
		printf("# planned %d tests but ran %d\n", tap_planned, tap_n);
		tap_failed++;
	}
	printf("# %d passed, %d failed, %d skipped\n", tap_n - tap_failed - tap_skipped,
	       tap_failed, tap_skipped);
	return tap_failed ? 1 : 0;
}

#endif
