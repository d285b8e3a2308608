/* FS/GS bases of 64-bit tasks: the GDT with its TLS slots, the LDT,
 * save_fsgs()/x86_fsgsbase_load() at the switch under both policies,
 * arch_prctl, set_thread_area, modify_ldt, ptrace's USER area, fork and
 * exec (include/xstate/kernel_fsgs.h; linux-design.md 7).
 *
 * Sources: arch/x86/kernel/process_64.c (save_fsgs, save_base_legacy,
 * load_seg_legacy, x86_fsgsbase_load, x86_fs/gsbase_read_task,
 * do_arch_prctl_64, start_thread_common), arch/x86/kernel/tls.c,
 * arch/x86/kernel/ldt.c, arch/x86/kernel/ptrace.c (putreg, getreg,
 * set_segment_reg), arch/x86/kernel/cpu/common.c
 * (detect_null_seg_behavior), arch/x86/include/asm/segment.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "xstate/kernel_abi.h"
#include "xstate/kernel_fsgs.h"

/* ---- Descriptors ---- */

/* GDT_ENTRY_INIT(flags, base, limit) of the x86-64 GDT (common.c gdt_page). */
static uint64_t gdt_entry(unsigned flags, uint32_t base, uint32_t limit)
{
	struct xs_desc d;

	d.base = base;
	d.limit = limit;
	d.type = flags & 0xFu;
	d.s = (flags >> 4) & 1;
	d.dpl = (flags >> 5) & 3u;
	d.present = (flags >> 7) & 1;
	d.avl = (flags >> 12) & 1;
	d.l = (flags >> 13) & 1;
	d.db = (flags >> 14) & 1;
	d.g = (flags >> 15) & 1;
	return xs_desc_pack(&d);
}

static void gdt_init(uint64_t *gdt, unsigned cpu)
{
	memset(gdt, 0, XK_GDT_ENTRIES * sizeof(*gdt));
	gdt[XK_GDT_ENTRY_KERNEL32_CS] = gdt_entry(0xc09b, 0, 0xfffff);
	gdt[XK_GDT_ENTRY_KERNEL_CS] = gdt_entry(0xa09b, 0, 0xfffff);
	gdt[XK_GDT_ENTRY_KERNEL_DS] = gdt_entry(0xc093, 0, 0xfffff);
	gdt[XK_GDT_ENTRY_USER32_CS] = gdt_entry(0xc0fb, 0, 0xfffff);
	gdt[XK_GDT_ENTRY_USER_DS] = gdt_entry(0xc0f3, 0, 0xfffff);
	gdt[XK_GDT_ENTRY_USER_CS] = gdt_entry(0xa0fb, 0, 0xfffff);
	/* The TSS and LDT descriptors are 16-byte system descriptors (S = 0);
	 * here only their low halves' type matters: not loadable into FS/GS. */
	gdt[XK_GDT_ENTRY_TSS] = gdt_entry(0x0089, 0, 0x67);
	/* CPUNODE: a read-only data segment whose limit encodes the CPU
	 * number, for getcpu() via LSL (setup_getcpu()). */
	gdt[XK_GDT_ENTRY_CPUNODE] = gdt_entry(0x40f5, 0, cpu & 0xfffu);
}

struct xk_user_desc xk_user_desc_data(uint32_t entry, uint32_t base)
{
	struct xk_user_desc u;

	memset(&u, 0, sizeof(u));
	u.entry_number = entry;
	u.base_addr = base;
	u.limit = 0xfffff;
	u.seg_32bit = true;
	u.limit_in_pages = true;
	u.useable = true;
	return u;
}

struct xk_user_desc xk_user_desc_empty(uint32_t entry)
{
	struct xk_user_desc u;

	memset(&u, 0, sizeof(u));
	u.entry_number = entry;
	u.read_exec_only = true;
	u.seg_not_present = true;
	return u;
}

/* LDT_empty() / LDT_zero() (asm/desc.h). */
static bool desc_empty(const struct xk_user_desc *u)
{
	return !u->base_addr && !u->limit && !u->contents && u->read_exec_only &&
	       !u->seg_32bit && !u->limit_in_pages && u->seg_not_present && !u->useable;
}

static bool desc_zero(const struct xk_user_desc *u)
{
	return !u->base_addr && !u->limit && !u->contents && !u->read_exec_only &&
	       !u->seg_32bit && !u->limit_in_pages && !u->seg_not_present && !u->useable;
}

