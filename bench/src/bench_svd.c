/* bench_svd: wall time of SpdSVDFull and SpdSVDExtreme on a Gaussian matrix.

   mpirun -n 2 bench_svd -m 2048 -n 2048 -mode full
   mpirun -n 2 bench_svd -m 4096 -n 4096 -mode top -k 16
   Options: -m, -n (size), -mode full|top|bottom, -k (triplets), -seed, -repeat; all
   -spd_svdfull_* and -svd_* / -bench_svd_* options apply. Timing only: the numbers
   are checked by the tests, not here. */
static const char help[] = "Times SpdSVDFull / SpdSVDExtreme on a Gaussian matrix.\n";

#include <specdyn.h>

int main(int argc, char **argv)
{
  PetscInt     m = 2048, n = 2048, k = 16, repeat = 1;
  char         mode[16] = "full";
  PetscInt     seed     = 1, rstart, rend, lda;
  PetscRandom  rnd;
  PetscScalar *a;
  Mat          A;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "bench_svd", NULL);
  PetscCall(PetscOptionsInt("-m", "rows", NULL, m, &m, NULL));
  PetscCall(PetscOptionsInt("-n", "columns", NULL, n, &n, NULL));
  PetscCall(PetscOptionsInt("-k", "triplets (top/bottom)", NULL, k, &k, NULL));
  PetscCall(PetscOptionsInt("-seed", "random seed", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsInt("-repeat", "repetitions", NULL, repeat, &repeat, NULL));
  PetscCall(PetscOptionsString("-mode", "full, top or bottom", NULL, mode, mode, sizeof(mode), NULL));
  PetscOptionsEnd();

  /* Gaussian entries by Box-Muller on PetscRandom uniforms (each rank its own stream) */
  PetscCall(MatCreateDense(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, m, n, NULL, &A));
  PetscCall(MatGetOwnershipRange(A, &rstart, &rend));
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCall(PetscRandomCreate(PETSC_COMM_SELF, &rnd));
  PetscCall(PetscRandomSetSeed(rnd, (unsigned long)(seed * 1000003 + rstart)));
  PetscCall(PetscRandomSeed(rnd));
  PetscCall(MatDenseGetArrayWrite(A, &a));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i < rend - rstart; i++) {
      PetscReal u1, u2;
      PetscCall(PetscRandomGetValueReal(rnd, &u1));
      PetscCall(PetscRandomGetValueReal(rnd, &u2));
      if (u1 < 1e-300) u1 = 1e-300;
      a[i + (size_t)j * lda] = PetscSqrtReal(-2.0 * PetscLogReal(u1)) * PetscCosReal(2.0 * PETSC_PI * u2);
    }
  PetscCall(MatDenseRestoreArrayWrite(A, &a));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscRandomDestroy(&rnd));

  for (PetscInt r = 0; r < repeat; r++) {
    double t0, t1;
    PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
    t0 = MPI_Wtime();
    if (!strcmp(mode, "full")) {
      PetscReal *s;
      PetscCall(PetscMalloc1(PetscMin(m, n), &s));
      PetscCall(SpdSVDFull(A, s));
      t1 = MPI_Wtime();
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "full %" PetscInt_FMT " x %" PetscInt_FMT ": %.3f s  sigma_1 %.6e sigma_min %.6e\n", m, n, t1 - t0, (double)s[0], (double)s[PetscMin(m, n) - 1]));
      PetscCall(PetscFree(s));
    } else {
      SpdTriplets t;
      PetscCall(SpdSVDExtreme(A, strcmp(mode, "top") ? SPD_SVD_BOTTOM : SPD_SVD_TOP, k, PETSC_FALSE, "bench_", &t));
      t1 = MPI_Wtime();
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s-%" PetscInt_FMT " of %" PetscInt_FMT " x %" PetscInt_FMT ": %.3f s  nconv %" PetscInt_FMT " its %" PetscInt_FMT " products %" PetscInt_FMT "  sigma[0] %.6e sigma[k-1] %.6e\n", mode, k, m, n, t1 - t0, t.nconv, t.its, t.nprod, (double)t.sigma[0], (double)t.sigma[t.k - 1]));
      PetscCall(SpdTripletsDestroy(&t));
    }
  }
  PetscCall(MatDestroy(&A));
  PetscCall(SpdFinalize());
  return 0;
}
