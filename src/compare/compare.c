/* Running the comparisons of a plan: for each comparison whose two tasks are stored and
   which is not stored itself, read this rank's rows of the vectors, form the k x k
   overlaps (SpdOverlap), derive agreement / alignment, principal angles and the headline
   numbers, and write comparisons/<id>.h5 (rank 0, through a temporary name).

   Relations between checkpoints (final, previous, runs) compare the same matrix at two
   checkpoints: O_U = U_a^T U_b (m-space) and O_V = V_a^T V_b (n-space), agreement
   |O_U o O_V|. Layer pairs compare two matrices of one checkpoint through the space they
   share: out-in V_b^T U_a, out-out U_a^T U_b, in-in V_a^T V_b. */
#include <specdyn/compare.h>
#include <time.h>

#define SPD_DEG (180.0 / PETSC_PI)

/* One side of a layer comparison: which stored vectors ("top/U" or "top/V") and their length. */
static void SpdLayerSides_Private(const SpdComparison *c, const SpdTask *a, const SpdTask *b, const char **pa, const char **pb, PetscInt64 *N)
{
  if (c->eigen) { /* eigenvectors of one operator at two checkpoints */
    *pa = *pb = "top/X";
    *N        = a->m;
    (void)b;
    return;
  }
  *pa = c->spaces == SPD_SPACES_IN_IN ? "top/V" : "top/U";
  *pb = c->spaces == SPD_SPACES_OUT_OUT ? "top/U" : "top/V";
  *N  = c->spaces == SPD_SPACES_IN_IN ? a->n : a->m;
  (void)b;
}

/* Read this rank's rows of both sides and form their overlap; errors are agreed on. */
static PetscErrorCode SpdCompareOverlap_Private(SpdStore store, MPI_Comm comm, const SpdTask *a, const SpdTask *b, const char pa[], const char pb[], PetscInt64 N, PetscInt kmax, PetscInt *k, PetscReal **M, char msg[], size_t msglen, PetscBool *failed)
{
  PetscInt       nloc = PETSC_DECIDE, Nn = (PetscInt)N, rstart = 0, ka = 0, kb = 0;
  PetscReal     *A = NULL, *B = NULL;
  PetscErrorCode ierr;
  PetscMPIInt    bad, anybad;

  PetscFunctionBegin;
  *M = NULL;
  PetscCall(PetscSplitOwnership(comm, &nloc, &Nn));
  PetscCallMPI(MPI_Scan(&nloc, &rstart, 1, MPIU_INT, MPI_SUM, comm));
  rstart -= nloc;
  PetscCall(SpdErrorCapturePush(msg, msglen));
  ierr = SpdStoreReadVecsBlock(store, a->id, pa, kmax, rstart, nloc, &ka, &A);
  if (!ierr) ierr = SpdStoreReadVecsBlock(store, b->id, pb, kmax, rstart, nloc, &kb, &B);
  PetscCall(SpdErrorCapturePop());
  bad = ierr ? 1 : 0;
  PetscCallMPI(MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, comm));
  *failed = anybad ? PETSC_TRUE : PETSC_FALSE;
  if (!anybad) {
    *k = PetscMin(ka, kb);
    PetscCall(PetscMalloc1((size_t)(*k) * (*k) + 1, M));
    /* the first k columns of A and B: column-major, so a prefix of each array */
    PetscCall(SpdOverlap(comm, nloc, *k, A, *k, B, *M));
  }
  PetscCall(PetscFree(A));
  PetscCall(PetscFree(B));
  PetscFunctionReturn(0);
}

static PetscReal SpdDiagMean_Private(PetscInt k, const PetscReal S[])
{
  PetscReal s = 0;
  for (PetscInt i = 0; i < k; i++) s += S[i * k + i];
  return k ? s / k : NAN;
}

static PetscReal SpdFrob2Mean_Private(PetscInt k, const PetscReal M[])
{
  PetscReal s = 0;
  for (PetscInt i = 0; i < k * k; i++) s += M[i] * M[i];
  return k ? s / k : NAN;
}

