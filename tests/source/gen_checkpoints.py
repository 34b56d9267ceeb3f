#!/usr/bin/python3
"""Write the test inputs of the source layer and their independent references.

usage: gen_checkpoints.py OUTDIR FIXTURES

Everything here is produced with NumPy / h5py / json only (never with specdyn):
- safetensors files of every float dtype (F64, F32, F16, BF16) and the integer dtypes,
  a sharded model (index + 2 shards), an h5py state dict and a Keras-2-style .h5;
- for every tensor, the exact values of its stored 2-D view as raw float64 (.bin);
- manifests (synthetic.txt, real.txt) listing what a reader must report: name, dtype,
  byte offset, byte count, in_out flag, shape, reference file;
- f16_all.bin / bf16_all.bin: the float64 value of each of the 65536 bit patterns
  (NumPy's float16 -> float64; bfloat16 bits << 16 as a float32 -> float64);
- bad/: malformed checkpoints and bad/cases.json (file, expected message fragments).
"""
import json
import os
import struct
import sys

import h5py
import numpy as np

OUT = sys.argv[1]
FIX = sys.argv[2]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240611)

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U8": 1, "U16": 2, "U32": 4, "U64": 8, "BOOL": 1}
NPTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "u1"}


def bf16_bits(x):
    """bfloat16 bits of float32 values by truncation (the test needs exact bits, not rounding)."""
    return (np.asarray(x, dtype="<f4").view("<u4") >> 16).astype("<u2")


def bf16_value(bits):
    return (np.atleast_1d(bits).astype("<u4") << 16).view("<f4").astype(np.float64)


def encode(dtype, values):
    """(raw bytes, exact float64 values) of `values` stored as `dtype`."""
    if dtype == "BF16":
        bits = np.atleast_1d(bf16_bits(values))
        return bits.tobytes(), bf16_value(bits)
    arr = np.asarray(values).astype(NPTYPES[dtype])
    if dtype == "BOOL":
        arr = (np.asarray(values) != 0).astype("u1")
    return arr.tobytes(), arr.astype(np.float64)


def view2d(shape, flat):
    if len(shape) == 0:
        return flat.reshape(1, 1)
    if len(shape) == 1:
        return flat.reshape(1, shape[0])
    return flat.reshape(shape[0], int(np.prod(shape[1:], dtype=np.int64)))


def write_safetensors(path, tensors, metadata=None, order=None):
    """tensors: list of (name, dtype, shape, raw bytes). Returns {name: absolute offset}."""
    header, blobs, pos = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [pos, pos + len(raw)]}
        blobs.append(raw)
        pos += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return {name: 8 + len(h) + header[name]["data_offsets"][0] for name, _, _, _ in tensors}


manifests = {"synthetic": [], "real": []}


def add_checkpoint(kind, path, entries, config=None):
    """entries: list of dicts name, dtype, offset, nbytes, in_out, shape, ref (path or None)."""
    lines = [f"checkpoint {path} {len(entries)} {config or '-'}"]
    for e in entries:
        shape = " ".join(str(d) for d in e["shape"])
        lines.append(f"tensor {e['name']} {e['dtype']} {e['offset']} {e['nbytes']} {int(e['in_out'])} "
                     f"{e['ref'] or '-'} {len(e['shape'])} {shape}".rstrip())
    manifests[kind].append("\n".join(lines))


def save_ref(name, values2d):
    path = os.path.join(OUT, name)
    np.ascontiguousarray(values2d, dtype="<f8").tofile(path)
    return path


def sample(shape, dtype):
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    if flat.size >= 4:
        # values that exercise subnormals of the narrow types and exact small integers
        flat[0] = 3.0e-6 if dtype == "F16" else (2.0e-39 if dtype == "BF16" else 1e-300 if dtype == "F64" else 1e-40)
        flat[1] = -1.0
        flat[2] = 0.0
        flat[3] = 65504.0 if dtype == "F16" else 1.5
    return x


# ---- 1. one safetensors file per float dtype, plus integer dtypes --------------------
SHAPES = [("w2d", (37, 23)), ("conv", (6, 3, 4, 5)), ("bias", (11,)), ("scalar", ()),
          ("empty", (0, 4)), ("tall", (64, 3))]
for dtype in ["F64", "F32", "F16", "BF16"]:
    path = os.path.join(OUT, f"rt_{dtype.lower()}.safetensors")
    tensors, refs = [], {}
    for name, shape in SHAPES:
        raw, exact = encode(dtype, sample(shape, dtype))
        tensors.append((name, dtype, shape, raw))
        refs[name] = save_ref(f"rt_{dtype.lower()}_{name}.bin", view2d(shape, exact.reshape(-1)))
    offs = write_safetensors(path, tensors, metadata={"format": "pt", "writer": "gen_checkpoints.py"})
    add_checkpoint("synthetic", path, [
        dict(name=n, dtype=d, offset=offs[n], nbytes=len(r), in_out=False, shape=s, ref=refs[n])
        for n, d, s, r in tensors])

