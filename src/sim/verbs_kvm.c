/* Scenario verbs for KVM guests (kernel_kvm.h, seed 003) and the "guest"
 * checks.
 *
 *   vcpu G in T                 KVM_CREATE_VCPU: G runs in user task T
 *   kvm G run                   T (running) issues KVM_RUN: guest fpu
 *                               loaded, VM entry
 *   kvm G exit | kvm G enter    VM exit / VM entry inside the KVM_RUN
 *   kvm G stop                  (exit), guest fpu put back, return to user
 *   kvm G set-cpuid MASK        KVM_SET_CPUID2's XSAVE part
 *   kvm G get-xsave [len=N]     KVM_GET_XSAVE2 into the scenario's buffer
 *   kvm G set-xsave [FIELD=V ...] [len=N]
 *                               edit that buffer (xstate_bv, xcomp_bv,
 *                               mxcsr, pkru, or any register) and
 *                               KVM_SET_XSAVE2 it
 *   guest G write REG = V | guest G read REG | guest G touch COMP |
 *   guest G xsetbv MASK | guest G wrmsr MSR = V | guest G rdmsr MSR
 *                               guest code (the vCPU must be in the guest)
 *   expect guest G REG OP V     read by guest code
 *   expect xsave G REG|xstate_bv|pkru OP V   the buffer's contents
 *   expect kvm G FIELD OP V     errno (last KVM call), xcr0, xss, pkru, xfd,
 *                               xfd_err, uabi-size, cap-xsave2, in-guest
 *   expect xcr0 cpuN OP MASK, expect msr cpuN MSR OP V   the hardware
 *
 * The guest has a shadow of its own (a model CPU in the guest's
 * configuration): guest code runs on it too, KVM_SET_XSAVE2 loads it. While
 * the vCPU task has the guest fpstate installed and its registers live,
 * the CPU must hold the guest's shadow (values tagged with the guest as
 * writer, so a host value there is a "leak"), and the host task's own
 * shadow check is suspended; once the guest fpstate is put back, the
 * host task's check resumes (a guest value there is a "leak" too).
 * The "guest" check: outside a guest, every CPU has the host's XCR0,
 * IA32_XSS and XFD_ERR = 0; inside, the guest's XCR0 and XSS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/sim_internal.h"
#include "xstate/kernel_kvm.h"

struct kvm_guest {
	char name[SIM_NAME_MAX];
	unsigned index;
	struct sim_machine *m;
	struct sim_task *vmm;
	struct xk_vcpu *v;          /* NULL once the vCPU is gone */
	struct xs_cpu *shadow;      /* what the guest's registers must hold */
	uint8_t *img;               /* the KVM_GET/SET_XSAVE2 buffer */
	uint32_t img_len;
	bool have_rc;
	int rc;
	enum xs_fault last_fault;
};

struct sim_kvm {
	struct kvm_guest **g;
	unsigned n, cap;
};

void sim_kvm_free(struct sim_machine *m)
{
	struct sim_kvm *k = m->kvm;

	if (!k)
		return;
	for (unsigned i = 0; i < k->n; i++) {
		struct kvm_guest *g = k->g[i];

		if (g->v) {
			g->v->sim = NULL;
			g->v->sim_release = NULL;
		}
		xs_cpu_free(g->shadow);
		free(g->img);
		free(g);
	}
	free(k->g);
	free(k);
	m->kvm = NULL;
}

static struct kvm_guest *guest_by_name(struct sim_machine *m, const char *name)
{
	struct sim_kvm *k = m->kvm;

	for (unsigned i = 0; k && i < k->n; i++)
		if (!strcmp(k->g[i]->name, name))
			return k->g[i];
	return NULL;
}

/* The vCPU the kernel released with its task. */
static void guest_released(void *p)
{
	struct kvm_guest *g = p;

	g->v = NULL;
}

const char *sim_kvm_writer_name(const struct sim_machine *m, unsigned writer, char *buf,
				size_t len)
{
	const struct sim_kvm *k = m->kvm;
	unsigned i = writer - SIM_WRITER_GUEST;

	if (writer < SIM_WRITER_GUEST || !k || i >= k->n)
		return NULL;
	snprintf(buf, len, "guest %s", k->g[i]->name);
	return buf;
}

/* The guest whose fpstate is installed in t with live registers on t's CPU. */
static struct kvm_guest *live_guest(const struct sim_machine *m, const struct sim_task *t)
{
	const struct xk_vcpu *v;
	const struct xk_cpu *c;

	if (!t || !t->k || t->state == SIM_T_EXITED || !(v = t->k->vcpu) || !v->sim ||
	    !v->gfpu.fpstate->in_use || t->k->on_cpu < 0)
		return NULL;
	c = &m->k.cpu[t->k->on_cpu];
	if (t->k->need_load || !c->kernel_fpu_allowed)
		return NULL;
	return v->sim;
}

bool sim_kvm_guest_regs(const struct sim_machine *m, const struct sim_task *t)
{
	return t && t->k && t->k->vcpu && t->k->vcpu->gfpu.fpstate->in_use;
}

/* ---- Checks ---- */

static uint64_t guest_mask(const struct sim_machine *m, const struct kvm_guest *g)
{
	const struct xk_vcpu *v = g->v;
	uint64_t sup = XS_BIT(XS_C_CET_U) | XS_BIT(XS_C_CET_S);

	return ((m->shadow_mask & v->xcr0) | (sup & v->xss & m->k.kcfg.max_features)) &
	       ~v->gfpu.fpstate->xfd;
}

