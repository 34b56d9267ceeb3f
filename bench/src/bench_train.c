/* bench_train: the training layer and the training Jacobian (bench/run.sh rows 9-11).

   mpirun -n 2 bench_train -mode jac -arch 64,42,42,10 -n 256 -steps 20 -k 32 -which both -dense 1
   mpirun -n 2 bench_train -mode cost -arch 64,280,280,10 -n 2048 -batch 128 -steps 50
   mpirun -n 1 bench_train -mode throughput -arch 784,256,256,10 -batch 128 -steps 200 -dgemm 2048

   The model is a relu MLP with biases and softmax cross-entropy (standard
   parameterization, SpdTrainerInitialize from -seed).

   -mode jac (row 9): the training Jacobian J_T of T = -steps steps of full-batch gradient
   descent (-lr) on a -n sample Gaussian mixture (SpdDataGaussianMixture, d = arch[0],
   classes = arch[L], -snr) as SpdMatCreateTrainingJacobian(every = 1), then SpdSVDExtreme
   for the top and/or bottom -k triplets (prefixes "top_" and "bottom_": -top_svd_tol ...).
   Reported: the products SLEPc needed (MatMult + MatMultTranspose, counted by
   SpdSVDExtreme, its 2 nconv residual-norm products included and also given apart), the
   tolerance, the number converged, the time, and the ratio products / P, P being the
   forward-mode products that forming the dense J_T needs (one per column). -dense 1 also
   forms the dense J_T by those P products into a MATMPIDENSE and computes all its singular
   values with SpdSVDFull (ScaLAPACK), timing both, and compares the Krylov triplets' values
   with them (the accuracy column; for small P only).

   -mode cost (row 10): one J_T product (MatMult, MatMultTranspose) with every = 1 and with
   every = -every2 (recomputation), against T Hessian-vector products done by hand at the
   same iterates: for each step t, theta_t into the model, SpdTrainerGetBatchData(t),
   SpdMLPSetPoint, SpdMLPCurvatureApply(HESSIAN). Minibatch SGD (-batch, -momentum) on a
   Gaussian mixture. Each is timed -repeat times, alternating, best reported.

   -mode throughput (row 11): steps per second of SpdTrainerStep (minibatch SGD with heavy
   ball momentum, -lr, -batch) on the first -n Fashion-MNIST training samples (or -data
   mixture), -steps timed steps after 5 untimed, best of -repeat rounds; plus the dgemm
   flops of a step (2 per multiply-add: forward F, weight gradients F, input gradients
   F - F_1 per sample) against a square dgemm of order -dgemm on this core.

   Only the computation is timed (MPI_Wtime between barriers, slowest rank). Lines starting
   with "RESULT" carry the numbers. Timing only: correctness is tested in tests/train and
   tests/trainjac. */
static const char help[] = "Benchmarks of the trainer and the training Jacobian.\n"
                           "  -mode jac|cost|throughput -arch d,h,...,c -n <samples> -steps <T> -lr <eta> -batch <b>\n"
                           "  -k <triplets> -which top|bottom|both -dense 0|1 -every2 <K> -repeat <r> -dgemm <order>\n";

#include "benchutil.h"
#include <specdyn.h>
#include <petscblaslapack.h>
#include <time.h>

#define FMNIST "/usr/share/datasets/fashion-mnist/"

