/* Top-k or bottom-k singular triplets with SLEPc.

   Algorithm: SLEPc's thick-restart Lanczos bidiagonalization (SVDTRLANCZOS) on a
   MATSHELL that forwards to A and counts the products, with the transpose applied
   implicitly (no explicit A^T is formed). Interior-looking bottom values converge with
   a large search space (ncv >= 64), see notes/FACTS.md.

   Reference: V. Hernandez, J. E. Roman, A. Tomas, A robust and efficient parallel SVD
   solver based on restarted Lanczos bidiagonalization, ETNA 31 (2008) 68-85.

   Every requested triplet is reported: converged ones with their absolute residual
   norm sqrt(||A v - s u||^2 + ||A^T u - s v||^2) (>= |s - s_exact|), unconverged ones
   with the solver's last Ritz value and error estimate, flagged converged = false. */
#include <specdyn/private/svdimpl.h>
#include <specdyn/operator.h>
#include <specdyn/sys.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */
#include <math.h>

/* The solver's latest estimates, kept for triplets that do not converge. */
typedef struct {
  PetscInt   nest, n;
  PetscReal *sigma, *errest;
} SpdLastEstimates;

static PetscErrorCode SpdSaveEstimates_Private(SVD svd, PetscInt its, PetscInt nconv, PetscReal sigma[], PetscReal errest[], PetscInt nest, void *ctx)
{
  SpdLastEstimates *e = (SpdLastEstimates *)ctx;

  PetscFunctionBegin;
  if (nest > e->n) {
    PetscCall(PetscFree2(e->sigma, e->errest));
    PetscCall(PetscMalloc2(nest, &e->sigma, nest, &e->errest));
    e->n = nest;
  }
  e->nest = nest;
  PetscCall(PetscArraycpy(e->sigma, sigma, nest));
  PetscCall(PetscArraycpy(e->errest, errest, nest));
  PetscFunctionReturn(0);
}

/* Absolute residual norms sqrt(||A v_i - s_i u_i||^2 + ||A^T u_i - s_i v_i||^2), the
   quantity SVDComputeError(..., SVD_ERROR_ABSOLUTE) gives, from block products: two
   passes over A for up to 64 triplets instead of two per triplet. */
static PetscErrorCode SpdTripletResiduals_Private(Mat A, PetscInt k, const PetscReal s[], Vec U[], Vec V[], PetscReal res[])
{
  Vec *AV, *AtU;

  PetscFunctionBegin;
  PetscCall(VecDuplicateVecs(U[0], k, &AV));
  PetscCall(VecDuplicateVecs(V[0], k, &AtU));
  for (PetscInt c = 0; c < k; c += 64) {
    PetscInt b = PetscMin(64, k - c);
    PetscCall(SpdMatMultBlock(A, b, V + c, AV + c));
    PetscCall(SpdMatMultTransposeBlock(A, b, U + c, AtU + c));
  }
  for (PetscInt i = 0; i < k; i++) {
    PetscReal r1, r2;
    PetscCall(VecAXPY(AV[i], -s[i], U[i]));
    PetscCall(VecAXPY(AtU[i], -s[i], V[i]));
    PetscCall(VecNorm(AV[i], NORM_2, &r1));
    PetscCall(VecNorm(AtU[i], NORM_2, &r2));
    res[i] = PetscSqrtReal(r1 * r1 + r2 * r2);
  }
  PetscCall(VecDestroyVecs(k, &AV));
  PetscCall(VecDestroyVecs(k, &AtU));
  PetscFunctionReturn(0);
}

