#!/usr/bin/env bash
# Run one libFuzzer target for SECONDS (docs/reliability.md, "Fuzzing").
#   tests/fuzz/run.sh BINDIR TARGET SECONDS [extra libFuzzer flags]
# BINDIR holds the target binaries (build-fuzz/fuzz). The working corpus is
# BINDIR/corpus/TARGET (new inputs land there, never in the source tree), seeded from
# tests/fuzz/corpus/TARGET; tests/fuzz/regressions/TARGET (inputs that once failed) is
# run first, each input once. Crash reproducers are written to BINDIR/artifacts/.
# SPD_FUZZ_FRESH=1 (ctest): start from the seed corpus alone in a temporary folder with
# -seed=1, so that a short run does the same mutations every time on a given machine.
# Exit status: libFuzzer's (0 = nothing found).
set -euo pipefail
bindir=$1 target=$2 seconds=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
name=${target#fuzz_}
mkdir -p "$bindir/corpus/$target" "$bindir/artifacts"
work="$bindir/corpus/$target"
extra=()
if [ "${SPD_FUZZ_FRESH:-0}" = 1 ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/specdyn-fuzz-corpus.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  extra=(-seed=1)
fi
dirs=("$work" "$here/corpus/$name")
# IDX: a header may announce a data set of many GiB that a short .gz cannot hold; the
# allocation is virtual until filled (the read stops at the truncation), so only RSS counts
malloc_mb=3072
[ "$name" = idx ] && malloc_mb=1048576
# HDF5: libhdf5 1.10.8 sizes vlen conversion buffers from lengths stored in the file (upstream)
[ "$name" = hdf5 ] && malloc_mb=1048576
flags=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -malloc_limit_mb=$malloc_mb
       -artifact_prefix="$bindir/artifacts/$target-" -print_final_stats=1 -max_len=65536)
case $name in
  safetensors | safetensors_index) flags+=(-dict="$here/dicts/json.dict") ;;
  keras_config) flags+=(-dict="$here/dicts/keras.dict") ;;
  job) flags+=(-dict="$here/dicts/job.dict") ;;
esac
# OMPI_MCA_opal_signal: Open MPI must not catch SIGSEGV/SIGABRT before the sanitizers and libFuzzer do
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_btl=self OMPI_MCA_pml=ob1 OMPI_MCA_opal_signal=""
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:fast_unwind_on_malloc=0:allocator_may_return_null=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
# known findings not fixed yet (see the files): reported, suppressed until the owner fixes them
export ASAN_OPTIONS="$ASAN_OPTIONS:suppressions=$here/asan.supp"
# 1. every past finding, each input run once at full length (no -max_len truncation)
shopt -s nullglob
regs=("$here/regressions/$name"/*)
if [ ${#regs[@]} -gt 0 ]; then
  echo "== $target: ${#regs[@]} regression inputs"
  "$bindir/$target" -timeout=60 -rss_limit_mb=3072 -malloc_limit_mb=$malloc_mb "${regs[@]}"
fi
# 2. fuzzing from the seed corpus
[ "$seconds" -gt 0 ] || exit 0
"$bindir/$target" "${flags[@]}" "${extra[@]}" "$@" "${dirs[@]}"
