/* The safetensors reader: single files and sharded models (*.safetensors.index.json).

   Format (https://github.com/huggingface/safetensors, DESIGN.md §5): an unsigned 64-bit
   little-endian header length N, N bytes of UTF-8 JSON
     {"name": {"dtype": "F32", "shape": [m, n], "data_offsets": [b, e]}, ...,
      "__metadata__": {"key": "value", ...}}
   (padded with spaces), then the data; tensor bytes [b, e) are relative to byte 8 + N,
   row-major, little-endian. A sharded model is an index JSON
     {"metadata": {...}, "weight_map": {"name": "model-00001-of-00002.safetensors", ...}}
   whose shard names are relative to the folder of the index.

   Metadata is validated strictly on rank 0 (every check names the file and the tensor):
   header-length cap and bounds, well-formed JSON, field types, dtype, shape entries
   (non-negative integers, product without overflow), byte length = prod(shape) x element
   size, offsets inside the file, no two tensors overlapping, no duplicate names.

   Blocks are read with MPI-IO: the file view is a 2-D subarray of the tensor's stored
   matrix (or a contiguous run of rows when whole rows are asked), read with
   MPI_File_read_all in chunks of at most 256 MiB per rank (Open MPI 4.1 has no
   large-count calls), then widened to double. */
#include <specdyn/private/readerimpl.h>
#include <cJSON.h>
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <inttypes.h>
#include <stdint.h>

#define SPD_SAFETENSORS_HEADER_MAX ((uint64_t)100000000) /* 100 MB, the cap the reference implementation uses */
#define SPD_SAFETENSORS_INDEX_MAX  ((int64_t)100000000)
#define SPD_SAFETENSORS_CHUNK      ((int64_t)256 << 20) /* bytes per rank per MPI_File_read_all */
#define SPD_JSON_MAX_INT           9007199254740992.0 /* 2^53: larger integers are not exact in JSON numbers */

static const char SupportedDTypes[] = "F64, F32, F16, BF16, I64, I32, I16, I8, U8, U16, U32, U64, BOOL";

static PetscBool EndsWith(const char s[], const char suffix[])
{
  size_t ls = strlen(s), lx = strlen(suffix);
  return (ls >= lx && !strcmp(s + ls - lx, suffix)) ? PETSC_TRUE : PETSC_FALSE;
}

