/* Closed-form properties of the alignment measures, rows split over the ranks:
   CKA(X, X Q + 1 b^T) = 1, CKA(X, s X) = 1, Procrustes(X, s X Q) = 0, SVCCA(X, X Q) = 1
   for orthogonal Q (a product of Householder reflections), extra constant features
   change nothing, independent representations are far from aligned, and bad input gives
   errors (fewer than 2 samples, NaN; prepared representations of other samples, another
   split over the ranks or other SVCCA settings) or NaN (no variance). */
#include <specdyn/alignment.h>
#include "testutil.h"

#define N 41
#define P 7

/* Q = H_1 H_2 H_3 (p x p, column-major), H_k = I - 2 v v^T / v^T v */
static void Orthogonal(PetscInt p, uint64_t seed, PetscReal Q[])
{
  PetscReal v[3 * P], T[P * P];

  SpdTestRandomMatrix(seed, p, 3, v);
  for (PetscInt i = 0; i < p * p; i++) Q[i] = (i % (p + 1)) == 0 ? 1.0 : 0.0;
  for (PetscInt k = 0; k < 3; k++) {
    const PetscReal *u  = v + k * p;
    PetscReal        uu = 0;

    for (PetscInt i = 0; i < p; i++) uu += u[i] * u[i];
    /* Q <- Q H_k: column j of Q H is Q e_j - 2 (Q u) u_j / uu */
    for (PetscInt r = 0; r < p; r++) {
      PetscReal qu = 0;

      for (PetscInt i = 0; i < p; i++) qu += Q[i * p + r] * u[i];
      for (PetscInt j = 0; j < p; j++) T[j * p + r] = Q[j * p + r] - 2.0 * qu * u[j] / uu;
    }
    for (PetscInt i = 0; i < p * p; i++) Q[i] = T[i];
  }
}