static int compare_guest(struct sim_machine *m, unsigned cpu, struct kvm_guest *g)
{
	const struct xs_cpu *hw = m->k.cpu[cpu].hw;
	uint64_t mask = guest_mask(m, g);

	while (mask) {
		unsigned comp = (unsigned)__builtin_ctzll(mask);
		const uint8_t *a = xs_comp_regs(hw, comp), *b = xs_comp_regs(g->shadow, comp);
		struct sim_range r[4];
		unsigned nr = sim_comp_ranges(m, comp, r);

		mask &= mask - 1;
		if (!a || !b)
			continue;
		for (unsigned i = 0; i < nr; i++) {
			unsigned self = SIM_WRITER_GUEST + g->index, w;
			bool self_too;
			char d[200], nb[64];

			if (!memcmp(a + r[i].off, b + r[i].off, r[i].len))
				continue;
			w = sim_value_writer(m, hw, comp, self, &self_too);
			sim_format_diff(d, sizeof(d), a + r[i].off, b + r[i].off, r[i].len, r[i].off);
			if (!self_too && w != SIM_WRITER_NONE && w != SIM_WRITER_INIT && w != self)
				return sim_fail(m, "leak", "leak: guest %s on cpu%u sees %s's value in "
						"%s: %s", g->name, cpu,
						sim_writer_name(m, w, nb, sizeof(nb)),
						xs_comp_name(comp), d);
			return sim_fail(m, "guest", "guest: %s on cpu%u has %s in %s, not its own "
					"state: %s", g->name, cpu,
					w == SIM_WRITER_INIT ? "the initial configuration" :
					"bytes it did not write", xs_comp_name(comp), d);
		}
	}
	return SIM_OK;
}

/* Host-context registers (users-and-bugs.md 2): guest values only between
 * VM entry and exit. */
static int host_context(struct sim_machine *m, unsigned cpu)
{
	const struct xs_cpu *hw = m->k.cpu[cpu].hw;
	const struct xk_vcpu *v = xk_kvm_in_guest(&m->k, cpu);
	uint64_t xcr0 = v ? v->xcr0 : m->k.xcr0, xss = v ? v->xss : m->k.xss;

	if (xs_xcr0(hw) != xcr0)
		return sim_fail(m, "guest", "guest: cpu%u has XCR0 0x%llx %s (expected the %s's "
				"0x%llx)", cpu, (unsigned long long)xs_xcr0(hw),
				v ? "inside the guest" : "in host context", v ? "guest" : "host",
				(unsigned long long)xcr0);
	if (m->k.use_xsaves && xs_xss(hw) != xss)
		return sim_fail(m, "guest", "guest: cpu%u has IA32_XSS 0x%llx %s (expected 0x%llx)",
				cpu, (unsigned long long)xs_xss(hw),
				v ? "inside the guest" : "in host context", (unsigned long long)xss);
	if (!v && xs_xfd_err(hw))
		return sim_fail(m, "guest", "guest: cpu%u has IA32_XFD_ERR 0x%llx in host context "
				"(a guest's #NM reached the host)", cpu,
				(unsigned long long)xs_xfd_err(hw));
	return SIM_OK;
}

int sim_kvm_check(struct sim_machine *m, unsigned cpu)
{
	const struct xk_cpu *c = &m->k.cpu[cpu];
	struct sim_task *t = c->current ? c->current->sim : NULL;
	struct kvm_guest *g;
	int rc;

	if (!m->kvm)
		return SIM_OK;
	if ((rc = host_context(m, cpu)))
		return rc;
	g = live_guest(m, t);
	if (!g || !g->v)
		return SIM_OK;
	return compare_guest(m, cpu, g);
}

/* An interrupt (or the scheduler's tick) arrives while a guest runs on
 * cpu: the CPU leaves the guest first (external-interrupt VM exit), and
 * KVM restores the host's registers before the host handles it. */
int sim_kvm_interrupt(struct sim_machine *m, unsigned cpu)
{
	struct xk_vcpu *v;

	if (!m->kvm || !(v = xk_kvm_in_guest(&m->k, cpu)))
		return SIM_OK;
	if (xk_kvm_vm_exit(&m->k, cpu))
		return sim_error(m, "cpu%u: VM exit refused", cpu);
	if (v->sim)
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s: VM exit (interrupt)", cpu,
			  ((struct kvm_guest *)v->sim)->name);
	return SIM_OK;
}

/* ---- The guest's shadow ---- */

static struct xs_cpu *guest_shadow_new(struct sim_machine *m)
{
	struct xs_cpu *c = xs_cpu_new(m->model);

	if (!c)
		return NULL;
	xs_set_cpl(c, 0);
	/* The guest OS: CR4.OSXSAVE (and PKE) set, XCR0 at its RESET value. */
	if (xs_set_cr4_osxsave(c, true)) {
		xs_cpu_free(c);
		return NULL;
	}
	if (m->model->feat.pku)
		xs_set_cr4_pke(c, true);
	return c;
}

static int kvm_error(struct sim_machine *m, struct kvm_guest *g, const char *what, int r)
{
	return sim_error(m, "%s %s: %s", what, g->name, sim_errno_name(r));
}

static void set_rc(struct kvm_guest *g, int rc)
{
	g->have_rc = true;
	g->rc = rc;
}

/* ---- Statements ---- */

static int parse_guest_name(struct sim_parser *p, struct sim_stmt *s, int i)
{
	if (i >= s->argc)
		return sim_parse_error(p, "usage: %s", s->verb->usage);
	if (strlen(s->argv[i]) >= SIM_NAME_MAX)
		return sim_parse_error(p, "'%s': names have at most %d characters", s->argv[i],
				       SIM_NAME_MAX - 1);
	snprintf(s->a.name, sizeof(s->a.name), "%s", s->argv[i]);
	return 0;
}

static int need_guest(struct sim_machine *m, const struct sim_stmt *s, struct kvm_guest **g)
{
	*g = guest_by_name(m, s->a.name);
	if (!*g)
		return sim_error(m, "no vCPU named %s (create it with 'vcpu %s in TASK')", s->a.name,
				 s->a.name);
	if (!(*g)->v)
		return sim_error(m, "vCPU %s is gone (its task exited)", s->a.name);
	return SIM_OK;
}

/* vcpu G in T */
static int parse_vcpu(struct sim_parser *p, struct sim_stmt *s)
{
	if (sim_parse_argc(p, s, 4, 4) || parse_guest_name(p, s, 1) ||
	    sim_parse_word(p, s, 2, "in") || sim_parse_task(p, s->argv[3], &s->a.task[0]))
		return -1;
	if (p->tasks[s->a.task[0] - 1].kind != SIM_USER)
		return sim_parse_error(p, "%s is a kernel thread: only user tasks run vCPUs",
				       s->argv[3]);
	return 0;
}

