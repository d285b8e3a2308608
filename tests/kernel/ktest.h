/* Helpers shared by the kernel-layer tests: boot a kernel on a built-in
 * model, play user code through the register API, count trace events and
 * check the per-event invariants (save RFBM = fpstate->xfeatures, restore
 * RFBM = kernel.max & FPSTATE, XFD MSR = the buffer's xfd at every task
 * save/restore, no instruction faults, no WARN). */
#ifndef XSTATE_TESTS_KTEST_H
#define XSTATE_TESTS_KTEST_H

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xstate/kernel.h"

struct kt {
	struct xs_model m;
	struct xk_kernel k;
	unsigned n[XK_EV_COUNT];     /* events by type */
	unsigned restores_of[64];    /* RESTORE events by task tid (< 64) */
	unsigned saves_of[64];
	unsigned skips_of[64];
	unsigned bad;                /* per-event invariant violations */
	char bad_why[256];
	bool print;                  /* print the trace as TAP comments */
};

static inline void kt_bad(struct kt *t, const char *why)
{
	if (!t->bad++)
		snprintf(t->bad_why, sizeof(t->bad_why), "%s", why);
}

static inline void kt_trace(void *ctx, const struct xk_event *e)
{
	struct kt *t = ctx;
	const struct xk_kernel *k = &t->k;
	unsigned tid = e->task ? e->task->tid : 0;

	if ((unsigned)e->type < XK_EV_COUNT)
		t->n[e->type]++;
	if (t->print) {
		char buf[400];

		xk_event_format(e, buf, sizeof(buf));
		tap_diag("%s", buf);
	}
	if (e->fault != XS_OK && e->type != XK_EV_FAULT && e->type != XK_EV_ALLOC)
		kt_bad(t, "a kernel instruction faulted");
	if (e->type == XK_EV_WARN)
		kt_bad(t, e->why);
	if (!e->task || e->cpu < 0)
		return;
	if (e->type == XK_EV_SAVE || e->type == XK_EV_RESTORE) {
		const struct xk_fpstate *fps = e->task->fpu.fpstate;
		uint64_t xfd = xs_xfd(k->cpu[e->cpu].hw);

		if (k->dynamic && xfd != fps->xfd)
			kt_bad(t, "IA32_XFD differs from the buffer's xfd at a save/restore");
		if (e->type == XK_EV_SAVE && e->mask != fps->xfeatures)
			kt_bad(t, "save RFBM is not fpstate->xfeatures");
		if (e->type == XK_EV_RESTORE && e->mask != k->restore_mask)
			kt_bad(t, "restore RFBM is not kernel.max & FPSTATE");
	}
	if (tid < 64) {
		if (e->type == XK_EV_RESTORE)
			t->restores_of[tid]++;
		if (e->type == XK_EV_SAVE)
			t->saves_of[tid]++;
		if (e->type == XK_EV_RESTORE_SKIP)
			t->skips_of[tid]++;
	}
}

/* Boot on a built-in model with a policy string ("" = Linux). */
/* Boot on t->m, a model already loaded (and perhaps edited by the test). */
static inline int kt_boot_loaded(struct kt *t, unsigned ncpus, const char *policy)
{
	struct xk_boot_opts o;
	char err[256];

	memset(&t->k, 0, sizeof(t->k));
	memset(&o, 0, sizeof(o));
	o.ncpus = ncpus;
	xk_policy_default(&o.policy);
	if (xk_policy_parse(&o.policy, policy, err, sizeof(err))) {
		tap_diag("policy '%s': %s", policy, err);
		return -1;
	}
	o.trace = kt_trace;
	o.trace_ctx = t;
	if (xk_boot(&t->k, &t->m, &o, err, sizeof(err))) {
		tap_diag("boot on %s: %s", t->m.name, err);
		return -1;
	}
	return 0;
}

