/* The exec program language: parse, print back, run on a modelled CPU.
 *
 * Parsing is separate from running so a program with a syntax error runs
 * nothing, and so other layers (the host differential test) can build a
 * program in code, run it on the model, and print it as a reproducer.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xstate/prog.h"

/* ---- operation table ---- */

enum arg_form {
	F_NONE,       /* fninit */
	F_BUF_FILE,   /* load BUF FILE */
	F_BUF_BYTE,   /* fill BUF BYTE */
	F_SET,        /* set BUF OFFSET HEX... */
	F_DUMP,       /* dump BUF [OFF LEN] */
	F_BUFREF,     /* decode BUF[+OFF] */
	F_XSAVE,      /* xsave BUF[+OFF] [RFBM] */
	F_NUM,        /* xgetbv ECX, cpl N, ldmxcsr VALUE */
	F_NUM_MASK,   /* xsetbv ECX VALUE */
	F_MSR,        /* rdmsr NAME */
	F_MSR_VAL,    /* wrmsr NAME VALUE */
	F_REG,        /* read REG */
	F_REG_VAL,    /* write REG HEX */
};

static const struct {
	const char *name;
	enum arg_form form;
	const char *syntax;
} ops[XS_OP_COUNT] = {
	[XS_OP_LOAD] = { "load", F_BUF_FILE, "load BUF FILE" },
	[XS_OP_STORE] = { "store", F_BUF_FILE, "store BUF FILE" },
	[XS_OP_FILL] = { "fill", F_BUF_BYTE, "fill BUF BYTE" },
	[XS_OP_SET] = { "set", F_SET, "set BUF OFFSET HEXBYTES..." },
	[XS_OP_DUMP] = { "dump", F_DUMP, "dump BUF [OFFSET LENGTH]" },
	[XS_OP_DECODE] = { "decode", F_BUFREF, "decode BUF[+OFF]" },
	[XS_OP_XSAVE] = { "xsave", F_XSAVE, "xsave BUF[+OFF] [RFBM]" },
	[XS_OP_XSAVEOPT] = { "xsaveopt", F_XSAVE, "xsaveopt BUF[+OFF] [RFBM]" },
	[XS_OP_XSAVEC] = { "xsavec", F_XSAVE, "xsavec BUF[+OFF] [RFBM]" },
	[XS_OP_XSAVES] = { "xsaves", F_XSAVE, "xsaves BUF[+OFF] [RFBM]" },
	[XS_OP_XRSTOR] = { "xrstor", F_XSAVE, "xrstor BUF[+OFF] [RFBM]" },
	[XS_OP_XRSTORS] = { "xrstors", F_XSAVE, "xrstors BUF[+OFF] [RFBM]" },
	[XS_OP_XGETBV] = { "xgetbv", F_NUM, "xgetbv ECX" },
	[XS_OP_XSETBV] = { "xsetbv", F_NUM_MASK, "xsetbv ECX VALUE" },
	[XS_OP_RDMSR] = { "rdmsr", F_MSR, "rdmsr NAME|NUMBER" },
	[XS_OP_WRMSR] = { "wrmsr", F_MSR_VAL, "wrmsr NAME|NUMBER VALUE" },
	[XS_OP_READ] = { "read", F_REG, "read REG" },
	[XS_OP_WRITE] = { "write", F_REG_VAL, "write REG HEX" },
	[XS_OP_LDMXCSR] = { "ldmxcsr", F_NUM, "ldmxcsr VALUE" },
	[XS_OP_FNINIT] = { "fninit", F_NONE, "fninit" },
	[XS_OP_VZEROUPPER] = { "vzeroupper", F_NONE, "vzeroupper" },
	[XS_OP_TILERELEASE] = { "tilerelease", F_NONE, "tilerelease" },
	[XS_OP_RDPKRU] = { "rdpkru", F_NONE, "rdpkru" },
	[XS_OP_WRPKRU] = { "wrpkru", F_NUM, "wrpkru VALUE" },
	[XS_OP_CPL] = { "cpl", F_NUM, "cpl 0|1|2|3" },
	[XS_OP_TS] = { "ts", F_NUM, "ts 0|1" },
	[XS_OP_AC] = { "ac", F_NUM, "ac 0|1" },
	[XS_OP_OSXSAVE] = { "osxsave", F_NUM, "osxsave 0|1" },
	[XS_OP_XINUSE] = { "xinuse", F_NONE, "xinuse" },
	[XS_OP_CPUID] = { "cpuid", F_NUM, "cpuid SUBLEAF" },
};