/*@C
  SpdSVDExtreme - the k largest or k smallest singular triplets of A, with SLEPc

  Collective on A

  Input Parameters:
+ A       - the m x n matrix (MATMPIDENSE, or any Mat with MatMult and MatMultTranspose)
. which   - SPD_SVD_TOP (largest, descending) or SPD_SVD_BOTTOM (smallest, ascending)
. k       - number of triplets wanted; clamped to min(m,n)
. vectors - PETSC_TRUE to return the singular vectors of the converged triplets
- prefix  - options prefix of this solve (e.g. "top_"), or NULL

  Output Parameter:
. t - the triplets; release with SpdTripletsDestroy()

  Options Database Keys:
  Every SVD option, first unprefixed (-svd_tol, applying to every solve) then with the
  prefix (-top_svd_tol, overriding). Defaults set before the options are read:
  -svd_type trlanczos (one-sided for the top), -svd_implicittranspose, -svd_tol 1e-10, -svd_max_it 100000,
  -svd_ncv max(2k+16,32) (top) or max(64,2k+16) (bottom), capped at min(m,n).
  -spd_svd_block b (then -<prefix>spd_svd_block): for the top, block Lanczos
  bidiagonalization with b vectors per product instead of SLEPc (svdblock.c), with the
  same -svd_tol and -svd_max_it (restart cycles) and -svd_ncv rounded up to a multiple of
  b (without -svd_ncv: twice SLEPc's default, within the matrix); used when the
  basis fits (ncv <= m, ncv + b <= n), SLEPc's otherwise. Default: SpdMatGetBlockWidth(A)
  when it is above 1 (4 for the float32 operator on AVX2 CPUs, from 16 MiB per rank),
  else 0 (SLEPc).

  Notes:
  Products are counted on a MATSHELL wrapping A. With a solver that needs the explicit
  matrix (-svd_type lapack, scalapack, elemental, randomized, or -svd_implicittranspose 0) A is passed as is and
  t->nprod is -1 (not counted). The direction (largest/smallest) is always the one
  asked for, whatever -svd_largest/-svd_smallest say.
  Logged as the event SpdSVDPartial.

.seealso: SpdSVDFull(), SpdTripletsDestroy()
@*/
static PetscErrorCode SpdSVDExtreme_Private(Mat, SpdSVDWhich, PetscInt, PetscBool, PetscReal, const char[], SpdTriplets *);

PetscErrorCode SpdSVDExtreme(Mat A, SpdSVDWhich which, PetscInt k, PetscBool vectors, const char prefix[], SpdTriplets *t)
{
  PetscFunctionBegin;
  PetscCall(SpdSVDExtreme_Private(A, which, k, vectors, 0, prefix, t));
  PetscFunctionReturn(0);
}

/*@C
  SpdSVDNearNull - k unit vectors v with ||A v|| small (right singular vectors of the bottom
  of A, accepted as soon as their Ritz value is below delta)

  Collective on A

  Input Parameters:
+ A      - the m x n operator (MatMult and MatMultTranspose)
. k      - number of vectors wanted
. delta  - acceptance threshold on ||A v||
- prefix - options prefix of this solve, or NULL

  Output Parameter:
. t - bottom triplets with their vectors (t->U, t->V); release with SpdTripletsDestroy()

  Notes:
  The bottom solve of SpdSVDExtreme() with one more way to converge. Lanczos
  bidiagonalization keeps A V_j = U_j B_j exactly (up to rounding; the residual of the
  recurrence is all on the A^T side), so a right Ritz vector v = V_j x with B_j x = s y
  has ||A v|| = s whether or not the triplet has converged. When A has a cluster of tiny
  singular values (e.g. A = J - I with J close to the identity on a large subspace) the
  triplets inside the cluster converge very slowly (their left residuals stay ~1e-2 for
  hundreds of restarts), yet every Ritz vector there is already a vector with
  ||A v|| <= delta. So a Ritz value s <= delta counts as converged; others converge by the
  relative test with tol 1e-6 (-svd_tol: these are the directions closest to the null
  space when A has no cluster below delta; their residual is reported). Locking is off (-svd_trlanczos_locking 0: a locked,
  unconverged vector would break the relation for the others) and the basis is wide
  (ncv = max(256, 2k+16), capped at min(m, n)): how soon Ritz values enter the cluster is
  set by the ratio of the largest singular value to the smallest outside the cluster, and
  restarts of a narrow basis lose that progress (on the digits network of
  tests/e2e/test_trainjac_digits.py: 15,892 products with ncv 64, 2,814 with 256). The
  residuals reported are the explicit ones of the
  triplet (for accepted vectors they may be large: ||A v|| = s is the property they have,
  not ||A^T u - s v|| small). A must have m >= n (SLEPc works on A^T otherwise). The
  acceptance test is installed after the options are read: -svd_conv_* options do not
  replace it.

.seealso: SpdSVDExtreme()
@*/
PetscErrorCode SpdSVDNearNull(Mat A, PetscInt k, PetscReal delta, const char prefix[], SpdTriplets *t)
{
  PetscInt M, N;

  PetscFunctionBegin;
  PetscCheck(delta > 0, PetscObjectComm((PetscObject)A), PETSC_ERR_ARG_OUTOFRANGE, "SpdSVDNearNull: delta = %g must be > 0", (double)delta);
  PetscCall(MatGetSize(A, &M, &N));
  /* SLEPc runs the recurrence on A^T when m < n (and swaps U and V), so the exact
     relation would be ||A^T u|| = s instead */
  PetscCheck(M >= N, PetscObjectComm((PetscObject)A), PETSC_ERR_ARG_SIZ, "SpdSVDNearNull: A is %" PetscInt_FMT " x %" PetscInt_FMT "; ||A v|| = s holds for m >= n only: pass A^T and use t->U", M, N);
  PetscCall(SpdSVDExtreme_Private(A, SPD_SVD_BOTTOM, k, PETSC_TRUE, delta, prefix, t));
  PetscFunctionReturn(0);
}

