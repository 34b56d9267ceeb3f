/* bench_svd: wall time of SpdSVDFull and SpdSVDExtreme (bench/run.sh rows 1 and 2).

   mpirun -n 2 bench_svd -file bench/data/gauss2048.safetensors -tensor A -mode full -repeat 3 -out s.f64
   mpirun -n 2 bench_svd -file bench/data/gauss8192.safetensors -tensor A -mode top -k 16 -top_svd_tol 1e-8
   mpirun -n 2 bench_svd -m 2048 -n 2048 -mode full          (Gaussian matrix made in memory)

   The matrix is read through SpdReader + SpdMatLoadView (-file) or generated in memory;
   only the SVD call is timed (MPI_Wtime between barriers, the slowest rank's time). The
   singular values of the last repetition are written by rank 0 as raw little-endian
   float64 (-out), so that bench/report.py can compare them with NumPy/SciPy's.
   A line starting with "RESULT" carries the numbers in key=value form for bench/run.sh.
   Timing only: the correctness of the solvers is checked by the tests, not here. */
static const char help[] = "Times SpdSVDFull / SpdSVDExtreme on a matrix from a checkpoint file or a Gaussian one.\n"
                           "  -file <path> -tensor <name> : read the matrix (safetensors/HDF5) instead of generating it\n"
                           "  -m <m> -n <n> -seed <s>     : size and seed of the generated Gaussian matrix\n"
                           "  -mode full|top|bottom -k <k> -repeat <r> -out <sigma.f64>\n";

#include <specdyn.h>
#include <errno.h>

/* Gaussian entries by Box-Muller on PetscRandom uniforms; each rank its own stream. */
static PetscErrorCode BenchGaussian(MPI_Comm comm, PetscInt m, PetscInt n, PetscInt seed, Mat *A)
{
  PetscInt     rstart, rend, lda;
  PetscRandom  rnd;
  PetscScalar *a;

  PetscFunctionBegin;
  PetscCall(MatCreateDense(comm, PETSC_DECIDE, PETSC_DECIDE, m, n, NULL, A));
  PetscCall(MatGetOwnershipRange(*A, &rstart, &rend));
  PetscCall(MatDenseGetLDA(*A, &lda));
  PetscCall(PetscRandomCreate(PETSC_COMM_SELF, &rnd));
  PetscCall(PetscRandomSetSeed(rnd, (unsigned long)(seed * 1000003 + rstart)));
  PetscCall(PetscRandomSeed(rnd));
  PetscCall(MatDenseGetArrayWrite(*A, &a));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i < rend - rstart; i++) {
      PetscReal u1, u2;
      PetscCall(PetscRandomGetValueReal(rnd, &u1));
      PetscCall(PetscRandomGetValueReal(rnd, &u2));
      if (u1 < 1e-300) u1 = 1e-300; /* log(0) guard */
      a[i + (size_t)j * lda] = PetscSqrtReal(-2.0 * PetscLogReal(u1)) * PetscCosReal(2.0 * PETSC_PI * u2);
    }
  PetscCall(MatDenseRestoreArrayWrite(*A, &a));
  PetscCall(MatAssemblyBegin(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*A, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscRandomDestroy(&rnd));
  PetscFunctionReturn(0);
}

/* The tensor `name` of the checkpoint `path` as a MATMPIDENSE, through the reader;
 *f32 says whether the iterative solves of `specdyn run` would use a float32 copy. */
static PetscErrorCode BenchLoad(MPI_Comm comm, const char path[], const char name[], Mat *A, PetscBool *f32, double *seconds)
{
  SpdReader            r;
  PetscInt             t;
  const SpdTensorInfo *info;
  SpdMatrixView        view;
  double               t0;

  PetscFunctionBegin;
  t0 = MPI_Wtime();
  PetscCall(SpdReaderCreate(comm, &r));
  PetscCall(SpdReaderSetFromOptions(r));
  PetscCall(SpdReaderOpen(r, path));
  PetscCall(SpdReaderFindTensor(r, name, &t));
  PetscCheck(t >= 0, comm, PETSC_ERR_ARG_WRONG, "%s has no tensor '%s'; pass the right -tensor (bench/gen_data.py names the matrix 'A')", path, name);
  PetscCall(SpdReaderGetTensor(r, t, &info));
  PetscCall(SpdMatrixViewFromTensor(info, t, &view));
  PetscCall(SpdMatLoadView(r, &view, comm, A));
  PetscCall(SpdTensorUseFloat32(info, f32)); /* as `specdyn run` decides */
  PetscCall(SpdReaderDestroy(&r));
  *seconds = MPI_Wtime() - t0;
  PetscFunctionReturn(0);
}

