"""What the perf scripts share: where results go, the round-robin timer, the machine's name.

Results go to ``perf/out/`` (ignored by git) unless ``--commit`` is given, which writes the
committed set instead (``perf/results/`` and ``perf/charts/``): following the documentation
never changes a tracked file by accident.

Import this module before NumPy: a ``--threads N`` on the command line caps the BLAS and Numba
thread pools, which read their size from the environment once, when they start.
"""

import argparse
import contextlib
import io
import os
import platform
import sys
import time
from dataclasses import dataclass


def limit_threads(threads):
    """Cap BLAS and Numba threads; takes effect only if NumPy is not imported yet."""
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS"):
            os.environ[name] = str(threads)


def _threads_in_argv(argv):
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv) and argv[i + 1].isdigit():
            return argv[i + 1]
        if arg.startswith("--threads=") and arg.split("=", 1)[1].isdigit():
            return arg.split("=", 1)[1]
    return None


limit_threads(_threads_in_argv(sys.argv[1:]))

import numpy as np  # noqa: E402 - after the thread limits, which NumPy reads when it loads

PERF = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(PERF)
EXAMPLES = os.path.join(ROOT, "examples")
OUT = os.path.join(PERF, "out")  # the default: ignored by git
RESULTS, CHARTS = os.path.join(PERF, "results"), os.path.join(PERF, "charts")  # committed

sys.path.insert(0, EXAMPLES)  # the training scripts, and cli.py's help formatter
sys.path.insert(0, ROOT)  # minigrad itself, when the scripts run from a checkout

from cli import HelpFormatter  # noqa: E402 - examples/ is on the path only from here on


def parser(description, timing=True):
    """An ArgumentParser with the flags the perf scripts share (the output folder; with
    ``timing``, also --threads and --quick), showing defaults in --help."""
    result = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    result.add_argument("--out", metavar="DIR", default=None,
                        help=f"folder for the results (default: {os.path.relpath(OUT, ROOT)}, "
                             "ignored by git)")
    result.add_argument("--commit", action="store_true",
                        help="write the committed results (perf/results, perf/charts) instead; "
                             "this does not run git")
    if not timing:
        return result
    result.add_argument("--threads", type=int, default=None,
                        help="threads for BLAS and Numba, and the most PyTorch may use "
                             "(default: all cores)")
    result.add_argument("--quick", action="store_true",
                        help="a small subset, to check that everything runs (well under a "
                             "minute)")
    return result


def results_dir(args):
    """Where this run's JSON and text go: ``--out``, else perf/results with ``--commit``, else
    perf/out."""
    if args.out is not None and args.commit:
        sys.exit("give --out or --commit, not both")
    folder = args.out or (RESULTS if args.commit else OUT)
    os.makedirs(folder, exist_ok=True)
    return folder


def charts_dir(args):
    """Where charts go: perf/charts with ``--commit``, else the results folder."""
    folder = CHARTS if args.commit and args.out is None else results_dir(args)
    os.makedirs(folder, exist_ok=True)
    return folder


@contextlib.contextmanager
def tee(path):
    """Print as usual, and keep a copy of everything printed in the text file ``path``."""
    copy = io.StringIO()

    class Both:
        def write(self, text):
            copy.write(text)
            return stdout.write(text)

        def flush(self):
            stdout.flush()

    stdout, sys.stdout = sys.stdout, Both()
    try:
        yield
    finally:
        sys.stdout = stdout
        with open(path, "w") as file:
            file.write(copy.getvalue())


@dataclass
class Timing:
    """Per-call seconds of one step function: median, quartiles, 10th/90th percentiles."""

    median: float
    p25: float
    p75: float
    p10: float
    p90: float
    samples: int


def time_round_robin(steps, repeats, budget_s, block_s=0.02, settle_s=0.003, setups=None):
    """{name: Timing} of each of ``steps`` (callables), timed in turns.

    The steps take turns, a block of about ``block_s`` each per round, so that a burst of load
    on the shared machine hits all of them alike and the ratios between them hold even when
    absolute times wander. Each block starts with ``setups[name]()`` if given (e.g. setting
    PyTorch's thread count) and ``settle_s`` of untimed steps: the previous implementation's
    OpenMP threads (PyTorch's, or Numba's) keep spinning for a moment after it returns and
    would otherwise compete for the cores. Rounds go on until every step has ``repeats``
    samples, or ``budget_s`` is spent after at least 3 rounds.
    """
    setups = setups or {}
    calls = {}
    for name, step in steps.items():
        setups.get(name, _nothing)()
        step()  # warm-up: compiling, first-step state
        start = time.perf_counter()
        step()
        calls[name] = max(1, int(block_s / max(time.perf_counter() - start, 1e-7)))
    times = {name: [] for name in steps}
    deadline = time.perf_counter() + budget_s
    rounds = 0
    while rounds < 3 or (time.perf_counter() < deadline
                         and min(map(len, times.values())) < repeats):
        for name, step in steps.items():
            setups.get(name, _nothing)()
            settled = time.perf_counter() + settle_s
            while time.perf_counter() < settled:
                step()
            for _ in range(calls[name]):
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
        rounds += 1
    return {name: Timing(float(np.median(t)), *map(float, np.percentile(t, [25, 75, 10, 90])),
                         len(t))
            for name, t in times.items()}


def _nothing():
    pass


def torch_or_none():
    """PyTorch if it is importable (it is optional: only for comparisons), else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_thread_counts(threads=None):
    """The thread counts PyTorch is timed at; the best of them is reported.

    On a shared 2-core machine PyTorch's two-thread pool can be 10-100x slower than one thread
    under load, which would flatter minigrad; timing both and keeping the faster is fair to it.
    """
    counts = [1, threads or os.cpu_count() or 1]
    return sorted(set(counts))


def machine_info(threads=None):
    """CPU, cores, threads and the versions of everything timed, for the JSON results."""
    import numpy

    import minigrad

    torch = torch_or_none()
    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = None
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads or os.cpu_count(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba_version, "minigrad": minigrad.__version__,
            "torch": torch.__version__ if torch else None}


def cpu_model():
    """The CPU's model name as the OS reports it."""
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"

