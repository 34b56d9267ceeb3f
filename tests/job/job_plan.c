/* Plans on real (generated) safetensors files: views and their stored ranges against the
   independent computation of make_checkpoints.py (expected_views.txt), skipped tensors,
   checkpoints that fail to open, memory refusal with the rank count computed by hand,
   SpdTaskMemoryPerRank against hand-computed values, stable and setting-dependent ids,
   the same plan on every rank, and the --dry-run table.

   Usage: job_plan DATA_DIR   (DATA_DIR written by make_checkpoints.py) */
#include "testutil.h"

static const char help[] = "Tests SpdPlanCreate on generated checkpoints.\n";

static const char job_text[] = "name: plantest\n"
                               "checkpoints:\n"
                               "  - model.safetensors\n"
                               "  - missing.safetensors\n"
                               "  - path: other.safetensors\n"
                               "    label: other\n"
                               "  - broken.safetensors\n"
                               "tensors:\n"
                               "  exclude: [\"*.skipme.*\"]\n"
                               "  split:\n"
                               "    - match: \"*.qkv.weight\"\n"
                               "      parts: [q, k, v]\n"
                               "      heads: 4\n"
                               "    - match: \"*.c_attn.weight\"\n"
                               "      parts: [q, k, v]\n"
                               "      axis: 0\n"
                               "      transpose: true\n"
                               "    - match: \"*.attn.kv.weight\"\n"
                               "      parts: [k, v]\n"
                               "      axis: 1\n"
                               "      heads: 2\n"
                               "    - match: \"*.pq.weight\"\n"
                               "      parts: [p, q]\n"
                               "      axis: 1\n"
                               "      transpose: true\n"
                               "    - match: \"*.nomatch.weight\"\n"
                               "      parts: [a, b]\n"
                               "weights:\n"
                               "  top: 8\n"
                               "  bottom: 2\n"
                               "resources:\n"
                               "  memory_per_rank: 2MiB\n";

static const SpdTask *FindTask(SpdPlan plan, PetscInt c, const char name[])
{
  for (PetscInt i = 0; i < plan->ntasks; i++)
    if (plan->tasks[i].checkpoint == c && !strcmp(plan->tasks[i].view.name, name)) return &plan->tasks[i];
  return NULL;
}

