"""Comparisons across checkpoints, runs and layers (job key `compare:`), differences
W_a - W_b, and trajectories, checked against numpy on the planted matrices:

- every comparison the job implies is planned and stored (the set is derived here from
  the job's rules, not read back from specdyn);
- agreement |(Ua^T Ub) o (Va^T Vb)|, principal-angle cosines (singular values of
  Ua^T Ub, scipy.linalg.subspace_angles) and layer alignment |V_b^T U_a| (and |U_a^T U_b|
  for query/key heads) equal the numpy values from np.linalg.svd of the matrices;
- spectra of differences equal svdvals(W_a - W_b); trajectories equal the per-step values;
- the numbers agree at 1, 2 and 4 ranks;
- incremental: after a new checkpoint appears, a rerun computes only the new tasks and the
  comparisons they take part in, leaving the other comparison files untouched;
- slices + `--merge` give the same comparisons; job errors in `compare:` are clear."""
import os, shutil
import numpy as np
import scipy.linalg
import h5py
from spdref import *

work = os.path.abspath("e2e_compare")
shutil.rmtree(work, ignore_errors=True)
K = 4
SHAPES = {"0.weight": (24, 16), "2.weight": (20, 24), "4.weight": (10, 20), "attn.qkv.weight": (48, 16)}
PARTS = ["q", "k", "v"]
HEADS = 2


def planted_base(name, seed):
    """A matrix with a well separated planted spectrum (top singular values 0.75 apart in ratio)."""
    rng = np.random.default_rng(seed)
    m, n = SHAPES[name]
    r = min(m, n)
    qa, _ = np.linalg.qr(rng.standard_normal((m, r)))
    qb, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = 10.0 * 0.75 ** np.arange(r)
    return qa @ np.diag(s) @ qb.T


def weights(run, step):
    out = {}
    for i, name in enumerate(SHAPES):
        base = planted_base(name, 10 + i)  # shared by the runs at step 0
        drift = np.random.default_rng(1000 * (run + 1) + i).standard_normal(SHAPES[name])
        out[name] = (base + 0.02 * step / 10 * drift).astype(np.float32)
    return out


def write_step(run, step):
    write_safetensors(f"{work}/ckpt/r{run}/step_{step}.safetensors", weights(run, step))


for r in (0, 1):
    for s in (0, 10, 20):
        write_step(r, s)

JOB = f"""
name: cmp
runs:
  - name: r0
    checkpoints: ckpt/r0/step_{{step}}.safetensors
  - name: r1
    checkpoints: ckpt/r1/step_{{step}}.safetensors
tensors:
  split:
    - match: attn.qkv.weight
      parts: [q, k, v]
      heads: {HEADS}
weights: {{full: true, top: 6}}
compare:
  k: {K}
  checkpoints: [final, previous]
  runs: true
  layers:
    - auto
    - {{a: "attn.qkv.weight[q]", b: "attn.qkv.weight[k]", spaces: out-out}}
    - ["2.weight", "4.weight"]
  differences: [runs, previous]
"""
write_job(f"{work}/job.yaml", JOB)


