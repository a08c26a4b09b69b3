"""Measure minigrad.compile against the targets of issue 14, each a ratio taken in one run.

    python perf/bench_compile.py [--quick] [--threads N] [--cpu-time] [--out DIR | --commit]

- tiny MLP (32, 2, 64, 2): compiled step vs the hand-written NumPy step (<= 0.5x), vs PyTorch
  eager at its best of 1 and 2 threads (<= 0.1x), vs ``jax.jit`` of the same step (<= 1.0x);
- MLP (64, 784, 256, 10) and (256, 784, 512, 10): compiled vs hand-written NumPy (<= 0.9x);
- RNN / LSTM / GRU at bench_train's shapes: compiled vs eager minigrad (<= 0.8x);
- the first calls of the tiny MLP step until it replays compiled (trace + compile), in a new
  process, with an empty Numba cache (< 3 s) and a warm one (< 0.5 s);
- ``import minigrad`` in a new process (< 0.5 s, and Numba not imported);
- the spirals example with and without ``--compile``: accuracy and wall time.

Steps are timed round-robin: every repeat times each implementation in turn for about
``--budget`` seconds, so a noisy neighbour slows them all alike; the table gives the median over
repeats and the 25th-75th percentiles. ``--cpu-time`` times with ``time.thread_time`` (the CPU
time of this thread, which a loaded machine does not inflate; BLAS threads are not counted, so
use it with ``--threads 1``). Writes compile.json and compile.txt (what it prints) into the
output folder (perf/out, or perf/results with --commit).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import common  # first: it applies --threads before NumPy loads

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MLP_SHAPES = [(32, 2, 64, 2), (64, 784, 256, 10), (256, 784, 512, 10)]
RNN_SHAPES = [(50, 32, 16, 128), (200, 16, 8, 64), (20, 64, 64, 256)]


def parse_args(argv=None):
    parser = common.parser(__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-time", action="store_true", help="time with thread_time")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    parser.add_argument("--budget", type=float, default=0.1, help="seconds per turn")
    parser.add_argument("--skip", nargs="*", default=[], choices=["steps", "first", "spirals"],
                        help="parts to leave out")
    return parser.parse_args(argv)


def limit_threads(threads):
    """Cap every thread pool; must run before NumPy, Numba or JAX are imported."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
                               f" intra_op_parallelism_threads={threads}")


# ------------------------------------------------------------------------------ timing
def interleaved(steps, repeats, budget, clock):
    """{name: (median, p25, p75)} seconds per call, timing ``steps`` round-robin."""
    import numpy as np

    counts = {}
    for name, (step, setup) in steps.items():
        setup()
        step()
        start = clock()
        step()
        counts[name] = max(1, int(budget / max(clock() - start, 1e-7)))
    samples = {name: [] for name in steps}
    for _ in range(repeats):
        for name, (step, setup) in steps.items():
            setup()
            start = clock()
            for _ in range(counts[name]):
                step()
            samples[name].append((clock() - start) / counts[name])
    return {name: tuple(float(np.percentile(s, q)) for q in (50, 25, 75))
            for name, s in samples.items()}


def _none():
    return None


def torch_threads(count):
    def setup():
        import torch
        torch.set_num_threads(count)
    return setup


