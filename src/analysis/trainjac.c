/* The training-Jacobian analysis of one run (job key training_jacobian:;
   docs/training.md), after Belrose & Scherlis:

   - J_T = d theta_T / d theta_0 as a matrix-free operator (SpdMatCreateTrainingJacobian:
     one Hessian-vector product per step forward, the same factors in reverse for J_T^T);
   - top-k and bottom-k singular triplets (SLEPc) with residuals, and the cosines
     u_i . v_i (J_T is square: u_i = v_i means a perturbation of theta_0 along v_i comes
     out of training along itself, scaled by sigma_i);
   - the density of sigma^2 by stochastic Lanczos quadrature on J_T^T J_T and, from its
     nodes and weights, the fractions of the spectrum in the chaotic (sigma > 1 + eps),
     bulk (|sigma - 1| <= eps) and stable (sigma < 1 - eps) regions: per probe the
     quadrature of the indicator, sum_j tau_j^2 [theta_j in region], then the mean over
     probes with its standard error (the probe-to-probe spread; the quadrature's own
     resolution is set by the Lanczos steps, stated with the result);
   - bulk probes: random unit vectors orthogonalized against the computed top and
     bottom right singular vectors; ||J_T v|| and cos(v, J_T v) measure how close J_T is
     to the identity on the rest of the space;
   - the same spectra for the parameter-function Jacobian J_f = d f(X) / d theta at
     theta_T on the training data;
   - bulk directions, vectors with J_T v ~ v (SpdBulkCompute: from the dense spectrum, or
     matrix-free from the bottom of J_T - I);
   - perturbation experiments: retrain from theta_0 + s v along chaotic (top), bulk and
     stable (bottom) directions with the same data order, and measure the RMS change of
     the outputs on held-out data (in distribution) and on white noise (far out of
     distribution), and ||theta_T' - theta_T|| / s (the linear prediction is sigma).

   Everything is written by rank 0 into one HDF5 file (path.tmp, renamed when complete). */
#include <specdyn/analysis.h>
#include <specdyn/private/h5util.h>
#include <math.h>
#include <petscblaslapack.h>

#define SPD_TAG_BULK UINT64_C(0x42554c4b50524f42) /* "BULKPROB" */

typedef struct {
  SpdTriplets top, bottom;
  PetscReal  *cosine; /* top then bottom: u_i . v_i (J_T only) */
  SpdDensity  dens;
  PetscBool   have_dens;
  PetscReal   frac[3], fracerr[3]; /* chaotic, bulk, stable: estimate and its uncertainty, */
  PetscReal   fracse[3], fracq[3]; /* from the probes' spread and from the quadrature     */
} SpdSpectra;

static PetscErrorCode SpdNormalMult(Mat N, Vec x, Vec y)
{
  Mat J;
  Vec w;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(N, &J));
  PetscCall(MatCreateVecs(J, NULL, &w));
  PetscCall(MatMult(J, x, w));
  PetscCall(MatMultTranspose(J, w, y));
  PetscCall(VecDestroy(&w));
  PetscFunctionReturn(0);
}

/* The Gauss quadrature of the indicators of the chaotic (t > hi), bulk and stable (t < lo)
   regions for probe p from the leading m x m block of its Lanczos tridiagonal: the sums
   of the weights tau_j^2 of the nodes in each region. The difference between m = all
   steps and half of them measures how far the quadrature has converged at the region
   boundaries (the uncertainty reported with the probes' spread). */
