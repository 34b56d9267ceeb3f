/* specdyn/store.h - results in parallel HDF5 (the "store" layer).

   A results folder holds
     tasks/<id>.h5     one file per completed task, written collectively by its group
                       as tasks/<id>.h5.tmp and renamed when complete (atomic);
     failed/<id>.txt   the error of a task that failed (it is retried on rerun);
     comparisons/<id>.h5  one file per comparison of two tasks' singular vectors;
     index.h5          external links presenting the study as one tree, plus the
                       list of skipped tensors and failed tasks;
   The set of final-named task files is the ledger: a rerun skips them. Schema in
   docs/results-format.md. */
#pragma once
#include <specdyn/job.h>

typedef struct _p_SpdStore    *SpdStore;
typedef struct _p_SpdTaskFile *SpdTaskFile;

/* Collective: create the folder (and tasks/, failed/) if needed. */
PETSC_EXTERN PetscErrorCode SpdStoreOpen(MPI_Comm, const char dir[], SpdStore *);
PETSC_EXTERN PetscErrorCode SpdStoreGetDir(SpdStore, const char **);
/* Not collective: whether the task's final file exists. */
PETSC_EXTERN PetscErrorCode SpdStoreTaskDone(SpdStore, const char id[], PetscBool *);
/* Not collective: whether the comparison's file (comparisons/<id>.h5) exists. */
PETSC_EXTERN PetscErrorCode SpdStoreComparisonDone(SpdStore, const char id[], PetscBool *);
/* Not collective: rows [rstart, rstart+nloc) of the first min(kmax, stored) vectors of a
   task's k x N dataset `path` ("top/U"), read by this rank alone (its own block):
   X is nloc x *k, column-major (vector j at X + j nloc). Free with PetscFree(). */
PETSC_EXTERN PetscErrorCode SpdStoreReadVecsBlock(SpdStore, const char id[], const char path[], PetscInt kmax, PetscInt rstart, PetscInt nloc, PetscInt *k, PetscReal **X);
/* Not collective (call on one rank): record / clear a task's failure message. */
PETSC_EXTERN PetscErrorCode SpdStoreRecordFailure(SpdStore, const SpdTask *, const char name[], const char msg[]);
PETSC_EXTERN PetscErrorCode SpdStoreClearFailure(SpdStore, const char id[]);
/* Rank 0 of the store's communicator writes index.h5 (through index.h5.tmp). Collective. */
PETSC_EXTERN PetscErrorCode SpdStoreWriteIndex(SpdStore, SpdPlan);
PETSC_EXTERN PetscErrorCode SpdStoreDestroy(SpdStore *);

/* A task's result file. Collective on the group communicator given at creation. */
PETSC_EXTERN PetscErrorCode SpdTaskFileCreate(SpdStore, MPI_Comm, const char id[], SpdTaskFile *);
/* Headline numbers of a comparison (attributes of its `summary` group, columns of the
   index's comparisons table), NULL-terminated; docs/metrics.md defines them. */
PETSC_EXTERN const char *const SpdComparisonSummaryNames[];
/* A comparison's result file: comparisons/<id>.h5, same life cycle as a task file. */
PETSC_EXTERN PetscErrorCode SpdComparisonFileCreate(SpdStore, MPI_Comm, const char id[], SpdTaskFile *);
/* A replicated array (identical on every rank), written by one rank. */
PETSC_EXTERN PetscErrorCode SpdTaskFileWriteReal(SpdTaskFile, const char path[], PetscInt n, const PetscReal v[]);
PETSC_EXTERN PetscErrorCode SpdTaskFileWriteInt(SpdTaskFile, const char path[], PetscInt n, const PetscInt v[]);
/* A replicated m x n matrix (row-major), written by one rank. */
PETSC_EXTERN PetscErrorCode SpdTaskFileWriteMatrix(SpdTaskFile, const char path[], PetscInt m, PetscInt n, const PetscReal v[]);
/* k distributed vectors (same layout) as a k x N dataset, each rank writing its rows' slice. */
PETSC_EXTERN PetscErrorCode SpdTaskFileWriteVecs(SpdTaskFile, const char path[], PetscInt k, const Vec v[], PetscInt N);
/* Attributes on the group or dataset `obj` ("/" for the root). Values identical on all ranks. */
PETSC_EXTERN PetscErrorCode SpdTaskFileSetAttrString(SpdTaskFile, const char obj[], const char name[], const char value[]);
PETSC_EXTERN PetscErrorCode SpdTaskFileSetAttrReal(SpdTaskFile, const char obj[], const char name[], PetscReal value);
PETSC_EXTERN PetscErrorCode SpdTaskFileSetAttrInt(SpdTaskFile, const char obj[], const char name[], PetscInt64 value);
PETSC_EXTERN PetscErrorCode SpdTaskFileCreateGroup(SpdTaskFile, const char path[]);
/* One iterative solve's group: grp/<valname>, grp/residual, grp/converged and the
   attributes requested, nconv, iterations, products, passes (npasses < -1: omitted), solver, tol. */
PETSC_EXTERN PetscErrorCode SpdTaskFileWriteSolve(SpdTaskFile, const char grp[], const char valname[], PetscInt k, const PetscReal values[], const PetscReal residual[], const PetscBool converged[], PetscInt nconv, PetscInt its, PetscInt nprod, PetscInt npasses, const char solver[], PetscReal tol);
/* specdyn_version, git_revision, library_versions, written, study, job_text, petsc_options. */
PETSC_EXTERN PetscErrorCode SpdTaskFileSetProvenance(SpdTaskFile, SpdJob);
/* Close, rename to the final name, fsync the folder. */
PETSC_EXTERN PetscErrorCode SpdTaskFileCommit(SpdTaskFile *);
/* Close and remove the temporary file (the task failed). */
PETSC_EXTERN PetscErrorCode SpdTaskFileAbort(SpdTaskFile *);

/* `specdyn export`: one CSV row per analysed matrix with every scalar metric. Serial. */
PETSC_EXTERN PetscErrorCode SpdExportCSV(const char results[], const char csv[]);
/* `specdyn export --comparisons`: one CSV row per planned comparison. Serial. */
PETSC_EXTERN PetscErrorCode SpdExportComparisonsCSV(const char results[], const char csv[]);
