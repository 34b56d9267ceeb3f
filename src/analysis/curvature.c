/* The curvature analysis of one task (docs/curvature.md): the MLP of a checkpoint, the
   data of the job, one operator (Hessian, Gauss-Newton or gradient covariance G) on one
   block of parameters (all, or one layer's W and b), and

     - the top-k and most-negative-k eigenpairs with residuals (SLEPc EPS);
     - the trace (Hutch++) with its standard error; the spectral density (stochastic
       Lanczos quadrature);
     - the outlier count: top eigenvalues above the bulk edge of the density, against
       C - 1 for a C-class classifier;
     - sharpness lambda_1 against 2/eta when the learning rate is known;
     - the fraction of the gradient, of the update theta_next - theta and of the
       displacement theta - theta_first (runs) lying in the top-k eigenspace.

   Written to tasks/<id>.h5 like a weights task (schema: docs/results-format.md); the
   scalars go to the `metrics` group so that trajectories over steps pick them up. */
#include <specdyn/analysis.h>
#include <time.h>

/*@C
  SpdJobDataLoad - the job's data (job key data:), split over comm

  Collective

  Input Parameters:
+ job  - the job
. comm - the ranks sharing the samples (PETSC_COMM_SELF: every rank holds them all)
- nmax - the first nmax samples (0: data.n, or all of a file)
@*/
PetscErrorCode SpdJobDataLoad(SpdJob job, MPI_Comm comm, PetscInt nmax, SpdData *data)
{
  PetscFunctionBegin;
  PetscCall(SpdJobDataLoadSpec(&job->data, comm, nmax, data));
  PetscFunctionReturn(0);
}

/* The data described by d (a job's data: section, possibly changed for one training run:
   another n or snr); nmax > 0 caps the samples. Collective. */
PetscErrorCode SpdJobDataLoadSpec(const SpdJobData *d, MPI_Comm comm, PetscInt nmax, SpdData *data)
{
  PetscInt n = nmax > 0 ? nmax : d->n;

  PetscFunctionBegin;
  switch (d->source) {
  case SPD_DATA_HDF5:
    PetscCall(SpdDataLoadHDF5(comm, d->path, d->x, d->y, n, data));
    break;
  case SPD_DATA_IDX:
  case SPD_DATA_FASHION_MNIST:
    PetscCall(SpdDataLoadIDX(comm, d->images, d->labels, n, data));
    break;
  case SPD_DATA_GAUSSIAN_MIXTURE:
    PetscCall(SpdDataGaussianMixture(comm, n, d->d, d->classes, d->snr, d->seed, data));
    break;
  case SPD_DATA_TEACHER_STUDENT:
    PetscCall(SpdDataTeacherStudent(comm, n, d->d, d->outputs, d->snr, d->seed, data));
    break;
  default:
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "The job has no data: section; curvature and jacobian analyses need samples");
  }
  PetscFunctionReturn(0);
}

/* The parameter ranges of a task's block: layer b's W (and b), or everything. */
static PetscErrorCode SpdCurvatureBlocks(SpdMLP mlp, PetscInt b, PetscInt *nb, PetscInt off[2], PetscInt len[2])
{
  PetscInt woff, wsize, boff, bsize;

  PetscFunctionBegin;
  *nb = 0;
  if (b < 0) PetscFunctionReturn(0);
  PetscCall(SpdMLPGetLayerBlock(mlp, b, &woff, &wsize, &boff, &bsize));
  off[0] = woff;
  len[0] = wsize;
  *nb    = 1;
  if (bsize) { /* the bias follows its weights in theta */
    off[1] = boff;
    len[1] = bsize;
    *nb    = 2;
  }
  PetscFunctionReturn(0);
}