static inline int kt_boot(struct kt *t, const char *model, unsigned ncpus, const char *policy)
{
	char err[256];

	memset(t, 0, sizeof(*t));
	if (xs_model_load(model, &t->m, err, sizeof(err))) {
		tap_diag("model %s: %s", model, err);
		return -1;
	}
	return kt_boot_loaded(t, ncpus, policy);
}

static inline void kt_reset_counts(struct kt *t)
{
	memset(t->n, 0, sizeof(t->n));
	memset(t->restores_of, 0, sizeof(t->restores_of));
	memset(t->saves_of, 0, sizeof(t->saves_of));
	memset(t->skips_of, 0, sizeof(t->skips_of));
}

/* Make task run on cpu and return to user mode (entering the kernel first
 * if the CPU is in user mode). next NULL: idle. */
static inline int kt_run(struct kt *t, unsigned cpu, struct xk_task *next)
{
	struct xk_kernel *k = &t->k;
	int r;

	if (k->cpu[cpu].user_mode && (r = xk_enter_kernel(k, cpu)))
		return r;
	if ((r = xk_switch(k, cpu, next)))
		return r;
	return next ? xk_return_to_user(k, cpu) : 0;
}

/* Stop whatever runs on cpu (switch to idle). */
static inline int kt_idle(struct kt *t, unsigned cpu)
{
	return kt_run(t, cpu, NULL);
}

static inline bool kt_has_reg(struct kt *t, const char *name)
{
	struct xs_reg r;

	return xs_reg_lookup(&t->m, name, &r) == 0 &&
	       (t->k.xcr0 & XS_BIT(r.part[r.nparts - 1].comp));
}

/* A register value derived from a seed (1024 bytes max). */
static inline void kt_pattern(uint8_t *v, unsigned size, unsigned seed)
{
	for (unsigned i = 0; i < size; i++)
		v[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* A user instruction writing/reading a register on cpu; returns the fault. */
static inline enum xs_fault kt_write(struct kt *t, unsigned cpu, const char *name, unsigned seed)
{
	struct xs_reg r;
	uint8_t v[1024];

	if (xs_reg_lookup(&t->m, name, &r) || r.size > sizeof(v))
		return XS_UD;
	kt_pattern(v, r.size, seed);
	return xs_reg_write(t->k.cpu[cpu].hw, &r, v);
}

/* 1 if the register holds the seed's pattern, 0 if not, -1 on a fault. */
static inline int kt_check(struct kt *t, unsigned cpu, const char *name, unsigned seed)
{
	struct xs_reg r;
	uint8_t v[1024], want[1024];

	if (xs_reg_lookup(&t->m, name, &r) || r.size > sizeof(v))
		return -1;
	if (xs_reg_read(t->k.cpu[cpu].hw, &r, v) != XS_OK)
		return -1;
	kt_pattern(want, r.size, seed);
	return memcmp(v, want, r.size) == 0;
}

/* Like kt_check without executing (no fault, no tracking). */
static inline int kt_peek(struct kt *t, unsigned cpu, const char *name, unsigned seed)
{
	struct xs_reg r;
	uint8_t v[1024], want[1024];

	if (xs_reg_lookup(&t->m, name, &r) || r.size > sizeof(v))
		return -1;
	xs_reg_peek(t->k.cpu[cpu].hw, &r, v);
	kt_pattern(want, r.size, seed);
	return memcmp(v, want, r.size) == 0;
}

/* 1 if the register is all zeros. */
static inline int kt_zero(struct kt *t, unsigned cpu, const char *name)
{
	struct xs_reg r;
	uint8_t v[1024];

	if (xs_reg_lookup(&t->m, name, &r) || r.size > sizeof(v))
		return -1;
	if (xs_reg_read(t->k.cpu[cpu].hw, &r, v) != XS_OK)
		return -1;
	for (unsigned i = 0; i < r.size; i++)
		if (v[i])
			return 0;
	return 1;
}

#endif
