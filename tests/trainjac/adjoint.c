static const char help[] = "The tangent of a training step and the training Jacobian J_T: one step's tangent\n"
                           "(theta and momentum blocks) against central differences of SpdTrainerStep, the\n"
                           "adjoint identities <a, M x> = <M^T a, x> and <u, J_T v> = <J_T^T u, v>, J_T v against\n"
                           "central differences of the whole run, and every = 3 against every = 1; for gradient\n"
                           "descent, minibatches, heavy ball, Nesterov, coupled and decoupled decay, schedules.\n";

#include "trainjactest.h"

static const TJCase cases[] = {
  { "gd", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_TANH, SPD_MOMENTUM_NONE, 0.5, 0.0, 0.0, PETSC_FALSE, 0, 7, 0, SPD_LR_CONSTANT },
  { "gd-mse-coupled", SPD_LOSS_MSE, SPD_ACT_TANH, SPD_MOMENTUM_NONE, 0.2, 0.0, 0.03, PETSC_FALSE, 0, 7, 0, SPD_LR_CONSTANT },
  { "sgd5-heavyball-coupled", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_TANH, SPD_MOMENTUM_HEAVY_BALL, 0.3, 0.9, 0.02, PETSC_FALSE, 5, 7, 0, SPD_LR_CONSTANT },
  { "sgd8-nesterov-decoupled-cosine", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_GELU, SPD_MOMENTUM_NESTEROV, 0.3, 0.8, 0.1, PETSC_TRUE, 8, 7, 2, SPD_LR_COSINE },
  { "gd-heavyball-decoupled-step", SPD_LOSS_MSE, SPD_ACT_TANH, SPD_MOMENTUM_HEAVY_BALL, 0.2, 0.7, 0.05, PETSC_TRUE, 0, 7, 0, SPD_LR_STEP },
  { "sgd7-nesterov-coupled-mse", SPD_LOSS_MSE, SPD_ACT_TANH, SPD_MOMENTUM_NESTEROV, 0.2, 0.9, 0.01, PETSC_FALSE, 7, 7, 1, SPD_LR_CONSTANT },
  { "sgd4-none-decoupled-relu", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_RELU, SPD_MOMENTUM_NONE, 0.4, 0.0, 0.1, PETSC_TRUE, 4, 7, 0, SPD_LR_CONSTANT },
};

/* One step's tangent (both directions) at (t, theta_t, m_t): against central differences
   of SpdTrainerStep, and the adjoint identity on the (theta, m) state. */
