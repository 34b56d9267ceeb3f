/* The results folder: ledger of completed tasks (their final-named files), failure
   records, and the index file that presents the study as one HDF5 tree. */
#include <specdyn/private/storeimpl.h>
#include <errno.h>
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

/* mkdir -p */
static PetscErrorCode SpdMkdirP_Private(const char path[], int *err)
{
  char buf[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  *err = 0;
  PetscCall(PetscStrncpy(buf, path, sizeof(buf)));
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0755) && errno != EEXIST) *err = errno;
    *p = '/';
  }
  if (mkdir(buf, 0755) && errno != EEXIST) *err = errno;
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
@*/
PetscErrorCode SpdStoreOpen(MPI_Comm comm, const char dir[], SpdStore *store)
{
  SpdStore s;
  int      err = 0;

  PetscFunctionBegin;
  PetscCall(PetscNew(&s));
  s->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &s->rank));
  PetscCall(PetscStrncpy(s->dir, dir, sizeof(s->dir)));
  PetscCall(PetscSNPrintf(s->tasksdir, sizeof(s->tasksdir), "%s/tasks", dir));
  PetscCall(PetscSNPrintf(s->faileddir, sizeof(s->faileddir), "%s/failed", dir));
  if (s->rank == 0) {
    PetscCall(SpdMkdirP_Private(s->tasksdir, &err));
    if (!err) PetscCall(SpdMkdirP_Private(s->faileddir, &err));
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PetscCheck(!err, comm, PETSC_ERR_FILE_OPEN, "Cannot create the results folder %s: %s; choose another folder with -o", dir, strerror(err));
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
static PetscErrorCode SpdStoreReadFailure_Private(SpdStore s, const char id[], char **msg)
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

/* A 1-D dataset of variable-length UTF-8 strings (serial file). */
static PetscErrorCode SpdWriteStrings_Private(hid_t loc, const char path[], PetscInt n, const char *const v[])
{
  hid_t   type, space, dset, lcpl;
  hsize_t dim = (hsize_t)n;

  PetscFunctionBegin;
  SpdCallH5Return(type, H5Tcopy, (H5T_C_S1));
  SpdCallH5(H5Tset_size, (type, H5T_VARIABLE));
  SpdCallH5(H5Tset_cset, (type, H5T_CSET_UTF8));
  SpdCallH5Return(lcpl, H5Pcreate, (H5P_LINK_CREATE));
  SpdCallH5(H5Pset_create_intermediate_group, (lcpl, 1));
  SpdCallH5Return(space, H5Screate_simple, (1, &dim, NULL));
  SpdCallH5Return(dset, H5Dcreate2, (loc, path, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT));
  if (n > 0) SpdCallH5(H5Dwrite, (dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v));
  SpdCallH5(H5Dclose, (dset));
  SpdCallH5(H5Sclose, (space));
  SpdCallH5(H5Pclose, (lcpl));
  SpdCallH5(H5Tclose, (type));
  PetscFunctionReturn(0);
}

/* A 1-D int64 dataset (serial file). */
static PetscErrorCode SpdWriteInt64_Private(hid_t loc, const char path[], PetscInt n, const PetscInt64 v[])
{
  hid_t   space, dset, lcpl;
  hsize_t dim = (hsize_t)n;

  PetscFunctionBegin;
  SpdCallH5Return(lcpl, H5Pcreate, (H5P_LINK_CREATE));
  SpdCallH5(H5Pset_create_intermediate_group, (lcpl, 1));
  SpdCallH5Return(space, H5Screate_simple, (1, &dim, NULL));
  SpdCallH5Return(dset, H5Dcreate2, (loc, path, H5T_STD_I64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT));
  if (n > 0) SpdCallH5(H5Dwrite, (dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v));
  SpdCallH5(H5Dclose, (dset));
  SpdCallH5(H5Sclose, (space));
  SpdCallH5(H5Pclose, (lcpl));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdWriteAttrString_Private(hid_t loc, const char name[], const char value[])
{
  hid_t       type, space, attr;
  const char *v = value;

  PetscFunctionBegin;
  SpdCallH5Return(type, H5Tcopy, (H5T_C_S1));
  SpdCallH5(H5Tset_size, (type, H5T_VARIABLE));
  SpdCallH5(H5Tset_cset, (type, H5T_CSET_UTF8));
  SpdCallH5Return(space, H5Screate, (H5S_SCALAR));
  SpdCallH5Return(attr, H5Acreate2, (loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
  SpdCallH5(H5Awrite, (attr, type, &v));
  SpdCallH5(H5Aclose, (attr));
  SpdCallH5(H5Sclose, (space));
  SpdCallH5(H5Tclose, (type));
  PetscFunctionReturn(0);
}

/* The index: /checkpoints/<label>/<analysed name> are external links to the task
   files' root groups; the tasks group is the status table of every planned task;
   skipped/ and checkpoint_errors/ list what was not analysed and why. */
static PetscErrorCode SpdStoreWriteIndex_Private(SpdStore s, SpdPlan plan)
{
  SpdJob       job = plan->job;
  char         tmp[PETSC_MAX_PATH_LEN], final[PETSC_MAX_PATH_LEN], versions[1024], when[64];
  hid_t        file, lcpl;
  const char **ids, **names, **labels, **status, **msgs, **files;
  char       **owned;
  PetscInt     nt  = plan->ntasks;
  time_t       now = time(NULL);

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(final, sizeof(final), "%s/index.h5", s->dir));
  /* one temporary name per writer: slices of a study (SLURM array jobs) may write the
     index at the same time; each rename is atomic and the last one wins */
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s/index.h5.tmp.%ld", s->dir, (long)getpid()));
  SpdCallH5Return(file, H5Fcreate, (tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  PetscCall(SpdLibraryVersions(versions, sizeof(versions)));
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  PetscCall(SpdWriteAttrString_Private(file, "specdyn_version", SpdVersion()));
  PetscCall(SpdWriteAttrString_Private(file, "git_revision", SpdGitRevision()));
  PetscCall(SpdWriteAttrString_Private(file, "library_versions", versions));
  PetscCall(SpdWriteAttrString_Private(file, "study", job->name));
  PetscCall(SpdWriteAttrString_Private(file, "job_path", job->path));
  PetscCall(SpdWriteAttrString_Private(file, "job_text", job->text ? job->text : ""));
  PetscCall(SpdWriteAttrString_Private(file, "written", when));

  SpdCallH5Return(lcpl, H5Pcreate, (H5P_LINK_CREATE));
  SpdCallH5(H5Pset_create_intermediate_group, (lcpl, 1));
  PetscCall(PetscMalloc6(nt, &ids, nt, &names, nt, &labels, nt, &status, nt, &msgs, nt, &files));
  PetscCall(PetscCalloc1(nt, &owned));
  for (PetscInt i = 0; i < nt; i++) {
    const SpdTask *t = &plan->tasks[i];
    PetscBool      done;
    char          *msg;

    ids[i]    = t->id;
    names[i]  = t->view.name;
    labels[i] = job->checkpoints[t->checkpoint].label;
    msgs[i]   = "";
    files[i]  = "";
    PetscCall(SpdStoreTaskDone(s, t->id, &done));
    PetscCall(SpdStoreReadFailure_Private(s, t->id, &msg));
    if (done) {
      char link[2 * SPD_MAX_NAME], target[PETSC_MAX_PATH_LEN];

      status[i] = "done";
      PetscCall(PetscSNPrintf(target, sizeof(target), "tasks/%s.h5", t->id));
      PetscCall(PetscStrallocpy(target, &owned[i]));
      files[i] = owned[i];
      PetscCall(PetscSNPrintf(link, sizeof(link), "/checkpoints/%s/%s", labels[i], t->view.name));
      /* a name that clashes with an existing group or link is kept flat */
      H5E_BEGIN_TRY
      {
        if (H5Lcreate_external(target, "/", file, link, lcpl, H5P_DEFAULT) < 0) {
          for (char *c = link + strlen("/checkpoints/") + strlen(labels[i]) + 1; *c; c++)
            if (*c == '/') *c = '|';
          (void)H5Lcreate_external(target, "/", file, link, lcpl, H5P_DEFAULT);
        }
      }
      H5E_END_TRY;
      PetscCall(PetscFree(msg));
    } else if (t->refused) {
      status[i] = "refused";
      msgs[i]   = t->reason;
      PetscCall(PetscFree(msg));
    } else if (msg) {
      status[i] = "failed";
      owned[i]  = msg;
      msgs[i]   = msg;
    } else
      status[i] = "pending";
  }
  PetscCall(SpdWriteStrings_Private(file, "tasks/id", nt, ids));
  PetscCall(SpdWriteStrings_Private(file, "tasks/name", nt, names));
  PetscCall(SpdWriteStrings_Private(file, "tasks/checkpoint", nt, labels));
  {
    const char **runs;
    PetscInt64  *steps;
    PetscCall(PetscMalloc2(nt, &runs, nt, &steps));
    for (PetscInt i = 0; i < nt; i++) {
      runs[i]  = job->checkpoints[plan->tasks[i].checkpoint].run;
      steps[i] = job->checkpoints[plan->tasks[i].checkpoint].step;
    }
    PetscCall(SpdWriteStrings_Private(file, "tasks/run", nt, runs));
    PetscCall(SpdWriteInt64_Private(file, "tasks/step", nt, steps));
    PetscCall(PetscFree2(runs, steps));
  }
  PetscCall(SpdWriteStrings_Private(file, "tasks/status", nt, status));
  PetscCall(SpdWriteStrings_Private(file, "tasks/message", nt, msgs));
  PetscCall(SpdWriteStrings_Private(file, "tasks/file", nt, files));
  for (PetscInt i = 0; i < nt; i++) PetscCall(PetscFree(owned[i]));
  PetscCall(PetscFree(owned));
  PetscCall(PetscFree6(ids, names, labels, status, msgs, files));

  {
    PetscInt     ns = plan->nskipped, nc = job->ncheckpoints, ne = 0;
    const char **a, **b, **c;

    PetscCall(PetscMalloc3(ns + nc, &a, ns + nc, &b, ns + nc, &c));
    for (PetscInt i = 0; i < ns; i++) {
      a[i] = plan->skipped[i].name;
      b[i] = plan->skipped[i].file;
      c[i] = plan->skipped[i].why;
    }
    PetscCall(SpdWriteStrings_Private(file, "skipped/name", ns, a));
    PetscCall(SpdWriteStrings_Private(file, "skipped/file", ns, b));
    PetscCall(SpdWriteStrings_Private(file, "skipped/reason", ns, c));
    for (PetscInt i = 0; i < nc; i++) {
      a[i] = job->checkpoints[i].label;
      b[i] = job->checkpoints[i].path;
      if (plan->errors && plan->errors[i]) c[ne++] = plan->errors[i];
    }
    PetscCall(SpdWriteStrings_Private(file, "checkpoints_list/label", nc, a));
    PetscCall(SpdWriteStrings_Private(file, "checkpoints_list/path", nc, b));
    {
      PetscInt64 *steps;
      PetscCall(PetscMalloc1(nc, &steps));
      for (PetscInt i = 0; i < nc; i++) {
        a[i]     = job->checkpoints[i].run;
        steps[i] = job->checkpoints[i].step;
      }
      PetscCall(SpdWriteStrings_Private(file, "checkpoints_list/run", nc, a));
      PetscCall(SpdWriteInt64_Private(file, "checkpoints_list/step", nc, steps));
      PetscCall(PetscFree(steps));
    }
    for (PetscInt i = 0, j = 0; i < nc; i++)
      if (plan->errors && plan->errors[i]) {
        a[j]   = job->checkpoints[i].label;
        b[j++] = job->checkpoints[i].path;
      }
    PetscCall(SpdWriteStrings_Private(file, "checkpoint_errors/label", ne, a));
    PetscCall(SpdWriteStrings_Private(file, "checkpoint_errors/path", ne, b));
    PetscCall(SpdWriteStrings_Private(file, "checkpoint_errors/message", ne, c));
    PetscCall(PetscFree3(a, b, c));
  }
  SpdCallH5(H5Pclose, (lcpl));
  SpdCallH5(H5Fclose, (file));
  PetscCheck(rename(tmp, final) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot rename %s to %s: %s", tmp, final, strerror(errno));
  PetscCall(SpdStoreSyncDir_Private(s->dir));
  PetscFunctionReturn(0);
}

/*@C
  SpdStoreWriteIndex - write index.h5: external links to every completed task and the
  status of every planned task

  Collective; rank 0 writes
@*/
PetscErrorCode SpdStoreWriteIndex(SpdStore s, SpdPlan plan)
{
  PetscErrorCode ierr = 0;

  PetscFunctionBegin;
  if (s->rank == 0) ierr = SpdStoreWriteIndex_Private(s, plan);
  PetscCallMPI(MPI_Bcast(&ierr, 1, MPI_INT, 0, s->comm));
  PetscCheck(!ierr, s->comm, PETSC_ERR_FILE_WRITE, "Writing %s/index.h5 failed; the task files in %s are intact", s->dir, s->tasksdir);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreDestroy(SpdStore *s)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}
