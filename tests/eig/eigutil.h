/* Helpers of the eig tests: symmetric matrices with planted spectra A = Q diag(lambda) Q^T
   (Q from LAPACK QR of a seeded Gaussian matrix), built serially as a global column-major
   array on every rank and distributed as MATMPIDENSE, MATMPIAIJ or a MATSHELL that
   counts its products; LAPACK dsyev as the independent reference. */
#pragma once
#include "testutil.h"
#include <petscblaslapack.h>

/* q (n x n, column-major) orthogonal: QR of a Gaussian matrix. */
static inline PetscErrorCode EigTestOrthogonal(uint64_t seed, PetscInt n, double q[])
{
  PetscBLASInt bn, lwork, info;
  double      *tau, *work, wq;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(n, &bn));
  SpdTestRandomMatrix(seed, n, n, q);
  PetscCall(PetscMalloc1(n, &tau));
  lwork = -1;
  LAPACKgeqrf_(&bn, &bn, q, &bn, tau, &wq, &lwork, &info);
  lwork = (PetscBLASInt)wq;
  PetscCall(PetscMalloc1(lwork, &work));
  LAPACKgeqrf_(&bn, &bn, q, &bn, tau, work, &lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgeqrf info %d", (int)info);
  LAPACKorgqr_(&bn, &bn, &bn, q, &bn, tau, work, &lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dorgqr info %d", (int)info);
  PetscCall(PetscFree(work));
  PetscCall(PetscFree(tau));
  PetscFunctionReturn(0);
}

/* a = q diag(lambda) q^T (n x n column-major), exactly symmetrized. */
static inline PetscErrorCode EigTestPlanted(PetscInt n, const double q[], const double lambda[], double a[])
{
  double      *ql, one = 1, zero = 0;
  PetscBLASInt bn;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscMalloc1((size_t)n * n, &ql));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i < n; i++) ql[i + (size_t)j * n] = q[i + (size_t)j * n] * lambda[j];
  BLASgemm_("N", "T", &bn, &bn, &bn, &one, ql, &bn, q, &bn, &zero, a, &bn);
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i < j; i++) {
      double s             = 0.5 * (a[i + (size_t)j * n] + a[j + (size_t)i * n]);
      a[i + (size_t)j * n] = a[j + (size_t)i * n] = s;
    }
  PetscCall(PetscFree(ql));
  PetscFunctionReturn(0);
}

/* Eigenvalues (ascending) of the symmetric n x n column-major a with LAPACK dsyev. */
static inline PetscErrorCode EigTestLapackEigenvalues(PetscInt n, const double a[], double w[])
{
  PetscBLASInt bn, lwork = -1, info;
  double      *c, *work, wq;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscMalloc1((size_t)n * n, &c));
  PetscCall(PetscArraycpy(c, a, (size_t)n * n));
  LAPACKsyev_("N", "U", &bn, c, &bn, w, &wq, &lwork, &info);
  lwork = (PetscBLASInt)wq;
  PetscCall(PetscMalloc1(lwork, &work));
  LAPACKsyev_("N", "U", &bn, c, &bn, w, work, &lwork, &info);
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dsyev info %d", (int)info);
  PetscCall(PetscFree(work));
  PetscCall(PetscFree(c));
  PetscFunctionReturn(0);
}

static inline PetscErrorCode EigTestDense(MPI_Comm comm, PetscInt n, const double g[], Mat *A)
{
  PetscInt     rstart, rend, lda;
  PetscScalar *a;

  PetscFunctionBeginUser;
  PetscCall(MatCreateDense(comm, PETSC_DECIDE, PETSC_DECIDE, n, n, NULL, A));
  PetscCall(MatGetOwnershipRange(*A, &rstart, &rend));
  PetscCall(MatDenseGetLDA(*A, &lda));
  PetscCall(MatDenseGetArrayWrite(*A, &a));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = rstart; i < rend; i++) a[(i - rstart) + (size_t)j * lda] = g[i + (size_t)j * n];
  PetscCall(MatDenseRestoreArrayWrite(*A, &a));
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* MATAIJ keeping the nonzeros of g (all of them for a planted dense spectrum). */
static inline PetscErrorCode EigTestAIJ(MPI_Comm comm, PetscInt n, const double g[], Mat *A)
{
  PetscInt rstart, rend, *cols, nz;
  double  *vals;

  PetscFunctionBeginUser;
  PetscCall(MatCreate(comm, A));
  PetscCall(MatSetSizes(*A, PETSC_DECIDE, PETSC_DECIDE, n, n));
  PetscCall(MatSetType(*A, MATAIJ));
  PetscCall(MatSeqAIJSetPreallocation(*A, n, NULL));
  PetscCall(MatMPIAIJSetPreallocation(*A, n, NULL, n, NULL));
  PetscCall(MatGetOwnershipRange(*A, &rstart, &rend));
  PetscCall(PetscMalloc2(n, &cols, n, &vals));
  for (PetscInt i = rstart; i < rend; i++) {
    nz = 0;
    for (PetscInt j = 0; j < n; j++)
      if (g[i + (size_t)j * n] != 0) {
        cols[nz]   = j;
        vals[nz++] = g[i + (size_t)j * n];
      }
    PetscCall(MatSetValues(*A, 1, &i, nz, cols, vals, INSERT_VALUES));
  }
  PetscCall(PetscFree2(cols, vals));
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* A MATSHELL with MATOP_MULT only (the matrix-free case), counting its products. */
typedef struct {
  Mat      A;
  PetscInt nmult;
} EigTestShellCtx;

static inline PetscErrorCode EigTestShellMult(Mat S, Vec x, Vec y)
{
  EigTestShellCtx *c;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(S, &c));
  c->nmult++;
  PetscCall(MatMult(c->A, x, y));
  PetscFunctionReturn(0);
}

static inline PetscErrorCode EigTestShell(Mat A, EigTestShellCtx *ctx, Mat *S)
{
  PetscInt m, n, M, N;

  PetscFunctionBeginUser;
  ctx->A     = A;
  ctx->nmult = 0;
  PetscCall(MatGetLocalSize(A, &m, &n));
  PetscCall(MatGetSize(A, &M, &N));
  PetscCall(MatCreateShell(PetscObjectComm((PetscObject)A), m, n, M, N, ctx, S));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT, (void (*)(void))EigTestShellMult));
  PetscFunctionReturn(0);
}

/* Sort ascending (insertion sort; test sizes are small). */
static inline void EigTestSort(PetscInt n, double a[])
{
  for (PetscInt i = 1; i < n; i++)
    for (PetscInt j = i; j > 0 && a[j] < a[j - 1]; j--) {
      double t = a[j];
      a[j]     = a[j - 1];
      a[j - 1] = t;
    }
}
