/* Input-output Jacobians with fixed gates: J_{l:k} = A_l G_{l-1} A_{l-1} ... G_k A_k.

   Layout: the rows of every width w_j are split over the ranks as PetscSplitOwnership
   does (the default Vec layout). Each rank keeps its rows of every factor A_j = a_j W_j
   (row-major, nloc_j x w_{j-1}). A block of m vectors is a row-major nloc x m array, so
   gathering a whole block is one MPI_Allgatherv and its rows land in order.
     forward  Y = A_j X:   gather X (w_{j-1} x m) on every rank, then a local gemm;
     adjoint  X = A_j^T Y: local gemm into a full w_{j-1} x m array, then
                           MPI_Reduce_scatter (sum, each rank keeps its rows).
   Gates are diagonal, so each rank applies its own entries.

   The random ensemble draws row i of factor j from the counter-based stream
   (seed, weight, j, i) and the gate of unit i of layer j from (seed, gate, j, i):
   splitmix64 (Steele, Lea, Flood 2014) as both hash and generator, normals by
   Box-Muller. The draws do not depend on the rank count. */
#include "jacobianimpl.h"
#include "mlpimpl.h"
#include <petscblaslapack.h>

/* ---- counter-based random streams ------------------------------------------ */
uint64_t SpdJacobianStream_Private(PetscInt64 seed, uint64_t tag, uint64_t j, uint64_t i)
{
  uint64_t s = (uint64_t)seed, h;

  h = SpdSplitMix64(&s);
  s = h ^ (tag * 0xD1B54A32D192ED03ULL);
  h = SpdSplitMix64(&s);
  s = h ^ j;
  h = SpdSplitMix64(&s);
  s = h ^ (i * 0x8CB92BA72F3D8DD7ULL);
  return SpdSplitMix64(&s);
}

double SpdJacobianUniform_Private(uint64_t *state) { return (double)(SpdSplitMix64(state) >> 11) * 0x1.0p-53; }

void SpdJacobianNormals_Private(uint64_t *state, PetscInt n, PetscReal z[])
{
  for (PetscInt i = 0; i < n; i += 2) {
    double u1 = 1.0 - SpdJacobianUniform_Private(state), u2 = SpdJacobianUniform_Private(state);
    double r = PetscSqrtReal(-2.0 * PetscLogReal(u1)), t = 2.0 * PETSC_PI * u2;
    z[i] = r * PetscCosReal(t);
    if (i + 1 < n) z[i + 1] = r * PetscSinReal(t);
  }
}

