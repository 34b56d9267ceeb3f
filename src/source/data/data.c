/* SpdData: samples of a data set split across the ranks of a communicator.

   Rank r holds the contiguous block [start, start + nlocal) of the n samples with PETSc's
   default split (PetscSplitOwnership: the first n % size ranks get one extra sample), so
   a model operator built on the data sees the same partition as a PETSc Vec of length n.
   The loaders (hdf5data.c, idx.c) and the generators (generators.c) fill the block of
   their own rank only. */
#include "dataimpl.h"
#include <math.h>

PetscErrorCode SpdDataCreate_Private(MPI_Comm comm, const char name[], SpdData *data)
{
  SpdData d;

  PetscFunctionBegin;
  PetscCall(PetscNew(&d));
  d->comm = comm; /* the caller's communicator, not duplicated: it must outlive the data */
  PetscCall(PetscStrncpy(d->name, name, sizeof(d->name)));
  *data = d;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdDataSetSizes_Private(SpdData data, PetscInt64 n, PetscInt64 d)
{
  PetscInt    nlocal = PETSC_DECIDE, N;
  PetscInt64  end, nl;
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCheck(n >= 1 && n <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: %" PetscInt64_FMT " samples; specdyn (32-bit PetscInt) handles 1 to %d samples, pass a smaller nmax", data->name, n, (int)PETSC_MAX_INT);
  PetscCheck(d >= 1 && d <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: input dimension %" PetscInt64_FMT "; specdyn (32-bit PetscInt) handles 1 to %d features per sample", data->name, d, (int)PETSC_MAX_INT);
  N = (PetscInt)n;
  PetscCall(PetscSplitOwnership(data->comm, &nlocal, &N));
  nl = nlocal;
  PetscCallMPI(MPI_Scan(&nl, &end, 1, MPIU_INT64, MPI_SUM, data->comm));
  PetscCallMPI(MPI_Comm_rank(data->comm, &rank));
  data->n      = N;
  data->d      = (PetscInt)d;
  data->nlocal = nlocal;
  data->start  = (PetscInt)(end - nl);
  /* n and d each fit a PetscInt but their product may not fit a byte count: a 1 MiB
     gzipped IDX file can announce 2^31 x 2^30 values, whose size in bytes wrapped to a
     tiny allocation that the read then overflowed (found by fuzzing) */
  PetscCheck(nlocal == 0 || d <= ((PetscInt64)1 << 60) / (PetscInt64)sizeof(PetscReal) / (PetscInt64)nlocal, PETSC_COMM_SELF, PETSC_ERR_SUP,
      "%s: %" PetscInt_FMT " samples x %" PetscInt64_FMT " features per rank is more data than any memory holds; the file's header is corrupt, or pass a smaller nmax", data->name, nlocal, d);
  PetscCall(PetscMalloc1((size_t)nlocal * (size_t)d + 1, &data->X));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdDataGetBatchRows_Private(MPI_Comm comm, size_t rowbytes, PetscInt64 *rows)
{
  PetscInt  b   = (PetscInt)PetscMin((size_t)PETSC_MAX_INT, PetscMax((size_t)1, ((size_t)1 << 28) / PetscMax(rowbytes, (size_t)1)));
  PetscBool set = PETSC_FALSE;

  PetscFunctionBegin;
  PetscOptionsBegin(comm, NULL, "Data set loading (SpdDataLoadHDF5, SpdDataLoadIDX)", "SpdData");
  PetscCall(PetscOptionsInt("-spd_data_batch_rows", "Samples per collective HDF5 read or IDX read chunk (default: about 256 MiB)", "SpdDataLoadHDF5", b, &b, &set));
  PetscOptionsEnd();
  PetscCheck(b >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "-spd_data_batch_rows %" PetscInt_FMT ": give at least 1 sample per read", b);
  *rows = b;
  PetscFunctionReturn(0);
}

PetscBool SpdDataFindNonFinite_Private(const PetscReal v[], PetscInt64 rows, PetscInt64 cols, PetscInt64 row0, const char what[], char msg[], size_t len)
{
  for (PetscInt64 i = 0; i < rows; i++)
    for (PetscInt64 j = 0; j < cols; j++) {
      PetscReal x = v[i * cols + j];

      if (!isfinite(x)) {
        PetscSNPrintf(msg, len, "%s has a non-finite value (%s) at sample %" PetscInt64_FMT ", feature %" PetscInt64_FMT " (0-based); remove or impute the bad samples before the analysis", what, isnan(x) ? "NaN" : (x > 0 ? "+Inf" : "-Inf"), row0 + i, j);
        return PETSC_TRUE;
      }
    }
  return PETSC_FALSE;
}

PetscErrorCode SpdDataAnyError_Private(MPI_Comm comm, PetscErrorCode lerr, PetscBool *any)
{
  int l = lerr ? 1 : 0, g;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Allreduce(&l, &g, 1, MPI_INT, MPI_MAX, comm));
  *any = g ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/*@C
  SpdDataDestroy - free a data set

  Not Collective

  Input Parameter:
. data - the data set (set to NULL)

.seealso: `SpdDataLoadHDF5()`, `SpdDataLoadIDX()`, `SpdDataGaussianMixture()`, `SpdDataTeacherStudent()`
@*/
PetscErrorCode SpdDataDestroy(SpdData *data)
{
  PetscFunctionBegin;
  if (!data || !*data) PetscFunctionReturn(0);
  PetscCall(PetscFree((*data)->X));
  PetscCall(PetscFree((*data)->labels));
  PetscCall(PetscFree((*data)->Y));
  PetscCall(PetscFree(*data));
  PetscFunctionReturn(0);
}
