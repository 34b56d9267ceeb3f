#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Run by hand (with Debian's /usr/bin/python3: numpy, h5py) when the formats change; the
outputs are committed, small (each file < 64 KiB). Derived from the real fixtures in
../shared/fixtures/real (not copied: the Keras file is rebuilt by h5py with the same
groups, attributes and model_config but tiny weight shapes; the tinygrad header is kept
with its shapes shrunk), from the project's job files and docs, and from synthetic
files covering every dtype and layout the readers accept.

    /usr/bin/python3 tests/fuzz/make_seeds.py [FIXTURES]
"""
import gzip
import json
import os
import re
import struct
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "fixtures", "real")
CORPUS = os.path.join(HERE, "corpus")
rng = np.random.default_rng(7)


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- safetensors -----------------------------------------------------------------
ST_DT = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
         "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


def safetensors(tensors, metadata=None, sep=(",", ":"), pad=True):
    """tensors: list of (name, dtype, shape); returns the file bytes."""
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, shape in tensors:
        n = int(np.prod(shape)) if shape else 1
        if dt == "BF16":
            raw = (rng.standard_normal(n).astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        elif dt in ("F64", "F32", "F16"):
            raw = rng.standard_normal(n).astype(ST_DT[dt]).tobytes()
        else:
            raw = (rng.integers(0, 2, n)).astype(ST_DT[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=sep).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def seeds_safetensors():
    t = "safetensors"
    out(t, "mlp-f32.safetensors", safetensors([("0.weight", "F32", [4, 3]), ("0.bias", "F32", [4]),
                                              ("2.weight", "F32", [2, 4]), ("2.bias", "F32", [2])],
                                             {"format": "pt"}))
    out(t, "every-dtype.safetensors", safetensors([(f"t.{dt.lower()}", dt, [2, 3]) for dt in
                                                  ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8",
                                                   "U8", "U16", "U32", "U64", "BOOL"]]))
    out(t, "shapes.safetensors", safetensors([("scalar", "F32", []), ("empty", "F32", [0, 5]),
                                             ("conv.weight", "F16", [2, 2, 3, 3]), ("vec", "F64", [7]),
                                             ("l1.weight", "BF16", [3, 5])], pad=False))
    out(t, "spaced.safetensors", safetensors([("h.0.attn.c_attn.weight", "F32", [4, 12])], {"a": "b"},
                                            sep=(", ", ": ")))
    # the real tinygrad file's header, shapes shrunk (784 -> 12, 128 -> 6, 10 -> 3)
    with open(os.path.join(FIX, "mnist-mlp-tinygrad.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
    shrink = {784: 12, 128: 6, 10: 3}
    tensors = [(k, v["dtype"], [shrink.get(d, d) for d in v["shape"]]) for k, v in hdr.items() if k != "__metadata__"]
    out(t, "tinygrad-mnist-trimmed.safetensors", safetensors(tensors, hdr.get("__metadata__")))


def seeds_index():
    t = "safetensors_index"
    both = {"0.weight": "model-00001-of-00002.safetensors", "0.bias": "model-00001-of-00002.safetensors",
            "2.weight": "model-00002-of-00002.safetensors", "2.bias": "model-00002-of-00002.safetensors",
            "norm.scale": "model-00002-of-00002.safetensors"}
    out(t, "two-shards.json", json.dumps({"metadata": {"total_size": 112}, "weight_map": both}, indent=2))
    out(t, "one-shard.json", json.dumps({"weight_map": {"0.weight": "model-00001-of-00002.safetensors"}}))
    out(t, "other.json", json.dumps({"metadata": {}, "weight_map": {"0.weight": "other.safetensors"}}))
    out(t, "broken-shard.json", json.dumps({"weight_map": {"x": "broken.safetensors"}}))
    out(t, "missing.json", json.dumps({"weight_map": {"a": "model-00009-of-00009.safetensors"}}))


# ---- HDF5 ------------------------------------------------------------------------
def h5bytes(path):
    with open(path, "rb") as f:
        return f.read()


def keras_trimmed(path):
    """The real Keras 3 file's groups and attributes (model_config included) with tiny weights."""
    shrink = {784: 6, 64: 4, 10: 3}
    src = h5py.File(os.path.join(FIX, "mnist-mlp-keras.h5"), "r")
    with h5py.File(path, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v

        def copy(name, obj):
            if name.startswith("optimizer_weights/adam/sequential_dense_1") or \
               name.startswith("optimizer_weights/adam/sequential_dense_2"):
                return  # keep the optimizer group, but only a few of its weights
            if isinstance(obj, h5py.Group):
                g = dst.require_group(name)
            else:
                shape = tuple(shrink.get(d, d) for d in obj.shape)
                g = dst.create_dataset(name, data=rng.standard_normal(shape).astype(obj.dtype))
            for k, v in obj.attrs.items():
                g.attrs[k] = v
        src.visititems(copy)


def seeds_hdf5(tmp):
    t = "hdf5"
    d = os.path.join(CORPUS, t)
    os.makedirs(d, exist_ok=True)
    # the checkpoints fuzz_keras_config opens (kept in this corpus: they are seeds too)
    keras_trimmed(os.path.join(d, "keras3-mnist-trimmed.h5"))
    with h5py.File(os.path.join(d, "keras2-style.h5"), "w") as f:
        cfg = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
            {"class_name": "Flatten", "config": {"name": "flatten"}},
            {"class_name": "Dense", "config": {"name": "d1", "units": 4, "activation": "tanh", "use_bias": True}},
            {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5}},
            {"class_name": "Dense", "config": {"name": "d2", "units": 2, "activation": "linear", "use_bias": False}}]}}
        f.attrs["model_config"] = json.dumps(cfg).encode()  # Keras 2 writes bytes
        f.attrs["keras_version"] = b"2.4.0"
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = np.array([b"flatten", b"d1", b"drop", b"d2"])
        for ln, ws in [("flatten", []), ("d1", [("kernel:0", (5, 4)), ("bias:0", (4,))]), ("drop", []),
                       ("d2", [("kernel:0", (4, 2))])]:
            g = mw.create_group(ln)
            g.attrs["weight_names"] = np.array([f"{ln}/{w}".encode() for w, _ in ws], dtype="S") if ws else np.zeros(0)
            for w, shp in ws:
                g.create_dataset(f"{ln}/{w}", data=rng.standard_normal(shp).astype("f4"))
    with h5py.File(os.path.join(d, "keras-weights-only.h5"), "w") as f:  # save_weights(): layer_names on the root
        f.attrs["layer_names"] = np.array([b"dense", b"dense_1"])
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "Dense", "config": {"name": "dense", "activation": "relu"}},
            {"class_name": "Dense", "config": {"name": "dense_1", "activation": "softmax"}}]}})
        for ln, shp in [("dense", (3, 5)), ("dense_1", (5, 2))]:
            g = f.create_group(ln)
            g.attrs["weight_names"] = np.array([f"{ln}/kernel:0".encode(), f"{ln}/bias:0".encode()])
            g.create_dataset(f"{ln}/kernel:0", data=rng.standard_normal(shp).astype("f8"))
            g.create_dataset(f"{ln}/bias:0", data=np.zeros(shp[1], "f8"))
    with h5py.File(os.path.join(d, "statedict.h5"), "w") as f:  # h5py dump of a PyTorch state dict
        f.create_dataset("layer1/weight", data=rng.standard_normal((4, 6)).astype("f4"))
        f.create_dataset("layer1/bias", data=np.zeros(4, "f4"))
        f.create_dataset("layer2/weight", data=rng.standard_normal((3, 4)).astype("f2"))
        f.create_dataset("conv/weight", data=rng.standard_normal((2, 1, 3, 3)).astype("f8"))
        f.create_dataset("buffers/num_batches", data=np.int64(5))
        f.create_dataset("buffers/mask", data=np.array([True, False, True]))
        f.create_dataset("buffers/ids", data=np.arange(6, dtype="u2").reshape(2, 3))
        f.create_dataset("meta/name", data="not a tensor")
        f["alias"] = h5py.SoftLink("/layer1/weight")
        f.create_dataset("empty", data=h5py.Empty("f4"))
    with h5py.File(os.path.join(d, "latest-chunked.h5"), "w", libver="latest") as f:  # other object headers, filters
        f.create_dataset("0.weight", data=rng.standard_normal((8, 5)).astype("f4"), chunks=(4, 5), compression="gzip")
        f.create_dataset("2.weight", data=rng.standard_normal((2, 8)).astype("f4"), chunks=(1, 8), shuffle=True)
        f.create_dataset("2.bias", data=np.zeros(2, "f4"))
        f.attrs["model_config"] = "not json"


