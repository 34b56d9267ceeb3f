/* Top-k singular triplets by block Lanczos bidiagonalization with thick restart.

   Why: single-vector Lanczos reads the whole operator once per product. For a stored
   matrix the products are bound by memory bandwidth, and a pass over the matrix with b
   vectors at once (SpdMatMultBlock) can cost little more than a pass with one: with the
   float32 operator's kernels a 2-vector pass costs 1-1.3 single-vector passes and a
   4-vector pass ~1.1-1.5 (the AVX2 kernels of gemvavx2.c; 2.2 with the portable ones). The
   price is more products for the same accuracy, but fewer passes: top-16 of bench row 7
   (a low-rank signal over noise) in 42 passes instead of trlanczos's 134, of an 8192^2
   Gaussian (a clustered top) in 266 instead of 694. So SpdSVDExtreme uses it by default
   with b = SpdMatGetBlockWidth(A) when that is above 1 (float32 storage larger than the
   caches, on AVX2 CPUs; -spd_svd_block b chooses).

   Algorithm (block Golub-Kahan-Lanczos with full reorthogonalization): orthonormal bases
   U (m x ncv) and V (n x ncv + b) grow by blocks of b columns,

       A V_j = orthogonalized against U_1..U_{j-1}  ->  U_j,
       A^T U_j = orthogonalized against V_1..V_j     ->  V_{j+1},

   each new column orthogonalized against all previous ones (classical Gram-Schmidt with
   selective reorthogonalization, SLEPc BVOrthogonalizeColumn). The coefficients give
   B = U^T A V exactly (A V = U B, B upper triangular) and A^T U = V B^T + V_{j+1} F E_j^T,
   F the b x b coefficients of the last block on V_{j+1}. With B = Y S Z^T (LAPACK dgesvd,
   computed on rank 0 and broadcast so that every rank takes the same decisions), the
   Ritz triplets (s_i, U y_i, V z_i) satisfy A v_i = s_i u_i and
   ||A^T u_i - s_i v_i|| = ||F (last b entries of y_i)||: the convergence test costs no
   product. When the basis is full, the p = max(k, ncv / 2) leading Ritz vectors are kept
   (V <- V Z_p, U <- U Y_p, B <- diag(s_1..s_p)), the pending block V_{j+1} follows them,
   and its products fill the coupling column of B; the relations above stay exact.
   A new column that is numerically dependent (an invariant subspace was found) is
   replaced by a random vector orthogonal to the basis, with a zero coefficient in B.
   The residual norms of the Ritz triplets are explicit without further passes over A:
   the products A V and A^T U are kept as they come (and rotated at restarts like V and
   U), so A v_i = (A V) z_i and A^T u_i = (A^T U) y_i, equal to the products of the Ritz
   vectors up to the rounding of the combination.

   References: G. H. Golub, F. T. Luk, M. L. Overton, A block Lanczos method for computing
   the singular values and corresponding singular vectors of a matrix, ACM TOMS 7 (1981)
   149-169; J. Baglama, L. Reichel, Augmented implicitly restarted Lanczos
   bidiagonalization methods, SISC 27 (2005) 19-42 (thick restart of the bidiagonal form). */
#include <specdyn/private/svdimpl.h>
#include <specdyn/operator.h>
#include <slepcbv.h>
#include <petscblaslapack.h>

/* X[0..b) become columns [s, s + b) of W: each orthogonalized against W's columns before
   it, then normalized; H[i + c * ldh] (i < s + c) receives the coefficients of X[c],
   H[s + c + c * ldh] its norm (0 for a dependent column, then replaced by a random unit
   vector orthogonal to the rest). */
static PetscErrorCode SpdBlockOrthogonalize_Private(BV W, PetscInt s, PetscInt b, Vec X[], PetscScalar *h, PetscReal H[], PetscInt ldh)
{
  PetscFunctionBegin;
  for (PetscInt c = 0; c < b; c++) {
    PetscReal nrm;
    PetscBool lindep;

    PetscCall(BVInsertVec(W, s + c, X[c]));
    PetscCall(BVOrthogonalizeColumn(W, s + c, h, &nrm, &lindep));
    for (PetscInt i = 0; i < s + c; i++) H[i + c * ldh] = PetscRealPart(h[i]);
    if (lindep || nrm == 0) {
      PetscCall(BVSetRandomColumn(W, s + c));
      PetscCall(BVOrthogonalizeColumn(W, s + c, h, &nrm, &lindep));
      PetscCheck(!lindep && nrm > 0, PetscObjectComm((PetscObject)W), PETSC_ERR_CONV_FAILED, "SpdSVDBlockLanczos: cannot extend the basis beyond %" PetscInt_FMT " columns", s + c);
      PetscCall(BVScaleColumn(W, s + c, 1.0 / nrm));
      H[s + c + c * ldh] = 0.0;
    } else {
      PetscCall(BVScaleColumn(W, s + c, 1.0 / nrm));
      H[s + c + c * ldh] = nrm;
    }
  }
  PetscFunctionReturn(0);
}

