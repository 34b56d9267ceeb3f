static const char help[] = "SpdOverlap / SpdPrincipalCosines on planted subspaces: A = Q[e_1..e_k],\n"
                           "B = Q[cos t_i e_i + sin t_i e_{k+i}] (Q a random orthogonal map) have principal\n"
                           "angles t_i exactly; M = A^T B = diag(cos t_i) up to the planted order. Rows are\n"
                           "split across the ranks; the result must not depend on the rank count.\n";

#include "../common/testutil.h"

/* Column-major N x N orthogonal Q from a seeded Gaussian matrix (LAPACK QR through a
   Gram-Schmidt pass twice: enough for a test basis). */
static PetscErrorCode TestOrthogonal(PetscInt N, double Q[])
{
  PetscFunctionBeginUser;
  SpdTestRandomMatrix(7, N, N, Q);
  for (int pass = 0; pass < 2; pass++)
    for (PetscInt j = 0; j < N; j++) {
      for (PetscInt i = 0; i < j; i++) {
        double d = 0;
        for (PetscInt r = 0; r < N; r++) d += Q[r + i * N] * Q[r + j * N];
        for (PetscInt r = 0; r < N; r++) Q[r + j * N] -= d * Q[r + i * N];
      }
      double nrm = 0;
      for (PetscInt r = 0; r < N; r++) nrm += Q[r + j * N] * Q[r + j * N];
      nrm = sqrt(nrm);
      for (PetscInt r = 0; r < N; r++) Q[r + j * N] /= nrm;
    }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const PetscInt N = 37, k = 5;
  double        *Q, *A, *B, *Aloc, *Bloc, M[25], cosv[5], theta[5] = { 0.0, 0.3, 0.7, 1.1, PETSC_PI / 2 };
  PetscInt       nloc = PETSC_DECIDE, Nn = N, rstart = 0;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(PetscMalloc5(N * N, &Q, N * k, &A, N * k, &B, N * k, &Aloc, N * k, &Bloc));
  PetscCall(TestOrthogonal(N, Q));
  /* A = Q e_i, B = Q (cos t e_i + sin t e_{k+i}) with B's columns in reversed order */
  for (PetscInt i = 0; i < k; i++)
    for (PetscInt r = 0; r < N; r++) {
      A[r + i * N]           = Q[r + i * N];
      B[r + (k - 1 - i) * N] = cos(theta[i]) * Q[r + i * N] + sin(theta[i]) * Q[r + (k + i) * N];
    }
  PetscCall(PetscSplitOwnership(PETSC_COMM_WORLD, &nloc, &Nn));
  PetscCallMPI(MPI_Scan(&nloc, &rstart, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  rstart -= nloc;
  for (PetscInt j = 0; j < k; j++)
    for (PetscInt r = 0; r < nloc; r++) {
      Aloc[r + j * nloc] = A[rstart + r + j * N];
      Bloc[r + j * nloc] = B[rstart + r + j * N];
    }
  PetscCall(SpdOverlap(PETSC_COMM_WORLD, nloc, k, Aloc, k, Bloc, M));
  /* closed form: M[i][k-1-i] = cos t_i, every other entry 0 */
  for (PetscInt i = 0; i < k; i++)
    for (PetscInt j = 0; j < k; j++) {
      double ref = j == k - 1 - i ? cos(theta[i]) : 0.0;
      SPD_EXPECT(fabs(M[i * k + j] - ref) < 1e-13, "M[%d][%d] = %.17g, expected %.17g", (int)i, (int)j, M[i * k + j], ref);
    }
  PetscCall(SpdPrincipalCosines(k, k, M, cosv));
  for (PetscInt i = 0; i < k; i++) /* descending cosines = ascending planted angles */
    SPD_EXPECT(fabs(cosv[i] - cos(theta[i])) < 1e-13, "cosine %d = %.17g, expected cos(%g) = %.17g", (int)i, cosv[i], theta[i], cos(theta[i]));
  /* a rectangular overlap: 2 vectors of A against all 5 of B */
  PetscCall(SpdOverlap(PETSC_COMM_WORLD, nloc, 2, Aloc, k, Bloc, M));
  PetscCall(SpdPrincipalCosines(2, k, M, cosv));
  SPD_EXPECT(fabs(cosv[0] - 1.0) < 1e-13 && fabs(cosv[1] - cos(theta[1])) < 1e-13, "2 x 5 cosines %.17g %.17g, expected 1 and cos(0.3)", cosv[0], cosv[1]);
  PetscCall(PetscFree5(Q, A, B, Aloc, Bloc));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
