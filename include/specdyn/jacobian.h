/* specdyn/jacobian.h - input-output Jacobians with fixed gates, their depth scaling
   (Lyapunov exponents) and the separation/alignment of their partial products.

   A layered product (an SpdJacobian) is
       J_{l:k} = A_l G_{l-1} A_{l-1} G_{l-2} ... G_k A_k,   1 <= k <= l <= L,
   with A_j = a_j W_j (w_j x w_{j-1}) and G_j = diag(g_j) the fixed gates, numbered
   1-based like the paper. J_{l:k} maps R^{w_{k-1}} to R^{w_l}, and
       J_{L:1} = J_{L:l+1} G_l J_{l:1}.
   Two sources:
   - an MLP at an input x (SpdJacobianCreateMLP): W_j the layer weights, a_j the
     multipliers, g_j = phi'(z_j(x)); then J_{l:k} = dz_l/dh_{k-1} (z the
     pre-activations, h_0 = x) and J_{L:1} = dz_L/dx, the network's input-output
     Jacobian. Biases only move the gates.
   - a random ensemble (SpdJacobianCreateGaussian): d x d matrices with i.i.d. N(0, s^2)
     entries (a_j = s, W_j standard normal), optionally with random fixed gates
     g_j in {0, 1}, each unit on with probability p.

   Distribution: vectors are PETSc Vecs with the default layout (PetscSplitOwnership) of
   their width, so SLEPc runs on the MATSHELLs. Weights are row-distributed: every rank
   keeps only its own rows of each A_j (the rows of the layout of w_j), so one product
   A_j v costs one MPI_Allgatherv of v (w_{j-1} numbers) and a local gemv, and A_j^T u
   a local gemv and one MPI_Reduce_scatter. Every row is computed by one rank from the
   full vector, so forward products do not depend on the rank count beyond the
   summation order of A^T (rounding). The random ensemble draws row i of layer j from
   its own stream (seed, j, i), so it is the same for any rank count, and a rank never
   generates rows it does not own.

   Lyapunov exponents (Benettin et al. 1980; Newman 1986): an orthonormal block Q_0
   (w_0 x k, distributed rows) is propagated, Y_l = A_l G_{l-1} Q_{l-1} = Q_l R_l by a
   distributed Householder QR (TSQR: a local QR per rank, then a replicated QR of the
   stacked R factors), and lambda_i(l) = (1/l) sum_{j<=l} log|R_j[i,i]|.
   For Gaussian products lambda_i = log s + 1/2 [log 2 + psi((d-i+1)/2)].

   Separation and alignment (SpdJacobianSpectraCompute, the analysis layer): for each
   depth l, the top-k singular triplets of J_{l:1} and of J_{L:l+1} (SLEPc on the
   shells), the gaps log sigma_i - log sigma_{i+1} of J_{l:1}, and the overlaps between
   the right singular vectors of J_{L:l+1} and the left singular vectors of J_{l:1}. */
#pragma once
#include <specdyn/model.h>
#include <petscmat.h>

typedef struct _p_SpdJacobian *SpdJacobian;

/* From an MLP at the input x (length w_0, the same on every rank of comm): runs the
   forward pass once and keeps the gates and each rank's rows of the weights (copies; the
   MLP may change or be destroyed afterwards). comm is any communicator whose ranks all
   hold the (replicated) MLP, e.g. the MLP's own. Collective on comm. */
PETSC_EXTERN PetscErrorCode SpdJacobianCreateMLP(SpdMLP, const PetscReal x[], MPI_Comm, SpdJacobian *);
/* Products of `depth` d x d Gaussian N(0, s^2) matrices, gated between the factors by
   random fixed gates on with probability p (p = 1: no gates). Seeded; the same for any
   rank count. Collective. */
PETSC_EXTERN PetscErrorCode SpdJacobianCreateGaussian(MPI_Comm, PetscInt d, PetscInt depth, PetscReal s, PetscReal p, PetscInt64 seed, SpdJacobian *);
/* Number of layers L and widths w[0..L] (owned by J). */
PETSC_EXTERN PetscErrorCode SpdJacobianGetSizes(SpdJacobian, PetscInt *L, const PetscInt *w[]);
/* A vector of width w_j (0 <= j <= L) in the layout the products use. Collective. */
PETSC_EXTERN PetscErrorCode SpdJacobianCreateVec(SpdJacobian, PetscInt j, Vec *);
/* y = J_{l:k} x (x of width w_{k-1}, y of width w_l), and x = J_{l:k}^T y. Collective. */
PETSC_EXTERN PetscErrorCode SpdJacobianMult(SpdJacobian, PetscInt k, PetscInt l, Vec x, Vec y);
PETSC_EXTERN PetscErrorCode SpdJacobianMultTranspose(SpdJacobian, PetscInt k, PetscInt l, Vec y, Vec x);
/* Layer j's factor A_j = a_j W_j (w_j x w_{j-1}, row-major) and gate g_j (w_j; ones for
   j = L), both replicated on every rank (gathered; for tests and small nets). Either may
   be NULL. Collective. */
