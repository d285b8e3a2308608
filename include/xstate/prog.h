/* xstate programs: a tiny language for running XSAVE-family instructions
 * on one modelled logical processor (`xstate exec`), and the decoder of
 * XSAVE images (`xstate decode`, the `decode` operation).
 *
 * A program is one operation per line:
 *
 *   xsetbv 0 0x7          # write XCR0
 *   write ymm3 0x1122...  # a register (makes live state)
 *   xsavec a x87|sse|avx  # RFBM: a number or component names
 *   xrstor a+64           # BUF+OFF: the operand is buffer a at offset 64
 *   dump a 512 64
 *
 * Buffers are named on first use, 64-byte aligned, all of the same size
 * (xs_prog_bufsize) and start zeroed. The whole program is parsed before
 * anything runs; running stops at the first fault. See docs/readme/22-exec.md.
 */
#ifndef XSTATE_PROG_H
#define XSTATE_PROG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xstate/cpu.h"
#include "xstate/model.h"

#define XS_PROG_MAX_BUFS 16
#define XS_PROG_NAME_MAX 32   /* including the NUL: names are 1-31 characters */
#define XS_PROG_LINE_MAX 65536

enum xs_op_kind {
	XS_OP_LOAD,       /* load BUF FILE */
	XS_OP_STORE,      /* store BUF FILE */
	XS_OP_FILL,       /* fill BUF BYTE */
	XS_OP_SET,        /* set BUF OFFSET HEXBYTES... */
	XS_OP_DUMP,       /* dump BUF [OFF LEN] */
	XS_OP_DECODE,     /* decode BUF[+OFF] */
	XS_OP_XSAVE,      /* xsave BUF[+OFF] [RFBM] ... */
	XS_OP_XSAVEOPT,
	XS_OP_XSAVEC,
	XS_OP_XSAVES,
	XS_OP_XRSTOR,
	XS_OP_XRSTORS,
	XS_OP_XGETBV,     /* xgetbv ECX */
	XS_OP_XSETBV,     /* xsetbv ECX VALUE */
	XS_OP_RDMSR,      /* rdmsr NAME */
	XS_OP_WRMSR,      /* wrmsr NAME VALUE */
	XS_OP_READ,       /* read REG */
	XS_OP_WRITE,      /* write REG HEX */
	XS_OP_LDMXCSR,    /* ldmxcsr VALUE */
	XS_OP_FNINIT,
	XS_OP_VZEROUPPER,
	XS_OP_TILERELEASE,
	XS_OP_RDPKRU,
	XS_OP_WRPKRU,     /* wrpkru VALUE */
	XS_OP_CPL,        /* cpl 0-3 */
	XS_OP_TS,         /* ts 0|1: CR0.TS */
	XS_OP_AC,         /* ac 0|1: CR0.AM and EFLAGS.AC */
	XS_OP_OSXSAVE,    /* osxsave 0|1: CR4.OSXSAVE */
	XS_OP_XINUSE,     /* print XINUSE and XMODIFIED (observer, no instruction) */
	XS_OP_CPUID,      /* cpuid SUBLEAF: CPUID.(0DH,SUBLEAF) */
	XS_OP_COUNT,
};

/* Name of an operation as written in programs. */
const char *xs_op_name(enum xs_op_kind k);
/* Is it one of the six save/restore instructions? */
bool xs_op_is_xsave_family(enum xs_op_kind k);

struct xs_op {
	enum xs_op_kind kind;
	int line;              /* source line (1-based) or 0 for built programs */
	int buf;               /* buffer index, -1 if none */
	uint32_t off;          /* BUF+OFF, or the OFFSET of set / dump */
	uint32_t len;          /* dump LEN, set byte count, write value size */
	bool has_arg;          /* optional RFBM given */
	bool has_range;        /* dump OFF LEN given */
	uint64_t arg;          /* RFBM, ECX, VALUE, MSR number, CPL, 0/1, BYTE, sub-leaf */
	uint64_t arg2;         /* xsetbv/wrmsr VALUE */
	struct xs_reg reg;     /* read/write */
	uint8_t *data;         /* set bytes, write value little-endian (owned) */
	char *path;            /* load/store (owned) */
};

