#!/usr/bin/env bash
# specdyn benchmarks, side by side with the peers a user would pick instead
# (bench/README.md explains each row). Called by `make bench` as: bash bench/run.sh BUILD
#
#   BUILD                 the CMake build folder (default: build)
#   SPD_BENCH_DATA        where generated inputs live (default: bench/data, gitignored;
#                         reused when present, ~3.3 GB; row 7 adds 4 GB)
#   SPD_BENCH_ROWS        rows to run, e.g. "1 3" (default: "1 2 3 4 5 6 7 8 9 10 11")
#   SPD_BENCH_LYAP_FULL   1: row 8 at width 2048 (the issue's size; ~10 min, the NumPy side
#                         dominates), else width 1024 (~2 min)
#   SPD_BENCH_TRAIN_FULL  1: row 9 also at P = 5e5 (top-32, ~20 min quiet) and bottom-32 at P = 5e4, and
#                         the dense J_T at P = 5e3 (P forward products + ScaLAPACK, ~5 min)
#   SPD_BENCH_NP          ranks of the specdyn side = threads of the peer (default: 2)
#   SPD_BENCH_ROW6        parts of row 6 to run (default: "abcd"; "c": only the top-10
#                         eigenpair products vs ARPACK and power iteration, ~1 min)
#
# Writes bench/results.md (the table) and prints it; raw logs, -log_view output and the
# singular values of both sides go to BUILD/bench/out.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
DATA=${SPD_BENCH_DATA:-$ROOT/bench/data}
ROWS=${SPD_BENCH_ROWS:-1 2 3 4 5 6 7 8 9 10 11}
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
{ has_row 5 || has_row 6; } && TARGETS+=(specdyn_cli)
has_row 7 && TARGETS+=(specdyn_cli)
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
  # generates DATA/study once; writes OUT/study.json and OUT/study.*.log (~7-8 min quiet: the
  # default job computes every singular value, the study and its alone runs take ~80 + 155 s)
  run study "${NOENV[@]}" "$PY" "$ROOT/bench/study_bench.py" "$BUILD/bin/specdyn" "$DATA" "$OUT" --np "$NP"
fi

if has_row 6; then
  say "row 6: MLP loss curvature: products vs a gradient and vs PyTorch (1 rank), top-10 eigenpairs vs ARPACK and power iteration, a 1.3M-parameter model by 'specdyn run' ($NP ranks)"
  # ~3-4 min on a quiet machine. The two models are written once into DATA/curv by PyTorch
  # (default init + 100 SGD steps) as h5py state dicts; the data are Fashion-MNIST's first n
  # training samples (Debian's dataset-fashion-mnist) read by both sides.
  CV="$OUT/curv"
  rm -rf "$CV" "$OUT"/curv_*.log
  mkdir -p "$CV/cli" "$DATA/curv"
  CPY=("${NOENV[@]}" OPENBLAS_NUM_THREADS=1 "$PY" "$ROOT/bench/curvature_peer.py")
  SPD1=("${NOENV[@]}" OPENBLAS_NUM_THREADS=1 mpirun -n 1)
  [[ -f "$DATA/curv/small.h5" ]] || "${CPY[@]}" prepare "$DATA/curv/small.h5" --arch 784,64,32,10 --n 2000 --steps 100
  ROW6=${SPD_BENCH_ROW6:-abcd}
  part() { [[ $ROW6 == *$1* ]]; }
  { part a || part b || part d; } && { [[ -f "$DATA/curv/big.h5" ]] || "${CPY[@]}" prepare "$DATA/curv/big.h5" --arch 784,1024,512,10 --n 10000 --steps 100; }
  # (a), (b): gradient and products on 1 rank / 1 thread, 2000 samples; the sides alternate
  { part a || part b; } && for m in small big; do
    calls=5
    [[ $m == big ]] && calls=1
    for r in 1 2; do
      run "curv_time_$m.peer" "${CPY[@]}" time "$DATA/curv/$m.h5" --n 2000 --repeat 1 --calls "$calls" --v-out "$CV/v_$m.f64" --hv-out "$CV/hv_$m.torch.f64"
      run "curv_time_$m.spd" "${SPD1[@]}" "$BIN/bench_curvature" -checkpoint "$DATA/curv/$m.h5" -n 2000 -mode time -repeat 1 -calls $((calls + 2)) -v "$CV/v_$m.f64" -out_hv "$CV/hv_$m.spd.f64" -dgemm 1024
    done
  done
  # (c): products for the top-10 eigenpairs to ||Hx - lx|| <= 1e-8 |l_1| (small model): specdyn
  # as `specdyn run` solves (defaults) and with ARPACK's basis size and test; then SciPy
  if part c; then
  run curv_eig.spd "${SPD1[@]}" "$BIN/bench_curvature" -checkpoint "$DATA/curv/small.h5" -n 2000 -mode eig -k 10 -bench_eps_tol 1e-8 -out "$CV/lam.spd.f64"
  run curv_eig_matched.spd "${SPD1[@]}" "$BIN/bench_curvature" -checkpoint "$DATA/curv/small.h5" -n 2000 -mode eig -k 10 -bench_eps_tol 1e-8 -bench_eps_ncv 21 -bench_eps_conv_rel
  LAM1=$(grep -o 'lam1=[^ ]*' "$OUT/curv_eig.spd.log" | tail -1 | cut -d= -f2)
  LAMK=$(grep -o 'lamk=[^ ]*' "$OUT/curv_eig.spd.log" | tail -1 | cut -d= -f2)
  run curv_eig.peer "${CPY[@]}" eig "$DATA/curv/small.h5" --n 2000 --k 10 --tol 1e-8 --lam "$LAM1" --lamk "$LAMK" --out "$CV/lam.scipy.f64"
  fi
  # (d): top-10 Hessian eigenpairs of the 1.33M-parameter model on 10000 samples through the
  # CLI on NP ranks; /usr/bin/time -v around each rank (maximum resident set size = VmHWM)
  if part d; then
  cat >"$CV/cli/job.yaml" <<EOF
