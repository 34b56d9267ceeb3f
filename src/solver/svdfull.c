/* Every singular value of a dense distributed matrix with ScaLAPACK.

   Algorithm:
   1. Redistribute A (PETSc row blocks, column-major) onto a near-square BLACS grid in
      2-D block-cyclic layout with one MPI_Alltoallv. A wide matrix is redistributed as
      its transpose, so the factorizations below only see m >= n.
   2. If m >= qr_ratio * n (default 2), factor A = QR with pdgeqrf and continue with the
      n x n triangle R (same singular values, a bidiagonalization of n^2 instead of m*n
      rows' worth of two-sided Householder updates).
   3. Bidiagonalize and take the singular values of the bidiagonal, in one of two ways
      (-spd_svdfull_type):
      twostage (default when n >= 512): reduce B to an upper band of width nb with
        blocked Householder QR and LQ factorizations of alternating column and row panels
        of width nb (pdgeqrf, pdgelqf; updates by pdlarft + pdlarfb). Every update is a matrix-matrix
        product, so this stage runs at BLAS-3 speed instead of the half matrix-vector
        speed of a one-stage reduction. The band ((nb+1) n numbers) is then assembled on
        every rank and reduced to bidiagonal form with Givens rotations (LAPACK dgbbrd,
        O(n^2 nb) work), whose singular values dqds computes (dlasq1).
      gesvd: pdgesvd with JOBU = JOBVT = 'N', i.e. the one-stage Householder
        bidiagonalization (pdgebrd) and the implicit zero-shift QR of the bidiagonal.
      Both apply only orthogonal transformations to A (no Gram matrix is formed) and are
      backward stable: each computed singular value is within about eps sigma_1 (times a
      modest function of n) of the exact one, and the singular values of the bidiagonal
      are computed to high relative accuracy.

   References: L. S. Blackford et al., ScaLAPACK Users' Guide, SIAM 1997 (descriptors,
   block-cyclic layout, PDGESVD); C. H. Bischof, B. Lang and X. Sun, A framework for
   symmetric band reduction, ACM TOMS 26 (2000) (reduction to a band first, then to a
   narrower form); J. Demmel and W. Kahan, Accurate singular values of bidiagonal
   matrices, SIAM J. Sci. Stat. Comput. 11 (1990); K. V. Fernando and B. N. Parlett,
   Accurate singular values and differential qd algorithms, Numer. Math. 67 (1994).

   Options (all optional):
     -spd_svdfull_type <auto|twostage|gesvd>  bidiagonalization (auto, the default:
                                    twostage when the smaller dimension is >= 512)
     -spd_svdfull_block_size <nb>   block size of the block-cyclic layout, also the band
                                    width of the two-stage reduction (default 48 for
                                    twostage, 64 for gesvd)
     -spd_svdfull_grid_height <p>   process rows of the BLACS grid (must divide the size)
     -spd_svdfull_qr_ratio <r>      QR first when m >= r n (0 disables; default 2) */
#include <specdyn/svd.h>
#include <specdyn/sys.h>
#include <petsc/private/petscimpl.h> /* PetscValid*() argument checks */

