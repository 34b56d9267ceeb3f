/* Private: constructors shared inside the operator layer. */
#pragma once
#include <specdyn/operator.h>

/* The float32 operator (densef32.c) around a column-major block a (mloc x N, leading
   dimension mloc), rows and columns laid out as mloc / nloc on comm; takes ownership of
   a (freed with the matrix, or at once on error). bad: this rank's first entry (row-major
   global index) whose source value was not a binary32 number, INT64_MAX if none; any
   such entry on any rank is an error naming it and the matrix `name`. Collective on comm. */
PETSC_INTERN PetscErrorCode SpdMatFloat32FromArray(MPI_Comm comm, const char name[], PetscInt mloc, PetscInt nloc, PetscInt M, PetscInt N, float *a, PetscInt64 bad, Mat *S);
