"""Inputs and ensemble draws of a Jacobian task shared out over rank groups (job key
jacobian.input_groups): the stored per-input datasets and their statistics must not depend
on the number of groups G or on the rank count.

- a tanh MLP (torch, saved with h5py; fixture and numpy references: jacfixture.py), 5
  inputs, k = 8 = width and k = 3: every dataset of the task file equal (1e-12) for 1 rank,
  2 ranks (auto = 2, G = 1) and 4 ranks (auto = 4, G = 1, 2, 4), and equal to numpy:
  log sigma_i(J_{l:1}(x)) of the explicit products, the volume identity
  sum_i l lambda_i(l) = log |det J_{l:1}| (k = width), the principal cosines (k = 3), and
  mean/std/q10/q50/q90 over the inputs from np.mean/std/quantile;
- a gated Gaussian ensemble (6 draws): every dataset equal for 1 rank, 2 ranks (auto)
  and 4 ranks with G = 1, 2, 4 and auto (draw seeds do not depend on G), statistics
  equal to numpy's over the stored draws;
- the automatic G (docs/jacobians.md): narrow products (widest layer < 1024) take the
  most groups of the fewest rounds (one rank per product here); wide ones the least
  modelled time (ties: more groups), and a small memory budget forces fewer, larger
  groups;
- bad input: input_groups 3 on 4 ranks fails the task naming the key; 0 and 'many' are
  refused when the job is read (exit 2)."""
import os
import numpy as np
import h5py
from spdref import *
from jacfixture import TanhNet, D, N

work = os.path.abspath("e2e_jacobian_groups")
fx = TanhNet(work, torch_seed=5, data_seed=3)


def groups_line(g):
    return "" if g is None else f", input_groups: {g}"


def read_all(path):
    """{dataset: array} of a task file, and its attributes."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
        attrs = dict(f.attrs)
    return out, attrs


def same(a, b, what):
    """Every dataset of b equals a's (NaN where a is NaN)."""
    check(sorted(a) == sorted(b), f"{what}: datasets {sorted(b)} vs {sorted(a)}")
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        check(x.shape == y.shape, f"{what}: {key} shape {y.shape} vs {x.shape}")
        if x.dtype.kind == "f":
            ok = np.allclose(x, y, rtol=1e-12, atol=1e-12, equal_nan=True)
            check(ok, f"{what}: {key} differs by {np.nanmax(np.abs(x - y)):.3g}")
        else:
            check(np.array_equal(x, y), f"{what}: {key} differs")


def stats_ok(ds, name, n, shape, what):
    """<name>_mean/std/q10/q50/q90 against numpy on the stored per-input rows."""
    a = ds[name].reshape((n,) + shape)
    ref = {"mean": a.mean(0), "std": a.std(0, ddof=1), "q10": np.quantile(a, 0.1, axis=0), "q50": np.quantile(a, 0.5, axis=0), "q90": np.quantile(a, 0.9, axis=0)}
    for s, r in ref.items():
        got = ds[f"{name}_{s}"].reshape(shape)
        check(np.allclose(got, r, rtol=1e-12, atol=1e-12, equal_nan=True), f"{what}: {name}_{s} differs from numpy by {np.nanmax(np.abs(got - r)):.3g}")


# ---- a model: 1, 2, 4 ranks and G = auto, 1, 2, 4 ------------------------------------
CONFIGS = [(1, None, 1), (2, None, 2), (2, 1, 1), (4, None, 4), (4, 1, 1), (4, 2, 2), (4, 4, 4)]
for k in (8, 3):
    base = None
    for np_, g, expect_g in CONFIGS:
        tag = f"k{k}_np{np_}_g{g or 'auto'}"
        write_job(f"{work}/{tag}.yaml", f"""
checkpoints: [net.h5]
model: {{activation: tanh, loss: mse}}
data: {{source: hdf5, path: data.h5, x: X, y: y}}
jacobian: {{inputs: {N}, k: {k}{groups_line(g)}}}
resources: {{ranks_per_task: {np_}}}
""")
        run(["run", f"{work}/{tag}.yaml", "-o", f"{work}/{tag}"], np_=np_, expect=0)
        files = task_files(f"{work}/{tag}")
        check(list(files) == [("net", "jacobian/inputs")], f"{tag}: one jacobian task, got {list(files)}")
        ds, attrs = read_all(files[("net", "jacobian/inputs")])
        check(attrs["ranks"] == np_ and attrs["input_groups"] == expect_g, f"{tag}: ran on {attrs['ranks']} ranks in {attrs['input_groups']} groups, expected {np_} in {expect_g}")
        if base is None:  # the numpy references, once (the other runs must equal it)
            fx.check_logsigma(ds["spectra/logsigma"].reshape(N, 3, k), k, tag)
            for name, shape in (("spectra/logsigma", (3, k)), ("spectra/gap", (3, k - 1)), ("lyapunov/lambda", (1, k)), ("lyapunov/cumulative", (3, k))):
                stats_ok(ds, name, N, shape, tag)
            check(np.abs(ds["lyapunov/lambda_mean"].ravel()[0] - ds["lyapunov/lambda"].reshape(N, k)[:, 0].mean()) < 1e-13, f"{tag}: lambda_1 mean")
            if k == D:  # volume identity, exact whatever the initial block
                fx.check_volume(ds["lyapunov/cumulative"].reshape(N, 3, k), tag)
            else:
                fx.check_cosines(ds["spectra/cosines"].reshape(N, 3, k), k, tag)
            base = ds
        else:
            same(base, ds, tag)

