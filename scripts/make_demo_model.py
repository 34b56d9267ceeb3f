#!/usr/bin/env python3
"""Write the demo study's checkpoints: a small GPT-2-like model along two training runs.

Names and layouts follow Hugging Face GPT-2 (Conv1D weights stored [in, out], a fused
attention projection c_attn of width 3*d). Two runs, `wd` and `nowd`, each saved at
steps 0, 100, 200 and 400:

    OUT/wd/step_<t>/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
                                                (sharded, BF16: the reader's shard path)
    OUT/nowd/step_<t>/model.safetensors         (one file, BF16)
    OUT/planted.json                            (the dynamics below, for the tests)

Known dynamics. Every weight matrix (as the job analyses it) is

    W_t = g(t) * S  +  level_run(t) * (cos(phi_t) * N0 + sin(phi_t) * Z_run)

- S = sum_i sigma_i u_i v_i^T, a planted low-rank *signal* with orthonormal u_i, v_i and
  well separated sigma_i = STRENGTH * edge * (1 + 0.5 (r - 1 - i)), i = 0..r-1, where
  edge = NOISE * (sqrt(m) + sqrt(n)) is the Marchenko-Pastur edge of the noise. S is the
  same in both runs: the runs learn the same top singular vectors.
- g(t) = 1 - exp(-t / TAU): the signal grows from nothing at initialization (step 0 is
  pure noise, so its top singular vectors are unrelated to the final ones).
- N0: the initialization, NOISE * N(0, 1) entries, shared by both runs, so both runs are
  identical at step 0 (their difference is the zero matrix). Z_run: NOISE * N(0, 1),
  one per run; phi_t = (pi / 3) t / 400 rotates the noise away from the initialization.
- level_wd(t) = exp(-t / TAU) (weight decay shrinks everything the gradient does not
  sustain), level_nowd(t) = 1.

Hence, in `wd` the effective rank falls step after step (the noise bulk shrinks under a
growing rank-r signal), while in `nowd` it stays high (the bulk keeps its size); the top
singular vectors converge to u_1, v_1 (agreement with the final checkpoint rises toward
1, and is ~0 at step 0); the two runs share their top vectors at late steps.

Layer structure planted in S (so that layer alignment has a known answer):
- MLP: c_fc reads residual directions a_i and writes hidden features h_i (stored
  [in, out] = sum a_i h_i^T), c_proj reads the same h_i and writes b_i (stored
  sum h_i b_i^T): in the hidden space c_fc's right vectors equal c_proj's left vectors
  (alignment 1 on the diagonal), while a_i and b_i are independent random directions.
- attention: analysed as [out, in] = [q; k; v] rows, 4 heads of 64 rows per part. Head h
  of q and of k both write the same head-space directions e_{h,0}, e_{h,1} (in that
  order of sigma): |U_q^T U_k| has 1 on the diagonal for every head; v has its own.

BF16 values are rounded to nearest even from float32. The format is written by hand
(u64 header length, JSON header, row-major data): the demo must not depend on the
safetensors package. Usage: make_demo_model.py OUTDIR [--seed S]
"""
import json, math, os, sys
import numpy as np

VERSION = 3  # planted.json's "version": scripts/demo.sh regenerates an older demo
STEPS = [0, 100, 200, 400]
RUNS = ["wd", "nowd"]
NOISE = 0.02
STRENGTH = 3.0
TAU = 150.0
D, LAYERS, VOCAB, FF, HEADS = 256, 2, 2048, 1024, 4