name: bench-curvature
checkpoints: [$DATA/curv/big.h5]
model: {loss: cross_entropy, activation: relu}
data: {source: fashion_mnist, split: train, n: 10000}
curvature: {operators: [hessian], blocks: [model], top: 10, vectors: true}
solver: {eps_tol: 1e-8}
EOF
  t0=$EPOCHREALTIME
  run curv_cli "${NOENV[@]}" OPENBLAS_NUM_THREADS=1 mpirun -n "$NP" --oversubscribe bash -c 'exec /usr/bin/time -v -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$CV/cli/time" \
    "$BUILD/bin/specdyn" run "$CV/cli/job.yaml" -o "$CV/cli/out" -log_view ":$CV/cli/logview.txt"
  echo "mpirun wall: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b-a}') s" | tee -a "$OUT/curv_cli.log"
  run curv_check "${CPY[@]}" check "$CV"/cli/out/tasks/*.h5 "$DATA/curv/big.h5" --n 10000 --pairs 0,9
  fi
fi

if has_row 7; then
  say "row 7: top-16 of a stored 20000x50000 float32 Jacobian (HDF5, 4 GB): 'specdyn run' ($NP ranks) vs scipy svds ($NP threads); product bandwidth vs STREAM-like copy"
  # the matrix is generated once into DATA (~3 min, 4 GB; bench/jacobian_bench.py explains
  # its planted spectrum); one run per side (~2 min each on a quiet machine, most of the
  # specdyn side's wall time is reading the HDF5 file). specdyn needs ~12 GB (the matrix in
  # double plus its float32 copy), SciPy 4 GB: they run one after the other.
  JB=("${NOENV[@]}" "$PY" "$ROOT/bench/jacobian_bench.py")
  "${JB[@]}" gen "$DATA"
  rm -f "$OUT"/jac.*.log
  # the copy, and the float32 products alone on a matrix of row 7's shape (A, A^T
  # alternating; single-vector and 4-vector passes; 4 GB): before the solve with the
  # STREAM arrays on 4 KiB pages, after it on huge pages like the matrix (the better copy counts)
  run jac.copy "${SPD[@]}" "$BIN/bench_matvec" -m 20000 -n 50000 -products 10 -rounds 3 -float32 -block 4
  run jac.spd "${JB[@]}" spd "$BUILD/bin/specdyn" "$DATA" "$OUT" --np "$NP" --reps 1 --petsc="-log_view :$OUT/jac.logview"
  run jac.copy "${SPD[@]}" "$BIN/bench_matvec" -m 20000 -n 50000 -products 10 -rounds 3 -float32 -block 4 -stream_huge
  run jac.peer "${NOENV[@]}" OPENBLAS_NUM_THREADS="$NP" "$PY" "$ROOT/bench/jacobian_bench.py" peer "$DATA" "$OUT"
  # the same accuracy on SciPy's side: svds on a float64 copy of the values, tol 1e-10 (12 GB while converting)
  run jac.peer64 "${NOENV[@]}" OPENBLAS_NUM_THREADS="$NP" "$PY" "$ROOT/bench/jacobian_bench.py" peer "$DATA" "$OUT" --dtype float64
  rm -rf "$OUT/jacobian.results"
fi

if has_row 8; then
  LD=1024
  [[ ${SPD_BENCH_LYAP_FULL:-0} == 1 ]] && LD=2048
  say "row 8: 32 Lyapunov exponents of 64 Gaussian ${LD}x${LD} factors: SpdJacobianLyapunov ($NP ranks) vs NumPy dense GEMMs + SVD / + QR ($NP threads)"
  # the factors are stored (-jacobian_gaussian_store_max), so that neither side's time
  # includes drawing them (both report that apart)
  rm -f "$OUT"/lyap.*
  run lyap.spd "${SPD[@]}" "$BIN/bench_lyapunov" -d "$LD" -depth 64 -k 32 -out "$OUT/lyap.spd.f64" -jacobian_gaussian_store_max 300000000
  run lyap.peer "${NOENV[@]}" OPENBLAS_NUM_THREADS="$NP" "$PY" "$ROOT/bench/lyapunov_peer.py" "$LD" 64 32 --out "$OUT/lyap.peer.f64"
fi

if has_row 9; then
  say "row 9: training Jacobian J_T (T = 20 GD steps, n = 256): products SLEPc needs for top/bottom-32 triplets vs the P forward products of the dense J_T ($NP ranks)"
  # MLPs 64-h-h-10 (relu, cross-entropy) on a 10-class Gaussian mixture; P = h^2 + 76 h + 10:
  # h = 42 (4,966), 189 (50,095), 670 (499,830). Default ~3 min on a quiet machine: top and
  # bottom at P = 5e3, top at P = 5e4; SPD_BENCH_TRAIN_FULL=1 adds the rest (see the header)
  rm -f "$OUT"/trainjac.*.log
  TJ=("${SPD[@]}" "$BIN/bench_train" -mode jac -n 256 -steps 20 -lr 0.1 -k 32)
  if [[ ${SPD_BENCH_TRAIN_FULL:-0} == 1 ]]; then
    run trainjac.5e3 "${TJ[@]}" -arch 64,42,42,10 -which both -dense 1
    run trainjac.5e4 "${TJ[@]}" -arch 64,189,189,10 -which both
    run trainjac.5e5 "${TJ[@]}" -arch 64,670,670,10 -which top
  else
    run trainjac.5e3 "${TJ[@]}" -arch 64,42,42,10 -which both
    run trainjac.5e4 "${TJ[@]}" -arch 64,189,189,10 -which top
  fi
fi

if has_row 10; then
  say "row 10: one J_T product (every = 1 and 5) vs T Hessian-vector products at the same iterates (1 rank)"
  # 64-280-280-10 (99,690 parameters), 2048 mixture samples, SGD batch 128 with heavy-ball
  # momentum, T = 50; best of 5 alternating rounds, twice (~1 min). One rank: the overhead of
  # the operator is per-rank work, and a single process's CPU time is not inflated by MPI
  # ranks spinning while the other one is descheduled on a shared machine
  rm -f "$OUT"/trainjac_cost.log
  for r in 1 2; do
    run trainjac_cost "${NOENV[@]}" OPENBLAS_NUM_THREADS=1 mpirun -n 1 "$BIN/bench_train" -mode cost -arch 64,280,280,10 -n 2048 -batch 128 -momentum -lr 0.05 -steps 50 -every2 5 -repeat 5
  done
fi

if has_row 11; then
  say "row 11: training throughput, 784-256-256-10 on Fashion-MNIST, batch 128, SGD + momentum: SpdTrainerStep (1 rank) vs PyTorch float64/float32 (1 thread)"
  # the sides alternate, 3 rounds; each: 5 untimed steps, best of 3 x 200 steps (~1.5 min)
  rm -f "$OUT"/train_tp.*.log
  for r in 1 2 3; do
    run train_tp.spd "${NOENV[@]}" OPENBLAS_NUM_THREADS=1 mpirun -n 1 "$BIN/bench_train" -mode throughput -data fmnist -n 60000 -arch 784,256,256,10 -batch 128 -momentum -lr 0.01 -steps 200 -repeat 3 -dgemm 2048
    run train_tp.peer "${NOENV[@]}" OPENBLAS_NUM_THREADS=1 "$PY" "$ROOT/bench/train_peer.py" --arch 784,256,256,10 --n 60000 --batch 128 --lr 0.01 --steps 200 --repeat 3
  done
fi

echo "load average at end: $(load); whole run $(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b-a}') s" | tee -a "$OUT/env.txt"
say "results (bench/results.md)"
"$PY" "$ROOT/bench/report.py" "$OUT" "$DATA" >"$ROOT/bench/results.md"
cat "$ROOT/bench/results.md"
