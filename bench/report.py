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
    job5 = st.get("weights", "full + top-16 for min(m,n) ≤ 1024, top-16 above")
    lo5 = st.get("loss")
    top5 = f"top-16-only tasks {kt['study']:.2f} vs {kt['alone']:.2f} s ({st['contention']['top']:.2f}×); " if kt["n"] else ""
    noisy = f"; other work on the machine during the measured pair: up to {st['noise']:.2f} cores" + (" (**noisy**)" if st["noise"] >= 0.2 else "")
    pairs = ", ".join(f"{q['efficiency']:.2f}" for q in st["pairs"])
    rows.append([f"5. study: {st['tasks']} F32 matrices in {st['checkpoints']} checkpoints, {small[0]}×{small[1]} … {big[0]}×{big[1]} "
                 f"(weights: {job5}), `mpirun -n {NPs} specdyn run` ({st.get('schedule', 'static')} schedule)",
                 f"{st['total']:.2f} s", f"{st['ideal']:.2f} s (ideal: Σ single-task times / {NPs})", f"{st['efficiency']:.2f} (efficiency ideal/total)",
                 f"≥ 0.90: {verdict(st['efficiency'] >= 0.90)}",
                 f"every task ran alone ({st['alone_mode']}: one study per rank count, tasks one after the other, the other core idle) on the "
                 f"rank count the plan gave it ({', '.join(f'{n} tasks on {p} rank' + ('s' if p != '1' else '') for p, n in st['ranks'].items())}); "
                 f"busiest group {st['makespan_study']:.2f} s + {st['fixed']:.2f} s outside the tasks (start-up, plan, index); "
                 f"task times in the study vs alone: full-spectrum tasks {kf['study']:.2f} vs {kf['alone']:.2f} s ({st['contention']['full']:.2f}×), "
                 + top5 + (f"loss total − ideal {lo5['total']:.2f} s = outside the tasks {lo5['outside']:.2f} + imbalance {lo5['imbalance']:.2f} "
                           f"+ contention {lo5['contention']:.2f} s; " if lo5 else "")
                 + f"efficiency of the (study, alone) pairs measured: {pairs}; reported: the median of the {st.get('pairs_quiet', 1)} quiet one(s){noisy}"])
    pt = st["parts"]
    med = lambda v: float(np.median(v))
    lv = st["logview"]
    rows.append([f"5. resume: rerun of the complete study (everything stored; median of {len(st['rerun'])})", f"{med(st['rerun']):.3f} s",
                 f"{st['total']:.2f} s (the study)", f"{100 * st['rerun_ratio']:.1f}% (rerun/study)", f"< 2%: {verdict(st['rerun_ratio'] < 0.02)}",
                 f"`mpirun -n {NPs} /bin/true` {med(pt['mpirun']):.3f} s; `--dry-run` {med(pt['dryrun']):.3f} s; `--index-only` {med(pt['indexonly']):.3f} s; "
                 f"inside the rerun's processes (PETSc's -log_view clock) {1e3 * lv['process']:.1f} ms, of which planning {1e3 * lv['SpdPlan']:.1f} ms "
                 f"({lv['SpdReaderOpen_count']} checkpoints opened: {1e3 * lv['SpdReaderOpen']:.1f} ms)"])
    if kt["n"]:
        nts = [f"- row 5: task times (s) summed by kind, alone / in the study: full+top-16 {kf['n']} tasks ({kf['gflop']:.0f} Gflop planned) {kf['alone']:.2f} / {kf['study']:.2f}; "
               f"top-16 only {kt['n']} tasks ({kt['gflop']:.0f} Gflop planned) {kt['alone']:.2f} / {kt['study']:.2f}. The planner's cost model gives the top-16-only tasks "
               f"{kt['gflop'] / kt['alone']:.1f} planned Gflop per alone-second and the full ones {kf['gflop'] / kf['alone']:.1f}."]
    else:
        nts = [f"- row 5: every task computes the full spectrum: {kf['n']} tasks, {kf['gflop']:.0f} Gflop planned, {kf['alone']:.2f} s alone, {kf['study']:.2f} s in the study."]
    if "shapes" in st:
        nts.append("- row 5: task times by shape, in the study / alone (contention): " + ", ".join(
            f"{n} ({v['n']}×) {v['study']:.2f} / {v['alone']:.2f} s ({v['study'] / v['alone']:.2f}×)"
            for n, v in sorted(st["shapes"].items(), key=lambda x: -x[1]["alone"])[:6]) + ".")
    if "top_overlap" in st and kt["n"]:
        nts.append(f"- row 5: in the study's static LPT schedule, two top-16-only tasks ran at the same time for {st['top_overlap']:.2f} s "
                   f"of the {st['top_time_study']:.2f} s the top-16-only tasks took in the study (summed over the tasks).")
    nts.append(f"- row 5: the schedule alone: the study's own assignment replayed with the alone times takes {st['makespan_static_alone']:.2f} s "
               f"(ideal {st['ideal']:.2f} s); " + (f"run.c's static LPT on estimated costs {st['static_alone']:.2f} s; " if "static_alone" in st else "")
               + f"LPT with exact costs {st['lpt_exact_alone']:.2f} s; dynamic list scheduling in plan order {st['dynamic_alone']:.2f} s.")
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

