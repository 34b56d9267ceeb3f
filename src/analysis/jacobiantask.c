/* The input-output Jacobian analysis of one task (job key jacobian:, docs/jacobians.md):
   the checkpoint's MLP, the first `inputs` samples of the job's data as points x, and for
   each x, with the gates fixed at x,
     - Lyapunov exponents by QR iteration through the layers (SpdJacobianLyapunov), with
       the estimate after every depth;
     - top-k singular values of J_{l:1}(x) per depth, their gaps, the top-k of
       J_{L:l+1}(x) and the principal cosines between the right singular vectors of
       J_{L:l+1} and the left ones of J_{l:1} (SpdJacobianSpectraCompute);
   then mean, standard deviation and 10/50/90 % quantiles over the inputs, per index and
   depth. The inputs are few and small: every rank of the group reads them all.

   Inputs across rank groups (jacobian.input_groups): the task's communicator is split
   into G groups of R/G consecutive ranks; group g analyses the inputs i with
   i mod G == g, distributing each product over its own ranks (rows of the weights), and
   the per-input results (k x depth arrays) are summed into arrays indexed by input on
   the task's communicator (each value comes from one rank, the others add zeros, so the
   sum is exact). The stored datasets and statistics are therefore the same for any G
   and rank count up to the rounding of the distributed products. Automatic G: see
   SpdJacobianInputGroups_Private.

   A task of a random ensemble (jacobian.ensemble) runs the same analyses on `seeds`
   independent products of Gaussian matrices with random fixed gates
   (SpdJacobianCreateGaussian) instead of J(x): the draws take the place of the inputs,
   and the file has the same datasets. Draw r's ensemble seed is the r-th output of
   SplitMix64 seeded with the ensemble's seed, so draws are independent across r and the
   same for any rank count and G. */
#include <specdyn/analysis.h>
#include <specdyn/jacobian.h>

static int SpdCompareReal_Private(const void *a, const void *b)
{
  PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return (x > y) - (x < y);
}

/* Column statistics of an n x m row-major array: mean, std (n-1), 10/50/90 % quantiles
   (linear interpolation); NaN entries are left out. out: 5 x m. */
static PetscErrorCode SpdColumnStats(PetscInt n, PetscInt m, const PetscReal a[], PetscReal out[])
{
  PetscReal *col;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(n + 1, &col));
  for (PetscInt j = 0; j < m; j++) {
    PetscInt  c    = 0;
    PetscReal mean = 0, var = 0;
    for (PetscInt i = 0; i < n; i++)
      if (!PetscIsNanReal(a[i * m + j]) && !PetscIsInfReal(a[i * m + j])) col[c++] = a[i * m + j];
    for (PetscInt i = 0; i < c; i++) mean += col[i] / c;
    for (PetscInt i = 0; i < c; i++) var += (col[i] - mean) * (col[i] - mean);
    qsort(col, (size_t)c, sizeof(PetscReal), SpdCompareReal_Private);
    out[0 * m + j] = c ? mean : NAN;
    out[1 * m + j] = c > 1 ? PetscSqrtReal(var / (c - 1)) : NAN;
    for (int q = 0; q < 3; q++) {
      PetscReal p = (q == 0 ? 0.1 : q == 1 ? 0.5
                                           : 0.9)
          * (c - 1),
                fr         = p - PetscFloorReal(p);
      PetscInt lo          = (PetscInt)PetscFloorReal(p);
      out[(2 + q) * m + j] = c ? (lo + 1 < c ? col[lo] * (1 - fr) + col[lo + 1] * fr : col[lo]) : NAN;
    }
  }
  PetscCall(PetscFree(col));
  PetscFunctionReturn(0);
}

