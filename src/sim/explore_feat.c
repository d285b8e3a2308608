/* Feature operations of the explorer (XE_STMT): the user-ABI (AMX
 * permission and first use, signals with honest and tampering handlers,
 * sigreturn, ptrace, allocation failures, memory pressure), special-state
 * (CET shadow stacks, user interrupts, LBR), FS/GS base and KVM statements
 * of the scenario language.
 *
 * Each is a line of scenario text made from a template of the table below
 * and parsed by the verb's own parse function, in a parser whose symbol
 * table holds just the tasks the line names, then executed by the verb's
 * own exec function with those tasks bound: exactly what `xstate run` does
 * with the same line, so the printed counterexample is what ran.
 *
 * Whether a feature statement is possible depends on verb state the
 * explorer cannot see (a handler to return from, a ptrace buffer to edit,
 * a call the kernel refuses). Such a statement reports SIM_ERROR without
 * changing the machine; the explorer checks that nothing changed (a
 * fingerprint of the kernel's bookkeeping and counters) and drops it from
 * the program. A SIM_ERROR after a change would make the program diverge
 * from its text: that is reported as an internal error.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/explore_internal.h"
#include "xstate/kernel_kvm.h"
#include "xstate/kernel_special.h"

enum who {
	W_NONE = 0, /* no task */
	W_RUN,      /* a user task running user code: a system call then changes
		     * nothing but the call's own effect (no restore on the way
		     * in or out), so a refused call is a no-op */
	W_PTRACE,   /* a live user task whose CPU (if any) is not busy: the tracee */
	W_STOPPED,  /* a live user task in a ptrace stop: not running, and not
		     * inside KVM_RUN (a stop needs the way back to user mode) */
};

enum need {
	N_ANY = 0,
	N_AMX,      /* a dynamic feature (XTILEDATA) enabled */
	N_PREALLOC, /* policy prealloc=on */
	N_HARVEST,  /* policy harvest=on */
	N_SHSTK,    /* user shadow stacks */
	N_UINTR,    /* policy uintr=ordinary|independent */
	N_LBR,      /* arch LBR enabled */
};

enum aux {
	A_NONE = 0,
	A_REG,      /* a register name (frame and ptrace fields) */
	A_XBIT,     /* an interesting XSTATE_BV bit */
	A_HDR,      /* a header byte 8..63 */
	A_TMM,      /* tile 0..7 */
	A_SMALL,    /* 1..4 */
	A_GUEST,    /* vCPU 1..2 */
	A_GREG,     /* vCPU 1..2 (low bits) and a register (aux >> 2) */
};

/* Calls whose verb expects success unless told "fails ERRNO" and stops
 * half way (in the kernel) when it is wrong: the explorer predicts the
 * kernel's answer from its records and says it, so the statement is
 * always possible (and the kernel's answer is checked). */
enum pred {
	P_NONE = 0,
	P_SHSTK,     /* ARCH_SHSTK_ENABLE/DISABLE(SHSTK) */
	P_WRSS,      /* ARCH_SHSTK_ENABLE/DISABLE(WRSS) */
	P_UREG,      /* uintr_register_handler */
	P_UUNREG,    /* uintr_unregister_handler */
};

/* KVM statements name a vCPU gN; whether it can run, exit, enter, stop or
 * take an ioctl is in the kernel's struct xk_vcpu. */
enum kvm_state {
	K_ANY = 0,
	K_NEW,       /* vcpu gN in T: gN not created yet, T has no vCPU */
	K_IDLE,      /* gN exists, outside KVM_RUN (ioctls, run) */
	K_LOADED,    /* inside KVM_RUN, VM exited (enter, stop) */
	K_GUEST,     /* in the guest (guest code, exit) */
	K_RUN,       /* K_IDLE, and the VMM thread runs user code (KVM_RUN) */
};

struct tmpl {
	const char *fmt;     /* %T subject, %U second task, %A aux, %V byte, %W 32-bit value,
			      * %G the vCPU g1/g2 */
	uint8_t who, need, aux;
	bool two;            /* %U: a second live user task */
	uint16_t weight;
	uint8_t family;      /* bit of xe_config.feats */
	uint8_t pred;        /* enum pred */
	uint8_t kvm;         /* enum kvm_state */
};

enum fam { F_AMX = 0, F_SIGNAL, F_PTRACE, F_ALLOC, F_CET, F_UINTR, F_LBR, F_FSGS, F_KVM, F_COUNT };

static const char *const fam_names[F_COUNT] = {
	[F_AMX] = "amx", [F_SIGNAL] = "signal", [F_PTRACE] = "ptrace", [F_ALLOC] = "alloc",
	[F_CET] = "cet", [F_UINTR] = "uintr", [F_LBR] = "lbr", [F_FSGS] = "fsgs", [F_KVM] = "kvm",
};

bool xe_fsgs_enabled(const struct xe_config *c)
{
	return (c->feats >> F_FSGS) & 1;
}

