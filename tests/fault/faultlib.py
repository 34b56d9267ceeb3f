"""Shared helpers of the fault-injection tests (run with /usr/bin/python3).

The independent references (safetensors writer, h5py readers) come from
tests/e2e/spdref.py; this adds a small many-task study and checks on results folders
that use only h5py and numpy."""
import glob, os, shutil, subprocess, sys, time
import numpy as np
import h5py

sys.path.insert(0, os.path.join(os.environ.get("SPD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")), "tests", "e2e"))
from spdref import *  # noqa: E402,F401

# provenance that legitimately differs between two runs of one study
PROVENANCE = {"written", "world_ranks", "petsc_options", "job_path", "git_revision"}


def workdir(name):
    w = os.path.abspath(name)
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(w)
    return w


def many_model(path, ntasks=30, seed=11, dtype="F64", tamper=None):
    """ntasks Gaussian matrices growing from 40x30 to 200x150 (a fast many-task study).
    tamper(name, array) may change a matrix before it is written."""
    rng = np.random.default_rng(seed)
    t = {}
    for i in range(ntasks):
        m, n = 40 + (160 * i) // max(ntasks - 1, 1), 30 + (120 * i) // max(ntasks - 1, 1)
        a = rng.standard_normal((m, n))
        name = f"layer{i:02d}.weight"
        t[name] = tamper(name, a) if tamper else a
    write_safetensors(path, t, dtype)
    return t


def study_job(path, out, ckpt, weights="{full: true, top: 4, bottom: 4}", resources="{ranks_per_task: 1}", extra=""):
    write_job(path, f"""
name: fault
output: {out}
checkpoints: [{ckpt}]
weights: {weights}
resources: {resources}
{extra}
""")
    return path


def specdyn(args, np_=None, timeout=300, **kw):
    """specdyn directly (singleton MPI, np_=None) or under mpirun: (status, stdout, stderr)."""
    cmd = ([SPECDYN] if np_ is None else [MPIEXEC, "--oversubscribe", "-n", str(np_), SPECDYN]) + list(args)
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout, **kw)
    return p.returncode, p.stdout, p.stderr


def final_h5(results):
    """Every file under a final name (*.h5) in a results folder."""
    return sorted(glob.glob(os.path.join(results, "**", "*.h5"), recursive=True))


def leftovers(results):
    """Temporary files (*.tmp, *.tmp.<pid>) in a results folder."""
    return sorted(p for p in glob.glob(os.path.join(results, "**", "*"), recursive=True) if ".tmp" in os.path.basename(p))


def check_readable(results, what=""):
    """Open every final-named HDF5 file with h5py; task files must be complete."""
    for p in final_h5(results):
        try:
            with h5py.File(p, "r") as f:
                if os.path.basename(os.path.dirname(p)) == "tasks":
                    check("metrics" in f and ("top/sigma" in f or "full/sigma" in f or "top/lambda" in f), f"{what}: {p} is incomplete")
                    f.visititems(lambda n, o: o[()] if isinstance(o, h5py.Dataset) else None)
        except OSError as e:
            fail(f"{what}: {p} is under a final name but cannot be read: {e}")


def _attrs(obj, skip=()):
    return {k: v for k, v in obj.attrs.items() if k not in PROVENANCE and k not in skip}


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f":
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a.shape == b.shape and np.array_equal(a, b)


def compare_results(ref, got, what, skip=()):
    """Every dataset and every non-provenance attribute of every task file of `got`
    equals that of `ref` (timings are wall-clock and skipped; `skip`: more root attributes)."""
    a, b = task_files(ref), task_files(got)
    check(set(a) == set(b), f"{what}: tasks {sorted(set(a) ^ set(b))} differ between the runs")
    for key in a:
        with h5py.File(a[key], "r") as fa, h5py.File(b[key], "r") as fb:
            na, nb = [], []
            fa.visit(na.append)
            fb.visit(nb.append)
            check(sorted(na) == sorted(nb), f"{what}: {key}: objects differ: {sorted(set(na) ^ set(nb))}")
            ra, rb = _attrs(fa, skip), _attrs(fb, skip)
            check(ra.keys() == rb.keys() and all(_same(ra[k], rb[k]) for k in ra), f"{what}: {key}: root attributes differ")
            for n in na:
                if n == "timings":
                    continue
                oa, ob = fa[n], fb[n]
                if isinstance(oa, h5py.Dataset):
                    check(_same(oa[()], ob[()]), f"{what}: {key}: dataset {n} differs")
                aa, ab = _attrs(oa), _attrs(ob)
                check(aa.keys() == ab.keys() and all(_same(aa[k], ab[k]) for k in aa), f"{what}: {key}: attributes of {n} differ")
    st = statuses(got)
    check(all(v[0] == "done" for v in st.values()), f"{what}: not every task is done: {st}")
