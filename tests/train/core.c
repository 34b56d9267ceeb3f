static const char help[] = "Trainer core: initialization statistics (standard, ntk, mup) against their\n"
                           "closed-form moments; minibatch partitions; SpdDataSubset and SpdDataCorruptLabels\n"
                           "against single-rank references; configuration errors naming the key; the same\n"
                           "run on 1, 2 and 4 ranks (sub-communicators) and twice.\n";

#include "../common/testutil.h"
#include <specdyn/train.h>

static PetscErrorCode MakeMLP(MPI_Comm comm, PetscInt L, const PetscInt w[], SpdActivation act, SpdLoss loss, SpdParameterization param, SpdMLP *mlp)
{
  SpdActivation acts[8];
  PetscBool     bias[8];
  PetscReal     a[8], c[8];

  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < 8; l++) acts[l] = act, bias[l] = PETSC_TRUE;
  PetscCall(SpdMLPCreate(comm, L, w, acts, bias, loss, mlp));
  PetscCall(SpdParameterizationMultipliers(param, L, w, NULL, NULL, a, c));
  PetscCall(SpdMLPSetMultipliers(*mlp, a, c));
  PetscFunctionReturn(0);
}

/* Sample mean and variance of x[0..N) against (0, var): 5 standard errors, using the
   fourth moment m4 of the distribution for the variance's error. */
