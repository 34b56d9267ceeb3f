/* The tangent of one training step and its adjoint (the building block of the training
   Jacobian J_T = d theta_T / d theta_0, src/operator/trainjac.c).

   Step t (train.h), with A = H_t + lambda_c I (H_t the Hessian of the minibatch loss at
   theta_t, symmetric), c = 1 - eta_t lambda_d and the direction written as
   d = p g + q m' with (p, q) = (1, 0) without momentum, (0, 1) heavy ball, (1, beta)
   Nesterov:
     g = grad L_B(theta) + lambda_c theta,  m' = beta m + g,  theta' = c theta - eta d.
   Its tangent at (theta_t, m_t) is linear in (dtheta, dm):
     dg = A dtheta,  dm' = beta dm + dg,  dtheta' = c dtheta - eta (p dg + q dm'),
   i.e. the 2x2 block operator
     [dtheta']   [ c I - eta (p + q) A   -eta q beta I ] [dtheta]
     [dm'    ] = [ A                      beta I       ] [dm    ]
   (heavy ball: top row c - eta A, -eta beta; Nesterov: c - eta (1 + beta) A, -eta beta^2;
   without momentum the state is theta alone and the map is c I - eta A). Coupled decay
   enters through A, decoupled decay through c; both are symmetric, so the transpose
   only swaps the off-diagonal blocks:
     [abar_prev]   [ c I - eta (p + q) A   A      ] [abar]
     [bbar_prev] = [ -eta q beta I         beta I ] [bbar]
   computed with one product by A as
     gbar = bbar - eta (p + q) abar,  abar_prev = c abar + A gbar,
     bbar_prev = beta (bbar - eta q abar),
   which is reverse-mode differentiation of the forward recurrence read backwards
   (dd = p dg + q dm' sends -eta abar to gbar (p) and to dm' (q); dm' = beta dm + dg sends
   its cotangent to dm (beta) and to gbar; dg = A dtheta sends A gbar to dtheta).
   Either direction costs one SpdMLPSetPoint on step t's minibatch and one exact
   Hessian-vector product (data parallel). The work arrays live in the trainer (allocated
   at the first call); theta_t is copied into the model only when it is not the trainer's
   own theta (callers stepping through a run should SpdTrainerSetState() to theta_t, one
   copy, rather than pass a snapshot, which costs a save, a copy and a restore). */
#include "trainimpl.h"

/* The work arrays of the tangent (P each), allocated once per trainer. */
static PetscErrorCode SpdTrainerTangentWork_Private(SpdTrainer tr)
{
  PetscFunctionBegin;
  if (!tr->tan_w) PetscCall(PetscMalloc3(tr->P, &tr->tan_w, tr->P, &tr->tan_Aw, tr->P, &tr->tan_saved));
  PetscFunctionReturn(0);
}

