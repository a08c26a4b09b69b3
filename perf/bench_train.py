"""Time one training step of small MLPs and RNNs: minigrad vs hand-written NumPy vs PyTorch.

A step is what a training loop repeats:
- MLP (B, D, H, C): Linear(D, H) -> ReLU -> Linear(H, C), cross-entropy on integer labels,
  backward, and an SGD update (lr 0.01) - with gradients cleared first.
- RNN / LSTM / GRU (T, B, I, H): forward over the whole sequence, the mean of the output,
  backward (no optimizer, as the nn issue defines the target).

Each step is timed for: minigrad; the same computation hand-written in NumPy (the floor for any
NumPy-based framework: the same BLAS calls with no graph, for the MLP and the Elman RNN); and
PyTorch eager on CPU when it is importable, on the same number of threads. Implementations are
timed round-robin within each repeat, so a noisy neighbour slows all of them alike; the table
reports medians over repeats and the ratios of medians.

Usage:
    python perf/bench_train.py [--quick] [--threads N] [--json PATH] [--repeats R]

JSON (``--json``): {"machine": {...versions, cpu, threads...}, "rows": [{"model": "mlp"|"rnn"|
"lstm"|"gru", "shape": [...], "impl": "minigrad"|"numpy"|"torch", "median_ms": float,
"spread_ms": [p25, p75], "steps": int}], "ratios": [{"model", "shape", "minigrad_vs_numpy",
"minigrad_vs_torch"}]} - a ratio above 1 means minigrad is slower; null where an implementation
is missing.
"""

import argparse
import json
import os
import platform
import sys
import time

MLP_SHAPES = [(32, 2, 64, 2), (64, 784, 256, 10), (256, 784, 512, 10)]
RNN_SHAPES = [(50, 32, 16, 128), (200, 16, 8, 64), (20, 64, 64, 256)]
LR = 0.01


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a subset that runs in < 60 s")
    parser.add_argument("--threads", type=int, default=None, help="BLAS / torch threads")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    return parser.parse_args(argv)


def limit_threads(threads):
    """Cap BLAS threads; must run before NumPy is imported to take effect."""
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS"):
            os.environ[name] = str(threads)


# ------------------------------------------------------------------------------ minigrad
def minigrad_mlp(shape, seed):
    import minigrad
    from minigrad import nn, optim
    from minigrad.nn import functional as F

    B, D, H, C = shape
    minigrad.manual_seed(seed)
    model = nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, C))
    opt = optim.SGD(model.parameters(), lr=LR)
    x, y = _mlp_data(shape, seed)
    x, y = minigrad.tensor(x), minigrad.tensor(y)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, list(model.parameters())


def minigrad_recurrent(kind, shape, seed):
    import minigrad
    from minigrad import nn

    T, B, I, H = shape
    minigrad.manual_seed(seed)
    layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](I, H)
    x = minigrad.tensor(_sequence(shape, seed))

    def step():
        layer.zero_grad()
        output, _ = layer(x)
        output.mean().backward()

    return step


# ------------------------------------------------------------------------ NumPy by hand
def numpy_mlp(shape, seed, weights):
    """The MLP step written directly in NumPy: the same BLAS calls, no graph."""
    import numpy as np

    w1, b1, w2, b2 = weights
    x, y = _mlp_data(shape, seed)
    rows = np.arange(len(y))

    def step():
        h_pre = x @ w1.T + b1
        h = np.maximum(h_pre, 0)
        logits = h @ w2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = np.log(total[:, 0]).mean() - shifted[rows, y].mean()
        d_logits = exp / total
        d_logits[rows, y] -= 1
        d_logits /= len(y)
        g_w2, g_b2 = d_logits.T @ h, d_logits.sum(axis=0)
        d_h = (d_logits @ w2) * (h_pre > 0)
        g_w1, g_b1 = d_h.T @ x, d_h.sum(axis=0)
        for p, g in ((w1, g_w1), (b1, g_b1), (w2, g_w2), (b2, g_b2)):
            p -= LR * g
        return loss

    return step