# ---- row 6: MLP loss curvature (bench_curvature.c, curvature_peer.py) ------------------
def curv_results(name):
    """Every RESULT line of OUTDIR/name.log as a dict (None when the log is absent)."""
    p = path(name + ".log")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        res = [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in f if line.startswith("RESULT ")]
    if not res:
        sys.exit(f"report.py: {p} has no RESULT line; the run failed, see the log")
    return res


def curv_min(res, key):
    return min(float(d[key]) for d in res)


CURV = path("curv")
curv_gemm = 0.0
for m in ("small", "big"):
    spd, peer = curv_results(f"curv_time_{m}.spd"), curv_results(f"curv_time_{m}.peer")
    if not spd or not peer:
        continue
    s0 = spd[0]
    g, h, gn, gc = (curv_min(spd, k) for k in ("grad", "hvp", "gn", "g"))
    tg, tbest = curv_min(peer, "grad"), min(curv_min(peer, k) for k in ("hvp_functional", "vhp_functional", "hvp_cold", "hvp_warm"))
    tf, tv, tc, tw = (curv_min(peer, k) for k in ("hvp_functional", "vhp_functional", "hvp_cold", "hvp_warm"))
    gemm = max(float(d["dgemm_gflops"]) for d in spd)
    curv_gemm = max(curv_gemm, gemm)
    rate = lambda key, t: float(s0[key + "_gflop"]) / t
    share = f"CPU/wall of the timed calls ≥ {min(float(d['cpu_share']) for d in spd):.2f} (specdyn), ≥ {min(float(d['cpu_share']) for d in peer):.2f} (torch)"
    what = f"{s0['arch']} relu + cross-entropy ({int(s0['P']):,} parameters), {s0['n']} Fashion-MNIST samples, 1 rank / 1 thread"
    rows.append([f"6a. one Hessian-vector product vs one gradient, {what}", f"{1e3 * h:.1f} ms (HVP)",
                 f"{1e3 * g:.1f} ms (gradient: SpdMLPSetPoint + SpdMLPGetLossGradient at a new θ)", f"{h / g:.2f}", f"≤ 3.5: {verdict(h / g <= 3.5)}",
                 f"Gauss–Newton product {1e3 * gn:.1f} ms ({gn / g:.2f}×), G product {1e3 * gc:.1f} ms ({gc / g:.2f}×); torch for comparison: gradient {1e3 * tg:.1f} ms, "
                 f"best HVP {1e3 * tbest:.1f} ms ({tbest / tg:.2f}×). BLAS-3 rate (dgemm flops of the passes, 2 per multiply-add): gradient {rate('grad', g):.1f}, "
                 f"HVP {rate('hvp', h):.1f}, GN {rate('gn', gn):.1f} GFLOP/s vs dgemm 1024³ {gemm:.1f} GFLOP/s on the same core "
                 f"(HVP at {rate('hvp', h) / gemm:.0%} of it); {share}; load {loads(f'curv_time_{m}.spd')}"])
    acc = ""
    hs, ht = os.path.join(CURV, f"hv_{m}.spd.f64"), os.path.join(CURV, f"hv_{m}.torch.f64")
    if os.path.exists(hs) and os.path.exists(ht):
        a, b = np.fromfile(hs, dtype="<f8"), np.fromfile(ht, dtype="<f8")
        acc = f"‖Hv − Hv_torch‖/‖Hv_torch‖ = {np.linalg.norm(a - b) / np.linalg.norm(b):.1e} (same v); "
    rows.append([f"6b. one Hessian-vector product vs PyTorch {peer[0]['torch']} (nn.Sequential, float64), {what}", f"{1e3 * h:.1f} ms",
                 f"{1e3 * tbest:.1f} ms (torch, best variant)", f"{h / tbest:.2f}", f"≤ 1.0 (aim 0.5): {verdict(h / tbest <= 1.0)}",
                 acc + f"torch variants: autograd.functional.hvp {1e3 * tf:.1f} ms (ratio {h / tf:.2f}), functional.vhp {1e3 * tv:.1f} ms, double backward "
                 f"(grad with create_graph, then grad of ⟨g, v⟩) {1e3 * tc:.1f} ms with the forward pass per product, {1e3 * tw:.1f} ms with the gradient graph "
                 f"kept at the point (retain_graph, PyHessian's way; specdyn's product also reuses the point's caches); both sides best of "
                 f"{len(spd)} alternating rounds; load {loads(f'curv_time_{m}.peer')}"])

