/* SpdMatLoadView: a small safetensors file with known entries S(i,j) = f(i,j) (written
   here byte by byte, F64 and F32 tensors), loaded as whole tensors, transposed views and
   sub-blocks, on the whole communicator and on two task groups of a split. Every entry
   of every rank's rows is checked against the closed form f. SpdMatLoadViewFloat32: the
   F32 tensor's views as the float32 operator, checked by a product and the Frobenius
   norm against f; an F64 tensor with an entry that is not a binary32 number refused.
   Everything twice: with the default read chunk and with chunks of a few entries
   (-spd_read_chunk_mb 0.0001: 13 doubles), so that blocks arrive in many pieces. Also
   SpdMatrixViewShape and SpdMatrixViewFromTensor. */
static const char help[] = "Tests SpdMatLoadView and SpdMatrixView.\n";

#include "testutil.h"

#define ROWS 75 /* several 32-row blocks of the local transpose */
#define COLS 5

/* exact in F32 too, except the last entry of w64 (ROWS x COLS) */
static double F(PetscInt i, PetscInt j)
{
  return 1000.0 * i + j + (i == ROWS - 1 && j == COLS - 1 ? 0.1 : 0.25);
}

/* w64: F64 [ROWS, COLS]; w32: F32 [3, 2, 3] (stored view 3 x 6); all little-endian. */
static PetscErrorCode WriteSafetensors(const char path[])
{
  char     header[256];
  uint64_t hlen;
  size_t   n64 = ROWS * COLS * 8, n32 = 3 * 6 * 4;
  FILE    *fp;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(header, sizeof(header), "{\"w64\":{\"dtype\":\"F64\",\"shape\":[%d,%d],\"data_offsets\":[0,%zu]},\"w32\":{\"dtype\":\"F32\",\"shape\":[3,2,3],\"data_offsets\":[%zu,%zu]}}", ROWS, COLS, n64, n64, n64 + n32));
  hlen = strlen(header);
  while (hlen % 8) header[hlen++] = ' ';
  header[hlen] = 0;
  fp           = fopen(path, "wb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s", path);
  for (int b = 0; b < 8; b++) fputc((int)((hlen >> (8 * b)) & 0xff), fp); /* little-endian u64 */
  fwrite(header, 1, hlen, fp);
  for (PetscInt i = 0; i < ROWS; i++)
    for (PetscInt j = 0; j < COLS; j++) {
      double   v = F(i, j);
      uint64_t u;
      memcpy(&u, &v, 8);
      for (int b = 0; b < 8; b++) fputc((int)((u >> (8 * b)) & 0xff), fp);
    }
  for (PetscInt i = 0; i < 3; i++)
    for (PetscInt j = 0; j < 6; j++) {
      float    v = (float)F(i, j);
      uint32_t u;
      memcpy(&u, &v, 4);
      for (int b = 0; b < 4; b++) fputc((int)((u >> (8 * b)) & 0xff), fp);
    }
  PetscCheck(fclose(fp) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", path);
  PetscFunctionReturn(0);
}

/* A(i,j) must be S(row0+i, col0+j), or S(row0+j, col0+i) for a transposed view. */
static PetscErrorCode CheckLoaded(SpdReader r, const SpdMatrixView *view, MPI_Comm comm)
{
  Mat                A;
  PetscInt           m, n, rstart, rend, lda;
  PetscInt64         em, en;
  const PetscScalar *a;
  const char        *name;

  PetscFunctionBeginUser;
  PetscCall(SpdMatLoadView(r, view, comm, &A));
  PetscCall(MatGetSize(A, &m, &n));
  SpdMatrixViewShape(view, &em, &en);
  PetscCheck(m == em && n == en, comm, PETSC_ERR_PLIB, "%s: loaded %" PetscInt_FMT " x %" PetscInt_FMT ", expected %" PetscInt64_FMT " x %" PetscInt64_FMT, view->name, m, n, em, en);
  PetscCall(PetscObjectGetName((PetscObject)A, &name));
  PetscCheck(!strcmp(name, view->name), comm, PETSC_ERR_PLIB, "matrix named '%s', expected '%s'", name, view->name);
  PetscCall(MatGetOwnershipRange(A, &rstart, &rend));
  PetscCall(MatDenseGetLDA(A, &lda));
  PetscCall(MatDenseGetArrayRead(A, &a));
  for (PetscInt i = rstart; i < rend; i++)
    for (PetscInt j = 0; j < n; j++) {
      double want = view->transpose ? F(view->row0 + j, view->col0 + i) : F(view->row0 + i, view->col0 + j);
      PetscCheck(a[(i - rstart) + j * lda] == want, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: A(%" PetscInt_FMT ",%" PetscInt_FMT ") = %g, expected %g", view->name, i, j, (double)a[(i - rstart) + j * lda], want);
    }
  PetscCall(MatDenseRestoreArrayRead(A, &a));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscPrintf(comm, "%s: %" PetscInt_FMT " x %" PetscInt_FMT " loaded and checked\n", view->name, m, n));
  PetscFunctionReturn(0);
}

