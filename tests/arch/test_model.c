/* CPU models: every data file loads, built-ins equal their files, the parser
 * rejects each kind of damaged input at the right line, XCR0/IA32_XSS
 * legality, feature derivation, implementation defaults, write/parse. */
#include <dirent.h>
#include <unistd.h>

#include "tap.h"
#include "xstate/model.h"

static const char *top(void)
{
	const char *t = getenv("XSTATE_TOP");
	return t && *t ? t : ".";
}

static int txt_file(const struct dirent *e)
{
	size_t len = strlen(e->d_name);
	return len > 4 && !strcmp(e->d_name + len - 4, ".txt");
}

static int load_dir(const char *dir, bool required)
{
	struct dirent **list;
	int n = scandir(dir, &list, txt_file, alphasort);

	if (n < 0) {
		if (required)
			tap_ok(0, "open %s", dir);
		else
			tap_skip("%s not present", dir);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char path[1024], err[512];
		struct xs_model m;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (!tap_ok(xs_model_load(path, &m, err, sizeof(err)) == 0, "load %s", path))
			tap_diag("%s", err);
		free(list[i]);
	}
	free(list);
	return n;
}

static void test_files_load(void)
{
	char dir[1024];
	int n;

	snprintf(dir, sizeof(dir), "%s/data/cpus", top());
	n = load_dir(dir, true);
	tap_eq_u64(n, 13, "data/cpus has 13 model files");
	tap_eq_u64(xs_builtin_count(), 13, "13 built-in models");
	snprintf(dir, sizeof(dir), "%s/../shared/data/cpuid-xsave", top());
	load_dir(dir, false);
}

static void test_builtins_equal_files(void)
{
	for (size_t i = 0; i < xs_builtin_count(); i++) {
		const char *name = xs_builtin_name(i);
		struct xs_model a, b;
		char path[1024], err[512];

		snprintf(path, sizeof(path), "%s/data/cpus/%s.txt", top(), name);
		if (xs_model_load(name, &a, err, sizeof(err)) ||
		    xs_model_load(path, &b, err, sizeof(err))) {
			tap_ok(0, "load %s: %s", name, err);
			continue;
		}
		tap_ok(xs_model_equal(&a, &b) && !strcmp(a.name, b.name) &&
			       !strcmp(a.source, "builtin") && !strcmp(b.source, path),
		       "built-in %s equals %s", name, path);
	}
	{
		struct xs_model m;
		char err[512];
		tap_ok(xs_model_load(xs_default_model_name(), &m, err, sizeof(err)) == 0 &&
			       !strcmp(m.name, "intel-sapphire-rapids"),
		       "default model loads");
		tap_ok(xs_model_load(NULL, &m, err, sizeof(err)) == 0 &&
			       !strcmp(m.name, "intel-sapphire-rapids"),
		       "NULL spec loads the default");
		tap_ok(xs_model_load("no-such-cpu", &m, err, sizeof(err)) != 0 &&
			       !strcmp(err, "unknown CPU model 'no-such-cpu' (xstate cpus lists the built-in ones)"),
		       "unknown model: %s", err);
		tap_ok(xs_model_load("/nonexistent/x", &m, err, sizeof(err)) != 0 &&
			       strstr(err, "/nonexistent/x: No such file"),
		       "missing file: %s", err);
		tap_ok(xs_model_load("missing.txt", &m, err, sizeof(err)) != 0 &&
			       strstr(err, "missing.txt: "),
		       ".txt spec is a file: %s", err);
	}
}

/* A small valid model; damaged copies replace, insert or delete lines. */
static const char *base[] = {
	"# name: Test CPU",                                            /* 1 */
	"# vendor: GenuineIntel",                                      /* 2 */
	"# xcr0: 0x7",                                                 /* 3 */
	"# ia32_xss: 0x100",                                           /* 4 */
	"0xd.0 eax=00000207 ebx=00000340 ecx=00000a88 edx=00000000",  /* 5 */
	"0xd.1 eax=0000000f ebx=000003c0 ecx=00000100 edx=00000000",  /* 6 */
	"0xd.2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000000",  /* 7 */
	"0xd.8 eax=00000080 ebx=00000000 ecx=00000001 edx=00000000",  /* 8 */
	"0xd.9 eax=00000008 ebx=00000a80 ecx=00000000 edx=00000000",  /* 9 */
};
#define NBASE (sizeof(base) / sizeof(base[0]))

enum op { REPLACE, INSERT, DELETE, NONE };

/* Build the base text with one edit at line `line` (1-based); INSERT puts
 * `text` before that line (NBASE + 1 appends). */
