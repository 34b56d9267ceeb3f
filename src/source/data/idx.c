/* Data sets from IDX files (LeCun's MNIST format, also Fashion-MNIST), plain or gzipped.

   Format: 4 magic bytes 00 00 <type> <ndims>, then ndims big-endian uint32 dimensions,
   then the values row-major. specdyn reads type 0x08 (unsigned byte): images n x r x c
   (or any n x d1 x ... with at least 2 dimensions), scaled to [0, 1] by 1/255, and labels
   n (1 dimension).

   Every rank opens both files through zlib, which reads plain files as they are
   (gzdirect) and gzipped ones by decompressing; each rank validates the headers (the same
   outcome on every rank, made collective) and reads only its own samples: it seeks to the
   byte offset of its first sample and reads its block in chunks. A gzip stream cannot be
   seeked: gzseek decompresses (and discards) everything before the offset, so with gzip
   files rank r decompresses the file up to the end of its own block; that costs time
   (the last rank decompresses up to sample n), never memory: a rank holds its block and
   one chunk, not the file. */
#include "dataimpl.h"
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <zlib.h>

typedef struct {
  const char *path;
  const char *role; /* "images" or "labels" */
  gzFile      f;
  int         ndims;
  PetscInt64  dims[255];
  PetscInt64  rowlen; /* bytes per sample: product of dims[1..] */
  PetscInt64  header; /* bytes before the data */
} IDXFile;

