static const char help[] = "Input-output Jacobian with fixed gates of MLPs: J v and J^T u against central\n"
                           "finite differences of the network output (model layer's forward pass), every\n"
                           "partial product J_{l:k} (shell and explicit MATMPIDENSE) against an independent\n"
                           "loop implementation, the adjoint identity, singular values (SpdSVDExtreme on\n"
                           "the shell, SpdSVDFull on the dense matrix) against LAPACK, and the same numbers\n"
                           "on the world communicator and on one rank.\n";

#include "jactest.h"

static PetscReal MaxAbs(PetscInt n, const PetscReal a[])
{
  PetscReal m = 0;
  for (PetscInt i = 0; i < n; i++) m = PetscMax(m, PetscAbsReal(a[i]));
  return m;
}

static PetscErrorCode CheckNet(TestNet *t, uint64_t seed, PetscBool smooth)
{
  MPI_Comm    comm = PETSC_COMM_WORLD;
  SpdJacobian J, Js;
  PetscInt    L = t->L, w0 = t->w[0], wL = t->w[L];
  PetscReal   x[64], xp[64], xm[64], fp[64], fm[64], v[64], u[64], Jv[64], Jtu[64], fd[64], fdt[64], zmin = 0;
  PetscReal  *A[8] = { 0 }, *g[8] = { 0 }, *Jref, *Jdense, *col;
  PetscReal   eps = smooth ? 1e-5 : 1e-4; /* piecewise linear: no truncation error away from kinks */
  SpdTestRng  r;

  PetscFunctionBeginUser;
  SpdTestRngSeed(&r, seed);
  for (PetscInt i = 0; i < w0; i++) x[i] = SpdTestRngNormal(&r);
  for (PetscInt i = 0; i < 64; i++) v[i] = SpdTestRngNormal(&r); /* all 64: also the inputs of partial products */
  for (PetscInt i = 0; i < 64; i++) u[i] = SpdTestRngNormal(&r);
  for (PetscInt j = 1; j <= L; j++) PetscCall(PetscMalloc2(t->w[j] * t->w[j - 1], &A[j], t->w[j], &g[j]));
  PetscCall(PetscMalloc3(64 * 64, &Jref, 64 * 64, &Jdense, 64, &col));
  PetscCall(TestNetFactors(t, A));
  PetscCall(TestNetGates(t, x, g, &zmin));
  if (!smooth) SPD_EXPECT(zmin > 1e2 * eps, "piecewise-linear net: a pre-activation |z| = %g is near a kink; choose another seed", (double)zmin);

  PetscCall(SpdJacobianCreateMLP(t->mlp, x, comm, &J));
  PetscCall(SpdJacobianCreateMLP(t->mlp, x, PETSC_COMM_SELF, &Js));

  /* J v and J^T u against central differences of z_L(x) */
  {
    Vec vx, vy;
    PetscCall(SpdJacobianCreateVec(J, 0, &vx));
    PetscCall(SpdJacobianCreateVec(J, L, &vy));
    PetscCall(TestVecSet(vx, v));
    PetscCall(SpdJacobianMult(J, 1, L, vx, vy));
    PetscCall(SpdTestVecGather(vy, Jv));
    PetscCall(TestVecSet(vy, u));
    PetscCall(SpdJacobianMultTranspose(J, 1, L, vy, vx));
    PetscCall(SpdTestVecGather(vx, Jtu));
    PetscCall(VecDestroy(&vx));
    PetscCall(VecDestroy(&vy));
  }
  for (PetscInt i = 0; i < w0; i++) xp[i] = x[i] + eps * v[i], xm[i] = x[i] - eps * v[i];
  PetscCall(TestNetOutput(t, xp, fp));
  PetscCall(TestNetOutput(t, xm, fm));
  for (PetscInt i = 0; i < wL; i++) fd[i] = (fp[i] - fm[i]) / (2 * eps);
  PetscCall(SpdTestCheckClose(comm, "J v vs central differences (relative to the largest entry)", wL, Jv, fd, smooth ? 1e-7 : 1e-9, MaxAbs(wL, fd)));
  for (PetscInt c = 0; c < w0; c++) { /* (J^T u)_c = d/dx_c (u . z_L) */
    PetscReal sp = 0, sm = 0;
    for (PetscInt i = 0; i < w0; i++) xp[i] = x[i] + (i == c ? eps : 0), xm[i] = x[i] - (i == c ? eps : 0);
    PetscCall(TestNetOutput(t, xp, fp));
    PetscCall(TestNetOutput(t, xm, fm));
    for (PetscInt i = 0; i < wL; i++) sp += u[i] * fp[i], sm += u[i] * fm[i];
    fdt[c] = (sp - sm) / (2 * eps);
  }
  PetscCall(SpdTestCheckClose(comm, "J^T u vs central differences (relative to the largest entry)", w0, Jtu, fdt, smooth ? 1e-7 : 1e-9, MaxAbs(w0, fdt)));

  /* every partial product: shell columns, dense matrix, adjoint, world vs one rank */
  for (PetscInt k = 1; k <= L; k++)
    for (PetscInt l = k; l <= L; l++) {
      PetscInt  m = t->w[l], n = t->w[k - 1];
      Vec       ex, y, ys, xs, yu, xt, xts;
      Mat       D, Ds;
      PetscReal ip1, ip2, diff = 0, nrm = 0;

      PetscCall(TestPartial(t->w, A, g, k, l, Jref));
      PetscCall(SpdJacobianCreateVec(J, k - 1, &ex));
      PetscCall(SpdJacobianCreateVec(J, l, &y));
      PetscCall(SpdJacobianCreateVec(Js, k - 1, &xs));
      PetscCall(SpdJacobianCreateVec(Js, l, &ys));
      for (PetscInt c = 0; c < n; c++) {
        PetscReal e[64] = { 0 }, ysa[64];
        e[c]            = 1;
        PetscCall(TestVecSet(ex, e));
        PetscCall(SpdJacobianMult(J, k, l, ex, y));
        PetscCall(SpdTestVecGather(y, col));
        PetscCall(PetscArraycpy(Jdense + c * m, col, m));
        PetscCall(TestVecSet(xs, e));
        PetscCall(SpdJacobianMult(Js, k, l, xs, ys));
        PetscCall(SpdTestVecGather(ys, ysa));
        for (PetscInt i = 0; i < m; i++) diff = PetscMax(diff, PetscAbsReal(ysa[i] - col[i])), nrm = PetscMax(nrm, PetscAbsReal(col[i]));
      }
      PetscCall(SpdTestCheckClose(comm, "J_{l:k} (shell columns) vs loops", m * n, Jdense, Jref, 1e-12, 1e-6));
      SPD_EXPECT(diff <= 1e-14 * nrm, "J_{%" PetscInt_FMT ":%" PetscInt_FMT "}: world vs one rank differ by %g (scale %g)", l, k, (double)diff, (double)nrm);
      /* adjoint identity with random vectors */
      PetscCall(TestVecSet(ex, v));
      PetscCall(TestVecSet(y, u));
      PetscCall(VecDuplicate(y, &yu));
      PetscCall(VecDuplicate(ex, &xt));
      PetscCall(VecDuplicate(xs, &xts));
      PetscCall(SpdJacobianMult(J, k, l, ex, yu));
      PetscCall(SpdJacobianMultTranspose(J, k, l, y, xt));
      PetscCall(VecDot(y, yu, &ip1));
      PetscCall(VecDot(xt, ex, &ip2));
      {
        PetscReal n1, n2, n3, n4;
        PetscCall(VecNorm(y, NORM_2, &n1));
        PetscCall(VecNorm(yu, NORM_2, &n2));
        PetscCall(VecNorm(xt, NORM_2, &n3));
        PetscCall(VecNorm(ex, NORM_2, &n4));
        SPD_EXPECT(PetscAbsReal(ip1 - ip2) <= 1e-14 * PetscMax(n1 * n2, n3 * n4), "adjoint J_{%" PetscInt_FMT ":%" PetscInt_FMT "}: <u,Jv> = %.17g, <J^T u,v> = %.17g", l, k, (double)ip1, (double)ip2);
      }
      /* J^T on one rank vs world */
      {
        PetscReal a1[64], a2[64];
        PetscCall(TestVecSet(ys, u));
        PetscCall(SpdJacobianMultTranspose(Js, k, l, ys, xts));
        PetscCall(SpdTestVecGather(xt, a1));
        PetscCall(SpdTestVecGather(xts, a2));
        PetscCall(SpdTestCheckClose(comm, "J^T u world vs one rank", n, a1, a2, 1e-13, 1e-6));
      }
      /* explicit dense matrix */
      PetscCall(SpdJacobianCreateDense(J, k, l, &D));
      PetscCall(MatCreateRedundantMatrix(D, 0, PETSC_COMM_SELF, MAT_INITIAL_MATRIX, &Ds));
      {
        const PetscReal *a;
        PetscInt         lda;
        PetscCall(MatDenseGetLDA(Ds, &lda));
        PetscCall(MatDenseGetArrayRead(Ds, &a));
        for (PetscInt c = 0; c < n; c++)
          for (PetscInt i = 0; i < m; i++) Jdense[i + c * m] = a[i + c * lda];
        PetscCall(MatDenseRestoreArrayRead(Ds, &a));
      }
      PetscCall(SpdTestCheckClose(comm, "J_{l:k} dense vs loops", m * n, Jdense, Jref, 1e-12, 1e-6));
      if (k == 1) { /* singular values against LAPACK */
        PetscInt    mn = PetscMin(m, n), kt = PetscMin(3, mn);
        PetscReal   sref[64], sfull[64];
        SpdTriplets tr;
        Mat         S;
        PetscCall(SpdTestLapackSingularValues(m, n, Jref, sref));
        PetscCall(SpdSVDFull(D, sfull));
        PetscCall(SpdTestCheckClose(comm, "SpdSVDFull(dense J_{l:1}) vs LAPACK (relative to sigma_1)", mn, sfull, sref, 1e-12, sref[0]));
        /* SLEPc's one-sided Lanczos breaks down when its search space is the whole space
           (ncv = min(m,n), "Recurrence generated a zero vector"): shells of that size are
           left to SpdJacobianSpectraCompute's dense path */
        if (mn > PetscMax(2 * kt + 16, 32)) {
          PetscCall(SpdJacobianCreateMat(J, 1, l, &S));
          PetscCall(SpdSVDExtreme(S, SPD_SVD_TOP, kt, PETSC_FALSE, NULL, &tr));
          SPD_EXPECT(tr.nconv == kt, "SpdSVDExtreme on J_{%" PetscInt_FMT ":1}: %" PetscInt_FMT " of %" PetscInt_FMT " converged", l, tr.nconv, kt);
          PetscCall(SpdTestCheckClose(comm, "SpdSVDExtreme(shell J_{l:1}) vs LAPACK", tr.nconv, tr.sigma, sref, 1e-9, sref[0]));
          for (PetscInt i = 0; i < tr.nconv; i++) SPD_EXPECT(tr.residual[i] < 1e-8 * sref[0], "SpdSVDExtreme on J_{%" PetscInt_FMT ":1}: residual %g", l, (double)tr.residual[i]);
          PetscCall(SpdTripletsDestroy(&tr));
          PetscCall(MatDestroy(&S));
        }
      }
      PetscCall(MatDestroy(&Ds));
      PetscCall(MatDestroy(&D));
      PetscCall(VecDestroy(&ex));
      PetscCall(VecDestroy(&y));
      PetscCall(VecDestroy(&xs));
      PetscCall(VecDestroy(&ys));
      PetscCall(VecDestroy(&yu));
      PetscCall(VecDestroy(&xt));
      PetscCall(VecDestroy(&xts));
    }
  /* J_{L:1} is dz_L/dx: the explicit loops against the finite-difference column too */
  PetscCall(TestPartial(t->w, A, g, 1, L, Jref));
  {
    PetscReal Jv2[64];
    for (PetscInt i = 0; i < wL; i++) {
      Jv2[i] = 0;
      for (PetscInt c = 0; c < w0; c++) Jv2[i] += Jref[i + c * wL] * v[c];
    }
    PetscCall(SpdTestCheckClose(comm, "loops J v vs central differences (relative to the largest entry)", wL, Jv2, fd, smooth ? 1e-7 : 1e-9, MaxAbs(wL, fd)));
  }
  PetscCall(SpdJacobianDestroy(&J));
  PetscCall(SpdJacobianDestroy(&Js));
  for (PetscInt j = 1; j <= L; j++) PetscCall(PetscFree2(A[j], g[j]));
  PetscCall(PetscFree3(Jref, Jdense, col));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SlepcInitialize(&argc, &argv, NULL, help));
  {
    /* tanh, biases, NTK-like multipliers, non-square widths */
    TestNet t = { .L = 4, .w = { 7, 9, 5, 8, 3 }, .act = { SPD_ACT_TANH, SPD_ACT_TANH, SPD_ACT_TANH }, .bias = { PETSC_TRUE, PETSC_FALSE, PETSC_TRUE, PETSC_TRUE }, .a = { 0.8, 1.3, 0.5, 2.0 }, .c = { 1.0, 1.0, 0.7, 1.5 } };
    PetscCall(TestNetCreate(&t, 11, 1.5));
    PetscCall(CheckNet(&t, 101, PETSC_TRUE));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  {
    /* gelu and tanh mixed, wide then narrow */
    TestNet t = { .L = 3, .w = { 5, 12, 6, 4 }, .act = { SPD_ACT_GELU, SPD_ACT_TANH }, .bias = { PETSC_TRUE, PETSC_TRUE, PETSC_FALSE }, .a = { 1, 1, 1 }, .c = { 1, 1, 1 } };
    PetscCall(TestNetCreate(&t, 12, 1.2));
    PetscCall(CheckNet(&t, 102, PETSC_TRUE));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  {
    /* relu and leaky relu away from the kinks, identity hidden layer, one-layer net */
    TestNet t = { .L = 4, .w = { 6, 10, 8, 7, 5 }, .act = { SPD_ACT_RELU, SPD_ACT_LEAKY_RELU, SPD_ACT_IDENTITY }, .bias = { PETSC_TRUE, PETSC_TRUE, PETSC_TRUE, PETSC_TRUE }, .a = { 1, 1, 1, 1 }, .c = { 1, 1, 1, 1 }, .slope = 0.1 };
    PetscCall(TestNetCreate(&t, 13, 1.4));
    PetscCall(CheckNet(&t, 203, PETSC_FALSE));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  {
    /* wide enough for SLEPc on the shells (min(m,n) > 32) */
    TestNet t = { .L = 3, .w = { 40, 50, 45, 38 }, .act = { SPD_ACT_TANH, SPD_ACT_GELU }, .bias = { PETSC_TRUE, PETSC_TRUE, PETSC_TRUE }, .a = { 1, 1, 1 }, .c = { 1, 1, 1 } };
    PetscCall(TestNetCreate(&t, 16, 1.3));
    PetscCall(CheckNet(&t, 106, PETSC_TRUE));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  {
    TestNet t = { .L = 1, .w = { 6, 4 }, .bias = { PETSC_TRUE }, .a = { 0.5 }, .c = { 1 } };
    PetscCall(TestNetCreate(&t, 14, 1.0));
    PetscCall(CheckNet(&t, 104, PETSC_FALSE));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  /* bad input: a range that is not 1 <= k <= l <= L gives an error naming the range */
  {
    TestNet     t    = { .L = 2, .w = { 3, 4, 2 }, .act = { SPD_ACT_TANH }, .bias = { PETSC_FALSE, PETSC_FALSE }, .a = { 1, 1 }, .c = { 1, 1 } };
    PetscReal   x[3] = { 0.1, 0.2, 0.3 };
    SpdJacobian J;
    Mat         A = NULL;
    PetscCall(TestNetCreate(&t, 15, 1.0));
    PetscCall(SpdJacobianCreateMLP(t.mlp, x, PETSC_COMM_WORLD, &J));
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    SPD_EXPECT(SpdJacobianCreateMat(J, 2, 3, &A) == PETSC_ERR_ARG_OUTOFRANGE, "J_{3:2} of a 2-layer net must be refused");
    SPD_EXPECT(SpdJacobianCreateMat(J, 2, 1, &A) == PETSC_ERR_ARG_OUTOFRANGE, "J_{1:2} must be refused");
    {
      PetscMPIInt size, rank;
      PetscReal   xr[3] = { 0.1, 0.2, 0.3 };
      SpdJacobian Jbad  = NULL;
      PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
      PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
      xr[1] += rank;
      if (size > 1) SPD_EXPECT(SpdJacobianCreateMLP(t.mlp, xr, PETSC_COMM_WORLD, &Jbad) == PETSC_ERR_ARG_WRONG, "an input that differs between ranks must be refused");
      SPD_EXPECT(SpdJacobianCreateGaussian(PETSC_COMM_WORLD, 4, 3, 1.0, 0.0, 1, &Jbad) == PETSC_ERR_ARG_OUTOFRANGE, "gate probability 0 must be refused");
      SPD_EXPECT(SpdJacobianCreateGaussian(PETSC_COMM_WORLD, 4, 3, -1.0, 1.0, 1, &Jbad) == PETSC_ERR_ARG_OUTOFRANGE, "a negative standard deviation must be refused");
    }
    PetscCall(PetscPopErrorHandler());
    PetscCall(MatDestroy(&A));
    PetscCall(SpdJacobianDestroy(&J));
    PetscCall(SpdMLPDestroy(&t.mlp));
  }
  PetscCall(SpdTestReport());
  PetscCall(SlepcFinalize());
  return 0;
}
