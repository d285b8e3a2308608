/* Probes of the 64-bit FS/GS base ABI (arch/x86/kernel/process_64.c:
 * do_arch_prctl_64, x86_fsbase/gsbase_read_task; ptrace.c: putreg;
 * selftests fsgsbase.c; linux-design.md section 7).
 *
 * glibc keeps TLS at FS, so the host backend runs these programs TLS-free;
 * GS is free for user code on x86-64 Linux and carries most of the cases. */
#include <stdlib.h>
#include <string.h>

#include "xstate/kconform.h"

#define BASE_A 0x200000000ULL     /* the selftest's favourite: above 4 GiB */
#define BASE_B 0x300000000ULL
#define KERNEL_ADDR 0xffff800000000000ULL
#define USER_DS 0x2b              /* __USER_DS: GDT entry 5, RPL 3 (asm/segment.h) */

/* A program whose operations carry result keys. */
struct script {
	struct xo_kprog p;
	const char *key[XO_KMAXOPS];
};

static void s_init(struct script *s)
{
	memset(s, 0, sizeof(*s));
	xo_kprog_init(&s->p);
}

static struct xo_kop *s_op(struct script *s, const char *key, enum xo_kop_kind k, uint64_t a,
			   uint64_t b)
{
	if (s->p.n < XO_KMAXOPS)
		s->key[s->p.n] = key;
	return xo_kprog_add(&s->p, k, a, b);
}

static void s_prctl(struct script *s, const char *key, uint64_t code, enum xo_karg k, uint64_t v)
{
	s_op(s, key, XO_KOP_ARCH_PRCTL, code, v)->argk = k;
}

/* The tracer's view during one stop: selectors and bases of FS and GS. */
static void s_peek_all(struct script *s, const char *pfx_gs, const char *pfx_gsbase)
{
	s_op(s, pfx_gs, XO_KOP_PEEKUSER, XO_KUSR_GS, 0);
	s_op(s, pfx_gsbase, XO_KOP_PEEKUSER, XO_KUSR_GS_BASE, 0);
}

static void s_report(struct xo_kresults *out, const char *prefix, const struct script *s,
		     const struct xo_krun *r)
{
	char key[96], buf[48];

	for (unsigned i = 0; i < s->p.n && i < XO_KMAXOPS; i++) {
		const struct xo_kop *op = &s->p.op[i];
		const struct xo_kopres *res = &r->res[i];

		if (!s->key[i])
			continue;
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", s->key[i]);
		if (res->status != XO_KST_DONE) {
			xo_kres_add(out, key, "%s", xo_kfmt_call(buf, sizeof(buf), res, false));
			continue;
		}
		switch (op->kind) {
		case XO_KOP_ARCH_PRCTL:
			xo_kres_add(out, key, "%s",
				    xo_kfmt_call(buf, sizeof(buf), res, op->argk == XO_KARG_OUT));
			break;
		case XO_KOP_SEL_READ:
		case XO_KOP_SEL_LOAD:
		case XO_KOP_BASE_READ:
			xo_kres_add(out, key, "0x%llx", (unsigned long long)res->val);
			break;
		case XO_KOP_PTRACE_ARCH_PRCTL:
			xo_kres_add(out, key, "%s",
				    xo_kfmt_call(buf, sizeof(buf), res,
						 op->a == XO_ARCH_GET_FS || op->a == XO_ARCH_GET_GS));
			break;
		case XO_KOP_PEEKUSER:
			if (res->ret < 0)
				xo_kres_add(out, key, "%s", xo_kerrno_name(res->err));
			else
				xo_kres_add(out, key, "0x%llx", (unsigned long long)res->val);
			break;
		case XO_KOP_SIGNAL: {
			const struct xo_ksigres *sr = &r->sig[res->val];
			char k2[112];

			snprintf(k2, sizeof(k2), "%s.handler_gs", key);
			xo_kres_add(out, k2, "0x%x", sr->h_gs);
			snprintf(k2, sizeof(k2), "%s.sigcontext_gs", key);
			xo_kres_add(out, k2, "0x%x", sr->sc_gs);
			snprintf(k2, sizeof(k2), "%s.sigcontext_fs", key);
			xo_kres_add(out, k2, "0x%x", sr->sc_fs);
			snprintf(k2, sizeof(k2), "%s.handler_gsbase", key);
			if (sr->h_bases)
				xo_kres_add(out, k2, "0x%llx", (unsigned long long)sr->h_gsbase);
			else
				xo_kres_add(out, k2, "unsupported");
			break;
		}
		default:
			xo_kres_add(out, key, "%s", xo_kfmt_call(buf, sizeof(buf), res, false));
			break;
		}
	}
}

