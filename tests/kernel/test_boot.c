/* Boot configuration on every built-in model: enabled features, taxonomy,
 * sizes against CPUID and the model's own layout code, per-CPU setup,
 * init image, Linux boot logs where the data set has one, and refusals. */
#include "ktest.h"

static const char *mname(struct kt *t)
{
	return t->m.name;
}

static void check_model(const char *name)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	const struct xs_model *m;
	uint64_t max, cet_s = XS_BIT(XS_C_CET_S);
	unsigned i;
	bool ok;

	if (kt_boot(&t, name, 3, "")) {
		tap_ok(0, "%s: boots", name);
		return;
	}
	m = &t.m;
	tap_ok(1, "%s: boots on 3 CPUs", name);
	max = k->kcfg.max_features;

	/* Feature selection. */
	tap_eq_u64(k->xcr0, k->ucfg.max_features, "%s: XCR0 = user.max_features", mname(&t));
	tap_ok((k->xcr0 & ~m->xcr0_supported) == 0 && (k->xss & ~m->xss_supported) == 0,
	       "%s: only enumerated features enabled", mname(&t));
	tap_ok((max & ~(XK_MASK_USER_SUPPORTED | XK_MASK_SUPERVISOR_SUPPORTED)) == 0,
	       "%s: max within USER_SUPPORTED|SUPERVISOR_SUPPORTED", mname(&t));
	tap_ok(!(max & XS_BIT(XS_C_PKRU)) == !m->feat.pku,
	       "%s: PKRU enabled iff PKU (CPUID enumerates 0x%llx)", mname(&t),
	       (unsigned long long)m->xcr0_supported);
	tap_ok(!(max & XS_MASK_AVX512) == !m->feat.avx512f, "%s: AVX-512 iff AVX512F",
	       mname(&t));
	tap_ok(!(max & cet_s) == !(m->feat.shstk && (m->xss_supported & cet_s)),
	       "%s: CET_S in kernel.max iff SHSTK and enumerated", mname(&t));
	tap_ok(!(max & XS_BIT(XS_C_PT)) && !(max & XS_BIT(XS_C_LBR)),
	       "%s: PT and LBR never in task buffers", mname(&t));
	tap_eq_u64(k->kcfg.independent_features,
		   (m->feat.arch_lbr ? m->xss_supported & XS_BIT(XS_C_LBR) : 0),
		   "%s: LBR independent iff arch LBR", mname(&t));
	tap_eq_u64(k->xss, (max & XK_MASK_SUPERVISOR_SUPPORTED) | k->kcfg.independent_features,
		   "%s: IA32_XSS = supervisor | independent", mname(&t));

	/* Defaults and the guest config. */
	tap_eq_u64(k->kcfg.default_features, max & ~(XK_MASK_USER_DYNAMIC | cet_s),
		   "%s: kernel default = max - dynamic - CET_S", mname(&t));
	tap_eq_u64(k->ucfg.default_features, k->ucfg.max_features & ~XK_MASK_USER_DYNAMIC,
		   "%s: user default = user max - dynamic", mname(&t));
	tap_eq_u64(k->gcfg.features, max & ~XK_MASK_USER_DYNAMIC,
		   "%s: guest default = max - dynamic", mname(&t));
	tap_ok(!(k->gcfg.features & cet_s) == !(m->feat.shstk && (m->xss_supported & cet_s)),
	       "%s: guest config has CET_S only where supported", mname(&t));
	tap_eq_u64(k->restore_mask, max & ~XS_BIT(XS_C_PKRU) & XK_MASK_FPSTATE,
		   "%s: restore mask = max & FPSTATE (no PKRU)", mname(&t));
	tap_eq_u64(k->init_xfd, max & XK_MASK_USER_DYNAMIC, "%s: init xfd = dynamic features",
		   mname(&t));
	tap_eq_u64(k->tax.user_affects_kernel, max & XS_BIT(XS_C_PKRU), "%s: taxonomy: PKRU",
		   mname(&t));
	tap_eq_u64(k->tax.supervisor | k->tax.user, max, "%s: taxonomy covers kernel.max",
		   mname(&t));

	/* Sizes: CPUID with the kernel's XCR0/XSS, and the model's layout code
	 * (an independent implementation of SDM 13.4). */
	tap_eq_u64(k->ucfg.max_size, xs_model_cpuid_d(m, k->xcr0, k->xss, 0).ebx,
		   "%s: user max size = CPUID(0xD,0).EBX", mname(&t));
	tap_eq_u64(k->ucfg.max_size, xs_size_standard(m, k->ucfg.max_features),
		   "%s: user max size = standard layout", mname(&t));
	tap_eq_u64(k->ucfg.default_size, xs_size_standard(m, k->ucfg.default_features),
		   "%s: user default size = standard layout", mname(&t));
	if (k->compacted) {
		tap_eq_u64(k->kcfg.max_size,
			   xs_model_cpuid_d(m, k->xcr0, k->xss & ~k->kcfg.independent_features, 1).ebx,
			   "%s: kernel max size = CPUID(0xD,1).EBX without independent", mname(&t));
		tap_eq_u64(k->kcfg.default_size, xs_size_compacted(m, k->kcfg.default_features),
			   "%s: kernel default size = compacted layout", mname(&t));
		tap_eq_u64(k->gcfg.size, xs_size_compacted(m, k->gcfg.features),
			   "%s: guest default size = compacted layout", mname(&t));
	} else {
		tap_eq_u64(k->kcfg.max_size, k->ucfg.max_size, "%s: standard: kernel = user size",
			   mname(&t));
	}
	tap_ok(k->kcfg.default_size <= k->kcfg.max_size &&
		       k->ucfg.default_size <= k->ucfg.max_size,
	       "%s: default sizes <= max sizes", mname(&t));
	if (m->linux_known) {
		/* Logs from v6.17+ include CET_S (guest supervisor); older ones
		 * print what is now the default set. */
		bool now = m->linux_xfeatures == max && m->linux_context_size == k->kcfg.max_size;
		bool old = m->linux_xfeatures == (max & ~cet_s) &&
			   m->linux_context_size == xk_calc_size(k, max & ~cet_s, k->compacted);
		tap_ok(now || old, "%s: matches Linux's boot log (0x%llx, %u bytes)%s", mname(&t),
		       (unsigned long long)m->linux_xfeatures, m->linux_context_size,
		       old && !now ? " of a pre-6.17 kernel" : "");
	}

	/* Per-CPU setup through the instruction API. */
	ok = true;
	for (i = 0; i < k->ncpus; i++) {
		struct xs_cpu *c = k->cpu[i].hw;

		ok = ok && xs_cr4_osxsave(c) && xs_xcr0(c) == k->xcr0 && xs_xss(c) == k->xss &&
		     xs_xfd(c) == k->init_xfd && xs_cr4_pke(c) == m->feat.pku &&
		     k->cpu[i].xfd_state == k->init_xfd && k->cpu[i].owner == NULL;
	}
	tap_ok(ok, "%s: every CPU has OSXSAVE, XCR0, XSS, XFD, PKE set", mname(&t));
	tap_ok(t.n[XK_EV_CPU_SETUP] >= 2 * k->ncpus, "%s: setup traced (%u events)", mname(&t),
	       t.n[XK_EV_CPU_SETUP]);

	/* init_fpstate. */
	{
		const struct xk_fpstate *init = k->init_fpstate;
		uint16_t fcw;
		uint32_t mxcsr;

		memcpy(&fcw, init->regs, 2);
		memcpy(&mxcsr, init->regs + 24, 4);
		tap_ok(fcw == XS_FCW_DEFAULT && mxcsr == XS_MXCSR_DEFAULT,
		       "%s: init image FCW 0x%x MXCSR 0x%x", mname(&t), fcw, mxcsr);
		tap_eq_u64(xk_fpstate_xstate_bv(init), 0, "%s: init image XSTATE_BV 0", mname(&t));
		tap_eq_u64(xk_fpstate_xcomp_bv(init),
			   k->compacted ? k->kcfg.default_features | XS_COMPACTED_BIT : 0,
			   "%s: init image XCOMP_BV", mname(&t));
		tap_eq_u64(k->mxcsr_feature_mask,
			   m->impl.mxcsr_mask ? m->impl.mxcsr_mask : XK_MXCSR_FEATURE_MASK_DEFAULT,
			   "%s: mxcsr feature mask from the CPU", mname(&t));
		tap_ok(((uintptr_t)init->regs & 63) == 0, "%s: init image 64-byte aligned",
		       mname(&t));
		/* Component addresses in a default buffer vs the model's layout. */
		{
			struct xs_layout lay;
			bool same = true;

			if (k->compacted)
				xs_layout_compacted(m, init->xfeatures, &lay);
			else
				xs_layout_standard(m, init->xfeatures, &lay);
			for (i = 0; i < 63; i++)
				if (init->xfeatures & XS_BIT(i))
					same = same && xk_comp_offset(k, init, i) == lay.offset[i];
			tap_ok(same && xk_comp_offset(k, init, XS_C_XTILEDATA) == 0,
			       "%s: component offsets in a default buffer match the layout",
			       mname(&t));
		}
	}
	tap_ok(t.bad == 0, "%s: no invariant violation during boot%s%s", mname(&t),
	       t.bad ? ": " : "", t.bad_why);
	tap_eq_u64(k->mem.bytes, 0, "%s: no task buffers after boot", mname(&t));
	xk_shutdown(k);
}

