/* A counting view of an operator: a MATSHELL that forwards products to A and counts
   them, so that the solvers report how many products (passes over A) a solve took,
   whatever A is (assembled, float32 copy, curvature or Jacobian shell). The norm and the
   diagonal are forwarded only when A has them (-svd_conv_norm / -eps_conv_norm need a
   norm; preconditioned eigensolvers a diagonal). */
#include <specdyn/operator.h>

typedef struct {
  Mat      A;
  PetscInt nmult, nmultt;
} SpdCountCtx;

static PetscErrorCode SpdCountMult(Mat S, Vec x, Vec y)
{
  SpdCountCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &c));
  c->nmult++;
  PetscCall(MatMult(c->A, x, y));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdCountMultTranspose(Mat S, Vec x, Vec y)
{
  SpdCountCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &c));
  c->nmultt++;
  PetscCall(MatMultTranspose(c->A, x, y));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdCountCreateVecs(Mat S, Vec *right, Vec *left)
{
  SpdCountCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &c));
  PetscCall(MatCreateVecs(c->A, right, left));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdCountNorm(Mat S, NormType type, PetscReal *nrm)
{
  SpdCountCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &c));
  PetscCall(MatNorm(c->A, type, nrm));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdCountGetDiagonal(Mat S, Vec d)
{
  SpdCountCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &c));
  PetscCall(MatGetDiagonal(c->A, d));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdCountDestroy(Mat S)
{
  SpdCountCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &c));
  PetscCall(PetscFree(c));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatCreateCounting - a MATSHELL that applies A and counts the products

  Collective

  Input Parameter:
. A - the operator (not referenced: keep it alive while S is used)

  Output Parameter:
. S - same sizes and layout as A; MatMult/MatMultTranspose forward to A

  Notes:
  The symmetry flags of A are copied. SpdMatCountingGetCounts() returns the counts.

.seealso: `SpdSVDExtreme()`, `SpdEigExtreme()`
@*/
PetscErrorCode SpdMatCreateCounting(Mat A, Mat *S)
{
  SpdCountCtx *c;
  PetscInt     m, n, M, N;
  PetscBool    has, set, flg;

  PetscFunctionBegin;
  PetscCall(PetscNew(&c));
  c->A = A;
  PetscCall(MatGetLocalSize(A, &m, &n));
  PetscCall(MatGetSize(A, &M, &N));
  PetscCall(MatCreateShell(PetscObjectComm((PetscObject)A), m, n, M, N, c, S));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT, (void (*)(void))SpdCountMult));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT_TRANSPOSE, (void (*)(void))SpdCountMultTranspose));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT_HERMITIAN_TRANSPOSE, (void (*)(void))SpdCountMultTranspose));
  PetscCall(MatShellSetOperation(*S, MATOP_CREATE_VECS, (void (*)(void))SpdCountCreateVecs));
  PetscCall(MatShellSetOperation(*S, MATOP_DESTROY, (void (*)(void))SpdCountDestroy));
  PetscCall(MatHasOperation(A, MATOP_NORM, &has));
  if (has) PetscCall(MatShellSetOperation(*S, MATOP_NORM, (void (*)(void))SpdCountNorm));
  PetscCall(MatHasOperation(A, MATOP_GET_DIAGONAL, &has));
  if (has) PetscCall(MatShellSetOperation(*S, MATOP_GET_DIAGONAL, (void (*)(void))SpdCountGetDiagonal));
  PetscCall(MatIsSymmetricKnown(A, &set, &flg));
  if (set && flg) {
    PetscCall(MatSetOption(*S, MAT_SYMMETRIC, PETSC_TRUE));
    PetscCall(MatSetOption(*S, MAT_SYMMETRY_ETERNAL, PETSC_TRUE));
  }
  PetscFunctionReturn(0);
}

/* Products with A and with A^T applied through S so far. */
PetscErrorCode SpdMatCountingGetCounts(Mat S, PetscInt *nmult, PetscInt *nmultt)
{
  SpdCountCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &c));
  if (nmult) *nmult = c->nmult;
  if (nmultt) *nmultt = c->nmultt;
  PetscFunctionReturn(0);
}
