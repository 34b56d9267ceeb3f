/* Private to the job layer: the YAML parsing context and typed value getters shared by
   the files that parse sections of a job (jobfile.c, jobcompare.c, jobmodel.c).
   Errors are recorded in the JobCtx (first one wins) and the parse unwinds; JobTry
   leaves the calling function when an error has been recorded. */
#pragma once
#include <specdyn/job.h>
#include <yaml.h>

typedef struct {
  yaml_document_t *doc;
  MPI_Comm         comm; /* run patterns are expanded on its rank 0 and broadcast */
  const char      *origin; /* the file name used in messages */
  PetscInt         ckcap; /* allocated length of job->checkpoints */
  PetscBool        failed;
  char             msg[1000]; /* PETSc keeps the first 1023 characters of an error */
} JobCtx;

/* Leave the current function when an error has been recorded. */
#define JobTry(c, call)                      \
  do {                                       \
    PetscCall(call);                         \
    if ((c)->failed) PetscFunctionReturn(0); \
  } while (0)

static inline yaml_node_t *JobNode(JobCtx *c, int i)
{
  return yaml_document_get_node(c->doc, i);
}
static inline const char *JobScalarText(const yaml_node_t *node) { return (const char *)node->data.scalar.value; }

PETSC_INTERN PetscErrorCode JobFail(JobCtx *, const yaml_node_t *, const char fmt[], ...);
PETSC_INTERN PetscBool      JobIsNull(const yaml_node_t *);
PETSC_INTERN const char    *JobNodeKind(const yaml_node_t *);
PETSC_INTERN void           JobDescribe(const yaml_node_t *, char buf[], size_t len);
PETSC_INTERN PetscErrorCode JobCheckMapping(JobCtx *, yaml_node_t *, const char where[], const char *const keys[]);
PETSC_INTERN yaml_node_t   *JobFind(JobCtx *, yaml_node_t *map, const char key[]);
PETSC_INTERN PetscErrorCode JobGetString(JobCtx *, yaml_node_t *, const char what[], char buf[], size_t len);
PETSC_INTERN PetscErrorCode JobGetInt(JobCtx *, yaml_node_t *, const char what[], PetscInt min, PetscInt *);
PETSC_INTERN PetscErrorCode JobGetReal(JobCtx *, yaml_node_t *, const char what[], PetscReal *);
PETSC_INTERN PetscErrorCode JobGetBool(JobCtx *, yaml_node_t *, const char what[], PetscBool *);
PETSC_INTERN PetscErrorCode JobGetWord(JobCtx *, yaml_node_t *, const char what[], const char *const words[], PetscInt *);
PETSC_INTERN PetscErrorCode JobGetWordSet(JobCtx *, yaml_node_t *, const char what[], const char *const words[], PetscBool on[]);
PETSC_INTERN PetscErrorCode JobJoinPath(const char dir[], const char path[], char out[], size_t len);

/* Sections parsed in their own files. */
PETSC_INTERN PetscErrorCode JobParseCompare(JobCtx *, SpdJob, yaml_node_t *);
PETSC_INTERN PetscErrorCode JobParseModel(JobCtx *, SpdJob, yaml_node_t *);
PETSC_INTERN PetscErrorCode JobParseData(JobCtx *, SpdJob, yaml_node_t *);
PETSC_INTERN PetscErrorCode JobParseCurvature(JobCtx *, SpdJob, yaml_node_t *);
PETSC_INTERN PetscErrorCode JobParseJacobian(JobCtx *, SpdJob, yaml_node_t *);
PETSC_INTERN PetscErrorCode JobParseTrain(JobCtx *, SpdJob, yaml_node_t *train, yaml_node_t *sweep, yaml_node_t *training_jacobian, yaml_node_t *ensemble);
