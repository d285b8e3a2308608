/* Seed 000 (Andy Lutomirski, 2019): "it's okay to XSAVES twice to the same
 * buffer with disjoint RFBM as long as we do something intelligent with
 * XSTATE_BV afterwards, right?"
 *
 * Answer, on the architecture model (SDM 13.11): no, not in general.
 * XSAVES writes the compacted format for ITS OWN RFBM: XCOMP_BV := RFBM |
 * bit 63, XSTATE_BV := RFBM & XINUSE (every other bit cleared), and the
 * first extended component of each save lands at offset 576. A second
 * XSAVES of disjoint components overwrites the first one's components and
 * header; no XSTATE_BV fix-up can bring them back, and fixing XSTATE_BV
 * alone makes XRSTORS #GP (XSTATE_BV not a subset of XCOMP_BV). It works
 * only when one of the two saves holds nothing but x87/SSE (the fixed
 * legacy region), and then both XSTATE_BV and XCOMP_BV need the fix-up.
 * Standard-format XSAVE twice works with no fix-up (it keeps the bits
 * outside RFBM), but cannot hold supervisor state. Restoring in parts from
 * one full save (XRSTORS of CET_U, then of the FPU) is fine: XRSTORS takes
 * the layout from the buffer's XCOMP_BV -- it costs one more instruction.
 * Linux saves everything with one XSAVES (RFBM = fpstate->xfeatures). */
#include <errno.h>

#include "ktest.h"
#include "xstate/kernel_special.h"

#define SSE_X87 (XS_BIT(XS_C_X87) | XS_BIT(XS_C_SSE))
#define AVX XS_BIT(XS_C_AVX)
#define CETU XS_BIT(XS_C_CET_U)

static _Alignas(64) uint8_t buf[16384];

static uint64_t hdr(unsigned off)
{
	uint64_t v;

	memcpy(&v, buf + XS_HDR_OFFSET + off, 8);
	return v;
}

static void set_hdr(unsigned off, uint64_t v)
{
	memcpy(buf + XS_HDR_OFFSET + off, &v, 8);
}

/* A CPU configured like the kernel's (XCR0, IA32_XSS) with every
 * component in its initial state, to restore a buffer into. */
static struct xs_cpu *scratch_cpu(struct kt *t)
{
	struct xs_cpu *c = xs_cpu_new(&t->m);

	xs_set_cpl(c, 0);
	xs_set_cr4_osxsave(c, true);
	xs_xsetbv(c, 0, t->k.xcr0);
	xs_wrmsr(c, XS_MSR_XSS, t->k.xss);
	return c;
}

static uint64_t msr(struct xs_cpu *c, uint32_t n)
{
	uint64_t v = 0;
	int cpl = xs_cpl(c);

	xs_set_cpl(c, 0);
	xs_rdmsr(c, n, &v);
	xs_set_cpl(c, cpl);
	return v;
}

static int ymm_is(struct kt *t, struct xs_cpu *c, unsigned seed)
{
	struct xs_reg r;
	uint8_t v[32], want[32];

	xs_reg_lookup(&t->m, seed == 9 ? "ymm0" : "ymm1", &r);
	xs_reg_peek(c, &r, v);
	kt_pattern(want, 32, seed);
	return memcmp(v, want, 32) == 0;
}

