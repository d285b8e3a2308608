/* xstate info: everything a CPU model says about XSAVE. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/kernel_special.h" /* Linux classes (special-states issue) */

/* A row of the component table: x87 and SSE (legacy region) and every
 * supported component i >= 2. */
struct row {
	unsigned index;
	const char *name;
	bool supervisor;
	uint32_t size, std_offset, cmp_offset;
	bool has_std, has_cmp, align64, xfd;
};

static size_t component_rows(const struct xs_model *m, struct row *rows)
{
	uint64_t all = m->xcr0_supported | m->xss_supported;
	struct xs_layout std, cmp;
	size_t n = 0;

	xs_layout_standard(m, m->xcr0_supported, &std);
	xs_layout_compacted(m, all, &cmp);
	for (unsigned i = 0; i < 63; i++) {
		struct row *r;

		if (!(all & XS_BIT(i)))
			continue;
		r = &rows[n++];
		memset(r, 0, sizeof(*r));
		r->index = i;
		r->name = xs_comp_name(i);
		r->supervisor = i >= 2 && m->comp[i].supervisor;
		r->size = i >= 2 ? m->comp[i].size : std.size_of[i];
		r->has_std = std.mask & XS_BIT(i);
		r->std_offset = std.offset[i];
		r->has_cmp = m->has_xsavec && (cmp.mask & XS_BIT(i));
		r->cmp_offset = cmp.offset[i];
		r->align64 = i >= 2 && m->comp[i].align64;
		r->xfd = i >= 2 && m->comp[i].xfd;
	}
	return n;
}

static void decode_signature(uint32_t sig, unsigned *fam, unsigned *model, unsigned *step)
{
	*fam = (sig >> 8) & 0xf;
	*model = (sig >> 4) & 0xf;
	*step = sig & 0xf;
	if (*fam == 0xf)
		*fam += (sig >> 20) & 0xff;
	if (*fam == 0x6 || *fam >= 0xf)
		*model |= ((sig >> 16) & 0xf) << 4;
}

static uint32_t compacted_max(const struct xs_model *m)
{
	if (!m->has_xsavec)
		return 0;
	return xs_size_compacted(m, m->xcr0_supported | (m->has_xsaves ? m->xss_supported : 0));
}

static void print_field_value(FILE *f, const struct xs_field *fd, uint64_t v, bool json)
{
	if (fd->width == 1)
		fputs(json ? (v ? "true" : "false") : (v ? "yes" : "no"), f);
	else if (fd->width == 32 && json)
		json_hex(f, v);
	else if (fd->width == 32)
		fprintf(f, "0x%llx", (unsigned long long)v);
	else
		fprintf(f, "%llu", (unsigned long long)v);
}

/* ---- Linux classes (special-states issue) ----
 * The kernel manager booted on the model (one CPU, --policy applied) says
 * how Linux treats each component: seed 000's classes plus Linux's own
 * (taxonomy.c). NULL kernel: the boot was refused (reason in err). */
struct linux_view {
	struct xk_kernel *k;
	char err[XK_ERR_MAX];
	char policy[256];
};

static void linux_boot(const struct xs_model *m, const struct xk_policy *pol, struct linux_view *lv)
{
	struct xk_boot_opts o;

	memset(&o, 0, sizeof(o));
	o.ncpus = 1;
	o.policy = *pol;
	xk_policy_format(pol, lv->policy, sizeof(lv->policy));
	lv->k = malloc(sizeof(*lv->k));
	if (!lv->k) {
		snprintf(lv->err, sizeof(lv->err), "out of memory");
	} else if (xk_boot(lv->k, m, &o, lv->err, sizeof(lv->err))) {
		free(lv->k);
		lv->k = NULL;
	}
}

static void linux_free(struct linux_view *lv)
{
	if (lv->k) {
		xk_shutdown(lv->k);
		free(lv->k);
	}
}

