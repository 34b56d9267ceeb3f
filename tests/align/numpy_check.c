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

/* The ensemble group: each member prepared once (SpdAlignmentRepCreate), then every pair
   a < b from the prepared members in one loop (SpdAlignmentComputeRep), against numpy's
   references and against separate SpdAlignmentCompute calls on the raw rows (the same
   arithmetic: equal to rounding). */
static PetscErrorCode CheckEnsemble(hid_t f)
{
  hid_t           g, ds, sp;
  hsize_t         dims[2];
  long long       M, k;
  PetscInt        n, nl, w[16], npairs;
  PetscReal       var, *R[16], *ref;
  SpdAlignmentRep rep[16];
  PetscMPIInt     size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  SpdCallH5Return(g, H5Gopen2, (f, "ensemble", H5P_DEFAULT));
  PetscCall(ReadAttr(g, "members", H5T_NATIVE_LLONG, &M));
  PetscCall(ReadAttr(g, "var", H5T_NATIVE_DOUBLE, &var));
  PetscCall(ReadAttr(g, "k", H5T_NATIVE_LLONG, &k));
  PetscCheck(M >= 2 && M <= 16, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "ensemble: %lld members, expected 2..16", M);
  for (PetscInt m = 0; m < (PetscInt)M; m++) {
    char name[32];

    PetscCall(PetscSNPrintf(name, sizeof(name), "R_%" PetscInt_FMT, m));
    PetscCall(ReadRows(g, name, &n, &w[m], &nl, &R[m]));
    PetscCall(SpdAlignmentRepCreate(PETSC_COMM_WORLD, nl, w[m], R[m], var, (PetscInt)k, &rep[m]));
  }
  SpdCallH5Return(ds, H5Dopen2, (g, "pairs", H5P_DEFAULT));
  SpdCallH5Return(sp, H5Dget_space, (ds));
  SpdCallH5(H5Sget_simple_extent_dims, (sp, dims, NULL));
  npairs = (PetscInt)dims[0];
  PetscCheck(dims[1] == 7 && npairs == M * (M - 1) / 2, PETSC_COMM_WORLD, PETSC_ERR_FILE_UNEXPECTED, "ensemble: pairs is %llu x %llu, expected %lld x 7", (unsigned long long)dims[0], (unsigned long long)dims[1], M * (M - 1) / 2);
  PetscCall(PetscMalloc1(dims[0] * dims[1], &ref));
  SpdCallH5(H5Dread, (ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, ref));
  SpdCallH5(H5Sclose, (sp));
  SpdCallH5(H5Dclose, (ds));
  SpdCallH5(H5Gclose, (g));

  for (PetscInt i = 0; i < npairs; i++) {
    const PetscReal *r = ref + 7 * i;
    PetscInt         a = (PetscInt)r[0], b = (PetscInt)r[1];
    SpdAlignment     prep, sep, rev;
    PetscReal        got[3], want[3] = { r[2], r[3], r[4] }, diff;
    char             what[64];

    PetscCall(SpdAlignmentComputeRep(rep[a], rep[b], &prep));
    PetscCall(SpdAlignmentCompute(PETSC_COMM_WORLD, nl, w[a], R[a], w[b], R[b], var, (PetscInt)k, &sep));
    PetscCall(SpdAlignmentComputeRep(rep[b], rep[a], &rev));
    got[0] = prep.cka;
    got[1] = prep.svcca;
    got[2] = prep.procrustes;
    PetscCall(PetscSNPrintf(what, sizeof(what), "ensemble pair (%" PetscInt_FMT ", %" PetscInt_FMT ")", a, b));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "[%d ranks] %s prepared: cka %.10f (numpy %.10f) svcca %.10f (%.10f) kx %" PetscInt_FMT " ky %" PetscInt_FMT " procrustes %.10f (%.10f)\n", size, what, (double)got[0], (double)want[0], (double)got[1], (double)want[1], prep.kx, prep.ky, (double)got[2], (double)want[2]));
    SPD_EXPECT(prep.kx == (PetscInt)r[5] && prep.ky == (PetscInt)r[6], "%s: kept %" PetscInt_FMT ", %" PetscInt_FMT " components, numpy %g, %g", what, prep.kx, prep.ky, (double)r[5], (double)r[6]);
    PetscCall(SpdTestCheckClose(PETSC_COMM_WORLD, what, 3, got, want, 1e-9, 1e-6));
    diff = PetscMax(PetscMax(PetscAbsReal(prep.cka - sep.cka), PetscAbsReal(prep.svcca - sep.svcca)), PetscAbsReal(prep.procrustes - sep.procrustes));
    SPD_EXPECT(diff <= 1e-13 && prep.kx == sep.kx && prep.ky == sep.ky, "%s: prepared pair differs from SpdAlignmentCompute by %.3g (kx %" PetscInt_FMT "/%" PetscInt_FMT ", ky %" PetscInt_FMT "/%" PetscInt_FMT ")", what, (double)diff, prep.kx, sep.kx, prep.ky, sep.ky);
    /* the measures are symmetric; the reversed pair swaps kx and ky */
    diff = PetscMax(PetscMax(PetscAbsReal(prep.cka - rev.cka), PetscAbsReal(prep.svcca - rev.svcca)), PetscAbsReal(prep.procrustes - rev.procrustes));
    SPD_EXPECT(diff <= 1e-12 && rev.kx == prep.ky && rev.ky == prep.kx, "%s: reversed pair differs by %.3g", what, (double)diff);
  }
  /* a member against itself: perfect alignment */
  for (PetscInt m = 0; m < (PetscInt)M; m++) {
    SpdAlignment self;

    PetscCall(SpdAlignmentComputeRep(rep[m], rep[m], &self));
    SPD_EXPECT(PetscAbsReal(self.cka - 1) < 1e-12 && PetscAbsReal(self.svcca - 1) < 1e-12 && PetscAbsReal(self.procrustes) < 1e-7, "member %" PetscInt_FMT " against itself: cka %.15g svcca %.15g procrustes %.3g", m, (double)self.cka, (double)self.svcca, (double)self.procrustes);
  }
  for (PetscInt m = 0; m < (PetscInt)M; m++) {
    PetscCall(SpdAlignmentRepDestroy(&rep[m]));
    PetscCall(PetscFree(R[m]));
  }
  PetscCall(PetscFree(ref));
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
  PetscCall(CheckEnsemble(f));
  SpdCallH5(H5Fclose, (f));
  PetscCall(SpdTestReport());
  PetscCall(SpdFinalize());
  return 0;
}
