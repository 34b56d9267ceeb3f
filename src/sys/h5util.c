/* HDF5 helpers shared by the readers and the results store. */
#include <specdyn/private/h5util.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The string attribute `name` of object `obj` (relative to loc; "." for loc itself):
   variable- or fixed-length, scalar or 1 element; *out is NULL if absent or not a
   string. Free *out with PetscFree. */
PetscErrorCode SpdH5ReadAttrString(hid_t loc, const char obj[], const char name[], char **out)
{
  hid_t    attr, atype = -1, space = -1, memtype = -1;
  hssize_t npts = -1;
  herr_t   st   = 0;
  char    *val  = NULL;

  PetscFunctionBegin;
  *out = NULL;
  if (H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) <= 0) PetscFunctionReturn(0);
  SpdCallH5Return(attr, H5Aopen_by_name, (loc, obj, name, H5P_DEFAULT, H5P_DEFAULT));
  /* every identifier is closed on every path: a variable-length string type keeps the
     file open after H5Fclose (found by fuzzing corrupt model_config attributes) */
  atype = H5Aget_type(attr);
  if (atype >= 0) space = H5Aget_space(attr);
  if (space >= 0) npts = H5Sget_simple_extent_npoints(space);
  if (atype < 0 || space < 0 || npts < 0)
    st = -1;
  else if (H5Tget_class(atype) == H5T_STRING && npts == 1) {
    if (H5Tis_variable_str(atype) > 0) {
      char *s = NULL;

      memtype = H5Tcopy(H5T_C_S1);
      if (memtype < 0 || H5Tset_size(memtype, H5T_VARIABLE) < 0 || H5Tset_cset(memtype, H5Tget_cset(atype)) < 0)
        st = -1; /* no ASCII <-> UTF-8 conversion exists */
      else
        st = H5Aread(attr, memtype, &s);
      if (st >= 0 && s) {
        if (PetscStrallocpy(s, &val)) st = -1;
        H5free_memory(s);
      }
    } else {
      size_t sz = H5Tget_size(atype);

      if (sz == 0 || PetscCalloc1(sz + 1, &val))
        st = -1;
      else
        st = H5Aread(attr, atype, val);
    }
  }
  if (memtype >= 0) H5Tclose(memtype);
  if (space >= 0) H5Sclose(space);
  if (atype >= 0) H5Tclose(atype);
  H5Aclose(attr);
  if (st < 0) {
    char file[PETSC_MAX_PATH_LEN] = "?";

    PetscCall(PetscFree(val));
    (void)H5Fget_name(loc, file, sizeof(file));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: HDF5 cannot read the string attribute '%s' of %s; the file is corrupt", file, name, obj);
  }
  *out = val;
  PetscFunctionReturn(0);
}

/* Close every object still open in `file` (datasets, groups, named datatypes,
   attributes: left open by an error between a create and its close), then the file,
   with HDF5's error stack silenced. Returns PETSC_TRUE if the file closed. A file left
   with open objects would be closed again by HDF5 at MPI_Finalize and crash there when
   its last flush fails (a full disk). */
