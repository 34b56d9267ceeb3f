"""Checkpoints written by another tool: a small PyTorch network (a Conv2d and three
Linear layers) is trained a few SGD steps by torch, and its state dicts are written
after chosen steps to HDF5 with h5py (one dataset per state-dict key), once as float32
and once, in a second run trained in double, as float64. specdyn analyses both runs
through step patterns at 1 and 2 ranks (at 2 ranks, both ranks share every task). Checked with h5py, against torch and numpy:
every weight tensor of every step has a task file with the right run and step, its full
spectrum equals torch.linalg.svdvals of the tensor (in double) to 1e-10 * sigma_1, the
stored top singular vectors satisfy W v = sigma u and W^T u = sigma v (residuals
recomputed in numpy), the biases are listed as skipped, and 1 and 2 ranks agree."""
import os, shutil
from collections import OrderedDict
import numpy as np
import h5py
import torch
from spdref import *

work = os.path.abspath("e2e_torch")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
torch.set_num_threads(1)

STEPS = [0, 5, 10, 20]  # state dicts saved after these many SGD steps
RUNS = {"f32": torch.float32, "f64": torch.float64}
TOP = 4
s_ = lambda x: x.decode() if isinstance(x, bytes) else str(x)


def model_for(dtype, seed):
    """Conv2d(2->8, 3x3) on 2x4x4 inputs, then an MLP 32 -> 48 -> 40 -> 10."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(OrderedDict([
        ("conv", torch.nn.Conv2d(2, 8, 3)),  # (8, 2, 3, 3): analysed as 8 x 18
        ("act0", torch.nn.ReLU()),
        ("flat", torch.nn.Flatten()),        # 8 x 2 x 2 = 32 features
        ("fc1", torch.nn.Linear(32, 48)),
        ("act1", torch.nn.ReLU()),
        ("fc2", torch.nn.Linear(48, 40)),
        ("act2", torch.nn.ReLU()),
        ("head", torch.nn.Linear(40, 10)),
    ]))
    return net.to(dtype)


def save_state_dict(path, sd):
    """One dataset per state-dict key, in the key's dtype (what a user would do with h5py)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        for k, t in sd.items():
            f.create_dataset(k, data=t.detach().cpu().numpy())


# ---- train with torch and write the series -----------------------------------
saved = {}  # (run, step) -> {key: float64 numpy array of the saved tensor}
for ri, (run_, dt) in enumerate(RUNS.items()):
    net = model_for(dt, seed=1234 + ri)
    g = torch.Generator().manual_seed(99 + ri)
    x = torch.randn(64, 2, 4, 4, generator=g, dtype=dt)
    y = torch.randint(0, 10, (64,), generator=g)
    opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    for step in range(max(STEPS) + 1):
        if step in STEPS:
            sd = net.state_dict()
            save_state_dict(f"{work}/ckpt/{run_}/step_{step}.h5", sd)
            saved[(run_, step)] = {k: v.detach().to(torch.float64).numpy().copy() for k, v in sd.items()}
        opt.zero_grad()
        lossf(net(x), y).backward()
        opt.step()

WEIGHTS = [k for k, v in saved[("f32", 0)].items() if v.ndim >= 2]
BIASES = [k for k, v in saved[("f32", 0)].items() if v.ndim == 1]
check(WEIGHTS == ["conv.weight", "fc1.weight", "fc2.weight", "head.weight"], f"state-dict weights {WEIGHTS}")
check(BIASES == ["conv.bias", "fc1.bias", "fc2.bias", "head.bias"], f"state-dict biases {BIASES}")
# training really moved the weights, so each step is a different matrix
for run_ in RUNS:
    d = np.linalg.norm(saved[(run_, 20)]["fc1.weight"] - saved[(run_, 0)]["fc1.weight"])
    check(d > 1e-3, f"run {run_}: fc1.weight barely changed in training ({d:.2e})")
# the files hold exactly the state dicts, in the intended dtype
for (run_, step), sd in saved.items():
    with h5py.File(f"{work}/ckpt/{run_}/step_{step}.h5", "r") as f:
        for k, v in sd.items():
            want = np.float32 if run_ == "f32" else np.float64
            check(f[k].dtype == want, f"{run_}/step{step}:{k} stored as {f[k].dtype}")
            check(np.array_equal(f[k][()].astype(np.float64), v), f"{run_}/step{step}:{k} not the state dict")

