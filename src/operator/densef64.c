/* specdyn's products for PETSc's dense matrices (MATSEQDENSE, MATMPIDENSE).

   A MATMPIDENSE applies its local row block with the sequential matrix's MatMult /
   MatMultTranspose (BLAS dgemv) after gathering x, resp. before summing the column
   pieces. SpdMatDenseSetKernels replaces those two operations of the local block with
   the column-blocked kernels of gemvimpl.h, which read the block 10-15% faster than
   OpenBLAS's dgemv on the machines measured (bench row 3): products with a dense
   weight matrix are memory-bound, so this is their speed. PETSc's communication, vector
   layouts and every other operation stay as they are. */
#include <specdyn/operator.h>
#include <petsc/private/petscimpl.h> /* type_name in the error message */

/* SpdF64Gemv_N (y = A x) and SpdF64Gemv_T (z = A^T x) on a float64 block */
#define SPD_GEMV_T   double
#define SPD_GEMV(op) SpdF64Gemv_##op
#include "gemvimpl.h"

/* y = A x (trans false) or y = A^T x of the sequential block A */
static PetscErrorCode SpdSeqDenseApply_Private(Mat A, Vec x, Vec y, PetscBool trans)
{
  const PetscScalar *a, *xa;
  PetscScalar       *ya;
  PetscInt           m, n, lda;

  PetscFunctionBegin;
  PetscCall(MatGetLocalSize(A, &m, &n));
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCall(MatDenseGetArrayRead(A, &a));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  if (trans)
    SpdF64Gemv_T(m, n, a, lda, xa, ya);
  else
    SpdF64Gemv_N(m, n, a, lda, xa, ya);
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(MatDenseRestoreArrayRead(A, &a));
  PetscCall(PetscLogFlops(2.0 * m * n));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdSeqDenseMult(Mat A, Vec x, Vec y)
{
  PetscFunctionBegin;
  PetscCall(SpdSeqDenseApply_Private(A, x, y, PETSC_FALSE));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdSeqDenseMultTranspose(Mat A, Vec x, Vec y)
{
  PetscFunctionBegin;
  PetscCall(SpdSeqDenseApply_Private(A, x, y, PETSC_TRUE));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatDenseSetKernels - apply a dense matrix with specdyn's column-blocked kernels

  Logically collective on A

  Input Parameter:
. A - a MATMPIDENSE or MATSEQDENSE matrix (real scalars)

  Options Database Key:
. -spd_dense_kernels <bool> - false keeps PETSc's (BLAS dgemv) products (default true)

  Notes:
  Sets MatMult and MatMultTranspose of A's local block (MatDenseGetLocalMatrix()); the
  results equal BLAS's up to the rounding of a different summation order. Call it after
  the matrix is assembled; MatDuplicate() of A does not inherit it.

.seealso: SpdMatLoadView(), SpdMatCreateFloat32()
@*/
PetscErrorCode SpdMatDenseSetKernels(Mat A)
{
  Mat       loc;
  PetscBool use = PETSC_TRUE, isdense;

  PetscFunctionBegin;
  PetscCall(PetscObjectTypeCompareAny((PetscObject)A, &isdense, MATMPIDENSE, MATSEQDENSE, ""));
  PetscCheck(isdense, PetscObjectComm((PetscObject)A), PETSC_ERR_SUP, "SpdMatDenseSetKernels needs a MATMPIDENSE or MATSEQDENSE matrix, not %s", ((PetscObject)A)->type_name);
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-spd_dense_kernels", &use, NULL));
  if (!use) PetscFunctionReturn(0);
  PetscCall(MatDenseGetLocalMatrix(A, &loc));
  PetscCall(MatSetOperation(loc, MATOP_MULT, (void (*)(void))SpdSeqDenseMult));
  PetscCall(MatSetOperation(loc, MATOP_MULT_TRANSPOSE, (void (*)(void))SpdSeqDenseMultTranspose));
  PetscFunctionReturn(0);
}
