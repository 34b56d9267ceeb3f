/* Small string utilities shared by the layers: glob matching for tensor selection,
   edit distance for "did you mean" messages, human-readable byte counts. */
#include <specdyn/sys.h>
#include <errno.h>
#include <sys/stat.h>
#include <fnmatch.h>
#include <ctype.h>
#include <stdint.h>

/* Shell-style glob (*, ?, [..]) over the whole name; '*' also matches '.'. */
PetscErrorCode SpdGlobMatch(const char pattern[], const char str[], PetscBool *match)
{
  PetscFunctionBegin;
  *match = fnmatch(pattern, str, 0) == 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Levenshtein distance, for suggesting the closest valid key. */
PetscErrorCode SpdEditDistance(const char a[], const char b[], PetscInt *dist)
{
  size_t    la = strlen(a), lb = strlen(b);
  PetscInt *prev, *cur;

  PetscFunctionBegin;
  PetscCall(PetscMalloc2(lb + 1, &prev, lb + 1, &cur));
  for (size_t j = 0; j <= lb; j++) prev[j] = (PetscInt)j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = (PetscInt)i;
    for (size_t j = 1; j <= lb; j++) {
      PetscInt sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      PetscInt del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = PetscMin(sub, PetscMin(del, ins));
    }
    PetscCall(PetscArraycpy(prev, cur, lb + 1));
  }
  *dist = prev[lb];
  PetscCall(PetscFree2(prev, cur));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdFormatBytes(PetscInt64 bytes, char buf[], size_t len)
{
  const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
  double      v      = (double)bytes;
  int         u      = 0;

  PetscFunctionBegin;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    u++;
  }
  if (u == 0)
    PetscCall(PetscSNPrintf(buf, len, "%" PetscInt64_FMT " B", bytes));
  else
    PetscCall(PetscSNPrintf(buf, len, "%.1f %s", v, unit[u]));
  PetscFunctionReturn(0);
}

/* FNV-1a, 64 bit: a small stable hash for ids (not cryptographic; ids only need to be
   stable across runs and different when the inputs differ). */
PetscErrorCode SpdHashId(const char text[], char id[], size_t len)
{
  uint64_t h = 14695981039346656037ULL;

  PetscFunctionBegin;
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    h ^= (uint64_t)*c;
    h *= 1099511628211ULL;
  }
  PetscCall(PetscSNPrintf(id, len, "%016llx", (unsigned long long)h));
  PetscFunctionReturn(0);
}

int SpdNaturalCompare(const char a[], const char b[])
{
  while (*a && *b) {
    if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
      const char *ea = a, *eb = b;
      while (*a == '0' && isdigit((unsigned char)a[1])) a++;
      while (*b == '0' && isdigit((unsigned char)b[1])) b++;
      for (ea = a; isdigit((unsigned char)*ea); ea++) {
      }
      for (eb = b; isdigit((unsigned char)*eb); eb++) {
      }
      if (ea - a != eb - b) return (ea - a) < (eb - b) ? -1 : 1;
      for (; a < ea; a++, b++)
        if (*a != *b) return *a < *b ? -1 : 1;
      continue;
    }
    if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
    a++;
    b++;
  }
  return (*a != 0) - (*b != 0);
}

/*@C
  SpdMkdirP - create a folder and its parents (mkdir -p)

  Not Collective

  Input Parameter:
. path - the folder

  Output Parameter:
. err - 0 when the folder exists afterwards, else the errno of the failure (the caller
        raises it, collectively when other ranks wait)
@*/
PetscErrorCode SpdMkdirP(const char path[], int *err)
{
  char        buf[PETSC_MAX_PATH_LEN];
  struct stat st;

  PetscFunctionBegin;
  *err = 0;
  PetscCall(PetscStrncpy(buf, path, sizeof(buf)));
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    (void)mkdir(buf, 0755); /* a parent's failure shows in the last mkdir */
    *p = '/';
  }
  if (mkdir(buf, 0755) && errno != EEXIST)
    *err = errno;
  else if (stat(buf, &st) || !S_ISDIR(st.st_mode))
    *err = ENOTDIR;
  PetscFunctionReturn(0);
}