/* BLACS C interface and ScaLAPACK (Fortran, integer = int in Debian's build). */
extern int  Csys2blacs_handle(MPI_Comm);
extern void Cfree_blacs_system_handle(int);
extern void Cblacs_gridinit(int *, const char *, int, int);
extern void Cblacs_gridinfo(int, int *, int *, int *, int *);
extern int  Cblacs_pnum(int, int, int);
extern void Cblacs_gridexit(int);
extern int  numroc_(const int *, const int *, const int *, const int *, const int *);
extern void descinit_(int *, const int *, const int *, const int *, const int *, const int *, const int *, const int *, const int *, int *);
extern void pdgesvd_(const char *, const char *, const int *, const int *, double *, const int *, const int *, const int *, double *, double *, const int *, const int *, const int *, double *, const int *, const int *, const int *, double *, const int *, int *);
extern void pdgeqrf_(const int *, const int *, double *, const int *, const int *, const int *, double *, double *, const int *, int *);
extern void pdormqr_(const char *, const char *, const int *, const int *, const int *, double *, const int *, const int *, const int *, const double *, double *, const int *, const int *, const int *, double *, const int *, int *);
extern void pdgelqf_(const int *, const int *, double *, const int *, const int *, const int *, double *, double *, const int *, int *);
extern void pdormlq_(const char *, const char *, const int *, const int *, const int *, double *, const int *, const int *, const int *, const double *, double *, const int *, const int *, const int *, double *, const int *, int *);
extern void pdlarft_(const char *, const char *, const int *, const int *, double *, const int *, const int *, const int *, const double *, double *, double *);
extern void pdlarfb_(const char *, const char *, const char *, const char *, const int *, const int *, const int *, const double *, const int *, const int *, const int *, const double *, double *, const int *, const int *, const int *, double *);
extern void dgbbrd_(const char *, const int *, const int *, const int *, const int *, const int *, double *, const int *, double *, double *, double *, const int *, double *, const int *, double *, const int *, double *, int *);
extern void dlasq1_(const int *, double *, double *, double *, int *);
extern void pdlaset_(const char *, const int *, const int *, const double *, const double *, double *, const int *, const int *, const int *);

/* Process rows of a near-square grid of `size` processes, the taller side along the
   longer dimension of the (m >= n) matrix: the largest divisor of size <= sqrt(size)
   gives the columns. */
static PetscMPIInt SpdGridHeight_Private(PetscMPIInt size)
{
  PetscMPIInt c = 1;
  for (PetscMPIInt d = 1; (PetscInt64)d * d <= size; d++)
    if (size % d == 0) c = d;
  return size / c;
}

/* Owner coordinate and local index of global index g in a block-cyclic dimension. */
static inline int        SpdBCOwner_Private(PetscInt g, int nb, int np) { return (int)((g / nb) % np); }
static inline PetscInt64 SpdBCLocal_Private(PetscInt g, int nb, int np) { return (g / ((PetscInt64)nb * np)) * nb + g % nb; }

/* Move A's PETSc rows (rstart..rend, column-major with lda) into the block-cyclic array
   b (lld) of B = A (trans = false) or B = A^T (trans = true), via one MPI_Alltoallv.
   Each message is ordered by global column of A, then global row of A, so the receiver
   can place the values knowing only the sender's row range. */
