"""Input-output Jacobians across depth (job key jacobian:) against numpy on the explicit
products: a torch MLP (tanh) saved as an h5py state dict, inputs from an HDF5 file (the
fixture and the numpy references are shared with test_jacobian_groups.py: jacfixture.py).

- log sigma_i(J_{l:1}(x)) for every depth and input equals numpy's SVD of the explicitly
  formed product W_l G_{l-1} ... G_1 W_1 (gates G = diag(tanh'(z)) at x); the stored mean,
  std and median over the inputs equal numpy's statistics of those values;
- Lyapunov exponents with k = width: sum_i l * lambda_i(l) = log |det J_{l:1}| at every
  depth (exact, whatever the initial block);
- with k = 3: the cosines between the top-3 right singular vectors of J_{L:l+1} and the
  top-3 left singular vectors of J_{l:1} equal numpy's principal angles;
- the same numbers at 1 and 2 ranks (2 input groups by default; every G and rank count:
  test_jacobian_groups.py)."""
import os
import numpy as np
import h5py
from spdref import *
from jacfixture import TanhNet, N

work = os.path.abspath("e2e_jacobian")
fx = TanhNet(work, torch_seed=4, data_seed=2)


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
            ref = fx.check_logsigma(ls, k)
            check(np.abs(f["spectra/logsigma_mean"][()] - ref.mean(0)).max() < 1e-8, "mean over inputs")
            check(np.abs(f["spectra/logsigma_std"][()] - ref.std(0, ddof=1)).max() < 1e-8, "std over inputs")
            check(np.abs(f["spectra/logsigma_q50"][()] - np.median(ref, 0)).max() < 1e-8, "median over inputs")
            check(np.abs(f["spectra/gap"][()].reshape(N, 3, k - 1) - (ref[:, :, :-1] - ref[:, :, 1:])).max() < 1e-8, "gaps")
            if k == 8:  # Lyapunov with the whole space: the volume identity is exact
                cum = f["lyapunov/cumulative"][()].reshape(N, 3, k)
                fx.check_volume(cum)
                check(np.abs(f["lyapunov/lambda"][()].reshape(N, k) - cum[:, -1]).max() < 1e-14, "lambda = estimate at full depth")
            else:  # alignment: right vectors of J_(L:l+1) vs left vectors of J_(l:1)
                fx.check_cosines(f["spectra/cosines"][()].reshape(N, 3, k), k)
            res[(np_, k)] = ls
for k in (8, 3):
    check(np.abs(res[(2, k)] - res[(1, k)]).max() < 1e-10, "1 and 2 ranks agree")
print("jacobian e2e OK")
