/* Job files: YAML parsing and validation.

   The job file is read once on rank 0, broadcast verbatim, and parsed on every rank with
   libyaml's document API (yaml_parser_load), so that every rank holds the same SpdJob
   and every validation error is raised identically everywhere (a collective SETERRQ).

   Validation is strict: an unknown key at any level is an error naming the key, its line
   and the closest valid key (Levenshtein distance, SpdEditDistance), because a misspelled
   `botom:` silently falling back to a default would waste a cluster allocation.

   Internally, user-input errors do not SETERRQ where they are found: they are recorded
   in a JobCtx (first error wins) and the parse unwinds, so that the libyaml document
   and the partial job are freed before the single collective SETERRQ. PETSc errors
   (out of memory) still propagate through PetscCall. */
#define _POSIX_C_SOURCE 200809L /* realpath, strtok_r */
#include "jobparse.h"
#include <glob.h>
#include <fnmatch.h>
#include <errno.h>
#include <ctype.h>
#include <math.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>

#define SPD_JOB_MAX_BYTES (16 * 1024 * 1024) /* a job file is a few KiB; refuse anything absurd */

PetscErrorCode JobFail(JobCtx *c, const yaml_node_t *node, const char fmt[], ...)
{
  va_list ap;
  size_t  len, flen;

  PetscFunctionBegin;
  if (c->failed) PetscFunctionReturn(0);
  c->failed = PETSC_TRUE;
  if (node)
    PetscCall(PetscSNPrintf(c->msg, sizeof(c->msg), "%s:%d: ", c->origin, (int)node->start_mark.line + 1));
  else
    PetscCall(PetscSNPrintf(c->msg, sizeof(c->msg), "%s: ", c->origin));
  PetscCall(PetscStrlen(c->msg, &len));
  va_start(ap, fmt);
  PetscCall(PetscVSNPrintf(c->msg + len, sizeof(c->msg) - len, fmt, &flen, ap));
  va_end(ap);
  PetscFunctionReturn(0);
}

/* A plain scalar spelled as YAML's null (an absent value: "key:" alone). */
PetscBool JobIsNull(const yaml_node_t *node)
{
  const char *s;
  if (!node) return PETSC_TRUE;
  if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return PETSC_FALSE;
  s = JobScalarText(node);
  return (!s[0] || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")) ? PETSC_TRUE : PETSC_FALSE;
}

const char *JobNodeKind(const yaml_node_t *node)
{
  if (JobIsNull(node)) return "nothing";
  switch (node->type) {
  case YAML_SEQUENCE_NODE:
    return "a list";
  case YAML_MAPPING_NODE:
    return "a mapping";
  default:
    return "a single value";
  }
}

/* The value shown in "got ..." parts of messages. */
void JobDescribe(const yaml_node_t *node, char buf[], size_t len)
{
  if (node && node->type == YAML_SCALAR_NODE && !JobIsNull(node)) {
    const char *s = JobScalarText(node);
    if (strlen(s) > 60)
      (void)PetscSNPrintf(buf, len, "'%.57s...'", s);
    else
      (void)PetscSNPrintf(buf, len, "'%s'", s);
  } else
    (void)PetscSNPrintf(buf, len, "%s", JobNodeKind(node));
}

/* ---- keys ------------------------------------------------------------------ */

static const char *const JobTopKeys[]        = { "name", "output", "checkpoints", "runs", "tensors", "weights", "compare", "model", "data", "curvature", "jacobian", "train", "sweep", "training_jacobian", "ensemble", "solver", "resources", NULL };
static const char *const JobCheckpointKeys[] = { "path", "label", NULL };
static const char *const JobRunKeys[]        = { "name", "checkpoints", NULL };
static const char *const JobRunEntryKeys[]   = { "path", "step", NULL };
static const char *const JobTensorsKeys[]    = { "include", "exclude", "split", NULL };
static const char *const JobSplitKeys[]      = { "match", "parts", "axis", "heads", "transpose", NULL };
static const char *const JobWeightsKeys[]    = { "full", "full_max", "top", "bottom", "vectors", "rank_tol", "tail_min", NULL };
static const char *const JobResourcesKeys[]  = { "memory_per_rank", "ranks_per_task", NULL };

/* Levenshtein distance, except that one swap of adjacent letters ("tpo") counts 1. */
static PetscErrorCode JobKeyDistance(const char a[], const char b[], PetscInt *d)
{
  size_t la = strlen(a), i = 0;

  PetscFunctionBegin;
  PetscCall(SpdEditDistance(a, b, d));
  if (la != strlen(b) || la < 2) PetscFunctionReturn(0);
  while (i < la && a[i] == b[i]) i++;
  if (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && !strcmp(a + i + 2, b + i + 2)) *d = 1;
  PetscFunctionReturn(0);
}

/* Check that `node` is a mapping (a null value counts as an empty one) whose keys are
   distinct single values from `keys`; `where` names the section ("" for the top level). */
PetscErrorCode JobCheckMapping(JobCtx *c, yaml_node_t *node, const char where[], const char *const keys[])
{
  yaml_node_pair_t *p, *q;

  PetscFunctionBegin;
  if (JobIsNull(node)) PetscFunctionReturn(0);
  if (node->type != YAML_MAPPING_NODE) {
    if (where[0])
      JobTry(c, JobFail(c, node, "'%s' must be a mapping of 'key: value' lines, got %s", where, JobNodeKind(node)));
    else
      JobTry(c, JobFail(c, node, "the job file must be a mapping of 'key: value' lines at the top level, got %s; see `specdyn run --help` for the keys", JobNodeKind(node)));
  }
  for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
    yaml_node_t *key = JobNode(c, p->key);
    const char  *k, *best = NULL;
    PetscInt     bestd = PETSC_MAX_INT;
    PetscBool    known = PETSC_FALSE;
    char         in[300];

    if (where[0])
      PetscCall(PetscSNPrintf(in, sizeof(in), " in '%s'", where));
    else
      PetscCall(PetscSNPrintf(in, sizeof(in), " at the top level"));
    if (key->type != YAML_SCALAR_NODE) JobTry(c, JobFail(c, key, "a key%s is %s; keys must be plain names", in, JobNodeKind(key)));
    k = JobScalarText(key);
    for (q = node->data.mapping.pairs.start; q < p; q++) {
      yaml_node_t *prev = JobNode(c, q->key);
      if (prev->type == YAML_SCALAR_NODE && !strcmp(JobScalarText(prev), k)) JobTry(c, JobFail(c, key, "key '%s' appears twice%s (lines %d and %d); keep one", k, in, (int)prev->start_mark.line + 1, (int)key->start_mark.line + 1));
    }
    for (PetscInt i = 0; keys[i]; i++) {
      PetscInt d;
      if (!strcmp(keys[i], k)) {
        known = PETSC_TRUE;
        break;
      }
      PetscCall(JobKeyDistance(k, keys[i], &d));
      if (d < bestd) {
        bestd = d;
        best  = keys[i];
      }
    }
    if (!known) {
      size_t lk = strlen(k), lb = best ? strlen(best) : 0;
      /* suggest only a plausible typo: at most a third of the longer word differs */
      if (best && bestd <= PetscMax(1, (PetscInt)PetscMax(lk, lb) / 3))
        JobTry(c, JobFail(c, key, "unknown key '%s'%s; did you mean '%s'?", k, in, best));
      else {
        char   list[400] = "";
        size_t len;
        for (PetscInt i = 0; keys[i]; i++) {
          PetscCall(PetscStrlen(list, &len));
          PetscCall(PetscSNPrintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", keys[i]));
        }
        JobTry(c, JobFail(c, key, "unknown key '%s'%s; valid keys are: %s", k, in, list));
      }
    }
  }
  PetscFunctionReturn(0);
}

/* The value of `key` in a (checked) mapping, or NULL. */
yaml_node_t *JobFind(JobCtx *c, yaml_node_t *map, const char key[])
{
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = JobNode(c, p->key);
    if (k->type == YAML_SCALAR_NODE && !strcmp(JobScalarText(k), key)) return JobNode(c, p->value);
  }
  return NULL;
}

/* ---- typed values ------------------------------------------------------------ */

PetscErrorCode JobGetString(JobCtx *c, yaml_node_t *node, const char what[], char buf[], size_t len)
{
  char got[80];

  PetscFunctionBegin;
  JobDescribe(node, got, sizeof(got));
  if (node->type != YAML_SCALAR_NODE || JobIsNull(node)) JobTry(c, JobFail(c, node, "'%s' must be a text value, got %s", what, got));
  if (strlen(JobScalarText(node)) >= len) JobTry(c, JobFail(c, node, "'%s' is too long (%zu characters; at most %zu)", what, strlen(JobScalarText(node)), len - 1));
  if (!JobScalarText(node)[0]) JobTry(c, JobFail(c, node, "'%s' is empty", what));
  PetscCall(PetscStrncpy(buf, JobScalarText(node), len));
  PetscFunctionReturn(0);
}

