/* FS/GS in 64-bit mode (segment.h): descriptors, selector loads and their
 * checks, the null-selector base rule per vendor, RD/WR{FS,GS}BASE gating,
 * SWAPGS, the base MSRs, and that the segment state is part of the CPU's
 * compared/copied/hashed state. */
#include "cpu_fixture.h"
#include "xstate/segment.h"

#define USER_DS 0x00cff3000000ffffULL  /* Linux GDT entry 5: data, DPL 3 */
#define USER_CS 0x00affb000000ffffULL  /* entry 6: 64-bit code, DPL 3 */
#define KERNEL_DS 0x00cf93000000ffffULL
#define XONLY_CS 0x00aff9000000ffffULL  /* execute-only code, DPL 3 (type 9) */

static uint64_t gdt[16];
static uint64_t ldt[4];

static uint64_t tls_desc(uint32_t base, bool present)
{
	struct xs_desc d = { .base = base, .limit = 0xFFFFF, .type = 3, .s = true, .dpl = 3,
			     .present = present, .db = true, .g = true };

	return xs_desc_pack(&d);
}

static struct xs_cpu *cpu(const char *model)
{
	struct xs_cpu *c = xs_cpu_new(fx_model(model));

	memset(gdt, 0, sizeof(gdt));
	gdt[3] = KERNEL_DS;
	gdt[5] = USER_DS;
	gdt[6] = USER_CS;
	gdt[7] = XONLY_CS;
	gdt[12] = tls_desc(0x12345678, true);
	gdt[13] = tls_desc(0x1000, false);
	xs_set_cpl(c, 0);
	xs_lgdt(c, gdt, 16);
	return c;
}

static void test_desc(void)
{
	struct xs_desc d;

	xs_desc_unpack(USER_DS, &d);
	tap_ok(d.base == 0 && d.limit == 0xFFFFF && d.type == 3 && d.s && d.dpl == 3 &&
	       d.present && d.db && d.g && !d.l, "unpack __USER_DS");
	tap_eq_u64(xs_desc_pack(&d), USER_DS, "pack(unpack(x)) = x");
	tap_eq_u64(xs_desc_base(tls_desc(0xA1B2C3D4, true)), 0xA1B2C3D4, "base split over 3 fields");
	tap_eq_u64(xs_sel_make(12, false, 3), 0x63, "TLS selector 0x63");
	tap_ok(xs_sel_is_null(3) && !xs_sel_is_null(4) && !xs_sel_is_null(0x63), "null selectors 0-3");
}

static void test_loads(void)
{
	struct xs_cpu *c = cpu("intel-skylake-client"), *s;
	struct xs_seg_view v;

	xs_set_cpl(c, 3);
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_FS, 0x2b), "MOV FS, __USER_DS");
	xs_seg_peek(c, &v);
	tap_ok(v.fs_sel == 0x2b && v.fs_base == 0, "selector and base 0 loaded");
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_GS, 0x63), "MOV GS, 0x63 (TLS)");
	xs_seg_peek(c, &v);
	tap_ok(v.gs_sel == 0x63 && v.gs_base == 0x12345678, "base from the descriptor");
	/* The base is cached: changing the descriptor changes nothing... */
	gdt[12] = tls_desc(0x777000, true);
	xs_seg_peek(c, &v);
	tap_eq_u64(v.gs_base, 0x12345678, "descriptor change does not reach the loaded register");
	/* ...until the next load. */
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_GS, 0x63), "reload");
	xs_seg_peek(c, &v);
	tap_eq_u64(v.gs_base, 0x777000, "reload picks up the new descriptor");
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_FS, 0x33), "readable code segment is loadable");

	s = fx_snap(c);
	FX_FAULT(c, s, xs_mov_to_seg(c, XS_SEG_FS, 0x18 | 3), XS_GP, "DPL 0 data at RPL/CPL 3");
	FX_FAULT(c, s, xs_mov_to_seg(c, XS_SEG_FS, 0x38 | 3), XS_GP, "execute-only code");
	FX_FAULT(c, s, xs_mov_to_seg(c, XS_SEG_FS, 0x80 | 3), XS_GP, "index beyond the GDT");
	FX_FAULT(c, s, xs_mov_to_seg(c, XS_SEG_FS, 0x43), XS_GP, "system descriptor (empty slot 8)");
	FX_FAULT(c, s, xs_mov_to_seg(c, XS_SEG_FS, 0x6b), XS_GP, "not present (#NP on hardware)");
	tap_ok(strstr(xs_cpu_fault_reason(c), "#NP") != NULL, "... the reason says #NP");
	FX_FAULT(c, s, xs_mov_to_seg(c, XS_SEG_FS, 0x7), XS_GP, "LDT selector with a null LDT");
	xs_cpu_free(s);

	/* LDT selectors. */
	xs_set_cpl(c, 0);
	ldt[1] = tls_desc(0xABC000, true);
	tap_eq_u64(xs_lldt(c, ldt, 4), XS_OK, "LLDT");
	xs_set_cpl(c, 3);
	s = fx_snap(c);
	FX_FAULT(c, s, xs_lldt(c, NULL, 0), XS_GP, "LLDT at CPL 3");
	FX_FAULT(c, s, xs_lgdt(c, gdt, 16), XS_GP, "LGDT at CPL 3");
	xs_cpu_free(s);
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_FS, 0xf), "MOV FS, LDT entry 1");
	xs_seg_peek(c, &v);
	tap_eq_u64(v.fs_base, 0xABC000, "LDT base");
	tap_eq_u64(xs_mov_from_seg(c, XS_SEG_FS), 0xf, "MOV from FS");
	/* The kernel may load user selectors at CPL 0. */
	xs_set_cpl(c, 0);
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_GS, 0x2b), "CPL 0 loads a DPL 3 selector");
	xs_cpu_free(c);
}

