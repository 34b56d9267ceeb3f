/* Plans: from a job to a list of tasks with cost and memory estimates.

   SpdPlanCreate opens every checkpoint (metadata only), selects tensors by the include /
   exclude globs, turns each selected matrix-like tensor into one or more analysed views
   (fused projections cut into parts and heads by the job's split rules) and gives each
   view a task: resolved settings, a flop estimate, a rank count and a per-rank memory
   estimate. A checkpoint that fails to open does not stop the study: its error is
   recorded in plan->errors and the other checkpoints are planned.

   Cost model (flops; used to order tasks and size rank groups, not to predict time):
     full spectrum (SpdSVDFull, values):  4 m n min(m,n)
       (Householder bidiagonalization, one-stage or through a band, costs 4mn^2 - 4n^3/3
       for m >= n; the band reduction, O(n^2 nb), and the bidiagonal's O(n^2) are
       absorbed in the rounding up).
     top / bottom k (SLEPc thick-restart Lanczos): products x 2mn + reorthogonalization
       products = 2 (A and A^T) x ncv x restarts, with ncv as the solver picks it
       (top: max(2k+16, 32); bottom: max(64, 2k+16)); restarts ~ 3 for the well separated
       top of a weight spectrum, ~ 25 for the bottom (FACTS.md: 3,506 products for
       ncv = 64 on a 400 x 300 matrix with a cluster near 0); reorthogonalization adds
       2 ncv^2 (m+n) per restart.
   The top/bottom triplets always come from the Krylov solver (they carry residuals and
   vectors), also when the full spectrum is computed: costs add up, and since the solves
   run one after the other the memory is the matrix plus the largest workspace. */
#include "planimpl.h"
#include <math.h>

#define SPD_PLAN_NB              64 /* ScaLAPACK block size assumed for workspace estimates */
#define SPD_PLAN_RESTARTS_TOP    3.0
#define SPD_PLAN_RESTARTS_BOTTOM 25.0

/* Block Lanczos runs the top by default for float32 storage on AVX2 CPUs from
   SPD_FLOAT32_BLOCK_MIN_MB of the float32 matrix per rank (SpdMatGetBlockWidth), when its
   basis fits the matrix */
#define SPD_PLAN_BLOCK_MIN_BYTES (SPD_FLOAT32_BLOCK_MIN_MB * 1024 * 1024)

static PetscInt PlanNcvTop(PetscInt k) { return PetscMax(2 * k + 16, 32); }
static PetscInt PlanNcvBottom(PetscInt k) { return PetscMax(64, 2 * k + 16); }

/*@C
  SpdTaskMemoryPerRank - estimated bytes per rank of one weight-spectra task

  Not collective

  Input Parameters:
+ m, n        - the analysed matrix is m x n
. full        - all singular values by ScaLAPACK
. top, bottom - numbers of triplets wanted from the Krylov solver
- p           - ranks of the task group

  Notes:
  The model counts the data, not the runtime's fixed overhead:
  the matrix 8mn/p (MATMPIDENSE); for full, a block-cyclic copy and pdgesvd's workspace
  ~ 2 x 8mn/p plus 8 nb (m+n) panel buffers (nb = 64) and the replicated singular values
  (an upper bound for the two-stage reduction, whose workspace besides the copy is the
  panel buffers and the replicated band, 8 (nb+1) min(m,n));
  for partial, the float32 copy of the matrix 4mn/p (made while the float64 one is still
  held), the Krylov bases 8 ncv (m+n)/p (ncv as the solver picks it; the top and bottom
  solves run one after the other, so the larger counts) plus the replicated projected
  problem ~ 4 x 8 ncv^2. For the top of a matrix of 16 MiB per rank or more in float32,
  block Lanczos (the default there on AVX2 CPUs): a basis of nb = 2 max(2k+16, 32) + 4
  columns per side and the products kept beside it, 8 (2 nb) (m+n)/p, and 4 x 8 nb^2.

.seealso: `SpdPlanCreate()`
@*/
PetscInt64 SpdTaskMemoryPerRank(PetscInt64 m, PetscInt64 n, PetscBool full, PetscInt top, PetscInt bottom, PetscInt p)
{
  double     dm = (double)m, dn = (double)n, dp = (double)PetscMax(p, 1), mat = 8.0 * dm * dn / dp, b = mat;
  PetscInt64 mn = PetscMin(m, n);

  double     wfull = 0.0, wkrylov = 0.0;
  PetscInt64 cols = 0, proj = 0; /* Krylov columns per side; order of the projected problem */

  if (full) wfull = 2.0 * mat + 8.0 * SPD_PLAN_NB * (dm + dn) + 8.0 * (double)mn;
  if (top > 0) {
    PetscInt64 nb = 2 * PlanNcvTop(top) + 4; /* block Lanczos: twice SLEPc's basis, V one block of 4 more */
    if (4.0 * dm * dn / dp >= SPD_PLAN_BLOCK_MIN_BYTES && nb <= mn) {
      cols = 2 * nb; /* the bases and the products A V, A^T U kept beside them */
      proj = nb;
    } else
      cols = proj = PetscMin(PlanNcvTop(top), mn); /* SLEPc caps ncv at min(m,n) */
  }
  if (bottom > 0) {
    PetscInt64 c = PetscMin(PlanNcvBottom(bottom), mn);
    cols         = PetscMax(cols, c);
    proj         = PetscMax(proj, c);
  }
  /* + the float32 copy of W, made while W is still held (-spd_weights_storage auto) */
  if (cols > 0) wkrylov = 0.5 * mat + 8.0 * (double)cols * (dm + dn) / dp + 4.0 * 8.0 * (double)proj * (double)proj;
  b += PetscMax(wfull, wkrylov);
  return (PetscInt64)ceil(b);
}

/* Memory of one task on p ranks: a difference task also holds W_b while forming W_a - W_b. */
static PetscInt64 PlanTaskMemory(const SpdTask *t, PetscInt p)
{
  if (t->curv_op >= 0 || t->jacobian) { /* the per-sample part splits over the ranks; parameter vectors are replicated */
    double ncv = PetscMax(2 * PetscMax(t->top, t->bottom) + 16, 32);
    return (PetscInt64)((double)t->mem_split / PetscMax(p, 1) + (double)t->mem_replicated + 8.0 * ncv * (double)t->m / PetscMax(p, 1));
  }
  PetscInt64 b = SpdTaskMemoryPerRank(t->m, t->n, t->full, t->top, t->bottom, p);
  if (t->f32 && !t->full && t->checkpoint_b < 0) { /* read straight into float32 (SpdMatLoadViewFloat32): no float64 W, one read chunk of <= 64 MiB */
    double mat = 8.0 * (double)t->m * (double)t->n / (double)PetscMax(p, 1);
    b -= (PetscInt64)(mat - PetscMin(mat, 64.0 * 1024 * 1024));
  }
  if (t->checkpoint_b >= 0) b += (PetscInt64)ceil(8.0 * (double)t->m * (double)t->n / (double)PetscMax(p, 1));
  return b;
}

