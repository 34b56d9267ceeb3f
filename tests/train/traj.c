static const char help[] = "Training trajectories for the PyTorch reference (tests/train/ref.py): for each\n"
                           "case, theta_0 (safetensors F64), the data, every step's minibatch indices, the\n"
                           "per-step losses and learning rates and theta_T; plus label corruption.\n"
                           "usage: train_traj OUTDIR\n";

#include "../common/testutil.h"
#include <specdyn/train.h>
#include <specdyn/private/h5util.h>

/* All samples of a data set on every rank: X (n x d), labels (int64) or Y (n x c). */
static PetscErrorCode GatherData(SpdData D, PetscReal **X, PetscInt64 **lab, PetscReal **Y)
{
  PetscMPIInt size, *cnt, *dsp;
  PetscInt    k = D->labels ? 1 : D->c;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(D->comm, &size));
  PetscCall(PetscMalloc2(size, &cnt, size, &dsp));
  PetscCall(PetscMalloc1(D->n * D->d, X));
  {
    PetscMPIInt c = (PetscMPIInt)(D->nlocal * D->d), s = (PetscMPIInt)(D->start * D->d);
    PetscCallMPI(MPI_Allgather(&c, 1, MPI_INT, cnt, 1, MPI_INT, D->comm));
    PetscCallMPI(MPI_Allgather(&s, 1, MPI_INT, dsp, 1, MPI_INT, D->comm));
    PetscCallMPI(MPI_Allgatherv(D->X, c, MPIU_REAL, *X, cnt, dsp, MPIU_REAL, D->comm));
  }
  {
    PetscMPIInt c = (PetscMPIInt)(D->nlocal * k), s = (PetscMPIInt)(D->start * k);
    PetscCallMPI(MPI_Allgather(&c, 1, MPI_INT, cnt, 1, MPI_INT, D->comm));
    PetscCallMPI(MPI_Allgather(&s, 1, MPI_INT, dsp, 1, MPI_INT, D->comm));
    if (D->labels) {
      PetscInt64 *l;
      PetscCall(PetscMalloc1(D->nlocal + 1, &l));
      for (PetscInt i = 0; i < D->nlocal; i++) l[i] = D->labels[i];
      PetscCall(PetscMalloc1(D->n, lab));
      PetscCallMPI(MPI_Allgatherv(l, c, MPIU_INT64, *lab, cnt, dsp, MPIU_INT64, D->comm));
      PetscCall(PetscFree(l));
      *Y = NULL;
    } else {
      PetscCall(PetscMalloc1(D->n * k, Y));
      PetscCallMPI(MPI_Allgatherv(D->Y, c, MPIU_REAL, *Y, cnt, dsp, MPIU_REAL, D->comm));
      *lab = NULL;
    }
  }
  PetscCall(PetscFree2(cnt, dsp));
  PetscFunctionReturn(0);
}

typedef struct {
  SpdActivation       act;
  SpdLoss             loss;
  PetscBool           regression; /* teacher-student targets */
  SpdParameterization param;
  SpdMomentum         mom;
  PetscInt            batch, steps, warmup, step_every;
  SpdLRSchedule       sched;
  PetscReal           lr, wd, beta, gamma, lr_min;
  PetscBool           decoupled;
} Case;

