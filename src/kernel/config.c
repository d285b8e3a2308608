/* Boot configuration: which features the kernel enables, the buffer
 * configurations and their sizes, the sanity checks, the per-CPU setup.
 *
 * Follows fpu__init_system_xstate() and fpu__init_cpu_xstate() in
 * arch/x86/kernel/fpu/xstate.c (linux-design.md section 1.3). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "kernel/special_internal.h" /* policy masks (special states) */
#include "xstate/kernel_fsgs.h"

/* C struct sizes the kernel checks CPUID against (check_xstate_against_struct).
 * 0: no struct (the feature is unknown to the kernel). */
static const uint32_t xfeature_struct_size[XS_NAMED_COMPS] = {
	[XS_C_AVX] = 256,        /* struct ymmh_struct */
	[XS_C_BNDREGS] = 64,     /* struct mpx_bndreg_state */
	[XS_C_BNDCSR] = 64,      /* struct mpx_bndcsr_state (padded) */
	[XS_C_OPMASK] = 64,      /* struct avx_512_opmask_state */
	[XS_C_ZMM_HI256] = 512,  /* struct avx_512_zmm_uppers_state */
	[XS_C_HI16_ZMM] = 1024,  /* struct avx_512_hi16_state */
	[XS_C_PKRU] = 8,         /* struct pkru_state */
	[XS_C_PASID] = 8,        /* struct ia32_pasid_state */
	[XS_C_CET_U] = 16,       /* struct cet_user_state */
	[XS_C_CET_S] = 24,       /* struct cet_supervisor_state */
	[XS_C_UINTR] = 48,       /* struct uintr_state (2021 RFC; only with policy uintr=) */
	[XS_C_XTILECFG] = 64,    /* struct xtile_cfg */
	/* struct xtile_data is 1024 bytes per tile times the palette's max
	 * names (CPUID 0x1D). The models carry no leaf 0x1D; every shipped
	 * palette has 8 names, so 8192 is what Linux's check accepts. */
	[XS_C_XTILEDATA] = 8192,
	[XS_C_APX] = 128,        /* struct apx_state */
};

/* Init image size limit: init_fpstate.regs is a PAGE_SIZE union. */
#define XK_INIT_FPSTATE_MAX 4096u

static int boot_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int boot_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void xk_warn(struct xk_kernel *k, int cpu, const char *why, enum xk_insn insn, enum xs_fault f)
{
	k->stats.warnings++;
	snprintf(k->last_warning, sizeof(k->last_warning), "cpu%d: %s%s%s", cpu, why,
		 f != XS_OK ? " " : "", f != XS_OK ? xs_fault_name(f) : "");
	XK_TRACE(k, .type = XK_EV_WARN, .cpu = cpu, .insn = insn, .fault = f, .why = why);
}

/* Is the CPUID feature bit that gates component i set?
 * (xsave_cpuid_features[] in xstate.c; FP and SSE are architectural on
 * x86-64. PKRU is gated on OSPKE, which the kernel itself turns on with
 * CR4.PKE when PKU exists, so PKU is the gate here. Components without an
 * entry, LBR among them, are always dropped from max_features.) */
static bool xfeature_gate(const struct xs_features *f, unsigned i)
{
	switch (i) {
	case XS_C_X87:
	case XS_C_SSE:
		return true;
	case XS_C_AVX:
		return f->avx;
	case XS_C_BNDREGS:
	case XS_C_BNDCSR:
		return f->mpx;
	case XS_C_OPMASK:
	case XS_C_ZMM_HI256:
	case XS_C_HI16_ZMM:
		return f->avx512f;
	case XS_C_PT:
		return f->pt;
	case XS_C_PKRU:
		return f->pku;
	case XS_C_PASID:
		return f->enqcmd;
	case XS_C_CET_U:
	case XS_C_CET_S:
		return f->shstk;
	case XS_C_UINTR: /* RFC: X86_FEATURE_UINTR (special states, policy uintr=) */
		return f->uintr;
	case XS_C_XTILECFG:
	case XS_C_XTILEDATA:
		return f->amx_tile;
	case XS_C_APX:
		return f->apx;
	default:
		return false;
	}
}

