"""MNIST-1D with minigrad and PyTorch: the same recipe on the same data, in the same process.

The recipe is the mnist1d repository's (examples/train_mnist1d.py describes it): Adam at lr
0.01, batches of 100 in order, cross-entropy, test accuracy every 250 steps, the four models
built the same way in both frameworks with each one's default initialisation. Two measurements:

accuracy   for every seed and model, one full run (8000 steps) in each framework (PyTorch on one
           thread): final test accuracy per seed and the means, beside the published figure,
           and each run's wall time.
speed      for every model, interleaved repeats of shorter runs (--speed-steps) of minigrad,
           PyTorch on 1 thread and PyTorch on 2 threads: the median wall time of a run, the
           spread (min-max), and minigrad's time over the faster PyTorch setting's. A PyTorch
           setting over three times slower than the other in a 10-step probe is not timed
           further (a two-thread pool on a loaded 2-core machine can be 100x slower).

PyTorch is skipped when it is not installed. Usage:

    python perf/bench_mnist1d.py [--mode accuracy|speed|both] [--seeds 0 1 2]
        [--models logistic mlp cnn gru] [--steps 8000] [--speed-steps 1000] [--repeats 3]
        [--blas-threads 1] [--out DIR | --commit]

Writes mnist1d.json (every number) and mnist1d.md (the tables) into the output folder
(perf/out, or perf/results with --commit).

``--blas-threads`` caps NumPy's BLAS threads for minigrad (set before NumPy loads; default 1:
these matrices are small, and two threads fighting other processes for two cores lose).
"""

import json
import os
import sys
import time

import common  # first: where results go

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLISHED = {"logistic": 32, "mlp": 68, "cnn": 94, "gru": 91}
BATCH, LR, EVAL_EVERY = 100, 1e-2, 250


def parse_args(argv=None):
    parser = common.parser(__doc__.split("\n\n")[0], timing=False)
    parser.add_argument("--mode", choices=["accuracy", "speed", "both"], default="both")
    parser.add_argument("--models", nargs="+", default=list(PUBLISHED), choices=list(PUBLISHED))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=8000, help="steps of an accuracy run")
    parser.add_argument("--speed-steps", type=int, default=1000, help="steps of a speed run")
    parser.add_argument("--repeats", type=int, default=3, help="speed runs per setting")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="NumPy's BLAS threads for minigrad")
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------ minigrad
def minigrad_run(name, dataset, steps, seed):
    """One training run with minigrad; returns (final test accuracy %, wall seconds)."""
    import train_mnist1d

    import minigrad
    from minigrad import optim
    from minigrad.nn import functional as F

    (x, y), (x_test, y_test) = dataset
    start = time.perf_counter()
    model = train_mnist1d.build_model(name, seed)
    optimizer = optim.Adam(model.parameters(), lr=LR)
    x_test_t = minigrad.tensor(x_test)
    accuracy = None
    for step in range(steps):
        at = (step * BATCH) % len(x)
        loss = F.cross_entropy(model(minigrad.tensor(x[at:at + BATCH])), y[at:at + BATCH])
        loss.item()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == steps:
            with minigrad.no_grad():
                accuracy = train_mnist1d.accuracy(model(x_test_t).data, y_test)
    return accuracy, time.perf_counter() - start


# ------------------------------------------------------------------------------- PyTorch
def torch_models():
    """The reference models (the mnist1d repository's models.py), in PyTorch."""
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear1, self.linear2 = nn.Linear(40, 100), nn.Linear(100, 100)
            self.linear3 = nn.Linear(100, 10)

        def forward(self, x):
            h = self.linear1(x).relu()
            h = h + self.linear2(h).relu()
            return self.linear3(h)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(1, 25, 5, stride=2, padding=1)
            self.conv2 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
            self.conv3 = nn.Conv1d(25, 25, 3, stride=2, padding=1)
            self.linear = nn.Linear(125, 10)

        def forward(self, x):
            h = x.view(-1, 1, x.shape[-1])
            h = self.conv3(self.conv2(self.conv1(h).relu()).relu()).relu()
            return self.linear(h.view(h.shape[0], -1))

    class GRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 6, batch_first=True, bidirectional=True)
            self.linear = nn.Linear(480, 10)

        def forward(self, x):
            output, _ = self.gru(x.view(*x.shape[:2], 1))
            return self.linear(output.reshape(output.shape[0], -1))

    return {"logistic": lambda: torch.nn.Linear(40, 10), "mlp": MLP, "cnn": CNN, "gru": GRU}


def torch_run(name, dataset, steps, seed, threads):
    """One training run with PyTorch on ``threads`` threads; (final test accuracy %, seconds)."""
    import torch

    torch.set_num_threads(threads)
    (x, y), (x_test, y_test) = (tuple(torch.from_numpy(a) for a in pair) for pair in dataset)
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = torch_models()[name]()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    accuracy = None
    for step in range(steps):
        at = (step * BATCH) % len(x)
        loss = torch.nn.functional.cross_entropy(model(x[at:at + BATCH]), y[at:at + BATCH])
        loss.item()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == steps:
            with torch.no_grad():
                predicted = model(x_test).argmax(-1)
                accuracy = float(100 * (predicted == y_test).double().mean())
    return accuracy, time.perf_counter() - start


# ---------------------------------------------------------------------------- measurements
def accuracy_study(args, dataset, runners):
    """Full runs per seed and model in every framework; rows of accuracies and times."""
    rows = []
    for seed in args.seeds:
        for name in args.models:
            for framework, run in runners.items():
                accuracy, seconds = run(name, dataset, args.steps, seed)
                rows.append({"model": name, "seed": seed, "framework": framework,
                             "accuracy": accuracy, "seconds": seconds})
                print(f"accuracy  {name:8s} seed {seed}  {framework:8s} {accuracy:5.1f}%  "
                      f"{seconds:6.1f} s", flush=True)
    return rows


