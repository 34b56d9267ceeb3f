"""Failures of single tasks, the rest of the study completes:
- a NaN only in the rows the second rank of a 2-rank task reads (an error raised on one
  rank only): the whole group reports the same error naming the tensor and position,
  the task is recorded as failed, the others are stored, exit 1, no hang (timeout);
- an Inf in a 1-rank task: failed with its message in index.h5 and failed/<id>.txt;
- solver non-convergence (-top_svd_max_it 1): stored with converged = 0 and nconv = 0
  (reported, never dropped);
- a memory plan that does not fit (resources.memory_per_rank tiny): refused tasks listed
  with the ranks they need, the others stored, exit 1."""
from faultlib import *

work = workdir("fault_tasks")
NAN_ROW = 150  # of layer05's 154 rows: on 2 ranks (rows 0-76, 77-153) only rank 1 reads it


def tamper(name, a):
    i = int(name[5:7])
    a = np.array(a)
    if i == 5:
        a[NAN_ROW, 3] = np.nan
    if i == 2:
        a[0, 0] = np.inf
    return a


t = many_model(f"{work}/model.safetensors", ntasks=8, tamper=tamper)
check(t["layer05.weight"].shape[0] == 154, "layer05 should have 154 rows")

# ---- a NaN in one rank's block, 2-rank tasks -----------------------------------------
job = study_job(f"{work}/nan.yaml", f"{work}/nan", f"{work}/model.safetensors", resources="{ranks_per_task: 2}")
code, _, err = specdyn(["run", job], np_=2, timeout=120)  # a hang fails here
check(code != 0, f"a failed task must give a non-zero status\n{err}")
check("FAILED: 6 tasks done now" in err and "2 failed" in err, f"NaN/Inf: summary\n{err}")
check(f"'layer05.weight' holds a non-finite value (NaN) at [{NAN_ROW}, 3]" in err, f"the NaN on rank 1's block must be named\n{err}")
check("'layer02.weight' holds a non-finite value (Inf) at [0, 0]" in err, f"the Inf must be named\n{err}")
st = statuses(f"{work}/nan")
for name, what in (("layer05.weight", "NaN"), ("layer02.weight", "Inf")):
    s, msg = st[("model", name)]
    check(s == "failed" and f"({what})" in msg, f"{name}: index status {s!r}, message {msg!r}")
check(sum(v[0] == "done" for v in st.values()) == 6, f"the other tasks must be stored: {st}")
check_readable(f"{work}/nan", "NaN study")
check(not leftovers(f"{work}/nan"), f"temporary files left: {leftovers(f'{work}/nan')}")
fails = glob.glob(f"{work}/nan/failed/*.txt")
check(len(fails) == 2, f"failed/ should hold 2 records: {fails}")
print("NaN on one rank's block: the group fails the task together; 6 of 8 stored, exit", code)

# ---- non-convergence ----------------------------------------------------------------
job = study_job(f"{work}/conv.yaml", f"{work}/conv", f"{work}/model.safetensors", weights="{full: false, top: 4, bottom: 0}",
                extra="tensors: {exclude: [layer02.weight, layer05.weight]}")
code, _, err = specdyn(["run", job, "-top_svd_max_it", "1"], timeout=120)
check(code == 0, f"non-convergence is reported in the results, not an error: exit {code}\n{err}")
for key, path in task_files(f"{work}/conv").items():
    with h5py.File(path, "r") as f:
        conv, nconv = f["top/converged"][()], int(f["top"].attrs["nconv"])
        check(len(conv) == 4 and nconv == int(conv.sum()), f"{key}: converged {conv}, nconv {nconv}")
        check(np.all(np.isfinite(f["top/residual"][()])), f"{key}: residual estimates must be stored")
        exact = np.linalg.svd(t[key[1]], compute_uv=False)
        conv_idx = np.flatnonzero(conv)
        for j in conv_idx:  # entries flagged converged are within their residual (numpy)
            check(abs(f["top/sigma"][j] - exact[j]) <= f["top/residual"][j] + 1e-12 * exact[0], f"{key}: converged sigma {j} is wrong")
n_unconv = sum(int(h5py.File(p, "r")["top"].attrs["nconv"]) < 4 for p in task_files(f"{work}/conv").values())
check(n_unconv > 0, "-top_svd_max_it 1 should leave some tasks unconverged")
print(f"non-convergence: {n_unconv} of 6 tasks stored with unconverged triplets flagged")

# ---- memory plan that does not fit --------------------------------------------------
job = study_job(f"{work}/mem.yaml", f"{work}/mem", f"{work}/model.safetensors", resources="{memory_per_rank: 200KB}",
                extra="tensors: {exclude: [layer02.weight, layer05.weight]}")
code, _, err = specdyn(["run", job], timeout=120)
st = statuses(f"{work}/mem")
refused = [k for k, v in st.items() if v[0] == "refused"]
check(code == 1, f"refused tasks: exit {code}, expected 1\n{err}")
check(0 < len(refused) < 6 and all("ranks are needed" in st[k][1] for k in refused), f"refused: {st}")
check(sum(v[0] == "done" for v in st.values()) == 6 - len(refused), f"the tasks that fit must be stored: {st}")
check(err.count("[specdyn] refused") == len(refused), f"each refusal is reported on stderr\n{err}")
check_readable(f"{work}/mem", "memory study")
print(f"memory_per_rank 200KB: {len(refused)} of 6 tasks refused, the others stored, exit {code}")
