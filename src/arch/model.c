/* CPU models: the data/cpus text format, its validation, the feature bits and
 * implementation choices derived from it, the built-in copies, and writing a
 * model back out.
 *
 * File format (../shared/data/cpuid-xsave/README.md plus extensions):
 *   # key: value                          header (unknown keys are remarks)
 *   # impl.<field>: <value>               struct xs_impl field
 *   # feat.<field>: <value>               struct xs_features field, overrides
 *   0xd.<n> eax=X ebx=X ecx=X edx=X       CPUID.(0DH, n), n decimal 0..63
 *   0x1.0 / 0x6.0 / 0x7.0 / 0x7.1 / 0x80000008.0 ...   feature leaves
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "xstate/model.h"

/* build/gen/builtin_models.c, made by tools/gen-builtin.sh from data/cpus: the files as text. */
struct xs_builtin_text {
	const char *name;
	const char *text;
};
extern const struct xs_builtin_text xs_builtin_texts[];
extern const size_t xs_builtin_texts_count;

#define LINE_MAX_LEN 1024
#define FILE_MAX_LEN (1u << 20)
/* Bounds that keep every layout size inside 32 bits (63 components). */
#define COMP_SIZE_MAX (1u << 20)
#define STD_END_MAX (1u << 24)

/* ---- named fields ---------------------------------------------------- */

#define FEAT(f, w, d) { #f, w, offsetof(struct xs_features, f), d }
static const struct xs_field feat_fields[] = {
	FEAT(xsave, 1, "01H:ECX[26] XSAVE"),
	FEAT(avx, 1, "01H:ECX[28] AVX"),
	FEAT(fsgsbase, 1, "07H.0:EBX[0] FSGSBASE"),
	FEAT(fcs_fds_deprecated, 1, "07H.0:EBX[13] FCS/FDS saved as 0"),
	FEAT(mpx, 1, "07H.0:EBX[14] MPX"),
	FEAT(avx512f, 1, "07H.0:EBX[16] AVX512F"),
	FEAT(pt, 1, "07H.0:EBX[25] Processor Trace"),
	FEAT(pku, 1, "07H.0:ECX[3] PKU"),
	FEAT(shstk, 1, "07H.0:ECX[7] CET shadow stack"),
	FEAT(enqcmd, 1, "07H.0:ECX[29] ENQCMD (PASID)"),
	FEAT(uintr, 1, "07H.0:EDX[5] user interrupts"),
	FEAT(arch_lbr, 1, "07H.0:EDX[19] architectural LBR"),
	FEAT(ibt, 1, "07H.0:EDX[20] CET indirect branch tracking"),
	FEAT(amx_tile, 1, "07H.0:EDX[24] AMX-TILE"),
	FEAT(apx, 1, "07H.1:EDX[21] APX"),
	FEAT(hwp, 1, "06H:EAX[7] HWP"),
	FEAT(hdc, 1, "06H:EAX[13] HDC"),
	FEAT(xsaveerptr, 1, "80000008H:EBX[2] XSaveErPtr (AMD)"),
	FEAT(linear_bits, 8, "80000008H:EAX[15:8] linear-address width"),
};
#undef FEAT

#define IMPL(f, w, d) { #f, w, offsetof(struct xs_impl, f), d }
static const struct xs_field impl_fields[] = {
	IMPL(xinuse_tracking, 1, "XINUSE tracked (else all ones for enabled components)"),
	IMPL(xrstor_init_clears_xinuse, 1, "a restore that initializes i clears XINUSE[i]"),
	IMPL(xsaveopt_init_opt, 1, "XSAVEOPT skips components with XINUSE[i]=0"),
	IMPL(xsaveopt_modified_opt, 1, "XSAVEOPT skips unmodified components"),
	IMPL(xsavec_init_opt, 1, "XSAVEC skips components with XINUSE[i]=0"),
	IMPL(xsaves_init_opt, 1, "XSAVES skips components with XINUSE[i]=0"),
	IMPL(xsaves_modified_opt, 1, "XSAVES skips unmodified components"),
	IMPL(mxcsr_mask, 32, "MXCSR_MASK (saves store it; loads #GP outside it)"),
	IMPL(x87_errptr_only_if_es, 1, "FIP/FDP/FOP saved as 0 unless FSW.ES (AMD)"),
	IMPL(xrstor_load_checks_init, 1, "a restore loading i in its initial configuration leaves XINUSE[i]=0 (AMD)"),
	IMPL(x87_xinuse_by_value, 1, "XINUSE[0] = x87 not in its initial configuration, after every x87 write (AMD)"),
	IMPL(xsave_misalign_ac, 1, "misaligned XSAVE* operand with alignment checking at CPL 3: #AC, not #GP"),
};
#undef IMPL

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const struct xs_field *xs_impl_fields(size_t *count)
{
	*count = NELEM(impl_fields);
	return impl_fields;
}

const struct xs_field *xs_feat_fields(size_t *count)
{
	*count = NELEM(feat_fields);
	return feat_fields;
}

