/* The Linux-kernel conformance probes on the simulated kernel, compared
 * with the host's kernel (xstate conform, with a smaller budget).
 *
 *  - the simulated kernel, booted on the model of this host, describes the
 *    same target (XCR0, layout, MXCSR_MASK, FSGSBASE) as the host kernel;
 *  - a budget of probes (every other one, plus the ones named below) gives
 *    field-by-field identical result lists on both kernels; a probe whose
 *    interface the host lacks is skipped;
 *  - the simulated target is deterministic;
 *  - a user instruction that faults ends the run through the fatal-signal
 *    path exactly as on the host (SIGSEGV/SI_KERNEL, state from that frame);
 *  - the comparison catches kernel bugs: seeded mutants of the simulated
 *    kernel produce differences, while policies that must not change the
 *    ABI (lazy restore, one CPU) produce none.
 * Without a host kernel oracle (not x86-64 Linux, no XSAVE) the simulated
 * kernel runs alone on a built-in model and only the host-free checks run. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xstate/kconform.h"
#include "xstate/model.h"
#include "xstate/oracle.h"

static struct xs_model model;
static struct xo_ktarget *host, *sim;
static char host_policy[256]; /* the host kernel's configuration (xo_host_kernel_policy) */

/* Results the simulated kernel cannot produce: the model has no SS. */
static bool known_unsupported(const char *probe, const char *key)
{
	return !strcmp(probe, "fsgs.selector_after_set") && !strcmp(key, "ss");
}

/* Probes always in the budget: one per surface and the ones that carry
 * the Linux-versus-spec notes. */
static const char *const must_run[] = {
	"prctl.auxv", "prctl.sigaltstack", "sigframe.layout", "sigframe.no_altstack",
	"sigreturn.hdr_reserved_528", "sigreturn.hdr_reserved_575", "sigreturn.extended_size_small",
	"sigreturn.xstate_size_576", "sigreturn.xcomp_bv_compacted", "sigreturn.fpregs_plus16",
	"ptrace.get", "ptrace.xstate.valid", "ptrace.xstate.len+64", "fsgs.load_selector",
	"fsgs.wrbase", "fsgs.ptrace_gsbase",
};

static bool in_budget(size_t i, const char *name)
{
	for (size_t j = 0; j < sizeof(must_run) / sizeof(must_run[0]); j++)
		if (!strcmp(name, must_run[j]))
			return true;
	return i % 2 == 0;
}

/* Differences between a and b (unsupported results on the simulated side
 * counted separately); lines to TAP diagnostics when verbose. */
static size_t compare(const char *probe, const struct xo_kresults *a, const struct xo_kresults *b,
		      size_t *unsupported, bool verbose)
{
	size_t ndiff = 0;

	*unsupported = 0;
	if (a->status != b->status) {
		if (verbose)
			tap_diag("  status: %s vs %s (%s%s)", xo_kprobe_status_name(a->status),
				 xo_kprobe_status_name(b->status), a->reason, b->reason);
		return 1;
	}
	for (size_t i = 0; i < a->n; i++) {
		const char *bv = xo_kres_get(b, a->v[i].key);

		if (bv && !strcmp(bv, a->v[i].val))
			continue;
		if (bv && !strcmp(bv, "unsupported") && known_unsupported(probe, a->v[i].key)) {
			(*unsupported)++;
			continue;
		}
		ndiff++;
		if (verbose)
			tap_diag("  %s: host %s, sim %s", a->v[i].key, a->v[i].val, bv ? bv : "(absent)");
	}
	for (size_t i = 0; i < b->n; i++) {
		if (xo_kres_get(a, b->v[i].key))
			continue;
		ndiff++;
		if (verbose)
			tap_diag("  %s: host (absent), sim %s", b->v[i].key, b->v[i].val);
	}
	return ndiff;
}

