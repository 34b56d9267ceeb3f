"""The qualitative finding of Belrose & Scherlis on real data, asserted.

An MLP 64-16-10 (1,210 parameters, tanh, cross-entropy) is trained by `specdyn train` with
full-batch gradient descent (lr 0.5, 40 steps) on 200 real 8x8 digits (scikit-learn's
copy of the UCI set, shipped by Debian's python3-sklearn), with 400 held-out digits. Its
training Jacobian J_T = d theta_T / d theta_0 is analysed matrix-free (top-4 singular
triplets by SLEPc, SLQ density of J_T^T J_T) and, since P is small, also densely (P
products, all triplets by ScaLAPACK). Thresholds (epsilon = 0.1):

  chaotic region: sigma_1 > 5 (sigma >> 1), and the top singular vectors have u.v > 0.9;
  bulk:           at least 30% of the singular values have |sigma - 1| <= 0.1, and their
                  mean cosine u_i.v_i is >= 0.95 (perturbations pass through training);
  stable region:  at least 5% have sigma < 0.9;
  SLQ:            the region fractions estimated matrix-free are within 3 reported
                  uncertainties (+ 0.01) and 0.08 of the exact fractions of the dense spectrum;
  perturbations:  along bulk vectors the held-out outputs change less than along chaotic
                  ones, and white-noise (far out-of-distribution) outputs change more
                  than held-out ones relative to the chaotic directions' ratio.

Independent checks: the matrix-free top-4 equal the dense spectrum's top 4 (two
different algorithms on the same operator), and numpy's SVD of J_T (built by the dense
path and not stored) is replaced by checking the stored singular values sorted and the
cosines in [-1, 1]; the operator itself is checked against PyTorch in tests/trainjac."""
import os, sys, tempfile
import numpy as np
import h5py

sys.path.insert(0, os.path.dirname(__file__))
from spdref import run, check

from sklearn.datasets import load_digits

d = load_digits()
X = (d.data / 16.0).astype(np.float64)
y = d.target.astype(np.int64)
perm = np.random.default_rng(0).permutation(len(y))
X, y = X[perm], y[perm]

