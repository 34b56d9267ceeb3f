/* Representational alignment of two representations of the same probe samples
   (docs/alignment.md).

   Everything is a function of the centered cross-products
     Sxx = Xc^T Xc (p x p),  Syy = Yc^T Yc (q x q),  Sxy = Xc^T Yc (p x q),
   each rank adding its rows with one dgemm and one Allreduce summing them; the column
   means are reduced first (centering with the exact means avoids the cancellation of
   X^T X - n mu mu^T when the means are large, as they are after a ReLU).
   What depends on one representation alone (its means, its centered rows, ||Sxx||_F,
   tr Sxx, the eigendecomposition of Sxx and the SVCCA components kept) is computed once
   by SpdAlignmentRepCreate(); a pair (SpdAlignmentComputeRep()) then only forms and
   reduces Sxy and its small dense factorizations, so that the M (M - 1) / 2 pairs of an
   ensemble cost M preparations, not M (M - 1).
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

struct _p_SpdAlignmentRep {
  MPI_Comm   comm;
  PetscInt   n, nlocal, p; /* samples over comm, on this rank; features */
  PetscReal  svcca_var; /* the settings the components kept were chosen with */
  PetscInt   svcca_k;
  PetscReal *Xc; /* centered rows: nlocal x p row-major = column-major p x nlocal Xc^T */
  PetscReal  fro, tr; /* ||Sxx||_F and tr Sxx */
  PetscReal *V, *lambda; /* eigenvectors (columns) and eigenvalues of Sxx, descending */
  PetscInt   k; /* SVCCA: principal components kept (0 without variance) */
};

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
  SpdAlignmentRepCreate - prepare one representation of the probe samples for alignment with
  others: what the measures need of it alone, computed once

  Collective

  Input Parameters:
+ comm      - the ranks holding the probe samples
. nlocal    - this rank's samples (rows of X)
. p, X      - the representation: nlocal x p, row-major (copied: X may be freed after)
. svcca_var - SVCCA: fraction of the variance the kept principal components explain, in
              (0, 1] (SPD_SVCCA_VARIANCE = 0.99 in Raghu et al.)
- svcca_k   - SVCCA: > 0 keeps this many top components instead (at most the rank)

  Output Parameter:
. rep - the column means removed (over all ranks), the centered rows kept, and
        Sxx = Xc^T Xc reduced over comm with its Frobenius norm, trace and
        eigendecomposition, and the number of SVCCA components kept

  Notes:
  The rows stay distributed: the means and the p x p product are reduced (two
  Allreduce of length p + 1 and p^2, after a check of the arguments); nothing of size n
  is gathered. Representations compared with SpdAlignmentComputeRep() must hold the same
  samples in the same order on the same ranks and be created with the same SVCCA settings.
  Errors: the ranks disagree on p, X holds NaN or Inf, fewer than 2 samples in all.

