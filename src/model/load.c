/* An MLP from a checkpoint: architecture from the job (layer names, activations), the
   Keras model_config, or the checkpoint's own tensors (2-D weights in natural name
   order whose shapes chain, each with the matching 1-D bias when there is one:
   PyTorch nn.Sequential "0.weight", "2.weight", ..., tinygrad "l1.weight", ...).

   Each rank reads only its own block of every tensor (rows, or columns of a 1-D bias)
   and the blocks are exchanged with MPI_Allgatherv: the model is replicated on the ranks
   of the analysis (data parallelism), the file is read once in total. */
#include <specdyn/model.h>
#include <specdyn/reader.h>
#include <cjson/cJSON.h>

const char *const SpdParameterizations[] = { "standard", "ntk", "mup", "custom", NULL };

/* The whole tensor `t` (stored 2-D view, row-major) on every rank of comm. */
static PetscErrorCode SpdReadReplicated(SpdReader r, PetscInt t, MPI_Comm comm, PetscReal out[])
{
  const SpdTensorInfo *ti;
  PetscInt64           R, C, len, lo, nloc;
  PetscMPIInt          size, rank, *counts, *displs;
  PetscReal           *mine;
  PetscBool            byrows;

  PetscFunctionBegin;
  PetscCall(SpdReaderGetTensor(r, t, &ti));
  SpdTensorMatrixShape(ti, &R, &C);
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  byrows = R > 1 ? PETSC_TRUE : PETSC_FALSE;
  len    = byrows ? R : C;
  PetscCall(PetscMalloc2(size, &counts, size, &displs));
  for (PetscMPIInt p = 0; p < size; p++) {
    PetscInt64 a = len * p / size, b = len * (p + 1) / size;
    PetscCheck((b - a) * (byrows ? C : R) < PETSC_MPI_INT_MAX, comm, PETSC_ERR_SUP, "Tensor %s is too large to replicate with %d ranks", ti->name, (int)size);
    counts[p] = (PetscMPIInt)((b - a) * (byrows ? C : R));
    displs[p] = (PetscMPIInt)(a * (byrows ? C : R));
  }
  lo   = len * rank / size;
  nloc = len * (rank + 1) / size - lo;
  PetscCall(PetscMalloc1(nloc * (byrows ? C : R) + 1, &mine));
  if (byrows)
    PetscCall(SpdReaderReadBlock(r, t, comm, lo, nloc, 0, C, mine));
  else
    PetscCall(SpdReaderReadBlock(r, t, comm, 0, R, lo, nloc, mine)); /* R == 1 */
  PetscCallMPI(MPI_Allgatherv(mine, counts[rank], MPIU_REAL, out, counts, displs, MPIU_REAL, comm));
  PetscCall(PetscFree(mine));
  PetscCall(PetscFree2(counts, displs));
  PetscFunctionReturn(0);
}

static int SpdNaturalTensor_Cmp(const void *x, const void *y) { return SpdNaturalCompare(*(const char *const *)x, *(const char *const *)y); }

