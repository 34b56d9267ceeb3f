/* `specdyn export`: one CSV row per analysed matrix with every scalar metric, read
   from a results folder (index.h5 and the task files it lists). No recomputation. */
#include <specdyn/private/storeimpl.h>
#include <specdyn/private/h5util.h>

/* Read a 1-D variable-length string dataset. */
static PetscErrorCode SpdReadStrings_Private(hid_t file, const char path[], PetscInt *n, char ***v)
{
  hid_t    dset, space, type;
  hssize_t np;

  PetscFunctionBegin;
  SpdCallH5Return(dset, H5Dopen2, (file, path, H5P_DEFAULT));
  SpdCallH5Return(space, H5Dget_space, (dset));
  np = H5Sget_simple_extent_npoints(space);
  SpdCallH5Return(type, H5Tcopy, (H5T_C_S1));
  SpdCallH5(H5Tset_size, (type, H5T_VARIABLE));
  SpdCallH5(H5Tset_cset, (type, H5T_CSET_UTF8));
  PetscCall(PetscCalloc1(np + 1, v));
  if (np > 0) SpdCallH5(H5Dread, (dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v));
  *n = (PetscInt)np;
  SpdCallH5(H5Tclose, (type));
  SpdCallH5(H5Sclose, (space));
  SpdCallH5(H5Dclose, (dset));
  PetscFunctionReturn(0);
}

/* Read a 1-D int64 dataset of n entries. */
/* Read a 1-D numeric dataset of n entries as memtype (elements of `size` bytes). */
static PetscErrorCode SpdReadNumbers_Private(hid_t file, const char path[], PetscInt n, hid_t memtype, size_t size, void **v)
{
  hid_t    dset, space;
  hssize_t np;

  PetscFunctionBegin;
  SpdCallH5Return(dset, H5Dopen2, (file, path, H5P_DEFAULT));
  SpdCallH5Return(space, H5Dget_space, (dset));
  np = H5Sget_simple_extent_npoints(space);
  PetscCheck(np == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s has %lld entries, its table %" PetscInt_FMT "; the index is damaged, rerun the job to rewrite it", path, (long long)np, n);
  PetscCall(PetscCalloc((size_t)(n + 1) * size, v));
  if (n > 0) SpdCallH5(H5Dread, (dset, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *v));
  SpdCallH5(H5Sclose, (space));
  SpdCallH5(H5Dclose, (dset));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdReadInt64_Private(hid_t file, const char path[], PetscInt n, PetscInt64 **v)
{
  PetscFunctionBegin;
  PetscCall(SpdReadNumbers_Private(file, path, n, H5T_NATIVE_INT64, sizeof(PetscInt64), (void **)v));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdReadReals_Private(hid_t file, const char path[], PetscInt n, PetscReal **v)
{
  PetscFunctionBegin;
  PetscCall(SpdReadNumbers_Private(file, path, n, H5T_NATIVE_DOUBLE, sizeof(PetscReal), (void **)v));
  PetscFunctionReturn(0);
}

static void SpdFreeStrings_Private(PetscInt n, char **v)
{
  for (PetscInt i = 0; i < n; i++) free(v[i]); /* allocated by HDF5 with malloc */
  PetscFree(v);
}

/* Numeric attribute of obj (NaN / missing -> "" in the CSV). */
static PetscErrorCode SpdReadAttrDouble_Private(hid_t file, const char obj[], const char name[], double *v, PetscBool *found)
{
  hid_t attr;

  PetscFunctionBegin;
  *found = PETSC_FALSE;
  if (H5Lexists(file, obj, H5P_DEFAULT) <= 0 && strcmp(obj, "/")) PetscFunctionReturn(0);
  if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) <= 0) PetscFunctionReturn(0);
  SpdCallH5Return(attr, H5Aopen_by_name, (file, obj, name, H5P_DEFAULT, H5P_DEFAULT));
  SpdCallH5(H5Aread, (attr, H5T_NATIVE_DOUBLE, v));
  SpdCallH5(H5Aclose, (attr));
  *found = PETSC_TRUE;
  PetscFunctionReturn(0);
}

static void SpdCSVString_Private(FILE *fp, const char s[])
{
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, fp);
    return;
  }
  fputc('"', fp);
  for (const char *c = s; *c; c++) {
    if (*c == '"') fputc('"', fp);
    fputc(*c, fp);
  }
  fputc('"', fp);
}

