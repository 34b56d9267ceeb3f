#!/usr/bin/python3
"""Turn the logs of bench/run.sh into bench/results.md (a Markdown table on stdout).

Usage: /usr/bin/python3 bench/report.py OUTDIR DATADIR

Reads the RESULT lines of the drivers' logs in OUTDIR, computes the accuracy columns from
the singular values both sides wrote (and from the planted spectrum / NumPy's checksum
in DATADIR), and pulls the dominant events out of the -log_view files of row 2.
Rows whose logs are missing (SPD_BENCH_ROWS) are left out.
"""
import json
import os
import re
import sys

import numpy as np

OUT, DATA = sys.argv[1], sys.argv[2]


def path(name):
    return os.path.join(OUT, name)


def result(name):
    """key=value pairs of the RESULT lines of OUTDIR/name.log (one per repetition, the two
    sides alternating): the fastest line, with best = the minimum and times = all of them.
    None when the log is absent."""
    p = path(name + ".log")
    if not os.path.exists(p):
        return None
    res = []
    with open(p) as f:
        for line in f:
            if line.startswith("RESULT "):
                res.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    if not res:
        sys.exit(f"report.py: {p} has no RESULT line; the run failed, see the log")
    key = "best" if "best" in res[0] else "time"
    best = min(res, key=lambda d: float(d[key]))
    if "times" not in best:
        return best
    best["times"] = ",".join(d["times"] for d in res)
    best["index"] = str(res.index(best) + 1)
    return best


def loads(name):
    """Highest 1-minute load average seen around the runs of a log."""
    vals = []
    with open(path(name + ".log")) as f:
        for line in f:
            if line.startswith(("load before:", "load after:")):
                vals.append(float(line.split(":", 1)[1].split()[0]))
    return f"≤{max(vals):.1f}" if vals else "?"


def sigma(name):
    return np.fromfile(path(name), dtype="<f8")


def relerr(s, r, k=None):
    k = k or min(len(s), len(r))
    s, r = s[:k], r[:k]
    return float(np.max(np.abs(s - r) / np.abs(r))), float(np.max(np.abs(s - r)) / abs(r[0]))


def verdict(ok):
    return "**met**" if ok else "**missed**"


rows, notes = [], []

# ---- row 1: full spectra ------------------------------------------------------------
for n in (2048, 4096):
    spd, peer = result(f"full{n}.spd"), result(f"full{n}.peer")
    if not spd or not peer:
        continue
    ts, tp = float(spd["best"]), float(peer["best"])
    rel, nrm = relerr(sigma(f"full{n}.spd.f64"), sigma(f"full{n}.peer.f64"))
    reps = len(spd["times"].split(","))
    rows.append([f"1. all σ of {n}×{n} Gaussian (best of {reps}, sides alternating)", f"{ts:.2f} s", f"{tp:.2f} s (NumPy)", f"{ts / tp:.2f}",
                 f"≤ 1.0 (aim 0.5): {verdict(ts / tp <= 1.0)}",
                 f"max_i \\|Δσ_i\\|/σ_i = {rel:.1e}, max \\|Δσ\\|/σ_1 = {nrm:.1e}; runs {spd['times']} vs {peer['times']} s; load {loads(f'full{n}.spd')} / {loads(f'full{n}.peer')}"])

