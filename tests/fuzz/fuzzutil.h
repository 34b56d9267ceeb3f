/* Shared scaffolding of the libFuzzer targets (docs/reliability.md, "Fuzzing").

   Each target starts PETSc/SLEPc (and so MPI, a singleton process) once in
   LLVMFuzzerInitialize, writes every input to a file under a private folder of /dev/shm
   when the API under test takes a path, and runs the real entry point with
   SpdErrorCapturePush/Pop: a clean error (any message) is a pass; only crashes,
   sanitizer reports, leaks (LeakSanitizer), hangs (-timeout) and HDF5 identifiers left
   open count as findings. SPD_FUZZ_VERBOSE=1 prints every captured error message. */
#pragma once
#include <specdyn/sys.h>
#include <stddef.h>
#include <stdint.h>

/* Start SLEPc/PETSc on a single process with PETSc's signal handlers off (so the
   sanitizers see crashes), HDF5's error printing off, and create the scratch folder. */
void SpdFuzzInitialize(void);
/* The per-process scratch folder: /dev/shm/specdyn-fuzz-<pid> (removed at exit). */
const char *SpdFuzzDir(void);
/* Write data[0..size) to <scratch>/<name>; path receives the full name. */
void SpdFuzzWriteFile(const char name[], const uint8_t *data, size_t size, char path[], size_t len);
/* A NUL-terminated copy of the input (free()). */
char *SpdFuzzString(const uint8_t *data, size_t size);
/* After a captured call: print the message when SPD_FUZZ_VERBOSE is set; abort when a
   call failed without any message (a bad-input error must say what is wrong). */
void SpdFuzzReport(PetscErrorCode ierr, const char msg[]);
/* Abort when HDF5 identifiers (files, groups, datasets, attributes, types, spaces) are
   still open: an error path that forgets H5?close leaks them, and a leaked file id keeps
   the file open for the rest of the process. */
void SpdFuzzCheckH5(const char where[]);
/* Abort (a finding) when a PETSc call of the harness itself fails. */
#define SpdFuzzMust(call)                                  \
  do {                                                     \
    if ((call) != 0) {                                     \
      fprintf(stderr, "fuzz harness: %s failed\n", #call); \
      abort();                                             \
    }                                                      \
  } while (0)

/* Run `call` (a PetscErrorCode expression) with its errors captured; sets `ierr`. */
#define SpdFuzzCapture(ierr, call)                                \
  do {                                                            \
    char _spd_msg[4096];                                          \
    SpdFuzzMust(SpdErrorCapturePush(_spd_msg, sizeof(_spd_msg))); \
    (ierr) = (call);                                              \
    SpdFuzzMust(SpdErrorCapturePop());                            \
    SpdFuzzReport((ierr), _spd_msg);                              \
  } while (0)
