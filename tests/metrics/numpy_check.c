static const char help[] = "Checks the metrics layer against numpy/scipy references written by\n"
                           "numpy_reference.py (which runs this program with the manifest path).\n";

#include "metricstest.h"
#include <stdio.h>
#include <string.h>

/* Read `count` raw little-endian float64 values (the x86/ARM native order). */
static PetscErrorCode ReadRaw(const char path[], PetscInt64 count, PetscReal **a)
{
  FILE  *f;
  size_t got;

  PetscFunctionBeginUser;
  f = fopen(path, "rb");
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open %s; run the test through numpy_reference.py", path);
  PetscCall(PetscMalloc1(count, a));
  got = fread(*a, sizeof(double), (size_t)count, f);
  fclose(f);
  PetscCheck(got == (size_t)count, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s holds %zu values, expected %" PetscInt64_FMT, path, got, count);
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckSVD(const char line[])
{
  PetscInt         m, n, k, nrank;
  char             path[PETSC_MAX_PATH_LEN];
  double           erank, srank, nuclear, frob, sigma1, sigmamin, cond, f2 = 0;
  PetscReal       *a, *s;
  SpdWeightMetrics w;

  PetscFunctionBeginUser;
  PetscCheck(sscanf(line, "svd %" PetscInt_FMT " %" PetscInt_FMT " %s %lf %lf %lf %" PetscInt_FMT " %lf %lf %lf %lf", &m, &n, path, &erank, &srank, &nuclear, &nrank, &frob, &sigma1, &sigmamin, &cond) == 11, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Bad manifest line: %s", line);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s (%" PetscInt_FMT " x %" PetscInt_FMT ")\n", path, m, n));
  k = PetscMin(m, n);
  PetscCall(ReadRaw(path, (PetscInt64)m * n, &a));
  PetscCall(PetscMalloc1(k, &s));
  for (PetscInt64 i = 0; i < (PetscInt64)m * n; i++) f2 += a[i] * a[i];
  PetscCall(SpdTestLapackSingularValues(m, n, a, s));
  PetscCall(SpdMetricsCompute(m, n, PetscSqrtReal(f2), k, s, 0, NULL, 0, NULL, 0, &w));
  PetscCall(MTCheckReal("frobenius (entries) vs numpy", w.frobenius, frob, 1e-13, 0));
  PetscCall(MTCheckReal("spectral vs numpy", w.spectral, sigma1, 1e-12, 0));
  PetscCall(MTCheckReal("nuclear vs numpy", w.nuclear, nuclear, 1e-12, 0));
  PetscCall(MTCheckReal("stable rank vs numpy", w.stable_rank, srank, 1e-12, 0));
  PetscCall(MTCheckReal("effective rank vs numpy", w.effective_rank, erank, 1e-12, 0));
  PetscCall(MTCheckInt("numerical rank vs numpy matrix_rank", w.numerical_rank, nrank));
  /* tiny singular values are only accurate to ~eps sigma_1 between LAPACK drivers */
  PetscCall(MTCheckReal("sigma_min vs numpy", w.sigma_min, sigmamin, 1e-12, 1e-13 * sigma1));
  if (cond < 1e8)
    PetscCall(MTCheckReal("condition vs numpy", w.condition, cond, 1e-10, 0));
  else
    PetscCall(MTCheckRange("condition (numpy: > 1e8)", w.condition, 1e8, INFINITY));
  PetscCall(PetscFree(s));
  PetscCall(PetscFree(a));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckMPMedian(const char line[])
{
  double    y, med;
  PetscReal got;
  char      what[64];

  PetscFunctionBeginUser;
  PetscCheck(sscanf(line, "mpmedian %lf %lf", &y, &med) == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Bad manifest line: %s", line);
  PetscCall(SpdMetricsMarchenkoPasturMedian(y, &got));
  PetscCall(PetscSNPrintf(what, sizeof(what), "MP median, y = %.6g, vs scipy quad", y));
  PetscCall(MTCheckReal(what, got, med, 1e-11, 0));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckMPPlanted(const char line[])
{
  PetscInt   m, n, k, out;
  char       path[PETSC_MAX_PATH_LEN];
  double     s;
  PetscReal *sv, noise, edge;

  PetscFunctionBeginUser;
  PetscCheck(sscanf(line, "mpplanted %" PetscInt_FMT " %" PetscInt_FMT " %s %lf", &m, &n, path, &s) == 4, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Bad manifest line: %s", line);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: MP quantile spectrum of a %" PetscInt_FMT " x %" PetscInt_FMT " matrix, s = %g\n", path, m, n, s));
  k = PetscMin(m, n);
  PetscCall(ReadRaw(path, k, &sv));
  PetscCall(SpdMetricsMarchenkoPastur(m, n, k, sv, &noise, &edge, &out));
  PetscCall(MTCheckReal("noise", noise, s, 1e-10, 0));
  PetscCall(MTCheckReal("edge s (sqrt m + sqrt n)", edge, s * (PetscSqrtReal((PetscReal)m) + PetscSqrtReal((PetscReal)n)), 1e-10, 0));
  PetscCall(MTCheckInt("outliers", out, 0));
  PetscCall(PetscFree(sv));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckPowerLaw(const char line[])
{
  PetscInt   n, min_tail, ntail, nt;
  char       path[PETSC_MAX_PATH_LEN];
  double     alpha, xmin, ks;
  PetscReal *x, a, xm, d;

  PetscFunctionBeginUser;
  PetscCheck(sscanf(line, "powerlaw %" PetscInt_FMT " %s %" PetscInt_FMT " %lf %lf %" PetscInt_FMT " %lf", &n, path, &min_tail, &alpha, &xmin, &ntail, &ks) == 7, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Bad manifest line: %s", line);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: power-law scan, min_tail %" PetscInt_FMT "\n", path, min_tail));
  PetscCall(ReadRaw(path, n, &x));
  PetscCall(SpdMetricsPowerLaw(n, x, min_tail, &a, &xm, &nt, &d));
  PetscCall(MTCheckReal("x_min vs numpy scan", xm, xmin, 0, 0));
  PetscCall(MTCheckInt("tail vs numpy scan", nt, ntail));
  PetscCall(MTCheckReal("alpha vs numpy scan", a, alpha, 1e-11, 0));
  PetscCall(MTCheckReal("KS distance vs numpy scan", d, ks, 1e-9, 0));
  PetscCall(PetscFree(x));
  PetscFunctionReturn(0);
}

static PetscErrorCode CheckPowerLawAt(const char line[])
{
  PetscInt   n, ntail, nt;
  char       path[PETSC_MAX_PATH_LEN];
  double     alpha, xmin, ks;
  PetscReal *x, a, d;

  PetscFunctionBeginUser;
  PetscCheck(sscanf(line, "powerlawat %" PetscInt_FMT " %s %lf %lf %" PetscInt_FMT " %lf", &n, path, &xmin, &alpha, &ntail, &ks) == 6, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Bad manifest line: %s", line);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: power-law MLE at x_min = %.17g\n", path, xmin));
  PetscCall(ReadRaw(path, n, &x));
  PetscCall(SpdMetricsPowerLawAt(n, x, xmin, &a, &nt, &d));
  PetscCall(MTCheckInt("tail vs numpy", nt, ntail));
  PetscCall(MTCheckReal("alpha vs numpy", a, alpha, 1e-12, 0));
  PetscCall(MTCheckReal("KS distance vs numpy", d, ks, 1e-9, 0));
  PetscCall(PetscFree(x));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  FILE    *f;
  char     line[4 * PETSC_MAX_PATH_LEN];
  PetscInt ncase = 0;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCheck(argc >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "usage: %s <manifest written by numpy_reference.py>", argv[0]);
  f = fopen(argv[1], "r");
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open the manifest %s", argv[1]);
  while (fgets(line, sizeof(line), f)) {
    if (!strncmp(line, "svd ", 4))
      PetscCall(CheckSVD(line));
    else if (!strncmp(line, "mpmedian ", 9))
      PetscCall(CheckMPMedian(line));
    else if (!strncmp(line, "mpplanted ", 10))
      PetscCall(CheckMPPlanted(line));
    else if (!strncmp(line, "powerlaw ", 9))
      PetscCall(CheckPowerLaw(line));
    else if (!strncmp(line, "powerlawat ", 11))
      PetscCall(CheckPowerLawAt(line));
    else
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "Unknown manifest line: %s", line);
    ncase++;
  }
  fclose(f);
  PetscCheck(ncase > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "The manifest %s is empty", argv[1]);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "metrics vs numpy: %" PetscInt_FMT " cases passed\n", ncase));
  PetscCall(SpdFinalize());
  return 0;
}
