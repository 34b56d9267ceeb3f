/* Stochastic trace estimators of symmetric operators from products only.

   Hutchinson: tr(A) = E[z^T A z] for Rademacher z (entries +-1 with probability 1/2);
   the variance of one sample is 2 (||A||_F^2 - sum_i a_ii^2).
   Hutch++: sketch S (N x m Rademacher), Q = orth(A S), then
     tr(A) = tr(Q^T A Q) + tr((I - QQ^T) A (I - QQ^T)),
   the first term exact, the second estimated by Hutchinson on g - Q Q^T g. With a
   decaying spectrum the deflated remainder has a much smaller Frobenius norm, so the
   error falls like 1/nprod instead of 1/sqrt(nprod).

   References: M. F. Hutchinson, A stochastic estimator of the trace of the influence
   matrix for Laplacian smoothing splines, Commun. Stat. Simul. Comput. 18 (1989)
   1059-1076; R. A. Meyer, C. Musco, C. Musco, D. P. Woodruff, Hutch++: optimal
   stochastic trace estimation, SOSA 2021, 142-155.

   Probes are functions of (seed, probe number, global index) only, so every estimate is
   the same for any number of ranks (up to the order of the reductions). */
#include <specdyn/eig.h>
#include <specdyn/operator.h>
#include <specdyn/sys.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */
#include <stdint.h>
#include <math.h>

#define SPD_TRACE_BLOCK 64 /* probes multiplied together (one pass over a dense A) */

static PetscLogEvent SPD_Trace;
static PetscBool     SpdTracePackageInitialized = PETSC_FALSE;