static int exec_vcpu(struct sim_machine *m, const struct sim_stmt *s)
{
	struct sim_task *t = sim_stmt_task(m, s, 0);
	struct sim_kvm *k;
	struct kvm_guest *g;
	struct xk_vcpu *v;
	int r;

	if (guest_by_name(m, s->a.name))
		return sim_error(m, "vCPU %s exists", s->a.name);
	if (t->state == SIM_T_EXITED)
		return sim_error(m, "%s has exited", t->name);
	if (!m->kvm && !(m->kvm = calloc(1, sizeof(*m->kvm))))
		return sim_error(m, "out of memory");
	k = m->kvm;
	if (k->n == k->cap) {
		unsigned cap = k->cap ? k->cap * 2 : 4;
		struct kvm_guest **n = realloc(k->g, cap * sizeof(*n));

		if (!n)
			return sim_error(m, "out of memory");
		k->g = n;
		k->cap = cap;
	}
	if (k->n >= SIM_WRITER_KERNEL - SIM_WRITER_GUEST)
		return sim_error(m, "too many vCPUs");
	g = calloc(1, sizeof(*g));
	if (!g || !(g->shadow = guest_shadow_new(m))) {
		free(g);
		return sim_error(m, "out of memory");
	}
	r = xk_kvm_vcpu_create(&m->k, t->k, &v);
	if (r) {
		xs_cpu_free(g->shadow);
		free(g);
		return sim_error(m, "KVM_CREATE_VCPU for %s: %s", t->name, sim_errno_name(r));
	}
	snprintf(g->name, sizeof(g->name), "%s", s->a.name);
	g->index = k->n;
	g->m = m;
	g->vmm = t;
	g->v = v;
	v->sim = g;
	v->sim_release = guest_released;
	k->g[k->n++] = g;
	sim_trace(m, SIM_TR_EVENT, "        KVM_CREATE_VCPU %s in %s: guest buffer %uB (%s), guest "
		  "permissions locked", g->name, t->name, v->gfpu.fpstate->size,
		  xs_mask_names(v->gfpu.fpstate->xfeatures, (char[200]){ 0 }, 200));
	return SIM_OK;
}

enum kvm_op { K_RUN, K_EXIT, K_ENTER, K_STOP, K_CPUID, K_GET, K_SET };

struct xsave_edit {
	int kind;             /* 0 header/legacy field, 1 register */
	char field[24];
	struct xs_reg reg;
	uint64_t v;
	uint8_t val[1024];    /* register value (reg.size bytes) */
};

struct kvm_args {
	enum kvm_op op;
	uint64_t mask;
	uint32_t len;         /* 0: the ioctl's size */
	struct xsave_edit ed[8];
	unsigned ned;
};

/* kvm G run|exit|enter|stop | set-cpuid MASK | get-xsave [len=N] | set-xsave [F=V...] */
static int parse_kvm(struct sim_parser *p, struct sim_stmt *s)
{
	static const char *const ops[] = { "run", "exit", "enter", "stop", "set-cpuid",
					   "get-xsave", "set-xsave" };
	struct kvm_args *x;
	int i;

	if (sim_parse_argc(p, s, 3, 3 + 10) || parse_guest_name(p, s, 1))
		return -1;
	for (i = 0; i < 7; i++)
		if (!strcmp(s->argv[2], ops[i]))
			break;
	if (i == 7)
		return sim_parse_error(p, "unknown kvm operation '%s' (usage: %s)", s->argv[2],
				       s->verb->usage);
	x = calloc(1, sizeof(*x));
	if (!x)
		return sim_parse_error(p, "out of memory");
	s->a.ext = x;
	x->op = (enum kvm_op)i;
	if (x->op <= K_STOP)
		return sim_parse_argc(p, s, 3, 3);
	if (x->op == K_CPUID)
		return sim_parse_argc(p, s, 4, 4) || sim_parse_mask(p, s->argv[3], &x->mask) ? -1 : 0;
	for (i = 3; i < s->argc; i++) {
		const char *w = s->argv[i], *eq = strchr(w, '=');
		struct xsave_edit *e;
		uint64_t v;

		if (!eq || eq == w)
			return sim_parse_error(p, "expected FIELD=VALUE, got '%s'", w);
		if (!strncmp(w, "len=", 4)) {
			if (sim_parse_u64(p, eq + 1, &v))
				return -1;
			if (v > 65536)
				return sim_parse_error(p, "len=%s: at most 65536", eq + 1);
			x->len = (uint32_t)v;
			continue;
		}
		if (x->op != K_SET)
			return sim_parse_error(p, "get-xsave takes only len=N");
		if (x->ned == 8)
			return sim_parse_error(p, "at most 8 edits");
		e = &x->ed[x->ned++];
		snprintf(e->field, sizeof(e->field), "%.*s", (int)(eq - w), w);
		if (!strcmp(e->field, "xstate_bv") || !strcmp(e->field, "xcomp_bv")) {
			if (sim_parse_mask(p, eq + 1, &e->v))
				return -1;
		} else if (!strcmp(e->field, "mxcsr") || !strcmp(e->field, "pkru")) {
			if (sim_parse_u64(p, eq + 1, &e->v))
				return -1;
		} else {
			uint8_t *val = NULL;

			e->kind = 1;
			if (sim_parse_reg(p, e->field, &e->reg))
				return -1;
			if (e->reg.size > sizeof(e->val))
				return sim_parse_error(p, "%s: too large for set-xsave", e->field);
			if (sim_parse_value(p, eq + 1, e->reg.size, &val))
				return -1;
			memcpy(e->val, val, e->reg.size);
			free(val);
		}
	}
	return 0;
}

/* Where the vCPU thread runs; it must be current on a CPU. */
static int vmm_cpu(struct sim_machine *m, struct kvm_guest *g, unsigned *cpu)
{
	struct sim_task *t = g->vmm;

	if (t->state == SIM_T_EXITED || t->k->on_cpu < 0)
		return sim_error(m, "%s (the vCPU thread of %s) is not running", t->name, g->name);
	*cpu = (unsigned)t->k->on_cpu;
	return SIM_OK;
}

