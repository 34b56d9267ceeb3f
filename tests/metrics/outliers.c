static const char help[] = "SpdMetricsOutliers on planted spectra: idealized SLQ quadratures (Gauss-Legendre\n"
                           "bulk plus isolated outliers) and real SLQ (SpdDensitySLQ) on a Marchenko-Pastur bulk\n"
                           "plus planted outliers, diagonal and rotated.\n";

/* The references are the planted spectra themselves: the number of planted outliers, and
   the true upper edge b of the bulk, which the estimated edge must not fall below (else
   bulk eigenvalues would count) and must stay well under the first outlier.

   1. Idealized quadratures, one per probe: the bulk's nodes are the Gauss-Legendre nodes of
      a uniform bulk on [0, 1] (Golub-Welsch with LAPACK steqr, independent of the code
      under test) carrying the bulk's mass (N - nout)/N, and each planted outlier is one node
      with weight g^2/N, g ~ N(0,1) (what a Rademacher probe gives an isolated eigenvalue).
      Cases: 3 outliers among the top-8 eigenvalues; no outlier (top-8 all bulk), also with
      zero-weight padding (SLQ after an early breakdown); all the
      top-k are outliers; no node heavy enough to be bulk (N small) and no probe: edge
      NaN, count -1 (documented).
   2. SpdDensitySLQ (nprobe 8, nsteps 40) on N = 3000 eigenvalues: the bulk at the quantiles
      of the Marchenko-Pastur law of ratio 1/2 (support [(1-1/sqrt2)^2, (1+1/sqrt2)^2]), five
      planted outliers at 4, 5, 6, 8, 10; A = diag, and A = H diag H^T with H a Householder
      reflection (dense eigenvectors, so the outliers' weights vary by probe). The count of
      the top-10 eigenvalues must be 5 at any rank count. The top Gauss nodes of this soft
      edge weigh less than 20/N: before the walk over light nodes in outliers.c, the edge
      came out at 2.70, under the bulk's 2.91, and bulk eigenvalues counted as outliers. */
#include "metricstest.h"
#include <petscblaslapack.h>

