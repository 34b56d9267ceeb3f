/* Job files: a valid job gives the expected fields (values written by hand below), every
   class of input error gives a message naming the key, line and fix, the solver options
   go below the command line, and SpdJobLoad reads a real file collectively. */
#include "testutil.h"

static const char help[] = "Tests job file parsing and validation.\n";

static const char full_job[] = "name: demo\n"
                               "output: results/demo\n"
                               "checkpoints:\n"
                               "  - model.safetensors\n"
                               "  - path: shards/model.safetensors.index.json\n"
                               "    label: final\n"
                               "  - /abs/run2/../run3/ckpt-100.h5\n"
                               "tensors:\n"
                               "  include: [\"*.weight\", \"*kernel*\"]\n"
                               "  exclude: \"*norm*\"\n"
                               "  split:\n"
                               "    - match: \"*.c_attn.weight\"\n"
                               "      parts: [q, k, v]\n"
                               "      axis: 1\n"
                               "      heads: 4\n"
                               "      transpose: yes\n"
                               "    - match: \"*.qkv.weight\"\n"
                               "      parts: [q, kv]\n"
                               "weights:\n"
                               "  full: false\n"
                               "  full_max: 2000\n"
                               "  top: 12\n"
                               "  bottom: 3\n"
                               "  vectors: true\n"
                               "  rank_tol: 1e-6\n"
                               "  tail_min: 20\n"
                               "solver:\n"
                               "  -top_svd_tol: 1e-10\n"
                               "  svd_ncv: 40\n"
                               "  log_view:\n"
                               "resources:\n"
                               "  memory_per_rank: 512MiB\n"
                               "  ranks_per_task: 2\n";

/* Load `text`, expect failure, and check that the message contains every fragment. */
static PetscErrorCode ExpectError(const char text[], PetscInt nfrag, const char *frag[], int line)
{
  PetscErrorCode ierr;
  SpdJob         job = NULL;
  char          *msg = NULL;

  PetscFunctionBegin;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = SpdJobLoadString(PETSC_COMM_WORLD, text, "JOB.yaml", "/data", &job);
  PetscCall(PetscPopErrorHandler());
  if (!ierr) {
    SpdTestFailures++;
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "FAIL line %d: no error for:\n%s\n", line, text));
    PetscCall(SpdJobDestroy(&job));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscErrorMessage(ierr, NULL, &msg));
  PetscCheck(job == NULL, PETSC_COMM_SELF, PETSC_ERR_PLIB, "a failed load must leave the job NULL");
  for (PetscInt i = 0; i < nfrag; i++) {
    if (!strstr(msg, frag[i])) {
      SpdTestFailures++;
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "FAIL line %d: message\n  %s\nlacks '%s'\n", line, msg, frag[i]));
    }
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "ok: %s\n", msg));
  PetscFunctionReturn(0);
}
#define EXPECT_ERROR(text, ...)                                                         \
  do {                                                                                  \
    const char *_f[] = { __VA_ARGS__ };                                                 \
    PetscCall(ExpectError(text, (PetscInt)(sizeof(_f) / sizeof(_f[0])), _f, __LINE__)); \
  } while (0)

