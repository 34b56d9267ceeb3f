/* The float32 operator's 4-vector products (block Lanczos with 4 vectors per pass, the
   residual norms of 4 triplets at a time) in AVX2 + FMA intrinsics.

   Why not the portable loops of gemvimpl.h: with the local block column-major, a
   product with 4 vectors streams A once but sweeps the 4 vectors (m or N doubles each,
   larger than L1) once per group of columns. The portable kernels take 2 columns per
   sweep, so the vectors' traffic from L2 (4 vectors read, and for A X written, per 2
   columns) bounds the pass, and GCC's vectorization of the float-to-double loops
   doubles the unrolling until the accumulators spill. Here A X takes 4 columns per
   sweep (16 broadcast coefficients; those that do not fit the 16 registers are read
   from L1) and A^T X takes 3 (12 accumulators in registers), each entry converted once.
   Measured on this project's 2-core EPYC (Zen 3) VM, 2 ranks streaming a 10000 x 50000
   float32 block each: 0.35-0.41 ns per entry for A X and 0.31-0.37 for A^T X, against
   0.55-0.60 and 0.52-0.56 for the portable kernels and 0.22-0.29 for a single-vector
   product (bench/results.md, row 7). Tiling the rows instead is slower still (the
   column segments defeat the prefetchers: 0.6-0.9 ns per entry). */
#include "gemvavx2.h"

#if defined(SPD_HAVE_GEMV_AVX2)
#  include <immintrin.h>

#  define SPD_AVX2 __attribute__((target("avx2,fma")))

/* Each column of a sweep is a stream of its own, and the hardware prefetchers alone do
   not keep enough lines in flight for one core to read at the memory's rate: every 4
   rows the kernels prefetch (into L2) one line SPD_PF_AHEAD floats ahead, taking the
   sweep's columns in turn. 256 floats (1 KiB): measured on a 2-core Xeon VM, 2 ranks
   streaming 4000 x 50000 float32 each on huge pages, 4-vector passes of 54-57 ms at 256,
   58-59 at 512, 61 at 1024 and 61-62 without, 67-68 at 2048; at row 7's 10000 x 50000
   per rank, 122 ms at 256, 116-122 at 512, 125 at 1024 (bench/results.md, session 10).
   When the lead runs past the end of a column it goes on to the same column of the next
   sweep, so that each sweep starts with its lines in flight. */
#  define SPD_PF_AHEAD 256

PetscBool SpdGemvAVX2Available(void)
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? PETSC_TRUE : PETSC_FALSE;
}

/* 4 floats at c, converted to doubles */
SPD_AVX2 static inline __m256d SpdLoad4_Private(const float *c)
{
  return _mm256_cvtps_pd(_mm_loadu_ps(c));
}

/* the sum of the 4 lanes */
SPD_AVX2 static inline double SpdHsum_Private(__m256d s)
{
  __m128d l = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  return _mm_cvtsd_f64(_mm_add_sd(l, _mm_unpackhi_pd(l, l)));
}

