#!/usr/bin/env bash
# `make demo` end to end (scripts/demo.sh) in a folder of its own, then its numbers checked
# against the dynamics the generator planted (scripts/make_demo_model.py documents them):
#   W_t = g(t) S + level_run(t) (cos phi_t N0 + sin phi_t Z_run),  g(0) = 0, g increasing,
#   level_wd(t) = exp(-t/tau) decreasing, level_nowd = 1, N0 shared by both runs,
#   S the same low-rank signal in both runs, with q/k heads sharing their left vectors and
#   mlp.c_fc's right vectors equal to mlp.c_proj's left vectors.
# Facts asserted (each follows from that construction, none is a value copied from a run):
# - every planned task and comparison is done; the comparison counts follow the job's rules;
# - effective rank, for every analysed matrix of the model: falls at every step in wd,
#   ends lower in wd than in nowd; it equals numpy's value (from the checkpoint bytes,
#   decoded independently by spdref) for the headline matrix at every step of both runs;
# - step 0 is the shared initialization: wd - nowd is the zero matrix, agreement 1;
# - top-1 agreement with the final step: ~0 at step 0 (pure noise vs the signal), near 1
#   at the last-but-one step (the signal dominates); wd and nowd share the top vector;
# - layer alignment: 1 where the generator shares vectors (hidden space of the MLP, q/k
#   heads), small where it draws them independently (the residual pair of shape chaining);
# - the report's index.md and the ranks plots exist.
set -euo pipefail
export SPD_DEMO_OUT="$PWD/e2e_demo"
rm -rf "$SPD_DEMO_OUT"
status=0
out=$(bash "$SPD_SOURCE_DIR/scripts/demo.sh" "$SPD_BINARY_DIR" 2 2>&1) || status=$?
echo "$out" | tail -n 12
[ "$status" -eq 0 ] || { echo "$out"; echo "FAIL: scripts/demo.sh exited $status"; exit 1; }
echo "$out" | grep -q '\[specdyn\] complete:.* 0 failed, 0 refused, 0 not run' || { echo "FAIL: the demo study did not complete every task"; exit 1; }
echo "$out" | grep -q 'effective rank of transformer.h.0.mlp.c_fc.weight' || { echo "FAIL: the demo printed no headline"; exit 1; }
SPD_E2E_DIR="$SPD_SOURCE_DIR/tests/e2e" exec /usr/bin/python3 - "$SPD_DEMO_OUT" <<'EOF'
import json, os, re, sys
import numpy as np
import h5py
sys.path.insert(0, os.environ["SPD_E2E_DIR"])
from spdref import check, safetensors_tensors, effective_rank

out = sys.argv[1]
res = f"{out}/demo.results"
planted = json.load(open(f"{out}/runs/planted.json"))
steps, runs = planted["steps"], planted["runs"]
check(runs == ["wd", "nowd"] and len(steps) >= 3 and steps[0] == 0, f"planted.json: runs {runs}, steps {steps}")
HEAD = "transformer.h.0.mlp.c_fc.weight"
LAYERS = sorted({int(n.split(".")[2]) for n in planted["planted_rank"] if n.startswith("transformer.h.")})
HEADS = 4  # jobs/demo.yaml: heads: 4


def dec(f, k):
    return [x.decode() if isinstance(x, bytes) else x for x in f[k][()]]


def analysed_names():
    """The analysed matrices of one model checkpoint, by the job's rules."""
    names = []
    for t in planted["planted_rank"]:
        if t.endswith("attn.c_attn.weight"):
            for p in ("q", "k", "v"):
                names.append(f"{t}[{p}]")
                names += [f"{t}[{p}]/head{h}" for h in range(HEADS)]
        else:
            names.append(t)
    return names


NAMES = analysed_names()
with h5py.File(f"{res}/index.h5", "r") as f:
    T = {c: dec(f, f"tasks/{c}") for c in ("name", "checkpoint", "run", "status", "kind", "file")}
    T["step"] = list(f["tasks/step"][()])
    C = {c: dec(f, f"comparisons/{c}") for c in ("relation", "spaces", "name_a", "name_b", "checkpoint_a", "checkpoint_b", "run_a", "run_b", "status")}
    for c in ("step_a", "step_b", "agreement_top", "alignment_top", "alignment_diag_mean"):
        C[c] = list(f[f"comparisons/{c}"][()])
    traj = {}
    for run in runs:
        for n in NAMES:
            g = f[f"trajectories/{run}/{n}"]
            traj[run, n] = (list(g["step"][()]), list(g["effective_rank"][()]))

