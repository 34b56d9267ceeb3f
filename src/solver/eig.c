/* The k largest or most negative eigenpairs of a symmetric operator with SLEPc.

   Algorithm: SLEPc's Krylov-Schur method for Hermitian problems (EPS_HEP) on a MATSHELL
   that forwards to A and counts the products, asking for the exterior parts of the
   spectrum (EPS_LARGEST_REAL / EPS_SMALLEST_REAL), which converge fast.

   Reference: G. W. Stewart, A Krylov-Schur algorithm for large eigenproblems, SIAM J.
   Matrix Anal. Appl. 23 (2001) 601-614; V. Hernandez, J. E. Roman, V. Vidal, SLEPc: a
   scalable and flexible toolkit for the solution of eigenvalue problems, ACM TOMS 31
   (2005) 351-362.

   Every requested pair is reported: converged ones with their absolute residual norm
   ||A x - lambda x|| computed by us after the solve (for symmetric A it bounds
   |lambda - lambda_exact|), unconverged ones with the solver's last Ritz value and error
   estimate, flagged converged = false. */
#include <specdyn/eig.h>
#include <specdyn/operator.h>
#include <specdyn/sys.h>
#include <slepceps.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */
#include <math.h>

static PetscLogEvent SPD_EigExtreme;
static PetscBool     SpdEigPackageInitialized = PETSC_FALSE;

