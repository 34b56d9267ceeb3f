/* The MLP family: forward, backward, and exact curvature products (docs/curvature.md).

   Layout of a batch: each quantity of layer l is a column-major w_l x B array (sample i's
   vector contiguous at A + i w_l, the same memory as PyTorch's row-major B x w_l), so
   every layer is one BLAS dgemm. Weights W_l are stored row-major out x in inside theta,
   which is the column-major in x out array Wt = W_l^T.

   At a point (SpdMLPSetPoint) the forward pass keeps H_l = h_l, the gates phi'(z_l) and
   phi''(z_l) (when the activation has curvature), the output derivatives Delta_l =
   dl_i/dz_l and, for activations with curvature, a_l W_l^T Delta_l. A product then needs
   the forward R-pass (R{z_l} = a_l (V_l h_{l-1} + W_l R{h_{l-1}}) + c_l v_b,
   R{h_l} = phi'(z_l) R{z_l}) and one backward pass:
     Hessian: R{Delta_L} = H_l R{z_L}, and going down
       R{dW_l} = a_l (R{Delta_l} h_{l-1}^T + Delta_l R{h_{l-1}}^T),
       R{Delta_{l-1}} = a_l (W_l^T R{Delta_l} + V_l^T Delta_l) o phi'(z_{l-1})
                        + (a_l W_l^T Delta_l) o phi''(z_{l-1}) o R{z_{l-1}}   (Pearlmutter 1994);
     Gauss-Newton: backpropagate u = H_l R{z_L} = H_l J v through the linearized net;
     G: s_i = Delta_L,i . R{z_L,i} = g_i^T v, then backpropagate s_i Delta_L,i: the
       gradient of sum_i s_i l_i is sum_i s_i g_i = n G v, with no g_i ever formed.
   The parameter-function Jacobian reuses the same passes: J v = R{z_L} (forward R-pass
   alone), J^T u = the backward pass of the linearized net seeded with u.
   H_l is the Hessian of the loss in the output: I for MSE, diag(p) - p p^T for softmax
   cross-entropy. */
#include "mlpimpl.h"
#include <petscblaslapack.h>
#include <specdyn/private/blas.h>

const char *const SpdActivations[] = { "identity", "relu", "leaky_relu", "tanh", "gelu", NULL };
const char *const SpdLosses[]      = { "mse", "cross_entropy", NULL };
const char *const SpdCurvatures[]  = { "hessian", "gauss_newton", "gradient_covariance", NULL };

struct _p_SpdMLP {
  MPI_Comm       comm;
  PetscInt       L, *w, P, *woff, *boff;
  SpdActivation *act;
  PetscBool     *bias;
  PetscReal     *a, *c, slope;
  SpdLoss        loss;
  PetscReal     *theta;
  /* the point */
  PetscInt64  pointstate; /* counts changes of the point (SpdMLPGetPointState) */
  SpdData     data;
  PetscInt    B, Bcap; /* samples at the point; capacity of the caches (kept across points) */
  PetscReal   lossval, *grad;
  PetscReal  *Y; /* w_L x B targets (one-hot for labels, MSE) */
  PetscReal **H, **Z, **D1, **D2, **Delta, **BP;
  PetscReal **RZ, **RH, *RD, *RDn, *T; /* product workspace */
};

static PetscBool SpdActCurved(SpdActivation a) { return (a == SPD_ACT_TANH || a == SPD_ACT_GELU) ? PETSC_TRUE : PETSC_FALSE; }

