/* Outlier eigenvalues: top eigenvalues separated from the bulk of a spectral density
   estimated by stochastic Lanczos quadrature (docs/curvature.md).

   A Ritz node of a Rademacher probe carries the weight tau^2 = sum over the eigenvalues
   it represents of (x_i^T z)^2 / ||z||^2: about (number of eigenvalues) / N. A node that
   stands for a single isolated outlier has weight ~ chi^2_1 / N, while bulk nodes carry
   O(1/nsteps). Nodes with tau^2 >= 20 / N are surely bulk (an isolated eigenvalue reaches
   20/N with probability < 1e-5 per probe). Gauss quadrature nodes approach the edge of a
   bulk with spacings that shrink towards it. At a soft edge (density ~ sqrt(b - x), as
   Marchenko-Pastur or the semicircle) the top few Gauss nodes carry only
   O(nsteps^-3) of the mass, below 20/N for large N, so light nodes just above the top
   heavy node are also bulk as long as each spacing does not grow: the walk up from the
   top heavy node stops at the first gap wider than the spacing below it. A probe's bulk
   edge is its top bulk node plus the spacing to the next bulk node below it; the edge is
   the largest over the probes, and an outlier is a computed top eigenvalue above it.
   Zero weights (SpdDensitySLQ's padding after an early breakdown) are not nodes. */
#include <specdyn/metrics.h>

/*@C
  SpdMetricsOutliers - the bulk edge of an SLQ density and the number of outliers above it

  Not collective

  Input Parameters:
+ nprobe, nsteps - SLQ probes and Lanczos steps (nodes and weights are probe-major)
. nodes, weights - Ritz values theta and weights tau^2 of each probe
. N              - dimension of the operator
. k              - number of computed top eigenvalues
- lambda         - the top eigenvalues, descending

  Output Parameters:
+ edge  - the estimated upper edge of the bulk (NaN when no node is bulk)
- count - eigenvalues among lambda[0..k) above the edge (-1 when the edge is unknown)
@*/
PetscErrorCode SpdMetricsOutliers(PetscInt nprobe, PetscInt nsteps, const PetscReal nodes[], const PetscReal weights[], PetscInt N, PetscInt k, const PetscReal lambda[], PetscReal *edge, PetscInt *count)
{
  PetscReal wmin = 20.0 / (PetscReal)PetscMax(N, 1), *t;
  PetscInt *idx;

  PetscFunctionBegin;
  *edge  = NAN;
  *count = -1;
  PetscCall(PetscMalloc2(nsteps + 1, &t, nsteps + 1, &idx));
  for (PetscInt p = 0; p < nprobe; p++) {
    const PetscReal *w = weights + p * nsteps;
    PetscInt         m = 0, h = -1, j;
    PetscReal        a, b     = -PETSC_MAX_REAL, e;

    for (j = 0; j < nsteps; j++) {
      if (!(w[j] > 0)) continue;
      t[m]   = nodes[p * nsteps + j];
      idx[m] = j;
      m++;
    }
    PetscCall(PetscSortRealWithArrayInt(m, t, idx)); /* ascending */
    for (j = m - 1; j >= 0 && h < 0; j--)
      if (w[idx[j]] >= wmin) h = j;
    if (h < 0) continue; /* no bulk node in this probe */
    a = t[h];
    for (j = h - 1; j >= 0; j--)
      if (w[idx[j]] >= wmin && t[j] < a) {
        b = t[j];
        break;
      }
    /* light nodes above the top heavy one: bulk while the spacings shrink */
    for (j = h + 1; j < m && b > -PETSC_MAX_REAL; j++) {
      if (t[j] == a) continue;
      if (t[j] - a > a - b) break;
      b = a;
      a = t[j];
    }
    e = b > -PETSC_MAX_REAL ? a + (a - b) : a;
    if (PetscIsNanReal(*edge) || e > *edge) *edge = e;
  }
  PetscCall(PetscFree2(t, idx));
  if (PetscIsNanReal(*edge)) PetscFunctionReturn(0);
  *count = 0;
  for (PetscInt i = 0; i < k; i++)
    if (lambda[i] > *edge) (*count)++;
  PetscFunctionReturn(0);
}