/* Boot with a policy that changes the instruction choice. */
static void check_save_policies(void)
{
	struct kt t;

	if (kt_boot(&t, "intel-sapphire-rapids", 1, "save=xsavec") == 0) {
		tap_ok(!t.k.use_xsaves && t.k.compacted && t.k.save_insn == XK_I_XSAVEC &&
			       t.k.restore_insn == XK_I_XRSTOR,
		       "save=xsavec: XSAVEC + XRSTOR, compacted");
		tap_eq_u64(t.k.xss, 0, "save=xsavec: no supervisor state (IA32_XSS 0)");
		tap_eq_u64(t.k.kcfg.max_features & XK_MASK_SUPERVISOR_ALL, 0,
			   "save=xsavec: kernel.max has no supervisor features");
		tap_eq_u64(t.k.kcfg.max_size, xs_size_compacted(&t.m, t.k.kcfg.max_features),
			   "save=xsavec: compacted kernel size");
		xk_shutdown(&t.k);
	} else {
		tap_ok(0, "save=xsavec boots on sapphire rapids");
	}
	if (kt_boot(&t, "intel-skylake-sp", 1, "save=xsaveopt") == 0) {
		tap_ok(!t.k.compacted && t.k.save_insn == XK_I_XSAVEOPT &&
			       t.k.restore_insn == XK_I_XRSTOR &&
			       t.k.kcfg.max_size == t.k.ucfg.max_size,
		       "save=xsaveopt: standard format, kernel size %u = user size",
		       t.k.kcfg.max_size);
		xk_shutdown(&t.k);
	} else {
		tap_ok(0, "save=xsaveopt boots on skylake-sp");
	}
	if (kt_boot(&t, "intel-sapphire-rapids", 1, "save=xsaveopt") == 0) {
		tap_ok(!(t.k.xcr0 & XS_MASK_AMX) && !t.k.dynamic && t.k.init_xfd == 0,
		       "save=xsaveopt on an AMX part: standard format, AMX not enabled");
		xk_shutdown(&t.k);
	} else {
		tap_ok(0, "save=xsaveopt boots on sapphire rapids");
	}
	if (kt_boot(&t, "amd-zen3-milan", 1, "save=xsave") == 0) {
		tap_ok(!t.k.compacted && t.k.save_insn == XK_I_XSAVE &&
			       !(t.k.xcr0 & ~t.k.kcfg.max_features),
		       "save=xsave: plain XSAVE, standard format");
		xk_shutdown(&t.k);
	} else {
		tap_ok(0, "save=xsave boots on zen3");
	}
	if (kt_boot(&t, "amd-zen2-rome", 1, "") == 0) {
		tap_ok(!(t.k.xcr0 & XS_BIT(XS_C_PKRU)) && (t.m.xcr0_supported & XS_BIT(XS_C_PKRU)),
		       "zen2: PKRU enumerated (64 bytes) but dropped: no PKU");
		xk_shutdown(&t.k);
	}
}

