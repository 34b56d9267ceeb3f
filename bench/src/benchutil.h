/* Helpers shared by the benchmark drivers (bench/src/benchutil.c). */
#pragma once
#include <petscsys.h>

/* Best GFLOP/s of C = A B on square matrices of order m, on this rank's core: the dgemm
   peak the drivers report their rates against. */
PetscErrorCode BenchDgemm(PetscInt m, double *gflops);
