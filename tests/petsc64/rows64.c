static const char help[] = "Operators with more than 2^31 - 1 rows: index arithmetic of the 64-bit-index build\n"
                           "(layouts, matrix views, memory estimates) and a small SVD against LAPACK.\n";

/* A (2^31 + 5) x 1 operator cannot be held in this machine's memory, so the test checks
   everything that only does index arithmetic on it, against closed forms:
   - SpdTensorMatrixShape / SpdMatrixViewFromTensor / SpdMatrixViewShape of a tensor of shape
     (2^31 + 5, 1), and of (1, 2^31 + 5) stored [in, out] (transposed view);
   - SpdTaskMemoryPerRank of that matrix on 4 ranks: top-1 (ncv capped at min(m, n) = 1) is
     8mn/p + 4mn/p + 8 (m + n)/p + 32 bytes, full is 3 x 8mn/p + 8 x 64 (m + n) + 8 bytes;
   - with 64-bit PetscInt: a PetscLayout and a MATSHELL of 2^31 + 5 rows split as PETSc's
     default layout (N/P, the first N mod P ranks one more) with the local sizes summing to
     N (MPIU_INT reduction); with 32-bit PetscInt: PetscIntCast of 2^31 + 5 (what
     SpdMatLoadView does) fails with an error instead of wrapping around.
   Then SpdSVDFull (ScaLAPACK) and SpdSVDExtreme (SLEPc) on a 60 x 40 Gaussian matrix
   against LAPACK's dgesvd, so that the solvers run in this build. */
#include "testutil.h"

#define BIGN ((PetscInt64)2147483648 + 5) /* 2^31 + 5 */

