/* Counter-based random streams: SplitMix64 (Steele, Lea and Flood, "Fast splittable
   pseudorandom number generators", OOPSLA 2014).

   Stream (seed, tag, i) starts at s = mix(mix(seed XOR tag) + i), where mix(z) is
   SplitMix64's output function applied to z + golden gamma; each draw adds the golden
   gamma to s and returns the output function of it. Item i of a generated object (a data
   sample, a parameter, an epoch's permutation) thus gets its own stream without drawing
   the items before it, which makes every generated object the same for any number of
   ranks. Uniforms: the top 53 bits times 2^-53, in [0, 1). Normals: Box-Muller pairs,
     u1 = (top53 + 1) 2^-53 in (0, 1], u2 = top53 2^-53 in [0, 1),
     z0 = sqrt(-2 log u1) cos(2 pi u2), z1 = sqrt(-2 log u1) sin(2 pi u2),
   returned in the order z0, z1 (tests/data/gen_data.py and tests/train/ref.py re-implement
   this). The stream is part of specdyn's reproducibility contract: changing it changes
   every generated data set and every initialization. */
#include <specdyn/sys.h>
#include <math.h>

/* SplitMix64's step: advance the state by the golden gamma and return the output
   function of it (also the hash used to derive seeds). */
uint64_t SpdSplitMix64(uint64_t *s)
{
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static inline uint64_t SpdSplitMixMix(uint64_t z) { return SpdSplitMix64(&z); }

/*@C
  SpdRandomSeed - start the stream (seed, tag, i)

  Not Collective

  Input Parameters:
+ r    - the stream
. seed - the user's seed
. tag  - what the numbers are for (a constant per use, e.g. "MIXTURE!" as 8 ASCII bytes)
- i    - the item (sample, parameter, epoch)

.seealso: `SpdRandomUniform()`, `SpdRandomNormal()`
@*/
void SpdRandomSeed(SpdRandom *r, PetscInt64 seed, uint64_t tag, PetscInt64 i)
{
  r->s         = SpdSplitMixMix(SpdSplitMixMix((uint64_t)seed ^ tag) + (uint64_t)i);
  r->spare     = 0;
  r->has_spare = PETSC_FALSE;
}

/* A uniform in [0, 1) with 53 random bits. */
PetscReal SpdRandomUniform(SpdRandom *r) { return (PetscReal)(SpdSplitMix64(&r->s) >> 11) * 0x1.0p-53; }

/* A standard normal (Box-Muller; the second of each pair is kept for the next call). */
PetscReal SpdRandomNormal(SpdRandom *r)
{
  PetscReal u1, u2, rad;

  if (r->has_spare) {
    r->has_spare = PETSC_FALSE;
    return r->spare;
  }
  u1           = (PetscReal)((SpdSplitMix64(&r->s) >> 11) + 1) * 0x1.0p-53;
  u2           = (PetscReal)(SpdSplitMix64(&r->s) >> 11) * 0x1.0p-53;
  rad          = sqrt(-2.0 * log(u1));
  r->spare     = rad * sin(2.0 * PETSC_PI * u2);
  r->has_spare = PETSC_TRUE;
  return rad * cos(2.0 * PETSC_PI * u2);
}