struct xs_prog {
	const struct xs_model *model;
	struct xs_op *ops;
	size_t nops, cap;
	char bufname[XS_PROG_MAX_BUFS][XS_PROG_NAME_MAX];
	size_t nbufs;
	size_t bufsize;        /* xs_prog_bufsize(model) */
};

/* Bytes in every buffer: the largest XSAVE area the model's CPUID can ask
 * for (standard format of every user component, compacted format of every
 * user and supervisor component), rounded up to 64, and at least 4096 so
 * BUF+OFF operands have room. */
size_t xs_prog_bufsize(const struct xs_model *m);

void xs_prog_init(struct xs_prog *p, const struct xs_model *m);
void xs_prog_free(struct xs_prog *p);
/* Parse one line and append its operation (blank lines and comments add
 * nothing). -1 with "line N: reason" in err on bad syntax. */
int xs_prog_parse_line(struct xs_prog *p, const char *line, int lineno, char *err,
		       size_t errlen);
/* Parse a whole text (lines separated by '\n'). */
int xs_prog_parse(struct xs_prog *p, const char *text, char *err, size_t errlen);
/* Buffer index for a name, creating it; -1 if the name is invalid or the
 * table is full (err says which). */
int xs_prog_buffer(struct xs_prog *p, const char *name, char *err, size_t errlen);
/* Append an operation built in code (the program takes ownership of
 * op->data and op->path). Returns the new op. */
struct xs_op *xs_prog_append(struct xs_prog *p, const struct xs_op *op);
/* Print an operation / the program back as source text. */
void xs_prog_format_op(const struct xs_prog *p, const struct xs_op *op, char *out, size_t len);
void xs_prog_print(const struct xs_prog *p, FILE *f);

/* Put a modelled CPU in the state exec starts from: RESET, then
 * CR4.OSXSAVE=1, XSETBV(0, xcr0), WRMSR(IA32_XSS, xss) at CPL 0. -1 with a
 * reason if the model refuses a value (a bad mask is the user's error). */
int xs_exec_setup_cpu(struct xs_cpu *c, uint64_t xcr0, uint64_t xss, char *err, size_t errlen);

enum xs_exec_status {
	XS_EXEC_OK = 0,
	XS_EXEC_FAULT,   /* an instruction faulted: fault, fault_line, fault_reason */
	XS_EXEC_ERROR,   /* a file could not be read or written: err */
};

struct xs_exec {
	struct xs_cpu *cpu;
	size_t bufsize;
	size_t nbufs;
	uint8_t *buf[XS_PROG_MAX_BUFS];  /* 64-byte aligned, bufsize bytes */
	enum xs_fault fault;
	int fault_line;
	size_t fault_op;
	char fault_reason[256];
	char err[512];
};

/* Buffers are allocated for every buffer p names (zero-filled). */
int xs_exec_init(struct xs_exec *e, struct xs_cpu *c, const struct xs_prog *p);
void xs_exec_free(struct xs_exec *e);
/* Run ops [from, to) of p; values printed by the program go to out (may be
 * NULL to discard). */
enum xs_exec_status xs_exec_run(struct xs_exec *e, const struct xs_prog *p, size_t from,
				size_t to, FILE *out);

/* ---- XSAVE image decoding: src/arch/decode.c ---- */

enum xs_decode_verdict {
	XS_DECODE_RESTORES = 0,   /* XRSTOR would succeed */
	XS_DECODE_FAULTS,         /* XRSTOR would fault: reason given */
	XS_DECODE_TRUNCATED,      /* the image ends before what XRSTOR reads */
};

/* Print img (len bytes, 64-byte aligned in memory) component by component:
 * standard or compacted (from XCOMP_BV[63]), legacy fields, header, each
 * extended component's registers in hex; then whether XRSTOR (and, for
 * compacted images on CPUs with XSAVES, XRSTORS at CPL 0) would restore it
 * on a scratch copy of ctx (the XCR0, IA32_XSS and mode in force). */
enum xs_decode_verdict xs_decode_image(FILE *f, const struct xs_cpu *ctx, const uint8_t *img,
				       size_t len, bool json);

#endif
