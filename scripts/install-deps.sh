#!/usr/bin/env bash
# Install every Debian package specdyn needs to build, test, run the demo and
# benchmark. Idempotent: packages already present are not fetched again.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential gfortran cmake pkg-config make git ca-certificates clang-format
  # the fuzz build (`make fuzz`): clang 14 and its runtime libraries (libFuzzer, ASan, UBSan)
  clang libclang-rt-14-dev
  # MPI, PETSc/SLEPc, ScaLAPACK, parallel HDF5
  openmpi-bin libopenmpi-dev petsc-dev slepc-dev
  libhdf5-openmpi-dev hdf5-tools libscalapack-openmpi-dev
  # the 64-bit-index PETSc/SLEPc of `make build64` (-DSPD_PETSC64=ON); their own alternatives
  # (petsc64, slepc64: PETSc64.pc, SLEPc64.pc), so PETSc.pc stays the 32-bit build
  libpetsc64-real-dev libslepc64-real-dev
  # OpenBLAS replaces the reference BLAS through Debian's alternatives (FACTS.md)
  libopenblas0-pthread libopenblas-pthread-dev
  # parsers
  libyaml-dev libcjson-dev zlib1g-dev
  # a private single-node SLURM cluster for the batch tests (tests/slurm)
  slurmctld slurmd slurm-client munge
  # independent references for tests and benchmarks (run with /usr/bin/python3)
  python3 python3-numpy python3-scipy python3-h5py python3-matplotlib python3-torch
  # real 8x8 digits (sklearn.datasets.load_digits) for the training-Jacobian reproduction test
  python3-sklearn
  # real data for the data-layer tests (gzipped IDX under /usr/share/datasets/fashion-mnist)
  dataset-fashion-mnist
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "specdyn: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Make sure the BLAS/LAPACK alternatives point at OpenBLAS, not the reference build.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine)
for lib in libblas.so.3 liblapack.so.3; do
  target=$(update-alternatives --list "$lib-$arch" 2>/dev/null | grep openblas | head -n1 || true)
  if [ -n "$target" ]; then
    cur=$(readlink -f "/usr/lib/$arch/$lib" || true)
    case "$cur" in
      *openblas*) ;;
      *) ${SUDO:-} update-alternatives --set "$lib-$arch" "$target" >/dev/null ;;
    esac
  fi
done
exit 0
