/* Trace events: names and a readable one-line rendering. The kernel only
 * fills struct xk_event; formatting happens here, in the callback's time. */
#include <errno.h>
#include <stdio.h>

#include "xstate/kernel.h"
#include "xstate/kernel_abi.h"

static const char *const ev_names[XK_EV_COUNT] = {
	[XK_EV_CPU_SETUP] = "setup",     [XK_EV_SAVE] = "save",
	[XK_EV_RESTORE] = "restore",     [XK_EV_RESTORE_SKIP] = "restore-skip",
	[XK_EV_XFD_WRITE] = "xfd",       [XK_EV_OWNER] = "owner",
	[XK_EV_TIF] = "tif",       [XK_EV_TS] = "cr0.ts",
	[XK_EV_KFPU_BEGIN] = "kfpu-begin", [XK_EV_KFPU_END] = "kfpu-end",
	[XK_EV_SWITCH] = "switch",       [XK_EV_RETURN_USER] = "to-user",
	[XK_EV_FAULT] = "fault",         [XK_EV_CLONE] = "clone",
	[XK_EV_EXEC] = "exec",           [XK_EV_EXIT] = "exit",
	[XK_EV_ALLOC] = "alloc",         [XK_EV_FREE] = "free",
	[XK_EV_INIT_COPY] = "init-copy", [XK_EV_WARN] = "WARN",
	/* user ABI (kernel_abi.h) */
	[XK_EV_PERM] = "perm",           [XK_EV_REALLOC] = "realloc",
	[XK_EV_SIGFRAME] = "sigframe",   [XK_EV_SIGRETURN] = "sigreturn",
	[XK_EV_UABI] = "uabi",           [XK_EV_REGSET] = "regset",
	/* special states (kernel_special.h) */
	[XK_EV_PKRU] = "pkru",           [XK_EV_INDEP] = "indep",
	[XK_EV_UINTR] = "uintr",
	/* FS/GS base and KVM (kernel_fsgs.h, kernel_kvm.h) */
	[XK_EV_FSGS] = "fsgs",           [XK_EV_KVM] = "kvm",
};

static const char *const insn_names[] = {
	[XK_I_NONE] = "",          [XK_I_XSAVE] = "XSAVE",   [XK_I_XSAVEOPT] = "XSAVEOPT",
	[XK_I_XSAVEC] = "XSAVEC",  [XK_I_XSAVES] = "XSAVES", [XK_I_XRSTOR] = "XRSTOR",
	[XK_I_XRSTORS] = "XRSTORS", [XK_I_XSETBV] = "XSETBV", [XK_I_WRMSR] = "WRMSR",
	[XK_I_RDMSR] = "RDMSR",    [XK_I_FNINIT] = "FNINIT", [XK_I_LDMXCSR] = "LDMXCSR",
	[XK_I_CLTS] = "CLTS",      [XK_I_STTS] = "STTS",     [XK_I_MOV_CR4] = "MOV CR4",
	[XK_I_MEMCPY] = "memcpy",  [XK_I_WRPKRU] = "WRPKRU",
};

const char *xk_event_name(enum xk_ev_type t)
{
	return (unsigned)t < XK_EV_COUNT && ev_names[t] ? ev_names[t] : "?";
}

const char *xk_insn_name(enum xk_insn i)
{
	return (unsigned)i < sizeof(insn_names) / sizeof(insn_names[0]) ? insn_names[i] : "?";
}

/* "task 3 'a'" / "nobody" */
static const char *task_str(const struct xk_task *t, char *buf, size_t len, const char *none)
{
	if (!t)
		snprintf(buf, len, "%s", none);
	else
		snprintf(buf, len, "task %u '%s'", t->tid, t->name);
	return buf;
}

static const char *mask_str(uint64_t m, char *buf, size_t len)
{
	if (!m)
		snprintf(buf, len, "0");
	else
		xs_mask_names(m, buf, len);
	return buf;
}

