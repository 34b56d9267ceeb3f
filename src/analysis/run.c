/* Running a plan on MPI_COMM_WORLD (or any communicator): task groups, largest first,
   handed out dynamically.

   Tasks are grouped by the number of ranks the planner gave them: one phase per group
   size g, largest g first. In a phase the communicator is split into floor(P/g) groups of
   g ranks (the other P mod g ranks wait for the next phase), and the phase's tasks are
   listed in plan order, i.e. by decreasing estimated cost.

   Dynamic self-scheduling (default, -spd_run_schedule dynamic): the tasks are handed out
   from a shared counter, one per phase, in a one-sided MPI window on rank 0 of the
   communicator. Whenever a group is free, its rank 0 takes the next index with
   MPI_Fetch_and_op (passive target: no rank serves requests), and one MPI_Allreduce over
   the group gives every member that index together with the stop flag. This is list
   scheduling largest first (Graham's LPT bound, within 4/3 of the best makespan for
   independent tasks): a group that finishes early takes the next task, so errors of the
   cost model, contention between neighbours and a slow core cost at most the last tasks'
   imbalance at the end of a phase, with no master rank and no assignment fixed in advance.
   Which group runs which task then depends on timing; the results do not. The window is
   allocated by MPI (MPI_Win_allocate), so ranks of one node update the counter in shared
   memory; an MPI whose one-sided operations between nodes need the target to enter MPI
   (no RDMA) may delay a fetch until rank 0 does, and -spd_run_schedule static avoids that.

   Static assignment (-spd_run_schedule static): longest processing time first on the
   estimated costs, each task to the least loaded group, decided identically on every rank
   before the phase starts: deterministic, no communication between groups, but blind to
   cost-model errors.

   A failing task is recorded (failed/<id>.txt, index.h5) and its group goes on.
   SIGTERM/SIGINT stop every group before its next task: the members agree on the flag in
   the same reduction that hands them the task, so a group never splits over it. */
#include <specdyn/analysis.h>

typedef enum {
  TASK_PENDING,
  TASK_DONE,
  TASK_REFUSED,
  TASK_OTHER_SLICE
} SpdTaskState;

typedef enum {
  SPD_SCHEDULE_DYNAMIC,
  SPD_SCHEDULE_STATIC
} SpdSchedule;
static const char *const SpdScheduleNames[] = { "dynamic", "static" };

/* One phase of the run: the pending tasks that run on groups of g ranks. */
typedef struct {
  PetscInt    g, ngroups; /* group size, number of groups                            */
  PetscInt    n, *task; /* tasks of the phase: plan indices, by decreasing cost      */
  PetscReal   cost, *cum; /* total estimated cost; cum[k] = cost of tasks 0..k-1       */
  PetscInt   *owner; /* static schedule: the group of each task                   */
  PetscMPIInt color; /* this rank's group, or MPI_UNDEFINED                       */
  PetscInt    next; /* static schedule: next position to look at in task[]       */
} SpdPhase;

static int SpdCompareDesc_Private(const void *a, const void *b)
{
  PetscInt x = *(const PetscInt *)a, y = *(const PetscInt *)b;
  return (x < y) - (x > y);
}

/* The phase's tasks, in plan order, and (static schedule) their owners by LPT. */
static PetscErrorCode SpdPhaseSetUp_Private(SpdPlan plan, const PetscInt state[], PetscMPIInt rank, PetscMPIInt size, SpdSchedule sched, SpdPhase *ph)
{
  PetscReal *load;

  PetscFunctionBegin;
  ph->ngroups = size / ph->g;
  ph->color   = rank / ph->g < ph->ngroups ? (PetscMPIInt)(rank / ph->g) : MPI_UNDEFINED;
  ph->n       = 0;
  ph->next    = 0;
  PetscCall(PetscMalloc3(plan->ntasks, &ph->task, plan->ntasks + 1, &ph->cum, plan->ntasks, &ph->owner));
  ph->cum[0] = 0;
  for (PetscInt i = 0; i < plan->ntasks; i++) { /* plan->tasks is sorted by decreasing cost */
    if (state[i] != TASK_PENDING || PetscMin(plan->tasks[i].nranks, size) != ph->g) continue;
    ph->task[ph->n]    = i;
    ph->cum[ph->n + 1] = ph->cum[ph->n] + plan->tasks[i].cost;
    ph->n++;
  }
  ph->cost = ph->cum[ph->n];
  if (sched != SPD_SCHEDULE_STATIC) PetscFunctionReturn(0);
  PetscCall(PetscCalloc1(ph->ngroups, &load));
  for (PetscInt k = 0; k < ph->n; k++) {
    PetscInt best = 0;
    for (PetscInt q = 1; q < ph->ngroups; q++)
      if (load[q] < load[best]) best = q;
    ph->owner[k] = best;
    load[best] += plan->tasks[ph->task[k]].cost;
  }
  PetscCall(PetscFree(load));
  PetscFunctionReturn(0);
}