static PetscReal PlanCost(PetscInt64 m, PetscInt64 n, PetscBool full, PetscInt top, PetscInt bottom)
{
  double dm = (double)m, dn = (double)n, mn = (double)PetscMin(m, n), cost = 0.0;

  if (full) cost += 4.0 * dm * dn * mn;
  if (top > 0) {
    double ncv = PetscMin((double)PlanNcvTop(top), mn);
    cost += 2.0 * ncv * SPD_PLAN_RESTARTS_TOP * 2.0 * dm * dn + SPD_PLAN_RESTARTS_TOP * 2.0 * ncv * ncv * (dm + dn);
  }
  if (bottom > 0) {
    double ncv = PetscMin((double)PlanNcvBottom(bottom), mn);
    cost += 2.0 * ncv * SPD_PLAN_RESTARTS_BOTTOM * 2.0 * dm * dn + SPD_PLAN_RESTARTS_BOTTOM * 2.0 * ncv * ncv * (dm + dn);
  }
  return (PetscReal)cost;
}

static PetscErrorCode PlanTaskId(SpdJob job, SpdTask *t, const char tensor[])
{
  const SpdWeightsSettings *w = &job->weights;
  char                      buf[3 * SPD_MAX_NAME + 2 * PETSC_MAX_PATH_LEN + 256];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "specdyn-weights-v1\n%s\n%s\n%s\n%" PetscInt64_FMT " %" PetscInt64_FMT " %" PetscInt64_FMT " %" PetscInt64_FMT " %d\nfull=%d top=%" PetscInt_FMT " bottom=%" PetscInt_FMT " vectors=%d rank_tol=%.17g tail_min=%" PetscInt_FMT, job->checkpoints[t->checkpoint].path, tensor, t->view.name, t->view.row0,
      t->view.nrows, t->view.col0, t->view.ncols, (int)t->view.transpose, (int)t->full, t->top, t->bottom, (int)w->vectors, (double)w->rank_tol, w->tail_min));
  if (t->checkpoint_b >= 0) { /* a difference task W_a - W_b */
    size_t len = strlen(buf);
    PetscCall(PetscSNPrintf(buf + len, sizeof(buf) - len, "\nminus\n%s\n%s\n%" PetscInt64_FMT " %" PetscInt64_FMT " %" PetscInt64_FMT " %" PetscInt64_FMT " %d", job->checkpoints[t->checkpoint_b].path, t->view_b.name, t->view_b.row0, t->view_b.nrows, t->view_b.col0, t->view_b.ncols, (int)t->view_b.transpose));
  }
  PetscCall(SpdHashId(buf, t->id, sizeof(t->id)));
  PetscFunctionReturn(0);
}

static PetscErrorCode PlanAddTask(SpdPlan plan, PetscInt *cap, SpdTask **t)
{
  PetscFunctionBegin;
  if (plan->ntasks == *cap) {
    *cap = PetscMax(16, 2 * (*cap));
    PetscCall(PetscRealloc(sizeof(SpdTask) * (size_t)(*cap), &plan->tasks));
  }
  *t = &plan->tasks[plan->ntasks++];
  PetscCall(PetscMemzero(*t, sizeof(**t)));
  (*t)->ensemble = -1;
  PetscFunctionReturn(0);
}

static PetscErrorCode PlanAddSkipped(SpdPlan plan, PetscInt *cap, const SpdTensorInfo *info, const char why[])
{
  SpdSkipped *s;

  PetscFunctionBegin;
  if (plan->nskipped == *cap) {
    *cap = PetscMax(16, 2 * (*cap));
    PetscCall(PetscRealloc(sizeof(SpdSkipped) * (size_t)(*cap), &plan->skipped));
  }
  s = &plan->skipped[plan->nskipped++];
  PetscCall(PetscMemzero(s, sizeof(*s)));
  PetscCall(PetscStrncpy(s->name, info->name, sizeof(s->name)));
  PetscCall(PetscStrncpy(s->file, info->file, sizeof(s->file)));
  PetscCall(PetscStrncpy(s->why, why, sizeof(s->why)));
  PetscFunctionReturn(0);
}

static PetscErrorCode PlanSelected(SpdJob job, const char name[], PetscBool *sel)
{
  PetscBool match = PETSC_FALSE;

  PetscFunctionBegin;
  *sel = PETSC_FALSE;
  for (PetscInt i = 0; i < job->ninclude && !match; i++) PetscCall(SpdGlobMatch(job->include[i], name, &match));
  if (!match) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < job->nexclude; i++) {
    PetscCall(SpdGlobMatch(job->exclude[i], name, &match));
    if (match) PetscFunctionReturn(0);
  }
  *sel = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Add a task for one view with the job's settings resolved for its shape. */
static PetscErrorCode PlanAddView(SpdPlan plan, PetscInt *cap, PetscInt c, const char tensor[], const SpdMatrixView *view)
{
  const SpdWeightsSettings *w = &plan->job->weights;
  SpdTask                  *t = NULL;
  PetscInt64                mn;

  PetscFunctionBegin;
  PetscCall(PlanAddTask(plan, cap, &t));
  t->checkpoint   = c;
  t->checkpoint_b = -1;
  t->curv_op      = -1;
  t->curv_block   = -1;
  t->view         = *view;
  SpdMatrixViewShape(view, &t->m, &t->n);
  mn        = PetscMin(t->m, t->n);
  t->full   = (w->full == SPD_FULL_YES || (w->full == SPD_FULL_AUTO && mn <= w->full_max)) ? PETSC_TRUE : PETSC_FALSE;
  t->top    = (PetscInt)PetscMin((PetscInt64)w->top, mn);
  t->bottom = (PetscInt)PetscMin((PetscInt64)w->bottom, mn);
  t->cost   = PlanCost(t->m, t->n, t->full, t->top, t->bottom);
  {
    const SpdTensorInfo *ti;
    PetscCall(SpdReaderGetTensor(plan->readers[c], view->tensor, &ti));
    PetscCall(SpdTensorUseFloat32(ti, &t->f32));
  }
  PetscCall(PlanTaskId(plan->job, t, tensor));
  PetscFunctionReturn(0);
}

