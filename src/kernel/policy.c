/* Named policies: parse "name=value", print the active set. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "xstate/kernel_policy.h"

static const char *const restore_names[] = { "eager", "lazy" };
static const char *const save_names[] = { "auto", "xsaves", "xsavec", "xsaveopt", "xsave" };
static const char *const cet_s_names[] = { "guest", "task", "independent" };
static const char *const uintr_names[] = { "off", "ordinary", "independent" };
static const char *const fsgs_names[] = { "linux", "lutomirski2016" };

static const struct {
	const char *name;
	const char *values;
} policies[] = {
	{ "restore", "eager|lazy" },
	{ "shortcut", "on|off" },
	{ "save", "auto|xsaves|xsavec|xsaveopt|xsave" },
	{ "mutant", "NAME|none" },
	{ "prealloc", "off|on" },       /* user ABI (kernel_abi.h) */
	{ "harvest", "off|on" },
	{ "sigreturn-fail", "init|keep" },
	{ "cet-s", "guest|task|independent" },        /* special states (kernel_special.h) */
	{ "uintr", "off|ordinary|independent" },
	{ "user-shstk", "on|off" },
	{ "fsgs", "linux|lutomirski2016" },           /* FS/GS base (kernel_fsgs.h) */
	{ "fsgsbase", "on|off" },
};
#define NPOLICIES (sizeof(policies) / sizeof(policies[0]))

static const struct {
	const char *name;
	const char *desc;
} mutants[XK_MUT_COUNT] = {
	[XK_MUT_SHORTCUT_IGNORES_LAST_CPU] = {
		"shortcut-ignores-last-cpu",
		"the registers-valid shortcut checks the per-CPU owner but not fpu->last_cpu",
	},
	/* Special states (kernel_special.h). */
	[XK_MUT_PKRU_LAZY] = {
		"pkru-lazy",
		"PKRU is loaded at the return to user mode, not at the switch: kernel "
		"accesses for the next task use the previous task's PKRU",
	},
	[XK_MUT_UINTR_SHORTCUT] = {
		"uintr-shortcut",
		"uintr=independent skips the UINTR restore when owner/last_cpu match, though "
		"the switch-out XSAVES cleared UINV: user interrupts are lost",
	},
	[XK_MUT_SHSTK_SET_UNCHECKED] = {
		"shstk-set-unchecked",
		"NT_X86_SHSTK set does not check the SSP (< TASK_SIZE_MAX, 8-byte aligned): "
		"the XRSTORS before user mode #GPs",
	},
	/* FS/GS base and KVM (kernel_fsgs.h, kernel_kvm.h). */
	[XK_MUT_FSGS_PTRACE_SELECTOR] = {
		"fsgs-ptrace-selector",
		"a ptrace write of fs_base/gs_base also zeroes the selector (pre-5.9): with "
		"FSGSBASE a nonzero selector is lost",
	},
	[XK_MUT_KVM_XCR0_ORDER] = {
		"kvm-xcr0-order",
		"the VM exit restores the host XCR0/XSS only after kvm_put_guest_fpu: host "
		"XSAVE/XRSTOR run with the guest's XCR0",
	},
	[XK_MUT_GUEST_STATE_LEAK] = {
		"guest-state-leak",
		"kvm_put_guest_fpu does not restore the host fpstate: the guest's registers "
		"reach the vCPU task's user mode",
	},
	/* Checker issue (explore.h). */
	[XK_MUT_LAZY_FP] = {
		"lazy-fp",
		"lazy CR0.TS switching: the previous task's registers stay live behind the "
		"#NM trap (the LazyFP precondition, CVE-2018-3665)",
	},
	[XK_MUT_KFPU_KEEPS_OWNER] = {
		"kfpu-keeps-owner",
		"kernel_fpu_begin does not invalidate the register owner: a task skips the "
		"restore after kernel SIMD code overwrote its registers",
	},
	[XK_MUT_KFPU_KTHREAD_KEEPS_OWNER] = {
		"kfpu-kthread-keeps-owner",
		"kernel_fpu_begin in a kernel thread or idle does not invalidate the owner: "
		"the previous user task skips the restore after a kernel thread",
	},
	[XK_MUT_EXEC_KEEPS_LAST_CPU] = {
		"exec-keeps-last-cpu",
		"exec does not invalidate last_cpu: the new program skips the restore of the "
		"init state and sees the old program's registers",
	},
	[XK_MUT_FORK_SKIPS_LOAD] = {
		"fork-skips-load",
		"fork copies the live registers without loading the parent's state first: "
		"the child inherits kernel or foreign values",
	},
	/* User ABI, added by the checker issue. */
	[XK_MUT_SIGRETURN_HEADER_UNCHECKED] = {
		"sigreturn-header-unchecked",
		"sigreturn copies the frame's reserved header bytes into the kernel buffer: a "
		"later XRSTORS #GPs (ex_handler_fprestore)",
	},
	[XK_MUT_SIGRETURN_SUPERVISOR_BITS] = {
		"sigreturn-supervisor-bits",
		"sigreturn sets supervisor XSTATE_BV bits the frame's software xfeatures name",
	},
	[XK_MUT_UABI_DROPS_SUPERVISOR] = {
		"uabi-drops-supervisor",
		"a ptrace/KVM image's XSTATE_BV replaces the kernel's supervisor bits: the "
		"tracee's CET state is wiped",
	},
	[XK_MUT_PTRACE_MXCSR_UNCHECKED] = {
		"ptrace-mxcsr-unchecked",
		"ptrace writes are not checked for reserved MXCSR bits: the XRSTORS before the "
		"tracee's user mode #GPs",
	},
	[XK_MUT_PTRACE_NO_RELOAD] = {
		"ptrace-no-reload",
		"a ptrace write does not invalidate the tracee's registers: it resumes with the "
		"old values",
	},
	[XK_MUT_AMX_REALLOC_NO_COPY] = {
		"amx-realloc-no-copy",
		"AMX first use does not carry the old state into the new buffer: the registers "
		"are reloaded from the empty one",
	},
	[XK_MUT_HARVEST_PREALLOC] = {
		"harvest-prealloc",
		"memory pressure harvests a pre-allocated AMX buffer (seed 004's guarantee)",
	},
	[XK_MUT_PTRACE_PARTIAL_WRITE] = {
		"ptrace-partial-write",
		"a ptrace write is validated after the copy: a refused one (-EINVAL) leaves part "
		"of the image in the tracee's buffer",
	},
};