/* ---- creation ---------------------------------------------------------------- */
static PetscErrorCode SpdJacobianAlloc_Private(MPI_Comm comm, PetscInt L, const PetscInt w[], SpdJacobian *jac)
{
  SpdJacobian J;

  PetscFunctionBegin;
  PetscCall(PetscNew(&J));
  PetscCall(PetscCommDuplicate(comm, &J->comm, NULL));
  PetscCallMPI(MPI_Comm_size(comm, &J->size));
  PetscCallMPI(MPI_Comm_rank(comm, &J->rank));
  J->refct = 1;
  J->L     = L;
  PetscCall(PetscMalloc4(L + 1, &J->w, L + 1, &J->range, L + 1, &J->nloc, L + 1, &J->scale));
  PetscCall(PetscCalloc2(L + 1, &J->W, L + 1, &J->g));
  PetscCall(PetscMalloc2(J->size, &J->cnt, J->size, &J->dsp));
  for (PetscInt j = 0; j <= L; j++) {
    J->w[j] = w[j];
    PetscCall(PetscMalloc1(J->size + 1, &J->range[j]));
    J->range[j][0] = 0;
    for (PetscMPIInt p = 0; p < J->size; p++) J->range[j][p + 1] = J->range[j][p] + w[j] / J->size + ((w[j] % J->size) > p);
    J->nloc[j]  = J->range[j][J->rank + 1] - J->range[j][J->rank];
    J->maxw     = PetscMax(J->maxw, w[j]);
    J->maxloc   = PetscMax(J->maxloc, J->nloc[j]);
    J->scale[j] = 1.0;
  }
  *jac = J;
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianCreateMLP - the input-output Jacobian of an MLP at an input, with fixed gates

  Collective on comm

  Input Parameters:
+ mlp  - the model (replicated on every rank of comm)
. x    - the input, length w_0, the same on every rank
- comm - the communicator of the products (every rank holds mlp)

  Output Parameter:
. J - the layered product: A_j = a_j W_j, gates g_j = phi'(z_j(x)), j = 1..L-1

  Notes:
  One forward pass, row-distributed: each rank computes its rows of z_j and the layer
  outputs are gathered for the next layer. Each rank keeps a copy of its rows of the
  weights, so the MLP may be destroyed or changed afterwards.
  For ReLU the gate at z = 0 is 0 (the convention of the model layer).

.seealso: `SpdJacobianCreateMat()`, `SpdJacobianLyapunov()`, `SpdMatCreateInputJacobian()`
@*/
PetscErrorCode SpdJacobianCreateMLP(SpdMLP mlp, const PetscReal x[], MPI_Comm comm, SpdJacobian *jac)
{
  SpdJacobian          J;
  PetscInt             L;
  const PetscInt      *width;
  const SpdActivation *act;
  const PetscBool     *bias;
  const PetscReal     *a, *c;
  PetscReal            slope, *theta, *h, *hn, *z;

  PetscFunctionBegin;
  PetscCheck(jac, comm, PETSC_ERR_ARG_NULL, "SpdJacobianCreateMLP: the output pointer is NULL");
  PetscCheck(mlp, comm, PETSC_ERR_ARG_NULL, "SpdJacobianCreateMLP: the MLP is NULL; create it with SpdMLPCreate() or SpdMLPCreateFromCheckpoint()");
  PetscCheck(x, comm, PETSC_ERR_ARG_NULL, "SpdJacobianCreateMLP: the input x is NULL; pass the w_0 input features");
  PetscCall(SpdMLPGetArchitecture(mlp, &L, &width, &act, &bias, &a, &c, &slope));
  PetscCall(SpdMLPGetParameters(mlp, &theta));
  {
    PetscReal sum[2] = { 0, 0 }, mx[2];
    for (PetscInt i = 0; i < width[0]; i++) {
      PetscCheck(!PetscIsInfOrNanReal(x[i]), PETSC_COMM_SELF, PETSC_ERR_FP, "SpdJacobianCreateMLP: input feature %" PetscInt_FMT " is %g; the input must be finite", i, (double)x[i]);
      sum[0] += (i + 1) * x[i];
    }
    sum[1] = -sum[0];
    PetscCallMPI(MPI_Allreduce(sum, mx, 2, MPIU_REAL, MPIU_MAX, comm));
    PetscCheck(mx[0] == -mx[1], comm, PETSC_ERR_ARG_WRONG, "SpdJacobianCreateMLP: the input x differs between the ranks of the communicator; pass the same x on every rank");
  }
  PetscCall(SpdJacobianAlloc_Private(comm, L, width, &J));
  PetscCall(PetscMalloc3(J->maxw, &h, J->maxw, &hn, J->maxloc + 1, &z));
  PetscCall(PetscArraycpy(h, x, width[0]));
  for (PetscInt j = 1; j <= L; j++) {
    PetscInt woff, boff, in = width[j - 1], r0 = J->range[j][J->rank], n = J->nloc[j];

    PetscCall(SpdMLPGetLayerBlock(mlp, j - 1, &woff, NULL, &boff, NULL));
    J->scale[j] = a[j - 1];
    PetscCall(PetscMalloc1((size_t)n * in + 1, &J->W[j]));
    PetscCall(PetscArraycpy(J->W[j], theta + woff + (size_t)r0 * in, (size_t)n * in));
    if (j == L) break; /* the output layer has no gate */
    PetscCall(SpdGemm("T", "N", n, 1, in, a[j - 1], J->W[j], in, h, in, 0.0, z, PetscMax(n, 1)));
    PetscCall(PetscMalloc1(n + 1, &J->g[j]));
    for (PetscInt r = 0; r < n; r++) {
      PetscReal f = 0, d = 0, d2 = 0;
      if (bias[j - 1]) z[r] += c[j - 1] * theta[boff + r0 + r];
      SpdActEval(act[j - 1], slope, z[r], &f, &d, &d2);
      J->g[j][r] = d;
      z[r]       = f;
    }
    PetscCall(SpdJacobianGather_Private(J, j, 1, z, hn));
    PetscCall(PetscArraycpy(h, hn, width[j]));
  }
  PetscCall(PetscFree3(h, hn, z));
  *jac = J;
  PetscFunctionReturn(0);
}

/* Local rows of W_j, generated when the ensemble is not stored. */
static PetscErrorCode SpdJacobianRows_Private(SpdJacobian J, PetscInt j, const PetscReal **W)
{
  PetscFunctionBegin;
  if (J->W[j]) {
    *W = J->W[j];
    PetscFunctionReturn(0);
  }
  for (PetscInt r = 0; r < J->nloc[j]; r++) {
    uint64_t st = SpdJacobianStream_Private(J->seed, SPD_JAC_TAG_WEIGHT, (uint64_t)j, (uint64_t)(J->range[j][J->rank] + r));
    SpdJacobianNormals_Private(&st, J->w[j - 1], J->Wgen + (size_t)r * J->w[j - 1]);
  }
  *W = J->Wgen;
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianCreateGaussian - products of Gaussian matrices with optional random gates

  Collective

  Input Parameters:
+ comm  - communicator of the products
. d     - width of every factor (d x d)
. depth - number of factors L
. s     - standard deviation of the entries: A_j has i.i.d. N(0, s^2) entries
. p     - probability that a gate is on, in (0, 1]; p = 1: no gates (pure products)
- seed  - seed of the ensemble

  Output Parameter:
. J - J_{l:k} = A_l G_{l-1} ... G_k A_k with G_j = diag(g_j), g_j[i] in {0, 1}

  Notes:
  Each rank stores its rows of the factors when they take at most 2^24 numbers per rank
  (128 MiB; option -jacobian_gaussian_store_max <n>), and otherwise regenerates them at
  every product (a product then costs about as much as drawing the factors). The
  ensemble is the same for any rank count and either way.
  Lyapunov spectrum for p = 1 (Newman 1986): lambda_i = log s + 1/2 [log 2 + psi((d-i+1)/2)].

.seealso: `SpdJacobianLyapunov()`, `SpdJacobianCreateMLP()`
@*/
PetscErrorCode SpdJacobianCreateGaussian(MPI_Comm comm, PetscInt d, PetscInt depth, PetscReal s, PetscReal p, PetscInt64 seed, SpdJacobian *jac)
{
  SpdJacobian J;
  PetscInt   *w, storemax = 1 << 24;
  size_t      total;

  PetscFunctionBegin;
  PetscCheck(jac, comm, PETSC_ERR_ARG_NULL, "SpdJacobianCreateGaussian: the output pointer is NULL");
  PetscCheck(d >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianCreateGaussian: width d = %" PetscInt_FMT " must be >= 1", d);
  PetscCheck(depth >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianCreateGaussian: depth = %" PetscInt_FMT " must be >= 1", depth);
  PetscCheck(s > 0 && PetscIsNormalReal(s), comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianCreateGaussian: standard deviation s = %g must be positive and finite", (double)s);
  PetscCheck(p > 0 && p <= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianCreateGaussian: gate probability p = %g must be in (0, 1]", (double)p);
  PetscCall(PetscMalloc1(depth + 1, &w));
  for (PetscInt j = 0; j <= depth; j++) w[j] = d;
  PetscCall(SpdJacobianAlloc_Private(comm, depth, w, &J));
  PetscCall(PetscFree(w));
  J->generate = PETSC_TRUE;
  J->seed     = seed;
  PetscCall(PetscMalloc1((size_t)J->maxloc * d + 1, &J->Wgen));
  total = (size_t)J->maxloc * d * depth;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-jacobian_gaussian_store_max", &storemax, NULL));
  for (PetscInt j = 1; j <= depth; j++) {
    J->scale[j] = s;
    if (storemax >= 0 && total <= (size_t)storemax) {
      const PetscReal *W;
      PetscCall(SpdJacobianRows_Private(J, j, &W));
      PetscCall(PetscMalloc1((size_t)J->nloc[j] * d + 1, &J->W[j]));
      PetscCall(PetscArraycpy(J->W[j], W, (size_t)J->nloc[j] * d));
    }
    if (p < 1 && j < depth) {
      PetscCall(PetscMalloc1(J->nloc[j] + 1, &J->g[j]));
      for (PetscInt r = 0; r < J->nloc[j]; r++) {
        uint64_t st = SpdJacobianStream_Private(seed, SPD_JAC_TAG_GATE, (uint64_t)j, (uint64_t)(J->range[j][J->rank] + r));
        J->g[j][r]  = SpdJacobianUniform_Private(&st) < p ? 1.0 : 0.0;
      }
    }
  }
  *jac = J;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdJacobianGetSizes(SpdJacobian J, PetscInt *L, const PetscInt *w[])
{
  PetscFunctionBegin;
  if (L) *L = J->L;
  if (w) *w = J->w;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdJacobianCreateVec(SpdJacobian J, PetscInt j, Vec *v)
{
  PetscFunctionBegin;
  PetscCheck(j >= 0 && j <= J->L, J->comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianCreateVec: width index %" PetscInt_FMT " is outside 0..%" PetscInt_FMT, j, J->L);
  PetscCall(VecCreateMPI(J->comm, J->nloc[j], J->w[j], v));
  PetscFunctionReturn(0);
}

/* ---- products ------------------------------------------------------------------ */
static PetscErrorCode SpdJacobianCounts_Private(SpdJacobian J, PetscInt j, PetscInt m)
{
  PetscFunctionBegin;
  for (PetscMPIInt p = 0; p < J->size; p++) {
    PetscCall(PetscMPIIntCast((J->range[j][p + 1] - J->range[j][p]) * m, &J->cnt[p]));
    PetscCall(PetscMPIIntCast(J->range[j][p] * m, &J->dsp[p]));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode SpdJacobianGather_Private(SpdJacobian J, PetscInt j, PetscInt m, const PetscReal loc[], PetscReal full[])
{
  PetscFunctionBegin;
  PetscCall(SpdJacobianCounts_Private(J, j, m));
  PetscCallMPI(MPI_Allgatherv(loc, J->cnt[J->rank], MPIU_REAL, full, J->cnt, J->dsp, MPIU_REAL, J->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdJacobianLayerForward_Private(SpdJacobian J, PetscInt j, PetscInt m, const PetscReal X[], PetscBool gate_before, PetscReal Y[])
{
  PetscInt         in = J->w[j - 1], nin = J->nloc[j - 1];
  PetscReal       *full, *buf            = NULL;
  const PetscReal *src = X, *W;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1((size_t)in * m + 1, &full));
  if (gate_before && J->g[j - 1]) {
    const PetscReal *g = J->g[j - 1];
    PetscCall(PetscMalloc1((size_t)nin * m + 1, &buf));
    for (PetscInt r = 0; r < nin; r++)
      for (PetscInt c = 0; c < m; c++) buf[r * m + c] = g[r] * X[r * m + c];
    src = buf;
  }
  PetscCall(SpdJacobianGather_Private(J, j - 1, m, src, full));
  PetscCall(SpdJacobianRows_Private(J, j, &W));
  /* Y^T (m x nloc_j) = full^T (m x in) W_loc^T (in x nloc_j), all column-major views */
  PetscCall(SpdGemm("N", "N", m, J->nloc[j], in, J->scale[j], full, m, W, in, 0.0, Y, m));
  PetscCall(PetscFree(buf));
  PetscCall(PetscFree(full));
  PetscFunctionReturn(0);
}

/* X (width w[j-1]) = G_{j-1} A_j^T Y (G_{j-1} only when gate_after). */
static PetscErrorCode SpdJacobianLayerTranspose_Private(SpdJacobian J, PetscInt j, PetscInt m, const PetscReal Y[], PetscBool gate_after, PetscReal X[])
{
  PetscInt         in = J->w[j - 1], nin = J->nloc[j - 1];
  PetscReal       *full;
  const PetscReal *W;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1((size_t)in * m + 1, &full));
  PetscCall(SpdJacobianRows_Private(J, j, &W));
  /* full^T (m x in) = Y^T (m x nloc_j) W_loc (nloc_j x in) */
  PetscCall(SpdGemm("N", "T", m, in, J->nloc[j], J->scale[j], Y, m, W, in, 0.0, full, m));
  PetscCall(SpdJacobianCounts_Private(J, j - 1, m));
  PetscCallMPI(MPI_Reduce_scatter(full, X, J->cnt, MPIU_REAL, MPIU_SUM, J->comm));
  if (gate_after && J->g[j - 1]) {
    const PetscReal *g = J->g[j - 1];
    for (PetscInt r = 0; r < nin; r++)
      for (PetscInt c = 0; c < m; c++) X[r * m + c] *= g[r];
  }
  PetscCall(PetscFree(full));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdJacobianCheckRange_Private(SpdJacobian J, PetscInt k, PetscInt l, const char fn[])
{
  PetscFunctionBegin;
  PetscCheck(1 <= k && k <= l && l <= J->L, J->comm, PETSC_ERR_ARG_OUTOFRANGE, "%s: layers k = %" PetscInt_FMT " .. l = %" PetscInt_FMT " are not a range of 1..%" PetscInt_FMT " (J_{l:k} needs 1 <= k <= l <= L)", fn, k, l, J->L);
  PetscFunctionReturn(0);
}

/* Y (width w_l) = J_{l:k} X (width w_{k-1}), blocks of m columns, local rows row-major. */
static PetscErrorCode SpdJacobianApplyBlock_Private(SpdJacobian J, PetscInt k, PetscInt l, PetscInt m, const PetscReal X[], PetscReal Y[])
{
  PetscReal       *t[2];
  const PetscReal *cur = X;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2((size_t)J->maxloc * m + 1, &t[0], (size_t)J->maxloc * m + 1, &t[1]));
  for (PetscInt j = k; j <= l; j++) {
    PetscReal *out = j == l ? Y : t[j % 2];
    PetscCall(SpdJacobianLayerForward_Private(J, j, m, cur, j > k ? PETSC_TRUE : PETSC_FALSE, out));
    cur = out;
  }
  PetscCall(PetscFree2(t[0], t[1]));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdJacobianApplyTransposeBlock_Private(SpdJacobian J, PetscInt k, PetscInt l, PetscInt m, const PetscReal Y[], PetscReal X[])
{
  PetscReal       *t[2];
  const PetscReal *cur = Y;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2((size_t)J->maxloc * m + 1, &t[0], (size_t)J->maxloc * m + 1, &t[1]));
  for (PetscInt j = l; j >= k; j--) {
    PetscReal *out = j == k ? X : t[j % 2];
    PetscCall(SpdJacobianLayerTranspose_Private(J, j, m, cur, j > k ? PETSC_TRUE : PETSC_FALSE, out));
    cur = out;
  }
  PetscCall(PetscFree2(t[0], t[1]));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdJacobianCheckVec_Private(SpdJacobian J, Vec v, PetscInt j, const char fn[], const char what[])
{
  PetscInt n, N;

  PetscFunctionBegin;
  PetscCall(VecGetSize(v, &N));
  PetscCall(VecGetLocalSize(v, &n));
  PetscCheck(N == J->w[j] && n == J->nloc[j], J->comm, PETSC_ERR_ARG_SIZ, "%s: %s has size %" PetscInt_FMT " (local %" PetscInt_FMT ") but width w_%" PetscInt_FMT " is %" PetscInt_FMT " (local %" PetscInt_FMT "); create it with SpdJacobianCreateVec()", fn, what, N, n, j, J->w[j], J->nloc[j]);
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianMult - y = J_{l:k} x

  Collective

  Input Parameters:
+ J - the layered product
. k, l - the layers, 1 <= k <= l <= L
- x - width w_{k-1} (layout of SpdJacobianCreateVec(J, k-1))

  Output Parameter:
. y - width w_l

.seealso: `SpdJacobianMultTranspose()`, `SpdJacobianCreateMat()`
@*/
PetscErrorCode SpdJacobianMult(SpdJacobian J, PetscInt k, PetscInt l, Vec x, Vec y)
{
  const PetscReal *xa;
  PetscReal       *ya;

  PetscFunctionBegin;
  PetscCall(SpdJacobianCheckRange_Private(J, k, l, "SpdJacobianMult"));
  PetscCall(SpdJacobianCheckVec_Private(J, x, k - 1, "SpdJacobianMult", "x"));
  PetscCall(SpdJacobianCheckVec_Private(J, y, l, "SpdJacobianMult", "y"));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCall(SpdJacobianApplyBlock_Private(J, k, l, 1, xa, ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianMultTranspose - x = J_{l:k}^T y

  Collective

.seealso: `SpdJacobianMult()`
@*/
PetscErrorCode SpdJacobianMultTranspose(SpdJacobian J, PetscInt k, PetscInt l, Vec y, Vec x)
{
  const PetscReal *ya;
  PetscReal       *xa;

  PetscFunctionBegin;
  PetscCall(SpdJacobianCheckRange_Private(J, k, l, "SpdJacobianMultTranspose"));
  PetscCall(SpdJacobianCheckVec_Private(J, y, l, "SpdJacobianMultTranspose", "y"));
  PetscCall(SpdJacobianCheckVec_Private(J, x, k - 1, "SpdJacobianMultTranspose", "x"));
  PetscCall(VecGetArrayRead(y, &ya));
  PetscCall(VecGetArrayWrite(x, &xa));
  PetscCall(SpdJacobianApplyTransposeBlock_Private(J, k, l, 1, ya, xa));
  PetscCall(VecRestoreArrayRead(y, &ya));
  PetscCall(VecRestoreArrayWrite(x, &xa));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdJacobianGetLayer(SpdJacobian J, PetscInt j, PetscReal A[], PetscReal g[])
{
  PetscFunctionBegin;
  PetscCheck(j >= 1 && j <= J->L, J->comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdJacobianGetLayer: layer %" PetscInt_FMT " is outside 1..%" PetscInt_FMT, j, J->L);
  if (A) {
    const PetscReal *W;
    PetscReal       *loc;
    PetscInt         in = J->w[j - 1], n = J->nloc[j];

    PetscCall(SpdJacobianRows_Private(J, j, &W));
    PetscCall(PetscMalloc1((size_t)n * in + 1, &loc));
    for (size_t i = 0; i < (size_t)n * in; i++) loc[i] = J->scale[j] * W[i];
    PetscCall(SpdJacobianGather_Private(J, j, in, loc, A));
    PetscCall(PetscFree(loc));
  }
  if (g) {
    PetscReal *loc;
    PetscCall(PetscMalloc1(J->nloc[j] + 1, &loc));
    for (PetscInt r = 0; r < J->nloc[j]; r++) loc[r] = (j < J->L && J->g[j]) ? J->g[j][r] : 1.0;
    PetscCall(SpdJacobianGather_Private(J, j, 1, loc, g));
    PetscCall(PetscFree(loc));
  }
  PetscFunctionReturn(0);
}

/* ---- as matrices ------------------------------------------------------------------ */
typedef struct {
  SpdJacobian J;
  PetscInt    k, l;
} SpdJacobianShell;

static PetscErrorCode SpdJacobianShellMult(Mat A, Vec x, Vec y)
{
  SpdJacobianShell *s;
  const PetscReal  *xa;
  PetscReal        *ya;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &s));
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  PetscCall(SpdJacobianApplyBlock_Private(s->J, s->k, s->l, 1, xa, ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdJacobianShellMultTranspose(Mat A, Vec y, Vec x)
{
  SpdJacobianShell *s;
  const PetscReal  *ya;
  PetscReal        *xa;

  PetscFunctionBegin;
  PetscCall(MatShellGetContext(A, &s));
  PetscCall(VecGetArrayRead(y, &ya));
  PetscCall(VecGetArrayWrite(x, &xa));
  PetscCall(SpdJacobianApplyTransposeBlock_Private(s->J, s->k, s->l, 1, ya, xa));
  PetscCall(VecRestoreArrayRead(y, &ya));
  PetscCall(VecRestoreArrayWrite(x, &xa));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdJacobianShellDestroy(void *ctx)
{
  SpdJacobianShell *s = (SpdJacobianShell *)ctx;

  PetscFunctionBegin;
  PetscCall(SpdJacobianDestroy(&s->J));
  PetscCall(PetscFree(s));
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianCreateMat - J_{l:k} as a matrix-free MATSHELL

  Collective

  Input Parameters:
+ J    - the layered product
- k, l - the layers, 1 <= k <= l <= L

  Output Parameter:
. A - w_l x w_{k-1} MATSHELL with MatMult and MatMultTranspose (for SLEPc); it holds a
      reference to J (SpdJacobianDestroy(&J) may be called right away)

.seealso: `SpdJacobianCreateDense()`, `SpdSVDExtreme()`
@*/
PetscErrorCode SpdJacobianCreateMat(SpdJacobian J, PetscInt k, PetscInt l, Mat *A)
{
  SpdJacobianShell *s;

  PetscFunctionBegin;
  PetscCall(SpdJacobianCheckRange_Private(J, k, l, "SpdJacobianCreateMat"));
  PetscCall(PetscNew(&s));
  s->J = J;
  s->k = k;
  s->l = l;
  J->refct++;
  PetscCall(MatCreateShell(J->comm, J->nloc[l], J->nloc[k - 1], J->w[l], J->w[k - 1], s, A));
  PetscCall(MatShellSetOperation(*A, MATOP_MULT, (void (*)(void))SpdJacobianShellMult));
  PetscCall(MatShellSetOperation(*A, MATOP_MULT_TRANSPOSE, (void (*)(void))SpdJacobianShellMultTranspose));
  PetscCall(MatShellSetContextDestroy(*A, SpdJacobianShellDestroy));
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianCreateDense - J_{l:k} formed explicitly as a MATMPIDENSE

  Collective

  Notes:
  Columns are formed 256 at a time by propagating columns of the identity, so the
  memory beyond the result is a replicated w_max x 256 block.

.seealso: `SpdJacobianCreateMat()`, `SpdSVDFull()`
@*/
PetscErrorCode SpdJacobianCreateDense(SpdJacobian J, PetscInt k, PetscInt l, Mat *D)
{
  PetscInt   n = J->w[k - 1], nin, r0, nout = J->nloc[l], lda;
  PetscReal *X, *Y, *a;

  PetscFunctionBegin;
  PetscCall(SpdJacobianCheckRange_Private(J, k, l, "SpdJacobianCreateDense"));
  nin = J->nloc[k - 1];
  r0  = J->range[k - 1][J->rank];
  PetscCall(MatCreateDense(J->comm, J->nloc[l], nin, J->w[l], n, NULL, D));
  PetscCall(MatDenseGetLDA(*D, &lda));
  PetscCall(MatDenseGetArrayWrite(*D, &a));
  PetscCall(PetscMalloc2((size_t)nin * 256 + 1, &X, (size_t)nout * 256 + 1, &Y));
  for (PetscInt c0 = 0; c0 < n; c0 += 256) {
    PetscInt m = PetscMin(256, n - c0);
    for (PetscInt r = 0; r < nin; r++)
      for (PetscInt c = 0; c < m; c++) X[r * m + c] = (r0 + r == c0 + c) ? 1.0 : 0.0;
    PetscCall(SpdJacobianApplyBlock_Private(J, k, l, m, X, Y));
    for (PetscInt r = 0; r < nout; r++)
      for (PetscInt c = 0; c < m; c++) a[(size_t)(c0 + c) * lda + r] = Y[r * m + c];
  }
  PetscCall(PetscFree2(X, Y));
  PetscCall(MatDenseRestoreArrayWrite(*D, &a));
  PetscCall(MatAssemblyBegin(*D, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*D, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdJacobianDestroy(SpdJacobian *jac)
{
  SpdJacobian J;

  PetscFunctionBegin;
  if (!jac || !*jac) PetscFunctionReturn(0);
  J    = *jac;
  *jac = NULL;
  if (--J->refct > 0) PetscFunctionReturn(0);
  for (PetscInt j = 0; j <= J->L; j++) {
    PetscCall(PetscFree(J->range[j]));
    PetscCall(PetscFree(J->W[j]));
    PetscCall(PetscFree(J->g[j]));
  }
  PetscCall(PetscFree(J->Wgen));
  PetscCall(PetscFree2(J->cnt, J->dsp));
  PetscCall(PetscFree2(J->W, J->g));
  PetscCall(PetscFree4(J->w, J->range, J->nloc, J->scale));
  PetscCall(PetscCommDestroy(&J->comm));
  PetscCall(PetscFree(J));
  PetscFunctionReturn(0);
}

/*@C
  SpdMatCreateInputJacobian - J_{l:k} of an MLP at an input, as a MATSHELL

  Collective on comm

  Notes:
  Shorthand for SpdJacobianCreateMLP() then SpdJacobianCreateMat(); the shell owns the
  SpdJacobian. J_{L:1} = dz_L/dx is the network's input-output Jacobian.

.seealso: `SpdJacobianCreateMLP()`
@*/
PetscErrorCode SpdMatCreateInputJacobian(SpdMLP mlp, const PetscReal x[], PetscInt k, PetscInt l, MPI_Comm comm, Mat *A)
{
  SpdJacobian J;

  PetscFunctionBegin;
  PetscCall(SpdJacobianCreateMLP(mlp, x, comm, &J));
  PetscCall(SpdJacobianCreateMat(J, k, l, A));
  PetscCall(SpdJacobianDestroy(&J));
  PetscFunctionReturn(0);
}