/* xstate_calculate_size(), from the kernel's cached CPUID values. */
uint32_t xk_calc_size(const struct xk_kernel *k, uint64_t mask, bool compacted)
{
	uint32_t size = XS_EXT_OFFSET, end;
	unsigned i;

	mask &= ~(XS_COMPACTED_BIT | XS_MASK_FPSSE);
	for (i = 2; i < 63; i++) {
		if (!(mask & XS_BIT(i)))
			continue;
		if (compacted) {
			if (k->xf[i].align64)
				size = (size + 63) & ~63u;
			size += k->xf[i].size;
		} else {
			end = k->xf[i].offset + k->xf[i].size;
			if (end > size)
				size = end;
		}
	}
	return size;
}

uint32_t xk_comp_offset(const struct xk_kernel *k, const struct xk_fpstate *fps, unsigned comp)
{
	uint32_t off = XS_EXT_OFFSET;
	unsigned i;

	if (comp == XS_C_X87)
		return 0;
	if (comp == XS_C_SSE)
		return 160;
	if (comp >= 63 || !(fps->xfeatures & XS_BIT(comp)))
		return 0;
	if (!k->compacted)
		return k->xf[comp].offset;
	for (i = 2; i <= comp; i++) {
		if (!(fps->xfeatures & XS_BIT(i)))
			continue;
		if (k->xf[i].align64)
			off = (off + 63) & ~63u;
		if (i == comp)
			return off;
		off += k->xf[i].size;
	}
	return 0;
}

/* Step 2-4: the feature masks. Returns 0 or -1 with err. */
static int select_features(struct xk_kernel *k, bool xsaves, bool xfd, char *err, size_t errlen)
{
	const struct xs_model *m = k->model;
	struct xs_cpuid l0 = xs_model_cpuid_d(m, XS_MASK_FPSSE, 0, 0);
	struct xs_cpuid l1 = xs_model_cpuid_d(m, XS_MASK_FPSSE, 0, 1);
	uint64_t max = ((uint64_t)l0.edx << 32 | l0.eax) | ((uint64_t)l1.edx << 32 | l1.ecx);
	uint64_t indep_extra;
	unsigned i;

	if ((max & XS_MASK_FPSSE) != XS_MASK_FPSSE)
		return boot_fail(err, errlen,
				 "CPUID.(0DH,0) does not enumerate x87 and SSE state (0x%llx): "
				 "Linux disables XSAVE",
				 (unsigned long long)max);
	if ((max & XS_BIT(XS_C_APX)) && (max & XS_MASK_MPX))
		return boot_fail(err, errlen,
				 "CPUID.(0DH) enumerates both APX and MPX (APX reuses MPX's space): "
				 "Linux disables XSAVE");
	k->kcfg.independent_features = max & XK_MASK_INDEPENDENT;

	for (i = 0; i < XS_MAX_COMPS; i++)
		if ((max & XS_BIT(i)) && i < XS_NAMED_COMPS && !xfeature_gate(&m->feat, i))
			max &= ~XS_BIT(i);
	if (!xfd)
		max &= ~XK_MASK_USER_DYNAMIC;
	/* Beyond Linux: a standard-format kernel buffer of the default size
	 * has no room for tile data at its fixed offset, yet the task restore
	 * RFBM (max & FPSTATE) would name it. Linux (only reachable with
	 * clearcpuid=xsaves,xsavec on AMX parts) relies on the CPU not touching
	 * the memory of an XFD-armed init component; SDM 13.13 allows any
	 * access and the model enforces that. So without the compacted format
	 * AMX is not enabled (both bits: XCR0[17] and [18] go together). */
	if (!k->compacted && (max & XK_MASK_USER_DYNAMIC))
		max &= ~XS_MASK_AMX;
	/* Special states: policies uintr= and cet-s= add UINTR to the task
	 * buffers or make UINTR/CET_S independent (kernel_special.h). */
	if (k->policy.uintr != XK_UINTR_OFF && (!xsaves || !(max & XS_BIT(XS_C_UINTR))))
		return boot_fail(err, errlen,
				 "uintr=%s: CPU model '%s' has no user interrupts for the kernel "
				 "to manage (needs CPUID.(07H,0):EDX[5], IA32_XSS bit 14 and XSAVES)",
				 k->policy.uintr == XK_UINTR_ORDINARY ? "ordinary" : "independent",
				 m->name);
	indep_extra = xsaves ? max & xk_special_independent_mask(&k->policy) : 0;
	if (xsaves)
		max &= XK_MASK_USER_SUPPORTED | xk_special_supervisor_mask(&k->policy);
	else
		max &= XK_MASK_USER_SUPPORTED;
	/* restore=lazy is Linux's eagerfpu=off: fpu__init_system_ctx_switch()
	 * (arch/x86/kernel/fpu/init.c, v4.2-v4.13) printed "eagerfpu switching
	 * disabled, disabling the following xstate features" and cleared
	 * XFEATURE_MASK_EAGER; every other setting forced eager FPU when such
	 * a feature was present. Same here, with AMX and APX added (kernel.h). */
	if (k->policy.restore == XK_RESTORE_LAZY) {
		k->lazy_dropped = max & XK_MASK_EAGER_ONLY;
		max &= ~XK_MASK_EAGER_ONLY;
	}

	/* xfeatures_mask_independent(): LBR only with arch LBR, and only
	 * where IA32_XSS exists at all. */
	if (!m->feat.arch_lbr || !xsaves)
		k->kcfg.independent_features &= ~XS_BIT(XS_C_LBR);
	k->kcfg.independent_features |= indep_extra;

	k->kcfg.max_features = max;
	k->ucfg.max_features = max & XK_MASK_USER_SUPPORTED;
	k->kcfg.default_features =
		max & ~(XK_MASK_USER_DYNAMIC | xk_special_guest_only_mask(&k->policy));
	k->ucfg.default_features =
		k->ucfg.max_features & ~(XK_MASK_USER_DYNAMIC | XK_MASK_GUEST_SUPERVISOR);
	k->gcfg.features = max & ~XK_MASK_USER_DYNAMIC;
	k->kcfg.legacy_features = k->ucfg.legacy_features = XS_MASK_FPSSE;
	k->ucfg.independent_features = 0;
	k->init_xfd = k->ucfg.max_features & XK_MASK_USER_DYNAMIC;
	k->dynamic = k->init_xfd != 0;
	k->xcr0 = k->ucfg.max_features;
	k->xss = (max & xk_special_supervisor_mask(&k->policy)) | k->kcfg.independent_features;
	k->restore_mask = max & (XK_MASK_FPSTATE | xk_special_supervisor_mask(&k->policy));
	return 0;
}

