/* Marchenko-Pastur bulk of a weight spectrum: robust noise level, bulk edge, outliers.

   Model: W = S + E (m x n), E with i.i.d. entries of mean 0 and std s, S of small rank.
   With N = max(m,n), M = min(m,n), y = M/N, the eigenvalues of E E^T / (N s^2) follow
   (M, N -> oo) the Marchenko-Pastur law of ratio y, density
       f(x) = sqrt((b - x)(x - a)) / (2 pi y x),   a = (1 - sqrt y)^2, b = (1 + sqrt y)^2,
   so the singular values of E fill [s(sqrt N - sqrt M), s(sqrt N + sqrt M)].

   Estimator (docs/metrics.md): the median of the bulk eigenvalues lambda = sigma^2 matched
   to the MP median mu(y): s^2 = median(lambda_bulk) / (N mu(y)). The bulk starts as the
   whole spectrum; values above the threshold are removed and s re-estimated until the
   outlier count stops changing (it can only grow, so this ends in at most M/2 steps).
   The median ignores a few strong outliers, unlike the mean (the trace), which a single
   spike of norm theta moves by theta^2 / (N M).

   Finite size: the largest eigenvalue of pure noise fluctuates around the edge on the
   Tracy-Widom scale (Johnstone 2001):
       lambda_1 ~ s^2 [ (sqrt N + sqrt M)^2 + (sqrt N + sqrt M)(1/sqrt N + 1/sqrt M)^(1/3) TW1 ],
   and P(TW1 > 0) ~ 0.17, so counting values above the bare edge reports a spurious outlier
   for about one pure-noise matrix in six. Outliers are counted above the edge plus
   SPD_MP_TW_QUANTILE Tracy-Widom units (the 0.999 quantile of TW1).

   References:
     V. A. Marchenko, L. A. Pastur, "Distribution of eigenvalues for some sets of random
       matrices", Mat. Sbornik 72 (1967) 507-536.
     I. M. Johnstone, "On the distribution of the largest eigenvalue in principal components
       analysis", Ann. Statist. 29 (2001) 295-327.
     J. Baik, G. Ben Arous, S. Peche, "Phase transition of the largest eigenvalue for nonnull
       complex sample covariance matrices", Ann. Probab. 33 (2005) 1643-1697. */
#include <specdyn/sys.h>
#include <specdyn/metrics.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */
#include <math.h>

#define SPD_MP_TW_QUANTILE 3.27 /* P(TW1 <= 3.27) ~ 0.999 (Tracy-Widom, beta = 1) */

/* Antiderivative of sqrt((b-x)(x-a))/x on [a,b] (a >= 0, x > 0):
     G(x) = r + (a+b)/2 asin((2x-a-b)/(b-a)) - sqrt(ab) asin(((a+b)x - 2ab)/((b-a)x)),
   r = sqrt((b-x)(x-a)); differentiate to check. */
static PetscReal SpdMPAntiderivative_Private(PetscReal x, PetscReal a, PetscReal b)
{
  PetscReal r = PetscSqrtReal(PetscMax((b - x) * (x - a), 0));
  PetscReal u = PetscMax(-1, PetscMin(1, (2 * x - a - b) / (b - a)));
  PetscReal g = r + 0.5 * (a + b) * asin(u);

  if (a > 0) {
    PetscReal v = PetscMax(-1, PetscMin(1, ((a + b) * x - 2 * a * b) / ((b - a) * x)));
    g -= PetscSqrtReal(a * b) * asin(v);
  }
  return g;
}

/* Cumulative distribution of the unit-variance MP law of ratio y at x in [a,b]:
   F(x) = (G(x) - G(a)) / (2 pi y) with G(a) = -(a+b) pi/4 + sqrt(ab) pi/2 = -pi y exactly.
   Evaluating G(a) through asin(-1 + rounding) would cost half the digits (asin has a
   square-root singularity at -1), so the closed value is used. */
static PetscReal SpdMPCDF_Private(PetscReal x, PetscReal y, PetscReal a, PetscReal b)
{
  if (x <= a) return 0;
  if (x >= b) return 1;
  return 0.5 + SpdMPAntiderivative_Private(x, a, b) / (2 * PETSC_PI * y);
}

