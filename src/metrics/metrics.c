/* Scalar metrics of one weight spectrum: norms, stable / effective / numerical rank,
   extreme singular values and the condition number, and the driver SpdMetricsCompute()
   that fills SpdWeightMetrics from whatever part of the spectrum a solver produced.
   Formulas and definition choices: docs/metrics.md.

   References:
     O. Roy, M. Vetterli, "The effective rank: a measure of effective dimensionality",
       EUSIPCO 2007 (effective rank exp(H(p)), p_i = sigma_i / sum_j sigma_j).
     Marchenko-Pastur and power-law fits: see mp.c and powerlaw.c. */
#include <specdyn/sys.h>
#include <specdyn/metrics.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */
#include <float.h>
#include <math.h>

#define SPD_METRICS_FROBENIUS_RTOL 1e-6 /* ||W||_F vs sqrt(sum sigma^2): a mismatch means a wrong spectrum */

/* Singular values must be finite and >= 0; the message names the array and the index. */
static PetscErrorCode SpdMetricsCheckValues_Private(const char what[], PetscInt n, const PetscReal s[])
{
  PetscFunctionBegin;
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: the number of singular values is %" PetscInt_FMT "; it must be >= 0", what, n);
  if (n > 0) PetscValidRealPointer(s, 2);
  for (PetscInt i = 0; i < n; i++) {
    PetscCheck(!PetscIsInfOrNanReal(s[i]), PETSC_COMM_SELF, PETSC_ERR_FP, "%s: singular value %" PetscInt_FMT " of %" PetscInt_FMT " is %g; the matrix holds NaN or Inf entries or the solver diverged", what, i, n, (double)s[i]);
    PetscCheck(s[i] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: singular value %" PetscInt_FMT " of %" PetscInt_FMT " is %g < 0; singular values are non-negative, pass |sigma| or check the solver output", what, i, n, (double)s[i]);
  }
  PetscFunctionReturn(0);
}

static PetscReal SpdMetricsMax_Private(PetscInt n, const PetscReal s[])
{
  PetscReal v = 0;
  for (PetscInt i = 0; i < n; i++) v = PetscMax(v, s[i]);
  return v;
}

static PetscReal SpdMetricsMin_Private(PetscInt n, const PetscReal s[])
{
  PetscReal v = s[0];
  for (PetscInt i = 1; i < n; i++) v = PetscMin(v, s[i]);
  return v;
}

/*@C
  SpdMetricsEffectiveRank - effective rank exp(H(p)) of a spectrum (Roy & Vetterli 2007)

  Not Collective

  Input Parameters:
+ n - number of singular values
- s - the singular values (any order, >= 0)

  Output Parameter:
. erank - exp(-sum_i p_i ln p_i) with p_i = s_i / sum_j s_j, natural logarithm, 0 ln 0 = 0

  Notes:
  The zero matrix (all s_i = 0, or n = 0) has effective rank 0. Values are scaled by
  max s_i first so that huge spectra do not overflow the sum.

.seealso: `SpdMetricsNumericalRank()`, `SpdMetricsCompute()`
@*/
PetscErrorCode SpdMetricsEffectiveRank(PetscInt n, const PetscReal s[], PetscReal *erank)
{
  PetscReal smax, sum = 0, h = 0;

  PetscFunctionBegin;
  PetscValidRealPointer(erank, 3);
  PetscCall(SpdMetricsCheckValues_Private("SpdMetricsEffectiveRank", n, s));
  smax = SpdMetricsMax_Private(n, s);
  if (smax == 0) {
    *erank = 0;
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < n; i++) sum += s[i] / smax;
  for (PetscInt i = 0; i < n; i++) {
    PetscReal p = (s[i] / smax) / sum;
    if (p > 0) h -= p * PetscLogReal(p);
  }
  *erank = PetscExpReal(h);
  PetscFunctionReturn(0);
}

/*@C
  SpdMetricsNumericalRank - number of singular values above a relative tolerance

  Not Collective

  Input Parameters:
+ n   - number of singular values
. s   - the singular values (any order, >= 0)
- tol - relative tolerance, >= 0 (tol = 0 counts the non-zero values)

  Output Parameter:
. rank - #{ i : s_i > tol * max_j s_j } (0 for the zero matrix)

  Notes:
  The usual choice, and the default of `SpdMetricsCompute()`, is tol = max(m,n) * DBL_EPSILON
  for an m x n matrix (as numpy.linalg.matrix_rank and MATLAB rank).

.seealso: `SpdMetricsEffectiveRank()`, `SpdMetricsCompute()`
@*/
PetscErrorCode SpdMetricsNumericalRank(PetscInt n, const PetscReal s[], PetscReal tol, PetscInt *rank)
{
  PetscReal cut;
  PetscInt  r = 0;

  PetscFunctionBegin;
  PetscValidIntPointer(rank, 4);
  PetscCheck(tol >= 0 && !PetscIsInfOrNanReal(tol), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdMetricsNumericalRank: tolerance %g must be finite and >= 0 (max(m,n) * DBL_EPSILON is the usual choice)", (double)tol);
  PetscCall(SpdMetricsCheckValues_Private("SpdMetricsNumericalRank", n, s));
  cut = tol * SpdMetricsMax_Private(n, s);
  for (PetscInt i = 0; i < n; i++)
    if (s[i] > cut) r++;
  *rank = r;
  PetscFunctionReturn(0);
}

/* Every field unknown: NaN for reals, -1 for counts. */
static void SpdWeightMetricsSetUnknown_Private(SpdWeightMetrics *w)
{
  w->frobenius = w->spectral = w->nuclear = w->stable_rank = w->effective_rank = NAN;
  w->rank_tol = w->sigma_min = w->condition = NAN;
  w->mp_noise = w->mp_edge = w->mp_threshold = NAN;
  w->alpha = w->alpha_xmin = w->alpha_ks = NAN;
  w->numerical_rank = w->mp_outliers = w->alpha_ntail = -1;
}

/*@C
  SpdMetricsCompute - all scalar metrics of a weight matrix from the part of its spectrum that is known

  Not Collective

  Input Parameters:
+ m, n      - the matrix is m x n
. frobenius - ||W||_F computed from the entries; a negative value means unknown (then it is
              taken from the full spectrum if there is one, else NaN)
. nfull     - 0, or min(m,n) when the full spectrum is known
. full      - the full spectrum (any order; descending as solvers give it)
. ntop      - number of largest singular values known (used when nfull = 0)
. top       - those values (descending)
. nbottom   - number of smallest singular values known (used when nfull = 0)
. bottom    - those values (ascending)
- rank_tol  - relative tolerance of the numerical rank; <= 0 selects max(m,n) * DBL_EPSILON

  Output Parameter:
. met - the metrics; what cannot be computed from the input is NaN (reals) or -1 (counts):
        spectral needs full or top; sigma_min needs full or bottom; condition needs both;
        nuclear, effective_rank, numerical_rank, Marchenko-Pastur and power-law fields need
        the full spectrum. The power-law fit of lambda = sigma^2 uses at least 10 tail points
        (alpha = NaN, alpha_ntail = 0 when fewer than 10 values are positive).

  Notes:
  The full spectrum takes precedence over top/bottom values when both are given. When the
  full spectrum and the Frobenius norm are both given, they must agree:
  |sqrt(sum sigma^2) - ||W||_F| <= 1e-6 ||W||_F, otherwise the spectrum is not the one of this
  matrix and an error is raised.

.seealso: `SpdMetricsEffectiveRank()`, `SpdMetricsNumericalRank()`, `SpdMetricsMarchenkoPastur()`, `SpdMetricsPowerLaw()`
@*/
PetscErrorCode SpdMetricsCompute(PetscInt m, PetscInt n, PetscReal frobenius, PetscInt nfull, const PetscReal full[], PetscInt ntop, const PetscReal top[], PetscInt nbottom, const PetscReal bottom[], PetscReal rank_tol, SpdWeightMetrics *met)
{
  PetscInt  k      = PetscMin(m, n);
  PetscReal sigma1 = NAN, sigmamin = NAN, frob = NAN;

  PetscFunctionBegin;
  PetscValidPointer(met, 11);
  PetscCheck(m >= 1 && n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdMetricsCompute: the matrix is %" PetscInt_FMT " x %" PetscInt_FMT "; both dimensions must be >= 1", m, n);
  PetscCheck(nfull == 0 || nfull == k, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "SpdMetricsCompute: a full spectrum of a %" PetscInt_FMT " x %" PetscInt_FMT " matrix has min(m,n) = %" PetscInt_FMT " values, got %" PetscInt_FMT "; pass nfull = 0 and the values as top/bottom if the spectrum is partial", m, n, k, nfull);
  PetscCheck(ntop >= 0 && ntop <= k, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "SpdMetricsCompute: %" PetscInt_FMT " top singular values given for a %" PetscInt_FMT " x %" PetscInt_FMT " matrix; at most min(m,n) = %" PetscInt_FMT " exist", ntop, m, n, k);
  PetscCheck(nbottom >= 0 && nbottom <= k, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "SpdMetricsCompute: %" PetscInt_FMT " bottom singular values given for a %" PetscInt_FMT " x %" PetscInt_FMT " matrix; at most min(m,n) = %" PetscInt_FMT " exist", nbottom, m, n, k);
  PetscCheck(!PetscIsNanReal(frobenius) && !PetscIsInfReal(frobenius), PETSC_COMM_SELF, PETSC_ERR_FP, "SpdMetricsCompute: the Frobenius norm is %g; the matrix holds NaN or Inf entries", (double)frobenius);
  PetscCall(SpdMetricsCheckValues_Private("SpdMetricsCompute (full spectrum)", nfull, full));
  PetscCall(SpdMetricsCheckValues_Private("SpdMetricsCompute (top values)", ntop, top));
  PetscCall(SpdMetricsCheckValues_Private("SpdMetricsCompute (bottom values)", nbottom, bottom));
  if (SPD_Metrics) PetscCall(PetscLogEventBegin(SPD_Metrics, 0, 0, 0, 0));

  SpdWeightMetricsSetUnknown_Private(met);
  met->rank_tol = rank_tol > 0 ? rank_tol : (PetscReal)PetscMax(m, n) * DBL_EPSILON;

  if (frobenius >= 0) frob = frobenius;
  if (nfull > 0) {
    PetscReal smax = SpdMetricsMax_Private(nfull, full), ss = 0, nuc = 0;

    /* sum of squares scaled by the largest value: no overflow, no underflow */
    for (PetscInt i = 0; i < nfull; i++) {
      PetscReal t = smax > 0 ? full[i] / smax : 0;
      ss += t * t;
      nuc += full[i];
    }
    ss = smax * PetscSqrtReal(ss);
    if (frobenius >= 0) {
      PetscCheck(PetscAbsReal(ss - frobenius) <= SPD_METRICS_FROBENIUS_RTOL * PetscMax(frobenius, ss), PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "SpdMetricsCompute: the Frobenius norm of the %" PetscInt_FMT " x %" PetscInt_FMT " matrix is %.17g but sqrt(sum sigma_i^2) of the full spectrum is %.17g; the spectrum does not belong to this matrix (or is inaccurate)", m, n,
          (double)frobenius, (double)ss);
    } else
      frob = ss;
    sigma1       = smax;
    sigmamin     = SpdMetricsMin_Private(nfull, full);
    met->nuclear = nuc;
    PetscCall(SpdMetricsEffectiveRank(nfull, full, &met->effective_rank));
    PetscCall(SpdMetricsNumericalRank(nfull, full, met->rank_tol, &met->numerical_rank));
    PetscCall(SpdMetricsMarchenkoPastur(m, n, nfull, full, &met->mp_noise, &met->mp_edge, &met->mp_outliers));
    PetscCall(SpdMetricsMarchenkoPasturThreshold(m, n, met->mp_noise, &met->mp_threshold));
    {
      PetscReal *lambda;

      PetscCall(PetscMalloc1(nfull, &lambda));
      for (PetscInt i = 0; i < nfull; i++) lambda[i] = full[i] * full[i];
      PetscCall(SpdMetricsPowerLaw(nfull, lambda, 0, &met->alpha, &met->alpha_xmin, &met->alpha_ntail, &met->alpha_ks));
      PetscCall(PetscFree(lambda));
    }
  } else {
    if (ntop > 0) sigma1 = SpdMetricsMax_Private(ntop, top);
    if (nbottom > 0) sigmamin = SpdMetricsMin_Private(nbottom, bottom);
  }

  met->frobenius = frob;
  met->spectral  = sigma1;
  met->sigma_min = sigmamin;
  if (!PetscIsNanReal(sigma1) && !PetscIsNanReal(frob)) met->stable_rank = sigma1 > 0 ? (frob / sigma1) * (frob / sigma1) : 0;
  if (!PetscIsNanReal(sigma1) && !PetscIsNanReal(sigmamin)) met->condition = sigmamin > 0 ? sigma1 / sigmamin : INFINITY;
  if (SPD_Metrics) PetscCall(PetscLogEventEnd(SPD_Metrics, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