int main(int argc, char **argv)
{
  PetscReal    Xall[N * P], Zall[N * P], Q[P * P], *X, *Y, *Z, *W;
  PetscInt     nlocal = PETSC_DECIDE, n = N, start = 0;
  PetscMPIInt  rank;
  SpdAlignment a;

  PetscCall(SpdInitialize(&argc, &argv, NULL, NULL));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PetscSplitOwnership(PETSC_COMM_WORLD, &nlocal, &n));
  PetscCallMPI(MPI_Exscan(&nlocal, &start, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  if (!rank) start = 0;
  /* anisotropic X, so that SVCCA keeps fewer than P components */
  SpdTestRandomMatrix(7, P, N, Xall); /* column-major P x N = row-major N x P */
  for (PetscInt i = 0; i < N; i++)
    for (PetscInt j = 0; j < P; j++) Xall[i * P + j] *= PetscPowReal(0.5, (PetscReal)j);
  SpdTestRandomMatrix(8, P, N, Zall);
  Orthogonal(P, 9, Q);
  {
    PetscReal err = 0; /* Q^T Q = I */
    for (PetscInt i = 0; i < P; i++)
      for (PetscInt j = 0; j < P; j++) {
        PetscReal s = 0;
        for (PetscInt k = 0; k < P; k++) s += Q[i * P + k] * Q[j * P + k];
        err = PetscMax(err, PetscAbsReal(s - (i == j)));
      }
    SPD_EXPECT(err < 1e-13, "Q is not orthogonal: |Q^T Q - I| = %g", (double)err);
  }
  PetscCall(PetscMalloc4(nlocal * P + 1, &X, nlocal * P + 1, &Y, nlocal * P + 1, &Z, nlocal * (P + 2) + 1, &W));
  for (PetscInt i = 0; i < nlocal; i++) {
    const PetscReal *x = Xall + (start + i) * P;

    for (PetscInt j = 0; j < P; j++) {
      PetscReal s = 0;

      for (PetscInt k = 0; k < P; k++) s += x[k] * Q[j * P + k]; /* (x Q)_j */
      X[i * P + j]       = x[j];
      Y[i * P + j]       = s;
      Z[i * P + j]       = Zall[(start + i) * P + j];
      W[i * (P + 2) + j] = 3.5 * s - 2.0 + j; /* s X Q + 1 b^T */
    }
    W[i * (P + 2) + P]     = 4.0; /* two constant features */
    W[i * (P + 2) + P + 1] = -1.0;
  }

  /* rotated copy */
  PetscCall(SpdAlignmentCompute(PETSC_COMM_WORLD, nlocal, P, X, P, Y, 0.99, 0, &a));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "X vs X Q: cka %.15f svcca %.15f (kx %" PetscInt_FMT ", ky %" PetscInt_FMT ") procrustes %.3e\n", (double)a.cka, (double)a.svcca, a.kx, a.ky, (double)a.procrustes));
  SPD_EXPECT(PetscAbsReal(a.cka - 1) < 1e-12, "CKA(X, XQ) = %.15f, expected 1", (double)a.cka);
  SPD_EXPECT(PetscAbsReal(a.svcca - 1) < 1e-10, "SVCCA(X, XQ) = %.15f, expected 1", (double)a.svcca);
  SPD_EXPECT(a.kx == a.ky && a.kx < P, "SVCCA kept %" PetscInt_FMT " and %" PetscInt_FMT " components; expected equal and < %d for an anisotropic X", a.kx, a.ky, P);
  SPD_EXPECT(PetscAbsReal(a.procrustes) < 1e-12, "Procrustes(X, XQ) = %.3e, expected 0", (double)a.procrustes);

  /* scaled, rotated, translated copy with extra constant features (q = p + 2) */
  PetscCall(SpdAlignmentCompute(PETSC_COMM_WORLD, nlocal, P, X, P + 2, W, 0.99, 0, &a));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "X vs 3.5 X Q + b, +2 constant columns: cka %.15f svcca %.15f procrustes %.3e\n", (double)a.cka, (double)a.svcca, (double)a.procrustes));
  SPD_EXPECT(PetscAbsReal(a.cka - 1) < 1e-12, "CKA(X, sXQ + b) = %.15f, expected 1", (double)a.cka);
  SPD_EXPECT(PetscAbsReal(a.svcca - 1) < 1e-10, "SVCCA(X, sXQ + b) = %.15f, expected 1", (double)a.svcca);
  SPD_EXPECT(PetscAbsReal(a.procrustes) < 1e-12, "Procrustes(X, sXQ + b) = %.3e, expected 0", (double)a.procrustes);

  /* symmetric, and X against itself with a fixed k */
  {
    SpdAlignment b;

    PetscCall(SpdAlignmentCompute(PETSC_COMM_WORLD, nlocal, P, X, P, Z, 0.99, 0, &a));
    PetscCall(SpdAlignmentCompute(PETSC_COMM_WORLD, nlocal, P, Z, P, X, 0.99, 0, &b));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "X vs independent Z: cka %.6f svcca %.6f procrustes %.6f\n", (double)a.cka, (double)a.svcca, (double)a.procrustes));
    SPD_EXPECT(PetscAbsReal(a.cka - b.cka) < 1e-14 && PetscAbsReal(a.procrustes - b.procrustes) < 1e-14, "CKA/Procrustes not symmetric: %g vs %g, %g vs %g", (double)a.cka, (double)b.cka, (double)a.procrustes, (double)b.procrustes);
    SPD_EXPECT(a.cka < 0.5 && a.procrustes > 0.2, "independent representations look aligned: cka %g procrustes %g", (double)a.cka, (double)a.procrustes);
    PetscCall(SpdAlignmentCompute(PETSC_COMM_WORLD, nlocal, P, X, P, X, 0.99, 2, &a));
    SPD_EXPECT(a.kx == 2 && PetscAbsReal(a.svcca - 1) < 1e-12, "SVCCA(X, X) with k = 2: kx %" PetscInt_FMT " svcca %.15f", a.kx, (double)a.svcca);
  }

  /* no variance: NaN, not an error */
  for (PetscInt i = 0; i < nlocal * P; i++) Z[i] = 1.25;
  PetscCall(SpdAlignmentCompute(PETSC_COMM_WORLD, nlocal, P, X, P, Z, 0.99, 0, &a));
  SPD_EXPECT(PetscIsNanReal(a.cka) && PetscIsNanReal(a.svcca) && PetscIsNanReal(a.procrustes), "constant representation: expected NaN, got cka %g svcca %g procrustes %g", (double)a.cka, (double)a.svcca, (double)a.procrustes);

  /* errors */
  {
    char           msg[512];
    PetscErrorCode ierr;

    if (rank == 0) Z[0] = NAN;
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdAlignmentCompute(PETSC_COMM_WORLD, nlocal, P, X, P, Z, 0.99, 0, &a);
    PetscCall(SpdErrorCapturePop());
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "NaN input -> %s\n", msg));
    SPD_EXPECT(ierr && strstr(msg, "NaN"), "NaN input: expected an error naming NaN, got %d '%s'", (int)ierr, msg);

    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdAlignmentCompute(PETSC_COMM_WORLD, rank == 0 ? 1 : 0, P, X, P, Y, 0.99, 0, &a);
    PetscCall(SpdErrorCapturePop());
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "1 sample -> %s\n", msg));
    SPD_EXPECT(ierr && strstr(msg, "at least 2"), "one sample: expected an error, got %d '%s'", (int)ierr, msg);

    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdAlignmentCompute(PETSC_COMM_WORLD, nlocal, P, X, P, Y, 1.5, 0, &a);
    PetscCall(SpdErrorCapturePop());
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "var 1.5 -> %s\n", msg));
    SPD_EXPECT(ierr && strstr(msg, "(0, 1]"), "variance fraction 1.5: expected an error, got %d '%s'", (int)ierr, msg);

    /* prepared representations that do not belong together: clear errors on every rank */
    {
      SpdAlignmentRep rx, ry;
      PetscMPIInt     size;
      PetscInt        nl2, start2;

      PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
      PetscCall(SpdAlignmentRepCreate(PETSC_COMM_WORLD, nlocal, P, X, 0.99, 0, &rx));
      PetscCall(SpdAlignmentRepCreate(PETSC_COMM_WORLD, nlocal, P, Y, 0.9, 0, &ry));
      PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
      ierr = SpdAlignmentComputeRep(rx, ry, &a);
      PetscCall(SpdErrorCapturePop());
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "different SVCCA settings -> %s\n", msg));
      SPD_EXPECT(ierr == PETSC_ERR_ARG_INCOMP && strstr(msg, "different SVCCA settings"), "reps with different SVCCA settings: expected an error, got %d '%s'", (int)ierr, msg);
      PetscCall(SpdAlignmentRepDestroy(&ry));

      PetscCall(SpdAlignmentRepCreate(PETSC_COMM_WORLD, rank == 0 ? nlocal - 1 : nlocal, P, Y, 0.99, 0, &ry));
      PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
      ierr = SpdAlignmentComputeRep(rx, ry, &a);
      PetscCall(SpdErrorCapturePop());
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%d vs %d samples -> %s\n", N, N - 1, msg));
      SPD_EXPECT(ierr == PETSC_ERR_ARG_INCOMP && strstr(msg, "same samples"), "reps of %d and %d samples: expected an error, got %d '%s'", N, N - 1, (int)ierr, msg);
      PetscCall(SpdAlignmentRepDestroy(&ry));

      if (size > 1) { /* the same N samples split differently: rank 0 takes one row more, the last one less */
        nl2    = nlocal + (rank == 0) - (rank == size - 1);
        start2 = start + (rank > 0);
        PetscCall(SpdAlignmentRepCreate(PETSC_COMM_WORLD, nl2, P, Xall + start2 * P, 0.99, 0, &ry));
        PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
        ierr = SpdAlignmentComputeRep(rx, ry, &a);
        PetscCall(SpdErrorCapturePop());
        PetscCall(PetscPrintf(PETSC_COMM_WORLD, "another split -> %s\n", msg));
        SPD_EXPECT(ierr == PETSC_ERR_ARG_INCOMP && strstr(msg, "differently over the ranks"), "reps split differently: expected an error, got %d '%s'", (int)ierr, msg);
        PetscCall(SpdAlignmentRepDestroy(&ry));
      }
      PetscCall(SpdAlignmentRepDestroy(&rx));
    }
  }
  PetscCall(PetscFree4(X, Y, Z, W));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
