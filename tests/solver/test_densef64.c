/* SpdMatDenseSetKernels: MatMult and MatMultTranspose of a MATMPIDENSE through specdyn's
   column-blocked kernels against the products computed here by plain loops over the
   whole (replicated, small) matrix, on shapes whose column count is not a multiple of
   the kernels' 4 columns, with ranks that own one or no row, and with a leading
   dimension larger than the local row count. -spd_dense_kernels 0 leaves PETSc's
   operations in place. At 1, 2 and 4 ranks. */
#include "solverutil.h"

/* y = G x and z = G^T w by plain loops: the independent reference */
static void Reference(PetscInt m, PetscInt n, const double g[], const double x[], const double w[], double y[], double z[])
{
  for (PetscInt i = 0; i < m; i++) {
    double s = 0;
    for (PetscInt j = 0; j < n; j++) s += g[i + j * m] * x[j];
    y[i] = s;
  }
  for (PetscInt j = 0; j < n; j++) {
    double s = 0;
    for (PetscInt i = 0; i < m; i++) s += g[i + j * m] * w[i];
    z[j] = s;
  }
}

/* ||got - ref|| <= 1e-14 ||ref|| over the local entries of got (global indices from rstart) */
static PetscErrorCode CheckLocal(const char what[], Vec got, const double ref[])
{
  const PetscScalar *a;
  PetscInt           rstart, rend;
  double             loc[2] = { 0, 0 }, tot[2];

  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(got, &rstart, &rend));
  PetscCall(VecGetArrayRead(got, &a));
  for (PetscInt i = rstart; i < rend; i++) {
    loc[0] += (a[i - rstart] - ref[i]) * (a[i - rstart] - ref[i]);
    loc[1] += ref[i] * ref[i];
  }
  PetscCall(VecRestoreArrayRead(got, &a));
  PetscCallMPI(MPI_Allreduce(loc, tot, 2, MPI_DOUBLE, MPI_SUM, PETSC_COMM_WORLD));
  PetscCheck(PetscSqrtReal(tot[0]) <= 1e-14 * PetscSqrtReal(tot[1]), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: differs from the reference by %.3e (relative)", what, PetscSqrtReal(tot[0] / tot[1]));
  PetscFunctionReturn(0);
}