es, em, ep = curv_results("curv_eig.spd"), curv_results("curv_eig_matched.spd"), curv_results("curv_eig.peer")
if es and ep:
    s, p = es[0], ep[0]
    ns, na = int(s["nprod"]), int(p["arpack_nprod"])
    npw, pconv = int(p["power_nprod"]), int(p["power_nconv"])
    k = int(s["k"])
    if s.get("residuals") == "krylov":
        extra = (f"{ns} Krylov–Schur products, residuals from the Krylov relation (no products; the same residuals recomputed by "
                 f"products after the solve, outside the count: max ‖r‖/λ₁ {float(s['maxrelres_check']):.1e})")
    else:  # the default: explicit residual norms after the solve, one product per pair, not part of reaching the tolerance
        ns -= int(s["nconv"])
        extra = f"{ns} Krylov–Schur products to converge + {s['nconv']} explicit residual norms after the solve (not counted: ARPACK reports none)"
    lam_s, lam_p = np.fromfile(os.path.join(CURV, "lam.spd.f64")), np.fromfile(os.path.join(CURV, "lam.scipy.f64"))
    agree = float(np.max(np.abs(lam_s - lam_p)) / abs(lam_p[0]))
    m_txt = ""
    if em:
        m0 = em[0]
        nres = 0 if m0.get("residuals") == "krylov" else int(m0["nconv"])
        m_txt = (f"; with ARPACK's basis size and test (`-eps_ncv 21 -eps_conv_rel`) {m0['nprod']} products ({int(m0['nprod']) - nres} Krylov–Schur "
                 f"+ {nres} residual norms, {m0['its']} iterations), max ‖r‖/λ₁ {float(m0.get('maxrelres_check', m0['maxrelres'])):.0e}")
    at = f"; eigsh with tol {float(p['arpack_target_tol']):.1e} (= 1e-8·λ₁/λ₁₀, the loosest meeting the criterion) {p['arpack_target_nprod']} products" if "arpack_target_nprod" in p else ""
    rows.append([f"6c. top-{k} Hessian eigenpairs to ‖Hx − λx‖ ≤ 1e-8·λ₁, products ({s['arch']}, {s['n']} samples)", f"{ns} products (SpdEigExtreme, {s['solver']}, defaults of `specdyn run`)",
                 f"{na} products (SciPy eigsh/ARPACK, tol 1e-8)", f"{ns / na:.2f}", f"< 1 (fewer): {verdict(ns < na)}",
                 f"specdyn: {extra}, {s['its']} iterations, {float(s['time']):.2f} s, max ‖r‖/λ₁ {float(s['maxrelres']):.0e}{m_txt}; eigsh: max ‖r‖/λ₁ {float(p['arpack_maxres']):.0e}{at}; "
                 f"eigenvalues specdyn vs eigsh: max \\|Δλ\\|/λ₁ = {agree:.1e} (λ₁ = {lam_s[0]:.6g}, λ₁₀ = {lam_s[-1]:.6g}); both on the same weights/data, eigsh driving torch's product"])
    rows.append([f"6c. same, vs deflated power iteration (PyHessian's method)", f"{ns} products", f"{npw} products (power iteration{'' if pconv == k else f', only {pconv}/{k} converged: a lower bound'})",
                 f"{ns / npw:.3f} ({npw / ns:.1f}× fewer)", f"≥ 5× fewer: {verdict(npw >= 5 * ns)}",
                 f"power iteration products per pair: {p['power_per_pair']}; max ‖r‖/λ₁ {float(p['power_maxres']):.0e} (stopped on the deflated residual); "
                 f"{float(p['power_time']):.1f} s with torch's product; eigenvalues vs eigsh {float(p['power_vs_arpack']):.0e}·λ₁; load {loads('curv_eig.peer')}"])

