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