PETSC_EXTERN PetscErrorCode SpdJacobianGetLayer(SpdJacobian, PetscInt j, PetscReal A[], PetscReal g[]);
/* J_{l:k} as a MATSHELL (MatMult, MatMultTranspose; rows in the layout of w_l, columns of
   w_{k-1}). The shell holds a reference to J. Collective. */
PETSC_EXTERN PetscErrorCode SpdJacobianCreateMat(SpdJacobian, PetscInt k, PetscInt l, Mat *);
/* J_{l:k} formed explicitly as a MATMPIDENSE (same layouts), by propagating blocks of at
   most 256 columns of the identity: memory w_l w_{k-1} / P per rank plus a replicated
   w_max x 256 block; for SpdSVDFull when the widths allow. Collective. */
PETSC_EXTERN PetscErrorCode SpdJacobianCreateDense(SpdJacobian, PetscInt k, PetscInt l, Mat *);
PETSC_EXTERN PetscErrorCode SpdJacobianDestroy(SpdJacobian *);

/* The one-call operator of an MLP at x: J_{l:k} as a MATSHELL owning its SpdJacobian. */
PETSC_EXTERN PetscErrorCode SpdMatCreateInputJacobian(SpdMLP, const PetscReal x[], PetscInt k, PetscInt l, MPI_Comm, Mat *);

/* ---- Lyapunov exponents by QR iteration ------------------------------------- */
typedef struct {
  PetscInt   k; /* exponents (columns of Q)                                      */
  PetscInt   L; /* depth: layers 1..L                                            */
  PetscReal *lambda; /* k: lambda_i(L) = (1/L) sum_{l<=L} log|R_l[i,i]|, descending in expectation */
  PetscReal *cumulative; /* L x k, row-major: row l-1 holds lambda_i(l), the estimate after l layers */
  PetscReal *logr; /* L x k, row-major: log|R_l[i,i]| per layer (-inf for an exactly rank-deficient step) */
} SpdLyapunov;

/* Propagate an orthonormal block through layers 1..L of J. The finite-depth estimates
   (1/l) log sigma_i(J_{l:1}) to store next to cumulative[] are logsigma[]/l of
   SpdJacobianSpectraCompute() at the same depths. Q0: a w_0 x k MATMPIDENSE or
   MATSEQDENSE (on one rank) with the layout of w_0, orthonormalized first; or NULL for a
   seeded Gaussian block (the same for any rank count). Needs k <= min_j w_j.
   sum_{i<=k} l * cumulative[l-1][i] = log vol_k(J_{l:1} Q0) exactly (in exact arithmetic).
   Collective. */
PETSC_EXTERN PetscErrorCode SpdJacobianLyapunov(SpdJacobian, PetscInt k, Mat Q0, PetscInt64 seed, SpdLyapunov *);
PETSC_EXTERN PetscErrorCode SpdLyapunovDestroy(SpdLyapunov *);

/* ---- separation and alignment (implemented in the analysis layer) ----------- */
typedef struct {
  PetscInt   ndepth, k, L;
  PetscInt  *depth; /* ndepth depths l (1..L)                                             */
  PetscReal *logsigma; /* ndepth x k: log sigma_i(J_{l:1}), descending (NaN: not converged)   */
  PetscReal *residual; /* ndepth x k: SLEPc absolute residual norms of those triplets          */
  PetscReal *gap; /* ndepth x (k-1): logsigma_i - logsigma_{i+1}                          */
  PetscReal *logsigma_rest; /* ndepth x k: log sigma_i(J_{L:l+1}) (NaN at l = L)                 */
  PetscReal *overlap; /* ndepth x k x k: row-major per depth, [i][j] = v_i(J_{L:l+1}) . u_j(J_{l:1})
                            (signed: singular vectors have arbitrary signs; NaN at l = L)   */
  PetscReal *cosines; /* ndepth x k: cosines of the principal angles between the two top-k
                            spaces, descending (NaN at l = L)                              */
  PetscInt nprod; /* products with partial Jacobians used by the solves                    */
} SpdJacobianSpectra;

/* Top-k singular triplets of J_{l:1} and J_{L:l+1} for each depth l in depth[] (NULL:
   every l = 1..L), with SpdSVDExtreme under the options prefix `prefix` (e.g.
   "jacobian_"); products whose smaller side is <= max(2k+16, 32) are formed explicitly
   and decomposed by LAPACK instead (SLEPc's one-sided Lanczos breaks down when its
   search space is the whole space). k is clamped to the smallest width. Residuals come
   from products with the shells either way. Collective. */
PETSC_EXTERN PetscErrorCode SpdJacobianSpectraCompute(SpdJacobian, PetscInt k, PetscInt ndepth, const PetscInt depth[], const char prefix[], SpdJacobianSpectra *);
PETSC_EXTERN PetscErrorCode SpdJacobianSpectraDestroy(SpdJacobianSpectra *);
