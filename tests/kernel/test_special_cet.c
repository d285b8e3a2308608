/* CET: the user shadow stack (CET_U) in the task buffer, arch_prctl
 * ARCH_SHSTK_*, NT_X86_SHSTK with Linux's checks, clone/exec, the mutant
 * shstk-set-unchecked; CET_S under the three cet-s= policies (sizes,
 * what the task restore carries, the independent buffer). */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_abi.h"
#include "xstate/kernel_kvm.h"
#include "xstate/kernel_special.h"

static uint64_t cpu_msr(struct kt *t, unsigned cpu, uint32_t msr)
{
	struct xs_cpu *hw = t->k.cpu[cpu].hw;
	int cpl = xs_cpl(hw);
	uint64_t v = 0;

	xs_set_cpl(hw, 0);
	xs_rdmsr(hw, msr, &v);
	xs_set_cpl(hw, cpl);
	return v;
}

/* User code executing n CALLs (n < 0: RETs): the CPU moves PL3_SSP by
 * itself, 8 bytes per return address. */
static void user_calls(struct kt *t, unsigned cpu, int n)
{
	struct xs_cpu *hw = t->k.cpu[cpu].hw;
	int cpl = xs_cpl(hw);

	xs_set_cpl(hw, 0);
	xs_wrmsr(hw, XS_MSR_PL3_SSP, cpu_msr(t, cpu, XS_MSR_PL3_SSP) - 8 * (int64_t)n);
	xs_set_cpl(hw, cpl);
}

static long prctl(struct kt *t, unsigned cpu, int opt, uint64_t arg)
{
	uint64_t st = 0;

	if (t->k.cpu[cpu].user_mode)
		xk_enter_kernel(&t->k, cpu);
	return xk_shstk_prctl(&t->k, cpu, opt, arg, &st);
}

