#!/usr/bin/python3
"""The NumPy/SciPy peers of bench/run.sh, and its small helpers.

  peer.py full FILE --repeat R --out S.f64     numpy.linalg.svd(A, compute_uv=False)
  peer.py svds FILE --k K --tol T --out S.f64  scipy.sparse.linalg.svds(A, k, tol) (ARPACK)
  peer.py relerr S.f64 REF.f64 [--k K]         max_i |s_i - r_i| / r_i over the first K
  peer.py blas                                 the BLAS/LAPACK NumPy runs on

FILE is a single-tensor F64 safetensors file (bench/gen_data.py), read with numpy.fromfile
at its data offset; loading is not timed. Only the decomposition is timed
(time.perf_counter), best of R. A line starting with "RESULT" carries the numbers.
Run with OPENBLAS_NUM_THREADS=2 (as many threads as the specdyn side has ranks).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np


def load_f64(path):
    with open(path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
    names = [k for k in header if k != "__metadata__"]
    if len(names) != 1 or header[names[0]]["dtype"] not in ("F64", "F32"):
        sys.exit(f"{path}: expected one F64 or F32 tensor, found {names}; regenerate it with bench/gen_data.py")
    info = header[names[0]]
    shape = tuple(info["shape"])
    dt = "<f8" if info["dtype"] == "F64" else "<f4"
    a = np.fromfile(path, dtype=dt, count=int(np.prod(shape)), offset=8 + hlen + info["data_offsets"][0])
    # an F32 matrix (trained weights) is analysed in float64, as a user of svds would do
    # to reach tol 1e-8: same values, double arithmetic
    return a.reshape(shape).astype(np.float64)


def full(args):
    a = load_f64(args.file)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        s = np.linalg.svd(a, compute_uv=False)
        times.append(time.perf_counter() - t0)
    s.astype("<f8").tofile(args.out)
    print(f"numpy.linalg.svd {a.shape[0]} x {a.shape[1]}: " + ", ".join(f"{t:.3f}" for t in times) + " s", flush=True)
    print(f"RESULT mode=full m={a.shape[0]} n={a.shape[1]} best={min(times):.4f} times=" + ",".join(f"{t:.3f}" for t in times))


def svds(args):
    from scipy.sparse.linalg import LinearOperator, svds as scipy_svds
    a = load_f64(args.file)
    count = [0]

    # A.dot / A.T.dot exactly as svds' own aslinearoperator(A) would call them, plus a count
    def mv(x):
        count[0] += 1 if x.ndim == 1 else x.shape[1]
        return a.dot(x)

    def rmv(x):
        count[0] += 1 if x.ndim == 1 else x.shape[1]
        return a.T.dot(x)

    op = LinearOperator(a.shape, matvec=mv, rmatvec=rmv, matmat=mv, rmatmat=rmv, dtype=a.dtype)
    times, s = [], None
    for _ in range(args.repeat):
        count[0] = 0
        t0 = time.perf_counter()
        s = scipy_svds(op, k=args.k, tol=args.tol, return_singular_vectors=False)
        times.append(time.perf_counter() - t0)
    s = np.sort(s)[::-1]
    s.astype("<f8").tofile(args.out)
    print(f"scipy svds k={args.k} tol={args.tol:g} on {a.shape[0]} x {a.shape[1]}: " + ", ".join(f"{t:.3f}" for t in times) + f" s, {count[0]} products; sigma[0] {s[0]:.10e} sigma[k-1] {s[-1]:.10e}", flush=True)
    print(f"RESULT mode=svds m={a.shape[0]} n={a.shape[1]} k={args.k} tol={args.tol:g} best={min(times):.4f} times=" + ",".join(f"{t:.3f}" for t in times) + f" nprod={count[0]}")


def relerr(args):
    s = np.fromfile(args.s, dtype="<f8")
    r = np.fromfile(args.ref, dtype="<f8")
    k = args.k or min(len(s), len(r))
    if len(s) < k or len(r) < k:
        sys.exit(f"relerr: {args.s} has {len(s)} and {args.ref} has {len(r)} values, {k} needed")
    s, r = s[:k], r[:k]
    print(f"{np.max(np.abs(s - r) / np.abs(r)):.2e}")


def blas(_args):
    import numpy
    cfg = numpy.__config__
    libs = []
    for name in ("blas_opt_info", "lapack_opt_info"):
        info = getattr(cfg, name, {}) or {}
        libs.append(f"{name}={','.join(info.get('libraries', []))}")
    env = dict(os.environ, OPENBLAS_VERBOSE="2")
    core = subprocess.run([sys.executable, "-c", "import numpy"], env=env, capture_output=True, text=True)
    core = (core.stdout + core.stderr).strip().replace("\n", " ") or "unknown (not OpenBLAS?)"
    print(f"numpy {numpy.__version__}, {' '.join(libs)}, OpenBLAS {core}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("full")
    f.add_argument("file")
    f.add_argument("--repeat", type=int, default=1)
    f.add_argument("--out", required=True)
    f.set_defaults(func=full)
    v = sub.add_parser("svds")
    v.add_argument("file")
    v.add_argument("--k", type=int, default=16)
    v.add_argument("--tol", type=float, default=1e-8)
    v.add_argument("--repeat", type=int, default=1)
    v.add_argument("--out", required=True)
    v.set_defaults(func=svds)
    r = sub.add_parser("relerr")
    r.add_argument("s")
    r.add_argument("ref")
    r.add_argument("--k", type=int, default=0)
    r.set_defaults(func=relerr)
    b = sub.add_parser("blas")
    b.set_defaults(func=blas)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