const struct xs_field *xs_field_find(const struct xs_field *f, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

uint64_t xs_field_get(const void *obj, const struct xs_field *f)
{
	const char *p = (const char *)obj + f->offset;

	switch (f->width) {
	case 1: return *(const bool *)p;
	case 8: return *(const uint8_t *)p;
	default: return *(const uint32_t *)p;
	}
}

int xs_field_set(void *obj, const struct xs_field *f, uint64_t v)
{
	char *p = (char *)obj + f->offset;

	switch (f->width) {
	case 1:
		if (v > 1)
			return -1;
		*(bool *)p = v != 0;
		return 0;
	case 8:
		if (v > UINT8_MAX)
			return -1;
		*(uint8_t *)p = (uint8_t)v;
		return 0;
	default:
		if (v > UINT32_MAX)
			return -1;
		*(uint32_t *)p = (uint32_t)v;
		return 0;
	}
}

/* ---- feature leaves -------------------------------------------------- */

static const struct {
	uint32_t leaf, subleaf;
} leaf_ids[XS_NLEAVES] = {
	[XS_LEAF_1] = { 0x1, 0 },
	[XS_LEAF_6] = { 0x6, 0 },
	[XS_LEAF_7_0] = { 0x7, 0 },
	[XS_LEAF_7_1] = { 0x7, 1 },
	[XS_LEAF_80000008] = { 0x80000008u, 0 },
};

void xs_leaf_id(enum xs_leaf l, uint32_t *leaf, uint32_t *subleaf)
{
	*leaf = leaf_ids[l].leaf;
	*subleaf = leaf_ids[l].subleaf;
}

static int leaf_index(uint32_t leaf, uint32_t subleaf)
{
	for (int i = 0; i < XS_NLEAVES; i++)
		if (leaf_ids[i].leaf == leaf && leaf_ids[i].subleaf == subleaf)
			return i;
	return -1;
}

/* ---- XCR0 / IA32_XSS legality ---------------------------------------- */

static _Thread_local char reason_buf[160];

static const char *reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *reason(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason_buf, sizeof(reason_buf), fmt, ap);
	va_end(ap);
	return reason_buf;
}

/* SDM Vol. 2 XSETBV #GP(0) conditions for ECX=0, Vol. 1 13.3. */
const char *xs_xcr0_invalid_reason(const struct xs_model *m, uint64_t xcr0)
{
	uint64_t bad = xcr0 & ~m->xcr0_supported;
	uint64_t avx512 = xcr0 & XS_MASK_AVX512;
	uint64_t mpx = xcr0 & XS_MASK_MPX;
	uint64_t amx = xcr0 & XS_MASK_AMX;

	if (!(xcr0 & XS_BIT(XS_C_X87)))
		return "XCR0 bit 0 (x87) must be 1";
	if (bad) {
		unsigned i = (unsigned)__builtin_ctzll(bad);

		if (m->xss_supported & XS_BIT(i))
			return reason("XCR0 bit %u (%s) is a supervisor component (IA32_XSS only)",
				      i, xs_comp_name(i));
		return reason("XCR0 bit %u (%s) is not supported by this CPU (CPUID.(0DH,0).EDX:EAX=0x%llx)",
			      i, xs_comp_name(i), (unsigned long long)m->xcr0_supported);
	}
	if ((xcr0 & XS_BIT(XS_C_AVX)) && !(xcr0 & XS_BIT(XS_C_SSE)))
		return "XCR0 bit 2 (AVX) requires bit 1 (SSE)";
	if (avx512 && avx512 != XS_MASK_AVX512)
		return "XCR0 bits 7:5 (AVX-512) must be all 1 or all 0";
	if (avx512 && (xcr0 & 6) != 6)
		return "XCR0 bits 7:5 (AVX-512) require bits 2:1 (AVX, SSE)";
	if (mpx && mpx != XS_MASK_MPX)
		return "XCR0 bits 4:3 (MPX BNDREGS, BNDCSR) must be both 1 or both 0";
	if (amx && amx != XS_MASK_AMX)
		return "XCR0 bits 18:17 (AMX XTILEDATA, XTILECFG) must be both 1 or both 0";
	return NULL;
}

/* SDM 13.3: WRMSR to IA32_XSS #GP if a bit outside CPUID.(0DH,1).EDX:ECX is set. */
const char *xs_xss_invalid_reason(const struct xs_model *m, uint64_t xss)
{
	uint64_t bad = xss & ~m->xss_supported;

	if (bad) {
		unsigned i = (unsigned)__builtin_ctzll(bad);

		if (m->xcr0_supported & XS_BIT(i))
			return reason("IA32_XSS bit %u (%s) is a user component (XCR0 only)", i,
				      xs_comp_name(i));
		return reason("IA32_XSS bit %u (%s) is not supported by this CPU (CPUID.(0DH,1).EDX:ECX=0x%llx)",
			      i, xs_comp_name(i), (unsigned long long)m->xss_supported);
	}
	return NULL;
}

/* ---- parser ---------------------------------------------------------- */

struct parse {
	const char *file;
	char *err;
	size_t errlen;
	unsigned last_line;
	unsigned line_d[64];        /* 0 = not listed */
	int last_d;
	unsigned line_leaf[XS_NLEAVES];
	unsigned line_name, line_vendor, line_brand, line_signature;
	unsigned line_xcr0, line_xss, line_lxf, line_lsize;
	unsigned line_feat[NELEM(feat_fields)];
	uint64_t feat_val[NELEM(feat_fields)];
	unsigned line_impl[NELEM(impl_fields)];
	uint64_t impl_val[NELEM(impl_fields)];
};

static int fail(struct parse *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->errlen)
		return -1;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->file, line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
		/* Reasons quote the file's text: keep control characters
		 * out of the terminal. */
		for (char *q = p->err + n; *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = '?';
	}
	return -1;
}

/* A number made of hex digits (an optional 0x prefix), the whole token. */
static int parse_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		i = 2;
	if (i == n || n - i > 16)
		return -1;
	for (; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!isxdigit(c))
			return -1;
		v = v << 4 | (uint64_t)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
	}
	*out = v;
	return 0;
}

