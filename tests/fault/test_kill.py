"""SIGKILL of a 30-task study (mpirun -n 2, its whole process group) at random moments
spread over the run's measured duration (seeded), 10 trials. After each kill every file
under a final name (*.h5) opens with h5py; a rerun completes the study, leaves no
temporary file, and every dataset and non-provenance attribute of every task file equals
that of an uninterrupted run."""
import os, subprocess, time
from faultlib import *

work = workdir("fault_kill")
many_model(f"{work}/model.safetensors")
clean = f"{work}/clean"
job = study_job(f"{work}/job.yaml", f"{work}/unused", f"{work}/model.safetensors")  # one job text: -o picks the folder
# the uninterrupted run, timed: start-up (MPI, planning) until the first stored task, and the end
t0 = time.time()
p = subprocess.Popen([MPIEXEC, "--oversubscribe", "-n", "2", SPECDYN, "run", job, "-o", clean], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
first = None
while p.poll() is None:
    if first is None and glob.glob(f"{clean}/tasks/*.h5"):
        first = time.time() - t0
    time.sleep(0.005)
duration = time.time() - t0
check(p.returncode == 0, f"uninterrupted run exited {p.returncode}\n{p.stderr.read()}")
check(len(task_files(clean)) == 30, "the uninterrupted run should store 30 tasks")
first = first if first is not None else 0.5 * duration

rng = np.random.default_rng(20240607)
# kill moments spread from shortly before the first task is stored to the end (index writing)
moments = np.sort(rng.uniform(0.8 * first, duration, 10))
stored_at_kill = []
for i, when in enumerate(moments):
    out = f"{work}/killed{i}"
    p = subprocess.Popen([MPIEXEC, "--oversubscribe", "-n", "2", SPECDYN, "run", job, "-o", out], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(when)
    kill_tree(p)  # mpirun and its ranks; returns once none of them holds the folder's lock
    n = len(glob.glob(f"{out}/tasks/*.h5"))
    stored_at_kill.append(n)
    check_readable(out, f"trial {i} (killed at {when:.2f} s)")
    code, _, err = specdyn(["run", job, "-o", out])
    check(code == 0, f"trial {i}: the rerun exited {code}\n{err}")
    check(not leftovers(out), f"trial {i}: temporary files left after the rerun: {leftovers(out)}")
    check_readable(out, f"trial {i} rerun")
    compare_results(clean, out, f"trial {i}")
    shutil.rmtree(out)
print(f"run takes {duration:.2f} s; killed at {', '.join(f'{t:.2f}' for t in moments)} s with {stored_at_kill} of 30 tasks stored; every rerun equals the uninterrupted run")
check(any(0 < n < 30 for n in stored_at_kill), f"no kill landed mid-study: {stored_at_kill}")
