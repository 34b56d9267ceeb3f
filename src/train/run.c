/* A whole training run into a directory: checkpoints on a schedule, metrics, and a state
   file from which a killed run resumes exactly (docs/training.md, "Checkpoints, metrics,
   resume").

   Loop, at state t:
     1. evaluate when t is an evaluation step (eval_every) or a checkpoint step;
     2. at a checkpoint step: write checkpoints/step_<t>.safetensors, metrics.h5, then
        state.h5 (in that order, each tmp + rename, so a state file implies the others);
     3. stop when t = steps, or (all ranks agreeing) when SIGTERM was received, after
        writing a checkpoint and the state at t;
     4. one step, recording (t, eta_t, minibatch loss, gradient norm).
   Resume: state.h5 holds (t, theta_t, m_t) bit-exactly and the hash of the configuration
   that shapes the trajectory (everything but `steps`, which enters only for the cosine
   schedule, and the checkpoint/evaluation settings). A state with another hash is refused
   with both configurations in the message; a state with the same hash continues, so a run
   can be extended by raising `steps`. metrics.h5 is reloaded and truncated to the steps
   before t, so the resumed run's files equal an uninterrupted run's. Rank 0 writes every
   file with serial HDF5 (the metrics are small) and errors are made collective. */
#include "trainimpl.h"
#include <specdyn/private/readerimpl.h> /* SpdCollectiveError_Private */
#include <specdyn/private/h5util.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  PetscInt    ns, cs; /* step records, capacity */
  PetscInt64 *sstep;
  PetscReal  *slr, *sloss, *sgn, *sacc;
  PetscInt    ne, ce; /* evaluation records, capacity */
  PetscInt64 *estep;
  PetscReal  *eloss, *eacc, *etloss, *etacc;
} SpdMetrics;

static PetscErrorCode SpdMetricsReserve(SpdMetrics *M, PetscInt ns, PetscInt ne)
{
  PetscFunctionBegin;
  if (ns > M->cs) {
    PetscInt cs = PetscMax(ns, 2 * M->cs + 16);
    PetscCall(PetscRealloc(sizeof(PetscInt64) * cs, &M->sstep));
    PetscCall(PetscRealloc(sizeof(PetscReal) * cs, &M->slr));
    PetscCall(PetscRealloc(sizeof(PetscReal) * cs, &M->sloss));
    PetscCall(PetscRealloc(sizeof(PetscReal) * cs, &M->sgn));
    PetscCall(PetscRealloc(sizeof(PetscReal) * cs, &M->sacc));
    M->cs = cs;
  }
  if (ne > M->ce) {
    PetscInt ce = PetscMax(ne, 2 * M->ce + 16);
    PetscCall(PetscRealloc(sizeof(PetscInt64) * ce, &M->estep));
    PetscCall(PetscRealloc(sizeof(PetscReal) * ce, &M->eloss));
    PetscCall(PetscRealloc(sizeof(PetscReal) * ce, &M->eacc));
    PetscCall(PetscRealloc(sizeof(PetscReal) * ce, &M->etloss));
    PetscCall(PetscRealloc(sizeof(PetscReal) * ce, &M->etacc));
    M->ce = ce;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdMetricsFree(SpdMetrics *M)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(M->sstep));
  PetscCall(PetscFree(M->slr));
  PetscCall(PetscFree(M->sloss));
  PetscCall(PetscFree(M->sgn));
  PetscCall(PetscFree(M->sacc));
  PetscCall(PetscFree(M->estep));
  PetscCall(PetscFree(M->eloss));
  PetscCall(PetscFree(M->eacc));
  PetscCall(PetscFree(M->etloss));
  PetscCall(PetscFree(M->etacc));
  PetscFunctionReturn(0);
}

/* ---- HDF5 helpers (rank 0, serial files) ---------------------------------------- */

/* Read a 1-D dataset of n entries (n from the file when *n < 0; else it must match).
   Every identifier is closed and *buf freed on every error path. */