static char *edit(enum op op, unsigned line, const char *text)
{
	static char buf[8192];
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 1; i <= NBASE + 1; i++) {
		const char *l = i <= NBASE ? base[i - 1] : NULL;

		if (op == INSERT && i == line)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s\n", text);
		if (!l)
			break;
		if (i == line && op == DELETE)
			continue;
		if (i == line && op == REPLACE)
			l = text;
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s\n", l);
	}
	return buf;
}

static void expect_reject(const char *what, const char *text, unsigned line, const char *substr)
{
	struct xs_model m;
	char err[512], prefix[32];
	int r;

	memset(&m, 0x5a, sizeof(m));
	r = xs_model_parse(text, "t", &m, err, sizeof(err));
	snprintf(prefix, sizeof(prefix), "t:%u: ", line);
	if (!tap_ok(r != 0 && !strncmp(err, prefix, strlen(prefix)) && strstr(err, substr),
		    "reject %s at line %u", what, line))
		tap_diag("r=%d err='%s' want prefix '%s' and '%s'", r, r ? err : "", prefix, substr);
}

static void test_base_valid(void)
{
	struct xs_model m;
	char err[512];
	int r = xs_model_parse(edit(NONE, 0, NULL), "t", &m, err, sizeof(err));

	if (!tap_ok(r == 0, "base test model parses"))
		tap_diag("%s", err);
	tap_eq_u64(m.xcr0_supported, 0x207, "base: xcr0_supported");
	tap_eq_u64(m.xss_supported, 0x100, "base: xss_supported");
	tap_ok(m.dump_masks_known && m.dump_xcr0 == 7 && m.dump_xss == 0x100, "base: dump masks");
	tap_ok(!strcmp(m.title, "Test CPU"), "base: title");
	tap_ok(m.comp[XS_C_PT].supervisor && m.comp[XS_C_PT].size == 128 &&
		       m.comp[XS_C_PKRU].offset == 0xa80,
	       "base: components");
	tap_ok(m.has_xsaveopt && m.has_xsavec && m.has_xgetbv1 && m.has_xsaves && !m.has_xfd,
	       "base: instructions from 1.EAX=0xf");
	/* All-zero sub-leaf lines for unsupported components are what CPUID returns. */
	r = xs_model_parse(edit(INSERT, 8, "0xd.3 eax=00000000 ebx=00000000 ecx=00000000 edx=00000000"),
			   "t", &m, err, sizeof(err));
	tap_ok(r == 0, "an all-zero line for an unsupported component is accepted");
	r = xs_model_parse(edit(INSERT, 1, "\r\n  # indented comment\t\n# family: 0x6 free text"),
			   "t", &m, err, sizeof(err));
	tap_ok(r == 0, "blank lines, CR, indented comments, remark headers accepted");
}

