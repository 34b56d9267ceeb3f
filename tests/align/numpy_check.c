/* The C side of numpy_reference.py: reads each case's representations X (n x p) and
   Y (n x q), keeps this rank's block of rows (PETSc's default split), computes the
   alignment measures and compares them with numpy's references stored alongside. */
#include <specdyn/alignment.h>
#include "testutil.h"

static PetscErrorCode ReadAttr(hid_t g, const char name[], hid_t type, void *v)
{
  hid_t a;

  PetscFunctionBegin;
  SpdCallH5Return(a, H5Aopen, (g, name, H5P_DEFAULT));
  SpdCallH5(H5Aread, (a, type, v));
  SpdCallH5(H5Aclose, (a));
  PetscFunctionReturn(0);
}

/* The rows [start, start + nlocal) of the 2-D dataset `name` (row-major) and its width. */
static PetscErrorCode ReadRows(hid_t g, const char name[], PetscInt *n, PetscInt *w, PetscInt *nlocal, PetscReal **rows)
{
  hid_t    ds, sp;
  hsize_t  dims[2];
  double  *all;
  PetscInt start = 0;

  PetscFunctionBegin;
  SpdCallH5Return(ds, H5Dopen2, (g, name, H5P_DEFAULT));
  SpdCallH5Return(sp, H5Dget_space, (ds));
  SpdCallH5(H5Sget_simple_extent_dims, (sp, dims, NULL));
  *n = (PetscInt)dims[0];
  *w = (PetscInt)dims[1];
  PetscCall(PetscMalloc1(dims[0] * dims[1], &all));
  SpdCallH5(H5Dread, (ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all));
  SpdCallH5(H5Sclose, (sp));
  SpdCallH5(H5Dclose, (ds));
  *nlocal = PETSC_DECIDE;
  PetscCall(PetscSplitOwnership(PETSC_COMM_WORLD, nlocal, n));
  PetscCallMPI(MPI_Exscan(nlocal, &start, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
    if (!rank) start = 0;
  }
  PetscCall(PetscMalloc1((size_t)(*nlocal) * (*w) + 1, rows));
  PetscCall(PetscArraycpy(*rows, all + (size_t)start * (*w), (size_t)(*nlocal) * (*w)));
  PetscCall(PetscFree(all));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  hid_t       f;
  long long   ncases;
  PetscMPIInt size;

  PetscCall(SpdInitialize(&argc, &argv, NULL, NULL));
  PetscCheck(argc >= 2, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "usage: align_numpy_check CASES.h5 (written by numpy_reference.py)");
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  SpdCallH5Return(f, H5Fopen, (argv[1], H5F_ACC_RDONLY, H5P_DEFAULT));
  PetscCall(ReadAttr(f, "ncases", H5T_NATIVE_LLONG, &ncases));
  for (long long i = 0; i < ncases; i++) {
    char         gname[32];
    hid_t        g;
    PetscInt     n, ny, p, q, nl, nly;
    PetscReal   *X, *Y, var, ref[3], got[3];
    long long    k, kx, ky;
    SpdAlignment a;

    PetscCall(PetscSNPrintf(gname, sizeof(gname), "case_%lld", i));
    SpdCallH5Return(g, H5Gopen2, (f, gname, H5P_DEFAULT));
    PetscCall(ReadRows(g, "X", &n, &p, &nl, &X));
    PetscCall(ReadRows(g, "Y", &ny, &q, &nly, &Y));
    PetscCall(ReadAttr(g, "var", H5T_NATIVE_DOUBLE, &var));
    PetscCall(ReadAttr(g, "k", H5T_NATIVE_LLONG, &k));
    PetscCall(ReadAttr(g, "cka", H5T_NATIVE_DOUBLE, &ref[0]));
    PetscCall(ReadAttr(g, "svcca", H5T_NATIVE_DOUBLE, &ref[1]));
    PetscCall(ReadAttr(g, "procrustes", H5T_NATIVE_DOUBLE, &ref[2]));
    PetscCall(ReadAttr(g, "kx", H5T_NATIVE_LLONG, &kx));
    PetscCall(ReadAttr(g, "ky", H5T_NATIVE_LLONG, &ky));
    SpdCallH5(H5Gclose, (g));

    PetscCall(SpdAlignmentCompute(PETSC_COMM_WORLD, nl, p, X, q, Y, var, (PetscInt)k, &a));
    got[0] = a.cka;
    got[1] = a.svcca;
    got[2] = a.procrustes;
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "[%d ranks] %s: cka %.10f (numpy %.10f) svcca %.10f (%.10f) kx %" PetscInt_FMT " ky %" PetscInt_FMT " procrustes %.10f (%.10f)\n", size, gname, (double)got[0], (double)ref[0], (double)got[1], (double)ref[1], a.kx, a.ky, (double)got[2], (double)ref[2]));
    SPD_EXPECT(a.kx == (PetscInt)kx && a.ky == (PetscInt)ky, "%s: kept %" PetscInt_FMT ", %" PetscInt_FMT " components, numpy %lld, %lld", gname, a.kx, a.ky, kx, ky);
    PetscCall(SpdTestCheckClose(PETSC_COMM_WORLD, gname, 3, got, ref, 1e-9, 1e-6));
    /* the single-measure entry points agree with the combined one */
    {
      PetscReal c, s, d;

      PetscCall(SpdAlignmentLinearCKA(PETSC_COMM_WORLD, nl, p, X, q, Y, &c));
      PetscCall(SpdAlignmentSVCCA(PETSC_COMM_WORLD, nl, p, X, q, Y, var, (PetscInt)k, &s));
      PetscCall(SpdAlignmentProcrustes(PETSC_COMM_WORLD, nl, p, X, q, Y, &d));
      SPD_EXPECT(c == a.cka && s == a.svcca && d == a.procrustes, "%s: single-measure functions differ from SpdAlignmentCompute", gname);
    }
    (void)ny;
    (void)nly;
    PetscCall(PetscFree(X));
    PetscCall(PetscFree(Y));
  }
  SpdCallH5(H5Fclose, (f));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
