/* Signal frames: layout, every byte of the XSAVE image against an
 * independent XSAVE of the same registers, the software-reserved bytes,
 * MAGIC2, the rt_sigframe fields Linux writes, the handler's clean state,
 * PKRU, sigaltstack placement and overflow, and AT_MINSIGSTKSZ on every
 * built-in model (with the value measured on the project host). */
#include "abi_util.h"

static uint64_t rdown(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static uint32_t rup(uint32_t v, uint32_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* AT_MINSIGSTKSZ from the CPUID user size, not from the kernel's config. */
static void check_minsigstksz(const char *name)
{
	struct at a;
	struct xs_cpuid l0;
	uint32_t ebx;

	if (at_boot(&a, name, 1, "")) {
		tap_skip("%s: does not boot", name);
		return;
	}
	l0 = xs_model_cpuid_d(&a.kt.m, a.kt.k.xcr0, a.kt.k.xss, 0);
	ebx = l0.ebx;
	tap_eq_u64(xk_at_minsigstksz(&a.kt.k), rup(736 + 15 + ebx + 4 + 112 + 63, 16),
		   "%s: AT_MINSIGSTKSZ = round_up(sizeof(sigframe_ia32) + 15 + %u + 4 + 112 + 63, 16)",
		   name, ebx);
	tap_eq_u64(xk_sigframe_max_size(&a.kt.k, false), rup(440 + 15 + ebx + 4 + 63, 16),
		   "%s: without IA32 emulation: round_up(sizeof(rt_sigframe) + 15 + %u + 4 + 63, 16)",
		   name, ebx);
	if (!strcmp(name, "host-amd-epyc-vm"))
		tap_eq_u64(xk_at_minsigstksz(&a.kt.k), 1776,
			   "host model: 1776, as getauxval(AT_MINSIGSTKSZ) and dmesg "
			   "(\"max sigframe size: 1776\") on the project host");
	at_shutdown(&a);
}

/* Deliver a signal after writing registers; compare the frame with an
 * XSAVE of the registers taken on a copy of the CPU just before. */
static void check_frame(const char *name)
{
	struct at a;
	struct xk_kernel *k;
	struct xk_task *t;
	struct xk_sigframe sf;
	struct xs_cpu *ref;
	uint8_t *img, *f, v[64];
	uint64_t fp, frame, bv, want_bv;
	uint32_t us;
	int r;

	if (at_boot(&a, name, 2, "")) {
		tap_skip("%s: does not boot", name);
		return;
	}
	k = &a.kt.k;
	t = at_spawn(&a, "t1", 0);
	kt_write(&a.kt, 0, "xmm0", 1);
	kt_write(&a.kt, 0, "st0", 9);
	if (kt_has_reg(&a.kt, "ymm1"))
		kt_write(&a.kt, 0, "ymm1", 2);
	if (kt_has_reg(&a.kt, "zmm17")) {
		kt_write(&a.kt, 0, "zmm17", 3);
		kt_write(&a.kt, 0, "k2", 4);
	}
	/* Fill the stack with a pattern: bytes nobody writes keep it. */
	memset(at_mem(&a, AT_STACK_TOP - AT_STACK_SIZE, AT_STACK_SIZE), 0xa5, AT_STACK_SIZE);
	ref = xs_cpu_new(&a.kt.m);
	xs_cpu_copy(ref, k->cpu[0].hw);
	us = t->fpu.fpstate->user_size;

	r = at_deliver(&a, 0, AT_SP, 0, XK_SIGUSR1, &sf);
	tap_ok(r == 0, "%s: delivered (%d)", name, r);
	fp = rdown(AT_SP - 128 - (us + 4), 64);
	frame = rdown(fp - 440, 16) - 8;
	tap_eq_u64(sf.fpstate, fp, "%s: XSAVE area at round_down(sp - 128 - (%u + 4), 64)", name, us);
	tap_eq_u64(sf.frame, frame, "%s: rt_sigframe at round_down(fpstate - 440, 16) - 8", name);
	tap_eq_u64(sf.xstate_size, us, "%s: xstate size = fpstate->user_size", name);
	f = at_mem(&a, fp, us + 4);

	/* sw_reserved */
	tap_eq_u64(at_ld32(&a, fp + 464), 0x46505853, "%s: magic1 FP_XSTATE_MAGIC1", name);
	tap_eq_u64(at_ld32(&a, fp + 468), us + 4, "%s: extended_size = user_size + 4", name);
	tap_eq_u64(at_ld64(&a, fp + 472), t->fpu.fpstate->user_xfeatures,
		   "%s: sw xfeatures = user_xfeatures", name);
	tap_eq_u64(at_ld32(&a, fp + 480), us, "%s: xstate_size = user_size", name);
	{
		bool zero = true;
		for (unsigned i = 484; i < 512; i++)
			zero &= f[i] == 0;
		tap_ok(zero, "%s: sw padding[7] zero", name);
	}
	tap_eq_u64(at_ld32(&a, fp + us), 0x46505845, "%s: MAGIC2 at fpstate + xstate_size", name);

	/* The image: an XSAVE of the same registers with the same RFBM. */
	img = aligned_alloc(64, rup(us + 64, 64));
	memset(img, 0xa5, rup(us + 64, 64));
	memset(img + 512, 0, 64);
	xs_set_cpl(ref, 0);
	tap_ok(xs_xsave(ref, img, us, sf.rfbm) == XS_OK, "%s: reference XSAVE", name);
	tap_ok(memcmp(f, img, 464) == 0, "%s: legacy area (bytes 0-463) = XSAVE's", name);
	tap_ok(us <= 576 || memcmp(f + 576, img + 576, us - 576) == 0,
	       "%s: extended area (bytes 576-%u) = XSAVE's", name, us - 1);
	bv = at_ld64(&a, fp + 512);
	want_bv = at_ld64(&a, fp + 512); /* placeholder: recomputed below */
	{
		uint64_t ref_bv;

		memcpy(&ref_bv, img + 512, 8);
		want_bv = ref_bv | XS_MASK_FPSSE;
		if (kt_has_reg(&a.kt, "pkru"))
			want_bv |= XS_BIT(XS_C_PKRU);
	}
	tap_eq_u64(bv, want_bv, "%s: XSTATE_BV = XSAVE's | FP|SSE (| PKRU)", name);
	tap_ok((bv & ~t->fpu.fpstate->user_xfeatures) == 0, "%s: XSTATE_BV within user_xfeatures",
	       name);
	tap_eq_u64(at_ld64(&a, fp + 520), 0, "%s: XCOMP_BV 0 (standard format)", name);
	{
		bool zero = true;
		for (unsigned i = 528; i < 576; i++)
			zero &= f[i] == 0;
		tap_ok(zero, "%s: header reserved bytes zero", name);
	}
	/* The values themselves, at the standard offsets. */
	kt_pattern(v, 16, 1);
	tap_ok(memcmp(f + 160, v, 16) == 0, "%s: XMM0 at 160", name);
	if (kt_has_reg(&a.kt, "ymm1")) {
		kt_pattern(v, 32, 2);
		tap_ok(memcmp(f + 176, v, 16) == 0 &&
			       memcmp(f + a.kt.m.comp[XS_C_AVX].offset + 16, v + 16, 16) == 0,
		       "%s: YMM1 = XMM1 at 176 + YMM_Hi128[1] at %u", name,
		       a.kt.m.comp[XS_C_AVX].offset + 16);
	}
	if (kt_has_reg(&a.kt, "zmm17")) {
		kt_pattern(v, 64, 3);
		tap_ok(memcmp(f + a.kt.m.comp[XS_C_HI16_ZMM].offset + 64, v, 64) == 0,
		       "%s: ZMM17 in Hi16_ZMM", name);
	}
	/* Bytes 416-463 are not written by XSAVE or by Linux: the stack's. */
	tap_ok(f[416] == 0xa5 && f[463] == 0xa5, "%s: bytes 416-463 untouched", name);

	/* rt_sigframe */
	tap_eq_u64(at_ld64(&a, frame + XK_RTF_PRETCODE), AT_RESTORER, "%s: pretcode = sa_restorer",
		   name);
	tap_eq_u64(at_ld64(&a, frame + XK_RTF_UC_FLAGS), 7,
		   "%s: uc_flags = UC_FP_XSTATE|UC_SIGCONTEXT_SS|UC_STRICT_RESTORE_SS", name);
	tap_eq_u64(at_ld64(&a, frame + 232), fp, "%s: uc_mcontext.fpstate at frame+232", name);
	tap_eq_u64(at_ld64(&a, frame + 48 + 15 * 8), AT_SP, "%s: sigcontext rsp", name);
	tap_eq_u64(at_ld32(&a, frame + 312), XK_SIGUSR1, "%s: si_signo", name);
	/* unsafe_save_altstack() stores the recorded flags as they are (0 for a
	 * process that never called sigaltstack). */
	tap_eq_u64(at_ld32(&a, frame + 32), t->sig.sas_ss_flags, "%s: uc_stack.ss_flags", name);
	tap_ok(frame + 440 <= fp, "%s: rt_sigframe below the XSAVE area", name);

	/* The handler starts clean. */
	tap_eq_u64(kt_zero(&a.kt, 0, "xmm0"), 1, "%s: handler: XMM0 init", name);
	tap_eq_u64(xs_mxcsr(k->cpu[0].hw), 0x1f80, "%s: handler: MXCSR 0x1F80", name);
	if (kt_has_reg(&a.kt, "ymm1"))
		tap_eq_u64(kt_zero(&a.kt, 0, "ymm1"), 1, "%s: handler: YMM1 init", name);
	if (kt_has_reg(&a.kt, "pkru")) {
		uint32_t pk = 0;

		xs_rdpkru(k->cpu[0].hw, &pk);
		tap_eq_u64(pk, XK_PKRU_INIT_DEFAULT, "%s: handler: PKRU = init_pkru", name);
	}
	tap_ok(a.kt.bad == 0, "%s: no invariant violation (%s)", name, a.kt.bad_why);
	free(img);
	xs_cpu_free(ref);
	at_shutdown(&a);
}

/* PKRU: the frame carries the value the task had, not the 0 the kernel
 * wrote to reach the frame. */
static void check_pkru(void)
{
	struct at a;
	struct xk_sigframe sf;
	uint32_t pk = 0;

	if (at_boot(&a, "intel-skylake-sp", 1, "")) {
		tap_skip("skylake-sp does not boot");
		return;
	}
	at_spawn(&a, "t1", 0);
	tap_ok(xs_wrpkru(a.kt.k.cpu[0].hw, 0x12345678) == XS_OK, "pkru: WRPKRU 0x12345678");
	tap_ok(at_deliver(&a, 0, AT_SP, 0, XK_SIGUSR1, &sf) == 0, "pkru: delivered");
	tap_eq_u64(at_ld32(&a, sf.fpstate + a.kt.m.comp[XS_C_PKRU].offset), 0x12345678,
		   "pkru: the frame's PKRU slot holds the task's value");
	tap_ok(at_ld64(&a, sf.fpstate + 512) & XS_BIT(XS_C_PKRU), "pkru: XSTATE_BV.PKRU set");
	xs_rdpkru(a.kt.k.cpu[0].hw, &pk);
	tap_eq_u64(pk, XK_PKRU_INIT_DEFAULT, "pkru: handler runs with init_pkru");
	at_shutdown(&a);
}

/* sigaltstack placement, nesting, overflow, SS_AUTODISARM, unmapped stack. */
static void check_altstack(void)
{
	struct at a;
	struct xk_task *t;
	struct xk_sigframe sf, sf2;
	struct xk_stack ss = { AT_ALT_BASE, 16384, 0 }, got;
	uint64_t min;
	int r;

	if (at_boot(&a, "intel-icelake-sp", 1, "")) {
		tap_skip("icelake-sp does not boot");
		return;
	}
	t = at_spawn(&a, "t1", 0);
	xk_umem_map(&a.mm, AT_ALT_BASE, 16384, "alt");
	tap_eq_u64(xk_sigaltstack(&a.kt.k, t, AT_SP, &ss, NULL), 0, "altstack: 16 KiB installed");
	r = at_deliver(&a, 0, AT_SP, XK_SA_ONSTACK, XK_SIGUSR1, &sf);
	tap_ok(r == 0 && sf.altstack, "altstack: SA_ONSTACK frame on the altstack");
	tap_eq_u64(sf.fpstate, rdown(AT_ALT_BASE + 16384 - (t->fpu.fpstate->user_size + 4), 64),
		   "altstack: XSAVE area below the top (no red zone when entering)");
	tap_eq_u64(at_ld64(&a, sf.frame + XK_RTF_SS_SP), AT_ALT_BASE, "altstack: uc_stack.ss_sp");
	tap_eq_u64(at_ld64(&a, sf.frame + XK_RTF_SS_SIZE), 16384, "altstack: uc_stack.ss_size");
	/* Nested: a second signal inside the handler goes below the first. */
	r = at_deliver(&a, 0, sf.frame, XK_SA_ONSTACK, XK_SIGUSR2, &sf2);
	tap_ok(r == 0 && sf2.frame < sf.frame && sf2.fpstate < sf.frame - 128 + 1,
	       "altstack: nested frame below the first, past the red zone");
	tap_ok(xk_sigaltstack(&a.kt.k, t, sf2.frame, &ss, NULL) == -EPERM,
	       "altstack: sigaltstack() on the altstack -> EPERM");
	/* A third one overflows the 16 KiB stack? Each frame here is ~3.5 KiB:
	 * fill it until the next one does not fit. */
	{
		uint64_t sp = sf2.frame;
		int n = 0;

		while ((r = at_deliver(&a, 0, sp, XK_SA_ONSTACK, XK_SIGUSR1, &sf)) == 0 && n < 10) {
			sp = sf.frame;
			n++;
		}
		tap_ok(r == -EFAULT, "altstack: frame %d overflows the altstack -> EFAULT (SIGSEGV)",
		       n + 3);
		xk_return_to_user(&a.kt.k, 0);
	}
	/* Too small for this CPU's frame. */
	ss.sp = AT_ALT_BASE;
	ss.size = 2048;
	xk_sigaltstack(&a.kt.k, t, AT_SP, &ss, NULL);
	tap_eq_u64(t->sig.sas_ss_size, 2048, "altstack: MINSIGSTKSZ altstack accepted (no AMX)");
	r = at_deliver(&a, 0, AT_SP, XK_SA_ONSTACK, XK_SIGUSR1, &sf);
	tap_ok(r == -EFAULT, "altstack: a 2048-byte altstack overflows with a %u-byte XSAVE area",
	       t->fpu.fpstate->user_size);
	xk_return_to_user(&a.kt.k, 0);
	min = xk_sigaltstack_min(&a.kt.k, t);
	tap_eq_u64(min, 2048, "altstack: sigaltstack minimum without dynamic features = MINSIGSTKSZ");
	ss.size = 2047;
	tap_eq_u64(xk_sigaltstack(&a.kt.k, t, AT_SP, &ss, &got), (uint64_t)-ENOMEM,
		   "altstack: 2047 bytes -> ENOMEM");
	tap_eq_u64(got.size, 2048, "altstack: oss reports the old size");
	ss.flags = 3;
	ss.size = 8192;
	tap_eq_u64(xk_sigaltstack(&a.kt.k, t, AT_SP, &ss, NULL), (uint64_t)-EINVAL,
		   "altstack: mode 3 -> EINVAL");
	/* SS_AUTODISARM: the altstack is dropped for the handler. */
	ss.flags = XK_SS_AUTODISARM;
	ss.size = 16384;
	tap_eq_u64(xk_sigaltstack(&a.kt.k, t, AT_SP, &ss, NULL), 0, "altstack: SS_AUTODISARM set");
	r = at_deliver(&a, 0, AT_SP, XK_SA_ONSTACK, XK_SIGUSR1, &sf);
	tap_ok(r == 0 && sf.altstack && t->sig.sas_ss_size == 0,
	       "altstack: SS_AUTODISARM: altstack disarmed while the handler runs");
	tap_eq_u64(at_ld32(&a, sf.frame + XK_RTF_SS_FLAGS), XK_SS_AUTODISARM,
		   "altstack: uc_stack keeps the armed setting");
	tap_eq_u64(at_sigreturn(&a, 0, sf.frame, NULL), 0, "altstack: sigreturn");
	tap_eq_u64(t->sig.sas_ss_size, 16384, "altstack: sigreturn re-arms it from uc_stack");
	at_shutdown(&a);
}

static void check_unmapped(void)
{
	struct at a;
	struct xk_sigframe sf;
	uint8_t before[64], after[64];
	int r;

	if (at_boot(&a, "intel-skylake-client", 1, "")) {
		tap_skip("skylake-client does not boot");
		return;
	}
	at_spawn(&a, "t1", 0);
	kt_write(&a.kt, 0, "ymm3", 7);
	at_peek(&a, 0, "ymm3", before);
	r = at_deliver(&a, 0, 0x10000000u, 0, XK_SIGUSR1, &sf);
	tap_eq_u64(r, (uint64_t)-EFAULT, "unmapped stack: EFAULT (Linux forces SIGSEGV)");
	at_peek(&a, 0, "ymm3", after);
	tap_ok(memcmp(before, after, 32) == 0, "unmapped stack: registers unchanged");
	/* Half of the frame mapped: the XSAVE area fits, the rt_sigframe not. */
	xk_return_to_user(&a.kt.k, 0);
	r = at_deliver(&a, 0, AT_STACK_TOP - AT_STACK_SIZE + 128 + 1088 + 64, 0, XK_SIGUSR1, &sf);
	tap_eq_u64(r, (uint64_t)-EFAULT, "rt_sigframe below the stack: EFAULT");
	at_shutdown(&a);
}

/* Reviewer additions (R4). PKRU in its init state (XINUSE[9] = 0, e.g.
 * after an XRSTOR that initialised it): XSAVE leaves XSTATE_BV[9] clear,
 * update_pkru_in_sigframe() sets it anyway and stores the value. */
static void check_pkru_init(void)
{
	struct at a;
	struct xk_sigframe sf;
	uint8_t *img;
	uint64_t inuse = ~0ULL;
	uint32_t pko;

	if (at_boot(&a, "intel-skylake-sp", 1, "")) {
		tap_skip("skylake-sp does not boot");
		return;
	}
	at_spawn(&a, "t1", 0);
	pko = a.kt.m.comp[XS_C_PKRU].offset;
	img = aligned_alloc(64, 4096);
	memset(img, 0, 4096);
	tap_ok(xs_xrstor(a.kt.k.cpu[0].hw, img, 4096, XS_BIT(XS_C_PKRU)) == XS_OK,
	       "pkru init: the task's XRSTOR initialises PKRU");
	free(img);
	xs_xgetbv(a.kt.k.cpu[0].hw, 1, &inuse);
	tap_eq_u64(inuse & XS_BIT(XS_C_PKRU), 0, "pkru init: XINUSE[PKRU] = 0");
	at_st32(&a, rdown(AT_SP - 128 - 2700, 64) + pko, 0xa5a5a5a5u);
	tap_ok(at_deliver(&a, 0, AT_SP, 0, XK_SIGUSR1, &sf) == 0, "pkru init: delivered");
	tap_ok(at_ld64(&a, sf.fpstate + 512) & XS_BIT(XS_C_PKRU),
	       "pkru init: XSTATE_BV.PKRU set although XSAVE left it clear");
	tap_eq_u64(at_ld32(&a, sf.fpstate + pko), 0, "pkru init: the PKRU slot holds 0");
	at_shutdown(&a);
}

/* sig_prepare_pkru() opens every key before the frame is written; only a
 * failed XSAVE area write (copy_fpstate_to_sigframe) puts the old value
 * back. A failed rt_sigframe write after it leaves PKRU 0, as in Linux
 * (get_sigframe(), x64_setup_rt_frame(); SIGSEGV follows). */
static void check_pkru_frame_fault(void)
{
	struct at a;
	struct xk_sigframe sf;
	uint32_t pk = 1, us;
	uint64_t base = AT_STACK_TOP - AT_STACK_SIZE;

	if (at_boot(&a, "intel-skylake-sp", 1, "")) {
		tap_skip("skylake-sp does not boot");
		return;
	}
	at_spawn(&a, "t1", 0);
	us = a.kt.k.cpu[0].current->fpu.fpstate->user_size;
	xs_wrpkru(a.kt.k.cpu[0].hw, 0x12345678);
	/* XSAVE area at base + 64 (mapped), rt_sigframe below base. */
	tap_eq_u64(at_deliver(&a, 0, base + 64 + 128 + us + 4, 0, XK_SIGUSR1, &sf),
		   (uint64_t)-EFAULT, "pkru: rt_sigframe unmapped -> EFAULT");
	tap_eq_u64(sf.fpstate, base + 64, "pkru: the XSAVE area was inside the stack");
	xs_rdpkru(a.kt.k.cpu[0].hw, &pk);
	tap_eq_u64(pk, 0, "pkru: left as sig_prepare_pkru() set it (0)");
	/* The XSAVE area itself unmapped: PKRU is restored. */
	xs_wrpkru(a.kt.k.cpu[0].hw, 0x12345678);
	tap_eq_u64(at_deliver(&a, 0, 0x10000000u, 0, XK_SIGUSR1, &sf), (uint64_t)-EFAULT,
		   "pkru: XSAVE area unmapped -> EFAULT");
	xs_rdpkru(a.kt.k.cpu[0].hw, &pk);
	tap_eq_u64(pk, 0x12345678, "pkru: a failed XSAVE area write restores it");
	at_shutdown(&a);
}

int main(void)
{
	tap_plan_lazy();
	for (size_t i = 0; i < xs_builtin_count(); i++)
		check_minsigstksz(xs_builtin_name(i));
	for (size_t i = 0; i < xs_builtin_count(); i++)
		check_frame(xs_builtin_name(i));
	check_pkru();
	check_altstack();
	check_unmapped();
	check_pkru_init();
	check_pkru_frame_fault();
	return tap_done();
}