/* The simulated kernel configured as the host's, plus policy. */
static struct xo_ktarget *make_sim(const char *policy, unsigned ncpus)
{
	char pol[512], why[256];
	struct xo_ksim_opts o = { &model, ncpus, pol, NULL, 0 };
	struct xo_ktarget *t;

	snprintf(pol, sizeof(pol), "%s%s%s", host_policy, host_policy[0] && policy ? "," : "",
		 policy ? policy : "");
	t = xo_ktarget_sim(&o, why, sizeof(why));
	if (!t)
		tap_diag("simulated target (%s): %s", pol, why);
	return t;
}

static void test_info(void)
{
	struct xo_kinfo h, s;

	memset(&h, 0, sizeof(h));
	memset(&s, 0, sizeof(s));
	if (!tap_ok(sim->info(sim, &s) == 0 && s.xsave, "the simulated kernel runs tasks with XSAVE"))
		return;
	tap_ok(!strcmp(s.target, "sim") && s.ptrace, "sim target: name, ptrace works");
	tap_ok(s.state_mask == (s.xcr0 & ~((1ULL << XO_C_PKRU) | (3ULL << XO_C_XTILE_CFG))),
	       "sim state_mask = XCR0 minus PKRU and AMX");
	if (!host || host->info(host, &h) < 0 || !h.xsave) {
		tap_skip("no host kernel oracle to compare the target facts with");
		return;
	}
	tap_ok(h.xcr0 == s.xcr0, "XCR0: host 0x%llx, sim 0x%llx", (unsigned long long)h.xcr0,
	       (unsigned long long)s.xcr0);
	tap_ok(h.xstate_size == s.xstate_size, "xstate size: host %u, sim %u", h.xstate_size,
	       s.xstate_size);
	tap_ok(!memcmp(h.comp_off, s.comp_off, sizeof(h.comp_off)) &&
		       !memcmp(h.comp_size, s.comp_size, sizeof(h.comp_size)),
	       "component offsets and sizes agree");
	tap_ok(h.mxcsr_mask == s.mxcsr_mask, "MXCSR_MASK: host 0x%x, sim 0x%x", h.mxcsr_mask,
	       s.mxcsr_mask);
	tap_ok(h.fsgsbase == s.fsgsbase, "FSGSBASE: host %d, sim %d", h.fsgsbase, s.fsgsbase);
}

static void test_budget(void)
{
	size_t n = xo_kprobe_count(), ran = 0, results = 0;

	for (size_t i = 0; i < n; i++) {
		const struct xo_kprobe *p = xo_kprobe_at(i);
		struct xo_kresults h, s;
		size_t nd, nu;

		if (!in_budget(i, p->name))
			continue;
		xo_kprobe_run(p, host, &h);
		if (h.status == XO_KPROBE_SKIPPED) {
			tap_skip("%s: the host lacks it (%s)", p->name, h.reason);
			xo_kres_free(&h);
			continue;
		}
		xo_kprobe_run(p, sim, &s);
		nd = compare(p->name, &h, &s, &nu, false);
		if (!tap_ok(h.status == XO_KPROBE_OK && nd == 0, "%s: %zu results, host == sim%s",
			    p->name, h.n, nu ? " (SS not modelled)" : ""))
			compare(p->name, &h, &s, &nu, true);
		ran++;
		results += h.n;
		xo_kres_free(&h);
		xo_kres_free(&s);
	}
	tap_diag("budget: %zu of %zu probes, %zu results compared", ran, n, results);
}

static void test_deterministic(void)
{
	const struct xo_kprobe *p = xo_kprobe_find("sigreturn.edit_data");
	struct xo_kresults a, b;
	size_t nu;

	xo_kprobe_run(p, sim, &a);
	xo_kprobe_run(p, sim, &b);
	tap_ok(a.status == XO_KPROBE_OK && a.n > 0 && compare(p->name, &a, &b, &nu, true) == 0,
	       "the simulated target gives the same list twice (%zu results)", a.n);
	xo_kres_free(&a);
	xo_kres_free(&b);
}