write_job(f"{work}/job.yaml", f"""
name: torch-series
runs:
  - name: f32
    checkpoints: ckpt/f32/step_{{step}}.h5
  - name: f64
    checkpoints: ckpt/f64/step_{{step}}.h5
weights: {{full: true, top: {TOP}, vectors: true}}
resources: {{ranks_per_task: 2}}
""")


def reference(run_, step, name):
    """(W as the analysed out x in*kh*kw matrix in double, torch.linalg.svdvals of it)."""
    w = saved[(run_, step)][name]
    w = w.reshape(w.shape[0], -1)
    return w, torch.linalg.svdvals(torch.from_numpy(w)).numpy()


def check_results(results, np_):
    """Check one results folder against torch/numpy; return {(label, name): arrays}."""
    expect_ck = [(r, st) for r in RUNS for st in STEPS]
    with h5py.File(f"{results}/index.h5", "r") as f:
        got_ck = list(zip([s_(x) for x in f["checkpoints_list/run"][()]], [int(x) for x in f["checkpoints_list/step"][()]]))
        check(got_ck == expect_ck, f"np{np_}: checkpoints (run, step) {got_ck}, expected {expect_ck}")
        tst = [s_(x) for x in f["tasks/status"][()]]
        tmsg = [s_(x) for x in f["tasks/message"][()]]
        check(all(x == "done" for x in tst), f"np{np_}: task statuses {list(zip(tst, tmsg))}")
        trun = [s_(x) for x in f["tasks/run"][()]]
        tstep = [int(x) for x in f["tasks/step"][()]]
        tname = [s_(x) for x in f["tasks/name"][()]]
        got_tasks = sorted(zip(trun, tstep, tname))
        want_tasks = sorted((r, st, n) for r in RUNS for st in STEPS for n in WEIGHTS)
        check(got_tasks == want_tasks, f"np{np_}: tasks {got_tasks}, expected {want_tasks}")
        sk = sorted(zip([s_(x) for x in f["skipped/file"][()]], [s_(x) for x in f["skipped/name"][()]]))
        want_sk = sorted((f"{work}/ckpt/{r}/step_{st}.h5", b) for r in RUNS for st in STEPS for b in BIASES)
        check(sorted((os.path.realpath(p), n) for p, n in sk) == sorted((os.path.realpath(p), n) for p, n in want_sk),
              f"np{np_}: /skipped lists {sk}, expected every bias of every checkpoint {want_sk}")
        reasons = [s_(x) for x in f["skipped/reason"][()]]
        check(all(r for r in reasons), f"np{np_}: empty skip reasons {reasons}")
        # the index's external links reach the task files
        gl = f[f"checkpoints/f64/step{STEPS[-1]}/fc2.weight"]
        check(s_(gl.attrs["run"]) == "f64" and int(gl.attrs["step"]) == STEPS[-1], f"np{np_}: link checkpoints/f64/step{STEPS[-1]}/fc2.weight")

    files = task_files(results)
    check(len(files) == len(RUNS) * len(STEPS) * len(WEIGHTS), f"np{np_}: {len(files)} task files")
    out = {}
    for (label, name), path in sorted(files.items()):
        where = f"np{np_} {label}:{name} ({path})"
        with h5py.File(path, "r") as f:
            r, st = s_(f.attrs["run"]), int(f.attrs["step"])
            check(f.attrs["step"].dtype == np.int64, f"{where}: step attribute is {f.attrs['step'].dtype}")
            check(label == f"{r}/step{st}" and r in RUNS and st in STEPS, f"{where}: run '{r}', step {st}")
            check(os.path.realpath(s_(f.attrs["checkpoint"])) == os.path.realpath(f"{work}/ckpt/{r}/step_{st}.h5"),
                  f"{where}: checkpoint attribute {s_(f.attrs['checkpoint'])}")
            check(s_(f.attrs["tensor"]) == name, f"{where}: tensor attribute {s_(f.attrs['tensor'])}")
            dts = s_(f.attrs["dtype"]).upper()
            check(dts == {"f32": "F32", "f64": "F64"}[r], f"{where}: dtype attribute {dts}")
            # ranks_per_task 2 is capped at the run's size: at 2 ranks every matrix is
            # read and factored by both ranks together
            check(int(f.attrs["ranks"]) == np_, f"{where}: computed on {int(f.attrs['ranks'])} ranks, expected {np_}")
            w, ref = reference(r, st, name)
            m, n = int(f.attrs["m"]), int(f.attrs["n"])
            check((m, n) == w.shape, f"{where}: analysed shape {(m, n)}, torch tensor gives {w.shape}")
            full = f["full/sigma"][()]
            check(full.shape == ref.shape, f"{where}: full/sigma has {full.shape}, expected {ref.shape}")
            err = np.max(np.abs(full - ref))
            check(err <= 1e-10 * ref[0], f"{where}: full/sigma differs from torch.linalg.svdvals by {err:.2e} (sigma_1 {ref[0]:.3e})")
            top, res, conv = f["top/sigma"][()], f["top/residual"][()], f["top/converged"][()]
            check(len(top) == TOP and np.all(conv == 1), f"{where}: top {top}, converged {conv}")
            check(np.all(np.abs(top - ref[:TOP]) <= 1e-10 * ref[0]), f"{where}: top/sigma {top} vs torch {ref[:TOP]}")
            U, V = f["top/U"][()], f["top/V"][()]
            check(U.shape == (TOP, m) and V.shape == (TOP, n), f"{where}: top/U {U.shape}, top/V {V.shape}, expected {(TOP, m)}, {(TOP, n)}")
            for i in range(TOP):
                # the residual of the triplet, recomputed in numpy, and the stored one
                r_np = np.sqrt(np.linalg.norm(w @ V[i] - top[i] * U[i]) ** 2 + np.linalg.norm(w.T @ U[i] - top[i] * V[i]) ** 2)
                check(r_np <= 1e-10 * ref[0], f"{where}: triplet {i} has residual {r_np:.2e} in numpy (sigma_1 {ref[0]:.3e})")
                check(res[i] <= 1e-10 * ref[0], f"{where}: stored residual {res[i]:.2e} of triplet {i}")
                check(abs(np.linalg.norm(U[i]) - 1) < 1e-12 and abs(np.linalg.norm(V[i]) - 1) < 1e-12, f"{where}: vectors {i} not unit")
            check(np.allclose(U @ U.T, np.eye(TOP), atol=1e-12) and np.allclose(V @ V.T, np.eye(TOP), atol=1e-12), f"{where}: top vectors not orthonormal")
            out[(label, name)] = (full, top, U, V)
    return out


