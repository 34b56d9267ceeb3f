"""SIGTERM while a task is being computed (what SLURM sends before the time limit):
the completed tasks are stored, the task in flight is finished and stored (no partial
file under a final name, no temporary file), the others are listed as pending in
index.h5, the exit status is 3 (partial), and a rerun completes the study without
leaving temporary files. Under mpirun (2 ranks, 2 groups) the same, with mpirun's own
non-zero status."""
import os, signal, subprocess, time
from faultlib import *

work = workdir("fault_term")


def tamper(name, a):  # the 4 largest tasks are slow enough to be caught in flight
    i = int(name[5:7])
    return np.random.default_rng(i).standard_normal((700, 560)) if i >= 26 else a


many_model(f"{work}/model.safetensors", tamper=tamper)
job = study_job(f"{work}/job.yaml", f"{work}/unused", f"{work}/model.safetensors", weights="{full: true, top: 4, bottom: 0}")


def term_after_first_done(cmd, out):
    """Start cmd, send SIGTERM as soon as the first task file is stored (a large task is
    then in flight); return (status, stderr)."""
    p = subprocess.Popen(cmd + ["-o", out], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while p.poll() is None and not glob.glob(f"{out}/tasks/*.h5") and time.time() - t0 < 120:
        time.sleep(0.005)
    time.sleep(0.15)  # into the next large task (about 0.5 s each)
    if cmd[0] == MPIEXEC:
        signal_children(p.pid, signal.SIGTERM)  # the ranks, as scancel --signal=TERM does
    else:
        p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    return p.returncode, err


for label, cmd, want in (("singleton", [SPECDYN, "run", job], 3), ("mpirun -n 2", [MPIEXEC, "--oversubscribe", "-n", "2", SPECDYN, "run", job, "-spd_run_schedule", "static"], None)):
    out = f"{work}/out_{label.split()[0]}"
    code, err = term_after_first_done(cmd, out)
    n = len(glob.glob(f"{out}/tasks/*.h5"))
    if want is not None:
        check(code == want, f"{label}: SIGTERM during a task: exit {code}, expected {want} (partial)\n{err}")
    else:
        check(code != 0, f"{label}: a study stopped by SIGTERM must not exit 0\n{err}")
    check("PARTIAL" in err, f"{label}: the run must report a partial study\n{err}")
    done_lines = err.count("[specdyn] done")
    check(1 <= n < 30 and n == done_lines, f"{label}: {n} task files stored, {done_lines} reported done")
    check_readable(out, label)
    check(not leftovers(out), f"{label}: temporary files after SIGTERM: {leftovers(out)}")
    st = statuses(out)
    check(sum(v[0] == "pending" for v in st.values()) == 30 - n and sum(v[0] == "done" for v in st.values()) == n, f"{label}: index statuses {st}")
    code0 = code
    code, _, err = specdyn(["run", job, "-o", out])
    check(code == 0 and f"{n} of 30 tasks already stored" in err, f"{label}: rerun exited {code}\n{err}")
    check(not leftovers(out), f"{label}: temporary files after the rerun: {leftovers(out)}")
    check(len(task_files(out)) == 30, f"{label}: the rerun must complete the study")
    print(f"{label}: SIGTERM after the first task: {n} tasks stored (a task in flight is finished, not cut), exit {code0}; rerun completed")
