#!/usr/bin/python3
"""Independent check of the training Jacobian and the function Jacobian with PyTorch.

For each case, runs the C exporter (tests/trainjac/export.c) at 1, 2 and 4 ranks. It
writes the data, theta_0, the learning rate and minibatch of every step, our theta_T, our
dense J_T = d theta_T / d theta_0 (built column by column through the MATSHELL) and our
dense J_f = d z / d theta at theta_0. Here the same MLP is written in torch (float64),
trained by an unrolled loop of the update of train.h (PyTorch's SGD semantics, with
create_graph so that the loop is differentiable), and torch.autograd.functional.jacobian
gives J_T and J_f, which must match ours.

usage: torch_ref.py EXPORTER
"""
import os
import subprocess
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
ACT = {"tanh": torch.tanh, "gelu": F.gelu, "relu": F.relu, "identity": lambda z: z}


def load(path):
    with h5py.File(path, "r") as f:
        d = {k: f[k][()] for k in f.keys()}
        for k in f.attrs:
            v = f.attrs[k]
            d[k] = v.decode() if isinstance(v, bytes) else str(v)
    return d


def reference(d):
    w = [int(x) for x in d["widths"]]
    L = len(w) - 1
    act = ACT[d["act"]]
    X = torch.tensor(d["X"])
    labels = torch.tensor(d["labels"]) if "labels" in d else None
    Y = torch.tensor(d["Y"]) if "Y" in d else None
    beta, wd, decoupled, _, T = d["cfg"]
    mom = d["momentum"]
    lc, ld = (0.0, wd) if decoupled else (wd, 0.0)

    def forward(theta, x):
        h, off = x, 0
        for l in range(L):
            W = theta[off:off + w[l + 1] * w[l]].reshape(w[l + 1], w[l])
            off += w[l + 1] * w[l]
            b = theta[off:off + w[l + 1]]
            off += w[l + 1]
            h = h @ W.T + b
            if l < L - 1:
                h = act(h)
        assert off == theta.numel()
        return h

    def loss(theta, idx):
        z = forward(theta, X[idx])
        if d["loss"] == "cross_entropy":
            return F.cross_entropy(z, labels[idx])
        return 0.5 * ((z - Y[idx]) ** 2).sum(dim=1).mean()

    def train(theta):
        m = None
        for t in range(int(T)):
            idx = torch.tensor([i for i in d["batches"][t] if i >= 0])
            eta = float(d["eta"][t])
            g = torch.autograd.grad(loss(theta, idx), theta, create_graph=True)[0] + lc * theta
            if mom == "none":
                step = g
            else:
                m = g if m is None else beta * m + g  # torch.optim.SGD: buf = g at the first step
                step = m if mom == "heavy_ball" else g + beta * m
            theta = (1 - eta * ld) * theta - eta * step
        return theta

    theta0 = torch.tensor(d["theta0"])
    thetaT = train(theta0.clone().requires_grad_(True)).detach()
    J = torch.autograd.functional.jacobian(train, theta0)
    Jf = torch.autograd.functional.jacobian(lambda th: forward(th, X).reshape(-1), theta0)
    return thetaT.numpy(), J.numpy(), Jf.numpy()


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def main():
    exe = sys.argv[1]
    mpiexec = os.environ.get("SPD_MPIEXEC") or "mpiexec"
    failures = 0
    for case in range(3):
        ref = None
        for np_ in (1, 2, 4):
            out = f"trainjac_torch_c{case}_np{np_}.h5"
            subprocess.run([mpiexec, "--oversubscribe", "-n", str(np_), exe, "-out", out, "-case", str(case)], check=True)
            d = load(out)
            if ref is None:
                first = d
                ref = reference(d)
                thetaT, J, Jf = ref
                s = np.linalg.svd(J, compute_uv=False)
                print(f"{d['case']}: P = {J.shape[0]}, sigma(J_T) in [{s[-1]:.4f}, {s[0]:.4f}]")
            for k in ("X", "theta0", "eta", "batches"):
                if not np.array_equal(d[k], first[k]):
                    print(f"FAIL {d['case']} np={np_}: exported {k} differs from the 1-rank export")
                    failures += 1
            errs = {"thetaT": rel(d["thetaT"], thetaT), "J_T": rel(d["J"], J), "J_f": rel(d["Jf"], Jf)}
            tols = {"thetaT": 1e-13, "J_T": 1e-12, "J_f": 1e-13}
            print(f"  np={np_}: " + ", ".join(f"{k} rel. err {v:.2e}" for k, v in errs.items()))
            for k, v in errs.items():
                if not v < tols[k]:
                    print(f"FAIL {d['case']} np={np_}: {k} differs from torch by {v:.3e} (tolerance {tols[k]:.0e})")
                    failures += 1
            os.remove(out)
    if failures:
        print(f"FAILED: {failures} checks")
        sys.exit(1)
    print("PASSED")


if __name__ == "__main__":
    main()