int xe_feats_parse(const char *list, uint64_t *mask, char *err, size_t errlen)
{
	char word[32];
	uint64_t m = 0;

	while (*list) {
		size_t n = strcspn(list, ",| ");
		unsigned f;

		if (!n) {
			list++;
			continue;
		}
		bool minus;
		const char *w = word;

		snprintf(word, sizeof(word), "%.*s", (int)n, list);
		list += n;
		minus = word[0] == '-';
		w += minus;
		if (!strcmp(w, "all")) {
			m = minus ? 0 : ~0ULL;
			continue;
		}
		if (!strcmp(w, "none") || !strcmp(w, "core"))
			continue;
		for (f = 0; f < F_COUNT && strcmp(w, fam_names[f]); f++)
			;
		if (f == F_COUNT) {
			size_t pos = (size_t)snprintf(err, errlen, "unknown feature family '%s' (known: "
						      "all none core", word);
			for (f = 0; f < F_COUNT && pos < errlen; f++)
				pos += (size_t)snprintf(err + pos, errlen - pos, " %s", fam_names[f]);
			if (pos < errlen)
				snprintf(err + pos, errlen - pos, ")");
			return -1;
		}
		if (minus)
			m &= ~(1ULL << f);
		else
			m |= 1ULL << f;
	}
	*mask = m;
	return 0;
}

/* A valid palette-1 tile configuration: 8 tiles of 16 rows x 64 bytes. */
#define TILECFG_VALID                                                         \
	"bytes:01000000000000000000000000000000400040004000400040004000400040000000" \
	"000000000000000000000000000010101010101010100000000000000000"