static PetscErrorCode SpdEigFinalizePackage_Private(void)
{
  PetscFunctionBegin;
  SpdEigPackageInitialized = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* The log event is registered on first use: sys.h's list of events belongs to the sys
   layer, and registering here keeps the solver layer self-contained. */
static PetscErrorCode SpdEigInitializePackage_Private(void)
{
  PetscFunctionBegin;
  if (SpdEigPackageInitialized) PetscFunctionReturn(0);
  SpdEigPackageInitialized = PETSC_TRUE;
  PetscCall(PetscLogEventRegister("SpdEigExtreme", SPD_CLASSID, &SPD_EigExtreme));
  PetscCall(PetscRegisterFinalize(SpdEigFinalizePackage_Private));
  PetscFunctionReturn(0);
}

/* The solver's latest estimates, kept for pairs that do not converge. */
typedef struct {
  PetscInt   nest, n;
  PetscReal *lambda, *errest;
} SpdEigLastEstimates;

static PetscErrorCode SpdEigSaveEstimates_Private(EPS eps, PetscInt its, PetscInt nconv, PetscScalar eigr[], PetscScalar eigi[], PetscReal errest[], PetscInt nest, void *ctx)
{
  SpdEigLastEstimates *e = (SpdEigLastEstimates *)ctx;

  PetscFunctionBegin;
  if (nest > e->n) {
    PetscCall(PetscFree2(e->lambda, e->errest));
    PetscCall(PetscMalloc2(nest, &e->lambda, nest, &e->errest));
    e->n = nest;
  }
  e->nest = nest;
  for (PetscInt i = 0; i < nest; i++) e->lambda[i] = PetscRealPart(eigr[i]);
  PetscCall(PetscArraycpy(e->errest, errest, nest));
  PetscFunctionReturn(0);
}

/* Absolute residual norms ||A x_i - lambda_i x_i|| from block products (one pass over A
   per 64 pairs when A allows block products). */
static PetscErrorCode SpdEigResiduals_Private(Mat A, PetscInt k, const PetscReal lambda[], Vec X[], PetscReal res[])
{
  Vec *AX;

  PetscFunctionBegin;
  PetscCall(VecDuplicateVecs(X[0], k, &AX));
  for (PetscInt c = 0; c < k; c += 64) PetscCall(SpdMatMultBlock(A, PetscMin(64, k - c), X + c, AX + c));
  for (PetscInt i = 0; i < k; i++) {
    PetscCall(VecAXPY(AX[i], -lambda[i], X[i]));
    PetscCall(VecNorm(AX[i], NORM_2, &res[i]));
  }
  PetscCall(VecDestroyVecs(k, &AX));
  PetscFunctionReturn(0);
}

/*@C
  SpdEigExtreme - the k largest or k most negative eigenpairs of a symmetric operator,
  with SLEPc

  Collective on A

  Input Parameters:
+ A       - the N x N symmetric matrix: any Mat with MatMult (MATSHELL, MATMPIDENSE, MATMPIAIJ)
. which   - SPD_EIG_LARGEST (largest algebraic, descending) or SPD_EIG_SMALLEST (smallest
            algebraic, i.e. most negative, ascending)
. k       - number of pairs wanted; clamped to N
. vectors - PETSC_TRUE to return the eigenvectors (unit 2-norm) of the converged pairs
- prefix  - options prefix of this solve (e.g. "hessian_top_"), or NULL

  Output Parameter:
. e - the pairs; release with SpdEigenpairsDestroy()

  Options Database Keys:
  Every EPS option (and those of its ST, BV, DS), first unprefixed (-eps_tol, applying
  to every solve) then with the prefix (-hessian_top_eps_tol, overriding). Defaults set
  before the options are read: -eps_type krylovschur, -eps_tol 1e-10 with SLEPc's
  default relative test ||r|| <= tol |lambda|, -eps_ncv max(2k+16,32) capped at N,
  SLEPc's default -eps_max_it.

  Notes:
  The problem type (EPS_HEP) and the direction (largest/smallest real) are always those
  of this call, whatever -eps_gen_hermitian or -eps_largest_magnitude say.
  The relative test is hard to meet for eigenvalues much closer to 0 than ||A|| (e.g. the
  most negative eigenvalues of a Hessian near a minimum); use -eps_conv_abs or
  -eps_conv_norm (the latter needs MatNorm, so an assembled A) for those.
  Products are counted on a MATSHELL wrapping A, and e->nprod includes the nconv
  products of the residual norms. With a solver that needs the explicit matrix
  (-eps_type lapack, scalapack, elpa, elemental, feast) or a spectral transformation
  that solves with A (-st_type sinvert, cayley) A is passed as is and e->nprod is -1
  (not counted). Preconditioned solvers (-eps_type gd, jd, lobpcg) get -st_pc_type jacobi
  when A has MatGetDiagonal and none otherwise, unless -[prefix]st_pc_type is given.
  Unconverged pairs (entries nconv..k-1) hold the solver's last Ritz value
  and its error estimate made absolute (NaN where the solver gave none).
  Logged as the event SpdEigExtreme.

.seealso: SpdEigenpairsDestroy(), SpdSVDExtreme(), SpdDensitySLQ()
@*/
PetscErrorCode SpdEigExtreme(Mat A, SpdEigWhich which, PetscInt k, PetscBool vectors, const char prefix[], SpdEigenpairs *e)
{
  MPI_Comm            comm;
  PetscInt            M, N, mloc, nloc, ncv, nconv, maxit;
  PetscInt            nmult = 0, nmultt = 0;
  SpdEigLastEstimates last = { 0, 0, NULL, NULL };
  Mat                 S;
  EPS                 eps;
  ST                  st;
  EPSType             type;
  EPSConv             conv;
  PetscReal           normest = 0;
  PetscBool           explicitonly, stsolves, has;
  EPSWhich            ewhich = which == SPD_EIG_LARGEST ? EPS_LARGEST_REAL : EPS_SMALLEST_REAL;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(A, MAT_CLASSID, 1);
  PetscValidPointer(e, 6);
  PetscCall(SpdEigInitializePackage_Private());
  PetscCall(PetscObjectGetComm((PetscObject)A, &comm));
  PetscCheck(which == SPD_EIG_LARGEST || which == SPD_EIG_SMALLEST, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdEigExtreme: which = %d is neither SPD_EIG_LARGEST nor SPD_EIG_SMALLEST", (int)which);
  PetscCheck(k >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdEigExtreme: k = %" PetscInt_FMT " eigenpairs requested; ask for at least 1", k);
  PetscCall(MatGetSize(A, &M, &N));
  PetscCall(MatGetLocalSize(A, &mloc, &nloc));
  PetscCheck(M == N, comm, PETSC_ERR_ARG_SIZ, "SpdEigExtreme: the operator is %" PetscInt_FMT " x %" PetscInt_FMT "; eigenpairs need a square symmetric operator", M, N);
  PetscCheck(mloc == nloc, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "SpdEigExtreme: local rows %" PetscInt_FMT " differ from local columns %" PetscInt_FMT "; create the operator with equal row and column layouts", mloc, nloc);
  if (k > N) {
    PetscCall(PetscInfo(A, "%" PetscInt_FMT " eigenpairs requested of a %" PetscInt_FMT " x %" PetscInt_FMT " operator; computing %" PetscInt_FMT "\n", k, N, N, N));
    k = N;
  }
  PetscCall(PetscMemzero(e, sizeof(*e)));
  e->k = k;
  PetscCall(PetscMalloc3(k, &e->lambda, k, &e->residual, k, &e->converged));

  PetscCall(PetscLogEventBegin(SPD_EigExtreme, A, 0, 0, 0));
  PetscCall(SpdMatCreateCounting(A, &S));
  PetscCall(MatSetOption(S, MAT_SYMMETRIC, PETSC_TRUE));
  PetscCall(MatSetOption(S, MAT_SYMMETRY_ETERNAL, PETSC_TRUE));

  PetscCall(EPSCreate(comm, &eps));
  PetscCall(EPSSetOperators(eps, S, NULL));
  PetscCall(EPSSetProblemType(eps, EPS_HEP));
  /* The type is taken from the options database before either SetFromOptions pass: the
     first pass gives the ST the default type of the solver it sees, and a solver chosen
     only in the prefixed pass (gd, jd, lobpcg need STPRECOND) would inherit a wrong one. */
  {
    char      etype[64] = EPSKRYLOVSCHUR;
    PetscBool set;

    PetscCall(PetscOptionsGetString(NULL, NULL, "-eps_type", etype, sizeof(etype), &set));
    if (prefix && prefix[0]) PetscCall(PetscOptionsGetString(NULL, prefix, "-eps_type", etype, sizeof(etype), &set));
    PetscCall(EPSSetType(eps, etype));
  }
  PetscCall(EPSSetWhichEigenpairs(eps, ewhich));
  ncv = PetscMin(PetscMax(2 * k + 16, 32), N);
  PetscCall(EPSSetDimensions(eps, k, ncv, PETSC_DEFAULT));
  PetscCall(EPSSetTolerances(eps, 1e-10, PETSC_DEFAULT));
  PetscCall(EPSSetFromOptions(eps)); /* plain -eps_* */
  if (prefix && prefix[0]) {
    PetscCall(EPSSetOptionsPrefix(eps, prefix));
    PetscCall(EPSSetFromOptions(eps)); /* -<prefix>eps_*, overriding */
  }
  PetscCall(EPSSetProblemType(eps, EPS_HEP));
  PetscCall(EPSSetWhichEigenpairs(eps, ewhich));
  /* Default convergence test ||r|| <= tol ||A||, so that eigenvalues near 0 (the null
     space of a Gauss-Newton matrix, the most negative Hessian eigenvalues near a minimum)
     converge as well as the extremes. SLEPc's EPS_CONV_NORM needs MatNorm; for an
     operator given only by products the largest eigenvalues use the relative test
     ||r|| <= tol |lambda| (as ARPACK; at the top |lambda| ~ ||A||), and the smallest get
     ||A|| from a 20-step Lanczos run (largest |Ritz value|, its products counted) and the
     equivalent absolute test. Any -eps_conv_* option wins. */
  {
    const char *const names[] = { "-eps_conv_abs", "-eps_conv_rel", "-eps_conv_norm", "-eps_conv_user" };
    PetscBool         given   = PETSC_FALSE, set;
    for (int i = 0; i < 4; i++) {
      PetscCall(PetscOptionsHasName(NULL, NULL, names[i], &set));
      given = (PetscBool)(given || set);
      if (prefix && prefix[0]) {
        PetscCall(PetscOptionsHasName(NULL, prefix, names[i], &set));
        given = (PetscBool)(given || set);
      }
    }
    if (!given) {
      PetscCall(MatHasOperation(A, MATOP_NORM, &has));
      if (has)
        PetscCall(EPSSetConvergenceTest(eps, EPS_CONV_NORM));
      else if (which == SPD_EIG_LARGEST)
        PetscCall(EPSSetConvergenceTest(eps, EPS_CONV_REL)); /* |lambda_1| ~ ||A|| at the top: no estimate needed */
      else {
        SpdDensity d;
        PetscReal  tol, nrm = 0;
        PetscInt   its;
        PetscCall(SpdDensitySLQ(S, 1, PetscMin(20, N), 20231122, 10, 0, &d));
        for (PetscInt j = 0; j < d.nsteps; j++) nrm = PetscMax(nrm, PetscAbsReal(d.nodes[j]));
        PetscCall(SpdDensityDestroy(&d));
        PetscCall(EPSGetTolerances(eps, &tol, &its));
        if (nrm > 0) {
          PetscCall(EPSSetConvergenceTest(eps, EPS_CONV_ABS));
          PetscCall(EPSSetTolerances(eps, tol * nrm, its));
          normest = nrm;
        }
      }
    }
  }
  PetscCall(EPSGetType(eps, &type));
  PetscCall(PetscObjectTypeCompareAny((PetscObject)eps, &explicitonly, EPSLAPACK, EPSSCALAPACK, EPSELPA, EPSELEMENTAL, EPSFEAST, ""));
  PetscCall(EPSGetST(eps, &st));
  PetscCall(PetscObjectTypeCompareAny((PetscObject)st, &stsolves, STSINVERT, STCAYLEY, ""));
  explicitonly = (PetscBool)(explicitonly || stsolves);
  {
    /* Preconditioned solvers (gd, jd, lobpcg, rqcg): PETSc's default PC (bjacobi, ilu)
       needs the entries of the matrix; on the counting shell use Jacobi when A has a
       diagonal, no preconditioner otherwise, unless -[prefix]st_pc_type says. */
    PetscBool precond, pcset = PETSC_FALSE, pcsetp = PETSC_FALSE;

    PetscCall(PetscObjectTypeCompare((PetscObject)st, STPRECOND, &precond));
    PetscCall(PetscOptionsHasName(NULL, NULL, "-st_pc_type", &pcset));
    if (prefix && prefix[0]) PetscCall(PetscOptionsHasName(NULL, prefix, "-st_pc_type", &pcsetp));
    if (precond && !explicitonly && !pcset && !pcsetp) {
      KSP ksp;
      PC  pc;

      PetscCall(MatHasOperation(A, MATOP_GET_DIAGONAL, &has));
      PetscCall(STGetKSP(st, &ksp));
      PetscCall(KSPGetPC(ksp, &pc));
      PetscCall(PCSetType(pc, has ? PCJACOBI : PCNONE));
    }
  }
  if (explicitonly) PetscCall(EPSSetOperators(eps, A, NULL));
  /* Without trackall SLEPc stops estimating errors at the first unconverged value; the
     estimates come from the projected problem and cost no products. */
  PetscCall(EPSSetTrackAll(eps, PETSC_TRUE));
  PetscCall(EPSMonitorSet(eps, SpdEigSaveEstimates_Private, &last, NULL));

  PetscCall(EPSSolve(eps));
  PetscCall(SpdMatCountingGetCounts(S, &nmult, &nmultt));
  e->nprod = explicitonly ? -1 : nmult + nmultt;
  PetscCall(EPSGetIterationNumber(eps, &e->its));
  PetscCall(EPSGetTolerances(eps, &e->tol, &maxit));
  if (normest > 0) e->tol /= normest; /* report the tolerance relative to ||A|| */
  PetscCall(PetscStrncpy(e->solver, type, sizeof(e->solver)));
  PetscCall(EPSGetConvergenceTest(eps, &conv));
  PetscCall(EPSGetConverged(eps, &nconv));
  e->nconv = PetscMin(nconv, k);

  if (e->nconv > 0) {
    Vec       x, *X;
    PetscReal sign = which == SPD_EIG_LARGEST ? -1.0 : 1.0; /* sort key: sign * lambda ascending */

    PetscCall(MatCreateVecs(A, &x, NULL));
    PetscCall(VecDuplicateVecs(x, e->nconv, &X));
    PetscCall(VecDestroy(&x));
    for (PetscInt i = 0; i < e->nconv; i++) {
      PetscScalar kr;
      PetscCall(EPSGetEigenpair(eps, i, &kr, NULL, X[i], NULL));
      PetscCall(VecNormalize(X[i], NULL));
      e->lambda[i]    = PetscRealPart(kr);
      e->converged[i] = PETSC_TRUE;
    }
    /* SLEPc returns them sorted by `which`; insertion sort guards the documented order
       (a no-op unless a solver's locking left two values swapped). */
    for (PetscInt i = 1; i < e->nconv; i++) {
      for (PetscInt j = i; j > 0 && sign * e->lambda[j] < sign * e->lambda[j - 1]; j--) {
        PetscReal t      = e->lambda[j];
        Vec       v      = X[j];
        e->lambda[j]     = e->lambda[j - 1];
        X[j]             = X[j - 1];
        e->lambda[j - 1] = t;
        X[j - 1]         = v;
      }
    }
    PetscCall(SpdEigResiduals_Private(A, e->nconv, e->lambda, X, e->residual));
    if (vectors)
      e->X = X;
    else
      PetscCall(VecDestroyVecs(e->nconv, &X));
    if (e->nprod >= 0) e->nprod += e->nconv;
  }
  /* Unconverged: the last Ritz values and the convergence test's error estimate made
     absolute (relative test: err |lambda|); NaN where the solver gave nothing. */
  for (PetscInt i = e->nconv; i < k; i++) {
    e->converged[i] = PETSC_FALSE;
    e->lambda[i]    = i < last.nest ? last.lambda[i] : (PetscReal)NAN;
    e->residual[i]  = (PetscReal)NAN;
    if (i < last.nest) {
      if (conv == EPS_CONV_ABS)
        e->residual[i] = last.errest[i];
      else if (conv == EPS_CONV_REL)
        e->residual[i] = last.errest[i] * PetscAbsReal(last.lambda[i]);
      else if (conv == EPS_CONV_NORM) { /* SLEPc scales by ||A||_inf (symmetric: = ||A||_1) */
        PetscReal nrm;
        PetscCall(MatNorm(A, NORM_INFINITY, &nrm));
        e->residual[i] = last.errest[i] * nrm;
      }
    }
  }
  if (e->nconv < k) PetscCall(PetscInfo(A, "%s solve: %" PetscInt_FMT " of %" PetscInt_FMT " eigenpairs converged in %" PetscInt_FMT " iterations\n", which == SPD_EIG_LARGEST ? "largest" : "smallest", e->nconv, k, e->its));
  PetscCall(PetscFree2(last.lambda, last.errest));
  PetscCall(EPSDestroy(&eps));
  PetscCall(MatDestroy(&S));
  PetscCall(PetscLogEventEnd(SPD_EigExtreme, A, 0, 0, 0));
  PetscFunctionReturn(0);
}

/*@C
  SpdEigenpairsDestroy - free the arrays and vectors of an SpdEigenpairs

  Collective on the vectors' communicator (when vectors were requested)

  Input Parameter:
. e - the pairs; zeroed on return

.seealso: SpdEigExtreme()
@*/
PetscErrorCode SpdEigenpairsDestroy(SpdEigenpairs *e)
{
  PetscFunctionBegin;
  if (!e) PetscFunctionReturn(0);
  PetscCall(PetscFree3(e->lambda, e->residual, e->converged));
  if (e->X) PetscCall(VecDestroyVecs(e->nconv, &e->X));
  PetscCall(PetscMemzero(e, sizeof(*e)));
  PetscFunctionReturn(0);
}
