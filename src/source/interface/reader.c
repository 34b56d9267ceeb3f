/* SpdReader: the interface of the checkpoint readers (source layer).

   A reader is a PETSc object with a registry of implementations by name
   (SpdReaderRegister), an ops table each implementation fills, and a lifecycle
   Create -> SetType/SetFromOptions -> Open -> ReadBlock... -> View -> Destroy.

   Parallel contract (DESIGN.md §2, §3):
   - metadata (the tensor table and the model_config string) is parsed by rank 0 of the
     reader's communicator and broadcast, so every rank holds the same listing;
   - tensor data is read collectively on a sub-communicator, each rank reading only
     its block;
   - every failure is collective: a rank that fails shares its message and all ranks of
     the communicator return the same error, so no rank waits forever in a collective. */
#include <specdyn/private/readerimpl.h>
#include <petscviewer.h>
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>

PetscClassId      SPD_READER_CLASSID = 0;
PetscFunctionList SpdReaderList      = NULL;

static PetscBool     SpdReaderPackageInitialized = PETSC_FALSE;
static PetscLogEvent SPD_READER_Open, SPD_READER_ReadBlock;

static PetscErrorCode SpdReaderFinalizePackage(void)
{
  PetscFunctionBegin;
  PetscCall(PetscFunctionListDestroy(&SpdReaderList));
  SpdReaderPackageInitialized = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderInitializePackage - register the SpdReader class, its log events and the
  built-in readers ("safetensors", "hdf5")

  Not Collective

  Notes:
  Called by `SpdReaderCreate()` and `SpdReaderRegister()`; reset at `PetscFinalize()`.

.seealso: `SpdReaderRegister()`, `SpdReaderCreate()`
@*/
PetscErrorCode SpdReaderInitializePackage(void)
{
  PetscFunctionBegin;
  if (SpdReaderPackageInitialized) PetscFunctionReturn(0);
  SpdReaderPackageInitialized = PETSC_TRUE;
  PetscCall(PetscClassIdRegister("SpdReader", &SPD_READER_CLASSID));
  PetscCall(PetscLogEventRegister("SpdReaderOpen", SPD_READER_CLASSID, &SPD_READER_Open));
  PetscCall(PetscLogEventRegister("SpdReaderRead", SPD_READER_CLASSID, &SPD_READER_ReadBlock));
  PetscCall(SpdReaderRegister(SPDREADERSAFETENSORS, SpdReaderCreate_Safetensors));
  PetscCall(SpdReaderRegister(SPDREADERHDF5, SpdReaderCreate_HDF5));
  PetscCall(PetscRegisterFinalize(SpdReaderFinalizePackage));
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderRegister - add a checkpoint reader implementation

  Not Collective

  Input Parameters:
+ name   - the type name, used by `SpdReaderSetType()` and -spd_reader_type
- create - the routine that fills the ops table of a new reader of this type

.seealso: `SpdReaderSetType()`, `SpdReaderCreate()`
@*/
PetscErrorCode SpdReaderRegister(const char name[], PetscErrorCode (*create)(SpdReader))
{
  PetscFunctionBegin;
  PetscCall(SpdReaderInitializePackage());
  PetscCall(PetscFunctionListAdd(&SpdReaderList, name, create));
  PetscFunctionReturn(0);
}

/* See readerimpl.h. The message travels from the lowest failing rank to all ranks. */
PetscErrorCode SpdCollectiveError_Private(MPI_Comm comm, PetscErrorCode lerr, const char lmsg[])
{
  PetscMPIInt rank, mine, src;
  int         code = (int)lerr;
  char        msg[4096];

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  mine = lerr ? rank : INT_MAX;
  PetscCallMPI(MPI_Allreduce(&mine, &src, 1, MPI_INT, MPI_MIN, comm));
  if (src == INT_MAX) PetscFunctionReturn(0);
  msg[0] = 0;
  if (rank == src) PetscCall(PetscStrncpy(msg, lmsg && lmsg[0] ? lmsg : "unknown error", sizeof(msg)));
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, src, comm));
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, src, comm));
  /* raised on SELF on every rank: with PETSc's default handler an error on a parallel comm
     makes ranks other than 0 sleep and MPI_Abort, which would end the whole study */
  SETERRQ(PETSC_COMM_SELF, (PetscErrorCode)code, "%s", msg);
}

