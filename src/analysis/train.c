/* Training jobs (`specdyn train`; docs/training.md): the runs of a job's sweep, each
   trained on a group of ranks into <output>/<run>/, then (job key training_jacobian:)
   the analysis of its training Jacobian. A run that fails is reported and the others
   go on; a rerun resumes unfinished runs from their last checkpoint and skips finished
   ones. */
#include <specdyn/analysis.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The samples of a run: n + test_n samples of the job's source (n = 0: all of a file),
   the first n for training (labels corrupted as the run asks), the rest held out. */
static PetscErrorCode SpdTrainRunData(SpdJob job, const SpdTrainRun *run, MPI_Comm comm, SpdData *train, SpdData *test)
{
  SpdJobData spec = job->data; /* with the run's n and snr */
  SpdData    all;
  PetscInt   ntest = job->train.test_n, ntrain, *idx;

  PetscFunctionBegin;
  *test    = NULL;
  spec.n   = run->n ? run->n + ntest : 0;
  spec.snr = run->snr;
  PetscCall(SpdJobDataLoadSpec(&spec, comm, 0, &all));
  ntrain = all->n - ntest;
  PetscCheck(ntrain >= 1, comm, PETSC_ERR_USER_INPUT, "The data %s have %" PetscInt_FMT " samples; data.test_n = %" PetscInt_FMT " leaves none for training", all->name, all->n, ntest);
  if (!ntest)
    *train = all;
  else {
    PetscCall(PetscMalloc1(PetscMax(ntrain, ntest), &idx));
    for (PetscInt i = 0; i < ntrain; i++) idx[i] = i;
    PetscCall(SpdDataSubset(all, ntrain, idx, train));
    for (PetscInt i = 0; i < ntest; i++) idx[i] = ntrain + i;
    PetscCall(SpdDataSubset(all, ntest, idx, test));
    PetscCall(PetscFree(idx));
    PetscCall(SpdDataDestroy(&all));
  }
  if (run->label_noise > 0 || job->train.random_labels) {
    PetscCheck((*train)->labels, comm, PETSC_ERR_USER_INPUT, "Label noise needs class labels, but the data %s are regression targets", (*train)->name);
    PetscCall(SpdDataCorruptLabels(*train, job->train.random_labels ? 1.0 : run->label_noise, job->train.random_labels, run->cfg.seed));
  }
  PetscFunctionReturn(0);
}

/* The model of a run: model.widths (input 0: the data's dimension; hidden widths
   replaced by the swept width), activations, bias, loss and parameterization. */
static PetscErrorCode SpdTrainRunModel(SpdJob job, const SpdTrainRun *run, SpdData data, MPI_Comm comm, SpdMLP *mlp)
{
  const SpdTrainSettings *t = &job->train;
  const SpdMLPSpec       *s = &job->model;
  PetscInt                L = t->nwidths - 1, w[SPD_MLP_MAX_LAYERS + 1];
  SpdActivation           act[SPD_MLP_MAX_LAYERS];
  PetscBool               bias[SPD_MLP_MAX_LAYERS];
  PetscReal               a[SPD_MLP_MAX_LAYERS], c[SPD_MLP_MAX_LAYERS];

  PetscFunctionBegin;
  for (PetscInt l = 0; l <= L; l++) w[l] = (l > 0 && l < L && run->width) ? run->width : t->widths[l];
  if (!w[0]) w[0] = data->d;
  PetscCheck(w[0] == data->d, comm, PETSC_ERR_USER_INPUT, "model.widths starts with %" PetscInt_FMT " inputs but the data %s have %" PetscInt_FMT " features; set the first width to %" PetscInt_FMT " or 0", w[0], data->name, data->d, data->d);
  if (data->labels)
    PetscCheck(w[L] == data->nclasses, comm, PETSC_ERR_USER_INPUT, "model.widths ends with %" PetscInt_FMT " outputs but the data %s have %" PetscInt_FMT " classes; set the last width to %" PetscInt_FMT, w[L], data->name, data->nclasses, data->nclasses);
  else
    PetscCheck(w[L] == data->c, comm, PETSC_ERR_USER_INPUT, "model.widths ends with %" PetscInt_FMT " outputs but the data %s have %" PetscInt_FMT "-dimensional targets", w[L], data->name, data->c);
  PetscCheck(!(s->act_given && s->nact > 1 && s->nact != L - 1), comm, PETSC_ERR_USER_INPUT, "model.activation lists %" PetscInt_FMT " activations for %" PetscInt_FMT " hidden layers; give one, or one per hidden layer", s->nact, L - 1);
  for (PetscInt l = 0; l < L; l++) {
    act[l]  = !s->act_given ? SPD_ACT_RELU : (s->nact > 1 ? s->act[PetscMin(l, s->nact - 1)] : s->act[0]);
    bias[l] = t->bias;
  }
  PetscCall(SpdMLPCreate(comm, L, w, act, bias, s->loss, mlp));
  PetscCall(SpdParameterizationMultipliers(s->param, L, w, s->wmult, s->bmult, a, c));
  PetscCall(SpdMLPSetMultipliers(*mlp, a, c));
  PetscCall(SpdMLPSetLeakySlope(*mlp, s->leaky_slope > 0 ? s->leaky_slope : 0.01));
  PetscFunctionReturn(0);
}

