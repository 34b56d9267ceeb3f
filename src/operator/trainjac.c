/* The training Jacobian J_T = d theta_T / d theta_0 as a P x P MATSHELL (Belrose &
   Scherlis, "Understanding gradient descent through the training Jacobian", 2024).

   The run is a composition of steps, so J_T = M_{T-1} ... M_1 M_0 restricted to the
   theta block, where M_t is the tangent of step t on the state (theta, m) (train.h,
   src/train/tangent.c): with dm_0 = 0 because m_0 = 0 is fixed,
     J_T v   = theta-part of M_{T-1} ... M_0 (v, 0)              (forward-mode),
     J_T^T u = theta-part of M_0^T ... M_{T-1}^T (u, 0)          (reverse-mode),
   the seed (u, 0) of the transpose because theta_T alone is the output. Each M_t needs
   theta_t only (the step is affine in m), at the price of one SpdMLPSetPoint on step t's
   minibatch and one Hessian-vector product.

   Storage (Griewank's checkpointing, "Achieving logarithmic growth of temporal and
   spatial complexity in reverse automatic differentiation", 1992, in its simplest
   uniform form): the run is replayed once at creation from (theta_0, m_0 = 0), keeping
   (theta_t, m_t) every K = `every` steps. K = 1 keeps every theta_t (T P doubles) and no
   step is ever recomputed. K > 1 keeps ceil(T/K) snapshots: a product restarts the
   trainer from each snapshot (SpdTrainerSetState) and steps it forward through the
   segment; the transpose first recomputes the K iterates of the segment into a buffer
   and then goes back through them. Either way the trainer is put back at (0, theta_0).

   Data parallel: the vectors are distributed (PETSc's default split of P), the tangent
   state is replicated; a product gathers the input on every rank, runs the replicated
   recurrence (every Hessian-vector product sums over the ranks' samples) and each rank
   keeps its own rows of the replicated result. */
#include <specdyn/operator.h>

static PetscLogEvent SPD_TrainJacReplay, SPD_TrainJacMult, SPD_TrainJacMultT;
static PetscBool     SpdTrainJacRegistered = PETSC_FALSE;

typedef struct {
  SpdTrainer tr;
  PetscInt   P, T, K, nsnap;
  PetscBool  mom;
  PetscReal *snap_theta, *snap_m; /* nsnap x P: theta_{sK}, m_{sK} (m only for K > 1 with momentum) */
  PetscReal *seg; /* K x P: the iterates of one segment (K > 1) */
  PetscReal *dtheta, *dm; /* the replicated tangent state */
  VecScatter toall;
  Vec        xall;
  PetscInt   nmult, nmultt, nrecomputed;
} SpdTrainJacCtx;

