/* xstate bench insn: the model's XSAVEC+XRSTOR round trip against the host
 * CPU's real one, over the same components and the same live data.
 *
 * Both sides restore one image with every component in use (random register
 * contents), then time batches of `iterations` round trips of XSAVEC into a
 * buffer and XRSTOR from it, with CLOCK_MONOTONIC. Model and silicon
 * batches alternate, `repetitions` of each, and the minimum of each side is
 * kept (the least disturbed batch). The ratio
 * is model time / silicon time. Without XSAVEC on the host both sides use
 * XSAVE (standard format), and the output says so.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "xstate/cpu.h"
#include "xstate/oracle.h"
#include "xstate/prog.h"

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* A standard image with every component of mask live. */
static void live_image(const struct xs_model *m, uint8_t *img, size_t size, uint64_t mask)
{
	uint64_t x = 0x9E3779B97F4A7C15ull;
	uint32_t mxcsr = XS_MXCSR_DEFAULT;
	uint16_t fcw = 0x027F;

	for (size_t i = 0; i < size; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		img[i] = (uint8_t)x;
	}
	memcpy(img, &fcw, 2);
	memset(img + 2, 0, 22);          /* FSW, FTW, FOP, FIP, FDP */
	memcpy(img + 24, &mxcsr, 4);
	for (unsigned j = 0; j < 8; j++)
		memset(img + 32 + 16 * j + 10, 0, 6);
	memset(img + XS_HDR_OFFSET, 0, XS_HDR_SIZE);
	memcpy(img + XS_HDR_OFFSET, &mask, 8);
	(void)m;
}

/* The model side: a CPU holding the live state and a buffer. */
struct model_side {
	struct xs_cpu *c;
	uint8_t *buf;
};

static int model_init(struct model_side *ms, const struct xs_model *m, uint64_t mask,
		      const uint8_t *img, size_t size)
{
	char err[256];

	ms->c = xs_cpu_new(m);
	ms->buf = aligned_alloc(64, size);
	if (!ms->c || !ms->buf)
		return -1;
	if (xs_exec_setup_cpu(ms->c, mask, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "xstate bench insn: %s\n", err);
		return -1;
	}
	memcpy(ms->buf, img, size);
	if (xs_xrstor(ms->c, ms->buf, size, mask) != XS_OK) {
		fprintf(stderr, "xstate bench insn: model XRSTOR faults: %s\n",
			xs_cpu_fault_reason(ms->c));
		return -1;
	}
	return 0;
}

/* ns per round trip of one batch; < 0 if a round trip faulted. */
static double model_batch(struct model_side *ms, uint64_t mask, bool compacted, size_t size,
			  uint64_t iters)
{
	enum xs_fault f = XS_OK;
	double t0 = now_ns();

	for (uint64_t i = 0; i < iters; i++) {
		f |= compacted ? xs_xsavec(ms->c, ms->buf, size, mask)
			       : xs_xsave(ms->c, ms->buf, size, mask);
		f |= xs_xrstor(ms->c, ms->buf, size, mask);
	}
	return f == XS_OK ? (now_ns() - t0) / (double)iters : -1;
}

static double hw_batch(uint8_t *buf, const uint8_t *img, uint64_t mask, bool compacted,
		       size_t size, uint64_t iters)
{
	double t0;

	memcpy(buf, img, size);
	t0 = now_ns();
	if (xs_hw_roundtrip(buf, mask, compacted, iters) != 0)
		return -1;
	return (now_ns() - t0) / (double)iters;
}

