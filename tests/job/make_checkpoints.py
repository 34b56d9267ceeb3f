#!/usr/bin/python3
"""Test data for job_plan: small safetensors checkpoints written by hand (8-byte
little-endian header length, JSON header, raw little-endian data) and, computed here
independently of specdyn, the analysed views the planner must produce for the job that
job_plan.c uses (see the JOB text there):

    tensors:  include ["*"], exclude ["*.skipme.*"]
    split:    "*.qkv.weight"    parts [q, k, v], axis 0, heads 4
              "*.c_attn.weight" parts [q, k, v], axis 0, transpose true
              "*.attn.kv.weight" parts [k, v], axis 1, heads 2
              "*.pq.weight"     parts [p, q], axis 1, transpose true

Output folder (argument 1): model.safetensors, other.safetensors, broken.safetensors,
expected_views.txt ("name row0 nrows col0 ncols transpose m n" per view of
model.safetensors) and expected_skipped.txt ("name reason-keyword").
"""
import json
import os
import struct
import sys

import numpy as np

DTYPES = {np.float32: "F32", np.float16: "F16", np.float64: "F64", np.int64: "I64"}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[arr.dtype.type], "shape": list(arr.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def views(name, shape, rule):
    """Analysed views of a tensor: the stored 2-D matrix is shape[0] x prod(shape[1:])."""
    rows, cols = shape[0], int(np.prod(shape[1:]))
    if rule is None:
        return [(name, 0, rows, 0, cols, 0, rows, cols)]
    parts, heads, axis, transpose = rule
    # analysed matrix A = S (or S^T); its rows are stored rows unless transposed
    m, n = (cols, rows) if transpose else (rows, cols)
    length = m if axis == 0 else n
    cut_stored_rows = (axis == 0) != transpose
    out = []
    lp = length // len(parts)
    for p, pname in enumerate(parts):
        pieces = [(f"{name}[{pname}]", p * lp, lp)]
        if heads:
            lh = lp // heads
            pieces += [(f"{name}[{pname}]/head{h}", p * lp + h * lh, lh) for h in range(heads)]
        for vname, off, ln in pieces:
            if cut_stored_rows:
                r0, nr, c0, nc = off, ln, 0, cols
            else:
                r0, nr, c0, nc = 0, rows, off, ln
            am, an = (nc, nr) if transpose else (nr, nc)
            out.append((vname, r0, nr, c0, nc, int(transpose), am, an))
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    model = [
        ("features.conv.weight", f32(8, 3, 3, 3)),            # conv kernel -> 8 x 27
        ("features.conv.bias", f32(8)),                       # 1-D: skipped
        ("blocks.0.attn.qkv.weight", f32(3 * 64, 64)),        # fused, split q,k,v x 4 heads
        ("blocks.0.attn.qkv.bias", f32(3 * 64)),              # 1-D: skipped
        ("blocks.0.attn.c_attn.weight", f32(64, 3 * 64)),     # GPT-2 Conv1D [in, out]
        ("blocks.0.attn.kv.weight", f32(32, 128)),            # split along columns, 2 heads
        ("blocks.0.attn.pq.weight", f32(96, 32)),             # axis 1 of the transposed matrix
        ("blocks.0.mlp.fc.weight", rng.standard_normal((128, 64)).astype(np.float16)),
        ("blocks.0.ln.weight", f32(64)),                      # 1-D: skipped
        ("blocks.0.skipme.weight", f32(16, 16)),              # excluded by glob
        ("buffers.index", np.arange(16, dtype=np.int64).reshape(4, 4)),  # integer: skipped
        ("big.weight", f32(600, 500)),                        # refused at a small budget
    ]
    write_safetensors(os.path.join(out, "model.safetensors"), model)
    write_safetensors(os.path.join(out, "other.safetensors"), [("head.weight", f32(10, 20)), ("head.bias", f32(10))])
    with open(os.path.join(out, "broken.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 40) + b'{"a": {"dtype": "F32", "shape": [2,')  # truncated header

    rules = {"blocks.0.attn.qkv.weight": (["q", "k", "v"], 4, 0, False),
             "blocks.0.attn.c_attn.weight": (["q", "k", "v"], 0, 0, True),
             "blocks.0.attn.kv.weight": (["k", "v"], 2, 1, False),
             "blocks.0.attn.pq.weight": (["p", "q"], 0, 1, True)}
    with open(os.path.join(out, "expected_views.txt"), "w") as f:
        for name, arr in model:
            if arr.ndim < 2 or arr.dtype.kind != "f" or ".skipme." in name:
                continue
            for v in views(name, arr.shape, rules.get(name)):
                f.write(" ".join(str(x) for x in v) + "\n")
    with open(os.path.join(out, "expected_skipped.txt"), "w") as f:
        for name, arr in model:
            if ".skipme." in name:
                continue
            if arr.ndim < 2:
                f.write(f"{name} 1-D\n")
            elif arr.dtype.kind != "f":
                f.write(f"{name} dtype\n")


if __name__ == "__main__":
    main()
