/* SpdSVDFull against serial LAPACK dgesvd (the independent reference) on tall, wide,
   square, degenerate (1 x n, n x 1, 1 x 1), rank-deficient and graded
   matrices, with and without the QR-first path, on several BLACS grids and block sizes,
   through both bidiagonalizations (-spd_svdfull_type twostage and gesvd) and the
   default choice on a matrix large enough for it to pick the two-stage one. Checking
   against the same reference at 1, 2 and 4 ranks checks that the rank count does not
   change the answer. */
static const char help[] = "Tests SpdSVDFull against LAPACK.\n";

#include "solverutil.h"

static PetscErrorCode CheckCase(const char what[], PetscInt m, PetscInt n, const double g[])
{
  PetscInt mn = PetscMin(m, n);
  double  *ref, *got;
  Mat      A;
  char     label[256];

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(mn, &ref, mn, &got));
  PetscCall(SpdTestLapackSingularValues(m, n, g, ref));
  PetscCall(SolverTestDenseFromArray(PETSC_COMM_WORLD, m, n, g, &A));
  PetscCall(SpdSVDFull(A, got));
  PetscCall(MatDestroy(&A));
  for (PetscInt i = 1; i < mn; i++) PetscCheck(got[i] <= got[i - 1], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: singular values not descending at %" PetscInt_FMT, what, i);
  /* every rank must hold the same values, bit for bit */
  {
    double *mx;
    PetscCall(PetscMalloc1(mn, &mx));
    PetscCallMPI(MPI_Allreduce(got, mx, (PetscMPIInt)mn, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
    for (PetscInt i = 0; i < mn; i++) PetscCheck(mx[i] == got[i], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: sigma[%" PetscInt_FMT "] differs across ranks", what, i);
    PetscCall(PetscFree(mx));
  }
  PetscCall(PetscSNPrintf(label, sizeof(label), "%s (%" PetscInt_FMT " x %" PetscInt_FMT ")", what, m, n));
  /* Relative 1e-10 for the nonzero values; the values that are zero in exact arithmetic
     (reference below 1e-8 sigma_1 here) must be below 1e-12 sigma_1 in absolute terms. */
  {
    PetscInt nz = 0;
    while (nz < mn && ref[nz] >= 1e-8 * ref[0]) nz++;
    PetscCall(SpdTestCheckClose(PETSC_COMM_WORLD, label, nz, got, ref, 1e-10, 0.0));
    for (PetscInt i = nz; i < mn; i++) PetscCheck(PetscAbsReal(got[i] - ref[i]) <= 1e-12 * ref[0], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: zero singular value %" PetscInt_FMT " computed as %.3e (LAPACK %.3e), above 1e-12 sigma_1 = %.3e", label, i, got[i], ref[i], 1e-12 * ref[0]);
    if (nz < mn) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: %" PetscInt_FMT " zero singular values below 1e-12 sigma_1\n", label, mn - nz));
  }
  PetscCall(PetscFree2(ref, got));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckRandom(const char what[], uint64_t seed, PetscInt m, PetscInt n)
{
  double *g;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1((size_t)m * n, &g));
  SpdTestRandomMatrix(seed, m, n, g);
  PetscCall(CheckCase(what, m, n, g));
  PetscCall(PetscFree(g));
  PetscFunctionReturn(0);
}

/* Every case, under the -spd_svdfull_type set by the caller. */
static PetscErrorCode CheckAll(void)
{
  PetscFunctionBeginUser;
  PetscCall(CheckRandom("tall", 1, 120, 50));
  PetscCall(CheckRandom("tall, m < 2n (no QR)", 2, 90, 70));
  PetscCall(CheckRandom("wide", 3, 50, 130));
  PetscCall(CheckRandom("square", 4, 97, 97));
  PetscCall(CheckRandom("row 1 x n", 5, 1, 37));
  PetscCall(CheckRandom("column n x 1", 6, 41, 1));
  PetscCall(CheckRandom("1 x 1", 7, 1, 1));
  PetscCall(CheckRandom("2 x 3", 8, 2, 3));
  PetscCall(CheckRandom("tall, more than one block per rank", 9, 300, 140));

  { /* rank deficient: rank 7 product of Gaussians, 60 x 45 */
    PetscInt m = 60, n = 45, r = 7;
    double  *x, *y, *g;
    PetscCall(PetscMalloc3((size_t)m * r, &x, (size_t)r * n, &y, (size_t)m * n, &g));
    SpdTestRandomMatrix(10, m, r, x);
    SpdTestRandomMatrix(11, r, n, y);
    for (PetscInt j = 0; j < n; j++)
      for (PetscInt i = 0; i < m; i++) {
        double s = 0;
        for (PetscInt l = 0; l < r; l++) s += x[i + l * m] * y[l + j * r];
        g[i + j * m] = s;
      }
    PetscCall(CheckCase("rank 7", m, n, g));
    PetscCall(PetscFree3(x, y, g));
  }
  { /* graded: planted singular values 1 .. 1e-3, checked relative to each value (errors
       of a backward-stable SVD are ~eps sigma_1, so 1e-3 keeps 1e-10 meaningful) */
    PetscInt m = 80, n = 40;
    double  *s, *g;
    PetscCall(PetscMalloc2(n, &s, (size_t)m * n, &g));
    for (PetscInt i = 0; i < n; i++) s[i] = PetscPowReal(10.0, -3.0 * i / (n - 1));
    PetscCall(SolverTestPlanted(12, m, n, s, g));
    PetscCall(CheckCase("graded 1..1e-3", m, n, g));
    PetscCall(PetscFree2(s, g));
  }

  /* the same matrices through other code paths: no QR, small blocks, a 1 x P grid */
  PetscCall(PetscOptionsSetValue(NULL, "-spd_svdfull_qr_ratio", "0"));
  PetscCall(PetscOptionsSetValue(NULL, "-spd_svdfull_block_size", "8"));
  PetscCall(CheckRandom("tall, no QR, nb 8", 1, 120, 50));
  PetscCall(CheckRandom("wide, no QR, nb 8", 3, 50, 130));
  {
    PetscMPIInt size;
    PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
    PetscCall(PetscOptionsSetValue(NULL, "-spd_svdfull_grid_height", "1"));
    PetscCall(PetscOptionsSetValue(NULL, "-spd_svdfull_qr_ratio", "2"));
    PetscCall(CheckRandom("tall, QR, 1 x P grid, nb 8", 1, 120, 50));
    PetscCall(CheckRandom("square, 1 x P grid, nb 8", 4, 97, 97));
    PetscCall(PetscOptionsClearValue(NULL, "-spd_svdfull_grid_height"));
  }
  PetscCall(PetscOptionsClearValue(NULL, "-spd_svdfull_qr_ratio"));
  PetscCall(PetscOptionsClearValue(NULL, "-spd_svdfull_block_size"));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));

  for (int t = 0; t < 2; t++) {
    const char *type = t ? "gesvd" : "twostage";
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "-- -spd_svdfull_type %s\n", type));
    PetscCall(PetscOptionsSetValue(NULL, "-spd_svdfull_type", type));
    PetscCall(CheckAll());
  }
  PetscCall(PetscOptionsClearValue(NULL, "-spd_svdfull_type"));
  /* defaults (two-stage from 512, band 48): 11 panels, one partial, and the tall
     matrix below the QR ratio; then a wide one through QR */
  PetscCall(CheckRandom("default type, tall", 13, 600, 520));
  PetscCall(CheckRandom("default type, wide, QR", 14, 530, 1100));

  { /* a sparse matrix is refused with a message saying what to do */
    Mat            B;
    PetscReal      s[3];
    PetscErrorCode ierr;
    PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 4, 3, 1, NULL, 1, NULL, &B));
    PetscCall(MatAssemblyBegin(B, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(B, MAT_FINAL_ASSEMBLY));
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = SpdSVDFull(B, s);
    PetscCall(PetscPopErrorHandler());
    PetscCheck(ierr == PETSC_ERR_SUP, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "SpdSVDFull on MATAIJ returned %d, expected PETSC_ERR_SUP", (int)ierr);
    PetscCall(MatDestroy(&B));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "MATAIJ refused\n"));
  }
  PetscCall(SpdFinalize());
  return 0;
}
