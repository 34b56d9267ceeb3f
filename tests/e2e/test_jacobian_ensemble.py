"""Random Jacobian ensembles from a job file (job key jacobian.ensemble): products of
Gaussian matrices, optionally with random fixed gates, analysed without any checkpoint.

References (independent of specdyn):
- ungated products of d x d matrices with N(0, s^2) entries: Newman's closed form
  lambda_i = log s + 1/2 [log 2 + psi((d-i+1)/2)] (scipy.special.digamma). With an
  orthonormal start the QR diagonals are independent, 1/2 log(s^2 chi^2_{d-i+1}) per
  layer, so the estimate of one draw is unbiased at any depth L with variance
  psi'((d-i+1)/2) / (4L); the mean over n draws must lie within 5 standard errors;
- gated products (gates on with probability p, fresh per layer and draw): a numpy
  simulation of the same law (QR iteration on 400 independent draws); the top
  exponents and (1/l) log sigma_i(J_{l:1}) at the listed depths must agree within 5
  combined standard errors (the specdyn draws are different ones: statistics, not bits);
- the same stored numbers at 1 and 2 ranks (ranks_per_task: 2; narrow products, so
  by default the draws are shared out over 2 input groups of one rank each; products
  distributed within a group: test_jacobian_groups.py), a rerun skips the stored tasks, index.h5 lists them under
  ensemble/<name>;
- bad input (width 0, gate_p 1.5, an unknown key) exits 2 naming the key."""
import os, shutil
import numpy as np
import h5py
from scipy.special import digamma, polygamma
from spdref import *

work = os.path.abspath("e2e_jacobian_ensemble")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
D, L, S, P, N, K = 64, 16, 1.0, 0.5, 6, 4
DEPTHS = [4, 16]
write_job(f"{work}/ens.yaml", f"""
jacobian:
  k: {K}
  depths: {DEPTHS}
  seed: 3
  ensemble:
    - {{name: plain, width: {D}, depth: {L}, std: {S}, seeds: {N}, seed: 11}}
    - {{name: gated, width: {D}, depth: {L}, std: {S}, gate_p: {P}, seeds: {N}, seed: 12}}
resources: {{ranks_per_task: 2}}
""")


def load(out):
    files = task_files(out)
    check(sorted(files) == [("ensemble/gated", "jacobian/gaussian"), ("ensemble/plain", "jacobian/gaussian")], f"two ensemble tasks, got {sorted(files)}")
    res = {}
    for (label, name), path in files.items():
        with h5py.File(path, "r") as f:
            e = label.split("/")[1]
            check(f.attrs["analysis"] == "jacobian" and f.attrs["source"] == "ensemble" and f.attrs["ensemble"] == e, f"{e}: attributes")
            check(f.attrs["width"] == D and f.attrs["depth"] == L and f.attrs["draws"] == N and f.attrs["inputs"] == N and f.attrs["k"] == K, f"{e}: ensemble attributes")
            check(abs(f.attrs["gate_p"] - (P if e == "gated" else 1.0)) < 1e-15 and f.attrs["std"] == S, f"{e}: law attributes")
            check(list(f["spectra/depth"][()]) == DEPTHS, f"{e}: depths")
            res[e] = {k: f[k][()] for k in ("lyapunov/lambda", "lyapunov/lambda_mean", "lyapunov/lambda_std", "lyapunov/cumulative", "spectra/logsigma", "spectra/logsigma_mean", "spectra/cosines")}
    return res


r2 = run(["run", f"{work}/ens.yaml", "-o", f"{work}/out2"], np_=2, expect=0)
check("on 2 ranks" in r2[2], f"the tasks ran on 2 ranks:\n{r2[2]}")
res = load(f"{work}/out2")

# ---- exponents of the ungated ensemble: Newman's formula ------------------------------
lam = res["plain"]["lyapunov/lambda"].reshape(N, K)
check(np.all(np.isfinite(lam)) and np.ptp(lam[:, 0]) > 0, f"finite exponents that differ between draws: {lam[:, 0]}")
i = np.arange(1, K + 1)
nu = D - i + 1
newman = np.log(S) + 0.5 * (np.log(2) + digamma(nu / 2))
se = 0.5 * np.sqrt(polygamma(1, nu / 2) / (L * N))
z = np.abs(lam.mean(0) - newman) / se
check(np.all(z < 5), f"ungated exponents {lam.mean(0)} vs Newman {newman}: {z.max():.2f} standard errors ({se[0]:.3g})")
check(np.abs(res["plain"]["lyapunov/lambda_mean"].ravel() - lam.mean(0)).max() < 1e-12, "stored mean over draws")
check(np.abs(res["plain"]["lyapunov/lambda_std"].ravel() - lam.std(0, ddof=1)).max() < 1e-12, "stored std over draws")
cum = res["plain"]["lyapunov/cumulative"].reshape(N, L, K)
check(np.abs(cum[:, -1] - lam).max() < 1e-13, "lambda = cumulative estimate at full depth")

# ---- numpy simulation of the same laws --------------------------------------------------
rng = np.random.default_rng(7)


