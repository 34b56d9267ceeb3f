/* The comparisons table of index.h5 (/comparisons): one row per planned comparison with
   both sides, its status and the headline numbers read back from comparisons/<id>.h5
   (attributes of its `summary` group; NaN when the comparison is not stored or the
   number does not apply to its relation). Written by rank 0 with serial HDF5. */
#include <specdyn/private/storeimpl.h>

const char *const SpdComparisonSummaryNames[] = { "agreement_top", "agreement_diag_mean", "overlap_U", "overlap_V", "angle_U_max", "angle_V_max", "alignment_top", "alignment_diag_mean", "overlap", "angle_max", NULL };

PetscErrorCode SpdWriteReals_Private(hid_t loc, const char path[], PetscInt m, PetscInt n, const PetscReal v[])
{
  hid_t   space, dset, lcpl;
  hsize_t dims[2] = { (hsize_t)m, (hsize_t)n };

  PetscFunctionBegin;
  SpdCallH5Return(lcpl, H5Pcreate, (H5P_LINK_CREATE));
  SpdCallH5(H5Pset_create_intermediate_group, (lcpl, 1));
  SpdCallH5Return(space, H5Screate_simple, (n > 0 ? 2 : 1, dims, NULL));
  SpdCallH5Return(dset, H5Dcreate2, (loc, path, H5T_IEEE_F64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT));
  if (m > 0 && (n > 0 || n < 0)) SpdCallH5(H5Dwrite, (dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v));
  SpdCallH5(H5Dclose, (dset));
  SpdCallH5(H5Sclose, (space));
  SpdCallH5(H5Pclose, (lcpl));
  PetscFunctionReturn(0);
}

/* Read the summary numbers of one stored comparison into row[] (NaN where absent). */
static PetscErrorCode SpdReadSummary_Private(const char fname[], PetscInt nsum, PetscReal row[], PetscInt64 *k)
{
  hid_t file;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < nsum; j++) row[j] = NAN;
  H5E_BEGIN_TRY { file = H5Fopen(fname, H5F_ACC_RDONLY, H5P_DEFAULT); }
  H5E_END_TRY;
  if (file < 0) PetscFunctionReturn(0); /* listed as done by name; an unreadable file keeps NaN */
  H5E_BEGIN_TRY
  {
    for (PetscInt j = 0; j < nsum; j++) {
      hid_t a = H5Aopen_by_name(file, "summary", SpdComparisonSummaryNames[j], H5P_DEFAULT, H5P_DEFAULT);
      if (a < 0) continue;
      (void)H5Aread(a, H5T_NATIVE_DOUBLE, &row[j]);
      (void)H5Aclose(a);
    }
    {
      hid_t a = H5Aopen_by_name(file, "/", "k", H5P_DEFAULT, H5P_DEFAULT);
      if (a >= 0) {
        (void)H5Aread(a, H5T_NATIVE_INT64, k);
        (void)H5Aclose(a);
      }
    }
  }
  H5E_END_TRY;
  (void)H5Fclose(file);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdIndexWriteComparisons_Private(SpdStore s, SpdPlan plan, hid_t file)
{
  SpdJob                   job = plan->job;
  PetscInt                 nc = plan->ncomparisons, nsum = 0;
  const char             **cols[11];
  PetscInt64              *steps_a, *steps_b, *ks;
  PetscReal               *sum;
  char                   **owned;
  static const char *const names[11] = { "id", "relation", "spaces", "name_a", "name_b", "checkpoint_a", "checkpoint_b", "run_a", "run_b", "status", "file" };

  PetscFunctionBegin;
  if (!job->compare.enabled && !nc) PetscFunctionReturn(0);
  while (SpdComparisonSummaryNames[nsum]) nsum++;
  for (int c = 0; c < 11; c++) PetscCall(PetscMalloc1(nc + 1, &cols[c]));
  PetscCall(PetscMalloc4(nc + 1, &steps_a, nc + 1, &steps_b, nc + 1, &ks, (size_t)nsum * nc + 1, &sum));
  PetscCall(PetscCalloc1(nc + 1, &owned));
  for (PetscInt i = 0; i < nc; i++) {
    const SpdComparison    *cm = &plan->comparisons[i];
    const SpdTask          *a = &plan->tasks[cm->a], *b = &plan->tasks[cm->b];
    const SpdJobCheckpoint *ca = &job->checkpoints[a->checkpoint], *cb = &job->checkpoints[b->checkpoint];
    PetscBool               done, da, db;
    PetscReal              *row = sum + (size_t)i * nsum;
    char                    fname[PETSC_MAX_PATH_LEN];

    cols[0][i] = cm->id;
    cols[1][i] = SpdCompareRelationNames[cm->relation];
    cols[2][i] = cm->relation == SPD_CMP_LAYERS ? SpdSpacesNames[cm->spaces] : (cm->eigen ? "eigen" : "");
    cols[3][i] = a->view.name;
    cols[4][i] = b->view.name;
    cols[5][i] = ca->label;
    cols[6][i] = cb->label;
    cols[7][i] = ca->run;
    cols[8][i] = cb->run;
    steps_a[i] = ca->step;
    steps_b[i] = cb->step;
    ks[i]      = cm->k;
    PetscCall(SpdStoreComparisonDone(s, cm->id, &done));
    PetscCall(SpdStoreTaskDone(s, a->id, &da));
    PetscCall(SpdStoreTaskDone(s, b->id, &db));
    cols[9][i]  = done ? "done" : (da && db) ? "pending"
                                             : "waiting";
    cols[10][i] = "";
    for (PetscInt j = 0; j < nsum; j++) row[j] = NAN;
    if (done) {
      PetscCall(PetscSNPrintf(fname, sizeof(fname), "comparisons/%s.h5", cm->id));
      PetscCall(PetscStrallocpy(fname, &owned[i]));
      cols[10][i] = owned[i];
      PetscCall(PetscSNPrintf(fname, sizeof(fname), "%s/%s.h5", s->comparisonsdir, cm->id));
      PetscCall(SpdReadSummary_Private(fname, nsum, row, &ks[i]));
    }
  }
  for (int c = 0; c < 11; c++) {
    char path[64];
    PetscCall(PetscSNPrintf(path, sizeof(path), "comparisons/%s", names[c]));
    PetscCall(SpdWriteStrings_Private(file, path, nc, cols[c]));
  }
  PetscCall(SpdWriteInt64_Private(file, "comparisons/step_a", nc, steps_a));
  PetscCall(SpdWriteInt64_Private(file, "comparisons/step_b", nc, steps_b));
  PetscCall(SpdWriteInt64_Private(file, "comparisons/k", nc, ks));
  {
    PetscReal *colv;
    PetscCall(PetscMalloc1(nc + 1, &colv));
    for (PetscInt j = 0; j < nsum; j++) {
      char path[96];
      for (PetscInt i = 0; i < nc; i++) colv[i] = sum[(size_t)i * nsum + j];
      PetscCall(PetscSNPrintf(path, sizeof(path), "comparisons/%s", SpdComparisonSummaryNames[j]));
      PetscCall(SpdWriteReals_Private(file, path, nc, -1, colv));
    }
    PetscCall(PetscFree(colv));
  }
  for (PetscInt i = 0; i < nc; i++) PetscCall(PetscFree(owned[i]));
  PetscCall(PetscFree(owned));
  for (int c = 0; c < 11; c++) PetscCall(PetscFree(cols[c]));
  PetscCall(PetscFree4(steps_a, steps_b, ks, sum));
  PetscFunctionReturn(0);
}