static void test_rejects(void)
{
	char long_line[1200];

	/* Syntax. */
	expect_reject("bad register", edit(REPLACE, 7, "0xd.2 eax=zz000100 ebx=00000240 ecx=00000000 edx=00000000"),
		      7, "eax: 'zz000100' is not a 32-bit hex number");
	expect_reject("garbage line", edit(INSERT, 5, "hello world"), 5, "unparsable line");
	expect_reject("missing register", edit(REPLACE, 7, "0xd.2 eax=00000100 ebx=00000240 ecx=00000000"),
		      7, "expected 'edx='");
	expect_reject("trailing text", edit(REPLACE, 7, "0xd.2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000000 x"),
		      7, "unexpected text");
	expect_reject("hex sub-leaf", edit(REPLACE, 7, "0xd.0x2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000000"),
		      7, "unparsable sub-leaf");
	expect_reject("register over 32 bits", edit(REPLACE, 7, "0xd.2 eax=100000000 ebx=00000240 ecx=00000000 edx=00000000"),
		      7, "not a 32-bit hex number");
	expect_reject("unknown leaf", edit(INSERT, 5, "0x2.0 eax=00000000 ebx=00000000 ecx=00000000 edx=00000000"),
		      5, "is not read by the model");
	expect_reject("sub-leaf beyond 32 bits", edit(INSERT, 5, "0x7.4294967296 eax=00000000 ebx=00000000 ecx=00000000 edx=00000000"),
		      5, "is not read by the model");
	expect_reject("duplicate feature leaf",
		      edit(INSERT, 5, "0x7.0 eax=00000000 ebx=00000000 ecx=00000000 edx=00000000\n"
				      "0x7.0 eax=00000000 ebx=00000000 ecx=00000000 edx=00000000"),
		      6, "duplicate leaf 0x7.0");
	memset(long_line, 'x', sizeof(long_line) - 1);
	long_line[0] = '#';
	long_line[sizeof(long_line) - 1] = '\0';
	expect_reject("overlong line", edit(INSERT, 2, long_line), 2, "line longer than");
	/* Sub-leaf bookkeeping. */
	expect_reject("duplicate sub-leaf", edit(INSERT, 8, base[6]), 8, "duplicate sub-leaf 0xd.2 (first on line 7)");
	expect_reject("out-of-order sub-leaf", edit(INSERT, 10, base[7]), 10, "duplicate sub-leaf 0xd.8");
	expect_reject("descending sub-leaf", edit(INSERT, 10, "0xd.3 eax=00000000 ebx=00000000 ecx=00000000 edx=00000000"),
		      10, "sub-leaf 0xd.3 after 0xd.9: sub-leaves must ascend");
	expect_reject("sub-leaf 64", edit(INSERT, 10, "0xd.64 eax=00000000 ebx=00000000 ecx=00000000 edx=00000000"),
		      10, "out of range (0..63)");
	expect_reject("missing sub-leaf 1", edit(DELETE, 6, NULL), 8, "sub-leaf 0xd.1 is missing");
	expect_reject("missing sub-leaf 0", edit(DELETE, 5, NULL), 8, "sub-leaf 0xd.0 is missing");
	expect_reject("supported component without sub-leaf", edit(DELETE, 9, NULL), 5,
		      "component 9 (pkru) is supported in 0.EDX:EAX but sub-leaf 9 is missing");
	expect_reject("supervisor component without sub-leaf", edit(DELETE, 8, NULL), 6,
		      "component 8 (pt) is supported in 1.EDX:ECX but sub-leaf 8 is missing");
	expect_reject("sub-leaf for unsupported component",
		      edit(INSERT, 8, "0xd.3 eax=00000040 ebx=000003c0 ecx=00000000 edx=00000000"), 8,
		      "neither 0.EDX:EAX nor 1.EDX:ECX supports");
	expect_reject("zero size", edit(REPLACE, 9, "0xd.9 eax=00000000 ebx=00000a80 ecx=00000000 edx=00000000"),
		      9, "has size 0");
	/* Masks. */
	expect_reject("component in both masks", edit(REPLACE, 6, "0xd.1 eax=0000000f ebx=000003c0 ecx=00000104 edx=00000000"),
		      6, "component 2 (avx) is in both 0.EDX:EAX and 1.EDX:ECX");
	expect_reject("bits 0/1 missing", edit(REPLACE, 5, "0xd.0 eax=00000205 ebx=00000340 ecx=00000a88 edx=00000000"),
		      5, "bits 0 and 1 (x87, SSE) must be set");
	expect_reject("bit 63 supported", edit(REPLACE, 5, "0xd.0 eax=00000207 ebx=00000340 ecx=00000a88 edx=80000000"),
		      5, "bit 63 is never a state component");
	expect_reject("1.EAX reserved bits", edit(REPLACE, 6, "0xd.1 eax=0000002f ebx=000003c0 ecx=00000100 edx=00000000"),
		      6, "reserved bits 31:5");
	expect_reject("XSAVES without XSAVEC", edit(REPLACE, 6, "0xd.1 eax=00000009 ebx=000003c0 ecx=00000100 edx=00000000"),
		      6, "XSAVES (bit 3) without XSAVEC (bit 1)");
	expect_reject("XSS components without XSAVES", edit(REPLACE, 6, "0xd.1 eax=00000003 ebx=000003c0 ecx=00000100 edx=00000000"),
		      6, "without XSAVES");
	expect_reject("MPX and APX", edit(REPLACE, 5, "0xd.0 eax=0008021f ebx=00000340 ecx=00000a88 edx=00000000"),
		      5, "MPX (bits 4:3) and APX (bit 19) both supported");
	/* Sub-leaf contents. */
	expect_reject("ECX bit 0 clear for supervisor", edit(REPLACE, 8, "0xd.8 eax=00000080 ebx=00000000 ecx=00000000 edx=00000000"),
		      8, "ECX[0]=0 but component 8 (pt) is in 1.EDX:ECX");
	expect_reject("ECX bit 0 set for user", edit(REPLACE, 7, "0xd.2 eax=00000100 ebx=00000240 ecx=00000001 edx=00000000"),
		      7, "ECX[0]=1 but component 2 (avx) is in 0.EDX:EAX");
	expect_reject("supervisor with standard offset", edit(REPLACE, 8, "0xd.8 eax=00000080 ebx=00000a00 ecx=00000001 edx=00000000"),
		      8, "supervisor component 8 (pt) has standard offset 0xa00");
	expect_reject("user offset below 576", edit(REPLACE, 7, "0xd.2 eax=00000100 ebx=00000100 ecx=00000000 edx=00000000"),
		      7, "at offset 256, below 576");
	expect_reject("ECX[31:3]", edit(REPLACE, 7, "0xd.2 eax=00000100 ebx=00000240 ecx=00000008 edx=00000000"),
		      7, "ECX[31:3]=0x1 and EDX=0x0 must be 0");
	expect_reject("EDX non-zero", edit(REPLACE, 7, "0xd.2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000001"),
		      7, "must be 0");
	expect_reject("size below architectural", edit(REPLACE, 7, "0xd.2 eax=00000080 ebx=00000240 ecx=00000000 edx=00000000"),
		      7, "size 128 is smaller than the 256 bytes of avx");
	expect_reject("huge size", edit(REPLACE, 9, "0xd.9 eax=7fffffff ebx=00000a80 ecx=00000000 edx=00000000"),
		      9, "is larger than");
	expect_reject("user component in IA32_XSS",
		      "0xd.0 eax=00000007 ebx=00000340 ecx=00000340 edx=00000000\n"
		      "0xd.1 eax=0000000f ebx=00000348 ecx=00000200 edx=00000000\n"
		      "0xd.2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000000\n"
		      "0xd.9 eax=00000008 ebx=00000000 ecx=00000001 edx=00000000\n",
		      4, "component 9 (pkru) is architecturally user state but enumerated as supervisor");
	expect_reject("overlapping user components", edit(REPLACE, 9, "0xd.9 eax=00000008 ebx=00000300 ecx=00000000 edx=00000000"),
		      9, "component 9 (pkru) at [0x300,0x308) overlaps component 2 (avx)");
	/* Sizes of sub-leaf 0 and 1. */
	expect_reject("0.ECX wrong", edit(REPLACE, 5, "0xd.0 eax=00000207 ebx=00000340 ecx=00000a90 edx=00000000"),
		      5, "0.ECX=2704 but the standard size of all supported user components (0x207) is 2696");
	expect_reject("0.EBX wrong", edit(REPLACE, 5, "0xd.0 eax=00000207 ebx=00000380 ecx=00000a88 edx=00000000"),
		      5, "0.EBX=896 but the standard size of XCR0 0x7 (the xcr0 header) is 832");
	expect_reject("1.EBX wrong", edit(REPLACE, 6, "0xd.1 eax=0000000f ebx=00000400 ecx=00000100 edx=00000000"),
		      6, "1.EBX=1024 but the compacted size of XCR0|IA32_XSS 0x107");
	expect_reject("0.EBX impossible without headers",
		      "0xd.0 eax=00000207 ebx=00000300 ecx=00000a88 edx=00000000\n"
		      "0xd.1 eax=0000000f ebx=000003c0 ecx=00000000 edx=00000000\n"
		      "0xd.2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000000\n"
		      "0xd.9 eax=00000008 ebx=00000a80 ecx=00000000 edx=00000000\n",
		      1, "0.EBX=768 is not the end of any supported user component");
	expect_reject("1.EBX impossible without headers",
		      "0xd.0 eax=00000207 ebx=00000340 ecx=00000a88 edx=00000000\n"
		      "0xd.1 eax=0000000f ebx=00001000 ecx=00000000 edx=00000000\n"
		      "0xd.2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000000\n"
		      "0xd.9 eax=00000008 ebx=00000a80 ecx=00000000 edx=00000000\n",
		      2, "1.EBX=4096 is outside [576, 840]");
	/* Headers. */
	expect_reject("illegal xcr0 header", edit(REPLACE, 3, "# xcr0: 0x5 (x87|avx)"), 3,
		      "xcr0 0x5 is not a legal XCR0: XCR0 bit 2 (AVX) requires bit 1 (SSE)");
	expect_reject("unsupported xcr0 header", edit(REPLACE, 3, "# xcr0: 0xf"), 3,
		      "XCR0 bit 3 (bndregs) is not supported");
	expect_reject("supervisor bit in xcr0 header", edit(REPLACE, 3, "# xcr0: 0x107"), 3,
		      "XCR0 bit 8 (pt) is a supervisor component");
	expect_reject("unsupported ia32_xss header", edit(REPLACE, 4, "# ia32_xss: 0x800"), 4,
		      "IA32_XSS bit 11 (cet_u) is not supported");
	expect_reject("ia32_xss without xcr0", edit(DELETE, 3, NULL), 3,
		      "header 'ia32_xss' without header 'xcr0'");
	expect_reject("xcr0 not hex", edit(REPLACE, 3, "# xcr0: zz"), 3,
		      "header 'xcr0': 'zz' is not a hex number");
	expect_reject("duplicate header", edit(INSERT, 4, "# xcr0: 0x7"), 4,
		      "duplicate header 'xcr0' (first on line 3)");
	expect_reject("vendor too long", edit(REPLACE, 2, "# vendor: GenuineIntelXXXXXXXX"), 2,
		      "header 'vendor' is longer than 15 characters");
	expect_reject("linux size mismatch",
		      edit(INSERT, 5, "# linux_xfeatures: 0x107\n# linux_context_size: 900"), 6,
		      "linux_context_size 900 but the compacted size of linux_xfeatures 0x107 is 960");
	expect_reject("linux_xfeatures alone", edit(INSERT, 5, "# linux_xfeatures: 0x107"), 5,
		      "without 'linux_context_size'");
	expect_reject("linux_xfeatures unsupported",
		      edit(INSERT, 5, "# linux_xfeatures: 0x1107\n# linux_context_size: 960"), 5,
		      "unsupported bit 12");
	expect_reject("unknown impl field", edit(INSERT, 2, "# impl.nope: 1"), 2,
		      "unknown impl field 'nope'");
	expect_reject("flag value 2", edit(INSERT, 2, "# feat.pku: 2"), 2,
		      "feat field 'pku' is a flag: 0 or 1, not '2'");
	expect_reject("impl value too wide", edit(INSERT, 2, "# impl.mxcsr_mask: 0x100000000"), 2,
		      "does not fit in 32 bits");
	expect_reject("linear_bits too wide", edit(INSERT, 2, "# feat.linear_bits: 300"), 2,
		      "does not fit in 8 bits");
	expect_reject("empty file", "", 1, "the file is empty");
}

