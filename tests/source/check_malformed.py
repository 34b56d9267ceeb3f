#!/usr/bin/python3
"""Malformed checkpoints must fail cleanly: non-zero exit, a message naming the file and
tensor on stderr, and no hang, at 2 ranks. Real checkpoints must list correctly.

usage: check_malformed.py DATADIR FIXTURES
(env: SPECDYN = the specdyn program, SPD_MPIEXEC = mpiexec)
"""
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

data, fixtures = sys.argv[1], sys.argv[2]
specdyn = os.environ["SPECDYN"]
mpiexec = os.environ.get("SPD_MPIEXEC", "mpiexec")
failures = []
passed = 0


def run(args, np=2):
    cmd = ["timeout", "60", mpiexec, "--oversubscribe", "-n", str(np)] + args
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def check(cond, what, out=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print(f"FAIL: {what}\n{out[-3000:]}", file=sys.stderr)


if not os.path.exists(specdyn):
    print(f"the specdyn program {specdyn} was not built", file=sys.stderr)
    sys.exit(1)

# Each failing mpiexec spends ~2 s tearing down, so the cases run 4 at a time.
jobs = []  # (args, expect_ok, fragments, label)
for c in json.load(open(os.path.join(data, "bad", "cases.json"))):
    f = c["file"]
    if c["read"]:
        # the header is fine, so the listing works; reading the data must fail
        jobs.append(([specdyn, "inspect", f], True, [], f"inspect {f} (valid header)"))
        jobs.append(([specdyn, "inspect", "--check", f], False, c["fragments"], f"inspect --check {f}"))
    else:
        jobs.append(([specdyn, "inspect", f], False, c["fragments"], f"inspect {f}"))
with ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(lambda j: run(j[0]), jobs))
for (args, ok, frags, label), (rc, out, err) in zip(jobs, results):
    if ok:
        check(rc == 0, f"{label}: exit {rc}", err)
        continue
    check(rc not in (0, 124), f"{label}: expected a failure, exit {rc}", err)
    for frag in frags:
        check(frag in err, f"{label}: stderr lacks {frag!r}", err)

# the real checkpoints list with the right shapes
rc, out, err = run([specdyn, "inspect", os.path.join(fixtures, "mnist-mlp-tinygrad.safetensors")])
check(rc == 0, f"inspect tinygrad exit {rc}", err)
for pat in [r"l1\.weight\s+F32\s+\[128, 784\]\s+401408", r"l2\.weight\s+F32\s+\[10, 128\]\s+5120", r"total: 2 tensors"]:
    check(re.search(pat, out), f"inspect tinygrad lacks /{pat}/", out)
rc, out, err = run([specdyn, "inspect", "--check", os.path.join(fixtures, "mnist-mlp-keras.h5")])
check(rc == 0, f"inspect keras exit {rc}", err)
for pat in [r"dense/kernel\s+F32\s+\[784, 64\].*\[in,out\]", r"dense/bias\s+F32\s+\[64\]\s+256",
            r"dense_1/kernel\s+F32\s+\[64, 64\].*\[in,out\]", r"dense_2/kernel\s+F32\s+\[64, 10\].*\[in,out\]",
            r"dense_2/bias\s+F32\s+\[10\]", r"total: 6 tensors", r"analyses them transposed", r"model_config"]:
    check(re.search(pat, out), f"inspect keras lacks /{pat}/", out)
check("optimizer" not in out and "adam" not in out, "inspect keras lists optimizer state", out)
rc, out, err = run([specdyn, "inspect", "--help"], np=1)
check(rc == 0 and "usage" in out, f"inspect --help exit {rc}", out + err)
rc, out, err = run([specdyn, "inspect"], np=1)
check(rc != 0 and "usage" in err, f"inspect without a path exit {rc}", out + err)

print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