tasks = sorted(f for f in os.listdir(os.path.join(CURV, "cli", "out", "tasks"))) if os.path.isdir(os.path.join(CURV, "cli", "out", "tasks")) else []
if os.path.exists(path("curv_cli.log")) and tasks:
    import h5py
    with h5py.File(os.path.join(CURV, "cli", "out", "tasks", tasks[0]), "r") as f:
        lam, resid = np.array(f["top/lambda"]), np.array(f["top/residual"])
        top = dict(f["top"].attrs)
        tm = dict(f["timings"].attrs)
        P, nsamp, ranks = int(f.attrs["parameters"]), int(f.attrs["samples"]), int(f.attrs["ranks"])
        ck = f.attrs["checkpoint"]
        ck = ck.decode() if isinstance(ck, bytes) else ck
    with h5py.File(ck, "r") as f:
        ws = [f[k].shape for k in sorted((k for k in f if k.endswith(".weight")), key=lambda s: int(s.split(".")[0]))]
    arch = "-".join(str(w) for w in [ws[0][1]] + [w[0] for w in ws])
    F = sum(o * i for o, i in ws)
    f1 = ws[0][0] * ws[0][1]
    hv_gflop = 2 * (6 * F - 4 * f1) * nsamp / 1e9
    txt = open(path("curv_cli.log")).read()
    wall = float(re.search(r"mpirun wall: ([\d.]+) s", txt).group(1))
    rss, cpu, cpus = [], [], []
    for r in range(ranks):
        tp = os.path.join(CURV, "cli", f"time.{r}")
        if os.path.exists(tp):
            t = open(tp).read()
            rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024 ** 2)
            cpu.append(re.search(r"Percent of CPU this job got: (\d+)%", t).group(1))
            cpus.append(float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1)))
    nprod = int(top["products"])
    per = tm["eigen_seconds"] / nprod
    chk = curv_results("curv_check")
    ctxt = ""
    if chk:
        c = chk[0]
        ctxt = f"; check with torch's product: pairs {c['pairs']} ‖Hx − λx‖/λ₁ ≤ {float(c['maxrelres']):.0e}, loss equal to {float(c['loss_reldiff']):.0e}"
    rows.append([f"6d. top-10 Hessian eigenpairs, {arch} relu ({P:,} parameters), {nsamp} Fashion-MNIST samples, `mpirun -n {ranks} specdyn run` (job with model:/data:/curvature:)",
                 f"{tm['eigen_seconds']:.1f} s eigensolve ({wall:.1f} s whole run)", "—", "—", "— (report)",
                 f"{nprod} products ({top['solver']}, tol {top['tol']:g}, {top['nconv']}/10 converged, {top['iterations']} iteration(s)), {per:.2f} s per product "
                 f"= {hv_gflop / per / ranks:.1f} GFLOP/s per rank for the {hv_gflop:.1f} Gflop of a product (dgemm 1024³: {curv_gemm:.1f} GFLOP/s per core); "
                 f"set-up (read, data, forward/backward) {tm['setup_seconds']:.1f} s; peak memory per rank (max RSS from /usr/bin/time -v = VmHWM) "
                 + ", ".join(f"{x:.2f} GiB" for x in rss) + "; CPU share per rank " + ", ".join(f"{x}%" for x in cpu) + " (CPU time "
                 + ", ".join(f"{x:.0f}" for x in cpus) + f" s: with its core to itself a rank would take ≈ {min(cpus) / nprod:.2f} s per product, "
                 + f"{hv_gflop / ranks / (min(cpus) / nprod):.0f} GFLOP/s; Open MPI's waiting ranks spin, so the smallest CPU time is the work)"
                 + f"; λ₁ = {lam[0]:.6g} … λ₁₀ = {lam[-1]:.6g}, max ‖r‖/λ₁ {np.max(resid) / abs(lam[0]):.0e}{ctxt}; load {loads('curv_cli')}"])
    lv = os.path.join(CURV, "cli", "logview.txt")
    if os.path.exists(lv):
        ev = {}
        for line in open(lv):
            w = line.split()
            if len(w) > 5 and w[0] in ("SpdEigExtreme", "EPSSolve", "SpdDensitySLQ", "MatMult", "BVOrthogonalizeV", "VecScatterEnd") and w[0] not in ev:
                ev[w[0]] = (int(w[1]), float(w[3]))
        notes.append("- row 6d, PETSc's event log of `specdyn run` (`curv/cli/logview.txt`): " + ", ".join(f"{k} {c}× {t:.1f} s" for k, (c, t) in ev.items())
                     + ". MatMult is the Hessian product (every product of the solve, the ‖H‖ estimate in SpdDensitySLQ and the residual norms); the rest is the Krylov basis.")

