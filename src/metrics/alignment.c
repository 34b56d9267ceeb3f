/* Representational alignment of two representations of the same probe samples
   (docs/alignment.md).

   Everything is a function of the centered cross-products
     Sxx = Xc^T Xc (p x p),  Syy = Yc^T Yc (q x q),  Sxy = Xc^T Yc (p x q),
   each rank adding its rows with one dgemm and one Allreduce summing the three; the
   column means are reduced first (centering with the exact means avoids the cancellation
   of X^T X - n mu mu^T when the means are large, as they are after a ReLU).
     linear CKA (Kornblith, Norouzi, Lee, Hinton, ICML 2019): with K = Xc Xc^T, L = Yc Yc^T,
       HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) = ||Sxy||_F^2 / (||Sxx||_F ||Syy||_F);
     SVCCA (Raghu, Gilmer, Yosinski, Sohl-Dickstein, NeurIPS 2017): Sxx = V diag(lambda) V^T
       gives the principal components Xc V (variances lambda); keep the top kx (the fewest
       explaining svcca_var of sum lambda, or svcca_k); the reduced representations
       X' = Xc V_k and Y' = Yc W_k have X'^T X' = diag(lambda_k), so their canonical
       correlations are the singular values of
         diag(lambda_k)^{-1/2} V_k^T Sxy W_k diag(mu_k)^{-1/2}   (kx x ky),
       and SVCCA is their mean over min(kx, ky);
     Procrustes (Ding, Denain, Steinhardt, NeurIPS 2021, normalized to [0, 1]):
       min_Q ||A - B Q||_F^2 / 2 over orthogonal Q for A = Xc / ||Xc||_F, B = Yc / ||Yc||_F
       is 1 - ||A^T B||_* = 1 - ||Sxy||_* / sqrt(tr Sxx tr Syy). */
#include <specdyn/alignment.h>
#include <specdyn/sys.h>
#include <petscblaslapack.h>
#include <specdyn/private/blas.h>

typedef struct {
  PetscInt   n, p, q;
  PetscReal *S; /* Sxx (p x p) | Syy (q x q) | Sxy (p x q), column-major, one buffer */
} SpdCross;

static PetscErrorCode SpdCrossDestroy(SpdCross *c)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(c->S));
  PetscFunctionReturn(0);
}

