"""specdyn report: the ensemble-alignment plots (RESULTS/ensemble*.h5, docs/alignment.md)
must show exactly the stored data.

Builds a results folder with an empty index (no tasks) and two ensemble files written
here with h5py following the documented layout (snr deliberately unsorted, 3 snr x 2 n x
2 layers), plus a stray ensemble_bad.h5 without /ensemble. Runs the report script and
checks: one PNG per file and layer, the curves read back from Matplotlib (<png>.json)
equal the stored means (sorted by snr) for every measure and n, the test-error panel
equals /ensemble/test_error, index.md links the plots under its own section, the bad
file is skipped with a warning, and a folder without ensemble files gets no such plots."""
import json, os, shutil, subprocess, sys
import numpy as np
import h5py

SRC = os.environ.get("SPD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SRC, "src", "report", "specdyn_report.py")
PY = os.environ.get("SPD_PYTHON", "/usr/bin/python3")
work = os.path.abspath("report_ensemble")
shutil.rmtree(work, ignore_errors=True)
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def empty_index(folder):
    os.makedirs(folder, exist_ok=True)
    with h5py.File(os.path.join(folder, "index.h5"), "w") as f:
        for k in ("name", "checkpoint", "status", "file"):
            f.create_dataset("tasks/" + k, shape=(0,), dtype=h5py.string_dtype())


def ensemble_file(path, seed):
    rng = np.random.default_rng(seed)
    snr = np.array([10.0, 0.1, 1.0])
    n = np.array([64, 256], dtype=np.int64)
    S, N, L, M = 3, 2, 2, 3
    d = {}
    with h5py.File(path, "w") as f:
        g = f.create_group("ensemble")
        g["snr"], g["n"] = snr, n
        g["layer"] = np.array([1, 2], dtype=np.int64)
        g["width"] = np.array([16, 5], dtype=np.int64)
        g["pairs"] = np.array([[0, 1], [0, 2], [1, 2]], dtype=np.int64)
        for k in ("cka", "svcca", "procrustes"):
            pairs = rng.uniform(0.1, 0.9, (S, N, L, 3))
            d[k + "_mean"], d[k + "_std"] = pairs.mean(-1), pairs.std(-1)
            g[k + "_pairs"], g[k + "_mean"], g[k + "_std"] = pairs, d[k + "_mean"], d[k + "_std"]
        te = rng.uniform(0.01, 3.0, (S, N, M))
        d["test_error"] = te.mean(-1)
        g["test_error_members"], g["test_error"], g["test_error_std"] = te, te.mean(-1), te.std(-1)
        g["train_error"], g["train_error_std"] = te.mean(-1), te.std(-1)
        g.attrs["members"], g.attrs["depth"] = M, 1
    return snr, n, d


def run(results, out):
    p = subprocess.run([PY, SCRIPT, results, out], capture_output=True, text=True, timeout=300)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    return p


results = os.path.join(work, "results")
empty_index(results)
files = {"ensemble": ensemble_file(os.path.join(results, "ensemble.h5"), 1),
         "ensemble_wide": ensemble_file(os.path.join(results, "ensemble_wide.h5"), 2)}
with h5py.File(os.path.join(results, "ensemble_bad.h5"), "w") as f:
    f["something"] = np.zeros(3)
out = os.path.join(work, "out")
p = run(results, out)
check(p.returncode == 0, f"report exit {p.returncode}")
check("ensemble_bad.h5" in p.stderr and "no /ensemble" in p.stderr, "the file without /ensemble is not reported as skipped")
index = open(os.path.join(out, "index.md")).read() if os.path.exists(os.path.join(out, "index.md")) else ""
check("Representational alignment across ensembles" in index, "index.md has no ensemble section")
for stem, (snr, n, d) in files.items():
    order = np.argsort(snr)
    for li, layer in enumerate((1, 2)):
        png = f"{stem}_layer{layer}.png"
        check(os.path.exists(os.path.join(out, png)), f"{png} missing")
        check(f"({png})" in index, f"index.md does not link {png}")
        if not os.path.exists(os.path.join(out, png + ".json")):
            check(False, f"{png}.json missing")
            continue
        js = json.load(open(os.path.join(out, png + ".json")))
        for k in ("cka", "svcca", "procrustes", "test_error"):
            for j, nn in enumerate(n):
                key = f"{k}:n={nn}"
                ref = d["test_error"][:, j] if k == "test_error" else d[k + "_mean"][:, j, li]
                if key not in js:
                    check(False, f"{png}: curve {key} missing (have {sorted(js)})")
                    continue
                check(np.allclose(js[key]["x"], snr[order], rtol=0, atol=0), f"{png} {key}: x {js[key]['x']} is not the sorted snr")
                check(np.allclose(js[key]["y"], ref[order], rtol=1e-15, atol=0), f"{png} {key}: y {js[key]['y']} differs from the file {ref[order]}")
check(not any(x.startswith("ensemble_bad") for x in os.listdir(out)), "a plot was drawn for ensemble_bad.h5")

# a results folder without ensemble files: no ensemble plots, no section
plain = os.path.join(work, "plain")
empty_index(plain)
p = run(plain, os.path.join(work, "out_plain"))
check(p.returncode == 0, f"report without ensemble files: exit {p.returncode}")
check(not any(x.startswith("ensemble") for x in os.listdir(os.path.join(work, "out_plain"))), "ensemble plots drawn without ensemble files")

if failures:
    print(f"{len(failures)} failures")
    sys.exit(1)
print("report ensemble: every plotted curve equals the stored HDF5 data")
