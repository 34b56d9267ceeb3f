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
/* The same from a data description (e.g. a training run's copy with its own n and snr). */
PETSC_EXTERN PetscErrorCode SpdJobDataLoadSpec(const SpdJobData *, MPI_Comm, PetscInt nmax, SpdData *);
/* The curvature analysis of one task (job key curvature:). Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdCurvatureRunTask(SpdPlan, const SpdTask *, MPI_Comm, SpdStore, PetscInt *nprod);
/* The input-output Jacobian analysis of one task (job key jacobian:). Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdJacobianRunTask(SpdPlan, const SpdTask *, MPI_Comm, SpdStore, PetscInt *nprod);
/* Train the runs of a training job (job keys train:, sweep:) into <output>/<run>/, on
   groups of ranks; `only` >= 0 trains that run only (a SLURM array task). Runs that fail
   are counted and reported; the others finish. Writes <output>/study.yaml (a job that
   analyses the runs' weight dynamics). Collective. */
PETSC_EXTERN PetscErrorCode SpdTrainJob(SpdJob, MPI_Comm, PetscInt only, PetscInt *ndone, PetscInt *nfailed, SpdRunStatus *);
/* The training-Jacobian analysis of the run of `trainer` (at t = 0, theta_0) into the
   HDF5 file `path` (docs/training.md): top/bottom singular triplets of J_T with
   residuals and cosines u_i.v_i, the SLQ density of sigma with the sizes of the chaotic
   (sigma > 1 + eps), bulk and stable (sigma < 1 - eps) regions and their uncertainty,
   the same for the parameter-function Jacobian at theta_T on `train`, and perturbation
   experiments (output change in distribution on `test` and on white noise). Collective. */
PETSC_EXTERN PetscErrorCode SpdTrainingJacobianAnalyze(SpdTrainer, const SpdTrainJacSettings *, SpdData train, SpdData test, const char path[]);
/* Run every task of the plan not yet stored, then (unless the plan is a slice or the run
   was stopped) the comparisons not yet stored, and write the index. Collective. */
PETSC_EXTERN PetscErrorCode SpdRun(SpdPlan, SpdStore, SpdRunSummary *, SpdRunStatus *);

/* ---- representational alignment across an ensemble (src/analysis/ensemble.c) ----
   For each (snr, n) of a grid, M members are trained on teacher-student data with the
   same teacher and inputs and independent label noise; the pairwise alignment of their
   layers' representations on common probe inputs (SpdAlignmentCompute) and their test
   error on noiseless fresh data are written to an HDF5 file (docs/alignment.md). */
#include <specdyn/train.h>
#include <specdyn/alignment.h>

/* SpdEnsembleConfig: include/specdyn/job.h (job key ensemble:) */

/* Run the whole grid on comm (samples split over its ranks) and write out_path (rank 0,
   serial HDF5, through out_path.tmp and a rename). Collective. */
PETSC_EXTERN PetscErrorCode SpdEnsembleAlignmentRun(MPI_Comm, const SpdEnsembleConfig *, const char out_path[]);