res = {}
for np_ in (1, 2):
    results = f"{work}/results_np{np_}"
    run(["run", f"{work}/job.yaml", "-o", results], np_=np_, expect=0)
    res[np_] = check_results(results, np_)

check(sorted(res[1]) == sorted(res[2]), f"1 and 2 ranks analysed different matrices: {sorted(res[1])} vs {sorted(res[2])}")
for key in res[1]:
    f1, t1, U1, V1 = res[1][key]
    f2, t2, U2, V2 = res[2][key]
    check(np.max(np.abs(f1 - f2)) <= 1e-12 * f1[0] and np.max(np.abs(t1 - t2)) <= 1e-12 * f1[0], f"{key}: spectra at 1 and 2 ranks differ")
    # vectors agree up to sign where the singular value is well separated
    gap = np.minimum(np.abs(np.diff(f1[:TOP + 1], prepend=np.inf)), np.abs(np.diff(f1[:TOP + 1], append=-np.inf)))[:TOP]
    for i in range(TOP):
        if gap[i] < 1e-6 * f1[0]:
            continue
        check(abs(abs(U1[i] @ U2[i]) - 1) < 1e-10 and abs(abs(V1[i] @ V2[i]) - 1) < 1e-10, f"{key}: singular vector {i} differs at 1 and 2 ranks")
print(f"torch series: {len(res[1])} state-dict matrices of {len(RUNS)} runs x {len(STEPS)} steps agree with torch.linalg.svdvals at 1 and 2 ranks")
