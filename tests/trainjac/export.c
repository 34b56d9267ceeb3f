static const char help[] = "Export a tiny training run and its Jacobians for the PyTorch reference (torch_ref.py):\n"
                           "the data, theta_0, the learning rates and minibatches of every step, theta_T, the dense\n"
                           "training Jacobian J_T (column by column through the MATSHELL) and the dense function\n"
                           "Jacobian J_f at theta_0 on all the data.\n"
                           "  -out FILE.h5  -case I (0, 1, 2)\n";

#include "trainjactest.h"
#include <specdyn/private/h5util.h>

static const TJCase cases[] = {
  { "gd-ce-tanh", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_TANH, SPD_MOMENTUM_NONE, 0.5, 0.0, 0.0, PETSC_FALSE, 0, 6, 0, SPD_LR_CONSTANT },
  { "sgd5-heavyball-coupled-mse", SPD_LOSS_MSE, SPD_ACT_TANH, SPD_MOMENTUM_HEAVY_BALL, 0.2, 0.9, 0.02, PETSC_FALSE, 5, 6, 0, SPD_LR_CONSTANT },
  { "sgd8-nesterov-decoupled-gelu", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_GELU, SPD_MOMENTUM_NESTEROV, 0.3, 0.8, 0.1, PETSC_TRUE, 8, 6, 2, SPD_LR_COSINE },
};

