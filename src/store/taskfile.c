/* One task's result file: created collectively by the task's group as
   tasks/<id>.h5.tmp with the MPI-IO driver, renamed to tasks/<id>.h5 on commit.
   HDF5 1.10 has no journal (FACTS.md): a file killed mid-write is unreadable, so the
   final name only ever denotes a closed, complete file. */
#include <specdyn/private/storeimpl.h>
#include <specdyn/private/h5util.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>

struct _p_SpdTaskFile {
  MPI_Comm    comm;
  PetscMPIInt rank;
  hid_t       file;
  char        tmp[PETSC_MAX_PATH_LEN], final[PETSC_MAX_PATH_LEN];
  const char *dir; /* the folder the file goes to (synced after the rename) */
};

/* <dir>/<id>.h5 through <dir>/<id>.h5.tmp, written collectively on comm. */
static PetscErrorCode SpdResultFileCreate_Private(const char dir[], MPI_Comm comm, const char id[], SpdTaskFile *tf)
{
  SpdTaskFile f;
  hid_t       fapl;

  PetscFunctionBegin;
  PetscCall(PetscNew(&f));
  f->comm = comm;
  f->dir  = dir;
  PetscCallMPI(MPI_Comm_rank(comm, &f->rank));
  PetscCall(PetscSNPrintf(f->final, sizeof(f->final), "%s/%s.h5", dir, id));
  PetscCall(PetscSNPrintf(f->tmp, sizeof(f->tmp), "%s.tmp", f->final));
  {
    /* rank 0 checks the free space; every rank raises the same error */
    PetscErrorCode ierr      = 0;
    char           msg[1024] = "";
    if (f->rank == 0) {
      PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
      ierr = SpdStoreCheckSpace_Private(dir, f->tmp);
      PetscCall(SpdErrorCapturePop());
      if (!ierr) msg[0] = 0;
    }
    PetscCallMPI(MPI_Bcast(msg, sizeof(msg), MPI_CHAR, 0, comm));
    if (msg[0]) PetscCall(PetscFree(f));
    PetscCheck(!msg[0], PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s", msg);
  }
  SpdCallH5Return(fapl, H5Pcreate, (H5P_FILE_ACCESS));
  SpdCallH5(H5Pset_fapl_mpio, (fapl, comm, MPI_INFO_NULL));
  f->file = H5Fcreate(f->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  SpdCallH5(H5Pclose, (fapl));
  PetscCheck(f->file >= 0, comm, PETSC_ERR_FILE_OPEN, "Cannot create the result file %s; check that the results folder is writable and the disk is not full", f->tmp);
  *tf = f;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileCreate(SpdStore store, MPI_Comm comm, const char id[], SpdTaskFile *tf)
{
  PetscFunctionBegin;
  PetscCall(SpdResultFileCreate_Private(store->tasksdir, comm, id, tf));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdComparisonFileCreate(SpdStore store, MPI_Comm comm, const char id[], SpdTaskFile *tf)
{
  PetscFunctionBegin;
  PetscCall(SpdResultFileCreate_Private(store->comparisonsdir, comm, id, tf));
  PetscFunctionReturn(0);
}

/* Agree on the outcome of a write across the file's ranks (only some ranks may fail, a
   full disk hits the rank that writes): every rank raises the same error, so that no rank
   waits in a collective call the others have left. */
static PetscErrorCode SpdTaskFileAgree_Private(SpdTaskFile f, herr_t status, const char what[], const char path[])
{
  int err = status < 0 ? (errno ? errno : EIO) : 0, any;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&err, &any, 1, MPI_INT, MPI_MAX, f->comm));
  PetscCheck(!any, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s '%s' in %s failed (%s); is the disk full or the quota exceeded? Earlier results are intact; free space and rerun", what, path, f->tmp, strerror(any));
  PetscFunctionReturn(0);
}

/* Create intermediate groups of `path` ("top/sigma" creates "top"). */
static PetscErrorCode SpdTaskFileLcpl_Private(hid_t *lcpl)
{
  PetscFunctionBegin;
  SpdCallH5Return(*lcpl, H5Pcreate, (H5P_LINK_CREATE));
  SpdCallH5(H5Pset_create_intermediate_group, (*lcpl, 1));
  PetscFunctionReturn(0);
}

/* A 1-D (ndims 1) or 2-D (row-major) dataset of values identical on every rank: created
   collectively, written by rank 0. */
static PetscErrorCode SpdTaskFileWriteReplicated_Private(SpdTaskFile f, const char path[], hid_t memtype, hid_t filetype, int ndims, const hsize_t dims[], const void *v)
{
  hid_t   space, dset, lcpl, sel;
  hsize_t npoints = 1;

  PetscFunctionBegin;
  for (int d = 0; d < ndims; d++) npoints *= dims[d];
  PetscCall(PetscLogEventBegin(SPD_Write, 0, 0, 0, 0));
  PetscCall(SpdTaskFileLcpl_Private(&lcpl));
  SpdCallH5Return(space, H5Screate_simple, (ndims, dims, NULL));
  SpdCallH5Return(dset, H5Dcreate2, (f->file, path, filetype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT));
  SpdCallH5Return(sel, H5Scopy, (space));
  if (f->rank != 0 || npoints == 0) SpdCallH5(H5Sselect_none, (sel));
  errno = 0;
  PetscCall(SpdTaskFileAgree_Private(f, H5Dwrite(dset, memtype, sel, sel, H5P_DEFAULT, v), "Writing", path));
  SpdCallH5(H5Sclose, (sel));
  SpdCallH5(H5Dclose, (dset));
  SpdCallH5(H5Sclose, (space));
  SpdCallH5(H5Pclose, (lcpl));
  PetscCall(PetscLogEventEnd(SPD_Write, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileWriteReal(SpdTaskFile f, const char path[], PetscInt n, const PetscReal v[])
{
  hsize_t dim = (hsize_t)n;

  PetscFunctionBegin;
  PetscCall(SpdTaskFileWriteReplicated_Private(f, path, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &dim, v));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileWriteInt(SpdTaskFile f, const char path[], PetscInt n, const PetscInt v[])
{
  PetscInt64 *w;
  hsize_t     dim = (hsize_t)n;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n + 1, &w));
  for (PetscInt i = 0; i < n; i++) w[i] = v[i];
  PetscCall(SpdTaskFileWriteReplicated_Private(f, path, H5T_NATIVE_INT64, H5T_STD_I64LE, 1, &dim, w));
  PetscCall(PetscFree(w));
  PetscFunctionReturn(0);
}

/* An m x n matrix (row-major) identical on every rank, written by rank 0. */
PetscErrorCode SpdTaskFileWriteMatrix(SpdTaskFile f, const char path[], PetscInt m, PetscInt n, const PetscReal v[])
{
  hsize_t dims[2] = { (hsize_t)m, (hsize_t)n };

  PetscFunctionBegin;
  PetscCall(SpdTaskFileWriteReplicated_Private(f, path, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims, v));
  PetscFunctionReturn(0);
}

/* k distributed vectors as a k x N dataset; each rank writes the columns it owns,
   collectively: no rank ever holds more than its own slice. */
PetscErrorCode SpdTaskFileWriteVecs(SpdTaskFile f, const char path[], PetscInt k, const Vec v[], PetscInt N)
{
  hid_t      fspace, mspace, dset, lcpl, dxpl;
  hsize_t    dims[2] = { (hsize_t)k, (hsize_t)N }, start[2] = { 0, 0 }, count[2];
  PetscInt   rstart = 0, rend = 0, nloc;
  PetscReal *buf;

  PetscFunctionBegin;
  PetscCall(PetscLogEventBegin(SPD_Write, 0, 0, 0, 0));
  if (k > 0)
    PetscCall(VecGetOwnershipRange(v[0], &rstart, &rend));
  else {
    /* same split as PETSc's default layout; nothing is written */
    PetscInt n = PETSC_DECIDE;
    PetscCall(PetscSplitOwnership(f->comm, &n, &N));
  }
  nloc = rend - rstart;
  PetscCall(PetscMalloc1((size_t)k * nloc + 1, &buf));
  for (PetscInt i = 0; i < k; i++) {
    const PetscScalar *a;
    PetscCall(VecGetArrayRead(v[i], &a));
    for (PetscInt j = 0; j < nloc; j++) buf[(size_t)i * nloc + j] = PetscRealPart(a[j]);
    PetscCall(VecRestoreArrayRead(v[i], &a));
  }
  PetscCall(SpdTaskFileLcpl_Private(&lcpl));
  SpdCallH5Return(fspace, H5Screate_simple, (2, dims, NULL));
  SpdCallH5Return(dset, H5Dcreate2, (f->file, path, H5T_IEEE_F64LE, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT));
  start[1] = (hsize_t)rstart;
  count[0] = (hsize_t)k;
  count[1] = (hsize_t)nloc;
  if (k > 0 && nloc > 0)
    SpdCallH5(H5Sselect_hyperslab, (fspace, H5S_SELECT_SET, start, NULL, count, NULL));
  else
    SpdCallH5(H5Sselect_none, (fspace));
  SpdCallH5Return(mspace, H5Screate_simple, (2, count, NULL));
  if (!(k > 0 && nloc > 0)) SpdCallH5(H5Sselect_none, (mspace));
  SpdCallH5Return(dxpl, H5Pcreate, (H5P_DATASET_XFER));
  SpdCallH5(H5Pset_dxpl_mpio, (dxpl, H5FD_MPIO_COLLECTIVE));
  errno = 0;
  PetscCall(SpdTaskFileAgree_Private(f, H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, buf), "Writing", path));
  SpdCallH5(H5Pclose, (dxpl));
  SpdCallH5(H5Sclose, (mspace));
  SpdCallH5(H5Sclose, (fspace));
  SpdCallH5(H5Dclose, (dset));
  SpdCallH5(H5Pclose, (lcpl));
  PetscCall(PetscFree(buf));
  PetscCall(PetscLogEventEnd(SPD_Write, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileCreateGroup(SpdTaskFile f, const char path[])
{
  hid_t g, lcpl;

  PetscFunctionBegin;
  PetscCall(SpdTaskFileLcpl_Private(&lcpl));
  SpdCallH5Return(g, H5Gcreate2, (f->file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT));
  SpdCallH5(H5Gclose, (g));
  SpdCallH5(H5Pclose, (lcpl));
  PetscFunctionReturn(0);
}

/* Attributes are written collectively with identical values on every rank. */
static PetscErrorCode SpdTaskFileSetAttr_Private(SpdTaskFile f, const char obj[], const char name[], hid_t filetype, hid_t memtype, const void *value)
{
  hid_t space, attr;

  PetscFunctionBegin;
  SpdCallH5Return(space, H5Screate, (H5S_SCALAR));
  SpdCallH5Return(attr, H5Acreate_by_name, (f->file, obj, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  SpdCallH5(H5Awrite, (attr, memtype, value));
  SpdCallH5(H5Aclose, (attr));
  SpdCallH5(H5Sclose, (space));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileSetAttrString(SpdTaskFile f, const char obj[], const char name[], const char value[])
{
  hid_t       type;
  const char *v = value;

  PetscFunctionBegin;
  /* variable-length UTF-8, so that h5py returns str (fixed-length reads as bytes) */
  SpdCallH5Return(type, H5Tcopy, (H5T_C_S1));
  SpdCallH5(H5Tset_size, (type, H5T_VARIABLE));
  SpdCallH5(H5Tset_cset, (type, H5T_CSET_UTF8));
  PetscCall(SpdTaskFileSetAttr_Private(f, obj, name, type, type, &v));
  SpdCallH5(H5Tclose, (type));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileSetAttrReal(SpdTaskFile f, const char obj[], const char name[], PetscReal value)
{
  PetscFunctionBegin;
  PetscCall(SpdTaskFileSetAttr_Private(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileSetAttrInt(SpdTaskFile f, const char obj[], const char name[], PetscInt64 value)
{
  int64_t v = value;

  PetscFunctionBegin;
  PetscCall(SpdTaskFileSetAttr_Private(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileCommit(SpdTaskFile *tf)
{
  SpdTaskFile f   = *tf;
  int         err = 0;

  PetscFunctionBegin;
  {
    herr_t st;
    errno = 0;
    /* flush first: a flush that fails (a full disk) leaves the file open for Abort,
       whereas HDF5 cannot be asked to close a file again after a failed H5Fclose */
    st = H5Fflush(f->file, H5F_SCOPE_GLOBAL);
    PetscCall(SpdTaskFileAgree_Private(f, st, "Flushing", "/"));
    errno   = 0;
    st      = H5Fclose(f->file);
    f->file = -1;
    PetscCall(SpdTaskFileAgree_Private(f, st, "Closing", "/"));
  }
  if (f->rank == 0) {
    err = rename(f->tmp, f->final);
    if (!err) PetscCall(SpdStoreSyncDir_Private(f->dir));
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, f->comm));
  PetscCheck(!err, f->comm, PETSC_ERR_FILE_WRITE, "Cannot rename %s to %s; check the results folder", f->tmp, f->final);
  PetscCall(PetscFree(*tf));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTaskFileAbort(SpdTaskFile *tf)
{
  SpdTaskFile f = *tf;

  PetscFunctionBegin;
  if (!f) PetscFunctionReturn(0);
  /* The file is thrown away: release its blocks first (its last flush may have hit a
     full disk, and a failed close cannot be retried: HDF5 would close it again at
     MPI_Finalize and crash there), then close it with every object an error left open. */
  if (f->file >= 0) {
    if (f->rank == 0 && truncate(f->tmp, 0)) PetscCall(PetscInfo(NULL, "could not truncate %s: %s\n", f->tmp, strerror(errno)));
    PetscCallMPI(MPI_Barrier(f->comm));
    (void)SpdH5CloseFile(f->file);
    f->file = -1;
  }
  if (f->rank == 0) (void)unlink(f->tmp);
  PetscCall(PetscFree(*tf));
  PetscFunctionReturn(0);
}

/*@C
  SpdTaskFileSetProvenance - the provenance attributes every result file carries

  Collective on the file's communicator

  Notes:
  specdyn_version, git_revision, library_versions, written (UTC), study, job_text (the job
  file verbatim) and petsc_options (the whole options database of the run).
@*/
PetscErrorCode SpdTaskFileSetProvenance(SpdTaskFile f, SpdJob job)
{
  char   versions[1024], when[64], *opts;
  time_t now = time(NULL);

  PetscFunctionBegin;
  PetscCall(SpdLibraryVersions(versions, sizeof(versions)));
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "specdyn_version", SpdVersion()));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "git_revision", SpdGitRevision()));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "library_versions", versions));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "written", when));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "study", job->name));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "job_text", job->text ? job->text : ""));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "petsc_options", opts ? opts : ""));
  PetscCall(PetscFree(opts));
  PetscFunctionReturn(0);
}

/*@C
  SpdTaskFileWriteSolve - the group of one iterative solve: values, residuals, flags, counts

  Collective on the file's communicator

  Input Parameters:
+ f        - the file
. grp      - the group ("top", "bottom")
. valname  - name of the values dataset ("sigma", "lambda")
. k        - requested values (length of the arrays)
. values, residual, converged - the solver's results
. nconv, its, nprod - converged count, iterations, products
. npasses  - passes over the matrix (< -1: not written)
. solver   - solver type
- tol      - tolerance

  Notes:
  Writes grp/<valname>, grp/residual, grp/converged (int64 0/1) and the attributes
  requested, nconv, iterations, products, [passes], solver, tol.
@*/
PetscErrorCode SpdTaskFileWriteSolve(SpdTaskFile f, const char grp[], const char valname[], PetscInt k, const PetscReal values[], const PetscReal residual[], const PetscBool converged[], PetscInt nconv, PetscInt its, PetscInt nprod, PetscInt npasses, const char solver[], PetscReal tol)
{
  char      path[128];
  PetscInt *conv;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(k + 1, &conv));
  for (PetscInt i = 0; i < k; i++) conv[i] = converged[i] ? 1 : 0;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", grp, valname));
  PetscCall(SpdTaskFileWriteReal(f, path, k, values));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/residual", grp));
  PetscCall(SpdTaskFileWriteReal(f, path, k, residual));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/converged", grp));
  PetscCall(SpdTaskFileWriteInt(f, path, k, conv));
  PetscCall(PetscFree(conv));
  PetscCall(SpdTaskFileSetAttrInt(f, grp, "requested", k));
  PetscCall(SpdTaskFileSetAttrInt(f, grp, "nconv", nconv));
  PetscCall(SpdTaskFileSetAttrInt(f, grp, "iterations", its));
  PetscCall(SpdTaskFileSetAttrInt(f, grp, "products", nprod));
  if (npasses >= -1) PetscCall(SpdTaskFileSetAttrInt(f, grp, "passes", npasses));
  PetscCall(SpdTaskFileSetAttrString(f, grp, "solver", solver));
  PetscCall(SpdTaskFileSetAttrReal(f, grp, "tol", tol));
  PetscFunctionReturn(0);
}
