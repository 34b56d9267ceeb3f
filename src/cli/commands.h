/* The subcommands of the specdyn program; each lives in its own file. */
#pragma once
#include <specdyn.h>

/* Each returns the process exit status (0 success). argv[0] is the subcommand name. */
int SpdCmdInspect(int argc, char **argv);
int SpdCmdRun(int argc, char **argv);
int SpdCmdExport(int argc, char **argv);

/* True if argv holds --help or -h (before any "--"). */
PetscBool SpdCmdWantsHelp(int argc, char **argv);
