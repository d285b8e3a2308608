#!/bin/sh
# Special states on the command line: `xstate info` shows the classes of
# seed 000 (text and JSON, per policy), the special-state examples pass,
# and each mutant and alternative policy makes the scenario that asks about
# it fail (exit 1) at the expectation that shows it.
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

json_check() { # file python-expression
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ('"$2"') else 1)' "$1" \
		2>/dev/null
}

have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1

# --- xstate info: the classes ---
"$XSTATE" info --cpu intel-sapphire-rapids >"$tmp/info"
grep -Eq '^ +9 +pkru +user +8 .* user-affects-kernel$' "$tmp/info"
ok $? "info: pkru is user-affects-kernel in the component table"
grep -Eq '^ +12 +cet_s +supervisor-affects-kernel +3 +guest-only' "$tmp/info"
ok $? "info: cet_s is class 3, guest-only"
grep -Eq '^ +11 +cet_u +supervisor-affects-user +2 ' "$tmp/info" &&
	grep -Eq '^ +15 +lbr +independent ' "$tmp/info" &&
	grep -Eq '^ +14 +uintr +unsupported .*never merged' "$tmp/info"
ok $? "info: cet_u class 2, lbr independent, uintr unsupported (RFC)"
"$XSTATE" info --cpu intel-sapphire-rapids --policy uintr=independent,cet-s=independent >"$tmp/info2"
grep -Eq '^ +14 +uintr +supervisor-affects-user +2 +independent' "$tmp/info2" &&
	grep -Eq '^ +12 +cet_s +supervisor-affects-kernel +3 +independent' "$tmp/info2"
ok $? "info --policy: uintr and cet_s handled as independent"
"$XSTATE" info --cpu amd-zen2-rome >"$tmp/info3"
grep -Eq '^ +9 +pkru +unsupported .*no CPUID gate \(pku\)' "$tmp/info3"
ok $? "info: Zen 2's PKRU (no PKU) is not enabled, with the reason"
"$XSTATE" info --policy bogus=1 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "^xstate info: --policy: unknown policy 'bogus'" "$tmp/err"
ok $? "info --policy with a bad setting: exit 2 and the reason"
if [ "$have_python" -eq 1 ]; then
	"$XSTATE" info --cpu intel-sapphire-rapids --json >"$tmp/j"
	json_check "$tmp/j" '[c["linux_class"] for c in d["components"] if c["name"] in ("pkru", "cet_s", "lbr")] == ["user-affects-kernel", "supervisor-affects-kernel", "independent"] and [c["linux_seed000"] for c in d["components"] if c["name"] in ("x87", "cet_u", "cet_s")] == [1, 2, 3] and d["linux_kernel"]["error"] is None'
	ok $? "info --json: linux_class, linux_seed000, linux_kernel"
	"$XSTATE" info --cpu intel-icelake-sp --policy uintr=ordinary --json >"$tmp/j2"
	json_check "$tmp/j2" 'd["linux_kernel"]["error"].startswith("uintr=ordinary") and all(c["linux_class"] is None for c in d["components"])'
	ok $? "info --json: a refused boot leaves the classes null, with the reason"
else
	n=$((n + 1)); echo "ok $n # SKIP no python3"
	n=$((n + 1)); echo "ok $n # SKIP no python3"
fi

# --- the examples and what breaks them ---
for f in pkru-eager-switch pkru-fork-exec pkru-signal-ptrace cet-shstk cet-s-guest cet-s-task \
	cet-s-independent uintr-off uintr-ordinary uintr-independent lbr-independent \
	seed000-xsaves-twice seed000-classes; do
	"$XSTATE" run --quiet "$TOP/examples/$f.xs" >"$tmp/out" 2>&1
	ok $? "$f.xs passes"
done

# fail_at FILE LINE-TEXT POLICY: exit 1 at the first line containing LINE-TEXT.
fail_at() {
	line=$(grep -n -- "$2" "$TOP/examples/$1" | grep -v ':#' | head -1 | cut -d: -f1)
	"$XSTATE" run --quiet "$TOP/examples/$1" --policy "$3" >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] && grep -q "^FAIL .*$1:$line:" "$tmp/out"
	ok $? "$1 --policy $3: exit $rc at line $line"
}
fail_at pkru-eager-switch.xs 'expect uaccess a write 1 == ok' mutant=pkru-lazy
fail_at uintr-independent.xs '0xec        # restored by the return' mutant=uintr-shortcut
fail_at cet-shstk.xs 'set 0x10003 fails EINVAL' mutant=shstk-set-unchecked
fail_at uintr-ordinary.xs 'expect config default & uintr == uintr' uintr=independent
fail_at cet-s-guest.xs 'expect config default & cet_s == 0' cet-s=task
echo "1..$n"