/* fill_ldt(): always data or code, DPL 3, accessed bit preset (so the CPU
 * never writes the table), never a 64-bit code segment. */
static uint64_t fill_ldt(const struct xk_user_desc *u)
{
	struct xs_desc d;

	memset(&d, 0, sizeof(d));
	d.base = u->base_addr;
	d.limit = u->limit & 0xfffffu;
	d.type = (uint8_t)(((!u->read_exec_only) << 1) | ((u->contents & 3u) << 2) | 1u);
	d.s = true;
	d.dpl = 3;
	d.present = !u->seg_not_present;
	d.avl = u->useable;
	d.db = u->seg_32bit;
	d.g = u->limit_in_pages;
	return xs_desc_pack(&d);
}

const char *xk_ureg_name(enum xk_ureg r)
{
	static const char *const names[] = { "fs_base", "gs_base", "fs", "gs" };

	return (unsigned)r < 4 ? names[r] : "?";
}

/* ---- Instructions the kernel executes ---- */

static struct xk_thread *thread_of(struct xk_cpu *c, struct xk_task *t)
{
	return t ? &t->thread : &c->idle_thread;
}

static void trace_fsgs(struct xk_kernel *k, const struct xk_cpu *c, const struct xk_task *t,
		       enum xs_seg s, uint16_t sel, uint64_t base, const char *why)
{
	XK_TRACE(k, .type = XK_EV_FSGS, .cpu = c ? (int)c->id : -1, .task = t, .reg = s,
		 .old = sel, .value = base, .why = why);
}

static void hw_check(struct xk_kernel *k, struct xk_cpu *c, enum xs_fault f, const char *what)
{
	if (f)
		xk_warn(k, (int)c->id, what, XK_I_NONE, f);
}

/* GS instructions in the kernel act on the active (kernel) GS; the user's
 * is the inactive one: SWAPGS around (interrupts off in Linux). */
static void swapgs(struct xk_kernel *k, struct xk_cpu *c)
{
	hw_check(k, c, xs_swapgs(c->hw), "SWAPGS faulted");
}

/* loadsegment() / load_gs_index() with their exception fixup: a selector
 * whose descriptor does not load becomes 0. */
static void loadseg(struct xk_kernel *k, struct xk_cpu *c, enum xs_seg s, uint16_t sel)
{
	if (s == XS_SEG_GS)
		swapgs(k, c);
	if (xs_mov_to_seg(c->hw, s, sel) != XS_OK) {
		/* asm_load_gs_index's fixup: X86_BUG_NULL_SEG CPUs load
		 * __USER_DS first so that the null load leaves base 0. */
		if (s == XS_SEG_GS && k->null_seg_bug)
			xs_mov_to_seg(c->hw, s, XK_SEL_USER_DS);
		xs_mov_to_seg(c->hw, s, 0);
	}
	if (s == XS_SEG_GS)
		swapgs(k, c);
}

/* x86_fsbase_read_cpu() / x86_gsbase_read_cpu_inactive(). */
static uint64_t base_read_cpu(struct xk_kernel *k, struct xk_cpu *c, enum xs_seg s)
{
	uint64_t v = 0;

	if (k->fsgsbase) {
		if (s == XS_SEG_GS)
			swapgs(k, c);
		hw_check(k, c, xs_rdsegbase(c->hw, s, &v), "RD*BASE faulted");
		if (s == XS_SEG_GS)
			swapgs(k, c);
	} else {
		hw_check(k, c, xs_seg_rdmsr(c->hw, s == XS_SEG_FS ? XS_MSR_FS_BASE
								 : XS_MSR_KERNEL_GS_BASE, &v),
			 "RDMSR of a segment base faulted");
	}
	return v;
}

/* x86_fsbase_write_cpu() / x86_gsbase_write_cpu_inactive(). */
static void base_write_cpu(struct xk_kernel *k, struct xk_cpu *c, enum xs_seg s, uint64_t v)
{
	if (k->fsgsbase) {
		if (s == XS_SEG_GS)
			swapgs(k, c);
		hw_check(k, c, xs_wrsegbase(c->hw, s, v), "WR*BASE faulted");
		if (s == XS_SEG_GS)
			swapgs(k, c);
	} else {
		hw_check(k, c, xs_seg_wrmsr(c->hw, s == XS_SEG_FS ? XS_MSR_FS_BASE
								 : XS_MSR_KERNEL_GS_BASE, v),
			 "WRMSR of a segment base faulted");
	}
}

