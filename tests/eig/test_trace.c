/* Rademacher probes and the Hutchinson / Hutch++ trace estimators.
   Probes: the distributed vector gathered equals the same probe on one rank (any rank
   count gives the same vector), entries are +-1, balanced, distinct across probes and
   seeds. Hutchinson: exact on a diagonal matrix; on a planted dense matrix within 4
   standard errors of the exact trace, equal to an independent serial recomputation
   (z^T A z with BLAS on the gathered probes), the sample variance near its closed form
   2 (||A||_F^2 - sum a_ii^2). Hutch++: exact when the sketch spans the range (full and
   rank-5 matrices), within 5 standard errors on a decaying spectrum, and with an RMS
   error over 8 seeds at least 10 times below Hutchinson's at the same number of
   products. Both estimators: the distributed result equals the one-rank result. */
static const char help[] = "Tests SpdProbeRademacher, SpdTraceHutchinson, SpdTraceHutchPP.\n";

#include "eigutil.h"

/* Hutchinson recomputed serially from the probes: mean and standard error. */
static PetscErrorCode SerialHutchinson(PetscInt n, const double a[], PetscInt nprobe, PetscInt64 seed, double *mean, double *se)
{
  Vec                z;
  const PetscScalar *za;
  double            *s, *az, one = 1, zero = 0, m = 0, ss = 0;
  PetscBLASInt       bn, inc = 1;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &z));
  PetscCall(PetscMalloc2(nprobe, &s, n, &az));
  for (PetscInt j = 0; j < nprobe; j++) {
    PetscCall(SpdProbeRademacher(z, seed, j));
    PetscCall(VecGetArrayRead(z, &za));
    BLASgemv_("N", &bn, &bn, &one, a, &bn, za, &inc, &zero, az, &inc);
    s[j] = 0;
    for (PetscInt i = 0; i < n; i++) s[j] += za[i] * az[i];
    PetscCall(VecRestoreArrayRead(z, &za));
    m += s[j];
  }
  m /= nprobe;
  for (PetscInt j = 0; j < nprobe; j++) ss += (s[j] - m) * (s[j] - m);
  *mean = m;
  *se   = PetscSqrtReal(ss / (nprobe - 1) / nprobe);
  PetscCall(PetscFree2(s, az));
  PetscCall(VecDestroy(&z));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestProbes(void)
{
  const PetscInt n = 1001, np = 20;
  Vec            v, vs, v2;
  double        *g, *g2;
  PetscInt       plus = 0;

  PetscFunctionBeginUser;
  PetscCall(VecCreateMPI(PETSC_COMM_WORLD, PETSC_DECIDE, n, &v));
  PetscCall(VecDuplicate(v, &v2));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &vs));
  PetscCall(PetscMalloc2(n, &g, n, &g2));
  for (PetscInt j = 0; j < np; j++) {
    const PetscScalar *s;
    PetscInt           same = 0;
    PetscCall(SpdProbeRademacher(v, 42, j));
    PetscCall(SpdProbeRademacher(vs, 42, j));
    PetscCall(SpdTestVecGather(v, g));
    PetscCall(VecGetArrayRead(vs, &s));
    for (PetscInt i = 0; i < n; i++) {
      PetscCheck(g[i] == 1.0 || g[i] == -1.0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "probe %" PetscInt_FMT " entry %" PetscInt_FMT " = %g, not +-1", j, i, g[i]);
      PetscCheck(g[i] == s[i], PETSC_COMM_SELF, PETSC_ERR_PLIB, "probe %" PetscInt_FMT " entry %" PetscInt_FMT ": %g distributed, %g on one rank", j, i, g[i], (double)s[i]);
      plus += g[i] > 0;
    }
    PetscCall(VecRestoreArrayRead(vs, &s));
    /* another probe, another seed: about half the entries agree */
    PetscCall(SpdProbeRademacher(v2, 42, j + 1));
    PetscCall(SpdTestVecGather(v2, g2));
    for (PetscInt i = 0; i < n; i++) same += g[i] == g2[i];
    PetscCheck(PetscAbsReal(same - 0.5 * n) < 5 * 0.5 * PetscSqrtReal(n), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "probes %" PetscInt_FMT " and %" PetscInt_FMT " of seed 42 agree in %" PetscInt_FMT " of %" PetscInt_FMT " entries", j, j + 1, same, n);
    PetscCall(SpdProbeRademacher(v2, 43, j));
    PetscCall(SpdTestVecGather(v2, g2));
    same = 0;
    for (PetscInt i = 0; i < n; i++) same += g[i] == g2[i];
    PetscCheck(PetscAbsReal(same - 0.5 * n) < 5 * 0.5 * PetscSqrtReal(n), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "probe %" PetscInt_FMT " of seeds 42 and 43 agree in %" PetscInt_FMT " of %" PetscInt_FMT " entries", j, same, n);
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "probes: %" PetscInt_FMT " of %" PetscInt_FMT " entries are +1\n", plus, n * np));
  PetscCheck(PetscAbsReal(plus - 0.5 * n * np) < 5 * 0.5 * PetscSqrtReal(n * np), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "probes unbalanced: %" PetscInt_FMT " of %" PetscInt_FMT " entries are +1", plus, n * np);
  PetscCall(PetscFree2(g, g2));
  PetscCall(VecDestroy(&v));
  PetscCall(VecDestroy(&v2));
  PetscCall(VecDestroy(&vs));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt n = 200, nd = 500, nseed = 8, budget = 60;
  double        *q, *lambda, *g, exact, est, se, est1, se1, sref = 0, seref = 0, fro2 = 0, diag2 = 0;
  Mat            A, B;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(TestProbes());

  /* Diagonal: z^T D z = tr(D) for every probe */
  PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 77, 77, 1, NULL, 0, NULL, &A));
  exact = 0;
  for (PetscInt i = 0; i < 77; i++) {
    PetscCall(MatSetValue(A, i, i, 1.0 + 0.5 * i - (i % 3), INSERT_VALUES));
    exact += 1.0 + 0.5 * i - (i % 3);
  }
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(SpdTraceHutchinson(A, 5, 1, &est, &se));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "diagonal: Hutchinson %.15g exact %.15g stderr %g\n", est, exact, se));
  PetscCheck(PetscAbsReal(est - exact) <= 1e-12 * PetscAbsReal(exact) && se <= 1e-12 * PetscAbsReal(exact), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "diagonal: Hutchinson %.15g (stderr %g), exact %.15g", est, se, exact);
  PetscCall(SpdTraceHutchinson(A, 1, 1, &est, &se));
  PetscCheck(PetscIsNanReal(se), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "one probe: stderr %g, expected NaN", se);
  PetscCall(MatDestroy(&A));

  /* Planted dense n x n, spectrum in [-1, 3]: Hutchinson */
  PetscCall(PetscMalloc3((size_t)nd * nd, &q, nd, &lambda, (size_t)nd * nd, &g));
  exact = 0;
  for (PetscInt i = 0; i < n; i++) exact += lambda[i] = -1 + 4.0 * ((i * 37) % n) / n;
  PetscCall(EigTestOrthogonal(51, n, q));
  PetscCall(EigTestPlanted(n, q, lambda, g));
  for (PetscInt i = 0; i < n; i++) {
    diag2 += g[i + (size_t)i * n] * g[i + (size_t)i * n];
    fro2 += lambda[i] * lambda[i];
  }
  PetscCall(EigTestDense(PETSC_COMM_WORLD, n, g, &A));
  PetscCall(EigTestDense(PETSC_COMM_SELF, n, g, &B));
  PetscCall(SpdTraceHutchinson(A, 100, 7, &est, &se));
  PetscCall(SpdTraceHutchinson(B, 100, 7, &est1, &se1));
  PetscCall(SerialHutchinson(n, g, 100, 7, &sref, &seref));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "planted %" PetscInt_FMT ": Hutchinson %.12g +- %.3g exact %.12g (%.2f stderr); serial %.12g +- %.3g; one rank %.12g; sample variance %.4g vs 2(|A|_F^2 - sum a_ii^2) = %.4g\n", n, est, se, exact, PetscAbsReal(est - exact) / se, sref, seref, est1, se * se * 100, 2 * (fro2 - diag2)));
  PetscCheck(PetscAbsReal(est - exact) <= 4 * se, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutchinson %.12g is %.2f standard errors from the exact %.12g", est, PetscAbsReal(est - exact) / se, exact);
  PetscCheck(PetscAbsReal(est - sref) <= 1e-12 * PetscAbsReal(exact) && PetscAbsReal(se - seref) <= 1e-10 * seref, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutchinson %.15g +- %.15g differs from the serial recomputation %.15g +- %.15g", est, se, sref, seref);
  PetscCheck(PetscAbsReal(est - est1) <= 1e-10 * PetscAbsReal(exact) && PetscAbsReal(se - se1) <= 1e-10 * se1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutchinson: %.15g distributed, %.15g on one rank", est, est1);
  PetscCheck(se * se * 100 > 0.6 * 2 * (fro2 - diag2) && se * se * 100 < 1.5 * 2 * (fro2 - diag2), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "sample variance %.4g far from 2(|A|_F^2 - sum a_ii^2) = %.4g", se * se * 100, 2 * (fro2 - diag2));

  /* Hutch++ on the same full-rank matrix with m = nprod/3 >= n: exact */
  PetscCall(SpdTraceHutchPP(A, 3 * n + 2, 7, &est, &se));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Hutch++ with a sketch of n columns: %.15g exact %.15g stderr %.3g\n", est, exact, se));
  PetscCheck(PetscAbsReal(est - exact) <= 1e-10 * fro2 && se <= 1e-10 * fro2, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutch++ (sketch spans R^n): %.15g +- %.3g, exact %.15g", est, se, exact);
  PetscCall(MatDestroy(&A));
  PetscCall(MatDestroy(&B));

  /* Rank 5: a sketch of 10 columns has numerical rank 5 (the other 5 columns are
     dropped) and the deflated remainder is zero */
  for (PetscInt i = 0; i < n; i++) lambda[i] = i < 5 ? 1.0 + i : 0.0;
  PetscCall(EigTestPlanted(n, q, lambda, g));
  PetscCall(EigTestDense(PETSC_COMM_WORLD, n, g, &A));
  PetscCall(SpdTraceHutchPP(A, 30, 3, &est, &se));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "Hutch++ on rank 5: %.15g exact 15 stderr %.3g\n", est, se));
  PetscCheck(PetscAbsReal(est - 15) <= 1e-10 && se <= 1e-10, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutch++ on a rank-5 matrix: %.15g +- %.3g, exact 15", est, se);
  PetscCall(MatDestroy(&A));

  /* Decaying spectrum lambda_i = (i+1)^-2, nd = 500: Hutch++ against Hutchinson at the
     same number of products over nseed seeds */
  {
    double rms = 0, rmspp = 0;
    exact = 0;
    for (PetscInt i = 0; i < nd; i++) exact += lambda[i] = 1.0 / ((i + 1.0) * (i + 1.0));
    PetscCall(EigTestOrthogonal(52, nd, q));
    PetscCall(EigTestPlanted(nd, q, lambda, g));
    PetscCall(EigTestDense(PETSC_COMM_WORLD, nd, g, &A));
    PetscCall(EigTestDense(PETSC_COMM_SELF, nd, g, &B));
    for (PetscInt s = 0; s < nseed; s++) {
      PetscCall(SpdTraceHutchinson(A, budget, 100 + s, &est, &se));
      rms += (est - exact) * (est - exact);
      PetscCall(SpdTraceHutchPP(A, budget, 100 + s, &est1, &se1));
      rmspp += (est1 - exact) * (est1 - exact);
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  seed %" PetscInt_FMT ": Hutchinson %.10f +- %.2e, Hutch++ %.10f +- %.2e, exact %.10f\n", 100 + s, est, se, est1, se1, exact));
      PetscCheck(PetscAbsReal(est1 - exact) <= 5 * se1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutch++ %.12g is %.2f standard errors from the exact %.12g", est1, PetscAbsReal(est1 - exact) / se1, exact);
      if (s == 0) {
        double e1, s1;
        PetscCall(SpdTraceHutchPP(B, budget, 100 + s, &e1, &s1));
        PetscCheck(PetscAbsReal(est1 - e1) <= 1e-10 * exact && PetscAbsReal(se1 - s1) <= 1e-6 * s1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutch++: %.15g +- %.6g distributed, %.15g +- %.6g on one rank", est1, se1, e1, s1);
      }
    }
    rms   = PetscSqrtReal(rms / nseed);
    rmspp = PetscSqrtReal(rmspp / nseed);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "decaying spectrum, %" PetscInt_FMT " products: RMS error Hutchinson %.3e, Hutch++ %.3e (ratio %.1f)\n", budget, rms, rmspp, rms / rmspp));
    PetscCheck(rmspp * 10 <= rms, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutch++ RMS error %.3e is not 10 times below Hutchinson's %.3e", rmspp, rms);
    PetscCall(MatDestroy(&A));
    PetscCall(MatDestroy(&B));
  }

  /* Bad input: a clear error, not a crash */
  PetscCall(MatCreateDense(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 10, 10, NULL, &A));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = SpdTraceHutchPP(A, 2, 1, &est, &se);
  PetscCall(PetscPopErrorHandler());
  PetscCheck(ierr == PETSC_ERR_ARG_OUTOFRANGE, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "Hutch++ with 2 products: error %d, expected PETSC_ERR_ARG_OUTOFRANGE", (int)ierr);
  PetscCall(MatDestroy(&A));

  PetscCall(PetscFree3(q, lambda, g));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "OK\n"));
  PetscCall(SpdFinalize());
  return 0;
}