def speed_study(args, dataset, settings):
    """Interleaved repeats of short runs; {model: {setting: [seconds per run]}}."""
    import numpy as np

    times, probes = {}, {}
    for name in args.models:
        active = dict(settings)
        for run in active.values():  # warm-up: compilation, first allocations
            run(name, dataset, 3, 0)
        probes[name] = {s: run(name, dataset, 10, 0)[1] for s, run in active.items()}
        _drop_hopeless(active, probes[name])
        times[name] = {setting: [] for setting in settings}
        for repeat in range(args.repeats):
            order = list(active)
            order = order[repeat % len(order):] + order[:repeat % len(order)]
            for setting in order:
                times[name][setting].append(active[setting](name, dataset, args.speed_steps,
                                                            0)[1])
        medians = {s: float(np.median(t)) for s, t in times[name].items() if t}
        print(f"speed     {name:8s} " + "  ".join(f"{s} {m:6.2f} s" for s, m in medians.items()) +
              "  (10-step probes: " + ", ".join(f"{s} {t:.2f} s" for s, t in
                                                probes[name].items()) + ")", flush=True)
    return times, probes


def _drop_hopeless(active, probe):
    """Drop a PyTorch thread setting whose probe took over 3x the other's."""
    torch_settings = [s for s in active if s.startswith("torch")]
    if len(torch_settings) == 2:
        fast, slow = sorted(torch_settings, key=probe.get)
        if probe[slow] > 3 * probe[fast]:
            del active[slow]


# ----------------------------------------------------------------------------- reporting
def accuracy_table(rows, models):
    """Markdown: per model, each framework's per-seed accuracies, their mean, the published."""
    import numpy as np

    frameworks = list(dict.fromkeys(r["framework"] for r in rows))
    head = "| model | " + " | ".join(f"{f} (per seed) | {f} mean" for f in frameworks) + \
        " | published |"
    lines = [head, "|---" * (2 * len(frameworks) + 2) + "|"]
    for name in models:
        cells = []
        for framework in frameworks:
            values = [r["accuracy"] for r in rows if r["model"] == name and
                      r["framework"] == framework]
            cells += [", ".join(f"{v:.1f}" for v in values), f"{np.mean(values):.1f}%"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {PUBLISHED[name]}% |")
    return "\n".join(lines)


def speed_table(times, probes, steps):
    """Markdown: per model, median seconds per run of each setting and minigrad's ratio."""
    import numpy as np

    lines = [f"| model | minigrad s / {steps} steps | PyTorch 1 thread | PyTorch 2 threads | "
             "ratio |", "|---|---|---|---|---|"]
    for name, by_setting in times.items():
        cells, seconds = [], {}
        for setting in ("minigrad", "torch_1", "torch_2"):
            t = by_setting.get(setting) or []
            if t:
                seconds[setting] = float(np.median(t))
                cells.append(f"{seconds[setting]:.2f} ({min(t):.2f}-{max(t):.2f})")
            elif setting in probes.get(name, {}):
                cells.append(f"not timed (10-step probe {probes[name][setting]:.2f})")
            else:
                cells.append("n/a")
        best = min((seconds[s] for s in ("torch_1", "torch_2") if s in seconds), default=None)
        ratio = f"{seconds['minigrad'] / best:.2f}x" if best else "n/a"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.blas_threads)
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))
    from minigrad import data

    dataset = data.mnist1d()
    try:
        import torch  # noqa: F401 - only to know whether it is there
        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch is not installed: minigrad only", file=sys.stderr)
    load = [os.getloadavg()]
    results = {"blas_threads": args.blas_threads, "cores": os.cpu_count()}
    report = []
    if args.mode in ("accuracy", "both"):
        runners = {"minigrad": minigrad_run}
        if have_torch:
            runners["pytorch"] = lambda *a: torch_run(*a, threads=1)
        results["accuracy"] = accuracy_study(args, dataset, runners)
        report.append(f"Test accuracy (%) after {args.steps} steps, seeds {args.seeds}:\n\n" +
                      accuracy_table(results["accuracy"], args.models))
    if args.mode in ("speed", "both"):
        settings = {"minigrad": minigrad_run}
        if have_torch:
            settings["torch_1"] = lambda *a: torch_run(*a, threads=1)
            settings["torch_2"] = lambda *a: torch_run(*a, threads=2)
        results["speed"], results["probes"] = speed_study(args, dataset, settings)
        report.append(f"Wall time per run of {args.speed_steps} steps, median of "
                      f"{args.repeats} interleaved runs (min-max); ratio = minigrad / the "
                      "faster PyTorch setting:\n\n" +
                      speed_table(results["speed"], results["probes"], args.speed_steps))
    load.append(os.getloadavg())
    results["load"] = load
    text = "\n\n".join(report) + (f"\n\nLoad average (1, 5, 15 min) before {load[0]}, after "
                                  f"{load[1]}, on {os.cpu_count()} cores.")
    print("\n" + text)
    folder = common.results_dir(args)
    with open(os.path.join(folder, "mnist1d.json"), "w") as file:
        json.dump(results, file, indent=2)
    with open(os.path.join(folder, "mnist1d.md"), "w") as file:
        file.write(text + "\n")
    print(f"wrote mnist1d.json and mnist1d.md in {os.path.relpath(folder)}")


if __name__ == "__main__":
    main()
