/* The weight-spectra analysis of one task: load the analysed matrix W (m x n) on the
   task's group (for a difference task W = W_a - W_b, both loaded row-distributed), compute ||W||_F, all singular values (ScaLAPACK) and/or the top-k and
   bottom-k triplets (SLEPc) with their residuals, the scalar metrics of
   docs/metrics.md, and write tasks/<id>.h5 (schema: docs/results-format.md). */
#include <specdyn/analysis.h>
#include <time.h>

/* Write one SpdTriplets under `grp` ("top" or "bottom"). */
static PetscErrorCode SpdWriteTriplets_Private(SpdTaskFile f, const char grp[], const SpdTriplets *t, PetscBool vectors, PetscInt m, PetscInt n)
{
  char path[64];

  PetscFunctionBegin;
  PetscCall(SpdTaskFileWriteSolve(f, grp, "sigma", t->k, t->sigma, t->residual, t->converged, t->nconv, t->its, t->nprod, t->npasses, t->solver, t->tol));
  if (vectors && t->U && t->V) {
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/U", grp));
    PetscCall(SpdTaskFileWriteVecs(f, path, t->nconv, t->U, m));
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/V", grp));
    PetscCall(SpdTaskFileWriteVecs(f, path, t->nconv, t->V, n));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdWriteMetrics_Private(SpdTaskFile f, const SpdWeightMetrics *w)
{
  PetscFunctionBegin;
  PetscCall(SpdTaskFileCreateGroup(f, "metrics"));
#define SPD_R(x) PetscCall(SpdTaskFileSetAttrReal(f, "metrics", #x, w->x))
#define SPD_I(x) PetscCall(SpdTaskFileSetAttrInt(f, "metrics", #x, w->x))
  SPD_R(frobenius);
  SPD_R(spectral);
  SPD_R(nuclear);
  SPD_R(stable_rank);
  SPD_R(effective_rank);
  SPD_I(numerical_rank);
  SPD_R(rank_tol);
  SPD_R(sigma_min);
  SPD_R(condition);
  SPD_R(mp_noise);
  SPD_R(mp_edge);
  SPD_R(mp_threshold);
  SPD_I(mp_outliers);
  SPD_R(alpha);
  SPD_R(alpha_xmin);
  SPD_I(alpha_ntail);
  SPD_R(alpha_ks);
#undef SPD_R
#undef SPD_I
  PetscFunctionReturn(0);
}

/* Provenance of the run, identical on the group's ranks. */
static PetscErrorCode SpdWriteProvenance_Private(SpdTaskFile f, SpdPlan plan, const SpdTask *task, const SpdTensorInfo *ti, PetscMPIInt size)
{
  SpdJob      job = plan->job;
  PetscMPIInt wsize;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_size(plan->comm, &wsize));
  PetscCall(SpdTaskFileSetProvenance(f, job));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "task_id", task->id));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "analysis", "weights"));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "checkpoint", job->checkpoints[task->checkpoint].path));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "checkpoint_label", job->checkpoints[task->checkpoint].label));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "run", job->checkpoints[task->checkpoint].run));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "step", job->checkpoints[task->checkpoint].step));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "kind", task->checkpoint_b >= 0 ? "difference" : "weights"));
  if (task->checkpoint_b >= 0) { /* W = W_a - W_b: b's checkpoint */
    const SpdJobCheckpoint *b = &job->checkpoints[task->checkpoint_b];
    PetscCall(SpdTaskFileSetAttrString(f, "/", "minus_checkpoint", b->path));
    PetscCall(SpdTaskFileSetAttrString(f, "/", "minus_checkpoint_label", b->label));
    PetscCall(SpdTaskFileSetAttrString(f, "/", "minus_run", b->run));
    PetscCall(SpdTaskFileSetAttrInt(f, "/", "minus_step", b->step));
  }
  PetscCall(SpdTaskFileSetAttrString(f, "/", "name", task->view.name));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "tensor", ti->name));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "tensor_file", ti->file));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "dtype", SpdDTypes[ti->dtype]));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "m", task->m));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "n", task->n));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "row0", task->view.row0));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "nrows", task->view.nrows));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "col0", task->view.col0));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "ncols", task->view.ncols));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "transpose", task->view.transpose));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "ranks", size));
  PetscCall(SpdTaskFileSetAttrInt(f, "/", "world_ranks", wsize));
  PetscFunctionReturn(0);
}

