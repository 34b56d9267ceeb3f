/* `specdyn run JOB.yaml [-o DIR] [--dry-run] [PETSc options]` */
#include "commands.h"

static const char help[] = "specdyn run: analyse the checkpoints named by a job file.\n\n"
                           "usage: [mpirun -n P] specdyn run JOB.yaml [-o DIR] [--dry-run] [--tasks i/n] [--merge]\n"
                           "                                         [PETSc/SLEPc options]\n\n"
                           "  -o DIR      results folder (overrides the job's `output`)\n"
                           "  --dry-run   print the plan (tasks, ranks, memory per rank, cost) and exit\n"
                           "  --tasks i/n run only slice i (0 <= i < n) of n disjoint, cost-balanced slices of\n"
                           "              the study (a SLURM array: --tasks $SLURM_ARRAY_TASK_ID/N)\n"
                           "  --merge     the final step after the slices: compute the comparisons not yet\n"
                           "              stored (job key `compare`) and write index.h5; runs no task; exit 0\n"
                           "              if every task and comparison is stored\n"
                           "  --index-only  only write index.h5 from what is stored so far\n"
                           "  -help       list every PETSc/SLEPc option the run reads (e.g. -top_svd_tol,\n"
                           "              -bottom_svd_ncv, -svd_type, -log_view)\n\n"
                           "Results: <output>/index.h5 (one tree of the study), <output>/tasks/<id>.h5 per task.\n"
                           "A rerun skips tasks already stored. Exit status: 0 complete, 1 some tasks failed\n"
                           "or were refused (the others are stored), 2 usage or job error, 3 partial (stopped\n"
                           "by SIGTERM/SIGINT before every task ran; rerun to finish). Under mpirun the signal\n"
                           "is relayed to the ranks and mpirun itself exits 1; index.h5 lists the pending tasks.\n";

/* --merge (comparisons, then the index) and --index-only: the step after the slices. */
static PetscErrorCode SpdMerge(SpdPlan plan, SpdStore store, PetscBool compare, SpdRunStatus *status, SpdRunSummary *sum)
{
  PetscInt          done = 0, refused = 0;
  SpdCompareSummary cmp;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&cmp, sizeof(cmp)));
  if (compare) PetscCall(SpdCompareRun(plan, store, &cmp));
  PetscCall(SpdStoreWriteIndex(store, plan));
  for (PetscInt t = 0; t < plan->ntasks; t++) {
    PetscBool d;
    PetscCall(SpdStoreTaskDone(store, plan->tasks[t].id, &d));
    done += d ? 1 : 0;
    refused += (!d && plan->tasks[t].refused) ? 1 : 0;
  }
  PetscCall(PetscMemzero(sum, sizeof(*sum)));
  sum->nskipped_done = done;
  sum->nrefused      = refused;
  sum->nnot_run      = plan->ntasks - done - refused;
  sum->cmp           = cmp;
  *status            = sum->nnot_run > 0 ? SPD_RUN_PARTIAL : (refused || cmp.nfailed) ? SPD_RUN_FAILED
                                                                                      : SPD_RUN_COMPLETE;
  PetscFunctionReturn(0);
}

int SpdCmdRun(int argc, char **argv)
{
  const char    *jobpath = NULL, *outdir = NULL;
  PetscBool      dryrun = PETSC_FALSE, indexonly = PETSC_FALSE, merge = PETSC_FALSE;
  const char    *slice = NULL;
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
      { "--tasks", NULL, NULL, &slice },
      { "--index-only", NULL, &indexonly, NULL },
      { "--merge", NULL, &merge, NULL },
    };
    SpdCmdParseArgs(argc, argv, opts, 5, &jobpath, &pargc, &pargv);
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
  if (!ierr && slice) {
    long i = -1, n = 0;
    char c;
    if (sscanf(slice, "%ld/%ld%c", &i, &n, &c) != 2) {
      SpdErrorCapturePop();
      if (!rank) fprintf(stderr, "specdyn run: --tasks '%s': expected i/n, two integers with 0 <= i < n\n", slice);
      code = 2;
      goto cleanup;
    }
    ierr = SpdPlanSetSlice(plan, (PetscInt)i, (PetscInt)n);
  }
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
  {
    /* the results folder's lock: slices of one study (and their merge) share it, a plain
       run holds it alone; -spd_store_lock given by the user wins */
    PetscBool given = PETSC_FALSE;
    ierr            = PetscOptionsHasName(NULL, NULL, "-spd_store_lock", &given);
    if (!ierr && !given) ierr = PetscOptionsSetValue(NULL, "-spd_store_lock", slice || indexonly ? "shared" : "exclusive");
  }
  if (!ierr) ierr = SpdStoreOpen(PETSC_COMM_WORLD, job->output, &store);
  if (!ierr && (indexonly || merge))
    ierr = SpdMerge(plan, store, merge, &status, &sum);
  else if (!ierr)
    ierr = SpdRun(plan, store, &sum, &status);
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
    if (plan->ncomparisons)
      fprintf(stderr, "[specdyn] comparisons: %" PetscInt_FMT " computed now, %" PetscInt_FMT " already stored, %" PetscInt_FMT " waiting for tasks%s, %" PetscInt_FMT " failed\n", sum.cmp.ndone, sum.cmp.nstored, sum.cmp.nwaiting, plan->inslice ? " (computed by the merge step, --merge)" : "", sum.cmp.nfailed);
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
