/* Shared by the data-layer tests: the cases file written by gen_data.py. */
#pragma once
#include <testutil.h>
#include <cJSON.h>

/* Read and parse the JSON cases file `path` (argv[1] of program `prog`). */
static inline PetscErrorCode DataTestLoadCases(int argc, char **argv, const char prog[], cJSON **root)
{
  char  *text;
  size_t len;
  FILE  *fp;

  PetscFunctionBeginUser;
  PetscCheck(argc >= 2, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "usage: %s CASES.json", prog);
  fp = fopen(argv[1], "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s (run gen_data.py first)", argv[1]);
  fseek(fp, 0, SEEK_END);
  len = (size_t)ftell(fp);
  fseek(fp, 0, SEEK_SET);
  PetscCall(PetscMalloc1(len + 1, &text));
  if (fread(text, 1, len, fp) != len) {
    fclose(fp);
    PetscCall(PetscFree(text));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "short read of %s", argv[1]);
  }
  text[len] = 0;
  fclose(fp);
  *root = cJSON_Parse(text);
  PetscCall(PetscFree(text));
  PetscCheck(*root, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s is not JSON", argv[1]);
  PetscFunctionReturn(0);
}