/* B (n x n, leading dimension ld) = Y diag(s) Z^T on rank 0 of comm, broadcast: s
   descending, Y and Z n x n column-major with leading dimension n. */
static PetscErrorCode SpdBlockProjectedSVD_Private(MPI_Comm comm, PetscInt n, const PetscReal B[], PetscInt ld, PetscReal s[], PetscReal Y[], PetscReal Z[])
{
  PetscMPIInt rank;
  PetscInt    nn = n * n;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    PetscBLASInt bn, lwork, info;
    PetscReal   *a, *zt, *work, wq;

    PetscCall(PetscBLASIntCast(n, &bn));
    PetscCall(PetscMalloc2(nn, &a, nn, &zt));
    for (PetscInt j = 0; j < n; j++)
      for (PetscInt i = 0; i < n; i++) a[i + j * n] = B[i + j * ld];
    lwork = -1;
    PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("A", "A", &bn, &bn, a, &bn, s, Y, &bn, zt, &bn, &wq, &lwork, &info));
    PetscCall(PetscBLASIntCast((PetscInt)wq, &lwork));
    PetscCall(PetscMalloc1(lwork, &work));
    for (PetscInt j = 0; j < n; j++)
      for (PetscInt i = 0; i < n; i++) a[i + j * n] = B[i + j * ld];
    PetscCallBLAS("LAPACKgesvd", LAPACKgesvd_("A", "A", &bn, &bn, a, &bn, s, Y, &bn, zt, &bn, work, &lwork, &info));
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "SpdSVDBlockLanczos: LAPACK dgesvd of the %" PetscInt_FMT " x %" PetscInt_FMT " projected matrix returned info = %d", n, n, (int)info);
    for (PetscInt j = 0; j < n; j++)
      for (PetscInt i = 0; i < n; i++) Z[i + j * n] = zt[j + i * n];
    PetscCall(PetscFree(work));
    PetscCall(PetscFree2(a, zt));
  }
  PetscCallMPI(MPI_Bcast(s, (PetscMPIInt)n, MPIU_REAL, 0, comm));
  PetscCallMPI(MPI_Bcast(Y, (PetscMPIInt)nn, MPIU_REAL, 0, comm));
  PetscCallMPI(MPI_Bcast(Z, (PetscMPIInt)nn, MPIU_REAL, 0, comm));
  PetscFunctionReturn(0);
}

