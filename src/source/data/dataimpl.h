/* Private to src/source/data: helpers shared by the data loaders and generators. */
#pragma once
#include <specdyn/data.h>
#include <specdyn/private/readerimpl.h> /* SpdCollectiveError_Private */

/* A new, empty data set on comm named `name` (for messages); free with SpdDataDestroy. */
PETSC_INTERN PetscErrorCode SpdDataCreate_Private(MPI_Comm, const char[], SpdData *);
/* Set n and d and this rank's block [start, start + nlocal) (PETSc's default split of n);
   allocates X (nlocal x d). Collective. */
PETSC_INTERN PetscErrorCode SpdDataSetSizes_Private(SpdData, PetscInt64, PetscInt64);
/* Samples per read (collective HDF5 transfer or IDX chunk) for rows of `rowbytes` bytes:
   about 256 MiB per transfer (MPI-IO in Open MPI 4.1 has no large-count calls), at
   least 1; -spd_data_batch_rows overrides it. Not collective (only -help
   output uses comm). */
PETSC_INTERN PetscErrorCode SpdDataGetBatchRows_Private(MPI_Comm, size_t, PetscInt64 *);
/* First NaN/Inf of rows x cols values (global sample index of row 0 = row0): fill msg with
   "<what> has a non-finite value ... at sample i, feature j" and return PETSC_TRUE. */
PETSC_INTERN PetscBool SpdDataFindNonFinite_Private(const PetscReal[], PetscInt64, PetscInt64, PetscInt64, const char[], char[], size_t);
/* Did any rank fail? (collective; lets ranks clean up collectively before raising) */
PETSC_INTERN PetscErrorCode SpdDataAnyError_Private(MPI_Comm, PetscErrorCode, PetscBool *);