# ---- Keras model_config (byte 0: checkpoint + spec selector) ---------------------------
def seeds_keras_config():
    t = "keras_config"
    cfg = h5py.File(os.path.join(FIX, "mnist-mlp-keras.h5"), "r").attrs["model_config"]
    cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
    out(t, "keras3-mnist-real", b"\x00" + cfg.encode())
    out(t, "keras3-mnist-real-act-given", b"\x10" + cfg.encode())
    c2 = json.dumps({"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "Flatten", "config": {"name": "flatten"}},
        {"class_name": "Dense", "config": {"name": "d1", "activation": "tanh", "use_bias": True}},
        {"class_name": "Dropout", "config": {"name": "drop"}},
        {"class_name": "Dense", "config": {"name": "d2", "activation": "linear", "use_bias": False}}]}})
    out(t, "keras2-style", b"\x01" + c2.encode())
    out(t, "keras2-style-custom", b"\x21" + c2.encode())
    c3 = json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "dense", "activation": "gelu"}},
        {"class_name": "Dense", "config": {"name": "dense_1", "activation": "softmax"}}]}})
    out(t, "weights-only", b"\x02" + c3.encode())
    out(t, "conv-layer", b"\x00" + json.dumps({"config": {"layers": [{"class_name": "Conv2D", "config": {"name": "c"}}]}}).encode())