static int parse_dec(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Decimal, or hex with 0x. */
static int parse_num(const char *s, size_t n, uint64_t *out)
{
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_hex(s, n, out);
	return parse_dec(s, n, out);
}

static size_t token_len(const char *s)
{
	size_t n = 0;

	while (s[n] && !isspace((unsigned char)s[n]))
		n++;
	return n;
}

static int header_once(struct parse *p, unsigned *slot, unsigned line, const char *key)
{
	if (*slot)
		return fail(p, line, "duplicate header '%s' (first on line %u)", key, *slot);
	*slot = line;
	return 0;
}

static int copy_text(struct parse *p, unsigned line, char *dst, size_t len, const char *val,
		     const char *key)
{
	if (strlen(val) >= len)
		return fail(p, line, "header '%s' is longer than %zu characters", key, len - 1);
	strcpy(dst, val);
	return 0;
}

/* The first token of a header value as a number (hex for masks). */
static int header_number(struct parse *p, unsigned line, const char *key, const char *val,
			 bool hex, uint64_t *out)
{
	size_t n = token_len(val);
	int r = hex ? parse_hex(val, n, out) : parse_num(val, n, out);

	if (r != 0)
		return fail(p, line, "header '%s': '%.*s' is not a %s number", key, (int)n, val,
			    hex ? "hex" : "decimal or 0x");
	return 0;
}

static int field_header(struct parse *p, unsigned line, const char *key, const char *val,
			const struct xs_field *fields, size_t count, unsigned *lines,
			uint64_t *vals, const char *what)
{
	const struct xs_field *f = xs_field_find(fields, count, key);
	size_t n = token_len(val), idx;
	uint64_t v;

	if (!f)
		return fail(p, line, "unknown %s field '%s'", what, key);
	idx = (size_t)(f - fields);
	if (lines[idx])
		return fail(p, line, "duplicate header '%s' (first on line %u)", key, lines[idx]);
	if ((n == 4 && !strncasecmp(val, "true", 4)) || (n == 3 && !strncasecmp(val, "yes", 3)))
		v = 1;
	else if ((n == 5 && !strncasecmp(val, "false", 5)) || (n == 2 && !strncasecmp(val, "no", 2)))
		v = 0;
	else if (parse_num(val, n, &v) != 0)
		return fail(p, line, "%s field '%s': '%.*s' is not a number", what, key, (int)n, val);
	if (f->width == 1 && v > 1)
		return fail(p, line, "%s field '%s' is a flag: 0 or 1, not '%.*s'", what, key, (int)n,
			    val);
	if ((f->width == 8 && v > UINT8_MAX) || (f->width == 32 && v > UINT32_MAX))
		return fail(p, line, "%s field '%s': %.*s does not fit in %u bits", what, key,
			    (int)n, val, f->width);
	lines[idx] = line;
	vals[idx] = v;
	return 0;
}

static int parse_header(struct parse *p, struct xs_model *m, unsigned line, const char *key,
			const char *val)
{
	uint64_t v;

	if (!strcmp(key, "name")) {
		if (header_once(p, &p->line_name, line, key))
			return -1;
		return copy_text(p, line, m->title, sizeof(m->title), val, key);
	}
	if (!strcmp(key, "vendor")) {
		if (header_once(p, &p->line_vendor, line, key))
			return -1;
		return copy_text(p, line, m->vendor, sizeof(m->vendor), val, key);
	}
	if (!strcmp(key, "brand")) {
		if (header_once(p, &p->line_brand, line, key))
			return -1;
		return copy_text(p, line, m->brand, sizeof(m->brand), val, key);
	}
	if (!strcmp(key, "signature")) {
		if (header_once(p, &p->line_signature, line, key) ||
		    header_number(p, line, key, val, true, &v))
			return -1;
		if (v > UINT32_MAX)
			return fail(p, line, "signature 0x%llx does not fit in 32 bits",
				    (unsigned long long)v);
		m->signature = (uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "xcr0")) {
		if (header_once(p, &p->line_xcr0, line, key))
			return -1;
		return header_number(p, line, key, val, true, &m->dump_xcr0);
	}
	if (!strcmp(key, "ia32_xss")) {
		if (header_once(p, &p->line_xss, line, key))
			return -1;
		return header_number(p, line, key, val, true, &m->dump_xss);
	}
	if (!strcmp(key, "linux_xfeatures")) {
		if (header_once(p, &p->line_lxf, line, key))
			return -1;
		return header_number(p, line, key, val, true, &m->linux_xfeatures);
	}
	if (!strcmp(key, "linux_context_size")) {
		if (header_once(p, &p->line_lsize, line, key) ||
		    header_number(p, line, key, val, false, &v))
			return -1;
		if (v > UINT32_MAX)
			return fail(p, line, "linux_context_size %llu is too large",
				    (unsigned long long)v);
		m->linux_context_size = (uint32_t)v;
		return 0;
	}
	if (!strncmp(key, "impl.", 5))
		return field_header(p, line, key + 5, val, impl_fields, NELEM(impl_fields),
				    p->line_impl, p->impl_val, "impl");
	if (!strncmp(key, "feat.", 5))
		return field_header(p, line, key + 5, val, feat_fields, NELEM(feat_fields),
				    p->line_feat, p->feat_val, "feat");
	return 0; /* a remark: source, family, quirk, ... */
}

/* "# key: value": key is [A-Za-z0-9_.-]+ right after "# ". Anything else
 * after '#' is a comment. */
static int parse_comment(struct parse *p, struct xs_model *m, unsigned line, char *s)
{
	char *key, *val;

	s++;
	while (*s == ' ' || *s == '\t')
		s++;
	key = s;
	while (isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-')
		s++;
	if (s == key || *s != ':')
		return 0;
	*s++ = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	val = s;
	return parse_header(p, m, line, key, val);
}

static int parse_reg(struct parse *p, unsigned line, const char **s, const char *name,
		     uint32_t *out)
{
	const char *q = *s;
	size_t n;
	uint64_t v;

	while (*q == ' ' || *q == '\t')
		q++;
	if (strncmp(q, name, 3) != 0 || q[3] != '=')
		return fail(p, line, "expected '%s=' at '%.20s'", name, q);
	q += 4;
	n = token_len(q);
	if (n == 0 || n > 10 || parse_hex(q, n, &v) != 0 || v > UINT32_MAX)
		return fail(p, line, "%s: '%.*s' is not a 32-bit hex number", name, (int)(n ? n : 1),
			    n ? q : "?");
	*out = (uint32_t)v;
	*s = q + n;
	return 0;
}

static int parse_leaf_line(struct parse *p, struct xs_model *m, unsigned line, const char *s)
{
	const char *dot = strchr(s, '.');
	const char *q;
	uint64_t leaf, sub;
	struct xs_cpuid r;
	size_t n;

	if (!dot || parse_hex(s, (size_t)(dot - s), &leaf) != 0 || s[0] != '0' ||
	    (s[1] != 'x' && s[1] != 'X'))
		return fail(p, line, "unparsable line: expected '# ...' or '0x<leaf>.<subleaf> eax=...'");
	q = dot + 1;
	n = 0;
	while (isdigit((unsigned char)q[n]))
		n++;
	if (n == 0 || (q[n] != ' ' && q[n] != '\t') || parse_dec(q, n, &sub) != 0)
		return fail(p, line, "unparsable sub-leaf '%.*s' (decimal expected)",
			    (int)token_len(q), q);
	q += n;
	if (parse_reg(p, line, &q, "eax", &r.eax) || parse_reg(p, line, &q, "ebx", &r.ebx) ||
	    parse_reg(p, line, &q, "ecx", &r.ecx) || parse_reg(p, line, &q, "edx", &r.edx))
		return -1;
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q)
		return fail(p, line, "unexpected text after edx: '%.20s'", q);

	if (leaf == 0xd) {
		if (sub > 63)
			return fail(p, line, "sub-leaf 0xd.%llu out of range (0..63)",
				    (unsigned long long)sub);
		if (p->line_d[sub])
			return fail(p, line, "duplicate sub-leaf 0xd.%llu (first on line %u)",
				    (unsigned long long)sub, p->line_d[sub]);
		if ((int)sub < p->last_d)
			return fail(p, line, "sub-leaf 0xd.%llu after 0xd.%d: sub-leaves must ascend",
				    (unsigned long long)sub, p->last_d);
		p->line_d[sub] = line;
		p->last_d = (int)sub;
		m->leaf_d[sub] = r;
		return 0;
	}
	{
		int idx = leaf > UINT32_MAX || sub > UINT32_MAX
				  ? -1
				  : leaf_index((uint32_t)leaf, (uint32_t)sub);

		if (idx < 0)
			return fail(p, line,
				    "CPUID leaf 0x%llx.%llu is not read by the model (0xd.N, 0x1.0, "
				    "0x6.0, 0x7.0, 0x7.1, 0x80000008.0 are)",
				    (unsigned long long)leaf, (unsigned long long)sub);
		if (p->line_leaf[idx])
			return fail(p, line, "duplicate leaf 0x%llx.%llu (first on line %u)",
				    (unsigned long long)leaf, (unsigned long long)sub,
				    p->line_leaf[idx]);
		p->line_leaf[idx] = line;
		m->leaf[idx] = r;
		m->leaf_present |= 1u << idx;
	}
	return 0;
}

static int parse_lines(struct parse *p, struct xs_model *m, const char *text)
{
	unsigned line = 0;
	char buf[LINE_MAX_LEN + 2];

	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		char *s;
		int r;

		line++;
		if (n > LINE_MAX_LEN)
			return fail(p, line, "line longer than %u characters", LINE_MAX_LEN);
		memcpy(buf, text, n);
		buf[n] = '\0';
		text += n + (nl ? 1 : 0);
		while (n && isspace((unsigned char)buf[n - 1]))
			buf[--n] = '\0';
		s = buf;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			continue;
		r = *s == '#' ? parse_comment(p, m, line, s) : parse_leaf_line(p, m, line, s);
		if (r)
			return r;
	}
	p->last_line = line;
	return 0;
}

