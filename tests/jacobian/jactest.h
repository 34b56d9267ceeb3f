/* Helpers of the Jacobian tests: seeded MLPs, the network output through the model
   layer's own forward pass (the reference for finite differences), and an independent
   dense implementation of the partial products (plain loops, column-major). */
#pragma once
#include "../common/testutil.h"
#include <petscblaslapack.h>

typedef struct {
  PetscInt      L, w[8];
  SpdActivation act[8];
  PetscBool     bias[8];
  PetscReal     a[8], c[8], slope;
  SpdMLP        mlp;
  PetscReal    *theta;
} TestNet;

/* An MLP replicated on every rank (PETSC_COMM_SELF each), weights N(0, (gain^2/fan_in)). */
static inline PetscErrorCode TestNetCreate(TestNet *t, uint64_t seed, PetscReal gain)
{
  PetscInt P;

  PetscFunctionBeginUser;
  if (t->slope <= 0) t->slope = 0.01;
  PetscCall(SpdMLPCreate(PETSC_COMM_SELF, t->L, t->w, t->act, t->bias, SPD_LOSS_MSE, &t->mlp));
  PetscCall(SpdMLPSetMultipliers(t->mlp, t->a, t->c));
  PetscCall(SpdMLPSetLeakySlope(t->mlp, t->slope));
  PetscCall(SpdMLPGetNumParameters(t->mlp, &P));
  PetscCall(SpdMLPGetParameters(t->mlp, &t->theta));
  SpdTestRandomMatrix(seed, P, 1, t->theta);
  for (PetscInt l = 0; l < t->L; l++) {
    PetscInt woff, wsize, boff, bsize;
    PetscCall(SpdMLPGetLayerBlock(t->mlp, l, &woff, &wsize, &boff, &bsize));
    for (PetscInt i = 0; i < wsize; i++) t->theta[woff + i] *= gain / PetscSqrtReal((PetscReal)t->w[l]) / t->a[l];
    for (PetscInt i = 0; i < bsize; i++) t->theta[boff + i] *= 0.3;
  }
  PetscFunctionReturn(0);
}

/* z_L(x) through SpdMLPSetPoint on a one-sample data set (the model layer's forward). */
static inline PetscErrorCode TestNetOutput(TestNet *t, const PetscReal x[], PetscReal out[])
{
  struct _p_SpdData D;
  const PetscReal  *Z;
  PetscInt          o = t->w[t->L];

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&D, sizeof(D)));
  D.comm = PETSC_COMM_SELF;
  PetscCall(PetscStrncpy(D.name, "fd point", sizeof(D.name)));
  D.n = D.nlocal = 1;
  D.d            = t->w[0];
  D.c            = o;
  D.X            = (PetscReal *)x;
  PetscCall(PetscCalloc1(o, &D.Y));
  PetscCall(SpdMLPSetPoint(t->mlp, &D));
  PetscCall(SpdMLPGetOutputs(t->mlp, &Z));
  PetscCall(PetscArraycpy(out, Z, o));
  PetscCall(PetscFree(D.Y));
  PetscFunctionReturn(0);
}

static inline PetscReal TestActDeriv(SpdActivation act, PetscReal slope, PetscReal z, PetscReal *f)
{
  switch (act) {
  case SPD_ACT_IDENTITY:
    *f = z;
    return 1;
  case SPD_ACT_RELU:
    *f = z > 0 ? z : 0;
    return z > 0;
  case SPD_ACT_LEAKY_RELU:
    *f = z > 0 ? z : slope * z;
    return z > 0 ? 1 : slope;
  case SPD_ACT_TANH:
    *f = tanh(z);
    return 1 / (cosh(z) * cosh(z));
  case SPD_ACT_GELU: {
    PetscReal Phi = 0.5 * (1 + erf(z / sqrt(2.0))), pdf = exp(-0.5 * z * z) / sqrt(2 * PETSC_PI);
    *f = z * Phi;
    return Phi + z * pdf;
  }
  }
  return 0;
}

