/* The float32 operator's 3- and 4-vector products (block Lanczos with 3 or 4 vectors
   per pass, the residual norms of 4 triplets at a time) in AVX2 + FMA intrinsics.

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
   column segments defeat the prefetchers: 0.6-0.9 ns per entry).
   With 3 vectors both take 4 columns per sweep (12 coefficients or 12 accumulators, and
   everything else, in the 16 registers): 0.24-0.33 ns per entry for A X and 0.22-0.33 for
   A^T X on the same VM and block (session 13; 8 columns per sweep for A X, with the
   coefficients read from L1, was no faster). */
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

/* The prefetch of a sweep over nc columns at row i (a multiple of 4): one line, in column
   pf[(i / 4) % 4] (the sweep's columns in turn, SPD_PF_AHEAD floats ahead; with 3 columns
   pf[3] repeats the first), or, past the column's end, in the same column of the next
   sweep. Always inlined: GCC 12 at -O1/-O2 did not inline it and dropped its calls,
   prefetches and all. */
SPD_AVX2 static inline __attribute__((always_inline)) void SpdPrefetch_Private(const float *const pf[4], PetscInt i, PetscInt m, PetscInt lda, PetscInt nc)
{
  __builtin_prefetch(pf[(i >> 2) & 3] + i + (i + SPD_PF_AHEAD < m ? 0 : nc * lda - m), 0, 2); /* prefetcht1 */
}

/* The pieces the wide loops below leave: rows past the last multiple of 4 and the last
   columns of A, for nv vectors (x row-major N x nv for A X, column-major for A^T X). */

/* y_r[i] += sum_c A[i, c] p[nv c + r], rows i0 <= i < m, columns c < nc (at c0, lda), r < nv */
static inline void SpdTailN_Private(PetscInt i0, PetscInt m, PetscInt nc, PetscInt nv, const float *c0, PetscInt lda, const double *p, double *y, PetscInt ldy)
{
  for (PetscInt i = i0; i < m; i++)
    for (PetscInt r = 0; r < nv; r++) {
      double s = 0.0;
      for (PetscInt c = 0; c < nc; c++) s += (double)c0[i + c * lda] * p[nv * c + r];
      y[i + r * ldy] += s;
    }
}

/* y_r += A[:, j] p[r], r < nv: one column at c0 */
SPD_AVX2 static inline void SpdColumnN_Private(PetscInt m, PetscInt nv, const float *c0, const double *p, double *y, PetscInt ldy)
{
  PetscInt m4 = m - m % 4;

  for (PetscInt r = 0; r < nv; r++) {
    __m256d pr = _mm256_broadcast_sd(p + r);
    double *yr = y + r * ldy;
    for (PetscInt i = 0; i < m4; i += 4) _mm256_storeu_pd(yr + i, _mm256_fmadd_pd(SpdLoad4_Private(c0 + i), pr, _mm256_loadu_pd(yr + i)));
  }
  SpdTailN_Private(m4, m, 1, nv, c0, 0, p, y, ldy);
}

/* r[nv c + q] += sum_i A[i, c] x_q[i], rows i0 <= i < m, columns c < nc (at c0, lda), q < nv */
static inline void SpdTailT_Private(PetscInt i0, PetscInt m, PetscInt nc, PetscInt nv, const float *c0, PetscInt lda, const double *x, PetscInt ldx, double *r)
{
  for (PetscInt i = i0; i < m; i++)
    for (PetscInt q = 0; q < nv; q++) {
      double xi = x[i + q * ldx];
      for (PetscInt c = 0; c < nc; c++) r[nv * c + q] += (double)c0[i + c * lda] * xi;
    }
}

/* z[nv c + q] (nc nv = 12): the 12 sums of a sweep, acc[nv c + q] over rows < i0, and the
   rows from i0 */
SPD_AVX2 static inline void SpdFinishT_Private(const __m256d acc[12], PetscInt i0, PetscInt m, PetscInt nc, PetscInt nv, const float *c0, PetscInt lda, const double *x, PetscInt ldx, double *z)
{
  double r[12]; /* not z itself: the tail would then re-read x after every store to z */

  for (PetscInt q = 0; q < 12; q++) r[q] = SpdHsum_Private(acc[q]);
  SpdTailT_Private(i0, m, nc, nv, c0, lda, x, ldx, r);
  for (PetscInt q = 0; q < 12; q++) z[q] = r[q];
}

