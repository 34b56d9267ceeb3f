/* libFuzzer target: the YAML job file through SpdJobLoadString (libyaml, then every
   section's validation: checkpoints, runs with {step} patterns, tensors, split rules,
   weights, compare, model, data, curvature, solver options, resources).
   Input: the job text. Relative paths resolve against an empty scratch folder. */
#include "fuzzutil.h"
#include <specdyn/job.h>
#include <sys/stat.h>

static char dir[PETSC_MAX_PATH_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  SpdFuzzInitialize();
  snprintf(dir, sizeof(dir), "%s/jobdir", SpdFuzzDir());
  (void)mkdir(dir, 0700);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char          *text = SpdFuzzString(data, size);
  SpdJob         job  = NULL;
  PetscErrorCode ierr;

  SpdFuzzCapture(ierr, SpdJobLoadString(PETSC_COMM_SELF, text, "fuzz.yaml", dir, &job));
  if (ierr && job) {
    fprintf(stderr, "fuzz finding: SpdJobLoadString failed but returned a job\n");
    abort();
  }
  SpdFuzzMust(SpdJobDestroy(&job));
  free(text);
  return 0;
}
