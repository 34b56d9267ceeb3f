/* Private: the dgemm wrapper shared by the model, metrics and analysis layers. */
#pragma once
#include <specdyn/sys.h>

/* C = alpha op(A) op(B) + beta C, column-major; ta/tb "N" or "T" (src/sys/blas.c). */
PETSC_EXTERN PetscErrorCode SpdGemm(const char ta[], const char tb[], PetscInt M, PetscInt N, PetscInt K, PetscReal alpha, const PetscReal A[], PetscInt lda, const PetscReal B[], PetscInt ldb, PetscReal beta, PetscReal C[], PetscInt ldc);
