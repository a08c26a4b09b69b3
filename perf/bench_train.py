"""Time one training step of small MLPs and RNNs, implementation by implementation, side by side.

A step is what a training loop repeats:
- MLP (B, D, H, C): Linear(D, H) -> ReLU -> Linear(H, C), cross-entropy on integer labels,
  backward, and an SGD update (lr 0.01), with gradients cleared first.
- RNN / LSTM / GRU (T, B, I, H): forward over the whole sequence, the mean of the output,
  backward (no optimizer update).
- Conv1d (B, C, L, K): Conv1d(C, C, K) on x (B, C, L) that requires grad, the sum of the output
  times a fixed random array, backward (no optimizer update).

Implementations (the columns): minigrad; "numpy", the same computation written by hand in NumPy
(the same BLAS calls with no graph: the floor for any NumPy-based framework; MLP and Elman RNN
only); "torch", PyTorch eager on CPU when it is installed, timed at 1 and at 2 threads, the
faster counting (under load its two-thread pool can be many times slower, a false win for
minigrad). All are timed round-robin within one process (common.time_round_robin), so a noisy
neighbour slows them alike; the table gives medians and the ratios of medians.

To add a column, write one function ``def my_step(case)`` returning the step function for the
``Case`` (model name, shape, shared initial weights and data), or None for a model it does not
cover, and decorate it with ``@implementation("name")`` (``threads=`` a function that sets its
thread count, if it has a pool of its own). To add a model, add its shapes to ``MODELS`` and a
branch to the implementations that cover it.

    python perf/bench_train.py [--quick] [--threads N] [--out DIR | --commit]

Writes train.json and train.txt (the printed table) into the output folder. JSON:
{"machine": {...}, "rows": [{"model", "shape", "impl", "median_ms", "spread_ms": [p25, p75],
"samples", "threads" (PyTorch: the faster count), "other_threads_ms" ({count: median})}],
"ratios": [{"model", "shape", "minigrad_vs_<impl>" for every other implementation}]}: a ratio
above 1 means minigrad is slower; null where an implementation does not cover the model.
"""

import functools
import json
import os
from dataclasses import dataclass

import common  # first: it applies --threads before NumPy loads
import compiled_columns
import numpy as np

#: model -> (shapes, the quick subset, what the shape's numbers are)
MODELS = {
    "mlp": ([(32, 2, 64, 2), (64, 784, 256, 10), (256, 784, 512, 10)], 2, "B, D, H, C"),
    "rnn": ([(50, 32, 16, 128), (200, 16, 8, 64), (20, 64, 64, 256)], 1, "T, B, I, H"),
    "lstm": ([(50, 32, 16, 128), (200, 16, 8, 64), (20, 64, 64, 256)], 0, "T, B, I, H"),
    "gru": ([(50, 32, 16, 128), (200, 16, 8, 64), (20, 64, 64, 256)], 0, "T, B, I, H"),
    "conv1d": ([(100, 25, 20, 3)], 0, "B, C, L, K"),
}
LR = 0.01
#: name -> (function(case) -> step or None, function(count) setting its threads, or None)
IMPLEMENTATIONS = {}


def implementation(name, threads=None):
    """Register ``function(case) -> step function or None`` as the column ``name``."""
    def register(function):
        IMPLEMENTATIONS[name] = (function, threads)
        return function
    return register


