/* Lyapunov exponents of a layered product by QR iteration.

   Algorithm (Benettin, Galgani, Giorgilli, Strelcyn 1980; for random matrix products
   Newman 1986): start from an orthonormal w_0 x k block Q_0 and, for l = 1..L,
       Y_l = A_l G_{l-1} Q_{l-1} = Q_l R_l   (QR, R_l[i,i] >= 0),
   so that J_{l:1} Q_0 = Q_l R_l ... R_1 and sum_{i<=k} sum_{j<=l} log R_j[i,i] is the log
   of the k-volume of J_{l:1} Q_0. lambda_i(l) = (1/l) sum_{j<=l} log R_j[i,i] tends to
   the i-th Lyapunov exponent.

   The QR of the row-distributed block is TSQR with one reduction level (Demmel, Grigori,
   Hoemmen, Langou 2012): each rank factors its rows Y_p = Qh_p R_p (LAPACK Householder,
   so rank-deficient blocks are fine), the stacked R_p are gathered on every rank and
   factored again, S = Q2 R, identically on every rank, and Q_p = Qh_p Q2_p. */
#include "jacobianimpl.h"
#include <petscblaslapack.h>

/* Householder QR of a column-major m x n array (m >= n for `form`): tau, and with form
   the first n columns of Q overwrite A. */
static PetscErrorCode SpdHouseholder_Private(PetscInt m, PetscInt n, PetscInt kq, PetscReal A[], PetscInt lda, PetscReal tau[], PetscBool form)
{
  PetscBLASInt bm, bn, bk, bl, lwork, info;
  PetscReal   *work;

  PetscFunctionBegin;
  if (m == 0 || n == 0) PetscFunctionReturn(0);
  PetscCall(PetscBLASIntCast(m, &bm));
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscBLASIntCast(kq, &bk));
  PetscCall(PetscBLASIntCast(lda, &bl));
  PetscCall(PetscBLASIntCast(64 * PetscMax(n, 1), &lwork));
  PetscCall(PetscMalloc1(lwork, &work));
  if (!form) {
    PetscCallBLAS("LAPACKgeqrf", LAPACKgeqrf_(&bm, &bn, A, &bl, tau, work, &lwork, &info));
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK geqrf failed with info %d", (int)info);
  } else {
    PetscCallBLAS("LAPACKorgqr", LAPACKorgqr_(&bm, &bn, &bk, A, &bl, tau, work, &lwork, &info));
    PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "LAPACK orgqr failed with info %d", (int)info);
  }
  PetscCall(PetscFree(work));
  PetscFunctionReturn(0);
}

/* Y (local rows of width w[j], nloc x k row-major) = Q R: Q overwrites Y, diag gets
   R[i,i] >= 0 (the columns of Q are flipped to make it so). Collective. */