# ---- row 2: top-16 ------------------------------------------------------------------
EVENTS = ("SpdSVDPartial", "SVDSolve", "MatMult", "MatMultTranspose", "BVOrthogonalizeV", "BVDotVec", "BVMultVec", "DSSolve")
for m, label in (("gauss8192f32", "Gaussian"), ("powerlaw8192f32", "power-law σ_i = i^-0.75")):
    spd, peer = result(f"top_{m}.spd"), result(f"top_{m}.peer")
    if not spd or not peer:
        continue
    ts, tp = float(spd["best"]), float(peer["best"])
    s, r = sigma(f"top_{m}.spd.f64"), sigma(f"top_{m}.peer.f64")
    rel, _ = relerr(s, r, 16)
    acc = f"max \\|Δσ_i\\|/σ_i vs SciPy {rel:.1e}"
    planted = os.path.join(DATA, f"{m.replace('f32', '')}.sigma.f64")
    if os.path.exists(planted):
        p = np.fromfile(planted, dtype="<f8")
        acc += f"; vs planted: specdyn {relerr(s, p, 16)[0]:.1e}, SciPy {relerr(r, p, 16)[0]:.1e}"
    # passes over A: specdyn's count includes the residual norms (two block products);
    # SciPy's count includes a final k-column block product, which is a single pass
    k = int(spd["k"])
    pspd, ppeer = int(spd["passes"]), int(peer["nprod"]) - k + 1
    acc += (f"; storage {spd['storage']} (the F32 file's values, products in double); products (A and Aᵀ) specdyn {spd['nprod']} incl. {2 * k} for residuals ({spd['solver']}, {spd['its']} its, {spd['nconv']}/16 conv., "
            f"max ‖r‖/σ {float(spd['maxrelres']):.0e}) vs SciPy {peer['nprod']}; passes over A {pspd} vs {ppeer}, "
            f"{1e3 * ts / pspd:.1f} vs {1e3 * tp / ppeer:.1f} ms each; load {loads(f'top_{m}.spd')} / {loads(f'top_{m}.peer')}")
    acc += f"; runs {spd['times']} vs {peer['times']} s"
    rows.append([f"2. top-16 σ of 8192×8192 {label}, tol 1e-8 (best of {len(spd['times'].split(','))})", f"{ts:.2f} s", f"{tp:.2f} s (SciPy ARPACK)", f"{ts / tp:.2f}",
                 f"≤ 0.5: {verdict(ts / tp <= 0.5)}", acc])
    lv = path(f"top_{m}.{spd['index']}.logview")  # the fastest run's
    if os.path.exists(lv):
        ev = {}
        with open(lv) as f:
            for line in f:
                w = line.split()
                if len(w) > 5 and w[0] in EVENTS and w[0] not in ev:
                    ev[w[0]] = (int(w[1]), float(w[3]), w[4])
        if ev:
            notes.append(f"- row 2 ({label}) -log_view of the specdyn run (`{os.path.basename(lv)}`): " + ", ".join(
                f"{k} {c}× {t:.2f} s (max/min {ratio})" for k, (c, t, ratio) in ev.items()))

# ---- row 3: matvec bandwidth --------------------------------------------------------
mv = result("matvec")
if mv:
    frac = float(mv["fraction"])
    rows.append([f"3. MatMult 8192×8192 MATMPIDENSE, {mv['products']} products, GB/s", f"{float(mv['matvec_gbs']):.2f} GB/s",
                 f"{float(mv['copy_gbs']):.2f} GB/s (STREAM-like copy)", f"{frac:.2f} (bandwidth fraction)",
                 f"≥ 0.70: {verdict(frac >= 0.70)}",
                 f"{mv['products']} products in {float(mv['time']):.3f} s, 8·m·n bytes each; the copy reference is the faster of glibc memcpy "
                 f"({float(mv['copy_memcpy_gbs']):.2f} GB/s, non-temporal stores) and STREAM's compiled copy loop ({float(mv['copy_loop_gbs']):.2f} GB/s, "
                 f"matvec at {float(mv['matvec_gbs']) / float(mv['copy_loop_gbs']):.2f} of it); read-only kernel (sum) {float(mv['read_gbs']):.2f} GB/s → "
                 f"matvec at {float(mv['fraction_read']):.2f} of it; load {loads('matvec')}"])


# ---- row 4: checkpoint reading ------------------------------------------------------
def cat_rate(name):
    p = path(name)
    if not os.path.exists(p):
        return None, None
    txt = open(p).read()
    m = re.search(r"(\d+) bytes \((\w+)\): ([\d.]+) s", txt)
    return (int(m.group(1)) / float(m.group(3)) / 1e9, txt.strip()) if m else (None, txt.strip())


