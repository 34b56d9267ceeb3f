/* Library initialization: PETSc/SLEPc start-up, specdyn's log events and stages,
   version and provenance strings. */
#include <specdyn/sys.h>
#include <specdyn/private/config.h>
#include <slepcsys.h>
#include <petscblaslapack.h>
#include <signal.h>

PetscClassId  SPD_CLASSID;
PetscLogEvent SPD_Read, SPD_SVDFull, SPD_SVDBand, SPD_SVDBandBidiag, SPD_SVDPartial, SPD_Metrics, SPD_Write, SPD_Plan, SPD_MultBlock, SPD_MultTBlock;
PetscLogStage SPD_StageRead, SPD_StageSolve, SPD_StageStore;

static PetscBool SpdInitializeCalled = PETSC_FALSE;

/*@C
  SpdInitialize - start SLEPc (and so PETSc and MPI) and register specdyn's log events

  Collective on MPI_COMM_WORLD

  Input Parameters:
+ argc, argv - the program's arguments (PETSc options are taken from them)
. file       - an options file or NULL
- help       - text printed by -help

  Notes:
  OpenBLAS threads: specdyn runs one rank per core, so set OPENBLAS_NUM_THREADS=1
  (the launch scripts do) to avoid oversubscription.
@*/
PetscErrorCode SpdInitialize(int *argc, char ***argv, const char file[], const char help[])
{
  PetscFunctionBeginUser;
  PetscCall(SlepcInitialize(argc, argv, file, help));
  /* `specdyn inspect x | head` must end quietly, not with PETSc's signal report */
  (void)signal(SIGPIPE, SIG_DFL);
  if (SpdInitializeCalled) PetscFunctionReturn(0);
  SpdInitializeCalled = PETSC_TRUE;
  PetscCall(PetscClassIdRegister("specdyn", &SPD_CLASSID));
  PetscCall(PetscLogEventRegister("SpdRead", SPD_CLASSID, &SPD_Read));
  PetscCall(PetscLogEventRegister("SpdPlan", SPD_CLASSID, &SPD_Plan));
  PetscCall(PetscLogEventRegister("SpdSVDFull", SPD_CLASSID, &SPD_SVDFull));
  PetscCall(PetscLogEventRegister("SpdSVDBand", SPD_CLASSID, &SPD_SVDBand));
  PetscCall(PetscLogEventRegister("SpdSVDBandBidiag", SPD_CLASSID, &SPD_SVDBandBidiag));
  PetscCall(PetscLogEventRegister("SpdSVDPartial", SPD_CLASSID, &SPD_SVDPartial));
  PetscCall(PetscLogEventRegister("SpdMetrics", SPD_CLASSID, &SPD_Metrics));
  PetscCall(PetscLogEventRegister("SpdWrite", SPD_CLASSID, &SPD_Write));
  PetscCall(PetscLogEventRegister("SpdMultBlock", SPD_CLASSID, &SPD_MultBlock));
  PetscCall(PetscLogEventRegister("SpdMultTBlock", SPD_CLASSID, &SPD_MultTBlock));
  PetscCall(PetscLogStageRegister("Spd read", &SPD_StageRead));
  PetscCall(PetscLogStageRegister("Spd solve", &SPD_StageSolve));
  PetscCall(PetscLogStageRegister("Spd store", &SPD_StageStore));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdFinalize(void)
{
  PetscFunctionBeginUser;
  PetscCall(SlepcFinalize());
  PetscFunctionReturn(0);
}

const char *SpdVersion(void) { return SPD_VERSION_STRING; }
const char *SpdGitRevision(void) { return SPD_GIT_REVISION; }

/* Versions of the libraries this build runs on, for provenance. */
PetscErrorCode SpdLibraryVersions(char buf[], size_t len)
{
  char     petsc[128], slepc[128], mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int      mpilen;
  unsigned h5maj, h5min, h5rel;

  PetscFunctionBegin;
  PetscCall(PetscGetVersion(petsc, sizeof(petsc)));
  PetscCall(SlepcGetVersion(slepc, sizeof(slepc)));
  PetscCallMPI(MPI_Get_library_version(mpi, &mpilen));
  for (int i = 0; i < mpilen; i++)
    if (mpi[i] == '\n' || mpi[i] == ',') {
      mpi[i] = 0;
      break;
    }
  SpdCallH5(H5get_libversion, (&h5maj, &h5min, &h5rel));
  PetscCall(PetscSNPrintf(buf, len, "%s; %s; HDF5 %u.%u.%u (parallel); %s", petsc, slepc, h5maj, h5min, h5rel, mpi));
  PetscFunctionReturn(0);
}
