#!/usr/bin/python3
"""Write the per-sample gradients and the parameter-output Jacobian of a small PyTorch MLP
to HDF5, chunk by chunk, and a specdyn job that analyses them (docs/stored-jacobians.md).

    /usr/bin/python3 examples/write_jacobian_torch.py --out jac.h5 --job jac.yaml
    mpirun -n 2 specdyn run jac.yaml

The network is an MLP  d -> hidden -> hidden -> C  (tanh) with random weights, on N
Gaussian inputs x_i with labels y_i = argmax of a random linear teacher (so the problem
is learnable and the gradients are not just noise). With theta the P parameters
(weights and biases, flattened in named_parameters() order):

  per_sample_gradients  [N, P]     row i = g_i = d loss(f(x_i), y_i) / d theta
                                   (cross-entropy of sample i alone, not divided by N)
  ntk_jacobian          [N*C, P]   row i*C + c = d f_c(x_i) / d theta  (the logits)

G = (1/N) sum_i g_i g_i^T = (1/N) A^T A for A = per_sample_gradients, so the eigenvalues
of G are sigma_i(A)^2 / N; the empirical NTK Gram matrix Theta = J J^T (N*C x N*C) has
eigenvalues sigma_i(J)^2. Only torch 1.13 APIs are used (torch.autograd.functional.jacobian
with torch.nn.utils.stateless.functional_call; no torch.func, no functorch).

Rows are computed --chunk samples at a time and written into preallocated chunked datasets
(HDF5 chunks of whole rows), so the file may be far larger than memory. --dtype float32
stores what a training run in float32 would give (specdyn then applies a float32 copy with
double accumulation); float64 computes and stores in double.
"""
import argparse
import os
import sys

import h5py
import numpy as np
import torch


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="HDF5 file to write (overwritten)")
    p.add_argument("--job", help="also write a specdyn job YAML analysing the file")
    p.add_argument("--what", choices=["both", "gradients", "ntk"], default="both", help="which matrices to write (default both)")
    p.add_argument("--n", type=int, default=512, help="samples N (default 512)")
    p.add_argument("--d", type=int, default=16, help="input dimension (default 16)")
    p.add_argument("--hidden", type=int, default=32, help="hidden width (default 32)")
    p.add_argument("--classes", type=int, default=4, help="outputs C (default 4)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="compute and store in this precision (default float32)")
    p.add_argument("--chunk", type=int, default=64, help="samples per computed block and per HDF5 chunk (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=16, help="top-k of the job (default 16)")
    a = p.parse_args()
    for k in ("n", "d", "hidden", "classes", "chunk", "top"):
        if getattr(a, k) < 1:
            sys.exit(f"write_jacobian_torch.py: --{k} must be >= 1, got {getattr(a, k)}")
    return a


def make_model(a, dtype):
    torch.manual_seed(a.seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(a.d, a.hidden), torch.nn.Tanh(),
        torch.nn.Linear(a.hidden, a.hidden), torch.nn.Tanh(),
        torch.nn.Linear(a.hidden, a.classes))
    return net.to(dtype)


def make_data(a, dtype):
    g = torch.Generator().manual_seed(a.seed + 1)
    x = torch.randn(a.n, a.d, generator=g, dtype=torch.float64)
    teacher = torch.randn(a.d, a.classes, generator=g, dtype=torch.float64)
    y = (x @ teacher).argmax(dim=1)
    return x.to(dtype), y


def blocks(net, x, y, lo, hi, names, params):
    """(per-sample gradients [B, P], output Jacobian [B*C, P]) of samples lo:hi."""
    from torch.nn.utils.stateless import functional_call
    xb, yb = x[lo:hi], y[lo:hi]

    def outputs(*p):  # logits [B, C] as a function of the parameters
        return functional_call(net, dict(zip(names, p)), (xb,))

    def losses(*p):  # per-sample cross-entropy [B]: loss_i depends on theta and sample i only
        return torch.nn.functional.cross_entropy(outputs(*p), yb, reduction="none")

    B = hi - lo
    # jacobian of a [B] vector w.r.t. each parameter: tuple of [B, *param.shape]
    gj = torch.autograd.functional.jacobian(losses, params)
    grads = torch.cat([t.reshape(B, -1) for t in gj], dim=1)
    jj = torch.autograd.functional.jacobian(outputs, params)  # tuple of [B, C, *param.shape]
    jac = torch.cat([t.reshape(B * t.shape[1], -1) for t in jj], dim=1)
    return grads, jac


def write_job(path, h5path, top):
    rel = os.path.relpath(os.path.abspath(h5path), os.path.dirname(os.path.abspath(path)))
    text = f"""# specdyn job: singular values of the stored per-sample gradient matrix and NTK Jacobian
# written by examples/write_jacobian_torch.py (docs/stored-jacobians.md). Run with
#   mpirun -n 2 specdyn run {os.path.basename(path)}
checkpoints:
  - path: {rel}
    label: jacobians
weights:
  full: false        # top-k by SLEPc; 'true' (or auto for min(N,P) <= full_max) gives every sigma by ScaLAPACK
  top: {top}
  bottom: 0
resources:
  memory_per_rank: 4GiB
"""
    with open(path, "w") as f:
        f.write(text)


def main():
    a = parse()
    dtype = torch.float32 if a.dtype == "float32" else torch.float64
    torch.set_num_threads(1)
    net = make_model(a, dtype)
    x, y = make_data(a, dtype)
    names = [n for n, _ in net.named_parameters()]
    params = tuple(p.detach().requires_grad_(True) for _, p in net.named_parameters())
    P = sum(p.numel() for p in params)
    N, C = a.n, a.classes
    chunk = min(a.chunk, N)
    with h5py.File(a.out, "w") as f:
        f.attrs["description"] = "per-sample gradients and parameter-output Jacobian of an MLP (examples/write_jacobian_torch.py)"
        f.attrs["parameters"] = P
        f.attrs["samples"] = N
        f.attrs["outputs"] = C
        f.attrs["parameter_names"] = ",".join(f"{n}:{p.numel()}" for n, p in zip(names, params))
        dg = dj = None
        if a.what in ("both", "gradients"):
            # preallocated, chunked in whole rows: each block of samples is one HDF5 chunk
            dg = f.create_dataset("per_sample_gradients", shape=(N, P), dtype=a.dtype, chunks=(chunk, P))
            dg.attrs["loss"] = "cross_entropy, one sample (reduction none)"
        if a.what in ("both", "ntk"):
            dj = f.create_dataset("ntk_jacobian", shape=(N * C, P), dtype=a.dtype, chunks=(chunk * C, P))
            dj.attrs["rows"] = "row i*C + c = d logit_c(x_i) / d theta"
        for lo in range(0, N, chunk):
            hi = min(N, lo + chunk)
            grads, jac = blocks(net, x, y, lo, hi, names, params)
            if dg is not None:
                dg[lo:hi, :] = grads.detach().numpy()
            if dj is not None:
                dj[lo * C:hi * C, :] = jac.detach().numpy()
    if a.job:
        write_job(a.job, a.out, a.top)
    print(f"wrote {a.out}: N={N} samples, P={P} parameters, C={C} outputs, {a.dtype}"
          + (f"; job {a.job}" if a.job else ""))


if __name__ == "__main__":
    main()
