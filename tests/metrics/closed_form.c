static const char help[] = "Metrics of spectra with closed-form answers: identity, rank one, geometric\n"
                           "spectra, planted tiny values, the zero matrix, partial spectra, bad input.\n";

#include "metricstest.h"

/* Identity-like spectra: m x n with min(m,n) unit singular values. */
static PetscErrorCode TestIdentity(PetscInt m, PetscInt n)
{
  PetscInt         k = PetscMin(m, n);
  PetscReal       *s;
  SpdWeightMetrics w;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "identity %" PetscInt_FMT " x %" PetscInt_FMT "\n", m, n));
  PetscCall(PetscMalloc1(k, &s));
  for (PetscInt i = 0; i < k; i++) s[i] = 1;
  PetscCall(SpdMetricsCompute(m, n, PetscSqrtReal((PetscReal)k), k, s, 0, NULL, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("frobenius", w.frobenius, PetscSqrtReal((PetscReal)k), 1e-15, 0));
  PetscCall(MTCheckReal("spectral", w.spectral, 1, 0, 0));
  PetscCall(MTCheckReal("nuclear", w.nuclear, k, 1e-15, 0));
  PetscCall(MTCheckReal("stable rank = k", w.stable_rank, k, 1e-14, 0));
  PetscCall(MTCheckReal("effective rank = k", w.effective_rank, k, 1e-13, 0));
  PetscCall(MTCheckInt("numerical rank = k", w.numerical_rank, k));
  PetscCall(MTCheckReal("rank tolerance max(m,n) eps", w.rank_tol, PetscMax(m, n) * DBL_EPSILON, 0, 0));
  PetscCall(MTCheckReal("sigma_min", w.sigma_min, 1, 0, 0));
  PetscCall(MTCheckReal("condition", w.condition, 1, 0, 0));
  PetscCall(PetscFree(s));
  PetscFunctionReturn(0);
}

/* Rank one: sigma = (3, 0, ..., 0). */
static PetscErrorCode TestRankOne(void)
{
  PetscReal        s[4] = { 3, 0, 0, 0 };
  SpdWeightMetrics w;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "rank one 6 x 4\n"));
  PetscCall(SpdMetricsCompute(6, 4, 3, 4, s, 0, NULL, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("nuclear", w.nuclear, 3, 0, 0));
  PetscCall(MTCheckReal("stable rank", w.stable_rank, 1, 1e-15, 0));
  PetscCall(MTCheckReal("effective rank", w.effective_rank, 1, 1e-15, 0));
  PetscCall(MTCheckInt("numerical rank", w.numerical_rank, 1));
  PetscCall(MTCheckReal("sigma_min", w.sigma_min, 0, 0, 0));
  PetscCall(MTCheckReal("condition (singular: Inf)", w.condition, INFINITY, 0, 0));
  PetscCall(MTCheckInt("MP outliers (no noise, one value)", w.mp_outliers, 1));
  PetscCall(MTCheckReal("MP noise", w.mp_noise, 0, 0, 0));
  PetscCall(MTCheckReal("alpha (too few values)", w.alpha, NAN, 0, 0));
  PetscCall(MTCheckInt("alpha tail (too few values)", w.alpha_ntail, 0));
  PetscFunctionReturn(0);
}

/* sigma_i = r^i, i = 0..n-1:  S = (1 - r^n)/(1 - r), p_i = r^i / S,
   H = ln S - ln r * sum_i i p_i,  sum_i i r^i = r (1 - n r^(n-1) + (n-1) r^n) / (1 - r)^2,
   ||W||_F^2 = (1 - r^(2n)) / (1 - r^2) = stable rank (sigma_1 = 1). */
