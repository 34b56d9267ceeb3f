#!/usr/bin/python3
"""Training trajectories of specdyn's trainer against PyTorch (torch.optim.SGD).

usage: ref.py TRAJ_EXE OUTDIR [NRANKS]

Runs TRAJ_EXE (tests/train/traj.c) on NRANKS ranks, then for every case:
- parses theta_0 from the safetensors file with NumPy only, and checks it against an
  independent re-implementation of the initialization rule (SplitMix64 stream
  (seed, "INITPAR!", j), docs/training.md);
- re-implements the minibatch rule (Fisher-Yates with the stream (seed, "SHUFFLE!", e)) and
  checks every step's indices, the partition of each epoch, and that epochs differ;
- replays the run in float64 PyTorch: a hand-written MLP with the parameterization's
  multipliers, torch.optim.SGD (momentum, nesterov, coupled weight_decay), decoupled
  decay by hand (p *= 1 - eta lambda before the step), LambdaLR for warm-up and the
  step/cosine schedules; per-step minibatch losses and theta_T must agree to 1e-10;
- checks label corruption against a re-implementation of its rule.
"""
import json
import math
import os
import struct
import subprocess
import sys

import h5py
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
EXE, OUT = sys.argv[1], os.path.abspath(sys.argv[2])
NP = int(sys.argv[3]) if len(sys.argv) > 3 else 2
os.makedirs(OUT, exist_ok=True)
mpiexec = os.environ.get("SPD_MPIEXEC", "mpiexec")
subprocess.run([mpiexec, "--oversubscribe", "-n", str(NP), EXE, OUT], check=True)

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
TAG_SHUFFLE = int.from_bytes(b"SHUFFLE!", "big")
TAG_INIT = int.from_bytes(b"INITPAR!", "big")
TAG_CORRUPT = int.from_bytes(b"CORRUPT!", "big")


class Stream:
    def __init__(self, seed, tag, i):
        self.s = self.mix((self.mix((seed & M64) ^ tag) + i) & M64)
        self.spare = None

    @staticmethod
    def mix(z):
        s = [z]
        return Stream.next_of(s)

    @staticmethod
    def next_of(s):
        s[0] = (s[0] + GOLDEN) & M64
        z = s[0]
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def bits(self):
        s = [self.s]
        v = Stream.next_of(s)
        self.s = s[0]
        return v

    def uniform(self):
        return (self.bits() >> 11) * 2.0**-53

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        u1 = ((self.bits() >> 11) + 1) * 2.0**-53
        u2 = (self.bits() >> 11) * 2.0**-53
        r = math.sqrt(-2.0 * math.log(u1))
        self.spare = r * math.sin(2.0 * math.pi * u2)
        return r * math.cos(2.0 * math.pi * u2)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0, "header not padded to 8 bytes"
    hdr = json.loads(raw[8:8 + n].decode())
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        dt = {"F64": "<f8", "F32": "<f4"}[v["dtype"]]
        out[k] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=dt).reshape(v["shape"]).astype(np.float64)
    return out


def multipliers(param, w):
    L = len(w) - 1
    if param == "standard":
        return [1.0] * L, [1.0] * L
    if param == "ntk":
        return [1 / math.sqrt(w[l]) for l in range(L)], [1.0] * L
    a = [1.0 if l == 0 else (1.0 / w[l] if l == L - 1 else 1 / math.sqrt(w[l])) for l in range(L)]
    return a, [1.0] * L


def init_ref(cfg):
    """theta_0 by the documented rule, in theta's layout (W_l row-major, b_l)."""
    w, seed, param = cfg["widths"], cfg["seed"], cfg["param"]
    theta, j = [], 0
    for l in range(len(w) - 1):
        fan = w[l]
        for kind, cnt in (("W", w[l + 1] * w[l]), ("b", w[l + 1])):
            for _ in range(cnt):
                st = Stream(seed, TAG_INIT, j)
                if param == "standard":
                    v = (1 / math.sqrt(fan)) * (2 * st.uniform() - 1)
                elif param == "ntk":
                    v = st.normal()
                else:
                    v = 0.0 if kind == "b" else (st.normal() / math.sqrt(fan) if l == 0 else st.normal())
                theta.append(v)
                j += 1
    return np.array(theta)


