/* The `model:`, `data:` and `curvature:` sections of a job (docs/jobs.md): the MLP read
   from each checkpoint, the data its loss is evaluated on, and the curvature analysis
   (Hessian, Gauss-Newton, gradient covariance spectra). */
#include "jobparse.h"
#include <ctype.h>

static const char *const JobModelKeys[]     = { "loss", "activation", "leaky_slope", "parameterization", "layers", "widths", "bias", NULL };
static const char *const JobLayerKeys[]     = { "weight", "bias", NULL };
static const char *const JobParamKeys[]     = { "weights", "biases", NULL };
static const char *const JobDataKeys[]      = { "source", "path", "x", "y", "images", "labels", "split", "n", "d", "classes", "outputs", "snr", "seed", "test_n", NULL };
static const char *const JobCurvatureKeys[] = { "operators", "blocks", "top", "bottom", "vectors", "trace", "density", "learning_rate", "seed", NULL };
static const char *const JobTraceKeys[]     = { "products", NULL };
static const char *const JobDensityKeys[]   = { "probes", "steps", "grid", "sigma", NULL };
static const char *const JobJacobianKeys[]  = { "inputs", "k", "lyapunov", "spectra", "depths", "seed", "ensemble", "input_groups", NULL };
static const char *const JobJacEnsKeys[]    = { "name", "width", "depth", "std", "gate_p", "seeds", "seed", NULL };

const char *const SpdDataSources[] = { "none", "hdf5", "idx", "fashion_mnist", "gaussian_mixture", "teacher_student", NULL };

