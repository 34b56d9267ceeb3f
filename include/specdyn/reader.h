/* specdyn/reader.h - SpdReader: checkpoint readers (the "source" layer).

   A reader opens one checkpoint (a safetensors file, a sharded safetensors index, an
   HDF5 state dict or a Keras .h5 file), lists its tensors without reading tensor data,
   and reads 2-D blocks of a tensor collectively, so that each rank reads only the
   block it owns.

   Every tensor is seen as a 2-D "stored matrix": shape[0] rows by prod(shape[1:])
   columns, row-major as stored (a 4-D conv kernel (out,in,kh,kw) is (out, in*kh*kw)).
   A 1-D tensor is 1 x shape[0]; a 0-D tensor is 1 x 1. Keras kernels, stored [in, out],
   are flagged with `in_out` so that the analysis layer transposes them. */
#pragma once
#include <specdyn/sys.h>

typedef enum {
  SPD_DTYPE_UNKNOWN = 0,
  SPD_DTYPE_F64,
  SPD_DTYPE_F32,
  SPD_DTYPE_F16,
  SPD_DTYPE_BF16,
  SPD_DTYPE_I64,
  SPD_DTYPE_I32,
  SPD_DTYPE_I16,
  SPD_DTYPE_I8,
  SPD_DTYPE_U8,
  SPD_DTYPE_BOOL,
  SPD_DTYPE_U16,
  SPD_DTYPE_U32,
  SPD_DTYPE_U64
} SpdDType;
PETSC_EXTERN const char *const SpdDTypes[]; /* names: "UNKNOWN","F64","F32",..., NULL-terminated */
PETSC_EXTERN size_t            SpdDTypeSize(SpdDType);
PETSC_EXTERN PetscBool         SpdDTypeIsFloat(SpdDType);

typedef struct {
  char       name[SPD_MAX_NAME]; /* tensor name as the checkpoint names it            */
  char       file[PETSC_MAX_PATH_LEN]; /* file holding the data (shard for sharded models)  */
  char       dataset[SPD_MAX_NAME]; /* HDF5 dataset path; empty for safetensors          */
  SpdDType   dtype;
  int        ndim;
  PetscInt64 shape[SPD_MAX_DIMS];
  PetscInt64 offset; /* absolute byte offset of the data (safetensors)    */
  PetscInt64 nbytes; /* bytes of data = prod(shape) * SpdDTypeSize(dtype) */
  PetscBool  in_out; /* stored [in, out] (Keras kernel): analyse transposed */
} SpdTensorInfo;

/* Rows and columns of the stored 2-D view of a tensor. */
PETSC_EXTERN void SpdTensorMatrixShape(const SpdTensorInfo *, PetscInt64 *rows, PetscInt64 *cols);

typedef struct _p_SpdReader *SpdReader;
typedef const char          *SpdReaderType;
#define SPDREADERSAFETENSORS "safetensors"
#define SPDREADERHDF5        "hdf5"

PETSC_EXTERN PetscFunctionList SpdReaderList;
/* Registers the class, log event and the built-in readers; called by SpdReaderCreate(). */
PETSC_EXTERN PetscErrorCode SpdReaderInitializePackage(void);
PETSC_EXTERN PetscErrorCode SpdReaderRegister(const char[], PetscErrorCode (*)(SpdReader));
PETSC_EXTERN PetscErrorCode SpdReaderCreate(MPI_Comm, SpdReader *);
PETSC_EXTERN PetscErrorCode SpdReaderSetType(SpdReader, SpdReaderType);
PETSC_EXTERN PetscErrorCode SpdReaderGetType(SpdReader, SpdReaderType *);
PETSC_EXTERN PetscErrorCode SpdReaderSetFromOptions(SpdReader);
/* Open PATH and read its metadata (collective; rank 0 reads, the others receive).
   The type is inferred from the file (magic bytes / extension) unless set before. */
PETSC_EXTERN PetscErrorCode SpdReaderOpen(SpdReader, const char path[]);
PETSC_EXTERN PetscErrorCode SpdReaderGetPath(SpdReader, const char **);
PETSC_EXTERN PetscErrorCode SpdReaderGetNumTensors(SpdReader, PetscInt *);
PETSC_EXTERN PetscErrorCode SpdReaderGetTensor(SpdReader, PetscInt, const SpdTensorInfo **);
PETSC_EXTERN PetscErrorCode SpdReaderFindTensor(SpdReader, const char name[], PetscInt *); /* -1 if absent */
/* Architecture metadata when the checkpoint carries it (Keras model_config JSON), else NULL. */
PETSC_EXTERN PetscErrorCode SpdReaderGetModelConfig(SpdReader, const char **);
/* Read rows [row0,row0+nrows) x cols [col0,col0+ncols) of the stored 2-D view of tensor
   `t`, converted to double, into out[] row-major (nrows x ncols). Collective on `comm`
   (a sub-communicator of the reader's, e.g. a task group); ranks may ask for 0 rows.
   Non-finite values are an error naming the file and tensor. */
PETSC_EXTERN PetscErrorCode SpdReaderReadBlock(SpdReader, PetscInt t, MPI_Comm comm, PetscInt64 row0, PetscInt64 nrows, PetscInt64 col0, PetscInt64 ncols, double out[]);
/* The tensor listing of `specdyn inspect` (names, dtypes, shapes, bytes, file). */
PETSC_EXTERN PetscErrorCode SpdReaderView(SpdReader, PetscViewer);
PETSC_EXTERN PetscErrorCode SpdReaderDestroy(SpdReader *);

/* Exact conversions to double (BF16/F16 are exactly representable). */
PETSC_EXTERN double         SpdBF16ToDouble(uint16_t);
PETSC_EXTERN double         SpdF16ToDouble(uint16_t);
PETSC_EXTERN PetscErrorCode SpdConvertToDouble(SpdDType, const void *src, size_t count, double dst[]);
