/* HDF5 helpers shared by the readers and the results store. */
#include <specdyn/private/h5util.h>

/* The string attribute `name` of object `obj` (relative to loc; "." for loc itself):
   variable- or fixed-length, scalar or 1 element; *out is NULL if absent or not a
   string. Free *out with PetscFree. */
PetscErrorCode SpdH5ReadAttrString(hid_t loc, const char obj[], const char name[], char **out)
{
  hid_t    attr, atype, space, memtype;
  hssize_t npts;

  PetscFunctionBegin;
  *out = NULL;
  if (H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) <= 0) PetscFunctionReturn(0);
  SpdCallH5Return(attr, H5Aopen_by_name, (loc, obj, name, H5P_DEFAULT, H5P_DEFAULT));
  SpdCallH5Return(atype, H5Aget_type, (attr));
  SpdCallH5Return(space, H5Aget_space, (attr));
  npts = H5Sget_simple_extent_npoints(space);
  if (H5Tget_class(atype) == H5T_STRING && npts == 1) {
    if (H5Tis_variable_str(atype) > 0) {
      char *s = NULL;

      SpdCallH5Return(memtype, H5Tcopy, (H5T_C_S1));
      SpdCallH5(H5Tset_size, (memtype, H5T_VARIABLE));
      SpdCallH5(H5Tset_cset, (memtype, H5Tget_cset(atype))); /* no ASCII <-> UTF-8 conversion exists */
      SpdCallH5(H5Aread, (attr, memtype, &s));
      if (s) {
        PetscCall(PetscStrallocpy(s, out));
        H5free_memory(s);
      }
      SpdCallH5(H5Tclose, (memtype));
    } else {
      size_t sz = H5Tget_size(atype);

      PetscCall(PetscCalloc1(sz + 1, out));
      SpdCallH5(H5Aread, (attr, atype, *out));
    }
  }
  SpdCallH5(H5Sclose, (space));
  SpdCallH5(H5Tclose, (atype));
  SpdCallH5(H5Aclose, (attr));
  PetscFunctionReturn(0);
}
