"""specdyn report on a study with comparisons (job key `compare:`): the plots of
agreement, layer alignment, principal angles between runs and spectra of differences
must show exactly what the comparison and task files store.

Builds two runs r0/r1 x steps 0, 10, 20 of three chained matrices whose names sort
differently in natural and in plain string order (l.2, l.10, l.11), sharing their
initialization (so W_r0 - W_r1 at step 0 is the zero matrix), with
compare: {checkpoints: [final, previous], runs: true, layers: auto, differences: [runs, previous]}.
Every expected PNG must exist; the arrays read back from Matplotlib (<png>.json) must
equal the arrays read here independently with h5py from comparisons/<id>.h5 and the task
files; index.md must link every PNG and carry the comparisons' headline numbers; the
per-matrix cap (SPD_REPORT_MAX_MATRICES) must drop the later matrices and say so."""
import json, os, re, shutil, subprocess, sys
import numpy as np
import h5py

sys.path.insert(0, os.path.join(os.environ["SPD_SOURCE_DIR"], "tests", "e2e"))
from spdref import *  # noqa: E402,F403

work = os.path.abspath("report_compare")
shutil.rmtree(work, ignore_errors=True)
K = 4
RUNS = ["r0", "r1"]
STEPS = [0, 10, 20]
SHAPES = {"l.2.weight": (24, 16), "l.10.weight": (20, 24), "l.11.weight": (10, 20)}
NAMES = ["l.2.weight", "l.10.weight", "l.11.weight"]  # natural order (not string order)
PAIRS = [("l.2.weight", "l.10.weight"), ("l.10.weight", "l.11.weight")]  # layers: auto


def planted(r, step, name):
    """A planted spectrum 10 * 0.75^i shared by the runs, plus a run-specific drift."""
    i = NAMES.index(name)
    m, n = SHAPES[name]
    rng = np.random.default_rng(10 + i)
    qa, _ = np.linalg.qr(rng.standard_normal((m, min(m, n))))
    qb, _ = np.linalg.qr(rng.standard_normal((n, min(m, n))))
    base = qa @ np.diag(10.0 * 0.75 ** np.arange(min(m, n))) @ qb.T
    drift = np.random.default_rng(1000 * (RUNS.index(r) + 1) + i).standard_normal((m, n))
    return (base + 0.15 * step / 10 * drift).astype(np.float32)


def weight(label, name):
    """The planted matrix of checkpoint label '<run>/step<step>' in double."""
    r, st = label.split("/step")
    return planted(r, int(st), name).astype(np.float64)


for r in RUNS:
    for st in STEPS:
        write_safetensors(f"{work}/ckpt/{r}/step_{st}.safetensors", {n: planted(r, st, n) for n in NAMES})
write_job(f"{work}/job.yaml", f"""
name: report-compare
output: results
runs:
  - name: r0
    checkpoints: "ckpt/r0/step_{{step}}.safetensors"
  - name: r1
    checkpoints: "ckpt/r1/step_{{step}}.safetensors"
weights: {{full: true, top: 6}}
compare:
  k: {K}
  checkpoints: [final, previous]
  runs: true
  layers: auto
  differences: [runs, previous]
""")
run(["run", f"{work}/job.yaml"], np_=2, expect=0)
results = f"{work}/results"


def report(out, expect, env=None):
    cmd = [SPECDYN, "report", results, "-o", out]
    p = subprocess.run(cmd, env=env or ENV, capture_output=True, text=True, timeout=300)
    if p.returncode != expect:
        print(p.stdout)
        print(p.stderr)
        fail(f"{' '.join(cmd)} exited {p.returncode}, expected {expect}")
    return p


s = lambda x: x.decode() if isinstance(x, bytes) else str(x)


