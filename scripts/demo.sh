#!/usr/bin/env bash
# `make demo`: write the demo study's checkpoints (two runs of a small GPT-2-like model with
# known dynamics, scripts/make_demo_model.py), run jobs/demo.yaml on NP ranks (analysis,
# comparisons, differences), print the summary table, draw the report, and print the
# headline: the effective rank of one matrix over steps in each run.
#
# usage: scripts/demo.sh [BUILD [NP]]     (BUILD default build, NP default 2)
# SPD_DEMO_OUT=DIR puts everything in DIR instead of demo-out/ (the test uses it); the
# job is then copied to DIR/demo.yaml with its paths pointed at DIR.
set -euo pipefail
BUILD=${1:-build}
NP=${2:-2}
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
SPECDYN="$BUILD/bin/specdyn"
[ -x "$SPECDYN" ] || { echo "demo: $SPECDYN not found; build first (make build, or give the build folder: scripts/demo.sh BUILD)" >&2; exit 2; }
OUT=demo-out # jobs/demo.yaml reads and writes here
JOB=jobs/demo.yaml
if [ -n "${SPD_DEMO_OUT:-}" ]; then
  mkdir -p "$SPD_DEMO_OUT"
  OUT=$(cd "$SPD_DEMO_OUT" && pwd)
  FIX=${SPD_FIXTURES:-$PWD/../shared/fixtures/real}
  sed -e "s#\.\./demo-out/#$OUT/#g" -e "s#\.\./\.\./shared/fixtures/real/#$FIX/#g" jobs/demo.yaml >"$OUT/demo.yaml"
  JOB="$OUT/demo.yaml"
fi
RESULTS="$OUT/demo.results"
REPORT="$OUT/report"
MATRIX=transformer.h.0.mlp.c_fc.weight # the headline matrix

# (Re)write the checkpoints when missing or made by an older generator; results computed
# from older checkpoints have the same task ids (ids hash paths, not contents): drop them.
if ! grep -qs '"version": 3,' "$OUT/runs/planted.json"; then
  rm -rf "$OUT/runs" "$RESULTS" "$REPORT" "$OUT/model"
  /usr/bin/python3 scripts/make_demo_model.py "$OUT/runs"
fi

CKPT="$OUT/runs/wd/step_400/model.safetensors.index.json"
echo "== specdyn inspect $CKPT (first lines)"
"$SPECDYN" inspect "$CKPT" >"$OUT/inspect.txt"
head -n 8 "$OUT/inspect.txt"

echo "== the plan: specdyn run $JOB --dry-run (totals; the whole plan in $OUT/plan.txt)"
"$SPECDYN" run "$JOB" --dry-run >"$OUT/plan.txt" 2>&1 || { cat "$OUT/plan.txt"; exit 1; }
grep -E '^(Comparisons|Total)' "$OUT/plan.txt" || true

echo "== mpirun -n $NP specdyn run $JOB"
status=0
start=$SECONDS
mpirun --oversubscribe -n "$NP" "$SPECDYN" run "$JOB" 2>&1 | grep -v '^\[specdyn\] done ' || status=${PIPESTATUS[0]}
echo "(run: $((SECONDS - start)) s)"

echo "== summary: specdyn export $RESULTS --table (the rows of $MATRIX; all in $OUT/table.txt)"
"$SPECDYN" export "$RESULTS" --table >"$OUT/table.txt"
head -n 1 "$OUT/table.txt"
grep -F " $MATRIX " "$OUT/table.txt" | grep -v '^[^ ]* - ' | sort || true # W_wd - W_nowd rows: in table.txt
echo "   ... $(grep -c ' done$' "$OUT/table.txt" || true) of $(($(wc -l <"$OUT/table.txt") - 1)) matrices done"
"$SPECDYN" export "$RESULTS" --csv "$OUT/demo.csv"
"$SPECDYN" export "$RESULTS" --comparisons "$OUT/comparisons.csv"

echo "== report: specdyn report $RESULTS -o $REPORT"
"$SPECDYN" report "$RESULTS" -o "$REPORT"

echo "== the known dynamics, found (from $OUT/demo.csv and $OUT/comparisons.csv)"
/usr/bin/python3 - "$OUT/demo.csv" "$OUT/comparisons.csv" "$MATRIX" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cmp = list(csv.DictReader(open(sys.argv[2])))
name = sys.argv[3]
def steps(run):
    return sorted(((int(r["step"]), r) for r in rows if r["run"] == run and r["name"] == name and r["status"] == "done"
                   and " - " not in r["checkpoint"]), key=lambda x: x[0])  # not the differences W_a - W_b
print(f"effective rank of {name} (planted rank 4, 256 x 1024):")
for run, why in (("wd", "noise decays: rank falls"), ("nowd", "noise stays: rank stays high")):
    print(f"  {run:5s} " + "  ".join(f"step {s}: {float(r['effective_rank']):6.1f}" for s, r in steps(run)) + f"   ({why})")
def col(r, *keys):
    for k in keys:
        if k in r and r[k] not in ("", None):
            return float(r[k])
    return float("nan")
fin = sorted((int(c["step_a"]), col(c, "agreement_top")) for c in cmp
             if c["relation"] == "final" and c["run_a"] == "wd" and c["name_a"] == name and c.get("status", "done") == "done")
print("top-1 singular-vector agreement with the final step (wd): " + "  ".join(f"step {s}: {a:.3f}" for s, a in fin))
runs = sorted((int(c["step_a"]), col(c, "agreement_top")) for c in cmp
              if c["relation"] == "runs" and c["name_a"] == name and c.get("status", "done") == "done")
print("top-1 agreement wd vs nowd (shared init, shared signal): " + "  ".join(f"step {s}: {a:.3f}" for s, a in runs))
EOF
echo
echo "results:     $RESULTS/index.h5 (HDF5 tree of the study: checkpoints, comparisons, trajectories; h5ls -r to browse)"
echo "tables:      $OUT/demo.csv (one row per analysed matrix), $OUT/comparisons.csv (one row per comparison)"
echo "report:      $REPORT/index.md and the plots $REPORT/*.png (ranks_wd.png, ranks_nowd.png, spectra_*.png)"
exit "$status"
