/* Probes of arch_prctl's XCOMP codes, AT_MINSIGSTKSZ and sigaltstack
 * (arch/x86/kernel/fpu/xstate.c: fpu_xstate_prctl, xstate_request_perm;
 * arch/x86/kernel/signal.c: get_sigframe_size, sigaltstack_size_valid;
 * linux-design.md sections 4.1, 4.2, 5.4). */
#include <stdlib.h>
#include <string.h>

#include "xstate/kconform.h"

#define KERNEL_ADDR 0xffff800000000000ULL /* never mapped for a user task */

static void add_call(struct xo_kresults *out, const char *key, const struct xo_kopres *r,
		     bool with_val)
{
	char buf[48];

	xo_kres_add(out, key, "%s", xo_kfmt_call(buf, sizeof(buf), r, with_val));
}

static struct xo_kop *prctl_op(struct xo_kprog *p, uint64_t code, enum xo_karg k, uint64_t arg)
{
	struct xo_kop *op = xo_kprog_add(p, XO_KOP_ARCH_PRCTL, code, arg);

	op->argk = k;
	return op;
}

/* One value from the auxiliary vector, or 0 with out marked ERROR. */
static uint64_t auxv(struct xo_ktarget *t, uint64_t type, struct xo_kresults *out, bool *present)
{
	struct xo_kprog p;
	struct xo_krun *r;
	uint64_t v = 0;

	xo_kprog_init(&p);
	xo_kprog_add(&p, XO_KOP_AUXV, type, 0);
	r = xo_krun_checked(t, &p, out);
	*present = false;
	if (r) {
		*present = r->res[0].ret == 0;
		v = r->res[0].val;
		free(r);
	}
	return v;
}

static void probe_auxv(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
		       struct xo_kresults *out)
{
	bool have;
	uint64_t v = auxv(t, XO_AT_MINSIGSTKSZ, out, &have);

	if (have)
		xo_kres_add(out, "at_minsigstksz", "%llu", (unsigned long long)v);
	else
		xo_kres_add(out, "at_minsigstksz", "absent");
	v = auxv(t, XO_AT_HWCAP2, out, &have);
	xo_kres_add(out, "hwcap2.fsgsbase", "%d", have && (v & XO_HWCAP2_FSGSBASE) ? 1 : 0);
}

static void probe_xcomp_get(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			    struct xo_kresults *out)
{
	static const struct {
		const char *key;
		uint64_t code;
		enum xo_karg k;
		uint64_t ptr;
	} calls[] = {
		{ "get_supp", XO_ARCH_GET_XCOMP_SUPP, XO_KARG_OUT, 0 },
		{ "get_perm", XO_ARCH_GET_XCOMP_PERM, XO_KARG_OUT, 0 },
		{ "get_guest_perm", XO_ARCH_GET_XCOMP_GUEST_PERM, XO_KARG_OUT, 0 },
		{ "get_supp.null", XO_ARCH_GET_XCOMP_SUPP, XO_KARG_BADPTR, 0 },
		{ "get_perm.ptr1", XO_ARCH_GET_XCOMP_PERM, XO_KARG_BADPTR, 1 },
		{ "get_guest_perm.kernel_ptr", XO_ARCH_GET_XCOMP_GUEST_PERM, XO_KARG_BADPTR, KERNEL_ADDR },
		{ "unknown.0x1020", 0x1020, XO_KARG_VALUE, 0 },
		{ "unknown.0x1026", 0x1026, XO_KARG_VALUE, 0 },
		{ "unknown.0x1029", 0x1029, XO_KARG_VALUE, 0 },
	};
	struct xo_kprog p;
	struct xo_krun *r;

	xo_kprog_init(&p);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		prctl_op(&p, calls[i].code, calls[i].k, calls[i].ptr);
	r = xo_krun_checked(t, &p, out);
	if (!r)
		return;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		add_call(out, calls[i].key, &r->res[i], calls[i].k == XO_KARG_OUT);
	free(r);
}