def batches_ref(seed, n, batch, steps):
    if batch == 0 or batch >= n:
        return [np.arange(n)] * steps
    nb = (n + batch - 1) // batch
    out, perm, ep = [], None, -1
    for t in range(steps):
        e, j = divmod(t, nb)
        if e != ep:
            st = Stream(seed, TAG_SHUFFLE, e)
            perm = list(range(n))
            for i in range(n - 1, 0, -1):
                k = int(st.uniform() * (i + 1))
                perm[i], perm[k] = perm[k], perm[i]
            ep = e
        out.append(np.sort(perm[j * batch:min((j + 1) * batch, n)]))
    return out


def lr_factor(cfg, t):
    warm = (t + 1) / cfg["warmup"] if t < cfg["warmup"] else 1.0
    tp, Tp = max(t - cfg["warmup"], 0), cfg["steps"] - cfg["warmup"]
    if cfg["schedule"] == "step":
        s = cfg["gamma"] ** (tp // cfg["step_every"])
    elif cfg["schedule"] == "cosine" and Tp > 0:
        r = cfg["lr_min"] / cfg["lr"]
        s = r + (1 - r) * (1 + math.cos(math.pi * min(tp, Tp) / Tp)) / 2
    else:
        s = 1.0
    return warm * s


fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL:", msg)


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


case = 0
while os.path.exists(os.path.join(OUT, "case%d.h5" % case)):
    with h5py.File(os.path.join(OUT, "case%d.h5" % case), "r") as f:
        cfg = json.loads(f.attrs["config"])
        X = torch.tensor(f["X"][...])
        labels = torch.tensor(f["labels"][...]) if "labels" in f else None
        Yreg = torch.tensor(f["Y"][...]) if "Y" in f else None
        bidx = f["batch_idx"][...]
        losses, lrs, thetaT = f["losses"][...], f["lrs"][...], f["theta_T"][...]
    name = "case %d (%s)" % (case, ", ".join("%s=%s" % kv for kv in cfg.items() if kv[0] != "widths"))
    w, L, n = cfg["widths"], len(cfg["widths"]) - 1, X.shape[0]
    st = read_safetensors(os.path.join(OUT, "case%d_theta0.safetensors" % case))
    check(sorted(st) == sorted(["layers.%d.%s" % (l, k) for l in range(L) for k in ("weight", "bias")]), name + ": tensor names " + str(sorted(st)))
    theta0 = np.concatenate([np.concatenate([st["layers.%d.weight" % l].ravel(), st["layers.%d.bias" % l]]) for l in range(L)])
    r = rel(theta0, init_ref(cfg))
    check(r < 1e-14, "%s: theta_0 differs from the initialization rule by %.3g" % (name, r))

    # minibatch rule
    ref_b = batches_ref(cfg["seed"], n, cfg["batch"], cfg["steps"])
    for t in range(cfg["steps"]):
        got = bidx[t][bidx[t] >= 0]
        if not np.array_equal(got, ref_b[t]):
            check(False, "%s: step %d minibatch differs from the Fisher-Yates reference" % (name, t))
            break
    if 0 < cfg["batch"] < n:
        nb = (n + cfg["batch"] - 1) // cfg["batch"]
        epochs = [np.concatenate([bidx[t][bidx[t] >= 0] for t in range(e * nb, (e + 1) * nb)]) for e in range(cfg["steps"] // nb)]
        for e, ep in enumerate(epochs):
            check(np.array_equal(np.sort(ep), np.arange(n)), "%s: epoch %d batches do not partition [0, n)" % (name, e))
        if len(epochs) >= 2:
            check(not np.array_equal(epochs[0], epochs[1]), "%s: epochs 0 and 1 have the same batches" % name)

    # PyTorch replay
    a, c = multipliers(cfg["param"], w)
    params = []
    for l in range(L):
        params.append(torch.tensor(st["layers.%d.weight" % l], requires_grad=True))
        params.append(torch.tensor(st["layers.%d.bias" % l], requires_grad=True))
    act = torch.tanh if cfg["act"] == "tanh" else torch.relu
    mom = cfg["momentum"]
    opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=0.0 if mom == "none" else cfg["beta"], nesterov=(mom == "nesterov"),
                          weight_decay=0.0 if cfg["decoupled"] else cfg["wd"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: lr_factor(cfg, t))
    tl = []
    for t in range(cfg["steps"]):
        idx = torch.tensor(bidx[t][bidx[t] >= 0])
        h = X[idx]
        for l in range(L):
            z = a[l] * h @ params[2 * l].T + c[l] * params[2 * l + 1]
            h = act(z) if l < L - 1 else z
        if cfg["loss"] == "cross_entropy":
            loss = torch.nn.functional.cross_entropy(h, labels[idx])
        else:
            y = Yreg[idx] if Yreg is not None else torch.nn.functional.one_hot(labels[idx], w[-1]).double()
            loss = 0.5 * ((h - y) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        tl.append(loss.item())
        eta = opt.param_groups[0]["lr"]
        check(abs(eta - lrs[t]) <= 1e-14 * abs(lrs[t]), "%s: step %d learning rate %.17g, torch %.17g" % (name, t, lrs[t], eta))
        if cfg["decoupled"] and cfg["wd"] > 0:
            with torch.no_grad():
                for p in params:
                    p.mul_(1 - eta * cfg["wd"])
        opt.step()
        sched.step()
    thT = np.concatenate([np.concatenate([params[2 * l].detach().numpy().ravel(), params[2 * l + 1].detach().numpy()]) for l in range(L)])
    r1, r2 = rel(losses, tl), rel(thetaT, thT)
    print("%s: losses %.3g, theta_T %.3g (loss %.4f -> %.4f)" % (name, r1, r2, tl[0], tl[-1]))
    check(r1 < 1e-10, "%s: per-step losses differ from PyTorch by %.3g" % (name, r1))
    check(r2 < 1e-10, "%s: theta_T differs from PyTorch by %.3g" % (name, r2))
    check(tl[-1] < tl[0], "%s: the loss did not decrease (%.4f -> %.4f): the case tests nothing" % (name, tl[0], tl[-1]))
    case += 1
check(case >= 5, "only %d cases found" % case)

# label corruption
with h5py.File(os.path.join(OUT, "corrupt.h5"), "r") as f:
    clean = f["clean"][...]
    for key, frac, rnd, seed in (("wrong_0.3_77", 0.3, False, 77), ("random_0.45_78", 0.45, True, 78)):
        got, k, exp = f[key][...], 7, clean.copy()
        for i in range(len(clean)):
            s = Stream(seed, TAG_CORRUPT, i)
            u, v = s.uniform(), s.uniform()
            if u < frac:
                if rnd:
                    exp[i] = int(v * k)
                else:
                    z = int(v * (k - 1))
                    exp[i] = z + 1 if z >= clean[i] else z
        check(np.array_equal(got, exp), "corruption %s differs from the reference rule at %d samples" % (key, int(np.sum(got != exp))))
        changed = np.mean(got != clean)
        p = frac if not rnd else frac * (k - 1) / k
        sd = math.sqrt(p * (1 - p) / len(clean))
        print("corruption %s: changed fraction %.4f, expected %.4f +- %.4f" % (key, changed, p, sd))
        check(abs(changed - p) < 5 * sd, "corruption %s: changed fraction %.4f, expected %.4f (5 sigma = %.4f)" % (key, changed, p, 5 * sd))

if fails:
    print("%d failure(s)" % len(fails))
    sys.exit(1)
print("all trajectories agree with PyTorch")