static int boot_model(struct xs_model *m, unsigned ncpus, const char *policy, char *err,
		      size_t errlen)
{
	struct xk_kernel k;
	struct xk_boot_opts o;

	memset(&o, 0, sizeof(o));
	o.ncpus = ncpus;
	xk_policy_default(&o.policy);
	if (policy && xk_policy_parse(&o.policy, policy, err, errlen))
		return -1;
	if (xk_boot(&k, m, &o, err, errlen))
		return -1;
	xk_shutdown(&k);
	return 0;
}

/* Replace the first occurrence of from by to in a model text. */
static char *doctor(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	size_t n = strlen(text), a, b = strlen(to);
	char *out;

	if (!p)
		return NULL;
	a = (size_t)(p - text);
	out = malloc(n - strlen(from) + b + 1);
	memcpy(out, text, a);
	memcpy(out + a, to, b);
	strcpy(out + a + b, p + strlen(from));
	return out;
}

static const char *builtin_text(const char *name)
{
	for (size_t i = 0; i < xs_builtin_count(); i++)
		if (strcmp(xs_builtin_name(i), name) == 0)
			return xs_builtin_text(i);
	return NULL;
}

static void check_refusals(void)
{
	struct xs_model m, good;
	char err[256];
	const char *sky = builtin_text("intel-skylake-client");
	char *txt, *txt2, *txt3;

	if (xs_model_load("intel-skylake-client", &good, err, sizeof(err)) || !sky) {
		tap_ok(0, "skylake-client model loads: %s", err);
		return;
	}
	/* YMM enumerated with 384 bytes: the layout stays consistent for the
	 * parser (576 + 384 ends where MPX starts, the compacted size in
	 * sub-leaf 1 grows by 128) but Linux's struct check fails. */
	txt = doctor(sky, "0xd.2 eax=00000100", "0xd.2 eax=00000180");
	txt2 = txt ? doctor(txt, "0xd.1 eax=0000000f ebx=00000440", "0xd.1 eax=0000000f ebx=000004c0")
		   : NULL;
	txt3 = txt2 ? doctor(txt2, "# linux_context_size: 960", "# linux_context_size: 1088") : NULL;
	if (!txt3 || xs_model_parse(txt3, "doctored-skylake.txt", &m, err, sizeof(err))) {
		tap_ok(0, "doctored model parses: %s", txt3 ? err : "pattern not found");
	} else {
		tap_ok(1, "doctored model (YMM 384 bytes) parses");
		tap_ok(boot_model(&m, 2, NULL, err, sizeof(err)) == -1 &&
			       strstr(err, "CPUID.(0DH,2).EAX = 384") && strstr(err, "256"),
		       "boot refused: %s", err);
	}
	free(txt);
	free(txt2);
	free(txt3);

	m = good;
	m.feat.xsave = false;
	tap_ok(boot_model(&m, 1, NULL, err, sizeof(err)) == -1 && strstr(err, "no XSAVE"),
	       "no XSAVE: refused: %s", err);

	m = good;
	m.leaf_d[0].eax |= (uint32_t)XS_BIT(XS_C_APX);
	tap_ok(boot_model(&m, 1, NULL, err, sizeof(err)) == -1 && strstr(err, "APX and MPX"),
	       "APX with MPX: refused: %s", err);

	m = good;
	m.leaf_d[0].eax &= ~2u;
	tap_ok(boot_model(&m, 1, NULL, err, sizeof(err)) == -1 && strstr(err, "x87 and SSE"),
	       "no SSE state: refused: %s", err);

	m = good;
	m.has_xsaves = false;
	tap_ok(boot_model(&m, 1, "save=xsaves", err, sizeof(err)) == -1 &&
		       strstr(err, "no XSAVES"),
	       "save=xsaves without XSAVES: refused: %s", err);
	tap_ok(boot_model(&good, 0, NULL, err, sizeof(err)) == -1 && strstr(err, "1..64"),
	       "0 CPUs: refused: %s", err);
	tap_ok(boot_model(&good, XK_MAX_CPUS + 1, NULL, err, sizeof(err)) == -1,
	       "%u CPUs: refused", XK_MAX_CPUS + 1);
	tap_ok(boot_model(&good, XK_MAX_CPUS, NULL, err, sizeof(err)) == 0,
	       "%u CPUs: boots", XK_MAX_CPUS);
}