static bool s_run(struct xo_ktarget *t, struct xo_kresults *out, const char *prefix,
		  const struct script *s)
{
	struct xo_krun *r = xo_krun_checked(t, &s->p, out);
	char key[96], buf[48];

	if (!r)
		return false;
	snprintf(key, sizeof(key), "%s%send", prefix, *prefix ? "." : "");
	xo_kres_add(out, key, "%s", xo_kfmt_end(buf, sizeof(buf), r));
	s_report(out, prefix, s, r);
	free(r);
	return true;
}

/* fsgs.arch_prctl_gs / _fs: set, get, limits, bad pointer. */
static void probe_arch_prctl(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			     struct xo_kresults *out)
{
	bool fs = arg != NULL;
	uint64_t set = fs ? XO_ARCH_SET_FS : XO_ARCH_SET_GS, get = fs ? XO_ARCH_GET_FS : XO_ARCH_GET_GS;
	enum xo_kseg seg = fs ? XO_KSEG_FS : XO_KSEG_GS;
	struct script s;

	s_init(&s);
	s_prctl(&s, "set.0x200000000", set, XO_KARG_VALUE, BASE_A);
	s_prctl(&s, "get", get, XO_KARG_OUT, 0);
	s_op(&s, "selector", XO_KOP_SEL_READ, seg, 0);
	s_op(&s, "rdbase", XO_KOP_BASE_READ, seg, 0);
	s_prctl(&s, "set.kernel_addr", set, XO_KARG_VALUE, KERNEL_ADDR);
	s_prctl(&s, "set.0x7ffffffff000", set, XO_KARG_VALUE, 0x7ffffffff000ULL);
	s_prctl(&s, "set.0x800000000000", set, XO_KARG_VALUE, 0x800000000000ULL);
	s_prctl(&s, "get.after_rejected_sets", get, XO_KARG_OUT, 0);
	s_prctl(&s, "set.0x7fffffffe000", set, XO_KARG_VALUE, 0x7fffffffe000ULL);
	s_prctl(&s, "get.top_page", get, XO_KARG_OUT, 0);
	s_prctl(&s, "get.badptr", get, XO_KARG_BADPTR, 1);
	s_prctl(&s, "set.0", set, XO_KARG_VALUE, 0);
	s_prctl(&s, "get.zero", get, XO_KARG_OUT, 0);
	s_op(&s, "rdbase.zero", XO_KOP_BASE_READ, seg, 0);
	s_run(t, out, "", &s);
}

