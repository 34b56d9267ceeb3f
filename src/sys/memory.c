/* Large blocks on transparent huge pages.

   The float32 and float64 blocks of a stored matrix are streamed once per product, so a
   solve is bound by how fast one core reads memory. On 4 KiB pages that rate is held down
   by the TLB misses and by the hardware prefetchers, which stop at every page boundary;
   on 2 MiB pages a core reads faster, and the first touch of the block (the load) faults
   512 times less often. Linux gives huge pages to a mapping only where it was advised to
   (transparent_hugepage "madvise", the Debian default) or to all ("always"); this asks for
   them on the 2 MiB-aligned interior of a block before its first touch. It is advice: where
   the kernel has no huge pages (or "never"), nothing changes. Measured on a 2-core VM:
   bench/results.md, session 10. */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include <specdyn/sys.h>
#if defined(__linux__)
#  include <sys/mman.h>
#endif

#define SPD_HUGE_PAGE ((uintptr_t)2 << 20)

/* Advise huge pages for [p, p + bytes) unless -spd_huge_pages false; blocks under 4 huge
   pages are left alone. */
void SpdMemAdviseHuge(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  uintptr_t lo = ((uintptr_t)p + SPD_HUGE_PAGE - 1) & ~(SPD_HUGE_PAGE - 1), hi = ((uintptr_t)p + bytes) & ~(SPD_HUGE_PAGE - 1);
  PetscBool use = PETSC_TRUE;

  if (PetscOptionsGetBool(NULL, NULL, "-spd_huge_pages", &use, NULL)) use = PETSC_TRUE; /* advice: an unreadable option changes nothing */
  if (use && p && hi > lo && hi - lo >= 4 * SPD_HUGE_PAGE) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
#  if defined(__linux__)
#    error "MADV_HUGEPAGE is not declared: compile memory.c with _DEFAULT_SOURCE"
#  endif
  (void)p;
  (void)bytes;
#endif
}
