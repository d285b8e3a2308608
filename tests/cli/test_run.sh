#!/bin/sh
# xstate run: every example passes (exit 0), a failing expectation exits 1
# with the failure in context, malformed files exit 2 with FILE:LINE, the
# seeded bug is caught, --json is machine-readable, and two runs with the
# same seed print identical traces (in separate processes, so no address
# could hide in them).
XSTATE=${XSTATE:-build/xstate}
TOP=${XSTATE_TOP:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0

ok() { # status name
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}

# run_rc EXPECTED-STATUS NAME ARGS...: xstate run ARGS exits with EXPECTED.
run_rc() {
	want=$1 name=$2
	shift 2
	"$XSTATE" run "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	# Sanitizer reports go to the log, where tests/run.sh counts them.
	grep -E 'Sanitizer|runtime error' "$tmp/err" && cat "$tmp/err"
	[ "$rc" -eq "$want" ]
	ok $? "$name (exit $rc)"
	if [ "$rc" -ne "$want" ]; then
		sed 's/^/#   /' "$tmp/out" | tail -5
		sed 's/^/#   /' "$tmp/err"
	fi
}

# Every example answers its question.
count=0
for f in "$TOP"/examples/*.xs; do
	[ -f "$f" ] || continue
	count=$((count + 1))
	run_rc 0 "example $(basename "$f")" "$f"
	grep -q '^PASS ' "$tmp/out"
	ok $? "example $(basename "$f") prints PASS"
	grep -q '^# Question:' "$f" && grep -q '^# Answer:' "$f"
	ok $? "example $(basename "$f") states its question and answer"
done
[ "$count" -ge 9 ]
ok $? "at least 9 examples ($count)"

# The seeded bug: the migration example fails, the shadow check says why.
run_rc 1 "mutant shortcut-ignores-last-cpu is caught" \
	"$TOP/examples/migration-restore.xs" --policy mutant=shortcut-ignores-last-cpu
grep -q '^FAIL .*migration-restore.xs:[0-9]*: shadow: t1 on cpu0 sees a stale value' "$tmp/out"
ok $? "the failure names file, line, check, task and CPU"
grep -q 'last trace lines:\|XRSTORS\|no restore' "$tmp/out"
ok $? "and shows the trace that led to it"

# A failing expectation: exit 1, the failing line and context.
cat >"$tmp/fail.xs" <<'EOF'
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0
t1 write ymm3 = fill:0xab
switch cpu0 to idle
expect restores == 7
expect owner cpu0 == t1
EOF
run_rc 1 "a failing expectation exits 1" "$tmp/fail.xs"
grep -q "^FAIL .*fail.xs:5: expectation failed: restores is 1, expected == 7" "$tmp/out"
ok $? "the failure shows the line and got/expected"
grep -q "at line 5: expect restores == 7" "$tmp/out"
ok $? "and the statement as written"
"$XSTATE" run "$tmp/fail.xs" --quiet >"$tmp/q" 2>&1
grep -q "last trace lines:" "$tmp/q" && grep -q "XSAVES" "$tmp/q"
ok $? "--quiet still shows the last trace lines on failure"

# JSON.
"$XSTATE" run "$tmp/fail.xs" --json >"$tmp/j"
rc=$?
[ $rc -eq 1 ] && grep -q '"result":"fail"' "$tmp/j" && grep -q '"failed":1' "$tmp/j" &&
	grep -q '"line":5' "$tmp/j" && grep -q '"passed":0' "$tmp/j" && grep -q '"not_run":1' "$tmp/j"
ok $? "--json: result, line, expectation counts"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["counters"]["saves"]==1 and d["failure"]["check"]=="expect" else 1)' "$tmp/j"
	ok $? "--json parses; counters and check"
fi
"$XSTATE" run "$TOP/examples/kfpu-in-irq.xs" --json >"$tmp/j2"
[ $? -eq 0 ] && grep -q '"result":"pass"' "$tmp/j2" && grep -q '"failure":null' "$tmp/j2"
ok $? "--json on a passing scenario"

# Malformed files: exit 2, "xstate run: FILE:LINE: reason" on stderr.
bad() { # line-number pattern name
	want_line=$1 pat=$2 bad_name=$3
	run_rc 2 "malformed: $bad_name" "$tmp/bad.xs"
	grep -q "^xstate run: .*bad.xs:$want_line: .*$pat" "$tmp/err"
	ok $? "malformed: $bad_name reports bad.xs:$want_line"
}
printf 'machine cpu=intel-sapphire-rapids\nthread t\nt write ymm99 = 1\n' >"$tmp/bad.xs"
bad 3 "not a register" "unknown register"
printf 'machine cpu=intel-sapphire-rapids\n\n# c\nswitch cpu0 to nobody_here\n' >"$tmp/bad.xs"
bad 4 "unknown task" "unknown task"
printf 'thread t\n' >"$tmp/bad.xs"
bad 1 "first statement must be" "missing machine line"
printf 'machine cpu=intel-sapphire-rapids cpus=2\nthread a on cpu0\nthread b on cpu1\nswitch cpu0 to b\n' >"$tmp/bad.xs"
bad 4 "b is running on cpu1" "impossible step at run time"
printf 'machine cpu=intel-sapphire-rapids\nthread t\nt write xmm0 = \001\002\n' >"$tmp/bad.xs"
bad 3 "expected a value" "binary junk"
head -c 4096 /dev/urandom >"$tmp/bad.xs"
run_rc 2 "random bytes" "$tmp/bad.xs"
printf 'machine cpu=intel-sapphire-rapids cpus=99999999999999999999999\n' >"$tmp/bad.xs"
bad 1 "expected a number" "a number beyond 64 bits"
printf 'machine cpu=intel-sapphire-rapids\nthread t\nt write xmm0 = 0x1%040d\n' 0 >"$tmp/bad.xs"
bad 3 "more than 16 bytes" "a value wider than the register"
printf 'machine cpu=intel-sapphire-rapids\nthread t\nt frobnicate\n' >"$tmp/bad.xs"
bad 3 "unknown task verb 'frobnicate'" "unknown verb"
printf 'machine cpu=intel-sapphire-rapids\nlater write xmm0 = 1\nthread later\n' >"$tmp/bad.xs"
bad 2 "unknown statement or task 'later'" "task used before its declaration"
{ echo 'machine cpu=intel-sapphire-rapids'; echo 'thread t'
  for i in $(seq 40); do echo 'irq cpu0 enter'; done; } >"$tmp/bad.xs"
bad 35 "interrupt entry refused" "interrupts nested too deep"
awk 'BEGIN { print "machine cpu=intel-sapphire-rapids cpus=2"; print "thread a"; print "thread b on cpu1"
	for (i = 0; i < 100000; i++) {
		if (i % 4 == 0) printf "a write zmm%d = 0x%x\n", i % 32, i
		else if (i % 4 == 1) print "irq cpu0 kfpu"
		else if (i % 4 == 2) printf "expect a zmm%d == 0x%x\n", (i - 2) % 32, i - 2
		else print "b syscall" } }' >"$tmp/big.xs"
run_rc 0 "100000 statements" "$tmp/big.xs" --quiet
printf 'machine cpu=intel-sapphire-rapids\n\nthread t\nt write xmm0 = \001\n' >"$tmp/bad.xs"
"$XSTATE" run "$tmp/bad.xs" --json >"$tmp/j3" 2>/dev/null
[ $? -eq 2 ] && grep -q '"result":"error".*"failure":{"line":4,' "$tmp/j3"
ok $? "--json on a malformed file names the line"
run_rc 2 "missing file" "$tmp/nonexistent.xs"
run_rc 2 "unknown option" "$tmp/fail.xs" --frob
run_rc 2 "bad --policy" "$tmp/fail.xs" --policy bogus=1
run_rc 2 "bad --seed" "$tmp/fail.xs" --seed x

# --trace: FS/GS lines only where a task uses FS/GS (a switch of tasks
# with selector 0 and base 0 says nothing).
"$XSTATE" run --trace "$TOP/examples/random-schedule.xs" >"$tmp/tr" 2>&1
! grep -q ' fsgs ' "$tmp/tr" && grep -q 'switch' "$tmp/tr"
ok $? "--trace: no FS/GS lines for tasks that never touch FS/GS"
"$XSTATE" run --trace "$TOP/examples/fsgs-q1a-same-cpu.xs" >"$tmp/tr" 2>&1
grep -q 'fsgs .*loaded at switch-in' "$tmp/tr"
ok $? "--trace: FS/GS lines for a task that set a base"

# Determinism: the same seed gives the same trace, byte for byte.
"$XSTATE" run "$TOP/examples/random-schedule.xs" --trace --seed 7 >"$tmp/t1" 2>&1
"$XSTATE" run "$TOP/examples/random-schedule.xs" --trace --seed 7 >"$tmp/t2" 2>&1
cmp -s "$tmp/t1" "$tmp/t2" && [ "$(wc -l <"$tmp/t1")" -gt 1000 ]
ok $? "same seed, same trace ($(wc -l <"$tmp/t1") lines)"
"$XSTATE" run "$TOP/examples/random-schedule.xs" --trace --seed 8 >"$tmp/t3" 2>&1
! cmp -s "$tmp/t1" "$tmp/t3"
ok $? "another seed, another trace"
"$XSTATE" run "$TOP/examples/fork-exec-exit.xs" --trace >"$tmp/t4" 2>&1
"$XSTATE" run "$TOP/examples/fork-exec-exit.xs" --trace >"$tmp/t5" 2>&1
cmp -s "$tmp/t4" "$tmp/t5"
ok $? "a scripted scenario's trace is reproducible too"

echo "1..$n"