static uint16_t *idx_of(struct xk_thread *th, enum xs_seg s)
{
	return s == XS_SEG_FS ? &th->fsindex : &th->gsindex;
}

static uint64_t *base_of(struct xk_thread *th, enum xs_seg s)
{
	return s == XS_SEG_FS ? &th->fsbase : &th->gsbase;
}

/* ---- Boot ---- */

/* detect_null_seg_behavior(): does loading a null selector clear the
 * base? Linux asks the CPU. (On AMD it also trusts CPUID 8000_0021H:EAX[6]
 * and assumes the bug inside a hypervisor; the models carry neither leaf,
 * so the experiment decides -- for the project host, a Zen 3 KVM guest,
 * Linux says "null_seg" while the hardware clears the base.) */
static bool null_seg_bug(struct xk_kernel *k, struct xk_cpu *c)
{
	uint64_t old = 0, v = 0;

	xs_seg_rdmsr(c->hw, XS_MSR_FS_BASE, &old);
	xs_seg_wrmsr(c->hw, XS_MSR_FS_BASE, 1);
	xs_mov_to_seg(c->hw, XS_SEG_FS, 0);
	xs_seg_rdmsr(c->hw, XS_MSR_FS_BASE, &v);
	xs_seg_wrmsr(c->hw, XS_MSR_FS_BASE, old);
	return v != 0;
}

void xk_fsgs_boot(struct xk_kernel *k)
{
	k->fsgsbase = k->model->feat.fsgsbase && !k->policy.nofsgsbase;
	for (unsigned i = 0; i < k->ncpus; i++) {
		struct xk_cpu *c = &k->cpu[i];

		xs_set_cpl(c->hw, 0);
		gdt_init(c->gdt, i);
		hw_check(k, c, xs_lgdt(c->hw, c->gdt, XK_GDT_ENTRIES), "LGDT faulted");
		hw_check(k, c, xs_lldt(c->hw, NULL, 0), "LLDT faulted");
		c->ldt = NULL;
		if (k->fsgsbase)
			hw_check(k, c, xs_set_cr4_fsgsbase(c->hw, true), "CR4.FSGSBASE faulted");
		/* The kernel's GS: this CPU's per-CPU area; the user's (inactive)
		 * GS base and FS start at 0. */
		hw_check(k, c, xs_seg_wrmsr(c->hw, XS_MSR_GS_BASE, XK_PERCPU_BASE(i)),
			 "WRMSR GS_BASE faulted");
		hw_check(k, c, xs_seg_wrmsr(c->hw, XS_MSR_KERNEL_GS_BASE, 0),
			 "WRMSR KERNEL_GS_BASE faulted");
		memset(&c->idle_thread, 0, sizeof(c->idle_thread));
		XK_TRACE(k, .type = XK_EV_CPU_SETUP, .cpu = (int)i, .insn = XK_I_MOV_CR4, .reg = 4,
			 .value = k->fsgsbase, .why = "CR4.FSGSBASE");
	}
	k->null_seg_bug = null_seg_bug(k, &k->cpu[0]);
}

/* ---- Entry and exit ---- */

void xk_fsgs_enter_kernel(struct xk_kernel *k, struct xk_cpu *c)
{
	swapgs(k, c);
}

void xk_fsgs_exit_to_user(struct xk_kernel *k, struct xk_cpu *c)
{
	swapgs(k, c);
	/* swapgs_restore_regs_and_return_to_usermode: IRETQ nulls FS/GS
	 * holding a null selector 1-3 (sysret leaves them). */
	if (c->current && c->current->thread.exit_iret)
		xs_iret_segments(c->hw);
}

/* ---- Switch ---- */

static void save_seg(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
		     struct xk_thread *th, enum xs_seg s)
{
	uint16_t sel = xs_mov_from_seg(c->hw, s);

	*idx_of(th, s) = sel;
	if (k->policy.fsgs == XK_FSGS_LUTO2016 || k->fsgsbase) {
		/* The base as the CPU has it (2016: "unconditionally save the
		 * base and selector as they actually were"). */
		*base_of(th, s) = base_read_cpu(k, c, s);
	} else if (sel) {
		/* save_base_legacy(): selectors 1-3 mean base 0; >= 4 reload
		 * from the descriptor anyway. Selector 0: the saved base is
		 * assumed right (no RDMSR on the hot path). */
		*base_of(th, s) = 0;
	}
	trace_fsgs(k, c, t, s, sel, *base_of(th, s), "saved at switch-out");
}

