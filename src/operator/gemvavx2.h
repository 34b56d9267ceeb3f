/* The float32 operator's 3- and 4-vector kernels written for AVX2 + FMA (gemvavx2.c),
   used by densef32.c when the CPU has them (SpdGemvAVX2Available); otherwise the
   portable kernels of gemvimpl.h run. Same arguments as SpdF32Gemv_N4/_T4; _N4 and _N3
   accumulate. */
#pragma once
#include <petscsys.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  define SPD_HAVE_GEMV_AVX2 1
#endif

/* PETSC_TRUE when the running CPU executes AVX2 and FMA instructions */
PETSC_INTERN PetscBool SpdGemvAVX2Available(void);
#if defined(SPD_HAVE_GEMV_AVX2)
/* y_r[0:m] += A x_r, r < 4; A m x N column-major (lda), x row-major N x 4, y column-major (ldy) */
PETSC_INTERN void SpdF32GemvAVX2_N4(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, double *y, PetscInt ldy);
/* z[4 j + r] = (A^T x_r)[j], r < 4, j < N; x column-major m x 4 (ldx) */
PETSC_INTERN void SpdF32GemvAVX2_T4(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, PetscInt ldx, double *z);
/* the same for 3 vectors: x row-major N x 3 (N3), z[3 j + r] (T3) */
PETSC_INTERN void SpdF32GemvAVX2_N3(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, double *y, PetscInt ldy);
PETSC_INTERN void SpdF32GemvAVX2_T3(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, PetscInt ldx, double *z);
#endif
