"""Benchmark minigrad's optimizer step: numba vs python vs numpy backends (and PyTorch if present).

    python perf/bench_optim.py [--quick] [--threads N] [--out DIR | --commit] [--only ALGOS]
                               [--sizes SIZES] [--dtypes DTYPES]

For each algorithm x backend x size x dtype it times ``optimizer.step()`` (medians over repeats
after a warm-up) and relates it to the memory bandwidth ``np.copyto`` reaches on arrays of the
same size in the same run. Within one algorithm and size, the numba and numpy backends and
PyTorch's implementations are timed round-robin (common.time_round_robin), so a burst of load
on a shared machine slows all of them alike; PyTorch is timed at 1 and 2 threads and the faster
counts. The slow python backend is timed on its own, on a slice of at most 20,000 elements,
and scaled up (``scaled`` in the JSON: an estimate). ``--quick`` runs a subset in well under a
minute.

Writes optim.json and optim.txt (the printed table) into the output folder. JSON:
    machine:   {"cpu", "cores", "python", "numpy", "numba", "minigrad", "torch", "threads"}
    copyto:    {size: {dtype: copy GB/s}} (read + write bytes / time)
    compile:   {algorithm: {"cold_s", "warm_s"}} first numba step in a fresh process, with an
               empty on-disk cache (cold) and with the cache filled (warm)
    results:   list of rows, each
        algorithm   e.g. "Adam", "SGD-nesterov", "Lookahead(Adam)"
        impl        "minigrad-numba" | "minigrad-python" | "minigrad-numpy" |
                    "torch-forloop" | "torch-foreach" | "torch-fused"
        size        elements per step ("many-small" rows: 20 x 64x64 + 20 x 64 = 83200)
        case        "one-tensor" | "many-small"
        dtype       "float32" | "float64"
        median_s, spread_s   median step time and (p90 - p10) over repeats
        threads     (PyTorch rows) the thread count it was faster at
        scaled      true when timed on a slice and scaled to the full size (python backend)
        elements_per_s, bytes_moved, gb_per_s, copy_fraction (GB/s over np.copyto's GB/s)
        speedup_vs_python, speedup_vs_numpy   (numba rows only, same run)
    torch:     "installed" or "not installed"
"""

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile

import common  # first: it applies --threads before NumPy loads
import numpy as np

import minigrad
from minigrad import optim

torch = common.torch_or_none()  # None: the torch columns say "not installed"

SMALL_SHAPES = [(64, 64)] * 20 + [(64,)] * 20
# name -> (constructor over a param list and backend, arrays moved per element per step)
ALGORITHMS = {
    "SGD": (lambda p, b: optim.SGD(p, lr=1e-3, backend=b), 3),
    "SGD-momentum": (lambda p, b: optim.SGD(p, lr=1e-3, momentum=0.9, backend=b), 5),
    "SGD-nesterov": (lambda p, b: optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True,
                                            backend=b), 5),
    "RMSprop": (lambda p, b: optim.RMSprop(p, backend=b), 5),
    "RMSprop-centered": (lambda p, b: optim.RMSprop(p, centered=True, backend=b), 7),
    "Adam": (lambda p, b: optim.Adam(p, backend=b), 7),
    "AdamW": (lambda p, b: optim.AdamW(p, backend=b), 7),
    "AdaBelief": (lambda p, b: optim.AdaBelief(p, backend=b), 7),
    "Lion": (lambda p, b: optim.Lion(p, backend=b), 5),
    "Lookahead(Adam)": (lambda p, b: optim.Lookahead(optim.Adam(p, backend=b)), 7),
}
TORCH = {"SGD": "SGD", "RMSprop": "RMSprop", "Adam": "Adam", "AdamW": "AdamW"}
SIZES, QUICK_SIZES = [10**3, 10**5, 10**6, 4 * 10**6], [10**5]
QUICK_ALGORITHMS = ["SGD", "Adam", "Lion", "Lookahead(Adam)"]
PYTHON_SLICE = 20_000  # the python backend runs ~1e6 elements/s: time a slice, scale it


def time_round_robin(steps, repeats, budget_s, **options):
    """{name: (median, p90 - p10)} of each step function, timed in turns (see common.py)."""
    timed = common.time_round_robin(steps, repeats, budget_s, **options)
    return {name: (t.median, t.p90 - t.p10) for name, t in timed.items()}


def timeit(step, repeats, budget_s):
    """(median, p90 - p10) of ``step()`` alone."""
    return time_round_robin({"step": step}, repeats, budget_s, settle_s=0)["step"]


def make_tensors(shapes, dtype, rng):
    """Parameters with fixed random gradients."""
    params = []
    for shape in shapes:
        p = minigrad.Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
        p.grad = (rng.standard_normal(shape) * 1e-3).astype(dtype)
        params.append(p)
    return params


