/* The training sections of a job (docs/training.md): `train:` (optimizer, schedule,
   checkpoints, label noise), `sweep:` (a grid of values that expands into runs),
   `training_jacobian:` (the analysis of d theta_T / d theta_0 after each run) and
   `ensemble:` (the representational-alignment experiment, docs/alignment.md). */
#include "jobparse.h"
#include <specdyn/alignment.h> /* SPD_SVCCA_VARIANCE */

static const char *const JobTrainKeys[]     = { "steps", "lr", "schedule", "warmup", "momentum", "beta", "weight_decay", "decoupled", "batch", "seed", "init_scale", "label_noise", "random_labels", "checkpoints", "eval_every", "float32", NULL };
static const char *const JobScheduleKeys[]  = { "type", "every", "gamma", "lr_min", NULL };
static const char *const JobCkptKeys[]      = { "every", "geometric", NULL };
static const char *const JobTrainJacKeys[]  = { "top", "bottom", "density", "epsilon", "every", "function_jacobian", "perturb", "full", "seed", NULL };
static const char *const JobTJDensityKeys[] = { "probes", "steps", "grid", NULL };
static const char *const JobPerturbKeys[]   = { "directions", "scale", "ood", NULL };
static const char *const JobEnsembleKeys[]  = { "snr", "n", "members", "d", "outputs", "width", "depth", "activation", "bias", "probes", "test", "seed", "noise_seed", "same_init", "svcca_variance", "svcca_k", "train", NULL };

const char *const SpdSweepKeys[] = { "seed", "weight_decay", "label_noise", "n", "snr", "width", "lr", "batch", NULL };