static PetscErrorCode TestFullJob(void)
{
  SpdJob job;

  PetscFunctionBegin;
  PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, full_job, "/data/study.yaml", "/data", &job));
  SPD_EXPECT(!strcmp(job->name, "demo"), "name %s", job->name);
  SPD_EXPECT(!strcmp(job->output, "/data/results/demo"), "output %s", job->output);
  SPD_EXPECT(job->ncheckpoints == 3, "ncheckpoints %" PetscInt_FMT, job->ncheckpoints);
  SPD_EXPECT(!strcmp(job->checkpoints[0].path, "/data/model.safetensors"), "path0 %s", job->checkpoints[0].path);
  SPD_EXPECT(!strcmp(job->checkpoints[0].label, "model"), "label0 %s", job->checkpoints[0].label);
  SPD_EXPECT(!strcmp(job->checkpoints[1].path, "/data/shards/model.safetensors.index.json"), "path1 %s", job->checkpoints[1].path);
  SPD_EXPECT(!strcmp(job->checkpoints[1].label, "final"), "label1 %s", job->checkpoints[1].label);
  SPD_EXPECT(!strcmp(job->checkpoints[2].path, "/abs/run3/ckpt-100.h5"), "path2 %s", job->checkpoints[2].path);
  SPD_EXPECT(!strcmp(job->checkpoints[2].label, "ckpt-100"), "label2 %s", job->checkpoints[2].label);
  SPD_EXPECT(job->ninclude == 2 && !strcmp(job->include[0], "*.weight") && !strcmp(job->include[1], "*kernel*"), "include");
  SPD_EXPECT(job->nexclude == 1 && !strcmp(job->exclude[0], "*norm*"), "exclude");
  SPD_EXPECT(job->nsplits == 2, "nsplits %" PetscInt_FMT, job->nsplits);
  SPD_EXPECT(!strcmp(job->splits[0].match, "*.c_attn.weight") && job->splits[0].nparts == 3 && !strcmp(job->splits[0].parts[0], "q") && !strcmp(job->splits[0].parts[2], "v"), "split0 parts");
  SPD_EXPECT(job->splits[0].axis == 1 && job->splits[0].heads == 4 && job->splits[0].transpose, "split0 axis/heads/transpose");
  SPD_EXPECT(job->splits[1].nparts == 2 && !strcmp(job->splits[1].parts[1], "kv") && job->splits[1].axis == 0 && job->splits[1].heads == 0 && !job->splits[1].transpose, "split1 defaults");
  SPD_EXPECT(job->weights.full == SPD_FULL_NO && job->weights.full_max == 2000, "full");
  SPD_EXPECT(job->weights.top == 12 && job->weights.bottom == 3 && job->weights.vectors, "top/bottom/vectors");
  SPD_EXPECT(job->weights.rank_tol == 1e-6 && job->weights.tail_min == 20, "rank_tol/tail_min");
  SPD_EXPECT(job->petsc_options && !strcmp(job->petsc_options, "-top_svd_tol 1e-10 -svd_ncv 40 -log_view"), "options '%s'", job->petsc_options ? job->petsc_options : "(null)");
  SPD_EXPECT(job->memory_per_rank == 512 * 1024 * 1024, "memory %" PetscInt64_FMT, job->memory_per_rank);
  SPD_EXPECT(job->ranks_per_task == 2, "ranks_per_task");
  SPD_EXPECT(job->text && !strcmp(job->text, full_job), "text kept verbatim");
  PetscCall(SpdJobDestroy(&job));
  SPD_EXPECT(job == NULL, "destroy sets NULL");
  PetscFunctionReturn(0);
}

