/* SpdMatrixView: which block of a tensor's stored 2-D view is analysed, and whether it
   is analysed transposed. Pure bookkeeping; loading is in load.c. */
#include <specdyn/operator.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */

/*@C
  SpdMatrixViewShape - rows and columns of the analysed matrix of a view

  Not collective

  Input Parameter:
. view - the view

  Output Parameters:
+ m - rows of the analysed matrix (ncols of the stored block when transposed)
- n - columns of the analysed matrix

.seealso: SpdMatrixViewFromTensor(), SpdMatLoadView()
@*/
void SpdMatrixViewShape(const SpdMatrixView *view, PetscInt64 *m, PetscInt64 *n)
{
  if (m) *m = view->transpose ? view->ncols : view->nrows;
  if (n) *n = view->transpose ? view->nrows : view->ncols;
}

/*@C
  SpdMatrixViewFromTensor - the whole stored 2-D view of a tensor as one analysed matrix

  Not collective

  Input Parameters:
+ info   - the tensor, as listed by the reader
- tensor - its index in the reader

  Output Parameter:
. view - the view: all rows and columns, transposed when the tensor is stored [in, out]
         (Keras kernels), named after the tensor

.seealso: SpdMatrixViewShape(), SpdMatLoadView(), SpdTensorMatrixShape()
@*/
PetscErrorCode SpdMatrixViewFromTensor(const SpdTensorInfo *info, PetscInt tensor, SpdMatrixView *view)
{
  PetscInt64 rows, cols;

  PetscFunctionBegin;
  PetscValidPointer(info, 1);
  PetscValidPointer(view, 3);
  PetscCheck(tensor >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Tensor '%s': index %" PetscInt_FMT " is negative; pass the reader's index of the tensor", info->name, tensor);
  SpdTensorMatrixShape(info, &rows, &cols);
  PetscCall(PetscMemzero(view, sizeof(*view)));
  PetscCall(PetscStrncpy(view->name, info->name, sizeof(view->name)));
  view->tensor    = tensor;
  view->row0      = 0;
  view->nrows     = rows;
  view->col0      = 0;
  view->ncols     = cols;
  view->transpose = info->in_out;
  PetscFunctionReturn(0);
}