def copy_bandwidth(size, dtype, repeats):
    """GB/s of np.copyto between two arrays of ``size`` elements (bytes read + written)."""
    src, dst = np.ones(size, dtype), np.zeros(size, dtype)
    median, _ = timeit(lambda: np.copyto(dst, src), repeats, 1.0)
    return 2 * src.nbytes / median / 1e9


def minigrad_step(algorithm, backend, shapes, dtype):
    """(step, scale, scaled): one minigrad configuration's step; python runs on a slice."""
    make, _ = ALGORITHMS[algorithm]
    scale, scaled = 1.0, False
    total = sum(int(np.prod(s)) for s in shapes)
    if backend == "python" and total > PYTHON_SLICE:
        scale, scaled = total / PYTHON_SLICE, True
        shapes = [(PYTHON_SLICE,)]
    params = make_tensors(shapes, dtype, np.random.default_rng(0))
    return make(params, backend).step, scale, scaled


def torch_step(algorithm, impl, shapes, dtype):
    """PyTorch's for-loop / foreach / fused step on the same shapes, or None if it has none."""
    rng = np.random.default_rng(0)
    params = []
    for shape in shapes:
        p = torch.nn.Parameter(torch.from_numpy(rng.standard_normal(shape).astype(dtype)))
        p.grad = torch.from_numpy((rng.standard_normal(shape) * 1e-3).astype(dtype))
        params.append(p)
    flags = {"torch-forloop": dict(foreach=False), "torch-foreach": dict(foreach=True),
             "torch-fused": dict(fused=True)}[impl]
    lr = 1e-3 if algorithm in ("SGD", "Adam", "AdamW") else 1e-2
    try:
        opt = getattr(torch.optim, TORCH[algorithm])(params, lr=lr, **flags)
        opt.step()  # fails here when there is no such CPU implementation
    except (RuntimeError, TypeError, ValueError):  # e.g. no fused CPU kernel for RMSprop
        return None
    return opt.step


def compile_times(algorithms):
    """First numba step in a fresh process: cold (empty cache dir) and warm (filled)."""
    out = {}
    for algorithm in algorithms:
        cache = tempfile.mkdtemp(prefix="numba-cache-")
        here = os.path.dirname(os.path.abspath(__file__))
        code = (f"import sys, time, numpy as np; sys.path.insert(0, {here!r}); "
                "import bench_optim as b; "
                "p = b.make_tensors([(1000,)], np.float32, np.random.default_rng(0)); "
                f"o = b.ALGORITHMS[{algorithm!r}][0](p, 'numba'); t = time.perf_counter(); "
                "o.step(); print(time.perf_counter() - t)")
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                      capture_output=True, text=True).stdout)
                 for _ in range(2)]
        shutil.rmtree(cache, ignore_errors=True)
        out[algorithm] = {"cold_s": times[0], "warm_s": times[1]}
    return out


IMPLS = ("minigrad-numba", "minigrad-numpy", "minigrad-python", "torch-forloop",
         "torch-foreach", "torch-fused")


def time_algorithm(algorithm, shapes, dtype, repeats, budget, threads):
    """{impl: (median, p90 - p10, threads or None, scaled)} for one algorithm on ``shapes``.

    Everything but the slow python backend is timed round-robin, in one pool; PyTorch's
    implementations at each of common.torch_thread_counts, keeping the faster.
    """
    steps, setups = {}, {}
    for backend in ("numba", "numpy"):
        steps[f"minigrad-{backend}"], _, _ = minigrad_step(algorithm, backend, shapes, dtype)
    counts = common.torch_thread_counts(threads)
    if torch is not None and algorithm in TORCH:
        for impl in ("torch-forloop", "torch-foreach", "torch-fused"):
            step = torch_step(algorithm, impl, shapes, dtype)
            for count in counts if step is not None else []:
                steps[f"{impl}@{count}"] = step
                setups[f"{impl}@{count}"] = functools.partial(torch.set_num_threads, count)
    timed = time_round_robin(steps, repeats, budget * len(steps), setups=setups)
    results = {impl: (*timed[impl], None, False) for impl in ("minigrad-numba", "minigrad-numpy")}
    for impl in IMPLS[3:]:
        variants = [(timed[f"{impl}@{n}"], n) for n in counts if f"{impl}@{n}" in timed]
        if variants:
            (median, spread), count = min(variants, key=lambda v: v[0][0])
            results[impl] = (median, spread, count, False)
    del steps  # free this case's arrays before the python backend's
    step, scale, scaled = minigrad_step(algorithm, "python", shapes, dtype)
    median, spread = timeit(step, 3, budget)
    results["minigrad-python"] = (median * scale, spread * scale, None, scaled)
    return results


