/* XSAVE area layouts (SDM Vol. 1 13.4) and the CPUID.(0DH) sizes that depend
 * on XCR0 / IA32_XSS (Vol. 2A CPUID leaf 0DH). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xstate/model.h"

/* Legacy-region slots reported for x87 and SSE (13.4.1). */
#define X87_OFFSET 0u
#define X87_SIZE 160u
#define SSE_OFFSET 160u
#define SSE_SIZE 256u

static bool comp_present(const struct xs_model *m, unsigned i)
{
	return m->comp[i].size != 0;
}

static void layout_legacy(uint64_t mask, struct xs_layout *out)
{
	if (mask & XS_BIT(XS_C_X87)) {
		out->offset[XS_C_X87] = X87_OFFSET;
		out->size_of[XS_C_X87] = X87_SIZE;
	}
	if (mask & XS_BIT(XS_C_SSE)) {
		out->offset[XS_C_SSE] = SSE_OFFSET;
		out->size_of[XS_C_SSE] = SSE_SIZE;
	}
}

/* 13.4.3 standard format: component i >= 2 at CPUID.(0DH,i).EBX. Supervisor
 * and unsupported components have no standard offset and are left out. */
void xs_layout_standard(const struct xs_model *m, uint64_t mask, struct xs_layout *out)
{
	uint32_t end = XS_EXT_OFFSET;

	memset(out, 0, sizeof(*out));
	out->compacted = false;
	mask &= ~XS_COMPACTED_BIT;
	layout_legacy(mask, out);
	out->mask = mask & XS_MASK_FPSSE;
	for (unsigned i = 2; i < 63; i++) {
		if (!(mask & XS_BIT(i)) || !comp_present(m, i) || m->comp[i].supervisor)
			continue;
		out->mask |= XS_BIT(i);
		out->offset[i] = m->comp[i].offset;
		out->size_of[i] = m->comp[i].size;
		if (m->comp[i].offset + m->comp[i].size > end)
			end = m->comp[i].offset + m->comp[i].size;
	}
	out->size = end;
}

/* 13.4.3 compacted format: components of XCOMP_BV[62:2] in ascending order
 * from 576, each rounded up to 64 first if CPUID.(0DH,i).ECX[1] says so.
 * Bits 0 and 1 do not move anything. */
void xs_layout_compacted(const struct xs_model *m, uint64_t xcomp_bv, struct xs_layout *out)
{
	uint32_t loc = XS_EXT_OFFSET;

	memset(out, 0, sizeof(*out));
	out->compacted = true;
	xcomp_bv &= ~XS_COMPACTED_BIT;
	layout_legacy(xcomp_bv, out);
	out->mask = xcomp_bv & XS_MASK_FPSSE;
	for (unsigned i = 2; i < 63; i++) {
		if (!(xcomp_bv & XS_BIT(i)) || !comp_present(m, i))
			continue;
		if (m->comp[i].align64)
			loc = (loc + 63u) & ~63u;
		out->mask |= XS_BIT(i);
		out->offset[i] = loc;
		out->size_of[i] = m->comp[i].size;
		loc += m->comp[i].size;
	}
	out->size = loc;
}

uint32_t xs_size_standard(const struct xs_model *m, uint64_t mask)
{
	uint32_t end = XS_EXT_OFFSET;

	mask &= ~(XS_MASK_FPSSE | XS_COMPACTED_BIT);
	while (mask) {
		unsigned i = (unsigned)__builtin_ctzll(mask);
		mask &= mask - 1;
		if (comp_present(m, i) && !m->comp[i].supervisor &&
		    m->comp[i].offset + m->comp[i].size > end)
			end = m->comp[i].offset + m->comp[i].size;
	}
	return end;
}

uint32_t xs_size_compacted(const struct xs_model *m, uint64_t mask)
{
	uint32_t loc = XS_EXT_OFFSET;

	mask &= ~(XS_MASK_FPSSE | XS_COMPACTED_BIT);
	while (mask) {
		unsigned i = (unsigned)__builtin_ctzll(mask);
		mask &= mask - 1;
		if (m->comp[i].align64)
			loc = (loc + 63u) & ~63u;
		loc += m->comp[i].size; /* 0 for unsupported components */
	}
	return loc;
}

/* Vol. 2A CPUID 0DH: sub-leaf 0 EBX is the standard size for XCR0; sub-leaf
 * 1 EBX the compacted size for XCR0|IA32_XSS when XSAVES exists, for XCR0
 * when only XSAVEC does, else 0. Everything else is fixed enumeration. */
struct xs_cpuid xs_model_cpuid_d(const struct xs_model *m, uint64_t xcr0, uint64_t xss,
				 unsigned subleaf)
{
	struct xs_cpuid r = { 0, 0, 0, 0 };

	if (subleaf >= 64)
		return r; /* invalid sub-leaf: all zero */
	r = m->leaf_d[subleaf];
	if (subleaf == 0) {
		r.ebx = xs_size_standard(m, xcr0);
	} else if (subleaf == 1) {
		if (m->has_xsaves)
			r.ebx = xs_size_compacted(m, xcr0 | xss);
		else if (m->has_xsavec)
			r.ebx = xs_size_compacted(m, xcr0);
		else
			r.ebx = 0;
	}
	return r;
}

const char *xs_mask_names(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!mask) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (unsigned i = 0; i < 64; i++) {
		int n;

		if (!(mask & XS_BIT(i)))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "|" : "", xs_comp_name(i));
		if (n < 0 || (size_t)n >= len - used) {
			buf[len - 1] = '\0';
			break;
		}
		used += (size_t)n;
	}
	return buf;
}

static int parse_token(const char *tok, size_t n, uint64_t *bits)
{
	char word[32];
	char *end;
	int comp;

	if (n == 0 || n >= sizeof(word))
		return -1;
	memcpy(word, tok, n);
	word[n] = '\0';
	if (isdigit((unsigned char)word[0])) {
		unsigned long long v;

		errno = 0;
		v = strtoull(word, &end, 0);
		if (errno || *end)
			return -1;
		*bits = v;
		return 0;
	}
	if (strcmp(word, "none") == 0) {
		*bits = 0;
		return 0;
	}
	comp = xs_comp_lookup(word);
	if (comp < 0)
		return -1;
	*bits = XS_BIT(comp);
	return 0;
}

int xs_mask_parse(const char *s, uint64_t *out)
{
	uint64_t mask = 0;
	bool any = false;

	if (!s)
		return -1;
	for (;;) {
		const char *start, *stop;
		uint64_t bits;

		while (isspace((unsigned char)*s))
			s++;
		start = s;
		while (*s && *s != '|' && *s != ',' && *s != '+')
			s++;
		stop = s;
		while (stop > start && isspace((unsigned char)stop[-1]))
			stop--;
		if (parse_token(start, (size_t)(stop - start), &bits) != 0)
			return -1;
		mask |= bits;
		any = true;
		if (!*s)
			break;
		s++;
	}
	if (!any)
		return -1;
	*out = mask;
	return 0;
}
