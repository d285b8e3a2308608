#!/bin/sh
# xstate conform: probe list, host-only runs (table and JSON), selection and
# usage errors. The probe answers themselves are checked by
# tests/oracle/test_kconform_host.c; here only the command's behaviour.
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
"$XSTATE" conform --target sim >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "only 'host'" "$tmp/err"
ok $? "--target sim is refused until the simulated target exists"

"$XSTATE" conform --probe sigreturn.hdr_reserved_528 --probe prctl.auxv >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ] && grep -q 'needs x86-64 Linux' "$tmp/err"; then
	skip "no host kernel oracle here"
	skip "no host kernel oracle here"
	skip "no host kernel oracle here"
	skip "no host kernel oracle here"
	echo "1..$n"
	exit 0
fi
ok $rc "conform runs two probes on the host"
grep -q '^# host only' "$tmp/out"
ok $? "the output says the comparison is pending"
grep -Eq '^sigreturn.hdr_reserved_528 +end +SIGSEGV/0x80$' "$tmp/out"
ok $? "the corrupt header ends in SIGSEGV (SI_KERNEL)"

"$XSTATE" conform --json --probe fsgs.signal >"$tmp/json"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
p = d["probes"]
sys.exit(0 if d["comparison"] == "pending" and len(p) == 1 and p[0]["probe"] == "fsgs.signal"
         and p[0]["results"]["signal.sigcontext_gs"] == "0x0" else 1)' "$tmp/json"
	ok $? "--json is valid JSON with the selected probe"
else
	grep -q '"probe": "fsgs.signal"' "$tmp/json"
	ok $? "--json names the selected probe"
fi
echo "1..$n"
