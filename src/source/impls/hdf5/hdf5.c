/* The HDF5 checkpoint reader: h5py state-dict dumps and Keras .h5 files.

   Listing (rank 0, serial HDF5):
   - a generic HDF5 file: every numeric dataset, found recursively in name order, is a
     tensor named by its path without the leading '/' (e.g. "layer1/weight");
   - a Keras file (root attribute `model_config` and/or a `model_weights` group; a
     weights-only file from save_weights() has `layer_names` on the root): only the
     weights under model_weights/ are listed (optimizer_weights/ is skipped), layer by
     layer in the order of the `layer_names` attribute and, inside a layer, in the order
     of its `weight_names` attribute. A weight is named "<layer>/<weight>" where <weight>
     is the last path component without Keras 2's ":0" suffix, e.g.
     model_weights/dense/sequential/dense/kernel (Keras 3) and
     model_weights/dense/dense/kernel:0 (Keras 2) are both "dense/kernel". When two
     weights of one layer would get the same name, that layer's weights keep their whole
     path below the layer ("lstm/cell/kernel"). 2-D weights whose name ends in "kernel"
     are stored [in, out] and flagged in_out. The root attribute model_config is kept.

   Blocks (collective on the group): the file is opened with the MPI-IO driver on the
   group's communicator, each rank selects its block of the 2-D view as a union of
   hyperslabs of the N-D dataset (rows along dim 0; the flattened column range split into
   at most 2(N-1)-1 boxes over the trailing dims), and the read is a collective transfer
   converting to native double (HDF5 converts F64/F32/F16 and the integer types). */
#include <specdyn/private/readerimpl.h>
#include <specdyn/private/h5util.h>
#include <limits.h>

/* HDF5 prints its error stack on failure; the reader reports its own messages instead. */
typedef struct {
  H5E_auto2_t func;
  void       *data;
} SpdH5Quiet;

