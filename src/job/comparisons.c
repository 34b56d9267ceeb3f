/* Which comparisons and differences a study makes (job key `compare:`).

   Runs are the job's `runs:` entries; their checkpoints are consecutive in
   job->checkpoints, ordered by step. From the settings this file derives
     - the checkpoint pairs (a, b) whose differences W_a - W_b become tasks:
       runs (every pair of runs at each step both have), previous (W_t - W_{t-1}) and
       initial (W_t - W_first) within each run;
     - the comparisons of top-k singular vectors between two weight tasks of the same
       analysed name: each checkpoint vs its run's final and previous checkpoint, and
       runs against each other at equal steps;
     - the layer pairs of one checkpoint: consecutive matrices whose shapes chain
       (layers: auto; split parts are left to explicit pairs) and the pairs named in
       the job, where '*' matches the same text in a and b, each pair of split parts
       also compared head by head when both have heads.
   A comparison needs both tasks to have top-k vectors (weights.top > 0); its id hashes
   the relation, the spaces, both task ids and k, so a new checkpoint only adds the
   comparisons it takes part in (and the "final" ones when it becomes the last). */
#include "planimpl.h"

const char *const SpdCompareRelationNames[] = { "final", "previous", "runs", "layers", NULL };

static SpdPlan SpdLookupPlan_Private; /* qsort has no context argument */

static int SpdLookupCompare_Private(const void *x, const void *y)
{
  const SpdTask *a = &SpdLookupPlan_Private->tasks[*(const PetscInt *)x], *b = &SpdLookupPlan_Private->tasks[*(const PetscInt *)y];
  if (a->checkpoint != b->checkpoint) return a->checkpoint < b->checkpoint ? -1 : 1;
  return strcmp(a->view.name, b->view.name);
}

PetscErrorCode SpdTaskLookupCreate(SpdPlan plan, PetscBool curvature, SpdTaskLookup *lk)
{
  PetscFunctionBegin;
  lk->n = 0;
  PetscCall(PetscMalloc1(plan->ntasks + 1, &lk->order));
  for (PetscInt i = 0; i < plan->ntasks; i++)
    if (plan->tasks[i].checkpoint_b < 0 && !plan->tasks[i].jacobian && (plan->tasks[i].curv_op >= 0) == curvature) lk->order[lk->n++] = i;
  SpdLookupPlan_Private = plan;
  qsort(lk->order, (size_t)lk->n, sizeof(PetscInt), SpdLookupCompare_Private);
  SpdLookupPlan_Private = NULL;
  PetscFunctionReturn(0);
}

PetscInt SpdTaskLookupFind(SpdPlan plan, const SpdTaskLookup *lk, PetscInt c, const char name[])
{
  PetscInt lo = 0, hi = lk->n;

  while (lo < hi) {
    PetscInt       mid = lo + (hi - lo) / 2;
    const SpdTask *t   = &plan->tasks[lk->order[mid]];
    int            cmp = t->checkpoint != c ? (t->checkpoint < c ? -1 : 1) : strcmp(t->view.name, name);
    if (!cmp) return lk->order[mid];
    if (cmp < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

PetscErrorCode SpdTaskLookupDestroy(SpdTaskLookup *lk)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(lk->order));
  lk->n = 0;
  PetscFunctionReturn(0);
}

/* The runs: start and length of each run's block in job->checkpoints. */
static PetscErrorCode SpdJobRuns_Private(SpdJob job, PetscInt *nruns, PetscInt **start, PetscInt **len)
{
  PetscInt n = 0;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(job->ncheckpoints + 1, start, job->ncheckpoints + 1, len));
  for (PetscInt c = 0; c < job->ncheckpoints; c++) {
    if (!job->checkpoints[c].run[0]) continue;
    if (n && !strcmp(job->checkpoints[(*start)[n - 1]].run, job->checkpoints[c].run))
      (*len)[n - 1]++;
    else {
      (*start)[n] = c;
      (*len)[n++] = 1;
    }
  }
  *nruns = n;
  PetscFunctionReturn(0);
}

