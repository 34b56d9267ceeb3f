/* bench_curvature: cost of the loss-curvature products of an MLP and of its top eigenpairs
   (bench/run.sh row 6).

   mpirun -n 1 bench_curvature -checkpoint small.h5 -n 2000 -mode time -v v.f64 -out_hv hv.f64
   mpirun -n 1 bench_curvature -checkpoint small.h5 -n 2000 -mode eig -k 10 -eps_tol 1e-8 -out lam.f64

   The model is read from a PyTorch nn.Sequential state dict (h5py, relu, cross-entropy)
   through SpdMLPCreateFromCheckpoint; the data are the first n Fashion-MNIST training
   samples read by SpdDataLoadIDX, both as `specdyn run` does.

   -mode time: "one gradient" is a forward and backward pass at a new point,
   SpdMLPSetPoint + SpdMLPGetLossGradient (SetPoint recomputes and reallocates every cache,
   as at a new theta); one Hessian / Gauss-Newton / G product is SpdMLPCurvatureApply at
   that point (reusing its caches). Each time is the median of -calls calls, best of
   -repeat rounds. The flops of the BLAS-3 calls are counted from the layer widths (2 per
   multiply-add; biases and element-wise work not counted) and compared with dgemm on
   square matrices of order -dgemm on the same core (the machine's BLAS-3 peak per core).
   -v reads a direction (raw float64, length P) and -out_hv writes H v, so that
   bench/report.py can compare the product with torch's for the same v.

   -mode eig: the top -k eigenpairs of the Hessian (SpdMatCreateCurvature +
   SpdEigExtreme with the prefix "bench_"; pass -eps_tol, -eps_ncv, ...), with the
   products counted by SpdEigExtreme (its ||A|| estimate and residual norms included).
   Writes the eigenvalues (-out, raw float64).

   Only the computation is timed (MPI_Wtime between barriers, the slowest rank). A line
   starting with "RESULT" carries the numbers in key=value form. Timing only: the
   correctness of the products and eigenpairs is tested in tests/model and tests/e2e. */
static const char help[] = "Times the MLP curvature products and SpdEigExtreme on the loss Hessian.\n"
                           "  -checkpoint <h5> -images <idx.gz> -labels <idx.gz> -n <samples>\n"
                           "  -mode time|eig -repeat <r> -calls <c> -dgemm <order> -v <v.f64> -out_hv <hv.f64>\n"
                           "  -k <pairs> -out <lambda.f64>\n";

#include "benchutil.h"
#include <specdyn.h>
#include <petscblaslapack.h>
#include <errno.h>
#include <time.h>

#define FMNIST "/usr/share/datasets/fashion-mnist/"