/* The null-selector rule: Intel and Zen 2+ clear the base, old AMD keeps it. */
static void test_null(void)
{
	static const char *const models[] = { "intel-skylake-client", "amd-zen2-rome",
					       "amd-zen3-milan", "host-amd-epyc-vm" };
	struct xs_model old;
	struct xs_cpu *c;
	struct xs_seg_view v;

	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		c = cpu(models[i]);
		tap_ok(!xs_null_sel_keeps_base(xs_cpu_model(c)), "%s: null selectors clear the base",
		       models[i]);
		for (uint16_t sel = 0; sel < 4; sel++) {
			xs_seg_wrmsr(c, XS_MSR_FS_BASE, 0x200000000ULL);
			FX_OK(c, xs_mov_to_seg(c, XS_SEG_FS, sel), "%s: MOV FS, %u", models[i], sel);
			xs_seg_peek(c, &v);
			tap_ok(v.fs_sel == sel && v.fs_base == 0, "%s: selector %u kept, base cleared",
			       models[i], sel);
		}
		xs_cpu_free(c);
	}
	/* A family 15h AMD part (Bulldozer): X86_BUG_NULL_SEG. */
	old = *fx_model("amd-zen2-rome");
	old.signature = 0x00600F20; /* family 15h */
	tap_ok(xs_null_sel_keeps_base(&old), "AMD family 15h keeps the base");
	c = xs_cpu_new(&old);
	xs_seg_wrmsr(c, XS_MSR_GS_BASE, 0x200000000ULL);
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_GS, 0), "MOV GS, 0");
	xs_seg_peek(c, &v);
	tap_eq_u64(v.gs_base, 0x200000000ULL, "... the old base stays (the leak Linux works around)");
	xs_lgdt(c, gdt, 16);
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_GS, 0x2b), "MOV GS, __USER_DS (Linux's workaround)");
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_GS, 0), "then MOV GS, 0");
	xs_seg_peek(c, &v);
	tap_eq_u64(v.gs_base, 0, "... now the base is 0");
	xs_cpu_free(c);
}