# ---- row 7: a stored Jacobian (HDF5, float32) -----------------------------------------
def results_all(name):
    """Every RESULT line of OUTDIR/name.log as a dict (empty when the log is absent)."""
    p = path(name + ".log")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in f if line.startswith("RESULT ")]


js, jp, jc = result("jac.spd"), result("jac.peer"), results_all("jac.copy")
if js and jp:
    ts, tp = float(js["time"]), float(jp["time"])
    M, Nn, k = int(js["m"]), int(js["n"]), int(js["k"])
    nbytes = 4.0 * M * Nn  # the float32 matrix, read once per pass
    s, r = sigma("jac.spd.f64"), sigma("jac.peer32.f64")
    rel, _ = relerr(s, r, k)
    ps, pp = int(js["passes"]), int(jp["passes"])
    acc = (f"max \\|Δσ_i\\|/σ_i vs SciPy {rel:.1e} (SciPy's single-precision ARPACK is the less accurate side); storage {js['storage']}, "
           f"products (A and Aᵀ) specdyn {js['products']} incl. {2 * k} for residuals ({js['solver']}, {js['iterations']} its, {js['nconv']}/{k} conv., "
           f"max ‖r‖/σ {float(js['maxres']):.0e}, tol 1e-10) vs SciPy {jp['products']} (float32 ARPACK, tol = float32 eps); passes over A {ps} vs {pp}, "
           f"{1e3 * ts / ps:.0f} vs {1e3 * tp / pp:.0f} ms each; reading the HDF5 file {float(js['read']):.1f} s (not in the time; "
           f"`specdyn run` wall {float(js['wall']):.1f} s) vs h5py {float(jp['load']):.1f} s; load {loads('jac.spd')} / {loads('jac.peer')}")
    rows.append([f"7. top-16 σ of a stored {M}×{Nn} float32 Jacobian (HDF5, {nbytes / 1e9:.0f} GB), `specdyn run` top_seconds vs `svds`",
                 f"{ts:.2f} s", f"{tp:.2f} s (SciPy ARPACK, float32)", f"{ts / tp:.2f}", f"≤ 0.5: {verdict(ts / tp <= 0.5)}", acc])
    jp64 = result("jac.peer64")
    if jp64:  # the same accuracy on both sides: SciPy on a float64 copy, tol 1e-10
        t64 = float(jp64["time"])
        rel64, _ = relerr(s, sigma("jac.peer64.f64"), k)
        rows.append([f"7. same, vs `svds` on a float64 copy of the values at tol 1e-10 (the accuracy specdyn delivers)",
                     f"{ts:.2f} s", f"{t64:.2f} s (SciPy ARPACK, float64, tol 1e-10)", f"{ts / t64:.2f}", f"≤ 0.5: {verdict(ts / t64 <= 0.5)}",
                     f"max \\|Δσ_i\\|/σ_i vs SciPy {rel64:.1e}; SciPy: {jp64['products']} products, {jp64['passes']} passes over its 8 GB copy "
                     f"({1e3 * t64 / int(jp64['passes']):.0f} ms each; it reads twice the bytes), loading + converting {float(jp64['load']):.1f} s (not in the time); "
                     f"load {loads('jac.peer64')}"])
    # achieved bandwidth of the products: passes x bytes / top_seconds (everything in the
    # solve counted), and from -log_view the products alone
    bw = ps * nbytes / ts
    prod_t, nprod = None, None
    lv = path("jac.logview")
    if os.path.exists(lv):
        ev, stage = {}, ""
        with open(lv) as f:
            for line in f:
                if line.startswith("--- Event Stage"):
                    stage = line
                w = line.split()
                if "Spd solve" in stage and len(w) > 5 and w[0] in ("MatMult", "MatMultTranspose", "SpdMultBlock", "SpdMultTBlock", "SVDSolve", "SpdSVDPartial") and w[0] not in ev:
                    ev[w[0]] = (int(w[1]), float(w[3]))
        if "MatMult" in ev and "MatMultTranspose" in ev:
            # A-products are logged twice (the counting shell and the dense matrix inside it)
            nprod = ev["MatMult"][0] // 2 + ev["MatMultTranspose"][0]
            prod_t = ev["MatMult"][1] / 2 + ev["MatMultTranspose"][1]
        if "SpdMultBlock" in ev and "SpdMultTBlock" in ev:  # block Lanczos: one pass per block product
            nprod = (nprod or 0) + ev["SpdMultBlock"][0] + ev["SpdMultTBlock"][0]
            prod_t = (prod_t or 0.0) + ev["SpdMultBlock"][1] + ev["SpdMultTBlock"][1]
        if prod_t:
            notes.append(f"- row 7 -log_view (`jac.logview`): " + ", ".join(f"{e} {c}× {t:.2f} s" for e, (c, t) in ev.items())
                         + f"; products alone: {nprod} passes over A in {prod_t:.2f} s = {nprod * nbytes / prod_t / 1e9:.2f} GB/s")
    if jc:
        # the best copy of all bench_matvec runs (with the arrays on 4 KiB and on huge pages)
        copy = max(float(d["copy_gbs"]) for d in jc) * 1e9
        pbw = nprod * nbytes / prod_t if prod_t else bw  # the products alone, when -log_view has them
        frac = pbw / copy
        what = f"passes over A × {nbytes / 1e9:.0f} GB / time in the products (-log_view)" if prod_t else f"passes × {nbytes / 1e9:.0f} GB / top_seconds"
        blocks = [d for d in jc if "block4_gbs" in d]
        rows.append([f"7. same, bandwidth of the products ({what})", f"{pbw / 1e9:.2f} GB/s",
                     f"{copy / 1e9:.2f} GB/s (STREAM-like copy)", f"{frac:.2f} (bandwidth fraction)", f"≥ 0.70: {verdict(frac >= 0.70)}",
                     f"the whole solve (passes × {nbytes / 1e9:.0f} GB / top_seconds, orthogonalization and residuals included): {bw / 1e9:.2f} GB/s = {bw / copy:.2f} of the copy; "
                     f"copy = best of bench_matvec's copy kernels on the same {js['ranks']} ranks, measured before and after the solve "
                     f"({', '.join(d['copy_gbs'] + (' huge pages' if d.get('stream_huge') == '1' else '') for d in jc)} GB/s); read-only kernel {max(float(d['read_gbs']) for d in jc):.2f} GB/s"
                     + (f"; the float32 kernels alone (bench_matvec -float32, {jc[0]['m']}×{jc[0]['n']}, A and Aᵀ alternating): single-vector "
                        + ", ".join(f"{float(d['matvec_gbs']):.2f} GB/s" for d in jc)
                        + ("; 3-vector passes " + ", ".join(f"{float(d['block3_gbs']):.2f} GB/s" for d in blocks if "block3_gbs" in d) if blocks else "")
                        + ("; 4-vector passes " + ", ".join(f"{float(d['block4_gbs']):.2f} GB/s" for d in blocks) if blocks else "")
                        if all(d.get("storage") == "float32" for d in jc) else "")
                     + f"; SciPy's products: {pp * nbytes / tp / 1e9:.2f} GB/s; load {loads('jac.copy')}"])

