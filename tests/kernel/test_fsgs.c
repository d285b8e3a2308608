/* FS/GS bases (kernel_fsgs.h): switch paths with and without FSGSBASE and
 * under the 2016 proposal, arch_prctl, ptrace's USER area in both orders,
 * set_thread_area, modify_ldt, fork, exec, SWAPGS discipline, and the
 * fsgs-ptrace-selector mutant. */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_abi.h"
#include "xstate/kernel_fsgs.h"

#define BASE_A 0x200000000ULL
#define BASE_B 0x300000000ULL
#define TLS_BASE 0x7000u
#define TLS_BASE2 0x9000u

static struct xs_cpu *hw(struct kt *t, unsigned cpu)
{
	return t->k.cpu[cpu].hw;
}

static struct xs_seg_view view(struct kt *t, unsigned cpu)
{
	struct xs_seg_view v;

	xs_seg_peek(hw(t, cpu), &v);
	return v;
}

/* A system call by the task current on cpu: kernel mode, f, back to user. */
#define SYSCALL(t, cpu, expr)                        \
	({                                           \
		xk_enter_kernel(&(t)->k, (cpu));     \
		long r_ = (expr);                    \
		xk_return_to_user(&(t)->k, (cpu));   \
		r_;                                  \
	})

static void test_boot(void)
{
	struct kt t;
	struct xs_seg_view v;

	if (kt_boot(&t, "intel-icelake-sp", 2, ""))
		return;
	tap_ok(t.k.fsgsbase && xs_cr4_fsgsbase(hw(&t, 1)), "FSGSBASE in use on a CPU that has it");
	tap_ok(!t.k.null_seg_bug, "Intel: no X86_BUG_NULL_SEG (detected by experiment)");
	v = view(&t, 1);
	tap_eq_u64(v.gs_base, XK_PERCPU_BASE(1), "kernel GS base = the per-CPU area");
	xk_shutdown(&t.k);
	if (kt_boot(&t, "intel-icelake-sp", 1, "fsgsbase=off"))
		return;
	tap_ok(!t.k.fsgsbase && !xs_cr4_fsgsbase(hw(&t, 0)), "fsgsbase=off: CR4.FSGSBASE clear");
	xk_shutdown(&t.k);
}

/* The user's GS base is active in user mode only; the kernel's never
 * reaches user mode. */
