static const char help[] = "The singular values of the training Jacobian of a tiny net (P = 123): the dense J_T\n"
                           "built column by column (MatMult on unit vectors) and row by row (MatMultTranspose)\n"
                           "agree; its LAPACK singular values equal SLEPc's top-k and bottom-k singular values of\n"
                           "the matrix-free operator (SpdSVDExtreme).\n";

#include "trainjactest.h"
#include <specdyn/svd.h>

static PetscErrorCode RunCase(const TJCase *tc, PetscInt every)
{
  const PetscInt L = 3, w[4] = { 5, 8, 6, 3 }, k = 5;
  MPI_Comm       comm = PETSC_COMM_WORLD;
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainer     tr;
  Mat            J;
  PetscInt       P;
  PetscReal     *D, *DT, *s;
  SpdTriplets    top, bot;

  PetscFunctionBeginUser;
  PetscCall(TJMakeProblem(comm, L, w, tc->act, tc->loss, 30, &mlp, &data));
  PetscCall(TJMakeTrainer(tc, mlp, data, &tr));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(SpdMatCreateTrainingJacobian(tr, every, &J));
  PetscCall(PetscMalloc3((size_t)P * P, &D, (size_t)P * P, &DT, P, &s));
  PetscCall(TJDense(J, PETSC_FALSE, D)); /* column j = J e_j */
  PetscCall(TJDense(J, PETSC_TRUE, DT)); /* column j = J^T e_j = row j of J */
  {
    double num = 0, den = 0;
    for (PetscInt i = 0; i < P; i++)
      for (PetscInt j = 0; j < P; j++) {
        double a = D[i + j * P], b = DT[j + i * P];
        num += (a - b) * (a - b);
        den += a * a;
      }
    SPD_EXPECT(sqrt(num / den) < 1e-12, "%s: dense J from MatMult and from MatMultTranspose differ by %.3g (Frobenius, relative)", tc->name, sqrt(num / den));
  }
  PetscCall(SpdTestLapackSingularValues(P, P, D, s));
  PetscCall(SpdSVDExtreme(J, SPD_SVD_TOP, k, PETSC_FALSE, "top_", &top));
  PetscCall(SpdSVDExtreme(J, SPD_SVD_BOTTOM, k, PETSC_FALSE, "bottom_", &bot));
  PetscCall(PetscPrintf(comm, "%s (P = %" PetscInt_FMT ", every = %" PetscInt_FMT "): sigma_max %.12f sigma_min %.12f; top converged %" PetscInt_FMT ", bottom %" PetscInt_FMT "\n", tc->name, P, every, s[0], s[P - 1], top.nconv, bot.nconv));
  SPD_EXPECT(top.nconv == k && bot.nconv == k, "%s: SLEPc converged %" PetscInt_FMT " top and %" PetscInt_FMT " bottom of %" PetscInt_FMT, tc->name, top.nconv, bot.nconv, k);
  for (PetscInt i = 0; i < PetscMin(k, top.nconv); i++) SPD_EXPECT(fabs(top.sigma[i] - s[i]) <= 1e-8 * s[0], "%s: top sigma_%" PetscInt_FMT " SLEPc %.15g LAPACK %.15g", tc->name, i, top.sigma[i], s[i]);
  for (PetscInt i = 0; i < PetscMin(k, bot.nconv); i++) SPD_EXPECT(fabs(bot.sigma[i] - s[P - 1 - i]) <= 1e-8 * s[0], "%s: bottom sigma_%" PetscInt_FMT " SLEPc %.15g LAPACK %.15g", tc->name, i, bot.sigma[i], s[P - 1 - i]);
  PetscCall(SpdTripletsDestroy(&top));
  PetscCall(SpdTripletsDestroy(&bot));
  PetscCall(PetscFree3(D, DT, s));
  PetscCall(MatDestroy(&J));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  /* a large learning rate spreads the spectrum (sigma > 1 and < 1) */
  TJCase gd = { "gd-ce-tanh", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_TANH, SPD_MOMENTUM_NONE, 0.8, 0.0, 0.0, PETSC_FALSE, 0, 6, 0, SPD_LR_CONSTANT };
  TJCase hb = { "sgd10-heavyball-mse", SPD_LOSS_MSE, SPD_ACT_TANH, SPD_MOMENTUM_HEAVY_BALL, 0.3, 0.9, 0.01, PETSC_FALSE, 10, 7, 0, SPD_LR_CONSTANT };

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(RunCase(&gd, 1));
  PetscCall(RunCase(&hb, 4));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