/* Views of a tensor cut by a split rule; *msg is set (and nothing added) when the cut
   dimension is not divisible. */
static PetscErrorCode PlanAddSplitViews(SpdPlan plan, PetscInt *cap, PetscInt c, PetscInt r, const SpdTensorInfo *info, const SpdMatrixView *base, char msg[], size_t msglen)
{
  const SpdJobSplit *s = &plan->job->splits[r];
  PetscBool          T = (base->transpose != s->transpose) ? PETSC_TRUE : PETSC_FALSE; /* analysed = stored^T */
  /* axis 0 cuts the rows of the analysed matrix: stored rows unless transposed */
  PetscBool     cutrows = ((s->axis == 0) == !T) ? PETSC_TRUE : PETSC_FALSE;
  PetscInt64    L = cutrows ? base->nrows : base->ncols, pieces = s->nparts * PetscMax(s->heads, 1), lp, lh;
  SpdMatrixView v;

  PetscFunctionBegin;
  msg[0] = 0;
  if (L % pieces) {
    char by[96];
    if (s->heads > 0)
      PetscCall(PetscSNPrintf(by, sizeof(by), "%" PetscInt_FMT " parts x %" PetscInt_FMT " heads = %" PetscInt64_FMT, s->nparts, s->heads, pieces));
    else
      PetscCall(PetscSNPrintf(by, sizeof(by), "%" PetscInt_FMT " parts", s->nparts));
    PetscCall(PetscSNPrintf(msg, msglen, "%s: tensor '%s' cannot be split by rule tensors.split[%" PetscInt_FMT "] (match '%s'): axis %" PetscInt_FMT " of the analysed matrix has %" PetscInt64_FMT " %s, not divisible by %s; fix parts/heads/axis or narrow 'match'", plan->job->checkpoints[c].path, info->name, r, s->match, s->axis, L,
        s->axis == 0 ? "rows" : "columns", by));
    PetscFunctionReturn(0);
  }
  lp = L / s->nparts;
  lh = s->heads > 0 ? lp / s->heads : lp;
  for (PetscInt p = 0; p < s->nparts; p++) {
    for (PetscInt h = -1; h < s->heads; h++) {
      PetscInt64 off = p * lp + (h < 0 ? 0 : h * lh), len = h < 0 ? lp : lh;
      v           = *base;
      v.transpose = T;
      if (cutrows) {
        v.row0  = base->row0 + off;
        v.nrows = len;
      } else {
        v.col0  = base->col0 + off;
        v.ncols = len;
      }
      if (h < 0)
        PetscCall(PetscSNPrintf(v.name, sizeof(v.name), "%s[%s]", info->name, s->parts[p]));
      else
        PetscCall(PetscSNPrintf(v.name, sizeof(v.name), "%s[%s]/head%" PetscInt_FMT, info->name, s->parts[p], h));
      PetscCall(PlanAddView(plan, cap, c, info->name, &v));
    }
  }
  PetscFunctionReturn(0);
}

