/* Shared helpers of the training-Jacobian tests: tiny nets and runs, the conversion
   between distributed vectors and replicated arrays, the whole run as a function of
   theta_0 (for finite differences), and dense operators built column by column. */
#pragma once
#include "../common/testutil.h"

typedef struct {
  const char   *name;
  SpdLoss       loss;
  SpdActivation act;
  SpdMomentum   momentum;
  PetscReal     lr, beta, wd;
  PetscBool     decoupled;
  PetscInt      batch, steps, warmup;
  SpdLRSchedule schedule;
} TJCase;

/* A tiny MLP (widths w[0..L]) and its data: a 3-class Gaussian mixture for cross-entropy,
   teacher-student regression for MSE (n samples, generated per sample: the same data for
   any rank count). */
static inline PetscErrorCode TJMakeProblem(MPI_Comm comm, PetscInt L, const PetscInt w[], SpdActivation act, SpdLoss loss, PetscInt n, SpdMLP *mlp, SpdData *data)
{
  SpdActivation acts[8];
  PetscBool     bias[8];

  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < L; l++) {
    acts[l] = act;
    bias[l] = PETSC_TRUE;
  }
  PetscCall(SpdMLPCreate(comm, L, w, acts, bias, loss, mlp));
  if (loss == SPD_LOSS_CROSS_ENTROPY)
    PetscCall(SpdDataGaussianMixture(comm, n, w[0], w[L], 1.5, 11, data));
  else
    PetscCall(SpdDataTeacherStudent(comm, n, w[0], w[L], 4.0, 12, data));
  PetscFunctionReturn(0);
}

static inline PetscErrorCode TJMakeTrainer(const TJCase *tc, SpdMLP mlp, SpdData data, SpdTrainer *tr)
{
  SpdTrainConfig cfg;

  PetscFunctionBeginUser;
  PetscCall(SpdTrainConfigDefaults(&cfg));
  cfg.lr           = tc->lr;
  cfg.momentum     = tc->momentum;
  cfg.beta         = tc->beta;
  cfg.weight_decay = tc->wd;
  cfg.decoupled    = tc->decoupled;
  cfg.batch        = tc->batch;
  cfg.steps        = tc->steps;
  cfg.warmup       = tc->warmup;
  cfg.schedule     = tc->schedule;
  cfg.lr_min       = 0.2 * tc->lr;
  cfg.step_every   = 3;
  cfg.step_gamma   = 0.5;
  cfg.seed         = 5;
  PetscCall(SpdTrainerCreate(mlp, data, &cfg, tr));
  PetscCall(SpdTrainerInitialize(*tr));
  PetscFunctionReturn(0);
}

/* Set the local rows of x from a replicated array. */
static inline PetscErrorCode TJVecSetFull(Vec x, const PetscReal full[])
{
  PetscScalar *xa;
  PetscInt     lo, hi;

  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(x, &lo, &hi));
  PetscCall(VecGetArray(x, &xa));
  for (PetscInt j = lo; j < hi; j++) xa[j - lo] = full[j];
  PetscCall(VecRestoreArray(x, &xa));
  PetscFunctionReturn(0);
}

/* theta_T of the run from (0, theta0, m_0 = 0); the trainer is left at (0, theta0). */
static inline PetscErrorCode TJRun(SpdTrainer tr, const PetscReal theta0[], PetscReal thetaT[])
{
  const SpdTrainConfig *cfg;
  PetscReal            *th;
  PetscInt              t, P;
  SpdMLP                mlp;

  PetscFunctionBeginUser;
  PetscCall(SpdTrainerGetConfig(tr, &cfg));
  PetscCall(SpdTrainerGetModel(tr, &mlp));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(SpdTrainerSetState(tr, 0, theta0, NULL));
  for (PetscInt s = 0; s < cfg->steps; s++) PetscCall(SpdTrainerStep(tr));
  PetscCall(SpdTrainerGetState(tr, &t, &th, NULL));
  PetscCall(PetscArraycpy(thetaT, th, P));
  PetscCall(SpdTrainerSetState(tr, 0, theta0, NULL));
  PetscFunctionReturn(0);
}

/* The dense M x N matrix of A (column-major, replicated): column j = A e_j (or A^T e_j,
   giving the transpose's columns, i.e. the rows of A, when transpose). */
static inline PetscErrorCode TJDense(Mat A, PetscBool transpose, PetscReal D[])
{
  Vec      x, y;
  PetscInt M, N, lo, hi;

  PetscFunctionBeginUser;
  PetscCall(MatCreateVecs(A, transpose ? &y : &x, transpose ? &x : &y));
  PetscCall(VecGetSize(x, &N));
  PetscCall(VecGetSize(y, &M));
  PetscCall(VecGetOwnershipRange(x, &lo, &hi));
  for (PetscInt j = 0; j < N; j++) {
    PetscCall(VecZeroEntries(x));
    if (j >= lo && j < hi) PetscCall(VecSetValue(x, j, 1.0, INSERT_VALUES));
    PetscCall(VecAssemblyBegin(x));
    PetscCall(VecAssemblyEnd(x));
    if (transpose)
      PetscCall(MatMultTranspose(A, x, y));
    else
      PetscCall(MatMult(A, x, y));
    PetscCall(SpdTestVecGather(y, D + (size_t)j * M));
  }
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscFunctionReturn(0);
}

static inline double TJDot(PetscInt n, const double a[], const double b[])
{
  double s = 0;
  for (PetscInt i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static inline double TJNorm(PetscInt n, const double a[]) { return sqrt(TJDot(n, a, a)); }

/* ||a - b|| / ||b|| */
static inline double TJRelErr(PetscInt n, const double a[], const double b[])
{
  double num = 0;
  for (PetscInt i = 0; i < n; i++) num += (a[i] - b[i]) * (a[i] - b[i]);
  return sqrt(num) / PetscMax(TJNorm(n, b), 1e-300);
}