/* ---- validation ------------------------------------------------------ */

static uint64_t mask_of(uint32_t lo, uint32_t hi)
{
	return (uint64_t)hi << 32 | lo;
}

/* Fill the derived enumeration fields from leaf_d. */
static void decode_leaf_d(struct xs_model *m)
{
	uint32_t a1 = m->leaf_d[1].eax;

	m->xcr0_supported = mask_of(m->leaf_d[0].eax, m->leaf_d[0].edx);
	m->xss_supported = mask_of(m->leaf_d[1].ecx, m->leaf_d[1].edx);
	m->has_xsaveopt = a1 & 1;
	m->has_xsavec = a1 & 2;
	m->has_xgetbv1 = a1 & 4;
	m->has_xsaves = a1 & 8;
	m->has_xfd = a1 & 16;
	memset(m->comp, 0, sizeof(m->comp));
	for (unsigned i = 2; i < 64; i++) {
		const struct xs_cpuid *r = &m->leaf_d[i];
		uint64_t bit = XS_BIT(i);

		if (!((m->xcr0_supported | m->xss_supported) & bit))
			continue;
		m->comp[i].size = r->eax;
		m->comp[i].offset = r->ebx;
		m->comp[i].supervisor = r->ecx & 1;
		m->comp[i].align64 = r->ecx & 2;
		m->comp[i].xfd = r->ecx & 4;
	}
}

static bool cpuid_zero(const struct xs_cpuid *r)
{
	return !(r->eax | r->ebx | r->ecx | r->edx);
}

static int check_masks(struct parse *p, const struct xs_model *m)
{
	unsigned l0 = p->line_d[0], l1 = p->line_d[1];
	uint32_t a1 = m->leaf_d[1].eax;
	uint64_t both = m->xcr0_supported & m->xss_supported;

	if ((m->xcr0_supported & XS_MASK_FPSSE) != XS_MASK_FPSSE)
		return fail(p, l0, "0.EAX=0x%08x: bits 0 and 1 (x87, SSE) must be set",
			    m->leaf_d[0].eax);
	if (m->xcr0_supported & XS_BIT(63))
		return fail(p, l0, "0.EDX bit 31: bit 63 is never a state component");
	if (m->xss_supported & XS_BIT(63))
		return fail(p, l1, "1.EDX bit 31: bit 63 is never a state component");
	if (a1 & ~0x1fu)
		return fail(p, l1, "1.EAX=0x%08x: reserved bits 31:5 set", a1);
	if ((a1 & 8) && !(a1 & 2))
		return fail(p, l1, "1.EAX=0x%08x: XSAVES (bit 3) without XSAVEC (bit 1)", a1);
	if (both) {
		unsigned i = (unsigned)__builtin_ctzll(both);
		return fail(p, l1, "component %u (%s) is in both 0.EDX:EAX and 1.EDX:ECX", i,
			    xs_comp_name(i));
	}
	if (m->xss_supported && !(a1 & 8))
		return fail(p, l1, "1.EDX:ECX=0x%llx enumerates IA32_XSS components without XSAVES (1.EAX[3])",
			    (unsigned long long)m->xss_supported);
	if ((m->xcr0_supported & XS_MASK_MPX) && (m->xcr0_supported & XS_BIT(XS_C_APX)))
		return fail(p, l0, "MPX (bits 4:3) and APX (bit 19) both supported: APX reuses the MPX area");
	return 0;
}