def numpy_rnn(shape, seed):
    """Elman RNN forward and backpropagation through time written directly in NumPy."""
    import numpy as np

    T, B, I, H = shape
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(H)
    w_ih = rng.uniform(-bound, bound, (H, I)).astype(np.float32)
    w_hh = rng.uniform(-bound, bound, (H, H)).astype(np.float32)
    b = rng.uniform(-bound, bound, H).astype(np.float32)
    x = _sequence(shape, seed)
    hs = np.empty((T + 1, B, H), np.float32)

    def step():
        hs[0] = 0
        pre = (x.reshape(T * B, I) @ w_ih.T + b).reshape(T, B, H)
        for t in range(T):
            np.tanh(pre[t] + hs[t] @ w_hh.T, out=hs[t + 1])
        d_out = np.float32(1 / (T * B * H))
        d_pre = np.empty_like(pre)
        d_h = np.zeros((B, H), np.float32)
        for t in reversed(range(T)):
            d_h += d_out
            d_pre[t] = d_h * (1 - hs[t + 1] * hs[t + 1])
            d_h = d_pre[t] @ w_hh
        flat = d_pre.reshape(T * B, H)
        return (flat.T @ x.reshape(T * B, I), flat.T @ hs[:-1].reshape(T * B, H),
                flat.sum(axis=0), (flat @ w_ih).reshape(T, B, I))

    return step


# ------------------------------------------------------------------------------ PyTorch
def torch_mlp(shape, seed, weights):
    import torch

    B, D, H, C = shape
    model = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C))
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.from_numpy(w.copy()))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = _mlp_data(shape, seed)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def torch_recurrent(kind, shape, seed):
    import torch

    T, B, I, H = shape
    torch.manual_seed(seed)
    layer = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](I, H)
    x = torch.from_numpy(_sequence(shape, seed))

    def step():
        layer.zero_grad()
        output, _ = layer(x)
        output.mean().backward()

    return step


# --------------------------------------------------------------------------------- data
def _mlp_data(shape, seed):
    import numpy as np

    B, D, H, C = shape
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, D)).astype(np.float32), rng.integers(0, C, B)


def _sequence(shape, seed):
    import numpy as np

    T, B, I, H = shape
    return np.random.default_rng(seed).standard_normal((T, B, I)).astype(np.float32)


# ------------------------------------------------------------------------------- timing
def time_round_robin(steps, repeats, budget_s=0.2):
    """Median and quartiles of per-step seconds for each named step function.

    Each function is warmed up, then given a step count that fills about ``budget_s``; every
    repeat then times each function once in turn.
    """
    import numpy as np

    counts = {}
    for name, step in steps.items():
        for _ in range(3):
            step()
        start = time.perf_counter()
        step()
        once = max(time.perf_counter() - start, 1e-6)
        counts[name] = max(1, int(budget_s / once))
    samples = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(counts[name]):
                step()
            samples[name].append((time.perf_counter() - start) / counts[name])
    return {
        name: {
            "median_ms": float(np.median(s)) * 1e3,
            "spread_ms": [float(np.percentile(s, 25)) * 1e3, float(np.percentile(s, 75)) * 1e3],
            "steps": counts[name] * repeats,
        }
        for name, s in samples.items()
    }


