/* Helper of the malformed-input test: open a checkpoint and read every tensor, rows
   split over the ranks, so that bad data (NaN/Inf) surfaces as the reader's error.

   usage: mpiexec -n P source_readall PATH
   Exit status 0 when everything reads; otherwise the reader's message is on stderr. */
#include <specdyn/reader.h>

static const char help[] = "Reads every tensor of a checkpoint by row blocks.\n";

static PetscErrorCode ReadAll(const char path[])
{
  SpdReader   rd;
  PetscInt    n;
  PetscMPIInt rank, size;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(SpdReaderCreate(PETSC_COMM_WORLD, &rd));
  PetscCall(SpdReaderSetFromOptions(rd));
  PetscCall(SpdReaderOpen(rd, path));
  PetscCall(SpdReaderGetNumTensors(rd, &n));
  for (PetscInt t = 0; t < n; t++) {
    const SpdTensorInfo *ti;
    PetscInt64           rows, cols, r0, r1;
    double              *buf;

    PetscCall(SpdReaderGetTensor(rd, t, &ti));
    SpdTensorMatrixShape(ti, &rows, &cols);
    r0 = rows * rank / size;
    r1 = rows * (rank + 1) / size;
    PetscCall(PetscMalloc1((r1 - r0) * cols + 1, &buf));
    PetscCall(SpdReaderReadBlock(rd, t, PETSC_COMM_WORLD, r0, r1 - r0, 0, cols, buf));
    PetscCall(PetscFree(buf));
  }
  PetscCall(SpdReaderDestroy(&rd));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;

  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCheck(argc >= 2, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "usage: %s PATH", argv[0]);
  ierr = ReadAll(argv[1]);
  PetscCall(PetscFinalize());
  return ierr ? 1 : 0;
}
