/* The trainer: PyTorch-style SGD (torch.optim.SGD, dampening 0) on the MLP family, with
   heavy-ball or Nesterov momentum, coupled (L2) or decoupled weight decay, learning-rate
   warm-up and step/cosine schedules, full-batch gradient descent or minibatches drawn by
   a counter-based shuffle (docs/training.md).

   The run is a pure function of (config, data, theta_0): epoch e's permutation comes from
   the stream (seed, SPD_TAG_SHUFFLE, e) and is recomputed when needed, so any step's batch
   is known without replaying the run (the training Jacobian's transpose walks the steps
   backwards), and every rank computes the same batches. The model is replicated and the
   samples are split: a step is one SpdMLPSetPoint on the rank's part of the batch (the
   MLP's dgemms), one Allreduce of the gradient inside it, and an O(P) update. */
#include "trainimpl.h"
#include <math.h>

const char *const SpdMomenta[]     = { "none", "heavy_ball", "nesterov", NULL };
const char *const SpdLRSchedules[] = { "constant", "step", "cosine", NULL };

/*@C
  SpdTrainConfigDefaults - the default training configuration

  Not Collective

  Output Parameter:
. cfg - lr 0.1, constant schedule, no warm-up, no momentum (beta 0.9 when enabled), no
        weight decay, full batch, 100 steps, seed 0, standard parameterization and
        init_scale 1, checkpoints every 10 steps (geometric ratio 2), evaluations at
        checkpoints only, float64 checkpoints

.seealso: `SpdTrainerCreate()`
@*/
PetscErrorCode SpdTrainConfigDefaults(SpdTrainConfig *cfg)
{
  PetscFunctionBegin;
  PetscValidPointer(cfg, 1);
  PetscCall(PetscMemzero(cfg, sizeof(*cfg)));
  cfg->lr           = 0.1;
  cfg->schedule     = SPD_LR_CONSTANT;
  cfg->warmup       = 0;
  cfg->step_every   = 1;
  cfg->step_gamma   = 0.1;
  cfg->lr_min       = 0;
  cfg->momentum     = SPD_MOMENTUM_NONE;
  cfg->beta         = 0.9;
  cfg->weight_decay = 0;
  cfg->decoupled    = PETSC_FALSE;
  cfg->batch        = 0;
  cfg->steps        = 100;
  cfg->seed         = 0;
  cfg->param        = SPD_PARAM_STANDARD;
  cfg->init_scale   = 1;
  cfg->ckpt         = SPD_CKPT_EVERY;
  cfg->ckpt_every   = 10;
  cfg->ckpt_ratio   = 2;
  cfg->eval_every   = 0;
  cfg->ckpt_float32 = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Validate a configuration; messages name the key (docs/training.md uses the same names). */
static PetscErrorCode SpdTrainConfigCheck(MPI_Comm comm, const SpdTrainConfig *c)
{
  PetscFunctionBegin;
  PetscCheck(isfinite(c->lr) && c->lr > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: lr = %g; the learning rate must be a finite number > 0", (double)c->lr);
  PetscCheck((int)c->schedule >= 0 && c->schedule <= SPD_LR_COSINE, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: schedule = %d is not one of constant, step, cosine", (int)c->schedule);
  PetscCheck(c->warmup >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: warmup = %" PetscInt_FMT "; give a number of warm-up steps >= 0", c->warmup);
  if (c->schedule == SPD_LR_STEP) {
    PetscCheck(c->step_every >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: step_every = %" PetscInt_FMT "; the step schedule decays every step_every >= 1 steps", c->step_every);
    PetscCheck(isfinite(c->step_gamma) && c->step_gamma > 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: step_gamma = %g; the step schedule's factor must be finite and > 0", (double)c->step_gamma);
  }
  if (c->schedule == SPD_LR_COSINE) PetscCheck(isfinite(c->lr_min) && c->lr_min >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: lr_min = %g; the cosine schedule's final learning rate must be finite and >= 0", (double)c->lr_min);
  PetscCheck((int)c->momentum >= 0 && c->momentum <= SPD_MOMENTUM_NESTEROV, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: momentum = %d is not one of none, heavy_ball, nesterov", (int)c->momentum);
  PetscCheck(isfinite(c->beta) && c->beta >= 0 && c->beta < 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: beta = %g; the momentum coefficient must be in [0, 1)", (double)c->beta);
  PetscCheck(isfinite(c->weight_decay) && c->weight_decay >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: weight_decay = %g; give a finite weight decay >= 0", (double)c->weight_decay);
  PetscCheck(c->batch >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: batch = %" PetscInt_FMT "; give a minibatch size >= 1, or 0 for full-batch gradient descent", c->batch);
  PetscCheck(c->steps >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: steps = %" PetscInt_FMT "; give a number of steps >= 0", c->steps);
  PetscCheck((int)c->param >= 0 && c->param <= SPD_PARAM_CUSTOM, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: param = %d is not one of standard, ntk, mup, custom", (int)c->param);
  PetscCheck(isfinite(c->init_scale), comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: init_scale = %g must be finite (<= 0 means 1)", (double)c->init_scale);
  PetscCheck(c->ckpt == SPD_CKPT_EVERY || c->ckpt == SPD_CKPT_GEOMETRIC, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: checkpoint schedule %d is not one of every, geometric", (int)c->ckpt);
  PetscCheck(c->ckpt_every >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: ckpt_every = %" PetscInt_FMT "; give >= 1 (or 0: first and last step only)", c->ckpt_every);
  if (c->ckpt == SPD_CKPT_GEOMETRIC) PetscCheck(isfinite(c->ckpt_ratio) && c->ckpt_ratio > 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: ckpt_ratio = %g; geometric checkpoints need a finite ratio > 1 (e.g. 2)", (double)c->ckpt_ratio);
  PetscCheck(c->eval_every >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Training configuration: eval_every = %" PetscInt_FMT "; give >= 1 (or 0: at checkpoints only)", c->eval_every);
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerCreate - a trainer of an MLP on a data set

  Collective

  Input Parameters:
+ mlp  - the model; its multipliers must be those of cfg->param
. data - the training data (its dimensions must match the model)
- cfg  - the configuration (copied)

  Output Parameter:
. tr - the trainer, at t = 0 with theta the model's current parameters and m = 0

  Notes:
  The trainer keeps references to mlp and data (destroy them after the trainer) and works
  on the model's parameter array in place. Errors name the configuration key at fault.

.seealso: `SpdTrainConfigDefaults()`, `SpdTrainerInitialize()`, `SpdTrainerStep()`, `SpdTrainerRun()`
@*/
PetscErrorCode SpdTrainerCreate(SpdMLP mlp, SpdData data, const SpdTrainConfig *cfg, SpdTrainer *trainer)
{
  SpdTrainer       tr;
  PetscInt         L;
  const PetscInt  *width;
  const PetscReal *a, *c;
  MPI_Comm         comm = data->comm;

  PetscFunctionBegin;
  PetscValidPointer(cfg, 3);
  PetscValidPointer(trainer, 4);
  *trainer = NULL;
  PetscCall(SpdTrainConfigCheck(comm, cfg));
  PetscCall(SpdMLPGetArchitecture(mlp, &L, &width, NULL, NULL, &a, &c, NULL));
  PetscCheck(data->d == width[0], comm, PETSC_ERR_ARG_SIZ, "Training data %s have %" PetscInt_FMT " input features but the model's first layer takes %" PetscInt_FMT "; check the architecture or the data", data->name, data->d, width[0]);
  if (data->labels) PetscCheck(data->nclasses <= width[L], comm, PETSC_ERR_ARG_SIZ, "Training data %s have %" PetscInt_FMT " classes but the model has %" PetscInt_FMT " outputs; set the output width to the number of classes", data->name, data->nclasses, width[L]);
  if (cfg->param != SPD_PARAM_CUSTOM) {
    PetscReal ea[SPD_MLP_MAX_LAYERS], ec[SPD_MLP_MAX_LAYERS];

    PetscCheck(L <= SPD_MLP_MAX_LAYERS, comm, PETSC_ERR_SUP, "The model has %" PetscInt_FMT " layers; the trainer handles at most %d", L, SPD_MLP_MAX_LAYERS);
    PetscCall(SpdParameterizationMultipliers(cfg->param, L, width, NULL, NULL, ea, ec));
    for (PetscInt l = 0; l < L; l++)
      PetscCheck(PetscAbsReal(a[l] - ea[l]) <= 1e-12 * PetscAbsReal(ea[l]) && PetscAbsReal(c[l] - ec[l]) <= 1e-12 * PetscAbsReal(ec[l]), comm, PETSC_ERR_ARG_INCOMP,
          "Training configuration: param = %s expects layer %" PetscInt_FMT " multipliers (%g, %g) but the model has (%g, %g); set the model's multipliers with SpdParameterizationMultipliers() for the same parameterization", SpdParameterizations[cfg->param], l, (double)ea[l], (double)ec[l], (double)a[l], (double)c[l]);
  }
  PetscCall(PetscNew(&tr));
  tr->comm = comm;
  tr->mlp  = mlp;
  tr->data = data;
  tr->cfg  = *cfg;
  if (tr->cfg.init_scale <= 0) tr->cfg.init_scale = 1;
  PetscCall(SpdMLPGetNumParameters(mlp, &tr->P));
  PetscCall(SpdMLPGetParameters(mlp, &tr->theta));
  tr->n      = data->n;
  tr->full   = (cfg->batch == 0 || cfg->batch >= data->n) ? PETSC_TRUE : PETSC_FALSE;
  tr->bsize  = tr->full ? tr->n : cfg->batch;
  tr->nbatch = (tr->n + tr->bsize - 1) / tr->bsize;
  PetscCall(PetscMalloc1(tr->P, &tr->g));
  if (cfg->momentum != SPD_MOMENTUM_NONE) PetscCall(PetscCalloc1(tr->P, &tr->m));
  PetscCall(PetscMalloc1(tr->n, &tr->bidx));
  if (tr->full) {
    for (PetscInt i = 0; i < tr->n; i++) tr->bidx[i] = i;
    tr->bcount = tr->n;
  } else
    PetscCall(PetscMalloc1(tr->n, &tr->perm));
  tr->perm_epoch = -1;
  tr->bidx_t     = -1;
  tr->bdata_t    = -1;
  *trainer       = tr;
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerDestroy - free a trainer (not its model or data)

  Collective

  Input Parameter:
. tr - the trainer (set to NULL)
@*/
PetscErrorCode SpdTrainerDestroy(SpdTrainer *trainer)
{
  SpdTrainer tr;

  PetscFunctionBegin;
  if (!trainer || !*trainer) PetscFunctionReturn(0);
  tr = *trainer;
  PetscCall(SpdDataDestroy(&tr->bdata));
  PetscCall(PetscFree3(tr->tan_w, tr->tan_Aw, tr->tan_saved));
  PetscCall(PetscFree(tr->g));
  PetscCall(PetscFree(tr->m));
  PetscCall(PetscFree(tr->bidx));
  PetscCall(PetscFree(tr->perm));
  PetscCall(PetscFree(*trainer));
  PetscFunctionReturn(0);
}

/* The model trained (the trainer's theta is its parameter array). */
PetscErrorCode SpdTrainerGetModel(SpdTrainer tr, SpdMLP *mlp)
{
  PetscFunctionBegin;
  *mlp = tr->mlp;
  PetscFunctionReturn(0);
}

/* The configuration in use (init_scale <= 0 replaced by 1). */
PetscErrorCode SpdTrainerGetConfig(SpdTrainer tr, const SpdTrainConfig **cfg)
{
  PetscFunctionBegin;
  *cfg = &tr->cfg;
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerInitialize - draw theta_0 from the configuration's seed and parameterization

  Not Collective (every rank draws the same numbers)

  Input Parameter:
. tr - the trainer; its state becomes (t = 0, theta_0, m = 0)

  Notes:
  Parameter j of theta (the model's layout: W_l row-major, then b_l, layer by layer) is
  drawn from the stream (seed, SPD_TAG_INIT, j): its first uniform u (standard: s (2u - 1)
  / sqrt(fan_in)) or its first normal z (ntk: s z; mup: s z / sqrt(fan_in) for the first
  layer's weights, s z for the other weights, biases 0), s = init_scale. theta_0 thus does
  not depend on the number of ranks. A custom parameterization has no initialization rule:
  set theta yourself (SpdTrainerSetState()).

.seealso: `SpdTrainerCreate()`, `SpdTrainerSetState()`
@*/
PetscErrorCode SpdTrainerInitialize(SpdTrainer tr)
{
  PetscInt        L;
  const PetscInt *width;
  PetscReal       s = tr->cfg.init_scale;

  PetscFunctionBegin;
  PetscCheck(tr->cfg.param != SPD_PARAM_CUSTOM, PETSC_COMM_SELF, PETSC_ERR_SUP, "Training configuration: param = custom has no initialization rule; choose standard, ntk or mup, or set theta_0 with SpdTrainerSetState()");
  PetscCall(SpdMLPGetArchitecture(tr->mlp, &L, &width, NULL, NULL, NULL, NULL, NULL));
  for (PetscInt l = 0; l < L; l++) {
    PetscInt  woff, wsize, boff, bsize;
    PetscReal isf = 1.0 / PetscSqrtReal((PetscReal)width[l]);

    PetscCall(SpdMLPGetLayerBlock(tr->mlp, l, &woff, &wsize, &boff, &bsize));
    for (int isbias = 0; isbias < 2; isbias++) { /* the weights W_l, then the bias b_l (if any) */
      PetscInt lo = isbias ? boff : woff, hi = isbias ? (boff >= 0 ? boff + bsize : boff) : woff + wsize;

      for (PetscInt j = lo; j < hi; j++) {
        SpdRandom r;

        SpdRandomSeed(&r, tr->cfg.seed, SPD_TAG_INIT, j);
        switch (tr->cfg.param) {
        case SPD_PARAM_STANDARD:
          tr->theta[j] = s * isf * (2 * SpdRandomUniform(&r) - 1);
          break;
        case SPD_PARAM_NTK:
          tr->theta[j] = s * SpdRandomNormal(&r);
          break;
        default: /* mup: N(0, 1/fan_in) for the first layer's weights, N(0, 1) for the others, zero biases */
          tr->theta[j] = isbias ? 0 : (l == 0 ? s * isf : s) * SpdRandomNormal(&r);
          break;
        }
      }
    }
  }
  tr->t         = 0;
  tr->has_stats = PETSC_FALSE;
  if (tr->m) PetscCall(PetscArrayzero(tr->m, tr->P));
  PetscFunctionReturn(0);
}

/* Epoch e's permutation of [0, n) (Fisher-Yates from the stream (seed, SHUFFLE, e)). */
static void SpdTrainerShuffle(PetscInt64 seed, PetscInt e, PetscInt n, PetscInt perm[])
{
  SpdRandom r;

  SpdRandomSeed(&r, seed, SPD_TAG_SHUFFLE, e);
  for (PetscInt i = 0; i < n; i++) perm[i] = i;
  for (PetscInt i = n - 1; i >= 1; i--) {
    PetscInt j = (PetscInt)(SpdRandomUniform(&r) * (PetscReal)(i + 1)), tmp;

    if (j > i) j = i; /* defensive: u < 1 already gives j <= i */
    tmp     = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
}

/*@C
  SpdTrainerGetBatch - the global sample indices of step t's minibatch

  Not Collective (every rank computes the same indices)

  Input Parameters:
+ tr - the trainer
- t  - the step (>= 0; any step, also beyond cfg->steps)

  Output Parameters:
+ nb  - the number of samples of the batch
- idx - the indices, sorted increasingly (owned by the trainer, valid until the next call)

  Notes:
  Epoch e = t / nbatch (nbatch = ceil(n / batch)) uses the permutation of [0, n) drawn from
  the stream (seed, SPD_TAG_SHUFFLE, e) by Fisher-Yates; batch j = t mod nbatch is its
  positions [j batch, min((j + 1) batch, n)). Full batch: 0, ..., n - 1 for every t.

.seealso: `SpdTrainerGetBatchData()`
@*/
PetscErrorCode SpdTrainerGetBatch(SpdTrainer tr, PetscInt t, PetscInt *nb, const PetscInt *idx[])
{
  PetscFunctionBegin;
  PetscCheck(t >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdTrainerGetBatch: step %" PetscInt_FMT " < 0", t);
  if (!tr->full && tr->bidx_t != t) {
    PetscInt e = t / tr->nbatch, j = t % tr->nbatch, lo = j * tr->bsize, hi = PetscMin(lo + tr->bsize, tr->n);

    if (tr->perm_epoch != e) {
      SpdTrainerShuffle(tr->cfg.seed, e, tr->n, tr->perm);
      tr->perm_epoch = e;
    }
    tr->bcount = hi - lo;
    PetscCall(PetscArraycpy(tr->bidx, tr->perm + lo, tr->bcount));
    PetscCall(PetscSortInt(tr->bcount, tr->bidx));
    tr->bidx_t = t;
  }
  if (nb) *nb = tr->bcount;
  if (idx) *idx = tr->bidx;
  PetscFunctionReturn(0);
}

/* tr->bdata = the samples gidx[0..m) of the training data: created once by SpdDataSubset(),
   then refilled in place (SpdDataSubsetRefill) for every other minibatch. */
static PetscErrorCode SpdTrainerFillBatch(SpdTrainer tr, PetscInt m, const PetscInt gidx[])
{
  PetscFunctionBegin;
  if (!tr->bdata) {
    PetscCall(SpdDataSubset(tr->data, m, gidx, &tr->bdata));
    tr->bdata_cap = tr->bdata->nlocal;
  } else
    PetscCall(SpdDataSubsetRefill(tr->data, m, gidx, &tr->bdata_cap, tr->bdata));
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerGetBatchData - step t's minibatch as a data set

  Collective

  Input Parameters:
+ tr - the trainer
- t  - the step

  Output Parameter:
. data - the batch (owned by the trainer, valid until the next call with another step):
         the training data itself for full-batch training, else SpdDataSubset() of it

.seealso: `SpdTrainerGetBatch()`
@*/
PetscErrorCode SpdTrainerGetBatchData(SpdTrainer tr, PetscInt t, SpdData *data)
{
  PetscFunctionBegin;
  if (tr->full) {
    PetscCheck(t >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdTrainerGetBatchData: step %" PetscInt_FMT " < 0", t);
    *data = tr->data;
    PetscFunctionReturn(0);
  }
  if (tr->bdata_t != t) {
    PetscInt        nb;
    const PetscInt *idx;

    tr->bdata_t = -1;
    PetscCall(SpdTrainerGetBatch(tr, t, &nb, &idx));
    PetscCall(SpdTrainerFillBatch(tr, nb, idx));
    tr->bdata_t = t;
  }
  *data = tr->bdata;
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerGetLearningRate - the learning rate eta_t of step t

  Not Collective

  Notes:
  eta_t = lr warm(t) sched(t'): warm(t) = (t + 1) / warmup for t < warmup, else 1;
  t' = max(t - warmup, 0), T' = steps - warmup; sched = 1 (constant),
  step_gamma^floor(t' / step_every) (step), or r + (1 - r)(1 + cos(pi min(t', T') / T')) / 2
  with r = lr_min / lr (cosine; 1 when T' <= 0).
@*/
PetscErrorCode SpdTrainerGetLearningRate(SpdTrainer tr, PetscInt t, PetscReal *eta)
{
  const SpdTrainConfig *c    = &tr->cfg;
  PetscReal             warm = 1, sched = 1;
  PetscInt              tp = PetscMax(t - c->warmup, 0), Tp = c->steps - c->warmup;

  PetscFunctionBegin;
  if (t < c->warmup) warm = (PetscReal)(t + 1) / (PetscReal)c->warmup;
  switch (c->schedule) {
  case SPD_LR_CONSTANT:
    break;
  case SPD_LR_STEP:
    sched = PetscPowReal(c->step_gamma, (PetscReal)(tp / c->step_every));
    break;
  case SPD_LR_COSINE:
    if (Tp > 0) {
      PetscReal r = c->lr_min / c->lr;
      sched       = r + (1 - r) * (1 + PetscCosReal(PETSC_PI * (PetscReal)PetscMin(tp, Tp) / (PetscReal)Tp)) / 2;
    }
    break;
  }
  *eta = c->lr * warm * sched;
  PetscFunctionReturn(0);
}

/* ||g||_2 with four partial sums: a single running sum is bound by the latency of the
   floating-point add (measured 4% of a 784-256-256-10 step of batch 128). */
static PetscReal SpdTrainerNorm(PetscInt P, const PetscReal *PETSC_RESTRICT g)
{
  PetscReal s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  PetscInt  j = 0;

  for (; j + 4 <= P; j += 4) {
    s0 += g[j] * g[j];
    s1 += g[j + 1] * g[j + 1];
    s2 += g[j + 2] * g[j + 2];
    s3 += g[j + 3] * g[j + 3];
  }
  for (; j < P; j++) s0 += g[j] * g[j];
  return PetscSqrtReal((s0 + s1) + (s2 + s3));
}

/* The O(P) update of SpdTrainerStep on non-aliasing arrays, with the scalars in
   registers so that the compiler vectorizes it (the same operations per entry as
   written in train.h; decay = 1 - eta lambda_d). */
static void SpdTrainerUpdate(SpdMomentum mom, PetscInt P, PetscReal eta, PetscReal lc, PetscReal decay, PetscBool decoupled, PetscReal beta, PetscReal *PETSC_RESTRICT th, PetscReal *PETSC_RESTRICT g, PetscReal *PETSC_RESTRICT m)
{
  switch (mom) {
  case SPD_MOMENTUM_NONE:
    if (lc != 0)
      for (PetscInt j = 0; j < P; j++) g[j] += lc * th[j];
    if (decoupled)
      for (PetscInt j = 0; j < P; j++) th[j] *= decay;
    for (PetscInt j = 0; j < P; j++) th[j] -= eta * g[j];
    break;
  case SPD_MOMENTUM_HEAVY_BALL:
    for (PetscInt j = 0; j < P; j++) {
      PetscReal gj = g[j] + lc * th[j];
      m[j]         = beta * m[j] + gj;
      th[j]        = decay * th[j] - eta * m[j];
    }
    break;
  case SPD_MOMENTUM_NESTEROV:
    for (PetscInt j = 0; j < P; j++) {
      PetscReal gj = g[j] + lc * th[j];
      m[j]         = beta * m[j] + gj;
      th[j]        = decay * th[j] - eta * (gj + beta * m[j]);
    }
    break;
  }
}

/*@C
  SpdTrainerStep - one SGD step

  Collective

  Input Parameter:
. tr - the trainer, at (t, theta_t, m_t); afterwards at (t + 1, theta_{t+1}, m_{t+1})

  Notes:
  g = grad L_B(theta) + lambda_c theta; m = beta m + g; d = g | m | g + beta m;
  theta = (1 - eta lambda_d) theta - eta d (train.h, docs/training.md). Errors, naming the
  step, when the minibatch loss or gradient is not finite (the run diverged: lower lr).

.seealso: `SpdTrainerGetStepStats()`, `SpdTrainerStepTangent()`
@*/
PetscErrorCode SpdTrainerStep(SpdTrainer tr)
{
  const SpdTrainConfig *c = &tr->cfg;
  SpdData               bd;
  PetscReal             loss, gn = 0, eta, lc, ld, beta = c->beta, *th = tr->theta, *g = tr->g, *m = tr->m;
  PetscInt              P = tr->P;

  PetscFunctionBegin;
  PetscCall(SpdTrainerGetBatchData(tr, tr->t, &bd));
  PetscCall(SpdMLPSetPoint(tr->mlp, bd));
  PetscCall(SpdMLPGetLossGradient(tr->mlp, &loss, g));
  gn = SpdTrainerNorm(P, g);
  PetscCheck(isfinite(loss) && isfinite(gn), tr->comm, PETSC_ERR_FP, "Training diverged at step %" PetscInt_FMT ": minibatch loss %g, gradient norm %g; lower the learning rate (lr = %g) or add warm-up", tr->t, (double)loss, (double)gn, (double)c->lr);
  tr->accuracy = -1;
  if (bd->labels) { /* the minibatch accuracy from the outputs already computed */
    const PetscReal *z;
    const PetscInt  *w;
    PetscInt         L, out, right = 0;
    PetscCall(SpdMLPGetArchitecture(tr->mlp, &L, &w, NULL, NULL, NULL, NULL, NULL));
    out = w[L];
    PetscCall(SpdMLPGetOutputs(tr->mlp, &z));
    for (PetscInt i = 0; i < bd->nlocal; i++) {
      PetscInt best = 0;
      for (PetscInt j = 1; j < out; j++)
        if (z[i * out + j] > z[i * out + best]) best = j;
      right += best == bd->labels[i] ? 1 : 0;
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &right, 1, MPIU_INT, MPI_SUM, tr->comm));
    tr->accuracy = (PetscReal)right / (PetscReal)bd->n;
  }
  PetscCall(SpdTrainerGetLearningRate(tr, tr->t, &eta));
  lc = c->decoupled ? 0 : c->weight_decay;
  ld = c->decoupled ? c->weight_decay : 0;
  SpdTrainerUpdate(c->momentum, P, eta, lc, 1 - eta * ld, ld != 0, beta, th, g, m);
  tr->loss      = loss;
  tr->gradnorm  = gn;
  tr->has_stats = PETSC_TRUE;
  tr->t++;
  PetscFunctionReturn(0);
}

/* The minibatch accuracy of the last step taken (-1 for regression data). */
PetscErrorCode SpdTrainerGetStepAccuracy(SpdTrainer tr, PetscReal *accuracy)
{
  PetscFunctionBegin;
  PetscCheck(tr->has_stats, PETSC_COMM_SELF, PETSC_ERR_ORDER, "SpdTrainerGetStepAccuracy: no step taken since the state was set; call SpdTrainerStep() first");
  *accuracy = tr->accuracy;
  PetscFunctionReturn(0);
}

/* The minibatch loss and gradient norm (before decay) of the last step taken. */
PetscErrorCode SpdTrainerGetStepStats(SpdTrainer tr, PetscReal *loss, PetscReal *gradnorm)
{
  PetscFunctionBegin;
  PetscCheck(tr->has_stats, PETSC_COMM_SELF, PETSC_ERR_ORDER, "SpdTrainerGetStepStats: no step taken since the state was set; call SpdTrainerStep() first");
  if (loss) *loss = tr->loss;
  if (gradnorm) *gradnorm = tr->gradnorm;
  PetscFunctionReturn(0);
}

/* The state (t, theta, m): arrays owned by the trainer, writable; m NULL without momentum. */
PetscErrorCode SpdTrainerGetState(SpdTrainer tr, PetscInt *t, PetscReal **theta, PetscReal **m)
{
  PetscFunctionBegin;
  if (t) *t = tr->t;
  if (theta) *theta = tr->theta;
  if (m) *m = tr->m;
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerSetState - set (t, theta, m)

  Not Collective (give the same values on every rank)

  Input Parameters:
+ tr    - the trainer
. t     - the step (>= 0)
. theta - the parameters (length P; NULL keeps the current ones)
- m     - the momentum buffer (length P; NULL means 0; ignored without momentum)
@*/
PetscErrorCode SpdTrainerSetState(SpdTrainer tr, PetscInt t, const PetscReal theta[], const PetscReal m[])
{
  PetscFunctionBegin;
  PetscCheck(t >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdTrainerSetState: step %" PetscInt_FMT " < 0", t);
  tr->t = t;
  if (theta && theta != tr->theta) PetscCall(PetscArraycpy(tr->theta, theta, tr->P));
  if (tr->m) {
    if (m) {
      if (m != tr->m) PetscCall(PetscArraycpy(tr->m, m, tr->P));
    } else
      PetscCall(PetscArrayzero(tr->m, tr->P));
  }
  tr->has_stats = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerEvaluate - full-data loss and accuracy at the current theta

  Collective

  Input Parameters:
+ tr   - the trainer
- data - any data set with the model's dimensions (the training set, a test set)

  Output Parameters:
+ loss     - the mean loss
- accuracy - the fraction of samples whose largest output is their label; -1 for
             regression data

  Notes:
  Moves the model's point to data (call SpdMLPSetPoint() again before products).
@*/
PetscErrorCode SpdTrainerEvaluate(SpdTrainer tr, SpdData data, PetscReal *loss, PetscReal *accuracy)
{
  const PetscReal *Z;
  PetscInt         L, out, hit = 0, ghit;
  const PetscInt  *width;

  PetscFunctionBegin;
  PetscCall(SpdMLPSetPoint(tr->mlp, data));
  PetscCall(SpdMLPGetLossGradient(tr->mlp, loss, NULL));
  if (!accuracy) PetscFunctionReturn(0);
  if (!data->labels) {
    *accuracy = -1;
    PetscFunctionReturn(0);
  }
  PetscCall(SpdMLPGetArchitecture(tr->mlp, &L, &width, NULL, NULL, NULL, NULL, NULL));
  out = width[L];
  PetscCall(SpdMLPGetOutputs(tr->mlp, &Z));
  for (PetscInt i = 0; i < data->nlocal; i++) {
    const PetscReal *z   = Z + (size_t)i * out;
    PetscInt         arg = 0;

    for (PetscInt j = 1; j < out; j++)
      if (z[j] > z[arg]) arg = j;
    if (arg == data->labels[i]) hit++;
  }
  PetscCallMPI(MPI_Allreduce(&hit, &ghit, 1, MPIU_INT, MPI_SUM, tr->comm));
  *accuracy = (PetscReal)ghit / (PetscReal)data->n;
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainCheckpointStep - whether step t is a checkpoint step

  Not Collective

  Notes:
  Steps 0 and cfg->steps always; every: multiples of ckpt_every (none when 0); geometric:
  1 and round(ratio^j), j = 1, 2, ...
@*/
PetscBool SpdTrainCheckpointStep(const SpdTrainConfig *cfg, PetscInt t)
{
  if (t < 0 || t > cfg->steps) return PETSC_FALSE;
  if (t == 0 || t == cfg->steps) return PETSC_TRUE;
  if (cfg->ckpt == SPD_CKPT_EVERY) return (cfg->ckpt_every > 0 && t % cfg->ckpt_every == 0) ? PETSC_TRUE : PETSC_FALSE;
  if (t == 1) return PETSC_TRUE;
  if (!(cfg->ckpt_ratio > 1)) return PETSC_FALSE;
  for (PetscReal p = cfg->ckpt_ratio; p < (PetscReal)t + 1; p *= cfg->ckpt_ratio)
    if ((PetscInt)PetscFloorReal(p + 0.5) == t) return PETSC_TRUE;
  return PETSC_FALSE;
}

PetscErrorCode SpdTrainConfigText_Private(SpdTrainer tr, char text[], size_t len, char hash[], size_t hlen)
{
  const SpdTrainConfig *c     = &tr->cfg;
  PetscInt              steps = c->schedule == SPD_LR_COSINE ? c->steps : -1;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(text, len,
      "lr=%.17g schedule=%s warmup=%" PetscInt_FMT " step_every=%" PetscInt_FMT " step_gamma=%.17g lr_min=%.17g momentum=%s beta=%.17g weight_decay=%.17g decoupled=%d batch=%" PetscInt_FMT " seed=%" PetscInt64_FMT " param=%s init_scale=%.17g schedule_steps=%" PetscInt_FMT " n=%" PetscInt_FMT " P=%" PetscInt_FMT,
      (double)c->lr, SpdLRSchedules[c->schedule], c->warmup, c->step_every, (double)c->step_gamma, (double)c->lr_min, SpdMomenta[c->momentum], (double)c->beta, (double)c->weight_decay, (int)c->decoupled, tr->full ? (PetscInt)0 : c->batch, c->seed,
      SpdParameterizations[c->param], (double)c->init_scale, steps, tr->n, tr->P));
  if (hash) PetscCall(SpdHashId(text, hash, hlen));
  PetscFunctionReturn(0);
}