static const struct tmpl tmpls[] = {
	/* AMX: permission, tile configuration, first use (#NM, allocation). */
	{ "%T arch_prctl REQ_XCOMP_PERM", W_RUN, N_AMX, A_NONE, false, 25, F_AMX, P_NONE, K_ANY },
	{ "%T write tilecfg = " TILECFG_VALID, W_RUN, N_AMX, A_NONE, false, 15, F_AMX, P_NONE, K_ANY },
	{ "%T write tmm%A = seq:%V", W_RUN, N_AMX, A_TMM, false, 30, F_AMX, P_NONE, K_ANY },
	{ "%T read tmm%A", W_RUN, N_AMX, A_TMM, false, 8, F_AMX, P_NONE, K_ANY },
	{ "%T arch_prctl REQ_XCOMP_GUEST_PERM", W_RUN, N_AMX, A_NONE, false, 3, F_AMX, P_NONE, K_ANY },
	{ "%T arch_prctl REQ_XCOMP_PREALLOC", W_RUN, N_PREALLOC, A_NONE, false, 15, F_AMX, P_NONE, K_ANY },
	{ "memory-pressure", W_NONE, N_HARVEST, A_NONE, false, 15, F_AMX, P_NONE, K_ANY },
	/* A window in which xstate allocations fail (first use, pre-allocation,
	 * UINTR's UPID); no task is created inside it (a failed creation is
	 * not a scenario step). */
	{ "alloc-fail always", W_NONE, N_AMX, A_NONE, false, 3, F_ALLOC, P_NONE, K_ANY },
	{ "alloc-fail off", W_NONE, N_AMX, A_NONE, false, 0, F_ALLOC, P_NONE, K_ANY },
	/* Signals: handlers, delivery, honest and tampering handlers, return. */
	{ "%T sigaction SIGUSR1", W_RUN, N_ANY, A_NONE, false, 8, F_SIGNAL, P_NONE, K_ANY },
	{ "%T sigaction SIGUSR1 onstack", W_RUN, N_ANY, A_NONE, false, 3, F_SIGNAL, P_NONE, K_ANY },
	{ "%T sigaction SIGSEGV", W_RUN, N_ANY, A_NONE, false, 3, F_SIGNAL, P_NONE, K_ANY },
	{ "%T sigaction SIGILL", W_RUN, N_ANY, A_NONE, false, 3, F_SIGNAL, P_NONE, K_ANY },
	{ "%T signal SIGUSR1", W_RUN, N_ANY, A_NONE, false, 15, F_SIGNAL, P_NONE, K_ANY },
	{ "%T signal SIGUSR1 onstack", W_RUN, N_ANY, A_NONE, false, 4, F_SIGNAL, P_NONE, K_ANY },
	{ "%T sigaltstack 65536", W_RUN, N_ANY, A_NONE, false, 4, F_SIGNAL, P_NONE, K_ANY },
	{ "%T sigaltstack 8192", W_RUN, N_ANY, A_NONE, false, 2, F_SIGNAL, P_NONE, K_ANY },
	{ "%T sigaltstack off", W_RUN, N_ANY, A_NONE, false, 2, F_SIGNAL, P_NONE, K_ANY },
	{ "%T sigreturn", W_RUN, N_ANY, A_NONE, false, 30, F_SIGNAL, P_NONE, K_ANY },
	{ "%T frame set %A = seq:%V", W_RUN, N_ANY, A_REG, false, 15, F_SIGNAL, P_NONE, K_ANY },
	{ "%T frame flip xstate_bv %A", W_RUN, N_ANY, A_XBIT, false, 6, F_SIGNAL, P_NONE, K_ANY },
	{ "%T frame flip sw_xfeatures %A", W_RUN, N_ANY, A_XBIT, false, 6, F_SIGNAL, P_NONE, K_ANY },
	{ "%T frame flip xcomp_bv 63", W_RUN, N_ANY, A_NONE, false, 2, F_SIGNAL, P_NONE, K_ANY },
	{ "%T frame flip hdr.%A 0", W_RUN, N_ANY, A_HDR, false, 3, F_SIGNAL, P_NONE, K_ANY },
	{ "%T frame set mxcsr = 0x%W", W_RUN, N_ANY, A_NONE, false, 3, F_SIGNAL, P_NONE, K_ANY },
	{ "%T frame flip magic1 0", W_RUN, N_ANY, A_NONE, false, 2, F_SIGNAL, P_NONE, K_ANY },
	/* ptrace regsets, honest and tampering tracers. */
	{ "ptrace %T get xstate", W_PTRACE, N_ANY, A_NONE, false, 10, F_PTRACE, P_NONE, K_ANY },
	{ "ptrace %T get fpregs", W_PTRACE, N_ANY, A_NONE, false, 3, F_PTRACE, P_NONE, K_ANY },
	{ "ptrace %T set xstate", W_STOPPED, N_ANY, A_NONE, false, 10, F_PTRACE, P_NONE, K_ANY },
	{ "ptrace %T set fpregs", W_STOPPED, N_ANY, A_NONE, false, 4, F_PTRACE, P_NONE, K_ANY },
	{ "ptrace %T poke %A = seq:%V", W_PTRACE, N_ANY, A_REG, false, 10, F_PTRACE, P_NONE, K_ANY },
	{ "ptrace %T flip xstate_bv %A", W_PTRACE, N_ANY, A_XBIT, false, 4, F_PTRACE, P_NONE, K_ANY },
	{ "ptrace %T poke mxcsr = 0x%W", W_PTRACE, N_ANY, A_NONE, false, 3, F_PTRACE, P_NONE, K_ANY },
	{ "ptrace %T flip hdr.%A 0", W_PTRACE, N_ANY, A_HDR, false, 2, F_PTRACE, P_NONE, K_ANY },
	/* CET user shadow stacks. */
	{ "%T shstk enable", W_RUN, N_SHSTK, A_NONE, false, 8, F_CET, P_SHSTK, K_ANY },
	{ "%T shstk disable", W_RUN, N_SHSTK, A_NONE, false, 2, F_CET, P_SHSTK, K_ANY },
	{ "%T shstk wrss", W_RUN, N_SHSTK, A_NONE, false, 2, F_CET, P_WRSS, K_ANY },
	{ "%T shstk lock", W_RUN, N_SHSTK, A_NONE, false, 1, F_CET, P_NONE, K_ANY },
	{ "%T call %A", W_RUN, N_SHSTK, A_SMALL, false, 8, F_CET, P_NONE, K_ANY },
	{ "%T ret %A", W_RUN, N_SHSTK, A_SMALL, false, 8, F_CET, P_NONE, K_ANY },
	{ "%T shstk nowrss", W_RUN, N_SHSTK, A_NONE, false, 1, F_CET, P_WRSS, K_ANY },
	/* The tracer's NT_X86_SHSTK write: a refused one changes nothing. */
	{ "shstk-regset %T set top", W_STOPPED, N_SHSTK, A_NONE, false, 3, F_CET, P_NONE, K_ANY },
	{ "shstk-regset %T set top-%A", W_STOPPED, N_SHSTK, A_SMALL, false, 3, F_CET, P_NONE, K_ANY },
	{ "shstk-regset %T set 0x%W", W_STOPPED, N_SHSTK, A_NONE, false, 2, F_CET, P_NONE, K_ANY },
	/* User interrupts. */
	{ "%T uintr register", W_RUN, N_UINTR, A_NONE, false, 12, F_UINTR, P_UREG, K_ANY },
	{ "%T uintr unregister", W_RUN, N_UINTR, A_NONE, false, 2, F_UINTR, P_UUNREG, K_ANY },
	{ "%T senduipi %U", W_RUN, N_UINTR, A_NONE, true, 25, F_UINTR, P_NONE, K_ANY },
	{ "%T run", W_RUN, N_UINTR, A_NONE, false, 8, F_UINTR, P_NONE, K_ANY },
	/* FS/GS bases and selectors (seed 002). */
	{ "%T wrfsbase 0x%W000", W_RUN, N_ANY, A_NONE, false, 6, F_FSGS, P_NONE, K_ANY },
	{ "%T wrgsbase 0x%W000", W_RUN, N_ANY, A_NONE, false, 4, F_FSGS, P_NONE, K_ANY },
	{ "%T rdfsbase", W_RUN, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE, K_ANY },
	{ "%T set_thread_area 12 0x%W", W_RUN, N_ANY, A_NONE, false, 8, F_FSGS, P_NONE, K_ANY },
	{ "%T mov fs = 0x63", W_RUN, N_ANY, A_NONE, false, 8, F_FSGS, P_NONE, K_ANY },
	{ "%T mov gs = 0x63", W_RUN, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE, K_ANY },
	{ "%T mov fs = 0", W_RUN, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE, K_ANY },
	{ "%T modify_ldt 0 0x%W", W_RUN, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE, K_ANY },
	{ "%T mov fs = 0x7", W_RUN, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE, K_ANY },
	{ "%T arch_prctl SET_FS 0x%W000", W_RUN, N_ANY, A_NONE, false, 3, F_FSGS, P_NONE, K_ANY },
	{ "%T arch_prctl SET_GS 0x%W000", W_RUN, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE, K_ANY },
	{ "pokeuser %T fs_base = 0x%W000", W_STOPPED, N_ANY, A_NONE, false, 3, F_FSGS, P_NONE, K_ANY },
	{ "pokeuser %T fs = 0x63", W_STOPPED, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE, K_ANY },
	{ "ptrace-regs %T selector-first", W_STOPPED, N_ANY, A_NONE, false, 8, F_FSGS, P_NONE, K_ANY },
	{ "ptrace-arch-prctl %T SET_FS 0x%W000", W_STOPPED, N_ANY, A_NONE, false, 3, F_FSGS, P_NONE,
	  K_ANY },
	{ "ptrace-arch-prctl %T SET_GS 0x%W000", W_STOPPED, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE,
	  K_ANY },
	{ "ptrace-regs %T", W_STOPPED, N_ANY, A_NONE, false, 2, F_FSGS, P_NONE, K_ANY },
	/* KVM: a vCPU per VMM task, KVM_RUN step by step, guest code, ioctls. */
	{ "vcpu %G in %T", W_PTRACE, N_ANY, A_GUEST, false, 6, F_KVM, P_NONE, K_NEW },
	{ "kvm %G run", W_NONE, N_ANY, A_GUEST, false, 20, F_KVM, P_NONE, K_RUN },
	{ "guest %G xsetbv 0x7", W_NONE, N_ANY, A_GUEST, false, 4, F_KVM, P_NONE, K_GUEST },
	{ "guest %G xsetbv 0xe7", W_NONE, N_ANY, A_GUEST, false, 4, F_KVM, P_NONE, K_GUEST },
	{ "guest %G write %A = seq:%V", W_NONE, N_ANY, A_GREG, false, 25, F_KVM, P_NONE, K_GUEST },
	{ "guest %G read %A", W_NONE, N_ANY, A_GREG, false, 8, F_KVM, P_NONE, K_GUEST },
	{ "kvm %G exit", W_NONE, N_ANY, A_GUEST, false, 15, F_KVM, P_NONE, K_GUEST },
	{ "kvm %G enter", W_NONE, N_ANY, A_GUEST, false, 8, F_KVM, P_NONE, K_LOADED },
	{ "kvm %G stop", W_NONE, N_ANY, A_GUEST, false, 10, F_KVM, P_NONE, K_LOADED },
	{ "kvm %G get-xsave", W_NONE, N_ANY, A_GUEST, false, 3, F_KVM, P_NONE, K_IDLE },
	{ "kvm %G set-xsave", W_NONE, N_ANY, A_GUEST, false, 3, F_KVM, P_NONE, K_IDLE },
	{ "kvm %G set-xsave %A=seq:%V", W_NONE, N_ANY, A_GREG, false, 4, F_KVM, P_NONE, K_IDLE },
	{ "kvm %G set-xsave xstate_bv=0x%W", W_NONE, N_ANY, A_GUEST, false, 2, F_KVM, P_NONE,
	  K_IDLE },
	/* perf's LBR context (an independent feature). */
	{ "perf lbr %T", W_PTRACE, N_LBR, A_NONE, false, 3, F_LBR, P_NONE, K_ANY },
	{ "perf lbr %T off", W_PTRACE, N_LBR, A_NONE, false, 1, F_LBR, P_NONE, K_ANY },
	{ "%T branch 0x401000 0x402000", W_RUN, N_LBR, A_NONE, false, 6, F_LBR, P_NONE, K_ANY },
};
#define NTMPL (sizeof(tmpls) / sizeof(tmpls[0]))
_Static_assert(NTMPL <= sizeof(((struct xe_exec *)0)->feat_w[0]) / sizeof(uint16_t),
	       "xe_exec.feat_w holds every template");