/* grp/<name> (n x m per input) and grp/<name>_{mean,std,q10,q50,q90} (m each, as rows x cols). */
static PetscErrorCode SpdWriteWithStats(SpdTaskFile f, const char grp[], const char name[], PetscInt n, PetscInt rows, PetscInt cols, const PetscReal a[])
{
  const char *const sfx[5] = { "mean", "std", "q10", "q50", "q90" };
  PetscReal        *st;
  char              path[128];
  PetscInt          m = rows * cols;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", grp, name));
  PetscCall(SpdTaskFileWriteMatrix(f, path, n * rows, cols, a));
  PetscCall(PetscMalloc1(5 * m + 1, &st));
  PetscCall(SpdColumnStats(n, m, a, st));
  for (int s = 0; s < 5; s++) {
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s_%s", grp, name, sfx[s]));
    PetscCall(SpdTaskFileWriteMatrix(f, path, rows, cols, st + s * m));
  }
  PetscCall(PetscFree(st));
  PetscFunctionReturn(0);
}

typedef struct {
  SpdData     data;
  SpdMLP      mlp;
  PetscReal  *buf; /* the per-input results, one allocation (summed over the groups at once) */
  PetscReal  *lam, *cum, *ls, *lsr, *gap, *cs, *res; /* into buf */
  PetscInt   *depth;
  uint64_t   *seeds; /* ensemble seed of every draw */
  MPI_Comm    sub; /* this rank's input group */
  SpdTaskFile f;
} SpdJacTask;

static PetscErrorCode SpdJacTaskReset(SpdJacTask *c)
{
  PetscFunctionBegin;
  if (c->f) PetscCall(SpdTaskFileAbort(&c->f));
  PetscCall(PetscFree(c->buf));
  PetscCall(PetscFree(c->depth));
  PetscCall(PetscFree(c->seeds));
  if (c->sub != MPI_COMM_NULL) PetscCallMPI(MPI_Comm_free(&c->sub));
  PetscCall(SpdMLPDestroy(&c->mlp));
  if (c->data) PetscCall(SpdDataDestroy(&c->data));
  PetscFunctionReturn(0);
}

/* The number G of input groups of a task on `size` ranks with n inputs (or draws).

   Explicit (jacobian.input_groups: G): G must divide the task's rank count.

   Automatic: among the divisors G of the rank count R with G <= n whose groups of s = R/G
   ranks keep one product within resources.memory_per_rank (the planner's estimate for the
   task on s ranks: mem_split / s + mem_replicated + 8 ncv m / s), the G of least modelled
   time ceil(n / G) t(s), the larger G on ties (fewer, larger messages). t(s) = 1 when the
   widest layer is below SPD_JAC_NARROW (one rank multiplies by a layer in well under a
   millisecond and distributing a product only adds latency-bound collectives), else
   t(s) = 1 / s (a product's flops divide over its ranks). */
#define SPD_JAC_NARROW 1024
static PetscErrorCode SpdJacobianInputGroups_Private(SpdJob job, const SpdTask *task, PetscMPIInt size, PetscInt n, PetscInt k, const char label[], MPI_Comm comm, PetscMPIInt *G)
{
  const PetscInt want = job->jacobian.input_groups;
  double         best = PETSC_MAX_REAL, ncv = PetscMax(2 * k + 16, 32);

  PetscFunctionBegin;
  if (want > 0) {
    PetscCheck(want <= size && size % want == 0, comm, PETSC_ERR_USER_INPUT, "jacobian.input_groups is %" PetscInt_FMT " but task %s:%s runs on %d rank%s; give a divisor of %d (the task's ranks: resources.ranks_per_task or the planner's choice, see specdyn run --dry-run) or auto", want, label, task->view.name, (int)size,
        size == 1 ? "" : "s", (int)size);
    *G = (PetscMPIInt)want;
    PetscFunctionReturn(0);
  }
  *G = 1;
  for (PetscMPIInt g = 1; g <= size; g++) {
    PetscMPIInt s = size / g;
    double      mem, t;

    if (size % g || g > n) continue;
    mem = (double)task->mem_split / s + (double)task->mem_replicated + 8.0 * ncv * (double)task->m / s;
    if (g > 1 && mem > (double)job->memory_per_rank) continue;
    t = (double)((n + g - 1) / g) * (task->m < SPD_JAC_NARROW ? 1.0 : 1.0 / s);
    if (t <= best * (1 + 1e-12)) { /* ties (ideal scaling): the larger G */
      best = t;
      *G   = g;
    }
  }
  PetscFunctionReturn(0);
}

