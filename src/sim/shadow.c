/* Shadows: what each user task's registers must hold, and the check that
 * compares them with what the CPU a task runs on actually holds.
 *
 * A shadow is a private model CPU (same model, XCR0 as the kernel set it,
 * no XFD, no supervisor state) on which only the task's own instructions
 * execute, plus the kernel operations that legitimately change a task's
 * registers: exec (init), fork (a copy of the parent, tile data init), and
 * -- from later issues, through the sim_shadow_*() calls -- signal delivery,
 * sigreturn and ptrace writes. Running the same instruction on the same
 * model makes the expectation exact, down to how the model normalizes x87
 * fields, with no second implementation of the registers to get wrong.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/sim_internal.h"

struct xs_cpu *sim_shadow_new(struct sim_machine *m)
{
	struct xs_cpu *c = xs_cpu_new(m->model);

	if (!c)
		return NULL;
	xs_set_cpl(c, 0);
	if (xs_set_cr4_osxsave(c, true) || xs_xsetbv(c, 0, m->k.xcr0)) {
		xs_cpu_free(c);
		return NULL;
	}
	if (m->model->feat.pku)
		xs_set_cr4_pke(c, true);
	xs_set_cpl(c, 3);
	return c;
}

unsigned sim_comp_ranges(const struct sim_machine *m, unsigned comp, struct sim_range *r)
{
	unsigned n = 0;

	switch (comp) {
	case XS_C_X87:
		/* FCW, FSW, FTW (+ reserved byte 5), then ST0-7 (SDM 13.4.1). */
		r[n++] = (struct sim_range){ 0, 6 };
		if (m->check.x87_errptr)
			r[n++] = (struct sim_range){ 6, 18 }; /* FOP, FIP, FDP */
		r[n++] = (struct sim_range){ 32, 128 };
		return n;
	case XS_C_SSE:
		r[n++] = (struct sim_range){ 24, 4 };    /* MXCSR (not MXCSR_MASK) */
		r[n++] = (struct sim_range){ 160, 256 }; /* XMM0-15 */
		return n;
	default:
		if (comp >= 64 || !m->model->comp[comp].size)
			return 0;
		r[n++] = (struct sim_range){ 0, (uint16_t)m->model->comp[comp].size };
		return n;
	}
}

void sim_shadow_note_all(struct sim_machine *m, const struct sim_task *t, unsigned writer)
{
	uint64_t mask = m->shadow_mask;

	while (mask) {
		unsigned c = (unsigned)__builtin_ctzll(mask);
		mask &= mask - 1;
		sim_values_note(m, t->shadow, c, writer);
	}
}

/* XRSTOR of the zero image: the components of mask go to their initial
 * configuration. XRSTOR loads MXCSR from the image whenever RFBM[1] or
 * RFBM[2] is set, whatever XSTATE_BV says (SDM 13.8.1), so the image
 * carries the MXCSR the shadow must end up with. */
void sim_shadow_init(struct sim_machine *m, struct sim_task *t, uint64_t mask)
{
	uint32_t mxcsr = (mask & XS_BIT(XS_C_SSE)) ? XS_MXCSR_DEFAULT : xs_mxcsr(t->shadow);
	int cpl = xs_cpl(t->shadow);

	mask &= m->k.xcr0;
	if (!mask || !t->shadow)
		return;
	memcpy(m->zero_image + 24, &mxcsr, 4);
	xs_set_cpl(t->shadow, 0);
	xs_xrstor(t->shadow, m->zero_image, m->zero_image_len, mask);
	xs_set_cpl(t->shadow, cpl);
	memset(m->zero_image + 24, 0, 4);
}

void sim_shadow_copy(struct sim_machine *m, struct sim_task *dst, const struct sim_task *src,
		     uint64_t init_mask)
{
	xs_cpu_copy(dst->shadow, src->shadow);
	sim_shadow_init(m, dst, init_mask);
	/* The child's values are its own as much as the parent's: a child
	 * later seeing them again is stale, not a leak. */
	sim_shadow_note_all(m, dst, dst->id);
}