/* load_seg_legacy(). */
static void load_seg_legacy(struct xk_kernel *k, struct xk_cpu *c, const struct xk_thread *prev,
			    const struct xk_thread *next, enum xs_seg s)
{
	uint16_t pi = *idx_of((struct xk_thread *)prev, s), ni = *idx_of((struct xk_thread *)next, s);
	uint64_t pb = *base_of((struct xk_thread *)prev, s), nb = *base_of((struct xk_thread *)next, s);

	if (ni > 3) {
		loadseg(k, c, s, ni); /* a real segment: its descriptor has the base */
	} else if (nb == 0) {
		if (k->null_seg_bug) {
			/* AMD: a null load does not clear the base. */
			loadseg(k, c, s, XK_SEL_USER_DS);
			loadseg(k, c, s, ni);
		} else if (pi | ni | pb) {
			loadseg(k, c, s, ni);
		}
	} else {
		if (pi != ni)
			loadseg(k, c, s, ni);
		hw_check(k, c, xs_seg_wrmsr(c->hw, s == XS_SEG_FS ? XS_MSR_FS_BASE
								 : XS_MSR_KERNEL_GS_BASE, nb),
			 "WRMSR of a segment base faulted");
	}
}

static void load_seg(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t,
		     const struct xk_thread *prev, const struct xk_thread *next, enum xs_seg s)
{
	uint16_t pi = *idx_of((struct xk_thread *)prev, s), ni = *idx_of((struct xk_thread *)next, s);
	uint64_t nb = *base_of((struct xk_thread *)next, s);

	if (k->policy.fsgs == XK_FSGS_LUTO2016) {
		/* Seed 002: selector != 0 -> the in-memory descriptor gives the
		 * base; selector 0 -> the saved base. */
		if (pi | ni)
			loadseg(k, c, s, ni);
		if (!ni)
			base_write_cpu(k, c, s, nb);
		else if (xs_sel_is_null(xs_mov_from_seg(c->hw, s)))
			/* A nonzero selector that names no descriptor (a null
			 * selector 1-3, or one whose descriptor is gone: the
			 * fixup loaded 0) has no base to take: 0. The explicit
			 * write matters where a null load keeps the old base
			 * (X86_BUG_NULL_SEG): it is the previous task's. */
			base_write_cpu(k, c, s, 0);
	} else if (k->fsgsbase) {
		/* x86_fsgsbase_load(): selector and base independently. */
		if (pi | ni)
			loadseg(k, c, s, ni);
		base_write_cpu(k, c, s, nb);
	} else {
		load_seg_legacy(k, c, prev, next, s);
	}
	trace_fsgs(k, c, t, s, xs_mov_from_seg(c->hw, s), nb, "loaded at switch-in");
}

/* native_load_tls(): the three TLS descriptors of next into this CPU's GDT. */
static void load_tls(struct xk_cpu *c, const struct xk_thread *next)
{
	memcpy(&c->gdt[XK_GDT_ENTRY_TLS_MIN], next->tls_array, sizeof(next->tls_array));
}

/* switch_ldt(): LLDT when the incoming user task's process has another
 * table (kernel threads keep the previous mm, lazy TLB). */
static void switch_ldt(struct xk_kernel *k, struct xk_cpu *c, const struct xk_task *next)
{
	const uint64_t *ldt;
	unsigned n;

	if (!next || (next->flags & (XK_TF_KTHREAD | XK_TF_USER_WORKER)) || !next->proc)
		return;
	ldt = xk_fsgs_task_ldt(next, &n);
	if (ldt == c->ldt)
		return;
	hw_check(k, c, xs_lldt(c->hw, ldt, n), "LLDT faulted");
	c->ldt = ldt;
}

void xk_fsgs_switch(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev,
		    struct xk_task *next)
{
	struct xk_thread *pt = thread_of(c, prev), *nt = thread_of(c, next);

