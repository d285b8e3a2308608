/* xstate bench switch [--json] [--cpu M] [--seconds S]
 *
 * Simulated context switches per second against the host kernel's own.
 *
 * Simulated: one CPU of the model (default intel-sapphire-rapids), two user
 * tasks with live AVX-512 state (ZMM0-31 and k1-7 written, so the init
 * optimization skips nothing). One switch = sim_switch() (the kernel's
 * switch-out XSAVES of the outgoing task) + sim_return_to_user() (the
 * XRSTORS of the incoming one). The tasks change nothing between switches,
 * so for the headline rate the model's modified optimization (XSAVES/
 * XSAVEOPT skipping components unchanged since the XRSTOR from the same
 * buffer, SDM 13.9/13.11, implementation-defined) is turned off: every save
 * writes every live component. No trace, no shadows, no checks. Also
 * printed: the model as it is with the tasks writing ZMM0, ZMM16 and k1
 * (one register per AVX-512 component) between switches, and the same with
 * shadows and the check after every switch.
 *
 * Host: two threads pinned to one CPU (sched_setaffinity) ping-pong a byte
 * over two pipes, as `perf bench sched pipe` does; each round trip is two
 * context switches of the host kernel.
 *
 * Both sides run in batches and report the best batch (the one least
 * disturbed by the rest of the machine) and the mean; ratio = best / best.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "xstate/sim.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- simulated ---- */

struct sim_bench {
	double rate;         /* switches per second: best batch */
	double mean_rate;    /* over all batches */
	double writes_rate;  /* tasks writing between switches, modified optimization on */
	double checked_rate; /* ... and shadows with the check after every switch */
	uint64_t switches;
	uint32_t save_bytes; /* bytes of each save (buffer size) */
	uint64_t xstate_bv;  /* what the saves wrote */
};

/* One machine with two tasks holding live AVX-512 state on cpu0. */
struct rig {
	struct sim_trace tr;
	struct sim_machine *m;
	struct xs_model model;
	struct sim_task *t[2];
	struct sim_uinsn u[3];
	uint8_t val[3][64];
	int nwrites;         /* user writes per switch */
};

static int live_state(struct sim_machine *m, struct sim_task *t, uint8_t seed)
{
	uint8_t v[64];
	char name[16];

	for (unsigned i = 0; i < 32; i++) {
		memset(v, seed + i, sizeof(v));
		snprintf(name, sizeof(name), "zmm%u", i);
		if (sim_user_write(m, t, name, v))
			return -1;
	}
	for (unsigned i = 1; i < 8; i++) {
		memset(v, seed ^ i, 8);
		snprintf(name, sizeof(name), "k%u", i);
		if (sim_user_write(m, t, name, v))
			return -1;
	}
	return 0;
}

/* full_saves: the model's modified optimization off, so every XSAVES
 * writes every live component although the task changed nothing. */
static int rig_setup(struct rig *r, const struct xs_model *model, bool full_saves, int nwrites)
{
	static const char *const regs[3] = { "zmm0", "zmm16", "k1" };
	struct xk_policy pol;

	memset(r, 0, sizeof(*r));
	r->model = *model;
	if (full_saves) {
		r->model.impl.xsaves_modified_opt = false;
		r->model.impl.xsaveopt_modified_opt = false;
	}
	r->nwrites = nwrites;
	sim_trace_init(&r->tr, NULL, SIM_TR_STEP);
	r->tr.disabled = true;
	r->m = sim_machine_new(&r->tr);
	if (!r->m)
		return -1;
	xk_policy_default(&pol);
	if (sim_machine_boot(r->m, &r->model, 1, &pol, 1) ||
	    sim_spawn(r->m, "a", NULL, 0, &r->t[0]) || sim_spawn(r->m, "b", NULL, 0, &r->t[1]) ||
	    live_state(r->m, r->t[0], 0x10) || sim_switch(r->m, 0, r->t[1]) ||
	    live_state(r->m, r->t[1], 0x80)) {
		fprintf(stderr, "xstate bench switch: setup failed: %s%s\n", r->m->err, r->m->fail);
		return -1;
	}
	for (int j = 0; j < 3; j++) {
		r->u[j].op = SIM_UOP_WRITE;
		xs_reg_lookup(r->m->model, regs[j], &r->u[j].reg);
		memset(r->val[j], 0x5A + j, sizeof(r->val[j]));
		r->u[j].val = r->val[j];
	}
	return 0;
}

