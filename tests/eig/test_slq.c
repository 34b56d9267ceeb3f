/* SpdDensitySLQ on planted symmetric spectra A = Q diag(lambda) Q^T.
   Full-length Lanczos (nsteps = N = 40, asked as 60 and clamped): each probe's Ritz
   values are the planted eigenvalues and its weights are (q_j^T z)^2 / N computed from
   the planted Q and the probe z. Two clusters (30% of the eigenvalues in [0.9, 1.1], 70%
   in [4.8, 5.2]): the density integrates to 1 (trapezoid on the grid, to 1e-3, and to
   the closed form with erf of the Gaussians cut at the grid ends), the mass near each
   cluster matches the planted fractions (within 0.03) and the probes' exact spectral
   measures (within 2e-3), the weights of each probe sum to 1, nodes lie in
   [lambda_min, lambda_max] (interlacing), the density on the grid follows the documented formula, the default sigma
   and grid ends are as documented, and the distributed result equals the one-rank
   result. A = 2.5 I: one exact node per probe. Bad ngrid: a clear error. */
static const char help[] = "Tests SpdDensitySLQ.\n";

#include "eigutil.h"

static double Trapezoid(PetscInt n, const double x[], const double y[], double upto)
{
  double s = 0;
  for (PetscInt i = 0; i + 1 < n && x[i + 1] <= upto; i++) s += 0.5 * (x[i + 1] - x[i]) * (y[i] + y[i + 1]);
  return s;
}

/* (1/nprobe) sum_probes sum_{j in cols} (q_j^T z_p)^2 / n: the exact mass of the probes'
   spectral measures on the eigenvalues of columns lo..hi-1. */
