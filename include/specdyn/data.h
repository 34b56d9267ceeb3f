/* specdyn/data.h - data sets for model operators (the "source" layer, data side).

   An SpdData holds the samples of one data set split across the ranks of its
   communicator: rank r holds the contiguous block [start, start + nlocal) of the n
   samples (PETSc's default split of n), and reads or generates only that block. Inputs
   are float64, row-major nlocal x d. Targets are either class labels (classification:
   `labels`, integers in [0, nclasses)) or real vectors (regression: `Y`, nlocal x c).

   Sources: HDF5 arrays (any dataset paths for X and y), IDX files (MNIST/Fashion-MNIST
   format, gzipped or not), and generators seeded per sample, so that the data are the
   same for any number of ranks: a k-class Gaussian mixture in high dimension (Ben Arous
   et al.) and teacher-student regression with a chosen signal-to-noise ratio. */
#pragma once
#include <specdyn/sys.h>

typedef struct _p_SpdData *SpdData;
struct _p_SpdData {
  MPI_Comm   comm;
  char       name[256]; /* where the data came from (file or generator), for messages */
  PetscInt   n, d; /* samples, input dimension                                    */
  PetscInt   nclasses; /* classification: number of classes (labels in [0, nclasses)); 0 otherwise */
  PetscInt   c; /* regression: target dimension; 0 for classification          */
  PetscInt   start, nlocal; /* this rank's samples                                        */
  PetscReal *X; /* nlocal x d, row-major                                        */
  PetscInt  *labels; /* nlocal class labels, or NULL                                 */
  PetscReal *Y; /* nlocal x c regression targets, row-major, or NULL            */
};

/* HDF5: X is the dataset `xpath` (n x d, or n x d1 x d2 ... flattened to d), y the dataset
   `ypath`: 1-D integer -> class labels (nclasses = max + 1), 1-D float -> regression
   with c = 1, 2-D float -> regression n x c. nmax > 0 keeps the first nmax samples.
   Each rank reads only its rows (hyperslab, MPI-IO). Errors name the file and dataset:
   missing datasets, mismatched sample counts, NaN/Inf (with the sample index),
   negative labels. Collective. */
PETSC_EXTERN PetscErrorCode SpdDataLoadHDF5(MPI_Comm, const char path[], const char xpath[], const char ypath[], PetscInt nmax, SpdData *);
/* IDX (LeCun's format: magic 0x0000080x, big-endian dims; .gz read through zlib):
   images (n x r x c, ubyte) scaled to [0, 1] and labels (n, ubyte). nclasses = 10 unless
   labels exceed it (then max + 1). nmax > 0 keeps the first nmax. Collective. */
PETSC_EXTERN PetscErrorCode SpdDataLoadIDX(MPI_Comm, const char images[], const char labels[], PetscInt nmax, SpdData *);
/* k-class Gaussian mixture (k <= d): class means mu_a = snr * e_a (the a-th unit vector
   of R^d), x = mu_y + z with z ~ N(0, I_d) and y uniform over the k classes; sample i's
   label and noise come from a generator seeded by (seed, i). Collective. */
PETSC_EXTERN PetscErrorCode SpdDataGaussianMixture(MPI_Comm, PetscInt n, PetscInt d, PetscInt k, PetscReal snr, PetscInt64 seed, SpdData *);
/* Teacher-student regression: x ~ N(0, I_d), y = T x / sqrt(d) + noise with a fixed
   random teacher T (c x d, N(0,1) entries, from seed) and Gaussian noise scaled so that
   Var(signal)/Var(noise) = snr (snr <= 0: no noise). Collective. */
PETSC_EXTERN PetscErrorCode SpdDataTeacherStudent(MPI_Comm, PetscInt n, PetscInt d, PetscInt c, PetscReal snr, PetscInt64 seed, SpdData *);
/* Teacher-student data whose label noise comes from its own seed: the teacher and the
   inputs from `seed` (identical to SpdDataTeacherStudent(seed) when noise_seed == seed),
   the noise e_i from the stream (noise_seed, i). Ensembles trained on independently
   noised copies of one training set use one seed and different noise seeds. Collective. */
PETSC_EXTERN PetscErrorCode SpdDataTeacherStudentNoise(MPI_Comm, PetscInt n, PetscInt d, PetscInt c, PetscReal snr, PetscInt64 seed, PetscInt64 noise_seed, SpdData *);
/* The samples with global indices gidx[0..m) (strictly increasing, in [0, n)): each rank
   keeps those inside its own block, copied, in the order given; the subset has n = m
   samples and its own contiguous numbering (start = number of selected samples on lower
   ranks). No communication beyond one scan. Minibatches and "subsets of n samples" use
   it. Collective. */
PETSC_EXTERN PetscErrorCode SpdDataSubset(SpdData, PetscInt m, const PetscInt gidx[], SpdData *);
/* SpdDataSubset into an existing subset of the same data, reusing its arrays (capacity *cap
   local samples, grown when needed). Collective. */
PETSC_EXTERN PetscErrorCode SpdDataSubsetRefill(SpdData, PetscInt m, const PetscInt gidx[], PetscInt *cap, SpdData sub);
/* Label corruption for classification data, in place: sample i (global index) is chosen
   with probability `fraction` by the stream (seed, i) and its label replaced by a
   uniformly drawn label from [0, nclasses) different from the true one (fraction = 1:
   every label wrong; random_labels: every label replaced by a uniform draw, which may
   equal the true one). The same for any number of ranks. Errors on regression data. */
PETSC_EXTERN PetscErrorCode SpdDataCorruptLabels(SpdData, PetscReal fraction, PetscBool random_labels, PetscInt64 seed);
/* Far out-of-distribution inputs: n samples of white noise x ~ N(0, I_d) from the streams
   (seed, i), with targets shaped like `like`'s (labels 0, or zero vectors) so a model
   built for `like` evaluates them. Collective. */
PETSC_EXTERN PetscErrorCode SpdDataWhiteNoise(SpdData like, PetscInt n, PetscInt64 seed, SpdData *);
PETSC_EXTERN PetscErrorCode SpdDataDestroy(SpdData *);
