/* The float32-storage operator (SpdMatCreateFloat32) against the float64 MATMPIDENSE it
   copies: single and block products, forward and transposed, on a matrix whose entries
   are binary32 numbers; top singular values through it against LAPACK; a matrix with a
   non-float32 entry refused with a message naming the entry. At 1, 2 and 4 ranks. */
#include "solverutil.h"

static PetscErrorCode CheckVecs(const char what[], Vec got, Vec ref)
{
  PetscReal nd, nr;
  Vec       d;

  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(ref, &d));
  PetscCall(VecWAXPY(d, -1.0, ref, got));
  PetscCall(VecNorm(d, NORM_2, &nd));
  PetscCall(VecNorm(ref, NORM_2, &nr));
  PetscCheck(nd <= 1e-14 * nr, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: float32 operator differs from the float64 product by %.3e (relative)", what, (double)(nd / nr));
  PetscCall(VecDestroy(&d));
  PetscFunctionReturn(0);
}

/* SpdMatMultBlock / SpdMatMultTransposeBlock of the float32 copy of A against the float64
   products yref_r = A x_r and vref_r = A^T u_r, for every k <= kmax (k = 1: the single
   product; groups of 2, of 3 (gemvavx2.c; padded to 4 by the portable kernels), of 4, and
   above four the panel GEMMs or groups of 4 in one sweep; zero-padded), with the portable
   kernels and then gemvavx2.c's where the CPU has AVX2. */
static PetscErrorCode CheckBlockProducts(Mat A, PetscInt kmax, Vec x[], Vec u[], Vec yref[], Vec vref[])
{
  Vec *y, *v;

  PetscFunctionBeginUser;
  PetscCall(VecDuplicateVecs(yref[0], kmax, &y));
  PetscCall(VecDuplicateVecs(vref[0], kmax, &v));
  for (PetscInt avx2 = 0; avx2 < 2; avx2++) {
    Mat S;
    PetscCall(PetscOptionsSetValue(NULL, "-spd_float32_avx2", avx2 ? "true" : "false"));
    PetscCall(SpdMatCreateFloat32(A, &S));
    for (PetscInt kk = 1; kk <= kmax; kk++) {
      PetscCall(SpdMatMultBlock(S, kk, x, y));
      PetscCall(SpdMatMultTransposeBlock(S, kk, u, v));
      for (PetscInt r = 0; r < kk; r++) {
        PetscCall(CheckVecs("SpdMatMultBlock", y[r], yref[r]));
        PetscCall(CheckVecs("SpdMatMultTransposeBlock", v[r], vref[r]));
      }
    }
    PetscCall(MatDestroy(&S));
  }
  PetscCall(PetscOptionsClearValue(NULL, "-spd_float32_avx2"));
  PetscCall(VecDestroyVecs(kmax, &y));
  PetscCall(VecDestroyVecs(kmax, &v));
  PetscFunctionReturn(0);
}

/* CheckBlockProducts with 9 vectors on a random m x n float32 matrix. */
static PetscErrorCode CheckBlockShape(PetscInt m, PetscInt n)
{
  const PetscInt k = 9;
  double        *g;
  Mat            A;
  Vec            x0, u0, *x, *u, *yref, *vref;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1((size_t)m * n, &g));
  SpdTestRandomMatrix(17, m, n, g);
  for (size_t i = 0; i < (size_t)m * n; i++) g[i] = (double)(float)g[i];
  PetscCall(SolverTestDenseFromArray(PETSC_COMM_WORLD, m, n, g, &A));
  PetscCall(PetscFree(g));
  PetscCall(MatCreateVecs(A, &x0, &u0));
  PetscCall(VecDuplicateVecs(x0, k, &x));
  PetscCall(VecDuplicateVecs(x0, k, &vref));
  PetscCall(VecDuplicateVecs(u0, k, &u));
  PetscCall(VecDuplicateVecs(u0, k, &yref));
  for (PetscInt r = 0; r < k; r++) {
    PetscCall(VecSetRandom(x[r], NULL));
    PetscCall(VecSetRandom(u[r], NULL));
    PetscCall(MatMult(A, x[r], yref[r]));
    PetscCall(MatMultTranspose(A, u[r], vref[r]));
  }
  PetscCall(CheckBlockProducts(A, k, x, u, yref, vref));
  PetscCall(VecDestroyVecs(k, &x));
  PetscCall(VecDestroyVecs(k, &u));
  PetscCall(VecDestroyVecs(k, &yref));
  PetscCall(VecDestroyVecs(k, &vref));
  PetscCall(VecDestroy(&x0));
  PetscCall(VecDestroy(&u0));
  PetscCall(MatDestroy(&A));
  PetscFunctionReturn(0);
}

