/* The results folder: ledger of completed tasks (their final-named files), failure
   records, and the index file that presents the study as one HDF5 tree. */
#include <specdyn/private/storeimpl.h>
#include <errno.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

PetscErrorCode SpdStoreSyncDir_Private(const char dir[])
{
  int fd;

  PetscFunctionBegin;
  fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    (void)fsync(fd); /* best effort: some file systems refuse fsync on folders */
    close(fd);
  }
  PetscFunctionReturn(0);
}

/*@C
  SpdStoreOpen - open (creating if needed) a results folder

  Collective

  Input Parameters:
+ comm - the study's communicator
- dir  - the folder

  Output Parameter:
. store - the store

  Options Database Key:
. -spd_store_lock <exclusive,shared,none> - how this run locks the folder (<dir>/.lock,
  held by rank 0 until SpdStoreDestroy()): `exclusive` for a run that may write any task
  (a plain run, --merge), `shared` for runs that may share the folder (slices of one
  study, --tasks i/n; --index-only), `none` for file systems without flock(). Default
  `shared`; `specdyn run` sets it from its arguments.

  Notes:
  A run that conflicts with the current holder fails on every rank with a message naming
  the folder and the holder's pid and host. The first run to find the folder free removes
  the temporary files of interrupted runs.

.seealso: SpdStoreDestroy(), docs/results-format.md (crash consistency)
@*/
PetscErrorCode SpdStoreOpen(MPI_Comm comm, const char dir[], SpdStore *store)
{
  SpdStore       s;
  int            err  = 0;
  PetscInt       mode = SPD_STORE_LOCK_SHARED;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscNew(&s));
  s->comm   = comm;
  s->lockfd = -1;
  PetscCallMPI(MPI_Comm_rank(comm, &s->rank));
  PetscCall(PetscStrncpy(s->dir, dir, sizeof(s->dir)));
  PetscCall(PetscSNPrintf(s->tasksdir, sizeof(s->tasksdir), "%s/tasks", dir));
  PetscCall(PetscSNPrintf(s->faileddir, sizeof(s->faileddir), "%s/failed", dir));
  PetscCall(PetscSNPrintf(s->comparisonsdir, sizeof(s->comparisonsdir), "%s/comparisons", dir));
  if (s->rank == 0) {
    PetscCall(SpdMkdirP(s->tasksdir, &err));
    if (!err) PetscCall(SpdMkdirP(s->faileddir, &err));
    if (!err) PetscCall(SpdMkdirP(s->comparisonsdir, &err));
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  if (err) PetscCall(PetscFree(s));
  PetscCheck(!err, comm, PETSC_ERR_FILE_OPEN, "Cannot create the results folder %s: %s; choose another folder with -o", dir, strerror(err));
  PetscCall(PetscOptionsGetEList(NULL, NULL, "-spd_store_lock", SpdStoreLockModes, 3, &mode, NULL));
  ierr = SpdStoreLockAcquire_Private(s, (SpdStoreLockMode)mode);
  if (ierr) PetscCall(PetscFree(s)); /* refused: the message is already set */
  PetscCall(ierr);
  *store = s;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreGetDir(SpdStore s, const char **dir)
{
  PetscFunctionBegin;
  *dir = s->dir;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreTaskDone(SpdStore s, const char id[], PetscBool *done)
{
  char path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s.h5", s->tasksdir, id));
  *done = access(path, R_OK) == 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Refuse to create a result file in `dir` when less than SPD_STORE_MIN_FREE bytes are
   free: HDF5 1.10 cannot recover from a file creation whose first flush fails (it
   crashes at MPI_Finalize), so a full disk is reported before that point. Writes that
   fail later are caught by the task file (its space released, the file removed). */
#define SPD_STORE_MIN_FREE (64 * 1024)
PetscErrorCode SpdStoreCheckSpace_Private(const char dir[], const char file[])
{
  struct statvfs st;

  PetscFunctionBegin;
  if (statvfs(dir, &st)) PetscFunctionReturn(0); /* unknown: let the write tell */
  PetscCheck((double)st.f_bavail * (double)st.f_frsize >= SPD_STORE_MIN_FREE, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Not enough space to write %s: %.0f KiB free in %s; the disk is full or the quota exceeded. Earlier results are intact; free space and rerun", file, (double)st.f_bavail * (double)st.f_frsize / 1024.0, dir);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreComparisonDone(SpdStore s, const char id[], PetscBool *done)
{
  char path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s.h5", s->comparisonsdir, id));
  *done = access(path, R_OK) == 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreReadVecsBlock(SpdStore s, const char id[], const char path[], PetscInt kmax, PetscInt rstart, PetscInt nloc, PetscInt *k, PetscReal **X)
{
  char    fname[PETSC_MAX_PATH_LEN];
  hid_t   file, dset, fspace, mspace;
  hsize_t dims[2], start[2], count[2];
  int     nd;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(fname, sizeof(fname), "%s/%s.h5", s->tasksdir, id));
  H5E_BEGIN_TRY { file = H5Fopen(fname, H5F_ACC_RDONLY, H5P_DEFAULT); }
  H5E_END_TRY;
  PetscCheck(file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open the task file %s; rerun the study to recompute the task", fname);
  H5E_BEGIN_TRY { dset = H5Dopen2(file, path, H5P_DEFAULT); }
  H5E_END_TRY;
  if (dset < 0) (void)H5Fclose(file);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "The task file %s has no dataset '%s': it was computed without singular vectors (weights.vectors); remove it so that the study recomputes it", fname, path);
  SpdCallH5Return(fspace, H5Dget_space, (dset));
  nd = H5Sget_simple_extent_dims(fspace, dims, NULL);
  PetscCheck(nd == 2 && (PetscInt64)dims[1] >= (PetscInt64)rstart + nloc, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "'%s' in %s has shape (%llu, %llu), expected k x N with N >= %" PetscInt_FMT, path, fname, (unsigned long long)dims[0], (unsigned long long)(nd == 2 ? dims[1] : 0), rstart + nloc);
  *k = (PetscInt)PetscMin((PetscInt64)kmax, (PetscInt64)dims[0]);
  PetscCall(PetscMalloc1((size_t)(*k) * nloc + 1, X));
  start[0] = 0;
  start[1] = (hsize_t)rstart;
  count[0] = (hsize_t)*k;
  count[1] = (hsize_t)nloc;
  if (*k > 0 && nloc > 0) {
    SpdCallH5(H5Sselect_hyperslab, (fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    SpdCallH5Return(mspace, H5Screate_simple, (2, count, NULL));
    SpdCallH5(H5Dread, (dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, *X));
    SpdCallH5(H5Sclose, (mspace));
  }
  SpdCallH5(H5Sclose, (fspace));
  SpdCallH5(H5Dclose, (dset));
  SpdCallH5(H5Fclose, (file));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreRecordFailure(SpdStore s, const SpdTask *task, const char name[], const char msg[])
{
  char  path[PETSC_MAX_PATH_LEN];
  FILE *fp;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s.txt", s->faileddir, task->id));
  fp = fopen(path, "w");
  if (fp) { /* best effort: the message also went to stderr */
    fprintf(fp, "%s\n%s\n", name, msg);
    fclose(fp);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreClearFailure(SpdStore s, const char id[])
{
  char path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s.txt", s->faileddir, id));
  (void)unlink(path);
  PetscFunctionReturn(0);
}

/* Read the message of a failure record (second line onwards), or NULL. */
PetscErrorCode SpdStoreReadFailure_Private(SpdStore s, const char id[], char **msg)
{
  char  path[PETSC_MAX_PATH_LEN], line[4096];
  FILE *fp;

  PetscFunctionBegin;
  *msg = NULL;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s.txt", s->faileddir, id));
  fp = fopen(path, "r");
  if (!fp) PetscFunctionReturn(0);
  if (fgets(line, sizeof(line), fp)) {
    size_t n = fread(line, 1, sizeof(line) - 1, fp);
    line[n]  = 0;
    while (n > 0 && line[n - 1] == '\n') line[--n] = 0;
    PetscCall(PetscStrallocpy(line, msg));
  }
  fclose(fp);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreDestroy(SpdStore *s)
{
  PetscFunctionBegin;
  if (!*s) PetscFunctionReturn(0);
  PetscCall(SpdStoreLockRelease_Private(*s));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}
