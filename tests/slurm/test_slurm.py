"""Against a real SLURM (a private single-node cluster brought up by cluster.sh), with MPI
jobs started by srun --mpi=pmix:

0. submit.sh usage errors exit 2 with a message before anything is submitted.
1. slurm/submit.sh JOB --slices 2: an array of slices plus the dependent merge job
   (specdyn run JOB --merge); the results must be identical to a plain mpirun run.
   Alongside, submit.sh JOB (one batch job); its spectra are checked against numpy.
2. slurm/submit.sh JOB --every 10 --stop-file F: a scheduled study over a run of
   checkpoints. The first run analyses the checkpoints present; the test then writes a
   new checkpoint, and the second run (resubmitted by the first) must analyse only its
   tasks (the files of the first run keep their inode and mtime); spectra are checked
   against numpy. Then the test creates F and the chain must end with no job left.
3. The resubmission rules, with a stand-in for specdyn that exits as told: SIGUSR1 to
   the batch script (what --signal=B:USR1@120 sends before the time limit) resubmits
   and specdyn gets SIGTERM (exit 3); exit 1 resubmits; exit 2 ends the chain;
   --max-runs ends it; scancel of a running job ends it.

The cluster is torn down at the end, stopping only its daemons (by their PID files)."""
import os, re, shutil, subprocess, sys, time
import numpy as np
import h5py
sys.path.insert(0, os.path.join(os.environ["SPD_SOURCE_DIR"], "tests", "e2e"))
from spdref import *
from slurmutil import cluster, queue, skip_without_cgroup, submit, submit_usage, wait_gone

src = os.environ["SPD_SOURCE_DIR"]
skip_without_cgroup()
work = os.path.abspath("slurm_array")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
cluster_dir = f"/tmp/spd-slurm-{os.getpid()}"  # short path: the munge socket path is limited
subprocess.run(["/usr/bin/python3", f"{src}/tests/e2e/make_gpt_model.py", f"{work}/model"], check=True, capture_output=True)
EVERY = 10  # seconds between the runs of the scheduled study


def job(out):
    p = f"{work}/{os.path.basename(out)}.yaml"
    write_job(p, f"""
name: slurm
output: {out}
checkpoints:
  - path: {work}/model/model.safetensors.index.json
    label: gpt
  - path: {FIXTURES}/mnist-mlp-tinygrad.safetensors
    label: tinygrad
tensors: {{exclude: ["*ln_*"]}}
weights: {{full: true, top: 4, bottom: 2, vectors: true}}
""")
    return p


def wait_for(path, timeout=60):
    t0 = time.time()
    while not os.path.exists(path):
        check(time.time() - t0 < timeout, f"{path} did not appear within {timeout} s")
        time.sleep(0.1)


def log(jobid):
    p = f"{work}/specdyn-scheduled-{jobid}.out"
    check(os.path.exists(p), f"no log {p}")
    return open(p).read()


def next_job(jobid):
    """The id printed by a scheduled run as `next job: ID`, or None."""
    m = re.findall(r"next job: (\d+)", log(jobid))
    check(len(m) <= 1, f"job {jobid} submitted {len(m)} next runs:\n{log(jobid)}")
    return m[0] if m else None


def file_stats(results):
    d = f"{results}/tasks"
    return {f: (os.stat(f"{d}/{f}").st_ino, os.stat(f"{d}/{f}").st_mtime_ns) for f in os.listdir(d) if f.endswith(".h5")}


# ---- the reference study under plain mpirun ------------------------------------------
run(["run", job(f"{work}/plain")], np_=2, expect=0)
plain = task_files(f"{work}/plain")

# ---- a run of checkpoints for the scheduled study -------------------------------------
rng = np.random.default_rng(20240611)
steps = f"{work}/steps"
shapes = {"enc.weight": (24, 16), "dec.weight": (12, 20)}


def write_step(step):
    tensors = {n: rng.standard_normal(s) * (1 + step / 100) for n, s in shapes.items()}
    tmp = f"{steps}/.tmp.safetensors"  # written whole, then renamed: never seen half-written
    write_safetensors(tmp, tensors, "F32")
    os.rename(tmp, f"{steps}/step_{step}.safetensors")


os.makedirs(steps)
for s in (100, 200):
    write_step(s)
sched_job = f"{work}/sched.yaml"
write_job(sched_job, f"""
name: scheduled
output: {work}/sched
runs:
  - name: s
    checkpoints: steps/step_{{step}}.safetensors
weights: {{full: true}}
""")