static struct xs_model parse_ok(const char *what, const char *text)
{
	struct xs_model m;
	char err[512];

	if (!tap_ok(xs_model_parse(text, "t", &m, err, sizeof(err)) == 0, "parse %s", what))
		tap_diag("%s", err);
	return m;
}

static void test_xcr0_rules(void)
{
	struct xs_model m, skl;
	char err[512];
	static const struct {
		uint64_t v;
		const char *why; /* NULL: legal */
	} spr[] = {
		{ 0x0, "bit 0 (x87) must be 1" },
		{ 0x6, "bit 0 (x87) must be 1" },
		{ 0x1, NULL },
		{ 0x3, NULL },
		{ 0x5, "bit 2 (AVX) requires bit 1 (SSE)" },
		{ 0x7, NULL },
		{ 0x27, "bits 7:5 (AVX-512) must be all 1 or all 0" },
		{ 0xc7, "bits 7:5 (AVX-512) must be all 1 or all 0" },
		{ 0xe3, "bits 7:5 (AVX-512) require bits 2:1" },
		{ 0xe1, "bits 7:5 (AVX-512) require bits 2:1" },
		{ 0xe7, NULL },
		{ 0x207, NULL },
		{ 0x20007, "bits 18:17 (AMX" },
		{ 0x40007, "bits 18:17 (AMX" },
		{ 0x60007, NULL },
		{ 0x602e7, NULL },
		{ 0x107, "bit 8 (pt) is a supervisor component" },
		{ 0x807, "bit 11 (cet_u) is a supervisor component" },
		{ 0x2007, "bit 13 (hdc) is not supported" },
		{ 0xf, "bit 3 (bndregs) is not supported" },
		{ 1ULL << 62 | 7, "bit 62 (comp62) is not supported" },
		{ 1ULL << 63 | 7, "bit 63 (comp63) is not supported" },
	};

	xs_model_load("intel-sapphire-rapids", &m, err, sizeof(err));
	for (size_t i = 0; i < sizeof(spr) / sizeof(spr[0]); i++) {
		const char *r = xs_xcr0_invalid_reason(&m, spr[i].v);
		if (spr[i].why)
			tap_ok(r && strstr(r, spr[i].why), "SPR XCR0 0x%llx illegal: %s",
			       (unsigned long long)spr[i].v, r ? r : "(accepted)");
		else
			tap_ok(!r, "SPR XCR0 0x%llx legal%s%s", (unsigned long long)spr[i].v,
			       r ? ": " : "", r ? r : "");
	}
	xs_model_load("intel-skylake-client", &skl, err, sizeof(err));
	tap_ok(xs_xcr0_invalid_reason(&skl, 0x1f) == NULL, "Skylake XCR0 0x1f legal");
	tap_ok(xs_xcr0_invalid_reason(&skl, 0x0f) &&
		       strstr(xs_xcr0_invalid_reason(&skl, 0x0f), "bits 4:3 (MPX"),
	       "Skylake XCR0 0xf: MPX pair");
	tap_ok(xs_xcr0_invalid_reason(&skl, 0x17) &&
		       strstr(xs_xcr0_invalid_reason(&skl, 0x17), "bits 4:3 (MPX"),
	       "Skylake XCR0 0x17: MPX pair");
	tap_ok(xs_xcr0_invalid_reason(&skl, 0x1b) == NULL, "Skylake XCR0 0x1b (MPX without AVX) legal");

	tap_ok(xs_xss_invalid_reason(&m, 0) == NULL, "SPR IA32_XSS 0 legal");
	tap_ok(xs_xss_invalid_reason(&m, 0xdd00) == NULL, "SPR IA32_XSS 0xdd00 legal");
	tap_ok(xs_xss_invalid_reason(&m, 0x200) &&
		       strstr(xs_xss_invalid_reason(&m, 0x200), "bit 9 (pkru) is a user component"),
	       "SPR IA32_XSS 0x200: PKRU is user state");
	tap_ok(xs_xss_invalid_reason(&m, 0x1) &&
		       strstr(xs_xss_invalid_reason(&m, 0x1), "bit 0 (x87) is a user component"),
	       "SPR IA32_XSS bit 0");
	tap_ok(xs_xss_invalid_reason(&m, 0x10000) &&
		       strstr(xs_xss_invalid_reason(&m, 0x10000), "bit 16 (hwp) is not supported"),
	       "SPR IA32_XSS HWP unsupported (Granite Rapids has it)");
	tap_ok(xs_xss_invalid_reason(&skl, 0x800) != NULL, "Skylake IA32_XSS CET_U unsupported");
}