/* The convergence test of SpdSVDNearNull: relative, or accepted when sigma <= delta. */
static PetscErrorCode SpdConvergedNearNull_Private(SVD svd, PetscReal sigma, PetscReal res, PetscReal *errest, void *ctx)
{
  PetscReal delta = *(PetscReal *)ctx;

  PetscFunctionBegin;
  (void)svd;
  *errest = sigma <= delta ? 0 : (sigma > 0 ? res / sigma : res);
  PetscFunctionReturn(0);
}

/* The top-k triplets by block Lanczos (svdblock.c), reported as the SLEPc path reports
   them: converged ones with residual norms from products (those kept during the solve,
   so no further pass), the others with the last estimates. */
static PetscErrorCode SpdSVDExtremeBlock_Private(Mat A, PetscInt k, PetscInt b, PetscInt ncv, PetscInt maxit, PetscBool vectors, SpdTriplets *t)
{
  SpdBlockResult r;

  PetscFunctionBegin;
  PetscCall(SpdSVDBlockLanczos_Private(A, k, b, ncv, t->tol, maxit, &r));
  t->nconv = r.nconv;
  t->its   = r.its;
  PetscCall(PetscSNPrintf(t->solver, sizeof(t->solver), "blocklanczos (b=%" PetscInt_FMT ")", b));
  for (PetscInt i = 0; i < k; i++) {
    t->sigma[i]     = r.sigma[i];
    t->converged[i] = (PetscBool)(i < r.nconv);
    /* converged ones: the residual norm from the products kept during the solve (no
       further pass over A); the others: the last estimate */
    t->residual[i] = i < r.nconv ? r.residual[i] : r.estimate[i];
  }
  t->npasses = r.nprod / b;
  t->nprod   = r.nprod;
  if (t->nconv < k) PetscCall(PetscInfo(A, "top solve (block %" PetscInt_FMT "): %" PetscInt_FMT " of %" PetscInt_FMT " singular triplets converged in %" PetscInt_FMT " cycles\n", b, t->nconv, k, t->its));
  if (vectors && t->nconv > 0) { /* hand over the converged vectors (SpdTripletsDestroy frees nconv) */
    for (PetscInt i = t->nconv; i < k; i++) {
      PetscCall(VecDestroy(&r.U[i]));
      PetscCall(VecDestroy(&r.V[i]));
    }
    t->U = r.U;
    t->V = r.V;
  } else {
    PetscCall(VecDestroyVecs(k, &r.U));
    PetscCall(VecDestroyVecs(k, &r.V));
  }
  PetscCall(PetscFree3(r.sigma, r.estimate, r.residual));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdSVDExtreme_Private(Mat A, SpdSVDWhich which, PetscInt k, PetscBool vectors, PetscReal delta, const char prefix[], SpdTriplets *t)
{
  MPI_Comm         comm;
  PetscInt         M, N, mn, ncv, nconv, maxit;
  PetscInt         nmult = 0, nmultt = 0, block = 0;
  PetscBool        userncv = PETSC_FALSE, ncvset;
  SpdLastEstimates last    = { 0, 0, NULL, NULL };
  Mat              S;
  SVD              svd;
  SVDType          type;
  SVDConv          conv;
  PetscBool        impltrans, explicitonly;
  SVDWhich         swhich = which == SPD_SVD_TOP ? SVD_LARGEST : SVD_SMALLEST;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(A, MAT_CLASSID, 1);
  PetscValidPointer(t, 7);
  PetscCall(PetscObjectGetComm((PetscObject)A, &comm));
  PetscCheck(which == SPD_SVD_TOP || which == SPD_SVD_BOTTOM, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdSVDExtreme: which = %d is neither SPD_SVD_TOP nor SPD_SVD_BOTTOM", (int)which);
  PetscCheck(k >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdSVDExtreme: k = %" PetscInt_FMT " singular triplets requested; ask for at least 1", k);
  PetscCall(MatGetSize(A, &M, &N));
  mn = PetscMin(M, N);
  if (k > mn) {
    PetscCall(PetscInfo(A, "%" PetscInt_FMT " singular triplets requested of a %" PetscInt_FMT " x %" PetscInt_FMT " matrix; computing %" PetscInt_FMT "\n", k, M, N, mn));
    k = mn;
  }
  PetscCall(PetscMemzero(t, sizeof(*t)));
  t->k = k;
  PetscCall(PetscMalloc3(k, &t->sigma, k, &t->residual, k, &t->converged));

  PetscCall(PetscLogEventBegin(SPD_SVDPartial, A, 0, 0, 0));
  PetscCall(SpdMatCreateCounting(A, &S));

  PetscCall(SVDCreate(comm, &svd));
  PetscCall(SVDSetOperators(svd, S, NULL));
  PetscCall(SVDSetType(svd, SVDTRLANCZOS));
  PetscCall(SVDSetImplicitTranspose(svd, PETSC_TRUE));
  PetscCall(SVDSetWhichSingularTriplets(svd, swhich));
  ncv = which == SPD_SVD_TOP ? PetscMax(2 * k + 16, 32) : PetscMax(delta > 0 ? 256 : 64, 2 * k + 16);
  ncv = PetscMin(ncv, mn);
  PetscCall(SVDSetDimensions(svd, k, ncv, PETSC_DEFAULT));
  PetscCall(SVDSetTolerances(svd, delta > 0 ? 1e-6 : 1e-10, 100000));
  if (delta > 0) PetscCall(SVDTRLanczosSetLocking(svd, PETSC_FALSE));
  /* Full (two-sided) reorthogonalization for the top as for the bottom. One-sided saves
     3-8 % per solve on well-conditioned 8192^2 matrices, but it is not safe on operators
     with a large exact null space and singular values over many orders of magnitude: on
     products of 0/1-gated Gaussian factors (width 64, depth 16, p = 0.5) it returned wrong
     top triplets (residual ~ sigma, sigma 10 % off in log) in 7 of 40 draws, and on
     operators whose search space is the whole space it breaks down ("Recurrence generated
     a zero vector"). -svd_trlanczos_oneside still selects it. */
  PetscCall(SVDSetFromOptions(svd)); /* plain -svd_* */
  if (prefix && prefix[0]) {
    PetscCall(SVDSetOptionsPrefix(svd, prefix));
    PetscCall(SVDSetFromOptions(svd)); /* -<prefix>svd_*, overriding */
  }
  PetscCall(SVDSetWhichSingularTriplets(svd, swhich));
  if (delta > 0) PetscCall(SVDSetConvergenceTestFunction(svd, SpdConvergedNearNull_Private, &delta, NULL)); /* the method itself, whatever -svd_conv_* said */
  PetscCall(SVDGetType(svd, &type));
  PetscCall(SVDGetImplicitTranspose(svd, &impltrans));
  PetscCall(PetscObjectTypeCompareAny((PetscObject)svd, &explicitonly, SVDLAPACK, SVDSCALAPACK, SVDELEMENTAL, SVDRANDOMIZED, ""));
  if (explicitonly || !impltrans) PetscCall(SVDSetOperators(svd, A, NULL));
  /* Without trackall SLEPc stops estimating errors at the first unconverged value, so
     the monitor would see stale or zero estimates for the others; the estimates come
     from the projected problem and cost no products. */
  PetscCall(SVDSetTrackAll(svd, PETSC_TRUE));
  PetscCall(SVDMonitorSet(svd, SpdSaveEstimates_Private, &last, NULL));

  /* -spd_svd_block b (then -<prefix>spd_svd_block): block Lanczos for the top; by default
     when the operator's block products are as cheap as single ones (SpdMatGetBlockWidth) */
  PetscCall(SpdMatGetBlockWidth(A, &block));
  if (block < 2) block = 0;
  for (int pass = 0; pass < (prefix && prefix[0] ? 2 : 1); pass++) {
    PetscOptionsBegin(comm, pass ? prefix : NULL, "specdyn top/bottom-k singular triplets", "SpdSVDExtreme");
    PetscCall(PetscOptionsInt("-spd_svd_block", "Top-k by block Lanczos with this many vectors per product (0: SLEPc's solver; default: SpdMatGetBlockWidth)", "SpdSVDExtreme", block, &block, NULL));
    PetscCall(PetscOptionsHasName(NULL, pass ? prefix : NULL, "-svd_ncv", &ncvset));
    userncv = (PetscBool)(userncv || ncvset);
    PetscOptionsEnd();
  }
  if (block > 1 && which == SPD_SVD_TOP && delta == 0 && !explicitonly && impltrans) {
    PetscInt nev, mpd, ncvb, fit = PetscMin(M, N - block) / block * block;
    PetscCall(SVDGetDimensions(svd, &nev, &ncv, &mpd));
    PetscCall(SVDGetTolerances(svd, &t->tol, &maxit));
    /* the basis: -svd_ncv rounded up to a multiple of b, or by default twice SLEPc's (fewer
       restarts; b = 4, top-16: bench row 7 in 52 / 44 / 42 passes with 48 / 64 / 96
       vectors, an 8192^2 Gaussian in 314 / 276 / 266 passes with 64 / 80 / 96), within what
       the matrix fits */
    ncvb = ((userncv ? 1 : 2) * ncv + block - 1) / block * block;
    if (!userncv) ncvb = PetscMin(ncvb, fit);
    ncvb = PetscMax(ncvb, ((k + block - 1) / block + 1) * block);
    if (ncvb <= M && ncvb + block <= N) {
      PetscCall(SpdSVDExtremeBlock_Private(A, k, block, ncvb, maxit, vectors, t));
      PetscCall(PetscFree2(last.sigma, last.errest));
      PetscCall(SVDDestroy(&svd));
      PetscCall(MatDestroy(&S));
      PetscCall(PetscLogEventEnd(SPD_SVDPartial, A, 0, 0, 0));
      PetscFunctionReturn(0);
    }
    PetscCall(PetscInfo(A, "-spd_svd_block %" PetscInt_FMT ": a basis of %" PetscInt_FMT " + %" PetscInt_FMT " columns does not fit a %" PetscInt_FMT " x %" PetscInt_FMT " matrix; using %s\n", block, ncvb, block, M, N, type));
  }

  PetscCall(SVDSolve(svd));
  PetscCall(SpdMatCountingGetCounts(S, &nmult, &nmultt));
  t->nprod = (explicitonly || !impltrans) ? -1 : nmult + nmultt;
  PetscCall(SVDGetIterationNumber(svd, &t->its));
  PetscCall(SVDGetTolerances(svd, &t->tol, &maxit));
  PetscCall(PetscStrncpy(t->solver, type, sizeof(t->solver)));
  PetscCall(SVDGetConvergenceTest(svd, &conv));
  PetscCall(SVDGetConverged(svd, &nconv));
  t->nconv = PetscMin(nconv, k);

  if (t->nconv > 0) {
    Vec u, v, *U, *V;

    PetscCall(MatCreateVecs(A, &v, &u));
    PetscCall(VecDuplicateVecs(u, t->nconv, &U));
    PetscCall(VecDuplicateVecs(v, t->nconv, &V));
    PetscCall(VecDestroy(&u));
    PetscCall(VecDestroy(&v));
    for (PetscInt i = 0; i < t->nconv; i++) {
      PetscCall(SVDGetSingularTriplet(svd, i, &t->sigma[i], U[i], V[i]));
      t->converged[i] = PETSC_TRUE;
    }
    PetscCall(SpdTripletResiduals_Private(A, t->nconv, t->sigma, U, V, t->residual));
    if (vectors) {
      t->U = U;
      t->V = V;
    } else {
      PetscCall(VecDestroyVecs(t->nconv, &U));
      PetscCall(VecDestroyVecs(t->nconv, &V));
    }
  }
  t->npasses = t->nprod < 0 ? -1 : t->nprod + (t->nconv > 0 ? 2 * ((t->nconv + 63) / 64) : 0);
  if (t->nprod >= 0) t->nprod += 2 * t->nconv;
  /* Unconverged: the last Ritz values and the convergence test's error estimate made
     absolute (relative test: err * sigma); NaN where the solver gave nothing. */
  for (PetscInt i = t->nconv; i < k; i++) {
    t->converged[i] = PETSC_FALSE;
    t->sigma[i]     = i < last.nest ? last.sigma[i] : (PetscReal)NAN;
    t->residual[i]  = (PetscReal)NAN;
    if (i < last.nest) {
      if (conv == SVD_CONV_ABS)
        t->residual[i] = last.errest[i];
      else if (conv == SVD_CONV_REL || conv == SVD_CONV_USER) /* the near-null test is relative above delta */
        t->residual[i] = last.errest[i] * last.sigma[i];
    }
  }
  if (t->nconv < k) PetscCall(PetscInfo(A, "%s solve: %" PetscInt_FMT " of %" PetscInt_FMT " singular triplets converged in %" PetscInt_FMT " iterations\n", which == SPD_SVD_TOP ? "top" : "bottom", t->nconv, k, t->its));
  PetscCall(PetscFree2(last.sigma, last.errest));
  PetscCall(SVDDestroy(&svd));
  PetscCall(MatDestroy(&S));
  PetscCall(PetscLogEventEnd(SPD_SVDPartial, A, 0, 0, 0));
  PetscFunctionReturn(0);
}

/*@C
  SpdTripletsDestroy - free the arrays and vectors of an SpdTriplets

  Collective on the vectors' communicator (when vectors were requested)

  Input Parameter:
. t - the triplets; zeroed on return

.seealso: SpdSVDExtreme()
@*/
/*@C
  SpdSVDExtremeZero - the top/bottom-k triplets of a matrix known to be zero

  Collective on A

  Notes:
  Krylov solvers cannot start on the zero matrix (the first product is the zero vector),
  yet it is a legitimate result, e.g. the difference of two runs at a shared
  initialization. The answer is exact: sigma_i = 0 with residual 0, and the unit vectors
  e_i (i < k) as singular vectors (A e_i = 0 = 0 e_i).

.seealso: `SpdSVDExtreme()`
@*/
PetscErrorCode SpdSVDExtremeZero(Mat A, SpdSVDWhich which, PetscInt k, PetscBool vectors, SpdTriplets *t)
{
  PetscFunctionBegin;
  (void)which;
  PetscCall(PetscMemzero(t, sizeof(*t)));
  t->k     = k;
  t->nconv = k;
  PetscCall(PetscMalloc3(k, &t->sigma, k, &t->residual, k, &t->converged));
  for (PetscInt i = 0; i < k; i++) {
    t->sigma[i]     = 0.0;
    t->residual[i]  = 0.0;
    t->converged[i] = PETSC_TRUE;
  }
  PetscCall(PetscStrncpy(t->solver, "none (zero matrix)", sizeof(t->solver)));
  if (vectors && k > 0) {
    Vec u, v;
    PetscCall(MatCreateVecs(A, &v, &u));
    PetscCall(VecDuplicateVecs(u, k, &t->U));
    PetscCall(VecDuplicateVecs(v, k, &t->V));
    for (PetscInt i = 0; i < k; i++) {
      PetscCall(VecSet(t->U[i], 0.0));
      PetscCall(VecSet(t->V[i], 0.0));
      PetscCall(VecSetValue(t->U[i], i, 1.0, INSERT_VALUES));
      PetscCall(VecSetValue(t->V[i], i, 1.0, INSERT_VALUES));
      PetscCall(VecAssemblyBegin(t->U[i]));
      PetscCall(VecAssemblyEnd(t->U[i]));
      PetscCall(VecAssemblyBegin(t->V[i]));
      PetscCall(VecAssemblyEnd(t->V[i]));
    }
    PetscCall(VecDestroy(&u));
    PetscCall(VecDestroy(&v));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTripletsDestroy(SpdTriplets *t)
{
  PetscFunctionBegin;
  if (!t) PetscFunctionReturn(0);
  PetscCall(PetscFree3(t->sigma, t->residual, t->converged));
  if (t->U) PetscCall(VecDestroyVecs(t->nconv, &t->U));
  if (t->V) PetscCall(VecDestroyVecs(t->nconv, &t->V));
  PetscCall(PetscMemzero(t, sizeof(*t)));
  PetscFunctionReturn(0);
}