int main(void)
{
	struct kt t;
	struct xk_kernel *k = &t.k;
	struct xk_task *a;
	struct xs_cpu *hw, *s;
	uint64_t ssp, st;
	uint32_t size;
	enum xs_fault f;

	tap_plan_lazy();
	if (kt_boot(&t, "intel-sapphire-rapids", 1, "")) {
		tap_ok(0, "boot");
		return tap_done();
	}
	hw = k->cpu[0].hw;
	size = k->kcfg.max_size;
	a = xk_spawn(k, "a");
	kt_run(&t, 0, a);
	kt_write(&t, 0, "ymm1", 7);
	kt_write(&t, 0, "ymm0", 9);
	xk_enter_kernel(k, 0);
	tap_ok(xk_shstk_prctl(k, 0, XK_ARCH_SHSTK_ENABLE, XK_ARCH_SHSTK_SHSTK, &st) == 0,
	       "the task has a shadow stack: CET_U is live");
	ssp = msr(hw, XS_MSR_PL3_SSP);

	/* 1. User state, then CET_U, both at the head of the buffer. */
	memset(buf, 0, sizeof(buf));
	tap_ok(xs_xsaves(hw, buf, size, SSE_X87 | AVX) == XS_OK, "XSAVES rfbm=x87|sse|avx");
	tap_eq_u64(hdr(8), SSE_X87 | AVX | XS_COMPACTED_BIT, "XCOMP_BV = x87|sse|avx");
	tap_ok(xs_xsaves(hw, buf, size, CETU) == XS_OK, "XSAVES rfbm=cet_u into the same buffer");
	tap_eq_u64(hdr(8), CETU | XS_COMPACTED_BIT,
		   "the second XSAVES rewrote XCOMP_BV for its own RFBM: cet_u");
	tap_eq_u64(hdr(0), CETU, "... and XSTATE_BV: x87|sse|avx bits cleared");
	{
		uint64_t ucet;

		memcpy(&ucet, buf + XS_EXT_OFFSET, 8);
		tap_eq_u64(ucet, XK_CET_SHSTK_EN, "CET_U was written at offset 576, over AVX's image");
	}
	/* "Something intelligent with XSTATE_BV". */
	set_hdr(0, SSE_X87 | AVX | CETU);
	s = scratch_cpu(&t);
	f = xs_xrstors(s, buf, size, SSE_X87 | AVX | CETU);
	tap_ok(f == XS_GP, "fix XSTATE_BV only: XRSTORS #GP (%s)", xs_cpu_fault_reason(s));
	set_hdr(8, SSE_X87 | AVX | CETU | XS_COMPACTED_BIT);
	f = xs_xrstors(s, buf, size, SSE_X87 | AVX | CETU);
	tap_ok(f == XS_OK && !ymm_is(&t, s, 9) && msr(s, XS_MSR_PL3_SSP) != ssp,
	       "fix XCOMP_BV too: the restore runs but loads the wrong state (ymm0's upper half "
	       "holds CET_U's bytes: %s; PL3_SSP 0x%llx, not 0x%llx)",
	       ymm_is(&t, s, 9) ? "no" : "yes", (unsigned long long)msr(s, XS_MSR_PL3_SSP),
	       (unsigned long long)ssp);
	xs_cpu_free(s);

	/* 2. The one case that works: the first save is legacy-only. */
	memset(buf, 0, sizeof(buf));
	xs_xsaves(hw, buf, size, SSE_X87);
	st = hdr(0);
	xs_xsaves(hw, buf, size, AVX | CETU);
	set_hdr(0, hdr(0) | st);
	set_hdr(8, hdr(8) | SSE_X87);
	s = scratch_cpu(&t);
	f = xs_xrstors(s, buf, size, SSE_X87 | AVX | CETU);
	tap_ok(f == XS_OK && ymm_is(&t, s, 7) && ymm_is(&t, s, 9) && msr(s, XS_MSR_PL3_SSP) == ssp &&
	       msr(s, XS_MSR_U_CET) == XK_CET_SHSTK_EN,
	       "x87|sse first, then avx|cet_u, XSTATE_BV and XCOMP_BV fixed up: exact restore");
	xs_cpu_free(s);

	/* 3. Standard format: XSAVE keeps XSTATE_BV bits outside RFBM. */
	memset(buf, 0, sizeof(buf));
	xs_xsave(hw, buf, sizeof(buf), SSE_X87);
	xs_xsave(hw, buf, sizeof(buf), AVX);
	s = scratch_cpu(&t);
	tap_eq_u64(hdr(0), (SSE_X87 | AVX) & xs_xinuse(hw),
		   "XSAVE twice, disjoint RFBM: XSTATE_BV holds both saves' bits");
	f = xs_xrstor(s, buf, sizeof(buf), SSE_X87 | AVX);
	tap_ok(f == XS_OK && ymm_is(&t, s, 7) && ymm_is(&t, s, 9),
	       "... and XRSTOR restores it with no fix-up");
	tap_ok(xs_xsave(hw, buf, sizeof(buf), CETU) == XS_OK && !(hdr(0) & CETU),
	       "but XSAVE cannot save CET_U at all (RFBM = XCR0 & mask)");
	xs_cpu_free(s);

	/* 4. What Linux does: one XSAVES; restoring in two parts is fine. */
	memset(buf, 0, sizeof(buf));
	xs_xsaves(hw, buf, size, SSE_X87 | AVX | CETU);
	s = scratch_cpu(&t);
	tap_ok(xs_xrstors(s, buf, size, CETU) == XS_OK && msr(s, XS_MSR_PL3_SSP) == ssp &&
	       !ymm_is(&t, s, 7), "one XSAVES, then XRSTORS of CET_U alone: only CET_U loaded");
	tap_ok(xs_xrstors(s, buf, size, SSE_X87 | AVX) == XS_OK && ymm_is(&t, s, 7) &&
	       ymm_is(&t, s, 9),
	       "then XRSTORS of the FPU part: everything restored (two instructions)");
	xs_cpu_free(s);
	tap_ok(t.bad == 0, "no kernel invariant broken (%s)", t.bad ? t.bad_why : "-");
	xk_shutdown(k);
	return tap_done();
}