/* setup_xstate_cache(): CPUID.(0DH,i) for every enabled extended feature
 * and the independent ones. */
static void cache_xfeatures(struct xk_kernel *k)
{
	uint64_t mask = k->kcfg.max_features | k->kcfg.independent_features;
	unsigned i;

	for (i = 2; i < 63; i++) {
		struct xs_cpuid r;

		if (!(mask & XS_BIT(i)))
			continue;
		r = xs_model_cpuid_d(k->model, k->xcr0, k->xss, i);
		k->xf[i].size = r.eax;
		k->xf[i].offset = r.ebx;
		k->xf[i].supervisor = r.ecx & 1;
		k->xf[i].align64 = (r.ecx >> 1) & 1;
		k->xf[i].xfd = (r.ecx >> 2) & 1;
	}
}

static enum xs_fault cpu_wrmsr(struct xk_kernel *k, struct xk_cpu *c, uint32_t msr, uint64_t v)
{
	enum xs_fault f = xs_wrmsr(c->hw, msr, v);

	XK_TRACE(k, .type = XK_EV_CPU_SETUP, .cpu = (int)c->id, .insn = XK_I_WRMSR, .fault = f,
		 .reg = msr, .value = v);
	return f;
}

/* fpu__init_cpu_xstate() (plus setup_pku()'s CR4.PKE): every CPU, through
 * the instruction API only. */
