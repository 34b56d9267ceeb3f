/* Power-law tail of a sample (eigenvalues lambda = sigma^2 of a weight matrix):
   continuous maximum-likelihood exponent with x_min chosen by Kolmogorov-Smirnov.

   For a tail x_1..x_k >= x_min with density (alpha - 1)/x_min (x/x_min)^(-alpha), the MLE is
       alpha = 1 + k / sum_i ln(x_i / x_min),   standard error (alpha - 1)/sqrt(k),
   and the KS distance is D = max_x |S(x) - P(x)| with S the empirical CDF of the tail and
   P(x) = 1 - (x/x_min)^(1 - alpha). x_min is the data value minimizing D over the tails with
   at least min_tail points (Clauset, Shalizi & Newman 2009, section 3.3).

   Cost: one sort, suffix sums of ln x give every alpha in O(1); each D is O(k) with an
   early exit once the running maximum exceeds the best D so far, so O(n^2) at worst and
   far less in practice (a coarse first pass over 64 candidates gives a small bound).

   References:
     A. Clauset, C. R. Shalizi, M. E. J. Newman, "Power-law distributions in empirical data",
       SIAM Review 51 (2009) 661-703.
     C. H. Martin, M. W. Mahoney, "Implicit self-regularization in deep neural networks:
       evidence from random matrix theory and implications for learning", JMLR 22 (2021). */
#include <specdyn/sys.h>
#include <specdyn/metrics.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */
#include <math.h>

#define SPD_POWERLAW_MIN_TAIL 10 /* default smallest tail fitted */

/* Two-sided KS distance of the sorted tail logs L[0..k-1] against the power law of exponent
   alpha above x_min = exp(lmin); stops as soon as the distance exceeds `stop` (the value
   returned is then > stop but not the full D). */
static PetscReal SpdPowerLawKS_Private(PetscInt k, const PetscReal L[], PetscReal lmin, PetscReal alpha, PetscReal stop)
{
  PetscReal d = 0;

  for (PetscInt i = 0; i < k; i++) {
    /* P = 1 - exp((1 - alpha) ln(x/x_min)), without cancellation for x near x_min */
    PetscReal P = -expm1((1 - alpha) * (L[i] - lmin));
    /* the empirical CDF is i/k just below x_i and (i+1)/k at x_i; with ties the extreme
       values sit at the ends of the tie group and the other terms are smaller */
    d = PetscMax(d, PetscMax((PetscReal)(i + 1) / k - P, P - (PetscReal)i / k));
    if (d > stop) break; /* D > stop already: the candidate loses */
  }
  return d;
}

/* Fit of the tail starting at sorted index j: alpha and its KS distance (cut off above
   `stop`). PETSC_FALSE when x_j is not a candidate: not the first of its tie group (x_min
   must take the whole group) or a tail of one repeated value. */
static PetscBool SpdPowerLawCandidate_Private(PetscInt np, const PetscReal L[], const PetscReal suffix[], PetscInt j, PetscReal stop, PetscReal *alpha, PetscReal *D)
{
  PetscInt  k = np - j;
  PetscReal sumlog;

  if (j > 0 && L[j] == L[j - 1]) return PETSC_FALSE;
  sumlog = suffix[j] - k * (L[j] - L[0]); /* sum_{i >= j} ln(x_i / x_j) */
  if (!(sumlog > 0)) return PETSC_FALSE;
  *alpha = 1 + k / sumlog;
  *D     = SpdPowerLawKS_Private(k, L + j, L[j], *alpha, stop);
  return PETSC_TRUE;
}

/* The values of x that are > 0 and >= threshold, sorted ascending (*V) with their logs (*L).
   Non-finite values are errors. */
static PetscErrorCode SpdPowerLawSorted_Private(const char caller[], PetscInt n, const PetscReal x[], PetscReal threshold, PetscInt *np, PetscReal **V, PetscReal **L)
{
  PetscInt k = 0;

  PetscFunctionBegin;
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: the number of values is %" PetscInt_FMT "; it must be >= 0", caller, n);
  if (n > 0) PetscValidRealPointer(x, 2);
  for (PetscInt i = 0; i < n; i++) PetscCheck(!PetscIsInfOrNanReal(x[i]), PETSC_COMM_SELF, PETSC_ERR_FP, "%s: value %" PetscInt_FMT " of %" PetscInt_FMT " is %g; the spectrum holds NaN or Inf", caller, i, n, (double)x[i]);
  PetscCall(PetscMalloc2(PetscMax(n, 1), V, PetscMax(n, 1), L));
  for (PetscInt i = 0; i < n; i++)
    if (x[i] > 0 && x[i] >= threshold) (*V)[k++] = x[i];
  PetscCall(PetscSortReal(k, *V));
  for (PetscInt i = 0; i < k; i++) (*L)[i] = PetscLogReal((*V)[i]);
  *np = k;
  PetscFunctionReturn(0);
}

