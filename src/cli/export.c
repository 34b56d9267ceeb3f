/* `specdyn export RESULTS --csv FILE` and `specdyn export RESULTS --table` */
#include "commands.h"
#include <unistd.h>

static const char help[] = "specdyn export: tables from a results folder (no recomputation).\n\n"
                           "usage: specdyn export RESULTS --csv FILE   one row per analysed matrix, every scalar\n"
                           "                                          metric (FILE '-' is standard output)\n"
                           "       specdyn export RESULTS --table     an aligned summary on standard output\n"
                           "       specdyn export RESULTS --comparisons FILE   one row per comparison (job key\n"
                           "                                          compare:) with its headline numbers\n";

/* Split a CSV line at commas (names never hold commas; only the message, the last
   column, may be quoted, and it is not printed). Returns the number of fields. */
static int SpdSplitCSV(char *line, char *f[], int max)
{
  int nf = 0;
  for (char *p = line; nf < max && p;) {
    f[nf++] = p;
    p       = strchr(p, ',');
    if (p) *p++ = 0;
  }
  return nf;
}

/* The summary table of `make demo`: a few columns of the CSV, aligned. */
static int SpdPrintTable(const char results[])
{
  static const char *cols[] = { "checkpoint", "name", "m", "n", "ranks", "spectral", "stable_rank", "effective_rank", "mp_outliers", "alpha", "top_nconv", "top_requested", "status" };
  enum { NC = sizeof(cols) / sizeof(cols[0]) };
  char  tmp[PETSC_MAX_PATH_LEN] = "/tmp/specdyn-export-XXXXXX", line[8192], *f[64];
  int   fd                      = mkstemp(tmp), idx[NC], nf;
  FILE *fp;

  if (fd < 0) return 1;
  close(fd);
  if (SpdExportCSV(results, tmp)) return 1;
  fp = fopen(tmp, "r");
  if (!fp) return 1;
  if (!fgets(line, sizeof(line), fp)) line[0] = 0;
  line[strcspn(line, "\n")] = 0;
  nf                        = SpdSplitCSV(line, f, 64);
  for (int c = 0; c < NC; c++) {
    idx[c] = -1;
    for (int i = 0; i < nf; i++)
      if (!strcmp(f[i], cols[c])) idx[c] = i;
    if (idx[c] < 0) {
      fclose(fp);
      unlink(tmp);
      return 1;
    }
  }
  printf("%-12s %-46s %6s %6s %5s %11s %11s %9s %7s %7s %9s %s\n", "checkpoint", "name", "m", "n", "ranks", "sigma_1", "stable_rk", "eff_rank", "MP_out", "alpha", "top_conv", "status");
  while (fgets(line, sizeof(line), fp)) {
    const char *v[NC];
    line[strcspn(line, "\n")] = 0;
    nf                        = SpdSplitCSV(line, f, 64);
    for (int c = 0; c < NC; c++) v[c] = idx[c] < nf ? f[idx[c]] : "";
    printf("%-12.12s %-46.46s %6s %6s %5s %11.6s %11.6s %9.6s %7s %7.5s %4s/%-4s %s\n", v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]);
  }
  fclose(fp);
  unlink(tmp);
  return 0;
}

int SpdCmdExport(int argc, char **argv)
{
  const char *results = NULL, *csv = NULL, *cmp = NULL;
  PetscBool   table = PETSC_FALSE;
  char      **pargv;
  int         pargc = 0, code = 0;
  char        msg[4096];

  if (SpdCmdWantsHelp(argc, argv)) {
    fputs(help, stdout);
    return 0;
  }
  {
    const SpdCmdOption opts[] = {
      { "--csv", NULL, NULL, &csv },
      { "--table", NULL, &table, NULL },
      { "--comparisons", NULL, NULL, &cmp },
    };
    SpdCmdParseArgs(argc, argv, opts, 3, &results, &pargc, &pargv);
  }
  if (!results || (!csv && !table && !cmp)) {
    fputs(help, stderr);
    free(pargv);
    return 2;
  }
  if (SpdInitialize(&pargc, &pargv, NULL, help)) return 2;
  SpdErrorCapturePush(msg, sizeof(msg));
  if (csv && SpdExportCSV(results, csv)) code = 1;
  if (!code && cmp && SpdExportComparisonsCSV(results, cmp)) code = 1;
  if (!code && table) code = SpdPrintTable(results);
  SpdErrorCapturePop();
  if (code) fprintf(stderr, "specdyn export: %s\n", msg);
  SpdFinalize();
  free(pargv);
  return code;
}