/*@C
  SpdReaderCreate - create a checkpoint reader

  Collective

  Input Parameter:
. comm - the communicator whose rank 0 parses metadata; blocks are later read on
         sub-communicators of it

  Output Parameter:
. reader - the new reader

.seealso: `SpdReaderOpen()`, `SpdReaderSetType()`, `SpdReaderDestroy()`
@*/
PetscErrorCode SpdReaderCreate(MPI_Comm comm, SpdReader *reader)
{
  SpdReader r;

  PetscFunctionBegin;
  PetscValidPointer(reader, 2);
  *reader = NULL;
  PetscCall(SpdReaderInitializePackage());
  PetscCall(PetscHeaderCreate(r, SPD_READER_CLASSID, "SpdReader", "Checkpoint reader", "SpdReader", comm, SpdReaderDestroy, SpdReaderView));
  *reader = r;
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdReaderReset_Private(SpdReader r)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(r->tensors));
  PetscCall(PetscFree(r->model_config));
  r->ntensors   = 0;
  r->maxtensors = 0;
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderSetType - choose the checkpoint format

  Logically Collective

  Input Parameters:
+ reader - the reader
- type   - SPDREADERSAFETENSORS, SPDREADERHDF5, or a registered name

  Options Database Key:
. -spd_reader_type <safetensors,hdf5> - the format (inferred from the file when not set)

