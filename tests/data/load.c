/* Data layer: HDF5 and IDX loads against NumPy/h5py/gzip references.

   usage: data_load CASES.json

   For every load case written by gen_data.py (HDF5 files of several shapes and types,
   plain and gzipped IDX files, and the real Fashion-MNIST files if installed) the data are
   loaded twice, with the default read batch and with -spd_data_batch_rows 2 (many
   collective transfers / read chunks), and each rank checks its block: sizes, PETSc's
   default split, and every value bit for bit against the reference (for Fashion-MNIST:
   that every value is a byte / 255 and per-sample checksums of the bytes). The same
   checks run at 1, 2 and 4 ranks. */
#include <testutil.h>
#include <cJSON.h>
#include "datatest.h"
#include <math.h>
#include <stdio.h>

static const char help[] = "Checks SpdDataLoadHDF5/SpdDataLoadIDX against NumPy references.\n";

static PetscErrorCode ReadFile(const char path[], size_t esize, size_t n, void **v)
{
  FILE *fp;

  PetscFunctionBegin;
  PetscCall(PetscMalloc(esize * n + 1, v));
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open reference %s", path);
  PetscCheck(fread(*v, esize, n, fp) == n, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "reference %s is shorter than %zu values", path, n);
  fclose(fp);
  PetscFunctionReturn(0);
}

static PetscInt    JInt(const cJSON *c, const char key[]) { return (PetscInt)cJSON_GetObjectItemCaseSensitive(c, key)->valuedouble; }
static const char *JStr(const cJSON *c, const char key[]) { return cJSON_GetObjectItemCaseSensitive(c, key)->valuestring; }