/* Provenance and both sides, identical on every rank of f's communicator. */
static PetscErrorCode SpdCompareWriteHeader_Private(SpdTaskFile f, SpdPlan plan, const SpdComparison *c, PetscInt k)
{
  SpdJob                  job = plan->job;
  const SpdTask          *a = &plan->tasks[c->a], *b = &plan->tasks[c->b];
  const SpdJobCheckpoint *ca = &job->checkpoints[a->checkpoint], *cb = &job->checkpoints[b->checkpoint];

  PetscFunctionBegin;
  PetscCall(SpdTaskFileSetProvenance(f, job));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "comparison_id", c->id));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "relation", SpdCompareRelationNames[c->relation]));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "spaces", c->relation == SPD_CMP_LAYERS ? SpdSpacesNames[c->spaces] : (c->eigen ? "eigen" : "")));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "k", k));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "k_requested", c->k));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "task_a", a->id));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "task_b", b->id));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "name_a", a->view.name));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "name_b", b->view.name));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "checkpoint_a", ca->label));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "checkpoint_b", cb->label));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "run_a", ca->run));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "run_b", cb->run));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "step_a", ca->step));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "step_b", cb->step));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "m_a", a->m));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "n_a", a->n));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "m_b", b->m));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "n_b", b->n));
  PetscFunctionReturn(0);
}

/* Angles in degrees from cosines (ascending angles for descending cosines). */
static void SpdAngles_Private(PetscInt k, const PetscReal cosv[], PetscReal deg[])
{
  for (PetscInt i = 0; i < k; i++) deg[i] = PetscAcosReal(cosv[i]) * SPD_DEG;
}

static PetscErrorCode SpdCompareWriteCheckpoints_Private(SpdTaskFile f, SpdPlan plan, const SpdComparison *c, PetscInt k, const PetscReal OU[], const PetscReal OV[], const PetscReal agree[], const PetscReal cu[], const PetscReal cv[], const PetscReal du[], const PetscReal dv[])
{
  PetscFunctionBegin;
  PetscCall(SpdCompareWriteHeader_Private(f, plan, c, k));
  PetscCall(SpdTaskFileWriteMatrix(f, "overlap_U", k, k, OU));
  PetscCall(SpdTaskFileWriteMatrix(f, "overlap_V", k, k, OV));
  PetscCall(SpdTaskFileWriteMatrix(f, "agreement", k, k, agree));
  PetscCall(SpdTaskFileWriteReal(f, "cos_U", k, cu));
  PetscCall(SpdTaskFileWriteReal(f, "cos_V", k, cv));
  PetscCall(SpdTaskFileWriteReal(f, "angles_U_deg", k, du));
  PetscCall(SpdTaskFileWriteReal(f, "angles_V_deg", k, dv));
  PetscCall(SpdTaskFileCreateGroup(f, "summary"));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "agreement_top", k ? agree[0] : NAN));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "agreement_diag_mean", SpdDiagMean_Private(k, agree)));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "overlap_U", SpdFrob2Mean_Private(k, OU)));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "overlap_V", SpdFrob2Mean_Private(k, OV)));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "angle_U_max", k ? du[k - 1] : NAN));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "angle_V_max", k ? dv[k - 1] : NAN));

  PetscFunctionReturn(0);
}

static PetscErrorCode SpdCompareWriteLayers_Private(SpdTaskFile f, SpdPlan plan, const SpdComparison *c, PetscInt k, const PetscReal O[], const PetscReal al[], const PetscReal unused1[], const PetscReal cs[], const PetscReal unused2[], const PetscReal deg[], const PetscReal unused3[])
{
  PetscFunctionBegin;
  (void)unused1;
  (void)unused2;
  (void)unused3;
  PetscCall(SpdCompareWriteHeader_Private(f, plan, c, k));
  PetscCall(SpdTaskFileWriteMatrix(f, "overlap", k, k, O));
  PetscCall(SpdTaskFileWriteMatrix(f, "alignment", k, k, al));
  PetscCall(SpdTaskFileWriteReal(f, "cos", k, cs));
  PetscCall(SpdTaskFileWriteReal(f, "angles_deg", k, deg));
  PetscCall(SpdTaskFileCreateGroup(f, "summary"));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "alignment_top", k ? al[0] : NAN));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "alignment_diag_mean", SpdDiagMean_Private(k, al)));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "overlap", SpdFrob2Mean_Private(k, O)));
  PetscCall(SpdTaskFileSetAttrReal(f, "summary", "angle_max", k ? deg[k - 1] : NAN));

  PetscFunctionReturn(0);
}