rw = result("read_warm")
if rw:
    cat, _ = cat_rate("cat_warm.txt")
    acc = ""
    ck = os.path.join(DATA, "ckpt", "checksum.json")
    if os.path.exists(ck):
        ref = json.load(open(ck))["sum"]
        acc = f"sum of all values vs NumPy's: rel. diff {abs(float(rw['checksum']) - ref) / abs(ref):.1e}; "
    acc += f"{rw['tensors']} tensors, {int(rw['bytes']) / 1e9:.2f} GB in 4 shards; open (metadata) {float(rw['open']) * 1e3:.1f} ms; passes {rw['times']} s; load {loads('read_warm')}"
    g = float(rw["gbs"])
    rows.append(["4. read sharded BF16 checkpoint → double, warm cache, GB/s", f"{g:.2f} GB/s", f"{cat:.2f} GB/s (cat)",
                 f"{g / cat:.2f} (bandwidth fraction)", "— (report)", acc])
    rc = result("read_cold")
    catc, txt = cat_rate("cat_cold.txt")
    if rc and catc:
        gc = float(rc["gbs"])
        rows.append(["4. same, cold cache (drop_caches before each side)", f"{gc:.2f} GB/s", f"{catc:.2f} GB/s (cat)",
                     f"{gc / catc:.2f} (bandwidth fraction)", "— (report)", f"one pass each; load {loads('read_cold')}"])
    else:
        notes.append(f"- row 4: {txt or 'no cold-cache run'}")