/* Train one run (and analyse it) on comm. */
static PetscErrorCode SpdTrainOneRun(SpdJob job, const SpdTrainRun *run, MPI_Comm comm, PetscBool *done)
{
  SpdData    data = NULL, test = NULL;
  SpdMLP     mlp     = NULL;
  SpdTrainer trainer = NULL;
  char       dir[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(dir, sizeof(dir), "%s/%s", job->output, run->name));
  PetscCall(SpdTrainRunData(job, run, comm, &data, &test));
  PetscCall(SpdTrainRunModel(job, run, data, comm, &mlp));
  PetscCall(SpdTrainerCreate(mlp, data, &run->cfg, &trainer));
  PetscCall(SpdTrainerInitialize(trainer));
  PetscCall(SpdTrainerRun(trainer, dir, test, done));
  if (*done && job->trainjac.enabled) {
    char      path[PETSC_MAX_PATH_LEN];
    PetscBool exists;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/training_jacobian.h5", dir));
    PetscCall(PetscTestFile(path, 'r', &exists));
    if (!exists) {
      PetscCall(SpdTrainerInitialize(trainer)); /* back to theta_0 */
      PetscCall(SpdTrainingJacobianAnalyze(trainer, &job->trainjac, data, test, path));
    }
  }
  PetscCall(SpdTrainerDestroy(&trainer));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&test));
  PetscCall(SpdDataDestroy(&data));
  PetscFunctionReturn(0);
}

/* <output>/study.yaml: a job that analyses the weight dynamics of every run. Written as
   a per-process temporary file and renamed: the tasks of a SLURM array (--run i) all
   write it at the same time, and a reader never sees it half-written. */
