/* Capturing an error's message instead of printing a traceback: a study records a
   failed task's message in its results and goes on with the other tasks. */
#include <specdyn/sys.h>

typedef struct {
  char  *buf;
  size_t len;
} SpdErrorCapture;

static PetscErrorCode SpdCaptureHandler(MPI_Comm comm, int line, const char *fun, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  SpdErrorCapture *c = (SpdErrorCapture *)ctx;

  /* keep the first (innermost) message: it names the file, tensor or key */
  if (p == PETSC_ERROR_INITIAL && c->buf[0] == 0) {
    if (mess && mess[0])
      PetscSNPrintf(c->buf, c->len, "%s", mess);
    else
      PetscSNPrintf(c->buf, c->len, "error %d in %s() at %s:%d", (int)n, fun, file, line);
  }
  return n;
}

static SpdErrorCapture capture_stack[8];
static int             capture_depth = 0;

/* Push a handler that stores the first error message into buf (len bytes). */
PetscErrorCode SpdErrorCapturePush(char buf[], size_t len)
{
  PetscFunctionBegin;
  PetscCheck(capture_depth < 8, PETSC_COMM_SELF, PETSC_ERR_PLIB, "error capture nested too deeply");
  buf[0]                           = 0;
  capture_stack[capture_depth].buf = buf;
  capture_stack[capture_depth].len = len;
  PetscCall(PetscPushErrorHandler(SpdCaptureHandler, &capture_stack[capture_depth]));
  capture_depth++;
  PetscFunctionReturn(0);
}

PetscErrorCode SpdErrorCapturePop(void)
{
  PetscFunctionBegin;
  PetscCall(PetscPopErrorHandler());
  capture_depth--;
  PetscFunctionReturn(0);
}
