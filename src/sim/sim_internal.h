/* Simulator internals shared by the files of src/sim (not part of the API). */
#ifndef XSTATE_SIM_INTERNAL_H
#define XSTATE_SIM_INTERNAL_H

#include "xstate/sim.h"

/* values.c */
struct sim_values *sim_values_new(const struct sim_machine *m, const struct xs_cpu *init_cpu);
void sim_values_free(struct sim_values *v);

/* shadow.c */
struct xs_cpu *sim_shadow_new(struct sim_machine *m);
/* Tag every checked component of t's shadow as (also) written by writer. */
void sim_shadow_note_all(struct sim_machine *m, const struct sim_task *t, unsigned writer);

/* Compare the components mask of cpu's registers with t's shadow; report
 * the first difference (SIM_FAIL, "shadow" or "leak"). */
int sim_check_comps(struct sim_machine *m, unsigned cpu, struct sim_task *t, uint64_t mask);

/* user.c: the register a "touch" of comp uses (first of the component). */
int sim_touch_reg(const struct xs_model *model, int comp, struct xs_reg *r);

/* machine.c */
struct sim_task *sim_task_add(struct sim_machine *m, const char *name, enum sim_task_kind kind,
			      struct sim_process *p, struct xk_task *k, unsigned cpu);
/* Human-readable name of an errno the kernel returned. */
const char *sim_errno_name(int rc);

#endif