PetscErrorCode JobGetInt(JobCtx *c, yaml_node_t *node, const char what[], PetscInt min, PetscInt *val)
{
  char        got[80];
  const char *s;
  char       *end;
  long long   v;

  PetscFunctionBegin;
  JobDescribe(node, got, sizeof(got));
  if (node->type != YAML_SCALAR_NODE || JobIsNull(node)) JobTry(c, JobFail(c, node, "'%s' must be an integer >= %" PetscInt_FMT ", got %s", what, min, got));
  s     = JobScalarText(node);
  errno = 0;
  v     = strtoll(s, &end, 10);
  if (end == s || *end || errno == ERANGE || v > PETSC_MAX_INT) JobTry(c, JobFail(c, node, "'%s' must be an integer >= %" PetscInt_FMT ", got %s", what, min, got));
  if (v < min) JobTry(c, JobFail(c, node, "'%s' must be >= %" PetscInt_FMT ", got %lld", what, min, v));
  *val = (PetscInt)v;
  PetscFunctionReturn(0);
}

PetscErrorCode JobGetReal(JobCtx *c, yaml_node_t *node, const char what[], PetscReal *val)
{
  char        got[80];
  const char *s;
  char       *end;
  double      v;

  PetscFunctionBegin;
  JobDescribe(node, got, sizeof(got));
  if (node->type != YAML_SCALAR_NODE || JobIsNull(node)) JobTry(c, JobFail(c, node, "'%s' must be a number, got %s", what, got));
  s = JobScalarText(node);
  v = strtod(s, &end);
  if (end == s || *end || !isfinite(v)) JobTry(c, JobFail(c, node, "'%s' must be a finite number, got %s", what, got));
  *val = (PetscReal)v;
  PetscFunctionReturn(0);
}

/* YAML 1.1 booleans; *isbool = FALSE (no error) when the text is something else. */
static PetscErrorCode JobParseBool(const char s[], PetscBool *isbool, PetscBool *val)
{
  static const char *const yes[] = { "true", "yes", "on", NULL }, *const no[] = { "false", "no", "off", NULL };
  PetscBool eq;

  PetscFunctionBegin;
  *isbool = PETSC_FALSE;
  for (PetscInt i = 0; yes[i]; i++) {
    PetscCall(PetscStrcasecmp(s, yes[i], &eq));
    if (eq) {
      *isbool = PETSC_TRUE;
      *val    = PETSC_TRUE;
    }
    PetscCall(PetscStrcasecmp(s, no[i], &eq));
    if (eq) {
      *isbool = PETSC_TRUE;
      *val    = PETSC_FALSE;
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode JobGetBool(JobCtx *c, yaml_node_t *node, const char what[], PetscBool *val)
{
  char      got[80];
  PetscBool isbool = PETSC_FALSE;

  PetscFunctionBegin;
  JobDescribe(node, got, sizeof(got));
  if (node->type == YAML_SCALAR_NODE && !JobIsNull(node)) PetscCall(JobParseBool(JobScalarText(node), &isbool, val));
  if (!isbool) JobTry(c, JobFail(c, node, "'%s' must be true or false, got %s", what, got));
  PetscFunctionReturn(0);
}

/* Byte sizes: a number with an optional unit. KB, MB, GB, TB are decimal (10^3k);
   KiB, MiB, GiB, TiB and the single letters K, M, G, T (SLURM's convention) are binary. */
static PetscErrorCode JobParseSize(const char s[], PetscBool *ok, PetscInt64 *bytes)
{
  static const struct {
    const char *unit;
    double      mult;
  } units[] = {
    { "", 1.0 },
    { "b", 1.0 },
    { "k", 1024.0 },
    { "kb", 1e3 },
    { "kib", 1024.0 },
    { "m", 1024.0 * 1024.0 },
    { "mb", 1e6 },
    { "mib", 1024.0 * 1024.0 },
    { "g", 1024.0 * 1024.0 * 1024.0 },
    { "gb", 1e9 },
    { "gib", 1024.0 * 1024.0 * 1024.0 },
    { "t", 1024.0 * 1024.0 * 1024.0 * 1024.0 },
    { "tb", 1e12 },
    { "tib", 1024.0 * 1024.0 * 1024.0 * 1024.0 },
  };
  char  *end;
  double v;
  char   unit[8];
  size_t n = 0;

  PetscFunctionBegin;
  *ok = PETSC_FALSE;
  v   = strtod(s, &end);
  if (end == s || !isfinite(v) || v <= 0) PetscFunctionReturn(0);
  while (*end == ' ') end++;
  for (; *end && n < sizeof(unit) - 1; end++) unit[n++] = (char)tolower((unsigned char)*end);
  unit[n] = 0;
  if (*end) PetscFunctionReturn(0);
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (!strcmp(unit, units[i].unit)) {
      double b = v * units[i].mult;
      if (b >= 1.0 && b < 9.0e18) {
        *ok    = PETSC_TRUE;
        *bytes = (PetscInt64)b;
      }
      break;
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode JobGetSize(JobCtx *c, yaml_node_t *node, const char what[], PetscInt64 *bytes)
{
  char      got[80];
  PetscBool ok = PETSC_FALSE;

  PetscFunctionBegin;
  JobDescribe(node, got, sizeof(got));
  if (node->type == YAML_SCALAR_NODE && !JobIsNull(node)) PetscCall(JobParseSize(JobScalarText(node), &ok, bytes));
  if (!ok) JobTry(c, JobFail(c, node, "'%s' must be a positive size such as 2GiB, 512MiB, 1.5GB or a number of bytes (units B, KB/KiB, MB/MiB, GB/GiB, TB/TiB), got %s", what, got));
  PetscFunctionReturn(0);
}

/* A list of text values; a single text value is accepted as a one-element list. */
static PetscErrorCode JobGetStringList(JobCtx *c, yaml_node_t *node, const char what[], PetscInt *n, char ***list)
{
  PetscFunctionBegin;
  *n    = 0;
  *list = NULL;
  if (node->type == YAML_SCALAR_NODE && !JobIsNull(node)) {
    PetscCall(PetscMalloc1(1, list));
    PetscCall(PetscStrallocpy(JobScalarText(node), &(*list)[0]));
    *n = 1;
    PetscFunctionReturn(0);
  }
  if (node->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, node, "'%s' must be a list of glob patterns (or a single one), got %s", what, JobNodeKind(node)));
  PetscCall(PetscCalloc1((size_t)(node->data.sequence.items.top - node->data.sequence.items.start) + 1, list));
  for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
    yaml_node_t *item = JobNode(c, *it);
    char         got[80];
    JobDescribe(item, got, sizeof(got));
    if (item->type != YAML_SCALAR_NODE || JobIsNull(item)) JobTry(c, JobFail(c, item, "entries of '%s' must be glob patterns (text), got %s", what, got));
    PetscCall(PetscStrallocpy(JobScalarText(item), &(*list)[*n]));
    (*n)++;
  }
  PetscFunctionReturn(0);
}

/* ---- paths ------------------------------------------------------------------- */

/* dir/path (path as is when absolute), with "." and "name/.." components removed. */
PetscErrorCode JobJoinPath(const char dir[], const char path[], char out[], size_t len)
{
  char   tmp[2 * PETSC_MAX_PATH_LEN], res[2 * PETSC_MAX_PATH_LEN];
  char  *comp[PETSC_MAX_PATH_LEN / 2], *save = NULL, *tok;
  size_t ncomp = 0, rlen = 0;
  int    absolute;

  PetscFunctionBegin;
  if (path[0] == '/' || !dir || !dir[0])
    PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s", path));
  else
    PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s/%s", dir, path));
  absolute = tmp[0] == '/';
  for (tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
    if (!strcmp(tok, ".")) continue;
    if (!strcmp(tok, "..") && ncomp > 0 && strcmp(comp[ncomp - 1], "..")) {
      ncomp--;
      continue;
    }
    if (!strcmp(tok, "..") && absolute) continue; /* "/.." is "/" */
    if (ncomp < sizeof(comp) / sizeof(comp[0])) comp[ncomp++] = tok;
  }
  res[0] = 0;
  if (absolute) res[rlen++] = '/';
  res[rlen] = 0;
  for (size_t i = 0; i < ncomp; i++) {
    PetscCall(PetscSNPrintf(res + rlen, sizeof(res) - rlen, "%s%s", i ? "/" : "", comp[i]));
    PetscCall(PetscStrlen(res, &rlen));
  }
  if (!res[0]) PetscCall(PetscStrncpy(res, ".", sizeof(res)));
  PetscCheck(strlen(res) < len, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "path '%s' is longer than %zu characters", res, len - 1);
  PetscCall(PetscStrncpy(out, res, len));
  PetscFunctionReturn(0);
}

static const char *JobBaseName(const char path[])
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* Base name without the extensions of checkpoint and job files (model.safetensors.index.json -> model). */
static PetscErrorCode JobStem(const char path[], char out[], size_t len)
{
  static const char *const ext[] = { ".json", ".index", ".safetensors", ".h5", ".hdf5", ".keras", ".npy", ".npz", ".yaml", ".yml", NULL };
  PetscBool                again = PETSC_TRUE;

  PetscFunctionBegin;
  PetscCall(PetscStrncpy(out, JobBaseName(path), len));
  while (again) {
    size_t l = strlen(out);
    again    = PETSC_FALSE;
    for (PetscInt i = 0; ext[i]; i++) {
      size_t le = strlen(ext[i]);
      if (l > le && !strcmp(out + l - le, ext[i])) {
        out[l - le] = 0;
        again       = PETSC_TRUE;
        break;
      }
    }
  }
  PetscFunctionReturn(0);
}

/* ---- sections ------------------------------------------------------------------ */

/* Append a zeroed checkpoint (step -1) to job->checkpoints, growing it geometrically. */
static PetscErrorCode JobAddCheckpoint(JobCtx *c, SpdJob job, SpdJobCheckpoint **ck)
{
  PetscFunctionBegin;
  if (job->ncheckpoints >= c->ckcap) {
    SpdJobCheckpoint *nc;
    PetscInt          cap = PetscMax(16, 2 * c->ckcap);
    PetscCall(PetscCalloc1(cap, &nc));
    if (job->ncheckpoints) PetscCall(PetscArraycpy(nc, job->checkpoints, job->ncheckpoints));
    PetscCall(PetscFree(job->checkpoints));
    job->checkpoints = nc;
    c->ckcap         = cap;
  }
  *ck = &job->checkpoints[job->ncheckpoints++];
  PetscCall(PetscMemzero(*ck, sizeof(**ck)));
  (*ck)->step = -1;
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseCheckpoints(JobCtx *c, SpdJob job, yaml_node_t *node, PetscBool haveruns)
{
  PetscInt n;

  PetscFunctionBegin;
  if (!node && haveruns) PetscFunctionReturn(0);
  if (!node) JobTry(c, JobFail(c, NULL, "the required key 'checkpoints' is missing; list the checkpoint files to analyse, e.g. 'checkpoints: [model.safetensors]' (or give 'runs:' with step patterns)"));
  if (JobIsNull(node) || (node->type == YAML_SEQUENCE_NODE && node->data.sequence.items.top == node->data.sequence.items.start)) {
    if (haveruns) PetscFunctionReturn(0);
    JobTry(c, JobFail(c, node, "'checkpoints' is empty; list at least one checkpoint file"));
  }
  if (node->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, node, "'checkpoints' must be a list ('- path' lines), got %s", JobNodeKind(node)));
  n = (PetscInt)(node->data.sequence.items.top - node->data.sequence.items.start);
  for (PetscInt i = 0; i < n; i++) {
    yaml_node_t      *item = JobNode(c, node->data.sequence.items.start[i]);
    SpdJobCheckpoint *ck;
    char              where[64], what[80], path[PETSC_MAX_PATH_LEN];
    yaml_node_t      *v;

    PetscCall(JobAddCheckpoint(c, job, &ck));
    PetscCall(PetscSNPrintf(where, sizeof(where), "checkpoints[%" PetscInt_FMT "]", i));
    if (item->type == YAML_MAPPING_NODE) {
      JobTry(c, JobCheckMapping(c, item, where, JobCheckpointKeys));
      if (!(v = JobFind(c, item, "path"))) JobTry(c, JobFail(c, item, "'%s' has no 'path'; give the checkpoint file", where));
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s.path", where));
      JobTry(c, JobGetString(c, v, what, path, sizeof(path)));
      if ((v = JobFind(c, item, "label"))) {
        PetscCall(PetscSNPrintf(what, sizeof(what), "%s.label", where));
        JobTry(c, JobGetString(c, v, what, ck->label, sizeof(ck->label)));
      }
    } else
      JobTry(c, JobGetString(c, item, where, path, sizeof(path)));
    PetscCall(JobJoinPath(job->dir, path, ck->path, sizeof(ck->path)));
    if (!ck->label[0]) PetscCall(JobStem(ck->path, ck->label, sizeof(ck->label)));
    for (PetscInt j = 0; j < i; j++) {
      if (!strcmp(job->checkpoints[j].path, ck->path)) JobTry(c, JobFail(c, item, "checkpoint '%s' is listed twice (checkpoints[%" PetscInt_FMT "] and [%" PetscInt_FMT "]); keep one", ck->path, j, i));
      if (!strcmp(job->checkpoints[j].label, ck->label))
        JobTry(c, JobFail(c, item, "checkpoints[%" PetscInt_FMT "] and checkpoints[%" PetscInt_FMT "] both have the label '%s'; give each a distinct 'label:' (write the entry as '- {path: ..., label: ...}')", j, i, ck->label));
    }
  }
  PetscFunctionReturn(0);
}

/* ---- runs ---------------------------------------------------------------------- */

/* One checkpoint of a run before ordering: `order` is its position in the list/match. */
typedef struct {
  char       path[PETSC_MAX_PATH_LEN];
  PetscInt64 step; /* -1: unknown */
  PetscInt   order;
} JobRunEntry;

/* Known steps ascending, then unknown steps in list order. */
static int JobRunEntryCompare(const void *a, const void *b)
{
  const JobRunEntry *x = (const JobRunEntry *)a, *y = (const JobRunEntry *)b;

  if ((x->step < 0) != (y->step < 0)) return x->step < 0 ? 1 : -1;
  if (x->step >= 0 && x->step != y->step) return x->step < y->step ? -1 : 1;
  return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

/* The last run of digits in the base name without extensions, or -1. */
static PetscErrorCode JobStepFromName(const char path[], PetscInt64 *step)
{
  char        stem[PETSC_MAX_PATH_LEN];
  const char *end = NULL, *beg;
  long long   v;
  char       *stop;

  PetscFunctionBegin;
  *step = -1;
  PetscCall(JobStem(path, stem, sizeof(stem)));
  for (const char *ch = stem; *ch; ch++)
    if (isdigit((unsigned char)*ch)) end = ch;
  if (!end) PetscFunctionReturn(0);
  for (beg = end; beg > stem && isdigit((unsigned char)beg[-1]); beg--) {
  }
  errno = 0;
  v     = strtoll(beg, &stop, 10);
  if (errno != ERANGE && stop == end + 1) *step = (PetscInt64)v;
  PetscFunctionReturn(0);
}

/* The step of `path` matched by prefix{step}suffix (shell patterns on either side), or -1
   when no run of digits takes the place of {step}. */
static PetscInt64 JobMatchStep(const char path[], const char prefix[], const char suffix[])
{
  size_t len = strlen(path);
  char   head[PETSC_MAX_PATH_LEN];

  if (len >= sizeof(head)) return -1;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)path[i])) continue;
    memcpy(head, path, i);
    head[i] = 0;
    if (fnmatch(prefix, head, FNM_PATHNAME)) continue;
    for (size_t j = i + 1; j <= len && isdigit((unsigned char)path[j - 1]); j++) {
      if (!fnmatch(suffix, path + j, FNM_PATHNAME)) {
        PetscInt64 v = 0;
        if (j - i > 18) return -1; /* not a step: would overflow */
        for (size_t k = i; k < j; k++) v = 10 * v + (path[k] - '0');
        return v;
      }
    }
  }
  return -1;
}

