/* Private: HDF5 helpers shared by layers (readers, store). */
#pragma once
#include <specdyn/sys.h>

PETSC_INTERN PetscErrorCode SpdH5ReadAttrString(hid_t loc, const char obj[], const char name[], char **out);
/* Close all objects still open in a file, then the file (errors silenced); PETSC_TRUE if it closed. */
PETSC_INTERN PetscBool SpdH5CloseFile(hid_t file);

/* Small serial writes (one rank writes; results of modest size). Each returns an error
   naming the dataset or attribute when HDF5 fails. Integers are stored as int64. */
PETSC_INTERN PetscErrorCode SpdH5WriteArray(hid_t loc, const char name[], int ndims, const hsize_t dims[], hid_t memtype, const void *v);
PETSC_INTERN PetscErrorCode SpdH5WriteReals(hid_t loc, const char name[], int ndims, const hsize_t dims[], const PetscReal v[]);
PETSC_INTERN PetscErrorCode SpdH5WriteInts(hid_t loc, const char name[], int ndims, const hsize_t dims[], const PetscInt v[]);
PETSC_INTERN PetscErrorCode SpdH5WriteAttrReal(hid_t obj, const char name[], PetscReal v);
PETSC_INTERN PetscErrorCode SpdH5WriteAttrInt(hid_t obj, const char name[], PetscInt64 v);
PETSC_INTERN PetscErrorCode SpdH5WriteAttrString(hid_t obj, const char name[], const char value[]);
/* Create path.tmp (truncating) for a file written by one rank; SpdH5CommitFile closes it
   and renames path.tmp to path (atomic), SpdH5AbortFile closes and removes path.tmp. */
PETSC_INTERN PetscErrorCode SpdH5CreateFile(const char path[], hid_t *file);
PETSC_INTERN PetscErrorCode SpdH5CommitFile(hid_t file, const char path[]);
PETSC_INTERN PetscErrorCode SpdH5AbortFile(hid_t file, const char path[]);
