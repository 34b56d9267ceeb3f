/* libFuzzer target: an HDF5 checkpoint (h5py state dict, Keras 2/3 .h5, weights-only
   file) through SpdReaderOpen: group walk, Keras layer_names / weight_names attributes,
   dtypes, shapes, the model_config attribute, SpdMLPResolve and block reads (MPI-IO).
   Input: the whole file; seeds are small h5py-written files (make_seeds.py). */
#include "readerbody.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  SpdFuzzInitialize();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char path[PETSC_MAX_PATH_LEN];

  SpdFuzzWriteFile("input.h5", data, size, path, sizeof(path));
  SpdFuzzReaderRun(path, NULL, (size % 4) == 0 ? PETSC_TRUE : PETSC_FALSE);
  return 0;
}
