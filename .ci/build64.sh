#!/usr/bin/env bash
# CI: the 64-bit-index build (-DSPD_PETSC64=ON against Debian's libpetsc64-real-dev and
# libslepc64-real-dev, installed by scripts/install-deps.sh): `make build64` builds every
# target with PetscInt = int64 and runs the index-width, solver, source and metrics tests.
# It must not disturb the default (32-bit) build: PETSc.pc must still be the 32-bit one.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
make build64
if grep -q '^#define PETSC_USE_64BIT_INDICES' "$(pkg-config --variable=includedir PETSc)/petscconf.h"; then
  echo ".ci/build64.sh: the default PETSc.pc now points at a 64-bit-index PETSc; the 'petsc' alternative changed" >&2
  exit 1
fi
