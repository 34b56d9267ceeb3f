/* Private: the SpdReader object and the ops table each reader implementation fills. */
#pragma once
#include <specdyn/reader.h>
#include <petsc/private/petscimpl.h>

PETSC_EXTERN PetscClassId SPD_READER_CLASSID;

typedef struct _SpdReaderOps *SpdReaderOps;
struct _SpdReaderOps {
  /* Parse the metadata of `path` on rank 0 of the reader's communicator into
     r->tensors / r->ntensors (and r->model_config); SpdReaderOpen broadcasts it. */
  PetscErrorCode (*openmeta)(SpdReader, const char[]);
  PetscErrorCode (*readblock)(SpdReader, PetscInt, MPI_Comm, PetscInt64, PetscInt64, PetscInt64, PetscInt64, double[]);
  PetscErrorCode (*setfromoptions)(SpdReader, PetscOptionItems *);
  PetscErrorCode (*destroy)(SpdReader);
};

struct _p_SpdReader {
  PETSCHEADER(struct _SpdReaderOps);
  char           path[PETSC_MAX_PATH_LEN];
  PetscInt       ntensors;
  PetscInt       maxtensors; /* allocated length of tensors[] (rank 0 while parsing)  */
  SpdTensorInfo *tensors; /* replicated on every rank (metadata only) */
  char          *model_config; /* NULL unless the checkpoint carries one   */
  void          *data; /* implementation data                      */
};

PETSC_INTERN PetscErrorCode SpdReaderCreate_Safetensors(SpdReader);
PETSC_INTERN PetscErrorCode SpdReaderCreate_HDF5(SpdReader);
/* Helper for implementations: grow r->tensors by one and return the new slot (zeroed). */
PETSC_INTERN PetscErrorCode SpdReaderAddTensor_Private(SpdReader, SpdTensorInfo **);
/* Helper: after converting a block to double, fail with a clear message on NaN/Inf. */
PETSC_INTERN PetscErrorCode SpdReaderCheckFinite_Private(SpdReader, PetscInt, const double[], size_t);
/* Helper: the dtype named by a safetensors dtype string ("F32", ...), UNKNOWN if none. */
PETSC_INTERN SpdDType SpdDTypeFromString_Private(const char[]);
/* Helper: make a rank-local failure collective. Every rank of comm passes its own error
   code (0 if none) and message; if any rank failed, every rank returns an error with the
   code and message of the lowest failing rank, so no rank is left waiting in a collective. */
PETSC_INTERN PetscErrorCode SpdCollectiveError_Private(MPI_Comm, PetscErrorCode, const char[]);
