"""Runs with step patterns (job key `runs:`): two runs of three safetensors checkpoints
written in shuffled step order, plus a step_final file that the pattern must ignore.
Each task file's run/step attributes must name the checkpoint it was computed from (its
singular values match numpy on the matrix planted for that run and step), the index
lists each run's checkpoints ordered by step, and the CSV has run and step columns."""
import csv, json, os, shutil
import numpy as np
import h5py
from spdref import *

work = os.path.abspath("e2e_runs")
shutil.rmtree(work, ignore_errors=True)
RUNS = {"seed0": "ckpt/seed0/step_{step}.safetensors", "wd": "ckpt/wd/model-{step}.safetensors"}
STEPS = [200, 0, 50]  # written in this (shuffled) order
SHAPES = {"layer.weight": (12, 7), "head.weight": (5, 12)}


def planted(run, step, name):
    """The matrix planted for (run, step, tensor): distinct per checkpoint."""
    seed = [0, 1]["seed0 wd".split().index(run)] * 100000 + step * 10 + sorted(SHAPES).index(name)
    return np.random.default_rng(seed).standard_normal(SHAPES[name]).astype(np.float32)


for run_, pat in RUNS.items():
    for step in STEPS:
        write_safetensors(f"{work}/{pat.replace('{step}', str(step))}", {n: planted(run_, step, n) for n in SHAPES})
    # not an integer step: ignored (its matrix would be caught by the checks below)
    write_safetensors(f"{work}/{pat.replace('{step}', 'final')}", {n: planted(run_, 999, n) for n in SHAPES})

write_job(f"{work}/job.yaml", f"""
name: runs
output: results
runs:
  - name: seed0
    checkpoints: {RUNS['seed0']}
  - name: wd
    checkpoints: "ckpt/w[d]/model-{{step}}.safetensors"
weights: {{full: true, top: 3}}
""")
run(["run", f"{work}/job.yaml"], np_=2, expect=0)
results = f"{work}/results"

s = lambda x: x.decode() if isinstance(x, bytes) else str(x)
with h5py.File(f"{results}/index.h5", "r") as f:
    runs = [s(x) for x in f["checkpoints_list/run"][()]]
    steps = [int(x) for x in f["checkpoints_list/step"][()]]
    labels = [s(x) for x in f["checkpoints_list/label"][()]]
    paths = [s(x) for x in f["checkpoints_list/path"][()]]
    check(f["checkpoints_list/step"].dtype == np.int64, f"checkpoints_list/step is {f['checkpoints_list/step'].dtype}, expected int64")
    expect = [(r, st) for r in ("seed0", "wd") for st in sorted(STEPS)]
    check(list(zip(runs, steps)) == expect, f"index checkpoints (run, step) {list(zip(runs, steps))}, expected {expect}")
    check(labels == [f"{r}/step{st}" for r, st in expect], f"labels {labels}")
    check(paths == [f"{work}/{RUNS[r].replace('{step}', str(st))}" for r, st in expect], f"paths {paths}")
    trun = [s(x) for x in f["tasks/run"][()]]
    tstep = [int(x) for x in f["tasks/step"][()]]
    tck = [s(x) for x in f["tasks/checkpoint"][()]]
    tst = [s(x) for x in f["tasks/status"][()]]
    check(len(trun) == len(tck) == len(tstep) == 2 * 3 * len(SHAPES), f"{len(tck)} tasks, expected {2 * 3 * len(SHAPES)}")
    check(all(st == "done" for st in tst), f"statuses {tst}")
    for r, st, c in zip(trun, tstep, tck):
        check(c == f"{r}/step{st}", f"task of checkpoint {c} has run '{r}', step {st}")
    # links: /checkpoints/<run>/step<step>/<name>
    g = f["checkpoints/wd/step50/head.weight"]
    check(s(g.attrs["run"]) == "wd" and int(g.attrs["step"]) == 50, "link checkpoints/wd/step50/head.weight")

files = task_files(results)
check(len(files) == 2 * 3 * len(SHAPES), f"{len(files)} task files")
for (label, name), path in files.items():
    with h5py.File(path, "r") as f:
        r, st = s(f.attrs["run"]), int(f.attrs["step"])
        check(f.attrs["step"].dtype == np.int64, f"{path}: step attribute is {f.attrs['step'].dtype}")
        check(label == f"{r}/step{st}", f"{path}: label {label}, run {r}, step {st}")
        ck = s(f.attrs["checkpoint"])
        check(ck == f"{work}/{RUNS[r].replace('{step}', str(st))}", f"{path}: checkpoint {ck} for run {r} step {st}")
        w = planted(r, st, name).astype(np.float64)
        check(np.array_equal(safetensors_tensors(ck)[name], w), f"{ck}: {name} is not the planted matrix")
        ref = np.linalg.svd(w, compute_uv=False)
        got = f["full/sigma"][()]
        check(got.shape == ref.shape and np.allclose(got, ref, rtol=0, atol=1e-10 * ref[0]), f"{path}: full/sigma {got} vs numpy {ref}")
        top = f["top/sigma"][()]
        check(np.allclose(top, ref[:3], rtol=0, atol=1e-8 * ref[0]), f"{path}: top/sigma {top} vs numpy {ref[:3]}")

run(["export", results, "--csv", f"{work}/out.csv"], np_=1, expect=0)
rows = list(csv.DictReader(open(f"{work}/out.csv")))
hdr = next(csv.reader(open(f"{work}/out.csv")))
check(hdr[:3] == ["checkpoint", "run", "step"], f"CSV header starts {hdr[:4]}")
check(len(rows) == 2 * 3 * len(SHAPES), f"{len(rows)} CSV rows")
for row in rows:
    check(row["checkpoint"] == f"{row['run']}/step{row['step']}" and row["run"] in RUNS and int(row["step"]) in STEPS, f"CSV row {row['checkpoint']}, run '{row['run']}', step '{row['step']}'")
    w = planted(row["run"], int(row["step"]), row["name"]).astype(np.float64)
    sp = float(row["spectral"])
    ref = np.linalg.svd(w, compute_uv=False)[0]
    check(abs(sp - ref) <= 1e-10 * ref, f"CSV spectral {sp} vs numpy {ref} for {row['checkpoint']}:{row['name']}")
print("runs: task files, index and CSV carry run and step; spectra match numpy")
