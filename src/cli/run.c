/* `specdyn run JOB.yaml [-o DIR] [--dry-run] [PETSc options]` */
#include "commands.h"

static const char help[] = "specdyn run: analyse the checkpoints named by a job file.\n\n"
                           "usage: [mpirun -n P] specdyn run JOB.yaml [-o DIR] [--dry-run] [PETSc/SLEPc options]\n\n"
                           "  -o DIR      results folder (overrides the job's `output`)\n"
                           "  --dry-run   print the plan (tasks, ranks, memory per rank, cost) and exit\n"
                           "  -help       list every PETSc/SLEPc option the run reads (e.g. -top_svd_tol,\n"
                           "              -bottom_svd_ncv, -svd_type, -log_view)\n\n"
                           "Results: <output>/index.h5 (one tree of the study), <output>/tasks/<id>.h5 per task.\n"
                           "A rerun skips tasks already stored. Exit status: 0 complete, 1 some tasks failed\n"
                           "or were refused (the others are stored), 2 usage or job error, 3 partial (stopped\n"
                           "by SIGTERM/SIGINT before every task ran; rerun to finish). Under mpirun the signal\n"
                           "is relayed to the ranks and mpirun itself exits 1; index.h5 lists the pending tasks.\n";

int SpdCmdRun(int argc, char **argv)
{
  const char    *jobpath = NULL, *outdir = NULL;
  PetscBool      dryrun = PETSC_FALSE;
  char         **pargv, msg[4096];
  int            pargc = 0, code = 0;
  SpdJob         job   = NULL;
  SpdPlan        plan  = NULL;
  SpdStore       store = NULL;
  SpdRunSummary  sum;
  SpdRunStatus   status;
  PetscErrorCode ierr;
  PetscMPIInt    rank;

  if (SpdCmdWantsHelp(argc, argv)) {
    fputs(help, stdout);
    printf("\nJob file keys:\n");
    SpdJobPrintKeys(stdout);
    return 0;
  }
  {
    /* our own arguments are taken out; the rest go to PETSc's options database */
    const SpdCmdOption opts[] = {
      { "--dry-run", NULL, &dryrun, NULL },
      { "-o", "--output", NULL, &outdir },
    };
    SpdCmdParseArgs(argc, argv, opts, 2, &jobpath, &pargc, &pargv);
  }
  if (SpdInitialize(&pargc, &pargv, NULL, help)) return 2;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (!jobpath) {
    PetscPrintf(PETSC_COMM_WORLD, "specdyn run: no job file given\n\n%s", help);
    code = 2;
    goto finalize;
  }

  SpdErrorCapturePush(msg, sizeof(msg));
  ierr = SpdJobLoad(PETSC_COMM_WORLD, jobpath, &job);
  if (!ierr) ierr = SpdJobInsertOptions(job);
  if (!ierr && outdir) ierr = PetscStrncpy(job->output, outdir, sizeof(job->output));
  if (!ierr) ierr = SpdPlanCreate(job, PETSC_COMM_WORLD, &plan);
  SpdErrorCapturePop();
  if (ierr) {
    if (!rank) fprintf(stderr, "specdyn run: %s\n", msg);
    code = 2;
    goto cleanup;
  }
  if (dryrun) {
    ierr = SpdPlanView(plan, PETSC_VIEWER_STDOUT_WORLD);
    code = ierr ? 2 : 0;
    goto cleanup;
  }

  SpdErrorCapturePush(msg, sizeof(msg));
  ierr = SpdStoreOpen(PETSC_COMM_WORLD, job->output, &store);
  if (!ierr) ierr = SpdRun(plan, store, &sum, &status);
  SpdErrorCapturePop();
  if (ierr) {
    if (!rank) fprintf(stderr, "specdyn run: %s\n", msg);
    code = 2;
    goto cleanup;
  }
  if (!rank) {
    fprintf(stderr, "[specdyn] %s: %" PetscInt_FMT " tasks done now, %" PetscInt_FMT " already stored, %" PetscInt_FMT " failed, %" PetscInt_FMT " refused, %" PetscInt_FMT " not run; results in %s/index.h5\n",
        status == SPD_RUN_COMPLETE ? "complete" : status == SPD_RUN_PARTIAL ? "PARTIAL"
                                                                            : "FAILED",
        sum.ndone, sum.nskipped_done, sum.nfailed, sum.nrefused, sum.nnot_run, job->output);
    for (PetscInt c = 0; c < job->ncheckpoints; c++)
      if (plan->errors && plan->errors[c]) fprintf(stderr, "[specdyn] checkpoint %s could not be read: %s\n", job->checkpoints[c].path, plan->errors[c]);
  }
  code = status == SPD_RUN_COMPLETE ? 0 : status == SPD_RUN_PARTIAL ? 3
                                                                    : 1;

cleanup:
  SpdStoreDestroy(&store);
  SpdPlanDestroy(&plan);
  SpdJobDestroy(&job);
finalize:
  SpdFinalize();
  free(pargv);
  return code;
}
