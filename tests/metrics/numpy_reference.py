#!/usr/bin/python3
"""Independent references for the metrics layer, computed with numpy/scipy.

Writes test matrices and samples as raw little-endian float64 files plus a manifest of
reference values into a scratch folder, then runs the C checker (metrics_numpy_check),
which recomputes everything with specdyn (singular values by LAPACK dgesvd, metrics by
SpdMetricsCompute & co.) and compares.

usage: numpy_reference.py <metrics_numpy_check executable> [scratch folder]
"""
import os
import subprocess
import sys

import numpy as np
from scipy import integrate, optimize


def effective_rank(s):
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def write_matrix(folder, name, a):
    path = os.path.join(folder, name)
    np.asarray(a, dtype="<f8").ravel(order="F").tofile(path)  # column-major, as LAPACK
    return path


def svd_case(folder, name, a):
    m, n = a.shape
    s = np.linalg.svd(a, compute_uv=False)  # LAPACK gesdd, while the C side uses gesvd
    frob = float(np.linalg.norm(a, "fro"))
    rank = int(np.linalg.matrix_rank(a))  # tol = sigma_1 max(m,n) eps, our default
    ref = dict(erank=effective_rank(s), srank=frob**2 / s[0] ** 2, nuclear=float(s.sum()),
               nrank=rank, frob=frob, sigma1=float(s[0]), sigmamin=float(s[-1]),
               cond=float(s[0] / s[-1]) if s[-1] > 0 else float("inf"))
    path = write_matrix(folder, name, a)
    return "svd %d %d %s %r %r %r %d %r %r %r %r" % (
        m, n, path, ref["erank"], ref["srank"], ref["nuclear"], ref["nrank"], ref["frob"],
        ref["sigma1"], ref["sigmamin"], ref["cond"])


# ---- Marchenko-Pastur law of ratio y (unit variance): quadrature, not the closed form ----
def mp_support(y):
    a, b = (1 - np.sqrt(y)) ** 2, (1 + np.sqrt(y)) ** 2
    return a, b, (a + b) / 2, (b - a) / 2


def mp_integrand(phi, y):
    """Density in phi, x = c - h cos(phi): f(x) dx = h^2 sin^2(phi) / (2 pi y x) dphi with
    x = a + 2 h sin^2(phi/2): no end-point singularity, no cancellation near x = a."""
    a, b, c, h = mp_support(y)
    return h * h * np.sin(phi) ** 2 / (2 * np.pi * y * (a + 2 * h * np.sin(phi / 2) ** 2))


def mp_cdf(x, y):
    a, b, c, h = mp_support(y)
    if x <= a:
        return 0.0
    if x >= b:
        return 1.0
    phi0 = np.arccos(np.clip((c - x) / h, -1, 1))
    val, _ = integrate.quad(mp_integrand, 0, phi0, args=(y,), epsabs=1e-14, epsrel=1e-13, limit=200)
    return val


def mp_median(y):
    a, b, c, h = mp_support(y)
    return optimize.brentq(lambda x: mp_cdf(x, y) - 0.5, a, b, xtol=1e-15, rtol=1e-14)


