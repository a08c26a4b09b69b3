"""Time LSTM, GRU and Conv1d training steps: minigrad against PyTorch's best of 1 and 2 threads.

lstm, gru   bench_train.py's step: forward over the whole sequence, the mean of the output,
            backward (shapes (T, B, I, H) as there, float32).
conv1d      Conv1d(25, 25, 3) on x (100, 25, 20) that requires grad: forward, the sum of the
            output times a fixed random array, backward.

PyTorch runs twice, on 1 and on 2 threads (``torch.set_num_threads``), and the ratio is taken
against the faster of the two: on a shared 2-core machine PyTorch's two-thread pool can be many
times slower under load, and comparing with it would flatter minigrad. All three take turns in
every round (bench_train's ``time_round_robin``), so a burst of load hits them alike; the
table gives medians, the spread (25th-75th percentile of the per-round times) and the load
average before and after.

Usage:
    python perf/bench_layers.py [--kinds lstm gru conv1d] [--repeats R] [--json PATH]

``--blas-threads N`` caps NumPy's BLAS threads for minigrad (set before NumPy loads).
"""

import argparse
import json
import os
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=["lstm", "gru", "conv1d"],
                        choices=["lstm", "gru", "conv1d"])
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds per case")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="cap NumPy's BLAS threads (default: its own choice)")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    return parser.parse_args(argv)


CONV_SHAPE = (100, 25, 20)  # (N, C, L); Conv1d(25, 25, kernel_size=3)


def conv_steps(seed):
    """(minigrad step, PyTorch step or None) for the Conv1d case, on the same data."""
    import numpy as np

    import minigrad
    from minigrad import nn

    rng = np.random.default_rng(seed)
    x_np = rng.standard_normal(CONV_SHAPE).astype(np.float32)
    r_np = rng.standard_normal((CONV_SHAPE[0], 25, CONV_SHAPE[2] - 2)).astype(np.float32)
    minigrad.manual_seed(seed)
    conv = nn.Conv1d(25, 25, 3)
    x, r = minigrad.tensor(x_np, requires_grad=True), minigrad.tensor(r_np)

    def mine():
        conv.zero_grad()
        x.grad = None
        (conv(x) * r).sum().backward()

    try:
        import torch
    except ImportError:
        return mine, None
    theirs = torch.nn.Conv1d(25, 25, 3)
    x_t, r_t = torch.tensor(x_np, requires_grad=True), torch.tensor(r_np)

    def torch_step():
        theirs.zero_grad()
        x_t.grad = None
        (theirs(x_t) * r_t).sum().backward()

    return mine, torch_step


def torch_at(threads, step):
    """``step`` run with PyTorch set to ``threads`` threads."""
    import torch

    def run():
        torch.set_num_threads(threads)
        step()

    return run


def main(argv=None):
    args = parse_args(argv)
    if args.blas_threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_train

    try:
        import torch  # noqa: F401 - only to know whether it is there
    except ImportError:
        torch = None
        print("PyTorch is not installed: minigrad's times only", file=sys.stderr)
    load_before = os.getloadavg()
    rows = []
    cases = [(kind, shape) for kind in args.kinds if kind != "conv1d"
             for shape in bench_train.RNN_SHAPES]
    if "conv1d" in args.kinds:
        cases.append(("conv1d", CONV_SHAPE))
    for kind, shape in cases:
        if kind == "conv1d":
            mine, step = conv_steps(seed=0)
        else:
            mine = bench_train.minigrad_recurrent(kind, shape, seed=0)
            step = bench_train.torch_recurrent(kind, shape, seed=0) if torch else None
        steps = {"minigrad": mine}
        if step is not None:
            steps["torch_1"], steps["torch_2"] = torch_at(1, step), torch_at(2, step)
        timings = bench_train.time_round_robin(steps, args.repeats)
        row = {"kind": kind, "shape": list(shape),
               **{f"{name}_ms": t["median_ms"] for name, t in timings.items()},
               "minigrad_spread_ms": timings["minigrad"]["spread_ms"]}
        if torch is not None:
            best = min(timings["torch_1"]["median_ms"], timings["torch_2"]["median_ms"])
            row["ratio"] = timings["minigrad"]["median_ms"] / best
        rows.append(row)
        print(_describe(row), flush=True)
    load = {"before": load_before, "after": os.getloadavg(), "cores": os.cpu_count()}
    print(f"load average (1, 5, 15 min): before {_load(load_before)}, after "
          f"{_load(load['after'])} on {load['cores']} cores; ratio = minigrad / best PyTorch")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"load": load, "blas_threads": args.blas_threads, "rows": rows}, file,
                      indent=2)


def _describe(row):
    text = (f"{row['kind']:6s} {str(tuple(row['shape'])):18s} minigrad {row['minigrad_ms']:8.2f} "
            f"ms (spread {row['minigrad_spread_ms'][0]:.2f}-{row['minigrad_spread_ms'][1]:.2f})")
    if "ratio" in row:
        text += (f"  torch 1 thread {row['torch_1_ms']:8.2f}  2 threads {row['torch_2_ms']:8.2f}"
                 f"  ratio {row['ratio']:.2f}")
    return text


def _load(values):
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    main()
