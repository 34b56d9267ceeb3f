/* specdyn inspect PATH: list the tensors of a checkpoint (SpdReaderView), optionally
   reading every tensor to check that its values are finite. */
#include "commands.h"
#include <specdyn/reader.h>
#include <petscviewer.h>
#include <stdio.h>
#include <stdlib.h>

static const char help[] = "usage: specdyn inspect [--check] PATH [PETSc options]\n"
                           "       mpirun -n P specdyn inspect --check PATH\n\n"
                           "List the tensors of a checkpoint: name, dtype, shape, bytes and file.\n"
                           "PATH is a *.safetensors file, a sharded *.safetensors.index.json, or an HDF5\n"
                           "file (an h5py state dict, or a Keras .h5 whose kernels are stored [in, out]).\n"
                           "The header is validated (see docs/formats.md); a malformed file is an error\n"
                           "naming the file and the tensor.\n\n"
                           "  --check              also read every tensor (rows split over the ranks) and fail\n"
                           "                       on NaN/Inf, naming the tensor and the first bad index\n"
                           "  -spd_reader_type T   force the reader (safetensors, hdf5) instead of inferring it\n"
                           "  --help               this text\n";

static PetscErrorCode Inspect(const char path[], PetscBool check)
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
  PetscCall(SpdReaderView(rd, PETSC_VIEWER_STDOUT_WORLD));
  PetscCall(SpdReaderGetNumTensors(rd, &n));
  for (PetscInt t = 0; check && t < n; t++) {
    const SpdTensorInfo *ti;
    PetscInt64           rows, cols, r0, r1, step;
    double              *buf;

    PetscCall(SpdReaderGetTensor(rd, t, &ti));
    SpdTensorMatrixShape(ti, &rows, &cols);
    /* at most ~64 MiB of doubles per rank at a time */
    step = PetscMax(1, ((PetscInt64)8 << 20) / PetscMax(1, cols));
    PetscCall(PetscMalloc1(PetscMax(1, PetscMin(step, rows) * cols), &buf));
    for (PetscInt64 s = 0; s < rows || (rows == 0 && s == 0); s += size * step) {
      r0 = PetscMin(rows, s + rank * step);
      r1 = PetscMin(rows, r0 + step);
      PetscCall(SpdReaderReadBlock(rd, t, PETSC_COMM_WORLD, r0, r1 - r0, 0, cols, buf));
      if (rows == 0) break;
    }
    PetscCall(PetscFree(buf));
  }
  if (check) PetscCall(PetscPrintf(PETSC_COMM_WORLD, "check: all %" PetscInt_FMT " tensors read, every value finite\n", n));
  PetscCall(SpdReaderDestroy(&rd));
  PetscFunctionReturn(0);
}

int SpdCmdInspect(int argc, char **argv)
{
  const char *path  = NULL;
  PetscBool   check = PETSC_FALSE;
  char      **pargv, msg[4096];
  int         pargc = 0, code = 0;
  PetscMPIInt rank = 0;

  if (SpdCmdWantsHelp(argc, argv)) {
    fputs(help, stdout);
    return 0;
  }
  {
    const SpdCmdOption opts[] = {
      { "--check", NULL, &check, NULL }
    };
    SpdCmdParseArgs(argc, argv, opts, 1, &path, &pargc, &pargv);
  }
  if (!path) {
    fputs("specdyn inspect: no checkpoint given\n\n", stderr);
    fputs(help, stderr);
    free(pargv);
    return 2;
  }
  if (SpdInitialize(&pargc, &pargv, NULL, help)) {
    free(pargv);
    return 2;
  }
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  SpdErrorCapturePush(msg, sizeof(msg));
  if (Inspect(path, check)) code = 1;
  SpdErrorCapturePop();
  /* reader errors are collective: every rank holds the same message, rank 0 prints it */
  if (code && rank == 0) fprintf(stderr, "specdyn inspect: %s\n", msg);
  SpdFinalize();
  free(pargv);
  return code;
}