static PetscErrorCode TestDefaults(void)
{
  SpdJob job;

  PetscFunctionBegin;
  PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, "checkpoints: [a.safetensors]\n", "jobs/mystudy.yaml", "/x/jobs", &job));
  SPD_EXPECT(!strcmp(job->name, "mystudy"), "default name %s", job->name);
  SPD_EXPECT(!strcmp(job->output, "/x/jobs/mystudy.results"), "default output %s", job->output);
  SPD_EXPECT(job->ninclude == 1 && !strcmp(job->include[0], "*") && job->nexclude == 0 && job->nsplits == 0, "default selection");
  SPD_EXPECT(job->weights.full == SPD_FULL_AUTO && job->weights.full_max == 4096 && job->weights.top == 8 && job->weights.bottom == 0, "default weights");
  SPD_EXPECT(!job->weights.vectors && job->weights.rank_tol == 0.0 && job->weights.tail_min == 10, "default weights 2");
  SPD_EXPECT(job->petsc_options == NULL, "no options");
  SPD_EXPECT(job->memory_per_rank == (PetscInt64)2 * 1024 * 1024 * 1024 && job->ranks_per_task == 0, "default resources");
  PetscCall(SpdJobDestroy(&job));

  /* sizes: decimal KB/MB/GB/TB, binary KiB.. and K/M/G/T, plain bytes */
  {
    const char      *in[]  = { "1000", "1.5GB", "2G", "64 KiB", "3MB", "1TiB", "7b", "2gib" };
    const PetscInt64 out[] = { 1000, 1500000000LL, 2147483648LL, 65536, 3000000, 1099511627776LL, 7, 2147483648LL };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
      char text[256];
      PetscCall(PetscSNPrintf(text, sizeof(text), "checkpoints: [a]\nresources: {memory_per_rank: %s, ranks_per_task: auto}\n", in[i]));
      PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, text, "s.yaml", NULL, &job));
      SPD_EXPECT(job->memory_per_rank == out[i], "size '%s' -> %" PetscInt64_FMT ", expected %" PetscInt64_FMT, in[i], job->memory_per_rank, out[i]);
      SPD_EXPECT(!strcmp(job->checkpoints[0].path, "a"), "dir NULL keeps relative path, got %s", job->checkpoints[0].path);
      PetscCall(SpdJobDestroy(&job));
    }
  }
  /* solver as a single string; full: true and a null section */
  PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, "checkpoints: [a]\nweights: {full: true, top: 0}\ntensors:\nsolver: \"-svd_tol 1e-10 -log_view\"\n", "s.yaml", ".", &job));
  SPD_EXPECT(job->weights.full == SPD_FULL_YES && job->weights.top == 0, "full true");
  SPD_EXPECT(job->petsc_options && !strcmp(job->petsc_options, "-svd_tol 1e-10 -log_view"), "options string");
  PetscCall(SpdJobDestroy(&job));
  PetscFunctionReturn(0);
}

