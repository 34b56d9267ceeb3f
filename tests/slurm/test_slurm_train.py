"""`slurm/submit.sh JOB --train` against a real SLURM (a private single-node cluster brought
up by cluster.sh), ranks started by srun --mpi=pmix:

0. usage errors exit 2 before anything is submitted: --train with --slices, and a job
   error found by `specdyn train JOB --list` (its message, naming the key, is shown).
1. A 3-run sweep: one array of 3 tasks (specdyn-train.sbatch, `specdyn train JOB --run i`
   on 2 ranks each); every run's checkpoints equal those of a plain mpirun
   `specdyn train JOB` (1 rank per run there: data parallel vs serial, to 1e-12).
2. SIGTERM to the batch script of a long run (what --signal=B:TERM@120 sends before the
   time limit): the run stops at a checkpoint with exit 3; submitting again resumes it
   and its final checkpoint equals an uninterrupted mpirun run's bit for bit.

The cluster is torn down at the end, stopping only its daemons (by their PID files)."""
import os, shutil, subprocess, sys, time
import numpy as np
import h5py
sys.path.insert(0, os.path.join(os.environ["SPD_SOURCE_DIR"], "tests", "e2e"))
from spdref import *
from slurmutil import cluster, queue, skip_without_cgroup, submit, submit_usage, wait_gone

src = os.environ["SPD_SOURCE_DIR"]
skip_without_cgroup()
work = os.path.abspath("slurm_train")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
cluster_dir = f"/tmp/spd-slurmtr-{os.getpid()}"  # short path: the munge socket path is limited


def job(name, steps, every, sweep=""):
    p = f"{work}/{name}.yaml"
    write_job(p, f"""
name: {name}
output: {work}/{name}
model: {{widths: [0, 8, 3], activation: tanh}}
data: {{source: gaussian_mixture, n: 48, d: 4, classes: 3, snr: 2, seed: 3}}
train: {{steps: {steps}, lr: 0.2, checkpoints: {{every: {every}}}}}
{sweep}
""")
    return p


def final(folder, run, steps):
    return safetensors_tensors(f"{folder}/{run}/checkpoints/step_{steps:08d}.safetensors")


SWEEP_STEPS, LONG = 30, 60000
sweep = job("sweep", SWEEP_STEPS, 10, "sweep: {seed: [1, 2, 3]}")
long = job("long", LONG, 1000)
_, out, _ = run(["train", sweep, "--list"], expect=0)
names = [l.split("\t")[1] for l in out.strip().splitlines()]
check(names == ["seed=1", "seed=2", "seed=3"], f"--list: {names}")

# 0. usage errors, before anything is submitted (no cluster needed)
bad = f"{work}/bad.yaml"
write_job(bad, open(sweep).read().replace("lr: 0.2", "lr: -1"))
for args, what in (([sweep, "--train", "--slices", "2"], "cannot be combined"), ([bad, "--train"], "train.lr")):
    p = submit_usage(args)
    check(p.returncode == 2 and what in p.stderr and not p.stdout, f"submit.sh {args}: exit {p.returncode}, {p.stderr!r}")

# references under plain mpirun
run(["train", sweep, "-o", f"{work}/plain"], np_=2, expect=0)
run(["train", long, "-o", f"{work}/plain-long"], np_=1, expect=0)

with cluster(cluster_dir, work) as env:

    # 1. the sweep as an array of 3 runs, 2 ranks each
    ids = submit(env, sweep, "--train", "--ranks", "2", "--", "--chdir", work)
    check(set(ids) == {"train"}, f"expected one train job id: {ids}")
    arr = ids["train"]
    wait_gone(env, [arr])
    for i, name in enumerate(names):
        lp = f"{work}/specdyn-train-{arr}_{i}.out"
        check(os.path.exists(lp), f"array task {i} did not run (no {lp})")
        text = open(lp).read()
        check(f"run {name} complete" in text and "specdyn exited 0" in text, f"array task {i}:\n{text}")
        check(text.count("[specdyn] run ") == 1, f"array task {i} should train only run {i}:\n{text}")
    check(not os.path.exists(f"{work}/specdyn-train-{arr}_3.out"), "the array has more tasks than runs")
    check(os.path.exists(f"{work}/sweep/study.yaml") and not [f for f in os.listdir(f"{work}/sweep") if ".tmp" in f], "study.yaml")

    # 2. SIGTERM to the batch script of a long run, then resubmit
    ids = submit(env, long, "--train", "--ranks", "1", "--", "--chdir", work)
    lid = ids["train"]
    t0 = time.time()
    while not os.path.exists(f"{work}/long/run/checkpoints/step_00001000.safetensors"):
        check(time.time() - t0 < 60, "the long run did not reach step 1000 within 60 s")
        time.sleep(0.05)
    subprocess.run(["scancel", "--signal=TERM", "--batch", f"{lid}_0"], env=env, check=True)
    wait_gone(env, [lid])
    text = open(f"{work}/specdyn-train-{lid}_0.out").read()
    check("SIGTERM" in text and "specdyn exited 3" in text and "PARTIAL" in text, f"SIGTERM should stop the run with exit 3:\n{text}")
    check(not os.path.exists(f"{work}/long/run/checkpoints/step_{LONG:08d}.safetensors"), "SIGTERM landed after the end of the run")
    with h5py.File(f"{work}/long/run/state.h5", "r") as f:
        tstop = int(f["t"][()])
    ids = submit(env, long, "--train", "--ranks", "1", "--", "--chdir", work)
    wait_gone(env, [ids["train"]])
    text = open(f"{work}/specdyn-train-{ids['train']}_0.out").read()
    check("specdyn exited 0" in text, f"the resubmitted run should complete:\n{text}")
    check(not queue(env), f"jobs remain at the end: {queue(env)}")

for name in names:
    for s in range(0, SWEEP_STEPS + 1, 10):
        a = safetensors_tensors(f"{work}/sweep/{name}/checkpoints/step_{s:08d}.safetensors")
        b = safetensors_tensors(f"{work}/plain/{name}/checkpoints/step_{s:08d}.safetensors")
        e = max(float(np.abs(a[k] - b[k]).max() / np.abs(b[k]).max()) for k in b)
        check(e < 1e-12, f"{name} step {s}: SLURM (2 ranks) and mpirun checkpoints differ by {e:.2e}")
a, b = final(f"{work}/long", "run", LONG), final(f"{work}/plain-long", "run", LONG)
check(all(np.array_equal(a[k], b[k]) for k in b), "the resumed SLURM run differs from the uninterrupted mpirun run")
print(f"SLURM train array: {len(names)} runs equal mpirun's; SIGTERM stopped the long run at step {tstop} (exit 3), "
      f"the resubmitted run finished bit for bit equal to an uninterrupted one")
