/* jacobianimpl.h - the SpdJacobian object, shared by jacobian.c and lyapunov.c only. */
#pragma once
#include <specdyn/private/blas.h>
#include <specdyn/jacobian.h>

struct _p_SpdJacobian {
  MPI_Comm    comm;
  PetscMPIInt size, rank;
  PetscInt    refct;
  PetscInt    L, *w; /* widths w[0..L]                                          */
  PetscInt  **range; /* range[j][0..size]: first row of each rank in width w[j] */
  PetscInt   *nloc; /* nloc[j]: this rank's rows of width w[j]                 */
  PetscInt    maxw, maxloc; /* max over j of w[j] and of nloc[j]                */
  PetscReal  *scale; /* scale[j] = a_j, j = 1..L                                */
  PetscReal **W; /* W[j]: local rows of W_j, nloc[j] x w[j-1] row-major, j = 1..L (NULL: generated) */
  PetscReal **g; /* g[j]: local gates of width w[j], j = 1..L-1 (NULL: identity)  */
  /* random ensemble */
  PetscBool    generate;
  PetscInt64   seed;
  PetscReal   *Wgen; /* rows generated on demand (when not stored)                */
  PetscMPIInt *cnt, *dsp; /* scratch for the collectives                         */
};

/* Streams of the random ensemble: counter-based, so a rank draws only its own rows. */
#define SPD_JAC_TAG_WEIGHT 1
#define SPD_JAC_TAG_GATE   2
#define SPD_JAC_TAG_START  3
PETSC_INTERN uint64_t SpdJacobianStream_Private(PetscInt64 seed, uint64_t tag, uint64_t j, uint64_t i);
PETSC_INTERN void     SpdJacobianNormals_Private(uint64_t *state, PetscInt n, PetscReal z[]);
PETSC_INTERN double   SpdJacobianUniform_Private(uint64_t *state);
/* Y (width w[j], local rows nloc[j] x m row-major) = A_j G_{j-1} X (G_{j-1} only when gate_before). */
PETSC_INTERN PetscErrorCode SpdJacobianLayerForward_Private(SpdJacobian, PetscInt j, PetscInt m, const PetscReal X[], PetscBool gate_before, PetscReal Y[]);
PETSC_INTERN PetscErrorCode SpdJacobianGather_Private(SpdJacobian, PetscInt j, PetscInt m, const PetscReal loc[], PetscReal full[]);
