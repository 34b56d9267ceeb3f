/* bench_matvec: achieved memory bandwidth of the dense matrix-vector product (bench/run.sh
   row 3), against a STREAM-like copy run on the same ranks.

   mpirun -n 2 bench_matvec -m 8192 -n 8192 -products 20

   1. MatMult on an m x n MATMPIDENSE (the operator every iterative solve applies), with
      the kernels SpdMatLoadView gives it (SpdMatDenseSetKernels; -spd_dense_kernels 0:
      PETSc's BLAS dgemv): `-products` products timed together, best of `-rounds` rounds; bytes moved are
      counted as 8 m n per product (the matrix is read once; x, y are O(m + n)).
      With -float32: the float32 operator of SpdMatCreateFloat32() made straight from a
      float array on huge pages, as SpdMatLoadViewFloat32 makes it (4 m n bytes per
      product; no float64 matrix, so row 7's 20000 x 50000 takes 4 GB), MatMult and
      MatMultTranspose alternating (what Lanczos bidiagonalization applies).
   2. STREAM-like kernels on every rank at the same time: each rank owns two arrays of
      `-stream_mb` MiB and runs copy (a[i] = b[i]: 16 bytes per element, the STREAM
      convention, write-allocate traffic not counted) both as a vectorized loop and as
      glibc memcpy (non-temporal stores), the better of the two being the copy
      bandwidth, and read (sum of a[], its four quarters at once: 8 bytes per
      element); best of `-rounds` x 4 passes, run between the rounds of products,
      aggregate bytes of all ranks over the slowest rank's time.
      -stream_huge: the arrays on transparent huge pages too (SpdMemAdviseHuge), as the
      matrix is; STREAM's own arrays are not, where the kernel's mode is "madvise".
   The ratio matvec / copy is the fraction of the achievable bandwidth the product gets.
   3. With -block K: passes of SpdMatMultBlock / SpdMatMultTransposeBlock (alternating)
      with k = 1, 2, 3, 4, 8, 16, ... <= K vectors, time per pass and per vector; in RESULT as
      block<k>_gbs (A's bytes per pass over the pass's time).
   A line starting with "RESULT" carries the numbers for bench/run.sh. */
static const char help[] = "Dense MatMult bandwidth vs a STREAM-like copy on the same ranks.\n"
                           "  -m <m> -n <n> -products <p> -rounds <r> -stream_mb <MiB per array>\n";

#include <specdyn.h>
#include <specdyn/private/operatorimpl.h>

/* A cheap deterministic matrix: the values do not matter for bandwidth, only that the
   pages are touched by their owner. Entry (i, j), exact in float32. */
static double BenchValue(PetscInt i, PetscInt j)
{
  return (double)((i * 7 + j * 13) % 17 - 8) / 8.0;
}

static PetscErrorCode BenchFill(Mat A)
{
  PetscInt     rstart, rend, lda, n;
  PetscScalar *a;

  PetscFunctionBegin;
  PetscCall(MatGetOwnershipRange(A, &rstart, &rend));
  PetscCall(MatGetSize(A, NULL, &n));
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCall(MatDenseGetArrayWrite(A, &a));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i < rend - rstart; i++) a[i + (size_t)j * lda] = BenchValue(rstart + i, j);
  PetscCall(MatDenseRestoreArrayWrite(A, &a));
  PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(0);
}

/* The float32 operator straight from a float array (no float64 matrix, so that the
   issue's 20000 x 50000 fits in 4 GB), on huge pages like SpdMatLoadViewFloat32's, filled
   with BenchFill's values. */
static PetscErrorCode BenchFloat32(MPI_Comm comm, PetscInt m, PetscInt n, Mat *S)
{
  PetscInt mloc = PETSC_DECIDE, nloc = PETSC_DECIDE, rstart;
  float   *a;

  PetscFunctionBegin;
  PetscCall(PetscSplitOwnership(comm, &mloc, &m));
  PetscCall(PetscSplitOwnership(comm, &nloc, &n));
  PetscCallMPI(MPI_Scan(&mloc, &rstart, 1, MPIU_INT, MPI_SUM, comm));
  rstart -= mloc;
  PetscCall(PetscMalloc1((size_t)mloc * n + 1, &a));
  SpdMemAdviseHuge(a, (size_t)mloc * n * sizeof(float));
  for (PetscInt j = 0; j < n; j++)
    for (PetscInt i = 0; i < mloc; i++) a[i + (size_t)j * mloc] = (float)BenchValue(rstart + i, j);
  PetscCall(SpdMatFloat32FromArray(comm, "bench", mloc, nloc, m, n, a, INT64_MAX, S)); /* takes a */
  PetscFunctionReturn(0);
}

/* The STREAM copy kernel; compiled with -O3 -march=native (bench/CMakeLists.txt) and
   restrict pointers, so that it is vectorized as STREAM's own build would be. */