static void test_swapgs(void)
{
	struct kt t;
	struct xk_task *a;

	if (kt_boot(&t, "intel-icelake-sp", 1, ""))
		return;
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	tap_eq_u64(xs_wrsegbase(hw(&t, 0), XS_SEG_GS, BASE_A), XS_OK, "user WRGSBASE");
	xk_enter_kernel(&t.k, 0);
	tap_eq_u64(view(&t, 0).gs_base, XK_PERCPU_BASE(0), "in the kernel: the per-CPU base");
	tap_eq_u64(view(&t, 0).kernel_gs_base, BASE_A, "the user's is inactive");
	xk_irq_enter(&t.k, 0, XK_IRQ_HARD);
	tap_eq_u64(view(&t, 0).gs_base, XK_PERCPU_BASE(0), "interrupt from the kernel: no SWAPGS");
	xk_irq_exit(&t.k, 0);
	xk_return_to_user(&t.k, 0);
	tap_eq_u64(view(&t, 0).gs_base, BASE_A, "back in user mode: the user's base");
	xk_irq_enter(&t.k, 0, XK_IRQ_HARD);
	tap_eq_u64(view(&t, 0).gs_base, XK_PERCPU_BASE(0), "interrupt from user mode: SWAPGS");
	xk_irq_exit(&t.k, 0);
	xk_return_to_user(&t.k, 0);
	tap_eq_u64(view(&t, 0).gs_base, BASE_A, "and back");
	tap_ok(t.bad == 0, "no warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

/* Seed 002 questions 1a/1b: a task with selector 0x63 (TLS, base TLS_BASE)
 * that set a different base with WRFSBASE switches out and back in. */
static void switch_case(const char *policy, bool migrate, uint64_t want_base)
{
	struct kt t;
	struct xk_task *a, *b;
	struct xk_user_desc u = xk_user_desc_data(0xFFFFFFFF, TLS_BASE);
	struct xs_seg_view v;

	if (kt_boot(&t, "intel-icelake-sp", 2, policy))
		return;
	a = xk_spawn(&t.k, "a");
	b = xk_spawn(&t.k, "b");
	kt_run(&t, 0, a);
	tap_eq_u64(SYSCALL(&t, 0, xk_set_thread_area(&t.k, 0, &u)), 0, "[%s] set_thread_area",
		   policy);
	tap_eq_u64(u.entry_number, 12, "[%s] first free TLS slot is 12", policy);
	tap_eq_u64(xs_mov_to_seg(hw(&t, 0), XS_SEG_FS, 0x63), XS_OK, "[%s] MOV FS, 0x63", policy);
	tap_eq_u64(view(&t, 0).fs_base, TLS_BASE, "[%s] base from the TLS descriptor", policy);
	tap_eq_u64(xs_wrsegbase(hw(&t, 0), XS_SEG_FS, BASE_A), XS_OK, "[%s] WRFSBASE under 0x63",
		   policy);
	tap_eq_u64(xs_wrsegbase(hw(&t, 0), XS_SEG_GS, BASE_B), XS_OK, "[%s] WRGSBASE (selector 0)",
		   policy);
	kt_run(&t, 0, b);
	xs_wrsegbase(hw(&t, 0), XS_SEG_FS, 0x1234000);
	if (migrate) {
		kt_idle(&t, 0);
		kt_run(&t, 1, a);
	} else {
		kt_run(&t, 0, a);
	}
	v = view(&t, migrate ? 1 : 0);
	tap_eq_u64(v.fs_sel, 0x63, "[%s]%s FS selector preserved", policy, migrate ? " (migrated)" : "");
	tap_eq_u64(v.fs_base, want_base, "[%s]%s FS base", policy, migrate ? " (migrated)" : "");
	tap_ok(v.gs_sel == 0 && v.gs_base == BASE_B, "[%s] GS (selector 0) keeps its base", policy);
	tap_ok(t.bad == 0, "[%s] no warning (%s)", policy, t.bad_why);
	xk_shutdown(&t.k);
}

/* Without FSGSBASE: bases only through arch_prctl and descriptors. */
static void test_legacy(void)
{
	struct kt t;
	struct xk_task *a, *b;
	struct xk_user_desc u = xk_user_desc_data(12, TLS_BASE);
	uint64_t out = 0;

	if (kt_boot(&t, "intel-icelake-sp", 1, "fsgsbase=off"))
		return;
	a = xk_spawn(&t.k, "a");
	b = xk_spawn(&t.k, "b");
	kt_run(&t, 0, a);
	tap_eq_u64(xs_wrsegbase(hw(&t, 0), XS_SEG_FS, BASE_A), XS_UD, "WRFSBASE: #UD");
	tap_eq_u64(SYSCALL(&t, 0, xk_fsgs_arch_prctl(&t.k, a, XK_ARCH_SET_GS, BASE_A, NULL)), 0,
		   "ARCH_SET_GS");
	tap_eq_u64(view(&t, 0).gs_base, BASE_A, "GS base set (WRMSR KERNEL_GS_BASE, then SWAPGS)");
	SYSCALL(&t, 0, xk_set_thread_area(&t.k, 0, &u));
	xs_mov_to_seg(hw(&t, 0), XS_SEG_FS, 0x63);
	kt_run(&t, 0, b);
	tap_eq_u64(view(&t, 0).gs_base, 0, "next task: GS base 0 (selector 0 loaded)");
	tap_eq_u64(view(&t, 0).fs_base, 0, "FS base 0");
	kt_run(&t, 0, a);
	tap_ok(view(&t, 0).fs_sel == 0x63 && view(&t, 0).fs_base == TLS_BASE,
	       "FS 0x63 reloaded: base from the descriptor");
	tap_eq_u64(view(&t, 0).gs_base, BASE_A, "GS base restored by WRMSR");
	xk_enter_kernel(&t.k, 0);
	tap_eq_u64(xk_fsgs_arch_prctl(&t.k, a, XK_ARCH_GET_FS, 0, &out), 0, "ARCH_GET_FS");
	tap_eq_u64(out, TLS_BASE, "reports the descriptor base");
	xk_return_to_user(&t.k, 0);
	/* Selector 1-3: base cleared at the next switch (save_base_legacy). */
	xs_mov_to_seg(hw(&t, 0), XS_SEG_GS, 3);
	kt_run(&t, 0, b);
	kt_run(&t, 0, a);
	tap_ok(view(&t, 0).gs_sel == 3 && view(&t, 0).gs_base == 0, "GS 3: base 0 after a switch");
	tap_ok(t.bad == 0, "no warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

static void test_arch_prctl(void)
{
	struct kt t;
	struct xk_task *a;
	uint64_t out = 0;

	if (kt_boot(&t, "intel-icelake-sp", 1, ""))
		return;
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	xs_mov_to_seg(hw(&t, 0), XS_SEG_FS, 0x2b);
	xk_enter_kernel(&t.k, 0);
	tap_eq_u64(xk_fsgs_arch_prctl(&t.k, a, XK_ARCH_SET_FS, XK_TASK_SIZE_MAX, NULL), -EPERM,
		   "ARCH_SET_FS at TASK_SIZE_MAX: -EPERM");
	tap_eq_u64(xk_fsgs_arch_prctl(&t.k, a, XK_ARCH_SET_FS, BASE_A, NULL), 0, "ARCH_SET_FS");
	tap_eq_u64(xk_fsgs_arch_prctl(&t.k, a, XK_ARCH_GET_FS, 0, &out), 0, "ARCH_GET_FS");
	tap_eq_u64(out, BASE_A, "reads it back");
	tap_eq_u64(xk_fsgs_arch_prctl(&t.k, a, 0x1005, 0, &out), -EINVAL, "unknown code: -EINVAL");
	xk_return_to_user(&t.k, 0);
	tap_ok(view(&t, 0).fs_sel == 0 && view(&t, 0).fs_base == BASE_A,
	       "selector zeroed, base set");
	tap_eq_u64(xk_fsgs_arch_prctl(&t.k, a, XK_ARCH_GET_FS, 0, &out), -EINVAL,
		   "not from user mode");
	tap_ok(t.bad == 0, "no warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

/* ptrace: peek, poke in both orders, errors, the mutant. Returns the
 * tracee's FS after resuming. */
static struct xs_seg_view ptrace_case(const char *policy, bool base_first, uint16_t sel,
				      uint64_t base)
{
	struct kt t;
	struct xk_task *a;
	struct xk_user_desc u = xk_user_desc_data(12, TLS_BASE);
	struct xs_seg_view v = { 0 };

	if (kt_boot(&t, "intel-icelake-sp", 1, policy))
		return v;
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	SYSCALL(&t, 0, xk_set_thread_area(&t.k, 0, &u));
	xs_mov_to_seg(hw(&t, 0), XS_SEG_FS, 0x63);
	kt_idle(&t, 0); /* stopped: switched out */
	if (base_first) {
		xk_ptrace_pokeuser(&t.k, a, XK_UREG_FS_BASE, base);
		xk_ptrace_pokeuser(&t.k, a, XK_UREG_FS, sel);
	} else {
		xk_ptrace_pokeuser(&t.k, a, XK_UREG_FS, sel);
		xk_ptrace_pokeuser(&t.k, a, XK_UREG_FS_BASE, base);
	}
	kt_run(&t, 0, a);
	v = view(&t, 0);
	xk_shutdown(&t.k);
	return v;
}

/* A selector that names no descriptor, on a CPU whose null load keeps
 * the base (AMD before family 17h, X86_BUG_NULL_SEG; no built-in model is
 * one, so Rome's signature is edited to family 15h). t2 runs with BASE_A;
 * t1, stopped, gets base BASE_B and selector 0x63 (TLS slot 12, never set)
 * by POKEUSER and switches in on t2's CPU: the reload faults, the fixup
 * loads selector 0, and the null load alone would leave t2's BASE_A. */
static void null_seg_case(const char *policy, uint64_t want, const char *what)
{
	struct kt t;
	struct xk_task *t1, *t2;
	char err[256];
	struct xs_seg_view v;

	memset(&t, 0, sizeof(t));
	if (xs_model_load("amd-zen2-rome", &t.m, err, sizeof(err))) {
		tap_diag("model: %s", err);
		return;
	}
	/* Family 15h: base family 0xF plus extended family 6. */
	t.m.signature = (t.m.signature & ~0x0FF00F00u) | 0xF00u | (6u << 20);
	if (kt_boot_loaded(&t, 1, policy))
		return;
	tap_ok(t.k.null_seg_bug, "[%s] family 15h: X86_BUG_NULL_SEG (by experiment)", what);
	t1 = xk_spawn(&t.k, "t1");
	t2 = xk_spawn(&t.k, "t2");
	tap_eq_u64(xk_ptrace_pokeuser(&t.k, t1, XK_UREG_FS_BASE, BASE_B), 0, "[%s] poke fs_base", what);
	tap_eq_u64(xk_ptrace_pokeuser(&t.k, t1, XK_UREG_FS, 0x63), 0, "[%s] poke fs = 0x63", what);
	kt_run(&t, 0, t2);
	tap_eq_u64(SYSCALL(&t, 0, xk_fsgs_arch_prctl(&t.k, t2, XK_ARCH_SET_FS, BASE_A, NULL)), 0,
		   "[%s] t2 ARCH_SET_FS", what);
	xk_enter_kernel(&t.k, 0);
	xk_switch(&t.k, 0, t1);
	xk_return_to_user(&t.k, 0);
	v = view(&t, 0);
	tap_eq_u64(v.fs_sel, 0, "[%s] the reload faulted: selector 0", what);
	tap_eq_u64(v.fs_base, want, "[%s] t1's FS base is %s, never t2's", what,
		   want ? "its saved base" : "0");
	xk_shutdown(&t.k);
}

static void test_null_seg_bug(void)
{
	null_seg_case("", BASE_B, "linux");
	null_seg_case("fsgs=lutomirski2016", 0, "2016");
}

static void test_ptrace(void)
{
	struct kt t;
	struct xk_task *a;
	uint64_t val = 0;
	struct xs_seg_view v;

	if (kt_boot(&t, "intel-icelake-sp", 1, ""))
		return;
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	xs_wrsegbase(hw(&t, 0), XS_SEG_GS, BASE_A);
	tap_eq_u64(xk_ptrace_peekuser(&t.k, a, XK_UREG_GS_BASE, &val), -ESRCH, "running tracee: -ESRCH");
	kt_idle(&t, 0);
	tap_eq_u64(xk_ptrace_peekuser(&t.k, a, XK_UREG_GS_BASE, &val), 0, "PEEKUSER gs_base");
	tap_eq_u64(val, BASE_A, "= the saved base");
	tap_eq_u64(xk_ptrace_pokeuser(&t.k, a, XK_UREG_GS_BASE, XK_TASK_SIZE_MAX), -EIO,
		   "POKEUSER gs_base at TASK_SIZE_MAX: -EIO");
	tap_eq_u64(xk_ptrace_pokeuser(&t.k, a, XK_UREG_GS, 0x61), -EIO, "selector with RPL 1: -EIO");
	tap_eq_u64(xk_ptrace_pokeuser(&t.k, a, XK_UREG_GS, 0x10063), 0,
		   "selector truncated to 16 bits (0x63)");
	xk_ptrace_peekuser(&t.k, a, XK_UREG_GS, &val);
	tap_eq_u64(val, 0x63, "PEEKUSER gs");
	tap_eq_u64(xk_ptrace_pokeuser(&t.k, a, XK_UREG_GS_BASE, 0xFF), 0, "POKEUSER gs_base 0xFF");
	xk_ptrace_peekuser(&t.k, a, XK_UREG_GS, &val);
	tap_eq_u64(val, 0x63, "selector kept (selftest test_ptrace_write_gsbase)");
	xk_ptrace_peekuser(&t.k, a, XK_UREG_GS_BASE, &val);
	tap_eq_u64(val, 0xFF, "base reads back 0xFF");
	xk_shutdown(&t.k);

	/* Both orders, both policies: with selector 0x63 and base BASE_A. */
	v = ptrace_case("", true, 0x63, BASE_A);
	tap_ok(v.fs_sel == 0x63 && v.fs_base == BASE_A, "linux, base then selector: both kept");
	v = ptrace_case("", false, 0x63, BASE_A);
	tap_ok(v.fs_sel == 0x63 && v.fs_base == BASE_A, "linux, selector then base: both kept");
	v = ptrace_case("fsgs=lutomirski2016", true, 0x63, BASE_A);
	tap_ok(v.fs_sel == 0x63 && v.fs_base == TLS_BASE,
	       "2016, base then selector: the descriptor's base wins");
	v = ptrace_case("fsgs=lutomirski2016", false, 0x63, BASE_A);
	tap_ok(v.fs_sel == 0x63 && v.fs_base == TLS_BASE,
	       "2016, selector then base: the descriptor's base wins");
	v = ptrace_case("fsgs=lutomirski2016", false, 0, BASE_A);
	tap_ok(v.fs_sel == 0 && v.fs_base == BASE_A, "2016, selector 0: the written base");
	v = ptrace_case("fsgsbase=off", true, 0x63, BASE_A);
	tap_ok(v.fs_sel == 0x63 && v.fs_base == TLS_BASE,
	       "no FSGSBASE: a base under a nonzero selector is ignored on resume");
	v = ptrace_case("mutant=fsgs-ptrace-selector", true, 0x63, BASE_A);
	tap_ok(v.fs_sel == 0x63 && v.fs_base == BASE_A, "mutant, base then selector: both kept");
	v = ptrace_case("mutant=fsgs-ptrace-selector", false, 0x63, BASE_A);
	tap_ok(v.fs_sel == 0 && v.fs_base == BASE_A,
	       "mutant, selector then base: the base write zeroed the selector (pre-5.9)");
}

/* Question 3: descriptors change under a loaded selector. */
static void descriptor_case(const char *policy, bool ldt, uint64_t want_running,
			    uint64_t want_after_switch)
{
	struct kt t;
	struct xk_task *a, *b;
	struct xk_user_desc u = xk_user_desc_data(ldt ? 1 : 12, TLS_BASE);
	uint16_t sel = ldt ? 0xf : 0x63;

	if (kt_boot(&t, "intel-icelake-sp", 1, policy))
		return;
	a = xk_spawn(&t.k, "a");
	b = xk_spawn(&t.k, "b");
	kt_run(&t, 0, a);
	if (ldt)
		tap_eq_u64(SYSCALL(&t, 0, xk_modify_ldt(&t.k, 0, 0x11, &u)), 0, "[%s] modify_ldt",
			   policy);
	else
		SYSCALL(&t, 0, xk_set_thread_area(&t.k, 0, &u));
	tap_eq_u64(xs_mov_to_seg(hw(&t, 0), XS_SEG_FS, sel), XS_OK, "[%s] MOV FS, %#x", policy, sel);
	u.base_addr = TLS_BASE2;
	if (ldt)
		SYSCALL(&t, 0, xk_modify_ldt(&t.k, 0, 0x11, &u));
	else
		SYSCALL(&t, 0, xk_set_thread_area(&t.k, 0, &u));
	tap_eq_u64(view(&t, 0).fs_base, want_running, "[%s] %s change: running task's FS base",
		   policy, ldt ? "LDT" : "TLS");
	kt_run(&t, 0, b);
	kt_run(&t, 0, a);
	tap_eq_u64(view(&t, 0).fs_base, want_after_switch, "[%s] %s change: after a switch",
		   policy, ldt ? "LDT" : "TLS");
	tap_ok(t.bad == 0, "[%s] no warning (%s)", policy, t.bad_why);
	xk_shutdown(&t.k);
}

static void test_tls_ldt_errors(void)
{
	struct kt t;
	struct xk_task *a;
	struct xk_user_desc u;

	if (kt_boot(&t, "intel-icelake-sp", 1, ""))
		return;
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	xk_enter_kernel(&t.k, 0);
	u = xk_user_desc_data(11, 1);
	tap_eq_u64(xk_set_thread_area(&t.k, 0, &u), -EINVAL, "set_thread_area slot 11: -EINVAL");
	u = xk_user_desc_data(12, 1);
	u.seg_not_present = true;
	tap_eq_u64(xk_set_thread_area(&t.k, 0, &u), -EINVAL, "not-present TLS: -EINVAL");
	u = xk_user_desc_data(12, 1);
	u.contents = 2;
	tap_eq_u64(xk_set_thread_area(&t.k, 0, &u), -EINVAL, "code TLS: -EINVAL");
	for (int i = 0; i < 3; i++) {
		u = xk_user_desc_data(0xFFFFFFFF, 0x1000u * (unsigned)(i + 1));
		xk_set_thread_area(&t.k, 0, &u);
	}
	u = xk_user_desc_data(0xFFFFFFFF, 1);
	tap_eq_u64(xk_set_thread_area(&t.k, 0, &u), -ESRCH, "no free TLS slot: -ESRCH");
	u = xk_user_desc_empty(13);
	tap_eq_u64(xk_set_thread_area(&t.k, 0, &u), 0, "empty descriptor clears slot 13");
	tap_eq_u64(a->thread.tls_array[1], 0, "... it is zero");
	u = xk_user_desc_data(8192, 1);
	tap_eq_u64(xk_modify_ldt(&t.k, 0, 0x11, &u), -EINVAL, "modify_ldt entry 8192: -EINVAL");
	u = xk_user_desc_data(3, 1);
	u.seg_32bit = false;
	tap_eq_u64(xk_modify_ldt(&t.k, 0, 0x11, &u), -EINVAL, "16-bit LDT segment: -EINVAL");
	tap_eq_u64(xk_modify_ldt(&t.k, 0, 0, &u), -ENOSYS, "modify_ldt read: not modelled");
	xk_return_to_user(&t.k, 0);
	tap_eq_u64(xs_mov_to_seg(hw(&t, 0), XS_SEG_FS, 0x6b), XS_GP,
		   "MOV FS of the cleared slot: #GP (empty descriptor)");
	xk_shutdown(&t.k);
}

/* A descriptor that vanishes while a task holds its selector: the kernel's
 * reload at switch-in faults and loads 0 instead (loadsegment fixup). */
static void test_vanished_descriptor(void)
{
	struct kt t;
	struct xk_task *a, *b;
	struct xk_user_desc u = xk_user_desc_data(2, TLS_BASE);

	if (kt_boot(&t, "intel-icelake-sp", 1, ""))
		return;
	a = xk_spawn(&t.k, "a");
	b = xk_spawn(&t.k, "b");
	kt_run(&t, 0, a);
	SYSCALL(&t, 0, xk_modify_ldt(&t.k, 0, 0x11, &u));
	xs_mov_to_seg(hw(&t, 0), XS_SEG_GS, 0x17);
	xs_wrsegbase(hw(&t, 0), XS_SEG_GS, BASE_A);
	u = xk_user_desc_empty(2);
	SYSCALL(&t, 0, xk_modify_ldt(&t.k, 0, 0x11, &u));
	tap_eq_u64(view(&t, 0).gs_sel, 0x17, "running: selector still 0x17");
	kt_run(&t, 0, b);
	kt_run(&t, 0, a);
	tap_ok(view(&t, 0).gs_sel == 0 && view(&t, 0).gs_base == BASE_A,
	       "after a switch: selector 0 (fixup), base kept (FSGSBASE)");
	tap_ok(t.bad == 0, "no warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

static void test_fork_exec(void)
{
	struct kt t;
	struct xk_task *a, *child = NULL;
	struct xk_user_desc u = xk_user_desc_data(5, TLS_BASE);

	if (kt_boot(&t, "intel-icelake-sp", 1, ""))
		return;
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	SYSCALL(&t, 0, xk_modify_ldt(&t.k, 0, 0x11, &u));
	xs_mov_to_seg(hw(&t, 0), XS_SEG_FS, 0x2f);
	xs_mov_to_seg(hw(&t, 0), XS_SEG_GS, 2); /* a null selector with RPL 2 */
	xs_wrsegbase(hw(&t, 0), XS_SEG_GS, BASE_B);
	xk_enter_kernel(&t.k, 0);
	tap_eq_u64(xk_clone(&t.k, 0, 0, "child", &child), 0, "fork");
	xk_return_to_user(&t.k, 0);
	tap_ok(child->thread.fsindex == 0x2f && child->thread.gsindex == 2 &&
	       child->thread.gsbase == BASE_B, "the child gets the parent's live selectors and base");
	tap_eq_u64(view(&t, 0).gs_sel, 2, "the parent returns from fork with SYSRET: GS 2 kept");
	tap_ok(child->proc->ldt && child->proc->ldt != a->proc->ldt &&
	       child->proc->ldt[5] == a->proc->ldt[5], "and a copy of the LDT");
	kt_run(&t, 0, child);
	tap_ok(view(&t, 0).fs_sel == 0x2f && view(&t, 0).fs_base == TLS_BASE &&
	       view(&t, 0).gs_base == BASE_B, "the child runs with them");
	tap_eq_u64(view(&t, 0).gs_sel, 0,
		   "... except GS 2: the child's first return (ret_from_fork) is an IRET");
	xk_enter_kernel(&t.k, 0);
	xk_exec(&t.k, 0);
	xk_return_to_user(&t.k, 0);
	tap_ok(view(&t, 0).fs_sel == 0 && view(&t, 0).fs_base == 0 && view(&t, 0).gs_base == 0,
	       "exec: selectors and bases 0");
	tap_ok(child->proc->ldt == NULL, "exec: no LDT");
	tap_ok(t.bad == 0, "no warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

/* The user-ABI entry point dispatches the FS/GS codes (do_arch_prctl_64
 * before do_arch_prctl_common); GET stores the base in user memory. */
static void test_arch_prctl_dispatch(void)
{
	struct kt t;
	struct xk_task *a;
	struct xk_umem mm;
	uint64_t v = 0;

	if (kt_boot(&t, "intel-icelake-sp", 1, ""))
		return;
	xk_umem_init(&mm);
	xk_umem_map(&mm, 0x10000, XK_PAGE_SIZE, "data");
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	xk_enter_kernel(&t.k, 0);
	tap_eq_u64(xk_arch_prctl(&t.k, a, &mm, XK_ARCH_SET_GS, BASE_A), 0, "arch_prctl(ARCH_SET_GS)");
	tap_eq_u64(xk_arch_prctl(&t.k, a, &mm, XK_ARCH_GET_GS, 0x10008), 0, "arch_prctl(ARCH_GET_GS)");
	xk_copy_from_user(&mm, &v, 0x10008, sizeof(v));
	tap_eq_u64(v, BASE_A, "the base reached user memory");
	tap_eq_u64(xk_arch_prctl(&t.k, a, &mm, XK_ARCH_GET_FS, 0x90000), -EFAULT,
		   "ARCH_GET_FS to an unmapped address: -EFAULT");
	tap_eq_u64(xk_arch_prctl(&t.k, a, &mm, XK_ARCH_SET_FS, XK_TASK_SIZE_MAX), -EPERM,
		   "ARCH_SET_FS beyond TASK_SIZE_MAX: -EPERM");
	tap_ok(!strcmp(xk_arch_prctl_name(XK_ARCH_SET_FS), "ARCH_SET_FS"), "named in traces");
	xk_return_to_user(&t.k, 0);
	tap_eq_u64(view(&t, 0).gs_base, BASE_A, "user mode runs with it");
	xk_umem_free(&mm);
	xk_shutdown(&t.k);
}

/* CLONE_SETTLS and PTRACE_ARCH_PRCTL: do_arch_prctl_64() on a task that
 * is not running (its thread struct), with the same limits. */
static void test_settls_ptrace_prctl(void)
{
	struct kt t;
	struct xk_task *a, *b = NULL, *k1;
	uint64_t v = 0, mem0;

	if (kt_boot(&t, "intel-icelake-sp", 1, ""))
		return;
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	xs_wrsegbase(hw(&t, 0), XS_SEG_FS, BASE_A);
	xk_enter_kernel(&t.k, 0);
	mem0 = t.k.mem.bytes;
	tap_eq_u64(xk_clone_tls(&t.k, 0, XK_CLONE_THREAD | XK_CLONE_VM | XK_CLONE_SETTLS, "b",
				XK_TASK_SIZE_MAX, &b), -EPERM,
		   "CLONE_SETTLS with a tls at TASK_SIZE_MAX: -EPERM");
	tap_ok(!b && t.k.mem.bytes == mem0, "no child, nothing allocated");
	tap_eq_u64(xk_clone_tls(&t.k, 0, XK_CLONE_THREAD | XK_CLONE_VM, "b", XK_TASK_SIZE_MAX, &b), 0,
		   "without CLONE_SETTLS the tls argument is ignored");
	tap_ok(b && b->thread.fsbase == BASE_A, "the thread inherits the live FS base");
	b = NULL;
	tap_eq_u64(xk_clone_tls(&t.k, 0, XK_CLONE_THREAD | XK_CLONE_VM | XK_CLONE_SETTLS, "c",
				BASE_B, &b), 0, "clone(CLONE_SETTLS, tls)");
	xk_return_to_user(&t.k, 0);
	tap_ok(b && b->thread.fsindex == 0 && b->thread.fsbase == BASE_B,
	       "the child's FS: selector 0, base tls");
	tap_eq_u64(view(&t, 0).fs_base, BASE_A, "the parent keeps its own");

	/* b is stopped (never ran); a runs in user mode. */
	tap_eq_u64(xk_ptrace_arch_prctl(&t.k, a, XK_ARCH_SET_GS, BASE_B, NULL), -ESRCH,
		   "PTRACE_ARCH_PRCTL on a running tracee: -ESRCH");
	tap_eq_u64(xk_ptrace_arch_prctl(&t.k, b, XK_ARCH_SET_GS, BASE_A, NULL), 0,
		   "PTRACE_ARCH_PRCTL(ARCH_SET_GS)");
	tap_eq_u64(xk_ptrace_arch_prctl(&t.k, b, XK_ARCH_GET_GS, 0, &v), 0,
		   "PTRACE_ARCH_PRCTL(ARCH_GET_GS)");
	tap_eq_u64(v, BASE_A, "reads back the base");
	tap_eq_u64(xk_ptrace_arch_prctl(&t.k, b, XK_ARCH_SET_FS, XK_TASK_SIZE_MAX, NULL), -EPERM,
		   "a base at TASK_SIZE_MAX: -EPERM");
	tap_eq_u64(xk_ptrace_arch_prctl(&t.k, b, 0x1023, 18, NULL), -EINVAL,
		   "ARCH_REQ_XCOMP_PERM through ptrace: -EINVAL (the system call's only)");
	k1 = xk_kthread_create(&t.k, "k1");
	tap_eq_u64(xk_ptrace_arch_prctl(&t.k, k1, XK_ARCH_GET_FS, 0, &v), -ESRCH,
		   "a kernel thread is no tracee: -ESRCH");
	kt_run(&t, 0, b);
	tap_ok(view(&t, 0).fs_base == BASE_B && view(&t, 0).gs_base == BASE_A,
	       "the tracee resumes with the tls FS base and the tracer's GS base");
	tap_ok(t.bad == 0, "no warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

int main(void)
{
	tap_plan_lazy();
	test_boot();
	test_swapgs();
	/* 1a/1b: Linux keeps the WRFSBASE value; 2016 reloads the descriptor. */
	switch_case("", false, BASE_A);
	switch_case("", true, BASE_A);
	switch_case("fsgs=lutomirski2016", false, TLS_BASE);
	switch_case("fsgs=lutomirski2016", true, TLS_BASE);
	test_legacy();
	test_arch_prctl();
	test_ptrace();
	test_null_seg_bug();
	/* 3: set_thread_area reloads FS of the caller at once (both policies);
	 * an LDT change does not reach a loaded FS on 64-bit, and Linux with
	 * FSGSBASE keeps the old base across switches, where the 2016
	 * proposal (and Linux without FSGSBASE) reload the descriptor. */
	descriptor_case("", false, TLS_BASE2, TLS_BASE2);
	descriptor_case("fsgs=lutomirski2016", false, TLS_BASE2, TLS_BASE2);
	descriptor_case("", true, TLS_BASE, TLS_BASE);
	descriptor_case("fsgs=lutomirski2016", true, TLS_BASE, TLS_BASE2);
	descriptor_case("fsgsbase=off", true, TLS_BASE, TLS_BASE2);
	test_tls_ldt_errors();
	test_vanished_descriptor();
	test_fork_exec();
	test_settls_ptrace_prctl();
	test_arch_prctl_dispatch();
	return tap_done();
}
