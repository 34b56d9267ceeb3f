/* `specdyn report RESULTS -o DIR`: PNG plots and an index page from a results folder,
   drawn by src/report/specdyn_report.py with Debian's Matplotlib (no MPI, no PETSc). */
#include "commands.h"
#include <specdyn/private/config.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char python[] = "/usr/bin/python3";

static const char help[] = "specdyn report: PNG plots and an index page from a results folder (no recomputation).\n\n"
                           "usage: specdyn report RESULTS -o DIR\n\n"
                           "Writes into DIR (created if needed):\n"
                           "  spectra_<label>.png  singular values sigma_i against i (log-log) of every analysed\n"
                           "                       matrix of a checkpoint (full/sigma, else top/sigma); '/' in the\n"
                           "                       label becomes '_'\n"
                           "  ranks_<run>.png      effective and stable rank against the training step, one line\n"
                           "                       per matrix name, for each run (job key runs:)\n"
                           "  agreement_<run>_<name>.png  heatmaps of singular-vector agreement with the run's\n"
                           "                       final checkpoint: diagonal A_ii over steps, and the k x k matrix\n"
                           "  alignment_<run>.png  layer alignment (top and diagonal mean) over layer pairs, one\n"
                           "                       curve per step\n"
                           "  angles_<name>.png    mean and largest principal angles between runs over steps\n"
                           "  diffspectra_<a>_minus_<b>.png  spectra of the differences W_a - W_b\n"
                           "  index.md             links to every plot and tables of headline numbers\n"
                           "  <png>.json           the arrays drawn in each plot, read back from Matplotlib\n\n"
                           "Runs /usr/bin/python3 on the renderer script (Debian's python3-matplotlib and\n"
                           "python3-h5py); the script is " SPD_SOURCE_DIR "/src/report/specdyn_report.py\n"
                           "unless the environment variable SPD_REPORT_SCRIPT names another.\n"
                           "SPD_REPORT_MAX_MATRICES (default 8, 0: all) caps the matrices of agreement_*/angles_*.\n"
                           "Exit status: 0 success, 2 bad arguments or not a results folder. See docs/report.md.\n";

/* The renderer script: $SPD_REPORT_SCRIPT, else the one in the source tree. */
static const char *SpdReportScript(char buf[], size_t len)
{
  const char *env = getenv("SPD_REPORT_SCRIPT");

  if (env && env[0]) return env;
  snprintf(buf, len, "%s/src/report/specdyn_report.py", SPD_SOURCE_DIR);
  return buf;
}

int SpdCmdReport(int argc, char **argv)
{
  const char *results = NULL, *outdir = NULL, *script;
  char        sbuf[4096];
  char      **pargv;
  int         pargc = 0, err, status;
  pid_t       pid;
  struct stat st;

  if (SpdCmdWantsHelp(argc, argv)) {
    fputs(help, stdout);
    return 0;
  }
  {
    const SpdCmdOption opts[] = {
      { "-o", "--output", NULL, &outdir },
    };
    SpdCmdParseArgs(argc, argv, opts, 1, &results, &pargc, &pargv);
  }
  if (pargc > 1) {
    fprintf(stderr, "specdyn report: unknown argument '%s'\n\n%s", pargv[1], help);
    free(pargv);
    return 2;
  }
  free(pargv);
  if (!results || !outdir) {
    fprintf(stderr, "specdyn report: %s\n\n%s", !results ? "missing the results folder RESULTS" : "missing the output folder: give -o DIR", help);
    return 2;
  }
  script = SpdReportScript(sbuf, sizeof(sbuf));
  if (stat(script, &st) || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "specdyn report: the renderer script '%s' is missing or not a file; set SPD_REPORT_SCRIPT to specdyn_report.py of the specdyn sources\n", script);
    return 2;
  }
  {
    char *const args[] = { (char *)python, (char *)script, (char *)results, (char *)outdir, NULL };

    fflush(stdout);
    fflush(stderr);
    err = posix_spawn(&pid, python, NULL, NULL, args, environ);
    if (err) {
      fprintf(stderr, "specdyn report: cannot run %s (%s); install Debian's python3, python3-matplotlib and python3-h5py (scripts/install-deps.sh)\n", python, strerror(err));
      return 2;
    }
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      fprintf(stderr, "specdyn report: waiting for %s failed (%s)\n", python, strerror(errno));
      return 2;
    }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "specdyn report: %s was killed by signal %d\n", python, WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  return 2;
}