static PetscErrorCode TestGeometric(PetscInt n, PetscReal r)
{
  PetscReal       *s, S, mean, H, F2;
  SpdWeightMetrics w;
  char             what[64];

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "geometric spectrum n = %" PetscInt_FMT ", r = %g\n", n, (double)r));
  PetscCall(PetscMalloc1(n, &s));
  for (PetscInt i = 0; i < n; i++) s[i] = PetscPowReal(r, (PetscReal)i);
  S    = (1 - PetscPowReal(r, (PetscReal)n)) / (1 - r);
  mean = r * (1 - n * PetscPowReal(r, (PetscReal)(n - 1)) + (n - 1) * PetscPowReal(r, (PetscReal)n)) / ((1 - r) * (1 - r)) / S;
  H    = PetscLogReal(S) - PetscLogReal(r) * mean;
  F2   = (1 - PetscPowReal(r, (PetscReal)(2 * n))) / (1 - r * r);
  /* a wider matrix than square, the spectrum has min(m,n) = n values */
  PetscCall(SpdMetricsCompute(n + 3, n, PetscSqrtReal(F2), n, s, 0, NULL, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("effective rank exp(H)", w.effective_rank, PetscExpReal(H), 1e-13, 0));
  PetscCall(MTCheckReal("stable rank", w.stable_rank, F2, 1e-13, 0));
  PetscCall(MTCheckReal("nuclear", w.nuclear, S, 1e-14, 0));
  PetscCall(MTCheckReal("condition r^(1-n)", w.condition, PetscPowReal(r, (PetscReal)(1 - n)), 1e-13, 0));
  /* numerical rank: r^i > tol  <=>  i < ln tol / ln r; tol chosen between two values */
  for (PetscReal tol = 1e-3; tol > 1e-12; tol *= 1e-3) {
    PetscInt expect = 0, got;
    for (PetscInt i = 0; i < n; i++)
      if (i * PetscLogReal(r) > PetscLogReal(tol)) expect++;
    PetscCall(SpdMetricsNumericalRank(n, s, tol, &got));
    PetscCall(PetscSNPrintf(what, sizeof(what), "numerical rank, tol %g", (double)tol));
    PetscCall(MTCheckInt(what, got, expect));
  }
  PetscCall(PetscFree(s));
  PetscFunctionReturn(0);
}

/* Tiny planted values around the default tolerance max(m,n) eps sigma_1. */
static PetscErrorCode TestPlantedTiny(void)
{
  PetscReal        s[9] = { 5, 4, 3, 2, 1, 1e-13, 1e-15, 1e-17, 0 }, F2 = 0;
  SpdWeightMetrics w;
  PetscInt         r;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "planted tiny values, 9 x 12 (default tol 12 eps = 2.7e-15, cut 1.3e-14)\n"));
  for (PetscInt i = 0; i < 9; i++) F2 += s[i] * s[i];
  PetscCall(SpdMetricsCompute(9, 12, PetscSqrtReal(F2), 9, s, 0, NULL, 0, NULL, 0, &w));
  PetscCall(MTCheckInt("numerical rank, default tol", w.numerical_rank, 6));
  PetscCall(SpdMetricsCompute(9, 12, PetscSqrtReal(F2), 9, s, 0, NULL, 0, NULL, 1e-10, &w));
  PetscCall(MTCheckInt("numerical rank, tol 1e-10", w.numerical_rank, 5));
  PetscCall(MTCheckReal("rank tolerance as given", w.rank_tol, 1e-10, 0, 0));
  PetscCall(SpdMetricsNumericalRank(9, s, 0, &r));
  PetscCall(MTCheckInt("numerical rank, tol 0 (non-zero values)", r, 8));
  PetscCall(MTCheckReal("condition (sigma_min = 0)", w.condition, INFINITY, 0, 0));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestZero(void)
{
  PetscReal        s[3] = { 0, 0, 0 };
  SpdWeightMetrics w;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "zero matrix 3 x 5\n"));
  PetscCall(SpdMetricsCompute(3, 5, 0, 3, s, 0, NULL, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("effective rank", w.effective_rank, 0, 0, 0));
  PetscCall(MTCheckReal("stable rank", w.stable_rank, 0, 0, 0));
  PetscCall(MTCheckInt("numerical rank", w.numerical_rank, 0));
  PetscCall(MTCheckReal("nuclear", w.nuclear, 0, 0, 0));
  PetscCall(MTCheckReal("condition", w.condition, INFINITY, 0, 0));
  PetscCall(MTCheckInt("MP outliers", w.mp_outliers, 0));
  PetscFunctionReturn(0);
}

