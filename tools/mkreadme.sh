#!/bin/sh
# README.md is assembled from docs/readme/NN-topic.md, one file per part of
# the system, so each part's documentation lives next to its owner's work.
cd "$(dirname "$0")/.."
first=1
for f in docs/readme/*.md; do
	[ "$first" = 1 ] || echo
	first=0
	cat "$f"
done > README.md
