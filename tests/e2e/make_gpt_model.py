#!/usr/bin/env python3
"""Write a test checkpoint: a small GPT-2-like model, sharded, in BF16 safetensors.

Names and layouts follow Hugging Face GPT-2 (Conv1D weights stored [in, out], a
fused attention projection c_attn of width 3*d). Every weight is a planted low-rank
signal plus Gaussian noise, so its spectrum has a Marchenko-Pastur bulk and a known
number of outliers (written to planted.json next to the model for the tests).

Writes the format by hand (u64 header length, JSON header, row-major data): the demo
must not depend on the safetensors package. Usage: make_gpt_model.py OUTDIR [--seed S]
"""
import json, os, sys
import numpy as np


# the BF16 rounding and the hand-written safetensors writer of the demo
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from make_demo_model import to_bf16_bits, write_safetensors  # noqa: E402


def planted(rng, m, n, rank, noise=0.02, strength=3.0):
    """noise * N(0,1) entries plus `rank` spikes well above the BBP threshold."""
    w = noise * rng.standard_normal((m, n))
    edge = noise * (np.sqrt(m) + np.sqrt(n))
    for r in range(rank):
        u = rng.standard_normal(m); u /= np.linalg.norm(u)
        v = rng.standard_normal(n); v /= np.linalg.norm(v)
        w += strength * edge * (1.0 + 0.5 * r) * np.outer(u, v)
    return w


def main():
    out = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1234
    rng = np.random.default_rng(seed)
    d, layers, vocab, ff = 256, 4, 2048, 1024
    os.makedirs(out, exist_ok=True)
    shards = [dict(), dict()]
    ranks = {}

    def put(shard, name, arr, rank=None):
        if arr.ndim >= 2:
            shards[shard][name] = ("BF16", to_bf16_bits(arr))
        else:
            shards[shard][name] = ("F32", arr.astype(np.float32))
        if rank is not None:
            ranks[name] = rank

    put(0, "transformer.wte.weight", planted(rng, vocab, d, 8), 8)
    put(0, "transformer.wpe.weight", planted(rng, 512, d, 2), 2)
    for i in range(layers):
        s = 0 if i < layers // 2 else 1
        p = f"transformer.h.{i}."
        put(s, p + "ln_1.weight", 1.0 + 0.01 * rng.standard_normal(d))
        put(s, p + "ln_1.bias", 0.01 * rng.standard_normal(d))
        put(s, p + "attn.c_attn.weight", planted(rng, d, 3 * d, 6), 6)
        put(s, p + "attn.c_attn.bias", np.zeros(3 * d))
        put(s, p + "attn.c_proj.weight", planted(rng, d, d, 4), 4)
        put(s, p + "mlp.c_fc.weight", planted(rng, d, ff, 5), 5)
        put(s, p + "mlp.c_proj.weight", planted(rng, ff, d, 3), 3)
    put(1, "transformer.ln_f.weight", np.ones(d))
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map = {}
    total = 0
    for fname, tensors in zip(names, shards):
        write_safetensors(os.path.join(out, fname), tensors, {"format": "pt"})
        for k, (_, a) in tensors.items():
            weight_map[k] = fname
            total += a.nbytes
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    with open(os.path.join(out, "planted.json"), "w") as f:
        json.dump({"seed": seed, "planted_rank": ranks}, f, indent=1)
    print(f"demo model: {len(weight_map)} tensors, {total / 2**20:.1f} MiB in {len(names)} BF16 shards -> {out}")


if __name__ == "__main__":
    main()