static int check_subleaf(struct parse *p, const struct xs_model *m, unsigned i)
{
	const struct xs_cpuid *r = &m->leaf_d[i];
	const struct xs_comp_info *info = xs_comp_info(i);
	bool user = m->xcr0_supported & XS_BIT(i);
	bool sv = m->xss_supported & XS_BIT(i);
	unsigned line = p->line_d[i];
	const char *name = xs_comp_name(i);

	if (!user && !sv) {
		if (line && !cpuid_zero(r))
			return fail(p, line,
				    "sub-leaf %u describes component %u (%s), which neither 0.EDX:EAX nor 1.EDX:ECX supports",
				    i, i, name);
		return 0;
	}
	if (!line || cpuid_zero(r))
		return fail(p, line ? line : (user ? p->line_d[0] : p->line_d[1]),
			    "component %u (%s) is supported in %s but sub-leaf %u is %s", i, name,
			    user ? "0.EDX:EAX" : "1.EDX:ECX", i, line ? "all zero" : "missing");
	if ((r->ecx & ~7u) || r->edx)
		return fail(p, line, "sub-leaf %u: ECX[31:3]=0x%x and EDX=0x%x must be 0", i,
			    r->ecx >> 3, r->edx);
	if ((r->ecx & 1) != sv)
		return fail(p, line, "sub-leaf %u: ECX[0]=%u but component %u (%s) is in %s", i,
			    r->ecx & 1, i, name, sv ? "1.EDX:ECX (supervisor)" : "0.EDX:EAX (user)");
	if (info && info->supervisor != sv)
		return fail(p, line, "component %u (%s) is architecturally %s state but enumerated as %s",
			    i, name, info->supervisor ? "supervisor" : "user",
			    sv ? "supervisor" : "user");
	if (r->eax == 0)
		return fail(p, line, "sub-leaf %u: component %u (%s) has size 0", i, i, name);
	if (r->eax > COMP_SIZE_MAX)
		return fail(p, line, "sub-leaf %u: size %u is larger than %u", i, r->eax,
			    COMP_SIZE_MAX);
	if (info && r->eax < info->arch_size)
		return fail(p, line, "sub-leaf %u: size %u is smaller than the %u bytes of %s", i,
			    r->eax, info->arch_size, name);
	if (sv && r->ebx != 0)
		return fail(p, line,
			    "sub-leaf %u: supervisor component %u (%s) has standard offset 0x%x (must be 0)",
			    i, i, name, r->ebx);
	if (user && r->ebx < XS_EXT_OFFSET)
		return fail(p, line, "sub-leaf %u: user component %u (%s) at offset %u, below %u", i,
			    i, name, r->ebx, XS_EXT_OFFSET);
	if (user && (uint64_t)r->ebx + r->eax > STD_END_MAX)
		return fail(p, line, "sub-leaf %u: component %u (%s) ends beyond %u bytes", i, i,
			    name, STD_END_MAX);
	return 0;
}

static int check_overlap(struct parse *p, const struct xs_model *m)
{
	uint64_t user = m->xcr0_supported & ~XS_MASK_FPSSE;

	for (unsigned j = 2; j < 63; j++) {
		if (!(user & XS_BIT(j)))
			continue;
		for (unsigned i = 2; i < j; i++) {
			uint32_t a0 = m->comp[i].offset, a1 = a0 + m->comp[i].size;
			uint32_t b0 = m->comp[j].offset, b1 = b0 + m->comp[j].size;

			if (!(user & XS_BIT(i)) || a1 <= b0 || b1 <= a0)
				continue;
			return fail(p, p->line_d[j],
				    "component %u (%s) at [0x%x,0x%x) overlaps component %u (%s) at [0x%x,0x%x) in the standard format",
				    j, xs_comp_name(j), b0, b1, i, xs_comp_name(i), a0, a1);
		}
	}
	return 0;
}

/* Without "# xcr0:", 0.EBX must still be a size some XCR0 can produce. */
static int check_sizes_plausible(struct parse *p, const struct xs_model *m)
{
	uint32_t ebx0 = m->leaf_d[0].ebx, ebx1 = m->leaf_d[1].ebx;
	bool ok = ebx0 == XS_EXT_OFFSET;
	uint32_t cmax;

	for (unsigned i = 2; i < 63 && !ok; i++)
		if ((m->xcr0_supported & XS_BIT(i)) &&
		    ebx0 == m->comp[i].offset + m->comp[i].size)
			ok = true;
	if (!ok)
		return fail(p, p->line_d[0],
			    "0.EBX=%u is not the end of any supported user component (nor 576)", ebx0);
	if (!m->has_xsavec)
		return 0;
	cmax = xs_size_compacted(m, m->xcr0_supported | (m->has_xsaves ? m->xss_supported : 0));
	if (ebx1 < XS_EXT_OFFSET || ebx1 > cmax)
		return fail(p, p->line_d[1], "1.EBX=%u is outside [576, %u], the compacted sizes possible",
			    ebx1, cmax);
	return 0;
}

