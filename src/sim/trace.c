/* The simulator's trace: what each step did, for people.
 *
 * Lines are produced at three levels (enum sim_trace_level) and go to the
 * output stream when the level allows; lines up to SIM_TR_EVENT also go to
 * a small ring so a failure can be shown in context even when nothing was
 * printed. Lines never contain a pointer or anything else that would differ
 * between two runs of the same scenario and seed.
 */
#include <stdarg.h>
#include <string.h>

#include "xstate/sim.h"

void sim_trace_init(struct sim_trace *tr, FILE *out, int level)
{
	memset(tr, 0, sizeof(*tr));
	tr->out = out;
	tr->level = level;
}

void sim_trace(struct sim_machine *m, int level, const char *fmt, ...)
{
	struct sim_trace *tr = m->trace;
	char line[256];
	va_list ap;

	if (!tr || tr->disabled)
		return;
	if (level > SIM_TR_EVENT && (!tr->out || level > tr->level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (level <= SIM_TR_EVENT) {
		memcpy(tr->ring[tr->ring_next], line, sizeof(line));
		tr->ring_next = (tr->ring_next + 1) % SIM_CONTEXT_LINES;
		if (tr->ring_count < SIM_CONTEXT_LINES)
			tr->ring_count++;
		tr->lines++;
	}
	if (tr->out && level <= tr->level) {
		fputs(line, tr->out);
		fputc('\n', tr->out);
	}
}

void sim_trace_context(const struct sim_trace *tr, FILE *f, const char *prefix)
{
	unsigned first = (tr->ring_next + SIM_CONTEXT_LINES - tr->ring_count) % SIM_CONTEXT_LINES;

	for (unsigned i = 0; i < tr->ring_count; i++)
		fprintf(f, "%s%s\n", prefix, tr->ring[(first + i) % SIM_CONTEXT_LINES]);
}

/* ---- Values ---- */

static bool all_bytes(const uint8_t *v, size_t n, uint8_t b)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != b)
			return false;
	return true;
}

static bool is_seq(const uint8_t *v, size_t n)
{
	if (n < 4)
		return false;
	for (size_t i = 1; i < n; i++)
		if (v[i] != (uint8_t)(v[0] + i))
			return false;
	return true;
}

void sim_format_value(char *buf, size_t len, const uint8_t *v, size_t n)
{
	size_t top = n, pos = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (n > 8 && all_bytes(v, n, v[0])) {
		if (v[0] == 0)
			snprintf(buf, len, "zero");
		else
			snprintf(buf, len, "fill:0x%02x", v[0]);
		return;
	}
	if (is_seq(v, n)) {
		snprintf(buf, len, v[0] ? "seq:0x%02x" : "seq", v[0]);
		return;
	}
	/* A number, most significant byte first, without leading zero bytes. */
	while (top > 1 && v[top - 1] == 0)
		top--;
	if (top > 32) {
		/* Long: the low 16 bytes and the size. */
		pos += (size_t)snprintf(buf, len, "0x..");
		for (size_t i = 16; i-- > 0 && pos + 3 < len;)
			pos += (size_t)snprintf(buf + pos, len - pos, "%02x", v[i]);
		if (pos < len)
			snprintf(buf + pos, len - pos, " (%zu bytes, %zu significant)", n, top);
		return;
	}
	pos += (size_t)snprintf(buf, len, "0x");
	for (size_t i = top; i-- > 0 && pos + 3 < len;)
		pos += (size_t)snprintf(buf + pos, len - pos, i == top - 1 ? "%x" : "%02x", v[i]);
}

void sim_format_diff(char *buf, size_t len, const uint8_t *got, const uint8_t *want, size_t n,
		     size_t base)
{
	size_t i = 0, pos;

	while (i < n && got[i] == want[i])
		i++;
	if (i == n) {
		snprintf(buf, len, "no difference");
		return;
	}
	pos = (size_t)snprintf(buf, len, "byte %zu: got", base + i);
	for (size_t j = i; j < n && j < i + 8 && pos + 4 < len; j++)
		pos += (size_t)snprintf(buf + pos, len - pos, " %02x", got[j]);
	if (pos < len)
		pos += (size_t)snprintf(buf + pos, len - pos, ", expected");
	for (size_t j = i; j < n && j < i + 8 && pos + 4 < len; j++)
		pos += (size_t)snprintf(buf + pos, len - pos, " %02x", want[j]);
}

