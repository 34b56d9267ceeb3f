/* The `compare:` section of a job (docs/jobs.md): which comparisons of top-k singular
   vectors and which differences W_a - W_b a study makes. */
#include "jobparse.h"

static const char *const JobCompareKeys[] = { "k", "checkpoints", "runs", "layers", "differences", NULL };
static const char *const JobPairKeys[]    = { "a", "b", "spaces", NULL };

const char *const SpdSpacesNames[] = { "out-in", "out-out", "in-in", NULL };

/* A scalar text that must be one of words[]; *idx its position. */
PetscErrorCode JobGetWord(JobCtx *c, yaml_node_t *node, const char what[], const char *const words[], PetscInt *idx)
{
  char got[80], list[256] = "";

  PetscFunctionBegin;
  JobDescribe(node, got, sizeof(got));
  if (node->type == YAML_SCALAR_NODE && !JobIsNull(node))
    for (PetscInt i = 0; words[i]; i++)
      if (!strcmp(JobScalarText(node), words[i])) {
        *idx = i;
        PetscFunctionReturn(0);
      }
  for (PetscInt i = 0; words[i]; i++) {
    PetscCall(PetscStrlcat(list, i ? ", " : "", sizeof(list)));
    PetscCall(PetscStrlcat(list, words[i], sizeof(list)));
  }
  JobTry(c, JobFail(c, node, "'%s' must be one of %s; got %s", what, list, got));
  PetscFunctionReturn(0);
}

/* A list of words from words[] (a single word or [] accepted); on[i] set for each one given. */
PetscErrorCode JobGetWordSet(JobCtx *c, yaml_node_t *node, const char what[], const char *const words[], PetscBool on[])
{
  PetscInt idx;

  PetscFunctionBegin;
  for (PetscInt i = 0; words[i]; i++) on[i] = PETSC_FALSE;
  if (JobIsNull(node)) PetscFunctionReturn(0);
  if (node->type == YAML_SCALAR_NODE) {
    JobTry(c, JobGetWord(c, node, what, words, &idx));
    on[idx] = PETSC_TRUE;
    PetscFunctionReturn(0);
  }
  if (node->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, node, "'%s' must be a list such as [%s, %s], got %s", what, words[0], words[1], JobNodeKind(node)));
  for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
    JobTry(c, JobGetWord(c, JobNode(c, *it), what, words, &idx));
    on[idx] = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