static PetscErrorCode JobGetSeed(JobCtx *c, yaml_node_t *v, const char what[], PetscInt64 *seed)
{
  PetscInt s;

  PetscFunctionBegin;
  JobTry(c, JobGetInt(c, v, what, 0, &s));
  *seed = s;
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseSchedule(JobCtx *c, SpdTrainConfig *cfg, yaml_node_t *v)
{
  yaml_node_t *x;
  PetscInt     w;

  PetscFunctionBegin;
  if (v->type == YAML_MAPPING_NODE) {
    JobTry(c, JobCheckMapping(c, v, "train.schedule", JobScheduleKeys));
    if (!(x = JobFind(c, v, "type"))) JobTry(c, JobFail(c, v, "'train.schedule' needs 'type': constant, step or cosine"));
    JobTry(c, JobGetWord(c, x, "train.schedule.type", SpdLRSchedules, &w));
    cfg->schedule = (SpdLRSchedule)w;
    if ((x = JobFind(c, v, "every"))) JobTry(c, JobGetInt(c, x, "train.schedule.every", 1, &cfg->step_every));
    if ((x = JobFind(c, v, "gamma"))) JobTry(c, JobGetReal(c, x, "train.schedule.gamma", &cfg->step_gamma));
    if ((x = JobFind(c, v, "lr_min"))) JobTry(c, JobGetReal(c, x, "train.schedule.lr_min", &cfg->lr_min));
    if (cfg->schedule == SPD_LR_STEP && !JobFind(c, v, "every")) JobTry(c, JobFail(c, v, "'train.schedule' of type step needs 'every' (steps between decays) and optionally 'gamma' (factor, default %g)", (double)cfg->step_gamma));
    if (cfg->step_gamma <= 0 || cfg->step_gamma > 1) JobTry(c, JobFail(c, v, "'train.schedule.gamma' must be in (0, 1], got %g", (double)cfg->step_gamma));
    if (cfg->lr_min < 0) JobTry(c, JobFail(c, v, "'train.schedule.lr_min' must be >= 0, got %g", (double)cfg->lr_min));
  } else {
    JobTry(c, JobGetWord(c, v, "train.schedule", SpdLRSchedules, &w));
    cfg->schedule = (SpdLRSchedule)w;
    if (cfg->schedule == SPD_LR_STEP) JobTry(c, JobFail(c, v, "'train.schedule: step' needs a mapping {type: step, every: K, gamma: G}"));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseTrainSection(JobCtx *c, SpdJob job, yaml_node_t *node, SpdTrainSettings *t)
{
  SpdTrainConfig *cfg = &t->cfg;
  yaml_node_t    *v, *x;
  PetscInt        w;

  PetscFunctionBegin;
  if (!JobIsNull(node)) JobTry(c, JobCheckMapping(c, node, "train", JobTrainKeys));
  if ((v = JobFind(c, node, "steps"))) JobTry(c, JobGetInt(c, v, "train.steps", 1, &cfg->steps));
  if ((v = JobFind(c, node, "lr"))) JobTry(c, JobGetReal(c, v, "train.lr", &cfg->lr));
  if (cfg->lr <= 0) JobTry(c, JobFail(c, JobFind(c, node, "lr"), "'train.lr' must be > 0, got %g", (double)cfg->lr));
  if ((v = JobFind(c, node, "schedule"))) JobTry(c, JobParseSchedule(c, cfg, v));
  if ((v = JobFind(c, node, "warmup"))) JobTry(c, JobGetInt(c, v, "train.warmup", 0, &cfg->warmup));
  if ((v = JobFind(c, node, "momentum"))) {
    JobTry(c, JobGetWord(c, v, "train.momentum", SpdMomenta, &w));
    cfg->momentum = (SpdMomentum)w;
  }
  if ((v = JobFind(c, node, "beta"))) {
    JobTry(c, JobGetReal(c, v, "train.beta", &cfg->beta));
    if (cfg->beta < 0 || cfg->beta >= 1) JobTry(c, JobFail(c, v, "'train.beta' (momentum coefficient) must be in [0, 1), got %g", (double)cfg->beta));
    if (cfg->momentum == SPD_MOMENTUM_NONE) JobTry(c, JobFail(c, v, "'train.beta' is given but 'train.momentum' is none; set momentum: heavy_ball or nesterov"));
  }
  if ((v = JobFind(c, node, "weight_decay"))) JobTry(c, JobGetReal(c, v, "train.weight_decay", &cfg->weight_decay));
  if (cfg->weight_decay < 0) JobTry(c, JobFail(c, JobFind(c, node, "weight_decay"), "'train.weight_decay' must be >= 0, got %g", (double)cfg->weight_decay));
  if ((v = JobFind(c, node, "decoupled"))) JobTry(c, JobGetBool(c, v, "train.decoupled", &cfg->decoupled));
  if ((v = JobFind(c, node, "batch"))) {
    if (v->type == YAML_SCALAR_NODE && !strcmp(JobScalarText(v), "full"))
      cfg->batch = 0;
    else
      JobTry(c, JobGetInt(c, v, "train.batch", 1, &cfg->batch));
  }
  if ((v = JobFind(c, node, "seed"))) JobTry(c, JobGetSeed(c, v, "train.seed", &cfg->seed));
  if ((v = JobFind(c, node, "init_scale"))) JobTry(c, JobGetReal(c, v, "train.init_scale", &cfg->init_scale));
  if ((v = JobFind(c, node, "label_noise"))) {
    JobTry(c, JobGetReal(c, v, "train.label_noise", &t->label_noise));
    if (t->label_noise < 0 || t->label_noise > 1) JobTry(c, JobFail(c, v, "'train.label_noise' is the fraction of corrupted labels, in [0, 1]; got %g", (double)t->label_noise));
  }
  if ((v = JobFind(c, node, "random_labels"))) JobTry(c, JobGetBool(c, v, "train.random_labels", &t->random_labels));
  if ((v = JobFind(c, node, "checkpoints"))) {
    JobTry(c, JobCheckMapping(c, v, "train.checkpoints", JobCkptKeys));
    if ((x = JobFind(c, v, "every"))) {
      cfg->ckpt = SPD_CKPT_EVERY;
      JobTry(c, JobGetInt(c, x, "train.checkpoints.every", 0, &cfg->ckpt_every));
    } else if ((x = JobFind(c, v, "geometric"))) {
      cfg->ckpt = SPD_CKPT_GEOMETRIC;
      JobTry(c, JobGetReal(c, x, "train.checkpoints.geometric", &cfg->ckpt_ratio));
      if (cfg->ckpt_ratio <= 1) JobTry(c, JobFail(c, x, "'train.checkpoints.geometric' is the ratio between checkpoint steps and must be > 1, got %g", (double)cfg->ckpt_ratio));
    } else
      JobTry(c, JobFail(c, v, "'train.checkpoints' needs 'every: K' (every K steps) or 'geometric: R' (steps 1, R, R^2, ...)"));
  }
  if ((v = JobFind(c, node, "eval_every"))) JobTry(c, JobGetInt(c, v, "train.eval_every", 0, &cfg->eval_every));
  if ((v = JobFind(c, node, "float32"))) JobTry(c, JobGetBool(c, v, "train.float32", &cfg->ckpt_float32));
  cfg->param = job->model.param;
  PetscFunctionReturn(0);
}

/* sweep: {key: [values]} */
static PetscErrorCode JobParseSweep(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdTrainSettings *t = &job->train;

  PetscFunctionBegin;
  if (!node || JobIsNull(node)) PetscFunctionReturn(0);
  JobTry(c, JobCheckMapping(c, node, "sweep", SpdSweepKeys));
  for (PetscInt k = 0; k < SPD_SWEEP_NKEYS; k++) {
    yaml_node_t *v = JobFind(c, node, SpdSweepKeys[k]);
    char         what[64];

    if (!v) continue;
    PetscCall(PetscSNPrintf(what, sizeof(what), "sweep.%s", SpdSweepKeys[k]));
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start) JobTry(c, JobFail(c, v, "'%s' must be a non-empty list of values, got %s", what, JobNodeKind(v)));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
      yaml_node_t *x = JobNode(c, *it);
      PetscReal    r;
      if (t->nsweep[k] >= SPD_SWEEP_MAX) JobTry(c, JobFail(c, v, "'%s' lists more than %d values", what, SPD_SWEEP_MAX));
      if (k == SPD_SWEEP_SEED || k == SPD_SWEEP_N || k == SPD_SWEEP_WIDTH || k == SPD_SWEEP_BATCH) {
        PetscInt i;
        JobTry(c, JobGetInt(c, x, what, k == SPD_SWEEP_SEED ? 0 : 1, &i));
        r = (PetscReal)i;
      } else
        JobTry(c, JobGetReal(c, x, what, &r));
      if (k == SPD_SWEEP_LABEL_NOISE && (r < 0 || r > 1)) JobTry(c, JobFail(c, x, "'%s' values are fractions in [0, 1], got %g", what, (double)r));
      if ((k == SPD_SWEEP_LR && r <= 0) || (k == SPD_SWEEP_WEIGHT_DECAY && r < 0)) JobTry(c, JobFail(c, x, "'%s' values must be %s, got %g", what, k == SPD_SWEEP_LR ? "> 0" : ">= 0", (double)r));
      t->sweep[k][t->nsweep[k]++] = r;
    }
  }
  if (t->nsweep[SPD_SWEEP_SNR] && job->data.source != SPD_DATA_TEACHER_STUDENT && job->data.source != SPD_DATA_GAUSSIAN_MIXTURE)
    JobTry(c, JobFail(c, JobFind(c, node, "snr"), "'sweep.snr' needs generated data (data.source: teacher_student or gaussian_mixture)"));
  if (t->nsweep[SPD_SWEEP_LABEL_NOISE] && job->data.source == SPD_DATA_TEACHER_STUDENT) JobTry(c, JobFail(c, JobFind(c, node, "label_noise"), "'sweep.label_noise' corrupts class labels; teacher_student data are regression targets (sweep their noise with 'sweep.snr')"));
  if (t->nsweep[SPD_SWEEP_WIDTH] && t->nwidths < 3) JobTry(c, JobFail(c, JobFind(c, node, "width"), "'sweep.width' sets the hidden widths, but 'model.widths' has no hidden layer"));
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseTrainJacobian(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdTrainJacSettings *j = &job->trainjac;
  yaml_node_t         *v, *x;

  PetscFunctionBegin;
  if (!node) PetscFunctionReturn(0);
  j->enabled           = PETSC_TRUE;
  j->top               = 16;
  j->bottom            = 16;
  j->epsilon           = 0.1;
  j->every             = 1;
  j->perturb_scale     = 1e-2;
  j->ood               = 256;
  j->function_jacobian = PETSC_TRUE;
  j->full              = SPD_FULL_AUTO;
  j->full_max          = 2048;
  if (!JobIsNull(node)) JobTry(c, JobCheckMapping(c, node, "training_jacobian", JobTrainJacKeys));
  if ((v = JobFind(c, node, "top"))) JobTry(c, JobGetInt(c, v, "training_jacobian.top", 0, &j->top));
  if ((v = JobFind(c, node, "bottom"))) JobTry(c, JobGetInt(c, v, "training_jacobian.bottom", 0, &j->bottom));
  if ((v = JobFind(c, node, "density"))) {
    JobTry(c, JobCheckMapping(c, v, "training_jacobian.density", JobTJDensityKeys));
    j->density_probes = 8;
    j->density_steps  = 60;
    j->density_grid   = 400;
    if ((x = JobFind(c, v, "probes"))) JobTry(c, JobGetInt(c, x, "training_jacobian.density.probes", 1, &j->density_probes));
    if ((x = JobFind(c, v, "steps"))) JobTry(c, JobGetInt(c, x, "training_jacobian.density.steps", 2, &j->density_steps));
    if ((x = JobFind(c, v, "grid"))) JobTry(c, JobGetInt(c, x, "training_jacobian.density.grid", 10, &j->density_grid));
  }
  if ((v = JobFind(c, node, "epsilon"))) {
    JobTry(c, JobGetReal(c, v, "training_jacobian.epsilon", &j->epsilon));
    if (j->epsilon <= 0 || j->epsilon >= 1) JobTry(c, JobFail(c, v, "'training_jacobian.epsilon' is the half-width of the bulk |sigma - 1| <= epsilon, in (0, 1); got %g", (double)j->epsilon));
  }
  if ((v = JobFind(c, node, "every"))) JobTry(c, JobGetInt(c, v, "training_jacobian.every", 1, &j->every));
  if ((v = JobFind(c, node, "full"))) {
    if (v->type == YAML_SCALAR_NODE && !strcmp(JobScalarText(v), "auto"))
      j->full = SPD_FULL_AUTO;
    else {
      PetscBool b;
      JobTry(c, JobGetBool(c, v, "training_jacobian.full", &b));
      j->full = b ? SPD_FULL_YES : SPD_FULL_NO;
    }
  }
  if ((v = JobFind(c, node, "function_jacobian"))) JobTry(c, JobGetBool(c, v, "training_jacobian.function_jacobian", &j->function_jacobian));
  if ((v = JobFind(c, node, "perturb"))) {
    JobTry(c, JobCheckMapping(c, v, "training_jacobian.perturb", JobPerturbKeys));
    j->perturb = 2;
    if ((x = JobFind(c, v, "directions"))) JobTry(c, JobGetInt(c, x, "training_jacobian.perturb.directions", 1, &j->perturb));
    if ((x = JobFind(c, v, "scale"))) JobTry(c, JobGetReal(c, x, "training_jacobian.perturb.scale", &j->perturb_scale));
    if ((x = JobFind(c, v, "ood"))) JobTry(c, JobGetInt(c, x, "training_jacobian.perturb.ood", 1, &j->ood));
    if (j->perturb_scale <= 0) JobTry(c, JobFail(c, v, "'training_jacobian.perturb.scale' must be > 0, got %g", (double)j->perturb_scale));
  }
  if ((v = JobFind(c, node, "seed"))) JobTry(c, JobGetSeed(c, v, "training_jacobian.seed", &j->seed));
  if (!j->top && !j->bottom && !j->density_probes) JobTry(c, JobFail(c, node, "'training_jacobian' asks for nothing: top and bottom are 0 and there is no density"));
  if (!job->train.enabled) JobTry(c, JobFail(c, node, "'training_jacobian' analyses training runs; the job needs a 'train:' section"));
  PetscFunctionReturn(0);
}

/* A list of numbers into v[0..*n) (at most max). */
static PetscErrorCode JobGetRealGrid(JobCtx *c, yaml_node_t *v, const char what[], PetscInt max, PetscInt *n, PetscReal r[])
{
  PetscFunctionBegin;
  *n = 0;
  if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start) JobTry(c, JobFail(c, v, "'%s' must be a non-empty list of numbers, got %s", what, JobNodeKind(v)));
  for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
    if (*n >= max) JobTry(c, JobFail(c, v, "'%s' lists more than %" PetscInt_FMT " values", what, max));
    JobTry(c, JobGetReal(c, JobNode(c, *it), what, &r[(*n)++]));
  }
  PetscFunctionReturn(0);
}

