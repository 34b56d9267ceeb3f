"""`specdyn train` with an `ensemble:` section (docs/alignment.md): the job key reaches the
experiment. It runs on 2 ranks and writes <output>/ensemble.h5; the hidden-layer CKA
between members grows with the SNR (linear teacher-student); every pairwise CKA is in
[0, 1] and the stored mean is their mean; a rerun leaves the stored file alone; a bad
value is a job error naming the key. (The measures themselves are checked against numpy
in tests/align.)"""
import os, sys, tempfile
import numpy as np
import h5py

sys.path.insert(0, os.path.dirname(__file__))
from spdref import run, check

JOB = """output: out
ensemble:
  snr: [0.1, 1, 10]
  n: [64]
  members: 3
  d: 8
  outputs: 4
  width: 12
  probes: 128
  test: 256
  train: {steps: 150, lr: 0.1}
"""

with tempfile.TemporaryDirectory() as tmp:
    job = os.path.join(tmp, "ens.yaml")
    with open(job, "w") as f:
        f.write(JOB)
    run(["train", job], np_=2, expect=0)
    path = os.path.join(tmp, "out", "ensemble.h5")
    with h5py.File(path, "r") as f:
        g = f["ensemble"]
        snr = g["snr"][()]
        cka = g["cka_mean"][()]  # (snr, n, layer)
        pairs = g["cka_pairs"][()]
    check(np.allclose(snr, [0.1, 1, 10]), f"snr grid {snr}")
    hidden = cka[:, 0, 0]
    print("hidden-layer CKA vs SNR:", np.round(hidden, 4))
    check(np.all(np.diff(hidden) > 0), f"CKA not increasing with SNR: {hidden}")
    check(np.all((pairs >= -1e-12) & (pairs <= 1 + 1e-12)), "CKA outside [0, 1]")
    check(np.allclose(pairs.mean(axis=-1), cka), "cka_mean is not the mean of cka_pairs")
    mtime = os.path.getmtime(path)
    run(["train", job], np_=1, expect=0)
    check(os.path.getmtime(path) == mtime, "a rerun rewrote ensemble.h5")
    with open(job, "w") as f:
        f.write(JOB.replace("members: 3", "members: 1"))
    code, out, err = run(["train", job, "-o", os.path.join(tmp, "bad")], np_=1)
    check(code == 2 and "ensemble.members" in out + err, f"members: 1 gave exit {code}: {out}{err}")
print("PASSED")
