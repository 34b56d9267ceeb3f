/* Loading an analysed matrix from a checkpoint: into a MATMPIDENSE (SpdMatLoadView) or
   straight into the float32 operator (SpdMatLoadViewFloat32).

   Each rank owns a contiguous block of rows of A (PETSc's default layout) and reads
   exactly that block from the file through SpdReaderReadBlock, so no rank ever holds
   more than its share. A row of A is a stored row (plain view) or a stored column
   (transposed view). The block is read in chunks of at most -spd_read_chunk_mb MiB
   (default 64) of doubles, each stored into the column-major local block as it arrives:
   rows of A for a plain view (the reader's row-major chunk is transposed on the way),
   columns of A for a transposed one (already column-major). So the memory of a load is
   the matrix plus one chunk, and the float32 operator never needs a float64 copy. The
   reads are collective: every rank makes the same number of them (a rank with fewer
   rows reads empty blocks). */
#include <specdyn/private/operatorimpl.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */

/* Where a load stores: column-major double (lda) or float32 (ld = local rows). */
typedef struct {
  double    *d;
  float     *f;
  PetscInt   ld;
  PetscInt64 rstart, N, bad; /* bad: first entry (row-major global index) that is not a binary32 */
} SpdLoadDest;

static inline void SpdLoadStore_Private(SpdLoadDest *dst, PetscInt il, PetscInt j, double v)
{
  size_t k = (size_t)j * dst->ld + il;
  if (dst->d)
    dst->d[k] = v;
  else {
    float f = (float)v;
    if ((double)f != v) dst->bad = PetscMin(dst->bad, (dst->rstart + il) * dst->N + j);
    dst->f[k] = f;
  }
}

/* Columns per block when a row-major chunk is stored into the column-major block. */
#define SPD_LOAD_TILE 64

