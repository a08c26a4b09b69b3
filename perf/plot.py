"""Draw the perf charts from the benchmarks' JSON (needs matplotlib).

    python perf/plot.py [--out DIR | --commit]

Reads optim.json, train.json and end_to_end.json from the results folder (perf/out by default;
perf/results with --commit) and writes, beside them (perf/charts with --commit), whichever
charts their results allow:

- end_to_end.png       whole training runs per optimizer backend, split into update, forward,
                       backward and evaluation: what JIT buys end to end, and why not more.
- optim_speedups.png   the numba backend's speed-up over numpy and python, per algorithm, on the
                       largest float32 tensor (python times are estimates: timed on a slice).
- optim_step_time.png  Adam's step time against tensor size, every implementation.
- train_step_time.png  one training step per model and shape, every implementation.
"""

import json
import os

import common

COLOURS = {"minigrad": "#1f77b4", "numpy": "#7f7f7f", "torch": "#ff7f0e"}
PARTS = (("update_s", "optimizer update", "#d62728"), ("forward_s", "forward", "#1f77b4"),
         ("backward_and_rest_s", "backward, data, clipping", "#9ecae1"),
         ("evaluation_s", "evaluation after each epoch", "#c7c7c7"))


def pyplot():
    """matplotlib.pyplot drawing to files, or exit with what to install."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("plot.py needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def end_to_end(results, path, plt):
    """Horizontal stacked bars: each backend's run time split by part, one panel per workload."""
    workloads = results["workloads"]
    fig, axes = plt.subplots(len(workloads), 1, figsize=(10, 2.2 + 2.1 * len(workloads)),
                             squeeze=False)
    for ax, (name, workload) in zip(axes[:, 0], workloads.items()):
        runs = [r for r in results["runs"] if r["workload"] == name]
        python = next(r["seconds"] for r in runs if r["backend"] == "python")
        for y, run in enumerate(runs):
            left = 0.0
            for key, label, colour in PARTS:
                ax.barh(y, run[key], left=left, color=colour, label=label if y == 0 else None,
                        height=0.6)
                left += run[key]
            ratio = python / run["seconds"]
            speed = ("the reference" if run["backend"] == "python"
                     else f"{ratio:.1f}x faster than python" if ratio >= 1
                     else f"{1 / ratio:.1f}x slower than python")
            ax.annotate(f" {_seconds(run['seconds'])} ({speed}; of which the update "
                        f"{_seconds(run['update_s'])})", (left, y), va="center", fontsize=8)
        ax.set_yticks(range(len(runs)), [r["backend"] for r in runs])
        ax.invert_yaxis()
        ax.set_xlim(0, max(r["seconds"] for r in runs) * 1.8)  # room for the labels
        ax.set_xlabel("seconds (median of the runs)")
        ax.set_title(f"{workload['title']} ({workload['steps']:,} steps), Adam", fontsize=10)
        ax.grid(True, axis="x", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, ncol=4, loc="upper center",
               bbox_to_anchor=(0.5, 0.955), frameon=False)
    fig.suptitle("Whole training runs by optimizer backend (measured, not estimated)")
    fig.text(0.01, 0.01, "The backend changes only the red part, the optimizer update. Forward "
             "and backward run the same NumPy and BLAS code whatever the backend,\nso once the "
             "update is compiled they are most of the time left: the end-to-end speed-up is far "
             "below the update's own (optim_speedups.png).", fontsize=8, va="bottom")
    fig.tight_layout(rect=(0, 0.08, 1, 0.94))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _seconds(value):
    return f"{value * 1e3:.0f} ms" if value < 1 else f"{value:.1f} s"


