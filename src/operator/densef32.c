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
   residual norms of a set of singular triplets and block Lanczos (-spd_svd_block, the
   default for the top where the CPU has AVX2, 4 vectors per pass: SpdMatGetBlockWidth):
   2 vectors by gemvimpl.h's kernels; 3, 4, and above four groups of 4 chunk by chunk in
   one sweep, by gemvavx2.c's AVX2 kernels (-spd_float32_avx2 0: the portable 4-vector
   kernels, 3 vectors padded to 4, and GEMMs on panels above four). */
#include <specdyn/private/operatorimpl.h>
#include <petscblaslapack.h>
#include "gemvavx2.h"

typedef struct {
  MPI_Comm     comm;
  PetscInt     mloc, nloc, N;
  float       *a; /* mloc x N, column-major                             */
  double      *xall; /* N: the local A^T x of a single product              */
  PetscMPIInt *counts; /* column-layout sizes, for the reduce-scatter         */
  PetscBool    avx2; /* 3- and 4-vector products by gemvavx2.c              */
  double       blockmin; /* bytes per rank from which block width 4 is reported  */
  VecScatter   toall;
  Vec          xseq;
} SpdDenseF32;

/* SpdF32Gemv_N (y = A x) and SpdF32Gemv_T (z = A^T x) on the float32 block */
#define SPD_GEMV_T     float
#define SPD_GEMV(op)   SpdF32Gemv_##op
#define SPD_GEMV_BLOCK 1
#include "gemvimpl.h"

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
  SpdF32Gemv_N(d->mloc, d->N, d->a, d->mloc, xa, ya);
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
  SpdF32Gemv_T(d->mloc, d->N, d->a, d->mloc, xa, d->xall);
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCallMPI(MPI_Reduce_scatter(d->xall, ya, d->counts, MPI_DOUBLE, MPI_SUM, d->comm));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(PetscLogFlops(2.0 * d->mloc * d->N));
  PetscFunctionReturn(0);
}

/* Block width 4: a 4-vector pass costs ~1.1-1.5 single products with gemvavx2.c's
   kernels. 3 vectors per pass read the matrix closer to the memory's rate but need more
   passes: on a 2-core EPYC (Zen 3) VM, bench row 7 (top-16 of 20000 x 50000 on 2 ranks)
   took 50 passes at a median 28-29 GB/s with b = 3 against 42 at 24 GB/s with b = 4, and
   the solves 6.1-8.6 s (median 7.4) against 7.0-7.6 s (median 7.3): no faster, and less
   steady (bench/results.md, session 13). The same answer on every rank (it picks the
   solver). */
static PetscErrorCode SpdF32GetBlockWidth(Mat S, PetscInt *b)
{
  SpdDenseF32 *d;
  PetscInt     M, N;
  PetscMPIInt  size;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &d));
  PetscCall(MatGetSize(S, &M, &N));
  PetscCallMPI(MPI_Comm_size(d->comm, &size));
  *b = d->avx2 && 4.0 * M * N / size >= d->blockmin ? 4 : 1;
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
  PetscCall(PetscObjectComposeFunction((PetscObject)S, "SpdMatGetBlockWidth_C", NULL));
  PetscFunctionReturn(0);
}

/* Columns of A converted to double per panel, so that the block products of more than
   four vectors run as GEMMs on cache-resident panels: 16 columns x mloc rows. */
#define SPD_F32_PANEL 16

static void SpdF32Panel_Private(const SpdDenseF32 *d, PetscInt j0, PetscInt w, double *panel)
{
  const float *c = d->a + (size_t)j0 * d->mloc;
  for (size_t i = 0; i < (size_t)w * d->mloc; i++) panel[i] = (double)c[i];
}

/* Vectors per pass of the block kernels for k vectors: 2, 3 (with gemvavx2.c) or 4 (zero
   vectors pad the block); above four, k rounded up to a multiple of 4 with gemvavx2.c
   (groups of four in one sweep), else k itself (the panel GEMMs). */
