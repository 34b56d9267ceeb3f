"""The results schema: h5py reads index.h5 and follows its external links into the
task files; every attribute, group and dataset found is documented in
docs/results-format.md, and everything the document promises for a weights task
is there. Keeps the document and the code in step."""
import os, re, shutil, subprocess
import numpy as np
import h5py
from spdref import *

src = os.environ["SPD_SOURCE_DIR"]
doc = open(f"{src}/docs/results-format.md").read()
documented = set(re.findall(r"`(/?[A-Za-z_][A-Za-z0-9_/…<>.| ]*)`", doc))
documented_words = set()
for d in documented:
    for w in re.split(r"[/ ,]", d):
        documented_words.add(w)

work = os.path.abspath("e2e_schema")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
write_job(f"{work}/job.yaml", f"""
name: schema
output: {work}/results
checkpoints:
  - path: {FIXTURES}/mnist-mlp-keras.h5
    label: keras
weights: {{full: true, top: 3, bottom: 2, vectors: true}}
""")
run(["run", f"{work}/job.yaml"], np_=2, expect=0)

with h5py.File(f"{work}/results/index.h5", "r") as f:
    for a in f.attrs:
        check(a in documented_words, f"index.h5 root attribute '{a}' is not documented in docs/results-format.md")
    for g in ("tasks", "skipped", "checkpoints_list", "checkpoint_errors"):
        check(g in f, f"index.h5 lacks /{g}")
        for d in f[g]:
            check(d in documented_words, f"index.h5 dataset {g}/{d} is not documented")
    # external links resolve into the task files
    g = f["checkpoints/keras/dense/kernel"]
    check(int(g.attrs["m"]) == 64 and int(g.attrs["n"]) == 784, "the link /checkpoints/keras/dense/kernel leads to the 64x784 task")
    def count(g):  # visititems does not follow external links: walk by hand
        return sum(1 if "metrics" in g[k] else count(g[k]) for k in g.keys() if isinstance(g[k], h5py.Group))
    n_links = count(f["checkpoints"])
    check(n_links == 3, f"3 analysed matrices reachable through links, found {n_links}")

required_root = ["specdyn_version", "git_revision", "library_versions", "written", "study", "job_text", "petsc_options",
                 "analysis", "task_id", "checkpoint", "checkpoint_label", "run", "step", "name", "tensor", "tensor_file", "dtype",
                 "m", "n", "row0", "nrows", "col0", "ncols", "transpose", "ranks", "world_ranks", "storage"]
required_metrics = ["frobenius", "spectral", "nuclear", "stable_rank", "effective_rank", "numerical_rank", "rank_tol",
                    "sigma_min", "condition", "mp_noise", "mp_edge", "mp_threshold", "mp_outliers", "alpha", "alpha_xmin",
                    "alpha_ntail", "alpha_ks"]
for key, path in task_files(f"{work}/results").items():
    with h5py.File(path, "r") as f:
        for a in required_root:
            check(a in f.attrs, f"{path}: root attribute {a} missing")
        for a in f.attrs:
            check(a in documented_words, f"task attribute '{a}' is not documented")
        for a in required_metrics:
            check(a in f["metrics"].attrs, f"{path}: metrics/{a} missing")
        for a in f["metrics"].attrs:
            check(a in documented_words, f"metric '{a}' is not documented")
        for grp in ("top", "bottom"):
            for a in ("requested", "nconv", "iterations", "products", "passes", "solver", "tol"):
                check(a in f[grp].attrs, f"{path}: {grp} attribute {a} missing")
            for d in ("sigma", "residual", "converged"):
                check(d in f[grp], f"{path}: {grp}/{d} missing")
        m, n = int(f.attrs["m"]), int(f.attrs["n"])
        check(f["top/U"].shape == (3, m) and f["top/V"].shape == (3, n), f"{path}: U {f['top/U'].shape}, V {f['top/V'].shape}")
        check(f["full/sigma"].shape == (min(m, n),), "full/sigma length")
        for a in ("read_seconds", "full_seconds", "top_seconds", "bottom_seconds"):
            check(a in f["timings"].attrs, f"timings/{a} missing")
        check("mnist-mlp-keras.h5" in f.attrs["job_text"], "the job text is stored as provenance")
        check(f.attrs["dtype"] == "F32", f"dtype attribute {f.attrs['dtype']}")

# ---- a study with runs and comparisons: /comparisons, /trajectories, differences -------
rng = np.random.default_rng(5)
for r in ("a", "b"):
    for step in (0, 10):
        write_safetensors(f"{work}/ck/{r}/s_{step}.safetensors", {"l1.weight": rng.standard_normal((9, 6)).astype(np.float32), "l2.weight": rng.standard_normal((5, 9)).astype(np.float32)})
write_job(f"{work}/study.yaml", f"""
name: schema2
output: {work}/study
runs:
  - name: a
    checkpoints: ck/a/s_{{step}}.safetensors
  - name: b
    checkpoints: ck/b/s_{{step}}.safetensors
weights: {{full: true, top: 3}}
compare: {{k: 2, differences: [runs, initial]}}
""")
run(["run", f"{work}/study.yaml"], np_=2, expect=0)
with h5py.File(f"{work}/study/index.h5", "r") as f:
    for g in ("tasks", "comparisons"):
        for d in f[g]:
            check(d in documented_words, f"index.h5 dataset {g}/{d} is not documented")
    rel = set(x.decode() if isinstance(x, bytes) else x for x in f["comparisons/relation"][()])
    check(rel == {"final", "previous", "runs", "layers"}, f"relations {rel}")
    files = [x.decode() if isinstance(x, bytes) else x for x in f["comparisons/file"][()]]
    traj = f["trajectories/a/l1.weight"]
    for d in traj:
        check(d in documented_words or d in required_metrics, f"trajectory dataset {d} is not documented")
    check("differences" in f and "a" in f["differences"], "the index links difference tasks under /differences")
    g = f["differences/a/step10/minus/a/step0/l1.weight"]
    for a in ("kind", "minus_checkpoint", "minus_checkpoint_label", "minus_run", "minus_step"):
        check(a in g.attrs, f"difference task attribute {a} missing")
        check(a in documented_words, f"difference task attribute {a} is not documented")
for fl in files:
    with h5py.File(f"{work}/study/{fl}", "r") as g:
        for a in g.attrs:
            check(a in documented_words, f"comparison attribute '{a}' is not documented")
        for d in g:
            check(d in documented_words, f"comparison dataset '{d}' is not documented")
        for a in g["summary"].attrs:
            check(a in documented_words, f"comparison summary '{a}' is not documented")
print("schema: index, task and comparison files match docs/results-format.md")
