/* The verb registry: every verb set the scenario language knows.
 *
 * To add verbs for a new topic, write src/sim/verbs_<topic>.c defining
 *     const struct sim_verb_set sim_verbs_<topic> = { "<topic>", verbs, n };
 * declare it in include/xstate/sim.h next to sim_verbs_core, and add one
 * line below. Names must be unique per kind (statement, task, expect).
 */
#include "xstate/explore.h"
#include "xstate/sim.h"

const struct sim_verb_set *const sim_verb_registry[] = {
	&sim_verbs_core,
	&sim_verbs_expect_stmt,
	&sim_verbs_expect,
	&sim_verbs_fsgs,        /* verbs_fsgs.c: FS/GS bases (seed 002) */
	&sim_verbs_kvm,         /* verbs_kvm.c: KVM guests (seed 003) */
	&sim_verbs_abi,
	&sim_verbs_special,     /* verbs_special.c: PKRU, CET, UINTR, LBR (seeds 000/001/003) */
	&sim_verbs_invariants,  /* invariants.c (explore.h) */
	NULL,
};
