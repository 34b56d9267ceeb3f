/* Loading an analysed matrix from a checkpoint into a MATMPIDENSE.

   Each rank owns a contiguous block of rows of A (PETSc's default layout) and reads
   exactly that block from the file through SpdReaderReadBlock, so no rank ever holds
   more than its share. A row of A is a stored row (plain view) or a stored column
   (transposed view); in the transposed case the reader's row-major block of stored
   rows x my analysed rows is already the column-major layout of MATMPIDENSE. */
#include <specdyn/operator.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */

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
  const SpdTensorInfo *info;
  PetscInt64           m64, n64, srows, scols;
  PetscInt             m, n, rstart, rend, nloc, lda;
  PetscScalar         *a;
  double              *buf = NULL;

  PetscFunctionBegin;
  PetscValidPointer(view, 2);
  PetscValidPointer(A, 4);
  *A = NULL;
  PetscCall(SpdReaderGetTensor(reader, view->tensor, &info));
  SpdTensorMatrixShape(info, &srows, &scols);
  PetscCheck(view->row0 >= 0 && view->nrows >= 1 && view->row0 + view->nrows <= srows && view->col0 >= 0 && view->ncols >= 1 && view->col0 + view->ncols <= scols, comm, PETSC_ERR_ARG_OUTOFRANGE,
      "View '%s': block rows [%" PetscInt64_FMT ", %" PetscInt64_FMT ") x cols [%" PetscInt64_FMT ", %" PetscInt64_FMT ") is empty or outside tensor '%s' whose stored view is %" PetscInt64_FMT " x %" PetscInt64_FMT "; fix the split rule that made it",
      view->name, view->row0, view->row0 + view->nrows, view->col0, view->col0 + view->ncols, info->name, srows, scols);
  SpdMatrixViewShape(view, &m64, &n64);
  PetscCall(PetscIntCast(m64, &m));
  PetscCall(PetscIntCast(n64, &n));

  PetscCall(PetscLogEventBegin(SPD_Read, 0, 0, 0, 0));
  PetscCall(MatCreateDense(comm, PETSC_DECIDE, PETSC_DECIDE, m, n, NULL, A));
  PetscCall(PetscObjectSetName((PetscObject)*A, view->name));
  PetscCall(MatGetOwnershipRange(*A, &rstart, &rend));
  nloc = rend - rstart;
  PetscCall(MatDenseGetLDA(*A, &lda));
  PetscCall(MatDenseGetArrayWrite(*A, &a));
  if (view->transpose) {
    /* Stored rows row0..row0+n (= my columns of A) x stored cols col0+rstart..col0+rend
       (= my rows of A), row-major: element (j, il) at j*nloc+il, i.e. column-major A. */
    if (lda == nloc) {
      PetscCall(SpdReaderReadBlock(reader, view->tensor, comm, view->row0, nloc ? n : 0, view->col0 + rstart, nloc, a));
    } else {
      PetscCall(PetscMalloc1((size_t)nloc * n, &buf));
      PetscCall(SpdReaderReadBlock(reader, view->tensor, comm, view->row0, nloc ? n : 0, view->col0 + rstart, nloc, buf));
      for (PetscInt j = 0; j < n; j++) PetscCall(PetscArraycpy(a + (size_t)j * lda, buf + (size_t)j * nloc, nloc));
    }
  } else {
    /* Stored rows row0+rstart..row0+rend x cols col0..col0+n, row-major: transpose into
       the column-major local block. */
    PetscCall(PetscMalloc1((size_t)nloc * n, &buf));
    PetscCall(SpdReaderReadBlock(reader, view->tensor, comm, view->row0 + rstart, nloc, view->col0, n, buf));
    /* blocks of 32 rows: 32 source rows stay in cache while each column is written */
    for (PetscInt i0 = 0; i0 < nloc; i0 += 32) {
      PetscInt i1 = PetscMin(i0 + 32, nloc);
      for (PetscInt j = 0; j < n; j++)
        for (PetscInt il = i0; il < i1; il++) a[il + (size_t)j * lda] = buf[(size_t)il * n + j];
    }
  }
  PetscCall(PetscFree(buf));
  PetscCall(MatDenseRestoreArrayWrite(*A, &a));
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(SpdMatDenseSetKernels(*A));
  PetscCall(PetscLogEventEnd(SPD_Read, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
