/* Helpers for the user-ABI kernel tests (test_abi_*.c): a kernel booted
 * through ktest.h, one process address space (a stack region), and short
 * ways to run a task, deliver a signal, sigreturn, and peek at frames. */
#ifndef XSTATE_TESTS_ABI_UTIL_H
#define XSTATE_TESTS_ABI_UTIL_H

#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_abi.h"

#define AT_STACK_TOP 0x00007ffffff00000ULL
#define AT_STACK_SIZE (512u * 1024u)
#define AT_SP (AT_STACK_TOP - 0x1000u - 0x48u) /* an arbitrary user stack pointer */
#define AT_ALT_BASE 0x00007fff00000000ULL
#define AT_RESTORER 0x401000u

struct at {
	struct kt kt;
	struct xk_umem mm;
	unsigned quiet_bad; /* kt_bad() calls filtered out (legitimate partial restores) */
};

/* The kt checks assume every task restore loads kernel.max & FPSTATE; the
 * ABI paths also restore the supervisor part alone (os_xrstor_supervisor)
 * and fault on user memory on purpose. Those events are counted, not
 * checked. */
static inline void at_trace(void *ctx, const struct xk_event *e)
{
	struct at *a = ctx;

	if (e->type >= XK_EV_PERM || (e->type == XK_EV_RESTORE && e->task &&
				      e->mask != a->kt.k.restore_mask)) {
		if ((unsigned)e->type < XK_EV_COUNT)
			a->kt.n[e->type]++;
		if (a->kt.print) {
			char buf[400];

			xk_event_format(e, buf, sizeof(buf));
			tap_diag("%s", buf);
		}
		return;
	}
	kt_trace(&a->kt, e);
}

static inline int at_boot(struct at *a, const char *model, unsigned ncpus, const char *policy)
{
	memset(a, 0, sizeof(*a));
	if (kt_boot(&a->kt, model, ncpus, policy))
		return -1;
	xk_set_trace(&a->kt.k, at_trace, a);
	xk_umem_init(&a->mm);
	if (xk_umem_map(&a->mm, AT_STACK_TOP - AT_STACK_SIZE, AT_STACK_SIZE, "stack")) {
		xk_shutdown(&a->kt.k);
		return -1;
	}
	return 0;
}

static inline void at_shutdown(struct at *a)
{
	xk_umem_free(&a->mm);
	xk_shutdown(&a->kt.k);
}

/* A new process's thread running in user mode on cpu. */
static inline struct xk_task *at_spawn(struct at *a, const char *name, unsigned cpu)
{
	struct xk_task *t = xk_spawn(&a->kt.k, name);

	if (t && kt_run(&a->kt, cpu, t))
		return NULL;
	return t;
}

static inline int at_enter(struct at *a, unsigned cpu)
{
	return a->kt.k.cpu[cpu].user_mode ? xk_enter_kernel(&a->kt.k, cpu) : 0;
}

/* Deliver signo on cpu with stack pointer sp; back in user mode (in the
 * handler) on success, in the kernel on failure. */
static inline int at_deliver(struct at *a, unsigned cpu, uint64_t sp, uint32_t flags, int signo,
			     struct xk_sigframe *out)
{
	struct xk_sigaction act = { 0x401100u, AT_RESTORER, flags | XK_SA_SIGINFO | XK_SA_RESTORER };
	struct xk_siginfo info = { signo, 0, 0, 0 };
	struct xk_sigframe tmp;
	int r;

	if ((r = at_enter(a, cpu)))
		return r;
	r = xk_signal_deliver(&a->kt.k, cpu, &a->mm, sp, &act, &info, out ? out : &tmp);
	if (r == 0)
		xk_return_to_user(&a->kt.k, cpu);
	return r;
}

/* rt_sigreturn from a handler whose frame is at frame (sp = frame + 8 after
 * the handler's ret popped pretcode). Back in user mode either way. */
static inline int at_sigreturn(struct at *a, unsigned cpu, uint64_t frame,
			       struct xk_sigreturn_result *res)
{
	struct xk_sigreturn_result tmp;
	int r;

	if ((r = at_enter(a, cpu)))
		return r;
	r = xk_sigreturn(&a->kt.k, cpu, &a->mm, frame + 8, res ? res : &tmp);
	xk_return_to_user(&a->kt.k, cpu);
	return r;
}

static inline uint8_t *at_mem(struct at *a, uint64_t addr, uint64_t len)
{
	return xk_umem_ptr(&a->mm, addr, len);
}

static inline uint64_t at_ld64(struct at *a, uint64_t addr)
{
	uint64_t v = 0;

	xk_copy_from_user(&a->mm, &v, addr, 8);
	return v;
}

static inline uint32_t at_ld32(struct at *a, uint64_t addr)
{
	uint32_t v = 0;

	xk_copy_from_user(&a->mm, &v, addr, 4);
	return v;
}

static inline void at_st64(struct at *a, uint64_t addr, uint64_t v)
{
	xk_copy_to_user(&a->mm, addr, &v, 8);
}

static inline void at_st32(struct at *a, uint64_t addr, uint32_t v)
{
	xk_copy_to_user(&a->mm, addr, &v, 4);
}

/* The register's current bytes on cpu, without executing anything. */
static inline void at_peek(struct at *a, unsigned cpu, const char *name, uint8_t *out)
{
	struct xs_reg r;

	if (xs_reg_lookup(&a->kt.m, name, &r) == 0)
		xs_reg_peek(a->kt.k.cpu[cpu].hw, &r, out);
}

static inline bool at_has_comp(struct at *a, unsigned comp)
{
	return (a->kt.k.xcr0 >> comp) & 1;
}

#endif