PetscErrorCode SpdMLPCreate(MPI_Comm comm, PetscInt L, const PetscInt width[], const SpdActivation act[], const PetscBool bias[], SpdLoss loss, SpdMLP *mlp)
{
  SpdMLP m;

  PetscFunctionBegin;
  PetscCheck(L >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "An MLP needs at least one layer, got %" PetscInt_FMT, L);
  for (PetscInt l = 0; l <= L; l++) PetscCheck(width[l] >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "MLP width %" PetscInt_FMT " (layer %" PetscInt_FMT ") must be >= 1", width[l], l);
  PetscCall(PetscNew(&m));
  m->comm  = comm;
  m->L     = L;
  m->loss  = loss;
  m->slope = 0.01;
  PetscCall(PetscMalloc4(L + 1, &m->w, L + 1, &m->woff, L + 1, &m->boff, L + 1, &m->act));
  PetscCall(PetscMalloc3(L + 1, &m->bias, L + 1, &m->a, L + 1, &m->c));
  PetscCall(PetscArraycpy(m->w, width, L + 1));
  m->P = 0;
  for (PetscInt l = 0; l < L; l++) {
    m->act[l]  = l < L - 1 ? act[l] : SPD_ACT_IDENTITY;
    m->bias[l] = bias[l];
    m->a[l]    = 1.0;
    m->c[l]    = 1.0;
    m->woff[l] = m->P;
    m->P += width[l + 1] * width[l];
    m->boff[l] = bias[l] ? m->P : -1;
    if (bias[l]) m->P += width[l + 1];
  }
  PetscCall(PetscCalloc1(m->P, &m->theta));
  PetscCall(PetscCalloc1(m->P, &m->grad));
  *mlp = m;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPSetMultipliers(SpdMLP m, const PetscReal a[], const PetscReal c[])
{
  PetscFunctionBegin;
  for (PetscInt l = 0; l < m->L; l++) {
    if (a) m->a[l] = a[l];
    if (c) m->c[l] = c[l];
  }
  m->pointstate++; /* the function changed: the caches of the point are stale */
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPSetLeakySlope(SpdMLP m, PetscReal s)
{
  PetscFunctionBegin;
  m->slope = s;
  m->pointstate++;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPGetComm(SpdMLP m, MPI_Comm *comm)
{
  PetscFunctionBegin;
  *comm = m->comm;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPGetNumParameters(SpdMLP m, PetscInt *P)
{
  PetscFunctionBegin;
  *P = m->P;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPGetLayerBlock(SpdMLP m, PetscInt l, PetscInt *woff, PetscInt *wsize, PetscInt *boff, PetscInt *bsize)
{
  PetscFunctionBegin;
  PetscCheck(l >= 0 && l < m->L, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Layer %" PetscInt_FMT " does not exist: the MLP has layers 0..%" PetscInt_FMT, l, m->L - 1);
  if (woff) *woff = m->woff[l];
  if (wsize) *wsize = m->w[l + 1] * m->w[l];
  if (boff) *boff = m->boff[l];
  if (bsize) *bsize = m->bias[l] ? m->w[l + 1] : 0;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPGetArchitecture(SpdMLP m, PetscInt *L, const PetscInt *width[], const SpdActivation *act[], const PetscBool *bias[], const PetscReal *a[], const PetscReal *c[], PetscReal *slope)
{
  PetscFunctionBegin;
  if (L) *L = m->L;
  if (width) *width = m->w;
  if (act) *act = m->act;
  if (bias) *bias = m->bias;
  if (a) *a = m->a;
  if (c) *c = m->c;
  if (slope) *slope = m->slope;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPGetParameters(SpdMLP m, PetscReal **theta)
{
  PetscFunctionBegin;
  *theta = m->theta;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPGetOutputs(SpdMLP m, const PetscReal **Z)
{
  PetscFunctionBegin;
  PetscCheck(m->data, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call SpdMLPSetPoint() before SpdMLPGetOutputs()");
  *Z = m->Z[m->L];
  PetscFunctionReturn(0);
}

/* Free the caches of the point. */
static PetscErrorCode SpdMLPFreePoint(SpdMLP m)
{
  PetscFunctionBegin;
  m->data = NULL;
  m->Bcap = 0;
  if (!m->H) PetscFunctionReturn(0);
  for (PetscInt l = 0; l <= m->L; l++) {
    if (l > 0) PetscCall(PetscFree(m->H[l]));
    PetscCall(PetscFree(m->Z[l]));
    PetscCall(PetscFree(m->D1[l]));
    PetscCall(PetscFree(m->D2[l]));
    PetscCall(PetscFree(m->Delta[l]));
    PetscCall(PetscFree(m->BP[l]));
    PetscCall(PetscFree(m->RZ[l]));
    PetscCall(PetscFree(m->RH[l]));
  }
  PetscCall(PetscFree4(m->H, m->Z, m->D1, m->D2));
  PetscCall(PetscFree4(m->Delta, m->BP, m->RZ, m->RH));
  PetscCall(PetscFree3(m->RD, m->RDn, m->T));
  PetscCall(PetscFree(m->Y));
  PetscFunctionReturn(0);
}

/* Caches for B local samples. They are kept from point to point and reallocated only when
   a point has more samples than they hold: a training run or a training-Jacobian product
   sets a point per step, and fresh large allocations each time (mmap/munmap, page
   faults) cost more than the step's arithmetic on small models. */
static PetscErrorCode SpdMLPAllocPoint(SpdMLP m, PetscInt B)
{
  PetscInt L = m->L, wmax = 0;

  PetscFunctionBegin;
  if (m->H && B <= m->Bcap) PetscFunctionReturn(0);
  PetscCall(SpdMLPFreePoint(m));
  for (PetscInt l = 0; l <= L; l++) wmax = PetscMax(wmax, m->w[l]);
  PetscCall(PetscCalloc4(L + 1, &m->H, L + 1, &m->Z, L + 1, &m->D1, L + 1, &m->D2));
  PetscCall(PetscCalloc4(L + 1, &m->Delta, L + 1, &m->BP, L + 1, &m->RZ, L + 1, &m->RH));
  PetscCall(PetscMalloc3((size_t)wmax * B + 1, &m->RD, (size_t)wmax * B + 1, &m->RDn, (size_t)wmax * B + 1, &m->T));
  for (PetscInt l = 1; l <= L; l++) {
    size_t sz = (size_t)m->w[l] * B + 1;
    PetscCall(PetscMalloc1(sz, &m->Z[l]));
    PetscCall(PetscMalloc1(sz, &m->RZ[l]));
    PetscCall(PetscMalloc1(sz, &m->Delta[l]));
    if (l < L) {
      PetscCall(PetscMalloc1(sz, &m->H[l]));
      PetscCall(PetscMalloc1(sz, &m->D1[l]));
      PetscCall(PetscMalloc1(sz, &m->RH[l]));
      if (SpdActCurved(m->act[l - 1])) {
        PetscCall(PetscMalloc1(sz, &m->D2[l]));
        PetscCall(PetscMalloc1(sz, &m->BP[l]));
      }
    }
  }
  if (m->loss == SPD_LOSS_MSE) PetscCall(PetscMalloc1((size_t)m->w[L] * B + 1, &m->Y));
  m->Bcap = B;
  PetscFunctionReturn(0);
}

/* Check the data against the model: dimensions, label range, target dimension. */
static PetscErrorCode SpdMLPCheckData(SpdMLP m, SpdData d)
{
  PetscInt out = m->w[m->L];

  PetscFunctionBegin;
  PetscCheck(d->d == m->w[0], m->comm, PETSC_ERR_ARG_SIZ, "The data %s have %" PetscInt_FMT " input features but the model's first layer takes %" PetscInt_FMT "; check the architecture (model.layers) or the data", d->name, d->d, m->w[0]);
  if (d->labels) {
    PetscInt bad = -1, lab = PETSC_MIN_INT, gbad, glab;
    for (PetscInt i = 0; i < d->nlocal && bad < 0; i++)
      if (d->labels[i] < 0 || d->labels[i] >= out) bad = d->start + i;
    PetscCallMPI(MPI_Allreduce(&bad, &gbad, 1, MPIU_INT, MPI_MAX, m->comm));
    if (gbad >= 0 && bad == gbad) lab = d->labels[gbad - d->start];
    PetscCallMPI(MPI_Allreduce(&lab, &glab, 1, MPIU_INT, MPI_MAX, m->comm));
    PetscCheck(gbad < 0, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "Label out of range in %s: sample %" PetscInt_FMT " has label %" PetscInt_FMT ", outside [0, %" PetscInt_FMT ") for the model's %" PetscInt_FMT " outputs; check the data or the output width", d->name, gbad, glab, out, out);
  } else {
    PetscCheck(d->Y && d->c == out, m->comm, PETSC_ERR_ARG_SIZ, "The data %s have %" PetscInt_FMT "-dimensional targets but the model has %" PetscInt_FMT " outputs", d->name, d->c, out);
    PetscCheck(m->loss == SPD_LOSS_MSE, m->comm, PETSC_ERR_ARG_INCOMP, "Cross-entropy needs class labels, but the data %s have real-valued targets; use loss: mse", d->name);
  }
  PetscFunctionReturn(0);
}

/* Backpropagate D (w_L x B, overwritten) through the linearized network at the point,
   accumulating into g (length P): g_W += a_l D_l h_{l-1}^T, g_b += c_l sum_i D_l. */
static PetscErrorCode SpdMLPBackprop(SpdMLP m, PetscReal *D, PetscReal g[])
{
  PetscInt   B   = m->B;
  PetscReal *cur = D, *nxt = m->RDn;

  PetscFunctionBegin;
  for (PetscInt l = m->L - 1; l >= 0; l--) {
    PetscInt   in = m->w[l], out = m->w[l + 1];
    PetscReal *Wt = m->theta + m->woff[l];

    PetscCall(SpdGemm("N", "T", in, out, B, m->a[l], m->H[l], in, cur, out, 1.0, g + m->woff[l], in));
    if (m->bias[l]) {
      PetscReal *gb = g + m->boff[l];
      for (PetscInt i = 0; i < B; i++)
        for (PetscInt o = 0; o < out; o++) gb[o] += m->c[l] * cur[o + i * out];
    }
    if (l == 0) break;
    PetscCall(SpdGemm("N", "N", in, B, out, m->a[l], Wt, in, cur, out, 0.0, nxt, in));
    for (PetscInt j = 0; j < in * B; j++) nxt[j] *= m->D1[l][j];
    {
      PetscReal *t = cur;
      cur          = nxt;
      nxt          = t;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPSetPoint(SpdMLP m, SpdData d)
{
  PetscInt  L = m->L, B = d->nlocal, out = m->w[L];
  PetscReal lsum = 0;

  PetscFunctionBegin;
  PetscCall(SpdMLPCheckData(m, d));
  m->pointstate++; /* before anything is overwritten, so that a failure below still invalidates */
  PetscCall(SpdMLPAllocPoint(m, B));
  m->data = d;
  m->B    = B;
  m->H[0] = d->X; /* not owned */
  /* forward */
  for (PetscInt l = 1; l <= L; l++) {
    PetscInt in = m->w[l - 1], o = m->w[l];
    PetscCall(SpdGemm("T", "N", o, B, in, m->a[l - 1], m->theta + m->woff[l - 1], in, m->H[l - 1], in, 0.0, m->Z[l], o));
    if (m->bias[l - 1]) {
      const PetscReal *b = m->theta + m->boff[l - 1];
      for (PetscInt i = 0; i < B; i++)
        for (PetscInt j = 0; j < o; j++) m->Z[l][j + i * o] += m->c[l - 1] * b[j];
    }
    if (l < L) {
      SpdActivation    act = m->act[l - 1];
      size_t           n   = (size_t)o * B;
      const PetscReal *z   = m->Z[l];
      PetscReal       *h = m->H[l], *d1 = m->D1[l], *d2 = m->D2[l];
      if (act == SPD_ACT_RELU) /* the common case as a branch-free loop the compiler vectorizes */
        for (size_t j = 0; j < n; j++) {
          h[j]  = z[j] > 0 ? z[j] : 0.0;
          d1[j] = z[j] > 0 ? 1.0 : 0.0;
        }
      else
        for (size_t j = 0; j < n; j++) {
          PetscReal f = 0, g1 = 0, g2 = 0;
          SpdActEval(act, m->slope, z[j], &f, &g1, &g2);
          h[j]  = f;
          d1[j] = g1;
          if (d2) d2[j] = g2;
        }
    }
  }
  /* loss and Delta_L */
  if (m->loss == SPD_LOSS_MSE) {
    PetscCall(PetscArrayzero(m->Y, (size_t)out * B));
    for (PetscInt i = 0; i < B; i++) {
      if (d->labels)
        m->Y[d->labels[i] + i * out] = 1.0;
      else
        for (PetscInt j = 0; j < out; j++) m->Y[j + i * out] = d->Y[j + i * out];
      for (PetscInt j = 0; j < out; j++) {
        PetscReal r              = m->Z[L][j + i * out] - m->Y[j + i * out];
        m->Delta[L][j + i * out] = r;
        lsum += 0.5 * r * r;
      }
    }
  } else {
    for (PetscInt i = 0; i < B; i++) {
      const PetscReal *z = m->Z[L] + i * out;
      PetscReal       *p = m->Delta[L] + i * out, zmax = z[0], s = 0;
      for (PetscInt j = 1; j < out; j++) zmax = PetscMax(zmax, z[j]);
      for (PetscInt j = 0; j < out; j++) s += (p[j] = PetscExpReal(z[j] - zmax));
      for (PetscInt j = 0; j < out; j++) p[j] /= s;
      lsum += zmax + PetscLogReal(s) - z[d->labels[i]];
      p[d->labels[i]] -= 1.0; /* Delta_L = p - e_y */
    }
  }
  /* backward: Delta_l for every layer (kept), a_l W_l^T Delta_l where phi'' != 0, gradient */
  PetscCall(PetscArrayzero(m->grad, m->P));
  for (PetscInt l = L; l >= 1; l--) {
    PetscInt   in = m->w[l - 1], o = m->w[l];
    PetscReal *Wt = m->theta + m->woff[l - 1];

    PetscCall(SpdGemm("N", "T", in, o, B, m->a[l - 1], m->H[l - 1], in, m->Delta[l], o, 1.0, m->grad + m->woff[l - 1], in));
    if (m->bias[l - 1])
      for (PetscInt i = 0; i < B; i++)
        for (PetscInt j = 0; j < o; j++) m->grad[m->boff[l - 1] + j] += m->c[l - 1] * m->Delta[l][j + i * o];
    if (l == 1) break;
    PetscCall(SpdGemm("N", "N", in, B, o, m->a[l - 1], Wt, in, m->Delta[l], o, 0.0, m->Delta[l - 1], in));
    if (m->D2[l - 1]) {
      PetscCall(PetscArraycpy(m->BP[l - 1], m->Delta[l - 1], (size_t)in * B));
    }
    for (size_t j = 0; j < (size_t)in * B; j++) m->Delta[l - 1][j] *= m->D1[l - 1][j];
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, m->grad, (PetscMPIInt)m->P, MPIU_REAL, MPIU_SUM, m->comm));
  PetscCallMPI(MPI_Allreduce(&lsum, &m->lossval, 1, MPIU_REAL, MPIU_SUM, m->comm));
  m->lossval /= d->n;
  for (PetscInt j = 0; j < m->P; j++) m->grad[j] /= d->n;
  PetscFunctionReturn(0);
}

/*@C
  SpdMLPGetPointState - a counter that changes whenever the model's point may have moved

  Not Collective

  Input Parameter:
. mlp - the model

  Output Parameter:
. state - the point state: 0 after SpdMLPCreate(), increased by every SpdMLPSetPoint()
          (whatever the data, even the same SpdData again, since theta may have changed)
          and by SpdMLPSetMultipliers() and SpdMLPSetLeakySlope() (they change the function)

  Notes:
  Like `PetscObjectStateGet()`: an object that keeps using the model's point (an operator
  such as SpdMatCreateFunctionJacobian()) records the state when it is created and
  compares it before every use; a different value means the caches it relies on were
  recomputed or invalidated. Unlike the data pointer of SpdMLPGetData(), the counter never
  repeats, so reusing (or freeing and reallocating) an SpdData cannot hide a move.

  Writes through the pointer of SpdMLPGetParameters() are not seen: they do not move the
  point until the next SpdMLPSetPoint() (which the model requires after such a write), and
  that call increases the state.

.seealso: `SpdMLPSetPoint()`, `SpdMLPGetData()`, `SpdMatCreateFunctionJacobian()`
@*/
PetscErrorCode SpdMLPGetPointState(SpdMLP m, PetscInt64 *state)
{
  PetscFunctionBegin;
  *state = m->pointstate;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPGetData(SpdMLP m, SpdData *d)
{
  PetscFunctionBegin;
  *d = m->data;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPGetLossGradient(SpdMLP m, PetscReal *loss, PetscReal grad[])
{
  PetscFunctionBegin;
  PetscCheck(m->data, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call SpdMLPSetPoint() before SpdMLPGetLossGradient()");
  if (loss) *loss = m->lossval;
  if (grad) PetscCall(PetscArraycpy(grad, m->grad, m->P));
  PetscFunctionReturn(0);
}

/* Forward R-pass: RZ[l] = a (V_l h_{l-1} + W_l R{h_{l-1}}) + c v_b; RH[l] = phi' o RZ[l]. */
static PetscErrorCode SpdMLPRForward(SpdMLP m, const PetscReal v[])
{
  PetscInt B = m->B;

  PetscFunctionBegin;
  for (PetscInt l = 1; l <= m->L; l++) {
    PetscInt in = m->w[l - 1], o = m->w[l];
    PetscCall(SpdGemm("T", "N", o, B, in, m->a[l - 1], v + m->woff[l - 1], in, m->H[l - 1], in, 0.0, m->RZ[l], o));
    if (l > 1) PetscCall(SpdGemm("T", "N", o, B, in, m->a[l - 1], m->theta + m->woff[l - 1], in, m->RH[l - 1], in, 1.0, m->RZ[l], o));
    if (m->bias[l - 1]) {
      const PetscReal *vb = v + m->boff[l - 1];
      for (PetscInt i = 0; i < B; i++)
        for (PetscInt j = 0; j < o; j++) m->RZ[l][j + i * o] += m->c[l - 1] * vb[j];
    }
    if (l < m->L)
      for (size_t j = 0; j < (size_t)o * B; j++) m->RH[l][j] = m->D1[l][j] * m->RZ[l][j];
  }
  PetscFunctionReturn(0);
}

/* u = H_l r per sample (H_l the loss Hessian in the output). */
static void SpdLossHessianApply(SpdMLP m, const PetscReal r[], PetscReal u[])
{
  PetscInt out = m->w[m->L];

  if (m->loss == SPD_LOSS_MSE) {
    for (size_t j = 0; j < (size_t)out * m->B; j++) u[j] = r[j];
    return;
  }
  for (PetscInt i = 0; i < m->B; i++) { /* p = Delta_L + e_y */
    const PetscReal *dl = m->Delta[m->L] + i * out, *ri = r + i * out;
    PetscReal       *ui = u + i * out, pr = 0;
    PetscInt         y = m->data->labels[i];
    for (PetscInt j = 0; j < out; j++) pr += (dl[j] + (j == y)) * ri[j];
    for (PetscInt j = 0; j < out; j++) ui[j] = (dl[j] + (j == y)) * (ri[j] - pr);
  }
}

/* Hessian backward R-pass into y (local sum, length P, zeroed by the caller). */
static PetscErrorCode SpdMLPRBackward(SpdMLP m, const PetscReal v[], PetscReal y[])
{
  PetscInt   B = m->B, L = m->L;
  PetscReal *RD = m->RD, *RDn = m->RDn;

  PetscFunctionBegin;
  SpdLossHessianApply(m, m->RZ[L], RD);
  for (PetscInt l = L; l >= 1; l--) {
    PetscInt   in = m->w[l - 1], o = m->w[l];
    PetscReal *Wt = m->theta + m->woff[l - 1], a = m->a[l - 1];

    PetscCall(SpdGemm("N", "T", in, o, B, a, m->H[l - 1], in, RD, o, 1.0, y + m->woff[l - 1], in));
    if (l > 1) PetscCall(SpdGemm("N", "T", in, o, B, a, m->RH[l - 1], in, m->Delta[l], o, 1.0, y + m->woff[l - 1], in));
    if (m->bias[l - 1])
      for (PetscInt i = 0; i < B; i++)
        for (PetscInt j = 0; j < o; j++) y[m->boff[l - 1] + j] += m->c[l - 1] * RD[j + i * o];
    if (l == 1) break;
    PetscCall(SpdGemm("N", "N", in, B, o, a, Wt, in, RD, o, 0.0, RDn, in));
    PetscCall(SpdGemm("N", "N", in, B, o, a, v + m->woff[l - 1], in, m->Delta[l], o, 1.0, RDn, in));
    for (size_t j = 0; j < (size_t)in * B; j++) RDn[j] *= m->D1[l - 1][j];
    if (m->D2[l - 1])
      for (size_t j = 0; j < (size_t)in * B; j++) RDn[j] += m->BP[l - 1][j] * m->D2[l - 1][j] * m->RZ[l - 1][j];
    {
      PetscReal *t = RD;
      RD           = RDn;
      RDn          = t;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPCurvatureApply(SpdMLP m, SpdCurvature kind, const PetscReal v[], PetscReal y[], PetscBool local)
{
  PetscInt out = m->w[m->L], B = m->B;

  PetscFunctionBegin;
  PetscCheck(m->data, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call SpdMLPSetPoint() before a curvature product");
  PetscCall(PetscArrayzero(y, m->P));
  if (B > 0) {
    PetscCall(SpdMLPRForward(m, v));
    switch (kind) {
    case SPD_CURV_HESSIAN:
      PetscCall(SpdMLPRBackward(m, v, y));
      break;
    case SPD_CURV_GAUSS_NEWTON:
      SpdLossHessianApply(m, m->RZ[m->L], m->T);
      PetscCall(SpdMLPBackprop(m, m->T, y));
      break;
    case SPD_CURV_GRADIENT_COVARIANCE:
      for (PetscInt i = 0; i < B; i++) {
        const PetscReal *dl = m->Delta[m->L] + i * out, *rz = m->RZ[m->L] + i * out;
        PetscReal        s = 0;
        for (PetscInt j = 0; j < out; j++) s += dl[j] * rz[j]; /* g_i^T v */
        for (PetscInt j = 0; j < out; j++) m->T[j + i * out] = s * dl[j];
      }
      PetscCall(SpdMLPBackprop(m, m->T, y));
      break;
    }
  }
  if (!local) {
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, y, (PetscMPIInt)m->P, MPIU_REAL, MPIU_SUM, m->comm));
    for (PetscInt j = 0; j < m->P; j++) y[j] /= m->data->n;
  }
  PetscFunctionReturn(0);
}

/*@C
  SpdMLPJacobianApply - the parameter-function Jacobian product Jv = (d z_L / d theta) v
  at the point, for the local samples

  Not collective

  Input Parameters:
+ mlp - the model, after SpdMLPSetPoint()
- v   - a parameter direction (length nparams)

  Output Parameter:
. Jv - nlocal x out, row-major (sample i's outputs contiguous): the forward R-pass R{z_L}

.seealso: `SpdMLPJacobianTransposeApply()`, `SpdMatCreateFunctionJacobian()`
@*/
PetscErrorCode SpdMLPJacobianApply(SpdMLP m, const PetscReal v[], PetscReal Jv[])
{
  PetscFunctionBegin;
  PetscCheck(m->data, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call SpdMLPSetPoint() before a Jacobian product");
  if (m->B == 0) PetscFunctionReturn(0);
  PetscCall(SpdMLPRForward(m, v));
  PetscCall(PetscArraycpy(Jv, m->RZ[m->L], (size_t)m->w[m->L] * m->B));
  PetscFunctionReturn(0);
}

/*@C
  SpdMLPJacobianTransposeApply - y = J^T u, the backpropagation of output cotangents u
  through the network linearized at the point

  Collective when !local

  Input Parameters:
+ mlp   - the model, after SpdMLPSetPoint()
. u     - nlocal x out, row-major, one cotangent per local sample output
- local - PETSC_TRUE: this rank's samples only; PETSC_FALSE: summed over the ranks
          (not divided by n: J^T itself, not a mean)

  Output Parameter:
. y - length nparams

.seealso: `SpdMLPJacobianApply()`, `SpdMatCreateFunctionJacobian()`
@*/
PetscErrorCode SpdMLPJacobianTransposeApply(SpdMLP m, const PetscReal u[], PetscReal y[], PetscBool local)
{
  PetscFunctionBegin;
  PetscCheck(m->data, PETSC_COMM_SELF, PETSC_ERR_ORDER, "Call SpdMLPSetPoint() before a Jacobian product");
  PetscCall(PetscArrayzero(y, m->P));
  if (m->B > 0) {
    /* SpdMLPBackprop overwrites its input: work on a copy in the product workspace */
    PetscCall(PetscArraycpy(m->T, u, (size_t)m->w[m->L] * m->B));
    PetscCall(SpdMLPBackprop(m, m->T, y));
  }
  if (!local) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, y, (PetscMPIInt)m->P, MPIU_REAL, MPIU_SUM, m->comm));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdMLPDestroy(SpdMLP *mlp)
{
  SpdMLP m;

  PetscFunctionBegin;
  if (!mlp || !*mlp) PetscFunctionReturn(0);
  m = *mlp;
  PetscCall(SpdMLPFreePoint(m));
  PetscCall(PetscFree4(m->w, m->woff, m->boff, m->act));
  PetscCall(PetscFree3(m->bias, m->a, m->c));
  PetscCall(PetscFree(m->theta));
  PetscCall(PetscFree(m->grad));
  PetscCall(PetscFree(*mlp));
  PetscFunctionReturn(0);
}