	switch_ldt(k, c, next);
	/* save_fsgs(prev) before load_TLS(): the GDT it may reload from
	 * still holds prev's descriptors. */
	save_seg(k, c, prev, pt, XS_SEG_FS);
	save_seg(k, c, prev, pt, XS_SEG_GS);
	load_tls(c, nt);
	load_seg(k, c, next, pt, nt, XS_SEG_FS);
	load_seg(k, c, next, pt, nt, XS_SEG_GS);
}

/* ---- Reading a task's state ---- */

/* The task current on some CPU, in kernel mode (a system call or a fault);
 * NULL if t is not running. *user is set if it runs in user mode. */
static struct xk_cpu *running_on(struct xk_kernel *k, const struct xk_task *t, bool *user)
{
	struct xk_cpu *c;

	*user = false;
	if (t->on_cpu < 0)
		return NULL;
	c = &k->cpu[t->on_cpu];
	*user = c->user_mode;
	return c;
}

/* x86_fsgsbase_read_task(): the base of the descriptor selector names in
 * t's TLS array or LDT; 0 for any other GDT entry (none has a base). */
static uint64_t desc_base_of(const struct xk_task *t, uint16_t sel)
{
	unsigned idx = xs_sel_index(sel), n;
	const uint64_t *ldt;

	if (xs_sel_is_null(sel))
		return 0;
	if (!(sel & XS_SEL_TI)) {
		if (idx < XK_GDT_ENTRY_TLS_MIN || idx >= XK_GDT_ENTRY_TLS_MIN + XK_GDT_TLS_ENTRIES)
			return 0;
		return xs_desc_base(t->thread.tls_array[idx - XK_GDT_ENTRY_TLS_MIN]);
	}
	ldt = xk_fsgs_task_ldt(t, &n);
	if (!ldt || idx >= n)
		return 0;
	return xs_desc_base(ldt[idx]);
}

uint64_t xk_fsgs_read_base(struct xk_kernel *k, struct xk_task *t, enum xs_seg s)
{
	bool user;
	struct xk_cpu *c = running_on(k, t, &user);
	struct xk_thread *th = &t->thread;

	if (c && !user)
		return base_read_cpu(k, c, s); /* current: the hardware */
	if (k->policy.fsgs == XK_FSGS_LUTO2016 || k->fsgsbase || !*idx_of(th, s))
		return *base_of(th, s);
	return desc_base_of(t, *idx_of(th, s));
}

uint16_t xk_fsgs_read_sel(struct xk_kernel *k, struct xk_task *t, enum xs_seg s)
{
	bool user;
	struct xk_cpu *c = running_on(k, t, &user);

	if (c && !user)
		return xs_mov_from_seg(c->hw, s);
	return *idx_of(&t->thread, s);
}

/* ---- arch_prctl ---- */

long xk_fsgs_arch_prctl(struct xk_kernel *k, struct xk_task *t, int option, uint64_t arg2,
			uint64_t *out)
{
	enum xs_seg s = (option == XK_ARCH_SET_FS || option == XK_ARCH_GET_FS) ? XS_SEG_FS
									      : XS_SEG_GS;
	struct xk_cpu *c;
	bool user;

	if (!t || (t->flags & (XK_TF_KTHREAD | XK_TF_USER_WORKER | XK_TF_DEAD)))
		return -EINVAL;
	c = running_on(k, t, &user);
	if (user)
		return -EINVAL; /* a system call runs in the kernel */
	switch (option) {
	case XK_ARCH_SET_FS:
	case XK_ARCH_SET_GS:
		if (arg2 >= XK_TASK_SIZE_MAX)
			return -EPERM;
		/* "ARCH_SET_GS has always overwritten the index and the base.
		 * Zero is the most sensible value to put in the index." */
		if (c) {
			loadseg(k, c, s, 0);
			base_write_cpu(k, c, s, arg2);
			/* save_base_legacy() relies on thread.*base too. */
			*base_of(&t->thread, s) = arg2;
		} else {
			*idx_of(&t->thread, s) = 0;
			*base_of(&t->thread, s) = arg2;
		}
		trace_fsgs(k, c, t, s, 0, arg2, "arch_prctl(ARCH_SET_*)");
		return 0;
	case XK_ARCH_GET_FS:
	case XK_ARCH_GET_GS:
		if (out)
			*out = xk_fsgs_read_base(k, t, s);
		return 0;
	}
	return -EINVAL;
}