static const char *linux_class(const struct linux_view *lv, unsigned i)
{
	return lv->k ? xk_xclass_name(xk_xclass_of(lv->k, i)) : "-";
}

static void print_linux_text(const struct xs_model *m, const struct linux_view *lv)
{
	uint64_t all = m->xcr0_supported | m->xss_supported;

	printf("\nLinux classes (seed 000), kernel booted with policy %s\n", lv->policy);
	if (!lv->k) {
		printf("  boot refused: %s\n", lv->err);
		return;
	}
	printf("  1 = user state, 2 = supervisor state that affects user mode, 3 = supervisor\n"
	       "  state that affects kernel mode (PKRU: user state that affects the kernel)\n");
	for (unsigned i = 0; i < 63; i++) {
		enum xk_xclass c;
		int n;

		if (!(all & XS_BIT(i)))
			continue;
		c = xk_xclass_of(lv->k, i);
		n = xk_xclass_seed000(c);
		printf("  %2u  %-10s %-26s %c  %s%s%s\n", i, xs_comp_name(i), xk_xclass_name(c),
		       n ? '0' + n : '-', xk_xclass_handling(lv->k, i),
		       c == XK_XC_UNSUPPORTED ? ": " : "", xk_xclass_reason(lv->k, i));
	}
}

/* ---- text ---- */

static void print_text(const struct xs_model *m, const struct linux_view *lv)
{
	char buf[512];
	struct row rows[64];
	size_t n = component_rows(m, rows), nf;
	const struct xs_field *fields;
	unsigned fam, model, step;

	decode_signature(m->signature, &fam, &model, &step);
	printf("CPU model   %s (%s)\n", m->name, m->source);
	printf("title       %s\n", m->title);
	printf("vendor      %s\n", m->vendor);
	printf("brand       %s\n", m->brand);
	printf("signature   0x%08x (family 0x%x, model 0x%x, stepping 0x%x)\n", m->signature, fam,
	       model, step);
	printf("\nSupported state components\n");
	printf("  XCR0      0x%llx  %s\n", (unsigned long long)m->xcr0_supported,
	       xs_mask_names(m->xcr0_supported, buf, sizeof(buf)));
	printf("  IA32_XSS  0x%llx  %s\n", (unsigned long long)m->xss_supported,
	       xs_mask_names(m->xss_supported, buf, sizeof(buf)));
	if (m->dump_masks_known)
		printf("  OS configuration when read: XCR0 0x%llx, IA32_XSS 0x%llx\n",
		       (unsigned long long)m->dump_xcr0, (unsigned long long)m->dump_xss);
	if (m->linux_known)
		printf("  Linux enabled 0x%llx (%s), context size %u bytes\n",
		       (unsigned long long)m->linux_xfeatures,
		       xs_mask_names(m->linux_xfeatures, buf, sizeof(buf)), m->linux_context_size);

	printf("\nInstructions (CPUID.(0DH,1).EAX)\n");
	printf("  XSAVEOPT %s  XSAVEC %s  XGETBV1 %s  XSAVES %s  XFD %s\n",
	       m->has_xsaveopt ? "yes" : "no", m->has_xsavec ? "yes" : "no",
	       m->has_xgetbv1 ? "yes" : "no", m->has_xsaves ? "yes" : "no",
	       m->has_xfd ? "yes" : "no");

	printf("\nFeature bits (leaves 1, 6, 7, 0x80000008%s)\n",
	       m->leaf_present ? "" : "; derived from leaf 0xD");
	fields = xs_feat_fields(&nf);
	printf(" ");
	for (size_t i = 0; i < nf; i++) {
		uint64_t v = xs_field_get(&m->feat, &fields[i]);
		if (fields[i].width == 1)
			printf(" %s%s", v ? "" : "-", fields[i].name);
		else
			printf(" %s=%llu", fields[i].name, (unsigned long long)v);
	}
	printf("\n  ('-' = absent)\n");

	printf("\nComponents (CPUID.(0DH,i); compacted offsets with every supported component enabled)\n");
	printf("  %2s  %-10s %-10s %6s %8s %8s %7s %4s  %s\n", "i", "name", "kind", "size",
	       "std-off", "cmp-off", "align64", "xfd", "linux");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char so[16] = "-", co[16] = "-";

		if (r->has_std)
			snprintf(so, sizeof(so), "%u", r->std_offset);
		if (r->has_cmp)
			snprintf(co, sizeof(co), "%u", r->cmp_offset);
		printf("  %2u  %-10s %-10s %6u %8s %8s %7s %4s  %s\n", r->index, r->name,
		       r->supervisor ? "supervisor" : "user", r->size, so, co,
		       r->align64 ? "yes" : "-", r->xfd ? "yes" : "-", linux_class(lv, r->index));
	}
	print_linux_text(m, lv);

	printf("\nSizes\n");
	printf("  %-52s %6u\n", "standard, all supported user components (0.ECX)", m->leaf_d[0].ecx);
	if (m->has_xsavec)
		printf("  %-52s %6u\n",
		       m->has_xsaves ? "compacted, all supported components (XCR0|IA32_XSS)"
				     : "compacted, all supported user components (XCR0)",
		       compacted_max(m));
	else
		printf("  compacted: not supported (no XSAVEC)\n");

	printf("\nImplementation choices (struct xs_impl; '# impl.FIELD: V' in a model file)\n");
	fields = xs_impl_fields(&nf);
	for (size_t i = 0; i < nf; i++) {
		char val[32];
		FILE *vf = fmemopen(val, sizeof(val), "w");

		if (!vf)
			continue;
		print_field_value(vf, &fields[i], xs_field_get(&m->impl, &fields[i]), false);
		fclose(vf);
		printf("  %-26s %-8s %s\n", fields[i].name, val, fields[i].doc);
	}
	/* The kernel's boot configuration: what it enabled, its taxonomy
	 * masks and buffer sizes (config.c; linux-design.md 2). */
	if (lv->k) {
		printf("\nKernel configuration: ");
		xk_config_print(lv->k, stdout);
	}
}

