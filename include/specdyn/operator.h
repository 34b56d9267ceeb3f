/* specdyn/operator.h - analysed matrices (the "operator" layer).

   An SpdMatrixView names one matrix to analyse: a block of a tensor's stored 2-D view,
   optionally transposed (Keras kernels [in,out], GPT-2 style Conv1D weights, or a
   split rule that asks for it). Fused attention projections become several views of
   one tensor (parts q,k,v, and heads). The analysed matrix is
       A = S[row0:row0+nrows, col0:col0+ncols]      (transpose = false)
       A = S[row0:row0+nrows, col0:col0+ncols]^T    (transpose = true)
   SpdMatLoadView loads A as a MATMPIDENSE whose rows are distributed with PETSc's
   default layout; each rank reads only its own rows of A from the file. */
#pragma once
#include <specdyn/reader.h>
#include <specdyn/train.h>
#include <petscmat.h>

typedef struct {
  char       name[SPD_MAX_NAME]; /* analysed name: tensor name, plus "[part]" and "/head<h>" */
  PetscInt   tensor; /* index in the reader                                     */
  PetscInt64 row0, nrows, col0, ncols;
  PetscBool  transpose;
} SpdMatrixView;

/* Rows m and columns n of the analysed matrix. */
PETSC_EXTERN void SpdMatrixViewShape(const SpdMatrixView *, PetscInt64 *m, PetscInt64 *n);
/* The whole tensor as one view (transposed when the tensor is stored [in,out]). */
PETSC_EXTERN PetscErrorCode SpdMatrixViewFromTensor(const SpdTensorInfo *, PetscInt, SpdMatrixView *);
/* Collective on comm: load the view as an m x n MATMPIDENSE on comm. */
PETSC_EXTERN PetscErrorCode SpdMatLoadView(SpdReader, const SpdMatrixView *, MPI_Comm, Mat *);
/* Collective on comm: load the view straight into the float32 operator of
   SpdMatCreateFloat32 (no float64 copy: 4mn/p bytes plus one read chunk per rank). */
PETSC_EXTERN PetscErrorCode SpdMatLoadViewFloat32(SpdReader, const SpdMatrixView *, MPI_Comm, Mat *);

/* Apply a MATMPIDENSE / MATSEQDENSE with specdyn's column-blocked kernels instead of
   BLAS dgemv (MatMult, MatMultTranspose of the local block; -spd_dense_kernels 0 keeps
   PETSc's). SpdMatLoadView sets it. */
PETSC_EXTERN PetscErrorCode SpdMatDenseSetKernels(Mat A);
/* A copy of A stored in float32 and applied in double (products accumulate in double).
   Exact when A's entries are binary32 numbers (F32, BF16, F16 checkpoints); halves the
   bytes every product reads. Errors if an entry is not a binary32 number. */
PETSC_EXTERN PetscErrorCode SpdMatCreateFloat32(Mat A, Mat *S);
/* -spd_weights_storage auto|float32|double: auto is float32 for F32/BF16/F16 tensors. */
PETSC_EXTERN PetscErrorCode SpdTensorUseFloat32(const SpdTensorInfo *, PetscBool *);
/* Y_r = A X_r (resp. A^T X_r), r < k, in one pass over A where the matrix allows it. */
PETSC_EXTERN PetscErrorCode SpdMatMultBlock(Mat A, PetscInt k, const Vec X[], Vec Y[]);
PETSC_EXTERN PetscErrorCode SpdMatMultTransposeBlock(Mat A, PetscInt k, const Vec X[], Vec Y[]);
/* How many vectors a block product takes for about the cost of one single product:
   4 for the float32 operator on CPUs with AVX2 and FMA when it is larger than the caches
   (-spd_float32_block_min_mb, default SPD_FLOAT32_BLOCK_MIN_MB per rank), 1 otherwise.
   Not collective; the same on every rank. */
PETSC_EXTERN PetscErrorCode SpdMatGetBlockWidth(Mat A, PetscInt *b);
#define SPD_FLOAT32_BLOCK_MIN_MB 16.0

/* The curvature as a symmetric MATSHELL on a distributed vector (SLEPc's view): restricted
   to the parameters [off_j, off_j + len_j), j < nblocks (a layer's block or any subset;
   nblocks = 0: all parameters). A product gathers the input, each rank applies C to its
   samples, and one MPI_Reduce_scatter returns the distributed result. Collective. */
PETSC_EXTERN PetscErrorCode SpdMatCreateCurvature(SpdMLP, SpdCurvature, PetscInt nblocks, const PetscInt off[], const PetscInt len[], Mat *);

/* x (distributed) into out[] (replicated) through a VecScatterCreateToAll scatter. Collective. */
PETSC_EXTERN PetscErrorCode SpdVecGatherToAll(VecScatter toall, Vec x, Vec xall, PetscReal out[]);

/* A MATSHELL applying A and counting the products (and transposes); norm and diagonal
   forwarded when A has them. The solvers report products through it. */
PETSC_EXTERN PetscErrorCode SpdMatCreateCounting(Mat A, Mat *S);
PETSC_EXTERN PetscErrorCode SpdMatCountingGetCounts(Mat S, PetscInt *nmult, PetscInt *nmultt);

/* ---- training and parameter-function Jacobians (docs/training.md) ------------- */
/* The training Jacobian J_T = d theta_T / d theta_0 of the run of `trainer` (config and
   data fixed) from its current state, which must be t = 0 (theta_0; m_0 = 0): a P x P
   MATSHELL on distributed vectors with MatMult (the tangent through steps 0..T-1,
   SpdTrainerStepTangent) and MatMultTranspose (the adjoint, steps T-1..0). The iterates
   (theta_t, m_t) are replayed from theta_0 once at creation and kept every `every` steps
   (every = 1: all of them, T P doubles, no recomputation; every = K: T/K snapshots, and
   the transpose product recomputes each segment of K steps forward before going back
   through it). The trainer is left at t = 0. Collective. */
PETSC_EXTERN PetscErrorCode SpdMatCreateTrainingJacobian(SpdTrainer, PetscInt every, Mat *);
/* The parameter-function Jacobian J_f = d z_L / d theta at the model's point (after
   SpdMLPSetPoint): (n out) x P, row i*out + o = output o of global sample i, rows
   distributed as the samples (each rank owns its samples' rows), columns as PETSc's
   default split of P. Collective. */
PETSC_EXTERN PetscErrorCode SpdMatCreateFunctionJacobian(SpdMLP, Mat *);
