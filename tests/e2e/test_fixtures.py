"""End to end on the two real third-party checkpoints (tinygrad safetensors, Keras
HDF5): every number specdyn stores is checked against numpy/h5py computed here from
the files themselves. Usage: test_fixtures.py NP"""
import os, shutil, sys
import numpy as np
import h5py
from spdref import *

np_ = int(sys.argv[1])
work = os.path.abspath(f"e2e_fixtures_np{np_}")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
job = os.path.join(work, "job.yaml")
write_job(job, f"""
name: fixtures
output: {work}/results
checkpoints:
  - path: {FIXTURES}/mnist-mlp-tinygrad.safetensors
    label: tinygrad
  - path: {FIXTURES}/mnist-mlp-keras.h5
    label: keras
weights:
  full: true
  top: 5
  bottom: 3
  vectors: true
""")
code, out, err = run(["run", job], np_=np_, expect=0)
print(err)

refs = {("tinygrad", k): v for k, v in safetensors_tensors(f"{FIXTURES}/mnist-mlp-tinygrad.safetensors").items()}
for k, v in keras_kernels(f"{FIXTURES}/mnist-mlp-keras.h5").items():
    refs[("keras", k)] = v
files = task_files(f"{work}/results")
checked = 0
for (label, name), path in sorted(files.items()):
    # find the reference tensor: the analysed name is the tensor name
    cand = [key for key in refs if key[0] == label and (key[1] == name or key[1].endswith(name) or name.endswith(key[1]))]
    check(len(cand) >= 1, f"no reference tensor for {label}:{name} among {[k for k in refs if k[0]==label]}")
    w = matrix2d(refs[cand[0]])
    with h5py.File(path, "r") as f:
        m, n = int(f.attrs["m"]), int(f.attrs["n"])
        if bool(f.attrs["transpose"]):
            w = w.T  # Keras kernels are stored [in, out]
        check((m, n) == w.shape, f"{label}:{name}: stored shape {(m, n)} != reference {w.shape}")
        s = np.linalg.svd(w, compute_uv=False)
        U, S, Vt = np.linalg.svd(w, full_matrices=False)
        full = f["full/sigma"][()]
        rel = np.max(np.abs(full - s) / np.maximum(s, 1e-12 * s[0]))
        check(rel < 1e-10, f"{label}:{name}: full spectrum differs from numpy by {rel:.2e}")
        top = f["top/sigma"][()]; res = f["top/residual"][()]; conv = f["top/converged"][()]
        k = len(top)
        check(all(conv == 1), f"{label}:{name}: top triplets not converged: {conv}")
        err_top = np.abs(top - s[:k])
        check(np.all(err_top <= res + 1e-12 * s[0]), f"{label}:{name}: |sigma-ref| {err_top} exceeds residual bound {res}")
        check(np.all(err_top / s[:k] < 1e-9), f"{label}:{name}: top sigma rel err {err_top / s[:k]}")
        check(np.all(res <= 1e-8 * s[0]), f"{label}:{name}: top residuals {res} too large")
        bot = f["bottom/sigma"][()]; bres = f["bottom/residual"][()]
        kb = len(bot)
        ref_b = s[::-1][:kb]
        check(np.all(f["bottom/converged"][()] == 1), f"{label}:{name}: bottom not converged")
        check(np.all(np.abs(bot - ref_b) <= bres + 1e-10 * s[0]), f"{label}:{name}: bottom {bot} vs numpy {ref_b} (residuals {bres})")
        Us, Vs = f["top/U"][()], f["top/V"][()]
        for i in range(Us.shape[0]):
            r = np.linalg.norm(w @ Vs[i] - top[i] * Us[i])
            check(r <= 1e-7 * s[0], f"{label}:{name}: stored vectors do not satisfy W v = s u (residual {r:.2e})")
        mt = f["metrics"].attrs
        check(abs(mt["frobenius"] - np.linalg.norm(w)) < 1e-10 * np.linalg.norm(w), f"{label}:{name}: frobenius")
        check(abs(mt["nuclear"] - s.sum()) < 1e-10 * s.sum(), f"{label}:{name}: nuclear")
        check(abs(mt["effective_rank"] - effective_rank(s)) < 1e-9 * effective_rank(s), f"{label}:{name}: effective rank {mt['effective_rank']} vs {effective_rank(s)}")
        check(abs(mt["stable_rank"] - stable_rank(w, s)) < 1e-9 * stable_rank(w, s), f"{label}:{name}: stable rank")
        check(abs(mt["condition"] - s[0] / s[-1]) < 1e-8 * s[0] / s[-1], f"{label}:{name}: condition {mt['condition']} vs {s[0]/s[-1]}")
        check(int(f.attrs["ranks"]) >= 1, "ranks attribute")
    checked += 1
check(checked == 5, f"expected 5 analysed matrices (2 tinygrad + 3 keras kernels), got {checked}: {sorted(files)}")
# 1-D tensors (Keras biases) are skipped and listed
with h5py.File(f"{work}/results/index.h5", "r") as f:
    skipped = [x.decode() if isinstance(x, bytes) else x for x in f["skipped/name"][()]]
check(sum("bias" in s for s in skipped) == 3, f"the 3 Keras biases should be listed as skipped: {skipped}")
print(f"e2e fixtures at {np_} ranks: {checked} matrices agree with numpy")
