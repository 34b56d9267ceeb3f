/* Residual norms of SpdEigExtreme: Krylov-Schur's estimate |beta e_m^T y|
   (-spd_eig_explicit_residuals 0, no products) against the explicit ||A x - lambda x|| of
   the returned vectors recomputed here, and against the default explicit residuals (the
   same solve plus one product per pair). On a planted spectrum (a MATSHELL with MatMult only, against the planted values)
   and on the loss Hessian of a small relu MLP (against LAPACK dsyev on the dense Hessian
   assembled column by column from products). The default convergence test
   ||r|| <= tol max |theta| is checked on the true residuals: ||r|| <= tol ||A||. */
static const char help[] = "Tests SpdEigExtreme's Krylov residual estimates against explicit residuals.\n";

#include "eigutil.h"
#include <specdyn.h>

/* Solves (A, which, k) with tol 1e-8 twice, with the Krylov estimate ("est_") and with
   explicit residuals ("ex_"), and checks both against the true residuals and ref[]
   (the k exact eigenvalues in the order of `which`); anorm = ||A||_2 (exact). */
static PetscErrorCode CompareResiduals(Mat A, const char what[], SpdEigWhich which, PetscInt k, const double ref[], double anorm)
{
  SpdEigenpairs e, x;
  Vec           w;
  PetscBool     iskrylov, isexplicit;
  const double  tol = 1e-8;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsSetValue(NULL, "-est_eps_tol", "1e-8"));
  PetscCall(PetscOptionsSetValue(NULL, "-ex_eps_tol", "1e-8"));
  PetscCall(PetscOptionsSetValue(NULL, "-est_spd_eig_explicit_residuals", "0"));
  PetscCall(SpdEigExtreme(A, which, k, PETSC_TRUE, "est_", &e));
  PetscCall(SpdEigExtreme(A, which, k, PETSC_FALSE, "ex_", &x));
  PetscCall(PetscOptionsClearValue(NULL, "-est_eps_tol"));
  PetscCall(PetscOptionsClearValue(NULL, "-ex_eps_tol"));
  PetscCall(PetscOptionsClearValue(NULL, "-est_spd_eig_explicit_residuals"));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: %" PetscInt_FMT " its, %" PetscInt_FMT " products (%s), %" PetscInt_FMT " products (%s)\n", what, e.its, e.nprod, e.residuals, x.nprod, x.residuals));
  PetscCall(PetscStrcmp(e.residuals, "Krylov estimate", &iskrylov));
  PetscCall(PetscStrcmp(x.residuals, "explicit", &isexplicit));
  PetscCheck(iskrylov && isexplicit, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: residuals obtained as '%s' and '%s', expected 'Krylov estimate' with -spd_eig_explicit_residuals 0 and 'explicit' by default", what, e.residuals, x.residuals);
  PetscCheck(e.nconv == k && x.nconv == k, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: %" PetscInt_FMT " and %" PetscInt_FMT " of %" PetscInt_FMT " converged", what, e.nconv, x.nconv, k);
  PetscCheck(x.nprod == e.nprod + k && x.its == e.its, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: explicit residuals took %" PetscInt_FMT " products in %" PetscInt_FMT " iterations, expected the same solve (%" PetscInt_FMT " in %" PetscInt_FMT ") plus %" PetscInt_FMT, what, x.nprod, x.its, e.nprod, e.its, k);
  PetscCall(MatCreateVecs(A, &w, NULL));
  for (PetscInt i = 0; i < k; i++) {
    PetscReal r, err = PetscAbsReal(e.lambda[i] - ref[i]);

    PetscCall(MatMult(A, e.X[i], w));
    PetscCall(VecAXPY(w, -e.lambda[i], e.X[i]));
    PetscCall(VecNorm(w, NORM_2, &r));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  lambda %+.15e  exact %+.15e  |diff| %.1e  estimate %.3e  explicit %.3e  recomputed %.3e\n", (double)e.lambda[i], ref[i], (double)err, (double)e.residual[i], (double)x.residual[i], (double)r));
    PetscCheck(e.lambda[i] == x.lambda[i], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: pair %" PetscInt_FMT ": %.17g with estimates, %.17g with explicit residuals: not the same solve", what, i, (double)e.lambda[i], (double)x.lambda[i]);
    /* the estimate is the true residual up to rounding: within the tolerance */
    PetscCheck(PetscAbsReal(e.residual[i] - r) <= tol * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: pair %" PetscInt_FMT ": Krylov estimate %.3e, true residual %.3e: they differ by more than tol ||A|| = %.3e", what, i, (double)e.residual[i], (double)r, tol * anorm);
    PetscCheck(PetscAbsReal(x.residual[i] - r) <= 1e-3 * r + 1e-14 * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: pair %" PetscInt_FMT ": explicit residual %.3e, recomputed %.3e", what, i, (double)x.residual[i], (double)r);
    /* the criterion met: ||r|| <= tol max |theta| <= tol ||A|| (plus rounding) */
    PetscCheck(r <= tol * anorm * (1 + 1e-6) + 1e-13 * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: pair %" PetscInt_FMT ": true residual %.3e > tol ||A|| = %.3e", what, i, (double)r, tol * anorm);
    /* symmetric: an eigenvalue lies within ||r|| (here the exact i-th, well separated) */
    PetscCheck(err <= r + 1e-13 * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: pair %" PetscInt_FMT ": |lambda - exact| = %.3e exceeds the residual %.3e", what, i, (double)err, (double)r);
  }
  PetscCall(VecDestroy(&w));
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(SpdEigenpairsDestroy(&x));
  PetscFunctionReturn(0);
}

/* Planted: top 3 + 0.6 (0.8)^i (i < 12), bottom -2 - 0.6 (0.8)^i (i < 8), a bulk on
   [-2, 3]; as a MATSHELL with MatMult only. */
static PetscErrorCode TestPlanted(void)
{
  const PetscInt  n = 400;
  double         *q, *lambda, *g, top[12], bot[8];
  Mat             A, S;
  EigTestShellCtx sctx;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3((size_t)n * n, &q, n, &lambda, (size_t)n * n, &g));
  for (PetscInt i = 0; i < n; i++) {
    PetscInt c = (i * 7) % n;
    double   l;
    if (i < 12)
      l = top[i] = 3 + 0.6 * PetscPowReal(0.8, (PetscReal)i);
    else if (i < 20)
      l = bot[i - 12] = -2 - 0.6 * PetscPowReal(0.8, (PetscReal)(i - 12));
    else
      l = -2 + 5.0 * (i - 20) / (n - 21);
    lambda[c] = l;
  }
  PetscCall(EigTestOrthogonal(41, n, q));
  PetscCall(EigTestPlanted(n, q, lambda, g));
  PetscCall(EigTestDense(PETSC_COMM_WORLD, n, g, &A));
  PetscCall(EigTestShell(A, &sctx, &S));
  PetscCall(CompareResiduals(S, "planted top-10", SPD_EIG_LARGEST, 10, top, 3.6));
  PetscCall(CompareResiduals(S, "planted most-negative-6", SPD_EIG_SMALLEST, 6, bot, 3.6));
  PetscCall(MatDestroy(&S));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFree3(q, lambda, g));
  PetscFunctionReturn(0);
}

/* The loss Hessian of a 10-16-8-3 relu MLP with cross-entropy on a 3-class Gaussian
   mixture, at a random point; reference: LAPACK on the dense Hessian from P products. */
static PetscErrorCode TestHessian(void)
{
  const PetscInt L = 3, width[4] = { 10, 16, 8, 3 };
  SpdActivation  acts[2] = { SPD_ACT_RELU, SPD_ACT_RELU };
  PetscBool      bias[3] = { PETSC_TRUE, PETSC_TRUE, PETSC_TRUE };
  SpdMLP         m;
  SpdData        d;
  PetscInt       P, rs, re;
  PetscReal     *theta, loss;
  double        *h, *w, top[6], bot[4], anorm;
  Mat            H;
  Vec            x, y;

  PetscFunctionBeginUser;
  PetscCall(SpdDataGaussianMixture(PETSC_COMM_WORLD, 150, width[0], 3, 2.0, 5, &d));
  PetscCall(SpdMLPCreate(PETSC_COMM_WORLD, L, width, acts, bias, SPD_LOSS_CROSS_ENTROPY, &m));
  PetscCall(SpdMLPGetNumParameters(m, &P));
  PetscCall(SpdMLPGetParameters(m, &theta));
  SpdTestRandomMatrix(17, P, 1, theta);
  for (PetscInt j = 0; j < P; j++) theta[j] *= 0.5;
  PetscCall(SpdMLPSetPoint(m, d));
  PetscCall(SpdMLPGetLossGradient(m, &loss, NULL));
  PetscCall(SpdMatCreateCurvature(m, SPD_CURV_HESSIAN, 0, NULL, NULL, &H));

  /* dense Hessian, column j = H e_j, symmetrized; its eigenvalues by LAPACK */
  PetscCall(PetscMalloc2((size_t)P * P, &h, P, &w));
  PetscCall(MatCreateVecs(H, &x, &y));
  PetscCall(VecGetOwnershipRange(x, &rs, &re));
  for (PetscInt j = 0; j < P; j++) {
    PetscCall(VecSet(x, 0));
    if (j >= rs && j < re) PetscCall(VecSetValue(x, j, 1.0, INSERT_VALUES));
    PetscCall(VecAssemblyBegin(x));
    PetscCall(VecAssemblyEnd(x));
    PetscCall(MatMult(H, x, y));
    PetscCall(SpdTestVecGather(y, h + (size_t)j * P));
  }
  for (PetscInt j = 0; j < P; j++)
    for (PetscInt i = 0; i < j; i++) h[i + (size_t)j * P] = h[j + (size_t)i * P] = 0.5 * (h[i + (size_t)j * P] + h[j + (size_t)i * P]);
  PetscCall(EigTestLapackEigenvalues(P, h, w));
  for (PetscInt i = 0; i < 6; i++) top[i] = w[P - 1 - i];
  for (PetscInt i = 0; i < 4; i++) bot[i] = w[i];
  anorm = PetscMax(PetscAbsReal(w[0]), PetscAbsReal(w[P - 1]));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Hessian: P = %" PetscInt_FMT ", loss %.6f, LAPACK: lambda_max %.6e, lambda_min %.6e\n", P, (double)loss, w[P - 1], w[0]));
  PetscCheck(w[0] < -1e-3 * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hessian: lambda_min = %.3e: the test point should have negative curvature", w[0]);
  PetscCall(CompareResiduals(H, "Hessian top-6", SPD_EIG_LARGEST, 6, top, anorm));
  PetscCall(CompareResiduals(H, "Hessian most-negative-4", SPD_EIG_SMALLEST, 4, bot, anorm));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(PetscFree2(h, w));
  PetscCall(MatDestroy(&H));
  PetscCall(SpdMLPDestroy(&m));
  PetscCall(SpdDataDestroy(&d));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(TestPlanted());
  PetscCall(TestHessian());
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "OK\n"));
  PetscCall(SpdFinalize());
  return 0;
}