/* On a group's rank 0: the position in ph->task[] of the group's next task, or ph->n when
   none is left. Dynamic: fetch-and-increment of the phase's counter in the window. */
static PetscErrorCode SpdPhaseNextTask_Private(SpdPhase *ph, SpdSchedule sched, MPI_Win win, PetscInt slot, PetscInt *k)
{
  const PetscInt one = 1;

  PetscFunctionBegin;
  if (sched == SPD_SCHEDULE_STATIC || ph->ngroups == 1) {
    while (ph->next < ph->n && sched == SPD_SCHEDULE_STATIC && ph->owner[ph->next] != ph->color) ph->next++;
    *k = ph->next++;
  } else {
    static PetscBool warned = PETSC_FALSE;
    double           t0     = MPI_Wtime();

    PetscCallMPI(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win));
    PetscCallMPI(MPI_Fetch_and_op(&one, k, MPIU_INT, 0, (MPI_Aint)slot, MPI_SUM, win));
    PetscCallMPI(MPI_Win_unlock(0, win));
    /* microseconds where the MPI updates the counter without rank 0 (shared memory, RDMA
       atomics); otherwise the fetch waits until rank 0 enters MPI, e.g. at its next task */
    if (MPI_Wtime() - t0 > 1.0 && !warned) {
      warned = PETSC_TRUE;
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] warning: taking the next task waited %.1f s for rank 0 (this MPI's one-sided operations need the target to enter MPI); -spd_run_schedule static avoids the wait\n", MPI_Wtime() - t0));
    }
  }
  *k = PetscMin(*k, ph->n);
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdPhaseDestroy_Private(SpdPhase *ph)
{
  PetscFunctionBegin;
  PetscCall(PetscFree3(ph->task, ph->cum, ph->owner));
  PetscFunctionReturn(0);
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

  Options Database Key:
. -spd_run_schedule <dynamic,static> - hand tasks to free groups from a shared counter
  (default), or assign them in advance by estimated cost

  Notes:
  Each finished task prints `[specdyn] done <label>:<name>  MxN on G ranks  T s  P products
  (group C: K/N, ETA E s)` on stderr, where K is the task's position among the N tasks of
  its phase (largest first) and E the estimated time left in the phase, from this group's
  throughput so far.

.seealso: SpdWeightsRunTask(), SpdCurvatureRunTask(), SpdStoreTaskDone()
@*/
PetscErrorCode SpdRun(SpdPlan plan, SpdStore store, SpdRunSummary *sum, SpdRunStatus *status)
{
  MPI_Comm    comm = plan->comm;
  PetscMPIInt rank, size;
  PetscInt    nt = plan->ntasks, nt_run = plan->ntasks, *state, *sizes, nsizes = 0, counts[5] = { 0, 0, 0, 0, 0 };
  PetscInt    stop = 0, anystop = 0, nckpt_err = 0, sched = SPD_SCHEDULE_DYNAMIC;
  PetscBool   shared  = PETSC_FALSE;
  PetscInt   *counter = NULL;
  MPI_Win     win     = MPI_WIN_NULL;
  double      tstart  = MPI_Wtime();

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscOptionsGetEList(NULL, NULL, "-spd_run_schedule", SpdScheduleNames, 2, &sched, NULL));
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
        char label[260];
        PetscCall(SpdTaskLabel(plan, &plan->tasks[i], label, sizeof(label))); /* ensemble tasks have no checkpoint */
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] refused %s:%s: %s\n", label, plan->tasks[i].view.name, plan->tasks[i].reason));
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

  /* the phases: distinct group sizes, largest first */
  for (PetscInt i = 0; i < nt; i++)
    if (state[i] == TASK_PENDING) sizes[nsizes++] = PetscMin(plan->tasks[i].nranks, size);
  qsort(sizes, nsizes, sizeof(PetscInt), SpdCompareDesc_Private);
  {
    PetscInt u = 0;
    for (PetscInt i = 0; i < nsizes; i++)
      if (!u || sizes[u - 1] != sizes[i]) sizes[u++] = sizes[i];
    nsizes = u;
  }

  /* The counters of the dynamic schedule, one per phase, on rank 0; needed only when
     some phase has several groups (every rank sees the same sizes). */
  for (PetscInt p = 0; p < nsizes; p++)
    if (size / sizes[p] > 1) shared = PETSC_TRUE;
  if (sched == SPD_SCHEDULE_DYNAMIC && shared) {
    PetscCallMPI(MPI_Win_allocate((MPI_Aint)(rank == 0 ? nsizes : 0) * (MPI_Aint)sizeof(PetscInt), (PetscMPIInt)sizeof(PetscInt), MPI_INFO_NULL, comm, &counter, &win));
    if (rank == 0) { /* local stores to window memory belong in an access epoch */
      PetscCallMPI(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win));
      for (PetscInt p = 0; p < nsizes; p++) counter[p] = 0;
      PetscCallMPI(MPI_Win_unlock(0, win));
    }
    PetscCallMPI(MPI_Barrier(comm));
  }

  for (PetscInt p = 0; p < nsizes && !anystop; p++) {
    SpdPhase    ph;
    MPI_Comm    group      = MPI_COMM_NULL;
    PetscMPIInt grank      = -1;
    PetscReal   mydonecost = 0;
    double      tphase     = MPI_Wtime();

    ph.g = sizes[p];
    PetscCall(SpdPhaseSetUp_Private(plan, state, rank, size, (SpdSchedule)sched, &ph));
    PetscCallMPI(MPI_Comm_split(comm, ph.color, rank, &group));
    if (group != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_rank(group, &grank));

    while (group != MPI_COMM_NULL) {
      const SpdTask *t;
      char           msg[4096], label[260];
      PetscErrorCode ierr;
      PetscInt       nprod = 0, in[2], out[2], k;
      double         t0;

      /* rank 0 of the group takes the next task; the whole group agrees on it and on
         the stop flag before starting */
      in[0] = SpdStopRequested() ? 1 : 0;
      in[1] = -1;
      if (grank == 0) PetscCall(SpdPhaseNextTask_Private(&ph, (SpdSchedule)sched, win, p, &in[1]));
      PetscCallMPI(MPI_Allreduce(in, out, 2, MPIU_INT, MPI_MAX, group));
      stop = out[0];
      k    = out[1];
      if (stop || k >= ph.n) break;
      t  = &plan->tasks[ph.task[k]];
      t0 = MPI_Wtime();
      PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
      if (t->jacobian)
        ierr = SpdJacobianRunTask(plan, t, group, store, &nprod);
      else if (t->curv_op >= 0)
        ierr = SpdCurvatureRunTask(plan, t, group, store, &nprod);
      else
        ierr = SpdWeightsRunTask(plan, t, group, store, &nprod);
      PetscCall(SpdErrorCapturePop());
      mydonecost += t->cost;
      if (grank != 0) continue;
      PetscCall(SpdTaskLabel(plan, t, label, sizeof(label)));
      if (ierr) {
        counts[2]++;
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] FAILED %s:%s (%" PetscInt64_FMT "x%" PetscInt64_FMT "): %s\n", label, t->view.name, t->m, t->n, msg));
        PetscCall(SpdStoreRecordFailure(store, t, t->view.name, msg));
      } else {
        /* time left in the phase: the cost not yet taken (dynamic) or not yet run by this
           group (static), at this group's rate times the number of groups sharing it */
        double    el = MPI_Wtime() - tphase, eta = 0;
        PetscReal left = 0;

        if (sched == SPD_SCHEDULE_STATIC || ph.ngroups == 1) {
          for (PetscInt q = k + 1; q < ph.n; q++)
            if (sched != SPD_SCHEDULE_STATIC || ph.owner[q] == ph.color) left += plan->tasks[ph.task[q]].cost;
          if (mydonecost > 0) eta = el * left / mydonecost;
        } else {
          left = ph.cost - ph.cum[k + 1];
          if (mydonecost > 0) eta = el * left / (mydonecost * ph.ngroups);
        }
        counts[0]++;
        PetscCall(SpdStoreClearFailure(store, t->id));
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] done %s:%s  %" PetscInt64_FMT "x%" PetscInt64_FMT " on %" PetscInt_FMT " rank%s  %.2f s  %" PetscInt_FMT " products  (group %d: %" PetscInt_FMT "/%" PetscInt_FMT ", ETA %.0f s)\n", label, t->view.name, t->m, t->n, ph.g,
            ph.g > 1 ? "s" : "", MPI_Wtime() - t0, nprod, (int)ph.color, k + 1, ph.n, eta));
      }
    }
    if (group != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&group));
    PetscCall(SpdPhaseDestroy_Private(&ph));
    stop = SpdStopRequested() ? 1 : stop;
    PetscCallMPI(MPI_Allreduce(&stop, &anystop, 1, MPIU_INT, MPI_MAX, comm));
  }
  if (win != MPI_WIN_NULL) PetscCallMPI(MPI_Win_free(&win));
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
  PetscCall(PetscInfo(NULL, "study took %g s (%s schedule)\n", MPI_Wtime() - tstart, SpdScheduleNames[sched]));
  PetscCall(PetscFree2(state, sizes));
  PetscFunctionReturn(0);
}
