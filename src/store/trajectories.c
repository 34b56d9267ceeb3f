/* /trajectories in index.h5: for every run and analysed name, the stored results of its
   checkpoints in step order, as arrays over steps:
     /trajectories/<run>/<name>/step            int64[T]
     /trajectories/<run>/<name>/checkpoint      string[T] (labels)
     /trajectories/<run>/<name>/<metric>        float64[T], every attribute of `metrics`
     /trajectories/<run>/<name>/top_sigma       float64[T x k], NaN-padded
     /trajectories/<run>/<name>/full_sigma      float64[T x min(m,n)], when every step has it
   Only tasks of runs (job key runs:) that are stored; differences are not trajectories.
   Read back from the task files by rank 0 (small: scalars and spectra). */
#include <specdyn/private/storeimpl.h>

static SpdPlan SpdTrajPlan_Private; /* qsort has no context argument */

static int SpdTrajCompare_Private(const void *x, const void *y)
{
  const SpdTask *a = &SpdTrajPlan_Private->tasks[*(const PetscInt *)x], *b = &SpdTrajPlan_Private->tasks[*(const PetscInt *)y];
  const SpdJob   job = SpdTrajPlan_Private->job;
  int            c;

  if ((c = strcmp(job->checkpoints[a->checkpoint].run, job->checkpoints[b->checkpoint].run))) return c;
  if ((c = strcmp(a->view.name, b->view.name))) return c;
  return (a->checkpoint > b->checkpoint) - (a->checkpoint < b->checkpoint); /* job order = step order */
}

/* Length of a 1-D dataset, or -1 when absent. */
static PetscInt SpdTrajLength_Private(hid_t file, const char path[])
{
  hid_t   d, sp;
  hsize_t n = 0;
  int     nd;

  H5E_BEGIN_TRY { d = H5Dopen2(file, path, H5P_DEFAULT); }
  H5E_END_TRY;
  if (d < 0) return -1;
  sp = H5Dget_space(d);
  nd = H5Sget_simple_extent_dims(sp, &n, NULL);
  H5Sclose(sp);
  H5Dclose(d);
  return nd == 1 ? (PetscInt)n : -1;
}

static PetscErrorCode SpdTrajRead_Private(hid_t file, const char path[], PetscInt n, PetscReal *v)
{
  hid_t d;

  PetscFunctionBegin;
  SpdCallH5Return(d, H5Dopen2, (file, path, H5P_DEFAULT));
  SpdCallH5(H5Dread, (d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v));
  SpdCallH5(H5Dclose, (d));
  PetscFunctionReturn(0);
}

typedef struct {
  PetscInt n, cap;
  char   **names;
} SpdNameList;

static herr_t SpdTrajAttrName_Private(hid_t loc, const char *name, const H5A_info_t *info, void *ctx)
{
  SpdNameList *l = (SpdNameList *)ctx;
  (void)loc;
  (void)info;
  if (l->n == l->cap) {
    l->cap = PetscMax(32, 2 * l->cap);
    if (PetscRealloc(sizeof(char *) * (size_t)l->cap, &l->names)) return -1;
  }
  if (PetscStrallocpy(name, &l->names[l->n])) return -1;
  l->n++;
  return 0;
}