static const char *predict(const struct xe_exec *x, const struct xe_op *op);
static uint16_t pred_code(const char *e);

/* XSTATE_BV bits worth flipping: FP, SSE, AVX, AVX-512, PKRU, supervisor
 * ones (PASID, CET_U, CET_S, UINTR), AMX, and bits no CPU has. */
static const uint8_t xbits[] = { 0, 1, 2, 5, 6, 7, 9, 10, 11, 12, 14, 17, 18, 20, 62, 63 };

unsigned xe_feat_count(void)
{
	return NTMPL;
}

/* Templates whose verb this build has (the verb sets are registered by
 * their issues; a missing one just leaves its operations out). */
static const struct sim_verb *tverb[NTMPL];
static bool have_verb[NTMPL], is_alloc[NTMPL], is_alloc_off[NTMPL];
static pthread_once_t verbs_once = PTHREAD_ONCE_INIT;

static void find_verbs(void)
{
	for (unsigned i = 0; i < NTMPL; i++) {
		char w[3][32] = { "", "", "" };

		sscanf(tmpls[i].fmt, "%31s %31s", w[0], w[1]);
		tverb[i] = w[0][0] == '%' ? sim_verb_find(SIM_VERB_TASK, w[1])
					  : sim_verb_find(SIM_VERB_STMT, w[0]);
		have_verb[i] = tverb[i] != NULL;
		is_alloc[i] = !strncmp(tmpls[i].fmt, "alloc-fail", 10);
		is_alloc_off[i] = is_alloc[i] && strstr(tmpls[i].fmt, "off");
	}
}

