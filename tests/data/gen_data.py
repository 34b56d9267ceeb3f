#!/usr/bin/python3
"""Write the inputs of the data-layer tests and their independent references.

usage: gen_data.py OUTDIR

Everything here is produced with NumPy / h5py / gzip / struct only (never with specdyn):
- HDF5 data sets (classification and regression, N-D inputs, integer and float32 inputs,
  a chunked gzip-compressed dataset, nested groups) and, for each load, the exact float64
  values each sample must have (xref: n x d raw float64; yref: int64 labels or float64 Y);
- IDX files (plain and gzipped) of random images and labels; references as for HDF5;
- if /usr/share/datasets/fashion-mnist exists: per-sample checksums of the first 1000
  training images and of all 10000 test images, computed with gzip + NumPy;
- malformed files and the message fragments their errors must contain;
- the first samples of the two generators, computed by an independent re-implementation of
  the documented algorithm (SplitMix64 streams per sample, Box-Muller normals);
and OUTDIR/cases.json describing all of it for data_load, data_errors, data_generators.
"""
import gzip
import json
import math
import os
import struct
import sys

import h5py
import numpy as np

OUT = os.path.abspath(sys.argv[1])
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240612)
FASHION = "/usr/share/datasets/fashion-mnist"
cases = {"load": [], "errors": [], "generators": {}}


def p(name):
    return os.path.join(OUT, name)


def ref(name, arr, dtype):
    np.ascontiguousarray(arr, dtype=dtype).tofile(p(name))
    return p(name)


def add_h5(file, x, y, nmax, X, Y, nclasses):
    """X, Y: what the loader must give (already cut to nmax, X flattened to n x d)."""
    n = X.shape[0]
    X = X.reshape(n, -1).astype(np.float64)
    tag = "h5_%d" % len(cases["load"])
    case = {"kind": "hdf5", "file": file, "x": x, "y": y, "nmax": nmax, "n": n, "d": X.shape[1],
            "xref": ref(tag + "_x.bin", X, "<f8")}
    if nclasses:
        case.update(nclasses=nclasses, c=0, yref=ref(tag + "_y.bin", Y, "<i8"))
    else:
        Y = Y.reshape(n, -1)
        case.update(nclasses=0, c=Y.shape[1], yref=ref(tag + "_y.bin", Y, "<f8"))
    cases["load"].append(case)


def err(kind, expect, **kw):
    kw.update(kind=kind, expect=expect)
    cases["errors"].append(kw)


# ---- HDF5: good files --------------------------------------------------------------
Xc = rng.standard_normal((37, 4, 5)).astype(np.float32)  # N-D float32 inputs
yc = rng.integers(0, 7, 37)
yc[5] = 6  # nclasses = 7
with h5py.File(p("cls.h5"), "w") as f:
    f["data/images"] = Xc
    f["data/labels"] = yc.astype(np.int64)
    f["data/labels_u8"] = yc.astype(np.uint8)
add_h5(p("cls.h5"), "/data/images", "/data/labels", 0, Xc, yc, 7)
add_h5(p("cls.h5"), "data/images", "data/labels_u8", 10, Xc[:10], yc[:10], int(yc[:10].max()) + 1)

Xr = rng.standard_normal((50, 13))
Yr = rng.standard_normal((50, 3))
with h5py.File(p("reg.h5"), "w") as f:
    f["X"] = Xr
    f["Y"] = Yr
    f["y1"] = Yr[:, 0].astype(np.float32)
    f["nan/X"] = np.where(np.arange(50)[:, None] * 13 + np.arange(13) == 7 * 13 + 2, np.nan, Xr)
add_h5(p("reg.h5"), "X", "Y", 0, Xr, Yr, 0)
add_h5(p("reg.h5"), "X", "Y", 1000, Xr, Yr, 0)  # nmax > n keeps all
add_h5(p("reg.h5"), "X", "Y", 3, Xr[:3], Yr[:3], 0)  # fewer samples than ranks
add_h5(p("reg.h5"), "/X", "/y1", 20, Xr[:20], Yr[:20, 0].astype(np.float32), 0)
add_h5(p("reg.h5"), "nan/X", "Y", 7, Xr[:7], Yr[:7], 0)  # the NaN at sample 7 is cut off