/* One trajectory: tasks idx[0..T) of one run and name, in step order. */
static PetscErrorCode SpdTrajWrite_Private(SpdStore s, SpdPlan plan, hid_t out, const PetscInt idx[], PetscInt T)
{
  SpdJob         job = plan->job;
  const SpdTask *t0  = &plan->tasks[idx[0]];
  hid_t         *files;
  char           base[SPD_MAX_NAME + 300], path[SPD_MAX_NAME + 400];
  SpdNameList    metrics = { 0, 0, NULL };
  PetscInt       ktop = 0, nfull = -1;
  PetscReal     *v;
  PetscInt64    *steps;
  const char   **labels;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(base, sizeof(base), "trajectories/%s/%s", job->checkpoints[t0->checkpoint].run, t0->view.name));
  PetscCall(PetscMalloc3(T, &files, T, &steps, T, &labels));
  for (PetscInt j = 0; j < T; j++) {
    char           fname[PETSC_MAX_PATH_LEN];
    const SpdTask *t = &plan->tasks[idx[j]];
    PetscInt       nt, nf;

    PetscCall(PetscSNPrintf(fname, sizeof(fname), "%s/%s.h5", s->tasksdir, t->id));
    SpdCallH5Return(files[j], H5Fopen, (fname, H5F_ACC_RDONLY, H5P_DEFAULT));
    steps[j]  = job->checkpoints[t->checkpoint].step;
    labels[j] = job->checkpoints[t->checkpoint].label;
    nt        = SpdTrajLength_Private(files[j], "top/sigma");
    nf        = SpdTrajLength_Private(files[j], "full/sigma");
    ktop      = PetscMax(ktop, nt);
    nfull     = j == 0 ? nf : (nf == nfull ? nfull : -1);
  }
  SpdCallH5(H5Aiterate_by_name, (files[0], "metrics", H5_INDEX_NAME, H5_ITER_INC, NULL, SpdTrajAttrName_Private, &metrics, H5P_DEFAULT));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/step", base));
  PetscCall(SpdWriteInt64_Private(out, path, T, steps));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/checkpoint", base));
  PetscCall(SpdWriteStrings_Private(out, path, T, labels));
  PetscCall(PetscMalloc1((size_t)T * (size_t)PetscMax(PetscMax(ktop, nfull), 1), &v));
  for (PetscInt a = 0; a < metrics.n; a++) {
    for (PetscInt j = 0; j < T; j++) {
      hid_t at;
      v[j] = NAN;
      H5E_BEGIN_TRY { at = H5Aopen_by_name(files[j], "metrics", metrics.names[a], H5P_DEFAULT, H5P_DEFAULT); }
      H5E_END_TRY;
      if (at < 0) continue;
      SpdCallH5(H5Aread, (at, H5T_NATIVE_DOUBLE, &v[j]));
      SpdCallH5(H5Aclose, (at));
    }
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", base, metrics.names[a]));
    PetscCall(SpdWriteReals_Private(out, path, T, -1, v));
  }
  if (ktop > 0) {
    for (PetscInt j = 0; j < T; j++) {
      PetscInt   nt  = SpdTrajLength_Private(files[j], "top/sigma");
      PetscReal *row = v + (size_t)j * ktop;
      for (PetscInt i = 0; i < ktop; i++) row[i] = NAN;
      if (nt > 0) PetscCall(SpdTrajRead_Private(files[j], "top/sigma", nt, row));
    }
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/top_sigma", base));
    PetscCall(SpdWriteReals_Private(out, path, T, ktop, v));
  }
  if (nfull > 0) {
    for (PetscInt j = 0; j < T; j++) PetscCall(SpdTrajRead_Private(files[j], "full/sigma", nfull, v + (size_t)j * nfull));
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/full_sigma", base));
    PetscCall(SpdWriteReals_Private(out, path, T, nfull, v));
  }
  for (PetscInt j = 0; j < T; j++) SpdCallH5(H5Fclose, (files[j]));
  for (PetscInt a = 0; a < metrics.n; a++) PetscCall(PetscFree(metrics.names[a]));
  PetscCall(PetscFree(metrics.names));
  PetscCall(PetscFree(v));
  PetscCall(PetscFree3(files, steps, labels));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdIndexWriteTrajectories_Private(SpdStore s, SpdPlan plan, hid_t file)
{
  SpdJob    job = plan->job;
  PetscInt *idx, n = 0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(plan->ntasks + 1, &idx));
  for (PetscInt i = 0; i < plan->ntasks; i++) {
    const SpdTask *t = &plan->tasks[i];
    PetscBool      done;
    if (t->checkpoint_b >= 0 || t->checkpoint < 0 || !job->checkpoints[t->checkpoint].run[0]) continue;
    PetscCall(SpdStoreTaskDone(s, t->id, &done));
    if (done) idx[n++] = i;
  }
  SpdTrajPlan_Private = plan;
  qsort(idx, (size_t)n, sizeof(PetscInt), SpdTrajCompare_Private);
  SpdTrajPlan_Private = NULL;
  for (PetscInt i = 0; i < n;) {
    const SpdTask *a = &plan->tasks[idx[i]];
    PetscInt       j = i + 1;
    while (j < n && !strcmp(plan->tasks[idx[j]].view.name, a->view.name) && !strcmp(job->checkpoints[plan->tasks[idx[j]].checkpoint].run, job->checkpoints[a->checkpoint].run)) j++;
    PetscCall(SpdTrajWrite_Private(s, plan, file, idx + i, j - i));
    i = j;
  }
  PetscCall(PetscFree(idx));
  PetscFunctionReturn(0);
}