static PetscErrorCode IDXOpen(IDXFile *x, int minnd, int maxnd)
{
  unsigned char h[4];
  int           got;
  PetscInt64    need;

  PetscFunctionBegin;
  x->f = gzopen(x->path, "rb");
  PetscCheck(x->f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open the IDX %s file (%s); give the path of an IDX file (e.g. train-%s-idx%d-ubyte.gz of MNIST/Fashion-MNIST)", x->path, x->role, errno ? strerror(errno) : "zlib could not open it", x->role, minnd == 1 ? 1 : 3);
  PetscCheck(gzbuffer(x->f, 1 << 17) == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "%s: gzbuffer failed", x->path);
  got = gzread(x->f, h, 4);
  PetscCheck(got == 4, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file is %s; an IDX file starts with 4 magic bytes and the dimensions", x->path, x->role, got < 0 ? "unreadable (corrupt gzip stream)" : "shorter than its 4-byte magic number");
  PetscCheck(h[0] == 0 && h[1] == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: not an IDX file (magic bytes %02x %02x %02x %02x; IDX files start with 00 00 08 <ndims>)", x->path, h[0], h[1], h[2], h[3]);
  PetscCheck(h[2] == 0x08, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: the IDX %s file holds values of type 0x%02x (0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double); specdyn reads unsigned-byte (0x08) IDX files such as MNIST and Fashion-MNIST", x->path, x->role, h[2]);
  x->ndims = h[3];
  PetscCheck(x->ndims >= minnd && x->ndims <= maxnd, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file has %d dimensions (magic 00 00 08 %02x); %s", x->path, x->role, x->ndims, h[3], minnd == 1 ? "labels must have 1 dimension (n)" : "images must have at least 2 (n x d, usually n x rows x cols)");
  x->rowlen = 1;
  for (int k = 0; k < x->ndims; k++) {
    unsigned char b[4];

    got = gzread(x->f, b, 4);
    PetscCheck(got == 4, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file ends inside its header (dimension %d of %d missing); the file is truncated", x->path, x->role, k + 1, x->ndims);
    x->dims[k] = ((PetscInt64)b[0] << 24) | ((PetscInt64)b[1] << 16) | ((PetscInt64)b[2] << 8) | (PetscInt64)b[3];
    PetscCheck(x->dims[k] >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file has dimension %d equal to 0; the header is corrupt or the file empty", x->path, x->role, k);
    if (k > 0) {
      PetscCheck(x->rowlen <= PETSC_MAX_INT / x->dims[k], PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: IDX samples of more than %d values are not supported", x->path, (int)PETSC_MAX_INT);
      x->rowlen *= x->dims[k];
    }
  }
  x->header = 4 + 4 * (PetscInt64)x->ndims;
  need      = x->header + x->dims[0] * x->rowlen;
  if (gzdirect(x->f)) { /* plain file: its size must match the header */
    struct stat st;

    PetscCheck(!stat(x->path, &st), PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot stat the file (%s)", x->path, strerror(errno));
    PetscCheck((PetscInt64)st.st_size >= need, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file is truncated: its header announces %" PetscInt64_FMT " samples (%" PetscInt64_FMT " bytes with the header) but the file has %" PetscInt64_FMT " bytes", x->path, x->role, x->dims[0], need, (PetscInt64)st.st_size);
    PetscCheck((PetscInt64)st.st_size == need, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file has %" PetscInt64_FMT " bytes but its header announces %" PetscInt64_FMT " (%" PetscInt64_FMT " samples); the header's dimensions are wrong", x->path, x->role, (PetscInt64)st.st_size, need, x->dims[0]);
  }
  PetscFunctionReturn(0);
}

/* Read bytes [off, off + len) of the data part of x into chunk-sized pieces, calling
   put(ctx, first byte index, bytes, count) for each piece. */
static PetscErrorCode IDXReadRange(IDXFile *x, PetscInt64 off, PetscInt64 len, unsigned char *chunk, PetscInt64 chunklen, void (*put)(void *, PetscInt64, const unsigned char *, PetscInt64), void *ctx)
{
  z_off_t pos;

  PetscFunctionBegin;
  if (len == 0) PetscFunctionReturn(0);
  pos = gzseek(x->f, (z_off_t)(x->header + off), SEEK_SET); /* gzip: decompresses up to here */
  PetscCheck(pos == (z_off_t)(x->header + off), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file ends before byte %" PetscInt64_FMT " (sample %" PetscInt64_FMT "); the file is truncated", x->path, x->role, x->header + off, off / x->rowlen);
  for (PetscInt64 done = 0; done < len;) {
    PetscInt64 want = PetscMin(chunklen, len - done);
    int        got  = gzread(x->f, chunk, (unsigned)want);

    PetscCheck(got == (int)want, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file ends (or its gzip stream breaks) inside sample %" PetscInt64_FMT " although the header announces %" PetscInt64_FMT " samples; the file is truncated or corrupt", x->path, x->role, (off + done + PetscMax(got, 0)) / x->rowlen, x->dims[0]);
    put(ctx, done, chunk, want);
    done += want;
  }
  PetscFunctionReturn(0);
}

static void PutPixels(void *ctx, PetscInt64 at, const unsigned char *b, PetscInt64 cnt)
{
  PetscReal *X = (PetscReal *)ctx + at;

  for (PetscInt64 i = 0; i < cnt; i++) X[i] = b[i] / 255.0;
}

static void PutLabels(void *ctx, PetscInt64 at, const unsigned char *b, PetscInt64 cnt)
{
  PetscInt *l = (PetscInt *)ctx + at;

  for (PetscInt64 i = 0; i < cnt; i++) l[i] = b[i];
}

static PetscErrorCode ReadHeaders(IDXFile *im, IDXFile *lb)
{
  PetscFunctionBegin;
  PetscCall(IDXOpen(im, 2, 255));
  PetscCall(IDXOpen(lb, 1, 1));
  PetscCheck(im->dims[0] == lb->dims[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s has %" PetscInt64_FMT " images but %s has %" PetscInt64_FMT " labels; give the labels file that belongs to the images (e.g. train-images with train-labels)", im->path, im->dims[0], lb->path, lb->dims[0]);
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadBlock(SpdData data, IDXFile *im, IDXFile *lb)
{
  PetscInt64     rows;
  unsigned char *chunk;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(SpdDataGetBatchRows_Private(data->comm, (size_t)im->rowlen, &rows));
  rows = PetscMin(rows, PetscMax((PetscInt64)data->nlocal, (PetscInt64)1));
  PetscCall(PetscMalloc1((size_t)(rows * im->rowlen), &chunk));
  ierr = IDXReadRange(im, (PetscInt64)data->start * im->rowlen, (PetscInt64)data->nlocal * im->rowlen, chunk, rows * im->rowlen, PutPixels, data->X);
  if (!ierr) ierr = IDXReadRange(lb, data->start, data->nlocal, chunk, rows * im->rowlen, PutLabels, data->labels);
  PetscCall(PetscFree(chunk));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* A gzip file's size is only known by decompressing it: before any memory is reserved
   for n samples, check that the data part really holds nbytes (a corrupt header could
   otherwise make every rank reserve gigabytes). gzseek decompresses up to the offset. */
static PetscErrorCode IDXProbe(IDXFile *x, PetscInt64 nbytes)
{
  unsigned char c, buf[65536];
  z_off_t       pos;
  PetscInt64    have = 0, rowlen = x->rowlen > 0 ? x->rowlen : 1;
  int           got;

  PetscFunctionBegin;
  if (gzdirect(x->f) || nbytes <= 0) PetscFunctionReturn(0); /* plain files: size checked at open */
  pos = gzseek(x->f, (z_off_t)(x->header + nbytes - 1), SEEK_SET);
  if (pos < 0 || gzread(x->f, &c, 1) != 1) { /* count what is there, for the message */
    PetscCheck(gzrewind(x->f) == 0 && gzseek(x->f, (z_off_t)x->header, SEEK_SET) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: the IDX %s file is truncated or corrupt (the gzip stream cannot be read back)", x->path, x->role);
    while (have < nbytes && (got = gzread(x->f, buf, (unsigned)PetscMin((PetscInt64)sizeof(buf), nbytes - have))) > 0) have += got;
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX %s file is truncated or corrupt: its header announces %" PetscInt64_FMT " samples but the data end inside sample %" PetscInt64_FMT, x->path, x->role, x->dims[0], have / rowlen);
  }
  PetscCheck(gzrewind(x->f) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot rewind the gzip stream", x->path);
  PetscFunctionReturn(0);
}

static PetscErrorCode LoadIDX(SpdData data, const char images[], const char labels[], PetscInt nmax)
{
  MPI_Comm       comm = data->comm;
  IDXFile        im, lb;
  PetscErrorCode lerr      = 0;
  char           msg[4096] = "";
  PetscInt64     n;
  PetscInt       lmax = -1, gmax;
  PetscBool      any;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&im, sizeof(im)));
  PetscCall(PetscMemzero(&lb, sizeof(lb)));
  im.path = images;
  im.role = "images";
  lb.path = labels;
  lb.role = "labels";

  errno = 0;
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  lerr = ReadHeaders(&im, &lb);
  PetscCall(SpdErrorCapturePop());
  PetscCall(SpdDataAnyError_Private(comm, lerr, &any));
  if (!any) {
    n = nmax > 0 ? PetscMin((PetscInt64)nmax, im.dims[0]) : im.dims[0];
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    lerr = IDXProbe(&im, n * im.rowlen);
    if (!lerr) lerr = IDXProbe(&lb, n);
    PetscCall(SpdErrorCapturePop());
    PetscCall(SpdDataAnyError_Private(comm, lerr, &any));
  }
  if (!any) {
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    lerr = SpdDataSetSizes_Private(data, n, im.rowlen); /* fails on every rank or none */
    PetscCall(SpdErrorCapturePop());
  }
  if (!any && !lerr) {
    PetscCall(PetscMalloc1(data->nlocal + 1, &data->labels));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    lerr = ReadBlock(data, &im, &lb);
    PetscCall(SpdErrorCapturePop());
  }
  if (im.f) gzclose(im.f);
  if (lb.f) gzclose(lb.f);
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));

  for (PetscInt i = 0; i < data->nlocal; i++) lmax = PetscMax(lmax, data->labels[i]);
  PetscCallMPI(MPI_Allreduce(&lmax, &gmax, 1, MPIU_INT, MPI_MAX, comm));
  data->nclasses = PetscMax(10, gmax + 1);
  PetscFunctionReturn(0);
}

/*@C
  SpdDataLoadIDX - load images and labels from IDX files (MNIST, Fashion-MNIST), plain or
  gzipped, each rank reading only its own samples

  Collective

  Input Parameters:
+ comm   - the ranks that share the samples
. images - IDX file of unsigned bytes, n x rows x cols (any n x d1 x ...); pixels are scaled to [0, 1]
. labels - IDX file of unsigned bytes, n
- nmax   - if > 0, keep only the first nmax samples (all of them if the files have fewer)

  Output Parameter:
. data - the data set (classification; nclasses = 10, or max label + 1 if larger)

  Options:
. -spd_data_batch_rows <rows> - samples per read chunk (default: about 256 MiB)

  Notes:
  Gzipped files cannot be seeked: each rank decompresses from the start of the file up to
  the end of its own block, holding only its block in memory. Bad magic numbers, types or
  dimensions, mismatched sample counts and truncated files are errors that name the file.

.seealso: `SpdDataLoadHDF5()`, `SpdDataDestroy()`
@*/
PetscErrorCode SpdDataLoadIDX(MPI_Comm comm, const char images[], const char labels[], PetscInt nmax, SpdData *data)
{
  SpdData        d;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscValidPointer(data, 5);
  *data = NULL;
  PetscCheck(images && images[0] && labels && labels[0], PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdDataLoadIDX: give both the images and the labels IDX files");
  PetscCall(SpdDataCreate_Private(comm, images, &d));
  ierr = LoadIDX(d, images, labels, nmax);
  if (ierr) {
    PetscCall(SpdDataDestroy(&d));
    PetscCall(ierr);
  }
  *data = d;
  PetscFunctionReturn(0);
}