/* ensemble: the representational-alignment experiment (docs/alignment.md) */
static PetscErrorCode JobParseEnsemble(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdEnsembleConfig *e = &job->ensemble;
  yaml_node_t       *v;
  PetscInt           w, i;
  PetscReal          grid[SPD_ENSEMBLE_MAX_GRID];

  PetscFunctionBegin;
  PetscCall(SpdEnsembleConfigDefaults(e));
  if (!node) PetscFunctionReturn(0);
  job->ensemble_enabled = PETSC_TRUE;
  if (JobIsNull(node)) PetscFunctionReturn(0);
  JobTry(c, JobCheckMapping(c, node, "ensemble", JobEnsembleKeys));
  if ((v = JobFind(c, node, "snr"))) JobTry(c, JobGetRealGrid(c, v, "ensemble.snr", SPD_ENSEMBLE_MAX_GRID, &e->nsnr, e->snr));
  if ((v = JobFind(c, node, "n"))) {
    JobTry(c, JobGetRealGrid(c, v, "ensemble.n", SPD_ENSEMBLE_MAX_GRID, &e->nn, grid));
    for (i = 0; i < e->nn; i++) {
      if (grid[i] < 2 || grid[i] != PetscFloorReal(grid[i])) JobTry(c, JobFail(c, v, "'ensemble.n' values are training-set sizes, integers >= 2; got %g", (double)grid[i]));
      e->n[i] = (PetscInt)grid[i];
    }
  }
  if ((v = JobFind(c, node, "members"))) JobTry(c, JobGetInt(c, v, "ensemble.members", 2, &e->members));
  if ((v = JobFind(c, node, "d"))) JobTry(c, JobGetInt(c, v, "ensemble.d", 1, &e->d));
  if ((v = JobFind(c, node, "outputs"))) JobTry(c, JobGetInt(c, v, "ensemble.outputs", 1, &e->c));
  if ((v = JobFind(c, node, "width"))) JobTry(c, JobGetInt(c, v, "ensemble.width", 1, &e->width));
  if ((v = JobFind(c, node, "depth"))) JobTry(c, JobGetInt(c, v, "ensemble.depth", 1, &e->depth));
  if ((v = JobFind(c, node, "activation"))) {
    JobTry(c, JobGetWord(c, v, "ensemble.activation", SpdActivations, &w));
    e->act = (SpdActivation)w;
  }
  if ((v = JobFind(c, node, "bias"))) JobTry(c, JobGetBool(c, v, "ensemble.bias", &e->bias));
  if ((v = JobFind(c, node, "probes"))) JobTry(c, JobGetInt(c, v, "ensemble.probes", 2, &e->nprobe));
  if ((v = JobFind(c, node, "test"))) JobTry(c, JobGetInt(c, v, "ensemble.test", 1, &e->ntest));
  if ((v = JobFind(c, node, "seed"))) JobTry(c, JobGetSeed(c, v, "ensemble.seed", &e->data_seed));
  if ((v = JobFind(c, node, "noise_seed"))) JobTry(c, JobGetSeed(c, v, "ensemble.noise_seed", &e->noise_seed));
  if ((v = JobFind(c, node, "same_init"))) JobTry(c, JobGetBool(c, v, "ensemble.same_init", &e->same_init));
  if ((v = JobFind(c, node, "svcca_variance"))) {
    JobTry(c, JobGetReal(c, v, "ensemble.svcca_variance", &e->svcca_var));
    if (e->svcca_var <= 0 || e->svcca_var > 1) JobTry(c, JobFail(c, v, "'ensemble.svcca_variance' is the fraction of variance SVCCA keeps, in (0, 1]; got %g", (double)e->svcca_var));
  }
  if ((v = JobFind(c, node, "svcca_k"))) JobTry(c, JobGetInt(c, v, "ensemble.svcca_k", 1, &e->svcca_k));
  if ((v = JobFind(c, node, "train"))) {
    SpdTrainSettings t;
    PetscCall(PetscMemzero(&t, sizeof(t)));
    t.cfg = e->train;
    JobTry(c, JobParseTrainSection(c, job, v, &t));
    e->train = t.cfg;
    if (t.label_noise > 0 || t.random_labels) JobTry(c, JobFail(c, v, "'ensemble.train' cannot corrupt labels: the members are trained on regression targets whose noise is set by ensemble.snr"));
  }
  e->train.param = job->model.param;
  PetscFunctionReturn(0);
}

