/* Separation and alignment of the partial products of a layered Jacobian.

   For each depth l: the top-k singular triplets (sigma_i, u_i, v_i) of J_{l:1} and of
   J_{L:l+1} by SLEPc (SpdSVDExtreme on the matrix-free shells), the gaps
   log sigma_i - log sigma_{i+1} of J_{l:1}, and the k x k overlaps
   M[i][j] = v_i(J_{L:l+1}) . u_j(J_{l:1}) between the right singular vectors of the
   upper product and the left singular vectors of the lower one (both in R^{w_l}, with
   the gates G_l between them: J_{L:1} = J_{L:l+1} G_l J_{l:1}), with the cosines of the
   principal angles between the two top-k spaces (SpdPrincipalCosines). */
#include <specdyn/jacobian.h>
#include <specdyn/svd.h>
#include <specdyn/compare.h>
#include <petscblaslapack.h>
#include <math.h>

/* Top-k triplets of a small J_{l:k1} from its explicit matrix: LAPACK dgesvd on a
   replicated copy (identical on every rank), vectors distributed, residuals from products
   with the shell. Used when min(m, n) <= max(2k+16, 32), where SpdSVDExtreme's Krylov
   space would be the whole space: its one-sided Lanczos then stops with "Recurrence
   generated a zero vector" (SLEPc 3.18). */
static PetscErrorCode SpdJacobianSmallTriplets_Private(SpdJacobian J, PetscInt k1, PetscInt l1, PetscInt k, SpdTriplets *t)
{
  Mat              A, D, Ds;
  PetscInt         m, n, mn, lda, lo, hi;
  const PetscReal *a;
  PetscReal       *c, *sv, *U, *VT, *work;
  PetscBLASInt     bm, bn, bmn, lwork, info;
  Vec              u, v, Au, Atv;

  PetscFunctionBegin;
  PetscCall(SpdJacobianCreateDense(J, k1, l1, &D));
  PetscCall(MatGetSize(D, &m, &n));
  mn = PetscMin(m, n);
  k  = PetscMin(k, mn);
  PetscCall(MatCreateRedundantMatrix(D, 0, PETSC_COMM_SELF, MAT_INITIAL_MATRIX, &Ds));
  PetscCall(PetscBLASIntCast(m, &bm));
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscBLASIntCast(mn, &bmn));
  lwork = 5 * (bm + bn) + 64;
  PetscCall(PetscMalloc5((size_t)m * n, &c, mn, &sv, (size_t)m * mn, &U, (size_t)mn * n, &VT, lwork, &work));
  PetscCall(MatDenseGetLDA(Ds, &lda));
  PetscCall(MatDenseGetArrayRead(Ds, &a));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i < m; i++) c[i + j * m] = a[i + (size_t)j * lda];
  PetscCall(MatDenseRestoreArrayRead(Ds, &a));
  PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("S", "S", &bm, &bn, c, &bm, sv, U, &bm, VT, &bmn, work, &lwork, &info));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK dgesvd failed with info %d on J_{%" PetscInt_FMT ":%" PetscInt_FMT "} (%" PetscInt_FMT " x %" PetscInt_FMT ")", (int)info, l1, k1, m, n);

  PetscCall(PetscMemzero(t, sizeof(*t)));
  t->k = t->nconv = k;
  PetscCall(PetscMalloc3(k, &t->sigma, k, &t->residual, k, &t->converged));
  PetscCall(MatCreateVecs(D, &v, &u));
  PetscCall(VecDuplicateVecs(u, k, &t->U));
  PetscCall(VecDuplicateVecs(v, k, &t->V));
  PetscCall(VecDuplicate(u, &Au));
  PetscCall(VecDuplicate(v, &Atv));
  PetscCall(SpdJacobianCreateMat(J, k1, l1, &A));
  for (PetscInt i = 0; i < k; i++) {
    PetscReal *x, r1, r2;
    t->sigma[i]     = sv[i];
    t->converged[i] = PETSC_TRUE;
    PetscCall(VecGetOwnershipRange(t->U[i], &lo, &hi));
    PetscCall(VecGetArrayWrite(t->U[i], &x));
    for (PetscInt r = lo; r < hi; r++) x[r - lo] = U[r + (size_t)i * m];
    PetscCall(VecRestoreArrayWrite(t->U[i], &x));
    PetscCall(VecGetOwnershipRange(t->V[i], &lo, &hi));
    PetscCall(VecGetArrayWrite(t->V[i], &x));
    for (PetscInt r = lo; r < hi; r++) x[r - lo] = VT[i + (size_t)r * mn];
    PetscCall(VecRestoreArrayWrite(t->V[i], &x));
    PetscCall(MatMult(A, t->V[i], Au));
    PetscCall(VecAXPY(Au, -sv[i], t->U[i]));
    PetscCall(MatMultTranspose(A, t->U[i], Atv));
    PetscCall(VecAXPY(Atv, -sv[i], t->V[i]));
    PetscCall(VecNorm(Au, NORM_2, &r1));
    PetscCall(VecNorm(Atv, NORM_2, &r2));
    t->residual[i] = PetscSqrtReal(r1 * r1 + r2 * r2);
  }
  t->nprod   = n + 2 * k; /* forming the matrix (one block product per column) and the residuals */
  t->npasses = t->nprod;
  PetscCall(PetscStrncpy(t->solver, "lapack-dense", sizeof(t->solver)));
  PetscCall(MatDestroy(&A));
  PetscCall(VecDestroy(&u));
  PetscCall(VecDestroy(&v));
  PetscCall(VecDestroy(&Au));
  PetscCall(VecDestroy(&Atv));
  PetscCall(PetscFree5(c, sv, U, VT, work));
  PetscCall(MatDestroy(&Ds));
  PetscCall(MatDestroy(&D));
  PetscFunctionReturn(0);
}

