/* xstate bench switch [--json] [--cpu M] [--seconds S]
 *
 * Simulated context switches per second against the host kernel's own.
 *
 * Simulated: one CPU of the model (default intel-sapphire-rapids), two user
 * tasks with live AVX-512 state (ZMM0-31 and k1-7 written, so the init
 * optimization skips nothing). One switch = the kernel's switch-out save
 * (XSAVES of the outgoing task), the exit-to-user restore (XRSTORS of the
 * incoming one) and the incoming task writing ZMM0, ZMM16 and k1 -- one
 * register in each AVX-512 component -- so the modified optimization
 * cannot skip the next save either. Trace output, the shadows and their
 * checks are off for the headline rate (the kernel's trace callback too);
 * the rate with shadows and the check after every switch is reported too.
 *
 * Host: two threads pinned to one CPU (sched_setaffinity) ping-pong a byte
 * over two pipes, as `perf bench sched pipe` does; each round trip is two
 * context switches of the host kernel.
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
	double rate;        /* switches per second */
	double checked_rate;
	uint64_t switches;
	double seconds;
	uint32_t save_bytes; /* bytes of each save (buffer size) */
	uint64_t xstate_bv;  /* what the saves wrote */
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

static int sim_round(struct sim_machine *m, struct sim_task *t[2], const struct sim_uinsn *u,
		     uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct sim_task *next = t[(i + 1) & 1];

		if (sim_switch(m, 0, next) || sim_return_to_user(m, 0))
			return -1;
		for (int j = 0; j < 3; j++)
			if (sim_user(m, next, &u[j]))
				return -1;
		if (m->check.shadow && sim_check(m))
			return -1;
	}
	return 0;
}

static int bench_sim(const struct xs_model *model, double seconds, struct sim_bench *out)
{
	static const char *const regs[3] = { "zmm0", "zmm16", "k1" };
	struct sim_trace tr;
	struct sim_machine *m;
	struct sim_task *t[2];
	struct sim_uinsn u[3];
	struct xk_policy pol;
	uint8_t val[3][64];
	uint64_t n = 256, done = 0;
	double t0, el = 0;
	int rc = -1;

	if (!(model->xcr0_supported & XS_MASK_AVX512)) {
		fprintf(stderr, "xstate bench switch: CPU model %s has no AVX-512\n", model->name);
		return -1;
	}
	sim_trace_init(&tr, NULL, SIM_TR_STEP);
	tr.disabled = true;
	m = sim_machine_new(&tr);
	if (!m)
		return -1;
	xk_policy_default(&pol);
	if (sim_machine_boot(m, model, 1, &pol, 1) ||
	    sim_spawn(m, "a", NULL, 0, &t[0]) || sim_spawn(m, "b", NULL, 0, &t[1]) ||
	    live_state(m, t[0], 0x10) || sim_switch(m, 0, t[1]) || live_state(m, t[1], 0x80)) {
		fprintf(stderr, "xstate bench switch: setup failed: %s%s\n", m->err, m->fail);
		goto out;
	}
	memset(u, 0, sizeof(u));
	for (int j = 0; j < 3; j++) {
		u[j].op = SIM_UOP_WRITE;
		xs_reg_lookup(m->model, regs[j], &u[j].reg);
		memset(val[j], 0x5A + j, sizeof(val[j]));
		u[j].val = val[j];
	}

	/* With the shadow check after every switch (shadows maintained), a
	 * quarter of the time. First: the headline run lets the shadows go stale. */
	while (el < seconds / 4) {
		t0 = now();
		if (sim_round(m, t, u, n))
			goto fail;
		el += now() - t0;
		done += n;
		n *= 2;
	}
	out->checked_rate = (double)done / el;

	/* Headline: no checks, no shadows, no trace. Double the batch until
	 * the time is up. */
	m->check.shadow = false;
	m->check.values = false;
	m->check.shadow_update = false;
	done = 0;
	el = 0;
	n = 256;
	while (el < seconds) {
		t0 = now();
		if (sim_round(m, t, u, n))
			goto fail;
		el += now() - t0;
		done += n;
		if (n < (1u << 24))
			n *= 2;
	}
	out->switches = done;
	out->seconds = el;
	out->rate = (double)done / el;
	out->save_bytes = t[0]->k->fpu.fpstate->size;
	out->xstate_bv = xk_fpstate_xstate_bv(t[0]->k->fpu.fpstate);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "xstate bench switch: simulated switch failed: %s%s\n", m->err, m->fail);
out:
	sim_machine_free(m);
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

static int bench_host(double seconds, double *rate, int *cpu_out, double *secs)
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
		for (int i = 0; i < 2000; i++)
			if (write(pp.to_b[1], &c, 1) != 1 || read(pp.to_a[0], &c, 1) != 1)
				goto join;
		rounds += 2000;
		el = now() - t0;
	} while (el < seconds);
	*rate = 2.0 * (double)rounds / el; /* two switches per round trip */
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
	double seconds = 1.0, host_rate = 0, host_secs = 0, ratio;
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
	if (bench_host(seconds, &host_rate, &host_cpu, &host_secs)) {
		fprintf(stderr, "xstate bench switch: host measurement failed\n");
		return CLI_FAIL;
	}
	ratio = sb.rate / host_rate;
	if (json) {
		printf("{\"bench\":\"switch\",\"model\":");
		json_string(stdout, model.name);
		printf(",\"sim_switches_per_sec\":%.0f,\"sim_ns_per_switch\":%.1f,"
		       "\"sim_checked_switches_per_sec\":%.0f,\"sim_switches\":%llu,"
		       "\"save_bytes\":%u,\"xstate_bv\":", sb.rate, 1e9 / sb.rate, sb.checked_rate,
		       (unsigned long long)sb.switches, sb.save_bytes);
		json_hex(stdout, sb.xstate_bv);
		printf(",\"host_switches_per_sec\":%.0f,\"host_ns_per_switch\":%.1f,\"host_cpu\":%d,"
		       "\"ratio\":%.2f,\"target_ratio\":10}\n", host_rate, 1e9 / host_rate, host_cpu,
		       ratio);
	} else {
		printf("simulated (%s, 1 CPU, 2 tasks with live AVX-512 state):\n", model.name);
		printf("  %12.0f switches/s  (%.1f ns each: XSAVES %uB + XRSTORS + 3 user writes; "
		       "saved xstate_bv=%s)\n", sb.rate, 1e9 / sb.rate, sb.save_bytes,
		       xs_mask_names(sb.xstate_bv, mb, sizeof(mb)));
		printf("  %12.0f switches/s  with the shadow check after every switch\n",
		       sb.checked_rate);
		printf("host Linux (2 threads on CPU %d, pipe ping-pong):\n", host_cpu);
		printf("  %12.0f switches/s  (%.1f ns each)\n", host_rate, 1e9 / host_rate);
		printf("ratio simulated/host: %.2f (target >= 10)\n", ratio);
	}
	return CLI_OK;
}
