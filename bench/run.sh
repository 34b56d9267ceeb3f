#!/usr/bin/env bash
# specdyn benchmarks, side by side with the peers a user would pick instead
# (bench/README.md explains each row). Called by `make bench` as: bash bench/run.sh BUILD
#
#   BUILD                 the CMake build folder (default: build)
#   SPD_BENCH_DATA        where generated inputs live (default: bench/data, gitignored;
#                         reused when present, ~3.3 GB)
#   SPD_BENCH_ROWS        rows to run, e.g. "1 3" (default: "1 2 3 4 5")
#   SPD_BENCH_NP          ranks of the specdyn side = threads of the peer (default: 2)
#
# Writes bench/results.md (the table) and prints it; raw logs, -log_view output and the
# singular values of both sides go to BUILD/bench/out.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
DATA=${SPD_BENCH_DATA:-$ROOT/bench/data}
ROWS=${SPD_BENCH_ROWS:-1 2 3 4 5}
NP=${SPD_BENCH_NP:-2}
BIN="$BUILD/bench"
OUT="$BUILD/bench/out"
PY=/usr/bin/python3

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Fairness: both sides run with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (they slow a
# current OpenBLAS where the environment sets them), on the same number of cores.
NOENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
SPD=("${NOENV[@]}" OPENBLAS_NUM_THREADS=1 mpirun -n "$NP" --oversubscribe)
PEER=("${NOENV[@]}" OPENBLAS_NUM_THREADS="$NP" "$PY" "$ROOT/bench/peer.py")

say() { printf '\n== %s\n' "$*"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
has_row() { [[ " $ROWS " == *" $1 "* ]]; }
# run NAME CMD...: run CMD, show its output and append it to $OUT/NAME.log
run() {
  local name=$1
  shift
  echo "load before: $(load)" >>"$OUT/$name.log"
  "$@" 2>&1 | tee -a "$OUT/$name.log"
  echo "load after: $(load)" >>"$OUT/$name.log"
}

[[ -f "$BUILD/CMakeCache.txt" ]] || { echo "bench/run.sh: $BUILD is not a configured build folder; run 'make build' (or cmake -S . -B $BUILD) first" >&2; exit 1; }
[[ -x $PY ]] || { echo "bench/run.sh: $PY not found; install python3-numpy python3-scipy (scripts/install-deps.sh)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "bench/run.sh: mpirun not found; install openmpi-bin (scripts/install-deps.sh)" >&2; exit 1; }

START=$EPOCHREALTIME
say "building the drivers in $BUILD"
TARGETS=(bench_drivers)
has_row 5 && TARGETS+=(specdyn_cli)
cmake --build "$BUILD" --target "${TARGETS[@]}" -j 2 >/dev/null
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT"/*.logview "$OUT"/*.f64 "$OUT"/*.txt "$OUT"/study.json

say "environment"
BLAS=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)
LAPACK=$(readlink -f /usr/lib/x86_64-linux-gnu/liblapack.so.3)
{
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "libblas.so.3 -> $BLAS"
  echo "liblapack.so.3 -> $LAPACK"
  echo "peer: $("${NOENV[@]}" OPENBLAS_NUM_THREADS="$NP" "$PY" "$ROOT/bench/peer.py" blas), scipy $("$PY" -c 'import scipy; print(scipy.__version__)')"
  echo "OPENBLAS_CORETYPE in the environment: ${OPENBLAS_CORETYPE:-unset}, OPENBLAS_L2_SIZE: ${OPENBLAS_L2_SIZE:-unset} (both unset for the runs)"
  echo "specdyn: $(mpirun --version 2>/dev/null | head -1), $NP ranks x OPENBLAS_NUM_THREADS=1; peer: OPENBLAS_NUM_THREADS=$NP"
  echo "load average at start: $(load)"
} | tee "$OUT/env.txt"
case "$BLAS" in *openblas*) ;; *) echo "WARNING: libblas.so.3 is not OpenBLAS ($BLAS): both sides will be slow; install libopenblas0-pthread" | tee -a "$OUT/env.txt" ;; esac