void xk_policy_default(struct xk_policy *p)
{
	p->restore = XK_RESTORE_EAGER;
	p->shortcut = true;
	p->save = XK_SAVE_AUTO;
	p->mutants = 0;
	p->xfd_prealloc = false;
	p->xfd_harvest = false;
	p->sigreturn_keep = false;
	p->cet_s = XK_CET_S_GUEST;
	p->uintr = XK_UINTR_OFF;
	p->no_user_shstk = false;
	p->fsgs = XK_FSGS_LINUX;
	p->nofsgsbase = false;
}

size_t xk_policy_count(void)
{
	return NPOLICIES;
}

const char *xk_policy_name(size_t i)
{
	return i < NPOLICIES ? policies[i].name : NULL;
}

const char *xk_policy_values(size_t i)
{
	return i < NPOLICIES ? policies[i].values : NULL;
}

const char *xk_mutant_name(enum xk_mutant m)
{
	return (unsigned)m < XK_MUT_COUNT ? mutants[m].name : NULL;
}

const char *xk_mutant_desc(enum xk_mutant m)
{
	return (unsigned)m < XK_MUT_COUNT ? mutants[m].desc : NULL;
}

int xk_mutant_lookup(const char *name)
{
	for (unsigned i = 0; i < XK_MUT_COUNT; i++)
		if (mutants[i].name && strcasecmp(name, mutants[i].name) == 0)
			return (int)i;
	return -1;
}

static int lookup(const char *const *names, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], v) == 0)
			return (int)i;
	return -1;
}

static int bad_value(char *err, size_t errlen, const char *name, const char *v, const char *vals)
{
	snprintf(err, errlen, "%s: '%s' is not one of %s", name, v, vals);
	return -1;
}

/* "on"/"off" (or the two given words) into *b; -1 if neither. */
static int set_bool(bool *b, const char *v, const char *on, const char *off)
{
	if (strcasecmp(v, on) == 0)
		*b = true;
	else if (strcasecmp(v, off) == 0)
		*b = false;
	else
		return -1;
	return 0;
}

