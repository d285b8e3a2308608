#!/bin/sh
# The xstate demo (make demo): what the tool does, one step after another,
# on the built-in default CPU model. Exits non-zero as soon as a step fails.
#   tools/demo.sh BUILD/xstate
set -e
XSTATE=${1:-build/xstate}
if [ ! -x "$XSTATE" ]; then
	echo "demo: $XSTATE is not built (run make)" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() {
	echo
	echo "== $*"
}

step "The default CPU model (xstate info)"
"$XSTATE" info

step "Live AVX state: write YMM registers, XSAVEC them, decode the image (xstate exec)"
"$XSTATE" exec \
	'# YMM3 and YMM12: the low halves go to SSE, the high halves to AVX' \
	'write ymm3  0x1111111111111111_2222222222222222_3333333333333333_4444444444444444' \
	'write ymm12 0xfeedfacecafebeef_0000000000000000_0123456789abcdef_0000000000000001' \
	'xgetbv 1' \
	'xsavec a' \
	'dump a 512 64' \
	"store a $tmp/avx.img" \
	'decode a' | sed -n '1,4p;/header/,/ymm3_h/p;/ymm12_h/p;/^xrstor/p'

step "The same image from the file, XSTATE_BV[62] set: why XRSTOR refuses it (xstate decode)"
"$XSTATE" exec "load a $tmp/avx.img" 'set a 519 40' "store a $tmp/bad.img"
rc=0
"$XSTATE" decode "$tmp/bad.img" >"$tmp/decode.txt" || rc=$?
grep -E '^  header|xstate_bv|^xrstor' "$tmp/decode.txt"
if [ "$rc" -ne 3 ]; then
	echo "demo: decode should have reported a fault (exit status 3), got $rc" >&2
	exit 1
fi
echo "(exit status $rc)"

step "A fault stops the program: exit status 3 and the reason (misaligned XRSTOR)"
if "$XSTATE" exec 'xsave a' 'xrstor a+8' 'xgetbv 0'; then
	echo "demo: the misaligned XRSTOR did not fault" >&2
	exit 1
else
	rc=$?
	[ "$rc" -eq 3 ] || { echo "demo: expected exit status 3, got $rc" >&2; exit 1; }
	echo "(exit status $rc)"
fi

# ---- Scenario examples (helper D2: src/sim, examples/*.xs, xstate run) ----
top=$(cd "$(dirname "$0")/.." && pwd)

step "One scenario in full: the lazy restore after a kernel thread (xstate run)"
"$XSTATE" run "$top/examples/lazy-restore-after-kthread.xs"

step "Every example: its question, then PASS when the expectations prove the answer"
for f in "$top"/examples/*.xs; do
	awk '/^# Answer:/ { exit } /^# Question:/ { q = 1 } q { sub(/^# /, "  "); print }' "$f"
	"$XSTATE" run --quiet "$f"
done

step "A seeded kernel bug (the shortcut ignores last_cpu) is caught by the shadow check"
if "$XSTATE" run --quiet "$top/examples/migration-restore.xs" \
	--policy mutant=shortcut-ignores-last-cpu; then
	echo "demo: the mutant was not caught" >&2
	exit 1
fi
echo "(exit status 1: caught)"
# ---- end of the scenario examples ----

# ---- The checker (helper I: src/sim/explore*.c, xstate explore) ----
step "A short exploration of the default manager: no invariant breaks (xstate explore)"
if ! "$XSTATE" explore --steps 300000 --seed 1 --no-trace; then
	echo "demo: the default manager broke an invariant" >&2
	exit 1
fi

step "A seeded bug (kernel_fpu_begin keeps the owner): found, minimized, reproduced"
if "$XSTATE" explore --mutant kfpu-keeps-owner --steps 200000; then
	echo "demo: the mutant was not found" >&2
	exit 1
fi
echo "(exit status 1: found)"
# ---- end of the checker ----

echo
echo "demo: all steps passed"