static PetscErrorCode CheckViews(void)
{
  SpdTensorInfo t;
  SpdMatrixView v;
  PetscInt64    m, n;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&t, sizeof(t)));
  PetscCall(PetscStrncpy(t.name, "huge.weight", sizeof(t.name)));
  t.dtype    = SPD_DTYPE_F32;
  t.ndim     = 2;
  t.shape[0] = BIGN;
  t.shape[1] = 1;
  t.nbytes   = 4 * BIGN;
  SpdTensorMatrixShape(&t, &m, &n);
  SPD_EXPECT(m == BIGN && n == 1, "SpdTensorMatrixShape: %" PetscInt64_FMT " x %" PetscInt64_FMT ", expected %" PetscInt64_FMT " x 1", m, n, BIGN);
  PetscCall(SpdMatrixViewFromTensor(&t, 0, &v));
  SpdMatrixViewShape(&v, &m, &n);
  SPD_EXPECT(v.nrows == BIGN && m == BIGN && n == 1, "view of (2^31+5, 1): %" PetscInt64_FMT " x %" PetscInt64_FMT, m, n);
  /* stored [in, out] = (1, 2^31 + 5): analysed transposed, again 2^31 + 5 rows */
  t.shape[0] = 1;
  t.shape[1] = BIGN;
  t.in_out   = PETSC_TRUE;
  PetscCall(SpdMatrixViewFromTensor(&t, 0, &v));
  SpdMatrixViewShape(&v, &m, &n);
  SPD_EXPECT(v.transpose && v.ncols == BIGN && m == BIGN && n == 1, "transposed view of (1, 2^31+5): %" PetscInt64_FMT " x %" PetscInt64_FMT, m, n);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "views of a (2^31+5) x 1 tensor: %" PetscInt64_FMT " x %" PetscInt64_FMT "\n", m, n));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckMemory(void)
{
  const PetscInt64 m = BIGN, n = 1, p = 4;
  PetscInt64       top, full, rtop, rfull;

  PetscFunctionBeginUser;
  top   = SpdTaskMemoryPerRank(m, n, PETSC_FALSE, 1, 0, (PetscInt)p);
  full  = SpdTaskMemoryPerRank(m, n, PETSC_TRUE, 0, 0, (PetscInt)p);
  rtop  = 8 * m * n / p + 4 * m * n / p + 8 * (m + n) / p + 32; /* every term is exact here */
  rfull = 3 * (8 * m * n / p) + 8 * 64 * (m + n) + 8;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "memory per rank on 4 ranks: top-1 %" PetscInt64_FMT " (closed form %" PetscInt64_FMT "), full %" PetscInt64_FMT " (closed form %" PetscInt64_FMT ") bytes\n", top, rtop, full, rfull));
  SPD_EXPECT(top == rtop, "SpdTaskMemoryPerRank top-1: %" PetscInt64_FMT ", expected %" PetscInt64_FMT, top, rtop);
  SPD_EXPECT(full == rfull, "SpdTaskMemoryPerRank full: %" PetscInt64_FMT ", expected %" PetscInt64_FMT, full, rfull);
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckLayout(void)
{
  MPI_Comm    comm = PETSC_COMM_WORLD;
  PetscMPIInt rank, size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
#if defined(PETSC_USE_64BIT_INDICES)
  {
    PetscLayout map;
    PetscInt    rstart, rend, nloc, sum, M, Nc, r0, r1, ref0, refn;
    Mat         A;

    PetscCall(PetscPrintf(comm, "64-bit PetscInt (%d bytes): layouts of N = 2^31 + 5 rows on %d ranks\n", (int)sizeof(PetscInt), (int)size));
    PetscCall(PetscLayoutCreate(comm, &map));
    PetscCall(PetscLayoutSetSize(map, BIGN));
    PetscCall(PetscLayoutSetBlockSize(map, 1));
    PetscCall(PetscLayoutSetUp(map));
    PetscCall(PetscLayoutGetRange(map, &rstart, &rend));
    PetscCall(PetscLayoutGetLocalSize(map, &nloc));
    /* PETSc's default split: N/P each, the first N mod P ranks one more */
    refn = BIGN / size + (rank < BIGN % size ? 1 : 0);
    ref0 = rank * (BIGN / size) + PetscMin(rank, BIGN % size);
    SPD_EXPECT(nloc == refn && rstart == ref0 && rend == ref0 + refn, "rank %d: layout [%" PetscInt_FMT ", %" PetscInt_FMT ") of %" PetscInt_FMT ", expected [%" PetscInt_FMT ", %" PetscInt_FMT ")", rank, rstart, rend, nloc, ref0, ref0 + refn);
    PetscCallMPI(MPI_Allreduce(&nloc, &sum, 1, MPIU_INT, MPI_SUM, comm));
    SPD_EXPECT(sum == BIGN, "local sizes sum to %" PetscInt_FMT ", expected %" PetscInt64_FMT, sum, BIGN);
    PetscCall(PetscLayoutDestroy(&map));

    /* an operator of that size: a MATSHELL has only layouts, no storage */
    PetscCall(MatCreateShell(comm, PETSC_DECIDE, PETSC_DECIDE, BIGN, 1, NULL, &A));
    PetscCall(MatSetUp(A));
    PetscCall(MatGetSize(A, &M, &Nc));
    PetscCall(MatGetOwnershipRange(A, &r0, &r1));
    SPD_EXPECT(M == BIGN && Nc == 1 && r0 == ref0 && r1 == ref0 + refn, "MATSHELL: %" PetscInt_FMT " x %" PetscInt_FMT ", rows [%" PetscInt_FMT ", %" PetscInt_FMT ")", M, Nc, r0, r1);
    PetscCall(PetscPrintf(comm, "MATSHELL of %" PetscInt_FMT " x %" PetscInt_FMT ": rank 0 owns [%" PetscInt_FMT ", %" PetscInt_FMT ")\n", M, Nc, r0, r1));
    PetscCall(MatDestroy(&A));
  }
#else
  {
    PetscInt       m;
    PetscErrorCode ierr;

    PetscCall(PetscPrintf(comm, "32-bit PetscInt: 2^31 + 5 rows must be refused (configure with -DSPD_PETSC64=ON for them)\n"));
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = PetscIntCast(BIGN, &m);
    PetscCall(PetscPopErrorHandler());
    SPD_EXPECT(ierr != 0, "PetscIntCast(2^31 + 5) did not fail in a 32-bit-index build");
  }
#endif
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckSVD(void)
{
  const PetscInt m = 60, n = 40, k = 5;
  double        *a, *ref, *sig;
  Mat            A;
  PetscInt       r0, r1;
  SpdTriplets    t;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3((size_t)m * n, &a, n, &ref, n, &sig));
  SpdTestRandomMatrix(2718, m, n, a);
  PetscCall(SpdTestLapackSingularValues(m, n, a, ref));
  PetscCall(MatCreateDense(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, m, n, NULL, &A));
  PetscCall(MatGetOwnershipRange(A, &r0, &r1));
  for (PetscInt i = r0; i < r1; i++)
    for (PetscInt j = 0; j < n; j++) PetscCall(MatSetValue(A, i, j, a[i + (size_t)j * m], INSERT_VALUES));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(SpdSVDFull(A, sig));
  PetscCall(SpdTestCheckClose(PETSC_COMM_WORLD, "SpdSVDFull vs LAPACK dgesvd (60 x 40)", n, sig, ref, 1e-12, 1e-300));
  PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, k, PETSC_FALSE, "top_", &t));
  SPD_EXPECT(t.nconv == k, "SpdSVDExtreme: %" PetscInt_FMT " of %" PetscInt_FMT " converged", t.nconv, k);
  PetscCall(SpdTestCheckClose(PETSC_COMM_WORLD, "SpdSVDExtreme top-5 vs LAPACK dgesvd", PetscMin(k, t.nconv), t.sigma, ref, 1e-9, 1e-300));
  PetscCall(SpdTripletsDestroy(&t));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFree3(a, ref, sig));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(CheckViews());
  PetscCall(CheckMemory());
  PetscCall(CheckLayout());
  PetscCall(CheckSVD());
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
