/* The host processor as a CPU model: CPUID read directly, written in the
 * data/cpus format and parsed by the ordinary parser, so the host passes the
 * same validation as every file. */
#include <stdlib.h>
#include <string.h>

#include "xstate/model.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static struct xs_cpuid cpuid(uint32_t leaf, uint32_t sub)
{
	struct xs_cpuid r;

	__cpuid_count(leaf, sub, r.eax, r.ebx, r.ecx, r.edx);
	return r;
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* MXCSR_MASK as FXSAVE stores it; 0 means the default 0xFFBF (SDM Vol. 1
 * 11.6.6, arch/x86/kernel/fpu/init.c). */
static uint32_t measure_mxcsr_mask(void)
{
	uint8_t area[512] __attribute__((aligned(16))); /* FXSAVE needs 16 */
	uint32_t mask;

	memset(area, 0, sizeof(area));
	__asm__ volatile("fxsave %0" : "=m"(area));
	memcpy(&mask, area + 28, sizeof(mask));
	return mask ? mask : 0xFFBFu;
}

static void put_regs(FILE *f, uint32_t leaf, unsigned sub, struct xs_cpuid r)
{
	fprintf(f, "0x%x.%u eax=%08x ebx=%08x ecx=%08x edx=%08x\n", leaf, sub, r.eax, r.ebx,
		r.ecx, r.edx);
}

/* IA32_XSS cannot be read from user mode. Like the data set's checker, take
 * the one subset of the supported supervisor components whose compacted
 * size with XCR0 gives 1.EBX; none or several: unknown. */
static int infer_xss(const struct xs_model *m, uint64_t xcr0, uint64_t *xss)
{
	uint64_t sup = m->xss_supported, sub = 0;
	unsigned found = 0;

	if (!m->has_xsaves) {
		*xss = 0;
		return 0;
	}
	if (__builtin_popcountll(sup) > 16)
		return -1;
	do {
		if (xs_size_compacted(m, xcr0 | sub) == m->leaf_d[1].ebx) {
			*xss = sub;
			found++;
		}
		sub = (sub - sup) & sup; /* next subset of sup */
	} while (sub);
	return found == 1 ? 0 : -1;
}

static void host_identity(char vendor[13], char brand[49], uint32_t *sig, bool *osxsave)
{
	struct xs_cpuid r = cpuid(0, 0);
	uint32_t maxext;

	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = '\0';
	r = cpuid(1, 0);
	*sig = r.eax;
	*osxsave = (r.ecx >> 27) & 1;
	brand[0] = '\0';
	maxext = cpuid(0x80000000u, 0).eax;
	if (maxext >= 0x80000004u) {
		for (uint32_t i = 0; i < 3; i++) {
			r = cpuid(0x80000002u + i, 0);
			memcpy(brand + 16 * i, &r, 16);
		}
		brand[48] = '\0';
	}
}

/* Trim the brand string's padding and replace anything non-printable. */
static void clean_brand(char *b)
{
	char *s = b;
	size_t n;

	while (*s == ' ')
		s++;
	memmove(b, s, strlen(s) + 1);
	n = strlen(b);
	while (n && b[n - 1] == ' ')
		b[--n] = '\0';
	for (s = b; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

static void host_text(FILE *f, uint64_t *xcr0, bool *osxsave)
{
	char vendor[13], brand[49];
	uint32_t sig, maxleaf, maxext;

	host_identity(vendor, brand, &sig, osxsave);
	clean_brand(brand);
	maxleaf = cpuid(0, 0).eax;
	maxext = cpuid(0x80000000u, 0).eax;
	fprintf(f, "# name: Host CPU: %s\n# vendor: %s\n# brand: %s\n", brand[0] ? brand : vendor,
		vendor, brand);
	fprintf(f, "# signature: 0x%08x (CPUID.1.EAX)\n", sig);
	fprintf(f, "# impl.mxcsr_mask: 0x%x (measured with FXSAVE)\n", measure_mxcsr_mask());
	if (*osxsave)
		*xcr0 = xgetbv0();
	put_regs(f, 1, 0, cpuid(1, 0));
	if (maxleaf >= 6)
		put_regs(f, 6, 0, cpuid(6, 0));
	if (maxleaf >= 7) {
		struct xs_cpuid l7 = cpuid(7, 0);
		put_regs(f, 7, 0, l7);
		if (l7.eax >= 1)
			put_regs(f, 7, 1, cpuid(7, 1));
	}
	if (maxext >= 0x80000008u)
		put_regs(f, 0x80000008u, 0, cpuid(0x80000008u, 0));
	if (maxleaf >= 0xd) {
		for (unsigned i = 0; i < 64; i++) {
			struct xs_cpuid r = cpuid(0xd, i);
			if (i < 2 || r.eax | r.ebx | r.ecx | r.edx)
				put_regs(f, 0xd, i, r);
		}
	}
}

int xs_model_from_host(struct xs_model *m, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	uint64_t xcr0 = 0, xss;
	bool osxsave = false;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (!f) {
		snprintf(err, errlen, "host: out of memory");
		return -1;
	}
	if (!(cpuid(1, 0).ecx & (1u << 26))) {
		fclose(f);
		free(text);
		snprintf(err, errlen, "host: the processor does not support XSAVE (CPUID.1.ECX[26]=0)");
		return -1;
	}
	host_text(f, &xcr0, &osxsave);
	fclose(f);
	r = xs_model_parse(text, "host", m, err, errlen);
	free(text);
	if (r)
		return r;
	snprintf(m->name, sizeof(m->name), "host");
	snprintf(m->source, sizeof(m->source), "host CPUID");
	/* The OS configuration now in force: XCR0 read directly, IA32_XSS
	 * inferred; kept only if it reproduces both sizes. */
	if (osxsave && infer_xss(m, xcr0, &xss) == 0 &&
	    xs_size_standard(m, xcr0) == m->leaf_d[0].ebx && !xs_xcr0_invalid_reason(m, xcr0) &&
	    !xs_xss_invalid_reason(m, xss)) {
		m->dump_masks_known = true;
		m->dump_xcr0 = xcr0;
		m->dump_xss = xss;
	}
	return 0;
}

#else

int xs_model_from_host(struct xs_model *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	snprintf(err, errlen, "host: not an x86 processor");
	return -1;
}

#endif