def mp_planted(folder, name, m, n, s):
    """A spectrum sitting on the MP quantiles (i + 1/2)/M; M odd so that the middle value is
    the MP median exactly: the noise estimate must return s."""
    N, M = max(m, n), min(m, n)
    assert M % 2 == 1
    y = M / N
    a, b, c, h = mp_support(y)
    phi = np.linspace(0, np.pi, 20001)
    g = np.empty_like(phi)
    g[1:] = mp_integrand(phi[1:], y)
    g[0] = 0.0 if a > 0 else h / (np.pi * y)  # limit at phi = 0 (a = 0 when y = 1)
    cdf = integrate.cumulative_trapezoid(g, phi, initial=0)
    lam = np.interp((np.arange(M) + 0.5) / M, cdf / cdf[-1], c - h * np.cos(phi))
    lam[M // 2] = mp_median(y)  # monotone elsewhere; only the middle value has to be exact
    sigma = np.sort(np.sqrt(s * s * N * lam))[::-1]
    path = write_matrix(folder, name, sigma)
    return "mpplanted %d %d %s %r" % (m, n, path, s)


# ---- power law: brute-force Clauset-Shalizi-Newman scan --------------------------------
def ks_fit(tail, xmin):
    tail = np.sort(tail)
    k = tail.size
    alpha = 1 + k / np.log(tail / xmin).sum()
    F = 1 - (tail / xmin) ** (1 - alpha)
    i = np.arange(k)
    return alpha, float(max(((i + 1) / k - F).max(), (F - i / k).max()))


def powerlaw_scan(x, min_tail):
    y = np.sort(x[x > 0])
    best = None
    for xm in np.unique(y):
        tail = y[y >= xm]
        if tail.size < min_tail or tail.max() == xm:
            continue
        alpha, d = ks_fit(tail, xm)
        if best is None or d < best[3]:
            best = (alpha, xm, tail.size, d)
    return best


def main():
    checker = sys.argv[1]
    folder = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.environ.get("SPD_BINARY_DIR", "."), "tests", "metrics_numpy")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(20240611)
    lines = []

    # random matrices of several shapes
    lines.append(svd_case(folder, "gauss_30x50.bin", rng.standard_normal((30, 50))))
    lines.append(svd_case(folder, "gauss_64x64.bin", rng.standard_normal((64, 64))))
    lines.append(svd_case(folder, "gauss_120x45.bin", 0.01 * rng.standard_normal((120, 45))))
    lines.append(svd_case(folder, "row_1x7.bin", rng.standard_normal((1, 7))))
    # exact rank 10 (product of thin factors)
    lines.append(svd_case(folder, "rank10_80x40.bin", rng.standard_normal((80, 10)) @ rng.standard_normal((10, 40))))
    # planted spectrum 10^0 .. 10^-20 through random orthogonal factors: rank 14 at the default
    # tolerance 60 eps sigma_1 = 1.3e-14 (1e-13 above it, 1e-14 below)
    u, _ = np.linalg.qr(rng.standard_normal((60, 21)))
    v, _ = np.linalg.qr(rng.standard_normal((21, 21)))
    lines.append(svd_case(folder, "planted_60x21.bin", u @ np.diag(10.0 ** -np.arange(21)) @ v.T))
    # heavy-tailed entries (Student t, 3 dof)
    lines.append(svd_case(folder, "studentt_90x70.bin", rng.standard_t(3, (90, 70))))

    for y in (1.0, 0.999, 0.7, 0.4, 0.1, 1.0 / 3000):
        lines.append("mpmedian %r %r" % (y, mp_median(y)))
    lines.append(mp_planted(folder, "mp_401x900.bin", 401, 900, 0.37))
    lines.append(mp_planted(folder, "mp_700x101.bin", 700, 101, 2.5))
    lines.append(mp_planted(folder, "mp_301x301.bin", 301, 301, 1.0))

    # power law: Pareto alpha = 2.2 above 1.5 (numpy's pareto is Lomax: +1, times x_min)
    tail = (rng.pareto(1.2, 1500) + 1) * 1.5
    bulk = rng.lognormal(-0.5, 0.6, 3000)
    bulk = bulk[bulk < 1.5][:500]
    x = rng.permutation(np.concatenate([tail, bulk]))
    path = write_matrix(folder, "powerlaw.bin", x)
    for min_tail in (10, 1490, 1800):
        a, xm, nt, d = powerlaw_scan(x, min_tail)
        lines.append("powerlaw %d %s %d %r %r %d %r" % (x.size, path, min_tail, a, xm, nt, d))
    for xm in (1.5, 1.7, float(np.sort(x)[700])):
        t = x[x >= xm]
        a, d = ks_fit(t, xm)
        lines.append("powerlawat %d %s %r %r %d %r" % (x.size, path, xm, a, t.size, d))

    manifest = os.path.join(folder, "manifest.txt")
    with open(manifest, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d reference cases to %s" % (len(lines), manifest), flush=True)
    return subprocess.call([checker, manifest])


if __name__ == "__main__":
    sys.exit(main())
