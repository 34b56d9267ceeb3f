static const char help[] = "The parameter-function Jacobian J_f = d z_L / d theta (SpdMatCreateFunctionJacobian,\n"
                           "SpdMLPJacobianApply/TransposeApply): the dense J_f built column by column against\n"
                           "central differences of the outputs, the transpose products against the dense\n"
                           "matrix, and the adjoint identity, with non-trivial multipliers. Moving the model's\n"
                           "point (SpdMLPSetPoint on other data, on the same data after a change of theta,\n"
                           "SpdMLPSetMultipliers) makes the operator's products fail with PETSC_ERR_ORDER;\n"
                           "an operator created again at the point matches central differences.\n";

#include "trainjactest.h"

/* All outputs (n x out, row-major, replicated) at the model's current theta. */
static PetscErrorCode Outputs(SpdMLP m, SpdData d, PetscInt out, PetscReal z[])
{
  const PetscReal *Z;

  PetscFunctionBeginUser;
  PetscCall(SpdMLPSetPoint(m, d));
  PetscCall(SpdMLPGetOutputs(m, &Z));
  PetscCall(PetscArrayzero(z, d->n * out));
  for (PetscInt i = 0; i < d->nlocal * out; i++) z[d->start * out + i] = Z[i];
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, z, (PetscMPIInt)(d->n * out), MPIU_REAL, MPIU_SUM, d->comm));
  PetscFunctionReturn(0);
}

/* A product with J_f (or J_f^T) after the model's point has moved must fail, with a
   message that says what moved and what to do. */
static PetscErrorCode ExpectMoved(Mat Jf, PetscBool transpose, const char what[], const char how[])
{
  char           msg[4096];
  PetscErrorCode ierr;
  Vec            x, y;

  PetscFunctionBeginUser;
  PetscCall(MatCreateVecs(Jf, &x, &y));
  PetscCall(VecSet(x, 1.0));
  PetscCall(VecSet(y, 1.0));
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  ierr = transpose ? MatMultTranspose(Jf, y, x) : MatMult(Jf, x, y);
  PetscCall(SpdErrorCapturePop());
  SPD_EXPECT(ierr == PETSC_ERR_ORDER, "%s: J_f%s product after %s returned %d, expected PETSC_ERR_ORDER (%d)", what, transpose ? "^T" : "", how, (int)ierr, (int)PETSC_ERR_ORDER);
  SPD_EXPECT(strstr(msg, "the point has moved") && strstr(msg, "SpdMLPSetPoint()") && strstr(msg, "create it again with SpdMatCreateFunctionJacobian()"), "%s: J_f%s product after %s: unhelpful message '%s'", what, transpose ? "^T" : "", how, msg);
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscFunctionReturn(0);
}