@dataclass(frozen=True)
class Case:
    """One model at one shape: the data and initial weights every implementation starts from."""

    model: str
    shape: tuple
    seed: int = 0
    quick: bool = False  # --quick: implementations that take long to compile are left out

    @functools.cached_property
    def mlp_data(self):
        """(x float32 (B, D), integer labels (B,))."""
        B, D, H, C = self.shape
        rng = np.random.default_rng(self.seed)
        return rng.standard_normal((B, D)).astype(np.float32), rng.integers(0, C, B)

    @functools.cached_property
    def mlp_weights(self):
        """minigrad's initial weights for the MLP (w1, b1, w2, b2), for the others to copy."""
        return [p.data.copy() for p in compiled_columns.minigrad_mlp(self)[1]]

    @functools.cached_property
    def conv_data(self):
        """(x float32 (B, C, L), the random array r the output is multiplied by)."""
        B, C, L, K = self.shape
        rng = np.random.default_rng(self.seed)
        return (rng.standard_normal((B, C, L)).astype(np.float32),
                rng.standard_normal((B, C, L - K + 1)).astype(np.float32))

    @functools.cached_property
    def conv_weights(self):
        """minigrad's initial Conv1d (weight, bias), for the others to copy."""
        return [p.data.copy() for p in minigrad_conv(self)[1]]

    @functools.cached_property
    def sequence(self):
        """The input sequence, float32 (T, B, I)."""
        T, B, I, H = self.shape
        return np.random.default_rng(self.seed).standard_normal((T, B, I)).astype(np.float32)


# ------------------------------------------------------------------------------ minigrad
def minigrad_conv(case):
    """(step, parameters) of the Conv1d case in minigrad."""
    import minigrad
    from minigrad import nn

    B, C, L, K = case.shape
    minigrad.manual_seed(case.seed)
    conv = nn.Conv1d(C, C, K)
    x, r = case.conv_data
    x, r = minigrad.tensor(x, requires_grad=True), minigrad.tensor(r)

    def step():
        conv.zero_grad()
        x.grad = None
        (conv(x) * r).sum().backward()

    return step, list(conv.parameters())


@implementation("minigrad")
def minigrad_step(case):
    """minigrad's step for every model."""
    if case.model == "conv1d":
        return minigrad_conv(case)[0]
    return compiled_columns.minigrad_eager(case)


# ------------------------------------------------------------------------ NumPy by hand
@implementation("numpy")
def numpy_step(case):
    """The hand-written NumPy floor, for the MLP and the Elman RNN."""
    if case.model == "mlp":
        return numpy_mlp(case, [w.copy() for w in case.mlp_weights])
    if case.model == "rnn":
        return numpy_rnn(case)
    return None


def numpy_mlp(case, weights):
    """The MLP step written directly in NumPy, updating ``weights`` (w1, b1, w2, b2) in place."""
    w1, b1, w2, b2 = weights
    x, y = case.mlp_data
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


def numpy_rnn(case):
    """Elman RNN forward and backpropagation through time written directly in NumPy; the step
    returns the gradients (w_ih, w_hh, bias, input)."""
    T, B, I, H = case.shape
    rng = np.random.default_rng(case.seed)
    bound = 1 / np.sqrt(H)
    w_ih = rng.uniform(-bound, bound, (H, I)).astype(np.float32)
    w_hh = rng.uniform(-bound, bound, (H, H)).astype(np.float32)
    b = rng.uniform(-bound, bound, H).astype(np.float32)
    x = case.sequence
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
def _set_torch_threads(count):
    common.torch_or_none().set_num_threads(count)


@implementation("torch", threads=_set_torch_threads)
def torch_step(case):
    """PyTorch eager on CPU, for every model, when PyTorch is installed."""
    torch = common.torch_or_none()
    if torch is None:
        return None
    if case.model == "conv1d":
        B, C, L, K = case.shape
        conv = torch.nn.Conv1d(C, C, K)
        with torch.no_grad():
            for p, w in zip(conv.parameters(), case.conv_weights):
                p.copy_(torch.from_numpy(w.copy()))
        x, r = case.conv_data
        x, r = torch.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(r)

        def step():
            conv.zero_grad()
            x.grad = None
            (conv(x) * r).sum().backward()

        return step
    return compiled_columns.torch_eager(case)