static PetscErrorCode SpdJacobianTSQR_Private(SpdJacobian J, PetscInt j, PetscInt k, PetscReal Y[], PetscReal diag[])
{
  PetscInt     n = J->nloc[j], r = PetscMin(n, k), M = 0, off = 0;
  PetscReal   *A, *tau, *Rl, *S, *Sc, *tau2, *C;
  PetscMPIInt *cnt, *dsp;
  PetscInt    *rows;

  PetscFunctionBegin;
  PetscCall(PetscMalloc4((size_t)n * k + 1, &A, k + 1, &tau, (size_t)r * k + 1, &Rl, (size_t)n * k + 1, &C));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt c = 0; c < k; c++) A[c * n + i] = Y[i * k + c];
  PetscCall(SpdHouseholder_Private(n, k, 0, A, n, tau, PETSC_FALSE));
  for (PetscInt i = 0; i < r; i++)
    for (PetscInt c = 0; c < k; c++) Rl[i * k + c] = c >= i ? A[c * n + i] : 0.0;
  PetscCall(SpdHouseholder_Private(n, r, r, A, n, tau, PETSC_TRUE)); /* Qh: n x r */
  /* stack the R factors of all ranks, in rank order, on every rank */
  PetscCall(PetscMalloc3(J->size, &rows, J->size, &cnt, J->size, &dsp));
  PetscCallMPI(MPI_Allgather(&r, 1, MPIU_INT, rows, 1, MPIU_INT, J->comm));
  for (PetscMPIInt p = 0; p < J->size; p++) {
    if (p == J->rank) off = M;
    PetscCall(PetscMPIIntCast(rows[p] * k, &cnt[p]));
    PetscCall(PetscMPIIntCast(M * k, &dsp[p]));
    M += rows[p];
  }
  PetscAssert(M >= k, J->comm, PETSC_ERR_PLIB, "TSQR: %" PetscInt_FMT " stacked rows for %" PetscInt_FMT " columns", M, k);
  PetscCall(PetscMalloc3((size_t)M * k, &S, (size_t)M * k, &Sc, k, &tau2));
  PetscCallMPI(MPI_Allgatherv(Rl, cnt[J->rank], MPIU_REAL, S, cnt, dsp, MPIU_REAL, J->comm));
  for (PetscInt i = 0; i < M; i++)
    for (PetscInt c = 0; c < k; c++) Sc[c * M + i] = S[i * k + c];
  PetscCall(SpdHouseholder_Private(M, k, 0, Sc, M, tau2, PETSC_FALSE));
  for (PetscInt i = 0; i < k; i++) diag[i] = Sc[i * M + i];
  PetscCall(SpdHouseholder_Private(M, k, k, Sc, M, tau2, PETSC_TRUE)); /* Q2: M x k */
  /* local rows of Q: Qh (n x r) times rows off..off+r of Q2 */
  PetscCall(SpdGemm("N", "N", n, k, r, 1.0, A, n, Sc + off, M, 0.0, C, n));
  for (PetscInt c = 0; c < k; c++) {
    PetscReal sg = diag[c] < 0 ? -1.0 : 1.0;
    diag[c] *= sg;
    for (PetscInt i = 0; i < n; i++) Y[i * k + c] = sg * C[c * n + i];
  }
  PetscCall(PetscFree3(S, Sc, tau2));
  PetscCall(PetscFree3(rows, cnt, dsp));
  PetscCall(PetscFree4(A, tau, Rl, C));
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianLyapunov - Lyapunov exponents of a layered product by QR iteration

  Collective

  Input Parameters:
+ J    - the layered product (an MLP at an input, or a random ensemble)
. k    - number of exponents, 1 <= k <= min_j w_j
. Q0   - starting block: a w_0 x k dense matrix (MATMPIDENSE with the layout of
         SpdJacobianCreateVec(J, 0), or MATSEQDENSE on one rank), orthonormalized here;
         or NULL for a Gaussian block drawn from `seed` (the same for any rank count)
- seed - seed of the random start (ignored with Q0)

  Output Parameter:
. res - lambda[k], cumulative[L x k] (the estimates after each depth l) and logr[L x k]
        (log R_l[i,i] per layer, so that spreads and standard errors can be formed);
        release with SpdLyapunovDestroy()

  Notes:
  One product with each factor per layer on a k-column block (an MPI_Allgatherv of
  w_{l-1} k numbers), and one TSQR (an MPI_Allgatherv of at most P k^2 numbers).
  A layer whose gates cut the block's rank gives R_l[i,i] = 0 and log = -inf.
  lambda_i is ordered by construction of the QR, descending in expectation, not
  necessarily at finite depth.

