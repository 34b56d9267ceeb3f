/* Synthetic data sets generated per sample, identical for any number of ranks.

   Randomness is counter-based: sample i draws from its own SplitMix64 stream (Steele,
   Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) whose
   state starts at

     s_i = mix(mix(seed XOR tag) + i),  mix(z) = SplitMix64's output function of z + golden,

   so a rank generates exactly its samples [start, start + nlocal) without drawing the
   samples before them. tag separates the uses of one seed (mixture samples, teacher-student
   samples, the teacher). Uniforms are the top 53 bits of an output times 2^-53, normals
   come in pairs from Box-Muller (u1 in (0, 1], u2 in [0, 1)):
     z0 = sqrt(-2 log u1) cos(2 pi u2), z1 = sqrt(-2 log u1) sin(2 pi u2),
   used in the order z0, z1, z0', ... (tests/data/gen_data.py re-implements this).

   - Gaussian mixture (Ben Arous, Gheissari, Huang, Jagannath, "High-dimensional SGD
     aligns with emerging outlier eigenspaces", 2023): label y = floor(k u) from the first
     uniform of the stream, then x = snr e_y + z with d normals z.
   - Teacher-student regression: the teacher T (c x d, N(0, 1) entries, row-major) comes
     from the stream (seed, teacher tag, 0); sample i draws d normals x, then c normals e:
     y = T x / sqrt(d) + sigma e with sigma^2 = ||T||_F^2 / (c d snr), so the total
     variance of the signal T x / sqrt(d) over that of the noise is snr exactly given T
     (E |T x|^2 / d = ||T||_F^2 / d); snr <= 0: no noise (e is not drawn). */
#include "dataimpl.h"
#include <math.h>
#include <stdint.h>

#define SPD_TAG_MIXTURE UINT64_C(0x4d49585455524521) /* "MIXTURE!" */
#define SPD_TAG_TSAMPLE UINT64_C(0x5453414d504c4521) /* "TSAMPLE!" */
#define SPD_TAG_TEACHER UINT64_C(0x5445414348455221) /* "TEACHER!" */

typedef struct {
  uint64_t  s;
  PetscReal spare; /* the second normal of a Box-Muller pair */
  PetscBool has_spare;
} Stream;