/* v (layout of A) <- the block of a replicated parameter-space array x. */
static PetscErrorCode SpdBlockToVec(PetscInt nb, const PetscInt off[], const PetscInt len[], const PetscReal x[], Vec v)
{
  PetscInt     rs, re, k = 0;
  PetscScalar *a;

  PetscFunctionBegin;
  PetscCall(VecGetOwnershipRange(v, &rs, &re));
  PetscCall(VecGetArray(v, &a));
  if (!nb)
    for (PetscInt j = rs; j < re; j++) a[j - rs] = x[j];
  else
    for (PetscInt blk = 0; blk < nb; blk++)
      for (PetscInt j = 0; j < len[blk]; j++, k++)
        if (k >= rs && k < re) a[k - rs] = x[off[blk] + j];
  PetscCall(VecRestoreArray(v, &a));
  PetscFunctionReturn(0);
}

/* ||P_k x||^2 / ||x||^2 for the orthonormal eigenvectors X[0..k). */
static PetscErrorCode SpdSubspaceFraction(PetscInt k, Vec X[], Vec x, PetscReal *frac)
{
  PetscReal    nrm;
  PetscScalar *dots;

  PetscFunctionBegin;
  *frac = NAN;
  PetscCall(VecNorm(x, NORM_2, &nrm));
  if (k == 0 || nrm == 0) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(k, &dots));
  PetscCall(VecMDot(x, k, X, dots));
  *frac = 0;
  for (PetscInt i = 0; i < k; i++) *frac += PetscRealPart(dots[i] * PetscConj(dots[i]));
  *frac /= nrm * nrm;
  PetscCall(PetscFree(dots));
  PetscFunctionReturn(0);
}

/* theta of another checkpoint of the run, as the same model (same architecture). */
static PetscErrorCode SpdOtherTheta(SpdPlan plan, PetscInt c, MPI_Comm comm, PetscInt P, PetscReal **theta)
{
  SpdMLP     m;
  PetscReal *t;
  PetscInt   P2;

  PetscFunctionBegin;
  *theta = NULL;
  if (c < 0 || !plan->readers[c]) PetscFunctionReturn(0);
  PetscCall(SpdMLPCreateFromCheckpoint(plan->readers[c], comm, &plan->job->model, &m));
  PetscCall(SpdMLPGetNumParameters(m, &P2));
  PetscCheck(P2 == P, comm, PETSC_ERR_ARG_INCOMP, "The model of %s has %" PetscInt_FMT " parameters, this checkpoint's %" PetscInt_FMT "; the run's checkpoints must share the architecture", plan->job->checkpoints[c].path, P2, P);
  PetscCall(SpdMLPGetParameters(m, &t));
  PetscCall(PetscMalloc1(P, theta));
  PetscCall(PetscArraycpy(*theta, t, P));
  PetscCall(SpdMLPDestroy(&m));
  PetscFunctionReturn(0);
}

/* Neighbours of checkpoint c in its run: the first checkpoint and the next one (-1: none). */
static void SpdRunNeighbours(SpdJob job, PetscInt c, PetscInt *first, PetscInt *next)
{
  const char *run = job->checkpoints[c].run;

  *first = *next = -1;
  if (!run[0]) return;
  for (PetscInt i = 0; i < job->ncheckpoints; i++)
    if (!strcmp(job->checkpoints[i].run, run)) {
      if (*first < 0) *first = i;
      if (i > c && *next < 0) *next = i;
    }
}

/* Write one SpdEigenpairs under grp ("top" / "bottom"). */
static PetscErrorCode SpdWriteEigenpairs(SpdTaskFile f, const char grp[], const SpdEigenpairs *e, PetscBool vectors, PetscInt N)
{
  char path[64];

  PetscFunctionBegin;
  PetscCall(SpdTaskFileWriteSolve(f, grp, "lambda", e->k, e->lambda, e->residual, e->converged, e->nconv, e->its, e->nprod, -2, e->solver, e->tol));
  PetscCall(SpdTaskFileSetAttrString(f, grp, "residuals", e->residuals)); /* explicit, or the Krylov estimate */
  if (vectors && e->X && e->nconv) {
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/X", grp));
    PetscCall(SpdTaskFileWriteVecs(f, path, e->nconv, e->X, N));
  }
  PetscFunctionReturn(0);
}