/* Only some values known: what cannot be computed is NaN / -1. */
static PetscErrorCode TestPartial(void)
{
  PetscReal        top[2] = { 4, 2 }, bottom[2] = { 0.5, 0.8 };
  SpdWeightMetrics w;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "partial spectra of a 50 x 80 matrix, ||W||_F = 10\n"));
  PetscCall(SpdMetricsCompute(50, 80, 10, 0, NULL, 2, top, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("top only: spectral", w.spectral, 4, 0, 0));
  PetscCall(MTCheckReal("top only: stable rank 100/16", w.stable_rank, 6.25, 1e-15, 0));
  PetscCall(MTCheckReal("top only: sigma_min", w.sigma_min, NAN, 0, 0));
  PetscCall(MTCheckReal("top only: condition", w.condition, NAN, 0, 0));
  PetscCall(MTCheckReal("top only: nuclear", w.nuclear, NAN, 0, 0));
  PetscCall(MTCheckReal("top only: effective rank", w.effective_rank, NAN, 0, 0));
  PetscCall(MTCheckInt("top only: numerical rank", w.numerical_rank, -1));
  PetscCall(MTCheckReal("top only: MP noise", w.mp_noise, NAN, 0, 0));
  PetscCall(MTCheckReal("top only: MP edge", w.mp_edge, NAN, 0, 0));
  PetscCall(MTCheckInt("top only: MP outliers", w.mp_outliers, -1));
  PetscCall(MTCheckReal("top only: alpha", w.alpha, NAN, 0, 0));
  PetscCall(MTCheckInt("top only: alpha tail", w.alpha_ntail, -1));
  PetscCall(SpdMetricsCompute(50, 80, 10, 0, NULL, 0, NULL, 2, bottom, 0, &w));
  PetscCall(MTCheckReal("bottom only: spectral", w.spectral, NAN, 0, 0));
  PetscCall(MTCheckReal("bottom only: stable rank", w.stable_rank, NAN, 0, 0));
  PetscCall(MTCheckReal("bottom only: sigma_min", w.sigma_min, 0.5, 0, 0));
  PetscCall(MTCheckReal("bottom only: condition", w.condition, NAN, 0, 0));
  PetscCall(SpdMetricsCompute(50, 80, 10, 0, NULL, 2, top, 2, bottom, 0, &w));
  PetscCall(MTCheckReal("top and bottom: condition 4/0.5", w.condition, 8, 1e-15, 0));
  PetscCall(MTCheckReal("top and bottom: frobenius", w.frobenius, 10, 0, 0));
  PetscFunctionReturn(0);
}

/* Frobenius unknown (< 0): taken from the full spectrum. */
static PetscErrorCode TestFrobeniusFromSpectrum(void)
{
  PetscReal        s[3] = { 4, 2, 1 };
  SpdWeightMetrics w;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "Frobenius norm from the spectrum\n"));
  PetscCall(SpdMetricsCompute(3, 3, -1, 3, s, 0, NULL, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("frobenius sqrt(21)", w.frobenius, PetscSqrtReal(21.0), 1e-15, 0));
  PetscCall(MTCheckReal("stable rank 21/16", w.stable_rank, 21.0 / 16.0, 1e-15, 0));
  PetscCall(SpdMetricsCompute(3, 3, -1, 0, NULL, 1, s, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("frobenius unknown, partial", w.frobenius, NAN, 0, 0));
  PetscCall(MTCheckReal("stable rank unknown, partial", w.stable_rank, NAN, 0, 0));
  PetscFunctionReturn(0);
}

/* Power-law MLE at a fixed x_min on x_i = e^i, i = 0..k-1: sum ln(x_i/x_0) = k(k-1)/2,
   so alpha = 1 + 2/(k-1). */
static PetscErrorCode TestPowerLawClosedForm(void)
{
  PetscReal x[21], a, ks;
  PetscInt  nt;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "power-law MLE on x_i = e^i\n"));
  for (PetscInt i = 0; i < 21; i++) x[20 - i] = PetscExpReal((PetscReal)i); /* any order */
  PetscCall(SpdMetricsPowerLawAt(21, x, 1, &a, &nt, &ks));
  PetscCall(MTCheckReal("alpha 1 + 2/20", a, 1.1, 1e-14, 0));
  PetscCall(MTCheckInt("tail", nt, 21));
  PetscCall(SpdMetricsPowerLawAt(21, x, PetscExpReal(10.0), &a, &nt, &ks));
  PetscCall(MTCheckReal("alpha from e^10: 1 + 2/10", a, 1.2, 1e-13, 0));
  PetscCall(MTCheckInt("tail from e^10", nt, 11));
  PetscCall(SpdMetricsPowerLaw(9, x, 10, &a, &a, &nt, &ks));
  PetscCall(MTCheckInt("fewer values than min_tail: tail", nt, 0));
  PetscCall(MTCheckReal("fewer values than min_tail: ks", ks, NAN, 0, 0));
  PetscFunctionReturn(0);
}