SPD_AVX2 void SpdF32GemvAVX2_N4(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, double *y, PetscInt ldy)
{
  double  *y0 = y, *y1 = y0 + ldy, *y2 = y1 + ldy, *y3 = y2 + ldy;
  PetscInt j = 0, m4 = m - m % 4;

  for (; j + 4 <= N; j += 4) { /* 4 columns per sweep over the 4 result vectors */
    const float  *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
    const double *p  = x + 4 * j; /* p[4 c + r]: coefficient of column j + c in vector r */
    __m256d       p0 = _mm256_broadcast_sd(p), p1 = _mm256_broadcast_sd(p + 1), p2 = _mm256_broadcast_sd(p + 2), p3 = _mm256_broadcast_sd(p + 3);
    __m256d       q0 = _mm256_broadcast_sd(p + 4), q1 = _mm256_broadcast_sd(p + 5), q2 = _mm256_broadcast_sd(p + 6), q3 = _mm256_broadcast_sd(p + 7);
    __m256d       r0 = _mm256_broadcast_sd(p + 8), r1 = _mm256_broadcast_sd(p + 9), r2 = _mm256_broadcast_sd(p + 10), r3 = _mm256_broadcast_sd(p + 11);
    __m256d       s0 = _mm256_broadcast_sd(p + 12), s1 = _mm256_broadcast_sd(p + 13), s2 = _mm256_broadcast_sd(p + 14), s3 = _mm256_broadcast_sd(p + 15);
    const float  *pf[4] = { c0 + SPD_PF_AHEAD, c1 + SPD_PF_AHEAD, c2 + SPD_PF_AHEAD, c3 + SPD_PF_AHEAD };
    PetscInt      i     = 0;

    for (; i < m4; i += 4) {
      __m256d u = SpdLoad4_Private(c0 + i), v = SpdLoad4_Private(c1 + i), w = SpdLoad4_Private(c2 + i), z = SpdLoad4_Private(c3 + i);
      _mm_prefetch((const char *)(pf[(i >> 2) & 3] + i + (i + SPD_PF_AHEAD < m ? 0 : 4 * lda - m)), _MM_HINT_T1); /* a line of each column per 16 rows */
      _mm256_storeu_pd(y0 + i, _mm256_fmadd_pd(z, s0, _mm256_fmadd_pd(w, r0, _mm256_fmadd_pd(v, q0, _mm256_fmadd_pd(u, p0, _mm256_loadu_pd(y0 + i))))));
      _mm256_storeu_pd(y1 + i, _mm256_fmadd_pd(z, s1, _mm256_fmadd_pd(w, r1, _mm256_fmadd_pd(v, q1, _mm256_fmadd_pd(u, p1, _mm256_loadu_pd(y1 + i))))));
      _mm256_storeu_pd(y2 + i, _mm256_fmadd_pd(z, s2, _mm256_fmadd_pd(w, r2, _mm256_fmadd_pd(v, q2, _mm256_fmadd_pd(u, p2, _mm256_loadu_pd(y2 + i))))));
      _mm256_storeu_pd(y3 + i, _mm256_fmadd_pd(z, s3, _mm256_fmadd_pd(w, r3, _mm256_fmadd_pd(v, q3, _mm256_fmadd_pd(u, p3, _mm256_loadu_pd(y3 + i))))));
    }
    for (; i < m; i++)
      for (PetscInt r = 0; r < 4; r++) y[i + r * ldy] += (double)c0[i] * p[r] + (double)c1[i] * p[4 + r] + (double)c2[i] * p[8 + r] + (double)c3[i] * p[12 + r];
  }
  for (; j < N; j++) { /* the last N % 4 columns, one at a time */
    const float  *c0 = a + (size_t)j * lda;
    const double *p  = x + 4 * j;
    __m256d       p0 = _mm256_broadcast_sd(p), p1 = _mm256_broadcast_sd(p + 1), p2 = _mm256_broadcast_sd(p + 2), p3 = _mm256_broadcast_sd(p + 3);
    PetscInt      i = 0;

    for (; i < m4; i += 4) {
      __m256d u = SpdLoad4_Private(c0 + i);
      _mm256_storeu_pd(y0 + i, _mm256_fmadd_pd(u, p0, _mm256_loadu_pd(y0 + i)));
      _mm256_storeu_pd(y1 + i, _mm256_fmadd_pd(u, p1, _mm256_loadu_pd(y1 + i)));
      _mm256_storeu_pd(y2 + i, _mm256_fmadd_pd(u, p2, _mm256_loadu_pd(y2 + i)));
      _mm256_storeu_pd(y3 + i, _mm256_fmadd_pd(u, p3, _mm256_loadu_pd(y3 + i)));
    }
    for (; i < m; i++)
      for (PetscInt r = 0; r < 4; r++) y[i + r * ldy] += (double)c0[i] * p[r];
  }
}