static PetscErrorCode SpdRedistribute_Private(MPI_Comm comm, const PetscInt *ranges, PetscInt N, const PetscScalar *a, PetscInt lda, PetscBool trans, int nb, int nprow, int npcol, int myrow, int mycol, const int *pnum, double *b, int lld)
{
  PetscMPIInt size, rank, *scount, *sdispl, *rcount, *rdispl;
  PetscInt    rstart, rend;
  PetscInt64 *soff, total;
  double     *sbuf, *rbuf;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  rstart = ranges[rank];
  rend   = ranges[rank + 1];
  PetscCall(PetscMalloc5(size, &scount, size, &sdispl, size, &rcount, size, &rdispl, size, &soff));

  /* Sends: A(i,j) goes to the owner of B(i,j) or B(j,i). */
  {
    PetscInt64 *rowsto, *colsto; /* my rows of A per grid coordinate, columns of A per grid coordinate */
    int         nr = trans ? npcol : nprow, nc = trans ? nprow : npcol;
    PetscCall(PetscCalloc2(nr, &rowsto, nc, &colsto));
    for (PetscInt i = rstart; i < rend; i++) rowsto[SpdBCOwner_Private(i, nb, nr)]++;
    for (PetscInt j = 0; j < N; j++) colsto[SpdBCOwner_Private(j, nb, nc)]++;
    total = 0;
    for (PetscMPIInt p = 0; p < size; p++) scount[p] = 0;
    for (int pr = 0; pr < nprow; pr++)
      for (int pc = 0; pc < npcol; pc++) {
        PetscInt64 cnt = trans ? rowsto[pc] * colsto[pr] : rowsto[pr] * colsto[pc];
        PetscCall(PetscMPIIntCast(cnt, &scount[pnum[pr * npcol + pc]]));
      }
    for (PetscMPIInt p = 0; p < size; p++) {
      PetscCall(PetscMPIIntCast(total, &sdispl[p]));
      soff[p] = total;
      total += scount[p];
    }
    PetscCall(PetscFree2(rowsto, colsto));
  }
  PetscCall(PetscMalloc1(total, &sbuf));
  {
    PetscInt nloc = rend - rstart;
    int     *rowpc; /* grid coordinate of each of my rows */
    int      nr = trans ? npcol : nprow, nc = trans ? nprow : npcol;
    PetscCall(PetscMalloc1(nloc, &rowpc));
    for (PetscInt il = 0; il < nloc; il++) rowpc[il] = SpdBCOwner_Private(rstart + il, nb, nr);
    for (PetscInt j = 0; j < N; j++) {
      int                cj  = SpdBCOwner_Private(j, nb, nc);
      const PetscScalar *col = a + (size_t)j * lda;
      for (PetscInt il = 0; il < nloc; il++) {
        int dest           = trans ? pnum[cj * npcol + rowpc[il]] : pnum[rowpc[il] * npcol + cj];
        sbuf[soff[dest]++] = col[il];
      }
    }
    PetscCall(PetscFree(rowpc));
  }

  /* Receives: from rank s, rows ranges[s]..ranges[s+1] of A that land on my grid row
     (or column, when transposed) times the columns of A that land on my grid column
     (row). Index lists keep the unpacking proportional to the data received. */
  {
    int         myr = trans ? mycol : myrow, myc = trans ? myrow : mycol; /* my coordinate along A's rows / columns */
    int         nr = trans ? npcol : nprow, nc = trans ? nprow : npcol;
    PetscInt    M = ranges[size], ncols = 0, nrows = 0;
    PetscInt64 *lj, *li, *rowstart, ldi = trans ? lld : 1, ldj = trans ? 1 : lld;

    PetscCall(PetscMalloc3(N, &lj, M, &li, size + 1, &rowstart));
    for (PetscInt j = 0; j < N; j++)
      if (SpdBCOwner_Private(j, nb, nc) == myc) lj[ncols++] = SpdBCLocal_Private(j, nb, nc) * ldj;
    total = 0;
    for (PetscMPIInt p = 0; p < size; p++) {
      rowstart[p] = nrows;
      for (PetscInt i = ranges[p]; i < ranges[p + 1]; i++)
        if (SpdBCOwner_Private(i, nb, nr) == myr) li[nrows++] = SpdBCLocal_Private(i, nb, nr) * ldi;
      PetscCall(PetscMPIIntCast((nrows - rowstart[p]) * (PetscInt64)ncols, &rcount[p]));
      PetscCall(PetscMPIIntCast(total, &rdispl[p]));
      total += rcount[p];
    }
    rowstart[size] = nrows;
    PetscCall(PetscMalloc1(total, &rbuf));
    PetscCallMPI(MPI_Alltoallv(sbuf, scount, sdispl, MPI_DOUBLE, rbuf, rcount, rdispl, MPI_DOUBLE, comm));
    PetscCall(PetscFree(sbuf));
    /* A(i,j) is B(i,j) at li + lj*lld, or B(j,i) at lj + li*lld: folded into ldi, ldj */
    for (PetscMPIInt p = 0; p < size; p++) {
      const double *r = rbuf + rdispl[p];
      for (PetscInt c = 0; c < ncols; c++)
        for (PetscInt64 q = rowstart[p]; q < rowstart[p + 1]; q++) b[li[q] + lj[c]] = *r++;
    }
    PetscCall(PetscFree(rbuf));
    PetscCall(PetscFree3(lj, li, rowstart));
  }
  PetscCall(PetscFree5(scount, sdispl, rcount, rdispl, soff));
  PetscFunctionReturn(0);
}

/* Grow a workspace to the size a ScaLAPACK workspace query returned. */
static PetscErrorCode SpdWorkGrow_Private(double query, double **work, int *lwork)
{
  PetscFunctionBegin;
  if ((int)query + 1 > *lwork) {
    PetscCall(PetscFree(*work));
    *lwork = (int)query + 1;
    PetscCall(PetscMalloc1(*lwork, work));
  }
  PetscFunctionReturn(0);
}

