"""A multi-task study killed with SIGKILL mid-way loses only the tasks in flight:
every final-named task file is readable, a rerun finishes the rest, and the results
equal those of an uninterrupted run. SIGTERM stops before the next task with exit 3."""
import glob, os, shutil, signal, subprocess, sys, time
import numpy as np
import h5py
from spdref import *

work = os.path.abspath("e2e_resume")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
import json


def model(path, rows, cols):
    """16 Gaussian F64 matrices, each heavy enough to take a moment."""
    rng = np.random.default_rng(7)
    write_safetensors(path, {f"layer{i:02d}.weight": rng.standard_normal((rows + 8 * i, cols)) for i in range(16)}, "F64")


model(f"{work}/model.safetensors", 360, 300)
model(f"{work}/big.safetensors", 1000, 800)  # slower tasks: a signal relayed by mpirun lands mid-study


def job(out, ckpt="model"):
    p = f"{work}/{os.path.basename(out)}.yaml"
    write_job(p, f"""
name: resume
output: {out}
checkpoints: [{work}/{ckpt}.safetensors]
weights: {{full: true, top: 6, bottom: 6}}
resources: {{ranks_per_task: 1}}
""")
    return p


# uninterrupted reference run
run(["run", job(f"{work}/clean")], np_=2, expect=0)
clean = task_files(f"{work}/clean")
check(len(clean) == 16, f"clean run stored {len(clean)} tasks")

# kill -9 the whole mpirun process group once a few tasks are stored
out = f"{work}/killed"
cmd = [MPIEXEC, "--oversubscribe", "-n", "2", SPECDYN, "run", job(out)]
p = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
t0 = time.time()
while time.time() - t0 < 120:
    if len(glob.glob(f"{out}/tasks/*.h5")) >= 4:
        break
    time.sleep(0.02)
kill_tree(p)  # mpirun and its ranks, SIGKILL, and wait until none holds the folder's lock
done = glob.glob(f"{out}/tasks/*.h5")
check(0 < len(done) < 16, f"the kill should land mid-study; {len(done)} tasks were stored")
for path in done:  # every final-named file is complete and readable
    with h5py.File(path, "r") as f:
        check("full/sigma" in f and "metrics" in f, f"{path} is incomplete")
print(f"killed after {len(done)} of 16 tasks")

code, _, err = run(["run", job(out)], np_=2, expect=0)
check("already stored" in err, "the rerun should report the tasks it skips")
resumed = task_files(out)
check(set(resumed) == set(clean), "the resumed study has a different set of tasks")
for key in clean:
    with h5py.File(clean[key], "r") as a, h5py.File(resumed[key], "r") as b:
        for ds in ("full/sigma", "top/sigma", "bottom/sigma"):
            check(np.allclose(a[ds][()], b[ds][()], rtol=1e-12, atol=0), f"{key} {ds} differs after resume")

# a rerun of a complete study does nothing and succeeds
code, _, err = run(["run", job(out)], np_=2, expect=0)
check("16 of 16 tasks already stored" in err, f"complete rerun: {err}")

# SIGTERM (what SLURM sends before the time limit): stop before the next task, exit 3
out = f"{work}/term"
env1 = dict(ENV)
p = subprocess.Popen([SPECDYN, "run", job(out)], env=env1, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
t0 = time.time()
while time.time() - t0 < 120 and len(glob.glob(f"{out}/tasks/*.h5")) < 2:
    time.sleep(0.02)
p.send_signal(signal.SIGTERM)
so, se = p.communicate(timeout=120)
n_term = len(glob.glob(f"{out}/tasks/*.h5"))
check(p.returncode == 3, f"SIGTERM: exit status {p.returncode}, expected 3 (partial)\n{se}")
check(2 <= n_term < 16, f"SIGTERM: {n_term} tasks stored")
check(os.path.exists(f"{out}/index.h5"), "SIGTERM: the index must still be written")
st = statuses(out)
check(sum(1 for v in st.values() if v[0] == "pending") == 16 - n_term, "SIGTERM: pending tasks listed in the index")

# SIGTERM to the ranks of an mpirun job (what `scancel --signal=TERM` does to the tasks of
# a SLURM step, slurm/specdyn-*.sbatch): each rank stops before its next task and the
# index is written; mpirun then exits non-zero. (Signalling mpirun itself is not
# reliable: Open MPI 4.1 often kills the ranks without forwarding the SIGTERM.)
out = f"{work}/termmpi"
p = subprocess.Popen([MPIEXEC, "--oversubscribe", "-n", "2", SPECDYN, "run", job(out, "big")], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
t0 = time.time()
while time.time() - t0 < 120 and len(glob.glob(f"{out}/tasks/*.h5")) < 2:
    time.sleep(0.01)
signal_children(p.pid, signal.SIGTERM)
so, se = p.communicate(timeout=120)
n_mpi = len(glob.glob(f"{out}/tasks/*.h5"))
check(n_mpi < 16, "SIGTERM under mpirun must stop the study before its end")
check(p.returncode != 0, "SIGTERM under mpirun: a partial study must not exit 0")
check("PARTIAL" in se, f"SIGTERM under mpirun: the ranks must report a partial study\n{se}")
st = statuses(out)
check(sum(1 for v in st.values() if v[0] == "pending") == 16 - n_mpi, "SIGTERM under mpirun: pending tasks listed in the index")
run(["run", job(out, "big")], np_=2, expect=0)
check(len(task_files(out)) == 16, "a rerun after SIGTERM completes the study")
print(f"resume ok; SIGTERM stopped after {n_term} tasks with exit 3 (singleton), after {n_mpi} under mpirun")
