static const char help[] = "SpdTrainerRun: checkpoints on the every/geometric schedules, readable by\n"
                           "SpdReaderOpen + SpdMLPCreateFromCheckpoint with the exact theta of a manual run;\n"
                           "metrics.h5 against the manual run's step statistics; resume (30 then 60 steps)\n"
                           "bit for bit against an uninterrupted run; a state of another configuration refused.\n";

#include "../common/testutil.h"
#include <specdyn/train.h>
#include <unistd.h>

static const PetscInt W[4] = { 8, 16, 16, 3 };

static PetscErrorCode Setup(MPI_Comm comm, PetscInt steps, SpdData *D, SpdMLP *mlp, SpdTrainConfig *cfg)
{
  SpdActivation act[3]  = { SPD_ACT_TANH, SPD_ACT_TANH, SPD_ACT_IDENTITY };
  PetscBool     bias[3] = { PETSC_TRUE, PETSC_TRUE, PETSC_TRUE };

  PetscFunctionBeginUser;
  PetscCall(SpdDataGaussianMixture(comm, 64, 8, 3, 1.5, 2, D));
  PetscCall(SpdMLPCreate(comm, 3, W, act, bias, SPD_LOSS_CROSS_ENTROPY, mlp));
  PetscCall(SpdTrainConfigDefaults(cfg));
  cfg->batch      = 16;
  cfg->momentum   = SPD_MOMENTUM_HEAVY_BALL;
  cfg->lr         = 0.1;
  cfg->steps      = steps;
  cfg->ckpt_every = 10;
  cfg->eval_every = 5;
  cfg->seed       = 3;
  PetscFunctionReturn(0);
}

