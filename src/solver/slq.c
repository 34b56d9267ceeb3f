/* Spectral density of a symmetric operator by stochastic Lanczos quadrature (SLQ).

   For a unit start vector v = z / ||z||, m Lanczos steps give a tridiagonal T_m whose
   eigenvalues theta_j (Ritz values) and squared first eigenvector components tau_j^2
   are the nodes and weights of the m-point Gauss quadrature of the spectral measure
   mu_v = sum_i (q_i^T v)^2 delta(lambda_i). With Rademacher z, E[mu_v] is the spectral
   density (1/N) sum_i delta(lambda_i); averaging over probes and broadening each node
   by a Gaussian of width sigma gives a smooth density integrating to 1.

   Full reorthogonalization (classical Gram-Schmidt twice against every Lanczos vector)
   keeps the basis orthonormal, so no ghost copies of converged Ritz values appear; it
   costs nsteps vectors of storage per probe.

   References: G. H. Golub, G. Meurant, Matrices, Moments and Quadrature with
   Applications, Princeton University Press, 2010; L. Lin, Y. Saad, C. Yang,
   Approximating spectral densities of large matrices, SIAM Rev. 58 (2016) 34-65;
   B. Ghorbani, S. Krishnan, Y. Xiao, An investigation into neural net optimization via
   Hessian eigenvalue density, ICML 2019. */
#include <specdyn/eig.h>
#include <specdyn/sys.h>
#include <petscblaslapack.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */
#include <math.h>

static PetscLogEvent SPD_DensitySLQ;
static PetscBool     SpdSLQPackageInitialized = PETSC_FALSE;