path = os.path.join(OUT, "mixed_ints.safetensors")
tensors, refs = [], {}
for dtype in ["I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL"]:
    lo, hi = {"I8": (-128, 128), "U8": (0, 256), "I16": (-30000, 30000), "U16": (0, 65536),
              "BOOL": (0, 2), "U32": (0, 2**32), "U64": (0, 2**53), "I64": (-2**53, 2**53),
              "I32": (-2**31, 2**31)}[dtype]
    v = rng.integers(lo, hi, size=(5, 7), dtype=np.int64 if dtype != "U64" else np.uint64)
    raw, exact = encode(dtype, v)
    name = f"t_{dtype.lower()}"
    tensors.append((name, dtype, (5, 7), raw))
    refs[name] = save_ref(f"mixed_{name}.bin", exact.reshape(5, 7))
offs = write_safetensors(path, tensors)
add_checkpoint("synthetic", path, [dict(name=n, dtype=d, offset=offs[n], nbytes=len(r), in_out=False, shape=s, ref=refs[n])
                                   for n, d, s, r in tensors])

# ---- 2. a sharded model: index + 2 shards ------------------------------------------
sh = os.path.join(OUT, "sharded")
os.makedirs(sh, exist_ok=True)
shards = {"model-00001-of-00002.safetensors": [("embed.weight", "F32", (50, 16)), ("layers.0.attn.weight", "BF16", (16, 48))],
          "model-00002-of-00002.safetensors": [("layers.0.mlp.weight", "F16", (32, 16)), ("layers.0.mlp.bias", "F32", (32,)),
                                               ("lm_head.weight", "F32", (50, 16))]}
weight_map, entries = {}, {}
for fname, ts in shards.items():
    tensors = []
    for name, dtype, shape in ts:
        raw, exact = encode(dtype, sample(shape, dtype))
        tensors.append((name, dtype, shape, raw))
        entries[name] = dict(name=name, dtype=dtype, nbytes=len(raw), in_out=False, shape=shape,
                             ref=save_ref(f"sharded_{name}.bin", view2d(shape, exact.reshape(-1))))
        weight_map[name] = fname
    offs = write_safetensors(os.path.join(sh, fname), tensors)
    for name, _, _, _ in tensors:
        entries[name]["offset"] = offs[name]
order = sorted(weight_map)  # the order Hugging Face writes
with open(os.path.join(sh, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": sum(e["nbytes"] for e in entries.values())},
               "weight_map": {k: weight_map[k] for k in order}}, f, indent=2)
add_checkpoint("synthetic", os.path.join(sh, "model.safetensors.index.json"), [entries[k] for k in order])

# ---- 3. an h5py state dict ---------------------------------------------------------
path = os.path.join(OUT, "statedict.h5")
h5 = [("conv/weight", np.float64, (4, 3, 5, 7)), ("deep/a/b/c", np.float32, (3, 2, 2)),
      ("flags", np.bool_, (6,)), ("half/w", np.float16, (9, 8)), ("ints", np.int32, (5, 4)),
      ("layer1/bias", np.float32, (20,)), ("layer1/weight", np.float32, (20, 13)), ("step", np.int64, ())]
names = {"conv/weight": "F64", np.float32: "F32"}
DT = {np.float64: "F64", np.float32: "F32", np.float16: "F16", np.int32: "I32", np.int64: "I64", np.bool_: "BOOL"}
ents = []
with h5py.File(path, "w") as f:
    for name, t, shape in h5:
        if t is np.bool_:
            v = rng.integers(0, 2, size=shape).astype(np.bool_)
        elif t in (np.int32, np.int64):
            v = rng.integers(-1000, 1000, size=shape).astype(t)
        else:
            v = sample(shape, {np.float16: "F16"}.get(t, "F32")).astype(t)
        f.create_dataset(name, data=v)
        ents.append(dict(name=name, dtype=DT[t], offset=-1, nbytes=int(np.prod(shape, dtype=np.int64)) * np.dtype(t).itemsize,
                         in_out=False, shape=shape, ref=save_ref(f"statedict_{name.replace('/', '_')}.bin",
                                                                 view2d(shape, np.asarray(v, dtype=np.float64).reshape(-1)))))
    f.create_dataset("info/name", data="resnet-ish")  # a string: not a tensor, not listed
    f.create_dataset("chunked/w", data=sample((33, 10), "F32").astype(np.float32), chunks=(8, 5), compression="gzip")
    v = f["chunked/w"][...]
    ents.insert(1, dict(name="chunked/w", dtype="F32", offset=-1, nbytes=33 * 10 * 4, in_out=False, shape=(33, 10),
                        ref=save_ref("statedict_chunked_w.bin", v.astype(np.float64))))
