#include "testutil.h"
#include <petscblaslapack.h>

static uint64_t next64(SpdTestRng *r);

/* splitmix64: small, seeded, portable. The seed is scrambled once so that seeds s and
   s+1 give unrelated streams (not the same stream shifted by one draw). */
void SpdTestRngSeed(SpdTestRng *r, uint64_t seed)
{
  r->s = seed;
  r->s = next64(r);
}

static uint64_t next64(SpdTestRng *r)
{
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SpdTestRngUniform(SpdTestRng *r) { return (double)(next64(r) >> 11) * 0x1.0p-53; }

double SpdTestRngNormal(SpdTestRng *r)
{
  double u1 = SpdTestRngUniform(r), u2 = SpdTestRngUniform(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * PETSC_PI * u2);
}

void SpdTestRandomMatrix(uint64_t seed, PetscInt m, PetscInt n, double a[])
{
  SpdTestRng r;
  SpdTestRngSeed(&r, seed);
  for (PetscInt64 i = 0; i < (PetscInt64)m * n; i++) a[i] = SpdTestRngNormal(&r);
}

double SpdTestMaxRelDiff(PetscInt n, const double a[], const double b[], double floor)
{
  double worst = 0;
  for (PetscInt i = 0; i < n; i++) {
    double d = PetscAbsReal(a[i] - b[i]) / PetscMax(PetscAbsReal(b[i]), floor);
    if (!(d <= worst)) worst = d; /* NaN propagates as a failure */
  }
  return worst;
}

PetscErrorCode SpdTestCheckClose(MPI_Comm comm, const char what[], PetscInt n, const double got[], const double ref[], double rtol, double floor)
{
  double d = SpdTestMaxRelDiff(n, got, ref, floor);

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "%s: max relative difference %.3e (tolerance %.1e) over %" PetscInt_FMT " values\n", what, d, rtol, n));
  PetscCheck(d <= rtol, comm, PETSC_ERR_PLIB, "%s: max relative difference %.3e exceeds %.1e", what, d, rtol);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTestLapackSingularValues(PetscInt m, PetscInt n, const double a[], double s[])
{
  PetscBLASInt bm, bn, lwork = -1, info;
  double      *w, wq, dummy;

  PetscFunctionBeginUser;
  PetscCall(PetscBLASIntCast(m, &bm));
  PetscCall(PetscBLASIntCast(n, &bn));
  PetscCall(PetscMalloc1((size_t)m * n, &w));
  PetscCall(PetscArraycpy(w, a, (size_t)m * n));
  {
    PetscBLASInt one = 1;
    LAPACKgesvd_("N", "N", &bm, &bn, w, &bm, s, &dummy, &one, &dummy, &one, &wq, &lwork, &info);
    lwork = (PetscBLASInt)wq;
    double *work;
    PetscCall(PetscMalloc1(lwork, &work));
    LAPACKgesvd_("N", "N", &bm, &bn, w, &bm, s, &dummy, &one, &dummy, &one, work, &lwork, &info);
    PetscCall(PetscFree(work));
  }
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "dgesvd info %d", (int)info);
  PetscCall(PetscFree(w));
  PetscFunctionReturn(0);
}

PetscInt SpdTestFailures = 0;

PetscErrorCode SpdTestReport(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: %" PetscInt_FMT " failures\n", SpdTestFailures ? "FAILED" : "PASSED", SpdTestFailures));
  PetscCheck(!SpdTestFailures, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%" PetscInt_FMT " checks failed", SpdTestFailures);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdTestVecGather(Vec v, double out[])
{
  VecScatter sc;
  Vec        all;

  PetscFunctionBeginUser;
  PetscCall(VecScatterCreateToAll(v, &sc, &all));
  PetscCall(SpdVecGatherToAll(sc, v, all, out));
  PetscCall(VecScatterDestroy(&sc));
  PetscCall(VecDestroy(&all));
  PetscFunctionReturn(0);
}