static PetscErrorCode CheckStep(const TJCase *tc, SpdTrainer tr, PetscInt P, PetscInt t, const PetscReal th[], const PetscReal m[])
{
  PetscBool  mom = tc->momentum != SPD_MOMENTUM_NONE ? PETSC_TRUE : PETSC_FALSE;
  PetscReal *x, *xm, *a, *am, *Mx, *Mxm, *Ma, *Mam, *tp, *mp, *fd, *fdm, *st, *sm, h = 1e-5;
  PetscInt   tt;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc6(P, &x, P, &xm, P, &a, P, &am, P, &Mx, P, &Mxm));
  PetscCall(PetscMalloc6(P, &Ma, P, &Mam, P, &tp, P, &mp, P, &fd, P, &fdm));
  SpdTestRandomMatrix(300 + t, P, 1, x);
  SpdTestRandomMatrix(400 + t, P, 1, xm);
  SpdTestRandomMatrix(500 + t, P, 1, a);
  SpdTestRandomMatrix(600 + t, P, 1, am);
  PetscCall(PetscArraycpy(Mx, x, P));
  PetscCall(PetscArraycpy(Mxm, xm, P));
  PetscCall(PetscArraycpy(Ma, a, P));
  PetscCall(PetscArraycpy(Mam, am, P));
  PetscCall(SpdTrainerStepTangent(tr, t, th, PETSC_FALSE, Mx, mom ? Mxm : NULL));
  PetscCall(SpdTrainerStepTangent(tr, t, th, PETSC_TRUE, Ma, mom ? Mam : NULL));
  {
    double lhs = TJDot(P, a, Mx) + (mom ? TJDot(P, am, Mxm) : 0), rhs = TJDot(P, Ma, x) + (mom ? TJDot(P, Mam, xm) : 0);
    double scale = TJNorm(P, a) * TJNorm(P, Mx) + (mom ? TJNorm(P, am) * TJNorm(P, Mxm) : 0);
    SPD_EXPECT(fabs(lhs - rhs) <= 1e-13 * scale, "%s step %" PetscInt_FMT ": <a, M x> = %.17g but <M^T a, x> = %.17g", tc->name, t, lhs, rhs);
  }
  /* central differences of the step map (theta, m) -> (theta', m') */
  for (int sgn = 1; sgn >= -1; sgn -= 2) {
    for (PetscInt j = 0; j < P; j++) {
      tp[j] = th[j] + sgn * h * x[j];
      mp[j] = mom ? m[j] + sgn * h * xm[j] : 0;
    }
    PetscCall(SpdTrainerSetState(tr, t, tp, mom ? mp : NULL));
    PetscCall(SpdTrainerStep(tr));
    PetscCall(SpdTrainerGetState(tr, &tt, &st, &sm));
    for (PetscInt j = 0; j < P; j++) {
      fd[j]  = (sgn > 0 ? 0 : fd[j]) + sgn * st[j] / (2 * h);
      fdm[j] = (sgn > 0 ? 0 : fdm[j]) + (mom ? sgn * sm[j] / (2 * h) : 0);
    }
  }
  {
    double e = TJRelErr(P, Mx, fd), em = mom ? TJRelErr(P, Mxm, fdm) : 0;
    SPD_EXPECT(e < 1e-6 && em < 1e-6, "%s step %" PetscInt_FMT ": tangent vs central differences: theta %.3g, momentum %.3g", tc->name, t, e, em);
  }
  PetscCall(PetscFree6(x, xm, a, am, Mx, Mxm));
  PetscCall(PetscFree6(Ma, Mam, tp, mp, fd, fdm));
  PetscFunctionReturn(0);
}