# ---- job files -----------------------------------------------------------------------
def seeds_job():
    t = "job"
    for rel in ["jobs/demo.yaml", "jobs/templates/weights.yaml", "configs/sites/example.yaml",
                "configs/solvers/accurate.yaml", "configs/solvers/fast.yaml"]:
        p = os.path.join(ROOT, rel)
        if os.path.exists(p):
            out(t, rel.replace("/", "_"), h5bytes(p))
    doc = os.path.join(ROOT, "docs", "jobs.md")
    if os.path.exists(doc):
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", open(doc).read(), re.S)):
            out(t, f"docs_jobs_{i}.yaml", block)
    out(t, "minimal.yaml", "checkpoints: [a.safetensors]\n")
    out(t, "flow.yaml", "checkpoints: [a, {path: b.h5, label: B}]\nweights: {full: true, top: 0}\n"
        "resources: {memory_per_rank: 512MiB, ranks_per_task: auto}\nsolver: \"-svd_tol 1e-10 -log_view\"\n")
    out(t, "curvature.yaml", "checkpoints: [model.safetensors]\nmodel:\n  layers:\n    - {weight: l1.weight, bias: null}\n"
        "    - {weight: l2.weight}\n  activation: leaky_relu\n  loss: cross_entropy\n"
        "  parameterization: {weights: [1, 0.5], biases: [1, 1]}\ndata:\n  source: gaussian_mixture\n  n: 64\n  d: 784\n"
        "  classes: 10\n  snr: 2\n  seed: 3\ncurvature:\n  operators: [hessian, gauss_newton, gradient_covariance]\n"
        "  blocks: [whole, layers]\n  top: 4\n  bottom: 2\n  trace: 8\n  density: {probes: 2, steps: 10}\n")
    out(t, "runs.yaml", "runs:\n  - name: a\n    checkpoints: run_a/step_{step}/model.safetensors\n"
        "  - name: b\n    checkpoints: [x.safetensors, y.safetensors]\ncompare:\n  k: 3\n  checkpoints: [final, previous]\n"
        "  runs: true\n  layers: [auto, {a: '*.fc.weight', b: '*.proj.weight', spaces: in-in}]\n  differences: [runs, previous, initial]\n")


