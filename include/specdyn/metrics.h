/* specdyn/metrics.h - scalar metrics of a weight spectrum (pure functions, no MPI).
   Formulas in docs/metrics.md. Singular values are given in descending order. */
#pragma once
#include <petscsys.h>

typedef struct {
  PetscReal frobenius; /* ||W||_F (from the matrix entries, always known)            */
  PetscReal spectral; /* sigma_1 (NaN if unknown)                                   */
  PetscReal nuclear; /* sum sigma_i (NaN unless full)                              */
  PetscReal stable_rank; /* ||W||_F^2 / sigma_1^2                                       */
  PetscReal effective_rank; /* exp(H(p)), p_i = sigma_i / sum_j sigma_j (NaN unless full) */
  PetscInt  numerical_rank; /* #{sigma_i > rank_tol * sigma_1} (-1 unless full)           */
  PetscReal rank_tol;
  PetscReal sigma_min; /* smallest singular value (NaN unless full or bottom known)  */
  PetscReal condition; /* sigma_1 / sigma_min (NaN unless sigma_min known; Inf if 0) */
  PetscReal mp_noise; /* estimated entry std s of the noise bulk (NaN unless full)  */
  PetscReal mp_edge; /* MP bulk edge s (sqrt(m) + sqrt(n))                          */
  PetscInt  mp_outliers; /* #{sigma_i > mp_threshold} (-1 unless full)                 */
  PetscReal alpha; /* power-law exponent of eigenvalues lambda = sigma^2 (NaN if not fitted) */
  PetscReal alpha_xmin; /* x_min of the fit (in lambda units)                          */
  PetscInt  alpha_ntail; /* tail points used                                            */
  PetscReal alpha_ks; /* Kolmogorov-Smirnov distance of the fit                      */
  PetscReal mp_threshold; /* counting threshold: mp_edge plus a Tracy-Widom margin (NaN unless full) */
} SpdWeightMetrics;

PETSC_EXTERN PetscErrorCode SpdMetricsEffectiveRank(PetscInt n, const PetscReal s[], PetscReal *);
PETSC_EXTERN PetscErrorCode SpdMetricsNumericalRank(PetscInt n, const PetscReal s[], PetscReal tol, PetscInt *);
/* Marchenko-Pastur: estimate the noise std s from the bulk and count outliers above the edge. */
PETSC_EXTERN PetscErrorCode SpdMetricsMarchenkoPastur(PetscInt m, PetscInt n, PetscInt ns, const PetscReal s[], PetscReal *noise, PetscReal *edge, PetscInt *outliers);
/* The singular value above which a value counts as an outlier, for noise std `noise`. */
PETSC_EXTERN PetscErrorCode SpdMetricsMarchenkoPasturThreshold(PetscInt m, PetscInt n, PetscReal noise, PetscReal *threshold);
/* Median of the Marchenko-Pastur law of ratio y in (0,1] (unit variance). */
PETSC_EXTERN PetscErrorCode SpdMetricsMarchenkoPasturMedian(PetscReal y, PetscReal *median);
/* Continuous power-law MLE (Clauset, Shalizi, Newman 2009) on x[] (any order), x_min by KS. */
PETSC_EXTERN PetscErrorCode SpdMetricsPowerLaw(PetscInt n, const PetscReal x[], PetscInt min_tail, PetscReal *alpha, PetscReal *xmin, PetscInt *ntail, PetscReal *ks);
/* The same MLE and KS distance for a given x_min (e.g. to follow one x_min across checkpoints). */
PETSC_EXTERN PetscErrorCode SpdMetricsPowerLawAt(PetscInt n, const PetscReal x[], PetscReal xmin, PetscReal *alpha, PetscInt *ntail, PetscReal *ks);
/* All metrics from what is known: the full spectrum (nfull > 0) and/or top / bottom values
   (descending / ascending), the Frobenius norm and rank_tol (<= 0: max(m,n) * eps). */
/* Bulk edge of an SLQ density (Ritz nodes/weights of nprobe probes) and the number of the
   k top eigenvalues above it (docs/curvature.md). */
PETSC_EXTERN PetscErrorCode SpdMetricsOutliers(PetscInt nprobe, PetscInt nsteps, const PetscReal nodes[], const PetscReal weights[], PetscInt N, PetscInt k, const PetscReal lambda[], PetscReal *edge, PetscInt *count);
PETSC_EXTERN PetscErrorCode SpdMetricsCompute(PetscInt m, PetscInt n, PetscReal frobenius, PetscInt nfull, const PetscReal full[], PetscInt ntop, const PetscReal top[], PetscInt nbottom, const PetscReal bottom[], PetscReal rank_tol, SpdWeightMetrics *);