static PetscErrorCode RunCase(const TJCase *tc)
{
  const PetscInt L = 3, w[4] = { 4, 6, 5, 3 };
  MPI_Comm       comm = PETSC_COMM_WORLD;
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainer     tr;
  Mat            J1, J3;
  Vec            v, u, y;
  PetscInt       P, t;
  PetscReal     *th, *m, *theta0, *vf, *uf, *Jv, *JTu, *Jv3, *JTu3, *tp, *tm, *fd, *states, *mstates, h = 1e-5;

  PetscFunctionBeginUser;
  PetscCall(TJMakeProblem(comm, L, w, tc->act, tc->loss, 24, &mlp, &data));
  PetscCall(TJMakeTrainer(tc, mlp, data, &tr));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(PetscMalloc6(P, &theta0, P, &vf, P, &uf, P, &Jv, P, &JTu, P, &Jv3));
  PetscCall(PetscMalloc6(P, &JTu3, P, &tp, P, &tm, P, &fd, (size_t)tc->steps * P, &states, (size_t)tc->steps * P, &mstates));
  PetscCall(SpdTrainerGetState(tr, &t, &th, &m));
  PetscCall(PetscArraycpy(theta0, th, P));

  /* one step's tangent at a few states of the run */
  for (PetscInt s = 0; s < tc->steps; s++) {
    PetscCall(SpdTrainerGetState(tr, &t, &th, &m));
    PetscCall(PetscArraycpy(states + (size_t)s * P, th, P));
    if (m)
      PetscCall(PetscArraycpy(mstates + (size_t)s * P, m, P));
    else
      PetscCall(PetscArrayzero(mstates + (size_t)s * P, P));
    PetscCall(SpdTrainerStep(tr));
  }
  for (PetscInt s = 0; s < tc->steps; s += 3) PetscCall(CheckStep(tc, tr, P, s, states + (size_t)s * P, mstates + (size_t)s * P));
  PetscCall(SpdTrainerSetState(tr, 0, theta0, NULL));

  /* J_T: adjoint identity, every = 3 against every = 1, the trainer left at (0, theta_0) */
  PetscCall(SpdMatCreateTrainingJacobian(tr, 1, &J1));
  PetscCall(SpdMatCreateTrainingJacobian(tr, 3, &J3));
  PetscCall(MatCreateVecs(J1, &v, &u));
  PetscCall(VecDuplicate(u, &y));
  SpdTestRandomMatrix(7, P, 1, vf);
  SpdTestRandomMatrix(8, P, 1, uf);
  {
    double nv = TJNorm(P, vf);
    for (PetscInt j = 0; j < P; j++) vf[j] /= nv;
  }
  PetscCall(TJVecSetFull(v, vf));
  PetscCall(TJVecSetFull(u, uf));
  PetscCall(MatMult(J1, v, y));
  PetscCall(SpdTestVecGather(y, Jv));
  PetscCall(MatMultTranspose(J1, u, y));
  PetscCall(SpdTestVecGather(y, JTu));
  PetscCall(MatMult(J3, v, y));
  PetscCall(SpdTestVecGather(y, Jv3));
  PetscCall(MatMultTranspose(J3, u, y));
  PetscCall(SpdTestVecGather(y, JTu3));
  {
    double lhs = TJDot(P, uf, Jv), rhs = TJDot(P, JTu, vf);
    SPD_EXPECT(fabs(lhs - rhs) <= 1e-12 * fabs(lhs), "%s: <u, J v> = %.17g but <J^T u, v> = %.17g (rel %.3g)", tc->name, lhs, rhs, fabs(lhs - rhs) / fabs(lhs));
    PetscCall(PetscPrintf(comm, "%-34s <u,Jv> %.15e  rel. adjoint gap %.2e  |Jv| %.4f\n", tc->name, lhs, fabs(lhs - rhs) / fabs(lhs), TJNorm(P, Jv)));
  }
  SPD_EXPECT(TJRelErr(P, Jv3, Jv) < 1e-13, "%s: every = 3 gives J v differing from every = 1 by %.3g", tc->name, TJRelErr(P, Jv3, Jv));
  SPD_EXPECT(TJRelErr(P, JTu3, JTu) < 1e-13, "%s: every = 3 gives J^T u differing from every = 1 by %.3g", tc->name, TJRelErr(P, JTu3, JTu));
  PetscCall(SpdTrainerGetState(tr, &t, &th, &m));
  SPD_EXPECT(t == 0 && TJRelErr(P, th, theta0) == 0, "%s: the trainer is at step %" PetscInt_FMT " (theta moved by %.3g) after the products; expected (0, theta_0)", tc->name, t, TJRelErr(P, th, theta0));
  if (m) SPD_EXPECT(TJNorm(P, m) == 0, "%s: the momentum buffer is not 0 after the products", tc->name);

  /* J_T v against central differences of the whole run */
  for (PetscInt j = 0; j < P; j++) tp[j] = theta0[j] + h * vf[j];
  PetscCall(TJRun(tr, tp, tm));
  for (PetscInt j = 0; j < P; j++) tp[j] = theta0[j] - h * vf[j];
  PetscCall(TJRun(tr, tp, fd));
  for (PetscInt j = 0; j < P; j++) fd[j] = (tm[j] - fd[j]) / (2 * h);
  PetscCall(PetscPrintf(comm, "%-34s J v vs central differences of the run: %.2e\n", tc->name, TJRelErr(P, Jv, fd)));
  SPD_EXPECT(TJRelErr(P, Jv, fd) < 1e-6, "%s: J_T v vs central differences of the run: relative error %.3g", tc->name, TJRelErr(P, Jv, fd));
  PetscCall(SpdTrainerSetState(tr, 0, theta0, NULL));

  PetscCall(VecDestroy(&v));
  PetscCall(VecDestroy(&u));
  PetscCall(VecDestroy(&y));
  PetscCall(MatDestroy(&J1));
  PetscCall(MatDestroy(&J3));
  PetscCall(PetscFree6(theta0, vf, uf, Jv, JTu, Jv3));
  PetscCall(PetscFree6(JTu3, tp, tm, fd, states, mstates));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscFunctionReturn(0);
}

