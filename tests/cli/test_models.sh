#!/bin/sh
# xstate cpus / info / layout: listing, every built-in, files, host, JSON
# fields and numbers, and usage errors (exit 2, FILE:LINE).
XSTATE=${XSTATE:-build/xstate}
TOP=${XSTATE_TOP:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

ok() { # cond-status name
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}

have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1

# json_check FILE PYTHON-EXPR [GREP-PATTERN...]: the expression over d (the
# parsed JSON) must be true; without python3 each pattern must be in the file.
json_check() {
	f=$1 expr=$2
	shift 2
	if [ $have_python -eq 1 ]; then
		python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$f" "$expr"
	else
		for p in "$@"; do
			grep -q -- "$p" "$f" || return 1
		done
		return 0
	fi
}

echo "TAP version 13"

# --- cpus ---
models=$(ls "$TOP"/data/cpus/*.txt | sed 's|.*/||; s|\.txt$||')
"$XSTATE" cpus >"$tmp/cpus" 2>"$tmp/err"
ok $? "cpus exits 0"
missing=0
for m in $models; do
	grep -q "^$m " "$tmp/cpus" || { missing=1; echo "# cpus does not list $m"; }
done
ok $missing "cpus lists every data/cpus model"
ok $([ "$(echo "$models" | wc -l)" -eq 13 ] && [ "$(grep -c '^[a-z]' "$tmp/cpus")" -eq 13 ]; echo $?) \
	"cpus lists 13 models"
grep -q '^intel-sapphire-rapids .*0x602e7 .*0xdd00 .*\[default\]' "$tmp/cpus"
ok $? "cpus shows SPR supported XCR0/XSS and marks the default"
"$XSTATE" cpus --json >"$tmp/cpus.json"
json_check "$tmp/cpus.json" 'len(d["cpus"]) == 13 and d["default"] == "intel-sapphire-rapids" and
  [c for c in d["cpus"] if c["name"] == "amd-zen2-rome"][0]["xcr0_supported"] == "0x207"' \
	'"default":"intel-sapphire-rapids"' '"name":"amd-zen2-rome"'
ok $? "cpus --json"

# --- info for every built-in ---
bad=0
for m in $models; do
	"$XSTATE" info --cpu "$m" >"$tmp/info" 2>&1 || { bad=1; echo "# info --cpu $m failed"; }
	grep -q "^CPU model   $m (builtin)" "$tmp/info" || { bad=1; echo "# info --cpu $m: no identity"; }
	grep -q 'XSAVEOPT' "$tmp/info" && grep -q 'mxcsr_mask' "$tmp/info" || bad=1
	"$XSTATE" info --cpu "$m" --json >"$tmp/info.json" 2>&1 || bad=1
	json_check "$tmp/info.json" 'd["name"] == "'"$m"'" and d["sizes"]["standard_max"] > 0 and
	  all("linux_class" in c for c in d["components"])' "\"name\":\"$m\"" || {
		bad=1
		echo "# info --cpu $m --json"
	}
done
ok $bad "info and info --json work for every built-in model"

"$XSTATE" info --cpu intel-sapphire-rapids >"$tmp/info"
grep -Eq '^ +18 +xtiledata +user +8192 +2816 +3584 +yes +yes' "$tmp/info"
ok $? "info component row: TILEDATA size, standard and compacted offset, align64, xfd"
grep -Eq '^ +8 +pt +supervisor +128 +- ' "$tmp/info"
ok $? "info: supervisor PT has no standard offset"
grep -Eq 'compacted, all supported components \(XCR0\|IA32_XSS\) +11776' "$tmp/info"
ok $? "info: compacted size of everything supported"
grep -Eq '^Kernel configuration: kernel on intel-sapphire-rapids' "$tmp/info" &&
	grep -Eq '^  user dynamic +0x40000 +xtiledata' "$tmp/info" &&
	grep -Eq '^  user max size +11008 bytes' "$tmp/info"
ok $? "info: the kernel's boot configuration (taxonomy, buffer sizes)"
"$XSTATE" info --cpu intel-sapphire-rapids --policy restore=lazy >"$tmp/info"
grep -Eq '^  not enabled \(lazy restore\) +0x60000 +xtilecfg\|xtiledata' "$tmp/info"
ok $? "info --policy restore=lazy: AMX left out of XCR0, shown in the kernel configuration"
"$XSTATE" info --cpu intel-sapphire-rapids --json >"$tmp/info.json"
json_check "$tmp/info.json" 'd["instructions"]["xfd"] and d["features"]["amx_tile"] and
  d["impl"]["mxcsr_mask"] == "0xffff" and d["sizes"] == {"standard_max": 11008, "compacted_max": 11776} and
  [c for c in d["components"] if c["index"] == 17][0]["compacted_offset"] == 3520' \
	'"mxcsr_mask":"0xffff"' '"standard_max":11008'
ok $? "info --json: instructions, features, impl, sizes, offsets"

"$XSTATE" info --cpu "$TOP/data/cpus/amd-zen2-rome.txt" >"$tmp/info" 2>&1
ok $? "info --cpu FILE exits 0"
grep -q "amd-zen2-rome ($TOP/data/cpus/amd-zen2-rome.txt)" "$tmp/info" &&
	grep -q -- '-pku' "$tmp/info" && grep -q '0x2ffff' "$tmp/info"
ok $? "info --cpu FILE: identity, PKU absent on Zen 2, AMD MXCSR_MASK"

case $(uname -m) in
x86_64 | i?86)
	"$XSTATE" info --cpu host >"$tmp/info" 2>&1
	ok $? "info --cpu host exits 0"
	grep -q '^CPU model   host (host CPUID)' "$tmp/info"
	ok $? "info --cpu host identity"
	"$XSTATE" layout --cpu host --json >"$tmp/l.json"
	ok $? "layout --cpu host --json"
	;;