const char *xs_op_name(enum xs_op_kind k)
{
	return (unsigned)k < XS_OP_COUNT ? ops[k].name : "?";
}

bool xs_op_is_xsave_family(enum xs_op_kind k)
{
	return k >= XS_OP_XSAVE && k <= XS_OP_XRSTORS;
}

size_t xs_prog_bufsize(const struct xs_model *m)
{
	size_t std = xs_size_standard(m, m->xcr0_supported);
	size_t cmp = xs_size_compacted(m, m->xcr0_supported | m->xss_supported);
	size_t n = std > cmp ? std : cmp;

	n = (n + 63) & ~(size_t)63;
	return n < 4096 ? 4096 : n;
}

void xs_prog_init(struct xs_prog *p, const struct xs_model *m)
{
	memset(p, 0, sizeof(*p));
	p->model = m;
	p->bufsize = xs_prog_bufsize(m);
}

void xs_prog_free(struct xs_prog *p)
{
	for (size_t i = 0; i < p->nops; i++) {
		free(p->ops[i].data);
		free(p->ops[i].path);
	}
	free(p->ops);
	p->ops = NULL;
	p->nops = p->cap = 0;
}

struct xs_op *xs_prog_append(struct xs_prog *p, const struct xs_op *op)
{
	if (p->nops == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		struct xs_op *n = realloc(p->ops, cap * sizeof(*n));

		if (!n) {
			fprintf(stderr, "xstate: out of memory\n");
			abort();
		}
		p->ops = n;
		p->cap = cap;
	}
	p->ops[p->nops] = *op;
	return &p->ops[p->nops++];
}

/* ---- parsing ---- */

struct cursor {
	struct xs_prog *p;
	int line;
	char *err;
	size_t errlen;
	char *tok[512];
	int ntok;
	const char *opname;
};

