"""Curvature of MLP losses (job keys model:, data:, curvature:) against PyTorch
(Debian's python3-torch, torch.autograd.functional) on the same weights and data:

- a torch nn.Sequential (tanh, biases, cross-entropy) saved as an h5py state dict, data
  in HDF5; specdyn's top-5 and most-negative-3 eigenvalues of the Hessian, the
  Gauss-Newton matrix and G, for the whole model and per layer, equal numpy's eigvalsh of
  the dense matrices torch assembles (1e-8 relative), with small residuals;
- G's eigenvalues equal the squared singular values of the per-sample gradient matrix / n;
- the same numbers at 1, 2 and 4 ranks; loss and gradient norm equal torch's;
- Hutch++ trace within 5 standard errors of the exact trace; the SLQ density integrates to 1;
- gradient / update / displacement fractions in the top-5 eigenspace equal numpy's;
- MSE with real targets and relu; the real Keras and tinygrad checkpoints load as models
  (loss on Fashion-MNIST equals a numpy forward pass, and H x = lambda x for the stored top
  eigenvector, checked with torch's hvp);
- bad input: layers that do not chain, labels out of range, a missing data file, NaN in
  the data: clear messages, other tasks finish."""
import os, shutil, gzip
import numpy as np
import h5py
import torch
from spdref import *

torch.set_default_dtype(torch.float64)
work = os.path.abspath("e2e_curvature")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
rng = np.random.default_rng(3)
N, D, C = 40, 6, 4


def make_net(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(D, 8), torch.nn.Tanh(), torch.nn.Linear(8, 7), torch.nn.Tanh(), torch.nn.Linear(7, C))


def save_state(net, path):
    with h5py.File(path, "w") as f:
        for k, v in net.state_dict().items():
            f[k] = v.detach().numpy()


X = rng.standard_normal((N, D))
y = rng.integers(0, C, N)
with h5py.File(f"{work}/data.h5", "w") as f:
    f["X"] = X
    f["y"] = y.astype(np.int64)
# a run of three checkpoints (for the update / displacement fractions)
nets = [make_net(s) for s in (1, 1, 1)]
for i, net in enumerate(nets):
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * i * torch.from_numpy(np.random.default_rng(100 + i).standard_normal(tuple(p.shape))))
    os.makedirs(f"{work}/ckpt", exist_ok=True)
    save_state(net, f"{work}/ckpt/step_{i * 10}.h5")

write_job(f"{work}/job.yaml", f"""
name: curv
runs:
  - name: r
    checkpoints: ckpt/step_{{step}}.h5
model: {{loss: cross_entropy, activation: tanh}}
data: {{source: hdf5, path: data.h5, x: X, y: y}}
curvature:
  operators: [hessian, gauss_newton, gradient_covariance]
  blocks: [model, layers]
  top: 5
  bottom: 3
  vectors: true
  trace: 45
  density: {{probes: 3, steps: 30}}
  learning_rate: 0.1
solver: {{eps_tol: 1e-12}}
""")

Xt, yt = torch.from_numpy(X), torch.from_numpy(y)


