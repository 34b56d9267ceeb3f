"""specdyn report: plots drawn from a results folder must show exactly the stored data.

Builds a study of two runs x three steps (full + top-3 spectra) and a second study with
only top-3 spectra, runs `specdyn report`, and checks that every expected PNG exists and
is a PNG, that the arrays read back from Matplotlib (<png>.json) equal the values read
here independently with h5py from the task files (exactly), that index.md links every
PNG and has one row per analysed matrix, and that bad input exits 2 with a clear message."""
import json, math, os, re, shutil, subprocess, sys
import numpy as np
import h5py

sys.path.insert(0, os.path.join(os.environ["SPD_SOURCE_DIR"], "tests", "e2e"))
from spdref import *  # noqa: E402,F403

work = os.path.abspath("report_plots")
shutil.rmtree(work, ignore_errors=True)
RUNS = ["seed0", "wd"]
STEPS = [0, 50, 200]
SHAPES = {"layer.weight": (12, 7), "head.weight": (5, 12)}


def planted(r, step, name):
    seed = RUNS.index(r) * 100000 + step * 10 + sorted(SHAPES).index(name)
    return np.random.default_rng(seed).standard_normal(SHAPES[name]).astype(np.float32)


for r in RUNS:
    for step in STEPS:
        write_safetensors(f"{work}/ckpt/{r}/step_{step}.safetensors", {n: planted(r, step, n) for n in SHAPES})
write_job(f"{work}/job.yaml", """
name: report
output: results
runs:
  - name: seed0
    checkpoints: "ckpt/seed0/step_{step}.safetensors"
  - name: wd
    checkpoints: "ckpt/wd/step_{step}.safetensors"
weights: {full: true, top: 3}
""")
run(["run", f"{work}/job.yaml"], np_=2, expect=0)
# a study without runs and without full spectra: spectra come from top/sigma
write_job(f"{work}/job_top.yaml", f"""
name: report-top
output: results_top
checkpoints:
  - path: {work}/ckpt/seed0/step_50.safetensors
    label: base
weights: {{full: false, top: 3}}
""")
run(["run", f"{work}/job_top.yaml"], np_=1, expect=0)


def report(results, out, expect):
    cmd = [SPECDYN, "report", results, "-o", out]
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    if p.returncode != expect:
        print(p.stdout)
        print(p.stderr)
        fail(f"{' '.join(cmd)} exited {p.returncode}, expected {expect}")
    return p


s = lambda x: x.decode() if isinstance(x, bytes) else str(x)


def stored(results):
    """{(label, name): dict} read independently from the task files with h5py."""
    out = {}
    for (label, name), path in task_files(results).items():
        with h5py.File(path, "r") as f:
            d = {"run": s(f.attrs["run"]), "step": int(f.attrs["step"]), "m": int(f.attrs["m"]), "n": int(f.attrs["n"])}
            d["sigma"] = f["full/sigma"][()] if "full" in f else f["top/sigma"][()]
            d["has_full"] = "full" in f
            d["metrics"] = {k: float(v) for k, v in f["metrics"].attrs.items()}
        out[(label, name)] = d
    return out