/* Bad input returns the documented error code (and does not crash). */
static PetscErrorCode ExpectError(const char what[], PetscErrorCode ierr, PetscErrorCode expect)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %-44s error %d (expected %d)\n", what, (int)ierr, (int)expect));
  PetscCheck(ierr == expect, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: error code %d, expected %d", what, (int)ierr, (int)expect);
  PetscFunctionReturn(0);
}

static PetscErrorCode TestBadInput(void)
{
  PetscReal        neg[3] = { 3, -1, 0 }, nan[3] = { 3, NAN, 0 }, ok[3] = { 3, 2, 1 }, a, b;
  PetscInt         r;
  SpdWeightMetrics w;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "bad input\n"));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  PetscCall(ExpectError("negative singular value", SpdMetricsCompute(3, 4, 1, 3, neg, 0, NULL, 0, NULL, 0, &w), PETSC_ERR_ARG_OUTOFRANGE));
  PetscCall(ExpectError("NaN singular value", SpdMetricsCompute(3, 4, 1, 3, nan, 0, NULL, 0, NULL, 0, &w), PETSC_ERR_FP));
  PetscCall(ExpectError("NaN Frobenius norm", SpdMetricsCompute(3, 4, NAN, 0, NULL, 1, ok, 0, NULL, 0, &w), PETSC_ERR_FP));
  PetscCall(ExpectError("full spectrum of the wrong length", SpdMetricsCompute(5, 4, PetscSqrtReal(14.0), 3, ok, 0, NULL, 0, NULL, 0, &w), PETSC_ERR_ARG_SIZ));
  PetscCall(ExpectError("spectrum not matching the Frobenius norm", SpdMetricsCompute(3, 4, 5, 3, ok, 0, NULL, 0, NULL, 0, &w), PETSC_ERR_ARG_INCOMP));
  PetscCall(ExpectError("more top values than min(m,n)", SpdMetricsCompute(2, 4, 5, 0, NULL, 3, ok, 0, NULL, 0, &w), PETSC_ERR_ARG_SIZ));
  PetscCall(ExpectError("empty matrix", SpdMetricsCompute(0, 4, 0, 0, NULL, 0, NULL, 0, NULL, 0, &w), PETSC_ERR_ARG_OUTOFRANGE));
  PetscCall(ExpectError("negative rank tolerance", SpdMetricsNumericalRank(3, ok, -1, &r), PETSC_ERR_ARG_OUTOFRANGE));
  PetscCall(ExpectError("MP with a partial spectrum", SpdMetricsMarchenkoPastur(5, 4, 3, ok, &a, &b, &r), PETSC_ERR_ARG_SIZ));
  PetscCall(ExpectError("MP median ratio > 1", SpdMetricsMarchenkoPasturMedian(2, &a), PETSC_ERR_ARG_OUTOFRANGE));
  PetscCall(ExpectError("power law with NaN", SpdMetricsPowerLaw(3, nan, 0, &a, &a, &r, &b), PETSC_ERR_FP));
  PetscCall(ExpectError("power law x_min <= 0", SpdMetricsPowerLawAt(3, ok, 0, &a, &r, &b), PETSC_ERR_ARG_OUTOFRANGE));
  PetscCall(PetscPopErrorHandler());
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(TestIdentity(7, 7));
  PetscCall(TestIdentity(5, 9));
  PetscCall(TestRankOne());
  PetscCall(TestGeometric(20, 0.8));
  PetscCall(TestGeometric(60, 0.5));
  PetscCall(TestGeometric(300, 0.99));
  PetscCall(TestPlantedTiny());
  PetscCall(TestZero());
  PetscCall(TestPartial());
  PetscCall(TestFrobeniusFromSpectrum());
  PetscCall(TestPowerLawClosedForm());
  PetscCall(TestBadInput());
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "metrics closed forms: all passed\n"));
  PetscCall(SpdFinalize());
  return 0;
}
