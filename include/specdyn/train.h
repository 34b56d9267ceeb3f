/* specdyn/train.h - training runs of the MLP family (the "train" layer, between model
   and operator) and the tangent of a training step, from which the operator layer builds
   the training Jacobian J_T = d theta_T / d theta_0 (docs/training.md).

   The update of step t (PyTorch's torch.optim.SGD semantics, dampening 0, m_0 = 0):
     g_t      = grad L_{B_t}(theta_t) + lambda_c theta_t          (coupled / L2 decay)
     m_{t+1}  = beta m_t + g_t                                    (momentum, beta > 0)
     d_t      = g_t (no momentum) | m_{t+1} (heavy ball) | g_t + beta m_{t+1} (Nesterov)
     theta_{t+1} = (1 - eta_t lambda_d) theta_t - eta_t d_t       (lambda_d: decoupled decay)
   L_{B_t} is the mean loss over the minibatch B_t (all n samples for gradient descent).
   Minibatches: epoch e = t / nb (nb = ceil(n / batch)) uses the permutation of [0, n)
   drawn from the stream (seed, SPD_TAG_SHUFFLE, e) by Fisher-Yates; batch j = t mod nb
   takes positions [j batch, min((j+1) batch, n)) of it, sorted increasingly. The run is a
   function of (config, data, theta_0) only, so the same seed gives the same run for any
   number of ranks up to the rounding of the sums over ranks.

   The model is replicated on the ranks; the samples are split (SpdData), and every
   gradient and Hessian-vector product sums over ranks (data parallel). */
#pragma once
#include <specdyn/model.h>

typedef enum { SPD_MOMENTUM_NONE,
  SPD_MOMENTUM_HEAVY_BALL,
  SPD_MOMENTUM_NESTEROV } SpdMomentum;
PETSC_EXTERN const char *const SpdMomenta[]; /* "none", "heavy_ball", "nesterov", NULL */

/* Learning rate eta_t = lr * warm(t) * sched(t): warm(t) = (t + 1) / warmup for
   t < warmup (linear warm-up), else 1; sched: constant 1; step gamma^floor(t' / every);
   cosine lr_min/lr + (1 - lr_min/lr)(1 + cos(pi t' / T'))/2, with t' = t - warmup and
   T' = steps - warmup. */
typedef enum { SPD_LR_CONSTANT,
  SPD_LR_STEP,
  SPD_LR_COSINE } SpdLRSchedule;
PETSC_EXTERN const char *const SpdLRSchedules[]; /* "constant", "step", "cosine", NULL */

/* Initialization of theta_0 from (seed, SPD_TAG_INIT, parameter index), for each layer
   with fan_in = width[l]:
     standard (PyTorch's nn.Linear default): W, b ~ U(-s/sqrt(fan_in), s/sqrt(fan_in));
     ntk: W, b ~ N(0, s^2) (the multiplier 1/sqrt(fan_in) is in the model);
     mup: first layer W ~ N(0, s^2/fan_in), hidden and output W ~ N(0, s^2) (the model's
          multipliers 1/sqrt(fan_in), 1/fan_in scale them), b = 0;
   s = init_scale (default 1). The parameterization of the model must be the one given. */

/* When checkpoints are written: step 0, every `every` steps, and the last step
   (geometric: steps 0, 1 and round(ratio^j) for j = 1, 2, ..., deduplicated, and the last). */
typedef enum { SPD_CKPT_EVERY,
  SPD_CKPT_GEOMETRIC } SpdCheckpointSchedule;

typedef struct {
  /* optimizer */
  PetscReal     lr; /* eta */
  SpdLRSchedule schedule;
  PetscInt      warmup; /* warm-up steps (0: none) */
  PetscInt      step_every; /* step schedule: decay every this many steps */
  PetscReal     step_gamma; /* step schedule: factor */
  PetscReal     lr_min; /* cosine schedule: final learning rate */
  SpdMomentum   momentum;
  PetscReal     beta; /* momentum coefficient */
  PetscReal     weight_decay; /* lambda */
  PetscBool     decoupled; /* lambda is lambda_d (decoupled) instead of lambda_c (L2) */
  PetscInt      batch; /* minibatch size; 0 or >= n: full batch (gradient descent) */
  PetscInt      steps; /* T */
  PetscInt64    seed; /* initialization and shuffling */
  /* initialization */
  SpdParameterization param;
  PetscReal           init_scale; /* s; <= 0 means 1 */
  /* checkpoints and metrics (SpdTrainerRun) */
  SpdCheckpointSchedule ckpt;
  PetscInt              ckpt_every; /* SPD_CKPT_EVERY: every this many steps (0: first and last only) */
  PetscReal             ckpt_ratio; /* SPD_CKPT_GEOMETRIC: ratio > 1 (default 2) */
  PetscInt              eval_every; /* full-data loss/accuracy every this many steps (0: at checkpoints only) */
  PetscBool             ckpt_float32; /* safetensors dtype F32 (default F64: exact) */
} SpdTrainConfig;

/* Defaults: lr 0.1, constant, no momentum (beta 0.9 when enabled), no decay, full batch,
   100 steps, seed 0, standard parameterization, checkpoints every 10 steps. */
PETSC_EXTERN PetscErrorCode SpdTrainConfigDefaults(SpdTrainConfig *);

typedef struct _p_SpdTrainer *SpdTrainer;

/* A trainer of mlp (whose multipliers match cfg->param) on data; keeps references to
   both (destroy them after the trainer). The state is (t = 0, theta = mlp's theta,
   m = 0). Validates cfg (lr > 0, batch >= 0, steps >= 0, beta in [0, 1), ...) with
   messages naming the key. Collective. */