__attribute__((format(printf, 2, 3))) static int perr(struct cursor *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(c->err, c->errlen, "line %d: ", c->line);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	/* The message quotes untrusted text: no control characters reach
	 * the terminal. */
	for (char *q = c->err; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= XS_PROG_NAME_MAX)
		return false;
	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

int xs_prog_buffer(struct xs_prog *p, const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (!valid_name(name, n)) {
		snprintf(err, errlen,
			 "bad buffer name '%s' (1-%d letters, digits or '_', not starting with a digit)",
			 name, XS_PROG_NAME_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < p->nbufs; i++)
		if (!strcmp(p->bufname[i], name))
			return (int)i;
	if (p->nbufs == XS_PROG_MAX_BUFS) {
		snprintf(err, errlen, "too many buffers (at most %d): '%s'", XS_PROG_MAX_BUFS, name);
		return -1;
	}
	memcpy(p->bufname[p->nbufs], name, n + 1);
	return (int)p->nbufs++;
}

static int want_args(struct cursor *c, int min, int max, const char *syntax)
{
	int n = c->ntok - 1;

	if (n < min || n > max)
		return perr(c, "%s: expected '%s' (%d argument%s given)", c->opname, syntax, n,
			    n == 1 ? "" : "s");
	return 0;
}

/* BUF or BUF+OFF. */
static int parse_bufref(struct cursor *c, const char *tok, bool allow_off, struct xs_op *op)
{
	char name[XS_PROG_NAME_MAX + 1], e[160];
	const char *plus = strchr(tok, '+');
	size_t n = plus ? (size_t)(plus - tok) : strlen(tok);
	uint64_t off = 0;
	int b;

	if (n > XS_PROG_NAME_MAX)
		n = XS_PROG_NAME_MAX; /* too long: valid_name rejects it */
	memcpy(name, tok, n);
	name[n] = '\0';
	if (plus) {
		if (!allow_off)
			return perr(c, "%s: '%s': an offset is not allowed here", c->opname, tok);
		if (parse_u64(plus + 1, &off) != 0)
			return perr(c, "%s: '%s': offset after '+' is not a number", c->opname, tok);
		if (off >= c->p->bufsize)
			return perr(c, "%s: '%s': offset %" PRIu64 " is outside the %zu-byte buffer",
				    c->opname, tok, off, c->p->bufsize);
	}
	b = xs_prog_buffer(c->p, name, e, sizeof(e));
	if (b < 0)
		return perr(c, "%s: %s", c->opname, e);
	op->buf = b;
	op->off = (uint32_t)off;
	return 0;
}

static int parse_num(struct cursor *c, const char *tok, const char *what, uint64_t max,
		     uint64_t *out)
{
	if (parse_u64(tok, out) != 0)
		return perr(c, "%s: %s '%s' is not a number", c->opname, what, tok);
	if (*out > max)
		return perr(c, "%s: %s %s is larger than 0x%" PRIx64, c->opname, what, tok, max);
	return 0;
}

static int parse_mask(struct cursor *c, const char *tok, const char *what, uint64_t *out)
{
	if (parse_u64(tok, out) == 0 || xs_mask_parse(tok, out) == 0)
		return 0;
	return perr(c, "%s: %s '%s' is neither a number nor component names joined by '|'",
		    c->opname, what, tok);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* HEXBYTES tokens: pairs of hex digits in memory order. */
static int parse_hexbytes(struct cursor *c, int first, struct xs_op *op)
{
	size_t digits = 0, k = 0;
	uint8_t *data;

	for (int t = first; t < c->ntok; t++) {
		for (const char *s = c->tok[t]; *s; s++) {
			if (hexval((unsigned char)*s) < 0)
				return perr(c, "set: '%s' is not hex bytes (pairs of 0-9a-f, no 0x)",
					    c->tok[t]);
			digits++;
		}
	}
	if (digits == 0 || digits % 2)
		return perr(c, "set: %zu hex digits given, need a non-zero even number", digits);
	if (op->off + digits / 2 > c->p->bufsize)
		return perr(c, "set: %zu bytes at offset %u go past the %zu-byte buffer", digits / 2,
			    op->off, c->p->bufsize);
	data = malloc(digits / 2);
	if (!data)
		return perr(c, "out of memory");
	for (int t = first; t < c->ntok; t++)
		for (const char *s = c->tok[t]; *s; s++, k++) {
			if (k % 2 == 0)
				data[k / 2] = (uint8_t)(hexval((unsigned char)*s) << 4);
			else
				data[k / 2] |= (uint8_t)hexval((unsigned char)*s);
		}
	op->data = data;
	op->len = (uint32_t)(digits / 2);
	return 0;
}

/* A register value: a hex number (0x optional, '_' allowed between digits),
 * most significant digit first, at most the register's width. */
static int parse_regval(struct cursor *c, const char *tok, struct xs_op *op)
{
	const char *s = tok;
	size_t size = op->reg.size, nd = 0, len;
	uint8_t *v;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '_')
			continue;
		if (hexval((unsigned char)s[i]) < 0)
			return perr(c, "write: value '%s' is not a hex number", tok);
		nd++;
	}
	if (nd == 0)
		return perr(c, "write: value '%s' has no digits", tok);
	if (nd > 2 * size)
		return perr(c, "write: value has %zu hex digits, %s holds %zu bytes (%zu digits)", nd,
			    op->reg.name, size, 2 * size);
	v = calloc(1, size);
	if (!v)
		return perr(c, "out of memory");
	/* Walk from the least significant digit. */
	for (size_t i = len, k = 0; i-- > 0;) {
		int h;

		if (s[i] == '_')
			continue;
		h = hexval((unsigned char)s[i]);
		v[k / 2] |= (uint8_t)(k % 2 ? h << 4 : h);
		k++;
	}
	op->data = v;
	op->len = (uint32_t)size;
	return 0;
}

static int parse_msr(struct cursor *c, const char *tok, uint64_t *out)
{
	long m = xs_msr_lookup(tok);

	if (m >= 0) {
		*out = (uint64_t)m;
		return 0;
	}
	if (parse_u64(tok, out) == 0 && *out <= 0xFFFFFFFFu)
		return 0;
	return perr(c, "%s: '%s' is neither an MSR name (IA32_XSS, IA32_XFD, ...) nor a 32-bit "
		    "number", c->opname, tok);
}

static int parse_args(struct cursor *c, enum xs_op_kind k, struct xs_op *op)
{
	const char *syn = ops[k].syntax;
	uint64_t v;

	switch (ops[k].form) {
	case F_NONE:
		return want_args(c, 0, 0, syn);
	case F_BUF_FILE:
		if (want_args(c, 2, 2, syn) || parse_bufref(c, c->tok[1], false, op))
			return -1;
		op->path = strdup(c->tok[2]);
		return op->path ? 0 : perr(c, "out of memory");
	case F_BUF_BYTE:
		if (want_args(c, 2, 2, syn) || parse_bufref(c, c->tok[1], false, op))
			return -1;
		return parse_num(c, c->tok[2], "BYTE", 0xFF, &op->arg);
	case F_SET:
		if (c->ntok < 4)
			return want_args(c, 3, 3, syn);
		if (parse_bufref(c, c->tok[1], false, op) ||
		    parse_num(c, c->tok[2], "OFFSET", c->p->bufsize - 1, &v))
			return -1;
		op->off = (uint32_t)v;
		return parse_hexbytes(c, 3, op);
	case F_DUMP:
		if (want_args(c, 1, 3, syn) || parse_bufref(c, c->tok[1], false, op))
			return -1;
		if (c->ntok == 3)
			return perr(c, "dump: give both OFFSET and LENGTH, or neither");
		if (c->ntok == 4) {
			uint64_t off, len;

			if (parse_num(c, c->tok[2], "OFFSET", c->p->bufsize - 1, &off) ||
			    parse_num(c, c->tok[3], "LENGTH", c->p->bufsize, &len))
				return -1;
			if (off + len > c->p->bufsize)
				return perr(c, "dump: %s bytes at %s go past the %zu-byte buffer",
					    c->tok[3], c->tok[2], c->p->bufsize);
			op->has_range = true;
			op->off = (uint32_t)off;
			op->len = (uint32_t)len;
		}
		return 0;
	case F_BUFREF:
		if (want_args(c, 1, 1, syn))
			return -1;
		return parse_bufref(c, c->tok[1], true, op);
	case F_XSAVE:
		if (want_args(c, 1, 2, syn) || parse_bufref(c, c->tok[1], true, op))
			return -1;
		op->arg = ~0ull;
		if (c->ntok == 3) {
			op->has_arg = true;
			return parse_mask(c, c->tok[2], "RFBM", &op->arg);
		}
		return 0;
	case F_NUM: {
		uint64_t max = UINT64_MAX;

		if (want_args(c, 1, 1, syn))
			return -1;
		if (k == XS_OP_CPL)
			max = 3;
		else if (k == XS_OP_TS || k == XS_OP_AC || k == XS_OP_OSXSAVE)
			max = 1;
		else if (k == XS_OP_XGETBV || k == XS_OP_LDMXCSR || k == XS_OP_WRPKRU)
			max = 0xFFFFFFFFu;
		else if (k == XS_OP_CPUID)
			max = 63;
		return parse_num(c, c->tok[1], k == XS_OP_XGETBV ? "ECX" : "value", max, &op->arg);
	}
	case F_NUM_MASK:
		if (want_args(c, 2, 2, syn) ||
		    parse_num(c, c->tok[1], "ECX", 0xFFFFFFFFu, &op->arg))
			return -1;
		return parse_mask(c, c->tok[2], "VALUE", &op->arg2);
	case F_MSR:
		if (want_args(c, 1, 1, syn))
			return -1;
		return parse_msr(c, c->tok[1], &op->arg);
	case F_MSR_VAL:
		if (want_args(c, 2, 2, syn) || parse_msr(c, c->tok[1], &op->arg))
			return -1;
		if (parse_u64(c->tok[2], &op->arg2) != 0)
			return perr(c, "wrmsr: VALUE '%s' is not a number", c->tok[2]);
		return 0;
	case F_REG:
	case F_REG_VAL:
		if (want_args(c, ops[k].form == F_REG ? 1 : 2, ops[k].form == F_REG ? 1 : 2, syn))
			return -1;
		if (xs_reg_lookup(c->p->model, c->tok[1], &op->reg) != 0)
			return perr(c, "%s: no register '%s' on CPU model %s", c->opname, c->tok[1],
				    c->p->model->name);
		if (ops[k].form == F_REG_VAL)
			return parse_regval(c, c->tok[2], op);
		op->len = op->reg.size;
		return 0;
	}
	return perr(c, "internal: unknown form");
}

int xs_prog_parse_line(struct xs_prog *p, const char *line, int lineno, char *err,
		       size_t errlen)
{
	struct cursor c = { .p = p, .line = lineno, .err = err, .errlen = errlen };
	size_t n = strlen(line);
	char *copy, *s, *hash;
	struct xs_op op;
	int k, r;

	if (n > XS_PROG_LINE_MAX)
		return perr(&c, "line is longer than %d characters", XS_PROG_LINE_MAX);
	copy = strdup(line);
	if (!copy)
		return perr(&c, "out of memory");
	hash = strchr(copy, '#');
	if (hash)
		*hash = '\0';
	for (s = strtok(copy, " \t\r\n\v\f"); s; s = strtok(NULL, " \t\r\n\v\f")) {
		if (c.ntok == (int)(sizeof(c.tok) / sizeof(c.tok[0]))) {
			free(copy);
			return perr(&c, "more than %zu words", sizeof(c.tok) / sizeof(c.tok[0]));
		}
		c.tok[c.ntok++] = s;
	}
	if (c.ntok == 0) {
		free(copy);
		return 0;
	}
	for (k = 0; k < XS_OP_COUNT; k++)
		if (!strcasecmp(c.tok[0], ops[k].name))
			break;
	if (k == XS_OP_COUNT) {
		perr(&c, "unknown operation '%.40s'%s", c.tok[0], strlen(c.tok[0]) > 40 ? "..." : "");
		free(copy);
		return -1;
	}
	memset(&op, 0, sizeof(op));
	op.kind = (enum xs_op_kind)k;
	op.line = lineno;
	op.buf = -1;
	c.opname = ops[k].name;
	r = parse_args(&c, op.kind, &op);
	free(copy);
	if (r) {
		free(op.data);
		free(op.path);
		return -1;
	}
	xs_prog_append(p, &op);
	return 0;
}

int xs_prog_parse(struct xs_prog *p, const char *text, char *err, size_t errlen)
{
	int lineno = 1;

	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		char *line = malloc(n + 1);
		int r;

		if (!line) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(line, text, n);
		line[n] = '\0';
		r = xs_prog_parse_line(p, line, lineno, err, errlen);
		free(line);
		if (r)
			return -1;
		text += n + (nl ? 1 : 0);
		lineno++;
	}
	return 0;
}