static PetscErrorCode BenchWriteSigma(MPI_Comm comm, const char path[], const PetscReal *s, PetscInt n)
{
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && path[0]) {
    FILE *fp = fopen(path, "wb");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot create %s: %s; check -out", path, strerror(errno));
    PetscCheck(fwrite(s, sizeof(PetscReal), (size_t)n, fp) == (size_t)n, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot write %" PetscInt_FMT " values to %s", n, path);
    PetscCheck(fclose(fp) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot close %s: %s", path, strerror(errno));
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscInt    m = 2048, n = 2048, k = 16, repeat = 1, seed = 1, M, N, mn;
  char        mode[16] = "full", file[PETSC_MAX_PATH_LEN] = "", tensor[SPD_MAX_NAME] = "A", out[PETSC_MAX_PATH_LEN] = "";
  char        times[1024] = "";
  double      tload = 0, best = PETSC_MAX_REAL;
  PetscMPIInt size;
  PetscReal  *s;
  Mat         A;
  PetscBool   f32 = PETSC_FALSE;
  MPI_Comm    comm;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscOptionsBegin(comm, NULL, "bench_svd", NULL);
  PetscCall(PetscOptionsString("-file", "checkpoint holding the matrix", NULL, file, file, sizeof(file), NULL));
  PetscCall(PetscOptionsString("-tensor", "tensor name in -file", NULL, tensor, tensor, sizeof(tensor), NULL));
  PetscCall(PetscOptionsInt("-m", "rows of the generated matrix", NULL, m, &m, NULL));
  PetscCall(PetscOptionsInt("-n", "columns of the generated matrix", NULL, n, &n, NULL));
  PetscCall(PetscOptionsInt("-seed", "random seed", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsInt("-k", "triplets (top/bottom)", NULL, k, &k, NULL));
  PetscCall(PetscOptionsInt("-repeat", "repetitions (the best is reported)", NULL, repeat, &repeat, NULL));
  PetscCall(PetscOptionsString("-mode", "full, top or bottom", NULL, mode, mode, sizeof(mode), NULL));
  PetscCall(PetscOptionsString("-out", "raw float64 file for the singular values", NULL, out, out, sizeof(out), NULL));
  PetscOptionsEnd();
  PetscCheck(!strcmp(mode, "full") || !strcmp(mode, "top") || !strcmp(mode, "bottom"), comm, PETSC_ERR_ARG_WRONG, "-mode %s: use full, top or bottom", mode);
  PetscCheck(repeat >= 1 && repeat <= 20, comm, PETSC_ERR_ARG_OUTOFRANGE, "-repeat %" PetscInt_FMT ": use 1 to 20", repeat);

  if (file[0])
    PetscCall(BenchLoad(comm, file, tensor, &A, &f32, &tload));
  else
    PetscCall(BenchGaussian(comm, m, n, seed, &A));
  if (f32 && strcmp(mode, "full")) { /* the float32 copy, built outside the timed region */
    Mat S;
    PetscCall(SpdMatCreateFloat32(A, &S));
    PetscCall(MatDestroy(&A));
    A = S;
  }
  PetscCall(PetscPrintf(comm, "storage: %s\n", f32 && strcmp(mode, "full") ? "float32 (products in double)" : "float64"));
  PetscCall(MatGetSize(A, &M, &N));
  mn = PetscMin(M, N);
  PetscCall(PetscMalloc1(mn, &s));

  for (PetscInt r = 0; r < repeat; r++) {
    double      t0, dt;
    SpdTriplets t;
    char        item[32];

    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    if (!strcmp(mode, "full"))
      PetscCall(SpdSVDFull(A, s));
    else
      PetscCall(SpdSVDExtreme(A, strcmp(mode, "top") ? SPD_SVD_BOTTOM : SPD_SVD_TOP, k, PETSC_FALSE, "top_", &t));
    dt = MPI_Wtime() - t0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, comm));
    best = PetscMin(best, dt);
    PetscCall(PetscSNPrintf(item, sizeof(item), "%s%.3f", r ? "," : "", dt));
    PetscCall(PetscStrlcat(times, item, sizeof(times)));
    if (!strcmp(mode, "full")) {
      PetscCall(PetscPrintf(comm, "full %" PetscInt_FMT " x %" PetscInt_FMT " on %d ranks: %.3f s  sigma_1 %.6e sigma_min %.6e\n", M, N, size, dt, (double)s[0], (double)s[mn - 1]));
      if (r == repeat - 1) {
        PetscCall(BenchWriteSigma(comm, out, s, mn));
        PetscCall(PetscPrintf(comm, "RESULT mode=full m=%" PetscInt_FMT " n=%" PetscInt_FMT " ranks=%d load=%.3f best=%.4f times=%s\n", M, N, size, tload, best, times));
      }
    } else {
      PetscReal maxres = 0, maxrel = 0;
      for (PetscInt i = 0; i < t.k; i++) {
        maxres = PetscMax(maxres, t.residual[i]);
        maxrel = PetscMax(maxrel, t.residual[i] / t.sigma[i]);
      }
      PetscCall(PetscPrintf(comm, "%s-%" PetscInt_FMT " of %" PetscInt_FMT " x %" PetscInt_FMT " on %d ranks: %.3f s  solver %s tol %.1e nconv %" PetscInt_FMT " its %" PetscInt_FMT " products %" PetscInt_FMT "  sigma[0] %.10e sigma[k-1] %.10e max residual %.2e\n", mode, k, M, N, size, dt, t.solver, (double)t.tol, t.nconv, t.its, t.nprod, (double)t.sigma[0],
          (double)t.sigma[t.k - 1], (double)maxres));
      if (r == repeat - 1) {
        PetscCall(BenchWriteSigma(comm, out, t.sigma, t.k));
        PetscCall(PetscPrintf(comm, "RESULT mode=%s m=%" PetscInt_FMT " n=%" PetscInt_FMT " ranks=%d k=%" PetscInt_FMT " load=%.3f best=%.4f times=%s solver=%s tol=%.1e nconv=%" PetscInt_FMT " its=%" PetscInt_FMT " nprod=%" PetscInt_FMT " passes=%" PetscInt_FMT " storage=%s maxres=%.3e maxrelres=%.3e\n", mode, M, N, size, t.k, tload, best, times, t.solver, (double)t.tol, t.nconv, t.its,
            t.nprod, t.npasses, f32 ? "float32" : "float64", (double)maxres, (double)maxrel));
      }
      PetscCall(SpdTripletsDestroy(&t));
    }
  }
  PetscCall(PetscFree(s));
  PetscCall(MatDestroy(&A));
  PetscCall(SpdFinalize());
  return 0;
}