# ---- row 8: Lyapunov exponents of a Gaussian product ----------------------------------
ls_, lp = result("lyap.spd"), results_all("lyap.peer")
if ls_ and lp:
    from scipy.special import digamma

    d, L, k = int(ls_["d"]), int(ls_["depth"]), int(ls_["k"])
    i = np.arange(1, k + 1)
    newman = -0.5 * np.log(d) + 0.5 * (np.log(2) + digamma((d - i + 1) / 2))  # s = 1/sqrt(d)

    def dev(f):
        lam = sigma(f)[:k]
        return float(np.max(np.abs(lam - newman)))

    ts = float(ls_["time"])
    peers = {p["variant"]: p for p in lp}
    best = min(peers.values(), key=lambda p: float(p["time"]))
    tp = float(best["time"])
    vtxt = "; ".join(f"NumPy {v}: {float(p['time']):.2f} s, max \\|λ_i − Newman\\| = {dev('lyap.peer.f64.' + v):.1e}" for v, p in peers.items())
    rows.append([f"8. {k} Lyapunov exponents of {L} Gaussian {d}×{d} factors (N(0, 1/d)), SpdJacobianLyapunov vs NumPy dense GEMMs",
                 f"{ts:.2f} s", f"{tp:.2f} s (NumPy {best['variant']})", f"{ts / tp:.3f}", "— (report)",
                 f"specdyn max \\|λ_i − Newman\\| = {dev('lyap.spd.f64'):.1e} (λ_i = log s + ½[log 2 + ψ((d−i+1)/2)], i ≤ {k}); {vtxt}; "
                 f"drawing the factors (not in the times): specdyn {float(ls_['create']):.1f} s, NumPy {float(best['gen']):.1f} s; "
                 f"load {loads('lyap.spd')} / {loads('lyap.peer')}"])