static bool need_ok(const struct sim_machine *m, unsigned ti)
{
	const struct xk_kernel *k = &m->k;
	uint8_t need = tmpls[ti].need;

	pthread_once(&verbs_once, find_verbs);
	if (!have_verb[ti])
		return false;

	switch ((enum need)need) {
	case N_ANY:
		return true;
	case N_AMX:
		return (k->xcr0 & XS_BIT(XS_C_XTILEDATA)) && k->dynamic;
	case N_PREALLOC:
		return k->policy.xfd_prealloc && (k->xcr0 & XS_BIT(XS_C_XTILEDATA));
	case N_HARVEST:
		return k->policy.xfd_harvest && (k->xcr0 & XS_BIT(XS_C_XTILEDATA));
	case N_SHSTK:
		return xk_shstk_supported(k);
	case N_UINTR:
		return xk_uintr_enabled(k);
	case N_LBR:
		return (k->xss & XS_BIT(XS_C_LBR)) != 0;
	}
	return false;
}

/* ---- Choosing one ---- */

static unsigned pick_task(struct xe_exec *x, struct sim_prng *r, uint8_t who)
{
	unsigned cand[64], n = 0;

	for (unsigned i = 0; i < x->nlive && n < 64; i++) {
		unsigned name = x->live[i];
		const struct sim_task *t = xe_task(x, name);
		int cpu;

		if ((name & XE_KT) || !t || t->state == SIM_T_EXITED)
			continue;
		cpu = xe_task_cpu(t);
		if (who == W_RUN && (cpu < 0 || !x->m->k.cpu[cpu].user_mode))
			continue;
		if (who == W_PTRACE && cpu >= 0 && xe_cpu_busy(x->m, (unsigned)cpu))
			continue;
		if (who == W_STOPPED && (cpu >= 0 || t->k->fpu.fpstate->in_use))
			continue;
		cand[n++] = name;
	}
	return n ? cand[sim_prng_below(r, n)] : 0;
}

bool xe_feat_gen(struct xe_exec *x, struct sim_prng *r, struct xe_op *op)
{
	unsigned total, v, k = 0;
	const uint16_t *w;
	const struct tmpl *t;

	if (!x->feat_ready) {
		/* What the configuration allows, once per program: the weights
		 * outside an "alloc-fail always" window and inside it (where
		 * only the statement that ends it is offered among the knobs). */
		pthread_once(&verbs_once, find_verbs); /* have_verb[] */
		x->feat_total[0] = x->feat_total[1] = 0;
		for (unsigned i = 0; i < NTMPL; i++) {
			uint16_t base = ((x->cfg->feats >> tmpls[i].family) & 1) && need_ok(x->m, i)
						? tmpls[i].weight : 0;

			x->feat_w[0][i] = base;
			x->feat_w[1][i] = base;
			if (is_alloc[i]) /* off only inside the window, always only outside */
				x->feat_w[1][i] = is_alloc_off[i] && have_verb[i] ? 150 : 0;
			x->feat_total[0] += x->feat_w[0][i];
			x->feat_total[1] += x->feat_w[1][i];
		}
		x->feat_ready = true;
	}
	w = x->feat_w[x->alloc_armed];
	total = x->feat_total[x->alloc_armed];
	if (!total)
		return false;
	v = (unsigned)sim_prng_below(r, total);
	while (v >= w[k])
		v -= w[k++];
	t = &tmpls[k];
	memset(op, 0, sizeof(*op));
	op->kind = XE_STMT;
	op->reg = (uint16_t)k;
	if (t->who != W_NONE && !(op->task = (uint16_t)pick_task(x, r, t->who)))
		return false;
	if (t->two && !(op->task2 = (uint16_t)pick_task(x, r, W_PTRACE)))
		return false;
	switch ((enum aux)t->aux) {
	case A_REG:
		op->aux = (uint16_t)sim_prng_below(r, x->regs->n);
		break;
	case A_XBIT:
		op->aux = xbits[sim_prng_below(r, sizeof(xbits))];
		break;
	case A_HDR:
		op->aux = (uint16_t)(8 + sim_prng_below(r, 56));
		break;
	case A_TMM:
		op->aux = (uint16_t)sim_prng_below(r, 8);
		break;
	case A_SMALL:
		op->aux = (uint16_t)(1 + sim_prng_below(r, 4));
		break;
	case A_GUEST:
		op->aux = (uint16_t)(1 + sim_prng_below(r, 2));
		break;
	case A_GREG:
		op->aux = (uint16_t)(1 + sim_prng_below(r, 2) +
				     (sim_prng_below(r, x->regs->n) << 2));
		break;
	case A_NONE:
		break;
	}
	op->val = (uint32_t)sim_prng_next(r);
	if (!(op->val & 0xFF))
		op->val |= 1;
	if (t->pred)
		op->aux = pred_code(predict(x, op));
	return true;
}

static unsigned guest_of(const struct xe_op *op, const struct tmpl *t)
{
	return t->aux == A_GREG || t->aux == A_GUEST ? (op->aux & 3u) : 0;
}