def analysed(w):
    """{analysed name: matrix} as the split rule cuts them (float32 values in double)."""
    out = {}
    for name, a in w.items():
        a = a.astype(np.float64)
        if name != "attn.qkv.weight":
            out[name] = a
            continue
        L = a.shape[0] // 3
        for p, part in enumerate(PARTS):
            blk = a[p * L:(p + 1) * L]
            out[f"{name}[{part}]"] = blk
            for h in range(HEADS):
                out[f"{name}[{part}]/head{h}"] = blk[h * L // HEADS:(h + 1) * L // HEADS]
    return out


def svd_top(a, k=K):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return u[:, :k], s, vt[:k].T


def expected_set(steps):
    """(relation, checkpoint_a, checkpoint_b, name_a, name_b) implied by the job's rules."""
    names = list(analysed(weights(0, 0)))
    E = set()
    for r in (0, 1):
        st = steps[r]
        for i, s in enumerate(st):
            for n in names:
                if i < len(st) - 1:
                    E.add(("final", f"r{r}/step{s}", f"r{r}/step{st[-1]}", n, n))
                if i > 0:
                    E.add(("previous", f"r{r}/step{st[i-1]}", f"r{r}/step{s}", n, n))
    for s in sorted(set(steps[0]) & set(steps[1])):
        for n in names:
            E.add(("runs", f"r0/step{s}", f"r1/step{s}", n, n))
    for r in (0, 1):
        for s in steps[r]:
            lab = f"r{r}/step{s}"
            # layers: auto chains 0 -> 2 -> 4 (split parts are left out); 2 -> 4 is also named
            E.add(("layers", lab, lab, "0.weight", "2.weight"))
            E.add(("layers", lab, lab, "2.weight", "4.weight"))
            E.add(("layers", lab, lab, "attn.qkv.weight[q]", "attn.qkv.weight[k]"))
            for h in range(HEADS):
                E.add(("layers", lab, lab, f"attn.qkv.weight[q]/head{h}", f"attn.qkv.weight[k]/head{h}"))
    return E


def dec(f, k):
    return [x.decode() if isinstance(x, bytes) else x for x in f[k][()]]


def read_comparisons(results):
    with h5py.File(f"{results}/index.h5", "r") as f:
        cols = {c: dec(f, f"comparisons/{c}") for c in ("id", "relation", "spaces", "name_a", "name_b", "checkpoint_a", "checkpoint_b", "status", "file")}
        cols["k"] = f["comparisons/k"][()]
        cols["agreement_diag_mean"] = f["comparisons/agreement_diag_mean"][()]
        cols["alignment_top"] = f["comparisons/alignment_top"][()]
    rows = []
    for i in range(len(cols["id"])):
        rows.append({c: v[i] for c, v in cols.items()})
    return rows


def matrices(label):
    run, step = label.split("/step")
    return analysed(weights(int(run[1:]), int(step)))


def check_values(results, steps):
    rows = read_comparisons(results)
    got = {(r["relation"], r["checkpoint_a"], r["checkpoint_b"], r["name_a"], r["name_b"]) for r in rows}
    E = expected_set(steps)
    check(got == E, f"planned comparisons differ from the job's rules: missing {sorted(E - got)[:4]}, extra {sorted(got - E)[:4]}")
    check(len(rows) == len(E), f"{len(rows)} comparison rows for {len(E)} distinct comparisons")
    worst = 0.0
    out = {}
    for r in rows:
        check(r["status"] == "done", f"comparison {r['id']} ({r['relation']} {r['name_a']}) is {r['status']}")
        A, B = matrices(r["checkpoint_a"])[r["name_a"]], matrices(r["checkpoint_b"])[r["name_b"]]
        ua, sa, va = svd_top(A)
        ub, sb, vb = svd_top(B)
        with h5py.File(f"{results}/{r['file']}", "r") as g:
            check(g.attrs["k"] == K and r["k"] == K, f"k of {r['id']} is {g.attrs['k']}, expected {K}")
            if r["relation"] == "layers":
                sp = g.attrs["spaces"]
                check(sp == ("out-out" if "[q]" in r["name_a"] else "out-in"), f"spaces of {r['name_a']} -> {r['name_b']}: {sp}")
                X, Y = (ua, vb) if sp == "out-in" else (ua, ub)
                ref = np.abs(X.T @ Y)
                d = np.abs(g["alignment"][()] - ref).max()
                cos = np.cos(scipy.linalg.subspace_angles(X, Y))[::-1]  # descending cosines
                d = max(d, np.abs(np.sort(g["cos"][()])[::-1] - np.sort(cos)[::-1]).max())
                check(abs(g["summary"].attrs["alignment_top"] - ref[0, 0]) < 1e-8, "alignment_top")
                check(abs(r["alignment_top"] - ref[0, 0]) < 1e-8, "index alignment_top")
                out[(r["relation"], r["checkpoint_a"], r["name_a"], r["name_b"])] = g["alignment"][()]
            else:
                ref = np.abs((ua.T @ ub) * (va.T @ vb))
                d = np.abs(g["agreement"][()] - ref).max()
                for side, X, Y in (("U", ua, ub), ("V", va, vb)):
                    cos = np.sort(np.cos(scipy.linalg.subspace_angles(X, Y)))[::-1]
                    d = max(d, np.abs(g[f"cos_{side}"][()] - cos).max())
                    deg = np.degrees(np.arccos(np.clip(cos, 0, 1)))
                    check(abs(g["summary"].attrs[f"angle_{side}_max"] - deg.max()) < 1e-4, f"angle_{side}_max of {r['id']}")
                check(abs(r["agreement_diag_mean"] - np.mean(np.diag(ref))) < 1e-8, "index agreement_diag_mean")
                out[(r["relation"], r["checkpoint_a"], r["checkpoint_b"], r["name_a"])] = g["agreement"][()]
            worst = max(worst, d)
    check(worst < 1e-8, f"comparisons differ from numpy by {worst:.3g}")
    return out


def check_differences(results):
    n = 0
    with h5py.File(f"{results}/index.h5", "r") as f:
        kinds, labs, minus, names, files, st = (dec(f, f"tasks/{c}") for c in ("kind", "checkpoint", "minus_checkpoint", "name", "file", "status"))
    for kd, lab, mi, nm, fl, s in zip(kinds, labs, minus, names, files, st):
        if kd != "difference":
            continue
        check(s == "done", f"difference {lab} {nm} is {s}")
        a, b = lab.split(" - ")
        check(b == mi, f"difference label {lab} vs minus_checkpoint {mi}")
        ref = np.linalg.svd(matrices(a)[nm] - matrices(b)[nm], compute_uv=False)
        with h5py.File(f"{results}/{fl}", "r") as g:
            check(g.attrs["kind"] == "difference" and g.attrs["minus_checkpoint_label"] == b, "difference attributes")
            got = g["full/sigma"][()]
        check(np.abs(got - ref).max() <= 1e-10 * ref[0], f"spectrum of {lab} {nm} differs from numpy by {np.abs(got - ref).max():.3g}")
        n += 1
    # runs: 3 steps x 12 names; previous: 2 x 2 runs x 12 names
    check(n == 3 * 12 + 4 * 12, f"{n} difference tasks, expected {3 * 12 + 4 * 12}")


def check_trajectories(results, steps):
    with h5py.File(f"{results}/index.h5", "r") as f:
        for r in (0, 1):
            for name in ("0.weight", "attn.qkv.weight[v]/head1"):
                g = f[f"trajectories/r{r}/{name}"]
                check(list(g["step"][()]) == steps[r], f"trajectory steps of r{r} {name}: {list(g['step'][()])}")
                for j, s in enumerate(steps[r]):
                    a = analysed(weights(r, s))[name]
                    sv = np.linalg.svd(a, compute_uv=False)
                    check(np.abs(g["full_sigma"][j] - sv).max() <= 1e-10 * sv[0], f"trajectory full_sigma r{r} {name} step {s}")
                    check(np.abs(g["top_sigma"][j][:6] - sv[:6]).max() <= 1e-10 * sv[0], "trajectory top_sigma")
                    check(abs(g["stable_rank"][j] - stable_rank(a, sv)) < 1e-10 * stable_rank(a, sv), "trajectory stable_rank")
                    check(abs(g["effective_rank"][j] - effective_rank(sv)) < 1e-9, "trajectory effective_rank")


steps = {0: [0, 10, 20], 1: [0, 10, 20]}
ref_by_np = {}
for np_ in (1, 2, 4):
    res = f"{work}/res{np_}"
    _, _, se = run(["run", f"{work}/job.yaml", "-o", res], np_=np_, expect=0)
    check("comparisons:" in se, "the run summary reports the comparisons")
    ref_by_np[np_] = check_values(res, steps)
check_differences(f"{work}/res2")
check_trajectories(f"{work}/res2", steps)
for np_ in (2, 4):
    d = max(np.abs(ref_by_np[np_][k] - ref_by_np[1][k]).max() for k in ref_by_np[1])
    check(d < 1e-10, f"comparisons at {np_} ranks differ from 1 rank by {d:.3g}")

# ---- incremental: a new checkpoint in r0 -----------------------------------------------
res = f"{work}/res2"
before = {r["id"]: os.stat(f"{res}/{r['file']}") for r in read_comparisons(res)}
write_step(0, 30)
_, _, se = run(["run", f"{work}/job.yaml", "-o", res], np_=2, expect=0)
steps = {0: [0, 10, 20, 30], 1: [0, 10, 20]}
check_values(res, steps)
after = read_comparisons(res)
E_new = expected_set(steps)
E_old = expected_set({0: [0, 10, 20], 1: [0, 10, 20]})
# comparisons the new checkpoint takes part in: r0's "final" (the last checkpoint changed), one
# more "previous" per name, its layer pairs; nothing else may be recomputed
new_keys = {k for k in E_new if k not in E_old}
check(f"{len(new_keys)} computed now" in se, f"the rerun must compute exactly the {len(new_keys)} new comparisons:\n{se}")
kept = 0
for r in after:
    key = (r["relation"], r["checkpoint_a"], r["checkpoint_b"], r["name_a"], r["name_b"])
    if key in E_old:
        st = os.stat(f"{res}/{r['file']}")
        check(r["id"] in before and st.st_ino == before[r["id"]].st_ino and st.st_mtime_ns == before[r["id"]].st_mtime_ns, f"comparison {key} was rewritten by the incremental rerun")
        kept += 1
check(kept == len(E_old & E_new), "unchanged comparisons kept")
check("tasks done now" in se and f"{4 * 12 // 4 * 1} tasks done now" not in se, "rerun summary")
import re
m = re.search(r"(\d+) tasks done now, (\d+) already stored", se)
# new tasks: 12 weights of step 30 + 12 differences (30 - 20)
check(m and int(m.group(1)) == 24, f"the rerun must run only the 24 new tasks: {m.group(0) if m else se}")

# ---- export --comparisons: the same rows and numbers as the index -----------------------
import csv, subprocess
subprocess.run([SPECDYN, "export", res, "--comparisons", f"{work}/cmp.csv"], env=ENV, check=True)
with open(f"{work}/cmp.csv") as fh:
    rows = list(csv.DictReader(fh))
idx = {r["id"]: r for r in after}
check(len(rows) == len(after), f"{len(rows)} CSV rows for {len(after)} comparisons")
for row in rows:
    r = idx[row["id"]]
    check(row["relation"] == r["relation"] and row["name_a"] == r["name_a"] and row["checkpoint_b"] == r["checkpoint_b"], f"CSV row {row['id']}")
    for col in ("agreement_diag_mean", "alignment_top"):
        v = r[col]
        check((row[col] == "" and np.isnan(v)) or (row[col] != "" and float(row[col]) == v), f"CSV {col} of {row['id']}: {row[col]!r} vs {v}")
    if r["relation"] != "layers":
        check(row["step_a"] == r["checkpoint_a"].split("step")[1], "CSV step_a")

# ---- slices + --merge --------------------------------------------------------------------
res = f"{work}/slices"
for i in range(2):
    run(["run", f"{work}/job.yaml", "-o", res, "--tasks", f"{i}/2"], np_=2, expect=0)
with h5py.File(f"{res}/index.h5", "r") as f:
    st = dec(f, "comparisons/status")
check(all(s in ("pending", "waiting") for s in st), "slices do not compute comparisons")
_, _, se = run(["run", f"{work}/job.yaml", "-o", res, "--merge"], np_=2, expect=0)
vals = check_values(res, steps)

# ---- job errors ---------------------------------------------------------------------------
for bad, want in (("  k: 9\n", "'compare.k' is 9 but only weights.top = 6"), ("  layres: auto\n", "did you mean 'layers'"), ("  checkpoints: [last]\n", "must be one of final, previous"),
                  ("  layers:\n    - [\"a.*\", \"b\"]\n", "same number of '*'")):
    text = JOB.split("compare:")[0] + "compare:\n" + bad
    write_job(f"{work}/bad.yaml", text)
    code, _, se = run(["run", f"{work}/bad.yaml", "--dry-run"], np_=1)
    check(code == 2 and want in se, f"job error for {bad.strip()!r}: exit {code}, stderr {se!r}")
print("compare e2e OK")