/* Read my rows rstart..rstart+nloc of the view (n columns) chunk by chunk into dst. */
static PetscErrorCode SpdLoadChunks_Private(SpdReader reader, const SpdMatrixView *view, MPI_Comm comm, PetscInt rstart, PetscInt nloc, PetscInt n, SpdLoadDest *dst)
{
  PetscReal  chunk_mb = 64;
  PetscInt   maxloc, c, nchunks;
  PetscInt64 elems;
  double    *buf;

  PetscFunctionBegin;
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-spd_read_chunk_mb", &chunk_mb, NULL));
  PetscCheck(chunk_mb > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-spd_read_chunk_mb %g must be positive (MiB of doubles per read; default 64)", (double)chunk_mb);
  elems = (PetscInt64)(chunk_mb * 1024 * 1024 / 8);
  PetscCallMPI(MPI_Allreduce(&nloc, &maxloc, 1, MPIU_INT, MPI_MAX, comm));
  if (view->transpose) { /* chunks of columns of A: stored rows row0+j0.. x my stored columns */
    c       = (PetscInt)PetscMax(1, PetscMin((PetscInt64)n, elems / PetscMax(1, maxloc)));
    nchunks = (n + c - 1) / c;
    PetscCall(PetscMalloc1((size_t)c * nloc + 1, &buf));
    for (PetscInt k = 0; k < nchunks; k++) {
      PetscInt j0 = k * c, nj = PetscMin(c, n - j0);
      PetscCall(SpdReaderReadBlock(reader, view->tensor, comm, view->row0 + j0, nloc ? nj : 0, view->col0 + rstart, nloc, buf));
      for (PetscInt jj = 0; jj < nj; jj++)
        for (PetscInt il = 0; il < nloc; il++) SpdLoadStore_Private(dst, il, j0 + jj, buf[(size_t)jj * nloc + il]);
    }
  } else { /* chunks of rows of A: stored rows row0+rstart+i0.. x stored columns col0..col0+n */
    c       = (PetscInt)PetscMax(1, PetscMin((PetscInt64)PetscMax(1, maxloc), elems / PetscMax(1, n)));
    nchunks = (maxloc + c - 1) / c;
    PetscCall(PetscMalloc1((size_t)c * n + 1, &buf));
    for (PetscInt k = 0; k < nchunks; k++) {
      PetscInt i0 = PetscMin(k * c, nloc), ni = PetscMin(c, nloc - i0);
      PetscCall(SpdReaderReadBlock(reader, view->tensor, comm, view->row0 + rstart + i0, ni, view->col0, n, buf));
      /* blocks of SPD_LOAD_TILE columns down all the chunk's rows: the block's destination
         lines and pages stay in the caches and TLB while each row segment is read in order
         (a column at a time across 32 rows touched a new page per element) */
      for (PetscInt j0 = 0; j0 < n; j0 += SPD_LOAD_TILE) {
        PetscInt j1 = PetscMin(j0 + SPD_LOAD_TILE, n);
        for (PetscInt il = 0; il < ni; il++)
          for (PetscInt j = j0; j < j1; j++) SpdLoadStore_Private(dst, i0 + il, j, buf[(size_t)il * n + j]);
      }
    }
  }
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

/* The view's shape, checked against its tensor. */
static PetscErrorCode SpdLoadShape_Private(SpdReader reader, const SpdMatrixView *view, MPI_Comm comm, PetscInt *m, PetscInt *n)
{
  const SpdTensorInfo *info;
  PetscInt64           m64, n64, srows, scols;

  PetscFunctionBegin;
  PetscCall(SpdReaderGetTensor(reader, view->tensor, &info));
  SpdTensorMatrixShape(info, &srows, &scols);
  PetscCheck(view->row0 >= 0 && view->nrows >= 1 && view->row0 + view->nrows <= srows && view->col0 >= 0 && view->ncols >= 1 && view->col0 + view->ncols <= scols, comm, PETSC_ERR_ARG_OUTOFRANGE,
      "View '%s': block rows [%" PetscInt64_FMT ", %" PetscInt64_FMT ") x cols [%" PetscInt64_FMT ", %" PetscInt64_FMT ") is empty or outside tensor '%s' whose stored view is %" PetscInt64_FMT " x %" PetscInt64_FMT "; fix the split rule that made it",
      view->name, view->row0, view->row0 + view->nrows, view->col0, view->col0 + view->ncols, info->name, srows, scols);
  SpdMatrixViewShape(view, &m64, &n64);
  PetscCall(PetscIntCast(m64, m));
  PetscCall(PetscIntCast(n64, n));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatLoadView - load an analysed matrix as an m x n MATMPIDENSE

  Collective on comm

  Input Parameters:
+ reader - an open reader holding the view's tensor
. view   - the block (and orientation) to load
- comm   - the communicator of the matrix: the reader's or a sub-communicator (task group)

  Output Parameter:
. A - the matrix, rows distributed with PETSc's default layout (PETSC_DECIDE)

  Notes:
  Logged as the event SpdRead.

.seealso: SpdMatrixViewFromTensor(), SpdReaderReadBlock()
@*/
PetscErrorCode SpdMatLoadView(SpdReader reader, const SpdMatrixView *view, MPI_Comm comm, Mat *A)
{
  PetscInt    m, n, rstart, rend, lda;
  SpdLoadDest dst = { 0 };

  PetscFunctionBegin;
  PetscValidPointer(view, 2);
  PetscValidPointer(A, 4);
  *A = NULL;
  PetscCall(SpdLoadShape_Private(reader, view, comm, &m, &n));

  PetscCall(PetscLogEventBegin(SPD_Read, 0, 0, 0, 0));
  PetscCall(MatCreateDense(comm, PETSC_DECIDE, PETSC_DECIDE, m, n, NULL, A));
  PetscCall(PetscObjectSetName((PetscObject)*A, view->name));
  PetscCall(MatGetOwnershipRange(*A, &rstart, &rend));
  PetscCall(MatDenseGetLDA(*A, &lda));
  PetscCall(MatDenseGetArrayWrite(*A, &dst.d));
  SpdMemAdviseHuge(dst.d, (size_t)lda * n * sizeof(PetscScalar)); /* streamed by every product; no effect on pages PETSc already touched */
  dst.ld = lda;
  PetscCall(SpdLoadChunks_Private(reader, view, comm, rstart, rend - rstart, n, &dst));
  PetscCall(MatDenseRestoreArrayWrite(*A, &dst.d));
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(SpdMatDenseSetKernels(*A));
  PetscCall(PetscLogEventEnd(SPD_Read, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatLoadViewFloat32 - load an analysed matrix straight into the float32 operator

  Collective on comm

  Input Parameters:
+ reader - an open reader holding the view's tensor
. view   - the block (and orientation) to load
- comm   - the communicator of the matrix

  Output Parameter:
. S - the operator SpdMatCreateFloat32() would make from SpdMatLoadView()'s matrix

  Notes:
  No float64 copy is made: the memory is the float32 block 4mn/p plus one read chunk
  (-spd_read_chunk_mb, default 64 MiB) per rank. For F32, BF16 and F16 tensors, whose
  values are binary32 numbers; any other value is an error naming the entry. Logged
  as the event SpdRead.

.seealso: SpdMatLoadView(), SpdMatCreateFloat32(), SpdTensorUseFloat32()
@*/
PetscErrorCode SpdMatLoadViewFloat32(SpdReader reader, const SpdMatrixView *view, MPI_Comm comm, Mat *S)
{
  PetscInt    m, n, mloc = PETSC_DECIDE, nloc = PETSC_DECIDE, rstart;
  SpdLoadDest dst = { 0 };

  PetscFunctionBegin;
  PetscValidPointer(view, 2);
  PetscValidPointer(S, 4);
  *S = NULL;
  PetscCall(SpdLoadShape_Private(reader, view, comm, &m, &n));
  PetscCall(PetscLogEventBegin(SPD_Read, 0, 0, 0, 0));
  PetscCall(PetscSplitOwnership(comm, &mloc, &m)); /* the rows MATMPIDENSE would give this rank */
  PetscCall(PetscSplitOwnership(comm, &nloc, &n));
  PetscCallMPI(MPI_Scan(&mloc, &rstart, 1, MPIU_INT, MPI_SUM, comm));
  rstart -= mloc;
  PetscCall(PetscMalloc1((size_t)mloc * n + 1, &dst.f));
  SpdMemAdviseHuge(dst.f, (size_t)mloc * n * sizeof(float)); /* streamed by every product */
  dst.ld     = mloc;
  dst.rstart = rstart;
  dst.N      = n;
  dst.bad    = INT64_MAX;
  PetscCall(SpdLoadChunks_Private(reader, view, comm, rstart, mloc, n, &dst));
  PetscCall(SpdMatFloat32FromArray(comm, view->name, mloc, nloc, m, n, dst.f, dst.bad, S)); /* takes dst.f */
  PetscCall(PetscObjectSetName((PetscObject)*S, view->name));
  PetscCall(PetscLogEventEnd(SPD_Read, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