/* n switches: switch-out save, exit-to-user restore, the task's writes. */
static int rig_round(struct rig *r, uint64_t n)
{
	struct sim_machine *m = r->m;

	for (uint64_t i = 0; i < n; i++) {
		struct sim_task *next = r->t[(i + 1) & 1];

		if (sim_switch(m, 0, next) || sim_return_to_user(m, 0))
			goto fail;
		for (int j = 0; j < r->nwrites; j++)
			if (sim_user(m, next, &r->u[j]))
				goto fail;
		if (m->check.shadow && sim_check(m))
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "xstate bench switch: simulated switch failed: %s%s\n", m->err, m->fail);
	return -1;
}

/* Grow the batch to about 1/16 of the time, then run batches until the
 * time is up; the best batch (the one least disturbed by the rest of the
 * host) and the mean. */
static int rig_measure(struct rig *r, double seconds, double *best, double *mean, uint64_t *total)
{
	uint64_t n = 64, done = 0;
	double t0, el = 0;

	for (;;) {
		t0 = now();
		if (rig_round(r, n))
			return -1;
		if (now() - t0 >= seconds / 16 || n >= (1u << 24))
			break;
		n *= 2;
	}
	*best = 0;
	while (el < seconds) {
		double b;

		t0 = now();
		if (rig_round(r, n))
			return -1;
		b = now() - t0;
		el += b;
		done += n;
		if ((double)n / b > *best)
			*best = (double)n / b;
	}
	*mean = (double)done / el;
	if (total)
		*total = done;
	return 0;
}

static int bench_sim(const struct xs_model *model, double seconds, struct sim_bench *out)
{
	struct rig r;
	double mean;
	int rc = -1;

	if (!(model->xcr0_supported & XS_MASK_AVX512)) {
		fprintf(stderr, "xstate bench switch: CPU model %s has no AVX-512\n", model->name);
		return -1;
	}
	/* Headline: the switch alone. No trace, no shadows, no checks. */
	if (rig_setup(&r, model, true, 0))
		goto out;
	r.m->check.shadow = false;
	r.m->check.values = false;
	r.m->check.shadow_update = false;
	if (rig_measure(&r, seconds, &out->rate, &out->mean_rate, &out->switches))
		goto out;
	out->save_bytes = r.t[0]->k->fpu.fpstate->size;
	out->xstate_bv = xk_fpstate_xstate_bv(r.t[0]->k->fpu.fpstate);
	sim_machine_free(r.m);

	/* The model as it is, the tasks writing ZMM0, ZMM16 and k1 between
	 * switches: first with shadows and checks, then without. */
	if (rig_setup(&r, model, false, 3) ||
	    rig_measure(&r, seconds / 4, &out->checked_rate, &mean, NULL))
		goto out;
	r.m->check.shadow = false;
	r.m->check.values = false;
	r.m->check.shadow_update = false;
	if (rig_measure(&r, seconds / 4, &out->writes_rate, &mean, NULL))
		goto out;
	rc = 0;
out:
	sim_machine_free(r.m);
	return rc;
}

/* ---- host ---- */

