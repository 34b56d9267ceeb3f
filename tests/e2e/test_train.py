"""`specdyn train JOB.yaml` end to end (docs/training.md), against independent references:

- the gaussian_mixture samples and the label corruption re-implemented from their rules
  (SplitMix64 streams, Box-Muller; include/specdyn/data.h, docs/training.md);
- every checkpoint of a 2x2 sweep (seed x weight_decay) equal to a float64 PyTorch
  re-training from the run's step-0 checkpoint (full-batch GD, cross-entropy,
  torch.optim.SGD with coupled weight_decay), and metrics.h5's per-step losses to it;
- the same run on 1 and 2 ranks; `--run i` and `--list`;
- resume after SIGTERM to the ranks equal to an uninterrupted run bit for bit;
- failures: one diverging run of a sweep (exit 1, the other completes) and job errors
  (exit 2, the key named);
- `specdyn run <output>/study.yaml` on the checkpoints (top sigma vs numpy.linalg.svd);
- label noise: accuracies in metrics.h5 recomputed with numpy from the final checkpoint
  on the re-implemented corrupted labels; noisy training accuracy far below the clean one;
- training_jacobian.h5: top-3 sigma and all sigma of J_T = d theta_T / d theta_0 against
  the SVD of the dense J_T from torch.autograd.functional.jacobian through unrolled GD; the
  perturbation experiment (retraining from theta_0 + 1e-6 v_1) grows by PyTorch's sigma_1."""
import glob, math, os, shutil, signal, subprocess, sys, time
import numpy as np
import h5py
import torch
from spdref import *

torch.set_default_dtype(torch.float64)
T0 = time.time()
work = os.path.abspath("e2e_train")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

# ---- the data rules, from include/specdyn/data.h and docs/training.md --------------
M64 = (1 << 64) - 1


def _next(s):
    s[0] = (s[0] + 0x9E3779B97F4A7C15) & M64
    z = s[0]
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Stream:
    """SplitMix64 stream (seed, tag, i): state mix(mix(seed ^ tag) + i)."""

    def __init__(self, seed, tag, i):
        t = int.from_bytes(tag, "big")
        self.s = [_next([_next([(seed & M64) ^ t]) + i & M64])]
        self.spare = None

    def uniform(self):
        return (_next(self.s) >> 11) * 2.0**-53

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        u1 = ((_next(self.s) >> 11) + 1) * 2.0**-53
        u2 = (_next(self.s) >> 11) * 2.0**-53
        r = math.sqrt(-2.0 * math.log(u1))
        self.spare = r * math.sin(2.0 * math.pi * u2)
        return r * math.cos(2.0 * math.pi * u2)


def mixture(n, d, k, snr, seed):
    """x = snr e_y + z, y = floor(k u), from the stream (seed, "MIXTURE!", i)."""
    X, y = np.zeros((n, d)), np.zeros(n, dtype=int)
    for i in range(n):
        s = Stream(seed, b"MIXTURE!", i)
        y[i] = min(int(s.uniform() * k), k - 1)
        X[i] = [s.normal() for _ in range(d)]
        X[i, y[i]] += snr
    return X, y


def corrupt(y, k, frac, seed):
    """Wrong labels: sample i draws u, v from (seed, "CORRUPT!", i); when u < frac its
    label becomes floor((k-1) v), shifted past the true one."""
    out = y.copy()
    for i in range(len(y)):
        s = Stream(seed, b"CORRUPT!", i)
        u, v = s.uniform(), s.uniform()
        if u < frac:
            z = int(v * (k - 1))
            out[i] = z + 1 if z >= y[i] else z
    return out


# ---- the model, by hand: PyTorch nn.Linear layers with tanh, cross-entropy -------------
def ckpt(run_dir, step):
    return safetensors_tensors(f"{run_dir}/checkpoints/step_{step:08d}.safetensors")


def params_of(t):
    L = len([k for k in t if k.endswith(".weight")])
    return [torch.tensor(t[f"layers.{l}.{w}"]) for l in range(L) for w in ("weight", "bias")]


def forward(ps, X):
    h = X
    L = len(ps) // 2
    for l in range(L):
        h = h @ ps[2 * l].T + ps[2 * l + 1]
        if l < L - 1:
            h = torch.tanh(h)
    return h