# -------------------------------------------------------------------------------- steps
def step_cases(args, clock):
    """Time every step case; return rows and target ratios."""
    sys.path.insert(0, HERE)
    import bench_train
    import compiled_columns as columns

    repeats = args.repeats or (5 if args.quick else 15)
    rows, targets = [], []
    mlp_shapes = MLP_SHAPES[:2] if args.quick else MLP_SHAPES
    for shape in mlp_shapes:
        case = bench_train.Case("mlp", shape, 0)  # its mlp_weights: everyone's starting point
        steps = {"minigrad": (columns.minigrad_eager(case), _none),
                 "minigrad compiled": (columns.minigrad_compiled(case), _none),
                 "numpy": (bench_train.numpy_step(case), _none)}
        if shape == MLP_SHAPES[0]:
            torch_step = columns.torch_eager(case)
            if torch_step is not None:
                for count in (1, 2):
                    steps[f"torch@{count}"] = (torch_step, torch_threads(count))
            jax_step = columns.jax_jit(case)
            if jax_step is not None:
                steps["jax.jit"] = (jax_step, _none)
        timed = interleaved(steps, repeats, args.budget, clock)
        rows += _rows("mlp", shape, timed)
        mine = timed["minigrad compiled"][0]
        targets.append(_target(f"MLP {shape} compiled / numpy", mine / timed["numpy"][0],
                               0.5 if shape == MLP_SHAPES[0] else 0.9))
        if "torch@1" in timed:
            best = min(timed["torch@1"][0], timed["torch@2"][0])
            targets.append(_target(f"MLP {shape} compiled / torch eager (best of 1, 2 threads)",
                                   mine / best, 0.1))
        if "jax.jit" in timed:
            targets.append(_target(f"MLP {shape} compiled / jax.jit", mine / timed["jax.jit"][0],
                                   1.0))
        print_rows(rows[-len(timed):])
    for kind in ("rnn", "lstm", "gru"):
        for shape in RNN_SHAPES[:1] if args.quick else RNN_SHAPES:
            case = bench_train.Case(kind, shape, 0)
            steps = {"minigrad": (columns.minigrad_eager(case), _none),
                     "minigrad compiled": (columns.minigrad_compiled(case), _none)}
            timed = interleaved(steps, repeats, args.budget * 2, clock)
            rows += _rows(kind, shape, timed)
            targets.append(_target(f"{kind.upper()} {shape} compiled / eager",
                                   timed["minigrad compiled"][0] / timed["minigrad"][0], 0.8))
            print_rows(rows[-2:])
    return rows, targets


def _rows(model, shape, timed):
    return [{"model": model, "shape": list(shape), "impl": name, "median_ms": t[0] * 1e3,
             "spread_ms": [t[1] * 1e3, t[2] * 1e3]} for name, t in timed.items()]


def _target(name, ratio, limit):
    return {"target": name, "ratio": ratio, "limit": limit, "met": ratio <= limit}


def print_rows(rows):
    for row in rows:
        print(f"  {row['model']:5s} {str(tuple(row['shape'])):20s} {row['impl']:18s} "
              f"{row['median_ms']:9.4f} ms  [{row['spread_ms'][0]:.4f}, "
              f"{row['spread_ms'][1]:.4f}]", flush=True)


# ------------------------------------------------------------------- in a new process
FIRST_CALLS = """
import time
start = time.perf_counter()
import minigrad, numpy as np
from minigrad import nn, optim
import minigrad.nn.functional as F
imported = time.perf_counter()
minigrad.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2))
opt = optim.SGD(model.parameters(), lr=0.01)
rng = np.random.default_rng(0)
x = minigrad.tensor(rng.standard_normal((32, 2)).astype(np.float32))
y = minigrad.tensor(rng.integers(0, 2, 32))
def step():
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss
COMPILE = %s
if COMPILE:
    step = minigrad.compile(step)
built = time.perf_counter()
calls = 0
while True:
    step()
    calls += 1
    if not COMPILE or step.compiled:
        break
step()  # eager: the second step; compiled: the first replay, which compiles the kernels
ready = time.perf_counter()
step()
print(imported - start, ready - built, time.perf_counter() - ready, calls)
"""

IMPORT = """
import sys, time
start = time.perf_counter()
import minigrad
print(time.perf_counter() - start, 'numba' in sys.modules)
"""


def in_new_process(code, cache=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    if cache is not None:
        env["MINIGRAD_CACHE_DIR"] = cache
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=600)
    return out.stdout.split()


