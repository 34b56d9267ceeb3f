"""specdyn report: PNG plots and an index page from a results folder, no recomputation.

usage: /usr/bin/python3 specdyn_report.py RESULTS DIR [--max-matrices N]

Reads RESULTS/index.h5, the task files and the comparison files it lists
(docs/results-format.md) with h5py and draws with Matplotlib (Agg backend, no display)
into DIR:

  spectra_<label>.png     singular values sigma_i against i (log-log), one line per analysed
                          matrix of the checkpoint (full/sigma when stored, else top/sigma);
                          '/' in the label becomes '_'
  ranks_<run>.png         effective rank and stable rank against the training step, one
                          line per matrix name, for every run (checkpoints with a run name
                          and a step >= 0)
  diffspectra_<a>_minus_<b>.png
                          spectra of the difference tasks W_a - W_b (compare.differences),
                          log-log, one line per matrix; all-zero spectra are not drawn
  agreement_<run>_<name>.png
                          with compare.checkpoints: final: the diagonal agreement A_ii
                          against the run's final checkpoint (rows: steps, columns: i) and
                          the full k x k agreement of the run's first checkpoint vs final
  alignment_<run>.png     with compare.layers: alignment_top and alignment_diag_mean over
                          the layer pairs (natural order of name_a), one curve per
                          checkpoint of the run; alignment.png for checkpoints outside runs
  angles_<name>.png       with compare.runs: mean and largest principal angle between the
                          runs' top-k left (U) and right (V) subspaces over steps, one curve
                          per run pair
  <ensemble>_layer<l>.png for each RESULTS/ensemble*.h5 (docs/alignment.md) and layer l:
                          CKA, SVCCA, Procrustes distance between ensemble members (mean
                          +- std over pairs) and the test error against the SNR, one
                          curve per training-set size n
  index.md                every PNG, a table of headline numbers per analysed matrix and
                          tables of the comparisons' headline numbers
  <png>.json              the arrays drawn, read back from Matplotlib: lines as
                          {key: {"x": [...], "y": [...]}}, heatmaps as
                          {key: {"z": [[...]], "x": [...], "y": [...]}} (see docs/report.md)

--max-matrices N (or the environment variable SPD_REPORT_MAX_MATRICES; default 8) caps
the per-matrix plots (agreement_*, angles_*) at the first N analysed matrices in natural
name order; 0 means no cap. The index tables always list every comparison.

Exit status: 0 on success, 2 when RESULTS is not a results folder or cannot be read.
See docs/report.md."""
import json
import math
import os
import re
import sys

DEFAULT_MAX_MATRICES = 8
MAX_CURVES = 8  # checkpoints drawn per layer-alignment plot (first, last, evenly spaced)


class ReportError(Exception):
    pass


def _s(x):
    """An HDF5 string (bytes or str, scalar or 0-d array) as str."""
    if hasattr(x, "shape") and getattr(x, "shape", None) == ():
        x = x[()]
    return x.decode() if isinstance(x, bytes) else str(x)


def _strings(f, key):
    return [_s(x) for x in f[key][()]] if key in f else None


def _safe(name):
    """A file-name fragment: '/' (and other path separators) replaced by '_'."""
    out = "".join("_" if c in "/\\\0" else c for c in name)
    return "_" if out in ("", ".", "..") else out


