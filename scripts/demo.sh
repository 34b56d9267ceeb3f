#!/usr/bin/env bash
# `make demo`: build the demo model, run the demo study on NP ranks, print a summary.
set -euo pipefail
BUILD=${1:-build}
NP=${2:-2}
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
SPECDYN="$BUILD/bin/specdyn"
OUT=demo-out # jobs/demo.yaml reads and writes here
if [ ! -f "$OUT/model/model.safetensors.index.json" ]; then
  /usr/bin/python3 scripts/make_demo_model.py "$OUT/model"
fi
echo "== specdyn inspect $OUT/model/model.safetensors.index.json (first lines; all in $OUT/inspect.txt)"
"$SPECDYN" inspect "$OUT/model/model.safetensors.index.json" >"$OUT/inspect.txt"
head -n 12 "$OUT/inspect.txt"
echo "== mpirun -n $NP specdyn run jobs/demo.yaml"
status=0
mpirun --oversubscribe -n "$NP" "$SPECDYN" run jobs/demo.yaml || status=$?
echo "== summary (specdyn export $OUT/demo.results --table)"
"$SPECDYN" export "$OUT/demo.results" --table
"$SPECDYN" export "$OUT/demo.results" --csv "$OUT/demo.csv"
echo
echo "results: $OUT/demo.results/index.h5 (HDF5 tree of the study; h5ls -r to browse)"
echo "table:   $OUT/demo.csv (one row per analysed matrix, every scalar metric)"
exit $status