/* Columns: where each numeric column comes from in a task file. */
static const struct {
  const char *col, *obj, *attr;
} SpdExportColumns[] = {
  { "m", "/", "m" },
  { "n", "/", "n" },
  { "ranks", "/", "ranks" },
  { "frobenius", "metrics", "frobenius" },
  { "spectral", "metrics", "spectral" },
  { "nuclear", "metrics", "nuclear" },
  { "stable_rank", "metrics", "stable_rank" },
  { "effective_rank", "metrics", "effective_rank" },
  { "numerical_rank", "metrics", "numerical_rank" },
  { "rank_tol", "metrics", "rank_tol" },
  { "sigma_min", "metrics", "sigma_min" },
  { "condition", "metrics", "condition" },
  { "mp_noise", "metrics", "mp_noise" },
  { "mp_edge", "metrics", "mp_edge" },
  { "mp_threshold", "metrics", "mp_threshold" },
  { "mp_outliers", "metrics", "mp_outliers" },
  { "alpha", "metrics", "alpha" },
  { "alpha_xmin", "metrics", "alpha_xmin" },
  { "alpha_ntail", "metrics", "alpha_ntail" },
  { "alpha_ks", "metrics", "alpha_ks" },
  { "top_requested", "top", "requested" },
  { "top_nconv", "top", "nconv" },
  { "top_products", "top", "products" },
  { "top_passes", "top", "passes" },
  { "bottom_requested", "bottom", "requested" },
  { "bottom_nconv", "bottom", "nconv" },
  { "bottom_products", "bottom", "products" },
  { "bottom_passes", "bottom", "passes" },
  { "read_seconds", "timings", "read_seconds" },
  { "full_seconds", "timings", "full_seconds" },
  { "top_seconds", "timings", "top_seconds" },
  { "bottom_seconds", "timings", "bottom_seconds" },
};