static void trace_kvm(struct sim_machine *m, unsigned cpu, struct kvm_guest *g, const char *what)
{
	char xb[200];

	if (sim_tracing(m))
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  %s: %s (guest XCR0 %s)", cpu, g->name, what,
			  xs_mask_names(g->v ? g->v->xcr0 : 0, xb, sizeof(xb)));
}

/* Standard-format offset of a register part in the UABI image. */
static uint32_t uabi_off(const struct sim_machine *m, unsigned comp, unsigned off)
{
	if (comp <= XS_C_SSE)
		return off; /* legacy region offsets */
	return m->k.xf[comp].offset + off;
}

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* After a successful KVM_SET_XSAVE2, the guest's registers are what the
 * image says: XRSTOR of it into the guest's shadow (under the host's XCR0,
 * so components the guest has not enabled yet are loaded too), every user
 * component the guest buffer restores, PKRU only if its bit was set. */
static void shadow_set_xsave(struct sim_machine *m, struct kvm_guest *g, const uint8_t *img,
			     uint32_t len)
{
	uint64_t xcr0 = xs_xcr0(g->shadow);
	uint64_t rfbm = m->k.restore_mask & XK_MASK_USER_SUPPORTED;
	uint32_t n = (len + 63u) & ~63u;
	uint8_t *buf = aligned_alloc(64, n);
	int cpl = xs_cpl(g->shadow);

	if (!buf)
		return;
	memset(buf, 0, n);
	memcpy(buf, img, len);
	if (get64(buf + XS_HDR_OFFSET) & XS_BIT(XS_C_PKRU))
		rfbm |= XS_BIT(XS_C_PKRU) & m->k.xcr0;
	xs_set_cpl(g->shadow, 0);
	xs_xsetbv(g->shadow, 0, m->k.xcr0);
	xs_xrstor(g->shadow, buf, n, rfbm);
	xs_xsetbv(g->shadow, 0, xcr0);
	xs_set_cpl(g->shadow, cpl);
	free(buf);
	for (uint64_t mm = rfbm & m->shadow_mask; mm; mm &= mm - 1)
		sim_values_note(m, g->shadow, (unsigned)__builtin_ctzll(mm),
				SIM_WRITER_GUEST + g->index);
}

static int exec_xsave(struct sim_machine *m, struct kvm_guest *g, const struct kvm_args *x)
{
	uint32_t size = x->op == K_GET ? xk_kvm_cap_xsave2(&m->k, g->vmm->k) : g->v->gfpu.uabi_size;
	uint32_t len = x->len ? x->len : size;
	uint8_t *img;
	int r;

	if (x->op == K_GET) {
		img = calloc(1, len);
		if (!img)
			return sim_error(m, "out of memory");
		r = xk_kvm_get_xsave2(&m->k, g->v, img, len);
		set_rc(g, r);
		sim_trace(m, SIM_TR_EVENT, "        KVM_GET_XSAVE2 %s (%uB) = %s", g->name, len,
			  r ? sim_errno_name(r) : "0");
		if (r) {
			free(img);
			return SIM_OK;
		}
		free(g->img);
		g->img = img;
		g->img_len = len;
		return SIM_OK;
	}
	if (!g->img)
		return sim_error(m, "set-xsave %s: get-xsave first (the edits apply to its buffer)",
				 g->name);
	img = calloc(1, len > g->img_len ? len : g->img_len);
	if (!img)
		return sim_error(m, "out of memory");
	memcpy(img, g->img, g->img_len);
	for (unsigned i = 0; i < x->ned; i++) {
		const struct xsave_edit *e = &x->ed[i];

		if (e->kind == 1) {
			size_t at = 0;

			for (unsigned pi = 0; pi < e->reg.nparts; pi++) {
				uint32_t o = uabi_off(m, e->reg.part[pi].comp, e->reg.part[pi].off);

				if (o + e->reg.part[pi].len <= g->img_len)
					memcpy(img + o, e->val + at, e->reg.part[pi].len);
				at += e->reg.part[pi].len;
			}
		} else if (!strcmp(e->field, "xstate_bv")) {
			put64(img + XS_HDR_OFFSET, e->v);
		} else if (!strcmp(e->field, "xcomp_bv")) {
			put64(img + XS_HDR_OFFSET + 8, e->v);
		} else if (!strcmp(e->field, "mxcsr")) {
			uint32_t v = (uint32_t)e->v;

			memcpy(img + 24, &v, 4);
		} else if (m->k.xf[XS_C_PKRU].size) {
			uint32_t v = (uint32_t)e->v;

			memcpy(img + m->k.xf[XS_C_PKRU].offset, &v, 4);
		}
	}
	r = xk_kvm_set_xsave2(&m->k, g->v, img, len);
	set_rc(g, r);
	sim_trace(m, SIM_TR_EVENT, "        KVM_SET_XSAVE2 %s (%uB) = %s", g->name, len,
		  r ? sim_errno_name(r) : "0");
	if (!r)
		shadow_set_xsave(m, g, img, len < g->img_len ? len : g->img_len);
	free(img);
	return SIM_OK;
}

