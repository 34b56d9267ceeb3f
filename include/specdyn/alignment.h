/* specdyn/alignment.h - similarity of two representations of the same probe samples
   (the "metrics" layer; formulas in docs/alignment.md).

   A representation is an n x p matrix (row i: the features of probe sample i), row-major,
   with the n samples split over the ranks of a communicator: each rank passes its own
   nlocal rows (the same samples, in the same order, for X and Y). Only the column means
   and the p x p, q x q and p x q cross-products of the centered matrices are reduced over
   the ranks; nothing of size n is gathered. X and Y may have different widths p and q.

     linear CKA (Kornblith et al. 2019)  ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)
     SVCCA (Raghu et al. 2017)           mean canonical correlation of the top principal
                                         components of Xc and Yc (99% of the variance, or k)
     Procrustes distance (Ding et al. 2021, normalized)
                                         1 - ||Xc^T Yc||_* / (||Xc||_F ||Yc||_F)
   CKA and SVCCA are 1 and the Procrustes distance 0 when Y = X Q + 1 b^T with Q orthogonal
   (and, for CKA and Procrustes, also Y = s X Q with s > 0). A measure is NaN when a
   representation has no variance over the probes (e.g. all units dead). */
#pragma once
#include <petscsys.h>

typedef struct {
  PetscReal cka; /* linear CKA, in [0, 1]                                        */
  PetscReal svcca; /* mean canonical correlation of the SVD-reduced representations */
  PetscReal procrustes; /* normalized orthogonal Procrustes distance, in [0, 1]        */
  PetscInt  kx, ky; /* SVCCA: principal components kept of X and of Y             */
} SpdAlignment;

/* Default fraction of the variance SVCCA keeps (Raghu et al. 2017). */
#define SPD_SVCCA_VARIANCE 0.99

/* A representation prepared once for many pairs (SpdAlignmentRepCreate): its centered rows
   and everything of it alone (norms, eigendecomposition of Xc^T Xc, SVCCA components). */
typedef struct _p_SpdAlignmentRep *SpdAlignmentRep;

/* Prepare X (nlocal x p, row-major, rows split over comm; copied) with the SVCCA settings
   of SpdAlignmentCompute. Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdAlignmentRepCreate(MPI_Comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscReal svcca_var, PetscInt svcca_k, SpdAlignmentRep *);
/* The three measures of two prepared representations of the same samples (only the cross
   terms are computed; the numbers of SpdAlignmentCompute). Collective. */
PETSC_EXTERN PetscErrorCode SpdAlignmentComputeRep(SpdAlignmentRep, SpdAlignmentRep, SpdAlignment *);
PETSC_EXTERN PetscErrorCode SpdAlignmentRepDestroy(SpdAlignmentRep *);

/* All three measures from one set of cross-products (SpdAlignmentRepCreate of X and of Y,
   then SpdAlignmentComputeRep). svcca_var in (0, 1]: SVCCA keeps the
   fewest top components explaining that fraction of the variance; svcca_k > 0 keeps
   min(svcca_k, rank) components instead. Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdAlignmentCompute(MPI_Comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal svcca_var, PetscInt svcca_k, SpdAlignment *);
/* Each measure alone (the same computation). Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdAlignmentLinearCKA(MPI_Comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal *cka);
PETSC_EXTERN PetscErrorCode SpdAlignmentSVCCA(MPI_Comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal svcca_var, PetscInt svcca_k, PetscReal *svcca);
PETSC_EXTERN PetscErrorCode SpdAlignmentProcrustes(MPI_Comm, PetscInt nlocal, PetscInt p, const PetscReal X[], PetscInt q, const PetscReal Y[], PetscReal *dist);
