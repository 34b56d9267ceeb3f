/* Private to the model layer: what mlp.c and jacobian.c share. */
#pragma once
#include <specdyn/model.h>

/* phi, phi', phi'' of one activation at z. */
static inline void SpdActEval(SpdActivation act, PetscReal slope, PetscReal z, PetscReal *f, PetscReal *d1, PetscReal *d2)
{
  switch (act) {
  case SPD_ACT_IDENTITY:
    *f = z, *d1 = 1, *d2 = 0;
    break;
  case SPD_ACT_RELU:
    *f = z > 0 ? z : 0, *d1 = z > 0 ? 1 : 0, *d2 = 0;
    break;
  case SPD_ACT_LEAKY_RELU:
    *f = z > 0 ? z : slope * z, *d1 = z > 0 ? 1 : slope, *d2 = 0;
    break;
  case SPD_ACT_TANH: {
    PetscReal t = PetscTanhReal(z);
    *f = t, *d1 = 1 - t * t, *d2 = -2 * t * (1 - t * t);
  } break;
  case SPD_ACT_GELU: { /* exact: z Phi(z) */
    PetscReal pdf = PetscExpReal(-0.5 * z * z) / PetscSqrtReal(2 * PETSC_PI), cdf = 0.5 * erfc(-z / PetscSqrtReal(2.0));
    *f = z * cdf, *d1 = cdf + z * pdf, *d2 = pdf * (2 - z * z);
  } break;
  }
}
