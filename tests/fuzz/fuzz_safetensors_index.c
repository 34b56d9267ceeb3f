/* libFuzzer target: a sharded safetensors index (*.safetensors.index.json) through
   SpdReaderOpen. Input: the index JSON. Next to it the harness writes three valid shards
   once (model-00001-of-00002.safetensors, model-00002-of-00002.safetensors and
   other.safetensors) so that a weight_map can name real files, and one broken shard
   (broken.safetensors, a header longer than the file). */
#include "readerbody.h"

static void PutU64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* A shard: 8-byte length, JSON header padded to a multiple of 8, `nbytes` of data. */
static void WriteShard(const char name[], const char header[], size_t nbytes, size_t headerlen_override)
{
  size_t         hl = strlen(header), pad = (8 - hl % 8) % 8, total = 8 + hl + pad + nbytes;
  unsigned char *buf = (unsigned char *)calloc(total, 1);
  char           path[PETSC_MAX_PATH_LEN];

  if (!buf) abort();
  PutU64(buf, headerlen_override ? headerlen_override : hl + pad);
  memcpy(buf + 8, header, hl);
  memset(buf + 8 + hl, ' ', pad);
  for (size_t i = 0; i < nbytes; i++) buf[8 + hl + pad + i] = (unsigned char)(i % 7 == 0 ? 0x3f : 0); /* finite floats */
  SpdFuzzWriteFile(name, buf, total, path, sizeof(path));
  free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  SpdFuzzInitialize();
  WriteShard("model-00001-of-00002.safetensors",
      "{\"__metadata__\":{\"format\":\"pt\"},\"0.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]},"
      "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[48,64]}}",
      64, 0);
  WriteShard("model-00002-of-00002.safetensors",
      "{\"2.weight\":{\"dtype\":\"BF16\",\"shape\":[2,4],\"data_offsets\":[0,16]},"
      "\"2.bias\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},\"norm.scale\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[20,28]}}",
      28, 0);
  WriteShard("other.safetensors", "{\"0.weight\":{\"dtype\":\"I8\",\"shape\":[2,2,2],\"data_offsets\":[0,8]}}", 8, 0);
  WriteShard("broken.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 1000);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char path[PETSC_MAX_PATH_LEN];

  SpdFuzzWriteFile("model.safetensors.index.json", data, size, path, sizeof(path));
  SpdFuzzReaderRun(path, NULL, (size % 4) == 0 ? PETSC_TRUE : PETSC_FALSE);
  return 0;
}