/* The centered cross-products, summed over comm. Validates the arguments collectively. */
static PetscErrorCode SpdCrossCompute(MPI_Comm comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], SpdCross *c)
{
  PetscInt   dims[4] = { p, -p, q, -q }, gdims[4], bad = 0, gbad;
  PetscReal *mean, *Xc, *Yc;
  size_t     ns;

  PetscFunctionBegin;
  c->S = NULL;
  PetscCheck(nlocal >= 0 && p >= 1 && q >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Representations of %" PetscInt_FMT " local samples with %" PetscInt_FMT " and %" PetscInt_FMT " features: need nlocal >= 0 and at least one feature each", nlocal, p, q);
  PetscCallMPI(MPI_Allreduce(dims, gdims, 4, MPIU_INT, MPI_MAX, comm));
  PetscCheck(gdims[0] == -gdims[1] && gdims[2] == -gdims[3], comm, PETSC_ERR_ARG_INCOMP, "The ranks disagree on the widths of the representations (p from %" PetscInt_FMT " to %" PetscInt_FMT ", q from %" PetscInt_FMT " to %" PetscInt_FMT "); every rank must pass the same p and q", -gdims[1], gdims[0], -gdims[3], gdims[2]);
  for (PetscInt i = 0; i < nlocal * p && !bad; i++)
    if (PetscIsInfOrNanReal(X[i])) bad = 1;
  for (PetscInt i = 0; i < nlocal * q && !bad; i++)
    if (PetscIsInfOrNanReal(Y[i])) bad = 2;
  PetscCallMPI(MPI_Allreduce(&bad, &gbad, 1, MPIU_INT, MPI_MAX, comm));
  PetscCheck(!gbad, comm, PETSC_ERR_FP, "Representation %s holds NaN or Inf values; the model diverged or the probe data are bad", gbad == 1 ? "X" : "Y");

  /* column means (and n) */
  PetscCall(PetscCalloc1(p + q + 1, &mean));
  for (PetscInt i = 0; i < nlocal; i++) {
    for (PetscInt j = 0; j < p; j++) mean[j] += X[i * p + j];
    for (PetscInt j = 0; j < q; j++) mean[p + j] += Y[i * q + j];
  }
  mean[p + q] = (PetscReal)nlocal;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mean, (PetscMPIInt)(p + q + 1), MPIU_REAL, MPIU_SUM, comm));
  c->n = (PetscInt)mean[p + q];
  c->p = p;
  c->q = q;
  if (c->n < 2) {
    PetscCall(PetscFree(mean));
    SETERRQ(comm, PETSC_ERR_ARG_OUTOFRANGE, "Alignment of representations needs at least 2 probe samples over all ranks, got %" PetscInt_FMT, c->n);
  }
  for (PetscInt j = 0; j < p + q; j++) mean[j] /= (PetscReal)c->n;

  /* centered copies: row-major nlocal x p is the column-major p x nlocal matrix Xc^T */
  ns = (size_t)nlocal;
  PetscCall(PetscMalloc2(ns * p + 1, &Xc, ns * q + 1, &Yc));
  for (PetscInt i = 0; i < nlocal; i++) {
    for (PetscInt j = 0; j < p; j++) Xc[i * p + j] = X[i * p + j] - mean[j];
    for (PetscInt j = 0; j < q; j++) Yc[i * q + j] = Y[i * q + j] - mean[p + j];
  }
  PetscCall(PetscFree(mean));
  PetscCall(PetscCalloc1((size_t)p * p + (size_t)q * q + (size_t)p * q, &c->S));
  PetscCall(SpdGemm("N", "T", p, p, nlocal, 1.0, Xc, p, Xc, p, 0.0, c->S, p));
  PetscCall(SpdGemm("N", "T", q, q, nlocal, 1.0, Yc, q, Yc, q, 0.0, c->S + (size_t)p * p, q));
  PetscCall(SpdGemm("N", "T", p, q, nlocal, 1.0, Xc, p, Yc, q, 0.0, c->S + (size_t)p * p + (size_t)q * q, p));
  PetscCall(PetscFree2(Xc, Yc));
  {
    size_t      len = (size_t)p * p + (size_t)q * q + (size_t)p * q;
    PetscMPIInt mlen;

    PetscCall(PetscMPIIntCast((PetscInt)len, &mlen));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, c->S, mlen, MPIU_REAL, MPIU_SUM, comm));
  }
  PetscFunctionReturn(0);
}

/* Singular values (descending) of a column-major m x n matrix A (overwritten). */
static PetscErrorCode SpdAlignSingularValues(PetscInt m, PetscInt n, PetscReal A[], PetscReal s[])
{
  PetscBLASInt bm, bn, lwork, info, one = 1;
  PetscReal   *work, dummy;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(m, &bm));
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscBLASIntCast(5 * (m + n) + 64, &lwork));
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("N", "N", &bm, &bn, A, &bm, s, &dummy, &one, &dummy, &one, work, &lwork, &info));
  PetscCall(PetscFree(work));
  SpdCheckInfo("dgesvd", info);
  PetscFunctionReturn(0);
}

/* Eigenvalues (descending) and eigenvectors (columns, same order) of a symmetric p x p
   matrix A (overwritten by the eigenvectors). */
static PetscErrorCode SpdAlignSymEig(PetscInt p, PetscReal A[], PetscReal lambda[])
{
  PetscBLASInt bp, lwork, info;
  PetscReal   *work, t;

  PetscFunctionBegin;
  PetscCall(PetscBLASIntCast(p, &bp));
  PetscCall(PetscBLASIntCast(3 * p + 64, &lwork));
  PetscCall(PetscMalloc1(lwork, &work));
  PetscCallBLAS("LAPACKsyev", LAPACKsyev_("V", "U", &bp, A, &bp, lambda, work, &lwork, &info));
  PetscCall(PetscFree(work));
  SpdCheckInfo("dsyev", info);
  /* ascending -> descending */
  for (PetscInt i = 0; i < p / 2; i++) {
    PetscInt j = p - 1 - i;

    t         = lambda[i];
    lambda[i] = lambda[j];
    lambda[j] = t;
    for (PetscInt r = 0; r < p; r++) {
      t                    = A[(size_t)i * p + r];
      A[(size_t)i * p + r] = A[(size_t)j * p + r];
      A[(size_t)j * p + r] = t;
    }
  }
  PetscFunctionReturn(0);
}

/* How many top principal components SVCCA keeps of variances lambda (descending): never
   a direction of (numerically) zero variance, which cannot be whitened. */