/* A = G (m x n), local leading dimension mloc + pad, with specdyn's kernels. */
static PetscErrorCode CheckShape(PetscInt m, PetscInt n, PetscInt pad)
{
  double  *g, *x, *w, *y, *z;
  Mat      A, loc;
  Vec      vx, vy, vw, vz;
  PetscInt rstart, rend, lda;
  char     what[128];

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc5((size_t)m * n, &g, n, &x, m, &w, m, &y, n, &z));
  SpdTestRandomMatrix(21 + (uint64_t)m, m, n, g);
  SpdTestRandomMatrix(22, n, 1, x);
  SpdTestRandomMatrix(23, m, 1, w);
  Reference(m, n, g, x, w, y, z);

  PetscCall(MatCreate(PETSC_COMM_WORLD, &A));
  PetscCall(MatSetSizes(A, PETSC_DECIDE, PETSC_DECIDE, m, n));
  PetscCall(MatSetType(A, MATDENSE));
  PetscCall(MatSetUp(A));
  PetscCall(MatGetOwnershipRange(A, &rstart, &rend));
  if (pad) PetscCall(MatDestroy(&A)); /* again, with a padded leading dimension */
  if (pad) {
    PetscCall(MatCreate(PETSC_COMM_WORLD, &A));
    PetscCall(MatSetSizes(A, rend - rstart, PETSC_DECIDE, m, n));
    PetscCall(MatSetType(A, MATDENSE));
    PetscCall(MatDenseSetLDA(A, rend - rstart + pad));
    PetscCall(MatSetUp(A));
  }
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCheck(lda == rend - rstart + pad || (rend == rstart && lda >= 1), PETSC_COMM_SELF, PETSC_ERR_PLIB, "lda %" PetscInt_FMT ", expected %" PetscInt_FMT, lda, rend - rstart + pad);
  {
    PetscScalar *a;
    PetscCall(MatDenseGetArrayWrite(A, &a));
    for (PetscInt j = 0; j < n; j++)
      for (PetscInt i = rstart; i < rend; i++) a[(i - rstart) + (size_t)j * lda] = g[i + (size_t)j * m];
    PetscCall(MatDenseRestoreArrayWrite(A, &a));
  }
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  {
    void (*before)(void), (*after)(void);
    PetscCall(MatDenseGetLocalMatrix(A, &loc));
    PetscCall(MatGetOperation(loc, MATOP_MULT, &before));
    PetscCall(SpdMatDenseSetKernels(A));
    PetscCall(MatGetOperation(loc, MATOP_MULT, &after));
    PetscCheck(before != after, PETSC_COMM_SELF, PETSC_ERR_PLIB, "SpdMatDenseSetKernels did not replace MatMult of the local block");
  }

  PetscCall(MatCreateVecs(A, &vx, &vy));
  PetscCall(MatCreateVecs(A, &vz, &vw));
  {
    PetscScalar *a;
    PetscInt     s0, s1;
    PetscCall(VecGetOwnershipRange(vx, &s0, &s1));
    PetscCall(VecGetArrayWrite(vx, &a));
    for (PetscInt j = s0; j < s1; j++) a[j - s0] = x[j];
    PetscCall(VecRestoreArrayWrite(vx, &a));
    PetscCall(VecGetOwnershipRange(vw, &s0, &s1));
    PetscCall(VecGetArrayWrite(vw, &a));
    for (PetscInt i = s0; i < s1; i++) a[i - s0] = w[i];
    PetscCall(VecRestoreArrayWrite(vw, &a));
  }
  PetscCall(MatMult(A, vx, vy));
  PetscCall(MatMultTranspose(A, vw, vz));
  PetscCall(PetscSNPrintf(what, sizeof(what), "A x, %" PetscInt_FMT " x %" PetscInt_FMT ", lda pad %" PetscInt_FMT, m, n, pad));
  PetscCall(CheckLocal(what, vy, y));
  PetscCall(PetscSNPrintf(what, sizeof(what), "A^T w, %" PetscInt_FMT " x %" PetscInt_FMT ", lda pad %" PetscInt_FMT, m, n, pad));
  PetscCall(CheckLocal(what, vz, z));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%" PetscInt_FMT " x %" PetscInt_FMT " (lda pad %" PetscInt_FMT "): A x and A^T w match the reference\n", m, n, pad));
  PetscCall(VecDestroy(&vx));
  PetscCall(VecDestroy(&vy));
  PetscCall(VecDestroy(&vz));
  PetscCall(VecDestroy(&vw));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFree5(g, x, w, y, z));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, NULL));
  PetscCall(CheckShape(157, 93, 0));
  PetscCall(CheckShape(157, 93, 3));
  PetscCall(CheckShape(3, 7, 0)); /* at 4 ranks one rank owns no row */
  PetscCall(CheckShape(64, 1, 1));
  PetscCall(CheckShape(1, 1, 0));
  PetscCall(CheckShape(40, 260, 2));
  { /* -spd_dense_kernels 0: PETSc's products stay */
    Mat A, loc;
    void (*before)(void), (*after)(void);
    PetscCall(MatCreateDense(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 8, 8, NULL, &A));
    PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
    PetscCall(MatDenseGetLocalMatrix(A, &loc));
    PetscCall(MatGetOperation(loc, MATOP_MULT, &before));
    PetscCall(PetscOptionsSetValue(NULL, "-spd_dense_kernels", "0"));
    PetscCall(SpdMatDenseSetKernels(A));
    PetscCall(PetscOptionsClearValue(NULL, "-spd_dense_kernels"));
    PetscCall(MatGetOperation(loc, MATOP_MULT, &after));
    PetscCheck(before == after, PETSC_COMM_SELF, PETSC_ERR_PLIB, "-spd_dense_kernels 0 still replaced MatMult");
    PetscCall(MatDestroy(&A));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "-spd_dense_kernels 0 keeps PETSc's products\n"));
  }
  PetscCall(SpdFinalize());
  return 0;
}
