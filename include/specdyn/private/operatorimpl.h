/* Private: constructors shared inside the operator layer. */
#pragma once
#include <specdyn/operator.h>

/* The float32 operator (densef32.c) around a column-major block a (mloc x N, leading
   dimension mloc) of binary32 numbers, rows and columns laid out as mloc / nloc on comm;
   takes ownership of a (freed with the matrix). Collective on comm. */
PETSC_INTERN PetscErrorCode SpdMatFloat32FromArray(MPI_Comm comm, PetscInt mloc, PetscInt nloc, PetscInt M, PetscInt N, float *a, Mat *S);