/* z[q] = A[:, j] . x_q, q < nv: one column at c0 */
SPD_AVX2 static inline void SpdColumnT_Private(PetscInt m, PetscInt nv, const float *c0, const double *x, PetscInt ldx, double *z)
{
  PetscInt m4 = m - m % 4;

  for (PetscInt q = 0; q < nv; q++) {
    __m256d s = _mm256_setzero_pd();
    for (PetscInt i = 0; i < m4; i += 4) s = _mm256_fmadd_pd(SpdLoad4_Private(c0 + i), _mm256_loadu_pd(x + q * ldx + i), s);
    z[q] = SpdHsum_Private(s);
  }
  SpdTailT_Private(m4, m, 1, nv, c0, 0, x, ldx, z);
}

/* y_r[0:m] += A x_r, r < nv (3 or 4; a constant once inlined, so that the arrays below
   live in registers): 4 columns per sweep over the nv result vectors, 4 nv broadcast
   coefficients (those that do not fit the 16 registers are read from L1). */
SPD_AVX2 static inline __attribute__((always_inline)) void SpdGemvN_Private(PetscInt nv, PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, double *y, PetscInt ldy)
{
  PetscInt j = 0, m4 = m - m % 4;

  for (; j + 4 <= N; j += 4) {
    const float       *c0    = a + (size_t)j * lda;
    const float *const pf[4] = { c0 + SPD_PF_AHEAD, c0 + lda + SPD_PF_AHEAD, c0 + 2 * lda + SPD_PF_AHEAD, c0 + 3 * lda + SPD_PF_AHEAD };
    const double      *p     = x + nv * j; /* p[nv c + r]: coefficient of column j + c in vector r */
    __m256d            co[4][4];

#  pragma GCC unroll 4
    for (PetscInt c = 0; c < 4; c++)
#  pragma GCC unroll 4
      for (PetscInt r = 0; r < nv; r++) co[c][r] = _mm256_broadcast_sd(p + nv * c + r);
    for (PetscInt i = 0; i < m4; i += 4) {
      __m256d u[4];
#  pragma GCC unroll 4
      for (PetscInt c = 0; c < 4; c++) u[c] = SpdLoad4_Private(c0 + c * lda + i);
      SpdPrefetch_Private(pf, i, m, lda, 4); /* a line of each column per 16 rows */
#  pragma GCC unroll 4
      for (PetscInt r = 0; r < nv; r++) {
        __m256d s = _mm256_loadu_pd(y + r * ldy + i);
#  pragma GCC unroll 4
        for (PetscInt c = 0; c < 4; c++) s = _mm256_fmadd_pd(u[c], co[c][r], s);
        _mm256_storeu_pd(y + r * ldy + i, s);
      }
    }
    SpdTailN_Private(m4, m, 4, nv, c0, lda, p, y, ldy);
  }
  for (; j < N; j++) SpdColumnN_Private(m, nv, a + (size_t)j * lda, x + nv * j, y, ldy); /* the last N % 4 columns */
}

SPD_AVX2 void SpdF32GemvAVX2_N4(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, double *y, PetscInt ldy)
{
  SpdGemvN_Private(4, m, N, a, lda, x, y, ldy);
}

SPD_AVX2 void SpdF32GemvAVX2_N3(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, double *y, PetscInt ldy)
{
  SpdGemvN_Private(3, m, N, a, lda, x, y, ldy);
}

/* The A^T X kernels are written out for 4 vectors (3 columns per sweep, the columns
   loaded first) and 3 vectors (4 columns, the vector entries loaded first), each with its
   12 sums, the loads it shares and one more in the 16 registers. One function for both
   (the widths as constants, like SpdGemvN_Private) was measured slower: GCC 12 re-loads
   each vector entry in every FMA, and the 4-vector pass lost 15-25 % streaming (2 ranks,
   10000 x 50000 each, on the EPYC VM). */