Xz = rng.integers(0, 256, (29, 6)).astype(np.uint8)  # integer inputs, chunked + gzip
yz = rng.integers(0, 3, 29).astype(np.int16)
with h5py.File(p("zip.h5"), "w") as f:
    f.create_dataset("g/h/X", data=Xz, chunks=(4, 6), compression="gzip")
    f.create_dataset("g/h/y", data=yz, chunks=(8,), compression="gzip")
add_h5(p("zip.h5"), "g/h/X", "g/h/y", 0, Xz, yz, int(yz.max()) + 1)

# ---- HDF5: bad inputs ----------------------------------------------------------------
with open(p("text.h5"), "w") as f:
    f.write("not hdf5\n")
with h5py.File(p("bad.h5"), "w") as f:
    x = rng.standard_normal((10, 3))
    f["X"] = x
    f["y9"] = np.zeros(9, dtype=np.int64)
    f["Yinf"] = np.where(np.arange(10)[:, None] * 2 + np.arange(2) == 9 * 2 + 1, np.inf, np.ones((10, 2)))
    lab = np.arange(10) % 3
    lab[6] = -1
    f["yneg"] = lab
    f["ystr"] = np.array([b"a"] * 10)
    f["y2d"] = np.zeros((10, 2), dtype=np.int32)
    f["y3d"] = np.zeros((10, 2, 2))
    f["grp/sub"] = np.zeros(3)
    f["xnan"] = np.where(np.arange(10)[:, None] * 3 + np.arange(3) == 7 * 3 + 2, np.nan, x)
    f["xinf"] = np.where(np.arange(10)[:, None] * 3 + np.arange(3) == 9 * 3 + 0, -np.inf, x)
    f["scalar"] = 1.0
    f["y"] = np.zeros(10, dtype=np.int64)
B = p("bad.h5")
err("hdf5", ["nonexistent.h5", "cannot read the data file", "No such file"], file=p("nonexistent.h5"), x="X", y="y", nmax=0)
err("hdf5", ["text.h5", "not an HDF5 file"], file=p("text.h5"), x="X", y="y", nmax=0)
err("hdf5", ["bad.h5", "no dataset 'nope/X'", "'nope' does not exist", "h5ls"], file=B, x="nope/X", y="y", nmax=0)
err("hdf5", ["bad.h5", "no dataset 'ymissing'", "targets y"], file=B, x="X", y="ymissing", nmax=0)
err("hdf5", ["bad.h5", "'grp' (the inputs X) is a group"], file=B, x="grp", y="y", nmax=0)
err("hdf5", ["bad.h5", "'X' have 10 samples", "'y9' have 9", "must match"], file=B, x="X", y="y9", nmax=0)
err("hdf5", ["bad.h5", "dataset 'xnan' (the inputs X)", "NaN", "sample 7, feature 2"], file=B, x="xnan", y="y", nmax=0)
err("hdf5", ["bad.h5", "dataset 'xinf' (the inputs X)", "-Inf", "sample 9, feature 0"], file=B, x="xinf", y="y", nmax=0)
err("hdf5", ["bad.h5", "dataset 'Yinf' (the targets y)", "+Inf", "sample 9, feature 1"], file=B, x="X", y="Yinf", nmax=0)
err("hdf5", ["bad.h5", "'yneg'", "negative label -1 at sample 6"], file=B, x="X", y="yneg", nmax=0)
err("hdf5", ["bad.h5", "'ystr'", "does not hold integers or floating-point"], file=B, x="X", y="ystr", nmax=0)
err("hdf5", ["bad.h5", "'y2d'", "integers with 2 dimensions"], file=B, x="X", y="y2d", nmax=0)
err("hdf5", ["bad.h5", "'y3d'", "3 dimensions"], file=B, x="X", y="y3d", nmax=0)
err("hdf5", ["bad.h5", "'scalar'", "scalar or empty"], file=B, x="scalar", y="y", nmax=0)


