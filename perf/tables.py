"""The tables and sentences perf/README.md (and README.md's speed lines) quote, from the JSON.

``blocks(folder)`` reads optim.json, train.json and end_to_end.json from ``folder`` and returns
{block name: Markdown} for ``docs/update_readme.py`` to put between the READMEs' markers, so that
every number in the text is one the benchmarks printed.
"""

import json
import os

import numpy as np

MODEL_NAMES = {"mlp": "MLP", "conv1d": "Conv1d"}
ALGORITHM_NAMES = {"SGD-momentum": "SGD momentum", "SGD-nesterov": "SGD Nesterov",
                   "RMSprop-centered": "RMSprop centered"}


def blocks(folder):
    """{block name: Markdown} for every block whose results are in ``folder``."""
    loaded = {}
    for name in ("optim", "train", "end_to_end"):
        path = os.path.join(folder, f"{name}.json")
        if os.path.exists(path):
            with open(path) as file:
                loaded[name] = json.load(file)
    out = {}
    if "end_to_end" in loaded:
        out["end-to-end"] = end_to_end_table(loaded["end_to_end"])
    if "train" in loaded:
        out["train-table"] = train_table(loaded["train"])
    if "optim" in loaded:
        out["optim-big"] = optim_big_table(loaded["optim"])
        out["optim-small"] = optim_small_table(loaded["optim"])
        out["compile"] = compile_line(loaded["optim"])
    if len(loaded) == 3:
        out["answer"] = answer(loaded)
        out["speed-summary"] = answer(loaded)
        out["machine"] = machine(loaded)
    return out


def _e2e(report):
    """{workload: {backend: run}}"""
    runs = {}
    for run in report["runs"]:
        runs.setdefault(run["workload"], {})[run["backend"]] = run
    return runs


def answer(loaded):
    """The three lines a reader wants first: end to end, the update alone, against PyTorch."""
    runs = _e2e(loaded["end_to_end"])
    e2e = [f"{_times(by['python']['seconds'] / by['numba']['seconds'])} on {name}"
           for name, by in runs.items()]
    numpy_e2e = [f"{by['numpy']['seconds'] / by['numba']['seconds']:.2f}x"
                 for by in runs.values()]
    adam = _row(loaded["optim"], "Adam", "minigrad-numba", "one-tensor", "float32")
    mlp = [r["minigrad_vs_torch"] for r in loaded["train"]["ratios"]
           if r.get("minigrad_vs_torch") is not None]
    worst = max(loaded["train"]["ratios"], key=lambda r: r.get("minigrad_vs_torch") or 0)
    return "\n".join([
        f"- **End to end**, a whole training run with Numba-compiled updates is "
        f"{' and '.join(e2e)} (the spirals MLP and the adding problem's LSTM) faster than with "
        "the same updates run by the Python interpreter, and NumPy-vectorised updates take "
        f"{' and '.join(numpy_e2e)} Numba's time: once the update is compiled, forward and "
        "backward (NumPy and BLAS) are most of what is left.",
        f"- **The update alone** (Adam, one float32 tensor of {adam['size']:,} elements): Numba "
        f"is {adam['speedup_vs_python']:,.0f}x faster than the interpreted loop (an estimate, "
        f"timed on a slice) and {adam['speedup_vs_numpy']:.1f}x faster than NumPy.",
        f"- **Against PyTorch** (eager, CPU, at its faster of 1 and 2 threads), a minigrad "
        f"training step takes {min(mlp):.2f}x to {max(mlp):.2f}x PyTorch's time on the shapes "
        f"measured (the slowest case: {worst['model']} {tuple(worst['shape'])}).",
    ])


def _times(ratio):
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def machine(loaded):
    """One sentence naming the machine and versions behind the committed numbers."""
    m = loaded["optim"]["machine"]
    return (f"{m['cpu']}, {m['cores']} cores, shared with other work; Python {m['python']}, "
            f"NumPy {m['numpy']}, Numba {m['numba']}, PyTorch {m['torch'] or 'not installed'}; "
            f"{m['threads']} threads for BLAS and Numba.")


