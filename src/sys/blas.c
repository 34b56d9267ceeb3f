/* One dgemm wrapper for every layer: PetscInt sizes cast to BLAS integers with checks. */
#include <specdyn/private/blas.h>
#include <petscblaslapack.h>

/*@C
  SpdGemm - C = alpha op(A) op(B) + beta C (column-major, BLAS dgemm)

  Not Collective

  Notes:
  Sizes are PetscInt and checked to fit the BLAS integer. M = 0 or N = 0 does nothing;
  K = 0 scales C by beta (0: zeroes it), which some BLAS skip.
@*/
PetscErrorCode SpdGemm(const char ta[], const char tb[], PetscInt M, PetscInt N, PetscInt K, PetscReal alpha, const PetscReal A[], PetscInt lda, const PetscReal B[], PetscInt ldb, PetscReal beta, PetscReal C[], PetscInt ldc)
{
  PetscBLASInt m, n, k, la, lb, lc;

  PetscFunctionBegin;
  if (M == 0 || N == 0) PetscFunctionReturn(0);
  if (K == 0) { /* C = beta C; BLAS may skip the update */
    for (PetscInt j = 0; j < N; j++)
      for (PetscInt i = 0; i < M; i++) C[i + j * ldc] = beta == 0.0 ? 0.0 : beta * C[i + j * ldc];
    PetscFunctionReturn(0);
  }
  PetscCall(PetscBLASIntCast(M, &m));
  PetscCall(PetscBLASIntCast(N, &n));
  PetscCall(PetscBLASIntCast(K, &k));
  PetscCall(PetscBLASIntCast(PetscMax(lda, 1), &la));
  PetscCall(PetscBLASIntCast(PetscMax(ldb, 1), &lb));
  PetscCall(PetscBLASIntCast(PetscMax(ldc, 1), &lc));
  PetscCallBLAS("BLASgemm", BLASgemm_(ta, tb, &m, &n, &k, &alpha, A, &la, B, &lb, &beta, C, &lc));
  PetscFunctionReturn(0);
}