/*@C
  SpdMetricsPowerLaw - power-law exponent of the tail of a sample, x_min by Kolmogorov-Smirnov

  Not Collective

  Input Parameters:
+ n        - number of values
. x        - the values (any order); values <= 0 are ignored (zero eigenvalues)
- min_tail - smallest tail considered; <= 0 selects 10

  Output Parameters:
+ alpha - MLE exponent 1 + k / sum_{x_i >= x_min} ln(x_i / x_min) of the density x^(-alpha)
. xmin  - start of the tail, one of the data values
. ntail - k, number of values >= x_min
- ks    - KS distance between the tail and the fitted power law (minimal over x_min)

  Notes:
  Candidates are the distinct positive values whose tail holds at least min_tail values and
  is not a single repeated value; ties in D go to the smaller x_min. With fewer than min_tail
  positive values (or no valid candidate) alpha, xmin and ks are NaN and ntail is 0.
  The standard error of alpha is (alpha - 1)/sqrt(ntail).

.seealso: `SpdMetricsPowerLawAt()`, `SpdMetricsCompute()`
@*/
PetscErrorCode SpdMetricsPowerLaw(PetscInt n, const PetscReal x[], PetscInt min_tail, PetscReal *alpha, PetscReal *xmin, PetscInt *ntail, PetscReal *ks)
{
  PetscInt   np, best = -1, jmax, stride;
  PetscReal *V, *L, *suffix, bestD = PETSC_MAX_REAL, bestAlpha = NAN;

  PetscFunctionBegin;
  PetscValidRealPointer(alpha, 4);
  PetscValidRealPointer(xmin, 5);
  PetscValidIntPointer(ntail, 6);
  PetscValidRealPointer(ks, 7);
  if (min_tail <= 0) min_tail = SPD_POWERLAW_MIN_TAIL;
  PetscCheck(min_tail >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdMetricsPowerLaw: min_tail = %" PetscInt_FMT "; a tail needs at least 2 points (<= 0 selects %d)", min_tail, SPD_POWERLAW_MIN_TAIL);
  PetscCall(SpdPowerLawSorted_Private("SpdMetricsPowerLaw", n, x, 0, &np, &V, &L));
  *alpha = *xmin = *ks = NAN;
  *ntail               = 0;
  if (np < min_tail) {
    PetscCall(PetscFree2(V, L));
    PetscFunctionReturn(0);
  }
  /* suffix[j] = sum_{i >= j} (L[i] - L[0]): shifted by L[0] to keep the sums small */
  PetscCall(PetscMalloc1(np + 1, &suffix));
  suffix[np] = 0;
  for (PetscInt j = np - 1; j >= 0; j--) suffix[j] = suffix[j + 1] + (L[j] - L[0]);
  /* a coarse pass first gives a small bestD, so that most candidates of the full pass stop
     early; ties in D go to the smaller x_min whatever the order of evaluation */
  jmax   = np - min_tail;
  stride = PetscMax(1, (jmax + 1) / 64);
  for (PetscInt pass = 0; pass < 2; pass++) {
    for (PetscInt j = 0; j <= jmax; j += pass ? 1 : stride) {
      PetscReal a, D;

      if (!SpdPowerLawCandidate_Private(np, L, suffix, j, bestD, &a, &D)) continue;
      if (D < bestD || (D == bestD && j < best)) {
        bestD     = D;
        best      = j;
        bestAlpha = a;
      }
    }
  }
  if (best >= 0) {
    *alpha = bestAlpha;
    *xmin  = V[best];
    *ntail = np - best;
    *ks    = bestD;
  }
  PetscCall(PetscFree(suffix));
  PetscCall(PetscFree2(V, L));
  PetscFunctionReturn(0);
}

/*@C
  SpdMetricsPowerLawAt - power-law MLE exponent and KS distance of the tail above a given x_min

  Not Collective

  Input Parameters:
+ n    - number of values
. x    - the values (any order)
- xmin - start of the tail, > 0

  Output Parameters:
+ alpha - 1 + k / sum_{x_i >= xmin} ln(x_i / xmin) (NaN if k = 0 or all tail values equal xmin)
. ntail - k, number of values >= xmin
- ks    - KS distance between the tail and the fitted law (NaN when alpha is)

  Notes:
  The same estimator as `SpdMetricsPowerLaw()` without the search over x_min, e.g. to follow one
  x_min across checkpoints. x_min need not be a data value.

.seealso: `SpdMetricsPowerLaw()`
@*/
PetscErrorCode SpdMetricsPowerLawAt(PetscInt n, const PetscReal x[], PetscReal xmin, PetscReal *alpha, PetscInt *ntail, PetscReal *ks)
{
  PetscInt   k;
  PetscReal *V, *L, sumlog = 0, lmin;

  PetscFunctionBegin;
  PetscValidRealPointer(alpha, 4);
  PetscValidIntPointer(ntail, 5);
  PetscValidRealPointer(ks, 6);
  PetscCheck(xmin > 0 && !PetscIsInfOrNanReal(xmin), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdMetricsPowerLawAt: x_min = %g must be finite and > 0", (double)xmin);
  PetscCall(SpdPowerLawSorted_Private("SpdMetricsPowerLawAt", n, x, xmin, &k, &V, &L));
  lmin = PetscLogReal(xmin);
  for (PetscInt i = 0; i < k; i++) sumlog += L[i] - lmin;
  *ntail = k;
  *alpha = *ks = NAN;
  if (k > 0 && sumlog > 0) {
    *alpha = 1 + k / sumlog;
    *ks    = SpdPowerLawKS_Private(k, L, lmin, *alpha, PETSC_MAX_REAL);
  }
  PetscCall(PetscFree2(V, L));
  PetscFunctionReturn(0);
}
