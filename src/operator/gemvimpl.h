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

/* Prefetching: the hardware prefetchers alone do not keep enough lines in flight for one
   core to stream memory at its rate, so the single-vector kernels take each column in
   segments of one cache line and prefetch (into L2) the line SPD_GEMV_AHEAD entries
   ahead in every column of the sweep. Measured on a 2-core Xeon VM, 2 ranks streaming a
   10000 x 50000 float32 block each (row 7's matrix) on huge pages, A and A^T alternating:
   32.8-33.3 GB/s at 2 KiB ahead, 32.7-32.9 at 1 KiB, 31.3-31.4 at 512 B, 31.5-31.6 at
   4 KiB (bench/results.md, session 10). */
#if !defined(SPD_GEMV_PREFETCH)
#  if defined(__GNUC__) || defined(__clang__)
#    define SPD_GEMV_PREFETCH(p) __builtin_prefetch((p), 0, 2)
#  else
#    define SPD_GEMV_PREFETCH(p) ((void)0)
#  endif
#endif
/* the line at offset o of each of the sweep's 4 columns */
#undef SPD_GEMV_PREFETCH4
#define SPD_GEMV_PREFETCH4(c0, c1, c2, c3, o) \
  do {                                        \
    SPD_GEMV_PREFETCH((c0) + (o));            \
    SPD_GEMV_PREFETCH((c1) + (o));            \
    SPD_GEMV_PREFETCH((c2) + (o));            \
    SPD_GEMV_PREFETCH((c3) + (o));            \
  } while (0)
#undef SPD_GEMV_LINE
#undef SPD_GEMV_AHEAD
#define SPD_GEMV_LINE  (64 / (PetscInt)sizeof(SPD_GEMV_T)) /* entries per cache line */
#define SPD_GEMV_AHEAD (2048 / (PetscInt)sizeof(SPD_GEMV_T)) /* 2 KiB ahead */

/* y[0:m] = A x over all N columns (leading dimension lda), 4 columns per sweep over y. */
SPD_KERNEL static void SPD_GEMV(N)(PetscInt m, PetscInt N, const SPD_GEMV_T *a, PetscInt lda, const double *x, double *y)
{
  PetscInt j = 0;

  for (PetscInt i = 0; i < m; i++) y[i] = 0.0;
  for (; j + 4 <= N; j += 4) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
    double            x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
    for (PetscInt i0 = 0; i0 < m; i0 += SPD_GEMV_LINE) {
      PetscInt ie = PetscMin(i0 + SPD_GEMV_LINE, m);
      SPD_GEMV_PREFETCH4(c0, c1, c2, c3, i0 + SPD_GEMV_AHEAD);
#pragma omp simd
      for (PetscInt i = i0; i < ie; i++) y[i] += (double)c0[i] * x0 + (double)c1[i] * x1 + (double)c2[i] * x2 + (double)c3[i] * x3;
    }
  }
  for (; j < N; j++) {
    const SPD_GEMV_T *c  = a + (size_t)j * lda;
    double            xj = x[j];
#pragma omp simd
    for (PetscInt i = 0; i < m; i++) y[i] += (double)c[i] * xj;
  }
}

/* z[0:N] = A^T x: dot products, 4 columns at a time, each summed in SPD_GEMV_LANES
   partial sums that stay in registers across the column's segments (an `omp simd
   reduction` per segment would reduce them to scalars every cache line: measured on a
   2-core EPYC VM, that made A^T x read at 17-20 GB/s where A x reads at 28-38). */
