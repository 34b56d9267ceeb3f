/* SIGTERM / SIGINT as a request to stop: SLURM sends SIGTERM before the time limit
   (--signal); the task and comparison loops check the flag before each item, agree on
   it across ranks, and stop cleanly with everything finished stored. */
#include <specdyn/sys.h>
#include <signal.h>

static volatile sig_atomic_t SpdStopFlag = 0;

static void SpdStopHandler(int sig)
{
  (void)sig;
  SpdStopFlag = 1;
}

/* Install the handlers (idempotent). */
PetscErrorCode SpdStopInstall(void)
{
  struct sigaction sa;

  PetscFunctionBegin;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SpdStopHandler;
  sigemptyset(&sa.sa_mask);
  (void)sigaction(SIGTERM, &sa, NULL);
  (void)sigaction(SIGINT, &sa, NULL);
  PetscFunctionReturn(0);
}

PetscBool SpdStopRequested(void) { return SpdStopFlag ? PETSC_TRUE : PETSC_FALSE; }