/* arch_ptrace(PTRACE_ARCH_PRCTL): do_arch_prctl_64(child, data, addr) --
 * the code in data, the argument (or the tracer's address for a GET) in
 * addr. ptrace_check_attach() first; then only do_arch_prctl_64()'s
 * options: the XSTATE ones live in do_arch_prctl_common(), which only the
 * system call reaches. */
long xk_ptrace_arch_prctl(struct xk_kernel *k, struct xk_task *t, int code, uint64_t addr,
			  uint64_t *out)
{
	if (!t || !xk_ptrace_stopped(t))
		return -ESRCH;
	switch (code) {
	case XK_ARCH_SET_FS:
	case XK_ARCH_SET_GS:
	case XK_ARCH_GET_FS:
	case XK_ARCH_GET_GS:
		return xk_fsgs_arch_prctl(k, t, code, addr, out);
	}
	return -EINVAL;
}

/* ---- set_thread_area ---- */

/* tls_desc_okay(). */
static bool tls_desc_okay(const struct xk_user_desc *u)
{
	if (desc_empty(u) || desc_zero(u))
		return true;
	if (!u->seg_32bit)
		return false; /* espfix only covers LDT 16-bit segments */
	if (u->contents > 1)
		return false; /* only data segments in the TLS array */
	if (u->seg_not_present)
		return false; /* non-present DPL 3 TLS: refused outright */
	return true;
}

int xk_set_thread_area(struct xk_kernel *k, unsigned cpu, struct xk_user_desc *u)
{
	struct xk_cpu *c;
	struct xk_task *t;
	unsigned idx = u->entry_number, slot;
	uint16_t sel;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	t = c->current;
	if (!xk_user_task(t) || c->user_mode)
		return -EINVAL;
	if (idx == 0xFFFFFFFFu) {
		/* get_free_idx(): the first slot whose descriptor is empty. */
		for (slot = 0; slot < XK_GDT_TLS_ENTRIES; slot++)
			if (!t->thread.tls_array[slot])
				break;
		if (slot == XK_GDT_TLS_ENTRIES)
			return -ESRCH;
		idx = XK_GDT_ENTRY_TLS_MIN + slot;
		u->entry_number = idx;
	}
	if (idx < XK_GDT_ENTRY_TLS_MIN || idx >= XK_GDT_ENTRY_TLS_MIN + XK_GDT_TLS_ENTRIES)
		return -EINVAL;
	if (!tls_desc_okay(u))
		return -EINVAL;
	slot = idx - XK_GDT_ENTRY_TLS_MIN;
	t->thread.tls_array[slot] = (desc_empty(u) || desc_zero(u)) ? 0 : fill_ldt(u);
	/* set_tls_desc(): current's GDT copy now (load_TLS). */
	load_tls(c, &t->thread);
	/* "If DS, ES, FS, or GS points to the modified segment, forcibly
	 * refresh it." (64-bit: FS and GS here.) */
	sel = XK_SEL_TLS(slot);
	if (xs_mov_from_seg(c->hw, XS_SEG_FS) == sel)
		loadseg(k, c, XS_SEG_FS, sel);
	{
		uint16_t gs;

		swapgs(k, c);
		gs = xs_mov_from_seg(c->hw, XS_SEG_GS);
		swapgs(k, c);
		if (gs == sel)
			loadseg(k, c, XS_SEG_GS, sel);
	}
	trace_fsgs(k, c, t, XS_SEG_FS, sel, u->base_addr, "set_thread_area: TLS descriptor");
	return 0;
}

/* ---- modify_ldt ---- */