static PetscErrorCode TestErrors(void)
{
  PetscFunctionBegin;
  /* unknown keys, with line numbers and suggestions */
  EXPECT_ERROR("name: x\ncheckpionts: [a]\n", "JOB.yaml:2:", "unknown key 'checkpionts' at the top level; did you mean 'checkpoints'?");
  EXPECT_ERROR("checkpoints: [a]\nweights:\n  top: 4\n\n  botom: 2\n", "JOB.yaml:5:", "unknown key 'botom' in 'weights'; did you mean 'bottom'?");
  EXPECT_ERROR("checkpoints: [a]\nweights:\n  xyzzy_plugh: 2\n", "JOB.yaml:3:", "unknown key 'xyzzy_plugh' in 'weights'; valid keys are: full, full_max, top, bottom, vectors, rank_tol, tail_min");
  EXPECT_ERROR("checkpoints:\n  - a\n  - path: b\n    labl: x\n", "JOB.yaml:4:", "unknown key 'labl' in 'checkpoints[1]'; did you mean 'label'?");
  EXPECT_ERROR("checkpoints: [a]\ntensors:\n  split:\n    - match: '*qkv*'\n      parts: [q, k, v]\n      head: 4\n", "JOB.yaml:6:", "'tensors.split[0]'; did you mean 'heads'?");
  EXPECT_ERROR("checkpoints: [a]\nresources:\n  memory_per_rnk: 1GiB\n", "JOB.yaml:3:", "did you mean 'memory_per_rank'?");
  EXPECT_ERROR("checkpoints: [a]\nweights:\n  top: 3\n  top: 4\n", "JOB.yaml:4:", "key 'top' appears twice in 'weights' (lines 3 and 4)");
  /* wrong types */
  EXPECT_ERROR("checkpoints: [a]\nweights:\n  top: many\n", "JOB.yaml:3:", "'weights.top' must be an integer >= 0, got 'many'");
  EXPECT_ERROR("checkpoints: [a]\nweights:\n  bottom: -2\n", "JOB.yaml:3:", "'weights.bottom' must be >= 0, got -2");
  EXPECT_ERROR("checkpoints: [a]\nweights: [1, 2]\n", "JOB.yaml:2:", "'weights' must be a mapping", "got a list");
  EXPECT_ERROR("checkpoints: [a]\nweights:\n  full: sometimes\n", "JOB.yaml:3:", "'weights.full' must be auto, true or false, got 'sometimes'");
  EXPECT_ERROR("checkpoints: [a]\nweights:\n  vectors: 2\n", "'weights.vectors' must be true or false, got '2'");
  EXPECT_ERROR("checkpoints: [a]\nweights:\n  rank_tol: small\n", "JOB.yaml:3:", "'weights.rank_tol' must be a finite number");
  EXPECT_ERROR("checkpoints: [a]\ntensors:\n  include: {a: 1}\n", "JOB.yaml:3:", "'tensors.include' must be a list of glob patterns");
  EXPECT_ERROR("checkpoints: [a]\ntensors:\n  split:\n    - match: x\n      parts: [q, k]\n      axis: 2\n", "JOB.yaml:6:", "'tensors.split[0].axis' must be 0 (rows of the analysed matrix) or 1 (columns)");
  EXPECT_ERROR("checkpoints: [a]\ntensors:\n  split:\n    - parts: [q, k]\n", "JOB.yaml:4:", "'tensors.split[0]' has no 'match'");
  EXPECT_ERROR("checkpoints: [a]\nresources:\n  ranks_per_task: 0\n", "JOB.yaml:3:", "'resources.ranks_per_task' must be >= 1");
  EXPECT_ERROR("checkpoints: [a]\nsolver: [svd_tol]\n", "JOB.yaml:2:", "'solver' must be a mapping");
  EXPECT_ERROR("checkpoints: [a]\nsolver:\n  svd_type: trlanczos cross\n", "JOB.yaml:3:", "solver option '-svd_type' contains a space");
  /* checkpoints */
  EXPECT_ERROR("name: x\nweights: {top: 2}\n", "JOB.yaml: the required key 'checkpoints' is missing");
  EXPECT_ERROR("checkpoints: []\n", "JOB.yaml:1:", "'checkpoints' is empty");
  EXPECT_ERROR("checkpoints:\n", "'checkpoints' is empty");
  EXPECT_ERROR("checkpoints: a.safetensors\n", "JOB.yaml:1:", "'checkpoints' must be a list");
  EXPECT_ERROR("checkpoints:\n  - run1/model.safetensors\n  - run2/model.safetensors\n", "JOB.yaml:3:", "both have the label 'model'");
  EXPECT_ERROR("checkpoints:\n  - label: x\n", "JOB.yaml:2:", "'checkpoints[0]' has no 'path'");
  /* sizes */
  EXPECT_ERROR("checkpoints: [a]\nresources:\n  memory_per_rank: 2 GiBs\n", "JOB.yaml:3:", "'resources.memory_per_rank' must be a positive size", "got '2 GiBs'");
  EXPECT_ERROR("checkpoints: [a]\nresources:\n  memory_per_rank: -1GB\n", "'resources.memory_per_rank' must be a positive size");
  /* nothing to compute */
  EXPECT_ERROR("checkpoints: [a]\nweights: {full: false, top: 0}\n", "'weights' asks for nothing");
  /* YAML syntax errors: line and column from libyaml */
  EXPECT_ERROR("checkpoints: [a, b\nweights:\n  top: 1\n", "JOB.yaml:2:", "YAML syntax error");
  EXPECT_ERROR("checkpoints:\n  - a\n weights: 3\n", "JOB.yaml:3:", "YAML syntax error");
  EXPECT_ERROR("checkpoints: [a]\nname: 'unterminated\n", "YAML syntax error");
  /* not a mapping / empty */
  EXPECT_ERROR("- a\n- b\n", "JOB.yaml:1:", "must be a mapping of 'key: value' lines at the top level");
  EXPECT_ERROR("", "JOB.yaml: the job file is empty");
  EXPECT_ERROR("# only a comment\n", "the job file is empty");
  PetscFunctionReturn(0);
}

/* Runs: step patterns expanded on the file system (empty files suffice: SpdJobLoad does
   not open checkpoints), ordered numerically, labelled <run>/step<step>; explicit lists. */
