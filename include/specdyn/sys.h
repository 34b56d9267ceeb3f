/* specdyn/sys.h - initialization, error-checking macros, logging, common types. */
#pragma once
#include <stdint.h>
#include <petscsys.h>
#include <hdf5.h>

#define SPD_MAX_NAME 512 /* longest tensor / dataset / analysed-matrix name kept */
#define SPD_MAX_DIMS 8 /* highest tensor rank a checkpoint may hold          */

/* Check an HDF5 call that returns herr_t/hid_t/htri_t: negative is failure. */
#define SpdCallH5(func, args)                                                                                                                   \
  do {                                                                                                                                          \
    PetscInt64 _spd_h5status;                                                                                                                   \
    PetscStackPushExternal(#func);                                                                                                              \
    _spd_h5status = (PetscInt64)(func args);                                                                                                    \
    PetscStackPop;                                                                                                                              \
    PetscCheck(_spd_h5status >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 call %s() failed with status %" PetscInt64_FMT, #func, _spd_h5status); \
  } while (0)

/* Same, keeping the returned identifier. */
#define SpdCallH5Return(ret, func, args)                                                                                                                \
  do {                                                                                                                                                  \
    PetscStackPushExternal(#func);                                                                                                                      \
    ret = func args;                                                                                                                                    \
    PetscStackPop;                                                                                                                                      \
    PetscCheck((PetscInt64)(ret) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 call %s() failed with status %" PetscInt64_FMT, #func, (PetscInt64)(ret)); \
  } while (0)

/* Check a ScaLAPACK/LAPACK routine's INFO output. */
#define SpdCheckInfo(name, info) PetscCheck((info) == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "%s returned info = %d", name, (int)(info))

/* Log events of specdyn's phases; registered by SpdInitialize(). */
PETSC_EXTERN PetscClassId SPD_CLASSID;
/* SpdSVDBand / SpdSVDBandBidiag: the two stages of SpdSVDFull's two-stage reduction
   (dense to band; band to bidiagonal and its singular values), nested in SpdSVDFull. */
PETSC_EXTERN PetscLogEvent SPD_Read, SPD_SVDFull, SPD_SVDBand, SPD_SVDBandBidiag, SPD_SVDPartial, SPD_Metrics, SPD_Write, SPD_Plan;
/* SpdMultBlock / SpdMultTBlock: one block product (SpdMatMultBlock / SpdMatMultTransposeBlock,
   one pass over A for k vectors) */
PETSC_EXTERN PetscLogEvent SPD_MultBlock, SPD_MultTBlock;
PETSC_EXTERN PetscLogStage SPD_StageRead, SPD_StageSolve, SPD_StageStore;

PETSC_EXTERN PetscErrorCode SpdInitialize(int *, char ***, const char[], const char[]);
PETSC_EXTERN PetscErrorCode SpdFinalize(void);
PETSC_EXTERN PetscErrorCode SpdRegisterAll(void);
PETSC_EXTERN const char    *SpdVersion(void);
PETSC_EXTERN const char    *SpdGitRevision(void);
PETSC_EXTERN PetscErrorCode SpdLibraryVersions(char[], size_t);

/* Small utilities shared by layers. */
PETSC_EXTERN PetscErrorCode SpdGlobMatch(const char pattern[], const char str[], PetscBool *);
PETSC_EXTERN PetscErrorCode SpdFormatBytes(PetscInt64, char[], size_t);
/* mkdir -p; *err = errno of a failure, 0 when the folder exists afterwards. */
PETSC_EXTERN PetscErrorCode SpdMkdirP(const char path[], int *err);
PETSC_EXTERN PetscErrorCode SpdEditDistance(const char[], const char[], PetscInt *);
/* A stable 16-hex-digit id of a text (FNV-1a, 64 bit; ids of tasks and comparisons). */
PETSC_EXTERN PetscErrorCode SpdHashId(const char text[], char id[], size_t len);
/* Ask for transparent huge pages on a large block before its first touch (src/sys/memory.c):
   the blocks streamed by every product of a solve. Advice only; never fails.
   -spd_huge_pages false: leave the pages to the kernel's default. */
PETSC_EXTERN void SpdMemAdviseHuge(void *p, size_t bytes);
/* Order of names with digit runs compared as numbers ("h.2" < "h.10"); strcmp-like. */
PETSC_EXTERN int SpdNaturalCompare(const char a[], const char b[]);

/* Counter-based random streams (SplitMix64; src/sys/random.c): stream (seed, tag, i)
   starts at mix(mix(seed XOR tag) + i), so item i of a generated object is drawn without
   drawing the items before it, identically for any number of ranks. Uniforms are the top
   53 bits times 2^-53 in [0, 1); normals come in Box-Muller pairs (z0 = r cos, z1 = r sin,
   r = sqrt(-2 log u1), u1 in (0, 1]). tag separates the uses of one seed. */
typedef struct {
  uint64_t  s;
  PetscReal spare; /* the second normal of a Box-Muller pair */
  PetscBool has_spare;
} SpdRandom;
PETSC_EXTERN uint64_t  SpdSplitMix64(uint64_t *state); /* one SplitMix64 step: the generator under the streams */
PETSC_EXTERN void      SpdRandomSeed(SpdRandom *, PetscInt64 seed, uint64_t tag, PetscInt64 i);
PETSC_EXTERN PetscReal SpdRandomUniform(SpdRandom *);
PETSC_EXTERN PetscReal SpdRandomNormal(SpdRandom *);

/* SIGTERM/SIGINT handlers that only set a flag (the study stops before its next task). */
PETSC_EXTERN PetscErrorCode SpdStopInstall(void);
PETSC_EXTERN PetscBool      SpdStopRequested(void);

/* Run code whose errors are recorded rather than fatal:
     SpdErrorCapturePush(msg, sizeof msg); ierr = F(...); SpdErrorCapturePop();
   msg then holds the first (innermost) error message, "" if none. */
PETSC_EXTERN PetscErrorCode SpdErrorCapturePush(char[], size_t);
PETSC_EXTERN PetscErrorCode SpdErrorCapturePop(void);