/* CPUs created by the caller are used and not freed by the kernel. */
static void check_caller_cpus(void)
{
	struct xs_model m, other;
	struct xs_cpu *cpus[2];
	struct xk_kernel k;
	struct xk_boot_opts o;
	char err[256];

	xs_model_load("intel-icelake-sp", &m, err, sizeof(err));
	xs_model_load("amd-zen2-rome", &other, err, sizeof(err));
	cpus[0] = xs_cpu_new(&m);
	cpus[1] = xs_cpu_new(&m);
	memset(&o, 0, sizeof(o));
	o.ncpus = 2;
	o.cpus = cpus;
	xk_policy_default(&o.policy);
	tap_ok(xk_boot(&k, &m, &o, err, sizeof(err)) == 0 && k.cpu[1].hw == cpus[1] &&
		       xs_xcr0(cpus[1]) == k.xcr0,
	       "caller's CPUs are brought up");
	xk_shutdown(&k);
	tap_ok(xs_xcr0(cpus[0]) == k.xcr0, "caller's CPUs survive shutdown");
	xs_cpu_free(cpus[1]);
	cpus[1] = xs_cpu_new(&other);
	tap_ok(xk_boot(&k, &m, &o, err, sizeof(err)) == -1 && strstr(err, "not a CPU of model"),
	       "a CPU of another model is refused: %s", err);
	xs_cpu_free(cpus[0]);
	xs_cpu_free(cpus[1]);
}

int main(void)
{
	tap_plan_lazy();
	for (size_t i = 0; i < xs_builtin_count(); i++)
		check_model(xs_builtin_name(i));
	check_save_policies();
	check_refusals();
	check_caller_cpus();
	return tap_done();
}
