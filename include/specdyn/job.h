/* specdyn/job.h - job files and plans (the "job" layer).

   A job file (YAML) names checkpoints, tensor selection, the weight-spectra analysis,
   solver options and resources. SpdJobLoad parses and validates it: unknown keys are
   errors naming the key, its line and the closest valid key. SpdPlanCreate opens the
   checkpoints (metadata only), selects and splits tensors, and produces the task list
   with cost and per-rank memory estimates; `specdyn run --dry-run` prints it. */
#pragma once
#include <specdyn/operator.h>
#include <specdyn/model.h>

typedef struct {
  char       path[PETSC_MAX_PATH_LEN]; /* resolved against the job file's folder */
  char       label[128]; /* defaults to the file's base name       */
  char       run[128]; /* the run (`runs:` entry) it belongs to, "" if none      */
  PetscInt64 step; /* its training step in the run, -1 when none or unknown */
} SpdJobCheckpoint;

/* Split rule for fused projections: tensors whose name matches `match` are cut along
   `axis` of the analysed matrix (0: rows, 1: columns; after the orientation rule) into
   nparts equal parts named parts[], and each part into `heads` equal heads (0: none). */
typedef struct {
  char      match[SPD_MAX_NAME];
  PetscInt  nparts;
  char      parts[8][32];
  PetscInt  axis;
  PetscInt  heads;
  PetscBool transpose; /* analyse the stored block transposed (e.g. GPT-2 Conv1D [in,out]) */
} SpdJobSplit;

typedef enum { SPD_FULL_AUTO,
  SPD_FULL_YES,
  SPD_FULL_NO } SpdFullMode;

typedef struct {
  SpdFullMode full; /* all singular values (ScaLAPACK)                          */
  PetscInt    full_max; /* auto: full spectrum when min(m,n) <= full_max           */
  PetscInt    top; /* top-k triplets (SLEPc), 0 = none                         */
  PetscInt    bottom; /* bottom-k triplets (SLEPc), 0 = none                      */
  PetscBool   vectors; /* store top-k U and V                                      */
  PetscReal   rank_tol; /* numerical rank tolerance relative to sigma_1, <= 0: auto */
  PetscInt    tail_min; /* minimum number of tail points for the power-law fit     */
} SpdWeightsSettings;

/* A layer pair for the alignment comparison: `a` and `b` are analysed names where `*`
   matches any text (the same text in both: "h.*.mlp.c_fc.weight" pairs with
   "h.*.mlp.c_proj.weight" layer by layer); every other character is literal. */
typedef enum { SPD_SPACES_OUT_IN, /* |V_b^T U_a|: outputs of a feed the inputs of b  */
  SPD_SPACES_OUT_OUT, /*             |U_a^T U_b|: a and b write the same space (q/k) */
  SPD_SPACES_IN_IN /*                |V_a^T V_b|: a and b read the same space        */
} SpdSpaces;
PETSC_EXTERN const char *const SpdSpacesNames[];

typedef struct {
  char      a[SPD_MAX_NAME], b[SPD_MAX_NAME];
  SpdSpaces spaces;
} SpdJobLayerPair;

/* What the `compare:` section asks (docs/jobs.md). Comparisons use the top-k singular
   vectors of the tasks (weights.vectors is switched on by the section). */
typedef struct {
  PetscBool        enabled; /* the job has a compare: section              */
  PetscInt         k; /* vectors compared (<= weights.top)                   */
  PetscBool        final, previous; /* each checkpoint of a run vs the run's last / previous */
  PetscBool        runs; /* runs against each other at equal steps         */
  PetscBool        layers_auto; /* consecutive layers by shape chaining          */
  PetscInt         npairs;
  SpdJobLayerPair *pairs; /* layer pairs named in the job                   */
  PetscBool        diff_runs, diff_previous, diff_initial; /* spectra of W_a - W_b tasks */
} SpdCompareSettings;

