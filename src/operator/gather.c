/* A distributed vector as a replicated array: the step every data-parallel model
   operator starts with (the model and its tangents are replicated on the ranks). */
#include <specdyn/operator.h>

/*@C
  SpdVecGatherToAll - copy a distributed Vec into a replicated array on every rank

  Collective

  Input Parameters:
+ toall - a scatter from VecScatterCreateToAll(x, &toall, &xall)
. x     - the distributed vector
- xall  - the sequential vector of the scatter (work space)

  Output Parameter:
. out - the N entries of x, on every rank
@*/
PetscErrorCode SpdVecGatherToAll(VecScatter toall, Vec x, Vec xall, PetscReal out[])
{
  const PetscScalar *xa;
  PetscInt           n;

  PetscFunctionBegin;
  PetscCall(VecScatterBegin(toall, x, xall, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(toall, x, xall, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetLocalSize(xall, &n));
  PetscCall(VecGetArrayRead(xall, &xa));
  for (PetscInt j = 0; j < n; j++) out[j] = PetscRealPart(xa[j]);
  PetscCall(VecRestoreArrayRead(xall, &xa));
  PetscFunctionReturn(0);
}
