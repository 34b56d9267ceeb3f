#!/usr/bin/python3
"""Row 11 peer: training throughput of the same MLP in PyTorch on one thread
(bench/README.md, row 11).

Usage: train_peer.py --arch 784,256,256,10 --n 60000 --batch 128 --steps 200 --repeat 3
                     [--lr 0.01] [--beta 0.9] [--dtype float64,float32] [--data fmnist|mixture]

nn.Sequential of Linear + ReLU (biases), mean softmax cross-entropy, torch.optim.SGD with
heavy-ball momentum (PyTorch's, the rule SpdTrainerStep follows), minibatches of a fresh
permutation per epoch (torch.randperm), the batch gathered by indexing as a DataLoader
over an in-memory tensor would. torch.set_num_threads(1), so both sides use one core.
The data are the first n Fashion-MNIST training images scaled by 1/255 (Debian's IDX
files, the samples specdyn's SpdDataLoadIDX reads), or a Gaussian mixture of the same
shape (--data mixture; timing only). 5 untimed steps, then the best of --repeat rounds of
--steps steps, per dtype. Prints "RESULT mode=throughput side=torch dtype=... time=...
steps_per_s=..." per dtype.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np

FMNIST = os.environ.get("SPD_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")

ap = argparse.ArgumentParser()
ap.add_argument("--arch", default="784,256,256,10")
ap.add_argument("--n", type=int, default=60000)
ap.add_argument("--batch", type=int, default=128)
ap.add_argument("--steps", type=int, default=200)
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--lr", type=float, default=0.01)
ap.add_argument("--beta", type=float, default=0.9)
ap.add_argument("--dtype", default="float64,float32")
ap.add_argument("--data", default="fmnist")
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
arch = [int(s) for s in a.arch.split(",")]


def load_fmnist(n):
    ip, lp = f"{FMNIST}/train-images-idx3-ubyte.gz", f"{FMNIST}/train-labels-idx1-ubyte.gz"
    if not os.path.exists(ip):
        sys.exit(f"train_peer.py: {ip} not found; install Debian's dataset-fashion-mnist (scripts/install-deps.sh) or set SPD_FASHION_MNIST")
    with gzip.open(ip) as f:
        b = f.read()
    cnt, r, c = (int.from_bytes(b[4 * i:4 * i + 4], "big") for i in (1, 2, 3))
    n = min(n, cnt)
    X = np.frombuffer(b, dtype=np.uint8, count=n * r * c, offset=16).reshape(n, r * c) / 255.0
    with gzip.open(lp) as f:
        b = f.read()
    y = np.frombuffer(b, dtype=np.uint8, count=n, offset=8).astype(np.int64)
    return X, y


if a.data == "fmnist":
    X, y = load_fmnist(a.n)
else:
    rng = np.random.default_rng(a.seed)
    y = rng.integers(0, arch[-1], a.n)
    X = rng.standard_normal((a.n, arch[0]))
    X[np.arange(a.n), y] += 3.0
assert X.shape[1] == arch[0], f"--arch starts with {arch[0]} but the data have {X.shape[1]} features"

import torch  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(a.seed)
for dt in a.dtype.split(","):
    dtype = getattr(torch, dt)
    mods = []
    for i in range(len(arch) - 1):
        mods.append(torch.nn.Linear(arch[i], arch[i + 1]).to(dtype))
        if i < len(arch) - 2:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.beta)
    Xt, yt = torch.tensor(X, dtype=dtype), torch.tensor(y)
    n, state = len(yt), {"perm": None, "pos": 0}

    def step():
        if state["perm"] is None or state["pos"] >= n:
            state["perm"], state["pos"] = torch.randperm(n), 0
        idx = state["perm"][state["pos"]:state["pos"] + a.batch]
        state["pos"] += a.batch
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
        loss.backward()
        opt.step()
        return loss

    for _ in range(5):
        step()
    best, c0, w0 = float("inf"), time.process_time(), time.perf_counter()
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            loss = step()
        best = min(best, time.perf_counter() - t0)
    share = (time.process_time() - c0) / (time.perf_counter() - w0)
    print(f"torch {torch.__version__} {dt}: {a.steps} steps in {best:.3f} s: {a.steps / best:.1f} steps/s; last loss {loss.item():.4f}")
    print(f"RESULT mode=throughput side=torch dtype={dt} arch={a.arch} batch={a.batch} steps={a.steps} time={best:.5f} steps_per_s={a.steps / best:.3f} "
          f"loss={loss.item():.6f} cpu_share={share:.3f} torch={torch.__version__}", flush=True)