static PetscErrorCode TestRuns(void)
{
  PetscMPIInt rank, size;
  char        dir[PETSC_MAX_PATH_LEN], cwd[PETSC_MAX_PATH_LEN], text[4096], path[2 * PETSC_MAX_PATH_LEN];
  SpdJob      job;
  const char *files[] = { "a/step_10.safetensors", "a/step_2.safetensors", "a/step_0.safetensors", "a/step_final.safetensors", "b-1/ckpt_7.st", "b-1/ckpt_5.st", "b-2/ckpt_100.st", "dup/s_7.st", "dup/s_007.st" };
  struct {
    const char *path, *run, *label;
    PetscInt64  step;
  } expect[] = {
    { "model.safetensors", "", "model", -1 },
    { "a/step_0.safetensors", "seed0", "seed0/step0", 0 },
    { "a/step_2.safetensors", "seed0", "seed0/step2", 2 },
    { "a/step_10.safetensors", "seed0", "seed0/step10", 10 },
    { "b-1/ckpt_5.st", "wd", "wd/step5", 5 },
    { "b-1/ckpt_7.st", "wd", "wd/step7", 7 },
    { "b-2/ckpt_100.st", "wd", "wd/step100", 100 },
    { "l/epoch_12.safetensors", "listed", "listed/step12", 12 },
    { "l/x.safetensors", "listed", "listed/step30", 30 },
    { "l/first.safetensors", "listed", "listed/first", -1 },
    { "l/final.h5", "listed", "listed/final", -1 },
  };
  const PetscInt nexpect = (PetscInt)(sizeof(expect) / sizeof(expect[0]));

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscGetWorkingDirectory(cwd, sizeof(cwd)));
  PetscCall(PetscSNPrintf(dir, sizeof(dir), "%s/job_parse_runs_%d", cwd, size));
  if (rank == 0) {
    const char *sub[] = { "", "/a", "/b-1", "/b-2", "/dup" };
    for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
      PetscCall(PetscSNPrintf(path, sizeof(path), "%s%s", dir, sub[i]));
      PetscCall(PetscMkdir(path));
    }
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
      FILE *f;
      PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", dir, files[i]));
      f = fopen(path, "w");
      PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
      fclose(f);
    }
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));

  PetscCall(PetscSNPrintf(text, sizeof(text),
      "checkpoints: [model.safetensors]\n"
      "runs:\n"
      "  - name: seed0\n"
      "    checkpoints: a/step_{step}.safetensors\n"
      "  - name: wd\n"
      "    checkpoints: \"b-*/ckpt_{step}.st\"\n"
      "  - name: listed\n"
      "    checkpoints:\n"
      "      - l/first.safetensors\n"
      "      - {path: l/x.safetensors, step: 30}\n"
      "      - l/final.h5\n"
      "      - l/epoch_12.safetensors\n"));
  PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, text, "RUNS.yaml", dir, &job));
  SPD_EXPECT(job->ncheckpoints == nexpect, "runs: %" PetscInt_FMT " checkpoints, expected %" PetscInt_FMT, job->ncheckpoints, nexpect);
  for (PetscInt i = 0; i < PetscMin(nexpect, job->ncheckpoints); i++) {
    const SpdJobCheckpoint *ck = &job->checkpoints[i];
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/%s", dir, expect[i].path));
    SPD_EXPECT(!strcmp(ck->path, path), "runs: checkpoint %" PetscInt_FMT " path %s, expected %s", i, ck->path, path);
    SPD_EXPECT(!strcmp(ck->run, expect[i].run), "runs: checkpoint %" PetscInt_FMT " run '%s', expected '%s'", i, ck->run, expect[i].run);
    SPD_EXPECT(!strcmp(ck->label, expect[i].label), "runs: checkpoint %" PetscInt_FMT " label '%s', expected '%s'", i, ck->label, expect[i].label);
    SPD_EXPECT(ck->step == expect[i].step, "runs: checkpoint %" PetscInt_FMT " step %" PetscInt64_FMT ", expected %" PetscInt64_FMT, i, ck->step, expect[i].step);
  }
  PetscCall(SpdJobDestroy(&job));

  /* runs alone (no checkpoints key), through a job file: paths start at its folder */
  if (rank == 0) {
    FILE *f;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/runsonly.yaml", dir));
    f = fopen(path, "w");
    PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
    fprintf(f, "runs:\n  - name: s\n    checkpoints: a/step_{step}.safetensors\n");
    fclose(f);
  }
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscSNPrintf(path, sizeof(path), "job_parse_runs_%d/runsonly.yaml", size));
  PetscCall(SpdJobLoad(PETSC_COMM_WORLD, path, &job));
  SPD_EXPECT(job->ncheckpoints == 3 && job->checkpoints[0].step == 0 && job->checkpoints[1].step == 2 && job->checkpoints[2].step == 10, "runs only: 3 checkpoints in step order");
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/a/step_10.safetensors", dir));
  SPD_EXPECT(job->ncheckpoints == 3 && !strcmp(job->checkpoints[2].path, path) && !strcmp(job->checkpoints[2].label, "s/step10"), "runs only: last %s", job->ncheckpoints == 3 ? job->checkpoints[2].path : "");
  PetscCall(SpdJobDestroy(&job));

  /* errors */
  EXPECT_ERROR("runs:\n  - name: r\n    checkpoints: ckpt/model.safetensors\n", "JOB.yaml:3:", "the pattern 'ckpt/model.safetensors' of run 'r' must contain {step} exactly once (it has 0)");
  EXPECT_ERROR("runs:\n  - name: r\n    checkpoints: ckpt/{step}/step_{step}.safetensors\n", "JOB.yaml:3:", "must contain {step} exactly once (it has 2)");
  EXPECT_ERROR("runs:\n  - name: r\n    checkpoints: nowhere/step_{step}.safetensors\n", "JOB.yaml:3:", "the pattern 'nowhere/step_{step}.safetensors' of run 'r' matches no file", "folder '/data/nowhere'");
  PetscCall(PetscSNPrintf(text, sizeof(text), "runs:\n  - name: d\n    checkpoints: %s/dup/s_{step}.st\n", dir));
  {
    char f1[2 * PETSC_MAX_PATH_LEN], f2[2 * PETSC_MAX_PATH_LEN];
    PetscCall(PetscSNPrintf(f1, sizeof(f1), "'%s/dup/s_007.st'", dir));
    PetscCall(PetscSNPrintf(f2, sizeof(f2), "'%s/dup/s_7.st'", dir));
    EXPECT_ERROR(text, "JOB.yaml:3:", "run 'd' has two checkpoints with step 7", f1, f2);
  }
  EXPECT_ERROR("runs:\n  - name: r\n    checkpoints:\n      - {path: x.safetensors, step: 3}\n      - {path: y.safetensors, step: 3}\n", "run 'r' has two checkpoints with step 3: '/data/x.safetensors' and '/data/y.safetensors'");
  EXPECT_ERROR("runs:\n  - name: r\n    checkpoints: [a1.safetensors]\n  - name: r\n    checkpoints: [b1.safetensors]\n", "JOB.yaml:4:", "two runs are named 'r'");
  EXPECT_ERROR("runs:\n  - name: r\n    chekpoints: [a1.safetensors]\n", "JOB.yaml:3:", "unknown key 'chekpoints' in 'runs[0]'; did you mean 'checkpoints'?");
  EXPECT_ERROR("runs:\n  - name: r\n    checkpoints:\n      - path: a1.safetensors\n        stpe: 4\n", "JOB.yaml:5:", "unknown key 'stpe' in 'runs[0].checkpoints[0]'; did you mean 'step'?");
  EXPECT_ERROR("runs:\n  - checkpoints: [a1.safetensors]\n", "JOB.yaml:2:", "'runs[0]' has no 'name'");
  EXPECT_ERROR("runs:\n  - name: a/b\n    checkpoints: [a1.safetensors]\n", "JOB.yaml:2:", "'runs[0].name' may not contain '/'");
  EXPECT_ERROR("runs:\n  - name: r\n    checkpoints:\n      - {path: x.safetensors, step: -3}\n", "JOB.yaml:4:", "'runs[0].checkpoints[0].step' must be an integer >= 0, got '-3'");
  EXPECT_ERROR("runs: []\n", "'runs' is empty");
  EXPECT_ERROR("runs:\n  - name: r\n    checkpoints: [x/first.safetensors, y/first.safetensors]\n", "JOB.yaml:3:", "two checkpoints of the job have the label 'r/first' ('/data/x/first.safetensors' and '/data/y/first.safetensors')");
  PetscFunctionReturn(0);
}

