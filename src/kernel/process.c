/* Tasks and thread groups: creation, fork/clone, exec, exit, release
 * (arch/x86/kernel/fpu/core.c fpu_clone(), fpu_flush_thread(), fpu__drop();
 * arch/x86/kernel/process.c; linux-design.md section 3.6). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "kernel/special_internal.h" /* special-states hooks */
#include "xstate/kernel_abi.h" /* XK_TASK_SIZE_MAX */
#include "xstate/kernel_fsgs.h"
#include "xstate/kernel_kvm.h"

static void list_add_all(struct xk_kernel *k, struct xk_task *t)
{
	t->all_next = k->tasks;
	t->all_prev = NULL;
	if (k->tasks)
		k->tasks->all_prev = t;
	k->tasks = t;
	k->ntasks++;
}

static void list_del_all(struct xk_kernel *k, struct xk_task *t)
{
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		k->tasks = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	k->ntasks--;
}

static void group_add(struct xk_process *p, struct xk_task *t)
{
	t->proc = p;
	t->group_prev = NULL;
	t->group_next = p->threads;
	if (p->threads)
		p->threads->group_prev = t;
	p->threads = t;
	p->nthreads++;
}

static void group_del(struct xk_process *p, struct xk_task *t)
{
	if (t->group_prev)
		t->group_prev->group_next = t->group_next;
	else
		p->threads = t->group_next;
	if (t->group_next)
		t->group_next->group_prev = t->group_prev;
	t->group_next = t->group_prev = NULL;
}

/* A task struct with its default-size buffer; NULL if either allocation
 * fails (nothing is left behind). */
static struct xk_task *task_new(struct xk_kernel *k, const char *name, unsigned flags)
{
	struct xk_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->tid = k->next_tid;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
	t->flags = flags;
	t->on_cpu = -1;
	t->fpu.last_cpu = -1;
	t->fpu.default_fpstate = xk_fpstate_alloc(k, t, k->kcfg.default_size);
	if (!t->fpu.default_fpstate) {
		free(t);
		return NULL;
	}
	k->next_tid++;
	xk_fpstate_reset(k, &t->fpu);
	t->thread.pkru = XK_PKRU_INIT_DEFAULT;
	list_add_all(k, t);
	return t;
}

static struct xk_process *process_new(struct xk_task *leader)
{
	struct xk_process *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = leader->tid;
	p->leader = leader;
	group_add(p, leader);
	return p;
}

static void task_free_buffers(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_fpu *fpu = &t->fpu;

	/* KVM issue: the task's vCPU (and its guest fpstate) goes first. */
	xk_kvm_task_release(k, t);
	if (fpu->fpstate && fpu->fpstate != fpu->default_fpstate)
		xk_fpstate_free(k, fpu->fpstate);
	if (fpu->task_fpstate && fpu->task_fpstate != fpu->default_fpstate &&
	    fpu->task_fpstate != fpu->fpstate)
		xk_fpstate_free(k, fpu->task_fpstate);
	xk_fpstate_free(k, fpu->default_fpstate);
	fpu->fpstate = fpu->task_fpstate = fpu->default_fpstate = NULL;
	xk_special_release(k, t); /* special states: UINTR, LBR, shadow stack records */
}

/* Drop a task struct whose buffers are gone. */
static void task_destroy(struct xk_kernel *k, struct xk_task *t)
{
	list_del_all(k, t);
	free(t);
}

/* Release an exited task (finish_task_switch -> put_task_struct ->
 * arch_release_task_struct): free its buffers. Beyond Linux: clear every
 * CPU's owner pointer that still names it. Linux leaves a stale pointer
 * and relies on a recycled struct fpu having last_cpu = -1; here the
 * memory is really freed, so no dangling pointer may remain. A leader
 * with live threads stays as a zombie (its perm records count). */
void xk_task_release(struct xk_kernel *k, struct xk_task *t)
{
	struct xk_process *p = t->proc;
	unsigned i;

	for (i = 0; i < k->ncpus; i++)
		if (k->cpu[i].owner == &t->fpu)
			xk_set_owner(k, &k->cpu[i], NULL);
	task_free_buffers(k, t);
	t->flags = (t->flags & ~XK_TF_EXITING) | XK_TF_DEAD;
	if (!p) {
		task_destroy(k, t);
		return;
	}
	p->nthreads--;
	if (p->nthreads && p->leader == t)
		return; /* zombie leader */
	group_del(p, t);
	task_destroy(k, t);
	if (!p->nthreads) {
		if (p->leader && p->leader != t) {
			group_del(p, p->leader);
			task_destroy(k, p->leader);
		}
		xk_fsgs_process_free(p); /* FS/GS issue: the mm's LDT */
		free(p);
	}
}