say "generating inputs in $DATA (reused when present)"
NEED=()
has_row 1 && NEED+=(gauss2048 gauss4096)
has_row 2 && NEED+=(gauss8192f32 powerlaw8192f32)
has_row 4 && NEED+=(ckpt)
((${#NEED[@]})) && "$PY" "$ROOT/bench/gen_data.py" "$DATA" "${NEED[@]}"

if has_row 1; then
  say "row 1: full singular values, SpdSVDFull ($NP ranks) vs numpy.linalg.svd ($NP threads)"
  # the two sides alternate, one repetition each, so that both see the same machine
  for n in 2048 4096; do
    rep=3
    ((n > 2048)) && rep=2
    for ((r = 0; r < rep; r++)); do
      run "full$n.spd" "${SPD[@]}" "$BIN/bench_svd" -file "$DATA/gauss$n.safetensors" -tensor A -mode full -out "$OUT/full$n.spd.f64"
      run "full$n.peer" "${PEER[@]}" full "$DATA/gauss$n.safetensors" --out "$OUT/full$n.peer.f64"
    done
  done
fi

if has_row 2; then
  say "row 2: top-16 singular triplets, tol 1e-8: SpdSVDExtreme ($NP ranks) vs scipy svds/ARPACK ($NP threads)"
  for m in gauss8192f32 powerlaw8192f32; do
    for r in 1 2 3; do
      run "top_$m.spd" "${SPD[@]}" "$BIN/bench_svd" -file "$DATA/$m.safetensors" -tensor A -mode top -k 16 -top_svd_tol 1e-8 -out "$OUT/top_$m.spd.f64" -log_view ":$OUT/top_$m.$r.logview"
      run "top_$m.peer" "${PEER[@]}" svds "$DATA/$m.safetensors" --k 16 --tol 1e-8 --out "$OUT/top_$m.peer.f64"
    done
  done
fi

if has_row 3; then
  say "row 3: dense MatMult bandwidth vs STREAM-like copy on the same $NP ranks"
  run matvec "${SPD[@]}" "$BIN/bench_matvec" -m 8192 -n 8192 -products 20 -rounds 10
fi

if has_row 4; then
  say "row 4: reading a sharded BF16 checkpoint: SpdReaderReadBlock ($NP ranks) vs cat"
  CKPT="$DATA/ckpt"
  SHARDS=("$CKPT"/*.safetensors)
  BYTES=$(stat -c %s "${SHARDS[@]}" | awk '{ s += $1 } END { print s }')
  cat "${SHARDS[@]}" >/dev/null # warm the page cache
  t0=$EPOCHREALTIME
  cat "${SHARDS[@]}" >/dev/null
  t1=$EPOCHREALTIME
  echo "cat ${#SHARDS[@]} shards, $BYTES bytes (warm): $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b-a}') s" | tee "$OUT/cat_warm.txt"
  run read_warm "${SPD[@]}" "$BIN/bench_read" -file "$CKPT/model.safetensors.index.json" -repeat 3
  if [[ -w /proc/sys/vm/drop_caches ]] && (sync && echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
    t0=$EPOCHREALTIME
    cat "${SHARDS[@]}" >/dev/null
    t1=$EPOCHREALTIME
    echo "cat ${#SHARDS[@]} shards, $BYTES bytes (cold): $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b-a}') s" | tee "$OUT/cat_cold.txt"
    sync && echo 3 >/proc/sys/vm/drop_caches
    run read_cold "${SPD[@]}" "$BIN/bench_read" -file "$CKPT/model.safetensors.index.json" -repeat 1 -checksum 0
  else
    echo "cold cache: /proc/sys/vm/drop_caches is not writable here; warm-cache numbers only" | tee "$OUT/cat_cold.txt"
  fi
fi

if has_row 5; then
  say "row 5: a study of 64 matrices (64x64 to 4096x4096) by 'specdyn run' on $NP ranks vs the sum of its tasks run alone; then its rerun"
  # generates DATA/study once; writes OUT/study.json and OUT/study.*.log (~1.5-2.5 min)
  run study "${NOENV[@]}" "$PY" "$ROOT/bench/study_bench.py" "$BUILD/bin/specdyn" "$DATA" "$OUT" --np "$NP"
fi

echo "load average at end: $(load); whole run $(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b-a}') s" | tee -a "$OUT/env.txt"
say "results (bench/results.md)"
"$PY" "$ROOT/bench/report.py" "$OUT" "$DATA" >"$ROOT/bench/results.md"
cat "$ROOT/bench/results.md"