static PetscErrorCode TestOptions(void)
{
  SpdJob    job;
  PetscInt  a = 0, b = 0;
  PetscReal t = 0;
  PetscBool set, flag;
  char      str[64];

  PetscFunctionBegin;
  /* "command line": set before the job's options are inserted */
  PetscCall(PetscOptionsSetValue(NULL, "-jobtest_b", "3"));
  PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, "checkpoints: [a]\nsolver:\n  -jobtest_a: 5\n  jobtest_b: 7\n  jobtest_flag:\n  jobtest_tol: -1e-3\n  jobtest_str: ':file.txt'\n", "o.yaml", NULL, &job));
  PetscCall(SpdJobInsertOptions(job));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-jobtest_a", &a, &set));
  SPD_EXPECT(set && a == 5, "job option inserted (a = %" PetscInt_FMT ")", a);
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-jobtest_b", &b, &set));
  SPD_EXPECT(set && b == 3, "command line wins (b = %" PetscInt_FMT ", expected 3)", b);
  PetscCall(PetscOptionsHasName(NULL, NULL, "-jobtest_flag", &flag));
  SPD_EXPECT(flag, "flag without value inserted");
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-jobtest_tol", &t, &set));
  SPD_EXPECT(set && t == -1e-3, "negative value kept as value (t = %g)", (double)t);
  PetscCall(PetscOptionsGetString(NULL, NULL, "-jobtest_str", str, sizeof(str), &set));
  SPD_EXPECT(set && !strcmp(str, ":file.txt"), "string value");
  PetscCall(SpdJobDestroy(&job));

  PetscCall(PetscOptionsSetValue(NULL, "-jobtest_d", "1"));
  PetscCall(SpdJobLoadString(PETSC_COMM_WORLD, "checkpoints: [a]\nsolver: \"-jobtest_c 11 -jobtest_d 9\"\n", "o.yaml", NULL, &job));
  PetscCall(SpdJobInsertOptions(job));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-jobtest_c", &a, &set));
  SPD_EXPECT(set && a == 11, "string form inserted");
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-jobtest_d", &b, &set));
  SPD_EXPECT(set && b == 1, "string form: command line wins");
  PetscCall(SpdJobDestroy(&job));
  PetscFunctionReturn(0);
}

