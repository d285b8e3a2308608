/* Running exec programs (prog.h) on silicon and, the same way, on the
 * model, so the two results can be compared byte for byte.
 *
 * Both runs start from the same place: a prologue XRSTOR of an all-init
 * image (XSTATE_BV = 0, MXCSR = 1F80H) puts every component in its initial
 * configuration, whatever the C code before left in the registers. Both end
 * the same way when asked: an observation XSAVE (RFBM all ones) of the state
 * the program left, fault or not.
 *
 * A program can run on silicon when everything it does is possible at CPL 3
 * without the kernel: memory set-up (set, fill), the six save/restore
 * instructions, XGETBV/XSETBV, XMM/YMM/MXCSR writes and reads, FNINIT,
 * VZEROUPPER and `ac`. It must say `cpl 3` before its first instruction
 * (the model starts at CPL 0).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xstate/oracle.h"

void xs_run_result_free(struct xs_run_result *r)
{
	for (size_t i = 0; i < r->nbufs; i++)
		free(r->bufs[i]);
	free(r->after);
	memset(r, 0, sizeof(*r));
}

static int result_alloc(struct xs_run_result *r, const struct xs_prog *p)
{
	memset(r, 0, sizeof(*r));
	r->bufsize = p->bufsize;
	for (size_t i = 0; i < p->nbufs; i++) {
		r->bufs[i] = aligned_alloc(64, p->bufsize);
		if (!r->bufs[i])
			return -1;
		memset(r->bufs[i], 0, p->bufsize);
		r->nbufs = i + 1;
	}
	r->after = aligned_alloc(64, p->bufsize);
	if (!r->after)
		return -1;
	memset(r->after, 0, p->bufsize);
	return 0;
}

static int xmm_index(const struct xs_reg *r, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long v;

	if (strncmp(r->name, prefix, n))
		return -1;
	v = strtol(r->name + n, &end, 10);
	return *end || v < 0 || v > 15 || end == r->name + n ? -1 : (int)v;
}

int xs_hw_prog_check(const struct xs_prog *p, char *err, size_t errlen)
{
	bool cpl3 = false;

	for (size_t i = 0; i < p->nops; i++) {
		const struct xs_op *op = &p->ops[i];

		switch (op->kind) {
		case XS_OP_SET:
		case XS_OP_FILL:
		case XS_OP_AC:
			continue;
		case XS_OP_CPL:
			if (op->arg != 3) {
				snprintf(err, errlen, "line %d: silicon runs at CPL 3 only", op->line);
				return -1;
			}
			cpl3 = true;
			continue;
		case XS_OP_WRITE:
		case XS_OP_READ:
			if (xmm_index(&op->reg, "xmm") < 0 && xmm_index(&op->reg, "ymm") < 0 &&
			    strcmp(op->reg.name, "mxcsr")) {
				snprintf(err, errlen, "line %d: silicon runs register accesses of "
					 "xmm0-15, ymm0-15 and mxcsr only, not %s", op->line,
					 op->reg.name);
				return -1;
			}
			break;
		case XS_OP_XSAVE:
		case XS_OP_XSAVEOPT:
		case XS_OP_XSAVEC:
		case XS_OP_XSAVES:
		case XS_OP_XRSTOR:
		case XS_OP_XRSTORS:
		case XS_OP_XGETBV:
		case XS_OP_XSETBV:
		case XS_OP_LDMXCSR:
		case XS_OP_FNINIT:
		case XS_OP_VZEROUPPER:
			break;
		default:
			snprintf(err, errlen, "line %d: '%s' cannot run on silicon from user mode",
				 op->line, xs_op_name(op->kind));
			return -1;
		}
		if (!cpl3) {
			snprintf(err, errlen, "line %d: say 'cpl 3' before the first instruction: "
				 "silicon runs at CPL 3", op->line);
			return -1;
		}
	}
	return 0;
}

/* The all-init image of the prologue (standard format, 576 bytes). */
static uint8_t *init_image(size_t size)
{
	uint8_t *b = aligned_alloc(64, size);
	uint32_t mxcsr = XS_MXCSR_DEFAULT;
	uint16_t fcw = XS_FCW_DEFAULT;

	if (b) {
		memset(b, 0, size);
		memcpy(b, &fcw, 2);
		memcpy(b + 24, &mxcsr, 4);
	}
	return b;
}

static void print_value(FILE *f, const uint8_t *v, size_t n)
{
	fputs("0x", f);
	while (n-- > 0)
		fprintf(f, "%02x", v[n]);
	fputc('\n', f);
}

