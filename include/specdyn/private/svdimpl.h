/* Private: the block Lanczos solver behind SpdSVDExtreme (src/solver/svdblock.c). */
#pragma once
#include <specdyn/svd.h>

typedef struct {
  PetscInt   nconv; /* leading triplets with estimate <= tol * sigma              */
  PetscInt   its; /* restart cycles                                           */
  PetscInt   nprod; /* products with A plus products with A^T                   */
  PetscReal *sigma; /* k Ritz values, descending                                */
  PetscReal *estimate; /* k residual estimates ||A^T u_i - s_i v_i|| (A v_i = s_i u_i) */
  PetscReal *residual; /* k residual norms ||[A v_i - s_i u_i; A^T u_i - s_i v_i]|| from the products */
  Vec       *U, *V; /* k Ritz vectors (left: layout of A's rows; right: columns)  */
} SpdBlockResult;

/* Collective on A. Top-k triplets of A with b-vector block products (SpdMatMultBlock),
   basis ncv (a multiple of b, k + b <= ncv <= m, ncv + b <= n), relative tolerance tol,
   at most maxit restart cycles. The caller frees r's arrays (PetscFree2 of sigma,
   estimate, residual: PetscFree3) and vectors (VecDestroyVecs of k each). */
PETSC_INTERN PetscErrorCode SpdSVDBlockLanczos_Private(Mat A, PetscInt k, PetscInt b, PetscInt ncv, PetscReal tol, PetscInt maxit, SpdBlockResult *r);
