static const char help[] = "Separation and alignment of partial Jacobians (SpdJacobianSpectraCompute):\n"
                           "log singular values and gaps of J_{l:1}, singular values of J_{L:l+1}, and the\n"
                           "overlaps of the right singular vectors of J_{L:l+1} with the left singular\n"
                           "vectors of J_{l:1} and their principal cosines, against LAPACK (dgesvd with\n"
                           "vectors) on explicit products, for an MLP and a gated Gaussian product.\n";

#include "jactest.h"

/* A = U S V^T (column-major m x n): s, U (m x mn), VT (mn x n). */
static PetscErrorCode LapackSVD(PetscInt m, PetscInt n, const PetscReal A[], PetscReal s[], PetscReal U[], PetscReal VT[])
{
  PetscBLASInt bm, bn, mn, lwork, info;
  PetscReal   *a, *work;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(m, &bm));
  PetscCall(PetscBLASIntCast(n, &bn));
  mn    = PetscMin(bm, bn);
  lwork = 10 * (bm + bn) + 64;
  PetscCall(PetscMalloc2(m * n, &a, lwork, &work));
  PetscCall(PetscArraycpy(a, A, m * n));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("S", "S", &bm, &bn, a, &bm, s, U, &bm, VT, &mn, work, &lwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgesvd info %d", (int)info);
  PetscCall(PetscFree2(a, work));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckSpectra(SpdJacobian J, const PetscInt w[], PetscInt L, PetscReal *A[], PetscReal *g[], PetscInt k, const char what[])
{
  MPI_Comm           comm = PETSC_COMM_WORLD;
  SpdJacobianSpectra s;
  PetscReal         *Jlo, *Jup, *U1, *VT1, *U2, *VT2, s1[64], s2[64], M[64], cs[64];

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc6(64 * 64, &Jlo, 64 * 64, &Jup, 64 * 64, &U1, 64 * 64, &VT1, 64 * 64, &U2, 64 * 64, &VT2));
  PetscCall(SpdJacobianSpectraCompute(J, k, 0, NULL, "jac_", &s));
  SPD_EXPECT(s.ndepth == L && s.k == k, "%s: %" PetscInt_FMT " depths, k = %" PetscInt_FMT, what, s.ndepth, s.k);
  for (PetscInt d = 0; d < s.ndepth; d++) {
    PetscInt  l = s.depth[d];
    PetscReal ls[64], gp[64], worst = 0;
    PetscCall(TestPartial(w, A, g, 1, l, Jlo));
    PetscCall(LapackSVD(w[l], w[0], Jlo, s1, U1, VT1));
    for (PetscInt i = 0; i < k; i++) ls[i] = log(s1[i]);
    for (PetscInt i = 0; i + 1 < k; i++) gp[i] = ls[i] - ls[i + 1];
    PetscCall(SpdTestCheckClose(comm, "log sigma_i(J_{l:1}) vs LAPACK", k, s.logsigma + d * k, ls, 1e-9, 1.0));
    PetscCall(SpdTestCheckClose(comm, "gaps of J_{l:1} vs LAPACK", k - 1, s.gap + d * (k - 1), gp, 1e-8, 1.0));
    for (PetscInt i = 0; i < k; i++) SPD_EXPECT(s.residual[d * k + i] < 1e-8 * s1[0], "%s: residual %g of triplet %" PetscInt_FMT " at depth %" PetscInt_FMT, what, (double)s.residual[d * k + i], i, l);
    if (l == L) {
      SPD_EXPECT(PetscIsNanReal(s.overlap[d * k * k]) && PetscIsNanReal(s.cosines[d * k]), "%s: depth L has no upper product; NaN expected", what);
      continue;
    }
    PetscCall(TestPartial(w, A, g, l + 1, L, Jup));
    PetscCall(LapackSVD(w[L], w[l], Jup, s2, U2, VT2));
    {
      PetscInt  mn2 = PetscMin(w[L], w[l]);
      PetscReal ls2[64];
      for (PetscInt i = 0; i < k; i++) ls2[i] = log(s2[i]);
      PetscCall(SpdTestCheckClose(comm, "log sigma_i(J_{L:l+1}) vs LAPACK", k, s.logsigma_rest + d * k, ls2, 1e-9, 1.0));
      /* M[i][j] = v_i(up) . u_j(lo): v_i is row i of VT2, u_j column j of U1 */
      for (PetscInt i = 0; i < k; i++)
        for (PetscInt j = 0; j < k; j++) {
          PetscReal dot = 0;
          for (PetscInt q = 0; q < w[l]; q++) dot += VT2[i + q * mn2] * U1[q + j * w[l]];
          M[i * k + j] = dot;
          worst        = PetscMax(worst, PetscAbsReal(PetscAbsReal(dot) - PetscAbsReal(s.overlap[d * k * k + i * k + j])));
        }
    }
    SPD_EXPECT(worst < 1e-6, "%s: overlaps at depth %" PetscInt_FMT " differ from LAPACK's by %g (up to sign)", what, l, (double)worst);
    PetscCall(SpdTestLapackSingularValues(k, k, M, cs)); /* M^T has the same singular values */
    PetscCall(SpdTestCheckClose(comm, "principal cosines vs LAPACK", k, s.cosines + d * k, cs, 1e-6, 1e-3));
  }
  PetscCall(PetscPrintf(comm, "%s: %" PetscInt_FMT " depths, %" PetscInt_FMT " products; gaps at depth 1: %.3f, at depth L: %.3f\n", what, s.ndepth, s.nprod, (double)s.gap[0], (double)s.gap[(L - 1) * (k - 1)]));
  PetscCall(SpdJacobianSpectraDestroy(&s));
  PetscCall(PetscFree6(Jlo, Jup, U1, VT1, U2, VT2));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MPI_Comm comm;

  PetscCall(SlepcInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  {
    TestNet     t    = { .L = 4, .w = { 8, 10, 9, 8, 7 }, .act = { SPD_ACT_TANH, SPD_ACT_GELU, SPD_ACT_TANH }, .bias = { PETSC_TRUE, PETSC_TRUE, PETSC_TRUE, PETSC_FALSE }, .a = { 1, 1, 1, 1 }, .c = { 1, 1, 1, 1 } };
    PetscReal   x[8] = { 0.5, -0.3, 1.1, 0.2, -0.9, 0.4, 0.0, -1.3 }, zmin;
    PetscReal  *A[8] = { 0 }, *g[8] = { 0 };
    SpdJacobian J;
    PetscCall(TestNetCreate(&t, 31, 1.4));
    for (PetscInt j = 1; j <= t.L; j++) PetscCall(PetscMalloc2(t.w[j] * t.w[j - 1], &A[j], t.w[j], &g[j]));
    PetscCall(TestNetFactors(&t, A));
    PetscCall(TestNetGates(&t, x, g, &zmin));
    PetscCall(SpdJacobianCreateMLP(t.mlp, x, comm, &J));
    PetscCall(CheckSpectra(J, t.w, t.L, A, g, 3, "small MLP (dense path)"));
    PetscCall(SpdJacobianDestroy(&J));
    for (PetscInt j = 1; j <= t.L; j++) PetscCall(PetscFree2(A[j], g[j]));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  {
    /* wide enough for SLEPc on every shell (min(m,n) > 32) */
    TestNet     t = { .L = 4, .w = { 40, 48, 44, 40, 36 }, .act = { SPD_ACT_TANH, SPD_ACT_TANH, SPD_ACT_GELU }, .bias = { PETSC_TRUE, PETSC_TRUE, PETSC_TRUE, PETSC_TRUE }, .a = { 1, 1, 1, 1 }, .c = { 1, 1, 1, 1 } };
    PetscReal   x[40], zmin;
    PetscReal  *A[8] = { 0 }, *g[8] = { 0 };
    SpdTestRng  r;
    SpdJacobian J;
    SpdTestRngSeed(&r, 5);
    for (PetscInt i = 0; i < 40; i++) x[i] = SpdTestRngNormal(&r);
    PetscCall(TestNetCreate(&t, 32, 1.4));
    for (PetscInt j = 1; j <= t.L; j++) PetscCall(PetscMalloc2(t.w[j] * t.w[j - 1], &A[j], t.w[j], &g[j]));
    PetscCall(TestNetFactors(&t, A));
    PetscCall(TestNetGates(&t, x, g, &zmin));
    PetscCall(SpdJacobianCreateMLP(t.mlp, x, comm, &J));
    PetscCall(CheckSpectra(J, t.w, t.L, A, g, 4, "wide MLP (SLEPc)"));
    PetscCall(SpdJacobianDestroy(&J));
    for (PetscInt j = 1; j <= t.L; j++) PetscCall(PetscFree2(A[j], g[j]));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  {
    PetscInt    d = 10, L = 6, w[7] = { 10, 10, 10, 10, 10, 10, 10 };
    PetscReal  *A[8] = { 0 }, *g[8] = { 0 };
    SpdJacobian J;
    PetscCall(SpdJacobianCreateGaussian(comm, d, L, 1.0 / PetscSqrtReal(d), 0.8, 7, &J));
    for (PetscInt j = 1; j <= L; j++) {
      PetscCall(PetscMalloc2(d * d, &A[j], d, &g[j]));
      PetscCall(SpdJacobianGetLayer(J, j, A[j], g[j]));
    }
    PetscCall(CheckSpectra(J, w, L, A, g, 4, "gated Gaussian"));
    PetscCall(SpdJacobianDestroy(&J));
    for (PetscInt j = 1; j <= L; j++) PetscCall(PetscFree2(A[j], g[j]));
  }
  PetscCall(SpdTestReport());
  PetscCall(SlepcFinalize());
  return 0;
}