PetscErrorCode JobParseTrain(JobCtx *c, SpdJob job, yaml_node_t *train, yaml_node_t *sweep, yaml_node_t *tj, yaml_node_t *ensemble)
{
  SpdTrainSettings *t = &job->train;

  PetscFunctionBegin;
  PetscCall(SpdTrainConfigDefaults(&t->cfg));
  if (train) {
    t->enabled = PETSC_TRUE;
    JobTry(c, JobParseTrainSection(c, job, train, t));
    if (job->data.source == SPD_DATA_NONE) JobTry(c, JobFail(c, train, "'train' needs a 'data:' section (the training samples)"));
    if (t->nwidths < 2) JobTry(c, JobFail(c, train, "'train' needs the architecture: 'model.widths: [input, hidden..., output]' (input may be 0: taken from the data)"));
    if (t->label_noise > 0 && job->data.source == SPD_DATA_TEACHER_STUDENT) JobTry(c, JobFail(c, JobFind(c, train, "label_noise"), "'train.label_noise' corrupts class labels; teacher_student data are regression targets (their noise is set by data.snr)"));
  } else if (sweep)
    JobTry(c, JobFail(c, sweep, "'sweep' expands training runs; the job needs a 'train:' section"));
  JobTry(c, JobParseSweep(c, job, sweep));
  JobTry(c, JobParseTrainJacobian(c, job, tj));
  JobTry(c, JobParseEnsemble(c, job, ensemble));
  PetscFunctionReturn(0);
}