def flat_params(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def loss_of(net, theta, per_sample=False):
    """Cross-entropy of the net with parameters theta (PyTorch's order = weight, bias per layer = ours)."""
    shapes = [p.shape for p in net.parameters()]
    ps, o = [], 0
    for s in shapes:
        k = int(np.prod(s))
        ps.append(theta[o:o + k].reshape(s))
        o += k
    h = Xt
    for l in range(3):
        h = h @ ps[2 * l].T + ps[2 * l + 1]
        if l < 2:
            h = torch.tanh(h)
    li = torch.nn.functional.cross_entropy(h, yt, reduction="none")
    return li if per_sample else li.mean()


def references(net):
    th = flat_params(net)
    P = th.numel()
    H = torch.autograd.functional.hessian(lambda t: loss_of(net, t), th).numpy()
    G_i = torch.autograd.functional.jacobian(lambda t: loss_of(net, t, True), th).numpy()  # n x P per-sample gradients
    G = G_i.T @ G_i / N
    # Gauss-Newton: J^T H_l J / n with J the output Jacobian and H_l = diag(p) - p p^T
    def outputs(t):
        shapes = [p.shape for p in net.parameters()]
        ps, o = [], 0
        for s in shapes:
            k = int(np.prod(s)); ps.append(t[o:o + k].reshape(s)); o += k
        h = Xt
        for l in range(3):
            h = h @ ps[2 * l].T + ps[2 * l + 1]
            if l < 2:
                h = torch.tanh(h)
        return h
    J = torch.autograd.functional.jacobian(outputs, th).numpy()  # n x C x P
    Z = outputs(th).detach().numpy()
    p = np.exp(Z - Z.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    GN = np.zeros((P, P))
    for i in range(N):
        Hl = np.diag(p[i]) - np.outer(p[i], p[i])
        GN += J[i].T @ Hl @ J[i] / N
    g = G_i.mean(0)
    return {"hessian": H, "gauss_newton": GN, "gradient_covariance": G}, G_i, g, loss_of(net, th).item()


def blocks(net):
    """name -> parameter index range of each layer (weight then bias)."""
    out, o = {}, 0
    for l, lin in enumerate([m for m in net if isinstance(m, torch.nn.Linear)]):
        k = lin.weight.numel() + lin.bias.numel()
        out[f"{2 * l}.weight"] = (o, o + k)
        o += k
    return out


refs = [references(n) for n in nets]
results = {}
for np_ in (1, 2, 4):
    res = f"{work}/res{np_}"
    run(["run", f"{work}/job.yaml", "-o", res], np_=np_, expect=0)
    files = task_files(res)
    check(len(files) == 3 * 3 * 4, f"{len(files)} curvature tasks stored, expected 36 (3 checkpoints x 3 operators x 4 blocks)")
    results[np_] = {}
    for (label, name), path in files.items():
        i = int(label.split("step")[1]) // 10
        op, block = name.split("/", 1)
        M = refs[i][0][op]
        if block != "model":
            a, b = blocks(nets[i])[block]
            M = M[a:b, a:b]
        ev = np.linalg.eigvalsh(M)
        scale = max(abs(ev).max(), 1e-300)
        with h5py.File(path, "r") as f:
            top, bot = f["top/lambda"][()], f["bottom/lambda"][()]
            check(f.attrs["analysis"] == "curvature" and f.attrs["operator"] == op, "curvature attributes")
            check(np.all(f["top/converged"][()] == 1), f"{label} {name}: unconverged eigenpairs")
            check(np.abs(top - ev[::-1][:5]).max() <= 1e-8 * scale, f"{label} {name}: top eigenvalues {top} vs numpy {ev[::-1][:5]}")
            if op == "hessian":
                check(np.abs(bot - ev[:3]).max() <= 1e-8 * scale, f"{label} {name}: most negative {bot} vs numpy {ev[:3]}")
            else:  # PSD with a degenerate null space (Krylov methods find few copies of a repeated
                # eigenvalue): what converged is an eigenvalue; what did not is flagged, not hidden
                conv = f["bottom/converged"][()] == 1
                check(all(np.abs(ev - b).min() <= 1e-8 * scale for b in bot[conv]), f"{label} {name}: converged bottom {bot[conv]} are not eigenvalues")
                check(np.all(np.isfinite(f["bottom/residual"][()])), "residual estimates of unconverged pairs are reported")
            check(f["top/residual"][()].max() <= 1e-8 * scale, f"{label} {name}: residuals {f['top/residual'][()]}")
            how = f["top"].attrs["residuals"]
            check((how.decode() if isinstance(how, bytes) else str(how)) == "explicit", f"{label} {name}: residuals obtained as {how!r}, the default is explicit")
            met = dict(f["metrics"].attrs)
            check(abs(met["loss"] - refs[i][3]) <= 1e-12 * abs(refs[i][3]), f"loss {met['loss']} vs torch {refs[i][3]}")
            gref = refs[i][2] if block == "model" else refs[i][2][slice(*blocks(nets[i])[block])]
            check(abs(met["gradient_norm"] - np.linalg.norm(gref)) <= 1e-10 * np.linalg.norm(gref), "gradient norm vs torch")
            check(abs(met["sharpness"] - ev[-1]) <= 1e-8 * scale and abs(met["two_over_lr"] - 20) < 1e-12, "sharpness and 2/eta")
            tr = np.trace(M)
            check(abs(met["trace"] - tr) <= 5 * met["trace_stderr"] + 1e-10 * abs(tr), f"{label} {name}: Hutch++ {met['trace']} +- {met['trace_stderr']} vs trace {tr}")
            grid, dens = f["density/grid"][()], f["density/density"][()]
            check(abs(np.trapz(dens, grid) - 1) < 2e-3, "the SLQ density integrates to 1")
            # fractions in the top-5 eigenspace, with numpy's eigenvectors
            w, V = np.linalg.eigh(M)
            Vk = V[:, ::-1][:, :5]
            frac = np.sum((Vk.T @ gref) ** 2) / np.sum(gref ** 2)
            check(abs(met["gradient_fraction"] - frac) < 1e-8, f"{label} {name}: gradient fraction {met['gradient_fraction']} vs {frac}")
            th = [flat_params(n).numpy() for n in nets]
            sl = slice(None) if block == "model" else slice(*blocks(nets[i])[block])
            if i < 2:
                d = (th[i + 1] - th[i])[sl]
                check(abs(met["update_fraction"] - np.sum((Vk.T @ d) ** 2) / np.sum(d ** 2)) < 1e-8, "update fraction")
            else:
                check(np.isnan(met["update_fraction"]), "no update after the last checkpoint")
            if i > 0:
                d = (th[i] - th[0])[sl]
                check(abs(met["displacement_fraction"] - np.sum((Vk.T @ d) ** 2) / np.sum(d ** 2)) < 1e-8, "displacement fraction")
            X_ = f["top/X"][()]
            check(np.abs(np.abs(X_ @ Vk) - np.eye(5)).max() < 1e-6, "stored eigenvectors = numpy's up to sign")
            results[np_][(label, name)] = np.concatenate([top, bot])
    # G = (1/n) sum g_i g_i^T: eigenvalues = squared singular values of the per-sample gradients / n
    sv = np.linalg.svd(refs[0][1], compute_uv=False)
    with h5py.File(files[("r/step0", "gradient_covariance/model")], "r") as f:
        check(np.abs(f["top/lambda"][()] - sv[:5] ** 2 / N).max() <= 1e-8 * sv[0] ** 2 / N, "G eigenvalues = sigma_i^2 / n of the per-sample gradient matrix")
for np_ in (2, 4):
    d = max(np.abs(results[np_][k] - results[1][k]).max() / max(np.abs(results[1][k]).max(), 1e-300) for k in results[1])
    check(d < 1e-10, f"curvature at {np_} ranks differs from 1 rank by {d:.3g} (relative)")
# principal angles between the top-5 eigenspaces of consecutive checkpoints (numpy's eigenvectors)
import scipy.linalg
with h5py.File(f"{work}/res2/index.h5", "r") as f:
    dec = lambda k: [x.decode() if isinstance(x, bytes) else x for x in f[k][()]]
    rel, sp, na, ca, cb, st, fl = (dec(f"comparisons/{c}") for c in ("relation", "spaces", "name_a", "checkpoint_a", "checkpoint_b", "status", "file"))
check(len(rel) == 2 * 12 and all(r == "previous" and s_ == "eigen" and t == "done" for r, s_, t in zip(rel, sp, st)), f"24 eigenspace comparisons expected: {list(zip(rel, sp, st))[:3]}")
for name, a, b, fn in zip(na, ca, cb, fl):
    i, j = int(a.split("step")[1]) // 10, int(b.split("step")[1]) // 10
    op, block = name.split("/", 1)
    def top5(i):
        M = refs[i][0][op]
        if block != "model":
            lo, hi = blocks(nets[i])[block]
            M = M[lo:hi, lo:hi]
        return np.linalg.eigh(M)[1][:, ::-1][:, :5]
    cos = np.sort(np.cos(scipy.linalg.subspace_angles(top5(i), top5(j))))[::-1]
    with h5py.File(f"{work}/res2/{fn}", "r") as g:
        check(np.abs(g["cos"][()] - cos).max() < 1e-6, f"eigenspace angles {name} {a}->{b}: {g['cos'][()]} vs {cos}")
with h5py.File(f"{work}/res2/index.h5", "r") as f:
    tr = f["trajectories/r/hessian/model"]
    check(list(tr["step"][()]) == [0, 10, 20], "curvature trajectories over steps")
    check(np.abs(tr["sharpness"][()] - [np.linalg.eigvalsh(r[0]["hessian"])[-1] for r in refs]).max() < 1e-8 * abs(tr["sharpness"][()]).max(), "sharpness trajectory")

# ---- every attribute and dataset of a curvature task file is documented -----------------
import re
doc = open(os.path.join(os.environ["SPD_SOURCE_DIR"], "docs/results-format.md")).read()
words = set()
for d in re.findall(r"`(/?[A-Za-z_][A-Za-z0-9_/…<>.| ]*)`", doc):
    words.update(re.split(r"[/ ,]", d))
with h5py.File(task_files(f"{work}/res1")[("r/step0", "hessian/model")], "r") as f:
    names = list(f.attrs) + list(f["metrics"].attrs) + list(f["top"].attrs) + list(f["density"].attrs) + list(f["timings"].attrs)
    f.visit(lambda n: names.extend(n.split("/")))
for a in names:
    check(a in words, f"curvature task item '{a}' is not documented in docs/results-format.md")

# ---- MSE with real targets and relu ------------------------------------------------------
torch.manual_seed(7)
net = torch.nn.Sequential(torch.nn.Linear(D, 9), torch.nn.ReLU(), torch.nn.Linear(9, 2))
save_state(net, f"{work}/mse.h5")
Y = rng.standard_normal((N, 2))
with h5py.File(f"{work}/reg.h5", "w") as f:
    f["inputs"] = X
    f["targets"] = Y
write_job(f"{work}/mse.yaml", """
checkpoints: [mse.h5]
model: {loss: mse, activation: relu}
data: {source: hdf5, path: reg.h5, x: inputs, y: targets}
curvature: {top: 4, bottom: 2}
solver: {eps_tol: 1e-12}
""")
run(["run", f"{work}/mse.yaml", "-o", f"{work}/mse"], np_=2, expect=0)
th = flat_params(net)
Yt = torch.from_numpy(Y)
def mse(t):
    W1, b1, W2, b2 = t[:54].reshape(9, 6), t[54:63], t[63:81].reshape(2, 9), t[81:83]
    z = torch.relu(Xt @ W1.T + b1) @ W2.T + b2
    return 0.5 * ((z - Yt) ** 2).sum(1).mean()  # 1/2 ||z - y||^2, mean over samples
ev = np.linalg.eigvalsh(torch.autograd.functional.hessian(mse, th).numpy())
with h5py.File(list(task_files(f"{work}/mse").values())[0], "r") as f:
    check(np.abs(f["top/lambda"][()] - ev[::-1][:4]).max() <= 1e-8 * abs(ev).max(), f"MSE Hessian top {f['top/lambda'][()]} vs {ev[::-1][:4]}")
    check(abs(f["metrics"].attrs["loss"] - mse(th).item()) < 1e-12 * mse(th).item(), "MSE loss")

# ---- the real third-party checkpoints as models, on Fashion-MNIST --------------------------
def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)
fm = "/usr/share/datasets/fashion-mnist"
check(os.path.exists(f"{fm}/t10k-images-idx3-ubyte.gz"), "Debian's dataset-fashion-mnist is installed by scripts/install-deps.sh")
if True:
    Xf = idx(f"{fm}/t10k-images-idx3-ubyte.gz")[:300].reshape(300, -1) / 255.0
    yf = idx(f"{fm}/t10k-labels-idx1-ubyte.gz")[:300].astype(np.int64)
    write_job(f"{work}/real.yaml", f"""
checkpoints:
  - path: {FIXTURES}/mnist-mlp-keras.h5
    label: keras
  - path: {FIXTURES}/mnist-mlp-tinygrad.safetensors
    label: tinygrad
model: {{activation: leaky_relu}}
data: {{source: fashion_mnist, split: test, n: 300}}
curvature: {{top: 2, vectors: true}}
""")
    # Keras: relu from model_config overrides nothing here: the job gives leaky_relu for both,
    # so the Keras net is evaluated with leaky_relu too (the job's activation wins)
    run(["run", f"{work}/real.yaml", "-o", f"{work}/real"], np_=2, expect=0)
    files = task_files(f"{work}/real")
    with h5py.File(f"{FIXTURES}/mnist-mlp-keras.h5", "r") as f:
        paths = []
        f["model_weights"].visit(paths.append)
        def ds(layer, what):  # model_weights/<layer>/.../<layer>/<what>, read with h5py
            p = [q for q in paths if q.startswith(layer + "/") and q.endswith(f"/{layer}/{what}")]
            check(len(p) == 1, f"Keras fixture: {layer}/{what} found {p}")
            return f["model_weights/" + p[0]][()].astype(np.float64)
        kw = [(ds(n, "kernel").T, ds(n, "bias")) for n in ("dense", "dense_1", "dense_2")]
    st = safetensors_tensors(f"{FIXTURES}/mnist-mlp-tinygrad.safetensors")
    tw = [(st["l1.weight"], None), (st["l2.weight"], None)]
    for label, layers in (("keras", kw), ("tinygrad", tw)):
        params = []
        for W, b in layers:
            params.append(torch.from_numpy(np.ascontiguousarray(W)).reshape(-1))
            if b is not None:
                params.append(torch.from_numpy(b))
        th = torch.cat(params)
        def lossf(t, layers=layers):
            o, h = 0, torch.from_numpy(Xf)
            for l, (W, b) in enumerate(layers):
                Wt = t[o:o + W.size].reshape(W.shape); o += W.size
                h = h @ Wt.T
                if b is not None:
                    h = h + t[o:o + b.size]; o += b.size
                if l < len(layers) - 1:
                    h = torch.nn.functional.leaky_relu(h, 0.01)
            return torch.nn.functional.cross_entropy(h, torch.from_numpy(yf))
        with h5py.File(files[(label, "hessian/model")], "r") as f:
            check(abs(f["metrics"].attrs["loss"] - lossf(th).item()) < 1e-10 * lossf(th).item(), f"{label}: loss {f['metrics'].attrs['loss']} vs torch {lossf(th).item()}")
            x = torch.from_numpy(f["top/X"][0])
            lam = f["top/lambda"][0]
            _, hx = torch.autograd.functional.hvp(lossf, th, x)
            r = (hx - lam * x).norm().item()
            check(r <= 1e-7 * abs(lam), f"{label}: ||H x - lambda x|| = {r:.3g} with torch's hvp (lambda {lam})")
            print(f"{label}: loss {lossf(th).item():.6f}, lambda_1 {lam:.6g}, torch hvp residual {r:.2e}")

# ---- bad input -------------------------------------------------------------------------------
with h5py.File(f"{work}/nan.h5", "w") as f:
    Xn = X.copy(); Xn[7, 2] = np.nan
    f["X"] = Xn; f["y"] = y
with h5py.File(f"{work}/badlabels.h5", "w") as f:
    f["X"] = X; f["y"] = np.where(np.arange(N) == 5, 12, y)
cases = [
    ("layers: [{weight: 0.weight, bias: 0.bias}, {weight: 4.weight, bias: 4.bias}]", "data.h5", "does not chain"),
    ("", "badlabels.h5", "label 12"),
    ("", "missing.h5", "missing.h5"),
    ("", "nan.h5", "nan.h5"),
]
for layers, data, want in cases:
    write_job(f"{work}/bad.yaml", f"""
checkpoints: [ckpt/step_0.h5]
model: {{activation: tanh{', ' + layers if layers else ''}}}
data: {{source: hdf5, path: {data}, x: X, y: y}}
curvature: {{top: 2}}
""")
    code, so, se = run(["run", f"{work}/bad.yaml", "-o", f"{work}/bad_{want.split()[0].replace('.', '_')}"], np_=2)
    check(code != 0 and want in se, f"bad input ({want}): exit {code}, stderr:\n{se[-1500:]}")
print("curvature e2e OK")
