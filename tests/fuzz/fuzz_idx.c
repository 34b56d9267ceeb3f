/* libFuzzer target: IDX images + labels (MNIST format, plain or gzipped) through
   SpdDataLoadIDX.
   Input: byte 0 = flags (bit 0: gzip the images part, bit 1: gzip the labels part,
   bits 2-3: nmax = 0 (all), 1, 3 or 1000, bit 4: the images part is a gzip stream the
   harness inflates before writing, so that a short input can stand for a large file,
   e.g. a gzipped IDX file of 1 GiB of zeros), bytes 1-2 = length of the images part
   (little-endian, clipped), then the images file, then the labels file. Parts that are
   not gzipped by the harness may still be gzip streams (zlib detects them). */
#include "fuzzutil.h"
#include <specdyn/data.h>
#include <zlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  SpdFuzzInitialize();
  return 0;
}

static void WritePart(const char name[], const uint8_t *p, size_t n, int gz, char path[], size_t len)
{
  if (!gz) {
    SpdFuzzWriteFile(name, p, n, path, len);
  } else {
    gzFile f;

    SpdFuzzWriteFile(name, NULL, 0, path, len);
    f = gzopen(path, "wb");
    if (!f || (n && gzwrite(f, p, (unsigned)n) != (int)n) || gzclose(f) != Z_OK) abort();
  }
}

/* Inflate a gzip stream (at most 64 MiB out); NULL if it is not one. */
static uint8_t *Inflate(const uint8_t *p, size_t n, size_t *outlen)
{
  z_stream z;
  size_t   cap = 1 << 16;
  uint8_t *out = (uint8_t *)malloc(cap);
  int      st  = Z_OK;

  if (!out) abort();
  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) abort();
  z.next_in  = (Bytef *)p;
  z.avail_in = (uInt)n;
  while (st == Z_OK) {
    if (z.total_out == cap) {
      if (cap >= ((size_t)64 << 20)) break;
      cap *= 2;
      out = (uint8_t *)realloc(out, cap);
      if (!out) abort();
    }
    z.next_out  = out + z.total_out;
    z.avail_out = (uInt)(cap - z.total_out);
    st          = inflate(&z, Z_NO_FLUSH);
  }
  *outlen = z.total_out;
  inflateEnd(&z);
  if (st != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const PetscInt nmaxes[4] = { 0, 1, 3, 1000 };
  char                  ipath[PETSC_MAX_PATH_LEN], lpath[PETSC_MAX_PATH_LEN];
  size_t                ni;
  SpdData               d = NULL;
  PetscErrorCode        ierr;

  if (size < 3) return 0;
  ni = (size_t)data[1] | ((size_t)data[2] << 8);
  if (ni > size - 3) ni = size - 3;
  if (data[0] & 0x10) {
    size_t   nx;
    uint8_t *x = Inflate(data + 3, ni, &nx);

    if (!x) return 0;
    WritePart("images.idx", x, nx, data[0] & 1, ipath, sizeof(ipath));
    free(x);
  } else
    WritePart("images.idx", data + 3, ni, data[0] & 1, ipath, sizeof(ipath));
  WritePart("labels.idx", data + 3 + ni, size - 3 - ni, data[0] & 2, lpath, sizeof(lpath));
  SpdFuzzCapture(ierr, SpdDataLoadIDX(PETSC_COMM_SELF, ipath, lpath, nmaxes[(data[0] >> 2) & 3], &d));
  if (!ierr) {
    for (PetscInt i = 0; i < d->nlocal; i++)
      if (d->labels[i] < 0 || d->labels[i] >= d->nclasses) {
        fprintf(stderr, "fuzz finding: label %d outside [0, %d)\n", (int)d->labels[i], (int)d->nclasses);
        abort();
      }
  }
  SpdFuzzMust(SpdDataDestroy(&d));
  return 0;
}
