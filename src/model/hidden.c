/* Hidden representations of the MLP: a plain forward pass at the current theta that
   stops at the requested layer, h_0 = x, z_l = a_l W_l h_{l-1} + c_l b_l,
   h_l = phi_l(z_l) (l < L), z_L (l = L). It uses only the public model API (the
   architecture and theta), so the caches of SpdMLPSetPoint() stay as they were. */
#include <specdyn/private/blas.h>
#include "mlpimpl.h"
#include <petscblaslapack.h>

/*@C
  SpdMLPGetHidden - the representation of layer l of the local samples of a data set

  Not collective

  Input Parameters:
+ mlp  - the model (at its current theta)
. data - the samples (their local block)
- l    - 0: the inputs; 0 < l < L: the hidden layer h_l = phi_l(z_l); L: the outputs z_L

  Output Parameter:
. H - nlocal x width[l], row-major, allocated by the caller

.seealso: `SpdMLPSetPoint()`, `SpdMLPGetOutputs()`, `SpdAlignmentCompute()`
@*/
PetscErrorCode SpdMLPGetHidden(SpdMLP mlp, SpdData data, PetscInt l, PetscReal H[])
{
  PetscInt             L, B, wmax = 0;
  const PetscInt      *w;
  const SpdActivation *act;
  const PetscBool     *bias;
  const PetscReal     *a, *c;
  PetscReal            slope, *theta, *buf0, *buf1, *cur, *nxt;

  PetscFunctionBegin;
  PetscCall(SpdMLPGetArchitecture(mlp, &L, &w, &act, &bias, &a, &c, &slope));
  PetscCall(SpdMLPGetParameters(mlp, &theta));
  PetscCheck(l >= 0 && l <= L, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Representation of layer %" PetscInt_FMT " requested, but the MLP has layers 0 (inputs) to %" PetscInt_FMT " (outputs)", l, L);
  PetscCheck(data->d == w[0], PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "The data %s have %" PetscInt_FMT " input features but the model's first layer takes %" PetscInt_FMT, data->name, data->d, w[0]);
  B = data->nlocal;
  if (l == 0) {
    PetscCall(PetscArraycpy(H, data->X, (size_t)B * w[0]));
    PetscFunctionReturn(0);
  }
  for (PetscInt k = 0; k <= l; k++) wmax = PetscMax(wmax, w[k]);
  /* column-major w_k x B arrays (sample i's vector contiguous): the row-major B x w_k layout */
  PetscCall(PetscMalloc2((size_t)wmax * B + 1, &buf0, (size_t)wmax * B + 1, &buf1));
  cur = buf0;
  nxt = buf1;
  PetscCall(PetscArraycpy(cur, data->X, (size_t)B * w[0]));
  for (PetscInt k = 1; k <= l; k++) {
    PetscInt   in = w[k - 1], o = w[k], woff, boff;
    PetscReal *tmp;

    PetscCall(SpdMLPGetLayerBlock(mlp, k - 1, &woff, NULL, &boff, NULL));
    /* theta holds W_k row-major (o x in), i.e. the column-major in x o matrix W_k^T */
    PetscCall(SpdGemm("T", "N", o, B, in, a[k - 1], theta + woff, in, cur, in, 0.0, nxt, o));
    if (bias[k - 1])
      for (PetscInt i = 0; i < B; i++)
        for (PetscInt j = 0; j < o; j++) nxt[(size_t)i * o + j] += c[k - 1] * theta[boff + j];
    if (k < L)
      for (size_t j = 0; j < (size_t)o * B; j++) {
        PetscReal f = 0, d1 = 0, d2 = 0;

        SpdActEval(act[k - 1], slope, nxt[j], &f, &d1, &d2);
        nxt[j] = f;
      }
    tmp = cur;
    cur = nxt;
    nxt = tmp;
  }
  PetscCall(PetscArraycpy(H, cur, (size_t)B * w[l]));
  PetscCall(PetscFree2(buf0, buf1));
  PetscFunctionReturn(0);
}