static int init_cpu_xstate(struct xk_kernel *k, struct xk_cpu *c, char *err, size_t errlen)
{
	const struct xs_model *m = k->model;
	enum xs_fault f;

	xs_set_cpl(c->hw, 0);
	f = xs_set_cr4_osxsave(c->hw, true);
	XK_TRACE(k, .type = XK_EV_CPU_SETUP, .cpu = (int)c->id, .insn = XK_I_MOV_CR4, .fault = f,
		 .reg = 4, .value = 1, .why = "CR4.OSXSAVE");
	if (f)
		return boot_fail(err, errlen, "cpu%u: setting CR4.OSXSAVE raised %s: %s", c->id,
				 xs_fault_name(f), xs_cpu_fault_reason(c->hw));
	if (m->feat.pku) {
		f = xs_set_cr4_pke(c->hw, true);
		XK_TRACE(k, .type = XK_EV_CPU_SETUP, .cpu = (int)c->id, .insn = XK_I_MOV_CR4,
			 .fault = f, .reg = 4, .value = 1, .why = "CR4.PKE");
		if (f)
			return boot_fail(err, errlen, "cpu%u: setting CR4.PKE raised %s", c->id,
					 xs_fault_name(f));
	}
	/* XFD before XSETBV, as Linux does (KVM lazy passthrough). */
	if (m->has_xfd) {
		f = cpu_wrmsr(k, c, XS_MSR_XFD, k->init_xfd);
		if (f)
			return boot_fail(err, errlen, "cpu%u: WRMSR IA32_XFD=0x%llx raised %s: %s",
					 c->id, (unsigned long long)k->init_xfd, xs_fault_name(f),
					 xs_cpu_fault_reason(c->hw));
	}
	c->xfd_state = k->init_xfd;
	f = xs_xsetbv(c->hw, 0, k->xcr0);
	XK_TRACE(k, .type = XK_EV_CPU_SETUP, .cpu = (int)c->id, .insn = XK_I_XSETBV, .fault = f,
		 .reg = 0, .value = k->xcr0);
	if (f)
		return boot_fail(err, errlen, "cpu%u: XSETBV XCR0=0x%llx raised %s: %s", c->id,
				 (unsigned long long)k->xcr0, xs_fault_name(f),
				 xs_cpu_fault_reason(c->hw));
	if (k->use_xsaves) {
		f = cpu_wrmsr(k, c, XS_MSR_XSS, k->xss);
		if (f)
			return boot_fail(err, errlen, "cpu%u: WRMSR IA32_XSS=0x%llx raised %s: %s",
					 c->id, (unsigned long long)k->xss, xs_fault_name(f),
					 xs_cpu_fault_reason(c->hw));
	}
	c->owner = NULL;
	c->current = NULL;
	c->kernel_fpu_allowed = true;
	return 0;
}

/* init_xstate_size() on the boot CPU: ask CPUID with the configuration in
 * force, then compute the rest. */
static void read_sizes(struct xk_kernel *k, struct xk_cpu *c)
{
	uint64_t xcr0 = 0, xss = 0;

	xs_xgetbv(c->hw, 0, &xcr0);
	if (k->use_xsaves)
		xs_rdmsr(c->hw, XS_MSR_XSS, &xss);
	/* get_xsave_size_user(): CPUID.(0DH,0).EBX for the XCR0 in force. */
	k->ucfg.max_size = xs_model_cpuid_d(k->model, xcr0, xss, 0).ebx;
	if (k->compacted) {
		/* get_xsave_compacted_size(): independent features are not part
		 * of task buffers, so measure with IA32_XSS minus them. */
		uint64_t sup = k->xss & ~k->kcfg.independent_features;

		if (k->use_xsaves && sup != k->xss)
			cpu_wrmsr(k, c, XS_MSR_XSS, sup);
		if (k->use_xsaves)
			xs_rdmsr(c->hw, XS_MSR_XSS, &xss);
		k->kcfg.max_size = xs_model_cpuid_d(k->model, xcr0, xss, 1).ebx;
		if (k->use_xsaves && sup != k->xss)
			cpu_wrmsr(k, c, XS_MSR_XSS, k->xss);
	} else {
		k->kcfg.max_size = k->ucfg.max_size;
	}
	k->kcfg.default_size = xk_calc_size(k, k->kcfg.default_features, k->compacted);
	k->ucfg.default_size = xk_calc_size(k, k->ucfg.default_features, false);
	k->gcfg.size = xk_calc_size(k, k->gcfg.features, k->compacted);
}

/* paranoid_xstate_size_valid() and friends. Linux disables XSAVE on any
 * failure and runs with FXSAVE; the model has no FXSAVE, so we refuse. */