def machine_info(threads):
    import numpy

    import minigrad

    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "minigrad": minigrad.__version__,
    }
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    torch = _torch()
    info["torch"] = torch.__version__ if torch else None
    return info


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def run(args):
    torch = _torch()
    threads = args.threads or os.cpu_count()
    if torch:
        torch.set_num_threads(threads)
    repeats = args.repeats or (3 if args.quick else 15)
    budget = 0.05 if args.quick else 0.2
    mlp_shapes = MLP_SHAPES[:2] if args.quick else MLP_SHAPES
    rnn_kinds = ["rnn"] if args.quick else ["rnn", "lstm", "gru"]
    rnn_shapes = RNN_SHAPES[:1] if args.quick else RNN_SHAPES

    cases = []
    for shape in mlp_shapes:
        step, params = minigrad_mlp(shape, seed=0)
        # Every implementation starts from the same weights (copies: each updates its own).
        weights = [p.data.copy() for p in params]
        steps = {"minigrad": step, "numpy": numpy_mlp(shape, 0, [w.copy() for w in weights])}
        if torch:
            steps["torch"] = torch_mlp(shape, 0, weights)
        steps.update(compiled_steps("mlp", shape, weights, args.quick))
        cases.append(("mlp", shape, steps))
    for kind in rnn_kinds:
        for shape in rnn_shapes:
            steps = {"minigrad": minigrad_recurrent(kind, shape, 0)}
            if kind == "rnn":
                steps["numpy"] = numpy_rnn(shape, 0)
            if torch:
                steps["torch"] = torch_recurrent(kind, shape, 0)
            steps.update(compiled_steps(kind, shape, None, args.quick))
            cases.append((kind, shape, steps))

    rows, ratios = [], []
    for model, shape, steps in cases:
        timings = time_round_robin(steps, repeats, budget)
        for impl, result in timings.items():
            rows.append({"model": model, "shape": list(shape), "impl": impl, **result})
        mine = timings["minigrad"]["median_ms"]
        ratios.append({
            "model": model,
            "shape": list(shape),
            "minigrad_vs_numpy": mine / timings["numpy"]["median_ms"] if "numpy" in timings
            else None,
            "minigrad_vs_torch": mine / timings["torch"]["median_ms"] if "torch" in timings
            else None,
            **compiled_ratios(timings),
        })
        print_case(model, shape, timings, ratios[-1])
    return {"machine": machine_info(threads), "rows": rows, "ratios": ratios}


def print_case(model, shape, timings, ratio):
    def cell(impl):
        return f"{timings[impl]['median_ms']:9.3f}" if impl in timings else "      n/a"

    def factor(value):
        return f"{value:6.2f}x" if value is not None else "    n/a"

    extra = "".join(f"  {name} {cell(name)} ms" for name in timings
                    if name not in ("minigrad", "numpy", "torch"))
    print(f"{model:5s} {str(tuple(shape)):20s} minigrad {cell('minigrad')} ms  numpy "
          f"{cell('numpy')} ms  torch {cell('torch')} ms  vs numpy "
          f"{factor(ratio['minigrad_vs_numpy'])}  vs torch {factor(ratio['minigrad_vs_torch'])}"
          f"{extra}", flush=True)


# ----------------------------------------------------------- compiled columns (one block)
def compiled_steps(model, shape, weights, quick):
    """The columns of perf/compiled_columns.py: minigrad compiled, and (not with --quick,
    where compiling would take minutes) jax.jit and torch.compile where installed."""
    import compiled_columns

    case = compiled_columns.Case(model, shape, 0, weights)
    names = ["minigrad compiled"] if quick else list(compiled_columns.COLUMNS)
    steps = {name: compiled_columns.COLUMNS[name](case) for name in names}
    return {name: step for name, step in steps.items() if step is not None}


def compiled_ratios(timings):
    """minigrad compiled against each other column: ``compiled_vs_<column>``."""
    if "minigrad compiled" not in timings:
        return {}
    mine = timings["minigrad compiled"]["median_ms"]
    return {f"compiled_vs_{name.replace(' ', '_').replace('.', '_')}": mine / t["median_ms"]
            for name, t in timings.items() if name != "minigrad compiled"}


def main(argv=None):
    args = parse_args(argv)
    limit_threads(args.threads)
    if _torch() is None:
        print("PyTorch is not installed: its columns read n/a", file=sys.stderr)
    results = run(args)
    print("ratio = minigrad median / other median; below 1 means minigrad is faster")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