static PetscErrorCode RunCase(SpdActivation act, SpdLoss loss, PetscBool bias1)
{
  const PetscInt L = 3, w[4] = { 4, 6, 5, 3 }, n = 9, out = w[3];
  SpdActivation  acts[3] = { act, act, act };
  PetscBool      bias[3] = { bias1, PETSC_TRUE, bias1 };
  PetscReal      amul[3] = { 1.0, 0.7, 1.3 }, cmul[3] = { 0.5, 1.0, 2.0 }, h = 1e-6;
  MPI_Comm       comm = PETSC_COMM_WORLD;
  SpdMLP         mlp;
  SpdData        data;
  Mat            Jf;
  Vec            x, y;
  PetscInt       P, M, lo, hi;
  PetscReal     *theta, *theta0, *D, *DT, *FD, *zp, *zm, *u, *v, *Jv, *JTu, *ref;
  char           what[64];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s/%s/%s", SpdActivations[act], SpdLosses[loss], bias1 ? "bias" : "nobias"));
  PetscCall(SpdMLPCreate(comm, L, w, acts, bias, loss, &mlp));
  PetscCall(SpdMLPSetMultipliers(mlp, amul, cmul));
  if (loss == SPD_LOSS_CROSS_ENTROPY)
    PetscCall(SpdDataGaussianMixture(comm, n, w[0], out, 1.0, 3, &data));
  else
    PetscCall(SpdDataTeacherStudent(comm, n, w[0], out, 2.0, 4, &data));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  M = n * out;
  PetscCall(SpdMLPGetParameters(mlp, &theta));
  PetscCall(PetscMalloc6(P, &theta0, (size_t)M * P, &D, (size_t)M * P, &DT, (size_t)M * P, &FD, M, &zp, M, &zm));
  PetscCall(PetscMalloc5(M, &u, P, &v, M, &Jv, P, &JTu, P, &ref));
  SpdTestRandomMatrix(21, P, 1, theta0);
  for (PetscInt j = 0; j < P; j++) theta[j] = theta0[j] *= 0.6;
  PetscCall(SpdMLPSetPoint(mlp, data));
  PetscCall(SpdMatCreateFunctionJacobian(mlp, &Jf));
  {
    PetscInt m_, n_, lm;
    PetscCall(MatGetSize(Jf, &m_, &n_));
    PetscCall(MatGetLocalSize(Jf, &lm, NULL));
    SPD_EXPECT(m_ == M && n_ == P && lm == data->nlocal * out, "%s: J_f is %" PetscInt_FMT " x %" PetscInt_FMT " with %" PetscInt_FMT " local rows; expected %" PetscInt_FMT " x %" PetscInt_FMT " with %" PetscInt_FMT, what, m_, n_, lm, M, P, data->nlocal * out);
  }
  PetscCall(TJDense(Jf, PETSC_FALSE, D)); /* M x P, column-major */
  PetscCall(TJDense(Jf, PETSC_TRUE, DT)); /* P x M, column-major: DT[j + r P] = J[r, j] */

  /* central differences of the outputs, column by column */
  for (PetscInt j = 0; j < P; j++) {
    theta[j] = theta0[j] + h;
    PetscCall(Outputs(mlp, data, out, zp));
    theta[j] = theta0[j] - h;
    PetscCall(Outputs(mlp, data, out, zm));
    theta[j] = theta0[j];
    for (PetscInt r = 0; r < M; r++) FD[r + (size_t)j * M] = (zp[r] - zm[r]) / (2 * h);
  }
  /* the central differences moved the point (SpdMLPSetPoint at theta0 +- h e_j on the same
     SpdData): products with the operator made before must now fail, even once the point
     is set again at theta0 on the same data */
  PetscCall(ExpectMoved(Jf, PETSC_FALSE, what, "SpdMLPSetPoint() on the same data at another theta"));
  PetscCall(SpdMLPSetPoint(mlp, data));
  PetscCall(ExpectMoved(Jf, PETSC_TRUE, what, "SpdMLPSetPoint() on the same data at the same theta"));
  {
    SpdData other; /* other data of the same size */
    if (loss == SPD_LOSS_CROSS_ENTROPY)
      PetscCall(SpdDataGaussianMixture(comm, n, w[0], out, 1.0, 7, &other));
    else
      PetscCall(SpdDataTeacherStudent(comm, n, w[0], out, 2.0, 8, &other));
    PetscCall(MatDestroy(&Jf));
    PetscCall(SpdMatCreateFunctionJacobian(mlp, &Jf));
    PetscCall(SpdMLPSetPoint(mlp, other));
    PetscCall(ExpectMoved(Jf, PETSC_FALSE, what, "SpdMLPSetPoint() on other data of the same size"));
    PetscCall(ExpectMoved(Jf, PETSC_TRUE, what, "SpdMLPSetPoint() on other data of the same size"));
    PetscCall(SpdDataDestroy(&other));
    PetscCall(SpdMLPSetPoint(mlp, data));
    PetscCall(MatDestroy(&Jf));
    PetscCall(SpdMatCreateFunctionJacobian(mlp, &Jf));
    PetscCall(SpdMLPSetMultipliers(mlp, amul, cmul)); /* the same values: still a move */
    PetscCall(ExpectMoved(Jf, PETSC_FALSE, what, "SpdMLPSetMultipliers()"));
  }
  /* at the point again (theta0, data): a new operator, checked below against the central
     differences */
  PetscCall(SpdMLPSetPoint(mlp, data));
  PetscCall(MatDestroy(&Jf));
  PetscCall(SpdMatCreateFunctionJacobian(mlp, &Jf));
  {
    double e = TJRelErr(M * P, D, FD), et = 0, nt = 0;
    for (PetscInt r = 0; r < M; r++)
      for (PetscInt j = 0; j < P; j++) {
        et += PetscSqr(DT[j + (size_t)r * P] - D[r + (size_t)j * M]);
        nt += PetscSqr(D[r + (size_t)j * M]);
      }
    PetscCall(PetscPrintf(comm, "%-24s J_f vs central differences %.2e, J_f^T vs J_f %.2e\n", what, e, sqrt(et / nt)));
    SPD_EXPECT(e < 1e-8, "%s: dense J_f vs central differences of the outputs: %.3g", what, e);
    SPD_EXPECT(sqrt(et / nt) < 1e-14, "%s: J_f^T columns vs J_f rows: %.3g", what, sqrt(et / nt));
  }

  /* adjoint identity through the MATSHELL, and the replicated API against the dense J_f */
  SpdTestRandomMatrix(31, M, 1, u);
  SpdTestRandomMatrix(32, P, 1, v);
  PetscCall(MatCreateVecs(Jf, &x, &y));
  PetscCall(TJVecSetFull(x, v));
  PetscCall(MatMult(Jf, x, y));
  PetscCall(SpdTestVecGather(y, Jv));
  PetscCall(TJVecSetFull(y, u));
  PetscCall(MatMultTranspose(Jf, y, x));
  PetscCall(SpdTestVecGather(x, JTu));
  { /* the re-created operator's products against the central differences */
    PetscReal *fv, *ftu;
    PetscCall(PetscMalloc2(M, &fv, P, &ftu));
    for (PetscInt r = 0; r < M; r++) {
      fv[r] = 0;
      for (PetscInt j = 0; j < P; j++) fv[r] += FD[r + (size_t)j * M] * v[j];
    }
    for (PetscInt j = 0; j < P; j++) {
      ftu[j] = 0;
      for (PetscInt r = 0; r < M; r++) ftu[j] += FD[r + (size_t)j * M] * u[r];
    }
    SPD_EXPECT(TJRelErr(M, Jv, fv) < 1e-8, "%s: J_f v (operator created again at the point) vs central differences: %.3g", what, TJRelErr(M, Jv, fv));
    SPD_EXPECT(TJRelErr(P, JTu, ftu) < 1e-8, "%s: J_f^T u (operator created again at the point) vs central differences: %.3g", what, TJRelErr(P, JTu, ftu));
    PetscCall(PetscFree2(fv, ftu));
  }
  {
    double lhs = TJDot(M, u, Jv), rhs = TJDot(P, JTu, v);
    SPD_EXPECT(fabs(lhs - rhs) <= 1e-13 * TJNorm(M, u) * TJNorm(M, Jv), "%s: <u, J_f v> = %.17g but <J_f^T u, v> = %.17g", what, lhs, rhs);
  }
  PetscCall(VecGetOwnershipRange(y, &lo, &hi));
  for (PetscInt j = 0; j < P; j++) {
    ref[j] = 0;
    for (PetscInt r = 0; r < M; r++) ref[j] += D[r + (size_t)j * M] * u[r];
  }
  PetscCall(SpdMLPJacobianTransposeApply(mlp, u + data->start * out, JTu, PETSC_FALSE));
  SPD_EXPECT(TJRelErr(P, JTu, ref) < 1e-13, "%s: SpdMLPJacobianTransposeApply (summed) vs dense J_f^T u: %.3g", what, TJRelErr(P, JTu, ref));
  PetscCall(SpdMLPJacobianApply(mlp, v, Jv));
  for (PetscInt i = 0; i < data->nlocal * out; i++) {
    double s = 0;
    for (PetscInt j = 0; j < P; j++) s += D[data->start * out + i + (size_t)j * M] * v[j];
    SPD_EXPECT(fabs(Jv[i] - s) <= 1e-12 * (1 + fabs(s)), "%s: SpdMLPJacobianApply row %" PetscInt_FMT ": %.17g vs dense %.17g", what, data->start * out + i, Jv[i], s);
  }

  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(MatDestroy(&Jf));
  PetscCall(PetscFree6(theta0, D, DT, FD, zp, zm));
  PetscCall(PetscFree5(u, v, Jv, JTu, ref));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(RunCase(SPD_ACT_TANH, SPD_LOSS_CROSS_ENTROPY, PETSC_TRUE));
  PetscCall(RunCase(SPD_ACT_GELU, SPD_LOSS_MSE, PETSC_FALSE));
  PetscCall(RunCase(SPD_ACT_IDENTITY, SPD_LOSS_MSE, PETSC_TRUE));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
