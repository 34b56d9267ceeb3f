/* specdyn/svd.h - singular values of an analysed matrix (the "solver" layer).

   SpdSVDFull:    every singular value of a dense distributed matrix (ScaLAPACK).
   SpdSVDExtreme: top-k or bottom-k singular triplets with SLEPc, each with its
                  absolute residual norm; unconverged triplets are reported, never
                  dropped (their last estimates are kept with converged = false). */
#pragma once
#include <petscmat.h>
#include <slepcsvd.h>

/* Result of SpdSVDExtreme. Arrays have length k (the number requested). */
typedef struct {
  PetscInt   k; /* requested                                                    */
  PetscInt   nconv; /* converged (the first nconv entries, in the order asked for)  */
  PetscReal *sigma; /* singular values: descending for top, ascending for bottom    */
  PetscReal *residual; /* ||A v - s u||^2+||A^T u - s v||^2 under sqrt: absolute, >= |s - s_exact|; for
                          unconverged entries the solver's last error estimate (may be NaN) */
  PetscBool *converged;
  PetscInt   its; /* solver iterations                                            */
  PetscInt   nprod; /* products with A plus products with A^T, the residual norms'
                       included (-1: not counted, for solvers given the explicit
                       matrix, e.g. -svd_type lapack)                                */
  PetscInt npasses; /* passes over A: the solver's products plus 2 block products per
                       64 residuals (-1 when nprod is)                               */
  Vec      *U, *V; /* nconv left / right singular vectors (NULL unless requested)  */
  char      solver[64]; /* SVD type used                                                */
  PetscReal tol;
} SpdTriplets;

typedef enum { SPD_SVD_TOP,
  SPD_SVD_BOTTOM } SpdSVDWhich;

/* Collective on A. sigma[] has min(m,n) entries on output, descending, on every rank.
   A must be MATMPIDENSE or MATSEQDENSE (it is copied, not modified). */
PETSC_EXTERN PetscErrorCode SpdSVDFull(Mat A, PetscReal sigma[]);
/* Collective on A. `prefix` is the options prefix of this solve (e.g. "top_"); plain
   -svd_* options apply first, then prefixed ones. Defaults: trlanczos with implicit
   transpose; for the bottom, ncv = max(64, 2k+16) (FACTS.md). The top runs block Lanczos
   (src/solver/svdblock.c) with b = SpdMatGetBlockWidth(A) vectors per product when b > 1
   (float32 storage beyond the caches on AVX2 CPUs); -spd_svd_block b chooses (0: SLEPc). */
PETSC_EXTERN PetscErrorCode SpdSVDExtreme(Mat A, SpdSVDWhich which, PetscInt k, PetscBool vectors, const char prefix[], SpdTriplets *);
/* k vectors v with ||A v|| small: the bottom solve, where a right Ritz vector whose Ritz
   value is <= delta counts as converged (||A v|| equals it, Lanczos bidiagonalization
   keeping A V = U B); A must have m >= n. Collective on A. */
PETSC_EXTERN PetscErrorCode SpdSVDNearNull(Mat A, PetscInt k, PetscReal delta, const char prefix[], SpdTriplets *);
/* The exact triplets of the zero matrix (sigma 0, residual 0, unit vectors e_i), where
   Krylov solvers cannot start. Collective on A. */
PETSC_EXTERN PetscErrorCode SpdSVDExtremeZero(Mat A, SpdSVDWhich which, PetscInt k, PetscBool vectors, SpdTriplets *);
PETSC_EXTERN PetscErrorCode SpdTripletsDestroy(SpdTriplets *);
