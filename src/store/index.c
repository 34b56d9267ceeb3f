/* index.h5: the study as one HDF5 tree, written by rank 0 through a temporary name.
   External links present every stored task under /checkpoints (and /differences);
   tables list every planned task and comparison with its status; /trajectories holds
   each run's scalars and spectra over steps (trajectories.c); the comparisons table
   (comparisons.c) carries each comparison's headline numbers. */
#include <specdyn/private/storeimpl.h>
#include <specdyn/private/h5util.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

/* A 1-D dataset of variable-length UTF-8 strings (serial file). */
PetscErrorCode SpdWriteStrings_Private(hid_t loc, const char path[], PetscInt n, const char *const v[])
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
PetscErrorCode SpdWriteInt64_Private(hid_t loc, const char path[], PetscInt n, const PetscInt64 v[])
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

PetscErrorCode SpdWriteAttrString_Private(hid_t loc, const char name[], const char value[])
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
static PetscErrorCode SpdStoreWriteIndexContents_Private(SpdStore s, SpdPlan plan, hid_t file)
{
  SpdJob       job = plan->job;
  char         versions[1024], when[64];
  hid_t        lcpl;
  const char **ids, **names, **labels, **status, **msgs, **files;
  char       **owned, **ownlabels;
  PetscInt     nt  = plan->ntasks;
  time_t       now = time(NULL);

  PetscFunctionBegin;
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
  PetscCall(PetscCalloc1(nt, &ownlabels));
  for (PetscInt i = 0; i < nt; i++) {
    const SpdTask *t = &plan->tasks[i];
    PetscBool      done;
    char          *msg;
    char           label[260];

    PetscCall(SpdTaskLabel(plan, t, label, sizeof(label)));
    PetscCall(PetscStrallocpy(label, &ownlabels[i]));
    ids[i]    = t->id;
    names[i]  = t->view.name;
    labels[i] = ownlabels[i];
    msgs[i]   = "";
    files[i]  = "";
    PetscCall(SpdStoreTaskDone(s, t->id, &done));
    PetscCall(SpdStoreReadFailure_Private(s, t->id, &msg));
    if (done) {
      char   link[2 * SPD_MAX_NAME + 300], target[PETSC_MAX_PATH_LEN];
      size_t flat;

      status[i] = "done";
      PetscCall(PetscSNPrintf(target, sizeof(target), "tasks/%s.h5", t->id));
      PetscCall(PetscStrallocpy(target, &owned[i]));
      files[i] = owned[i];
      if (t->checkpoint_b >= 0)
        PetscCall(PetscSNPrintf(link, sizeof(link), "/differences/%s/minus/%s/", job->checkpoints[t->checkpoint].label, job->checkpoints[t->checkpoint_b].label));
      else
        PetscCall(PetscSNPrintf(link, sizeof(link), "/checkpoints/%s/", labels[i]));
      flat = strlen(link);
      PetscCall(PetscStrlcat(link, t->view.name, sizeof(link)));
      /* a name that clashes with an existing group or link is kept flat */
      H5E_BEGIN_TRY
      {
        if (H5Lcreate_external(target, "/", file, link, lcpl, H5P_DEFAULT) < 0) {
          for (char *c = link + flat; *c; c++)
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
      PetscInt c = plan->tasks[i].checkpoint; /* -1: a random Jacobian ensemble */
      runs[i]    = c >= 0 ? job->checkpoints[c].run : "";
      steps[i]   = c >= 0 ? job->checkpoints[c].step : -1;
    }
    PetscCall(SpdWriteStrings_Private(file, "tasks/run", nt, runs));
    PetscCall(SpdWriteInt64_Private(file, "tasks/step", nt, steps));
    PetscCall(PetscFree2(runs, steps));
  }
  PetscCall(SpdWriteStrings_Private(file, "tasks/status", nt, status));
  PetscCall(SpdWriteStrings_Private(file, "tasks/message", nt, msgs));
  PetscCall(SpdWriteStrings_Private(file, "tasks/file", nt, files));
  {
    const char **kinds, **minus;
    PetscCall(PetscMalloc2(nt, &kinds, nt, &minus));
    for (PetscInt i = 0; i < nt; i++) {
      kinds[i] = plan->tasks[i].checkpoint_b >= 0 ? "difference" : "weights";
      minus[i] = plan->tasks[i].checkpoint_b >= 0 ? job->checkpoints[plan->tasks[i].checkpoint_b].label : "";
    }
    PetscCall(SpdWriteStrings_Private(file, "tasks/kind", nt, kinds));
    PetscCall(SpdWriteStrings_Private(file, "tasks/minus_checkpoint", nt, minus));
    PetscCall(PetscFree2(kinds, minus));
  }
  for (PetscInt i = 0; i < nt; i++) PetscCall(PetscFree(owned[i]));
  for (PetscInt i = 0; i < nt; i++) PetscCall(PetscFree(ownlabels[i]));
  PetscCall(PetscFree(owned));
  PetscCall(PetscFree(ownlabels));
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
  PetscCall(SpdIndexWriteComparisons_Private(s, plan, file));
  PetscCall(SpdIndexWriteTrajectories_Private(s, plan, file));
  SpdCallH5(H5Pclose, (lcpl));
  PetscFunctionReturn(0);
}

/* index.h5 through a temporary name per writer: slices of a study (SLURM array jobs)
   may write the index at the same time; each rename is atomic and the last one wins.
   On an error (a full disk) everything still open is closed and the temporary file
   removed: the previous index.h5 stays as it was. */
static PetscErrorCode SpdStoreWriteIndex_Private(SpdStore s, SpdPlan plan)
{
  char           tmp[PETSC_MAX_PATH_LEN], final[PETSC_MAX_PATH_LEN];
  hid_t          file;
  PetscErrorCode ierr;
  PetscBool      closed;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(final, sizeof(final), "%s/index.h5", s->dir));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s/index.h5.tmp.%ld", s->dir, (long)getpid()));
  PetscCall(SpdStoreCheckSpace_Private(s->dir, tmp));
  H5E_BEGIN_TRY { file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT); }
  H5E_END_TRY;
  if (file < 0) (void)unlink(tmp);
  PetscCheck(file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot create %s (%s); is the disk full or the folder read-only?", tmp, strerror(errno));
  ierr   = SpdStoreWriteIndexContents_Private(s, plan, file);
  closed = SpdH5CloseFile(file);
  if (ierr || !closed) (void)unlink(tmp);
  PetscCall(ierr);
  PetscCheck(closed, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Writing %s failed while closing it (%s); is the disk full or the quota exceeded? The previous index.h5 is unchanged", tmp, strerror(errno));
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
