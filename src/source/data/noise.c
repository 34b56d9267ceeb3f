/* White-noise inputs shaped like a data set: the far out-of-distribution probe of the
   perturbation experiments (docs/training.md). */
#include "dataimpl.h"

#define SPD_TAG_NOISE UINT64_C(0x574e4f4953452121) /* "WNOISE!!" */

/*@C
  SpdDataWhiteNoise - n white-noise samples x ~ N(0, I_d) with targets shaped like a data set's

  Collective

  Input Parameters:
+ like - the data whose dimension, communicator and kind of targets are copied
. n    - number of samples
- seed - sample i draws from the stream (seed, i): the same for any number of ranks

  Output Parameter:
. data - labels 0 for classification, zero targets for regression
@*/
PetscErrorCode SpdDataWhiteNoise(SpdData like, PetscInt n, PetscInt64 seed, SpdData *data)
{
  SpdData d;
  char    name[256];

  PetscFunctionBegin;
  PetscCheck(n >= 1, like->comm, PETSC_ERR_ARG_OUTOFRANGE, "White noise needs n >= 1 samples, got %" PetscInt_FMT, n);
  PetscCall(PetscSNPrintf(name, sizeof(name), "white-noise(n=%" PetscInt_FMT ", d=%" PetscInt_FMT ", seed=%" PetscInt64_FMT ")", n, like->d, seed));
  PetscCall(SpdDataCreate_Private(like->comm, name, &d));
  PetscCall(SpdDataSetSizes_Private(d, n, like->d));
  d->nclasses = like->nclasses;
  d->c        = like->c;
  for (PetscInt i = 0; i < d->nlocal; i++) {
    SpdRandom r;
    SpdRandomSeed(&r, seed, SPD_TAG_NOISE, (PetscInt64)d->start + i);
    for (PetscInt j = 0; j < d->d; j++) d->X[(size_t)i * d->d + j] = SpdRandomNormal(&r);
  }
  if (like->labels)
    PetscCall(PetscCalloc1(d->nlocal + 1, &d->labels));
  else
    PetscCall(PetscCalloc1((size_t)d->nlocal * d->c + 1, &d->Y));
  *data = d;
  PetscFunctionReturn(0);
}
