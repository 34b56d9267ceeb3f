/* Products of an analysed matrix with a block of k vectors in one pass over the matrix:
   the float32 operator provides its own kernels; a MATDENSE uses MatMatMult /
   MatTransposeMatMult (GEMM); anything else falls back to k single products. */
#include <specdyn/operator.h>

/* Copy k Vecs (same layout) into the columns of a new dense matrix. */
static PetscErrorCode SpdVecsToDense_Private(PetscInt k, const Vec X[], Mat *D)
{
  PetscInt     n, N, lda;
  PetscScalar *d;
  MPI_Comm     comm;

  PetscFunctionBegin;
  PetscCall(PetscObjectGetComm((PetscObject)X[0], &comm));
  PetscCall(VecGetLocalSize(X[0], &n));
  PetscCall(VecGetSize(X[0], &N));
  PetscCall(MatCreateDense(comm, n, PETSC_DECIDE, N, k, NULL, D));
  PetscCall(MatDenseGetLDA(*D, &lda));
  PetscCall(MatDenseGetArrayWrite(*D, &d));
  for (PetscInt r = 0; r < k; r++) {
    const PetscScalar *x;
    PetscCall(VecGetArrayRead(X[r], &x));
    PetscCall(PetscArraycpy(d + (size_t)r * lda, x, n));
    PetscCall(VecRestoreArrayRead(X[r], &x));
  }
  PetscCall(MatDenseRestoreArrayWrite(*D, &d));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdDenseToVecs_Private(Mat D, PetscInt k, Vec Y[])
{
  PetscInt           lda, n;
  const PetscScalar *d;

  PetscFunctionBegin;
  PetscCall(MatDenseGetLDA(D, &lda));
  PetscCall(MatDenseGetArrayRead(D, &d));
  for (PetscInt r = 0; r < k; r++) {
    PetscScalar *y;
    PetscCall(VecGetLocalSize(Y[r], &n));
    PetscCall(VecGetArrayWrite(Y[r], &y));
    PetscCall(PetscArraycpy(y, d + (size_t)r * lda, n));
    PetscCall(VecRestoreArrayWrite(Y[r], &y));
  }
  PetscCall(MatDenseRestoreArrayRead(D, &d));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdMatBlock_Private(Mat A, PetscBool transpose, PetscInt k, const Vec X[], Vec Y[])
{
  PetscErrorCode (*f)(Mat, PetscInt, const Vec[], Vec[]) = NULL;
  PetscBool dense;

  PetscFunctionBegin;
  if (k == 0) PetscFunctionReturn(0);
  if (k == 1) { /* one vector: the single product's kernels (no block padded with zeros) */
    PetscCall(transpose ? MatMultTranspose(A, X[0], Y[0]) : MatMult(A, X[0], Y[0]));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscObjectQueryFunction((PetscObject)A, transpose ? "SpdMatMultTransposeBlock_C" : "SpdMatMultBlock_C", &f));
  if (f) {
    PetscCall((*f)(A, k, X, Y));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscObjectTypeCompareAny((PetscObject)A, &dense, MATMPIDENSE, MATSEQDENSE, ""));
  if (dense) {
    Mat Xd, Yd;
    PetscCall(SpdVecsToDense_Private(k, X, &Xd));
    if (transpose)
      PetscCall(MatTransposeMatMult(A, Xd, MAT_INITIAL_MATRIX, PETSC_DEFAULT, &Yd));
    else
      PetscCall(MatMatMult(A, Xd, MAT_INITIAL_MATRIX, PETSC_DEFAULT, &Yd));
    PetscCall(SpdDenseToVecs_Private(Yd, k, Y));
    PetscCall(MatDestroy(&Xd));
    PetscCall(MatDestroy(&Yd));
  } else
    for (PetscInt r = 0; r < k; r++) PetscCall(transpose ? MatMultTranspose(A, X[r], Y[r]) : MatMult(A, X[r], Y[r]));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatMultBlock - Y_r = A X_r for r < k, reading A once when A allows it

  Collective on A

  Notes:
  Logged as the event SpdMultBlock (SpdMultTBlock for the transpose).

.seealso: SpdMatMultTransposeBlock(), SpdMatCreateFloat32()
@*/
PetscErrorCode SpdMatMultBlock(Mat A, PetscInt k, const Vec X[], Vec Y[])
{
  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(SPD_MultBlock, A, 0, 0, 0));
  PetscCall(SpdMatBlock_Private(A, PETSC_FALSE, k, X, Y));
  PetscCall(PetscLogEventEnd(SPD_MultBlock, A, 0, 0, 0));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatMultTransposeBlock - Y_r = A^T X_r for r < k, reading A once when A allows it

  Collective on A

.seealso: SpdMatMultBlock()
@*/
PetscErrorCode SpdMatMultTransposeBlock(Mat A, PetscInt k, const Vec X[], Vec Y[])
{
  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(SPD_MultTBlock, A, 0, 0, 0));
  PetscCall(SpdMatBlock_Private(A, PETSC_TRUE, k, X, Y));
  PetscCall(PetscLogEventEnd(SPD_MultTBlock, A, 0, 0, 0));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatGetBlockWidth - how many vectors a block product (SpdMatMultBlock) takes for
  about the cost of one single product

  Not collective

  Input Parameter:
. A - the operator

  Output Parameter:
. b - 4 for the float32 operator on CPUs with AVX2 and FMA from 16 MiB per rank
      (-spd_float32_block_min_mb; a 4-vector pass then costs ~1.1-1.5 single-vector
      passes: bound by arithmetic or by the vectors' traffic in the caches, where a
      single product is bound by memory), 1 for every other matrix

  Notes:
  SpdSVDExtreme() runs the top solve by block Lanczos with this many vectors per pass
  when b > 1 (-spd_svd_block overrides).

.seealso: SpdMatMultBlock(), SpdMatCreateFloat32()
@*/
PetscErrorCode SpdMatGetBlockWidth(Mat A, PetscInt *b)
{
  PetscErrorCode (*f)(Mat, PetscInt *) = NULL;

  PetscFunctionBegin;
  *b = 1;
  PetscCall(PetscObjectQueryFunction((PetscObject)A, "SpdMatGetBlockWidth_C", &f));
  if (f) PetscCall((*f)(A, b));
  PetscFunctionReturn(0);
}