typedef PetscErrorCode (*SpdCompareWriter)(SpdTaskFile, SpdPlan, const SpdComparison *, PetscInt, const PetscReal[], const PetscReal[], const PetscReal[], const PetscReal[], const PetscReal[], const PetscReal[], const PetscReal[]);

/* Rank 0 writes the comparison's small file (through its temporary name); the outcome
   is agreed on, so a failed write (a full disk) is one failed comparison on every rank,
   and the temporary file is removed. */
static PetscErrorCode SpdCompareStore_Private(SpdStore store, MPI_Comm comm, const char id[], char msg[], size_t msglen, PetscBool *failed, SpdCompareWriter write, SpdPlan plan, const SpdComparison *c, PetscInt k, const PetscReal a0[], const PetscReal a1[], const PetscReal a2[], const PetscReal a3[], const PetscReal a4[], const PetscReal a5[], const PetscReal a6[])
{
  PetscMPIInt rank;
  int         err = 0;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (!rank) {
    SpdTaskFile    f = NULL;
    PetscErrorCode ierr;
    PetscCall(SpdErrorCapturePush(msg, msglen));
    ierr = SpdComparisonFileCreate(store, PETSC_COMM_SELF, id, &f);
    if (!ierr) ierr = write(f, plan, c, k, a0, a1, a2, a3, a4, a5, a6);
    if (!ierr) ierr = SpdTaskFileCommit(&f);
    PetscCall(SpdErrorCapturePop());
    if (ierr && f) PetscCall(SpdTaskFileAbort(&f));
    err = ierr ? 1 : 0;
  }
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  *failed = err ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* One comparison between checkpoints: overlaps in both spaces, agreement, angles. */
static PetscErrorCode SpdCompareCheckpoints_Private(SpdPlan plan, SpdStore store, MPI_Comm comm, const SpdComparison *c, char msg[], size_t msglen, PetscBool *failed)
{
  const SpdTask *a = &plan->tasks[c->a], *b = &plan->tasks[c->b];
  PetscReal     *OU = NULL, *OV = NULL, *agree, *cu, *cv, *du, *dv;
  PetscInt       ku = 0, kv = 0, k;

  PetscFunctionBegin;
  PetscCall(SpdCompareOverlap_Private(store, comm, a, b, "top/U", "top/U", a->m, c->k, &ku, &OU, msg, msglen, failed));
  if (!*failed) PetscCall(SpdCompareOverlap_Private(store, comm, a, b, "top/V", "top/V", a->n, c->k, &kv, &OV, msg, msglen, failed));
  if (*failed) {
    PetscCall(PetscFree(OU));
    PetscFunctionReturn(0);
  }
  k = PetscMin(ku, kv);
  PetscCall(PetscMalloc5((size_t)k * k + 1, &agree, k + 1, &cu, k + 1, &cv, k + 1, &du, k + 1, &dv));
  /* keep the leading k x k blocks (ku == kv unless a side has fewer converged vectors) */
  for (PetscInt i = 0; i < k; i++)
    for (PetscInt j = 0; j < k; j++) {
      OU[i * k + j] = OU[i * ku + j];
      OV[i * k + j] = OV[i * kv + j];
    }
  for (PetscInt i = 0; i < k * k; i++) agree[i] = PetscAbsReal(OU[i] * OV[i]);
  PetscCall(SpdPrincipalCosines(k, k, OU, cu));
  PetscCall(SpdPrincipalCosines(k, k, OV, cv));
  SpdAngles_Private(k, cu, du);
  SpdAngles_Private(k, cv, dv);
  PetscCall(SpdCompareStore_Private(store, comm, c->id, msg, msglen, failed, SpdCompareWriteCheckpoints_Private, plan, c, k, OU, OV, agree, cu, cv, du, dv));
  PetscCall(PetscFree5(agree, cu, cv, du, dv));
  PetscCall(PetscFree(OU));
  PetscCall(PetscFree(OV));
  PetscFunctionReturn(0);
}

/* One layer pair: the overlap in the shared space, alignment |.|, angles. */
static PetscErrorCode SpdCompareLayers_Private(SpdPlan plan, SpdStore store, MPI_Comm comm, const SpdComparison *c, char msg[], size_t msglen, PetscBool *failed)
{
  const SpdTask *a = &plan->tasks[c->a], *b = &plan->tasks[c->b];
  const char    *pa, *pb;
  PetscInt64     N;
  PetscReal     *O = NULL, *al, *cs, *deg;
  PetscInt       k = 0;

  PetscFunctionBegin;
  SpdLayerSides_Private(c, a, b, &pa, &pb, &N);
  PetscCall(SpdCompareOverlap_Private(store, comm, a, b, pa, pb, N, c->k, &k, &O, msg, msglen, failed));
  if (*failed) PetscFunctionReturn(0);
  PetscCall(PetscMalloc3((size_t)k * k + 1, &al, k + 1, &cs, k + 1, &deg));
  for (PetscInt i = 0; i < k * k; i++) al[i] = PetscAbsReal(O[i]);
  PetscCall(SpdPrincipalCosines(k, k, O, cs));
  SpdAngles_Private(k, cs, deg);
  PetscCall(SpdCompareStore_Private(store, comm, c->id, msg, msglen, failed, SpdCompareWriteLayers_Private, plan, c, k, O, al, NULL, cs, NULL, deg, NULL));
  PetscCall(PetscFree3(al, cs, deg));
  PetscCall(PetscFree(O));
  PetscFunctionReturn(0);
}

/*@C
  SpdCompareRun - compute the comparisons of a plan that are not stored yet

  Collective on plan->comm

  Input Parameters:
+ plan  - the plan (its comparisons come from the job's compare: section)
- store - the results folder holding the task files

  Output Parameter:
. sum - counts: computed now, already stored, waiting for a task, failed

  Notes:
  Incremental: a comparison whose file exists is skipped, so after new checkpoints only
  the comparisons they take part in are computed. A comparison whose tasks are not both
  stored waits (the merge step after all slices, or a later run, computes it). A failure
  (an unreadable task file) is reported on stderr and the others go on. Stops taking new
  comparisons after SIGTERM like the task loop.

.seealso: `SpdOverlap()`, `SpdRun()`
@*/
PetscErrorCode SpdCompareRun(SpdPlan plan, SpdStore store, SpdCompareSummary *sum)
{
  MPI_Comm    comm = plan->comm;
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(sum, sizeof(*sum)));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  for (PetscInt i = 0; i < plan->ncomparisons; i++) {
    const SpdComparison *c         = &plan->comparisons[i];
    PetscInt             st[3]     = { 0, 0, 0 }; /* stored, task a, task b: rank 0 decides for all */
    PetscBool            failed    = PETSC_FALSE;
    char                 msg[4096] = "";

    if (!rank) {
      PetscBool d;
      PetscCall(SpdStoreComparisonDone(store, c->id, &d));
      st[0] = d;
      PetscCall(SpdStoreTaskDone(store, plan->tasks[c->a].id, &d));
      st[1] = d;
      PetscCall(SpdStoreTaskDone(store, plan->tasks[c->b].id, &d));
      st[2] = d;
    }
    PetscCallMPI(MPI_Bcast(st, 3, MPIU_INT, 0, comm));
    if (st[0]) {
      sum->nstored++;
      continue;
    }
    if (!st[1] || !st[2]) {
      sum->nwaiting++;
      continue;
    }
    {
      PetscInt stop = SpdStopRequested() ? 1 : 0, any;
      PetscCallMPI(MPI_Allreduce(&stop, &any, 1, MPIU_INT, MPI_MAX, comm));
      if (any) {
        sum->nwaiting += plan->ncomparisons - i;
        break;
      }
    }
    if (c->relation == SPD_CMP_LAYERS || c->eigen)
      PetscCall(SpdCompareLayers_Private(plan, store, comm, c, msg, sizeof(msg), &failed));
    else
      PetscCall(SpdCompareCheckpoints_Private(plan, store, comm, c, msg, sizeof(msg), &failed));
    if (failed) {
      sum->nfailed++;
      if (msg[0]) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] comparison %s (%s: %s vs %s) not computed: %s\n", c->id, SpdCompareRelationNames[c->relation], plan->tasks[c->a].view.name, plan->tasks[c->b].view.name, msg));
    } else
      sum->ndone++;
  }
  PetscFunctionReturn(0);
}
