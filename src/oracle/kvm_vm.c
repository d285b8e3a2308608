/* The ring-0 oracle's virtual machine: /dev/kvm, one vCPU in 64-bit mode.
 *
 * Setup follows the KVM API document (Documentation/virt/kvm/api.rst) and
 * the long-mode requirements of SDM Vol. 3A 9.8.5 (paging with PAE,
 * EFER.LME, a 64-bit code segment). Segment state is loaded directly with
 * KVM_SET_SREGS, so the GDT only has to exist for the exception path
 * (IRETQ is never used: the host restarts the vCPU after a report). */
#include "oracle/kvm_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "oracle/kvm_codegen.h"

#define KV_CPUID_MAX 256
#define KV_MSRS_MAX 1024

struct kv_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
	size_t mem_size;
	struct kvm_cpuid2 *cpuid;
	uint32_t *msrs, *feature_msrs;
	size_t nmsrs, nfeature_msrs;
};

/* CR0, CR4 and EFER bits (SDM Vol. 3A 2.5, 2.2.1). */
#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_OSXSAVE (1ULL << 18)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define PTE_P 1ULL
#define PTE_RW 2ULL

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Vectors for which the processor pushes an error code (SDM Vol. 3A 6.13,
 * table 6-1): #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX. */
static bool vector_has_error_code(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

static void build_gdt_idt(struct kv_vm *vm)
{
	uint8_t *gdt = vm->mem + KV_GDT, *idt = vm->mem + KV_IDT;
	uint64_t tss = KV_TSS, lim = 0x67;
	struct kc_buf b;

	put64(gdt + 0x00, 0);
	put64(gdt + 0x08, 0x00AF9B000000FFFFULL); /* 64-bit code, DPL 0 */
	put64(gdt + 0x10, 0x00CF93000000FFFFULL); /* data, DPL 0 */
	/* 64-bit TSS descriptor (SDM Vol. 3A 8.2.3), type 0xB = busy */
	put64(gdt + 0x18, (lim & 0xFFFF) | ((tss & 0xFFFFFF) << 16) | (0x8BULL << 40) |
				  (((tss >> 24) & 0xFF) << 56));
	put64(gdt + 0x20, tss >> 32);

	/* 64-bit interrupt gates (SDM Vol. 3A 6.14.1) to one stub per vector. */
	for (unsigned v = 0; v < 256; v++) {
		uint64_t h = KV_STUBS + v * KV_STUB_SIZE;
		uint8_t *g = idt + v * 16;

		put64(g, (h & 0xFFFF) | (0x08ULL << 16) | (0x8EULL << 40) |
				 (((h >> 16) & 0xFFFF) << 48));
		put64(g + 8, h >> 32);

		kc_init(&b, vm->mem + h, KV_STUB_SIZE);
		if (!vector_has_error_code(v))
			kc_push_imm(&b, 0); /* uniform frame: error code slot */
		kc_mov_imm(&b, KC_RAX, v);
		kc_jmp_abs(&b, (uint32_t)(h + b.len), KV_TRAP);
	}
	/* The common tail: report, then stop. The host reads the error code and
	 * the faulting RIP from the frame at RSP. */
	kc_init(&b, vm->mem + KV_TRAP, 0x100);
	kc_out_eax(&b, KV_PORT_TRAP);
	kc_hlt(&b);
	kc_jmp_abs(&b, KV_TRAP + (uint32_t)b.len, KV_TRAP + (uint32_t)b.len - 1);
}

static void build_page_tables(struct kv_vm *vm)
{
	size_t npt = vm->mem_size >> 21;

	memset(vm->mem + KV_PML4, 0, 0x3000 + KV_PT_MAX * 0x1000);
	put64(vm->mem + KV_PML4, KV_PDPT | PTE_P | PTE_RW);
	put64(vm->mem + KV_PDPT, KV_PD | PTE_P | PTE_RW);
	for (size_t i = 0; i < npt; i++) {
		uint64_t pt = KV_PT + i * 0x1000;

		put64(vm->mem + KV_PD + i * 8, pt | PTE_P | PTE_RW);
		for (size_t j = 0; j < 512; j++) {
			uint64_t pa = (i << 21) | (j << 12);

			/* page 0 stays unmapped so a null access faults */
			put64(vm->mem + pt + j * 8, pa ? pa | PTE_P | PTE_RW : 0);
		}
	}
}

void kv_set_page_present(struct kv_vm *vm, uint64_t gpa, bool present)
{
	uint64_t *pte;

	if (gpa >= vm->mem_size || gpa < 0x1000)
		return;
	pte = (uint64_t *)(vm->mem + KV_PT + (gpa >> 12) * 8);
	*pte = present ? ((gpa & ~0xFFFULL) | PTE_P | PTE_RW) : 0;
}

static int get_msr_list(int kvm_fd, unsigned long req, uint32_t **out, size_t *n)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + KV_MSRS_MAX * sizeof(uint32_t));

	*out = NULL;
	*n = 0;
	if (!l)
		return -1;
	l->nmsrs = KV_MSRS_MAX;
	if (ioctl(kvm_fd, req, l) < 0) {
		free(l);
		return -1; /* older kernels lack the feature list: leave it empty */
	}
	*out = malloc((l->nmsrs ? l->nmsrs : 1) * sizeof(uint32_t));
	if (*out) {
		memcpy(*out, l->indices, l->nmsrs * sizeof(uint32_t));
		*n = l->nmsrs;
	}
	free(l);
	return 0;
}