static void test_shstk_switch(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *b;
	uint64_t ssp_a, ssp_b, st = 0, v;
	size_t len;

	if (kt_boot(&t, "intel-sapphire-rapids", 2, "")) {
		tap_ok(0, "boot sapphire-rapids");
		return;
	}
	tap_ok(xk_shstk_supported(k), "sapphire-rapids: user shadow stacks");
	tap_ok(k->kcfg.default_features & XS_BIT(XS_C_CET_U), "CET_U is in the default task buffer");
	a = xk_spawn(k, "a");
	b = xk_spawn(k, "b");
	kt_run(&t, 0, a);
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK | XK_ARCH_SHSTK_WRSS) ==
	       -EINVAL, "ENABLE with two features: -EINVAL");
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_WRSS) == -EPERM,
	       "WRSS before SHSTK: -EPERM");
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_ENABLE, 4) == -EINVAL, "unknown feature: -EINVAL");
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK) == 0, "a: ENABLE SHSTK");
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK) == 0, "enabling again: 0");
	xk_shstk_prctl(k, 0, XK_ARCH_SHSTK_STATUS, 0, &st);
	tap_eq_u64(st, XK_ARCH_SHSTK_SHSTK, "STATUS: SHSTK");
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_U_CET), XK_CET_SHSTK_EN, "IA32_U_CET = SH_STK_EN");
	ssp_a = cpu_msr(&t, 0, XS_MSR_PL3_SSP);
	tap_ok(ssp_a && !(ssp_a & 7) && ssp_a < XK_TASK_SIZE_MAX, "PL3_SSP = top of a's shadow stack");
	xk_return_to_user(k, 0);
	user_calls(&t, 0, 5);
	ssp_a -= 40;
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_PL3_SSP), ssp_a, "a made 5 calls: SSP moved by 40");

	kt_run(&t, 0, b);
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_U_CET), 0, "b (no shadow stack) sees U_CET = 0");
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_PL3_SSP), 0, "... and PL3_SSP = 0");
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK) == 0, "b: ENABLE SHSTK");
	ssp_b = cpu_msr(&t, 0, XS_MSR_PL3_SSP);
	tap_ok(ssp_b != ssp_a + 40, "b has a shadow stack of its own");

	/* a moves to cpu1: its CET_U state follows it through the buffer. */
	xk_return_to_user(k, 0);
	kt_run(&t, 1, a);
	tap_eq_u64(cpu_msr(&t, 1, XS_MSR_PL3_SSP), ssp_a, "a on cpu1: SSP restored from its buffer");
	user_calls(&t, 1, -2);
	ssp_a += 16;
	kt_idle(&t, 1);
	kt_run(&t, 0, a);
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_PL3_SSP), ssp_a, "a back on cpu0: the SSP it left on cpu1");

	/* NT_X86_SHSTK on a stopped a. */
	kt_run(&t, 0, b);
	len = 8;
	tap_ok(xk_shstk_regset(k, a, false, &v, &len) == 0 && len == 8, "NT_X86_SHSTK get");
	tap_eq_u64(v, ssp_a, "get: the SSP of the stopped tracee");
	tap_ok(xk_shstk_regset(k, b, false, &v, &len) == -ESRCH, "a running tracee: -ESRCH");
	len = 8;
	v = 0;
	tap_ok(xk_ptrace_regset(k, a, false, XK_NT_X86_SHSTK, &v, &len) == 0 && v == ssp_a,
	       "PTRACE_GETREGSET(NT_X86_SHSTK) dispatches to it");
	tap_ok(xk_regset_size(k, XK_NT_X86_SHSTK) == 8 &&
	       !strcmp(xk_regset_name(XK_NT_X86_SHSTK), "NT_X86_SHSTK"), "regset size 8, named");
	v = 0x10002;
	len = 8;
	tap_ok(xk_shstk_regset(k, a, true, &v, &len) == -EINVAL, "set unaligned SSP: -EINVAL");
	v = XK_TASK_SIZE_MAX;
	tap_ok(xk_shstk_regset(k, a, true, &v, &len) == -EINVAL, "set SSP >= TASK_SIZE_MAX: -EINVAL");
	len = 4;
	v = 0x10000;
	tap_ok(xk_shstk_regset(k, a, true, &v, &len) == -EINVAL, "set of 4 bytes: -EINVAL");
	/* ptrace_regset(): iov_len % 8 -> -EINVAL before ssp_set; 0 bytes reach
	 * ssp_set as count 0 -> -EINVAL; longer lengths are clamped to 8. */
	len = 12;
	tap_ok(xk_ptrace_regset(k, a, true, XK_NT_X86_SHSTK, &v, &len) == -EINVAL && len == 12,
	       "SETREGSET of 12 bytes: -EINVAL, iov_len untouched");
	len = 0;
	tap_ok(xk_ptrace_regset(k, a, true, XK_NT_X86_SHSTK, &v, &len) == -EINVAL,
	       "SETREGSET of 0 bytes: -EINVAL");
	len = 4;
	tap_ok(xk_ptrace_regset(k, a, false, XK_NT_X86_SHSTK, &v, &len) == -EINVAL,
	       "GETREGSET of 4 bytes: -EINVAL");
	{
		uint64_t two[2] = { 0x1234567, ssp_a - 0x200 };

		len = 16;
		tap_ok(xk_ptrace_regset(k, a, false, XK_NT_X86_SHSTK, two, &len) == 0 && len == 8 &&
		       two[0] == ssp_a && two[1] == ssp_a - 0x200,
		       "GETREGSET of 16 bytes: clamped, 8 bytes written, iov_len 8");
		/* Every refusal above left a's buffer and registers as they were. */
		tap_eq_u64(a->fpu.last_cpu, 0, "the refused sets kept a's registers valid (last_cpu 0)");
		two[0] = ssp_a - 0x200;
		two[1] = 0xdead; /* beyond the clamp: never read */
		len = 16;
		tap_ok(xk_ptrace_regset(k, a, true, XK_NT_X86_SHSTK, two, &len) == 0 && len == 8,
		       "SETREGSET of 16 bytes: clamped to 8, accepted");
		len = 8;
		xk_shstk_regset(k, a, false, &v, &len);
		tap_eq_u64(v, ssp_a - 0x200, "... and it wrote user_ssp only");
	}
	len = 8;
	v = ssp_a - 0x100;
	tap_ok(xk_shstk_regset(k, a, true, &v, &len) == 0, "set a valid SSP");
	tap_eq_u64(a->fpu.last_cpu, (uint64_t)-1, "set invalidates a's registers (last_cpu -1)");
	kt_run(&t, 0, a);
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_PL3_SSP), ssp_a - 0x100, "a resumes with the written SSP");
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_U_CET), XK_CET_SHSTK_EN, "U_CET untouched by the set");

	/* clone: a thread gets its own shadow stack in its buffer. */
	{
		struct xk_task *th = NULL, *ch = NULL;

		xk_enter_kernel(k, 0);
		tap_ok(xk_clone(k, 0, XK_CLONE_THREAD | XK_CLONE_VM, "th", &th) == 0, "clone thread");
		tap_ok(xk_clone(k, 0, 0, "ch", &ch) == 0, "fork");
		tap_eq_u64(xk_shstk_features(th), XK_ARCH_SHSTK_SHSTK, "the thread inherits SHSTK");
		len = 8;
		xk_shstk_regset(k, th, false, &v, &len);
		tap_ok(v != ssp_a - 0x100 && !(v & 7), "the thread's SSP is its own new stack");
		xk_shstk_regset(k, ch, false, &v, &len);
		tap_eq_u64(v, ssp_a - 0x100, "the forked child keeps the parent's SSP (copied mm)");
		kt_run(&t, 1, th);
		len = 8;
		tap_ok(cpu_msr(&t, 1, XS_MSR_U_CET) == XK_CET_SHSTK_EN, "the thread runs with SHSTK");
		xk_enter_kernel(k, 1);
		tap_ok(xk_exit(k, 1) == 0 && xk_switch(k, 1, NULL) == 0, "the thread exits");
	}

	/* Disable and exec. */
	xk_enter_kernel(k, 0);
	tap_ok(xk_shstk_prctl(k, 0, XK_ARCH_SHSTK_LOCK, XK_ARCH_SHSTK_SHSTK, NULL) == 0, "LOCK");
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_DISABLE, XK_ARCH_SHSTK_SHSTK) == -EPERM,
	       "DISABLE a locked feature: -EPERM");
	tap_ok(xk_exec(k, 0) == 0, "a execs");
	tap_eq_u64(xk_shstk_features(a), 0, "exec resets thread.features");
	xk_return_to_user(k, 0);
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_U_CET), 0, "after exec: U_CET init");
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_PL3_SSP), 0, "after exec: PL3_SSP init");
	kt_run(&t, 0, b);
	len = 8;
	tap_ok(xk_shstk_regset(k, a, false, &v, &len) == -ENODEV, "no shadow stack: -ENODEV");
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_DISABLE, XK_ARCH_SHSTK_SHSTK) == 0, "b: DISABLE");
	tap_eq_u64(cpu_msr(&t, 0, XS_MSR_U_CET), 0, "b: U_CET cleared");
	tap_ok(t.bad == 0, "no invariant broken (%s)", t.bad ? t.bad_why : "-");
	xk_shutdown(k);
}