/* Rank 0: a 1-D dataset of a serial HDF5 file. */
static PetscErrorCode ReadH5(const char path[], const char name[], hid_t type, size_t esz, PetscInt *n, void **buf)
{
  hid_t   f, ds, sp;
  hsize_t dim;

  PetscFunctionBeginUser;
  SpdCallH5Return(f, H5Fopen, (path, H5F_ACC_RDONLY, H5P_DEFAULT));
  SpdCallH5Return(ds, H5Dopen2, (f, name, H5P_DEFAULT));
  SpdCallH5Return(sp, H5Dget_space, (ds));
  SpdCallH5(H5Sget_simple_extent_dims, (sp, &dim, NULL));
  *n = (PetscInt)dim;
  PetscCall(PetscMalloc(esz * dim + 1, buf));
  SpdCallH5(H5Dread, (ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf));
  SpdCallH5(H5Sclose, (sp));
  SpdCallH5(H5Dclose, (ds));
  SpdCallH5(H5Fclose, (f));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MPI_Comm       comm;
  PetscMPIInt    size, rank;
  char           base[PETSC_MAX_PATH_LEN], dirA[PETSC_MAX_PATH_LEN], dirB[PETSC_MAX_PATH_LEN], dirC[PETSC_MAX_PATH_LEN], path[PETSC_MAX_PATH_LEN];
  SpdData        D;
  SpdMLP         mlp;
  SpdTrainConfig cfg;
  SpdTrainer     tr;
  PetscInt       P, T = 60;
  PetscReal     *traj, loss[60], *th;
  PetscBool      done;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscSNPrintf(base, sizeof(base), "train_run_np%d", size));
  PetscCall(PetscSNPrintf(dirA, sizeof(dirA), "%s/A", base));
  PetscCall(PetscSNPrintf(dirB, sizeof(dirB), "%s/B", base));
  PetscCall(PetscSNPrintf(dirC, sizeof(dirC), "%s/C", base));
  if (rank == 0) {
    if (access(base, F_OK) == 0) PetscCall(PetscRMTree(base));
    PetscCall(PetscMkdir(base));
  }
  PetscCallMPI(MPI_Barrier(comm));

  /* the manual trajectory: theta_t for every t, per-step losses */
  PetscCall(Setup(comm, T, &D, &mlp, &cfg));
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(PetscMalloc1((T + 1) * P, &traj));
  PetscCall(SpdTrainerGetState(tr, NULL, &th, NULL));
  PetscCall(PetscArraycpy(traj, th, P));
  for (PetscInt t = 0; t < T; t++) {
    PetscCall(SpdTrainerStep(tr));
    PetscCall(SpdTrainerGetStepStats(tr, &loss[t], NULL));
    PetscCall(PetscArraycpy(traj + (t + 1) * P, th, P));
  }
  PetscCall(SpdTrainerDestroy(&tr));

  /* 30 steps into A, then the same configuration with steps = 60 resumes from A */
  cfg.steps = 30;
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  PetscCall(SpdTrainerRun(tr, dirA, NULL, &done));
  SPD_EXPECT(done, "the 30-step run did not finish");
  PetscCall(SpdTrainerDestroy(&tr));
  for (PetscInt t = 0; t <= 30; t += 10) { /* checkpoints 0, 10, 20, 30 read back */
    SpdReader  r;
    SpdMLPSpec spec;
    SpdMLP     m;
    PetscReal *tc;
    PetscInt   Pc;

    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/checkpoints/step_%08" PetscInt_FMT ".safetensors", dirA, t));
    PetscCall(PetscMemzero(&spec, sizeof(spec)));
    spec.act_given = PETSC_TRUE;
    spec.nact      = 1;
    spec.act[0]    = SPD_ACT_TANH;
    spec.loss      = SPD_LOSS_CROSS_ENTROPY;
    spec.param     = SPD_PARAM_STANDARD;
    PetscCall(SpdReaderCreate(comm, &r));
    PetscCall(SpdReaderOpen(r, path));
    PetscCall(SpdMLPCreateFromCheckpoint(r, comm, &spec, &m));
    PetscCall(SpdMLPGetNumParameters(m, &Pc));
    PetscCall(SpdMLPGetParameters(m, &tc));
    SPD_EXPECT(Pc == P, "checkpoint %s has %" PetscInt_FMT " parameters, expected %" PetscInt_FMT, path, Pc, P);
    for (PetscInt j = 0; j < P && Pc == P; j++)
      if (tc[j] != traj[t * P + j]) {
        SPD_EXPECT(PETSC_FALSE, "checkpoint %s: theta[%" PetscInt_FMT "] = %.17g, the run had %.17g", path, j, (double)tc[j], (double)traj[t * P + j]);
        break;
      }
    PetscCall(SpdMLPDestroy(&m));
    PetscCall(SpdReaderDestroy(&r));
  }
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/checkpoints/step_%08d.safetensors", dirA, 5));
  SPD_EXPECT(access(path, F_OK) != 0, "a checkpoint at step 5 (not on the schedule) exists");

  cfg.steps = 60;
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  PetscCall(SpdTrainerRun(tr, dirA, NULL, &done)); /* resumes at 30 */
  SPD_EXPECT(done, "the resumed run did not finish");
  PetscCall(SpdTrainerGetState(tr, NULL, &th, NULL));
  for (PetscInt j = 0; j < P; j++)
    if (th[j] != traj[T * P + j]) {
      SPD_EXPECT(PETSC_FALSE, "resumed run: theta_60[%" PetscInt_FMT "] = %.17g, uninterrupted %.17g", j, (double)th[j], (double)traj[T * P + j]);
      break;
    }
  PetscCall(SpdTrainerDestroy(&tr));

  /* the uninterrupted 60-step run into B; metrics of A (resumed) and B against the manual run */
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  PetscCall(SpdTrainerRun(tr, dirB, NULL, &done));
  PetscCall(SpdTrainerDestroy(&tr));
  if (rank == 0) {
    for (int k = 0; k < 2; k++) {
      PetscInt    ns, ne, nl;
      PetscInt64 *st, *es;
      PetscReal  *sl, *el, *th2;

      PetscCall(PetscSNPrintf(path, sizeof(path), "%s/metrics.h5", k ? dirB : dirA));
      PetscCall(ReadH5(path, "steps/step", H5T_NATIVE_INT64, 8, &ns, (void **)&st));
      PetscCall(ReadH5(path, "steps/loss", H5T_NATIVE_DOUBLE, 8, &nl, (void **)&sl));
      PetscCall(ReadH5(path, "evals/step", H5T_NATIVE_INT64, 8, &ne, (void **)&es));
      PetscCall(ReadH5(path, "evals/loss", H5T_NATIVE_DOUBLE, 8, &nl, (void **)&el));
      SPD_EXPECT(ns == T, "%s: %" PetscInt_FMT " step records, expected %" PetscInt_FMT, path, ns, T);
      for (PetscInt t = 0; t < PetscMin(ns, T); t++) SPD_EXPECT(st[t] == t && sl[t] == loss[t], "%s: step record %" PetscInt_FMT ": step %" PetscInt64_FMT ", loss %.17g, expected %.17g", path, t, st[t], (double)sl[t], (double)loss[t]);
      SPD_EXPECT(ne == T / 5 + 1, "%s: %" PetscInt_FMT " evaluations, expected %" PetscInt_FMT, path, ne, T / 5 + 1);
      for (PetscInt e = 0; e < PetscMin(ne, T / 5 + 1); e++) SPD_EXPECT(es[e] == 5 * e && el[e] > 0, "%s: evaluation %" PetscInt_FMT " at step %" PetscInt64_FMT ", loss %g", path, e, es[e], (double)el[e]);
      PetscCall(PetscSNPrintf(path, sizeof(path), "%s/state.h5", k ? dirB : dirA));
      PetscCall(ReadH5(path, "theta", H5T_NATIVE_DOUBLE, 8, &nl, (void **)&th2));
      for (PetscInt j = 0; j < P; j++)
        if (th2[j] != traj[T * P + j]) {
          SPD_EXPECT(PETSC_FALSE, "%s: theta[%" PetscInt_FMT "] differs from the run's theta_60", path, j);
          break;
        }
      PetscCall(PetscFree(st));
      PetscCall(PetscFree(sl));
      PetscCall(PetscFree(es));
      PetscCall(PetscFree(el));
      PetscCall(PetscFree(th2));
    }
  }

  /* another configuration must not resume from A */
  {
    char           msg[8192];
    PetscErrorCode ierr;

    cfg.lr = 0.2;
    PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
    PetscCall(SpdTrainerInitialize(tr));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdTrainerRun(tr, dirA, NULL, &done);
    PetscCall(SpdErrorCapturePop());
    SPD_EXPECT(ierr != 0 && strstr(msg, "another configuration") && strstr(msg, "lr=0.2"), "a state of another configuration was not refused: %s", msg);
    PetscCall(SpdTrainerDestroy(&tr));
    cfg.lr = 0.1;
    /* the failed run released the folder's lock: the right configuration resumes (complete) */
    PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
    PetscCall(SpdTrainerInitialize(tr));
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdTrainerRun(tr, dirA, NULL, &done);
    PetscCall(SpdErrorCapturePop());
    SPD_EXPECT(ierr == 0 && done, "after a refused run, the same process could not run in %s again: %s", dirA, msg);
    PetscCall(SpdTrainerDestroy(&tr));
  }

  /* geometric checkpoints: 0, 1, 2, 4, 8, 16 and the last (20) */
  cfg.steps      = 20;
  cfg.ckpt       = SPD_CKPT_GEOMETRIC;
  cfg.ckpt_ratio = 2;
  cfg.eval_every = 0;
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  PetscCall(SpdTrainerRun(tr, dirC, NULL, &done));
  PetscCall(SpdTrainerDestroy(&tr));
  for (PetscInt t = 0; t <= 20; t++) {
    PetscBool want = (t == 0 || t == 1 || t == 2 || t == 4 || t == 8 || t == 16 || t == 20) ? PETSC_TRUE : PETSC_FALSE, has;

    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/checkpoints/step_%08" PetscInt_FMT ".safetensors", dirC, t));
    has = access(path, F_OK) == 0 ? PETSC_TRUE : PETSC_FALSE;
    SPD_EXPECT(has == want && SpdTrainCheckpointStep(&cfg, t) == want, "geometric schedule: step %" PetscInt_FMT " checkpoint %s, expected %s", t, has ? "written" : "absent", want ? "written" : "absent");
  }
  cfg.ckpt_ratio = 1.5; /* round(1.5^j): 2, 3 (2.25 -> 2 dup), 5, 8, 11, 17 */
  {
    PetscInt expect[] = { 0, 1, 2, 3, 5, 8, 11, 17, 20 }, k = 0;
    for (PetscInt t = 0; t <= 20; t++) {
      PetscBool want = (k < 9 && expect[k] == t) ? PETSC_TRUE : PETSC_FALSE;
      if (want) k++;
      SPD_EXPECT(SpdTrainCheckpointStep(&cfg, t) == want, "geometric ratio 1.5: step %" PetscInt_FMT " is %sa checkpoint step", t, want ? "not " : "");
    }
  }

  PetscCall(PetscFree(traj));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&D));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
