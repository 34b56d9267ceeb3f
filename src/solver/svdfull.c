/* Every singular value of a dense distributed matrix with ScaLAPACK.

   Algorithm:
   1. Redistribute A (PETSc row blocks, column-major) onto a near-square BLACS grid in
      2-D block-cyclic layout with one MPI_Alltoallv. A wide matrix is redistributed as
      its transpose, so the factorizations below only see m >= n.
   2. If m >= qr_ratio * n (default 2), factor A = QR with pdgeqrf and continue with the
      n x n triangle R (same singular values, a bidiagonalization of n^2 instead of m*n
      rows' worth of two-sided Householder updates).
   3. pdgesvd with JOBU = JOBVT = 'N': Householder bidiagonalization (pdgebrd) followed
      by the implicit zero-shift QR of the bidiagonal (dbdsqr), which computes the
      singular values to high relative accuracy of the bidiagonal; the whole process is
      backward stable (no Gram matrix is formed).

   References: L. S. Blackford et al., ScaLAPACK Users' Guide, SIAM 1997 (descriptors,
   block-cyclic layout, PDGESVD); J. Demmel and W. Kahan, Accurate singular values of
   bidiagonal matrices, SIAM J. Sci. Stat. Comput. 11 (1990).

   Options (all optional):
     -spd_svdfull_block_size <nb>   block size of the block-cyclic layout (default 64)
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

/*@C
  SpdSVDFull - every singular value of a dense matrix, with ScaLAPACK

  Collective on A

  Input Parameter:
. A - an m x n MATMPIDENSE or MATSEQDENSE matrix (copied, not modified)

  Output Parameter:
. sigma - min(m,n) singular values, descending, identical on every rank

  Options Database Keys:
+ -spd_svdfull_block_size <nb>  - block size of the 2-D block-cyclic layout (default 64)
. -spd_svdfull_grid_height <p>  - process rows of the BLACS grid; must divide the number of ranks
- -spd_svdfull_qr_ratio <r>     - reduce to the triangle of a QR factorization first when
                                  max(m,n) >= r min(m,n) (default 2; 0 never)

  Notes:
  Backward stable (Householder bidiagonalization, no A^T A), so small singular values
  are accurate to about eps * sigma_1. Memory: besides A, up to three times a rank's
  share of A during the redistribution, then one (plus ScaLAPACK's workspace).
  Logged as the event SpdSVDFull.

.seealso: SpdSVDExtreme()
@*/
PetscErrorCode SpdSVDFull(Mat A, PetscReal sigma[])
{
  MPI_Comm           comm;
  PetscMPIInt        size, rank;
  PetscInt           M, N, lda, nb = 64, height = 0;
  PetscReal          qr_ratio = 2.0;
  PetscBool          trans, isdense, flg;
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

  lwork = -1;
  pdgesvd_("N", "N", &m, &n, b, &ione, &ione, desc, sigma, &dummy, &ione, &ione, desc, &dummy, &ione, &ione, desc, &wq, &lwork, &info);
  SpdCheckInfo("pdgesvd (workspace query)", info);
  lwork = (int)wq + 1;
  PetscCall(PetscMalloc1(lwork, &work));
  pdgesvd_("N", "N", &m, &n, b, &ione, &ione, desc, sigma, &dummy, &ione, &ione, desc, &dummy, &ione, &ione, desc, work, &lwork, &info);
  /* info > 0: the bidiagonal QR did not converge; info = min(m,n)+1: the singular values
     differ across processes (heterogeneous arithmetic). Both are failures here. */
  SpdCheckInfo("pdgesvd", info);
  /* S is global output; make it bitwise identical on every rank regardless. */
  PetscCallMPI(MPI_Bcast(sigma, n, MPIU_REAL, 0, comm));
  PetscCall(PetscFree(work));
  PetscCall(PetscFree(b));
  PetscCall(PetscFree(pnum));
  Cblacs_gridexit(ctxt);
  Cfree_blacs_system_handle(sysctxt);
  PetscCall(PetscLogEventEnd(SPD_SVDFull, A, 0, 0, 0));
  PetscFunctionReturn(0);
}
