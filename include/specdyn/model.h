/* specdyn/model.h - the built-in MLP family and its derivatives (the "model" layer).

   h_0 = x, z_l = a_l W_l h_{l-1} + c_l b_l, h_l = phi_l(z_l) for l < L, output z_L;
   per-sample loss l(z_L, y): MSE l = 1/2 ||z_L - y||^2 (y one-hot for class labels) or
   softmax cross-entropy l = -log softmax(z_L)_y; L(theta) = (1/n) sum_i l_i.
   a_l, c_l are the parameterization's multipliers (standard: 1; NTK: a_l = 1/sqrt(fan_in);
   muP: see docs/curvature.md; or given per layer).

   The parameter vector theta stacks, layer by layer, W_l (row-major, out x in, PyTorch's
   layout) then b_l (when the layer has a bias). The model is replicated on the ranks of
   its communicator; samples are not: each rank evaluates its own samples of an SpdData,
   and the sums over samples are reduced (data parallel).

   SpdMLPSetPoint(mlp, data) runs the forward and backward passes once at the current
   theta and keeps what every product at that theta reuses (pre-activations, gates
   phi', phi'', output derivatives). Products then cost a forward R-pass and one
   backward pass:
     Hessian (Pearlmutter's R-operator, exact), Gauss-Newton J^T H_l J v, and the
     gradient covariance G v = (1/n) sum_i g_i (g_i^T v) without storing any g_i. */
#pragma once
#include <specdyn/data.h>
#include <specdyn/reader.h>

typedef enum { SPD_ACT_IDENTITY,
  SPD_ACT_RELU,
  SPD_ACT_LEAKY_RELU,
  SPD_ACT_TANH,
  SPD_ACT_GELU } SpdActivation;
PETSC_EXTERN const char *const SpdActivations[]; /* "identity", "relu", "leaky_relu", "tanh", "gelu", NULL */

typedef enum { SPD_LOSS_MSE,
  SPD_LOSS_CROSS_ENTROPY } SpdLoss;
PETSC_EXTERN const char *const SpdLosses[]; /* "mse", "cross_entropy", NULL */

typedef enum { SPD_CURV_HESSIAN,
  SPD_CURV_GAUSS_NEWTON,
  SPD_CURV_GRADIENT_COVARIANCE } SpdCurvature;
PETSC_EXTERN const char *const SpdCurvatures[]; /* "hessian", "gauss_newton", "gradient_covariance", NULL */

typedef struct _p_SpdMLP *SpdMLP;

/* nlayers dense layers; width[0..nlayers] (width[0] = input dimension); act[l] for the
   hidden layers l = 0..nlayers-2 (after layer l+1); bias[l] per layer. Not collective on
   data: the model is replicated on comm. theta starts at 0. */
PETSC_EXTERN PetscErrorCode SpdMLPCreate(MPI_Comm, PetscInt nlayers, const PetscInt width[], const SpdActivation act[], const PetscBool bias[], SpdLoss, SpdMLP *);
/* Multipliers a_l (weights) and c_l (biases) per layer. */
PETSC_EXTERN PetscErrorCode SpdMLPSetMultipliers(SpdMLP, const PetscReal a[], const PetscReal c[]);
/* Leaky ReLU slope for negative inputs (default 0.01, PyTorch's). */
PETSC_EXTERN PetscErrorCode SpdMLPSetLeakySlope(SpdMLP, PetscReal);
PETSC_EXTERN PetscErrorCode SpdMLPGetNumParameters(SpdMLP, PetscInt *);
/* The communicator the model is replicated on. */
PETSC_EXTERN PetscErrorCode SpdMLPGetComm(SpdMLP, MPI_Comm *);
/* Offsets into theta of layer l's weights and bias (-1 when none), and their sizes. */
PETSC_EXTERN PetscErrorCode SpdMLPGetLayerBlock(SpdMLP, PetscInt l, PetscInt *woff, PetscInt *wsize, PetscInt *boff, PetscInt *bsize);
/* The architecture (arrays owned by the model, each output optional): L, width[0..L],
   act[0..L-1] (act[L-1] = identity), bias[0..L-1], multipliers a[0..L-1], c[0..L-1],
   leaky slope. */
PETSC_EXTERN PetscErrorCode SpdMLPGetArchitecture(SpdMLP, PetscInt *L, const PetscInt *width[], const SpdActivation *act[], const PetscBool *bias[], const PetscReal *a[], const PetscReal *c[], PetscReal *slope);
/* theta (replicated, length nparams), read or written in place; call SpdMLPSetPoint again after a change. */
PETSC_EXTERN PetscErrorCode SpdMLPGetParameters(SpdMLP, PetscReal **theta);
/* Forward and backward at theta on data's local samples; keeps the caches products reuse.
   Checks the data against the model (input dimension, label range / target dimension).
   Collective. */
