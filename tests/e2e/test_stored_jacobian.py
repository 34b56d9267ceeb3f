"""Stored Jacobians (docs/stored-jacobians.md): examples/write_jacobian_torch.py computes the
per-sample gradients (N x P) and the parameter-output Jacobian (N*C x P) of a small torch
MLP and writes them to HDF5 chunk by chunk, once in float64 and once in float32; specdyn
analyses the written job (top-16 by SLEPc, full: false) at 1, 2 and 4 ranks.

Checked against independent references:
- the written rows: per-sample gradients from a plain torch loop (loss of one sample,
  torch.autograd.grad) and output-Jacobian rows from backward passes of single logits;
- the singular values: torch.linalg.svdvals of the same matrix in double, 1e-10 relative
  (float64 file, and the float32 file's values taken exactly to double);
- residuals: the stored top/residual <= 1e-10 sigma_1 and, with the stored vectors,
  ||A v - sigma u||, ||A^T u - sigma v|| recomputed in numpy;
- G = (1/N) sum_i g_i g_i^T: its top eigenvalues by numpy.linalg.eigvalsh equal sigma_i^2 / N;
  the NTK Gram matrix J J^T: its top eigenvalues equal sigma_i(J)^2;
- the `storage` attribute: float64 for the float64 file, float32 for the float32 file under
  -spd_weights_storage auto, float64 under -spd_weights_storage double;
- float32 storage vs double storage of the same float32 file: the entries are exact in
  both, and both accumulate products in double, so the two runs differ only by the order
  of the additions (a few units of double rounding per product) and by how far each solve
  converged. Both approximate the same exact sigma_i, so |s_auto - s_double| <= r_auto +
  r_double (the stored residual bounds); measured differences are ~1e-15 relative, and
  the test asserts < 1e-12 relative;
- 1, 2 and 4 ranks give the same singular values (1e-12 sigma_1)."""
import os
import shutil
import subprocess
import sys

import numpy as np
import h5py
import torch
from spdref import *

SRC = os.environ.get("SPD_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
EXAMPLE = os.path.join(SRC, "examples", "write_jacobian_torch.py")
work = os.path.abspath("e2e_stored_jacobian")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
torch.set_num_threads(1)

N, D, H, C, TOP = 192, 8, 16, 3, 16
ARGS = ["--n", str(N), "--d", str(D), "--hidden", str(H), "--classes", str(C), "--chunk", "50", "--top", str(TOP)]
NAMES = ["per_sample_gradients", "ntk_jacobian"]
s_ = lambda x: x.decode() if isinstance(x, bytes) else str(x)

# ---- write the two files with the example -----------------------------------------
for dt in ("float64", "float32"):
    cmd = [sys.executable, EXAMPLE, "--out", f"{work}/jac_{dt}.h5", "--job", f"{work}/jac_{dt}.yaml", "--dtype", dt, "--seed", "3"] + ARGS
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, f"{' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")

mats = {}  # (dtype, name) -> float64 numpy matrix as stored
for dt in ("float64", "float32"):
    with h5py.File(f"{work}/jac_{dt}.h5", "r") as f:
        for nm in NAMES:
            d = f[nm]
            check(d.dtype == np.dtype(dt), f"{dt} file: {nm} stored as {d.dtype}")
            check(d.chunks is not None, f"{dt} file: {nm} is not chunked")
            mats[(dt, nm)] = d[()].astype(np.float64)
P = mats[("float64", NAMES[0])].shape[1]
check(P == D * H + H + H * H + H + H * C + C, f"P = {P}")
check(mats[("float64", NAMES[0])].shape == (N, P) and mats[("float64", NAMES[1])].shape == (N * C, P), "shapes of the written matrices")

# ---- the written rows against a plain torch loop (float64 model) --------------------
sys.path.insert(0, os.path.dirname(EXAMPLE))
import write_jacobian_torch as ex  # noqa: E402  (only to rebuild the same model and data)