def same(a, b):
    """Exact equality of float arrays (any shape), NaN equal to NaN."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def check_png(path):
    check(os.path.isfile(path), f"{path} missing")
    data = open(path, "rb").read()
    check(len(data) > 100 and data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")


# ---- what is stored, read independently ------------------------------------------------
with h5py.File(f"{results}/index.h5", "r") as f:
    cols = {c: [s(x) for x in f[f"comparisons/{c}"][()]] for c in ("id", "relation", "name_a", "name_b", "checkpoint_a", "checkpoint_b", "run_a", "run_b", "status", "file")}
    for c in ("step_a", "step_b"):
        cols[c] = [int(x) for x in f[f"comparisons/{c}"][()]]
    tcols = {c: [s(x) for x in f[f"tasks/{c}"][()]] for c in ("kind", "checkpoint", "minus_checkpoint", "name", "file", "status")}
comps = []
for i in range(len(cols["id"])):
    c = {k: v[i] for k, v in cols.items()}
    check(c["status"] == "done", f"comparison {c['id']} is {c['status']}")
    with h5py.File(f"{results}/{c['file']}", "r") as g:
        c["arrays"] = {k: g[k][()] for k in g if isinstance(g[k], h5py.Dataset)}
        c["summary"] = {k: float(v) for k, v in g["summary"].attrs.items()}
        # the file's own attributes must agree with the index row it is found through
        check(s(g.attrs["relation"]) == c["relation"] and s(g.attrs["name_a"]) == c["name_a"] and int(g.attrs["step_a"]) == c["step_a"], f"{c['file']}: attributes differ from its index row")
    comps.append(c)
check({c["relation"] for c in comps} == {"final", "previous", "runs", "layers"}, f"relations {sorted({c['relation'] for c in comps})}")
diffs = {}
for kd, lab, mi, nm, fl, st in zip(*(tcols[c] for c in ("kind", "checkpoint", "minus_checkpoint", "name", "file", "status"))):
    if kd == "difference":
        check(st == "done", f"difference {lab} {nm} is {st}")
        with h5py.File(f"{results}/{fl}", "r") as g:
            diffs.setdefault((lab.split(" - ")[0], mi), {})[nm] = g["full/sigma"][()]

# ---- the report, no cap needed (3 matrices <= the default 8) --------------------------
out = f"{work}/out"
p = report(out, 0)
pngs = [f"spectra_{r}_step{st}.png" for r in RUNS for st in STEPS] + [f"ranks_{r}.png" for r in RUNS]
pngs += [f"agreement_{r}_{n}.png" for r in RUNS for n in NAMES] + [f"alignment_{r}.png" for r in RUNS] + [f"angles_{n}.png" for n in NAMES]
zero_pairs = [k for k, v in diffs.items() if all(not np.any(x > 0) for x in v.values())]
check(zero_pairs == [("r0/step0", "r1/step0")], f"zero differences {zero_pairs}: the runs share step 0, only r0/step0 - r1/step0 is zero")
for (a, b), v in diffs.items():
    if (a, b) not in zero_pairs:
        pngs.append(f"diffspectra_{a.replace('/', '_')}_minus_{b.replace('/', '_')}.png")
got = sorted(x for x in os.listdir(out) if x.endswith(".png"))
check(got == sorted(pngs), f"PNG files: extra {sorted(set(got) - set(pngs))}, missing {sorted(set(pngs) - set(got))}")
for png in pngs:
    check_png(f"{out}/{png}")
    check(os.path.isfile(f"{out}/{png}.json"), f"{png}.json missing")
J = lambda png: json.load(open(f"{out}/{png}.json"))

# 1. agreement heatmaps: diag A_ii vs final over steps, and first checkpoint vs final
for r in RUNS:
    for n in NAMES:
        fin = sorted((c for c in comps if c["relation"] == "final" and c["run_a"] == r and c["name_a"] == n), key=lambda c: c["step_a"])
        check([c["step_a"] for c in fin] == STEPS[:-1] and all(c["checkpoint_b"] == f"{r}/step{STEPS[-1]}" for c in fin), f"final comparisons of {r} {n}")
        d = J(f"agreement_{r}_{n}.png")
        check(sorted(d) == ["diag", "first_vs_final"], f"agreement_{r}_{n}: keys {sorted(d)}")
        want = np.array([np.diagonal(c["arrays"]["agreement"]) for c in fin])
        check(d["diag"]["y"] == STEPS[:-1] and d["diag"]["x"] == list(range(1, K + 1)), f"agreement_{r}_{n}: diag axes {d['diag']['x']} {d['diag']['y']}")
        check(same(d["diag"]["z"], want), f"agreement_{r}_{n}: drawn diagonal {d['diag']['z']} != stored {want.tolist()}")
        check(same(np.mean(want, axis=1), [c["summary"]["agreement_diag_mean"] for c in fin]) or np.allclose(np.mean(want, axis=1), [c["summary"]["agreement_diag_mean"] for c in fin], rtol=0, atol=1e-14), "stored diag mean")
        check(same(d["first_vs_final"]["z"], fin[0]["arrays"]["agreement"]), f"agreement_{r}_{n}: drawn first-vs-final matrix != stored agreement of {fin[0]['file']}")
        check(d["first_vs_final"]["x"] == list(range(1, K + 1)) and d["first_vs_final"]["y"] == list(range(1, K + 1)), "first_vs_final axes")
        check(np.all(want < 1) and np.all(want > 0.5), f"agreement diagonal of {r} {n} is {want.tolist()}: the drift should move but not scramble the vectors")

# 2. layer alignment over the pairs in natural order of name_a, one curve per checkpoint
xl = [f"{a} → {b}" for a, b in PAIRS]
for r in RUNS:
    d = J(f"alignment_{r}.png")
    want_keys = sorted(f"{k}:{r}/step{st}" for k in ("alignment_top", "alignment_diag_mean") for st in STEPS)
    check(sorted(d) == want_keys, f"alignment_{r}: lines {sorted(d)}, expected {want_keys}")
    for st in STEPS:
        lay = {(c["name_a"], c["name_b"]): c for c in comps if c["relation"] == "layers" and c["checkpoint_a"] == f"{r}/step{st}"}
        check(sorted(lay) == sorted(PAIRS), f"layer pairs of {r}/step{st}: {sorted(lay)}")
        for k in ("alignment_top", "alignment_diag_mean"):
            e = d[f"{k}:{r}/step{st}"]
            check(e["x"] == list(range(len(PAIRS))) and e["xlabels"] == xl, f"alignment_{r} {k} step {st}: x {e['x']} labels {e['xlabels']}, expected {xl}")
            check(same(e["y"], [lay[p]["summary"][k] for p in PAIRS]), f"alignment_{r} {k} step {st}: drawn {e['y']} != stored {[lay[p]['summary'][k] for p in PAIRS]}")
        top = [lay[p]["arrays"]["alignment"][0, 0] for p in PAIRS]
        check(same(d[f"alignment_top:{r}/step{st}"]["y"], top), "alignment_top = alignment[0,0]")

# 3. principal angles between the runs over steps: mean and max of the stored angles
for n in NAMES:
    d = J(f"angles_{n}.png")
    want_keys = sorted(f"{side}:{st}:r0|r1" for side in "UV" for st in ("mean", "max"))
    check(sorted(d) == want_keys, f"angles_{n}: lines {sorted(d)}, expected {want_keys}")
    rc = sorted((c for c in comps if c["relation"] == "runs" and c["name_a"] == n), key=lambda c: c["step_a"])
    check([(c["run_a"], c["run_b"], c["step_a"]) for c in rc] == [("r0", "r1", st) for st in STEPS], f"runs comparisons of {n}")
    for side in "UV":
        ang = [c["arrays"][f"angles_{side}_deg"] for c in rc]
        for stat, fn in (("mean", np.mean), ("max", np.max)):
            e = d[f"{side}:{stat}:r0|r1"]
            check(e["x"] == STEPS, f"angles_{n} {side} {stat}: x {e['x']}")
            check(same(e["y"], [fn(a) for a in ang]), f"angles_{n} {side} {stat}: drawn {e['y']} != {stat} of stored angles_{side}_deg {[fn(a) for a in ang]}")
        check(np.allclose(d[f"{side}:max:r0|r1"]["y"], [c["summary"][f"angle_{side}_max"] for c in rc], rtol=0, atol=1e-12), f"angles_{n}: max != summary angle_{side}_max")
        check(d[f"{side}:max:r0|r1"]["y"][0] < 1e-4, f"angles_{n}: runs share step 0, angle {d[f'{side}:max:r0|r1']['y'][0]}")

# 4. spectra of differences: one line per matrix, sigma of W_a - W_b as stored
for (a, b), v in diffs.items():
    if (a, b) in zero_pairs:
        continue
    png = f"diffspectra_{a.replace('/', '_')}_minus_{b.replace('/', '_')}.png"
    d = J(png)
    check(sorted(d) == sorted(v), f"{png}: lines {sorted(d)}, expected {sorted(v)}")
    for n, sig in v.items():
        check(d[n]["x"] == list(range(1, len(sig) + 1)) and same(d[n]["y"], sig), f"{png}: {n}: drawn {d[n]['y']} != stored {list(sig)}")
        ref = np.linalg.svd(weight(a, n) - weight(b, n), compute_uv=False)
        check(np.allclose(sig, ref, rtol=0, atol=1e-10 * ref[0]), f"{a} - {b} {n}: stored sigma vs numpy")

# 5. the weight plots are not mixed with the difference tasks
for r in RUNS:
    d = J(f"ranks_{r}.png")
    check(sorted(d) == sorted(f"{k}:{n}" for k in ("effective_rank", "stable_rank") for n in NAMES), f"ranks_{r}: lines {sorted(d)}")
    with h5py.File(f"{results}/index.h5", "r") as f:
        for n in NAMES:
            tr = f[f"trajectories/{r}/{n}"]
            for k in ("effective_rank", "stable_rank"):
                check(d[f"{k}:{n}"]["x"] == STEPS and same(d[f"{k}:{n}"]["y"], tr[k][()]), f"ranks_{r} {k}:{n}: {d[f'{k}:{n}']} vs trajectory {tr[k][()]}")

# 6. index.md: links, zero differences, and the comparisons' headline numbers
md = open(f"{out}/index.md").read()
linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
check(sorted(linked) == sorted(pngs), f"index.md links: extra {sorted(set(linked) - set(pngs))}, missing {sorted(set(pngs) - set(linked))}")
check("r0/step0 - r1/step0: 3 of 3 differences are zero matrices" in md, "index.md names the zero differences")
rows = md.splitlines()
for r in RUNS:
    for n in NAMES:
        c = next(c for c in comps if c["relation"] == "final" and c["run_a"] == r and c["name_a"] == n and c["step_a"] == STEPS[0])
        sm = c["summary"]
        want = f"| {r} | `{n}` | {STEPS[0]} | {STEPS[-1]} | {sm['agreement_top']:.6g} | {sm['agreement_diag_mean']:.6g} | {sm['overlap_U']:.6g} | {sm['overlap_V']:.6g} |"
        check(any(l.startswith(want) for l in rows), f"index.md: no final-agreement row starting {want}")
for n in NAMES:
    c = next(c for c in comps if c["relation"] == "runs" and c["name_a"] == n and c["step_a"] == STEPS[-1])
    sm = c["summary"]
    want = f"| r0 | r1 | `{n}` | {STEPS[-1]} | {sm['agreement_diag_mean']:.6g} | {sm['overlap_U']:.6g} | {sm['overlap_V']:.6g} | {sm['angle_U_max']:.6g} | {sm['angle_V_max']:.6g} |"
    check(want in rows, f"index.md: no between-runs row {want}")
for r in RUNS:
    for a, b in PAIRS:
        c = next(c for c in comps if c["relation"] == "layers" and c["checkpoint_a"] == f"{r}/step{STEPS[-1]}" and c["name_a"] == a and c["name_b"] == b)
        sm = c["summary"]
        want = f"| {r}/step{STEPS[-1]} | `{a}` | `{b}` | out-in | {sm['alignment_top']:.6g} | {sm['alignment_diag_mean']:.6g} | {sm['overlap']:.6g} | {sm['angle_max']:.6g} |"
        check(want in rows, f"index.md: no layer-alignment row {want}")
check("Not drawn" not in md, "nothing capped at the default cap")

# ---- the per-matrix cap ---------------------------------------------------------------------
out2 = f"{work}/out_cap"
report(out2, 0, env=dict(ENV, SPD_REPORT_MAX_MATRICES="2"))
got = sorted(x for x in os.listdir(out2) if x.startswith(("agreement_", "angles_")) and x.endswith(".png"))
want = sorted([f"agreement_{r}_{n}.png" for r in RUNS for n in NAMES[:2]] + [f"angles_{n}.png" for n in NAMES[:2]])
check(got == want, f"SPD_REPORT_MAX_MATRICES=2: plots {got}, expected the first two matrices in natural order {want}")
md2 = open(f"{out2}/index.md").read()
check("principal angles between runs: 2 of 3 matrices drawn" in md2 and "agreement heatmaps of run r0: 2 of 3 matrices drawn" in md2, "index.md says what the cap left out")
check(sorted(x for x in os.listdir(out2) if x.startswith(("alignment", "diffspectra_")) and x.endswith(".png")) == sorted(x for x in pngs if x.startswith(("alignment", "diffspectra_"))), "the cap does not touch other plots")
env = dict(ENV, SPD_REPORT_MAX_MATRICES="many")
p = subprocess.run([SPECDYN, "report", results, "-o", f"{work}/out_bad"], env=env, capture_output=True, text=True, timeout=60)
check(p.returncode == 2 and "SPD_REPORT_MAX_MATRICES" in p.stderr and "'many'" in p.stderr, f"bad cap: exit {p.returncode}, stderr {p.stderr!r}")
print("report compare: agreement, alignment, angle and difference plots equal the stored comparison data; index.md tables checked")
