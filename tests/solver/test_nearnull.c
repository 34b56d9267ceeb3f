/* SpdSVDNearNull on a planted spectrum with a large cluster of tiny singular values (the
   shape of J_T - I when the training Jacobian has a bulk): n = 2000, 1200 values in
   [1e-5, 1e-3], 800 spread over [0.05, 4]. The vectors returned must have ||A v|| <= delta
   (checked by explicit products with the dense matrix, not by the solver's numbers), be
   orthonormal, and have ||A v|| equal to the reported value (the Lanczos relation), in a
   bounded number of products (a deterministic count, 4070 when written: the triplets
   inside the cluster never converge in SpdSVDExtreme's sense). Without a cluster (all
   values >= 0.05; n = 300) it returns the true bottom triplets: the planted values within the
   explicit residuals. A wide matrix is refused. */
static const char help[] = "Tests SpdSVDNearNull on planted spectra.\n";

#include "solverutil.h"
#include <specdyn.h>

static PetscErrorCode Check(PetscInt N, PetscInt NCLUSTER)
{
  PetscBool   cluster = NCLUSTER > 0 ? PETSC_TRUE : PETSC_FALSE;
  double     *s, *a;
  Mat         A;
  SpdTriplets t;
  Vec         y;
  PetscInt    k     = 6;
  PetscReal   delta = 1e-2;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(N, &s, (size_t)N * N, &a));
  for (PetscInt j = 0; j < N; j++) { /* the j-th smallest goes to s[N - 1 - j] */
    PetscInt c   = cluster ? NCLUSTER : 0;
    s[N - 1 - j] = j < c ? 1e-5 * PetscPowReal(100.0, (PetscReal)j / (c - 1)) : 0.05 * PetscPowReal(80.0, (PetscReal)(j - c) / (N - c - 1));
  }
  PetscCall(SolverTestPlanted(2026, N, N, s, a));
  PetscCall(SolverTestDenseFromArray(PETSC_COMM_WORLD, N, N, a, &A));
  PetscCall(SpdSVDNearNull(A, k, delta, NULL, &t));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: %" PetscInt_FMT "/%" PetscInt_FMT " vectors, %" PetscInt_FMT " products, %" PetscInt_FMT " restarts\n", cluster ? "cluster" : "no cluster", t.nconv, k, t.nprod, t.its));
  PetscCheck(t.nconv == k, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%" PetscInt_FMT " of %" PetscInt_FMT " vectors", t.nconv, k);
  PetscCall(MatCreateVecs(A, NULL, &y));
  for (PetscInt i = 0; i < k; i++) {
    PetscReal nrm, av;
    PetscCall(VecNorm(t.V[i], NORM_2, &nrm));
    PetscCheck(PetscAbsReal(nrm - 1) < 1e-12, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "vector %" PetscInt_FMT " has norm %.15g", i, (double)nrm);
    for (PetscInt j = 0; j < i; j++) {
      PetscScalar d;
      PetscCall(VecDot(t.V[i], t.V[j], &d));
      PetscCheck(PetscAbsScalar(d) < 1e-10, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "v_%" PetscInt_FMT " . v_%" PetscInt_FMT " = %.3e", i, j, (double)PetscAbsScalar(d));
    }
    PetscCall(MatMult(A, t.V[i], y));
    PetscCall(VecNorm(y, NORM_2, &av));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  sigma %.3e  ||A v|| %.3e  residual %.3e\n", (double)t.sigma[i], (double)av, (double)t.residual[i]));
    if (cluster) {
      PetscCheck(av <= delta * (1 + 1e-8), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "||A v_%" PetscInt_FMT "|| = %.3e > delta = %.3e", i, (double)av, (double)delta);
      PetscCheck(PetscAbsReal(av - t.sigma[i]) <= 1e-10, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "||A v_%" PetscInt_FMT "|| = %.3e but the Ritz value is %.3e", i, (double)av, (double)t.sigma[i]);
    } else { /* the true bottom triplets: the explicit residual bounds |sigma - planted| */
      PetscReal err = PetscAbsReal(t.sigma[i] - s[N - 1 - i]);
      PetscCheck(err <= t.residual[i] * (1 + 1e-8) + 1e-14 && t.residual[i] <= 1e-5 * t.sigma[i], PETSC_COMM_WORLD, PETSC_ERR_PLIB, "sigma_%" PetscInt_FMT " = %.12e, planted %.12e, residual %.3e", i, (double)t.sigma[i], s[N - 1 - i], (double)t.residual[i]);
    }
  }
  if (cluster) PetscCheck(t.nprod <= 3 * N, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "%" PetscInt_FMT " products for %" PetscInt_FMT " near-null vectors of a %d x %d matrix (4070 when written)", t.nprod, k, (int)N, (int)N);
  PetscCall(VecDestroy(&y));
  PetscCall(SpdTripletsDestroy(&t));
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFree2(s, a));
  PetscFunctionReturn(0);
}

/* A wide matrix (m < n) is refused with a message saying what to do: SLEPc would run the
   recurrence on A^T, where ||A v|| = s no longer holds. */
static PetscErrorCode CheckWide(void)
{
  double        *a;
  Mat            A;
  SpdTriplets    t;
  char           msg[1024] = "";
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(40 * 60, &a));
  for (PetscInt i = 0; i < 40 * 60; i++) a[i] = (double)((i * 7) % 11) - 5.0;
  PetscCall(SolverTestDenseFromArray(PETSC_COMM_WORLD, 40, 60, a, &A));
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  ierr = SpdSVDNearNull(A, 2, 1e-2, NULL, &t);
  PetscCall(SpdErrorCapturePop());
  PetscCheck(ierr && strstr(msg, "40 x 60") && strstr(msg, "A^T"), PETSC_COMM_WORLD, PETSC_ERR_PLIB, "expected the wide 40 x 60 matrix to be refused, got '%s'", msg);
  PetscCall(MatDestroy(&A));
  PetscCall(PetscFree(a));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(CheckWide());
  PetscCall(Check(2000, 1200));
  PetscCall(Check(300, 0));
  PetscCall(SpdFinalize());
  return 0;
}
