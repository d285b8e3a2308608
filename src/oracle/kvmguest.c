/* The ring-0 oracle: what a KVM guest's virtual CPU exposes, and the model
 * of that virtual CPU.
 *
 * Opening the oracle reads KVM_GET_SUPPORTED_CPUID and the MSR lists, then
 * runs each instruction of interest once, alone, in a fresh small VM, and
 * records whether it ran, faulted (and with which vector) or could not be
 * executed at all. Nested hypervisors differ a lot here: on the project's
 * host (an AMD EPYC KVM guest whose KVM is the "pvm" flavour) the guest runs
 * deprivileged and KVM's instruction emulator has to execute XSETBV, XGETBV
 * and the XSAVE family itself; it implements XSETBV and gives up on the rest
 * with KVM_EXIT_INTERNAL_ERROR (docs/readme/52-ring0.md lists the findings).
 *
 * The guest model is the guest's CPUID in the data/cpus text format, parsed
 * by xs_model_parse, as src/arch/host.c does for the host.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oracle/kvm_codegen.h"
#include "oracle/kvmguest_internal.h"
#include "xstate/json.h"

#define PROBE_MEM (2u << 20)
#define PROBE_STD KV_DATA             /* zeroed standard-format image */
#define PROBE_CMP (KV_DATA + 0x4000)  /* zeroed compacted-format image */

const char *xo_kvm_outcome_name(enum xo_kvm_outcome o)
{
	switch (o) {
	case XO_KVM_EXECUTED:
		return "executed";
	case XO_KVM_FAULTED:
		return "faulted";
	case XO_KVM_UNEXECUTABLE:
		return "unexecutable";
	}
	return "?";
}

int xo_kvm_fault_of_vector(unsigned vector)
{
	switch (vector) {
	case 6:
		return XS_UD;
	case 7:
		return XS_NM;
	case 13:
		return XS_GP;
	case 14:
		return XS_PF;
	case 17:
		return XS_AC;
	default:
		return -1;
	}
}

/* Which KVM module is loaded: kvm_intel and kvm_amd use VMX/SVM; kvm_pvm
 * (PVM, "pagetable-based virtual machine") runs guests deprivileged. */
static void kvm_module(char *out, size_t len)
{
	static const char *const mods[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
	char path[64];
	struct stat st;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (stat(path, &st) == 0) {
			snprintf(out, len, "%s", mods[i]);
			return;
		}
	}
}

enum kv_status xo_kvm_new_vm(const struct xo_kvm *k, size_t mem, struct kv_vm **vm, char *err,
			     size_t errlen)
{
	(void)k; /* every guest gets KVM's CPUID as KVM_GET_SUPPORTED_CPUID reports it */
	return kv_open(vm, mem, err, errlen);
}

/* ---- probes ----------------------------------------------------------- */

enum probe_kind {
	PR_XGETBV, PR_XSETBV, PR_XOP, PR_RDMSR, PR_WRMSR, PR_FXSAVE, PR_MOVDQU, PR_VZEROUPPER,
	PR_LDMXCSR, PR_FNINIT, PR_CPUID, PR_CR4, PR_CLTS,
};

struct probe_def {
	const char *what;
	enum probe_kind kind;
	uint64_t a, b;
};

/* The probes, in report order. The op kinds they stand for are in
 * runnable_from_probes. */
