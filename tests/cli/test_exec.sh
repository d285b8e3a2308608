#!/bin/sh
# xstate exec / decode / bench insn / probe / diff-hw from the command line.
# TAP output; $XSTATE is the tool, $XSTATE_TOP the repository.
X=${XSTATE:-build/xstate}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

ok() { # ok COND-STATUS NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}
# run NAME: runs the rest, keeps stdout/stderr/status in $tmp/out, $tmp/err, $rc
run() {
	rc=0
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}
has() { grep -q -- "$1" "$2"; }

echo "TAP version 13"

# --- exit statuses ---
run "$X" exec 'xsave a' 'xgetbv 0'
ok $rc "exec: a good program exits 0"
has '^0x' "$tmp/out"
ok $? "exec: xgetbv prints 0x..."

run "$X" exec 'xsave a' 'xsvae a'
[ "$rc" -eq 2 ]
ok $? "exec: bad syntax exits 2"
has "line 2: unknown operation 'xsvae'" "$tmp/err"
ok $? "exec: ... naming the line"

run "$X" exec 'xgetbv 0' 'xrstor a+8' 'xgetbv 0'
[ "$rc" -eq 3 ]
ok $? "exec: a fault exits 3"
has '^#GP: ' "$tmp/err"
ok $? "exec: '#GP: reason' on stderr"
[ "$(grep -c . "$tmp/out")" -eq 1 ]
ok $? "exec: nothing after the fault ran"

run "$X" exec --cpu no-such-cpu 'xsave a'
[ "$rc" -eq 2 ]
ok $? "exec: unknown --cpu is a usage error"
run "$X" exec --xcr0 0x5 'xsave a'
[ "$rc" -eq 2 ] && has 'XCR0 0x5' "$tmp/err"
ok $? "exec: an XCR0 XSETBV refuses is a usage error"

printf '# a comment\n\nwrite xmm1 0x42  # trailing comment\nread xmm1\n' >"$tmp/p.txt"
run "$X" exec <"$tmp/p.txt"
[ "$rc" -eq 0 ] && has '^0x0*42$' "$tmp/out"
ok $? "exec: program from standard input, comments and blank lines"

# --- each operation ---
run "$X" exec --cpu intel-sapphire-rapids \
	'fill f 0xa5' 'set f 0 7f03' 'dump f 0 16' \
	'write ymm3 0x1_0000000000000000_0000000000000000_0000000000000002' 'read ymm3' \
	'xsave a' 'xsaveopt b' 'xsavec c x87|sse|avx' 'xsaves d' 'xrstor a' 'xrstor c' 'xrstors d' \
	'xgetbv 1' 'xsetbv 0 0x602e7' 'wrmsr IA32_XSS 0x100' 'rdmsr IA32_XSS' 'ldmxcsr 0x1f80' \
	'fninit' 'vzeroupper' 'tilerelease' 'cpuid 0' 'xinuse' "store a $tmp/a.img" \
	"load e $tmp/a.img" 'decode e' 'ts 0' 'ac 0' 'osxsave 1' 'cpl 3' 'xsave a+64'
ok $rc "exec: every operation runs (status $rc: $(head -c 200 "$tmp/err"))"
has '^000000  7f 03 a5 a5' "$tmp/out"
ok $? "exec: fill, set, dump"
has '^0x0000000000000001000000000000000000000000000000000000000000000002$' "$tmp/out"
ok $? "exec: write/read ymm3"
has '^0x100$' "$tmp/out"
ok $? "exec: wrmsr/rdmsr IA32_XSS"
has 'eax=0x000602e7' "$tmp/out"
ok $? "exec: cpuid 0"
has 'xinuse=0x' "$tmp/out"
ok $? "exec: xinuse"
has 'XSAVE image: ' "$tmp/out"
ok $? "exec: store, load, decode"

run "$X" exec 'cpl 3' 'wrmsr IA32_XSS 0'
[ "$rc" -eq 3 ] && has '^#GP' "$tmp/err"
ok $? "exec: WRMSR at CPL 3 is #GP"
run "$X" exec 'ts 1' 'xsave a'
[ "$rc" -eq 3 ] && has '^#NM' "$tmp/err"
ok $? "exec: CR0.TS=1 is #NM"
run "$X" exec 'osxsave 0' 'xgetbv 0'
[ "$rc" -eq 3 ] && has '^#UD' "$tmp/err"
ok $? "exec: CR4.OSXSAVE=0 is #UD"
run "$X" exec 'load a /nonexistent/file'
[ "$rc" -eq 1 ] && has "line 1: load a: cannot open '/nonexistent/file'" "$tmp/err"
ok $? "exec: a missing file is status 1 with the reason"

# --- decode ---
"$X" exec 'write ymm2 0x7_0000000000000000_0000000000000000' 'xsavec a' "store a $tmp/good.img" \
	'set a 512 0000000000000040' "store a $tmp/bad.img" >/dev/null 2>&1
run "$X" decode "$tmp/good.img"
[ "$rc" -eq 0 ] && has 'ymm2_h  *0x00000000000000000000000000000007' "$tmp/out" &&
	has 'would restore' "$tmp/out"
ok $? "decode: a good image restores (exit 0), registers shown"
run "$X" decode "$tmp/bad.img"
[ "$rc" -eq 3 ] && has 'would fault: #GP: ' "$tmp/out"
ok $? "decode: a bad image: exit 3 and the #GP reason"
run "$X" decode --json "$tmp/good.img"
[ "$rc" -eq 0 ] && has '"verdict":"restores"' "$tmp/out"
ok $? "decode --json"
head -c 100 "$tmp/good.img" >"$tmp/short.img"
run "$X" decode "$tmp/short.img"
[ "$rc" -eq 1 ] && has 'truncated' "$tmp/out"
ok $? "decode: a truncated file is reported (exit 1), not crashed on"
run "$X" decode "$tmp/none.img"
[ "$rc" -eq 1 ] && has 'cannot open' "$tmp/err"
ok $? "decode: a missing file"
run "$X" decode
[ "$rc" -eq 2 ]
ok $? "decode: no FILE is a usage error"

# --- start state, load, decode verdicts ---
run "$X" exec --cpu intel-sapphire-rapids 'rdmsr IA32_XSS' 'xgetbv 0'
[ "$rc" -eq 0 ] && [ "$(tr '\n' ' ' <"$tmp/out")" = "0xdd00 0x602e7 " ]
ok $? "exec: XCR0 and IA32_XSS default to everything the model supports"
run "$X" exec --cpu intel-sapphire-rapids --xss 0x100 --xcr0 'x87|sse' 'rdmsr IA32_XSS' 'xgetbv 0'
[ "$rc" -eq 0 ] && [ "$(tr '\n' ' ' <"$tmp/out")" = "0x100 0x3 " ]
ok $? "exec: --xcr0 and --xss set the start state"
printf 'abc' >"$tmp/three.bin"
run "$X" exec 'fill a 0xff' "load a $tmp/three.bin" 'dump a 0 16'
[ "$rc" -eq 0 ] && has '^000000  61 62 63 00 00 00 00 00  00 00 00 00 00 00 00 00' "$tmp/out"
ok $? "exec: load of a short file zeroes the rest of the buffer"
"$X" exec 'wrmsr IA32_PASID 0x80000001' 'xsaves a' "store a $tmp/sup.img" >/dev/null 2>&1
run "$X" decode "$tmp/sup.img"
[ "$rc" -eq 3 ] && has '^xrstor (RFBM all ones): would fault: #GP: XRSTOR: XCOMP_BV bit 8 (pt)' "$tmp/out" &&
	has '^xrstors (RFBM all ones): would restore' "$tmp/out" && has 'pasid  *0x0*80000001' "$tmp/out"
ok $? "decode: an XSAVES image: XRSTOR faults (exit 3), XRSTORS at CPL 0 restores"
"$X" exec 'wrmsr IA32_PL3_SSP 0x1001' >/dev/null 2>&1
[ $? -eq 3 ]
ok $? "exec: WRMSR PL3_SSP not 4-byte aligned is #GP (exit 3)"

# --- hostile programs: precise errors, never a crash ---
two=$(printf 'xsave a\nxrstor a')
run "$X" exec "$two" 'xgetbv 0'
[ "$rc" -eq 0 ] && has '^0x602e7$' "$tmp/out"
ok $? "exec: an argument holding newlines is several lines"
two=$(printf 'xsave a\nbogus')
run "$X" exec 'xgetbv 0' "$two"
[ "$rc" -eq 2 ] && has "line 3: unknown operation 'bogus'" "$tmp/err"
ok $? "exec: lines of multi-line arguments are numbered in order"
printf 'xsave a\nxgetbv 0\nxr\000stor a\n' | run "$X" exec
[ "$rc" -eq 2 ] && has 'line 3: contains a NUL byte' "$tmp/err" && [ ! -s "$tmp/out" ]
ok $? "exec: a NUL byte is a syntax error at its line, nothing runs"
printf 'xs\033[2Jave a\n' | run "$X" exec
[ "$rc" -eq 2 ] && ! grep -q "$(printf '\033')" "$tmp/err"
ok $? "exec: control characters in the program are not echoed to the terminal"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import sys; sys.stdout.write("set a 0 " + "00" * 5000000 + "\n")' | run "$X" exec
	[ "$rc" -eq 2 ] && has 'line 1: line is longer than' "$tmp/err"
	ok $? "exec: a 10 MB line is refused with its line number"
else
	skip "no python3"
fi
head -c 200000 /dev/urandom >"$tmp/junk.bin" 2>/dev/null || dd if=/dev/urandom of="$tmp/junk.bin" bs=1000 count=200 2>/dev/null
run "$X" exec <"$tmp/junk.bin"
[ "$rc" -eq 2 ]
ok $? "exec: binary junk on standard input is exit 2"
run "$X" exec 'xsave a+18446744073709551616' 'dump a 99999999999999999999 1' 'fill a 256'
[ "$rc" -eq 2 ] && has 'line 1: xsave' "$tmp/err"
ok $? "exec: offsets past 64 bits are a syntax error"
run "$X" exec 'xsave a+4096'
[ "$rc" -eq 3 ] && has '^#PF: XSAVE: the area' "$tmp/err"
ok $? "exec: an operand that runs past the buffer is #PF"
run "$X" exec "load a $tmp/junk.bin"
[ "$rc" -eq 1 ] && has 'larger than the' "$tmp/err"
ok $? "exec: a file larger than the buffer is refused"
run "$X" exec --cpu "$tmp/junk.bin" 'xgetbv 0'
[ "$rc" -eq 2 ] && has 'NUL byte' "$tmp/err"
ok $? "exec: a binary --cpu file is a usage error"
for f in junk.bin three.bin; do
	run "$X" decode --json "$tmp/$f"
	{ [ "$rc" -eq 1 ] || [ "$rc" -eq 3 ] || [ "$rc" -eq 0 ]; } && has '"xrstor":{"verdict"' "$tmp/out" &&
		! has 'Sanitizer\|runtime error' "$tmp/err"
	ok $? "decode --json $f: a verdict, not a crash (status $rc)"
done
printf '\000\000\000' | head -c 0 >"$tmp/empty.img"
run "$X" decode "$tmp/empty.img"
[ "$rc" -eq 1 ] && has 'header: missing' "$tmp/out"
ok $? "decode: an empty file has no header (exit 1)"

# --- host oracle commands (need XSAVE in user mode) ---
if "$X" exec --compare 'cpl 3' 'xgetbv 0' >/dev/null 2>&1; then
	run "$X" bench insn --json --iterations 2000
	if [ "$rc" -eq 0 ] && command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ratio"] > 0 and d["model_ns"] > 0 and d["silicon_ns"] > 0 and d["iterations"] == 2000' "$tmp/out"
		ok $? "bench insn --json parses and has ratio, ns, iterations"
	else
		grep -q '"ratio":[0-9]' "$tmp/out"
		ok $? "bench insn --json has a ratio (status $rc)"
	fi
	run "$X" probe --out "$tmp/host.txt"
	[ "$rc" -eq 0 ] && has '^# impl.mxcsr_mask: ' "$tmp/host.txt"
	ok $? "probe --out writes a model file with impl.* headers"
	run "$X" info --cpu "$tmp/host.txt"
	ok $rc "probe: the file it writes loads as a CPU model"
	run "$X" exec --compare 'cpl 3' 'write ymm1 0x5_0000000000000000_0000000000000001' 'xsave a' \
		'xrstor a' 'xgetbv 1'
	[ "$rc" -eq 0 ] && has '^-- agree' "$tmp/out"
	ok $? "exec --compare: model and silicon agree"
	run "$X" diff-hw --cases 400 --json
	[ "$rc" -eq 0 ] && has '"mismatches":0' "$tmp/out"
	ok $? "diff-hw --cases 400: no mismatch (status $rc)"
else
	skip "no XSAVE in user mode on this host: bench insn, probe, diff-hw"
fi
run "$X" bench nosuch
[ "$rc" -eq 2 ]
ok $? "bench: unknown benchmark is a usage error"

echo "1..$n"
[ "$fails" -eq 0 ]