/* REQ_XCOMP_PERM / REQ_XCOMP_GUEST_PERM for one index, each in a fresh task,
 * followed by both GET calls (a guest request must not change the host
 * permission and vice versa). */
static void probe_req(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
		      struct xo_kresults *out)
{
	static const uint64_t idx[] = { 0, 1, 2, 17, 18, 19, 20, 63, ~0ULL };
	bool guest = arg != NULL;
	uint64_t req = guest ? XO_ARCH_REQ_XCOMP_GUEST_PERM : XO_ARCH_REQ_XCOMP_PERM;
	char key[48];

	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		struct xo_kprog p;
		struct xo_krun *r;
		long label = idx[i] == ~0ULL ? -1 : (long)idx[i];

		xo_kprog_init(&p);
		prctl_op(&p, req, XO_KARG_VALUE, idx[i]);
		prctl_op(&p, XO_ARCH_GET_XCOMP_PERM, XO_KARG_OUT, 0);
		prctl_op(&p, XO_ARCH_GET_XCOMP_GUEST_PERM, XO_KARG_OUT, 0);
		r = xo_krun_checked(t, &p, out);
		if (!r)
			return;
		snprintf(key, sizeof(key), "req.%ld", label);
		add_call(out, key, &r->res[0], false);
		snprintf(key, sizeof(key), "req.%ld.perm", label);
		add_call(out, key, &r->res[1], true);
		snprintf(key, sizeof(key), "req.%ld.guest_perm", label);
		add_call(out, key, &r->res[2], true);
		free(r);
	}
}

static uint64_t round_up64(uint64_t v)
{
	return (v + 63) & ~63ULL;
}

static void probe_sigaltstack(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			      struct xo_kresults *out)
{
	bool have;
	uint64_t minsig = auxv(t, XO_AT_MINSIGSTKSZ, out, &have);
	uint64_t fit = round_up64(minsig > XO_MINSIGSTKSZ ? minsig : XO_MINSIGSTKSZ);
	struct xo_kprog p;
	struct xo_krun *r;

	if (out->status == XO_KPROBE_ERROR)
		return;
	if (!have)
		return xo_kres_skip(out, "no AT_MINSIGSTKSZ in the auxiliary vector");
	xo_kprog_init(&p);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, XO_MINSIGSTKSZ - 1, 0);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, XO_MINSIGSTKSZ, 0);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, minsig, 0);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, 0, 0);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, 8192, 0);
	/* The smallest stack the kernel promises to fit: a signal must arrive on it. */
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, fit, 0);
	xo_kprog_add(&p, XO_KOP_SIGNAL, 0, 0);
	r = xo_krun_checked(t, &p, out);
	if (!r)
		return;
	add_call(out, "size.2047", &r->res[0], false);
	add_call(out, "size.2048", &r->res[1], false);
	add_call(out, "size.at_minsigstksz", &r->res[2], false);
	add_call(out, "disable", &r->res[3], false);
	add_call(out, "size.8192", &r->res[4], false);
	add_call(out, "size.minimal_fit", &r->res[5], false);
	xo_kres_add(out, "minimal_fit.delivered", "%s",
		    r->sig[0].delivered && r->sig[0].on_altstack ? "on-altstack"
		    : r->sig[0].delivered			 ? "elsewhere"
								 : "no");
	xo_kres_add(out, "minimal_fit.end", "%s",
		    r->end == XO_KEND_EXIT ? "exit" : xo_ksig_name(r->signo));
	free(r);
}

/* tools/testing/selftests/x86/amx.c test_dynamic_state, steps (b)-(d): the
 * permission grant checks every altstack against the grown frame. */
