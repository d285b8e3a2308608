#!/bin/sh
# Add up the counts of several test runs and print the closing line.
pass=0 fail=0 skip=0
for f in "$@"; do
	if [ ! -f "$f" ]; then
		echo "missing test counts: $f (the build or the run failed)"
		fail=$((fail + 1))
		continue
	fi
	read p fl s <"$f"
	pass=$((pass + p)); fail=$((fail + fl)); skip=$((skip + s))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