/* Stage 1 of the two-stage reduction. B (m x n, m >= n, block-cyclic with block size nb,
   descriptor desc) becomes upper banded with band width nb in its leading n x n part:
   for k = 0, nb, 2 nb, ... the column panel B(k:m, k:k+w) is factored B = QR and Q^T
   applied to the columns right of it, then the row panel B(k:k+w, k+w:n) is factored
   B = LQ and Q^T applied from the right to the rows below it. Each panel starts on a
   block boundary, as pdormqr/pdormlq require. The Householder vectors stay outside the
   band, where nothing reads them again. */
static PetscErrorCode SpdBandReduce_Private(int m, int n, int nb, double *b, const int desc[], int mloc, int nloc)
{
  double *tauq, *taup, *work = NULL, wq;
  int     lwork = 0, info, query = -1;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(PetscMax(1, nloc), &tauq, PetscMax(1, mloc), &taup));
  for (int k = 0; k < n; k += nb) {
    int w = PetscMin(nb, n - k), mk = m - k, nc = n - k - w, mb = m - k - w, r = PetscMin(w, nc), ik = k + 1, iw = k + w + 1;

    pdgeqrf_(&mk, &w, b, &ik, &ik, desc, tauq, &wq, &query, &info);
    SpdCheckInfo("pdgeqrf (workspace query)", info);
    PetscCall(SpdWorkGrow_Private(wq, &work, &lwork));
    pdgeqrf_(&mk, &w, b, &ik, &ik, desc, tauq, work, &lwork, &info);
    SpdCheckInfo("pdgeqrf (column panel)", info);
    if (nc == 0) break;
    /* Q^T from the left on B(k:m, k+w:n) as one block reflector: the triangular factor T
       (pdlarft) in work[0 .. nb^2), then pdlarfb's matrix-matrix products. (pdormqr would
       apply a panel that is exactly one block, as here, reflector by reflector.) The
       workspace size is pdormqr's, whose blocked path makes the same two calls. */
    pdormqr_("L", "T", &mk, &nc, &w, b, &ik, &ik, desc, tauq, b, &ik, &iw, desc, &wq, &query, &info);
    SpdCheckInfo("pdormqr (workspace query)", info);
    PetscCall(SpdWorkGrow_Private(wq, &work, &lwork));
    pdlarft_("F", "C", &mk, &w, b, &ik, &ik, desc, tauq, work, work + nb * nb);
    pdlarfb_("L", "T", "F", "C", &mk, &nc, &w, b, &ik, &ik, desc, work, b, &ik, &iw, desc, work + nb * nb);

    pdgelqf_(&w, &nc, b, &ik, &iw, desc, taup, &wq, &query, &info);
    SpdCheckInfo("pdgelqf (workspace query)", info);
    PetscCall(SpdWorkGrow_Private(wq, &work, &lwork));
    pdgelqf_(&w, &nc, b, &ik, &iw, desc, taup, work, &lwork, &info);
    SpdCheckInfo("pdgelqf (row panel)", info);
    /* B(k+w:m, k+w:n) Q^T with Q = H(r) ... H(1) of the LQ factorization: the block
       reflector H(1) ... H(r) applied untransposed from the right. */
    pdormlq_("R", "T", &mb, &nc, &r, b, &ik, &iw, desc, taup, b, &iw, &iw, desc, &wq, &query, &info);
    SpdCheckInfo("pdormlq (workspace query)", info);
    PetscCall(SpdWorkGrow_Private(wq, &work, &lwork));
    pdlarft_("F", "R", &nc, &r, b, &ik, &iw, desc, taup, work, work + nb * nb);
    pdlarfb_("R", "N", "F", "R", &mb, &nc, &r, b, &ik, &iw, desc, work, b, &iw, &iw, desc, work + nb * nb);
  }
  PetscCall(PetscFree(work));
  PetscCall(PetscFree2(tauq, taup));
  PetscFunctionReturn(0);
}

/* Stage 2: assemble the upper band (ku = min(nb, n-1) superdiagonals) of the leading
   n x n part of B on every rank, (ku+1) n numbers to which each rank adds the entries it
   owns, reduce it to upper bidiagonal form with Givens rotations (dgbbrd) and take the
   singular values of the bidiagonal with dqds (dlasq1): descending, to high relative
   accuracy of the bidiagonal. */