int xs_hw_prog_run(const struct xs_prog *p, bool observe, struct xs_run_result *r, char *err,
		   size_t errlen)
{
	size_t nops = p->nops + 2, n = 0, *origin = NULL;
	struct xs_hw_op *hw = NULL;
	struct xs_hw_outcome o;
	uint8_t *init = NULL, *reads = NULL;
	bool ac = false;
	FILE *out;
	int ret = -1;

	if (xs_hw_prog_check(p, err, errlen) != 0)
		return -1;
	if (!xs_host_get()) {
		snprintf(err, errlen, "this host has no usable XSAVE");
		return -1;
	}
	if (result_alloc(r, p) != 0)
		goto nomem;
	hw = calloc(nops, sizeof(*hw));
	origin = calloc(nops, sizeof(*origin));
	init = init_image(p->bufsize);
	reads = aligned_alloc(64, 64 * (p->nops + 1));
	if (!hw || !origin || !init || !reads)
		goto nomem;

	hw[n++] = (struct xs_hw_op){ .kind = XS_HW_XRSTOR, .mem = init, .mask = ~0ull };
	for (size_t i = 0; i < p->nops; i++) {
		const struct xs_op *op = &p->ops[i];
		struct xs_hw_op h;
		uint8_t *mem = op->buf >= 0 ? r->bufs[op->buf] + op->off : NULL;

		memset(&h, 0, sizeof(h));
		h.ac = ac;
		h.mask = op->arg;
		h.mem = mem;
		switch (op->kind) {
		case XS_OP_CPL:
			continue;
		case XS_OP_AC:
			ac = op->arg != 0;
			continue;
		case XS_OP_SET:
			h.kind = XS_HW_COPY;
			h.src = op->data;
			h.len = op->len;
			break;
		case XS_OP_FILL: {
			/* A copy from a block of the byte, freed after the run. */
			uint8_t *blk = malloc(p->bufsize);

			if (!blk)
				goto nomem;
			memset(blk, (int)op->arg, p->bufsize);
			h.kind = XS_HW_COPY;
			h.src = blk;
			h.len = (uint32_t)p->bufsize;
			h.mem = r->bufs[op->buf];
			break;
		}
		case XS_OP_XSAVE: h.kind = XS_HW_XSAVE; break;
		case XS_OP_XSAVEOPT: h.kind = XS_HW_XSAVEOPT; break;
		case XS_OP_XSAVEC: h.kind = XS_HW_XSAVEC; break;
		case XS_OP_XSAVES: h.kind = XS_HW_XSAVES; break;
		case XS_OP_XRSTOR: h.kind = XS_HW_XRSTOR; break;
		case XS_OP_XRSTORS: h.kind = XS_HW_XRSTORS; break;
		case XS_OP_XGETBV:
			h.kind = XS_HW_XGETBV;
			h.ecx = (uint32_t)op->arg;
			break;
		case XS_OP_XSETBV:
			h.kind = XS_HW_XSETBV;
			h.ecx = (uint32_t)op->arg;
			h.mask = op->arg2;
			break;
		case XS_OP_LDMXCSR:
			h.kind = XS_HW_LDMXCSR;
			h.src = &op->arg; /* little-endian: the low 4 bytes */
			break;
		case XS_OP_FNINIT: h.kind = XS_HW_FNINIT; break;
		case XS_OP_VZEROUPPER: h.kind = XS_HW_VZEROUPPER; break;
		case XS_OP_WRITE:
			if (!strcmp(op->reg.name, "mxcsr")) {
				h.kind = XS_HW_LDMXCSR;
			} else if (op->reg.name[0] == 'x') {
				h.kind = XS_HW_WRITE_XMM;
				h.reg = (uint8_t)xmm_index(&op->reg, "xmm");
			} else {
				h.kind = XS_HW_WRITE_YMM;
				h.reg = (uint8_t)xmm_index(&op->reg, "ymm");
			}
			h.src = op->data;
			break;
		case XS_OP_READ:
			h.mem = reads + 64 * i;
			if (!strcmp(op->reg.name, "mxcsr")) {
				h.kind = XS_HW_STMXCSR;
			} else if (op->reg.name[0] == 'x') {
				h.kind = XS_HW_READ_XMM;
				h.reg = (uint8_t)xmm_index(&op->reg, "xmm");
			} else {
				h.kind = XS_HW_READ_YMM;
				h.reg = (uint8_t)xmm_index(&op->reg, "ymm");
			}
			break;
		default:
			continue;
		}
		origin[n] = i;
		hw[n++] = h;
	}
	if (observe)
		hw[n++] = (struct xs_hw_op){ .kind = XS_HW_XSAVE, .mem = r->after, .mask = ~0ull };

	if (xs_hw_run(hw, n, observe ? n - 1 : n, &o) != 0) {
		snprintf(err, errlen, "the host oracle could not run");
		goto out;
	}
	r->fault = o.fault;
	if (o.fault) {
		r->fault_line = p->ops[origin[o.fault_op]].line;
		if (!r->fault_line)
			r->fault_line = (int)origin[o.fault_op] + 1;
	}

	/* What the program printed, in order, up to the fault. */
	out = fmemopen(r->text, sizeof(r->text) - 1, "w");
	if (out) {
		for (size_t k = 1; k < n; k++) {
			const struct xs_op *op = &p->ops[origin[k]];

			if (o.fault && k >= o.fault_op)
				break;
			if (hw[k].kind == XS_HW_XSAVE && k == n - 1 && observe)
				break;
			if (hw[k].kind == XS_HW_XGETBV)
				fprintf(out, "0x%" PRIx64 "\n", hw[k].out);
			else if (op->kind == XS_OP_READ)
				print_value(out, reads + 64 * origin[k], op->reg.size);
		}
		fclose(out);
	}
	ret = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	for (size_t k = 0; hw && k < n; k++)
		if (hw[k].kind == XS_HW_COPY && origin[k] < p->nops &&
		    p->ops[origin[k]].kind == XS_OP_FILL)
			free((void *)hw[k].src);
	free(hw);
	free(origin);
	free(init);
	free(reads);
	if (ret)
		xs_run_result_free(r);
	return ret;
}