static uint64_t Next(uint64_t *s)
{
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static uint64_t Mix(uint64_t z) { return Next(&z); }

static void StreamSeed(Stream *st, PetscInt64 seed, uint64_t tag, PetscInt64 i)
{
  st->s         = Mix(Mix((uint64_t)seed ^ tag) + (uint64_t)i);
  st->has_spare = PETSC_FALSE;
}

static PetscReal Uniform(Stream *st) { return (PetscReal)(Next(&st->s) >> 11) * 0x1.0p-53; }

static PetscReal Normal(Stream *st)
{
  PetscReal u1, u2, r;

  if (st->has_spare) {
    st->has_spare = PETSC_FALSE;
    return st->spare;
  }
  u1            = (PetscReal)((Next(&st->s) >> 11) + 1) * 0x1.0p-53;
  u2            = (PetscReal)(Next(&st->s) >> 11) * 0x1.0p-53;
  r             = sqrt(-2.0 * log(u1));
  st->spare     = r * sin(2.0 * PETSC_PI * u2);
  st->has_spare = PETSC_TRUE;
  return r * cos(2.0 * PETSC_PI * u2);
}

static PetscErrorCode CheckSizes(const char who[], PetscInt n, PetscInt d)
{
  PetscFunctionBegin;
  PetscCheck(n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: n = %" PetscInt_FMT " samples; give n >= 1", who, n);
  PetscCheck(d >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: d = %" PetscInt_FMT " input dimensions; give d >= 1", who, d);
  PetscFunctionReturn(0);
}

/*@C
  SpdDataGaussianMixture - a k-class Gaussian mixture in R^d with class means snr * e_a

  Collective

  Input Parameters:
+ comm - the ranks that share the samples
. n    - number of samples
. d    - input dimension
. k    - number of classes, 1 <= k <= d
. snr  - norm of the class means (>= 0)
- seed - the seed; sample i depends on (seed, i) only

  Output Parameter:
. data - the data set: labels uniform over 0..k-1, x = snr e_label + N(0, I_d); nclasses = k

  Notes:
  The same (n, d, k, snr, seed) give the same samples for any number of ranks, and
  sample i is the same for any n > i.

.seealso: `SpdDataTeacherStudent()`, `SpdDataDestroy()`
@*/
PetscErrorCode SpdDataGaussianMixture(MPI_Comm comm, PetscInt n, PetscInt d, PetscInt k, PetscReal snr, PetscInt64 seed, SpdData *data)
{
  SpdData d_;
  char    name[256];

  PetscFunctionBegin;
  PetscValidPointer(data, 7);
  *data = NULL;
  PetscCall(CheckSizes("SpdDataGaussianMixture", n, d));
  PetscCheck(k >= 1 && k <= d, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataGaussianMixture: k = %" PetscInt_FMT " classes in dimension d = %" PetscInt_FMT "; the class means snr * e_a need 1 <= k <= d", k, d);
  PetscCheck(isfinite(snr) && snr >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataGaussianMixture: snr = %g; give a finite snr >= 0 (the norm of the class means)", (double)snr);
  PetscCall(PetscSNPrintf(name, sizeof(name), "gaussian-mixture(n=%" PetscInt_FMT ", d=%" PetscInt_FMT ", k=%" PetscInt_FMT ", snr=%g, seed=%" PetscInt64_FMT ")", n, d, k, (double)snr, seed));
  PetscCall(SpdDataCreate_Private(comm, name, &d_));
  PetscCall(SpdDataSetSizes_Private(d_, n, d));
  d_->nclasses = k;
  PetscCall(PetscMalloc1(d_->nlocal + 1, &d_->labels));
  for (PetscInt i = 0; i < d_->nlocal; i++) {
    Stream     st;
    PetscReal *x = d_->X + (size_t)i * (size_t)d;
    PetscInt   a;

    StreamSeed(&st, seed, SPD_TAG_MIXTURE, (PetscInt64)d_->start + i);
    a = (PetscInt)(Uniform(&st) * (PetscReal)k);
    if (a >= k) a = k - 1; /* defensive: Uniform() < 1, so floor(k u) <= k - 1 already */
    d_->labels[i] = a;
    for (PetscInt j = 0; j < d; j++) x[j] = Normal(&st);
    x[a] += snr;
  }
  *data = d_;
  PetscFunctionReturn(0);
}

/*@C
  SpdDataTeacherStudent - teacher-student regression y = T x / sqrt(d) + noise

  Collective

  Input Parameters:
+ comm - the ranks that share the samples
. n    - number of samples
. d    - input dimension
. c    - output dimension (>= 1)
. snr  - variance of the signal T x / sqrt(d) over the variance of the noise; <= 0: no noise
- seed - the seed of the teacher and of the samples

  Output Parameter:
. data - the data set: x ~ N(0, I_d), Y (nlocal x c) the targets

  Notes:
  T (c x d) has N(0, 1) entries drawn from seed alone; the noise is N(0, sigma^2 I_c) with
  sigma^2 = ||T||_F^2 / (c d snr), so the signal-to-noise ratio summed over the outputs is
  snr exactly for the given teacher. The inputs do not depend on snr. The samples are the
  same for any number of ranks.

.seealso: `SpdDataGaussianMixture()`, `SpdDataDestroy()`
@*/
PetscErrorCode SpdDataTeacherStudent(MPI_Comm comm, PetscInt n, PetscInt d, PetscInt c, PetscReal snr, PetscInt64 seed, SpdData *data)
{
  SpdData    d_;
  char       name[256];
  PetscReal *T, fro2 = 0, sigma = 0, isd = 1.0 / sqrt((PetscReal)d);
  Stream     st;

  PetscFunctionBegin;
  PetscValidPointer(data, 7);
  *data = NULL;
  PetscCall(CheckSizes("SpdDataTeacherStudent", n, d));
  PetscCheck(c >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataTeacherStudent: c = %" PetscInt_FMT " outputs; give c >= 1", c);
  PetscCheck(!isnan(snr) && !(isinf(snr) && snr > 0), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataTeacherStudent: snr = %g; give a finite snr (> 0: noisy targets, <= 0: no noise)", (double)snr);
  PetscCheck((PetscInt64)c * (PetscInt64)d <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataTeacherStudent: the teacher c x d = %" PetscInt_FMT " x %" PetscInt_FMT " is too large", c, d);
  PetscCall(PetscSNPrintf(name, sizeof(name), "teacher-student(n=%" PetscInt_FMT ", d=%" PetscInt_FMT ", c=%" PetscInt_FMT ", snr=%g, seed=%" PetscInt64_FMT ")", n, d, c, (double)snr, seed));

  /* the teacher, the same on every rank */
  PetscCall(PetscMalloc1((size_t)c * (size_t)d, &T));
  StreamSeed(&st, seed, SPD_TAG_TEACHER, 0);
  for (PetscInt64 t = 0; t < (PetscInt64)c * d; t++) {
    T[t] = Normal(&st);
    fro2 += T[t] * T[t];
  }
  if (snr > 0) sigma = sqrt(fro2 / ((PetscReal)c * (PetscReal)d * snr));

  PetscCall(SpdDataCreate_Private(comm, name, &d_));
  PetscCall(SpdDataSetSizes_Private(d_, n, d));
  d_->c = c;
  PetscCall(PetscMalloc1((size_t)d_->nlocal * (size_t)c + 1, &d_->Y));
  for (PetscInt i = 0; i < d_->nlocal; i++) {
    PetscReal *x = d_->X + (size_t)i * (size_t)d, *y = d_->Y + (size_t)i * (size_t)c;

    StreamSeed(&st, seed, SPD_TAG_TSAMPLE, (PetscInt64)d_->start + i);
    for (PetscInt j = 0; j < d; j++) x[j] = Normal(&st);
    for (PetscInt a = 0; a < c; a++) {
      const PetscReal *t = T + (size_t)a * (size_t)d;
      PetscReal        s = 0;

      for (PetscInt j = 0; j < d; j++) s += t[j] * x[j];
      y[a] = s * isd;
    }
    if (sigma > 0)
      for (PetscInt a = 0; a < c; a++) y[a] += sigma * Normal(&st);
  }
  PetscCall(PetscFree(T));
  *data = d_;
  PetscFunctionReturn(0);
}