.seealso: `SpdAlignmentComputeRep()`, `SpdAlignmentRepDestroy()`, `SpdAlignmentCompute()`
@*/
PetscErrorCode SpdAlignmentRepCreate(MPI_Comm comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscReal svcca_var, PetscInt svcca_k, SpdAlignmentRep *rep)
{
  SpdAlignmentRep r;
  PetscInt        chk[3] = { p, -p, 0 }, gchk[3];
  PetscReal      *mean, *S;
  PetscInt64      n;

  PetscFunctionBegin;
  *rep = NULL;
  PetscCheck(svcca_k > 0 || (svcca_var > 0 && svcca_var <= 1), comm, PETSC_ERR_ARG_OUTOFRANGE, "SVCCA variance fraction %g must be in (0, 1] (0.99 keeps the components explaining 99%% of the variance), or give a number of components k > 0", (double)svcca_var);
  PetscCheck(nlocal >= 0 && p >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "A representation of %" PetscInt_FMT " local samples with %" PetscInt_FMT " features: need nlocal >= 0 and at least one feature", nlocal, p);
  for (PetscInt i = 0; i < nlocal * p && !chk[2]; i++)
    if (PetscIsInfOrNanReal(X[i])) chk[2] = 1;
  PetscCallMPI(MPI_Allreduce(chk, gchk, 3, MPIU_INT, MPI_MAX, comm));
  PetscCheck(gchk[0] == -gchk[1], comm, PETSC_ERR_ARG_INCOMP, "The ranks disagree on the width of a representation (p from %" PetscInt_FMT " to %" PetscInt_FMT "); every rank must pass the same p", -gchk[1], gchk[0]);
  PetscCheck(!gchk[2], comm, PETSC_ERR_FP, "A representation (%" PetscInt_FMT " features) holds NaN or Inf values; the model diverged or the probe data are bad", p);

  /* column means (and n) */
  PetscCall(PetscCalloc1(p + 1, &mean));
  for (PetscInt i = 0; i < nlocal; i++)
    for (PetscInt j = 0; j < p; j++) mean[j] += X[i * p + j];
  mean[p] = (PetscReal)nlocal;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mean, (PetscMPIInt)(p + 1), MPIU_REAL, MPIU_SUM, comm));
  n = (PetscInt64)mean[p];
  if (n < 2) {
    PetscCall(PetscFree(mean));
    SETERRQ(comm, PETSC_ERR_ARG_OUTOFRANGE, "Alignment of representations needs at least 2 probe samples over all ranks, got %" PetscInt64_FMT, n);
  }
  for (PetscInt j = 0; j < p; j++) mean[j] /= (PetscReal)n;

  PetscCall(PetscNew(&r));
  r->comm      = comm;
  r->n         = (PetscInt)n;
  r->nlocal    = nlocal;
  r->p         = p;
  r->svcca_var = svcca_var;
  r->svcca_k   = svcca_k;
  PetscCall(PetscMalloc1((size_t)nlocal * p + 1, &r->Xc));
  for (PetscInt i = 0; i < nlocal; i++)
    for (PetscInt j = 0; j < p; j++) r->Xc[i * p + j] = X[i * p + j] - mean[j];
  PetscCall(PetscFree(mean));

  /* Sxx, reduced; its norms, then its eigendecomposition in place (S becomes V) */
  PetscCall(PetscCalloc1((size_t)p * p, &S));
  PetscCall(SpdGemm("N", "T", p, p, nlocal, 1.0, r->Xc, p, r->Xc, p, 0.0, S, p));
  {
    PetscMPIInt mlen;

    PetscCall(PetscMPIIntCast(p * p, &mlen));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, S, mlen, MPIU_REAL, MPIU_SUM, comm));
  }
  r->fro = SpdAlignFrobenius((size_t)p * p, S);
  r->tr  = 0;
  for (PetscInt i = 0; i < p; i++) r->tr += S[i * (p + 1)];
  r->V = S;
  PetscCall(PetscMalloc1(p, &r->lambda));
  if (r->fro > 0) { /* else a constant representation: every measure with it is NaN */
    PetscCall(SpdAlignSymEig(p, r->V, r->lambda));
    r->k = SpdAlignKeep(p, r->lambda, svcca_var, svcca_k);
  }
  *rep = r;
  PetscFunctionReturn(0);
}

/*@C
  SpdAlignmentRepDestroy - free a prepared representation

  Not Collective

  Input Parameter:
. rep - the representation of SpdAlignmentRepCreate() (NULL on return; NULL is fine)

.seealso: `SpdAlignmentRepCreate()`
@*/
PetscErrorCode SpdAlignmentRepDestroy(SpdAlignmentRep *rep)
{
  PetscFunctionBegin;
  if (!rep || !*rep) PetscFunctionReturn(0);
  PetscCall(PetscFree((*rep)->Xc));
  PetscCall(PetscFree((*rep)->V));
  PetscCall(PetscFree((*rep)->lambda));
  PetscCall(PetscFree(*rep));
  PetscFunctionReturn(0);
}