/* Where the data of a curvature analysis come from (job key `data:`). */
typedef enum { SPD_DATA_NONE,
  SPD_DATA_HDF5,
  SPD_DATA_IDX,
  SPD_DATA_FASHION_MNIST,
  SPD_DATA_GAUSSIAN_MIXTURE,
  SPD_DATA_TEACHER_STUDENT } SpdDataSource;
PETSC_EXTERN const char *const SpdDataSources[];

typedef struct {
  SpdDataSource source;
  char          path[PETSC_MAX_PATH_LEN], x[256], y[256]; /* hdf5 */
  char          images[PETSC_MAX_PATH_LEN], labels[PETSC_MAX_PATH_LEN]; /* idx, fashion_mnist */
  PetscInt      n; /* samples (files: first n; 0 = all) */
  PetscInt      d, classes, outputs; /* generators */
  PetscReal     snr;
  PetscInt64    seed;
} SpdJobData;

/* The curvature analysis (job key `curvature:`). */
typedef struct {
  PetscBool  enabled;
  PetscBool  op[3]; /* SPD_CURV_HESSIAN, SPD_CURV_GAUSS_NEWTON, SPD_CURV_GRADIENT_COVARIANCE */
  PetscBool  whole, layers; /* blocks: the whole model, each layer */
  PetscInt   top, bottom; /* largest / most negative eigenpairs */
  PetscBool  vectors;
  PetscInt   trace_products; /* Hutch++ products (0: no trace) */
  PetscInt   density_probes, density_steps, density_grid; /* 0 probes: no density */
  PetscReal  density_sigma;
  PetscReal  learning_rate; /* <= 0: unknown */
  PetscInt64 seed;
} SpdCurvatureSettings;

/* A random ensemble of the Jacobian analysis (job key `jacobian.ensemble:`): products of
   `depth` width x width matrices with i.i.d. N(0, std^2) entries, gated between the
   factors by random fixed gates on with probability gate_p (SpdJacobianCreateGaussian).
   `draws` independent products; draw r uses the r-th output of SplitMix64 seeded with
   `seed` as its ensemble seed. */
#define SPD_JACOBIAN_MAX_ENSEMBLES 32
typedef struct {
  char       name[64]; /* the task's label is "ensemble/<name>" */
  PetscInt   width, depth;
  PetscReal  std; /* default 1/sqrt(width) */
  PetscReal  gate_p; /* in (0, 1]; 1: no gates (default) */
  PetscInt   draws; /* job key `seeds` (default 1) */
  PetscInt64 seed;
} SpdJacobianEnsemble;

/* Input-output Jacobians across depth (job key `jacobian:`; docs/jacobians.md). */
typedef struct {
  PetscBool           enabled;
  PetscBool           model; /* J(x) of each checkpoint's MLP (needs data:; off for ensembles without data:) */
  PetscInt            inputs; /* the first `inputs` samples of the job's data */
  PetscInt            k; /* singular values / exponents per depth */
  PetscBool           lyapunov, spectra;
  PetscInt            ndepths; /* 0: every depth */
  PetscInt            depths[64];
  PetscInt64          seed;
  PetscInt            input_groups; /* rank groups sharing out the inputs/draws of a task (0: automatic) */
  PetscInt            nensembles; /* random ensembles (jacobian.ensemble) */
  SpdJacobianEnsemble ensembles[SPD_JACOBIAN_MAX_ENSEMBLES];
} SpdJacobianSettings;

/* Training runs (job keys `train:`, `sweep:`, `training_jacobian:`; docs/training.md).
   The architecture comes from `model:` (widths, activation, bias, loss,
   parameterization), the samples from `data:`. */
#define SPD_SWEEP_MAX 32
typedef enum { SPD_SWEEP_SEED,
  SPD_SWEEP_WEIGHT_DECAY,
  SPD_SWEEP_LABEL_NOISE,
  SPD_SWEEP_N,
  SPD_SWEEP_SNR,
  SPD_SWEEP_WIDTH,
  SPD_SWEEP_LR,
  SPD_SWEEP_BATCH,
  SPD_SWEEP_NKEYS } SpdSweepKey;
