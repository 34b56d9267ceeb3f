/* specdyn: the command-line program. Dispatches to one subcommand per file. */
#include "commands.h"
#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} cmds[] = {
  { "inspect", SpdCmdInspect, "list the tensors of a checkpoint (name, dtype, shape, bytes, file)" },
  { "run", SpdCmdRun, "run a job file: plan, analyse, store results (parallel HDF5)" },
  { "train", SpdCmdTrain, "train the MLP runs of a job file (sweeps, checkpoints, training Jacobians)" },
  { "export", SpdCmdExport, "export a results folder to CSV (one row per analysed matrix)" },
  { "report", SpdCmdReport, "plot a results folder as PNG (spectra, ranks over steps) with an index page" },
};

PetscBool SpdCmdWantsHelp(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return PETSC_TRUE;
  }
  return PETSC_FALSE;
}

void SpdCmdParseArgs(int argc, char **argv, const SpdCmdOption opts[], int nopts, const char **positional, int *pargc, char ***pargv)
{
  PetscBool petsc_seen = PETSC_FALSE;

  *positional          = NULL;
  *pargv               = (char **)malloc(sizeof(char *) * (argc + 1));
  *pargc               = 0;
  (*pargv)[(*pargc)++] = argv[0];
  for (int i = 1; i < argc; i++) {
    int k;
    for (k = 0; k < nopts; k++)
      if (!strcmp(argv[i], opts[k].name) || (opts[k].alias && !strcmp(argv[i], opts[k].alias))) break;
    if (k < nopts && !opts[k].value)
      *opts[k].set = PETSC_TRUE;
    else if (k < nopts && i + 1 < argc) {
      *opts[k].value = argv[++i];
      if (opts[k].set) *opts[k].set = PETSC_TRUE;
    } else if (!*positional && !petsc_seen && argv[i][0] != '-')
      *positional = argv[i];
    else {
      if (argv[i][0] == '-') petsc_seen = PETSC_TRUE;
      (*pargv)[(*pargc)++] = argv[i];
    }
  }
  (*pargv)[*pargc] = NULL;
}

static void usage(FILE *f)
{
  fprintf(f, "specdyn %s - spectral structure of deep-network training, on MPI/PETSc/SLEPc\n\n", SpdVersion());
  fprintf(f, "usage: specdyn <command> [arguments] [PETSc options]\n       mpirun -n P specdyn run JOB.yaml\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
  fprintf(f, "\n`specdyn <command> --help` documents each command (and, for run, every job key);\n"
             "`-help` after a command lists the PETSc/SLEPc options it reads.\n");
}

int main(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return argc < 2 ? 1 : 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("specdyn %s (%s)\n", SpdVersion(), SpdGitRevision());
    return 0;
  }
  for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
    if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "specdyn: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
