/* The input-output Jacobian analysis of one task (job key jacobian:, docs/jacobians.md):
   the checkpoint's MLP, the first `inputs` samples of the job's data as points x, and for
   each x, with the gates fixed at x,
     - Lyapunov exponents by QR iteration through the layers (SpdJacobianLyapunov), with
       the estimate after every depth;
     - top-k singular values of J_{l:1}(x) per depth, their gaps, the top-k of
       J_{L:l+1}(x) and the principal cosines between the right singular vectors of
       J_{L:l+1} and the left ones of J_{l:1} (SpdJacobianSpectraCompute);
   then mean, standard deviation and 10/50/90 % quantiles over the inputs, per index and
   depth. The inputs are few and small: every rank of the group reads them all; the
   products are distributed over the group (rows of the weights).

   A task of a random ensemble (jacobian.ensemble) runs the same analyses on `seeds`
   independent products of Gaussian matrices with random fixed gates
   (SpdJacobianCreateGaussian) instead of J(x): the draws take the place of the inputs,
   and the file has the same datasets. Draw r's ensemble seed is the r-th output of
   SplitMix64 seeded with the ensemble's seed, so draws are independent across r and the
   same for any rank count. */
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
  PetscReal  *lam, *cum, *ls, *lsr, *gap, *cs, *res;
  PetscInt   *depth;
  SpdTaskFile f;
} SpdJacTask;

static PetscErrorCode SpdJacTaskReset(SpdJacTask *c)
{
  PetscFunctionBegin;
  if (c->f) PetscCall(SpdTaskFileAbort(&c->f));
  PetscCall(PetscFree(c->lam));
  PetscCall(PetscFree(c->cum));
  PetscCall(PetscFree(c->ls));
  PetscCall(PetscFree(c->lsr));
  PetscCall(PetscFree(c->gap));
  PetscCall(PetscFree(c->cs));
  PetscCall(PetscFree(c->res));
  PetscCall(PetscFree(c->depth));
  PetscCall(SpdMLPDestroy(&c->mlp));
  if (c->data) PetscCall(SpdDataDestroy(&c->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdJacobianRunTask_Private(SpdPlan plan, const SpdTask *task, MPI_Comm comm, SpdStore store, PetscInt *nprod, SpdJacTask *c)
{
  SpdJob                     job = plan->job;
  const SpdJacobianSettings *js  = &job->jacobian;
  const SpdJacobianEnsemble *en  = task->ensemble >= 0 ? &js->ensembles[task->ensemble] : NULL;
  PetscInt                   L, k, n, nd, wmin;
  const PetscInt            *w;
  PetscMPIInt                size;
  uint64_t                   draws = en ? (uint64_t)en->seed : 0; /* state of the draws' seeds */
  char                       label[256];

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(comm, &size));
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
  PetscCall(PetscCalloc1((size_t)n * k + 1, &c->lam));
  PetscCall(PetscCalloc1((size_t)n * L * k + 1, &c->cum));
  PetscCall(PetscCalloc1((size_t)n * nd * k + 1, &c->ls));
  PetscCall(PetscCalloc1((size_t)n * nd * k + 1, &c->lsr));
  PetscCall(PetscCalloc1((size_t)n * nd * PetscMax(k - 1, 1) + 1, &c->gap));
  PetscCall(PetscCalloc1((size_t)n * nd * k + 1, &c->cs));
  PetscCall(PetscCalloc1((size_t)n * nd * k + 1, &c->res));
  for (PetscInt i = 0; i < n; i++) {
    SpdJacobian J;
    if (en)
      PetscCall(SpdJacobianCreateGaussian(comm, en->width, en->depth, en->std, en->gate_p, (PetscInt64)SpdSplitMix64(&draws), &J));
    else
      PetscCall(SpdJacobianCreateMLP(c->mlp, c->data->X + (size_t)i * c->data->d, comm, &J));
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
  ierr = SpdJacobianRunTask_Private(plan, task, comm, store, nprod, &c);
  PetscCall(SpdJacTaskReset(&c));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