/* Bad use: a trainer not at t = 0, every < 1, a momentum run's tangent without dm. */
static PetscErrorCode CheckErrors(void)
{
  const PetscInt L = 2, w[3] = { 4, 5, 3 };
  TJCase         tc = { "errors", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_TANH, SPD_MOMENTUM_HEAVY_BALL, 0.1, 0.9, 0, PETSC_FALSE, 0, 3, 0, SPD_LR_CONSTANT };
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainer     tr;
  Mat            J = NULL;
  PetscReal     *th, *m, *dt;
  PetscInt       t, P;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(TJMakeProblem(PETSC_COMM_WORLD, L, w, tc.act, tc.loss, 10, &mlp, &data));
  PetscCall(TJMakeTrainer(&tc, mlp, data, &tr));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(PetscCalloc1(P, &dt));
  PetscCall(SpdTrainerStep(tr));
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = SpdMatCreateTrainingJacobian(tr, 1, &J);
  SPD_EXPECT(ierr == PETSC_ERR_ARG_WRONGSTATE, "a trainer at t = 1 gave error %d, expected PETSC_ERR_ARG_WRONGSTATE", (int)ierr);
  PetscCall(SpdTrainerGetState(tr, &t, &th, &m));
  PetscCall(SpdTrainerSetState(tr, 0, NULL, m)); /* t = 0 but m_0 != 0 */
  ierr = SpdMatCreateTrainingJacobian(tr, 1, &J);
  SPD_EXPECT(ierr == PETSC_ERR_ARG_WRONGSTATE, "a nonzero momentum buffer gave error %d, expected PETSC_ERR_ARG_WRONGSTATE", (int)ierr);
  PetscCall(SpdTrainerSetState(tr, 0, NULL, NULL));
  ierr = SpdMatCreateTrainingJacobian(tr, 0, &J);
  SPD_EXPECT(ierr == PETSC_ERR_ARG_OUTOFRANGE, "every = 0 gave error %d, expected PETSC_ERR_ARG_OUTOFRANGE", (int)ierr);
  ierr = SpdTrainerStepTangent(tr, 0, th, PETSC_FALSE, dt, NULL);
  SPD_EXPECT(ierr == PETSC_ERR_ARG_NULL, "a heavy-ball tangent without dm gave error %d, expected PETSC_ERR_ARG_NULL", (int)ierr);
  ierr = SpdTrainerStepTangent(tr, 3, th, PETSC_FALSE, dt, dt);
  SPD_EXPECT(ierr == PETSC_ERR_ARG_OUTOFRANGE, "the tangent of step 3 of a 3-step run gave error %d, expected PETSC_ERR_ARG_OUTOFRANGE", (int)ierr);
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscFree(dt));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscFunctionReturn(0);
}

/* T = 0: J_T is the identity (every > T is allowed). */
static PetscErrorCode CheckIdentity(void)
{
  const PetscInt L = 2, w[3] = { 4, 5, 3 };
  TJCase         tc = { "identity", SPD_LOSS_CROSS_ENTROPY, SPD_ACT_TANH, SPD_MOMENTUM_NESTEROV, 0.1, 0.9, 0, PETSC_FALSE, 3, 0, 0, SPD_LR_CONSTANT };
  SpdMLP         mlp;
  SpdData        data;
  SpdTrainer     tr;
  Mat            J;
  Vec            x, y;
  PetscReal      nrm;

  PetscFunctionBeginUser;
  PetscCall(TJMakeProblem(PETSC_COMM_WORLD, L, w, tc.act, tc.loss, 10, &mlp, &data));
  PetscCall(TJMakeTrainer(&tc, mlp, data, &tr));
  PetscCall(SpdMatCreateTrainingJacobian(tr, 4, &J));
  PetscCall(MatCreateVecs(J, &x, &y));
  PetscCall(VecSetRandom(x, NULL));
  PetscCall(MatMult(J, x, y));
  PetscCall(VecAXPY(y, -1.0, x));
  PetscCall(VecNorm(y, NORM_2, &nrm));
  SPD_EXPECT(nrm == 0, "T = 0: J v - v has norm %g, expected J = I", (double)nrm);
  PetscCall(MatMultTranspose(J, x, y));
  PetscCall(VecAXPY(y, -1.0, x));
  PetscCall(VecNorm(y, NORM_2, &nrm));
  SPD_EXPECT(nrm == 0, "T = 0: J^T v - v has norm %g, expected J = I", (double)nrm);
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(MatDestroy(&J));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) PetscCall(RunCase(&cases[i]));
  PetscCall(CheckErrors());
  PetscCall(CheckIdentity());
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
