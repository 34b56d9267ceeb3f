/* A dense distributed matrix stored in float32 and applied in double precision.

   Checkpoints hold weights in F32, BF16 or F16, all exactly representable in binary32,
   so keeping the analysed matrix in float32 loses nothing, while every product reads
   half the bytes of a float64 copy. Products are memory-bound (each one streams the
   whole matrix), so the iterative solves run close to twice as fast. Every product
   accumulates in double: the result equals the float64 product up to the rounding of
   a different summation order.

   Layout: each rank keeps its rows of A (PETSc's row layout) column-major, as
   MATMPIDENSE does. y = A x gathers x (N doubles) to every rank; y = A^T x forms the
   local N-vector A_loc^T x_loc and sums it into the column layout with one
   MPI_Reduce_scatter. The block products (k vectors, one pass over A) serve the
   residual norms of a set of singular triplets. */
#include <specdyn/operator.h>

typedef struct {
  MPI_Comm     comm;
  PetscInt     mloc, nloc, N;
  float       *a; /* mloc x N, column-major                             */
  double      *xall; /* N * kmax: gathered right vectors / local A^T x      */
  PetscInt     kmax; /* columns xall can hold                               */
  PetscMPIInt *counts; /* column-layout sizes, for the reduce-scatter         */
  VecScatter   toall;
  Vec          xseq;
} SpdDenseF32;

/* y[0:m] = A x over all N columns, 4 columns at a time (fewer passes over y). */
static void SpdF32Gemv_N(PetscInt m, PetscInt N, const float *a, const double *x, double *y)
{
  PetscInt j = 0;

  for (PetscInt i = 0; i < m; i++) y[i] = 0.0;
  for (; j + 4 <= N; j += 4) {
    const float *c0 = a + (size_t)j * m, *c1 = c0 + m, *c2 = c1 + m, *c3 = c2 + m;
    double       x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
#pragma omp simd
    for (PetscInt i = 0; i < m; i++) y[i] += (double)c0[i] * x0 + (double)c1[i] * x1 + (double)c2[i] * x2 + (double)c3[i] * x3;
  }
  for (; j < N; j++) {
    const float *c  = a + (size_t)j * m;
    double       xj = x[j];
#pragma omp simd
    for (PetscInt i = 0; i < m; i++) y[i] += (double)c[i] * xj;
  }
}

/* z[0:N] = A^T x: one dot product per column. */
static void SpdF32Gemv_T(PetscInt m, PetscInt N, const float *a, const double *x, double *z)
{
  for (PetscInt j = 0; j < N; j++) {
    const float *c = a + (size_t)j * m;
    double       s = 0.0;
#pragma omp simd reduction(+ \
                           : s)
    for (PetscInt i = 0; i < m; i++) s += (double)c[i] * x[i];
    z[j] = s;
  }
}