/* SpdJobLoad: rank 0 reads, all ranks get the same job; missing file names its path. */
static PetscErrorCode TestLoadFile(void)
{
  PetscMPIInt    rank;
  char           path[PETSC_MAX_PATH_LEN], cwd[PETSC_MAX_PATH_LEN], expect[2 * PETSC_MAX_PATH_LEN];
  SpdJob         job;
  PetscErrorCode ierr;
  char          *msg;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  PetscCall(PetscGetWorkingDirectory(cwd, sizeof(cwd)));
  PetscMPIInt size;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscSNPrintf(path, sizeof(path), "job_parse_dir_%d", size));
  if (rank == 0) {
    FILE *f;
    PetscCall(PetscMkdir(path));
    PetscCall(PetscStrlcat(path, "/filejob.yml", sizeof(path)));
    f = fopen(path, "w");
    PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
    fprintf(f, "checkpoints:\n  - ../ckpt/model.safetensors\nweights:\n  top: 5\n");
    fclose(f);
  } else
    PetscCall(PetscStrlcat(path, "/filejob.yml", sizeof(path)));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(SpdJobLoad(PETSC_COMM_WORLD, path, &job));
  PetscCall(PetscSNPrintf(expect, sizeof(expect), "%s/ckpt/model.safetensors", cwd));
  SPD_EXPECT(!strcmp(job->checkpoints[0].path, expect), "file job: path %s, expected %s", job->checkpoints[0].path, expect);
  SPD_EXPECT(!strcmp(job->name, "filejob") && job->weights.top == 5, "file job: name %s", job->name);
  PetscCall(PetscSNPrintf(expect, sizeof(expect), "%s/job_parse_dir_%d/filejob.results", cwd, size));
  SPD_EXPECT(!strcmp(job->output, expect), "file job: output %s, expected %s", job->output, expect);
  PetscCall(SpdJobDestroy(&job));

  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  ierr = SpdJobLoad(PETSC_COMM_WORLD, "no/such/job.yaml", &job);
  PetscCall(PetscPopErrorHandler());
  SPD_EXPECT(ierr != 0, "missing job file must fail");
  if (ierr) {
    PetscCall(PetscErrorMessage(ierr, NULL, &msg));
    SPD_EXPECT(strstr(msg, "'no/such/job.yaml'") && strstr(msg, "No such file"), "missing file message: %s", msg);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode TestPrintKeys(void)
{
  PetscMPIInt rank;

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (rank == 0) {
    FILE       *f = tmpfile();
    static char buf[65536];
    size_t      n;
    const char *keys[] = { "name:", "output:", "checkpoints:", "label:", "runs:", "{step}", "step:", "include:", "exclude:", "split:", "match:", "parts:", "axis:", "heads:", "transpose:", "weights:", "full:", "full_max:", "top:", "bottom:", "vectors:", "rank_tol:", "tail_min:", "solver:", "resources:", "memory_per_rank:", "ranks_per_task:", "train:", "sweep:", "training_jacobian:", "ensemble:", "widths:", "test_n:", "input_groups:" };
    PetscCall(SpdJobPrintKeys(f));
    rewind(f);
    n      = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) SPD_EXPECT(strstr(buf, keys[i]), "SpdJobPrintKeys lacks %s", keys[i]);
  }
  PetscFunctionReturn(0);
}

