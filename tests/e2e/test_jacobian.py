"""Input-output Jacobians across depth (job key jacobian:) against numpy on the explicit
products: a torch MLP (tanh) saved as an h5py state dict, inputs from an HDF5 file.

- log sigma_i(J_{l:1}(x)) for every depth and input equals numpy's SVD of the explicitly
  formed product W_l G_{l-1} ... G_1 W_1 (gates G = diag(tanh'(z)) at x); the stored mean,
  std and median over the inputs equal numpy's statistics of those values;
- Lyapunov exponents with k = width: sum_i l * lambda_i(l) = log |det J_{l:1}| at every
  depth (exact, whatever the initial block);
- with k = 3: the cosines between the top-3 right singular vectors of J_{L:l+1} and the
  top-3 left singular vectors of J_{l:1} equal numpy's principal angles;
- the same numbers at 1 and 2 ranks (2 input groups by default; every G and rank count:
  test_jacobian_groups.py)."""
import os, shutil
import numpy as np
import h5py
import scipy.linalg
import torch
from spdref import *

torch.set_default_dtype(torch.float64)
work = os.path.abspath("e2e_jacobian")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
D, N = 8, 5
torch.manual_seed(4)
net = torch.nn.Sequential(torch.nn.Linear(D, D), torch.nn.Tanh(), torch.nn.Linear(D, D), torch.nn.Tanh(), torch.nn.Linear(D, D))
with h5py.File(f"{work}/net.h5", "w") as f:
    for k, v in net.state_dict().items():
        f[k] = v.numpy() * 1.5  # weights with some expansion
Ws = [net[i].weight.detach().numpy() * 1.5 for i in (0, 2, 4)]
bs = [net[i].bias.detach().numpy() * 1.5 for i in (0, 2, 4)]
X = np.random.default_rng(2).standard_normal((N, D))
with h5py.File(f"{work}/data.h5", "w") as f:
    f["X"] = X
    f["y"] = np.zeros(N, dtype=np.int64)


def partials(x):
    """[J_{1:1}, J_{2:1}, J_{3:1}] and the gates at x."""
    gates, h = [], x
    for l in range(2):
        z = Ws[l] @ h + bs[l]
        gates.append(1 - np.tanh(z) ** 2)
        h = np.tanh(z)
    J = [Ws[0]]
    for l in range(1, 3):
        J.append(Ws[l] @ np.diag(gates[l - 1]) @ J[-1])
    return J, gates


def job(k):
    write_job(f"{work}/job{k}.yaml", f"""
checkpoints: [net.h5]
model: {{activation: tanh, loss: mse}}
data: {{source: hdf5, path: data.h5, x: X, y: y}}
jacobian: {{inputs: {N}, k: {k}}}
""")
    return f"{work}/job{k}.yaml"


res = {}
for np_ in (1, 2):
    for k in (8, 3):
        out = f"{work}/r{k}_{np_}"
        run(["run", job(k), "-o", out], np_=np_, expect=0)
        files = task_files(out)
        check(list(files) == [("net", "jacobian/inputs")], f"one jacobian task, got {list(files)}")
        with h5py.File(files[("net", "jacobian/inputs")], "r") as f:
            check(f.attrs["analysis"] == "jacobian" and f.attrs["k"] == k and f.attrs["layers"] == 3, "jacobian attributes")
            depth = list(f["spectra/depth"][()])
            check(depth == [1, 2, 3], f"depths {depth}")
            ls = f["spectra/logsigma"][()].reshape(N, 3, k)
            ref = np.array([[np.log(np.linalg.svd(J, compute_uv=False)[:k]) for J in partials(x)[0]] for x in X])
            check(np.abs(ls - ref).max() < 1e-8, f"log sigma of J_(l:1) differ from numpy by {np.abs(ls - ref).max():.3g}")
            check(np.abs(f["spectra/logsigma_mean"][()] - ref.mean(0)).max() < 1e-8, "mean over inputs")
            check(np.abs(f["spectra/logsigma_std"][()] - ref.std(0, ddof=1)).max() < 1e-8, "std over inputs")
            check(np.abs(f["spectra/logsigma_q50"][()] - np.median(ref, 0)).max() < 1e-8, "median over inputs")
            check(np.abs(f["spectra/gap"][()].reshape(N, 3, k - 1) - (ref[:, :, :-1] - ref[:, :, 1:])).max() < 1e-8, "gaps")
            if k == 8:  # Lyapunov with the whole space: the volume identity is exact
                cum = f["lyapunov/cumulative"][()].reshape(N, 3, k)
                for i, x in enumerate(X):
                    for l, J in enumerate(partials(x)[0]):
                        logdet = np.linalg.slogdet(J)[1]
                        check(abs((l + 1) * cum[i, l].sum() - logdet) < 1e-8 * max(1, abs(logdet)), f"input {i} depth {l + 1}: sum of exponents x depth {(l + 1) * cum[i, l].sum()} vs log|det| {logdet}")
                check(np.abs(f["lyapunov/lambda"][()].reshape(N, k) - cum[:, -1]).max() < 1e-14, "lambda = estimate at full depth")
            else:  # alignment: right vectors of J_(L:l+1) vs left vectors of J_(l:1)
                cs = f["spectra/cosines"][()].reshape(N, 3, k)
                for i, x in enumerate(X):
                    J, g = partials(x)
                    for l in (1, 2):  # J_(3:1) = J_(3:l+1) G_l J_(l:1); at l = 3 there is no upper part
                        upper = Ws[2] if l == 2 else Ws[2] @ np.diag(g[1]) @ Ws[1]
                        Vu = np.linalg.svd(upper)[2][:k].T
                        Ul = np.linalg.svd(J[l - 1])[0][:, :k]
                        ref_c = np.sort(np.cos(scipy.linalg.subspace_angles(Vu, Ul)))[::-1]
                        check(np.abs(cs[i, l - 1] - ref_c).max() < 1e-6, f"input {i} depth {l}: cosines {cs[i, l - 1]} vs numpy {ref_c}")
            res[(np_, k)] = ls
for k in (8, 3):
    check(np.abs(res[(2, k)] - res[(1, k)]).max() < 1e-10, "1 and 2 ranks agree")
print("jacobian e2e OK")