static void H5QuietBegin(SpdH5Quiet *q)
{
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void H5QuietEnd(SpdH5Quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

/* Map an HDF5 datatype to a dtype; *numeric is false for strings, compounds, ... */
static void DTypeFromH5(hid_t type, SpdDType *dt, PetscBool *numeric)
{
  H5T_class_t cls = H5Tget_class(type);
  size_t      sz  = H5Tget_size(type);

  *dt      = SPD_DTYPE_UNKNOWN;
  *numeric = PETSC_TRUE;
  if (cls == H5T_FLOAT) {
    size_t spos, epos, esize, mpos, msize;

    if (sz == 8)
      *dt = SPD_DTYPE_F64;
    else if (sz == 4)
      *dt = SPD_DTYPE_F32;
    else if (sz == 2 && H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) >= 0) {
      if (msize == 10 && esize == 5)
        *dt = SPD_DTYPE_F16;
      else if (msize == 7 && esize == 8)
        *dt = SPD_DTYPE_BF16;
    }
  } else if (cls == H5T_INTEGER) {
    PetscBool sgn = H5Tget_sign(type) == H5T_SGN_2 ? PETSC_TRUE : PETSC_FALSE;

    switch (sz) {
    case 8:
      *dt = sgn ? SPD_DTYPE_I64 : SPD_DTYPE_U64;
      break;
    case 4:
      *dt = sgn ? SPD_DTYPE_I32 : SPD_DTYPE_U32;
      break;
    case 2:
      *dt = sgn ? SPD_DTYPE_I16 : SPD_DTYPE_U16;
      break;
    case 1:
      *dt = sgn ? SPD_DTYPE_I8 : SPD_DTYPE_U8;
      break;
    }
  } else if (cls == H5T_ENUM) {
    /* h5py stores numpy bool as an enum {FALSE=0, TRUE=1} over int8 */
    if (sz == 1 && H5Tget_nmembers(type) == 2) *dt = SPD_DTYPE_BOOL;
  } else
    *numeric = PETSC_FALSE;
}

static PetscErrorCode FreeStrings(PetscInt n, char ***s)
{
  PetscFunctionBegin;
  for (PetscInt i = 0; i < n; i++) PetscCall(PetscFree((*s)[i]));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}

/* Read the npts strings of attribute `attr` (string type `atype`) into out[] (allocated). */
static PetscErrorCode ReadStrings(hid_t attr, hid_t atype, hid_t space, hssize_t npts, char **out)
{
  PetscFunctionBegin;
  if (H5Tis_variable_str(atype) > 0) {
    char         **s;
    hid_t          memtype;
    PetscErrorCode ierr = 0;

    PetscCall(PetscCalloc1(npts, &s));
    SpdCallH5Return(memtype, H5Tcopy, (H5T_C_S1));
    if (H5Tset_size(memtype, H5T_VARIABLE) < 0 || H5Aread(attr, memtype, s) < 0) {
      H5Tclose(memtype);
      PetscCall(PetscFree(s));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 cannot read a variable-length string attribute");
    }
    for (hssize_t i = 0; i < npts && !ierr; i++) ierr = PetscStrallocpy(s[i] ? s[i] : "", &out[i]);
    H5Dvlen_reclaim(memtype, space, H5P_DEFAULT, s);
    H5Tclose(memtype);
    PetscCall(PetscFree(s));
    PetscCall(ierr);
  } else {
    size_t         sz = H5Tget_size(atype);
    char          *buf;
    PetscErrorCode ierr = 0;

    PetscCheck(sz > 0 && (size_t)npts <= ((size_t)1 << 40) / sz, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "a string attribute of %lld strings of %zu bytes is corrupt", (long long)npts, sz);
    PetscCall(PetscCalloc1(sz * npts + 1, &buf));
    if (H5Aread(attr, atype, buf) < 0) {
      PetscCall(PetscFree(buf));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 cannot read a fixed-length string attribute");
    }
    for (hssize_t i = 0; i < npts && !ierr; i++) {
      ierr = PetscCalloc1(sz + 1, &out[i]);
      if (!ierr) ierr = PetscMemcpy(out[i], buf + i * sz, sz);
    }
    PetscCall(PetscFree(buf));
    PetscCall(ierr);
  }
  PetscFunctionReturn(0);
}

/* A 1-D string-array attribute (Keras layer_names / weight_names); n = 0 if absent or
   not strings (Keras writes an empty float array for layers without weights). On error
   nothing stays allocated or open. */
static PetscErrorCode ReadStringArrayAttr(hid_t obj, const char name[], PetscInt *n, char ***out)
{
  hid_t          attr, atype, space;
  hssize_t       npts;
  PetscErrorCode ierr = 0;

  PetscFunctionBegin;
  *n   = 0;
  *out = NULL;
  if (H5Aexists(obj, name) <= 0) PetscFunctionReturn(0);
  SpdCallH5Return(attr, H5Aopen, (obj, name, H5P_DEFAULT));
  atype = H5Aget_type(attr);
  space = atype >= 0 ? H5Aget_space(attr) : -1;
  npts  = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  if (atype < 0 || space < 0 || npts < 0) {
    if (space >= 0) H5Sclose(space);
    if (atype >= 0) H5Tclose(atype);
    H5Aclose(attr);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5 cannot read the type or shape of attribute %s", name);
  }
  if (H5Tget_class(atype) == H5T_STRING && npts > 0) {
    char **strs = NULL;

    ierr = PetscCalloc1(npts, &strs);
    if (!ierr) ierr = ReadStrings(attr, atype, space, npts, strs);
    if (ierr && strs) {
      for (hssize_t i = 0; i < npts; i++) PetscCall(PetscFree(strs[i]));
      PetscCall(PetscFree(strs));
    } else {
      *out = strs;
      *n   = (PetscInt)npts;
    }
  }
  H5Sclose(space);
  H5Tclose(atype);
  H5Aclose(attr);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* Append dataset `h5path` (absolute) as tensor `name`; non-numeric datasets are skipped. */
static PetscErrorCode AddDataset(SpdReader r, const char file[], hid_t dset, const char h5path[], const char name[], PetscBool keras)
{
  hid_t          space, type;
  int            nd;
  hsize_t        dims[H5S_MAX_RANK];
  SpdDType       dt;
  PetscBool      numeric;
  SpdTensorInfo *t;
  PetscInt64     prod = 1;
  size_t         esize;

  PetscFunctionBegin;
  SpdCallH5Return(type, H5Dget_type, (dset));
  DTypeFromH5(type, &dt, &numeric);
  esize = H5Tget_size(type);
  SpdCallH5(H5Tclose, (type));
  if (!numeric) PetscFunctionReturn(0);
  SpdCallH5Return(space, H5Dget_space, (dset));
  if (H5Sget_simple_extent_type(space) == H5S_NULL) {
    SpdCallH5(H5Sclose, (space));
    PetscFunctionReturn(0);
  }
  SpdCallH5Return(nd, H5Sget_simple_extent_dims, (space, dims, NULL));
  SpdCallH5(H5Sclose, (space));
  PetscCheck(nd <= SPD_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: dataset %s has %d dimensions; specdyn reads at most %d", file, h5path, nd, SPD_MAX_DIMS);
  PetscCheck(strlen(name) < SPD_MAX_NAME && strlen(h5path) < SPD_MAX_NAME, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: dataset path %s is longer than the %d characters specdyn keeps", file, h5path, SPD_MAX_NAME - 1);
  PetscCall(SpdReaderAddTensor_Private(r, &t));
  PetscCall(PetscStrncpy(t->name, name, sizeof(t->name)));
  PetscCall(PetscStrncpy(t->file, file, sizeof(t->file)));
  PetscCall(PetscStrncpy(t->dataset, h5path, sizeof(t->dataset)));
  t->dtype  = dt;
  t->ndim   = nd;
  t->offset = -1;
  for (int d = 0; d < nd; d++) {
    t->shape[d] = (PetscInt64)dims[d];
    prod *= (PetscInt64)dims[d];
  }
  t->nbytes = prod * (PetscInt64)(dt != SPD_DTYPE_UNKNOWN ? SpdDTypeSize(dt) : esize);
  if (keras && nd == 2) {
    size_t l = strlen(name);
    if (l >= 6 && !strcmp(name + l - 6, "kernel")) t->in_out = PETSC_TRUE;
  }
  PetscFunctionReturn(0);
}

typedef struct {
  SpdReader      r;
  const char    *file;
  const char    *prefix; /* absolute path of the visited group, "" for the root */
  PetscErrorCode ierr;
  /* collecting relative dataset paths instead of adding them (Keras layers) */
  PetscInt n, max;
  char   **paths;
} SpdH5Visit;

static PetscErrorCode VisitOne(SpdH5Visit *v, hid_t group, const char name[])
{
  hid_t obj;

  PetscFunctionBegin;
  obj = H5Oopen(group, name, H5P_DEFAULT);
  if (obj < 0) PetscFunctionReturn(0); /* dangling link: not a tensor */
  if (H5Iget_type(obj) == H5I_DATASET) {
    if (v->paths) {
      if (v->n == v->max) {
        char **p;

        v->max = v->max ? 2 * v->max : 16;
        PetscCall(PetscCalloc1(v->max, &p));
        PetscCall(PetscArraycpy(p, v->paths, v->n));
        PetscCall(PetscFree(v->paths));
        v->paths = p;
      }
      PetscCall(PetscStrallocpy(name, &v->paths[v->n++]));
    } else {
      char h5path[2 * SPD_MAX_NAME];

      PetscCall(PetscSNPrintf(h5path, sizeof(h5path), "%s/%s", v->prefix, name));
      PetscCall(AddDataset(v->r, v->file, obj, h5path, name, PETSC_FALSE));
    }
  }
  SpdCallH5(H5Oclose, (obj));
  PetscFunctionReturn(0);
}

static herr_t VisitCallback(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
  SpdH5Visit *v = (SpdH5Visit *)ctx;

  if (info->type != H5L_TYPE_HARD) return 0; /* soft/external links would list tensors twice or elsewhere */
  v->ierr = VisitOne(v, group, name);
  return v->ierr ? -1 : 0;
}

/* Visit every link below `group` in name order. */
static PetscErrorCode VisitGroup(SpdH5Visit *v, hid_t group)
{
  herr_t st;

  PetscFunctionBegin;
  v->ierr = 0;
  st      = H5Lvisit(group, H5_INDEX_NAME, H5_ITER_INC, VisitCallback, v);
  PetscCall(v->ierr);
  PetscCheck(st >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot walk the groups of the HDF5 file (H5Lvisit failed); the file may be corrupt", v->file);
  PetscFunctionReturn(0);
}

static herr_t ListGroupsCallback(hid_t group, const char *name, const H5L_info_t *info, void *ctx)
{
  SpdH5Visit *v = (SpdH5Visit *)ctx;
  H5O_type_t  ot;
  hid_t       obj;

  if (info->type != H5L_TYPE_HARD) return 0;
  obj = H5Oopen(group, name, H5P_DEFAULT);
  if (obj < 0) return 0;
  ot = H5Iget_type(obj) == H5I_GROUP ? H5O_TYPE_GROUP : H5O_TYPE_DATASET;
  H5Oclose(obj);
  if (ot != H5O_TYPE_GROUP) return 0;
  if (v->n == v->max) {
    char **p;

    v->max = v->max ? 2 * v->max : 16;
    if (PetscCalloc1(v->max, &p)) return -1;
    if (v->n) memcpy(p, v->paths, (size_t)v->n * sizeof(char *));
    PetscFree(v->paths);
    v->paths = p;
  }
  if (PetscStrallocpy(name, &v->paths[v->n++])) return -1;
  return 0;
}

/* Name of a Keras weight: last path component without a ":0" suffix. */
static void KerasBaseName(const char path[], char out[], size_t len)
{
  const char *s = strrchr(path, '/');
  size_t      l;

  snprintf(out, len, "%s", s ? s + 1 : path);
  l = strlen(out);
  if (l > 2 && !strcmp(out + l - 2, ":0")) out[l - 2] = 0;
}

/* Add the weights w[0..nw) of one Keras layer group `lg`. */
static PetscErrorCode ListKerasWeights(SpdReader r, const char file[], hid_t lg, const char wgpath[], const char layer[], PetscInt nw, char **w)
{
  PetscBool full = PETSC_FALSE;

  PetscFunctionBegin;
  /* two weights with the same base name: keep whole relative paths for this layer */
  for (PetscInt i = 0; i < nw && !full; i++)
    for (PetscInt j = 0; j < i && !full; j++) {
      char a[SPD_MAX_NAME], b[SPD_MAX_NAME];

      KerasBaseName(w[i], a, sizeof(a));
      KerasBaseName(w[j], b, sizeof(b));
      if (!strcmp(a, b)) full = PETSC_TRUE;
    }
  for (PetscInt i = 0; i < nw; i++) {
    char           name[2 * SPD_MAX_NAME], h5path[3 * SPD_MAX_NAME], base[SPD_MAX_NAME];
    hid_t          ds;
    PetscErrorCode ierr;

    PetscCheck(H5Lexists(lg, w[i], H5P_DEFAULT) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: Keras layer '%s' lists weight '%s' in its weight_names but the file has no dataset %s/%s/%s; the file is corrupt", file, layer, w[i], wgpath, layer, w[i]);
    if (full) {
      PetscCall(PetscStrncpy(base, w[i], sizeof(base)));
      if (strlen(base) > 2 && !strcmp(base + strlen(base) - 2, ":0")) base[strlen(base) - 2] = 0;
    } else
      KerasBaseName(w[i], base, sizeof(base));
    PetscCall(PetscSNPrintf(name, sizeof(name), "%s/%s", layer, base));
    PetscCall(PetscSNPrintf(h5path, sizeof(h5path), "%s/%s/%s", wgpath, layer, w[i]));
    ds = H5Dopen2(lg, w[i], H5P_DEFAULT);
    PetscCheck(ds >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: Keras layer '%s' lists weight '%s' but %s/%s/%s is not a dataset HDF5 can open; the file is corrupt", file, layer, w[i], wgpath, layer, w[i]);
    ierr = AddDataset(r, file, ds, h5path, name, PETSC_TRUE);
    H5Dclose(ds);
    PetscCall(ierr);
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode ListKerasLayer(SpdReader r, const char file[], hid_t wg, const char wgpath[], const char layer[])
{
  hid_t          lg;
  PetscInt       nw = 0;
  char         **w  = NULL;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  if (H5Lexists(wg, layer, H5P_DEFAULT) <= 0) PetscFunctionReturn(0);
  lg = H5Gopen2(wg, layer, H5P_DEFAULT);
  PetscCheck(lg >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: Keras layer '%s' is listed in %s but is not a group HDF5 can open; the file is corrupt", file, layer, wgpath[0] ? wgpath : "/");
  ierr = ReadStringArrayAttr(lg, "weight_names", &nw, &w);
  if (!ierr && !nw) {
    /* no weight_names: every dataset below the layer group, in name order */
    SpdH5Visit v = { 0 };

    v.r    = r;
    v.file = file;
    v.max  = 16;
    ierr   = PetscCalloc1(v.max, &v.paths);
    if (!ierr) ierr = VisitGroup(&v, lg);
    nw = v.n;
    w  = v.paths;
  }
  if (!ierr) ierr = ListKerasWeights(r, file, lg, wgpath, layer, nw, w);
  if (w) PetscCall(FreeStrings(nw, &w));
  H5Gclose(lg);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode ListKeras(SpdReader r, const char file[], hid_t fid, const char wgpath[])
{
  hid_t          wg;
  PetscInt       nl     = 0;
  char         **layers = NULL;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  wg = H5Gopen2(fid, wgpath[0] ? wgpath : "/", H5P_DEFAULT);
  PetscCheck(wg >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: HDF5 cannot open the group %s of the Keras weights; the file is corrupt", file, wgpath[0] ? wgpath : "/");
  ierr = ReadStringArrayAttr(wg, "layer_names", &nl, &layers);
  if (!ierr && !nl) {
    SpdH5Visit v = { 0 };

    v.file = file;
    if (H5Literate(wg, H5_INDEX_NAME, H5_ITER_INC, NULL, ListGroupsCallback, &v) < 0)
      ierr = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_FILE_READ, PETSC_ERROR_INITIAL, "%s: cannot list the layer groups of %s (H5Literate failed); the file may be corrupt", file, wgpath[0] ? wgpath : "/");
    nl     = v.n;
    layers = v.paths;
  }
  for (PetscInt i = 0; i < nl && !ierr; i++) ierr = ListKerasLayer(r, file, wg, wgpath, layers[i]);
  if (layers) PetscCall(FreeStrings(nl, &layers));
  H5Gclose(wg);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

static PetscErrorCode ListFile(SpdReader r, const char path[], hid_t fid)
{
  hid_t     root;
  PetscBool keras_weights = PETSC_FALSE, weights_only = PETSC_FALSE;

  PetscFunctionBegin;
  root = H5Gopen2(fid, "/", H5P_DEFAULT);
  PetscCheck(root >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: HDF5 cannot open the root group; the file is corrupt", path);
  PetscCall(SpdH5ReadAttrString(root, ".", "model_config", &r->model_config));
  if (H5Lexists(fid, "model_weights", H5P_DEFAULT) > 0) {
    H5O_info_t oi;
    if (H5Oget_info_by_name(fid, "model_weights", &oi, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_GROUP) keras_weights = PETSC_TRUE;
  }
  if (!keras_weights && H5Aexists(root, "layer_names") > 0) weights_only = PETSC_TRUE;
  if (keras_weights)
    PetscCall(ListKeras(r, path, fid, "/model_weights"));
  else if (weights_only)
    PetscCall(ListKeras(r, path, fid, ""));
  else {
    SpdH5Visit v = { 0 };

    v.r      = r;
    v.file   = path;
    v.prefix = "";
    PetscCall(VisitGroup(&v, root));
  }
  SpdCallH5(H5Gclose, (root));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdReaderOpenMeta_HDF5(SpdReader r, const char path[])
{
  SpdH5Quiet     q;
  hid_t          fapl, fid;
  htri_t         is;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  H5QuietBegin(&q);
  is = H5Fis_hdf5(path);
  if (is <= 0) {
    H5QuietEnd(&q);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: not an HDF5 file (no HDF5 signature), or it cannot be read; give an HDF5 checkpoint or a safetensors file", path);
  }
  /* strong close: H5Fclose below also closes whatever an error path of the listing left
     open (groups, datasets, attributes), so a bad file never stays open (found by fuzzing) */
  fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
    if (fapl >= 0) H5Pclose(fapl);
    H5QuietEnd(&q);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "%s: cannot create an HDF5 file access property list", path);
  }
  fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (fid < 0) {
    H5QuietEnd(&q);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: HDF5 cannot open the file; it is truncated or corrupt", path);
  }
  ierr = ListFile(r, path, fid);
  H5Fclose(fid);
  H5QuietEnd(&q);
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

typedef struct {
  hsize_t start[SPD_MAX_DIMS], count[SPD_MAX_DIMS];
} SpdBox;

/* Split the flattened range [lo, hi) over dims[level..k) (row-major) into boxes, with
   fixed[] the indices already chosen for dims before `level`. */
static void Decompose(const hsize_t dims[], int k, int level, hsize_t fixed[], hsize_t lo, hsize_t hi, SpdBox box[], int *nbox)
{
  hsize_t inner = 1, a, b, ra, rb;

  for (int d = level + 1; d < k; d++) inner *= dims[d];
  a  = lo / inner;
  ra = lo % inner;
  b  = hi / inner;
  rb = hi % inner;
  if (level == k - 1 || a == b) {
    if (level == k - 1) {
      SpdBox *x = &box[(*nbox)++];
      for (int d = 0; d < level; d++) {
        x->start[d] = fixed[d];
        x->count[d] = 1;
      }
      x->start[level] = lo;
      x->count[level] = hi - lo;
      return;
    }
    fixed[level] = a;
    Decompose(dims, k, level + 1, fixed, ra, rb, box, nbox);
    return;
  }
  if (ra) {
    fixed[level] = a;
    Decompose(dims, k, level + 1, fixed, ra, inner, box, nbox);
    a++;
  }
  if (b > a) {
    SpdBox *x = &box[(*nbox)++];
    for (int d = 0; d < level; d++) {
      x->start[d] = fixed[d];
      x->count[d] = 1;
    }
    x->start[level] = a;
    x->count[level] = b - a;
    for (int d = level + 1; d < k; d++) {
      x->start[d] = 0;
      x->count[d] = dims[d];
    }
  }
  if (rb) {
    fixed[level] = b;
    Decompose(dims, k, level + 1, fixed, 0, rb, box, nbox);
  }
}

/* Select rows [row0,row0+nrows) x flattened cols [col0,col0+ncols) of an N-D dataspace. */
static PetscErrorCode SelectBlock(hid_t fspace, int nd, const hsize_t dims[], PetscInt64 row0, PetscInt64 nrows, PetscInt64 col0, PetscInt64 ncols)
{
  PetscFunctionBegin;
  if (nd == 0)
    SpdCallH5(H5Sselect_all, (fspace));
  else if (nd == 1) {
    hsize_t start = (hsize_t)col0, count = (hsize_t)ncols;
    SpdCallH5(H5Sselect_hyperslab, (fspace, H5S_SELECT_SET, &start, NULL, &count, NULL));
  } else {
    SpdBox  box[2 * SPD_MAX_DIMS];
    hsize_t fixed[SPD_MAX_DIMS] = { 0 }, start[SPD_MAX_DIMS], count[SPD_MAX_DIMS];
    int     nbox                = 0;

    Decompose(dims + 1, nd - 1, 0, fixed, (hsize_t)col0, (hsize_t)(col0 + ncols), box, &nbox);
    for (int b = 0; b < nbox; b++) {
      start[0] = (hsize_t)row0;
      count[0] = (hsize_t)nrows;
      for (int d = 1; d < nd; d++) {
        start[d] = box[b].start[d - 1];
        count[d] = box[b].count[d - 1];
      }
      SpdCallH5(H5Sselect_hyperslab, (fspace, b ? H5S_SELECT_OR : H5S_SELECT_SET, start, NULL, count, NULL));
    }
  }
  PetscFunctionReturn(0);
}

/* The rank-local part of a read, after the file is open on all ranks. */
static PetscErrorCode ReadLocal(const SpdTensorInfo *ti, hid_t fid, PetscInt64 row0, PetscInt64 nrows, PetscInt64 col0, PetscInt64 ncols, double out[], hid_t *dset, hid_t *fspace, hid_t *mspace, hid_t *memtype)
{
  int     nd;
  hsize_t dims[H5S_MAX_RANK], n = (hsize_t)(nrows * ncols), one = 1;

  PetscFunctionBegin;
  SpdCallH5Return(*dset, H5Dopen2, (fid, ti->dataset, H5P_DEFAULT));
  SpdCallH5Return(*fspace, H5Dget_space, (*dset));
  SpdCallH5Return(nd, H5Sget_simple_extent_dims, (*fspace, dims, NULL));
  PetscCheck(nd == ti->ndim, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s changed since the file was listed (%d dimensions, listed %d)", ti->file, ti->dataset, nd, ti->ndim);
  if (n == 0) {
    SpdCallH5(H5Sselect_none, (*fspace));
    SpdCallH5Return(*mspace, H5Screate_simple, (1, &one, NULL));
    SpdCallH5(H5Sselect_none, (*mspace));
  } else {
    PetscCall(SelectBlock(*fspace, nd, dims, row0, nrows, col0, ncols));
    if (nd == 2) { /* the memory space has the selection's shape: HDF5 then maps a chunked dataset's
                      chunks to memory block by block, not element by element: a 4 GB
                      float32 dataset on 2 ranks read in 8.1 s instead of 32.5 s (h5py: 7.7 s) */
      hsize_t mdims[2] = { (hsize_t)nrows, (hsize_t)ncols };
      SpdCallH5Return(*mspace, H5Screate_simple, (2, mdims, NULL));
    } else
      SpdCallH5Return(*mspace, H5Screate_simple, (1, &n, NULL));
  }
  if (ti->dtype == SPD_DTYPE_BOOL)
    SpdCallH5Return(*memtype, H5Dget_type, (*dset)); /* enum: no conversion to numbers, read raw */
  else
    SpdCallH5Return(*memtype, H5Tcopy, (H5T_NATIVE_DOUBLE));
  PetscFunctionReturn(0);
}

static PetscErrorCode SpdReaderReadBlock_HDF5(SpdReader r, PetscInt t, MPI_Comm comm, PetscInt64 row0, PetscInt64 nrows, PetscInt64 col0, PetscInt64 ncols, double out[])
{
  const SpdTensorInfo *ti = &r->tensors[t];
  hid_t                fapl, dxpl, fid, dset = -1, fspace = -1, mspace = -1, memtype = -1;
  SpdH5Quiet           q;
  PetscErrorCode       lerr      = 0;
  char                 msg[4096] = "";
  herr_t               st;
  PetscInt64           n = nrows * ncols;
  double               dummy;
  void                *buf = n ? (void *)out : (void *)&dummy;

  PetscFunctionBegin;
  PetscCheck(ti->dtype != SPD_DTYPE_BF16, PETSC_COMM_SELF, PETSC_ERR_SUP, "%s: dataset %s (tensor '%s') holds bfloat16, which specdyn does not read from HDF5; store it as float32 or use safetensors", ti->file, ti->dataset, ti->name);
  H5QuietBegin(&q);
  SpdCallH5Return(fapl, H5Pcreate, (H5P_FILE_ACCESS));
  SpdCallH5(H5Pset_fapl_mpio, (fapl, comm, MPI_INFO_NULL));
  fid = H5Fopen(ti->file, H5F_ACC_RDONLY, fapl);
  SpdCallH5(H5Pclose, (fapl));
  if (fid < 0) {
    lerr = PETSC_ERR_FILE_OPEN;
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: cannot open the HDF5 file with the MPI-IO driver to read tensor '%s'; check that the file is still there and readable", ti->file, ti->name));
  }
  H5QuietEnd(&q);
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));

  H5QuietBegin(&q);
  PetscCall(SpdErrorCapturePush(msg, sizeof(msg)));
  lerr = ReadLocal(ti, fid, row0, nrows, col0, ncols, out, &dset, &fspace, &mspace, &memtype);
  PetscCall(SpdErrorCapturePop());
  H5QuietEnd(&q);
  if (lerr) {
    PetscCall(PetscSNPrintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (%s: dataset %s, tensor '%s')", ti->file, ti->dataset, ti->name));
    if (memtype >= 0) H5Tclose(memtype);
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    if (dset >= 0) H5Dclose(dset);
  }
  {
    PetscErrorCode cerr = SpdCollectiveError_Private(comm, lerr, msg);
    if (cerr) H5Fclose(fid); /* collective on comm, like the open */
    PetscCall(cerr);
  }

  SpdCallH5Return(dxpl, H5Pcreate, (H5P_DATASET_XFER));
  SpdCallH5(H5Pset_dxpl_mpio, (dxpl, H5FD_MPIO_COLLECTIVE));
  /* HDF5 converts the file type (e.g. float32) to double through a buffer of 1 MiB by
     default, and a collective read is then done 1 MiB of the selection at a time: a 4 GB
     float32 dataset read by 2 ranks took 37 s that way (h5py: 7.7 s). A buffer as large as
     the block, up to 64 MiB (the size of SpdMatLoadView's chunks), makes it one pass. */
  if (n > 0) SpdCallH5(H5Pset_buffer, (dxpl, (size_t)PetscMin(PetscMax(n * 8, (PetscInt64)1 << 20), (PetscInt64)64 << 20), NULL, NULL));
  H5QuietBegin(&q);
  st = H5Dread(dset, memtype, mspace, fspace, dxpl, buf);
  H5QuietEnd(&q);
  if (st < 0) {
    lerr = PETSC_ERR_FILE_READ;
    PetscCall(PetscSNPrintf(msg, sizeof(msg), "%s: HDF5 could not read dataset %s (tensor '%s', dtype %s) as double; the dataset is corrupt or of a type HDF5 cannot convert", ti->file, ti->dataset, ti->name, SpdDTypes[ti->dtype]));
  } else if (ti->dtype == SPD_DTYPE_BOOL && n > 0) {
    /* raw bytes were read into the front of out[]; widen from the back so nothing is overwritten early */
    const uint8_t *b = (const uint8_t *)out;
    for (PetscInt64 i = n - 1; i >= 0; i--) out[i] = b[i] ? 1.0 : 0.0;
  }
  SpdCallH5(H5Pclose, (dxpl));
  SpdCallH5(H5Tclose, (memtype));
  SpdCallH5(H5Sclose, (mspace));
  SpdCallH5(H5Sclose, (fspace));
  SpdCallH5(H5Dclose, (dset));
  SpdCallH5(H5Fclose, (fid));
  PetscCall(SpdCollectiveError_Private(comm, lerr, msg));
  PetscFunctionReturn(0);
}

PetscErrorCode SpdReaderCreate_HDF5(SpdReader r)
{
  PetscFunctionBegin;
  r->ops->openmeta  = SpdReaderOpenMeta_HDF5;
  r->ops->readblock = SpdReaderReadBlock_HDF5;
  PetscFunctionReturn(0);
}
