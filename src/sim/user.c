/* User instructions: what user code does to the extended state.
 *
 * Each instruction executes on the CPU the task runs on (after the exit to
 * user mode, if the task was in the kernel). A fault goes to the kernel's
 * handler, which fixes it up (the instruction then re-executes) or asks for
 * a signal. Once the instruction succeeded on the CPU, the same instruction
 * runs on the task's shadow; a read compares the two values.
 */
#include <errno.h>
#include <string.h>

#include "sim/sim_internal.h"

#define SIM_MAX_RETRIES 4 /* a fault fixed up this often without progress is a kernel bug */

static const char *const uop_names[] = {
	[SIM_UOP_WRITE] = "write",
	[SIM_UOP_READ] = "read",
	[SIM_UOP_TOUCH] = "touch",
	[SIM_UOP_VZEROUPPER] = "vzeroupper",
	[SIM_UOP_TILERELEASE] = "tilerelease",
	[SIM_UOP_FNINIT] = "fninit",
	[SIM_UOP_LDMXCSR] = "ldmxcsr",
	[SIM_UOP_WRPKRU] = "wrpkru",
};

/* The register an instruction that "touches" comp uses: the first one. */
static int touch_reg(const struct xs_model *model, int comp, struct xs_reg *r)
{
	static const char *const first[XS_NAMED_COMPS] = {
		[XS_C_X87] = "st0",          [XS_C_SSE] = "xmm0",
		[XS_C_AVX] = "ymm0",         [XS_C_BNDREGS] = "bnd0",
		[XS_C_BNDCSR] = "bndcfgu",   [XS_C_OPMASK] = "k1",
		[XS_C_ZMM_HI256] = "zmm0",   [XS_C_HI16_ZMM] = "zmm16",
		[XS_C_PKRU] = "pkru",        [XS_C_XTILECFG] = "tilecfg",
		[XS_C_XTILEDATA] = "tmm0",   [XS_C_APX] = "r16",
	};

	if (comp < 0 || comp >= XS_NAMED_COMPS || !first[comp])
		return -1;
	return xs_reg_lookup(model, first[comp], r);
}

static uint32_t le32(const uint8_t *v)
{
	return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
}

/* Execute u on cpu (a model CPU: the real one or a shadow). */
static enum xs_fault run_insn(struct xs_cpu *cpu, const struct sim_uinsn *u, uint8_t *buf)
{
	enum xs_fault f;

	switch (u->op) {
	case SIM_UOP_WRITE:
		return xs_reg_write(cpu, &u->reg, u->val);
	case SIM_UOP_READ:
		return xs_reg_read(cpu, &u->reg, buf);
	case SIM_UOP_TOUCH:
		/* Use the register without changing it (e.g. VMOVDQA ymm0, ymm0):
		 * it faults like any use and makes the component in use. */
		f = xs_reg_read(cpu, &u->reg, buf);
		return f ? f : xs_reg_write(cpu, &u->reg, buf);
	case SIM_UOP_VZEROUPPER:
		return xs_vzeroupper(cpu);
	case SIM_UOP_TILERELEASE:
		return xs_tilerelease(cpu);
	case SIM_UOP_FNINIT:
		return xs_fninit(cpu);
	case SIM_UOP_LDMXCSR:
		return xs_ldmxcsr(cpu, le32(u->val));
	case SIM_UOP_WRPKRU:
		return xs_wrpkru(cpu, le32(u->val));
	}
	return XS_UD;
}

/* Components whose image the instruction changes (for the writer tags). */
static uint64_t insn_comps(const struct sim_uinsn *u)
{
	uint64_t mask = 0;

	switch (u->op) {
	case SIM_UOP_WRITE:
	case SIM_UOP_TOUCH:
		for (unsigned i = 0; i < u->reg.nparts; i++)
			mask |= XS_BIT(u->reg.part[i].comp);
		return mask;
	case SIM_UOP_VZEROUPPER:
		return XS_BIT(XS_C_AVX) | XS_BIT(XS_C_ZMM_HI256);
	case SIM_UOP_FNINIT:
		return XS_BIT(XS_C_X87);
	case SIM_UOP_LDMXCSR:
		return XS_BIT(XS_C_SSE);
	case SIM_UOP_WRPKRU:
		return XS_BIT(XS_C_PKRU);
	default:
		return 0;
	}
}

/* "write ymm3 = 0x12" (val NULL: "write ymm3"). */
static void describe(char *buf, size_t len, const struct sim_uinsn *u, const uint8_t *val)
{
	char v[160];

	switch (u->op) {
	case SIM_UOP_WRITE:
	case SIM_UOP_READ:
		if (!val) {
			snprintf(buf, len, "%s %s", uop_names[u->op], u->reg.name);
			break;
		}
		sim_format_value(v, sizeof(v), val, u->reg.size);
		snprintf(buf, len, "%s %s = %s", uop_names[u->op], u->reg.name, v);
		break;
	case SIM_UOP_TOUCH:
		snprintf(buf, len, "touch %s (%s)", xs_comp_name((unsigned)u->comp), u->reg.name);
		break;
	case SIM_UOP_LDMXCSR:
	case SIM_UOP_WRPKRU:
		snprintf(buf, len, "%s 0x%x", uop_names[u->op], le32(u->val));
		break;
	default:
		snprintf(buf, len, "%s", uop_names[u->op]);
		break;
	}
}

/* The default signal delivery: record it; the instruction is skipped and
 * the task returns to user mode. (Signal frames and handlers are the
 * signal issue's: it installs m->deliver_signal.) */
