/* xstate decode: print an XSAVE image component by component and say
 * whether XRSTOR would restore it (src/arch/decode.c).
 *
 * Exit status: 0 XRSTOR would restore the image; 3 it would fault (the
 * reason is printed); 1 the file cannot be read or is truncated; 2 usage.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xstate/cpu.h"
#include "xstate/prog.h"

/* Larger than any XSAVE area a CPUID can describe (the 32-bit EBX of
 * sub-leaf 0 aside, real areas are below 16 KiB). */
#define DECODE_MAX (1u << 20)

static int read_image(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	size_t n;

	if (!f) {
		fprintf(stderr, "xstate decode: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	b = aligned_alloc(64, DECODE_MAX);
	if (!b) {
		fclose(f);
		fprintf(stderr, "xstate decode: out of memory\n");
		return -1;
	}
	n = fread(b, 1, DECODE_MAX, f);
	if (ferror(f)) {
		fprintf(stderr, "xstate decode: cannot read '%s': %s\n", path, strerror(errno));
		fclose(f);
		free(b);
		return -1;
	}
	if (n == DECODE_MAX && fgetc(f) != EOF) {
		fprintf(stderr, "xstate decode: '%s' is larger than %u bytes: not an XSAVE image\n",
			path, DECODE_MAX);
		fclose(f);
		free(b);
		return -1;
	}
	fclose(f);
	*out = b;
	*len = n;
	return 0;
}

int cmd_decode(int argc, char **argv)
{
	const char *cpu = NULL, *xcr0_s = NULL, *xss_s = NULL, *path = NULL;
	struct xs_model *m;
	struct xs_cpu *c = NULL;
	uint8_t *img = NULL;
	uint64_t xcr0, xss;
	size_t len;
	bool json = false;
	char err[512];
	int r = CLI_USAGE;

	for (int i = 1; i < argc; i++) {
		int o;

		if ((o = cli_opt_value(argc, argv, &i, "--cpu", &cpu)) ||
		    (o = cli_opt_value(argc, argv, &i, "--xcr0", &xcr0_s)) ||
		    (o = cli_opt_value(argc, argv, &i, "--xss", &xss_s))) {
			if (o < 0)
				return CLI_USAGE;
		} else if (cli_opt_flag(argv, i, "--json")) {
			json = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error(argv[0], "unknown option '%s'", argv[i]);
		} else if (path) {
			return cli_usage_error(argv[0], "one FILE only ('%s' and '%s')", path, argv[i]);
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return cli_usage_error(argv[0], "no FILE given");
	m = malloc(sizeof(*m));
	if (!m) {
		fprintf(stderr, "xstate decode: out of memory\n");
		return CLI_FAIL;
	}
	if (cli_load_model_as(argv[0], cpu, m) != 0)
		goto out;
	xcr0 = m->xcr0_supported;
	xss = m->has_xsaves ? m->xss_supported : 0;
	if (xcr0_s && cli_parse_u64(xcr0_s, &xcr0) != 0 && xs_mask_parse(xcr0_s, &xcr0) != 0) {
		r = cli_usage_error(argv[0], "--xcr0 '%s' is not a mask", xcr0_s);
		goto out;
	}
	if (xss_s && cli_parse_u64(xss_s, &xss) != 0 && xs_mask_parse(xss_s, &xss) != 0) {
		r = cli_usage_error(argv[0], "--xss '%s' is not a mask", xss_s);
		goto out;
	}
	c = xs_cpu_new(m);
	if (!c) {
		r = CLI_FAIL;
		goto out;
	}
	if (xs_exec_setup_cpu(c, xcr0, xss, err, sizeof(err)) != 0) {
		r = cli_usage_error(argv[0], "%s", err);
		goto out;
	}
	if (read_image(path, &img, &len) != 0) {
		r = CLI_FAIL;
		goto out;
	}
	switch (xs_decode_image(stdout, c, img, len, json)) {
	case XS_DECODE_RESTORES:
		r = CLI_OK;
		break;
	case XS_DECODE_FAULTS:
		r = CLI_FAULT;
		break;
	case XS_DECODE_TRUNCATED:
		r = CLI_FAIL;
		break;
	}
out:
	free(img);
	xs_cpu_free(c);
	free(m);
	return r;
}