static PetscErrorCode SpdTraceFinalizePackage_Private(void)
{
  PetscFunctionBegin;
  SpdTracePackageInitialized = PETSC_FALSE;
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdTraceInitializePackage_Private(void)
{
  PetscFunctionBegin;
  if (SpdTracePackageInitialized) PetscFunctionReturn(0);
  SpdTracePackageInitialized = PETSC_TRUE;
  PetscCall(PetscLogEventRegister("SpdTrace", SPD_CLASSID, &SPD_Trace));
  PetscCall(PetscRegisterFinalize(SpdTraceFinalizePackage_Private));
  PetscFunctionReturn(0);
}

/* SplitMix64's output function (Steele, Lea, Flood 2014): a bijection of 64-bit words
   whose output bits all depend on all input bits. */
static inline uint64_t SpdMix64(uint64_t z)
{
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/*@C
  SpdProbeRademacher - fill v with Rademacher probe number `probe` of seed `seed`

  Collective on v (not collective in practice: each rank fills its own entries)

  Input Parameters:
+ v     - the vector
. seed  - the seed of the probe family
- probe - the probe number (>= 0)

  Notes:
  Entry i (global index) is +1 or -1 from the top bit of a counter-based hash
  h = mix(mix(mix(seed) ^ probe) ^ i), mix being SplitMix64's finalizer: no state, so
  the vector is the same for any number of ranks and any layout, and probes of distinct
  (seed, probe) are independent for every practical purpose.

.seealso: SpdTraceHutchinson(), SpdTraceHutchPP(), SpdDensitySLQ()
@*/
PetscErrorCode SpdProbeRademacher(Vec v, PetscInt64 seed, PetscInt probe)
{
  PetscInt     rstart, rend;
  PetscScalar *a;
  uint64_t     hp;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(v, VEC_CLASSID, 1);
  PetscCheck(probe >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdProbeRademacher: probe number %" PetscInt_FMT " is negative; probes are numbered from 0", probe);
  hp = SpdMix64(SpdMix64((uint64_t)seed) ^ (uint64_t)probe);
  PetscCall(VecGetOwnershipRange(v, &rstart, &rend));
  PetscCall(VecGetArrayWrite(v, &a));
  for (PetscInt i = rstart; i < rend; i++) a[i - rstart] = (SpdMix64(hp ^ (uint64_t)i) >> 63) ? -1.0 : 1.0;
  PetscCall(VecRestoreArrayWrite(v, &a));
  PetscFunctionReturn(0);
}

/* Mean and standard error (sample standard deviation / sqrt(n)) of n samples; NaN
   standard error for a single sample. Two passes: the samples can be large and close. */
static void SpdMeanStdErr_Private(PetscInt n, const PetscReal s[], PetscReal *mean, PetscReal *stderror)
{
  PetscReal m = 0, ss = 0;

  for (PetscInt j = 0; j < n; j++) m += s[j];
  m /= n;
  for (PetscInt j = 0; j < n; j++) ss += (s[j] - m) * (s[j] - m);
  *mean     = m;
  *stderror = n > 1 ? PetscSqrtReal(ss / (n - 1) / n) : (PetscReal)NAN;
}

/* s[j] = w_j^T A w_j for probes first .. first+n-1, each deflated by Q (nq orthonormal
   vectors, w = g - Q Q^T g) when nq > 0. */
static PetscErrorCode SpdQuadraticForms_Private(Mat A, PetscInt64 seed, PetscInt first, PetscInt n, PetscInt nq, Vec Q[], PetscReal s[])
{
  Vec         *W, *Y, x;
  PetscScalar *h = NULL, d[SPD_TRACE_BLOCK];

  PetscFunctionBegin;
  PetscCall(MatCreateVecs(A, &x, NULL));
  PetscCall(VecDuplicateVecs(x, SPD_TRACE_BLOCK, &W));
  PetscCall(VecDuplicateVecs(x, SPD_TRACE_BLOCK, &Y));
  PetscCall(VecDestroy(&x));
  if (nq > 0) PetscCall(PetscMalloc1(nq, &h));
  for (PetscInt c = 0; c < n; c += SPD_TRACE_BLOCK) {
    PetscInt b = PetscMin(SPD_TRACE_BLOCK, n - c);
    for (PetscInt j = 0; j < b; j++) {
      PetscCall(SpdProbeRademacher(W[j], seed, first + c + j));
      if (nq > 0) {
        PetscCall(VecMDot(W[j], nq, Q, h));
        for (PetscInt i = 0; i < nq; i++) h[i] = -h[i];
        PetscCall(VecMAXPY(W[j], nq, h, Q));
      }
    }
    PetscCall(SpdMatMultBlock(A, b, W, Y));
    for (PetscInt j = 0; j < b; j++) PetscCall(VecDotBegin(Y[j], W[j], &d[j]));
    for (PetscInt j = 0; j < b; j++) PetscCall(VecDotEnd(Y[j], W[j], &d[j]));
    for (PetscInt j = 0; j < b; j++) s[c + j] = PetscRealPart(d[j]);
  }
  PetscCall(PetscFree(h));
  PetscCall(VecDestroyVecs(SPD_TRACE_BLOCK, &W));
  PetscCall(VecDestroyVecs(SPD_TRACE_BLOCK, &Y));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdTraceCheckOperator_Private(Mat A, const char caller[])
{
  PetscInt M, N, mloc, nloc;

  PetscFunctionBegin;
  PetscCall(MatGetSize(A, &M, &N));
  PetscCall(MatGetLocalSize(A, &mloc, &nloc));
  PetscCheck(M == N, PetscObjectComm((PetscObject)A), PETSC_ERR_ARG_SIZ, "%s: the operator is %" PetscInt_FMT " x %" PetscInt_FMT "; a trace needs a square operator", caller, M, N);
  PetscCheck(mloc == nloc, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "%s: local rows %" PetscInt_FMT " differ from local columns %" PetscInt_FMT "; create the operator with equal row and column layouts", caller, mloc, nloc);
  PetscFunctionReturn(0);
}

/*@C
  SpdTraceHutchinson - Hutchinson's estimate of tr(A) with Rademacher probes

  Collective on A

  Input Parameters:
+ A      - the N x N operator (symmetric in practice; only MatMult is used)
. nprobe - number of probes (= products with A), >= 1
- seed   - seed of the probes (probes 0 .. nprobe-1 of SpdProbeRademacher())

  Output Parameters:
+ trace    - mean of z_j^T A z_j
- stderror - sample standard deviation of z_j^T A z_j over sqrt(nprobe); NaN when
             nprobe = 1

  Notes:
  Probes are multiplied 64 at a time through SpdMatMultBlock(). For diagonal A the
  estimate is exact (z_i^2 = 1). Logged as the event SpdTrace.

.seealso: SpdTraceHutchPP(), SpdProbeRademacher()
@*/
PetscErrorCode SpdTraceHutchinson(Mat A, PetscInt nprobe, PetscInt64 seed, PetscReal *trace, PetscReal *stderror)
{
  PetscReal *s;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(A, MAT_CLASSID, 1);
  PetscValidRealPointer(trace, 4);
  PetscValidRealPointer(stderror, 5);
  PetscCall(SpdTraceInitializePackage_Private());
  PetscCall(SpdTraceCheckOperator_Private(A, "SpdTraceHutchinson"));
  PetscCheck(nprobe >= 1, PetscObjectComm((PetscObject)A), PETSC_ERR_ARG_OUTOFRANGE, "SpdTraceHutchinson: nprobe = %" PetscInt_FMT "; use at least 1 probe (at least 2 for a standard error)", nprobe);
  PetscCall(PetscLogEventBegin(SPD_Trace, A, 0, 0, 0));
  PetscCall(PetscMalloc1(nprobe, &s));
  PetscCall(SpdQuadraticForms_Private(A, seed, 0, nprobe, 0, NULL, s));
  SpdMeanStdErr_Private(nprobe, s, trace, stderror);
  PetscCall(PetscFree(s));
  PetscCall(PetscLogEventEnd(SPD_Trace, A, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Orthonormal basis of span(Y) by classical Gram-Schmidt run twice ("twice is enough",
   Giraud, Langou, Rozloznik 2005). A column whose norm falls below 1e-10 of its
   original norm lies in the span of the previous ones to working accuracy and is
   dropped: any orthonormal Q computed from S alone keeps Hutch++ unbiased. Returns the
   number r of columns kept in Q[0..r-1]. */
static PetscErrorCode SpdOrthonormalize_Private(PetscInt m, Vec Y[], Vec Q[], PetscInt *r)
{
  PetscScalar *h;
  PetscInt     nq = 0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(PetscMax(m, 1), &h));
  for (PetscInt j = 0; j < m; j++) {
    PetscReal nrm0, nrm;
    PetscCall(VecCopy(Y[j], Q[nq]));
    PetscCall(VecNorm(Q[nq], NORM_2, &nrm0));
    if (nrm0 == 0) continue;
    for (PetscInt pass = 0; pass < 2 && nq > 0; pass++) {
      PetscCall(VecMDot(Q[nq], nq, Q, h));
      for (PetscInt i = 0; i < nq; i++) h[i] = -h[i];
      PetscCall(VecMAXPY(Q[nq], nq, h, Q));
    }
    PetscCall(VecNorm(Q[nq], NORM_2, &nrm));
    if (nrm <= 1e-10 * nrm0) continue;
    PetscCall(VecScale(Q[nq], 1.0 / nrm));
    nq++;
  }
  PetscCall(PetscFree(h));
  *r = nq;
  PetscFunctionReturn(0);
}

/*@C
  SpdTraceHutchPP - the Hutch++ estimate of tr(A) with `nprod` products

  Collective on A

  Input Parameters:
+ A     - the N x N symmetric operator
. nprod - products with A in total, >= 3
- seed  - seed of the probes

  Output Parameters:
+ trace    - tr(Q^T A Q) + Hutchinson's estimate of tr((I - QQ^T) A (I - QQ^T))
- stderror - standard error of the Hutchinson part (the first term is exact); NaN with
             a single Hutchinson probe

  Notes:
  m = floor(nprod/3): the sketch S is probes 0..m-1 of `seed`, Q = orth(A S) (m
  products; classical Gram-Schmidt twice, numerically dependent columns dropped), the
  exact part takes rank(Q) <= m products, and the Hutchinson part the remaining
  nprod - 2m >= m probes, numbered m, m+1, ... of `seed` (so independent of S). When Q
  spans the range of A (m >= rank A) the estimate is exact.
  Logged as the event SpdTrace.

.seealso: SpdTraceHutchinson(), SpdProbeRademacher()
@*/
PetscErrorCode SpdTraceHutchPP(Mat A, PetscInt nprod, PetscInt64 seed, PetscReal *trace, PetscReal *stderror)
{
  PetscInt     m, ng, r;
  Vec          x, *Y, *Q;
  PetscReal   *s, exact = 0, est;
  PetscScalar *d;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(A, MAT_CLASSID, 1);
  PetscValidRealPointer(trace, 4);
  PetscValidRealPointer(stderror, 5);
  PetscCall(SpdTraceInitializePackage_Private());
  PetscCall(SpdTraceCheckOperator_Private(A, "SpdTraceHutchPP"));
  PetscCheck(nprod >= 3, PetscObjectComm((PetscObject)A), PETSC_ERR_ARG_OUTOFRANGE, "SpdTraceHutchPP: nprod = %" PetscInt_FMT " products; Hutch++ needs at least 3 (one each for the sketch, the exact part and a probe), at least 6 for a standard error", nprod);
  PetscCall(PetscLogEventBegin(SPD_Trace, A, 0, 0, 0));
  m  = nprod / 3;
  ng = nprod - 2 * m;

  PetscCall(MatCreateVecs(A, &x, NULL));
  PetscCall(VecDuplicateVecs(x, m, &Y));
  PetscCall(VecDuplicateVecs(x, m, &Q));
  PetscCall(VecDestroy(&x));
  /* Y = A S, then Q = orth(Y); S is built in Q's storage, which the QR overwrites. */
  for (PetscInt j = 0; j < m; j++) PetscCall(SpdProbeRademacher(Q[j], seed, j));
  for (PetscInt c = 0; c < m; c += SPD_TRACE_BLOCK) PetscCall(SpdMatMultBlock(A, PetscMin(SPD_TRACE_BLOCK, m - c), Q + c, Y + c));
  PetscCall(SpdOrthonormalize_Private(m, Y, Q, &r));
  if (r < m) PetscCall(PetscInfo(A, "Hutch++ sketch of %" PetscInt_FMT " columns has numerical rank %" PetscInt_FMT "\n", m, r));

  /* tr(Q^T A Q) = sum_i q_i^T (A q_i), reusing Y's storage for A Q. */
  PetscCall(PetscMalloc1(PetscMax(r, 1), &d));
  for (PetscInt c = 0; c < r; c += SPD_TRACE_BLOCK) PetscCall(SpdMatMultBlock(A, PetscMin(SPD_TRACE_BLOCK, r - c), Q + c, Y + c));
  for (PetscInt i = 0; i < r; i++) PetscCall(VecDotBegin(Y[i], Q[i], &d[i]));
  for (PetscInt i = 0; i < r; i++) PetscCall(VecDotEnd(Y[i], Q[i], &d[i]));
  for (PetscInt i = 0; i < r; i++) exact += PetscRealPart(d[i]);
  PetscCall(PetscFree(d));
  PetscCall(VecDestroyVecs(m, &Y));

  PetscCall(PetscMalloc1(ng, &s));
  PetscCall(SpdQuadraticForms_Private(A, seed, m, ng, r, Q, s));
  SpdMeanStdErr_Private(ng, s, &est, stderror);
  *trace = exact + est;
  PetscCall(PetscFree(s));
  PetscCall(VecDestroyVecs(m, &Q));
  PetscCall(PetscLogEventEnd(SPD_Trace, A, 0, 0, 0));
  PetscFunctionReturn(0);
}