/* ---- JSON ---- */

static void print_json(const struct xs_model *m, const struct linux_view *lv)
{
	struct row rows[64];
	size_t n = component_rows(m, rows), nf;
	const struct xs_field *fields;

	printf("{");
	cli_json_model_identity(stdout, m);
	printf(",\"source\":");
	xs_json_string(stdout, m->source);
	printf(",\"dump\":");
	if (m->dump_masks_known) {
		printf("{\"xcr0\":");
		json_hex(stdout, m->dump_xcr0);
		printf(",\"xss\":");
		json_hex(stdout, m->dump_xss);
		printf("}");
	} else {
		printf("null");
	}
	printf(",\"linux\":");
	if (m->linux_known) {
		printf("{\"xfeatures\":");
		json_hex(stdout, m->linux_xfeatures);
		printf(",\"context_size\":%u}", m->linux_context_size);
	} else {
		printf("null");
	}
	printf(",\"instructions\":{\"xsaveopt\":%s,\"xsavec\":%s,\"xgetbv1\":%s,\"xsaves\":%s,"
	       "\"xfd\":%s}",
	       m->has_xsaveopt ? "true" : "false", m->has_xsavec ? "true" : "false",
	       m->has_xgetbv1 ? "true" : "false", m->has_xsaves ? "true" : "false",
	       m->has_xfd ? "true" : "false");
	printf(",\"features\":{");
	fields = xs_feat_fields(&nf);
	for (size_t i = 0; i < nf; i++) {
		printf("%s\"%s\":", i ? "," : "", fields[i].name);
		print_field_value(stdout, &fields[i], xs_field_get(&m->feat, &fields[i]), true);
	}
	printf("},\"components\":[");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const struct xs_comp_info *info = xs_comp_info(r->index);

		printf("%s{\"index\":%u,\"name\":", i ? "," : "", r->index);
		xs_json_string(stdout, r->name);
		printf(",\"title\":");
		xs_json_string(stdout, info ? info->title : r->name);
		printf(",\"supervisor\":%s,\"size\":%u", r->supervisor ? "true" : "false", r->size);
		if (r->has_std)
			printf(",\"offset\":%u", r->std_offset);
		else
			printf(",\"offset\":null");
		if (r->has_cmp)
			printf(",\"compacted_offset\":%u", r->cmp_offset);
		else
			printf(",\"compacted_offset\":null");
		printf(",\"align64\":%s,\"xfd\":%s,\"linux_class\":",
		       r->align64 ? "true" : "false", r->xfd ? "true" : "false");
		/* Linux classes (special-states issue): null if the boot failed. */
		if (lv->k) {
			enum xk_xclass c = xk_xclass_of(lv->k, r->index);

			xs_json_string(stdout, xk_xclass_name(c));
			printf(",\"linux_seed000\":");
			if (xk_xclass_seed000(c))
				printf("%d", xk_xclass_seed000(c));
			else
				printf("null");
			printf(",\"linux_handling\":");
			xs_json_string(stdout, xk_xclass_handling(lv->k, r->index));
			printf(",\"linux_reason\":");
			xs_json_string(stdout, xk_xclass_reason(lv->k, r->index));
			printf("}");
		} else {
			printf("null,\"linux_seed000\":null,\"linux_handling\":null,"
			       "\"linux_reason\":null}");
		}
	}
	printf("],\"linux_kernel\":{\"policy\":");
	xs_json_string(stdout, lv->policy);
	printf(",\"error\":");
	if (lv->k)
		printf("null}");
	else
		xs_json_string(stdout, lv->err), printf("}");
	printf(",\"sizes\":{\"standard_max\":%u,\"compacted_max\":", m->leaf_d[0].ecx);
	if (m->has_xsavec)
		printf("%u}", compacted_max(m));
	else
		printf("null}");
	printf(",\"impl\":{");
	fields = xs_impl_fields(&nf);
	for (size_t i = 0; i < nf; i++) {
		printf("%s\"%s\":", i ? "," : "", fields[i].name);
		print_field_value(stdout, &fields[i], xs_field_get(&m->impl, &fields[i]), true);
	}
	printf("}}\n");
}

