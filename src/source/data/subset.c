/* Subsets of a data set (minibatches, "the first m samples", random subsets) and label
   corruption (Zhang et al., "Understanding deep learning requires rethinking
   generalization", ICLR 2017: random and corrupted labels).

   Both keep the data where they are: a subset holds, on each rank, the selected samples of
   that rank's own block, so taking a minibatch needs no communication beyond one scan of
   the local counts. Corruption draws sample i's decision and new label from the stream
   (seed, SPD_TAG_CORRUPT, i) of its global index:
     u = uniform; corrupted when u < fraction;
     random labels:  new = floor(k v);
     wrong labels:   new = floor((k - 1) v), then new += 1 when new >= y (uniform over the
                     k - 1 labels other than y),
   with v the second uniform of the stream, so the result is the same for any number of
   ranks (tests/train/corrupt_ref.py re-implements it). */
#include "dataimpl.h"
#include <math.h>

#define SPD_TAG_CORRUPT UINT64_C(0x434f525255505421) /* "CORRUPT!" */

/* Checks gidx, finds this rank's selected samples gidx[lo .. lo + nl) (two binary searches
   in [start, start + nlocal)) and the number selected on lower ranks (one MPI_Scan). */
static PetscErrorCode SpdDataSubsetLocate_Private(SpdData data, PetscInt m, const PetscInt gidx[], PetscInt *lo, PetscInt *nl, PetscInt *start)
{
  PetscInt a = 0, b = m, hi, end;

  PetscFunctionBegin;
  PetscCheck(m >= 1 && m <= data->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataSubset of %s: %" PetscInt_FMT " samples requested from a data set of %" PetscInt_FMT "; give 1 <= m <= n", data->name, m, data->n);
  for (PetscInt j = 0; j < m; j++) {
    PetscCheck(gidx[j] >= 0 && gidx[j] < data->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataSubset of %s: index %" PetscInt_FMT " (entry %" PetscInt_FMT ") is outside [0, %" PetscInt_FMT ")", data->name, gidx[j], j, data->n);
    PetscCheck(j == 0 || gidx[j] > gidx[j - 1], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "SpdDataSubset of %s: indices must be strictly increasing, but entry %" PetscInt_FMT " is %" PetscInt_FMT " after %" PetscInt_FMT "; sort them and remove duplicates", data->name, j, gidx[j], gidx[j - 1]);
  }
  while (a < b) {
    PetscInt mid = a + (b - a) / 2;
    if (gidx[mid] < data->start)
      a = mid + 1;
    else
      b = mid;
  }
  *lo = a;
  b   = m;
  while (a < b) {
    PetscInt mid = a + (b - a) / 2;
    if (gidx[mid] < data->start + data->nlocal)
      a = mid + 1;
    else
      b = mid;
  }
  hi  = a;
  *nl = hi - *lo;
  PetscCallMPI(MPI_Scan(nl, &end, 1, MPIU_INT, MPI_SUM, data->comm));
  *start = end - *nl;
  PetscFunctionReturn(0);
}

/* Copies the nl samples idx[0 .. nl) (global indices on this rank) into s's arrays. */
static PetscErrorCode SpdDataSubsetCopy_Private(SpdData data, PetscInt nl, const PetscInt idx[], SpdData s)
{
  PetscInt d = data->d, c = data->c;

  PetscFunctionBegin;
  for (PetscInt j = 0; j < nl; j++) PetscCall(PetscArraycpy(s->X + (size_t)j * d, data->X + (size_t)(idx[j] - data->start) * d, d));
  if (data->labels)
    for (PetscInt j = 0; j < nl; j++) s->labels[j] = data->labels[idx[j] - data->start];
  if (data->Y)
    for (PetscInt j = 0; j < nl; j++) PetscCall(PetscArraycpy(s->Y + (size_t)j * c, data->Y + (size_t)(idx[j] - data->start) * c, c));
  PetscFunctionReturn(0);
}

/* Arrays of s for cap local samples (freed first). */
static PetscErrorCode SpdDataSubsetAlloc_Private(SpdData data, PetscInt cap, SpdData s)
{
  PetscFunctionBegin;
  PetscCall(PetscFree(s->X));
  PetscCall(PetscFree(s->labels));
  PetscCall(PetscFree(s->Y));
  PetscCall(PetscMalloc1((size_t)cap * (size_t)data->d + 1, &s->X));
  if (data->labels) PetscCall(PetscMalloc1(cap + 1, &s->labels));
  if (data->Y) PetscCall(PetscMalloc1((size_t)cap * (size_t)data->c + 1, &s->Y));
  PetscFunctionReturn(0);
}

/*@C
  SpdDataSubset - the samples of a data set with the given global indices

  Collective

  Input Parameters:
+ data - the data set
. m    - number of selected samples (>= 1)
- gidx - their global indices, strictly increasing, in [0, n) (the same on every rank)

  Output Parameter:
. sub - the subset: n = m samples, each rank holding the selected samples of its own block
        in the order given; start is the number of selected samples on lower ranks

  Notes:
  The split of the subset over the ranks is generally not PETSc's default split: it follows
  the parent's. The name of the subset names the parent.

.seealso: `SpdDataSubsetRefill()`, `SpdDataCorruptLabels()`, `SpdDataDestroy()`
@*/
PetscErrorCode SpdDataSubset(SpdData data, PetscInt m, const PetscInt gidx[], SpdData *sub)
{
  SpdData  s;
  PetscInt lo, nl, start;
  char     name[256];

  PetscFunctionBegin;
  PetscValidPointer(sub, 4);
  *sub = NULL;
  PetscCall(SpdDataSubsetLocate_Private(data, m, gidx, &lo, &nl, &start));
  PetscCall(PetscSNPrintf(name, sizeof(name), "%" PetscInt_FMT " samples of %s", m, data->name));
  PetscCall(SpdDataCreate_Private(data->comm, name, &s));
  s->n        = m;
  s->d        = data->d;
  s->nclasses = data->nclasses;
  s->c        = data->c;
  s->nlocal   = nl;
  s->start    = start;
  PetscCall(SpdDataSubsetAlloc_Private(data, nl, s));
  PetscCall(SpdDataSubsetCopy_Private(data, nl, gidx + lo, s));
  *sub = s;
  PetscFunctionReturn(0);
}

/*@C
  SpdDataSubsetRefill - SpdDataSubset() into an existing subset of the same data set,
  reusing its arrays (e.g. a new minibatch every training step)

  Collective

  Input Parameters:
+ data - the data set the subset was taken from
. m    - number of selected samples (>= 1)
- gidx - their global indices, strictly increasing, in [0, n) (the same on every rank)

  Input/Output Parameters:
+ cap - the capacity of sub's arrays in local samples (sub->nlocal after SpdDataSubset());
        grown when the new selection needs more
- sub - the subset, refilled

.seealso: `SpdDataSubset()`
@*/
PetscErrorCode SpdDataSubsetRefill(SpdData data, PetscInt m, const PetscInt gidx[], PetscInt *cap, SpdData sub)
{
  PetscInt lo, nl, start;

  PetscFunctionBegin;
  PetscCheck(sub->d == data->d && sub->c == data->c && sub->nclasses == data->nclasses, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP, "SpdDataSubsetRefill: %s is not a subset of %s", sub->name, data->name);
  PetscCall(SpdDataSubsetLocate_Private(data, m, gidx, &lo, &nl, &start));
  if (nl > *cap) {
    PetscCall(SpdDataSubsetAlloc_Private(data, nl, sub));
    *cap = nl;
  }
  PetscCall(PetscSNPrintf(sub->name, sizeof(sub->name), "%" PetscInt_FMT " samples of %s", m, data->name));
  sub->n      = m;
  sub->nlocal = nl;
  sub->start  = start;
  PetscCall(SpdDataSubsetCopy_Private(data, nl, gidx + lo, sub));
  PetscFunctionReturn(0);
}

/*@C
  SpdDataCorruptLabels - replace a random fraction of the class labels

  Not Collective (every rank corrupts its own samples; the result is rank-count invariant)

  Input Parameters:
+ data          - classification data (labels)
. fraction      - probability in [0, 1] that a sample's label is replaced
. random_labels - PETSC_TRUE: the new label is uniform over all classes (may equal the true
                  one); PETSC_FALSE: uniform over the other classes (fraction 1 makes every
                  label wrong)
- seed          - the seed; sample i's draws come from the stream (seed, CORRUPT, i)

  Notes:
  Errors on regression data and, for wrong labels, on data with fewer than 2 classes.

.seealso: `SpdDataSubset()`
@*/
PetscErrorCode SpdDataCorruptLabels(SpdData data, PetscReal fraction, PetscBool random_labels, PetscInt64 seed)
{
  PetscInt k = data->nclasses;

  PetscFunctionBegin;
  PetscCheck(data->labels && k >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Label corruption of %s: the data have no class labels (regression targets); corrupt only classification data", data->name);
  PetscCheck(fraction >= 0 && fraction <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Label corruption of %s: fraction = %g; give a fraction in [0, 1]", data->name, (double)fraction);
  PetscCheck(random_labels || k >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Label corruption of %s: a wrong label needs at least 2 classes, the data have %" PetscInt_FMT, data->name, k);
  for (PetscInt i = 0; i < data->nlocal; i++) {
    SpdRandom r;
    PetscReal u, v;
    PetscInt  y = data->labels[i], z;

    SpdRandomSeed(&r, seed, SPD_TAG_CORRUPT, (PetscInt64)data->start + i);
    u = SpdRandomUniform(&r);
    v = SpdRandomUniform(&r);
    if (!(u < fraction)) continue;
    if (random_labels) {
      z = (PetscInt)(v * (PetscReal)k);
      if (z >= k) z = k - 1;
    } else {
      z = (PetscInt)(v * (PetscReal)(k - 1));
      if (z >= k - 1) z = k - 2;
      if (z >= y) z++;
    }
    data->labels[i] = z;
  }
  PetscFunctionReturn(0);
}