def end_to_end_table(report):
    """Seconds per backend and workload, split into parts."""
    lines = ["| workload | backend | total (s) | update | forward | backward and rest | "
             "evaluation | python / this |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, by in _e2e(report).items():
        python = by["python"]["seconds"]
        for backend, run in by.items():
            lines.append(f"| {report['workloads'][name]['title']} | {backend} | "
                         f"{run['seconds']:.2f} | {run['update_s']:.2f} | "
                         f"{run['forward_s']:.2f} | {run['backward_and_rest_s']:.2f} | "
                         f"{run['evaluation_s']:.2f} | {python / run['seconds']:.1f}x |")
    return "\n".join(lines)


def train_table(report):
    """Median step time per model, shape and implementation, with minigrad's ratios."""
    impls = list(dict.fromkeys(r["impl"] for r in report["rows"]))
    others = [i for i in impls if i != "minigrad"]
    times = {(r["model"], tuple(r["shape"]), r["impl"]): r for r in report["rows"]}
    lines = ["| model | shape | " + " | ".join(impls) + " | "
             + " | ".join(f"vs {i}" for i in others) + " |",
             "|---|---|" + "---:|" * (len(impls) + len(others))]
    for ratio in report["ratios"]:
        key = (ratio["model"], tuple(ratio["shape"]))
        cells = []
        for impl in impls:
            row = times.get((*key, impl))
            threads = f" @{row['threads']}" if row and "threads" in row else ""
            cells.append(f"{row['median_ms']:.3f}{threads}" if row else "")
        factors = [f"{ratio[f'minigrad_vs_{i}']:.2f}" if ratio.get(f"minigrad_vs_{i}")
                   else "" for i in others]
        lines.append(f"| {MODEL_NAMES.get(key[0], key[0].upper())} | {key[1]} | "
                     + " | ".join(cells + factors) + " |")
    return "\n".join(lines)


def _row(report, algorithm, impl, case, dtype, size=None):
    rows = [r for r in report["results"] if r["algorithm"] == algorithm and r["impl"] == impl
            and r["case"] == case and r["dtype"] == dtype]
    size = size or max(r["size"] for r in rows)
    return next(r for r in rows if r["size"] == size)


def optim_big_table(report):
    """The largest float32 tensor: every algorithm, every implementation."""
    algorithms = list(dict.fromkeys(r["algorithm"] for r in report["results"]))
    lines = ["| algorithm | numba | numpy | python | torch fused | numba GB/s | of copyto | "
             "x python | x numpy |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for algorithm in algorithms:
        numba = _row(report, algorithm, "minigrad-numba", "one-tensor", "float32")
        size = numba["size"]
        numpy = _row(report, algorithm, "minigrad-numpy", "one-tensor", "float32", size)
        python = _row(report, algorithm, "minigrad-python", "one-tensor", "float32", size)
        try:
            fused = _row(report, algorithm, "torch-fused", "one-tensor", "float32", size)
            fused = f"{fused['median_s'] * 1e3:.2f} @{fused.get('threads', '?')}"
        except (StopIteration, ValueError):
            fused = ""
        star = "*" if python["scaled"] else ""
        lines.append(f"| {ALGORITHM_NAMES.get(algorithm, algorithm)} | "
                     f"{numba['median_s'] * 1e3:.2f} | {numpy['median_s'] * 1e3:.1f} | "
                     f"{python['median_s'] * 1e3:,.0f}{star} | {fused} | "
                     f"{numba['gb_per_s']:.0f} | {numba['copy_fraction']:.0%} | "
                     f"{numba['speedup_vs_python']:,.0f} | {numba['speedup_vs_numpy']:.1f} |")
    return "\n".join(lines)


def optim_small_table(report):
    """Many small tensors: every algorithm, every implementation (microseconds)."""
    algorithms = list(dict.fromkeys(r["algorithm"] for r in report["results"]))
    impls = ("minigrad-numba", "minigrad-numpy", "minigrad-python", "torch-forloop",
             "torch-foreach", "torch-fused")
    lines = ["| algorithm | numba | numpy | python | torch for-loop | torch foreach | "
             "torch fused | numba / fused |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for algorithm in algorithms:
        cells, rows = [], {}
        for impl in impls:
            try:
                rows[impl] = _row(report, algorithm, impl, "many-small", "float32")
            except (StopIteration, ValueError):
                cells.append("")
                continue
            row = rows[impl]
            if impl == "minigrad-python":
                cells.append(f"{row['median_s'] * 1e3:.0f} ms{'*' if row['scaled'] else ''}")
            else:
                threads = f" @{row['threads']}" if "threads" in row else ""
                cells.append(f"{row['median_s'] * 1e6:.0f}{threads}")
        ratio = (f"{rows['minigrad-numba']['median_s'] / rows['torch-fused']['median_s']:.2f}"
                 if "torch-fused" in rows else "")
        lines.append(f"| {ALGORITHM_NAMES.get(algorithm, algorithm)} | " + " | ".join(cells)
                     + f" | {ratio} |")
    return "\n".join(lines)


def compile_line(report):
    """The first Numba step in a fresh process, cold and warm cache."""
    cold = [t["cold_s"] for t in report["compile"].values()]
    warm = [t["warm_s"] for t in report["compile"].values()]
    return (f"First numba step in a fresh process (compiling, or loading the on-disk cache): "
            f"{np.min(cold):.1f}-{np.max(cold):.1f} s with a cold cache, "
            f"{np.min(warm):.2f}-{np.max(warm):.2f} s warm (most of the warm figure is "
            "importing Numba itself).")