# ---- IDX: flags, images length (LE16), images, labels ----------------------------------
def idx(dims, values):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(values)


def seeds_idx():
    t = "idx"

    def pack(flags, images, labels):
        return bytes([flags]) + struct.pack("<H", len(images)) + images + labels

    im = idx([3, 2, 2], range(12))
    lb = idx([3], [1, 0, 9])
    out(t, "plain", pack(0, im, lb))
    out(t, "gzip-both", pack(3, im, lb))
    out(t, "nmax1", pack(4, im, lb))
    out(t, "flat-images", pack(8, idx([4, 3], range(12)), idx([4], [11, 2, 3, 4])))
    out(t, "gz-stream-in-input", pack(0, gzip.compress(im, mtime=0), gzip.compress(lb, mtime=0)))
    # the first samples of the real Fashion-MNIST files (dataset-fashion-mnist), n set to 2
    fm = "/usr/share/datasets/fashion-mnist"
    for p in (os.path.join(fm, "train-images-idx3-ubyte.gz"), os.path.join(fm, "t10k-images-idx3-ubyte.gz")):
        if os.path.exists(p):
            lp = p.replace("images-idx3", "labels-idx1")
            with gzip.open(p) as f:
                raw = f.read(16 + 2 * 784)
            with gzip.open(lp) as f:
                rawl = f.read(10)
            images = raw[:4] + struct.pack(">I", 2) + raw[8:]
            labels = rawl[:4] + struct.pack(">I", 2) + rawl[8:]
            out(t, "fashion-mnist-2", pack(1, images, labels))
            break


def dict_escape(s):
    """libFuzzer dictionary escapes: \\\\, \\" and \\xNN only."""
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\x{ord(c):02X}" for c in s)


def dicts():
    d = os.path.join(HERE, "dicts")
    os.makedirs(d, exist_ok=True)
    st = ['"dtype"', '"shape"', '"data_offsets"', '"__metadata__"', '"weight_map"', '"metadata"'] + \
         [f'"{k}"' for k in ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL"]]
    with open(os.path.join(d, "json.dict"), "w") as f:
        f.write("".join(f'kw{i}="{s.replace(chr(34), chr(92) + chr(34))}"\n' for i, s in enumerate(st)))
    keras = ['"class_name"', '"config"', '"layers"', '"name"', '"activation"', '"use_bias"', '"Dense"',
             '"InputLayer"', '"Flatten"', '"Dropout"', '"relu"', '"tanh"', '"gelu"', '"leaky_relu"', '"linear"',
             '"softmax"', "true", "false", "null", '"dense/kernel"', '"dense_1"', '"d1"', '"d2"']
    with open(os.path.join(d, "keras.dict"), "w") as f:
        f.write("".join(f'kw{i}="{s.replace(chr(34), chr(92) + chr(34))}"\n' for i, s in enumerate(keras)))
    # job keys: every key the parser knows, taken from the job layer's key tables
    src = open(os.path.join(ROOT, "src", "job", "jobfile.c")).read() + \
        open(os.path.join(ROOT, "src", "job", "jobmodel.c")).read()
    words = sorted(set(re.findall(r'"([a-z_]{2,24})"', src)))
    with open(os.path.join(d, "job.dict"), "w") as f:
        for i, w in enumerate(words):
            f.write(f'k{i}="{w}: "\n')
        for i, s in enumerate(["{step}", "- ", ": ", "[", "]", "{", "}", "\n  ", "'*'", "null", "true", "auto",
                               "1GiB", "-1", "1e-10", "&a ", "*a", "!!str ", "---\n", "? "]):
            f.write(f'p{i}="{dict_escape(s)}"\n')


if __name__ == "__main__":
    seeds_safetensors()
    seeds_index()
    seeds_hdf5(None)
    seeds_keras_config()
    seeds_job()
    seeds_idx()
    dicts()
    for t in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, t))
        print(t, len(files), "seeds,", sum(os.path.getsize(os.path.join(CORPUS, t, x)) for x in files), "bytes")