def natural_key(name):
    """Sort key putting 'h.2' before 'h.10': digit runs compare as numbers."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


def read_results(results):
    """The done tasks of a results folder: (checkpoint list, tasks), no recomputation.

    checkpoints: list of dicts label, run, step (index order; labels of done weight tasks
    that are missing from /checkpoints_list are appended). tasks: list of dicts label,
    name, run, step, kind ('weights' or 'difference'), minus (label of b for a difference),
    file, m, n, sigma (float64 array or None), source ('full', 'top' or None), metrics."""
    import h5py
    import numpy as np

    if not os.path.isdir(results):
        raise ReportError(f"'{results}' is not a directory: give the results folder of a job (its 'output', or run -o DIR)")
    index = os.path.join(results, "index.h5")
    if not os.path.isfile(index):
        raise ReportError(f"'{results}' is not a results folder: it has no index.h5 (run 'specdyn run JOB.yaml' first, or 'specdyn run JOB.yaml --index-only' to merge slices)")
    try:
        f = h5py.File(index, "r")
    except OSError as e:
        raise ReportError(f"cannot open '{index}' as HDF5 ({e}); rewrite it with 'specdyn run JOB.yaml --index-only'")
    with f:
        need = ["tasks/name", "tasks/checkpoint", "tasks/status", "tasks/file"]
        missing = [k for k in need if k not in f]
        if missing:
            raise ReportError(f"'{index}' lacks {', '.join('/' + k for k in missing)}: not a specdyn results index (see docs/results-format.md)")
        tname, tck, tst, tfile = (_strings(f, k) for k in need)
        trun = _strings(f, "tasks/run") or [""] * len(tname)
        tstep = [int(x) for x in f["tasks/step"][()]] if "tasks/step" in f else [-1] * len(tname)
        tkind = _strings(f, "tasks/kind") or ["weights"] * len(tname)
        tminus = _strings(f, "tasks/minus_checkpoint") or [""] * len(tname)
        checkpoints = []
        if "checkpoints_list/label" in f:
            cl = _strings(f, "checkpoints_list/label")
            cr = _strings(f, "checkpoints_list/run") or [""] * len(cl)
            cs = [int(x) for x in f["checkpoints_list/step"][()]] if "checkpoints_list/step" in f else [-1] * len(cl)
            checkpoints = [{"label": l, "run": r, "step": s} for l, r, s in zip(cl, cr, cs)]

    known = {c["label"] for c in checkpoints}
    tasks = []
    for name, label, status, rel, run, step, kind, minus in zip(tname, tck, tst, tfile, trun, tstep, tkind, tminus):
        if status != "done":
            continue
        path = os.path.join(results, rel)
        if kind != "difference" and label not in known:
            checkpoints.append({"label": label, "run": run, "step": step})
            known.add(label)
        try:
            g = h5py.File(path, "r")
        except OSError as e:
            print(f"specdyn report: warning: task file '{path}' ({label}: {name}) cannot be read ({e}); skipped", file=sys.stderr)
            continue
        with g:
            t = {"label": label, "name": name, "run": run, "step": step, "kind": kind, "minus": minus, "file": path}
            t["m"] = int(g.attrs["m"]) if "m" in g.attrs else -1
            t["n"] = int(g.attrs["n"]) if "n" in g.attrs else -1
            t["sigma"], t["source"] = None, None
            for src in ("full", "top"):
                if f"{src}/sigma" in g:
                    t["sigma"] = np.asarray(g[f"{src}/sigma"][()], dtype=np.float64)
                    t["source"] = src
                    break
            t["metrics"] = {k: v[()] if hasattr(v, "shape") else v for k, v in g["metrics"].attrs.items()} if "metrics" in g else {}
        tasks.append(t)
    return checkpoints, tasks


HEADLINES = ("agreement_top", "agreement_diag_mean", "overlap_U", "overlap_V", "angle_U_max", "angle_V_max", "alignment_top", "alignment_diag_mean", "overlap", "angle_max")


def read_comparisons(results):
    """The done comparisons listed in index.h5 /comparisons (empty without compare:).

    Each a dict with the index columns id, relation, spaces, name_a, name_b,
    checkpoint_a, checkpoint_b, run_a, run_b, step_a, step_b, k, the headline numbers
    (HEADLINES) and path (the comparison file). Arrays are read later by _cmp_arrays."""
    import h5py

    index = os.path.join(results, "index.h5")
    with h5py.File(index, "r") as f:
        if "comparisons/id" not in f:
            return []
        g = f["comparisons"]
        n = len(g["id"])
        col = {}
        for c in ("id", "relation", "spaces", "name_a", "name_b", "checkpoint_a", "checkpoint_b", "run_a", "run_b", "status", "file"):
            col[c] = _strings(g, c) or [""] * n
        for c in ("step_a", "step_b", "k"):
            col[c] = [int(x) for x in g[c][()]] if c in g else [-1] * n
        for c in HEADLINES:
            col[c] = [float(x) for x in g[c][()]] if c in g else [float("nan")] * n
    out = []
    for i in range(n):
        if col["status"][i] != "done" or not col["file"][i]:
            continue
        c = {k: v[i] for k, v in col.items()}
        c["path"] = os.path.join(results, c["file"])
        out.append(c)
    return out


def _cmp_arrays(c, keys):
    """{key: float64 array} of the comparison file c, or None (warning) when unreadable."""
    import h5py
    import numpy as np

    try:
        with h5py.File(c["path"], "r") as g:
            missing = [k for k in keys if k not in g]
            if missing:
                print(f"specdyn report: warning: comparison file '{c['path']}' ({c['relation']} {c['name_a']}) lacks {', '.join(missing)}; skipped", file=sys.stderr)
                return None
            return {k: np.asarray(g[k][()], dtype=np.float64) for k in keys}
    except OSError as e:
        print(f"specdyn report: warning: comparison file '{c['path']}' ({c['relation']} {c['name_a']}) cannot be read ({e}); skipped", file=sys.stderr)
        return None


def _num(v):
    return v.item() if hasattr(v, "item") else v


def _plot_json(fig):
    """The data of fig read back from Matplotlib: every Line2D as {"x", "y"} keyed by
    fig's keyfn, every AxesImage of an axes with a gid as {"z", "x", "y"} keyed by the gid."""
    import numpy as np

    out = {}
    for ax in fig.axes:
        for ln in ax.get_lines():
            key = fig._spd_keyfn(ax, ln)
            e = {"x": [_num(v) for v in ln.get_xdata(orig=True)], "y": [_num(v) for v in ln.get_ydata(orig=True)]}
            xl = getattr(ax, "_spd_xlabels", None)
            if xl is not None:
                e["xlabels"] = list(xl)
            out[key] = e
        for im in ax.get_images():
            if not ax.get_gid():
                continue
            z = np.ma.filled(np.ma.asarray(im.get_array(), dtype=np.float64), np.nan)
            x, y = im._spd_xy
            out[ax.get_gid()] = {"z": [[_num(v) for v in row] for row in z], "x": list(x), "y": list(y)}
    return out