struct pingpong {
	int to_b[2], to_a[2];
	int cpu;
	volatile int stop;
	uint64_t rounds;
	int err;
};

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *partner(void *arg)
{
	struct pingpong *pp = arg;
	char c;

	if (pin(pp->cpu))
		pp->err = errno;
	for (;;) {
		if (read(pp->to_b[0], &c, 1) != 1)
			break;
		if (c == 'q')
			break;
		if (write(pp->to_a[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

static int bench_host(double seconds, double *rate, double *mean, int *cpu_out, double *secs)
{
	struct pingpong pp;
	pthread_t th;
	cpu_set_t orig;
	double t0, el;
	uint64_t rounds = 0;
	char c = 'p';
	int rc = -1;

	memset(&pp, 0, sizeof(pp));
	pp.cpu = sched_getcpu();
	if (pp.cpu < 0)
		pp.cpu = 0;
	if (sched_getaffinity(0, sizeof(orig), &orig))
		return -1;
	if (pipe(pp.to_b) || pipe(pp.to_a))
		return -1;
	if (pin(pp.cpu)) {
		fprintf(stderr, "xstate bench switch: sched_setaffinity: %s\n", strerror(errno));
		goto out;
	}
	if (pthread_create(&th, NULL, partner, &pp))
		goto out;
	/* Warm up, then measure in batches until the time is up. */
	for (int i = 0; i < 1000; i++)
		if (write(pp.to_b[1], &c, 1) != 1 || read(pp.to_a[0], &c, 1) != 1)
			goto join;
	t0 = now();
	do {
		double b0 = now(), b;

		for (int i = 0; i < 2000; i++)
			if (write(pp.to_b[1], &c, 1) != 1 || read(pp.to_a[0], &c, 1) != 1)
				goto join;
		b = now() - b0;
		rounds += 2000;
		/* Two switches per round trip; keep the best batch and the mean. */
		if (2.0 * 2000 / b > *rate)
			*rate = 2.0 * 2000 / b;
		el = now() - t0;
	} while (el < seconds);
	*mean = 2.0 * (double)rounds / el;
	*secs = el;
	*cpu_out = pp.cpu;
	rc = pp.err ? -1 : 0;
	if (pp.err)
		fprintf(stderr, "xstate bench switch: pinning the partner: %s\n", strerror(pp.err));
join:
	c = 'q';
	if (write(pp.to_b[1], &c, 1) != 1)
		close(pp.to_b[1]);
	pthread_join(th, NULL);
out:
	sched_setaffinity(0, sizeof(orig), &orig);
	close(pp.to_b[0]);
	close(pp.to_b[1]);
	close(pp.to_a[0]);
	close(pp.to_a[1]);
	return rc;
}

int bench_switch(int argc, char **argv)
{
	const char *cpu = "intel-sapphire-rapids", *val;
	struct xs_model model;
	struct sim_bench sb;
	double seconds = 1.0, host_rate = 0, host_mean = 0, host_secs = 0, ratio;
	bool json = false;
	int host_cpu = 0, rc;
	char mb[200];

	for (int i = 1; i < argc; i++) {
		if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--cpu", &val))) {
			if (rc < 0)
				return CLI_USAGE;
			cpu = val;
		} else if ((rc = cli_opt_value(argc, argv, &i, "--seconds", &val))) {
			char *end;
			if (rc < 0)
				return CLI_USAGE;
			seconds = strtod(val, &end);
			if (*end || !(seconds > 0.01 && seconds <= 600))
				return cli_usage_error("bench", "--seconds: 0.01 to 600, got '%s'", val);
		} else {
			return cli_usage_error("bench", "switch: unknown option '%s'", argv[i]);
		}
	}
	if (cli_load_model(cpu, &model))
		return CLI_USAGE;
	memset(&sb, 0, sizeof(sb));
	if (bench_sim(&model, seconds, &sb))
		return CLI_FAIL;
	if (bench_host(seconds, &host_rate, &host_mean, &host_cpu, &host_secs)) {
		fprintf(stderr, "xstate bench switch: host measurement failed\n");
		return CLI_FAIL;
	}
	ratio = sb.rate / host_rate;
	if (json) {
		printf("{\"bench\":\"switch\",\"model\":");
		xs_json_string(stdout, model.name);
		printf(",\"sim_switches_per_sec\":%.0f,\"sim_ns_per_switch\":%.1f,"
		       "\"sim_mean_switches_per_sec\":%.0f,\"sim_with_writes_switches_per_sec\":%.0f,"
		       "\"sim_checked_switches_per_sec\":%.0f,\"sim_switches\":%llu,"
		       "\"save_bytes\":%u,\"xstate_bv\":", sb.rate, 1e9 / sb.rate, sb.mean_rate,
		       sb.writes_rate, sb.checked_rate, (unsigned long long)sb.switches, sb.save_bytes);
		json_hex(stdout, sb.xstate_bv);
		printf(",\"host_switches_per_sec\":%.0f,\"host_ns_per_switch\":%.1f,"
		       "\"host_mean_switches_per_sec\":%.0f,\"host_cpu\":%d,\"ratio\":%.2f,"
		       "\"mean_ratio\":%.2f,\"target_ratio\":10}\n", host_rate, 1e9 / host_rate, host_mean,
		       host_cpu, ratio, sb.mean_rate / host_mean);
	} else {
		printf("simulated (%s, 1 CPU, 2 tasks with live AVX-512 state), best batch / mean:\n",
		       model.name);
		printf("  %12.0f / %.0f switches/s  (%.1f ns each: XSAVES + XRSTORS of %uB buffers, "
		       "saved xstate_bv=%s)\n", sb.rate, sb.mean_rate, 1e9 / sb.rate,
		       sb.save_bytes, xs_mask_names(sb.xstate_bv, mb, sizeof(mb)));
		printf("  %12.0f switches/s  with the tasks writing zmm0, zmm16, k1 between switches "
		       "(modified optimization on)\n", sb.writes_rate);
		printf("  %12.0f switches/s  the same with shadows and the check after every switch\n",
		       sb.checked_rate);
		printf("host Linux (2 threads on CPU %d, pipe ping-pong), best batch / mean:\n",
		       host_cpu);
		printf("  %12.0f / %.0f switches/s  (%.1f ns each)\n", host_rate, host_mean,
		       1e9 / host_rate);
		printf("ratio simulated/host: %.2f (mean %.2f; target >= 10)\n", ratio,
		       sb.mean_rate / host_mean);
	}
	return CLI_OK;
}