/* The mutant: NT_X86_SHSTK set without the check. The bad value sits in
 * the buffer until the kernel's XRSTORS -- which #GPs (a kernel WARN). */
static void test_mutant_shstk(void)
{
	for (int mut = 0; mut < 2; mut++) {
		struct kt t;
		struct xk_kernel *k = &t.k;
		struct xk_task *a, *b;
		uint64_t v = 0x8000000000000000ULL;
		size_t len = 8;
		int r;

		if (kt_boot(&t, "intel-sapphire-rapids", 1, mut ? "mutant=shstk-set-unchecked" : "")) {
			tap_ok(0, "boot");
			return;
		}
		a = xk_spawn(k, "a");
		b = xk_spawn(k, "b");
		kt_run(&t, 0, a);
		prctl(&t, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK);
		kt_run(&t, 0, b);
		r = xk_shstk_regset(k, a, true, &v, &len);
		tap_ok(mut ? r == 0 : r == -EINVAL, "%s: set a non-canonical SSP -> %d",
		       mut ? "mutant" : "correct", r);
		kt_run(&t, 0, a);
		tap_ok(mut ? k->stats.warnings == 1 : k->stats.warnings == 0,
		       "%s: kernel warnings %llu%s%s", mut ? "mutant" : "correct",
		       (unsigned long long)k->stats.warnings, mut ? ": " : "",
		       mut ? k->last_warning : "");
		if (mut)
			tap_ok(strstr(k->last_warning, "restore faulted #GP") != NULL,
			       "the XRSTORS before user mode faulted: %s", k->last_warning);
		xk_shutdown(k);
	}
}