static int check_dump_masks(struct parse *p, const struct xs_model *m)
{
	const char *why;
	uint32_t want;

	if (p->line_xss && !p->line_xcr0)
		return fail(p, p->line_xss, "header 'ia32_xss' without header 'xcr0'");
	if (!p->line_xcr0)
		return check_sizes_plausible(p, m);
	why = xs_xcr0_invalid_reason(m, m->dump_xcr0);
	if (why)
		return fail(p, p->line_xcr0, "xcr0 0x%llx is not a legal XCR0: %s",
			    (unsigned long long)m->dump_xcr0, why);
	why = xs_xss_invalid_reason(m, m->dump_xss);
	if (why)
		return fail(p, p->line_xss, "ia32_xss 0x%llx is not a legal IA32_XSS: %s",
			    (unsigned long long)m->dump_xss, why);
	want = xs_model_cpuid_d(m, m->dump_xcr0, m->dump_xss, 0).ebx;
	if (m->leaf_d[0].ebx != want)
		return fail(p, p->line_d[0],
			    "0.EBX=%u but the standard size of XCR0 0x%llx (the xcr0 header) is %u",
			    m->leaf_d[0].ebx, (unsigned long long)m->dump_xcr0, want);
	want = xs_model_cpuid_d(m, m->dump_xcr0, m->dump_xss, 1).ebx;
	if (m->leaf_d[1].ebx != want)
		return fail(p, p->line_d[1],
			    "1.EBX=%u but the compacted size of XCR0|IA32_XSS 0x%llx (the xcr0/ia32_xss headers) is %u",
			    m->leaf_d[1].ebx, (unsigned long long)(m->dump_xcr0 | m->dump_xss), want);
	return 0;
}

/* Linux uses the compacted format exactly when XSAVES exists
 * (arch/x86/kernel/fpu/xstate.c), so its context size is that size. */
static int check_linux(struct parse *p, const struct xs_model *m)
{
	uint64_t bad;
	uint32_t want;

	if (p->line_lxf && !p->line_lsize)
		return fail(p, p->line_lxf, "header 'linux_xfeatures' without 'linux_context_size'");
	if (p->line_lsize && !p->line_lxf)
		return fail(p, p->line_lsize, "header 'linux_context_size' without 'linux_xfeatures'");
	if (!p->line_lxf)
		return 0;
	bad = m->linux_xfeatures & ~(m->xcr0_supported | m->xss_supported);
	if (bad)
		return fail(p, p->line_lxf, "linux_xfeatures 0x%llx has unsupported bit %u",
			    (unsigned long long)m->linux_xfeatures, __builtin_ctzll(bad));
	want = m->has_xsaves ? xs_size_compacted(m, m->linux_xfeatures)
			     : xs_size_standard(m, m->linux_xfeatures);
	if (m->linux_context_size != want)
		return fail(p, p->line_lsize,
			    "linux_context_size %u but the %s size of linux_xfeatures 0x%llx is %u",
			    m->linux_context_size, m->has_xsaves ? "compacted" : "standard",
			    (unsigned long long)m->linux_xfeatures, want);
	return 0;
}

static int validate(struct parse *p, struct xs_model *m)
{
	uint32_t want;

	if (!p->line_d[0] || !p->line_d[1])
		return fail(p, p->last_line ? p->last_line : 1,
			    "sub-leaf 0xd.%d is missing (0xd.0 and 0xd.1 are required)%s",
			    p->line_d[0] ? 1 : 0, p->last_line ? "" : "; the file is empty");
	decode_leaf_d(m);
	if (check_masks(p, m))
		return -1;
	for (unsigned i = 2; i < 64; i++)
		if (check_subleaf(p, m, i))
			return -1;
	if (check_overlap(p, m))
		return -1;
	want = xs_size_standard(m, m->xcr0_supported);
	if (m->leaf_d[0].ecx != want)
		return fail(p, p->line_d[0],
			    "0.ECX=%u but the standard size of all supported user components (0x%llx) is %u",
			    m->leaf_d[0].ecx, (unsigned long long)m->xcr0_supported, want);
	if (check_dump_masks(p, m) || check_linux(p, m))
		return -1;
	m->dump_masks_known = p->line_xcr0 != 0;
	m->linux_known = p->line_lxf != 0;
	return 0;
}

/* ---- features and implementation choices ----------------------------- */