SPD_AVX2 void SpdF32GemvAVX2_T4(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, PetscInt ldx, double *z)
{
  const double *x0 = x, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
  PetscInt      j = 0, m4 = m - m % 4;

  for (; j + 3 <= N; j += 3) { /* 3 columns per sweep over the 4 input vectors */
    const float *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda;
    __m256d      s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0, e0 = s0, e1 = s0, e2 = s0, e3 = s0;
    const float *pf[4] = { c0 + SPD_PF_AHEAD, c1 + SPD_PF_AHEAD, c2 + SPD_PF_AHEAD, c0 + SPD_PF_AHEAD };
    double       r[12];
    PetscInt     i = 0;

    for (; i < m4; i += 4) {
      __m256d u = SpdLoad4_Private(c0 + i), v = SpdLoad4_Private(c1 + i), w = SpdLoad4_Private(c2 + i), b;
      _mm_prefetch((const char *)(pf[(i >> 2) & 3] + i + (i + SPD_PF_AHEAD < m ? 0 : 3 * lda - m)), _MM_HINT_T1); /* c1, c2 a line per 16 rows, c0 per 8 */
      b  = _mm256_loadu_pd(x0 + i);
      s0 = _mm256_fmadd_pd(u, b, s0);
      t0 = _mm256_fmadd_pd(v, b, t0);
      e0 = _mm256_fmadd_pd(w, b, e0);
      b  = _mm256_loadu_pd(x1 + i);
      s1 = _mm256_fmadd_pd(u, b, s1);
      t1 = _mm256_fmadd_pd(v, b, t1);
      e1 = _mm256_fmadd_pd(w, b, e1);
      b  = _mm256_loadu_pd(x2 + i);
      s2 = _mm256_fmadd_pd(u, b, s2);
      t2 = _mm256_fmadd_pd(v, b, t2);
      e2 = _mm256_fmadd_pd(w, b, e2);
      b  = _mm256_loadu_pd(x3 + i);
      s3 = _mm256_fmadd_pd(u, b, s3);
      t3 = _mm256_fmadd_pd(v, b, t3);
      e3 = _mm256_fmadd_pd(w, b, e3);
    }
    {
      const __m256d acc[12] = { s0, s1, s2, s3, t0, t1, t2, t3, e0, e1, e2, e3 };
      for (PetscInt q = 0; q < 12; q++) r[q] = SpdHsum_Private(acc[q]);
    }
    for (; i < m; i++)
      for (PetscInt q = 0; q < 4; q++) {
        double xi = x[i + q * ldx];
        r[q] += (double)c0[i] * xi;
        r[4 + q] += (double)c1[i] * xi;
        r[8 + q] += (double)c2[i] * xi;
      }
    for (PetscInt q = 0; q < 12; q++) z[4 * j + q] = r[q];
  }
  for (; j < N; j++) { /* the last N % 3 columns, one at a time */
    const float *c0 = a + (size_t)j * lda;
    __m256d      s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    double       r[4];
    PetscInt     i = 0;

    for (; i < m4; i += 4) {
      __m256d u = SpdLoad4_Private(c0 + i);
      s0        = _mm256_fmadd_pd(u, _mm256_loadu_pd(x0 + i), s0);
      s1        = _mm256_fmadd_pd(u, _mm256_loadu_pd(x1 + i), s1);
      s2        = _mm256_fmadd_pd(u, _mm256_loadu_pd(x2 + i), s2);
      s3        = _mm256_fmadd_pd(u, _mm256_loadu_pd(x3 + i), s3);
    }
    {
      const __m256d acc[4] = { s0, s1, s2, s3 };
      for (PetscInt q = 0; q < 4; q++) r[q] = SpdHsum_Private(acc[q]);
    }
    for (; i < m; i++)
      for (PetscInt q = 0; q < 4; q++) r[q] += (double)c0[i] * x[i + q * ldx];
    for (PetscInt q = 0; q < 4; q++) z[4 * j + q] = r[q];
  }
}
#else
PetscBool SpdGemvAVX2Available(void)
{
  return PETSC_FALSE;
}
#endif