typedef struct {
  PetscReal loss, grad_norm, trace, trace_stderr, bulk_edge, grad_frac, update_frac, disp_frac;
  PetscInt  outliers, classes, trace_products;
  PetscReal secs[4]; /* setup, eigen, trace, density */
} SpdCurvResults;

static PetscErrorCode SpdCurvatureWrite(SpdTaskFile f, SpdPlan plan, const SpdTask *task, SpdMLP mlp, SpdData data, PetscMPIInt size, const SpdEigenpairs *top, const SpdEigenpairs *bot, const SpdDensity *dens, const SpdCurvResults *r)
{
  SpdJob                      job = plan->job;
  const SpdCurvatureSettings *k   = &job->curvature;
  PetscInt                    P;
  PetscReal                   lr = k->learning_rate, l1 = top->nconv ? top->lambda[0] : NAN;

  PetscFunctionBegin;
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(SpdTaskFileSetProvenance(f, job));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "analysis", "curvature"));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "kind", "curvature"));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "task_id", task->id));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "checkpoint", job->checkpoints[task->checkpoint].path));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "checkpoint_label", job->checkpoints[task->checkpoint].label));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "run", job->checkpoints[task->checkpoint].run));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "step", job->checkpoints[task->checkpoint].step));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "name", task->view.name));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "operator", SpdCurvatures[task->curv_op]));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "block", task->curv_block));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "m", task->m));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "n", task->n));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "parameters", P));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "samples", data->n));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "data", data->name));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "loss", SpdLosses[job->model.loss]));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "parameterization", SpdParameterizations[job->model.param]));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "ranks", size));
  PetscCall(SpdTaskFileCreateGroup(f, "metrics"));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "loss", r->loss));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "gradient_norm", r->grad_norm));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "sharpness", l1));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "lambda_min", bot->nconv ? bot->lambda[0] : NAN));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "learning_rate", lr > 0 ? lr : NAN));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "two_over_lr", lr > 0 ? 2 / lr : NAN));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "sharpness_lr_over_2", lr > 0 ? l1 * lr / 2 : NAN));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "trace", r->trace));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "trace_stderr", r->trace_stderr));
  PetscCall(SpdTaskFileSetAttrInt(f, "metrics", "trace_products", r->trace_products));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "bulk_edge", r->bulk_edge));
  PetscCall(SpdTaskFileSetAttrInt(f, "metrics", "outliers", r->outliers));
  PetscCall(SpdTaskFileSetAttrInt(f, "metrics", "classes", r->classes));
  PetscCall(SpdTaskFileSetAttrInt(f, "metrics", "outliers_minus_classes_plus_1", r->outliers >= 0 && r->classes > 0 ? r->outliers - (r->classes - 1) : -1));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "gradient_fraction", r->grad_frac));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "update_fraction", r->update_frac));
  PetscCall(SpdTaskFileSetAttrReal(f, "metrics", "displacement_fraction", r->disp_frac));
  if (task->top > 0) PetscCall(SpdWriteEigenpairs(f, "top", top, k->vectors, (PetscInt)task->m));
  if (task->bottom > 0) PetscCall(SpdWriteEigenpairs(f, "bottom", bot, PETSC_FALSE, (PetscInt)task->m));
  if (dens->nprobe > 0) {
    PetscCall(SpdTaskFileWriteReal(f, "density/grid", dens->ngrid, dens->grid));
    PetscCall(SpdTaskFileWriteReal(f, "density/density", dens->ngrid, dens->density));
    PetscCall(SpdTaskFileWriteReal(f, "density/nodes", dens->nprobe * dens->nsteps, dens->nodes));
    PetscCall(SpdTaskFileWriteReal(f, "density/weights", dens->nprobe * dens->nsteps, dens->weights));
    PetscCall(SpdTaskFileSetAttrInt(f, "density", "probes", dens->nprobe));
    PetscCall(SpdTaskFileSetAttrInt(f, "density", "steps", dens->nsteps));
    PetscCall(SpdTaskFileSetAttrReal(f, "density", "sigma", dens->sigma));
    PetscCall(SpdTaskFileSetAttrInt(f, "density", "products", dens->nprod));
  }
  PetscCall(SpdTaskFileCreateGroup(f, "timings"));
  PetscCall(SpdTaskFileSetAttrReal(f, "timings", "setup_seconds", r->secs[0]));
  PetscCall(SpdTaskFileSetAttrReal(f, "timings", "eigen_seconds", r->secs[1]));
  PetscCall(SpdTaskFileSetAttrReal(f, "timings", "trace_seconds", r->secs[2]));
  PetscCall(SpdTaskFileSetAttrReal(f, "timings", "density_seconds", r->secs[3]));
  PetscFunctionReturn(0);
}