/* The checkpoint of run (s, l) at `step`, or -1. */
static PetscInt SpdRunAtStep_Private(SpdJob job, PetscInt s, PetscInt l, PetscInt64 step)
{
  if (step < 0) return -1;
  for (PetscInt c = s; c < s + l; c++)
    if (job->checkpoints[c].step == step) return c;
  return -1;
}

/* Append the checkpoint pair (a, b) unless already there. */
static PetscErrorCode SpdPairAdd_Private(PetscInt *n, PetscInt *cap, PetscInt **pairs, PetscInt a, PetscInt b)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < *n; i++)
    if ((*pairs)[2 * i] == a && (*pairs)[2 * i + 1] == b) PetscFunctionReturn(0);
  if (*n == *cap) {
    *cap = PetscMax(16, 2 * *cap);
    PetscCall(PetscRealloc(sizeof(PetscInt) * 2 * (size_t)*cap, pairs));
  }
  (*pairs)[2 * *n]     = a;
  (*pairs)[2 * *n + 1] = b;
  (*n)++;
  PetscFunctionReturn(0);
}

/* Checkpoint pairs of one relation: (a, b) = (t, last), (t, previous), (run r at s, run q at s). */
static PetscErrorCode SpdCheckpointPairs_Private(SpdJob job, SpdCompareRelation rel, PetscInt *n, PetscInt **pairs)
{
  PetscInt nruns, *start, *len, cap = 0;

  PetscFunctionBegin;
  *n     = 0;
  *pairs = NULL;
  PetscCall(SpdJobRuns_Private(job, &nruns, &start, &len));
  for (PetscInt r = 0; r < nruns; r++) {
    PetscInt s = start[r], l = len[r];
    if (rel == SPD_CMP_FINAL)
      for (PetscInt c = s; c < s + l - 1; c++) PetscCall(SpdPairAdd_Private(n, &cap, pairs, c, s + l - 1));
    if (rel == SPD_CMP_PREVIOUS)
      for (PetscInt c = s + 1; c < s + l; c++) PetscCall(SpdPairAdd_Private(n, &cap, pairs, c - 1, c));
    if (rel == SPD_CMP_RUNS)
      for (PetscInt q = r + 1; q < nruns; q++)
        for (PetscInt c = s; c < s + l; c++) {
          PetscInt d = SpdRunAtStep_Private(job, start[q], len[q], job->checkpoints[c].step);
          if (d >= 0) PetscCall(SpdPairAdd_Private(n, &cap, pairs, c, d));
        }
  }
  PetscCall(PetscFree2(start, len));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdPlanDifferencePairs_Private(SpdJob job, PetscInt *npairs, PetscInt **pairs)
{
  const SpdCompareSettings *cs = &job->compare;
  PetscInt                  n = 0, cap = 0, nruns, *start, *len;

  PetscFunctionBegin;
  *pairs = NULL;
  PetscCall(SpdJobRuns_Private(job, &nruns, &start, &len));
  for (PetscInt r = 0; r < nruns && cs->enabled; r++) {
    PetscInt s = start[r], l = len[r];
    for (PetscInt c = s + 1; c < s + l; c++) {
      if (cs->diff_previous) PetscCall(SpdPairAdd_Private(&n, &cap, pairs, c, c - 1));
      if (cs->diff_initial) PetscCall(SpdPairAdd_Private(&n, &cap, pairs, c, s));
    }
    for (PetscInt q = r + 1; q < nruns && cs->diff_runs; q++)
      for (PetscInt c = s; c < s + l; c++) {
        PetscInt d = SpdRunAtStep_Private(job, start[q], len[q], job->checkpoints[c].step);
        if (d >= 0) PetscCall(SpdPairAdd_Private(&n, &cap, pairs, c, d));
      }
  }
  PetscCall(PetscFree2(start, len));
  *npairs = n;
  PetscFunctionReturn(0);
}

/* ---- comparisons ------------------------------------------------------------ */

typedef struct {
  PetscInt       n, cap;
  SpdComparison *c;
} SpdCmpList;

static PetscErrorCode SpdCmpAdd_Private(SpdPlan plan, SpdCmpList *l, SpdCompareRelation rel, SpdSpaces spaces, PetscInt a, PetscInt b, PetscInt from)
{
  const SpdTask *ta = &plan->tasks[a], *tb = &plan->tasks[b];
  SpdComparison *c;
  char           buf[256];
  PetscBool      eigen = ta->curv_op >= 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscInt       k     = PetscMin(eigen ? PETSC_MAX_INT : plan->job->compare.k, PetscMin(ta->top, tb->top));

  PetscFunctionBegin;
  if (k < 1 || a == b) PetscFunctionReturn(0);
  if (l->n == l->cap) {
    l->cap = PetscMax(16, 2 * l->cap);
    PetscCall(PetscRealloc(sizeof(SpdComparison) * (size_t)l->cap, &l->c));
  }
  c = &l->c[l->n++];
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->relation = rel;
  c->spaces   = rel == SPD_CMP_LAYERS ? spaces : SPD_SPACES_OUT_IN;
  c->a        = a;
  c->b        = b;
  c->k        = k;
  c->eigen    = eigen;
  PetscCall(PetscSNPrintf(buf, sizeof(buf), "specdyn-compare-v1\n%s\n%s\n%s\n%s\nk=%" PetscInt_FMT "%s", SpdCompareRelationNames[rel], SpdSpacesNames[c->spaces], ta->id, tb->id, k, eigen ? "\neigen" : ""));
  PetscCall(SpdHashId(buf, c->id, sizeof(c->id)));
  for (PetscInt i = from; i < l->n - 1; i++) /* a pair named twice (auto and the job) */
    if (!strcmp(l->c[i].id, c->id)) {
      l->n--;
      break;
    }
  PetscFunctionReturn(0);
}

/* Match `pat` ('*' = any text, everything else literal) against `s`, recording the
   text of each '*' in caps[] (at most 8). */
static PetscBool SpdCaptureMatch_Private(const char *pat, const char *s, char caps[][SPD_MAX_NAME], int icap)
{
  if (!*pat) return *s ? PETSC_FALSE : PETSC_TRUE;
  if (*pat == '*') {
    if (icap >= 8) return PETSC_FALSE;
    for (size_t len = 0;; len++) {
      if (SpdCaptureMatch_Private(pat + 1, s + len, caps, icap + 1)) {
        if (len >= SPD_MAX_NAME) return PETSC_FALSE;
        memcpy(caps[icap], s, len);
        caps[icap][len] = 0;
        return PETSC_TRUE;
      }
      if (!s[len]) return PETSC_FALSE;
    }
  }
  return *pat == *s ? SpdCaptureMatch_Private(pat + 1, s + 1, caps, icap) : PETSC_FALSE;
}

/* `pat` with its '*'s replaced by caps[] in order. */
static PetscErrorCode SpdCaptureFill_Private(const char pat[], char caps[][SPD_MAX_NAME], char out[], size_t len)
{
  size_t o = 0;
  int    i = 0;

  PetscFunctionBegin;
  for (const char *p = pat; *p && o + 1 < len; p++) {
    if (*p == '*') {
      for (const char *q = caps[i++]; *q && o + 1 < len; q++) out[o++] = *q;
    } else
      out[o++] = *p;
  }
  out[o] = 0;
  PetscFunctionReturn(0);
}

static PetscBool SpdSpacesChain_Private(const SpdTask *a, const SpdTask *b, SpdSpaces sp)
{
  if (sp == SPD_SPACES_OUT_IN) return a->m == b->n ? PETSC_TRUE : PETSC_FALSE;
  if (sp == SPD_SPACES_OUT_OUT) return a->m == b->m ? PETSC_TRUE : PETSC_FALSE;
  return a->n == b->n ? PETSC_TRUE : PETSC_FALSE;
}

static const SpdPlan *SpdNaturalPlan_Private;
static int            SpdNaturalTasks_Private(const void *x, const void *y)
{
  const SpdTask *t = (*SpdNaturalPlan_Private)->tasks;
  return SpdNaturalCompare(t[*(const PetscInt *)x].view.name, t[*(const PetscInt *)y].view.name);
}

/* Layer pairs of checkpoint c. */
static PetscErrorCode SpdLayerPairs_Private(SpdPlan plan, const SpdTaskLookup *lk, PetscInt c, SpdCmpList *l)
{
  const SpdCompareSettings *cs = &plan->job->compare;
  PetscInt                 *mine, n = 0, from = l->n;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(lk->n + 1, &mine));
  for (PetscInt i = 0; i < lk->n; i++)
    if (plan->tasks[lk->order[i]].checkpoint == c) mine[n++] = lk->order[i];
  if (cs->layers_auto) {
    PetscInt nw = 0, *whole;
    PetscCall(PetscMalloc1(n + 1, &whole));
    for (PetscInt i = 0; i < n; i++)
      if (!strchr(plan->tasks[mine[i]].view.name, '[')) whole[nw++] = mine[i];
    SpdNaturalPlan_Private = &plan;
    qsort(whole, (size_t)nw, sizeof(PetscInt), SpdNaturalTasks_Private);
    SpdNaturalPlan_Private = NULL;
    for (PetscInt i = 0; i + 1 < nw; i++)
      if (SpdSpacesChain_Private(&plan->tasks[whole[i]], &plan->tasks[whole[i + 1]], SPD_SPACES_OUT_IN)) PetscCall(SpdCmpAdd_Private(plan, l, SPD_CMP_LAYERS, SPD_SPACES_OUT_IN, whole[i], whole[i + 1], from));
    PetscCall(PetscFree(whole));
  }
  for (PetscInt p = 0; p < cs->npairs; p++) {
    const SpdJobLayerPair *lp = &cs->pairs[p];
    for (PetscInt i = 0; i < n; i++) {
      char     caps[8][SPD_MAX_NAME], bname[SPD_MAX_NAME];
      PetscInt a = mine[i], b;

      if (!SpdCaptureMatch_Private(lp->a, plan->tasks[a].view.name, caps, 0)) continue;
      PetscCall(SpdCaptureFill_Private(lp->b, caps, bname, sizeof(bname)));
      b = SpdTaskLookupFind(plan, lk, c, bname);
      if (b < 0 || !SpdSpacesChain_Private(&plan->tasks[a], &plan->tasks[b], lp->spaces)) continue;
      PetscCall(SpdCmpAdd_Private(plan, l, SPD_CMP_LAYERS, lp->spaces, a, b, from));
      for (PetscInt h = 0;; h++) { /* head by head when both are split into heads */
        char     ha[SPD_MAX_NAME + 16], hb[SPD_MAX_NAME + 16];
        PetscInt ia, ib;
        PetscCall(PetscSNPrintf(ha, sizeof(ha), "%s/head%" PetscInt_FMT, plan->tasks[a].view.name, h));
        PetscCall(PetscSNPrintf(hb, sizeof(hb), "%s/head%" PetscInt_FMT, bname, h));
        ia = SpdTaskLookupFind(plan, lk, c, ha);
        ib = SpdTaskLookupFind(plan, lk, c, hb);
        if (ia < 0 || ib < 0) break;
        if (SpdSpacesChain_Private(&plan->tasks[ia], &plan->tasks[ib], lp->spaces)) PetscCall(SpdCmpAdd_Private(plan, l, SPD_CMP_LAYERS, lp->spaces, ia, ib, from));
      }
    }
  }
  PetscCall(PetscFree(mine));
  PetscFunctionReturn(0);
}