/* W(:, 0:p) = W(:, 0:nu) Q(0:nu, 0:p), Q n x n column-major (ld n). */
static PetscErrorCode SpdBlockRotate_Private(BV W, PetscInt nu, PetscInt p, const PetscReal Q[], PetscInt ncv)
{
  Mat          M;
  PetscScalar *m;

  PetscFunctionBegin;
  PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, ncv, ncv, NULL, &M));
  PetscCall(MatDenseGetArrayWrite(M, &m));
  PetscCall(PetscArrayzero(m, (size_t)ncv * ncv));
  for (PetscInt j = 0; j < p; j++)
    for (PetscInt i = 0; i < nu; i++) m[i + j * ncv] = Q[i + j * nu];
  PetscCall(MatDenseRestoreArrayWrite(M, &m));
  PetscCall(BVSetActiveColumns(W, 0, nu));
  PetscCall(BVMultInPlace(W, M, 0, p));
  PetscCall(MatDestroy(&M));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdSVDBlockLanczos_Private(Mat A, PetscInt k, PetscInt b, PetscInt ncv, PetscReal tol, PetscInt maxit, SpdBlockResult *r)
{
  MPI_Comm     comm;
  PetscInt     M, N, nu = 0, ldb, p, nconv = 0;
  BV           U, V, AV, AtU; /* bases, and the products A V (m x ncv), A^T U (n x ncv) */
  Vec          u, v, *X, *Y;
  PetscReal   *B, *F, *s, *Yq, *Zq, *Hc;
  PetscScalar *h;
  PetscRandom  rnd;

  PetscFunctionBegin;
  PetscCall(PetscObjectGetComm((PetscObject)A, &comm));
  PetscCall(MatGetSize(A, &M, &N));
  PetscCheck(b >= 1 && k >= 1 && ncv % b == 0 && ncv >= k + b && ncv <= M && ncv + b <= N, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdSVDBlockLanczos: block %" PetscInt_FMT ", k %" PetscInt_FMT ", ncv %" PetscInt_FMT " do not fit a %" PetscInt_FMT " x %" PetscInt_FMT " matrix", b, k, ncv, M, N);
  PetscCall(PetscMemzero(r, sizeof(*r)));
  ldb = ncv;
  PetscCall(MatCreateVecs(A, &v, &u));
  PetscCall(BVCreate(comm, &U));
  PetscCall(BVSetSizesFromVec(U, u, ncv));
  PetscCall(BVSetType(U, BVSVEC));
  PetscCall(BVCreate(comm, &V));
  PetscCall(BVSetSizesFromVec(V, v, ncv + b));
  PetscCall(BVSetType(V, BVSVEC));
  PetscCall(BVDuplicate(U, &AV));
  PetscCall(BVCreate(comm, &AtU));
  PetscCall(BVSetSizesFromVec(AtU, v, ncv));
  PetscCall(BVSetType(AtU, BVSVEC));
  PetscCall(PetscRandomCreate(comm, &rnd));
  PetscCall(PetscRandomSetSeed(rnd, 0x5bd1e995));
  PetscCall(PetscRandomSeed(rnd));
  PetscCall(BVSetRandomContext(U, rnd));
  PetscCall(BVSetRandomContext(V, rnd));
  PetscCall(VecDuplicateVecs(u, b, &Y));
  PetscCall(VecDuplicateVecs(v, b, &X));
  PetscCall(PetscCalloc6((size_t)ldb * ldb, &B, (size_t)b * b, &F, ncv, &s, (size_t)ncv * ncv, &Yq, (size_t)ncv * ncv, &Zq, (size_t)(ncv + b) * b, &Hc));
  PetscCall(PetscMalloc1(ncv + b + 1, &h));
  PetscCall(PetscMalloc3(k, &r->sigma, k, &r->estimate, k, &r->residual));

  /* the first block of V: random, orthonormal */
  for (PetscInt c = 0; c < b; c++) PetscCall(VecSetRandom(X[c], rnd));
  PetscCall(SpdBlockOrthogonalize_Private(V, 0, b, X, h, Hc, ncv + b));
  for (r->its = 1;; r->its++) {
    while (nu + b <= ncv) {
      /* U block nu..nu+b-1 from A V(:, nu:nu+b) */
      for (PetscInt c = 0; c < b; c++) PetscCall(BVCopyVec(V, nu + c, X[c]));
      PetscCall(SpdMatMultBlock(A, b, (const Vec *)X, Y));
      r->nprod += b;
      for (PetscInt c = 0; c < b; c++) PetscCall(BVInsertVec(AV, nu + c, Y[c]));
      PetscCall(SpdBlockOrthogonalize_Private(U, nu, b, Y, h, Hc, ncv + b));
      for (PetscInt c = 0; c < b; c++)
        for (PetscInt i = 0; i <= nu + c; i++) B[i + (nu + c) * ldb] = Hc[i + c * (ncv + b)];
      nu += b;
      /* the next V block from A^T U(:, nu-b:nu); F: its coefficients on that block */
      for (PetscInt c = 0; c < b; c++) PetscCall(BVCopyVec(U, nu - b + c, Y[c]));
      PetscCall(SpdMatMultTransposeBlock(A, b, (const Vec *)Y, X));
      r->nprod += b;
      for (PetscInt c = 0; c < b; c++) PetscCall(BVInsertVec(AtU, nu - b + c, X[c]));
      PetscCall(SpdBlockOrthogonalize_Private(V, nu, b, X, h, Hc, ncv + b));
      for (PetscInt c = 0; c < b; c++)
        for (PetscInt i = 0; i < b; i++) F[i + c * b] = i <= c ? Hc[nu + i + c * (ncv + b)] : 0.0;

      /* Rayleigh-Ritz; ||A^T u_i - s_i v_i|| = ||F y_i(nu-b:nu)||, from rank 0's F and SVD
         so that every rank stops and restarts at the same step */
      PetscCall(SpdBlockProjectedSVD_Private(comm, nu, B, ldb, s, Yq, Zq));
      PetscCallMPI(MPI_Bcast(F, (PetscMPIInt)(b * b), MPIU_REAL, 0, comm));
      nconv = 0;
      for (PetscInt i = 0; i < PetscMin(k, nu); i++) { /* nconv: the leading run that passes */
        PetscReal e = 0;
        for (PetscInt a = 0; a < b; a++) {
          PetscReal fy = 0;
          for (PetscInt c = a; c < b; c++) fy += F[a + c * b] * Yq[nu - b + c + i * nu];
          e += fy * fy;
        }
        e              = PetscSqrtReal(e);
        r->sigma[i]    = s[i];
        r->estimate[i] = e;
        if (e <= tol * s[i] && nconv == i) nconv++;
      }
      if (nconv >= k) break;
    }
    if (nconv >= k || r->its >= maxit) break;
    /* thick restart: keep the p leading Ritz vectors, the pending V block follows them */
    p = PetscMax(k, ((ncv / 2) / b) * b);
    p = PetscMin(p, ncv - b);
    PetscCall(SpdBlockRotate_Private(V, nu, p, Zq, ncv));
    PetscCall(SpdBlockRotate_Private(U, nu, p, Yq, ncv));
    PetscCall(SpdBlockRotate_Private(AV, nu, p, Zq, ncv));
    PetscCall(SpdBlockRotate_Private(AtU, nu, p, Yq, ncv));
    for (PetscInt c = 0; c < b; c++) PetscCall(BVCopyColumn(V, nu + c, p + c));
    PetscCall(PetscArrayzero(B, (size_t)ldb * ldb));
    for (PetscInt i = 0; i < p; i++) B[i + i * ldb] = s[i];
    nu = p;
  }
  r->nconv = nconv;
  /* Ritz vectors of the k leading triplets */
  PetscCall(VecDuplicateVecs(u, k, &r->U));
  PetscCall(VecDuplicateVecs(v, k, &r->V));
  PetscCall(BVSetActiveColumns(U, 0, nu));
  PetscCall(BVSetActiveColumns(V, 0, nu));
  PetscCall(BVSetActiveColumns(AV, 0, nu));
  PetscCall(BVSetActiveColumns(AtU, 0, nu));
  for (PetscInt i = 0; i < k; i++) { /* and their residuals from the kept products */
    PetscReal r1, r2;
    PetscCall(VecZeroEntries(r->U[i]));
    PetscCall(VecZeroEntries(r->V[i]));
    PetscCall(BVMultVec(U, 1.0, 0.0, r->U[i], Yq + i * nu));
    PetscCall(BVMultVec(V, 1.0, 0.0, r->V[i], Zq + i * nu));
    PetscCall(VecCopy(r->U[i], Y[0]));
    PetscCall(VecCopy(r->V[i], X[0]));
    PetscCall(BVMultVec(AV, 1.0, -s[i], Y[0], Zq + i * nu)); /* A v_i - s_i u_i */
    PetscCall(BVMultVec(AtU, 1.0, -s[i], X[0], Yq + i * nu)); /* A^T u_i - s_i v_i */
    PetscCall(VecNorm(Y[0], NORM_2, &r1));
    PetscCall(VecNorm(X[0], NORM_2, &r2));
    r->residual[i] = PetscSqrtReal(r1 * r1 + r2 * r2);
  }
  PetscCall(PetscFree6(B, F, s, Yq, Zq, Hc));
  PetscCall(PetscFree(h));
  PetscCall(VecDestroyVecs(b, &X));
  PetscCall(VecDestroyVecs(b, &Y));
  PetscCall(PetscRandomDestroy(&rnd));
  PetscCall(BVDestroy(&U));
  PetscCall(BVDestroy(&V));
  PetscCall(BVDestroy(&AV));
  PetscCall(BVDestroy(&AtU));
  PetscCall(VecDestroy(&u));
  PetscCall(VecDestroy(&v));
  PetscFunctionReturn(0);
}