*)
	skip "host is not x86"
	skip "host is not x86"
	skip "host is not x86"
	;;
esac

# --- layout ---
"$XSTATE" layout --cpu intel-sapphire-rapids --xcr0 0x602e7 --xss 0 --format compacted --json \
	>"$tmp/l.json"
ok $? "layout SPR 0x602e7 compacted exits 0"
json_check "$tmp/l.json" 'd["cpu"] == "intel-sapphire-rapids" and d["format"] == "compacted" and
  d["xcr0"] == "0x602e7" and d["xss"] == "0x0" and d["size"] == 10752 and
  {c["name"]: (c["offset"], c["size"], c["align64"], c["supervisor"]) for c in d["components"]} ==
  {"x87": (0, 160, False, False), "sse": (160, 256, False, False), "avx": (576, 256, False, False),
   "opmask": (832, 64, False, False), "zmm_hi256": (896, 512, False, False),
   "hi16_zmm": (1408, 1024, False, False), "pkru": (2432, 8, False, False),
   "xtilecfg": (2496, 64, True, False), "xtiledata": (2560, 8192, True, False)} and
  [c["index"] for c in d["components"]] == [0, 1, 2, 5, 6, 7, 9, 17, 18]' \
	'"size":10752' '"index":17,"name":"xtilecfg","offset":2496,"size":64,"align64":true'
ok $? "layout JSON: SPR 0x602e7 compacted = 10752, TILECFG@2496, TILEDATA@2560"

"$XSTATE" layout --cpu intel-sapphire-rapids --xcr0 x87,sse,avx,pkru --xss none --format compacted \
	--json >"$tmp/l.json"
json_check "$tmp/l.json" 'd["size"] == 840 and [c["offset"] for c in d["components"] if c["index"] == 9] == [832]' \
	'"size":840' '"index":9,"name":"pkru","offset":832'
ok $? "layout JSON: SPR x87|sse|avx|pkru compacted: PKRU@832, 840 bytes"

"$XSTATE" layout --cpu intel-sapphire-rapids --xcr0 0x602e7 --format standard --json >"$tmp/l.json"
json_check "$tmp/l.json" 'd["size"] == 11008 and d["format"] == "standard" and d["xss"] == "0x0"' \
	'"size":11008' '"format":"standard"'
ok $? "layout JSON: SPR 0x602e7 standard = 11008"

"$XSTATE" layout --cpu host-amd-epyc-vm --json >"$tmp/l.json"
json_check "$tmp/l.json" 'd["size"] == 872 and d["xcr0"] == "0x7" and d["xss"] == "0x1800" and
  [(c["offset"], c["supervisor"]) for c in d["components"] if c["name"] == "cet_s"] == [(848, True)]' \
	'"size":872' '"xss":"0x1800"'
ok $? "layout defaults: all supported, compacted: host file 0x1807 = 872, CET_S@848"

"$XSTATE" layout --cpu intel-skylake-client --xcr0 0x1f --xss 0 >"$tmp/l.txt"
grep -q 'total size 960 bytes' "$tmp/l.txt"
ok $? "layout text: Skylake client 0x1f compacted = 960"

# --- errors ---
"$XSTATE" layout --cpu intel-sapphire-rapids --xcr0 0x20007 >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q 'xstate layout: --xcr0 0x20007: .*AMX' "$tmp/err"; echo $?) \
	"illegal --xcr0 is exit 2 naming the rule"
"$XSTATE" layout --cpu intel-sapphire-rapids --xcr0 0x107 >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q 'supervisor' "$tmp/err"; echo $?) "supervisor bit in --xcr0 is exit 2"
"$XSTATE" layout --cpu intel-skylake-client --xss 0x800 >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q 'IA32_XSS bit 11 (cet_u) is not supported' "$tmp/err"; echo $?) \
	"unsupported --xss is exit 2"
