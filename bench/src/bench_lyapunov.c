/* bench_lyapunov: Lyapunov exponents of a deep Gaussian product (bench/run.sh row 8).

   mpirun -n 2 bench_lyapunov -d 2048 -depth 64 -k 32 -out lambda.f64

   SpdJacobianCreateGaussian: depth d x d factors with i.i.d. N(0, 1/d) entries (s =
   1/sqrt(d), no gates), each rank generating and keeping only its rows; then
   SpdJacobianLyapunov with k exponents (a seeded Gaussian start block, distributed TSQR at
   every layer). Both phases are timed between barriers (slowest rank). The k exponents go
   to -out (little-endian float64) for bench/report.py, which compares them with Newman's
   formula lambda_i = log s + (log 2 + psi((d - i + 1)/2)) / 2. A line starting with
   "RESULT" carries the numbers for bench/run.sh. */
static const char help[] = "Lyapunov exponents of a product of Gaussian matrices (SpdJacobianLyapunov).\n"
                           "  -d <width> -depth <L> -k <exponents> -seed <n> -out <file>\n";

#include <specdyn.h>

static PetscErrorCode BenchMaxTime(MPI_Comm comm, double t0, double *dt)
{
  PetscFunctionBegin;
  *dt = MPI_Wtime() - t0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dt, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscInt    d = 2048, depth = 64, k = 32, seed = 1;
  char        out[PETSC_MAX_PATH_LEN] = "";
  MPI_Comm    comm;
  PetscMPIInt rank, size;
  SpdJacobian J;
  SpdLyapunov ly;
  double      t0, tcreate, tlyap;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-d", &d, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-depth", &depth, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-k", &k, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-seed", &seed, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", out, sizeof(out), NULL));

  PetscCallMPI(MPI_Barrier(comm));
  t0 = MPI_Wtime();
  PetscCall(SpdJacobianCreateGaussian(comm, d, depth, 1.0 / PetscSqrtReal((PetscReal)d), 1.0, seed, &J));
  PetscCall(BenchMaxTime(comm, t0, &tcreate));
  PetscCallMPI(MPI_Barrier(comm));
  t0 = MPI_Wtime();
  PetscCall(SpdJacobianLyapunov(J, k, NULL, seed, &ly));
  PetscCall(BenchMaxTime(comm, t0, &tlyap));
  PetscCall(PetscPrintf(comm, "lambda_1..3 = %.6f %.6f %.6f, lambda_%" PetscInt_FMT " = %.6f\n", (double)ly.lambda[0], (double)ly.lambda[1], (double)ly.lambda[2], k, (double)ly.lambda[k - 1]));
  PetscCall(PetscPrintf(comm, "RESULT time=%.4f create=%.4f d=%" PetscInt_FMT " depth=%" PetscInt_FMT " k=%" PetscInt_FMT " ranks=%d\n", tlyap, tcreate, d, depth, k, (int)size));
  if (out[0] && rank == 0) {
    FILE *f = fopen(out, "wb");
    PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s", out);
    PetscCheck(fwrite(ly.lambda, sizeof(PetscReal), (size_t)k, f) == (size_t)k, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot write %s", out);
    PetscCheck(fclose(f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot close %s", out);
  }
  PetscCall(SpdLyapunovDestroy(&ly));
  PetscCall(SpdJacobianDestroy(&J));
  PetscCall(SpdFinalize());
  return 0;
}