a = ex.argparse.Namespace(n=N, d=D, hidden=H, classes=C, seed=3)
net = ex.make_model(a, torch.float64)
x, y = ex.make_data(a, torch.float64)
params = list(net.parameters())
for i in (0, 49, 50, 191):  # first row, both sides of a chunk boundary, last row
    loss = torch.nn.functional.cross_entropy(net(x[i:i + 1]), y[i:i + 1])
    g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss, params)]).numpy()
    row = mats[("float64", "per_sample_gradients")][i]
    check(np.max(np.abs(row - g)) <= 1e-13 * np.max(np.abs(g)), f"per-sample gradient row {i} differs from torch.autograd.grad ({np.max(np.abs(row - g)):.2e})")
    out = net(x[i:i + 1])[0]
    for c in range(C):
        gc = torch.cat([t.reshape(-1) for t in torch.autograd.grad(out[c], params, retain_graph=True)]).numpy()
        row = mats[("float64", "ntk_jacobian")][i * C + c]
        check(np.max(np.abs(row - gc)) <= 1e-13 * np.max(np.abs(gc)), f"Jacobian row {i * C + c} differs from d logit_{c}/d theta")
# the float32 file holds the same quantities computed in float32
for nm in NAMES:
    a64, a32 = mats[("float64", nm)], mats[("float32", nm)]
    e = np.linalg.norm(a64 - a32) / np.linalg.norm(a64)
    check(e < 1e-4, f"{nm}: the float32 file differs from the float64 one by {e:.2e}")

# ---- references ----------------------------------------------------------------------
ref = {k: torch.linalg.svdvals(torch.from_numpy(v)).numpy() for k, v in mats.items()}


def job_with_vectors(dt):
    """The example's job, with vectors stored (to recompute residuals) and a tighter tolerance."""
    text = open(f"{work}/jac_{dt}.yaml").read().replace("  bottom: 0\n", "  bottom: 0\n  vectors: true\nsolver:\n  -top_svd_tol: 1e-12\n")
    check("vectors: true" in text, f"the example's job has no 'bottom: 0' line:\n{text}")
    path = f"{work}/jac_{dt}_test.yaml"
    write_job(path, text)
    return path


def analyse(dt, np_, storage=None):
    """Run specdyn; return {name: (sigma, residual, U, V, storage attribute)}."""
    results = f"{work}/res_{dt}_np{np_}" + (f"_{storage}" if storage else "")
    args = ["run", job_with_vectors(dt), "-o", results] + (["-spd_weights_storage", storage] if storage else [])
    run(args, np_=np_, expect=0)
    tf = task_files(results)
    out = {}
    for nm in NAMES:
        where = f"{dt} np{np_} {storage or 'auto'} {nm}"
        check(("jacobians", nm) in tf, f"{where}: no task file (have {sorted(tf)})")
        with h5py.File(tf[("jacobians", nm)], "r") as f:
            check(s_(f.attrs["dtype"]) == ("F64" if dt == "float64" else "F32"), f"{where}: dtype attribute {s_(f.attrs['dtype'])}")
            check("full/sigma" not in f, f"{where}: the full spectrum was computed (job has full: false)")
            t = f["top"]
            check(int(t.attrs["nconv"]) == TOP and np.all(t["converged"][()] == 1), f"{where}: {int(t.attrs['nconv'])} of {TOP} converged")
            out[nm] = (t["sigma"][()], t["residual"][()], t["U"][()], t["V"][()], s_(f.attrs["storage"]))
            check(int(t.attrs["products"]) > 0 and int(t.attrs["passes"]) > 0, f"{where}: products/passes not recorded")
    return out


