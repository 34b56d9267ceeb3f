/* Representational alignment across an ensemble trained on independently noised copies
   of one training set (docs/alignment.md).

   For each (snr, n) of the grid and member m = 0..M-1:
     training data  SpdDataTeacherStudentNoise(n, d, c, snr, data_seed, hash(noise_seed, m)):
                    the same teacher and inputs for every member, independent label noise
                    (sample i's noise from the stream (hash(noise_seed, m), i), so the
                    realization of a member is shared across the grid: n = 64 is a prefix
                    of n = 256, and snr only scales it, i.e. common random numbers);
     student        an MLP d -> width^depth -> c, theta_0 from train.seed (same_init) or
                    hash(train.seed, m), trained by SpdTrainerStep for train.steps steps;
     probes, test   fresh noiseless samples of the same teacher: global indices
                    [nmax, nmax + ntest) and [nmax + ntest, nmax + ntest + nprobe) of
                    SpdDataTeacherStudent(data_seed, snr = 0), nmax the largest n of the
                    grid, so no probe or test input is a training input of any member.
   Then for each layer l = 1..L (hidden layers, then the outputs): every member's h_l on
   the probes is prepared once (SpdAlignmentRepCreate: centering, Sxx, its
   eigendecomposition) and each member pair a < b costs only the cross terms
   (SpdAlignmentComputeRep(h_l^a, h_l^b), the numbers of SpdAlignmentCompute); the mean and the (population)
   standard deviation over the M (M - 1) / 2 pairs are stored with the test error
   (1 / (ntest c)) sum_i ||f(x_i) - T x_i / sqrt(d)||^2 of each member. */
#include <specdyn/analysis.h>
#include <specdyn/private/h5util.h>
#include <string.h>
#include <stdio.h>

/* A member's seed from a base seed: SplitMix64's output at step m + 1 of the sequence
   started at seed, made non-negative */
static PetscInt64 SpdEnsembleHash(PetscInt64 seed, PetscInt m)
{
  uint64_t z = (uint64_t)seed + UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)m;

  return (PetscInt64)(SpdSplitMix64(&z) >> 1);
}