static int check_sizes(struct xk_kernel *k, char *err, size_t errlen)
{
	uint32_t calc;
	unsigned i;

	for (i = 2; i < 63; i++) {
		uint32_t want;

		if (!(k->kcfg.max_features & XS_BIT(i)))
			continue;
		want = i < XS_NAMED_COMPS ? xfeature_struct_size[i] : 0;
		if (!want)
			return boot_fail(err, errlen,
					 "no structure for xstate feature %u (%s): XSAVE disabled", i,
					 xs_comp_name(i));
		if (k->xf[i].size != want)
			return boot_fail(err, errlen,
					 "CPUID.(0DH,%u).EAX = %u, but the kernel's %s structure is %u "
					 "bytes: XSAVE disabled",
					 i, k->xf[i].size, xs_comp_name(i), want);
		if (!k->use_xsaves && k->xf[i].supervisor)
			return boot_fail(err, errlen,
					 "got supervisor feature %u (%s), but XSAVES not in use: "
					 "XSAVE disabled",
					 i, xs_comp_name(i));
	}
	calc = xk_calc_size(k, k->kcfg.max_features, k->compacted);
	if (calc != k->kcfg.max_size)
		return boot_fail(err, errlen,
				 "computed %s size %u for 0x%llx != CPUID.(0DH,%d).EBX %u: XSAVE "
				 "disabled",
				 k->compacted ? "compacted" : "standard", calc,
				 (unsigned long long)k->kcfg.max_features, k->compacted ? 1 : 0,
				 k->kcfg.max_size);
	if (k->kcfg.default_size > XK_INIT_FPSTATE_MAX)
		return boot_fail(err, errlen,
				 "default xstate size %u exceeds init_fpstate's %u bytes: XSAVE "
				 "disabled",
				 k->kcfg.default_size, XK_INIT_FPSTATE_MAX);
	return 0;
}

static void build_taxonomy(struct xk_kernel *k)
{
	uint64_t max = k->kcfg.max_features;
	struct xk_taxonomy *t = &k->tax;

	t->user = k->ucfg.max_features;
	t->supervisor = max & xk_special_supervisor_mask(&k->policy);
	t->independent = k->kcfg.independent_features;
	t->user_dynamic = max & XK_MASK_USER_DYNAMIC;
	t->guest_supervisor = max & xk_special_guest_only_mask(&k->policy);
	t->user_affects_kernel = max & XS_BIT(XS_C_PKRU);
	/* Seed 000's classes 2 and 3 whatever buffer holds them (a policy
	 * may make UINTR or CET_S independent). */
	t->supervisor_affects_user = (max | t->independent) &
		(XS_BIT(XS_C_PASID) | XS_BIT(XS_C_CET_U) | XS_BIT(XS_C_UINTR));
	t->supervisor_affects_kernel = (max | t->independent) & XS_BIT(XS_C_CET_S);
}

/* Instruction choice (section 3.3) with the save= policy acting like
 * clearcpuid= for the better instructions. */
static int choose_insns(struct xk_kernel *k, bool *xfd, char *err, size_t errlen)
{
	const struct xs_model *m = k->model;
	enum xk_save_choice s = k->policy.save;
	bool xsaves = m->has_xsaves, xsavec = m->has_xsavec, xsaveopt = m->has_xsaveopt;

	switch (s) {
	case XK_SAVE_AUTO:
		break;
	case XK_SAVE_XSAVES:
		if (!xsaves)
			return boot_fail(err, errlen, "save=xsaves: CPU model '%s' has no XSAVES",
					 m->name);
		break;
	case XK_SAVE_XSAVEC:
		if (!xsavec)
			return boot_fail(err, errlen, "save=xsavec: CPU model '%s' has no XSAVEC",
					 m->name);
		xsaves = false;
		break;
	case XK_SAVE_XSAVEOPT:
		if (!xsaveopt)
			return boot_fail(err, errlen,
					 "save=xsaveopt: CPU model '%s' has no XSAVEOPT", m->name);
		xsaves = xsavec = false;
		break;
	case XK_SAVE_XSAVE:
		xsaves = xsavec = xsaveopt = false;
		break;
	default:
		return boot_fail(err, errlen, "invalid save policy %d", (int)s);
	}
	k->use_xsaves = xsaves;
	k->compacted = xsaves || xsavec;
	k->save_insn = xsaves ? XK_I_XSAVES : xsavec ? XK_I_XSAVEC
		       : xsaveopt ? XK_I_XSAVEOPT : XK_I_XSAVE;
	k->restore_insn = xsaves ? XK_I_XRSTORS : XK_I_XRSTOR;
	/* XFD is enumerated in CPUID.(0DH,1).EAX[4]; its MSRs need XSAVES-era
	 * hardware but not XSAVES itself. */
	*xfd = m->has_xfd;
	return 0;
}