/* Smallest rank count whose estimate fits the budget, or -1 when none does. */
static PetscInt64 PlanRanksNeeded(const SpdTask *t, PetscInt64 budget)
{
  PetscInt64       lo, hi = 1;
  const PetscInt64 cap = (PetscInt64)1 << 30;

  while (hi < cap && PlanTaskMemory(t, (PetscInt)PetscMin(hi, PETSC_MAX_INT)) > budget) hi *= 2;
  if (PlanTaskMemory(t, (PetscInt)PetscMin(hi, PETSC_MAX_INT)) > budget) return -1;
  lo = hi / 2; /* does not fit (or 0) */
  while (hi - lo > 1) {
    PetscInt64 mid = lo + (hi - lo) / 2;
    if (PlanTaskMemory(t, (PetscInt)mid) <= budget)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

/* Rank counts: the smallest power of two (or the whole communicator) that fits the memory
   budget, raised for tasks costlier than an even share so that big matrices get several
   ranks; a fixed ranks_per_task is used as given (capped at the communicator size). */
static PetscErrorCode PlanAssignRanks(SpdPlan plan)
{
  SpdJob    job   = plan->job;
  PetscReal total = 0.0, share;
  PetscInt  size = plan->size, pow2 = 1;

  PetscFunctionBegin;
  while (2 * pow2 <= size) pow2 *= 2;
  for (PetscInt i = 0; i < plan->ntasks; i++) total += plan->tasks[i].cost;
  share = total / size;
  for (PetscInt i = 0; i < plan->ntasks; i++) {
    SpdTask *t = &plan->tasks[i];
    PetscInt p = 0;

    if (job->ranks_per_task > 0) {
      p = PetscMin(job->ranks_per_task, size);
      if (PlanTaskMemory(t, p) > job->memory_per_rank) p = 0;
    } else {
      for (PetscInt q = 1; q <= pow2 && !p; q *= 2)
        if (PlanTaskMemory(t, q) <= job->memory_per_rank) p = q;
      if (!p && PlanTaskMemory(t, size) <= job->memory_per_rank) p = size;
      if (p && share > 0 && t->cost > share) {
        /* proportional to the cost share, rounded to the nearest power of two */
        PetscInt q = 1 << (int)PetscMin(30.0, round(log2((double)(t->cost / share))));
        p          = PetscMax(p, PetscMin(q, pow2));
      }
    }
    if (p) {
      t->nranks       = p;
      t->mem_per_rank = PlanTaskMemory(t, p);
    } else {
      PetscInt   pp     = job->ranks_per_task > 0 ? PetscMin(job->ranks_per_task, size) : size;
      PetscInt64 needed = PlanRanksNeeded(t, job->memory_per_rank);
      char       need[32], have[32];

      t->nranks       = pp;
      t->mem_per_rank = PlanTaskMemory(t, pp);
      t->refused      = PETSC_TRUE;
      PetscCall(SpdFormatBytes(t->mem_per_rank, need, sizeof(need)));
      PetscCall(SpdFormatBytes(job->memory_per_rank, have, sizeof(have)));
      if (needed > 0)
        PetscCall(PetscSNPrintf(t->reason, sizeof(t->reason), "needs about %s per rank on %" PetscInt_FMT " rank%s; at least %" PetscInt64_FMT " ranks are needed (memory_per_rank = %s)", need, pp, pp == 1 ? "" : "s", needed, have));
      else
        PetscCall(PetscSNPrintf(t->reason, sizeof(t->reason), "needs about %s per rank on %" PetscInt_FMT " rank%s and no rank count fits (memory_per_rank = %s); raise resources.memory_per_rank", need, pp, pp == 1 ? "" : "s", have));
    }
  }
  PetscFunctionReturn(0);
}

static int PlanCompareTasks(const void *a, const void *b)
{
  const SpdTask *x = (const SpdTask *)a, *y = (const SpdTask *)b;
  int            c;

  if (x->cost > y->cost) return -1;
  if (x->cost < y->cost) return 1;
  if ((c = strcmp(x->id, y->id))) return c;
  if ((c = strcmp(x->view.name, y->view.name))) return c;
  return (x->checkpoint > y->checkpoint) - (x->checkpoint < y->checkpoint);
}

/* The architecture of checkpoint c's MLP (metadata only): layer count, widths and the
   parameter count. A model that does not fit the checkpoint becomes the checkpoint's
   error (*ok false) and the study goes on. */
static PetscErrorCode PlanResolveModel(SpdPlan plan, PetscInt c, SpdMLPSpec *spec, PetscInt *L, PetscInt width[], PetscInt *P, PetscBool *ok)
{
  PetscErrorCode ierr;
  char           msg[1024];

  PetscFunctionBegin;
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  ierr = SpdMLPResolve(plan->readers[c], &plan->job->model, spec, L, width);
  PetscCall(SpdErrorCapturePop());
  *ok = ierr ? PETSC_FALSE : PETSC_TRUE;
  if (ierr) {
    if (!plan->errors[c]) {
      char full[1100];
      PetscCall(PetscSNPrintf(full, sizeof(full), "model: %s", msg));
      PetscCall(PetscStrallocpy(full, &plan->errors[c]));
    }
    PetscFunctionReturn(0);
  }
  *P = 0;
  for (PetscInt l = 0; l < *L; l++) *P += width[l + 1] * width[l] + (spec->bias[l][0] ? width[l + 1] : 0);
  PetscFunctionReturn(0);
}

/* Curvature tasks of checkpoint c: one per operator and block (the whole model, each
   layer). The architecture is resolved from metadata; a model that does not fit the
   checkpoint is recorded as the checkpoint's error and the study goes on. */
static PetscErrorCode PlanAddCurvature(SpdPlan plan, PetscInt *cap, PetscInt c)
{
  SpdJob                      job = plan->job;
  const SpdCurvatureSettings *k   = &job->curvature;
  SpdMLPSpec                  spec;
  PetscInt                    L, width[SPD_MLP_MAX_LAYERS + 1], P = 0, wsum = 0, n = job->data.n ? job->data.n : 10000;
  PetscInt                    psize[SPD_MLP_MAX_LAYERS];
  PetscBool                   ok;

  PetscFunctionBegin;
  PetscCall(PlanResolveModel(plan, c, &spec, &L, width, &P, &ok));
  if (!ok) PetscFunctionReturn(0);
  for (PetscInt l = 0; l < L; l++) psize[l] = width[l + 1] * width[l] + (spec.bias[l][0] ? width[l + 1] : 0);
  for (PetscInt l = 0; l <= L; l++) wsum += width[l];
  for (PetscInt op = 0; op < 3; op++) {
    if (!k->op[op]) continue;
    for (PetscInt b = k->whole ? -1 : 0; b < (k->layers ? L : 0); b++) {
      SpdTask *t;
      PetscInt N = b < 0 ? P : psize[b], ncv = PetscMax(2 * PetscMax(k->top, k->bottom) + 16, 32);
      double   products;
      char     buf[3 * SPD_MAX_NAME + 2 * PETSC_MAX_PATH_LEN + 256];

      PetscCall(PlanAddTask(plan, cap, &t));
      t->checkpoint   = c;
      t->checkpoint_b = -1;
      t->curv_op      = op;
      t->curv_block   = b;
      t->samples      = n;
      t->m = t->n = N;
      if (b < 0)
        PetscCall(PetscSNPrintf(t->view.name, sizeof(t->view.name), "%s/model", SpdCurvatures[op]));
      else
        PetscCall(PetscSNPrintf(t->view.name, sizeof(t->view.name), "%s/%s", SpdCurvatures[op], spec.weight[b]));
      t->top    = (PetscInt)PetscMin(k->top, N);
      t->bottom = (PetscInt)PetscMin(k->bottom, N);
      /* products: Krylov-Schur restarts (~ 3 for well separated extremes), trace, density */
      products = (t->top ? 3.0 * ncv : 0) + (t->bottom ? 10.0 * ncv : 0) + k->trace_products + (double)k->density_probes * k->density_steps;
      t->cost  = products * 12.0 * (double)P * (double)n;
      /* data-parallel memory: per-sample caches (~8 arrays of the layer widths), the
         replicated parameter-sized vectors (~8), the Krylov basis on the block */
      t->mem_split      = (PetscInt64)(8.0 * 8.0 * (double)wsum * (double)n);
      t->mem_replicated = (PetscInt64)(8.0 * 8.0 * (double)P);
      PetscCall(PetscSNPrintf(buf, sizeof(buf), "specdyn-curvature-v1\n%s\n%s\nL=%" PetscInt_FMT " P=%" PetscInt_FMT "\ntop=%" PetscInt_FMT " bottom=%" PetscInt_FMT " vectors=%d trace=%" PetscInt_FMT " density=%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT ",%.17g lr=%.17g seed=%" PetscInt64_FMT "\n", job->checkpoints[c].path, t->view.name, L, P, t->top, t->bottom, (int)k->vectors, k->trace_products, k->density_probes, k->density_steps, k->density_grid, (double)k->density_sigma, (double)k->learning_rate, k->seed));
      /* the model and data settings enter the id verbatim (the job text of those sections) */
      {
        size_t len = strlen(buf);
        PetscCall(PetscSNPrintf(buf + len, sizeof(buf) - len, "loss=%d param=%d act=%d,%" PetscInt_FMT ",%d slope=%.17g data=%d,%s,%s,%s,%s,%s,%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT ",%.17g,%" PetscInt64_FMT, (int)spec.loss, (int)spec.param, (int)spec.act_given, spec.nact, (int)spec.act[0], (double)spec.leaky_slope, (int)job->data.source, job->data.path, job->data.x, job->data.y, job->data.images, job->data.labels, job->data.n, job->data.d, job->data.classes, job->data.outputs, (double)job->data.snr, job->data.seed));
      }
      PetscCall(SpdHashId(buf, t->id, sizeof(t->id)));
    }
  }
  PetscFunctionReturn(0);
}

/* The input-output Jacobian task of checkpoint c (job key jacobian:): J(x) of the
   checkpoint's MLP at the first `inputs` samples, across depth. */
static PetscErrorCode PlanAddJacobian(SpdPlan plan, PetscInt *cap, PetscInt c)
{
  SpdJob                     job = plan->job;
  const SpdJacobianSettings *j   = &job->jacobian;
  SpdMLPSpec                 spec;
  PetscInt                   L, width[SPD_MLP_MAX_LAYERS + 1], P = 0, wmax = 0;
  PetscBool                  ok;
  char                       buf[2 * PETSC_MAX_PATH_LEN + 1024];
  SpdTask                   *t;

  PetscFunctionBegin;
  PetscCall(PlanResolveModel(plan, c, &spec, &L, width, &P, &ok));
  if (!ok) PetscFunctionReturn(0);
  for (PetscInt l = 0; l <= L; l++) wmax = PetscMax(wmax, width[l]);
  PetscCall(PlanAddTask(plan, cap, &t));
  t->checkpoint   = c;
  t->checkpoint_b = -1;
  t->curv_op      = -1;
  t->curv_block   = -1;
  t->jacobian     = PETSC_TRUE;
  t->samples      = j->inputs;
  t->m = t->n = wmax;
  PetscCall(PetscStrncpy(t->view.name, "jacobian/inputs", sizeof(t->view.name)));
  /* per input: the QR sweep (L products of a k-column block) and, per depth, a Krylov
     solve of ~ 3 (2k + 16) products of a partial Jacobian (~ l layers each) */
  t->cost           = (double)j->inputs * (2.0 * j->k * (double)P + (j->spectra ? 3.0 * (2 * j->k + 16) * (double)L * (double)P : 0));
  t->mem_split      = (PetscInt64)(8.0 * (double)P);
  t->mem_replicated = (PetscInt64)(8.0 * 2.0 * (double)P + 8.0 * 8.0 * (double)wmax * (double)(2 * j->k + 16));
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "specdyn-jacobian-v1\n%s\nL=%" PetscInt_FMT " P=%" PetscInt_FMT "\ninputs=%" PetscInt_FMT " k=%" PetscInt_FMT " lyap=%d spectra=%d nd=%" PetscInt_FMT " seed=%" PetscInt64_FMT "\nloss=%d param=%d act=%d,%" PetscInt_FMT ",%d data=%d,%s,%s,%s,%s,%s,%" PetscInt_FMT ",%" PetscInt_FMT ",%.17g,%" PetscInt64_FMT, job->checkpoints[c].path, L, P, j->inputs, j->k, (int)j->lyapunov, (int)j->spectra, j->ndepths, j->seed, (int)spec.loss, (int)spec.param, (int)spec.act_given, spec.nact, (int)spec.act[0], (int)job->data.source, job->data.path, job->data.x, job->data.y, job->data.images, job->data.labels, job->data.d, job->data.classes, (double)job->data.snr, job->data.seed));
  for (PetscInt i = 0; i < j->ndepths; i++) {
    size_t len = strlen(buf);
    PetscCall(PetscSNPrintf(buf + len, sizeof(buf) - len, ",%" PetscInt_FMT, j->depths[i]));
  }
  PetscCall(SpdHashId(buf, t->id, sizeof(t->id)));
  PetscFunctionReturn(0);
}

/* The tasks of the random ensembles (jacobian.ensemble): one per ensemble, with no
   checkpoint. The id hashes the ensemble's law and draws and the analysis settings (not
   its name), so a rerun finds the stored results and a renamed ensemble keeps them. */
static PetscErrorCode PlanAddEnsembles(SpdPlan plan, PetscInt *cap)
{
  const SpdJacobianSettings *j = &plan->job->jacobian;

  PetscFunctionBegin;
  for (PetscInt e = 0; e < j->nensembles; e++) {
    const SpdJacobianEnsemble *en = &j->ensembles[e];
    double                     d = (double)en->width, L = (double)en->depth, k = (double)PetscMin(j->k, en->width), nd = j->ndepths ? j->ndepths : en->depth;
    char                       buf[1024];
    SpdTask                   *t;

    PetscCall(PlanAddTask(plan, cap, &t));
    t->checkpoint   = -1;
    t->checkpoint_b = -1;
    t->curv_op      = -1;
    t->curv_block   = -1;
    t->jacobian     = PETSC_TRUE;
    t->ensemble     = e;
    t->samples      = en->draws;
    t->m = t->n = en->width;
    PetscCall(PetscStrncpy(t->view.name, "jacobian/gaussian", sizeof(t->view.name)));
    /* per draw: drawing the L factors (~ 20 flops an entry), the QR sweep (L products of a
       k-column block) and, per depth, two Krylov solves of ~ 3 (2k + 16) products of
       partial products of ~ L layers in all */
    t->cost           = (PetscReal)(en->draws * (20.0 * L * d * d + 2.0 * k * L * d * d + (j->spectra ? nd * 3.0 * (2 * k + 16) * 2.0 * L * d * d : 0)));
    t->mem_split      = (PetscInt64)(8.0 * L * d * d); /* the stored rows of the factors */
    t->mem_replicated = (PetscInt64)(8.0 * 8.0 * d * (2 * k + 16) + (j->spectra && d <= 2 * k + 16 ? 8.0 * 3 * d * d : 0));
    PetscCall(PetscSNPrintf(buf, sizeof(buf), "specdyn-jacobian-ensemble-v1\nwidth=%" PetscInt_FMT " depth=%" PetscInt_FMT " std=%.17g gate_p=%.17g draws=%" PetscInt_FMT " seed=%" PetscInt64_FMT "\nk=%" PetscInt_FMT " lyap=%d spectra=%d seed=%" PetscInt64_FMT " nd=%" PetscInt_FMT, en->width, en->depth, (double)en->std, (double)en->gate_p, en->draws, en->seed, j->k, (int)j->lyapunov, (int)j->spectra, j->seed, j->ndepths));
    for (PetscInt i = 0; i < j->ndepths; i++) {
      size_t len = strlen(buf);
      PetscCall(PetscSNPrintf(buf + len, sizeof(buf) - len, ",%" PetscInt_FMT, j->depths[i]));
    }
    PetscCall(SpdHashId(buf, t->id, sizeof(t->id)));
  }
  PetscFunctionReturn(0);
}

/* Plan the tensors of one opened checkpoint; *err is set on a split error. */
static PetscErrorCode PlanCheckpoint(SpdPlan plan, PetscInt c, PetscInt *tcap, PetscInt *scap, char err[], size_t errlen)
{
  SpdJob    job = plan->job;
  SpdReader r   = plan->readers[c];
  PetscInt  nt;

  PetscFunctionBegin;
  err[0] = 0;
  PetscCall(SpdReaderGetNumTensors(r, &nt));
  if (!job->weights_enabled) nt = 0; /* a curvature-only study */
  for (PetscInt i = 0; i < nt; i++) {
    const SpdTensorInfo *info;
    PetscBool            sel, empty = PETSC_FALSE;
    SpdMatrixView        base;
    PetscInt             rule = -1;
    char                 why[256];

    PetscCall(SpdReaderGetTensor(r, i, &info));
    PetscCall(PlanSelected(job, info->name, &sel));
    if (!sel) continue;
    for (int d = 0; d < info->ndim; d++)
      if (info->shape[d] == 0) empty = PETSC_TRUE;
    if (info->ndim < 2) {
      PetscCall(PlanAddSkipped(plan, scap, info, info->ndim == 1 ? "1-D tensor (bias/norm); not a matrix" : "0-D tensor (scalar); not a matrix"));
      continue;
    }
    if (!SpdDTypeIsFloat(info->dtype)) {
      PetscCall(PetscSNPrintf(why, sizeof(why), "dtype %s is not floating point (an index or buffer, not a weight)", SpdDTypes[info->dtype]));
      PetscCall(PlanAddSkipped(plan, scap, info, why));
      continue;
    }
    if (empty) {
      PetscCall(PlanAddSkipped(plan, scap, info, "empty tensor (a dimension is 0)"));
      continue;
    }
    PetscCall(SpdMatrixViewFromTensor(info, i, &base));
    for (PetscInt s = 0; s < job->nsplits && rule < 0; s++) {
      PetscBool match;
      PetscCall(SpdGlobMatch(job->splits[s].match, info->name, &match));
      if (match) rule = s;
    }
    if (rule < 0) {
      PetscCall(PetscStrncpy(base.name, info->name, sizeof(base.name)));
      PetscCall(PlanAddView(plan, tcap, c, info->name, &base));
    } else {
      PetscCall(PlanAddSplitViews(plan, tcap, c, rule, info, &base, err, errlen));
      if (err[0]) PetscFunctionReturn(0);
    }
  }
  PetscFunctionReturn(0);
}

/* Difference tasks W_a - W_b (compare.differences): for each checkpoint pair, every
   weights task of a whose analysed name has a task of the same shape in b. */
static PetscErrorCode PlanAddDifferences(SpdPlan plan, PetscInt *tcap, PetscInt *scap)
{
  SpdJob        job = plan->job;
  PetscInt      np, *pairs, nw = plan->ntasks;
  SpdTaskLookup lk;

  PetscFunctionBegin;
  PetscCall(SpdPlanDifferencePairs_Private(job, &np, &pairs));
  if (!np) PetscFunctionReturn(0);
  PetscCall(SpdTaskLookupCreate(plan, PETSC_FALSE, &lk));
  for (PetscInt p = 0; p < np; p++) {
    PetscInt ca = pairs[2 * p], cb = pairs[2 * p + 1];
    if (!plan->readers[ca] || !plan->readers[cb]) continue;
    for (PetscInt i = 0; i < nw; i++) {
      SpdTask      *t;
      PetscInt      b;
      SpdTensorInfo info;

      if (plan->tasks[i].checkpoint != ca) continue;
      b = SpdTaskLookupFind(plan, &lk, cb, plan->tasks[i].view.name);
      if (b < 0 || plan->tasks[b].m != plan->tasks[i].m || plan->tasks[b].n != plan->tasks[i].n) {
        char why[256];
        PetscCall(PetscMemzero(&info, sizeof(info)));
        PetscCall(PetscSNPrintf(info.name, sizeof(info.name), "%s - %s: %s", job->checkpoints[ca].label, job->checkpoints[cb].label, plan->tasks[i].view.name));
        PetscCall(PetscStrncpy(info.file, job->checkpoints[cb].path, sizeof(info.file)));
        PetscCall(PetscSNPrintf(why, sizeof(why), b < 0 ? "difference not analysed: no matrix of that name in %s" : "difference not analysed: the matrix has another shape in %s", job->checkpoints[cb].label));
        PetscCall(PlanAddSkipped(plan, scap, &info, why));
        continue;
      }
      PetscCall(PlanAddTask(plan, tcap, &t)); /* may move plan->tasks */
      *t              = plan->tasks[i];
      t->checkpoint_b = cb;
      t->f32          = PETSC_FALSE; /* W_a - W_b is not a binary32 matrix */
      t->view_b       = plan->tasks[b].view;
      t->refused      = PETSC_FALSE;
      {
        const SpdTensorInfo *ti;
        PetscCall(SpdReaderGetTensor(plan->readers[ca], t->view.tensor, &ti));
        PetscCall(PlanTaskId(job, t, ti->name));
      }
    }
  }
  PetscCall(SpdTaskLookupDestroy(&lk));
  PetscCall(PetscFree(pairs));
  PetscFunctionReturn(0);
}

/*@C
  SpdTaskLabel - the checkpoint label of a task: its checkpoint's label, "a - b" for
  the difference W_a - W_b of two checkpoints, or "ensemble/<name>" for a random
  Jacobian ensemble (which has no checkpoint)

  Not collective
@*/
PetscErrorCode SpdTaskLabel(SpdPlan plan, const SpdTask *t, char buf[], size_t len)
{
  PetscFunctionBegin;
  if (t->ensemble >= 0)
    PetscCall(PetscSNPrintf(buf, len, "ensemble/%s", plan->job->jacobian.ensembles[t->ensemble].name));
  else if (t->checkpoint_b >= 0)
    PetscCall(PetscSNPrintf(buf, len, "%s - %s", plan->job->checkpoints[t->checkpoint].label, plan->job->checkpoints[t->checkpoint_b].label));
  else
    PetscCall(PetscStrncpy(buf, plan->job->checkpoints[t->checkpoint].label, len));
  PetscFunctionReturn(0);
}

/*@C
  SpdPlanCreate - plan a job: open its checkpoints, select and split tensors, estimate tasks

  Collective

  Input Parameters:
+ job  - the job
- comm - the communicator the study runs on (its size bounds the ranks per task)

  Output Parameter:
. plan - the plan: tasks sorted by decreasing cost, skipped tensors, checkpoint errors

  Notes:
  A checkpoint that cannot be opened is recorded in plan->errors (with the reader's
  message) and the others are planned. A split rule that does not divide its tensor is an
  error naming the tensor and the rule. Task ids are FNV-1a hashes of the checkpoint path,
  the view and the resolved settings: the same job gives the same ids, any changed
  setting gives new ones. Random Jacobian ensembles (jacobian.ensemble) are tasks
  without a checkpoint (checkpoint -1, labelled "ensemble/<name>").

.seealso: `SpdPlanView()`, `SpdPlanDestroy()`, `SpdTaskMemoryPerRank()`
@*/
PetscErrorCode SpdPlanCreate(SpdJob job, MPI_Comm comm, SpdPlan *plan)
{
  SpdPlan  p;
  PetscInt tcap = 0, scap = 0;
  char     err[1000] = "";

  PetscFunctionBegin;
  PetscCheck(job && plan, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdPlanCreate() needs a job and an output pointer");
  PetscCheck(!(job->train.enabled && !job->ncheckpoints), comm, PETSC_ERR_USER_INPUT, "The job %s trains models (it has a 'train:' section and no checkpoints); run it with `specdyn train %s`, then analyse the checkpoints it writes", job->path, job->path);
  PetscCall(PetscLogEventBegin(SPD_Plan, 0, 0, 0, 0));
  PetscCall(PetscNew(&p));
  p->job  = job;
  p->comm = comm;
  PetscCallMPI(MPI_Comm_size(comm, &p->size));
  PetscCall(PetscCalloc2(job->ncheckpoints, &p->readers, job->ncheckpoints, &p->errors));
  for (PetscInt c = 0; c < job->ncheckpoints && !err[0]; c++) {
    PetscErrorCode ierr;
    char          *specific = NULL;

    PetscCall(SpdReaderCreate(comm, &p->readers[c]));
    /* the open is collective and fails identically on every rank: catch, record, go on */
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = SpdReaderOpen(p->readers[c], job->checkpoints[c].path);
    PetscCall(PetscPopErrorHandler());
    if (ierr) {
      PetscCall(PetscErrorMessage(ierr, NULL, &specific));
      PetscCall(PetscStrallocpy(specific && specific[0] ? specific : "the checkpoint could not be opened", &p->errors[c]));
      PetscCall(PetscInfo(NULL, "checkpoint %s not planned: %s\n", job->checkpoints[c].path, p->errors[c]));
      PetscCall(SpdReaderDestroy(&p->readers[c]));
      continue;
    }
    PetscCall(PlanCheckpoint(p, c, &tcap, &scap, err, sizeof(err)));
    if (!err[0] && job->curvature.enabled) PetscCall(PlanAddCurvature(p, &tcap, c));
    if (!err[0] && job->jacobian.enabled && job->jacobian.model) PetscCall(PlanAddJacobian(p, &tcap, c));
  }
  if (err[0]) {
    PetscCall(SpdPlanDestroy(&p));
    PetscCall(PetscLogEventEnd(SPD_Plan, 0, 0, 0, 0));
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s", err);
  }
  PetscCall(PlanAddEnsembles(p, &tcap));
  PetscCall(PlanAddDifferences(p, &tcap, &scap));
  PetscCall(PlanAssignRanks(p));
  if (p->ntasks) qsort(p->tasks, (size_t)p->ntasks, sizeof(SpdTask), PlanCompareTasks);
  PetscCall(SpdPlanAddComparisons_Private(p));
  PetscCall(PetscLogEventEnd(SPD_Plan, 0, 0, 0, 0));
  *plan = p;
  PetscFunctionReturn(0);
}

/*@C
  SpdPlanView - print a plan (the `specdyn run --dry-run` table)

  Collective

  Input Parameters:
+ plan   - the plan
- viewer - an ASCII viewer (rank 0 prints)

.seealso: `SpdPlanCreate()`
@*/
PetscErrorCode SpdPlanView(SpdPlan plan, PetscViewer viewer)
{
  SpdJob     job = plan->job;
  PetscBool  isascii;
  PetscReal  total    = 0.0;
  PetscInt64 peak     = 0;
  PetscInt   nrefused = 0, nfailed = 0;
  int        wl = 10, wn = 6; /* widths of the label and matrix columns */
  char       buf[32], budget[32];

  PetscFunctionBegin;
  if (!viewer) PetscCall(PetscViewerASCIIGetStdout(plan->comm, &viewer));
  PetscCall(PetscObjectTypeCompare((PetscObject)viewer, PETSCVIEWERASCII, &isascii));
  if (!isascii) PetscFunctionReturn(0);
  PetscCall(SpdFormatBytes(job->memory_per_rank, budget, sizeof(budget)));
  PetscCall(PetscViewerASCIIPrintf(viewer, "Plan of study '%s' (%s): %" PetscInt_FMT " tasks on %d rank%s, memory_per_rank %s\n", job->name, job->path, plan->ntasks, plan->size, plan->size == 1 ? "" : "s", budget));
  for (PetscInt i = 0; i < plan->ntasks; i++) {
    size_t l;
    char   label[2 * 128 + 4];
    PetscCall(SpdTaskLabel(plan, &plan->tasks[i], label, sizeof(label)));
    PetscCall(PetscStrlen(label, &l));
    wl = PetscMax(wl, (int)l);
    PetscCall(PetscStrlen(plan->tasks[i].view.name, &l));
    wn = PetscMax(wn, (int)l);
  }
  wn = PetscMin(wn, 72); /* longer names just push the line */
  PetscCall(PetscViewerASCIIPrintf(viewer, "%-16s  %-*s  %-*s  %-13s  %-4s  %4s  %6s  %5s  %10s  %9s\n", "id", wl, "checkpoint", wn, "matrix", "m x n", "full", "top", "bottom", "ranks", "mem/rank", "Gflop"));
  for (PetscInt i = 0; i < plan->ntasks; i++) {
    const SpdTask *t = &plan->tasks[i];
    char           shape[48], label[2 * 128 + 4];

    PetscCall(SpdTaskLabel(plan, t, label, sizeof(label)));
    PetscCall(SpdFormatBytes(t->mem_per_rank, buf, sizeof(buf)));
    PetscCall(PetscSNPrintf(shape, sizeof(shape), "%" PetscInt64_FMT "x%" PetscInt64_FMT, t->m, t->n));
    PetscCall(PetscViewerASCIIPrintf(viewer, "%-16s  %-*s  %-*s  %-13s  %-4s  %4" PetscInt_FMT "  %6" PetscInt_FMT "  %5" PetscInt_FMT "  %10s  %9.3g%s%s\n", t->id, wl, label, wn, t->view.name, shape, t->full ? "yes" : "no", t->top, t->bottom, t->nranks, buf, (double)(t->cost * 1e-9),
        t->refused ? "  REFUSED: " : "", t->refused ? t->reason : ""));
    total += t->cost;
    if (t->refused)
      nrefused++;
    else
      peak = PetscMax(peak, t->mem_per_rank);
  }
  if (plan->nskipped) {
    PetscCall(PetscViewerASCIIPrintf(viewer, "Skipped tensors (%" PetscInt_FMT "):\n", plan->nskipped));
    for (PetscInt i = 0; i < plan->nskipped; i++) PetscCall(PetscViewerASCIIPrintf(viewer, "  %-*s  %s  (%s)\n", wn, plan->skipped[i].name, plan->skipped[i].why, plan->skipped[i].file));
  }
  for (PetscInt c = 0; c < job->ncheckpoints; c++)
    if (plan->errors[c]) {
      if (!nfailed++) PetscCall(PetscViewerASCIIPrintf(viewer, "Checkpoints that failed to open:\n"));
      PetscCall(PetscViewerASCIIPrintf(viewer, "  %s (%s): %s\n", job->checkpoints[c].label, job->checkpoints[c].path, plan->errors[c]));
    }
  /* a split rule that cut nothing is most likely a pattern that does not fit the names */
  for (PetscInt r = 0; r < job->nsplits; r++) {
    PetscBool used = PETSC_FALSE;
    for (PetscInt i = 0; i < plan->ntasks && !used; i++) {
      const SpdTask       *t = &plan->tasks[i];
      const SpdTensorInfo *info;
      if (t->checkpoint < 0 || !plan->readers[t->checkpoint] || !strchr(t->view.name, '[')) continue;
      PetscCall(SpdReaderGetTensor(plan->readers[t->checkpoint], t->view.tensor, &info));
      if (strcmp(info->name, t->view.name)) PetscCall(SpdGlobMatch(job->splits[r].match, info->name, &used));
    }
    if (!used) PetscCall(PetscViewerASCIIPrintf(viewer, "Note: split rule tensors.split[%" PetscInt_FMT "] (match '%s') cut no tensor; compare the pattern with the names `specdyn inspect` lists\n", r, job->splits[r].match));
  }
  if (plan->ncomparisons) {
    PetscInt count[4] = { 0, 0, 0, 0 }, neigen = 0;
    for (PetscInt i = 0; i < plan->ncomparisons; i++) {
      if (plan->comparisons[i].eigen)
        neigen++;
      else
        count[plan->comparisons[i].relation]++;
    }
    if (job->compare.enabled) PetscCall(PetscViewerASCIIPrintf(viewer, "Comparisons of top-%" PetscInt_FMT " singular vectors (after the tasks): %" PetscInt_FMT " vs final, %" PetscInt_FMT " vs previous, %" PetscInt_FMT " between runs, %" PetscInt_FMT " layer pairs\n", job->compare.k, count[SPD_CMP_FINAL], count[SPD_CMP_PREVIOUS], count[SPD_CMP_RUNS], count[SPD_CMP_LAYERS]));
    if (neigen) PetscCall(PetscViewerASCIIPrintf(viewer, "Comparisons of top eigenspaces of consecutive checkpoints (curvature): %" PetscInt_FMT "\n", neigen));
  }
  PetscCall(SpdFormatBytes(peak, buf, sizeof(buf)));
  PetscCall(PetscViewerASCIIPrintf(viewer, "Total: %" PetscInt_FMT " tasks (%" PetscInt_FMT " refused), %.3g Gflop, peak memory per rank %s; %" PetscInt_FMT " tensors skipped; %" PetscInt_FMT " of %" PetscInt_FMT " checkpoints failed to open\n", plan->ntasks, nrefused, (double)(total * 1e-9), buf, plan->nskipped, nfailed,
      job->ncheckpoints));
  PetscFunctionReturn(0);
}

/*@C
  SpdPlanDestroy - free a plan and close its readers (the job is not destroyed)

  Collective

.seealso: `SpdPlanCreate()`
@*/
PetscErrorCode SpdPlanDestroy(SpdPlan *plan)
{
  SpdPlan p;

  PetscFunctionBegin;
  if (!plan || !*plan) PetscFunctionReturn(0);
  p = *plan;
  for (PetscInt c = 0; c < p->job->ncheckpoints; c++) {
    if (p->readers) PetscCall(SpdReaderDestroy(&p->readers[c]));
    if (p->errors) PetscCall(PetscFree(p->errors[c]));
  }
  PetscCall(PetscFree2(p->readers, p->errors));
  PetscCall(PetscFree(p->tasks));
  PetscCall(PetscFree(p->skipped));
  PetscCall(PetscFree(p->inslice));
  PetscCall(PetscFree(p->comparisons));
  PetscCall(PetscFree(*plan));
  PetscFunctionReturn(0);
}

/*@C
  SpdPlanSetSlice - restrict a run to one of n disjoint slices of the plan's tasks

  Not collective (every rank computes the same slices)

  Input Parameters:
+ plan - the plan
. i    - the slice, 0 <= i < n (a SLURM array's $SLURM_ARRAY_TASK_ID with --array=0-(n-1))
- n    - the number of slices

  Notes:
  Tasks (sorted by decreasing cost) go one by one to the slice with the least cost so
  far (ties to the lowest index): deterministic, balanced, and independent of the rank
  count. Slices are disjoint and together hold every task.

.seealso: `SpdPlanCreate()`, `SpdRun()`
@*/
PetscErrorCode SpdPlanSetSlice(SpdPlan plan, PetscInt i, PetscInt n)
{
  PetscReal *load;

  PetscFunctionBegin;
  PetscCheck(n >= 1 && i >= 0 && i < n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "--tasks %" PetscInt_FMT "/%" PetscInt_FMT ": the slice must satisfy 0 <= i < n (use --tasks $SLURM_ARRAY_TASK_ID/N with --array=0-(N-1))", i, n);
  PetscCall(PetscFree(plan->inslice));
  PetscCall(PetscMalloc1(plan->ntasks + 1, &plan->inslice));
  PetscCall(PetscCalloc1(n, &load));
  for (PetscInt t = 0; t < plan->ntasks; t++) {
    PetscInt best = 0;
    for (PetscInt q = 1; q < n; q++)
      if (load[q] < load[best]) best = q;
    load[best] += plan->tasks[t].cost;
    plan->inslice[t] = best == i ? PETSC_TRUE : PETSC_FALSE;
  }
  plan->slice   = i;
  plan->nslices = n;
  PetscCall(PetscFree(load));
  PetscFunctionReturn(0);
}
