/* Private: the results folder. */
#pragma once
#include <specdyn/store.h>
#include <hdf5.h>

struct _p_SpdStore {
  MPI_Comm    comm;
  PetscMPIInt rank;
  char        dir[PETSC_MAX_PATH_LEN];
  char        tasksdir[PETSC_MAX_PATH_LEN];
  char        faileddir[PETSC_MAX_PATH_LEN];
  char        comparisonsdir[PETSC_MAX_PATH_LEN];
  int         lockfd; /* rank 0: the open <dir>/.lock holding our flock, else -1 */
};

/* The results folder's advisory lock (lock.c): exclusive for a run that may write any
   task (a plain run, --merge), shared for runs that may run side by side (slices of one
   study, --index-only), none to skip it (file systems without flock). */
typedef enum {
  SPD_STORE_LOCK_EXCLUSIVE,
  SPD_STORE_LOCK_SHARED,
  SPD_STORE_LOCK_NONE
} SpdStoreLockMode;
PETSC_INTERN const char *const SpdStoreLockModes[];
/* Collective: take the lock on rank 0 (fails on every rank, naming the holder, when
   another run holds it in a conflicting mode); the sole holder also removes the *.tmp
   files left by interrupted runs. */
PETSC_INTERN PetscErrorCode SpdStoreLockAcquire_Private(SpdStore, SpdStoreLockMode);
/* Not collective: release the lock (closing its file). */
PETSC_INTERN PetscErrorCode SpdStoreLockRelease_Private(SpdStore);

/* fsync a folder so that a rename in it survives a crash. */
PETSC_INTERN PetscErrorCode SpdStoreSyncDir_Private(const char dir[]);

/* Parts of index.h5 written by their own files (rank 0, serial HDF5). */
PETSC_INTERN PetscErrorCode SpdIndexWriteComparisons_Private(SpdStore, SpdPlan, hid_t file);
PETSC_INTERN PetscErrorCode SpdIndexWriteTrajectories_Private(SpdStore, SpdPlan, hid_t file);
PETSC_INTERN PetscErrorCode SpdWriteStrings_Private(hid_t loc, const char path[], PetscInt n, const char *const v[]);
PETSC_INTERN PetscErrorCode SpdWriteInt64_Private(hid_t loc, const char path[], PetscInt n, const PetscInt64 v[]);
PETSC_INTERN PetscErrorCode SpdWriteReals_Private(hid_t loc, const char path[], PetscInt m, PetscInt n, const PetscReal v[]);
PETSC_INTERN PetscErrorCode SpdWriteAttrString_Private(hid_t loc, const char name[], const char value[]);
PETSC_INTERN PetscErrorCode SpdStoreReadFailure_Private(SpdStore, const char id[], char **msg);
PETSC_INTERN PetscErrorCode SpdStoreCheckSpace_Private(const char dir[], const char file[]);
