/* The results folder's advisory lock: rank 0 of a run holds flock() on <results>/.lock
   for the whole run, so that two runs cannot write the same task files at once (two
   writers of one tasks/<id>.h5.tmp interleave their blocks and the rename then publishes
   a corrupt file). flock() locks belong to the open file: the kernel drops them when the
   process dies, even by SIGKILL, so an interrupted run never leaves a stale lock.

   Modes: EXCLUSIVE (a plain run, --merge: may write any task or comparison file) and
   SHARED (slices of one study, --tasks i/n, which write disjoint task files and each its
   own index.h5.tmp.<pid>; --index-only). SHARED holders coexist; EXCLUSIVE excludes all.
   The file holds one line per current holder (pid, host, mode, start time) for the
   message of a refused run. */
#include <specdyn/private/storeimpl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

const char *const SpdStoreLockModes[] = { "exclusive", "shared", "none", "SpdStoreLockMode", "SPD_STORE_LOCK_", NULL };

#define SPD_LOCK_HOLDER_LEN 1024

/* Remove the files `<dir>/<prefix>*<suffix>` (only called while no other run holds the
   lock, so every such file is the remnant of an interrupted run). */
static PetscErrorCode SpdLockRemoveStale_Private(const char dir[], const char prefix[], const char suffix[], PetscInt *n)
{
  DIR           *d;
  struct dirent *e;
  size_t         lp = strlen(prefix), ls = strlen(suffix);
  char           path[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  d = opendir(dir);
  if (!d) PetscFunctionReturn(0);
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < lp + ls || strncmp(e->d_name, prefix, lp) || strcmp(e->d_name + l - ls, suffix)) continue;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", dir, e->d_name));
    if (!unlink(path)) (*n)++;
  }
  closedir(d);
  PetscFunctionReturn(0);
}

/* LOCK_SH, retried for a moment: another shared holder holds the lock exclusively while
   it cleans up and records itself (milliseconds), and flock() has no timeout. */
static int SpdLockShared_Private(int fd)
{
  struct timespec pause = { 0, 20000000 }; /* 20 ms */

  for (int i = 0; i < 150; i++) {
    if (!flock(fd, LOCK_SH | LOCK_NB)) return 0;
    if (errno != EWOULDBLOCK) return -1;
    nanosleep(&pause, NULL);
  }
  return -1;
}

/* Our line in the lock file: who holds it, for the message of a refused run. */
static PetscErrorCode SpdLockWriteHolder_Private(int fd, SpdStoreLockMode mode, PetscBool truncate)
{
  char      line[512], host[256] = "unknown host", when[64] = "";
  time_t    now = time(NULL);
  struct tm tmv;

  PetscFunctionBegin;
  (void)gethostname(host, sizeof(host) - 1);
  host[sizeof(host) - 1] = 0;
  if (gmtime_r(&now, &tmv)) strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tmv);
  PetscCall(PetscSNPrintf(line, sizeof(line), "pid %ld on %s, %s, since %s\n", (long)getpid(), host, mode == SPD_STORE_LOCK_EXCLUSIVE ? "a plain run or --merge" : "a slice (--tasks) or --index-only", when));
  if (truncate && ftruncate(fd, 0)) PetscFunctionReturn(0); /* best effort: only a message */
  if (lseek(fd, 0, SEEK_END) < 0) PetscFunctionReturn(0);
  (void)!write(fd, line, strlen(line));
  (void)fsync(fd);
  PetscFunctionReturn(0);
}

/* The holders' lines as one line ("; " between holders), for the message. */
static void SpdLockReadHolder_Private(int fd, char holder[])
{
  ssize_t n = pread(fd, holder, SPD_LOCK_HOLDER_LEN - 1, 0);

  if (n <= 0) {
    strcpy(holder, "its pid and host were not recorded yet");
    return;
  }
  holder[n] = 0;
  while (n > 0 && (holder[n - 1] == '\n' || holder[n - 1] == ' ')) holder[--n] = 0;
  for (ssize_t i = 0; i < n; i++)
    if (holder[i] == '\n') holder[i] = ';';
}

/* Rank 0's part of SpdStoreLockAcquire_Private: open and lock, clean up after interrupted
   runs, record the holder. *state: 0 locked (or no lock), 1 held by another run, 2 cannot
   open (errno in *err). */