static void test_base_insns(void)
{
	struct xs_cpu *c = cpu("intel-icelake-sp"), *s;
	struct xs_model nofsgs;
	uint64_t v = 1;

	xs_set_cpl(c, 3);
	s = fx_snap(c);
	FX_FAULT(c, s, xs_wrsegbase(c, XS_SEG_FS, 0x1000), XS_UD, "WRFSBASE with CR4.FSGSBASE = 0");
	FX_FAULT(c, s, xs_rdsegbase(c, XS_SEG_GS, &v), XS_UD, "RDGSBASE with CR4.FSGSBASE = 0");
	xs_cpu_free(s);
	FX_OK(c, xs_set_cr4_fsgsbase(c, true), "set CR4.FSGSBASE");
	FX_OK(c, xs_wrsegbase(c, XS_SEG_FS, 0x7fff00001000ULL), "WRFSBASE at CPL 3");
	FX_OK(c, xs_rdsegbase(c, XS_SEG_FS, &v), "RDFSBASE");
	tap_eq_u64(v, 0x7fff00001000ULL, "read back");
	FX_OK(c, xs_wrsegbase(c, XS_SEG_GS, 0xffff800000000000ULL), "WRGSBASE canonical kernel address");
	s = fx_snap(c);
	FX_FAULT(c, s, xs_wrsegbase(c, XS_SEG_GS, 0x0000800000000000ULL), XS_GP,
		 "WRGSBASE non-canonical");
	FX_FAULT(c, s, xs_swapgs(c), XS_GP, "SWAPGS at CPL 3");
	FX_FAULT(c, s, xs_seg_wrmsr(c, XS_MSR_FS_BASE, 0), XS_GP, "WRMSR FS_BASE at CPL 3");
	xs_cpu_free(s);
	/* The selector is independent of the base WR*BASE writes. */
	FX_OK(c, xs_mov_to_seg(c, XS_SEG_GS, 0x63), "MOV GS, 0x63");
	FX_OK(c, xs_wrsegbase(c, XS_SEG_GS, 0x300000000ULL), "WRGSBASE under a nonzero selector");
	tap_ok(xs_mov_from_seg(c, XS_SEG_GS) == 0x63, "selector unchanged by WRGSBASE");

	/* SWAPGS and the MSRs at CPL 0. */
	xs_set_cpl(c, 0);
	FX_OK(c, xs_seg_wrmsr(c, XS_MSR_KERNEL_GS_BASE, 0xffff888000001000ULL), "WRMSR KERNEL_GS_BASE");
	FX_OK(c, xs_swapgs(c), "SWAPGS");
	xs_seg_rdmsr(c, XS_MSR_GS_BASE, &v);
	tap_eq_u64(v, 0xffff888000001000ULL, "GS base is the kernel's after SWAPGS");
	xs_seg_rdmsr(c, XS_MSR_KERNEL_GS_BASE, &v);
	tap_eq_u64(v, 0x300000000ULL, "and the user's is in KERNEL_GS_BASE");
	s = fx_snap(c);
	FX_FAULT(c, s, xs_seg_wrmsr(c, XS_MSR_FS_BASE, 0x8000000000000000ULL), XS_GP,
		 "WRMSR FS_BASE non-canonical");
	FX_FAULT(c, s, xs_seg_wrmsr(c, 0xC0000103, 0), XS_GP, "not a segment MSR");
	xs_cpu_free(s);

	/* Part of the CPU state: copy, compare, hash. */
	s = fx_snap(c);
	tap_ok(xs_cpu_equal(c, s) && xs_cpu_hash(c) == xs_cpu_hash(s), "copy carries the segment state");
	xs_swapgs(s);
	tap_ok(!xs_cpu_equal(c, s) && xs_cpu_hash(c) != xs_cpu_hash(s),
	       "a different GS base is a different state");
	xs_cpu_reset(s);
	tap_ok(xs_mov_from_seg(s, XS_SEG_FS) == 0 && !xs_cr4_fsgsbase(s), "RESET: selectors 0, CR4.FSGSBASE 0");
	xs_cpu_free(s);
	xs_cpu_free(c);

	nofsgs = *fx_model("intel-icelake-sp");
	nofsgs.feat.fsgsbase = false;
	c = xs_cpu_new(&nofsgs);
	s = fx_snap(c);
	FX_FAULT(c, s, xs_set_cr4_fsgsbase(c, true), XS_GP, "CR4.FSGSBASE without CPUID FSGSBASE");
	xs_cpu_free(s);
	xs_cpu_free(c);
}

int main(void)
{
	tap_plan_lazy();
	test_desc();
	test_loads();
	test_null();
	test_base_insns();
	return tap_done();
}