def main(argv=None):
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="ALGOS",
                        help="comma-separated algorithms, e.g. Adam,SGD (default: all ten; "
                             f"{','.join(QUICK_ALGORITHMS)} with --quick)")
    parser.add_argument("--sizes", metavar="SIZES",
                        help="comma-separated one-tensor sizes (default: "
                             f"{','.join(map(str, SIZES))}; {QUICK_SIZES[0]} with --quick)")
    parser.add_argument("--dtypes", metavar="DTYPES",
                        help="comma-separated dtypes (default: float32,float64; float32 with "
                             "--quick)")
    args = parser.parse_args(argv)
    folder = common.results_dir(args)
    if torch is None:
        print("PyTorch is not installed: its columns are skipped (CPU wheels: pip install torch "
              "--index-url https://download.pytorch.org/whl/cpu)")
    with common.tee(os.path.join(folder, "optim.txt")):
        report = run(args)
    with open(os.path.join(folder, "optim.json"), "w") as file:
        json.dump(report, file, indent=1)
    print(f"wrote optim.json and optim.txt in {os.path.relpath(folder)}")


def run(args):
    """Time every case; return the JSON report."""
    if args.quick:
        algorithms, sizes, dtypes = QUICK_ALGORITHMS, QUICK_SIZES, ["float32"]
        repeats, budget = 10, 0.1
    else:
        algorithms, sizes, dtypes = list(ALGORITHMS), SIZES, ["float32", "float64"]
        repeats, budget = 50, 3.0
    if args.only:
        algorithms = args.only.split(",")
    if args.sizes:
        sizes = [int(float(n)) for n in args.sizes.split(",")]
    if args.dtypes:
        dtypes = args.dtypes.split(",")
    cases = [("one-tensor", size, [(size,)]) for size in sizes]
    cases.append(("many-small", 83200, SMALL_SHAPES))

    copyto = {size: {d: copy_bandwidth(size, d, repeats) for d in dtypes} for _, size, _ in cases}
    results = []
    for dtype in dtypes:
        itemsize = np.dtype(dtype).itemsize
        for case, size, shapes in cases:
            for algorithm in algorithms:
                arrays = ALGORITHMS[algorithm][1]
                timed = time_algorithm(algorithm, shapes, dtype, repeats, budget, args.threads)
                rows = {}
                for impl in IMPLS:
                    if impl not in timed:
                        continue
                    median, spread, threads, scaled = timed[impl]
                    moved = arrays * size * itemsize
                    rows[impl] = {
                        "algorithm": algorithm, "impl": impl, "size": size, "case": case,
                        "dtype": dtype, "median_s": median, "spread_s": spread,
                        "scaled": scaled, "elements_per_s": size / median,
                        "bytes_moved": moved, "gb_per_s": moved / median / 1e9,
                        "copy_fraction": moved / median / 1e9 / copyto[size][dtype]}
                    if threads is not None:
                        rows[impl]["threads"] = threads
                numba_row = rows["minigrad-numba"]
                for other in ("python", "numpy"):
                    numba_row[f"speedup_vs_{other}"] = (
                        rows[f"minigrad-{other}"]["median_s"] / numba_row["median_s"])
                results.extend(rows.values())
                print_rows(list(rows.values()))
    compile_ = compile_times(["Adam"] if args.quick else algorithms)
    print("\nnumba first step (compile) in a fresh process:")
    for algorithm, t in compile_.items():
        print(f"  {algorithm:18s} cold cache {t['cold_s']:7.2f} s  warm cache {t['warm_s']:.3f} s")
    return {"machine": common.machine_info(args.threads), "copyto": copyto, "compile": compile_,
            "results": results, "torch": "installed" if torch is not None else "not installed"}


_header_done = False


def print_rows(rows):
    """Print rows of the readable table (the header once)."""
    global _header_done
    if not _header_done:
        print(f"{'algorithm':17s} {'case':10s} {'size':>8s} {'dtype':7s} {'impl':16s} "
              f"{'median':>10s} {'spread':>9s} {'GB/s':>6s} {'copy%':>6s} {'x py':>8s} "
              f"{'x np':>6s}")
        _header_done = True
    for r in rows:
        mark = "*" if r["scaled"] else " "
        extra = ""
        if "speedup_vs_python" in r:
            extra = f" {r['speedup_vs_python']:8.0f} {r['speedup_vs_numpy']:6.2f}"
        impl = r["impl"] + (f"@{r['threads']}" if "threads" in r else "")
        print(f"{r['algorithm']:17s} {r['case']:10s} {r['size']:8d} {r['dtype']:7s} "
              f"{impl:16s} {r['median_s'] * 1e6:9.1f}u{mark}{r['spread_s'] * 1e6:8.1f}u "
              f"{r['gb_per_s']:6.1f} {r['copy_fraction'] * 100:5.0f}%{extra}")


if __name__ == "__main__":
    main()