/* Where vCPU gN is in KVM_RUN, as the kernel records it. */
static bool kvm_ok(const struct xe_exec *x, const struct xe_op *op, const struct tmpl *t)
{
	unsigned g = guest_of(op, t);
	const struct sim_task *vmm;
	const struct xk_vcpu *v;
	int cpu;

	if (g < 1 || g > 2)
		return false;
	if (t->kvm == K_NEW) {
		const struct sim_task *a = xe_task(x, op->task);
		return !x->guest_task[g] && a && a->k && !xk_kvm_vcpu_of(a->k);
	}
	vmm = xe_task(x, x->guest_task[g]);
	if (!vmm || vmm->state == SIM_T_EXITED || !vmm->k || !(v = xk_kvm_vcpu_of(vmm->k)))
		return false;
	cpu = xe_task_cpu(vmm);
	switch ((enum kvm_state)t->kvm) {
	case K_IDLE:
		return !v->fpu_loaded;
	case K_RUN:
		return !v->fpu_loaded && cpu >= 0 && x->m->k.cpu[cpu].user_mode;
	case K_LOADED:
		return v->fpu_loaded && !v->in_guest && cpu >= 0 && !xe_cpu_busy(x->m, (unsigned)cpu);
	case K_GUEST:
		return v->in_guest && cpu >= 0;
	case K_NEW:
	case K_ANY:
		break;
	}
	return true;
}

bool xe_feat_legal(const struct xe_exec *x, const struct xe_op *op)
{
	const struct tmpl *t;
	const struct sim_task *a, *b;

	if (op->reg >= NTMPL)
		return false;
	t = &tmpls[op->reg];
	if (!need_ok(x->m, op->reg))
		return false;
	if (t->who != W_NONE) {
		int cpu;

		a = xe_task(x, op->task);
		if (!a || a->kind != SIM_USER || a->state == SIM_T_EXITED)
			return false;
		cpu = xe_task_cpu(a);
		if (t->who == W_RUN && (cpu < 0 || !x->m->k.cpu[cpu].user_mode))
			return false;
		if (t->who == W_PTRACE && cpu >= 0 && xe_cpu_busy(x->m, (unsigned)cpu))
			return false;
		if (t->who == W_STOPPED && (cpu >= 0 || a->k->fpu.fpstate->in_use))
			return false;
	}
	if (t->two) {
		b = xe_task(x, op->task2);
		if (!b || b->kind != SIM_USER || b->state == SIM_T_EXITED)
			return false;
	}
	if (t->aux == A_REG && op->aux >= x->regs->n)
		return false;
	if (t->aux == A_GREG && (op->aux >> 2) >= x->regs->n)
		return false;
	if (t->kvm && !kvm_ok(x, op, t))
		return false;
	/* uintr=independent allocates the task's UINTR buffer at registration:
	 * inside an alloc-fail window the answer (ENOMEM) is not predicted. */
	if (t->pred == P_UREG && x->alloc_armed)
		return false;
	return true;
}

/* The kernel's answer to a P_* call, from its records (cet.c
 * xk_shstk_prctl, uintr.c): 0 or an errno name. */
static const char *predict(const struct xe_exec *x, const struct xe_op *op)
{
	const struct tmpl *t = &tmpls[op->reg];
	const struct sim_task *st = xe_task(x, op->task);
	const struct xk_task *kt = st ? st->k : NULL;
	const struct xk_special *sp = kt ? kt->special : NULL;
	uint64_t feat = kt ? xk_shstk_features(kt) : 0, locked = sp ? sp->shstk_locked : 0;

	if (!kt)
		return NULL;
	switch ((enum pred)t->pred) {
	case P_SHSTK:
		return (locked & XK_ARCH_SHSTK_SHSTK) ? "EPERM" : NULL;
	case P_WRSS:
		return (locked & XK_ARCH_SHSTK_WRSS) || !(feat & XK_ARCH_SHSTK_SHSTK) ? "EPERM" : NULL;
	case P_UREG:
		return xk_uintr_of(kt) ? "EBUSY" : NULL;
	case P_UUNREG:
		return xk_uintr_of(kt) ? NULL : "EINVAL";
	case P_NONE:
		break;
	}
	return NULL;
}

static const char *const pred_names[] = { "", "EPERM", "EBUSY", "EINVAL" };

static uint16_t pred_code(const char *e)
{
	for (unsigned i = 1; i < sizeof(pred_names) / sizeof(pred_names[0]); i++)
		if (e && !strcmp(e, pred_names[i]))
			return (uint16_t)(0x8000 | i << 8);
	return 0;
}

/* ---- Text ---- */

/* The statement text is made on every feature step of an exploration:
 * plain appends, not snprintf (which cost more than some statements). */
struct text {
	char *buf;
	size_t pos, len; /* pos < len always: room for the terminating NUL */
};

static void put_str(struct text *t, const char *s)
{
	while (*s && t->pos + 1 < t->len)
		t->buf[t->pos++] = *s++;
	t->buf[t->pos] = '\0';
}

