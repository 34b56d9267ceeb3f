/* Shared scaffolding of the libFuzzer targets; see fuzzutil.h. */
#include "fuzzutil.h"
#include <slepcsys.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

static char      scratch[256];
static PetscBool verbose = PETSC_FALSE;

static void RemoveScratch(void)
{
  DIR           *d = opendir(scratch);
  struct dirent *e;
  char           p[512];

  if (!d) return;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof(p), "%s/%s", scratch, e->d_name);
    (void)unlink(p);
  }
  closedir(d);
  (void)rmdir(scratch);
}

void SpdFuzzInitialize(void)
{
  /* libFuzzer's own flags are not PETSc options: start PETSc with a fixed command line */
  static char  prog[] = "specdyn-fuzz", opt1[] = "-no_signal_handler", opt2[] = "-options_left", opt3[] = "0";
  static char *args[] = { prog, opt1, opt2, opt3, NULL };
  int          argc   = 4;
  char       **argv   = args;
  const char  *v      = getenv("SPD_FUZZ_VERBOSE");

  verbose = (v && v[0] && strcmp(v, "0")) ? PETSC_TRUE : PETSC_FALSE;
  if (SpdInitialize(&argc, &argv, NULL, NULL)) {
    fprintf(stderr, "fuzz harness: SpdInitialize failed\n");
    abort();
  }
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  snprintf(scratch, sizeof(scratch), "/dev/shm/specdyn-fuzz-%ld", (long)getpid());
  if (mkdir(scratch, 0700) && errno != EEXIST) {
    fprintf(stderr, "fuzz harness: cannot create %s: %s\n", scratch, strerror(errno));
    abort();
  }
  atexit(RemoveScratch);
}

const char *SpdFuzzDir(void) { return scratch; }

void SpdFuzzWriteFile(const char name[], const uint8_t *data, size_t size, char path[], size_t len)
{
  FILE *f;

  snprintf(path, len, "%s/%s", scratch, name);
  (void)unlink(path); /* a new inode: HDF5 must never see the previous input's file */
  f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
    fprintf(stderr, "fuzz harness: cannot write %s: %s\n", path, strerror(errno));
    abort();
  }
}

char *SpdFuzzString(const uint8_t *data, size_t size)
{
  char *s = (char *)malloc(size + 1);

  if (!s) abort();
  if (size) memcpy(s, data, size);
  s[size] = 0;
  return s;
}

void SpdFuzzReport(PetscErrorCode ierr, const char msg[])
{
  if (!ierr) return;
  if (verbose) fprintf(stderr, "captured error %d: %s\n", (int)ierr, msg);
  if (!msg[0]) {
    fprintf(stderr, "fuzz finding: error %d was raised without any message\n", (int)ierr);
    abort();
  }
}

void SpdFuzzCheckH5(const char where[])
{
  ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);

  if (n > 0) {
    hid_t   ids[16];
    ssize_t k = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_ALL, 16, ids);

    fprintf(stderr, "fuzz finding: %s left %zd HDF5 identifiers open:\n", where, n);
    for (ssize_t i = 0; i < k; i++) {
      char name[256] = "?";

      (void)H5Iget_name(ids[i], name, sizeof(name));
      fprintf(stderr, "  id %lld type %d name %s\n", (long long)ids[i], (int)H5Iget_type(ids[i]), name);
    }
    abort();
  }
}