PETSC_EXTERN const char *const SpdSweepKeys[]; /* "seed", "weight_decay", "label_noise", "n", "snr", "width", "lr", "batch", NULL */

typedef struct {
  PetscBool      enabled; /* the job has a train: section */
  SpdTrainConfig cfg;
  PetscReal      label_noise; /* fraction of corrupted labels */
  PetscBool      random_labels;
  PetscInt       nwidths; /* model.widths: w_0 (input; 0 = from the data) .. w_L */
  PetscInt       widths[SPD_MLP_MAX_LAYERS + 1];
  PetscBool      bias; /* model.bias (default true) */
  PetscInt       test_n; /* data.test_n: held-out samples evaluated at evaluations (0: none) */
  PetscInt       nsweep[SPD_SWEEP_NKEYS]; /* values per swept key (0: not swept) */
  PetscReal      sweep[SPD_SWEEP_NKEYS][SPD_SWEEP_MAX];
} SpdTrainSettings;

/* The training-Jacobian analysis of each run (job key `training_jacobian:`). */
typedef struct {
  PetscBool   enabled;
  PetscInt    top, bottom; /* singular triplets */
  PetscInt    density_probes, density_steps, density_grid; /* SLQ on J^T J (0 probes: none) */
  PetscReal   epsilon; /* bulk: |sigma - 1| <= epsilon */
  PetscInt    every; /* iterates kept every this many steps (1: all) */
  PetscBool   function_jacobian; /* the same analyses for d f(X) / d theta at theta_T */
  SpdFullMode full; /* dense J_T (P products) and all its singular triplets (ScaLAPACK) */
  PetscInt    full_max; /* auto: dense when P <= full_max (default 2048) */
  PetscInt    perturb; /* perturbation experiments: directions per region (0: none) */
  PetscReal   perturb_scale; /* ||delta theta_0|| of a perturbation */
  PetscInt    ood; /* white-noise inputs for the out-of-distribution change */
  PetscInt64  seed;
} SpdTrainJacSettings;

/* The representational-alignment experiment (job key `ensemble:`; run by `specdyn train`,
   SpdEnsembleAlignmentRun in src/analysis/ensemble.c; docs/alignment.md). */
#define SPD_ENSEMBLE_MAX_GRID 32
typedef struct {
  PetscInt       nsnr; /* grid of signal-to-noise ratios (<= 0: noiseless targets) */
  PetscReal      snr[SPD_ENSEMBLE_MAX_GRID];
  PetscInt       nn; /* grid of training-set sizes */
  PetscInt       n[SPD_ENSEMBLE_MAX_GRID];
  PetscInt       members; /* M >= 2 */
  PetscInt       d, c; /* input and output dimension of the teacher */
  PetscInt       width, depth; /* the students: depth hidden layers of `width` units */
  SpdActivation  act; /* of every hidden layer */
  PetscBool      bias;
  SpdTrainConfig train; /* optimizer, steps, initialization (train.param, train.seed) */
  PetscBool      same_init; /* members start from one theta_0 (train.seed); else from hash(train.seed, m) */
  PetscInt       nprobe; /* common probe inputs the representations are taken on (>= 2) */
  PetscInt       ntest; /* noiseless test samples of the test error */
  PetscInt64     data_seed; /* teacher, training inputs, probe and test inputs */
  PetscInt64     noise_seed; /* member m's label noise comes from hash(noise_seed, m) */
  PetscReal      svcca_var; /* SVCCA variance fraction (default 0.99) */
  PetscInt       svcca_k; /* SVCCA components (> 0 overrides svcca_var) */
} SpdEnsembleConfig;
/* Defaults: snr {0.1, 1, 10}, n {64, 256}, 3 members, d 10, c 5, width 16, depth 1,
   identity activation, bias, SpdTrainConfigDefaults (full-batch GD, lr 0.1, 100 steps),
   same_init, 256 probes, 1024 test samples, seeds 0 and 1, SVCCA 0.99. Not collective. */