/* The solves of one task (log stage "Spd solve"). The full spectrum uses W in double;
   the iterative solves use the float32 operator when f32: loaded as such when there is
   no full spectrum, else built here from the float64 A, which is freed. */
static PetscErrorCode SpdWeightsSolve_Private(SpdPlan plan, const SpdTask *task, Mat *A, PetscBool f32, PetscReal frob, PetscReal full[], SpdTriplets *top, SpdTriplets *bottom, PetscReal secs[3])
{
  PetscReal t0;

  PetscFunctionBegin;
  if (frob == 0.0) { /* W = 0 (e.g. W_a - W_b of two runs at a shared initialization) */
    for (PetscInt i = 0; i < PetscMin(task->m, task->n); i++) full[i] = 0.0;
    if (task->top > 0) PetscCall(SpdSVDExtremeZero(*A, SPD_SVD_TOP, task->top, plan->job->weights.vectors, top));
    if (task->bottom > 0) PetscCall(SpdSVDExtremeZero(*A, SPD_SVD_BOTTOM, task->bottom, PETSC_FALSE, bottom));
    PetscFunctionReturn(0);
  }
  if (task->full) {
    t0 = MPI_Wtime();
    PetscCall(SpdSVDFull(*A, full));
    secs[0] = MPI_Wtime() - t0;
  }
  if (f32 && task->full && (task->top > 0 || task->bottom > 0)) { /* without the full spectrum W was read as float32 */
    Mat S;
    PetscCall(SpdMatCreateFloat32(*A, &S));
    PetscCall(MatDestroy(A));
    *A = S;
  }
  if (task->top > 0) {
    t0 = MPI_Wtime();
    PetscCall(SpdSVDExtreme(*A, SPD_SVD_TOP, task->top, plan->job->weights.vectors, "top_", top));
    secs[1] = MPI_Wtime() - t0;
  }
  if (task->bottom > 0) {
    t0 = MPI_Wtime();
    PetscCall(SpdSVDExtreme(*A, SPD_SVD_BOTTOM, task->bottom, PETSC_FALSE, "bottom_", bottom));
    secs[2] = MPI_Wtime() - t0;
  }
  PetscFunctionReturn(0);
}

/* Everything the task file holds (log stage "Spd store"). */
static PetscErrorCode SpdWeightsWrite_Private(SpdTaskFile f, SpdPlan plan, const SpdTask *task, const SpdTensorInfo *ti, PetscMPIInt size, PetscBool f32, const SpdWeightMetrics *w, const PetscReal full[], const SpdTriplets *top, const SpdTriplets *bottom, PetscReal tread, const PetscReal secs[3])
{
  PetscInt m = (PetscInt)task->m, n = (PetscInt)task->n;

  PetscFunctionBegin;
  PetscCall(SpdWriteProvenance_Private(f, plan, task, ti, size));
  PetscCall(SpdTaskFileSetAttrString(f, "/", "storage", f32 ? "float32" : "float64"));
  PetscCall(SpdWriteMetrics_Private(f, w));
  if (task->full) PetscCall(SpdTaskFileWriteReal(f, "full/sigma", PetscMin(m, n), full));
  if (task->top > 0) PetscCall(SpdWriteTriplets_Private(f, "top", top, plan->job->weights.vectors, m, n));
  if (task->bottom > 0) PetscCall(SpdWriteTriplets_Private(f, "bottom", bottom, PETSC_FALSE, m, n));
  PetscCall(SpdTaskFileCreateGroup(f, "timings"));
  PetscCall(SpdTaskFileSetAttrReal(f, "timings", "read_seconds", tread));
  PetscCall(SpdTaskFileSetAttrReal(f, "timings", "full_seconds", secs[0]));
  PetscCall(SpdTaskFileSetAttrReal(f, "timings", "top_seconds", secs[1]));
  PetscCall(SpdTaskFileSetAttrReal(f, "timings", "bottom_seconds", secs[2]));
  PetscFunctionReturn(0);
}