static int deliver_default(struct sim_machine *m, struct sim_task *t, int signo, int si_code)
{
	sim_trace(m, SIM_TR_EVENT, "        cpu%d  %s gets %s (recorded; the instruction is "
		  "skipped)", t->k->on_cpu, t->name, sim_signal_name(signo));
	return sim_return_to_user(m, (unsigned)t->k->on_cpu);
}

int sim_user(struct sim_machine *m, struct sim_task *t, const struct sim_uinsn *u)
{
	uint8_t *got = m->scratch[0], *want = m->scratch[1];
	struct xs_cpu *hw;
	unsigned cpu;
	enum xs_fault f = XS_OK;
	char d[200];
	int rc;

	if (u->op == SIM_UOP_READ || u->op == SIM_UOP_WRITE || u->op == SIM_UOP_TOUCH)
		if (u->reg.size > sizeof(m->scratch[0]))
			return sim_error(m, "register %s too large", u->reg.name);
	if (t->state != SIM_T_RUNNING || t->k->on_cpu < 0 || !m->k.cpu[t->k->on_cpu].user_mode) {
		rc = sim_ensure_user(m, t);
		/* Check right after the return to user, before the instruction
		 * mixes its own bytes into a wrong image: that names the culprit
		 * best. */
		if (!rc && m->check.shadow)
			rc = sim_check(m);
		if (rc)
			return rc;
	} else if (!m->check.shadow_update && !sim_tracing(m)) {
		/* Benchmark path (no shadows, no trace): just the instruction;
		 * a fault takes the full path below (a faulting instruction
		 * changed nothing, so it simply runs again there). */
		hw = m->k.cpu[t->k->on_cpu].hw;
		if (run_insn(hw, u, got) == XS_OK) {
			t->last_fault = XS_OK;
			t->last_signal = 0;
			if (u->op == SIM_UOP_READ && u->out)
				memcpy(u->out, got, u->reg.size);
			return SIM_OK;
		}
	}
	t->last_fault = XS_OK;
	t->last_signal = 0;
	for (int attempt = 0;; attempt++) {
		struct xk_fault_result r;

		cpu = (unsigned)t->k->on_cpu;
		hw = m->k.cpu[cpu].hw;
		f = run_insn(hw, u, got);
		if (f == XS_OK)
			break;
		if (t->last_fault == XS_OK)
			t->last_fault = f;
		t->nfaults++;
		describe(d, sizeof(d), u, NULL);
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s %s -> %s (%s)", cpu, t->name, d,
			  xs_fault_name(f), xs_cpu_fault_reason(hw));
		if (attempt >= SIM_MAX_RETRIES)
			return sim_fail(m, "kernel", "%s's instruction faulted %s %d times in a row "
					"though the kernel fixed it up each time", t->name,
					xs_fault_name(f), attempt + 1);
		r = xk_handle_fault(&m->k, cpu, f);
		if (r.action == XK_FA_RETRY)
			continue;
		if (r.action == XK_FA_OOPS)
			return sim_fail(m, "kernel", "kernel oops on cpu%u handling %s from %s: %s",
					cpu, xs_fault_name(f), t->name, r.why ? r.why : "?");
		t->last_signal = r.signo;
		t->nsignals++;
		return (m->deliver_signal ? m->deliver_signal : deliver_default)(m, t, r.signo,
										  r.si_code);
	}

	if (sim_tracing(m)) {
		describe(d, sizeof(d), u, u->op == SIM_UOP_READ ? got : u->val);
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s %s", cpu, t->name, d);
	}
	if (u->op == SIM_UOP_READ && u->out)
		memcpy(u->out, got, u->reg.size);

	/* The same instruction on the shadow. */
	if (!m->check.shadow_update)
		return SIM_OK;
	f = run_insn(t->shadow, u, want);
	if (f)
		return sim_fail(m, "shadow", "%s's %s succeeded on cpu%u but faults %s on its "
				"shadow (%s): the CPU's state is not the task's",
				t->name, uop_names[u->op], cpu, xs_fault_name(f),
				xs_cpu_fault_reason(t->shadow));
	if (u->op == SIM_UOP_READ && m->check.shadow && memcmp(got, want, u->reg.size) != 0) {
		uint64_t comps = 0;
		for (unsigned i = 0; i < u->reg.nparts; i++)
			comps |= XS_BIT(u->reg.part[i].comp);
		rc = sim_check_comps(m, cpu, t, comps);
		if (rc)
			return rc;
		sim_format_diff(d, sizeof(d), got, want, u->reg.size, 0);
		return sim_fail(m, "shadow", "shadow: %s read %s on cpu%u: %s", t->name, u->reg.name,
				cpu, d);
	}
	for (uint64_t c = insn_comps(u); c; c &= c - 1)
		sim_values_note(m, t->shadow, (unsigned)__builtin_ctzll(c), t->id);
	return SIM_OK;
}

int sim_user_write(struct sim_machine *m, struct sim_task *t, const char *reg, const void *val)
{
	struct sim_uinsn u;

	memset(&u, 0, sizeof(u));
	u.op = SIM_UOP_WRITE;
	if (xs_reg_lookup(m->model, reg, &u.reg))
		return sim_error(m, "no register %s", reg);
	u.val = val;
	return sim_user(m, t, &u);
}

int sim_user_read(struct sim_machine *m, struct sim_task *t, const char *reg, void *out)
{
	struct sim_uinsn u;

	memset(&u, 0, sizeof(u));
	u.op = SIM_UOP_READ;
	if (xs_reg_lookup(m->model, reg, &u.reg))
		return sim_error(m, "no register %s", reg);
	u.out = out;
	return sim_user(m, t, &u);
}

int sim_touch_reg(const struct xs_model *model, int comp, struct xs_reg *r)
{
	return touch_reg(model, comp, r);
}
