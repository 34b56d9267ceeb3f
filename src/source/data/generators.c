/* Synthetic data sets generated per sample, identical for any number of ranks.

   Randomness is counter-based (SpdRandom, src/sys/random.c): sample i draws from its own
   SplitMix64 stream (Steele, Lea and Flood, "Fast splittable pseudorandom number
   generators", OOPSLA 2014) whose state starts at

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

#define SPD_TAG_MIXTURE UINT64_C(0x4d49585455524521) /* "MIXTURE!" */
#define SPD_TAG_TSAMPLE UINT64_C(0x5453414d504c4521) /* "TSAMPLE!" */
#define SPD_TAG_TEACHER UINT64_C(0x5445414348455221) /* "TEACHER!" */

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
    SpdRandom  st;
    PetscReal *x = d_->X + (size_t)i * (size_t)d;
    PetscInt   a;

    SpdRandomSeed(&st, seed, SPD_TAG_MIXTURE, (PetscInt64)d_->start + i);
    a = (PetscInt)(SpdRandomUniform(&st) * (PetscReal)k);
    if (a >= k) a = k - 1; /* defensive: Uniform() < 1, so floor(k u) <= k - 1 already */
    d_->labels[i] = a;
    for (PetscInt j = 0; j < d; j++) x[j] = SpdRandomNormal(&st);
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
  PetscFunctionBegin;
  PetscCall(SpdDataTeacherStudentNoise(comm, n, d, c, snr, seed, seed, data));
  PetscFunctionReturn(0);
}

/*@C
  SpdDataTeacherStudentNoise - teacher-student regression whose noise has its own seed

  Collective

  Input Parameters:
+ comm       - the ranks that share the samples
. n          - number of samples
. d          - input dimension
. c          - output dimension (>= 1)
. snr        - variance of the signal T x / sqrt(d) over the variance of the noise; <= 0: no noise
. seed       - the seed of the teacher and of the inputs
- noise_seed - the seed of the noise

  Output Parameter:
. data - the data set

  Notes:
  Sample i's noise e_i is made of the normals d .. d + c - 1 of the stream
  (noise_seed, TSAMPLE, i) (its first d normals are the inputs when noise_seed == seed),
  so noise_seed == seed gives SpdDataTeacherStudent(seed) exactly, and copies of one
  training set with different noise seeds share T and every x_i.

.seealso: `SpdDataTeacherStudent()`, `SpdDataDestroy()`
@*/
PetscErrorCode SpdDataTeacherStudentNoise(MPI_Comm comm, PetscInt n, PetscInt d, PetscInt c, PetscReal snr, PetscInt64 seed, PetscInt64 noise_seed, SpdData *data)
{
  SpdData    d_;
  char       name[256];
  PetscReal *T, fro2 = 0, sigma = 0, isd = 1.0 / sqrt((PetscReal)d);
  SpdRandom  st, ns;

  PetscFunctionBegin;
  PetscValidPointer(data, 8);
  *data = NULL;
  PetscCall(CheckSizes("SpdDataTeacherStudent", n, d));
  PetscCheck(c >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataTeacherStudent: c = %" PetscInt_FMT " outputs; give c >= 1", c);
  PetscCheck(!isnan(snr) && !(isinf(snr) && snr > 0), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataTeacherStudent: snr = %g; give a finite snr (> 0: noisy targets, <= 0: no noise)", (double)snr);
  PetscCheck((PetscInt64)c * (PetscInt64)d <= PETSC_MAX_INT, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "SpdDataTeacherStudent: the teacher c x d = %" PetscInt_FMT " x %" PetscInt_FMT " is too large", c, d);
  if (noise_seed == seed)
    PetscCall(PetscSNPrintf(name, sizeof(name), "teacher-student(n=%" PetscInt_FMT ", d=%" PetscInt_FMT ", c=%" PetscInt_FMT ", snr=%g, seed=%" PetscInt64_FMT ")", n, d, c, (double)snr, seed));
  else
    PetscCall(PetscSNPrintf(name, sizeof(name), "teacher-student(n=%" PetscInt_FMT ", d=%" PetscInt_FMT ", c=%" PetscInt_FMT ", snr=%g, seed=%" PetscInt64_FMT ", noise_seed=%" PetscInt64_FMT ")", n, d, c, (double)snr, seed, noise_seed));

  /* the teacher, the same on every rank */
  PetscCall(PetscMalloc1((size_t)c * (size_t)d, &T));
  SpdRandomSeed(&st, seed, SPD_TAG_TEACHER, 0);
  for (PetscInt64 t = 0; t < (PetscInt64)c * d; t++) {
    T[t] = SpdRandomNormal(&st);
    fro2 += T[t] * T[t];
  }
  if (snr > 0) sigma = sqrt(fro2 / ((PetscReal)c * (PetscReal)d * snr));

  PetscCall(SpdDataCreate_Private(comm, name, &d_));
  PetscCall(SpdDataSetSizes_Private(d_, n, d));
  d_->c = c;
  PetscCall(PetscMalloc1((size_t)d_->nlocal * (size_t)c + 1, &d_->Y));
  for (PetscInt i = 0; i < d_->nlocal; i++) {
    PetscReal *x = d_->X + (size_t)i * (size_t)d, *y = d_->Y + (size_t)i * (size_t)c;

    SpdRandomSeed(&st, seed, SPD_TAG_TSAMPLE, (PetscInt64)d_->start + i);
    for (PetscInt j = 0; j < d; j++) x[j] = SpdRandomNormal(&st);
    for (PetscInt a = 0; a < c; a++) {
      const PetscReal *t = T + (size_t)a * (size_t)d;
      PetscReal        s = 0;

      for (PetscInt j = 0; j < d; j++) s += t[j] * x[j];
      y[a] = s * isd;
    }
    if (sigma > 0) {
      SpdRandom *e = &st;

      if (noise_seed != seed) { /* the same position in the noise seed's stream: skip its d inputs */
        SpdRandomSeed(&ns, noise_seed, SPD_TAG_TSAMPLE, (PetscInt64)d_->start + i);
        for (PetscInt j = 0; j < d; j++) (void)SpdRandomNormal(&ns);
        e = &ns;
      }
      for (PetscInt a = 0; a < c; a++) y[a] += sigma * SpdRandomNormal(e);
    }
  }
  PetscCall(PetscFree(T));
  *data = d_;
  PetscFunctionReturn(0);
}