# ------------------------------------------------------------- compiled (compiled_columns.py)
implementation("minigrad compiled")(compiled_columns.minigrad_compiled)
implementation("jax.jit")(compiled_columns.jax_jit)
implementation("torch.compile", threads=_set_torch_threads)(compiled_columns.torch_compile)


# ------------------------------------------------------------------------------- running
def time_case(case, threads, repeats, budget_s):
    """{implementation: row} for one case; implementations with a thread pool are timed at
    each of ``common.torch_thread_counts`` and keep the fastest."""
    steps, setups, variants = {}, {}, {}
    for name, (build, set_threads) in IMPLEMENTATIONS.items():
        step = build(case)
        if step is None:
            continue
        counts = common.torch_thread_counts(threads) if set_threads else [None]
        for count in counts:
            key = name if count is None else f"{name}@{count}"
            steps[key] = step
            variants.setdefault(name, []).append((key, count))
            if count is not None:
                setups[key] = functools.partial(set_threads, count)
    timed = common.time_round_robin(steps, repeats, budget_s * len(steps), setups=setups)
    rows = {}
    for name, keys in variants.items():
        best_key, best_count = min(keys, key=lambda kc: timed[kc[0]].median)
        t = timed[best_key]
        row = {"model": case.model, "shape": list(case.shape), "impl": name,
               "median_ms": t.median * 1e3, "spread_ms": [t.p25 * 1e3, t.p75 * 1e3],
               "samples": t.samples}
        if best_count is not None:
            row["threads"] = best_count
            row["other_threads_ms"] = {count: timed[key].median * 1e3 for key, count in keys
                                       if key != best_key}
        rows[name] = row
    return rows


def run(args):
    """Time every case; return the JSON report."""
    repeats, budget = (3, 0.1) if args.quick else (60, 1.5)
    rows, ratios = [], []
    for model, (shapes, quick, _) in MODELS.items():
        for shape in (shapes[:quick] if args.quick else shapes):
            timed = time_case(Case(model, shape, quick=args.quick), args.threads, repeats,
                              budget)
            rows.extend(timed.values())
            mine = timed["minigrad"]["median_ms"]
            ratios.append({"model": model, "shape": list(shape), **{
                f"minigrad_vs_{name}": mine / timed[name]["median_ms"] if name in timed
                else None for name in IMPLEMENTATIONS if name != "minigrad"}})
            print_case(model, shape, timed, ratios[-1])
    return {"machine": common.machine_info(args.threads), "rows": rows, "ratios": ratios}


def print_case(model, shape, timed, ratio):
    """One line per case: each implementation's median and minigrad's ratio to it."""
    cells = []
    for name in IMPLEMENTATIONS:
        if name in timed:
            threads = f"@{timed[name]['threads']}" if "threads" in timed[name] else ""
            cells.append(f"{name}{threads} {timed[name]['median_ms']:8.3f} ms")
        else:
            cells.append(f"{name} {'n/a':>8s}   ")
    factors = [f"vs {key.removeprefix('minigrad_vs_')} "
               + (f"{value:5.2f}x" if value is not None else "  n/a")
               for key, value in ratio.items() if key.startswith("minigrad_vs_")]
    print(f"{model:5s} {str(tuple(shape)):20s} " + "  ".join(cells + factors), flush=True)


def main(argv=None):
    parser = common.parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    folder = common.results_dir(args)
    if common.torch_or_none() is None:
        print("PyTorch is not installed: its column reads n/a (CPU wheels: pip install torch "
              "--index-url https://download.pytorch.org/whl/cpu)")
    with common.tee(os.path.join(folder, "train.txt")):
        results = run(args)
        print("ratio = minigrad median / other median; below 1 means minigrad is faster; "
              "@N: the thread count PyTorch was faster at")
    with open(os.path.join(folder, "train.json"), "w") as file:
        json.dump(results, file, indent=2)
    print(f"wrote train.json and train.txt in {os.path.relpath(folder)}")


if __name__ == "__main__":
    main()
