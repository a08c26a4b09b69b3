"""Time whole training runs of the examples with each optimizer backend: what JIT buys end to end.

The kernel benchmark (bench_optim.py) times the optimizer's update alone, where Numba is
thousands of times faster than the same loop in the Python interpreter. A training run also
does forward and backward passes (NumPy and BLAS, the same whatever the backend) and evaluates
the model; this script runs the examples' default trainings with ``--backend numba``, ``numpy``
and ``python`` and splits each run's time into those parts, so the end-to-end speed-up and the
reason it is smaller than the kernel's are measured side by side.

Workloads (the examples' defaults, run in this process through their own code):
- spirals: train_mlp.py, the 2-64-64-3 MLP, 60 epochs of 47 steps (all of it);
- adding: train_rnn.py --task adding, LSTM with 64 units, T=50: the first 2 of its 12 epochs
  (a short run: a full python-backend run would take ~10 minutes).
Numba's one-time compile is done before timing (it is cached on disk after the first run).
Backends take turns within each repeat (3 for spirals, 1 for adding); the median is reported.

    python perf/bench_end_to_end.py [--quick] [--repeats R] [--out DIR | --commit]

Writes end_to_end.json and end_to_end.txt into the output folder. JSON: {"machine": {...},
"workloads": {name: {"title", "epochs", "steps"}}, "runs": [{"workload", "backend",
"seconds", "update_s", "forward_s", "evaluation_s", "backward_and_rest_s", "repeats"}]},
each a median over the repeats.
"""

import json
import os
import time

import common  # first: it applies --threads before NumPy loads
import numpy as np

BACKENDS = ("numba", "numpy", "python")
#: name -> what is run: its title, epochs (and with --quick), repeats per backend
WORKLOADS = {
    "spirals": {"title": "train_mlp.py: spirals MLP, 60 epochs", "epochs": 60, "quick": 2,
                "repeats": 3},
    "adding": {"title": "train_rnn.py --task adding: LSTM, first 2 of 12 epochs", "epochs": 2,
               "quick": 1, "repeats": 1},
}


def build(workload, backend, quick):
    """(task, optimizer, scheduler, grad_clip) of the example's default run of ``workload``."""
    import learning_rates
    import optimizers
    import train_mlp
    import train_rnn

    from minigrad import optim

    if workload == "spirals":
        defaults = train_mlp.DATASETS["spirals"]
        task = train_mlp.build_task("spirals", 0, defaults["batch_size"])
        clip = None
    else:
        defaults = train_rnn.TASKS["adding"]
        task = train_rnn.build_task("adding", "lstm", defaults["hidden"], defaults["seq_len"],
                                    defaults["batch_size"], 0,
                                    train_size=500 if quick else train_rnn.ADDING_TRAIN)
        clip = train_rnn.GRAD_CLIP
    lr, _ = learning_rates.choose(workload, "adam")
    optimizer = optimizers.build("adam", task.model.parameters(), lr, backend)
    scheduler = (optim.lr_scheduler.ExponentialLR(optimizer, defaults["gamma"])
                 if "gamma" in defaults else None)
    return task, optimizer, scheduler, clip


def _timed(function, totals, key):
    """``function``, adding the seconds each call takes to ``totals[key]``."""
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start
    return wrapper


def warm_up(workload, backend):
    """One untimed step and evaluation: Numba compiles (or loads from its cache) what the run
    will call."""
    import minigrad

    task, optimizer, _, _ = build(workload, backend, quick=True)
    optimizer.zero_grad()
    task.loss(next(iter(task.batches(0)))).backward()
    optimizer.step()
    with minigrad.no_grad():
        task.evaluate()


def time_run(workload, backend, epochs, quick):
    """Seconds of one training run, in total and by part."""
    import loop

    task, optimizer, scheduler, clip = build(workload, backend, quick)
    parts = dict.fromkeys(("update_s", "forward_s", "evaluation_s"), 0.0)
    optimizer.step = _timed(optimizer.step, parts, "update_s")
    optimizer.zero_grad = _timed(optimizer.zero_grad, parts, "update_s")
    task.loss = _timed(task.loss, parts, "forward_s")
    task.evaluate = _timed(task.evaluate, parts, "evaluation_s")
    settings = loop.Settings(epochs=epochs, quiet=True, grad_clip=clip)
    result = loop.fit(task, optimizer, settings, scheduler)
    rest = result.seconds - sum(parts.values())
    return {"seconds": result.seconds, **parts, "backward_and_rest_s": rest,
            "steps": epochs * task.num_batches()}


def run(args):
    """Every workload with every backend, ``args.repeats`` times in turns; the JSON report."""
    workloads, runs = {}, []
    for name, spec in WORKLOADS.items():
        epochs = spec["quick"] if args.quick else spec["epochs"]
        for backend in BACKENDS:
            warm_up(name, backend)
        samples = {backend: [] for backend in BACKENDS}
        for _ in range(1 if args.quick else args.repeats or spec["repeats"]):
            for backend in BACKENDS:
                samples[backend].append(time_run(name, backend, epochs, args.quick))
        workloads[name] = {"title": spec["title"], "epochs": epochs,
                           "steps": samples["numba"][0]["steps"]}
        for backend, timings in samples.items():
            row = {"workload": name, "backend": backend, "repeats": len(timings)}
            for key in ("seconds", "update_s", "forward_s", "evaluation_s",
                        "backward_and_rest_s"):
                row[key] = float(np.median([t[key] for t in timings]))
            runs.append(row)
            print(f"{name:8s} {backend:6s} {row['seconds']:8.2f} s  (update "
                  f"{row['update_s']:7.2f} s, forward {row['forward_s']:6.2f} s, backward and "
                  f"the rest {row['backward_and_rest_s']:6.2f} s, evaluation "
                  f"{row['evaluation_s']:5.2f} s)", flush=True)
        python = next(r["seconds"] for r in runs if r["workload"] == name
                      and r["backend"] == "python")
        print(f"{name:8s} end to end, python takes {python / runs[-3]['seconds']:.1f}x numba's "
              f"time and {python / runs[-2]['seconds']:.1f}x numpy's", flush=True)
    return {"machine": common.machine_info(args.threads), "workloads": workloads, "runs": runs}


def main(argv=None):
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs per backend, in turns (default: 3 for spirals, 1 for adding; "
                             "1 with --quick)")
    args = parser.parse_args(argv)
    folder = common.results_dir(args)
    with common.tee(os.path.join(folder, "end_to_end.txt")):
        report = run(args)
    with open(os.path.join(folder, "end_to_end.json"), "w") as file:
        json.dump(report, file, indent=1)
    print(f"wrote end_to_end.json and end_to_end.txt in {os.path.relpath(folder)}")


if __name__ == "__main__":
    main()