static void test_no_shstk(void)
{
	struct kt t;
	struct xk_task *a;

	if (kt_boot(&t, "intel-icelake-sp", 1, "")) {
		tap_ok(0, "boot icelake");
		return;
	}
	a = xk_spawn(&t.k, "a");
	kt_run(&t, 0, a);
	tap_ok(prctl(&t, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK) == -EOPNOTSUPP,
	       "icelake (no SHSTK): ENABLE -EOPNOTSUPP");
	xk_shutdown(&t.k);
	if (kt_boot(&t, "intel-sapphire-rapids", 1, "save=xsavec")) {
		tap_ok(0, "boot sapphire-rapids save=xsavec");
		return;
	}
	tap_ok(!xk_shstk_supported(&t.k), "no XSAVES (save=xsavec): no user shadow stacks");
	xk_shutdown(&t.k);
}

/* CET_S: where the three policies put it, and what it costs. */
static void test_cet_s_policies(void)
{
	static const char *const pol[3] = { "", "cet-s=task", "cet-s=independent" };
	uint32_t dflt[3] = { 0 }, guest[3] = { 0 }, maxs[3] = { 0 }, with_cet_s = 0;
	uint64_t cet_s = XS_BIT(XS_C_CET_S);

	for (int i = 0; i < 3; i++) {
		struct kt t;
		struct xk_kernel *k = &t.k;
		struct xk_task *a;
		const char *n = i == 0 ? "guest (Linux)" : i == 1 ? "task" : "independent";

		/* Alder Lake: CET without AMX, whose 64-byte aligned XTILECFG
		 * would hide CET_S's 24 bytes in padding (Sapphire Rapids). */
		if (kt_boot(&t, "intel-alder-lake-pcore", 1, pol[i])) {
			tap_ok(0, "boot %s", n);
			return;
		}
		if (i == 0)
			with_cet_s = xk_calc_size(k, k->kcfg.default_features | cet_s, true);
		dflt[i] = k->kcfg.default_size;
		guest[i] = k->gcfg.size;
		maxs[i] = k->kcfg.max_size;
		tap_ok(k->xss & cet_s, "%s: CET_S in IA32_XSS", n);
		tap_ok(!!(k->kcfg.default_features & cet_s) == (i == 1),
		       "%s: CET_S %s the default task buffer", n, i == 1 ? "in" : "not in");
		tap_ok(!!(k->gcfg.features & cet_s) == (i != 2), "%s: CET_S %s guest buffers", n,
		       i != 2 ? "in" : "not in");
		tap_ok(!!(k->kcfg.independent_features & cet_s) == (i == 2),
		       "%s: CET_S %s independent", n, i == 2 ? "is" : "is not");
		tap_ok(!!(k->restore_mask & cet_s) == (i != 2),
		       "%s: the task restore %s CET_S (forced init for host tasks)", n,
		       i != 2 ? "names" : "does not name");
		tap_ok(xk_xclass_of(k, XS_C_CET_S) == XK_XC_SUPERVISOR_KERNEL,
		       "%s: CET_S is class 3 (supervisor state that affects kernel mode)", n);
		a = xk_spawn(k, "a");
		kt_run(&t, 0, a);
		tap_ok(t.bad == 0, "%s: a task runs (%s)", n, t.bad ? t.bad_why : "-");
		if (i == 2) {
			struct xk_indep_buf *b = xk_indep_alloc(k, a, cet_s);

			tap_eq_u64(xk_indep_size(k, cet_s), 640,
				   "independent: a vCPU's own CET_S buffer is 576 + 24 -> 640 bytes");
			xk_enter_kernel(k, 0);
			tap_ok(b && xk_xsaves_indep(k, 0, b, cet_s, "test") == 0,
			       "independent: XSAVES(CET_S) into its own buffer");
			tap_ok(xk_xrstors_indep(k, 0, b, cet_s, "test") == 0, "and XRSTORS back");
			xk_indep_free(k, b);
		}
		xk_shutdown(k);
	}
	tap_ok(dflt[1] == with_cet_s && dflt[1] > dflt[0],
	       "cet-s=task: every task buffer grows %u -> %u bytes", dflt[0], dflt[1]);
	tap_eq_u64(dflt[2], dflt[0], "cet-s=independent: task buffers as Linux's");
	tap_ok(guest[0] == with_cet_s && guest[2] == dflt[0],
	       "cet-s=independent: guest buffers shrink %u -> %u bytes", guest[0], guest[2]);
	tap_ok(maxs[2] < maxs[0], "cet-s=independent: kernel max size %u -> %u", maxs[0], maxs[2]);
	tap_diag("CET_S cost (alder-lake-pcore): default task buffer %u/%u/%u, guest buffer "
		 "%u/%u/%u bytes (guest/task/independent); independent adds a 640-byte buffer per "
		 "vCPU", dflt[0], dflt[1], dflt[2], guest[0], guest[1], guest[2]);
}

