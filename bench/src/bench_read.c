/* bench_read: read throughput of SpdReaderReadBlock on a (sharded) checkpoint (bench/run.sh
   row 4).

   mpirun -n 2 bench_read -file bench/data/ckpt/model.safetensors.index.json -repeat 2

   Every tensor's stored 2-D view is split by rows across the ranks (rank r reads rows
   [r R / P, (r+1) R / P)), read collectively with SpdReaderReadBlock, converted to double
   by the reader and discarded. Bytes are the tensors' bytes on disk (BF16: 2 per value).
   One untimed pass first sums every value (the checksum bench/run.sh compares with the
   one NumPy computed when it wrote the files; -checksum 0 skips it, for a cold-cache
   timing); the timed passes only read. Metadata
   (SpdReaderOpen: parsing the index and the shard headers) is timed apart.
   A line starting with "RESULT" carries the numbers for bench/run.sh. */
static const char help[] = "Reads every tensor of a checkpoint with SpdReaderReadBlock, rows split across ranks.\n"
                           "  -file <checkpoint> -repeat <timed passes>\n";

#include <specdyn.h>

/* One pass over every tensor; *sum gets the sum of all values when sum != NULL. */
static PetscErrorCode BenchReadAll(SpdReader r, MPI_Comm comm, double *buf, double *sum)
{
  PetscInt    nt;
  PetscMPIInt rank, size;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(SpdReaderGetNumTensors(r, &nt));
  if (sum) *sum = 0;
  for (PetscInt t = 0; t < nt; t++) {
    const SpdTensorInfo *info;
    PetscInt64           rows, cols, r0, r1;

    PetscCall(SpdReaderGetTensor(r, t, &info));
    SpdTensorMatrixShape(info, &rows, &cols);
    r0 = rows * rank / size;
    r1 = rows * (rank + 1) / size;
    PetscCall(SpdReaderReadBlock(r, t, comm, r0, r1 - r0, 0, cols, buf));
    if (sum) {
      double s[4] = { 0, 0, 0, 0 };
      size_t cnt  = (size_t)(r1 - r0) * (size_t)cols, i;
      for (i = 0; i + 4 <= cnt; i += 4)
        for (int l = 0; l < 4; l++) s[l] += buf[i + l];
      for (; i < cnt; i++) s[0] += buf[i];
      *sum += (s[0] + s[1]) + (s[2] + s[3]);
    }
  }
  if (sum) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sum, 1, MPI_DOUBLE, MPI_SUM, comm));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char        file[PETSC_MAX_PATH_LEN] = "";
  PetscInt    repeat                   = 2, nt;
  PetscBool   dosum                    = PETSC_TRUE;
  PetscMPIInt rank, size;
  MPI_Comm    comm;
  SpdReader   r;
  PetscInt64  bytes = 0, maxblock = 0;
  double      t0, topen, best = PETSC_MAX_REAL, checksum = 0, *buf;
  char        times[512] = "";

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscOptionsBegin(comm, NULL, "bench_read", NULL);
  PetscCall(PetscOptionsString("-file", "checkpoint to read (e.g. a *.safetensors.index.json)", NULL, file, file, sizeof(file), NULL));
  PetscCall(PetscOptionsInt("-repeat", "timed passes (the best is reported)", NULL, repeat, &repeat, NULL));
  PetscCall(PetscOptionsBool("-checksum", "untimed checksum pass first (0 for a cold-cache timing)", NULL, dosum, &dosum, NULL));
  PetscOptionsEnd();
  PetscCheck(file[0], comm, PETSC_ERR_ARG_WRONG, "bench_read needs -file <checkpoint>; bench/gen_data.py writes bench/data/ckpt/model.safetensors.index.json");
  PetscCheck(repeat >= 1 && repeat <= 20, comm, PETSC_ERR_ARG_OUTOFRANGE, "-repeat %" PetscInt_FMT ": use 1 to 20", repeat);

  PetscCallMPI(MPI_Barrier(comm));
  t0 = MPI_Wtime();
  PetscCall(SpdReaderCreate(comm, &r));
  PetscCall(SpdReaderSetFromOptions(r));
  PetscCall(SpdReaderOpen(r, file));
  topen = MPI_Wtime() - t0;
  PetscCall(SpdReaderGetNumTensors(r, &nt));
  for (PetscInt t = 0; t < nt; t++) {
    const SpdTensorInfo *info;
    PetscInt64           rows, cols;
    PetscCall(SpdReaderGetTensor(r, t, &info));
    SpdTensorMatrixShape(info, &rows, &cols);
    bytes += info->nbytes;
    maxblock = PetscMax(maxblock, (rows * (rank + 1) / size - rows * rank / size) * cols);
  }
  PetscCall(PetscMalloc1(PetscMax(maxblock, 1), &buf));

  if (dosum) PetscCall(BenchReadAll(r, comm, buf, &checksum));
  for (PetscInt p = 0; p < repeat; p++) {
    double dt;
    char   item[32];
    PetscCallMPI(MPI_Barrier(comm));
    t0 = MPI_Wtime();
    PetscCall(BenchReadAll(r, comm, buf, NULL));
    dt = MPI_Wtime() - t0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, comm));
    best = PetscMin(best, dt);
    PetscCall(PetscSNPrintf(item, sizeof(item), "%s%.3f", p ? "," : "", dt));
    PetscCall(PetscStrlcat(times, item, sizeof(times)));
  }
  PetscCall(PetscFree(buf));
  PetscCall(PetscPrintf(comm, "read %" PetscInt_FMT " tensors, %.3f GB, on %d ranks: open %.3f s, best pass %.3f s = %.3f GB/s; checksum %.10e\n", nt, (double)bytes / 1e9, size, topen, best, (double)bytes / best / 1e9, checksum));
  PetscCall(PetscPrintf(comm, "RESULT tensors=%" PetscInt_FMT " bytes=%" PetscInt64_FMT " ranks=%d open=%.4f best=%.4f times=%s gbs=%.4f checksum=%.17e\n", nt, bytes, size, topen, best, times, (double)bytes / best / 1e9, checksum));
  PetscCall(SpdReaderDestroy(&r));
  PetscCall(SpdFinalize());
  return 0;
}