.seealso: `SpdReaderRegister()`, `SpdReaderOpen()`
@*/
PetscErrorCode SpdReaderSetType(SpdReader r, SpdReaderType type)
{
  PetscErrorCode (*create)(SpdReader);
  PetscBool same;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscValidCharPointer(type, 2);
  PetscCall(PetscObjectTypeCompare((PetscObject)r, type, &same));
  if (same) PetscFunctionReturn(0);
  PetscCall(PetscFunctionListFind(SpdReaderList, type, &create));
  PetscCheck(create, PETSC_COMM_SELF, PETSC_ERR_ARG_UNKNOWN_TYPE, "Unknown checkpoint reader type '%s'; the readers are '%s' and '%s' (-spd_reader_type)", type, SPDREADERSAFETENSORS, SPDREADERHDF5);
  if (r->ops->destroy) PetscCall((*r->ops->destroy)(r));
  PetscCall(PetscMemzero(r->ops, sizeof(struct _SpdReaderOps)));
  PetscCall(SpdReaderReset_Private(r));
  r->data = NULL;
  PetscCall(PetscObjectChangeTypeName((PetscObject)r, type));
  PetscCall((*create)(r));
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderGetType - the reader's type name (NULL before it is set or inferred)

  Not Collective
@*/
PetscErrorCode SpdReaderGetType(SpdReader r, SpdReaderType *type)
{
  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscValidPointer(type, 2);
  *type = ((PetscObject)r)->type_name;
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderSetFromOptions - set the reader type and its parameters from the options database

  Collective

  Options Database Key:
. -spd_reader_type <safetensors,hdf5> - force the checkpoint format instead of inferring it

.seealso: `SpdReaderSetType()`
@*/
PetscErrorCode SpdReaderSetFromOptions(SpdReader r)
{
  char      type[256];
  PetscBool flg;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscObjectOptionsBegin((PetscObject)r);
  PetscCall(PetscOptionsFList("-spd_reader_type", "Checkpoint format (inferred from the file when not given)", "SpdReaderSetType", SpdReaderList, ((PetscObject)r)->type_name ? ((PetscObject)r)->type_name : "", type, sizeof(type), &flg));
  if (flg) PetscCall(SpdReaderSetType(r, type));
  if (r->ops->setfromoptions) PetscCall((*r->ops->setfromoptions)(r, PetscOptionsObject));
  PetscCall(PetscObjectProcessOptionsHandlers((PetscObject)r, PetscOptionsObject));
  PetscOptionsEnd();
  PetscFunctionReturn(0);
}

static PetscBool EndsWith(const char s[], const char suffix[])
{
  size_t ls = strlen(s), lx = strlen(suffix);
  return (ls >= lx && !strcmp(s + ls - lx, suffix)) ? PETSC_TRUE : PETSC_FALSE;
}

/* Rank 0: check that `path` is a readable regular file and, if type is NULL on entry
   (*type empty), infer the format from the name and the first bytes. */
static PetscErrorCode SpdReaderProbe_Private(const char path[], char type[], size_t len)
{
  static const unsigned char h5sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  unsigned char              head[9]  = { 0 };
  struct stat                st;
  FILE                      *fp;
  size_t                     n;

  PetscFunctionBegin;
  PetscCheck(!stat(path, &st), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open the checkpoint: %s; check the path (relative paths start at the working directory)", path, strerror(errno));
  PetscCheck(!S_ISDIR(st.st_mode), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: is a directory; give a checkpoint file (*.safetensors, *.safetensors.index.json, *.h5)", path);
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open the checkpoint for reading: %s", path, strerror(errno));
  n = fread(head, 1, sizeof(head), fp);
  fclose(fp);
  if (type[0]) PetscFunctionReturn(0);
  if (EndsWith(path, ".safetensors") || EndsWith(path, ".safetensors.index.json") || EndsWith(path, ".index.json"))
    PetscCall(PetscStrncpy(type, SPDREADERSAFETENSORS, len));
  else if (n >= 8 && !memcmp(head, h5sig, 8))
    PetscCall(PetscStrncpy(type, SPDREADERHDF5, len));
  else if (n >= 9 && head[8] == '{')
    PetscCall(PetscStrncpy(type, SPDREADERSAFETENSORS, len));
  else if (EndsWith(path, ".h5") || EndsWith(path, ".hdf5"))
    PetscCall(PetscStrncpy(type, SPDREADERHDF5, len));
  else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
        "%s: not a checkpoint specdyn can read (%zu bytes; it starts neither with an 8-byte header length followed by '{' as safetensors files do, nor with the HDF5 signature \\x89HDF\\r\\n\\x1a\\n); give a *.safetensors, *.safetensors.index.json or HDF5 (.h5) file, or force a reader with -spd_reader_type",
        path, (size_t)st.st_size);
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderOpen - open a checkpoint and read its tensor table

  Collective

  Input Parameters:
+ reader - the reader
- path   - a *.safetensors file, a sharded *.safetensors.index.json, or an HDF5 file
           (h5py state dict or Keras .h5)

  Notes:
  Rank 0 of the reader's communicator reads and validates the metadata and broadcasts
  it; no tensor data is read. When no type was set, it is inferred: safetensors for
  names ending in .safetensors / .safetensors.index.json or files starting with an
  8-byte length and '{', hdf5 for files with the HDF5 signature. Any error (missing file,
  malformed header) is raised on every rank with the same message.

.seealso: `SpdReaderReadBlock()`, `SpdReaderView()`, `SpdReaderGetTensor()`
@*/
PetscErrorCode SpdReaderOpen(SpdReader r, const char path[])
{
  MPI_Comm       comm;
  PetscMPIInt    rank;
  PetscErrorCode lerr = 0;
  char           msg[4096], type[64] = "";
  int            ncfg = 0;
  PetscInt64     nbytes;

  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscValidCharPointer(path, 2);
  PetscCall(PetscObjectGetComm((PetscObject)r, &comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCheck(strlen(path) < sizeof(r->path), PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "Checkpoint path is %zu characters long; specdyn keeps at most %zu", strlen(path), sizeof(r->path) - 1);
  PetscCall(PetscLogEventBegin(SPD_READER_Open, r, 0, 0, 0));
  PetscCall(SpdReaderReset_Private(r));
  PetscCall(PetscStrncpy(r->path, path, sizeof(r->path)));
  if (((PetscObject)r)->type_name) PetscCall(PetscStrncpy(type, ((PetscObject)r)->type_name, sizeof(type)));

  /* 1. probe the file and agree on the type */
  if (rank == 0) {
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    lerr = SpdReaderProbe_Private(path, type, sizeof(type));
    PetscCall(SpdErrorCapturePop());
  }
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));
  PetscCallMPI(MPI_Bcast(type, (int)sizeof(type), MPI_CHAR, 0, comm));
  PetscCall(SpdReaderSetType(r, type));
  PetscCheck(r->ops->openmeta, PETSC_COMM_SELF, PETSC_ERR_SUP, "Reader type '%s' cannot open files", type);

  /* 2. rank 0 parses the metadata; errors become collective */
  if (rank == 0) {
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    lerr = (*r->ops->openmeta)(r, path);
    PetscCall(SpdErrorCapturePop());
    if (lerr) PetscCall(SpdReaderReset_Private(r));
  }
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));

  /* 3. broadcast the tensor table and the model config */
  PetscCallMPI(MPI_Bcast(&r->ntensors, 1, MPIU_INT, 0, comm));
  nbytes = (PetscInt64)r->ntensors * (PetscInt64)sizeof(SpdTensorInfo);
  PetscCheck(nbytes <= INT_MAX, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: %" PetscInt_FMT " tensors make a %" PetscInt64_FMT "-byte table, more than one broadcast carries", path, r->ntensors, nbytes);
  if (rank != 0) {
    PetscCall(PetscMalloc1(r->ntensors ? r->ntensors : 1, &r->tensors));
    r->maxtensors = r->ntensors;
  }
  if (r->ntensors) PetscCallMPI(MPI_Bcast(r->tensors, (int)nbytes, MPI_BYTE, 0, comm));
  if (rank == 0 && r->model_config) ncfg = (int)strlen(r->model_config) + 1;
  PetscCallMPI(MPI_Bcast(&ncfg, 1, MPI_INT, 0, comm));
  if (ncfg) {
    if (rank != 0) PetscCall(PetscMalloc1(ncfg, &r->model_config));
    PetscCallMPI(MPI_Bcast(r->model_config, ncfg, MPI_CHAR, 0, comm));
  }
  PetscCall(PetscLogEventEnd(SPD_READER_Open, r, 0, 0, 0));
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderGetPath - the path given to `SpdReaderOpen()`

  Not Collective
@*/
PetscErrorCode SpdReaderGetPath(SpdReader r, const char **path)
{
  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscValidPointer(path, 2);
  *path = r->path;
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderGetNumTensors - number of tensors listed by the checkpoint

  Not Collective
@*/
PetscErrorCode SpdReaderGetNumTensors(SpdReader r, PetscInt *n)
{
  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscValidIntPointer(n, 2);
  *n = r->ntensors;
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderGetTensor - the metadata of tensor `t` (0 <= t < number of tensors)

  Not Collective
@*/
PetscErrorCode SpdReaderGetTensor(SpdReader r, PetscInt t, const SpdTensorInfo **info)
{
  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscValidPointer(info, 3);
  PetscCheck(t >= 0 && t < r->ntensors, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: tensor index %" PetscInt_FMT " is out of range [0, %" PetscInt_FMT ")", r->path, t, r->ntensors);
  *info = &r->tensors[t];
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderFindTensor - index of the tensor named `name`, or -1 if the checkpoint has none

  Not Collective
@*/
PetscErrorCode SpdReaderFindTensor(SpdReader r, const char name[], PetscInt *t)
{
  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscValidCharPointer(name, 2);
  PetscValidIntPointer(t, 3);
  *t = -1;
  for (PetscInt i = 0; i < r->ntensors; i++)
    if (!strcmp(r->tensors[i].name, name)) {
      *t = i;
      break;
    }
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderGetModelConfig - the architecture JSON the checkpoint carries (Keras
  `model_config`), or NULL

  Not Collective
@*/
PetscErrorCode SpdReaderGetModelConfig(SpdReader r, const char **config)
{
  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscValidPointer(config, 2);
  *config = r->model_config;
  PetscFunctionReturn(0);
}

/*@C
  SpdTensorMatrixShape - rows and columns of the stored 2-D view of a tensor

  Not Collective

  Notes:
  shape[0] rows by prod(shape[1:]) columns; a 1-D tensor is 1 x shape[0], a 0-D one 1 x 1.
@*/
void SpdTensorMatrixShape(const SpdTensorInfo *t, PetscInt64 *rows, PetscInt64 *cols)
{
  PetscInt64 m = 1, n = 1;

  if (t->ndim == 1)
    n = t->shape[0];
  else if (t->ndim >= 2) {
    m = t->shape[0];
    for (int d = 1; d < t->ndim; d++) n *= t->shape[d];
  }
  if (rows) *rows = m;
  if (cols) *cols = n;
}

PetscErrorCode SpdReaderAddTensor_Private(SpdReader r, SpdTensorInfo **info)
{
  PetscFunctionBegin;
  if (r->ntensors == r->maxtensors) {
    PetscInt       newmax = r->maxtensors ? 2 * r->maxtensors : 16;
    SpdTensorInfo *t;

    PetscCall(PetscMalloc1(newmax, &t));
    if (r->ntensors) PetscCall(PetscArraycpy(t, r->tensors, r->ntensors));
    PetscCall(PetscFree(r->tensors));
    r->tensors    = t;
    r->maxtensors = newmax;
  }
  *info = &r->tensors[r->ntensors++];
  PetscCall(PetscMemzero(*info, sizeof(SpdTensorInfo)));
  PetscFunctionReturn(0);
}

/* Index of the first non-finite entry of v[0..n), or -1. Blocks of 1024 are screened
   without branches (x * 0 is NaN exactly for a NaN or an infinity; four independent sums
   so that the additions' latency does not bound the loop: the scan of a whole block read
   was ~1.3 ns per entry with a test per entry); only a block that fails is searched. */
static PetscInt64 FirstNonFinite(const double v[], size_t n)
{
  for (size_t b = 0; b < n; b += 1024) {
    size_t e = b + 1024 < n ? b + 1024 : n, i = b;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;

    for (; i + 4 <= e; i += 4) {
      s0 += v[i] * 0.0;
      s1 += v[i + 1] * 0.0;
      s2 += v[i + 2] * 0.0;
      s3 += v[i + 3] * 0.0;
    }
    for (; i < e; i++) s0 += v[i] * 0.0;
    if (s0 + s1 + s2 + s3 == 0.0) continue;
    for (i = b; i < e; i++)
      if (!isfinite(v[i])) return (PetscInt64)i;
  }
  return -1;
}

PetscErrorCode SpdReaderCheckFinite_Private(SpdReader r, PetscInt t, const double v[], size_t n)
{
  PetscInt64 i = FirstNonFinite(v, n);

  PetscFunctionBegin;
  PetscCheck(i < 0, PETSC_COMM_SELF, PETSC_ERR_FP, "%s: tensor '%s' holds a non-finite value (%s) at element %" PetscInt64_FMT " of the block read; the checkpoint is corrupt or training diverged", r->tensors[t].file, r->tensors[t].name, isnan(v[i]) ? "NaN" : "Inf", i);
  PetscFunctionReturn(0);
}

/* Collective on comm: the first non-finite value of the whole distributed block, in
   row-major order of the tensor's 2-D view, is reported identically on every rank. */
static PetscErrorCode SpdReaderCheckFiniteCollective_Private(SpdReader r, PetscInt t, MPI_Comm comm, PetscInt64 row0, PetscInt64 nrows, PetscInt64 col0, PetscInt64 ncols, const double v[])
{
  const SpdTensorInfo *ti = &r->tensors[t];
  PetscInt64           rows, cols, i, key = INT64_MAX, gkey;

  PetscFunctionBegin;
  SpdTensorMatrixShape(ti, &rows, &cols);
  i = FirstNonFinite(v, (size_t)(nrows * ncols));
  /* key = 2 * (global row-major index) + (1 if Inf): the min gives the first bad entry and its kind */
  if (i >= 0) key = 2 * ((row0 + i / ncols) * cols + col0 + i % ncols) + (isinf(v[i]) ? 1 : 0);
  PetscCallMPI(MPI_Allreduce(&key, &gkey, 1, MPIU_INT64, MPI_MIN, comm));
  if (gkey != INT64_MAX) {
    PetscInt64 g = gkey / 2, row = g / cols, col = g % cols;

    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FP, "%s: tensor '%s' holds a non-finite value (%s) at [%" PetscInt64_FMT ", %" PetscInt64_FMT "] of its %" PetscInt64_FMT " x %" PetscInt64_FMT " stored matrix (flat index %" PetscInt64_FMT "); the checkpoint is corrupt or training diverged: exclude the tensor or use another checkpoint", ti->file, ti->name, (gkey % 2) ? "Inf" : "NaN", row, col, rows, cols, g);
  }
  PetscFunctionReturn(0);
}

/* Rank-local argument checks of SpdReaderReadBlock(). */
static PetscErrorCode SpdReaderCheckBlock_Private(SpdReader r, PetscInt t, PetscInt64 row0, PetscInt64 nrows, PetscInt64 col0, PetscInt64 ncols, double out[])
{
  const SpdTensorInfo *ti;
  PetscInt64           rows, cols;

  PetscFunctionBegin;
  PetscCheck(r->ntensors > 0 || t < 0, PETSC_COMM_SELF, PETSC_ERR_ORDER, "%s: no tensor table; call SpdReaderOpen() before SpdReaderReadBlock()", r->path);
  PetscCheck(t >= 0 && t < r->ntensors, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: tensor index %" PetscInt_FMT " is out of range [0, %" PetscInt_FMT ")", r->path, t, r->ntensors);
  ti = &r->tensors[t];
  SpdTensorMatrixShape(ti, &rows, &cols);
  PetscCheck(ti->dtype != SPD_DTYPE_UNKNOWN && SpdDTypeSize(ti->dtype) > 0, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: tensor '%s' has a dtype specdyn cannot convert to double; exclude it from the analysis", ti->file, ti->name);
  PetscCheck(nrows >= 0 && ncols >= 0 && row0 >= 0 && col0 >= 0 && row0 + nrows <= rows && col0 + ncols <= cols, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
      "%s: block rows [%" PetscInt64_FMT ", %" PetscInt64_FMT ") x cols [%" PetscInt64_FMT ", %" PetscInt64_FMT ") lies outside tensor '%s' seen as a %" PetscInt64_FMT " x %" PetscInt64_FMT " matrix", ti->file, row0, row0 + nrows, col0, col0 + ncols, ti->name, rows, cols);
  PetscCheck(out || nrows * ncols == 0, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdReaderReadBlock: output array is NULL for a %" PetscInt64_FMT " x %" PetscInt64_FMT " block", nrows, ncols);
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderReadBlock - read a block of the stored 2-D view of a tensor, as double

  Collective on comm

  Input Parameters:
+ reader - an open reader
. t      - tensor index
. comm   - the ranks reading (a sub-communicator of the reader's, e.g. a task group);
           every rank of comm calls, each with its own block (0 rows is fine)
. row0, nrows - the rows [row0, row0+nrows) of the stored view
- col0, ncols - the columns [col0, col0+ncols)

  Output Parameter:
. out - nrows*ncols doubles, row-major

  Notes:
  Only the requested block is read from disk (MPI-IO file views for safetensors,
  HDF5 hyperslabs for HDF5). A NaN or Inf anywhere in the distributed block is an error,
  raised on every rank with the file, tensor and the first bad index.

.seealso: `SpdReaderOpen()`, `SpdTensorMatrixShape()`
@*/
PetscErrorCode SpdReaderReadBlock(SpdReader r, PetscInt t, MPI_Comm comm, PetscInt64 row0, PetscInt64 nrows, PetscInt64 col0, PetscInt64 ncols, double out[])
{
  PetscErrorCode lerr;
  char           msg[4096];

  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  lerr = SpdReaderCheckBlock_Private(r, t, row0, nrows, col0, ncols, out);
  PetscCall(SpdErrorCapturePop());
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));
  PetscCheck(r->ops->readblock, PETSC_COMM_SELF, PETSC_ERR_SUP, "Reader type '%s' cannot read tensor data", ((PetscObject)r)->type_name);
  PetscCall(PetscLogEventBegin(SPD_READER_ReadBlock, r, 0, 0, 0));
  PetscCall((*r->ops->readblock)(r, t, comm, row0, nrows, col0, ncols, out));
  PetscCall(PetscLogEventEnd(SPD_READER_ReadBlock, r, 0, 0, 0));
  PetscCall(SpdReaderCheckFiniteCollective_Private(r, t, comm, row0, nrows, col0, ncols, out));
  PetscFunctionReturn(0);
}

static void FormatShape(const SpdTensorInfo *t, char buf[], size_t len)
{
  size_t n = 0;

  n += (size_t)snprintf(buf + n, len - n, "[");
  for (int d = 0; d < t->ndim && n < len; d++) n += (size_t)snprintf(buf + n, len - n, "%s%" PetscInt64_FMT, d ? ", " : "", t->shape[d]);
  if (n < len) snprintf(buf + n, len - n, "]");
}

static const char *BaseName(const char path[])
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/*@C
  SpdReaderView - print the tensor listing: name, dtype, shape, bytes, file

  Collective

  Input Parameters:
+ reader - an open reader
- viewer - an ASCII viewer (NULL for stdout of the reader's communicator)

  Notes:
  This is the output of `specdyn inspect`. Tensors stored [in, out] (Keras kernels) are
  marked: specdyn analyses them transposed, as [out, in].

.seealso: `SpdReaderOpen()`
@*/
PetscErrorCode SpdReaderView(SpdReader r, PetscViewer viewer)
{
  PetscBool  isascii, anyinout = PETSC_FALSE;
  size_t     wname = 4, wshape = 5, wfile = 4, wbytes = 5;
  PetscInt64 total  = 0;
  PetscInt   nfiles = 0;
  char       shape[256], bytes[64];

  PetscFunctionBegin;
  PetscValidHeaderSpecific(r, SPD_READER_CLASSID, 1);
  if (!viewer) PetscCall(PetscViewerASCIIGetStdout(PetscObjectComm((PetscObject)r), &viewer));
  PetscValidHeaderSpecific(viewer, PETSC_VIEWER_CLASSID, 2);
  PetscCall(PetscObjectTypeCompare((PetscObject)viewer, PETSCVIEWERASCII, &isascii));
  if (!isascii) PetscFunctionReturn(0);
  PetscCall(PetscObjectPrintClassNamePrefixType((PetscObject)r, viewer));
  PetscCall(PetscViewerASCIIPushTab(viewer));
  PetscCall(PetscViewerASCIIPrintf(viewer, "path: %s\n", r->path));
  for (PetscInt i = 0; i < r->ntensors; i++) {
    const SpdTensorInfo *t       = &r->tensors[i];
    PetscBool            newfile = PETSC_TRUE;

    FormatShape(t, shape, sizeof(shape));
    PetscCall(PetscSNPrintf(bytes, sizeof(bytes), "%" PetscInt64_FMT, t->nbytes));
    wname  = PetscMax(wname, strlen(t->name));
    wshape = PetscMax(wshape, strlen(shape));
    wbytes = PetscMax(wbytes, strlen(bytes));
    wfile  = PetscMax(wfile, strlen(BaseName(t->file)));
    total += t->nbytes;
    if (t->in_out) anyinout = PETSC_TRUE;
    for (PetscInt j = 0; j < i && newfile; j++)
      if (!strcmp(r->tensors[j].file, t->file)) newfile = PETSC_FALSE;
    if (newfile) nfiles++;
  }
  if (r->model_config) PetscCall(PetscViewerASCIIPrintf(viewer, "model_config: %zu bytes of architecture JSON\n", strlen(r->model_config)));
  PetscCall(PetscViewerASCIIPrintf(viewer, "%-*s  %-5s  %-*s  %*s  file\n", (int)wname, "name", "dtype", (int)wshape, "shape", (int)wbytes, "bytes"));
  for (PetscInt i = 0; i < r->ntensors; i++) {
    const SpdTensorInfo *t = &r->tensors[i];

    FormatShape(t, shape, sizeof(shape));
    /* the file column is padded only when a marker follows it */
    PetscCall(PetscViewerASCIIPrintf(viewer, "%-*s  %-5s  %-*s  %*" PetscInt64_FMT "  %-*s%s\n", (int)wname, t->name, SpdDTypes[t->dtype], (int)wshape, shape, (int)wbytes, t->nbytes, anyinout ? (int)wfile : 0, BaseName(t->file), t->in_out ? "  [in,out]" : ""));
  }
  PetscCall(SpdFormatBytes(total, bytes, sizeof(bytes)));
  PetscCall(PetscViewerASCIIPrintf(viewer, "total: %" PetscInt_FMT " tensors, %" PetscInt64_FMT " bytes (%s) in %" PetscInt_FMT " file%s\n", r->ntensors, total, bytes, nfiles, nfiles == 1 ? "" : "s"));
  if (anyinout) PetscCall(PetscViewerASCIIPrintf(viewer, "note: tensors marked [in,out] are Keras kernels stored [in, out]; specdyn analyses them transposed, as [out, in]\n"));
  PetscCall(PetscViewerASCIIPopTab(viewer));
  PetscFunctionReturn(0);
}

/*@C
  SpdReaderDestroy - destroy a reader and set the pointer to NULL

  Collective
@*/
PetscErrorCode SpdReaderDestroy(SpdReader *r)
{
  PetscFunctionBegin;
  if (!*r) PetscFunctionReturn(0);
  PetscValidHeaderSpecific(*r, SPD_READER_CLASSID, 1);
  if (--((PetscObject)(*r))->refct > 0) {
    *r = NULL;
    PetscFunctionReturn(0);
  }
  if ((*r)->ops->destroy) PetscCall((*(*r)->ops->destroy)(*r));
  PetscCall(SpdReaderReset_Private(*r));
  PetscCall(PetscHeaderDestroy(r));
  PetscFunctionReturn(0);
}