PETSC_EXTERN PetscErrorCode SpdTrainerCreate(SpdMLP, SpdData, const SpdTrainConfig *, SpdTrainer *);
PETSC_EXTERN PetscErrorCode SpdTrainerDestroy(SpdTrainer *);
PETSC_EXTERN PetscErrorCode SpdTrainerGetModel(SpdTrainer, SpdMLP *);
PETSC_EXTERN PetscErrorCode SpdTrainerGetConfig(SpdTrainer, const SpdTrainConfig **);
/* theta_0 from the seed (see above); sets t = 0 and m = 0. Not collective (replicated). */
PETSC_EXTERN PetscErrorCode SpdTrainerInitialize(SpdTrainer);
/* The sorted global sample indices of step t's minibatch (owned by the trainer, valid
   until the next call) and their number. */
PETSC_EXTERN PetscErrorCode SpdTrainerGetBatch(SpdTrainer, PetscInt t, PetscInt *nb, const PetscInt *idx[]);
/* The minibatch of step t as data (owned by the trainer, valid until the next call):
   the data itself for full batch. Collective. */
PETSC_EXTERN PetscErrorCode SpdTrainerGetBatchData(SpdTrainer, PetscInt t, SpdData *);
PETSC_EXTERN PetscErrorCode SpdTrainerGetLearningRate(SpdTrainer, PetscInt t, PetscReal *eta);
/* One step from (t, theta_t, m_t) to (t + 1, theta_{t+1}, m_{t+1}); the minibatch loss and
   gradient norm (of grad L_B, before decay) of step t are kept (SpdTrainerGetStepStats).
   Errors if the loss or gradient is not finite (naming the step). Collective. */
PETSC_EXTERN PetscErrorCode SpdTrainerStep(SpdTrainer);
PETSC_EXTERN PetscErrorCode SpdTrainerGetStepStats(SpdTrainer, PetscReal *loss, PetscReal *gradnorm);
/* The minibatch accuracy (fraction of the step's samples classified right) of the last step; -1 for regression. */
PETSC_EXTERN PetscErrorCode SpdTrainerGetStepAccuracy(SpdTrainer, PetscReal *accuracy);
/* The state: step t, theta (the model's parameters, length P) and m (length P, NULL
   without momentum); arrays owned by the trainer, writable. */
PETSC_EXTERN PetscErrorCode SpdTrainerGetState(SpdTrainer, PetscInt *t, PetscReal **theta, PetscReal **m);
/* Set the state (m ignored without momentum; NULL means 0). */
PETSC_EXTERN PetscErrorCode SpdTrainerSetState(SpdTrainer, PetscInt t, const PetscReal theta[], const PetscReal m[]);
/* Full-data loss and accuracy (classification; accuracy -1 for regression) at the current
   theta on `data` (any data set with the model's dimensions, e.g. a test set). Collective. */
PETSC_EXTERN PetscErrorCode SpdTrainerEvaluate(SpdTrainer, SpdData, PetscReal *loss, PetscReal *accuracy);

/* The tangent (Jacobian) of step t at theta_t and m_t, applied in place to a tangent
   state (dtheta, dm) (dm NULL without momentum, length P each, replicated):
     forward:   dg = (H_t + lambda_c) dtheta,  dm' = beta dm + dg,
                dd = dg | dm' | dg + beta dm',  dtheta' = (1 - eta_t lambda_d) dtheta - eta_t dd;
     transpose: the adjoint of that linear map (H_t symmetric).
   H_t is the Hessian of L_{B_t} at theta_t: one SpdMLPSetPoint on step t's minibatch and
   one Hessian-vector product (data parallel). theta_t is given (the trainer's own state
   is not changed). Collective. */
PETSC_EXTERN PetscErrorCode SpdTrainerStepTangent(SpdTrainer, PetscInt t, const PetscReal theta_t[], PetscBool transpose, PetscReal dtheta[], PetscReal dm[]);

/* A whole run into directory `dir` (created): from the state in dir/state.h5 when it
   exists (resume after a kill), else from the current state. Writes
     dir/checkpoints/step_XXXXXXXX.safetensors  (PyTorch-style names "layers.<l>.weight",
                                                 "layers.<l>.bias"; __metadata__ with step,
                                                 lr and the architecture)
     dir/metrics.h5   (/steps/{step,lr,loss,accuracy,gradnorm}, /evals/{step,loss,accuracy[,test_*]},
                       attributes: config, data, seed)
     dir/state.h5     (t, theta, m exactly, at the last checkpoint; for resume)
   each atomically (tmp + rename). `test` (may be NULL) is evaluated with the training
   data at evaluations. Stops cleanly between steps on SIGTERM (SpdStopRequested) after
   writing a checkpoint and state; *done reports whether all steps ran. Collective. */
PETSC_EXTERN PetscErrorCode SpdTrainerRun(SpdTrainer, const char dir[], SpdData test, PetscBool *done);
/* Whether step t is a checkpoint step of cfg (t in [0, steps]). */
PETSC_EXTERN PetscBool SpdTrainCheckpointStep(const SpdTrainConfig *, PetscInt t);
/* Write theta of mlp as a safetensors checkpoint (names "layers.<l>.weight"/".bias",
   F64 or F32) at `path` atomically, with __metadata__ key/value pairs (may be NULL).
   Rank 0 writes. Collective. */
PETSC_EXTERN PetscErrorCode SpdMLPSaveSafetensors(SpdMLP, const char path[], PetscBool float32, PetscInt nmeta, const char *const keys[], const char *const values[]);