static PetscErrorCode RunCase(MPI_Comm comm, const char outdir[], PetscInt id, const Case *c)
{
  const PetscInt      L = 3, width[4] = { 8, 16, 16, 3 };
  const SpdActivation act[2]  = { c->act, c->act };
  const PetscBool     bias[3] = { PETSC_TRUE, PETSC_TRUE, PETSC_TRUE };
  PetscReal           a[3], cm[3], *X, *Y, *theta, *losses, *lrs;
  PetscInt64         *lab, *bidx;
  SpdData             D;
  SpdMLP              mlp;
  SpdTrainer          tr;
  SpdTrainConfig      cfg;
  PetscInt            P, n = 60, maxb;
  char                path[PETSC_MAX_PATH_LEN], json[1024];
  PetscMPIInt         rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (c->regression)
    PetscCall(SpdDataTeacherStudentNoise(comm, n, 8, 3, 4.0, 11, 12, &D));
  else
    PetscCall(SpdDataGaussianMixture(comm, n, 8, 3, 2.0, 5, &D));
  PetscCall(SpdMLPCreate(comm, L, width, act, bias, c->loss, &mlp));
  PetscCall(SpdParameterizationMultipliers(c->param, L, width, NULL, NULL, a, cm));
  PetscCall(SpdMLPSetMultipliers(mlp, a, cm));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(SpdTrainConfigDefaults(&cfg));
  cfg.lr           = c->lr;
  cfg.schedule     = c->sched;
  cfg.warmup       = c->warmup;
  cfg.step_every   = c->step_every;
  cfg.step_gamma   = c->gamma;
  cfg.lr_min       = c->lr_min;
  cfg.momentum     = c->mom;
  cfg.beta         = c->beta;
  cfg.weight_decay = c->wd;
  cfg.decoupled    = c->decoupled;
  cfg.batch        = c->batch;
  cfg.steps        = c->steps;
  cfg.seed         = 100 + id;
  cfg.param        = c->param;
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/case%" PetscInt_FMT "_theta0.safetensors", outdir, id));
  PetscCall(SpdMLPSaveSafetensors(mlp, path, PETSC_FALSE, 0, NULL, NULL));
  maxb = c->batch > 0 && c->batch < n ? c->batch : n;
  PetscCall(PetscMalloc3(c->steps * maxb + 1, &bidx, c->steps + 1, &losses, c->steps + 1, &lrs));
  for (PetscInt t = 0; t < c->steps; t++) {
    PetscInt        nb;
    const PetscInt *idx;

    PetscCall(SpdTrainerGetBatch(tr, t, &nb, &idx));
    for (PetscInt j = 0; j < maxb; j++) bidx[t * maxb + j] = j < nb ? idx[j] : -1;
    PetscCall(SpdTrainerGetLearningRate(tr, t, &lrs[t]));
    PetscCall(SpdTrainerStep(tr));
    PetscCall(SpdTrainerGetStepStats(tr, &losses[t], NULL));
  }
  PetscCall(SpdTrainerGetState(tr, NULL, &theta, NULL));
  PetscCall(GatherData(D, &X, &lab, &Y));
  PetscCall(PetscSNPrintf(json, sizeof(json),
      "{\"act\": \"%s\", \"loss\": \"%s\", \"param\": \"%s\", \"momentum\": \"%s\", \"batch\": %" PetscInt_FMT ", \"steps\": %" PetscInt_FMT ", \"warmup\": %" PetscInt_FMT ", \"step_every\": %" PetscInt_FMT ", \"schedule\": \"%s\", \"lr\": %.17g, \"wd\": %.17g, \"beta\": %.17g, \"gamma\": %.17g, \"lr_min\": %.17g, \"decoupled\": %d, \"seed\": %" PetscInt64_FMT ", \"widths\": [8, 16, 16, 3]}",
      SpdActivations[c->act], SpdLosses[c->loss], SpdParameterizations[c->param], SpdMomenta[c->mom], c->batch, c->steps, c->warmup, c->step_every, SpdLRSchedules[c->sched], (double)c->lr, (double)c->wd, (double)c->beta, (double)c->gamma, (double)c->lr_min, (int)c->decoupled, cfg.seed));
  if (rank == 0) {
    hid_t f;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/case%" PetscInt_FMT ".h5", outdir, id));
    SpdCallH5Return(f, H5Fcreate, (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    PetscCall(SpdH5WriteAttrString(f, "config", json));
    PetscCall(SpdH5WriteArray(f, "X", 2, (hsize_t[]) { (hsize_t)(n), (hsize_t)(8) }, H5T_NATIVE_DOUBLE, X));
    if (lab)
      PetscCall(SpdH5WriteArray(f, "labels", 1, (hsize_t[]) { (hsize_t)(n), (hsize_t)(0) }, H5T_NATIVE_INT64, lab));
    else
      PetscCall(SpdH5WriteArray(f, "Y", 2, (hsize_t[]) { (hsize_t)(n), (hsize_t)(3) }, H5T_NATIVE_DOUBLE, Y));
    PetscCall(SpdH5WriteArray(f, "batch_idx", 2, (hsize_t[]) { (hsize_t)(c->steps), (hsize_t)(maxb) }, H5T_NATIVE_INT64, bidx));
    PetscCall(SpdH5WriteArray(f, "losses", 1, (hsize_t[]) { (hsize_t)(c->steps), (hsize_t)(0) }, H5T_NATIVE_DOUBLE, losses));
    PetscCall(SpdH5WriteArray(f, "lrs", 1, (hsize_t[]) { (hsize_t)(c->steps), (hsize_t)(0) }, H5T_NATIVE_DOUBLE, lrs));
    PetscCall(SpdH5WriteArray(f, "theta_T", 1, (hsize_t[]) { (hsize_t)(P), (hsize_t)(0) }, H5T_NATIVE_DOUBLE, theta));
    SpdCallH5(H5Fclose, (f));
  }
  PetscCall(PetscFree(X));
  PetscCall(PetscFree(Y));
  PetscCall(PetscFree(lab));
  PetscCall(PetscFree3(bidx, losses, lrs));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&D));
  PetscFunctionReturn(0);
}