.seealso: `SpdJacobianCreateGaussian()`, `SpdJacobianCreateMLP()`
@*/
PetscErrorCode SpdJacobianLyapunov(SpdJacobian J, PetscInt k, Mat Q0, PetscInt64 seed, SpdLyapunov *res)
{
  PetscInt   L = J->L, wmin = PETSC_MAX_INT;
  PetscReal *Qb, *Yb, *Q, *Y, *diag, *sum;

  PetscFunctionBegin;
  PetscCheck(res, J->comm, PETSC_ERR_ARG_NULL, "SpdJacobianLyapunov: the result pointer is NULL");
  for (PetscInt j = 0; j <= L; j++) wmin = PetscMin(wmin, J->w[j]);
  PetscCheck(k >= 1 && k <= wmin, J->comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianLyapunov: %" PetscInt_FMT " exponents requested, but the narrowest layer has width %" PetscInt_FMT "; ask for 1..%" PetscInt_FMT, k, wmin, wmin);
  PetscCall(PetscMalloc4((size_t)J->maxloc * k + 1, &Qb, (size_t)J->maxloc * k + 1, &Yb, k, &diag, k, &sum));
  Q = Qb;
  Y = Yb;
  if (Q0) {
    PetscInt         M, N, m, lda;
    const PetscReal *a;

    PetscCall(MatGetSize(Q0, &M, &N));
    PetscCall(MatGetLocalSize(Q0, &m, NULL));
    PetscCheck(M == J->w[0] && N == k, J->comm, PETSC_ERR_ARG_SIZ, "SpdJacobianLyapunov: the starting block is %" PetscInt_FMT " x %" PetscInt_FMT " but must be w_0 x k = %" PetscInt_FMT " x %" PetscInt_FMT, M, N, J->w[0], k);
    PetscCheck(m == J->nloc[0], J->comm, PETSC_ERR_ARG_SIZ, "SpdJacobianLyapunov: the starting block has %" PetscInt_FMT " local rows, the layout of w_0 has %" PetscInt_FMT "; create it with the local sizes of SpdJacobianCreateVec(J, 0)", m, J->nloc[0]);
    PetscCall(MatDenseGetLDA(Q0, &lda));
    PetscCall(MatDenseGetArrayRead(Q0, &a));
    for (PetscInt i = 0; i < m; i++)
      for (PetscInt c = 0; c < k; c++) Q[i * k + c] = a[(size_t)c * lda + i];
    PetscCall(MatDenseRestoreArrayRead(Q0, &a));
  } else {
    for (PetscInt i = 0; i < J->nloc[0]; i++) {
      uint64_t st = SpdJacobianStream_Private(seed, SPD_JAC_TAG_START, 0, (uint64_t)(J->range[0][J->rank] + i));
      SpdJacobianNormals_Private(&st, k, Q + i * k);
    }
  }
  PetscCall(SpdJacobianTSQR_Private(J, 0, k, Q, diag));
  for (PetscInt i = 0; i < k; i++) PetscCheck(diag[i] > 0, J->comm, PETSC_ERR_ARG_WRONG, "SpdJacobianLyapunov: the starting block has rank < %" PetscInt_FMT " (R[%" PetscInt_FMT ",%" PetscInt_FMT "] = 0); pass k linearly independent columns", k, i, i);

  res->k = k;
  res->L = L;
  PetscCall(PetscMalloc3(k, &res->lambda, (size_t)L * k, &res->cumulative, (size_t)L * k, &res->logr));
  PetscCall(PetscArrayzero(sum, k));
  for (PetscInt l = 1; l <= L; l++) {
    PetscCall(SpdJacobianLayerForward_Private(J, l, k, Q, l > 1 ? PETSC_TRUE : PETSC_FALSE, Y));
    PetscCall(SpdJacobianTSQR_Private(J, l, k, Y, diag));
    for (PetscInt i = 0; i < k; i++) {
      PetscReal lr = diag[i] > 0 ? PetscLogReal(diag[i]) : -PETSC_INFINITY;
      sum[i] += lr;
      res->logr[(l - 1) * k + i]       = lr;
      res->cumulative[(l - 1) * k + i] = sum[i] / l;
    }
    {
      PetscReal *t = Q;
      Q            = Y;
      Y            = t;
    }
  }
  for (PetscInt i = 0; i < k; i++) res->lambda[i] = sum[i] / L;
  PetscCall(PetscFree4(Qb, Yb, diag, sum));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdLyapunovDestroy(SpdLyapunov *res)
{
  PetscFunctionBegin;
  if (!res) PetscFunctionReturn(0);
  PetscCall(PetscFree3(res->lambda, res->cumulative, res->logr));
  res->k = res->L = 0;
  PetscFunctionReturn(0);
}