static double BenchCPU(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of this process since c0, the largest over the ranks. */
static PetscErrorCode BenchMaxCPU(MPI_Comm comm, double c0, double *dc)
{
  PetscFunctionBegin;
  *dc = BenchCPU() - c0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dc, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(0);
}

static PetscErrorCode BenchMaxTime(MPI_Comm comm, double t0, double *dt)
{
  PetscFunctionBegin;
  *dt = MPI_Wtime() - t0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dt, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(0);
}

static PetscErrorCode BenchArchString(PetscInt L, const PetscInt w[], char arch[], size_t len)
{
  PetscFunctionBegin;
  arch[0] = 0;
  for (PetscInt l = 0; l <= L; l++) {
    char item[32];
    PetscCall(PetscSNPrintf(item, sizeof(item), "%s%" PetscInt_FMT, l ? "-" : "", w[l]));
    PetscCall(PetscStrlcat(arch, item, len));
  }
  PetscFunctionReturn(0);
}

/* Row 9: products SLEPc needs for the top/bottom-k triplets of J_T. */
static PetscErrorCode BenchJac(SpdTrainer tr, const char arch[], PetscInt n, PetscInt k, const char which[], PetscBool dense)
{
  const SpdTrainConfig *cfg;
  SpdMLP                mlp;
  MPI_Comm              comm;
  Mat                   J;
  PetscInt              P, ntry = 0;
  double                t0, tcreate, tprod = 0;
  SpdSVDWhich           w[2];
  const char           *wname[2] = { "top", "bottom" };
  SpdTriplets           trip[2];
  PetscBool             have[2] = { PETSC_FALSE, PETSC_FALSE };

  PetscFunctionBegin;
  PetscCall(SpdTrainerGetConfig(tr, &cfg));
  PetscCall(SpdTrainerGetModel(tr, &mlp));
  PetscCall(SpdMLPGetComm(mlp, &comm));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCallMPI(MPI_Barrier(comm));
  t0 = MPI_Wtime();
  PetscCall(SpdMatCreateTrainingJacobian(tr, 1, &J));
  PetscCall(BenchMaxTime(comm, t0, &tcreate));
  { /* the time of one forward product (median of 3), for the cost of the dense route */
    Vec    x, y;
    double t[3];
    PetscCall(MatCreateVecs(J, &x, &y));
    PetscCall(VecSet(x, 1.0 / PetscSqrtReal((PetscReal)P)));
    for (int i = 0; i < 3; i++) {
      PetscCallMPI(MPI_Barrier(comm));
      t0 = MPI_Wtime();
      PetscCall(MatMult(J, x, y));
      PetscCall(BenchMaxTime(comm, t0, &t[i]));
    }
    tprod = PetscMax(PetscMin(t[0], t[1]), PetscMin(PetscMax(t[0], t[1]), t[2]));
    PetscCall(VecDestroy(&x));
    PetscCall(VecDestroy(&y));
  }
  if (!strcmp(which, "top") || !strcmp(which, "both")) w[ntry++] = SPD_SVD_TOP;
  if (!strcmp(which, "bottom") || !strcmp(which, "both")) w[ntry++] = SPD_SVD_BOTTOM;
  for (PetscInt i = 0; i < ntry; i++) {
    SpdTriplets *tp = &trip[w[i]];
    double       dt, cpu0 = BenchCPU(), share;
    PetscReal    maxres = 0;

    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    PetscCall(SpdSVDExtreme(J, w[i], k, PETSC_FALSE, w[i] == SPD_SVD_TOP ? "top_" : "bottom_", tp));
    share = (BenchCPU() - cpu0);
    PetscCall(BenchMaxTime(comm, t0, &dt));
    share /= dt;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &share, 1, MPI_DOUBLE, MPI_MIN, comm));
    have[w[i]] = PETSC_TRUE;
    for (PetscInt j = 0; j < tp->nconv; j++) maxres = PetscMax(maxres, tp->residual[j] / PetscMax(tp->sigma[0], tp->sigma[tp->nconv - 1]));
    PetscCall(PetscPrintf(comm, "%s-%" PetscInt_FMT " of J_T (P = %" PetscInt_FMT "): %" PetscInt_FMT " products, %" PetscInt_FMT "/%" PetscInt_FMT " converged, sigma %.6g ... %.6g, %.2f s\n", wname[w[i]], k, P, tp->nprod, tp->nconv, k, tp->nconv ? (double)tp->sigma[0] : -1.0,
        tp->nconv ? (double)tp->sigma[tp->nconv - 1] : -1.0, dt));
    PetscCall(PetscPrintf(comm,
        "RESULT mode=jac which=%s arch=%s P=%" PetscInt_FMT " n=%" PetscInt_FMT " T=%" PetscInt_FMT " lr=%g k=%" PetscInt_FMT " nprod=%" PetscInt_FMT " resprod=%" PetscInt_FMT " nconv=%" PetscInt_FMT " its=%" PetscInt_FMT " solver=%s tol=%.1e time=%.4f create=%.4f tprod=%.5f sigma1=%.10g sigmak=%.10g maxrelres=%.2e ratio=%.5f cpu_share=%.3f\n",
        wname[w[i]], arch, P, n, cfg->steps, (double)cfg->lr, k, tp->nprod, 2 * tp->nconv, tp->nconv, tp->its, tp->solver, (double)tp->tol, dt, tcreate, tprod, tp->nconv ? (double)tp->sigma[0] : -1.0, tp->nconv ? (double)tp->sigma[tp->nconv - 1] : -1.0, (double)maxres,
        (double)tp->nprod / (double)P, share));
  }
  if (dense) { /* the dense route: P forward products into a MATMPIDENSE, then ScaLAPACK */
    Mat        D;
    Vec        e, col;
    PetscInt   lo, hi;
    PetscReal *sig;
    double     tcols, tsvd, dtop = 0, dbot = 0;

    PetscCall(MatCreateVecs(J, &e, NULL));
    PetscCall(VecGetOwnershipRange(e, &lo, &hi));
    PetscCall(MatCreateDense(comm, hi - lo, hi - lo, P, P, NULL, &D));
    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    for (PetscInt j = 0; j < P; j++) {
      PetscCall(VecSet(e, 0.0));
      if (j >= lo && j < hi) PetscCall(VecSetValue(e, j, 1.0, INSERT_VALUES));
      PetscCall(VecAssemblyBegin(e));
      PetscCall(VecAssemblyEnd(e));
      PetscCall(MatDenseGetColumnVecWrite(D, j, &col));
      PetscCall(MatMult(J, e, col));
      PetscCall(MatDenseRestoreColumnVecWrite(D, j, &col));
    }
    PetscCall(MatAssemblyBegin(D, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(D, MAT_FINAL_ASSEMBLY));
    PetscCall(BenchMaxTime(comm, t0, &tcols));
    PetscCall(PetscMalloc1(P, &sig));
    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    PetscCall(SpdSVDFull(D, sig));
    PetscCall(BenchMaxTime(comm, t0, &tsvd));
    if (have[SPD_SVD_TOP])
      for (PetscInt j = 0; j < trip[SPD_SVD_TOP].nconv; j++) dtop = PetscMax(dtop, PetscAbsReal(trip[SPD_SVD_TOP].sigma[j] - sig[j]) / sig[j]);
    if (have[SPD_SVD_BOTTOM])
      for (PetscInt j = 0; j < trip[SPD_SVD_BOTTOM].nconv; j++) dbot = PetscMax(dbot, PetscAbsReal(trip[SPD_SVD_BOTTOM].sigma[j] - sig[P - 1 - j]) / sig[P - 1 - j]);
    PetscCall(PetscPrintf(comm, "dense J_T: %" PetscInt_FMT " products %.2f s, SpdSVDFull %.2f s; sigma_max %.10g sigma_min %.10g; Krylov vs dense: top %.1e bottom %.1e\n", P, tcols, tsvd, (double)sig[0], (double)sig[P - 1], dtop, dbot));
    PetscCall(PetscPrintf(comm, "RESULT mode=dense arch=%s P=%" PetscInt_FMT " cols=%.4f svd=%.4f sigmamax=%.10g sigmamin=%.10g reltop=%.2e relbottom=%.2e\n", arch, P, tcols, tsvd, (double)sig[0], (double)sig[P - 1], dtop, dbot));
    PetscCall(PetscFree(sig));
    PetscCall(MatDestroy(&D));
    PetscCall(VecDestroy(&e));
  }
  for (PetscInt i = 0; i < 2; i++)
    if (have[i]) PetscCall(SpdTripletsDestroy(&trip[i]));
  PetscCall(MatDestroy(&J));
  PetscFunctionReturn(0);
}

