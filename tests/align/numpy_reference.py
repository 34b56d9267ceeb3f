#!/usr/bin/python3
"""Independent references for the alignment measures (src/metrics/alignment.c).

numpy/scipy recompute each measure by a different route than the C code, which works
only with the p x p / q x q / p x q cross-products of the centered representations:
  linear CKA   from the n x n centered Gram matrices, HSIC = <HKH, HLH>_F;
  Procrustes   from scipy.linalg.orthogonal_procrustes on the Frobenius-normalized,
               zero-padded representations: (1/2) min_Q ||A - B Q||_F^2;
  SVCCA        from the SVD of the n x p data (not an eigendecomposition of a Gram
               matrix) and the canonical correlations as the singular values of
               Qx^T Qy for orthonormal bases of the reduced representations.
It writes the representations and the references into an HDF5 file and runs the C
checker (align_numpy_check) at 1, 2 and 4 ranks, each rank taking its block of rows.

usage: numpy_reference.py <align_numpy_check executable> <scratch folder>
"""
import os
import subprocess
import sys

import h5py
import numpy as np
from scipy.linalg import orthogonal_procrustes


def cka_gram(X, Y):
    n = X.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    K = H @ (X @ X.T) @ H
    L = H @ (Y @ Y.T) @ H
    return float(np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L)))


def procrustes(X, Y):
    A = X - X.mean(0)
    B = Y - Y.mean(0)
    A = A / np.linalg.norm(A)
    B = B / np.linalg.norm(B)
    w = max(A.shape[1], B.shape[1])
    A = np.hstack([A, np.zeros((A.shape[0], w - A.shape[1]))])
    B = np.hstack([B, np.zeros((B.shape[0], w - B.shape[1]))])
    R, _ = orthogonal_procrustes(B, A)  # argmin ||B R - A||_F
    return float(0.5 * np.linalg.norm(A - B @ R) ** 2)


def reduce(X, var, k):
    Xc = X - X.mean(0)
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    lam = s**2
    rank = int(np.sum(lam > lam[0] * 100 * X.shape[1] * np.finfo(float).eps))
    if k > 0:
        keep = min(k, rank)
    else:
        cum = np.cumsum(lam)
        keep = min(int(np.searchsorted(cum, var * lam.sum())) + 1, rank)
    return Xc @ Vt[:keep].T, keep


def svcca(X, Y, var, k):
    Xr, kx = reduce(X, var, k)
    Yr, ky = reduce(Y, var, k)
    Qx, _ = np.linalg.qr(Xr)
    Qy, _ = np.linalg.qr(Yr)
    rho = np.linalg.svd(Qx.T @ Qy, compute_uv=False)
    return float(np.mean(np.minimum(rho[: min(kx, ky)], 1.0))), kx, ky


def main():
    exe, folder = sys.argv[1], sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(20240611)
    cases = []
    # (name, X, Y, var, k)
    X = rng.standard_normal((50, 8))
    cases.append(("noisy_linear", X, X @ rng.standard_normal((8, 8)) + 0.5 * rng.standard_normal((50, 8)), 0.99, 0))
    X = rng.standard_normal((37, 5)) @ np.diag([5, 3, 1, 0.5, 0.1])
    cases.append(("different_widths", X, np.tanh(X @ rng.standard_normal((5, 12))), 0.99, 0))
    X = rng.standard_normal((20, 30))  # fewer probes than features
    cases.append(("n_below_p", X, X[:, :25] + 0.3 * rng.standard_normal((20, 25)), 0.99, 0))
    X = 100.0 + rng.standard_normal((64, 6))  # large means: centering must be exact
    cases.append(("large_mean", X, np.maximum(X - 100.0 + 0.2 * rng.standard_normal((64, 6)), 0) + 50.0, 0.99, 0))
    X = rng.standard_normal((40, 4)) @ rng.standard_normal((4, 10))  # rank 4 in R^10
    cases.append(("rank_deficient", X, rng.standard_normal((40, 7)), 0.99, 0))
    X = rng.standard_normal((45, 9))
    cases.append(("fixed_k", X, X @ rng.standard_normal((9, 9)) + rng.standard_normal((45, 9)), 0.99, 3))
    X = rng.standard_normal((30, 6)) @ np.diag(np.logspace(0, -2, 6))
    cases.append(("var_0.9", X, X + 0.05 * rng.standard_normal((30, 6)), 0.9, 0))
    X = rng.standard_normal((3, 2))  # fewer samples than ranks at 4 ranks
    cases.append(("tiny", X, rng.standard_normal((3, 2)), 0.99, 0))

    # an ensemble: members of different widths sharing part of their signal, every pair
    # a < b referenced (the C side prepares each member once, then loops over the pairs)
    n, Z = 41, rng.standard_normal((41, 4))
    members = [Z @ rng.standard_normal((4, 6)) + 0.3 * rng.standard_normal((n, 6)),
               np.tanh(Z @ rng.standard_normal((4, 9))) + 0.2 * rng.standard_normal((n, 9)),
               Z[:, :2] @ rng.standard_normal((2, 5)) + 0.5 * rng.standard_normal((n, 5)) + 20.0,
               np.maximum(Z @ rng.standard_normal((4, 7)), 0) + 0.1 * rng.standard_normal((n, 7)),
               rng.standard_normal((n, 3))]
    ens_var, ens_k = 0.95, 0

    path = os.path.join(folder, "align_cases.h5")
    with h5py.File(path, "w") as f:
        e = f.create_group("ensemble")
        e.attrs["members"] = len(members)
        e.attrs["var"] = ens_var
        e.attrs["k"] = ens_k
        ref = []
        for m, R in enumerate(members):
            e["R_%d" % m] = R
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                s_, kx, ky = svcca(members[a], members[b], ens_var, ens_k)
                ref.append([a, b, cka_gram(members[a], members[b]), s_, procrustes(members[a], members[b]), kx, ky])
        e["pairs"] = np.array(ref)  # a, b, cka, svcca, procrustes, kx, ky
        print("ensemble of %d members, %d pairs" % (len(members), len(ref)))
        f.attrs["ncases"] = len(cases)
        for i, (name, X, Y, var, k) in enumerate(cases):
            g = f.create_group("case_%d" % i)
            g.attrs["name"] = name
            g["X"] = X
            g["Y"] = Y
            g.attrs["var"] = var
            g.attrs["k"] = k
            s, kx, ky = svcca(X, Y, var, k)
            g.attrs["cka"] = cka_gram(X, Y)
            g.attrs["svcca"] = s
            g.attrs["procrustes"] = procrustes(X, Y)
            g.attrs["kx"] = kx
            g.attrs["ky"] = ky
            print("%-16s n=%d p=%d q=%d cka=%.6f svcca=%.6f (kx=%d ky=%d) procrustes=%.6f"
                  % (name, X.shape[0], X.shape[1], Y.shape[1], g.attrs["cka"], s, kx, ky, g.attrs["procrustes"]))
    mpiexec = os.environ.get("SPD_MPIEXEC", "mpirun")
    for np_ in (1, 2, 4):
        cmd = [mpiexec, "--oversubscribe", "-n", str(np_), exe, path]
        r = subprocess.run(cmd, capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        if r.returncode != 0:
            print("FAIL: %s exited with %d at %d ranks" % (exe, r.returncode, np_))
            return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