/* XSTATE_KVM_DEVICE names another device node (tests use it to check
 * that a missing or unusable /dev/kvm is reported, not failed). */
static const char *kvm_device(void)
{
	const char *d = getenv("XSTATE_KVM_DEVICE");

	return d && *d ? d : "/dev/kvm";
}

static enum kv_status open_fds(struct kv_vm *vm, char *err, size_t errlen)
{
	const char *dev = kvm_device();
	int api;

	vm->kvm_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		set_err(err, errlen, "%s: %s", dev, strerror(errno));
		return KV_UNAVAILABLE;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		set_err(err, errlen, "%s: not a usable KVM device (API version %d, need %d)", dev,
			api, KVM_API_VERSION);
		return KV_UNAVAILABLE;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		set_err(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return KV_UNAVAILABLE;
	}
	return KV_OPEN_OK;
}

static enum kv_status setup_memory(struct kv_vm *vm, size_t mem_size, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region;

	vm->mem_size = mem_size;
	vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		set_err(err, errlen, "guest memory: %s", strerror(errno));
		return KV_ERROR;
	}
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = mem_size;
	region.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		set_err(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return KV_UNAVAILABLE;
	}
	return KV_OPEN_OK;
}

/* The guest sees exactly what this KVM supports (the point of the oracle is
 * to compare the model with what the nested CPU exposes, not to invent). */
static enum kv_status setup_vcpu(struct kv_vm *vm, char *err, size_t errlen)
{
	int run_size;

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0) {
		set_err(err, errlen, "KVM_CREATE_VCPU: %s", strerror(errno));
		return KV_UNAVAILABLE;
	}
	run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run)) {
		set_err(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return KV_ERROR;
	}
	vm->run_size = (size_t)run_size;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		set_err(err, errlen, "mmap kvm_run: %s", strerror(errno));
		return KV_ERROR;
	}
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + KV_CPUID_MAX * sizeof(struct kvm_cpuid_entry2));
	if (!vm->cpuid) {
		set_err(err, errlen, "out of memory");
		return KV_ERROR;
	}
	vm->cpuid->nent = KV_CPUID_MAX;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		set_err(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return KV_ERROR;
	}
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, vm->cpuid) < 0) {
		set_err(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		return KV_ERROR;
	}
	get_msr_list(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &vm->msrs, &vm->nmsrs);
	get_msr_list(vm->kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, &vm->feature_msrs,
		     &vm->nfeature_msrs);
	return KV_OPEN_OK;
}

enum kv_status kv_open(struct kv_vm **out, size_t mem_size, char *err, size_t errlen)
{
	struct kv_vm *vm;
	enum kv_status st;

	*out = NULL;
	if (mem_size < KV_DATA + 0x10000 || mem_size > (size_t)KV_PT_MAX << 21 ||
	    (mem_size & 0xFFF)) {
		set_err(err, errlen, "guest memory size %zu out of range", mem_size);
		return KV_ERROR;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		set_err(err, errlen, "out of memory");
		return KV_ERROR;
	}
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	st = open_fds(vm, err, errlen);
	if (st == KV_OPEN_OK)
		st = setup_memory(vm, mem_size, err, errlen);
	if (st == KV_OPEN_OK)
		st = setup_vcpu(vm, err, errlen);
	if (st != KV_OPEN_OK) {
		kv_close(vm);
		return st;
	}
	build_gdt_idt(vm);
	build_page_tables(vm);
	*out = vm;
	return KV_OPEN_OK;
}

void kv_close(struct kv_vm *vm)
{
	if (!vm)
		return;
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	free(vm->cpuid);
	free(vm->msrs);
	free(vm->feature_msrs);
	free(vm);
}

uint8_t *kv_mem(struct kv_vm *vm)
{
	return vm->mem;
}

size_t kv_mem_size(const struct kv_vm *vm)
{
	return vm->mem_size;
}

/* Entries flagged KVM_CPUID_FLAG_SIGNIFCANT_INDEX match on the sub-leaf;
 * the others apply to every sub-leaf. */
bool kv_cpuid(const struct kv_vm *vm, uint32_t leaf, uint32_t subleaf, struct xs_cpuid *out)
{
	for (uint32_t i = 0; i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];

		if (e->function != leaf)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != subleaf)
			continue;
		out->eax = e->eax;
		out->ebx = e->ebx;
		out->ecx = e->ecx;
		out->edx = e->edx;
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

