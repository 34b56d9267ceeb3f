/* Helpers of the solver tests: a global column-major array as a MATMPIDENSE with
   PETSc's default row layout (every rank holds the whole small array and copies its
   rows), and planted-spectrum matrices A = U diag(s) V^T built serially with LAPACK. */
#pragma once
#include "testutil.h"
#include <petscblaslapack.h>

static inline PetscErrorCode SolverTestDenseFromArray(MPI_Comm comm, PetscInt m, PetscInt n, const double g[], Mat *A)
{
  PetscInt     rstart, rend, lda;
  PetscScalar *a;

  PetscFunctionBeginUser;
  PetscCall(MatCreateDense(comm, PETSC_DECIDE, PETSC_DECIDE, m, n, NULL, A));
  PetscCall(MatGetOwnershipRange(*A, &rstart, &rend));
  PetscCall(MatDenseGetLDA(*A, &lda));
  PetscCall(MatDenseGetArrayWrite(*A, &a));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = rstart; i < rend; i++) a[(i - rstart) + (size_t)j * lda] = g[i + (size_t)j * m];
  PetscCall(MatDenseRestoreArrayWrite(*A, &a));
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* q (m x n, column-major, m >= n) with orthonormal columns: QR of a Gaussian matrix. */
static inline PetscErrorCode SolverTestOrthonormal(uint64_t seed, PetscInt m, PetscInt n, double q[])
{
  PetscBLASInt bm, bn, lwork, info;
  double      *tau, *work, wq;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(m, &bm));
  PetscCall(PetscBLASIntCast(n, &bn));
  SpdTestRandomMatrix(seed, m, n, q);
  PetscCall(PetscMalloc1(n, &tau));
  lwork = -1;
  LAPACKgeqrf_(&bm, &bn, q, &bm, tau, &wq, &lwork, &info);
  lwork = (PetscBLASInt)wq;
  PetscCall(PetscMalloc1(lwork, &work));
  LAPACKgeqrf_(&bm, &bn, q, &bm, tau, work, &lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgeqrf info %d", (int)info);
  LAPACKorgqr_(&bm, &bn, &bn, q, &bm, tau, work, &lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dorgqr info %d", (int)info);
  PetscCall(PetscFree(work));
  PetscCall(PetscFree(tau));
  PetscFunctionReturn(0);
}

/* a = U diag(s) V^T (m x n column-major, m >= n = len(s)), U, V random orthonormal. */
static inline PetscErrorCode SolverTestPlanted(uint64_t seed, PetscInt m, PetscInt n, const double s[], double a[])
{
  double *u, *v;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2((size_t)m * n, &u, (size_t)n * n, &v));
  PetscCall(SolverTestOrthonormal(seed, m, n, u));
  PetscCall(SolverTestOrthonormal(seed + 1, n, n, v));
  for (PetscInt j = 0; j < n; j++) /* scale the columns of U by s */
    for (PetscInt i = 0; i < m; i++) u[i + (size_t)j * m] *= s[j];
  {
    PetscBLASInt bm, bn, bk;
    double       one = 1, zero = 0;
    PetscCall(PetscBLASIntCast(m, &bm));
    PetscCall(PetscBLASIntCast(n, &bn));
    bk = bn;
    BLASgemm_("N", "T", &bm, &bn, &bk, &one, u, &bm, v, &bn, &zero, a, &bm);
  }
  PetscCall(PetscFree2(u, v));
  PetscFunctionReturn(0);
}
