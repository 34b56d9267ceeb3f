static const char help[] = "Lyapunov exponents by QR iteration: Gaussian products against Newman's closed\n"
                           "form lambda_i = log s + [log 2 + psi((d-i+1)/2)]/2 (within 4 standard errors of\n"
                           "the per-layer samples), the k-volume identity against LAPACK on explicit\n"
                           "products (gated Gaussian and an MLP), the Gaussian ensemble's moments and its\n"
                           "products against loops, and the same numbers on the world and on one rank.\n";

#include "jactest.h"

/* psi(n/2) for n >= 1 in closed form: psi(m) = -gamma + sum_{j<m} 1/j and
   psi(m + 1/2) = -gamma - 2 log 2 + sum_{j<=m} 2/(2j-1). */
static double DigammaHalf(PetscInt n)
{
  const double gamma = 0.57721566490153286061;
  double       s;
  if (n % 2 == 0) {
    s = -gamma;
    for (PetscInt j = 1; j < n / 2; j++) s += 1.0 / j;
  } else {
    s = -gamma - 2 * log(2.0);
    for (PetscInt j = 1; j <= n / 2; j++) s += 2.0 / (2 * j - 1);
  }
  return s;
}

static PetscErrorCode CheckNewman(PetscInt d, PetscInt L, PetscReal s, PetscInt nseeds)
{
  MPI_Comm   comm = PETSC_COMM_WORLD;
  PetscReal *sum, *sum2, worst = 0;
  PetscInt   N = nseeds * L;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc2(d, &sum, d, &sum2));
  for (PetscInt sd = 0; sd < nseeds; sd++) {
    SpdJacobian J;
    SpdLyapunov r;
    PetscCall(SpdJacobianCreateGaussian(comm, d, L, s, 1.0, 1000 * d + sd, &J));
    PetscCall(SpdJacobianLyapunov(J, d, NULL, 77 + sd, &r));
    for (PetscInt l = 0; l < L; l++)
      for (PetscInt i = 0; i < d; i++) {
        PetscReal x = r.logr[l * d + i];
        sum[i] += x;
        sum2[i] += x * x;
      }
    for (PetscInt i = 0; i < d; i++) SPD_EXPECT(PetscAbsReal(r.lambda[i] - r.cumulative[(L - 1) * d + i]) < 1e-14, "lambda != cumulative at depth L");
    PetscCall(SpdLyapunovDestroy(&r));
    PetscCall(SpdJacobianDestroy(&J));
  }
  for (PetscInt i = 0; i < d; i++) {
    PetscReal mean = sum[i] / N, var = (sum2[i] - N * mean * mean) / (N - 1), se = PetscSqrtReal(var / N);
    PetscReal exact = log(s) + 0.5 * (log(2.0) + DigammaHalf(d - i));
    PetscReal z     = (mean - exact) / se;
    worst           = PetscMax(worst, PetscAbsReal(z));
    SPD_EXPECT(PetscAbsReal(z) <= 4, "Gaussian d=%" PetscInt_FMT " s=%g: lambda_%" PetscInt_FMT " = %.6f, Newman %.6f, %.2f standard errors (se %.2e)", d, (double)s, i + 1, (double)mean, (double)exact, (double)z, (double)se);
  }
  PetscCall(PetscPrintf(comm, "Newman d=%" PetscInt_FMT " L=%" PetscInt_FMT " seeds=%" PetscInt_FMT ": worst |estimate - closed form| = %.2f standard errors\n", d, L, nseeds, (double)worst));
  PetscCall(PetscFree2(sum, sum2));
  PetscFunctionReturn(0);
}

/* k-volume identity: sum_i l * cumulative[l-1][i] = log vol_k(J_{l:1}[:, :k]) = sum log sigma
   (LAPACK) with Q0 = the first k columns of the identity. A[j], g[j]: factors and gates. */