/* Labels of a mixture before and after corruption (wrong labels, random labels). */
static PetscErrorCode Corrupt(MPI_Comm comm, const char outdir[])
{
  SpdData     D;
  PetscReal  *X, *Y;
  PetscInt64 *l0, *l1, *l2;
  PetscMPIInt rank;
  PetscInt    n = 2000;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(SpdDataGaussianMixture(comm, n, 10, 7, 1.0, 3, &D));
  PetscCall(GatherData(D, &X, &l0, &Y));
  PetscCall(PetscFree(X));
  PetscCall(SpdDataCorruptLabels(D, 0.3, PETSC_FALSE, 77));
  PetscCall(GatherData(D, &X, &l1, &Y));
  PetscCall(PetscFree(X));
  PetscCall(SpdDataDestroy(&D));
  PetscCall(SpdDataGaussianMixture(comm, n, 10, 7, 1.0, 3, &D));
  PetscCall(SpdDataCorruptLabels(D, 0.45, PETSC_TRUE, 78));
  PetscCall(GatherData(D, &X, &l2, &Y));
  PetscCall(PetscFree(X));
  PetscCall(SpdDataDestroy(&D));
  if (rank == 0) {
    hid_t f;
    char  path[PETSC_MAX_PATH_LEN];
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/corrupt.h5", outdir));
    SpdCallH5Return(f, H5Fcreate, (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    PetscCall(SpdH5WriteArray(f, "clean", 1, (hsize_t[]) { (hsize_t)(n), (hsize_t)(0) }, H5T_NATIVE_INT64, l0));
    PetscCall(SpdH5WriteArray(f, "wrong_0.3_77", 1, (hsize_t[]) { (hsize_t)(n), (hsize_t)(0) }, H5T_NATIVE_INT64, l1));
    PetscCall(SpdH5WriteArray(f, "random_0.45_78", 1, (hsize_t[]) { (hsize_t)(n), (hsize_t)(0) }, H5T_NATIVE_INT64, l2));
    SpdCallH5(H5Fclose, (f));
  }
  PetscCall(PetscFree(l0));
  PetscCall(PetscFree(l1));
  PetscCall(PetscFree(l2));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  /* act, loss, regression, param, momentum, batch, steps, warmup, step_every, sched, lr, wd, beta, gamma, lr_min, decoupled */
  const Case cases[] = {
    { SPD_ACT_TANH, SPD_LOSS_CROSS_ENTROPY, PETSC_FALSE, SPD_PARAM_STANDARD, SPD_MOMENTUM_NONE, 0, 25, 0, 1, SPD_LR_CONSTANT, 0.5, 0, 0.9, 0.1, 0, PETSC_FALSE },
    { SPD_ACT_RELU, SPD_LOSS_CROSS_ENTROPY, PETSC_FALSE, SPD_PARAM_STANDARD, SPD_MOMENTUM_HEAVY_BALL, 16, 30, 3, 7, SPD_LR_STEP, 0.2, 1e-3, 0.9, 0.5, 0, PETSC_FALSE },
    { SPD_ACT_TANH, SPD_LOSS_CROSS_ENTROPY, PETSC_FALSE, SPD_PARAM_STANDARD, SPD_MOMENTUM_NESTEROV, 13, 30, 4, 1, SPD_LR_COSINE, 0.3, 0.01, 0.8, 0.1, 0.01, PETSC_TRUE },
    { SPD_ACT_RELU, SPD_LOSS_MSE, PETSC_TRUE, SPD_PARAM_NTK, SPD_MOMENTUM_HEAVY_BALL, 20, 30, 0, 1, SPD_LR_CONSTANT, 0.05, 1e-2, 0.5, 0.1, 0, PETSC_TRUE },
    { SPD_ACT_TANH, SPD_LOSS_MSE, PETSC_FALSE, SPD_PARAM_MUP, SPD_MOMENTUM_NESTEROV, 0, 25, 0, 1, SPD_LR_COSINE, 0.1, 1e-2, 0.9, 0.1, 0.0, PETSC_FALSE },
    { SPD_ACT_RELU, SPD_LOSS_CROSS_ENTROPY, PETSC_FALSE, SPD_PARAM_NTK, SPD_MOMENTUM_NONE, 7, 40, 0, 1, SPD_LR_CONSTANT, 0.3, 5e-3, 0.9, 0.1, 0, PETSC_TRUE },
  };
  PetscInt ncase = (PetscInt)(sizeof(cases) / sizeof(cases[0]));

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCheck(argc >= 2, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "usage: train_traj OUTDIR");
  for (PetscInt i = 0; i < ncase; i++) PetscCall(RunCase(PETSC_COMM_WORLD, argv[1], i, &cases[i]));
  PetscCall(Corrupt(PETSC_COMM_WORLD, argv[1]));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "wrote %" PetscInt_FMT " cases to %s\n", ncase, argv[1]));
  PetscCall(SpdFinalize());
  return 0;
}