static void test_features(void)
{
	struct xs_model m;
	char err[512];

	xs_model_load("amd-zen2-rome", &m, err, sizeof(err));
	tap_ok(!m.feat.pku && m.comp[XS_C_PKRU].size == 64,
	       "Rome: PKRU enumerated with 64 bytes, PKU=0 (feat.pku header)");
	/* XSaveErPtr is enumerated, yet the Zen 3 host stores FIP/FDP/FOP as 0
	 * while FSW.ES=0: every AMD model defaults to that measured behaviour. */
	tap_ok(m.vendor_id == XS_VENDOR_AMD && m.feat.xsaveerptr && m.impl.x87_errptr_only_if_es,
	       "Rome: XSaveErPtr derived; error pointers only with FSW.ES as measured on Zen 3");
	tap_eq_u64(m.impl.mxcsr_mask, 0x2ffff, "Rome: AMD MXCSR_MASK 0x2FFFF");
	tap_ok(!m.feat.fcs_fds_deprecated, "AMD: FCS/FDS not deprecated");

	xs_model_load("amd-zen3-milan", &m, err, sizeof(err));
	tap_ok(m.feat.pku && m.feat.shstk && !m.feat.ibt && !m.feat.avx512f,
	       "Milan: PKU, shadow stack, no IBT, no AVX-512");
	xs_model_load("host-amd-epyc-vm", &m, err, sizeof(err));
	tap_ok(!m.feat.pku && m.feat.shstk && m.feat.avx && m.feat.xsave, "host file: no PKU, SHSTK");

	xs_model_load("intel-sapphire-rapids", &m, err, sizeof(err));
	tap_ok(m.vendor_id == XS_VENDOR_INTEL && m.feat.amx_tile && m.feat.avx512f &&
		       m.feat.pku && m.feat.pt && m.feat.enqcmd && m.feat.uintr && m.feat.arch_lbr &&
		       m.feat.shstk && m.feat.ibt && !m.feat.mpx && !m.feat.apx && !m.feat.hwp,
	       "SPR: features derived from leaf 0xD");
	tap_ok(m.feat.fcs_fds_deprecated && m.feat.linear_bits == 48 && !m.feat.xsaveerptr,
	       "SPR: FCS/FDS deprecated, 48-bit linear addresses");
	tap_eq_u64(m.impl.mxcsr_mask, 0xffff, "Intel MXCSR_MASK 0xFFFF");
	tap_ok(m.impl.xinuse_tracking && m.impl.xrstor_init_clears_xinuse &&
		       m.impl.xsaveopt_init_opt && m.impl.xsaveopt_modified_opt &&
		       m.impl.xsavec_init_opt && m.impl.xsaves_init_opt && m.impl.xsaves_modified_opt &&
		       !m.impl.x87_errptr_only_if_es,
	       "Intel implementation defaults");
	tap_ok(m.has_xfd && m.comp[XS_C_XTILEDATA].xfd && m.comp[XS_C_XTILEDATA].align64 &&
		       m.comp[XS_C_XTILECFG].align64 && !m.comp[XS_C_XTILECFG].xfd,
	       "SPR: XFD and alignment bits");
	xs_model_load("intel-granite-rapids", &m, err, sizeof(err));
	tap_ok(m.feat.hwp, "Granite Rapids: HWP from the HWP component");
	xs_model_load("intel-skylake-client", &m, err, sizeof(err));
	tap_ok(m.feat.mpx && !m.feat.pku && m.feat.pt, "Skylake client: MPX, PT, no PKU");

	/* Feature leaves replace derivation; headers override both. */
	m = parse_ok("feature leaves",
		     "# vendor: AuthenticAMD\n"
		     "# feat.hwp: 1\n"
		     "# impl.xsaveopt_modified_opt: 0\n"
		     "# impl.mxcsr_mask: 0xffbf\n"
		     "0x1.0 eax=00a00f11 ebx=00000000 ecx=14000000 edx=00000000\n"
		     "0x7.0 eax=00000000 ebx=00002000 ecx=00000008 edx=00000000\n"
		     "0x7.1 eax=00000000 ebx=00000000 ecx=00000000 edx=00200000\n"
		     "0x80000008.0 eax=00003930 ebx=00000000 ecx=00000000 edx=00000000\n"
		     "0xd.0 eax=00000007 ebx=00000340 ecx=00000340 edx=00000000\n"
		     "0xd.1 eax=0000000f ebx=00000340 ecx=00000000 edx=00000000\n"
		     "0xd.2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000000\n");
	tap_ok(m.feat.xsave && m.feat.avx && m.feat.pku && m.feat.fcs_fds_deprecated &&
		       m.feat.apx && !m.feat.shstk,
	       "leaves 1/7.0/7.1 read bit by bit (PKU without PKRU component)");
	tap_ok(!m.feat.xsaveerptr && m.impl.x87_errptr_only_if_es,
	       "AMD without XSaveErPtr in 0x80000008: error pointers only with FSW.ES");
	tap_eq_u64(m.feat.linear_bits, 0x39, "linear_bits from 0x80000008.EAX[15:8]");
	tap_ok(m.feat.hwp, "feat.hwp header overrides derivation");
	tap_ok(!m.impl.xsaveopt_modified_opt && m.impl.xsaveopt_init_opt, "impl header overrides one field");
	tap_eq_u64(m.impl.mxcsr_mask, 0xffbf, "impl.mxcsr_mask header");
	tap_eq_u64(m.leaf_present, (1u << XS_LEAF_1) | (1u << XS_LEAF_7_0) | (1u << XS_LEAF_7_1) |
					   (1u << XS_LEAF_80000008),
		   "leaf_present bits");
}