static PetscErrorCode SpdActivationFromKeras(const char s[], PetscBool last, SpdActivation *a, PetscBool *ok)
{
  PetscFunctionBegin;
  *ok = PETSC_TRUE;
  if (!strcmp(s, "relu"))
    *a = SPD_ACT_RELU;
  else if (!strcmp(s, "tanh"))
    *a = SPD_ACT_TANH;
  else if (!strcmp(s, "gelu"))
    *a = SPD_ACT_GELU;
  else if (!strcmp(s, "leaky_relu"))
    *a = SPD_ACT_LEAKY_RELU;
  else if (!strcmp(s, "linear"))
    *a = SPD_ACT_IDENTITY;
  else if (last && !strcmp(s, "softmax"))
    *a = SPD_ACT_IDENTITY; /* softmax + cross-entropy on the logits */
  else
    *ok = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Layers from a Keras model_config (Sequential of Dense layers). */
static PetscErrorCode SpdLayersFromKeras(SpdReader r, const char cfg[], SpdMLPSpec *s, PetscBool *found)
{
  cJSON      *root = cJSON_Parse(cfg), *layers, *l;
  const char *path;
  PetscInt    n = 0;

  PetscFunctionBegin;
  *found = PETSC_FALSE;
  PetscCall(SpdReaderGetPath(r, &path));
  layers = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "config"), "layers");
  if (!cJSON_IsArray(layers)) {
    cJSON_Delete(root);
    PetscFunctionReturn(0);
  }
  cJSON_ArrayForEach(l, layers)
  {
    cJSON      *cls = cJSON_GetObjectItemCaseSensitive(l, "class_name"), *c = cJSON_GetObjectItemCaseSensitive(l, "config");
    cJSON      *name = cJSON_GetObjectItemCaseSensitive(c, "name"), *act = cJSON_GetObjectItemCaseSensitive(c, "activation"), *ub = cJSON_GetObjectItemCaseSensitive(c, "use_bias");
    const char *cn = cJSON_IsString(cls) ? cls->valuestring : "";
    if (!strcmp(cn, "InputLayer") || !strcmp(cn, "Flatten") || !strcmp(cn, "Dropout")) continue;
    if (strcmp(cn, "Dense")) {
      char cls_name[64];
      PetscCall(PetscStrncpy(cls_name, cn, sizeof(cls_name))); /* cn lives in root */
      cJSON_Delete(root);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: the Keras model has a '%s' layer; specdyn's model family is dense layers (MLPs) only", path, cls_name);
    }
    if (n >= SPD_MLP_MAX_LAYERS || !cJSON_IsString(name)) {
      cJSON_Delete(root);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: cannot read the Dense layers of model_config (a layer without a name, or more than %d layers)", path, SPD_MLP_MAX_LAYERS);
    }
    PetscCall(PetscSNPrintf(s->weight[n], sizeof(s->weight[n]), "%s/kernel", name->valuestring));
    if (!cJSON_IsFalse(ub))
      PetscCall(PetscSNPrintf(s->bias[n], sizeof(s->bias[n]), "%s/bias", name->valuestring));
    else
      s->bias[n][0] = 0;
    if (!s->act_given && cJSON_IsString(act)) {
      PetscBool ok;
      s->keras_act[n][0] = 0;
      PetscCall(PetscStrncpy(s->keras_act[n], act->valuestring, sizeof(s->keras_act[n])));
      (void)ok;
    }
    n++;
  }
  cJSON_Delete(root);
  if (n) {
    s->nlayers = n;
    *found     = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

/* Layers from the tensors: 2-D float tensors named ...weight / ...kernel, natural order. */
static PetscErrorCode SpdLayersFromTensors(SpdReader r, SpdMLPSpec *s)
{
  PetscInt     nt, n = 0;
  const char **names;
  const char  *path;

  PetscFunctionBegin;
  PetscCall(SpdReaderGetPath(r, &path));
  PetscCall(SpdReaderGetNumTensors(r, &nt));
  PetscCall(PetscMalloc1(nt + 1, &names));
  for (PetscInt i = 0; i < nt; i++) {
    const SpdTensorInfo *ti;
    size_t               len;
    PetscCall(SpdReaderGetTensor(r, i, &ti));
    len = strlen(ti->name);
    if (ti->ndim != 2 || !SpdDTypeIsFloat(ti->dtype)) continue;
    if ((len >= 6 && !strcmp(ti->name + len - 6, "weight")) || (len >= 6 && !strcmp(ti->name + len - 6, "kernel"))) names[n++] = ti->name;
  }
  if (n == 0 || n > SPD_MLP_MAX_LAYERS) PetscCall(PetscFree(names));
  PetscCheck(n > 0 && n <= SPD_MLP_MAX_LAYERS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: found %" PetscInt_FMT " 2-D tensors named ...weight or ...kernel; name the layers in the job (model.layers: [{weight: NAME, bias: NAME}, ...])", path, n);
  qsort(names, (size_t)n, sizeof(char *), SpdNaturalTensor_Cmp);
  for (PetscInt l = 0; l < n; l++) {
    size_t   len = strlen(names[l]);
    PetscInt b;
    PetscCall(PetscStrncpy(s->weight[l], names[l], sizeof(s->weight[l])));
    PetscCall(PetscStrncpy(s->bias[l], names[l], sizeof(s->bias[l])));
    PetscCall(PetscStrcpy(s->bias[l] + len - 6, "bias"));
    PetscCall(SpdReaderFindTensor(r, s->bias[l], &b));
    if (b < 0) s->bias[l][0] = 0;
  }
  s->nlayers = n;
  PetscCall(PetscFree(names));
  PetscFunctionReturn(0);
}

/*@C
  SpdMLPResolve - the architecture of the MLP in a checkpoint, from metadata only

  Not collective (every rank holding the reader gets the same answer)

  Input Parameters:
+ r    - the opened checkpoint
- spec - the job's model section

  Output Parameters:
+ out   - spec with the layer names filled in (from the Keras model_config or the tensors)
. L     - number of layers
- width - width[0..L]

  Notes:
  Errors name the checkpoint and the tensor: a missing layer tensor, a weight that is not
  2-D, layers that do not chain, a bias of the wrong shape, an activation outside the
  family.
@*/
PetscErrorCode SpdMLPResolve(SpdReader r, const SpdMLPSpec *spec, SpdMLPSpec *out, PetscInt *Lout, PetscInt width[])
{
  SpdMLPSpec  s = *spec;
  const char *path, *cfg = NULL;
  PetscInt    L, tw, tb;
  MPI_Comm    comm = PETSC_COMM_SELF;

  PetscFunctionBegin;
  PetscCall(SpdReaderGetPath(r, &path));
  if (s.nlayers == 0) {
    PetscBool found = PETSC_FALSE;
    PetscCall(SpdReaderGetModelConfig(r, &cfg));
    if (cfg) PetscCall(SpdLayersFromKeras(r, cfg, &s, &found));
    if (!found) PetscCall(SpdLayersFromTensors(r, &s));
  }
  L = s.nlayers;
  for (PetscInt l = 0; l < L; l++) {
    const SpdTensorInfo *ti;
    PetscInt64           R, C, o, in;

    PetscCall(SpdReaderFindTensor(r, s.weight[l], &tw));
    PetscCheck(tw >= 0, comm, PETSC_ERR_USER_INPUT, "%s has no tensor '%s' (layer %" PetscInt_FMT " weight); `specdyn inspect %s` lists the names, model.layers maps them", path, s.weight[l], l, path);
    PetscCall(SpdReaderGetTensor(r, tw, &ti));
    PetscCheck(ti->ndim == 2 && SpdDTypeIsFloat(ti->dtype), comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " weight '%s' must be a 2-D floating-point tensor (a dense layer), got %d-D %s", path, l, s.weight[l], ti->ndim, SpdDTypes[ti->dtype]);
    SpdTensorMatrixShape(ti, &R, &C);
    o  = ti->in_out ? C : R;
    in = ti->in_out ? R : C;
    if (l == 0) width[0] = (PetscInt)in;
    PetscCheck(in == width[l], comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " weight '%s' takes %" PetscInt64_FMT " inputs but the previous layer ('%s') has %" PetscInt_FMT " outputs; the architecture does not chain (check model.layers)", path, l, s.weight[l], in, l ? s.weight[l - 1] : "input", width[l]);
    width[l + 1] = (PetscInt)o;
    if (s.bias[l][0]) {
      PetscCall(SpdReaderFindTensor(r, s.bias[l], &tb));
      PetscCheck(tb >= 0, comm, PETSC_ERR_USER_INPUT, "%s has no tensor '%s' (layer %" PetscInt_FMT " bias); set its bias to null in model.layers if the layer has none", path, s.bias[l], l);
      PetscCall(SpdReaderGetTensor(r, tb, &ti));
      PetscCheck(ti->ndim == 1 && ti->shape[0] == o, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " bias '%s' must be 1-D of length %" PetscInt64_FMT " (the layer's outputs), got %d-D of %" PetscInt64_FMT, path, l, s.bias[l], o, ti->ndim, ti->shape[0]);
    }
  }
  for (PetscInt l = 0; l + 1 < L; l++) {
    if (s.act_given)
      s.act[l] = s.nact == 1 ? spec->act[0] : spec->act[l];
    else if (s.keras_act[l][0]) {
      PetscBool ok;
      PetscCall(SpdActivationFromKeras(s.keras_act[l], PETSC_FALSE, &s.act[l], &ok));
      PetscCheck(ok, comm, PETSC_ERR_SUP, "%s: Keras activation '%s' of layer %" PetscInt_FMT " is not in specdyn's family (relu, leaky_relu, tanh, gelu, linear); set model.activation to override", path, s.keras_act[l], l);
    } else
      s.act[l] = SPD_ACT_RELU;
  }
  if (!s.act_given && L > 0 && s.keras_act[L - 1][0]) {
    SpdActivation last;
    PetscBool     ok;
    PetscCall(SpdActivationFromKeras(s.keras_act[L - 1], PETSC_TRUE, &last, &ok));
    PetscCheck(ok && last == SPD_ACT_IDENTITY, comm, PETSC_ERR_SUP, "%s: the output layer's activation is '%s'; specdyn's output is linear (softmax belongs to the cross-entropy loss)", path, s.keras_act[L - 1]);
  }
  PetscCheck(!s.act_given || s.nact == 1 || s.nact == L - 1, comm, PETSC_ERR_USER_INPUT, "%s: model.activation lists %" PetscInt_FMT " activations for %" PetscInt_FMT " hidden layers; give one for all or one per hidden layer", path, s.nact, L - 1);
  PetscCheck(s.param != SPD_PARAM_CUSTOM || spec->wmult[L - 1] != 0, comm, PETSC_ERR_USER_INPUT, "%s: model.parameterization.weights must give one multiplier per layer (%" PetscInt_FMT ")", path, L);
  *out  = s;
  *Lout = L;
  PetscFunctionReturn(0);
}

/*@C
  SpdParameterizationMultipliers - the layer multipliers of a parameterization

  Not Collective

  Input Parameters:
+ param        - standard (a = c = 1), ntk (a_l = 1/sqrt(fan_in)), mup (a_1 = 1, hidden
                 a_l = 1/sqrt(fan_in), output a_L = 1/fan_in), or custom
. L            - number of layers
. width        - widths[0..L]
- wmult, bmult - the custom multipliers (read only for custom)

  Output Parameters:
+ a - weight multipliers a[0..L)
- c - bias multipliers c[0..L)
@*/
PetscErrorCode SpdParameterizationMultipliers(SpdParameterization param, PetscInt L, const PetscInt width[], const PetscReal wmult[], const PetscReal bmult[], PetscReal a[], PetscReal c[])
{
  PetscFunctionBegin;
  for (PetscInt l = 0; l < L; l++) {
    PetscReal fan = (PetscReal)width[l];
    switch (param) {
    case SPD_PARAM_STANDARD:
      a[l] = 1, c[l] = 1;
      break;
    case SPD_PARAM_NTK:
      a[l] = 1 / PetscSqrtReal(fan), c[l] = 1;
      break;
    case SPD_PARAM_MUP:
      a[l] = l == 0 ? 1 : (l == L - 1 ? 1 / fan : 1 / PetscSqrtReal(fan)), c[l] = 1;
      break;
    case SPD_PARAM_CUSTOM:
      a[l] = wmult[l], c[l] = bmult[l];
      break;
    }
  }
  PetscFunctionReturn(0);
}

/*@C
  SpdMLPCreateFromCheckpoint - the MLP stored in a checkpoint

  Collective on comm (a sub-communicator of the reader's)

  Input Parameters:
+ r    - the opened checkpoint
. comm - the ranks that will hold the (replicated) model
- spec - architecture as the job gives it (SpdMLPResolve() fills in the rest)

  Output Parameter:
. mlp - the model with theta read from the checkpoint
@*/
PetscErrorCode SpdMLPCreateFromCheckpoint(SpdReader r, MPI_Comm comm, const SpdMLPSpec *spec, SpdMLP *mlp)
{
  SpdMLPSpec s;
  PetscInt   L, width[SPD_MLP_MAX_LAYERS + 1], tw, tb;
  PetscBool  bias[SPD_MLP_MAX_LAYERS];
  PetscReal  a[SPD_MLP_MAX_LAYERS], c[SPD_MLP_MAX_LAYERS], *theta, *buf;
  SpdMLP     m;

  PetscFunctionBegin;
  PetscCall(SpdMLPResolve(r, spec, &s, &L, width));
  for (PetscInt l = 0; l < L; l++) bias[l] = s.bias[l][0] ? PETSC_TRUE : PETSC_FALSE;
  PetscCall(SpdParameterizationMultipliers(s.param, L, width, s.wmult, s.bmult, a, c));
  PetscCall(SpdMLPCreate(comm, L, width, s.act, bias, s.loss, &m));
  PetscCall(SpdMLPSetMultipliers(m, a, c));
  PetscCall(SpdMLPSetLeakySlope(m, s.leaky_slope > 0 ? s.leaky_slope : 0.01));
  PetscCall(SpdMLPGetParameters(m, &theta));
  for (PetscInt l = 0; l < L; l++) {
    const SpdTensorInfo *ti;
    PetscInt             woff, wsize, boff, bsize, in = width[l], out = width[l + 1];

    PetscCall(SpdMLPGetLayerBlock(m, l, &woff, &wsize, &boff, &bsize));
    PetscCall(SpdReaderFindTensor(r, s.weight[l], &tw));
    PetscCall(SpdReaderGetTensor(r, tw, &ti));
    if (ti->in_out) { /* stored [in, out]: theta holds [out, in] */
      PetscCall(PetscMalloc1(wsize, &buf));
      PetscCall(SpdReadReplicated(r, tw, comm, buf));
      for (PetscInt i = 0; i < in; i++)
        for (PetscInt o = 0; o < out; o++) theta[woff + o * in + i] = buf[i * out + o];
      PetscCall(PetscFree(buf));
    } else
      PetscCall(SpdReadReplicated(r, tw, comm, theta + woff));
    if (bias[l]) {
      PetscCall(SpdReaderFindTensor(r, s.bias[l], &tb));
      PetscCall(SpdReadReplicated(r, tb, comm, theta + boff));
    }
  }
  *mlp = m;
  PetscFunctionReturn(0);
}