static const char *signame(int s)
{
	switch (s) {
	case 4:
		return "SIGILL";
	case 7:
		return "SIGBUS";
	case 11:
		return "SIGSEGV";
	default:
		return "signal";
	}
}

/* "-EINVAL" for the errors the user ABI returns. */
static const char *errno_str(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "-EINVAL";
	case -EOPNOTSUPP:
		return "-EOPNOTSUPP";
	case -ENOSPC:
		return "-ENOSPC";
	case -EBUSY:
		return "-EBUSY";
	case -EPERM:
		return "-EPERM";
	case -ENOMEM:
		return "-ENOMEM";
	case -EFAULT:
		return "-EFAULT";
	case -ESRCH:
		return "-ESRCH";
	default:
		return "-E?";
	}
}

int xk_event_format(const struct xk_event *e, char *buf, size_t len)
{
	char t1[48], t2[48], m1[200], m2[200], cpu[16], why[96];
	const char *msr;

	if (e->cpu >= 0)
		snprintf(cpu, sizeof(cpu), "cpu%d", e->cpu);
	else
		snprintf(cpu, sizeof(cpu), "-");
	if (e->why)
		snprintf(why, sizeof(why), " (%s)", e->why);
	else
		why[0] = '\0';
	task_str(e->task, t1, sizeof(t1), "nobody");
	task_str(e->other, t2, sizeof(t2), "nobody");

	switch (e->type) {
	case XK_EV_CPU_SETUP:
		if (e->insn == XK_I_XSETBV)
			return snprintf(buf, len, "%-5s setup    XSETBV XCR%u := 0x%llx (%s)%s%s", cpu,
					e->reg, (unsigned long long)e->value,
					mask_str(e->value, m1, sizeof(m1)), e->fault ? " faulted " : "",
					xs_fault_name(e->fault));
		if (e->insn == XK_I_WRMSR) {
			msr = xs_msr_name(e->reg);
			return snprintf(buf, len, "%-5s setup    WRMSR %s := 0x%llx (%s)%s%s", cpu,
					msr ? msr : "?", (unsigned long long)e->value,
					mask_str(e->value, m1, sizeof(m1)), e->fault ? " faulted " : "",
					xs_fault_name(e->fault));
		}
		return snprintf(buf, len, "%-5s setup    %s := %llu%s%s%s", cpu,
				e->why ? e->why : xk_insn_name(e->insn),
				(unsigned long long)e->value, e->fault ? " faulted " : "",
				xs_fault_name(e->fault), "");
	case XK_EV_SAVE:
	case XK_EV_RESTORE:
		return snprintf(buf, len, "%-5s %-8s %-8s rfbm=%s %uB %s %s buffer%s%s%s", cpu,
				e->type == XK_EV_SAVE ? "save" : "restore", xk_insn_name(e->insn),
				mask_str(e->mask, m1, sizeof(m1)), e->bytes,
				e->type == XK_EV_SAVE ? "into" : "from",
				e->task ? t1 : "init_fpstate", why, e->fault ? " FAULTED " : "",
				xs_fault_name(e->fault));
	case XK_EV_RESTORE_SKIP:
		return snprintf(buf, len,
				"%-5s restore  skipped: the registers still hold the state of %s%s",
				cpu, t1, why);
	case XK_EV_XFD_WRITE:
		msr = xs_msr_name(e->reg);
		return snprintf(buf, len, "%-5s xfd      WRMSR %s 0x%llx -> 0x%llx for %s%s%s", cpu,
				msr ? msr : "?", (unsigned long long)e->old,
				(unsigned long long)e->value, t1, e->fault ? " faulted " : "",
				xs_fault_name(e->fault));
	case XK_EV_OWNER:
		return snprintf(buf, len, "%-5s owner    %s -> %s", cpu, t2, t1);
	case XK_EV_TIF:
		return snprintf(buf, len, "%-5s tif      %s TIF_NEED_FPU_LOAD %s -> %s%s", cpu, t1,
				mask_str(e->old, m1, sizeof(m1)), mask_str(e->mask, m2, sizeof(m2)),
				why);
	case XK_EV_TS:
		return snprintf(buf, len, "%-5s cr0.ts   %s (TS=%llu)", cpu, xk_insn_name(e->insn),
				(unsigned long long)e->value);
	case XK_EV_KFPU_BEGIN:
		return snprintf(buf, len, "%-5s kfpu     kernel_fpu_begin(%s%s%s) in %s", cpu,
				(e->value & 1) ? "387" : "", (e->value & 3) == 3 ? "|" : "",
				(e->value & 2) ? "mxcsr" : "",
				e->task ? t1 : "idle");
	case XK_EV_KFPU_END:
		return snprintf(buf, len, "%-5s kfpu     kernel_fpu_end() in %s", cpu,
				e->task ? t1 : "idle");
	case XK_EV_SWITCH:
		return snprintf(buf, len, "%-5s switch   %s -> %s", cpu,
				e->other ? t2 : "idle", e->task ? t1 : "idle");
	case XK_EV_RETURN_USER:
		return snprintf(buf, len, "%-5s to-user  %s", cpu, t1);
	case XK_EV_FAULT:
		if (e->signo)
			return snprintf(buf, len, "%-5s fault    %s in %s -> %s si_code=%d%s", cpu,
					xs_fault_name(e->fault), t1, signame(e->signo), e->si_code,
					why);
		return snprintf(buf, len, "%-5s fault    %s in %s -> %s%s", cpu,
				xs_fault_name(e->fault), t1, e->value == 0 ? "retry" : "oops", why);
	case XK_EV_CLONE:
		return snprintf(buf, len, "%-5s clone    %s -> %s%s", cpu, t2, t1,
				(e->value & 1) ? " (thread)" : "");
	case XK_EV_EXEC:
		return snprintf(buf, len, "%-5s exec     %s", cpu, t1);
	case XK_EV_EXIT:
		return snprintf(buf, len, "%-5s exit     %s", cpu, t1);
	case XK_EV_ALLOC:
		return snprintf(buf, len, "%-5s alloc    %uB xstate buffer for %s%s", cpu, e->bytes,
				e->task ? t1 : "kernel", e->fault ? " FAILED" : "");
	case XK_EV_FREE:
		return snprintf(buf, len, "%-5s free     %uB xstate buffer of %s", cpu, e->bytes,
				e->task ? t1 : "kernel");
	case XK_EV_INIT_COPY:
		return snprintf(buf, len, "%-5s init     copy init_fpstate header+legacy (%uB) into %s",
				cpu, e->bytes, t1);
	case XK_EV_WARN:
		return snprintf(buf, len, "%-5s WARNING  %s%s%s%s%s", cpu, e->why ? e->why : "",
				e->insn ? " " : "", xk_insn_name(e->insn), e->fault ? " " : "",
				xs_fault_name(e->fault));
	case XK_EV_PERM:
		return snprintf(buf, len, "%-5s perm     %s by %s: %s -> %s%s (permitted %s, user size %uB)%s",
				cpu, e->reg ? xk_arch_prctl_name((int)e->reg) : "#NM check", t1,
				mask_str(e->mask, m1, sizeof(m1)), e->si_code ? "error " : "ok",
				e->si_code ? errno_str(e->si_code) : "",
				mask_str(e->value, m2, sizeof(m2)), e->bytes, why);
	case XK_EV_REALLOC:
		return snprintf(buf, len, "%-5s realloc  %s: %lluB -> %uB buffer, xfeatures %s, xfd %s%s",
				cpu, t1, (unsigned long long)e->old, e->bytes,
				mask_str(e->mask, m1, sizeof(m1)), mask_str(e->value, m2, sizeof(m2)),
				why);
	case XK_EV_SIGFRAME:
		return snprintf(buf, len, "%-5s sigframe %s signal %d: frame 0x%llx, xsave area 0x%llx "
				"%uB rfbm=%s%s%s", cpu, t1, e->signo, (unsigned long long)e->old,
				(unsigned long long)e->value, e->bytes,
				mask_str(e->mask, m1, sizeof(m1)), why, e->fault ? " -> FAILED" : "");
	case XK_EV_SIGRETURN:
		return snprintf(buf, len, "%-5s sigreturn %s: frame 0x%llx, fpstate 0x%llx, rfbm=%s%s%s",
				cpu, t1, (unsigned long long)e->old, (unsigned long long)e->value,
				mask_str(e->mask, m1, sizeof(m1)), why,
				e->signo ? " -> SIGSEGV" : "");
	case XK_EV_UABI:
		return snprintf(buf, len, "%-5s uabi     %-8s rfbm=%s %uB user memory 0x%llx of %s%s%s%s",
				cpu, xk_insn_name(e->insn), mask_str(e->mask, m1, sizeof(m1)),
				e->bytes, (unsigned long long)e->value, t1, why,
				e->fault ? " faulted " : "", xs_fault_name(e->fault));
	case XK_EV_REGSET:
		return snprintf(buf, len, "%-5s regset   %s %s of %s: %uB -> %s%s", cpu,
				e->value ? "SET" : "GET", xk_regset_name(e->reg), t1, e->bytes,
				e->si_code ? "error " : "ok", e->si_code ? errno_str(e->si_code) : "");
	/* Special states (kernel_special.h). */
	case XK_EV_PKRU:
		return snprintf(buf, len, "%-5s pkru     WRPKRU 0x%08llx -> 0x%08llx for %s%s%s%s", cpu,
				(unsigned long long)e->old, (unsigned long long)e->value,
				task_str(e->task, t1, sizeof(t1), "init (kernel thread/idle)"), why,
				e->fault ? " faulted " : "", xs_fault_name(e->fault));
	case XK_EV_INDEP:
		if (e->insn == XK_I_WRMSR || e->insn == XK_I_RDMSR) {
			msr = xs_msr_name(e->reg);
			return snprintf(buf, len, "%-5s indep    %s %s := 0x%llx%s%s%s", cpu,
					xk_insn_name(e->insn), msr ? msr : "MSR",
					(unsigned long long)e->value, why, e->fault ? " faulted " : "",
					xs_fault_name(e->fault));
		}
		return snprintf(buf, len, "%-5s indep    %-8s rfbm=%s %uB %s buffer of %s%s%s%s",
				cpu, xk_insn_name(e->insn), mask_str(e->mask, m1, sizeof(m1)), e->bytes,
				e->insn == XK_I_XSAVES ? "into" : "from", t1, why,
				e->fault ? " faulted " : "", xs_fault_name(e->fault));
	case XK_EV_UINTR:
		return snprintf(buf, len, "%-5s uintr    %s: vector %llu, requests 0x%llx%s", cpu, t1,
				(unsigned long long)e->value, (unsigned long long)e->mask, why);
	/* FS/GS base and KVM (kernel_fsgs.h, kernel_kvm.h). */
	case XK_EV_FSGS:
		return snprintf(buf, len, "%-5s fsgs     %s %s selector 0x%llx base 0x%llx%s", cpu,
				e->task ? t1 : "idle", e->reg ? "GS" : "FS",
				(unsigned long long)e->old, (unsigned long long)e->value, why);
	case XK_EV_KVM:
		return snprintf(buf, len, "%-5s kvm      %s: guest XCR0 0x%llx%s", cpu, t1,
				(unsigned long long)e->value, why);
	default:
		return snprintf(buf, len, "%-5s ?", cpu);
	}
}
