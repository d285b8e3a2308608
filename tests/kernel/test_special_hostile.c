/* Hostile inputs to the special-state interfaces, seeded and repeatable:
 * KVM_SET_XSAVE2 images (mutated header, MXCSR, random bytes, short
 * lengths), PTRACE_SETREGSET of NT_X86_SHSTK (any value, any length) and of
 * NT_X86_XSTATE naming CET bits on a task with a live shadow stack,
 * set_thread_area / modify_ldt with random descriptors, POKEUSER of the
 * FS/GS fields. Each call must return 0 or one of the errors its interface
 * documents; a refused call must leave every byte the kernel keeps for the
 * task (buffer, PKRU, TLS, LDT, saved FS/GS, live segment registers) as it
 * was; an accepted one must satisfy the interface's rule. No WARN, and
 * clean under ASan/UBSan (make SAN=1). */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_abi.h"
#include "xstate/kernel_fsgs.h"
#include "xstate/kernel_kvm.h"
#include "xstate/kernel_special.h"

#define ROUNDS 3000

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* One to four corruptions of a valid standard-format image of size bytes. */
static void mutate(uint8_t *img, size_t size)
{
	for (int n = 1 + (int)(rnd() % 4); n > 0; n--) {
		switch (rnd() % 5) {
		case 0: /* anywhere in the header: XCOMP_BV, reserved bytes */
			img[XS_HDR_OFFSET + rnd() % 64] = (uint8_t)rnd();
			break;
		case 1: /* XSTATE_BV: a random mask */
			st64(img + XS_HDR_OFFSET, rnd() & (rnd() | 0x3ff));
			break;
		case 2: /* XSTATE_BV: one more bit, supervisor and reserved ones included */
			st64(img + XS_HDR_OFFSET, ld64(img + XS_HDR_OFFSET) | 1ULL << (rnd() % 64));
			break;
		case 3: /* MXCSR and MXCSR_MASK */
			img[24 + rnd() % 8] = (uint8_t)rnd();
			break;
		default:
			img[rnd() % size] = (uint8_t)rnd();
			break;
		}
	}
}