/* The guest's CET_S across a preemption in KVM_RUN and across switches of
 * the VMM thread: where it is kept, and how many extra instructions each
 * policy executes (the eagerness cost of seed 003's alternative). */
static void test_cet_s_guest(void)
{
	for (int indep = 0; indep < 2; indep++) {
		const char *n = indep ? "cet-s=independent" : "cet-s=guest (Linux)";
		struct kt t;
		struct xk_kernel *k = &t.k;
		struct xk_task *a, *h;
		struct xk_vcpu *v = NULL;
		struct xs_cpu *hw;
		uint64_t before;

		if (kt_boot(&t, "intel-alder-lake-pcore", 1, indep ? "cet-s=independent" : "")) {
			tap_ok(0, "boot %s", n);
			return;
		}
		hw = k->cpu[0].hw;
		a = xk_spawn(k, "vmm");
		h = xk_spawn(k, "host");
		kt_run(&t, 0, a);
		xk_enter_kernel(k, 0);
		if (xk_kvm_vcpu_create(k, a, &v) || !v) {
			tap_ok(0, "%s: vCPU", n);
			xk_shutdown(k);
			return;
		}
		tap_ok(!!(v->gfpu.fpstate->xfeatures & XS_BIT(XS_C_CET_S)) == !indep,
		       "%s: the guest fpstate %s CET_S (%u bytes)", n, indep ? "lacks" : "has",
		       v->gfpu.fpstate->size);
		xk_kvm_run_begin(k, 0);
		xk_kvm_vm_enter(k, 0);
		tap_ok(xs_wrmsr(hw, XS_MSR_PL0_SSP, 0x7000) == XS_OK,
		       "%s: the guest kernel sets its PL0_SSP", n);
		xk_kvm_vm_exit(k, 0);
		before = k->stats.indep_saves + k->stats.indep_restores;
		/* Preempted between two entries: a host task runs. */
		xk_switch(k, 0, h);
		xk_return_to_user(k, 0);
		tap_eq_u64(cpu_msr(&t, 0, XS_MSR_PL0_SSP), 0, "%s: the host task sees CET_S init", n);
		xk_enter_kernel(k, 0);
		xk_switch(k, 0, a);
		xk_kvm_vm_enter(k, 0);
		tap_eq_u64(cpu_msr(&t, 0, XS_MSR_PL0_SSP), 0x7000,
			   "%s: the guest gets its PL0_SSP back after the preemption", n);
		tap_eq_u64(k->stats.indep_saves + k->stats.indep_restores - before, indep ? 3 : 0,
			   "%s: extra XSAVES/XRSTORS for CET_S around the preemption", n);
		xk_kvm_vm_exit(k, 0);
		xk_kvm_run_end(k, 0);
		xk_return_to_user(k, 0);
		/* The VMM thread switches while in user mode, no KVM_RUN. */
		before = k->stats.indep_saves + k->stats.indep_restores;
		kt_run(&t, 0, h);
		kt_run(&t, 0, a);
		tap_eq_u64(k->stats.indep_saves + k->stats.indep_restores - before, indep ? 3 : 0,
			   "%s: extra instructions for a VMM-thread switch outside KVM_RUN", n);
		tap_ok(t.bad == 0, "%s: no invariant broken (%s)", n, t.bad ? t.bad_why : "-");
		xk_shutdown(k);
	}
}

