#!/usr/bin/python3
"""Row 7 of bench/run.sh: the top-16 singular triplets of a stored M x N float32 Jacobian
(default 20000 x 50000, 4 GB) by `mpirun -n NP specdyn run`, against
scipy.sparse.linalg.svds (ARPACK) on the same matrix, and the bandwidth the products
achieve against a STREAM-like copy on the same ranks (bench_matvec's kernels).

    /usr/bin/python3 bench/jacobian_bench.py gen  DATA [--m M --n N]
    /usr/bin/python3 bench/jacobian_bench.py spd  SPECDYN DATA OUT [--np 2 --reps 2]
    /usr/bin/python3 bench/jacobian_bench.py peer DATA OUT [--dtype float32|float64]

`gen` writes DATA/jacobian<M>x<N>f32.h5 once (reused when present; chunk by chunk, never
more than one block of rows in memory) with one dataset `jacobian`, float32, chunked in
whole rows, and its planted spectrum DATA/jacobian<M>x<N>f32.planted.f64: a low-rank part
plus noise, like per-sample gradients (a few directions carry most of the gradient
energy over a broad bulk),

    A = sum_{i<R} s_i u_i v_i^T + (1/(sqrt(M)+sqrt(N))) E,    s_i = 1 + 8 i^-0.75 (i = 1..R, R = 32)

with u_i, v_i Gaussian vectors normalized to norm 1 (nearly orthogonal at these sizes) and
E i.i.d. N(0, 1): the noise's singular values fill [~0.23, ~1] (Marchenko-Pastur edge
1) and the 32 spikes stand above it (s_1 = 9 ... s_16 = 2, s_17 = 1.96), so the top 16
converge in a realistic number of Lanczos steps. The observed singular values are the
spikes pushed up by the noise, not s_i themselves: both sides are checked against each other.

`spd` writes a job (full: false, top: 16, tol 1e-10 = specdyn's default), runs it NP ranks
--reps times into a fresh results folder each time, and prints one RESULT line per run from
the task file (top_seconds, read_seconds, products, passes, storage, iterations) with the
wall time of the whole `specdyn run`; the singular values go to OUT/jac.spd.f64.

`peer` loads the matrix with h5py (not timed) and times svds(A, k=16,
return_singular_vectors=False) with products counted through a LinearOperator calling
the same A.dot / A.T.dot. float32 (what a user holding the float32 file gets): SciPy keeps
the dtype, so ARPACK runs in single precision (ssaupd) on float32 sgemv products, default
tol 0 = float32 machine precision. float64: the same values converted to a float64 copy
(8 GB), tol 1e-10 like specdyn (dgemv products; twice the bytes per product).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

R = 32  # planted spikes


def fname(data, m, n):
    return os.path.join(data, f"jacobian{m}x{n}f32.h5")


def planted(R):
    return 1.0 + 8.0 * np.arange(1, R + 1, dtype=np.float64) ** -0.75


def gen(a):
    import h5py
    path = fname(a.data, a.m, a.n)
    if os.path.exists(path):
        with h5py.File(path, "r") as f:
            if f["jacobian"].shape == (a.m, a.n) and f.attrs.get("complete", 0) == 1:
                print(f"{path}: present, reused")
                return
    os.makedirs(a.data, exist_ok=True)
    rng = np.random.default_rng(7)
    s = planted(R)
    U = rng.standard_normal((a.m, R))
    U /= np.linalg.norm(U, axis=0)
    V = rng.standard_normal((a.n, R))
    V /= np.linalg.norm(V, axis=0)
    US = (U * s).astype(np.float64)
    Vt = np.ascontiguousarray(V.T)
    eps = 1.0 / (np.sqrt(a.m) + np.sqrt(a.n))
    rows = max(1, min(a.m, (256 << 20) // (4 * a.n)))  # ~256 MB float32 per block
    t0 = time.perf_counter()
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        d = f.create_dataset("jacobian", shape=(a.m, a.n), dtype="<f4", chunks=(max(1, min(rows, (4 << 20) // (4 * a.n))), a.n))
        d.attrs["model"] = f"sum_i<{R} s_i u_i v_i^T + E/(sqrt(M)+sqrt(N)), s_i = 1 + 8 i^-0.75, E ~ N(0,1)"
        for lo in range(0, a.m, rows):
            hi = min(a.m, lo + rows)
            blk = rng.standard_normal((hi - lo, a.n), dtype=np.float32)
            blk *= np.float32(eps)
            blk += (US[lo:hi] @ Vt).astype(np.float32)
            d[lo:hi, :] = blk
            print(f"\r  rows {hi}/{a.m}", end="", file=sys.stderr, flush=True)
        f.attrs["complete"] = 1
    os.replace(tmp, path)
    s.tofile(path[:-3] + ".planted.f64")
    print(f"\n{path}: written in {time.perf_counter() - t0:.1f} s ({os.path.getsize(path) / 1e9:.2f} GB)")


def spd(a):
    import h5py
    path = os.path.abspath(fname(a.data, a.m, a.n))
    os.makedirs(a.out, exist_ok=True)
    job = os.path.join(a.out, "jacobian.yaml")
    with open(job, "w") as f:
        f.write(f"""checkpoints:
  - path: {path}
    label: jacobian
