static const char help[] = "SpdTrainerRun when a file cannot be written (a full disk, simulated by a\n"
                           "symlink from metrics.h5.tmp or state.h5.tmp to /dev/full): the run fails\n"
                           "with a message naming the file, the previous metrics.h5 and state.h5 stay\n"
                           "intact, no .tmp is left behind, and a rerun resumes from the last good\n"
                           "state to the theta of an uninterrupted run.\n";

#include "../common/testutil.h"
#include <specdyn/train.h>
#include <sys/stat.h>
#include <unistd.h>

static const PetscInt W[3] = { 6, 12, 3 };

static PetscErrorCode Setup(MPI_Comm comm, SpdData *D, SpdMLP *mlp, SpdTrainConfig *cfg)
{
  SpdActivation act[2]  = { SPD_ACT_TANH, SPD_ACT_IDENTITY };
  PetscBool     bias[2] = { PETSC_TRUE, PETSC_TRUE };

  PetscFunctionBeginUser;
  PetscCall(SpdDataGaussianMixture(comm, 48, 6, 3, 1.5, 5, D));
  PetscCall(SpdMLPCreate(comm, 2, W, act, bias, SPD_LOSS_CROSS_ENTROPY, mlp));
  PetscCall(SpdTrainConfigDefaults(cfg));
  cfg->batch      = 16;
  cfg->momentum   = SPD_MOMENTUM_HEAVY_BALL;
  cfg->lr         = 0.1;
  cfg->ckpt_every = 10;
  cfg->eval_every = 5;
  cfg->seed       = 7;
  PetscFunctionReturn(0);
}

/* Rank 0: dataset `name` of a serial HDF5 file (1-D or scalar) as doubles; *n entries. */
static PetscErrorCode ReadH5(const char path[], const char name[], PetscInt *n, PetscReal **buf)
{
  hid_t    f, ds, sp;
  hssize_t npts;

  PetscFunctionBeginUser;
  SpdCallH5Return(f, H5Fopen, (path, H5F_ACC_RDONLY, H5P_DEFAULT));
  SpdCallH5Return(ds, H5Dopen2, (f, name, H5P_DEFAULT));
  SpdCallH5Return(sp, H5Dget_space, (ds));
  npts = H5Sget_simple_extent_npoints(sp);
  *n   = (PetscInt)npts;
  PetscCall(PetscMalloc1(npts + 1, buf));
  SpdCallH5(H5Dread, (ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf));
  SpdCallH5(H5Sclose, (sp));
  SpdCallH5(H5Dclose, (ds));
  SpdCallH5(H5Fclose, (f));
  PetscFunctionReturn(0);
}