static enum xs_vendor vendor_of(const char *v)
{
	if (!strcmp(v, "GenuineIntel"))
		return XS_VENDOR_INTEL;
	if (!strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine"))
		return XS_VENDOR_AMD;
	return XS_VENDOR_OTHER;
}

static bool bit(uint32_t v, unsigned b)
{
	return (v >> b) & 1;
}

/* Feature bits from the feature leaves where the file has them; otherwise
 * derived from leaf 0DH (rules documented in docs/readme/20-models.md):
 * a component the CPU enumerates implies the feature that owns it. */
static void derive_features(const struct xs_model *m, struct xs_features *f)
{
	uint64_t all = m->xcr0_supported | m->xss_supported;
	bool intel = m->vendor_id == XS_VENDOR_INTEL, amd = m->vendor_id == XS_VENDOR_AMD;
	const struct xs_cpuid *l;

	memset(f, 0, sizeof(*f));
	if (m->leaf_present & (1u << XS_LEAF_1)) {
		l = &m->leaf[XS_LEAF_1];
		f->xsave = bit(l->ecx, 26);
		f->avx = bit(l->ecx, 28);
	} else {
		f->xsave = true; /* the file enumerates leaf 0DH */
		f->avx = all & XS_BIT(XS_C_AVX);
	}
	if (m->leaf_present & (1u << XS_LEAF_7_0)) {
		l = &m->leaf[XS_LEAF_7_0];
		f->fsgsbase = bit(l->ebx, 0);
		f->fcs_fds_deprecated = bit(l->ebx, 13);
		f->mpx = bit(l->ebx, 14);
		f->avx512f = bit(l->ebx, 16);
		f->pt = bit(l->ebx, 25);
		f->pku = bit(l->ecx, 3);
		f->shstk = bit(l->ecx, 7);
		f->enqcmd = bit(l->ecx, 29);
		f->uintr = bit(l->edx, 5);
		f->arch_lbr = bit(l->edx, 19);
		f->ibt = bit(l->edx, 20);
		f->amx_tile = bit(l->edx, 24);
	} else {
		/* Every XSAVEC-capable CPU (Skylake/Goldmont, Zen and later) has FSGSBASE. */
		f->fsgsbase = m->has_xsavec;
		/* Intel deprecates FCS/FDS since Haswell; AMD Zen does not. */
		f->fcs_fds_deprecated = intel;
		f->mpx = (all & XS_MASK_MPX) == XS_MASK_MPX;
		f->avx512f = (all & XS_MASK_AVX512) == XS_MASK_AVX512;
		f->pt = all & XS_BIT(XS_C_PT);
		f->pku = all & XS_BIT(XS_C_PKRU);
		f->shstk = all & (XS_BIT(XS_C_CET_U) | XS_BIT(XS_C_CET_S));
		/* AMD implements shadow stacks only. */
		f->ibt = !amd && (all & XS_BIT(XS_C_CET_U));
		f->enqcmd = all & XS_BIT(XS_C_PASID);
		f->uintr = all & XS_BIT(XS_C_UINTR);
		f->arch_lbr = all & XS_BIT(XS_C_LBR);
		f->amx_tile = all & XS_BIT(XS_C_XTILEDATA);
	}
	if (m->leaf_present & (1u << XS_LEAF_7_1))
		f->apx = bit(m->leaf[XS_LEAF_7_1].edx, 21);
	else
		f->apx = all & XS_BIT(XS_C_APX);
	if (m->leaf_present & (1u << XS_LEAF_6)) {
		f->hwp = bit(m->leaf[XS_LEAF_6].eax, 7);
		f->hdc = bit(m->leaf[XS_LEAF_6].eax, 13);
	} else {
		f->hwp = all & XS_BIT(XS_C_HWP);
		f->hdc = all & XS_BIT(XS_C_HDC);
	}
	if (m->leaf_present & (1u << XS_LEAF_80000008)) {
		l = &m->leaf[XS_LEAF_80000008];
		f->xsaveerptr = bit(l->ebx, 2);
		f->linear_bits = (uint8_t)(l->eax >> 8);
		if (!f->linear_bits)
			f->linear_bits = 48;
	} else {
		/* AMD Zen (the XSAVEC-capable AMD parts) sets XSaveErPtr. */
		f->xsaveerptr = amd && m->has_xsavec;
		f->linear_bits = 48;
	}
}

static void default_impl(const struct xs_model *m, struct xs_impl *im)
{
	bool amd = m->vendor_id == XS_VENDOR_AMD;

	im->xinuse_tracking = true;
	im->xrstor_init_clears_xinuse = true;
	im->xsaveopt_init_opt = true;
	im->xsaveopt_modified_opt = true;
	im->xsavec_init_opt = true;
	im->xsaves_init_opt = true;
	im->xsaves_modified_opt = true;
	/* AMD Zen: bit 17 (MM, misaligned-SSE exception mask) is writable;
	 * measured 0x2FFFF on this project's host (spec section 15). */
	im->mxcsr_mask = amd ? 0x2FFFFu : 0xFFFFu;
	/* APM: without XSaveErPtr, FIP/FDP/FOP are only saved when FSW.ES=1.
	 * The Zen 3 host enumerates XSaveErPtr yet still stores them as 0 while
	 * ES=0 (measured by the host differential test): reality wins, so every
	 * AMD model defaults to the quirk; a probe file can say otherwise. */
	im->x87_errptr_only_if_es = amd;
	/* Measured on this project's AMD host (Zen 3); assumed for every AMD part. */
	im->xrstor_load_checks_init = amd;
	im->x87_xinuse_by_value = amd;
	/* #GP on the AMD host; nothing known of the others: #GP too. */
	im->xsave_misalign_ac = false;
}

static void apply_fields(void *obj, const struct xs_field *f, size_t n, const unsigned *lines,
			 const uint64_t *vals)
{
	for (size_t i = 0; i < n; i++)
		if (lines[i])
			xs_field_set(obj, &f[i], vals[i]);
}

int xs_model_parse(const char *text, const char *filename, struct xs_model *m, char *err,
		   size_t errlen)
{
	struct parse *p = calloc(1, sizeof(*p));
	int r;

	if (!p) {
		snprintf(err, errlen, "%s: out of memory", filename);
		return -1;
	}
	p->file = filename ? filename : "<text>";
	p->err = err;
	p->errlen = errlen;
	p->last_d = -1;
	memset(m, 0, sizeof(*m));
	r = parse_lines(p, m, text ? text : "");
	if (!r)
		r = validate(p, m);
	if (!r) {
		m->vendor_id = vendor_of(m->vendor);
		derive_features(m, &m->feat);
		apply_fields(&m->feat, feat_fields, NELEM(feat_fields), p->line_feat, p->feat_val);
		default_impl(m, &m->impl);
		apply_fields(&m->impl, impl_fields, NELEM(impl_fields), p->line_impl, p->impl_val);
	}
	free(p);
	if (r)
		memset(m, 0, sizeof(*m));
	return r;
}

bool xs_model_equal(const struct xs_model *a, const struct xs_model *b)
{
	if (strcmp(a->title, b->title) || strcmp(a->vendor, b->vendor) ||
	    strcmp(a->brand, b->brand) || a->signature != b->signature ||
	    a->vendor_id != b->vendor_id)
		return false;
	if (memcmp(a->leaf_d, b->leaf_d, sizeof(a->leaf_d)))
		return false;
	if (a->leaf_present != b->leaf_present)
		return false;
	for (int i = 0; i < XS_NLEAVES; i++)
		if ((a->leaf_present & (1u << i)) &&
		    memcmp(&a->leaf[i], &b->leaf[i], sizeof(a->leaf[i])))
			return false;
	for (size_t i = 0; i < NELEM(feat_fields); i++)
		if (xs_field_get(&a->feat, &feat_fields[i]) != xs_field_get(&b->feat, &feat_fields[i]))
			return false;
	for (size_t i = 0; i < NELEM(impl_fields); i++)
		if (xs_field_get(&a->impl, &impl_fields[i]) != xs_field_get(&b->impl, &impl_fields[i]))
			return false;
	if (a->dump_masks_known != b->dump_masks_known || a->linux_known != b->linux_known)
		return false;
	if (a->dump_masks_known && (a->dump_xcr0 != b->dump_xcr0 || a->dump_xss != b->dump_xss))
		return false;
	if (a->linux_known && (a->linux_xfeatures != b->linux_xfeatures ||
			       a->linux_context_size != b->linux_context_size))
		return false;
	return true;
}

/* ---- writing --------------------------------------------------------- */

static void write_line(FILE *f, const char *key, const char *val)
{
	/* Header values are single lines. */
	fprintf(f, "# %s: ", key);
	for (; *val; val++)
		fputc(*val == '\n' || *val == '\r' ? ' ' : *val, f);
	fputc('\n', f);
}

static void write_cpuid(FILE *f, uint32_t leaf, uint32_t sub, const struct xs_cpuid *r)
{
	fprintf(f, "0x%x.%u eax=%08x ebx=%08x ecx=%08x edx=%08x\n", leaf, sub, r->eax, r->ebx,
		r->ecx, r->edx);
}

int xs_model_write(const struct xs_model *m, FILE *f)
{
	struct xs_features derived;

	write_line(f, "name", m->title);
	if (m->vendor[0])
		write_line(f, "vendor", m->vendor);
	if (m->brand[0])
		write_line(f, "brand", m->brand);
	fprintf(f, "# signature: 0x%08x (CPUID.1.EAX)\n", m->signature);
	if (m->source[0])
		write_line(f, "source", m->source);
	if (m->dump_masks_known) {
		fprintf(f, "# xcr0: 0x%llx\n", (unsigned long long)m->dump_xcr0);
		fprintf(f, "# ia32_xss: 0x%llx\n", (unsigned long long)m->dump_xss);
	}
	if (m->linux_known) {
		fprintf(f, "# linux_xfeatures: 0x%llx\n", (unsigned long long)m->linux_xfeatures);
		fprintf(f, "# linux_context_size: %u\n", m->linux_context_size);
	}
	for (size_t i = 0; i < NELEM(impl_fields); i++) {
		uint64_t v = xs_field_get(&m->impl, &impl_fields[i]);
		if (impl_fields[i].width == 1)
			fprintf(f, "# impl.%s: %llu\n", impl_fields[i].name, (unsigned long long)v);
		else
			fprintf(f, "# impl.%s: 0x%llx\n", impl_fields[i].name, (unsigned long long)v);
	}
	/* Only the features the leaves below do not already say. */
	derive_features(m, &derived);
	for (size_t i = 0; i < NELEM(feat_fields); i++) {
		uint64_t v = xs_field_get(&m->feat, &feat_fields[i]);
		if (v != xs_field_get(&derived, &feat_fields[i]))
			fprintf(f, "# feat.%s: %llu\n", feat_fields[i].name, (unsigned long long)v);
	}
	for (unsigned i = 0; i < 64; i++)
		if (i < 2 || !cpuid_zero(&m->leaf_d[i]))
			write_cpuid(f, 0xd, i, &m->leaf_d[i]);
	for (int i = 0; i < XS_NLEAVES; i++)
		if (m->leaf_present & (1u << i))
			write_cpuid(f, leaf_ids[i].leaf, leaf_ids[i].subleaf, &m->leaf[i]);
	return ferror(f) ? -1 : 0;
}

/* ---- built-ins and loading ------------------------------------------- */

size_t xs_builtin_count(void)
{
	return xs_builtin_texts_count;
}

const char *xs_builtin_name(size_t i)
{
	return i < xs_builtin_texts_count ? xs_builtin_texts[i].name : NULL;
}

const char *xs_builtin_text(size_t i)
{
	return i < xs_builtin_texts_count ? xs_builtin_texts[i].text : NULL;
}

const char *xs_default_model_name(void)
{
	return "intel-sapphire-rapids";
}

static void set_name(struct xs_model *m, const char *name, const char *source)
{
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->source, sizeof(m->source), "%s", source);
}

