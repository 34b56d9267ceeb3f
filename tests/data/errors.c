/* Data layer: bad inputs give clear errors, the same on every rank, and no data.

   usage: data_errors CASES.json

   Runs every "errors" case of gen_data.py (missing files and datasets, groups, scalars,
   strings, mismatched sample counts, NaN/Inf with their sample and feature, negative
   labels, bad IDX magic numbers, types, dimensions, truncated plain and gzipped files)
   and bad generator arguments, each under SpdErrorCapturePush: the load must fail, leave
   the output NULL, and its message must contain every expected fragment and be identical
   on every rank (no rank hangs: the NaN of the HDF5 case lies on the last rank at 4 ranks). */
#include <testutil.h>
#include <cJSON.h>
#include "datatest.h"
#include <math.h>
#include <stdio.h>

static const char help[] = "Checks the error messages of the data loaders and generators.\n";

static PetscErrorCode Expect(PetscErrorCode ierr, SpdData D, const char msg[], PetscInt nexp, const char *exp[], const char what[])
{
  char        msg0[4096];
  PetscMPIInt rank;
  int         same, allsame;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  SPD_EXPECT(ierr != 0, "%s: no error raised", what);
  SPD_EXPECT(D == NULL, "%s: the data must be NULL after an error", what);
  for (PetscInt k = 0; k < nexp; k++) SPD_EXPECT(strstr(msg, exp[k]), "%s: message lacks \"%s\":\n  %s", what, exp[k], msg);
  PetscCall(PetscStrncpy(msg0, msg, sizeof(msg0)));
  PetscCallMPI(MPI_Bcast(msg0, (int)sizeof(msg0), MPI_CHAR, 0, PETSC_COMM_WORLD));
  same = !strcmp(msg0, msg);
  PetscCallMPI(MPI_Allreduce(&same, &allsame, 1, MPI_INT, MPI_MIN, PETSC_COMM_WORLD));
  SPD_EXPECT(allsame, "%s: the ranks raised different messages", what);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  ok: %s\n", msg));
  PetscFunctionReturn(0);
}

static PetscInt    JInt(const cJSON *c, const char key[]) { return (PetscInt)cJSON_GetObjectItemCaseSensitive(c, key)->valuedouble; }
static const char *JStr(const cJSON *c, const char key[]) { return cJSON_GetObjectItemCaseSensitive(c, key)->valuestring; }

int main(int argc, char **argv)
{
  char           msg[4096];
  cJSON         *root = NULL, *c, *e;
  PetscErrorCode ierr;
  SpdData        D;
  PetscInt       ncases = 0;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(DataTestLoadCases(argc, argv, "data_errors", &root));

  cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "errors"))
  {
    const char *exp[16];
    PetscInt    nexp = 0;
    char        what[2 * PETSC_MAX_PATH_LEN];

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "expect")) if (nexp < 16) exp[nexp++] = e->valuestring;
    D                                                                                               = (SpdData)&D; /* must be reset to NULL */
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    if (!strcmp(JStr(c, "kind"), "hdf5")) {
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s [%s, %s]", JStr(c, "file"), JStr(c, "x"), JStr(c, "y")));
      ierr = SpdDataLoadHDF5(PETSC_COMM_WORLD, JStr(c, "file"), JStr(c, "x"), JStr(c, "y"), JInt(c, "nmax"), &D);
    } else {
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s + %s", JStr(c, "images"), JStr(c, "labels")));
      ierr = SpdDataLoadIDX(PETSC_COMM_WORLD, JStr(c, "images"), JStr(c, "labels"), JInt(c, "nmax"), &D);
    }
    PetscCall(SpdErrorCapturePop());
    PetscCall(Expect(ierr, D, msg, nexp, exp, what));
    ncases++;
  }

  /* arguments */
  {
    const char *e1[] = { "SpdDataLoadHDF5", "dataset paths" };
    const char *e2[] = { "SpdDataGaussianMixture", "k = 12", "d = 5", "1 <= k <= d" };
    const char *e3[] = { "SpdDataGaussianMixture", "n = 0", "n >= 1" };
    const char *e4[] = { "SpdDataGaussianMixture", "snr = nan", "finite snr >= 0" };
    const char *e5[] = { "SpdDataTeacherStudent", "c = 0", "c >= 1" };
    const char *e6[] = { "SpdDataTeacherStudent", "d = -3" };
    const char *e7[] = { "SpdDataLoadIDX", "images and the labels" };

    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdDataLoadHDF5(PETSC_COMM_WORLD, "x.h5", "X", NULL, 0, &D);
    PetscCall(SpdErrorCapturePop());
    PetscCall(Expect(ierr, D, msg, 2, e1, "no ypath"));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdDataGaussianMixture(PETSC_COMM_WORLD, 10, 5, 12, 1.0, 1, &D);
    PetscCall(SpdErrorCapturePop());
    PetscCall(Expect(ierr, D, msg, 4, e2, "k > d"));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdDataGaussianMixture(PETSC_COMM_WORLD, 0, 5, 2, 1.0, 1, &D);
    PetscCall(SpdErrorCapturePop());
    PetscCall(Expect(ierr, D, msg, 3, e3, "n = 0"));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdDataGaussianMixture(PETSC_COMM_WORLD, 10, 5, 2, (PetscReal)NAN, 1, &D);
    PetscCall(SpdErrorCapturePop());
    PetscCall(Expect(ierr, D, msg, 3, e4, "snr NaN"));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdDataTeacherStudent(PETSC_COMM_WORLD, 10, 5, 0, 1.0, 1, &D);
    PetscCall(SpdErrorCapturePop());
    PetscCall(Expect(ierr, D, msg, 3, e5, "c = 0"));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdDataTeacherStudent(PETSC_COMM_WORLD, 10, -3, 2, 1.0, 1, &D);
    PetscCall(SpdErrorCapturePop());
    PetscCall(Expect(ierr, D, msg, 2, e6, "d < 0"));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdDataLoadIDX(PETSC_COMM_WORLD, "a", "", 0, &D);
    PetscCall(SpdErrorCapturePop());
    PetscCall(Expect(ierr, D, msg, 2, e7, "no labels"));
    ncases += 7;
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "data_errors: %" PetscInt_FMT " bad inputs checked\n", ncases));
  cJSON_Delete(root);
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
