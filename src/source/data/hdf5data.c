/* Data sets from HDF5 arrays: inputs X (n x d, or n x d1 x d2 ... flattened row-major to
   d) and targets y (1-D integer: class labels; 1-D float: regression, c = 1; 2-D float:
   regression, n x c) at any dataset paths of one file.

   Rank 0 checks that the file exists and is HDF5 (for a clear message), then every rank
   opens it with the MPI-IO driver on the data's communicator and inspects the two
   datasets (the same metadata on every rank; failures are made collective with
   SpdCollectiveError_Private, so every rank raises the same message on PETSC_COMM_SELF
   and none waits in a collective). Each rank selects the hyperslab of its own rows and
   reads it by collective transfers converting to native double (inputs, float targets)
   or int64 (labels), in batches of whole rows so that no transfer exceeds a few hundred
   MiB (Open MPI 4.1's MPI-IO has no large-count calls). */
#include "dataimpl.h"
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

/* HDF5 prints its error stack on failure; the loader reports its own messages. */
typedef struct {
  H5E_auto2_t func;
  void       *data;
} H5Quiet;

static void H5QuietBegin(H5Quiet *q)
{
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void H5QuietEnd(H5Quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

typedef struct {
  const char *path; /* dataset path as given                          */
  const char *role; /* "inputs X" or "targets y", for messages        */
  hid_t       dset;
  int         nd;
  hsize_t     dims[H5S_MAX_RANK];
  H5T_class_t cls;
} DSet;

/* Open dataset ds->path, checking every component of the path so that the message says
   which part is missing. */
static PetscErrorCode OpenDataset(hid_t fid, const char file[], DSet *ds)
{
  char        prefix[PETSC_MAX_PATH_LEN];
  size_t      len;
  hid_t       space, type;
  H5I_type_t  itype;
  H5S_class_t scls;

  PetscFunctionBegin;
  PetscCall(PetscStrlen(ds->path, &len));
  PetscCheck(len > 0 && len < sizeof(prefix), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "%s: empty or too long dataset path for the %s; give the path of a dataset in the file (list them with h5ls -r %s)", file, ds->role, file);
  for (size_t i = 1; i <= len; i++) {
    if (i < len && ds->path[i] != '/') continue;
    if (ds->path[i - 1] == '/') continue; /* leading or repeated '/' */
    PetscCall(PetscMemcpy(prefix, ds->path, i));
    prefix[i] = 0;
    PetscCheck(H5Lexists(fid, prefix, H5P_DEFAULT) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: no dataset '%s' for the %s: '%s' does not exist in the file; list the datasets with h5ls -r %s and pass the right path", file, ds->path, ds->role, prefix, file);
  }
  ds->dset = H5Oopen(fid, ds->path, H5P_DEFAULT);
  PetscCheck(ds->dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: cannot open '%s' (the %s); it is a dangling link or the file is corrupt", file, ds->path, ds->role);
  itype = H5Iget_type(ds->dset);
  if (itype != H5I_DATASET) {
    H5Oclose(ds->dset);
    ds->dset = -1;
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: '%s' (the %s) is a %s, not a dataset; pass the path of the array itself", file, ds->path, ds->role, itype == H5I_GROUP ? "group" : "named datatype");
  }
  SpdCallH5Return(type, H5Dget_type, (ds->dset));
  ds->cls = H5Tget_class(type);
  SpdCallH5(H5Tclose, (type));
  PetscCheck(ds->cls == H5T_INTEGER || ds->cls == H5T_FLOAT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset '%s' (the %s) does not hold integers or floating-point numbers (HDF5 type class %d: string, enum/bool, compound, ...); store it as a numeric array", file, ds->path, ds->role, (int)ds->cls);
  SpdCallH5Return(space, H5Dget_space, (ds->dset));
  scls   = H5Sget_simple_extent_type(space);
  ds->nd = H5Sget_simple_extent_dims(space, ds->dims, NULL);
  SpdCallH5(H5Sclose, (space));
  PetscCheck(scls == H5S_SIMPLE && ds->nd >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset '%s' (the %s) is a scalar or empty; it must be an array whose first dimension is the sample index", file, ds->path, ds->role);
  PetscFunctionReturn(0);
}

typedef struct {
  DSet       X, y;
  PetscInt64 nfile, d, c; /* samples in the file, input dimension, regression targets */
} Meta;

/* Open and validate both datasets (identical on every rank). */
static PetscErrorCode ReadMeta(hid_t fid, const char file[], PetscInt nmax, Meta *m)
{
  PetscFunctionBegin;
  PetscCall(OpenDataset(fid, file, &m->X));
  PetscCall(OpenDataset(fid, file, &m->y));
  m->d = 1;
  for (int k = 1; k < m->X.nd; k++) m->d *= (PetscInt64)m->X.dims[k];
  PetscCheck(m->y.dims[0] == m->X.dims[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the inputs '%s' have %" PetscInt64_FMT " samples but the targets '%s' have %" PetscInt64_FMT "; the first dimensions must match (one target per sample)", file, m->X.path, (PetscInt64)m->X.dims[0], m->y.path, (PetscInt64)m->y.dims[0]);
  if (m->y.cls == H5T_INTEGER) {
    PetscCheck(m->y.nd == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the targets '%s' are integers with %d dimensions; class labels must be a 1-D array (n), regression targets a float array (n or n x c)", file, m->y.path, m->y.nd);
    m->c = 0;
  } else {
    PetscCheck(m->y.nd <= 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the targets '%s' have %d dimensions; regression targets must be n or n x c", file, m->y.path, m->y.nd);
    m->c = m->y.nd == 2 ? (PetscInt64)m->y.dims[1] : 1;
    PetscCheck(m->c >= 1 && m->c <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the targets '%s' have %" PetscInt64_FMT " columns; regression needs 1 to %d", file, m->y.path, m->c, (int)PETSC_MAX_INT);
  }
  m->nfile = (PetscInt64)m->X.dims[0];
  PetscCheck(m->nfile >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the inputs '%s' hold no samples (first dimension 0)", file, m->X.path);
  PetscCheck(m->d >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the inputs '%s' have a zero trailing dimension (0 features per sample)", file, m->X.path);
  PetscFunctionReturn(0);
}

/* Select rows [r0, r0 + nr) (all trailing dims) of ds in a fresh file space, and a
   matching memory space of nr * rowlen elements; empty selections when nr = 0. */
static PetscErrorCode SelectRows(const DSet *ds, PetscInt64 r0, PetscInt64 nr, PetscInt64 rowlen, hid_t *fspace, hid_t *mspace)
{
  hsize_t start[H5S_MAX_RANK], count[H5S_MAX_RANK], nm = (hsize_t)(nr * rowlen), one = 1;

  PetscFunctionBegin;
  SpdCallH5Return(*fspace, H5Dget_space, (ds->dset));
  if (nr == 0) {
    SpdCallH5(H5Sselect_none, (*fspace));
    SpdCallH5Return(*mspace, H5Screate_simple, (1, &one, NULL));
    SpdCallH5(H5Sselect_none, (*mspace));
    PetscFunctionReturn(0);
  }
  for (int k = 0; k < ds->nd; k++) {
    start[k] = 0;
    count[k] = ds->dims[k];
  }
  start[0] = (hsize_t)r0;
  count[0] = (hsize_t)nr;
  SpdCallH5(H5Sselect_hyperslab, (*fspace, H5S_SELECT_SET, start, NULL, count, NULL));
  SpdCallH5Return(*mspace, H5Screate_simple, (1, &nm, NULL));
  PetscFunctionReturn(0);
}

/* Collective: read this rank's rows [start, start + nlocal) of ds as `memtype` into buf
   (rowlen elements of esize bytes per row), in batches that every rank takes part in.
   A failed transfer is recorded in (*lerr, msg) and the remaining batches still run. */
static PetscErrorCode ReadRows(MPI_Comm comm, const DSet *ds, const char file[], hid_t memtype, size_t esize, PetscInt64 start, PetscInt64 nlocal, PetscInt64 maxlocal, PetscInt64 rowlen, void *buf, PetscErrorCode *lerr, char msg[], size_t len)
{
  PetscInt64 batch, nb;
  hid_t      dxpl;
  H5Quiet    q;
  char       dummy[16];

  PetscFunctionBegin;
  PetscCall(SpdDataGetBatchRows_Private(comm, esize * (size_t)rowlen, &batch));
  nb = (maxlocal + batch - 1) / batch; /* the same on every rank: blocks differ by at most one row */
  SpdCallH5Return(dxpl, H5Pcreate, (H5P_DATASET_XFER));
  SpdCallH5(H5Pset_dxpl_mpio, (dxpl, H5FD_MPIO_COLLECTIVE));
  for (PetscInt64 b = 0; b < nb; b++) {
    PetscInt64 r0 = PetscMin(b * batch, nlocal), nr = PetscMin(batch, nlocal - r0);
    hid_t      fspace = -1, mspace = -1;
    herr_t     st;
    void      *dst = nr ? (void *)((char *)buf + (size_t)r0 * (size_t)rowlen * esize) : (void *)dummy;

    PetscCall(SelectRows(ds, start + r0, nr, rowlen, &fspace, &mspace));
    H5QuietBegin(&q);
    st = H5Dread(ds->dset, memtype, mspace, fspace, dxpl, dst);
    H5QuietEnd(&q);
    if (st < 0 && !*lerr) {
      *lerr = PETSC_ERR_FILE_READ;
      PetscCall(PetscSNPrintf(msg, len, "%s: HDF5 could not read rows %" PetscInt64_FMT " to %" PetscInt64_FMT " of dataset '%s' (the %s) as %s; the file is corrupt or holds a type HDF5 cannot convert", file, start + r0, start + r0 + nr - 1, ds->path, ds->role, memtype == H5T_NATIVE_DOUBLE ? "double" : "int64"));
    }
    SpdCallH5(H5Sclose, (mspace));
    SpdCallH5(H5Sclose, (fspace));
  }
  SpdCallH5(H5Pclose, (dxpl));
  PetscFunctionReturn(0);
}

static void CloseMeta(Meta *m)
{
  if (m->X.dset >= 0) H5Oclose(m->X.dset);
  if (m->y.dset >= 0) H5Oclose(m->y.dset);
  m->X.dset = m->y.dset = -1;
}

static PetscErrorCode LoadHDF5(SpdData data, const char path[], const char xpath[], const char ypath[], PetscInt nmax)
{
  MPI_Comm       comm = data->comm;
  PetscMPIInt    rank, size;
  PetscErrorCode lerr      = 0;
  char           msg[4096] = "";
  hid_t          fapl, fid;
  H5Quiet        q;
  Meta           m;
  PetscBool      any;
  PetscInt64     n, maxlocal, lmax = -1, gmax;
  int64_t       *lab = NULL;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMemzero(&m, sizeof(m)));
  m.X.path = xpath;
  m.X.role = "inputs X";
  m.X.dset = -1;
  m.y.path = ypath;
  m.y.role = "targets y";
  m.y.dset = -1;

  /* 1. rank 0: does the file exist, is it HDF5? */
  if (rank == 0) {
    htri_t is;

    if (access(path, R_OK)) {
      lerr = PETSC_ERR_FILE_OPEN;
      PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: cannot read the data file (%s); give the path of an HDF5 file holding the inputs ('%s') and targets ('%s')", path, strerror(errno), xpath, ypath));
    } else {
      H5QuietBegin(&q);
      is = H5Fis_hdf5(path);
      H5QuietEnd(&q);
      if (is <= 0) {
        lerr = PETSC_ERR_FILE_UNEXPECTED;
        PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: not an HDF5 file (no HDF5 signature); data sets are read from HDF5 (SpdDataLoadHDF5) or IDX files (SpdDataLoadIDX)", path));
      }
    }
  }
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));

  /* 2. every rank opens the file with the MPI-IO driver */
  SpdCallH5Return(fapl, H5Pcreate, (H5P_FILE_ACCESS));
  SpdCallH5(H5Pset_fapl_mpio, (fapl, comm, MPI_INFO_NULL));
  H5QuietBegin(&q);
  fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5QuietEnd(&q);
  SpdCallH5(H5Pclose, (fapl));
  if (fid < 0) {
    lerr = PETSC_ERR_FILE_OPEN;
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: HDF5 cannot open the file with the MPI-IO driver; it is truncated, corrupt or on a file system without MPI-IO support", path));
  }
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));

  /* 3. the datasets' shapes and types */
  H5QuietBegin(&q);
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  lerr = ReadMeta(fid, path, nmax, &m);
  PetscCall(SpdErrorCapturePop());
  H5QuietEnd(&q);
  PetscCall(SpdDataAnyError_Private(comm, lerr, &any));
  if (any) {
    CloseMeta(&m);
    H5Fclose(fid); /* collective, like the open */
    PetscCall(SpdCollectiveError_Private(comm, lerr, msg));
  }
  n = nmax > 0 ? PetscMin((PetscInt64)nmax, m.nfile) : m.nfile;
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  lerr = SpdDataSetSizes_Private(data, n, m.d);
  PetscCall(SpdErrorCapturePop());
  if (lerr) { /* the same on every rank: it depends on n and d only */
    CloseMeta(&m);
    H5Fclose(fid);
    PetscCall(SpdCollectiveError_Private(comm, lerr, msg));
  }
  maxlocal = (n + size - 1) / size;

  /* 4. this rank's rows */
  PetscCall(ReadRows(comm, &m.X, path, H5T_NATIVE_DOUBLE, sizeof(double), data->start, data->nlocal, maxlocal, m.d, data->X, &lerr, msg, sizeof(msg)));
  if (m.c) {
    data->c = (PetscInt)m.c;
    PetscCall(PetscMalloc1((size_t)data->nlocal * (size_t)m.c + 1, &data->Y));
    PetscCall(ReadRows(comm, &m.y, path, H5T_NATIVE_DOUBLE, sizeof(double), data->start, data->nlocal, maxlocal, m.c, data->Y, &lerr, msg, sizeof(msg)));
  } else {
    PetscCall(PetscMalloc1(data->nlocal + 1, &lab));
    PetscCall(ReadRows(comm, &m.y, path, H5T_NATIVE_INT64, sizeof(int64_t), data->start, data->nlocal, maxlocal, 1, lab, &lerr, msg, sizeof(msg)));
  }
  CloseMeta(&m);
  SpdCallH5(H5Fclose, (fid));

  /* 5. validate the values; the lowest failing rank holds the lowest bad sample */
  if (!lerr) {
    char what[2 * PETSC_MAX_PATH_LEN];

    PetscCall(PetscSNPrintf(what, sizeof(what), "%s: dataset '%s' (the inputs X)", path, xpath));
    if (SpdDataFindNonFinite_Private(data->X, data->nlocal, m.d, data->start, what, msg, sizeof(msg))) lerr = PETSC_ERR_FILE_UNEXPECTED;
  }
  if (!lerr && m.c) {
    char what[2 * PETSC_MAX_PATH_LEN];

    PetscCall(PetscSNPrintf(what, sizeof(what), "%s: dataset '%s' (the targets y)", path, ypath));
    if (SpdDataFindNonFinite_Private(data->Y, data->nlocal, m.c, data->start, what, msg, sizeof(msg))) lerr = PETSC_ERR_FILE_UNEXPECTED;
  }
  if (!lerr && !m.c) {
    PetscCall(PetscMalloc1(data->nlocal + 1, &data->labels));
    for (PetscInt i = 0; i < data->nlocal; i++) {
      if (lab[i] < 0 || lab[i] >= PETSC_MAX_INT) {
        lerr = PETSC_ERR_FILE_UNEXPECTED;
        if (lab[i] < 0)
          PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: dataset '%s' (the targets y) has the negative label %" PetscInt64_FMT " at sample %" PetscInt_FMT "; class labels must be integers 0, 1, ..., nclasses - 1", path, ypath, (PetscInt64)lab[i], data->start + i));
        else
          PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: dataset '%s' (the targets y) has the label %" PetscInt64_FMT " at sample %" PetscInt_FMT ", too large for a class index; class labels must be integers 0, 1, ..., nclasses - 1", path, ypath, (PetscInt64)lab[i], data->start + i));
        break;
      }
      data->labels[i] = (PetscInt)lab[i];
      lmax            = PetscMax(lmax, (PetscInt64)lab[i]);
    }
  }
  PetscCall(PetscFree(lab));
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));
  if (!m.c) {
    PetscCallMPI(MPI_Allreduce(&lmax, &gmax, 1, MPIU_INT64, MPI_MAX, comm));
    data->nclasses = (PetscInt)(gmax + 1);
  }
  PetscFunctionReturn(0);
}

/*@C
  SpdDataLoadHDF5 - load a data set from two datasets of an HDF5 file, each rank reading
  only its own samples

  Collective

  Input Parameters:
+ comm  - the ranks that share the samples
. path  - the HDF5 file
. xpath - the inputs: n x d, or n x d1 x d2 ... (flattened row-major to d); any numeric type
. ypath - the targets: 1-D integers (class labels, nclasses = max + 1), 1-D floats
          (regression, c = 1) or 2-D floats (regression, n x c)
- nmax  - if > 0, keep only the first nmax samples (all of them if the file has fewer)

  Output Parameter:
. data - the data set; rank r holds samples [start, start + nlocal) of PETSc's default split

  Options:
. -spd_data_batch_rows <rows> - samples per collective read (default: about 256 MiB)

  Notes:
  Missing files or datasets, mismatched sample counts, NaN/Inf values (reported with the
  sample and feature index) and negative labels are errors raised identically on every
  rank, naming the file and the dataset.

.seealso: `SpdDataLoadIDX()`, `SpdDataDestroy()`
@*/
PetscErrorCode SpdDataLoadHDF5(MPI_Comm comm, const char path[], const char xpath[], const char ypath[], PetscInt nmax, SpdData *data)
{
  SpdData        d;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscValidPointer(data, 6);
  *data = NULL;
  PetscCheck(path && path[0], PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdDataLoadHDF5: no file given; pass the path of an HDF5 file");
  PetscCheck(xpath && xpath[0] && ypath && ypath[0], PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdDataLoadHDF5: %s: give the dataset paths of both the inputs X and the targets y", path);
  PetscCall(SpdDataCreate_Private(comm, path, &d));
  ierr = LoadHDF5(d, path, xpath, ypath, nmax);
  if (ierr) {
    PetscCall(SpdDataDestroy(&d));
    PetscCall(ierr);
  }
  *data = d;
  PetscFunctionReturn(0);
}