# h5py lists in name order, as the reader walks
ents.sort(key=lambda e: e["name"])
add_checkpoint("synthetic", path, ents)

# ---- 4. a Keras-2-style file: fixed-length byte attributes, ':0' suffixes, collisions --
path = os.path.join(OUT, "keras2.h5")
cfg = json.dumps({"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "dense_1"}}]}})
layers = {"dense_1": [("dense_1/kernel:0", (12, 7)), ("dense_1/bias:0", (7,))],
          "lstm": [("lstm/cell_a/kernel:0", (7, 4)), ("lstm/cell_b/kernel:0", (7, 4))],
          "flatten": []}
ents = []
with h5py.File(path, "w") as f:
    f.attrs["model_config"] = np.bytes_(cfg)
    mw = f.create_group("model_weights")
    mw.attrs["layer_names"] = np.array([b"dense_1", b"flatten", b"lstm"], dtype="S7")
    for layer in ["dense_1", "flatten", "lstm"]:
        g = mw.create_group(layer)
        g.attrs["weight_names"] = np.array([w.encode() for w, _ in layers[layer]], dtype="S40")
        full = layer == "lstm"
        for w, shape in layers[layer]:
            v = sample(shape, "F32").astype(np.float32)
            g.create_dataset(w, data=v)
            base = w if full else w.split("/")[-1]
            base = base[:-2] if base.endswith(":0") else base
            nm = f"{layer}/{base}"
            ents.append(dict(name=nm, dtype="F32", offset=-1, nbytes=v.nbytes, in_out=len(shape) == 2 and nm.endswith("kernel"),
                             shape=shape, ref=save_ref("keras2_" + nm.replace("/", "_") + ".bin", view2d(shape, v.astype(np.float64).reshape(-1)))))
    f.create_group("optimizer_weights").create_dataset("adam/m", data=np.zeros((3, 3), np.float32))
add_checkpoint("synthetic", path, ents, config="Dense")

# ---- 5. the real third-party checkpoints --------------------------------------------
st = os.path.join(FIX, "mnist-mlp-tinygrad.safetensors")
with open(st, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
ents = []
for name, e in header.items():
    if name == "__metadata__":
        continue
    b, end = e["data_offsets"]
    v = np.frombuffer(data[b:end], dtype=NPTYPES[e["dtype"]]).astype(np.float64)
    ents.append(dict(name=name, dtype=e["dtype"], offset=8 + n + b, nbytes=end - b, in_out=False, shape=e["shape"],
                     ref=save_ref("real_tinygrad_" + name + ".bin", view2d(e["shape"], v))))
add_checkpoint("real", st, ents)

kp = os.path.join(FIX, "mnist-mlp-keras.h5")
ents = []
with h5py.File(kp, "r") as f:
    config = f.attrs["model_config"]
    mw = f["model_weights"]
    for layer in [x.decode() if isinstance(x, bytes) else x for x in mw.attrs["layer_names"]]:
        g = mw[layer]
        wn = g.attrs.get("weight_names", [])
        wn = [x.decode() if isinstance(x, bytes) else x for x in wn] if getattr(wn, "dtype", None) is not None and wn.dtype.kind in "OSU" else []
        for w in wn:
            d = g[w]
            nm = f"{layer}/{w.split('/')[-1]}"
            v = d[...].astype(np.float64)
            ents.append(dict(name=nm, dtype={4: "F32", 8: "F64"}[d.dtype.itemsize], offset=-1, nbytes=d.nbytes,
                             in_out=d.ndim == 2 and nm.endswith("kernel"), shape=d.shape,
                             ref=save_ref("real_keras_" + nm.replace("/", "_") + ".bin", view2d(d.shape, v.reshape(-1)))))
add_checkpoint("real", kp, ents, config="Dense")

for kind, blocks in manifests.items():
    with open(os.path.join(OUT, f"{kind}.txt"), "w") as f:
        f.write("\n".join(blocks) + "\n")

# ---- 6. every 16-bit pattern through NumPy's conversions ------------------------------
allbits = np.arange(65536, dtype=np.uint32).astype("<u2")
allbits.view("<f2").astype("<f8").tofile(os.path.join(OUT, "f16_all.bin"))
bf16_value(allbits).astype("<f8").tofile(os.path.join(OUT, "bf16_all.bin"))

# ---- 7. malformed checkpoints -------------------------------------------------------
bad = os.path.join(OUT, "bad")
os.makedirs(bad, exist_ok=True)
cases = []


def raw_st(name, header_bytes, data=b"", length=None):
    p = os.path.join(bad, name)
    with open(p, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes) if length is None else length))
        f.write(header_bytes)
        f.write(data)
    return p


def case(path, *fragments, read=False):
    cases.append({"file": path, "fragments": list(fragments), "read": read})


good = np.arange(12, dtype="<f4")
hdr = lambda d: json.dumps(d).encode()
p = raw_st("truncated.safetensors", hdr({"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}}), good.tobytes()[:20])
case(p, "truncated.safetensors", "'w'", "truncated")
p = raw_st("hdrlen_past_eof.safetensors", b'{"w":{}}', length=5000)
case(p, "hdrlen_past_eof.safetensors", "header length", "truncated")
p = raw_st("hdrlen_cap.safetensors", b'{"w":{}}', length=2**40)
case(p, "hdrlen_cap.safetensors", "cap")
p = raw_st("malformed_json.safetensors", b'{"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]', good.tobytes())
case(p, "malformed_json.safetensors", "malformed")
p = raw_st("missing_offsets.safetensors", hdr({"w": {"dtype": "F32", "shape": [3, 4]}}), good.tobytes())
case(p, "missing_offsets.safetensors", "'w'", "data_offsets")
p = raw_st("unknown_dtype.safetensors", hdr({"w": {"dtype": "F8_E9", "shape": [3, 4], "data_offsets": [0, 12]}}), good.tobytes())
case(p, "unknown_dtype.safetensors", "'w'", "F8_E9", "supported dtypes")
p = raw_st("offsets_past_eof.safetensors", hdr({"w": {"dtype": "F32", "shape": [300, 4], "data_offsets": [0, 4800]}}), good.tobytes())
case(p, "offsets_past_eof.safetensors", "'w'", "truncated")
p = raw_st("overlap.safetensors", hdr({"a": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 32]},
                                       "b": {"dtype": "F32", "shape": [2, 2], "data_offsets": [16, 32]}}), good.tobytes())
case(p, "overlap.safetensors", "'a'", "'b'", "overlap")
p = raw_st("bad_length.safetensors", hdr({"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 40]}}), good.tobytes())
case(p, "bad_length.safetensors", "'w'", "needs 48")
p = raw_st("negative_shape.safetensors", hdr({"w": {"dtype": "F32", "shape": [-3, 4], "data_offsets": [0, 48]}}), good.tobytes())
case(p, "negative_shape.safetensors", "'w'", "negative")
p = raw_st("overflow_shape.safetensors", hdr({"w": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 48]}}), good.tobytes())
case(p, "overflow_shape.safetensors", "'w'", "64-bit")
nan = good.copy()
nan[6] = np.nan
p = raw_st("nan.safetensors", hdr({"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}}), nan.tobytes())
case(p, "nan.safetensors", "'w'", "NaN", "[1, 2]", read=True)
inf = good.copy()
inf[11] = -np.inf
p = raw_st("inf.safetensors", hdr({"w": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]}}), inf.tobytes())
case(p, "inf.safetensors", "'w'", "Inf", "[2, 3]", read=True)
sd = os.path.join(bad, "shards")
os.makedirs(sd, exist_ok=True)
write_safetensors(os.path.join(sd, "s1.safetensors"), [("a", "F32", (3, 4), good.tobytes())])
with open(os.path.join(sd, "missing_shard.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {}, "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}, f)
case(os.path.join(sd, "missing_shard.safetensors.index.json"), "missing_shard.safetensors.index.json", "'b'", "s2.safetensors", "missing")
with open(os.path.join(sd, "absent_tensor.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {}, "weight_map": {"a": "s1.safetensors", "zz": "s1.safetensors"}}, f)
case(os.path.join(sd, "absent_tensor.safetensors.index.json"), "absent_tensor.safetensors.index.json", "'zz'", "s1.safetensors", "has no tensor")
case(os.path.join(bad, "does_not_exist.safetensors"), "does_not_exist.safetensors", "No such file")
with open(os.path.join(bad, "notes.txt"), "w") as f:
    f.write("this is not a checkpoint\n")
case(os.path.join(bad, "notes.txt"), "notes.txt", "not a checkpoint")
with open(os.path.join(bad, "fake.h5"), "w") as f:
    f.write("not hdf5 either\n")
case(os.path.join(bad, "fake.h5"), "fake.h5", "not an HDF5 file")
with h5py.File(os.path.join(bad, "nan.h5"), "w") as f:
    v = np.ones((4, 5), np.float32)
    v[3, 1] = np.nan
    f.create_dataset("layer/weight", data=v)
case(os.path.join(bad, "nan.h5"), "nan.h5", "'layer/weight'", "NaN", "[3, 1]", read=True)
with open(os.path.join(bad, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1)
print(f"wrote test checkpoints to {OUT}")