static void probe_amx_altstack(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			       struct xo_kresults *out)
{
	uint64_t tile = info->comp_size[XO_C_XTILE_DATA];
	bool have;
	uint64_t minsig;
	struct xo_kprog p;
	struct xo_krun *r;

	if (!(info->xcr0 >> XO_C_XTILE_DATA & 1) || !tile)
		return xo_kres_skip(out, "target has no AMX tile data in XCR0 (0x%llx)",
				    (unsigned long long)info->xcr0);
	minsig = auxv(t, XO_AT_MINSIGSTKSZ, out, &have);
	if (out->status == XO_KPROBE_ERROR)
		return;
	if (!have || minsig < tile + XO_MINSIGSTKSZ)
		return xo_kres_skip(out, "AT_MINSIGSTKSZ %llu leaves no room for the small stack",
				    (unsigned long long)minsig);
	xo_kprog_init(&p);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, minsig - tile, 0);
	prctl_op(&p, XO_ARCH_REQ_XCOMP_PERM, XO_KARG_VALUE, XO_ARCH_XCOMP_TILEDATA);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, 2 * minsig, 0);
	prctl_op(&p, XO_ARCH_REQ_XCOMP_PERM, XO_KARG_VALUE, XO_ARCH_XCOMP_TILEDATA);
	prctl_op(&p, XO_ARCH_GET_XCOMP_PERM, XO_KARG_OUT, 0);
	xo_kprog_add(&p, XO_KOP_SIGALTSTACK, minsig - tile, 0);
	prctl_op(&p, XO_ARCH_REQ_XCOMP_PERM, XO_KARG_VALUE, XO_ARCH_XCOMP_TILEDATA);
	prctl_op(&p, XO_ARCH_GET_XCOMP_GUEST_PERM, XO_KARG_OUT, 0);
	prctl_op(&p, XO_ARCH_REQ_XCOMP_GUEST_PERM, XO_KARG_VALUE, XO_ARCH_XCOMP_TILEDATA);
	prctl_op(&p, XO_ARCH_GET_XCOMP_GUEST_PERM, XO_KARG_OUT, 0);
	r = xo_krun_checked(t, &p, out);
	if (!r)
		return;
	add_call(out, "small_altstack", &r->res[0], false);
	add_call(out, "req_with_small_altstack", &r->res[1], false);
	add_call(out, "big_altstack", &r->res[2], false);
	add_call(out, "req_with_big_altstack", &r->res[3], false);
	add_call(out, "perm_after_grant", &r->res[4], true);
	add_call(out, "small_altstack_after_grant", &r->res[5], false);
	add_call(out, "req_again", &r->res[6], false);
	add_call(out, "guest_perm_before", &r->res[7], true);
	add_call(out, "req_guest", &r->res[8], false);
	add_call(out, "guest_perm_after", &r->res[9], true);
	free(r);
}

const struct xo_kprobe xo_kprobes_prctl[] = {
	{ "prctl.auxv", "prctl", "AT_MINSIGSTKSZ and AT_HWCAP2.FSGSBASE", probe_auxv, NULL },
	{ "prctl.xcomp_get", "prctl",
	  "ARCH_GET_XCOMP_SUPP/PERM/GUEST_PERM with good and bad pointers; unknown codes",
	  probe_xcomp_get, NULL },
	{ "prctl.req_perm", "prctl", "ARCH_REQ_XCOMP_PERM for indices 0..20, 63, -1", probe_req, NULL },
	{ "prctl.req_guest_perm", "prctl", "ARCH_REQ_XCOMP_GUEST_PERM for indices 0..20, 63, -1",
	  probe_req, "guest" },
	{ "prctl.sigaltstack", "prctl", "sigaltstack sizes around MINSIGSTKSZ and AT_MINSIGSTKSZ",
	  probe_sigaltstack, NULL },
	{ "prctl.amx_altstack", "prctl",
	  "AMX permission against altstack sizes (ENOSPC/ENOMEM), selftest amx.c",
	  probe_amx_altstack, NULL },
};
const size_t xo_kprobes_prctl_n = sizeof(xo_kprobes_prctl) / sizeof(xo_kprobes_prctl[0]);