/* Row 10: one J_T product vs T Hessian-vector products at the same iterates. */
static PetscErrorCode BenchCost(SpdTrainer tr, const char arch[], PetscInt every2, PetscInt repeat)
{
  const SpdTrainConfig *cfg;
  SpdMLP                mlp;
  MPI_Comm              comm;
  Mat                   J1, J2;
  Vec                   x, y;
  PetscInt              P, T, t;
  PetscReal            *iter, *theta, *m, *v, *hv;
  double                best[5], cbest[5], bestsp = PETSC_MAX_REAL, t0, dt, c0, dc, cpu0, share;
  const char           *names[5] = { "hvps", "mult1", "multt1", "mult2", "multt2" };

  PetscFunctionBegin;
  PetscCall(SpdTrainerGetConfig(tr, &cfg));
  PetscCall(SpdTrainerGetModel(tr, &mlp));
  PetscCall(SpdMLPGetComm(mlp, &comm));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  T = cfg->steps;
  /* the iterates theta_0 .. theta_{T-1}, by the trainer itself (not timed) */
  PetscCall(PetscMalloc3((size_t)T * P, &iter, P, &v, P, &hv));
  for (PetscInt s = 0; s < T; s++) {
    PetscCall(SpdTrainerGetState(tr, &t, &theta, &m));
    PetscCall(PetscArraycpy(iter + (size_t)s * P, theta, P));
    PetscCall(SpdTrainerStep(tr));
  }
  PetscCall(SpdTrainerSetState(tr, 0, iter, NULL));
  PetscCall(SpdMatCreateTrainingJacobian(tr, 1, &J1));
  PetscCall(SpdMatCreateTrainingJacobian(tr, every2, &J2));
  PetscCall(MatCreateVecs(J1, &x, &y));
  PetscCall(VecSetRandom(x, NULL));
  for (PetscInt j = 0; j < P; j++) v[j] = PetscSinReal(0.37 * (PetscReal)j + 1.0);
  for (int i = 0; i < 5; i++) best[i] = cbest[i] = PETSC_MAX_REAL;
  cpu0  = BenchCPU();
  share = MPI_Wtime();
  for (PetscInt r = 0; r < repeat; r++) {
    /* T Hessian-vector products by hand: theta_t, the step's batch, SetPoint, product */
    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    c0 = BenchCPU();
    PetscCall(SpdMLPGetParameters(mlp, &theta));
    for (PetscInt s = 0; s < T; s++) {
      SpdData bd;
      PetscCall(PetscArraycpy(theta, iter + (size_t)s * P, P));
      PetscCall(SpdTrainerGetBatchData(tr, s, &bd));
      PetscCall(SpdMLPSetPoint(mlp, bd));
      PetscCall(SpdMLPCurvatureApply(mlp, SPD_CURV_HESSIAN, v, hv, PETSC_FALSE));
    }
    PetscCall(BenchMaxTime(comm, t0, &dt));
    PetscCall(BenchMaxCPU(comm, c0, &dc));
    best[0]  = PetscMin(best[0], dt);
    cbest[0] = PetscMin(cbest[0], dc);
    /* the same without the products: how much of a step's tangent is setting the point */
    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    for (PetscInt s = 0; s < T; s++) {
      SpdData bd;
      PetscCall(PetscArraycpy(theta, iter + (size_t)s * P, P));
      PetscCall(SpdTrainerGetBatchData(tr, s, &bd));
      PetscCall(SpdMLPSetPoint(mlp, bd));
    }
    PetscCall(BenchMaxTime(comm, t0, &dt));
    bestsp = PetscMin(bestsp, dt);
    PetscCall(PetscArraycpy(theta, iter, P)); /* the trainer back at theta_0 */
    for (int i = 1; i < 5; i++) {
      Mat A = i < 3 ? J1 : J2;
      PetscCallMPI(MPI_Barrier(comm));
      t0 = MPI_Wtime();
      c0 = BenchCPU();
      if (i % 2)
        PetscCall(MatMult(A, x, y));
      else
        PetscCall(MatMultTranspose(A, x, y));
      PetscCall(BenchMaxTime(comm, t0, &dt));
      PetscCall(BenchMaxCPU(comm, c0, &dc));
      best[i]  = PetscMin(best[i], dt);
      cbest[i] = PetscMin(cbest[i], dc);
    }
  }
  share = (BenchCPU() - cpu0) / (MPI_Wtime() - share);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &share, 1, MPI_DOUBLE, MPI_MIN, comm));
  PetscCall(PetscPrintf(comm, "  T SetPoints alone %.2f ms\n", 1e3 * bestsp));
  for (int i = 0; i < 5; i++) PetscCall(PetscPrintf(comm, "  %-7s %9.2f ms  (%.3fx the T = %" PetscInt_FMT " Hessian-vector products; CPU time %.3fx)\n", names[i], 1e3 * best[i], best[i] / best[0], T, cbest[i] / cbest[0]));
  PetscCall(PetscPrintf(comm, "RESULT mode=cost arch=%s P=%" PetscInt_FMT " T=%" PetscInt_FMT " batch=%" PetscInt_FMT " momentum=%s every2=%" PetscInt_FMT " hvps=%.5f setpoints=%.5f mult1=%.5f multt1=%.5f mult2=%.5f multt2=%.5f cpu_hvps=%.5f cpu_mult1=%.5f cpu_multt1=%.5f cpu_mult2=%.5f cpu_multt2=%.5f repeat=%" PetscInt_FMT " cpu_share=%.3f\n", arch, P, T, cfg->batch,
      SpdMomenta[cfg->momentum], every2, best[0], bestsp, best[1], best[2], best[3], best[4], cbest[0], cbest[1], cbest[2], cbest[3], cbest[4], repeat, share));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(MatDestroy(&J1));
  PetscCall(MatDestroy(&J2));
  PetscCall(PetscFree3(iter, v, hv));
  PetscFunctionReturn(0);
}