enum xs_fault sim_shadow_load_image(struct sim_machine *m, struct sim_task *t, const void *img,
				    size_t len, uint64_t mask)
{
	void *buf = aligned_alloc(64, (len + 63) & ~(size_t)63);
	int cpl = xs_cpl(t->shadow);
	enum xs_fault f;

	if (!buf)
		return XS_PF;
	memcpy(buf, img, len);
	xs_set_cpl(t->shadow, 0);
	f = xs_xrstor(t->shadow, buf, len, mask);
	xs_set_cpl(t->shadow, cpl);
	free(buf);
	if (f == XS_OK)
		sim_shadow_note_all(m, t, t->id);
	return f;
}

enum xs_fault sim_shadow_save_image(struct sim_machine *m, struct sim_task *t, void *img,
				    size_t len, uint64_t mask)
{
	void *buf = aligned_alloc(64, (len + 63) & ~(size_t)63);
	int cpl = xs_cpl(t->shadow);
	enum xs_fault f;

	if (!buf)
		return XS_PF;
	memset(buf, 0, len);
	xs_set_cpl(t->shadow, 0);
	f = xs_xsave(t->shadow, buf, len, mask);
	xs_set_cpl(t->shadow, cpl);
	if (f == XS_OK)
		memcpy(img, buf, len);
	free(buf);
	return f;
}

int sim_shadow_write_reg(struct sim_machine *m, struct sim_task *t, const struct xs_reg *r,
			 const void *val)
{
	int cpl = xs_cpl(t->shadow);
	enum xs_fault f;

	if (r->supervisor)
		xs_set_cpl(t->shadow, 0);
	f = xs_reg_write(t->shadow, r, val);
	xs_set_cpl(t->shadow, cpl);
	if (f)
		return sim_error(m, "shadow of %s: writing %s faulted %s", t->name, r->name,
				 xs_fault_name(f));
	for (unsigned i = 0; i < r->nparts; i++)
		sim_values_note(m, t->shadow, r->part[i].comp, t->id);
	return SIM_OK;
}

void sim_shadow_set_pkru(struct sim_machine *m, struct sim_task *t, uint32_t pkru)
{
	if (t->shadow && (m->k.xcr0 & XS_BIT(XS_C_PKRU)) && xs_cr4_pke(t->shadow))
		xs_wrpkru(t->shadow, pkru);
}

/* ---- The check ---- */

/* Components whose instructions CR0.TS makes raise #NM: x87/MMX, SSE, AVX
 * and AVX-512 (SDM Vol. 3 2.5, "TS"). MPX's BND instructions, RDPKRU/WRPKRU,
 * AMX and APX registers do not trap -- which is why Linux forced eager FPU
 * switching on MPX CPUs (XFEATURE_MASK_EAGER, arch/x86/kernel/fpu/init.c
 * before v4.14). */
#define SIM_TS_GATED \
	(XS_MASK_FPSSE | XS_BIT(XS_C_AVX) | XS_MASK_AVX512)

/* Components of cpu the running task can observe now: enabled, not armed
 * for XFD, and not behind CR0.TS. */
static uint64_t observable(const struct sim_machine *m, const struct xs_cpu *hw)
{
	uint64_t mask = m->shadow_mask & xs_xcr0(hw) & ~xs_xfd(hw);

	if (xs_cr0_ts(hw))
		mask &= ~SIM_TS_GATED;
	return mask;
}

/* Compare one component; 0 if equal, else fill off (first differing byte). */
static int comp_differs(const struct sim_machine *m, const struct xs_cpu *hw,
			const struct xs_cpu *sh, unsigned comp, size_t *off)
{
	const uint8_t *a = xs_comp_regs(hw, comp), *b = xs_comp_regs(sh, comp);
	struct sim_range r[4];
	unsigned nr = sim_comp_ranges(m, comp, r);

	if (!a || !b)
		return 0;
	for (unsigned i = 0; i < nr; i++) {
		if (!memcmp(a + r[i].off, b + r[i].off, r[i].len))
			continue;
		for (size_t j = 0; j < r[i].len; j++)
			if (a[r[i].off + j] != b[r[i].off + j]) {
				*off = r[i].off + j;
				return 1;
			}
	}
	return 0;
}

