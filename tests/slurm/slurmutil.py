"""What the SLURM tests share: the skip where slurmd cannot run, the private cluster
(cluster.sh up/down, with the jobs' logs printed on the way out), slurm/submit.sh and
squeue polling."""
import contextlib, os, shutil, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["SPD_SOURCE_DIR"], "tests", "e2e"))
from spdref import ENV, SPECDYN, check, fail

SRC = os.environ["SPD_SOURCE_DIR"]
SUBMIT = f"{SRC}/slurm/submit.sh"


def skip_without_cgroup():
    """slurmd 22.05 cannot start without a cgroup file system (a chroot or container without
    /sys/fs/cgroup); ctest reports the test as skipped (exit 77), not passed."""
    if not os.path.ismount("/sys/fs/cgroup"):
        print("SKIP: /sys/fs/cgroup is not mounted; slurmd cannot run here")
        sys.exit(77)


def submit_usage(args):
    """Run submit.sh with no cluster; return the CompletedProcess (usage errors exit 2)."""
    return subprocess.run(["bash", SUBMIT, *args], env=dict(ENV, SPECDYN=SPECDYN), capture_output=True, text=True)


@contextlib.contextmanager
def cluster(path, work, keep=lambda line: True):
    """Bring up the private cluster in path (cluster.sh up) and yield the environment that
    submits to it; on the way out print the last 2000 characters of every specdyn-*.out log
    in work (the lines for which keep() holds) and stop only this cluster's daemons."""
    up = subprocess.run(["bash", f"{SRC}/tests/slurm/cluster.sh", "up", path], capture_output=True, text=True)
    print(up.stdout, up.stderr)
    check(up.returncode == 0, "the SLURM cluster did not come up")
    try:
        yield dict(ENV, SLURM_CONF=f"{path}/slurm.conf", SPECDYN=SPECDYN)
    finally:
        for f in sorted(f for f in os.listdir(work) if f.startswith("specdyn-") and f.endswith(".out")):
            print(f"--- {f}:\n" + "".join(l for l in open(os.path.join(work, f)) if keep(l))[-2000:])
        subprocess.run(["bash", f"{SRC}/tests/slurm/cluster.sh", "down", path])
        shutil.rmtree(path, ignore_errors=True)


def submit(env, *args):
    """Run submit.sh; return {kind: job id} from its `jobs: kind=ID ...` line."""
    p = subprocess.run(["bash", SUBMIT, *args], env=env, capture_output=True, text=True, timeout=60)
    print("$ submit.sh", " ".join(args), "\n" + p.stdout + p.stderr)
    check(p.returncode == 0, f"submit.sh {' '.join(args)} failed")
    lines = [l for l in p.stdout.splitlines() if l.startswith("jobs:")]
    check(len(lines) == 1, f"submit.sh must print one `jobs: ...` line: {p.stdout!r}")
    return dict(kv.split("=") for kv in lines[0].split()[1:])


def queue(env):
    """{job id: state} of every job SLURM still lists (pending, running, completing)."""
    q = subprocess.run(["squeue", "-h", "-o", "%i %T"], env=env, capture_output=True, text=True).stdout
    return dict(l.split() for l in q.splitlines() if l.strip())


def wait_gone(env, ids, timeout=120):
    """Poll squeue (sbatch --wait polls at 2, 10, 42 s...) until none of ids is listed."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        q = queue(env)
        left = [i for i in ids if i in q or any(k.startswith(f"{i}_") for k in q)]
        if not left:
            return
        time.sleep(0.3)
    fail(f"jobs {left} still queued after {timeout} s: {q}")
