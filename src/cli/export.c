/* `specdyn export RESULTS --csv FILE` and `specdyn export RESULTS --table` */
#include "commands.h"
#include <unistd.h>

static const char help[] = "specdyn export: tables from a results folder (no recomputation).\n\n"
                           "usage: specdyn export RESULTS --csv FILE   one row per analysed matrix, every scalar\n"
                           "                                          metric (FILE '-' is standard output)\n"
                           "       specdyn export RESULTS --table     an aligned summary on standard output\n";

/* The summary table of `make demo`: a few columns of the CSV (see SpdExportCSV for
   the column order), aligned. Names never hold commas; only the last column (the
   message) may be quoted, so splitting at commas is safe for the first 26 fields. */
static int SpdPrintTable(const char results[])
{
  char  tmp[PETSC_MAX_PATH_LEN] = "/tmp/specdyn-export-XXXXXX", line[8192];
  int   fd                      = mkstemp(tmp);
  FILE *fp;

  if (fd < 0) return 1;
  close(fd);
  if (SpdExportCSV(results, tmp)) return 1;
  fp = fopen(tmp, "r");
  if (!fp) return 1;
  printf("%-12s %-46s %6s %6s %5s %11s %11s %9s %7s %7s %9s %s\n", "checkpoint", "name", "m", "n", "ranks", "sigma_1", "stable_rk", "eff_rank", "MP_out", "alpha", "top_conv", "status");
  if (!fgets(line, sizeof(line), fp)) line[0] = 0; /* header */
  while (fgets(line, sizeof(line), fp)) {
    char *f[32], *p = line;
    int   nf = 0;
    while (nf < 32 && p) {
      f[nf++] = p;
      p       = strchr(p, ',');
      if (p) *p++ = 0;
    }
    if (nf < 26) continue;
    printf("%-12.12s %-46.46s %6s %6s %5s %11.6s %11.6s %9.6s %7s %7.5s %4s/%-4s %s\n", f[0], f[1], f[5], f[6], f[7], f[9], f[11], f[12], f[19], f[20], f[25], f[24], f[4]);
  }
  fclose(fp);
  unlink(tmp);
  return 0;
}

int SpdCmdExport(int argc, char **argv)
{
  const char *results = NULL, *csv = NULL;
  PetscBool   table = PETSC_FALSE;
  char      **pargv;
  int         pargc = 0, code = 0;
  char        msg[4096];

  if (SpdCmdWantsHelp(argc, argv)) {
    fputs(help, stdout);
    return 0;
  }
  pargv          = (char **)malloc(sizeof(char *) * (argc + 1));
  pargv[pargc++] = argv[0];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--csv") && i + 1 < argc)
      csv = argv[++i];
    else if (!strcmp(argv[i], "--table"))
      table = PETSC_TRUE;
    else if (!results && argv[i][0] != '-')
      results = argv[i];
    else
      pargv[pargc++] = argv[i];
  }
  pargv[pargc] = NULL;
  if (!results || (!csv && !table)) {
    fputs(help, stderr);
    free(pargv);
    return 2;
  }
  if (SpdInitialize(&pargc, &pargv, NULL, help)) return 2;
  SpdErrorCapturePush(msg, sizeof(msg));
  if (csv && SpdExportCSV(results, csv)) code = 1;
  if (!code && table) code = SpdPrintTable(results);
  SpdErrorCapturePop();
  if (code) fprintf(stderr, "specdyn export: %s\n", msg);
  SpdFinalize();
  free(pargv);
  return code;
}