int xk_policy_set(struct xk_policy *p, const char *setting, char *err, size_t errlen)
{
	char name[32];
	const char *eq = setting ? strchr(setting, '=') : NULL;
	const char *v;
	size_t n;
	int i;

	if (!setting || !eq) {
		snprintf(err, errlen, "policy '%s' is not of the form name=value",
			 setting ? setting : "");
		return -1;
	}
	n = (size_t)(eq - setting);
	v = eq + 1;
	if (n == 0 || n >= sizeof(name)) {
		snprintf(err, errlen, "policy '%s': bad name", setting);
		return -1;
	}
	memcpy(name, setting, n);
	name[n] = '\0';
	if (strcasecmp(name, "restore") == 0) {
		if ((i = lookup(restore_names, 2, v)) < 0)
			return bad_value(err, errlen, "restore", v, policies[0].values);
		p->restore = (enum xk_restore_mode)i;
	} else if (strcasecmp(name, "shortcut") == 0) {
		if (strcasecmp(v, "on") == 0)
			p->shortcut = true;
		else if (strcasecmp(v, "off") == 0)
			p->shortcut = false;
		else
			return bad_value(err, errlen, "shortcut", v, policies[1].values);
	} else if (strcasecmp(name, "save") == 0) {
		if ((i = lookup(save_names, 5, v)) < 0)
			return bad_value(err, errlen, "save", v, policies[2].values);
		p->save = (enum xk_save_choice)i;
	} else if (strcasecmp(name, "mutant") == 0) {
		if (strcasecmp(v, "none") == 0) {
			p->mutants = 0;
		} else if ((i = xk_mutant_lookup(v)) >= 0) {
			p->mutants |= 1ULL << i;
		} else {
			size_t used = (size_t)snprintf(err, errlen, "mutant: unknown '%s' (known:", v);
			for (unsigned m = 0; m < XK_MUT_COUNT && used < errlen; m++)
				used += (size_t)snprintf(err + used, errlen - used, " %s",
							 mutants[m].name);
			if (used < errlen)
				snprintf(err + used, errlen - used, ", none)");
			return -1;
		}
	} else if (strcasecmp(name, "prealloc") == 0) {
		if (set_bool(&p->xfd_prealloc, v, "on", "off"))
			return bad_value(err, errlen, "prealloc", v, "off|on");
	} else if (strcasecmp(name, "harvest") == 0) {
		if (set_bool(&p->xfd_harvest, v, "on", "off"))
			return bad_value(err, errlen, "harvest", v, "off|on");
	} else if (strcasecmp(name, "sigreturn-fail") == 0) {
		if (set_bool(&p->sigreturn_keep, v, "keep", "init"))
			return bad_value(err, errlen, "sigreturn-fail", v, "init|keep");
	} else if (strcasecmp(name, "cet-s") == 0) {
		/* Special states (kernel_special.h). */
		if ((i = lookup(cet_s_names, 3, v)) < 0)
			return bad_value(err, errlen, "cet-s", v, "guest|task|independent");
		p->cet_s = (enum xk_cet_s_mode)i;
	} else if (strcasecmp(name, "uintr") == 0) {
		if ((i = lookup(uintr_names, 3, v)) < 0)
			return bad_value(err, errlen, "uintr", v, "off|ordinary|independent");
		p->uintr = (enum xk_uintr_mode)i;
	} else if (strcasecmp(name, "user-shstk") == 0) {
		if (set_bool(&p->no_user_shstk, v, "off", "on"))
			return bad_value(err, errlen, "user-shstk", v, "on|off");
	} else if (strcasecmp(name, "fsgs") == 0) {
		/* FS/GS base (kernel_fsgs.h). */
		if ((i = lookup(fsgs_names, 2, v)) < 0)
			return bad_value(err, errlen, "fsgs", v, "linux|lutomirski2016");
		p->fsgs = (enum xk_fsgs_mode)i;
	} else if (strcasecmp(name, "fsgsbase") == 0) {
		if (set_bool(&p->nofsgsbase, v, "off", "on"))
			return bad_value(err, errlen, "fsgsbase", v, "on|off");
	} else {
		snprintf(err, errlen, "unknown policy '%s' (known: restore, shortcut, save, mutant, "
			 "prealloc, harvest, sigreturn-fail, cet-s, uintr, user-shstk, fsgs, fsgsbase)",
			 name);
		return -1;
	}
	return 0;
}