/* Gauss-Legendre rule of n points on [0, 1] (weights sum to 1) by Golub-Welsch. */
static PetscErrorCode GaussLegendre01(PetscInt n, PetscReal x[], PetscReal w[])
{
  PetscReal   *e, *Z, *work;
  PetscBLASInt bn, info;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscMalloc3(n, &e, (size_t)n * n, &Z, PetscMax(1, 2 * n - 2), &work));
  for (PetscInt k = 1; k < n; k++) e[k - 1] = k / PetscSqrtReal(4.0 * k * k - 1.0);
  for (PetscInt k = 0; k < n; k++) x[k] = 0;
  PetscCallBLAS("LAPACKsteqr", LAPACKREALsteqr_("I", &bn, x, e, Z, &bn, work, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK steqr failed with info %d", (int)info);
  for (PetscInt k = 0; k < n; k++) {
    w[k] = Z[(size_t)k * n] * Z[(size_t)k * n];
    x[k] = 0.5 * (x[k] + 1.0);
  }
  PetscCall(PetscFree3(e, Z, work));
  PetscFunctionReturn(0);
}

/* nprobe probes of nsteps nodes: nsteps - nout Gauss-Legendre nodes of the uniform bulk
   [0, 1] with mass (N - nout)/N, then the outliers with weights g^2/N (probe-major). */
static PetscErrorCode IdealQuadrature(PetscInt nprobe, PetscInt nsteps, PetscInt N, PetscInt nout, const PetscReal out[], uint64_t seed, PetscReal nodes[], PetscReal weights[])
{
  PetscInt   nb = nsteps - nout;
  PetscReal *x, *w;
  SpdTestRng rng;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(nb, &x, nb, &w));
  PetscCall(GaussLegendre01(nb, x, w));
  SpdTestRngSeed(&rng, MTSeed(seed));
  for (PetscInt p = 0; p < nprobe; p++) {
    for (PetscInt j = 0; j < nb; j++) {
      nodes[p * nsteps + j]   = x[j];
      weights[p * nsteps + j] = w[j] * (PetscReal)(N - nout) / N;
    }
    for (PetscInt i = 0; i < nout; i++) {
      PetscReal g                  = SpdTestRngNormal(&rng);
      nodes[p * nsteps + nb + i]   = out[i];
      weights[p * nsteps + nb + i] = PetscMin(g * g, 15.0) / N;
    }
  }
  PetscCall(PetscFree2(x, w));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckIdeal(void)
{
  const PetscInt  nprobe = 6, nsteps = 30, N = 10000;
  const PetscReal out[3] = { 3.0, 2.0, 1.5 };
  PetscReal      *nodes, *weights, lambda[8], edge;
  PetscInt        count;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(nprobe * nsteps, &nodes, nprobe * nsteps, &weights));

  PetscCall(PetscPrintf(PETSC_COMM_SELF, "idealized SLQ: uniform bulk [0, 1] of N = %" PetscInt_FMT ", outliers 3, 2, 1.5\n", N));
  PetscCall(IdealQuadrature(nprobe, nsteps, N, 3, out, 11, nodes, weights));
  /* the top-8: the three outliers, then the top of the uniform bulk (N - 3 points on [0, 1]) */
  for (PetscInt i = 0; i < 8; i++) lambda[i] = i < 3 ? out[i] : 1.0 - (PetscReal)(i - 3) / (N - 4);
  PetscCall(SpdMetricsOutliers(nprobe, nsteps, nodes, weights, N, 8, lambda, &edge, &count));
  PetscCall(MTCheckRange("edge in [b, first outlier) = [1, 1.5)", edge, 1.0, 1.2));
  PetscCall(MTCheckInt("outliers among the top 8", count, 3));

  PetscCall(PetscPrintf(PETSC_COMM_SELF, "idealized SLQ: the same bulk, no outlier\n"));
  PetscCall(IdealQuadrature(nprobe, nsteps, N, 0, NULL, 12, nodes, weights));
  for (PetscInt i = 0; i < 8; i++) lambda[i] = 1.0 - (PetscReal)i / (N - 1);
  PetscCall(SpdMetricsOutliers(nprobe, nsteps, nodes, weights, N, 8, lambda, &edge, &count));
  PetscCall(MTCheckRange("edge in [1, 1.2]", edge, 1.0, 1.2));
  PetscCall(MTCheckInt("outliers among the top 8", count, 0));

  /* SpdDensitySLQ pads a probe that broke down early with copies of its top node of
     weight 0: they are not nodes, so the edge stays above the top bulk node */
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "idealized SLQ: 27 bulk nodes padded by 3 zero-weight copies of the top one\n"));
  PetscCall(IdealQuadrature(nprobe, nsteps, N, 3, out, 14, nodes, weights));
  for (PetscInt p = 0; p < nprobe; p++)
    for (PetscInt j = nsteps - 3; j < nsteps; j++) {
      nodes[p * nsteps + j]   = nodes[p * nsteps + nsteps - 4];
      weights[p * nsteps + j] = 0;
    }
  PetscCall(SpdMetricsOutliers(nprobe, nsteps, nodes, weights, N, 8, lambda, &edge, &count));
  PetscCall(MTCheckRange("edge in [1, 1.2]", edge, 1.0, 1.2));
  PetscCall(MTCheckInt("outliers among the top 8", count, 0));

  PetscCall(PetscPrintf(PETSC_COMM_SELF, "idealized SLQ: every one of the top 3 an outlier\n"));
  PetscCall(IdealQuadrature(nprobe, nsteps, N, 3, out, 13, nodes, weights));
  PetscCall(SpdMetricsOutliers(nprobe, nsteps, nodes, weights, N, 3, out, &edge, &count));
  PetscCall(MTCheckRange("edge in [1, 1.2]", edge, 1.0, 1.2));
  PetscCall(MTCheckInt("outliers among the top 3", count, 3));
  PetscCall(SpdMetricsOutliers(nprobe, nsteps, nodes, weights, N, 0, NULL, &edge, &count));
  PetscCall(MTCheckInt("outliers among the top 0", count, 0));

  /* N = 10: every node weighs ~1/10 < 20/N = 2, so no node is bulk (all isolated) */
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "no bulk node (N = 10) and no probe: edge unknown\n"));
  for (PetscInt j = 0; j < 10; j++) {
    nodes[j]   = j;
    weights[j] = 0.1;
  }
  PetscCall(SpdMetricsOutliers(1, 10, nodes, weights, 10, 3, out, &edge, &count));
  PetscCall(MTCheckReal("edge (NaN)", edge, NAN, 0, 0));
  PetscCall(MTCheckInt("count (-1: unknown)", count, -1));
  PetscCall(SpdMetricsOutliers(0, 10, nodes, weights, 10, 3, out, &edge, &count));
  PetscCall(MTCheckReal("edge without probes (NaN)", edge, NAN, 0, 0));
  PetscCall(MTCheckInt("count without probes (-1)", count, -1));
  PetscCall(PetscFree2(nodes, weights));
  PetscFunctionReturn(0);
}

/* Quantiles (i + 1/2)/n, i < n, of the Marchenko-Pastur law of ratio y < 1, unit variance:
   density sqrt((b - x)(x - a)) / (2 pi y x) on [a, b], integrated by the midpoint rule on a
   fine grid and inverted. Ascending. */
static PetscErrorCode MPQuantiles(PetscReal y, PetscInt n, PetscReal q[])
{
  const PetscInt ng = 200000;
  PetscReal      a = PetscSqr(1 - PetscSqrtReal(y)), b = PetscSqr(1 + PetscSqrtReal(y)), h = (b - a) / ng, F = 0, total = 0;
  PetscInt       i = 0;

  PetscFunctionBeginUser;
  for (PetscInt g = 0; g < ng; g++) {
    PetscReal x = a + (g + 0.5) * h;
    total += PetscSqrtReal((b - x) * (x - a)) / (2 * PETSC_PI * y * x) * h;
  }
  for (PetscInt g = 0; g < ng && i < n; g++) {
    PetscReal x = a + (g + 0.5) * h, dF = PetscSqrtReal((b - x) * (x - a)) / (2 * PETSC_PI * y * x) * h / total;
    while (i < n && F + dF >= (i + 0.5) / n) {
      q[i] = x - 0.5 * h + h * ((i + 0.5) / n - F) / dF;
      i++;
    }
    F += dF;
  }
  for (; i < n; i++) q[i] = b;
  PetscFunctionReturn(0);
}