static PetscErrorCode CheckData(SpdData D, const cJSON *c, const char what[])
{
  PetscInt    n = JInt(c, "n"), d = JInt(c, "d"), nc = JInt(c, "nclasses"), cc = JInt(c, "c"), nl = PETSC_DECIDE, N = n, bad = 0;
  PetscInt64  mine, start = 0;
  PetscMPIInt rank;
  const char *xref = cJSON_HasObjectItem(c, "xref") ? JStr(c, "xref") : NULL;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  SPD_EXPECT(D->n == n && D->d == d && D->nclasses == nc && D->c == cc, "%s: n, d, nclasses, c = %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT "; want %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT, what, D->n, D->d, D->nclasses, D->c, n, d, nc, cc);
  PetscCall(PetscSplitOwnership(PETSC_COMM_WORLD, &nl, &N));
  mine = nl;
  PetscCallMPI(MPI_Exscan(&mine, &start, 1, MPIU_INT64, MPI_SUM, PETSC_COMM_WORLD));
  if (rank == 0) start = 0;
  SPD_EXPECT(D->nlocal == nl && D->start == start, "%s: rank %d holds [%" PetscInt_FMT ", +%" PetscInt_FMT "), PETSc's split is [%" PetscInt64_FMT ", +%" PetscInt_FMT ")", what, rank, D->start, D->nlocal, start, nl);
  if (D->n != n || D->d != d || D->nlocal != nl || D->start != start) PetscFunctionReturn(0);
  SPD_EXPECT(D->comm == PETSC_COMM_WORLD, "%s: comm", what);

  if (xref) {
    double *X;

    PetscCall(ReadFile(xref, sizeof(double), (size_t)n * d, (void **)&X));
    for (PetscInt64 k = 0; k < (PetscInt64)nl * d; k++)
      if (memcmp(&D->X[k], &X[start * d + k], sizeof(double))) {
        if (bad++ < 5) PetscCall(PetscPrintf(PETSC_COMM_SELF, "MISMATCH %s X[%" PetscInt64_FMT ", %" PetscInt64_FMT "]: %.17g want %.17g\n", what, start + k / d, k % d, D->X[k], X[start * d + k]));
      }
    PetscCall(PetscFree(X));
  } else {
    double *S;

    PetscCall(ReadFile(JStr(c, "xsum"), sizeof(double), (size_t)n * 2, (void **)&S));
    for (PetscInt i = 0; i < nl; i++) {
      double s1 = 0, s2 = 0;

      for (PetscInt j = 0; j < d; j++) {
        double b = D->X[(size_t)i * d + j] * 255.0, r = round(b);

        if (PetscAbsReal(b - r) > 1e-9 || r < 0 || r > 255) bad++;
        s1 += r;
        s2 += (double)(j % 13 + 1) * r;
      }
      if (s1 != S[2 * (start + i)] || s2 != S[2 * (start + i) + 1]) {
        if (bad++ < 5) PetscCall(PetscPrintf(PETSC_COMM_SELF, "MISMATCH %s sample %" PetscInt64_FMT ": checksums %g %g want %g %g\n", what, start + i, s1, s2, S[2 * (start + i)], S[2 * (start + i) + 1]));
      }
    }
    PetscCall(PetscFree(S));
  }
  if (nc) {
    int64_t *L;

    SPD_EXPECT(D->labels && !D->Y, "%s: classification data must have labels and no Y", what);
    PetscCall(ReadFile(JStr(c, "yref"), sizeof(int64_t), (size_t)n, (void **)&L));
    for (PetscInt i = 0; i < nl && D->labels; i++)
      if (D->labels[i] != L[start + i]) {
        if (bad++ < 5) PetscCall(PetscPrintf(PETSC_COMM_SELF, "MISMATCH %s label %" PetscInt64_FMT ": %" PetscInt_FMT " want %" PetscInt64_FMT "\n", what, start + i, D->labels[i], (PetscInt64)L[start + i]));
      }
    PetscCall(PetscFree(L));
  } else {
    double *Y;

    SPD_EXPECT(D->Y && !D->labels, "%s: regression data must have Y and no labels", what);
    PetscCall(ReadFile(JStr(c, "yref"), sizeof(double), (size_t)n * cc, (void **)&Y));
    for (PetscInt64 k = 0; k < (PetscInt64)nl * cc && D->Y; k++)
      if (memcmp(&D->Y[k], &Y[start * cc + k], sizeof(double))) {
        if (bad++ < 5) PetscCall(PetscPrintf(PETSC_COMM_SELF, "MISMATCH %s Y[%" PetscInt64_FMT "]: %.17g want %.17g\n", what, start * cc + k, D->Y[k], Y[start * cc + k]));
      }
    PetscCall(PetscFree(Y));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  SPD_EXPECT(bad == 0, "%s: %" PetscInt_FMT " values differ from the reference", what, bad);
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  cJSON     *root  = NULL, *c;
  PetscInt   nreal = 0, ncases = 0;
  const char batches[2][8] = { "", "2" };

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(DataTestLoadCases(argc, argv, "data_load", &root));

  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "load"))
  {
    PetscBool hdf5 = !strcmp(JStr(c, "kind"), "hdf5") ? PETSC_TRUE : PETSC_FALSE;

    for (int b = 0; b < 2; b++) {
      SpdData D;
      char    what[PETSC_MAX_PATH_LEN * 2];

      if (b) PetscCall(PetscOptionsSetValue(NULL, "-spd_data_batch_rows", batches[b]));
      if (hdf5) {
        PetscCall(PetscSNPrintf(what, sizeof(what), "%s [%s, %s, nmax %" PetscInt_FMT "%s]", JStr(c, "file"), JStr(c, "x"), JStr(c, "y"), JInt(c, "nmax"), b ? ", batch 2" : ""));
        PetscCall(SpdDataLoadHDF5(PETSC_COMM_WORLD, JStr(c, "file"), JStr(c, "x"), JStr(c, "y"), JInt(c, "nmax"), &D));
      } else {
        PetscCall(PetscSNPrintf(what, sizeof(what), "%s + %s [nmax %" PetscInt_FMT "%s]", JStr(c, "images"), JStr(c, "labels"), JInt(c, "nmax"), b ? ", batch 2" : ""));
        PetscCall(SpdDataLoadIDX(PETSC_COMM_WORLD, JStr(c, "images"), JStr(c, "labels"), JInt(c, "nmax"), &D));
      }
      PetscCall(CheckData(D, c, what));
      PetscCall(SpdDataDestroy(&D));
      SPD_EXPECT(D == NULL, "SpdDataDestroy must set the pointer to NULL");
      if (b) PetscCall(PetscOptionsClearValue(NULL, "-spd_data_batch_rows"));
    }
    ncases++;
    if (cJSON_HasObjectItem(c, "real")) nreal++;
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "data_load: %" PetscInt_FMT " loads checked (%" PetscInt_FMT " of real Fashion-MNIST files)\n", ncases, nreal));
  cJSON_Delete(root);
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
