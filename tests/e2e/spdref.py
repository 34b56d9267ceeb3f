"""Independent references for the end-to-end tests (run with /usr/bin/python3).

A tiny safetensors reader written from the format description (json + numpy, no
specdyn code), h5py for HDF5/Keras, numpy.linalg.svd for spectra, and numpy versions
of the metrics' formulas (docs/metrics.md)."""
import glob, json, os, subprocess, sys, time
import numpy as np
import h5py

MPIEXEC = os.environ.get("SPD_MPIEXEC", "mpirun")
SPECDYN = os.environ.get("SPECDYN", "specdyn")
FIXTURES = os.environ.get("SPD_FIXTURES", "")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(args, np_=1, expect=None, timeout=300):
    """Run specdyn under mpirun; return (exit status, stdout, stderr)."""
    cmd = [MPIEXEC, "--oversubscribe", "-n", str(np_), SPECDYN] + list(args)
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout)
    if expect is not None and p.returncode != expect:
        print(p.stdout)
        print(p.stderr)
        fail(f"{' '.join(cmd)} exited {p.returncode}, expected {expect}")
    return p.returncode, p.stdout, p.stderr


def signal_children(pid, sig):
    """Send sig to the children of process pid (the ranks of an mpirun), as SLURM's
    `scancel --signal` does to the tasks of a step; mpirun itself, when signalled, often
    kills the ranks instead of forwarding (Open MPI 4.1). Reads /proc: no procps needed."""
    for child in _children(pid):
        try:
            os.kill(child, sig)
        except OSError:
            pass


def _children(pid):
    out = []
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out


def _alive(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_tree(p, timeout=60):
    """SIGKILL a Popen'd mpirun and every process below it, and wait until all of them are
    gone: a rank outlives a killed mpirun for a moment (longer under ASan) and still holds
    the results folder's lock. Zombies count as gone (they hold no files)."""
    import signal as _signal
    tree, todo = [], [p.pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(_children(pid))
    for pid in tree:
        try:
            os.kill(pid, _signal.SIGKILL)
        except OSError:
            pass
    p.wait()
    t0 = time.time()
    while any(_alive(pid) for pid in tree) and time.time() - t0 < timeout:
        time.sleep(0.05)


# ---- safetensors, from the format description --------------------------------
def _bf16(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def safetensors_tensors(path):
    """{name: float64 array} of a single file or a sharded index."""
    if path.endswith(".index.json"):
        idx = json.load(open(path))
        out = {}
        for f in sorted(set(idx["weight_map"].values())):
            out.update(safetensors_tensors(os.path.join(os.path.dirname(path), f)))
        return out
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    hdr = json.loads(raw[8:8 + n])
    out = {}
    for name, t in hdr.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        buf = raw[8 + n + b:8 + n + e]
        dt = t["dtype"]
        if dt == "BF16":
            a = _bf16(np.frombuffer(buf, dtype="<u2"))
        else:
            a = np.frombuffer(buf, dtype={"F64": "<f8", "F32": "<f4", "F16": "<f2"}[dt]).astype(np.float64)
        out[name] = a.reshape(t["shape"])
    return out


def write_safetensors(path, tensors, dtype="F32"):
    """Write {name: array} as one safetensors file in the given float dtype (F32 or F64),
    from the format description (u64 header length, JSON header, row-major data)."""
    np_dt = {"F32": "<f4", "F64": "<f8"}[dtype]
    hdr, off, blobs = {}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype=np_dt).tobytes()
        hdr[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def keras_kernels(path):
    """{dataset path: float64 array} of every weight under model_weights/."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()].astype(np.float64)
        f["model_weights"].visititems(visit)
    return out


def matrix2d(a):
    return a.reshape(a.shape[0], -1) if a.ndim >= 2 else a.reshape(1, -1)


# ---- metrics, from docs/metrics.md ---------------------------------------------
def effective_rank(s):
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def stable_rank(w, s):
    return float((w ** 2).sum() / s[0] ** 2)


# ---- results -------------------------------------------------------------------
def task_files(results):
    """{(checkpoint label, analysed name): task file path} from index.h5."""
    out = {}
    with h5py.File(os.path.join(results, "index.h5"), "r") as f:
        st = [x.decode() if isinstance(x, bytes) else x for x in f["tasks/status"][()]]
        nm = [x.decode() if isinstance(x, bytes) else x for x in f["tasks/name"][()]]
        ck = [x.decode() if isinstance(x, bytes) else x for x in f["tasks/checkpoint"][()]]
        fl = [x.decode() if isinstance(x, bytes) else x for x in f["tasks/file"][()]]
    for s, n, c, p in zip(st, nm, ck, fl):
        if s == "done":
            out[(c, n)] = os.path.join(results, p)
    return out


def statuses(results):
    with h5py.File(os.path.join(results, "index.h5"), "r") as f:
        dec = lambda k: [x.decode() if isinstance(x, bytes) else x for x in f[k][()]]
        return dict(zip(zip(dec("tasks/checkpoint"), dec("tasks/name")), zip(dec("tasks/status"), dec("tasks/message"))))


def write_job(path, text):
    with open(path, "w") as f:
        f.write(text)
