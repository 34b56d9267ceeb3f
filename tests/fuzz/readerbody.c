/* The part of the reader targets that runs on an opened checkpoint; see readerbody.h. */
#include "readerbody.h"
#include <specdyn/model.h>
#include <petscviewer.h>

#define SPD_FUZZ_READ_MAX 4096 /* elements: only small tensors are read */

static SpdMLPSpec spec, resolved; /* large: static, not on the stack */

static PetscErrorCode ReadSmall(SpdReader r, PetscInt t)
{
  const SpdTensorInfo *ti;
  PetscInt64           rows, cols;
  double              *buf;
  PetscErrorCode       ierr;

  PetscFunctionBegin;
  PetscCall(SpdReaderGetTensor(r, t, &ti));
  SpdTensorMatrixShape(ti, &rows, &cols);
  if (rows * cols > SPD_FUZZ_READ_MAX || ti->dtype == SPD_DTYPE_UNKNOWN) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(rows * cols + 1, &buf));
  ierr = SpdReaderReadBlock(r, t, PETSC_COMM_SELF, 0, rows, 0, cols, buf);
  if (!ierr && rows > 1 && cols > 2) ierr = SpdReaderReadBlock(r, t, PETSC_COMM_SELF, 1, rows - 1, 1, cols - 2, buf);
  PetscCall(PetscFree(buf));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode Body(SpdReader r, const char path[], PetscViewer devnull, PetscBool readblocks)
{
  PetscInt    n, idx, L, width[SPD_MLP_MAX_LAYERS + 1];
  const char *cfg;

  PetscFunctionBegin;
  PetscCall(SpdReaderOpen(r, path));
  PetscCall(SpdReaderGetNumTensors(r, &n));
  PetscCall(SpdReaderView(r, devnull));
  PetscCall(SpdReaderGetModelConfig(r, &cfg));
  for (PetscInt t = 0; t < n; t++) {
    const SpdTensorInfo *ti;

    PetscCall(SpdReaderGetTensor(r, t, &ti));
    PetscCall(SpdReaderFindTensor(r, ti->name, &idx));
    if (idx < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_PLIB, "fuzz finding: tensor %" PetscInt_FMT " ('%s') is listed but SpdReaderFindTensor cannot find it", t, ti->name);
  }
  /* the model layer reads the same metadata (architecture from the tensors or model_config) */
  {
    PetscErrorCode ierr;

    PetscCall(PetscMemzero(&spec, sizeof(spec)));
    SpdFuzzCapture(ierr, SpdMLPResolve(r, &spec, &resolved, &L, width));
    (void)ierr;
  }
  /* block reads open the file through MPI-IO (milliseconds each): only for inputs whose
     length is a multiple of 4, and at most 3 tensors, so most inputs exercise the parsers */
  for (PetscInt t = 0; t < n && t < 3 && readblocks; t++) {
    PetscErrorCode ierr;

    SpdFuzzCapture(ierr, ReadSmall(r, t));
    (void)ierr;
  }
  PetscFunctionReturn(0);
}

void SpdFuzzReaderRun(const char path[], SpdReaderType type, PetscBool readblocks)
{
  static PetscViewer devnull = NULL;
  SpdReader          r;
  PetscErrorCode     ierr;

  if (!devnull) SpdFuzzMust(PetscViewerASCIIOpen(PETSC_COMM_SELF, "/dev/null", &devnull));
  SpdFuzzMust(SpdReaderCreate(PETSC_COMM_SELF, &r));
  if (type) SpdFuzzMust(SpdReaderSetType(r, type));
  SpdFuzzCapture(ierr, Body(r, path, devnull, readblocks));
  (void)ierr;
  SpdFuzzMust(SpdReaderDestroy(&r));
  SpdFuzzCheckH5(path);
}