static PetscErrorCode CheckMoments(const char what[], PetscInt N, const PetscReal x[], PetscReal var, PetscReal m4)
{
  PetscReal s = 0, s2 = 0, mean, v;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < N; i++) s += x[i], s2 += x[i] * x[i];
  mean = s / N;
  v    = s2 / N;
  SPD_EXPECT(PetscAbsReal(mean) < 5 * PetscSqrtReal(var / N), "%s: mean %g, expected 0 +- %g", what, (double)mean, (double)(5 * PetscSqrtReal(var / N)));
  SPD_EXPECT(PetscAbsReal(v - var) < 5 * PetscSqrtReal((m4 - var * var) / N), "%s: E x^2 = %g, expected %g +- %g", what, (double)v, (double)var, (double)(5 * PetscSqrtReal((m4 - var * var) / N)));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestInit(void)
{
  const PetscInt w[4] = { 400, 300, 200, 10 };
  SpdData        D;

  PetscFunctionBeginUser;
  PetscCall(SpdDataGaussianMixture(PETSC_COMM_WORLD, 20, 400, 10, 1.0, 1, &D));
  for (int p = 0; p < 3; p++) {
    SpdParameterization param = (SpdParameterization)p;
    SpdMLP              mlp;
    SpdTrainer          tr;
    SpdTrainConfig      cfg;
    PetscReal          *th, s = p == 1 ? 2.0 : 1.0, *mx, *mn;
    PetscInt            P;

    PetscCall(MakeMLP(PETSC_COMM_WORLD, 3, w, SPD_ACT_RELU, SPD_LOSS_CROSS_ENTROPY, param, &mlp));
    PetscCall(SpdTrainConfigDefaults(&cfg));
    cfg.param      = param;
    cfg.init_scale = s;
    cfg.seed       = 42;
    PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
    PetscCall(SpdTrainerInitialize(tr));
    PetscCall(SpdTrainerGetState(tr, NULL, &th, NULL));
    PetscCall(SpdMLPGetNumParameters(mlp, &P));
    for (PetscInt l = 0; l < 3; l++) {
      PetscInt  woff, wsize, boff, bsize;
      PetscReal fan = w[l], b = s / PetscSqrtReal(fan), var, m4;
      char      what[64];

      PetscCall(SpdMLPGetLayerBlock(mlp, l, &woff, &wsize, &boff, &bsize));
      if (param == SPD_PARAM_STANDARD) {
        var = b * b / 3, m4 = b * b * b * b / 5;
        for (PetscInt j = 0; j < wsize; j++) SPD_EXPECT(PetscAbsReal(th[woff + j]) <= b, "standard: |W| = %g > bound %g", (double)th[woff + j], (double)b);
      } else {
        PetscReal sd = (param == SPD_PARAM_MUP && l == 0) ? b : s;
        var = sd * sd, m4 = 3 * var * var;
      }
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s layer %" PetscInt_FMT " W", SpdParameterizations[param], l));
      PetscCall(CheckMoments(what, wsize, th + woff, var, m4));
      PetscCall(PetscSNPrintf(what, sizeof(what), "%s layer %" PetscInt_FMT " b", SpdParameterizations[param], l));
      if (param == SPD_PARAM_MUP) {
        for (PetscInt j = 0; j < bsize; j++) SPD_EXPECT(th[boff + j] == 0, "mup: bias %" PetscInt_FMT " = %g, expected 0", j, (double)th[boff + j]);
      } else if (param == SPD_PARAM_STANDARD)
        PetscCall(CheckMoments(what, bsize, th + boff, b * b / 3, b * b * b * b / 5));
      else
        PetscCall(CheckMoments(what, bsize, th + boff, s * s, 3 * s * s * s * s));
    }
    /* the same theta_0 on every rank */
    PetscCall(PetscMalloc2(P, &mx, P, &mn));
    PetscCallMPI(MPI_Allreduce(th, mx, (PetscMPIInt)P, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD));
    PetscCallMPI(MPI_Allreduce(th, mn, (PetscMPIInt)P, MPIU_REAL, MPI_MIN, PETSC_COMM_WORLD));
    for (PetscInt j = 0; j < P; j++)
      if (mx[j] != mn[j]) {
        SPD_EXPECT(PETSC_FALSE, "theta_0[%" PetscInt_FMT "] differs between ranks", j);
        break;
      }
    PetscCall(PetscFree2(mx, mn));
    PetscCall(SpdTrainerDestroy(&tr));
    PetscCall(SpdMLPDestroy(&mlp));
  }
  PetscCall(SpdDataDestroy(&D));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestBatchesSubsetCorrupt(void)
{
  const PetscInt w[3] = { 5, 7, 3 };
  SpdData        D, Dself, S;
  SpdMLP         mlp;
  SpdTrainer     tr;
  SpdTrainConfig cfg;
  PetscInt       n = 50, batch = 8, nb = 7, *seen, *ep0;
  PetscInt       gidx[20], m = 0, tot;

  PetscFunctionBeginUser;
  PetscCall(SpdDataGaussianMixture(PETSC_COMM_WORLD, n, 5, 3, 1.0, 9, &D));
  PetscCall(SpdDataGaussianMixture(PETSC_COMM_SELF, n, 5, 3, 1.0, 9, &Dself));
  PetscCall(MakeMLP(PETSC_COMM_WORLD, 2, w, SPD_ACT_TANH, SPD_LOSS_CROSS_ENTROPY, SPD_PARAM_STANDARD, &mlp));
  PetscCall(SpdTrainConfigDefaults(&cfg));
  cfg.batch = batch;
  cfg.seed  = 3;
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(PetscCalloc2(n, &seen, n, &ep0));
  for (PetscInt e = 0; e < 3; e++) {
    PetscInt same = 1;
    PetscCall(PetscArrayzero(seen, n));
    for (PetscInt j = 0; j < nb; j++) {
      PetscInt        cnt;
      const PetscInt *idx;
      SpdData         B;

      PetscCall(SpdTrainerGetBatch(tr, e * nb + j, &cnt, &idx));
      SPD_EXPECT(cnt == (j < nb - 1 ? batch : n - (nb - 1) * batch), "epoch %" PetscInt_FMT " batch %" PetscInt_FMT " has %" PetscInt_FMT " samples", e, j, cnt);
      for (PetscInt i = 0; i < cnt; i++) {
        SPD_EXPECT(i == 0 || idx[i] > idx[i - 1], "batch indices not increasing");
        seen[idx[i]]++;
        if (e == 0)
          ep0[j * batch + i] = idx[i];
        else if (ep0[j * batch + i] != idx[i])
          same = 0;
      }
      PetscCall(SpdTrainerGetBatchData(tr, e * nb + j, &B));
      SPD_EXPECT(B->n == cnt, "batch data has n = %" PetscInt_FMT ", batch %" PetscInt_FMT, B->n, cnt);
    }
    for (PetscInt i = 0; i < n; i++) SPD_EXPECT(seen[i] == 1, "epoch %" PetscInt_FMT ": sample %" PetscInt_FMT " used %" PetscInt_FMT " times", e, i, seen[i]);
    if (e > 0) SPD_EXPECT(!same, "epoch %" PetscInt_FMT " has the batches of epoch 0", e);
  }
  PetscCall(PetscFree2(seen, ep0));

  /* subset: every third sample, against the single-rank data */
  for (PetscInt i = 1; i < n && m < 20; i += 3) gidx[m++] = i;
  PetscCall(SpdDataSubset(D, m, gidx, &S));
  PetscCallMPI(MPI_Allreduce(&S->nlocal, &tot, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  SPD_EXPECT(S->n == m && tot == m, "subset: n = %" PetscInt_FMT ", sum of nlocal = %" PetscInt_FMT ", expected %" PetscInt_FMT, S->n, tot, m);
  for (PetscInt i = 0; i < S->nlocal; i++) {
    PetscInt g = gidx[S->start + i];
    SPD_EXPECT(S->labels[i] == Dself->labels[g], "subset sample %" PetscInt_FMT ": label %" PetscInt_FMT ", expected %" PetscInt_FMT, S->start + i, S->labels[i], Dself->labels[g]);
    for (PetscInt j = 0; j < 5; j++) SPD_EXPECT(S->X[i * 5 + j] == Dself->X[g * 5 + j], "subset sample %" PetscInt_FMT " feature %" PetscInt_FMT " differs", S->start + i, j);
  }
  PetscCall(SpdDataDestroy(&S));

  /* corruption: rank invariant, fraction 1 makes every label wrong */
  {
    SpdData C, Cself;
    PetscCall(SpdDataGaussianMixture(PETSC_COMM_WORLD, n, 5, 3, 1.0, 9, &C));
    PetscCall(SpdDataGaussianMixture(PETSC_COMM_SELF, n, 5, 3, 1.0, 9, &Cself));
    PetscCall(SpdDataCorruptLabels(C, 1.0, PETSC_FALSE, 5));
    PetscCall(SpdDataCorruptLabels(Cself, 1.0, PETSC_FALSE, 5));
    for (PetscInt i = 0; i < C->nlocal; i++) {
      SPD_EXPECT(C->labels[i] != Dself->labels[C->start + i], "fraction 1: sample %" PetscInt_FMT " kept its label", C->start + i);
      SPD_EXPECT(C->labels[i] == Cself->labels[C->start + i], "corruption differs from 1 rank at sample %" PetscInt_FMT, C->start + i);
      SPD_EXPECT(C->labels[i] >= 0 && C->labels[i] < 3, "corrupted label %" PetscInt_FMT " out of range", C->labels[i]);
    }
    PetscCall(SpdDataDestroy(&C));
    PetscCall(SpdDataDestroy(&Cself));
  }
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&D));
  PetscCall(SpdDataDestroy(&Dself));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestBadInput(void)
{
  const PetscInt w[3] = { 5, 7, 3 };
  SpdData        D;
  SpdMLP         mlp;

  PetscFunctionBeginUser;
  PetscCall(SpdDataGaussianMixture(PETSC_COMM_WORLD, 20, 5, 3, 1.0, 9, &D));
  PetscCall(MakeMLP(PETSC_COMM_WORLD, 2, w, SPD_ACT_TANH, SPD_LOSS_CROSS_ENTROPY, SPD_PARAM_STANDARD, &mlp));
  for (int k = 0; k < 5; k++) {
    SpdTrainConfig cfg;
    SpdTrainer     tr = NULL;
    char           msg[1024];
    const char    *key[] = { "lr = ", "beta = ", "batch = ", "ckpt_ratio = ", "param = ntk" };
    PetscErrorCode ierr;

    PetscCall(SpdTrainConfigDefaults(&cfg));
    if (k == 0) cfg.lr = -0.1;
    if (k == 1) cfg.beta = 1.0;
    if (k == 2) cfg.batch = -3;
    if (k == 3) cfg.ckpt = SPD_CKPT_GEOMETRIC, cfg.ckpt_ratio = 1.0;
    if (k == 4) cfg.param = SPD_PARAM_NTK; /* the model has standard multipliers */
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdTrainerCreate(mlp, D, &cfg, &tr);
    PetscCall(SpdErrorCapturePop());
    SPD_EXPECT(ierr != 0 && tr == NULL, "bad %s accepted", key[k]);
    SPD_EXPECT(strstr(msg, key[k]) != NULL, "the error for bad %s does not name it: %s", key[k], msg);
    PetscCall(SpdTrainerDestroy(&tr));
  }
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&D));
  PetscFunctionReturn(0);
}