static void test_kvm_set_xsave2(const char *model, const char *policy, bool amx)
{
	static uint8_t good[XK_KVM_XSAVE_SIZE * 4], img[sizeof(good)], now[sizeof(good)];
	unsigned accepted = 0, refused = 0, changed = 0, wrong_errno = 0;
	struct xk_vcpu *v = NULL;
	struct xk_task *a;
	struct kt t;
	size_t size;

	if (kt_boot(&t, model, 1, policy)) {
		tap_ok(0, "boot %s %s", model, policy);
		return;
	}
	a = xk_spawn(&t.k, "vmm");
	if (amx) {
		uint64_t m = XS_BIT(XS_C_XTILECFG) | XS_BIT(XS_C_XTILEDATA);

		xk_arch_prctl(&t.k, a, NULL, XK_ARCH_REQ_XCOMP_GUEST_PERM, XS_C_XTILEDATA);
		xk_kvm_vcpu_create(&t.k, a, &v);
		if (v && xk_kvm_set_cpuid(&t.k, v, t.k.xcr0 | m)) {
			tap_ok(0, "%s: guest AMX", model);
			xk_shutdown(&t.k);
			return;
		}
	} else {
		xk_kvm_vcpu_create(&t.k, a, &v);
	}
	if (!v) {
		tap_ok(0, "%s: vCPU", model);
		xk_shutdown(&t.k);
		return;
	}
	size = v->gfpu.uabi_size;
	if (size > sizeof(good) || xk_kvm_get_xsave2(&t.k, v, good, size)) {
		tap_ok(0, "%s: KVM_GET_XSAVE2 of %zu bytes", model, size);
		xk_shutdown(&t.k);
		return;
	}
	for (int i = 0; i < ROUNDS; i++) {
		uint32_t pkru = v->pkru;
		size_t len = rnd() % 8 ? size : rnd() % (size + 1);
		int rc;

		memcpy(img, good, size);
		mutate(img, size);
		rc = xk_kvm_set_xsave2(&t.k, v, img, len);
		memset(now, 0, size);
		xk_kvm_get_xsave2(&t.k, v, now, size);
		if (rc) {
			refused++;
			changed += memcmp(now, good, size) != 0 || v->pkru != pkru;
			wrong_errno += rc != -EINVAL && rc != -EFAULT;
		} else {
			accepted++;
			memcpy(good, now, size);
		}
	}
	tap_ok(accepted > 0 && refused > 0 && !changed && !wrong_errno,
	       "%s %s%s: KVM_SET_XSAVE2 x%d: %u accepted, %u refused (%u changed state, %u other "
	       "errors)", model, *policy ? policy : "linux", amx ? " guest AMX" : "", ROUNDS, accepted, refused, changed,
	       wrong_errno);
	tap_ok(t.bad == 0, "... no kernel warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

/* A task with a live shadow stack, stopped; the tracer writes anything. */
static void test_shstk_and_xstate(void)
{
	static uint8_t buf[16384], img[16384];
	unsigned ok_ssp = 0, refused = 0, changed = 0, bad_accept = 0, wrong_errno = 0;
	unsigned xs_refused = 0, xs_cet_written = 0, xs_changed = 0;
	struct xk_task *a, *b;
	uint64_t st = 0;
	uint32_t cet_off, size;
	struct kt t;

	if (kt_boot(&t, "intel-sapphire-rapids", 1, "")) {
		tap_ok(0, "boot sapphire-rapids");
		return;
	}
	a = xk_spawn(&t.k, "a");
	b = xk_spawn(&t.k, "b");
	kt_run(&t, 0, a);
	xk_enter_kernel(&t.k, 0);
	xk_shstk_prctl(&t.k, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK, &st);
	xk_return_to_user(&t.k, 0);
	kt_run(&t, 0, b);
	size = a->fpu.fpstate->size;
	cet_off = xk_comp_offset(&t.k, a->fpu.fpstate, XS_C_CET_U);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t v[4] = { rnd(), rnd(), rnd(), rnd() };
		size_t len = rnd() % 40;
		int lc = a->fpu.last_cpu, rc;

		if (rnd() & 1)
			v[0] &= XK_TASK_SIZE_MAX - 1;
		if (rnd() & 1)
			v[0] &= ~7ULL;
		memcpy(buf, a->fpu.fpstate->regs, size);
		rc = xk_ptrace_regset(&t.k, a, true, XK_NT_X86_SHSTK, v, &len);
		if (rc) {
			refused++;
			changed += memcmp(buf, a->fpu.fpstate->regs, size) || lc != a->fpu.last_cpu;
			wrong_errno += rc != -EINVAL;
		} else {
			ok_ssp++;
			bad_accept += v[0] >= XK_TASK_SIZE_MAX || (v[0] & 7) || len != 8 ||
				      ld64(a->fpu.fpstate->regs + cet_off + 8) != v[0] ||
				      ld64(a->fpu.fpstate->regs + cet_off) != ld64(buf + cet_off);
		}
		if (i % 64 == 63) { /* let a run with what was written */
			kt_run(&t, 0, a);
			kt_run(&t, 0, b);
		}
	}
	tap_ok(ok_ssp > 0 && refused > 0 && !changed && !bad_accept && !wrong_errno,
	       "NT_X86_SHSTK x%d: %u accepted, %u refused (%u changed state, %u bad accepts, %u "
	       "other errors)", ROUNDS, ok_ssp, refused, changed, bad_accept, wrong_errno);

	/* NT_X86_XSTATE: whatever the image says, CET_U is never written. */
	for (int i = 0; i < ROUNDS; i++) {
		size_t len = t.k.ucfg.max_size;
		uint32_t pkru = a->thread.pkru;
		int rc;

		if (xk_ptrace_regset(&t.k, a, false, XK_NT_X86_XSTATE, img, &len))
			break;
		mutate(img, t.k.ucfg.max_size);
		if (rnd() & 1) /* and name CET_U or CET_S in XSTATE_BV */
			st64(img + XS_HDR_OFFSET, ld64(img + XS_HDR_OFFSET) |
				  XS_BIT(rnd() & 1 ? XS_C_CET_U : XS_C_CET_S));
		memcpy(buf, a->fpu.fpstate->regs, size);
		len = t.k.ucfg.max_size;
		rc = xk_ptrace_regset(&t.k, a, true, XK_NT_X86_XSTATE, img, &len);
		if (rc) {
			xs_refused++;
			xs_changed += memcmp(buf, a->fpu.fpstate->regs, size) || a->thread.pkru != pkru;
		}
		xs_cet_written += memcmp(buf + cet_off, a->fpu.fpstate->regs + cet_off, 16) != 0;
	}
	tap_ok(xs_refused > 0 && !xs_changed && !xs_cet_written,
	       "NT_X86_XSTATE x%d with CET bits: %u refused, %u changed state, CET_U written %u "
	       "times", ROUNDS, xs_refused, xs_changed, xs_cet_written);
	kt_run(&t, 0, a);
	tap_ok(t.bad == 0, "the tracee resumes with what was accepted; no kernel warning (%s)",
	       t.bad_why);
	xk_shutdown(&t.k);
}

/* Everything a descriptor write may touch, to compare after a refusal. */
struct fsgs_snap {
	uint64_t tls[XK_GDT_TLS_ENTRIES];
	uint64_t *ldt;
	unsigned nldt;
	struct xs_seg_view seg;
};

static void snap(struct kt *t, struct xk_task *a, struct fsgs_snap *s)
{
	const uint64_t *ldt = xk_fsgs_task_ldt(a, &s->nldt);

	memcpy(s->tls, a->thread.tls_array, sizeof(s->tls));
	s->ldt = s->nldt ? malloc(s->nldt * 8u) : NULL;
	if (s->ldt)
		memcpy(s->ldt, ldt, s->nldt * 8u);
	xs_seg_peek(t->k.cpu[0].hw, &s->seg);
}

static bool same(struct kt *t, struct xk_task *a, const struct fsgs_snap *s)
{
	struct xs_seg_view v;
	unsigned n;
	const uint64_t *ldt = xk_fsgs_task_ldt(a, &n);

	xs_seg_peek(t->k.cpu[0].hw, &v);
	return !memcmp(s->tls, a->thread.tls_array, sizeof(s->tls)) && n == s->nldt &&
	       (!n || !memcmp(s->ldt, ldt, n * 8u)) && v.fs_sel == s->seg.fs_sel &&
	       v.gs_sel == s->seg.gs_sel && v.fs_base == s->seg.fs_base &&
	       v.gs_base == s->seg.gs_base && v.kernel_gs_base == s->seg.kernel_gs_base;
}

static void test_descriptors(const char *model, const char *policy)
{
	unsigned accepted = 0, refused = 0, changed = 0, wrong_errno = 0;
	unsigned pokes = 0, poke_refused = 0, poke_changed = 0;
	struct xk_task *a, *b;
	struct kt t;

	if (kt_boot(&t, model, 1, policy)) {
		tap_ok(0, "boot %s %s", model, policy);
		return;
	}
	a = xk_spawn(&t.k, "a");
	b = xk_spawn(&t.k, "b");
	kt_run(&t, 0, a);
	for (int i = 0; i < ROUNDS; i++) {
		struct xk_user_desc u;
		struct fsgs_snap s;
		bool tls = rnd() & 1;
		int rc;

		memset(&u, 0, sizeof(u));
		u.entry_number = rnd() % 4 ? (uint32_t)(rnd() % 20) - 1 : (uint32_t)rnd();
		u.base_addr = (uint32_t)rnd();
		u.limit = (uint32_t)rnd();
		u.seg_32bit = rnd() & 1;
		u.contents = (uint8_t)(rnd() % 4);
		u.read_exec_only = rnd() & 1;
		u.limit_in_pages = rnd() & 1;
		u.seg_not_present = rnd() % 4 == 0;
		u.useable = rnd() & 1;
		snap(&t, a, &s);
		xk_enter_kernel(&t.k, 0);
		rc = tls ? xk_set_thread_area(&t.k, 0, &u)
			 : xk_modify_ldt(&t.k, 0, rnd() % 8 ? 0x11 : (int)(rnd() % 0x20), &u);
		xk_return_to_user(&t.k, 0);
		if (rc) {
			refused++;
			changed += !same(&t, a, &s);
			wrong_errno += rc != -EINVAL && rc != -ESRCH && rc != -ENOSYS &&
				       rc != -ENOMEM;
		} else {
			accepted++;
		}
		free(s.ldt);
		if (i % 16 == 15) {
			/* user code loads any selector; a tracer pokes any value */
			enum xs_seg sg = rnd() & 1 ? XS_SEG_FS : XS_SEG_GS;
			enum xs_fault f = xs_mov_to_seg(t.k.cpu[0].hw, sg, (uint16_t)rnd());
			enum xk_ureg r = (enum xk_ureg)(rnd() % 4);
			uint64_t val = rnd() & 1 ? rnd() & 0xffff : rnd() >> (rnd() % 64);
			uint64_t before = 0, after = 0;
			int prc;

			if (f != XS_OK && xk_handle_fault(&t.k, 0, f).action == XK_FA_SIGNAL)
				xk_return_to_user(&t.k, 0);
			kt_run(&t, 0, b);
			xk_ptrace_peekuser(&t.k, a, r, &before);
			prc = xk_ptrace_pokeuser(&t.k, a, r, val);
			xk_ptrace_peekuser(&t.k, a, r, &after);
			pokes++;
			if (prc) {
				poke_refused++;
				poke_changed += before != after || prc != -EIO;
			}
			kt_run(&t, 0, a);
		}
	}
	tap_ok(accepted > 0 && refused > 0 && !changed && !wrong_errno,
	       "%s %s: set_thread_area/modify_ldt x%d: %u accepted, %u refused (%u changed state, "
	       "%u other errors)", model, *policy ? policy : "linux", ROUNDS, accepted, refused, changed, wrong_errno);
	tap_ok(poke_refused > 0 && !poke_changed,
	       "%s %s: POKEUSER fs/gs/bases x%u: %u refused with -EIO, none changed the field",
	       model, *policy ? policy : "linux", pokes, poke_refused);
	tap_ok(t.bad == 0, "... no kernel warning (%s)", t.bad_why);
	xk_shutdown(&t.k);
}

int main(void)
{
	tap_plan_lazy();
	test_kvm_set_xsave2("intel-sapphire-rapids", "", false);
	test_kvm_set_xsave2("intel-sapphire-rapids", "", true);
	test_kvm_set_xsave2("intel-sapphire-rapids", "cet-s=independent", false);
	test_kvm_set_xsave2("amd-zen4-genoa", "", false);
	test_shstk_and_xstate();
	test_descriptors("intel-icelake-sp", "");
	test_descriptors("intel-icelake-sp", "fsgs=lutomirski2016");
	test_descriptors("intel-icelake-sp", "fsgsbase=off");
	test_descriptors("amd-zen2-rome", "");
	return tap_done();
}
