/* The exec program language (prog.c) and the image decoder (decode.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "xstate/prog.h"

static struct xs_model model;

static int parse(struct xs_prog *p, const char *text, char *err, size_t len)
{
	xs_prog_init(p, &model);
	return xs_prog_parse(p, text, err, len);
}

/* The parse error for text, or "" if it parses. */
static const char *parse_error(const char *text)
{
	static char err[512];
	struct xs_prog p;

	err[0] = '\0';
	if (parse(&p, text, err, sizeof(err)) == 0)
		err[0] = '\0';
	xs_prog_free(&p);
	return err;
}

static void test_syntax(void)
{
	char big[200];
	struct {
		const char *text, *want;
	} bad[] = {
		{ "xsave a\nbogus b", "line 2: unknown operation 'bogus'" },
		{ "xsave 1a", "line 1: xsave: bad buffer name '1a'" },
		{ "xsave a 0xzz", "line 1: xsave: RFBM '0xzz' is neither a number" },
		{ "xsave a+x", "offset after '+' is not a number" },
		{ "xsave a+99999", "is outside the" },
		{ "xgetbv", "xgetbv: expected 'xgetbv ECX' (0 arguments given)" },
		{ "xgetbv 1 2", "(2 arguments given)" },
		{ "cpl 4", "cpl: value 4 is larger than 0x3" },
		{ "ts 2", "larger than 0x1" },
		{ "set a 0 abc", "3 hex digits given" },
		{ "set a 0 0xff", "is not hex bytes" },
		{ "set a 99999 0102", "OFFSET 99999 is larger than" },
		{ "fill a 256", "BYTE 256 is larger than 0xff" },
		{ "dump a 10", "give both OFFSET and LENGTH" },
		{ "write nosuchreg 1", "no register 'nosuchreg'" },
		{ "write xmm0 0x1_0000000000000000_0000000000000000", "xmm0 holds 16 bytes" },
		{ "write xmm0 0xg", "is not a hex number" },
		{ "wrmsr nosuch 1", "neither an MSR name" },
		{ "decode a+1 2", "(2 arguments given)" },
		{ "load a", "expected 'load BUF FILE'" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *e = parse_error(bad[i].text);

		tap_ok(strstr(e, bad[i].want) != NULL, "syntax %zu: '%s'", i, e);
	}
	/* 31 characters is the longest name, 16 the most buffers. */
	memset(big, 'n', 40);
	big[0] = 'x', big[1] = 's', big[2] = 'a', big[3] = 'v', big[4] = 'e', big[5] = ' ';
	big[6 + 31] = '\0';
	tap_ok(parse_error(big)[0] == '\0', "syntax: a 31-character buffer name is fine");
	big[6 + 31] = 'n';
	big[6 + 32] = '\0';
	tap_ok(strstr(parse_error(big), "bad buffer name") != NULL, "syntax: 32 characters is not");
	{
		char prog[1024] = "";

		for (int i = 0; i < 17; i++)
			snprintf(prog + strlen(prog), sizeof(prog) - strlen(prog), "fill b%d 1\n", i);
		tap_ok(strstr(parse_error(prog), "line 17: fill: too many buffers (at most 16)") != NULL,
		       "syntax: the 17th buffer is refused");
	}
	tap_ok(parse_error("# only a comment\n\n   \t\nxsave a # and one here\n")[0] == '\0',
	       "syntax: comments and blank lines");
	tap_ok(parse_error("XSAVE a X87|SSE")[0] == '\0', "syntax: names are case-insensitive");
}

static void test_roundtrip(void)
{
	const char *text =
		"xsetbv 0 0x7\nwrite ymm3 0x11_2233\nxsavec a x87|sse|avx\nxrstor a+64\n"
		"set b 512 0700000000000000\ndump b 512 16\ncpl 3\nts 0\nac 1\nldmxcsr 0x1f80\n"
		"wrmsr IA32_XSS 0x0\nrdmsr ia32_xss\nread xmm1\nfill c 0xa5\ndecode a\nxgetbv 1\n";
	struct xs_prog p, q;
	char err[256], *s1 = NULL, *s2 = NULL;
	size_t n1, n2;
	FILE *f;

	tap_ok(parse(&p, text, err, sizeof(err)) == 0, "roundtrip: parses (%s)", err);
	tap_eq_u64(p.nops, 16, "roundtrip: 16 operations");
	tap_eq_u64(p.nbufs, 3, "roundtrip: buffers a, b, c");
	tap_eq_u64(p.ops[3].off, 64, "roundtrip: BUF+OFF offset");
	tap_eq_u64(p.ops[2].arg, 7, "roundtrip: RFBM from component names");
	tap_eq_u64(p.ops[1].data[0], 0x33, "roundtrip: register value is little-endian");
	tap_eq_u64(p.ops[1].data[2], 0x11, "roundtrip: ... with '_' separators");
	f = open_memstream(&s1, &n1);
	xs_prog_print(&p, f);
	fclose(f);
	tap_ok(parse(&q, s1, err, sizeof(err)) == 0, "roundtrip: printed program parses (%s)", err);
	f = open_memstream(&s2, &n2);
	xs_prog_print(&q, f);
	fclose(f);
	tap_ok(!strcmp(s1, s2), "roundtrip: print(parse(print(p))) == print(p)");
	free(s1);
	free(s2);
	xs_prog_free(&p);
	xs_prog_free(&q);
}

struct run {
	struct xs_cpu *c;
	struct xs_prog p;
	struct xs_exec e;
	enum xs_exec_status st;
	char out[16384];
};

static void run(struct run *r, const char *text)
{
	char err[256];
	FILE *f;

	r->c = xs_cpu_new(&model);
	if (xs_exec_setup_cpu(r->c, model.xcr0_supported, model.xss_supported, err, sizeof(err)))
		tap_diag("setup: %s", err);
	if (parse(&r->p, text, err, sizeof(err)))
		tap_diag("parse: %s", err);
	xs_exec_init(&r->e, r->c, &r->p);
	memset(r->out, 0, sizeof(r->out));
	f = fmemopen(r->out, sizeof(r->out) - 1, "w");
	r->st = xs_exec_run(&r->e, &r->p, 0, r->p.nops, f);
	fclose(f);
}

static void done(struct run *r)
{
	xs_exec_free(&r->e);
	xs_prog_free(&r->p);
	xs_cpu_free(r->c);
}

static void test_run(void)
{
	struct run r;
	uint64_t v;

	run(&r, "write ymm3 0x1122334455667788_99aabbccddeeff00_0102030405060708_090a0b0c0d0e0f10\n"
		"xsavec a\nxgetbv 1\nread ymm3\n");
	tap_eq_u64(r.st, XS_EXEC_OK, "run: program runs");
	memcpy(&v, r.e.buf[0] + XS_HDR_OFFSET + 8, 8);
	tap_eq_u64(v, XS_COMPACTED_BIT | model.xcr0_supported, "run: XSAVEC wrote XCOMP_BV");
	tap_ok(!memcmp(r.e.buf[0] + 160 + 48, "\x10\x0f\x0e\x0d", 4), "run: XMM3 low bytes in the image");
	tap_ok(r.e.buf[0][576 + 48] == 0x00 && r.e.buf[0][576 + 48 + 15] == 0x11,
	       "run: YMM3_H at the compacted AVX offset");
	tap_ok(strstr(r.out, "0x6\n") != NULL, "run: xgetbv 1 printed XINUSE");
	tap_ok(strstr(r.out, "0x112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f10")
	       != NULL, "run: read ymm3 printed the value");
	done(&r);

	run(&r, "xgetbv 0\nxrstor a+8\nxgetbv 0\n");
	tap_eq_u64(r.st, XS_EXEC_FAULT, "fault: misaligned XRSTOR faults");
	tap_eq_u64(r.e.fault, XS_GP, "fault: #GP");
	tap_eq_u64(r.e.fault_line, 2, "fault: line 2");
	tap_ok(strstr(r.e.fault_reason, "aligned") != NULL, "fault: reason names the alignment (%s)",
	       r.e.fault_reason);
	tap_ok(strchr(r.out, '\n') == strrchr(r.out, '\n'), "fault: nothing after it ran");
	done(&r);

	run(&r, "set a 512 0000000000000080\nxrstor a\n");
	tap_eq_u64(r.e.fault, XS_GP, "fault: XSTATE_BV[63] without compaction #GP");
	done(&r);

	run(&r, "cpl 3\nxsetbv 0 7\n");
	tap_eq_u64(r.e.fault, XS_GP, "fault: XSETBV at CPL 3 #GP");
	done(&r);

	run(&r, "ts 1\nxsave a\n");
	tap_eq_u64(r.e.fault, XS_NM, "fault: CR0.TS=1 #NM");
	done(&r);

	run(&r, "osxsave 0\nxsave a\n");
	tap_eq_u64(r.e.fault, XS_UD, "fault: CR4.OSXSAVE=0 #UD");
	done(&r);

	run(&r, "fill a 0x5a\nset a 2 0102\ndump a 0 32\n");
	tap_ok(strstr(r.out, "000000  5a 5a 01 02 5a") != NULL, "dump: hex dump");
	done(&r);

	run(&r, "dump a\n");
	tap_ok(strstr(r.out, "*\n") != NULL, "dump: repeated lines collapse to '*'");
	done(&r);

	run(&r, "rdmsr ia32_xss\ncpuid 0\nxinuse\n");
	tap_ok(strncmp(r.out, "0x", 2) == 0 && strstr(r.out, "eax=") && strstr(r.out, "xinuse="),
	       "run: rdmsr, cpuid and xinuse print");
	done(&r);
}

static void test_files(void)
{
	char path[] = "/tmp/xstate-test-prog-XXXXXX", prog[512];
	int fd = mkstemp(path);
	struct run r;
	FILE *f;

	tap_ok(fd >= 0, "files: temp file");
	if (fd < 0)
		return;
	close(fd);
	snprintf(prog, sizeof(prog), "write xmm2 0xabcd\nxsave a\nstore a %s\nload b %s\n", path,
		 path);
	run(&r, prog);
	tap_eq_u64(r.st, XS_EXEC_OK, "files: store and load");
	tap_ok(!memcmp(r.e.buf[0], r.e.buf[1], r.e.bufsize), "files: load gives back what store wrote");
	done(&r);

	f = fopen(path, "wb");
	for (size_t i = 0; i < xs_prog_bufsize(&model) + 1; i++)
		fputc(1, f);
	fclose(f);
	snprintf(prog, sizeof(prog), "fill b 7\nload b %s\n", path);
	run(&r, prog);
	tap_eq_u64(r.st, XS_EXEC_ERROR, "files: a file larger than the buffer is refused");
	tap_ok(strstr(r.e.err, "line 2: load b:") && strstr(r.e.err, "larger than"),
	       "files: precise message (%s)", r.e.err);
	tap_eq_u64(r.e.buf[0][0], 7, "files: the refused load left the buffer alone");
	done(&r);
	unlink(path);

	snprintf(prog, sizeof(prog), "load a %s\n", path);
	run(&r, prog);
	tap_eq_u64(r.st, XS_EXEC_ERROR, "files: missing file");
	tap_ok(strstr(r.e.err, "cannot open") && strstr(r.e.err, "No such file"),
	       "files: says why (%s)", r.e.err);
	done(&r);
}

static void test_decode(void)
{
	struct run r;
	char *out = NULL;
	size_t n;
	FILE *f;
	enum xs_decode_verdict v;

	run(&r, "write ymm3 0x11000000000000000000000000000000ff\nxsavec a\n"
		"xsave b\nset b 512 00000000000000000100\n");
	f = open_memstream(&out, &n);
	v = xs_decode_image(f, r.c, r.e.buf[0], r.e.bufsize, false);
	fclose(f);
	tap_eq_u64(v, XS_DECODE_RESTORES, "decode: an XSAVEC image restores");
	tap_ok(strstr(out, "compacted format") && strstr(out, "ymm3_h") &&
	       strstr(out, "0x00000000000000000000000000000011"), "decode: per-component registers");
	tap_ok(strstr(out, "xrstor (RFBM all ones): would restore") != NULL, "decode: verdict line");
	free(out);

	f = open_memstream(&out, &n);
	v = xs_decode_image(f, r.c, r.e.buf[1], r.e.bufsize, false);
	fclose(f);
	tap_eq_u64(v, XS_DECODE_FAULTS, "decode: XCOMP_BV without bit 63 faults");
	tap_ok(strstr(out, "would fault: #GP:") != NULL, "decode: reason given");
	free(out);

	f = open_memstream(&out, &n);
	v = xs_decode_image(f, r.c, r.e.buf[0], 100, false);
	fclose(f);
	tap_eq_u64(v, XS_DECODE_TRUNCATED, "decode: a 100-byte image is truncated, not a crash");
	tap_ok(strstr(out, "truncated") != NULL, "decode: says so");
	free(out);

	f = open_memstream(&out, &n);
	xs_decode_image(f, r.c, r.e.buf[0], r.e.bufsize, true);
	fclose(f);
	tap_ok(out[0] == '{' && strstr(out, "\"format\":\"compacted\"") &&
	       strstr(out, "\"verdict\":\"restores\"") && out[n - 2] == '}', "decode: JSON");
	free(out);
	done(&r);
}

static void test_setup(void)
{
	struct xs_cpu *c = xs_cpu_new(&model);
	char err[256];

	tap_ok(xs_exec_setup_cpu(c, 0x5, 0, err, sizeof(err)) != 0 && strstr(err, "XCR0 0x5"),
	       "setup: AVX without SSE is refused (%s)", err);
	tap_ok(xs_prog_bufsize(&model) % 64 == 0 && xs_prog_bufsize(&model) >= 4096 &&
	       xs_prog_bufsize(&model) >= xs_size_standard(&model, model.xcr0_supported),
	       "setup: buffer size %zu", xs_prog_bufsize(&model));
	xs_cpu_free(c);
}

int main(void)
{
	char err[512];

	tap_plan_lazy();
	if (xs_model_load("intel-sapphire-rapids", &model, err, sizeof(err)) != 0) {
		tap_ok(0, "load model: %s", err);
		return tap_done();
	}
	test_syntax();
	test_roundtrip();
	test_run();
	test_files();
	test_decode();
	test_setup();
	return tap_done();
}