# ---- every task done; the plan is what the job implies ---------------------------------
bad = [(n, c, s) for n, c, s in zip(T["name"], T["checkpoint"], T["status"]) if s != "done"]
check(not bad, f"{len(bad)} tasks not done, e.g. {bad[:3]}")
model = {(r, s, n) for n, r, s, k in zip(T["name"], T["run"], T["step"], T["kind"]) if r and k == "weights"}
check(model == {(r, s, n) for r in runs for s in steps for n in NAMES}, f"model tasks differ from runs x steps x {len(NAMES)} matrices")
diffs = [(c, n, fl) for c, n, k, fl in zip(T["checkpoint"], T["name"], T["kind"], T["file"]) if k == "difference"]
check(len(diffs) == len(steps) * len(NAMES), f"{len(diffs)} difference tasks, expected wd - nowd at {len(steps)} steps x {len(NAMES)}")

# ---- comparisons: all done, counts by the job's rules ----------------------------------
ncmp = len(C["relation"])
check(all(s == "done" for s in C["status"]), f"comparisons not done: {sorted(set(C['status']))}")


def count(rel, in_runs=False):
    return sum(1 for i in range(ncmp) if C["relation"][i] == rel and (not in_runs or C["run_a"][i] in runs))



S, N = len(steps), len(NAMES)
check(count("final") == 2 * (S - 1) * N, f"{count('final')} 'final' comparisons, expected {2 * (S - 1) * N}")
check(count("previous") == 2 * (S - 1) * N, f"{count('previous')} 'previous' comparisons")
check(count("runs") == S * N, f"{count('runs')} 'runs' comparisons, expected {S * N}")
# per model checkpoint: auto chain c_fc -> c_proj and the hidden pair per layer; q/k per part and head
check(count("layers", True) == 2 * S * len(LAYERS) * (2 + 1 + HEADS), f"{count('layers', True)} layer pairs in the runs")


def cmp(rel, name_a, ck_a, ck_b=None, name_b=None):
    hits = [i for i in range(ncmp) if C["relation"][i] == rel and C["name_a"][i] == name_a and C["checkpoint_a"][i] == ck_a
            and (ck_b is None or C["checkpoint_b"][i] == ck_b) and (name_b is None or C["name_b"][i] == name_b)]
    check(len(hits) == 1, f"{len(hits)} comparisons {rel} {name_a} {ck_a} {ck_b} {name_b}")
    return hits[0]


lab = lambda run, s: f"{run}/step{s}"

# ---- effective rank: falls in wd, stays high in nowd -------------------------------------
for n in NAMES:
    for run in runs:
        check(traj[run, n][0] == steps, f"trajectory steps of {run} {n}: {traj[run, n][0]}")
    wd, nowd = traj["wd", n][1], traj["nowd", n][1]
    check(all(b < a for a, b in zip(wd, wd[1:])), f"effective rank of {n} in wd must fall at every step (noise decays under a growing signal): {wd}")
    check(wd[-1] < nowd[-1], f"effective rank of {n} at the last step: wd {wd[-1]:.2f} must be below nowd {nowd[-1]:.2f}")
    check(abs(wd[0] - nowd[0]) <= 1e-9 * wd[0], f"step 0 is the shared initialization: effective rank of {n} {wd[0]} vs {nowd[0]}")
# the headline matrix, against numpy on the checkpoint bytes
files = {"wd": "model.safetensors.index.json", "nowd": "model.safetensors"}
svd = {}
for run in runs:
    for j, s in enumerate(steps):
        w = safetensors_tensors(f"{out}/runs/{run}/step_{s}/{files[run]}")[HEAD]
        u, sv, vt = np.linalg.svd(w, full_matrices=False)
        svd[run, s] = (u[:, 0], vt[0])
        got = traj[run, HEAD][1][j]
        check(abs(got - effective_rank(sv)) < 1e-9 * effective_rank(sv), f"effective rank of {HEAD} {run} step {s}: {got} vs numpy {effective_rank(sv)}")