/*@C
  SpdWeightsRunTask - the weight-spectra analysis of one task

  Collective on comm (the task's group)

  Input Parameters:
+ plan  - the plan holding the task and its checkpoint's reader
. task  - the task
. comm  - the group that runs it
- store - where the result file goes

  Output Parameter:
. nprod - products with W and W^T used by the iterative solves

  Options Database Key:
. -spd_weights_storage <auto,float32,double> - the matrix the iterative solves apply:
  auto keeps a float32 copy when the checkpoint's dtype is F32/BF16/F16 (exact; half the
  bytes per product, products accumulate in double)

  Notes:
  The task file is written under a temporary name and renamed only when complete; on
  an error the temporary file is removed. Log stages "Spd read", "Spd solve" and
  "Spd store" are popped on every path, so -log_view stays consistent after a failed task.
@*/
PetscErrorCode SpdWeightsRunTask(SpdPlan plan, const SpdTask *task, MPI_Comm comm, SpdStore store, PetscInt *nprod)
{
  const SpdTensorInfo *ti;
  Mat                  A    = NULL;
  PetscReal            frob = 0, *full = NULL, t0, tread, secs[3] = { 0, 0, 0 };
  SpdTriplets          top = { 0 }, bottom = { 0 };
  SpdWeightMetrics     w;
  SpdTaskFile          f = NULL;
  PetscMPIInt          size;
  PetscInt             kmin = (PetscInt)PetscMin(task->m, task->n);
  PetscErrorCode       ierr;
  PetscBool            f32 = task->f32; /* the planner's SpdTensorUseFloat32, false for W_a - W_b */

  PetscFunctionBegin;
  *nprod = 0;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(SpdReaderGetTensor(plan->readers[task->checkpoint], task->view.tensor, &ti));

  t0 = MPI_Wtime();
  PetscCall(PetscLogStagePush(SPD_StageRead));
  /* Without the full spectrum (which needs W in double) a float32 task is read straight
     into the float32 operator: no float64 copy, half the memory. */
  if (f32 && !task->full)
    ierr = SpdMatLoadViewFloat32(plan->readers[task->checkpoint], &task->view, comm, &A);
  else
    ierr = SpdMatLoadView(plan->readers[task->checkpoint], &task->view, comm, &A);
  if (!ierr && task->checkpoint_b >= 0) {
    Mat B = NULL;
    ierr  = SpdMatLoadView(plan->readers[task->checkpoint_b], &task->view_b, comm, &B);
    if (!ierr) ierr = MatAXPY(A, -1.0, B, SAME_NONZERO_PATTERN);
    PetscCall(MatDestroy(&B));
  }
  if (!ierr) ierr = MatNorm(A, NORM_FROBENIUS, &frob);
  PetscCall(PetscLogStagePop());
  tread = MPI_Wtime() - t0;

  if (!ierr) {
    PetscCall(PetscMalloc1(kmin, &full));
    PetscCall(PetscLogStagePush(SPD_StageSolve));
    ierr = SpdWeightsSolve_Private(plan, task, &A, f32, frob, full, &top, &bottom, secs);
    PetscCall(PetscLogStagePop());
  }
  if (!ierr) {
    PetscCall(PetscLogEventBegin(SPD_Metrics, 0, 0, 0, 0));
    ierr = SpdMetricsCompute((PetscInt)task->m, (PetscInt)task->n, frob, task->full ? kmin : 0, full, top.nconv, top.sigma, bottom.nconv, bottom.sigma, plan->job->weights.rank_tol, &w);
    PetscCall(PetscLogEventEnd(SPD_Metrics, 0, 0, 0, 0));
  }
  if (!ierr) {
    PetscCall(PetscLogStagePush(SPD_StageStore));
    ierr = SpdTaskFileCreate(store, comm, task->id, &f);
    if (!ierr) ierr = SpdWeightsWrite_Private(f, plan, task, ti, size, f32, &w, full, &top, &bottom, tread, secs);
    if (!ierr) ierr = SpdTaskFileCommit(&f);
    if (ierr) PetscCall(SpdTaskFileAbort(&f));
    PetscCall(PetscLogStagePop());
  }
  *nprod = top.nprod + bottom.nprod;
  PetscCall(PetscFree(full));
  PetscCall(SpdTripletsDestroy(&top));
  PetscCall(SpdTripletsDestroy(&bottom));
  PetscCall(MatDestroy(&A));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
