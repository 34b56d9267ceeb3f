#!/usr/bin/python3
"""Row 8 peer: Lyapunov exponents of a product of L Gaussian d x d matrices the way a NumPy
user would get them, with OPENBLAS_NUM_THREADS = bench ranks (bench/README.md, row 8).

Usage: lyapunov_peer.py D DEPTH K --out FILE [--seed S] [--variants gemm-svd,gemm-qr]

The factors W_l have i.i.d. N(0, 1/d) entries (the distribution specdyn's
SpdJacobianCreateGaussian draws; different random numbers). Drawing them is not timed
(reported apart). Two variants, each timed alone:
  gemm-svd: P = W_L ... W_1 by dense GEMMs (rescaled by its norm after each layer so that
            it does not overflow; the log scale is kept), then the singular values of P:
            lambda_i = (log sigma_i(P) + log scale) / L, the top k.
  gemm-qr:  the standard QR re-orthonormalisation on the whole space: Q_0 = I,
            W_l Q_{l-1} = Q_l R_l (numpy.linalg.qr), lambda_i = (1/L) sum_l log |R_l[i,i]|;
            all d exponents, the top k kept.
Prints "RESULT variant=... time=... gen=..." per variant and writes the top-k exponents of
each to FILE.<variant> (float64)."""
import argparse
import time

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("d", type=int)
ap.add_argument("depth", type=int)
ap.add_argument("k", type=int)
ap.add_argument("--out", required=True)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--variants", default="gemm-svd,gemm-qr")
a = ap.parse_args()
d, L, k = a.d, a.depth, a.k
s = 1.0 / np.sqrt(d)


def factors():
    """The L factors, drawn layer by layer from one seeded stream (time reported apart)."""
    rng = np.random.default_rng(a.seed)
    for _ in range(L):
        t0 = time.perf_counter()
        W = rng.standard_normal((d, d)) * s
        yield W, time.perf_counter() - t0


for v in a.variants.split(","):
    gen, t = 0.0, 0.0
    if v == "gemm-svd":
        P, logscale = None, 0.0
        for W, g in factors():
            gen += g
            t0 = time.perf_counter()
            P = W.copy() if P is None else W @ P
            nrm = np.linalg.norm(P)
            P /= nrm
            logscale += np.log(nrm)
            t += time.perf_counter() - t0
        t0 = time.perf_counter()
        sig = np.linalg.svd(P, compute_uv=False)
        t += time.perf_counter() - t0
        with np.errstate(divide="ignore"):
            lam = (np.log(sig[:k]) + logscale) / L
    elif v == "gemm-qr":
        Q, acc = np.eye(d), np.zeros(d)
        for W, g in factors():
            gen += g
            t0 = time.perf_counter()
            Q, R = np.linalg.qr(W @ Q)
            acc += np.log(np.abs(np.diag(R)))
            t += time.perf_counter() - t0
        lam = np.sort(acc / L)[::-1][:k]
    else:
        raise SystemExit(f"lyapunov_peer.py: unknown variant '{v}' (gemm-svd, gemm-qr)")
    lam.astype("<f8").tofile(f"{a.out}.{v}")
    print(f"RESULT variant={v} time={t:.4f} gen={gen:.4f} d={d} depth={L} k={k}", flush=True)
