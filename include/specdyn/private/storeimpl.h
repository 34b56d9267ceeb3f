/* Private: the results folder. */
#pragma once
#include <specdyn/store.h>

struct _p_SpdStore {
  MPI_Comm    comm;
  PetscMPIInt rank;
  char        dir[PETSC_MAX_PATH_LEN];
  char        tasksdir[PETSC_MAX_PATH_LEN];
  char        faileddir[PETSC_MAX_PATH_LEN];
};

/* fsync a folder so that a rename in it survives a crash. */
PETSC_INTERN PetscErrorCode SpdStoreSyncDir_Private(const char dir[]);
