static const char help[] = "MLP loss, gradient, Hessian, Gauss-Newton and gradient-covariance products\n"
                           "against central finite differences, for every activation and loss, with\n"
                           "biases on and off and non-trivial multipliers; the curvature MATSHELL against\n"
                           "the replicated products; Hessian symmetry.\n";

#include "../common/testutil.h"

/* Random data, the same for any rank count: sample i from seed (seed, i). */
static PetscErrorCode MakeData(MPI_Comm comm, PetscInt n, PetscInt d, PetscInt out, PetscBool labels, SpdData *data)
{
  SpdData  D;
  PetscInt nloc = PETSC_DECIDE, N = n;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&D));
  D->comm = comm;
  PetscCall(PetscStrncpy(D->name, "test data", sizeof(D->name)));
  D->n = n;
  D->d = d;
  PetscCall(PetscSplitOwnership(comm, &nloc, &N));
  PetscCallMPI(MPI_Scan(&nloc, &D->start, 1, MPIU_INT, MPI_SUM, comm));
  D->start -= nloc;
  D->nlocal = nloc;
  PetscCall(PetscMalloc1(nloc * d + 1, &D->X));
  if (labels) {
    D->nclasses = out;
    PetscCall(PetscMalloc1(nloc + 1, &D->labels));
  } else {
    D->c = out;
    PetscCall(PetscMalloc1(nloc * out + 1, &D->Y));
  }
  for (PetscInt i = 0; i < nloc; i++) {
    SpdTestRng r;
    SpdTestRngSeed(&r, 1000 + (uint64_t)(D->start + i));
    for (PetscInt j = 0; j < d; j++) D->X[i * d + j] = SpdTestRngNormal(&r);
    if (labels)
      D->labels[i] = (PetscInt)(SpdTestRngUniform(&r) * out);
    else
      for (PetscInt j = 0; j < out; j++) D->Y[i * out + j] = SpdTestRngNormal(&r);
  }
  *data = D;
  PetscFunctionReturn(0);
}

static PetscErrorCode FreeData(SpdData *d)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree((*d)->X));
  PetscCall(PetscFree((*d)->labels));
  PetscCall(PetscFree((*d)->Y));
  PetscCall(PetscFree(*d));
  PetscFunctionReturn(0);
}

/* Per-sample losses (summed over all ranks into the global vector li[n]) and outputs
   z (n x out) at theta, from the model's outputs and the loss formulas of model.h. */
static PetscErrorCode SampleLossesOutputs(SpdMLP m, SpdData d, SpdLoss loss, PetscInt out, PetscReal li[], PetscReal z[])
{
  const PetscReal *Z;

  PetscFunctionBeginUser;
  PetscCall(SpdMLPSetPoint(m, d));
  PetscCall(SpdMLPGetOutputs(m, &Z));
  PetscCall(PetscArrayzero(li, d->n));
  PetscCall(PetscArrayzero(z, d->n * out));
  for (PetscInt i = 0; i < d->nlocal; i++) {
    const PetscReal *zi = Z + i * out;
    PetscReal        l  = 0;
    if (loss == SPD_LOSS_MSE) {
      for (PetscInt j = 0; j < out; j++) {
        PetscReal y = d->labels ? (j == d->labels[i]) : d->Y[i * out + j];
        l += 0.5 * (zi[j] - y) * (zi[j] - y);
      }
    } else {
      PetscReal mx = zi[0], s = 0;
      for (PetscInt j = 1; j < out; j++) mx = PetscMax(mx, zi[j]);
      for (PetscInt j = 0; j < out; j++) s += exp(zi[j] - mx);
      l = mx + log(s) - zi[d->labels[i]];
    }
    li[d->start + i] = l;
    for (PetscInt j = 0; j < out; j++) z[(d->start + i) * out + j] = zi[j];
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, li, (PetscMPIInt)d->n, MPIU_REAL, MPIU_SUM, d->comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, z, (PetscMPIInt)(d->n * out), MPIU_REAL, MPIU_SUM, d->comm));
  PetscFunctionReturn(0);
}

