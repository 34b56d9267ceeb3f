static const char help[] = "Power-law tail fit (continuous MLE, x_min by KS) on seeded Pareto samples\n"
                           "mixed with a bulk below x_min.\n"
                           "  -seed <n> : base seed (default 11)\n";

#include "metricstest.h"

/* Pareto(alpha, xmin) by inverse CDF: x = xmin (1 - u)^(-1/(alpha - 1)). */
static void Pareto(SpdTestRng *rng, PetscInt n, PetscReal alpha, PetscReal xmin, PetscReal x[])
{
  for (PetscInt i = 0; i < n; i++) x[i] = xmin * PetscPowReal(1 - SpdTestRngUniform(rng), -1 / (alpha - 1));
}

/* ntail Pareto values above xmin and nbulk uniform values in [lo, xmin), shuffled together;
   the fit must find alpha within 3 standard errors and x_min in [xlo, xhi]. */
static PetscErrorCode CheckPareto(uint64_t seed, PetscInt ntail, PetscReal alpha, PetscReal xmin, PetscInt nbulk, PetscReal lo, PetscReal xlo, PetscReal xhi, PetscInt ntlo)
{
  SpdTestRng rng;
  PetscInt   n = ntail + nbulk, nt, ntat;
  PetscReal *x, a, xm, ks, se, aat, ksat;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "Pareto alpha = %g, x_min = %g: %" PetscInt_FMT " tail values and %" PetscInt_FMT " bulk values in [%g, %g)\n", (double)alpha, (double)xmin, ntail, nbulk, (double)lo, (double)xmin));
  PetscCall(PetscMalloc1(n, &x));
  SpdTestRngSeed(&rng, MTSeed(seed));
  Pareto(&rng, ntail, alpha, xmin, x);
  for (PetscInt i = ntail; i < n; i++) x[i] = lo + (xmin - lo) * SpdTestRngUniform(&rng);
  for (PetscInt i = n - 1; i > 0; i--) { /* Fisher-Yates: the input order must not matter */
    PetscInt  j = (PetscInt)(SpdTestRngUniform(&rng) * (i + 1));
    PetscReal t = x[i];
    x[i]        = x[j];
    x[j]        = t;
  }
  PetscCall(SpdMetricsPowerLaw(n, x, 0, &a, &xm, &nt, &ks));
  se = (a - 1) / PetscSqrtReal((PetscReal)nt);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  fit: alpha %.4f +- %.4f, x_min %.4f, tail %" PetscInt_FMT ", KS %.4f\n", (double)a, (double)se, (double)xm, nt, (double)ks));
  PetscCall(MTCheckRange("alpha within 3 standard errors", a, alpha - 3 * se, alpha + 3 * se));
  PetscCall(MTCheckRange("x_min near the truth", xm, xlo, xhi));
  /* a few bulk values just below x_min are indistinguishable from the tail */
  PetscCall(MTCheckRange("tail size", (PetscReal)nt, (PetscReal)ntlo, (PetscReal)(ntail + nbulk / 20)));
  PetscCall(MTCheckRange("KS distance", ks, 0, 3 / PetscSqrtReal((PetscReal)nt)));
  /* the chosen x_min refitted alone gives the same alpha and KS */
  PetscCall(SpdMetricsPowerLawAt(n, x, xm, &aat, &ntat, &ksat));
  PetscCall(MTCheckReal("SpdMetricsPowerLawAt(x_min): alpha", aat, a, 1e-12, 0));
  PetscCall(MTCheckReal("SpdMetricsPowerLawAt(x_min): KS", ksat, ks, 1e-9, 0));
  PetscCall(MTCheckInt("SpdMetricsPowerLawAt(x_min): tail", ntat, nt));
  /* at the true x_min: alpha within 3 standard errors, the whole tail */
  PetscCall(SpdMetricsPowerLawAt(n, x, xmin, &aat, &ntat, &ksat));
  se = (aat - 1) / PetscSqrtReal((PetscReal)ntat);
  PetscCall(MTCheckRange("alpha at the true x_min", aat, alpha - 3 * se, alpha + 3 * se));
  PetscCall(MTCheckInt("tail at the true x_min", ntat, ntail));
  PetscCall(PetscFree(x));
  PetscFunctionReturn(0);
}

/* Eigenvalues lambda = sigma^2 through SpdMetricsCompute: sigma_i = sqrt(Pareto) values. */
static PetscErrorCode CheckCompute(uint64_t seed)
{
  SpdTestRng       rng;
  PetscInt         k = 3000, m = 3000, n = 4000;
  PetscReal       *lam, *sv, frob        = 0, se;
  SpdWeightMetrics w;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "SpdMetricsCompute on sigma = sqrt(lambda), lambda ~ Pareto(3, 2) for 2000 values, uniform [0.5, 2) below\n"));
  PetscCall(PetscMalloc2(k, &lam, k, &sv));
  SpdTestRngSeed(&rng, MTSeed(seed));
  Pareto(&rng, 2000, 3.0, 2.0, lam);
  for (PetscInt i = 2000; i < k; i++) lam[i] = 0.5 + 1.5 * SpdTestRngUniform(&rng);
  PetscCall(PetscSortReal(k, lam));
  for (PetscInt i = 0; i < k; i++) {
    sv[i] = PetscSqrtReal(lam[k - 1 - i]); /* descending */
    frob += lam[i];
  }
  PetscCall(SpdMetricsCompute(m, n, PetscSqrtReal(frob), k, sv, 0, NULL, 0, NULL, 0, &w));
  se = (w.alpha - 1) / PetscSqrtReal((PetscReal)w.alpha_ntail);
  PetscCall(MTCheckRange("alpha within 3 standard errors", w.alpha, 3.0 - 3 * se, 3.0 + 3 * se));
  PetscCall(MTCheckRange("x_min (lambda units)", w.alpha_xmin, 1.9, 12.0));
  PetscCall(PetscFree2(lam, sv));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscInt seed = 11;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-seed", &seed, NULL));
  /* KS selection puts x_min at the truth or above it, where the tail is still a power law:
     over 300 seeds the median x_min / truth is 1.01-1.02 and the 99% quantile 1.6-4.1, so
     the accepted range is [0.95, 6] x_min (3 for alpha = 3.5) with the tail sizes that implies */
  PetscCall(CheckPareto((uint64_t)seed, 5000, 2.5, 1.0, 3000, 0.1, 0.95, 6, 250));
  PetscCall(CheckPareto((uint64_t)seed + 1, 2000, 3.5, 1.0, 0, 0.1, 0.99, 3, 100));
  PetscCall(CheckPareto((uint64_t)seed + 2, 8000, 1.8, 40.0, 2000, 1.0, 38, 240, 1500));
  PetscCall(CheckCompute((uint64_t)seed + 3));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "metrics power law: all passed\n"));
  PetscCall(SpdFinalize());
  return 0;
}