static bool fail_small(void *ctx, const struct xk_task *t, size_t bytes)
{
	(void)t;
	return bytes <= *(const size_t *)ctx;
}

static bool fail_all(void *ctx, const struct xk_task *t, size_t bytes)
{
	(void)ctx, (void)t, (void)bytes;
	return true;
}

/* cet-s=independent: the vCPU's CET_S buffer comes with KVM_CREATE_VCPU,
 * which can fail -ENOMEM and leave nothing behind; a switch never
 * allocates, so it cannot meet a failure (the explorer found the WARN of a
 * switch-in that allocated the buffer and failed). */
static void test_cet_s_alloc(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a, *h;
	struct xk_vcpu *v = NULL;
	uint64_t bytes0, allocs0;
	size_t small = 1024; /* the 640-byte CET_S buffer, not a guest fpstate */

	if (kt_boot(&t, "intel-alder-lake-pcore", 1, "cet-s=independent"))
		return;
	a = xk_spawn(k, "vmm");
	h = xk_spawn(k, "host");
	kt_run(&t, 0, h);
	bytes0 = k->mem.bytes;
	allocs0 = k->mem.allocs - k->mem.frees;
	xk_set_alloc_fail(k, fail_small, &small);
	tap_eq_u64(xk_kvm_vcpu_create(k, a, &v), (uint64_t)-ENOMEM,
		   "KVM_CREATE_VCPU whose CET_S buffer cannot be allocated: -ENOMEM");
	tap_ok(!v && !xk_kvm_vcpu_of(a) && !xk_cet_s_guest_buf(a), "no vCPU, no buffer left");
	tap_ok(k->mem.bytes == bytes0 && k->mem.allocs - k->mem.frees == allocs0,
	       "the guest fpstate allocated first was freed (%llu bytes)",
	       (unsigned long long)k->mem.bytes);
	xk_set_alloc_fail(k, NULL, NULL);
	tap_eq_u64(xk_kvm_vcpu_create(k, a, &v), 0, "KVM_CREATE_VCPU");
	tap_ok(xk_cet_s_guest_buf(a) != NULL, "the vCPU's CET_S buffer exists from the start");
	xk_set_alloc_fail(k, fail_all, NULL);
	kt_run(&t, 0, a);
	kt_run(&t, 0, h);
	tap_eq_u64(k->stats.warnings, 0, "switches to and from the vCPU thread allocate nothing "
		   "(no WARN while every allocation fails)");
	xk_set_alloc_fail(k, NULL, NULL);
	tap_eq_u64(xk_kvm_vcpu_destroy(k, v), 0, "destroy the vCPU");
	tap_ok(!xk_cet_s_guest_buf(a) && k->mem.bytes == bytes0,
	       "its CET_S buffer goes with it: a new vCPU never sees a destroyed one's state");
	xk_shutdown(k);
}

int main(void)
{
	tap_plan_lazy();
	test_cet_s_guest();
	test_cet_s_alloc();
	test_shstk_switch();
	test_mutant_shstk();
	test_no_shstk();
	test_cet_s_policies();
	return tap_done();
}
