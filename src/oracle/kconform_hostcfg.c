/* The host kernel's build and boot choices that change probe answers,
 * expressed as kernel policy settings (kernel_policy.h), so that the
 * simulated kernel on the host's CPU model is also configured as the host's
 * kernel is. What a CPU model cannot say:
 *
 *   user-shstk  CONFIG_X86_USER_SHADOW_STACK: whether NT_X86_SHSTK and the
 *               ARCH_SHSTK_* options exist. Read from /boot/config-RELEASE
 *               when present, else from the "user_shstk" flag in
 *               /proc/cpuinfo (X86_FEATURE_USER_SHSTK): a CPU with SHSTK
 *               whose kernel does not show the flag was built without it.
 *   fsgsbase    "nofsgsbase" on the kernel command line: a CPU with FSGSBASE
 *               whose kernel does not set AT_HWCAP2 bit 1.
 */
#include <stdio.h>
#include <string.h>

#include "xstate/kconform.h"
#include "xstate/model.h"

#if defined(__x86_64__) && defined(__linux__)

#include <sys/auxv.h>
#include <sys/utsname.h>

/* 1: "CONFIG_NAME=y", 0: "# CONFIG_NAME is not set", -1: unknown. */
static int boot_config(const char *name)
{
	struct utsname u;
	char path[300], line[512], set[128], unset[128];
	int found = -1;
	FILE *f;

	if (uname(&u))
		return -1;
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	f = fopen(path, "r");
	if (!f)
		return -1;
	snprintf(set, sizeof(set), "%s=y", name);
	snprintf(unset, sizeof(unset), "# %s is not set", name);
	while (found < 0 && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, set, strlen(set)))
			found = 1;
		else if (!strncmp(line, unset, strlen(unset)))
			found = 0;
	}
	fclose(f);
	return found;
}

/* Is flag among the "flags" of the first CPU in /proc/cpuinfo? -1: unknown. */
static int cpuinfo_flag(const char *flag)
{
	char line[8192];
	int found = -1;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5))
			continue;
		found = 0;
		for (p = strtok(strchr(line, ':') ? strchr(line, ':') + 1 : line, " \t\n"); p;
		     p = strtok(NULL, " \t\n"))
			if (!strcmp(p, flag))
				found = 1;
	}
	fclose(f);
	return found;
}

static void append(char *buf, size_t len, const char *setting)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? "," : "", setting);
}

int xo_host_kernel_policy(const struct xs_model *m, char *buf, size_t len)
{
	int shstk = boot_config("CONFIG_X86_USER_SHADOW_STACK");

	buf[0] = '\0';
	if (shstk < 0 && m->feat.shstk)
		shstk = cpuinfo_flag("user_shstk");
	if (shstk == 0)
		append(buf, len, "user-shstk=off");
	if (m->feat.fsgsbase && !(getauxval(AT_HWCAP2) & XO_HWCAP2_FSGSBASE))
		append(buf, len, "fsgsbase=off");
	return 0;
}

#else

int xo_host_kernel_policy(const struct xs_model *m, char *buf, size_t len)
{
	(void)m;
	if (len)
		buf[0] = '\0';
	return -1;
}

#endif
