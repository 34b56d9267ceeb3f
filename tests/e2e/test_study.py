"""End to end on the demo's sharded BF16 GPT-like model: splits of the fused
attention projection into q,k,v and heads, planted outliers, CSV export, and the same
numbers at 1, 2 and 4 ranks. Every value is checked against numpy on the tensors read
by an independent safetensors reader (spdref.py)."""
import csv, os, shutil, subprocess, sys, json
import numpy as np
import h5py
from spdref import *

src = os.environ["SPD_SOURCE_DIR"]
work = os.path.abspath("e2e_study")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
subprocess.run(["/usr/bin/python3", f"{src}/tests/e2e/make_gpt_model.py", f"{work}/model"], check=True)
planted = json.load(open(f"{work}/model/planted.json"))["planted_rank"]
tensors = safetensors_tensors(f"{work}/model/model.safetensors.index.json")


def job_text(out):
    return f"""
name: study
output: {out}
checkpoints:
  - path: {work}/model/model.safetensors.index.json
    label: gpt
tensors:
  include: ["*.weight"]
  exclude: ["*ln_*", "*wpe*"]
  split:
    - match: "*.attn.c_attn.weight"
      parts: [q, k, v]
      axis: 0
      heads: 2
      transpose: true
weights:
  full: true
  top: 4
  bottom: 2
  vectors: true
"""


def reference(name):
    """The analysed matrix for an analysed name, from numpy."""
    if "[" in name:
        base, rest = name.split("[", 1)
        part, _, head = rest.partition("]")
        w = tensors[base].T  # transpose: true
        p = "qkv".index(part)
        rows = w.shape[0] // 3
        w = w[p * rows:(p + 1) * rows]
        if head:
            h = int(head.split("head")[1])
            hr = rows // 2
            w = w[h * hr:(h + 1) * hr]
        return w
    return matrix2d(tensors[name])


results = {}
for np_ in (2, 1, 4):
    out = f"{work}/results-np{np_}"
    write_job(f"{work}/job{np_}.yaml", job_text(out))
    code, _, err = run(["run", f"{work}/job{np_}.yaml"], np_=np_, expect=0)
    if np_ == 2:
        print(err)
    results[np_] = task_files(out)

files = results[2]
expect_names = {n for n in tensors if n.endswith(".weight") and "ln_" not in n and "wpe" not in n and "c_attn" not in n}
for i in range(4):
    for part in "qkv":
        expect_names.add(f"transformer.h.{i}.attn.c_attn.weight[{part}]")
        for h in range(2):
            expect_names.add(f"transformer.h.{i}.attn.c_attn.weight[{part}]/head{h}")
got = {n for (_, n) in files}
check(got == expect_names, f"analysed names differ:\n missing {sorted(expect_names - got)}\n extra {sorted(got - expect_names)}")

for (label, name), path in sorted(files.items()):
    w = reference(name)
    s = np.linalg.svd(w, compute_uv=False)
    with h5py.File(path, "r") as f:
        check((int(f.attrs["m"]), int(f.attrs["n"])) == w.shape, f"{name}: shape {f.attrs['m']}x{f.attrs['n']} vs {w.shape}")
        full = f["full/sigma"][()]
        rel = np.max(np.abs(full - s) / np.maximum(s, 1e-12 * s[0]))
        check(rel < 1e-10, f"{name}: spectrum differs from numpy by {rel:.2e}")
        top, res = f["top/sigma"][()], f["top/residual"][()]
        check(np.all(np.abs(top - s[:4]) <= res + 1e-12 * s[0]), f"{name}: top {top} vs {s[:4]} (residuals {res})")
        if name in planted:
            out_ = int(f["metrics"].attrs["mp_outliers"])
            check(out_ == planted[name], f"{name}: {out_} singular values above the MP edge, planted {planted[name]}")

# the same numbers at 1, 2 and 4 ranks
for np_ in (1, 4):
    check(set(results[np_]) == set(files), f"np={np_} analysed a different set of matrices")
    for key, path in files.items():
        with h5py.File(path, "r") as a, h5py.File(results[np_][key], "r") as b:
            for ds in ("full/sigma", "top/sigma", "bottom/sigma"):
                x, y = a[ds][()], b[ds][()]
                d = np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-300))
                check(d < 1e-9, f"{key} {ds}: np=2 and np={np_} differ by {d:.2e}")
            for att in ("effective_rank", "stable_rank", "nuclear", "mp_outliers", "alpha"):
                x, y = a["metrics"].attrs[att], b["metrics"].attrs[att]
                check((np.isnan(x) and np.isnan(y)) or abs(x - y) <= 1e-9 * max(abs(x), 1e-300), f"{key} {att}: {x} vs {y}")

# CSV export: one row per analysed matrix, numbers equal to the HDF5 attributes
code, _, err = run(["export", f"{work}/results-np2", "--csv", f"{work}/out.csv"], np_=1, expect=0)
rows = list(csv.DictReader(open(f"{work}/out.csv")))
check(len(rows) == len(files), f"CSV has {len(rows)} rows, expected {len(files)}")
for r in rows:
    path = files[(r["checkpoint"], r["name"])]
    with h5py.File(path, "r") as f:
        for col in ("effective_rank", "stable_rank", "spectral", "frobenius"):
            check(float(r[col]) == float(f["metrics"].attrs[col]), f"CSV {r['name']} {col}: {r[col]} vs {f['metrics'].attrs[col]}")
        check(r["status"] == "done" and int(r["m"]) == int(f.attrs["m"]), f"CSV row {r}")
print(f"study: {len(files)} matrices agree with numpy; identical at 1, 2, 4 ranks; CSV matches")