# ---- a gated ensemble: draws across groups ---------------------------------------------
ED, EL, EN, EK = 32, 6, 6, 4
base = None
for np_, g, expect_g in ((1, None, 1), (4, None, 4), (4, 1, 1), (4, 2, 2), (4, 4, 4), (2, None, 2)):
    tag = f"ens_np{np_}_g{g or 'auto'}"
    write_job(f"{work}/{tag}.yaml", f"""
jacobian:
  k: {EK}
  depths: [2, 6]
  seed: 4
  input_groups: {g or "auto"}
  ensemble: {{name: gated, width: {ED}, depth: {EL}, std: 0.25, gate_p: 0.5, seeds: {EN}, seed: 9}}
resources: {{ranks_per_task: {np_}}}
""")
    run(["run", f"{work}/{tag}.yaml", "-o", f"{work}/{tag}"], np_=np_, expect=0)
    files = task_files(f"{work}/{tag}")
    check(list(files) == [("ensemble/gated", "jacobian/gaussian")], f"{tag}: one ensemble task, got {list(files)}")
    ds, attrs = read_all(files[("ensemble/gated", "jacobian/gaussian")])
    check(attrs["ranks"] == np_ and attrs["input_groups"] == expect_g, f"{tag}: ran on {attrs['ranks']} ranks in {attrs['input_groups']} groups, expected {np_} in {expect_g}")
    lam = ds["lyapunov/lambda"].reshape(EN, EK)
    check(np.all(np.isfinite(lam)) and np.ptp(lam[:, 0]) > 0, f"{tag}: finite exponents that differ between draws: {lam[:, 0]}")
    if base is None:
        for name, shape in (("spectra/logsigma", (2, EK)), ("spectra/cosines", (2, EK)), ("lyapunov/lambda", (1, EK)), ("lyapunov/cumulative", (EL, EK))):
            stats_ok(ds, name, EN, shape, tag)
        base = ds
    else:
        same(base, ds, tag)

# ---- the automatic rule on wide products -----------------------------------------------
# width 1024 >= the narrow limit: products scale with their ranks, so with 2 draws on 4
# ranks G = 1 (2 rounds on 4 ranks) and G = 2 (1 round on 2 ranks) tie and the larger G
# wins; a memory budget that one product on 2 ranks exceeds (8 L d^2 / 2 = 8 MiB of
# factors) leaves G = 1.
for mem, expect_g in (("2GiB", 2), ("7MiB", 1)):
    tag = f"wide_{mem}"
    write_job(f"{work}/{tag}.yaml", f"""
jacobian:
  k: 2
  depths: [2]
  lyapunov: false
  ensemble: {{name: wide, width: 1024, depth: 2, seeds: 2}}
resources: {{ranks_per_task: 4, memory_per_rank: {mem}}}
""")
    run(["run", f"{work}/{tag}.yaml", "-o", f"{work}/{tag}"], np_=4, expect=0)
    files = task_files(f"{work}/{tag}")
    ds, attrs = read_all(files[("ensemble/wide", "jacobian/gaussian")])
    check(attrs["ranks"] == 4 and attrs["input_groups"] == expect_g, f"{tag}: {attrs['input_groups']} groups on {attrs['ranks']} ranks, expected {expect_g} on 4")

# ---- bad input ---------------------------------------------------------------------------
write_job(f"{work}/bad3.yaml", f"""
checkpoints: [net.h5]
model: {{activation: tanh, loss: mse}}
data: {{source: hdf5, path: data.h5, x: X, y: y}}
jacobian: {{inputs: {N}, k: 3, input_groups: 3}}
resources: {{ranks_per_task: 4}}
""")
rc, _, err = run(["run", f"{work}/bad3.yaml", "-o", f"{work}/bad3"], np_=4)
check(rc != 0 and "jacobian.input_groups is 3" in err and "4 ranks" in err, f"input_groups 3 on 4 ranks: exit {rc}, expected a failure naming the key:\n{err}")
for val in ("0", "many", "[2]"):
    write_job(f"{work}/bad.yaml", f"jacobian: {{input_groups: {val}, ensemble: {{width: 8, depth: 2}}}}\n")
    rc, _, err = run(["run", f"{work}/bad.yaml", "-o", f"{work}/bad"], np_=1)
    check(rc == 2 and "jacobian.input_groups" in err, f"input_groups {val}: exit {rc}, expected 2 naming jacobian.input_groups:\n{err}")
print("jacobian groups e2e OK")
