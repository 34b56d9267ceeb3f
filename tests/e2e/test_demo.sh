#!/usr/bin/env bash
# `make demo` end to end (scripts/demo.sh): it must finish, say the study is complete and
# print one summary row per task of the plan (counted from `run --dry-run`).
set -euo pipefail
BUILD=$SPD_BINARY_DIR
out=$(bash "$SPD_SOURCE_DIR/scripts/demo.sh" "$BUILD" 2 2>&1)
echo "$out" | grep -v '^\[specdyn\] done' | tail -n 5
echo "$out" | grep -q '\[specdyn\] complete:' || { echo "FAIL: the demo study did not complete"; exit 1; }
cd "$SPD_SOURCE_DIR"
planned=$("$SPECDYN" run jobs/demo.yaml --dry-run | grep -c ' yes \| no ' || true)
rows=$(echo "$out" | sed -n '/^checkpoint  /,/^$/p' | grep -c ' done$' || true)
[ "$planned" -gt 0 ] && [ "$rows" -eq "$planned" ] || { echo "FAIL: summary has $rows done rows, the plan has $planned tasks"; exit 1; }
echo "demo: $rows matrices analysed, as planned"
