/* Private to the job layer: what plan.c and comparisons.c share. */
#pragma once
#include <specdyn/job.h>

/* Weight tasks (not differences), or curvature tasks, ordered by (checkpoint, name) for lookups. */
typedef struct {
  PetscInt  n;
  PetscInt *order;
} SpdTaskLookup;

/* curvature: the curvature tasks instead of the weights tasks */
PETSC_INTERN PetscErrorCode SpdTaskLookupCreate(SpdPlan, PetscBool curvature, SpdTaskLookup *);
/* Index in plan->tasks of the weights task of `name` in checkpoint c, or -1. */
PETSC_INTERN PetscInt       SpdTaskLookupFind(SpdPlan, const SpdTaskLookup *, PetscInt c, const char name[]);
PETSC_INTERN PetscErrorCode SpdTaskLookupDestroy(SpdTaskLookup *);

/* The pairs of checkpoints (a, b) whose differences W_a - W_b are analysed
   (compare.differences), without repeats. Free *pairs with PetscFree(). */
PETSC_INTERN PetscErrorCode SpdPlanDifferencePairs_Private(SpdJob, PetscInt *npairs, PetscInt **pairs);
/* Fill plan->comparisons from the job's compare settings (after the tasks are sorted). */
PETSC_INTERN PetscErrorCode SpdPlanAddComparisons_Private(SpdPlan);
