static const char help[] = "SpdMatCreateTrainingJacobian on a run that diverges during its replay: a\n"
                           "collective error naming the step, the trainer back at (0, theta_0), nothing\n"
                           "leaked (run under the sanitizer build), and the same trainer usable for a\n"
                           "good run afterwards.\n";

#include "trainjactest.h"

int main(int argc, char **argv)
{
  MPI_Comm       comm;
  const PetscInt w[3] = { 4, 6, 3 };
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainer     tr;
  Mat            A  = NULL;
  TJCase         tc = { "diverge", SPD_LOSS_MSE, SPD_ACT_IDENTITY, SPD_MOMENTUM_NESTEROV, 1e6, 0.9, 0, PETSC_FALSE, 5, 12, 0, SPD_LR_CONSTANT };
  PetscInt       P, t;
  PetscReal     *theta0, *th;
  char           msg[4096];
  PetscErrorCode ierr;
  const PetscInt every[2] = { 1, 4 };

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCall(TJMakeProblem(comm, 2, w, tc.act, tc.loss, 20, &mlp, &data));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(PetscMalloc1(P, &theta0));
  for (int k = 0; k < 2; k++) {
    /* lr = 1e6 on a linear net with MSE: the iterates grow by ~1e6 a step and overflow */
    PetscCall(TJMakeTrainer(&tc, mlp, data, &tr));
    PetscCall(SpdTrainerGetState(tr, NULL, &th, NULL));
    PetscCall(PetscArraycpy(theta0, th, P));
    msg[0] = 0;
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdMatCreateTrainingJacobian(tr, every[k], &A);
    PetscCall(SpdErrorCapturePop());
    SPD_EXPECT(ierr != 0 && strstr(msg, "diverged"), "every = %" PetscInt_FMT ": the replay of a diverging run did not fail with a divergence error: %s", every[k], msg);
    SPD_EXPECT(A == NULL, "every = %" PetscInt_FMT ": a failed creation returned an operator", every[k]);
    PetscCall(SpdTrainerGetState(tr, &t, &th, NULL));
    SPD_EXPECT(t == 0, "every = %" PetscInt_FMT ": after the failed replay the trainer is at step %" PetscInt_FMT ", expected 0", every[k], t);
    for (PetscInt j = 0; j < P; j++)
      if (th[j] != theta0[j]) {
        SPD_EXPECT(PETSC_FALSE, "every = %" PetscInt_FMT ": after the failed replay theta[%" PetscInt_FMT "] = %g, theta_0 had %g", every[k], j, (double)th[j], (double)theta0[j]);
        break;
      }
    PetscCall(MatDestroy(&A));
    PetscCall(SpdTrainerDestroy(&tr));
  }
  /* a sane learning rate on the same model and data works afterwards */
  tc.lr    = 0.05;
  tc.steps = 3;
  PetscCall(TJMakeTrainer(&tc, mlp, data, &tr));
  PetscCall(SpdMatCreateTrainingJacobian(tr, 2, &A));
  PetscCall(MatDestroy(&A));
  PetscCall(SpdTrainerDestroy(&tr));

  PetscCall(PetscFree(theta0));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
