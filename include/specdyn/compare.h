/* specdyn/compare.h - comparisons of stored singular vectors (the "compare" layer).

   After the tasks of a study, each comparison the plan lists (job key `compare:`) reads
   the top-k singular vectors of its two tasks from their files, each rank only its own
   block of rows, forms the k x k overlaps with one local product and one MPI_Allreduce
   (no rank ever holds a whole vector set), and writes comparisons/<id>.h5: overlaps,
   agreement or alignment, principal angles and headline numbers. Formulas in
   docs/metrics.md; schema in docs/results-format.md. */
#pragma once
#include <specdyn/store.h>

/* M = A^T B for row-distributed A (N x ka) and B (N x kb): each rank passes its nloc
   rows, column-major (vector j at A + j nloc). The local ka x kb products are summed over
   comm; M is replicated and row-major (M[i kb + j] = a_i . b_j). Collective. */
PETSC_EXTERN PetscErrorCode SpdOverlap(MPI_Comm, PetscInt nloc, PetscInt ka, const PetscReal A[], PetscInt kb, const PetscReal B[], PetscReal M[]);
/* Cosines of the principal angles between span(A) and span(B), A and B with orthonormal
   columns, from M = A^T B (ka x kb, row-major): its min(ka,kb) singular values,
   descending, clipped to [0, 1]. Not collective. */
PETSC_EXTERN PetscErrorCode SpdPrincipalCosines(PetscInt ka, PetscInt kb, const PetscReal M[], PetscReal cos[]);

typedef struct {
  PetscInt ndone; /* computed now                              */
  PetscInt nstored; /* already stored (skipped)                  */
  PetscInt nwaiting; /* a task they need is not stored            */
  PetscInt nfailed; /* could not be computed (message on stderr) */
} SpdCompareSummary;

/* Compute every comparison of the plan that is not stored and whose tasks are. Collective. */
PETSC_EXTERN PetscErrorCode SpdCompareRun(SpdPlan, SpdStore, SpdCompareSummary *);