static PetscInt SpdF32BlockWidth_Private(const SpdDenseF32 *d, PetscInt k)
{
  if (k > 4) return d->avx2 ? (k + 3) / 4 * 4 : k;
  if (k == 3) return d->avx2 ? 3 : 4;
  return k > 2 ? 4 : 2;
}

/* The vectors' layout on the N side of a block of w (x for A X, z for A^T X): groups of
   g = 4 vectors (gemvavx2.c above four vectors) or one group of w, each group an N x g
   row-major block; the entry of vector r at column j. */
static inline size_t SpdF32BlockIndex_Private(const SpdDenseF32 *d, PetscInt w, PetscInt j, PetscInt r)
{
  PetscInt g = w > 4 && d->avx2 ? 4 : w;
  return (size_t)(r / g) * g * d->N + (size_t)j * g + r % g;
}

/* Columns per chunk of the grouped sweeps: ~2 MiB of A, so that the groups after the
   first read the chunk from the cache, a multiple of 12 (the kernels' column steps). */
static PetscInt SpdF32Chunk_Private(const SpdDenseF32 *d)
{
  return PetscMax(12, (PetscInt)((2 << 20) / (4 * PetscMax(d->mloc, 1))) / 12 * 12);
}

/* yb (mloc x w, column-major) = A_loc X, X in xk (SpdF32BlockIndex_Private layout), w
   from SpdF32BlockWidth_Private(): one pass over A either way. Up to four vectors the 2-,
   3- and 4-vector kernels (bound by memory, or close); more, groups of four (gemvavx2.c) chunk by
   chunk, or GEMMs on panels (bound by arithmetic). */
static PetscErrorCode SpdF32LocalBlockN_Private(const SpdDenseF32 *d, PetscInt w, const double *xk, double *yb)
{
  double      *panel;
  PetscBLASInt bm, bk, bw;
  PetscScalar  one = 1.0;

  PetscFunctionBegin;
  if (w == 2)
    SpdF32Gemv_N2(d->mloc, d->N, d->a, d->mloc, xk, yb, d->mloc);
  else if (d->avx2) {
#if defined(SPD_HAVE_GEMV_AVX2)
    PetscInt c = w > 4 ? SpdF32Chunk_Private(d) : d->N; /* one group: one sweep */
    PetscCall(PetscArrayzero(yb, (size_t)d->mloc * w));
    if (w == 3)
      SpdF32GemvAVX2_N3(d->mloc, d->N, d->a, d->mloc, xk, yb, d->mloc);
    else
      for (PetscInt j0 = 0; j0 < d->N; j0 += c)
        for (PetscInt g = 0; g < w; g += 4) SpdF32GemvAVX2_N4(d->mloc, PetscMin(c, d->N - j0), d->a + (size_t)j0 * d->mloc, d->mloc, xk + (size_t)g * d->N + 4 * (size_t)j0, yb + (size_t)g * d->mloc, d->mloc);
#endif
  } else if (w == 4)
    SpdF32Gemv_N4(d->mloc, d->N, d->a, d->mloc, xk, yb, d->mloc);
  else {
    PetscCall(PetscMalloc1((size_t)SPD_F32_PANEL * d->mloc + 1, &panel));
    PetscCall(PetscArrayzero(yb, (size_t)d->mloc * w));
    PetscCall(PetscBLASIntCast(d->mloc, &bm));
    PetscCall(PetscBLASIntCast(w, &bk));
    for (PetscInt j0 = 0; j0 < d->N && d->mloc > 0; j0 += SPD_F32_PANEL) {
      PetscInt jw = PetscMin(SPD_F32_PANEL, d->N - j0);
      PetscCall(PetscBLASIntCast(jw, &bw));
      SpdF32Panel_Private(d, j0, jw, panel);
      /* yb (mloc x w) += panel (mloc x jw) * X[j0:j0+jw, :] (the w x jw column-major block, transposed) */
      PetscCallBLAS("BLASgemm", BLASgemm_("N", "T", &bm, &bk, &bw, &one, panel, &bm, xk + (size_t)j0 * w, &bk, &one, yb, &bm));
    }
    PetscCall(PetscFree(panel));
  }
  PetscFunctionReturn(0);
}