# the signal dominates the last step of wd: the effective rank nears the planted rank, far
# below the noise's (which is close to min(m, n) for Gaussian noise)
wd, nowd = traj["wd", HEAD][1], traj["nowd", HEAD][1]
check(wd[-1] < 0.25 * wd[0] and nowd[-1] > 0.75 * nowd[0], f"{HEAD}: wd {wd}, nowd {nowd}")

# ---- step 0: both runs at the same initialization ----------------------------------------
for c, n, fl in diffs:
    if c == f"{lab('wd', 0)} - {lab('nowd', 0)}":
        with h5py.File(f"{res}/{fl}", "r") as g:
            check(g["metrics"].attrs["spectral"] == 0 and g["metrics"].attrs["frobenius"] == 0, f"wd - nowd at step 0 of {n} must be the zero matrix")
for n in NAMES:
    i = cmp("runs", n, lab("wd", 0), lab("nowd", 0))
    check(C["agreement_top"][i] > 1 - 1e-6, f"runs at step 0 are identical: agreement_top of {n} is {C['agreement_top'][i]}")

# ---- agreement with the final step, and between the runs --------------------------------
for run in runs:
    last = lab(run, steps[-1])
    for n in (x for x in NAMES if "/head" not in x):  # whole matrices and parts
        a0 = C["agreement_top"][cmp("final", n, lab(run, 0), last)]
        a1 = C["agreement_top"][cmp("final", n, lab(run, steps[-2]), last)]
        check(a0 < 0.2, f"{run} {n}: step 0 is noise, unrelated to the final signal, yet agreement_top = {a0:.3f}")
        check(a1 > 0.95, f"{run} {n}: the top vector has settled by step {steps[-2]}, yet agreement_top = {a1:.3f}")
    # the headline, against numpy's top singular pair
    for s in steps[1:-1]:
        uf, vf = svd[run, steps[-1]]
        u, v = svd[run, s]
        ref = abs(u @ uf) * abs(v @ vf)
        got = C["agreement_top"][cmp("final", HEAD, lab(run, s), last)]
        check(abs(got - ref) < 1e-6, f"agreement_top of {HEAD} {run} step {s} vs final: {got} vs numpy {ref}")
for n in (x for x in NAMES if "/head" not in x):
    a = C["agreement_top"][cmp("runs", n, lab("wd", steps[-1]), lab("nowd", steps[-1]))]
    check(a > 0.9, f"the runs share their planted top vectors: agreement_top of {n} at the last step is {a:.3f}")

# ---- layer alignment -----------------------------------------------------------------------
for run in runs:
    ck = lab(run, steps[-1])
    for l in LAYERS:
        p = f"transformer.h.{l}."
        i = cmp("layers", p + "mlp.c_proj.weight", ck, name_b=p + "mlp.c_fc.weight")
        check(C["spaces"][i] == "out-in" and C["alignment_diag_mean"][i] > 0.9, f"hidden space of layer {l} ({run}): c_fc's V = c_proj's U, alignment_diag_mean {C['alignment_diag_mean'][i]:.3f}")
        i = cmp("layers", p + "mlp.c_fc.weight", ck, name_b=p + "mlp.c_proj.weight")
        check(C["alignment_top"][i] < 0.4, f"residual pair of layer {l} ({run}): independent directions, alignment_top {C['alignment_top'][i]:.3f}")
        qk = p + "attn.c_attn.weight"
        for sfx in [""] + [f"/head{h}" for h in range(HEADS)]:
            i = cmp("layers", f"{qk}[q]{sfx}", ck, name_b=f"{qk}[k]{sfx}")
            check(C["spaces"][i] == "out-out" and C["alignment_top"][i] > 0.95, f"q/k{sfx} of layer {l} ({run}) share their head directions: alignment_top {C['alignment_top'][i]:.3f}")

# ---- the report ----------------------------------------------------------------------------
idx = open(f"{out}/report/index.md").read()
for png in ("ranks_wd.png", "ranks_nowd.png"):
    check(open(f"{out}/report/{png}", "rb").read(8) == b"\x89PNG\r\n\x1a\n" and png in idx, f"report: {png} missing or not linked from index.md")
print(f"demo: {len(T['name'])} tasks and {ncmp} comparisons done; planted dynamics found "
      f"(effective rank of {HEAD}: wd {wd[0]:.0f} -> {wd[-1]:.0f}, nowd {nowd[0]:.0f} -> {nowd[-1]:.0f})")
EOF