/* The float32 operator of the view: S x for x_j = j + 1 and ||S||_F against f. */
static PetscErrorCode CheckLoaded32(SpdReader r, const SpdMatrixView *view, MPI_Comm comm)
{
  Mat                S;
  Vec                x, y;
  PetscInt           m, n, rstart, rend;
  PetscInt64         em, en;
  const PetscScalar *ya;
  PetscReal          nrm;
  double             frob2 = 0, err = 0;

  PetscFunctionBeginUser;
  PetscCall(SpdMatLoadViewFloat32(r, view, comm, &S));
  PetscCall(MatGetSize(S, &m, &n));
  SpdMatrixViewShape(view, &em, &en);
  PetscCheck(m == em && n == en, comm, PETSC_ERR_PLIB, "%s: loaded %" PetscInt_FMT " x %" PetscInt_FMT ", expected %" PetscInt64_FMT " x %" PetscInt64_FMT, view->name, m, n, em, en);
  PetscCall(MatCreateVecs(S, &x, &y));
  {
    PetscScalar *xa;
    PetscInt     c0, c1;
    PetscCall(VecGetOwnershipRange(x, &c0, &c1));
    PetscCall(VecGetArrayWrite(x, &xa));
    for (PetscInt j = c0; j < c1; j++) xa[j - c0] = j + 1;
    PetscCall(VecRestoreArrayWrite(x, &xa));
  }
  PetscCall(MatMult(S, x, y));
  PetscCall(VecGetOwnershipRange(y, &rstart, &rend));
  PetscCall(VecGetArrayRead(y, &ya));
  for (PetscInt i = rstart; i < rend; i++) {
    double want = 0;
    for (PetscInt j = 0; j < n; j++) want += (view->transpose ? F(view->row0 + j, view->col0 + i) : F(view->row0 + i, view->col0 + j)) * (j + 1);
    err = PetscMax(err, PetscAbsReal(ya[i - rstart] - want) / PetscAbsReal(want));
  }
  PetscCall(VecRestoreArrayRead(y, &ya));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &err, 1, MPI_DOUBLE, MPI_MAX, comm));
  PetscCheck(err <= 1e-15, comm, PETSC_ERR_PLIB, "%s: float32 operator's product off by %.3e (relative)", view->name, err);
  for (PetscInt i = 0; i < m; i++)
    for (PetscInt j = 0; j < n; j++) {
      double v = view->transpose ? F(view->row0 + j, view->col0 + i) : F(view->row0 + i, view->col0 + j);
      frob2 += v * v;
    }
  PetscCall(MatNorm(S, NORM_FROBENIUS, &nrm));
  PetscCheck(PetscAbsReal(nrm - PetscSqrtReal(frob2)) <= 1e-15 * PetscSqrtReal(frob2), comm, PETSC_ERR_PLIB, "%s: ||S||_F = %.17g, expected %.17g", view->name, (double)nrm, PetscSqrtReal(frob2));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(MatDestroy(&S));
  PetscCall(PetscPrintf(comm, "%s: %" PetscInt_FMT " x %" PetscInt_FMT " loaded as float32 and checked\n", view->name, m, n));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckAll(SpdReader r, PetscInt t64, PetscInt t32);

int main(int argc, char **argv)
{
  char        path[PETSC_MAX_PATH_LEN];
  PetscMPIInt rank, size;
  SpdReader   r;
  PetscInt    t64, t32;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscSNPrintf(path, sizeof(path), "solver_loadview_np%d.safetensors", size));
  if (rank == 0) PetscCall(WriteSafetensors(path));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));

  PetscCall(SpdReaderCreate(PETSC_COMM_WORLD, &r));
  PetscCall(SpdReaderOpen(r, path));
  PetscCall(SpdReaderFindTensor(r, "w64", &t64));
  PetscCall(SpdReaderFindTensor(r, "w32", &t32));
  PetscCheck(t64 >= 0 && t32 >= 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "tensors not found in %s", path);

  PetscCall(CheckAll(r, t64, t32));
  PetscCall(PetscOptionsSetValue(NULL, "-spd_read_chunk_mb", "0.0001"));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "-- again, read in chunks of 13 doubles\n"));
  PetscCall(CheckAll(r, t64, t32));
  PetscCall(PetscOptionsClearValue(NULL, "-spd_read_chunk_mb"));

  PetscCall(SpdReaderDestroy(&r));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD)); /* every group is done reading */
  if (rank == 0) remove(path);
  PetscCall(SpdFinalize());
  return 0;
}