# ---- row 9: training Jacobian, products for top/bottom-32 (bench_train -mode jac) -------
for tag in ("5e3", "5e4", "5e5"):
    res = results_all(f"trainjac.{tag}")
    dense = [d for d in res if d.get("mode") == "dense"]
    for d in (d for d in res if d.get("mode") == "jac"):
        P, nprod, k = int(d["P"]), int(d["nprod"]), int(d["k"])
        res_p = int(d["resprod"])
        t, tprod = float(d["time"]), float(d["tprod"])
        acc = ""
        if dense:
            dd = dense[0]
            rel = float(dd["reltop" if d["which"] == "top" else "relbottom"])
            acc = (f"vs all σ of the dense J_T (its {P:,} forward products {float(dd['cols']):.1f} s + SpdSVDFull {float(dd['svd']):.1f} s = "
                   f"{float(dd['cols']) + float(dd['svd']):.1f} s against {t:.1f} s here): max \\|Δσ_i\\|/σ_i = {rel:.1e}; ")
        rows.append([f"9. training Jacobian {d['arch']} ({P:,} parameters), T = {d['T']} GD steps (lr {d['lr']}), n = {d['n']}: {d['which']}-{k} σ of J_T, products",
                     f"{nprod} products ({d['nconv']}/{k} converged, tol {float(d['tol']):.0e})", f"{P:,} forward products (dense J_T)",
                     f"{nprod / P:.4f} ({P / nprod:.0f}× fewer)", "— (report)",
                     acc + f"MatMult + MatMultTranspose counted by SpdSVDExtreme ({d['solver']}, {d['its']} restarts), {res_p} of them the explicit residual norms; "
                     f"σ = {float(d['sigma1']):.6g} … {float(d['sigmak']):.6g}, max ‖r‖/σ_max {float(d['maxrelres']):.0e}; {t:.1f} s "
                     f"({t / nprod:.3f} s per product incl. the Krylov basis; one forward product alone {tprod:.3f} s, so the dense route's products "
                     f"alone ≈ {P * tprod:.0f} s); CPU/wall {float(d['cpu_share']):.2f}; load {loads(f'trainjac.{tag}')}"])

