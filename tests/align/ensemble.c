/* The ensemble-alignment experiment on the linear one-hidden-layer teacher-student case
   (identity activation, d = 10, width 16, c = 5; n in {64, 256}, snr in {0.1, 1, 10},
   3 members trained by full-batch gradient descent from one initialization with
   independent label noise). Noise is the only difference between the members, so their
   hidden representations must agree more as the noise shrinks: the CKA of the hidden
   layer increases with the SNR for each n (and the Procrustes distance decreases, and
   the test error decreases). The file must hold the documented datasets, and the numbers
   must not depend on the number of ranks (the run on the world communicator against one
   on rank 0 alone). */
#include <specdyn/analysis.h>
#include "testutil.h"

static PetscErrorCode ReadAll(const char path[], const char name[], PetscInt len, PetscReal v[])
{
  hid_t   f, ds, sp;
  hsize_t dims[4];
  int     rank;
  hsize_t total = 1;

  PetscFunctionBegin;
  SpdCallH5Return(f, H5Fopen, (path, H5F_ACC_RDONLY, H5P_DEFAULT));
  SpdCallH5Return(ds, H5Dopen2, (f, name, H5P_DEFAULT));
  SpdCallH5Return(sp, H5Dget_space, (ds));
  SpdCallH5Return(rank, H5Sget_simple_extent_ndims, (sp));
  SpdCallH5(H5Sget_simple_extent_dims, (sp, dims, NULL));
  for (int i = 0; i < rank; i++) total *= dims[i];
  PetscCheck((PetscInt)total == len, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s:%s has %llu values, expected %" PetscInt_FMT, path, name, (unsigned long long)total, len);
  SpdCallH5(H5Dread, (ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v));
  SpdCallH5(H5Sclose, (sp));
  SpdCallH5(H5Dclose, (ds));
  SpdCallH5(H5Fclose, (f));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  SpdEnsembleConfig cfg;
  PetscMPIInt       rank, size;
  char              path[PETSC_MAX_PATH_LEN], self[PETSC_MAX_PATH_LEN];
  const char       *names[] = { "/ensemble/cka_mean", "/ensemble/cka_std", "/ensemble/svcca_mean", "/ensemble/procrustes_mean", "/ensemble/test_error", "/ensemble/train_error" };

  PetscCall(SpdInitialize(&argc, &argv, NULL, NULL));
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(SpdEnsembleConfigDefaults(&cfg));
  cfg.nsnr        = 3;
  cfg.snr[0]      = 0.1;
  cfg.snr[1]      = 1;
  cfg.snr[2]      = 10;
  cfg.nn          = 2;
  cfg.n[0]        = 64;
  cfg.n[1]        = 256;
  cfg.members     = 3;
  cfg.d           = 10;
  cfg.c           = 5;
  cfg.width       = 16;
  cfg.depth       = 1;
  cfg.act         = SPD_ACT_IDENTITY;
  cfg.nprobe      = 200;
  cfg.ntest       = 500;
  cfg.train.lr    = 0.1;
  cfg.train.steps = 300;
  PetscCall(PetscSNPrintf(path, sizeof(path), "align_ensemble_np%d.h5", (int)size));
  PetscCall(PetscSNPrintf(self, sizeof(self), "align_ensemble_np%d_self.h5", (int)size));
  PetscCall(SpdEnsembleAlignmentRun(PETSC_COMM_WORLD, &cfg, path));
  if (size > 1 && rank == 0) PetscCall(SpdEnsembleAlignmentRun(PETSC_COMM_SELF, &cfg, self));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));

  if (rank == 0) {
    PetscReal cka[12], cstd[12], svcca[12], pro[12], test[6], train[6], snr[3], layer[2];

    PetscCall(ReadAll(path, names[0], 12, cka));
    PetscCall(ReadAll(path, names[1], 12, cstd));
    PetscCall(ReadAll(path, names[2], 12, svcca));
    PetscCall(ReadAll(path, names[3], 12, pro));
    PetscCall(ReadAll(path, names[4], 6, test));
    PetscCall(ReadAll(path, names[5], 6, train));
    PetscCall(ReadAll(path, "/ensemble/snr", 3, snr));
    PetscCall(ReadAll(path, "/ensemble/layer", 2, layer));
    SPD_EXPECT(snr[0] == 0.1 && snr[2] == 10 && layer[0] == 1 && layer[1] == 2, "snr or layer axis wrong: snr %g .. %g, layers %g %g", (double)snr[0], (double)snr[2], (double)layer[0], (double)layer[1]);
    for (PetscInt in = 0; in < 2; in++) {
      for (PetscInt is = 0; is < 3; is++) {
        PetscInt o = (is * 2 + in) * 2; /* (snr, n, layer = hidden) */
        PetscCall(PetscPrintf(PETSC_COMM_SELF, "n %3" PetscInt_FMT " snr %5.1f: hidden cka %.6f +- %.2e svcca %.6f procrustes %.6f | output cka %.6f | test error %.5f train error %.5f\n", cfg.n[in], (double)cfg.snr[is], (double)cka[o], (double)cstd[o], (double)svcca[o], (double)pro[o], (double)cka[o + 1], (double)test[is * 2 + in], (double)train[is * 2 + in]));
      }
      for (PetscInt is = 0; is + 1 < 3; is++) {
        PetscInt o = (is * 2 + in) * 2, o1 = ((is + 1) * 2 + in) * 2;
        SPD_EXPECT(cka[o] < cka[o1], "n = %" PetscInt_FMT ": hidden-layer CKA %.8f at snr %g is not below %.8f at snr %g", cfg.n[in], (double)cka[o], (double)cfg.snr[is], (double)cka[o1], (double)cfg.snr[is + 1]);
        SPD_EXPECT(pro[o] > pro[o1], "n = %" PetscInt_FMT ": hidden-layer Procrustes distance %.8f at snr %g is not above %.8f at snr %g", cfg.n[in], (double)pro[o], (double)cfg.snr[is], (double)pro[o1], (double)cfg.snr[is + 1]);
        SPD_EXPECT(test[is * 2 + in] > test[(is + 1) * 2 + in], "n = %" PetscInt_FMT ": test error %.6f at snr %g is not above %.6f at snr %g", cfg.n[in], (double)test[is * 2 + in], (double)cfg.snr[is], (double)test[(is + 1) * 2 + in], (double)cfg.snr[is + 1]);
      }
    }
    for (PetscInt i = 0; i < 12; i++) SPD_EXPECT(cka[i] > 0 && cka[i] <= 1 && pro[i] >= 0 && pro[i] < 1 && svcca[i] > 0 && svcca[i] <= 1, "value %" PetscInt_FMT " out of range: cka %g svcca %g procrustes %g", i, (double)cka[i], (double)svcca[i], (double)pro[i]);
    if (size > 1) {
      for (PetscInt k = 0; k < 6; k++) {
        PetscReal a[12], b[12];
        PetscInt  len = k < 4 ? 12 : 6;

        PetscCall(ReadAll(path, names[k], len, a));
        PetscCall(ReadAll(self, names[k], len, b));
        PetscCall(SpdTestCheckClose(PETSC_COMM_SELF, names[k], len, a, b, 1e-9, 1e-9));
      }
    }
  }
  /* bad configuration: a clear error */
  {
    char           msg[512];
    PetscErrorCode ierr;

    cfg.members = 1;
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    ierr = SpdEnsembleAlignmentRun(PETSC_COMM_WORLD, &cfg, path);
    PetscCall(SpdErrorCapturePop());
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "members = 1 -> %s\n", msg));
    SPD_EXPECT(ierr && strstr(msg, "members >= 2"), "members = 1: expected an error, got '%s'", msg);
  }
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