/*@C
  SpdAlignmentComputeRep - linear CKA, SVCCA and the Procrustes distance of two prepared
  representations of the same probe samples

  Collective

  Input Parameters:
+ x - the first representation (SpdAlignmentRepCreate(), p features)
- y - the second (q features; the same samples on the same ranks, the same SVCCA settings;
      may be x itself)

  Output Parameter:
. a - cka, svcca, procrustes, and the numbers of kept components kx, ky

  Notes:
  Only the cross terms are computed: Sxy = Xc^T Yc (one dgemm on the local rows and one
  Allreduce of p q + 1 numbers), its singular values (Procrustes) and those of the whitened
  kx x ky block of the principal components (SVCCA). The numbers are those of
  SpdAlignmentCompute() on the raw matrices, which calls this. A representation without
  variance over the probes makes the measures NaN (kx = ky = 0).

.seealso: `SpdAlignmentRepCreate()`, `SpdAlignmentCompute()`
@*/
PetscErrorCode SpdAlignmentComputeRep(SpdAlignmentRep x, SpdAlignmentRep y, SpdAlignment *a)
{
  MPI_Comm   comm;
  PetscInt   p, q, kx, ky, kmin;
  PetscReal *Sxy, *T1, *T2, *s, fxy, nuc = 0, sum = 0;
  size_t     len;

  PetscFunctionBegin;
  PetscCheck(x && y, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdAlignmentComputeRep() needs two representations of SpdAlignmentRepCreate(), got %s", x ? "y = NULL" : "x = NULL");
  comm = x->comm;
  p    = x->p;
  q    = y->p;
  PetscCheck(x->n == y->n, comm, PETSC_ERR_ARG_INCOMP, "The representations hold %" PetscInt_FMT " and %" PetscInt_FMT " probe samples; alignment compares two representations of the same samples", x->n, y->n);
  PetscCheck(x->svcca_var == y->svcca_var && x->svcca_k == y->svcca_k, comm, PETSC_ERR_ARG_INCOMP, "The representations were prepared with different SVCCA settings (variance %g, k %" PetscInt_FMT " and variance %g, k %" PetscInt_FMT "); create both with the same", (double)x->svcca_var, x->svcca_k, (double)y->svcca_var, y->svcca_k);

  /* Sxy, reduced with a flag: a rank whose two representations split the samples
     differently makes every rank fail, rather than leave the others waiting */
  len = (size_t)p * q;
  PetscCall(PetscCalloc1(len + 1, &Sxy));
  if (x->nlocal == y->nlocal)
    PetscCall(SpdGemm("N", "T", p, q, x->nlocal, 1.0, x->Xc, p, y->Xc, q, 0.0, Sxy, p));
  else
    Sxy[len] = 1;
  {
    PetscMPIInt mlen;

    PetscCall(PetscMPIIntCast((PetscInt)(len + 1), &mlen));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, Sxy, mlen, MPIU_REAL, MPIU_SUM, comm));
  }
  if (Sxy[len] != 0) {
    PetscInt nbad = (PetscInt)Sxy[len];

    PetscCall(PetscFree(Sxy));
    SETERRQ(comm, PETSC_ERR_ARG_INCOMP, "The two representations split the %" PetscInt_FMT " probe samples differently over the ranks (on %" PetscInt_FMT " of them); create both from rows of the same samples on each rank", x->n, nbad);
  }

  a->cka = a->svcca = a->procrustes = NAN;
  a->kx = a->ky = 0;
  if (!(x->fro > 0 && y->fro > 0)) { /* a constant representation: nothing to compare */
    PetscCall(PetscFree(Sxy));
    PetscFunctionReturn(0);
  }
  fxy    = SpdAlignFrobenius(len, Sxy);
  a->cka = PetscMin(1.0, (fxy / x->fro) * (fxy / y->fro));

  /* Procrustes: the nuclear norm of Sxy (a copy: the SVD overwrites it) */
  kmin = PetscMin(p, q);
  PetscCall(PetscMalloc3(len, &T1, len, &T2, kmin + 1, &s));
  PetscCall(PetscArraycpy(T1, Sxy, len));
  PetscCall(SpdAlignSingularValues(p, q, T1, s));
  for (PetscInt i = 0; i < kmin; i++) nuc += s[i];
  a->procrustes = PetscMax(0.0, 1.0 - nuc / PetscSqrtReal(x->tr * y->tr));

  /* SVCCA */
  kx    = x->k;
  ky    = y->k;
  a->kx = kx;
  a->ky = ky;
  if (kx > 0 && ky > 0) {
    /* T1 = V_k^T Sxy (kx x q), T2 = T1 W_k (kx x ky), then whiten rows and columns */
    PetscCall(SpdGemm("T", "N", kx, q, p, 1.0, x->V, p, Sxy, p, 0.0, T1, kx));
    PetscCall(SpdGemm("N", "N", kx, ky, q, 1.0, T1, kx, y->V, q, 0.0, T2, kx));
    for (PetscInt j = 0; j < ky; j++)
      for (PetscInt i = 0; i < kx; i++) T2[(size_t)j * kx + i] /= PetscSqrtReal(x->lambda[i] * y->lambda[j]);
    kmin = PetscMin(kx, ky);
    PetscCall(SpdAlignSingularValues(kx, ky, T2, s));
    for (PetscInt i = 0; i < kmin; i++) sum += PetscMin(1.0, s[i]);
    a->svcca = sum / (PetscReal)kmin;
  }
  PetscCall(PetscFree3(T1, T2, s));
  PetscCall(PetscFree(Sxy));
  PetscFunctionReturn(0);
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
  (kx or ky 0). Formulas in docs/alignment.md. To compare many representations pairwise,
  prepare each once with SpdAlignmentRepCreate() and call SpdAlignmentComputeRep() per
  pair: this function is those two steps for one pair.

.seealso: `SpdAlignmentRepCreate()`, `SpdAlignmentComputeRep()`, `SpdAlignmentLinearCKA()`, `SpdAlignmentSVCCA()`, `SpdAlignmentProcrustes()`
@*/
PetscErrorCode SpdAlignmentCompute(MPI_Comm comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal svcca_var, PetscInt svcca_k, SpdAlignment *a)
{
  SpdAlignmentRep x = NULL, y = NULL;
  PetscErrorCode  ierr;

  PetscFunctionBegin;
  PetscCall(SpdAlignmentRepCreate(comm, nlocal, p, X, svcca_var, svcca_k, &x));
  ierr = SpdAlignmentRepCreate(comm, nlocal, q, Y, svcca_var, svcca_k, &y);
  if (!ierr) ierr = SpdAlignmentComputeRep(x, y, a);
  PetscCall(SpdAlignmentRepDestroy(&x)); /* also after an error in Y (e.g. NaN): no leak */
  PetscCall(SpdAlignmentRepDestroy(&y));
  PetscCall(ierr);
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