/* A user XRSTOR with an XSTATE_BV bit outside XCR0 raises #GP: SIGSEGV
 * (SI_KERNEL), caught on the alternate stack; its frame holds the state the
 * task had before the faulting instruction. */
static void test_fatal(void)
{
	struct xo_kinfo info;
	uint8_t *good = malloc(XO_KIMG_MAX), *bad = malloc(XO_KIMG_MAX);
	struct xo_krun *s = NULL, *h = NULL;
	struct xo_kprog p;
	unsigned comps[XO_KNFEAT + 1], nc;
	bool same = true;

	if (!good || !bad || sim->info(sim, &info) < 0) {
		tap_ok(0, "fatal path: setup");
		goto out;
	}
	xo_kimg_pattern(&info, 7, good);
	memcpy(bad, good, XO_KIMG_MAX);
	xo_wr64(bad, XO_HDR_XSTATE_BV, xo_rd64(bad, XO_HDR_XSTATE_BV) | 1ULL << 62);
	xo_kprog_init(&p);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, 65536, 0);
	xo_kprog_add(&p, XO_KOP_LOAD_XSTATE, 0, ~0ULL)->data = good;
	xo_kprog_add(&p, XO_KOP_LOAD_XSTATE, 0, ~0ULL)->data = bad;
	xo_kprog_add(&p, XO_KOP_SAVE_XSTATE, 0, 0);
	s = xo_krun(sim, &p);
	if (!tap_ok(s && s->end == XO_KEND_FATAL && s->signo == 11 && s->code == 0x80,
		    "sim: a faulting user XRSTOR ends in SIGSEGV/SI_KERNEL"))
		goto out;
	nc = xo_kimg_comps(&info, comps);
	for (unsigned i = 0; i < nc; i++)
		same &= s->end_state_valid && xo_kimg_comp_equal(&info, s->end_state, good, comps[i]);
	tap_ok(same, "sim: the SIGSEGV frame holds the state before the fault");
	tap_ok(s->res[3].status == XO_KST_NOTRUN, "sim: nothing runs after the fatal signal");
	if (!host) {
		tap_skip("no host kernel oracle");
		goto out;
	}
	h = xo_krun(host, &p);
	same = h && h->end == s->end && h->signo == s->signo && h->code == s->code &&
	       h->end_state_valid == s->end_state_valid;
	for (unsigned i = 0; same && i < nc; i++)
		same &= xo_kimg_comp_equal(&info, s->end_state, h->end_state, comps[i]);
	tap_ok(same, "host and sim agree on the fatal path (end, signal, code, state)");
out:
	free(s);
	free(h);
	free(good);
	free(bad);
}

/* Run the named probes on t and count the differences from the host (or,
 * without one, from the default simulated kernel). */
static size_t diffs_against_reference(struct xo_ktarget *t, const char *const *names, size_t n)
{
	struct xo_ktarget *ref = host ? host : sim;
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		const struct xo_kprobe *p = xo_kprobe_find(names[i]);
		struct xo_kresults a, b;
		size_t nu;

		xo_kprobe_run(p, ref, &a);
		xo_kprobe_run(p, t, &b);
		if (a.status != XO_KPROBE_SKIPPED)
			total += compare(p->name, &a, &b, &nu, false);
		xo_kres_free(&a);
		xo_kres_free(&b);
	}
	return total;
}