/* Expand a step pattern. Rank 0 of c->comm globs the file system and broadcasts the
   matches, so that every rank gets the same entries (in glob's sorted order). */
static PetscErrorCode JobExpandPattern(JobCtx *c, SpdJob job, yaml_node_t *node, const char run[], PetscInt *n, JobRunEntry **entries)
{
  const char *pattern = JobScalarText(node), *at;
  char        full[PETSC_MAX_PATH_LEN], prefix[PETSC_MAX_PATH_LEN], suffix[PETSC_MAX_PATH_LEN], gpat[PETSC_MAX_PATH_LEN + 2], folder[PETSC_MAX_PATH_LEN];
  PetscInt    count  = 0;
  long long   hdr[2] = { 0, 0 }; /* number of matches, bytes of their packed paths */
  char       *packed = NULL, *slash;
  PetscInt64 *steps  = NULL;
  PetscMPIInt rank;

  PetscFunctionBegin;
  *n       = 0;
  *entries = NULL;
  for (at = strstr(pattern, "{step}"); at; at = strstr(at + 6, "{step}")) count++;
  if (count != 1)
    JobTry(c, JobFail(c, node, "the pattern '%s' of run '%s' must contain {step} exactly once (it has %" PetscInt_FMT "), e.g. ckpt/%s/step_{step}.safetensors; or give 'checkpoints:' as a list of files", pattern, run, count, run));
  PetscCall(JobJoinPath(job->dir, pattern, full, sizeof(full)));
  at = strstr(full, "{step}");
  PetscCheck(at, PETSC_COMM_SELF, PETSC_ERR_PLIB, "{step} lost in joining '%s'", pattern);
  PetscCall(PetscStrncpy(prefix, full, (size_t)(at - full) + 1));
  PetscCall(PetscStrncpy(suffix, at + 6, sizeof(suffix)));
  PetscCall(PetscSNPrintf(gpat, sizeof(gpat), "%s*%s", prefix, suffix));
  PetscCall(PetscStrncpy(folder, prefix, sizeof(folder)));
  slash = strrchr(folder, '/');
  if (slash == folder)
    folder[1] = 0;
  else if (slash)
    *slash = 0;
  else
    PetscCall(PetscStrncpy(folder, ".", sizeof(folder)));

  PetscCallMPI(MPI_Comm_rank(c->comm, &rank));
  if (rank == 0) {
    glob_t   g;
    size_t   bytes = 0;
    PetscInt nm    = 0;
    if (!glob(gpat, 0, NULL, &g)) {
      PetscCall(PetscMalloc1(g.gl_pathc + 1, &steps));
      for (size_t k = 0; k < g.gl_pathc; k++) bytes += strlen(g.gl_pathv[k]) + 1;
      PetscCall(PetscMalloc1(bytes + 1, &packed));
      bytes = 0;
      for (size_t k = 0; k < g.gl_pathc; k++) {
        PetscInt64 st = JobMatchStep(g.gl_pathv[k], prefix, suffix);
        if (st < 0) continue; /* e.g. step_final.safetensors */
        steps[nm++] = st;
        PetscCall(PetscStrcpy(packed + bytes, g.gl_pathv[k]));
        bytes += strlen(g.gl_pathv[k]) + 1;
      }
      globfree(&g);
    }
    hdr[0] = nm;
    hdr[1] = (long long)bytes;
  }
  PetscCallMPI(MPI_Bcast(hdr, 2, MPI_LONG_LONG, 0, c->comm));
  if (rank != 0) {
    PetscCall(PetscMalloc1(hdr[0] + 1, &steps));
    PetscCall(PetscMalloc1(hdr[1] + 1, &packed));
  }
  if (hdr[0] > 0) {
    PetscCallMPI(MPI_Bcast(steps, (PetscMPIInt)hdr[0], MPIU_INT64, 0, c->comm));
    PetscCallMPI(MPI_Bcast(packed, (PetscMPIInt)hdr[1], MPI_CHAR, 0, c->comm));
    PetscCall(PetscCalloc1(hdr[0], entries));
    for (long long k = 0, off = 0; k < hdr[0]; k++) {
      PetscCall(PetscStrncpy((*entries)[k].path, packed + off, sizeof((*entries)[k].path)));
      (*entries)[k].step  = steps[k];
      (*entries)[k].order = (PetscInt)k;
      off += (long long)strlen(packed + off) + 1;
    }
    *n = (PetscInt)hdr[0];
  }
  PetscCall(PetscFree(steps));
  PetscCall(PetscFree(packed));
  if (!*n) JobTry(c, JobFail(c, node, "the pattern '%s' of run '%s' matches no file with an integer step in place of {step} (searched '%s' in the folder '%s'); check the path (relative paths are taken from the job file's folder)", pattern, run, gpat, folder));
  PetscFunctionReturn(0);
}