static int exec_kvm(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct kvm_args *x = s->a.ext;
	struct kvm_guest *g;
	unsigned cpu = 0;
	int rc = need_guest(m, s, &g), r;

	if (rc)
		return rc;
	switch (x->op) {
	case K_RUN:
		if ((rc = vmm_cpu(m, g, &cpu)) || (rc = sim_enter_kernel(m, cpu)))
			return rc;
		r = xk_kvm_run_begin(&m->k, cpu);
		if (r)
			return kvm_error(m, g, "KVM_RUN", r);
		trace_kvm(m, cpu, g, "KVM_RUN: guest fpu loaded");
		r = xk_kvm_vm_enter(&m->k, cpu);
		if (r)
			return kvm_error(m, g, "VM entry", r);
		trace_kvm(m, cpu, g, "VM entry");
		return SIM_OK;
	case K_ENTER:
		if ((rc = vmm_cpu(m, g, &cpu)))
			return rc;
		r = xk_kvm_vm_enter(&m->k, cpu);
		if (r)
			return kvm_error(m, g, "VM entry", r);
		trace_kvm(m, cpu, g, "VM entry");
		return SIM_OK;
	case K_EXIT:
		if ((rc = vmm_cpu(m, g, &cpu)))
			return rc;
		r = xk_kvm_vm_exit(&m->k, cpu);
		if (r)
			return kvm_error(m, g, "VM exit", r);
		trace_kvm(m, cpu, g, "VM exit");
		return SIM_OK;
	case K_STOP:
		if ((rc = vmm_cpu(m, g, &cpu)))
			return rc;
		if (g->v->in_guest && (r = xk_kvm_vm_exit(&m->k, cpu)))
			return kvm_error(m, g, "VM exit", r);
		r = xk_kvm_run_end(&m->k, cpu);
		if (r)
			return kvm_error(m, g, "KVM_RUN return", r);
		trace_kvm(m, cpu, g, "KVM_RUN returns: guest fpu put back");
		return sim_return_to_user(m, cpu);
	case K_CPUID:
		r = xk_kvm_set_cpuid(&m->k, g->v, x->mask);
		set_rc(g, r);
		return SIM_OK;
	case K_GET:
	case K_SET:
		return exec_xsave(m, g, x);
	}
	return SIM_OK;
}

/* ---- Guest code ---- */

enum guest_op { G_WRITE, G_READ, G_TOUCH, G_XSETBV, G_WRMSR, G_RDMSR };

struct guest_args {
	enum guest_op op;
	struct xs_reg reg;
	const uint8_t *val;   /* G_WRITE: the statement's a.val */
	uint64_t v;
	uint32_t msr;
};

static int parse_msr(struct sim_parser *p, const char *w, uint32_t *msr)
{
	long n = xs_msr_lookup(w);
	uint64_t v;

	if (n >= 0) {
		*msr = (uint32_t)n;
		return 0;
	}
	if (sim_parse_u64(p, w, &v))
		return -1;
	*msr = (uint32_t)v;
	return 0;
}

/* guest G write REG = V | read REG | touch COMP | xsetbv MASK | wrmsr MSR = V | rdmsr MSR */
static int parse_guest(struct sim_parser *p, struct sim_stmt *s)
{
	struct guest_args *x;
	const char *op;
	int comp;

	if (sim_parse_argc(p, s, 4, 6) || parse_guest_name(p, s, 1))
		return -1;
	if (!(x = calloc(1, sizeof(*x))))
		return sim_parse_error(p, "out of memory");
	s->a.ext = x;
	op = s->argv[2];
	if (!strcmp(op, "write")) {
		x->op = G_WRITE;
		if (sim_parse_argc(p, s, 6, 6) || sim_parse_reg(p, s->argv[3], &x->reg) ||
		    sim_parse_word(p, s, 4, "=") ||
		    sim_parse_value(p, s->argv[5], x->reg.size, &s->a.val))
			return -1;
	} else if (!strcmp(op, "read")) {
		x->op = G_READ;
		if (sim_parse_argc(p, s, 4, 4) || sim_parse_reg(p, s->argv[3], &x->reg))
			return -1;
	} else if (!strcmp(op, "touch")) {
		x->op = G_TOUCH;
		if (sim_parse_argc(p, s, 4, 4) || sim_parse_comp(p, s->argv[3], &comp))
			return -1;
		if (sim_touch_reg(p->model, comp, &x->reg))
			return sim_parse_error(p, "component %s has no register to touch", s->argv[3]);
	} else if (!strcmp(op, "xsetbv")) {
		x->op = G_XSETBV;
		if (sim_parse_argc(p, s, 4, 4) || sim_parse_mask(p, s->argv[3], &x->v))
			return -1;
	} else if (!strcmp(op, "wrmsr")) {
		x->op = G_WRMSR;
		if (sim_parse_argc(p, s, 6, 6) || parse_msr(p, s->argv[3], &x->msr) ||
		    sim_parse_word(p, s, 4, "=") || sim_parse_mask(p, s->argv[5], &x->v))
			return -1;
	} else if (!strcmp(op, "rdmsr")) {
		x->op = G_RDMSR;
		if (sim_parse_argc(p, s, 4, 4) || parse_msr(p, s->argv[3], &x->msr))
			return -1;
	} else {
		return sim_parse_error(p, "unknown guest operation '%s' (usage: %s)", op,
				       s->verb->usage);
	}
	return 0;
}

/* The guest g is running on cpu. */
static int in_guest(struct sim_machine *m, struct kvm_guest *g, unsigned *cpu)
{
	int rc = vmm_cpu(m, g, cpu);

	if (rc)
		return rc;
	if (xk_kvm_in_guest(&m->k, *cpu) != g->v)
		return sim_error(m, "guest %s is not running (kvm %s run, or kvm %s enter)", g->name,
				 g->name, g->name);
	return SIM_OK;
}

static void note_guest(struct sim_machine *m, struct kvm_guest *g, const struct xs_reg *r)
{
	for (unsigned i = 0; i < r->nparts; i++)
		sim_values_note(m, g->shadow, r->part[i].comp, SIM_WRITER_GUEST + g->index);
}

/* A guest register access on the CPU and on the guest's shadow. A guest
 * #NM with XFD_ERR set exits to KVM, which keeps XFD_ERR for the guest and
 * injects #NM; other faults go straight to the guest. */
