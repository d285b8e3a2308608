/* PKRU: user state that affects the kernel (seed 000: "It's actually user
 * state that affect kernel mode").
 *
 * The CPU checks PKRU on every access to a user page, the kernel's own
 * copy_to_user() included. So the value must be the next task's as soon
 * as the kernel runs on its behalf -- right after the context switch, not
 * at the return to user mode where the rest of the FPU state is loaded.
 * Linux (5.14+) therefore keeps PKRU out of the task restore
 * (XFEATURE_MASK_USER_RESTORE) and switches it eagerly through
 * thread.pkru (arch/x86/kernel/process_64.c x86_pkru_load(),
 * arch/x86/include/asm/pkru.h). Signal frames and ptrace carry it
 * explicitly (sigframe.c, regset.c).
 *
 * Mutant pkru-lazy moves the WRPKRU to the return to user mode, the way a
 * "defer everything" FPU design would: kernel accesses between the switch
 * and that return check the previous task's keys.
 */
#include <errno.h>

#include "kernel/special_internal.h"

bool xk_pkru_enabled(const struct xk_kernel *k)
{
	/* X86_FEATURE_OSPKE: the kernel set CR4.PKE (config.c) because the CPU
	 * has PKU, and PKRU is enabled -- as the one "user state that affects
	 * the kernel" of the boot taxonomy, which is what makes it eager. */
	return k->model->feat.pku && (k->tax.user_affects_kernel & XS_BIT(XS_C_PKRU));
}

uint32_t xk_pkru_init(const struct xk_kernel *k)
{
	(void)k;
	return XK_PKRU_INIT_DEFAULT; /* init_pkru_value: only key 0 accessible */
}

/* rdpkru(). */
uint32_t xk_pkru_read(struct xk_kernel *k, struct xk_cpu *c)
{
	uint32_t v = 0;

	if (xk_pkru_enabled(k) && xs_rdpkru(c->hw, &v) != XS_OK)
		return 0;
	return v;
}

/* write_pkru(): WRPKRU only if the value differs (WRPKRU is the
 * expensive one). */
void xk_pkru_write(struct xk_kernel *k, struct xk_cpu *c, uint32_t pkru,
		   const struct xk_task *whose, const char *why)
{
	uint32_t old;
	enum xs_fault f;

	if (!xk_pkru_enabled(k))
		return;
	old = xk_pkru_read(k, c);
	if (old == pkru)
		return;
	f = xs_wrpkru(c->hw, pkru);
	k->stats.pkru_writes++;
	XK_TRACE(k, .type = XK_EV_PKRU, .cpu = (int)c->id, .insn = XK_I_WRPKRU, .fault = f,
		 .task = whose, .old = old, .value = pkru, .why = why);
	if (f)
		xk_warn(k, (int)c->id, "WRPKRU faulted", XK_I_WRPKRU, f);
}

/* x86_pkru_load(prev, next) in __switch_to(): stash prev's value (for
 * current the register is the truth; thread.pkru is valid only while
 * scheduled out), load next's -- a kernel thread's and the idle task's
 * is init_pkru. */
void xk_pkru_switch(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *prev,
		    struct xk_task *next)
{
	if (!xk_pkru_enabled(k))
		return;
	if (prev && !prev->thread.pkru_deferred)
		prev->thread.pkru = xk_pkru_read(k, c);
	/* Mutant: PKRU joins the deferred state. Nothing is written now: the
	 * kernel keeps running -- for next -- with prev's keys, and a
	 * kernel thread never gets its own at all. */
	if (xk_mutant(k, XK_MUT_PKRU_LAZY)) {
		if (xk_user_task(next))
			next->thread.pkru_deferred = true;
		return;
	}
	xk_pkru_write(k, c, next ? next->thread.pkru : xk_pkru_init(k), next, "switch");
}

/* Only under the mutant: the deferred WRPKRU, on the way to user mode. */
void xk_pkru_return_to_user(struct xk_kernel *k, struct xk_cpu *c, struct xk_task *t)
{
	if (!t->thread.pkru_deferred)
		return;
	t->thread.pkru_deferred = false;
	xk_pkru_write(k, c, t->thread.pkru, t, "return to user (deferred)");
}

uint32_t xk_pkru_get(struct xk_kernel *k, const struct xk_task *t)
{
	if (!xk_pkru_enabled(k) || !t)
		return 0;
	if (t->on_cpu >= 0 && !t->thread.pkru_deferred)
		return xk_pkru_read(k, &k->cpu[t->on_cpu]);
	return t->thread.pkru;
}

int xk_pkru_uaccess(struct xk_kernel *k, unsigned cpu, unsigned pkey, bool write)
{
	struct xk_cpu *c;
	uint32_t pkru;

	if (cpu >= k->ncpus || pkey > 15)
		return -EINVAL;
	c = &k->cpu[cpu];
	if (!xk_user_task(c->current) || c->user_mode)
		return -EINVAL;
	if (!xk_pkru_enabled(k))
		return 0;
	/* What the MMU checks: the register, whoever wrote it. AD (bit 2k)
	 * forbids any access, WD (bit 2k+1) writes, also at CPL 0 with
	 * CR0.WP = 1 (SDM Vol. 3 4.6.2). */
	pkru = xk_pkru_read(k, c);
	if ((pkru >> (2 * pkey)) & 1)
		return -EFAULT;
	if (write && ((pkru >> (2 * pkey + 1)) & 1))
		return -EFAULT;
	return 0;
}