static PetscErrorCode CheckViews(SpdPlan plan, const char dir[])
{
  char     path[PETSC_MAX_PATH_LEN], line[1024], name[SPD_MAX_NAME];
  FILE    *f;
  PetscInt nexp = 0;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/expected_views.txt", dir));
  f = fopen(path, "r");
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s; run make_checkpoints.py first (the job_plan_setup test)", path);
  while (fgets(line, sizeof(line), f)) {
    long long      r0, nr, c0, nc, tr, m, n;
    const SpdTask *t;
    if (sscanf(line, "%511s %lld %lld %lld %lld %lld %lld %lld", name, &r0, &nr, &c0, &nc, &tr, &m, &n) != 8) continue;
    nexp++;
    t = FindTask(plan, 0, name);
    SPD_EXPECT(t, "no task for view %s", name);
    if (!t) continue;
    SPD_EXPECT(t->view.row0 == r0 && t->view.nrows == nr && t->view.col0 == c0 && t->view.ncols == nc && (long long)t->view.transpose == tr,
        "view %s: rows [%" PetscInt64_FMT ",+%" PetscInt64_FMT ") cols [%" PetscInt64_FMT ",+%" PetscInt64_FMT ") T=%d; expected rows [%lld,+%lld) cols [%lld,+%lld) T=%lld", name, t->view.row0, t->view.nrows, t->view.col0, t->view.ncols, (int)t->view.transpose, r0, nr, c0, nc, tr);
    SPD_EXPECT(t->m == m && t->n == n, "view %s: %" PetscInt64_FMT "x%" PetscInt64_FMT ", expected %lldx%lld", name, t->m, t->n, m, n);
  }
  fclose(f);
  SPD_EXPECT(nexp == 29, "expected_views.txt has %" PetscInt_FMT " views, expected 29", nexp);
  /* model.safetensors: 29 views; other.safetensors: head.weight */
  SPD_EXPECT(plan->ntasks == 30, "ntasks %" PetscInt_FMT ", expected 30", plan->ntasks);
  for (PetscInt i = 0; i < plan->ntasks; i++) {
    const SpdTask *t = &plan->tasks[i];
    if (t->checkpoint == 2) SPD_EXPECT(!strcmp(t->view.name, "head.weight") && t->m == 10 && t->n == 20, "other checkpoint task %s", t->view.name);
    SPD_EXPECT(t->checkpoint == 0 || t->checkpoint == 2, "task %s of checkpoint %" PetscInt_FMT, t->view.name, t->checkpoint);
    if (i) SPD_EXPECT(plan->tasks[i - 1].cost >= t->cost, "tasks not sorted by decreasing cost at %" PetscInt_FMT, i);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckSkipped(SpdPlan plan, const char dir[])
{
  char     path[PETSC_MAX_PATH_LEN], line[1024], name[SPD_MAX_NAME], kind[32];
  FILE    *f;
  PetscInt nexp = 0;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/expected_skipped.txt", dir));
  f = fopen(path, "r");
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s", path);
  while (fgets(line, sizeof(line), f)) {
    PetscBool found = PETSC_FALSE;
    if (sscanf(line, "%511s %31s", name, kind) != 2) continue;
    nexp++;
    for (PetscInt i = 0; i < plan->nskipped; i++)
      if (!strcmp(plan->skipped[i].name, name)) {
        found = PETSC_TRUE;
        SPD_EXPECT(strstr(plan->skipped[i].why, kind), "skipped %s: reason '%s' lacks '%s'", name, plan->skipped[i].why, kind);
      }
    SPD_EXPECT(found, "%s not in the skipped list", name);
  }
  fclose(f);
  /* + head.bias of other.safetensors; the excluded tensor is not "skipped" */
  SPD_EXPECT(plan->nskipped == nexp + 1, "nskipped %" PetscInt_FMT ", expected %" PetscInt_FMT, plan->nskipped, nexp + 1);
  for (PetscInt i = 0; i < plan->nskipped; i++) SPD_EXPECT(!strstr(plan->skipped[i].name, "skipme"), "excluded tensor listed as skipped");
  PetscFunctionReturn(0);
}

/* Every rank must hold the same plan: compare a digest string with rank 0's. */
static PetscErrorCode CheckSameOnAllRanks(SpdPlan plan)
{
  char       *s, *s0;
  size_t      len = (size_t)plan->ntasks * 64 + 1;
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PetscCalloc2(len, &s, len, &s0));
  for (PetscInt i = 0; i < plan->ntasks; i++) {
    size_t l = strlen(s);
    PetscCall(PetscSNPrintf(s + l, len - l, "%s:%" PetscInt_FMT ":%d;", plan->tasks[i].id, plan->tasks[i].nranks, (int)plan->tasks[i].refused));
  }
  PetscCall(PetscArraycpy(s0, s, len));
  PetscCallMPI(MPI_Bcast(s0, (PetscMPIInt)len, MPI_CHAR, 0, PETSC_COMM_WORLD));
  SPD_EXPECT(!strcmp(s, s0), "rank %d holds a different plan", rank);
  PetscCall(PetscFree2(s, s0));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckMemory(SpdPlan plan)
{
  PetscMPIInt    size;
  const SpdTask *big    = FindTask(plan, 0, "big.weight");
  PetscInt64     budget = 2 * 1024 * 1024, fixed, needed;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  /* hand-computed values of the documented model */
  SPD_EXPECT(SpdTaskMemoryPerRank(1000, 500, PETSC_FALSE, 8, 0, 2) == 3224768, "partial top memory %" PetscInt64_FMT, SpdTaskMemoryPerRank(1000, 500, PETSC_FALSE, 8, 0, 2));
  /* 20000 x 50000 on 2 ranks, top-16: block Lanczos's basis nb = 2 * 48 + 4 = 100 and the
     kept products: 8e9/2 + 2e9 + 8 * 200 * 70000 / 2 + 32 * 100^2 */
  SPD_EXPECT(SpdTaskMemoryPerRank(20000, 50000, PETSC_FALSE, 16, 0, 2) == 6056320000LL, "block top memory %" PetscInt64_FMT, SpdTaskMemoryPerRank(20000, 50000, PETSC_FALSE, 16, 0, 2));
  SPD_EXPECT(SpdTaskMemoryPerRank(1000, 500, PETSC_FALSE, 0, 10, 4) == 1823072, "partial bottom memory %" PetscInt64_FMT, SpdTaskMemoryPerRank(1000, 500, PETSC_FALSE, 0, 10, 4));
  SPD_EXPECT(SpdTaskMemoryPerRank(300, 200, PETSC_TRUE, 8, 0, 3) == 737600, "full memory %" PetscInt64_FMT, SpdTaskMemoryPerRank(300, 200, PETSC_TRUE, 8, 0, 3));
  SPD_EXPECT(SpdTaskMemoryPerRank(10, 40, PETSC_FALSE, 8, 0, 1) == 12000, "ncv capped memory %" PetscInt64_FMT, SpdTaskMemoryPerRank(10, 40, PETSC_FALSE, 8, 0, 1));

  /* big.weight 600 x 500, full: 3*8*m*n/p + 8*64*(m+n) + 8*min(m,n) <= budget
     <=> p >= 3*8*m*n / (budget - fixed) */
  SPD_EXPECT(big, "no task for big.weight");
  if (!big) PetscFunctionReturn(0);
  fixed  = 8 * 64 * (600 + 500) + 8 * 500;
  needed = (3 * 8 * 600 * 500 + (budget - fixed) - 1) / (budget - fixed);
  SPD_EXPECT(needed == 5, "hand computation gives %" PetscInt64_FMT, needed);
  SPD_EXPECT(big->full && big->refused, "big.weight must be refused at 2 MiB per rank on %d ranks", size);
  SPD_EXPECT(big->nranks == size && big->mem_per_rank == 3 * 8 * 600 * 500 / size + fixed, "big.weight: %" PetscInt_FMT " ranks, %" PetscInt64_FMT " bytes", big->nranks, big->mem_per_rank);
  SPD_EXPECT(strstr(big->reason, "at least 5 ranks are needed") && strstr(big->reason, "memory_per_rank = 2.0 MiB"), "reason: %s", big->reason);
  for (PetscInt i = 0; i < plan->ntasks; i++) {
    const SpdTask *t = &plan->tasks[i];
    if (t == big) continue;
    SPD_EXPECT(!t->refused && t->nranks == 1 && t->mem_per_rank <= budget, "task %s: refused %d, %" PetscInt_FMT " ranks", t->view.name, (int)t->refused, t->nranks);
    SPD_EXPECT(t->full, "task %s: min(m,n) <= 4096 must be full", t->view.name);
    SPD_EXPECT(t->top == PetscMin(8, PetscMin(t->m, t->n)) && t->bottom == 2, "task %s: top %" PetscInt_FMT " bottom %" PetscInt_FMT, t->view.name, t->top, t->bottom);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckErrors(SpdPlan plan)
{
  PetscFunctionBegin;
  SPD_EXPECT(plan->readers[0] && plan->readers[2] && !plan->readers[1] && !plan->readers[3], "readers of the good checkpoints only");
  SPD_EXPECT(!plan->errors[0] && !plan->errors[2], "no error for good checkpoints");
  SPD_EXPECT(plan->errors[1] && strstr(plan->errors[1], "missing.safetensors"), "missing checkpoint error: %s", plan->errors[1] ? plan->errors[1] : "(none)");
  SPD_EXPECT(plan->errors[3] && strstr(plan->errors[3], "broken.safetensors"), "broken checkpoint error: %s", plan->errors[3] ? plan->errors[3] : "(none)");
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "recorded: %s\nrecorded: %s\n", plan->errors[1] ? plan->errors[1] : "", plan->errors[3] ? plan->errors[3] : ""));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckView(SpdPlan plan)
{
  PetscViewer v;
  PetscMPIInt rank, size;
  char        path[64];

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscSNPrintf(path, sizeof(path), "job_plan_view_np%d.txt", size));
  PetscCall(PetscViewerASCIIOpen(PETSC_COMM_WORLD, path, &v));
  PetscCall(SpdPlanView(plan, v));
  PetscCall(PetscViewerDestroy(&v));
  PetscCall(SpdPlanView(plan, PETSC_VIEWER_STDOUT_WORLD));
  if (rank == 0) {
    static char buf[65536];
    FILE       *f = fopen(path, "r");
    size_t      n;
    const char *want[] = { "REFUSED: needs about", "at least 5 ranks", "blocks.0.attn.qkv.weight[k]/head3", "blocks.0.attn.c_attn.weight[v]", "1-D tensor (bias/norm); not a matrix", "dtype I64", "missing.safetensors", "broken.safetensors", "Total: 30 tasks (1 refused)", "blocks.0.attn.kv.weight[v]/head1", "blocks.0.attn.pq.weight[p]", "5 tensors skipped", "2 of 4 checkpoints failed", "tensors.split[4] (match '*.nomatch.weight') cut no tensor" };
    PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot read %s", path);
    n      = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) SPD_EXPECT(strstr(buf, want[i]), "plan view lacks '%s'", want[i]);
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  SpdJob         job;
  SpdPlan        plan, plan2;
  char           dir[PETSC_MAX_PATH_LEN];
  PetscMPIInt    size;
  PetscErrorCode ierr;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCheck(argc >= 2, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "usage: job_plan DATA_DIR (written by make_checkpoints.py)");
  PetscCall(PetscStrncpy(dir, argv[1], sizeof(dir)));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));

  PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, job_text, "plantest.yaml", dir, &job));
  PetscCall(SpdPlanCreate(job, PETSC_COMM_WORLD, &plan));
  PetscCall(CheckViews(plan, dir));
  PetscCall(CheckSkipped(plan, dir));
  PetscCall(CheckErrors(plan));
  PetscCall(CheckMemory(plan));
  PetscCall(CheckSameOnAllRanks(plan));
  PetscCall(CheckView(plan));

  /* the same job again: the same ids in the same order */
  PetscCall(SpdPlanCreate(job, PETSC_COMM_WORLD, &plan2));
  SPD_EXPECT(plan2->ntasks == plan->ntasks, "second plan has %" PetscInt_FMT " tasks", plan2->ntasks);
  for (PetscInt i = 0; i < PetscMin(plan->ntasks, plan2->ntasks); i++) SPD_EXPECT(!strcmp(plan->tasks[i].id, plan2->tasks[i].id), "id of task %" PetscInt_FMT " changed between identical plans", i);
  for (PetscInt i = 0; i < plan->ntasks; i++)
    for (PetscInt j = 0; j < i; j++) SPD_EXPECT(strcmp(plan->tasks[i].id, plan->tasks[j].id), "tasks %s and %s share an id", plan->tasks[i].view.name, plan->tasks[j].view.name);
  PetscCall(SpdPlanDestroy(&plan2));

  /* a changed setting gives new ids for every task whose resolved settings change;
     a generous budget lets the largest task use several ranks */
  job->weights.top      = 5;
  job->weights.full_max = 16;
  job->memory_per_rank  = (PetscInt64)1 << 30;
  PetscCall(SpdPlanCreate(job, PETSC_COMM_WORLD, &plan2));
  SPD_EXPECT(plan2->ntasks == plan->ntasks, "third plan has %" PetscInt_FMT " tasks", plan2->ntasks);
  for (PetscInt i = 0; i < plan2->ntasks; i++) {
    const SpdTask *t  = &plan2->tasks[i];
    PetscInt64     mn = PetscMin(t->m, t->n);
    for (PetscInt j = 0; j < plan->ntasks; j++) SPD_EXPECT(strcmp(t->id, plan->tasks[j].id), "task %s kept id %s after top changed", t->view.name, t->id);
    SPD_EXPECT(t->full == (mn <= 16) && t->top == PetscMin(5, mn) && !t->refused, "task %s (%" PetscInt64_FMT "x%" PetscInt64_FMT "): full %d top %" PetscInt_FMT, t->view.name, t->m, t->n, (int)t->full, t->top);
  }
  {
    /* big.weight is now a partial task and still by far the costliest */
    PetscInt pow2 = 1;
    while (2 * pow2 <= size) pow2 *= 2;
    SPD_EXPECT(!strcmp(plan2->tasks[0].view.name, "big.weight") && plan2->tasks[0].nranks == pow2, "costliest task %s on %" PetscInt_FMT " ranks, expected big.weight on %" PetscInt_FMT, plan2->tasks[0].view.name, plan2->tasks[0].nranks, pow2);
    SPD_EXPECT(plan2->tasks[plan2->ntasks - 1].nranks == 1, "cheapest task on %" PetscInt_FMT " ranks", plan2->tasks[plan2->ntasks - 1].nranks);
  }
  PetscCall(SpdPlanDestroy(&plan2));

  /* fixed ranks_per_task: capped at the communicator size */
  job->ranks_per_task = 3;
  PetscCall(SpdPlanCreate(job, PETSC_COMM_WORLD, &plan2));
  for (PetscInt i = 0; i < plan2->ntasks; i++) SPD_EXPECT(plan2->tasks[i].nranks == PetscMin(3, size), "ranks_per_task 3: task on %" PetscInt_FMT " ranks", plan2->tasks[i].nranks);
  PetscCall(SpdPlanDestroy(&plan2));
  PetscCall(SpdPlanDestroy(&plan));
  PetscCall(SpdJobDestroy(&job));

  /* a split rule that does not divide its tensor is an error naming tensor and rule */
  PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, "checkpoints: [model.safetensors]\ntensors:\n  split:\n    - match: '*.qkv.weight'\n      parts: [a, b, c, d, e]\n", "bad.yaml", dir, &job));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = SpdPlanCreate(job, PETSC_COMM_WORLD, &plan);
  PetscCall(PetscPopErrorHandler());
  SPD_EXPECT(ierr, "indivisible split must fail");
  if (ierr) {
    char *msg;
    PetscCall(PetscErrorMessage(ierr, NULL, &msg));
    SPD_EXPECT(strstr(msg, "'blocks.0.attn.qkv.weight'") && strstr(msg, "tensors.split[0]") && strstr(msg, "192 rows, not divisible by 5 parts"), "split error: %s", msg);
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "ok: %s\n", msg));
  }
  PetscCall(SpdJobDestroy(&job));

  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