void xk_task_free_all(struct xk_kernel *k)
{
	struct xk_task *t;
	unsigned i;

	/* Zombie leaders stay on their group list, so a process is free once
	 * its list is empty. */
	while ((t = k->tasks) != NULL) {
		struct xk_process *p = t->proc;

		if (!(t->flags & XK_TF_DEAD))
			task_free_buffers(k, t);
		if (p) {
			group_del(p, t);
			if (!p->threads) {
				xk_fsgs_process_free(p); /* FS/GS issue: the mm's LDT */
				free(p);
			}
		}
		task_destroy(k, t);
	}
	for (i = 0; i < k->ncpus; i++) {
		k->cpu[i].owner = NULL;
		k->cpu[i].current = NULL;
	}
}

struct xk_task *xk_spawn(struct xk_kernel *k, const char *name)
{
	struct xk_task *t = task_new(k, name, 0);

	if (!t)
		return NULL;
	if (!process_new(t)) {
		task_free_buffers(k, t);
		task_destroy(k, t);
		return NULL;
	}
	/* The state after execve: init image, load before user mode. */
	xk_fpstate_copy_init(k, -1, t->fpu.fpstate);
	xk_set_need_load(k, -1, t, k->restore_mask, "spawn");
	return t;
}

struct xk_task *xk_kthread_create(struct xk_kernel *k, const char *name)
{
	struct xk_task *t = task_new(k, name, XK_TF_KTHREAD);

	if (!t)
		return NULL;
	/* Minimal fpu_clone(): the init image, never loaded or saved. */
	xk_fpstate_copy_init(k, -1, t->fpu.fpstate);
	return t;
}

struct xk_perm *xk_group_perm(struct xk_task *t)
{
	if (!t || !t->proc || !t->proc->leader)
		return NULL;
	return &t->proc->leader->fpu.perm;
}

struct xk_task *xk_task_by_tid(const struct xk_kernel *k, unsigned tid)
{
	struct xk_task *t;

	for (t = k->tasks; t; t = t->all_next)
		if (t->tid == tid)
			return t;
	return NULL;
}

static struct xk_task *current_user_in_kernel(struct xk_kernel *k, unsigned cpu)
{
	struct xk_cpu *c;

	if (cpu >= k->ncpus)
		return NULL;
	c = &k->cpu[cpu];
	if (c->user_mode || !xk_user_task(c->current) || (c->current->flags & XK_TF_EXITING))
		return NULL;
	return c->current;
}

int xk_clone(struct xk_kernel *k, unsigned cpu, unsigned flags, const char *name,
	     struct xk_task **child)
{
	return xk_clone_tls(k, cpu, flags & ~(unsigned)XK_CLONE_SETTLS, name, 0, child);
}

int xk_clone_tls(struct xk_kernel *k, unsigned cpu, unsigned flags, const char *name,
		 uint64_t tls, struct xk_task **child)
{
	struct xk_task *parent = current_user_in_kernel(k, cpu);
	bool minimal = flags & XK_CLONE_USER_WORKER;
	struct xk_cpu *c;
	struct xk_task *t;
	uint64_t bv;

	if (child)
		*child = NULL;
	if (!parent)
		return -EINVAL;
	/* set_new_tls() fails copy_thread(), and copy_process() undoes all:
	 * refusing first is the same to every observer. */
	if ((flags & XK_CLONE_SETTLS) && tls >= XK_TASK_SIZE_MAX)
		return -EPERM;
	c = &k->cpu[cpu];
	t = task_new(k, name, minimal ? XK_TF_USER_WORKER : 0);
	if (!t)
		return -ENOMEM;
	if (flags & XK_CLONE_THREAD) {
		group_add(parent->proc, t);
	} else if (!process_new(t)) {
		task_free_buffers(k, t);
		task_destroy(k, t);
		return -ENOMEM;
	}
	XK_TRACE(k, .type = XK_EV_CLONE, .cpu = (int)cpu, .task = t, .other = parent,
		 .value = flags);

	/* fpu_clone(): fpstate_reset() was done by task_new(). */
	/* FS/GS issue: current_save_fsgs() before the copy; LDT for a new mm. */
	xk_fsgs_clone(k, c, parent, t, flags);
	t->thread = parent->thread;
	/* copy_thread(): CLONE_SETTLS -> set_new_tls() -> do_arch_prctl_64(
	 * child, ARCH_SET_FS, tls): selector 0, base tls in its thread struct. */
	if (flags & XK_CLONE_SETTLS)
		xk_fsgs_arch_prctl(k, t, XK_ARCH_SET_FS, tls, NULL);
	/* ret_from_fork_asm -> swapgs_restore_regs_and_return_to_usermode:
	 * the child's first return to user mode is an IRET (entry_64.S), so a
	 * null selector 1-3 inherited in FS/GS reads 0 in the child. */
	t->thread.exit_iret = true;
	t->sig = parent->sig;
	if ((flags & XK_CLONE_VM) && !(flags & XK_CLONE_VFORK)) {
		/* copy_process(): a shared mm must not share an altstack. */
		t->sig.sas_ss_sp = t->sig.sas_ss_size = 0;
		t->sig.sas_ss_flags = 2; /* sas_ss_reset(): SS_DISABLE (user-ABI issue) */
	}
	xk_set_need_load(k, (int)cpu, t, minimal ? 0 : k->restore_mask, "clone");
	if (minimal) {
		xk_fpstate_copy_init(k, (int)cpu, t->fpu.fpstate);
	} else {
		/* Load current's registers if they are not live, then XSAVE the
		 * live registers with the child's default RFBM: dynamic state
		 * (tile data) is never inherited, XTILECFG is. */
		if (parent->need_load && !xk_mutant(k, XK_MUT_FORK_SKIPS_LOAD))
			xk_restore_userregs(k, c, parent, "clone: load parent");
		xk_save_fpregs(k, c, &t->fpu, "clone: copy parent registers");
		/* Children never inherit PASID state. */
		bv = xk_fpstate_xstate_bv(t->fpu.fpstate) & ~XS_BIT(XS_C_PASID);
		memcpy(t->fpu.fpstate->regs + XS_HDR_OFFSET, &bv, sizeof(bv));
	}
	/* fpu_inherit_perms(): a new process copies the parent leader's
	 * records (only meaningful with dynamic features). A new thread uses
	 * its group leader's. */
	if (!(flags & XK_CLONE_THREAD) && k->dynamic) {
		struct xk_task *leader = parent->proc->leader;

		t->fpu.perm = leader->fpu.perm;
		t->fpu.guest_perm = leader->fpu.guest_perm;
	}
	/* Special states: PKRU from the parent's register, the thread's own
	 * shadow stack, no UINTR receiver (special.c). */
	xk_special_clone(k, c, parent, t, flags);
	if (child)
		*child = t;
	return 0;
}