/* Top-k triplets of J_{l1:k1}: SLEPc on the shell, or LAPACK when the operator is small. */
static PetscErrorCode SpdJacobianTopTriplets_Private(SpdJacobian J, PetscInt k1, PetscInt l1, PetscInt k, const char prefix[], SpdTriplets *t)
{
  const PetscInt *w;
  Mat             A;

  PetscFunctionBegin;
  PetscCall(SpdJacobianGetSizes(J, NULL, &w));
  if (PetscMin(w[l1], w[k1 - 1]) <= PetscMax(2 * k + 16, 32)) {
    PetscCall(SpdJacobianSmallTriplets_Private(J, k1, l1, k, t));
    PetscFunctionReturn(0);
  }
  PetscCall(SpdJacobianCreateMat(J, k1, l1, &A));
  PetscCall(SpdSVDExtreme(A, SPD_SVD_TOP, k, PETSC_TRUE, prefix, t));
  PetscCall(MatDestroy(&A));
  PetscFunctionReturn(0);
}

/* The body of SpdJacobianSpectraCompute(). */
static PetscErrorCode SpdJacobianSpectraCompute_Private(SpdJacobian J, PetscInt k, PetscInt ndepth, const PetscInt depth[], const char prefix[], SpdJacobianSpectra *s)
{
  PetscInt        L, wmin = PETSC_MAX_INT;
  const PetscInt *w;
  MPI_Comm        comm;
  PetscReal      *M, *cs;

  PetscFunctionBegin;
  PetscCall(SpdJacobianGetSizes(J, &L, &w));
  PetscCall(PetscMemzero(s, sizeof(*s)));
  {
    Vec v;
    PetscCall(SpdJacobianCreateVec(J, 0, &v));
    PetscCall(PetscObjectGetComm((PetscObject)v, &comm));
    PetscCall(VecDestroy(&v));
  }
  for (PetscInt j = 0; j <= L; j++) wmin = PetscMin(wmin, w[j]);
  PetscCheck(k >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianSpectraCompute: k = %" PetscInt_FMT " singular triplets requested; ask for at least 1", k);
  k = PetscMin(k, wmin);
  if (!depth) ndepth = L;
  PetscCheck(ndepth >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianSpectraCompute: %" PetscInt_FMT " depths given; give at least one, or NULL for all", ndepth);
  for (PetscInt d = 0; depth && d < ndepth; d++) PetscCheck(depth[d] >= 1 && depth[d] <= L, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianSpectraCompute: depth %" PetscInt_FMT " is outside 1..%" PetscInt_FMT, depth[d], L);
  s->ndepth = ndepth;
  s->k      = k;
  s->L      = L;
  PetscCall(PetscMalloc4(ndepth, &s->depth, (size_t)ndepth * k, &s->logsigma, (size_t)ndepth * k, &s->residual, (size_t)ndepth * PetscMax(k - 1, 1), &s->gap));
  PetscCall(PetscMalloc3((size_t)ndepth * k, &s->logsigma_rest, (size_t)ndepth * k * k, &s->overlap, (size_t)ndepth * k, &s->cosines));
  PetscCall(PetscMalloc2((size_t)k * k, &M, k, &cs));
  for (PetscInt d = 0; d < ndepth; d++) {
    PetscInt    l = depth ? depth[d] : d + 1;
    SpdTriplets lo, up;

    s->depth[d] = l;
    PetscCall(SpdJacobianTopTriplets_Private(J, 1, l, k, prefix, &lo));
    if (lo.nprod > 0) s->nprod += lo.nprod;
    for (PetscInt i = 0; i < k; i++) {
      PetscBool ok           = i < lo.nconv ? PETSC_TRUE : PETSC_FALSE;
      s->logsigma[d * k + i] = ok ? (lo.sigma[i] > 0 ? PetscLogReal(lo.sigma[i]) : -PETSC_INFINITY) : (PetscReal)NAN;
      s->residual[d * k + i] = ok ? lo.residual[i] : (PetscReal)NAN;
    }
    for (PetscInt i = 0; i + 1 < k; i++) s->gap[d * (k - 1) + i] = s->logsigma[d * k + i] - s->logsigma[d * k + i + 1];
    for (PetscInt i = 0; i < k * k; i++) s->overlap[(size_t)d * k * k + i] = (PetscReal)NAN;
    for (PetscInt i = 0; i < k; i++) s->cosines[d * k + i] = s->logsigma_rest[d * k + i] = (PetscReal)NAN;
    if (l < L) {
      PetscInt nu = lo.nconv, nv;
      PetscCall(SpdJacobianTopTriplets_Private(J, l + 1, L, k, prefix, &up));
      if (up.nprod > 0) s->nprod += up.nprod;
      nv = up.nconv;
      for (PetscInt i = 0; i < nv; i++) s->logsigma_rest[d * k + i] = up.sigma[i] > 0 ? PetscLogReal(up.sigma[i]) : -PETSC_INFINITY;
      for (PetscInt i = 0; i < nv && nu > 0; i++) {
        PetscCall(VecMDot(up.V[i], nu, lo.U, M + i * nu));
        for (PetscInt j = 0; j < nu; j++) s->overlap[(size_t)d * k * k + i * k + j] = M[i * nu + j];
      }
      if (nu > 0 && nv > 0) {
        PetscCall(SpdPrincipalCosines(nv, nu, M, cs));
        for (PetscInt i = 0; i < PetscMin(nu, nv); i++) s->cosines[d * k + i] = cs[i];
      }
      PetscCall(SpdTripletsDestroy(&up));
    }
    PetscCall(SpdTripletsDestroy(&lo));
  }
  PetscCall(PetscFree2(M, cs));
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianSpectraCompute - depth profile of singular values, gaps and alignment

  Collective

  Input Parameters:
+ J      - the layered product
. k      - number of singular triplets per product (clamped to the smallest width)
. ndepth - number of depths, and depth[] the depths l in 1..L; NULL: every l = 1..L
- prefix - options prefix of the SVD solves (e.g. "jacobian_"), or NULL

  Output Parameter:
. s - the profile; release with SpdJacobianSpectraDestroy()

  Notes:
  Two SVD solves per depth (one at l = L), each product with J_{l:1} costing l layer
  products. Products whose smaller side is at most max(2k+16, 32) are formed explicitly
  (SpdJacobianCreateDense) and decomposed by LAPACK on every rank (SLEPc's Krylov space
  would be the whole space there); residuals are computed with the shell either way.
  Unconverged triplets give NaN in logsigma, residual, overlap and cosines; sigma = 0
  gives -inf.

.seealso: `SpdJacobianCreateMat()`, `SpdSVDExtreme()`, `SpdPrincipalCosines()`
@*/
PetscErrorCode SpdJacobianSpectraCompute(SpdJacobian J, PetscInt k, PetscInt ndepth, const PetscInt depth[], const char prefix[], SpdJacobianSpectra *s)
{
  PetscFunctionBegin;
  PetscCall(SpdJacobianSpectraCompute_Private(J, k, ndepth, depth, prefix, s));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdJacobianSpectraDestroy(SpdJacobianSpectra *s)
{
  PetscFunctionBegin;
  if (!s || !s->depth) PetscFunctionReturn(0);
  PetscCall(PetscFree4(s->depth, s->logsigma, s->residual, s->gap));
  PetscCall(PetscFree3(s->logsigma_rest, s->overlap, s->cosines));
  PetscCall(PetscMemzero(s, sizeof(*s)));
  PetscFunctionReturn(0);
}