/* The run on a sub-communicator of s ranks; theta_T on its ranks. */
static PetscErrorCode RunOn(MPI_Comm comm, PetscReal **thetaT, PetscInt *P)
{
  const PetscInt w[4] = { 8, 16, 16, 3 };
  SpdData        D;
  SpdMLP         mlp;
  SpdTrainer     tr;
  SpdTrainConfig cfg;
  PetscReal     *th;

  PetscFunctionBeginUser;
  PetscCall(SpdDataGaussianMixture(comm, 90, 8, 3, 1.5, 4, &D));
  PetscCall(MakeMLP(comm, 3, w, SPD_ACT_TANH, SPD_LOSS_CROSS_ENTROPY, SPD_PARAM_STANDARD, &mlp));
  PetscCall(SpdTrainConfigDefaults(&cfg));
  cfg.batch        = 16;
  cfg.steps        = 60;
  cfg.momentum     = SPD_MOMENTUM_NESTEROV;
  cfg.weight_decay = 1e-3;
  cfg.lr           = 0.2;
  cfg.schedule     = SPD_LR_COSINE;
  cfg.warmup       = 5;
  cfg.seed         = 8;
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  for (PetscInt t = 0; t < cfg.steps; t++) PetscCall(SpdTrainerStep(tr));
  PetscCall(SpdTrainerGetState(tr, NULL, &th, NULL));
  PetscCall(SpdMLPGetNumParameters(mlp, P));
  PetscCall(PetscMalloc1(*P, thetaT));
  PetscCall(PetscArraycpy(*thetaT, th, *P));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&D));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestRankInvariance(void)
{
  PetscMPIInt size, rank;
  PetscReal  *ref = NULL, *th, *th2;
  PetscInt    P;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  for (PetscMPIInt s = 1; s <= size; s *= 2) {
    MPI_Comm sub;

    PetscCallMPI(MPI_Comm_split(PETSC_COMM_WORLD, rank < s ? 0 : MPI_UNDEFINED, rank, &sub));
    if (sub != MPI_COMM_NULL) {
      PetscCall(RunOn(sub, &th, &P));
      if (rank == 0) {
        if (!ref)
          ref = th;
        else {
          PetscCall(SpdTestCheckClose(PETSC_COMM_SELF, "theta_T on s ranks vs 1 rank", P, th, ref, 1e-11, 1e-8));
          PetscCall(PetscFree(th));
        }
      } else
        PetscCall(PetscFree(th));
      PetscCallMPI(MPI_Comm_free(&sub));
    }
  }
  /* determinism: the same run twice on all ranks, bit for bit */
  PetscCall(RunOn(PETSC_COMM_WORLD, &th, &P));
  PetscCall(RunOn(PETSC_COMM_WORLD, &th2, &P));
  for (PetscInt j = 0; j < P; j++)
    if (th[j] != th2[j]) {
      SPD_EXPECT(PETSC_FALSE, "two identical runs differ at theta_T[%" PetscInt_FMT "]", j);
      break;
    }
  PetscCall(PetscFree(th));
  PetscCall(PetscFree(th2));
  PetscCall(PetscFree(ref));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(TestInit());
  PetscCall(TestBatchesSubsetCorrupt());
  PetscCall(TestBadInput());
  PetscCall(TestRankInvariance());
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