#define SPD_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* A list of reals (per-layer multipliers). */
static PetscErrorCode JobGetRealList(JobCtx *c, yaml_node_t *node, const char what[], PetscInt max, PetscInt *n, PetscReal v[])
{
  PetscFunctionBegin;
  *n = 0;
  if (node->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, node, "'%s' must be a list of numbers, one per layer, got %s", what, JobNodeKind(node)));
  for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
    if (*n >= max) JobTry(c, JobFail(c, node, "'%s' has more than %" PetscInt_FMT " entries", what, max));
    JobTry(c, JobGetReal(c, JobNode(c, *it), what, &v[(*n)++]));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode JobParseModel(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdMLPSpec  *s = &job->model;
  yaml_node_t *v;
  PetscInt     w;

  PetscFunctionBegin;
  s->loss  = SPD_LOSS_CROSS_ENTROPY;
  s->param = SPD_PARAM_STANDARD;
  if (!node || JobIsNull(node)) PetscFunctionReturn(0);
  JobTry(c, JobCheckMapping(c, node, "model", JobModelKeys));
  if ((v = JobFind(c, node, "loss"))) {
    JobTry(c, JobGetWord(c, v, "model.loss", SpdLosses, &w));
    s->loss = (SpdLoss)w;
  }
  if ((v = JobFind(c, node, "activation"))) {
    s->act_given = PETSC_TRUE;
    if (v->type == YAML_SEQUENCE_NODE) {
      for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        if (s->nact >= SPD_MLP_MAX_LAYERS) JobTry(c, JobFail(c, v, "'model.activation' lists more than %d activations", SPD_MLP_MAX_LAYERS));
        JobTry(c, JobGetWord(c, JobNode(c, *it), "model.activation", SpdActivations, &w));
        s->act[s->nact++] = (SpdActivation)w;
      }
      if (!s->nact) JobTry(c, JobFail(c, v, "'model.activation' is an empty list; give one activation for all hidden layers or one per hidden layer"));
    } else {
      JobTry(c, JobGetWord(c, v, "model.activation", SpdActivations, &w));
      s->act[0] = (SpdActivation)w;
      s->nact   = 1;
    }
  }
  if ((v = JobFind(c, node, "leaky_slope"))) JobTry(c, JobGetReal(c, v, "model.leaky_slope", &s->leaky_slope));
  if ((v = JobFind(c, node, "parameterization"))) {
    if (v->type == YAML_MAPPING_NODE) {
      PetscInt nw = 0, nb = 0;
      JobTry(c, JobCheckMapping(c, v, "model.parameterization", JobParamKeys));
      s->param = SPD_PARAM_CUSTOM;
      for (PetscInt l = 0; l < SPD_MLP_MAX_LAYERS; l++) s->wmult[l] = s->bmult[l] = 1.0;
      if (JobFind(c, v, "weights")) JobTry(c, JobGetRealList(c, JobFind(c, v, "weights"), "model.parameterization.weights", SPD_MLP_MAX_LAYERS, &nw, s->wmult));
      if (JobFind(c, v, "biases")) JobTry(c, JobGetRealList(c, JobFind(c, v, "biases"), "model.parameterization.biases", SPD_MLP_MAX_LAYERS, &nb, s->bmult));
      if (!nw) JobTry(c, JobFail(c, v, "'model.parameterization' as a mapping needs 'weights': one multiplier per layer (a_l in z_l = a_l W_l h + c_l b_l)"));
    } else {
      JobTry(c, JobGetWord(c, v, "model.parameterization", SpdParameterizations, &w));
      if (w == SPD_PARAM_CUSTOM) JobTry(c, JobFail(c, v, "'model.parameterization: custom' is written as a mapping {weights: [a_1, ...], biases: [c_1, ...]}"));
      s->param = (SpdParameterization)w;
    }
  }
  job->train.bias = PETSC_TRUE;
  if ((v = JobFind(c, node, "widths"))) {
    PetscInt *nw = &job->train.nwidths;
    if (v->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, v, "'model.widths' must be a list [input, hidden..., output] (input 0: from the data), got %s", JobNodeKind(v)));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
      if (*nw > SPD_MLP_MAX_LAYERS) JobTry(c, JobFail(c, v, "'model.widths' has more than %d layers", SPD_MLP_MAX_LAYERS));
      JobTry(c, JobGetInt(c, JobNode(c, *it), "model.widths", *nw ? 1 : 0, &job->train.widths[*nw]));
      (*nw)++;
    }
    if (*nw < 2) JobTry(c, JobFail(c, v, "'model.widths' needs at least [input, output]"));
  }
  if ((v = JobFind(c, node, "bias"))) JobTry(c, JobGetBool(c, v, "model.bias", &job->train.bias));
  if ((v = JobFind(c, node, "layers")) && !(v->type == YAML_SCALAR_NODE && !strcmp(JobScalarText(v), "auto"))) {
    if (v->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, v, "'model.layers' must be auto or a list of {weight: NAME, bias: NAME}, got %s", JobNodeKind(v)));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
      yaml_node_t *item = JobNode(c, *it), *x;
      char         where[64];
      PetscInt     l = s->nlayers;

      PetscCall(PetscSNPrintf(where, sizeof(where), "model.layers[%" PetscInt_FMT "]", l));
      if (l >= SPD_MLP_MAX_LAYERS) JobTry(c, JobFail(c, item, "'model.layers' has more than %d layers", SPD_MLP_MAX_LAYERS));
      if (item->type == YAML_SCALAR_NODE && !JobIsNull(item)) { /* just the weight's name: no bias */
        JobTry(c, JobGetString(c, item, where, s->weight[l], sizeof(s->weight[l])));
        s->bias[l][0] = 0;
      } else {
        if (item->type != YAML_MAPPING_NODE) JobTry(c, JobFail(c, item, "'%s' must be {weight: NAME, bias: NAME} or a weight name, got %s", where, JobNodeKind(item)));
        JobTry(c, JobCheckMapping(c, item, where, JobLayerKeys));
        if (!(x = JobFind(c, item, "weight"))) JobTry(c, JobFail(c, item, "'%s' has no 'weight' (the tensor name of the layer's weight matrix)", where));
        JobTry(c, JobGetString(c, x, where, s->weight[l], sizeof(s->weight[l])));
        s->bias[l][0] = 0;
        if ((x = JobFind(c, item, "bias")) && !JobIsNull(x)) JobTry(c, JobGetString(c, x, where, s->bias[l], sizeof(s->bias[l])));
      }
      s->nlayers++;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode JobParseData(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdJobData  *d = &job->data;
  yaml_node_t *v;
  PetscInt     w;
  char         buf[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  d->classes = 10;
  d->outputs = 1;
  d->snr     = 1.0;
  if (!node || JobIsNull(node)) PetscFunctionReturn(0);
  JobTry(c, JobCheckMapping(c, node, "data", JobDataKeys));
  if (!(v = JobFind(c, node, "source"))) JobTry(c, JobFail(c, node, "'data' needs a 'source': hdf5, idx, fashion_mnist, gaussian_mixture or teacher_student"));
  JobTry(c, JobGetWord(c, v, "data.source", SpdDataSources, &w));
  if (w == SPD_DATA_NONE) JobTry(c, JobFail(c, v, "'data.source' must be hdf5, idx, fashion_mnist, gaussian_mixture or teacher_student"));
  d->source = (SpdDataSource)w;
  if ((v = JobFind(c, node, "n"))) JobTry(c, JobGetInt(c, v, "data.n", 1, &d->n));
  if ((v = JobFind(c, node, "d"))) JobTry(c, JobGetInt(c, v, "data.d", 1, &d->d));
  if ((v = JobFind(c, node, "classes"))) JobTry(c, JobGetInt(c, v, "data.classes", 2, &d->classes));
  if ((v = JobFind(c, node, "outputs"))) JobTry(c, JobGetInt(c, v, "data.outputs", 1, &d->outputs));
  if ((v = JobFind(c, node, "snr"))) JobTry(c, JobGetReal(c, v, "data.snr", &d->snr));
  if ((v = JobFind(c, node, "test_n"))) JobTry(c, JobGetInt(c, v, "data.test_n", 0, &job->train.test_n));
  if ((v = JobFind(c, node, "seed"))) {
    PetscInt s;
    JobTry(c, JobGetInt(c, v, "data.seed", 0, &s));
    d->seed = s;
  }
  switch (d->source) {
  case SPD_DATA_HDF5:
    if (!(v = JobFind(c, node, "path"))) JobTry(c, JobFail(c, node, "'data' with source hdf5 needs 'path' (the HDF5 file) and 'x', 'y' (dataset paths)"));
    JobTry(c, JobGetString(c, v, "data.path", buf, sizeof(buf)));
    PetscCall(JobJoinPath(job->dir, buf, d->path, sizeof(d->path)));
    if (!(v = JobFind(c, node, "x")) || !JobFind(c, node, "y")) JobTry(c, JobFail(c, node, "'data' with source hdf5 needs both 'x' and 'y' (dataset paths in %s)", d->path));
    JobTry(c, JobGetString(c, v, "data.x", d->x, sizeof(d->x)));
    JobTry(c, JobGetString(c, JobFind(c, node, "y"), "data.y", d->y, sizeof(d->y)));
    break;
  case SPD_DATA_IDX:
    if (!(v = JobFind(c, node, "images")) || !JobFind(c, node, "labels")) JobTry(c, JobFail(c, node, "'data' with source idx needs 'images' and 'labels' (IDX files, .gz allowed)"));
    JobTry(c, JobGetString(c, v, "data.images", buf, sizeof(buf)));
    PetscCall(JobJoinPath(job->dir, buf, d->images, sizeof(d->images)));
    JobTry(c, JobGetString(c, JobFind(c, node, "labels"), "data.labels", buf, sizeof(buf)));
    PetscCall(JobJoinPath(job->dir, buf, d->labels, sizeof(d->labels)));
    break;
  case SPD_DATA_FASHION_MNIST: {
    const char *const splits[] = { "train", "test", NULL };
    PetscInt          sp       = 0;
    if ((v = JobFind(c, node, "split"))) JobTry(c, JobGetWord(c, v, "data.split", splits, &sp));
    PetscCall(PetscSNPrintf(d->images, sizeof(d->images), "%s/%s-images-idx3-ubyte.gz", SPD_FASHION_MNIST_DIR, sp ? "t10k" : "train"));
    PetscCall(PetscSNPrintf(d->labels, sizeof(d->labels), "%s/%s-labels-idx1-ubyte.gz", SPD_FASHION_MNIST_DIR, sp ? "t10k" : "train"));
  } break;
  case SPD_DATA_GAUSSIAN_MIXTURE:
  case SPD_DATA_TEACHER_STUDENT:
    if (!d->n || !d->d) JobTry(c, JobFail(c, node, "'data' with source %s needs 'n' (samples) and 'd' (input dimension)", SpdDataSources[d->source]));
    if (d->source == SPD_DATA_GAUSSIAN_MIXTURE && d->classes > d->d) JobTry(c, JobFail(c, node, "'data.classes' (%" PetscInt_FMT ") must not exceed 'data.d' (%" PetscInt_FMT "): the class means are the first unit vectors", d->classes, d->d));
    break;
  default:
    break;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode JobParseCurvature(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdCurvatureSettings *k = &job->curvature;
  yaml_node_t          *v, *x;

  PetscFunctionBegin;
  if (!node) PetscFunctionReturn(0);
  k->enabled              = PETSC_TRUE;
  k->op[SPD_CURV_HESSIAN] = PETSC_TRUE;
  k->whole                = PETSC_TRUE;
  k->top                  = 10;
  if (!JobIsNull(node)) JobTry(c, JobCheckMapping(c, node, "curvature", JobCurvatureKeys));
  if ((v = JobFind(c, node, "operators"))) {
    JobTry(c, JobGetWordSet(c, v, "curvature.operators", SpdCurvatures, k->op));
    if (!k->op[0] && !k->op[1] && !k->op[2]) JobTry(c, JobFail(c, v, "'curvature.operators' is empty; list hessian, gauss_newton and/or gradient_covariance"));
  }
  if ((v = JobFind(c, node, "blocks"))) {
    const char *const words[] = { "model", "layers", NULL };
    PetscBool         on[2];
    JobTry(c, JobGetWordSet(c, v, "curvature.blocks", words, on));
    k->whole  = on[0];
    k->layers = on[1];
    if (!on[0] && !on[1]) JobTry(c, JobFail(c, v, "'curvature.blocks' is empty; list model (all parameters) and/or layers (each layer's block)"));
  }
  if ((v = JobFind(c, node, "top"))) JobTry(c, JobGetInt(c, v, "curvature.top", 0, &k->top));
  if ((v = JobFind(c, node, "bottom"))) JobTry(c, JobGetInt(c, v, "curvature.bottom", 0, &k->bottom));
  if ((v = JobFind(c, node, "vectors"))) JobTry(c, JobGetBool(c, v, "curvature.vectors", &k->vectors));
  if ((v = JobFind(c, node, "trace"))) {
    if (v->type == YAML_MAPPING_NODE) {
      JobTry(c, JobCheckMapping(c, v, "curvature.trace", JobTraceKeys));
      k->trace_products = 60;
      if ((x = JobFind(c, v, "products"))) JobTry(c, JobGetInt(c, x, "curvature.trace.products", 3, &k->trace_products));
    } else
      JobTry(c, JobGetInt(c, v, "curvature.trace", 0, &k->trace_products));
  }
  if ((v = JobFind(c, node, "density"))) {
    JobTry(c, JobCheckMapping(c, v, "curvature.density", JobDensityKeys));
    k->density_probes = 4;
    k->density_steps  = 60;
    k->density_grid   = 400;
    if ((x = JobFind(c, v, "probes"))) JobTry(c, JobGetInt(c, x, "curvature.density.probes", 1, &k->density_probes));
    if ((x = JobFind(c, v, "steps"))) JobTry(c, JobGetInt(c, x, "curvature.density.steps", 2, &k->density_steps));
    if ((x = JobFind(c, v, "grid"))) JobTry(c, JobGetInt(c, x, "curvature.density.grid", 10, &k->density_grid));
    if ((x = JobFind(c, v, "sigma"))) JobTry(c, JobGetReal(c, x, "curvature.density.sigma", &k->density_sigma));
  }
  if ((v = JobFind(c, node, "learning_rate"))) JobTry(c, JobGetReal(c, v, "curvature.learning_rate", &k->learning_rate));
  if ((v = JobFind(c, node, "seed"))) {
    PetscInt s;
    JobTry(c, JobGetInt(c, v, "curvature.seed", 0, &s));
    k->seed = s;
  }
  if (!k->top && !k->bottom && !k->trace_products && !k->density_probes) JobTry(c, JobFail(c, node, "'curvature' asks for nothing: top and bottom are 0 and there is no trace or density"));
  if (k->vectors && !k->top) JobTry(c, JobFail(c, JobFind(c, node, "vectors"), "'curvature.vectors' keeps the top eigenvectors, but 'curvature.top' is 0"));
  if (job->data.source == SPD_DATA_NONE) JobTry(c, JobFail(c, node, "'curvature' needs a 'data:' section (the samples the loss is evaluated on)"));
  PetscFunctionReturn(0);
}

/* One random ensemble of jacobian.ensemble (`where` names it in messages). */
static PetscErrorCode JobParseJacobianEnsemble(JobCtx *c, SpdJob job, yaml_node_t *node, const char where[])
{
  SpdJacobianSettings *j = &job->jacobian;
  SpdJacobianEnsemble *e;
  yaml_node_t         *v;
  char                 what[96];

  PetscFunctionBegin;
  if (j->nensembles >= SPD_JACOBIAN_MAX_ENSEMBLES) JobTry(c, JobFail(c, node, "'jacobian.ensemble' lists more than %d ensembles; split the job", SPD_JACOBIAN_MAX_ENSEMBLES));
  if (node->type != YAML_MAPPING_NODE) JobTry(c, JobFail(c, node, "'%s' must be a mapping {width: W, depth: L, std: S, gate_p: P, seeds: N, seed: N}, got %s", where, JobNodeKind(node)));
  JobTry(c, JobCheckMapping(c, node, where, JobJacEnsKeys));
  e         = &j->ensembles[j->nensembles];
  e->gate_p = 1.0;
  e->draws  = 1;
  if (!(v = JobFind(c, node, "width")) || !JobFind(c, node, "depth")) JobTry(c, JobFail(c, node, "'%s' needs 'width' (of every factor) and 'depth' (number of factors)", where));
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s.width", where));
  JobTry(c, JobGetInt(c, v, what, 1, &e->width));
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s.depth", where));
  JobTry(c, JobGetInt(c, JobFind(c, node, "depth"), what, 1, &e->depth));
  e->std = 1.0 / PetscSqrtReal((PetscReal)e->width);
  if ((v = JobFind(c, node, "std"))) {
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.std", where));
    JobTry(c, JobGetReal(c, v, what, &e->std));
    if (!(e->std > 0)) JobTry(c, JobFail(c, v, "'%s' is the standard deviation of the entries and must be > 0, got %g", what, (double)e->std));
  }
  if ((v = JobFind(c, node, "gate_p"))) {
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.gate_p", where));
    JobTry(c, JobGetReal(c, v, what, &e->gate_p));
    if (!(e->gate_p > 0 && e->gate_p <= 1)) JobTry(c, JobFail(c, v, "'%s' is the probability that a gate is on and must be in (0, 1] (1: no gates), got %g", what, (double)e->gate_p));
  }
  if ((v = JobFind(c, node, "seeds"))) {
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.seeds", where));
    JobTry(c, JobGetInt(c, v, what, 1, &e->draws));
  }
  if ((v = JobFind(c, node, "seed"))) {
    PetscInt sd;
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.seed", where));
    JobTry(c, JobGetInt(c, v, what, 0, &sd));
    e->seed = sd;
  }
  if ((v = JobFind(c, node, "name"))) {
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.name", where));
    JobTry(c, JobGetString(c, v, what, e->name, sizeof(e->name)));
    for (const char *ch = e->name; *ch; ch++)
      if (*ch == '/' || *ch == '|' || iscntrl((unsigned char)*ch)) JobTry(c, JobFail(c, v, "'%s' may not contain '/', '|' or control characters, got '%s'", what, e->name));
  } else {
    /* C's %g: PETSc's printf would write 1 as "1." */
    (void)snprintf(e->name, sizeof(e->name), "w%lld-L%lld-s%g-p%g", (long long)e->width, (long long)e->depth, (double)e->std, (double)e->gate_p);
    if (e->seed) {
      size_t len = strlen(e->name);
      PetscCall(PetscSNPrintf(e->name + len, sizeof(e->name) - len, "-seed%" PetscInt64_FMT, e->seed));
    }
  }
  for (PetscInt i = 0; i < j->nensembles; i++)
    if (!strcmp(j->ensembles[i].name, e->name)) JobTry(c, JobFail(c, node, "'%s' is named '%s' like an earlier ensemble; give each ensemble its own 'name'", where, e->name));
  for (PetscInt i = 0; i < j->ndepths; i++)
    if (j->depths[i] > e->depth) JobTry(c, JobFail(c, JobFind(c, node, "depth"), "'jacobian.depths' lists depth %" PetscInt_FMT " but '%s.depth' is %" PetscInt_FMT "; list depths 1..%" PetscInt_FMT, j->depths[i], where, e->depth, e->depth));
  j->nensembles++;
  PetscFunctionReturn(0);
}

PetscErrorCode JobParseJacobian(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdJacobianSettings *j = &job->jacobian;
  yaml_node_t         *v;

  PetscFunctionBegin;
  if (!node) PetscFunctionReturn(0);
  j->enabled  = PETSC_TRUE;
  j->inputs   = 8;
  j->k        = 8;
  j->lyapunov = PETSC_TRUE;
  j->spectra  = PETSC_TRUE;
  if (!JobIsNull(node)) JobTry(c, JobCheckMapping(c, node, "jacobian", JobJacobianKeys));
  if ((v = JobFind(c, node, "inputs"))) JobTry(c, JobGetInt(c, v, "jacobian.inputs", 1, &j->inputs));
  if ((v = JobFind(c, node, "k"))) JobTry(c, JobGetInt(c, v, "jacobian.k", 1, &j->k));
  if ((v = JobFind(c, node, "lyapunov"))) JobTry(c, JobGetBool(c, v, "jacobian.lyapunov", &j->lyapunov));
  if ((v = JobFind(c, node, "spectra"))) JobTry(c, JobGetBool(c, v, "jacobian.spectra", &j->spectra));
  if ((v = JobFind(c, node, "seed"))) {
    PetscInt sd;
    JobTry(c, JobGetInt(c, v, "jacobian.seed", 0, &sd));
    j->seed = sd;
  }
  /* auto (0) or G >= 1 rank groups sharing out a task's inputs; that G divides the task's
     ranks is checked when the task runs (the planner picks the rank count) */
  if ((v = JobFind(c, node, "input_groups")) && !(v->type == YAML_SCALAR_NODE && !strcmp(JobScalarText(v), "auto"))) {
    if (v->type != YAML_SCALAR_NODE || JobIsNull(v) || !isdigit((unsigned char)JobScalarText(v)[0])) {
      char got[80];
      JobDescribe(v, got, sizeof(got));
      JobTry(c, JobFail(c, v, "'jacobian.input_groups' must be auto or a number of rank groups >= 1 (a divisor of the task's ranks), got %s", got));
    }
    JobTry(c, JobGetInt(c, v, "jacobian.input_groups", 1, &j->input_groups));
  }
  if ((v = JobFind(c, node, "depths")) && !(v->type == YAML_SCALAR_NODE && !strcmp(JobScalarText(v), "all"))) {
    if (v->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, v, "'jacobian.depths' must be all or a list of depths (1 = after the first layer), got %s", JobNodeKind(v)));
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
      if (j->ndepths >= 64) JobTry(c, JobFail(c, v, "'jacobian.depths' lists more than 64 depths"));
      JobTry(c, JobGetInt(c, JobNode(c, *it), "jacobian.depths", 1, &j->depths[j->ndepths++]));
    }
  }
  if ((v = JobFind(c, node, "ensemble"))) {
    if (v->type == YAML_SEQUENCE_NODE) {
      PetscInt i = 0;
      if (v->data.sequence.items.top == v->data.sequence.items.start) JobTry(c, JobFail(c, v, "'jacobian.ensemble' is an empty list; give one mapping {width: W, depth: L, ...} per ensemble or remove the key"));
      for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++, i++) {
        char where[48];
        PetscCall(PetscSNPrintf(where, sizeof(where), "jacobian.ensemble[%" PetscInt_FMT "]", i));
        JobTry(c, JobParseJacobianEnsemble(c, job, JobNode(c, *it), where));
      }
    } else
      JobTry(c, JobParseJacobianEnsemble(c, job, v, "jacobian.ensemble"));
  }
  if (!j->lyapunov && !j->spectra) JobTry(c, JobFail(c, node, "'jacobian' asks for nothing: lyapunov and spectra are both false"));
  /* J(x) of the checkpoints' MLPs needs points x; with ensembles it is taken only when the
     job has data: (a job of ensembles alone needs neither checkpoints nor data) */
  j->model = (job->data.source != SPD_DATA_NONE || !j->nensembles) ? PETSC_TRUE : PETSC_FALSE;
  if (j->model && job->data.source == SPD_DATA_NONE) JobTry(c, JobFail(c, node, "'jacobian' needs a 'data:' section: its first 'inputs' samples are the points x at which J(x) is taken (or give 'jacobian.ensemble' for random products without a model)"));
  PetscFunctionReturn(0);
}