def to_bf16_bits(a):
    """Round-to-nearest-even float32 -> bfloat16 bit patterns (uint16)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounding = ((u >> 16) & 1) + 0x7FFF
    return ((u + rounding) >> 16).astype(np.uint16)


def write_safetensors(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        data = arr.tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # align data to 8 bytes, as the reference writer does
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def orth(rng, m, r):
    q, _ = np.linalg.qr(rng.standard_normal((m, r)))
    return q


def sigmas(m, n, r):
    edge = NOISE * (math.sqrt(m) + math.sqrt(n))
    return STRENGTH * edge * (1.0 + 0.5 * np.arange(r - 1, -1, -1))


def low_rank(left, right, s):
    return (left * s) @ right.T


def signals(rng):
    """{tensor name: (stored signal S, planted rank)} with the layer structure above."""
    out = {}
    out["transformer.wte.weight"] = (low_rank(orth(rng, VOCAB, 8), orth(rng, D, 8), sigmas(VOCAB, D, 8)), 8)
    out["transformer.wpe.weight"] = (low_rank(orth(rng, 512, 2), orth(rng, D, 2), sigmas(512, D, 2)), 2)
    hd = D // HEADS
    for i in range(LAYERS):
        p = f"transformer.h.{i}."
        # attention, analysed [3d, d] = [q; k; v]; stored transposed ([in, out])
        parts = []
        e = [orth(rng, hd, 2) for _ in range(HEADS)]  # head-space directions shared by q and k
        for part in range(3):
            r = 1 if part == 2 else 2
            right = orth(rng, D, r * HEADS)  # orthonormal across heads: the part's SVD is planted too
            blk = np.zeros((D, D))
            for h in range(HEADS):
                left = orth(rng, hd, r) if part == 2 else e[h]
                s = sigmas(D, D, 2 * HEADS)[2 * h:2 * h + r]
                blk[h * hd:(h + 1) * hd] = low_rank(left, right[:, r * h:r * (h + 1)], s)
            parts.append(blk)
        out[p + "attn.c_attn.weight"] = (np.vstack(parts).T, 2 * HEADS)
        out[p + "attn.c_proj.weight"] = (low_rank(orth(rng, D, 4), orth(rng, D, 4), sigmas(D, D, 4)), 4)
        hidden = orth(rng, FF, 4)  # c_fc writes them, c_proj reads them
        out[p + "mlp.c_fc.weight"] = (low_rank(orth(rng, D, 4), hidden, sigmas(D, FF, 4)), 4)
        out[p + "mlp.c_proj.weight"] = (low_rank(hidden, orth(rng, D, 4), sigmas(FF, D, 4)), 4)
    return out


def growth(t):
    return 1.0 - math.exp(-t / TAU)


def level(run, t):
    return math.exp(-t / TAU) if run == "wd" else 1.0


def angle(t):
    return (math.pi / 3) * t / STEPS[-1]


def write_checkpoint(folder, tensors, shards):
    """tensors: {name: (dtype, array)}; shards 1: model.safetensors, 2: a sharded index."""
    os.makedirs(folder, exist_ok=True)
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})
        return
    names = [f"model-{k + 1:05d}-of-{shards:05d}.safetensors" for k in range(shards)]
    split = [dict() for _ in range(shards)]
    for name, v in tensors.items():
        layer = name.split(".")[2] if name.startswith("transformer.h.") else None
        k = 0 if name.startswith("transformer.w") else (shards - 1 if name.startswith("transformer.ln_f") else int(layer) * shards // LAYERS)
        split[k][name] = v
    weight_map, total = {}, 0
    for fname, part in zip(names, split):
        write_safetensors(os.path.join(folder, fname), part, {"format": "pt"})
        for k, (_, a) in part.items():
            weight_map[k] = fname
            total += a.nbytes
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)


def main():
    out = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1234
    rng = np.random.default_rng(seed)
    sig = signals(rng)
    init = {name: NOISE * rng.standard_normal(s.shape) for name, (s, _) in sig.items()}
    drift = {run: {name: NOISE * rng.standard_normal(s.shape) for name, (s, _) in sig.items()} for run in RUNS}
    norms = {"ln_1.weight": 1.0, "ln_1.bias": 0.0}
    count = 0
    for run in RUNS:
        for t in STEPS:
            tensors = {}
            for name, (s, _) in sig.items():
                c, z = math.cos(angle(t)), math.sin(angle(t))
                w = growth(t) * s + level(run, t) * (c * init[name] + z * drift[run][name])
                tensors[name] = ("BF16", to_bf16_bits(w))
                if name.endswith("attn.c_attn.weight"):  # GPT-2 order: ln_1 before attn
                    for k, v in norms.items():
                        lname = name.replace("attn.c_attn.weight", k)
                        tensors[lname] = ("F32", np.full(D, v, dtype=np.float32))
            tensors["transformer.ln_f.weight"] = ("F32", np.ones(D, dtype=np.float32))
            write_checkpoint(os.path.join(out, run, f"step_{t}"), tensors, 2 if run == "wd" else 1)
            count += 1
    planted = {
        "version": VERSION, "seed": seed, "steps": STEPS, "runs": RUNS,
        "noise": NOISE, "strength": STRENGTH, "tau": TAU,
        "growth": {str(t): growth(t) for t in STEPS},
        "noise_level": {run: {str(t): level(run, t) for t in STEPS} for run in RUNS},
        "planted_rank": {name: r for name, (_, r) in sig.items()},
        "layout": {"wd": "sharded BF16 (2 shards)", "nowd": "one BF16 file"},
    }
    with open(os.path.join(out, "planted.json"), "w") as f:
        json.dump(planted, f, indent=1)
    print(f"demo study: {len(RUNS)} runs x {len(STEPS)} steps ({', '.join(map(str, STEPS))}) of a GPT-2-like model, "
          f"{len(sig)} weight matrices each, BF16 -> {out}")


if __name__ == "__main__":
    main()