/* Gates g[j][i] (j = 1..L-1) and the smallest |z| at a kink (relu, leaky relu), by plain loops. */
static inline PetscErrorCode TestNetGates(TestNet *t, const PetscReal x[], PetscReal *g[], PetscReal *zmin)
{
  PetscReal h[64], hn[64];

  PetscFunctionBeginUser;
  *zmin = PETSC_MAX_REAL;
  for (PetscInt i = 0; i < t->w[0]; i++) h[i] = x[i];
  for (PetscInt j = 1; j < t->L; j++) {
    PetscInt woff, boff;
    PetscCall(SpdMLPGetLayerBlock(t->mlp, j - 1, &woff, NULL, &boff, NULL));
    for (PetscInt o = 0; o < t->w[j]; o++) {
      PetscReal z = 0, f = 0;
      for (PetscInt i = 0; i < t->w[j - 1]; i++) z += t->theta[woff + o * t->w[j - 1] + i] * h[i];
      z *= t->a[j - 1];
      if (t->bias[j - 1]) z += t->c[j - 1] * t->theta[boff + o];
      g[j][o] = TestActDeriv(t->act[j - 1], t->slope, z, &f);
      hn[o]   = f;
      if (t->act[j - 1] == SPD_ACT_RELU || t->act[j - 1] == SPD_ACT_LEAKY_RELU) *zmin = PetscMin(*zmin, PetscAbsReal(z)); /* kinks */
    }
    for (PetscInt o = 0; o < t->w[j]; o++) h[o] = hn[o];
  }
  PetscFunctionReturn(0);
}

/* J_{l:k} (w_l x w_{k-1}, column-major) = A_l G_{l-1} ... G_k A_k from factors A[j]
   (w_j x w_{j-1} row-major, multipliers included) and gates g[j]. */
static inline PetscErrorCode TestPartial(const PetscInt w[], PetscReal *A[], PetscReal *g[], PetscInt k, PetscInt l, PetscReal Jout[])
{
  PetscReal *cur, *nxt;
  PetscInt   n = w[k - 1];

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(64 * 64 * 64, &cur, 64 * 64 * 64, &nxt));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i < n; i++) cur[i + j * n] = i == j;
  for (PetscInt j = k; j <= l; j++) {
    PetscInt in = w[j - 1], o = w[j];
    for (PetscInt c = 0; c < n; c++)
      for (PetscInt r = 0; r < o; r++) {
        PetscReal s = 0;
        for (PetscInt i = 0; i < in; i++) s += A[j][r * in + i] * cur[i + c * in];
        nxt[r + c * o] = (j < l && g[j]) ? g[j][r] * s : s;
      }
    PetscCall(PetscArraycpy(cur, nxt, o * n));
  }
  PetscCall(PetscArraycpy(Jout, cur, w[l] * n));
  PetscCall(PetscFree2(cur, nxt));
  PetscFunctionReturn(0);
}

/* Factors A[j] = a_j W_j (row-major) of a TestNet, from theta. */
static inline PetscErrorCode TestNetFactors(TestNet *t, PetscReal *A[])
{
  PetscFunctionBeginUser;
  for (PetscInt j = 1; j <= t->L; j++) {
    PetscInt woff, wsize;
    PetscCall(SpdMLPGetLayerBlock(t->mlp, j - 1, &woff, &wsize, NULL, NULL));
    for (PetscInt i = 0; i < wsize; i++) A[j][i] = t->a[j - 1] * t->theta[woff + i];
  }
  PetscFunctionReturn(0);
}

/* Set a distributed Vec from a replicated array. */
static inline PetscErrorCode TestVecSet(Vec v, const PetscReal in[])
{
  PetscInt   lo, hi;
  PetscReal *a;

  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(v, &lo, &hi));
  PetscCall(VecGetArrayWrite(v, &a));
  for (PetscInt i = lo; i < hi; i++) a[i - lo] = in[i];
  PetscCall(VecRestoreArrayWrite(v, &a));
  PetscFunctionReturn(0);
}