/* CPU time of this process (all threads), seconds. */
static double BenchCPU(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double BenchMedian(PetscInt n, double t[])
{
  for (PetscInt i = 1; i < n; i++) /* insertion sort: n is small */
    for (PetscInt j = i; j > 0 && t[j] < t[j - 1]; j--) {
      double s = t[j];
      t[j]     = t[j - 1];
      t[j - 1] = s;
    }
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static PetscErrorCode BenchWrite(MPI_Comm comm, const char path[], const PetscReal *x, PetscInt n)
{
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && path[0]) {
    FILE *fp = fopen(path, "wb");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot create %s: %s; check the output path", path, strerror(errno));
    PetscCheck(fwrite(x, sizeof(PetscReal), (size_t)n, fp) == (size_t)n, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot write %" PetscInt_FMT " values to %s", n, path);
    PetscCheck(fclose(fp) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot close %s: %s", path, strerror(errno));
  }
  PetscFunctionReturn(0);
}

/* x (length n) from a raw float64 file of exactly n values (every rank reads it). */
static PetscErrorCode BenchRead(const char path[], PetscReal *x, PetscInt n)
{
  FILE *fp = fopen(path, "rb");
  long  sz;

  PetscFunctionBegin;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open %s: %s; bench/curvature_peer.py time --out writes it", path, strerror(errno));
  PetscCheck(fseek(fp, 0, SEEK_END) == 0 && (sz = ftell(fp)) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "Cannot size %s", path);
  PetscCheck(sz == (long)(n * (PetscInt)sizeof(PetscReal)), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s holds %ld bytes, expected %" PetscInt_FMT " float64 values (one per parameter); was it written for another model?", path, sz, n);
  rewind(fp);
  PetscCheck(fread(x, sizeof(PetscReal), (size_t)n, fp) == (size_t)n, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "Cannot read %" PetscInt_FMT " values from %s", n, path);
  PetscCheck(fclose(fp) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "Cannot close %s", path);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char          ckpt[PETSC_MAX_PATH_LEN] = "", images[PETSC_MAX_PATH_LEN] = FMNIST "train-images-idx3-ubyte.gz", labels[PETSC_MAX_PATH_LEN] = FMNIST "train-labels-idx1-ubyte.gz";
  char          mode[16] = "time", vpath[PETSC_MAX_PATH_LEN] = "", hvout[PETSC_MAX_PATH_LEN] = "", out[PETSC_MAX_PATH_LEN] = "", arch[256] = "";
  PetscInt      n = 2000, repeat = 3, calls = 5, k = 10, dg = 0, P, L = 0, width[SPD_MLP_MAX_LAYERS + 1];
  PetscMPIInt   size;
  MPI_Comm      comm;
  SpdReader     r;
  SpdMLPSpec    spec;
  SpdMLP        mlp;
  SpdData       data;
  PetscReal    *v, *y, loss, *grad;
  double        tload, F = 0, f1;
  PetscLogStage stage;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscOptionsBegin(comm, NULL, "bench_curvature", NULL);
  PetscCall(PetscOptionsString("-checkpoint", "PyTorch nn.Sequential state dict (HDF5 or safetensors)", NULL, ckpt, ckpt, sizeof(ckpt), NULL));
  PetscCall(PetscOptionsString("-images", "IDX images", NULL, images, images, sizeof(images), NULL));
  PetscCall(PetscOptionsString("-labels", "IDX labels", NULL, labels, labels, sizeof(labels), NULL));
  PetscCall(PetscOptionsInt("-n", "samples (the first n)", NULL, n, &n, NULL));
  PetscCall(PetscOptionsString("-mode", "time or eig", NULL, mode, mode, sizeof(mode), NULL));
  PetscCall(PetscOptionsInt("-repeat", "rounds (the best is reported)", NULL, repeat, &repeat, NULL));
  PetscCall(PetscOptionsInt("-calls", "calls per round (their median is the round's time)", NULL, calls, &calls, NULL));
  PetscCall(PetscOptionsInt("-dgemm", "order of the square dgemm measured for the peak (0: none)", NULL, dg, &dg, NULL));
  PetscCall(PetscOptionsString("-v", "direction for the products (raw float64)", NULL, vpath, vpath, sizeof(vpath), NULL));
  PetscCall(PetscOptionsString("-out_hv", "write H v here (raw float64)", NULL, hvout, hvout, sizeof(hvout), NULL));
  PetscCall(PetscOptionsInt("-k", "eigenpairs (eig)", NULL, k, &k, NULL));
  PetscCall(PetscOptionsString("-out", "write the eigenvalues here (raw float64)", NULL, out, out, sizeof(out), NULL));
  PetscOptionsEnd();
  PetscCheck(ckpt[0], comm, PETSC_ERR_USER_INPUT, "Give the model with -checkpoint FILE (bench/curvature_peer.py prepare writes one)");
  PetscCheck(!strcmp(mode, "time") || !strcmp(mode, "eig"), comm, PETSC_ERR_ARG_WRONG, "-mode %s: use time or eig", mode);
  PetscCheck(repeat >= 1 && repeat <= 20 && calls >= 1 && calls <= 50, comm, PETSC_ERR_ARG_OUTOFRANGE, "-repeat %" PetscInt_FMT " -calls %" PetscInt_FMT ": use 1-20 rounds of 1-50 calls", repeat, calls);

  /* the model and the data, as `specdyn run` builds them (not timed) */
  tload = MPI_Wtime();
  PetscCall(PetscMemzero(&spec, sizeof(spec)));
  spec.loss      = SPD_LOSS_CROSS_ENTROPY;
  spec.param     = SPD_PARAM_STANDARD;
  spec.act_given = PETSC_TRUE;
  spec.nact      = 1;
  spec.act[0]    = SPD_ACT_RELU;
  PetscCall(SpdReaderCreate(comm, &r));
  PetscCall(SpdReaderOpen(r, ckpt));
  PetscCall(SpdMLPCreateFromCheckpoint(r, comm, &spec, &mlp));
  PetscCall(SpdReaderDestroy(&r));
  PetscCall(SpdDataLoadIDX(comm, images, labels, n, &data));
  tload = MPI_Wtime() - tload;
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  width[0] = data->d;
  for (PetscInt l = 0, seen = 0; l < SPD_MLP_MAX_LAYERS && seen < P; l++) { /* layers until every parameter is seen */
    PetscInt wsize, bsize;
    char     item[32];
    PetscCall(SpdMLPGetLayerBlock(mlp, l, NULL, &wsize, NULL, &bsize));
    seen += wsize + bsize;
    width[l + 1] = wsize / width[l];
    L            = l + 1;
    F += (double)wsize;
    PetscCall(PetscSNPrintf(item, sizeof(item), "%s%" PetscInt_FMT, l ? "-" : "", width[l]));
    PetscCall(PetscStrlcat(arch, item, sizeof(arch)));
  }
  {
    char item[32];
    PetscCall(PetscSNPrintf(item, sizeof(item), "-%" PetscInt_FMT, width[L]));
    PetscCall(PetscStrlcat(arch, item, sizeof(arch)));
  }
  /* multiply-adds per sample: forward F; layer 1 (the input layer) needs no input gradient */
  f1 = (double)width[0] * width[1];
  F *= data->n;
  f1 *= data->n;
  PetscCall(PetscPrintf(comm, "model %s (relu, cross-entropy), %" PetscInt_FMT " parameters; %" PetscInt_FMT " samples of %s on %d rank(s); loaded in %.2f s\n", arch, P, data->n, images, size, tload));
  PetscCall(PetscMalloc3(P, &v, P, &y, P, &grad));
  if (vpath[0])
    PetscCall(BenchRead(vpath, v, P));
  else
    for (PetscInt j = 0; j < P; j++) v[j] = PetscSinReal(0.37 * (PetscReal)j + 1.0);

  if (!strcmp(mode, "time")) {
    const char *names[4] = { "grad", "hvp", "gn", "g" };
    /* multiply-adds of each operation's dgemm calls (src/model/mlp.c): gradient = forward F +
       weight gradients F + input gradients F - f1; a product = R-forward 2F - f1 plus its
       backward: Hessian 2F - f1 (weight terms) + 2(F - f1) (input terms); GN and G one
       backward pass F + F - f1 */
    double macs[4] = { 3 * F - f1, 6 * F - 4 * f1, 4 * F - 2 * f1, 4 * F - 2 * f1 }, best[4], gf = 0;
    double med[4][20], wall0, cpu0, share;

    for (int i = 0; i < 4; i++) best[i] = PETSC_MAX_REAL;
    PetscCall(PetscLogStageRegister("Curvature products", &stage));
    PetscCall(PetscLogStagePush(stage));
    wall0 = MPI_Wtime();
    cpu0  = BenchCPU();
    for (PetscInt rr = 0; rr < repeat; rr++) {
      double t[50];
      for (PetscInt c = 0; c < calls; c++) { /* a gradient at a new point */
        PetscCallMPI(MPI_Barrier(comm));
        double t0 = MPI_Wtime();
        PetscCall(SpdMLPSetPoint(mlp, data));
        PetscCall(SpdMLPGetLossGradient(mlp, &loss, grad));
        t[c] = MPI_Wtime() - t0;
        PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &t[c], 1, MPI_DOUBLE, MPI_MAX, comm));
      }
      med[0][rr] = BenchMedian(calls, t);
      for (int kind = 0; kind < 3; kind++) {
        for (PetscInt c = 0; c < calls; c++) {
          PetscCallMPI(MPI_Barrier(comm));
          double t0 = MPI_Wtime();
          PetscCall(SpdMLPCurvatureApply(mlp, (SpdCurvature)kind, v, y, PETSC_FALSE));
          t[c] = MPI_Wtime() - t0;
          PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &t[c], 1, MPI_DOUBLE, MPI_MAX, comm));
        }
        med[kind + 1][rr] = BenchMedian(calls, t);
        if (kind == SPD_CURV_HESSIAN && rr == repeat - 1) PetscCall(BenchWrite(comm, hvout, y, P));
      }
      for (int i = 0; i < 4; i++) best[i] = PetscMin(best[i], med[i][rr]);
    }
    /* CPU time / wall time of the timed loop: ~1 when this rank had its core to itself */
    share = (BenchCPU() - cpu0) / (MPI_Wtime() - wall0);
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &share, 1, MPI_DOUBLE, MPI_MIN, comm));
    PetscCall(PetscLogStagePop());
    if (dg > 0) PetscCall(BenchDgemm(dg, &gf));
    PetscCall(PetscPrintf(comm, "loss %.10f; per call (median of %" PetscInt_FMT ", best of %" PetscInt_FMT " rounds):\n", (double)loss, calls, repeat));
    for (int i = 0; i < 4; i++) PetscCall(PetscPrintf(comm, "  %-4s %8.2f ms  %6.2f Gflop  %6.2f GFLOP/s per rank  (%.2fx gradient)\n", names[i], 1e3 * best[i], 2e-9 * macs[i], 2e-9 * macs[i] / best[i] / size, best[i] / best[0]));
    if (dg > 0) PetscCall(PetscPrintf(comm, "  dgemm %" PetscInt_FMT "^3 on one core: %.2f GFLOP/s\n", dg, gf));
    PetscCall(PetscPrintf(comm, "  CPU time / wall time of the timed calls: %.2f (lowest rank)\n", share));
    PetscCall(PetscPrintf(comm, "RESULT side=specdyn mode=time ranks=%d n=%" PetscInt_FMT " P=%" PetscInt_FMT " arch=%s loss=%.12e grad=%.5f hvp=%.5f gn=%.5f g=%.5f grad_gflop=%.4f hvp_gflop=%.4f gn_gflop=%.4f dgemm_n=%" PetscInt_FMT " dgemm_gflops=%.2f cpu_share=%.3f\n", size, data->n, P, arch, (double)loss, best[0], best[1], best[2], best[3], 2e-9 * macs[0], 2e-9 * macs[1], 2e-9 * macs[2], dg, gf, share));
  } else {
    Mat           H;
    SpdEigenpairs e;
    double        t0, dt, c0, share;
    PetscReal     maxres = 0, maxtrue = 0;
    PetscReal    *rtrue;

    PetscCall(SpdMLPSetPoint(mlp, data));
    PetscCall(SpdMLPGetLossGradient(mlp, &loss, NULL));
    PetscCall(SpdMatCreateCurvature(mlp, SPD_CURV_HESSIAN, 0, NULL, NULL, &H));
    PetscCall(PetscLogStageRegister("Top eigenpairs", &stage));
    PetscCall(PetscLogStagePush(stage));
    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    c0 = BenchCPU();
    PetscCall(SpdEigExtreme(H, SPD_EIG_LARGEST, k, PETSC_TRUE, "bench_", &e));
    dt    = MPI_Wtime() - t0;
    share = (BenchCPU() - c0) / dt;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &share, 1, MPI_DOUBLE, MPI_MIN, comm));
    PetscCall(PetscLogStagePop());
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, comm));
    /* the check, outside the timing and the count: true residuals of the returned vectors */
    PetscCall(PetscCalloc1(e.k, &rtrue));
    for (PetscInt i = 0; i < e.nconv; i++) {
      Vec r;
      PetscCall(VecDuplicate(e.X[i], &r));
      PetscCall(MatMult(H, e.X[i], r));
      PetscCall(VecAXPY(r, -e.lambda[i], e.X[i]));
      PetscCall(VecNorm(r, NORM_2, &rtrue[i]));
      PetscCall(VecDestroy(&r));
      maxres  = PetscMax(maxres, e.residual[i]);
      maxtrue = PetscMax(maxtrue, rtrue[i]);
    }
    for (PetscInt i = 0; i < e.k; i++) PetscCall(PetscPrintf(comm, "  lambda_%" PetscInt_FMT " = %.12e  ||Hx - lx|| = %.2e (%s), recomputed %.2e%s\n", i + 1, (double)e.lambda[i], (double)e.residual[i], e.residuals, (double)rtrue[i], e.converged[i] ? "" : "  (not converged)"));
    PetscCall(PetscPrintf(comm, "top-%" PetscInt_FMT " of the Hessian (%" PetscInt_FMT " parameters, %" PetscInt_FMT " samples, %d rank(s)): %.3f s, %s, tol %.1e, %" PetscInt_FMT " iterations, %" PetscInt_FMT " products, %" PetscInt_FMT "/%" PetscInt_FMT " converged, max ||Hx - lx|| / lambda_1 = %.1e (residuals: %s)\n", k, P, data->n, size, dt, e.solver, (double)e.tol, e.its, e.nprod, e.nconv, e.k,
        (double)(maxres / PetscAbsReal(e.lambda[0])), e.residuals));
    PetscCall(BenchWrite(comm, out, e.lambda, e.k));
    PetscCall(PetscPrintf(comm, "RESULT side=specdyn mode=eig ranks=%d n=%" PetscInt_FMT " P=%" PetscInt_FMT " arch=%s k=%" PetscInt_FMT " time=%.4f solver=%s tol=%.1e its=%" PetscInt_FMT " nprod=%" PetscInt_FMT " nconv=%" PetscInt_FMT " lam1=%.12e lamk=%.12e maxrelres=%.3e residuals=%s maxrelres_check=%.3e cpu_share=%.3f\n", size, data->n, P, arch, e.k, dt, e.solver, (double)e.tol, e.its, e.nprod, e.nconv, (double)e.lambda[0],
        (double)e.lambda[e.k - 1], (double)(maxres / PetscAbsReal(e.lambda[0])), e.residuals[0] == 'K' ? "krylov" : "explicit", (double)(maxtrue / PetscAbsReal(e.lambda[0])), share));
    PetscCall(PetscFree(rtrue));
    PetscCall(SpdEigenpairsDestroy(&e));
    PetscCall(MatDestroy(&H));
  }
  PetscCall(PetscFree3(v, y, grad));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscCall(SpdFinalize());
  return 0;
}