static PetscErrorCode CheckAll(SpdReader r, PetscInt t64, PetscInt t32)
{
  PetscMPIInt          rank;
  const SpdTensorInfo *info;
  SpdMatrixView        v, w;
  PetscInt64           m, n;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  /* whole tensor */
  PetscCall(SpdReaderGetTensor(r, t64, &info));
  PetscCall(SpdMatrixViewFromTensor(info, t64, &v));
  PetscCheck(!strcmp(v.name, "w64") && v.tensor == t64 && v.row0 == 0 && v.col0 == 0 && v.nrows == ROWS && v.ncols == COLS && v.transpose == info->in_out, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "SpdMatrixViewFromTensor gave a wrong view");
  SpdMatrixViewShape(&v, &m, &n);
  PetscCheck(m == ROWS && n == COLS, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "shape");
  PetscCall(CheckLoaded(r, &v, PETSC_COMM_WORLD));

  /* transposed whole tensor: 5 x 7 */
  w           = v;
  w.transpose = PETSC_TRUE;
  PetscCall(PetscStrncpy(w.name, "w64^T", sizeof(w.name)));
  SpdMatrixViewShape(&w, &m, &n);
  PetscCheck(m == COLS && n == ROWS, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "transposed shape");
  PetscCall(CheckLoaded(r, &w, PETSC_COMM_WORLD));

  /* sub-blocks, plain and transposed (like a fused q/k/v part) */
  w      = v;
  w.row0 = 2, w.nrows = 4, w.col0 = 1, w.ncols = 3;
  PetscCall(PetscStrncpy(w.name, "w64[2:6,1:4]", sizeof(w.name)));
  PetscCall(CheckLoaded(r, &w, PETSC_COMM_WORLD));
  w.transpose = PETSC_TRUE;
  PetscCall(PetscStrncpy(w.name, "w64[2:6,1:4]^T", sizeof(w.name)));
  PetscCall(CheckLoaded(r, &w, PETSC_COMM_WORLD));

  /* F32, 3-D: stored view 3 x 6 */
  PetscCall(SpdReaderGetTensor(r, t32, &info));
  PetscCall(SpdMatrixViewFromTensor(info, t32, &v));
  PetscCheck(v.nrows == 3 && v.ncols == 6, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "w32 stored view %" PetscInt64_FMT " x %" PetscInt64_FMT ", expected 3 x 6", v.nrows, v.ncols);
  PetscCall(CheckLoaded(r, &v, PETSC_COMM_WORLD));
  PetscCall(CheckLoaded32(r, &v, PETSC_COMM_WORLD));
  w           = v;
  w.transpose = PETSC_TRUE;
  PetscCall(PetscStrncpy(w.name, "w32^T", sizeof(w.name)));
  PetscCall(CheckLoaded32(r, &w, PETSC_COMM_WORLD));
  w      = v;
  w.row0 = 1, w.nrows = 2, w.col0 = 2, w.ncols = 3;
  PetscCall(PetscStrncpy(w.name, "w32[1:3,2:5]", sizeof(w.name)));
  PetscCall(CheckLoaded32(r, &w, PETSC_COMM_WORLD));
  w.transpose = PETSC_TRUE;
  PetscCall(PetscStrncpy(w.name, "w32[1:3,2:5]^T", sizeof(w.name)));
  PetscCall(CheckLoaded32(r, &w, PETSC_COMM_WORLD));

  /* w64's last entry is not a binary32 number: refused as float32 */
  {
    PetscErrorCode ierr;
    Mat            S = NULL;
    PetscCall(SpdReaderGetTensor(r, t64, &info));
    PetscCall(SpdMatrixViewFromTensor(info, t64, &w));
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = SpdMatLoadViewFloat32(r, &w, PETSC_COMM_WORLD, &S);
    PetscCall(PetscPopErrorHandler());
    PetscCheck(ierr == PETSC_ERR_ARG_WRONG && !S, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "a non-float32 entry was not refused (error %d)", (int)ierr);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "non-float32 entry refused\n"));
  }

  /* two task groups load different views at the same time */
  {
    MPI_Comm sub;
    PetscCallMPI(MPI_Comm_split(PETSC_COMM_WORLD, rank % 2, rank, &sub));
    PetscCall(SpdReaderGetTensor(r, t64, &info));
    PetscCall(SpdMatrixViewFromTensor(info, t64, &v));
    if (rank % 2) {
      v.transpose = PETSC_TRUE;
      PetscCall(PetscStrncpy(v.name, "w64^T (group 1)", sizeof(v.name)));
    } else
      PetscCall(PetscStrncpy(v.name, "w64 (group 0)", sizeof(v.name)));
    PetscCall(CheckLoaded(r, &v, sub));
    PetscCallMPI(MPI_Comm_free(&sub));
  }

  /* a block outside the tensor is an error naming the view and the tensor */
  {
    PetscErrorCode ierr;
    Mat            A = NULL;
    w                = v;
    w.nrows          = ROWS + 1;
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = SpdMatLoadView(r, &w, PETSC_COMM_WORLD, &A);
    PetscCall(PetscPopErrorHandler());
    PetscCheck(ierr == PETSC_ERR_ARG_OUTOFRANGE && !A, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "out-of-range view not rejected (error %d)", (int)ierr);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "out-of-range view rejected\n"));
  }

  PetscFunctionReturn(0);
}