int bench_insn(int argc, char **argv)
{
	const char *cpu = "host", *v;
	/* Short batches, many of them: on a shared machine the minimum needs
	 * a quiet moment, and a short batch is more likely to find one. */
	uint64_t iters = 10000, reps_u = 101;
	int reps;
	bool json = false, compacted;
	const struct xs_host *h = xs_host_get();
	struct xs_model *m;
	uint64_t mask;
	size_t size;
	uint8_t *img = NULL, *hwbuf = NULL;
	struct model_side ms = { NULL, NULL };
	double mns, hns;
	char names[256];
	int r = CLI_FAIL;

	for (int i = 1; i < argc; i++) {
		int o;

		if ((o = cli_opt_value(argc, argv, &i, "--cpu", &cpu))) {
			if (o < 0)
				return CLI_USAGE;
		} else if ((o = cli_opt_value(argc, argv, &i, "--iterations", &v))) {
			if (o < 0 || cli_parse_u64(v, &iters) != 0 || iters == 0)
				return cli_usage_error("bench insn", "--iterations needs a positive number");
		} else if ((o = cli_opt_value(argc, argv, &i, "--repetitions", &v))) {
			if (o < 0 || cli_parse_u64(v, &reps_u) != 0 || reps_u == 0 || reps_u > 100000)
				return cli_usage_error("bench insn",
						       "--repetitions needs a number from 1 to 100000");
		} else if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else {
			return cli_usage_error("bench insn", "unknown argument '%s'", argv[i]);
		}
	}
	reps = (int)reps_u;
	if (!h) {
		fprintf(stderr, "xstate bench insn: this host has no usable XSAVE in user mode\n");
		return CLI_FAIL;
	}
	m = malloc(sizeof(*m));
	if (!m)
		return CLI_FAIL;
	if (cli_load_model_as("bench insn", cpu, m) != 0) {
		free(m);
		return CLI_USAGE;
	}
	/* The same components on both sides: what the host enables and the
	 * model supports. */
	mask = h->xcr0 & m->xcr0_supported;
	compacted = h->xsavec && m->has_xsavec;
	size = xs_prog_bufsize(m);
	if (size < h->std_size)
		size = (h->std_size + 63) & ~(size_t)63;
	img = aligned_alloc(64, size);
	if (!img)
		goto out;
	live_image(m, img, size, mask);
	hwbuf = aligned_alloc(64, size);
	if (!hwbuf || model_init(&ms, m, mask, img, size) != 0)
		goto out;
	/* Interleaved batches, so that both sides see the same machine load
	 * (other processes share the cores); the minimum of each is kept. */
	mns = hns = 1e300;
	for (int k = 0; k < reps; k++) {
		double a = model_batch(&ms, mask, compacted, size, iters);
		double b = hw_batch(hwbuf, img, mask, compacted, size, iters);

		if (a < 0 || b < 0) {
			fprintf(stderr, "xstate bench insn: a round trip faulted\n");
			goto out;
		}
		mns = a < mns ? a : mns;
		hns = b < hns ? b : hns;
	}
	xs_mask_names(mask, names, sizeof(names));
	if (json) {
		printf("{\"bench\":\"insn\",\"cpu\":");
		xs_json_string(stdout, m->name);
		printf(",\"instruction\":\"%s\",\"components\":", compacted ? "xsavec" : "xsave");
		xs_json_string(stdout, names);
		printf(",\"mask\":");
		json_hex(stdout, mask);
		printf(",\"iterations\":%" PRIu64 ",\"repetitions\":%d,\"model_ns\":%.2f,"
		       "\"silicon_ns\":%.2f,\"ratio\":%.4f}\n", iters, reps, mns, hns, mns / hns);
	} else {
		printf("bench insn: %s+XRSTOR round trip of %s (live), %" PRIu64
		       " iterations, best of %d\n", compacted ? "XSAVEC" : "XSAVE", names, iters, reps);
		if (!compacted)
			printf("  (no XSAVEC on %s: XSAVE, standard format, on both sides)\n",
			       h->xsavec ? "the model" : "this host");
		printf("  model (%s)  %8.1f ns per round trip\n", m->name, mns);
		printf("  silicon       %8.1f ns per round trip\n", hns);
		printf("  ratio model/silicon: %.3f\n", mns / hns);
	}
	r = CLI_OK;
out:
	free(img);
	free(hwbuf);
	free(ms.buf);
	xs_cpu_free(ms.c);
	free(m);
	return r;
}
