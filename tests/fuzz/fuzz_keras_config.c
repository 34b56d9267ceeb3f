/* libFuzzer target: the Keras model_config JSON as the model layer reads it
   (SpdMLPResolve on a Keras checkpoint: SpdLayersFromKeras, then the layer/bias/
   activation checks against the tensor table).

   Writing an HDF5 file per input would spend the time in libhdf5, so the harness opens
   small Keras-style checkpoints once (written by make_seeds.py into the corpus folder
   of the hdf5 target, found through SPD_FUZZ_SOURCE_DIR) and swaps the reader's
   model_config for the input, exactly what SpdReaderOpen stores from the root attribute.
   Input: byte 0 picks the checkpoint and the job-side spec (act_given, parameterization),
   the rest is the model_config text. */
#include "fuzzutil.h"
#include <specdyn/model.h>
#include <specdyn/private/readerimpl.h>

#ifndef SPD_FUZZ_SOURCE_DIR
#  error "SPD_FUZZ_SOURCE_DIR must name tests/fuzz"
#endif

static const char *bases[] = { "keras3-mnist-trimmed.h5", "keras2-style.h5", "keras-weights-only.h5" };
#define NBASES ((int)(sizeof(bases) / sizeof(bases[0])))
static SpdReader  readers[NBASES];
static SpdMLPSpec spec, resolved;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  SpdFuzzInitialize();
  for (int i = 0; i < NBASES; i++) {
    char path[PETSC_MAX_PATH_LEN];

    snprintf(path, sizeof(path), "%s/corpus/hdf5/%s", SPD_FUZZ_SOURCE_DIR, bases[i]);
    SpdFuzzMust(SpdReaderCreate(PETSC_COMM_SELF, &readers[i]));
    SpdFuzzMust(SpdReaderOpen(readers[i], path));
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  SpdReader      r;
  PetscInt       L, width[SPD_MLP_MAX_LAYERS + 1];
  PetscErrorCode ierr;
  unsigned       sel;

  if (size < 1) return 0;
  sel = data[0];
  r   = readers[sel % NBASES];
  SpdFuzzMust(PetscFree(r->model_config));
  r->model_config = SpdFuzzString(data + 1, size - 1); /* freed below, before PETSc would */
  memset(&spec, 0, sizeof(spec));
  if (sel & 0x10) { /* the job gives the activations: model_config's are ignored */
    spec.act_given = PETSC_TRUE;
    spec.nact      = 1;
    spec.act[0]    = SPD_ACT_TANH;
  }
  if (sel & 0x20) {
    spec.param = SPD_PARAM_CUSTOM;
    for (int l = 0; l < SPD_MLP_MAX_LAYERS; l++) spec.wmult[l] = spec.bmult[l] = 1;
  }
  SpdFuzzCapture(ierr, SpdMLPResolve(r, &spec, &resolved, &L, width));
  if (!ierr && (L < 1 || L > SPD_MLP_MAX_LAYERS)) {
    fprintf(stderr, "fuzz finding: SpdMLPResolve succeeded with %d layers\n", (int)L);
    abort();
  }
  free(r->model_config);
  r->model_config = NULL;
  return 0;
}