/* Row 11: steps per second of SpdTrainerStep. */
static PetscErrorCode BenchThroughput(SpdTrainer tr, const char arch[], PetscInt L, const PetscInt w[], PetscInt timed, PetscInt repeat, PetscInt dg)
{
  const SpdTrainConfig *cfg;
  SpdMLP                mlp;
  MPI_Comm              comm;
  PetscMPIInt           size;
  double                best = PETSC_MAX_REAL, t0, dt, F = 0, f1, gf = 0, flops, cpu0, wall0, share;
  PetscReal             loss = 0, gn;

  PetscFunctionBegin;
  PetscCall(SpdTrainerGetConfig(tr, &cfg));
  PetscCall(SpdTrainerGetModel(tr, &mlp));
  PetscCall(SpdMLPGetComm(mlp, &comm));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  for (PetscInt s = 0; s < 5; s++) PetscCall(SpdTrainerStep(tr)); /* warm-up: first allocations */
  cpu0  = BenchCPU();
  wall0 = MPI_Wtime();
  for (PetscInt r = 0; r < repeat; r++) {
    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    for (PetscInt s = 0; s < timed; s++) PetscCall(SpdTrainerStep(tr));
    PetscCall(BenchMaxTime(comm, t0, &dt));
    best = PetscMin(best, dt);
  }
  share = (BenchCPU() - cpu0) / (MPI_Wtime() - wall0);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &share, 1, MPI_DOUBLE, MPI_MIN, comm));
  PetscCall(SpdTrainerGetStepStats(tr, &loss, &gn));
  for (PetscInt l = 0; l < L; l++) F += (double)w[l] * w[l + 1];
  f1    = (double)w[0] * w[1];
  flops = 2.0 * (3 * F - f1) * (double)cfg->batch; /* per step, all ranks together */
  if (dg > 0) PetscCall(BenchDgemm(dg, &gf));
  PetscCall(PetscPrintf(comm, "%" PetscInt_FMT " steps in %.3f s: %.1f steps/s; %.3f Gflop per step = %.2f GFLOP/s per rank; dgemm %" PetscInt_FMT "^3 %.2f GFLOP/s; last loss %.4f\n", timed, best, timed / best, flops / 1e9, flops / (best / timed) / 1e9 / size, dg, gf, (double)loss));
  PetscCall(PetscPrintf(comm, "RESULT mode=throughput side=specdyn arch=%s ranks=%d batch=%" PetscInt_FMT " steps=%" PetscInt_FMT " time=%.5f steps_per_s=%.3f step_gflop=%.6f dgemm_n=%" PetscInt_FMT " dgemm_gflops=%.3f loss=%.6f cpu_share=%.3f\n", arch, (int)size, cfg->batch, timed, best, timed / best,
      flops / 1e9, dg, gf, (double)loss, share));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char           mode[16] = "jac", which[16] = "top", dsrc[16] = "mixture", arch[256];
  char           images[PETSC_MAX_PATH_LEN] = FMNIST "train-images-idx3-ubyte.gz", labels[PETSC_MAX_PATH_LEN] = FMNIST "train-labels-idx1-ubyte.gz";
  PetscInt       w[SPD_MLP_MAX_LAYERS + 1] = { 64, 42, 42, 10 }, nw = SPD_MLP_MAX_LAYERS + 1, L, n = 256, steps = 20, batch = 0, k = 32, every2 = 5, repeat = 3, dg = 0, seed = 1, P;
  PetscReal      lr = 0.1, snr = 3.0, beta = 0.9, a[SPD_MLP_MAX_LAYERS], c[SPD_MLP_MAX_LAYERS];
  PetscBool      dense = PETSC_FALSE, warch, mom = PETSC_FALSE;
  SpdActivation  act[SPD_MLP_MAX_LAYERS];
  PetscBool      bias[SPD_MLP_MAX_LAYERS];
  MPI_Comm       comm;
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainConfig cfg;
  SpdTrainer     tr;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscOptionsBegin(comm, NULL, "bench_train", NULL);
  PetscCall(PetscOptionsString("-mode", "jac, cost or throughput", NULL, mode, mode, sizeof(mode), NULL));
  PetscCall(PetscOptionsIntArray("-arch", "widths d,h,...,c", NULL, w, &nw, &warch));
  PetscCall(PetscOptionsString("-data", "mixture or fmnist", NULL, dsrc, dsrc, sizeof(dsrc), NULL));
  PetscCall(PetscOptionsInt("-n", "samples", NULL, n, &n, NULL));
  PetscCall(PetscOptionsReal("-snr", "Gaussian mixture: distance of the class means", NULL, snr, &snr, NULL));
  PetscCall(PetscOptionsInt("-steps", "T (jac, cost) or timed steps (throughput)", NULL, steps, &steps, NULL));
  PetscCall(PetscOptionsReal("-lr", "learning rate", NULL, lr, &lr, NULL));
  PetscCall(PetscOptionsInt("-batch", "minibatch (0: full batch)", NULL, batch, &batch, NULL));
  PetscCall(PetscOptionsBool("-momentum", "heavy-ball momentum", NULL, mom, &mom, NULL));
  PetscCall(PetscOptionsReal("-beta", "momentum coefficient", NULL, beta, &beta, NULL));
  PetscCall(PetscOptionsInt("-seed", "initialization, data and shuffling", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsInt("-k", "triplets (jac)", NULL, k, &k, NULL));
  PetscCall(PetscOptionsString("-which", "top, bottom or both (jac)", NULL, which, which, sizeof(which), NULL));
  PetscCall(PetscOptionsBool("-dense", "also form the dense J_T and its full SVD (jac)", NULL, dense, &dense, NULL));
  PetscCall(PetscOptionsInt("-every2", "snapshot period of the recomputing operator (cost)", NULL, every2, &every2, NULL));
  PetscCall(PetscOptionsInt("-repeat", "rounds, best reported (cost, throughput)", NULL, repeat, &repeat, NULL));
  PetscCall(PetscOptionsInt("-dgemm", "order of the square dgemm for the peak (throughput; 0: none)", NULL, dg, &dg, NULL));
  PetscOptionsEnd();
  PetscCheck(!strcmp(mode, "jac") || !strcmp(mode, "cost") || !strcmp(mode, "throughput"), comm, PETSC_ERR_ARG_WRONG, "-mode %s: use jac, cost or throughput", mode);
  PetscCheck(!strcmp(which, "top") || !strcmp(which, "bottom") || !strcmp(which, "both"), comm, PETSC_ERR_ARG_WRONG, "-which %s: use top, bottom or both", which);
  PetscCheck(!strcmp(dsrc, "mixture") || !strcmp(dsrc, "fmnist"), comm, PETSC_ERR_ARG_WRONG, "-data %s: use mixture or fmnist", dsrc);
  if (!warch) nw = 4;
  PetscCheck(nw >= 2, comm, PETSC_ERR_ARG_WRONG, "-arch needs at least the input and output widths, e.g. 64,42,42,10");
  PetscCheck(repeat >= 1 && steps >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-repeat %" PetscInt_FMT " -steps %" PetscInt_FMT ": give >= 1", repeat, steps);
  L = nw - 1;

  if (!strcmp(dsrc, "fmnist"))
    PetscCall(SpdDataLoadIDX(comm, images, labels, n, &data));
  else
    PetscCall(SpdDataGaussianMixture(comm, n, w[0], w[L], snr, seed, &data));
  PetscCheck(data->d == w[0], comm, PETSC_ERR_ARG_SIZ, "-arch starts with %" PetscInt_FMT " but the data have %" PetscInt_FMT " features", w[0], data->d);
  for (PetscInt l = 0; l < L; l++) {
    act[l]  = l < L - 1 ? SPD_ACT_RELU : SPD_ACT_IDENTITY;
    bias[l] = PETSC_TRUE;
  }
  PetscCall(SpdMLPCreate(comm, L, w, act, bias, SPD_LOSS_CROSS_ENTROPY, &mlp));
  PetscCall(SpdParameterizationMultipliers(SPD_PARAM_STANDARD, L, w, NULL, NULL, a, c));
  PetscCall(SpdMLPSetMultipliers(mlp, a, c));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(BenchArchString(L, w, arch, sizeof(arch)));
  PetscCall(SpdTrainConfigDefaults(&cfg));
  cfg.lr       = lr;
  cfg.steps    = steps;
  cfg.batch    = batch;
  cfg.seed     = seed;
  cfg.momentum = mom ? SPD_MOMENTUM_HEAVY_BALL : SPD_MOMENTUM_NONE;
  cfg.beta     = beta;
  PetscCall(SpdTrainerCreate(mlp, data, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  PetscCall(PetscPrintf(comm, "model %s relu + cross-entropy, %" PetscInt_FMT " parameters; %" PetscInt_FMT " %s samples; lr %g, batch %" PetscInt_FMT ", momentum %s, T = %" PetscInt_FMT "\n", arch, P, data->n, dsrc, (double)lr, batch, SpdMomenta[cfg.momentum], steps));

  if (!strcmp(mode, "jac"))
    PetscCall(BenchJac(tr, arch, data->n, k, which, dense));
  else if (!strcmp(mode, "cost"))
    PetscCall(BenchCost(tr, arch, every2, repeat));
  else
    PetscCall(BenchThroughput(tr, arch, L, w, steps, repeat, dg));

  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscCall(SpdFinalize());
  return 0;
}
