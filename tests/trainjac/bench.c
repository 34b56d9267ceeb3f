static const char help[] = "Time of one training-Jacobian product against T Hessian-vector products (each with\n"
                           "its SpdMLPSetPoint) on a medium net. Not a test: prints the ratios.\n"
                           "  -d 256 -width 256 -n 512 -steps 50 -batch 0 -momentum none|heavy_ball|nesterov -every 5\n";

#include "trainjactest.h"

int main(int argc, char **argv)
{
  PetscInt       d = 256, width = 256, n = 512, steps = 50, batch = 0, every = 5, mom = 0, P, t;
  MPI_Comm       comm;
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainer     tr;
  Mat            J1, JK;
  Vec            x, y;
  PetscReal     *v, *hv, *th, *m;
  PetscLogDouble t0, t1, thvp, tmult, tmultt, tmultK, tmulttK, trep1, trepK;
  PetscBool      set;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-d", &d, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-width", &width, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &n, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-steps", &steps, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-batch", &batch, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-every", &every, NULL));
  PetscCall(PetscOptionsGetEList(NULL, NULL, "-momentum", SpdMomenta, 3, &mom, &set));
  {
    const PetscInt w[4] = { d, width, width, 10 };
    TJCase         tc   = { "bench", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_TANH, (SpdMomentum)mom, 0.1, 0.9, 0.0, PETSC_FALSE, batch, steps, 0, SPD_LR_CONSTANT };
    PetscCall(TJMakeProblem(comm, 3, w, SPD_ACT_TANH, SPD_LOSS_CROSS_ENTROPY, n, &mlp, &data));
    PetscCall(TJMakeTrainer(&tc, mlp, data, &tr));
  }
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(PetscMalloc2(P, &v, P, &hv));
  SpdTestRandomMatrix(1, P, 1, v);

  /* T Hessian-vector products, each at its own point (SetPoint on the step's batch) */
  PetscCall(SpdTrainerGetState(tr, &t, &th, &m));
  PetscCallMPI(MPI_Barrier(comm));
  PetscCall(PetscTime(&t0));
  for (PetscInt s = 0; s < steps; s++) {
    SpdData b;
    PetscCall(SpdTrainerGetBatchData(tr, s, &b));
    PetscCall(SpdMLPSetPoint(mlp, b));
    PetscCall(SpdMLPCurvatureApply(mlp, SPD_CURV_HESSIAN, v, hv, PETSC_FALSE));
  }
  PetscCallMPI(MPI_Barrier(comm));
  PetscCall(PetscTime(&t1));
  thvp = t1 - t0;

  PetscCall(PetscTime(&t0));
  PetscCall(SpdMatCreateTrainingJacobian(tr, 1, &J1));
  PetscCall(PetscTime(&t1));
  trep1 = t1 - t0;
  PetscCall(PetscTime(&t0));
  PetscCall(SpdMatCreateTrainingJacobian(tr, every, &JK));
  PetscCall(PetscTime(&t1));
  trepK = t1 - t0;
  PetscCall(MatCreateVecs(J1, &x, &y));
  PetscCall(TJVecSetFull(x, v));
#define TIME(expr, out)              \
  do {                               \
    PetscCallMPI(MPI_Barrier(comm)); \
    PetscCall(PetscTime(&t0));       \
    PetscCall(expr);                 \
    PetscCallMPI(MPI_Barrier(comm)); \
    PetscCall(PetscTime(&t1));       \
    out = t1 - t0;                   \
  } while (0)
  TIME(MatMult(J1, x, y), tmult);
  TIME(MatMultTranspose(J1, x, y), tmultt);
  TIME(MatMult(JK, x, y), tmultK);
  TIME(MatMultTranspose(JK, x, y), tmulttK);
  PetscCall(PetscPrintf(comm, "P = %" PetscInt_FMT ", n = %" PetscInt_FMT ", T = %" PetscInt_FMT ", batch = %" PetscInt_FMT ", momentum %s\n", P, n, steps, batch, SpdMomenta[mom]));
  PetscCall(PetscPrintf(comm, "T x (SetPoint + HVP): %.3f s\n", thvp));
  PetscCall(PetscPrintf(comm, "replay at creation: every=1 %.3f s, every=%" PetscInt_FMT " %.3f s\n", trep1, every, trepK));
  PetscCall(PetscPrintf(comm, "every=1: J v %.3f s (ratio %.3f), J^T u %.3f s (ratio %.3f)\n", tmult, tmult / thvp, tmultt, tmultt / thvp));
  PetscCall(PetscPrintf(comm, "every=%" PetscInt_FMT ": J v %.3f s (ratio %.3f), J^T u %.3f s (ratio %.3f)\n", every, tmultK, tmultK / thvp, tmulttK, tmulttK / thvp));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(MatDestroy(&J1));
  PetscCall(MatDestroy(&JK));
  PetscCall(PetscFree2(v, hv));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscCall(SpdFinalize());
  return 0;
}
