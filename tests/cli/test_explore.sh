#!/bin/sh
# xstate explore: a short run on the default manager finds nothing (exit 0);
# a mutant run exits 1 with a minimized counterexample that `xstate run`
# reproduces (exit 1) and that passes without the mutant (exit 0); the
# mutant list is one name per line; --json is one object; shards merge into
# one report; the exhaustive mode counts states; bad options exit 2.
XSTATE=${XSTATE:-build/xstate}
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

# ex WANT NAME ARGS...: xstate ARGS exits WANT; output in $tmp/out, $tmp/err.
ex() {
	want=$1 name=$2
	shift 2
	"$XSTATE" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	grep -E 'Sanitizer|runtime error' "$tmp/err" && cat "$tmp/err"
	[ "$rc" -eq "$want" ]
	ok $? "$name (exit $rc)"
	if [ "$rc" -ne "$want" ]; then
		sed 's/^/#   /' "$tmp/out" | tail -12
		sed 's/^/#   /' "$tmp/err" | tail -5
	fi
}

has() { # PATTERN NAME
	grep -q -- "$1" "$tmp/out"
	ok $? "$2"
}

ex 0 "the default manager passes a short exploration" explore --steps 50000 --seed 3
has "no invariant broke" "  and says so"
has "searched" "  with the summary"

ex 1 "a mutant is found" explore --mutant kfpu-keeps-owner --steps 200000 \
	--out "$tmp/cx.xs"
has "BROKEN" "  the report names the broken invariant"
has "first failing step" "  the first failing step"
has "minimized:" "  the minimization"
has "^machine cpu=" "  the counterexample is a scenario"
has "its trace" "  with its trace"
[ -s "$tmp/cx.xs" ]
ok $? "  --out wrote the counterexample"
ops=$(grep -v -E '^(#|machine|invariants)' "$tmp/cx.xs" | grep -c .)
[ "$ops" -ge 1 ] && [ "$ops" -le 15 ]
ok $? "  minimized to $ops operations (<= 15)"
ex 1 "xstate run reproduces the counterexample" run "$tmp/cx.xs" --quiet
sed 's/ mutant=[a-z-]*//' "$tmp/cx.xs" >"$tmp/clean.xs"
ex 0 "the same scenario passes on the unmutated manager" run "$tmp/clean.xs" --quiet

# The minimizer replaces a fork/clone chain by a thread of its own: this
# seed's failing program creates the vCPU thread as the fourth link of
# thread/fork/clone/clone; plain ddmin and single removals leave 14 steps.
ex 1 "a counterexample behind a chain of forks" explore --mutant guest-state-leak \
	--seed 2000007 --steps 600000 --no-trace --out "$tmp/chain.xs"
ops=$(grep -v -E '^(#|machine|invariants)' "$tmp/chain.xs" | grep -c .)
! grep -q -E '^(fork|clone) ' "$tmp/chain.xs" && [ "$ops" -le 10 ]
ok $? "  minimized to $ops operations, no fork or clone left"
ex 1 "  and it reproduces" run "$tmp/chain.xs" --quiet

ex 0 "--list-mutants" explore --list-mutants
lines=$(wc -l <"$tmp/out")
grep -q '^kfpu-keeps-owner$' "$tmp/out" && grep -q '^shortcut-ignores-last-cpu$' "$tmp/out" &&
	! grep -q ' ' "$tmp/out"
ok $? "  one name per line ($lines mutants)"

ex 0 "--json" explore --steps 20000 --json
grep -q '^{"tool":"xstate explore","result":"pass".*"violation":null}$' "$tmp/out"
ok $? "  one object, result pass, no violation"

# Two shards cover disjoint programs and merge into one report.
ex 1 "shard 0/2 of a mutant run" explore --mutant fork-skips-load --steps 400000 --shard 0/2 \
	--json
cp "$tmp/out" "$tmp/s0.json"
ex 1 "shard 1/2" explore --mutant fork-skips-load --steps 400000 --shard 1/2 --json
cp "$tmp/out" "$tmp/s1.json"
ex 1 "--merge of the two shards" explore --merge "$tmp/s0.json" "$tmp/s1.json"
has "merged 2 shard reports" "  the merged report counts both"
has "2 shards" "  and the shard count"
has "^machine cpu=" "  with the counterexample"
ex 1 "--merge --json" explore --merge "$tmp/s0.json" "$tmp/s1.json" --json
grep -q '"merged":2,"result":"fail"' "$tmp/out" && grep -q '"missing_shards":0' "$tmp/out"
ok $? "  merged JSON: both shards, a failure"
ex 2 "--merge of one shard twice is refused" explore --merge "$tmp/s0.json" "$tmp/s0.json"
printf 'not json\n' >"$tmp/bad.json"
ex 2 "--merge of a file that is not a report" explore --merge "$tmp/bad.json"

ex 0 "exhaustive mode" explore --exhaustive --depth 2
has "distinct states" "  reports the distinct states it visited"
ex 1 "exhaustive mode finds a mutant" explore --exhaustive --depth 3 --mutant kfpu-keeps-owner \
	--no-trace

# bench explore: both job counts, alternating rounds, the JSON fields.
ex 0 "bench explore --json" bench explore --seconds 0.4 --rounds 2 --json
if ! command -v python3 >/dev/null 2>&1; then # a fresh machine may lack it: the fields, by text
	grep -q '"rounds":2,.*"steps_per_s_1":[1-9].*"steps_per_s_2":[1-9]' "$tmp/out" &&
		json_ok=1 || json_ok=0
else json_ok=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(int(d["rounds"] == 2 and d["steps_1"] > 0 and d["steps_2"] > 0 and
          d["steps_per_s_1"] > 0 and d["cpu_steps_per_s_2"] > 0 and d["scaling"] > 0))' \
	"$tmp/out" 2>/dev/null || echo 0)
fi
[ "$json_ok" = 1 ]
ok $? "  steps and rates for 1 and 2 jobs, rounds 2, scaling"
ex 2 "bench explore --rounds 0" bench explore --rounds 0
ex 2 "bench explore --seconds -1" bench explore --seconds -1

ex 2 "unknown option" explore --frobnicate
ex 2 "--steps and --seconds together" explore --steps 10 --seconds 1
ex 2 "bad --shard" explore --shard 2/2
ex 2 "unknown mutant" explore --mutant no-such-bug
ex 2 "unknown invariant" explore --invariants bogus
ex 2 "--depth without --exhaustive" explore --depth 3

echo "1..$n"