/* A list of run checkpoints: paths, or mappings {path, step}. */
static PetscErrorCode JobRunList(JobCtx *c, SpdJob job, yaml_node_t *node, const char where[], PetscInt *n, JobRunEntry **entries)
{
  PetscInt len = (PetscInt)(node->data.sequence.items.top - node->data.sequence.items.start);

  PetscFunctionBegin;
  if (!len) JobTry(c, JobFail(c, node, "'%s.checkpoints' is empty; give a step pattern such as ckpt/step_{step}.safetensors or list at least one file", where));
  PetscCall(PetscCalloc1(len, entries));
  for (PetscInt i = 0; i < len; i++) {
    yaml_node_t *item = JobNode(c, node->data.sequence.items.start[i]), *v;
    JobRunEntry *e    = &(*entries)[i];
    char         what[200], path[PETSC_MAX_PATH_LEN];

    *n = i + 1;
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.checkpoints[%" PetscInt_FMT "]", where, i));
    e->order = i;
    e->step  = -1;
    if (item->type == YAML_MAPPING_NODE) {
      JobTry(c, JobCheckMapping(c, item, what, JobRunEntryKeys));
      if (!(v = JobFind(c, item, "path"))) JobTry(c, JobFail(c, item, "'%s' has no 'path'; give the checkpoint file", what));
      PetscCall(PetscStrlcat(what, ".path", sizeof(what)));
      JobTry(c, JobGetString(c, v, what, path, sizeof(path)));
      if ((v = JobFind(c, item, "step"))) {
        const char *s;
        char       *end, got[80];
        long long   st;
        JobDescribe(v, got, sizeof(got));
        what[strlen(what) - strlen(".path")] = 0;
        if (v->type != YAML_SCALAR_NODE || JobIsNull(v)) JobTry(c, JobFail(c, v, "'%s.step' must be an integer >= 0, got %s", what, got));
        s     = JobScalarText(v);
        errno = 0;
        st    = strtoll(s, &end, 10);
        if (end == s || *end || errno == ERANGE || st < 0) JobTry(c, JobFail(c, v, "'%s.step' must be an integer >= 0, got %s", what, got));
        e->step = (PetscInt64)st;
      }
    } else
      JobTry(c, JobGetString(c, item, what, path, sizeof(path)));
    PetscCall(JobJoinPath(job->dir, path, e->path, sizeof(e->path)));
    if (e->step < 0) PetscCall(JobStepFromName(e->path, &e->step));
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseRuns(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  PetscInt n, first = job->ncheckpoints;

  PetscFunctionBegin;
  if (!node) PetscFunctionReturn(0);
  if (JobIsNull(node) || (node->type == YAML_SEQUENCE_NODE && node->data.sequence.items.top == node->data.sequence.items.start)) JobTry(c, JobFail(c, node, "'runs' is empty; list runs ('- name: seed0' with 'checkpoints:') or remove the key"));
  if (node->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, node, "'runs' must be a list of runs ('- name: ...' with 'checkpoints: ...'), got %s", JobNodeKind(node)));
  n = (PetscInt)(node->data.sequence.items.top - node->data.sequence.items.start);
  for (PetscInt i = 0; i < n; i++) {
    yaml_node_t *item = JobNode(c, node->data.sequence.items.start[i]), *v, *namenode;
    char         where[64], what[96], run[128];
    PetscInt     ne      = 0;
    JobRunEntry *entries = NULL;

    PetscCall(PetscSNPrintf(where, sizeof(where), "runs[%" PetscInt_FMT "]", i));
    if (item->type != YAML_MAPPING_NODE) JobTry(c, JobFail(c, item, "'%s' must be a mapping with 'name' and 'checkpoints', got %s", where, JobNodeKind(item)));
    JobTry(c, JobCheckMapping(c, item, where, JobRunKeys));
    if (!(namenode = JobFind(c, item, "name"))) JobTry(c, JobFail(c, item, "'%s' has no 'name'; give each run a unique name such as seed0", where));
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.name", where));
    JobTry(c, JobGetString(c, namenode, what, run, sizeof(run)));
    for (const char *ch = run; *ch; ch++)
      if (*ch == '/' || iscntrl((unsigned char)*ch)) JobTry(c, JobFail(c, namenode, "'%s' may not contain '/' or control characters, got '%s'", what, run));
    for (PetscInt k = first; k < job->ncheckpoints; k++)
      if (!strcmp(job->checkpoints[k].run, run)) JobTry(c, JobFail(c, namenode, "two runs are named '%s'; give each run a unique 'name'", run));
    if (!(v = JobFind(c, item, "checkpoints"))) JobTry(c, JobFail(c, item, "run '%s' (%s) has no 'checkpoints'; give a step pattern such as ckpt/%s/step_{step}.safetensors or a list of files", run, where, run));
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.checkpoints", where));
    if (v->type == YAML_SCALAR_NODE && !JobIsNull(v))
      PetscCall(JobExpandPattern(c, job, v, run, &ne, &entries));
    else if (v->type == YAML_SEQUENCE_NODE)
      PetscCall(JobRunList(c, job, v, where, &ne, &entries));
    else
      PetscCall(JobFail(c, v, "'%s' must be a step pattern (text with {step}) or a list of files, got %s", what, JobNodeKind(v)));
    if (!c->failed) {
      qsort(entries, (size_t)ne, sizeof(*entries), JobRunEntryCompare);
      for (PetscInt k = 1; k < ne; k++)
        if (entries[k].step >= 0 && entries[k].step == entries[k - 1].step) {
          PetscCall(JobFail(c, v, "run '%s' has two checkpoints with step %" PetscInt64_FMT ": '%s' and '%s'; remove one (or give explicit 'step:' values in a list)", run, entries[k].step, entries[k - 1].path, entries[k].path));
          break;
        }
    }
    for (PetscInt k = 0; k < ne && !c->failed; k++) {
      SpdJobCheckpoint *ck;
      char              stem[PETSC_MAX_PATH_LEN];
      size_t            len;

      PetscCall(JobAddCheckpoint(c, job, &ck));
      PetscCall(PetscStrncpy(ck->path, entries[k].path, sizeof(ck->path)));
      PetscCall(PetscStrncpy(ck->run, run, sizeof(ck->run)));
      ck->step = entries[k].step;
      if (ck->step >= 0)
        PetscCall(PetscSNPrintf(stem, sizeof(stem), "step%" PetscInt64_FMT, ck->step));
      else
        PetscCall(JobStem(ck->path, stem, sizeof(stem)));
      len = strlen(run) + 1 + strlen(stem);
      if (len >= sizeof(ck->label)) {
        PetscCall(JobFail(c, namenode, "the label '%s/%s' of a checkpoint of run '%s' is longer than %zu characters; use a shorter run name", run, stem, run, sizeof(ck->label) - 1));
        break;
      }
      PetscCall(PetscSNPrintf(ck->label, sizeof(ck->label), "%s/%s", run, stem));
      for (PetscInt j = 0; j < job->ncheckpoints - 1; j++) {
        if (!strcmp(job->checkpoints[j].path, ck->path)) {
          PetscCall(JobFail(c, v, "checkpoint '%s' of run '%s' is also listed as '%s'; keep one", ck->path, run, job->checkpoints[j].label));
          break;
        }
        if (!strcmp(job->checkpoints[j].label, ck->label)) {
          PetscCall(JobFail(c, v, "two checkpoints of the job have the label '%s' ('%s' and '%s'); give the files of run '%s' distinct steps or names", ck->label, job->checkpoints[j].path, ck->path, run));
          break;
        }
      }
    }
    PetscCall(PetscFree(entries));
    if (c->failed) PetscFunctionReturn(0);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseSplit(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  PetscInt n;

  PetscFunctionBegin;
  if (JobIsNull(node)) PetscFunctionReturn(0);
  if (node->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, node, "'tensors.split' must be a list of rules ('- match: ...'), got %s", JobNodeKind(node)));
  n = (PetscInt)(node->data.sequence.items.top - node->data.sequence.items.start);
  PetscCall(PetscCalloc1(PetscMax(n, 1), &job->splits));
  for (PetscInt i = 0; i < n; i++) {
    yaml_node_t *item = JobNode(c, node->data.sequence.items.start[i]), *v;
    SpdJobSplit *s    = &job->splits[i];
    char         where[64], what[96];

    job->nsplits = i + 1;
    PetscCall(PetscSNPrintf(where, sizeof(where), "tensors.split[%" PetscInt_FMT "]", i));
    if (item->type != YAML_MAPPING_NODE) JobTry(c, JobFail(c, item, "'%s' must be a mapping with match, parts, axis, heads, transpose; got %s", where, JobNodeKind(item)));
    JobTry(c, JobCheckMapping(c, item, where, JobSplitKeys));
    if (!(v = JobFind(c, item, "match"))) JobTry(c, JobFail(c, item, "'%s' has no 'match' (a glob on tensor names, e.g. \"*.c_attn.weight\")", where));
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.match", where));
    JobTry(c, JobGetString(c, v, what, s->match, sizeof(s->match)));
    if (!(v = JobFind(c, item, "parts"))) JobTry(c, JobFail(c, item, "'%s' has no 'parts' (names of the fused blocks, e.g. [q, k, v])", where));
    PetscCall(PetscSNPrintf(what, sizeof(what), "%s.parts", where));
    if (v->type != YAML_SEQUENCE_NODE) JobTry(c, JobFail(c, v, "'%s' must be a list of part names such as [q, k, v], got %s", what, JobNodeKind(v)));
    s->nparts = (PetscInt)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (s->nparts < 1 || s->nparts > 8) JobTry(c, JobFail(c, v, "'%s' must name 1 to 8 parts, got %" PetscInt_FMT, what, s->nparts));
    for (PetscInt p = 0; p < s->nparts; p++) {
      yaml_node_t *pn = JobNode(c, v->data.sequence.items.start[p]);
      JobTry(c, JobGetString(c, pn, what, s->parts[p], sizeof(s->parts[p])));
      for (const char *ch = s->parts[p]; *ch; ch++)
        if (!isalnum((unsigned char)*ch) && *ch != '_' && *ch != '-') JobTry(c, JobFail(c, pn, "part name '%s' in '%s' may contain only letters, digits, '_' and '-'", s->parts[p], what));
      for (PetscInt q = 0; q < p; q++)
        if (!strcmp(s->parts[q], s->parts[p])) JobTry(c, JobFail(c, pn, "part name '%s' appears twice in '%s'", s->parts[p], what));
    }
    s->axis = 0;
    if ((v = JobFind(c, item, "axis"))) {
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s.axis", where));
      JobTry(c, JobGetInt(c, v, what, 0, &s->axis));
      if (s->axis > 1) JobTry(c, JobFail(c, v, "'%s' must be 0 (rows of the analysed matrix) or 1 (columns), got %" PetscInt_FMT, what, s->axis));
    }
    s->heads = 0;
    if ((v = JobFind(c, item, "heads"))) {
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s.heads", where));
      JobTry(c, JobGetInt(c, v, what, 0, &s->heads));
      if (s->heads == 1) JobTry(c, JobFail(c, v, "'%s' must be 0 (no split into heads) or at least 2, got 1", what));
    }
    s->transpose = PETSC_FALSE;
    if ((v = JobFind(c, item, "transpose"))) {
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s.transpose", where));
      JobTry(c, JobGetBool(c, v, what, &s->transpose));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseTensors(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  yaml_node_t *v;

  PetscFunctionBegin;
  if (node) JobTry(c, JobCheckMapping(c, node, "tensors", JobTensorsKeys));
  if ((v = JobFind(c, node, "include"))) JobTry(c, JobGetStringList(c, v, "tensors.include", &job->ninclude, &job->include));
  if (!job->ninclude) {
    PetscCall(PetscFree(job->include));
    PetscCall(PetscMalloc1(1, &job->include));
    PetscCall(PetscStrallocpy("*", &job->include[0]));
    job->ninclude = 1;
  }
  if ((v = JobFind(c, node, "exclude"))) JobTry(c, JobGetStringList(c, v, "tensors.exclude", &job->nexclude, &job->exclude));
  if ((v = JobFind(c, node, "split"))) JobTry(c, JobParseSplit(c, job, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseWeights(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  SpdWeightsSettings *w = &job->weights;
  yaml_node_t        *v;

  PetscFunctionBegin;
  if (node) JobTry(c, JobCheckMapping(c, node, "weights", JobWeightsKeys));
  if ((v = JobFind(c, node, "full"))) {
    PetscBool isbool = PETSC_FALSE, val = PETSC_FALSE, isauto = PETSC_FALSE;
    char      got[80];
    if (v->type == YAML_SCALAR_NODE && !JobIsNull(v)) {
      PetscCall(JobParseBool(JobScalarText(v), &isbool, &val));
      PetscCall(PetscStrcasecmp(JobScalarText(v), "auto", &isauto));
    }
    JobDescribe(v, got, sizeof(got));
    if (!isbool && !isauto) JobTry(c, JobFail(c, v, "'weights.full' must be auto, true or false, got %s", got));
    w->full = isauto ? SPD_FULL_AUTO : (val ? SPD_FULL_YES : SPD_FULL_NO);
  }
  if ((v = JobFind(c, node, "full_max"))) JobTry(c, JobGetInt(c, v, "weights.full_max", 0, &w->full_max));
  if ((v = JobFind(c, node, "top"))) JobTry(c, JobGetInt(c, v, "weights.top", 0, &w->top));
  if ((v = JobFind(c, node, "bottom"))) JobTry(c, JobGetInt(c, v, "weights.bottom", 0, &w->bottom));
  if ((v = JobFind(c, node, "vectors"))) JobTry(c, JobGetBool(c, v, "weights.vectors", &w->vectors));
  if ((v = JobFind(c, node, "rank_tol"))) JobTry(c, JobGetReal(c, v, "weights.rank_tol", &w->rank_tol));
  if ((v = JobFind(c, node, "tail_min"))) JobTry(c, JobGetInt(c, v, "weights.tail_min", 3, &w->tail_min));
  if (w->full == SPD_FULL_NO && !w->top && !w->bottom) JobTry(c, JobFail(c, node, "'weights' asks for nothing: full is false and top and bottom are 0; set full: auto or a positive top"));
  if (w->vectors && !w->top) JobTry(c, JobFail(c, JobFind(c, node, "vectors"), "'weights.vectors' is true but 'weights.top' is 0; vectors are the top-k singular vectors, so set top > 0"));
  PetscFunctionReturn(0);
}

/* Option names are '-' followed by a letter; "-1e-3" is a value. */
static PetscBool JobIsOptionName(const char s[]) { return (s[0] == '-' && isalpha((unsigned char)s[1])) ? PETSC_TRUE : PETSC_FALSE; }

static PetscErrorCode JobAppend(char **buf, size_t *cap, const char s[])
{
  size_t len = *buf ? strlen(*buf) : 0, ls = strlen(s);

  PetscFunctionBegin;
  if (len + ls + 2 > *cap) {
    char *nb;
    *cap = PetscMax(2 * (*cap), len + ls + 256);
    PetscCall(PetscMalloc1(*cap, &nb));
    nb[0] = 0;
    if (*buf) PetscCall(PetscStrcpy(nb, *buf));
    PetscCall(PetscFree(*buf));
    *buf = nb;
  }
  if (len) (*buf)[len++] = ' ';
  PetscCall(PetscStrcpy(*buf + len, s));
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseSolver(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  char **opts = &job->petsc_options; /* owned by the job at once: freed with it on error */
  size_t cap  = 0;

  PetscFunctionBegin;
  if (JobIsNull(node)) PetscFunctionReturn(0);
  if (node->type == YAML_SCALAR_NODE) {
    /* a single string of options: check that it starts with an option name */
    const char *s = JobScalarText(node);
    while (isspace((unsigned char)*s)) s++;
    if (!JobIsOptionName(s)) JobTry(c, JobFail(c, node, "'solver' as a single value must be PETSc/SLEPc options such as \"-svd_tol 1e-10 -log_view\", got '%s'", s));
    PetscCall(JobAppend(opts, &cap, s));
  } else if (node->type == YAML_MAPPING_NODE) {
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
      yaml_node_t *k = JobNode(c, p->key), *v = JobNode(c, p->value);
      char         name[256];
      const char  *ks;

      if (k->type != YAML_SCALAR_NODE) JobTry(c, JobFail(c, k, "a key in 'solver' is %s; keys are PETSc/SLEPc option names such as svd_tol", JobNodeKind(k)));
      ks = JobScalarText(k);
      PetscCall(PetscSNPrintf(name, sizeof(name), "%s%s", ks[0] == '-' ? "" : "-", ks));
      if (!JobIsOptionName(name)) JobTry(c, JobFail(c, k, "'%s' in 'solver' is not a PETSc option name (expected e.g. svd_tol or -svd_tol)", ks));
      for (const char *ch = name + 1; *ch; ch++)
        if (isspace((unsigned char)*ch)) JobTry(c, JobFail(c, k, "option name '%s' in 'solver' contains a space", ks));
      for (yaml_node_pair_t *q = node->data.mapping.pairs.start; q < p; q++) {
        yaml_node_t *kq = JobNode(c, q->key);
        const char  *qs = JobScalarText(kq);
        if (kq->type == YAML_SCALAR_NODE && !strcmp(qs + (qs[0] == '-'), name + 1)) JobTry(c, JobFail(c, k, "option '%s' appears twice in 'solver' (lines %d and %d); keep one", name, (int)kq->start_mark.line + 1, (int)k->start_mark.line + 1));
      }
      PetscCall(JobAppend(opts, &cap, name));
      if (!JobIsNull(v)) {
        const char *vs;
        char        got[80];
        JobDescribe(v, got, sizeof(got));
        if (v->type != YAML_SCALAR_NODE) JobTry(c, JobFail(c, v, "the value of solver option '%s' must be a single value, got %s", name, got));
        vs = JobScalarText(v);
        for (const char *ch = vs; *ch; ch++)
          if (isspace((unsigned char)*ch)) JobTry(c, JobFail(c, v, "the value of solver option '%s' contains a space (%s); PETSc option values are single words", name, got));
        if (!vs[0]) JobTry(c, JobFail(c, v, "the value of solver option '%s' is an empty text; leave it out for an option without value", name));
        PetscCall(JobAppend(opts, &cap, vs));
      }
    }
  } else
    JobTry(c, JobFail(c, node, "'solver' must be a mapping 'option: value' or a single string of options, got %s", JobNodeKind(node)));
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseResources(JobCtx *c, SpdJob job, yaml_node_t *node)
{
  yaml_node_t *v;

  PetscFunctionBegin;
  if (node) JobTry(c, JobCheckMapping(c, node, "resources", JobResourcesKeys));
  if ((v = JobFind(c, node, "memory_per_rank"))) JobTry(c, JobGetSize(c, v, "resources.memory_per_rank", &job->memory_per_rank));
  if ((v = JobFind(c, node, "ranks_per_task"))) {
    PetscBool isauto = PETSC_FALSE;
    if (v->type == YAML_SCALAR_NODE) PetscCall(PetscStrcasecmp(JobScalarText(v), "auto", &isauto));
    if (isauto)
      job->ranks_per_task = 0;
    else {
      char got[80];
      JobDescribe(v, got, sizeof(got));
      if (v->type != YAML_SCALAR_NODE || JobIsNull(v)) JobTry(c, JobFail(c, v, "'resources.ranks_per_task' must be auto or an integer >= 1, got %s", got));
      JobTry(c, JobGetInt(c, v, "resources.ranks_per_task", 1, &job->ranks_per_task));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode JobParseDocument(JobCtx *c, SpdJob job)
{
  yaml_node_t *root = yaml_document_get_root_node(c->doc), *v;

  PetscFunctionBegin;
  if (!root || JobIsNull(root)) JobTry(c, JobFail(c, NULL, "the job file is empty; it needs at least 'checkpoints:' (see `specdyn run --help` or docs/jobs.md)"));
  JobTry(c, JobCheckMapping(c, root, "", JobTopKeys));
  if ((v = JobFind(c, root, "name"))) {
    JobTry(c, JobGetString(c, v, "name", job->name, sizeof(job->name)));
    for (const char *ch = job->name; *ch; ch++)
      if (*ch == '/' || iscntrl((unsigned char)*ch)) JobTry(c, JobFail(c, v, "'name' may not contain '/' or control characters, got '%s'", job->name));
  }
  if ((v = JobFind(c, root, "output"))) {
    char out[PETSC_MAX_PATH_LEN];
    JobTry(c, JobGetString(c, v, "output", out, sizeof(out)));
    PetscCall(JobJoinPath(job->dir, out, job->output, sizeof(job->output)));
  } else {
    char out[PETSC_MAX_PATH_LEN];
    PetscCall(PetscSNPrintf(out, sizeof(out), "%s.results", job->name));
    PetscCall(JobJoinPath(job->dir, out, job->output, sizeof(job->output)));
  }
  /* random Jacobian ensembles (jacobian.ensemble) need no checkpoints either */
  JobTry(c, JobParseCheckpoints(c, job, JobFind(c, root, "checkpoints"), (JobFind(c, root, "runs") || JobFind(c, root, "train") || JobFind(c, root, "ensemble") || JobFind(c, JobFind(c, root, "jacobian"), "ensemble")) ? PETSC_TRUE : PETSC_FALSE));
  JobTry(c, JobParseRuns(c, job, JobFind(c, root, "runs")));
  JobTry(c, JobParseTensors(c, job, JobFind(c, root, "tensors")));
  JobTry(c, JobParseWeights(c, job, JobFind(c, root, "weights")));
  JobTry(c, JobParseModel(c, job, JobFind(c, root, "model")));
  JobTry(c, JobParseData(c, job, JobFind(c, root, "data")));
  JobTry(c, JobParseCurvature(c, job, JobFind(c, root, "curvature")));
  JobTry(c, JobParseJacobian(c, job, JobFind(c, root, "jacobian")));
  JobTry(c, JobParseTrain(c, job, JobFind(c, root, "train"), JobFind(c, root, "sweep"), JobFind(c, root, "training_jacobian"), JobFind(c, root, "ensemble")));
  /* weight spectra unless the job asks only for model analyses */
  job->weights_enabled = (JobFind(c, root, "weights") || !(job->curvature.enabled || job->jacobian.enabled)) ? PETSC_TRUE : PETSC_FALSE;
  if (job->compare.enabled && !job->weights_enabled) JobTry(c, JobFail(c, JobFind(c, root, "compare"), "'compare' compares weight spectra, but the job has no 'weights:' section; add one"));
  JobTry(c, JobParseCompare(c, job, JobFind(c, root, "compare")));
  JobTry(c, JobParseSolver(c, job, JobFind(c, root, "solver")));
  JobTry(c, JobParseResources(c, job, JobFind(c, root, "resources")));
  PetscFunctionReturn(0);
}

/*@C
  SpdJobLoadString - parse and validate a job given as YAML text

  Collective (every rank must pass the same text)

  Input Parameters:
+ comm   - the communicator of the job (errors are raised collectively on it)
. text   - the YAML text
. origin - the name used in messages (the job file's path), or NULL for "job"
- dir    - the folder against which checkpoint and output paths are resolved, or NULL for "."

  Output Parameter:
. job - the job, with defaults filled in

  Notes:
  Errors name the key, its line and what is expected; unknown keys suggest the closest
  valid key. `name` defaults to the base name of `origin` without extension.

.seealso: `SpdJobLoad()`, `SpdJobPrintKeys()`, `SpdJobDestroy()`
@*/
PetscErrorCode SpdJobLoadString(MPI_Comm comm, const char text[], const char origin[], const char dir[], SpdJob *job)
{
  SpdJob          j;
  JobCtx          ctx;
  yaml_parser_t   parser;
  yaml_document_t doc;

  PetscFunctionBegin;
  PetscCheck(text && job, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdJobLoadString() needs a text and an output pointer");
  *job = NULL;
  if (!origin) origin = "job";
  PetscCall(PetscNew(&j));
  j->comm = comm;
  PetscCall(PetscStrncpy(j->path, origin, sizeof(j->path)));
  PetscCall(PetscStrncpy(j->dir, dir && dir[0] ? dir : ".", sizeof(j->dir)));
  PetscCall(PetscStrallocpy(text, &j->text));
  PetscCall(JobStem(origin, j->name, sizeof(j->name)));
  if (!j->name[0]) PetscCall(PetscStrncpy(j->name, "job", sizeof(j->name)));
  j->weights.full     = SPD_FULL_AUTO;
  j->weights.full_max = 4096;
  j->weights.top      = 8;
  j->weights.bottom   = 0;
  j->weights.vectors  = PETSC_FALSE;
  j->weights.rank_tol = 0.0;
  j->weights.tail_min = 10;
  j->memory_per_rank  = (PetscInt64)2 * 1024 * 1024 * 1024;
  j->ranks_per_task   = 0;

  PetscCall(PetscMemzero(&ctx, sizeof(ctx)));
  ctx.origin = origin;
  ctx.comm   = comm;
  ctx.doc    = &doc;
  PetscCheck(yaml_parser_initialize(&parser), PETSC_COMM_SELF, PETSC_ERR_MEM, "libyaml could not initialize its parser");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
  if (!yaml_parser_load(&parser, &doc)) {
    if (parser.error == YAML_MEMORY_ERROR) {
      yaml_parser_delete(&parser);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_MEM, "libyaml ran out of memory parsing %s", origin);
    }
    ctx.failed = PETSC_TRUE;
    if (parser.context)
      PetscCall(PetscSNPrintf(ctx.msg, sizeof(ctx.msg), "%s:%d:%d: YAML syntax error: %s (%s that starts at line %d, column %d); check the indentation and quoting there", origin, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid YAML", parser.context,
          (int)parser.context_mark.line + 1, (int)parser.context_mark.column + 1));
    else
      PetscCall(PetscSNPrintf(ctx.msg, sizeof(ctx.msg), "%s:%d:%d: YAML syntax error: %s; check the indentation and quoting there", origin, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid YAML"));
    yaml_parser_delete(&parser);
  } else {
    yaml_parser_delete(&parser);
    PetscCall(JobParseDocument(&ctx, j));
    yaml_document_delete(&doc);
  }
  if (ctx.failed) {
    PetscCall(SpdJobDestroy(&j));
    SETERRQ(comm, PETSC_ERR_USER_INPUT, "%s", ctx.msg);
  }
  *job = j;
  PetscFunctionReturn(0);
}

/*@C
  SpdJobLoad - read, parse and validate a job file

  Collective

  Input Parameters:
+ comm - the communicator of the study
- path - the job file (YAML)

  Output Parameter:
. job - the job

  Notes:
  Rank 0 reads the file and broadcasts its text; every rank parses the same text, so the
  job (and any error) is identical everywhere. Checkpoint paths and `output` are resolved
  against the job file's folder (made absolute, so that task ids do not depend on the
  current directory).

.seealso: `SpdJobLoadString()`, `SpdPlanCreate()`, `SpdJobDestroy()`
@*/
PetscErrorCode SpdJobLoad(MPI_Comm comm, const char path[], SpdJob *job)
{
  PetscMPIInt rank;
  long long   hdr[2]                  = { 0, 0 }; /* text length (or -1: cannot open, -2: too large), errno */
  char       *text                    = NULL;
  char        dir[PETSC_MAX_PATH_LEN] = "";

  PetscFunctionBegin;
  PetscCheck(path && job, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdJobLoad() needs a path and an output pointer");
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    FILE *f = fopen(path, "rb");
    if (!f) {
      hdr[0] = -1;
      hdr[1] = errno;
    } else {
      long size = -1;
      if (!fseek(f, 0, SEEK_END)) size = ftell(f);
      if (size < 0) {
        hdr[0] = -1;
        hdr[1] = errno;
      } else if (size > SPD_JOB_MAX_BYTES) {
        hdr[0] = -2;
        hdr[1] = size;
      } else {
        rewind(f);
        PetscCall(PetscMalloc1(size + 1, &text));
        if (fread(text, 1, (size_t)size, f) != (size_t)size) {
          hdr[0] = -1;
          hdr[1] = errno ? errno : EIO;
        } else {
          text[size] = 0;
          hdr[0]     = size;
          if (strlen(text) != (size_t)size) hdr[0] = -3; /* NUL bytes: not a text file */
        }
      }
      fclose(f);
    }
    if (hdr[0] >= 0) {
      /* the job file's folder, absolute: paths in the job are relative to it */
      char  tmp[PETSC_MAX_PATH_LEN], *slash;
      char *real;
      PetscCall(PetscStrncpy(tmp, path, sizeof(tmp)));
      slash = strrchr(tmp, '/');
      if (slash == tmp)
        tmp[1] = 0;
      else if (slash)
        *slash = 0;
      else
        PetscCall(PetscStrncpy(tmp, ".", sizeof(tmp)));
      real = realpath(tmp, NULL);
      PetscCall(PetscStrncpy(dir, real ? real : tmp, sizeof(dir)));
      free(real);
    }
  }
  PetscCallMPI(MPI_Bcast(hdr, 2, MPI_LONG_LONG, 0, comm));
  if (hdr[0] == -1) {
    PetscCall(PetscFree(text));
    SETERRQ(comm, PETSC_ERR_FILE_OPEN, "cannot read the job file '%s': %s; check the path (a relative path is taken from the current directory)", path, strerror((int)hdr[1]));
  }
  PetscCheck(hdr[0] != -2, comm, PETSC_ERR_FILE_READ, "the job file '%s' has %lld bytes; a job file is a small YAML text (at most %d bytes): is this the right file?", path, hdr[1], SPD_JOB_MAX_BYTES);
  PetscCheck(hdr[0] != -3, comm, PETSC_ERR_FILE_READ, "the job file '%s' contains NUL bytes; it must be a YAML text file", path);
  if (rank != 0) PetscCall(PetscMalloc1(hdr[0] + 1, &text));
  PetscCallMPI(MPI_Bcast(text, (PetscMPIInt)hdr[0] + 1, MPI_CHAR, 0, comm));
  PetscCallMPI(MPI_Bcast(dir, sizeof(dir), MPI_CHAR, 0, comm));
  PetscCall(SpdJobLoadString(comm, text, path, dir, job));
  PetscCall(PetscFree(text));
  PetscFunctionReturn(0);
}

/*@C
  SpdJobInsertOptions - put the job's solver options into PETSc's options database

  Collective

  Input Parameter:
. job - the job

  Notes:
  The command line wins: an option already present in the database (given on the command
  line, in PETSC_OPTIONS or an options file) keeps its value and the job's value is ignored
  (reported with -info).

.seealso: `SpdJobLoad()`
@*/
PetscErrorCode SpdJobInsertOptions(SpdJob job)
{
  int    argc = 0;
  char **args = NULL;

  PetscFunctionBegin;
  PetscCheck(job, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "SpdJobInsertOptions() needs a job");
  if (!job->petsc_options) PetscFunctionReturn(0);
  PetscCall(PetscStrToArray(job->petsc_options, ' ', &argc, &args));
  for (int i = 0; i < argc; i++) {
    const char *name = args[i], *value = NULL;
    PetscBool   set;

    if (!JobIsOptionName(name)) continue; /* a stray value in a single-string solver entry */
    if (i + 1 < argc && !JobIsOptionName(args[i + 1])) value = args[++i];
    PetscCall(PetscOptionsHasName(NULL, NULL, name, &set));
    if (set) {
      PetscCall(PetscInfo(NULL, "job option %s %s ignored: given on the command line\n", name, value ? value : ""));
      continue;
    }
    PetscCall(PetscOptionsSetValue(NULL, name, value));
  }
  PetscCall(PetscStrToArrayDestroy(argc, args));
  PetscFunctionReturn(0);
}

/*@C
  SpdJobDestroy - free a job

  Not collective

.seealso: `SpdJobLoad()`
@*/
PetscErrorCode SpdJobDestroy(SpdJob *job)
{
  SpdJob j;

  PetscFunctionBegin;
  if (!job || !*job) PetscFunctionReturn(0);
  j = *job;
  for (PetscInt i = 0; i < j->ninclude; i++) PetscCall(PetscFree(j->include[i]));
  for (PetscInt i = 0; i < j->nexclude; i++) PetscCall(PetscFree(j->exclude[i]));
  PetscCall(PetscFree(j->include));
  PetscCall(PetscFree(j->exclude));
  PetscCall(PetscFree(j->checkpoints));
  PetscCall(PetscFree(j->splits));
  PetscCall(PetscFree(j->compare.pairs));
  PetscCall(PetscFree(j->petsc_options));
  PetscCall(PetscFree(j->text));
  PetscCall(PetscFree(*job));
  PetscFunctionReturn(0);
}

/* The reference printed by `specdyn run --help`; docs/jobs.md says the same at length. */
static const char SpdJobKeysText[] = "Job file keys (YAML; every key optional unless marked; unknown keys are errors):\n"
                                     "  name: STR                    study name (default: the job file's base name)\n"
                                     "  output: PATH                 results folder, relative to the job file's folder\n"
                                     "                               (default: <name>.results next to the job file; -o overrides)\n"
                                     "  checkpoints:                 a non-empty list (REQUIRED unless runs: is given); each entry is a path or a mapping\n"
                                     "    - PATH                     safetensors file, *.safetensors.index.json, HDF5 or Keras .h5;\n"
                                     "                               relative to the job file's folder\n"
                                     "    - path: PATH               the same, with\n"
                                     "      label: STR               a label (default: base name without extensions)\n"
                                     "  runs:                        training runs, each a series of checkpoints ordered by step\n"
                                     "    - name: STR                REQUIRED, unique, no '/'; labels are <name>/step<step>\n"
                                     "      checkpoints: PATTERN     a path with one {step} (globs allowed elsewhere), e.g.\n"
                                     "                               ckpt/seed0/step_{step}.safetensors: every file whose {step} is an integer\n"
                                     "      checkpoints:             or a list; each entry a PATH (step: last digits of its base name)\n"
                                     "        - path: PATH           or a mapping with\n"
                                     "          step: N              an explicit step (integer >= 0)\n"
                                     "  tensors:\n"
                                     "    include: [GLOB, ...]       tensor names to analyse (default [\"*\"]; a single GLOB is accepted)\n"
                                     "    exclude: [GLOB, ...]       tensor names to leave out (applied after include)\n"
                                     "    split:                     fused projections, cut into parts (first matching rule wins)\n"
                                     "      - match: GLOB            tensor names the rule applies to\n"
                                     "        parts: [q, k, v]       part names (1-8), equal blocks along `axis`\n"
                                     "        axis: 0|1              0: rows, 1: columns of the analysed matrix (default 0)\n"
                                     "        heads: N               also cut each part into N heads along the same axis (default 0: no)\n"
                                     "        transpose: BOOL        analyse the stored matrix transposed, e.g. GPT-2 Conv1D (default false)\n"
                                     "  weights:                     the weight-spectra analysis\n"
                                     "    full: auto|true|false      all singular values with ScaLAPACK (default auto)\n"
                                     "    full_max: N                auto: full when min(m,n) <= N (default 4096)\n"
                                     "    top: K                     top-K singular triplets with SLEPc (default 8)\n"
                                     "    bottom: K                  bottom-K singular triplets (default 0)\n"
                                     "    vectors: BOOL              store the top-K singular vectors (default false)\n"
                                     "    rank_tol: X                numerical-rank tolerance relative to sigma_1; <= 0: auto (default 0)\n"
                                     "    tail_min: N                fewest tail points of the power-law fit, >= 3 (default 10)\n"
                                     "  compare:                     comparisons of top-k singular vectors (switches weights.vectors on)\n"
                                     "    k: K                       vectors compared, <= weights.top (default weights.top)\n"
                                     "    checkpoints: [final, previous]  each checkpoint of a run vs the run's last / previous one:\n"
                                     "                               agreement |(Us^T Ut) o (Vs^T Vt)| and principal angles (default both)\n"
                                     "    runs: BOOL                 principal angles and agreement between runs at equal steps (default true)\n"
                                     "    layers: auto|none|LIST     alignment |V_b^T U_a| of consecutive layers (default auto: shape chaining);\n"
                                     "      - auto                   (in the list: shape chaining as well as the named pairs)\n"
                                     "      - [A, B]                 a pair of analysed names, '*' matching the same text in both\n"
                                     "      - {a: A, b: B, spaces: out-in|out-out|in-in}   |V_b^T U_a|, |U_a^T U_b| (q/k), |V_a^T V_b|\n"
                                     "                               (pairs of split parts are also compared head by head)\n"
                                     "    differences: [runs, previous, initial]  spectra of W_a - W_b: between runs at equal steps,\n"
                                     "                               W_t - W_previous, W_t - W_first (default none)\n"
                                     "  model:                       the MLP of each checkpoint, for curvature: (docs/curvature.md)\n"
                                     "    loss: cross_entropy|mse    per-sample loss (default cross_entropy; mse: 1/2 ||z - y||^2)\n"
                                     "    activation: ACT|[ACT,...]  identity, relu, leaky_relu, tanh, gelu: one for all hidden layers or one\n"
                                     "                               per hidden layer (default: Keras model_config, else relu)\n"
                                     "    leaky_slope: X             negative slope of leaky_relu (default 0.01)\n"
                                     "    parameterization: standard|ntk|mup|{weights: [a_l..], biases: [c_l..]}  multipliers (default standard)\n"
                                     "    layers: auto|LIST          {weight: NAME, bias: NAME|null} per layer (default auto: Keras model_config,\n"
                                     "                               else 2-D ...weight/...kernel tensors in natural order with their ...bias)\n"
                                     "  data:                        samples of the loss (REQUIRED with curvature:)\n"
                                     "    source: hdf5|idx|fashion_mnist|gaussian_mixture|teacher_student\n"
                                     "    path, x, y                 hdf5: file and dataset paths (y: integer labels or real targets)\n"
                                     "    images, labels             idx: IDX files (.gz allowed)\n"
                                     "    split: train|test          fashion_mnist (Debian's dataset-fashion-mnist)\n"
                                     "    n, d, classes, outputs, snr, seed   sample count (files: first n) and generator settings\n"
                                     "  curvature:                   loss-curvature spectra of each checkpoint (data parallel)\n"
                                     "    operators: [hessian, gauss_newton, gradient_covariance]   (default [hessian])\n"
                                     "    blocks: [model, layers]    all parameters and/or each layer's block (default [model])\n"
                                     "    top: K                     largest eigenpairs (default 10); bottom: K most negative (default 0)\n"
                                     "    vectors: BOOL              store the top eigenvectors (default false)\n"
                                     "    trace: N | {products: N}   Hutch++ trace estimate with N products (default none)\n"
                                     "    density: {probes, steps, grid, sigma}   spectral density by stochastic Lanczos quadrature\n"
                                     "    learning_rate: X           sharpness against 2/eta when known\n"
                                     "    seed: N                    seed of the random probes (default 0)\n"
                                     "  jacobian:                    input-output Jacobians J(x) of the MLP across depth (docs/jacobians.md)\n"
                                     "    inputs: N                  the first N samples of data: are the points x (default 8)\n"
                                     "    k: K                       singular values / Lyapunov exponents per depth (default 8)\n"
                                     "    lyapunov: BOOL             exponents by QR iteration through the layers (default true)\n"
                                     "    spectra: BOOL              top-k singular values, gaps and alignment of J_{l:1} per depth (default true)\n"
                                     "    depths: all|[l, ...]       depths of the spectra (default all)\n"
                                     "    seed: N                    seed of the initial orthonormal block (default 0)\n"
                                     "    input_groups: auto|G       rank groups sharing out a task's inputs/draws; G must divide the task's ranks (default auto)\n"
                                     "    ensemble: {...} | [{...}, ...]   random products instead of (or besides) a model; no\n"
                                     "                               checkpoints or data needed (k, lyapunov, spectra, depths, seed apply)\n"
                                     "      width: W, depth: L       REQUIRED: L factors of W x W, entries i.i.d. N(0, std^2)\n"
                                     "      std: S                   standard deviation of the entries (default 1/sqrt(width))\n"
                                     "      gate_p: P                random fixed 0/1 gates between the factors, on with probability P (default 1: none)\n"
                                     "      seeds: N                 independent draws; statistics over them (default 1)\n"
                                     "      seed: N                  seed of the draws (default 0); name: TEXT  label ensemble/<name>\n"
                                     "  train:                       train MLP runs with `specdyn train` (docs/training.md); needs data: and\n"
                                     "                               model.widths: [input (0: from data), hidden..., output], model.bias: BOOL\n"
                                     "    steps: N                   training steps T (default 100)\n"
                                     "    lr: X                      learning rate (default 0.1)\n"
                                     "    schedule: constant|cosine|{type: step|cosine, every: K, gamma: G, lr_min: X}\n"
                                     "    warmup: N                  linear warm-up steps (default 0)\n"
                                     "    momentum: none|heavy_ball|nesterov   beta: X (default 0.9)\n"
                                     "    weight_decay: X            decoupled: BOOL (default false: L2 added to the gradient)\n"
                                     "    batch: N|full              minibatch size, seeded shuffling per epoch (default full: gradient descent)\n"
                                     "    seed: N                    initialization and shuffling (default 0); init_scale: X (default 1)\n"
                                     "    label_noise: X             fraction of training labels replaced by wrong ones; random_labels: BOOL\n"
                                     "    checkpoints: {every: K} | {geometric: R}   safetensors checkpoints (default every 10 steps)\n"
                                     "    eval_every: N              full-data loss/accuracy every N steps (default: at checkpoints)\n"
                                     "    float32: BOOL              checkpoint dtype F32 (default false: F64, exact)\n"
                                     "  data.test_n: N               held-out samples (after the first n) evaluated with the training data\n"
                                     "  sweep:                       a grid of runs: lists of values for seed, weight_decay, label_noise, n,\n"
                                     "                               snr, width (all hidden widths), lr, batch; the runs are the product\n"
                                     "  training_jacobian:           after each run, the spectrum of J_T = d theta_T / d theta_0 (matrix-free)\n"
                                     "    top: K  bottom: K          singular triplets (default 16 and 16)\n"
                                     "    density: {probes, steps, grid}   SLQ density of sigma (J_T^T J_T) and region sizes\n"
                                     "    epsilon: X                 bulk |sigma - 1| <= X (default 0.1)\n"
                                     "    every: K                   keep the iterates every K steps, recompute the rest (default 1: all)\n"
                                     "    function_jacobian: BOOL    the same spectra for d f(X) / d theta at theta_T (default true)\n"
                                     "    full: auto|BOOL            dense J_T (P products) and all its singular triplets: exact region\n"
                                     "                               sizes and every cosine u_i.v_i (default auto: P <= 2048)\n"
                                     "    perturb: {directions: N, scale: X, ood: N}   retrain from theta_0 + X v along N chaotic (top),\n"
                                     "                               bulk and stable (bottom) directions; output change on test and white noise\n"
                                     "    seed: N                    probes and noise inputs (default 0)\n"
                                     "  ensemble:                    representational alignment vs SNR and n (`specdyn train`; docs/alignment.md):\n"
                                     "    snr: [..]  n: [..]         grid of signal-to-noise ratios and training-set sizes (default [0.1, 1, 10], [64, 256])\n"
                                     "    members: M                 networks per grid point, trained on independently noised targets (default 3)\n"
                                     "    d, outputs, width, depth, activation, bias   teacher-student sizes and the students (default 10, 5, 16, 1, identity)\n"
                                     "    probes: N  test: N         common probe inputs, noiseless test samples (default 256, 1024)\n"
                                     "    seed, noise_seed, same_init, svcca_variance, svcca_k, train: {the train: keys}\n"
                                     "  solver:                      PETSc/SLEPc options, below the command line (which wins):\n"
                                     "    svd_tol: 1e-10             a mapping option: value (leading '-' optional; no value: a flag)\n"
                                     "                               or a single string \"-svd_tol 1e-10 -log_view\"\n"
                                     "  resources:\n"
                                     "    memory_per_rank: SIZE      memory budget of one rank (default 2GiB); units B, KB/MB/GB/TB\n"
                                     "                               (powers of 1000), KiB/MiB/GiB/TiB and K/M/G/T (powers of 1024)\n"
                                     "    ranks_per_task: auto|N     ranks per task (default auto: planned from the memory budget and cost)\n";

/*@C
  SpdJobPrintKeys - print the reference of every job-file key

  Not collective

  Input Parameter:
. f - the stream (stdout for `specdyn run --help`)

.seealso: `SpdJobLoad()`
@*/
PetscErrorCode SpdJobPrintKeys(FILE *f)
{
  PetscFunctionBegin;
  /* plain stdio: `specdyn run --help` prints this before MPI and PETSc are initialized */
  PetscCheck(fputs(SpdJobKeysText, f) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write the job key reference");
  PetscFunctionReturn(0);
}