static void test_mutants(void)
{
	static const char *const ptrace_write[] = { "ptrace.xstate.valid", "ptrace.prfpreg.valid" };
	static const char *const bad_frame[] = { "sigreturn.hdr_reserved_528" };
	static const char *const abi[] = { "sigframe.layout", "sigreturn.edit_data",
					   "sigreturn.hdr_reserved_528", "ptrace.xstate.valid",
					   "ptrace.xstate.bv_zero", "fsgs.ptrace_gsbase" };
	struct xo_ktarget *t;
	size_t d;

	/* The registers-still-valid shortcut ignoring last_cpu makes the
	 * ptrace write's forced reload a no-op: the tracee keeps its old state. */
	if ((t = make_sim("mutant=shortcut-ignores-last-cpu", 0))) {
		d = diffs_against_reference(t, ptrace_write, 2);
		tap_ok(d > 0, "mutant shortcut-ignores-last-cpu: %zu differences in ptrace writes", d);
		xo_ktarget_free(t);
	}
	/* A failed sigreturn that keeps the state instead of resetting it. */
	if ((t = make_sim("sigreturn-fail=keep", 0))) {
		d = diffs_against_reference(t, bad_frame, 1);
		tap_ok(d > 0, "sigreturn-fail=keep: %zu differences on a corrupt frame", d);
		xo_ktarget_free(t);
	}
	/* Switching policy and CPU count do not change the ABI. */
	if ((t = make_sim("restore=lazy", 0))) {
		d = diffs_against_reference(t, abi, sizeof(abi) / sizeof(abi[0]));
		tap_ok(d == 0, "restore=lazy: the ABI is the same (%zu differences)", d);
		xo_ktarget_free(t);
	}
	/* A kernel built with user shadow stacks has NT_X86_SHSTK (ENODEV
	 * while the task has none); the host's configuration decides. */
	if (model.feat.shstk && (t = make_sim("user-shstk=on", 0))) {
		const struct xo_kprobe *p = xo_kprobe_find("ptrace.get");
		struct xo_kresults a, b;
		const char *av, *bv;

		xo_kprobe_run(p, t, &a);
		xo_kprobe_run(p, sim, &b);
		av = xo_kres_get(&a, "shstk");
		bv = xo_kres_get(&b, "shstk");
		tap_ok(av && !strcmp(av, "ENODEV") && bv &&
			       !strcmp(bv, strstr(host_policy, "user-shstk=off") ? "EINVAL" : "ENODEV"),
		       "user-shstk=on: NT_X86_SHSTK reads %s; as the host is built: %s",
		       av ? av : "?", bv ? bv : "?");
		xo_kres_free(&a);
		xo_kres_free(&b);
		xo_ktarget_free(t);
	}
	if ((t = make_sim(NULL, 1))) {
		d = diffs_against_reference(t, abi, sizeof(abi) / sizeof(abi[0]));
		tap_ok(d == 0, "one CPU (tracer and tracee share it): the ABI is the same (%zu "
		       "differences)", d);
		xo_ktarget_free(t);
	}
}

int main(void)
{
	char err[512], why[160];

	tap_plan_lazy();
	host = xo_ktarget_host(why, sizeof(why));
	if (host) {
		struct xo_kinfo hi;

		if (host->info(host, &hi) < 0 || !hi.xsave) {
			tap_diag("host kernel oracle unusable: no XSAVE");
			xo_ktarget_free(host);
			host = NULL;
		}
	} else {
		tap_diag("no host kernel oracle: %s", why);
	}
	if (host && xs_model_load("host", &model, err, sizeof(err)) == 0) {
		if (xs_probe_apply(&model, err, sizeof(err)))
			tap_diag("host probe: %s (vendor defaults)", err);
		xo_host_kernel_policy(&model, host_policy, sizeof(host_policy));
		tap_diag("host kernel configuration: %s", host_policy[0] ? host_policy : "defaults");
	} else {
		if (host)
			tap_diag("cannot model the host (%s): comparing nothing", err);
		xo_ktarget_free(host);
		host = NULL;
		if (xs_model_load(xs_default_model_name(), &model, err, sizeof(err))) {
			tap_ok(0, "load a model: %s", err);
			return tap_done();
		}
	}
	sim = make_sim(NULL, 0);
	if (!tap_ok(sim != NULL, "the simulated target on model %s", model.name))
		return tap_done();
	test_info();
	if (host)
		test_budget();
	else
		tap_skip("no host kernel: probes not compared");
	test_deterministic();
	test_fatal();
	test_mutants();
	xo_ktarget_free(sim);
	xo_ktarget_free(host);
	return tap_done();
}