/* The solves and estimates of one task on its operator A. */
static PetscErrorCode SpdCurvatureSolve(SpdPlan plan, const SpdTask *task, Mat A, SpdEigenpairs *top, SpdEigenpairs *bot, SpdDensity *dens, SpdCurvResults *r)
{
  const SpdCurvatureSettings *k = &plan->job->curvature;
  PetscReal                   t0;

  PetscFunctionBegin;
  t0 = MPI_Wtime();
  if (task->top > 0) PetscCall(SpdEigExtreme(A, SPD_EIG_LARGEST, task->top, PETSC_TRUE, "curvature_top_", top));
  if (task->bottom > 0) PetscCall(SpdEigExtreme(A, SPD_EIG_SMALLEST, task->bottom, PETSC_FALSE, "curvature_bottom_", bot));
  r->secs[1] = MPI_Wtime() - t0;
  t0         = MPI_Wtime();
  if (k->trace_products > 0) PetscCall(SpdTraceHutchPP(A, k->trace_products, k->seed, &r->trace, &r->trace_stderr));
  r->trace_products = k->trace_products;
  r->secs[2]        = MPI_Wtime() - t0;
  t0                = MPI_Wtime();
  if (k->density_probes > 0) {
    PetscInt N = (PetscInt)task->m;
    PetscCall(SpdDensitySLQ(A, k->density_probes, PetscMin(k->density_steps, N), k->seed + 1, k->density_grid, k->density_sigma, dens));
    PetscCall(SpdMetricsOutliers(dens->nprobe, dens->nsteps, dens->nodes, dens->weights, N, top->nconv, top->lambda, &r->bulk_edge, &r->outliers));
  }
  r->secs[3] = MPI_Wtime() - t0;
  PetscFunctionReturn(0);
}

typedef struct {
  SpdData       data;
  SpdMLP        mlp;
  Mat           A;
  Vec           v;
  SpdEigenpairs top, bot;
  SpdDensity    dens;
  SpdTaskFile   f;
  PetscReal    *g, *other;
} SpdCurvTask;