static int guest_reg(struct sim_machine *m, struct kvm_guest *g, unsigned cpu,
		     const struct guest_args *x, uint8_t *out)
{
	struct xs_cpu *hw = m->k.cpu[cpu].hw;
	uint8_t *a = m->scratch[0], *b = m->scratch[1];
	enum xs_fault f, fs;
	bool write = x->op == G_WRITE;

	if (x->reg.size > sizeof(m->scratch[0]))
		return sim_error(m, "register too large");
	if (x->op == G_TOUCH) {
		f = xs_reg_read(hw, &x->reg, a);
		if (!f)
			f = xs_reg_write(hw, &x->reg, a);
	} else {
		f = write ? xs_reg_write(hw, &x->reg, x->val) : xs_reg_read(hw, &x->reg, a);
	}
	if (f == XS_NM && xs_xfd_err(hw)) {
		int r = xk_kvm_guest_nm(&m->k, cpu);

		if (r)
			return kvm_error(m, g, "#NM exit", r);
	}
	if (x->op == G_TOUCH) {
		fs = xs_reg_read(g->shadow, &x->reg, b);
		if (!fs)
			fs = xs_reg_write(g->shadow, &x->reg, b);
	} else {
		fs = write ? xs_reg_write(g->shadow, &x->reg, x->val) : xs_reg_read(g->shadow, &x->reg, b);
	}
	g->last_fault = f;
	sim_trace(m, SIM_TR_EVENT, "        cpu%u  guest %s %s %s%s%s", cpu, g->name,
		  x->op == G_READ ? "read" : x->op == G_WRITE ? "write" : "touch", x->reg.name,
		  f ? " -> " : "", f ? xs_fault_name(f) : "");
	if (f != fs)
		return sim_fail(m, "guest", "guest: %s %s on cpu%u raised %s, its own configuration "
				"gives %s", g->name, x->reg.name, cpu, f ? xs_fault_name(f) : "nothing",
				fs ? xs_fault_name(fs) : "nothing");
	if (f)
		return SIM_OK;
	if (x->op == G_READ && memcmp(a, b, x->reg.size)) {
		int rc = compare_guest(m, cpu, g);
		char d[200];

		if (rc)
			return rc;
		sim_format_diff(d, sizeof(d), a, b, x->reg.size, 0);
		return sim_fail(m, "guest", "guest: %s read %s on cpu%u: %s", g->name, x->reg.name,
				cpu, d);
	}
	if (out)
		memcpy(out, a, x->reg.size);
	if (x->op != G_READ)
		note_guest(m, g, &x->reg);
	return SIM_OK;
}

static int exec_guest_args(struct sim_machine *m, struct kvm_guest *g, const struct guest_args *x,
			   uint8_t *out)
{
	unsigned cpu = 0;
	uint64_t hv = 0, sv = 0;
	enum xs_fault f;
	int rc = in_guest(m, g, &cpu), r;

	if (rc)
		return rc;
	switch (x->op) {
	case G_WRITE:
	case G_READ:
	case G_TOUCH:
		return guest_reg(m, g, cpu, x, out);
	case G_XSETBV:
		r = xk_kvm_guest_xsetbv(&m->k, cpu, x->v);
		set_rc(g, r);
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  guest %s XSETBV 0x%llx -> %s", cpu,
			  g->name, (unsigned long long)x->v, r ? "#GP injected" : "ok");
		if (!r)
			xs_xsetbv(g->shadow, 0, x->v);
		return SIM_OK;
	case G_WRMSR:
		r = xk_kvm_guest_wrmsr(&m->k, cpu, x->msr, x->v);
		if (r == -EINVAL && x->msr != XS_MSR_XSS && x->msr != XS_MSR_XFD &&
		    x->msr != XS_MSR_XFD_ERR) {
			/* Passed through: the guest kernel's WRMSR on the CPU. */
			f = xs_wrmsr(m->k.cpu[cpu].hw, x->msr, x->v);
			r = f ? -EINVAL : 0;
		}
		set_rc(g, r);
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  guest %s WRMSR %s := 0x%llx -> %s", cpu,
			  g->name, xs_msr_name(x->msr) ? xs_msr_name(x->msr) : "?",
			  (unsigned long long)x->v, r ? "#GP injected" : "ok");
		if (!r) {
			xs_wrmsr(g->shadow, x->msr, x->v);
			for (unsigned c = 0; c < 64; c++)
				if (xs_comp_regs(g->shadow, c) && (XS_MASK_SUPERVISOR_ARCH & XS_BIT(c)))
					sim_values_note(m, g->shadow, c, SIM_WRITER_GUEST + g->index);
		}
		return SIM_OK;
	case G_RDMSR:
		r = xk_kvm_guest_rdmsr(&m->k, cpu, x->msr, &hv);
		if (r == -EINVAL)
			r = xs_rdmsr(m->k.cpu[cpu].hw, x->msr, &hv) ? -EINVAL : 0;
		set_rc(g, r);
		xs_rdmsr(g->shadow, x->msr, &sv);
		sim_trace(m, SIM_TR_EVENT, "        cpu%u  guest %s RDMSR %s = 0x%llx", cpu, g->name,
			  xs_msr_name(x->msr) ? xs_msr_name(x->msr) : "?", (unsigned long long)hv);
		if (!r && hv != sv)
			return sim_fail(m, "guest", "guest: %s RDMSR %s on cpu%u = 0x%llx, its own "
					"value is 0x%llx", g->name,
					xs_msr_name(x->msr) ? xs_msr_name(x->msr) : "?", cpu,
					(unsigned long long)hv, (unsigned long long)sv);
		if (out)
			memcpy(out, &hv, 8);
		return SIM_OK;
	}
	return SIM_OK;
}

static int exec_guest(struct sim_machine *m, const struct sim_stmt *s)
{
	struct guest_args x = *(const struct guest_args *)s->a.ext;
	struct kvm_guest *g;
	int rc = need_guest(m, s, &g);

	x.val = s->a.val;
	return rc ? rc : exec_guest_args(m, g, &x, NULL);
}

/* ---- Expectations ---- */

static int parse_eq_ne(struct sim_parser *p, const char *w, int *op)
{
	if (sim_parse_cmp(p, w, op))
		return -1;
	if (*op != SIM_EQ && *op != SIM_NE)
		return sim_parse_error(p, "only == and != compare here");
	return 0;
}

/* expect guest G REG OP V */
static int parse_x_guest(struct sim_parser *p, struct sim_stmt *s)
{
	struct guest_args *x;

	if (sim_parse_argc(p, s, 6, 6) || parse_guest_name(p, s, 2))
		return -1;
	if (!(x = calloc(1, sizeof(*x))))
		return sim_parse_error(p, "out of memory");
	s->a.ext = x;
	x->op = G_READ;
	if (sim_parse_reg(p, s->argv[3], &x->reg) || parse_eq_ne(p, s->argv[4], &s->a.op))
		return -1;
	return sim_parse_value(p, s->argv[5], x->reg.size, &s->a.val);
}