/* The residual norms of converged triplets against ||[A v - s u; A^T u - s v]|| from
   explicit products with the float64 matrix A (block Lanczos computes them from the
   products it keeps during the solve). */
static PetscErrorCode CheckResiduals(Mat A, const SpdTriplets *t)
{
  Vec au, av;

  PetscFunctionBeginUser;
  PetscCall(MatCreateVecs(A, &au, &av));
  for (PetscInt i = 0; i < t->nconv; i++) {
    PetscReal r1, r2, r;
    PetscCall(MatMult(A, t->V[i], av));
    PetscCall(VecAXPY(av, -t->sigma[i], t->U[i]));
    PetscCall(MatMultTranspose(A, t->U[i], au));
    PetscCall(VecAXPY(au, -t->sigma[i], t->V[i]));
    PetscCall(VecNorm(av, NORM_2, &r1));
    PetscCall(VecNorm(au, NORM_2, &r2));
    r = PetscSqrtReal(r1 * r1 + r2 * r2);
    PetscCheck(PetscAbsReal(r - t->residual[i]) <= 1e-13 * t->sigma[0], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: residual of triplet %" PetscInt_FMT " reported %.3e, explicit %.3e", t->solver, i, (double)t->residual[i], (double)r);
  }
  PetscCall(VecDestroy(&au));
  PetscCall(VecDestroy(&av));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt m = 157, n = 94, k = 5; /* n: 94 = 4 * 23 + 2 = 3 * 31 + 1, the kernels' column tails */
  double        *g, s[94];
  Mat            A, S;
  Vec            x[5], y[5], yref[5], u[5], v[5], vref[5];
  SpdTriplets    t;
  PetscInt       bw;
  PetscBool      avx2 = PETSC_FALSE;
  char           msg[1024];
  PetscErrorCode ierr;

  PetscCall(SpdInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscMalloc1(m * n, &g));
  SpdTestRandomMatrix(11, m, n, g);
  for (PetscInt i = 0; i < m * n; i++) g[i] = (double)(float)g[i]; /* what an F32 checkpoint holds */
  PetscCall(SolverTestDenseFromArray(PETSC_COMM_WORLD, m, n, g, &A));
  PetscCall(SpdMatCreateFloat32(A, &S));

  for (PetscInt r = 0; r < k; r++) {
    PetscCall(MatCreateVecs(A, &x[r], &y[r]));
    PetscCall(VecDuplicate(y[r], &yref[r]));
    PetscCall(VecDuplicate(y[r], &u[r]));
    PetscCall(VecDuplicate(x[r], &v[r]));
    PetscCall(VecDuplicate(x[r], &vref[r]));
    PetscCall(VecSetRandom(x[r], NULL));
    PetscCall(VecSetRandom(u[r], NULL));
    PetscCall(MatMult(A, x[r], yref[r]));
    PetscCall(MatMultTranspose(A, u[r], vref[r]));
  }
  PetscCall(MatMult(S, x[0], y[0]));
  PetscCall(CheckVecs("MatMult", y[0], yref[0]));
  PetscCall(MatMultTranspose(S, u[0], v[0]));
  PetscCall(CheckVecs("MatMultTranspose", v[0], vref[0]));
  PetscCall(CheckBlockProducts(A, k, x, u, yref, vref)); /* this shape: every column tail of the kernels */
  PetscCall(CheckBlockShape(90001, 31)); /* several column chunks of the grouped sweeps (12 + 12 + 7 columns) */
  /* the MATDENSE path of the block products (MatMatMult) */
  PetscCall(SpdMatMultBlock(A, k, x, y));
  PetscCall(SpdMatMultTransposeBlock(A, k, u, v));
  for (PetscInt r = 0; r < k; r++) {
    PetscCall(CheckVecs("SpdMatMultBlock (dense)", y[r], yref[r]));
    PetscCall(CheckVecs("SpdMatMultTransposeBlock (dense)", v[r], vref[r]));
  }

  /* top-6 singular values through the float32 operator against LAPACK */
  PetscCall(SpdTestLapackSingularValues(m, n, g, s));
  PetscCall(PetscOptionsSetValue(NULL, "-f32_spd_svd_block", "0")); /* SLEPc's trlanczos */
  PetscCall(SpdSVDExtreme(S, SPD_SVD_TOP, 6, PETSC_TRUE, "f32_", &t));
  PetscCall(PetscOptionsClearValue(NULL, "-f32_spd_svd_block"));
  PetscCheck(t.nconv == 6 && !strcmp(t.solver, "trlanczos"), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "top-6 through the float32 operator: solver %s, %" PetscInt_FMT " converged", t.solver, t.nconv);
  for (PetscInt i = 0; i < 6; i++) PetscCheck(PetscAbsReal(t.sigma[i] - s[i]) <= t.residual[i] + 1e-12 * s[0] && t.residual[i] <= 1e-9 * s[0], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "sigma_%" PetscInt_FMT " = %.16g vs LAPACK %.16g (residual %.3e)", i, (double)t.sigma[i], s[i], (double)t.residual[i]);
  PetscCheck(t.npasses == t.nprod - 2 * 6 + 2, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "passes %" PetscInt_FMT " vs products %" PetscInt_FMT ": the residuals must cost two passes", t.npasses, t.nprod);
  PetscCall(SpdTripletsDestroy(&t));
  /* the default: SLEPc on a matrix this small (it stays in the caches), block Lanczos
     with 4 vectors per pass from -spd_float32_block_min_mb per rank where the CPU runs
     gemvavx2.c */
#if defined(__x86_64__) && defined(__GNUC__)
  avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? PETSC_TRUE : PETSC_FALSE;
#endif
  for (PetscInt big = 0; big < 2; big++) {
    Mat S2;
    if (big) PetscCall(PetscOptionsSetValue(NULL, "-spd_float32_block_min_mb", "0.001"));
    PetscCall(SpdMatCreateFloat32(A, &S2));
    PetscCall(SpdMatGetBlockWidth(S2, &bw));
    PetscCheck(bw == (big && avx2 ? 4 : 1), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "a %" PetscInt_FMT " x %" PetscInt_FMT " float32 matrix has block width %" PetscInt_FMT " (threshold %s, AVX2 %d)", m, n, bw, big ? "0.001 MiB" : "default", (int)avx2);
    PetscCall(SpdSVDExtreme(S2, SPD_SVD_TOP, 6, PETSC_TRUE, "f32d_", &t));
    PetscCheck(t.nconv == 6 && !strcmp(t.solver, bw == 4 ? "blocklanczos (b=4)" : "trlanczos"), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "top-6 by default (block width %" PetscInt_FMT "): solver %s, %" PetscInt_FMT " converged", bw, t.solver, t.nconv);
    for (PetscInt i = 0; i < 6; i++) PetscCheck(PetscAbsReal(t.sigma[i] - s[i]) <= t.residual[i] + 1e-12 * s[0] && t.residual[i] <= 1e-9 * s[0], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "default: sigma_%" PetscInt_FMT " = %.16g vs LAPACK %.16g (residual %.3e)", i, (double)t.sigma[i], s[i], (double)t.residual[i]);
    PetscCall(CheckResiduals(A, &t));
    PetscCall(SpdTripletsDestroy(&t));
    PetscCall(MatDestroy(&S2));
  }
  PetscCall(PetscOptionsClearValue(NULL, "-spd_float32_block_min_mb"));
  PetscCall(SpdMatGetBlockWidth(A, &bw));
  PetscCheck(bw == 1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "a MATMPIDENSE has block width %" PetscInt_FMT ", expected 1", bw);
  /* the same through block Lanczos, 2, 3 and 4 vectors per pass (the float32 kernels N2/T2,
     N3/T3, N4/T4) */
  for (PetscInt b = 2; b <= 4; b++) {
    char pre[64], val[8], prefix[16];
    PetscCall(PetscSNPrintf(prefix, sizeof(prefix), "blk%" PetscInt_FMT "_", b));
    PetscCall(PetscSNPrintf(pre, sizeof(pre), "-%sspd_svd_block", prefix));
    PetscCall(PetscSNPrintf(val, sizeof(val), "%" PetscInt_FMT, b));
    PetscCall(PetscOptionsSetValue(NULL, pre, val));
    PetscCall(SpdSVDExtreme(S, SPD_SVD_TOP, 6, PETSC_TRUE, prefix, &t));
    PetscCheck(t.nconv == 6 && !strncmp(t.solver, "blocklanczos", 12), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "block %" PetscInt_FMT " top-6: solver %s, %" PetscInt_FMT " converged", b, t.solver, t.nconv);
    for (PetscInt i = 0; i < 6; i++) PetscCheck(PetscAbsReal(t.sigma[i] - s[i]) <= t.residual[i] + 1e-12 * s[0] && t.residual[i] <= 1e-9 * s[0], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "block %" PetscInt_FMT ": sigma_%" PetscInt_FMT " = %.16g vs LAPACK %.16g (residual %.3e)", b, i, (double)t.sigma[i], s[i], (double)t.residual[i]);
    PetscCheck(t.npasses == t.nprod / b, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "block %" PetscInt_FMT ": passes %" PetscInt_FMT " vs products %" PetscInt_FMT " (the residuals cost no pass)", b, t.npasses, t.nprod);
    PetscCall(CheckResiduals(A, &t)); /* the residuals from the kept products against explicit float64 products */
    PetscCall(SpdTripletsDestroy(&t));
    PetscCall(PetscOptionsClearValue(NULL, pre));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "float32 operator: products agree to 1e-14, top-6 agree with LAPACK (trlanczos, block Lanczos b = 2, 3, 4)\n"));

  /* an entry that is not a binary32 number is refused, naming it */
  PetscCall(MatDestroy(&S));
  g[3 + 7 * m] = 0.1; /* row 3, column 7 */
  PetscCall(MatDestroy(&A));
  PetscCall(SolverTestDenseFromArray(PETSC_COMM_WORLD, m, n, g, &A));
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  ierr = SpdMatCreateFloat32(A, &S);
  PetscCall(SpdErrorCapturePop());
  PetscCheck(ierr && strstr(msg, "(3, 7)") && strstr(msg, "float32"), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "expected an error naming entry (3, 7), got '%s'", msg);

  for (PetscInt r = 0; r < k; r++) {
    PetscCall(VecDestroy(&x[r]));
    PetscCall(VecDestroy(&y[r]));
    PetscCall(VecDestroy(&yref[r]));
    PetscCall(VecDestroy(&u[r]));
    PetscCall(VecDestroy(&v[r]));
    PetscCall(VecDestroy(&vref[r]));
  }
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFree(g));
  PetscCall(SpdFinalize());
  return 0;
}