/* Curvature tasks with stored eigenvectors: principal angles between the top-k
   eigenspaces of consecutive checkpoints of a run (same operator and block). */
static PetscErrorCode SpdEigenPairs_Private(SpdPlan plan, SpdCmpList *l)
{
  SpdJob        job = plan->job;
  SpdTaskLookup lk;
  PetscInt      np, *pairs;

  PetscFunctionBegin;
  if (!job->curvature.enabled || !job->curvature.vectors) PetscFunctionReturn(0);
  PetscCall(SpdTaskLookupCreate(plan, PETSC_TRUE, &lk));
  PetscCall(SpdCheckpointPairs_Private(job, SPD_CMP_PREVIOUS, &np, &pairs));
  for (PetscInt p = 0; p < np; p++)
    for (PetscInt i = 0; i < lk.n; i++) {
      const SpdTask *ta = &plan->tasks[lk.order[i]];
      PetscInt       b;
      if (ta->checkpoint != pairs[2 * p]) continue;
      b = SpdTaskLookupFind(plan, &lk, pairs[2 * p + 1], ta->view.name);
      if (b >= 0 && plan->tasks[b].m == ta->m) PetscCall(SpdCmpAdd_Private(plan, l, SPD_CMP_PREVIOUS, SPD_SPACES_OUT_IN, lk.order[i], b, l->n));
    }
  PetscCall(PetscFree(pairs));
  PetscCall(SpdTaskLookupDestroy(&lk));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdPlanAddComparisons_Private(SpdPlan plan)
{
  SpdJob                    job = plan->job;
  const SpdCompareSettings *cs  = &job->compare;
  SpdCmpList                l   = { 0, 0, NULL };
  SpdTaskLookup             lk;
  const SpdCompareRelation  rels[3] = { SPD_CMP_FINAL, SPD_CMP_PREVIOUS, SPD_CMP_RUNS };
  const PetscBool           on[3]   = { cs->final, cs->previous, cs->runs };

  PetscFunctionBegin;
  plan->ncomparisons = 0;
  PetscCall(PetscFree(plan->comparisons));
  if (!cs->enabled) {
    PetscCall(SpdEigenPairs_Private(plan, &l));
    plan->ncomparisons = l.n;
    plan->comparisons  = l.c;
    PetscFunctionReturn(0);
  }
  PetscCall(SpdTaskLookupCreate(plan, PETSC_FALSE, &lk));
  for (int r = 0; r < 3; r++) {
    PetscInt np, *pairs;
    if (!on[r]) continue;
    PetscCall(SpdCheckpointPairs_Private(job, rels[r], &np, &pairs));
    for (PetscInt p = 0; p < np; p++)
      for (PetscInt i = 0; i < lk.n; i++) {
        const SpdTask *ta = &plan->tasks[lk.order[i]];
        PetscInt       b;
        if (ta->checkpoint != pairs[2 * p]) continue;
        b = SpdTaskLookupFind(plan, &lk, pairs[2 * p + 1], ta->view.name);
        if (b >= 0 && plan->tasks[b].m == ta->m && plan->tasks[b].n == ta->n) PetscCall(SpdCmpAdd_Private(plan, &l, rels[r], SPD_SPACES_OUT_IN, lk.order[i], b, l.n));
      }
    PetscCall(PetscFree(pairs));
  }
  if (cs->layers_auto || cs->npairs)
    for (PetscInt c = 0; c < job->ncheckpoints; c++) PetscCall(SpdLayerPairs_Private(plan, &lk, c, &l));
  PetscCall(SpdTaskLookupDestroy(&lk));
  PetscCall(SpdEigenPairs_Private(plan, &l));
  plan->ncomparisons = l.n;
  plan->comparisons  = l.c;
  PetscFunctionReturn(0);
}