static PetscErrorCode SpdBandSingularValues_Private(MPI_Comm comm, int n, int nb, const double *b, int lld, int nprow, int npcol, int myrow, int mycol, double sigma[])
{
  int         ku = PetscMin(nb, n - 1), ldab = ku + 1, kl = 0, izero = 0, ione = 1, info;
  double     *ab, *e, *work, dummy = 0;
  PetscMPIInt count;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1((size_t)ldab * n, &ab));
  for (int j = 0; j < n; j++) {
    PetscInt64 jl;
    if (SpdBCOwner_Private(j, nb, npcol) != mycol) continue;
    jl = SpdBCLocal_Private(j, nb, npcol) * lld;
    for (int i = PetscMax(0, j - ku); i <= j; i++)
      if (SpdBCOwner_Private(i, nb, nprow) == myrow) ab[(ku + i - j) + (size_t)j * ldab] = b[SpdBCLocal_Private(i, nb, nprow) + jl];
  }
  PetscCall(PetscMPIIntCast((PetscInt64)ldab * n, &count));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, ab, count, MPI_DOUBLE, MPI_SUM, comm)); /* one owner per entry: exact */
  PetscCall(PetscMalloc2(n, &e, 4 * (size_t)n, &work));
  dgbbrd_("N", &n, &n, &izero, &kl, &ku, ab, &ldab, sigma, e, &dummy, &ione, &dummy, &ione, &dummy, &ione, work, &info);
  SpdCheckInfo("dgbbrd", info);
  dlasq1_(&n, sigma, e, work, &info);
  SpdCheckInfo("dlasq1 (singular values of the bidiagonal)", info);
  PetscCall(PetscFree2(e, work));
  PetscCall(PetscFree(ab));
  PetscFunctionReturn(0);
}

