/* Source layer: listing and block reads of checkpoints against independent references.

   usage: source_read MANIFEST

   The manifest (written by gen_checkpoints.py with NumPy/h5py/json only) lists, per
   checkpoint, every tensor's name, dtype, byte offset, byte count, in_out flag, shape and
   a raw float64 file holding the exact values of its stored 2-D view. For each checkpoint
   this test checks the reader's listing field by field, then reads every tensor with
   several block layouts (rows split over the ranks, column ranges that cut the trailing
   dims of N-D tensors, single columns, and reads on sub-communicators) and compares the
   doubles bit for bit. The same comparisons run at 1, 2 and 4 ranks. */
#include <specdyn/reader.h>
#include <cJSON.h>
#include <petscviewer.h>
#include <stdio.h>

static const char help[] = "Checks SpdReader listings and block reads against NumPy/h5py references.\n";

typedef struct {
  char       name[SPD_MAX_NAME], dtype[16], ref[PETSC_MAX_PATH_LEN];
  PetscInt64 offset, nbytes, shape[SPD_MAX_DIMS];
  int        in_out, ndim;
} Expect;

static PetscErrorCode LoadRef(const char path[], PetscInt64 n, double **v)
{
  FILE *fp;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n ? n : 1, v));
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open reference %s", path);
  PetscCheck((PetscInt64)fread(*v, sizeof(double), (size_t)n, fp) == n, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "reference %s is shorter than %" PetscInt64_FMT " doubles", path, n);
  fclose(fp);
  PetscFunctionReturn(0);
}

/* Read block [r0,r0+nr) x [c0,c0+nc) on comm and compare bit-exactly with ref (rows x cols). */
static PetscErrorCode CheckBlock(SpdReader rd, PetscInt t, MPI_Comm comm, const double ref[], PetscInt64 cols, PetscInt64 r0, PetscInt64 nr, PetscInt64 c0, PetscInt64 nc, const char what[], PetscInt *nbad)
{
  double *out;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(nr * nc > 0 ? nr * nc : 1, &out));
  PetscCall(SpdReaderReadBlock(rd, t, comm, r0, nr, c0, nc, out));
  for (PetscInt64 i = 0; i < nr; i++)
    for (PetscInt64 j = 0; j < nc; j++) {
      double a = out[i * nc + j], b = ref[(r0 + i) * cols + c0 + j];
      if (memcmp(&a, &b, sizeof(double))) {
        if (*nbad < 10) PetscCall(PetscPrintf(PETSC_COMM_SELF, "MISMATCH %s [%" PetscInt64_FMT ",%" PetscInt64_FMT "]: got %.17g want %.17g\n", what, r0 + i, c0 + j, a, b));
        (*nbad)++;
      }
    }
  PetscCall(PetscFree(out));
  PetscFunctionReturn(0);
}

static void Split(PetscInt64 n, int p, int r, PetscInt64 *s, PetscInt64 *len)
{
  *s   = n * r / p;
  *len = n * (r + 1) / p - *s;
}

