/* The subcommands of the specdyn program; each lives in its own file. */
#pragma once
#include <specdyn.h>

/* Each returns the process exit status (0 success). argv[0] is the subcommand name. */
int SpdCmdInspect(int argc, char **argv);
int SpdCmdRun(int argc, char **argv);
int SpdCmdTrain(int argc, char **argv);
int SpdCmdExport(int argc, char **argv);
int SpdCmdReport(int argc, char **argv);

/* True if argv holds --help or -h (before any "--"). */
PetscBool SpdCmdWantsHelp(int argc, char **argv);

/* One of a subcommand's own options: a switch (`value` NULL) or an option with a value. */
typedef struct {
  const char  *name, *alias;
  PetscBool   *set;
  const char **value;
} SpdCmdOption;

/* Take a subcommand's own options and its one positional argument (the first argument
   that is not an option and comes before any PETSc option) out of argv; the rest, with
   argv[0], goes to *pargv for SpdInitialize (free it with free()). */
void SpdCmdParseArgs(int argc, char **argv, const SpdCmdOption opts[], int nopts, const char **positional, int *pargc, char ***pargv);