def torch_train(ps0, X, y, lr, wd, steps):
    """Full-batch torch.optim.SGD (coupled weight_decay) from ps0: the parameters after
    every step and the loss of every step."""
    ps = [p.clone().requires_grad_(True) for p in ps0]
    opt = torch.optim.SGD(ps, lr=lr, weight_decay=wd)
    X, y = torch.tensor(X), torch.tensor(y)
    hist, losses = [[p.detach().clone() for p in ps]], []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(forward(ps, X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        hist.append([p.detach().clone() for p in ps])
    return hist, np.array(losses)


def accuracy(t, X, y):
    with torch.no_grad():
        return float((forward(params_of(t), torch.tensor(X)).argmax(1).numpy() == y).mean())


def maxdiff(a, b):
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def train(args, np_, expect=None, timeout=120):
    return run(["train"] + list(args), np_=np_, expect=expect, timeout=timeout)


def train_singleton(args):
    """Without mpirun (a singleton MPI process): job errors, whose exit mpirun would slow
    down by its abort handling."""
    p = subprocess.run([SPECDYN, "train"] + list(args), env=ENV, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


# ---- 1. a 2x2 sweep at 2 ranks ---------------------------------------------------
N, TESTN, D, K, SNR, DSEED, STEPS, LR = 64, 32, 5, 3, 2.0, 11, 40, 0.3
Xall, yall = mixture(N + TESTN, D, K, SNR, DSEED)
Xtr, ytr, Xte, yte = Xall[:N], yall[:N], Xall[N:], yall[N:]
data = f"data: {{source: gaussian_mixture, n: {N}, test_n: {TESTN}, d: {D}, classes: {K}, snr: {SNR}, seed: {DSEED}}}"
model = "model: {widths: [0, 16, 3], activation: tanh, loss: cross_entropy}"


def sweep_job(name, extra="", train_extra="", sweep="sweep: {seed: [3, 4], weight_decay: [0, 0.01]}", steps=STEPS, every=10, data=data):
    p = f"{work}/{name}.yaml"
    write_job(p, f"""
name: {name}
output: {work}/{name}
{model}
{data}
train: {{steps: {steps}, lr: {LR}, batch: full, checkpoints: {{every: {every}}}{train_extra}}}
{sweep}
{extra}
""")
    return p


job = sweep_job("sweep")
_, out, _ = train([job, "--list"], 2, expect=0)
names = [l.split("\t")[1] for l in out.strip().splitlines()]
expect_names = ["seed=3,weight_decay=0", "seed=3,weight_decay=0.01", "seed=4,weight_decay=0", "seed=4,weight_decay=0.01"]
check(names == expect_names, f"--list: {names}, expected {expect_names} (the last swept key fastest)")
check([l.split("\t")[0] for l in out.strip().splitlines()] == ["0", "1", "2", "3"], f"--list indices: {out}")
train([job], 2, expect=0)
steps_ck = list(range(0, STEPS + 1, 10))
for name in names:
    rd = f"{work}/sweep/{name}"
    for f in ["metrics.h5", "state.h5"] + [f"checkpoints/step_{s:08d}.safetensors" for s in steps_ck]:
        check(os.path.exists(f"{rd}/{f}"), f"{name}: {f} missing")
    check(not glob.glob(f"{rd}/**/*.tmp", recursive=True), f"{name}: temporary files left")
    wd = 0.01 if name.endswith("0.01") else 0.0
    t0 = ckpt(rd, 0)
    check(sorted(t0) == ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"], f"{name}: tensors {sorted(t0)}")
    check(t0["layers.0.weight"].shape == (16, D) and t0["layers.1.weight"].shape == (K, 16), f"{name}: shapes")
    # standard (nn.Linear) initialization: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    check(np.abs(t0["layers.0.weight"]).max() <= 1 / math.sqrt(D) and np.abs(t0["layers.1.weight"]).max() <= 0.25, f"{name}: init out of range")
    hist, losses = torch_train(params_of(t0), Xtr, ytr, LR, wd, STEPS)
    for s in steps_ck:
        got = ckpt(rd, s)
        ref = dict(zip(["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"], [p.numpy() for p in hist[s]]))
        e = maxdiff(got, ref)
        check(e < 1e-10, f"{name} step {s}: checkpoint differs from PyTorch by {e:.3e}")
    with h5py.File(f"{rd}/metrics.h5", "r") as f:
        st, lo, lr = f["steps/step"][()], f["steps/loss"][()], f["steps/lr"][()]
        sacc = f["steps/accuracy"][()]
        ev_step, ev_acc, ev_tacc = f["evals/step"][()], f["evals/accuracy"][()], f["evals/test_accuracy"][()]
        ev_loss = f["evals/loss"][()]
    check(np.array_equal(st, np.arange(STEPS)), f"{name}: metrics steps {st}")
    check(np.allclose(lr, LR, rtol=1e-15), f"{name}: metrics lr {lr}")
    check(np.allclose(lo, losses, rtol=1e-11, atol=0), f"{name}: metrics losses differ from PyTorch by {np.abs(lo - losses).max():.3e}")
    check(lo[-1] < 0.5 * lo[0] and np.all(np.diff(lo) < 0), f"{name}: the loss should decrease: {lo[0]} -> {lo[-1]}")
    with torch.no_grad():  # per-step (full-batch) accuracy at theta_t, before step t
        tacc = [float((forward(hist[t], torch.tensor(Xtr)).argmax(1).numpy() == ytr).mean()) for t in range(STEPS)]
    check(np.all(np.abs(sacc - tacc) <= 1.0 / len(ytr) + 1e-12), f"{name}: per-step accuracy differs from PyTorch: {np.abs(sacc - tacc).max()}")
    check(list(ev_step) == steps_ck, f"{name}: evaluation steps {ev_step}")
    final = ckpt(rd, STEPS)
    check(abs(ev_acc[-1] - accuracy(final, Xtr, ytr)) < 1e-12 and abs(ev_tacc[-1] - accuracy(final, Xte, yte)) < 1e-12, f"{name}: final accuracies {ev_acc[-1]}, {ev_tacc[-1]}")
    with torch.no_grad():
        fl = torch.nn.functional.cross_entropy(forward(params_of(final), torch.tensor(Xtr)), torch.tensor(ytr)).item()
    check(abs(ev_loss[-1] - fl) < 1e-12 * fl, f"{name}: final evaluated loss {ev_loss[-1]} vs {fl}")
print(f"[{time.time() - T0:.1f} s] sweep: {len(names)} runs, every checkpoint equals PyTorch to 1e-10")

# ---- 2. --run 1 on 1 and 2 ranks (data parallel); out of range ---------------------
for np_ in (1, 2):
    train([job, "-o", f"{work}/only{np_}", "--run", "1"], np_, expect=0)
    check(sorted(os.listdir(f"{work}/only{np_}")) == [names[1], "study.yaml"], f"--run 1 on {np_} ranks wrote {os.listdir(f'{work}/only{np_}')}")
a, b = ckpt(f"{work}/only1/{names[1]}", STEPS), ckpt(f"{work}/only2/{names[1]}", STEPS)
e = max(float(np.abs(a[k] - b[k]).max() / np.abs(a[k]).max()) for k in a)
check(e < 1e-12, f"1 vs 2 ranks: final checkpoints differ by {e:.3e} relative")
c = ckpt(f"{work}/sweep/{names[1]}", STEPS)
check(maxdiff(a, c) < 1e-12, "--run 1 differs from the sweep's run 1")
# with ranks_per_task 1, two rank groups exist; --run must still train run 1 only once
write_job(f"{work}/rpt.yaml", open(job).read() + "resources: {ranks_per_task: 1}\n")
_, _, err = train([f"{work}/rpt.yaml", "-o", f"{work}/rpt", "--run", "1"], 2, expect=0)
check(err.count(f"run {names[1]} complete") == 1 and "1 runs complete" in err, f"--run 1 with ranks_per_task 1 on 2 ranks:\n{err}")
check(maxdiff(ckpt(f"{work}/rpt/{names[1]}", STEPS), a) < 1e-12, "--run 1 with ranks_per_task 1 differs")
code, _, err = train_singleton([job, "-o", f"{work}/bad", "--run", "4"])
check(code == 2 and "Run 4" in err and "4 runs" in err, f"--run 4 of 4 runs: exit {code}\n{err}")
print(f"[{time.time() - T0:.1f} s] --run 1: 1 vs 2 ranks agree to {e:.1e}")

# ---- 3. resume after SIGTERM to the ranks ----------------------------------------
LONG = 14000
ljob = sweep_job("long", sweep="", steps=LONG, every=250)
train([ljob, "-o", f"{work}/clean"], 2, expect=0)
out = f"{work}/term"
p = subprocess.Popen([MPIEXEC, "--oversubscribe", "-n", "2", SPECDYN, "train", ljob, "-o", out], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
t0 = time.time()
while time.time() - t0 < 60 and not os.path.exists(f"{out}/run/checkpoints/step_00000500.safetensors"):
    time.sleep(0.005)
code2, _, err2 = train_singleton([ljob, "-o", out])  # a second trainer on the same run folder
check(code2 == 1 and "in use by another specdyn process" in err2, f"a concurrent trainer on the same run: exit {code2}\n{err2}")
signal_children(p.pid, signal.SIGTERM)
so, se = p.communicate(timeout=120)
check(p.returncode in (1, 3), f"SIGTERM: exit {p.returncode}, expected 3 (or mpirun's 1)\n{se}")
check("PARTIAL" in se, f"SIGTERM: the ranks should report a partial run\n{se}")
check(not os.path.exists(f"{out}/run/checkpoints/step_{LONG:08d}.safetensors"), "SIGTERM landed after the end of the run; make LONG larger")
with h5py.File(f"{out}/run/state.h5", "r") as f:
    tstop = int(f["t"][()])
check(0 < tstop < LONG, f"SIGTERM: state at step {tstop}")
train([ljob, "-o", out], 2, expect=0)
a, b = ckpt(f"{work}/clean/run", LONG), ckpt(f"{out}/run", LONG)
check(all(np.array_equal(a[k], b[k]) for k in a), f"resumed final checkpoint differs from the uninterrupted one by {maxdiff(a, b):.3e}")
with h5py.File(f"{work}/clean/run/metrics.h5", "r") as f, h5py.File(f"{out}/run/metrics.h5", "r") as g:
    for ds in ("steps/step", "steps/loss", "steps/gradnorm", "steps/lr"):
        check(np.array_equal(f[ds][()], g[ds][()]), f"resumed metrics {ds} differ")
print(f"[{time.time() - T0:.1f} s] resume: stopped at step {tstop} of {LONG}, the resumed run equals the uninterrupted one bit for bit")

# ---- 4. failures -----------------------------------------------------------------
djob = sweep_job("diverge", sweep="sweep: {lr: [0.1, 1e6]}", train_extra="", steps=60)
write_job(djob, open(djob).read().replace("activation: tanh", "activation: relu"))
code, _, err = train([djob], 2)
check(code == 1, f"a diverging run: exit {code}, expected 1\n{err}")
check("lr=1e+06 FAILED" in err and "diverged" in err, f"the message should name the failed run\n{err}")
check(os.path.exists(f"{work}/diverge/lr=0.1/checkpoints/step_00000060.safetensors"), "the other run should complete")
bad = [
    ("train.lr", "train: {steps: 10, lr: -1}"),
    ("sweep.label_noise", "train: {steps: 10}\nsweep: {label_noise: [2]}"),
    ("lrate", "train: {steps: 10, lrate: 0.1}"),
]
for key, text in bad:
    p = f"{work}/bad.yaml"
    write_job(p, f"name: bad\n{model}\n{data}\n{text}\n")
    code, _, err = train_singleton([p])
    check(code == 2 and key in err, f"bad {key}: exit {code}, expected 2 with the key named\n{err}")
write_job(p, f"name: bad\nmodel: {{activation: tanh}}\n{data}\ntrain: {{steps: 10}}\n")
code, _, err = train_singleton([p])
check(code == 2 and "model.widths" in err, f"no model.widths: exit {code}\n{err}")
ts = "data: {source: teacher_student, n: 32, d: 4, outputs: 1}\nmodel: {widths: [0, 4, 1], loss: mse}"
for key, text in (("train.label_noise", "train: {steps: 10, label_noise: 0.2}"), ("sweep.label_noise", "train: {steps: 10}\nsweep: {label_noise: [0.2]}")):
    write_job(p, f"name: bad\n{ts}\n{text}\n")
    code, _, err = train_singleton([p])
    check(code == 2 and key in err and "teacher_student" in err, f"{key} with teacher_student: exit {code}\n{err}")
code, _, err = train([job, "-o", "/dev/null/out"], 2, timeout=60)  # every rank learns rank 0's failure: no hang
check(code == 2 and "/dev/null/out" in err, f"unwritable output: exit {code}\n{err}")
# a damaged resume state: that run fails with a message naming the file, the others finish
shutil.copytree(f"{work}/diverge", f"{work}/damaged")
with open(f"{work}/damaged/lr=0.1/state.h5", "wb") as f:
    f.write(b"not an HDF5 file")
write_job(djob, open(djob).read().replace("steps: 60", "steps: 70"))
code, _, err = train([djob, "-o", f"{work}/damaged"], 2)
check(code == 1 and "state.h5 is not a readable HDF5 file" in err and "lr=0.1 FAILED" in err, f"damaged state.h5: exit {code}\n{err}")
print(f"[{time.time() - T0:.1f} s] failures: diverging run exit 1, job errors exit 2 naming the key")

# ---- 5. specdyn run on the sweep's study.yaml --------------------------------------
run(["run", f"{work}/sweep/study.yaml"], np_=2, expect=0)
res = f"{work}/sweep/weights.results"
check(os.path.exists(f"{res}/index.h5"), "study.yaml: no index.h5")
tf = task_files(res)
key = (f"{names[3]}/step{STEPS}", "layers.0.weight")
check(key in tf, f"study.yaml: task {key} missing; tasks {sorted(tf)[:4]}")
with h5py.File(tf[key], "r") as f:
    s = f["top/sigma"][()]
ref = np.linalg.svd(ckpt(f"{work}/sweep/{names[3]}", STEPS)["layers.0.weight"], compute_uv=False)
check(np.allclose(s, ref[:len(s)], rtol=1e-10, atol=0), f"study.yaml: top sigma {s} vs numpy {ref[:len(s)]}")
print(f"[{time.time() - T0:.1f} s] study.yaml: {len(tf)} tasks, sigma equal numpy")

# ---- 6. label noise --------------------------------------------------------------
NSTEPS, NSNR = 50, 4.0  # well separated classes, too few steps to memorize the wrong labels
Xtr, ytr = mixture(N, D, K, NSNR, DSEED)
Xte, yte = mixture(N + TESTN, D, K, NSNR, DSEED)
Xte, yte = Xte[N:], yte[N:]
njob = sweep_job("noise", sweep="sweep: {label_noise: [0, 0.5]}", train_extra=", seed: 5", steps=NSTEPS, every=25, data=data.replace(f"snr: {SNR}", f"snr: {NSNR}"))
train([njob], 2, expect=0)
acc = {}
for frac in (0, 0.5):
    rd = f"{work}/noise/label_noise={frac:g}"
    ylab = corrupt(ytr, K, frac, 5)
    with h5py.File(f"{rd}/metrics.h5", "r") as f:
        a, ta = f["evals/accuracy"][-1], f["evals/test_accuracy"][-1]
    final = ckpt(rd, NSTEPS)
    check(abs(a - accuracy(final, Xtr, ylab)) < 1e-12, f"label_noise {frac}: training accuracy {a} vs numpy on the corrupted labels {accuracy(final, Xtr, ylab)}")
    check(abs(ta - accuracy(final, Xte, yte)) < 1e-12, f"label_noise {frac}: test accuracy {ta} (clean labels)")
    acc[frac] = (a, ta, float(np.mean(ylab != ytr)))
check(acc[0][2] == 0 and 0.3 < acc[0.5][2] < 0.7, f"corrupted fractions {acc[0][2]}, {acc[0.5][2]}")
check(acc[0][0] > 0.85, f"clean training accuracy {acc[0][0]}")
check(acc[0.5][0] < acc[0][0] - 0.25, f"label noise 0.5: training accuracy {acc[0.5][0]} should be far below the clean {acc[0][0]}")
print(f"[{time.time() - T0:.1f} s] label noise: training accuracy {acc[0][0]:.3f} clean, {acc[0.5][0]:.3f} at 0.5 ({acc[0.5][2]:.2f} labels corrupted); test accuracy {acc[0][1]:.3f}, {acc[0.5][1]:.3f}")

# ---- 7. the training Jacobian ------------------------------------------------------
TJ_N, TJ_D, TJ_STEPS, TJ_LR, TJ_W = 24, 3, 10, 0.5, 6
write_job(f"{work}/tj.yaml", f"""
name: tj
output: {work}/tj
model: {{widths: [0, {TJ_W}, 3], activation: tanh}}
data: {{source: gaussian_mixture, n: {TJ_N}, d: {TJ_D}, classes: 3, seed: 2}}
train: {{steps: {TJ_STEPS}, lr: {TJ_LR}, checkpoints: {{every: 5}}}}
training_jacobian: {{top: 3, bottom: 0, density: {{probes: 2, steps: 10}}, perturb: {{directions: 1, scale: 1e-6, ood: 8}}}}
""")
train([f"{work}/tj.yaml"], 2, expect=0)
path = f"{work}/tj/run/training_jacobian.h5"
check(os.path.exists(path), "training_jacobian.h5 missing")
with h5py.File(path, "r") as f:
    s, r = f["training_jacobian/top/sigma"][()], f["training_jacobian/top/residual"][()]
    full = f["training_jacobian/full/sigma"][()] if "training_jacobian/full/sigma" in f else None
    ptab = f["perturbation/table"][()]  # rows: region, index, sigma, gain, rms change held-out, white noise
check(len(s) == 3 and np.all(np.diff(s) <= 0), f"top sigma {s}: 3, descending")
check(np.all(np.abs(r) < 1e-8 * s[0]), f"top residuals {r}")
Xj, yj = mixture(TJ_N, TJ_D, 3, 1.0, 2)  # data.snr defaults to 1
t0 = ckpt(f"{work}/tj/run", 0)
shapes = [p.shape for p in params_of(t0)]
theta0 = torch.cat([p.reshape(-1) for p in params_of(t0)])
Xt, yt = torch.tensor(Xj), torch.tensor(yj)


def unflat(th):
    out, o = [], 0
    for sh in shapes:
        n = int(np.prod(sh))
        out.append(th[o:o + n].reshape(sh))
        o += n
    return out


def unrolled(th):
    for _ in range(TJ_STEPS):
        loss = torch.nn.functional.cross_entropy(forward(unflat(th), Xt), yt)
        g, = torch.autograd.grad(loss, th, create_graph=True)
        th = th - TJ_LR * g
    return th


thT = unrolled(theta0.clone().requires_grad_(True)).detach()
fin = torch.cat([torch.tensor(v).reshape(-1) for v in (ckpt(f"{work}/tj/run", TJ_STEPS)[k] for k in ("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"))])
check(float((thT - fin).abs().max()) < 1e-10, "the unrolled GD does not reproduce theta_T")
J = torch.autograd.functional.jacobian(unrolled, theta0).numpy()
sv = np.linalg.svd(J, compute_uv=False)
check(np.allclose(s, sv[:3], rtol=1e-8, atol=0), f"training Jacobian top sigma {s} vs PyTorch {sv[:3]}")
if full is not None:
    check(len(full) == len(sv) and np.allclose(full, sv, rtol=1e-8, atol=1e-10 * sv[0]), "training Jacobian: full sigma differ from PyTorch")
# the perturbation experiment retrains from theta_0 + 1e-6 v: its gain ||theta_T' - theta_T|| / 1e-6
# is ||J_T v|| to O(1e-6), i.e. PyTorch's sigma_1 along the top direction
top_row = ptab[ptab[:, 0] == 0]
check(len(top_row) == 1, f"perturbation table {ptab}: one row for the top direction expected")
check(abs(top_row[0, 3] - sv[0]) <= 1e-4 * sv[0], f"perturbation gain {top_row[0, 3]} along v_1 vs PyTorch's sigma_1 {sv[0]}")
check(np.all(np.abs(ptab[:, 3] - ptab[:, 2]) <= 1e-4 * np.maximum(ptab[:, 2], 1)), f"perturbation gains {ptab[:, 3]} vs ||J_T v|| {ptab[:, 2]}")
check(np.all(np.isfinite(ptab[:, 4:])) and np.all(ptab[:, 4:] > 0), f"output changes {ptab[:, 4:]}")
print(f"[{time.time() - T0:.1f} s] training Jacobian: P = {len(theta0)}, top sigma {s} equal PyTorch's dense J_T to 1e-8; "
      f"perturbation gain along v_1 {top_row[0, 3]:.6f} vs sigma_1 {sv[0]:.6f}")
print("train ok")
