"""The optimizer study: put every claim of the optimizer guide to a measured test.

    python examples/optimizer_study.py --out docs            # the committed report (~10 min)
    python examples/optimizer_study.py --quick               # the same code, small (< 1 min)
    python examples/optimizer_study.py --out docs --resume   # continue an interrupted study

Tunes every optimizer's learning rate on a grid for every task (spirals, MNIST-1D, the adding
problem and a character language model with an RNN, an LSTM and a GRU, an overfitting task and
an exploding-gradient task), runs it at its best and its default rate over several seeds, runs
the learning-rate finder, races the optimizers on 2-D test functions and measures their memory.
Then it judges the guide's eight claims by rules fixed in examples/study/claims.py, and writes:

    DIR/optimizer_study.md          the report
    DIR/study.json                  the verdicts with their evidence, the finder's accuracy
    DIR/optimizer_study/            the figures, and cells.jsonl: every run, for --resume

Every run is deterministic for its seed (one thread, seeded data and weights), so a resumed
study writes the same study.json as an uninterrupted one.
"""

import os

if __name__ == "__main__":
    # Thousands of small runs: one thread each is fastest (threads only wait on each other for
    # matrices this small, and on a shared machine they stall whenever a core is taken), and a
    # fixed thread count keeps sums in the same order, so results repeat bit for bit. Set before
    # NumPy and Numba are imported, which read these once; only when run as a script, so that
    # importing this module (the tests do) changes nothing for its importer's subprocesses.
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                  "NUMBA_NUM_THREADS"):
        os.environ[_name] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import cli  # noqa: E402
from study import claims, figures, memory, plan, report, runs, surfaces, tasks  # noqa: E402

REPORT, JSON, FIGURES, CELLS = "optimizer_study.md", "study.json", "optimizer_study", "cells.jsonl"


class Bar(plan.Progress):
    """A tqdm progress bar over the study's cells (a line per task when tqdm is missing)."""

    def __init__(self, enabled):
        self.bar, self.enabled, self.last = None, enabled, None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=0, unit="run", smoothing=0.05)

    def add(self, count):
        if self.bar is not None:
            self.bar.total += count
            self.bar.refresh()

    def done(self, label):
        if self.bar is not None:
            self.bar.set_description(label[:24], refresh=False)
            self.bar.update()
        elif self.enabled and label.split()[0] != self.last:
            self.last = label.split()[0]
            print(f"  {self.last} ...", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def parse_args(argv=None):
    parser = cli.Parser(description=__doc__.splitlines()[0],
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small configuration (same code): under a minute")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="DIR", default="runs/optimizer_study",
                       help="where the report, study.json and the figures go")
    where.add_argument("--commit", action="store_const", dest="out", const="docs",
                       help="write the committed report instead: docs/optimizer_study.md, "
                            "docs/study.json and the figures in docs/optimizer_study/")
    parser.add_argument("--resume", action="store_true",
                        help="keep the finished runs in DIR and run only the missing ones")
    parser.add_argument("--backend", choices=("numba", "python", "numpy"), default="numba",
                        help="how the optimizers' update loops run")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def study_config(args, task_specs):
    """Everything the results depend on (a resumed study must match it)."""
    mode = "quick" if args.quick else "default"
    return {"mode": mode, "backend": args.backend, "tasks": list(task_specs),
            **plan.CONFIGS[mode]}


def run_study(config, task_specs, store, progress):
    """All the experiments; returns the results the claims and the report read."""
    study = plan.Study(config, task_specs, store, progress, config["backend"])
    results = {"config": config, **study.run_training()}
    lrs = surfaces.lr_grid(1e-5, 3.0)
    progress.add(3)
    results["surfaces"] = study.cached("surfaces", lambda: surfaces.trajectory_study(
        plan.OPTIMIZERS, config["surface_steps"], config["surface_repeats"], lrs))
    results["escape"] = study.cached("escape", lambda: surfaces.escape_study(
        plan.OPTIMIZERS, config["escape_amplitudes"], config["escape_starts"],
        config["escape_steps"], surfaces.lr_grid(1e-4, 1.0, per_decade=4)))
    results["memory"] = study.cached("memory", lambda: memory.measure(
        plan.OPTIMIZERS, config["memory_elements"], config["timing_repeats"]))
    return results


def draw(results, finder_rows, folder):
    """Every figure (when matplotlib is installed); returns {key: file name}."""
    if not figures.available():
        return {}
    names = {
        "sensitivity": figures.sensitivity(results, folder),
        "training_curves": figures.training_curves(results, folder),
        "lr_finder_accuracy": figures.finder_accuracy(finder_rows, folder),
        "lr_finder": figures.finder_curves(results, folder, next(iter(results["finder"]))),
        "escape": figures.escape(results, folder, surfaces.lr_grid(1e-4, 1.0, per_decade=4)),
        "race": figures.race(results, folder),
    }
    if "overfit" in results["evaluation"]:
        names["overfitting"] = figures.overfitting(results, folder)
    for name in results["surfaces"]:
        names[f"trajectories_{name}"] = figures.trajectories(results, folder, name)
    return names


def load_average():
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    task_specs = tasks.make_tasks("quick" if args.quick else "default")
    config = study_config(args, task_specs)
    folder = os.path.join(args.out, FIGURES)
    os.makedirs(folder, exist_ok=True)
    try:
        store = runs.Store(os.path.join(folder, CELLS), config, args.resume)
    except ValueError as error:
        raise cli.ExampleError(str(error), cli.EXIT_USAGE) from None
    loads, stored = [load_average()], len(store.records)
    bar = Bar(not args.quiet)
    try:
        results = run_study(config, task_specs, store, bar)
    finally:
        bar.close()
    loads.append(load_average())
    verdicts = claims.Judge(results).judge()
    finder_rows = plan.finder_accuracy(results["finder"], results["tuning"])
    report.write_json(os.path.join(args.out, JSON),
                      report.study_json(verdicts, finder_rows, config))
    names = draw(results, finder_rows, folder)
    where = {"runs/optimizer_study": "", "docs": " --commit"}.get(args.out, f" --out {args.out}")
    command = "python examples/optimizer_study.py" + (" --quick" if args.quick else "") + where
    run = {"command": command, "mode": config["mode"], "figure_dir": FIGURES,
           "minutes": (time.perf_counter() - started) / 60,
           "machine": f"{os.cpu_count()} cores ({platform.machine()}, Python "
                      f"{platform.python_version()})",
           "load": " at the start, ".join(loads) + " at the end",
           "resumed": f", resumed with {stored} results already stored" if stored else ""}
    text = report.Report(report.clean(results), verdicts, finder_rows, names, run).build()
    with open(os.path.join(args.out, REPORT), "w") as file:
        file.write(text)
    print(report.table(["claim", "verdict"], [[v["id"], v["verdict"]] for v in verdicts]))
    print(f"wrote {os.path.join(args.out, REPORT)}, {JSON} and {len(names)} figures in "
          f"{run['minutes']:.1f} min", file=sys.stderr if args.quiet else sys.stdout)


if __name__ == "__main__":
    cli.run_main(main)
