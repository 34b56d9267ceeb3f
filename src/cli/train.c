/* `specdyn train JOB.yaml [-o DIR] [--run i] [--list] [PETSc options]` */
#include "commands.h"

static const char help[] = "specdyn train: train the MLP runs of a job file (docs/training.md).\n\n"
                           "usage: [mpirun -n P] specdyn train JOB.yaml [-o DIR] [--run i] [--list]\n\n"
                           "  -o DIR    output folder (overrides the job's `output`)\n"
                           "  --list    print the runs of the job's sweep (index and name) and exit\n"
                           "  --run i   train only run i (0-based; a SLURM array: --run $SLURM_ARRAY_TASK_ID)\n\n"
                           "The job gives the architecture (model: widths, activation, loss, parameterization),\n"
                           "the data (data:), the optimizer and checkpoints (train:), a grid of runs (sweep:)\n"
                           "and the training-Jacobian analysis (training_jacobian:). Each run writes\n"
                           "<output>/<run>/checkpoints/step_*.safetensors, metrics.h5, state.h5 and, when asked,\n"
                           "training_jacobian.h5; <output>/study.yaml analyses the runs' weight dynamics with\n"
                           "`specdyn run`. A rerun resumes each unfinished run from its last checkpoint.\n"
                           "Exit status: 0 complete, 1 some runs failed (the others finished), 2 usage or job\n"
                           "error, 3 partial (stopped by SIGTERM/SIGINT; rerun to resume).\n";

int SpdCmdTrain(int argc, char **argv)
{
  const char    *jobpath = NULL, *outdir = NULL, *only = NULL;
  PetscBool      list = PETSC_FALSE;
  char         **pargv, msg[4096];
  int            pargc = 0, code = 0;
  SpdJob         job   = NULL;
  PetscInt       ndone = 0, nfailed = 0, which = -1;
  SpdRunStatus   status = SPD_RUN_FAILED;
  PetscErrorCode ierr;
  PetscMPIInt    rank;

  if (SpdCmdWantsHelp(argc, argv)) {
    fputs(help, stdout);
    printf("\nJob file keys:\n");
    SpdJobPrintKeys(stdout);
    return 0;
  }
  {
    const SpdCmdOption opts[] = {
      { "-o", "--output", NULL, &outdir },
      { "--run", NULL, NULL, &only },
      { "--list", "--dry-run", &list, NULL },
    };
    SpdCmdParseArgs(argc, argv, opts, 3, &jobpath, &pargc, &pargv);
  }
  if (SpdInitialize(&pargc, &pargv, NULL, help)) return 2;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (!jobpath) {
    PetscPrintf(PETSC_COMM_WORLD, "specdyn train: no job file given\n\n%s", help);
    code = 2;
    goto finalize;
  }
  if (only) {
    char *end;
    long  v = strtol(only, &end, 10);
    if (end == only || *end || v < 0) {
      if (!rank) fprintf(stderr, "specdyn train: --run '%s': expected a run index >= 0 (see --list)\n", only);
      code = 2;
      goto finalize;
    }
    which = (PetscInt)v;
  }
  SpdErrorCapturePush(msg, sizeof(msg));
  ierr = SpdJobLoad(PETSC_COMM_WORLD, jobpath, &job);
  if (!ierr) ierr = SpdJobInsertOptions(job);
  if (!ierr && outdir) ierr = PetscStrncpy(job->output, outdir, sizeof(job->output));
  if (!ierr && !job->train.enabled && !job->ensemble_enabled) ierr = PetscError(PETSC_COMM_WORLD, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_USER_INPUT, PETSC_ERROR_INITIAL, "The job %s has no 'train:' or 'ensemble:' section; `specdyn train` trains models (docs/training.md); to analyse checkpoints use `specdyn run`", jobpath);
  SpdErrorCapturePop();
  if (ierr) {
    if (!rank) fprintf(stderr, "specdyn train: %s\n", msg);
    code = 2;
    goto cleanup;
  }
  if (list) {
    PetscInt     n;
    SpdTrainRun *runs;
    if (!SpdJobTrainRuns(job, &n, &runs)) {
      for (PetscInt r = 0; r < n; r++) PetscPrintf(PETSC_COMM_WORLD, "%" PetscInt_FMT "\t%s\n", r, runs[r].name);
      PetscFree(runs);
    } else
      code = 2;
    goto cleanup;
  }
  SpdStopInstall();
  SpdErrorCapturePush(msg, sizeof(msg));
  ierr = SpdTrainJob(job, PETSC_COMM_WORLD, which, &ndone, &nfailed, &status);
  SpdErrorCapturePop();
  if (ierr) {
    if (!rank) fprintf(stderr, "specdyn train: %s\n", msg);
    code = 2;
    goto cleanup;
  }
  if (!rank) fprintf(stderr, "[specdyn] train %s: %" PetscInt_FMT " runs complete, %" PetscInt_FMT " failed; results in %s\n", status == SPD_RUN_COMPLETE ? "complete" : status == SPD_RUN_PARTIAL ? "PARTIAL"
                                                                                                                                                                                                   : "FAILED",
      ndone, nfailed, job->output);
  code = status == SPD_RUN_COMPLETE ? 0 : status == SPD_RUN_PARTIAL ? 3
                                                                    : 1;
cleanup:
  SpdJobDestroy(&job);
finalize:
  SpdFinalize();
  free(pargv);
  return code;
}
