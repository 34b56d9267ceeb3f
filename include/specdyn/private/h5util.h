/* Private: HDF5 helpers shared by layers (readers, store). */
#pragma once
#include <specdyn/sys.h>

PETSC_INTERN PetscErrorCode SpdH5ReadAttrString(hid_t loc, const char obj[], const char name[], char **out);
/* Close all objects still open in a file, then the file (errors silenced); PETSC_TRUE if it closed. */
PETSC_INTERN PetscBool SpdH5CloseFile(hid_t file);
