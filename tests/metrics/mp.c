static const char help[] = "Marchenko-Pastur noise estimate and outlier count on Gaussian matrices\n"
                           "(singular values by LAPACK), with and without planted spikes.\n"
                           "  -seed <n> : base seed (default 2024)\n";

#include "metricstest.h"

/* W = s X + sum_k theta_k u_k v_k^T (column-major m x n), X i.i.d. N(0,1), u_k, v_k random
   unit vectors. The BBP threshold of a spike is theta_c = s (m n)^(1/4): stronger spikes
   leave the bulk, weaker ones stay inside it. */
static PetscErrorCode SpikedMatrix(uint64_t seed, PetscInt m, PetscInt n, PetscReal s, PetscInt nspike, const PetscReal theta[], PetscReal *W)
{
  SpdTestRng rng;
  PetscReal *u, *v;

  PetscFunctionBeginUser;
  SpdTestRandomMatrix(MTSeed(seed), m, n, W);
  for (PetscInt64 i = 0; i < (PetscInt64)m * n; i++) W[i] *= s;
  PetscCall(PetscMalloc2(m, &u, n, &v));
  SpdTestRngSeed(&rng, MTSeed(seed) + (1ULL << 31));
  for (PetscInt k = 0; k < nspike; k++) {
    PetscReal nu = 0, nv = 0;
    for (PetscInt i = 0; i < m; i++) {
      u[i] = SpdTestRngNormal(&rng);
      nu += u[i] * u[i];
    }
    for (PetscInt j = 0; j < n; j++) {
      v[j] = SpdTestRngNormal(&rng);
      nv += v[j] * v[j];
    }
    nu = PetscSqrtReal(nu);
    nv = PetscSqrtReal(nv);
    for (PetscInt j = 0; j < n; j++)
      for (PetscInt i = 0; i < m; i++) W[i + (PetscInt64)j * m] += theta[k] * (u[i] / nu) * (v[j] / nv);
  }
  PetscCall(PetscFree2(u, v));
  PetscFunctionReturn(0);
}