static bool round_trip(const struct xs_model *m, char **textp)
{
	char *text = NULL, err[512];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct xs_model back;
	bool ok;

	if (!f)
		return false;
	ok = xs_model_write(m, f) == 0;
	fclose(f);
	ok = ok && xs_model_parse(text, "written", &back, err, sizeof(err)) == 0 &&
	     xs_model_equal(m, &back);
	if (!ok)
		tap_diag("round trip of %s failed: %s", m->name, err);
	if (textp)
		*textp = text;
	else
		free(text);
	return ok;
}

static void test_write(void)
{
	struct xs_model m, other;
	char err[512], *text;

	for (size_t i = 0; i < xs_builtin_count(); i++) {
		xs_model_load(xs_builtin_name(i), &m, err, sizeof(err));
		tap_ok(round_trip(&m, NULL), "write/parse round trip: %s", xs_builtin_name(i));
	}
	m = parse_ok("feature-leaf model",
		     "# name: leaves\n# vendor: GenuineIntel\n# feat.ibt: 1\n# impl.xsaves_init_opt: 0\n"
		     "0x6.0 eax=00002080 ebx=00000000 ecx=00000000 edx=00000000\n"
		     "0x7.0 eax=00000000 ebx=00000000 ecx=00000000 edx=00000000\n"
		     "0xd.0 eax=00000007 ebx=00000340 ecx=00000340 edx=00000000\n"
		     "0xd.1 eax=0000000f ebx=00000340 ecx=00000000 edx=00000000\n"
		     "0xd.2 eax=00000100 ebx=00000240 ecx=00000000 edx=00000000\n");
	tap_ok(m.feat.hwp && m.feat.hdc && m.feat.ibt && !m.impl.xsaves_init_opt, "leaf 6 and overrides");
	tap_ok(round_trip(&m, &text), "round trip with feature leaves and overrides");
	tap_ok(strstr(text, "0x6.0 eax=00002080") && strstr(text, "# feat.ibt: 1") &&
		       strstr(text, "# impl.xsaves_init_opt: 0") && !strstr(text, "feat.hwp"),
	       "written text carries leaves, impl fields and only the needed feat overrides");
	free(text);
	/* xs_model_equal notices a difference. */
	other = m;
	other.impl.mxcsr_mask ^= 1;
	tap_ok(!xs_model_equal(&m, &other), "models with different MXCSR_MASK differ");
	other = m;
	other.leaf_d[9].eax = 1;
	tap_ok(!xs_model_equal(&m, &other), "models with different leaf 0xD differ");
	other = m;
	other.feat.pku = !other.feat.pku;
	tap_ok(!xs_model_equal(&m, &other), "models with different features differ");
}

