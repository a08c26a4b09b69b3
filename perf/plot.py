"""Turn the JSON of bench_optim.py and bench_train.py into PNG charts (needs matplotlib).

Usage:
    python perf/plot.py --optim results/optim.json --train results/train.json --out perf/charts

Charts written to ``--out``:
- optim_speedups.png   numba's speed-up over the python and numpy backends, per algorithm, at
                       the largest single-tensor float32 size (log scale).
- optim_step_time.png  Adam's step time against tensor size for every implementation (log-log).
- train_step_time.png  step time of minigrad, hand-written NumPy and PyTorch for every model and
                       shape, relative to PyTorch (or to NumPy when PyTorch was absent).
"""

import argparse
import json
import os
import sys


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        sys.exit("plot.py needs matplotlib: pip install matplotlib")
    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def optim_speedups(results, path, plt):
    """Bars of numba's speed-up over python and numpy per algorithm (largest float32 tensor)."""
    rows = [r for r in results["results"] if r["case"] == "one-tensor" and r["dtype"] == "float32"
            and r["impl"] == "minigrad-numba"]
    size = max(r["size"] for r in rows)
    rows = [r for r in rows if r["size"] == size]
    names = [r["algorithm"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.4
    positions = range(len(rows))
    for offset, key, label in ((-width / 2, "speedup_vs_python", "vs python"),
                               (width / 2, "speedup_vs_numpy", "vs numpy")):
        values = [r.get(key) or 0 for r in rows]
        ax.bar([p + offset for p in positions], values, width, label=label)
    ax.set_yscale("log")
    ax.set_xticks(list(positions), names, rotation=30, ha="right")
    ax.set_ylabel("speed-up of the numba backend (x)")
    ax.set_title(f"Optimizer step, one float32 tensor of {size:,} elements")
    ax.axhline(1, color="black", linewidth=0.8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def optim_step_time(results, path, plt, algorithm="Adam"):
    """Step time against size (log-log) for every implementation of one algorithm."""
    rows = [r for r in results["results"] if r["case"] == "one-tensor" and r["dtype"] == "float32"
            and r["algorithm"] == algorithm]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for impl in sorted({r["impl"] for r in rows}):
        points = sorted((r["size"], r["median_s"]) for r in rows if r["impl"] == impl)
        ax.plot([p[0] for p in points], [p[1] * 1e3 for p in points], marker="o", label=impl)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("elements in the tensor")
    ax.set_ylabel("median step time (ms)")
    ax.set_title(f"{algorithm} step, float32")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def train_step_time(results, path, plt):
    """Bars of each implementation's step time relative to PyTorch (or NumPy) per case."""
    cases = []
    for row in results["rows"]:
        key = (row["model"], tuple(row["shape"]))
        if key not in cases:
            cases.append(key)
    impls = ["minigrad", "numpy", "torch"]
    times = {(r["model"], tuple(r["shape"]), r["impl"]): r["median_ms"] for r in results["rows"]}
    have_torch = any(k[2] == "torch" for k in times)
    reference = "torch" if have_torch else "numpy"
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.27
    for i, impl in enumerate(impls):
        values = []
        for model, shape in cases:
            ref = times.get((model, shape, reference))
            mine = times.get((model, shape, impl))
            values.append(mine / ref if mine and ref else 0)
        ax.bar([c + (i - 1) * width for c in range(len(cases))], values, width, label=impl)
    ax.axhline(1, color="black", linewidth=0.8)
    labels = [f"{model}\n{'x'.join(map(str, shape))}" for model, shape in cases]
    ax.set_xticks(range(len(cases)), labels, fontsize=8)
    ax.set_ylabel(f"step time relative to {reference} (lower is faster)")
    ax.set_title("Training step time")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optim", metavar="JSON", help="output of bench_optim.py --json")
    parser.add_argument("--train", metavar="JSON", help="output of bench_train.py --json")
    parser.add_argument("--out", default="perf/charts", help="folder for the PNG files")
    args = parser.parse_args(argv)
    if not (args.optim or args.train):
        parser.error("give --optim and/or --train")
    plt = _pyplot()
    os.makedirs(args.out, exist_ok=True)
    if args.optim:
        with open(args.optim) as f:
            results = json.load(f)
        optim_speedups(results, os.path.join(args.out, "optim_speedups.png"), plt)
        optim_step_time(results, os.path.join(args.out, "optim_step_time.png"), plt)
    if args.train:
        with open(args.train) as f:
            results = json.load(f)
        train_step_time(results, os.path.join(args.out, "train_step_time.png"), plt)
    print(f"charts written to {args.out}")


if __name__ == "__main__":
    main()
