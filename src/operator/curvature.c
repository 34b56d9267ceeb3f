/* Curvature operators of an MLP (Hessian, Gauss-Newton, gradient covariance) as a
   symmetric MATSHELL on a distributed vector, possibly restricted to blocks of the
   parameters (one layer, or any set of ranges).

   Data parallel (DESIGN.md section 3): a product gathers the input vector on every rank
   (VecScatterCreateToAll), expands it into a full parameter direction (zero outside the
   blocks), applies the curvature to the rank's own samples (SpdMLPCurvatureApply,
   local), and one MPI_Reduce_scatter sums the contributions and hands each rank its
   rows of the result, divided by the number of samples. */
#include <specdyn/operator.h>

typedef struct {
  SpdMLP       mlp;
  SpdCurvature kind;
  PetscInt     nblocks, *off, *len, N, P;
  PetscReal   *vfull, *yfull, *ysub;
  PetscMPIInt *counts;
  VecScatter   toall;
  Vec          xall;
} SpdCurvCtx;

static PetscErrorCode SpdCurvMult(Mat A, Vec x, Vec y)
{
  SpdCurvCtx        *c;
  const PetscScalar *xa;
  PetscScalar       *ya;
  SpdData            d;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &c));
  PetscCall(VecScatterBegin(c->toall, x, c->xall, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(c->toall, x, c->xall, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(c->xall, &xa));
  if (c->nblocks) {
    PetscInt k = 0;
    PetscCall(PetscArrayzero(c->vfull, c->P));
    for (PetscInt b = 0; b < c->nblocks; b++)
      for (PetscInt j = 0; j < c->len[b]; j++) c->vfull[c->off[b] + j] = PetscRealPart(xa[k++]);
  } else
    for (PetscInt j = 0; j < c->P; j++) c->vfull[j] = PetscRealPart(xa[j]);
  PetscCall(VecRestoreArrayRead(c->xall, &xa));
  PetscCall(SpdMLPCurvatureApply(c->mlp, c->kind, c->vfull, c->yfull, PETSC_TRUE));
  if (c->nblocks) {
    PetscInt k = 0;
    for (PetscInt b = 0; b < c->nblocks; b++)
      for (PetscInt j = 0; j < c->len[b]; j++) c->ysub[k++] = c->yfull[c->off[b] + j];
  } else
    c->ysub = c->yfull;
  PetscCall(VecGetArray(y, &ya));
  PetscCallMPI(MPI_Reduce_scatter(c->ysub, ya, c->counts, MPIU_REAL, MPIU_SUM, PetscObjectComm((PetscObject)A)));
  PetscCall(SpdMLPGetData(c->mlp, &d));
  {
    PetscInt nl;
    PetscCall(VecGetLocalSize(y, &nl));
    for (PetscInt j = 0; j < nl; j++) ya[j] /= d->n;
  }
  PetscCall(VecRestoreArray(y, &ya));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdCurvDestroy(Mat A)
{
  SpdCurvCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &c));
  PetscCall(VecScatterDestroy(&c->toall));
  PetscCall(VecDestroy(&c->xall));
  if (c->ysub != c->yfull) PetscCall(PetscFree(c->ysub));
  PetscCall(PetscFree3(c->vfull, c->yfull, c->counts));
  PetscCall(PetscFree2(c->off, c->len));
  PetscCall(PetscFree(c));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatCreateCurvature - a curvature operator of an MLP at its current point

  Collective

  Input Parameters:
+ mlp     - the model, after SpdMLPSetPoint()
. kind    - SPD_CURV_HESSIAN, SPD_CURV_GAUSS_NEWTON or SPD_CURV_GRADIENT_COVARIANCE
. nblocks - number of parameter ranges (0: every parameter)
- off, len - the ranges [off_j, off_j + len_j) of theta (ascending, disjoint)

  Output Parameter:
. A - symmetric MATSHELL of size sum_j len_j (or the number of parameters), rows split
      by PETSc's default layout; MatMult and MatMultTranspose apply the operator

.seealso: `SpdMLPCurvatureApply()`, `SpdEigExtreme()`
@*/
PetscErrorCode SpdMatCreateCurvature(SpdMLP mlp, SpdCurvature kind, PetscInt nblocks, const PetscInt off[], const PetscInt len[], Mat *A)
{
  SpdCurvCtx *c;
  SpdData     d;
  MPI_Comm    comm;
  PetscMPIInt size;
  PetscInt    nloc = PETSC_DECIDE;
  Vec         x;

  PetscFunctionBegin;
  PetscCall(SpdMLPGetData(mlp, &d));
  PetscCheck(d, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call SpdMLPSetPoint() before SpdMatCreateCurvature()");
  comm = d->comm;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscNew(&c));
  c->mlp     = mlp;
  c->kind    = kind;
  c->nblocks = nblocks;
  PetscCall(SpdMLPGetNumParameters(mlp, &c->P));
  PetscCall(PetscMalloc2(nblocks + 1, &c->off, nblocks + 1, &c->len));
  c->N = nblocks ? 0 : c->P;
  for (PetscInt b = 0; b < nblocks; b++) {
    PetscCheck(off[b] >= 0 && len[b] >= 0 && off[b] + len[b] <= c->P && (b == 0 || off[b] >= off[b - 1] + len[b - 1]), comm, PETSC_ERR_ARG_OUTOFRANGE, "Parameter block %" PetscInt_FMT " [%" PetscInt_FMT ", %" PetscInt_FMT ") is outside the %" PetscInt_FMT " parameters or overlaps the previous one", b, off[b], off[b] + len[b], c->P);
    c->off[b] = off[b];
    c->len[b] = len[b];
    c->N += len[b];
  }
  PetscCheck(c->N > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "The curvature operator restricted to the given blocks has no parameters");
  PetscCall(PetscMalloc3(c->P, &c->vfull, c->P, &c->yfull, size, &c->counts));
  c->ysub = c->yfull;
  if (nblocks) PetscCall(PetscMalloc1(c->N, &c->ysub));
  PetscCall(PetscSplitOwnership(comm, &nloc, &c->N));
  {
    PetscMPIInt n;
    PetscCall(PetscMPIIntCast(nloc, &n));
    PetscCallMPI(MPI_Allgather(&n, 1, MPI_INT, c->counts, 1, MPI_INT, comm));
  }
  PetscCall(MatCreateShell(comm, nloc, nloc, c->N, c->N, c, A));
  PetscCall(MatShellSetOperation(*A, MATOP_MULT, (void (*)(void))SpdCurvMult));
  PetscCall(MatShellSetOperation(*A, MATOP_MULT_TRANSPOSE, (void (*)(void))SpdCurvMult));
  PetscCall(MatShellSetOperation(*A, MATOP_DESTROY, (void (*)(void))SpdCurvDestroy));
  PetscCall(MatSetOption(*A, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatSetOption(*A, MAT_SYMMETRY_ETERNAL, PETSC_TRUE));
  PetscCall(MatCreateVecs(*A, &x, NULL));
  PetscCall(VecScatterCreateToAll(x, &c->toall, &c->xall));
  PetscCall(VecDestroy(&x));
  PetscFunctionReturn(0);
}