# ---- row 10: cost of one J_T product (bench_train -mode cost) --------------------------
c10 = results_all("trainjac_cost")
if c10:
    allc10 = c10
    c10 = min(c10, key=lambda d: float(d["hvps"]) + float(d["mult1"]) + float(d["multt1"]))  # the quietest round
    h = float(c10["hvps"])
    m1, t1, m2, t2 = (float(c10[k]) for k in ("mult1", "multt1", "mult2", "multt2"))
    what = f"{c10['arch']} ({int(c10['P']):,} parameters), T = {c10['T']} SGD steps (batch {c10['batch']}, {c10['momentum']} momentum)"
    rows.append([f"10. one J_T product (every = 1) vs T Hessian-vector products at the same iterates, {what}", f"{1e3 * m1:.0f} ms (MatMult), {1e3 * t1:.0f} ms (MatMultTranspose)",
                 f"{1e3 * h:.0f} ms (T × (SetPoint on the step's batch + Hessian product))", f"{max(m1, t1) / h:.3f} (the slower of the two)",
                 f"≤ 1.2: {verdict(max(m1, t1) / h <= 1.2)}",
                 f"MatMult {m1 / h:.3f}×, MatMultTranspose {t1 / h:.3f}×; best of {c10['repeat']} alternating rounds (of {len(allc10)} runs, the quietest; all runs' ratios "
                 + ", ".join(f"{max(float(d['mult1']), float(d['multt1'])) / float(d['hvps']):.3f}" for d in allc10) + ")"
                 + (f"; by CPU time (immune to time-sharing) MatMult {float(c10['cpu_mult1']) / float(c10['cpu_hvps']):.3f}×, MatMultTranspose "
                    f"{float(c10['cpu_multt1']) / float(c10['cpu_hvps']):.3f}×, every = {c10['every2']}: {float(c10['cpu_mult2']) / float(c10['cpu_hvps']):.3f}× / "
                    f"{float(c10['cpu_multt2']) / float(c10['cpu_hvps']):.3f}×" if "cpu_hvps" in c10 else "")
                 + (f"; of the {1e3 * h:.0f} ms, the T SetPoints alone (forward + backward at θ_t on the step's batch, which every J_T product redoes) take "
                    f"{1e3 * float(c10['setpoints']):.0f} ms ({float(c10['setpoints']) / h:.0%})" if "setpoints" in c10 else "") + f"; CPU/wall {float(c10['cpu_share']):.2f}; load {loads('trainjac_cost')}"])
    rows.append([f"10. same with every = {c10['every2']} (T/{c10['every2']} snapshots, segments recomputed)", f"{1e3 * m2:.0f} ms (MatMult), {1e3 * t2:.0f} ms (MatMultTranspose)",
                 f"{1e3 * h:.0f} ms", f"{max(m2, t2) / h:.3f}", "— (report)",
                 f"MatMult {m2 / h:.3f}×, MatMultTranspose {t2 / h:.3f}×: each recomputes {int(c10['every2']) - 1} of every {c10['every2']} steps "
                 f"(a training step ≈ SetPoint), memory for the iterates 1/{c10['every2']} (+ one segment)"])

# ---- row 11: training throughput (bench_train -mode throughput, train_peer.py) ---------
ts11, tp11 = results_all("train_tp.spd"), results_all("train_tp.peer")
if ts11 and tp11:
    bs = max(ts11, key=lambda d: float(d["steps_per_s"]))
    p64 = max((d for d in tp11 if d["dtype"] == "float64"), key=lambda d: float(d["steps_per_s"]))
    p32 = [d for d in tp11 if d["dtype"] == "float32"]
    s_sps, t64 = float(bs["steps_per_s"]), float(p64["steps_per_s"])
    gf = max(float(d["dgemm_gflops"]) for d in ts11)
    flop = float(bs["step_gflop"])
    ideal = gf / flop  # steps/s at the dgemm peak
    f32 = ""
    if p32:
        b32 = max(p32, key=lambda d: float(d["steps_per_s"]))
        f32 = f"; torch float32 {float(b32['steps_per_s']):.1f} steps/s (time ratio specdyn/torch-f32 {float(b32['steps_per_s']) / s_sps:.2f})"
    rows.append([f"11. training throughput, {bs['arch']} relu + cross-entropy, Fashion-MNIST, batch {bs['batch']}, SGD + momentum, 1 rank / 1 thread",
                 f"{s_sps:.1f} steps/s", f"{t64:.1f} steps/s (torch {p64['torch']} float64)", f"{t64 / s_sps:.2f} (time per step)",
                 f"≤ 1.0: {verdict(t64 / s_sps <= 1.0)}",
                 f"runs (steps/s) specdyn {', '.join(d['steps_per_s'] for d in ts11)}, torch float64 {', '.join(d['steps_per_s'] for d in tp11 if d['dtype'] == 'float64')}{f32}; "
                 f"hardware limit: {flop:.3f} Gflop of dgemm per step (2 per multiply-add: forward, weight and input gradients) at dgemm {bs['dgemm_n']}³ = "
                 f"{gf:.1f} GFLOP/s is {ideal:.0f} steps/s: specdyn at {s_sps / ideal:.0%} of it, torch float64 at {t64 / ideal:.0%}; "
                 f"CPU/wall ≥ {min(float(d['cpu_share']) for d in ts11):.2f} / {min(float(d['cpu_share']) for d in tp11):.2f}; load {loads('train_tp.spd')} / {loads('train_tp.peer')}"])

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