static PetscErrorCode SpdRegionQuadrature(const SpdDensity *d, PetscInt p, PetscInt m, PetscReal lo, PetscReal hi, PetscReal f[3])
{
  PetscReal   *t, *e, *Z, *work;
  PetscBLASInt bm, info;

  PetscFunctionBegin;
  f[0] = f[1] = f[2] = 0;
  PetscCall(PetscMalloc4(m, &t, PetscMax(m, 1), &e, (size_t)m * m, &Z, PetscMax(1, 2 * m - 2), &work));
  PetscCall(PetscArraycpy(t, d->alpha + (size_t)p * d->nsteps, m));
  PetscCall(PetscArraycpy(e, d->beta + (size_t)p * d->nsteps, m > 1 ? m - 1 : 0));
  PetscCall(PetscBLASIntCast(m, &bm));
  PetscCallBLAS("LAPACKsteqr", LAPACKREALsteqr_("I", &bm, t, e, Z, &bm, work, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK dsteqr on a %" PetscInt_FMT " x %" PetscInt_FMT " Lanczos tridiagonal returned info = %d", m, m, (int)info);
  for (PetscInt j = 0; j < m; j++) f[t[j] > hi ? 0 : (t[j] >= lo ? 1 : 2)] += Z[(size_t)j * m] * Z[(size_t)j * m];
  PetscCall(PetscFree4(t, e, Z, work));
  PetscFunctionReturn(0);
}

/* The spectra of J: top/bottom triplets, (square J) cosines, SLQ density of J^T J with
   the region fractions for eps. */
static PetscErrorCode SpdSpectraCompute(Mat J, const SpdTrainJacSettings *s, const char prefix[], PetscBool square, SpdSpectra *r)
{
  char     pre[64];
  PetscInt m, n, kmax;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(r, sizeof(*r)));
  PetscCall(MatGetSize(J, &m, &n));
  kmax = PetscMin(m, n);
  if (s->top) {
    PetscCall(PetscSNPrintf(pre, sizeof(pre), "%stop_", prefix));
    PetscCall(SpdSVDExtreme(J, SPD_SVD_TOP, PetscMin(s->top, kmax), square, pre, &r->top));
  }
  if (s->bottom) {
    PetscCall(PetscSNPrintf(pre, sizeof(pre), "%sbottom_", prefix));
    PetscCall(SpdSVDExtreme(J, SPD_SVD_BOTTOM, PetscMin(s->bottom, kmax), square, pre, &r->bottom));
  }
  if (square) {
    PetscCall(PetscCalloc1(r->top.k + r->bottom.k + 1, &r->cosine));
    for (PetscInt i = 0; i < r->top.nconv; i++) PetscCall(VecDot(r->top.U[i], r->top.V[i], &r->cosine[i]));
    for (PetscInt i = 0; i < r->bottom.nconv; i++) PetscCall(VecDot(r->bottom.U[i], r->bottom.V[i], &r->cosine[r->top.k + i]));
    for (PetscInt i = r->top.nconv; i < r->top.k; i++) r->cosine[i] = (PetscReal)NAN;
    for (PetscInt i = r->bottom.nconv; i < r->bottom.k; i++) r->cosine[r->top.k + i] = (PetscReal)NAN;
  }
  if (s->density_probes) {
    Mat       N;
    PetscInt  nl;
    PetscReal lo = PetscSqr(1 - s->epsilon), hi = PetscSqr(1 + s->epsilon), sum[3] = { 0, 0, 0 }, sq[3] = { 0, 0, 0 }, amb[3] = { 0, 0, 0 };

    PetscCall(MatGetLocalSize(J, NULL, &nl));
    PetscCall(MatCreateShell(PetscObjectComm((PetscObject)J), nl, nl, n, n, J, &N));
    PetscCall(MatShellSetOperation(N, MATOP_MULT, (void (*)(void))SpdNormalMult));
    PetscCall(MatSetOption(N, MAT_SYMMETRIC, PETSC_TRUE));
    PetscCall(SpdDensitySLQ(N, s->density_probes, s->density_steps, s->seed, s->density_grid, 0, &r->dens));
    PetscCall(MatDestroy(&N));
    r->have_dens = PETSC_TRUE;
    for (PetscInt p = 0; p < r->dens.nprobe; p++) {
      PetscReal f[3], h[3];
      PetscCall(SpdRegionQuadrature(&r->dens, p, r->dens.steps[p], lo, hi, f));
      PetscCall(SpdRegionQuadrature(&r->dens, p, (r->dens.steps[p] + 1) / 2, lo, hi, h));
      for (int k = 0; k < 3; k++) {
        sum[k] += f[k];
        sq[k] += f[k] * f[k];
        amb[k] += PetscAbsReal(f[k] - h[k]) / r->dens.nprobe;
      }
    }
    for (int k = 0; k < 3; k++) {
      PetscReal np = (PetscReal)r->dens.nprobe, mean = sum[k] / np, var = np > 1 ? PetscMax(0, (sq[k] - np * mean * mean) / (np - 1)) : 0;
      r->frac[k]    = mean;
      r->fracse[k]  = PetscSqrtReal(var / np);
      r->fracq[k]   = amb[k];
      r->fracerr[k] = PetscSqrtReal(PetscSqr(r->fracse[k]) + PetscSqr(r->fracq[k]));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdSpectraDestroy(SpdSpectra *r)
{
  PetscFunctionBegin;
  if (r->top.k) PetscCall(SpdTripletsDestroy(&r->top));
  if (r->bottom.k) PetscCall(SpdTripletsDestroy(&r->bottom));
  PetscCall(PetscFree(r->cosine));
  if (r->have_dens) PetscCall(SpdDensityDestroy(&r->dens));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdWriteTriplets(hid_t g, const char name[], const SpdTriplets *t, const PetscReal cosine[])
{
  hid_t     h;
  hsize_t   k = (hsize_t)t->k;
  PetscInt *conv;

  PetscFunctionBegin;
  if (!t->k) PetscFunctionReturn(0);
  h = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(h >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create group %s", name);
  PetscCall(SpdH5WriteReals(h, "sigma", 1, &k, t->sigma));
  PetscCall(SpdH5WriteReals(h, "residual", 1, &k, t->residual));
  PetscCall(PetscMalloc1(t->k, &conv));
  for (PetscInt i = 0; i < t->k; i++) conv[i] = t->converged[i] ? 1 : 0;
  PetscCall(SpdH5WriteInts(h, "converged", 1, &k, conv));
  PetscCall(PetscFree(conv));
  if (cosine) PetscCall(SpdH5WriteReals(h, "cosine_uv", 1, &k, cosine));
  PetscCall(SpdH5WriteAttrInt(h, "products", t->nprod));
  PetscCall(SpdH5WriteAttrString(h, "solver", t->solver));
  PetscCall(SpdH5WriteAttrReal(h, "tol", t->tol));
  H5Gclose(h);
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdWriteSpectra(hid_t file, const char name[], const SpdSpectra *r, PetscReal eps, PetscInt P)
{
  hid_t g;

  PetscFunctionBegin;
  g = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create group %s", name);
  PetscCall(SpdWriteTriplets(g, "top", &r->top, r->cosine));
  PetscCall(SpdWriteTriplets(g, "bottom", &r->bottom, r->cosine ? r->cosine + r->top.k : NULL));
  if (r->have_dens) {
    hid_t       d  = H5Gcreate2(g, "density", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t     ng = (hsize_t)r->dens.ngrid, nn[2] = { (hsize_t)r->dens.nprobe, (hsize_t)r->dens.nsteps }, three = 3;
    const char *names[3] = { "chaotic", "bulk", "stable" };
    PetscReal   count[3];

    PetscCall(SpdH5WriteReals(d, "grid_sigma2", 1, &ng, r->dens.grid));
    PetscCall(SpdH5WriteReals(d, "density", 1, &ng, r->dens.density));
    PetscCall(SpdH5WriteReals(d, "nodes", 2, nn, r->dens.nodes));
    PetscCall(SpdH5WriteReals(d, "weights", 2, nn, r->dens.weights));
    PetscCall(SpdH5WriteReals(d, "region_fraction", 1, &three, r->frac));
    PetscCall(SpdH5WriteReals(d, "region_fraction_uncertainty", 1, &three, r->fracerr));
    PetscCall(SpdH5WriteReals(d, "region_fraction_probe_stderr", 1, &three, r->fracse));
    PetscCall(SpdH5WriteReals(d, "region_fraction_quadrature", 1, &three, r->fracq));
    for (int k = 0; k < 3; k++) count[k] = r->frac[k] * P;
    PetscCall(SpdH5WriteReals(d, "region_count", 1, &three, count));
    PetscCall(SpdH5WriteAttrString(d, "regions", "chaotic: sigma > 1 + epsilon; bulk: |sigma - 1| <= epsilon; stable: sigma < 1 - epsilon"));
    PetscCall(SpdH5WriteAttrReal(d, "epsilon", eps));
    PetscCall(SpdH5WriteAttrInt(d, "probes", r->dens.nprobe));
    PetscCall(SpdH5WriteAttrInt(d, "lanczos_steps", r->dens.nsteps));
    PetscCall(SpdH5WriteAttrInt(d, "products", r->dens.nprod));
    PetscCall(SpdH5WriteAttrReal(d, "sigma_smoothing", r->dens.sigma));
    for (int k = 0; k < 3; k++) PetscCall(SpdH5WriteAttrReal(d, names[k], r->frac[k]));
    H5Gclose(d);
  }
  H5Gclose(g);
  PetscFunctionReturn(0);
}

/* Outputs of the model at its current theta on data (nlocal x out, copied into Z). */
static PetscErrorCode SpdOutputs(SpdMLP mlp, SpdData data, PetscReal Z[])
{
  const PetscReal *z;
  const PetscInt  *w;
  PetscInt         L;

  PetscFunctionBegin;
  PetscCall(SpdMLPGetArchitecture(mlp, &L, &w, NULL, NULL, NULL, NULL, NULL));
  PetscCall(SpdMLPSetPoint(mlp, data));
  PetscCall(SpdMLPGetOutputs(mlp, &z));
  PetscCall(PetscArraycpy(Z, z, (size_t)data->nlocal * w[L]));
  PetscFunctionReturn(0);
}

/* RMS over samples of ||Z1_i - Z0_i|| (summed over ranks). */
static PetscErrorCode SpdOutputChange(SpdData data, PetscInt out, const PetscReal Z0[], const PetscReal Z1[], PetscReal *rms)
{
  PetscReal s = 0;

  PetscFunctionBegin;
  for (size_t j = 0; j < (size_t)data->nlocal * out; j++) s += PetscSqr(Z1[j] - Z0[j]);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPIU_REAL, MPIU_SUM, data->comm));
  *rms = PetscSqrtReal(s / data->n);
  PetscFunctionReturn(0);
}

/* Train T steps from (theta_0 + s v, m = 0); theta_T into out. */
static PetscErrorCode SpdRetrain(SpdTrainer tr, const PetscReal theta0[], PetscReal s, const PetscReal v[], PetscInt P, PetscInt T, PetscReal work[])
{
  PetscFunctionBegin;
  for (PetscInt j = 0; j < P; j++) work[j] = theta0[j] + s * (v ? v[j] : 0);
  PetscCall(SpdTrainerSetState(tr, 0, work, NULL));
  for (PetscInt t = 0; t < T; t++) PetscCall(SpdTrainerStep(tr));
  PetscFunctionReturn(0);
}

/* x -= Q (Q^T x) for n orthonormal vectors Q (one reduction: VecMDot). */
static PetscErrorCode SpdOrthogonalize(Vec x, PetscInt n, Vec Q[], PetscScalar dots[])
{
  PetscFunctionBegin;
  if (n <= 0) PetscFunctionReturn(0);
  PetscCall(VecMDot(x, n, Q, dots));
  for (PetscInt i = 0; i < n; i++) dots[i] = -dots[i];
  PetscCall(VecMAXPY(x, n, dots, Q));
  PetscFunctionReturn(0);
}

/* Random unit vectors orthogonal to the columns in Q (nq vectors, orthonormal). */
static PetscErrorCode SpdBulkDirections(Vec tmpl, PetscInt nq, Vec Q[], PetscInt nb, PetscInt64 seed, Vec B[])
{
  PetscInt     rs, re, N;
  PetscScalar *dots;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(nq, nb) + 1, &dots));
  PetscCall(VecGetOwnershipRange(tmpl, &rs, &re));
  PetscCall(VecGetSize(tmpl, &N));
  for (PetscInt b = 0; b < nb; b++) {
    PetscScalar *a;
    PetscReal    nrm;
    PetscCall(VecDuplicate(tmpl, &B[b]));
    PetscCall(VecGetArray(B[b], &a));
    for (PetscInt j = rs; j < re; j++) {
      SpdRandom r;
      SpdRandomSeed(&r, seed, SPD_TAG_BULK, (PetscInt64)b * N + j); /* entry j of probe b */
      a[j - rs] = SpdRandomNormal(&r);
    }
    PetscCall(VecRestoreArray(B[b], &a));
    for (int pass = 0; pass < 2; pass++) { /* twice is enough (Giraud et al.) */
      PetscCall(SpdOrthogonalize(B[b], nq, Q, dots));
      PetscCall(SpdOrthogonalize(B[b], b, B, dots));
    }
    PetscCall(VecNormalize(B[b], &nrm));
  }
  PetscCall(PetscFree(dots));
  PetscFunctionReturn(0);
}

/* Dense J_T (P products with unit vectors; columns written into an MPIDENSE matrix with
   the operator's row layout) and every singular triplet by ScaLAPACK through SLEPc:
   exact region counts and the cosine u_i . v_i of every pair, for P small enough. */
typedef struct {
  PetscInt   n, count[3]; /* triplets; chaotic, bulk, stable */
  PetscReal *sigma, *cosine, bulk_cosine; /* mean u.v over the bulk */
  PetscInt   nprod;
  PetscInt   nbulk; /* right singular vectors with sigma closest to 1, for perturbations */
  Vec       *Vbulk; /* (taken over by SpdBulkCompute) */
} SpdDenseSpectrum;

static PetscErrorCode SpdDenseSpectrumCompute(Mat J, PetscReal eps, PetscInt nbulk, SpdDenseSpectrum *d)
{
  MPI_Comm comm = PetscObjectComm((PetscObject)J);
  Mat      D;
  Vec      x, y, u, v;
  SVD      svd;
  PetscInt P, mloc, nloc, lo, hi, nconv, nb = 0;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(d, sizeof(*d)));
  PetscCall(MatGetSize(J, &P, NULL));
  PetscCall(MatGetLocalSize(J, &mloc, &nloc));
  PetscCall(MatCreateVecs(J, &x, &y));
  PetscCall(MatCreateDense(comm, mloc, nloc, P, P, NULL, &D));
  PetscCall(VecGetOwnershipRange(x, &lo, &hi));
  for (PetscInt j = 0; j < P; j++) {
    Vec col;
    PetscCall(VecZeroEntries(x));
    if (j >= lo && j < hi) PetscCall(VecSetValue(x, j, 1.0, INSERT_VALUES));
    PetscCall(VecAssemblyBegin(x));
    PetscCall(VecAssemblyEnd(x));
    PetscCall(MatMult(J, x, y));
    PetscCall(MatDenseGetColumnVecWrite(D, j, &col));
    PetscCall(VecCopy(y, col));
    PetscCall(MatDenseRestoreColumnVecWrite(D, j, &col));
  }
  PetscCall(MatAssemblyBegin(D, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(D, MAT_FINAL_ASSEMBLY));
  d->nprod = P;
  PetscCall(SVDCreate(comm, &svd));
  PetscCall(SVDSetOperators(svd, D, NULL));
  PetscCall(SVDSetType(svd, SVDSCALAPACK));
  PetscCall(SVDSetDimensions(svd, P, PETSC_DEFAULT, PETSC_DEFAULT));
  PetscCall(SVDSetOptionsPrefix(svd, "tj_full_"));
  PetscCall(SVDSetFromOptions(svd));
  PetscCall(SVDSolve(svd));
  PetscCall(SVDGetConverged(svd, &nconv));
  PetscCheck(nconv == P, comm, PETSC_ERR_LIB, "The dense SVD of the %" PetscInt_FMT " x %" PetscInt_FMT " training Jacobian returned %" PetscInt_FMT " triplets", P, P, nconv);
  PetscCall(PetscMalloc2(P, &d->sigma, P, &d->cosine));
  PetscCall(MatCreateVecs(D, &v, &u));
  for (PetscInt i = 0; i < P; i++) {
    PetscScalar c;
    PetscCall(SVDGetSingularTriplet(svd, i, &d->sigma[i], u, v));
    PetscCall(VecDot(u, v, &c));
    d->cosine[i] = PetscRealPart(c);
    if (d->sigma[i] > 1 + eps)
      d->count[0]++;
    else if (d->sigma[i] >= 1 - eps) {
      d->count[1]++;
      d->bulk_cosine += d->cosine[i];
      nb++;
    } else
      d->count[2]++;
  }
  d->bulk_cosine = nb ? d->bulk_cosine / nb : (PetscReal)NAN;
  d->n           = P;
  if (nbulk > 0) { /* the nbulk singular values closest to 1 (selection by repeated minimum) */
    PetscBool *taken;
    d->nbulk = PetscMin(nbulk, P);
    PetscCall(PetscCalloc1(P, &taken));
    PetscCall(PetscMalloc1(d->nbulk, &d->Vbulk));
    for (PetscInt b = 0; b < d->nbulk; b++) {
      PetscInt  best = -1;
      PetscReal sb;
      for (PetscInt i = 0; i < P; i++)
        if (!taken[i] && (best < 0 || PetscAbsReal(d->sigma[i] - 1) < PetscAbsReal(d->sigma[best] - 1))) best = i;
      taken[best] = PETSC_TRUE;
      PetscCall(VecDuplicate(v, &d->Vbulk[b]));
      PetscCall(SVDGetSingularTriplet(svd, best, &sb, u, d->Vbulk[b]));
    }
    PetscCall(PetscFree(taken));
  }
  PetscCall(VecDestroy(&u));
  PetscCall(VecDestroy(&v));
  PetscCall(SVDDestroy(&svd));
  PetscCall(MatDestroy(&D));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdWriteDense(hid_t file, const SpdDenseSpectrum *d, PetscReal eps)
{
  hid_t   g;
  hsize_t n = (hsize_t)d->n, three = 3;

  PetscFunctionBegin;
  g = H5Gcreate2(file, "training_jacobian/full", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create group training_jacobian/full");
  PetscCall(SpdH5WriteReals(g, "sigma", 1, &n, d->sigma));
  PetscCall(SpdH5WriteReals(g, "cosine_uv", 1, &n, d->cosine));
  PetscCall(SpdH5WriteInts(g, "region_count", 1, &three, d->count));
  PetscCall(SpdH5WriteAttrReal(g, "bulk_mean_cosine_uv", d->bulk_cosine));
  PetscCall(SpdH5WriteAttrReal(g, "epsilon", eps));
  PetscCall(SpdH5WriteAttrInt(g, "products", d->nprod));
  PetscCall(SpdH5WriteAttrString(g, "method", "dense J_T from P products with unit vectors; all singular triplets by ScaLAPACK (SLEPc svd_type scalapack)"));
  H5Gclose(g);
  PetscFunctionReturn(0);
}

/* Directions of the bulk for the perturbation experiments: vectors v with J_T v ~ v, along
   which a perturbation of theta_0 passes through training unchanged. With the dense
   spectrum they are the right singular vectors whose sigma is closest to 1. Without it
   (P too large) they are the right singular vectors of J_T - I with the smallest singular
   values, from a matrix-free SLEPc solve on the shifted operator: ||(J_T - I) v|| = d
   small gives | ||J_T v|| - 1 | <= d and ||J_T v / ||J_T v|| - v|| <= 2d, so v is a bulk
   direction in the sense of the region (sigma within d of 1) and of the cosine (u ~ v).
   The smallest singular values of J_T - I cluster near 0 when the bulk is large, and
   triplets inside such a cluster hardly converge; but a right Ritz vector of Lanczos
   bidiagonalization already has ||(J_T - I) v|| equal to its Ritz value, so one with a
   Ritz value <= epsilon / 10 is accepted (SpdSVDNearNull). For every direction, one
   product gives ||J_T v||, cos(v, J_T v) and d, stored with the method. The vectors
   are taken over from the dense spectrum or the solve, not copied. */
typedef struct {
  PetscInt   n, nprod; /* directions; products of the solve (and of the checks) */
  Vec       *V;
  PetscReal *gain, *dist, *cosine; /* ||J_T v||, ||J_T v - v||, v . J_T v / ||J_T v|| */
  PetscInt  *in_bulk; /* |gain - 1| <= epsilon: inside the bulk region (the closest vectors
                         found may lie outside it when J_T has few sigma near 1) */
  PetscReal delta; /* acceptance threshold of SpdSVDNearNull (matrix-free) */
  PetscBool dense;
} SpdBulk;

static PetscErrorCode SpdBulkCompute(Mat J0, SpdDenseSpectrum *dense, PetscInt n, PetscReal eps, SpdBulk *b)
{
  Vec y;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(b, sizeof(*b)));
  if (n <= 0) PetscFunctionReturn(0);
  b->dense = dense->nbulk > 0 ? PETSC_TRUE : PETSC_FALSE;
  if (b->dense) {
    b->n         = dense->nbulk;
    b->V         = dense->Vbulk;
    dense->Vbulk = NULL;
    dense->nbulk = 0;
  } else {
    Mat         D;
    SpdTriplets t;
    PetscCall(SpdMatCreateCounting(J0, &D)); /* a MATSHELL: MatShift makes it J_T - I */
    PetscCall(MatShift(D, -1.0));
    b->delta = 0.1 * eps;
    PetscCall(SpdSVDNearNull(D, n, b->delta, "tj_bulk_", &t));
    b->nprod = t.nprod;
    b->n     = t.nconv;
    b->V     = t.V; /* t.V holds t.nconv vectors (NULL when none converged) */
    t.V      = NULL;
    PetscCall(SpdTripletsDestroy(&t));
    PetscCall(MatDestroy(&D));
  }
  PetscCall(PetscMalloc4(b->n + 1, &b->gain, b->n + 1, &b->dist, b->n + 1, &b->cosine, b->n + 1, &b->in_bulk));
  PetscCall(MatCreateVecs(J0, NULL, &y));
  for (PetscInt i = 0; i < b->n; i++) {
    PetscScalar c;
    PetscCall(MatMult(J0, b->V[i], y));
    PetscCall(VecNorm(y, NORM_2, &b->gain[i]));
    PetscCall(VecDot(y, b->V[i], &c));
    b->cosine[i] = b->gain[i] > 0 ? PetscRealPart(c) / b->gain[i] : (PetscReal)NAN;
    PetscCall(VecAXPY(y, -1.0, b->V[i]));
    PetscCall(VecNorm(y, NORM_2, &b->dist[i]));
    b->in_bulk[i] = PetscAbsReal(b->gain[i] - 1) <= eps ? 1 : 0;
  }
  b->nprod += b->n;
  PetscCall(VecDestroy(&y));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdBulkDestroy(SpdBulk *b)
{
  PetscFunctionBegin;
  if (b->V) PetscCall(VecDestroyVecs(b->n, &b->V));
  PetscCall(PetscFree4(b->gain, b->dist, b->cosine, b->in_bulk));
  PetscCall(PetscMemzero(b, sizeof(*b)));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdWriteBulk(hid_t file, const SpdBulk *b)
{
  hid_t   g;
  hsize_t n = (hsize_t)b->n;

  PetscFunctionBegin;
  g = H5Gcreate2(file, "training_jacobian/bulk", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create group training_jacobian/bulk");
  PetscCall(SpdH5WriteReals(g, "gain", 1, &n, b->gain));
  PetscCall(SpdH5WriteReals(g, "distance", 1, &n, b->dist));
  PetscCall(SpdH5WriteReals(g, "cosine", 1, &n, b->cosine));
  PetscCall(SpdH5WriteInts(g, "in_bulk", 1, &n, b->in_bulk));
  PetscCall(SpdH5WriteAttrInt(g, "products", b->nprod));
  if (!b->dense) PetscCall(SpdH5WriteAttrReal(g, "delta", b->delta));
  PetscCall(SpdH5WriteAttrString(g, "method", b->dense ? "dense: the right singular vectors of J_T with sigma closest to 1" : "matrix-free: right Ritz vectors of the bottom of J_T - I (SLEPc Lanczos bidiagonalization), accepted when ||(J_T - I) v|| <= delta = epsilon / 10 or converged"));
  PetscCall(SpdH5WriteAttrString(g, "columns", "gain = ||J_T v||, distance = ||J_T v - v||, cosine = v . J_T v / ||J_T v||, in_bulk = 1 when |gain - 1| <= epsilon (the bulk region)"));
  H5Gclose(g);
  PetscFunctionReturn(0);
}

/* Rank 0: the result file. */
static PetscErrorCode SpdWriteResults(const char path[], const SpdSpectra *sj, const SpdDenseSpectrum *dense, const SpdBulk *bulk, const SpdSpectra *sf, const SpdTrainJacSettings *s, PetscInt P, PetscInt T, PetscInt nprod, PetscReal tprod, PetscInt nb, const PetscReal bgain[], const PetscReal bcos[], PetscInt nrow, const PetscReal ptab[])
{
  hid_t          file, g;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(SpdH5CreateFile(path, &file));
  ierr = SpdWriteSpectra(file, "training_jacobian", sj, s->epsilon, P);
  if (!ierr) {
    g    = H5Gopen2(file, "training_jacobian", H5P_DEFAULT);
    ierr = SpdH5WriteAttrInt(g, "parameters", P);
    if (!ierr) ierr = SpdH5WriteAttrInt(g, "steps", T);
    if (!ierr) ierr = SpdH5WriteAttrInt(g, "snapshot_every", s->every);
    if (!ierr) ierr = SpdH5WriteAttrInt(g, "products", nprod);
    if (!ierr) ierr = SpdH5WriteAttrReal(g, "seconds_per_product", tprod);
    if (!ierr) ierr = SpdH5WriteAttrReal(g, "epsilon", s->epsilon);
    if (!ierr && nb) {
      hsize_t n = (hsize_t)nb;
      ierr      = SpdH5WriteReals(g, "bulk_probe_gain", 1, &n, bgain);
      if (!ierr) ierr = SpdH5WriteReals(g, "bulk_probe_cosine", 1, &n, bcos);
    }
    H5Gclose(g);
  }
  if (!ierr && dense->n) ierr = SpdWriteDense(file, dense, s->epsilon);
  if (!ierr && bulk->n) ierr = SpdWriteBulk(file, bulk);
  if (!ierr && sf) ierr = SpdWriteSpectra(file, "function_jacobian", sf, s->epsilon, P);
  if (!ierr && nrow) {
    hsize_t dims[2] = { (hsize_t)nrow, 6 };
    g               = H5Gcreate2(file, "perturbation", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ierr            = SpdH5WriteReals(g, "table", 2, dims, ptab);
    if (!ierr) ierr = SpdH5WriteAttrString(g, "columns", "region (0 chaotic: top singular vectors, 1 bulk: the directions of /training_jacobian/bulk, 2 stable: bottom), index, sigma (bulk directions from J_T - I: ||J_T v||), ||theta_T' - theta_T|| / scale, RMS output change on held-out data, RMS output change on white noise");
    if (!ierr) ierr = SpdH5WriteAttrReal(g, "scale", s->perturb_scale);
    if (!ierr) ierr = SpdH5WriteAttrInt(g, "ood_samples", s->ood);
    H5Gclose(g);
  }
  if (ierr) {
    PetscCall(SpdH5AbortFile(file, path));
    PetscCall(ierr);
  }
  PetscCall(SpdH5CommitFile(file, path));
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainingJacobianAnalyze - spectra of the training Jacobian of a run, its regions,
  the parameter-function Jacobian at theta_T, and perturbation experiments

  Collective

  Input Parameters:
+ tr    - the trainer at t = 0 (theta_0) with the run's configuration and data
. s     - what to compute (job key training_jacobian:)
. train - the training data (the function Jacobian is taken on it)
. test  - held-out data for the in-distribution output change (may be NULL: then the
          training data are used)
- path  - the HDF5 file to write (path.tmp until complete)

  Notes:
  The file's schema is in docs/results-format.md (training_jacobian.h5). The trainer is
  left at theta_0.
@*/
PetscErrorCode SpdTrainingJacobianAnalyze(SpdTrainer tr, const SpdTrainJacSettings *s, SpdData train, SpdData test, const char path[])
{
  const SpdTrainConfig *cfg;
  SpdMLP                mlp;
  Mat                   J0, J, F0 = NULL, F = NULL;
  MPI_Comm              comm;
  PetscMPIInt           rank;
  PetscInt              P, T, L, out, nprodJ, nprodJT, nb = 0, np = 0, nrow = 0;
  const PetscInt       *w;
  PetscReal            *theta, *theta0, *thetaT, *work, *vrep, *bgain = NULL, *bcos = NULL;
  SpdSpectra            sj, sf;
  SpdDenseSpectrum      dense;
  SpdBulk               bulk;
  Vec                  *B    = NULL;
  PetscReal            *ptab = NULL; /* rows: region, index, sigma, gain, rms_in, rms_ood */
  PetscLogDouble        t0, t1, tprod = 0;

  PetscFunctionBegin;
  PetscCall(SpdTrainerGetModel(tr, &mlp));
  PetscCall(SpdTrainerGetConfig(tr, &cfg));
  comm = train->comm;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(SpdMLPGetArchitecture(mlp, &L, &w, NULL, NULL, NULL, NULL, NULL));
  out = w[L];
  T   = cfg->steps;
  if (!test) test = train;
  PetscCall(SpdTrainerGetState(tr, NULL, &theta, NULL));
  PetscCall(PetscMalloc4(P, &theta0, P, &thetaT, P, &work, P, &vrep));
  PetscCall(PetscArraycpy(theta0, theta, P));

  /* J_T and its spectra */
  PetscCall(SpdMatCreateTrainingJacobian(tr, s->every, &J0));
  PetscCall(SpdMatCreateCounting(J0, &J));
  PetscCall(PetscTime(&t0));
  PetscCall(SpdSpectraCompute(J, s, "tj_", PETSC_TRUE, &sj));
  PetscCall(PetscTime(&t1));
  PetscCall(SpdMatCountingGetCounts(J, &nprodJ, &nprodJT));
  if (nprodJ + nprodJT) tprod = (t1 - t0) / (nprodJ + nprodJT);
  PetscCall(PetscMemzero(&dense, sizeof(dense)));
  if (s->full == SPD_FULL_YES || (s->full == SPD_FULL_AUTO && P <= s->full_max)) PetscCall(SpdDenseSpectrumCompute(J0, s->epsilon, s->perturb, &dense));
  PetscCall(SpdBulkCompute(J0, &dense, s->perturb, s->epsilon, &bulk));

  /* bulk probes: J_T v for random v orthogonal to the computed singular vectors */
  if (s->top || s->bottom) {
    Vec     *Q, x, y;
    PetscInt nq = sj.top.nconv + sj.bottom.nconv;
    nb          = PetscMax(4, s->perturb);
    PetscCall(PetscMalloc1(nq + 1, &Q));
    for (PetscInt i = 0; i < sj.top.nconv; i++) Q[i] = sj.top.V[i];
    for (PetscInt i = 0; i < sj.bottom.nconv; i++) Q[sj.top.nconv + i] = sj.bottom.V[i];
    PetscCall(MatCreateVecs(J, &x, &y));
    PetscCall(PetscMalloc1(nb, &B));
    PetscCall(SpdBulkDirections(x, nq, Q, nb, s->seed, B));
    PetscCall(PetscMalloc2(nb, &bgain, nb, &bcos));
    for (PetscInt b = 0; b < nb; b++) {
      PetscScalar d;
      PetscCall(MatMult(J, B[b], y));
      PetscCall(VecNorm(y, NORM_2, &bgain[b]));
      PetscCall(VecDot(y, B[b], &d));
      bcos[b] = bgain[b] > 0 ? PetscRealPart(d) / bgain[b] : (PetscReal)NAN;
    }
    PetscCall(VecDestroy(&x));
    PetscCall(VecDestroy(&y));
    PetscCall(PetscFree(Q));
  }

  /* theta_T, and the function Jacobian there */
  PetscCall(SpdRetrain(tr, theta0, 0, NULL, P, T, work));
  PetscCall(PetscArraycpy(thetaT, theta, P));
  PetscCall(PetscMemzero(&sf, sizeof(sf)));
  if (s->function_jacobian) {
    PetscCall(SpdMLPSetPoint(mlp, train));
    PetscCall(SpdMatCreateFunctionJacobian(mlp, &F0));
    PetscCall(SpdMatCreateCounting(F0, &F));
    PetscCall(SpdSpectraCompute(F, s, "fj_", PETSC_FALSE, &sf));
  }

  /* perturbation experiments */
  if (s->perturb) {
    SpdData    ood;
    PetscReal *Zin0, *Zood0, *Zin1, *Zood1;
    Vec        vt, vall;
    VecScatter toall;
    np = s->perturb;
    PetscCall(SpdDataWhiteNoise(train, s->ood, s->seed, &ood));
    PetscCall(PetscMalloc4((size_t)test->nlocal * out + 1, &Zin0, (size_t)ood->nlocal * out + 1, &Zood0, (size_t)test->nlocal * out + 1, &Zin1, (size_t)ood->nlocal * out + 1, &Zood1));
    PetscCall(SpdOutputs(mlp, test, Zin0));
    PetscCall(SpdOutputs(mlp, ood, Zood0));
    PetscCall(PetscCalloc1(3 * np * 6, &ptab));
    PetscCall(MatCreateVecs(J, &vt, NULL)); /* every direction has J's column layout */
    PetscCall(VecScatterCreateToAll(vt, &toall, &vall));
    for (PetscInt region = 0; region < 3; region++) {
      for (PetscInt i = 0; i < np; i++) {
        Vec       v     = NULL;
        PetscReal sigma = (PetscReal)NAN, dn = 0, *row = ptab + 6 * nrow;
        if (region == 0 && i < sj.top.nconv) v = sj.top.V[i], sigma = sj.top.sigma[i];
        if (region == 1 && i < bulk.n) v = bulk.V[i], sigma = bulk.gain[i]; /* ||J_T v||: sigma itself for a singular vector */
        if (region == 2 && i < sj.bottom.nconv) v = sj.bottom.V[i], sigma = sj.bottom.sigma[i];
        if (!v) continue;
        PetscCall(SpdVecGatherToAll(toall, v, vall, vrep));
        PetscCall(SpdRetrain(tr, theta0, s->perturb_scale, vrep, P, T, work));
        for (PetscInt j = 0; j < P; j++) dn += PetscSqr(theta[j] - thetaT[j]);
        row[0] = region;
        row[1] = i;
        row[2] = sigma;
        row[3] = PetscSqrtReal(dn) / s->perturb_scale;
        PetscCall(SpdOutputs(mlp, test, Zin1));
        PetscCall(SpdOutputs(mlp, ood, Zood1));
        PetscCall(SpdOutputChange(test, out, Zin0, Zin1, &row[4]));
        PetscCall(SpdOutputChange(ood, out, Zood0, Zood1, &row[5]));
        nrow++;
      }
    }
    PetscCall(VecScatterDestroy(&toall));
    PetscCall(VecDestroy(&vall));
    PetscCall(VecDestroy(&vt));
    PetscCall(PetscFree4(Zin0, Zood0, Zin1, Zood1));
    PetscCall(SpdDataDestroy(&ood));
  }
  PetscCall(SpdTrainerSetState(tr, 0, theta0, NULL)); /* leave the trainer at theta_0 */

  {
    char           msg[2048] = "";
    PetscErrorCode ierr      = 0;
    if (!rank) {
      PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
      ierr = SpdWriteResults(path, &sj, &dense, &bulk, s->function_jacobian ? &sf : NULL, s, P, T, nprodJ + nprodJT, tprod, nb, bgain, bcos, nrow, ptab);
      PetscCall(SpdErrorCapturePop());
    }
    PetscCallMPI(MPI_Bcast(&ierr, 1, MPI_INT, 0, comm));
    PetscCallMPI(MPI_Bcast(msg, sizeof(msg), MPI_CHAR, 0, comm));
    PetscCheck(!ierr, comm, PETSC_ERR_FILE_WRITE, "%s", msg);
  }

  for (PetscInt b = 0; B && b < nb; b++) PetscCall(VecDestroy(&B[b]));
  PetscCall(PetscFree(B));
  PetscCall(PetscFree2(bgain, bcos));
  PetscCall(PetscFree(ptab));
  PetscCall(SpdSpectraDestroy(&sj));
  PetscCall(PetscFree2(dense.sigma, dense.cosine));
  if (dense.Vbulk) PetscCall(VecDestroyVecs(dense.nbulk, &dense.Vbulk));
  PetscCall(SpdBulkDestroy(&bulk));
  PetscCall(SpdSpectraDestroy(&sf));
  PetscCall(MatDestroy(&F));
  PetscCall(MatDestroy(&F0));
  PetscCall(MatDestroy(&J));
  PetscCall(MatDestroy(&J0));
  PetscCall(PetscFree4(theta0, thetaT, work, vrep));
  PetscFunctionReturn(0);
}
