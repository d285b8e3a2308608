/* Shared between the ring-0 oracle's files (kvmguest.c: the oracle and its
 * exposure report; kvm_prog.c: running exec programs; kvm_diff.c: random
 * programs). */
#ifndef XSTATE_ORACLE_KVMGUEST_INTERNAL_H
#define XSTATE_ORACLE_KVMGUEST_INTERNAL_H

#include "oracle/kvm_vm.h"
#include "xstate/kvmguest.h"

struct xo_kvm {
	struct xo_kvm_exposure x;
	struct xs_model model;
};

/* A fresh VM whose vCPU has KVM's CPUID table (KVM_GET_SUPPORTED_CPUID). */
enum kv_status xo_kvm_new_vm(const struct xo_kvm *k, size_t mem, struct kv_vm **vm, char *err,
			     size_t errlen);

/* Exception vectors (SDM Vol. 3A table 6-1) to the model's faults; -1 for a
 * vector the model has no name for. */
int xo_kvm_fault_of_vector(unsigned vector);

/* What the guest did at each operation of a program (kvm_prog.c). */
#define XO_KVM_READ_SLOT 64u
struct xo_kvm_opval {
	bool done;                      /* the operation finished */
	uint64_t val[4];                /* XGETBV/RDMSR: EDX:EAX in val[0]; CPUID: EAX..EDX */
	uint8_t read[XO_KVM_READ_SLOT]; /* READ: the register's bytes */
	uint8_t *snap;                  /* DUMP: the whole buffer at that point (owned) */
};
/* xo_kvm_prog_run that also returns the per-operation values (p->nops
 * entries, free with xo_kvm_opvals_free). */
int xo_kvm_run_values(struct xo_kvm *k, const struct xs_prog *p, uint64_t xcr0, uint64_t xss,
		      bool observe, struct xo_kvm_run *r, struct xo_kvm_opval **vals, char *err,
		      size_t errlen);
void xo_kvm_opvals_free(struct xo_kvm_opval *o, size_t n);
/* Append the values as lines "SOURCE = VALUE" (the same text for the
 * guest's and the model's values, so the two can be diffed). */
void xo_kvm_format_values(const struct xs_prog *p, const struct xo_kvm_opval *v, size_t n,
			  char *out, size_t len);

#endif
