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
	want_line=$1 pat=$2 name=$3
	run_rc 2 "malformed: $name" "$tmp/bad.xs"
	grep -q "^xstate run: .*bad.xs:$want_line: .*$pat" "$tmp/err"
	ok $? "malformed: $name reports bad.xs:$want_line"
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
run_rc 2 "missing file" "$tmp/nonexistent.xs"
run_rc 2 "unknown option" "$tmp/fail.xs" --frob
run_rc 2 "bad --policy" "$tmp/fail.xs" --policy bogus=1
run_rc 2 "bad --seed" "$tmp/fail.xs" --seed x

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