typedef struct {
  Vec d, v; /* the eigenvalues; the Householder vector (unit) */
} Rotated;

/* y = H D H x with H = I - 2 v v^T */
static PetscErrorCode RotatedMult(Mat A, Vec x, Vec y)
{
  Rotated    *r;
  PetscScalar c;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(A, &r));
  PetscCall(VecDot(x, r->v, &c));
  PetscCall(VecWAXPY(y, -2 * c, r->v, x));
  PetscCall(VecPointwiseMult(y, r->d, y));
  PetscCall(VecDot(y, r->v, &c));
  PetscCall(VecAXPY(y, -2 * c, r->v));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckSLQ(PetscBool rotated)
{
  const PetscInt  N = 3000, nout = 5, k = 10;
  const PetscReal y = 0.5, b = PetscSqr(1 + PetscSqrtReal(y)), out[5] = { 10, 8, 6, 5, 4 };
  PetscReal      *ev, lambda[10], edge;
  PetscInt        count, lo, hi;
  Vec             d;
  Mat             A;
  Rotated         r;
  SpdDensity      dens;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "SpdDensitySLQ: %s, N = %" PetscInt_FMT ", Marchenko-Pastur bulk (y = 1/2, edge %.4f), outliers 4, 5, 6, 8, 10\n", rotated ? "rotated H D H" : "diagonal", N, (double)b));
  PetscCall(PetscMalloc1(N, &ev));
  PetscCall(MPQuantiles(y, N - nout, ev));
  for (PetscInt i = 0; i < nout; i++) ev[N - nout + i] = out[nout - 1 - i];
  for (PetscInt i = 0; i < k; i++) lambda[i] = ev[N - 1 - i];
  /* interleave the outliers among the bulk so that every rank's part has a mix */
  for (PetscInt i = 0; i < nout; i++) {
    PetscInt  j      = (i * 7 + 3) * (N / 37);
    PetscReal t      = ev[j];
    ev[j]            = ev[N - nout + i];
    ev[N - nout + i] = t;
  }
  PetscCall(VecCreateMPI(PETSC_COMM_WORLD, PETSC_DECIDE, N, &d));
  PetscCall(VecGetOwnershipRange(d, &lo, &hi));
  for (PetscInt i = lo; i < hi; i++) PetscCall(VecSetValue(d, i, ev[i], INSERT_VALUES));
  PetscCall(VecAssemblyBegin(d));
  PetscCall(VecAssemblyEnd(d));
  if (!rotated) {
    PetscCall(MatCreateAIJ(PETSC_COMM_WORLD, hi - lo, hi - lo, N, N, 1, NULL, 0, NULL, &A));
    PetscCall(MatDiagonalSet(A, d, INSERT_VALUES));
  } else {
    SpdTestRng rng;
    PetscReal  nrm;

    SpdTestRngSeed(&rng, MTSeed(77));
    PetscCall(VecDuplicate(d, &r.v));
    for (PetscInt i = 0; i < N; i++) {
      PetscReal g = SpdTestRngNormal(&rng); /* the same sequence on every rank */
      if (i >= lo && i < hi) PetscCall(VecSetValue(r.v, i, g, INSERT_VALUES));
    }
    PetscCall(VecAssemblyBegin(r.v));
    PetscCall(VecAssemblyEnd(r.v));
    PetscCall(VecNormalize(r.v, &nrm));
    r.d = d;
    PetscCall(MatCreateShell(PETSC_COMM_WORLD, hi - lo, hi - lo, N, N, &r, &A));
    PetscCall(MatShellSetOperation(A, MATOP_MULT, (void (*)(void))RotatedMult));
    PetscCall(MatSetOption(A, MAT_SYMMETRIC, PETSC_TRUE));
  }
  PetscCall(SpdDensitySLQ(A, 8, 40, 2024, 16, 0, &dens));
  PetscCall(SpdMetricsOutliers(dens.nprobe, dens.nsteps, dens.nodes, dens.weights, N, k, lambda, &edge, &count));
  /* every rank checks (the nodes are replicated); the values print once per rank */
  PetscCall(MTCheckRange("edge in [b, 4)", edge, b, 4.0));
  PetscCall(MTCheckInt("outliers among the top 10", count, nout));
  PetscCall(SpdDensityDestroy(&dens));
  PetscCall(MatDestroy(&A));
  if (rotated) PetscCall(VecDestroy(&r.v));
  PetscCall(VecDestroy(&d));
  PetscCall(PetscFree(ev));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  if (PetscGlobalRank == 0) PetscCall(CheckIdeal());
  PetscCall(CheckSLQ(PETSC_FALSE));
  PetscCall(CheckSLQ(PETSC_TRUE));
  PetscCall(SpdFinalize());
  return 0;
}