static int compare_bytes(struct sim_machine *m, const struct sim_stmt *s, const char *what,
			 const uint8_t *got, size_t n)
{
	char g[160], d[200];
	bool eq = !memcmp(got, s->a.val, n);

	sim_format_value(g, sizeof(g), got, n);
	if (eq == (s->a.op == SIM_EQ)) {
		sim_note(m, "%s = %s", what, g);
		return SIM_OK;
	}
	sim_format_diff(d, sizeof(d), got, s->a.val, n, 0);
	return sim_fail(m, "expect", "expectation failed: %s = %s%s%s%s", what, g,
			s->a.op == SIM_EQ ? " (" : "", s->a.op == SIM_EQ ? d : "",
			s->a.op == SIM_EQ ? ")" : "");
}

static int exec_x_guest(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct guest_args *x = s->a.ext;
	struct kvm_guest *g;
	uint8_t got[8192];
	char what[80];
	int rc = need_guest(m, s, &g);

	if (rc || (rc = exec_guest_args(m, g, x, got)))
		return rc;
	if (g->last_fault)
		return sim_fail(m, "expect", "expectation failed: guest %s reading %s raised %s",
				g->name, x->reg.name, xs_fault_name(g->last_fault));
	snprintf(what, sizeof(what), "guest %s %s", g->name, x->reg.name);
	return compare_bytes(m, s, what, got, x->reg.size);
}

/* expect xsave G REG|xstate_bv|pkru OP V */
static int parse_x_xsave(struct sim_parser *p, struct sim_stmt *s)
{
	struct guest_args *x;

	if (sim_parse_argc(p, s, 6, 6) || parse_guest_name(p, s, 2) ||
	    parse_eq_ne(p, s->argv[4], &s->a.op))
		return -1;
	if (!(x = calloc(1, sizeof(*x))))
		return sim_parse_error(p, "out of memory");
	s->a.ext = x;
	if (!strcmp(s->argv[3], "xstate_bv")) {
		x->op = G_XSETBV; /* marker: a header field */
		return sim_parse_mask(p, s->argv[5], &s->a.num[0]);
	}
	if (!strcmp(s->argv[3], "pkru")) {
		x->op = G_RDMSR; /* marker: PKRU slot */
		return sim_parse_u64(p, s->argv[5], &s->a.num[0]);
	}
	x->op = G_READ;
	if (sim_parse_reg(p, s->argv[3], &x->reg))
		return -1;
	return sim_parse_value(p, s->argv[5], x->reg.size, &s->a.val);
}

static int exec_x_xsave(struct sim_machine *m, const struct sim_stmt *s)
{
	const struct guest_args *x = s->a.ext;
	struct kvm_guest *g;
	uint8_t got[8192];
	uint64_t v = 0;
	char what[80], vb[200];
	size_t at = 0;
	int rc = need_guest(m, s, &g);

	if (rc)
		return rc;
	if (!g->img)
		return sim_error(m, "no KVM_GET_XSAVE2 buffer for %s (kvm %s get-xsave)", g->name,
				 g->name);
	if (x->op != G_READ) {
		if (x->op == G_XSETBV)
			v = get64(g->img + XS_HDR_OFFSET);
		else if (m->k.xf[XS_C_PKRU].size)
			memcpy(&v, g->img + m->k.xf[XS_C_PKRU].offset, 4);
		if ((v == s->a.num[0]) == (s->a.op == SIM_EQ)) {
			sim_note(m, "%s = %s", s->argv[3], x->op == G_XSETBV ?
				 xs_mask_names(v, vb, sizeof(vb)) : "ok");
			return SIM_OK;
		}
		return sim_fail(m, "expect", "expectation failed: %s buffer %s = 0x%llx", g->name,
				s->argv[3], (unsigned long long)v);
	}
	for (unsigned pi = 0; pi < x->reg.nparts; pi++) {
		uint32_t o = uabi_off(m, x->reg.part[pi].comp, x->reg.part[pi].off);

		if (o + x->reg.part[pi].len > g->img_len)
			return sim_error(m, "%s is outside the %uB buffer", x->reg.name, g->img_len);
		memcpy(got + at, g->img + o, x->reg.part[pi].len);
		at += x->reg.part[pi].len;
	}
	snprintf(what, sizeof(what), "%s buffer %s", g->name, x->reg.name);
	return compare_bytes(m, s, what, got, x->reg.size);
}

static const char *const kvm_fields[] = { "errno", "xcr0", "xss", "pkru", "xfd", "xfd_err",
					  "uabi-size", "cap-xsave2", "in-guest" };
#define NKF (sizeof(kvm_fields) / sizeof(kvm_fields[0]))

static const struct {
	const char *name;
	int v;
} errnos[] = {
	{ "0", 0 },	      { "EPERM", EPERM },   { "ENOMEM", ENOMEM }, { "EFAULT", EFAULT },
	{ "EBUSY", EBUSY },   { "EEXIST", EEXIST }, { "EINVAL", EINVAL },
};

/* expect kvm G FIELD OP V */
static int parse_x_kvm(struct sim_parser *p, struct sim_stmt *s)
{
	unsigned i;

	if (sim_parse_argc(p, s, 6, 6) || parse_guest_name(p, s, 2) ||
	    parse_eq_ne(p, s->argv[4], &s->a.op))
		return -1;
	for (i = 0; i < NKF; i++)
		if (!strcmp(s->argv[3], kvm_fields[i]))
			break;
	if (i == NKF)
		return sim_parse_error(p, "unknown kvm field '%s' (usage: %s)", s->argv[3],
				       s->verb->usage);
	s->a.num[1] = i;
	if (i == 0) {
		for (size_t e = 0; e < sizeof(errnos) / sizeof(errnos[0]); e++)
			if (!strcmp(s->argv[5], errnos[e].name)) {
				s->a.num[0] = (uint64_t)errnos[e].v;
				return 0;
			}
		return sim_parse_error(p, "expected 0 or an error name, got '%s'", s->argv[5]);
	}
	return sim_parse_mask(p, s->argv[5], &s->a.num[0]);
}

