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
};

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
