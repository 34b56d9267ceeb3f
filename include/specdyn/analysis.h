/* specdyn/analysis.h - running a plan (the "analysis" layer).

   SpdRun splits the communicator into task groups, hands tasks to groups largest
   first, runs the weight-spectra analysis of each task on its group (load -> SVD ->
   metrics -> store), records failures without stopping the others, and writes the
   index. A SIGTERM stops taking new tasks; finished tasks stay stored. */
#pragma once
#include <specdyn/compare.h>
#include <specdyn/eig.h>
#include <specdyn/data.h>
#include <specdyn/svd.h>
#include <specdyn/metrics.h>

typedef enum { SPD_RUN_COMPLETE = 0,
  SPD_RUN_PARTIAL               = 1,
  SPD_RUN_FAILED                = 2 } SpdRunStatus;

typedef struct {
  PetscInt          ndone, nskipped_done, nfailed, nrefused, nnot_run;
  SpdCompareSummary cmp; /* comparisons (job key compare:), computed after the tasks */
} SpdRunSummary;

/* Run one task on `comm` (its group) and write its result file. Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdWeightsRunTask(SpdPlan, const SpdTask *, MPI_Comm, SpdStore, PetscInt *nprod);
/* The job's data (job key data:) split over comm; nmax > 0: its first nmax samples. */
PETSC_EXTERN PetscErrorCode SpdJobDataLoad(SpdJob, MPI_Comm, PetscInt nmax, SpdData *);
/* The curvature analysis of one task (job key curvature:). Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdCurvatureRunTask(SpdPlan, const SpdTask *, MPI_Comm, SpdStore, PetscInt *nprod);
/* The input-output Jacobian analysis of one task (job key jacobian:). Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdJacobianRunTask(SpdPlan, const SpdTask *, MPI_Comm, SpdStore, PetscInt *nprod);
/* Run every task of the plan not yet stored, then (unless the plan is a slice or the run
   was stopped) the comparisons not yet stored, and write the index. Collective. */
PETSC_EXTERN PetscErrorCode SpdRun(SpdPlan, SpdStore, SpdRunSummary *, SpdRunStatus *);