/* A JSON number that must be a non-negative integer below 2^53. */
static PetscErrorCode GetJSONInt64(const cJSON *v, const char file[], const char tensor[], const char what[], PetscInt64 *out)
{
  double d;

  PetscFunctionBegin;
  PetscCheck(cJSON_IsNumber(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': %s must be a number in the safetensors header", file, tensor, what);
  d = v->valuedouble;
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': %s is negative (%g); the header is corrupt", file, tensor, what, d);
  PetscCheck(d == floor(d), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': %s is not an integer (%g); the header is corrupt", file, tensor, what, d);
  PetscCheck(d < SPD_JSON_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': %s (%g) is larger than 2^53, beyond any real file; the header is corrupt", file, tensor, what, d);
  *out = (PetscInt64)d;
  PetscFunctionReturn(0);
}

static void FormatShapeJSON(const cJSON *shape, char buf[], size_t len)
{
  char  *p = cJSON_PrintUnformatted(shape);
  size_t n;

  snprintf(buf, len, "%s", p ? p : "?");
  if (p) cJSON_free(p);
  /* keep messages short */
  n = strlen(buf);
  if (n + 1 >= len && len > 4) strcpy(buf + len - 4, "...");
}

/* One tensor entry of a header. */
static PetscErrorCode ParseTensorEntry(const cJSON *e, const char file[], PetscInt64 datastart, PetscInt64 filesize, SpdTensorInfo *t)
{
  const char  *name = e->string;
  const cJSON *dtype, *shape, *offs, *v;
  PetscInt64   prod = 1, b, end;
  size_t       es;
  int          nd;
  char         sbuf[128];

  PetscFunctionBegin;
  PetscCheck(strlen(name) < SPD_MAX_NAME, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: tensor name '%.60s...' is %zu characters long; specdyn keeps names up to %d characters", file, name, strlen(name), SPD_MAX_NAME - 1);
  PetscCheck(cJSON_IsObject(e), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': its header entry is not a JSON object with \"dtype\", \"shape\" and \"data_offsets\"; the header is corrupt", file, name);
  dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
  offs  = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  PetscCheck(dtype, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' has no \"dtype\" in the safetensors header; the header is corrupt", file, name);
  PetscCheck(cJSON_IsString(dtype), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': \"dtype\" must be a string such as \"F32\"; the header is corrupt", file, name);
  PetscCheck(shape, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' has no \"shape\" in the safetensors header; the header is corrupt", file, name);
  PetscCheck(cJSON_IsArray(shape), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': \"shape\" must be an array of integers; the header is corrupt", file, name);
  PetscCheck(offs, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' has no \"data_offsets\" in the safetensors header; the header is corrupt", file, name);
  PetscCheck(cJSON_IsArray(offs) && cJSON_GetArraySize(offs) == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': \"data_offsets\" must be an array [begin, end] of two integers; the header is corrupt", file, name);

  PetscCall(PetscStrncpy(t->name, name, sizeof(t->name)));
  PetscCall(PetscStrncpy(t->file, file, sizeof(t->file)));
  t->dtype = SpdDTypeFromString_Private(dtype->valuestring);
  PetscCheck(t->dtype != SPD_DTYPE_UNKNOWN, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: tensor '%s' has dtype \"%s\", which specdyn does not read; supported dtypes: %s. Convert the checkpoint (e.g. to F32) first", file, name, dtype->valuestring, SupportedDTypes);
  es = SpdDTypeSize(t->dtype);

  nd = cJSON_GetArraySize(shape);
  PetscCheck(nd <= SPD_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: tensor '%s' has %d dimensions; specdyn reads at most %d", file, name, nd, SPD_MAX_DIMS);
  FormatShapeJSON(shape, sbuf, sizeof(sbuf));
  t->ndim = nd;
  nd      = 0;
  cJSON_ArrayForEach(v, shape)
  {
    PetscInt64 d;

    PetscCheck(cJSON_IsNumber(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': shape %s holds a non-number; the header is corrupt", file, name, sbuf);
    PetscCheck(v->valuedouble >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': shape %s has a negative dimension; the header is corrupt", file, name, sbuf);
    PetscCall(GetJSONInt64(v, file, name, "a shape entry", &d));
    PetscCheck(d == 0 || prod <= INT64_MAX / (PetscInt64)es / d, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': shape %s has more elements than a 64-bit byte count holds; the header is corrupt", file, name, sbuf);
    prod *= d;
    t->shape[nd++] = d;
  }
  t->nbytes = prod * (PetscInt64)es;

  PetscCall(GetJSONInt64(cJSON_GetArrayItem(offs, 0), file, name, "data_offsets[0]", &b));
  PetscCall(GetJSONInt64(cJSON_GetArrayItem(offs, 1), file, name, "data_offsets[1]", &end));
  PetscCheck(b <= end, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s': data_offsets [%" PetscInt64_FMT ", %" PetscInt64_FMT "] begin after they end; the header is corrupt", file, name, b, end);
  PetscCheck(end - b == t->nbytes, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
      "%s: tensor '%s' has %" PetscInt64_FMT " bytes (data_offsets [%" PetscInt64_FMT ", %" PetscInt64_FMT "]) but shape %s of dtype %s needs %" PetscInt64_FMT " (%" PetscInt64_FMT " elements x %zu bytes); the header is inconsistent", file, name,
      end - b, b, end, sbuf, SpdDTypes[t->dtype], t->nbytes, prod, es);
  PetscCheck(datastart + end <= filesize, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
      "%s: tensor '%s' ends at byte %" PetscInt64_FMT " (data_offsets end %" PetscInt64_FMT " after the %" PetscInt64_FMT "-byte header block) but the file has only %" PetscInt64_FMT " bytes; the file is truncated: download or save it again", file, name,
      datastart + end, end, datastart, filesize);
  t->offset = datastart + b;
  PetscFunctionReturn(0);
}

typedef struct {
  const char *name;
  PetscInt64  begin, end;
} SpdRange;

static int CompareRange(const void *a, const void *b)
{
  const SpdRange *x = (const SpdRange *)a, *y = (const SpdRange *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : (x->end > y->end);
}

static int CompareName(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* No name appears twice (JSON objects may repeat keys). */
static PetscErrorCode CheckDuplicateNames(const char file[], const char what[], const SpdTensorInfo *t, PetscInt n)
{
  const char **names;

  PetscFunctionBegin;
  if (n < 2) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(n, &names));
  for (PetscInt i = 0; i < n; i++) names[i] = t[i].name;
  qsort(names, (size_t)n, sizeof(*names), CompareName);
  for (PetscInt i = 1; i < n; i++) {
    if (!strcmp(names[i], names[i - 1])) {
      char name[SPD_MAX_NAME];

      PetscCall(PetscStrncpy(name, names[i], sizeof(name)));
      PetscCall(PetscFree(names));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensor '%s' appears twice in the %s; the file is corrupt", file, name, what);
    }
  }
  PetscCall(PetscFree(names));
  PetscFunctionReturn(0);
}

/* No two tensors of one file share bytes. */
static PetscErrorCode CheckOverlaps(const char file[], const SpdTensorInfo *t, PetscInt n, PetscInt64 datastart)
{
  SpdRange *rg;
  PetscInt  last = -1; /* the non-empty range reaching furthest so far */

  PetscFunctionBegin;
  if (n < 2) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(n, &rg));
  for (PetscInt i = 0; i < n; i++) {
    rg[i].name  = t[i].name;
    rg[i].begin = t[i].offset - datastart;
    rg[i].end   = rg[i].begin + t[i].nbytes;
  }
  qsort(rg, (size_t)n, sizeof(*rg), CompareRange);
  for (PetscInt i = 0; i < n; i++) {
    if (rg[i].end == rg[i].begin) continue;
    if (last >= 0 && rg[i].begin < rg[last].end) {
      char       a[SPD_MAX_NAME], bn[SPD_MAX_NAME];
      PetscInt64 ab = rg[last].begin, ae = rg[last].end, bb = rg[i].begin, be = rg[i].end;

      PetscCall(PetscStrncpy(a, rg[last].name, sizeof(a)));
      PetscCall(PetscStrncpy(bn, rg[i].name, sizeof(bn)));
      PetscCall(PetscFree(rg));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: tensors '%s' (data_offsets [%" PetscInt64_FMT ", %" PetscInt64_FMT "]) and '%s' (data_offsets [%" PetscInt64_FMT ", %" PetscInt64_FMT "]) overlap; the header is corrupt", file, a, ab, ae, bn, bb, be);
    }
    if (last < 0 || rg[i].end > rg[last].end) last = i;
  }
  PetscCall(PetscFree(rg));
  PetscFunctionReturn(0);
}

/* Parse the header bytes buf[0..n) of `file`; append its tensors to r. */
static PetscErrorCode ParseHeaderJSON(SpdReader r, const char file[], const char *buf, size_t n, PetscInt64 filesize)
{
  const char    *end = NULL;
  cJSON         *root, *e;
  PetscInt64     datastart = 8 + (PetscInt64)n;
  PetscInt       first     = r->ntensors;
  PetscErrorCode ierr      = 0;

  PetscFunctionBegin;
  root = cJSON_ParseWithLengthOpts(buf, n, &end, 0);
  if (!root) {
    const char *at  = cJSON_GetErrorPtr();
    size_t      pos = (at && at >= buf && at <= buf + n) ? (size_t)(at - buf) : 0;
    char        ctx[48];
    size_t      k;

    for (k = 0; k + 1 < sizeof(ctx) && pos + k < n && buf[pos + k]; k++) ctx[k] = (buf[pos + k] >= 32 && buf[pos + k] < 127) ? buf[pos + k] : '?';
    ctx[k] = 0;
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the safetensors JSON header (%zu bytes) is malformed near byte %zu (\"%s\"); the file is corrupt or not a safetensors file", file, n, pos, ctx);
  }
  for (const char *p = end; p && p < buf + n; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != 0) {
      cJSON_Delete(root);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: unexpected bytes after the JSON object at byte %zu of the %zu-byte header; the file is corrupt", file, (size_t)(p - buf), n);
    }
  }
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the safetensors header is JSON but not an object {name: {dtype, shape, data_offsets}}; the file is not a safetensors file", file);
  }
  cJSON_ArrayForEach(e, root)
  {
    SpdTensorInfo *t;

    if (!e->string) continue;
    if (!strcmp(e->string, "__metadata__")) {
      if (!cJSON_IsObject(e) && !cJSON_IsNull(e)) {
        cJSON_Delete(root);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: \"__metadata__\" must be a JSON object of strings; the header is corrupt", file);
      }
      continue;
    }
    ierr = SpdReaderAddTensor_Private(r, &t);
    if (!ierr) ierr = ParseTensorEntry(e, file, datastart, filesize, t);
    if (ierr) break;
  }
  cJSON_Delete(root);
  PetscCall(ierr);
  PetscCall(CheckDuplicateNames(file, "safetensors header", r->tensors + first, r->ntensors - first));
  PetscCall(CheckOverlaps(file, r->tensors + first, r->ntensors - first, datastart));
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadHeaderFile(FILE *fp, const char file[], PetscInt64 size, char **buf, size_t *n)
{
  unsigned char b8[8];
  uint64_t      N = 0;

  PetscFunctionBegin;
  PetscCheck(size >= 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the file has %" PetscInt64_FMT " bytes, fewer than the 8-byte header length a safetensors file starts with; the file is truncated or not a safetensors file", file, size);
  PetscCheck(fread(b8, 1, 8, fp) == 8, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read the 8-byte header length: %s", file, strerror(errno));
  for (int i = 7; i >= 0; i--) N = (N << 8) | b8[i];
  PetscCheck(N <= SPD_SAFETENSORS_HEADER_MAX, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the header length is %" PRIu64 " bytes, above the %" PRIu64 "-byte cap for safetensors headers; the file is corrupt or not a safetensors file", file, N, SPD_SAFETENSORS_HEADER_MAX);
  PetscCheck((PetscInt64)N <= size - 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the header length is %" PRIu64 " bytes but only %" PetscInt64_FMT " bytes follow it; the file is truncated: download or save it again", file, N, size - 8);
  PetscCheck(N >= 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the header length is %" PRIu64 " bytes, too short for a JSON object; the file is corrupt", file, N);
  PetscCall(PetscMalloc1(N + 1, buf));
  if (fread(*buf, 1, N, fp) != N) {
    PetscCall(PetscFree(*buf));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read the %" PRIu64 "-byte header", file, N);
  }
  (*buf)[N] = 0;
  *n        = (size_t)N;
  PetscFunctionReturn(0);
}

/* Parse the header of one safetensors file and append its tensors to r. */
static PetscErrorCode ParseSafetensorsFile(SpdReader r, const char file[])
{
  FILE          *fp;
  struct stat    st;
  char          *buf = NULL;
  size_t         n   = 0;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  fp = fopen(file, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open the safetensors file: %s", file, strerror(errno));
  if (fstat(fileno(fp), &st)) {
    fclose(fp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot stat the file: %s", file, strerror(errno));
  }
  ierr = ReadHeaderFile(fp, file, (PetscInt64)st.st_size, &buf, &n);
  fclose(fp);
  PetscCall(ierr);
  ierr = ParseHeaderJSON(r, file, buf, n, (PetscInt64)st.st_size);
  PetscCall(PetscFree(buf));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

typedef struct {
  const char *tensor; /* name in the weight_map                */
  PetscInt    shard; /* index into the list of distinct shards */
} SpdWeightMapEntry;

/* The index part that needs the parsed JSON; shards[] receives the distinct shard paths. */
static PetscErrorCode ParseIndex(SpdReader r, const char index[], cJSON *root)
{
  cJSON             *wm, *e;
  char               dir[PETSC_MAX_PATH_LEN], **shards = NULL;
  PetscInt           nshards = 0, nw = 0, k = 0;
  PetscInt          *first = NULL, *last = NULL;
  SpdWeightMapEntry *w     = NULL;
  SpdTensorInfo     *table = NULL;
  const char        *slash;
  PetscErrorCode     ierr = 0;

  PetscFunctionBegin;
  PetscCheck(cJSON_IsObject(root), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: a sharded safetensors index must be a JSON object with a \"weight_map\"", index);
  wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
  PetscCheck(wm, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the index has no \"weight_map\"; a sharded safetensors index maps every tensor name to its shard file", index);
  PetscCheck(cJSON_IsObject(wm), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: \"weight_map\" must be an object {tensor: shard file}", index);
  nw = cJSON_GetArraySize(wm);
  PetscCheck(nw > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: \"weight_map\" is empty; the index lists no tensors", index);
  slash = strrchr(index, '/');
  if (slash)
    PetscCall(PetscStrncpy(dir, index, PetscMin((size_t)(slash - index) + 2, sizeof(dir))));
  else
    dir[0] = 0;

  PetscCall(PetscCalloc2(nw, &w, nw, &shards));
  cJSON_ArrayForEach(e, wm)
  {
    char path[PETSC_MAX_PATH_LEN];

    if (!cJSON_IsString(e) || !e->valuestring[0]) {
      ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL, "%s: weight_map entry for tensor '%s' must be a shard file name (a string)", index, e->string);
      goto cleanup;
    }
    if (e->valuestring[0] == '/')
      PetscCall(PetscStrncpy(path, e->valuestring, sizeof(path)));
    else
      PetscCall(PetscSNPrintf(path, sizeof(path), "%s%s", dir, e->valuestring));
    w[k].tensor = e->string;
    w[k].shard  = -1;
    for (PetscInt s = 0; s < nshards; s++)
      if (!strcmp(shards[s], path)) w[k].shard = s;
    if (w[k].shard < 0) {
      struct stat st;

      if (stat(path, &st)) {
        ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_OPEN, PETSC_ERROR_INITIAL, "%s: the index maps tensor '%s' to shard %s, which cannot be opened (%s); the shard is missing: copy all shards next to the index", index, e->string, path, strerror(errno));
        goto cleanup;
      }
      PetscCall(PetscStrallocpy(path, &shards[nshards]));
      w[k].shard = nshards++;
    }
    k++;
  }
  /* parse each shard's header once */
  PetscCall(PetscMalloc2(nshards, &first, nshards, &last));
  for (PetscInt s = 0; s < nshards; s++) {
    first[s] = r->ntensors;
    ierr     = ParseSafetensorsFile(r, shards[s]);
    if (ierr) goto cleanup;
    last[s] = r->ntensors;
  }
  /* the table in weight_map order, each tensor found in the shard the index names */
  PetscCall(PetscMalloc1(nw, &table));
  for (PetscInt i = 0; i < nw; i++) {
    PetscInt s = w[i].shard, found = -1;

    for (PetscInt j = first[s]; j < last[s] && found < 0; j++)
      if (!strcmp(r->tensors[j].name, w[i].tensor)) found = j;
    if (found < 0) {
      ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_UNEXPECTED, PETSC_ERROR_INITIAL, "%s: the index maps tensor '%s' to shard %s, but that shard has no tensor '%s'; the index and the shards do not match (save the model again or fix the index)", index, w[i].tensor, shards[s], w[i].tensor);
      goto cleanup;
    }
    table[i] = r->tensors[found];
  }
  PetscCall(PetscFree(r->tensors));
  r->tensors    = table;
  r->ntensors   = nw;
  r->maxtensors = nw;
  table         = NULL;
  ierr          = CheckDuplicateNames(index, "weight_map", r->tensors, r->ntensors);
cleanup:
  PetscCall(PetscFree(table));
  for (PetscInt s = 0; s < nshards; s++) PetscCall(PetscFree(shards[s]));
  PetscCall(PetscFree2(w, shards));
  PetscCall(PetscFree2(first, last));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode OpenIndex(SpdReader r, const char index[])
{
  FILE          *fp;
  struct stat    st;
  char          *buf;
  cJSON         *root;
  size_t         n;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  fp = fopen(index, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open the sharded safetensors index: %s", index, strerror(errno));
  if (fstat(fileno(fp), &st) || st.st_size > SPD_SAFETENSORS_INDEX_MAX) {
    fclose(fp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the index is larger than %" PetscInt64_FMT " bytes or cannot be read; is it really a *.safetensors.index.json?", index, (PetscInt64)SPD_SAFETENSORS_INDEX_MAX);
  }
  n = (size_t)st.st_size;
  PetscCall(PetscMalloc1(n + 1, &buf));
  if (fread(buf, 1, n, fp) != n) {
    fclose(fp);
    PetscCall(PetscFree(buf));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read the index", index);
  }
  fclose(fp);
  buf[n] = 0;
  root   = cJSON_ParseWithLength(buf, n);
  PetscCall(PetscFree(buf));
  PetscCheck(root, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the sharded safetensors index is not well-formed JSON; the file is corrupt", index);
  ierr = ParseIndex(r, index, root);
  cJSON_Delete(root);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdReaderOpenMeta_Safetensors(SpdReader r, const char path[])
{
  FILE *fp;
  int   c = 0;

  PetscFunctionBegin;
  /* an index is JSON from its first byte; a safetensors file starts with a binary length */
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open the checkpoint: %s", path, strerror(errno));
  do c = fgetc(fp);
  while (c == ' ' || c == '\n' || c == '\r' || c == '\t');
  fclose(fp);
  if (EndsWith(path, ".json") || c == '{')
    PetscCall(OpenIndex(r, path));
  else
    PetscCall(ParseSafetensorsFile(r, path));
  PetscFunctionReturn(0);
}

/* MPI-IO read of a row-major block of the stored matrix. See the file header. */
static PetscErrorCode SpdReaderReadBlock_Safetensors(SpdReader r, PetscInt t, MPI_Comm comm, PetscInt64 row0, PetscInt64 nrows, PetscInt64 col0, PetscInt64 ncols, double out[])
{
  const SpdTensorInfo *ti = &r->tensors[t];
  const int            es = (int)SpdDTypeSize(ti->dtype);
  PetscInt64           rows, cols, n = nrows * ncols, chunk, nchunk, gnchunk;
  MPI_File             fh;
  MPI_Datatype         elem, filetype = MPI_DATATYPE_NULL;
  MPI_Offset           disp;
  PetscErrorCode       lerr      = 0;
  char                 msg[4096] = "", errstr[MPI_MAX_ERROR_STRING];
  int                  err, len;
  char                *tmp = NULL;

  PetscFunctionBegin;
  SpdTensorMatrixShape(ti, &rows, &cols);
  err = MPI_File_open(comm, ti->file, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
  if (err != MPI_SUCCESS) {
    MPI_Error_string(err, errstr, &len);
    lerr = PETSC_ERR_FILE_OPEN;
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: MPI_File_open failed while reading tensor '%s': %s; check that the file is still there and readable", ti->file, ti->name, errstr));
  }
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));

  PetscCallMPI(MPI_Type_contiguous(es, MPI_BYTE, &elem));
  PetscCallMPI(MPI_Type_commit(&elem));
  if (n > 0 && ncols == cols) {
    /* whole rows: one contiguous run */
    disp = (MPI_Offset)(ti->offset + row0 * cols * es);
  } else if (n > 0) {
    int sizes[2], subsizes[2], starts[2];

    if (rows > INT_MAX || cols > INT_MAX) {
      lerr = PETSC_ERR_SUP;
      PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: tensor '%s' is %" PetscInt64_FMT " x %" PetscInt64_FMT ", too large a side for an MPI subarray; read whole rows instead", ti->file, ti->name, rows, cols));
    } else {
      sizes[0]    = (int)rows;
      sizes[1]    = (int)cols;
      subsizes[0] = (int)nrows;
      subsizes[1] = (int)ncols;
      starts[0]   = (int)row0;
      starts[1]   = (int)col0;
      PetscCallMPI(MPI_Type_create_subarray(2, sizes, subsizes, starts, MPI_ORDER_C, elem, &filetype));
      PetscCallMPI(MPI_Type_commit(&filetype));
    }
    disp = (MPI_Offset)ti->offset;
  } else
    disp = (MPI_Offset)ti->offset;
  err = MPI_File_set_view(fh, disp, elem, filetype == MPI_DATATYPE_NULL ? elem : filetype, "native", MPI_INFO_NULL);
  if (err != MPI_SUCCESS && !lerr) {
    MPI_Error_string(err, errstr, &len);
    lerr = PETSC_ERR_LIB;
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: MPI_File_set_view failed for tensor '%s': %s", ti->file, ti->name, errstr));
  }

  /* every rank calls MPI_File_read_all the same number of times (collective) */
  chunk  = SPD_SAFETENSORS_CHUNK / es;
  nchunk = (n + chunk - 1) / chunk;
  PetscCallMPI(MPI_Allreduce(&nchunk, &gnchunk, 1, MPIU_INT64, MPI_MAX, comm));
  if (ti->dtype != SPD_DTYPE_F64 && n > 0) PetscCall(PetscMalloc1((size_t)PetscMin(n, chunk) * es, &tmp));
  for (PetscInt64 c = 0; c < gnchunk; c++) {
    PetscInt64 cnt = PetscMax(0, PetscMin(chunk, n - c * chunk));
    void      *dst = ti->dtype == SPD_DTYPE_F64 ? (void *)(out + c * chunk) : (void *)tmp;
    MPI_Status status;
    int        got = 0;

    if (cnt == 0) dst = NULL;
    err = MPI_File_read_all(fh, dst, (int)cnt, elem, &status);
    if (err == MPI_SUCCESS) MPI_Get_count(&status, elem, &got);
    if (lerr) continue;
    if (err != MPI_SUCCESS) {
      MPI_Error_string(err, errstr, &len);
      lerr = PETSC_ERR_FILE_READ;
      PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: reading tensor '%s' failed: %s", ti->file, ti->name, errstr));
    } else if (cnt > 0 && got != (int)cnt) { /* ROMIO leaves the count of an empty read undefined */
      lerr = PETSC_ERR_FILE_READ;
      PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: tensor '%s': read %d of %" PetscInt64_FMT " elements; the file was truncated after it was opened", ti->file, ti->name, got, cnt));
    } else if (cnt > 0 && ti->dtype != SPD_DTYPE_F64)
      PetscCall(SpdConvertToDouble(ti->dtype, tmp, (size_t)cnt, out + c * chunk));
  }
  PetscCall(PetscFree(tmp));
  PetscCallMPI(MPI_File_close(&fh));
  if (filetype != MPI_DATATYPE_NULL) PetscCallMPI(MPI_Type_free(&filetype));
  PetscCallMPI(MPI_Type_free(&elem));
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdReaderCreate_Safetensors(SpdReader r)
{
  PetscFunctionBegin;
  r->ops->openmeta  = SpdReaderOpenMeta_Safetensors;
  r->ops->readblock = SpdReaderReadBlock_Safetensors;
  PetscFunctionReturn(0);
}