with tempfile.TemporaryDirectory() as tmp:
    with h5py.File(os.path.join(tmp, "digits.h5"), "w") as f:
        f["x"] = X
        f["y"] = y
    job = os.path.join(tmp, "job.yaml")
    with open(job, "w") as f:
        f.write("""name: digits
output: out
model:
  widths: [64, 16, 10]
  activation: tanh
  loss: cross_entropy
data:
  source: hdf5
  path: digits.h5
  x: x
  y: y
  n: 200
  test_n: 400
train:
  steps: 40
  lr: 0.5
  checkpoints: {every: 40}
training_jacobian:
  top: 4
  bottom: 0
  density: {probes: 6, steps: 60}
  full: true
  perturb: {directions: 2, scale: 0.01, ood: 256}
""")
    run(["train", job], np_=1, expect=0, timeout=600)
    out = os.path.join(tmp, "out", "run")
    with h5py.File(os.path.join(out, "metrics.h5"), "r") as m:
        acc = m["evals/test_accuracy"][()][-1]
    check(acc > 0.8, f"the network did not learn the digits: held-out accuracy {acc:.3f}")
    with h5py.File(os.path.join(out, "training_jacobian.h5"), "r") as f:
        g = f["training_jacobian"]
        P = int(g.attrs["parameters"])
        check(P == 64 * 16 + 16 + 16 * 10 + 10, f"P = {P}")
        top = g["top/sigma"][()]
        cos_top = g["top/cosine_uv"][()]
        res = g["top/residual"][()]
        full = g["full/sigma"][()]
        cos = g["full/cosine_uv"][()]
        counts = g["full/region_count"][()]
        frac = g["density/region_fraction"][()]
        unc = g["density/region_fraction_uncertainty"][()]
        table = f["perturbation/table"][()]
    check(len(full) == P and np.all(np.diff(full) <= 1e-12 * full[0]), "the dense spectrum is not P sorted values")
    check(np.all(np.abs(cos) <= 1 + 1e-10), "cosines outside [-1, 1]")
    check(np.allclose(top, full[:4], rtol=1e-8), f"matrix-free top-4 {top} differ from the dense spectrum {full[:4]}")
    check(np.all(res <= 1e-6 * top[0]), f"top residuals {res}")
    print(f"sigma_1 = {top[0]:.3f}, top cosines {np.round(cos_top, 3)}")
    check(top[0] > 5, f"no chaotic region: sigma_1 = {top[0]:.3f}")
    check(np.all(cos_top > 0.9), f"top singular vectors: u.v = {cos_top}")
    eps = 0.1
    bulk = np.abs(full - 1) <= eps
    stable = full < 1 - eps
    chaotic = full > 1 + eps
    check(np.array_equal(counts, [chaotic.sum(), bulk.sum(), stable.sum()]), f"stored region counts {counts}")
    print(f"regions (chaotic, bulk, stable): exact {np.round(counts / P, 3)}, SLQ {np.round(frac, 3)}; bulk mean u.v {cos[bulk].mean():.4f}")
    check(bulk.mean() >= 0.3, f"bulk fraction {bulk.mean():.3f} < 0.3")
    check(cos[bulk].mean() >= 0.95, f"bulk mean u.v {cos[bulk].mean():.3f} < 0.95")
    check(stable.mean() >= 0.05, f"stable fraction {stable.mean():.3f} < 0.05")
    print(f"SLQ uncertainty (probe spread and quadrature convergence) {np.round(unc, 3)}")
    check(np.all(np.abs(frac - counts / P) <= 3 * unc + 0.01) and np.all(np.abs(frac - counts / P) <= 0.08), f"SLQ fractions {frac} +- {unc} vs exact {counts / P}")
    # perturbation table: region, index, sigma, gain, rms change held-out, rms change white noise
    ch = table[table[:, 0] == 0]
    bu = table[table[:, 0] == 1]
    check(len(ch) == 2 and len(bu) == 2, f"perturbation table {table}")
    check(np.all(np.abs(bu[:, 2] - 1) <= eps), f"bulk perturbation directions have sigma {bu[:, 2]}")
    check(np.allclose(ch[:, 3], ch[:, 2], rtol=0.1), f"chaotic perturbations grow by {ch[:, 3]}, sigma {ch[:, 2]} (linear regime)")
    check(bu[:, 4].max() < ch[:, 4].min(), f"held-out output change: bulk {bu[:, 4]} vs chaotic {ch[:, 4]}")
    check((bu[:, 5] / bu[:, 4]).min() > (ch[:, 5] / ch[:, 4]).max(), f"white-noise/held-out change ratio: bulk {bu[:, 5] / bu[:, 4]} vs chaotic {ch[:, 5] / ch[:, 4]}")

    # The same run without the dense spectrum (what P > full_max gets), on 2 ranks: bulk
    # directions from the bottom of J_T - I (SpdSVDNearNull), accepted at
    # ||J_T v - v|| <= delta = epsilon / 10. Independent check: retraining from
    # theta_0 + s v (no operator involved) moves theta_T by s ||J_T v||.
    mf = open(job).read().replace("output: out", "output: out_mf").replace("full: true", "full: false").replace("  density: {probes: 6, steps: 60}\n", "").replace("top: 4", "top: 2")
    with open(job, "w") as f:
        f.write(mf)
    run(["train", job], np_=2, expect=0, timeout=900)
    with h5py.File(os.path.join(tmp, "out_mf", "run", "training_jacobian.h5"), "r") as f:
        check("training_jacobian/full" not in f, "the dense spectrum was computed with full: false")
        b = f["training_jacobian/bulk"]
        delta, gain, dist, bcos, inb = b.attrs["delta"], b["gain"][()], b["distance"][()], b["cosine"][()], b["in_bulk"][()]
        method = b.attrs["method"].decode() if isinstance(b.attrs["method"], bytes) else b.attrs["method"]
        table = f["perturbation/table"][()]
    print(f"matrix-free bulk directions ({method}): ||J v|| {np.round(gain, 4)}, ||J v - v|| {dist}, cos {bcos}")
    check("J_T - I" in method, f"bulk method {method}")
    check(len(dist) == 2 and np.all(dist <= delta * (1 + 1e-6)) and abs(delta - eps / 10) < 1e-12, f"bulk directions with ||J v - v|| {dist}, delta {delta}")
    check(np.array_equal(inb, (np.abs(gain - 1) <= eps).astype(inb.dtype)), f"stored in_bulk flags {inb} vs their definition |gain - 1| <= eps for gains {gain}")
    ch = table[table[:, 0] == 0]
    bu = table[table[:, 0] == 1]
    check(len(bu) == 2 and np.allclose(bu[:, 2], gain, rtol=1e-12), f"perturbation rows {bu} vs gains {gain}")
    check(np.allclose(bu[:, 3], bu[:, 2], rtol=2e-2), f"retrained displacement / s {bu[:, 3]} vs ||J_T v|| {bu[:, 2]}")
    check(bu[:, 4].max() < ch[:, 4].min(), f"held-out output change: matrix-free bulk {bu[:, 4]} vs chaotic {ch[:, 4]}")
print("PASSED")
