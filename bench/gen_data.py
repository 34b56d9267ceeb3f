#!/usr/bin/python3
"""Generate the benchmark inputs once (bench/run.sh calls this; existing files are reused).

Usage: /usr/bin/python3 bench/gen_data.py DATADIR [what ...]
  what: gauss2048 gauss4096 gauss8192f32 powerlaw8192f32 ckpt (default: all)

Dense matrices are single-tensor safetensors files (tensor "A", F64; F32 for the 8192² ones, row-major),
the format both sides of the benchmark read: specdyn through SpdReader + SpdMatLoadView,
the NumPy/SciPy peer through numpy.fromfile at the data offset.

- gaussN:       N x N, i.i.d. N(0, 1) entries (numpy default_rng, fixed seed).
- powerlaw8192: A = Q1 diag(s) Q2^T with s_i = i^-0.75 (i = 1..8192), the power-law
                decay of trained weight spectra, planted exactly. Q1, Q2 are dense
                orthogonal matrices that are cheap to apply: Q = D2 C P2 D1 C P1, with
                C the orthonormal DCT-II matrix (scipy.fft.dct, norm="ortho"), P random
                permutations and D random sign diagonals. Krylov solvers started from a
                random vector see only the spectrum, so this has the convergence
                behaviour of any U diag(s) V^T, at O(n^2 log n) cost instead of an
                8192^2 QR. The planted s is written beside it (powerlaw8192.sigma.f64).
- ckpt:         a sharded BF16 safetensors checkpoint (model.safetensors.index.json +
                4 shards, ~2.1 GB) with Llama-like names and shapes: embedding and lm_head
                32000 x 2048, 18 layers of q/k/v/o 2048 x 2048, gate/up 5632 x 2048,
                down 2048 x 5632 and two RMSNorm vectors. Values ~ N(0, 0.02^2) rounded to
                BF16. checksum.json holds the float64 sum of every value (NumPy's).
"""
import json
import os
import struct
import sys
import time