/* "%g" without trailing noise, for run names */
static PetscErrorCode JobRunValue(SpdSweepKey k, PetscReal v, char buf[], size_t len)
{
  PetscFunctionBegin;
  if (k == SPD_SWEEP_SEED || k == SPD_SWEEP_N || k == SPD_SWEEP_WIDTH || k == SPD_SWEEP_BATCH)
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt_FMT, (PetscInt)v));
  else /* plain snprintf: PetscSNPrintf appends a '.' to an integral %g ("0.") */
    PetscCheck(snprintf(buf, len, "%g", (double)v) < (int)len, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Run-name buffer too short");
  PetscFunctionReturn(0);
}

/*@C
  SpdJobTrainRuns - the training runs of a job, the sweep expanded

  Not Collective

  Input Parameter:
. job - a job with a train: section

  Output Parameters:
+ nruns - the number of runs (the product of the swept list lengths, or 1)
- runs  - the runs (PetscFree() it), the last swept key varying fastest

  Notes:
  Run names list the swept values ("seed=1,weight_decay=0.0001"), or are "run" without
  a sweep; each run trains into <output>/<name>/.
@*/
PetscErrorCode SpdJobTrainRuns(SpdJob job, PetscInt *nruns, SpdTrainRun **runs)
{
  const SpdTrainSettings *t = &job->train;
  PetscInt                n = 1;
  SpdTrainRun            *r;

  PetscFunctionBegin;
  PetscCheck(t->enabled, job->comm, PETSC_ERR_ARG_WRONGSTATE, "The job %s has no 'train:' section; `specdyn train` needs one (docs/training.md)", job->path);
  for (PetscInt k = 0; k < SPD_SWEEP_NKEYS; k++)
    if (t->nsweep[k]) n *= t->nsweep[k];
  PetscCall(PetscCalloc1(n, &r));
  for (PetscInt i = 0; i < n; i++) {
    PetscInt  rest = i;
    size_t    len  = 0;
    PetscReal val[SPD_SWEEP_NKEYS];

    r[i].cfg         = t->cfg;
    r[i].label_noise = t->label_noise;
    r[i].n           = job->data.n;
    r[i].snr         = job->data.snr;
    r[i].width       = 0;
    for (PetscInt k = SPD_SWEEP_NKEYS - 1; k >= 0; k--) { /* last key fastest */
      if (!t->nsweep[k]) continue;
      PetscReal v = val[k] = t->sweep[k][rest % t->nsweep[k]];
      rest /= t->nsweep[k];
      switch ((SpdSweepKey)k) {
      case SPD_SWEEP_SEED:
        r[i].cfg.seed = (PetscInt64)v;
        break;
      case SPD_SWEEP_WEIGHT_DECAY:
        r[i].cfg.weight_decay = v;
        break;
      case SPD_SWEEP_LABEL_NOISE:
        r[i].label_noise = v;
        break;
      case SPD_SWEEP_N:
        r[i].n = (PetscInt)v;
        break;
      case SPD_SWEEP_SNR:
        r[i].snr = v;
        break;
      case SPD_SWEEP_WIDTH:
        r[i].width = (PetscInt)v;
        break;
      case SPD_SWEEP_LR:
        r[i].cfg.lr = v;
        break;
      case SPD_SWEEP_BATCH:
        r[i].cfg.batch = (PetscInt)v;
        break;
      default:
        break;
      }
    }
    for (PetscInt k = 0; k < SPD_SWEEP_NKEYS; k++) { /* the name, in key order */
      char txt[64];
      if (!t->nsweep[k]) continue;
      PetscCall(JobRunValue((SpdSweepKey)k, val[k], txt, sizeof(txt)));
      PetscCall(PetscSNPrintf(r[i].name + len, sizeof(r[i].name) - len, "%s%s=%s", len ? "," : "", SpdSweepKeys[k], txt));
      len = strlen(r[i].name);
    }
    if (!len) PetscCall(PetscStrncpy(r[i].name, "run", sizeof(r[i].name)));
  }
  *nruns = n;
  *runs  = r;
  PetscFunctionReturn(0);
}