/* A CPU keeps its own copy of the model: compare the enumeration. */
static bool same_model(const struct xs_model *a, const struct xs_model *b)
{
	return a == b || (memcmp(a->leaf_d, b->leaf_d, sizeof(a->leaf_d)) == 0 &&
			  a->xcr0_supported == b->xcr0_supported &&
			  a->xss_supported == b->xss_supported);
}

static void free_cpus(struct xk_kernel *k, unsigned n)
{
	unsigned i;

	if (!k->own_cpus)
		return;
	for (i = 0; i < n; i++) {
		xs_cpu_free(k->cpu[i].hw);
		k->cpu[i].hw = NULL;
	}
}

int xk_boot(struct xk_kernel *k, const struct xs_model *m, const struct xk_boot_opts *o,
	    char *err, size_t errlen)
{
	bool xfd = false;
	unsigned i;

	memset(k, 0, sizeof(*k));
	if (err && errlen)
		err[0] = '\0';
	if (!m || !o)
		return boot_fail(err, errlen, "no CPU model or boot options");
	if (o->ncpus < 1 || o->ncpus > XK_MAX_CPUS)
		return boot_fail(err, errlen, "number of CPUs %u is not in 1..%u", o->ncpus,
				 XK_MAX_CPUS);
	if ((unsigned)o->policy.restore > XK_RESTORE_LAZY ||
	    (unsigned)o->policy.save > XK_SAVE_XSAVE ||
	    (unsigned)o->policy.cet_s > XK_CET_S_INDEPENDENT ||
	    (unsigned)o->policy.uintr > XK_UINTR_INDEPENDENT)
		return boot_fail(err, errlen, "invalid policy values");
	k->model = m;
	k->policy = o->policy;
	/* Mutant lazy-fp (checker issue): the pre-2016 CR0.TS scheme, as if
	 * restore=lazy had been chosen (the LazyFP precondition). */
	if (xk_mutant(k, XK_MUT_LAZY_FP))
		k->policy.restore = XK_RESTORE_LAZY;
	k->trace = o->trace;
	k->trace_ctx = o->trace_ctx;
	k->alloc_fail = o->alloc_fail;
	k->alloc_ctx = o->alloc_ctx;
	k->next_tid = 1;

	if (!m->feat.xsave)
		return boot_fail(err, errlen,
				 "CPU model '%s' has no XSAVE (CPUID.1:ECX[26] = 0); Linux would "
				 "fall back to FXSAVE, which the model does not implement",
				 m->name);
	if (choose_insns(k, &xfd, err, errlen))
		return -1;
	if (select_features(k, k->use_xsaves, xfd, err, errlen))
		return -1;
	cache_xfeatures(k);

	k->ncpus = o->ncpus;
	k->own_cpus = o->cpus == NULL;
	for (i = 0; i < k->ncpus; i++) {
		struct xk_cpu *c = &k->cpu[i];

		c->id = i;
		c->hw = o->cpus ? o->cpus[i] : xs_cpu_new(m);
		if (!c->hw || !same_model(xs_cpu_model(c->hw), m)) {
			int bad = c->hw != NULL;

			free_cpus(k, bad ? i + 1 : i);
			return boot_fail(err, errlen,
					 bad ? "cpu%u: not a CPU of model '%s'"
					     : "cpu%u: cannot create a CPU of model '%s'",
					 i, m->name);
		}
	}

	/* Boot CPU first: its CPUID answers size the buffers. */
	if (init_cpu_xstate(k, &k->cpu[0], err, errlen))
		goto fail;
	read_sizes(k, &k->cpu[0]);
	if (check_sizes(k, err, errlen))
		goto fail;
	for (i = 1; i < k->ncpus; i++)
		if (init_cpu_xstate(k, &k->cpu[i], err, errlen))
			goto fail;
	build_taxonomy(k);
	xk_fsgs_boot(k); /* FS/GS issue: GDT, CR4.FSGSBASE, GS bases (fsgs.c) */
	if (xk_init_fpstate_setup(k, err, errlen))
		goto fail;
	/* setup_pku() (identify_cpu, after the FPU init whose init-image
	 * XRSTOR left PKRU 0): "Load the default PKRU value" -- idle and
	 * kernel threads run with init_pkru (special states). */
	if (m->feat.pku && (k->xcr0 & XS_BIT(XS_C_PKRU)))
		for (i = 0; i < k->ncpus; i++) {
			enum xs_fault f = xs_wrpkru(k->cpu[i].hw, XK_PKRU_INIT_DEFAULT);

			XK_TRACE(k, .type = XK_EV_CPU_SETUP, .cpu = (int)i, .insn = XK_I_WRPKRU,
				 .fault = f, .value = XK_PKRU_INIT_DEFAULT, .why = "PKRU := init_pkru");
			if (f) {
				boot_fail(err, errlen, "cpu%u: WRPKRU raised %s", i, xs_fault_name(f));
				free(k->init_fpstate);
				k->init_fpstate = NULL;
				goto fail;
			}
		}
	return 0;
fail:
	free_cpus(k, k->ncpus);
	return -1;
}