int xk_modify_ldt(struct xk_kernel *k, unsigned cpu, int func, const struct xk_user_desc *u)
{
	bool oldmode = func == 1;
	struct xk_process *p;
	struct xk_cpu *c;
	struct xk_task *t;
	uint64_t desc, *n;
	uint32_t entries;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	t = c->current;
	if (!xk_user_task(t) || c->user_mode || !t->proc)
		return -EINVAL;
	if (func != 1 && func != 0x11)
		return -ENOSYS; /* reads (0, 2) are not modelled */
	/* write_ldt(). */
	if (u->entry_number >= XK_LDT_ENTRIES)
		return -EINVAL;
	if (u->contents == 3 && (oldmode || !u->seg_not_present))
		return -EINVAL;
	if ((oldmode && !u->base_addr && !u->limit) || desc_empty(u)) {
		desc = 0;
	} else {
		/* allow_16bit_segments(): no espfix in this model. */
		if (!u->seg_32bit)
			return -EINVAL;
		desc = fill_ldt(u);
		if (oldmode)
			desc &= ~(1ULL << 52); /* avl = 0 */
	}
	p = t->proc;
	entries = u->entry_number + 1 > p->ldt_entries ? u->entry_number + 1 : p->ldt_entries;
	/* alloc_ldt_struct() + copy: a new table each time; install_ldt(). */
	n = calloc(entries, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (p->ldt)
		memcpy(n, p->ldt, p->ldt_entries * sizeof(*n));
	n[u->entry_number] = desc;
	/* flush_ldt() on every CPU running the process: LLDT the new table.
	 * refresh_ldt_segments() reloads DS/ES only: FS/GS keep the base they
	 * loaded from the old table (64-bit). */
	for (unsigned i = 0; i < k->ncpus; i++) {
		struct xk_cpu *ci = &k->cpu[i];

		if (ci->current && ci->current->proc == p &&
		    !(ci->current->flags & XK_TF_KTHREAD)) {
			int cpl = xs_cpl(ci->hw);

			xs_set_cpl(ci->hw, 0); /* the IPI handler runs in the kernel */
			hw_check(k, ci, xs_lldt(ci->hw, n, entries), "LLDT faulted");
			xs_set_cpl(ci->hw, cpl);
			ci->ldt = n;
		} else if (p->ldt && ci->ldt == p->ldt) {
			/* A lazy-TLB CPU still has the old table loaded: Linux's
			 * mm_cpumask covers it too. (Only a real table: with none
			 * before, every CPU without an LDT matched -- another
			 * process's among them, which then could load this one's
			 * descriptors. Found by the checker issue's explorer.) */
			int cpl = xs_cpl(ci->hw);

			xs_set_cpl(ci->hw, 0);
			hw_check(k, ci, xs_lldt(ci->hw, n, entries), "LLDT faulted");
			xs_set_cpl(ci->hw, cpl);
			ci->ldt = n;
		}
	}
	free(p->ldt);
	p->ldt = n;
	p->ldt_entries = entries;
	trace_fsgs(k, c, t, XS_SEG_FS, xs_sel_make(u->entry_number, true, 3), u->base_addr,
		   "modify_ldt: LDT descriptor");
	return 0;
}

const uint64_t *xk_fsgs_task_ldt(const struct xk_task *t, unsigned *n)
{
	if (!t->proc || !t->proc->ldt) {
		*n = 0;
		return NULL;
	}
	*n = t->proc->ldt_entries;
	return t->proc->ldt;
}

void xk_fsgs_task_gdt(const struct xk_kernel *k, const struct xk_task *t, unsigned cpu,
		      uint64_t gdt[XK_GDT_ENTRIES])
{
	memcpy(gdt, k->cpu[cpu].gdt, XK_GDT_ENTRIES * sizeof(*gdt));
	memcpy(&gdt[XK_GDT_ENTRY_TLS_MIN], t->thread.tls_array, sizeof(t->thread.tls_array));
}

void xk_fsgs_process_free(struct xk_process *p)
{
	free(p->ldt);
	p->ldt = NULL;
	p->ldt_entries = 0;
}

/* ---- ptrace ---- */

static int tracee_ok(const struct xk_task *t)
{
	if (!t || (t->flags & XK_TF_DEAD))
		return -ESRCH;
	if (t->flags & (XK_TF_KTHREAD | XK_TF_USER_WORKER))
		return -EIO;
	if (t->on_cpu >= 0)
		return -ESRCH; /* not stopped */
	return 0;
}

int xk_ptrace_peekuser(struct xk_kernel *k, struct xk_task *t, enum xk_ureg r, uint64_t *val)
{
	int ret = tracee_ok(t);

	if (ret)
		return ret;
	switch (r) {
	case XK_UREG_FS_BASE:
		*val = xk_fsgs_read_base(k, t, XS_SEG_FS);
		return 0;
	case XK_UREG_GS_BASE:
		*val = xk_fsgs_read_base(k, t, XS_SEG_GS);
		return 0;
	case XK_UREG_FS:
		*val = xk_fsgs_read_sel(k, t, XS_SEG_FS);
		return 0;
	case XK_UREG_GS:
		*val = xk_fsgs_read_sel(k, t, XS_SEG_GS);
		return 0;
	}
	return -EIO;
}

int xk_ptrace_pokeuser(struct xk_kernel *k, struct xk_task *t, enum xk_ureg r, uint64_t val)
{
	enum xs_seg s = (r == XK_UREG_FS_BASE || r == XK_UREG_FS) ? XS_SEG_FS : XS_SEG_GS;
	int ret = tracee_ok(t);
	uint16_t sel;

	if (ret)
		return ret;
	switch (r) {
	case XK_UREG_FS_BASE:
	case XK_UREG_GS_BASE:
		if (val >= XK_TASK_SIZE_MAX)
			return -EIO;
		/* Mutant: pre-5.9 putreg() went through do_arch_prctl_64(),
		 * which zeroes the selector -- when the value differs. */
		if (xk_mutant(k, XK_MUT_FSGS_PTRACE_SELECTOR)) {
			if (*base_of(&t->thread, s) != val)
				return (int)xk_fsgs_arch_prctl(k, t, s == XS_SEG_FS ? XK_ARCH_SET_FS
										 : XK_ARCH_SET_GS,
							       val, NULL);
			return 0;
		}
		/* x86_fsbase_write_task(): the base only (v5.9+). */
		*base_of(&t->thread, s) = val;
		trace_fsgs(k, NULL, t, s, *idx_of(&t->thread, s), val, "ptrace: base written");
		return 0;
	case XK_UREG_FS:
	case XK_UREG_GS:
		sel = (uint16_t)val; /* putreg() hands set_segment_reg() a u16 */
		/* invalid_selector(): nonzero with an RPL other than 3. */
		if (sel && (sel & XS_SEL_RPL_MASK) != 3)
			return -EIO;
		*idx_of(&t->thread, s) = sel;
		trace_fsgs(k, NULL, t, s, sel, *base_of(&t->thread, s), "ptrace: selector written");
		return 0;
	}
	return -EIO;
}

/* ---- fork and exec ---- */

void xk_fsgs_clone(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *parent,
		   struct xk_task *child, unsigned flags)
{
	struct xk_process *pp = parent->proc, *cp = child->proc;

	/* current_save_fsgs(): the parent's live values, then copy_thread()
	 * hands them (and tls_array) to the child with the thread struct. */
	save_seg(k, c, parent, &parent->thread, XS_SEG_FS);
	save_seg(k, c, parent, &parent->thread, XS_SEG_GS);
	/* ldt_dup_context(): a new mm gets a copy of the LDT. */
	if (!(flags & XK_CLONE_THREAD) && cp != pp && pp && pp->ldt && cp) {
		cp->ldt = malloc(pp->ldt_entries * sizeof(*cp->ldt));
		if (cp->ldt) {
			memcpy(cp->ldt, pp->ldt, pp->ldt_entries * sizeof(*cp->ldt));
			cp->ldt_entries = pp->ldt_entries;
		} else {
			xk_warn(k, (int)c->id, "fork: no memory for the LDT copy", XK_I_NONE, XS_OK);
		}
	}
}

void xk_fsgs_exec(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	/* flush_thread(): TLS cleared; the old mm (and its LDT) goes. */
	memset(t->thread.tls_array, 0, sizeof(t->thread.tls_array));
	load_tls(c, &t->thread);
	if (t->proc)
		xk_fsgs_process_free(t->proc);
	hw_check(k, c, xs_lldt(c->hw, NULL, 0), "LLDT faulted");
	c->ldt = NULL;
	/* start_thread_common(): "Loading zero below won't clear the base" on
	 * X86_BUG_NULL_SEG CPUs, so __USER_DS first. */
	if (k->null_seg_bug) {
		loadseg(k, c, XS_SEG_FS, XK_SEL_USER_DS);
		loadseg(k, c, XS_SEG_GS, XK_SEL_USER_DS);
	}
	loadseg(k, c, XS_SEG_FS, 0);
	loadseg(k, c, XS_SEG_GS, 0);
	/* Beyond Linux: the saved bases are zeroed too; Linux leaves them for
	 * the next save (with FSGSBASE it reads 0 from the CPU then). */
	t->thread.fsindex = t->thread.gsindex = 0;
	t->thread.fsbase = t->thread.gsbase = 0;
	base_write_cpu(k, c, XS_SEG_FS, 0);
	base_write_cpu(k, c, XS_SEG_GS, 0);
}
