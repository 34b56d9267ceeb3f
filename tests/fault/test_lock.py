"""Concurrent runs on one results folder (<results>/.lock, src/store/lock.c):
- a second plain `specdyn run` while one runs (held stopped by SIGSTOP) exits 2 with a message naming the folder
  and the holder's pid, and the first completes;
- a slice (--tasks i/n) while a plain run runs is refused the same way;
- two slices of one study at once both succeed (they share the folder on purpose), and
  --merge afterwards completes the study;
- the lock dies with its holder: a run after SIGKILL of the holder proceeds."""
import os, signal, subprocess, time
from faultlib import *

work = workdir("fault_lock")


many_model(f"{work}/model.safetensors")
job = study_job(f"{work}/job.yaml", f"{work}/unused", f"{work}/model.safetensors", weights="{full: true, top: 4, bottom: 0}")


def start(out, *extra):
    return subprocess.Popen([SPECDYN, "run", job, "-o", out] + list(extra), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_lock(p, out):
    """Until the run is past opening the folder (its first task is stored)."""
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < 60:
        if glob.glob(f"{out}/tasks/*.h5"):
            return
        time.sleep(0.01)
    fail(f"the first run never took the lock (exit {p.poll()})")


# ---- plain vs plain, plain vs slice ------------------------------------------------------
out = f"{work}/plain"
a = start(out)
wait_for_lock(a, out)
os.kill(a.pid, signal.SIGSTOP)  # the first run holds the folder while the others try
code, _, err = specdyn(["run", job, "-o", out], timeout=120)
check(code == 2, f"a second plain run on a busy folder: exit {code}, expected 2\n{err}")
check(out in err and f"pid {a.pid}" in err and "a plain run" in err and "-o" in err, f"the refusal must name the folder, the holder's pid and the way out\n{err}")
code, _, err = specdyn(["run", job, "-o", out, "--tasks", "0/2"], timeout=120)
check(code == 2 and f"pid {a.pid}" in err, f"a slice while a plain run holds the folder: exit {code}\n{err}")
os.kill(a.pid, signal.SIGCONT)
so, se = a.communicate(timeout=120)
check(a.returncode == 0, f"the first run must complete: exit {a.returncode}\n{se}")
check(len(task_files(out)) == 30 and not leftovers(out), "the first run's results")
check_readable(out, "plain run")
print("a second plain run and a slice were refused while a plain run held the folder")

# ---- two slices at once, then --merge ------------------------------------------------
out = f"{work}/slices"
s0, s1 = start(out, "--tasks", "0/2"), start(out, "--tasks", "1/2")
r = [(p.communicate(timeout=120), p.returncode) for p in (s0, s1)]
for i, ((so, se), rc) in enumerate(r):
    check(rc == 0, f"slice {i}/2 running beside the other: exit {rc}\n{se}")
code, _, err = specdyn(["run", job, "-o", out, "--merge"], timeout=120)
check(code == 0, f"--merge after two concurrent slices: exit {code}\n{err}")
check(len(task_files(out)) == 30 and not leftovers(out), "two slices must together store the study")
compare_results(f"{work}/plain", out, "slices vs plain run")
print("two concurrent slices stored the study; --merge completed it")

# ---- the lock dies with its holder ---------------------------------------------------
out = f"{work}/killed"
a = start(out)
wait_for_lock(a, out)
a.send_signal(signal.SIGKILL)
a.communicate()
code, _, err = specdyn(["run", job, "-o", out], timeout=120)
check(code == 0 and not leftovers(out), f"a run after the holder was killed: exit {code}\n{err}")
print("after SIGKILL of the holder the next run proceeds and cleans up its temporary files")
