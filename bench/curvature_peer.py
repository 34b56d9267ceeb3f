#!/usr/bin/python3
"""Row 6 of bench/run.sh: the PyTorch / SciPy side of the loss-curvature benchmark.

  curvature_peer.py prepare OUT.h5 --arch 784,64,32,10 --n N --steps S [--seed 0]
      a torch nn.Sequential (Linear + ReLU, biases, float64, PyTorch's default init
      seeded), trained by S minibatch SGD steps (batch 128, lr 0.05) on the first N
      Fashion-MNIST training samples so that the Hessian is not that of the
      initialization; its state dict ("0.weight", "0.bias", "2.weight", ...) written by
      h5py, the file specdyn reads (bench_curvature / `specdyn run`).
  curvature_peer.py time CKPT --n N --repeat R
      one gradient (forward + backward), and one Hessian-vector product by
      torch.autograd.functional.hvp, torch.autograd.functional.vhp and the double-backward
      trick (torch.autograd.grad with create_graph): "cold" (forward, gradient with
      create_graph and the second backward, every product) and "warm" (the gradient graph
      built once at the point and kept, retain_graph=True: one backward through it per
      product, which is what PyHessian does). Best of R (each timing a median of a few calls).
  curvature_peer.py eig CKPT --n N --k 10 --tol 1e-8 [--lam L1 --lamk LK] [--max-power P]
      the top-k eigenpairs of the loss Hessian with torch's warm Hessian-vector product as
      the operator, counting products: SciPy's eigsh (ARPACK, which='LA', default ncv
      2k+1) through a LinearOperator, and a deflated power iteration (PyHessian's method:
      power iteration on (I - QQ^T) H, Q the pairs found so far, one pair after the other,
      each pair until ||(I - QQ^T) H x - lambda x|| <= tol |lambda_1|). eigsh runs as a
      user writes it (tol: ||r_i|| <= tol |lambda_i|, stricter than tol |lambda_1| for
      i > 1) and, when the specdyn side's lambda_1 and lambda_k are given (--lam, --lamk),
      again with tol' = tol |lambda_1| / |lambda_k|, the loosest tolerance that still meets
      ||r_i|| <= tol |lambda_1| (it needs the answer in advance). The power iteration stops
      at P products in total (the pair is then reported as not converged and the count is
      a lower bound). True residuals ||H x - lambda x|| of every returned pair are
      computed afterwards with torch's product (not counted).
  curvature_peer.py check TASK.h5 CKPT --n N [--pairs 0,9]
      the eigenpairs a `specdyn run` task stored (curvature.vectors: true) checked with
      torch: its loss, and ||H x - lambda x|| / |lambda_1| with torch's product.

The data are the first N samples of Fashion-MNIST's training set read from Debian's IDX
files (/usr/share/datasets/fashion-mnist), scaled to [0, 1] by 1/255 as specdyn's
SpdDataLoadIDX does. Loss: mean softmax cross-entropy. Run with torch.set_num_threads(1)
(done here) and OPENBLAS_NUM_THREADS=1. A line starting with "RESULT" carries the numbers.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np

FMNIST = os.environ.get("SPD_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def load_fmnist(n, split="train"):
    pre = "train" if split == "train" else "t10k"
    ip, lp = f"{FMNIST}/{pre}-images-idx3-ubyte.gz", f"{FMNIST}/{pre}-labels-idx1-ubyte.gz"
    if not os.path.exists(ip):
        sys.exit(f"curvature_peer.py: {ip} not found; install Debian's dataset-fashion-mnist (scripts/install-deps.sh) or set SPD_FASHION_MNIST")
    with gzip.open(ip) as f:
        b = f.read()
    assert int.from_bytes(b[0:4], "big") == 0x0803, f"{ip}: not an IDX image file"
    cnt, r, c = (int.from_bytes(b[4 * i:4 * i + 4], "big") for i in (1, 2, 3))
    n = min(n, cnt)
    X = np.frombuffer(b, dtype=np.uint8, count=n * r * c, offset=16).reshape(n, r * c) / 255.0
    with gzip.open(lp) as f:
        b = f.read()
    y = np.frombuffer(b, dtype=np.uint8, count=n, offset=8).astype(np.int64)
    return X, y


def torch_setup():
    import torch
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    return torch


def make_net(torch, arch):
    mods = []
    for i in range(len(arch) - 1):
        mods.append(torch.nn.Linear(arch[i], arch[i + 1]))
        if i < len(arch) - 2:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def load_net(torch, path):
    import h5py
    with h5py.File(path, "r") as f:
        names = sorted((k for k in f.keys() if k.endswith(".weight")), key=lambda s: int(s.split(".")[0]))
        arch = [f[names[0]].shape[1]] + [f[k].shape[0] for k in names]
        net = make_net(torch, arch)
        net.load_state_dict({k: torch.from_numpy(np.array(f[k], dtype=np.float64)) for k in f.keys()})
    return net, arch


def prepare(a):
    torch = torch_setup()
    import h5py
    arch = [int(w) for w in a.arch.split(",")]
    X, y = load_fmnist(a.n)
    torch.manual_seed(a.seed)
    net = make_net(torch, arch)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr)
    g = torch.Generator().manual_seed(a.seed)
    for s in range(a.steps):
        idx = torch.randint(0, len(y), (128,), generator=g)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    with torch.no_grad():
        full = torch.nn.functional.cross_entropy(net(Xt), yt).item()
    tmp = a.out + ".tmp"
    with h5py.File(tmp, "w") as f:
        for k, v in net.state_dict().items():
            f[k] = v.detach().numpy()
    os.replace(tmp, a.out)
    P = sum(p.numel() for p in net.parameters())
    print(f"prepared {a.out}: {'-'.join(map(str, arch))} relu, {P} parameters, {a.steps} SGD steps (batch 128, lr {a.lr}) on {len(y)} samples, loss {full:.6f}")


class Problem:
    """The loss L(theta) = mean CE(net(X), y) as a function of the flat parameter vector."""

    def __init__(self, torch, ckpt, n):
        self.torch = torch
        self.net, self.arch = load_net(torch, ckpt)
        X, y = load_fmnist(n)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)
        self.params = list(self.net.parameters())
        self.shapes = [p.shape for p in self.params]
        self.P = sum(p.numel() for p in self.params)
        self.names = [k for k, _ in self.net.named_parameters()]
        self.graph = None

    def loss(self):
        return self.torch.nn.functional.cross_entropy(self.net(self.X), self.y)

    def split(self, v):
        out, o = [], 0
        for s in self.shapes:
            k = int(np.prod(s))
            out.append(v[o:o + k].view(s))
            o += k
        return out

    def flat(self, ts):
        return self.torch.cat([t.reshape(-1) for t in ts])

    def gradient(self):
        return self.flat(self.torch.autograd.grad(self.loss(), self.params))

    def functional(self):
        from torch.nn.utils import stateless
        names, net, X, y, F = self.names, self.net, self.X, self.y, self.torch.nn.functional

        def f(*ps):
            return F.cross_entropy(stateless.functional_call(net, dict(zip(names, ps)), (X,)), y)
        return f

    def hvp_cold(self, v):
        g = self.torch.autograd.grad(self.loss(), self.params, create_graph=True)
        return self.flat(self.torch.autograd.grad(g, self.params, grad_outputs=self.split(v)))

    def set_point(self):
        """The gradient graph at the point, kept for every product (PyHessian's way)."""
        self.graph = self.torch.autograd.grad(self.loss(), self.params, create_graph=True)

    def hvp_warm(self, v):
        return self.flat(self.torch.autograd.grad(self.graph, self.params, grad_outputs=self.split(v), retain_graph=True))


def timeit(fn, calls):
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def time_cmd(a):
    torch = torch_setup()
    pb = Problem(torch, a.ckpt, a.n)
    v = torch.from_numpy(np.random.default_rng(7).standard_normal(pb.P))
    vs = tuple(pb.split(v))
    f = pb.functional()
    ps = tuple(p.detach() for p in pb.params)
    kinds = {
        "grad": lambda: pb.gradient(),
        "hvp_functional": lambda: torch.autograd.functional.hvp(f, ps, vs),
        "vhp_functional": lambda: torch.autograd.functional.vhp(f, ps, vs),
        "hvp_cold": lambda: pb.hvp_cold(v),
        "hvp_warm": lambda: pb.hvp_warm(v),
    }
    pb.set_point()
    # check the variants agree (they are the same product)
    ref = pb.hvp_warm(v)
    for k in ("hvp_functional", "vhp_functional", "hvp_cold"):
        r = kinds[k]()
        r = pb.flat(r[1]) if isinstance(r, tuple) else r
        err = float(torch.linalg.norm(r - ref) / torch.linalg.norm(ref))
        if err > 1e-10:
            sys.exit(f"curvature_peer.py: torch's {k} differs from the double-backward product by {err:.1e}")
    best = {k: float("inf") for k in kinds}
    w0, c0 = time.perf_counter(), time.process_time()
    for r in range(a.repeat):
        for k, fn in kinds.items():
            best[k] = min(best[k], timeit(fn, a.calls))
    setpoint = timeit(pb.set_point, a.calls)
    share = (time.process_time() - c0) / (time.perf_counter() - w0)
    for k in kinds:
        print(f"torch {k}: {best[k] * 1e3:.2f} ms")
    print(f"torch gradient graph with create_graph (warm set-up): {setpoint * 1e3:.2f} ms")
    hv = {k: best[k] for k in kinds if k != "grad"}
    bk = min(hv, key=hv.get)
    if a.v_out:
        v.numpy().astype("<f8").tofile(a.v_out)
    if a.hv_out:
        ref.detach().numpy().astype("<f8").tofile(a.hv_out)
    print(f"CPU time / wall time of the timed calls: {share:.2f}")
    print(f"RESULT side=torch n={len(pb.y)} P={pb.P} arch={'-'.join(map(str, pb.arch))} threads={torch.get_num_threads()} torch={torch.__version__} "
          + " ".join(f"{k}={best[k]:.5f}" for k in kinds) + f" setpoint_graph={setpoint:.5f} best_hvp={bk} best_hvp_time={hv[bk]:.5f} cpu_share={share:.3f}")


def eig_cmd(a):
    torch = torch_setup()
    from scipy.sparse.linalg import LinearOperator, eigsh
    pb = Problem(torch, a.ckpt, a.n)
    pb.set_point()
    count = [0]

    def H(x):
        count[0] += 1
        return pb.hvp_warm(torch.from_numpy(np.ascontiguousarray(x).reshape(-1))).detach().numpy()

    def residuals(lam, V):
        out = []
        for i in range(len(lam)):
            x = V[:, i] / np.linalg.norm(V[:, i])
            out.append(float(np.linalg.norm(pb.hvp_warm(torch.from_numpy(x)).detach().numpy() - lam[i] * x)))
        return np.array(out)

    k, tol = a.k, a.tol
    w0, c0 = time.perf_counter(), time.process_time()
    # ---- eigsh (ARPACK): as a user writes it (tol), and with the loosest tol meeting the criterion ----
    op = LinearOperator((pb.P, pb.P), matvec=H, dtype=np.float64)
    runs = [("arpack", tol)]
    if a.lam and a.lamk:
        runs.append(("arpack_target", tol * abs(a.lam) / abs(a.lamk)))
    res_kv, lam_ref = [], None
    for name, t in runs:
        count[0] = 0
        t0 = time.perf_counter()
        lam, V = eigsh(op, k=k, which="LA", tol=t, v0=np.random.default_rng(11).standard_normal(pb.P))
        dt = time.perf_counter() - t0
        nprod = count[0]
        order = np.argsort(-lam)
        lam, V = lam[order], V[:, order]
        res = residuals(lam, V)
        if lam_ref is None:
            lam_ref = lam
            if a.out:
                lam.astype("<f8").tofile(a.out)
        print(f"eigsh (ARPACK, which=LA, ncv {min(pb.P, max(2 * k + 1, 20))}, tol {t:.2e}): {nprod} products, {dt:.2f} s; lambda {lam[0]:.10e} .. {lam[-1]:.10e}; "
              f"max ||Hx - lx|| / |l_1| = {res.max() / abs(lam[0]):.1e}", flush=True)
        res_kv.append(f"{name}_tol={t:.3e} {name}_nprod={nprod} {name}_time={dt:.3f} {name}_maxres={res.max() / abs(lam[0]):.3e}")
    lam1 = abs(lam_ref[0])
    # ---- deflated power iteration (PyHessian's method) ----
    rng = np.random.default_rng(12)
    Q, plam, pconv, npow, per = [], [], [], 0, []
    t0 = time.perf_counter()
    for i in range(k):
        x = rng.standard_normal(pb.P)
        for q in Q:
            x -= q.dot(x) * q
        x /= np.linalg.norm(x)
        start, conv, l = npow, False, 0.0
        while npow < a.max_power:
            y = H(x)
            npow += 1
            for q in Q:  # deflation: (I - QQ^T) H
                y -= q.dot(y) * q
            l = float(x.dot(y))
            r = float(np.linalg.norm(y - l * x))
            if r <= tol * (abs(plam[0]) if plam else abs(l)):
                conv = True
                break
            x = y / np.linalg.norm(y)
        Q.append(x.copy())
        plam.append(l)
        pconv.append(conv)
        per.append(npow - start)
        print(f"  power iteration pair {i + 1}: lambda {l:.10e}, {npow - start} products, {'converged' if conv else 'NOT converged (cap reached)'}", flush=True)
        if not conv:
            break
    t_power = time.perf_counter() - t0
    pres = residuals(np.array(plam), np.array(Q).T)
    nconv = int(sum(pconv))
    share = (time.process_time() - c0) / (time.perf_counter() - w0)
    print(f"deflated power iteration: {npow} products for {nconv} converged pair(s) of {k}, {t_power:.2f} s ({1e3 * t_power / max(npow, 1):.1f} ms per product); "
          f"max ||Hx - lx|| / |l_1| = {pres.max() / lam1:.1e}")
    agree = float(np.max(np.abs(np.array(plam[:nconv]) - lam_ref[:nconv]) / lam1)) if nconv else float("nan")
    print(f"RESULT side=scipy n={len(pb.y)} P={pb.P} k={k} tol={tol:.1e} " + " ".join(res_kv)
          + f" lam1={lam_ref[0]:.12e} lamk={lam_ref[-1]:.12e} power_nprod={npow} power_nconv={nconv} power_cap={a.max_power} "
          f"power_time={t_power:.3f} power_maxres={pres.max() / lam1:.3e} power_vs_arpack={agree:.3e} power_per_pair={','.join(map(str, per))} cpu_share={share:.3f}")


def check_cmd(a):
    """The eigenpairs `specdyn run` stored (task file, vectors: true) against torch: the loss,
    and ||H x - lambda x|| / |lambda_1| with torch's Hessian-vector product."""
    torch = torch_setup()
    import h5py
    pb = Problem(torch, a.ckpt, a.n)
    with h5py.File(a.task, "r") as f:
        lam = np.array(f["top/lambda"])
        X = f["top/X"] if "top/X" in f else None
        if X is None:
            sys.exit(f"curvature_peer.py: {a.task} has no top/X; run the job with curvature.vectors: true")
        pairs = sorted({int(p) for p in a.pairs.split(",") if int(p) < X.shape[0]})  # X: nconv x P
        xs = [np.array(X[p]) for p in pairs]
        loss_spd = float(f["metrics"].attrs["loss"])
    t0 = time.perf_counter()
    with torch.no_grad():
        loss = float(pb.loss())
    pb.set_point()
    rel = []
    for p, x in zip(pairs, xs):
        x = x / np.linalg.norm(x)
        hx = pb.hvp_warm(torch.from_numpy(x)).detach().numpy()
        rel.append(float(np.linalg.norm(hx - lam[p] * x) / abs(lam[0])))
        print(f"pair {p + 1}: lambda {lam[p]:.12e}, ||Hx - lx|| / |l_1| with torch's product = {rel[-1]:.1e}; x^T H x = {float(x.dot(hx)):.12e}")
    print(f"loss: specdyn {loss_spd:.15e}, torch {loss:.15e} ({time.perf_counter() - t0:.1f} s)")
    print(f"RESULT side=check pairs={','.join(str(p + 1) for p in pairs)} maxrelres={max(rel):.3e} loss_reldiff={abs(loss - loss_spd) / abs(loss):.3e}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("prepare")
    q.add_argument("out")
    q.add_argument("--arch", required=True)
    q.add_argument("--n", type=int, required=True)
    q.add_argument("--steps", type=int, default=100)
    q.add_argument("--lr", type=float, default=0.05)
    q.add_argument("--seed", type=int, default=0)
    q = sub.add_parser("time")
    q.add_argument("ckpt")
    q.add_argument("--n", type=int, required=True)
    q.add_argument("--repeat", type=int, default=3)
    q.add_argument("--calls", type=int, default=3)
    q.add_argument("--v-out", default="", help="write the direction v (raw float64)")
    q.add_argument("--hv-out", default="", help="write torch's H v (raw float64)")
    q = sub.add_parser("eig")
    q.add_argument("ckpt")
    q.add_argument("--n", type=int, required=True)
    q.add_argument("--k", type=int, default=10)
    q.add_argument("--tol", type=float, default=1e-8)
    q.add_argument("--lam", type=float, default=0.0)
    q.add_argument("--lamk", type=float, default=0.0)
    q.add_argument("--max-power", type=int, default=3000)
    q.add_argument("--out", default="")
    q = sub.add_parser("check")
    q.add_argument("task")
    q.add_argument("ckpt")
    q.add_argument("--n", type=int, required=True)
    q.add_argument("--pairs", default="0,9", help="0-based indices of the pairs to check")
    a = p.parse_args()
    {"prepare": prepare, "time": time_cmd, "eig": eig_cmd, "check": check_cmd}[a.cmd](a)


if __name__ == "__main__":
    main()
