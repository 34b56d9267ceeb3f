/* Matrix-vector kernels for a column-major block stored in SPD_GEMV_T (float or double),
   applied to double vectors with double accumulation. A "template" header: the file that
   includes it defines SPD_GEMV_T and SPD_GEMV(op) (the kernels' names) first, and may
   include it once per element type (densef32.c: float; densef64.c: double).

   Both kernels stream the block once and are built for AVX2+FMA and for the baseline on
   x86-64 (picked at load time): a product is memory-bound only if converting and
   accumulating keep up with the memory. Measured on this project's 2-core EPYC VM, four
   columns per sweep over y read 10-15% faster than OpenBLAS's dgemv (bench/README.md,
   row 3). */
#include <petscsys.h>

#if !defined(SPD_KERNEL)
#  if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#    define SPD_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#  else
#    define SPD_KERNEL
#  endif
#endif

/* y[0:m] = A x over all N columns (leading dimension lda), 4 columns per sweep over y. */
SPD_KERNEL static void SPD_GEMV(N)(PetscInt m, PetscInt N, const SPD_GEMV_T *a, PetscInt lda, const double *x, double *y)
{
  PetscInt j = 0;

  for (PetscInt i = 0; i < m; i++) y[i] = 0.0;
  for (; j + 4 <= N; j += 4) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
    double            x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
#pragma omp simd
    for (PetscInt i = 0; i < m; i++) y[i] += (double)c0[i] * x0 + (double)c1[i] * x1 + (double)c2[i] * x2 + (double)c3[i] * x3;
  }
  for (; j < N; j++) {
    const SPD_GEMV_T *c  = a + (size_t)j * lda;
    double            xj = x[j];
#pragma omp simd
    for (PetscInt i = 0; i < m; i++) y[i] += (double)c[i] * xj;
  }
}

/* z[0:N] = A^T x: dot products, 4 columns at a time (4 independent accumulators hide
   the latency of the additions). */
SPD_KERNEL static void SPD_GEMV(T)(PetscInt m, PetscInt N, const SPD_GEMV_T *a, PetscInt lda, const double *x, double *z)
{
  PetscInt j = 0;

  for (; j + 4 <= N; j += 4) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
    double            s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
#pragma omp simd reduction(+ \
                           : s0, s1, s2, s3)
    for (PetscInt i = 0; i < m; i++) {
      double xi = x[i];
      s0 += (double)c0[i] * xi;
      s1 += (double)c1[i] * xi;
      s2 += (double)c2[i] * xi;
      s3 += (double)c3[i] * xi;
    }
    z[j]     = s0;
    z[j + 1] = s1;
    z[j + 2] = s2;
    z[j + 3] = s3;
  }
  for (; j < N; j++) {
    const SPD_GEMV_T *c = a + (size_t)j * lda;
    double            s = 0.0;
#pragma omp simd reduction(+ \
                           : s)
    for (PetscInt i = 0; i < m; i++) s += (double)c[i] * x[i];
    z[j] = s;
  }
}
