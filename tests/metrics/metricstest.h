/* Helpers shared by the metrics tests: scalar comparisons that also accept NaN / Inf
   references (an unknown metric is NaN, a singular matrix has condition Inf). */
#pragma once
#include "testutil.h"
#include <float.h>
#include <math.h>

/* |got - ref| <= rtol |ref| + atol; a NaN reference needs NaN, an Inf one the same Inf. */
static inline PetscErrorCode MTCheckReal(const char what[], PetscReal got, PetscReal ref, PetscReal rtol, PetscReal atol)
{
  PetscBool ok;

  PetscFunctionBeginUser;
  if (PetscIsNanReal(ref))
    ok = PetscIsNanReal(got);
  else if (PetscIsInfReal(ref))
    ok = (PetscBool)(got == ref);
  else
    ok = (PetscBool)(PetscAbsReal(got - ref) <= rtol * PetscAbsReal(ref) + atol);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %-44s %.17g (reference %.17g)\n", what, (double)got, (double)ref));
  PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: got %.17g, expected %.17g (rtol %.1e, atol %.1e)", what, (double)got, (double)ref, (double)rtol, (double)atol);
  PetscFunctionReturn(0);
}

static inline PetscErrorCode MTCheckInt(const char what[], PetscInt got, PetscInt ref)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %-44s %" PetscInt_FMT " (reference %" PetscInt_FMT ")\n", what, got, ref));
  PetscCheck(got == ref, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: got %" PetscInt_FMT ", expected %" PetscInt_FMT, what, got, ref);
  PetscFunctionReturn(0);
}

/* lo <= got <= hi */
static inline PetscErrorCode MTCheckRange(const char what[], PetscReal got, PetscReal lo, PetscReal hi)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %-44s %.10g (accepted [%.10g, %.10g])\n", what, (double)got, (double)lo, (double)hi));
  PetscCheck(got >= lo && got <= hi, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: got %.17g outside the accepted range [%.17g, %.17g]", what, (double)got, (double)lo, (double)hi);
  PetscFunctionReturn(0);
}

/* SpdTestRngSeed(seed) starts the splitmix64 stream `seed` steps into one common sequence,
   so nearby seeds give overlapping (shifted) streams. Spread the seeds of independent
   samples 2^32 draws apart. */
static inline uint64_t MTSeed(uint64_t seed) { return seed << 32; }
