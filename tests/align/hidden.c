/* SpdMLPGetHidden: the representations of a 3-layer MLP (tanh, then leaky ReLU, biases,
   NTK-style multipliers) against a direct evaluation of the formulas sample by sample,
   and the last layer against the outputs SpdMLPGetOutputs() keeps after SpdMLPSetPoint()
   (another code path); the samples are split over the ranks. */
#include "testutil.h"

int main(int argc, char **argv)
{
  const PetscInt      L = 3, w[4] = { 5, 7, 6, 3 };
  const SpdActivation act[3]  = { SPD_ACT_TANH, SPD_ACT_LEAKY_RELU, SPD_ACT_IDENTITY };
  const PetscBool     bias[3] = { PETSC_TRUE, PETSC_FALSE, PETSC_TRUE };
  const PetscReal     a[3] = { 0.7, 1.3, 0.5 }, c[3] = { 2.0, 1.0, 0.25 }, slope = 0.05;
  SpdMLP              mlp;
  SpdData             data;
  PetscReal          *theta, *H, *ref, *ones;
  const PetscReal    *Z;
  PetscInt            P;

  PetscCall(SpdInitialize(&argc, &argv, NULL, NULL));
  PetscCall(SpdDataTeacherStudent(PETSC_COMM_WORLD, 23, w[0], w[L], 0.0, 3, &data));
  PetscCall(SpdMLPCreate(PETSC_COMM_WORLD, L, w, act, bias, SPD_LOSS_MSE, &mlp));
  PetscCall(SpdMLPSetMultipliers(mlp, a, c));
  PetscCall(SpdMLPSetLeakySlope(mlp, slope));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(SpdMLPGetParameters(mlp, &theta));
  {
    SpdTestRng r;
    SpdTestRngSeed(&r, 11);
    for (PetscInt i = 0; i < P; i++) theta[i] = SpdTestRngNormal(&r);
  }
  PetscCall(PetscMalloc3(data->nlocal * 7 + 1, &H, data->nlocal * 7 + 1, &ref, 8, &ones));
  for (PetscInt l = 0; l <= L; l++) {
    /* reference: z_k = a W_k h + c b_k by explicit sums over theta's row-major W_k */
    for (PetscInt i = 0; i < data->nlocal; i++) {
      PetscReal h[8], z[8];

      for (PetscInt j = 0; j < w[0]; j++) h[j] = data->X[i * w[0] + j];
      for (PetscInt k = 1; k <= l; k++) {
        PetscInt woff, boff;

        PetscCall(SpdMLPGetLayerBlock(mlp, k - 1, &woff, NULL, &boff, NULL));
        for (PetscInt o = 0; o < w[k]; o++) {
          z[o] = 0;
          for (PetscInt j = 0; j < w[k - 1]; j++) z[o] += a[k - 1] * theta[woff + o * w[k - 1] + j] * h[j];
          if (bias[k - 1]) z[o] += c[k - 1] * theta[boff + o];
        }
        for (PetscInt o = 0; o < w[k]; o++) {
          if (k == L)
            h[o] = z[o];
          else if (act[k - 1] == SPD_ACT_TANH)
            h[o] = tanh(z[o]);
          else
            h[o] = z[o] > 0 ? z[o] : slope * z[o];
        }
      }
      for (PetscInt j = 0; j < w[l]; j++) ref[i * w[l] + j] = h[j];
    }
    PetscCall(SpdMLPGetHidden(mlp, data, l, H));
    {
      char      what[64];
      PetscReal d = SpdTestMaxRelDiff(data->nlocal * w[l], H, ref, 1e-12), gd;

      PetscCallMPI(MPI_Allreduce(&d, &gd, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
      PetscCall(PetscSNPrintf(what, sizeof(what), "layer %" PetscInt_FMT " vs direct sums", l));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s: max relative difference %.3e\n", what, (double)gd));
      SPD_EXPECT(gd < 1e-13, "%s differs by %g", what, (double)gd);
    }
  }
  /* layer L against the outputs of the point (mlp.c's forward pass) */
  PetscCall(SpdMLPSetPoint(mlp, data));
  PetscCall(SpdMLPGetOutputs(mlp, &Z));
  PetscCall(SpdMLPGetHidden(mlp, data, L, H));
  {
    PetscReal d = SpdTestMaxRelDiff(data->nlocal * w[L], H, Z, 1e-12), gd;

    PetscCallMPI(MPI_Allreduce(&d, &gd, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "layer L vs SpdMLPGetOutputs: %.3e\n", (double)gd));
    SPD_EXPECT(gd < 1e-13, "outputs differ from SpdMLPGetOutputs by %g", (double)gd);
  }
  /* a layer that does not exist */
  {
    char           msg[256];
    PetscErrorCode ierr;

    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdMLPGetHidden(mlp, data, L + 1, H);
    PetscCall(SpdErrorCapturePop());
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "layer L + 1 -> %s\n", msg));
    SPD_EXPECT(ierr && strstr(msg, "layers 0 (inputs) to 3"), "layer L + 1: expected an error naming the range, got '%s'", msg);
  }
  PetscCall(PetscFree3(H, ref, ones));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