/* The inputs (draws) i = g, g + G, ... of one group, analysed on its communicator sub.
   Every rank of the group gets the same results; they land in the rows of c->buf. */
static PetscErrorCode SpdJacobianRunInputs_Private(SpdJob job, const SpdJacobianEnsemble *en, SpdJacTask *c, MPI_Comm sub, PetscInt g, PetscInt G, PetscInt n, PetscInt L, PetscInt k, PetscInt nd, PetscInt *nprod)
{
  const SpdJacobianSettings *js = &job->jacobian;

  PetscFunctionBegin;
  for (PetscInt i = g; i < n; i += G) {
    SpdJacobian J;
    if (en)
      PetscCall(SpdJacobianCreateGaussian(sub, en->width, en->depth, en->std, en->gate_p, (PetscInt64)c->seeds[i], &J));
    else
      PetscCall(SpdJacobianCreateMLP(c->mlp, c->data->X + (size_t)i * c->data->d, sub, &J));
    if (js->lyapunov) {
      SpdLyapunov ly;
      PetscCall(SpdJacobianLyapunov(J, k, NULL, js->seed + i, &ly));
      PetscCall(PetscArraycpy(c->lam + (size_t)i * k, ly.lambda, k));
      PetscCall(PetscArraycpy(c->cum + (size_t)i * L * k, ly.cumulative, (size_t)L * k));
      PetscCall(SpdLyapunovDestroy(&ly));
      *nprod += L;
    }
    if (js->spectra) {
      SpdJacobianSpectra sp;
      PetscCall(SpdJacobianSpectraCompute(J, k, nd, c->depth, "jacobian_", &sp));
      PetscCall(PetscArraycpy(c->ls + (size_t)i * nd * k, sp.logsigma, (size_t)nd * k));
      PetscCall(PetscArraycpy(c->lsr + (size_t)i * nd * k, sp.logsigma_rest, (size_t)nd * k));
      PetscCall(PetscArraycpy(c->res + (size_t)i * nd * k, sp.residual, (size_t)nd * k));
      PetscCall(PetscArraycpy(c->cs + (size_t)i * nd * k, sp.cosines, (size_t)nd * k));
      if (k > 1) PetscCall(PetscArraycpy(c->gap + (size_t)i * nd * (k - 1), sp.gap, (size_t)nd * (k - 1)));
      *nprod += sp.nprod;
      PetscCall(SpdJacobianSpectraDestroy(&sp));
    }
    PetscCall(SpdJacobianDestroy(&J));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdJacobianRunTask_Private(SpdPlan plan, const SpdTask *task, MPI_Comm comm, SpdStore store, PetscInt *nprod, SpdJacTask *c)
{
  SpdJob                     job = plan->job;
  const SpdJacobianSettings *js  = &job->jacobian;
  const SpdJacobianEnsemble *en  = task->ensemble >= 0 ? &js->ensembles[task->ensemble] : NULL;
  PetscInt                   L, k, n, nd, wmin, g, myprod = 0;
  const PetscInt            *w;
  PetscMPIInt                size, rank, srank, G;
  size_t                     nbuf;
  char                       label[256];

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(SpdTaskLabel(plan, task, label, sizeof(label)));
  if (en) { /* widths: every factor is width x width */
    L    = en->depth;
    wmin = en->width;
    n    = en->draws;
  } else {
    /* the points x: the first `inputs` samples, on every rank (they are few and small) */
    PetscCall(SpdJobDataLoad(job, PETSC_COMM_SELF, js->inputs, &c->data));
    PetscCall(SpdMLPCreateFromCheckpoint(plan->readers[task->checkpoint], comm, &job->model, &c->mlp));
    PetscCall(SpdMLPGetArchitecture(c->mlp, &L, &w, NULL, NULL, NULL, NULL, NULL));
    PetscCheck(c->data->d == w[0], comm, PETSC_ERR_ARG_SIZ, "The data %s have %" PetscInt_FMT " features but the model of %s takes %" PetscInt_FMT " inputs", c->data->name, c->data->d, plan->job->checkpoints[task->checkpoint].path, w[0]);
    wmin = w[0];
    for (PetscInt l = 1; l <= L; l++) wmin = PetscMin(wmin, w[l]);
    n = c->data->n;
  }
  k  = PetscMin(js->k, wmin);
  nd = js->ndepths ? js->ndepths : L;
  PetscCall(PetscMalloc1(nd, &c->depth));
  for (PetscInt i = 0; i < nd; i++) {
    c->depth[i] = js->ndepths ? js->depths[i] : i + 1;
    PetscCheck(c->depth[i] >= 1 && c->depth[i] <= L, comm, PETSC_ERR_USER_INPUT, "jacobian.depths: depth %" PetscInt_FMT " is outside 1..%" PetscInt_FMT ", the layers of %s", c->depth[i], L, label);
  }
  {
    size_t      sz[7] = { (size_t)n * k, (size_t)n * L * k, (size_t)n * nd * k, (size_t)n * nd * k, (size_t)n * nd * PetscMax(k - 1, 1), (size_t)n * nd * k, (size_t)n * nd * k }, tot = 0;
    PetscReal **p[7] = { &c->lam, &c->cum, &c->ls, &c->lsr, &c->gap, &c->cs, &c->res };

    for (int a = 0; a < 7; a++) tot += sz[a];
    PetscCall(PetscCalloc1(tot + 1, &c->buf));
    tot = 0;
    for (int a = 0; a < 7; a++) {
      *p[a] = c->buf + tot;
      tot += sz[a];
    }
    nbuf = tot;
  }

  /* the input groups: group g = rank / (size / G) takes the inputs i = g mod G */
  PetscCall(SpdJacobianInputGroups_Private(job, task, size, n, k, label, comm, &G));
  g = rank / (size / G);
  PetscCallMPI(MPI_Comm_split(comm, g, rank, &c->sub));
  PetscCallMPI(MPI_Comm_rank(c->sub, &srank));
  if (en) { /* draw r's ensemble seed: the r-th SplitMix64 output, whichever group takes it */
    uint64_t draws = (uint64_t)en->seed;
    PetscCall(PetscMalloc1(n, &c->seeds));
    for (PetscInt i = 0; i < n; i++) c->seeds[i] = SpdSplitMix64(&draws);
  }
  PetscCall(PetscInfo(NULL, "%s: %" PetscInt_FMT " input%s on %d input group%s of %d rank%s\n", label, n, n == 1 ? "" : "s", (int)G, G == 1 ? "" : "s", (int)(size / G), size / G == 1 ? "" : "s"));
  {
    char           msg[1024];
    PetscErrorCode gerr;
    PetscMPIInt    first, mine;

    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    gerr = SpdJacobianRunInputs_Private(job, en, c, c->sub, g, G, n, L, k, nd, &myprod);
    PetscCall(SpdErrorCapturePop());
    /* a failed group fails the task on every rank (the others would wait in the sum) */
    mine = gerr ? rank : size;
    PetscCallMPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
    if (first < size) {
      PetscCallMPI(MPI_Bcast(msg, (PetscMPIInt)sizeof(msg), MPI_CHAR, first, comm));
      msg[sizeof(msg) - 1] = 0;
      SETERRQ(comm, PETSC_ERR_LIB, "input group %d of %d (ranks %d..%d of task %s) failed: %s", (int)(first / (size / G)), (int)G, (int)(first / (size / G) * (size / G)), (int)((first / (size / G) + 1) * (size / G) - 1), label, msg);
    }
  }
  /* the per-input rows of every group on every rank: rank 0 of each group contributes its
     rows, everybody else zeros (x + 0 is exact, NaN and -inf stay) */
  if (srank) PetscCall(PetscArrayzero(c->buf, nbuf));
  {
    size_t off = 0;
    while (off < nbuf) { /* in pieces of at most 2^30 numbers (MPI counts are int) */
      PetscMPIInt cnt = (PetscMPIInt)PetscMin(nbuf - off, (size_t)1 << 30);
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, c->buf + off, cnt, MPIU_REAL, MPIU_SUM, comm));
      off += (size_t)cnt;
    }
  }
  {
    PetscInt mp = srank ? 0 : myprod;
    PetscCallMPI(MPI_Allreduce(&mp, nprod, 1, MPIU_INT, MPI_SUM, comm));
  }

  PetscCall(SpdTaskFileCreate(store, comm, task->id, &c->f));
  PetscCall(SpdTaskFileSetProvenance(c->f, job));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "analysis", "jacobian"));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "kind", "jacobian"));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "task_id", task->id));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "checkpoint", en ? "" : job->checkpoints[task->checkpoint].path));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "checkpoint_label", label));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "run", en ? "" : job->checkpoints[task->checkpoint].run));
  PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "step", en ? -1 : job->checkpoints[task->checkpoint].step));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "name", task->view.name));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "source", en ? "ensemble" : "model"));
  PetscCall(SpdTaskFileSetAttrString(c->f, "/", "data", en ? "gaussian ensemble" : c->data->name));
  PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "inputs", n)); /* for an ensemble: the draws */
  if (en) { /* the law of the ensemble */
    PetscCall(SpdTaskFileSetAttrString(c->f, "/", "ensemble", en->name));
    PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "width", en->width));
    PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "depth", en->depth));
    PetscCall(SpdTaskFileSetAttrReal(c->f, "/", "std", en->std));
    PetscCall(SpdTaskFileSetAttrReal(c->f, "/", "gate_p", en->gate_p));
    PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "draws", en->draws));
    PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "seed", en->seed));
  }
  PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "layers", L));
  PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "k", k));
  PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "ranks", size));
  PetscCall(SpdTaskFileSetAttrInt(c->f, "/", "input_groups", G));
  PetscCall(SpdTaskFileCreateGroup(c->f, "metrics"));
  {
    PetscReal top = NAN; /* the mean largest exponent over the inputs: the headline number */
    if (js->lyapunov) {
      top = 0;
      for (PetscInt i = 0; i < n; i++) top += c->lam[(size_t)i * k] / n;
    }
    PetscCall(SpdTaskFileSetAttrReal(c->f, "metrics", "lyapunov_1_mean", top));
  }
  if (js->lyapunov) {
    PetscCall(SpdWriteWithStats(c->f, "lyapunov", "lambda", n, 1, k, c->lam));
    PetscCall(SpdWriteWithStats(c->f, "lyapunov", "cumulative", n, L, k, c->cum));
  }
  if (js->spectra) {
    PetscInt *dd;
    PetscCall(PetscMalloc1(nd, &dd));
    for (PetscInt i = 0; i < nd; i++) dd[i] = c->depth[i];
    PetscCall(SpdTaskFileWriteInt(c->f, "spectra/depth", nd, dd));
    PetscCall(PetscFree(dd));
    PetscCall(SpdWriteWithStats(c->f, "spectra", "logsigma", n, nd, k, c->ls));
    PetscCall(SpdWriteWithStats(c->f, "spectra", "logsigma_rest", n, nd, k, c->lsr));
    PetscCall(SpdWriteWithStats(c->f, "spectra", "cosines", n, nd, k, c->cs));
    if (k > 1) PetscCall(SpdWriteWithStats(c->f, "spectra", "gap", n, nd, k - 1, c->gap));
    PetscCall(SpdTaskFileWriteMatrix(c->f, "spectra/residual", n * nd, k, c->res));
  }
  PetscCall(SpdTaskFileCommit(&c->f));
  PetscFunctionReturn(0);
}

/*@C
  SpdJacobianRunTask - the input-output Jacobian analysis of one task

  Collective on comm (the task's group)
@*/
PetscErrorCode SpdJacobianRunTask(SpdPlan plan, const SpdTask *task, MPI_Comm comm, SpdStore store, PetscInt *nprod)
{
  SpdJacTask     c;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *nprod = 0;
  PetscCall(PetscMemzero(&c, sizeof(c)));
  c.sub = MPI_COMM_NULL;
  ierr  = SpdJacobianRunTask_Private(plan, task, comm, store, nprod, &c);
  PetscCall(SpdJacTaskReset(&c));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
