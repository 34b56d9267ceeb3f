/* specdyn/eig.h - eigenpairs and spectral estimators of symmetric operators (the
   "solver" layer, symmetric side).

   The operators are symmetric PETSc Mats on a distributed vector, usually MATSHELL
   (loss Hessian, Gauss-Newton, gradient covariance G): only products are available.
   SpdEigExtreme: the k largest or most negative eigenpairs (SLEPc EPS, Hermitian,
                  Krylov-Schur by default; every -eps_* option applies), each with its
                  residual norm ||A x - lambda x|| (one product per pair after the solve
                  by default; -spd_eig_explicit_residuals 0: Krylov-Schur's estimate, no
                  products); unconverged
                  pairs are reported. Convergence (tol 1e-10 by default): ||r|| <= tol ||A||
                  (EPS_CONV_NORM, or for operators without MatNorm tol max |Ritz value|
                  so far, no extra products) so that eigenvalues near zero converge.
   SpdTraceHutchinson / SpdTraceHutchPP: trace estimates with their standard error.
   SpdDensitySLQ: spectral density by stochastic Lanczos quadrature.
   Random probes are Rademacher vectors whose entries depend only on (seed, probe,
   global index): the same for any number of ranks. */
#pragma once
#include <petscmat.h>

typedef enum { SPD_EIG_LARGEST, /* largest algebraic (top) */
  SPD_EIG_SMALLEST /*             smallest algebraic (most negative) */
} SpdEigWhich;

typedef struct {
  PetscInt   k; /* requested */
  PetscInt   nconv; /* converged (the first nconv entries)                        */
  PetscReal *lambda; /* k eigenvalues: descending (largest) or ascending (smallest)  */
  PetscReal *residual; /* ||A x - lambda x||_2 with ||x|| = 1 (absolute); unconverged: last estimate */
  PetscBool *converged;
  PetscInt   its; /* solver iterations */
  PetscInt   nprod; /* products with A (residual norms included)                      */
  Vec       *X; /* nconv eigenvectors (NULL unless requested)                      */
  char       solver[64]; /* EPS type used */
  char       residuals[32]; /* how `residual` was obtained: "explicit" (products after the solve) or
                               "Krylov estimate" (Krylov-Schur's |beta e_m^T y|, no products) */
  PetscReal tol;
} SpdEigenpairs;

/* Collective on A. `prefix` is the options prefix of this solve (e.g. "hessian_top_");
   plain -eps_* options apply first, then prefixed ones. */
PETSC_EXTERN PetscErrorCode SpdEigExtreme(Mat A, SpdEigWhich which, PetscInt k, PetscBool vectors, const char prefix[], SpdEigenpairs *);
PETSC_EXTERN PetscErrorCode SpdEigenpairsDestroy(SpdEigenpairs *);

/* Rademacher probe number `probe` of seed `seed` into v (entries +-1 by global index). */
PETSC_EXTERN PetscErrorCode SpdProbeRademacher(Vec v, PetscInt64 seed, PetscInt probe);
/* Hutchinson: tr(A) ~ mean_j z_j^T A z_j over nprobe Rademacher probes; stderr = sample
   std / sqrt(nprobe). Collective. */
PETSC_EXTERN PetscErrorCode SpdTraceHutchinson(Mat A, PetscInt nprobe, PetscInt64 seed, PetscReal *trace, PetscReal *stderror);
/* Hutch++ (Meyer, Musco, Musco, Woodruff 2021) with `nprod` products in total
   (nprod/3 for the sketch S, nprod/3 for Q = orth(A S), nprod/3 Hutchinson probes on
   the deflated remainder): tr(Q^T A Q) + Hutchinson on (I - QQ^T) A (I - QQ^T);
   stderr of the Hutchinson part. Collective. */
PETSC_EXTERN PetscErrorCode SpdTraceHutchPP(Mat A, PetscInt nprod, PetscInt64 seed, PetscReal *trace, PetscReal *stderror);

/* Stochastic Lanczos quadrature: nprobe Rademacher probes, nsteps Lanczos steps each
   (full reorthogonalization), Ritz values theta and weights tau^2 (squared first
   components of the tridiagonal's eigenvectors). The density on `ngrid` points spanning
   [min theta - 3 sigma, max theta + 3 sigma] is
     phi(t) = (1/nprobe) sum_probes sum_j tau_j^2 N(t; theta_j, sigma^2),
   integrating to 1 (sigma <= 0: sigma = (max - min theta) / 100).
   Outputs (allocated, free with PetscFree): grid[ngrid], density[ngrid], and the raw
   nodes[nprobe * nsteps], weights[nprobe * nsteps] (probe-major). Collective. */
typedef struct {
  PetscInt   nprobe, nsteps, ngrid;
  PetscReal  sigma;
  PetscReal *grid, *density, *nodes, *weights;
  PetscReal *alpha, *beta; /* each probe's Lanczos tridiagonal (probe-major, nsteps each; beta[j]
                              couples steps j and j+1), for quadratures of fewer steps */
  PetscInt *steps; /* Lanczos steps taken per probe (< nsteps when the space became invariant) */
  PetscInt  nprod;
} SpdDensity;
PETSC_EXTERN PetscErrorCode SpdDensitySLQ(Mat A, PetscInt nprobe, PetscInt nsteps, PetscInt64 seed, PetscInt ngrid, PetscReal sigma, SpdDensity *);
PETSC_EXTERN PetscErrorCode SpdDensityDestroy(SpdDensity *);