def check_against_references(dt, np_, res, storage):
    for nm in NAMES:
        where = f"{dt} np{np_} {storage} {nm}"
        s, r, U, V, sto = res[nm]
        A, sref = mats[(dt, nm)], ref[(dt, nm)]
        # singular values vs torch.linalg.svdvals
        e = np.max(np.abs(s - sref[:TOP]) / sref[:TOP])
        measured["svdvals"] = max(measured["svdvals"], e)
        check(e <= 1e-10, f"{where}: sigma vs torch.linalg.svdvals: max rel diff {e:.2e} > 1e-10\n{s}\n{sref[:TOP]}")
        # residuals, stored and recomputed in numpy from the stored vectors
        check(np.all(r <= 1e-10 * sref[0]), f"{where}: stored residuals up to {r.max():.2e} (sigma_1 {sref[0]:.3e})")
        for i in range(TOP):
            rn = np.hypot(np.linalg.norm(A @ V[i] - s[i] * U[i]), np.linalg.norm(A.T @ U[i] - s[i] * V[i]))
            check(rn <= 1e-10 * sref[0], f"{where}: triplet {i}: numpy residual {rn:.2e}")
            check(abs(sref[min(i, len(sref) - 1)] - s[i]) <= r[i] + 1e-13 * sref[0], f"{where}: sigma_{i} off by more than its residual bound")
        # the eigenvalues that follow from them
        if nm == "per_sample_gradients":
            G = np.zeros((P, P))
            for g in A:
                G += np.outer(g, g)
            G /= N
            lam = np.linalg.eigvalsh(G)[::-1][:TOP]
            e = np.max(np.abs(s ** 2 / N - lam) / lam)
            measured["G"] = max(measured["G"], e)
            check(e <= 1e-10, f"{where}: sigma^2/N vs eigvalsh(G): max rel diff {e:.2e}")
        else:
            lam = np.linalg.eigvalsh(A @ A.T)[::-1][:TOP]
            e = np.max(np.abs(s ** 2 - lam) / lam)
            measured["NTK"] = max(measured["NTK"], e)
            check(e <= 1e-10, f"{where}: sigma^2 vs eigvalsh(J J^T): max rel diff {e:.2e}")


measured = {"svdvals": 0.0, "G": 0.0, "NTK": 0.0}
runs = {}
for dt in ("float64", "float32"):
    for np_ in (1, 2, 4):
        runs[(dt, np_, "auto")] = analyse(dt, np_)
runs[("float32", 2, "double")] = analyse("float32", 2, "double")

for (dt, np_, sto), res in runs.items():
    check_against_references(dt, np_, res, sto)
    want = "float32" if (dt == "float32" and sto == "auto") else "float64"
    for nm in NAMES:
        check(res[nm][4] == want, f"{dt} np{np_} {sto} {nm}: storage attribute '{res[nm][4]}', expected '{want}'")

# ranks agree
for dt in ("float64", "float32"):
    for nm in NAMES:
        s1 = runs[(dt, 1, "auto")][nm][0]
        for np_ in (2, 4):
            d = np.max(np.abs(runs[(dt, np_, "auto")][nm][0] - s1))
            check(d <= 1e-12 * s1[0], f"{dt} {nm}: 1 and {np_} ranks differ by {d:.2e} (sigma_1 {s1[0]:.3e})")

# float32 storage against double storage of the same float32 values (2 ranks)
worst = 0.0
for nm in NAMES:
    sa, ra = runs[("float32", 2, "auto")][nm][:2]
    sd, rd = runs[("float32", 2, "double")][nm][:2]
    d = np.abs(sa - sd)
    check(np.all(d <= ra + rd), f"{nm}: float32 vs double storage differ by more than the residual bounds: {d.max():.2e}")
    rel = float(np.max(d / sd))
    worst = max(worst, rel)
    check(rel < 1e-12, f"{nm}: float32 vs double storage: max rel diff {rel:.2e} >= 1e-12")
print(f"stored jacobians: N={N}, P={P}, C={C}; float64 and float32 files at 1, 2 and 4 ranks agree with "
      f"torch.linalg.svdvals (1e-10), eigvalsh of G and J J^T; max rel diff vs svdvals {measured['svdvals']:.1e}, "
      f"G {measured['G']:.1e}, NTK {measured['NTK']:.1e}; float32 vs double storage {worst:.1e}")