def _save(fig, outdir, fname, keyfn, written):
    import matplotlib.pyplot as plt

    base, n = fname[:-4], 2
    while fname in written:  # two names that map to the same file fragment
        fname = f"{base}~{n}.png"
        n += 1
    path = os.path.join(outdir, fname)
    fig._spd_keyfn = keyfn or (lambda a, ln: f"{a.get_gid()}:{ln.get_label()}")
    fig.savefig(path, dpi=100)
    with open(path + ".json", "w") as fp:
        json.dump(_plot_json(fig), fp, indent=1)
    plt.close(fig)
    written.append(fname)
    return fname


def _spectra_fig(ts, title):
    """A log-log figure with one line sigma_i against i per task; lines without a positive
    value (zero matrices) are left out and named in the title."""
    import matplotlib.pyplot as plt
    import numpy as np

    drawn = [t for t in ts if np.any(t["sigma"] > 0)]
    zero = [t["name"] for t in ts if t not in drawn]
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for t in drawn:
        s = t["sigma"]
        ax.plot(np.arange(1, s.size + 1, dtype=np.int64), s, label=t["name"], lw=1.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("index i")
    ax.set_ylabel("singular value $\\sigma_i$")
    srcs = sorted({t["source"] for t in drawn})
    title = f"{title} ({', '.join(s + '/sigma' for s in srcs)})"
    if zero:
        title += f"\nzero (all $\\sigma$ = 0, not drawn): {', '.join(zero[:4])}{' …' if len(zero) > 4 else ''}"
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    if len(drawn) <= 12:
        ax.legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    return fig


def plot_spectra(checkpoints, tasks, outdir, written):
    for c in checkpoints:
        ts = [t for t in tasks if t["kind"] != "difference" and t["label"] == c["label"] and t["sigma"] is not None and t["sigma"].size]
        if not ts:
            continue
        fig = _spectra_fig(ts, f"{c['label']}: singular values")
        if fig is not None:
            _save(fig, outdir, f"spectra_{_safe(c['label'])}.png", lambda a, ln: ln.get_label(), written)


def plot_diff_spectra(checkpoints, tasks, outdir, written, notes):
    """Spectra of the difference tasks W_a - W_b, one figure per pair of checkpoints;
    zero differences (e.g. runs sharing their initialization) go to notes."""
    import numpy as np

    order = {c["label"]: i for i, c in enumerate(checkpoints)}
    pairs = []
    for t in tasks:
        if t["kind"] == "difference" and t["sigma"] is not None and t["sigma"].size:
            a = t["label"].split(" - ")[0] if t["minus"] and t["label"].endswith(" - " + t["minus"]) else t["label"]
            key = (a, t["minus"], t["label"])
            if key not in pairs:
                pairs.append(key)
    pairs.sort(key=lambda p: (order.get(p[0], len(order)), order.get(p[1], len(order)), p[2]))
    for a, b, label in pairs:
        ts = [t for t in tasks if t["kind"] == "difference" and t["label"] == label and t["sigma"] is not None and t["sigma"].size]
        zero = [t["name"] for t in ts if not np.any(t["sigma"] > 0)]
        if zero:
            which = "all" if len(zero) == len(ts) else ", ".join(f"`{_md(z)}`" for z in zero[:6]) + (" …" if len(zero) > 6 else "")
            notes.append(f"{label}: {len(zero)} of {len(ts)} differences are zero matrices (all σ = 0): {which}")
        fig = _spectra_fig(ts, f"{a} $-$ {b}: singular values of $W_a - W_b$" if b else f"{label}: singular values")
        if fig is not None:
            fname = f"diffspectra_{_safe(a)}_minus_{_safe(b)}.png" if b else f"diffspectra_{_safe(label)}.png"
            _save(fig, outdir, fname.replace(" ", "_"), lambda a_, ln: ln.get_label(), written)


def plot_ranks(checkpoints, tasks, outdir, written):
    import matplotlib.pyplot as plt
    import numpy as np

    runs = []
    for c in checkpoints:
        if c["run"] and c["step"] >= 0 and c["run"] not in runs:
            runs.append(c["run"])
    for run in runs:
        labels = {c["label"] for c in checkpoints if c["run"] == run and c["step"] >= 0}
        ts = [t for t in tasks if t["kind"] != "difference" and t["label"] in labels and t["step"] >= 0]
        names = []
        for t in ts:
            if t["name"] not in names:
                names.append(t["name"])
        if not names:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
        for ax, key, title in ((axes[0], "effective_rank", "effective rank"), (axes[1], "stable_rank", "stable rank")):
            ax.set_gid(key)
            for name in names:
                pts = sorted((t["step"], float(t["metrics"].get(key, float("nan")))) for t in ts if t["name"] == name)
                ax.plot(np.array([p[0] for p in pts], dtype=np.int64), np.array([p[1] for p in pts], dtype=np.float64), marker="o", ms=3, lw=1.2, label=name)
            ax.set_xlabel("step")
            ax.set_ylabel(title)
            ax.set_title(f"run {run}: {title}", fontsize=9)
            ax.grid(True, alpha=0.3)
        if len(names) <= 12:
            axes[1].legend(fontsize=6, loc="best")
        fig.tight_layout()
        _save(fig, outdir, f"ranks_{_safe(run)}.png", lambda a, ln: f"{a.get_gid()}:{ln.get_label()}", written)


def _first_names(names, cap):
    names = sorted(set(names), key=natural_key)
    return names if cap <= 0 else names[:cap]


def _heatmap(fig, ax, gid, z, x, y, title, xlabel, ylabel):
    """imshow of z (rows y, columns x) on [0, 1] with every (or every few) tick labelled."""
    import numpy as np

    ax.set_gid(gid)
    im = ax.imshow(np.ma.masked_invalid(z), vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto", interpolation="nearest")
    im._spd_xy = (x, y)
    for setter, lab, vals in ((ax.set_xticks, ax.set_xticklabels, x), (ax.set_yticks, ax.set_yticklabels, y)):
        stride = max(1, math.ceil(len(vals) / 16))
        pos = list(range(0, len(vals), stride))
        setter(pos)
        lab([str(vals[p]) for p in pos], fontsize=7)
    if z.size <= 64:  # small maps: the values in the cells
        for (r, c), v in np.ndenumerate(z):
            if not math.isnan(v):
                ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="black" if v > 0.6 else "white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)


def plot_agreement(comparisons, runs, outdir, written, cap, skipped):
    """Per run and matrix: A_ii vs the final checkpoint over steps, and the first
    checkpoint's full k x k agreement with the final one."""
    import matplotlib.pyplot as plt
    import numpy as np

    fin = [c for c in comparisons if c["relation"] == "final"]
    out = []
    for run in runs + sorted({c["run_a"] for c in fin} - set(runs)):
        rc = [c for c in fin if c["run_a"] == run]
        if not rc:
            continue
        allnames = {c["name_a"] for c in rc}
        names = _first_names(allnames, cap)
        if len(names) < len(allnames):
            skipped.append(f"agreement heatmaps of run {run}: {len(names)} of {len(allnames)} matrices drawn")
        for name in names:
            cs = sorted((c for c in rc if c["name_a"] == name), key=lambda c: (c["step_a"], c["checkpoint_a"]))
            data = [(c, _cmp_arrays(c, ["agreement"])) for c in cs]
            data = [(c, d["agreement"]) for c, d in data if d is not None and d["agreement"].ndim == 2 and d["agreement"].size]
            if not data:
                continue
            kmax = max(min(a.shape) for _, a in data)
            diag = np.full((len(data), kmax), np.nan)
            for r, (_, a) in enumerate(data):
                d = np.diagonal(a)
                diag[r, : d.size] = d
            steps = [c["step_a"] if c["step_a"] >= 0 else c["checkpoint_a"] for c, _ in data]
            c0, a0 = data[0]
            fig, axes = plt.subplots(1, 2, figsize=(11, max(3.6, min(9.0, 1.6 + 0.25 * len(data)))))
            _heatmap(fig, axes[0], "diag", diag, list(range(1, kmax + 1)), steps, f"run {run}, {name}: $A_{{ii}}$ vs final {data[0][0]['checkpoint_b']}", "i (singular triplet)", "step")
            _heatmap(fig, axes[1], "first_vs_final", a0, list(range(1, a0.shape[1] + 1)), list(range(1, a0.shape[0] + 1)), f"{c0['checkpoint_a']} vs {c0['checkpoint_b']}: $|U_a^TU_b \\odot V_a^TV_b|$", "j (final checkpoint)", f"i ({c0['checkpoint_a']})")
            fig.tight_layout()
            out.append(_save(fig, outdir, f"agreement_{_safe(run)}_{_safe(name)}.png", None, written))
    return out


def _pick(items, n):
    """At most n items: the first, the last and evenly spaced ones between."""
    if len(items) <= n:
        return items
    idx = sorted({round(i * (len(items) - 1) / (n - 1)) for i in range(n)})
    return [items[i] for i in idx]


def plot_alignment(comparisons, checkpoints, outdir, written, skipped):
    """alignment_top and alignment_diag_mean over the layer pairs, one curve per checkpoint,
    one figure per run (and one for the checkpoints outside runs)."""
    import matplotlib.pyplot as plt
    import numpy as np

    lay = [c for c in comparisons if c["relation"] == "layers"]
    if not lay:
        return []
    order = {c["label"]: i for i, c in enumerate(checkpoints)}
    groups = []
    for c in checkpoints:
        if c["run"] not in groups:
            groups.append(c["run"])
    for c in lay:
        if c["run_a"] not in groups:
            groups.append(c["run_a"])
    out = []
    for run in groups:
        gc = [c for c in lay if c["run_a"] == run]
        if not gc:
            continue
        pairs = sorted({(c["name_a"], c["name_b"], c["spaces"]) for c in gc}, key=lambda p: (natural_key(p[0]), natural_key(p[1]), p[2]))
        pos = {p: i for i, p in enumerate(pairs)}
        labs = sorted({c["checkpoint_a"] for c in gc}, key=lambda l: (order.get(l, len(order)), next((c["step_a"] for c in gc if c["checkpoint_a"] == l), -1), l))
        shown = _pick(labs, MAX_CURVES)
        if len(shown) < len(labs):
            skipped.append(f"layer alignment of {'run ' + run if run else 'the checkpoints'}: {len(shown)} of {len(labs)} checkpoints drawn (first, last, evenly spaced)")
        xl = [f"{a} → {b}" + ("" if sp in ("", "out-in") else f" ({sp})") for a, b, sp in pairs]
        fig, axes = plt.subplots(1, 2, figsize=(max(10.0, min(24.0, 4 + 0.45 * len(pairs))), 5.2))
        cmap = plt.get_cmap("viridis")
        for ax, key in ((axes[0], "alignment_top"), (axes[1], "alignment_diag_mean")):
            ax.set_gid(key)
            ax._spd_xlabels = xl
            for j, lab in enumerate(shown):
                y = np.full(len(pairs), np.nan)
                for c in gc:
                    if c["checkpoint_a"] == lab:
                        y[pos[(c["name_a"], c["name_b"], c["spaces"])]] = c[key]
                step = next(c["step_a"] for c in gc if c["checkpoint_a"] == lab)
                name = f"step {step}" if run and step >= 0 else lab
                ax.plot(np.arange(len(pairs), dtype=np.int64), y, marker="o", ms=3, lw=1.2, color=cmap(j / max(1, len(shown) - 1)), label=name)
                ax.lines[-1]._spd_label = lab
            ax.set_xticks(range(len(pairs)))
            ax.set_xticklabels(xl, rotation=60 if len(pairs) > 4 else 20, ha="right", fontsize=6 if len(pairs) > 12 else 7)
            ax.set_xlim(-0.5, len(pairs) - 0.5)
            ax.set_ylim(-0.02, 1.02)
            ax.set_ylabel(key)
            ax.set_title(f"{'run ' + run if run else 'checkpoints'}: {key} over layer pairs", fontsize=9)
            ax.grid(True, alpha=0.3)
        axes[1].legend(fontsize=6, loc="best")
        fig.tight_layout()
        out.append(_save(fig, outdir, f"alignment_{_safe(run)}.png" if run else "alignment.png", lambda a, ln: f"{a.get_gid()}:{ln._spd_label}", written))
    return out


def plot_run_angles(comparisons, outdir, written, cap, skipped):
    """Per matrix: mean and largest principal angle between the runs over steps."""
    import matplotlib.pyplot as plt
    import numpy as np

    rc = [c for c in comparisons if c["relation"] == "runs"]
    if not rc:
        return []
    allnames = {c["name_a"] for c in rc}
    names = _first_names(allnames, cap)
    if len(names) < len(allnames):
        skipped.append(f"principal angles between runs: {len(names)} of {len(allnames)} matrices drawn")
    out = []
    for name in names:
        cs = [c for c in rc if c["name_a"] == name]
        pairs = []
        for c in cs:
            if (c["run_a"], c["run_b"]) not in pairs:
                pairs.append((c["run_a"], c["run_b"]))
        series = {}
        for pair in pairs:
            pts = []
            for c in sorted((c for c in cs if (c["run_a"], c["run_b"]) == pair), key=lambda c: c["step_a"]):
                d = _cmp_arrays(c, ["angles_U_deg", "angles_V_deg"])
                if d is not None:
                    pts.append((c["step_a"], d["angles_U_deg"], d["angles_V_deg"]))
            if pts:
                series[pair] = pts
        if not series:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for ax, side, col in ((axes[0], "U", 1), (axes[1], "V", 2)):
            ax.set_gid(side)
            for j, (pair, pts) in enumerate(series.items()):
                x = np.array([p[0] for p in pts], dtype=np.int64)
                mean = np.array([np.mean(p[col]) if p[col].size else np.nan for p in pts], dtype=np.float64)
                mx = np.array([np.max(p[col]) if p[col].size else np.nan for p in pts], dtype=np.float64)
                tag = f"{pair[0]}|{pair[1]}"
                ax.plot(x, mean, marker="o", ms=3, lw=1.2, color=colors[j % len(colors)], label=f"mean: {pair[0]} vs {pair[1]}", gid=f"mean:{tag}")
                ax.plot(x, mx, marker="s", ms=3, lw=1.0, ls="--", color=colors[j % len(colors)], label=f"max: {pair[0]} vs {pair[1]}", gid=f"max:{tag}")
            ax.set_xlabel("step")
            ax.set_ylabel("principal angle (degrees)")
            ax.set_title(f"{name}: angles between runs' top-k {'left' if side == 'U' else 'right'} subspaces ({side})", fontsize=9)
            ax.grid(True, alpha=0.3)
        if len(series) <= 6:
            axes[1].legend(fontsize=6, loc="best")
        fig.tight_layout()
        out.append(_save(fig, outdir, f"angles_{_safe(name)}.png", lambda a, ln: f"{a.get_gid()}:{ln.get_gid()}", written))
    return out


ENSEMBLE_MEASURES = (("cka", "linear CKA"), ("svcca", "SVCCA"), ("procrustes", "Procrustes distance"))


def plot_ensemble(results, outdir, written):
    """The ensemble-alignment files RESULTS/ensemble*.h5 (docs/alignment.md), one figure
    per file and layer: CKA, SVCCA and the Procrustes distance between the members
    (mean, band of +- one standard deviation over the member pairs) and the members'
    mean test error against the SNR, one curve per training-set size n. Files without
    /ensemble are skipped with a warning."""
    import glob

    import h5py
    import matplotlib.pyplot as plt
    import numpy as np

    out = []
    for path in sorted(glob.glob(os.path.join(results, "ensemble*.h5")), key=natural_key):
        stem = _safe(os.path.splitext(os.path.basename(path))[0])
        try:
            with h5py.File(path, "r") as f:
                if "ensemble" not in f:
                    print(f"specdyn report: warning: '{path}' has no /ensemble group; skipped", file=sys.stderr)
                    continue
                g = f["ensemble"]
                d = {k: np.asarray(g[k][()]) for k in ("snr", "n", "layer", "test_error", "test_error_std")}
                for k, _ in ENSEMBLE_MEASURES:
                    d[k + "_mean"] = np.asarray(g[k + "_mean"][()], dtype=np.float64)
                    d[k + "_std"] = np.asarray(g[k + "_std"][()], dtype=np.float64)
                nlayer_hidden = int(g.attrs.get("depth", len(d["layer"]) - 1))
        except (OSError, KeyError) as e:
            print(f"specdyn report: warning: ensemble file '{path}' cannot be read ({e}); skipped", file=sys.stderr)
            continue
        snr = d["snr"].astype(np.float64)
        logx = bool(np.all(snr > 0))
        order = np.argsort(snr)
        cmap = plt.get_cmap("viridis")
        for li, layer in enumerate(d["layer"]):
            layer = int(layer)
            lname = f"layer {layer}" + (" (outputs)" if layer > nlayer_hidden else " (hidden)")
            fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
            for ax, (key, title) in zip(axes, ENSEMBLE_MEASURES + (("test_error", "test error"),)):
                ax.set_gid(key)
                for j, n in enumerate(d["n"]):
                    if key == "test_error":
                        y, s = d["test_error"][:, j], d["test_error_std"][:, j]
                    else:
                        y, s = d[key + "_mean"][:, j, li], d[key + "_std"][:, j, li]
                    col = cmap(j / max(1, len(d["n"]) - 1))
                    ax.plot(snr[order], y[order], marker="o", ms=4, lw=1.4, color=col, label=f"n={int(n)}")
                    ax.fill_between(snr[order], (y - s)[order], (y + s)[order], color=col, alpha=0.2, lw=0)
                if logx:
                    ax.set_xscale("log")
                if key == "test_error" and np.all(d["test_error"] > 0):
                    ax.set_yscale("log")
                ax.set_xlabel("SNR")
                ax.set_ylabel(title)
                ax.set_title(f"{title}" + ("" if key == "test_error" else f", {lname}"), fontsize=9)
                ax.grid(True, alpha=0.3)
            axes[0].legend(fontsize=7, loc="best")
            fig.suptitle(f"{os.path.basename(path)}: alignment between ensemble members ({int(len(d['n']))} sizes n)", fontsize=10)
            fig.tight_layout()
            out.append(_save(fig, outdir, f"{stem}_layer{layer}.png", lambda a, ln: f"{a.get_gid()}:{ln.get_label()}", written))
    return out



def glob_ensemble(results):
    """The ensemble-alignment files of a results folder (RESULTS/ensemble*.h5)."""
    import glob

    return sorted(glob.glob(os.path.join(results, "ensemble*.h5")))

def _fmt(v, kind="g"):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return ""
    if math.isnan(v):
        return "–"
    if kind == "i":
        return "–" if v < 0 else str(int(v))
    return f"{v:.6g}"


def _md(name):
    return name.replace("|", "\\|")


def _link(w):
    return f"![{w}](<{w}>)" if any(c in w for c in " ()<>") else f"![{w}]({w})"


def comparison_tables(comparisons, runs, checkpoints):
    """Markdown tables of the comparisons' headline numbers (index.h5 /comparisons)."""
    lines = []
    fin = [c for c in comparisons if c["relation"] == "final"]
    runorder = {r: i for i, r in enumerate(runs)}
    if fin:
        lines += ["### Agreement with the final checkpoint (first step of each run)", "",
                  "| run | name | step | final step | agreement_top | agreement_diag_mean | overlap_U | overlap_V | angle_U_max | angle_V_max |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        keys = sorted({(c["run_a"], c["name_a"]) for c in fin}, key=lambda k: (runorder.get(k[0], len(runorder)), k[0], natural_key(k[1])))
        for run, name in keys:
            c = min((c for c in fin if c["run_a"] == run and c["name_a"] == name), key=lambda c: (c["step_a"], c["checkpoint_a"]))
            lines.append(f"| {run} | `{_md(name)}` | {_fmt(c['step_a'], 'i')} | {_fmt(c['step_b'], 'i')} | " + " | ".join(_fmt(c[h]) for h in ("agreement_top", "agreement_diag_mean", "overlap_U", "overlap_V", "angle_U_max", "angle_V_max")) + " |")
        lines.append("")
    rc = [c for c in comparisons if c["relation"] == "runs"]
    if rc:
        lines += ["### Between runs (last common step)", "",
                  "| run a | run b | name | step | agreement_diag_mean | overlap_U | overlap_V | angle_U_max | angle_V_max |",
                  "|---|---|---|---|---|---|---|---|---|"]
        keys = sorted({(c["run_a"], c["run_b"], c["name_a"]) for c in rc}, key=lambda k: (runorder.get(k[0], len(runorder)), runorder.get(k[1], len(runorder)), k[0], k[1], natural_key(k[2])))
        for ra, rb, name in keys:
            c = max((c for c in rc if (c["run_a"], c["run_b"], c["name_a"]) == (ra, rb, name)), key=lambda c: (c["step_a"], c["checkpoint_a"]))
            lines.append(f"| {ra} | {rb} | `{_md(name)}` | {_fmt(c['step_a'], 'i')} | " + " | ".join(_fmt(c[h]) for h in ("agreement_diag_mean", "overlap_U", "overlap_V", "angle_U_max", "angle_V_max")) + " |")
        lines.append("")
    lay = [c for c in comparisons if c["relation"] == "layers"]
    if lay:
        order = {c["label"]: i for i, c in enumerate(checkpoints)}
        # the last checkpoint of each run, and every checkpoint outside runs
        last = {}
        for c in lay:
            if c["run_a"]:
                if c["run_a"] not in last or (c["step_a"], order.get(c["checkpoint_a"], -1)) > (last[c["run_a"]][0], order.get(last[c["run_a"]][1], -1)):
                    last[c["run_a"]] = (c["step_a"], c["checkpoint_a"])
        keep = {v[1] for v in last.values()} | {c["checkpoint_a"] for c in lay if not c["run_a"]}
        lines += ["### Layer alignment (last checkpoint of each run; every checkpoint outside runs)", "",
                  "| checkpoint | a | b | spaces | alignment_top | alignment_diag_mean | overlap | angle_max |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in sorted((c for c in lay if c["checkpoint_a"] in keep), key=lambda c: (order.get(c["checkpoint_a"], len(order)), c["checkpoint_a"], natural_key(c["name_a"]), natural_key(c["name_b"]), c["spaces"])):
            lines.append(f"| {c['checkpoint_a']} | `{_md(c['name_a'])}` | `{_md(c['name_b'])}` | {c['spaces'] or 'out-in'} | " + " | ".join(_fmt(c[h]) for h in ("alignment_top", "alignment_diag_mean", "overlap", "angle_max")) + " |")
        lines.append("")
    return lines


def write_index(results, checkpoints, tasks, comparisons, runs, outdir, written, skipped, notes):
    order = {c["label"]: i for i, c in enumerate(checkpoints)}
    lines = ["# specdyn report", "", f"Results: `{os.path.abspath(results)}` ({len(tasks)} analysed matrices, {len(comparisons)} comparisons, no recomputation).", ""]
    sections = (("ranks_", "Ranks over training steps"), ("spectra_", "Singular value spectra"),
                ("agreement_", "Singular-vector agreement with the final checkpoint"), ("alignment", "Layer alignment"),
                ("angles_", "Principal angles between runs"), ("diffspectra_", "Spectra of differences W_a − W_b"),
                ("ensemble", "Representational alignment across ensembles"))
    for prefix, title in sections:
        ws = [w for w in written if w.startswith(prefix)]
        if ws:
            lines += [f"## {title}", ""] + [_link(w) for w in ws] + [""]
    if notes:
        lines += ["Zero differences (not drawn: log axes):", ""] + [f"- {s}" for s in notes] + [""]
    if skipped:
        lines += ["Not drawn (set SPD_REPORT_MAX_MATRICES=0 to draw every matrix):", ""] + [f"- {s}" for s in skipped] + [""]
    lines += ["## Headline numbers", "", "| checkpoint | name | m×n | σ₁ | stable rank | effective rank | MP outliers | α |", "|---|---|---|---|---|---|---|---|"]

    def key(t):
        if t["kind"] == "difference":
            a = t["label"].split(" - ")[0]
            return (1, order.get(a, len(order)), order.get(t["minus"], len(order)), t["label"], t["name"])
        return (0, order.get(t["label"], len(order)), 0, t["label"], t["name"])

    for t in sorted(tasks, key=key):
        m = t["metrics"]
        lines.append(f"| {t['label']} | `{_md(t['name'])}` | {t['m']}×{t['n']} | {_fmt(m.get('spectral'))} | {_fmt(m.get('stable_rank'))} | {_fmt(m.get('effective_rank'))} | {_fmt(m.get('mp_outliers'), 'i')} | {_fmt(m.get('alpha'))} |")
    lines.append("")
    tables = comparison_tables(comparisons, runs, checkpoints)
    if tables:
        lines += ["## Comparisons: headline numbers", "", "From index.h5 `/comparisons` (formulas in docs/metrics.md, Comparisons).", ""] + tables
    with open(os.path.join(outdir, "index.md"), "w") as fp:
        fp.write("\n".join(lines))


def _parse(argv):
    """(results, outdir, cap) from the command line, or an int exit status."""
    args = argv[1:]
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    cap = os.environ.get("SPD_REPORT_MAX_MATRICES", "")
    source = "SPD_REPORT_MAX_MATRICES"
    if "--max-matrices" in args:
        i = args.index("--max-matrices")
        if i + 1 >= len(args):
            print("specdyn report: --max-matrices needs a number (0: no cap)", file=sys.stderr)
            return 2
        cap, source = args[i + 1], "--max-matrices"
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if cap == "":
        cap = DEFAULT_MAX_MATRICES
    else:
        try:
            cap = int(cap)
            if cap < 0:
                raise ValueError
        except ValueError:
            print(f"specdyn report: {source} must be an integer >= 0 (0: no cap), got '{cap}'", file=sys.stderr)
            return 2
    return args[0], args[1], cap


def main(argv):
    parsed = _parse(argv)
    if isinstance(parsed, int):
        return parsed
    results, outdir, cap = parsed
    try:
        import h5py  # noqa: F401
        import numpy  # noqa: F401
        import matplotlib

        matplotlib.use("Agg")
    except ImportError as e:
        print(f"specdyn report: {e}: install Debian's python3-matplotlib and python3-h5py (scripts/install-deps.sh)", file=sys.stderr)
        return 2
    try:
        checkpoints, tasks = read_results(results)
        try:
            comparisons = read_comparisons(results)
        except (OSError, KeyError, ValueError) as e:
            raise ReportError(f"cannot read /comparisons of '{os.path.join(results, 'index.h5')}' ({e}); rewrite it with 'specdyn run JOB.yaml --index-only'")
        try:
            os.makedirs(outdir, exist_ok=True)
        except OSError as e:
            raise ReportError(f"cannot create the output folder '{outdir}' ({e.strerror}): give a writable -o DIR")
        runs = []
        for c in checkpoints:
            if c["run"] and c["run"] not in runs:
                runs.append(c["run"])
        written, skipped, notes = [], [], []
        plot_spectra(checkpoints, tasks, outdir, written)
        plot_ranks(checkpoints, tasks, outdir, written)
        plot_agreement(comparisons, runs, outdir, written, cap, skipped)
        plot_alignment(comparisons, checkpoints, outdir, written, skipped)
        plot_run_angles(comparisons, outdir, written, cap, skipped)
        plot_diff_spectra(checkpoints, tasks, outdir, written, notes)
        if glob_ensemble(results):
            plot_ensemble(results, outdir, written)
        write_index(results, checkpoints, tasks, comparisons, runs, outdir, written, skipped, notes)
    except ReportError as e:
        print(f"specdyn report: {e}", file=sys.stderr)
        return 2
    print(f"specdyn report: {len(written)} plots and index.md written to {outdir} ({len(tasks)} analysed matrices, {len(comparisons)} comparisons)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