/* zk (SpdF32BlockIndex_Private layout) = A_loc^T U, U column-major in ub (mloc x w). */
static PetscErrorCode SpdF32LocalBlockT_Private(const SpdDenseF32 *d, PetscInt w, const double *ub, double *zk)
{
  double      *panel, *zp;
  PetscBLASInt bm, bk, bw;
  PetscScalar  one = 1.0, zero = 0.0;

  PetscFunctionBegin;
  if (w == 2)
    SpdF32Gemv_T2(d->mloc, d->N, d->a, d->mloc, ub, d->mloc, zk);
  else if (d->avx2) {
#if defined(SPD_HAVE_GEMV_AVX2)
    PetscInt c = w > 4 ? SpdF32Chunk_Private(d) : d->N; /* one group: one sweep */
    if (w == 3)
      SpdF32GemvAVX2_T3(d->mloc, d->N, d->a, d->mloc, ub, d->mloc, zk);
    else
      for (PetscInt j0 = 0; j0 < d->N; j0 += c)
        for (PetscInt g = 0; g < w; g += 4) SpdF32GemvAVX2_T4(d->mloc, PetscMin(c, d->N - j0), d->a + (size_t)j0 * d->mloc, d->mloc, ub + (size_t)g * d->mloc, d->mloc, zk + (size_t)g * d->N + 4 * (size_t)j0);
#endif
  } else if (w == 4)
    SpdF32Gemv_T4(d->mloc, d->N, d->a, d->mloc, ub, d->mloc, zk);
  else {
    PetscCall(PetscMalloc2((size_t)SPD_F32_PANEL * d->mloc + 1, &panel, (size_t)SPD_F32_PANEL * w, &zp));
    PetscCall(PetscBLASIntCast(d->mloc, &bm));
    PetscCall(PetscBLASIntCast(w, &bk));
    for (PetscInt j0 = 0; j0 < d->N; j0 += SPD_F32_PANEL) {
      PetscInt jw = PetscMin(SPD_F32_PANEL, d->N - j0);
      PetscCall(PetscBLASIntCast(jw, &bw));
      if (d->mloc > 0) {
        SpdF32Panel_Private(d, j0, jw, panel);
        /* zp (jw x w) = panel^T (jw x mloc) * ub (mloc x w) */
        PetscCallBLAS("BLASgemm", BLASgemm_("T", "N", &bw, &bk, &bm, &one, panel, &bm, ub, &bm, &zero, zp, &bw));
      } else
        PetscCall(PetscArrayzero(zp, (size_t)jw * w));
      for (PetscInt r = 0; r < w; r++)
        for (PetscInt j = 0; j < jw; j++) zk[(size_t)(j0 + j) * w + r] = zp[j + (size_t)r * jw];
    }
    PetscCall(PetscFree2(panel, zp));
  }
  PetscFunctionReturn(0);
}

