/* SpdSVDExtreme on planted spectra A = U diag(s) V^T (U, V orthonormal from LAPACK QR of
   Gaussian matrices): top-k of a decaying top and bottom-k of a tight cluster near 1e-3
   must match the planted values, with small residuals and consistent vectors. Also:
   k > min(m,n) is clamped (checked against LAPACK), a wide matrix, the layering of
   plain and prefixed options, -svd_type lapack (explicit matrix), and a solve forced
   not to converge (-nc_svd_max_it 2), which must report its unconverged estimates
   instead of failing. */
static const char help[] = "Tests SpdSVDExtreme on planted spectra.\n";

#include "solverutil.h"

/* Checks triplets against known singular values ref[] (in the order of the solve). */
static PetscErrorCode CheckTriplets(Mat A, const char what[], const SpdTriplets *t, const double ref[], PetscReal sigma1, PetscBool vectors)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: k %" PetscInt_FMT " nconv %" PetscInt_FMT " its %" PetscInt_FMT " products %" PetscInt_FMT " solver %s tol %g\n", what, t->k, t->nconv, t->its, t->nprod, t->solver, (double)t->tol));
  PetscCheck(t->nconv == t->k, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: %" PetscInt_FMT " of %" PetscInt_FMT " converged", what, t->nconv, t->k);
  PetscCheck(t->nprod > 0 && t->its > 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: products %" PetscInt_FMT ", iterations %" PetscInt_FMT, what, t->nprod, t->its);
  for (PetscInt i = 0; i < t->k; i++) {
    PetscReal err = PetscAbsReal(t->sigma[i] - ref[i]), bound = PetscMax(1e-9 * ref[i], t->residual[i] + 1e-14 * sigma1);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  sigma[%" PetscInt_FMT "] = %.15e  ref %.15e  |diff| %.2e  residual %.2e\n", i, (double)t->sigma[i], ref[i], (double)err, (double)t->residual[i]));
    PetscCheck(t->converged[i], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: triplet %" PetscInt_FMT " not flagged converged", what, i);
    PetscCheck(err <= bound, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: sigma[%" PetscInt_FMT "] = %.15e differs from %.15e by %.3e > %.3e", what, i, (double)t->sigma[i], ref[i], (double)err, (double)bound);
    PetscCheck(t->residual[i] >= 0 && t->residual[i] <= 1e-8 * sigma1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: residual[%" PetscInt_FMT "] = %.3e > 1e-8 sigma_1", what, i, (double)t->residual[i]);
  }
  if (vectors) {
    Vec w, z;
    PetscCheck(t->U && t->V, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: vectors requested but not returned", what);
    PetscCall(MatCreateVecs(A, &z, &w));
    for (PetscInt i = 0; i < t->nconv; i++) {
      PetscReal   nu, nv, rho, r;
      PetscScalar uAv;
      PetscCall(VecNorm(t->U[i], NORM_2, &nu));
      PetscCall(VecNorm(t->V[i], NORM_2, &nv));
      PetscCall(MatMult(A, t->V[i], w)); /* w = A v */
      PetscCall(VecDot(w, t->U[i], &uAv));
      rho = PetscAbsReal(PetscRealPart(uAv) - t->sigma[i]);
      PetscCall(VecAXPY(w, -t->sigma[i], t->U[i])); /* A v - s u */
      PetscCall(VecNorm(w, NORM_2, &r));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  vectors %" PetscInt_FMT ": |u|-1 %.1e |v|-1 %.1e |u'Av - s| %.2e |Av - su| %.2e\n", i, (double)(nu - 1), (double)(nv - 1), (double)rho, (double)r));
      PetscCheck(PetscAbsReal(nu - 1) < 1e-12 && PetscAbsReal(nv - 1) < 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: singular vectors %" PetscInt_FMT " not unit", what, i);
      PetscCheck(rho <= t->residual[i] + 1e-13 * sigma1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: |u'Av - s| = %.3e > residual %.3e", what, (double)rho, (double)t->residual[i]);
      PetscCheck(r <= t->residual[i] + 1e-13 * sigma1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: |Av - su| = %.3e > residual %.3e", what, (double)r, (double)t->residual[i]);
    }
    PetscCall(VecDestroy(&w));
    PetscCall(VecDestroy(&z));
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt m = 400, n = 300, k = 6, ncl = 10;
  double        *s, *g, ref[6];
  Mat            A;
  SpdTriplets    t;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));

  /* Planted: a decaying top 10 (0.8)^j on a bulk spread evenly over [0.5, 1.5] (so the
     Krylov space cannot capture the spectrum in one sweep), and a cluster of ncl values
     1e-3 (1 + 0.01 i) at the bottom (1% apart, 500 times below the bulk). */
  PetscCall(PetscMalloc2(n, &s, (size_t)m * n, &g));
  for (PetscInt j = 0; j < n - ncl; j++) s[j] = 0.5 + (PetscReal)(n - ncl - 1 - j) / (n - ncl - 1) + 10.0 * PetscPowReal(0.8, (PetscReal)j);
  for (PetscInt i = 0; i < ncl; i++) s[n - 1 - i] = 1e-3 * (1.0 + 0.01 * i);
  PetscCall(SolverTestPlanted(21, m, n, s, g));
  PetscCall(SolverTestDenseFromArray(PETSC_COMM_WORLD, m, n, g, &A));

  for (PetscInt i = 0; i < k; i++) ref[i] = s[i];
  PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, k, PETSC_TRUE, "top_", &t));
  PetscCall(CheckTriplets(A, "top-6 of planted 400 x 300", &t, ref, s[0], PETSC_TRUE));
  for (PetscInt i = 1; i < k; i++) PetscCheck(t.sigma[i] < t.sigma[i - 1], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "top not descending");
  PetscCall(SpdTripletsDestroy(&t));

  /* block Lanczos (-spd_svd_block b), 2 and 4 vectors per product, through the prefix */
  PetscCall(PetscOptionsSetValue(NULL, "-blk2_spd_svd_block", "2"));
  PetscCall(PetscOptionsSetValue(NULL, "-blk4_spd_svd_block", "4"));
  PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, k, PETSC_TRUE, "blk2_", &t));
  PetscCheck(!strcmp(t.solver, "blocklanczos (b=2)"), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "-blk2_spd_svd_block 2: solver %s", t.solver);
  PetscCall(CheckTriplets(A, "top-6 of planted 400 x 300, block 2", &t, ref, s[0], PETSC_TRUE));
  PetscCall(SpdTripletsDestroy(&t));
  PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, k, PETSC_TRUE, "blk4_", &t));
  PetscCheck(!strcmp(t.solver, "blocklanczos (b=4)"), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "-blk4_spd_svd_block 4: solver %s", t.solver);
  PetscCall(CheckTriplets(A, "top-6 of planted 400 x 300, block 4", &t, ref, s[0], PETSC_TRUE));
  for (PetscInt i = 1; i < k; i++) PetscCheck(t.sigma[i] < t.sigma[i - 1], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "block top not descending");
  PetscCall(SpdTripletsDestroy(&t));
  /* a small basis (12 = 3 blocks of 4 for k = 6): every restart keeps p = 6 Ritz vectors, not a
     multiple of the block, and the cycles must still fill the basis block by block */
  PetscCall(PetscOptionsSetValue(NULL, "-blk4s_spd_svd_block", "4"));
  PetscCall(PetscOptionsSetValue(NULL, "-blk4s_svd_ncv", "12"));
  PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, k, PETSC_TRUE, "blk4s_", &t));
  PetscCheck(t.its > 1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "block 4 with a 12-vector basis: %" PetscInt_FMT " cycles, expected restarts", t.its);
  PetscCall(CheckTriplets(A, "top-6 of planted 400 x 300, block 4, basis 12", &t, ref, s[0], PETSC_TRUE));
  PetscCall(SpdTripletsDestroy(&t));
  PetscCall(PetscOptionsClearValue(NULL, "-blk4s_spd_svd_block"));
  PetscCall(PetscOptionsClearValue(NULL, "-blk4s_svd_ncv"));
  /* a block solve that cannot converge (a 16-vector basis, one cycle) reports estimates */
  PetscCall(PetscOptionsSetValue(NULL, "-blknc_spd_svd_block", "4"));
  PetscCall(PetscOptionsSetValue(NULL, "-blknc_svd_ncv", "16"));
  PetscCall(PetscOptionsSetValue(NULL, "-blknc_svd_max_it", "1"));
  PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, k, PETSC_FALSE, "blknc_", &t));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "block non-convergence: nconv %" PetscInt_FMT " of %" PetscInt_FMT ", its %" PetscInt_FMT "\n", t.nconv, t.k, t.its));
  PetscCheck(t.nconv < k && t.its == 1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "block, one cycle of 16 vectors: nconv %" PetscInt_FMT ", its %" PetscInt_FMT, t.nconv, t.its);
  for (PetscInt i = t.nconv; i < k; i++) {
    PetscCheck(!t.converged[i] && t.sigma[i] > 0 && t.sigma[i] <= s[0] * (1 + 1e-12), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "block, entry %" PetscInt_FMT ": sigma %g (a Ritz value is at most sigma_1 = %g)", i, (double)t.sigma[i], s[0]);
    PetscCheck(t.residual[i] > 1e-10 * t.sigma[i], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "block, entry %" PetscInt_FMT ": residual estimate %g", i, (double)t.residual[i]);
  }
  PetscCall(SpdTripletsDestroy(&t));
  PetscCall(PetscOptionsClearValue(NULL, "-blk2_spd_svd_block"));
  PetscCall(PetscOptionsClearValue(NULL, "-blk4_spd_svd_block"));
  PetscCall(PetscOptionsClearValue(NULL, "-blknc_spd_svd_block"));
  PetscCall(PetscOptionsClearValue(NULL, "-blknc_svd_ncv"));
  PetscCall(PetscOptionsClearValue(NULL, "-blknc_svd_max_it"));

  for (PetscInt i = 0; i < k; i++) ref[i] = s[n - 1 - i];
  PetscCall(SpdSVDExtreme(A, SPD_SVD_BOTTOM, k, PETSC_TRUE, "bottom_", &t));
  PetscCall(CheckTriplets(A, "bottom-6 of planted 400 x 300", &t, ref, s[0], PETSC_TRUE));
  for (PetscInt i = 1; i < k; i++) PetscCheck(t.sigma[i] > t.sigma[i - 1], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "bottom not ascending");
  PetscCall(SpdTripletsDestroy(&t));

  /* The transposed matrix is wide (300 x 400): same values, vectors swap layouts. */
  {
    Mat At;
    PetscCall(MatTranspose(A, MAT_INITIAL_MATRIX, &At));
    for (PetscInt i = 0; i < k; i++) ref[i] = s[i];
    PetscCall(SpdSVDExtreme(At, SPD_SVD_TOP, k, PETSC_TRUE, NULL, &t));
    PetscCall(CheckTriplets(At, "top-6 of the wide transpose", &t, ref, s[0], PETSC_TRUE));
    PetscCall(SpdTripletsDestroy(&t));
    PetscCall(MatDestroy(&At));
  }

  /* Forced non-convergence through the options database: reported, not an error. */
  PetscCall(PetscOptionsSetValue(NULL, "-nc_svd_max_it", "2"));
  PetscCall(SpdSVDExtreme(A, SPD_SVD_BOTTOM, k, PETSC_TRUE, "nc_", &t));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "non-convergence: nconv %" PetscInt_FMT " of %" PetscInt_FMT ", its %" PetscInt_FMT "\n", t.nconv, t.k, t.its));
  PetscCheck(t.k == k && t.nconv < k && t.its <= 2, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "forced non-convergence: nconv %" PetscInt_FMT ", its %" PetscInt_FMT, t.nconv, t.its);
  for (PetscInt i = t.nconv; i < k; i++) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  unconverged sigma[%" PetscInt_FMT "] = %g residual estimate %g\n", i, (double)t.sigma[i], (double)t.residual[i]));
    PetscCheck(!t.converged[i], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "entry %" PetscInt_FMT " flagged converged", i);
    PetscCheck(!PetscIsNanReal(t.sigma[i]) && t.sigma[i] >= 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "entry %" PetscInt_FMT ": no last estimate kept", i);
    PetscCheck(t.residual[i] > 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "entry %" PetscInt_FMT ": residual estimate %g, expected a positive estimate", i, (double)t.residual[i]);
  }
  PetscCall(SpdTripletsDestroy(&t));
  PetscCall(PetscOptionsClearValue(NULL, "-nc_svd_max_it"));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFree2(s, g));

  /* k > min(m,n) is clamped; a 10 x 4 Gaussian matrix against LAPACK. */
  {
    double g2[40], s2[4];
    SpdTestRandomMatrix(22, 10, 4, g2);
    PetscCall(SpdTestLapackSingularValues(10, 4, g2, s2));
    PetscCall(SolverTestDenseFromArray(PETSC_COMM_WORLD, 10, 4, g2, &A));
    PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, 6, PETSC_FALSE, NULL, &t));
    PetscCheck(t.k == 4 && !t.U && !t.V, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "k = 6 of a 10 x 4 matrix: t.k = %" PetscInt_FMT ", expected 4", t.k);
    PetscCall(CheckTriplets(A, "top-6 (clamped to 4) of 10 x 4", &t, s2, s2[0], PETSC_FALSE));
    PetscCall(SpdTripletsDestroy(&t));

    /* options: plain -svd_tol applies, prefixed -pre_svd_tol overrides it */
    PetscCall(PetscOptionsSetValue(NULL, "-svd_tol", "1e-9"));
    PetscCall(PetscOptionsSetValue(NULL, "-pre_svd_tol", "1e-11"));
    PetscCall(SpdSVDExtreme(A, SPD_SVD_BOTTOM, 2, PETSC_FALSE, "pre_", &t));
    PetscCheck(t.tol == 1e-11, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "prefixed tolerance %g, expected 1e-11", (double)t.tol);
    PetscCheck(t.sigma[0] < t.sigma[1], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "bottom not ascending");
    PetscCall(CheckTriplets(A, "bottom-2 of 10 x 4", &t, (double[]) { s2[3], s2[2] }, s2[0], PETSC_FALSE));
    PetscCall(SpdTripletsDestroy(&t));
    PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, 1, PETSC_FALSE, "other_", &t));
    PetscCheck(t.tol == 1e-9, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "plain tolerance %g, expected 1e-9", (double)t.tol);
    PetscCall(SpdTripletsDestroy(&t));
    PetscCall(PetscOptionsClearValue(NULL, "-svd_tol"));
    PetscCall(PetscOptionsClearValue(NULL, "-pre_svd_tol"));

    /* a solver that needs the explicit matrix gets A itself; products are not counted */
    PetscCall(PetscOptionsSetValue(NULL, "-lap_svd_type", "lapack"));
    PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, 3, PETSC_TRUE, "lap_", &t));
    PetscCheck(t.nprod == -1 && !strcmp(t.solver, "lapack") && t.nconv == 3, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "-lap_svd_type lapack: solver %s, nprod %" PetscInt_FMT ", nconv %" PetscInt_FMT, t.solver, t.nprod, t.nconv);
    PetscCall(SpdTestCheckClose(PETSC_COMM_WORLD, "top-3 with -svd_type lapack", 3, t.sigma, s2, 1e-12, 0.0));
    PetscCall(SpdTripletsDestroy(&t));
    PetscCall(PetscOptionsClearValue(NULL, "-lap_svd_type"));
    PetscCall(MatDestroy(&A));
  }
  PetscCall(SpdFinalize());
  return 0;
}