/* Put the trainer back at (0, theta_0, m_0 = 0). */
static PetscErrorCode SpdTrainJacRestore(SpdTrainJacCtx *c)
{
  PetscFunctionBegin;
  if (c->T > 0) PetscCall(SpdTrainerSetState(c->tr, 0, c->snap_theta, NULL));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdTrainJacGather(SpdTrainJacCtx *c, Vec x)
{

  PetscFunctionBegin;
  PetscCall(SpdVecGatherToAll(c->toall, x, c->xall, c->dtheta));
  if (c->dm) PetscCall(PetscArrayzero(c->dm, c->P));
  PetscFunctionReturn(0);
}

/* Each rank keeps its rows of the replicated result. */
static PetscErrorCode SpdTrainJacScatter(SpdTrainJacCtx *c, Vec y)
{
  PetscScalar *ya;
  PetscInt     lo, hi;

  PetscFunctionBegin;
  PetscCall(VecGetOwnershipRange(y, &lo, &hi));
  PetscCall(VecGetArray(y, &ya));
  for (PetscInt j = lo; j < hi; j++) ya[j - lo] = c->dtheta[j];
  PetscCall(VecRestoreArray(y, &ya));
  PetscFunctionReturn(0);
}

/* Restart the trainer at snapshot s; returns the trainer's theta array. */
static PetscErrorCode SpdTrainJacStart(SpdTrainJacCtx *c, PetscInt s, PetscReal **theta)
{
  PetscInt t;

  PetscFunctionBegin;
  PetscCall(SpdTrainerSetState(c->tr, s * c->K, c->snap_theta + (size_t)s * c->P, c->snap_m ? c->snap_m + (size_t)s * c->P : NULL));
  PetscCall(SpdTrainerGetState(c->tr, &t, theta, NULL));
  PetscFunctionReturn(0);
}

/* Put the trainer at step t with theta_t (one copy; its momentum buffer is left as it
   is: the tangent does not depend on m_t), so that SpdTrainerStepTangent() finds theta_t
   in the model and needs no save, copy and restore of the parameters. */
static PetscErrorCode SpdTrainJacSetPoint(SpdTrainJacCtx *c, PetscInt t, const PetscReal theta_t[], PetscReal **theta)
{
  PetscReal *m;
  PetscInt   tt;

  PetscFunctionBegin;
  PetscCall(SpdTrainerGetState(c->tr, NULL, NULL, &m));
  PetscCall(SpdTrainerSetState(c->tr, t, theta_t, m));
  PetscCall(SpdTrainerGetState(c->tr, &tt, theta, NULL));
  PetscFunctionReturn(0);
}

/* dtheta <- J_T dtheta (forward through the steps); leaves the trainer anywhere. */
static PetscErrorCode SpdTrainJacMult_Private(SpdTrainJacCtx *c)
{
  PetscFunctionBegin;
  for (PetscInt s = 0; s < c->nsnap; s++) {
    PetscInt   t0 = s * c->K, t1 = PetscMin(t0 + c->K, c->T);
    PetscReal *theta;

    if (c->K == 1) {
      PetscCall(SpdTrainJacSetPoint(c, t0, c->snap_theta + (size_t)s * c->P, &theta));
      PetscCall(SpdTrainerStepTangent(c->tr, t0, theta, PETSC_FALSE, c->dtheta, c->dm));
      continue;
    }
    PetscCall(SpdTrainJacStart(c, s, &theta));
    for (PetscInt t = t0; t < t1; t++) {
      PetscInt tt;
      PetscCall(SpdTrainerStepTangent(c->tr, t, theta, PETSC_FALSE, c->dtheta, c->dm));
      if (t + 1 < t1) {
        PetscCall(SpdTrainerStep(c->tr));
        PetscCall(SpdTrainerGetState(c->tr, &tt, &theta, NULL));
        c->nrecomputed++;
      }
    }
  }
  PetscFunctionReturn(0);
}

/* dtheta <- J_T^T dtheta (backward through the steps); leaves the trainer anywhere. */
static PetscErrorCode SpdTrainJacMultTranspose_Private(SpdTrainJacCtx *c)
{
  PetscFunctionBegin;
  for (PetscInt s = c->nsnap - 1; s >= 0; s--) {
    PetscInt   t0 = s * c->K, t1 = PetscMin(t0 + c->K, c->T);
    PetscReal *seg, *theta;

    if (c->K == 1)
      seg = c->snap_theta + (size_t)s * c->P;
    else {
      PetscInt tt;
      PetscCall(SpdTrainJacStart(c, s, &theta));
      PetscCall(PetscArraycpy(c->seg, theta, c->P));
      for (PetscInt t = t0 + 1; t < t1; t++) {
        PetscCall(SpdTrainerStep(c->tr));
        PetscCall(SpdTrainerGetState(c->tr, &tt, &theta, NULL));
        PetscCall(PetscArraycpy(c->seg + (size_t)(t - t0) * c->P, theta, c->P));
        c->nrecomputed++;
      }
      seg = c->seg;
    }
    for (PetscInt t = t1 - 1; t >= t0; t--) {
      PetscCall(SpdTrainJacSetPoint(c, t, seg + (size_t)(t - t0) * c->P, &theta));
      PetscCall(SpdTrainerStepTangent(c->tr, t, theta, PETSC_TRUE, c->dtheta, c->dm));
    }
  }
  PetscFunctionReturn(0);
}

/* A product: gather, apply, put the trainer back at (0, theta_0) on every path, scatter. */
static PetscErrorCode SpdTrainJacApply(Mat A, Vec x, Vec y, PetscBool transpose)
{
  SpdTrainJacCtx *c;
  PetscErrorCode  ierr;
  PetscLogEvent   ev = transpose ? SPD_TrainJacMultT : SPD_TrainJacMult;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &c));
  PetscCall(PetscLogEventBegin(ev, A, x, y, 0));
  ierr = SpdTrainJacGather(c, x); /* transpose: the seed (u, dm_T = 0) */
  if (!ierr) ierr = transpose ? SpdTrainJacMultTranspose_Private(c) : SpdTrainJacMult_Private(c);
  PetscCall(SpdTrainJacRestore(c));
  PetscCall(PetscLogEventEnd(ev, A, x, y, 0));
  PetscCall(ierr);
  PetscCall(SpdTrainJacScatter(c, y));
  if (transpose)
    c->nmultt++;
  else
    c->nmult++;
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdTrainJacMult(Mat A, Vec x, Vec y)
{
  PetscFunctionBegin;
  PetscCall(SpdTrainJacApply(A, x, y, PETSC_FALSE));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdTrainJacMultTranspose(Mat A, Vec x, Vec y)
{
  PetscFunctionBegin;
  PetscCall(SpdTrainJacApply(A, x, y, PETSC_TRUE));
  PetscFunctionReturn(0);
}

/* Free the context (any part may be unallocated). */
static PetscErrorCode SpdTrainJacFree(SpdTrainJacCtx **cp)
{
  SpdTrainJacCtx *c = *cp;

  PetscFunctionBegin;
  if (!c) PetscFunctionReturn(0);
  PetscCall(VecScatterDestroy(&c->toall));
  PetscCall(VecDestroy(&c->xall));
  PetscCall(PetscFree(c->snap_theta));
  PetscCall(PetscFree(c->snap_m));
  PetscCall(PetscFree(c->seg));
  PetscCall(PetscFree2(c->dtheta, c->dm));
  PetscCall(PetscFree(*cp));
  PetscFunctionReturn(0);
}

/* Replay the run from theta_0 (already in snap_theta), keeping the snapshots. */
static PetscErrorCode SpdTrainJacReplay(SpdTrainJacCtx *c)
{
  PetscFunctionBegin;
  for (PetscInt s = 0; s < c->T; s++) {
    PetscInt   tt;
    PetscReal *theta, *m;

    PetscCall(SpdTrainerGetState(c->tr, &tt, &theta, &m));
    if (s % c->K == 0) {
      PetscCall(PetscArraycpy(c->snap_theta + (size_t)(s / c->K) * c->P, theta, c->P));
      if (c->snap_m) {
        if (m)
          PetscCall(PetscArraycpy(c->snap_m + (size_t)(s / c->K) * c->P, m, c->P));
        else
          PetscCall(PetscArrayzero(c->snap_m + (size_t)(s / c->K) * c->P, c->P));
      }
    }
    PetscCall(SpdTrainerStep(c->tr));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdTrainJacDestroy(Mat A)
{
  SpdTrainJacCtx *c;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &c));
  PetscCall(PetscInfo(A, "training Jacobian: %" PetscInt_FMT " products, %" PetscInt_FMT " transpose products, %" PetscInt_FMT " steps recomputed (T = %" PetscInt_FMT ", every = %" PetscInt_FMT ")\n", c->nmult, c->nmultt, c->nrecomputed, c->T, c->K));
  PetscCall(SpdTrainJacFree(&c));
  PetscFunctionReturn(0);
}

/* The snapshot and work arrays of c (T, K, mom set). */
static PetscErrorCode SpdTrainJacAlloc(SpdTrainJacCtx *c, SpdMLP mlp)
{
  PetscFunctionBegin;
  PetscCall(SpdMLPGetNumParameters(mlp, &c->P));
  c->nsnap = (c->T + c->K - 1) / c->K;
  PetscCall(PetscMalloc1((size_t)PetscMax(c->nsnap, 1) * c->P, &c->snap_theta));
  if (c->K > 1 && c->mom) PetscCall(PetscMalloc1((size_t)c->nsnap * c->P, &c->snap_m));
  if (c->K > 1) PetscCall(PetscMalloc1((size_t)c->K * c->P, &c->seg));
  PetscCall(PetscMalloc2(c->P, &c->dtheta, c->mom ? c->P : 0, &c->dm));
  if (!c->mom) c->dm = NULL;
  PetscFunctionReturn(0);
}

/*@C
  SpdMatCreateTrainingJacobian - the training Jacobian J_T = d theta_T / d theta_0 of a
  run, matrix-free

  Collective

  Input Parameters:
+ tr    - the trainer at t = 0 (theta_0, m_0 = 0); its config and data define the run
- every - keep the iterates every this many steps (1: all of them, T P doubles and no
          recomputation; K > 1: ceil(T/K) snapshots, and products recompute each segment)

  Output Parameter:
. A - P x P MATSHELL on distributed vectors (PETSc's default split of P): MatMult is the
      tangent of the run (forward through steps 0..T-1), MatMultTranspose its adjoint

  Notes:
  The run is replayed once here (T steps). The trainer is left at (0, theta_0) after
  creation and after every product; the model's point is not preserved (call
  SpdMLPSetPoint() before using it). The trainer and its model and data must outlive A.
  Memory in use for the snapshots is reported by -info.

.seealso: `SpdTrainerStepTangent()`, `SpdSVDExtreme()`, `SpdMatCreateFunctionJacobian()`
@*/
PetscErrorCode SpdMatCreateTrainingJacobian(SpdTrainer tr, PetscInt every, Mat *A)
{
  const SpdTrainConfig *cfg;
  SpdTrainJacCtx       *c;
  SpdMLP                mlp;
  SpdData               data;
  MPI_Comm              comm;
  PetscInt              t, nloc = PETSC_DECIDE, N;
  PetscReal            *theta, *m;
  Vec                   x;
  size_t                bytes;
  PetscErrorCode        ierr;

  PetscFunctionBegin;
  if (!SpdTrainJacRegistered) {
    SpdTrainJacRegistered = PETSC_TRUE;
    PetscCall(PetscLogEventRegister("SpdTrainJacReplay", SPD_CLASSID, &SPD_TrainJacReplay));
    PetscCall(PetscLogEventRegister("SpdTrainJacMult", SPD_CLASSID, &SPD_TrainJacMult));
    PetscCall(PetscLogEventRegister("SpdTrainJacMultT", SPD_CLASSID, &SPD_TrainJacMultT));
  }
  PetscCall(SpdTrainerGetConfig(tr, &cfg));
  PetscCall(SpdTrainerGetModel(tr, &mlp));
  PetscCall(SpdTrainerGetBatchData(tr, 0, &data));
  comm = data->comm;
  PetscCheck(every >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training Jacobian: snapshots every %" PetscInt_FMT " steps; give every >= 1 (1 keeps all T iterates, K > 1 keeps T/K and recomputes)", every);
  PetscCall(SpdTrainerGetState(tr, &t, &theta, &m));
  PetscCheck(t == 0, comm, PETSC_ERR_ARG_WRONGSTATE, "The training Jacobian starts at theta_0, but the trainer is at step %" PetscInt_FMT "; call SpdTrainerSetState(trainer, 0, theta_0, NULL) or SpdTrainerInitialize() first", t);
  if (cfg->momentum != SPD_MOMENTUM_NONE && m) {
    PetscInt P, bad = -1;
    PetscCall(SpdMLPGetNumParameters(mlp, &P));
    for (PetscInt j = 0; j < P && bad < 0; j++)
      if (m[j] != 0) bad = j;
    PetscCheck(bad < 0, comm, PETSC_ERR_ARG_WRONGSTATE, "The training Jacobian starts from m_0 = 0, but the trainer's momentum buffer is nonzero (entry %" PetscInt_FMT " = %g); reset it with SpdTrainerSetState(trainer, 0, theta_0, NULL)", bad, (double)m[bad]);
  }
  PetscCall(PetscNew(&c));
  c->tr  = tr;
  c->T   = cfg->steps;
  c->K   = PetscMin(every, PetscMax(cfg->steps, 1));
  c->mom = cfg->momentum != SPD_MOMENTUM_NONE ? PETSC_TRUE : PETSC_FALSE;
  ierr   = SpdTrainJacAlloc(c, mlp);
  if (!ierr) {
    bytes = sizeof(PetscReal) * (size_t)c->P * ((size_t)c->nsnap * (c->snap_m ? 2 : 1) + (c->seg ? (size_t)c->K : 0));
    ierr  = PetscInfo(NULL, "training Jacobian: P = %" PetscInt_FMT ", T = %" PetscInt_FMT ", %" PetscInt_FMT " snapshots every %" PetscInt_FMT " steps, %.1f MiB per rank for the iterates\n", c->P, c->T, c->nsnap, c->K, (double)bytes / 1048576.0);
  }
  if (!ierr) {
    /* replay the run from theta_0, keeping the snapshots; a run that diverges (or any
       other error) frees everything and puts the trainer back at theta_0 */
    PetscCall(PetscLogEventBegin(SPD_TrainJacReplay, 0, 0, 0, 0));
    ierr = PetscArraycpy(c->snap_theta, theta, c->P); /* theta_0, also for T = 0 */
    if (!ierr) ierr = SpdTrainJacReplay(c);
    {
      PetscErrorCode rerr = SpdTrainJacRestore(c);

      if (!ierr) ierr = rerr;
    }
    PetscCall(PetscLogEventEnd(SPD_TrainJacReplay, 0, 0, 0, 0));
  }
  if (ierr) {
    PetscCall(SpdTrainJacFree(&c));
    PetscCall(ierr);
  }

  N    = c->P;
  ierr = PetscSplitOwnership(comm, &nloc, &N);
  if (!ierr) ierr = MatCreateShell(comm, nloc, nloc, N, N, c, A);
  if (ierr) {
    PetscCall(SpdTrainJacFree(&c));
    PetscCall(ierr);
  }
  /* from here on MatDestroy() frees the context */
  PetscCall(MatShellSetOperation(*A, MATOP_DESTROY, (void (*)(void))SpdTrainJacDestroy));
  ierr = MatShellSetOperation(*A, MATOP_MULT, (void (*)(void))SpdTrainJacMult);
  if (!ierr) ierr = MatShellSetOperation(*A, MATOP_MULT_TRANSPOSE, (void (*)(void))SpdTrainJacMultTranspose);
  if (!ierr) ierr = MatCreateVecs(*A, &x, NULL);
  if (!ierr) {
    ierr = VecScatterCreateToAll(x, &c->toall, &c->xall);
    PetscCall(VecDestroy(&x));
  }
  if (ierr) {
    PetscCall(MatDestroy(A));
    PetscCall(ierr);
  }
  PetscFunctionReturn(0);
}