def optim_speedups(results, path, plt):
    """Bars of numba's speed-up over numpy and python per algorithm (largest float32 tensor),
    with their values; the python bars are hatched and labelled as estimates."""
    rows = [r for r in results["results"] if r["case"] == "one-tensor" and r["dtype"] == "float32"
            and r["impl"] == "minigrad-numba"]
    size = max(r["size"] for r in rows)
    rows = [r for r in rows if r["size"] == size]
    scaled = any(r["scaled"] for r in results["results"] if r["impl"] == "minigrad-python"
                 and r["size"] == size)
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.4
    python_label = ("vs python: estimate (the python loop is timed on a slice and scaled up)"
                    if scaled else "vs python")
    for offset, key, label, hatch in ((-width / 2, "speedup_vs_numpy", "vs numpy", None),
                                      (width / 2, "speedup_vs_python", python_label, "//")):
        values = [r[key] for r in rows]
        bars = ax.bar([i + offset for i in range(len(rows))], values, width, label=label,
                      hatch=hatch, edgecolor="white" if hatch else None)
        prefix = "~" if hatch and scaled else ""
        ax.bar_label(bars, [f"{prefix}{v:,.0f}x" if v >= 10 else f"{v:.1f}x" for v in values],
                     fontsize=7, padding=2)
    ax.set_yscale("log")
    ax.set_ylim(0.5, max(r["speedup_vs_python"] for r in rows) * 40)  # room for the legend
    ax.set_xticks(range(len(rows)), [r["algorithm"] for r in rows], rotation=25, ha="right",
                  fontsize=9)
    ax.set_ylabel("speed-up of the numba backend (x, log scale)")
    ax.set_title(f"The optimizer update alone: one float32 tensor of {size:,} elements")
    ax.axhline(1, color="black", linewidth=0.8)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def optim_step_time(results, path, plt, algorithm="Adam"):
    """Step time against size (log-log) for every implementation of one algorithm."""
    rows = [r for r in results["results"] if r["case"] == "one-tensor" and r["dtype"] == "float32"
            and r["algorithm"] == algorithm]
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for impl in sorted({r["impl"] for r in rows}):
        points = sorted((r["size"], r["median_s"], r["scaled"]) for r in rows
                        if r["impl"] == impl)
        estimated = any(p[2] for p in points)
        label = impl + (" (estimate: timed on a slice, scaled)" if estimated else "")
        if impl.startswith("torch"):
            label += " (faster of 1 and 2 threads)"
        ax.plot([p[0] for p in points], [p[1] * 1e3 for p in points], marker="o", label=label,
                linestyle="--" if estimated else "-", fillstyle="none" if estimated else "full")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("elements in the tensor")
    ax.set_ylabel("median step time (ms)")
    ax.set_title(f"{algorithm} step, float32")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def train_step_time(results, path, plt):
    """Bars of each implementation's step time (ms, log scale) per model and shape, labelled.

    Only implementations that were timed get a legend entry, and each case gets bars only for
    the implementations that cover it, so nothing is drawn empty when PyTorch is absent.
    Returns the axes (for tests).
    """
    cases = list(dict.fromkeys((r["model"], tuple(r["shape"])) for r in results["rows"]))
    impls = list(dict.fromkeys(r["impl"] for r in results["rows"]))
    times = {(r["model"], tuple(r["shape"]), r["impl"]): r for r in results["rows"]}
    fig, ax = plt.subplots(figsize=(max(6.0, 1.15 * len(cases) + 1.5), 5))
    width = 0.8 / len(impls)
    positions = {impl: ([], []) for impl in impls}
    for c, (model, shape) in enumerate(cases):
        present = [impl for impl in impls if (model, shape, impl) in times]
        for i, impl in enumerate(present):  # centred: no gap where an implementation is absent
            positions[impl][0].append(c + (i - (len(present) - 1) / 2) * width)
            positions[impl][1].append(times[model, shape, impl]["median_ms"])
    for impl, (xs, values) in positions.items():
        label = impl + (" (faster of 1 and 2 threads)" if impl == "torch" else "")
        bars = ax.bar(xs, values, width, label=label, color=COLOURS.get(impl))
        ax.bar_label(bars, [_short(v) for v in values], fontsize=6, padding=1)
    ax.set_yscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 3)  # room for the labels
    ax.set_xticks(range(len(cases)),
                  [f"{model}\n{'x'.join(map(str, shape))}" for model, shape in cases], fontsize=7)
    ax.set_ylabel("median step time (ms, log scale; lower is faster)")
    ax.set_title("One training step")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return ax


def _short(value):
    """A bar's value in two or three significant figures, without scientific notation."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}" if value < 10 else f"{value:.0f}"


CHARTS = {
    "end_to_end.json": (("end_to_end.png", end_to_end),),
    "optim.json": (("optim_speedups.png", optim_speedups),
                   ("optim_step_time.png", optim_step_time)),
    "train.json": (("train_step_time.png", train_step_time),),
}


def main(argv=None):
    parser = common.parser(__doc__.splitlines()[0], timing=False)
    args = parser.parse_args(argv)
    results, charts = common.results_dir(args), common.charts_dir(args)
    plt = pyplot()
    written = []
    for source, drawings in CHARTS.items():
        if not os.path.exists(os.path.join(results, source)):
            continue
        with open(os.path.join(results, source)) as file:
            data = json.load(file)
        for name, draw in drawings:
            draw(data, os.path.join(charts, name), plt)
            written.append(name)
    if not written:
        raise SystemExit(f"no results in {os.path.relpath(results)}: run the benchmarks first")
    print(f"wrote {', '.join(written)} in {os.path.relpath(charts)}")


if __name__ == "__main__":
    main()
