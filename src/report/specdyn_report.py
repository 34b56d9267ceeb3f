"""specdyn report: PNG plots and an index page from a results folder, no recomputation.

usage: /usr/bin/python3 specdyn_report.py RESULTS DIR

Reads RESULTS/index.h5 and the task files it lists (docs/results-format.md) with h5py and
draws with Matplotlib (Agg backend, no display) into DIR:

  spectra_<label>.png   singular values sigma_i against i (log-log), one line per analysed
                        matrix of the checkpoint (full/sigma when stored, else top/sigma);
                        '/' in the label becomes '_'
  ranks_<run>.png       effective rank and stable rank against the training step, one
                        line per matrix name, for every run (checkpoints with a run name
                        and a step >= 0)
  index.md              every PNG and a table of headline numbers per analysed matrix
  <png>.json            the arrays of every drawn line, read back from the Matplotlib
                        Line2D objects: {line key: {"x": [...], "y": [...]}}; the key is
                        the matrix name for spectra and "<panel>:<name>" for ranks
                        (panel effective_rank or stable_rank)

Exit status: 0 on success, 2 when RESULTS is not a results folder or cannot be read.
See docs/report.md."""
import json
import math
import os
import sys


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


def read_results(results):
    """The done tasks of a results folder: (checkpoint list, tasks), no recomputation.

    checkpoints: list of dicts label, run, step (index order; labels of done tasks that
    are missing from /checkpoints_list are appended). tasks: list of dicts label, name,
    run, step, file, m, n, sigma (float64 array or None), source ('full', 'top' or None),
    metrics (dict)."""
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
        checkpoints = []
        if "checkpoints_list/label" in f:
            cl = _strings(f, "checkpoints_list/label")
            cr = _strings(f, "checkpoints_list/run") or [""] * len(cl)
            cs = [int(x) for x in f["checkpoints_list/step"][()]] if "checkpoints_list/step" in f else [-1] * len(cl)
            checkpoints = [{"label": l, "run": r, "step": s} for l, r, s in zip(cl, cr, cs)]

    known = {c["label"] for c in checkpoints}
    tasks = []
    for name, label, status, rel, run, step in zip(tname, tck, tst, tfile, trun, tstep):
        if status != "done":
            continue
        path = os.path.join(results, rel)
        if label not in known:
            checkpoints.append({"label": label, "run": run, "step": step})
            known.add(label)
        try:
            g = h5py.File(path, "r")
        except OSError as e:
            print(f"specdyn report: warning: task file '{path}' ({label}: {name}) cannot be read ({e}); skipped", file=sys.stderr)
            continue
        with g:
            t = {"label": label, "name": name, "run": run, "step": step, "file": path}
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


def _lines_json(fig, keyfn):
    """{key: {"x": [...], "y": [...]}} of every Line2D of fig, read back from Matplotlib."""
    out = {}
    for ax in fig.axes:
        for ln in ax.get_lines():
            key = keyfn(ax, ln)
            x = [v.item() if hasattr(v, "item") else v for v in ln.get_xdata(orig=True)]
            y = [v.item() if hasattr(v, "item") else v for v in ln.get_ydata(orig=True)]
            out[key] = {"x": x, "y": y}
    return out


def _save(fig, outdir, fname, keyfn, written):
    import matplotlib.pyplot as plt

    path = os.path.join(outdir, fname)
    fig.savefig(path, dpi=100)
    with open(path + ".json", "w") as fp:
        json.dump(_lines_json(fig, keyfn), fp, indent=1)
    plt.close(fig)
    written.append(fname)


def plot_spectra(checkpoints, tasks, outdir, written):
    import matplotlib.pyplot as plt
    import numpy as np

    for c in checkpoints:
        ts = [t for t in tasks if t["label"] == c["label"] and t["sigma"] is not None and t["sigma"].size]
        if not ts:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        for t in ts:
            s = t["sigma"]
            ax.plot(np.arange(1, s.size + 1, dtype=np.int64), s, label=t["name"], lw=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("index i")
        ax.set_ylabel("singular value $\\sigma_i$")
        srcs = sorted({t["source"] for t in ts})
        ax.set_title(f"{c['label']}: singular values ({', '.join(s + '/sigma' for s in srcs)})", fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        if len(ts) <= 12:
            ax.legend(fontsize=6, loc="lower left")
        fig.tight_layout()
        _save(fig, outdir, f"spectra_{_safe(c['label'])}.png", lambda a, ln: ln.get_label(), written)


def plot_ranks(checkpoints, tasks, outdir, written):
    import matplotlib.pyplot as plt
    import numpy as np

    runs = []
    for c in checkpoints:
        if c["run"] and c["step"] >= 0 and c["run"] not in runs:
            runs.append(c["run"])
    for run in runs:
        labels = {c["label"] for c in checkpoints if c["run"] == run and c["step"] >= 0}
        ts = [t for t in tasks if t["label"] in labels and t["step"] >= 0]
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


def write_index(results, checkpoints, tasks, outdir, written):
    order = {c["label"]: i for i, c in enumerate(checkpoints)}
    lines = ["# specdyn report", "", f"Results: `{os.path.abspath(results)}` ({len(tasks)} analysed matrices, no recomputation).", ""]
    spectra = [w for w in written if w.startswith("spectra_")]
    ranks = [w for w in written if w.startswith("ranks_")]
    if ranks:
        lines += ["## Ranks over training steps", ""] + [f"![{w}]({w})" for w in ranks] + [""]
    if spectra:
        lines += ["## Singular value spectra", ""] + [f"![{w}]({w})" for w in spectra] + [""]
    lines += ["## Headline numbers", "", "| checkpoint | name | m×n | σ₁ | stable rank | effective rank | MP outliers | α |", "|---|---|---|---|---|---|---|---|"]
    for t in sorted(tasks, key=lambda t: (order.get(t["label"], 0), t["name"])):
        m = t["metrics"]
        name = t["name"].replace("|", "\\|")
        lines.append(f"| {t['label']} | `{name}` | {t['m']}×{t['n']} | {_fmt(m.get('spectral'))} | {_fmt(m.get('stable_rank'))} | {_fmt(m.get('effective_rank'))} | {_fmt(m.get('mp_outliers'), 'i')} | {_fmt(m.get('alpha'))} |")
    lines.append("")
    with open(os.path.join(outdir, "index.md"), "w") as fp:
        fp.write("\n".join(lines))


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__, file=sys.stderr if len(argv) != 2 else sys.stdout)
        return 0 if len(argv) == 2 and argv[1] in ("-h", "--help") else 2
    results, outdir = argv[1], argv[2]
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
            os.makedirs(outdir, exist_ok=True)
        except OSError as e:
            raise ReportError(f"cannot create the output folder '{outdir}' ({e.strerror}): give a writable -o DIR")
        written = []
        plot_spectra(checkpoints, tasks, outdir, written)
        plot_ranks(checkpoints, tasks, outdir, written)
        write_index(results, checkpoints, tasks, outdir, written)
    except ReportError as e:
        print(f"specdyn report: {e}", file=sys.stderr)
        return 2
    print(f"specdyn report: {len(written)} plots and index.md written to {outdir} ({len(tasks)} analysed matrices)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
