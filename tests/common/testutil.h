/* Shared helpers of the test programs: a seeded generator (tests never use rand()),
   dense test matrices, and comparisons with tolerances. */
#pragma once
#include <specdyn.h>

typedef struct {
  uint64_t s;
} SpdTestRng;

void   SpdTestRngSeed(SpdTestRng *, uint64_t seed);
double SpdTestRngUniform(SpdTestRng *); /* [0,1) */
double SpdTestRngNormal(SpdTestRng *); /* N(0,1) */
/* Fill a column-major m x n array with N(0,1) entries, identical for any rank count. */
void SpdTestRandomMatrix(uint64_t seed, PetscInt m, PetscInt n, double a[]);
/* Max relative difference |a-b|/max(|b|, floor) over n entries. */
double SpdTestMaxRelDiff(PetscInt n, const double a[], const double b[], double floor);
/* Fail (SETERRQ) if the max relative difference exceeds rtol; print it with `what`. */
PetscErrorCode SpdTestCheckClose(MPI_Comm, const char what[], PetscInt n, const double got[], const double ref[], double rtol, double floor);
/* Singular values of a column-major m x n matrix with LAPACK (dgesvd), descending:
   the independent reference for small cases. */
PetscErrorCode SpdTestLapackSingularValues(PetscInt m, PetscInt n, const double a[], double s[]);
/* The whole of a distributed vector on every rank (tests only: small vectors). */
PetscErrorCode SpdTestVecGather(Vec v, double out[]);

/* Soft checks: SPD_EXPECT records a failure and goes on, so that one run reports every
   failed expectation; SpdTestReport ends the test with an error if any failed. */
extern PetscInt SpdTestFailures;
#define SPD_EXPECT(cond, ...)                                               \
  do {                                                                      \
    if (!(cond)) {                                                          \
      SpdTestFailures++;                                                    \
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "FAIL line %d: ", __LINE__)); \
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, __VA_ARGS__));                \
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "\n"));                       \
    }                                                                       \
  } while (0)
PetscErrorCode SpdTestReport(void);