def simulate(p, ndraw=400):
    """Exponents (QR iteration, orthonormal start) and (1/l) log sigma_1..K(J_{l:1}) at DEPTHS."""
    lams, sig = [], []
    for _ in range(ndraw):
        Q = np.linalg.qr(rng.standard_normal((D, K)))[0]
        J = np.eye(D)
        logr = np.zeros(K)
        s = []
        for l in range(1, L + 1):
            A = S * rng.standard_normal((D, D))
            g = (rng.random(D) < p).astype(float) if (p < 1 and l > 1) else np.ones(D)
            Q, R = np.linalg.qr(A @ (g[:, None] * Q))
            logr += np.log(np.abs(np.diag(R)))
            J = A @ (g[:, None] * J)
            if l in DEPTHS:
                s.append(np.log(np.linalg.svd(J, compute_uv=False)[:K]) / l)
        lams.append(logr / L)
        sig.append(s)
    return np.array(lams), np.array(sig)


def agree(name, ours, ref, what):
    """ours: N draws x ..., ref: many draws x ...; means within 5 combined standard errors."""
    sd = ref.std(0, ddof=1)
    z = np.abs(ours.mean(0) - ref.mean(0)) / np.sqrt(sd**2 / len(ours) + sd**2 / len(ref))
    check(np.all(z < 5), f"{name}: {what} {ours.mean(0)} vs numpy {ref.mean(0)}: {z.max():.2f} standard errors")


for name, p in (("gated", P), ("plain", 1.0)):
    ref_lam, ref_sig = simulate(p)
    ours = res[name]["lyapunov/lambda"].reshape(N, K)
    agree(name, ours[:, :2], ref_lam[:, :2], "top exponents")
    ls = res[name]["spectra/logsigma"].reshape(N, len(DEPTHS), K) / np.array(DEPTHS)[None, :, None]
    agree(name, ls, ref_sig, "(1/l) log sigma_i(J_(l:1))")
    cs = res[name]["spectra/cosines"].reshape(N, len(DEPTHS), K)
    check(np.all((cs[:, 0] >= -1e-12) & (cs[:, 0] <= 1 + 1e-12)) and np.all(np.isnan(cs[:, -1])), f"{name}: cosines in [0, 1] below the top, NaN at l = L")
gl = res["gated"]["lyapunov/lambda"].reshape(N, K).mean(0)
check(gl[0] < newman[0] - 0.2, f"gates halve the units: the gated top exponent {gl[0]} is well below the ungated {newman[0]}")

# ---- the same numbers at 1 rank ---------------------------------------------------------
run(["run", f"{work}/ens.yaml", "-o", f"{work}/out1"], np_=1, expect=0)
res1 = load(f"{work}/out1")
for e in res:
    for k in res[e]:
        a, b = res[e][k], res1[e][k]
        check(a.shape == b.shape and np.allclose(a, b, rtol=1e-10, atol=1e-10, equal_nan=True), f"{e} {k}: 1 and 2 ranks differ by {np.nanmax(np.abs(a - b)):.3g}")

# ---- rerun skips, index.h5 lists the tasks ----------------------------------------------
rc, _, err = run(["run", f"{work}/ens.yaml", "-o", f"{work}/out2"], np_=2, expect=0)
check("2 of 2 tasks already stored" in err and "0 tasks done now" in err, f"rerun skips the stored tasks:\n{err}")
with h5py.File(f"{work}/out2/index.h5", "r") as f:
    labels = sorted(x.decode() for x in f["tasks/checkpoint"][()])
    check(labels == ["ensemble/gated", "ensemble/plain"], f"index task labels {labels}")
    check(all(x == b"done" for x in f["tasks/status"][()]), "index: tasks done")
    check(list(f["tasks/step"][()]) == [-1, -1] and all(x == b"" for x in f["tasks/run"][()]), "index: no run, no step")
    check(f["checkpoints/ensemble/plain/jacobian/gaussian"].attrs["ensemble"] == "plain", "index link to the task file")

# ---- bad input: exit 2 naming the key ---------------------------------------------------
for body, key in (("{width: 0, depth: 4}", "jacobian.ensemble.width"), ("{width: 8, depth: 4, gate_p: 1.5}", "jacobian.ensemble.gate_p"), ("[{width: 8, depth: 4}, {width: 8, depth: 4, gate_prob: 0.5}]", "gate_prob"),
                  ("{width: 8}", "depth"), ("{width: 8, depth: 4, std: -1}", "jacobian.ensemble.std")):
    write_job(f"{work}/bad.yaml", f"jacobian: {{ensemble: {body}}}\n")
    rc, _, err = run(["run", f"{work}/bad.yaml", "-o", f"{work}/bad"], np_=1)
    check(rc == 2 and key in err, f"{body}: exit {rc}, expected 2 naming {key}:\n{err}")
write_job(f"{work}/bad.yaml", "jacobian: {depths: [20], ensemble: {width: 8, depth: 4}}\n")
rc, _, err = run(["run", f"{work}/bad.yaml", "-o", f"{work}/bad"], np_=1)
check(rc == 2 and "jacobian.depths" in err, f"a depth beyond the ensemble: exit {rc}:\n{err}")
print("jacobian ensemble e2e OK")
