/* xstate kernel manager: named policies and seeded bugs ("mutants").
 *
 * A policy is a set of named switches, each "name=value", with Linux's
 * behaviour as the default. Scenario files, `xstate run` and `xstate explore
 * --policy N=V` all go through xk_policy_set(), so the names and the error
 * messages are the same everywhere.
 *
 *   restore=eager|lazy   eager (default): Linux since 4.6/5.2 -- the save
 *                        happens at switch-out, the restore is deferred to
 *                        the return to user mode (TIF_NEED_FPU_LOAD).
 *                        lazy: the pre-2016 CR0.TS scheme -- the switch sets
 *                        CR0.TS and the previous task's values stay in the
 *                        registers; the first FPU instruction of the new
 *                        task raises #NM and the handler restores. This is
 *                        the LazyFP (CVE-2018-3665) precondition.
 *   shortcut=on|off      on (default): skip the restore when the registers
 *                        still hold this task's state on this CPU (owner and
 *                        last_cpu check, fpregs_state_valid()). off: always
 *                        restore.
 *   save=auto|xsaves|xsavec|xsaveopt|xsave
 *                        auto (default): the best the CPU has, XSAVES >
 *                        XSAVEC > XSAVEOPT > XSAVE. Naming one acts like
 *                        Linux's clearcpuid= for the better ones: save=xsavec
 *                        means "no XSAVES" (so no supervisor state and
 *                        XRSTOR), save=xsaveopt and save=xsave use the
 *                        standard format. Booting refuses a choice the CPU
 *                        model does not have.
 *   mutant=NAME|none     add a seeded bug (repeatable); none clears them.
 */
#ifndef XSTATE_KERNEL_POLICY_H
#define XSTATE_KERNEL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xk_restore_mode {
	XK_RESTORE_EAGER = 0, /* Linux: deferred restore on return to user */
	XK_RESTORE_LAZY,      /* pre-2016: CR0.TS + restore in the #NM handler */
};

enum xk_save_choice {
	XK_SAVE_AUTO = 0,
	XK_SAVE_XSAVES,
	XK_SAVE_XSAVEC,
	XK_SAVE_XSAVEOPT,
	XK_SAVE_XSAVE,
};

/* Seeded bugs. Each is consulted at exactly one documented point of the
 * kernel code through xk_mutant(k, XK_MUT_...); the checker issue extends
 * this list (e.g. "stale owner check after kernel FPU use", "forget reload
 * flag after ptrace write"). Keep the numbers stable: they are bit numbers
 * of struct xk_policy.mutants. */
enum xk_mutant {
	/* switch.c, fpregs_state_valid(): the "registers still valid" shortcut
	 * checks only the per-CPU owner and ignores fpu->last_cpu, so a task
	 * that migrates back to a CPU it owned earlier skips a needed restore. */
	XK_MUT_SHORTCUT_IGNORES_LAST_CPU = 0,
	XK_MUT_COUNT
};

struct xk_policy {
	enum xk_restore_mode restore;
	bool shortcut;
	enum xk_save_choice save;
	/* Bit (1 << enum xk_mutant) set: that seeded bug is active. Zero for a
	 * correct kernel. */
	uint64_t mutants;
};

/* Linux defaults: restore=eager shortcut=on save=auto, no mutants. */
void xk_policy_default(struct xk_policy *p);
/* Apply one "name=value". Returns 0, or -1 with a precise message in err
 * ("unknown policy 'foo' (known: restore, shortcut, save, mutant)",
 * "restore: 'x' is not one of eager|lazy"); p is unchanged on error. */
int xk_policy_set(struct xk_policy *p, const char *setting, char *err, size_t errlen);
/* Apply a list of settings separated by ',' or blanks ("restore=lazy,save=xsave").
 * All or nothing: p is unchanged on error. */
int xk_policy_parse(struct xk_policy *p, const char *list, char *err, size_t errlen);
/* "restore=eager shortcut=on save=auto" (+ " mutant=NAME" per active mutant).
 * Returns the length snprintf would have written. */
int xk_policy_format(const struct xk_policy *p, char *buf, size_t len);
bool xk_policy_equal(const struct xk_policy *a, const struct xk_policy *b);

/* The policy names and their value lists, for help texts:
 * name i in [0, xk_policy_count()), e.g. "restore" / "eager|lazy". */
size_t xk_policy_count(void);
const char *xk_policy_name(size_t i);
const char *xk_policy_values(size_t i);

/* Mutant names ("shortcut-ignores-last-cpu") and descriptions. */
const char *xk_mutant_name(enum xk_mutant m);
const char *xk_mutant_desc(enum xk_mutant m);
int xk_mutant_lookup(const char *name); /* -1 if unknown */

#endif
