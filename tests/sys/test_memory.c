/* SpdMemAdviseHuge: a 64 MiB block advised before its first touch is backed by
   transparent huge pages (AnonHugePages of its mappings in /proc/self/smaps), and with
   -spd_huge_pages false it is not where the kernel's mode is "madvise". Skipped (exit
   77) where the kernel has no transparent huge pages or its mode is "never". */
#define _DEFAULT_SOURCE
#include "testutil.h"
#include <stdio.h>
#include <string.h>

#define SPD_TEST_BYTES ((size_t)64 << 20)

/* The kernel's THP mode: the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled. */
static void ThpMode(char mode[], size_t len)
{
  FILE *f         = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  char  line[128] = "", *l, *r;

  mode[0] = 0;
  if (!f) return;
  if (fgets(line, sizeof line, f) && (l = strchr(line, '[')) && (r = strchr(l, ']'))) {
    *r = 0;
    snprintf(mode, len, "%s", l + 1);
  }
  fclose(f);
}

/* kB of AnonHugePages in the mappings that overlap [p, p + bytes). */
static long HugeKB(const void *p, size_t bytes)
{
  FILE         *f = fopen("/proc/self/smaps", "r");
  char          line[512];
  unsigned long lo = 0, hi = 0, b = (unsigned long)p, e = b + bytes;
  long          kb = 0, v;
  int           in = 0;

  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
      in = lo < e && hi > b;
    else if (in && sscanf(line, "AnonHugePages: %ld kB", &v) == 1)
      kb += v;
  }
  fclose(f);
  return kb;
}

static PetscErrorCode Touched(char **p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(SPD_TEST_BYTES, p));
  SpdMemAdviseHuge(*p, SPD_TEST_BYTES);
  memset(*p, 1, SPD_TEST_BYTES); /* first touch after the advice */
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char  mode[32], *on, *off;
  long  kon, koff;
  FILE *probe;

  PetscFunctionBeginUser;
  PetscCall(SpdInitialize(&argc, &argv, NULL, NULL));
  ThpMode(mode, sizeof mode);
  probe = fopen("/proc/self/smaps", "r");
  if (!probe || !mode[0] || !strcmp(mode, "never")) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "skipped: no transparent huge pages here (mode '%s')\n", mode));
    if (probe) fclose(probe);
    PetscCall(SpdFinalize());
    return 77;
  }
  fclose(probe);
  PetscCall(Touched(&on));
  kon = HugeKB(on, SPD_TEST_BYTES);
  PetscCall(PetscOptionsSetValue(NULL, "-spd_huge_pages", "false"));
  PetscCall(Touched(&off));
  koff = HugeKB(off, SPD_TEST_BYTES);
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "THP mode %s: advised block %ld kB on huge pages, with -spd_huge_pages false %ld kB\n", mode, kon, koff));
  /* the block's 2 MiB-aligned interior is at least 62 MiB; allow the kernel to refuse some */
  SPD_EXPECT(kon >= 16 * 1024, "advised 64 MiB block has only %ld kB on huge pages (THP mode %s)", kon, mode);
  if (!strcmp(mode, "madvise")) SPD_EXPECT(koff == 0, "with -spd_huge_pages false the block has %ld kB on huge pages", koff);
  PetscCall(PetscFree(on));
  PetscCall(PetscFree(off));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