weights:
  full: false
  top: {a.k}
  bottom: 0
resources:
  memory_per_rank: 7GiB
""")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1")
    res = os.path.join(a.out, "jacobian.results")
    for r in range(a.reps):
        shutil.rmtree(res, ignore_errors=True)
        cmd = ["mpirun", "-n", str(a.np), "--oversubscribe", a.specdyn, "run", job, "-o", res] + a.petsc.split()
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit(f"jacobian_bench.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        tf = [os.path.join(res, "tasks", x) for x in os.listdir(os.path.join(res, "tasks")) if x.endswith(".h5")]
        if len(tf) != 1:
            sys.exit(f"jacobian_bench.py: expected one task file in {res}/tasks, found {len(tf)}")
        with h5py.File(tf[0], "r") as f:
            t, tm = f["top"].attrs, f["timings"].attrs
            sig, resid = f["top/sigma"][()], f["top/residual"][()]
            sto = f.attrs["storage"]
            sto = sto.decode() if isinstance(sto, bytes) else str(sto)
            solver = t["solver"].decode() if isinstance(t["solver"], bytes) else str(t["solver"])
            print(f"RESULT time={tm['top_seconds']:.4f} read={tm['read_seconds']:.4f} wall={wall:.3f} products={int(t['products'])} "
                  f"passes={int(t['passes'])} iterations={int(t['iterations'])} nconv={int(t['nconv'])} k={a.k} storage={sto} "
                  f"solver={solver} maxres={float(np.max(resid / sig)):.3e} m={a.m} n={a.n} ranks={a.np}", flush=True)
        sig.astype("<f8").tofile(os.path.join(a.out, "jac.spd.f64"))


def peer(a):
    import h5py
    import scipy.sparse.linalg as sla
    path = fname(a.data, a.m, a.n)
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        A = f["jacobian"][()]  # float32, C order
    if a.dtype == "float64":
        A = A.astype(np.float64)
    tload = time.perf_counter() - t0
    cnt = [0, 0]

    def mv(x):
        cnt[0] += 1 if x.ndim == 1 else x.shape[1]
        return A.dot(x)

    def rmv(x):
        cnt[1] += 1 if x.ndim == 1 else x.shape[1]
        return A.T.dot(x)

    blocks = [0]  # block products (svds's final A V with the k eigenvectors): one pass each

    def mm(X):
        cnt[0] += X.shape[1]
        blocks[0] += X.shape[1] > 1
        return A.dot(X)

    def rmm(X):
        cnt[1] += X.shape[1]
        blocks[0] += X.shape[1] > 1
        return A.T.dot(X)

    # the same dispatch svds would use on the array (aslinearoperator -> A.dot / A.T.dot),
    # with counting; dtype kept, so float32 means single-precision ARPACK
    op = sla.LinearOperator(A.shape, matvec=mv, rmatvec=rmv, matmat=mm, rmatmat=rmm, dtype=A.dtype)
    tol = 0 if a.dtype == "float32" else 1e-10
    t0 = time.perf_counter()
    s = sla.svds(op, k=a.k, tol=tol, return_singular_vectors=False, random_state=np.random.default_rng(0))
    t = time.perf_counter() - t0
    s = np.sort(np.asarray(s, dtype=np.float64))[::-1]
    prods = cnt[0] + cnt[1]
    passes = prods - a.k * blocks[0] + blocks[0]  # assumes k-column blocks
    print(f"RESULT time={t:.4f} load={tload:.2f} products={prods} passes={passes} dtype={a.dtype} tol={tol:g} k={a.k} "
          f"bytes={A.nbytes} m={a.m} n={a.n}", flush=True)
    s.tofile(os.path.join(a.out, f"jac.peer{a.dtype[-2:]}.f64"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("data")
    s = sub.add_parser("spd")
    s.add_argument("specdyn")
    s.add_argument("data")
    s.add_argument("out")
    s.add_argument("--np", type=int, default=2)
    s.add_argument("--reps", type=int, default=2)
    s.add_argument("--petsc", default="", help="PETSc options for specdyn run, one string: --petsc='-log_view :FILE'")
    q = sub.add_parser("peer")
    q.add_argument("data")
    q.add_argument("out")
    q.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    for x in (g, s, q):
        x.add_argument("--m", type=int, default=20000)
        x.add_argument("--n", type=int, default=50000)
        x.add_argument("--k", type=int, default=16)
    a = p.parse_args()
    {"gen": gen, "spd": spd, "peer": peer}[a.cmd](a)


if __name__ == "__main__":
    main()