static double RelErr(PetscInt n, const double a[], const double b[])
{
  double num = 0, den = 0;
  for (PetscInt i = 0; i < n; i++) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return sqrt(num) / PetscMax(sqrt(den), 1e-300);
}

static PetscErrorCode TestNet(SpdActivation act, SpdLoss loss, PetscBool withbias, PetscBool regression)
{
  const PetscInt L = 3, width[4] = { 5, 7, 6, 3 }, n = 11, out = width[3];
  SpdActivation  acts[2] = { act, act };
  PetscBool      bias[3] = { withbias, PETSC_TRUE, withbias };
  PetscReal      amul[3] = { 1.0, 0.7, 1.3 }, cmul[3] = { 0.5, 1.0, 2.0 };
  SpdMLP         m;
  SpdData        d = NULL;
  PetscInt       P;
  PetscReal     *theta, *theta0, *g, *v, *hv, *gp, *gm, *ref, *li, *lp, *lm, *z0, *zp, *zm, *J, *Gi, loss0, h = 1e-5, e;
  char           what[128];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s/%s/%s%s", SpdActivations[act], SpdLosses[loss], withbias ? "bias" : "nobias", regression ? "/regression" : ""));
  PetscCall(MakeData(PETSC_COMM_WORLD, n, width[0], out, regression ? PETSC_FALSE : PETSC_TRUE, &d));
  PetscCall(SpdMLPCreate(PETSC_COMM_WORLD, L, width, acts, bias, loss, &m));
  PetscCall(SpdMLPSetMultipliers(m, amul, cmul));
  PetscCall(SpdMLPGetNumParameters(m, &P));
  PetscCall(SpdMLPGetParameters(m, &theta));
  PetscCall(PetscMalloc5(P, &theta0, P, &g, P, &v, P, &hv, P, &gp));
  PetscCall(PetscMalloc5(P, &gm, P, &ref, n, &li, n, &lp, n, &lm));
  PetscCall(PetscMalloc5(n * out, &z0, n * out, &zp, n * out, &zm, n * out * P, &J, n * P, &Gi));
  SpdTestRandomMatrix(77 + act, P, 1, theta0);
  for (PetscInt j = 0; j < P; j++) theta0[j] *= 0.6;
  SpdTestRandomMatrix(99, P, 1, v);

  /* gradient vs central differences of the loss (mean of per-sample losses) */
  PetscCall(PetscArraycpy(theta, theta0, P));
  PetscCall(SpdMLPSetPoint(m, d));
  PetscCall(SpdMLPGetLossGradient(m, &loss0, g));
  PetscCall(SampleLossesOutputs(m, d, loss, out, li, z0));
  {
    double mean = 0;
    for (PetscInt i = 0; i < n; i++) mean += li[i] / n;
    SPD_EXPECT(fabs(mean - loss0) <= 1e-13 * fabs(loss0), "%s: loss %.17g vs mean of per-sample losses %.17g", what, loss0, mean);
  }
  for (PetscInt j = 0; j < P; j++) {
    double fp = 0, fm = 0;
    PetscCall(PetscArraycpy(theta, theta0, P));
    theta[j] += h;
    PetscCall(SampleLossesOutputs(m, d, loss, out, lp, zp));
    theta[j] -= 2 * h;
    PetscCall(SampleLossesOutputs(m, d, loss, out, lm, zm));
    for (PetscInt i = 0; i < n; i++) {
      fp += lp[i] / n;
      fm += lm[i] / n;
      Gi[i * P + j] = (lp[i] - lm[i]) / (2 * h); /* per-sample gradient */
      for (PetscInt o = 0; o < out; o++) J[(i * out + o) * P + j] = (zp[i * out + o] - zm[i * out + o]) / (2 * h);
    }
    ref[j] = (fp - fm) / (2 * h);
  }
  e = RelErr(P, g, ref);
  SPD_EXPECT(e < 1e-6, "%s: gradient vs finite differences: relative error %.3g", what, e);

  /* Hessian-vector product vs central differences of the gradient along v */
  PetscCall(PetscArraycpy(theta, theta0, P));
  PetscCall(SpdMLPSetPoint(m, d));
  PetscCall(SpdMLPCurvatureApply(m, SPD_CURV_HESSIAN, v, hv, PETSC_FALSE));
  for (PetscInt j = 0; j < P; j++) theta[j] = theta0[j] + h * v[j];
  PetscCall(SpdMLPSetPoint(m, d));
  PetscCall(SpdMLPGetLossGradient(m, NULL, gp));
  for (PetscInt j = 0; j < P; j++) theta[j] = theta0[j] - h * v[j];
  PetscCall(SpdMLPSetPoint(m, d));
  PetscCall(SpdMLPGetLossGradient(m, NULL, gm));
  for (PetscInt j = 0; j < P; j++) ref[j] = (gp[j] - gm[j]) / (2 * h);
  e = RelErr(P, hv, ref);
  SPD_EXPECT(e < 1e-6, "%s: Hessian-vector product vs finite differences of the gradient: relative error %.3g", what, e);

  /* Gauss-Newton: (1/n) J^T H_l J v with J from finite differences of the outputs */
  PetscCall(PetscArraycpy(theta, theta0, P));
  PetscCall(SpdMLPSetPoint(m, d));
  PetscCall(SpdMLPCurvatureApply(m, SPD_CURV_GAUSS_NEWTON, v, hv, PETSC_FALSE));
  PetscCall(PetscArrayzero(ref, P));
  for (PetscInt i = 0; i < n; i++) {
    double jv[16], u[16], pz[16], mx = -1e300, s = 0, pu = 0;
    for (PetscInt o = 0; o < out; o++) {
      jv[o] = 0;
      for (PetscInt j = 0; j < P; j++) jv[o] += J[(i * out + o) * P + j] * v[j];
    }
    if (loss == SPD_LOSS_MSE)
      for (PetscInt o = 0; o < out; o++) u[o] = jv[o];
    else {
      for (PetscInt o = 0; o < out; o++) mx = PetscMax(mx, z0[i * out + o]);
      for (PetscInt o = 0; o < out; o++) s += (pz[o] = exp(z0[i * out + o] - mx));
      for (PetscInt o = 0; o < out; o++) pu += (pz[o] /= s) * jv[o];
      for (PetscInt o = 0; o < out; o++) u[o] = pz[o] * (jv[o] - pu); /* (diag p - p p^T) Jv */
    }
    for (PetscInt j = 0; j < P; j++)
      for (PetscInt o = 0; o < out; o++) ref[j] += J[(i * out + o) * P + j] * u[o] / n;
  }
  e = RelErr(P, hv, ref);
  SPD_EXPECT(e < 1e-6, "%s: Gauss-Newton product vs J^T H J v (J by finite differences): relative error %.3g", what, e);

  /* G v = (1/n) sum_i g_i (g_i^T v), g_i by finite differences of each sample's loss */
  PetscCall(SpdMLPCurvatureApply(m, SPD_CURV_GRADIENT_COVARIANCE, v, hv, PETSC_FALSE));
  PetscCall(PetscArrayzero(ref, P));
  for (PetscInt i = 0; i < n; i++) {
    double s = 0;
    for (PetscInt j = 0; j < P; j++) s += Gi[i * P + j] * v[j];
    for (PetscInt j = 0; j < P; j++) ref[j] += Gi[i * P + j] * s / n;
  }
  e = RelErr(P, hv, ref);
  SPD_EXPECT(e < 1e-6, "%s: G product vs per-sample gradients by finite differences: relative error %.3g", what, e);

  /* Hessian symmetry <u, H w> = <H u, w>, and the MATSHELL (one layer block) against the replicated product */
  {
    PetscReal *u = gp, *w = gm, *Hu = ref, *Hw = hv, a = 0, b = 0, nrm = 0;
    SpdTestRandomMatrix(5, P, 1, u);
    SpdTestRandomMatrix(6, P, 1, w);
    PetscCall(SpdMLPCurvatureApply(m, SPD_CURV_HESSIAN, u, Hu, PETSC_FALSE));
    PetscCall(SpdMLPCurvatureApply(m, SPD_CURV_HESSIAN, w, Hw, PETSC_FALSE));
    for (PetscInt j = 0; j < P; j++) {
      a += u[j] * Hw[j];
      b += Hu[j] * w[j];
      nrm += Hu[j] * Hu[j];
    }
    SPD_EXPECT(fabs(a - b) <= 1e-13 * sqrt(nrm) * 10, "%s: <u,Hw> = %.17g but <Hu,w> = %.17g", what, a, b);
  }
  for (int kind = 0; kind < 3; kind++) {
    PetscInt           woff, wsize, boff, bsize, off[2], len[2], nb = 0, N, rs, re;
    Mat                A;
    Vec                x, y;
    PetscScalar       *xa;
    const PetscScalar *ya;
    double             maxd = 0, maxr = 0;

    PetscCall(SpdMLPGetLayerBlock(m, 1, &woff, &wsize, &boff, &bsize));
    off[nb]   = woff;
    len[nb++] = wsize;
    if (bsize) {
      off[nb]   = boff;
      len[nb++] = bsize;
    }
    PetscCall(SpdMatCreateCurvature(m, (SpdCurvature)kind, nb, off, len, &A));
    PetscCall(MatGetSize(A, &N, NULL));
    SPD_EXPECT(N == wsize + bsize, "%s: block operator of size %" PetscInt_FMT ", expected %" PetscInt_FMT, what, N, wsize + bsize);
    PetscCall(MatCreateVecs(A, &x, &y));
    PetscCall(VecGetOwnershipRange(x, &rs, &re));
    PetscCall(VecGetArray(x, &xa));
    for (PetscInt j = rs; j < re; j++) xa[j - rs] = v[j < wsize ? woff + j : boff + j - wsize];
    PetscCall(VecRestoreArray(x, &xa));
    PetscCall(MatMult(A, x, y));
    /* the replicated product with v zeroed outside the block, read on the block */
    PetscCall(PetscArrayzero(gp, P));
    for (PetscInt j = 0; j < wsize; j++) gp[woff + j] = v[woff + j];
    for (PetscInt j = 0; j < bsize; j++) gp[boff + j] = v[boff + j];
    PetscCall(SpdMLPCurvatureApply(m, (SpdCurvature)kind, gp, ref, PETSC_FALSE));
    PetscCall(VecGetArrayRead(y, &ya));
    for (PetscInt j = rs; j < re; j++) {
      double r = ref[j < wsize ? woff + j : boff + j - wsize];
      maxd     = PetscMax(maxd, fabs(ya[j - rs] - r));
      maxr     = PetscMax(maxr, fabs(r));
    }
    PetscCall(VecRestoreArrayRead(y, &ya));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &maxd, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &maxr, 1, MPI_DOUBLE, MPI_MAX, PETSC_COMM_WORLD));
    SPD_EXPECT(maxd <= 1e-13 * maxr, "%s: %s MATSHELL on layer 1 differs from the replicated product by %.3g", what, SpdCurvatures[kind], maxd);
    PetscCall(VecDestroy(&x));
    PetscCall(VecDestroy(&y));
    PetscCall(MatDestroy(&A));
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%-36s P = %3" PetscInt_FMT "  checked\n", what, P));
  PetscCall(PetscFree5(theta0, g, v, hv, gp));
  PetscCall(PetscFree5(gm, ref, li, lp, lm));
  PetscCall(PetscFree5(z0, zp, zm, J, Gi));
  PetscCall(SpdMLPDestroy(&m));
  PetscCall(FreeData(&d));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  for (int act = SPD_ACT_IDENTITY; act <= SPD_ACT_GELU; act++)
    for (int loss = SPD_LOSS_MSE; loss <= SPD_LOSS_CROSS_ENTROPY; loss++) PetscCall(TestNet((SpdActivation)act, (SpdLoss)loss, act % 2 ? PETSC_TRUE : PETSC_FALSE, PETSC_FALSE));
  PetscCall(TestNet(SPD_ACT_TANH, SPD_LOSS_MSE, PETSC_TRUE, PETSC_TRUE)); /* real-valued targets */
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