PETSC_EXTERN PetscErrorCode SpdMLPSetPoint(SpdMLP, SpdData);
/* The data of the current point (NULL before SpdMLPSetPoint). */
PETSC_EXTERN PetscErrorCode SpdMLPGetData(SpdMLP, SpdData *);
/* A counter increased by every SpdMLPSetPoint (and SpdMLPSetMultipliers, SpdMLPSetLeakySlope):
   record it to detect later that the point has moved (like PetscObjectStateGet). */
PETSC_EXTERN PetscErrorCode SpdMLPGetPointState(SpdMLP, PetscInt64 *state);
/* Loss L(theta) and gradient (replicated, length nparams) at the point. Collective. */
PETSC_EXTERN PetscErrorCode SpdMLPGetLossGradient(SpdMLP, PetscReal *loss, PetscReal grad[]);
/* Outputs z_L of the local samples (nlocal x out, row-major) at the point. */
PETSC_EXTERN PetscErrorCode SpdMLPGetOutputs(SpdMLP, const PetscReal **Z);
/* y = C v for the curvature C at the point; v and y replicated (length nparams). Local
   samples only when `local` (no reduction, not divided by n); else summed over comm and
   divided by n. */
PETSC_EXTERN PetscErrorCode SpdMLPCurvatureApply(SpdMLP, SpdCurvature, const PetscReal v[], PetscReal y[], PetscBool local);
/* The parameter-function Jacobian at the point, local samples: Jv = d z_L / d theta v
   (nlocal x out, row-major, sample i's outputs contiguous), and y = J^T u for u of that
   shape (length P; summed over comm when !local, else the rank's own samples only).
   Collective when !local. */
PETSC_EXTERN PetscErrorCode SpdMLPJacobianApply(SpdMLP, const PetscReal v[], PetscReal Jv[]);
PETSC_EXTERN PetscErrorCode SpdMLPJacobianTransposeApply(SpdMLP, const PetscReal u[], PetscReal y[], PetscBool local);
PETSC_EXTERN PetscErrorCode SpdMLPDestroy(SpdMLP *);

/* ---- a model from a checkpoint ---------------------------------------------- */
#define SPD_MLP_MAX_LAYERS 64
typedef enum { SPD_PARAM_STANDARD,
  SPD_PARAM_NTK,
  SPD_PARAM_MUP,
  SPD_PARAM_CUSTOM } SpdParameterization;
PETSC_EXTERN const char *const SpdParameterizations[]; /* "standard", "ntk", "mup", "custom", NULL */

/* What the job says about the model (docs/jobs.md, `model:`). */
typedef struct {
  PetscInt            nlayers; /* 0: from the Keras model_config or the tensor names   */
  char                weight[SPD_MLP_MAX_LAYERS][SPD_MAX_NAME];
  char                bias[SPD_MLP_MAX_LAYERS][SPD_MAX_NAME]; /* "" : no bias       */
  PetscBool           act_given; /* activations given by the job                  */
  PetscInt            nact; /* 1 (all hidden layers) or one per hidden layer       */
  SpdActivation       act[SPD_MLP_MAX_LAYERS];
  char                keras_act[SPD_MLP_MAX_LAYERS][32]; /* filled from model_config   */
  PetscReal           leaky_slope; /* <= 0: 0.01 */
  SpdLoss             loss;
  SpdParameterization param;
  PetscReal           wmult[SPD_MLP_MAX_LAYERS], bmult[SPD_MLP_MAX_LAYERS]; /* custom */
} SpdMLPSpec;

/* The multipliers a_l (weights), c_l (biases) of a parameterization for widths[0..L]
   (custom: wmult/bmult, else ignored). */
PETSC_EXTERN PetscErrorCode SpdParameterizationMultipliers(SpdParameterization, PetscInt L, const PetscInt width[], const PetscReal wmult[], const PetscReal bmult[], PetscReal a[], PetscReal c[]);
/* Metadata only: layer names, L and widths (width[0..L]) of the checkpoint's MLP. */
PETSC_EXTERN PetscErrorCode SpdMLPResolve(SpdReader, const SpdMLPSpec *, SpdMLPSpec *out, PetscInt *L, PetscInt width[]);
/* Collective on comm. Each rank reads its block of every tensor; theta is then replicated. */
PETSC_EXTERN PetscErrorCode SpdMLPCreateFromCheckpoint(SpdReader, MPI_Comm, const SpdMLPSpec *, SpdMLP *);

/* ---- hidden representations (src/model/hidden.c) ----------------------------- */
/* The representation h_l of data's local samples at the current theta (a plain forward
   pass; the point of SpdMLPSetPoint is not touched): l = 0 the inputs, 0 < l < L the
   hidden layer phi_l(z_l), l = L the outputs z_L. H is nlocal x width[l], row-major
   (allocated by the caller). Not collective. */
PETSC_EXTERN PetscErrorCode SpdMLPGetHidden(SpdMLP, SpdData, PetscInt l, PetscReal H[]);
