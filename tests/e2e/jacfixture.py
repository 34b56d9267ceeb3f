"""Shared fixture of the Jacobian end-to-end tests (test_jacobian.py, test_jacobian_groups.py):
a torch MLP 8-8-8-8 (tanh, weights and biases scaled by 1.5 for some expansion) saved as an
h5py state dict, N = 5 Gaussian inputs in an HDF5 file, and the numpy references on the
explicitly formed products J_{l:1}(x) = W_l G_{l-1} ... G_1 W_1 (gates G = diag(tanh'(z))
at x): log singular values, the volume identity of the Lyapunov exponents and the principal
cosines between the factors of J_{L:1}."""
import os, shutil
import numpy as np
import h5py
import scipy.linalg
import torch
from spdref import check

D, N = 8, 5


class TanhNet:
    """The network and the inputs, written to <work>/net.h5 and <work>/data.h5 (datasets
    X and y) in a fresh directory work; torch_seed draws the weights, data_seed the inputs."""

    def __init__(self, work, torch_seed, data_seed):
        torch.set_default_dtype(torch.float64)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        torch.manual_seed(torch_seed)
        net = torch.nn.Sequential(torch.nn.Linear(D, D), torch.nn.Tanh(), torch.nn.Linear(D, D), torch.nn.Tanh(), torch.nn.Linear(D, D))
        with h5py.File(f"{work}/net.h5", "w") as f:
            for key, v in net.state_dict().items():
                f[key] = v.numpy() * 1.5  # weights with some expansion
        self.Ws = [net[i].weight.detach().numpy() * 1.5 for i in (0, 2, 4)]
        self.bs = [net[i].bias.detach().numpy() * 1.5 for i in (0, 2, 4)]
        self.X = np.random.default_rng(data_seed).standard_normal((N, D))
        with h5py.File(f"{work}/data.h5", "w") as f:
            f["X"] = self.X
            f["y"] = np.zeros(N, dtype=np.int64)

    def partials(self, x):
        """[J_{1:1}, J_{2:1}, J_{3:1}] and the gates at x."""
        Ws, bs = self.Ws, self.bs
        gates, h = [], x
        for l in range(2):
            z = Ws[l] @ h + bs[l]
            gates.append(1 - np.tanh(z) ** 2)
            h = np.tanh(z)
        J = [Ws[0]]
        for l in range(1, 3):
            J.append(Ws[l] @ np.diag(gates[l - 1]) @ J[-1])
        return J, gates

    def check_logsigma(self, ls, k, what=""):
        """Stored log sigma_i(J_{l:1}(x)), shape (N, 3, k), against numpy's SVD (1e-8);
        returns numpy's values."""
        pre = f"{what}: " if what else ""
        ref = np.array([[np.log(np.linalg.svd(J, compute_uv=False)[:k]) for J in self.partials(x)[0]] for x in self.X])
        check(np.abs(ls - ref).max() < 1e-8, f"{pre}log sigma of J_(l:1) differ from numpy by {np.abs(ls - ref).max():.3g}")
        return ref

    def check_volume(self, cum, what=""):
        """Lyapunov estimates with k = width, shape (N, 3, D): sum_i l lambda_i(l) equals
        log |det J_{l:1}| at every depth (exact, whatever the initial block)."""
        pre = f"{what}: " if what else ""
        for i, x in enumerate(self.X):
            for l, J in enumerate(self.partials(x)[0]):
                logdet = np.linalg.slogdet(J)[1]
                check(abs((l + 1) * cum[i, l].sum() - logdet) < 1e-8 * max(1, abs(logdet)), f"{pre}input {i} depth {l + 1}: sum of exponents x depth {(l + 1) * cum[i, l].sum()} vs log|det| {logdet}")

    def check_cosines(self, cs, k, what=""):
        """Stored cosines, shape (N, 3, k): at depths l = 1, 2 the cosines between the top-k
        right singular vectors of J_{L:l+1} and the top-k left singular vectors of J_{l:1}
        equal numpy's principal angles (1e-6); J_(3:1) = J_(3:l+1) G_l J_(l:1), and at
        l = 3 there is no upper part."""
        pre = f"{what}: " if what else ""
        Ws = self.Ws
        for i, x in enumerate(self.X):
            J, g = self.partials(x)
            for l in (1, 2):
                upper = Ws[2] if l == 2 else Ws[2] @ np.diag(g[1]) @ Ws[1]
                Vu = np.linalg.svd(upper)[2][:k].T
                Ul = np.linalg.svd(J[l - 1])[0][:, :k]
                ref_c = np.sort(np.cos(scipy.linalg.subspace_angles(Vu, Ul)))[::-1]
                check(np.abs(cs[i, l - 1] - ref_c).max() < 1e-6, f"{pre}input {i} depth {l}: cosines {cs[i, l - 1]} vs numpy {ref_c}")