/* Estimate s from the LAPACK spectrum; s within `rtol` of the truth, outliers in [lo, hi]. */
static PetscErrorCode CheckMP(const char name[], uint64_t seed, PetscInt m, PetscInt n, PetscReal s, PetscInt nspike, const PetscReal theta[], PetscReal rtol, PetscInt lo, PetscInt hi)
{
  PetscInt         k = PetscMin(m, n), out;
  PetscReal       *W, *sv, noise, edge, thr, frob = 0;
  SpdWeightMetrics w;
  char             what[128];

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: %" PetscInt_FMT " x %" PetscInt_FMT ", s = %g, %" PetscInt_FMT " spikes\n", name, m, n, (double)s, nspike));
  PetscCall(PetscMalloc2((size_t)m * n, &W, k, &sv));
  PetscCall(SpikedMatrix(seed, m, n, s, nspike, theta, W));
  for (PetscInt64 i = 0; i < (PetscInt64)m * n; i++) frob += W[i] * W[i];
  frob = PetscSqrtReal(frob);
  PetscCall(SpdTestLapackSingularValues(m, n, W, sv));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  top singular values %.4f %.4f %.4f %.4f %.4f; bulk edge of the truth %.4f\n", (double)sv[0], (double)sv[PetscMin(1, k - 1)], (double)sv[PetscMin(2, k - 1)], (double)sv[PetscMin(3, k - 1)], (double)sv[PetscMin(4, k - 1)], (double)(s * (PetscSqrtReal((PetscReal)m) + PetscSqrtReal((PetscReal)n)))));
  PetscCall(SpdMetricsMarchenkoPastur(m, n, k, sv, &noise, &edge, &out));
  PetscCall(SpdMetricsMarchenkoPasturThreshold(m, n, noise, &thr));
  PetscCall(PetscSNPrintf(what, sizeof(what), "noise s (within %g%%)", (double)(100 * rtol)));
  PetscCall(MTCheckReal(what, noise, s, rtol, 0));
  PetscCall(MTCheckReal("edge = s (sqrt m + sqrt n)", edge, noise * (PetscSqrtReal((PetscReal)m) + PetscSqrtReal((PetscReal)n)), 1e-15, 0));
  PetscCall(MTCheckRange("outliers", (PetscReal)out, (PetscReal)lo, (PetscReal)hi));
  {
    PetscInt cnt = 0;
    for (PetscInt i = 0; i < k; i++)
      if (sv[i] > thr) cnt++;
    PetscCall(MTCheckInt("outliers = #{sigma > threshold}", out, cnt));
  }
  PetscCall(MTCheckRange("threshold / edge - 1 (Tracy-Widom margin)", thr / edge - 1, 0, 2 * PetscPowReal((PetscReal)PetscMin(m, n), -2.0 / 3.0)));
  /* the driver reports the same numbers */
  PetscCall(SpdMetricsCompute(m, n, frob, k, sv, 0, NULL, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("SpdMetricsCompute mp_noise", w.mp_noise, noise, 0, 0));
  PetscCall(MTCheckReal("SpdMetricsCompute mp_edge", w.mp_edge, edge, 0, 0));
  PetscCall(MTCheckReal("SpdMetricsCompute mp_threshold", w.mp_threshold, thr, 0, 0));
  PetscCall(MTCheckInt("SpdMetricsCompute mp_outliers", w.mp_outliers, out));
  PetscCall(PetscFree2(W, sv));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscInt  seed = 2024;
  PetscReal s    = 0.7, theta[3];

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-seed", &seed, NULL));

  /* pure noise: the count above the threshold is 0 or tiny */
  PetscCall(CheckMP("Gaussian", (uint64_t)seed, 400, 1000, s, 0, NULL, 0.02, 0, 2));
  PetscCall(CheckMP("Gaussian, tall", (uint64_t)seed + 1, 700, 250, s, 0, NULL, 0.02, 0, 2));
  PetscCall(CheckMP("Gaussian, square", (uint64_t)seed + 2, 400, 400, s, 0, NULL, 0.02, 0, 2));
  PetscCall(CheckMP("Gaussian, small", (uint64_t)seed + 3, 30, 60, 3.0, 0, NULL, 0.1, 0, 2));
  for (PetscInt r = 0; r < 4; r++) PetscCall(CheckMP("Gaussian, repeated", (uint64_t)seed + 10 + r, 150, 300, 1.3, 0, NULL, 0.03, 0, 2));

  /* rank-3 spikes at 2.5, 3.5 and 5 times the BBP threshold: exactly 3 outliers */
  {
    PetscReal tc = s * PetscPowReal(400.0 * 1000.0, 0.25);
    theta[0]     = 5 * tc;
    theta[1]     = 3.5 * tc;
    theta[2]     = 2.5 * tc;
    PetscCall(CheckMP("Gaussian + rank-3 spike", (uint64_t)seed + 20, 400, 1000, s, 3, theta, 0.02, 3, 3));
  }
  {
    PetscReal tc = s * PetscPowReal(400.0 * 400.0, 0.25);
    theta[0]     = 6 * tc;
    theta[1]     = 4 * tc;
    theta[2]     = 3 * tc;
    PetscCall(CheckMP("Gaussian + rank-3 spike, square", (uint64_t)seed + 21, 400, 400, s, 3, theta, 0.02, 3, 3));
  }
  /* spikes below the BBP threshold do not leave the bulk and are not counted */
  {
    PetscReal tc = s * PetscPowReal(400.0 * 1000.0, 0.25);
    theta[0]     = 0.6 * tc;
    theta[1]     = 0.5 * tc;
    PetscCall(CheckMP("Gaussian + sub-threshold spikes", (uint64_t)seed + 22, 400, 1000, s, 2, theta, 0.02, 0, 2));
  }
  /* no noise at all: a rank-5 matrix has noise 0 and 5 outliers */
  {
    PetscReal sv[40] = { 9, 7, 5, 3, 1 }, noise, edge;
    PetscInt  out;
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "exact rank 5, 40 x 60\n"));
    PetscCall(SpdMetricsMarchenkoPastur(40, 60, 40, sv, &noise, &edge, &out));
    PetscCall(MTCheckReal("noise", noise, 0, 0, 0));
    PetscCall(MTCheckInt("outliers", out, 5));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "metrics Marchenko-Pastur: all passed\n"));
  PetscCall(SpdFinalize());
  return 0;
}