static const struct probe_def probes[] = {
	{ "fxsave", PR_FXSAVE, 0, 0 },
	{ "movdqu xmm0 (SSE)", PR_MOVDQU, 0, 0 },
	{ "vzeroupper (AVX)", PR_VZEROUPPER, 0, 0 },
	{ "ldmxcsr", PR_LDMXCSR, 0, 0 },
	{ "fninit", PR_FNINIT, 0, 0 },
	{ "cpuid 0xd.0", PR_CPUID, 0, 0 },
	{ "mov cr4 (osxsave)", PR_CR4, 0, 0 },
	{ "clts", PR_CLTS, 0, 0 },
	{ "xsetbv 0 (supported)", PR_XSETBV, 0, 0 },
	{ "xsetbv 0 0x0 (#GP)", PR_XSETBV, 0, 1 },
	{ "xgetbv 0", PR_XGETBV, 0, 0 },
	{ "xgetbv 1", PR_XGETBV, 1, 0 },
	{ "xsave", PR_XOP, KC_XSAVE, 0 },
	{ "xsaveopt", PR_XOP, KC_XSAVEOPT, 0 },
	{ "xsavec", PR_XOP, KC_XSAVEC, 0 },
	{ "xsaves", PR_XOP, KC_XSAVES, 0 },
	{ "xrstor", PR_XOP, KC_XRSTOR, 0 },
	{ "xrstors", PR_XOP, KC_XRSTORS, 0 },
	{ "rdmsr IA32_XSS", PR_RDMSR, XS_MSR_XSS, 0 },
	{ "wrmsr IA32_XSS 0", PR_WRMSR, XS_MSR_XSS, 0 },
	{ "rdmsr IA32_XFD", PR_RDMSR, XS_MSR_XFD, 0 },
	{ "wrmsr IA32_XFD 0", PR_WRMSR, XS_MSR_XFD, 0 },
	{ "rdmsr IA32_XFD_ERR", PR_RDMSR, XS_MSR_XFD_ERR, 0 },
	{ "rdmsr IA32_U_CET", PR_RDMSR, XS_MSR_U_CET, 0 },
	{ "rdmsr IA32_S_CET", PR_RDMSR, XS_MSR_S_CET, 0 },
	{ "rdmsr IA32_PL0_SSP", PR_RDMSR, XS_MSR_PL0_SSP, 0 },
	{ "rdmsr IA32_PL3_SSP", PR_RDMSR, XS_MSR_PL3_SSP, 0 },
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static void emit_probe(struct kc_buf *b, const struct probe_def *d, uint64_t xcr0_supported)
{
	kc_mov_imm(b, KC_R15, 1);
	kc_mov_imm(b, KC_RDI, d->kind == PR_XOP && (d->a == KC_XRSTORS) ? PROBE_CMP : PROBE_STD);
	kc_mov_imm(b, KC_RSI, PROBE_STD);
	kc_mov_imm(b, KC_RAX, UINT32_MAX);
	kc_mov_imm(b, KC_RDX, UINT32_MAX);
	switch (d->kind) {
	case PR_XGETBV:
		kc_mov_imm(b, KC_RCX, d->a);
		kc_xgetbv(b);
		break;
	case PR_XSETBV:
		kc_mov_imm(b, KC_RCX, 0);
		kc_mov_imm(b, KC_RAX, d->b ? 0 : (uint32_t)xcr0_supported);
		kc_mov_imm(b, KC_RDX, d->b ? 0 : (uint32_t)(xcr0_supported >> 32));
		kc_xsetbv(b);
		break;
	case PR_XOP:
		kc_xop(b, (enum kc_xop)d->a, KC_RDI);
		break;
	case PR_RDMSR:
		kc_mov_imm(b, KC_RCX, d->a);
		kc_rdmsr(b);
		break;
	case PR_WRMSR:
		kc_mov_imm(b, KC_RCX, d->a);
		kc_mov_imm(b, KC_RAX, (uint32_t)d->b);
		kc_mov_imm(b, KC_RDX, (uint32_t)(d->b >> 32));
		kc_wrmsr(b);
		break;
	case PR_FXSAVE:
		kc_fxsave64(b, KC_RDI);
		break;
	case PR_MOVDQU:
		kc_movdqu(b, false, 0, KC_RSI);
		break;
	case PR_VZEROUPPER:
		kc_vzeroupper(b);
		break;
	case PR_LDMXCSR:
		kc_mov_imm(b, KC_RSI, PROBE_STD + 24); /* the image's MXCSR: 0x1F80 */
		kc_mxcsr(b, false, KC_RSI);
		break;
	case PR_FNINIT:
		kc_fninit(b);
		break;
	case PR_CPUID:
		kc_mov_imm(b, KC_RAX, 0xD);
		kc_mov_imm(b, KC_RCX, 0);
		kc_cpuid(b);
		break;
	case PR_CR4:
		kc_mov_from_cr(b, 4, KC_RAX);
		kc_bit(b, KC_RAX, 18, false);
		kc_mov_to_cr(b, 4, KC_RAX);
		kc_bit(b, KC_RAX, 18, true);
		kc_mov_to_cr(b, 4, KC_RAX);
		break;
	case PR_CLTS:
		kc_clts(b);
		break;
	}
	kc_out_eax(b, KV_PORT_DONE);
	kc_out_eax(b, KV_PORT_END);
	kc_hlt(b);
}

static int run_probe(const struct xo_kvm *k, const struct probe_def *d, struct xo_kvm_probe *p,
		     uint8_t fxsave_area[512], char *err, size_t errlen)
{
	struct kv_vm *vm;
	struct kv_exit e;
	struct kc_buf b;
	uint8_t *mem;
	uint64_t cmp_hdr = 1ULL << 63;
	uint32_t mxcsr = XS_MXCSR_DEFAULT;

	memset(p, 0, sizeof(*p));
	snprintf(p->what, sizeof(p->what), "%s", d->what);
	if (xo_kvm_new_vm(k, PROBE_MEM, &vm, err, errlen) != KV_OPEN_OK)
		return -1;
	mem = kv_mem(vm);
	memcpy(mem + PROBE_STD + 24, &mxcsr, 4);
	memcpy(mem + PROBE_CMP + 24, &mxcsr, 4);
	memcpy(mem + PROBE_CMP + XS_HDR_OFFSET + 8, &cmp_hdr, 8); /* XCOMP_BV: compacted, empty */
	kc_init(&b, mem + KV_CODE, KV_CODE_END - KV_CODE);
	emit_probe(&b, d, k->x.table.xcr0_supported);
	if (kv_start(vm, KV_CODE, true, err, errlen) < 0) {
		kv_close(vm);
		return -1;
	}
	p->outcome = XO_KVM_UNEXECUTABLE;
	for (int i = 0; i < 4; i++) {
		if (kv_run(vm, &e, err, errlen) < 0)
			break;
		if (e.kind == KV_EXIT_OUT && e.port == KV_PORT_DONE) {
			p->outcome = XO_KVM_EXECUTED;
			if (d->kind == PR_XGETBV || d->kind == PR_RDMSR) {
				p->has_value = true;
				p->value = (e.gpr[KC_RDX] << 32) | (uint32_t)e.gpr[KC_RAX];
			} else if (d->kind == PR_CPUID) {
				p->has_value = true;
				p->value = (uint32_t)e.gpr[KC_RBX];
			}
			if (d->kind == PR_FXSAVE && fxsave_area)
				memcpy(fxsave_area, mem + PROBE_STD, 512);
			/* an emulated XSETBV: confirm XCR0 changed (KVM_GET_XCRS) */
			if (d->kind == PR_XSETBV && kv_get_xcr0(vm, &p->value) == 0)
				p->has_value = true;
			break;
		}
		if (e.kind == KV_EXIT_OUT && e.port == KV_PORT_TRAP) {
			p->outcome = XO_KVM_FAULTED;
			p->vector = e.data;
			break;
		}
		if (e.kind != KV_EXIT_OUT)
			break; /* internal error (emulation failure), shutdown... */
	}
	kv_close(vm);
	return 0;
}

/* Operation kinds the ring-0 runner can use, from the probes: an
 * instruction that merely faults is fine (the fault is compared), one the
 * hypervisor cannot execute is not. */
static uint64_t runnable_from_probes(const struct xo_kvm_exposure *x)
{
	static const struct {
		const char *probe;
		enum xs_op_kind op;
	} map[] = {
		{ "movdqu xmm0 (SSE)", XS_OP_READ },   { "movdqu xmm0 (SSE)", XS_OP_WRITE },
		{ "vzeroupper (AVX)", XS_OP_VZEROUPPER }, { "ldmxcsr", XS_OP_LDMXCSR },
		{ "fninit", XS_OP_FNINIT },             { "cpuid 0xd.0", XS_OP_CPUID },
		{ "mov cr4 (osxsave)", XS_OP_OSXSAVE }, { "clts", XS_OP_TS },
		{ "xsetbv 0 (supported)", XS_OP_XSETBV }, { "xgetbv 0", XS_OP_XGETBV },
		{ "xsave", XS_OP_XSAVE },               { "xsaveopt", XS_OP_XSAVEOPT },
		{ "xsavec", XS_OP_XSAVEC },             { "xsaves", XS_OP_XSAVES },
		{ "xrstor", XS_OP_XRSTOR },             { "xrstors", XS_OP_XRSTORS },
		{ "rdmsr IA32_XSS", XS_OP_RDMSR },      { "wrmsr IA32_XSS 0", XS_OP_WRMSR },
	};
	uint64_t ops = XS_BIT(XS_OP_FILL) | XS_BIT(XS_OP_SET) | XS_BIT(XS_OP_DUMP) |
		       XS_BIT(XS_OP_CPL);

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		for (size_t j = 0; j < x->nprobes; j++)
			if (!strcmp(x->probe[j].what, map[i].probe) &&
			    x->probe[j].outcome != XO_KVM_UNEXECUTABLE)
				ops |= XS_BIT(map[i].op);
	/* xgetbv 1 is the same instruction: both must run */
	for (size_t j = 0; j < x->nprobes; j++)
		if (!strcmp(x->probe[j].what, "xgetbv 1") &&
		    x->probe[j].outcome == XO_KVM_UNEXECUTABLE)
			ops &= ~XS_BIT(XS_OP_XGETBV);
	return ops;
}

/* ---- CPUID: KVM's table and what the guest reads --------------------------- */

/* The leaves the model reads (src/arch/host.c reads the same), plus the
 * identity leaves. */
static const uint32_t id_leaves[][2] = {
	{ 0, 0 }, { 1, 0 }, { 6, 0 }, { 7, 0 }, { 7, 1 }, { 0x80000000u, 0 },
	{ 0x80000002u, 0 }, { 0x80000003u, 0 }, { 0x80000004u, 0 }, { 0x80000008u, 0 },
};
#define NID (sizeof(id_leaves) / sizeof(id_leaves[0]))
#define NLEAVES (NID + 64)

struct leafset {
	uint32_t leaf[NLEAVES], sub[NLEAVES];
	struct xs_cpuid r[NLEAVES];
	bool ok[NLEAVES];
};

static void leafset_ids(struct leafset *s)
{
	for (size_t i = 0; i < NLEAVES; i++) {
		s->leaf[i] = i < NID ? id_leaves[i][0] : 0xD;
		s->sub[i] = i < NID ? id_leaves[i][1] : (uint32_t)(i - NID);
	}
}

static struct xs_cpuid leaf_of(const struct leafset *s, uint32_t leaf, uint32_t sub, bool *ok)
{
	struct xs_cpuid z = { 0, 0, 0, 0 };

	for (size_t i = 0; i < NLEAVES; i++)
		if (s->leaf[i] == leaf && s->sub[i] == sub) {
			if (ok)
				*ok = s->ok[i];
			return s->ok[i] ? s->r[i] : z;
		}
	if (ok)
		*ok = false;
	return z;
}

static void leafset_from_table(const struct kv_vm *vm, struct leafset *s)
{
	leafset_ids(s);
	for (size_t i = 0; i < NLEAVES; i++)
		s->ok[i] = kv_cpuid(vm, s->leaf[i], s->sub[i], &s->r[i]);
}

/* Execute CPUID for every leaf in the guest (at RESET: XCR0 = 1, so the
 * size in 0DH.0 EBX is that of x87 alone). */
static int leafset_from_guest(const struct xo_kvm *k, struct leafset *s, char *err,
			      size_t errlen)
{
	struct kv_vm *vm;
	struct kv_exit e;
	struct kc_buf b;

	leafset_ids(s);
	memset(s->ok, 0, sizeof(s->ok));
	if (xo_kvm_new_vm(k, PROBE_MEM, &vm, err, errlen) != KV_OPEN_OK)
		return -1;
	kc_init(&b, kv_mem(vm) + KV_CODE, KV_CODE_END - KV_CODE);
	for (size_t i = 0; i < NLEAVES; i++) {
		kc_mov_imm(&b, KC_R15, i);
		kc_mov_imm(&b, KC_RAX, s->leaf[i]);
		kc_mov_imm(&b, KC_RCX, s->sub[i]);
		kc_cpuid(&b);
		kc_out_eax(&b, KV_PORT_DONE);
	}
	kc_out_eax(&b, KV_PORT_END);
	kc_hlt(&b);
	if (kv_start(vm, KV_CODE, true, err, errlen) < 0) {
		kv_close(vm);
		return -1;
	}
	for (size_t n = 0; n <= NLEAVES; n++) {
		uint64_t i;

		if (kv_run(vm, &e, err, errlen) < 0 || e.kind != KV_EXIT_OUT || e.port != KV_PORT_DONE)
			break;
		i = e.gpr[KC_R15];
		if (i >= NLEAVES)
			break;
		s->r[i].eax = (uint32_t)e.gpr[KC_RAX];
		s->r[i].ebx = (uint32_t)e.gpr[KC_RBX];
		s->r[i].ecx = (uint32_t)e.gpr[KC_RCX];
		s->r[i].edx = (uint32_t)e.gpr[KC_RDX];
		s->ok[i] = true;
	}
	kv_close(vm);
	return 0;
}

static struct xo_kvm_cpuid_view view_of(const struct leafset *s)
{
	struct xo_kvm_cpuid_view v;
	struct xs_cpuid l1 = leaf_of(s, 1, 0, NULL), d0 = leaf_of(s, 0xD, 0, NULL),
			d1 = leaf_of(s, 0xD, 1, NULL);

	memset(&v, 0, sizeof(v));
	v.xsave = (l1.ecx >> 26) & 1;
	v.osxsave = (l1.ecx >> 27) & 1;
	v.avx = (l1.ecx >> 28) & 1;
	v.xcr0_supported = (uint64_t)d0.edx << 32 | d0.eax;
	v.xss_supported = (uint64_t)d1.edx << 32 | d1.ecx;
	v.d1_eax = d1.eax;
	return v;
}

/* Leaves in which the guest reads something other than KVM's table. Bits
 * that are dynamic by definition are ignored: 1:EBX[31:24] (APIC ID),
 * 1:ECX[27] (OSXSAVE mirrors CR4), 0DH.0/0DH.1 EBX (sizes for the current
 * XCR0/IA32_XSS). */
static void note_differences(struct xo_kvm_exposure *x, const struct leafset *t,
			     const struct leafset *g)
{
	size_t n = 0;

	x->cpuid_differs[0] = '\0';
	for (size_t i = 0; i < NLEAVES; i++) {
		struct xs_cpuid a = t->ok[i] ? t->r[i] : (struct xs_cpuid){ 0, 0, 0, 0 };
		struct xs_cpuid b = g->ok[i] ? g->r[i] : (struct xs_cpuid){ 0, 0, 0, 0 };

		if (t->leaf[i] == 1) {
			a.ebx &= 0x00FFFFFF;
			b.ebx &= 0x00FFFFFF;
			a.ecx &= ~(1u << 27);
			b.ecx &= ~(1u << 27);
		}
		if (t->leaf[i] == 0xD && t->sub[i] < 2)
			a.ebx = b.ebx = 0;
		if (!memcmp(&a, &b, sizeof(a)) || n + 16 >= sizeof(x->cpuid_differs))
			continue;
		n += (size_t)snprintf(x->cpuid_differs + n, sizeof(x->cpuid_differs) - n, "%s0x%x.%u",
				      n ? " " : "", t->leaf[i], t->sub[i]);
	}
}

static void read_identity(struct xo_kvm_exposure *x, const struct leafset *s)
{
	struct xs_cpuid r = leaf_of(s, 0, 0, NULL), e = leaf_of(s, 0x80000000u, 0, NULL);

	memcpy(x->vendor, &r.ebx, 4);
	memcpy(x->vendor + 4, &r.edx, 4);
	memcpy(x->vendor + 8, &r.ecx, 4);
	x->vendor[12] = '\0';
	for (char *c = x->vendor; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	x->signature = leaf_of(s, 1, 0, NULL).eax;
	x->brand[0] = '\0';
	if (e.eax >= 0x80000004u) {
		for (uint32_t i = 0; i < 3; i++) {
			r = leaf_of(s, 0x80000002u + i, 0, NULL);
			memcpy(x->brand + 16 * i, &r, 16);
		}
		x->brand[48] = '\0';
		for (char *c = x->brand; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				*c = '?';
		while (x->brand[0] == ' ')
			memmove(x->brand, x->brand + 1, strlen(x->brand));
		for (size_t n = strlen(x->brand); n && x->brand[n - 1] == ' ';)
			x->brand[--n] = '\0';
	}
}

static void put_leaf(FILE *f, const struct leafset *s, uint32_t leaf, uint32_t sub, bool always)
{
	bool ok;
	struct xs_cpuid r = leaf_of(s, leaf, sub, &ok);

	if (!ok && !always)
		return;
	if (!always && leaf == 0xD && sub >= 2 && !(r.eax | r.ebx | r.ecx | r.edx))
		return;
	fprintf(f, "0x%x.%u eax=%08x ebx=%08x ecx=%08x edx=%08x\n", leaf, sub, r.eax, r.ebx, r.ecx,
		r.edx);
}

/* The guest's CPUID in the data/cpus format, as src/arch/host.c writes the
 * host's: identity header, the MXCSR_MASK FXSAVE stored, leaves 1, 6, 7,
 * 80000008H and every non-zero sub-leaf of 0DH. */
static int guest_model_text(const struct xo_kvm_exposure *x, const struct leafset *s,
			    const char *source, char *out, size_t len)
{
	uint32_t maxleaf = leaf_of(s, 0, 0, NULL).eax, maxext = leaf_of(s, 0x80000000u, 0, NULL).eax;
	FILE *f = fmemopen(out, len, "w");

	if (!f)
		return -1;
	fprintf(f, "# name: KVM guest (%s): %s\n", x->module[0] ? x->module : "kvm",
		x->brand[0] ? x->brand : x->vendor);
	fprintf(f, "# vendor: %s\n# brand: %s\n", x->vendor, x->brand);
	fprintf(f, "# signature: 0x%08x (CPUID.1.EAX)\n", x->signature);
	fprintf(f, "# source_kind: %s\n", source);
	if (x->mxcsr_mask)
		fprintf(f, "# impl.mxcsr_mask: 0x%x (FXSAVE in the guest)\n", x->mxcsr_mask);
	put_leaf(f, s, 1, 0, true);
	if (maxleaf >= 6)
		put_leaf(f, s, 6, 0, false);
	if (maxleaf >= 7) {
		put_leaf(f, s, 7, 0, false);
		if (leaf_of(s, 7, 0, NULL).eax >= 1)
			put_leaf(f, s, 7, 1, false);
	}
	if (maxext >= 0x80000008u)
		put_leaf(f, s, 0x80000008u, 0, false);
	for (unsigned i = 0; i < 64; i++)
		put_leaf(f, s, 0xD, i, i < 2);
	if (ferror(f) || ftell(f) >= (long)len - 1) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* ---- exposure ----------------------------------------------------------- */

static void read_msr_lists(struct xo_kvm_exposure *x, const struct kv_vm *vm)
{
	const uint32_t *l;
	size_t n = kv_msr_list(vm, false, &l);

	x->nmsrs = n < XO_KVM_MAX_MSRS ? n : XO_KVM_MAX_MSRS;
	memcpy(x->msrs, l, x->nmsrs * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		x->msr_listed_xss |= l[i] == XS_MSR_XSS;
		x->msr_listed_xfd |= l[i] == XS_MSR_XFD;
		x->msr_listed_xfd_err |= l[i] == XS_MSR_XFD_ERR;
	}
	n = kv_msr_list(vm, true, &l);
	x->nfeature_msrs = n < XO_KVM_MAX_MSRS ? n : XO_KVM_MAX_MSRS;
	memcpy(x->feature_msrs, l, x->nfeature_msrs * sizeof(uint32_t));
}

static void use_guest_view(struct xo_kvm_exposure *x)
{
	x->xcr0_supported = x->guest.xcr0_supported;
	x->xss_supported = x->guest.xss_supported;
	x->xsaveopt = x->guest.d1_eax & 1;
	x->xsavec = (x->guest.d1_eax >> 1) & 1;
	x->xgetbv1 = (x->guest.d1_eax >> 2) & 1;
	x->xsaves = (x->guest.d1_eax >> 3) & 1;
	x->xfd = (x->guest.d1_eax >> 4) & 1;
}

static int run_probes(struct xo_kvm *k, char *err, size_t errlen)
{
	uint8_t fx[512];
	char perr[256];

	memset(fx, 0, sizeof(fx));
	for (size_t i = 0; i < NPROBES && i < XO_KVM_MAX_PROBES; i++) {
		if (run_probe(k, &probes[i], &k->x.probe[i], fx, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "probe '%s': %s", probes[i].what, perr);
			return -1;
		}
		k->x.nprobes++;
		if (probes[i].kind == PR_FXSAVE && k->x.probe[i].outcome == XO_KVM_EXECUTED) {
			memcpy(&k->x.mxcsr_mask, fx + 28, 4);
			if (!k->x.mxcsr_mask)
				k->x.mxcsr_mask = 0xFFBF; /* SDM Vol. 1 11.6.6 */
		}
	}
	k->x.runnable_ops = runnable_from_probes(&k->x);
	return 0;
}

/* What the guest reads with CPUID is what it is told, so the model is built
 * from that; KVM's table is reported next to it. A guest that cannot run
 * CPUID at all falls back to the table. */
static int build_model(struct xo_kvm *k, const struct leafset *table, char *err, size_t errlen)
{
	struct leafset *guest = calloc(1, sizeof(*guest));
	const char *source;
	char perr[256];
	int rc = -1;

	if (!guest) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (leafset_from_guest(k, guest, err, errlen) < 0)
		goto out;
	if (leaf_of(guest, 0xD, 0, NULL).eax & 1) {
		source = "CPUID executed in a KVM guest at CPL 0 (RESET state, XCR0 = 1)";
	} else {
		memcpy(guest, table, sizeof(*guest));
		source = "KVM_GET_SUPPORTED_CPUID (CPUID did not run in the guest)";
	}
	k->x.guest = view_of(guest);
	use_guest_view(&k->x);
	note_differences(&k->x, table, guest);
	read_identity(&k->x, guest);
	if (guest_model_text(&k->x, guest, source, k->x.model_text, sizeof(k->x.model_text)) < 0) {
		snprintf(err, errlen, "guest CPUID does not fit the model text buffer");
		goto out;
	}
	if (xs_model_parse(k->x.model_text, "kvm-guest", &k->model, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "the guest's CPUID does not make a valid model: %s", perr);
		goto out;
	}
	snprintf(k->model.name, sizeof(k->model.name), "kvm-guest");
	snprintf(k->model.source, sizeof(k->model.source), "KVM guest CPUID");
	rc = 0;
out:
	free(guest);
	return rc;
}

int xo_kvm_open(struct xo_kvm **out, char *err, size_t errlen)
{
	struct xo_kvm *k;
	struct leafset *table;
	struct kv_vm *vm;
	enum kv_status st;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	table = calloc(1, sizeof(*table));
	if (!k || !table) {
		free(k);
		free(table);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	kvm_module(k->x.module, sizeof(k->x.module));
	st = kv_open(&vm, PROBE_MEM, err, errlen);
	if (st != KV_OPEN_OK) {
		free(k);
		free(table);
		return st == KV_UNAVAILABLE ? 1 : -1;
	}
	read_msr_lists(&k->x, vm);
	leafset_from_table(vm, table);
	k->x.table = view_of(table);
	kv_close(vm);
	/* the probes first: FXSAVE's MXCSR_MASK goes into the model text */
	if (run_probes(k, err, errlen) < 0 || build_model(k, table, err, errlen) < 0) {
		free(k);
		free(table);
		return -1;
	}
	free(table);
	*out = k;
	return 0;
}

void xo_kvm_close(struct xo_kvm *k)
{
	free(k);
}

const struct xo_kvm_exposure *xo_kvm_exposure(const struct xo_kvm *k)
{
	return &k->x;
}

const struct xs_model *xo_kvm_model(const struct xo_kvm *k)
{
	return &k->model;
}

/* ---- reports ---------------------------------------------------------- */

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

static const char *vector_name(unsigned v)
{
	static const char *const n[32] = { [0] = "#DE", [1] = "#DB", [3] = "#BP", [6] = "#UD",
		[7] = "#NM", [8] = "#DF", [13] = "#GP", [14] = "#PF", [17] = "#AC", [18] = "#MC",
		[19] = "#XM", [21] = "#CP" };

	return v < 32 && n[v] ? n[v] : "vector";
}

static void print_view(FILE *f, const char *label, const struct xo_kvm_cpuid_view *v)
{
	char x[128], ss[128];

	fprintf(f, "  %-10s XSAVE %s, OSXSAVE %s, AVX %s; XCR0 0x%llx (%s); IA32_XSS 0x%llx (%s)\n"
		   "  %-10s 0DH.1:EAX 0x%x: xsaveopt %s, xsavec %s, xgetbv1 %s, xsaves %s, xfd %s\n",
		label, yes(v->xsave), yes(v->osxsave), yes(v->avx),
		(unsigned long long)v->xcr0_supported,
		v->xcr0_supported ? xs_mask_names(v->xcr0_supported, x, sizeof(x)) : "none",
		(unsigned long long)v->xss_supported,
		v->xss_supported ? xs_mask_names(v->xss_supported, ss, sizeof(ss)) : "none", "",
		v->d1_eax, yes(v->d1_eax & 1), yes(v->d1_eax & 2), yes(v->d1_eax & 4),
		yes(v->d1_eax & 8), yes(v->d1_eax & 16));
}

void xo_kvm_exposure_print(const struct xo_kvm_exposure *x, FILE *f)
{
	fprintf(f, "KVM guest virtual CPU (module %s): %s%s%s, signature 0x%08x\n",
		x->module[0] ? x->module : "unknown", x->vendor, x->brand[0] ? ", " : "", x->brand,
		x->signature);
	fprintf(f, "CPUID (KVM's table, then what the guest reads; the model uses the latter):\n");
	print_view(f, "table", &x->table);
	print_view(f, "guest", &x->guest);
	fprintf(f, "  %-10s %s\n", "differ in", x->cpuid_differs[0] ? x->cpuid_differs : "nothing");
	if (x->mxcsr_mask)
		fprintf(f, "  %-10s 0x%x (FXSAVE in the guest)\n", "MXCSR_MASK", x->mxcsr_mask);
	fprintf(f, "MSRs KVM saves: %zu; IA32_XSS %s, IA32_XFD %s, IA32_XFD_ERR %s listed; "
		   "feature MSRs:",
		x->nmsrs, yes(x->msr_listed_xss), yes(x->msr_listed_xfd),
		yes(x->msr_listed_xfd_err));
	for (size_t i = 0; i < x->nfeature_msrs; i++)
		fprintf(f, " 0x%x", x->feature_msrs[i]);
	fprintf(f, "%s\n", x->nfeature_msrs ? "" : " none");
	fprintf(f, "instructions at CPL 0 in the guest:\n");
	for (size_t i = 0; i < x->nprobes; i++) {
		const struct xo_kvm_probe *p = &x->probe[i];

		fprintf(f, "  %-22s %s", p->what, xo_kvm_outcome_name(p->outcome));
		if (p->outcome == XO_KVM_FAULTED)
			fprintf(f, " %s (%u)", vector_name(p->vector), p->vector);
		if (p->has_value)
			fprintf(f, " = 0x%llx", (unsigned long long)p->value);
		fprintf(f, "\n");
	}
}

static const char *jb(bool b)
{
	return b ? "true" : "false";
}

static void json_view(FILE *f, const struct xo_kvm_cpuid_view *v)
{
	fprintf(f, "{\"xsave\": %s, \"osxsave\": %s, \"avx\": %s, \"xcr0_supported\": \"0x%llx\", "
		   "\"xss_supported\": \"0x%llx\", \"d1_eax\": \"0x%x\"}",
		jb(v->xsave), jb(v->osxsave), jb(v->avx), (unsigned long long)v->xcr0_supported,
		(unsigned long long)v->xss_supported, v->d1_eax);
}

void xo_kvm_exposure_json(const struct xo_kvm_exposure *x, FILE *f)
{
	fprintf(f, "{\"module\": ");
	xs_json_string(f, x->module);
	fprintf(f, ", \"vendor\": ");
	xs_json_string(f, x->vendor);
	fprintf(f, ", \"brand\": ");
	xs_json_string(f, x->brand);
	fprintf(f, ", \"signature\": \"0x%08x\", \"table\": ", x->signature);
	json_view(f, &x->table);
	fprintf(f, ", \"guest\": ");
	json_view(f, &x->guest);
	fprintf(f, ", \"cpuid_differs\": ");
	xs_json_string(f, x->cpuid_differs);
	fprintf(f, ", \"mxcsr_mask\": \"0x%x\", \"msrs_listed\": %zu, \"msr_listed_xss\": %s, "
		   "\"msr_listed_xfd\": %s, \"msr_listed_xfd_err\": %s, \"probes\": [",
		x->mxcsr_mask, x->nmsrs, jb(x->msr_listed_xss), jb(x->msr_listed_xfd),
		jb(x->msr_listed_xfd_err));
	for (size_t i = 0; i < x->nprobes; i++) {
		const struct xo_kvm_probe *p = &x->probe[i];

		fprintf(f, "%s{\"what\": ", i ? ", " : "");
		xs_json_string(f, p->what);
		fprintf(f, ", \"outcome\": \"%s\"", xo_kvm_outcome_name(p->outcome));
		if (p->outcome == XO_KVM_FAULTED)
			fprintf(f, ", \"vector\": %u", p->vector);
		if (p->has_value)
			fprintf(f, ", \"value\": \"0x%llx\"", (unsigned long long)p->value);
		fprintf(f, "}");
	}
	fprintf(f, "]}");
}