/* fsgs.selector_after_set: ARCH_SET_GS zeroes a nonzero selector. */
static void probe_selector_after_set(struct xo_ktarget *t, const struct xo_kinfo *info,
				     const void *arg, struct xo_kresults *out)
{
	struct script s;

	s_init(&s);
	s_op(&s, "ss", XO_KOP_SEL_READ, XO_KSEG_SS, 0);
	s_op(&s, "gs.as_loaded", XO_KOP_SEL_LOAD, XO_KSEG_GS, USER_DS);
	s_op(&s, "rdgsbase.loaded", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
	s_prctl(&s, "set_gs", XO_ARCH_SET_GS, XO_KARG_VALUE, BASE_B);
	s_op(&s, "gs.after_set", XO_KOP_SEL_READ, XO_KSEG_GS, 0);
	s_op(&s, "rdgsbase.after_set", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
	s_prctl(&s, "get_gs", XO_ARCH_GET_GS, XO_KARG_OUT, 0);
	s_run(t, out, "", &s);
}

/* fsgs.load_selector: base BASE_A set by ARCH_SET_GS, then mov SEL -> %gs:
 * what the CPU, ARCH_GET_GS, ptrace and a context switch (the stop) say.
 * Selftest fsgsbase.c mov_0_gs: the real base must equal ARCH_GET_GS.
 *
 * Null selectors 1..3 read back as loaded, but the next IRET to user mode
 * (any interrupt or fault, and the return from the stop) turns them into 0
 * (SDM IRET: a null selector in a data segment register becomes 0 on a
 * return to an outer level). Whether an interrupt lands between the load
 * and a later read is timing, so for them the selector is reported only
 * right after the load and after the stop. */
static void probe_load_selector(struct xo_ktarget *t, const struct xo_kinfo *info,
				const void *arg, struct xo_kresults *out)
{
	static const uint16_t sels[] = { 0, 1, 2, 3, USER_DS };
	char prefix[16];

	for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		bool null_rpl = sels[i] >= 1 && sels[i] <= 3;
		struct script s;

		s_init(&s);
		s_prctl(&s, NULL, XO_ARCH_SET_GS, XO_KARG_VALUE, BASE_A);
		s_op(&s, "gs.as_loaded", XO_KOP_SEL_LOAD, XO_KSEG_GS, sels[i]);
		s_op(&s, "rdgsbase", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
		s_prctl(&s, "arch_get_gs", XO_ARCH_GET_GS, XO_KARG_OUT, 0);
		if (info->ptrace) {
			if (!null_rpl)
				s_op(&s, "peek.gs", XO_KOP_PEEKUSER, XO_KUSR_GS, 0);
			s_op(&s, "peek.gs_base", XO_KOP_PEEKUSER, XO_KUSR_GS_BASE, 0);
		}
		s_op(&s, "after_stop.gs", XO_KOP_SEL_READ, XO_KSEG_GS, 0);
		s_op(&s, "after_stop.rdgsbase", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
		s_prctl(&s, "after_stop.arch_get_gs", XO_ARCH_GET_GS, XO_KARG_OUT, 0);
		snprintf(prefix, sizeof(prefix), "sel%u", sels[i]);
		if (!s_run(t, out, prefix, &s))
			return;
	}
}

/* fsgs.wrbase: with FSGSBASE, selector and base survive a context switch
 * (the ptrace stop) and signal delivery independently (selftest test_wrbase). */
static void probe_wrbase(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			 struct xo_kresults *out)
{
	static const uint16_t sels[] = { 0, USER_DS };
	static const uint64_t bases[] = { 0, 1, BASE_A, ~0ULL };
	char prefix[48];

	if (!info->fsgsbase)
		return xo_kres_skip(out, "target has no user FSGSBASE (AT_HWCAP2 bit 1 clear)");
	for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		for (size_t j = 0; j < sizeof(bases) / sizeof(bases[0]); j++) {
			struct script s;

			s_init(&s);
			s_op(&s, NULL, XO_KOP_SEL_LOAD, XO_KSEG_GS, sels[i]);
			s_op(&s, NULL, XO_KOP_BASE_WRITE, XO_KSEG_GS, bases[j]);
			if (info->ptrace)
				s_peek_all(&s, "peek.gs", "peek.gs_base");
			s_op(&s, "gs", XO_KOP_SEL_READ, XO_KSEG_GS, 0);
			s_op(&s, "rdgsbase", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
			s_prctl(&s, "arch_get_gs", XO_ARCH_GET_GS, XO_KARG_OUT, 0);
			s_op(&s, "signal", XO_KOP_SIGNAL, 0, 0);
			s_op(&s, "after_signal.gs", XO_KOP_SEL_READ, XO_KSEG_GS, 0);
			s_op(&s, "after_signal.rdgsbase", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
			snprintf(prefix, sizeof(prefix), "sel0x%x.base0x%llx", sels[i],
				 (unsigned long long)bases[j]);
			if (!s_run(t, out, prefix, &s))
				return;
		}
	}
}

/* fsgs.ptrace_gsbase: POKEUSER gs_base keeps the selector (selftest
 * test_ptrace_write_gsbase); bad values are refused. */
static void probe_ptrace_gsbase(struct xo_ktarget *t, const struct xo_kinfo *info,
				const void *arg, struct xo_kresults *out)
{
	static const uint16_t sels[] = { 0, USER_DS };
	char prefix[16];

	if (!info->ptrace)
		return xo_kres_skip(out, "target %s cannot ptrace its tasks", info->target);
	for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
		struct script s;

		s_init(&s);
		s_op(&s, NULL, XO_KOP_SEL_LOAD, XO_KSEG_GS, sels[i]);
		s_peek_all(&s, "peek.gs", "peek.gs_base");
		s_op(&s, "poke.gs_base.0xff", XO_KOP_POKEUSER, XO_KUSR_GS_BASE, 0xFF);
		s_peek_all(&s, "peek2.gs", "peek2.gs_base");
		s_op(&s, "gs", XO_KOP_SEL_READ, XO_KSEG_GS, 0);
		s_op(&s, "rdgsbase", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
		s_prctl(&s, "arch_get_gs", XO_ARCH_GET_GS, XO_KARG_OUT, 0);
		snprintf(prefix, sizeof(prefix), "sel%u", sels[i]);
		if (!s_run(t, out, prefix, &s))
			return;
	}
}

/* fsgs.ptrace_errors: which POKEUSER values putreg refuses, and a selector
 * written by the tracer. */
static void probe_ptrace_errors(struct xo_ktarget *t, const struct xo_kinfo *info,
				const void *arg, struct xo_kresults *out)
{
	struct script s;

	if (!info->ptrace)
		return xo_kres_skip(out, "target %s cannot ptrace its tasks", info->target);
	s_init(&s);
	s_prctl(&s, NULL, XO_ARCH_SET_GS, XO_KARG_VALUE, BASE_A);
	s_op(&s, "poke.gs_base.kernel_addr", XO_KOP_POKEUSER, XO_KUSR_GS_BASE, KERNEL_ADDR);
	s_op(&s, "poke.gs_base.0x800000000000", XO_KOP_POKEUSER, XO_KUSR_GS_BASE,
	     0x800000000000ULL);
	s_op(&s, "poke.fs_base.kernel_addr", XO_KOP_POKEUSER, XO_KUSR_FS_BASE, KERNEL_ADDR);
	s_op(&s, "poke.gs.5", XO_KOP_POKEUSER, XO_KUSR_GS, 5);
	s_op(&s, "poke.gs.0x10000", XO_KOP_POKEUSER, XO_KUSR_GS, 0x10000);
	s_peek_all(&s, "peek.gs", "peek.gs_base");
	s_op(&s, "poke.gs.user_ds", XO_KOP_POKEUSER, XO_KUSR_GS, USER_DS);
	s_peek_all(&s, "peek2.gs", "peek2.gs_base");
	s_op(&s, "gs", XO_KOP_SEL_READ, XO_KSEG_GS, 0);
	s_op(&s, "rdgsbase", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
	s_prctl(&s, "arch_get_gs", XO_ARCH_GET_GS, XO_KARG_OUT, 0);
	s_run(t, out, "", &s);
}

/* fsgs.ptrace_fsbase: the tracer moves FS (the TLS register on the host). */
static void probe_ptrace_fsbase(struct xo_ktarget *t, const struct xo_kinfo *info,
				const void *arg, struct xo_kresults *out)
{
	struct script s;

	if (!info->ptrace)
		return xo_kres_skip(out, "target %s cannot ptrace its tasks", info->target);
	s_init(&s);
	s_prctl(&s, NULL, XO_ARCH_SET_FS, XO_KARG_VALUE, BASE_A);
	s_op(&s, "peek.fs_base", XO_KOP_PEEKUSER, XO_KUSR_FS_BASE, 0);
	s_op(&s, "peek.fs", XO_KOP_PEEKUSER, XO_KUSR_FS, 0);
	s_op(&s, "poke.fs_base", XO_KOP_POKEUSER, XO_KUSR_FS_BASE, BASE_B);
	s_op(&s, "peek2.fs_base", XO_KOP_PEEKUSER, XO_KUSR_FS_BASE, 0);
	s_op(&s, "fs", XO_KOP_SEL_READ, XO_KSEG_FS, 0);
	s_op(&s, "rdfsbase", XO_KOP_BASE_READ, XO_KSEG_FS, 0);
	s_prctl(&s, "arch_get_fs", XO_ARCH_GET_FS, XO_KARG_OUT, 0);
	s_run(t, out, "", &s);
}

/* fsgs.ptrace_arch_prctl: PTRACE_ARCH_PRCTL is do_arch_prctl_64() on the
 * stopped tracee: SET replaces a nonzero selector with 0, GET stores into
 * the tracer's memory, TASK_SIZE_MAX is -EPERM, and the XSTATE codes are
 * the system call's only (-EINVAL). */
static void probe_ptrace_arch_prctl(struct xo_ktarget *t, const struct xo_kinfo *info,
				    const void *arg, struct xo_kresults *out)
{
	struct script s;

	if (!info->ptrace)
		return xo_kres_skip(out, "target %s cannot ptrace its tasks", info->target);
	s_init(&s);
	s_op(&s, NULL, XO_KOP_SEL_LOAD, XO_KSEG_GS, USER_DS);
	s_op(&s, "set_gs", XO_KOP_PTRACE_ARCH_PRCTL, XO_ARCH_SET_GS, BASE_A);
	s_op(&s, "get_gs", XO_KOP_PTRACE_ARCH_PRCTL, XO_ARCH_GET_GS, 0);
	s_peek_all(&s, "peek.gs", "peek.gs_base");
	s_op(&s, "set_fs.kernel_addr", XO_KOP_PTRACE_ARCH_PRCTL, XO_ARCH_SET_FS, KERNEL_ADDR);
	s_op(&s, "set_fs.task_size_max", XO_KOP_PTRACE_ARCH_PRCTL, XO_ARCH_SET_FS,
	     0x7ffffffff000ULL);
	s_op(&s, "get_xcomp_supp", XO_KOP_PTRACE_ARCH_PRCTL, XO_ARCH_GET_XCOMP_SUPP, 0);
	s_op(&s, "req_xcomp_perm", XO_KOP_PTRACE_ARCH_PRCTL, XO_ARCH_REQ_XCOMP_PERM, 18);
	s_op(&s, "set_fs", XO_KOP_PTRACE_ARCH_PRCTL, XO_ARCH_SET_FS, BASE_B);
	s_op(&s, "peek.fs_base", XO_KOP_PEEKUSER, XO_KUSR_FS_BASE, 0);
	s_op(&s, "gs", XO_KOP_SEL_READ, XO_KSEG_GS, 0);
	s_op(&s, "rdgsbase", XO_KOP_BASE_READ, XO_KSEG_GS, 0);
	s_prctl(&s, "arch_get_gs", XO_ARCH_GET_GS, XO_KARG_OUT, 0);
	s_prctl(&s, "arch_get_fs", XO_ARCH_GET_FS, XO_KARG_OUT, 0);
	s_run(t, out, "", &s);
}

/* fsgs.signal: bases set by arch_prctl survive delivery and sigreturn; the
 * 64-bit sigcontext carries 0 for fs/gs. Works without FSGSBASE. */
static void probe_signal(struct xo_ktarget *t, const struct xo_kinfo *info, const void *arg,
			 struct xo_kresults *out)
{
	struct script s;

	s_init(&s);
	s_prctl(&s, NULL, XO_ARCH_SET_GS, XO_KARG_VALUE, BASE_A);
	s_op(&s, NULL, XO_KOP_SIGALTSTACK, 65536, 0);
	s_op(&s, "signal", XO_KOP_SIGNAL, 0, 0);
	s_op(&s, "gs", XO_KOP_SEL_READ, XO_KSEG_GS, 0);
	s_prctl(&s, "arch_get_gs", XO_ARCH_GET_GS, XO_KARG_OUT, 0);
	s_run(t, out, "", &s);
}

const struct xo_kprobe xo_kprobes_fsgs[] = {
	{ "fsgs.arch_prctl_gs", "fsgs", "ARCH_SET_GS/ARCH_GET_GS: values, limits, bad pointer",
	  probe_arch_prctl, NULL },
	{ "fsgs.arch_prctl_fs", "fsgs", "ARCH_SET_FS/ARCH_GET_FS: values, limits, bad pointer",
	  probe_arch_prctl, "fs" },
	{ "fsgs.selector_after_set", "fsgs", "ARCH_SET_GS replaces a nonzero selector with 0",
	  probe_selector_after_set, NULL },
	{ "fsgs.load_selector", "fsgs",
	  "mov 0/1/2/3/__USER_DS to %gs over a base: CPU, ARCH_GET_GS, ptrace, after a switch",
	  probe_load_selector, NULL },
	{ "fsgs.wrbase", "fsgs", "WRGSBASE under selectors 0 and __USER_DS across a switch and a signal",
	  probe_wrbase, NULL },
	{ "fsgs.ptrace_gsbase", "fsgs", "POKEUSER gs_base keeps the selector",
	  probe_ptrace_gsbase, NULL },
	{ "fsgs.ptrace_errors", "fsgs", "POKEUSER values putreg refuses; a tracer-written selector",
	  probe_ptrace_errors, NULL },
	{ "fsgs.ptrace_fsbase", "fsgs", "POKEUSER fs_base", probe_ptrace_fsbase, NULL },
	{ "fsgs.ptrace_arch_prctl", "fsgs",
	  "PTRACE_ARCH_PRCTL: SET zeroes the selector, GET, limits, XSTATE codes refused",
	  probe_ptrace_arch_prctl, NULL },
	{ "fsgs.signal", "fsgs", "GS base and selector across signal delivery", probe_signal, NULL },
};
const size_t xo_kprobes_fsgs_n = sizeof(xo_kprobes_fsgs) / sizeof(xo_kprobes_fsgs[0]);