/* Is component i's register state its initial configuration (13.6)? The
 * user components' initial values are all zeros except FCW. */
static bool regs_init(const struct xs_cpu *c, unsigned i)
{
	const uint8_t *r = xs_comp_regs(c, i);
	uint32_t size = xs_cpu_model(c)->comp[i].size;
	uint16_t fcw;

	if (!r)
		return true;
	if (i == XS_C_X87) {
		memcpy(&fcw, r, 2);
		if (fcw != XS_FCW_DEFAULT || r[2] || r[3] || r[4])
			return false;
		r += 32;
		size = 128;
	} else if (i == XS_C_SSE) {
		r += 160;
		size = 256;
	}
	for (uint32_t k = 0; k < size; k++)
		if (r[k])
			return false;
	return true;
}

uint64_t xs_cpu_init_mask(const struct xs_cpu *c)
{
	const struct xs_model *m = xs_cpu_model(c);
	uint64_t init = 0;

	for (unsigned i = 0; i < 63; i++)
		if (((m->xcr0_supported | m->xss_supported) & XS_BIT(i)) && !(m->xss_supported & XS_BIT(i)) &&
		    regs_init(c, i))
			init |= XS_BIT(i);
	return init;
}

int xs_model_prog_run(const struct xs_prog *p, struct xs_cpu *c, bool observe,
		      struct xs_run_result *r, char *err, size_t errlen)
{
	struct xs_exec e;
	enum xs_exec_status st;
	uint8_t *init;
	FILE *out;

	if (result_alloc(r, p) != 0 || xs_exec_init(&e, c, p) != 0) {
		xs_run_result_free(r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	init = init_image(p->bufsize);
	if (!init || xs_xrstor(c, init, p->bufsize, ~0ull) != XS_OK) {
		snprintf(err, errlen, "prologue XRSTOR of the init image failed: %s",
			 init ? xs_cpu_fault_reason(c) : "out of memory");
		free(init);
		xs_exec_free(&e);
		xs_run_result_free(r);
		return -1;
	}
	out = fmemopen(r->text, sizeof(r->text) - 1, "w");
	st = XS_EXEC_OK;
	/* One op at a time, to note which components were init whenever a
	 * value was printed (for the architectural comparison of XGETBV(1)). */
	for (size_t i = 0; i < p->nops && st == XS_EXEC_OK; i++) {
		st = xs_exec_run(&e, p, i, i + 1, out);
		if (st == XS_EXEC_OK && (p->ops[i].kind == XS_OP_XGETBV || p->ops[i].kind == XS_OP_READ) &&
		    r->nlines < (int)(sizeof(r->line_init) / sizeof(r->line_init[0])))
			r->line_init[r->nlines++] = xs_cpu_init_mask(c);
	}
	if (out)
		fclose(out);
	if (st == XS_EXEC_ERROR) {
		snprintf(err, errlen, "%s", e.err);
		free(init);
		xs_exec_free(&e);
		xs_run_result_free(r);
		return -1;
	}
	if (st == XS_EXEC_FAULT) {
		r->fault = e.fault;
		r->fault_line = e.fault_line ? e.fault_line : (int)e.fault_op + 1;
	}
	for (size_t i = 0; i < p->nbufs; i++)
		memcpy(r->bufs[i], e.buf[i], p->bufsize);
	if (observe) {
		/* Architecturally the same XSAVE silicon runs; at the CPL the
		 * program left, with alignment checking off. */
		xs_set_alignment_check(c, false);
		xs_xsave(c, r->after, p->bufsize, ~0ull);
	}
	free(init);
	xs_exec_free(&e);
	return 0;
}
