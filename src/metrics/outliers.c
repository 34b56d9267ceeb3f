/* Outlier eigenvalues: top eigenvalues separated from the bulk of a spectral density
   estimated by stochastic Lanczos quadrature (docs/curvature.md).

   A Ritz node of a Rademacher probe carries the weight tau^2 = sum over the eigenvalues
   it represents of (x_i^T z)^2 / ||z||^2: about (number of eigenvalues) / N. A node that
   stands for a single isolated outlier has weight ~ chi^2_1 / N, while bulk nodes carry
   O(1/nsteps). Nodes with tau^2 >= 20 / N are taken as bulk (an isolated eigenvalue reaches
   20/N with probability < 1e-5 per probe). Gauss quadrature nodes approach the edge of a
   bulk with spacings that shrink towards it, so the bulk edge of one probe is its top
   bulk node plus the spacing to the next bulk node below it; the edge is the largest over
   the probes, and an outlier is a computed top eigenvalue above it. */
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
  PetscReal wmin = 20.0 / (PetscReal)PetscMax(N, 1);

  PetscFunctionBegin;
  *edge  = NAN;
  *count = -1;
  for (PetscInt p = 0; p < nprobe; p++) {
    PetscReal a = -PETSC_MAX_REAL, b = -PETSC_MAX_REAL, e;
    for (PetscInt j = 0; j < nsteps; j++) {
      PetscReal t = nodes[p * nsteps + j];
      if (weights[p * nsteps + j] < wmin) continue;
      if (t > a) {
        b = a;
        a = t;
      } else if (t > b)
        b = t;
    }
    if (a == -PETSC_MAX_REAL) continue;
    e = b > -PETSC_MAX_REAL ? a + (a - b) : a;
    if (PetscIsNanReal(*edge) || e > *edge) *edge = e;
  }
  if (PetscIsNanReal(*edge)) PetscFunctionReturn(0);
  *count = 0;
  for (PetscInt i = 0; i < k; i++)
    if (lambda[i] > *edge) (*count)++;
  PetscFunctionReturn(0);
}