# ---- a stand-in for specdyn for the resubmission rules --------------------------------
fake = f"{work}/fake-specdyn.sh"
with open(fake, "w") as f:
    f.write("""#!/bin/bash
# call k does what line k of $FAKE_DIR/plan says: `term` waits for SIGTERM then exits 3,
# a number exits with it
n=$(( $(cat "$FAKE_DIR/calls" 2>/dev/null || echo 0) + 1 ))
echo $n > "$FAKE_DIR/calls"
what=$(sed -n "${n}p" "$FAKE_DIR/plan")
echo "fake specdyn call $n: $what"
if [ "$what" = term ]; then
  trap 'echo "fake specdyn: SIGTERM"; exit 3' TERM
  touch "$FAKE_DIR/waiting.$n"
  for i in $(seq 120); do sleep 0.5; done
  exit 9
fi
exit "$what"
""")
os.chmod(fake, 0o755)


def fake_chain(name, plan):
    d = f"{work}/fake-{name}"
    os.makedirs(d)
    with open(f"{d}/plan", "w") as f:
        f.write("\n".join(plan) + "\n")
    return d


# usage errors are caught before anything is submitted (no cluster needed)
for args, what in ((["nonexistent.yaml"], "not found"), ([sched_job, "--slices", "0"], "--slices"),
                   ([sched_job, "--every", "5 fortnights"], "--every"), ([sched_job, "--slices", "2", "--every", "1h"], "cannot be combined"),
                   ([sched_job, "--stop-file", "x"], "--every"), ([sched_job, "--time=1"], "after --")):
    p = submit_usage(args)
    check(p.returncode == 2 and what in p.stderr and not p.stdout, f"submit.sh {args}: exit {p.returncode}, {p.stderr!r}")

with cluster(cluster_dir, work, keep=lambda l: "] done " not in l) as env:

    # 1. array of slices + merge
    ids = submit(env, job(f"{work}/sliced"), "--slices", "2", "--ranks", "2", "--", "--chdir", work)
    check(set(ids) == {"array", "merge"}, f"expected array and merge job ids: {ids}")
    # and one plain batch job (a study of the first two steps into its own folder)
    once_job = f"{work}/once.yaml"
    write_job(once_job, open(sched_job).read().replace(f"output: {work}/sched", f"output: {work}/once"))
    once = submit(env, once_job, "--ranks", "2", "--", "--chdir", work)
    check(set(once) == {"run"}, f"expected one run job id: {once}")
    wait_gone(env, [ids["array"], ids["merge"], once["run"]])
    merge_log = f"{work}/specdyn-merge-{ids['merge']}.out"
    check(os.path.exists(merge_log), "the merge job did not run (it depends on the array succeeding)")
    check("[specdyn] complete" in open(merge_log).read(), f"the merge should find every task stored:\n{open(merge_log).read()}")
    once_log = open(f"{work}/specdyn-{once['run']}.out").read()
    check("[specdyn] complete: 4 tasks done now" in once_log, f"the single run job:\n{once_log}")

    # 2. scheduled study: run 1 sees steps 100 and 200
    stop = f"{work}/sched.stop"
    ids = submit(env, sched_job, "--every", str(EVERY), "--ranks", "2", "--stop-file", stop, "--", "--chdir", work)
    check(set(ids) == {"scheduled"}, f"expected one scheduled job id: {ids}")
    first = ids["scheduled"]
    wait_gone(env, [first])
    second = next_job(first)
    check(second is not None, f"run 1 did not resubmit itself:\n{log(first)}")
    q = queue(env)
    check(q.get(second) == "PENDING", f"run 2 (job {second}) should wait for its begin time, squeue: {q}")
    before = file_stats(f"{work}/sched")
    check(len(before) == 4, f"run 1 should store 2 checkpoints x 2 matrices = 4 task files, found {sorted(before)}")
    write_step(300)  # a checkpoint written while the study waits

    wait_gone(env, [second], timeout=EVERY + 60)
    text = log(second)
    m = re.search(r"(\d+) tasks done now, (\d+) already stored", text)
    check(m and m.groups() == ("2", "4"), f"run 2 should analyse only the 2 new tasks and skip the 4 stored:\n{text}")
    after = file_stats(f"{work}/sched")
    for f, st in before.items():
        check(after.get(f) == st, f"run 2 rewrote {f} of run 1 (inode, mtime {st} -> {after.get(f)})")
    check(len(after) == 6, f"after run 2 there should be 6 task files: {sorted(after)}")
    third = next_job(second)
    check(third is not None, f"run 2 did not resubmit itself:\n{text}")

    open(stop, "w").close()  # end the chain: run 3 must not start specdyn nor resubmit
    wait_gone(env, [third], timeout=EVERY + 60)
    text = log(third)
    check("the chain ends" in text and next_job(third) is None and "tasks done now" not in text,
          f"run 3 should stop at the stop file:\n{text}")
    q = queue(env)
    check(not q, f"jobs remain after the stop file: {q}")

    # 3. resubmission rules with the stand-in
    fenv = dict(env, SPECDYN=fake)
    chain_a = fake_chain("a", ["term", "1", "2", "0"])
    chain_b = fake_chain("b", ["0", "0", "0"])
    chain_c = fake_chain("c", ["term", "0"])
    a = submit(dict(fenv, FAKE_DIR=chain_a), sched_job, "--every", "1", "--ranks", "1", "--", "--chdir", work)["scheduled"]
    wait_for(f"{chain_a}/waiting.1")
    subprocess.run(["scancel", "--signal=USR1", "--batch", a], env=env, check=True)  # the time-limit warning
    c = submit(dict(fenv, FAKE_DIR=chain_c), sched_job, "--every", "1", "--ranks", "1", "--", "--chdir", work)["scheduled"]
    wait_for(f"{chain_c}/waiting.1")
    subprocess.run(["scancel", c], env=env, check=True)  # the user cancels the running job
    b = submit(dict(fenv, FAKE_DIR=chain_b), sched_job, "--every", "1", "--max-runs", "2", "--ranks", "1", "--", "--chdir", work)["scheduled"]

    def chain(jobid):
        """The job ids of a scheduled chain, following `next job:` once each has finished."""
        out = [jobid]
        while True:
            wait_gone(env, [out[-1]], timeout=60)
            n = next_job(out[-1])
            if n is None:
                return out
            out.append(n)

    ja, jb, jc = chain(a), chain(b), chain(c)
    check(len(ja) == 3, f"chain a (SIGUSR1 -> exit 3, exit 1, exit 2) should run 3 times: jobs {ja}")
    check("time limit near" in log(ja[0]) and "specdyn exited 3" in log(ja[0]) and "fake specdyn: SIGTERM" in log(ja[0]),
          f"SIGUSR1 should resubmit and stop specdyn with SIGTERM (exit 3):\n{log(ja[0])}")
    check(log(ja[0]).index("next job:") < log(ja[0]).index("specdyn exited 3"),
          f"on SIGUSR1 the next run is submitted before specdyn stops:\n{log(ja[0])}")
    check("specdyn exited 1" in log(ja[1]), f"chain a run 2:\n{log(ja[1])}")
    check("specdyn exited 2" in log(ja[2]) and "job error" in log(ja[2]), f"exit 2 should end the chain:\n{log(ja[2])}")
    check(open(f"{chain_a}/calls").read().strip() == "3", "chain a: specdyn should have been called 3 times")
    check(len(jb) == 2 and "MAX_RUNS=2" in log(jb[1]), f"chain b (--max-runs 2) should run twice: jobs {jb}\n{log(jb[-1])}")
    check(len(jc) == 1 and "cancelled: the chain ends" in log(jc[0]), f"a cancelled run must not resubmit: jobs {jc}\n{log(jc[0])}")
    q = queue(env)
    check(not q, f"jobs remain at the end: {q}")