static PetscErrorCode SpdSLQFinalizePackage_Private(void)
{
  PetscFunctionBegin;
  SpdSLQPackageInitialized = PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdSLQInitializePackage_Private(void)
{
  PetscFunctionBegin;
  if (SpdSLQPackageInitialized) PetscFunctionReturn(0);
  SpdSLQPackageInitialized = PETSC_TRUE;
  PetscCall(PetscLogEventRegister("SpdDensitySLQ", SPD_CLASSID, &SPD_DensitySLQ));
  PetscCall(PetscRegisterFinalize(SpdSLQFinalizePackage_Private));
  PetscFunctionReturn(0);
}

/* Lanczos from v = z/||z|| with full reorthogonalization: alpha[0..m-1], beta[0..m-2].
   Stops early (m < nsteps) when the Krylov space is invariant to working accuracy,
   beta_j <= 1e-12 ||T||; V holds nsteps work vectors. Returns m and the products. */
static PetscErrorCode SpdLanczos_Private(Mat A, Vec z, PetscInt nsteps, Vec V[], Vec w, PetscScalar h[], PetscReal alpha[], PetscReal beta[], PetscInt *m, PetscInt *nprod)
{
  PetscReal tnorm = 0;

  PetscFunctionBegin;
  *m     = nsteps;
  *nprod = 0;
  PetscCall(VecCopy(z, V[0]));
  PetscCall(VecNormalize(V[0], NULL));
  for (PetscInt j = 0; j < nsteps; j++) {
    PetscScalar a;
    PetscCall(MatMult(A, V[j], w));
    (*nprod)++;
    PetscCall(VecDot(w, V[j], &a));
    alpha[j] = PetscRealPart(a);
    PetscCall(VecAXPY(w, -alpha[j], V[j]));
    if (j > 0) PetscCall(VecAXPY(w, -beta[j - 1], V[j - 1]));
    tnorm = PetscMax(tnorm, PetscAbsReal(alpha[j]) + (j > 0 ? beta[j - 1] : 0));
    if (j == nsteps - 1) break;
    for (PetscInt pass = 0; pass < 2; pass++) {
      PetscCall(VecMDot(w, j + 1, V, h));
      for (PetscInt i = 0; i <= j; i++) h[i] = -h[i];
      PetscCall(VecMAXPY(w, j + 1, h, V));
    }
    PetscCall(VecNorm(w, NORM_2, &beta[j]));
    tnorm = PetscMax(tnorm, PetscAbsReal(alpha[j]) + beta[j] + (j > 0 ? beta[j - 1] : 0));
    if (beta[j] <= 1e-12 * tnorm) {
      *m = j + 1;
      break;
    }
    PetscCall(VecAXPBY(V[j + 1], 1.0 / beta[j], 0.0, w));
  }
  PetscFunctionReturn(0);
}

/*@C
  SpdDensitySLQ - spectral density of a symmetric operator by stochastic Lanczos
  quadrature

  Collective on A

  Input Parameters:
+ A      - the N x N symmetric operator (only MatMult is used)
. nprobe - number of Rademacher probes (probes 0..nprobe-1 of `seed`), >= 1
. nsteps - Lanczos steps per probe, >= 1; clamped to N
. seed   - seed of the probes
. ngrid  - number of grid points of the density, >= 2
- sigma  - width of the Gaussian broadening; <= 0 for (max - min Ritz value) / 100

  Output Parameter:
. d - grid[ngrid], density[ngrid], nodes and weights [nprobe * nsteps] (probe-major,
      nodes ascending within a probe), the sigma used, the number of products; release
      with SpdDensityDestroy()

  Notes:
  phi(t) = (1/nprobe) sum_probes sum_j tau_j^2 N(t; theta_j, sigma^2) on the grid
  spanning [min theta - 3 sigma, max theta + 3 sigma]; the weights of each probe sum to
  1, so phi integrates to 1 over the real line (to within 0.14% on the grid, whose ends
  cut the outermost Gaussians at 3 sigma). When all Ritz values coincide (A = cI) and
  sigma <= 0, sigma = 0.01 max(|theta|) (0.01 if theta = 0).
  A probe whose Krylov space becomes invariant after m < nsteps steps (beta_m <= 1e-12
  ||T||, e.g. A with fewer than nsteps distinct eigenvalues) has m exact nodes; its
  remaining entries repeat its largest node with weight 0. d->nprod counts the products.
  Every rank holds the same outputs. Logged as the event SpdDensitySLQ.

.seealso: SpdDensityDestroy(), SpdTraceHutchinson(), SpdProbeRademacher()
@*/
PetscErrorCode SpdDensitySLQ(Mat A, PetscInt nprobe, PetscInt nsteps, PetscInt64 seed, PetscInt ngrid, PetscReal sigma, SpdDensity *d)
{
  MPI_Comm     comm;
  PetscInt     M, N, mloc, nloc;
  Vec          z, w, *V;
  PetscScalar *h;
  PetscReal   *alpha, *beta, *Z, *work, tmin = PETSC_MAX_REAL, tmax = PETSC_MIN_REAL, lo, hi;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(A, MAT_CLASSID, 1);
  PetscValidPointer(d, 7);
  PetscCall(SpdSLQInitializePackage_Private());
  PetscCall(PetscObjectGetComm((PetscObject)A, &comm));
  PetscCall(MatGetSize(A, &M, &N));
  PetscCall(MatGetLocalSize(A, &mloc, &nloc));
  PetscCheck(M == N, comm, PETSC_ERR_ARG_SIZ, "SpdDensitySLQ: the operator is %" PetscInt_FMT " x %" PetscInt_FMT "; a spectral density needs a square symmetric operator", M, N);
  PetscCheck(mloc == nloc, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "SpdDensitySLQ: local rows %" PetscInt_FMT " differ from local columns %" PetscInt_FMT "; create the operator with equal row and column layouts", mloc, nloc);
  PetscCheck(nprobe >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdDensitySLQ: nprobe = %" PetscInt_FMT "; use at least 1 probe", nprobe);
  PetscCheck(nsteps >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdDensitySLQ: nsteps = %" PetscInt_FMT "; use at least 1 Lanczos step", nsteps);
  PetscCheck(ngrid >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdDensitySLQ: ngrid = %" PetscInt_FMT "; the density needs at least 2 grid points", ngrid);
  PetscCheck(!PetscIsInfOrNanReal(sigma), comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdDensitySLQ: sigma = %g; give a positive width, or <= 0 for the default", (double)sigma);
  if (nsteps > N) {
    PetscCall(PetscInfo(A, "%" PetscInt_FMT " Lanczos steps requested for N = %" PetscInt_FMT "; taking %" PetscInt_FMT "\n", nsteps, N, N));
    nsteps = N;
  }
  PetscCall(PetscLogEventBegin(SPD_DensitySLQ, A, 0, 0, 0));
  PetscCall(PetscMemzero(d, sizeof(*d)));
  d->nprobe = nprobe;
  d->nsteps = nsteps;
  d->ngrid  = ngrid;
  PetscCall(PetscMalloc1((size_t)nprobe * nsteps, &d->nodes));
  PetscCall(PetscMalloc1((size_t)nprobe * nsteps, &d->weights));
  PetscCall(PetscMalloc1(ngrid, &d->grid));
  PetscCall(PetscMalloc1(ngrid, &d->density));
  PetscCall(PetscCalloc3((size_t)nprobe * nsteps, &d->alpha, (size_t)nprobe * nsteps, &d->beta, nprobe, &d->steps));

  PetscCall(MatCreateVecs(A, &z, &w));
  PetscCall(VecDuplicateVecs(z, nsteps, &V));
  PetscCall(PetscMalloc5(nsteps, &h, nsteps, &alpha, nsteps, &beta, (size_t)nsteps * nsteps, &Z, PetscMax(1, 2 * nsteps - 2), &work));
  for (PetscInt p = 0; p < nprobe; p++) {
    PetscInt     m, np;
    PetscBLASInt bm, info;
    PetscReal   *nodes = d->nodes + (size_t)p * nsteps, *weights = d->weights + (size_t)p * nsteps;

    PetscCall(SpdProbeRademacher(z, seed, p));
    PetscCall(SpdLanczos_Private(A, z, nsteps, V, w, h, alpha, beta, &m, &np));
    d->nprod += np;
    /* T = tridiag(beta, alpha, beta) = Z diag(theta) Z^T, eigenvalues ascending */
    PetscCall(PetscBLASIntCast(m, &bm));
    PetscCall(PetscArraycpy(d->alpha + (size_t)p * nsteps, alpha, m));
    PetscCall(PetscArraycpy(d->beta + (size_t)p * nsteps, beta, m > 1 ? m - 1 : 0));
    d->steps[p] = m;
    PetscCall(PetscArraycpy(nodes, alpha, m));
    PetscCallBLAS("LAPACKsteqr", LAPACKREALsteqr_("I", &bm, nodes, beta, Z, &bm, work, &info));
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "SpdDensitySLQ: LAPACK dsteqr on the %" PetscInt_FMT " x %" PetscInt_FMT " Lanczos tridiagonal of probe %" PetscInt_FMT " returned info = %d (%s)", m, m, p, (int)info, info < 0 ? "bad argument" : "QL iteration did not converge");
    for (PetscInt j = 0; j < m; j++) weights[j] = Z[(size_t)j * m] * Z[(size_t)j * m];
    for (PetscInt j = m; j < nsteps; j++) {
      nodes[j]   = nodes[m - 1];
      weights[j] = 0;
    }
    tmin = PetscMin(tmin, nodes[0]);
    tmax = PetscMax(tmax, nodes[m - 1]);
  }
  PetscCall(PetscFree5(h, alpha, beta, Z, work));
  PetscCall(VecDestroyVecs(nsteps, &V));
  PetscCall(VecDestroy(&z));
  PetscCall(VecDestroy(&w));

  if (sigma <= 0) {
    sigma = (tmax - tmin) / 100;
    if (!(sigma > 0)) sigma = PetscMax(PetscAbsReal(tmin), PetscAbsReal(tmax)) > 0 ? 0.01 * PetscMax(PetscAbsReal(tmin), PetscAbsReal(tmax)) : 0.01;
  }
  d->sigma = sigma;
  lo       = tmin - 3 * sigma;
  hi       = tmax + 3 * sigma;
  for (PetscInt g = 0; g < ngrid; g++) {
    PetscReal t = g == ngrid - 1 ? hi : lo + (hi - lo) * g / (ngrid - 1), phi = 0;
    for (size_t j = 0; j < (size_t)nprobe * nsteps; j++) {
      PetscReal u = (t - d->nodes[j]) / sigma;
      if (d->weights[j] > 0 && PetscAbsReal(u) < 40) phi += d->weights[j] * PetscExpReal(-0.5 * u * u);
    }
    d->grid[g]    = t;
    d->density[g] = phi / (nprobe * sigma * PetscSqrtReal(2 * PETSC_PI));
  }
  PetscCall(PetscLogEventEnd(SPD_DensitySLQ, A, 0, 0, 0));
  PetscFunctionReturn(0);
}

/*@C
  SpdDensityDestroy - free the arrays of an SpdDensity

  Not Collective

  Input Parameter:
. d - the density; zeroed on return

.seealso: SpdDensitySLQ()
@*/
PetscErrorCode SpdDensityDestroy(SpdDensity *d)
{
  PetscFunctionBegin;
  if (!d) PetscFunctionReturn(0);
  PetscCall(PetscFree(d->grid));
  PetscCall(PetscFree(d->density));
  PetscCall(PetscFree(d->nodes));
  PetscCall(PetscFree(d->weights));
  PetscCall(PetscFree3(d->alpha, d->beta, d->steps));
  PetscCall(PetscMemzero(d, sizeof(*d)));
  PetscFunctionReturn(0);
}
