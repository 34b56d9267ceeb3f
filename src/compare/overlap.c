/* Subspace overlaps of row-distributed vector sets: one local product per rank and one
   reduction of the small ka x kb result; principal angles from its singular values. */
#include <specdyn/compare.h>
#include <petscblaslapack.h>

/*@C
  SpdOverlap - M = A^T B for two row-distributed sets of vectors

  Collective

  Input Parameters:
+ comm - the ranks holding the rows
. nloc - rows held by this rank (may be 0)
. ka   - number of vectors in A
. A    - this rank's rows of A, column-major (nloc x ka)
. kb   - number of vectors in B
- B    - this rank's rows of B, column-major (nloc x kb)

  Output Parameter:
. M - ka x kb, row-major, identical on every rank

  Notes:
  Each rank multiplies its own rows (BLAS dgemm) and the ka x kb partial products are
  summed with one MPI_Allreduce: the vectors are never gathered.

.seealso: `SpdPrincipalCosines()`
@*/
PetscErrorCode SpdOverlap(MPI_Comm comm, PetscInt nloc, PetscInt ka, const PetscReal A[], PetscInt kb, const PetscReal B[], PetscReal M[])
{
  PetscReal   *C;
  PetscBLASInt m, n, k, lda;
  PetscReal    one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1((size_t)ka * kb + 1, &C));
  if (nloc > 0 && ka > 0 && kb > 0) {
    PetscCall(PetscBLASIntCast(ka, &m));
    PetscCall(PetscBLASIntCast(kb, &n));
    PetscCall(PetscBLASIntCast(nloc, &k));
    lda = k;
    /* C (ka x kb, column-major) = A^T B */
    PetscCallBLAS("BLASgemm", BLASgemm_("T", "N", &m, &n, &k, &one, A, &lda, B, &lda, &zero, C, &m));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, C, (PetscMPIInt)(ka * kb), MPIU_REAL, MPIU_SUM, comm));
  for (PetscInt i = 0; i < ka; i++)
    for (PetscInt j = 0; j < kb; j++) M[i * kb + j] = C[i + j * ka];
  PetscCall(PetscFree(C));
  PetscFunctionReturn(0);
}

/*@C
  SpdPrincipalCosines - cosines of the principal angles between two subspaces

  Not collective

  Input Parameters:
+ ka, kb - dimensions of the subspaces
- M      - A^T B (ka x kb, row-major) for orthonormal bases A and B

  Output Parameter:
. cos - min(ka, kb) cosines, descending, in [0, 1] (LAPACK dgesvd of M)

.seealso: `SpdOverlap()`
@*/
PetscErrorCode SpdPrincipalCosines(PetscInt ka, PetscInt kb, const PetscReal M[], PetscReal cos[])
{
  PetscReal   *a, *work, wq;
  PetscBLASInt m, n, lwork = -1, info, one = 1;
  PetscInt     r = PetscMin(ka, kb);

  PetscFunctionBegin;
  if (r == 0) PetscFunctionReturn(0);
  PetscCall(PetscBLASIntCast(kb, &m)); /* row-major ka x kb = column-major kb x ka */
  PetscCall(PetscBLASIntCast(ka, &n));
  PetscCall(PetscMalloc1((size_t)ka * kb, &a));
  PetscCall(PetscArraycpy(a, M, (size_t)ka * kb));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("N", "N", &m, &n, a, &m, cos, NULL, &one, NULL, &one, &wq, &lwork, &info));
  lwork = (PetscBLASInt)wq;
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("N", "N", &m, &n, a, &m, cos, NULL, &one, NULL, &one, work, &lwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK dgesvd failed on a %" PetscInt_FMT " x %" PetscInt_FMT " overlap matrix (info %d)", ka, kb, (int)info);
  for (PetscInt i = 0; i < r; i++) cos[i] = PetscMin(1.0, PetscMax(0.0, cos[i]));
  PetscCall(PetscFree(work));
  PetscCall(PetscFree(a));
  PetscFunctionReturn(0);
}