# ---- IDX -------------------------------------------------------------------------------
def idx_bytes(arr, typecode=0x08):
    arr = np.asarray(arr)
    return bytes([0, 0, typecode, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.astype(np.uint8).tobytes()


def write(name, data, gz):
    if gz:
        with gzip.open(p(name), "wb") as f:
            f.write(data)
    else:
        with open(p(name), "wb") as f:
            f.write(data)
    return p(name)


def add_idx(images, labels, nmax, img, lab, nclasses, full=True):
    n = img.shape[0]
    flat = img.reshape(n, -1).astype(np.float64)
    tag = "idx_%d" % len(cases["load"])
    case = {"kind": "idx", "images": images, "labels": labels, "nmax": nmax, "n": n, "d": flat.shape[1],
            "nclasses": nclasses, "c": 0, "yref": ref(tag + "_y.bin", lab, "<i8")}
    if full:
        case["xref"] = ref(tag + "_x.bin", flat / 255.0, "<f8")
    else:  # per-sample checksums of the bytes: sum b_j and sum (j % 13 + 1) b_j
        w = (np.arange(flat.shape[1]) % 13 + 1).astype(np.float64)
        case["xsum"] = ref(tag + "_xsum.bin", np.stack([flat.sum(1), flat @ w], 1), "<f8")
    cases["load"].append(case)


img = rng.integers(0, 256, (23, 4, 3), dtype=np.uint8)
lab = rng.integers(0, 10, 23, dtype=np.uint8)
lab[3] = 9
for gz in (False, True):
    sfx = ".gz" if gz else ""
    fi = write("small-images-idx3-ubyte" + sfx, idx_bytes(img), gz)
    fl = write("small-labels-idx1-ubyte" + sfx, idx_bytes(lab), gz)
    add_idx(fi, fl, 0, img, lab, 10)
    add_idx(fi, fl, 11, img[:11], lab[:11], 10)
lab12 = lab.copy()
lab12[20] = 12
fl12 = write("labels12-idx1-ubyte", idx_bytes(lab12), False)
add_idx(p("small-images-idx3-ubyte"), fl12, 0, img, lab12, 13)
img2 = rng.integers(0, 256, (9, 17), dtype=np.uint8)  # 2-D images (n x d)
lab2 = rng.integers(0, 10, 9, dtype=np.uint8)
add_idx(write("flat-images.gz", idx_bytes(img2), True), write("flat-labels.gz", idx_bytes(lab2), True), 0, img2, lab2, 10)

if os.path.isdir(FASHION):
    for part, nmax in (("train", 1000), ("t10k", 0)):
        fi = os.path.join(FASHION, part + "-images-idx3-ubyte.gz")
        fl = os.path.join(FASHION, part + "-labels-idx1-ubyte.gz")
        with gzip.open(fi, "rb") as f:
            raw = f.read()
        ni, nr, nc = struct.unpack(">III", raw[4:16])
        im = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(ni, nr, nc)
        with gzip.open(fl, "rb") as f:
            lb = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
        m = nmax if nmax else ni
        add_idx(fi, fl, nmax, im[:m], lb[:m], 10, full=False)
        cases["load"][-1]["real"] = True
else:
    print("gen_data.py: %s not found; the Fashion-MNIST cases are skipped" % FASHION)

S = p("small-images-idx3-ubyte")
SL = p("small-labels-idx1-ubyte")
err("idx", ["missing-images", "cannot open the IDX images file"], images=p("missing-images"), labels=SL, nmax=0)
err("idx", ["missing-labels", "cannot open the IDX labels file"], images=S, labels=p("missing-labels"), nmax=0)
err("idx", ["magic.idx", "not an IDX file", "magic bytes 50 4b 03 04"], images=write("magic.idx", b"PK\x03\x04" + bytes(40), False), labels=SL, nmax=0)
err("idx", ["float.idx", "type 0x0d", "unsigned-byte"], images=write("float.idx", bytes([0, 0, 0x0D, 2]) + struct.pack(">II", 2, 2) + bytes(16), False), labels=SL, nmax=0)
err("idx", ["lab2d.idx", "labels file has 2 dimensions", "labels must have 1 dimension"], images=S, labels=write("lab2d.idx", idx_bytes(np.zeros((23, 2))), False), nmax=0)
err("idx", ["img1d.idx", "images file has 1 dimensions", "at least 2"], images=write("img1d.idx", idx_bytes(np.zeros(23)), False), labels=SL, nmax=0)
err("idx", ["has 23 images but", "has 22 labels"], images=S, labels=write("lab22.idx", idx_bytes(lab[:22]), True), nmax=0)
err("idx", ["short.idx", "ends inside its header"], images=write("short.idx", bytes([0, 0, 8, 3]) + struct.pack(">I", 23), False), labels=SL, nmax=0)
err("idx", ["cut.idx", "truncated", "announces 23 samples"], images=write("cut.idx", idx_bytes(img)[:-5], False), labels=SL, nmax=0)
err("idx", ["long.idx", "header announces", "dimensions are wrong"], images=write("long.idx", idx_bytes(img) + bytes(3), False), labels=SL, nmax=0)
# a valid gzip stream whose content stops after 20 of the 23 announced images
err("idx", ["cut20.gz", "inside sample 20", "announces 23 samples"], images=write("cut20.gz", idx_bytes(img)[:16 + 20 * 12], True), labels=SL, nmax=0)
# a gzip stream cut in the middle
with open(p("small-images-idx3-ubyte.gz"), "rb") as f:
    gzdata = f.read()
err("idx", ["brokengz.gz", "truncated or corrupt"], images=write("brokengz.gz", gzdata[: len(gzdata) // 2], False), labels=SL, nmax=0)
err("idx", ["zero.idx", "dimension 0 equal to 0"], images=write("zero.idx", bytes([0, 0, 8, 3]) + struct.pack(">III", 0, 2, 2), False), labels=SL, nmax=0)

# ---- generators: an independent implementation of the documented algorithm --------------
M64 = (1 << 64) - 1
TAG_MIXTURE, TAG_TSAMPLE, TAG_TEACHER = 0x4D49585455524521, 0x5453414D504C4521, 0x5445414348455221


class Stream:
    def __init__(self, seed, tag, i):
        self.s = self.mix(((self.mix((seed & M64) ^ tag)) + i) & M64)
        self.spare = None

    @staticmethod
    def mix(z):
        z = (z + 0x9E3779B97F4A7C15) & M64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def next(self):
        out = self.mix(self.s)
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        return out

    def uniform(self):
        return (self.next() >> 11) * 2.0**-53

    def normal(self):
        if self.spare is not None:
            z, self.spare = self.spare, None
            return z
        u1 = ((self.next() >> 11) + 1) * 2.0**-53
        u2 = (self.next() >> 11) * 2.0**-53
        r = math.sqrt(-2.0 * math.log(u1))
        self.spare = r * math.sin(2.0 * math.pi * u2)
        return r * math.cos(2.0 * math.pi * u2)


SAMPLES = [0, 1, 2, 7, 500, 999]
mix = {"n": 4000, "d": 11, "k": 4, "snr": 2.5, "seed": 12345, "samples": []}
for i in SAMPLES:
    st = Stream(mix["seed"], TAG_MIXTURE, i)
    a = int(st.uniform() * mix["k"])
    x = [st.normal() for _ in range(mix["d"])]
    x[a] += mix["snr"]
    mix["samples"].append({"i": i, "label": a, "x": x})
ts = {"n": 4000, "d": 9, "c": 3, "snr": 4.0, "seed": -77, "samples": []}
st = Stream(ts["seed"], TAG_TEACHER, 0)
T = np.array([st.normal() for _ in range(ts["c"] * ts["d"])]).reshape(ts["c"], ts["d"])
sigma = math.sqrt((T**2).sum() / (ts["c"] * ts["d"] * ts["snr"]))
for i in SAMPLES:
    st = Stream(ts["seed"], TAG_TSAMPLE, i)
    x = np.array([st.normal() for _ in range(ts["d"])])
    y = T @ x / math.sqrt(ts["d"]) + sigma * np.array([st.normal() for _ in range(ts["c"])])
    ts["samples"].append({"i": i, "x": x.tolist(), "y": y.tolist()})
ts["T"] = T.ravel().tolist()
cases["generators"] = {"mixture": mix, "teacher": ts}

with open(p("cases.json"), "w") as f:
    json.dump(cases, f, indent=1)
print("gen_data.py: %d loads, %d error cases in %s" % (len(cases["load"]), len(cases["errors"]), OUT))