int kv_set_cpuid(struct kv_vm *vm, uint32_t leaf, uint32_t subleaf, const struct xs_cpuid *v)
{
	for (uint32_t i = 0; i < vm->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];

		if (e->function != leaf)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != subleaf)
			continue;
		e->eax = v->eax;
		e->ebx = v->ebx;
		e->ecx = v->ecx;
		e->edx = v->edx;
		return ioctl(vm->vcpu_fd, KVM_SET_CPUID2, vm->cpuid) < 0 ? -1 : 0;
	}
	return -1;
}

size_t kv_msr_list(const struct kv_vm *vm, bool feature, const uint32_t **list)
{
	*list = feature ? vm->feature_msrs : vm->msrs;
	return feature ? vm->nfeature_msrs : vm->nmsrs;
}

int kv_get_xcr0(struct kv_vm *vm, uint64_t *val)
{
	struct kvm_xcrs x;

	memset(&x, 0, sizeof(x));
	if (ioctl(vm->vcpu_fd, KVM_GET_XCRS, &x) < 0)
		return -1;
	for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0) {
			*val = x.xcrs[i].value;
			return 0;
		}
	return -1;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xFFFFFFFF;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

int kv_start(struct kv_vm *vm, uint64_t rip, bool osxsave, char *err, size_t errlen)
{
	struct kvm_sregs s;

	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		set_err(err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	flat_segment(&s.cs, 0x08, 0xB, true);
	flat_segment(&s.ds, 0x10, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = KV_TSS;
	s.tr.limit = 0x67;
	s.tr.selector = 0x18;
	s.tr.type = 0xB;
	s.tr.present = 1;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.unusable = 1;
	s.gdt.base = KV_GDT;
	s.gdt.limit = 0x27;
	s.idt.base = KV_IDT;
	s.idt.limit = 256 * 16 - 1;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = KV_PML4;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | (osxsave ? CR4_OSXSAVE : 0);
	s.efer = EFER_LME | EFER_LMA;
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s) < 0) {
		set_err(err, errlen, "KVM_SET_SREGS (64-bit mode%s): %s",
			osxsave ? ", CR4.OSXSAVE" : "", strerror(errno));
		return -1;
	}
	if (kv_resume_at(vm, rip) < 0) {
		set_err(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kv_resume_at(struct kv_vm *vm, uint64_t rip)
{
	struct kvm_regs r;

	memset(&r, 0, sizeof(r));
	r.rip = rip;
	r.rsp = KV_STACK_TOP;
	r.rflags = 2; /* bit 1 is reserved-set; IF=0: no interrupts */
	return ioctl(vm->vcpu_fd, KVM_SET_REGS, &r) < 0 ? -1 : 0;
}

int kv_run(struct kv_vm *vm, struct kv_exit *e, char *err, size_t errlen)
{
	struct kvm_regs r;
	int rc;

	memset(e, 0, sizeof(*e));
	do
		rc = ioctl(vm->vcpu_fd, KVM_RUN, 0);
	while (rc < 0 && (errno == EINTR || errno == EAGAIN));
	if (rc < 0) {
		set_err(err, errlen, "KVM_RUN: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) == 0) {
		const uint64_t g[16] = { r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
					 r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15 };

		memcpy(e->gpr, g, sizeof(g));
		e->rip = r.rip;
	}
	switch (vm->run->exit_reason) {
	case KVM_EXIT_IO:
		if (vm->run->io.direction == KVM_EXIT_IO_OUT && vm->run->io.count == 1) {
			uint32_t v = 0;

			memcpy(&v, (uint8_t *)vm->run + vm->run->io.data_offset,
			       vm->run->io.size <= 4 ? vm->run->io.size : 4);
			e->kind = KV_EXIT_OUT;
			e->port = vm->run->io.port;
			e->data = v;
			return 0;
		}
		break;
	case KVM_EXIT_HLT:
		e->kind = KV_EXIT_HLT;
		return 0;
	default:
		break;
	}
	e->kind = KV_EXIT_OTHER;
	e->reason = vm->run->exit_reason;
	if (vm->run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		e->data = vm->run->internal.suberror;
		/* struct emulation_failure: the bytes KVM failed to emulate */
		if (e->data == KVM_INTERNAL_ERROR_EMULATION && vm->run->emulation_failure.ndata >= 3 &&
		    (vm->run->emulation_failure.flags &
		     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
			e->insn_size = vm->run->emulation_failure.insn_size;
			if (e->insn_size > sizeof(e->insn))
				e->insn_size = sizeof(e->insn);
			memcpy(e->insn, vm->run->emulation_failure.insn_bytes, e->insn_size);
		}
	}
	else if (vm->run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		e->data = (uint32_t)vm->run->fail_entry.hardware_entry_failure_reason;
	return 0;
}