void xk_shutdown(struct xk_kernel *k)
{
	if (!k->model)
		return;
	xk_task_free_all(k);
	free(k->init_fpstate);
	k->init_fpstate = NULL;
	free_cpus(k, k->ncpus);
	k->model = NULL;
}

void xk_set_trace(struct xk_kernel *k, xk_trace_fn fn, void *ctx)
{
	k->trace = fn;
	k->trace_ctx = ctx;
}

void xk_set_alloc_fail(struct xk_kernel *k, xk_alloc_fail_fn fn, void *ctx)
{
	k->alloc_fail = fn;
	k->alloc_ctx = ctx;
}

static void print_mask(FILE *f, const char *label, uint64_t mask)
{
	char buf[320];

	fprintf(f, "  %-26s 0x%-8llx %s\n", label, (unsigned long long)mask,
		mask ? xs_mask_names(mask, buf, sizeof(buf)) : "-");
}

void xk_config_print(const struct xk_kernel *k, FILE *f)
{
	char pol[256];

	xk_policy_format(&k->policy, pol, sizeof(pol));
	fprintf(f, "kernel on %s, %u CPU%s, policy %s\n", k->model->name, k->ncpus,
		k->ncpus == 1 ? "" : "s", pol);
	fprintf(f, "  save %s, restore %s, %s kernel buffers\n", xk_insn_name(k->save_insn),
		xk_insn_name(k->restore_insn), k->compacted ? "compacted" : "standard-format");
	print_mask(f, "XCR0", k->xcr0);
	print_mask(f, "IA32_XSS", k->xss);
	print_mask(f, "IA32_XFD (init)", k->init_xfd);
	if (k->lazy_dropped)
		print_mask(f, "not enabled (lazy restore)", k->lazy_dropped);
	fprintf(f, " taxonomy:\n");
	print_mask(f, "user", k->tax.user);
	print_mask(f, "supervisor", k->tax.supervisor);
	print_mask(f, "independent", k->tax.independent);
	print_mask(f, "user dynamic", k->tax.user_dynamic);
	print_mask(f, "guest supervisor", k->tax.guest_supervisor);
	print_mask(f, "user, affects kernel", k->tax.user_affects_kernel);
	print_mask(f, "supervisor, affects user", k->tax.supervisor_affects_user);
	print_mask(f, "supervisor, affects kernel", k->tax.supervisor_affects_kernel);
	fprintf(f, " buffers:\n");
	print_mask(f, "kernel max", k->kcfg.max_features);
	fprintf(f, "  %-26s %u bytes\n", "kernel max size", k->kcfg.max_size);
	print_mask(f, "kernel default", k->kcfg.default_features);
	fprintf(f, "  %-26s %u bytes\n", "kernel default size", k->kcfg.default_size);
	print_mask(f, "user max", k->ucfg.max_features);
	fprintf(f, "  %-26s %u bytes\n", "user max size", k->ucfg.max_size);
	print_mask(f, "user default", k->ucfg.default_features);
	fprintf(f, "  %-26s %u bytes\n", "user default size", k->ucfg.default_size);
	print_mask(f, "guest default", k->gcfg.features);
	fprintf(f, "  %-26s %u bytes\n", "guest default size", k->gcfg.size);
	print_mask(f, "task restore mask", k->restore_mask);
	fprintf(f, "  %-26s 0x%08x\n", "mxcsr feature mask", k->mxcsr_feature_mask);
}