static void test_host(void)
{
	struct xs_model m;
	char err[512];

#if defined(__x86_64__) || defined(__i386__)
	if (!tap_ok(xs_model_from_host(&m, err, sizeof(err)) == 0, "host model loads")) {
		tap_diag("%s", err);
		return;
	}
	tap_ok(!strcmp(m.name, "host") && (m.xcr0_supported & 3) == 3, "host: name, x87|sse");
	tap_ok(m.leaf_present & (1u << XS_LEAF_1), "host: leaf 1 read");
	tap_ok(m.impl.mxcsr_mask != 0, "host: MXCSR_MASK measured (0x%x)", m.impl.mxcsr_mask);
	if (m.dump_masks_known) {
		tap_eq_u64(xs_model_cpuid_d(&m, m.dump_xcr0, m.dump_xss, 0).ebx, m.leaf_d[0].ebx,
			   "host: 0.EBX at current XCR0");
		tap_eq_u64(xs_model_cpuid_d(&m, m.dump_xcr0, m.dump_xss, 1).ebx, m.leaf_d[1].ebx,
			   "host: 1.EBX at current XCR0|XSS (xss inferred 0x%llx)",
			   (unsigned long long)m.dump_xss);
	} else {
		tap_skip("host: XCR0/IA32_XSS not determinable");
	}
	tap_ok(round_trip(&m, NULL), "host: write/parse round trip");
	tap_ok(xs_model_load("host", &m, err, sizeof(err)) == 0 && !strcmp(m.source, "host CPUID"),
	       "xs_model_load(\"host\")");
#else
	tap_skip("host is not x86");
#endif
}