static void BenchCopy(size_t len, double *restrict a, const double *restrict b)
{
  for (size_t i = 0; i < len; i++) a[i] = b[i];
}

/* The read-only kernel: the sum of a[], its four quarters at once (one core reads several
   streams faster than one, and the products' sweeps read 3-4 columns at once). */
static double BenchRead(size_t len, const double *a)
{
  size_t qn = len / 4;
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ \
                           : s0, s1, s2, s3)
  for (size_t i = 0; i < qn; i++) {
    s0 += a[i];
    s1 += a[qn + i];
    s2 += a[2 * qn + i];
    s3 += a[3 * qn + i];
  }
  for (size_t i = 4 * qn; i < len; i++) s0 += a[i]; /* the last len % 4: every byte counted is read */
  return s0 + s1 + s2 + s3;
}

/* Slowest rank's time of a section between two barriers. */
static PetscErrorCode BenchMaxTime(MPI_Comm comm, double t0, double *dt)
{
  PetscFunctionBegin;
  *dt = MPI_Wtime() - t0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, dt, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscInt    m = 8192, n = 8192, products = 20, rounds = 5, stream_mb = 256;
  PetscBool   f32 = PETSC_FALSE, huge = PETSC_FALSE;
  PetscInt    block = 0;
  double      bpe   = 8.0; /* bytes per matrix entry */
  PetscMPIInt size;
  MPI_Comm    comm;
  Mat         A;
  Vec         x, y;
  double      tmv = PETSC_MAX_REAL, tcopy = PETSC_MAX_REAL, tmemcpy = PETSC_MAX_REAL, tread = PETSC_MAX_REAL, bwmv, bwcopy, bwloop, bwmemcpy, bwread, sink = 0;
  double     *a, *b;
  size_t      len, blen = 0;
  char        btxt[256] = ""; /* block<k>_gbs=...: A's bytes per k-vector pass / its time */

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscOptionsBegin(comm, NULL, "bench_matvec", NULL);
  PetscCall(PetscOptionsInt("-m", "rows", NULL, m, &m, NULL));
  PetscCall(PetscOptionsInt("-n", "columns", NULL, n, &n, NULL));
  PetscCall(PetscOptionsInt("-products", "products per timed round", NULL, products, &products, NULL));
  PetscCall(PetscOptionsInt("-rounds", "timed rounds (the best is reported)", NULL, rounds, &rounds, NULL));
  PetscCall(PetscOptionsInt("-stream_mb", "MiB per STREAM array per rank", NULL, stream_mb, &stream_mb, NULL));
  PetscCall(PetscOptionsBool("-float32", "products of the float32 copy (SpdMatCreateFloat32), A and A^T alternating", NULL, f32, &f32, NULL));
  PetscCall(PetscOptionsBool("-stream_huge", "the STREAM arrays on transparent huge pages, like the matrix (SpdMemAdviseHuge)", NULL, huge, &huge, NULL));
  PetscCall(PetscOptionsInt("-block", "also time passes of k-vector block products (SpdMatMultBlock / SpdMatMultTransposeBlock), k = 1, 2, 3, 4, 8, ... up to this", NULL, block, &block, NULL));
  PetscOptionsEnd();
  PetscCheck(products >= 1 && rounds >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-products %" PetscInt_FMT " and -rounds %" PetscInt_FMT " must be positive", products, rounds);
  PetscCheck(stream_mb >= 16, comm, PETSC_ERR_ARG_OUTOFRANGE, "-stream_mb %" PetscInt_FMT ": use at least 16 MiB so the arrays do not fit in cache", stream_mb);

  if (f32) {
    PetscCall(BenchFloat32(comm, m, n, &A));
    bpe = 4.0;
  } else {
    PetscCall(MatCreateDense(comm, PETSC_DECIDE, PETSC_DECIDE, m, n, NULL, &A));
    PetscCall(BenchFill(A));
    PetscCall(SpdMatDenseSetKernels(A));
  }
  PetscCall(MatCreateVecs(A, &x, &y));
  PetscCall(VecSet(x, 1.0));
  PetscCall(MatMult(A, x, y)); /* warm-up: scatter setup, pages */
  len = (size_t)stream_mb * 1048576 / sizeof(double);
  PetscCall(PetscMalloc2(len, &a, len, &b));
  if (huge) { /* the arrays on huge pages too, like the matrix */
    SpdMemAdviseHuge(a, len * sizeof(double));
    SpdMemAdviseHuge(b, len * sizeof(double));
  }
  for (size_t i = 0; i < len; i++) {
    a[i] = 0.0;
    b[i] = (double)(i % 1024);
  }

  /* Rounds alternate the product and the kernels, so that both see the same machine
     (this one is shared: a neighbour's burst must not favour either side). */
  for (PetscInt r = 0; r < rounds; r++) {
    double t0, dt;

    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    for (PetscInt p = 0; p < products; p++) {
      if (f32 && p % 2)
        PetscCall(MatMultTranspose(A, y, x));
      else
        PetscCall(MatMult(A, x, y));
      if (f32) PetscCall(VecScale(p % 2 ? x : y, 1e-3)); /* keep the values bounded */
    }
    PetscCall(BenchMaxTime(comm, t0, &dt));
    tmv = PetscMin(tmv, dt);
    for (PetscInt q = 0; q < 4; q++) {
      PetscCallMPI(MPI_Barrier(comm));
      t0 = MPI_Wtime();
      BenchCopy(len, a, b);
      PetscCall(BenchMaxTime(comm, t0, &dt));
      tcopy = PetscMin(tcopy, dt);
      PetscCallMPI(MPI_Barrier(comm));
      t0 = MPI_Wtime();
      memcpy(a, b, len * sizeof(double));
      PetscCall(BenchMaxTime(comm, t0, &dt));
      tmemcpy = PetscMin(tmemcpy, dt);
      b[(r * 4 + q) % len] += a[((r * 4 + q) * 7919) % len]; /* keep the copies observable */
      PetscCallMPI(MPI_Barrier(comm));
      t0 = MPI_Wtime();
      sink += BenchRead(len, a);
      PetscCall(BenchMaxTime(comm, t0, &dt));
      tread = PetscMin(tread, dt);
    }
  }
  for (PetscInt k = 1; k <= block; k = k < 4 ? k + 1 : 2 * k) {
    Vec   *X, *Y;
    double best = PETSC_MAX_REAL, t0, dt;
    PetscCall(VecDuplicateVecs(x, k, &X));
    PetscCall(VecDuplicateVecs(y, k, &Y));
    for (PetscInt r = 0; r < k; r++) PetscCall(VecSetRandom(X[r], NULL));
    for (PetscInt rr = 0; rr < rounds; rr++) {
      PetscCallMPI(MPI_Barrier(comm));
      t0 = MPI_Wtime();
      for (PetscInt p = 0; p < products; p++) {
        if (p % 2)
          PetscCall(SpdMatMultTransposeBlock(A, k, (const Vec *)Y, X));
        else
          PetscCall(SpdMatMultBlock(A, k, (const Vec *)X, Y));
        for (PetscInt r = 0; r < k; r++) PetscCall(VecScale(p % 2 ? X[r] : Y[r], 1e-3));
      }
      PetscCall(BenchMaxTime(comm, t0, &dt));
      best = PetscMin(best, dt);
    }
    PetscCall(PetscPrintf(comm, "block k=%" PetscInt_FMT ": %.1f ms per pass, %.1f ms per vector-product\n", k, 1e3 * best / products, 1e3 * best / products / k));
    blen += (size_t)snprintf(btxt + blen, sizeof btxt - blen, " block%" PetscInt_FMT "_gbs=%.3f", k, bpe * (double)m * (double)n * (double)products / best / 1e9);
    PetscCall(VecDestroyVecs(k, &X));
    PetscCall(VecDestroyVecs(k, &Y));
  }
  bwmv = bpe * (double)m * (double)n * (double)products / tmv;
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(MatDestroy(&A));
  /* the better of the two copies is the achievable copy bandwidth */
  bwloop   = (double)size * 16.0 * (double)len / tcopy;
  bwmemcpy = (double)size * 16.0 * (double)len / tmemcpy;
  bwcopy   = PetscMax(bwloop, bwmemcpy);
  bwread   = (double)size * 8.0 * (double)len / tread;
  PetscCall(PetscFree2(a, b));

  PetscCall(PetscPrintf(comm, "MatMult %" PetscInt_FMT " x %" PetscInt_FMT " %s on %d ranks: %" PetscInt_FMT " products in %.4f s = %.2f GB/s\n", m, n, f32 ? "float32 (A, A^T alternating)" : "MATMPIDENSE", size, products, tmv, bwmv / 1e9));
  PetscCall(PetscPrintf(comm, "STREAM-like copy on %d ranks (2 x %" PetscInt_FMT " MiB each): loop %.2f GB/s, memcpy %.2f GB/s; read (sum): %.2f GB/s  (checksum %g)\n", size, stream_mb, bwloop / 1e9, bwmemcpy / 1e9, bwread / 1e9, sink));
  PetscCall(PetscPrintf(comm, "RESULT storage=%s m=%" PetscInt_FMT " n=%" PetscInt_FMT " ranks=%d products=%" PetscInt_FMT " time=%.4f matvec_gbs=%.3f copy_gbs=%.3f copy_loop_gbs=%.3f copy_memcpy_gbs=%.3f read_gbs=%.3f fraction=%.3f fraction_read=%.3f stream_huge=%d%s\n", f32 ? "float32" : "double", m, n, size, products, tmv, bwmv / 1e9, bwcopy / 1e9, bwloop / 1e9, bwmemcpy / 1e9, bwread / 1e9, bwmv / bwcopy, bwmv / bwread, (int)huge, btxt));
  PetscCall(SpdFinalize());
  return 0;
}