static PetscErrorCode CheckTensor(SpdReader rd, PetscInt t, const Expect *e, PetscInt *nbad)
{
  const SpdTensorInfo *ti;
  PetscInt64           rows, cols, s, len, cs, clen;
  double              *ref;
  PetscMPIInt          rank, size, srank, ssize;
  MPI_Comm             sub;
  char                 what[SPD_MAX_NAME + 64];

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(SpdReaderGetTensor(rd, t, &ti));
  SpdTensorMatrixShape(ti, &rows, &cols);
  PetscCall(LoadRef(e->ref, rows * cols, &ref));

  /* a) rows split over all ranks, all columns */
  Split(rows, size, rank, &s, &len);
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s rows", e->name));
  PetscCall(CheckBlock(rd, t, PETSC_COMM_WORLD, ref, cols, s, len, 0, cols, what, nbad));
  /* b) rows split, an inner column range that cuts trailing dims */
  if (cols >= 3) {
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s inner cols", e->name));
    PetscCall(CheckBlock(rd, t, PETSC_COMM_WORLD, ref, cols, s, len, cols / 3, cols - cols / 3 - cols / 4, what, nbad));
  }
  /* c) the last column only, all rows on every rank */
  if (cols >= 1) {
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s last col", e->name));
    PetscCall(CheckBlock(rd, t, PETSC_COMM_WORLD, ref, cols, 0, rows, cols - 1, 1, what, nbad));
  }
  /* d) columns split over the ranks, all rows (ranks with no columns read nothing) */
  Split(cols, size, rank, &cs, &clen);
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s col split", e->name));
  PetscCall(CheckBlock(rd, t, PETSC_COMM_WORLD, ref, cols, 0, clen ? rows : 0, cs, clen, what, nbad));
  /* e) two task groups (even/odd ranks) reading independently, offset column window */
  PetscCallMPI(MPI_Comm_split(PETSC_COMM_WORLD, rank % 2, rank, &sub));
  PetscCallMPI(MPI_Comm_rank(sub, &srank));
  PetscCallMPI(MPI_Comm_size(sub, &ssize));
  Split(rows, ssize, srank, &s, &len);
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s subcomm", e->name));
  if (cols > 1)
    PetscCall(CheckBlock(rd, t, sub, ref, cols, s, len, 1, cols - 1, what, nbad));
  else
    PetscCall(CheckBlock(rd, t, sub, ref, cols, s, len, 0, cols, what, nbad));
  PetscCallMPI(MPI_Comm_free(&sub));
  PetscCall(PetscFree(ref));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckCheckpoint(FILE *fp, const char path[], PetscInt nexp, const char config[], PetscInt *nbad)
{
  SpdReader   rd;
  PetscInt    n;
  const char *cfg;
  Expect     *e;

  PetscFunctionBegin;
  PetscCall(PetscCalloc1(nexp ? nexp : 1, &e));
  for (PetscInt i = 0; i < nexp; i++) {
    char kw[16];

    PetscCheck(fscanf(fp, "%15s %511s %15s %" SCNd64 " %" SCNd64 " %d %4095s %d", kw, e[i].name, e[i].dtype, &e[i].offset, &e[i].nbytes, &e[i].in_out, e[i].ref, &e[i].ndim) == 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "bad manifest line");
    for (int d = 0; d < e[i].ndim; d++) PetscCheck(fscanf(fp, "%" SCNd64, &e[i].shape[d]) == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "bad manifest shape");
  }
  PetscCall(SpdReaderCreate(PETSC_COMM_WORLD, &rd));
  PetscCall(SpdReaderSetFromOptions(rd));
  PetscCall(SpdReaderOpen(rd, path));
  PetscCall(SpdReaderGetNumTensors(rd, &n));
  PetscCheck(n == nexp, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: listed %" PetscInt_FMT " tensors, expected %" PetscInt_FMT, path, n, nexp);
  for (PetscInt i = 0; i < n; i++) {
    const SpdTensorInfo *ti;
    PetscInt             idx;

    PetscCall(SpdReaderGetTensor(rd, i, &ti));
    PetscCheck(!strcmp(ti->name, e[i].name), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: tensor %" PetscInt_FMT " is '%s', expected '%s'", path, i, ti->name, e[i].name);
    PetscCheck(!strcmp(SpdDTypes[ti->dtype], e[i].dtype), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: '%s' dtype %s, expected %s", path, ti->name, SpdDTypes[ti->dtype], e[i].dtype);
    PetscCheck(ti->offset == e[i].offset, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: '%s' offset %" PetscInt64_FMT ", expected %" PetscInt64_FMT, path, ti->name, ti->offset, e[i].offset);
    PetscCheck(ti->nbytes == e[i].nbytes, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: '%s' nbytes %" PetscInt64_FMT ", expected %" PetscInt64_FMT, path, ti->name, ti->nbytes, e[i].nbytes);
    PetscCheck((int)ti->in_out == e[i].in_out, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: '%s' in_out %d, expected %d", path, ti->name, (int)ti->in_out, e[i].in_out);
    PetscCheck(ti->ndim == e[i].ndim, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: '%s' ndim %d, expected %d", path, ti->name, ti->ndim, e[i].ndim);
    for (int d = 0; d < ti->ndim; d++) PetscCheck(ti->shape[d] == e[i].shape[d], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: '%s' shape[%d] %" PetscInt64_FMT ", expected %" PetscInt64_FMT, path, ti->name, d, ti->shape[d], e[i].shape[d]);
    PetscCheck((ti->offset < 0) == (ti->dataset[0] != 0), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: '%s' must have a dataset path exactly when it has no byte offset", path, ti->name);
    PetscCall(SpdReaderFindTensor(rd, e[i].name, &idx));
    PetscCheck(idx == i, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "SpdReaderFindTensor('%s') gave %" PetscInt_FMT, e[i].name, idx);
  }
  PetscCall(SpdReaderFindTensor(rd, "no/such/tensor", &n));
  PetscCheck(n == -1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "FindTensor of an absent name gave %" PetscInt_FMT, n);
  PetscCall(SpdReaderGetModelConfig(rd, &cfg));
  if (strcmp(config, "-")) {
    cJSON *root;
    PetscCheck(cfg, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: no model_config", path);
    root = cJSON_Parse(cfg);
    PetscCheck(root, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: model_config is not valid JSON", path);
    cJSON_Delete(root);
    PetscCheck(strstr(cfg, config), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: model_config lacks '%s'", path, config);
  } else
    PetscCheck(!cfg, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%s: unexpected model_config", path);
  for (PetscInt i = 0; i < nexp; i++) PetscCall(CheckTensor(rd, i, &e[i], nbad));
  PetscCall(SpdReaderView(rd, PETSC_VIEWER_STDOUT_WORLD));
  PetscCall(SpdReaderDestroy(&rd));
  PetscCall(PetscFree(e));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  FILE    *fp;
  char     kw[16], path[PETSC_MAX_PATH_LEN], config[64];
  PetscInt nexp, nbad = 0, gbad, nckpt = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCheck(argc >= 2, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "usage: %s MANIFEST", argv[0]);
  fp = fopen(argv[1], "r");
  PetscCheck(fp, PETSC_COMM_WORLD, PETSC_ERR_FILE_OPEN, "cannot open manifest %s (run the source_gen test first)", argv[1]);
  while (fscanf(fp, "%15s %4095s %" PetscInt_FMT " %63s", kw, path, &nexp, config) == 4) {
    PetscCheck(!strcmp(kw, "checkpoint"), PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "manifest: expected 'checkpoint', got '%s'", kw);
    PetscCall(CheckCheckpoint(fp, path, nexp, config, &nbad));
    nckpt++;
  }
  fclose(fp);
  PetscCallMPI(MPI_Allreduce(&nbad, &gbad, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  PetscCheck(nckpt > 0, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "manifest %s lists no checkpoint", argv[1]);
  PetscCheck(gbad == 0, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%" PetscInt_FMT " values differ from the reference", gbad);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "source_read: %" PetscInt_FMT " checkpoints: listings and every block equal the references bit for bit\n", nckpt));
  PetscCall(PetscFinalize());
  return 0;
}