/* ---- printing ---- */

struct sbuf {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

static void sb_bufref(struct sbuf *b, const struct xs_prog *p, const struct xs_op *op)
{
	sb_printf(b, " %s", op->buf >= 0 && (size_t)op->buf < p->nbufs ? p->bufname[op->buf] : "?");
	if (op->off)
		sb_printf(b, "+%u", op->off);
}

void xs_prog_format_op(const struct xs_prog *p, const struct xs_op *op, char *out, size_t len)
{
	struct sbuf b = { out, 0, len };

	if (!len)
		return;
	out[0] = '\0';
	sb_printf(&b, "%s", xs_op_name(op->kind));
	switch (ops[op->kind].form) {
	case F_NONE:
		break;
	case F_BUF_FILE:
		sb_bufref(&b, p, op);
		sb_printf(&b, " %s", op->path ? op->path : "?");
		break;
	case F_BUF_BYTE:
		sb_bufref(&b, p, op);
		sb_printf(&b, " 0x%02" PRIx64, op->arg);
		break;
	case F_SET:
		sb_printf(&b, " %s %u ", p->bufname[op->buf], op->off);
		for (uint32_t i = 0; i < op->len; i++)
			sb_printf(&b, "%02x", op->data[i]);
		break;
	case F_DUMP:
		sb_printf(&b, " %s", p->bufname[op->buf]);
		if (op->has_range)
			sb_printf(&b, " %u %u", op->off, op->len);
		break;
	case F_BUFREF:
		sb_bufref(&b, p, op);
		break;
	case F_XSAVE:
		sb_bufref(&b, p, op);
		if (op->has_arg)
			sb_printf(&b, " 0x%" PRIx64, op->arg);
		break;
	case F_NUM:
		if (op->kind == XS_OP_LDMXCSR || op->kind == XS_OP_WRPKRU)
			sb_printf(&b, " 0x%" PRIx64, op->arg);
		else
			sb_printf(&b, " %" PRIu64, op->arg);
		break;
	case F_NUM_MASK:
		sb_printf(&b, " %" PRIu64 " 0x%" PRIx64, op->arg, op->arg2);
		break;
	case F_MSR:
	case F_MSR_VAL: {
		const char *n = xs_msr_name((uint32_t)op->arg);

		if (n)
			sb_printf(&b, " %s", n);
		else
			sb_printf(&b, " 0x%" PRIx64, op->arg);
		if (ops[op->kind].form == F_MSR_VAL)
			sb_printf(&b, " 0x%" PRIx64, op->arg2);
		break;
	}
	case F_REG:
		sb_printf(&b, " %s", op->reg.name);
		break;
	case F_REG_VAL: {
		uint32_t i = op->len;

		sb_printf(&b, " %s 0x", op->reg.name);
		while (i > 1 && op->data[i - 1] == 0)
			i--;
		while (i-- > 0)
			sb_printf(&b, "%02x", op->data[i]);
		break;
	}
	}
}

void xs_prog_print(const struct xs_prog *p, FILE *f)
{
	char line[XS_PROG_LINE_MAX];

	for (size_t i = 0; i < p->nops; i++) {
		xs_prog_format_op(p, &p->ops[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
}

/* ---- running ---- */

int xs_exec_setup_cpu(struct xs_cpu *c, uint64_t xcr0, uint64_t xss, char *err, size_t errlen)
{
	const struct xs_model *m = xs_cpu_model(c);

	xs_cpu_reset(c);
	if (xs_set_cr4_osxsave(c, true) != XS_OK) {
		snprintf(err, errlen, "setting CR4.OSXSAVE faults: %s", xs_cpu_fault_reason(c));
		return -1;
	}
	if (xs_xsetbv(c, 0, xcr0) != XS_OK) {
		snprintf(err, errlen, "XCR0 0x%" PRIx64 " is refused: %s", xcr0,
			 xs_cpu_fault_reason(c));
		return -1;
	}
	if (m->has_xsaves || xss) {
		if (xs_wrmsr(c, XS_MSR_XSS, xss) != XS_OK) {
			snprintf(err, errlen, "IA32_XSS 0x%" PRIx64 " is refused: %s", xss,
				 xs_cpu_fault_reason(c));
			return -1;
		}
	}
	return 0;
}

int xs_exec_init(struct xs_exec *e, struct xs_cpu *c, const struct xs_prog *p)
{
	memset(e, 0, sizeof(*e));
	e->cpu = c;
	e->bufsize = p->bufsize;
	for (size_t i = 0; i < p->nbufs; i++) {
		e->buf[i] = aligned_alloc(64, e->bufsize);
		if (!e->buf[i]) {
			xs_exec_free(e);
			return -1;
		}
		memset(e->buf[i], 0, e->bufsize);
		e->nbufs = i + 1;
	}
	return 0;
}

void xs_exec_free(struct xs_exec *e)
{
	for (size_t i = 0; i < e->nbufs; i++)
		free(e->buf[i]);
	e->nbufs = 0;
}

/* hexdump-style: 16 bytes a line, a line equal to the previous one is
 * printed as '*' once. */
static void dump(FILE *f, const uint8_t *b, size_t base, size_t len)
{
	bool starred = false;

	for (size_t o = 0; o < len; o += 16) {
		size_t n = len - o < 16 ? len - o : 16;

		if (o >= 16 && n == 16 && !memcmp(b + o, b + o - 16, 16)) {
			if (!starred)
				fprintf(f, "*\n");
			starred = true;
			continue;
		}
		starred = false;
		fprintf(f, "%06zx ", base + o);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				fputc(' ', f);
			if (i < n)
				fprintf(f, " %02x", b[o + i]);
			else
				fputs("   ", f);
		}
		fputc('\n', f);
	}
	fprintf(f, "%06zx\n", base + len);
}

static enum xs_exec_status io_error(struct xs_exec *e, const struct xs_prog *p,
				    const struct xs_op *op, const char *what)
{
	snprintf(e->err, sizeof(e->err), "line %d: %s %s: %s '%s': %s", op->line,
		 xs_op_name(op->kind), p->bufname[op->buf], what, op->path, strerror(errno));
	return XS_EXEC_ERROR;
}

static enum xs_exec_status do_load(struct xs_exec *e, const struct xs_prog *p,
				   const struct xs_op *op)
{
	/* Read into a scratch copy first: a refused load changes nothing. */
	uint8_t *tmp = malloc(e->bufsize + 1);
	FILE *f;
	size_t n;

	if (!tmp) {
		snprintf(e->err, sizeof(e->err), "line %d: out of memory", op->line);
		return XS_EXEC_ERROR;
	}
	f = fopen(op->path, "rb");
	if (!f) {
		free(tmp);
		return io_error(e, p, op, "cannot open");
	}
	n = fread(tmp, 1, e->bufsize + 1, f);
	if (ferror(f)) {
		enum xs_exec_status s = io_error(e, p, op, "cannot read");

		fclose(f);
		free(tmp);
		return s;
	}
	fclose(f);
	if (n > e->bufsize) {
		snprintf(e->err, sizeof(e->err),
			 "line %d: load %s: '%s' is larger than the %zu-byte buffer", op->line,
			 p->bufname[op->buf], op->path, e->bufsize);
		free(tmp);
		return XS_EXEC_ERROR;
	}
	memcpy(e->buf[op->buf], tmp, n);
	memset(e->buf[op->buf] + n, 0, e->bufsize - n);
	free(tmp);
	return XS_EXEC_OK;
}

static enum xs_exec_status do_store(struct xs_exec *e, const struct xs_prog *p,
				    const struct xs_op *op)
{
	FILE *f = fopen(op->path, "wb");
	bool ok;

	if (!f)
		return io_error(e, p, op, "cannot create");
	ok = fwrite(e->buf[op->buf], 1, e->bufsize, f) == e->bufsize;
	if (fclose(f) != 0)
		ok = false;
	if (!ok)
		return io_error(e, p, op, "cannot write");
	return XS_EXEC_OK;
}

static void print_le_hex(FILE *f, const uint8_t *v, size_t n)
{
	fputs("0x", f);
	while (n-- > 0)
		fprintf(f, "%02x", v[n]);
	fputc('\n', f);
}

/* Run one instruction-like op on the CPU; returns its fault. */
static enum xs_fault exec_insn(struct xs_exec *e, const struct xs_op *op, FILE *out)
{
	struct xs_cpu *c = e->cpu;
	uint8_t *mem = op->buf >= 0 ? e->buf[op->buf] + op->off : NULL;
	size_t len = e->bufsize - op->off;
	enum xs_fault f = XS_OK;
	uint64_t v = 0;
	uint32_t v32 = 0;

	switch (op->kind) {
	case XS_OP_XSAVE:
		return xs_xsave(c, mem, len, op->arg);
	case XS_OP_XSAVEOPT:
		return xs_xsaveopt(c, mem, len, op->arg);
	case XS_OP_XSAVEC:
		return xs_xsavec(c, mem, len, op->arg);
	case XS_OP_XSAVES:
		return xs_xsaves(c, mem, len, op->arg);
	case XS_OP_XRSTOR:
		return xs_xrstor(c, mem, len, op->arg);
	case XS_OP_XRSTORS:
		return xs_xrstors(c, mem, len, op->arg);
	case XS_OP_XGETBV:
		f = xs_xgetbv(c, (uint32_t)op->arg, &v);
		if (f == XS_OK && out)
			fprintf(out, "0x%" PRIx64 "\n", v);
		return f;
	case XS_OP_XSETBV:
		return xs_xsetbv(c, (uint32_t)op->arg, op->arg2);
	case XS_OP_RDMSR:
		f = xs_rdmsr(c, (uint32_t)op->arg, &v);
		if (f == XS_OK && out)
			fprintf(out, "0x%" PRIx64 "\n", v);
		return f;
	case XS_OP_WRMSR:
		return xs_wrmsr(c, (uint32_t)op->arg, op->arg2);
	case XS_OP_READ: {
		uint8_t val[8192];

		if (op->reg.size > sizeof(val))
			return XS_OK;
		f = xs_reg_read(c, &op->reg, val);
		if (f == XS_OK && out)
			print_le_hex(out, val, op->reg.size);
		return f;
	}
	case XS_OP_WRITE:
		return xs_reg_write(c, &op->reg, op->data);
	case XS_OP_LDMXCSR:
		return xs_ldmxcsr(c, (uint32_t)op->arg);
	case XS_OP_FNINIT:
		return xs_fninit(c);
	case XS_OP_VZEROUPPER:
		return xs_vzeroupper(c);
	case XS_OP_TILERELEASE:
		return xs_tilerelease(c);
	case XS_OP_RDPKRU:
		f = xs_rdpkru(c, &v32);
		if (f == XS_OK && out)
			fprintf(out, "0x%x\n", v32);
		return f;
	case XS_OP_WRPKRU:
		return xs_wrpkru(c, (uint32_t)op->arg);
	case XS_OP_CPL:
		xs_set_cpl(c, (int)op->arg);
		return XS_OK;
	case XS_OP_TS:
		xs_set_cr0_ts(c, op->arg != 0);
		return XS_OK;
	case XS_OP_AC:
		xs_set_alignment_check(c, op->arg != 0);
		return XS_OK;
	case XS_OP_OSXSAVE:
		return xs_set_cr4_osxsave(c, op->arg != 0);
	case XS_OP_XINUSE:
		if (out)
			fprintf(out, "xinuse=0x%" PRIx64 " xmodified=0x%" PRIx64 "\n", xs_xinuse(c),
				xs_xmodified(c));
		return XS_OK;
	case XS_OP_CPUID: {
		struct xs_cpuid r = xs_model_cpuid_d(xs_cpu_model(c), xs_xcr0(c), xs_xss(c),
						     (unsigned)op->arg);

		if (out)
			fprintf(out, "eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n", r.eax, r.ebx,
				r.ecx, r.edx);
		return XS_OK;
	}
	default:
		return XS_OK;
	}
}

enum xs_exec_status xs_exec_run(struct xs_exec *e, const struct xs_prog *p, size_t from,
				size_t to, FILE *out)
{
	if (to > p->nops)
		to = p->nops;
	if (e->nbufs < p->nbufs) {
		snprintf(e->err, sizeof(e->err), "internal: program has buffers the run lacks");
		return XS_EXEC_ERROR;
	}
	for (size_t i = from; i < to; i++) {
		const struct xs_op *op = &p->ops[i];
		enum xs_exec_status s = XS_EXEC_OK;
		enum xs_fault f;

		switch (op->kind) {
		case XS_OP_LOAD:
			s = do_load(e, p, op);
			break;
		case XS_OP_STORE:
			s = do_store(e, p, op);
			break;
		case XS_OP_FILL:
			memset(e->buf[op->buf], (int)op->arg, e->bufsize);
			break;
		case XS_OP_SET:
			memcpy(e->buf[op->buf] + op->off, op->data, op->len);
			break;
		case XS_OP_DUMP:
			if (out) {
				if (op->has_range)
					dump(out, e->buf[op->buf] + op->off, op->off, op->len);
				else
					dump(out, e->buf[op->buf], 0, e->bufsize);
			}
			break;
		case XS_OP_DECODE:
			if (out)
				xs_decode_image(out, e->cpu, e->buf[op->buf] + op->off,
						e->bufsize - op->off, false);
			break;
		default:
			f = exec_insn(e, op, out);
			if (f != XS_OK) {
				e->fault = f;
				e->fault_line = op->line;
				e->fault_op = i;
				snprintf(e->fault_reason, sizeof(e->fault_reason), "%s",
					 xs_cpu_fault_reason(e->cpu));
				return XS_EXEC_FAULT;
			}
		}
		if (s != XS_EXEC_OK)
			return s;
	}
	return XS_EXEC_OK;
}
