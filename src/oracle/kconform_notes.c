/* Probes whose answer on Linux departs from the written specification
 * (../shared/spec/linux-design.md sections 5-6). In each case the host
 * kernel's behaviour is what mainline Linux does, so the simulated kernel
 * does the same ("reality wins") and the note says why Linux behaves so.
 * `xstate conform` prints the note with the probe; the README lists them. */
#include <string.h>

#include "xstate/kconform.h"

struct note {
	const char *probe;
	const char *text;
};

static const struct note notes[] = {
	{ "sigreturn.extended_size_small",
	  "accepted: check_xstate_in_sigframe() falls back to fx_only only if xstate_size > "
	  "extended_size; the spec's 'extended_size < xstate_size + 4' is not in mainline" },
	{ "sigreturn.xstate_size_576",
	  "full restore: mainline never compares sw xstate_size with the size the sw xfeatures "
	  "need; XRSTOR reads the image at the standard offsets whatever xstate_size says" },
	{ "sigreturn.hdr_reserved_575",
	  "accepted: Linux leaves header validation to XRSTOR, and the standard form checks "
	  "header bytes 8..23 only (SDM 13.8.1); bytes 24..63 are ignored" },
	{ "sigreturn.xcomp_bv_compacted",
	  "accepted: the 64-bit path XRSTORs straight from the frame, and XRSTOR with XCOMP_BV "
	  "bit 63 set takes the compacted form, valid here (offsets equal the standard ones)" },
	{ "ptrace.xstate.len+64",
	  "accepted: ptrace_regset() clamps iov_len to the regset size before xstateregs_set() "
	  "sees it, so only shorter buffers get EFAULT" },
	{ "ptrace.get",
	  "NT_X86_SHSTK reads give EINVAL, not ENODEV: without CONFIG_X86_USER_SHADOW_STACK the "
	  "regset does not exist and ptrace_regset() finds no view for the note type" },
};

const char *xo_kprobe_note(const char *probe)
{
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		if (!strcmp(notes[i].probe, probe))
			return notes[i].text;
	return NULL;
}