def check_png(path):
    check(os.path.isfile(path), f"{path} missing")
    data = open(path, "rb").read()
    check(len(data) > 100 and data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG ({len(data)} bytes, starts {data[:8]!r})")


def same(a, b):
    """Exact equality of float arrays, NaN equal to NaN."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def check_spectra(results, out, data, expect_full):
    labels = sorted({k[0] for k in data})
    for label in labels:
        png = f"{out}/spectra_{label.replace('/', '_')}.png"
        check_png(png)
        lines = json.load(open(png + ".json"))
        names = sorted(n for (l, n) in data if l == label)
        check(sorted(lines) == names, f"{png}: lines {sorted(lines)}, expected {names}")
        for n in names:
            d = data[(label, n)]
            check(d["has_full"] == expect_full, f"{label}:{n}: full/sigma present {d['has_full']}")
            sig = d["sigma"]
            check(len(sig) == (min(d["m"], d["n"]) if expect_full else 3), f"{label}:{n}: {len(sig)} singular values stored")
            check(lines[n]["x"] == list(range(1, len(sig) + 1)), f"{png}: {n}: x {lines[n]['x']}")
            check(same(lines[n]["y"], sig), f"{png}: {n}: drawn y {lines[n]['y']} != stored sigma {list(sig)}")
            # and the stored values are the spectrum of the planted matrix (numpy)
            if d["run"]:
                ref = np.linalg.svd(planted(d["run"], d["step"], n).astype(np.float64), compute_uv=False)[: len(sig)]
                check(np.allclose(sig, ref, rtol=0, atol=1e-8 * ref[0]), f"{label}:{n}: stored sigma {sig} vs numpy {ref}")
    return labels


def check_index(out, data, pngs):
    md = open(f"{out}/index.md").read()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    check(sorted(linked) == sorted(pngs), f"index.md links {sorted(linked)}, expected {sorted(pngs)}")
    rows = [l for l in md.splitlines() if l.startswith("| ") and not l.startswith("| checkpoint")]
    check(len(rows) == len(data), f"index.md has {len(rows)} table rows, expected {len(data)}")
    for (label, name), d in data.items():
        want = f"| {label} | `{name}` | {d['m']}×{d['n']} | {d['metrics']['spectral']:.6g} | {d['metrics']['stable_rank']:.6g} |"
        check(any(r.startswith(want) for r in rows), f"index.md: no row starting {want}")


# ---- study with runs ----------------------------------------------------------
results, out = f"{work}/results", f"{work}/out"
report(results, out, 0)
data = stored(results)
check(len(data) == len(RUNS) * len(STEPS) * len(SHAPES), f"{len(data)} task files")
labels = check_spectra(results, out, data, True)
check(labels == sorted(f"{r}/step{st}" for r in RUNS for st in STEPS), f"labels {labels}")
pngs = [f"spectra_{l.replace('/', '_')}.png" for l in labels]
for r in RUNS:
    png = f"{out}/ranks_{r}.png"
    check_png(png)
    pngs.append(f"ranks_{r}.png")
    lines = json.load(open(png + ".json"))
    want = sorted(f"{k}:{n}" for k in ("effective_rank", "stable_rank") for n in SHAPES)
    check(sorted(lines) == want, f"{png}: lines {sorted(lines)}, expected {want}")
    for k in ("effective_rank", "stable_rank"):
        for n in SHAPES:
            pts = sorted((d["step"], d["metrics"][k]) for (l, nm), d in data.items() if d["run"] == r and nm == n)
            check(lines[f"{k}:{n}"]["x"] == [p[0] for p in pts], f"{png}: {k}:{n}: x {lines[f'{k}:{n}']['x']}, expected steps {[p[0] for p in pts]}")
            check(same(lines[f"{k}:{n}"]["y"], [p[1] for p in pts]), f"{png}: {k}:{n}: y {lines[f'{k}:{n}']['y']} != stored {[p[1] for p in pts]}")
            if k == "effective_rank":  # the stored metric itself, against numpy (docs/metrics.md)
                for st, v in pts:
                    ref = effective_rank(np.linalg.svd(planted(r, st, n).astype(np.float64), compute_uv=False))
                    check(abs(v - ref) <= 1e-10 * ref, f"{r} step {st} {n}: effective rank {v} vs numpy {ref}")
got = sorted(x for x in os.listdir(out) if x.endswith(".png"))
check(got == sorted(pngs), f"PNG files {got}, expected {sorted(pngs)}")
check_index(out, data, pngs)
md = open(f"{out}/index.md").read()
check("## Comparisons" not in md and "Zero differences" not in md and "Not drawn" not in md, "a study without compare: has no comparison sections in index.md")

# ---- study without runs, top-k only -------------------------------------------
results_top, out_top = f"{work}/results_top", f"{work}/out_top"
report(results_top, out_top, 0)
data_top = stored(results_top)
check(len(data_top) == len(SHAPES), f"{len(data_top)} task files in the top-only study")
labels = check_spectra(results_top, out_top, data_top, False)
check(labels == ["base"], f"labels {labels}")
for (l, n), d in data_top.items():
    ref = np.linalg.svd(planted("seed0", 50, n).astype(np.float64), compute_uv=False)[:3]
    check(np.allclose(d["sigma"], ref, rtol=0, atol=1e-8 * ref[0]), f"top-only {n}: stored sigma {d['sigma']} vs numpy {ref}")
got = sorted(x for x in os.listdir(out_top) if x.endswith(".png"))
check(got == ["spectra_base.png"], f"top-only study: PNG files {got} (no runs: no ranks plot)")
check_index(out_top, data_top, got)

# ---- bad input ------------------------------------------------------------------
p = report(f"{work}/nonexistent", f"{work}/out_bad", 2)
check("not a directory" in p.stderr and "nonexistent" in p.stderr, f"missing folder: stderr {p.stderr!r}")
os.makedirs(f"{work}/empty", exist_ok=True)
p = report(f"{work}/empty", f"{work}/out_bad", 2)
check("no index.h5" in p.stderr and "empty" in p.stderr, f"folder without index.h5: stderr {p.stderr!r}")
with open(f"{work}/empty/index.h5", "w") as f:
    f.write("not hdf5")
p = report(f"{work}/empty", f"{work}/out_bad", 2)
check("index.h5" in p.stderr and "HDF5" in p.stderr, f"index.h5 that is not HDF5: stderr {p.stderr!r}")
p = subprocess.run([SPECDYN, "report", results], env=ENV, capture_output=True, text=True, timeout=60)
check(p.returncode == 2 and "-o DIR" in p.stderr, f"report without -o: exit {p.returncode}, stderr {p.stderr!r}")
p = subprocess.run([SPECDYN, "report", "--help"], env=ENV, capture_output=True, text=True, timeout=60)
check(p.returncode == 0 and "spectra_<label>.png" in p.stdout, f"report --help: exit {p.returncode}")
env = dict(ENV, SPD_REPORT_SCRIPT=f"{work}/no_such_script.py")
p = subprocess.run([SPECDYN, "report", results, "-o", f"{work}/out_bad"], env=env, capture_output=True, text=True, timeout=60)
check(p.returncode == 2 and "SPD_REPORT_SCRIPT" in p.stderr, f"missing script: exit {p.returncode}, stderr {p.stderr!r}")
check(not os.path.exists(f"{work}/out_bad") or not any(x.endswith(".png") for x in os.listdir(f"{work}/out_bad")), "bad input wrote plots")
print("report: every plotted array equals the stored HDF5 data; PNGs, index.md and errors checked")
