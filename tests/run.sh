#!/bin/sh
# Run every test program (TAP) and CLI test script against one build directory.
#   tests/run.sh BUILD_DIR [LAYER]
# Writes "passed failed skipped" to BUILD_DIR/test-counts and prints a summary.
# A program that exits non-zero without a failing TAP line (a crash, a
# sanitizer report) counts as one failure.
build=${1:-build}
only=${2:-}
xstate="$(cd "$(dirname "$build/xstate")" && pwd)/xstate"
export XSTATE="$xstate"
export XSTATE_TOP="$(pwd)"
logdir="$build/test-logs"
mkdir -p "$logdir"
pass=0 fail=0 skip=0

run_one() { # name command...
	name=$1; shift
	log="$logdir/$(echo "$name" | tr '/' '_').log"
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok [0-9]*' "$log" | head -1)
	s=$(grep -c '^ok [0-9]* # SKIP' "$log" | head -1)
	f=$(grep -c '^not ok [0-9]*' "$log" | head -1)
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "  $name: exit status $rc without a failing check" >>"$log"
	fi
	if grep -q 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$log"; then
		f=$((f + 1))
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if [ "$f" -ne 0 ]; then
		echo "FAIL $name ($p passed, $f failed, $s skipped)"
		grep -E '^not ok|^#|ERROR|runtime error|exit status' "$log" | head -40 | sed 's/^/    /'
	else
		echo "ok   $name ($p passed, $s skipped)"
	fi
}

for layer in arch kernel sim oracle; do
	[ -n "$only" ] && [ "$only" != "$layer" ] && continue
	for t in "$build"/tests/$layer/test_*; do
		[ -x "$t" ] || continue
		run_one "$layer/$(basename "$t")" "$t"
	done
done
if [ -z "$only" ] || [ "$only" = cli ]; then
	for t in tests/cli/*.sh; do
		[ -f "$t" ] || continue
		run_one "cli/$(basename "$t")" sh "$t"
	done
fi
echo "$pass $fail $skip" >"$build/test-counts"
echo "$build: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
