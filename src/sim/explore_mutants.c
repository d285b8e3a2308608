/* The catalogue of seeded bugs: every enum xk_mutant of the kernel manager,
 * with the real bug class it re-creates, the policy it lives under, the
 * CPU model it needs, and the invariant expected to catch it. The list is
 * the kernel's own (xk_mutant_name), so a mutant added there is in the
 * catalogue at once; the table below only adds what it needs to be
 * reachable. `xstate bench checker` and the tests iterate all of them.
 */
#include <pthread.h>
#include <string.h>

#include "sim/explore_internal.h"

static const struct extra {
	const char *name;
	const char *policy;
	const char *model;
	const char *bug_class;
	const char *invariant;
} extras[] = {
	{ "shortcut-ignores-last-cpu", "", NULL,
	  "stale fpregs_state_valid(): owner checked, last_cpu not (a task that ran "
	  "elsewhere skips its restore)", "ownership" },
	{ "lazy-fp", "", NULL,
	  "lazy CR0.TS switching leaves the previous task's registers live (LazyFP, "
	  "CVE-2018-3665)", "lazyfp" },
	{ "kfpu-keeps-owner", "", NULL,
	  "stale owner check after kernel FPU use (__cpu_invalidate_fpregs_state forgotten)",
	  "ownership" },
	{ "kfpu-kthread-keeps-owner", "", NULL,
	  "stale owner check after a kernel thread used the FPU", "ownership" },
	{ "exec-keeps-last-cpu", "", NULL,
	  "exec without __fpu_invalidate_fpregs_state: the new program sees the old registers",
	  "ownership" },
	{ "fork-skips-load", "", NULL,
	  "fpu_clone copies the live registers without loading the parent's state "
	  "(TIF_NEED_FPU_LOAD set)", "leak" },
	{ "pkru-lazy", "", NULL,
	  "PKRU restored lazily: kernel accesses for a task obey the previous task's keys",
	  "shadow" },
	{ "uintr-shortcut", "uintr=independent", NULL,
	  "seed 001: UINTR with the owner/last_cpu shortcut loses user interrupts", "uintr" },
	{ "shstk-set-unchecked", "", NULL,
	  "NT_X86_SHSTK write without the SSP checks: the kernel's XRSTORS #GPs", "kernel" },
	{ "fsgs-ptrace-selector", "", NULL,
	  "ptrace base write zeroes the selector (pre-5.9 FSGSBASE semantics)", "fsgs" },
	{ "kvm-xcr0-order", "", NULL,
	  "KVM restores the host XCR0/XSS after the host FPU restore (guest XCR0 during host "
	  "XRSTOR)", "guest" },
	{ "sigreturn-header-unchecked", "", NULL,
	  "sigreturn trusts the frame's reserved header bytes (syzbot ex_handler_fprestore, "
	  "5.13)", "buffer" },
	{ "sigreturn-supervisor-bits", "", NULL,
	  "sigreturn loads supervisor XSTATE_BV bits from user-controlled input", "buffer" },
	{ "uabi-drops-supervisor", "", NULL,
	  "an imported UABI image overrides the kernel's supervisor state", "supervisor" },
	{ "ptrace-mxcsr-unchecked", "", NULL,
	  "ptrace write without MXCSR validation (145e9e0d8c6)", "kernel" },
	{ "ptrace-no-reload", "", NULL,
	  "ptrace write without fpu_force_restore: the stale registers are used", "ownership" },
	{ "amx-realloc-no-copy", "", NULL,
	  "AMX first use does not carry the old state into the new buffer", "shadow" },
	{ "ptrace-partial-write", "", NULL,
	  "a refused regset write that already changed the buffer", "rejected" },
	{ "harvest-prealloc", "prealloc=on harvest=on", NULL,
	  "harvesting a pre-allocated buffer (seed 004)", "buffer" },
	{ "guest-state-leak", "", NULL,
	  "the guest fpstate is not swapped back: guest values reach host user mode", "leak" },
};

static struct xe_mutant cat[XK_MUT_COUNT];
static unsigned ncat;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void)
{
	for (unsigned i = 0; i < XK_MUT_COUNT; i++) {
		struct xe_mutant *mu = &cat[ncat];
		const char *name = xk_mutant_name((enum xk_mutant)i);

		if (!name)
			continue;
		memset(mu, 0, sizeof(*mu));
		mu->id = (int)i;
		mu->name = name;
		mu->desc = xk_mutant_desc((enum xk_mutant)i);
		mu->policy = "";
		mu->bug_class = mu->desc;
		mu->invariant = "any";
		for (size_t e = 0; e < sizeof(extras) / sizeof(extras[0]); e++)
			if (!strcmp(extras[e].name, name)) {
				mu->policy = extras[e].policy;
				mu->model = extras[e].model;
				mu->bug_class = extras[e].bug_class;
				mu->invariant = extras[e].invariant;
			}
		ncat++;
	}
}

unsigned xe_mutant_count(void)
{
	pthread_once(&once, build);
	return ncat;
}

const struct xe_mutant *xe_mutant_get(unsigned i)
{
	return i < xe_mutant_count() ? &cat[i] : NULL;
}

const struct xe_mutant *xe_mutant_find(const char *name)
{
	for (unsigned i = 0; i < xe_mutant_count(); i++)
		if (!strcmp(cat[i].name, name))
			return &cat[i];
	return NULL;
}

int xe_config_mutant(struct xe_config *c, const struct xe_mutant *mu, bool model_chosen,
		     char *err, size_t errlen)
{
	if (!model_chosen && mu->model) {
		snprintf(c->model_spec, sizeof(c->model_spec), "%s", mu->model);
		if (xs_model_load(mu->model, &c->model, err, errlen))
			return -1;
	}
	if (mu->policy[0] && xk_policy_parse(&c->policy, mu->policy, err, errlen))
		return -1;
	c->policy.mutants |= 1ULL << mu->id;
	return 0;
}
