/* Private to the train layer: the trainer object and what trainer.c, run.c and
   safetensors.c share. */
#pragma once
#include <specdyn/train.h>
#include <petsc/private/petscimpl.h> /* PetscValidPointer */

/* Tags of the trainer's random streams (SpdRandomSeed(seed, tag, i), docs/training.md):
   the tag is 8 ASCII bytes read as a big-endian integer, so that the uses of one seed
   (data generators use "MIXTURE!", "TSAMPLE!", "TEACHER!", "CORRUPT!") never share a
   stream.
     SPD_TAG_SHUFFLE ("SHUFFLE!"): stream (seed, SHUFFLE, e) draws epoch e's permutation by
       Fisher-Yates: perm = identity; for i = n-1 down to 1: j = floor(u (i + 1)), swap
       perm[i], perm[j] (u a uniform in [0, 1)); tests/train/ref.py re-implements it.
     SPD_TAG_INIT ("INITPAR!"): stream (seed, INIT, j) draws parameter j of theta_0 (its
       first uniform or its first normal). */
#define SPD_TAG_SHUFFLE UINT64_C(0x53485546464c4521) /* "SHUFFLE!" */
#define SPD_TAG_INIT    UINT64_C(0x494e495450415221) /* "INITPAR!" */

struct _p_SpdTrainer {
  MPI_Comm       comm;
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainConfig cfg;
  PetscInt       P, n;
  PetscInt       bsize, nbatch; /* effective minibatch size (n for full batch), batches per epoch */
  PetscBool      full; /* gradient descent: every step uses all the data */
  /* state */
  PetscInt   t;
  PetscReal *theta; /* the model's parameter array (not owned) */
  PetscReal *m; /* momentum buffer, NULL without momentum */
  PetscReal *g; /* gradient workspace */
  PetscReal  loss, gradnorm; /* of the last step */
  PetscReal  accuracy; /* minibatch accuracy of the last step (-1: regression) */
  PetscBool  has_stats;
  /* minibatches */
  PetscInt *perm, perm_epoch; /* the permutation of epoch perm_epoch (-1: none) */
  PetscInt *bidx, bidx_t, bcount; /* sorted indices of step bidx_t's batch */
  SpdData   bdata; /* step bdata_t's batch (minibatches only; storage reused across steps) */
  PetscInt  bdata_t, bdata_cap; /* ... and its capacity in local samples */
  /* SpdTrainerStepTangent's work arrays (P each), allocated at its first call */
  PetscReal *tan_w, *tan_Aw, *tan_saved;
};

/* A one-line text of the trajectory-determining configuration (for the metrics' and
   state's attributes) and its hash; `steps` enters only when the schedule depends on it. */
PETSC_INTERN PetscErrorCode SpdTrainConfigText_Private(SpdTrainer, char[], size_t, char hash[], size_t);
/* The model's communicator (see safetensors.c). */