static PetscInt SpdAlignKeep(PetscInt p, const PetscReal lambda[], PetscReal var, PetscInt kfix)
{
  PetscReal total = 0, tol = lambda[0] * 100.0 * (PetscReal)p * PETSC_MACHINE_EPSILON, cum = 0;
  PetscInt  rank = 0, k;

  for (PetscInt i = 0; i < p; i++) {
    if (lambda[i] > tol) rank++;
    if (lambda[i] > 0) total += lambda[i];
  }
  if (kfix > 0) return PetscMin(kfix, rank);
  for (k = 0; k < rank; k++) {
    cum += lambda[k];
    if (cum >= var * total) return k + 1;
  }
  return rank;
}

static PetscReal SpdAlignFrobenius(size_t len, const PetscReal a[])
{
  PetscReal s = 0;

  for (size_t i = 0; i < len; i++) s += a[i] * a[i];
  return PetscSqrtReal(s);
}

/*@C
  SpdAlignmentCompute - linear CKA, SVCCA and the Procrustes distance of two representations
  of the same probe samples

  Collective

  Input Parameters:
+ comm      - the ranks holding the probe samples
. nlocal    - this rank's samples (rows of X and Y)
. p, X      - the first representation: nlocal x p, row-major
. q, Y      - the second representation: nlocal x q, row-major (the same samples as X)
. svcca_var - SVCCA: fraction of the variance the kept principal components explain, in
              (0, 1] (SPD_SVCCA_VARIANCE = 0.99 in Raghu et al.)
- svcca_k   - SVCCA: > 0 keeps this many top components instead (at most the rank)

  Output Parameter:
. a - cka, svcca, procrustes, and the numbers of kept components kx, ky

  Notes:
  The samples are centered over all ranks; only p x p, q x q and p x q products are
  reduced. A representation without variance over the probes makes the measures NaN
  (kx or ky 0). Formulas in docs/alignment.md.

.seealso: `SpdAlignmentLinearCKA()`, `SpdAlignmentSVCCA()`, `SpdAlignmentProcrustes()`
@*/
PetscErrorCode SpdAlignmentCompute(MPI_Comm comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal svcca_var, PetscInt svcca_k, SpdAlignment *a)
{
  SpdCross   c;
  PetscReal *Sxx, *Syy, *Sxy, *lx, *ly, *T1, *T2, *s, fxx, fyy, fxy, trx = 0, try_ = 0, nuc = 0, sum = 0;
  PetscInt   kx, ky, kmin;

  PetscFunctionBegin;
  PetscCheck(svcca_k > 0 || (svcca_var > 0 && svcca_var <= 1), comm, PETSC_ERR_ARG_OUTOFRANGE, "SVCCA variance fraction %g must be in (0, 1] (0.99 keeps the components explaining 99%% of the variance), or give a number of components k > 0", (double)svcca_var);
  PetscCall(SpdCrossCompute(comm, nlocal, p, X, q, Y, &c));
  Sxx = c.S;
  Syy = c.S + (size_t)p * p;
  Sxy = Syy + (size_t)q * q;

  a->cka = a->svcca = a->procrustes = NAN;
  a->kx = a->ky = 0;
  fxx           = SpdAlignFrobenius((size_t)p * p, Sxx);
  fyy           = SpdAlignFrobenius((size_t)q * q, Syy);
  fxy           = SpdAlignFrobenius((size_t)p * q, Sxy);
  for (PetscInt i = 0; i < p; i++) trx += Sxx[i * (p + 1)];
  for (PetscInt i = 0; i < q; i++) try_ += Syy[i * (q + 1)];
  if (!(fxx > 0 && fyy > 0)) { /* a constant representation: nothing to compare */
    PetscCall(SpdCrossDestroy(&c));
    PetscFunctionReturn(0);
  }
  a->cka = PetscMin(1.0, (fxy / fxx) * (fxy / fyy));

  /* Procrustes: the nuclear norm of Sxy (a copy: the SVD overwrites it) */
  kmin = PetscMin(p, q);
  PetscCall(PetscMalloc3((size_t)p * q, &T1, (size_t)p * q, &T2, kmin + 1, &s));
  PetscCall(PetscArraycpy(T1, Sxy, (size_t)p * q));
  PetscCall(SpdAlignSingularValues(p, q, T1, s));
  for (PetscInt i = 0; i < kmin; i++) nuc += s[i];
  a->procrustes = PetscMax(0.0, 1.0 - nuc / PetscSqrtReal(trx * try_));

  /* SVCCA */
  PetscCall(PetscMalloc2(p, &lx, q, &ly));
  PetscCall(SpdAlignSymEig(p, Sxx, lx));
  PetscCall(SpdAlignSymEig(q, Syy, ly));
  kx    = SpdAlignKeep(p, lx, svcca_var, svcca_k);
  ky    = SpdAlignKeep(q, ly, svcca_var, svcca_k);
  a->kx = kx;
  a->ky = ky;
  if (kx > 0 && ky > 0) {
    /* T1 = V_k^T Sxy (kx x q), T2 = T1 W_k (kx x ky), then whiten rows and columns */
    PetscCall(SpdGemm("T", "N", kx, q, p, 1.0, Sxx, p, Sxy, p, 0.0, T1, kx));
    PetscCall(SpdGemm("N", "N", kx, ky, q, 1.0, T1, kx, Syy, q, 0.0, T2, kx));
    for (PetscInt j = 0; j < ky; j++)
      for (PetscInt i = 0; i < kx; i++) T2[(size_t)j * kx + i] /= PetscSqrtReal(lx[i] * ly[j]);
    kmin = PetscMin(kx, ky);
    PetscCall(SpdAlignSingularValues(kx, ky, T2, s));
    for (PetscInt i = 0; i < kmin; i++) sum += PetscMin(1.0, s[i]);
    a->svcca = sum / (PetscReal)kmin;
  }
  PetscCall(PetscFree2(lx, ly));
  PetscCall(PetscFree3(T1, T2, s));
  PetscCall(SpdCrossDestroy(&c));
  PetscFunctionReturn(0);
}