import numpy as np


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype string, shape, ndarray in that dtype, C order)."""
    header, off = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dt, shape, arr in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + arr.nbytes]}
        off += arr.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, _, arr in tensors:
            np.ascontiguousarray(arr).tofile(f)
    os.replace(tmp, path)


def gauss(datadir, n, seed, f32=False):
    """Gaussian n x n; f32: stored as F32 like trained weights (row 2)."""
    path = os.path.join(datadir, f"gauss{n}{'f32' if f32 else ''}.safetensors")
    if os.path.exists(path):
        return
    a = np.random.default_rng(seed).standard_normal((n, n))
    if f32:
        write_safetensors(path, [("A", "F32", a.shape, a.astype(np.float32))])
    else:
        write_safetensors(path, [("A", "F64", a.shape, a)])


def orthomix(x, axis, rng):
    """Apply Q = D2 C P2 D1 C P1 along `axis` of x (C: orthonormal DCT-II)."""
    from scipy import fft
    n = x.shape[axis]
    for _ in range(2):
        perm = rng.permutation(n)
        x = np.take(x, perm, axis=axis)
        x = fft.dct(x, type=2, norm="ortho", axis=axis, workers=2, overwrite_x=True)
        d = rng.choice([-1.0, 1.0], size=n)
        x *= d[:, None] if axis == 0 else d[None, :]
    return x


def powerlaw(datadir, n, seed):
    """Q1 diag(s) Q2^T with s_i = i^-0.75, stored as F32 like trained weights (row 2);
    the F32 rounding moves the singular values by ~1e-7 relative from the planted s,
    so the accuracy reference is SciPy on the same (float32-valued) matrix."""
    path = os.path.join(datadir, f"powerlaw{n}f32.safetensors")
    if os.path.exists(path):
        return
    rng = np.random.default_rng(seed)
    s = np.arange(1, n + 1, dtype=np.float64) ** -0.75
    a = np.zeros((n, n))
    a[np.arange(n), np.arange(n)] = s
    a = orthomix(a, 0, rng)  # Q1 diag(s)
    a = orthomix(a, 1, rng)  # (Q1 diag(s)) Q2^T
    s.tofile(os.path.join(datadir, f"powerlaw{n}.sigma.f64"))
    write_safetensors(path, [("A", "F32", a.shape, a.astype(np.float32))])


def llama_like(layers=18, hidden=2048, inter=5632, vocab=32000):
    t = [("model.embed_tokens.weight", (vocab, hidden))]
    for i in range(layers):
        p = f"model.layers.{i}."
        t += [(p + "self_attn.q_proj.weight", (hidden, hidden)),
              (p + "self_attn.k_proj.weight", (hidden, hidden)),
              (p + "self_attn.v_proj.weight", (hidden, hidden)),
              (p + "self_attn.o_proj.weight", (hidden, hidden)),
              (p + "mlp.gate_proj.weight", (inter, hidden)),
              (p + "mlp.up_proj.weight", (inter, hidden)),
              (p + "mlp.down_proj.weight", (hidden, inter)),
              (p + "input_layernorm.weight", (hidden,)),
              (p + "post_attention_layernorm.weight", (hidden,))]
    t += [("model.norm.weight", (hidden,)), ("lm_head.weight", (vocab, hidden))]
    return t


def to_bf16(x32):
    """Round float32 to BF16 (nearest, ties to even) as uint16 bit patterns."""
    u = x32.view(np.uint32)
    u = u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))
    return (u >> np.uint32(16)).astype(np.uint16)


def ckpt(datadir, seed, nshards=4):
    d = os.path.join(datadir, "ckpt")
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index) and os.path.exists(os.path.join(d, "checksum.json")):
        return
    os.makedirs(d, exist_ok=True)
    spec = llama_like()
    total = sum(2 * int(np.prod(s)) for _, s in spec)
    rng = np.random.default_rng(seed)
    weight_map, shard, shard_bytes, k, checksum = {}, [], 0, 1, 0.0

    def flush():
        nonlocal shard, shard_bytes, k
        fname = f"model-{k:05d}-of-{nshards:05d}.safetensors"
        write_safetensors(os.path.join(d, fname), shard, {"format": "pt"})
        for name, _, _, _ in shard:
            weight_map[name] = fname
        shard, shard_bytes, k = [], 0, k + 1

    for name, shape in spec:
        if len(shape) == 1:
            x = (1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
        else:
            x = rng.standard_normal(shape, dtype=np.float32)
            x *= np.float32(0.02)
        b = to_bf16(x)
        del x
        checksum += float((b.astype(np.uint32) << np.uint32(16)).view(np.float32).sum(dtype=np.float64))
        shard.append((name, "BF16", shape, b))
        shard_bytes += b.nbytes
        if shard_bytes >= total / nshards and k < nshards:
            flush()
    if shard:
        flush()
    assert k - 1 == nshards, (k, nshards)
    with open(os.path.join(d, "checksum.json"), "w") as f:
        json.dump({"sum": checksum, "total_size": total, "tensors": len(spec)}, f)
    with open(index + ".tmp", "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    os.replace(index + ".tmp", index)


def main():
    datadir = sys.argv[1]
    what = sys.argv[2:] or ["gauss2048", "gauss4096", "gauss8192f32", "powerlaw8192f32", "ckpt"]
    os.makedirs(datadir, exist_ok=True)
    jobs = {"gauss2048": lambda: gauss(datadir, 2048, 2048),
            "gauss4096": lambda: gauss(datadir, 4096, 4096),
            "gauss8192f32": lambda: gauss(datadir, 8192, 8192, f32=True),
            "powerlaw8192f32": lambda: powerlaw(datadir, 8192, 75),
            "ckpt": lambda: ckpt(datadir, 1)}
    for w in what:
        t0 = time.perf_counter()
        jobs[w]()
        print(f"gen_data: {w} ready ({time.perf_counter() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