"$XSTATE" layout --format standard --xss 0x100 >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q 'no standard offset' "$tmp/err"; echo $?) "--xss with standard is exit 2"
"$XSTATE" layout --format packed >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ]; echo $?) "unknown --format is exit 2"
"$XSTATE" layout --xcr0 'x87|bogus' >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q 'not a mask' "$tmp/err"; echo $?) "unparsable mask is exit 2"
"$XSTATE" info --cpu no-such-cpu >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q "unknown CPU model 'no-such-cpu'" "$tmp/err"; echo $?) \
	"unknown model is exit 2"

sed 's/^0xd.9 eax=00000040 ebx=00000340/0xd.9 eax=00000040 ebx=00000300/' \
	"$TOP/data/cpus/amd-zen2-rome.txt" >"$tmp/damaged.txt"
line=$(grep -n '^0xd.9 ' "$tmp/damaged.txt" | cut -d: -f1)
"$XSTATE" info --cpu "$tmp/damaged.txt" >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q "$tmp/damaged.txt:$line: component 9 (pkru) .* overlaps component 2 (avx)" "$tmp/err"; echo $?) \
	"damaged file: exit 2 with FILE:LINE and the reason"
sed 's/^0xd.1 eax=0000000f ebx=00000340/0xd.1 eax=0000000f ebx=00000380/' \
	"$TOP/data/cpus/amd-zen2-rome.txt" >"$tmp/damaged.txt"
line=$(grep -n '^0xd.1 ' "$tmp/damaged.txt" | cut -d: -f1)
"$XSTATE" layout --cpu "$tmp/damaged.txt" >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q "damaged.txt:$line: 1.EBX=896 but the compacted size" "$tmp/err"; echo $?) \
	"1.EBX disagreeing with the components: exit 2 at the sub-leaf 1 line"

# --- hostile model files: exit 2 and FILE:LINE: reason, never a crash ---
: >"$tmp/empty.txt"
"$XSTATE" info --cpu "$tmp/empty.txt" >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q "empty.txt:1: sub-leaf 0xd.0 is missing .*empty" "$tmp/err"; echo $?) \
	"empty model file: exit 2 at line 1"
head -c 4096 /dev/urandom >"$tmp/junk.txt" 2>/dev/null
"$XSTATE" layout --cpu "$tmp/junk.txt" >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && [ -s "$tmp/err" ]; echo $?) "binary model file: exit 2"
printf '# name: x\n\033[2J0xd.0 eax=3\n' >"$tmp/esc.txt"
"$XSTATE" info --cpu "$tmp/esc.txt" >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q 'esc.txt:2: ' "$tmp/err" && ! grep -q "$(printf '\033')" "$tmp/err"; echo $?) \
	"control characters in a model file are not echoed"
awk 'BEGIN { s = "#"; for (i = 0; i < 2000; i++) s = s "x"; print s }' >"$tmp/long.txt"
"$XSTATE" info --cpu "$tmp/long.txt" >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q 'long.txt:1: line longer than' "$tmp/err"; echo $?) "a very long line: exit 2"
sed 's/^0xd.11 eax=00000010 ebx=00000000/0xd.11 eax=00000010 ebx=00000a00/' \
	"$TOP/data/cpus/intel-sapphire-rapids.txt" >"$tmp/damaged.txt"
line=$(grep -n '^0xd.11 ' "$tmp/damaged.txt" | cut -d: -f1)
"$XSTATE" info --cpu "$tmp/damaged.txt" >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q "damaged.txt:$line: .*supervisor component 11 (cet_u) has standard offset" "$tmp/err"; echo $?) \
	"a supervisor component with a standard offset: exit 2 at its line"
sed 's/^0xd.0 eax=000602e7 ebx=00002b00 ecx=00002b00/0xd.0 eax=000602e7 ebx=00002b00 ecx=00002b40/' \
	"$TOP/data/cpus/intel-sapphire-rapids.txt" >"$tmp/damaged.txt"
line=$(grep -n '^0xd.0 ' "$tmp/damaged.txt" | cut -d: -f1)
"$XSTATE" info --cpu "$tmp/damaged.txt" >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ] && grep -q "damaged.txt:$line: 0.ECX=11072 but the standard size" "$tmp/err"; echo $?) \
	"sub-leaf 0 ECX disagreeing with the components: exit 2 at its line"
"$XSTATE" layout --xcr0 0x10000000000000000 >"$tmp/out" 2>"$tmp/err"
ok $([ $? -eq 2 ]; echo $?) "a mask wider than 64 bits is exit 2"

echo "1..$n"
exit $failed