PETSC_EXTERN PetscErrorCode SpdEnsembleConfigDefaults(SpdEnsembleConfig *);

/* One run of a training job after the sweep is expanded. */
typedef struct {
  char           name[128]; /* "run" or "seed=1,weight_decay=0.0001", ... */
  SpdTrainConfig cfg;
  PetscReal      label_noise;
  PetscInt       n; /* samples (0: all of the source) */
  PetscReal      snr;
  PetscInt       width; /* hidden width override (0: model.widths) */
} SpdTrainRun;

typedef struct _p_SpdJob *SpdJob;
struct _p_SpdJob {
  MPI_Comm             comm;
  char                 path[PETSC_MAX_PATH_LEN];
  char                 dir[PETSC_MAX_PATH_LEN];
  char                *text; /* the job file, verbatim (provenance) */
  char                 name[128];
  PetscInt             ncheckpoints;
  SpdJobCheckpoint    *checkpoints;
  PetscInt             ninclude, nexclude;
  char               **include, **exclude;
  PetscInt             nsplits;
  SpdJobSplit         *splits;
  SpdWeightsSettings   weights;
  SpdCompareSettings   compare;
  PetscBool            weights_enabled; /* weight spectra tasks (default; off when only curvature: is given) */
  SpdMLPSpec           model;
  SpdJobData           data;
  SpdCurvatureSettings curvature;
  SpdJacobianSettings  jacobian;
  SpdTrainSettings     train;
  SpdTrainJacSettings  trainjac;
  PetscBool            ensemble_enabled;
  SpdEnsembleConfig    ensemble;
  char                *petsc_options; /* options from the job file, inserted below the command line */
  PetscInt64           memory_per_rank; /* bytes; default 2 GiB                                   */
  PetscInt             ranks_per_task; /* 0: chosen per task by the planner                       */
  char                 output[PETSC_MAX_PATH_LEN]; /* results folder ("" : <job name>.results)     */
};

/* The runs of a training job: the cartesian product of the swept values (in the order
   of SpdSweepKeys, the last key varying fastest), or the one run. *runs is allocated. */
PETSC_EXTERN PetscErrorCode SpdJobTrainRuns(SpdJob, PetscInt *nruns, SpdTrainRun **runs);
/* Collective: rank 0 reads the file, every rank parses the same text. */
PETSC_EXTERN PetscErrorCode SpdJobLoad(MPI_Comm, const char path[], SpdJob *);
/* Same from text (tests); `origin` names the text in messages, `dir` resolves paths. */
PETSC_EXTERN PetscErrorCode SpdJobLoadString(MPI_Comm, const char text[], const char origin[], const char dir[], SpdJob *);
/* Put the job's solver options into PETSc's options database, below the command line:
   an option already given on the command line keeps its command-line value. */
PETSC_EXTERN PetscErrorCode SpdJobInsertOptions(SpdJob);
PETSC_EXTERN PetscErrorCode SpdJobDestroy(SpdJob *);
/* Print every job key with its meaning (used by `specdyn run --help`). */
PETSC_EXTERN PetscErrorCode SpdJobPrintKeys(FILE *);