/* Rank 0: state.h5's t and theta, metrics.h5's number of step records. */
static PetscErrorCode ReadRun(const char dir[], PetscInt P, PetscInt *t, PetscReal theta[], PetscInt *nsteps)
{
  char       path[PETSC_MAX_PATH_LEN];
  PetscInt   n;
  PetscReal *buf;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/state.h5", dir));
  PetscCall(ReadH5(path, "t", &n, &buf));
  *t = n == 1 ? (PetscInt)buf[0] : -1;
  PetscCall(PetscFree(buf));
  PetscCall(ReadH5(path, "theta", &n, &buf));
  SPD_EXPECT(n == P, "%s: theta has %" PetscInt_FMT " entries, expected %" PetscInt_FMT, path, n, P);
  PetscCall(PetscArraycpy(theta, buf, PetscMin(n, P)));
  PetscCall(PetscFree(buf));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/metrics.h5", dir));
  PetscCall(ReadH5(path, "steps/loss", nsteps, &buf));
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

/* Train cfg->steps steps into dir; returns the error code and message. */
static PetscErrorCode Run(SpdMLP mlp, SpdData D, const SpdTrainConfig *cfg, const char dir[], PetscErrorCode *ierr, char msg[], size_t len, PetscBool *done)
{
  SpdTrainer tr;

  PetscFunctionBeginUser;
  *done = PETSC_FALSE;
  PetscCall(SpdTrainerCreate(mlp, D, cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  msg[0] = 0;
  PetscCall(SpdErrorCapturePush(msg, len));
  *ierr = SpdTrainerRun(tr, dir, NULL, done);
  PetscCall(SpdErrorCapturePop());
  PetscCall(SpdTrainerDestroy(&tr));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  MPI_Comm       comm;
  PetscMPIInt    size, rank;
  char           dir[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN], msg[8192];
  SpdData        D;
  SpdMLP         mlp;
  SpdTrainConfig cfg;
  SpdTrainer     tr;
  PetscInt       P, t, ns;
  PetscReal     *theta10, *theta20, *th, *got;
  PetscBool      done;
  PetscErrorCode ierr;
  const char    *files[2] = { "metrics.h5", "state.h5" };
  struct stat    st;

  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  comm = PETSC_COMM_WORLD;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscSNPrintf(dir, sizeof(dir), "train_writefail_np%d", size));
  if (rank == 0 && access(dir, F_OK) == 0) PetscCall(PetscRMTree(dir));
  PetscCallMPI(MPI_Barrier(comm));

  /* the reference: theta_10 and theta_20 of a plain SpdTrainerStep loop */
  PetscCall(Setup(comm, &D, &mlp, &cfg));
  cfg.steps = 20;
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(PetscMalloc4(P, &theta10, P, &theta20, P, &got, P, &th));
  PetscCall(SpdTrainerCreate(mlp, D, &cfg, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  for (PetscInt s = 0; s < 20; s++) {
    PetscReal *cur;

    PetscCall(SpdTrainerStep(tr));
    PetscCall(SpdTrainerGetState(tr, NULL, &cur, NULL));
    if (s == 9) PetscCall(PetscArraycpy(theta10, cur, P));
    if (s == 19) PetscCall(PetscArraycpy(theta20, cur, P));
  }
  PetscCall(SpdTrainerDestroy(&tr));

  /* a good run to step 10 */
  cfg.steps = 10;
  PetscCall(Run(mlp, D, &cfg, dir, &ierr, msg, sizeof(msg), &done));
  SPD_EXPECT(!ierr && done, "the 10-step run failed: %s", msg);

  /* extending to 20 steps with a full disk under metrics.h5, then under state.h5 */
  cfg.steps = 20;
  for (int k = 0; k < 2; k++) {
    PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, files[k]));
    if (rank == 0) SPD_EXPECT(symlink("/dev/full", tmp) == 0, "cannot create the symlink %s -> /dev/full", tmp);
    PetscCallMPI(MPI_Barrier(comm));
    PetscCall(Run(mlp, D, &cfg, dir, &ierr, msg, sizeof(msg), &done));
    SPD_EXPECT(ierr != 0 && !done, "a run whose %s cannot be written succeeded", files[k]);
    SPD_EXPECT(strstr(msg, files[k]) != NULL, "the error of a failed %s write does not name the file: %s", files[k], msg);
    if (rank == 0) {
      SPD_EXPECT(lstat(tmp, &st) != 0, "%s was left behind after the failed write", tmp);
      (void)unlink(tmp);
      PetscCall(ReadRun(dir, P, &t, got, &ns));
      SPD_EXPECT(t == 10, "after a failed write of %s, state.h5 is at step %" PetscInt_FMT ", expected the last good state 10", files[k], t);
      for (PetscInt j = 0; j < P; j++)
        if (got[j] != theta10[j]) {
          SPD_EXPECT(PETSC_FALSE, "after a failed write of %s, state.h5's theta[%" PetscInt_FMT "] = %.17g, the good state had %.17g", files[k], j, (double)got[j], (double)theta10[j]);
          break;
        }
      /* metrics.h5 is written before state.h5: intact (10 steps) when it failed, the
         complete 20 steps when only the state failed (resume truncates it to the state) */
      SPD_EXPECT(ns == (k == 0 ? 10 : 20), "after a failed write of %s, metrics.h5 has %" PetscInt_FMT " step records, expected %d", files[k], ns, k == 0 ? 10 : 20);
    }
    PetscCallMPI(MPI_Barrier(comm));
  }

  /* the disk is free again: the run resumes at 10 and ends at the uninterrupted theta_20 */
  PetscCall(Run(mlp, D, &cfg, dir, &ierr, msg, sizeof(msg), &done));
  SPD_EXPECT(!ierr && done, "the run after the failures did not finish: %s", msg);
  if (rank == 0) {
    PetscCall(ReadRun(dir, P, &t, got, &ns));
    SPD_EXPECT(t == 20 && ns == 20, "after the resumed run, state.h5 is at step %" PetscInt_FMT " and metrics.h5 has %" PetscInt_FMT " step records; expected 20 and 20", t, ns);
    for (PetscInt j = 0; j < P; j++)
      if (got[j] != theta20[j]) {
        SPD_EXPECT(PETSC_FALSE, "resumed after the failures: theta_20[%" PetscInt_FMT "] = %.17g, the uninterrupted run has %.17g", j, (double)got[j], (double)theta20[j]);
        break;
      }
  }

  PetscCall(PetscFree4(theta10, theta20, got, th));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&D));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
