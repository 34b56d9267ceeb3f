/* Running a plan on MPI_COMM_WORLD (or any communicator): task groups, largest first.

   Tasks are grouped by the number of ranks the planner gave them. For each group size
   g (largest first) the communicator is split into floor(P/g) groups of g ranks, and
   that phase's tasks are assigned to groups by longest-processing-time-first (LPT):
   in decreasing cost, each task goes to the least loaded group. The assignment is
   deterministic, needs no master rank, and keeps small tasks from waiting behind big
   ones. A failing task is recorded (failed/<id>.txt, index.h5) and the group goes on.
   SIGTERM/SIGINT stop every group before its next task. */
#include <specdyn/analysis.h>

typedef enum {
  TASK_PENDING,
  TASK_DONE,
  TASK_REFUSED,
  TASK_OTHER_SLICE
} SpdTaskState;

static int SpdCompareDesc_Private(const void *a, const void *b)
{
  PetscInt x = *(const PetscInt *)a, y = *(const PetscInt *)b;
  return (x < y) - (x > y);
}

/*@C
  SpdRun - run every task of a plan (of its slice, see SpdPlanSetSlice()) that is not
  yet stored

  Collective on plan->comm

  Input Parameters:
+ plan  - the plan
- store - the results folder

  Output Parameters:
+ sum    - counts of tasks done, failed, refused and not run
- status - SPD_RUN_COMPLETE, SPD_RUN_PARTIAL (stopped by a signal) or SPD_RUN_FAILED
           (some task failed or was refused; the others are stored)
@*/
PetscErrorCode SpdRun(SpdPlan plan, SpdStore store, SpdRunSummary *sum, SpdRunStatus *status)
{
  MPI_Comm    comm = plan->comm;
  PetscMPIInt rank, size;
  PetscInt    nt = plan->ntasks, nt_run = plan->ntasks, *state, *sizes, nsizes = 0, counts[5] = { 0, 0, 0, 0, 0 };
  PetscInt    stop = 0, anystop = 0, nckpt_err = 0;
  double      tstart = MPI_Wtime();

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(SpdStopInstall());
  PetscCall(PetscMalloc2(nt + 1, &state, nt + 1, &sizes));

  /* Decide on one rank what is left to do, so that every rank sees the same list. */
  if (rank == 0) {
    for (PetscInt i = 0; i < nt; i++) {
      PetscBool done;
      if (plan->inslice && !plan->inslice[i]) {
        state[i] = TASK_OTHER_SLICE;
        continue;
      }
      PetscCall(SpdStoreTaskDone(store, plan->tasks[i].id, &done));
      state[i] = done ? TASK_DONE : plan->tasks[i].refused ? TASK_REFUSED
                                                           : TASK_PENDING;
      if (state[i] == TASK_DONE) counts[1]++;
      if (state[i] == TASK_REFUSED) {
        counts[3]++;
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] refused %s:%s: %s\n", plan->job->checkpoints[plan->tasks[i].checkpoint].label, plan->tasks[i].view.name, plan->tasks[i].reason));
      }
    }
    if (plan->inslice) {
      PetscInt nin = 0;
      for (PetscInt i = 0; i < nt; i++) nin += plan->inslice[i] ? 1 : 0;
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] slice %" PetscInt_FMT "/%" PetscInt_FMT ": %" PetscInt_FMT " of the study's %" PetscInt_FMT " tasks\n", plan->slice, plan->nslices, nin, nt));
      nt_run = nin;
    }
    if (counts[1]) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] %" PetscInt_FMT " of %" PetscInt_FMT " tasks already stored in %s; skipping them\n", counts[1], nt_run, plan->job->output));
  }
  PetscCallMPI(MPI_Bcast(state, (PetscMPIInt)nt, MPIU_INT, 0, comm));
  PetscCallMPI(MPI_Bcast(&nt_run, 1, MPIU_INT, 0, comm));

  for (PetscInt i = 0; i < nt; i++)
    if (state[i] == TASK_PENDING) sizes[nsizes++] = PetscMin(plan->tasks[i].nranks, size);
  qsort(sizes, nsizes, sizeof(PetscInt), SpdCompareDesc_Private);
  {
    PetscInt u = 0;
    for (PetscInt i = 0; i < nsizes; i++)
      if (!u || sizes[u - 1] != sizes[i]) sizes[u++] = sizes[i];
    nsizes = u;
  }

  for (PetscInt p = 0; p < nsizes && !anystop; p++) {
    PetscInt    g = sizes[p], ngroups = size / g, *owner;
    PetscReal  *load, mycost = 0, mydonecost = 0;
    PetscMPIInt color = rank / g < ngroups ? rank / g : MPI_UNDEFINED, grank = -1;
    MPI_Comm    group  = MPI_COMM_NULL;
    double      tphase = MPI_Wtime();
    PetscInt    mine = 0, mydone = 0;

    PetscCall(PetscMalloc2(ngroups, &load, nt, &owner));
    PetscCall(PetscArrayzero(load, ngroups));
    for (PetscInt i = 0; i < nt; i++) { /* plan->tasks is sorted by decreasing cost */
      PetscInt best = 0;
      owner[i]      = -1;
      if (state[i] != TASK_PENDING || PetscMin(plan->tasks[i].nranks, size) != g) continue;
      for (PetscInt q = 1; q < ngroups; q++)
        if (load[q] < load[best]) best = q;
      owner[i] = best;
      load[best] += plan->tasks[i].cost;
      if (best == color) {
        mine++;
        mycost += plan->tasks[i].cost;
      }
    }
    PetscCallMPI(MPI_Comm_split(comm, color, rank, &group));
    if (group != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_rank(group, &grank));

    for (PetscInt i = 0; i < nt && group != MPI_COMM_NULL; i++) {
      const SpdTask *t = &plan->tasks[i];
      char           msg[4096], label[260];
      PetscErrorCode ierr;
      PetscInt       nprod = 0, flag = SpdStopRequested() ? 1 : 0;
      double         t0;

      if (owner[i] != color) continue;
      /* the whole group agrees before starting a task */
      PetscCallMPI(MPI_Allreduce(&flag, &stop, 1, MPIU_INT, MPI_MAX, group));
      if (stop) break;
      t0 = MPI_Wtime();
      PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
      if (t->curv_op >= 0)
        ierr = SpdCurvatureRunTask(plan, t, group, store, &nprod);
      else
        ierr = SpdWeightsRunTask(plan, t, group, store, &nprod);
      PetscCall(SpdErrorCapturePop());
      mydone++;
      mydonecost += t->cost;
      if (grank != 0) continue;
      PetscCall(SpdTaskLabel(plan, t, label, sizeof(label)));
      if (ierr) {
        counts[2]++;
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] FAILED %s:%s (%" PetscInt64_FMT "x%" PetscInt64_FMT "): %s\n", label, t->view.name, t->m, t->n, msg));
        PetscCall(SpdStoreRecordFailure(store, t, t->view.name, msg));
      } else {
        double el = MPI_Wtime() - tphase, eta = mydonecost > 0 ? el * (mycost - mydonecost) / mydonecost : 0;
        counts[0]++;
        PetscCall(SpdStoreClearFailure(store, t->id));
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] done %s:%s  %" PetscInt64_FMT "x%" PetscInt64_FMT " on %" PetscInt_FMT " rank%s  %.2f s  %" PetscInt_FMT " products  (group %d: %" PetscInt_FMT "/%" PetscInt_FMT ", ETA %.0f s)\n", label, t->view.name, t->m, t->n, g, g > 1 ? "s" : "",
            MPI_Wtime() - t0, nprod, (int)color, mydone, mine, eta));
      }
    }
    if (group != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&group));
    PetscCall(PetscFree2(load, owner));
    stop = SpdStopRequested() ? 1 : stop;
    PetscCallMPI(MPI_Allreduce(&stop, &anystop, 1, MPIU_INT, MPI_MAX, comm));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, counts, 4, MPIU_INT, MPI_SUM, comm));
  /* refused and already-done counts were taken on rank 0 only; the sum keeps them */

  /* comparisons need every task: not in a slice (the merge step computes them) */
  PetscCall(PetscMemzero(&sum->cmp, sizeof(sum->cmp)));
  if (!plan->inslice && !anystop) PetscCall(SpdCompareRun(plan, store, &sum->cmp));
  PetscCall(SpdStoreWriteIndex(store, plan));

  for (PetscInt c = 0; c < plan->job->ncheckpoints; c++)
    if (plan->errors && plan->errors[c]) nckpt_err++;
  sum->ndone         = counts[0];
  sum->nskipped_done = counts[1];
  sum->nfailed       = counts[2];
  sum->nrefused      = counts[3];
  sum->nnot_run      = nt_run - counts[0] - counts[1] - counts[2] - counts[3];
  if (anystop && sum->nnot_run > 0)
    *status = SPD_RUN_PARTIAL;
  else if (sum->nfailed || sum->nrefused || nckpt_err || sum->cmp.nfailed)
    *status = SPD_RUN_FAILED;
  else
    *status = SPD_RUN_COMPLETE;
  PetscCall(PetscInfo(NULL, "study took %g s\n", MPI_Wtime() - tstart));
  PetscCall(PetscFree2(state, sizes));
  PetscFunctionReturn(0);
}