int xk_policy_parse(struct xk_policy *p, const char *list, char *err, size_t errlen)
{
	struct xk_policy tmp = *p;
	char item[128];
	const char *s = list ? list : "";

	while (*s) {
		size_t n = 0;

		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		while (s[n] && s[n] != ',' && !isspace((unsigned char)s[n]))
			n++;
		if (n >= sizeof(item)) {
			snprintf(err, errlen, "policy setting too long: '%.40s...'", s);
			return -1;
		}
		memcpy(item, s, n);
		item[n] = '\0';
		if (xk_policy_set(&tmp, item, err, errlen))
			return -1;
		s += n;
	}
	*p = tmp;
	return 0;
}

int xk_policy_format(const struct xk_policy *p, char *buf, size_t len)
{
	int used, r;
	unsigned m;

	used = snprintf(buf, len, "restore=%s shortcut=%s save=%s",
			(unsigned)p->restore < 2 ? restore_names[p->restore] : "?",
			p->shortcut ? "on" : "off",
			(unsigned)p->save < 5 ? save_names[p->save] : "?");
	for (m = 0; m < XK_MUT_COUNT; m++) {
		if (!(p->mutants & (1ULL << m)))
			continue;
		if (buf && (size_t)used < len)
			r = snprintf(buf + used, len - (size_t)used, " mutant=%s", mutants[m].name);
		else
			r = snprintf(NULL, 0, " mutant=%s", mutants[m].name);
		used += r;
	}
	/* User-ABI switches: only when not Linux's default. */
	{
		const char *extra[3] = { p->xfd_prealloc ? " prealloc=on" : "",
					 p->xfd_harvest ? " harvest=on" : "",
					 p->sigreturn_keep ? " sigreturn-fail=keep" : "" };

		for (unsigned e = 0; e < 3; e++) {
			if (buf && (size_t)used < len)
				r = snprintf(buf + used, len - (size_t)used, "%s", extra[e]);
			else
				r = (int)strlen(extra[e]);
			used += r;
		}
	}
	/* Special states: only when not Linux's default. */
	if (p->cet_s != XK_CET_S_GUEST) {
		const char *v = (unsigned)p->cet_s < 3 ? cet_s_names[p->cet_s] : "?";

		if (buf && (size_t)used < len)
			r = snprintf(buf + used, len - (size_t)used, " cet-s=%s", v);
		else
			r = snprintf(NULL, 0, " cet-s=%s", v);
		used += r;
	}
	if (p->uintr != XK_UINTR_OFF) {
		const char *v = (unsigned)p->uintr < 3 ? uintr_names[p->uintr] : "?";

		if (buf && (size_t)used < len)
			r = snprintf(buf + used, len - (size_t)used, " uintr=%s", v);
		else
			r = snprintf(NULL, 0, " uintr=%s", v);
		used += r;
	}
	if (p->no_user_shstk) {
		if (buf && (size_t)used < len)
			r = snprintf(buf + used, len - (size_t)used, " user-shstk=off");
		else
			r = (int)strlen(" user-shstk=off");
		used += r;
	}
	/* FS/GS base: only when not Linux's default. */
	{
		const char *extra[2] = { p->fsgs == XK_FSGS_LUTO2016 ? " fsgs=lutomirski2016" : "",
					 p->nofsgsbase ? " fsgsbase=off" : "" };

		for (unsigned e = 0; e < 2; e++) {
			if (buf && (size_t)used < len)
				r = snprintf(buf + used, len - (size_t)used, "%s", extra[e]);
			else
				r = (int)strlen(extra[e]);
			used += r;
		}
	}
	return used;
}

bool xk_policy_equal(const struct xk_policy *a, const struct xk_policy *b)
{
	return a->restore == b->restore && a->shortcut == b->shortcut && a->save == b->save &&
	       a->mutants == b->mutants && a->xfd_prealloc == b->xfd_prealloc &&
	       a->cet_s == b->cet_s && a->uintr == b->uintr &&
	       a->no_user_shstk == b->no_user_shstk && a->fsgs == b->fsgs &&
	       a->nofsgsbase == b->nofsgsbase &&
	       a->xfd_harvest == b->xfd_harvest && a->sigreturn_keep == b->sigreturn_keep;
}
