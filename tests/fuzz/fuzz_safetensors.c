/* libFuzzer target: a safetensors file (8-byte header length, JSON header, data) through
   SpdReaderOpen, the listing, SpdMLPResolve and block reads. Input: the whole file. */
#include "readerbody.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  SpdFuzzInitialize();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char path[PETSC_MAX_PATH_LEN];

  SpdFuzzWriteFile("input.safetensors", data, size, path, sizeof(path));
  SpdFuzzReaderRun(path, NULL, (size % 4) == 0 ? PETSC_TRUE : PETSC_FALSE);
  return 0;
}