int cmd_info(int argc, char **argv)
{
	const char *cpu = NULL, *policy = NULL;
	bool json = false;
	struct xs_model *m;
	struct xk_policy pol;
	struct linux_view lv;
	char err[XK_ERR_MAX];
	int r;

	for (int i = 1; i < argc; i++) {
		if ((r = cli_opt_value(argc, argv, &i, "--cpu", &cpu)) != 0) {
			if (r < 0)
				return CLI_USAGE;
		} else if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if ((r = cli_opt_value(argc, argv, &i, "--policy", &policy)) != 0) {
			if (r < 0)
				return CLI_USAGE; /* special states: the policy the classes are for */
		} else {
			return cli_usage_error(argv[0], "unknown argument '%s'", argv[i]);
		}
	}
	m = malloc(sizeof(*m));
	if (!m) {
		fprintf(stderr, "xstate info: out of memory\n");
		return CLI_FAIL;
	}
	if (cli_load_model_as(argv[0], cpu, m) != 0) {
		free(m);
		return CLI_USAGE;
	}
	xk_policy_default(&pol);
	if (policy && xk_policy_parse(&pol, policy, err, sizeof(err))) {
		free(m);
		return cli_usage_error(argv[0], "--policy: %s", err);
	}
	memset(&lv, 0, sizeof(lv));
	linux_boot(m, &pol, &lv);
	if (json)
		print_json(m, &lv);
	else
		print_text(m, &lv);
	linux_free(&lv);
	free(m);
	return CLI_OK;
}