/*@C
  SpdExportCSV - write one CSV row per analysed matrix of a results folder

  Not collective

  Input Parameters:
+ results - the results folder (holding index.h5)
- csv     - the CSV file to write ("-" for standard output)

  Notes:
  Columns: checkpoint, run, step (empty when the checkpoint is not part of a run or its
  step is unknown), name, tensor, dtype, status, then every scalar metric (empty
  when unknown), solver counts and timings. Failed and refused tasks get a row with
  their status and message and empty numbers, so that nothing is silently missing.
@*/
PetscErrorCode SpdExportCSV(const char results[], const char csv[])
{
  char         path[PETSC_MAX_PATH_LEN];
  hid_t        index;
  PetscInt     n, n2, n3, n4, n5, n6;
  char       **status, **file, **ckpt, **name, **msg, **run = NULL;
  PetscInt64  *step = NULL;
  FILE        *fp;
  const size_t ncol = sizeof(SpdExportColumns) / sizeof(SpdExportColumns[0]);

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/index.h5", results));
  H5E_BEGIN_TRY { index = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
  H5E_END_TRY;
  PetscCheck(index >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open %s: is %s a specdyn results folder? (run `specdyn run JOB.yaml` first)", path, results);
  PetscCall(SpdReadStrings_Private(index, "tasks/status", &n, &status));
  PetscCall(SpdReadStrings_Private(index, "tasks/file", &n2, &file));
  PetscCall(SpdReadStrings_Private(index, "tasks/checkpoint", &n3, &ckpt));
  PetscCall(SpdReadStrings_Private(index, "tasks/name", &n4, &name));
  PetscCall(SpdReadStrings_Private(index, "tasks/message", &n5, &msg));
  PetscCheck(n == n2 && n == n3 && n == n4 && n == n5, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the /tasks table has columns of different lengths; the index is damaged, rerun the job to rewrite it", path);
  /* run and step: absent from indexes written before runs existed */
  if (H5Lexists(index, "tasks/run", H5P_DEFAULT) > 0 && H5Lexists(index, "tasks/step", H5P_DEFAULT) > 0) {
    PetscCall(SpdReadStrings_Private(index, "tasks/run", &n6, &run));
    PetscCheck(n6 == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the /tasks table has columns of different lengths; the index is damaged, rerun the job to rewrite it", path);
    PetscCall(SpdReadInt64_Private(index, "tasks/step", n, &step));
  }

  if (!strcmp(csv, "-"))
    fp = stdout;
  else
    fp = fopen(csv, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s", csv);
  fprintf(fp, "checkpoint,run,step,name,tensor,dtype,status");
  for (size_t c = 0; c < ncol; c++) fprintf(fp, ",%s", SpdExportColumns[c].col);
  fprintf(fp, ",message\n");
  for (PetscInt i = 0; i < n; i++) {
    char  tensor[SPD_MAX_NAME] = "", dtype[32] = "";
    hid_t tf = -1;

    if (!strcmp(status[i], "done")) {
      PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", results, file[i]));
      H5E_BEGIN_TRY { tf = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
      H5E_END_TRY;
      PetscCheck(tf >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open %s listed in the index as done; the results folder was modified", path);
      char *v;
      PetscCall(SpdH5ReadAttrString(tf, "/", "tensor", &v));
      PetscCall(PetscStrncpy(tensor, v ? v : "", sizeof(tensor)));
      PetscCall(PetscFree(v));
      PetscCall(SpdH5ReadAttrString(tf, "/", "dtype", &v));
      PetscCall(PetscStrncpy(dtype, v ? v : "", sizeof(dtype)));
      PetscCall(PetscFree(v));
    }
    SpdCSVString_Private(fp, ckpt[i]);
    fputc(',', fp);
    SpdCSVString_Private(fp, run && run[i] ? run[i] : "");
    fputc(',', fp);
    if (step && step[i] >= 0) fprintf(fp, "%" PetscInt64_FMT, step[i]);
    fputc(',', fp);
    SpdCSVString_Private(fp, name[i]);
    fputc(',', fp);
    SpdCSVString_Private(fp, tensor);
    fprintf(fp, ",%s,%s", dtype, status[i]);
    for (size_t c = 0; c < ncol; c++) {
      double    v;
      PetscBool found = PETSC_FALSE;
      if (tf >= 0) PetscCall(SpdReadAttrDouble_Private(tf, SpdExportColumns[c].obj, SpdExportColumns[c].attr, &v, &found));
      if (found && !PetscIsNanReal(v))
        fprintf(fp, ",%.17g", v);
      else
        fputc(',', fp);
    }
    fputc(',', fp);
    SpdCSVString_Private(fp, msg[i]);
    fputc('\n', fp);
    if (tf >= 0) SpdCallH5(H5Fclose, (tf));
  }
  if (fp != stdout) fclose(fp);
  SpdFreeStrings_Private(n, status);
  SpdFreeStrings_Private(n, file);
  SpdFreeStrings_Private(n, ckpt);
  SpdFreeStrings_Private(n, name);
  SpdFreeStrings_Private(n, msg);
  if (run) SpdFreeStrings_Private(n, run);
  PetscCall(PetscFree(step));
  SpdCallH5(H5Fclose, (index));
  PetscFunctionReturn(0);
}

/*@C
  SpdExportComparisonsCSV - write one CSV row per planned comparison of a results folder

  Not collective

  Input Parameters:
+ results - the results folder (holding index.h5)
- csv     - the CSV file to write ("-" for standard output)

  Notes:
  Columns: relation, spaces, then checkpoint, run, step and name of each side (a, b),
  k, status, and the headline numbers (SpdComparisonSummaryNames; empty when not stored
  or not defined for the relation). A study without a compare: section has no rows.
@*/
PetscErrorCode SpdExportComparisonsCSV(const char results[], const char csv[])
{
  static const char *const scol[] = { "relation", "spaces", "checkpoint_a", "run_a", "name_a", "checkpoint_b", "run_b", "name_b", "status", "id" };
  enum { NS = sizeof(scol) / sizeof(scol[0]) };
  char        path[PETSC_MAX_PATH_LEN], **s[NS];
  hid_t       index;
  PetscInt    n = 0, nsum = 0;
  PetscInt64 *stepa = NULL, *stepb = NULL, *k = NULL;
  PetscReal **sum;
  FILE       *fp;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/index.h5", results));
  H5E_BEGIN_TRY { index = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
  H5E_END_TRY;
  PetscCheck(index >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open %s: is %s a specdyn results folder? (run `specdyn run JOB.yaml` first)", path, results);
  while (SpdComparisonSummaryNames[nsum]) nsum++;
  PetscCall(PetscCalloc1(nsum, &sum));
  PetscCall(PetscMemzero(s, sizeof(s)));
  if (H5Lexists(index, "comparisons", H5P_DEFAULT) > 0) {
    for (int c = 0; c < NS; c++) {
      PetscInt nc;
      PetscCall(PetscSNPrintf(path, sizeof(path), "comparisons/%s", scol[c]));
      PetscCall(SpdReadStrings_Private(index, path, &nc, &s[c]));
      if (c == 0) n = nc;
      PetscCheck(nc == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s/index.h5: the /comparisons table has columns of different lengths; rerun the job to rewrite it", results);
    }
    PetscCall(SpdReadInt64_Private(index, "comparisons/step_a", n, &stepa));
    PetscCall(SpdReadInt64_Private(index, "comparisons/step_b", n, &stepb));
    PetscCall(SpdReadInt64_Private(index, "comparisons/k", n, &k));
    for (PetscInt j = 0; j < nsum; j++) {
      PetscCall(PetscSNPrintf(path, sizeof(path), "comparisons/%s", SpdComparisonSummaryNames[j]));
      PetscCall(SpdReadReals_Private(index, path, n, &sum[j]));
    }
  }
  fp = strcmp(csv, "-") ? fopen(csv, "w") : stdout;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s", csv);
  fprintf(fp, "relation,spaces,checkpoint_a,run_a,step_a,name_a,checkpoint_b,run_b,step_b,name_b,k,status");
  for (PetscInt j = 0; j < nsum; j++) fprintf(fp, ",%s", SpdComparisonSummaryNames[j]);
  fprintf(fp, ",id\n");
  for (PetscInt i = 0; i < n; i++) {
    for (int c = 0; c < 8; c++) {
      if (c) fputc(',', fp);
      SpdCSVString_Private(fp, s[c][i]);
      if (c == 3 || c == 6) { /* after run_a / run_b: the step */
        PetscInt64 st = c == 3 ? stepa[i] : stepb[i];
        fputc(',', fp);
        if (st >= 0) fprintf(fp, "%" PetscInt64_FMT, st);
      }
    }
    fprintf(fp, ",%" PetscInt64_FMT ",%s", k[i], s[8][i]);
    for (PetscInt j = 0; j < nsum; j++) {
      if (PetscIsNanReal(sum[j][i]))
        fputc(',', fp);
      else
        fprintf(fp, ",%.17g", sum[j][i]);
    }
    fprintf(fp, ",%s\n", s[9][i]);
  }
  if (fp != stdout) fclose(fp);
  for (int c = 0; c < NS; c++)
    if (s[c]) SpdFreeStrings_Private(n, s[c]);
  for (PetscInt j = 0; j < nsum; j++) PetscCall(PetscFree(sum[j]));
  PetscCall(PetscFree(sum));
  PetscCall(PetscFree(stepa));
  PetscCall(PetscFree(stepb));
  PetscCall(PetscFree(k));
  SpdCallH5(H5Fclose, (index));
  PetscFunctionReturn(0);
}