/*@C
  SpdEnsembleConfigDefaults - the default ensemble-alignment experiment

  Not collective

  Output Parameter:
. cfg - snr {0.1, 1, 10}, n {64, 256}, 3 members, d 10, c 5, width 16, depth 1, identity
        activation with biases, SpdTrainConfigDefaults() training, same_init, 256 probes,
        1024 test samples, data_seed 0, noise_seed 1, SVCCA keeping 99% of the variance

.seealso: `SpdEnsembleAlignmentRun()`
@*/
PetscErrorCode SpdEnsembleConfigDefaults(SpdEnsembleConfig *cfg)
{
  PetscFunctionBegin;
  PetscCall(PetscMemzero(cfg, sizeof(*cfg)));
  cfg->nsnr    = 3;
  cfg->snr[0]  = 0.1;
  cfg->snr[1]  = 1;
  cfg->snr[2]  = 10;
  cfg->nn      = 2;
  cfg->n[0]    = 64;
  cfg->n[1]    = 256;
  cfg->members = 3;
  cfg->d       = 10;
  cfg->c       = 5;
  cfg->width   = 16;
  cfg->depth   = 1;
  cfg->act     = SPD_ACT_IDENTITY;
  cfg->bias    = PETSC_TRUE;
  PetscCall(SpdTrainConfigDefaults(&cfg->train));
  cfg->same_init  = PETSC_TRUE;
  cfg->nprobe     = 256;
  cfg->ntest      = 1024;
  cfg->data_seed  = 0;
  cfg->noise_seed = 1;
  cfg->svcca_var  = SPD_SVCCA_VARIANCE;
  cfg->svcca_k    = 0;
  PetscFunctionReturn(0);
}
