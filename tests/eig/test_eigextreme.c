/* SpdEigExtreme on planted symmetric spectra A = Q diag(lambda) Q^T (Q orthogonal from a
   seeded QR): the top-k and the most-negative-k against the planted values and LAPACK
   dsyev on the dense matrix, residual norms small and bounding |lambda - lambda_exact|,
   eigenvectors (A x = lambda x, aligned with the planted columns of Q). The same
   operator as MATMPIDENSE, MATMPIAIJ and a MATSHELL with MatMult only (whose own product
   count must equal the reported one), also with -eps_type gd given only
   with the prefix. Rank-count invariance: the distributed solve
   against the same solve on PETSC_COMM_SELF. Also: k > N clamped, plain and prefixed
   options, -eps_type lapack (explicit matrix, products not counted), and a solve forced
   not to converge, which reports its estimates instead of failing. */
static const char help[] = "Tests SpdEigExtreme on planted symmetric spectra.\n";

#include "eigutil.h"

typedef struct {
  PetscInt      n;
  const double *q, *lambda; /* planted, lambda in the order of q's columns */
} Planted;

/* ref[i]: expected i-th value; col[i]: its column in q (-1: no vector check). */
static PetscErrorCode CheckPairs(Mat A, const char what[], const SpdEigenpairs *e, const double ref[], const double lapack[], const PetscInt col[], const Planted *p, double anorm)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: k %" PetscInt_FMT " nconv %" PetscInt_FMT " its %" PetscInt_FMT " products %" PetscInt_FMT " solver %s tol %g residuals %s\n", what, e->k, e->nconv, e->its, e->nprod, e->solver, (double)e->tol, e->residuals));
  PetscCheck(e->nconv == e->k, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: %" PetscInt_FMT " of %" PetscInt_FMT " converged", what, e->nconv, e->k);
  for (PetscInt i = 0; i < e->k; i++) {
    double err = PetscAbsReal(e->lambda[i] - ref[i]), errl = PetscAbsReal(e->lambda[i] - lapack[i]);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  lambda[%" PetscInt_FMT "] = %+.15e  planted %+.15e  |diff| %.2e  lapack |diff| %.2e  residual %.2e\n", i, (double)e->lambda[i], ref[i], err, errl, (double)e->residual[i]));
    PetscCheck(e->converged[i], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: pair %" PetscInt_FMT " not flagged converged", what, i);
    PetscCheck(err <= 1e-9 * PetscAbsReal(ref[i]), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: lambda[%" PetscInt_FMT "] = %.15e differs from the planted %.15e by %.3e", what, i, (double)e->lambda[i], ref[i], err);
    PetscCheck(errl <= 1e-9 * PetscAbsReal(lapack[i]), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: lambda[%" PetscInt_FMT "] = %.15e differs from LAPACK's %.15e by %.3e", what, i, (double)e->lambda[i], lapack[i], errl);
    /* For symmetric A some eigenvalue lies within ||r|| of lambda; here the planted one */
    PetscCheck(err <= e->residual[i] + 1e-13 * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: |lambda - planted| = %.3e exceeds the residual %.3e", what, err, (double)e->residual[i]);
    PetscCheck(e->residual[i] >= 0 && e->residual[i] <= 1e-9 * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: residual[%" PetscInt_FMT "] = %.3e > 1e-9 ||A||", what, i, (double)e->residual[i]);
  }
  for (PetscInt i = 1; i < e->nconv; i++) PetscCheck(e->lambda[i] != e->lambda[i - 1] && (e->lambda[i] < e->lambda[i - 1]) == (ref[1] < ref[0]), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: values not in the documented order", what);
  if (col) {
    Vec     w, qv;
    double *xg;
    PetscCheck(e->X, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: vectors requested but not returned", what);
    PetscCall(MatCreateVecs(A, &w, NULL));
    PetscCall(VecDuplicate(w, &qv));
    PetscCall(PetscMalloc1(p->n, &xg));
    for (PetscInt i = 0; i < e->nconv; i++) {
      PetscReal nx, r;
      double    dot = 0;
      PetscCall(VecNorm(e->X[i], NORM_2, &nx));
      PetscCall(MatMult(A, e->X[i], w));
      PetscCall(VecAXPY(w, -e->lambda[i], e->X[i]));
      PetscCall(VecNorm(w, NORM_2, &r));
      PetscCall(SpdTestVecGather(e->X[i], xg));
      for (PetscInt j = 0; j < p->n; j++) dot += xg[j] * p->q[j + (size_t)col[i] * p->n];
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  x[%" PetscInt_FMT "]: |x|-1 %.1e |Ax - lambda x| %.2e 1-|q'x| %.1e\n", i, (double)(nx - 1), (double)r, 1 - PetscAbsReal(dot)));
      PetscCheck(PetscAbsReal(nx - 1) < 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: eigenvector %" PetscInt_FMT " has norm %.15f", what, i, (double)nx);
      /* explicit residuals: the same products; Krylov estimates: the true residual within
         the tolerance (the estimate is exact up to rounding, tests/eig/test_eigresidual.c) */
      if (e->residuals[0] == 'K')
        PetscCheck(PetscAbsReal(r - e->residual[i]) <= e->tol * anorm + 1e-14 * anorm && r <= 1e-9 * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: |Ax - lambda x| = %.3e but the Krylov estimate is %.3e", what, (double)r, (double)e->residual[i]);
      else
        PetscCheck(PetscAbsReal(r - e->residual[i]) <= 1e-3 * e->residual[i] + 1e-14 * anorm, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: |Ax - lambda x| = %.3e but the reported residual is %.3e", what, (double)r, (double)e->residual[i]);
      PetscCheck(1 - PetscAbsReal(dot) <= 1e-8, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: eigenvector %" PetscInt_FMT " is not the planted one: |q'x| = %.15f", what, i, PetscAbsReal(dot));
    }
    PetscCall(PetscFree(xg));
    PetscCall(VecDestroy(&w));
    PetscCall(VecDestroy(&qv));
  } else
    PetscCheck(!e->X, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: vectors returned though not requested", what);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt  n = 300, k = 6;
  double         *q, *lambda, *g, *lap, top[6], bot[6], laptop[6], lapbot[6];
  PetscInt        coltop[6], colbot[6];
  Planted         p;
  Mat             A, S, B;
  SpdEigenpairs   e, es;
  EigTestShellCtx sctx;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));

  /* Planted: top 3 + 0.6 (0.8)^i and bottom -2 - 0.6 (0.8)^i (i < 8), closing in on a
     bulk of n - 16 values spread over [-2, 3], so that the solver has to restart. The columns are in a scrambled order (i*7 mod n) so that no
     solver can profit from the planted order. */
  PetscCall(PetscMalloc4((size_t)n * n, &q, n, &lambda, (size_t)n * n, &g, n, &lap));
  for (PetscInt i = 0; i < n; i++) {
    PetscInt  c = (i * 7) % n;
    PetscReal l;
    if (i < 8)
      l = 3 + 0.6 * PetscPowReal(0.8, (PetscReal)i);
    else if (i < 16)
      l = -2 - 0.6 * PetscPowReal(0.8, (PetscReal)(i - 8));
    else
      l = -2 + 5.0 * (i - 16) / (n - 17);
    lambda[c] = l;
    if (i < k) {
      top[i]    = l;
      coltop[i] = c;
    } else if (i >= 8 && i < 8 + k) {
      bot[i - 8]    = l;
      colbot[i - 8] = c;
    }
  }
  PetscCall(EigTestOrthogonal(31, n, q));
  PetscCall(EigTestPlanted(n, q, lambda, g));
  PetscCall(EigTestLapackEigenvalues(n, g, lap));
  for (PetscInt i = 0; i < k; i++) {
    laptop[i] = lap[n - 1 - i];
    lapbot[i] = lap[i];
  }
  p.n      = n;
  p.q      = q;
  p.lambda = lambda;

  /* Dense, with vectors */
  PetscCall(EigTestDense(PETSC_COMM_WORLD, n, g, &A));
  PetscCall(SpdEigExtreme(A, SPD_EIG_LARGEST, k, PETSC_TRUE, "top_", &e));
  PetscCall(CheckPairs(A, "dense top-6", &e, top, laptop, coltop, &p, 3.6));
  PetscCheck(e.nprod > 0 && e.its > 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "products %" PetscInt_FMT ", iterations %" PetscInt_FMT, e.nprod, e.its);
  {
    PetscBool ks;
    PetscCall(PetscStrcmp(e.solver, "krylovschur", &ks));
    PetscCheck(ks && e.tol == 1e-10, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "defaults: solver %s tol %g, expected krylovschur 1e-10", e.solver, (double)e.tol);
  }
  /* rank-count invariance: the same solve on one rank's own copy */
  PetscCall(EigTestDense(PETSC_COMM_SELF, n, g, &B));
  PetscCall(SpdEigExtreme(B, SPD_EIG_LARGEST, k, PETSC_FALSE, NULL, &es));
  PetscCall(SpdTestCheckClose(PETSC_COMM_WORLD, "top-6 distributed vs one rank", k, e.lambda, es.lambda, 1e-10, 1e-300));
  PetscCall(SpdEigenpairsDestroy(&es));
  PetscCall(SpdEigenpairsDestroy(&e));

  PetscCall(SpdEigExtreme(A, SPD_EIG_SMALLEST, k, PETSC_TRUE, "bottom_", &e));
  PetscCall(CheckPairs(A, "dense most-negative-6", &e, bot, lapbot, colbot, &p, 3.6));
  PetscCall(SpdEigExtreme(B, SPD_EIG_SMALLEST, k, PETSC_FALSE, NULL, &es));
  PetscCall(SpdTestCheckClose(PETSC_COMM_WORLD, "most-negative-6 distributed vs one rank", k, e.lambda, es.lambda, 1e-10, 1e-300));
  PetscCall(SpdEigenpairsDestroy(&es));
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(MatDestroy(&B));

  /* MATSHELL with MatMult only: the count of the shell must be the reported one */
  PetscCall(EigTestShell(A, &sctx, &S));
  PetscCall(SpdEigExtreme(S, SPD_EIG_LARGEST, k, PETSC_TRUE, NULL, &e));
  PetscCall(CheckPairs(A, "shell top-6", &e, top, laptop, coltop, &p, 3.6));
  PetscCheck(e.nprod == sctx.nmult, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "shell: %" PetscInt_FMT " products reported, the shell counted %" PetscInt_FMT, e.nprod, sctx.nmult);
  PetscCall(SpdEigenpairsDestroy(&e));
  sctx.nmult = 0;
  PetscCall(SpdEigExtreme(S, SPD_EIG_SMALLEST, k, PETSC_FALSE, NULL, &e));
  PetscCall(CheckPairs(A, "shell most-negative-6", &e, bot, lapbot, NULL, &p, 3.6));
  PetscCheck(e.nprod == sctx.nmult, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "shell: %" PetscInt_FMT " products reported, the shell counted %" PetscInt_FMT, e.nprod, sctx.nmult);
  PetscCall(SpdEigenpairsDestroy(&e));
  /* A preconditioned solver chosen by the prefixed options only (it needs STPRECOND,
     and on a matrix-free operator no preconditioner) */
  PetscCall(PetscOptionsSetValue(NULL, "-gd_eps_type", "gd"));
  sctx.nmult = 0;
  PetscCall(SpdEigExtreme(S, SPD_EIG_SMALLEST, k, PETSC_FALSE, "gd_", &e));
  PetscCall(CheckPairs(A, "shell most-negative-6, -gd_eps_type gd", &e, bot, lapbot, NULL, &p, 3.6));
  PetscCheck(e.nprod == sctx.nmult, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "gd: %" PetscInt_FMT " products reported, the shell counted %" PetscInt_FMT, e.nprod, sctx.nmult);
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(PetscOptionsClearValue(NULL, "-gd_eps_type"));
  PetscCall(MatDestroy(&S));

  /* MATMPIAIJ */
  PetscCall(EigTestAIJ(PETSC_COMM_WORLD, n, g, &B));
  PetscCall(SpdEigExtreme(B, SPD_EIG_LARGEST, k, PETSC_TRUE, NULL, &e));
  PetscCall(CheckPairs(B, "aij top-6", &e, top, laptop, coltop, &p, 3.6));
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(SpdEigExtreme(B, SPD_EIG_SMALLEST, k, PETSC_FALSE, NULL, &e));
  PetscCall(CheckPairs(B, "aij most-negative-6", &e, bot, lapbot, NULL, &p, 3.6));
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(MatDestroy(&B));

  /* Options: plain -eps_tol applies, the prefixed one overrides; -eps_type lapack works on
     the explicit matrix and leaves the products uncounted. */
  PetscCall(PetscOptionsSetValue(NULL, "-eps_tol", "1e-11"));
  PetscCall(PetscOptionsSetValue(NULL, "-pre_eps_tol", "1e-12"));
  PetscCall(PetscOptionsSetValue(NULL, "-lap_eps_type", "lapack"));
  PetscCall(SpdEigExtreme(A, SPD_EIG_LARGEST, k, PETSC_FALSE, "other_", &e));
  PetscCheck(e.tol == 1e-11, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "plain -eps_tol 1e-11 not applied: tol %g", (double)e.tol);
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(SpdEigExtreme(A, SPD_EIG_LARGEST, k, PETSC_FALSE, "pre_", &e));
  PetscCheck(e.tol == 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "prefixed -pre_eps_tol 1e-12 did not override: tol %g", (double)e.tol);
  PetscCall(CheckPairs(A, "top-6, tol 1e-12", &e, top, laptop, NULL, &p, 3.6));
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(SpdEigExtreme(A, SPD_EIG_SMALLEST, k, PETSC_FALSE, "lap_", &e));
  {
    PetscBool lapack;
    PetscCall(PetscStrcmp(e.solver, "lapack", &lapack));
    PetscCheck(lapack && e.nprod == -1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "-lap_eps_type lapack: solver %s, products %" PetscInt_FMT " (expected lapack, -1)", e.solver, e.nprod);
  }
  PetscCall(CheckPairs(A, "lapack most-negative-6", &e, bot, lapbot, NULL, &p, 3.6));
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(PetscOptionsClearValue(NULL, "-eps_tol"));
  PetscCall(PetscOptionsClearValue(NULL, "-pre_eps_tol"));
  PetscCall(PetscOptionsClearValue(NULL, "-lap_eps_type"));

  /* Forced non-convergence: reported, not an error */
  PetscCall(PetscOptionsSetValue(NULL, "-nc_eps_max_it", "1"));
  PetscCall(PetscOptionsSetValue(NULL, "-nc_eps_ncv", "16"));
  PetscCall(SpdEigExtreme(A, SPD_EIG_LARGEST, k, PETSC_TRUE, "nc_", &e));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "non-convergence: nconv %" PetscInt_FMT " of %" PetscInt_FMT ", its %" PetscInt_FMT "\n", e.nconv, e.k, e.its));
  PetscCheck(e.k == k && e.nconv < k && e.its <= 1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "forced non-convergence: nconv %" PetscInt_FMT ", its %" PetscInt_FMT, e.nconv, e.its);
  for (PetscInt i = e.nconv; i < k; i++) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  unconverged lambda[%" PetscInt_FMT "] = %g residual estimate %g\n", i, (double)e.lambda[i], (double)e.residual[i]));
    PetscCheck(!e.converged[i], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "entry %" PetscInt_FMT " flagged converged", i);
    PetscCheck(!PetscIsNanReal(e.lambda[i]) && e.lambda[i] <= 3.6 + 1e-12 && e.lambda[i] >= -2.6 - 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "entry %" PetscInt_FMT ": last estimate %g missing or outside the spectrum", i, (double)e.lambda[i]);
    PetscCheck(e.residual[i] > 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "entry %" PetscInt_FMT ": residual estimate %g, expected a positive estimate", i, (double)e.residual[i]);
  }
  PetscCall(SpdEigenpairsDestroy(&e));
  PetscCall(PetscOptionsClearValue(NULL, "-nc_eps_max_it"));
  PetscCall(PetscOptionsClearValue(NULL, "-nc_eps_ncv"));
  PetscCall(MatDestroy(&A));

  /* k > N is clamped: every eigenvalue of a 10 x 10 planted matrix, against LAPACK */
  {
    const PetscInt m = 10;
    double         q2[100], l2[10], g2[100], w2[10], ref[10];
    for (PetscInt i = 0; i < m; i++) l2[i] = 1.0 + i * i;
    PetscCall(EigTestOrthogonal(32, m, q2));
    PetscCall(EigTestPlanted(m, q2, l2, g2));
    PetscCall(EigTestLapackEigenvalues(m, g2, w2));
    PetscCall(EigTestDense(PETSC_COMM_WORLD, m, g2, &A));
    PetscCall(SpdEigExtreme(A, SPD_EIG_LARGEST, 12, PETSC_FALSE, NULL, &e));
    PetscCheck(e.k == m, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "k = 12 of a 10 x 10 matrix: e.k = %" PetscInt_FMT, e.k);
    for (PetscInt i = 0; i < m; i++) ref[i] = l2[m - 1 - i];
    {
      double lapdesc[10];
      for (PetscInt i = 0; i < m; i++) lapdesc[i] = w2[m - 1 - i];
      PetscCall(CheckPairs(A, "all 10 of 10 x 10 (k = 12 clamped)", &e, ref, lapdesc, NULL, &p, 82));
    }
    PetscCall(SpdEigenpairsDestroy(&e));
    PetscCall(MatDestroy(&A));
  }

  PetscCall(PetscFree4(q, lambda, g, lap));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "OK\n"));
  PetscCall(SpdFinalize());
  return 0;
}