static int exec_x_kvm(struct sim_machine *m, const struct sim_stmt *s)
{
	struct kvm_guest *g;
	const struct xk_vcpu *v;
	uint64_t got = 0;
	char vb[200];
	int rc = need_guest(m, s, &g);

	if (rc)
		return rc;
	v = g->v;
	switch (s->a.num[1]) {
	case 0:
		if (!g->have_rc)
			return sim_error(m, "%s: no KVM call made yet", g->name);
		got = (uint64_t)-g->rc;
		break;
	case 1: got = v->xcr0; break;
	case 2: got = v->xss; break;
	case 3: got = v->pkru; break;
	case 4: got = v->gfpu.fpstate->xfd; break;
	case 5: got = v->gfpu.xfd_err; break;
	case 6: got = v->gfpu.uabi_size; break;
	case 7: got = xk_kvm_cap_xsave2(&m->k, g->vmm->k); break;
	default: got = v->in_guest; break;
	}
	if ((got == s->a.num[0]) == (s->a.op == SIM_EQ)) {
		if (s->a.num[1] == 0)
			sim_note(m, "errno %s", got ? sim_errno_name(-(int)got) : "0");
		else if (s->a.num[1] <= 5 && got)
			sim_note(m, "%s = %s", kvm_fields[s->a.num[1]], s->a.num[1] == 3 ?
				 "as expected" : xs_mask_names(got, vb, sizeof(vb)));
		else
			sim_note(m, "%s = %llu", kvm_fields[s->a.num[1]], (unsigned long long)got);
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: %s %s = %s%llx", g->name,
			kvm_fields[s->a.num[1]], s->a.num[1] == 0 ? "-" : "0x",
			(unsigned long long)got);
}

/* expect xcr0 cpuN OP MASK | expect msr cpuN MSR OP V */
static int parse_x_hw(struct sim_parser *p, struct sim_stmt *s)
{
	bool msr = !strcmp(s->verb->name, "msr");
	int i = msr ? 4 : 3;
	uint32_t n = 0;

	if (sim_parse_argc(p, s, i + 2, i + 2) || sim_parse_cpu(p, s->argv[2], &s->a.cpu[0]))
		return -1;
	if (msr && parse_msr(p, s->argv[3], &n))
		return -1;
	s->a.num[1] = n;
	if (parse_eq_ne(p, s->argv[i], &s->a.op))
		return -1;
	if (!msr && !strcmp(s->argv[i + 1], "host")) {
		s->a.flag = true; /* the host kernel's XCR0 */
		return 0;
	}
	return sim_parse_mask(p, s->argv[i + 1], &s->a.num[0]);
}

static int exec_x_hw(struct sim_machine *m, const struct sim_stmt *s)
{
	struct xs_cpu *hw = sim_cpu_hw(m, (unsigned)s->a.cpu[0]);
	bool msr = !strcmp(s->verb->name, "msr");
	uint64_t got = 0, want;
	char vb[200];

	if (msr) {
		/* An observer, not an instruction of any task: at CPL 0 for the
		 * read, the CPU's state put back. */
		int cpl = xs_cpl(hw);

		xs_set_cpl(hw, 0);
		if (xs_rdmsr(hw, (uint32_t)s->a.num[1], &got))
			got = ~0ULL;
		xs_set_cpl(hw, cpl);
	} else {
		got = xs_xcr0(hw);
	}
	want = s->a.flag ? m->k.xcr0 : s->a.num[0];
	if ((got == want) == (s->a.op == SIM_EQ)) {
		sim_note(m, "%s = 0x%llx%s%s", msr ? "MSR" : "XCR0", (unsigned long long)got,
			 msr ? "" : " ", msr ? "" : xs_mask_names(got, vb, sizeof(vb)));
		return SIM_OK;
	}
	return sim_fail(m, "expect", "expectation failed: cpu%d %s = 0x%llx", s->a.cpu[0],
			msr ? s->argv[3] : "XCR0", (unsigned long long)got);
}

static const struct sim_verb verbs[] = {
	{ "vcpu", SIM_VERB_STMT, "vcpu G in T", parse_vcpu, exec_vcpu },
	{ "kvm", SIM_VERB_STMT,
	  "kvm G run|exit|enter|stop | kvm G set-cpuid MASK | kvm G get-xsave [len=N] | "
	  "kvm G set-xsave [xstate_bv=M] [xcomp_bv=M] [mxcsr=V] [pkru=V] [REG=VALUE] [len=N]",
	  parse_kvm, exec_kvm },
	{ "guest", SIM_VERB_STMT,
	  "guest G write REG = VALUE | guest G read REG | guest G touch COMP | "
	  "guest G xsetbv MASK | guest G wrmsr MSR = VALUE | guest G rdmsr MSR",
	  parse_guest, exec_guest },
	{ "guest", SIM_VERB_EXPECT, "expect guest G REG ==|!= VALUE", parse_x_guest, exec_x_guest },
	{ "xsave", SIM_VERB_EXPECT, "expect xsave G REG|xstate_bv|pkru ==|!= VALUE", parse_x_xsave,
	  exec_x_xsave },
	{ "kvm", SIM_VERB_EXPECT,
	  "expect kvm G errno|xcr0|xss|pkru|xfd|xfd_err|uabi-size|cap-xsave2|in-guest ==|!= V",
	  parse_x_kvm, exec_x_kvm },
	{ "xcr0", SIM_VERB_EXPECT, "expect xcr0 cpuN ==|!= MASK|host", parse_x_hw, exec_x_hw },
	{ "msr", SIM_VERB_EXPECT, "expect msr cpuN MSR ==|!= VALUE", parse_x_hw, exec_x_hw },
};

const struct sim_verb_set sim_verbs_kvm = { "kvm", verbs, sizeof(verbs) / sizeof(verbs[0]) };