/* Y_r = A X_r, r < k, with one pass over A. */
static PetscErrorCode SpdF32MultBlock(Mat S, PetscInt k, const Vec X[], Vec Y[])
{
  SpdDenseF32 *d;
  PetscInt     w;
  double      *xk, *yb;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &d));
  w = SpdF32BlockWidth_Private(d, k);
  PetscCall(PetscMalloc2((size_t)w * d->N + 1, &xk, (size_t)w * d->mloc + 1, &yb));
  for (PetscInt r = 0; r < w; r++) { /* xk: N x w, row-major; padding vectors are zero */
    const PetscScalar *xa;
    if (r >= k) {
      for (PetscInt j = 0; j < d->N; j++) xk[SpdF32BlockIndex_Private(d, w, j, r)] = 0.0;
      continue;
    }
    PetscCall(VecScatterBegin(d->toall, X[r], d->xseq, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(d->toall, X[r], d->xseq, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecGetArrayRead(d->xseq, &xa));
    for (PetscInt j = 0; j < d->N; j++) xk[SpdF32BlockIndex_Private(d, w, j, r)] = xa[j];
    PetscCall(VecRestoreArrayRead(d->xseq, &xa));
  }
  PetscCall(SpdF32LocalBlockN_Private(d, w, xk, yb));
  for (PetscInt r = 0; r < k; r++) {
    PetscScalar *ya;
    PetscCall(VecGetArrayWrite(Y[r], &ya));
    PetscCall(PetscArraycpy(ya, yb + (size_t)r * d->mloc, d->mloc));
    PetscCall(VecRestoreArrayWrite(Y[r], &ya));
  }
  PetscCall(PetscFree2(xk, yb));
  PetscCall(PetscLogFlops(2.0 * k * d->mloc * d->N));
  PetscFunctionReturn(0);
}

/* Y_r = A^T X_r, r < k, with one pass over A and one reduce-scatter. */
static PetscErrorCode SpdF32MultTransposeBlock(Mat S, PetscInt k, const Vec X[], Vec Y[])
{
  SpdDenseF32 *d;
  PetscInt     w, off = 0;
  double      *out, *ub, *zk, *send;
  PetscMPIInt *counts, size;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(S, &d));
  w = SpdF32BlockWidth_Private(d, k);
  PetscCall(PetscMalloc2((size_t)w * d->mloc + 1, &ub, (size_t)w * d->N + 1, &zk));
  for (PetscInt r = 0; r < w; r++) { /* ub: mloc x w, column-major; padding vectors are zero */
    const PetscScalar *xa;
    if (r >= k) {
      PetscCall(PetscArrayzero(ub + (size_t)r * d->mloc, d->mloc));
      continue;
    }
    PetscCall(VecGetArrayRead(X[r], &xa));
    PetscCall(PetscArraycpy(ub + (size_t)r * d->mloc, xa, d->mloc));
    PetscCall(VecRestoreArrayRead(X[r], &xa));
  }
  PetscCall(SpdF32LocalBlockT_Private(d, w, ub, zk));
  /* one reduce-scatter for all k vectors: rank p receives its column range of each */
  PetscCallMPI(MPI_Comm_size(d->comm, &size));
  PetscCall(PetscMalloc3(size, &counts, (size_t)d->nloc * k + 1, &out, (size_t)d->N * k + 1, &send));
  for (PetscMPIInt p = 0, start = 0; p < size; start += d->counts[p], p++) {
    for (PetscInt r = 0; r < k; r++)
      for (PetscInt j = 0; j < d->counts[p]; j++) send[off++] = zk[SpdF32BlockIndex_Private(d, w, start + j, r)];
    PetscCall(PetscMPIIntCast((PetscInt64)d->counts[p] * k, &counts[p]));
  }
  PetscCall(PetscFree2(ub, zk));
  PetscCallMPI(MPI_Reduce_scatter(send, out, counts, MPI_DOUBLE, MPI_SUM, d->comm));
  for (PetscInt r = 0; r < k; r++) {
    PetscScalar *ya;
    PetscCall(VecGetArrayWrite(Y[r], &ya));
    PetscCall(PetscArraycpy(ya, out + (size_t)r * d->nloc, d->nloc));
    PetscCall(VecRestoreArrayWrite(Y[r], &ya));
  }
  PetscCall(PetscFree3(counts, out, send));
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

  Options Database Key:
. -spd_float32_avx2 <bool> - the AVX2 kernels of gemvavx2.c for 3 vectors and more per
  pass where the CPU has them (default true; false: the portable kernels)
- -spd_float32_block_min_mb <x> - SpdMatGetBlockWidth() reports 4 (block Lanczos for the
  top by default) from x MiB of the float32 matrix per rank on average (default 16)

  Notes:
  Fails if an entry of A is not exactly a binary32 number (say where it came from: a
  float64 checkpoint must stay in double). Half the memory and half the bytes per
  product of A.

.seealso: SpdMatLoadView(), SpdMatMultBlock()
@*/
PetscErrorCode SpdMatCreateFloat32(Mat A, Mat *S)
{
  const PetscScalar *aa;
  PetscInt           M, N, mloc, nloc, lda, rstart;
  PetscInt64         bad = INT64_MAX; /* first entry that is not a binary32, row-major */
  const char        *name;
  float             *a;
  MPI_Comm           comm;

  PetscFunctionBegin;
  PetscCall(PetscObjectGetComm((PetscObject)A, &comm));
  PetscCall(MatGetSize(A, &M, &N));
  PetscCall(MatGetLocalSize(A, &mloc, &nloc));
  PetscCall(MatGetOwnershipRange(A, &rstart, NULL));
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCall(PetscMalloc1((size_t)mloc * N + 1, &a));
  SpdMemAdviseHuge(a, (size_t)mloc * N * sizeof(float)); /* streamed by every product */
  PetscCall(MatDenseGetArrayRead(A, &aa));
  for (PetscInt j = 0; j < N; j++)
    for (PetscInt i = 0; i < mloc; i++) {
      double v = aa[(size_t)j * lda + i];
      float  f = (float)v;
      if ((double)f != v) bad = PetscMin(bad, (PetscInt64)(rstart + i) * N + j);
      a[(size_t)j * mloc + i] = f;
    }
  PetscCall(MatDenseRestoreArrayRead(A, &aa));
  PetscCall(PetscObjectGetName((PetscObject)A, &name));
  PetscCall(SpdMatFloat32FromArray(comm, name, mloc, nloc, M, N, a, bad, S));
  PetscFunctionReturn(0);
}

/* ||A||_F from the float32 block, accumulated in double (the only norm the shell has). */
static PetscErrorCode SpdF32Norm(Mat S, NormType type, PetscReal *nrm)
{
  SpdDenseF32 *d;
  double       s = 0.0, tot;

  PetscFunctionBegin;
  PetscCheck(type == NORM_FROBENIUS, PetscObjectComm((PetscObject)S), PETSC_ERR_SUP, "The float32 operator has only the Frobenius norm");
  PetscCall(MatShellGetContext(S, &d));
#pragma omp simd reduction(+ \
                           : s)
  for (size_t k = 0; k < (size_t)d->mloc * d->N; k++) s += (double)d->a[k] * (double)d->a[k];
  PetscCallMPI(MPI_Allreduce(&s, &tot, 1, MPI_DOUBLE, MPI_SUM, d->comm));
  *nrm = PetscSqrtReal(tot);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMatFloat32FromArray(MPI_Comm comm, const char name[], PetscInt mloc, PetscInt nloc, PetscInt M, PetscInt N, float *a, PetscInt64 bad, Mat *S)
{
  SpdDenseF32    *d;
  PetscMPIInt     size;
  const PetscInt *ranges;
  Vec             x;
  PetscInt64      gbad;

  PetscFunctionBegin;
  *S = NULL;
  PetscCallMPI(MPI_Allreduce(&bad, &gbad, 1, MPIU_INT64, MPI_MIN, comm));
  if (gbad != INT64_MAX) {
    PetscCall(PetscFree(a));
    SETERRQ(comm, PETSC_ERR_ARG_WRONG, "Matrix '%s' has entry (%" PetscInt64_FMT ", %" PetscInt64_FMT ") that is not a float32 number; keep it in double (-spd_weights_storage double)", name, gbad / N, gbad % N);
  }
  PetscCall(PetscNew(&d));
  d->comm = comm;
  d->mloc = mloc;
  d->nloc = nloc;
  d->N    = N;
  d->a    = a;
  d->avx2 = SpdGemvAVX2Available();
  if (d->avx2) PetscCall(PetscOptionsGetBool(NULL, NULL, "-spd_float32_avx2", &d->avx2, NULL));
  /* block products pay where a pass streams A from memory: by default from 16 MiB of
     float32 per rank on average (beyond a rank's share of this VM's 32 MiB L3; measured:
     block Lanczos 0.28 s vs trlanczos 0.19-0.23 s for a 2048^2 top-16 on 2 ranks, 0.95-1.03 s
     vs 1.61 s at 4096^2). A matrix that stays in the caches makes products bound by
     arithmetic, where a 4-vector pass costs ~3 single ones. */
  d->blockmin = SPD_FLOAT32_BLOCK_MIN_MB;
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-spd_float32_block_min_mb", &d->blockmin, NULL));
  d->blockmin *= 1024.0 * 1024.0;
  PetscCall(PetscMalloc1(d->N + 1, &d->xall));
  PetscCallMPI(MPI_Comm_size(d->comm, &size));
  PetscCall(PetscMalloc1(size, &d->counts));
  PetscCall(MatCreateShell(d->comm, d->mloc, d->nloc, M, d->N, d, S));
  d->comm = PetscObjectComm((PetscObject)*S); /* PETSc's inner communicator of the matrix */
  PetscCall(MatGetOwnershipRangesColumn(*S, &ranges));
  for (PetscMPIInt p = 0; p < size; p++) PetscCall(PetscMPIIntCast(ranges[p + 1] - ranges[p], &d->counts[p]));
  PetscCall(MatCreateVecs(*S, &x, NULL));
  PetscCall(VecScatterCreateToAll(x, &d->toall, &d->xseq));
  PetscCall(VecDestroy(&x));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT, (void (*)(void))SpdF32Mult));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT_TRANSPOSE, (void (*)(void))SpdF32MultTranspose));
  PetscCall(MatShellSetOperation(*S, MATOP_MULT_HERMITIAN_TRANSPOSE, (void (*)(void))SpdF32MultTranspose));
  PetscCall(MatShellSetOperation(*S, MATOP_NORM, (void (*)(void))SpdF32Norm));
  PetscCall(MatShellSetOperation(*S, MATOP_DESTROY, (void (*)(void))SpdF32Destroy));
  PetscCall(PetscObjectComposeFunction((PetscObject)*S, "SpdMatMultBlock_C", SpdF32MultBlock));
  PetscCall(PetscObjectComposeFunction((PetscObject)*S, "SpdMatMultTransposeBlock_C", SpdF32MultTransposeBlock));
  PetscCall(PetscObjectComposeFunction((PetscObject)*S, "SpdMatGetBlockWidth_C", SpdF32GetBlockWidth));
  PetscFunctionReturn(0);
}

/*@C
  SpdTensorUseFloat32 - whether a tensor's analysed matrix is applied from a float32 copy

  Not collective

  Input Parameter:
. ti - the tensor

  Output Parameter:
. use - PETSC_TRUE for float32 storage

  Options Database Key:
. -spd_weights_storage <auto,float32,double> - auto (default): float32 when the tensor's
  dtype is F32, BF16 or F16, whose values are binary32 numbers, so nothing is lost

.seealso: SpdMatCreateFloat32()
@*/
PetscErrorCode SpdTensorUseFloat32(const SpdTensorInfo *ti, PetscBool *use)
{
  const char *choices[] = { "auto", "float32", "double" };
  PetscInt    c         = 0;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetEList(NULL, NULL, "-spd_weights_storage", choices, 3, &c, NULL));
  *use = c == 1 || (c == 0 && (ti->dtype == SPD_DTYPE_F32 || ti->dtype == SPD_DTYPE_BF16 || ti->dtype == SPD_DTYPE_F16)) ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}