/*@C
  SpdSVDFull - every singular value of a dense matrix, with ScaLAPACK

  Collective on A

  Input Parameter:
. A - an m x n MATMPIDENSE or MATSEQDENSE matrix (copied, not modified)

  Output Parameter:
. sigma - min(m,n) singular values, descending, identical on every rank

  Options Database Keys:
+ -spd_svdfull_type <auto,twostage,gesvd> - bidiagonalization: band reduction with
                                  matrix-matrix updates, then the band (twostage), or
                                  pdgesvd's one-stage reduction (gesvd); auto (default) is
                                  twostage when min(m,n) >= 512
. -spd_svdfull_block_size <nb>  - block size of the 2-D block-cyclic layout and band width
                                  of the two-stage reduction (default 48 for twostage, 64
                                  for gesvd)
. -spd_svdfull_grid_height <p>  - process rows of the BLACS grid; must divide the number of ranks
- -spd_svdfull_qr_ratio <r>     - reduce to the triangle of a QR factorization first when
                                  max(m,n) >= r min(m,n) (default 2; 0 never)

  Notes:
  Backward stable (orthogonal transformations only, no A^T A), so small singular values
  are accurate to about eps * sigma_1. Memory: besides A, up to three times a rank's
  share of A during the redistribution, then one (plus ScaLAPACK's workspace).
  Logged as the event SpdSVDFull.

.seealso: SpdSVDExtreme()
@*/
PetscErrorCode SpdSVDFull(Mat A, PetscReal sigma[])
{
  MPI_Comm           comm;
  PetscMPIInt        size, rank;
  PetscInt           M, N, lda, nb, height = 0;
  PetscReal          qr_ratio = 2.0;
  PetscBool          trans, isdense, flg, twostage;
  const char *const  types[] = { "auto", "twostage", "gesvd" };
  PetscInt           type    = 0;
  const PetscInt    *ranges;
  const PetscScalar *a;
  int                ctxt, sysctxt, nprow, npcol, myrow, mycol, *pnum;
  int                m, n, bnb, izero = 0, ione = 1, mloc, nloc, lld, desc[9], info, lwork;
  double            *b, *work, wq, dummy = 0;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(A, MAT_CLASSID, 1);
  PetscValidRealPointer(sigma, 2);
  PetscCall(PetscObjectGetComm((PetscObject)A, &comm));
  PetscCall(PetscObjectTypeCompareAny((PetscObject)A, &isdense, MATMPIDENSE, MATSEQDENSE, ""));
  PetscCheck(isdense, comm, PETSC_ERR_SUP, "SpdSVDFull needs a MATMPIDENSE or MATSEQDENSE matrix, not %s; convert it with MatConvert(A, MATDENSE, ...)", ((PetscObject)A)->type_name);
  PetscCall(MatGetSize(A, &M, &N));
  PetscCheck(M > 0 && N > 0, comm, PETSC_ERR_ARG_SIZ, "SpdSVDFull: matrix is %" PetscInt_FMT " x %" PetscInt_FMT "; it has no singular values", M, N);
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));

  PetscOptionsBegin(comm, NULL, "specdyn dense SVD (ScaLAPACK)", "SpdSVDFull");
  PetscCall(PetscOptionsEList("-spd_svdfull_type", "Bidiagonalization: twostage (band, then bidiagonal) or gesvd (pdgesvd, one stage)", "SpdSVDFull", types, 3, types[type], &type, NULL));
  /* auto: the two-stage reduction from min(m,n) = 512 on (measured on 1 rank: equal at
     512, 1.3x faster at 1024, 2-3x from 2048), with its best band width 48 (32-64 are
     within 15%; a wider band makes the serial band reduction slower, a narrower one the
     matrix-matrix products smaller); pdgesvd keeps ScaLAPACK's customary 64. */
  twostage = type == 1 || (type == 0 && PetscMin(M, N) >= 512) ? PETSC_TRUE : PETSC_FALSE;
  nb       = twostage ? 48 : 64;
  PetscCall(PetscOptionsInt("-spd_svdfull_block_size", "Block size of the block-cyclic layout", "SpdSVDFull", nb, &nb, NULL));
  PetscCall(PetscOptionsInt("-spd_svdfull_grid_height", "Process rows of the BLACS grid", "SpdSVDFull", height, &height, &flg));
  PetscCall(PetscOptionsReal("-spd_svdfull_qr_ratio", "QR first when max(m,n) >= ratio*min(m,n) (0: never)", "SpdSVDFull", qr_ratio, &qr_ratio, NULL));
  PetscOptionsEnd();
  PetscCheck(nb >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-spd_svdfull_block_size %" PetscInt_FMT " must be positive (64 is a good value)", nb);
  if (!flg) height = SpdGridHeight_Private(size);
  PetscCheck(height >= 1 && height <= size && size % height == 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "-spd_svdfull_grid_height %" PetscInt_FMT " must divide the number of ranks %d", height, size);

  PetscCall(PetscLogEventBegin(SPD_SVDFull, A, 0, 0, 0));
  /* ScaLAPACK sees B = A, or B = A^T for a wide A, so that m >= n. */
  trans = M < N ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(PetscBLASIntCast(trans ? N : M, &m));
  PetscCall(PetscBLASIntCast(trans ? M : N, &n));
  PetscCall(PetscBLASIntCast(PetscMin(nb, m), &bnb));

  sysctxt = Csys2blacs_handle(comm);
  ctxt    = sysctxt;
  nprow   = (int)height;
  npcol   = (int)(size / height);
  if (n == 1) { /* a column: keep it on one process column */
    nprow = size;
    npcol = 1;
  }
  Cblacs_gridinit(&ctxt, "R", nprow, npcol);
  Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
  PetscCheck(myrow >= 0 && mycol >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "BLACS grid %d x %d does not contain rank %d", nprow, npcol, rank);
  PetscCall(PetscMalloc1(nprow * npcol, &pnum));
  for (int pr = 0; pr < nprow; pr++)
    for (int pc = 0; pc < npcol; pc++) pnum[pr * npcol + pc] = Cblacs_pnum(ctxt, pr, pc);

  mloc = numroc_(&m, &bnb, &myrow, &izero, &nprow);
  nloc = numroc_(&n, &bnb, &mycol, &izero, &npcol);
  lld  = PetscMax(1, mloc);
  descinit_(desc, &m, &n, &bnb, &bnb, &izero, &izero, &ctxt, &lld, &info);
  SpdCheckInfo("descinit", info);
  PetscCall(PetscCalloc1((size_t)lld * PetscMax(1, nloc), &b));

  PetscCall(MatGetOwnershipRanges(A, &ranges));
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCall(MatDenseGetArrayRead(A, &a));
  PetscCall(SpdRedistribute_Private(comm, ranges, N, a, lda, trans, bnb, nprow, npcol, myrow, mycol, pnum, b, lld));
  PetscCall(MatDenseRestoreArrayRead(A, &a));

  /* Tall: B = QR, keep the n x n triangle R in place (local indices of the leading n rows
     are the same under an n x n descriptor with the same lld). */
  if (qr_ratio > 0 && n > 1 && (PetscReal)m >= qr_ratio * (PetscReal)n) {
    int     tauloc = numroc_(&n, &bnb, &mycol, &izero, &npcol), descr[9], nm1 = n - 1, itwo = 2;
    double *tau, zero = 0;
    PetscCall(PetscMalloc1(PetscMax(1, tauloc), &tau));
    lwork = -1;
    pdgeqrf_(&m, &n, b, &ione, &ione, desc, tau, &wq, &lwork, &info);
    SpdCheckInfo("pdgeqrf (workspace query)", info);
    lwork = (int)wq + 1;
    PetscCall(PetscMalloc1(lwork, &work));
    pdgeqrf_(&m, &n, b, &ione, &ione, desc, tau, work, &lwork, &info);
    SpdCheckInfo("pdgeqrf", info);
    PetscCall(PetscFree(work));
    PetscCall(PetscFree(tau));
    m = n;
    descinit_(descr, &m, &n, &bnb, &bnb, &izero, &izero, &ctxt, &lld, &info);
    SpdCheckInfo("descinit", info);
    pdlaset_("L", &nm1, &nm1, &zero, &zero, b, &itwo, &ione, descr); /* drop the Householder vectors */
    PetscCall(PetscArraycpy(desc, descr, 9));
  }

  if (twostage) {
    PetscCall(PetscLogEventBegin(SPD_SVDBand, A, 0, 0, 0));
    PetscCall(SpdBandReduce_Private(m, n, bnb, b, desc, mloc, nloc));
    PetscCall(PetscLogEventEnd(SPD_SVDBand, A, 0, 0, 0));
    PetscCall(PetscLogEventBegin(SPD_SVDBandBidiag, A, 0, 0, 0));
    PetscCall(SpdBandSingularValues_Private(comm, n, bnb, b, lld, nprow, npcol, myrow, mycol, sigma));
    PetscCall(PetscLogEventEnd(SPD_SVDBandBidiag, A, 0, 0, 0));
  } else {
    lwork = -1;
    pdgesvd_("N", "N", &m, &n, b, &ione, &ione, desc, sigma, &dummy, &ione, &ione, desc, &dummy, &ione, &ione, desc, &wq, &lwork, &info);
    SpdCheckInfo("pdgesvd (workspace query)", info);
    lwork = (int)wq + 1;
    PetscCall(PetscMalloc1(lwork, &work));
    pdgesvd_("N", "N", &m, &n, b, &ione, &ione, desc, sigma, &dummy, &ione, &ione, desc, &dummy, &ione, &ione, desc, work, &lwork, &info);
    /* info > 0: the bidiagonal QR did not converge; info = min(m,n)+1: the singular values
       differ across processes (heterogeneous arithmetic). Both are failures here. */
    SpdCheckInfo("pdgesvd", info);
    PetscCall(PetscFree(work));
  }
  /* S is global output; make it bitwise identical on every rank regardless. */
  PetscCallMPI(MPI_Bcast(sigma, n, MPIU_REAL, 0, comm));
  PetscCall(PetscFree(b));
  PetscCall(PetscFree(pnum));
  Cblacs_gridexit(ctxt);
  Cfree_blacs_system_handle(sysctxt);
  PetscCall(PetscLogEventEnd(SPD_SVDFull, A, 0, 0, 0));
  PetscFunctionReturn(0);
}
