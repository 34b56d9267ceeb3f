/* Writing the trainer's checkpoints as safetensors (DESIGN.md section 5): an 8-byte
   little-endian header length N, N bytes of JSON (padded with spaces to a multiple of 8,
   as the reference implementation does, so the data start aligned), then the tensors
   back to back, row-major, little-endian. Names follow PyTorch's nn.ModuleList
   "layers.<l>.weight" (out x in) and "layers.<l>.bias", which specdyn's own reader and
   SpdMLPCreateFromCheckpoint() resolve in natural order, as do PyTorch and numpy. The
   model's theta stacks exactly these tensors in this order, so the data section is theta
   itself (F64) or theta rounded to float32 (F32). */
#include "trainimpl.h"
#include <specdyn/private/readerimpl.h> /* SpdCollectiveError_Private */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Rank 0's work: the header, the data, tmp + rename. */
static PetscErrorCode SpdSafetensorsWrite_Private(SpdMLP mlp, const char path[], PetscBool float32, PetscInt nmeta, const char *const keys[], const char *const values[])
{
  PetscInt         L, P;
  const PetscInt  *width;
  const PetscBool *bias;
  PetscReal       *theta;
  cJSON           *root = NULL, *meta;
  char            *json = NULL, tmp[PETSC_MAX_PATH_LEN];
  size_t           jlen, hlen, esz = float32 ? 4 : 8, off = 0;
  unsigned char    len8[8];
  FILE            *fp  = NULL;
  PetscBool        ok  = PETSC_TRUE;
  const uint16_t   one = 1;

  PetscFunctionBegin;
  PetscCheck(*(const unsigned char *)&one == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "Writing %s: safetensors data are little-endian and this machine is big-endian", path);
  PetscCall(SpdMLPGetArchitecture(mlp, &L, &width, NULL, &bias, NULL, NULL, NULL));
  PetscCall(SpdMLPGetNumParameters(mlp, &P));
  PetscCall(SpdMLPGetParameters(mlp, &theta));
  root = cJSON_CreateObject();
  PetscCheck(root, PETSC_COMM_SELF, PETSC_ERR_MEM, "Writing %s: out of memory for the header", path);
  for (PetscInt l = 0; l < L; l++) {
    for (int k = 0; k < (bias[l] ? 2 : 1); k++) {
      char   name[64];
      cJSON *t = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
      size_t cnt = k == 0 ? (size_t)width[l + 1] * (size_t)width[l] : (size_t)width[l + 1];

      PetscCall(PetscSNPrintf(name, sizeof(name), "layers.%" PetscInt_FMT ".%s", l, k == 0 ? "weight" : "bias"));
      if (!t || !shape || !offs) ok = PETSC_FALSE;
      if (ok) {
        cJSON_AddItemToObject(root, name, t);
        cJSON_AddStringToObject(t, "dtype", float32 ? "F32" : "F64");
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)width[l + 1]));
        if (k == 0) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)width[l]));
        cJSON_AddItemToObject(t, "shape", shape);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + cnt * esz)));
        cJSON_AddItemToObject(t, "data_offsets", offs);
      }
      off += cnt * esz;
    }
  }
  PetscAssert(off == (size_t)P * esz, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Safetensors layout (%zu bytes) does not match theta (%" PetscInt_FMT " parameters)", off, P);
  if (nmeta > 0 && ok) {
    meta = cJSON_CreateObject();
    if (!meta)
      ok = PETSC_FALSE;
    else {
      cJSON_AddItemToObject(root, "__metadata__", meta);
      for (PetscInt i = 0; i < nmeta; i++) cJSON_AddStringToObject(meta, keys[i], values[i]);
    }
  }
  if (ok) json = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  PetscCheck(ok && json, PETSC_COMM_SELF, PETSC_ERR_MEM, "Writing %s: out of memory for the header", path);
  jlen = strlen(json);
  hlen = (jlen + 7) / 8 * 8;
  for (int b = 0; b < 8; b++) len8[b] = (unsigned char)((uint64_t)hlen >> (8 * b));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  fp = fopen(tmp, "wb");
  if (!fp) {
    int e = errno;
    cJSON_free(json);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot create the checkpoint %s: %s; check that the directory exists and is writable", tmp, strerror(e));
  }
  if (fwrite(len8, 1, 8, fp) != 8 || fwrite(json, 1, jlen, fp) != jlen) ok = PETSC_FALSE;
  for (size_t i = jlen; ok && i < hlen; i++)
    if (fputc(' ', fp) == EOF) ok = PETSC_FALSE;
  cJSON_free(json);
  if (ok && !float32 && fwrite(theta, sizeof(double), (size_t)P, fp) != (size_t)P) ok = PETSC_FALSE;
  if (ok && float32) {
    float  buf[1024];
    size_t done = 0;

    while (ok && done < (size_t)P) {
      size_t cnt = PetscMin((size_t)1024, (size_t)P - done);
      for (size_t i = 0; i < cnt; i++) buf[i] = (float)theta[done + i];
      if (fwrite(buf, sizeof(float), cnt, fp) != cnt) ok = PETSC_FALSE;
      done += cnt;
    }
  }
  if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) ok = PETSC_FALSE;
  if (fclose(fp) != 0) ok = PETSC_FALSE;
  if (!ok) {
    int e = errno;
    (void)remove(tmp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Writing the checkpoint %s failed: %s (disk full?)", tmp, strerror(e));
  }
  PetscCheck(rename(tmp, path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot rename %s to %s: %s", tmp, path, strerror(errno));
  PetscFunctionReturn(0);
}

/*@C
  SpdMLPSaveSafetensors - write the model's parameters as a safetensors checkpoint

  Collective

  Input Parameters:
+ mlp     - the model (replicated; rank 0's copy is written)
. path    - the file, written as path.tmp and renamed when complete
. float32 - store F32 (rounded) instead of F64 (exact)
. nmeta   - number of __metadata__ entries
. keys    - their keys
- values  - their values (strings)

  Notes:
  Tensors "layers.<l>.weight" (out x in, PyTorch's nn.Linear layout) and "layers.<l>.bias".

.seealso: `SpdTrainerRun()`, `SpdMLPCreateFromCheckpoint()`
@*/
PetscErrorCode SpdMLPSaveSafetensors(SpdMLP mlp, const char path[], PetscBool float32, PetscInt nmeta, const char *const keys[], const char *const values[])
{
  MPI_Comm       comm;
  PetscMPIInt    rank;
  PetscErrorCode lerr = 0;
  char           msg[4096];

  PetscFunctionBegin;
  PetscCall(SpdMLPGetComm(mlp, &comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  msg[0] = 0;
  if (rank == 0) {
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    lerr = SpdSafetensorsWrite_Private(mlp, path, float32, nmeta, keys, values);
    PetscCall(SpdErrorCapturePop());
  }
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));
  PetscFunctionReturn(0);
}
