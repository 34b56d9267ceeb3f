"""Slices of one study (`--tasks i/n`, what a SLURM array runs), two of them at the same
time, then the merge step (`--index-only`): every task is run by exactly one slice, the
slices are balanced, and the merged results equal those of one plain run."""
import os, re, shutil, subprocess
import numpy as np
import h5py
from spdref import *

src = os.environ["SPD_SOURCE_DIR"]
work = os.path.abspath("e2e_slices")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
subprocess.run(["/usr/bin/python3", f"{src}/tests/e2e/make_gpt_model.py", f"{work}/model"], check=True, capture_output=True)


def job(out):
    p = f"{work}/{os.path.basename(out)}.yaml"
    write_job(p, f"""
name: slices
output: {out}
checkpoints:
  - path: {work}/model/model.safetensors.index.json
    label: gpt
  - path: {FIXTURES}/mnist-mlp-keras.h5
    label: keras
tensors: {{exclude: ["*ln_*"]}}
weights: {{full: true, top: 4, bottom: 2}}
""")
    return p


run(["run", job(f"{work}/plain")], np_=2, expect=0)
plain = task_files(f"{work}/plain")

out = f"{work}/sliced"
j = job(out)
# slices 0 and 1 at the same time (two "array jobs"), then slice 2 on another rank count
cmd = lambda i, np_: [MPIEXEC, "--oversubscribe", "-n", str(np_), SPECDYN, "run", j, "--tasks", f"{i}/3"]
procs = [subprocess.Popen(cmd(i, 1), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (0, 1)]
outs = [p.communicate(timeout=300) for p in procs]
for p, (so, se) in zip(procs, outs):
    check(p.returncode == 0, f"slice exited {p.returncode}:\n{se}")
code, _, se2 = run(["run", j, "--tasks", "2/3"], np_=2, expect=0)
errs = [se for _, se in outs] + [se2]
ran = [set(re.findall(r"^\[specdyn\] done (\S+)", e, re.M)) for e in errs]
for a in range(3):
    for b in range(a + 1, 3):
        check(not (ran[a] & ran[b]), f"slices {a} and {b} both ran {ran[a] & ran[b]}")
allran = set().union(*ran)
check(len(allran) == len(plain), f"the slices ran {len(allran)} tasks, the study has {len(plain)}")
sizes = [len(r) for r in ran]
check(max(sizes) - min(sizes) <= max(3, len(plain) // 3), f"unbalanced slices: {sizes}")

code, _, se = run(["run", j, "--index-only"], np_=1, expect=0)
merged = task_files(out)
check(set(merged) == set(plain), "the merged index lists a different set of tasks")
for key in plain:
    with h5py.File(plain[key], "r") as a, h5py.File(merged[key], "r") as b:
        for ds in ("full/sigma", "top/sigma", "bottom/sigma"):
            x, y = a[ds][()], b[ds][()]
            check(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-300)) < 1e-9, f"{key} {ds} differs between the sliced and the plain study")
check(not [f for f in os.listdir(out) if ".tmp" in f], "no temporary index file is left behind")
# --index-only on an unfinished study says so (exit 3)
shutil.rmtree(f"{out}/tasks"); os.makedirs(f"{out}/tasks")
code, _, se = run(["run", j, "--index-only"], np_=1)
check(code == 3, f"--index-only on a study with pending tasks must exit 3, got {code}")
print(f"slices {sizes} cover the study once; merged results equal the plain run")