/* The shipped template parses, and docs/jobs.md documents every key. */
static PetscErrorCode TestShippedFiles(void)
{
  const char *src = getenv("SPD_SOURCE_DIR");
  char        path[PETSC_MAX_PATH_LEN];
  SpdJob      job;
  PetscMPIInt rank;

  PetscFunctionBegin;
  if (!src) {
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "SPD_SOURCE_DIR not set: shipped job files not checked\n"));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/jobs/templates/weights.yaml", src));
  PetscCall(SpdJobLoad(PETSC_COMM_WORLD, path, &job));
  SPD_EXPECT(job->ncheckpoints == 3 && !strcmp(job->checkpoints[2].label, "final") && job->weights.top == 8, "template fields");
  PetscCall(SpdJobDestroy(&job));
  /* jobs/demo.yaml names runs of checkpoints that scripts/demo.sh writes first: the demo
     test (tests/e2e/test_demo.sh) runs it end to end */

  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (rank == 0) {
    static char buf[131072];
    const char *keys[] = { "`name`", "`output`", "`checkpoints`", "`path`", "`label`", "`runs`", "`step`", "`include`", "`exclude`", "`split`", "`match`", "`parts`", "`axis`", "`heads`", "`transpose`", "`weights`", "`full`", "`full_max`", "`top`", "`bottom`", "`vectors`", "`rank_tol`", "`tail_min`", "`solver`", "`resources`", "`memory_per_rank`", "`ranks_per_task`", "`compare`", "`differences`", "`layers`", "`model`", "`data`", "`curvature`", "`operators`", "`blocks`" };
    FILE       *f;
    size_t      n;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/docs/jobs.md", src));
    f = fopen(path, "r");
    SPD_EXPECT(f, "cannot read %s", path);
    if (f) {
      n      = fread(buf, 1, sizeof(buf) - 1, f);
      buf[n] = 0;
      fclose(f);
      for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) SPD_EXPECT(strstr(buf, keys[i]), "docs/jobs.md does not document %s", keys[i]);
    }
  }
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscCall(SpdInitialize(&argc, &argv, NULL, help));
  PetscCall(TestFullJob());
  PetscCall(TestDefaults());
  PetscCall(TestErrors());
  PetscCall(TestRuns());
  PetscCall(TestOptions());
  PetscCall(TestLoadFile());
  PetscCall(TestPrintKeys());
  PetscCall(TestShippedFiles());
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