def first_calls():
    """Trace + compile of the tiny MLP step, cold (empty cache) and warm, in new processes:
    the time from the first call to the end of the first replay (which compiles the kernels,
    or loads them from Numba's cache).

    The first eager call also imports Numba and loads the optimizer's kernels, which any run
    pays; ``eager first two steps`` measures that alone (the same step, not compiled): the
    difference is what tracing and compiling cost.
    """
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        eager = [float(v) for v in in_new_process(FIRST_CALLS % "False", cache)[1:2]]
        cold = [float(v) for v in in_new_process(FIRST_CALLS % "True", cache)[:3]]
        warm = [float(v) for v in in_new_process(FIRST_CALLS % "True", cache)[:3]]
    results["eager first two steps s"] = eager[0]
    results["compiled cold: calls until compiled s"] = cold[1]
    results["compiled warm: calls until compiled s"] = warm[1]
    seconds, has_numba = in_new_process(IMPORT)
    results["import minigrad s"] = float(seconds)
    results["import minigrad imports numba"] = has_numba == "True"
    for name, value in results.items():
        print(f"  {name}: {value}")
    return results, [
        _target("first calls until compiled, cold cache (s)", cold[1], 3.0),
        _target("first calls until compiled, warm cache (s)", warm[1], 0.5),
        _target("  of which trace + compile, cold (s)", cold[1] - eager[0], 3.0),
        _target("  of which trace + compile, warm (s)", warm[1] - eager[0], 0.5),
        _target("import minigrad (s)", float(seconds), 0.5),
    ]


def spirals(repeats=2):
    """The spirals example with and without --compile: final accuracy and wall time."""
    out = {}
    script = os.path.join(ROOT, "examples", "train_mlp.py")
    env = dict(os.environ, PYTHONPATH=ROOT)
    for _ in range(repeats):
        for flag in ([], ["--compile"]):
            start = time.perf_counter()
            result = subprocess.run([sys.executable, script, "--quiet", *flag], env=env,
                                    capture_output=True, text=True, check=True, timeout=900)
            seconds = time.perf_counter() - start
            line = result.stdout.strip().splitlines()[-1]
            out.setdefault("compiled" if flag else "eager", []).append((seconds, line))
    for name, runs in out.items():
        print(f"  spirals {name}: {[round(s, 2) for s, _ in runs]} s; {runs[-1][1]}")
    best = {name: min(s for s, _ in runs) for name, runs in out.items()}
    same = out["eager"][-1][1].split(" after ")[0] == out["compiled"][-1][1].split(" after ")[0]
    return out, [_target("spirals --compile wall time / eager (same accuracy: "
                         f"{'yes' if same else 'NO'})", best["compiled"] / best["eager"], 1.0)]


def main(argv=None):
    args = parse_args(argv)
    folder = common.results_dir(args)
    with common.tee(os.path.join(folder, "compile.txt")):
        report = measure(args)
    with open(os.path.join(folder, "compile.json"), "w") as file:
        json.dump(report, file, indent=2)
    print(f"wrote compile.json and compile.txt in {os.path.relpath(folder)}")


def measure(args):
    """Run the measurements ``args`` ask for; print them and return the report."""
    if args.threads is not None:
        limit_threads(args.threads)
    sys.path.insert(0, ROOT)
    clock = time.thread_time if args.cpu_time else time.perf_counter
    report = {"threads": args.threads, "clock": clock.__name__, "load": os.getloadavg()}
    targets = []
    if "steps" not in args.skip:
        rows, found = step_cases(args, clock)
        report["rows"] = rows
        targets += found
    if "first" not in args.skip:
        report["first"], found = first_calls()
        targets += found
    if "spirals" not in args.skip:
        report["spirals"], found = spirals(1 if args.quick else 2)
        targets += found
    report["targets"] = targets
    report["load_after"] = os.getloadavg()
    print(f"\nload average {report['load']} -> {report['load_after']}")
    for t in targets:
        print(f"{'met ' if t['met'] else 'MISS'} {t['ratio']:7.3f} (<= {t['limit']})  "
              f"{t['target']}")
    return report


if __name__ == "__main__":
    main()
