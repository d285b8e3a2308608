#!/bin/sh
# xstate conform: probe list, usage errors, each target alone, the side-by-side
# comparison (table and JSON), exit 1 on a difference. The probe answers are
# checked by tests/oracle/test_kconform_host.c (host) and
# tests/oracle/test_kconform_sim.c (host vs. simulated kernel).
XSTATE=${XSTATE:-build/xstate}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0

ok() { # status name
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}

"$XSTATE" conform --list >"$tmp/list"
ok $? "conform --list exits 0"
grep -q '^sigreturn.hdr_reserved_528 ' "$tmp/list"
ok $? "the list names the selftest's corrupt-header probe"
[ "$(wc -l <"$tmp/list")" -ge 50 ]
ok $? "the list has every probe (>= 50)"

"$XSTATE" conform --probe nosuchprobe >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "xstate conform: no probe matches 'nosuchprobe'" "$tmp/err"
ok $? "an unknown probe is a usage error (exit 2)"
"$XSTATE" conform --bogus >/dev/null 2>&1
ok $([ $? -eq 2 ]; echo $?) "an unknown option is a usage error"
"$XSTATE" conform --target moon >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "unknown target 'moon'" "$tmp/err"
ok $? "an unknown target is a usage error"
"$XSTATE" conform --policy restore=sideways >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "policy" "$tmp/err"
ok $? "a bad kernel policy is a usage error"
"$XSTATE" conform --cpus 0 >/dev/null 2>&1
ok $([ $? -eq 2 ]; echo $?) "--cpus 0 is a usage error"

# The simulated kernel alone: needs no host oracle (a built-in model if the
# host cannot be modelled).
model=
"$XSTATE" info --cpu host >/dev/null 2>&1 || model="--model $("$XSTATE" cpus 2>/dev/null | awk 'NR == 2 { print $1 }')"
# shellcheck disable=SC2086
"$XSTATE" conform --target sim $model --probe sigreturn.hdr_reserved_528 >"$tmp/sim" 2>"$tmp/err"
ok $? "conform --target sim runs a probe on the simulated kernel"
grep -Eq '^sigreturn.hdr_reserved_528 +end +SIGSEGV/0x80$' "$tmp/sim"
ok $? "sim: the corrupt header ends in SIGSEGV (SI_KERNEL)"

"$XSTATE" conform --target host --probe sigreturn.hdr_reserved_528 --probe prctl.auxv \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ] && grep -q 'needs x86-64 Linux' "$tmp/err"; then
	for i in 1 2 3 4 5 6 7 8; do skip "no host kernel oracle here"; done
	echo "1..$n"
	exit 0
fi
ok $rc "conform --target host runs two probes on the host"
grep -Eq '^sigreturn.hdr_reserved_528 +end +SIGSEGV/0x80$' "$tmp/out"
ok $? "host: the corrupt header ends in SIGSEGV (SI_KERNEL)"

"$XSTATE" conform --probe 'sigreturn.hdr_reserved_5*' --probe prctl.auxv >"$tmp/both" 2>"$tmp/err"
ok $? "both targets: no difference, exit 0"
grep -Eq '^sigreturn.hdr_reserved_528 +end +SIGSEGV/0x80 +SIGSEGV/0x80 += *$' "$tmp/both"
ok $? "the results are printed side by side with a match column"
grep -q '^sigreturn.hdr_reserved_575 .*linux: accepted' "$tmp/both" &&
	grep -Eq '^# [0-9]+ probes: 3 compared.*, 0 differ' "$tmp/both" &&
	grep -q '^# coverage by rule' "$tmp/both"
ok $? "notes where Linux departs from the spec, coverage by surface and rule"

"$XSTATE" conform --policy sigreturn-fail=keep --diffs --probe sigreturn.hdr_reserved_528 \
	>"$tmp/mut" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -Eq '^sigreturn.hdr_reserved_528 +segv.fp +init +handler +DIFF' "$tmp/mut" &&
	! grep -Eq ' =$' "$tmp/mut"
ok $? "a kernel that keeps the state on a bad frame differs (exit 1, --diffs)"

"$XSTATE" conform --json --probe fsgs.signal --probe prctl.amx_altstack >"$tmp/json"
ok $? "conform --json exits 0"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
p = {x["probe"]: x for x in d["probes"]}
s = p["fsgs.signal"]
r = {x["key"]: x for x in s["results"]}
ok = (d["targets"] == ["host", "sim"] and s["status"] == "compared"
      and r["signal.sigcontext_gs"]["host"] == "0x0" and r["signal.sigcontext_gs"]["match"] == "yes"
      and d["summary"]["differ"] == 0 and d["summary"]["results"] == len(s["results"])
      and p["prctl.amx_altstack"]["status"] in ("skipped", "compared")
      and any(x["surface"] == "fsgs" and x["results"] == len(s["results"])
              for x in d["coverage"]["surfaces"]))
sys.exit(0 if ok else 1)' "$tmp/json"
	ok $? "--json: both targets, per-result match, coverage and summary"
else
	grep -q '"probe":"fsgs.signal"' "$tmp/json"
	ok $? "--json names the selected probe"
fi
echo "1..$n"