/*@C
  SpdAlignmentLinearCKA - linear centered kernel alignment of two representations

  Collective

  Input Parameters:
+ comm   - the ranks holding the probe samples
. nlocal - this rank's samples
. p, X   - nlocal x p, row-major
- q, Y   - nlocal x q, row-major

  Output Parameter:
. cka - ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) (NaN without variance)

.seealso: `SpdAlignmentCompute()`
@*/
PetscErrorCode SpdAlignmentLinearCKA(MPI_Comm comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal *cka)
{
  SpdAlignment a;

  PetscFunctionBegin;
  PetscCall(SpdAlignmentCompute(comm, nlocal, p, X, q, Y, SPD_SVCCA_VARIANCE, 0, &a));
  *cka = a.cka;
  PetscFunctionReturn(0);
}

/*@C
  SpdAlignmentSVCCA - mean canonical correlation of the top principal components of two
  representations (Raghu et al. 2017)

  Collective

  Input Parameters:
+ comm      - the ranks holding the probe samples
. nlocal    - this rank's samples
. p, X      - nlocal x p, row-major
. q, Y      - nlocal x q, row-major
. svcca_var - fraction of the variance kept, in (0, 1]
- svcca_k   - > 0: keep this many components instead

  Output Parameter:
. svcca - the mean of the min(kx, ky) canonical correlations

.seealso: `SpdAlignmentCompute()`
@*/
PetscErrorCode SpdAlignmentSVCCA(MPI_Comm comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal svcca_var, PetscInt svcca_k, PetscReal *svcca)
{
  SpdAlignment a;

  PetscFunctionBegin;
  PetscCall(SpdAlignmentCompute(comm, nlocal, p, X, q, Y, svcca_var, svcca_k, &a));
  *svcca = a.svcca;
  PetscFunctionReturn(0);
}

/*@C
  SpdAlignmentProcrustes - normalized orthogonal Procrustes distance of two representations

  Collective

  Input Parameters:
+ comm   - the ranks holding the probe samples
. nlocal - this rank's samples
. p, X   - nlocal x p, row-major
- q, Y   - nlocal x q, row-major

  Output Parameter:
. dist - 1 - ||Xc^T Yc||_* / (||Xc||_F ||Yc||_F), in [0, 1] (Ding et al. 2021 halved)

.seealso: `SpdAlignmentCompute()`
@*/
PetscErrorCode SpdAlignmentProcrustes(MPI_Comm comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal *dist)
{
  SpdAlignment a;

  PetscFunctionBegin;
  PetscCall(SpdAlignmentCompute(comm, nlocal, p, X, q, Y, SPD_SVCCA_VARIANCE, 0, &a));
  *dist = a.procrustes;
  PetscFunctionReturn(0);
}