/* Free everything a task holds, also after an error (the temporary file is removed). */
static PetscErrorCode SpdCurvTaskReset(SpdCurvTask *c)
{
  PetscFunctionBegin;
  if (c->f) PetscCall(SpdTaskFileAbort(&c->f));
  PetscCall(SpdEigenpairsDestroy(&c->top));
  PetscCall(SpdEigenpairsDestroy(&c->bot));
  PetscCall(SpdDensityDestroy(&c->dens));
  PetscCall(VecDestroy(&c->v));
  PetscCall(MatDestroy(&c->A));
  PetscCall(PetscFree(c->g));
  PetscCall(PetscFree(c->other));
  PetscCall(SpdMLPDestroy(&c->mlp));
  if (c->data) PetscCall(SpdDataDestroy(&c->data));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdCurvatureRunTask_Private(SpdPlan plan, const SpdTask *task, MPI_Comm comm, SpdStore store, PetscInt *nprod, SpdCurvTask *c)
{
  SpdJob         job = plan->job;
  SpdCurvResults r;
  PetscInt       nb = 0, off[2], len[2], P, first, next;
  PetscReal     *theta, t0 = MPI_Wtime();
  PetscMPIInt    size;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscMemzero(&r, sizeof(r)));
  r.trace = r.trace_stderr = r.bulk_edge = r.grad_frac = r.update_frac = r.disp_frac = NAN;
  r.outliers                                                                         = -1;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(SpdJobDataLoad(job, comm, 0, &c->data));
  PetscCall(SpdMLPCreateFromCheckpoint(plan->readers[task->checkpoint], comm, &job->model, &c->mlp));
  PetscCall(SpdMLPSetPoint(c->mlp, c->data));
  r.classes = c->data->nclasses;
  PetscCall(SpdMLPGetNumParameters(c->mlp, &P));
  PetscCall(PetscMalloc1(P, &c->g));
  PetscCall(SpdMLPGetLossGradient(c->mlp, &r.loss, c->g));
  PetscCall(SpdCurvatureBlocks(c->mlp, task->curv_block, &nb, off, len));
  PetscCall(SpdMatCreateCurvature(c->mlp, (SpdCurvature)task->curv_op, nb, off, len, &c->A));
  PetscCall(MatCreateVecs(c->A, &c->v, NULL));
  PetscCall(SpdBlockToVec(nb, off, len, c->g, c->v));
  PetscCall(VecNorm(c->v, NORM_2, &r.grad_norm));
  r.secs[0] = MPI_Wtime() - t0;

  PetscCall(PetscLogStagePush(SPD_StageSolve));
  ierr = SpdCurvatureSolve(plan, task, c->A, &c->top, &c->bot, &c->dens, &r);
  PetscCall(PetscLogStagePop());
  PetscCall(ierr);

  /* fractions in the top-k eigenspace: gradient, update to the next checkpoint, displacement from the first */
  PetscCall(SpdSubspaceFraction(c->top.nconv, c->top.X, c->v, &r.grad_frac));
  SpdRunNeighbours(job, task->checkpoint, &first, &next);
  PetscCall(SpdMLPGetParameters(c->mlp, &theta));
  if (next >= 0 && c->top.nconv) {
    PetscCall(SpdOtherTheta(plan, next, comm, P, &c->other));
    for (PetscInt j = 0; j < P; j++) c->other[j] -= theta[j];
    PetscCall(SpdBlockToVec(nb, off, len, c->other, c->v));
    PetscCall(SpdSubspaceFraction(c->top.nconv, c->top.X, c->v, &r.update_frac));
    PetscCall(PetscFree(c->other));
  }
  if (first >= 0 && first != task->checkpoint && c->top.nconv) {
    PetscCall(SpdOtherTheta(plan, first, comm, P, &c->other));
    for (PetscInt j = 0; j < P; j++) c->other[j] = theta[j] - c->other[j];
    PetscCall(SpdBlockToVec(nb, off, len, c->other, c->v));
    PetscCall(SpdSubspaceFraction(c->top.nconv, c->top.X, c->v, &r.disp_frac));
    PetscCall(PetscFree(c->other));
  }
  *nprod = c->top.nprod + c->bot.nprod + r.trace_products + c->dens.nprod;

  PetscCall(SpdTaskFileCreate(store, comm, task->id, &c->f));
  PetscCall(SpdCurvatureWrite(c->f, plan, task, c->mlp, c->data, size, &c->top, &c->bot, &c->dens, &r));
  PetscCall(SpdTaskFileCommit(&c->f));
  PetscFunctionReturn(0);
}

/*@C
  SpdCurvatureRunTask - the curvature analysis of one task

  Collective on comm (the task's group)

  Notes:
  The model is read from the task's checkpoint (each rank its blocks, then replicated),
  the data split over the group; every product is data parallel (SpdMatCreateCurvature).
  On an error everything is freed and no result file is left.
@*/
PetscErrorCode SpdCurvatureRunTask(SpdPlan plan, const SpdTask *task, MPI_Comm comm, SpdStore store, PetscInt *nprod)
{
  SpdCurvTask    c;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *nprod = 0;
  PetscCall(PetscMemzero(&c, sizeof(c)));
  ierr = SpdCurvatureRunTask_Private(plan, task, comm, store, nprod, &c);
  PetscCall(SpdCurvTaskReset(&c));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