int main(int argc, char **argv)
{
  const PetscInt L = 3, w[4] = { 4, 6, 5, 3 }, n = 24, out = w[3];
  char           path[PETSC_MAX_PATH_LEN] = "trainjac_torch.h5";
  PetscInt       icase = 0, P, T, t, maxb = 0;
  MPI_Comm       comm;
  PetscMPIInt    rank;
  const TJCase  *tc;
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainer     tr;
  Mat            J, Jf;
  PetscReal     *theta0, *thetaT, *th, *m, *D, *Jrow, *X, *Y = NULL, *Df, *Jfrow, *eta;
  PetscInt64    *labels = NULL, *batches;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", path, sizeof(path), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-case", &icase, NULL));
  PetscCheck(icase >= 0 && icase < (PetscInt)(sizeof(cases) / sizeof(cases[0])), comm, PETSC_ERR_ARG_OUTOFRANGE, "-case %" PetscInt_FMT ": give 0, 1 or 2", icase);
  tc = &cases[icase];
  T  = tc->steps;
  PetscCall(TJMakeProblem(comm, L, w, tc->act, tc->loss, n, &mlp, &data));
  PetscCall(TJMakeTrainer(tc, mlp, data, &tr));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(PetscMalloc6(P, &theta0, P, &thetaT, (size_t)P * P, &D, (size_t)P * P, &Jrow, (size_t)n * w[0], &X, T, &eta));
  PetscCall(PetscMalloc2((size_t)n * out * P, &Df, (size_t)n * out * P, &Jfrow));
  PetscCall(SpdTrainerGetState(tr, &t, &th, &m));
  PetscCall(PetscArraycpy(theta0, th, P));

  /* the run's schedule and batches, theta_T, J_T */
  for (PetscInt s = 0; s < T; s++) {
    PetscInt nb;
    PetscCall(SpdTrainerGetBatch(tr, s, &nb, NULL));
    maxb = PetscMax(maxb, nb);
  }
  PetscCall(PetscMalloc1((size_t)T * maxb + 1, &batches));
  for (PetscInt s = 0; s < T; s++) {
    PetscInt        nb;
    const PetscInt *idx;
    PetscCall(SpdTrainerGetBatch(tr, s, &nb, &idx));
    for (PetscInt i = 0; i < maxb; i++) batches[s * maxb + i] = i < nb ? idx[i] : -1;
    PetscCall(SpdTrainerGetLearningRate(tr, s, &eta[s]));
  }
  PetscCall(TJRun(tr, theta0, thetaT));
  PetscCall(SpdMatCreateTrainingJacobian(tr, 2, &J));
  PetscCall(TJDense(J, PETSC_FALSE, D));
  for (PetscInt i = 0; i < P; i++)
    for (PetscInt j = 0; j < P; j++) Jrow[i * P + j] = D[i + (size_t)j * P];

  /* J_f at theta_0 on all the data */
  PetscCall(SpdMLPSetPoint(mlp, data));
  PetscCall(SpdMatCreateFunctionJacobian(mlp, &Jf));
  PetscCall(TJDense(Jf, PETSC_FALSE, Df));
  for (PetscInt r = 0; r < n * out; r++)
    for (PetscInt j = 0; j < P; j++) Jfrow[r * P + j] = Df[r + (size_t)j * n * out];

  /* the data, replicated */
  PetscCall(PetscArrayzero(X, n * w[0]));
  PetscCall(PetscArraycpy(X + data->start * w[0], data->X, data->nlocal * w[0]));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, X, (PetscMPIInt)(n * w[0]), MPIU_REAL, MPIU_SUM, comm));
  if (data->labels) {
    PetscCall(PetscCalloc1(n, &labels));
    for (PetscInt i = 0; i < data->nlocal; i++) labels[data->start + i] = data->labels[i];
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, labels, (PetscMPIInt)n, MPIU_INT64, MPI_SUM, comm));
  } else {
    PetscCall(PetscCalloc1(n * out, &Y));
    PetscCall(PetscArraycpy(Y + data->start * out, data->Y, data->nlocal * out));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, Y, (PetscMPIInt)(n * out), MPIU_REAL, MPIU_SUM, comm));
  }

  if (rank == 0) {
    hid_t      f;
    hsize_t    dims[2];
    PetscInt64 wid[4];
    PetscReal  cfg[5] = { tc->beta, tc->wd, (PetscReal)tc->decoupled, (PetscReal)tc->momentum, (PetscReal)T };

    for (PetscInt l = 0; l <= L; l++) wid[l] = w[l];
    SpdCallH5Return(f, H5Fcreate, (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    PetscCall(SpdH5WriteAttrString(f, "case", tc->name));
    PetscCall(SpdH5WriteAttrString(f, "act", SpdActivations[tc->act]));
    PetscCall(SpdH5WriteAttrString(f, "loss", SpdLosses[tc->loss]));
    PetscCall(SpdH5WriteAttrString(f, "momentum", SpdMomenta[tc->momentum]));
    dims[0] = 5;
    PetscCall(SpdH5WriteArray(f, "cfg", 1, dims, H5T_NATIVE_DOUBLE, cfg)); /* beta, weight decay, decoupled, momentum, steps */
    dims[0] = L + 1;
    PetscCall(SpdH5WriteArray(f, "widths", 1, dims, H5T_NATIVE_INT64, wid));
    dims[0] = n;
    dims[1] = w[0];
    PetscCall(SpdH5WriteArray(f, "X", 2, dims, H5T_NATIVE_DOUBLE, X));
    if (labels)
      PetscCall(SpdH5WriteArray(f, "labels", 1, dims, H5T_NATIVE_INT64, labels));
    else {
      dims[1] = out;
      PetscCall(SpdH5WriteArray(f, "Y", 2, dims, H5T_NATIVE_DOUBLE, Y));
    }
    dims[0] = T;
    PetscCall(SpdH5WriteArray(f, "eta", 1, dims, H5T_NATIVE_DOUBLE, eta));
    dims[1] = maxb;
    PetscCall(SpdH5WriteArray(f, "batches", 2, dims, H5T_NATIVE_INT64, batches));
    dims[0] = P;
    PetscCall(SpdH5WriteArray(f, "theta0", 1, dims, H5T_NATIVE_DOUBLE, theta0));
    PetscCall(SpdH5WriteArray(f, "thetaT", 1, dims, H5T_NATIVE_DOUBLE, thetaT));
    dims[1] = P;
    PetscCall(SpdH5WriteArray(f, "J", 2, dims, H5T_NATIVE_DOUBLE, Jrow)); /* J[i, j] = d thetaT_i / d theta0_j */
    dims[0] = n * out;
    PetscCall(SpdH5WriteArray(f, "Jf", 2, dims, H5T_NATIVE_DOUBLE, Jfrow)); /* Jf[i out + o, j] = d z_io / d theta_j */
    SpdCallH5(H5Fclose, (f));
  }
  PetscCall(MatDestroy(&J));
  PetscCall(MatDestroy(&Jf));
  PetscCall(PetscFree6(theta0, thetaT, D, Jrow, X, eta));
  PetscCall(PetscFree2(Df, Jfrow));
  PetscCall(PetscFree(batches));
  PetscCall(PetscFree(labels));
  PetscCall(PetscFree(Y));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscCall(SpdFinalize());
  return 0;
}