static PetscErrorCode ProbeMass(PetscInt n, const double q[], PetscInt nprobe, PetscInt64 seed, PetscInt lo, PetscInt hi, double w[], double *mass)
{
  Vec                z;
  const PetscScalar *za;

  PetscFunctionBeginUser;
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &z));
  *mass = 0;
  for (PetscInt p = 0; p < nprobe; p++) {
    PetscCall(SpdProbeRademacher(z, seed, p));
    PetscCall(VecGetArrayRead(z, &za));
    for (PetscInt j = 0; j < n; j++) {
      double d = 0;
      for (PetscInt i = 0; i < n; i++) d += q[i + (size_t)j * n] * za[i];
      if (w) w[p * n + j] = d * d / n;
      if (j >= lo && j < hi) *mass += d * d / n;
    }
    PetscCall(VecRestoreArrayRead(z, &za));
  }
  *mass /= nprobe;
  PetscCall(VecDestroy(&z));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt n = 400, n1 = 120, nprobe = 10, nsteps = 40, ngrid = 2001;
  double        *q, *lambda, *g, *w;
  Mat            A, B;
  SpdDensity     d, d1;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(PetscMalloc4((size_t)n * n, &q, n, &lambda, (size_t)n * n, &g, 3 * 40, &w));

  /* Full-length Lanczos on N = 40 distinct eigenvalues (ascending by column) */
  {
    const PetscInt m = 40, np = 3;
    double         mass;
    for (PetscInt j = 0; j < m; j++) lambda[j] = -3 + 8 * PetscPowReal(j / (m - 1.0), 1.5) + 0.01 * j;
    PetscCall(EigTestOrthogonal(61, m, q));
    PetscCall(EigTestPlanted(m, q, lambda, g));
    PetscCall(EigTestDense(PETSC_COMM_WORLD, m, g, &A));
    PetscCall(SpdDensitySLQ(A, np, 60, 5, 101, 0.0, &d));
    PetscCheck(d.nsteps == m && d.nprobe == np && d.ngrid == 101 && d.nprod == np * m, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "full length: nsteps %" PetscInt_FMT " (60 asked of N = 40), nprobe %" PetscInt_FMT ", ngrid %" PetscInt_FMT ", products %" PetscInt_FMT, d.nsteps, d.nprobe, d.ngrid, d.nprod);
    PetscCall(ProbeMass(m, q, np, 5, 0, m, w, &mass));
    for (PetscInt p = 0; p < np; p++) {
      double dl = 0, dw = 0, sw = 0;
      for (PetscInt j = 0; j < m; j++) {
        dl = PetscMax(dl, PetscAbsReal(d.nodes[p * m + j] - lambda[j]));
        dw = PetscMax(dw, PetscAbsReal(d.weights[p * m + j] - w[p * m + j]));
        sw += d.weights[p * m + j];
      }
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "full-length probe %" PetscInt_FMT ": max |theta - lambda| %.2e, max |tau^2 - (q'z)^2/N| %.2e, sum of weights - 1 %.1e\n", p, dl, dw, sw - 1));
      PetscCheck(dl <= 1e-8 * 5.4, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "full-length Lanczos, probe %" PetscInt_FMT ": Ritz values differ from the eigenvalues by %.3e", p, dl);
      PetscCheck(dw <= 1e-8, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "full-length Lanczos, probe %" PetscInt_FMT ": weights differ from (q_j'z)^2/N by %.3e", p, dw);
      PetscCheck(PetscAbsReal(sw - 1) <= 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "probe %" PetscInt_FMT ": weights sum to 1 + %.3e", p, sw - 1);
    }
    PetscCall(SpdDensityDestroy(&d));
    PetscCall(MatDestroy(&A));
  }

  /* Two clusters: columns 0..n1-1 in [0.9, 1.1], the others in [4.8, 5.2] */
  for (PetscInt j = 0; j < n; j++) lambda[j] = j < n1 ? 0.9 + 0.2 * j / (n1 - 1.0) : 4.8 + 0.4 * (j - n1) / (n - n1 - 1.0);
  PetscCall(EigTestOrthogonal(62, n, q));
  PetscCall(EigTestPlanted(n, q, lambda, g));
  PetscCall(EigTestDense(PETSC_COMM_WORLD, n, g, &A));
  PetscCall(SpdDensitySLQ(A, nprobe, nsteps, 9, ngrid, -1.0, &d));
  {
    double integral, closed = 0, tmin = PETSC_MAX_REAL, tmax = PETSC_MIN_REAL, mass1, exact1, dmax = 0, derr = 0;
    for (PetscInt p = 0; p < nprobe; p++) {
      double sw = 0;
      for (PetscInt j = 0; j < nsteps; j++) {
        double t = d.nodes[p * nsteps + j];
        sw += d.weights[p * nsteps + j];
        PetscCheck(t >= 0.9 - 1e-10 && t <= 5.2 + 1e-10, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "probe %" PetscInt_FMT ": node %.15g outside [lambda_min, lambda_max] = [0.9, 5.2]", p, t);
        PetscCheck(d.weights[p * nsteps + j] >= 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "negative weight");
        if (j) PetscCheck(t >= d.nodes[p * nsteps + j - 1], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "probe %" PetscInt_FMT ": nodes not ascending", p);
        tmin = PetscMin(tmin, t);
        tmax = PetscMax(tmax, t);
      }
      PetscCheck(PetscAbsReal(sw - 1) <= 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "probe %" PetscInt_FMT ": weights sum to 1 + %.3e", p, sw - 1);
    }
    PetscCheck(d.nprod == nprobe * nsteps, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "products %" PetscInt_FMT ", expected %" PetscInt_FMT, d.nprod, nprobe * nsteps);
    PetscCheck(PetscAbsReal(d.sigma - (tmax - tmin) / 100) <= 1e-14 && PetscAbsReal(d.grid[0] - (tmin - 3 * d.sigma)) <= 1e-13 && PetscAbsReal(d.grid[ngrid - 1] - (tmax + 3 * d.sigma)) <= 1e-13, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "default sigma %.15g or grid [%.15g, %.15g] not as documented", d.sigma, d.grid[0], d.grid[ngrid - 1]);
    /* the density at every grid point, from the documented formula */
    for (PetscInt i = 0; i < ngrid; i++) {
      double phi = 0;
      for (PetscInt j = 0; j < nprobe * nsteps; j++) phi += d.weights[j] * exp(-0.5 * PetscSqr((d.grid[i] - d.nodes[j]) / d.sigma)) / (d.sigma * sqrt(2 * PETSC_PI));
      phi /= nprobe;
      dmax = PetscMax(dmax, phi);
      derr = PetscMax(derr, PetscAbsReal(phi - d.density[i]));
    }
    PetscCheck(derr <= 1e-12 * dmax, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "density differs from the documented formula by %.3e (max %.3e)", derr, dmax);
    integral = Trapezoid(ngrid, d.grid, d.density, PETSC_MAX_REAL);
    for (PetscInt j = 0; j < nprobe * nsteps; j++) closed += d.weights[j] * 0.5 * (erf((d.grid[ngrid - 1] - d.nodes[j]) / (d.sigma * sqrt(2))) - erf((d.grid[0] - d.nodes[j]) / (d.sigma * sqrt(2))));
    closed /= nprobe;
    mass1 = Trapezoid(ngrid, d.grid, d.density, 3.0);
    PetscCall(ProbeMass(n, q, nprobe, 9, 0, n1, NULL, &exact1));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "two clusters: sigma %.4g, integral %.8f (closed form on the grid %.8f), mass below 3: %.5f (planted %.2f, probes' exact measures %.5f)\n", d.sigma, integral, closed, mass1, (double)n1 / n, exact1));
    PetscCheck(PetscAbsReal(integral - 1) <= 1e-3, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "density integrates to %.8f", integral);
    PetscCheck(PetscAbsReal(integral - closed) <= 1e-6, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "trapezoid %.10f vs closed form %.10f", integral, closed);
    PetscCheck(PetscAbsReal(mass1 - (double)n1 / n) <= 0.03 && PetscAbsReal(integral - mass1 - (1 - (double)n1 / n)) <= 0.03, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "cluster masses %.5f, %.5f; planted %.2f, %.2f", mass1, integral - mass1, (double)n1 / n, 1 - (double)n1 / n);
    PetscCheck(PetscAbsReal(mass1 - exact1) <= 2e-3, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "mass below 3 %.6f vs the probes' exact measures %.6f", mass1, exact1);
  }
  /* distributed vs one rank */
  PetscCall(EigTestDense(PETSC_COMM_SELF, n, g, &B));
  PetscCall(SpdDensitySLQ(B, nprobe, nsteps, 9, ngrid, -1.0, &d1));
  {
    double dn = 0, dw = 0, dd = 0, dmax = 0;
    for (PetscInt j = 0; j < nprobe * nsteps; j++) {
      dn = PetscMax(dn, PetscAbsReal(d.nodes[j] - d1.nodes[j]));
      dw = PetscMax(dw, PetscAbsReal(d.weights[j] - d1.weights[j]));
    }
    for (PetscInt i = 0; i < ngrid; i++) {
      dd   = PetscMax(dd, PetscAbsReal(d.density[i] - d1.density[i]));
      dmax = PetscMax(dmax, d1.density[i]);
    }
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "distributed vs one rank: nodes %.2e, weights %.2e, density %.2e (max %.3g)\n", dn, dw, dd, dmax));
    PetscCheck(dn <= 1e-10 * 5.2 && dw <= 1e-10 && dd <= 1e-8 * dmax, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "SLQ differs between ranks counts: nodes %.3e weights %.3e density %.3e", dn, dw, dd);
  }
  PetscCall(SpdDensityDestroy(&d1));
  PetscCall(SpdDensityDestroy(&d));
  PetscCall(MatDestroy(&B));

  /* an explicit sigma is kept */
  PetscCall(SpdDensitySLQ(A, 2, 10, 9, 50, 0.1, &d));
  PetscCheck(d.sigma == 0.1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "sigma 0.1 given, %.15g used", d.sigma);
  PetscCall(SpdDensityDestroy(&d));
  PetscCall(MatDestroy(&A));

  /* A = 2.5 I: the Krylov space of every probe is one-dimensional */
  PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, PETSC_DECIDE, PETSC_DECIDE, 50, 50, 1, NULL, 0, NULL, &A));
  for (PetscInt i = 0; i < 50; i++) PetscCall(MatSetValue(A, i, i, 2.5, INSERT_VALUES));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscCall(SpdDensitySLQ(A, 3, 10, 1, 61, 0.0, &d));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "2.5 I: products %" PetscInt_FMT ", sigma %g, density at the centre %.6f (expected %.6f)\n", d.nprod, d.sigma, d.density[30], 1 / (0.025 * sqrt(2 * PETSC_PI))));
  PetscCheck(d.nprod == 3 && PetscAbsReal(d.sigma - 0.025) < 1e-15, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "2.5 I: products %" PetscInt_FMT " (expected 3), sigma %g (expected 0.025)", d.nprod, d.sigma);
  for (PetscInt p = 0; p < 3; p++)
    for (PetscInt j = 0; j < 10; j++) PetscCheck(PetscAbsReal(d.nodes[p * 10 + j] - 2.5) < 1e-14 && PetscAbsReal(d.weights[p * 10 + j] - (j == 0)) < 1e-14, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "2.5 I: probe %" PetscInt_FMT " node %" PetscInt_FMT " = %g weight %g", p, j, d.nodes[p * 10 + j], d.weights[p * 10 + j]);
  PetscCheck(PetscAbsReal(d.grid[30] - 2.5) < 1e-14 && PetscAbsReal(d.density[30] - 1 / (0.025 * sqrt(2 * PETSC_PI))) < 1e-10, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "2.5 I: density %g at %g", d.density[30], d.grid[30]);
  PetscCall(SpdDensityDestroy(&d));

  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = SpdDensitySLQ(A, 3, 10, 1, 1, 0.0, &d);
  PetscCall(PetscPopErrorHandler());
  PetscCheck(ierr == PETSC_ERR_ARG_OUTOFRANGE, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "ngrid = 1: error %d, expected PETSC_ERR_ARG_OUTOFRANGE", (int)ierr);
  PetscCall(MatDestroy(&A));

  PetscCall(PetscFree4(q, lambda, g, w));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "OK\n"));
  PetscCall(SpdFinalize());
  return 0;
}
