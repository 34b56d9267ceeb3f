/* The parameter-function Jacobian J_f = d z_L / d theta of an MLP at its point, as an
   (n out) x P MATSHELL (rows: the outputs of every sample, distributed as the samples;
   columns: the parameters, PETSc's default split).

   J_f v: the input is gathered on every rank (VecScatterCreateToAll) and each rank runs
   the forward R-pass on its own samples (SpdMLPJacobianApply), which are exactly its
   rows of the result: no reduction. J_f^T u: each rank backpropagates its own rows of u
   (SpdMLPJacobianTransposeApply, local) and one MPI_Reduce_scatter sums the parameter
   vectors and hands each rank its rows. */
#include <specdyn/operator.h>

typedef struct {
  SpdMLP       mlp;
  PetscInt64   state; /* SpdMLPGetPointState() at creation */
  char         name[256]; /* the point's data at creation (they define the rows), for messages */
  PetscInt     P;
  PetscReal   *v, *y;
  PetscMPIInt *counts;
  VecScatter   toall;
  Vec          xall;
} SpdFJacCtx;

/* The operator reads the model's point (its caches and its data, which define the rows):
   refuse a product once the point has moved. The model's point state, not the data
   pointer, tells: a trainer sets every minibatch on the same SpdData, and a freed SpdData's
   address can come back for another one. */
static PetscErrorCode SpdFJacCheckPoint(SpdFJacCtx *c)
{
  PetscInt64 state;

  PetscFunctionBegin;
  PetscCall(SpdMLPGetPointState(c->mlp, &state));
  PetscCheck(state == c->state, PETSC_COMM_SELF, PETSC_ERR_ORDER,
      "The function Jacobian was created at the model's point on data %s (point state %" PetscInt64_FMT "), but the point has moved since (state %" PetscInt64_FMT ": SpdMLPSetPoint(), SpdMLPSetMultipliers() or SpdMLPSetLeakySlope() was called); destroy the operator and create it again with SpdMatCreateFunctionJacobian() after the last SpdMLPSetPoint()",
      c->name, c->state, state);
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdFJacMult(Mat A, Vec x, Vec y)
{
  SpdFJacCtx  *c;
  PetscScalar *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &c));
  PetscCall(SpdFJacCheckPoint(c));
  PetscCall(SpdVecGatherToAll(c->toall, x, c->xall, c->v));
  PetscCall(VecGetArray(y, &ya));
  PetscCall(SpdMLPJacobianApply(c->mlp, c->v, (PetscReal *)ya));
  PetscCall(VecRestoreArray(y, &ya));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdFJacMultTranspose(Mat A, Vec u, Vec y)
{
  SpdFJacCtx        *c;
  const PetscScalar *ua;
  PetscScalar       *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &c));
  PetscCall(SpdFJacCheckPoint(c));
  PetscCall(VecGetArrayRead(u, &ua));
  PetscCall(SpdMLPJacobianTransposeApply(c->mlp, (const PetscReal *)ua, c->y, PETSC_TRUE));
  PetscCall(VecRestoreArrayRead(u, &ua));
  PetscCall(VecGetArray(y, &ya));
  PetscCallMPI(MPI_Reduce_scatter(c->y, ya, c->counts, MPIU_REAL, MPIU_SUM, PetscObjectComm((PetscObject)A)));
  PetscCall(VecRestoreArray(y, &ya));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdFJacDestroy(Mat A)
{
  SpdFJacCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &c));
  PetscCall(VecScatterDestroy(&c->toall));
  PetscCall(VecDestroy(&c->xall));
  PetscCall(PetscFree3(c->v, c->y, c->counts));
  PetscCall(PetscFree(c));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatCreateFunctionJacobian - the parameter-function Jacobian d z_L / d theta of an
  MLP at its point

  Collective

  Input Parameter:
. mlp - the model, after SpdMLPSetPoint() (the point's data define the rows)

  Output Parameter:
. A - (n out) x P MATSHELL: row i out + o is output o of global sample i; each rank owns
      the rows of its samples, the columns follow PETSc's default split of P

  Notes:
  The operator uses the model's point when applied: do not move it (SpdMLPSetPoint(),
  SpdMLPSetMultipliers(), SpdMLPSetLeakySlope()) while A is in use. A product after such
  a call fails with PETSC_ERR_ORDER (the operator compares SpdMLPGetPointState() with its
  value at creation): destroy A and create it again at the new point. Even
  SpdMLPSetPoint() on the same data counts as a move, since theta may have changed.

.seealso: `SpdMLPJacobianApply()`, `SpdMLPJacobianTransposeApply()`, `SpdMLPGetPointState()`, `SpdMatCreateTrainingJacobian()`
@*/
PetscErrorCode SpdMatCreateFunctionJacobian(SpdMLP mlp, Mat *A)
{
  SpdFJacCtx     *c;
  SpdData         d;
  MPI_Comm        comm;
  PetscMPIInt     size;
  PetscInt        L, ncol = PETSC_DECIDE, N, nrow;
  const PetscInt *width;
  Vec             x;

  PetscFunctionBegin;
  PetscCall(SpdMLPGetData(mlp, &d));
  PetscCheck(d, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call SpdMLPSetPoint() before SpdMatCreateFunctionJacobian()");
  comm = d->comm;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(SpdMLPGetArchitecture(mlp, &L, &width, NULL, NULL, NULL, NULL, NULL));
  PetscCall(PetscNew(&c));
  c->mlp = mlp;
  PetscCall(SpdMLPGetPointState(mlp, &c->state));
  PetscCall(PetscStrncpy(c->name, d->name, sizeof(c->name)));
  PetscCall(SpdMLPGetNumParameters(mlp, &c->P));
  PetscCall(PetscMalloc3(c->P, &c->v, c->P, &c->y, size, &c->counts));
  N = c->P;
  PetscCall(PetscSplitOwnership(comm, &ncol, &N));
  {
    PetscMPIInt n;
    PetscCall(PetscMPIIntCast(ncol, &n));
    PetscCallMPI(MPI_Allgather(&n, 1, MPI_INT, c->counts, 1, MPI_INT, comm));
  }
  nrow = d->nlocal * width[L];
  PetscCall(MatCreateShell(comm, nrow, ncol, d->n * width[L], c->P, c, A));
  PetscCall(MatShellSetOperation(*A, MATOP_MULT, (void (*)(void))SpdFJacMult));
  PetscCall(MatShellSetOperation(*A, MATOP_MULT_TRANSPOSE, (void (*)(void))SpdFJacMultTranspose));
  PetscCall(MatShellSetOperation(*A, MATOP_DESTROY, (void (*)(void))SpdFJacDestroy));
  PetscCall(MatCreateVecs(*A, &x, NULL));
  PetscCall(VecScatterCreateToAll(x, &c->toall, &c->xall));
  PetscCall(VecDestroy(&x));
  PetscFunctionReturn(0);
}