#undef SPD_GEMV_LANES
#define SPD_GEMV_LANES 8
_Static_assert(SPD_GEMV_LINE % SPD_GEMV_LANES == 0, "a cache line of entries is a whole number of lane groups");
SPD_KERNEL static void SPD_GEMV(T)(PetscInt m, PetscInt N, const SPD_GEMV_T *a, PetscInt lda, const double *x, double *z)
{
  PetscInt j = 0, mseg = m - m % SPD_GEMV_LINE;

  for (; j + 4 <= N; j += 4) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
    double            s0[SPD_GEMV_LANES] = { 0 }, s1[SPD_GEMV_LANES] = { 0 }, s2[SPD_GEMV_LANES] = { 0 }, s3[SPD_GEMV_LANES] = { 0 };
    PetscInt          i0;

    for (i0 = 0; i0 < mseg; i0 += SPD_GEMV_LINE) {
      SPD_GEMV_PREFETCH4(c0, c1, c2, c3, i0 + SPD_GEMV_AHEAD);
      for (PetscInt l = i0; l < i0 + SPD_GEMV_LINE; l += SPD_GEMV_LANES) {
#pragma omp simd
        for (PetscInt k = 0; k < SPD_GEMV_LANES; k++) {
          double xi = x[l + k];
          s0[k] += (double)c0[l + k] * xi;
          s1[k] += (double)c1[l + k] * xi;
          s2[k] += (double)c2[l + k] * xi;
          s3[k] += (double)c3[l + k] * xi;
        }
      }
    }
    for (PetscInt i = i0; i < m; i++) {
      double xi = x[i];
      s0[0] += (double)c0[i] * xi;
      s1[0] += (double)c1[i] * xi;
      s2[0] += (double)c2[i] * xi;
      s3[0] += (double)c3[i] * xi;
    }
    z[j] = z[j + 1] = z[j + 2] = z[j + 3] = 0.0;
    for (PetscInt k = 0; k < SPD_GEMV_LANES; k++) {
      z[j] += s0[k];
      z[j + 1] += s1[k];
      z[j + 2] += s2[k];
      z[j + 3] += s3[k];
    }
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

#if defined(SPD_GEMV_BLOCK)
/* Four vectors at once, for block Krylov methods and residual norms (defined when the
   including file defines SPD_GEMV_BLOCK): the portable versions. A is read once, two
   columns per sweep over the four result (or input) vectors, so the vectors' traffic
   from L2 bounds the pass: measured on this project's 2-core EPYC VM, ~2.2 times a
   single-vector product. On CPUs with AVX2 + FMA, densef32.c runs gemvavx2.c's instead
   (more columns per sweep, ~1.1-1.5 single products). Tiling the rows (so that the
   vectors stay in L1) is slower still: the column segments defeat the prefetchers. */

/* y_r[0:m] = A x_r, r < 4; x row-major N x 4 (x[4 j + r]), y column-major (ldy). */
SPD_KERNEL static void SPD_GEMV(N4)(PetscInt m, PetscInt N, const SPD_GEMV_T *a, PetscInt lda, const double *x, double *y, PetscInt ldy)
{
  double  *y0 = y, *y1 = y0 + ldy, *y2 = y1 + ldy, *y3 = y2 + ldy;
  PetscInt j = 0;

  for (PetscInt i = 0; i < m; i++) y0[i] = y1[i] = y2[i] = y3[i] = 0.0;
  for (; j + 2 <= N; j += 2) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda, *c1 = c0 + lda;
    const double     *p = x + 4 * j, *q = p + 4;
    double            p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3], q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
#  pragma omp simd
    for (PetscInt i = 0; i < m; i++) {
      double u = (double)c0[i], v = (double)c1[i];
      y0[i] += u * p0 + v * q0;
      y1[i] += u * p1 + v * q1;
      y2[i] += u * p2 + v * q2;
      y3[i] += u * p3 + v * q3;
    }
  }
  for (; j < N; j++) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda;
    const double     *p  = x + 4 * j;
    double            p0 = p[0], p1 = p[1], p2 = p[2], p3 = p[3];
#  pragma omp simd
    for (PetscInt i = 0; i < m; i++) {
      double u = (double)c0[i];
      y0[i] += u * p0;
      y1[i] += u * p1;
      y2[i] += u * p2;
      y3[i] += u * p3;
    }
  }
}