/* ---- plan ---------------------------------------------------------------- */
typedef struct {
  char          id[40]; /* stable: hash of checkpoint path, view and settings      */
  PetscInt      checkpoint; /* index into job->checkpoints and plan->readers (-1: ensemble task) */
  SpdMatrixView view;
  PetscInt      checkpoint_b; /* difference task W_a - W_b: checkpoint of b, else -1      */
  PetscInt      curv_op; /* curvature task: SpdCurvature, else -1                     */
  PetscBool     jacobian; /* input-output Jacobian task (job key jacobian:)             */
  PetscInt      ensemble; /* jacobian task of a random ensemble: index into job->jacobian.ensembles
                             (checkpoint is then -1), else -1                              */
  PetscInt      curv_block; /* curvature task: layer index, -1 for the whole model         */
  PetscInt      samples; /* curvature task: samples of the data                        */
  PetscInt64    mem_split, mem_replicated; /* curvature task: bytes split over the ranks / on each */
  SpdMatrixView view_b; /* the same analysed name in checkpoint_b                   */
  PetscInt64    m, n;
  PetscBool     full; /* resolved settings */
  PetscBool     f32; /* weights task read as float32 (SpdTensorUseFloat32, not a difference) */
  PetscInt      top, bottom;
  PetscReal     cost; /* flop estimate                                           */
  PetscInt      nranks; /* ranks of the group that runs it                          */
  PetscInt64    mem_per_rank; /* estimated bytes per rank at nranks                       */
  PetscBool     refused; /* cannot run: memory plan does not fit; see reason         */
  char          reason[256];
} SpdTask;

typedef struct {
  char name[SPD_MAX_NAME];
  char file[PETSC_MAX_PATH_LEN];
  char why[256];
} SpdSkipped;

/* A comparison between two stored tasks' top-k singular vectors (src/compare). */
typedef enum { SPD_CMP_FINAL, /* checkpoint vs the last checkpoint of its run          */
  SPD_CMP_PREVIOUS, /*           checkpoint vs the previous one of its run             */
  SPD_CMP_RUNS, /*               run vs run at the same step                          */
  SPD_CMP_LAYERS /*              layer a vs layer b in one checkpoint                  */
} SpdCompareRelation;
PETSC_EXTERN const char *const SpdCompareRelationNames[];

typedef struct {
  char               id[40]; /* hash of relation, spaces, both task ids and k */
  SpdCompareRelation relation;
  SpdSpaces          spaces; /* layers only */
  PetscInt           a, b; /* indices into plan->tasks                      */
  PetscInt           k; /* requested vectors (fewer if fewer converged)   */
  PetscBool          eigen; /* curvature tasks: top-k eigenvectors (top/X)  */
} SpdComparison;

typedef struct _p_SpdPlan *SpdPlan;
struct _p_SpdPlan {
  SpdJob         job;
  MPI_Comm       comm;
  PetscMPIInt    size;
  SpdReader     *readers; /* one per checkpoint; NULL when it failed to open */
  char         **errors; /* per checkpoint: the open error, or NULL         */
  PetscInt       ntasks;
  SpdTask       *tasks; /* sorted by decreasing cost                         */
  PetscInt       nskipped;
  SpdSkipped    *skipped; /* 1-D tensors, unsupported dtypes, ...              */
  PetscInt       slice, nslices; /* this run's slice of the tasks (0 <= slice < nslices) */
  PetscBool     *inslice; /* per task: part of this run's slice (NULL: all)       */
  PetscInt       ncomparisons;
  SpdComparison *comparisons; /* job key compare:, computed after the tasks */
};

PETSC_EXTERN PetscErrorCode SpdPlanCreate(SpdJob, MPI_Comm, SpdPlan *);
PETSC_EXTERN PetscErrorCode SpdPlanView(SpdPlan, PetscViewer);
/* Restrict the run to slice i of n disjoint slices (0 <= i < n), balanced by cost
   (largest first to the least loaded slice), so that n jobs (a SLURM array) share one
   study. The same plan gives the same slices on every run. */
PETSC_EXTERN PetscErrorCode SpdPlanSetSlice(SpdPlan, PetscInt i, PetscInt n);
PETSC_EXTERN PetscErrorCode SpdPlanDestroy(SpdPlan *);
/* Label of a task's checkpoint: "<label a>" or, for a difference task, "<label a> - <label b>". */
PETSC_EXTERN PetscErrorCode SpdTaskLabel(SpdPlan, const SpdTask *, char buf[], size_t len);
/* Memory estimate per rank of one task on p ranks (bytes). */
PETSC_EXTERN PetscInt64 SpdTaskMemoryPerRank(PetscInt64 m, PetscInt64 n, PetscBool full, PetscInt top, PetscInt bottom, PetscInt p);