/* The file's stem: "data/cpus/amd-zen2-rome.txt" -> "amd-zen2-rome". */
static void file_stem(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".txt"))
		n -= 4;
	if (n >= len)
		n = len - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}

static int load_file(const char *path, struct xs_model *m, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf, stem[XS_MODEL_NAME_MAX];
	size_t n;
	int r;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(FILE_MAX_LEN + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	n = fread(buf, 1, FILE_MAX_LEN + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		r = -1;
	} else if (n > FILE_MAX_LEN) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, FILE_MAX_LEN);
		r = -1;
	} else if (memchr(buf, '\0', n)) {
		snprintf(err, errlen, "%s: contains a NUL byte (not a text file)", path);
		r = -1;
	} else {
		buf[n] = '\0';
		r = xs_model_parse(buf, path, m, err, errlen);
	}
	free(buf);
	fclose(f);
	if (r == 0) {
		file_stem(path, stem, sizeof(stem));
		set_name(m, stem, path);
	}
	return r;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

int xs_model_load(const char *spec, struct xs_model *m, char *err, size_t errlen)
{
	struct stat st;

	if (!spec || !*spec)
		spec = xs_default_model_name();
	if (!strcmp(spec, "host"))
		return xs_model_from_host(m, err, errlen);
	if (stat(spec, &st) == 0 || strchr(spec, '/') || ends_with(spec, ".txt"))
		return load_file(spec, m, err, errlen);
	for (size_t i = 0; i < xs_builtin_texts_count; i++) {
		if (strcmp(spec, xs_builtin_texts[i].name))
			continue;
		if (xs_model_parse(xs_builtin_texts[i].text, spec, m, err, errlen))
			return -1;
		set_name(m, spec, "builtin");
		return 0;
	}
	snprintf(err, errlen, "unknown CPU model '%s' (xstate cpus lists the built-in ones)", spec);
	return -1;
}