# ---- row 5: a whole study and its rerun ---------------------------------------------
sj = path("study.json")
if os.path.exists(sj):
    st = json.load(open(sj))
    NPs = st["np"]
    big = st["sizes"][0]
    small = st["sizes"][-1]
    kf, kt = st["kinds"]["full"], st["kinds"]["top"]
    noisy = f"; other work on the machine during the measured pair: up to {st['noise']:.2f} cores" + (" (**noisy**)" if st["noise"] >= 0.2 else "")
    pairs = ", ".join(f"{q['efficiency']:.2f}" for q in st["pairs"])
    rows.append([f"5. study: {st['tasks']} F32 matrices in {st['checkpoints']} checkpoints, {small[0]}×{small[1]} … {big[0]}×{big[1]} "
                 f"(full + top-16 for min(m,n) ≤ 1024, top-16 above), `mpirun -n {NPs} specdyn run`",
                 f"{st['total']:.2f} s", f"{st['ideal']:.2f} s (ideal: Σ single-task times / {NPs})", f"{st['efficiency']:.2f} (efficiency ideal/total)",
                 f"≥ 0.90: {verdict(st['efficiency'] >= 0.90)}",
                 f"every task ran alone ({st['alone_mode']}: one study per rank count, tasks one after the other, the other core idle) on the "
                 f"rank count the plan gave it ({', '.join(f'{n} tasks on {p} rank' + ('s' if p != '1' else '') for p, n in st['ranks'].items())}); "
                 f"busiest group {st['makespan_study']:.2f} s + {st['fixed']:.2f} s outside the tasks (start-up, plan, index); "
                 f"task times in the study vs alone: full-spectrum tasks {kf['study']:.2f} vs {kf['alone']:.2f} s ({st['contention']['full']:.2f}×), "
                 f"top-16-only tasks {kt['study']:.2f} vs {kt['alone']:.2f} s ({st['contention']['top']:.2f}×); "
                 f"efficiency of the pairs measured: {pairs}{noisy}"])
    pt = st["parts"]
    med = lambda v: float(np.median(v))
    lv = st["logview"]
    rows.append([f"5. resume: rerun of the complete study (everything stored; median of {len(st['rerun'])})", f"{med(st['rerun']):.3f} s",
                 f"{st['total']:.2f} s (the study)", f"{100 * st['rerun_ratio']:.1f}% (rerun/study)", f"< 2%: {verdict(st['rerun_ratio'] < 0.02)}",
                 f"`mpirun -n {NPs} /bin/true` {med(pt['mpirun']):.3f} s; `--dry-run` {med(pt['dryrun']):.3f} s; `--index-only` {med(pt['indexonly']):.3f} s; "
                 f"inside the rerun's processes (PETSc's -log_view clock) {1e3 * lv['process']:.1f} ms, of which planning {1e3 * lv['SpdPlan']:.1f} ms "
                 f"({lv['SpdReaderOpen_count']} checkpoints opened: {1e3 * lv['SpdReaderOpen']:.1f} ms)"])
    nts = [f"- row 5: task times (s) summed by kind, alone / in the study: full+top-16 {kf['n']} tasks ({kf['gflop']:.0f} Gflop planned) {kf['alone']:.2f} / {kf['study']:.2f}; "
           f"top-16 only {kt['n']} tasks ({kt['gflop']:.0f} Gflop planned) {kt['alone']:.2f} / {kt['study']:.2f}. The planner's cost model gives the top-16-only tasks "
           f"{kt['gflop'] / kt['alone']:.1f} planned Gflop per alone-second and the full ones {kf['gflop'] / kf['alone']:.1f}."]
    if "top_overlap" in st:
        nts.append(f"- row 5: in the study's static LPT schedule, two top-16-only tasks ran at the same time for {st['top_overlap']:.2f} s "
                   f"of the {st['top_time_study']:.2f} s the top-16-only tasks took in the study (summed over the tasks).")
    nts.append(f"- row 5: the schedule alone: the study's own assignment replayed with the alone times takes {st['makespan_static_alone']:.2f} s "
               f"(ideal {st['ideal']:.2f} s); LPT with exact costs {st['lpt_exact_alone']:.2f} s; dynamic list scheduling in plan order {st['dynamic_alone']:.2f} s.")
    if "top_on_np" in st:
        nts.append(f"- row 5: bandwidth: the top-16-only tasks take {kt['alone']:.2f} s alone on 1 rank and {st['top_on_np']:.2f} s alone on {NPs} ranks "
                   f"({st['top_speedup_np']:.2f}× for {NPs}× the cores).")
    if "paired" in st:
        pa = st["paired"]
        nts.append(f"- row 5: memory-bound next to compute-bound (a fixed schedule run as {NPs} concurrent 1-rank processes: every top-16-only task on "
                   f"one of them, the full-spectrum tasks spread by their alone times): busiest process {max(pa['busy']):.2f} s of tasks "
                   f"(planned {max(pa['planned']):.2f} s), {pa['wall']:.2f} s wall; ideal/busiest = {pa['efficiency_busy']:.2f} "
                   f"vs {st['ideal'] / st['makespan_study']:.2f} for the study's busiest group.")
    notes.extend(nts)

# ---- output -------------------------------------------------------------------------
print("# specdyn benchmark results\n")
print("Written by `make bench` (bench/run.sh → bench/report.py); bench/README.md explains each row.")
print("Times are wall-clock seconds of the computation only (best of the repetitions); ratio = specdyn / peer")
print("(lower is better for times, higher is better for the bandwidth rows). Both sides run on the same")
print("2 cores, the two sides alternating run by run; `load ≤x` is the highest 1-minute load average seen")
print("around a row's runs: above ~2 (our own 2 processes) the machine was shared with other work and the")
print("numbers are noisy (they vary by up to 2x between runs on this shared VM).\n")
print("## Machine\n")
with open(path("env.txt")) as f:
    for line in f:
        print(f"- {line.rstrip()}")
print("\n## Results\n")
print("| what | specdyn | peer | ratio specdyn/peer | target | accuracy / notes |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
if any("-log_view" in n for n in notes):
    notes.append("- Reading -log_view: A-products are logged twice as MatMult (the counting MATSHELL of SpdSVDExtreme "
                 "and the MATMPIDENSE inside it, nested), Aᵀ-products once as MatMultTranspose; SVDSolve excludes the "
                 "2k products of the residual norms, which SpdSVDPartial includes.")
if notes:
    print("\n## Where the time goes\n")
    print("\n".join(notes))