static PetscErrorCode H5ReadArrayFrom(hid_t ds, hid_t sp, const char path[], const char name[], hid_t type, size_t esz, PetscInt *n, void **buf)
{
  hsize_t dims[2] = { 0, 0 };
  int     nd;

  PetscFunctionBegin;
  nd = H5Sget_simple_extent_dims(sp, dims, NULL);
  PetscCheck(nd == 1 || (nd == 0 && *n == 1), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset '%s' has rank %d; expected a 1-D array", path, name, nd);
  if (nd == 0) dims[0] = 1;
  if (*n < 0) *n = (PetscInt)dims[0];
  PetscCheck((PetscInt)dims[0] == *n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset '%s' has %llu entries, expected %" PetscInt_FMT, path, name, (unsigned long long)dims[0], *n);
  PetscCall(PetscMalloc(esz * (size_t)(*n) + 1, buf));
  if (*n > 0 && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) < 0) {
    PetscCall(PetscFree(*buf));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: HDF5 cannot read dataset '%s'; the file is damaged (delete the run folder to start afresh)", path, name);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode H5ReadArray(hid_t loc, const char path[], const char name[], hid_t type, size_t esz, PetscInt *n, void **buf)
{
  hid_t          ds, sp;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  *buf = NULL;
  PetscCheck(H5Lexists(loc, name, H5P_DEFAULT) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s has no dataset '%s'; the file is not a specdyn training file (delete it to start afresh)", path, name);
  SpdCallH5Return(ds, H5Dopen2, (loc, name, H5P_DEFAULT));
  sp = H5Dget_space(ds);
  if (sp < 0) {
    (void)H5Dclose(ds);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: HDF5 cannot read the dataspace of dataset '%s'; the file is damaged", path, name);
  }
  ierr = H5ReadArrayFrom(ds, sp, path, name, type, esz, n, buf);
  (void)H5Sclose(sp);
  (void)H5Dclose(ds);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdMkdir(const char path[])
{
  int err;

  PetscFunctionBegin;
  PetscCall(SpdMkdirP(path, &err));
  PetscCheck(!err, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot create the training directory %s: %s; give a writable output folder", path, strerror(err));
  PetscFunctionReturn(0);
}

/* ---- the files ------------------------------------------------------------------ */

typedef struct {
  SpdTrainer  tr;
  const char *dir;
  char        text[2048], hash[32];
  PetscBool   has_test;
  SpdMetrics  M;
  int         lockfd; /* rank 0: flock on dir/.lock for the whole run (-1: none) */
} SpdRunCtx;

/* One process at a time per run folder: two trainers writing the same state.h5 and
   checkpoints would interleave. flock on dir/.lock (released by the kernel if the
   process dies), held until SpdTrainerRun returns. */
static PetscErrorCode SpdRunLock(const char dir[], int *fd)
{
  char path[PETSC_MAX_PATH_LEN];
  int  e;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/.lock", dir));
  *fd = open(path, O_RDWR | O_CREAT, 0644);
  PetscCheck(*fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open the lock file %s: %s", path, strerror(errno));
  if (flock(*fd, LOCK_EX | LOCK_NB) == 0) PetscFunctionReturn(0);
  e = errno;
  (void)close(*fd);
  *fd = -1;
  PetscCheck(e != EWOULDBLOCK, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "The training run %s is in use by another specdyn process (it holds %s); wait for it to finish, or train into another folder (-o DIR)", dir, path);
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot lock %s: %s", path, strerror(e));
}

/* The contents of metrics.h5 (the whole history: rewritten at every checkpoint). */
static PetscErrorCode SpdRunWriteMetrics_Private(SpdRunCtx *ctx, hid_t f)
{
  hid_t       g;
  SpdMetrics *M     = &ctx->M;
  hsize_t     ns[1] = { (hsize_t)M->ns }, ne[1] = { (hsize_t)M->ne };

  PetscFunctionBegin;
  PetscCall(SpdH5WriteAttrString(f, "config", ctx->text));
  PetscCall(SpdH5WriteAttrString(f, "config_hash", ctx->hash));
  PetscCall(SpdH5WriteAttrString(f, "data", ctx->tr->data->name));
  PetscCall(SpdH5WriteAttrInt(f, "seed", ctx->tr->cfg.seed));
  PetscCall(SpdH5WriteAttrInt(f, "steps", ctx->tr->cfg.steps));
  /* a group left open by an error is closed by SpdH5AbortFile() */
  SpdCallH5Return(g, H5Gcreate2, (f, "steps", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  PetscCall(SpdH5WriteArray(g, "step", 1, ns, H5T_NATIVE_INT64, M->sstep));
  PetscCall(SpdH5WriteReals(g, "lr", 1, ns, M->slr));
  PetscCall(SpdH5WriteReals(g, "loss", 1, ns, M->sloss));
  PetscCall(SpdH5WriteReals(g, "gradnorm", 1, ns, M->sgn));
  PetscCall(SpdH5WriteReals(g, "accuracy", 1, ns, M->sacc));
  SpdCallH5(H5Gclose, (g));
  SpdCallH5Return(g, H5Gcreate2, (f, "evals", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  PetscCall(SpdH5WriteArray(g, "step", 1, ne, H5T_NATIVE_INT64, M->estep));
  PetscCall(SpdH5WriteReals(g, "loss", 1, ne, M->eloss));
  PetscCall(SpdH5WriteReals(g, "accuracy", 1, ne, M->eacc));
  if (ctx->has_test) {
    PetscCall(SpdH5WriteReals(g, "test_loss", 1, ne, M->etloss));
    PetscCall(SpdH5WriteReals(g, "test_accuracy", 1, ne, M->etacc));
  }
  SpdCallH5(H5Gclose, (g));
  PetscFunctionReturn(0);
}

/* The contents of state.h5: (t, theta_t, m_t) and the configuration. */
static PetscErrorCode SpdRunWriteState_Private(SpdRunCtx *ctx, hid_t f)
{
  SpdTrainer tr   = ctx->tr;
  PetscInt64 t    = tr->t;
  hsize_t    P[1] = { (hsize_t)tr->P };

  PetscFunctionBegin;
  PetscCall(SpdH5WriteAttrString(f, "config", ctx->text));
  PetscCall(SpdH5WriteAttrString(f, "config_hash", ctx->hash));
  PetscCall(SpdH5WriteAttrString(f, "data", tr->data->name));
  PetscCall(SpdH5WriteAttrInt(f, "seed", tr->cfg.seed));
  PetscCall(SpdH5WriteArray(f, "t", 0, NULL, H5T_NATIVE_INT64, &t)); /* scalar */
  PetscCall(SpdH5WriteReals(f, "theta", 1, P, tr->theta));
  if (tr->m) PetscCall(SpdH5WriteReals(f, "m", 1, P, tr->m));
  PetscFunctionReturn(0);
}

/* Write dir/name through dir/name.tmp and a rename (SpdH5CreateFile/CommitFile): on any
   error every HDF5 identifier is closed and the .tmp removed, so dir/name keeps its
   previous contents. */
static PetscErrorCode SpdRunWriteFile_Private(SpdRunCtx *ctx, const char name[], PetscErrorCode (*contents)(SpdRunCtx *, hid_t))
{
  char           path[PETSC_MAX_PATH_LEN];
  hid_t          f;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", ctx->dir, name));
  PetscCall(SpdH5CreateFile(path, &f));
  ierr = contents(ctx, f);
  if (ierr) {
    (void)SpdH5AbortFile(f, path);
    SETERRQ(PETSC_COMM_SELF, ierr, "Writing %s failed; its previous version (if any) is unchanged", path);
  }
  PetscCall(SpdH5CommitFile(f, path));
  PetscFunctionReturn(0);
}

/* The contents of an open state.h5 (the caller closes f). */
static PetscErrorCode SpdRunReadStateFile_Private(SpdRunCtx *ctx, hid_t f, const char path[], PetscInt *t, PetscReal theta[], PetscReal m[])
{
  SpdTrainer     tr   = ctx->tr;
  char          *hash = NULL, *text = NULL;
  PetscInt       one = 1, P = tr->P;
  PetscInt64    *tt;
  PetscReal     *buf;
  PetscBool      same = PETSC_FALSE;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  ierr = SpdH5ReadAttrString(f, ".", "config_hash", &hash);
  if (!ierr) ierr = SpdH5ReadAttrString(f, ".", "config", &text);
  if (!ierr) ierr = PetscStrcmp(hash, ctx->hash, &same);
  if (!ierr && !same) {
    char msg[6000];

    ierr = PetscSNPrintf(msg, sizeof(msg), "%s was written by a run with another configuration; it cannot be resumed with this one (only `steps` may change, and not with the cosine schedule). Use another directory, or delete the directory to start afresh.\n  state:  %s\n  now:    %s", path, text ? text : "(none)", ctx->text);
    PetscCall(PetscFree(hash));
    PetscCall(PetscFree(text));
    PetscCall(ierr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s", msg);
  }
  PetscCall(PetscFree(hash));
  PetscCall(PetscFree(text));
  PetscCall(ierr);
  PetscCall(H5ReadArray(f, path, "t", H5T_NATIVE_INT64, sizeof(PetscInt64), &one, (void **)&tt));
  *t = (PetscInt)tt[0];
  PetscCall(PetscFree(tt));
  PetscCheck(*t >= 0 && *t <= tr->cfg.steps, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s is at step %" PetscInt_FMT ", beyond this run's steps = %" PetscInt_FMT "; raise steps or use another directory", path, *t, tr->cfg.steps);
  PetscCall(H5ReadArray(f, path, "theta", H5T_NATIVE_DOUBLE, sizeof(PetscReal), &P, (void **)&buf));
  PetscCall(PetscArraycpy(theta, buf, P));
  PetscCall(PetscFree(buf));
  if (m) {
    PetscCall(H5ReadArray(f, path, "m", H5T_NATIVE_DOUBLE, sizeof(PetscReal), &P, (void **)&buf));
    PetscCall(PetscArraycpy(m, buf, P));
    PetscCall(PetscFree(buf));
  }
  PetscFunctionReturn(0);
}

/* The records of an open metrics.h5 before step t (steps < t, evaluations <= t) into
   ctx->M (the caller closes f). */
static PetscErrorCode SpdRunReadMetricsFile_Private(SpdRunCtx *ctx, hid_t f, const char mpath[], PetscInt t)
{
  SpdMetrics *M  = &ctx->M;
  PetscInt    ns = -1, ne = -1, k;
  PetscInt64 *st;
  PetscReal  *a;
  const char *snames[4] = { "steps/lr", "steps/loss", "steps/gradnorm", "steps/accuracy" };
  const char *enames[4] = { "evals/loss", "evals/accuracy", "evals/test_loss", "evals/test_accuracy" };

  PetscFunctionBegin;
  PetscCall(H5ReadArray(f, mpath, "steps/step", H5T_NATIVE_INT64, sizeof(PetscInt64), &ns, (void **)&st));
  for (k = 0; k < ns && st[k] < t; k++) {
  }
  {
    PetscErrorCode ierr = SpdMetricsReserve(M, k, 0);

    if (!ierr) {
      M->ns = k;
      ierr  = PetscArraycpy(M->sstep, st, k);
    }
    PetscCall(PetscFree(st));
    PetscCall(ierr);
  }
  for (int q = 0; q < 4; q++) {
    PetscReal *dst[4] = { M->slr, M->sloss, M->sgn, M->sacc };

    PetscCall(H5ReadArray(f, mpath, snames[q], H5T_NATIVE_DOUBLE, sizeof(PetscReal), &ns, (void **)&a));
    PetscCall(PetscArraycpy(dst[q], a, k));
    PetscCall(PetscFree(a));
  }
  PetscCall(H5ReadArray(f, mpath, "evals/step", H5T_NATIVE_INT64, sizeof(PetscInt64), &ne, (void **)&st));
  for (k = 0; k < ne && st[k] <= t; k++) {
  }
  {
    PetscErrorCode ierr = SpdMetricsReserve(M, 0, k);

    if (!ierr) {
      M->ne = k;
      ierr  = PetscArraycpy(M->estep, st, k);
    }
    PetscCall(PetscFree(st));
    PetscCall(ierr);
  }
  for (int q = 0; q < (ctx->has_test ? 4 : 2); q++) {
    PetscReal *dst[4] = { M->eloss, M->eacc, M->etloss, M->etacc };

    if (H5Lexists(f, enames[q], H5P_DEFAULT) <= 0) { /* a test set added on resume: no earlier test values */
      for (PetscInt i = 0; i < k; i++) dst[q][i] = PETSC_MAX_REAL;
      continue;
    }
    PetscCall(H5ReadArray(f, mpath, enames[q], H5T_NATIVE_DOUBLE, sizeof(PetscReal), &ne, (void **)&a));
    PetscCall(PetscArraycpy(dst[q], a, k));
    PetscCall(PetscFree(a));
  }
  PetscFunctionReturn(0);
}

/* Rank 0: read dir/state.h5 into (t, theta, m) after checking its configuration, and
   dir/metrics.h5 (if present) truncated to the steps before t. Each file is closed on
   every path. */
static PetscErrorCode SpdRunReadState_Private(SpdRunCtx *ctx, const char path[], PetscInt *t, PetscReal theta[], PetscReal m[])
{
  hid_t          f;
  char           mpath[PETSC_MAX_PATH_LEN];
  PetscErrorCode ierr;

  PetscFunctionBegin;
  H5E_BEGIN_TRY
  {
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  }
  H5E_END_TRY;
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "The resume state %s is not a readable HDF5 file (damaged outside specdyn: it is only ever replaced atomically); delete it to restart the run from step 0, or restore it", path);
  ierr = SpdRunReadStateFile_Private(ctx, f, path, t, theta, m);
  (void)SpdH5CloseFile(f);
  PetscCall(ierr);

  PetscCall(PetscSNPrintf(mpath, sizeof(mpath), "%s/metrics.h5", ctx->dir));
  if (access(mpath, F_OK) == 0) {
    SpdCallH5Return(f, H5Fopen, (mpath, H5F_ACC_RDONLY, H5P_DEFAULT));
    ierr = SpdRunReadMetricsFile_Private(ctx, f, mpath, *t);
    (void)SpdH5CloseFile(f);
    PetscCall(ierr);
  }
  PetscFunctionReturn(0);
}

/* Evaluation at the current state; appended to the metrics. */
static PetscErrorCode SpdRunEvaluate(SpdRunCtx *ctx, SpdData test)
{
  SpdMetrics *M = &ctx->M;
  PetscReal   l, a, tl = 0, ta = 0;

  PetscFunctionBegin;
  PetscCall(SpdTrainerEvaluate(ctx->tr, ctx->tr->data, &l, &a));
  if (test) PetscCall(SpdTrainerEvaluate(ctx->tr, test, &tl, &ta));
  PetscCall(SpdMetricsReserve(M, 0, M->ne + 1));
  M->estep[M->ne]  = ctx->tr->t;
  M->eloss[M->ne]  = l;
  M->eacc[M->ne]   = a;
  M->etloss[M->ne] = tl;
  M->etacc[M->ne]  = ta;
  M->ne++;
  PetscFunctionReturn(0);
}

/* Rank 0 writes the checkpoint of the current state, the metrics, then the state. */
static PetscErrorCode SpdRunWriteAll_Private(SpdRunCtx *ctx)
{
  SpdTrainer           tr = ctx->tr;
  char                 path[PETSC_MAX_PATH_LEN], step[32], lr[32], arch[1024], seed[32];
  const char          *keys[6] = { "format", "step", "lr", "architecture", "seed", "config_hash" };
  const char          *vals[6];
  PetscInt             L;
  const PetscInt      *width;
  const PetscBool     *bias;
  const SpdActivation *act;
  PetscReal            eta;
  size_t               o = 0;

  PetscFunctionBegin;
  PetscCall(SpdTrainerGetLearningRate(tr, tr->t, &eta));
  PetscCall(SpdMLPGetArchitecture(tr->mlp, &L, &width, &act, &bias, NULL, NULL, NULL));
  o += (size_t)snprintf(arch + o, sizeof(arch) - o, "widths=");
  for (PetscInt l = 0; l <= L && o < sizeof(arch); l++) o += (size_t)snprintf(arch + o, sizeof(arch) - o, "%s%" PetscInt_FMT, l ? "," : "", width[l]);
  for (PetscInt l = 0; l < L - 1 && o < sizeof(arch); l++) o += (size_t)snprintf(arch + o, sizeof(arch) - o, "%s%s", l ? "," : " activations=", SpdActivations[act[l]]);
  for (PetscInt l = 0; l < L && o < sizeof(arch); l++) o += (size_t)snprintf(arch + o, sizeof(arch) - o, "%s%d", l ? "," : " bias=", (int)bias[l]);
  if (o < sizeof(arch)) (void)snprintf(arch + o, sizeof(arch) - o, " param=%s", SpdParameterizations[tr->cfg.param]);
  PetscCall(PetscSNPrintf(step, sizeof(step), "%" PetscInt_FMT, tr->t));
  PetscCall(PetscSNPrintf(lr, sizeof(lr), "%.17g", (double)eta));
  PetscCall(PetscSNPrintf(seed, sizeof(seed), "%" PetscInt64_FMT, tr->cfg.seed));
  vals[0] = "specdyn-train";
  vals[1] = step;
  vals[2] = lr;
  vals[3] = arch;
  vals[4] = seed;
  vals[5] = ctx->hash;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/checkpoints/step_%08" PetscInt_FMT ".safetensors", ctx->dir, tr->t));
  PetscCall(SpdMLPSaveSafetensors(tr->mlp, path, tr->cfg.ckpt_float32, 6, keys, vals));
  {
    PetscMPIInt    rank;
    PetscErrorCode lerr = 0;
    char           msg[4096];

    msg[0] = 0;
    PetscCallMPI(MPI_Comm_rank(tr->comm, &rank));
    if (rank == 0) {
      PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
      lerr = SpdRunWriteFile_Private(ctx, "metrics.h5", SpdRunWriteMetrics_Private);
      if (!lerr) lerr = SpdRunWriteFile_Private(ctx, "state.h5", SpdRunWriteState_Private);
      PetscCall(SpdErrorCapturePop());
    }
    PetscCall(SpdCollectiveError_Private(tr->comm, lerr, msg));
  }
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainerRun - a whole training run with checkpoints, metrics and resume

  Collective

  Input Parameters:
+ tr   - the trainer (its current state is the start unless dir/state.h5 exists)
. dir  - the run's directory (created; its parent must exist)
- test - a test set evaluated with the training data (may be NULL)

  Output Parameter:
. done - PETSC_TRUE when all cfg->steps steps ran, PETSC_FALSE when stopped by SIGTERM/SIGINT
         (SpdStopInstall()); rerun with the same directory to continue

  Notes:
  Files (docs/training.md): checkpoints/step_XXXXXXXX.safetensors, metrics.h5, state.h5.
  A state.h5 written by a different configuration (anything but steps, which may grow,
  except with the cosine schedule) is refused.

.seealso: `SpdTrainerStep()`, `SpdTrainCheckpointStep()`, `SpdMLPSaveSafetensors()`
@*/
static PetscErrorCode SpdTrainerRun_Private(SpdRunCtx *ctx, SpdTrainer tr, const char dir[], SpdData test, PetscBool *done)
{
  PetscMPIInt           rank;
  PetscErrorCode        lerr = 0;
  char                  msg[6144], spath[PETSC_MAX_PATH_LEN], cdir[PETSC_MAX_PATH_LEN];
  int                   exists = 0;
  PetscInt              t0     = -1;
  const SpdTrainConfig *cfg    = &tr->cfg;

  PetscFunctionBegin;
  *done         = PETSC_FALSE;
  ctx->tr       = tr;
  ctx->dir      = dir;
  ctx->has_test = test ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(SpdTrainConfigText_Private(tr, ctx->text, sizeof(ctx->text), ctx->hash, sizeof(ctx->hash)));
  PetscCallMPI(MPI_Comm_rank(tr->comm, &rank));
  PetscCall(PetscSNPrintf(spath, sizeof(spath), "%s/state.h5", dir));
  PetscCall(PetscSNPrintf(cdir, sizeof(cdir), "%s/checkpoints", dir));
  msg[0] = 0;
  if (rank == 0) {
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    lerr = SpdMkdir(dir);
    if (!lerr) lerr = SpdRunLock(dir, &ctx->lockfd); /* released by the caller on every path */
    if (!lerr) lerr = SpdMkdir(cdir);
    if (!lerr && access(spath, F_OK) == 0) {
      exists = 1;
      lerr   = SpdRunReadState_Private(ctx, spath, &t0, tr->theta, tr->m);
    }
    PetscCall(SpdErrorCapturePop());
  }
  PetscCall(SpdCollectiveError_Private(tr->comm, lerr, msg));
  PetscCallMPI(MPI_Bcast(&exists, 1, MPI_INT, 0, tr->comm));
  if (exists) {
    PetscCallMPI(MPI_Bcast(&t0, 1, MPIU_INT, 0, tr->comm));
    PetscCallMPI(MPI_Bcast(tr->theta, (PetscMPIInt)tr->P, MPIU_REAL, 0, tr->comm));
    if (tr->m) PetscCallMPI(MPI_Bcast(tr->m, (PetscMPIInt)tr->P, MPIU_REAL, 0, tr->comm));
    PetscCall(SpdTrainerSetState(tr, t0, NULL, tr->m));
    PetscCall(PetscInfo(NULL, "Resuming the training run in %s at step %" PetscInt_FMT "\n", dir, t0));
  }
  PetscCheck(tr->t <= cfg->steps, tr->comm, PETSC_ERR_ARG_OUTOFRANGE, "SpdTrainerRun: the trainer is at step %" PetscInt_FMT ", beyond steps = %" PetscInt_FMT, tr->t, cfg->steps);
  PetscCall(SpdMetricsReserve(&ctx->M, cfg->steps - tr->t + ctx->M.ns, 0));
  for (;;) {
    PetscInt  t       = tr->t;
    PetscBool resumed = (exists && t == t0) ? PETSC_TRUE : PETSC_FALSE, ckpt = SpdTrainCheckpointStep(cfg, t), stop;
    int       lstop = SpdStopRequested() ? 1 : 0, gstop;

    PetscCallMPI(MPI_Allreduce(&lstop, &gstop, 1, MPI_INT, MPI_MAX, tr->comm));
    stop = (gstop && t < cfg->steps) ? PETSC_TRUE : PETSC_FALSE;
    if (!resumed) {
      if (ckpt || stop || (cfg->eval_every > 0 && t % cfg->eval_every == 0)) PetscCall(SpdRunEvaluate(ctx, test));
      if (ckpt || stop) PetscCall(SpdRunWriteAll_Private(ctx));
    }
    if (t >= cfg->steps) {
      *done = PETSC_TRUE;
      break;
    }
    if (stop) {
      PetscCall(PetscInfo(NULL, "Stop requested: training run in %s stopped at step %" PetscInt_FMT " of %" PetscInt_FMT "\n", dir, t, cfg->steps));
      break;
    }
    {
      PetscReal loss, gn, eta, acc;

      PetscCall(SpdTrainerGetLearningRate(tr, t, &eta));
      PetscCall(SpdTrainerStep(tr));
      PetscCall(SpdTrainerGetStepStats(tr, &loss, &gn));
      PetscCall(SpdTrainerGetStepAccuracy(tr, &acc));
      SpdMetrics *M = &ctx->M;

      PetscCall(SpdMetricsReserve(M, M->ns + 1, 0));
      M->sstep[M->ns] = t;
      M->slr[M->ns]   = eta;
      M->sloss[M->ns] = loss;
      M->sgn[M->ns]   = gn;
      M->sacc[M->ns]  = acc;
      M->ns++;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTrainerRun(SpdTrainer tr, const char dir[], SpdData test, PetscBool *done)
{
  SpdRunCtx     *ctx;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscValidPointer(done, 4);
  PetscCall(PetscNew(&ctx));
  ctx->lockfd = -1;
  ierr        = SpdTrainerRun_Private(ctx, tr, dir, test, done);
  /* also when the run failed: the folder is free again and the metrics are freed */
  if (ctx->lockfd >= 0) (void)close(ctx->lockfd);
  PetscCall(SpdMetricsFree(&ctx->M));
  PetscCall(PetscFree(ctx));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