static PetscErrorCode SpdLockAcquireRank0_Private(SpdStore s, SpdStoreLockMode mode, const char path[], int *state, int *err, char holder[])
{
  int fd;

  PetscFunctionBegin;
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0) {
    *state = 2;
    *err   = errno;
  } else if (!flock(fd, LOCK_EX | LOCK_NB)) {
    PetscInt n = 0;

    PetscCall(SpdLockRemoveStale_Private(s->tasksdir, "", ".h5.tmp", &n));
    PetscCall(SpdLockRemoveStale_Private(s->comparisonsdir, "", ".h5.tmp", &n));
    PetscCall(SpdLockRemoveStale_Private(s->dir, "index.h5.tmp", "", &n));
    if (n) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] removed %" PetscInt_FMT " unfinished file%s left in %s by an interrupted run\n", n, n > 1 ? "s" : "", s->dir));
    PetscCall(SpdLockWriteHolder_Private(fd, mode, PETSC_TRUE));
    /* not atomic (flock(2)): another run may take the lock in between, then we are refused */
    if (mode == SPD_STORE_LOCK_SHARED && SpdLockShared_Private(fd)) *state = 1;
  } else if (errno == EWOULDBLOCK) {
    if (mode == SPD_STORE_LOCK_SHARED && !SpdLockShared_Private(fd))
      PetscCall(SpdLockWriteHolder_Private(fd, mode, PETSC_FALSE));
    else
      *state = 1;
  } else { /* the file system has no flock(): run unprotected, say so */
    PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "[specdyn] warning: cannot lock %s (%s); make sure no other specdyn run writes to %s at the same time\n", path, strerror(errno), s->dir));
    close(fd);
    fd = -1;
  }
  if (*state == 1) {
    SpdLockReadHolder_Private(fd, holder);
    close(fd);
    fd = -1;
  }
  s->lockfd = fd;
  PetscFunctionReturn(0);
}

/*
  SpdStoreLockAcquire_Private - take the results folder's lock (rank 0 of the store's
  communicator holds it until SpdStoreLockRelease_Private())

  Collective

  Input Parameters:
+ s    - the store (its folder exists)
- mode - SPD_STORE_LOCK_EXCLUSIVE, SPD_STORE_LOCK_SHARED or SPD_STORE_LOCK_NONE

  Notes:
  Every mode first tries the lock exclusively: a run that finds no other run in the
  folder removes the temporary files interrupted runs left behind (tasks/<id>.h5.tmp,
  comparisons/<id>.h5.tmp, index.h5.tmp.<pid>), then a shared holder downgrades. A file
  system without flock() (ENOLCK, EOPNOTSUPP, ENOSYS, EINVAL: some Lustre or NFS mounts)
  gives a warning and no lock.
*/
PetscErrorCode SpdStoreLockAcquire_Private(SpdStore s, SpdStoreLockMode mode)
{
  char path[PETSC_MAX_PATH_LEN], holder[SPD_LOCK_HOLDER_LEN] = "";
  int  state = 0, err = 0; /* state: 0 locked (or no lock), 1 held by another run, 2 cannot open */

  PetscFunctionBegin;
  s->lockfd = -1;
  if (mode == SPD_STORE_LOCK_NONE) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/.lock", s->dir));
  if (s->rank == 0) { /* its errors are raised on every rank: no rank may wait for it */
    char msg[1024] = "";
    PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
    if (SpdLockAcquireRank0_Private(s, mode, path, &state, &err, holder)) {
      state = 3;
      PetscCall(PetscStrncpy(holder, msg, sizeof(holder)));
    }
    PetscCall(SpdErrorCapturePop());
  }
  PetscCallMPI(MPI_Bcast(&state, 1, MPI_INT, 0, s->comm));
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, s->comm));
  PetscCallMPI(MPI_Bcast(holder, sizeof(holder), MPI_CHAR, 0, s->comm));
  PetscCheck(state != 3, s->comm, PETSC_ERR_FILE_WRITE, "Locking the results folder %s failed: %s", s->dir, holder);
  PetscCheck(state != 2, s->comm, PETSC_ERR_FILE_OPEN, "Cannot create the lock file %s: %s; check that the results folder is writable, or choose another one with -o", path, strerror(err));
  PetscCheck(state != 1, s->comm, PETSC_ERR_FILE_OPEN,
      "The results folder %s is in use by another specdyn run (%s). Two runs writing one folder would overwrite each other's task files: wait until that run ends (a rerun then skips the tasks it stored), or write to another folder with -o DIR. Slices of one study (--tasks i/n) may share a folder with each other, but not with a plain run or --merge",
      s->dir, holder);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdStoreLockRelease_Private(SpdStore s)
{
  PetscFunctionBegin;
  if (s->lockfd >= 0) close(s->lockfd); /* closing the file drops the flock */
  s->lockfd = -1;
  PetscFunctionReturn(0);
}