/* z[4 j + r] = (A^T x_r)[j], r < 4, j < N; x column-major m x 4 (ldx). */
SPD_KERNEL static void SPD_GEMV(T4)(PetscInt m, PetscInt N, const SPD_GEMV_T *a, PetscInt lda, const double *x, PetscInt ldx, double *z)
{
  const double *x0 = x, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
  PetscInt      j = 0;

  for (; j + 2 <= N; j += 2) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda, *c1 = c0 + lda;
    double            s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
#  pragma omp simd reduction(+ \
                             : s0, s1, s2, s3, t0, t1, t2, t3)
    for (PetscInt i = 0; i < m; i++) {
      double u = (double)c0[i], v = (double)c1[i];
      s0 += u * x0[i];
      s1 += u * x1[i];
      s2 += u * x2[i];
      s3 += u * x3[i];
      t0 += v * x0[i];
      t1 += v * x1[i];
      t2 += v * x2[i];
      t3 += v * x3[i];
    }
    z[4 * j]     = s0;
    z[4 * j + 1] = s1;
    z[4 * j + 2] = s2;
    z[4 * j + 3] = s3;
    z[4 * j + 4] = t0;
    z[4 * j + 5] = t1;
    z[4 * j + 6] = t2;
    z[4 * j + 7] = t3;
  }
  for (; j < N; j++) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda;
    double            s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#  pragma omp simd reduction(+ \
                             : s0, s1, s2, s3)
    for (PetscInt i = 0; i < m; i++) {
      double u = (double)c0[i];
      s0 += u * x0[i];
      s1 += u * x1[i];
      s2 += u * x2[i];
      s3 += u * x3[i];
    }
    z[4 * j]     = s0;
    z[4 * j + 1] = s1;
    z[4 * j + 2] = s2;
    z[4 * j + 3] = s3;
  }
}
/* Two vectors at once, four columns per sweep over the two result (or input) vectors:
   per entry one conversion and two multiply-adds, few enough for the pass to stay bound
   by memory like a single-vector product. */

/* y_r[0:m] = A x_r, r < 2; x row-major N x 2 (x[2 j + r]), y column-major (ldy). */
SPD_KERNEL static void SPD_GEMV(N2)(PetscInt m, PetscInt N, const SPD_GEMV_T *a, PetscInt lda, const double *x, double *y, PetscInt ldy)
{
  double  *y0 = y, *y1 = y0 + ldy;
  PetscInt j = 0;

  for (PetscInt i = 0; i < m; i++) y0[i] = y1[i] = 0.0;
  for (; j + 4 <= N; j += 4) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
    const double     *p  = x + 2 * j;
    double            p0 = p[0], p1 = p[1], q0 = p[2], q1 = p[3], r0 = p[4], r1 = p[5], s0 = p[6], s1 = p[7];
#  pragma omp simd
    for (PetscInt i = 0; i < m; i++) {
      double u = (double)c0[i], v = (double)c1[i], w = (double)c2[i], z = (double)c3[i];
      y0[i] += u * p0 + v * q0 + w * r0 + z * s0;
      y1[i] += u * p1 + v * q1 + w * r1 + z * s1;
    }
  }
  for (; j < N; j++) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda;
    double            p0 = x[2 * j], p1 = x[2 * j + 1];
#  pragma omp simd
    for (PetscInt i = 0; i < m; i++) {
      double u = (double)c0[i];
      y0[i] += u * p0;
      y1[i] += u * p1;
    }
  }
}

/* z[2 j + r] = (A^T x_r)[j], r < 2, j < N; x column-major m x 2 (ldx). */
SPD_KERNEL static void SPD_GEMV(T2)(PetscInt m, PetscInt N, const SPD_GEMV_T *a, PetscInt lda, const double *x, PetscInt ldx, double *z)
{
  const double *x0 = x, *x1 = x0 + ldx;
  PetscInt      j = 0;

  for (; j + 4 <= N; j += 4) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
    double            s0 = 0, s1 = 0, t0 = 0, t1 = 0, u0 = 0, u1 = 0, v0 = 0, v1 = 0;
#  pragma omp simd reduction(+ \
                             : s0, s1, t0, t1, u0, u1, v0, v1)
    for (PetscInt i = 0; i < m; i++) {
      double e = (double)c0[i], f = (double)c1[i], g = (double)c2[i], h = (double)c3[i], a0 = x0[i], a1 = x1[i];
      s0 += e * a0;
      s1 += e * a1;
      t0 += f * a0;
      t1 += f * a1;
      u0 += g * a0;
      u1 += g * a1;
      v0 += h * a0;
      v1 += h * a1;
    }
    z[2 * j]     = s0;
    z[2 * j + 1] = s1;
    z[2 * j + 2] = t0;
    z[2 * j + 3] = t1;
    z[2 * j + 4] = u0;
    z[2 * j + 5] = u1;
    z[2 * j + 6] = v0;
    z[2 * j + 7] = v1;
  }
  for (; j < N; j++) {
    const SPD_GEMV_T *c0 = a + (size_t)j * lda;
    double            s0 = 0, s1 = 0;
#  pragma omp simd reduction(+ \
                             : s0, s1)
    for (PetscInt i = 0; i < m; i++) {
      double e = (double)c0[i];
      s0 += e * x0[i];
      s1 += e * x1[i];
    }
    z[2 * j]     = s0;
    z[2 * j + 1] = s1;
  }
}
#endif