static PetscErrorCode SpdTrainWriteStudy(SpdJob job, PetscInt nruns, const SpdTrainRun *runs)
{
  char  path[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN + 32];
  FILE *f;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/study.yaml", job->output));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()));
  f = fopen(tmp, "w");
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s: %s; check that the output folder is writable", tmp, strerror(errno));
  fprintf(f, "# Written by `specdyn train %s`: the weight dynamics of its runs.\n# Analyse with: specdyn run %s\nname: %s-weights\noutput: weights.results\nruns:\n", job->path, path, job->name);
  for (PetscInt r = 0; r < nruns; r++) fprintf(f, "  - name: \"%s\"\n    checkpoints: \"%s/checkpoints/step_{step}.safetensors\"\n", runs[r].name, runs[r].name);
  fprintf(f, "weights:\n  top: 8\ncompare:\n  k: 8\n  checkpoints: [final, previous]\n  runs: %s\n  layers: [auto]\n", nruns > 1 ? "true" : "false");
  PetscCheck(!fclose(f), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Writing %s failed: %s (disk full?)", tmp, strerror(errno));
  PetscCheck(!rename(tmp, path), PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot rename %s to %s: %s", tmp, path, strerror(errno));
  PetscFunctionReturn(0);
}

/*@C
  SpdTrainJob - train the runs of a job (and analyse their training Jacobians)

  Collective

  Input Parameters:
+ job   - a job with a train: section
. comm  - the ranks; runs are spread over groups of resources.ranks_per_task ranks
          (default: one run per rank when there are at least as many runs as ranks,
          else the ranks split evenly)
- only  - run only this run (0-based, e.g. $SLURM_ARRAY_TASK_ID), or -1 for all

  Output Parameters:
+ ndone   - runs complete (trained now or before)
. nfailed - runs that failed (message on stderr)
- status  - SPD_RUN_COMPLETE, SPD_RUN_PARTIAL (stopped by a signal) or SPD_RUN_FAILED
@*/
PetscErrorCode SpdTrainJob(SpdJob job, MPI_Comm comm, PetscInt only, PetscInt *ndone, PetscInt *nfailed, SpdRunStatus *status)
{
  PetscInt     nruns, per, ngroups, counts[2] = { 0, 0 }, g;
  SpdTrainRun *runs;
  PetscMPIInt  size, rank, grank;
  MPI_Comm     group;
  PetscBool    stopped = PETSC_FALSE;

  PetscFunctionBegin;
  if (job->train.enabled)
    PetscCall(SpdJobTrainRuns(job, &nruns, &runs));
  else
    nruns = 0, runs = NULL; /* an ensemble experiment only */
  PetscCheck(only < nruns, comm, PETSC_ERR_ARG_OUTOFRANGE, "Run %" PetscInt_FMT " does not exist: the job %s has %" PetscInt_FMT " runs (0..%" PetscInt_FMT ")", only, job->path, nruns, nruns - 1);
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  {
    PetscInt nmine = only >= 0 ? 1 : PetscMax(nruns, 1);
    per            = job->ranks_per_task > 0 ? PetscMin(job->ranks_per_task, size) : (nmine >= size ? 1 : size / nmine);
  }
  ngroups = size / per;
  g       = rank / per < ngroups ? rank / per : ngroups; /* leftover ranks idle */
  PetscCallMPI(MPI_Comm_split(comm, (PetscMPIInt)g, rank, &group));
  PetscCallMPI(MPI_Comm_rank(group, &grank));
  { /* rank 0 creates the folder and study.yaml; every rank learns the outcome (no rank
       may be left waiting for one that failed) */
    PetscMPIInt st[2] = { 0, 0 };
    if (!rank) {
      int err = 0;
      if (SpdMkdirP(job->output, &err)) err = ENAMETOOLONG; /* decided on rank 0, raised on all */
      st[0] = err;
      if (!err && nruns) st[1] = (PetscMPIInt)SpdTrainWriteStudy(job, nruns, runs);
    }
    PetscCallMPI(MPI_Bcast(st, 2, MPI_INT, 0, comm));
    PetscCheck(!st[0], comm, PETSC_ERR_FILE_OPEN, "Cannot create the output folder %s: %s; give a writable folder (job key output, or -o DIR)", job->output, strerror(st[0]));
    PetscCheck(!st[1], comm, PETSC_ERR_FILE_WRITE, "Cannot write %s/study.yaml; check that the output folder is writable", job->output);
  }
  for (PetscInt r = 0; r < nruns && g < ngroups; r++) {
    PetscBool      done = PETSC_FALSE;
    PetscErrorCode ierr;
    char           msg[4096];

    if ((only >= 0 && (r != only || g != 0)) || (only < 0 && r % ngroups != g)) continue; /* --run i: the first group only */
    { /* the group agrees: a signal may reach some of its ranks only */
      PetscMPIInt stop = SpdStopRequested() ? 1 : 0;
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, group));
      if (stop) {
        stopped = PETSC_TRUE;
        break;
      }
    }
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdTrainOneRun(job, &runs[r], group, &done);
    PetscCall(SpdErrorCapturePop());
    if (ierr) {
      if (!grank) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] run %s FAILED: %s\n", runs[r].name, msg));
      if (!grank) counts[1]++;
    } else if (done) {
      if (!grank) counts[0]++;
      if (!grank) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] run %s complete: %s/%s\n", runs[r].name, job->output, runs[r].name));
    } else
      stopped = PETSC_TRUE;
  }
  PetscCallMPI(MPI_Comm_free(&group));
  {
    PetscMPIInt s = stopped;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPI_INT, MPI_MAX, comm));
    stopped = s ? PETSC_TRUE : PETSC_FALSE;
  }
  if (job->ensemble_enabled && only < 0 && !stopped) { /* the ensemble experiment, on all ranks */
    char      path[PETSC_MAX_PATH_LEN], msg[4096];
    PetscBool exists;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/ensemble.h5", job->output));
    PetscCall(PetscTestFile(path, 'r', &exists));
    if (!exists) {
      PetscErrorCode ierr;
      PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
      ierr = SpdEnsembleAlignmentRun(comm, &job->ensemble, path);
      PetscCall(SpdErrorCapturePop());
      if (ierr) {
        if (!rank) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] ensemble experiment FAILED: %s\n", msg));
        if (!rank) counts[1]++;
      } else if (!rank)
        PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] ensemble experiment complete: %s\n", path));
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPIU_INT, MPI_SUM, comm));
  *ndone   = counts[0];
  *nfailed = counts[1];
  *status  = counts[1] ? SPD_RUN_FAILED : (stopped || counts[0] < (only >= 0 ? 1 : nruns)) ? SPD_RUN_PARTIAL
                                                                                           : SPD_RUN_COMPLETE;
  PetscCall(PetscFree(runs));
  PetscFunctionReturn(0);
}