SPD_AVX2 void SpdF32GemvAVX2_T4(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, PetscInt ldx, double *z)
{
  const double *x0 = x, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
  PetscInt      j = 0, m4 = m - m % 4;

  for (; j + 3 <= N; j += 3) { /* 3 columns per sweep over the 4 input vectors */
    const float       *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda;
    const float *const pf[4] = { c0 + SPD_PF_AHEAD, c1 + SPD_PF_AHEAD, c2 + SPD_PF_AHEAD, c0 + SPD_PF_AHEAD };
    __m256d            s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0, e0 = s0, e1 = s0, e2 = s0, e3 = s0;
    PetscInt           i = 0;

    for (; i < m4; i += 4) {
      __m256d u = SpdLoad4_Private(c0 + i), v = SpdLoad4_Private(c1 + i), w = SpdLoad4_Private(c2 + i), b;
      SpdPrefetch_Private(pf, i, m, lda, 3); /* c1, c2 a line per 16 rows, c0 per 8 */
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
      SpdFinishT_Private(acc, i, m, 3, 4, c0, lda, x, ldx, z + 4 * j);
    }
  }
  for (; j < N; j++) SpdColumnT_Private(m, 4, a + (size_t)j * lda, x, ldx, z + 4 * j); /* the last N % 3 columns */
}

SPD_AVX2 void SpdF32GemvAVX2_T3(PetscInt m, PetscInt N, const float *a, PetscInt lda, const double *x, PetscInt ldx, double *z)
{
  const double *x0 = x, *x1 = x0 + ldx, *x2 = x1 + ldx;
  PetscInt      j = 0, m4 = m - m % 4;

  for (; j + 4 <= N; j += 4) { /* 4 columns per sweep over the 3 input vectors: 12 sums, 3 vector entries and a column in the 16 registers */
    const float       *c0 = a + (size_t)j * lda, *c1 = c0 + lda, *c2 = c1 + lda, *c3 = c2 + lda;
    const float *const pf[4] = { c0 + SPD_PF_AHEAD, c1 + SPD_PF_AHEAD, c2 + SPD_PF_AHEAD, c3 + SPD_PF_AHEAD };
    __m256d            s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, t0 = s0, t1 = s0, t2 = s0, e0 = s0, e1 = s0, e2 = s0, f0 = s0, f1 = s0, f2 = s0;
    PetscInt           i = 0;

    for (; i < m4; i += 4) {
      __m256d b0 = _mm256_loadu_pd(x0 + i), b1 = _mm256_loadu_pd(x1 + i), b2 = _mm256_loadu_pd(x2 + i), u;
      SpdPrefetch_Private(pf, i, m, lda, 4); /* a line of each column per 16 rows */
      u  = SpdLoad4_Private(c0 + i);
      s0 = _mm256_fmadd_pd(u, b0, s0);
      s1 = _mm256_fmadd_pd(u, b1, s1);
      s2 = _mm256_fmadd_pd(u, b2, s2);
      u  = SpdLoad4_Private(c1 + i);
      t0 = _mm256_fmadd_pd(u, b0, t0);
      t1 = _mm256_fmadd_pd(u, b1, t1);
      t2 = _mm256_fmadd_pd(u, b2, t2);
      u  = SpdLoad4_Private(c2 + i);
      e0 = _mm256_fmadd_pd(u, b0, e0);
      e1 = _mm256_fmadd_pd(u, b1, e1);
      e2 = _mm256_fmadd_pd(u, b2, e2);
      u  = SpdLoad4_Private(c3 + i);
      f0 = _mm256_fmadd_pd(u, b0, f0);
      f1 = _mm256_fmadd_pd(u, b1, f1);
      f2 = _mm256_fmadd_pd(u, b2, f2);
    }
    {
      const __m256d acc[12] = { s0, s1, s2, t0, t1, t2, e0, e1, e2, f0, f1, f2 };
      SpdFinishT_Private(acc, i, m, 4, 3, c0, lda, x, ldx, z + 3 * j);
    }
  }
  for (; j < N; j++) SpdColumnT_Private(m, 3, a + (size_t)j * lda, x, ldx, z + 3 * j); /* the last N % 4 columns */
}

#else
PetscBool SpdGemvAVX2Available(void)
{
  return PETSC_FALSE;
}
#endif