static void put_uint(struct text *t, unsigned long long v, unsigned base, unsigned min_digits)
{
	char d[24];
	unsigned n = 0;

	do {
		d[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v || n < min_digits);
	while (n && t->pos + 1 < t->len)
		t->buf[t->pos++] = d[--n];
	t->buf[t->pos] = '\0';
}

static void put_name(struct text *t, unsigned name)
{
	put_str(t, (name & XE_KT) ? "k" : "t");
	put_uint(t, name & ~XE_KT, 10, 1);
}

static const char *reg_name(const struct xe_config *c, unsigned i)
{
	return c->regs && i < c->regs->n ? c->regs->r[i].name : "xmm0";
}

int xe_feat_format(const struct xe_exec *x, const struct xe_config *c, const struct xe_op *op,
		   char *buf, size_t len)
{
	const struct tmpl *t;
	struct text o = { buf, 0, len };

	(void)x;
	if (!len)
		return 0;
	buf[0] = '\0';
	if (op->reg >= NTMPL) {
		put_str(&o, "note unknown feature operation ");
		put_uint(&o, op->reg, 10, 1);
		return (int)o.pos;
	}
	t = &tmpls[op->reg];
	for (const char *f = t->fmt; *f && o.pos + 1 < len; f++) {
		if (*f != '%' || !f[1]) {
			o.buf[o.pos++] = *f;
			o.buf[o.pos] = '\0';
			continue;
		}
		switch (*++f) {
		case 'T':
			put_name(&o, op->task);
			break;
		case 'U':
			put_name(&o, op->task2);
			break;
		case 'V':
			put_str(&o, "0x");
			put_uint(&o, op->val & 0xFF, 16, 2);
			break;
		case 'W':
			put_uint(&o, op->val, 16, 1);
			break;
		case 'G':
			put_str(&o, "g");
			put_uint(&o, op->aux & 3u, 10, 1);
			break;
		case 'A':
			if (t->aux == A_GREG)
				put_str(&o, reg_name(c, op->aux >> 2));
			else if (t->aux == A_REG)
				put_str(&o, reg_name(c, op->aux));
			else if (t->aux == A_SMALL && strstr(t->fmt, "top-"))
				put_uint(&o, 8u * op->aux, 10, 1);
			else
				put_uint(&o, op->aux, 10, 1);
			break;
		default: {
			char one[2] = { *f, '\0' };

			put_str(&o, one);
			break;
		}
		}
	}
	/* The predicted refusal is part of the statement (decided when the
	 * operation is generated, kept in op->aux's high bits). */
	if (t->pred && (op->aux & 0x8000) && o.pos + 16 < len) {
		put_str(&o, " fails ");
		put_str(&o, pred_names[(op->aux >> 8) & 0x7F]);
	}
	return (int)o.pos;
}

/* ---- Parsing one line in a small symbol table ---- */

struct mini {
	struct sim_parser p;
	struct sim_symbol sym[2];
	char procs[2][SIM_NAME_MAX];
	struct sim_task *task[2];
	struct sim_process *proc[2];
	char words[512];
};

static int split(char *s, char **argv)
{
	int n = 0;

	while (*s && n < SIM_MAX_ARGS) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		argv[n++] = s;
		while (*s && *s != ' ')
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

static void copy_name(char *dst, const char *src)
{
	size_t n = strnlen(src, SIM_NAME_MAX - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void add_sym(struct mini *mi, struct sim_task *t)
{
	unsigned i = mi->p.ntasks;

	for (unsigned j = 0; j < i; j++)
		if (mi->task[j] == t)
			return;
	memset(&mi->sym[i], 0, sizeof(mi->sym[i]));
	_Static_assert(sizeof(mi->sym[i].name) >= SIM_NAME_MAX, "symbol names hold task names");
	copy_name(mi->sym[i].name, t->name);
	mi->sym[i].kind = t->kind;
	mi->sym[i].proc = i + 1;
	copy_name(mi->procs[i], t->proc ? t->proc->name : t->name);
	mi->task[i] = t;
	mi->proc[i] = t->proc;
	mi->p.ntasks = mi->p.nprocs = i + 1;
}

/* A fingerprint of what a statement may change before it reports an
 * error: kernel bookkeeping, counters, the simulator's hooks. */
static uint64_t fingerprint(const struct sim_machine *m)
{
	const struct xk_stats *st = &m->k.stats;
	uint64_t h = 0xCBF29CE484222325ULL;

#define FP(v) (h = (h ^ (uint64_t)(v)) * 0x100000001B3ULL)
	for (unsigned i = 0; i < m->ncpus; i++) {
		const struct xk_cpu *c = &m->k.cpu[i];
		FP((uintptr_t)c->current);
		FP((uintptr_t)c->owner);
		FP(c->user_mode | c->irq_depth << 1 | c->nmi_depth << 8 | c->kernel_fpu_allowed << 16);
		FP(xs_cr0_ts(c->hw));
		FP(xs_xfd(c->hw));
		FP(xs_xinuse(c->hw));
	}
	FP(st->saves);
	FP(st->restores);
	FP(st->restores_skipped);
	FP(st->switches);
	FP(st->kfpu_sections);
	FP(st->signals);
	FP(st->warnings);
	FP(st->pkru_writes);
	FP(st->indep_saves);
	FP(st->indep_restores);
	/* Live buffers and bytes, not the counters: a call that allocates,
	 * fails and frees (KVM_CREATE_VCPU's second buffer) changed nothing. */
	FP(m->k.mem.allocs - m->k.mem.frees);
	FP(m->k.mem.bytes);
	FP(m->ntasks);
	/* Not m->deliver_signal / k.alloc_fail: the user-ABI verbs install
	 * theirs on first use, even by a statement that then fails; without
	 * an installed handler or an alloc-fail knob they act as the defaults. */
	for (const struct xk_task *t = m->k.tasks; t; t = t->all_next) {
		FP(t->need_load);
		FP(t->fpu.last_cpu);
		FP((uintptr_t)t->fpu.fpstate);
		FP(t->on_cpu);
	}
#undef FP
	return h;
}

/* Parse text in a symbol table of just a and b (either may be NULL) and
 * run it with them bound, as the scenario runner would run the line. The
 * invariants' before-hook runs between parse and exec, as in run.c. fp
 * (may be NULL) receives the fingerprint before the exec. verb: the verb
 * to use, or NULL to look it up. */
static int run_line(struct sim_machine *m, const char *text, struct sim_task *a,
		    struct sim_task *b, const struct sim_verb *v, uint64_t *fp)
{
	struct mini mini, *mi = &mini;
	char line[sizeof(mi->words)];
	struct sim_stmt s;
	struct sim_task **save_b;
	struct sim_process **save_p;
	unsigned save_nb, save_np;
	int rc = SIM_ERROR;

	memset(mi, 0, sizeof(*mi));
	memset(&s, 0, sizeof(s));
	/* The verbs' parse functions do not read the scenario (only the
	 * machine and policy statements do): an empty one, per thread. */
	static _Thread_local struct sim_scenario empty_sc;

	mi->p.file = "explore";
	mi->p.line = 1;
	mi->p.sc = &empty_sc;
	mi->p.have_machine = true;
	mi->p.model = (struct xs_model *)m->model;
	mi->p.ncpus = m->ncpus;
	mi->p.tasks = mi->sym;
	mi->p.cap_tasks = 2;
	mi->p.procs = mi->procs;
	mi->p.cap_procs = 2;
	if (a)
		add_sym(mi, a);
	if (b)
		add_sym(mi, b);
	if (strlen(text) >= sizeof(line))
		return sim_error(m, "explore: statement too long: '%.60s...'", text);
	strcpy(line, text);
	strcpy(mi->words, text);
	s.text = line;
	s.line = 1;
	s.argc = split(mi->words, s.argv);
	if (!s.argc)
		goto out;
	if (!v)
		v = sim_verb_find(SIM_VERB_STMT, s.argv[0]);
	if (!v && s.argc > 1)
		v = sim_verb_find(SIM_VERB_TASK, s.argv[1]);
	if (!v) {
		rc = sim_error(m, "explore: no verb for '%s'", s.text);
		goto out;
	}
	s.verb = v;
	if (v->parse && v->parse(&mi->p, &s)) {
		rc = sim_error(m, "explore: '%s': %s", s.text, mi->p.err);
		goto out;
	}
	/* Bind the statement's symbols (1, 2) to the tasks it names. */
	save_b = m->bysym;
	save_nb = m->nbysym;
	save_p = m->procsym;
	save_np = m->nprocsym;
	m->bysym = mi->task;
	m->nbysym = mi->p.ntasks;
	m->procsym = mi->proc;
	m->nprocsym = mi->p.nprocs;
	if (fp)
		*fp = fingerprint(m);
	if (m->inv_mask)
		sim_inv_before(m, &s);
	rc = s.verb->exec(m, &s);
	m->bysym = save_b;
	m->nbysym = save_nb;
	m->procsym = save_p;
	m->nprocsym = save_np;
out:
	free(s.a.val);
	free(s.a.ext);
	return rc;
}

int sim_line_query(struct sim_machine *m, const char *text, struct sim_task *a)
{
	char fail[SIM_MSG_MAX], note[sizeof(m->note)];
	const char *check = m->fail_check;
	uint64_t mask = m->inv_mask;
	int rc;

	memcpy(fail, m->fail, sizeof(fail));
	memcpy(note, m->note, sizeof(note));
	m->inv_mask = 0; /* no before-hook for a query */
	rc = run_line(m, text, a, NULL, NULL, NULL);
	m->inv_mask = mask;
	memcpy(m->fail, fail, sizeof(fail));
	memcpy(m->note, note, sizeof(note));
	m->fail_check = check;
	return rc;
}

int xe_feat_exec(struct xe_exec *x, const struct xe_op *op)
{
	struct sim_machine *m = x->m;
	struct sim_task *a = xe_task(x, op->task), *b = xe_task(x, op->task2);
	char text[512];
	uint64_t before = 0;
	int rc;

	pthread_once(&verbs_once, find_verbs);
	if (op->reg >= NTMPL || !tverb[op->reg])
		return sim_error(m, "explore: no verb for feature operation %u", op->reg);
	xe_feat_format(x, x->cfg, op, text, sizeof(text));
	rc = run_line(m, text, a, b, tverb[op->reg], &before);
	/* Feature statements can move tasks and touch any CPU (a signal
	 * switches a tracee out, senduipi notifies another CPU): check all. */
	x->dirty = ~0ULL;
	if (rc == SIM_ERROR && fingerprint(m) == before)
		rc = XE_SKIP;
	if (rc == SIM_OK && is_alloc[op->reg])
		x->alloc_armed = !is_alloc_off[op->reg];
	if (rc == SIM_OK && tmpls[op->reg].kvm == K_NEW)
		x->guest_task[op->aux & 3u] = op->task;
	return rc;
}