/* Damaged copies of every built-in text: each parse either fails with a
 * "t:LINE: reason" message or yields a model whose sizes are consistent. */
static void test_mutations(void)
{
	static const char alphabet[] = "0123456789abcdefx.=# \n:zEAX";
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned bad_msg = 0, bad_model = 0, rejected = 0, total = 0;

	for (size_t b = 0; b < xs_builtin_count(); b++) {
		const char *orig = xs_builtin_text(b);
		size_t len = strlen(orig);
		char *text = malloc(len + 1);

		for (int k = 0; k < 300; k++) {
			struct xs_model m;
			char err[512];

			memcpy(text, orig, len + 1);
			for (int e = 0; e < 1 + k % 3; e++) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				text[(seed >> 33) % len] = alphabet[(seed >> 13) % (sizeof(alphabet) - 1)];
			}
			total++;
			if (xs_model_parse(text, "t", &m, err, sizeof(err)) != 0) {
				unsigned line;
				rejected++;
				if (sscanf(err, "t:%u: ", &line) != 1 || !strstr(err, ": "))
					bad_msg++;
			} else if (xs_size_standard(&m, m.xcr0_supported) != m.leaf_d[0].ecx ||
				   (m.dump_masks_known &&
				    xs_size_standard(&m, m.dump_xcr0) != m.leaf_d[0].ebx)) {
				bad_model++;
			}
		}
		free(text);
	}
	tap_diag("%u damaged texts, %u rejected", total, rejected);
	tap_ok(bad_msg == 0, "every rejection of a damaged text names t:LINE (%u bad)", bad_msg);
	tap_ok(bad_model == 0, "every accepted damaged text is consistent (%u bad)", bad_model);
	tap_ok(rejected > total / 4, "most damaged texts are rejected");
}

int main(void)
{
	tap_plan_lazy();
	test_files_load();
	test_builtins_equal_files();
	test_base_valid();
	test_rejects();
	test_xcr0_rules();
	test_features();
	test_write();
	test_host();
	test_mutations();
	return tap_done();
}