PetscBool SpdH5CloseFile(hid_t file)
{
  ssize_t n;
  herr_t  err = -1;

  H5E_BEGIN_TRY
  {
    n = H5Fget_obj_count(file, H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL);
    if (n > 0) {
      hid_t *ids = (hid_t *)malloc(sizeof(hid_t) * (size_t)n);
      if (ids) {
        n = H5Fget_obj_ids(file, H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL, (size_t)n, ids);
        for (ssize_t i = 0; i < n; i++) {
          switch (H5Iget_type(ids[i])) {
          case H5I_ATTR:
            (void)H5Aclose(ids[i]);
            break;
          case H5I_DATASET:
            (void)H5Dclose(ids[i]);
            break;
          case H5I_GROUP:
            (void)H5Gclose(ids[i]);
            break;
          case H5I_DATATYPE:
            (void)H5Tclose(ids[i]);
            break;
          default:
            break;
          }
        }
        free(ids);
      }
    }
    err = H5Fclose(file);
  }
  H5E_END_TRY;
  return err >= 0 ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode SpdH5WriteArray(hid_t loc, const char name[], int ndims, const hsize_t dims[], hid_t type, const void *v)
{
  hid_t  space, dset;
  herr_t err;

  PetscFunctionBegin;
  space = H5Screate_simple(ndims, dims, NULL);
  PetscCheck(space >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create the dataspace of dataset %s", name);
  dset = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (dset < 0) {
    H5Sclose(space);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create dataset %s (does it exist already, or is the disk full?)", name);
  }
  {
    hsize_t count = 1;
    for (int i = 0; i < ndims; i++) count *= dims[i];
    err = count ? H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : 0;
  }
  H5Dclose(dset);
  H5Sclose(space);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "HDF5 could not write dataset %s (disk full?)", name);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdH5WriteReals(hid_t loc, const char name[], int ndims, const hsize_t dims[], const PetscReal v[])
{
  PetscFunctionBegin;
  PetscCall(SpdH5WriteArray(loc, name, ndims, dims, H5T_NATIVE_DOUBLE, v));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdH5WriteInts(hid_t loc, const char name[], int ndims, const hsize_t dims[], const PetscInt v[])
{
  hsize_t  count = 1;
  int64_t *w;

  PetscFunctionBegin;
  for (int i = 0; i < ndims; i++) count *= dims[i];
  PetscCall(PetscMalloc1(count + 1, &w)); /* int64 in the file for any PetscInt */
  for (hsize_t i = 0; i < count; i++) w[i] = (int64_t)v[i];
  PetscCall(SpdH5WriteArray(loc, name, ndims, dims, H5T_NATIVE_INT64, w));
  PetscCall(PetscFree(w));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdH5WriteAttr(hid_t obj, const char name[], hid_t type, const void *v)
{
  hid_t  space, attr;
  herr_t err;

  PetscFunctionBegin;
  space = H5Screate(H5S_SCALAR);
  PetscCheck(space >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create the dataspace of attribute %s", name);
  attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr < 0) {
    H5Sclose(space);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create attribute %s", name);
  }
  err = H5Awrite(attr, type, v);
  H5Aclose(attr);
  H5Sclose(space);
  PetscCheck(err >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "HDF5 could not write attribute %s", name);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdH5WriteAttrReal(hid_t obj, const char name[], PetscReal v)
{
  double d = (double)v;

  PetscFunctionBegin;
  PetscCall(SpdH5WriteAttr(obj, name, H5T_NATIVE_DOUBLE, &d));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdH5WriteAttrInt(hid_t obj, const char name[], PetscInt64 v)
{
  int64_t i = (int64_t)v;

  PetscFunctionBegin;
  PetscCall(SpdH5WriteAttr(obj, name, H5T_NATIVE_INT64, &i));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdH5WriteAttrString(hid_t obj, const char name[], const char value[])
{
  hid_t          type;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  type = H5Tcopy(H5T_C_S1);
  PetscCheck(type >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not create the string type of attribute %s", name);
  if (H5Tset_size(type, strlen(value) + 1) < 0 || H5Tset_strpad(type, H5T_STR_NULLTERM) < 0) {
    H5Tclose(type);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 could not set up the string type of attribute %s", name);
  }
  ierr = SpdH5WriteAttr(obj, name, type, value);
  H5Tclose(type); /* on every path: an open datatype would keep the file open */
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode SpdH5CreateFile(const char path[], hid_t *file)
{
  char tmp[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  H5E_BEGIN_TRY
  {
    *file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  }
  H5E_END_TRY;
  if (*file < 0) {
    (void)remove(tmp); /* H5Fcreate may fail after creating it (its superblock not written: disk full) */
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot create %s; check that its folder exists and is writable, and the free space", tmp);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode SpdH5CommitFile(hid_t file, const char path[])
{
  char tmp[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0 || !SpdH5CloseFile(file)) {
    (void)remove(tmp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Writing %s failed (disk full?); nothing was stored under that name", path);
  }
  if (rename(tmp, path)) {
    int e = errno;

    (void)remove(tmp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "Cannot rename %s to %s: %s; nothing was stored under that name", tmp, path, strerror(e));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode SpdH5AbortFile(hid_t file, const char path[])
{
  char tmp[PETSC_MAX_PATH_LEN];

  PetscFunctionBegin;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  (void)SpdH5CloseFile(file);
  (void)remove(tmp);
  PetscFunctionReturn(0);
}