/* ---- Kernel events ---- */

static const char *ktask_name(const struct xk_task *t, const char *none)
{
	const struct sim_task *st;

	if (!t)
		return none;
	st = t->sim;
	return st ? st->name : t->name;
}

static const char *mask_names(uint64_t mask, char *buf, size_t len)
{
	if (!mask)
		return snprintf(buf, len, "0"), buf;
	return xs_mask_names(mask, buf, len);
}

/* Count and print one kernel event. Counting happens even when nothing is
 * printed: `expect saves cpu0 == N` uses these counters. */
void sim_on_kernel_event(void *ctx, const struct xk_event *ev)
{
	struct sim_machine *m = ctx;
	struct sim_cpu_stats *cs = ev->cpu >= 0 && ev->cpu < SIM_MAX_CPUS ? &m->cstat[ev->cpu] : NULL;
	char mb[160], mb2[160];
	const char *why = ev->why ? ev->why : "";
	int cpu = ev->cpu;
	int ev_level = m->booting ? SIM_TR_DETAIL : SIM_TR_EVENT;

	switch (ev->type) {
	case XK_EV_SAVE:
		if (cs)
			cs->saves++;
		if (ev->task && ev->task->fpu.fpstate && !ev->fault)
			sim_trace(m, ev_level, "        cpu%d  %-8s save %-6s rfbm=%s  "
				  "xstate_bv=%s  %uB  (%s)", cpu, xk_insn_name(ev->insn),
				  ktask_name(ev->task, "?"), mask_names(ev->mask, mb, sizeof(mb)),
				  mask_names(xk_fpstate_xstate_bv(ev->task->fpu.fpstate), mb2,
					     sizeof(mb2)), ev->bytes, why);
		else
			sim_trace(m, ev_level, "        cpu%d  %-8s save %-6s rfbm=%s  %uB  (%s)%s%s",
				  cpu, xk_insn_name(ev->insn), ktask_name(ev->task, "?"),
				  mask_names(ev->mask, mb, sizeof(mb)), ev->bytes, why,
				  ev->fault ? "  FAULT " : "", xs_fault_name(ev->fault));
		break;
	case XK_EV_RESTORE:
		if (cs)
			cs->restores++;
		sim_trace(m, ev_level, "        cpu%d  %-8s load %-6s rfbm=%s  %uB  (%s)%s%s",
			  cpu, xk_insn_name(ev->insn), ktask_name(ev->task, "init"),
			  mask_names(ev->mask, mb, sizeof(mb)), ev->bytes, why,
			  ev->fault ? "  FAULT " : "", xs_fault_name(ev->fault));
		break;
	case XK_EV_RESTORE_SKIP:
		if (cs)
			cs->restores_skipped++;
		sim_trace(m, ev_level, "        cpu%d  no restore: registers still hold %s's state (%s)",
			  cpu, ktask_name(ev->task, "?"), why);
		break;
	case XK_EV_XFD_WRITE:
		if (cs && ev->reg == XS_MSR_XFD)
			cs->xfd_writes++;
		sim_trace(m, ev_level, "        cpu%d  WRMSR    %s %s -> %s%s%s", cpu,
			  xs_msr_name(ev->reg) ? xs_msr_name(ev->reg) : "MSR",
			  mask_names(ev->old, mb, sizeof(mb)), mask_names(ev->value, mb2, sizeof(mb2)),
			  ev->fault ? "  FAULT " : "", xs_fault_name(ev->fault));
		break;
	case XK_EV_TS:
		sim_trace(m, ev_level, "        cpu%d  %-8s CR0.TS=%llu", cpu, xk_insn_name(ev->insn),
			  (unsigned long long)ev->value);
		break;
	case XK_EV_SWITCH:
		/* Printed by the machine (sched.c), which knows why. */
		if (cs)
			cs->switches++;
		break;
	case XK_EV_OWNER:
		sim_trace(m, SIM_TR_DETAIL, "        cpu%d  owner %s -> %s", cpu < 0 ? 0 : cpu,
			  ktask_name(ev->other, "none"), ktask_name(ev->task, "none"));
		break;
	case XK_EV_TIF:
		if (cpu < 0)
			sim_trace(m, SIM_TR_DETAIL, "        kernel: %s need-load %s (%s)",
				  ktask_name(ev->task, "?"), ev->mask ? "set" : "clear", why);
		else
			sim_trace(m, SIM_TR_DETAIL, "        cpu%d  %s need-load %s (%s)", cpu,
				  ktask_name(ev->task, "?"), ev->mask ? "set" : "clear", why);
		break;
	case XK_EV_KFPU_BEGIN:
		sim_trace(m, ev_level, "        cpu%d  kernel_fpu_begin mask=%s%s", cpu,
			  (ev->value & XK_KFPU_DEFAULT) == XK_KFPU_DEFAULT ? "387|mxcsr" :
			  (ev->value & XK_KFPU_387) ? "387" : (ev->value & XK_KFPU_MXCSR) ? "mxcsr" :
			  "0", ev->fault ? " refused" : "");
		break;
	case XK_EV_KFPU_END:
		sim_trace(m, ev_level, "        cpu%d  kernel_fpu_end", cpu);
		break;
	case XK_EV_FAULT:
		if (cs)
			cs->nm += ev->fault == XS_NM;
		if (ev->signo)
			sim_trace(m, ev_level, "        cpu%d  %s handler: %s to %s (%s)", cpu,
				  xs_fault_name(ev->fault), sim_signal_name(ev->signo),
				  ktask_name(ev->task, "?"), why);
		else
			sim_trace(m, ev_level, "        cpu%d  %s handler: fixed up, retry (%s)",
				  cpu, xs_fault_name(ev->fault), why);
		break;
	case XK_EV_ALLOC:
		sim_trace(m, ev_level, "        kernel: %s buffer for %s: %uB%s%s", ev->fault ?
			  "FAILED to allocate" : "allocated", ktask_name(ev->task, "?"), ev->bytes,
			  ev->fault && ev->why ? " -- " : "", ev->fault && ev->why ? ev->why : "");
		break;
	case XK_EV_FREE:
		sim_trace(m, SIM_TR_DETAIL, "        kernel: freed %s's buffer (%uB)",
			  ktask_name(ev->task, "?"), ev->bytes);
		break;
	case XK_EV_INIT_COPY:
		sim_trace(m, SIM_TR_DETAIL, "        kernel: init image copied into %s's buffer (%uB)",
			  ktask_name(ev->task, "?"), ev->bytes);
		break;
	case XK_EV_CLONE:
		sim_trace(m, SIM_TR_DETAIL, "        kernel: clone %s -> %s", ktask_name(ev->other, "?"),
			  ktask_name(ev->task, "?"));
		break;
	case XK_EV_EXEC:
	case XK_EV_EXIT:
	case XK_EV_RETURN_USER:
	case XK_EV_CPU_SETUP:
		break;
	case XK_EV_WARN:
		m->warnings++;
		sim_trace(m, ev_level, "        cpu%d  kernel WARNING: %s%s%s", cpu, why,
			  ev->fault ? " " : "", ev->fault ? xs_fault_name(ev->fault) : "");
		break;
	default: {
		/* Events of later issues (permissions, signal frames, ptrace,
		 * PKRU ...): the kernel's own one-line rendering. It prints
		 * simulated user addresses only, so the trace stays
		 * deterministic. FS/GS bookkeeping at every switch is not
		 * extended state: --trace only. */
		char line[256];

		/* A switch of a task that never touched FS/GS (selector and
		 * base 0) says nothing: four such lines per switch drowned
		 * the trace. */
		if (ev->type == XK_EV_FSGS && !ev->old && !ev->value && ev->why &&
		    strstr(ev->why, "switch"))
			break;
		xk_event_format(ev, line, sizeof(line));
		sim_trace(m, ev->type == XK_EV_FSGS ? SIM_TR_DETAIL : ev_level, "        %s", line);
		break;
	}
	}
}