static PetscErrorCode CheckVolume(SpdJacobian J, const PetscInt w[], PetscInt L, PetscInt k, PetscReal *A[], PetscReal *g[], const char what[])
{
  MPI_Comm    comm = PETSC_COMM_WORLD;
  Mat         Q0;
  SpdLyapunov r;
  Vec         v;
  PetscInt    lo, hi;
  PetscReal  *Jl, sg[64];

  PetscFunctionBeginUser;
  PetscCall(SpdJacobianCreateVec(J, 0, &v));
  PetscCall(VecGetOwnershipRange(v, &lo, &hi));
  PetscCall(MatCreateDense(comm, hi - lo, PETSC_DECIDE, w[0], k, NULL, &Q0));
  for (PetscInt i = lo; i < hi; i++)
    if (i < k) PetscCall(MatSetValue(Q0, i, i, 1.0, INSERT_VALUES));
  PetscCall(MatAssemblyBegin(Q0, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(Q0, MAT_FINAL_ASSEMBLY));
  PetscCall(SpdJacobianLyapunov(J, k, Q0, 0, &r));
  PetscCall(PetscMalloc1(64 * 64, &Jl));
  for (PetscInt l = 1; l <= L; l++) {
    PetscReal ref = 0, got = 0;
    PetscCall(TestPartial(w, A, g, 1, l, Jl));
    PetscCall(SpdTestLapackSingularValues(w[l], k, Jl, sg)); /* first k columns */
    for (PetscInt i = 0; i < k; i++) ref += log(sg[i]), got += l * r.cumulative[(l - 1) * k + i];
    SPD_EXPECT(PetscAbsReal(got - ref) <= 1e-10 * PetscMax(1, PetscAbsReal(ref)), "%s: log vol_%" PetscInt_FMT "(J_{%" PetscInt_FMT ":1} Q0) = %.15g from QR, %.15g from LAPACK", what, k, l, (double)got, (double)ref);
  }
  PetscCall(PetscFree(Jl));
  PetscCall(SpdLyapunovDestroy(&r));
  PetscCall(MatDestroy(&Q0));
  PetscCall(VecDestroy(&v));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MPI_Comm comm;

  PetscCall(SlepcInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;

  /* Newman's closed form for several widths and scales */
  PetscCall(CheckNewman(4, 1500, 1.0, 4));
  PetscCall(CheckNewman(16, 600, 0.5, 4));
  PetscCall(CheckNewman(64, 120, 2.0, 4));

  /* the Gaussian ensemble: moments, gates, the same factors and exponents everywhere */
  {
    PetscInt    d = 48, L = 6, N = d * d * L, non = 0, ng = d * (L - 1);
    PetscReal   s = 0.7, p = 0.6, m1 = 0, m2 = 0;
    PetscReal  *A[8] = { 0 }, *g[8] = { 0 }, *A1, *g1;
    SpdJacobian J, Js, Jg;
    SpdLyapunov r1, r2, r3;

    PetscCall(SpdJacobianCreateGaussian(comm, d, L, s, p, 42, &J));
    PetscCall(SpdJacobianCreateGaussian(PETSC_COMM_SELF, d, L, s, p, 42, &Js));
    PetscCall(PetscOptionsSetValue(NULL, "-jacobian_gaussian_store_max", "0"));
    PetscCall(SpdJacobianCreateGaussian(comm, d, L, s, p, 42, &Jg)); /* regenerates its rows */
    PetscCall(PetscOptionsClearValue(NULL, "-jacobian_gaussian_store_max"));
    PetscCall(PetscMalloc2(d * d, &A1, d, &g1));
    for (PetscInt j = 1; j <= L; j++) {
      PetscCall(PetscMalloc2(d * d, &A[j], d, &g[j]));
      PetscCall(SpdJacobianGetLayer(J, j, A[j], g[j]));
      for (PetscInt i = 0; i < d * d; i++) m1 += A[j][i], m2 += A[j][i] * A[j][i];
      if (j < L)
        for (PetscInt i = 0; i < d; i++) non += g[j][i] == 1.0;
      PetscCall(SpdJacobianGetLayer(Js, j, A1, g1));
      SPD_EXPECT(memcmp(A1, A[j], sizeof(PetscReal) * d * d) == 0 && memcmp(g1, g[j], sizeof(PetscReal) * d) == 0, "Gaussian layer %" PetscInt_FMT " differs between the world and one rank", j);
      PetscCall(SpdJacobianGetLayer(Jg, j, A1, g1));
      SPD_EXPECT(memcmp(A1, A[j], sizeof(PetscReal) * d * d) == 0 && memcmp(g1, g[j], sizeof(PetscReal) * d) == 0, "Gaussian layer %" PetscInt_FMT " differs between stored and regenerated rows", j);
    }
    m1 /= N;
    m2 /= N;
    SPD_EXPECT(PetscAbsReal(m1) <= 4 * s / PetscSqrtReal(N), "Gaussian entries: mean %g, standard error %g", (double)m1, (double)(s / PetscSqrtReal(N)));
    SPD_EXPECT(PetscAbsReal(m2 - s * s) <= 4 * s * s * PetscSqrtReal(2.0 / N), "Gaussian entries: second moment %g, expected %g +- %g", (double)m2, (double)(s * s), (double)(s * s * PetscSqrtReal(2.0 / N)));
    SPD_EXPECT(PetscAbsReal((PetscReal)non / ng - p) <= 4 * PetscSqrtReal(p * (1 - p) / ng), "gates: fraction on %g, expected %g", (double)non / ng, (double)p);
    /* products of the ensemble against loops over its factors */
    {
      Mat        D, Ds;
      PetscReal *Jl, *Jd;
      PetscInt   pairs[3][2] = {
          { 1, L },
          { 2, 4 },
          { 3, 3 }
      };
      PetscCall(PetscMalloc2(d * d, &Jl, d * d, &Jd));
      for (PetscInt q = 0; q < 3; q++) {
        const PetscReal *a;
        PetscInt         lda;
        PetscCall(TestPartial((PetscInt[]) { d, d, d, d, d, d, d }, A, g, pairs[q][0], pairs[q][1], Jl));
        PetscCall(SpdJacobianCreateDense(Jg, pairs[q][0], pairs[q][1], &D));
        PetscCall(MatCreateRedundantMatrix(D, 0, PETSC_COMM_SELF, MAT_INITIAL_MATRIX, &Ds));
        PetscCall(MatDenseGetLDA(Ds, &lda));
        PetscCall(MatDenseGetArrayRead(Ds, &a));
        for (PetscInt c = 0; c < d; c++)
          for (PetscInt i = 0; i < d; i++) Jd[i + c * d] = a[i + c * lda];
        PetscCall(MatDenseRestoreArrayRead(Ds, &a));
        {
          PetscReal mx = 0;
          for (PetscInt i = 0; i < d * d; i++) mx = PetscMax(mx, PetscAbsReal(Jl[i]));
          PetscCall(SpdTestCheckClose(comm, "gated Gaussian J_{l:k} dense vs loops (relative to the largest entry)", d * d, Jd, Jl, 1e-13, mx));
        }
        PetscCall(MatDestroy(&Ds));
        PetscCall(MatDestroy(&D));
      }
      PetscCall(PetscFree2(Jl, Jd));
    }
    /* exponents on the world, on one rank, with regenerated rows */
    PetscCall(SpdJacobianLyapunov(J, 8, NULL, 5, &r1));
    PetscCall(SpdJacobianLyapunov(Js, 8, NULL, 5, &r2));
    PetscCall(SpdJacobianLyapunov(Jg, 8, NULL, 5, &r3));
    PetscCall(SpdTestCheckClose(comm, "Lyapunov cumulative, world vs one rank", L * 8, r1.cumulative, r2.cumulative, 1e-11, 1e-3));
    PetscCall(SpdTestCheckClose(comm, "Lyapunov cumulative, stored vs regenerated", L * 8, r3.cumulative, r1.cumulative, 1e-11, 1e-3));
    PetscCall(SpdLyapunovDestroy(&r1));
    PetscCall(SpdLyapunovDestroy(&r2));
    PetscCall(SpdLyapunovDestroy(&r3));
    PetscCall(CheckVolume(J, (PetscInt[]) { d, d, d, d, d, d, d }, L, 5, A, g, "gated Gaussian"));
    for (PetscInt j = 1; j <= L; j++) PetscCall(PetscFree2(A[j], g[j]));
    PetscCall(PetscFree2(A1, g1));
    PetscCall(SpdJacobianDestroy(&J));
    PetscCall(SpdJacobianDestroy(&Js));
    PetscCall(SpdJacobianDestroy(&Jg));
  }

  /* an MLP: the volume identity and world vs one rank */
  {
    TestNet     t    = { .L = 5, .w = { 6, 9, 7, 8, 6, 5 }, .act = { SPD_ACT_TANH, SPD_ACT_GELU, SPD_ACT_LEAKY_RELU, SPD_ACT_TANH }, .bias = { PETSC_TRUE, PETSC_TRUE, PETSC_FALSE, PETSC_TRUE, PETSC_TRUE }, .a = { 1, 0.5, 1, 1, 0.7 }, .c = { 1, 1, 1, 1, 1 } };
    PetscReal   x[6] = { 0.3, -1.2, 0.8, 0.1, -0.4, 1.5 }, zmin;
    PetscReal  *A[8] = { 0 }, *g[8] = { 0 };
    SpdJacobian J, Js;
    SpdLyapunov r1, r2;

    PetscCall(TestNetCreate(&t, 21, 1.3));
    for (PetscInt j = 1; j <= t.L; j++) PetscCall(PetscMalloc2(t.w[j] * t.w[j - 1], &A[j], t.w[j], &g[j]));
    PetscCall(TestNetFactors(&t, A));
    PetscCall(TestNetGates(&t, x, g, &zmin));
    PetscCall(SpdJacobianCreateMLP(t.mlp, x, comm, &J));
    PetscCall(SpdJacobianCreateMLP(t.mlp, x, PETSC_COMM_SELF, &Js));
    PetscCall(CheckVolume(J, t.w, t.L, 3, A, g, "MLP"));
    PetscCall(CheckVolume(J, t.w, t.L, 1, A, g, "MLP, k = 1"));
    PetscCall(SpdJacobianLyapunov(J, 5, NULL, 9, &r1));
    PetscCall(SpdJacobianLyapunov(Js, 5, NULL, 9, &r2));
    PetscCall(SpdTestCheckClose(comm, "MLP Lyapunov, world vs one rank", t.L * 5, r1.cumulative, r2.cumulative, 1e-11, 1e-3));
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    SPD_EXPECT(SpdJacobianLyapunov(J, 6, NULL, 9, &r2) == PETSC_ERR_ARG_OUTOFRANGE, "k = 6 > narrowest width 5 must be refused");
    PetscCall(PetscPopErrorHandler());
    PetscCall(SpdLyapunovDestroy(&r1));
    PetscCall(SpdLyapunovDestroy(&r2));
    PetscCall(SpdJacobianDestroy(&J));
    PetscCall(SpdJacobianDestroy(&Js));
    for (PetscInt j = 1; j <= t.L; j++) PetscCall(PetscFree2(A[j], g[j]));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  PetscCall(SpdTestReport());
  PetscCall(SlepcFinalize());
  return 0;
}