static PetscErrorCode SpdEnsembleConfigCheck(MPI_Comm comm, const SpdEnsembleConfig *cfg)
{
  PetscFunctionBegin;
  PetscCheck(cfg->nsnr >= 1 && cfg->nsnr <= SPD_ENSEMBLE_MAX_GRID, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: %" PetscInt_FMT " snr values; give 1 to %d", cfg->nsnr, SPD_ENSEMBLE_MAX_GRID);
  PetscCheck(cfg->nn >= 1 && cfg->nn <= SPD_ENSEMBLE_MAX_GRID, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: %" PetscInt_FMT " training-set sizes n; give 1 to %d", cfg->nn, SPD_ENSEMBLE_MAX_GRID);
  for (PetscInt i = 0; i < cfg->nsnr; i++) PetscCheck(PetscIsNormalReal(cfg->snr[i]) || cfg->snr[i] == 0, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: snr[%" PetscInt_FMT "] = %g is not finite; give snr > 0 (or <= 0 for noiseless targets)", i, (double)cfg->snr[i]);
  for (PetscInt i = 0; i < cfg->nn; i++) PetscCheck(cfg->n[i] >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: n[%" PetscInt_FMT "] = %" PetscInt_FMT "; training sets need n >= 1", i, cfg->n[i]);
  PetscCheck(cfg->members >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: %" PetscInt_FMT " members; pairwise alignment needs members >= 2", cfg->members);
  PetscCheck(cfg->d >= 1 && cfg->c >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: teacher dimensions d = %" PetscInt_FMT ", c = %" PetscInt_FMT "; both must be >= 1", cfg->d, cfg->c);
  PetscCheck(cfg->width >= 1 && cfg->depth >= 1 && cfg->depth + 1 <= SPD_MLP_MAX_LAYERS, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: width %" PetscInt_FMT ", depth %" PetscInt_FMT "; give width >= 1 and 1 <= depth < %d hidden layers", cfg->width, cfg->depth, SPD_MLP_MAX_LAYERS);
  PetscCheck(cfg->nprobe >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: %" PetscInt_FMT " probe samples; the alignment needs nprobe >= 2", cfg->nprobe);
  PetscCheck(cfg->ntest >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: %" PetscInt_FMT " test samples; give ntest >= 1", cfg->ntest);
  PetscCheck(cfg->svcca_k > 0 || (cfg->svcca_var > 0 && cfg->svcca_var <= 1), comm, PETSC_ERR_ARG_OUTOFRANGE, "Ensemble alignment: SVCCA variance fraction %g must be in (0, 1], or give svcca_k > 0", (double)cfg->svcca_var);
  PetscCheck(cfg->train.param != SPD_PARAM_CUSTOM, comm, PETSC_ERR_SUP, "Ensemble alignment: the custom parameterization needs per-layer multipliers the experiment does not take; use standard, ntk or mup");
  PetscFunctionReturn(0);
}

/* Mean of (1 / (n c)) ||f(x_i) - y_i||^2 over the samples of data at the model's theta. */
static PetscErrorCode SpdEnsembleError(SpdMLP mlp, SpdData data, PetscReal *err)
{
  PetscInt   L, c = data->c;
  PetscReal *Z, s = 0;

  PetscFunctionBegin;
  PetscCall(SpdMLPGetArchitecture(mlp, &L, NULL, NULL, NULL, NULL, NULL, NULL));
  PetscCall(PetscMalloc1((size_t)data->nlocal * c + 1, &Z));
  PetscCall(SpdMLPGetHidden(mlp, data, L, Z));
  for (size_t i = 0; i < (size_t)data->nlocal * c; i++) s += (Z[i] - data->Y[i]) * (Z[i] - data->Y[i]);
  PetscCall(PetscFree(Z));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &s, 1, MPIU_REAL, MPIU_SUM, data->comm));
  *err = s / ((PetscReal)data->n * (PetscReal)c);
  PetscFunctionReturn(0);
}

/* One member: train on its noisy copy, keep its probe representations of every layer
   (H[l - 1]: nlocal x width[l]) and its test and training errors. */
static PetscErrorCode SpdEnsembleMember(MPI_Comm comm, const SpdEnsembleConfig *cfg, PetscReal snr, PetscInt n, PetscInt m, SpdData probe, SpdData test, PetscReal *H[], PetscReal *test_err, PetscReal *train_err)
{
  PetscInt       L = cfg->depth + 1, width[SPD_MLP_MAX_LAYERS + 1];
  SpdActivation  act[SPD_MLP_MAX_LAYERS];
  PetscBool      bias[SPD_MLP_MAX_LAYERS];
  PetscReal      a[SPD_MLP_MAX_LAYERS], c[SPD_MLP_MAX_LAYERS];
  SpdTrainConfig tc = cfg->train;
  SpdData        data;
  SpdMLP         mlp;
  SpdTrainer     tr;

  PetscFunctionBegin;
  width[0] = cfg->d;
  for (PetscInt l = 1; l < L; l++) width[l] = cfg->width;
  width[L] = cfg->c;
  for (PetscInt l = 0; l < L; l++) {
    act[l]  = l < L - 1 ? cfg->act : SPD_ACT_IDENTITY;
    bias[l] = cfg->bias;
  }
  if (!cfg->same_init) tc.seed = SpdEnsembleHash(cfg->train.seed, m);
  PetscCall(SpdDataTeacherStudentNoise(comm, n, cfg->d, cfg->c, snr, cfg->data_seed, SpdEnsembleHash(cfg->noise_seed, m), &data));
  PetscCall(SpdMLPCreate(comm, L, width, act, bias, SPD_LOSS_MSE, &mlp));
  PetscCall(SpdParameterizationMultipliers(tc.param, L, width, NULL, NULL, a, c));
  PetscCall(SpdMLPSetMultipliers(mlp, a, c));
  PetscCall(SpdTrainerCreate(mlp, data, &tc, &tr));
  PetscCall(SpdTrainerInitialize(tr));
  for (PetscInt t = 0; t < tc.steps; t++) PetscCall(SpdTrainerStep(tr));
  for (PetscInt l = 1; l <= L; l++) PetscCall(SpdMLPGetHidden(mlp, probe, l, H[l - 1]));
  PetscCall(SpdEnsembleError(mlp, test, test_err));
  PetscCall(SpdEnsembleError(mlp, data, train_err));
  PetscCall(SpdTrainerDestroy(&tr));
  PetscCall(SpdMLPDestroy(&mlp));
  PetscCall(SpdDataDestroy(&data));
  PetscFunctionReturn(0);
}

static void SpdEnsembleMeanStd(PetscInt k, const PetscReal x[], PetscReal *mean, PetscReal *std)
{
  PetscReal s = 0, v = 0;

  for (PetscInt i = 0; i < k; i++) s += x[i];
  s /= (PetscReal)k;
  for (PetscInt i = 0; i < k; i++) v += (x[i] - s) * (x[i] - s);
  *mean = s;
  *std  = PetscSqrtReal(v / (PetscReal)k);
}

/* ---- the output file (rank 0, serial HDF5) ---------------------------------- */
typedef struct {
  PetscInt   nsnr, nn, nlayer, npairs, M;
  PetscInt  *layer, *width, *pairs;
  PetscReal *pair[3]; /* cka, svcca, procrustes: nsnr x nn x nlayer x npairs */
  PetscInt  *kx, *ky; /* SVCCA components kept: nsnr x nn x nlayer x npairs      */
  PetscReal *test_err, *train_err; /* nsnr x nn x M */
} SpdEnsembleResult;

static const char *const SpdEnsembleMeasures[3] = { "cka", "svcca", "procrustes" };

static PetscErrorCode SpdEnsembleWriteGroup(const SpdEnsembleConfig *cfg, const SpdEnsembleResult *r, hid_t f)
{
  hid_t      g;
  hsize_t    d1[1], d2[2], d3[3], d4[4];
  size_t     ngrid = (size_t)r->nsnr * r->nn, nl = ngrid * r->nlayer;
  PetscReal *mean, *std, *emean, *estd;

  PetscFunctionBegin;
  SpdCallH5Return(g, H5Gcreate2, (f, "ensemble", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  d1[0] = (hsize_t)r->nsnr;
  PetscCall(SpdH5WriteReals(g, "snr", 1, d1, cfg->snr));
  d1[0] = (hsize_t)r->nn;
  PetscCall(SpdH5WriteInts(g, "n", 1, d1, cfg->n));
  d1[0] = (hsize_t)r->nlayer;
  PetscCall(SpdH5WriteInts(g, "layer", 1, d1, r->layer));
  PetscCall(SpdH5WriteInts(g, "width", 1, d1, r->width));
  d2[0] = (hsize_t)r->npairs;
  d2[1] = 2;
  PetscCall(SpdH5WriteInts(g, "pairs", 2, d2, r->pairs));

  PetscCall(PetscMalloc4(nl, &mean, nl, &std, ngrid, &emean, ngrid, &estd));
  d3[0] = (hsize_t)r->nsnr;
  d3[1] = (hsize_t)r->nn;
  d3[2] = (hsize_t)r->nlayer;
  d4[0] = d3[0];
  d4[1] = d3[1];
  d4[2] = d3[2];
  d4[3] = (hsize_t)r->npairs;
  for (PetscInt k = 0; k < 3; k++) {
    char name[64];

    for (size_t i = 0; i < nl; i++) SpdEnsembleMeanStd(r->npairs, r->pair[k] + i * r->npairs, &mean[i], &std[i]);
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s_mean", SpdEnsembleMeasures[k]));
    PetscCall(SpdH5WriteReals(g, name, 3, d3, mean));
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s_std", SpdEnsembleMeasures[k]));
    PetscCall(SpdH5WriteReals(g, name, 3, d3, std));
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s_pairs", SpdEnsembleMeasures[k]));
    PetscCall(SpdH5WriteReals(g, name, 4, d4, r->pair[k]));
  }
  PetscCall(SpdH5WriteInts(g, "svcca_kx", 4, d4, r->kx));
  PetscCall(SpdH5WriteInts(g, "svcca_ky", 4, d4, r->ky));
  d3[2] = (hsize_t)r->M;
  PetscCall(SpdH5WriteReals(g, "test_error_members", 3, d3, r->test_err));
  PetscCall(SpdH5WriteReals(g, "train_error_members", 3, d3, r->train_err));
  for (size_t i = 0; i < ngrid; i++) SpdEnsembleMeanStd(r->M, r->test_err + i * r->M, &emean[i], &estd[i]);
  PetscCall(SpdH5WriteReals(g, "test_error", 2, d3, emean));
  PetscCall(SpdH5WriteReals(g, "test_error_std", 2, d3, estd));
  for (size_t i = 0; i < ngrid; i++) SpdEnsembleMeanStd(r->M, r->train_err + i * r->M, &emean[i], &estd[i]);
  PetscCall(SpdH5WriteReals(g, "train_error", 2, d3, emean));
  PetscCall(SpdH5WriteReals(g, "train_error_std", 2, d3, estd));
  PetscCall(PetscFree4(mean, std, emean, estd));

  PetscCall(SpdH5WriteAttrInt(g, "members", r->M));
  PetscCall(SpdH5WriteAttrInt(g, "d", cfg->d));
  PetscCall(SpdH5WriteAttrInt(g, "c", cfg->c));
  PetscCall(SpdH5WriteAttrInt(g, "width", cfg->width));
  PetscCall(SpdH5WriteAttrInt(g, "depth", cfg->depth));
  PetscCall(SpdH5WriteAttrString(g, "activation", SpdActivations[cfg->act]));
  PetscCall(SpdH5WriteAttrInt(g, "bias", cfg->bias ? 1 : 0));
  PetscCall(SpdH5WriteAttrString(g, "parameterization", SpdParameterizations[cfg->train.param]));
  PetscCall(SpdH5WriteAttrReal(g, "lr", cfg->train.lr));
  PetscCall(SpdH5WriteAttrInt(g, "steps", cfg->train.steps));
  PetscCall(SpdH5WriteAttrInt(g, "batch", cfg->train.batch));
  PetscCall(SpdH5WriteAttrString(g, "momentum", SpdMomenta[cfg->train.momentum]));
  PetscCall(SpdH5WriteAttrReal(g, "weight_decay", cfg->train.weight_decay));
  PetscCall(SpdH5WriteAttrInt(g, "train_seed", cfg->train.seed));
  PetscCall(SpdH5WriteAttrInt(g, "same_init", cfg->same_init ? 1 : 0));
  PetscCall(SpdH5WriteAttrInt(g, "nprobe", cfg->nprobe));
  PetscCall(SpdH5WriteAttrInt(g, "ntest", cfg->ntest));
  PetscCall(SpdH5WriteAttrInt(g, "data_seed", cfg->data_seed));
  PetscCall(SpdH5WriteAttrInt(g, "noise_seed", cfg->noise_seed));
  PetscCall(SpdH5WriteAttrReal(g, "svcca_var", cfg->svcca_var));
  PetscCall(SpdH5WriteAttrInt(g, "svcca_k", cfg->svcca_k));
  PetscCall(SpdH5WriteAttrString(g, "std", "population standard deviation over the member pairs (test errors: over the members)"));
  PetscCall(SpdH5WriteAttrString(g, "specdyn_version", SpdVersion()));
  SpdCallH5(H5Gclose, (g));
  PetscFunctionReturn(0);
}

/* path.tmp, then a rename: a reader never sees a half-written file */
static PetscErrorCode SpdEnsembleWrite(const SpdEnsembleConfig *cfg, const SpdEnsembleResult *r, const char path[])
{
  char           tmp[PETSC_MAX_PATH_LEN];
  hid_t          f;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot create the ensemble-alignment file %s; check that its folder exists and is writable", tmp);
  ierr = SpdEnsembleWriteGroup(cfg, r, f);
  if (ierr) {
    (void)SpdH5CloseFile(f);
    (void)remove(tmp);
    SETERRQ(PETSC_COMM_SELF, ierr, "Writing the ensemble-alignment file %s failed", tmp);
  }
  SpdCallH5(H5Fclose, (f));
  PetscCheck(rename(tmp, path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot rename %s to %s; check that the output folder is writable", tmp, path);
  PetscFunctionReturn(0);
}

/*@C
  SpdEnsembleAlignmentRun - train ensembles on independently noised teacher-student data over
  a grid of snr and n and store the alignment of their representations

  Collective

  Input Parameters:
+ comm     - the ranks (the samples of every data set are split over them)
. cfg      - the experiment (SpdEnsembleConfigDefaults() then changes)
- out_path - the HDF5 file written (by rank 0, through out_path.tmp and a rename)

  Notes:
  Each member gets its own label noise (hash(noise_seed, m)), the same teacher and inputs
  (data_seed); with same_init all members start from theta_0 of train.seed, so that the
  noise is the only difference between them. Layers 1..depth are the hidden layers and
  layer depth + 1 the outputs. The file layout is in docs/alignment.md.

.seealso: `SpdEnsembleConfigDefaults()`, `SpdAlignmentRepCreate()`, `SpdAlignmentComputeRep()`, `SpdMLPGetHidden()`
@*/
PetscErrorCode SpdEnsembleAlignmentRun(MPI_Comm comm, const SpdEnsembleConfig *cfg, const char out_path[])
{
  SpdEnsembleResult r;
  SpdData           all, probe, test;
  PetscInt          nmax = 0, *gidx, M = cfg->members, L = cfg->depth + 1;
  PetscReal      ***H; /* H[m][l]: member m's probe representation of layer l + 1 */
  SpdAlignmentRep  *rep; /* rep[m]: member m's representation of the current layer, prepared */
  PetscMPIInt       rank;
  PetscErrorCode    ierr = 0;

  PetscFunctionBegin;
  PetscCheck(out_path && out_path[0], comm, PETSC_ERR_ARG_NULL, "Ensemble alignment: give the path of the output HDF5 file");
  PetscCall(SpdEnsembleConfigCheck(comm, cfg));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  for (PetscInt i = 0; i < cfg->nn; i++) nmax = PetscMax(nmax, cfg->n[i]);

  /* probe and test inputs: fresh samples of the same teacher, noiseless */
  PetscCall(SpdDataTeacherStudent(comm, nmax + cfg->ntest + cfg->nprobe, cfg->d, cfg->c, 0.0, cfg->data_seed, &all));
  PetscCall(PetscMalloc1(PetscMax(cfg->ntest, cfg->nprobe), &gidx));
  for (PetscInt i = 0; i < cfg->ntest; i++) gidx[i] = nmax + i;
  PetscCall(SpdDataSubset(all, cfg->ntest, gidx, &test));
  for (PetscInt i = 0; i < cfg->nprobe; i++) gidx[i] = nmax + cfg->ntest + i;
  PetscCall(SpdDataSubset(all, cfg->nprobe, gidx, &probe));
  PetscCall(PetscFree(gidx));
  PetscCall(SpdDataDestroy(&all));

  PetscCall(PetscMemzero(&r, sizeof(r)));
  r.nsnr   = cfg->nsnr;
  r.nn     = cfg->nn;
  r.nlayer = L;
  r.M      = M;
  r.npairs = M * (M - 1) / 2;
  {
    size_t npair = (size_t)cfg->nsnr * cfg->nn * L * r.npairs, nmem = (size_t)cfg->nsnr * cfg->nn * M;

    PetscCall(PetscMalloc3(L, &r.layer, L, &r.width, 2 * r.npairs, &r.pairs));
    PetscCall(PetscMalloc5(npair, &r.pair[0], npair, &r.pair[1], npair, &r.pair[2], npair, &r.kx, npair, &r.ky));
    PetscCall(PetscMalloc2(nmem, &r.test_err, nmem, &r.train_err));
  }
  for (PetscInt l = 0; l < L; l++) {
    r.layer[l] = l + 1;
    r.width[l] = l < L - 1 ? cfg->width : cfg->c;
  }
  for (PetscInt a = 0, k = 0; a < M; a++)
    for (PetscInt b = a + 1; b < M; b++, k++) {
      r.pairs[2 * k]     = a;
      r.pairs[2 * k + 1] = b;
    }
  PetscCall(PetscCalloc1(M, &rep));
  PetscCall(PetscMalloc1(M, &H));
  for (PetscInt m = 0; m < M; m++) {
    PetscCall(PetscMalloc1(L, &H[m]));
    for (PetscInt l = 0; l < L; l++) PetscCall(PetscMalloc1((size_t)probe->nlocal * r.width[l] + 1, &H[m][l]));
  }

  for (PetscInt is = 0; is < cfg->nsnr; is++)
    for (PetscInt in = 0; in < cfg->nn; in++) {
      size_t g = (size_t)is * cfg->nn + in;

      for (PetscInt m = 0; m < M; m++) PetscCall(SpdEnsembleMember(comm, cfg, cfg->snr[is], cfg->n[in], m, probe, test, H[m], &r.test_err[g * M + m], &r.train_err[g * M + m]));
      for (PetscInt l = 0; l < L; l++) {
        /* each member's layer prepared once (means, centering, Sxx and its
           eigendecomposition), then only the cross terms per pair */
        for (PetscInt m = 0; m < M; m++) PetscCall(SpdAlignmentRepCreate(comm, probe->nlocal, r.width[l], H[m][l], cfg->svcca_var, cfg->svcca_k, &rep[m]));
        for (PetscInt k = 0; k < r.npairs; k++) {
          SpdAlignment al;
          size_t       o = (g * L + l) * r.npairs + k;

          PetscCall(SpdAlignmentComputeRep(rep[r.pairs[2 * k]], rep[r.pairs[2 * k + 1]], &al));
          r.pair[0][o] = al.cka;
          r.pair[1][o] = al.svcca;
          r.pair[2][o] = al.procrustes;
          r.kx[o]      = al.kx;
          r.ky[o]      = al.ky;
        }
        for (PetscInt m = 0; m < M; m++) PetscCall(SpdAlignmentRepDestroy(&rep[m]));
      }
      PetscCall(PetscInfo(NULL, "ensemble alignment: snr %g n %" PetscInt_FMT ": test error %g (member 0), CKA of layer 1 %g (pair 0)\n", (double)cfg->snr[is], cfg->n[in], (double)r.test_err[g * M], (double)r.pair[0][g * L * r.npairs]));
    }

  /* rank 0 writes; its status is shared so that no rank waits on a failed writer */
  if (rank == 0) ierr = SpdEnsembleWrite(cfg, &r, out_path);
  PetscCallMPI(MPI_Bcast(&ierr, 1, MPI_INT, 0, comm));
  PetscCheck(!ierr, comm, PETSC_ERR_FILE_WRITE, "Ensemble alignment: writing %s failed (error %d on rank 0, see its message above); check the path and the free space", out_path, (int)ierr);

  for (PetscInt m = 0; m < M; m++) {
    for (PetscInt l = 0; l < L; l++) PetscCall(PetscFree(H[m][l]));
    PetscCall(PetscFree(H[m]));
  }
  PetscCall(PetscFree(H));
  PetscCall(PetscFree(rep));
  PetscCall(PetscFree3(r.layer, r.width, r.pairs));
  PetscCall(PetscFree5(r.pair[0], r.pair[1], r.pair[2], r.kx, r.ky));
  PetscCall(PetscFree2(r.test_err, r.train_err));
  PetscCall(SpdDataDestroy(&probe));
  PetscCall(SpdDataDestroy(&test));
  PetscFunctionReturn(0);
}
