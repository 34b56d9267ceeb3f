/* HDF5 helpers shared by the readers and the results store. */
#include <specdyn/private/h5util.h>

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