static PetscErrorCode SpdF32Mult(Mat S, Vec x, Vec y)
{
  SpdDenseF32       *d;
  const PetscScalar *xa;
  PetscScalar       *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &d));
  PetscCall(VecScatterBegin(d->toall, x, d->xseq, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(d->toall, x, d->xseq, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(d->xseq, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  SpdF32Gemv_N(d->mloc, d->N, d->a, xa, ya);
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(VecRestoreArrayRead(d->xseq, &xa));
  PetscCall(PetscLogFlops(2.0 * d->mloc * d->N));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdF32MultTranspose(Mat S, Vec x, Vec y)
{
  SpdDenseF32       *d;
  const PetscScalar *xa;
  PetscScalar       *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &d));
  PetscCall(VecGetArrayRead(x, &xa));
  SpdF32Gemv_T(d->mloc, d->N, d->a, xa, d->xall);
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCallMPI(MPI_Reduce_scatter(d->xall, ya, d->counts, MPI_DOUBLE, MPI_SUM, d->comm));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(PetscLogFlops(2.0 * d->mloc * d->N));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdF32Destroy(Mat S)
{
  SpdDenseF32 *d;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &d));
  PetscCall(PetscFree(d->a));
  PetscCall(PetscFree(d->xall));
  PetscCall(PetscFree(d->counts));
  PetscCall(VecScatterDestroy(&d->toall));
  PetscCall(VecDestroy(&d->xseq));
  PetscCall(PetscFree(d));
  PetscCall(PetscObjectComposeFunction((PetscObject)S, "SpdMatMultBlock_C", NULL));
  PetscCall(PetscObjectComposeFunction((PetscObject)S, "SpdMatMultTransposeBlock_C", NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdF32Reserve_Private(SpdDenseF32 *d, PetscInt k)
{
  PetscFunctionBegin;
  if (k <= d->kmax) PetscFunctionReturn(0);
  PetscCall(PetscFree(d->xall));
  PetscCall(PetscMalloc1((size_t)d->N * k, &d->xall));
  d->kmax = k;
  PetscFunctionReturn(0);
}

/* Y_i = A X_i, i < k, with one pass over A. */
static PetscErrorCode SpdF32MultBlock(Mat S, PetscInt k, const Vec X[], Vec Y[])
{
  SpdDenseF32 *d;
  double      *xk;
  PetscScalar *ya[64];

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &d));
  PetscCheck(k <= 64, d->comm, PETSC_ERR_SUP, "block products take at most 64 vectors, got %" PetscInt_FMT, k);
  PetscCall(SpdF32Reserve_Private(d, k));
  xk = d->xall;
  for (PetscInt r = 0; r < k; r++) { /* gather each X_r into row r of the N x k work (row-major) */
    const PetscScalar *xa;
    PetscCall(VecScatterBegin(d->toall, X[r], d->xseq, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(d->toall, X[r], d->xseq, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecGetArrayRead(d->xseq, &xa));
    for (PetscInt j = 0; j < d->N; j++) xk[(size_t)j * k + r] = xa[j];
    PetscCall(VecRestoreArrayRead(d->xseq, &xa));
    PetscCall(VecGetArrayWrite(Y[r], &ya[r]));
    for (PetscInt i = 0; i < d->mloc; i++) ya[r][i] = 0.0;
  }
  for (PetscInt j = 0; j < d->N; j++) {
    const float  *c  = d->a + (size_t)j * d->mloc;
    const double *xj = xk + (size_t)j * k;
    for (PetscInt r = 0; r < k; r++) {
      double       s = xj[r];
      PetscScalar *y = ya[r];
#pragma omp simd
      for (PetscInt i = 0; i < d->mloc; i++) y[i] += (double)c[i] * s;
    }
  }
  for (PetscInt r = 0; r < k; r++) PetscCall(VecRestoreArrayWrite(Y[r], &ya[r]));
  PetscCall(PetscLogFlops(2.0 * k * d->mloc * d->N));
  PetscFunctionReturn(0);
}

/* Y_i = A^T X_i, i < k, with one pass over A and one reduce-scatter. */
static PetscErrorCode SpdF32MultTransposeBlock(Mat S, PetscInt k, const Vec X[], Vec Y[])
{
  SpdDenseF32       *d;
  const PetscScalar *xa[64];
  double            *out;
  PetscMPIInt       *counts, size;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &d));
  PetscCheck(k <= 64, d->comm, PETSC_ERR_SUP, "block products take at most 64 vectors, got %" PetscInt_FMT, k);
  PetscCall(SpdF32Reserve_Private(d, k));
  for (PetscInt r = 0; r < k; r++) PetscCall(VecGetArrayRead(X[r], &xa[r]));
  for (PetscInt j = 0; j < d->N; j++) { /* xall[r * N + j] = column j . X_r: vector-major for the reduce-scatter */
    const float *c = d->a + (size_t)j * d->mloc;
    for (PetscInt r = 0; r < k; r++) {
      const PetscScalar *x = xa[r];
      double             s = 0.0;
#pragma omp simd reduction(+ \
                           : s)
      for (PetscInt i = 0; i < d->mloc; i++) s += (double)c[i] * x[i];
      d->xall[(size_t)r * d->N + j] = s;
    }
  }
  for (PetscInt r = 0; r < k; r++) PetscCall(VecRestoreArrayRead(X[r], &xa[r]));
  PetscCallMPI(MPI_Comm_size(d->comm, &size));
  PetscCall(PetscMalloc2(size, &counts, (size_t)d->nloc * k + 1, &out));
  /* one reduce-scatter for all k vectors: rank p receives its column range of each */
  {
    double  *send;
    PetscInt off = 0;
    PetscCall(PetscMalloc1((size_t)d->N * k + 1, &send));
    for (PetscMPIInt p = 0, start = 0; p < size; start += d->counts[p], p++) {
      for (PetscInt r = 0; r < k; r++)
        for (PetscInt j = 0; j < d->counts[p]; j++) send[off++] = d->xall[(size_t)r * d->N + start + j];
      counts[p] = (PetscMPIInt)(d->counts[p] * k);
    }
    PetscCallMPI(MPI_Reduce_scatter(send, out, counts, MPI_DOUBLE, MPI_SUM, d->comm));
    PetscCall(PetscFree(send));
  }
  for (PetscInt r = 0; r < k; r++) {
    PetscScalar *ya;
    PetscCall(VecGetArrayWrite(Y[r], &ya));
    for (PetscInt j = 0; j < d->nloc; j++) ya[j] = out[(size_t)r * d->nloc + j];
    PetscCall(VecRestoreArrayWrite(Y[r], &ya));
  }
  PetscCall(PetscFree2(counts, out));
  PetscCall(PetscLogFlops(2.0 * k * d->mloc * d->N));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatCreateFloat32 - a copy of a dense distributed matrix stored in float32, applied
  in double precision

  Collective on A

  Input Parameter:
. A - a MATMPIDENSE (or MATSEQDENSE) whose entries are binary32 numbers

  Output Parameter:
. S - a MATSHELL with MatMult, MatMultTranspose and the block products of
      SpdMatMultBlock() / SpdMatMultTransposeBlock(); same layouts as A

  Notes:
  Fails if an entry of A is not exactly a binary32 number (say where it came from: a
  float64 checkpoint must stay in double). Half the memory and half the bytes per
  product of A.

.seealso: SpdMatLoadView(), SpdMatMultBlock()
@*/
PetscErrorCode SpdMatCreateFloat32(Mat A, Mat *S)
{
  SpdDenseF32       *d;
  const PetscScalar *aa;
  PetscInt           M, lda, rstart;
  PetscInt64         bad = INT64_MAX, gbad; /* first entry that is not a binary32, row-major */
  PetscMPIInt        size;
  const PetscInt    *ranges;
  Vec                x;

  PetscFunctionBegin;
  PetscCall(PetscNew(&d));
  PetscCall(PetscObjectGetComm((PetscObject)A, &d->comm));
  PetscCall(MatGetSize(A, &M, &d->N));
  PetscCall(MatGetLocalSize(A, &d->mloc, &d->nloc));
  PetscCall(MatGetOwnershipRange(A, &rstart, NULL));
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCall(PetscMalloc1((size_t)d->mloc * d->N + 1, &d->a));
  PetscCall(MatDenseGetArrayRead(A, &aa));
  for (PetscInt j = 0; j < d->N; j++)
    for (PetscInt i = 0; i < d->mloc; i++) {
      double v = aa[(size_t)j * lda + i];
      float  f = (float)v;
      if ((double)f != v) bad = PetscMin(bad, (PetscInt64)(rstart + i) * d->N + j);
      d->a[(size_t)j * d->mloc + i] = f;
    }
  PetscCall(MatDenseRestoreArrayRead(A, &aa));
  PetscCallMPI(MPI_Allreduce(&bad, &gbad, 1, MPIU_INT64, MPI_MIN, d->comm));
  if (gbad != INT64_MAX) {
    const char *name;
    PetscInt64  N = d->N;
    PetscCall(PetscObjectGetName((PetscObject)A, &name));
    PetscCall(PetscFree(d->a));
    PetscCall(PetscFree(d));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Matrix '%s' has entry (%" PetscInt64_FMT ", %" PetscInt64_FMT ") that is not a float32 number; keep it in double (-spd_weights_storage double)", name, gbad / N, gbad % N);
  }
  PetscCall(PetscMalloc1(d->N + 1, &d->xall));
  d->kmax = 1;
  PetscCallMPI(MPI_Comm_size(d->comm, &size));
  PetscCall(PetscMalloc1(size, &d->counts));
  PetscCall(MatCreateShell(d->comm, d->mloc, d->nloc, M, d->N, d, S));
  PetscCall(MatGetOwnershipRangesColumn(*S, &ranges));
  for (PetscMPIInt p = 0; p < size; p++) d->counts[p] = (PetscMPIInt)(ranges[p + 1] - ranges[p]);
  PetscCall(MatCreateVecs(*S, &x, NULL));
  PetscCall(VecScatterCreateToAll(x, &d->toall, &d->xseq));
  PetscCall(VecDestroy(&x));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT, (void (*)(void))SpdF32Mult));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT_TRANSPOSE, (void (*)(void))SpdF32MultTranspose));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT_HERMITIAN_TRANSPOSE, (void (*)(void))SpdF32MultTranspose));
  PetscCall(MatShellSetOperation(*S, MATOP_DESTROY, (void (*)(void))SpdF32Destroy));
  PetscCall(PetscObjectComposeFunction((PetscObject)*S, "SpdMatMultBlock_C", SpdF32MultBlock));
  PetscCall(PetscObjectComposeFunction((PetscObject)*S, "SpdMatMultTransposeBlock_C", SpdF32MultTransposeBlock));
  PetscFunctionReturn(0);
}
