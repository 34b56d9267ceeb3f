/* Helpers shared by the benchmark drivers. */
#include "benchutil.h"
#include <petscblaslapack.h>
#include <petsctime.h>

/* Best GFLOP/s of C = A B on square matrices of order m, on this rank's core. */
PetscErrorCode BenchDgemm(PetscInt m, double *gflops)
{
  PetscBLASInt n;
  PetscReal   *A, *B, *C, one = 1, zero = 0;
  double       best = PETSC_MAX_REAL;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(m, &n));
  PetscCall(PetscMalloc3((size_t)m * m, &A, (size_t)m * m, &B, (size_t)m * m, &C));
  for (size_t i = 0; i < (size_t)m * m; i++) {
    A[i] = (double)((i * 7919) % 1000) / 1000.0 - 0.5;
    B[i] = (double)((i * 104729) % 1000) / 1000.0 - 0.5;
  }
  for (int r = 0; r < 4; r++) { /* the first call warms up (thread pools, page faults) */
    double t0 = MPI_Wtime();
    PetscCallBLAS("BLASgemm", BLASgemm_("N", "N", &n, &n, &n, &one, A, &n, B, &n, &zero, C, &n));
    if (r) best = PetscMin(best, MPI_Wtime() - t0);
  }
  *gflops = 2.0 * (double)m * m * m / best / 1e9;
  PetscCall(PetscFree3(A, B, C));
  PetscFunctionReturn(0);
}