static int report_mismatch(struct sim_machine *m, unsigned cpu, struct sim_task *t,
			   unsigned comp, size_t off)
{
	const struct xs_cpu *hw = m->k.cpu[cpu].hw;
	const uint8_t *a = xs_comp_regs(hw, comp), *b = xs_comp_regs(t->shadow, comp);
	const struct xs_comp_info *ci = xs_comp_info(comp);
	const char *title = ci ? ci->title : xs_comp_name(comp);
	bool self_too;
	unsigned w = sim_value_writer(m, hw, comp, t->id, &self_too);
	char diff[200], nb[SIM_NAME_MAX + 8];

	sim_format_diff(diff, sizeof(diff), a + off, b + off, 8, off);
	if (!self_too && w != SIM_WRITER_NONE && w != SIM_WRITER_INIT && w != t->id)
		return sim_fail(m, "leak", "leak: %s on cpu%u sees %s%s value in %s (%s): %s",
				t->name, cpu, sim_writer_name(m, w, nb, sizeof(nb)),
				w == SIM_WRITER_KERNEL ? "'s FPU code's" : "'s", xs_comp_name(comp),
				title, diff);
	if (w == SIM_WRITER_INIT)
		return sim_fail(m, "shadow", "shadow: %s on cpu%u sees the initial configuration "
				"of %s (%s), not its own value: %s", t->name, cpu,
				xs_comp_name(comp), title, diff);
	if (self_too || w == t->id)
		return sim_fail(m, "shadow", "shadow: %s on cpu%u sees a stale value of its own in "
				"%s (%s): %s", t->name, cpu, xs_comp_name(comp), title, diff);
	return sim_fail(m, "shadow", "shadow: %s on cpu%u sees bytes no task wrote in %s (%s): %s",
			t->name, cpu, xs_comp_name(comp), title, diff);
}

int sim_check_comps(struct sim_machine *m, unsigned cpu, struct sim_task *t, uint64_t mask)
{
	const struct xs_cpu *hw = m->k.cpu[cpu].hw;

	mask &= m->shadow_mask;
	while (mask) {
		unsigned comp = (unsigned)__builtin_ctzll(mask);
		size_t off;

		mask &= mask - 1;
		if (comp_differs(m, hw, t->shadow, comp, &off))
			return report_mismatch(m, cpu, t, comp, off);
	}
	return SIM_OK;
}

/* The checks of one CPU. comps narrows the register comparison (~0: all);
 * the explorer passes the components a user instruction that no kernel
 * code interrupted can have changed. (Split out of sim_check() by the
 * checker issue, helper I, so the explorer checks only the CPUs a step
 * touched with exactly these checks.) */
int sim_check_cpu(struct sim_machine *m, unsigned i, uint64_t comps)
{
	const struct xk_cpu *c = &m->k.cpu[i];
	struct sim_task *t = c->current ? c->current->sim : NULL;
	uint64_t mask;

	if (!t || t->kind != SIM_USER || t->state == SIM_T_EXITED)
		return SIM_OK;
	/* In user mode the registers are the task's; in the kernel too
	 * while need_load is clear (invariant 3), unless a kernel FPU
	 * section owns them. */
	/* FS/GS and KVM (verbs_fsgs.c, verbs_kvm.c). */
	if (sim_fsgs_check(m, i) || sim_kvm_check(m, i))
		return SIM_FAIL;
	if (sim_kvm_guest_regs(m, t))
		return SIM_OK; /* the guest's registers: sim_kvm_check() compared them */
	if (!c->user_mode && (t->k->need_load || !c->kernel_fpu_allowed))
		return SIM_OK;
	mask = observable(m, c->hw) & comps;
	if (mask && sim_check_comps(m, i, t, mask))
		return SIM_FAIL;
	m->checks++;
	return SIM_OK;
}

int sim_check(struct sim_machine *m)
{
	if (!m->check.shadow)
		return SIM_OK;
	for (unsigned i = 0; i < m->ncpus; i++)
		if (sim_check_cpu(m, i, ~0ULL))
			return SIM_FAIL;
	return SIM_OK;
}