/* y = (H_t + lambda_c) v at theta_t, with the model's parameters restored afterwards. */
static PetscErrorCode SpdTrainerHessianApply_Private(SpdTrainer tr, PetscInt t, const PetscReal theta_t[], PetscReal lambda_c, const PetscReal v[], PetscReal y[])
{
  SpdData        batch;
  PetscReal     *theta = tr->theta, *saved = NULL; /* the model's parameter array */
  PetscInt       P = tr->P;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  if (theta != theta_t) { /* a snapshot: swap it in, and the trainer's theta back afterwards */
    saved = tr->tan_saved;
    PetscCall(PetscArraycpy(saved, theta, P));
    PetscCall(PetscArraycpy(theta, theta_t, P));
  }
  ierr = SpdTrainerGetBatchData(tr, t, &batch);
  if (!ierr) ierr = SpdMLPSetPoint(tr->mlp, batch);
  if (!ierr) ierr = SpdMLPCurvatureApply(tr->mlp, SPD_CURV_HESSIAN, v, y, PETSC_FALSE);
  if (saved) PetscCall(PetscArraycpy(theta, saved, P)); /* also on error: the state is not changed */
  PetscCall(ierr);
  if (lambda_c != 0)
    for (PetscInt j = 0; j < P; j++) y[j] += lambda_c * v[j];
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerStepTangent - apply the tangent of training step t, or its transpose, in
  place to a tangent state (dtheta, dm)

  Collective

  Input Parameters:
+ tr        - the trainer (its state is not changed)
. t         - the step, in [0, steps)
. theta_t   - the parameters before step t (length P, replicated)
- transpose - PETSC_FALSE: the tangent map; PETSC_TRUE: its adjoint

  Input/Output Parameters:
+ dtheta - length P, replicated
- dm     - length P with momentum (required), ignored without (may be NULL)

  Notes:
  The momentum m_t is not needed: the step is affine in m. The model's point is left at
  theta_t on step t's minibatch (its parameters are restored); call SpdMLPSetPoint()
  again before using the model's point.

.seealso: `SpdTrainerStep()`, `SpdMatCreateTrainingJacobian()`
@*/
PetscErrorCode SpdTrainerStepTangent(SpdTrainer tr, PetscInt t, const PetscReal theta_t[], PetscBool transpose, PetscReal dtheta[], PetscReal dm[])
{
  const SpdTrainConfig *cfg = &tr->cfg;
  PetscInt              P   = tr->P;
  PetscReal             eta, lc, ld, c, p, q, beta, *w, *Aw;
  PetscBool             mom;

  PetscFunctionBegin;
  PetscCheck(t >= 0 && t < cfg->steps, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Step %" PetscInt_FMT " has no tangent: the run has steps 0..%" PetscInt_FMT, t, cfg->steps - 1);
  mom = cfg->momentum != SPD_MOMENTUM_NONE ? PETSC_TRUE : PETSC_FALSE;
  PetscCheck(!mom || dm, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "The run uses %s momentum: SpdTrainerStepTangent() needs the momentum tangent dm (length %" PetscInt_FMT ")", SpdMomenta[cfg->momentum], P);
  PetscCall(SpdTrainerGetLearningRate(tr, t, &eta));
  lc   = cfg->decoupled ? 0.0 : cfg->weight_decay;
  ld   = cfg->decoupled ? cfg->weight_decay : 0.0;
  c    = 1.0 - eta * ld;
  beta = mom ? cfg->beta : 0.0;
  p    = cfg->momentum == SPD_MOMENTUM_HEAVY_BALL ? 0.0 : 1.0;
  q    = cfg->momentum == SPD_MOMENTUM_HEAVY_BALL ? 1.0 : (cfg->momentum == SPD_MOMENTUM_NESTEROV ? beta : 0.0);
  PetscCall(SpdTrainerTangentWork_Private(tr));
  w  = tr->tan_w;
  Aw = tr->tan_Aw;
  if (!transpose) {
    /* dg = A dtheta; dm' = beta dm + dg; dtheta' = c dtheta - eta (p dg + q dm') */
    PetscCall(SpdTrainerHessianApply_Private(tr, t, theta_t, lc, dtheta, Aw));
    if (mom)
      for (PetscInt j = 0; j < P; j++) {
        PetscReal dmn = beta * dm[j] + Aw[j];
        dtheta[j]     = c * dtheta[j] - eta * (p * Aw[j] + q * dmn);
        dm[j]         = dmn;
      }
    else
      for (PetscInt j = 0; j < P; j++) dtheta[j] = c * dtheta[j] - eta * Aw[j];
  } else {
    /* gbar = bbar - eta (p + q) abar; abar <- c abar + A gbar; bbar <- beta (bbar - eta q abar) */
    for (PetscInt j = 0; j < P; j++) w[j] = (mom ? dm[j] : 0.0) - eta * (p + q) * dtheta[j];
    PetscCall(SpdTrainerHessianApply_Private(tr, t, theta_t, lc, w, Aw));
    if (mom)
      for (PetscInt j = 0; j < P; j++) dm[j] = beta * (dm[j] - eta * q * dtheta[j]);
    for (PetscInt j = 0; j < P; j++) dtheta[j] = c * dtheta[j] + Aw[j];
  }
  PetscFunctionReturn(0);
}
