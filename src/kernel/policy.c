/* Named policies: parse "name=value", print the active set. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "xstate/kernel_policy.h"

static const char *const restore_names[] = { "eager", "lazy" };
static const char *const save_names[] = { "auto", "xsaves", "xsavec", "xsaveopt", "xsave" };

static const struct {
	const char *name;
	const char *values;
} policies[] = {
	{ "restore", "eager|lazy" },
	{ "shortcut", "on|off" },
	{ "save", "auto|xsaves|xsavec|xsaveopt|xsave" },
	{ "mutant", "NAME|none" },
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
};

void xk_policy_default(struct xk_policy *p)
{
	p->restore = XK_RESTORE_EAGER;
	p->shortcut = true;
	p->save = XK_SAVE_AUTO;
	p->mutants = 0;
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
	} else {
		snprintf(err, errlen, "unknown policy '%s' (known: restore, shortcut, save, mutant)",
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
	return used;
}

bool xk_policy_equal(const struct xk_policy *a, const struct xk_policy *b)
{
	return a->restore == b->restore && a->shortcut == b->shortcut && a->save == b->save &&
	       a->mutants == b->mutants;
}