/* compare.layers: auto, none, or a list of pairs [a, b] / {a:, b:, spaces:}. */
static PetscErrorCode JobParseLayerPairs(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdCompareSettings *cs = &job->compare;
  PetscInt            n;

  PetscFunctionBegin;
  cs->layers_auto = PETSC_FALSE;
  if (JobIsNull(node)) PetscFunctionReturn(0);
  if (node->type == YAML_SCALAR_NODE) {
    const char *const words[] = { "auto", "none", NULL };
    PetscInt          w;
    JobTry(c, JobGetWord(c, node, "compare.layers", words, &w));
    cs->layers_auto = w == 0 ? PETSC_TRUE : PETSC_FALSE;
    PetscFunctionReturn(0);
  }
  if (node->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, node, "'compare.layers' must be auto, none or a list of layer pairs ([a, b] or {a: .., b: .., spaces: ..}), got %s", JobNodeKind(node)));
  n = (PetscInt)(node->data.sequence.items.top - node->data.sequence.items.start);
  PetscCall(PetscCalloc1(PetscMax(n, 1), &cs->pairs));
  for (PetscInt i = 0; i < n; i++) {
    yaml_node_t     *item = JobNode(c, node->data.sequence.items.start[i]), *v;
    SpdJobLayerPair *p;
    char             where[64], what[96];

    PetscCall(PetscSNPrintf(where, sizeof(where), "compare.layers[%" PetscInt_FMT "]", i));
    if (item->type == YAML_SCALAR_NODE && !strcmp(JobScalarText(item), "auto")) { /* auto plus named pairs */
      cs->layers_auto = PETSC_TRUE;
      continue;
    }
    p          = &cs->pairs[cs->npairs];
    cs->npairs = cs->npairs + 1;
    if (item->type == YAML_SEQUENCE_NODE) {
      if (item->data.sequence.items.top - item->data.sequence.items.start != 2) JobTry(c, JobFail(c, item, "'%s' must name two layers [a, b], got %d entries", where, (int)(item->data.sequence.items.top - item->data.sequence.items.start)));
      JobTry(c, JobGetString(c, JobNode(c, item->data.sequence.items.start[0]), where, p->a, sizeof(p->a)));
      JobTry(c, JobGetString(c, JobNode(c, item->data.sequence.items.start[1]), where, p->b, sizeof(p->b)));
      p->spaces = SPD_SPACES_OUT_IN;
    } else if (item->type == YAML_MAPPING_NODE) {
      PetscInt sp = SPD_SPACES_OUT_IN;
      JobTry(c, JobCheckMapping(c, item, where, JobPairKeys));
      if (!(v = JobFind(c, item, "a")) || !JobFind(c, item, "b")) JobTry(c, JobFail(c, item, "'%s' needs both 'a' and 'b' (analysed names; '*' matches any text)", where));
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s.a", where));
      JobTry(c, JobGetString(c, v, what, p->a, sizeof(p->a)));
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s.b", where));
      JobTry(c, JobGetString(c, JobFind(c, item, "b"), what, p->b, sizeof(p->b)));
      if ((v = JobFind(c, item, "spaces"))) {
        PetscCall(PetscSNPrintf(what, sizeof(what), "%s.spaces", where));
        JobTry(c, JobGetWord(c, v, what, SpdSpacesNames, &sp));
      }
      p->spaces = (SpdSpaces)sp;
    } else
      JobTry(c, JobFail(c, item, "'%s' must be [a, b], a mapping with a, b, spaces, or auto; got %s", where, JobNodeKind(item)));
    {
      PetscInt na = 0, nb = 0;
      for (const char *ch = p->a; *ch; ch++) na += *ch == '*';
      for (const char *ch = p->b; *ch; ch++) nb += *ch == '*';
      if (na != nb) JobTry(c, JobFail(c, item, "'%s': a ('%s') and b ('%s') must have the same number of '*' (each '*' of b takes the text matched by the same '*' of a)", where, p->a, p->b));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode JobParseCompare(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdCompareSettings *cs = &job->compare;
  yaml_node_t        *v;

  PetscFunctionBegin;
  if (!node) PetscFunctionReturn(0);
  if (!JobIsNull(node)) JobTry(c, JobCheckMapping(c, node, "compare", JobCompareKeys));
  cs->enabled     = PETSC_TRUE;
  cs->k           = job->weights.top;
  cs->final       = PETSC_TRUE;
  cs->previous    = PETSC_TRUE;
  cs->runs        = PETSC_TRUE;
  cs->layers_auto = PETSC_TRUE;
  if ((v = JobFind(c, node, "k"))) JobTry(c, JobGetInt(c, v, "compare.k", 1, &cs->k));
  if ((v = JobFind(c, node, "checkpoints"))) {
    const char *const words[] = { "final", "previous", NULL };
    PetscBool         on[2];
    JobTry(c, JobGetWordSet(c, v, "compare.checkpoints", words, on));
    cs->final    = on[0];
    cs->previous = on[1];
  }
  if ((v = JobFind(c, node, "runs"))) JobTry(c, JobGetBool(c, v, "compare.runs", &cs->runs));
  if ((v = JobFind(c, node, "layers"))) JobTry(c, JobParseLayerPairs(c, job, v));
  if ((v = JobFind(c, node, "differences"))) {
    const char *const words[] = { "runs", "previous", "initial", NULL };
    PetscBool         on[3];
    JobTry(c, JobGetWordSet(c, v, "compare.differences", words, on));
    cs->diff_runs     = on[0];
    cs->diff_previous = on[1];
    cs->diff_initial  = on[2];
  }
  if (!job->weights.top) JobTry(c, JobFail(c, node, "'compare' compares top-k singular vectors, but 'weights.top' is 0; set weights.top >= compare.k"));
  if (cs->k > job->weights.top) JobTry(c, JobFail(c, JobFind(c, node, "k"), "'compare.k' is %" PetscInt_FMT " but only weights.top = %" PetscInt_FMT " singular vectors are computed; raise weights.top or lower compare.k", cs->k, job->weights.top));
  job->weights.vectors = PETSC_TRUE; /* comparisons read the stored vectors */
  PetscFunctionReturn(0);
}