int xk_exec(struct xk_kernel *k, unsigned cpu)
{
	struct xk_task *t = current_user_in_kernel(k, cpu);
	struct xk_process *p;
	struct xk_fpu *fpu;

	if (!t)
		return -EINVAL;
	p = t->proc;
	if (p->nthreads > 1)
		return -EBUSY; /* de_thread(): the simulator exits the others first */
	if (p->leader != t) {
		/* de_thread() makes the exec'ing thread the leader; the old
		 * (zombie) leader goes away. */
		struct xk_task *old = p->leader;

		group_del(p, old);
		task_destroy(k, old);
		p->leader = t;
		p->pid = t->tid;
	}
	XK_TRACE(k, .type = XK_EV_EXEC, .cpu = (int)cpu, .task = t);
	fpu = &t->fpu;
	/* fpu_flush_thread(): fpstate_reset() (a grown buffer is freed here;
	 * Linux keeps it until task release -- linux-design.md 12), then
	 * fpu_reset_fpregs(). */
	if (fpu->fpstate != fpu->default_fpstate)
		xk_fpstate_free(k, fpu->fpstate);
	xk_fpstate_reset(k, fpu);
	/* __fpu_invalidate_fpregs_state(); mutant exec-keeps-last-cpu (checker
	 * issue) forgets it. */
	if (!xk_mutant(k, XK_MUT_EXEC_KEEPS_LAST_CPU))
		fpu->last_cpu = -1;
	xk_fpstate_copy_init(k, (int)cpu, fpu->fpstate);
	/* FS/GS issue: TLS, LDT, selectors and bases reset for the new program. */
	xk_fsgs_exec(k, &k->cpu[cpu], t);
	xk_set_need_load(k, (int)cpu, t, k->restore_mask, "exec");
	/* pkru_flush_thread(); the special-states hook also writes it to the
	 * CPU and drops the shadow stack and the UINTR receiver. */
	t->thread.pkru = XK_PKRU_INIT_DEFAULT;
	xk_special_exec(k, &k->cpu[cpu], t);
	return 0;
}

int xk_exit(struct xk_kernel *k, unsigned cpu)
{
	struct xk_task *t;
	struct xk_cpu *c;

	if (cpu >= k->ncpus)
		return -EINVAL;
	c = &k->cpu[cpu];
	t = c->current;
	if (!t || c->user_mode || (t->flags & XK_TF_EXITING) || !c->kernel_fpu_allowed)
		return -EINVAL;
	XK_TRACE(k, .type = XK_EV_EXIT, .cpu = (int)cpu, .task = t);
	xk_special_exit(k, c, t); /* exit_thread(): UINTR receiver, perf LBR, shadow stack */
	/* fpu__drop(): registers holding the live state are disowned. */
	if (!t->need_load && c->owner == &t->fpu)
		xk_set_owner(k, c, NULL);
	t->flags |= XK_TF_EXITING;
	return 0;
}