/*@C
  SpdMetricsMarchenkoPasturMedian - median of the Marchenko-Pastur law of ratio y (unit variance)

  Not Collective

  Input Parameter:
. y - aspect ratio min(m,n)/max(m,n), 0 < y <= 1

  Output Parameter:
. median - x with F(x) = 1/2, F the closed-form CDF of the law of the eigenvalues of
           X X^T / N for an M x N matrix X of i.i.d. unit-variance entries, y = M/N

  Notes:
  Bisection on the closed-form CDF to full double precision.

.seealso: `SpdMetricsMarchenkoPastur()`
@*/
PetscErrorCode SpdMetricsMarchenkoPasturMedian(PetscReal y, PetscReal *median)
{
  PetscReal a, b, lo, hi;

  PetscFunctionBegin;
  PetscValidRealPointer(median, 2);
  PetscCheck(y > 0 && y <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdMetricsMarchenkoPasturMedian: the aspect ratio y = %g must be in (0, 1]; pass min(m,n)/max(m,n)", (double)y);
  a  = (1 - PetscSqrtReal(y)) * (1 - PetscSqrtReal(y));
  b  = (1 + PetscSqrtReal(y)) * (1 + PetscSqrtReal(y));
  lo = a;
  hi = b;
  for (PetscInt it = 0; it < 200 && hi - lo > 4 * PETSC_MACHINE_EPSILON * hi; it++) {
    PetscReal mid = 0.5 * (lo + hi);
    if (SpdMPCDF_Private(mid, y, a, b) < 0.5)
      lo = mid;
    else
      hi = mid;
  }
  *median = 0.5 * (lo + hi);
  PetscFunctionReturn(0);
}

/*@C
  SpdMetricsMarchenkoPasturThreshold - singular value above which a value counts as an outlier of the noise bulk

  Not Collective

  Input Parameters:
+ m, n  - the matrix is m x n
- noise - entry std s of the noise (NaN gives NaN)

  Output Parameter:
. threshold - s sqrt( (sqrt N + sqrt M)^2 + 3.27 (sqrt N + sqrt M)(1/sqrt N + 1/sqrt M)^(1/3) ),
              N = max(m,n), M = min(m,n): the MP edge plus 3.27 Tracy-Widom units (the 0.999
              quantile of TW1) in the eigenvalue scale

.seealso: `SpdMetricsMarchenkoPastur()`
@*/
PetscErrorCode SpdMetricsMarchenkoPasturThreshold(PetscInt m, PetscInt n, PetscReal noise, PetscReal *threshold)
{
  PetscReal sn, sm, e;

  PetscFunctionBegin;
  PetscValidRealPointer(threshold, 4);
  PetscCheck(m >= 1 && n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdMetricsMarchenkoPasturThreshold: the matrix is %" PetscInt_FMT " x %" PetscInt_FMT "; both dimensions must be >= 1", m, n);
  sn         = PetscSqrtReal((PetscReal)PetscMax(m, n));
  sm         = PetscSqrtReal((PetscReal)PetscMin(m, n));
  e          = sn + sm;
  *threshold = noise * PetscSqrtReal(e * e + SPD_MP_TW_QUANTILE * e * PetscPowReal(1 / sn + 1 / sm, 1.0 / 3.0));
  PetscFunctionReturn(0);
}

/* Median of sorted v[0..k-1] (k >= 1). */
static PetscReal SpdMedianSorted_Private(PetscInt k, const PetscReal v[])
{
  return (k % 2) ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

/*@C
  SpdMetricsMarchenkoPastur - noise level, bulk edge and outlier count of a full spectrum

  Not Collective

  Input Parameters:
+ m, n - the matrix is m x n
. ns   - number of singular values, min(m,n) (the full spectrum)
- s    - the singular values (any order, >= 0)

  Output Parameters:
+ noise    - estimated entry std s of the noise bulk: s^2 = median(sigma_bulk^2) / (max(m,n) mu(y)),
             mu(y) the Marchenko-Pastur median of ratio y = min(m,n)/max(m,n)
. edge     - s (sqrt(m) + sqrt(n)), the upper edge of the noise bulk
- outliers - number of singular values above `SpdMetricsMarchenkoPasturThreshold()` (the edge
             plus a Tracy-Widom margin)

  Notes:
  The bulk is re-estimated without the outliers until their count is stable. A spectrum whose
  median is 0 (rank below min(m,n)/2) has noise 0, edge 0 and every non-zero value as an outlier.

.seealso: `SpdMetricsMarchenkoPasturMedian()`, `SpdMetricsCompute()`
@*/
PetscErrorCode SpdMetricsMarchenkoPastur(PetscInt m, PetscInt n, PetscInt ns, const PetscReal s[], PetscReal *noise, PetscReal *edge, PetscInt *outliers)
{
  PetscInt   N = PetscMax(m, n), M = PetscMin(m, n), k = 0, knew = 0;
  PetscReal *lam, mu, s2 = 0, thr = 0;

  PetscFunctionBegin;
  PetscValidRealPointer(noise, 5);
  PetscValidRealPointer(edge, 6);
  PetscValidIntPointer(outliers, 7);
  PetscCheck(m >= 1 && n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdMetricsMarchenkoPastur: the matrix is %" PetscInt_FMT " x %" PetscInt_FMT "; both dimensions must be >= 1", m, n);
  PetscCheck(ns == M, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "SpdMetricsMarchenkoPastur: %" PetscInt_FMT " singular values given for a %" PetscInt_FMT " x %" PetscInt_FMT " matrix; the fit needs the full spectrum of min(m,n) = %" PetscInt_FMT " values", ns, m, n, M);
  PetscValidRealPointer(s, 4);
  for (PetscInt i = 0; i < M; i++) PetscCheck(!PetscIsInfOrNanReal(s[i]) && s[i] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdMetricsMarchenkoPastur: singular value %" PetscInt_FMT " of %" PetscInt_FMT " is %g; singular values must be finite and >= 0", i, M, (double)s[i]);
  PetscCall(PetscMalloc1(M, &lam));
  for (PetscInt i = 0; i < M; i++) lam[i] = s[i] * s[i];
  PetscCall(PetscSortReal(M, lam));
  PetscCall(SpdMetricsMarchenkoPasturMedian((PetscReal)M / (PetscReal)N, &mu));
  /* k only grows: removing outliers lowers the bulk median, hence the threshold */
  for (PetscInt it = 0; it <= M; it++) {
    s2 = SpdMedianSorted_Private(M - k, lam) / ((PetscReal)N * mu);
    PetscCall(SpdMetricsMarchenkoPasturThreshold(m, n, PetscSqrtReal(s2), &thr));
    knew = 0;
    while (knew < M && lam[M - 1 - knew] > thr * thr) knew++;
    if (knew == k || knew >= M) break;
    k = knew;
  }
  *noise    = PetscSqrtReal(s2);
  *edge     = *noise * (PetscSqrtReal((PetscReal)m) + PetscSqrtReal((PetscReal)n));
  *outliers = knew;
  PetscCall(PetscFree(lam));
  PetscFunctionReturn(0);
}