# results of 1: identical to mpirun
merged = task_files(f"{work}/sliced")
check(set(merged) == set(plain), f"SLURM study has {len(merged)} tasks, the mpirun study {len(plain)}")
for key in plain:
    with h5py.File(plain[key], "r") as a, h5py.File(merged[key], "r") as b:
        for ds in ("full/sigma", "top/sigma", "bottom/sigma", "top/residual"):
            x, y = a[ds][()], b[ds][()]
            tol = 1e-9 if ds != "top/residual" else 1e-3
            check(np.allclose(x, y, rtol=tol, atol=1e-14 * np.max(np.abs(a["full/sigma"][()]))), f"{key} {ds}: SLURM and mpirun results differ")

# results of 2 (and of the single run job): every step's spectra against numpy
for folder, done_steps in (("sched", (100, 200, 300)), ("once", (100, 200))):
    got = task_files(f"{work}/{folder}")
    want = {(f"s/step{s}", n) for s in done_steps for n in shapes}
    check(set(got) == want, f"{folder} study tasks {sorted(got)}, expected {sorted(want)}")
    for s in done_steps:
        ref = safetensors_tensors(f"{steps}/step_{s}.safetensors")
        for n in shapes:
            with h5py.File(got[(f"s/step{s}", n)], "r") as f:
                sigma = f["full/sigma"][()]
            exact = np.linalg.svd(ref[n], compute_uv=False)
            check(np.allclose(sigma, exact, rtol=1e-10, atol=1e-12 * exact[0]), f"{folder} step {s} {n}: sigma differs from numpy")
print(f"SLURM array (2 slices) + merge: {len(merged)} tasks identical to the mpirun run; single run job; scheduled study: "
      f"3 runs, run 2 analysed only the new checkpoint, the stop file ended the chain; resubmission rules hold")
