"""Compare the optimizer family on an MLP and an RNN: same model, same start, same data order.

    python examples/compare_optimizers.py --out runs/compare
    python examples/compare_optimizers.py --optimizer sgd adam lion --task mlp

For each task every optimizer trains a fresh copy of the same network from the same seed
(hence the same initial weights) on batches in the same order, at the learning rate chosen for
it in learning_rates.py (the same table the training scripts use, with the reasons). Prints the
expected time first, a progress bar (overall and per run) while it trains, then a table of final
loss, accuracy, wall time and optimizer state per parameter. With --out DIR it also writes each
finished run as it goes (runs/TASK-OPTIMIZER.json, so that --resume can skip it after an
interruption), the table (table.md), the histories (histories.json, histories.csv,
metrics.json) and the loss curves (compare_optimizers.png, if matplotlib is installed). No model
checkpoints: a run is short, and an interrupted one is simply run again.

Tasks: 'mlp' is train_mlp.py's spirals (constant learning rate here, so that the curves show
each algorithm rather than a schedule); 'rnn' is train_rnn.py's adding problem with an LSTM
(T=50), where reaching MSE < 0.0167 means the network learned to carry a value over 25+ steps.
"""

import csv
import json
import os
import sys
import time

import cli
import learning_rates
import loop
import numpy as np
import optimizers
import plots
import train_mlp
import train_rnn
from cli import EXIT_USAGE, ExampleError

import minigrad

#: The comparison's tasks: which learning_rates.py table each uses, and its epochs and batch
#: size (the same for every optimizer).
TASKS = {
    "mlp": {"rates": "spirals", "epochs": 30, "batch_size": 32},
    "rnn": {"rates": "adding", "epochs": 8, "batch_size": 50},
}
TITLES = {"mlp": "MLP on spirals (cross-entropy)", "rnn": "LSTM on the adding problem (MSE)"}
RUNS = "runs"  # the folder, inside --out, holding one JSON file per finished run


def build_task(name, seed, batch_size, train_size):
    """A fresh task (model initialised from ``seed``) for one optimizer's run."""
    if name == "mlp":
        return train_mlp.build_task("spirals", seed, batch_size)
    return train_rnn.build_task("adding", "lstm", 64, 50, batch_size, seed,
                                train_size=train_size)


def run_config(task_name, optimizer_name, args):
    """What determines a run's result: a finished run is reused by --resume only if it matches."""
    spec = TASKS[task_name]
    lr, _ = learning_rates.choose(spec["rates"], optimizer_name)
    return {"task": task_name, "optimizer": optimizer_name, "lr": lr,
            "epochs": args.epochs or spec["epochs"],
            "batch_size": args.batch_size or spec["batch_size"], "seed": args.seed,
            "backend": args.backend, "train_size": args.train_size}


def run_one(config, progress, compile=False):
    """Train one optimizer on one task; return its record (curves, metrics, time, state).

    ``compile`` runs the training step through minigrad.compile (same numbers, so it is not part
    of the ``config`` a finished run is matched by).
    """
    task_name = config["task"]
    lr, reason = learning_rates.choose(TASKS[task_name]["rates"], config["optimizer"])
    task = build_task(task_name, config["seed"], config["batch_size"], config["train_size"])
    params = list(task.model.parameters())
    optimizer = optimizers.build(config["optimizer"], params, lr, config["backend"])
    step_losses = []

    def on_step(loss):
        step_losses.append(loss)
        progress.step()

    grad_clip = train_rnn.GRAD_CLIP if task_name == "rnn" else None
    settings = loop.Settings(epochs=config["epochs"], quiet=True, grad_clip=grad_clip,
                             compile=compile)
    result = loop.fit(task, optimizer, settings, on_step=on_step)
    return {
        "config": config, "lr": lr, "reason": reason, "epochs": config["epochs"],
        "steps_per_epoch": task.num_batches(),
        "final": result.final, "history": result.history, "step_loss": step_losses,
        "seconds": result.seconds,
        "state_bytes_per_param": optimizers.state_bytes_per_parameter(optimizer, params),
    }


def time_epoch(config, steps=5):
    """Seconds one epoch of ``config``'s task takes now, from timing a few of its steps and one
    evaluation (after a warm-up step), so the estimate reflects this machine and its load."""
    task = build_task(config["task"], config["seed"], config["batch_size"], config["train_size"])
    optimizer = optimizers.build(config["optimizer"], task.model.parameters(), 1e-9,
                                 config["backend"])
    batches = iter(task.batches(0))
    times = []
    for _ in range(min(steps + 1, task.num_batches())):
        start = time.perf_counter()
        optimizer.zero_grad()
        task.loss(next(batches)).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    with minigrad.no_grad():
        task.evaluate()
    evaluation = time.perf_counter() - start
    step = float(np.median(times[1:] or times))
    return task.num_batches() * step + evaluation, task.num_batches()


class Progress:
    """Two tqdm bars on a terminal: the whole comparison (weighted by each run's expected time)
    and the current run; elsewhere a plain line every few seconds. Nothing with --quiet."""

    def __init__(self, total_seconds, enabled):
        self.enabled, self.total = enabled, total_seconds
        self.overall = self.run = None
        self.done = 0.0  # expected seconds of the steps done so far
        self.tty = enabled and sys.stderr.isatty() and _tqdm() is not None
        if self.tty:
            self.overall = _tqdm()(total=total_seconds, position=0, desc="overall",
                                   bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                                              "[{elapsed}<{remaining}]")
        self.started = self.last = time.perf_counter()

    def start_run(self, name, steps, seconds):
        """A run of ``steps`` steps, expected to take ``seconds``, begins."""
        self.name, self.steps, self.step_seconds, self.count = name, steps, seconds / steps, 0
        if self.tty:
            self.run = _tqdm()(total=steps, position=1, desc=name, leave=False)

    def step(self):
        """One step of the current run is done."""
        self.count += 1
        self.done += self.step_seconds
        if self.tty:
            self.run.update()
            self.overall.update(self.step_seconds)
        elif self.enabled and time.perf_counter() - self.last >= loop.PROGRESS_SECONDS:
            self.last = time.perf_counter()
            print(f"  {self.name}: step {self.count}/{self.steps}; overall "
                  f"{min(self.done / self.total, 1):.0%}, {self.last - self.started:.0f} s",
                  flush=True)

    def end_run(self, message):
        """The current run is done: print ``message`` (above the bars, on a terminal)."""
        if self.run is not None:
            self.run.close()
        if self.enabled:
            (self.overall.write if self.tty else print)(message)

    def close(self):
        """Remove the bars."""
        if self.overall is not None:
            self.overall.close()


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def table(results):
    """The comparison as a Markdown table (readable in a terminal and in the README)."""
    lines = ["| task | optimizer | lr | final loss | accuracy | time (s) | state (bytes/param) |",
             "|---|---|---|---|---|---|---|"]
    for task_name, runs in results.items():
        for name, run in runs.items():
            final = run["final"]
            loss = final.get("loss", final.get("mse"))
            accuracy = f"{final['accuracy']:.1%}" if "accuracy" in final else "-"
            lines.append(f"| {task_name} | {name} | {run['lr']:g} | {loss:.4f} | {accuracy} | "
                         f"{run['seconds']:.1f} | {run['state_bytes_per_param']:.1f} |")
    return "\n".join(lines)


def write_histories(results, out):
    """histories.json (everything) and histories.csv (one row per task, optimizer and epoch)."""
    with open(os.path.join(out, "histories.json"), "w") as file:
        json.dump(results, file, indent=1)
    with open(os.path.join(out, "histories.csv"), "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["task", "optimizer", "lr", "epoch", "train_loss", "eval_loss",
                         "accuracy", "seconds"])
        for task_name, runs in results.items():
            for name, run in runs.items():
                for entry in run["history"]:
                    writer.writerow([task_name, name, run["lr"], entry["epoch"],
                                     entry["train_loss"], entry.get("loss", entry.get("mse")),
                                     entry.get("accuracy", ""), entry["seconds"]])


def smoothed(values, window):
    """(centre, low, high) of ``values`` over a centred sliding ``window``: the geometric mean
    (losses are drawn on a log scale) and the quartiles, so the noise stays visible as a band
    around a readable line."""
    values = np.asarray(values, dtype=np.float64)
    window = max(1, min(window, len(values)))
    before, after = (window - 1) // 2, window // 2
    padded = np.concatenate([np.full(before, values[0]), values, np.full(after, values[-1])])
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    centre = np.exp(np.log(np.maximum(windows, 1e-12)).mean(axis=1))
    low, high = np.percentile(windows, [25, 75], axis=1)
    return centre, low, high


def plot(results, path):
    """Smoothed training-loss curves with their spread, one panel per task; False without
    matplotlib."""
    plt = plots.pyplot()
    if plt is None:
        return False
    fig, axes = plt.subplots(1, len(results), figsize=(7 * len(results), 5), squeeze=False)
    colours = plt.get_cmap("tab10").colors
    for ax, (task_name, runs) in zip(axes[0], results.items()):
        for i, (name, run) in enumerate(runs.items()):
            per_epoch = run["steps_per_epoch"]
            centre, low, high = smoothed(run["step_loss"], per_epoch)
            epochs = np.arange(1, len(centre) + 1) / per_epoch
            colour = colours[i % len(colours)]
            ax.fill_between(epochs, low, high, color=colour, alpha=0.1, linewidth=0)
            ax.plot(epochs, centre, color=colour, linewidth=1.4,
                    label=f"{name} (lr {run['lr']:g})")
        if task_name == "rnn":
            for level, text in ((train_rnn.ADDING_MEAN_MSE, "0.167: always answering 1.0"),
                                (train_rnn.ADDING_SOLVED_MSE, "0.0167: solved")):
                ax.axhline(level, color="black", linewidth=0.8, linestyle="--")
                ax.annotate(text, (0, level), xycoords=("axes fraction", "data"),
                            xytext=(4, 3), textcoords="offset points", fontsize=8)
        ax.set_yscale("log")
        ax.set_title(TITLES[task_name])
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss per batch (line: one-epoch average; band: quartiles)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=2, title="optimizer (learning rate)", title_fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.splitlines()[0], epochs="30 for mlp, 8 for rnn",
                             batch_size="32 for mlp, 50 for rnn", comparison=True)
    parser.add_argument("--task", nargs="+", choices=sorted(TASKS), default=sorted(TASKS),
                        help="the tasks to compare them on")
    parser.add_argument("--train-size", type=cli.positive_int, default=train_rnn.ADDING_TRAIN,
                        help="rnn: number of training sequences")
    args = parser.parse_args(argv)
    cli.check_out_flags(args)
    runs = os.path.join(args.out, RUNS) if args.out else None
    if runs and os.path.isdir(runs) and os.listdir(runs) and not (args.resume or args.force):
        raise ExampleError(f"{args.out} already holds runs of an earlier comparison: add "
                           "--resume to reuse them, or --force to run everything again",
                           EXIT_USAGE)
    if args.resume and not os.path.isdir(runs):
        raise ExampleError(f"--resume: no earlier runs in {runs}")
    return args


def load_finished(path, config):
    """The record saved at ``path`` if it is a finished run of ``config``, else None."""
    try:
        with open(path) as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("config") == config else None


def main(argv=None):
    args = parse_args(argv)
    runs_folder = os.path.join(args.out, RUNS) if args.out else None
    configs = [run_config(task_name, name, args) for task_name in args.task
               for name in args.optimizer]
    results, todo, epoch_seconds = {task_name: {} for task_name in args.task}, [], {}
    for config in configs:
        path = runs_folder and os.path.join(runs_folder, f"{config['task']}-"
                                                         f"{config['optimizer']}.json")
        record = load_finished(path, config) if args.resume else None
        if record is not None:
            results[config["task"]][config["optimizer"]] = record
            continue
        if config["task"] not in epoch_seconds:  # one optimizer's step stands for all
            epoch_seconds[config["task"]] = time_epoch(config)
        seconds, steps = epoch_seconds[config["task"]]
        todo.append((config, path, seconds * config["epochs"], steps * config["epochs"]))
    total = sum(seconds for _, _, seconds, _ in todo)
    if not args.quiet:
        reused = len(configs) - len(todo)
        print(f"{len(todo)} runs to do" + (f" ({reused} reused from {runs_folder})"
                                           if reused else "") +
              f"; expected time {_duration(total)} (from timing a few steps of each task now, "
              f"{args.backend} backend)", flush=True)
    if runs_folder:
        os.makedirs(runs_folder, exist_ok=True)
    progress = Progress(total, not args.quiet)
    started = time.perf_counter()
    try:
        for config, path, seconds, steps in todo:
            name = f"{config['task']} {config['optimizer']}"
            progress.start_run(name, steps, seconds)
            record = run_one(config, progress, args.compile)
            results[config["task"]][config["optimizer"]] = record
            if path:
                with open(path, "w") as file:
                    json.dump(record, file)
            final = record["final"]
            score = final.get("loss", final.get("mse"))
            progress.end_run(f"{name}: lr {record['lr']:g}, final loss {score:.4f}, "
                             f"{record['seconds']:.1f} s")
    finally:
        progress.close()
    # In the order asked for, whichever runs were reused.
    results = {t: {n: results[t][n] for n in args.optimizer} for t in args.task}
    print(table(results))
    if args.out is not None:
        write_outputs(results, args)
    print(f"compared {len(args.optimizer)} optimizers on {len(args.task)} task(s) in "
          f"{time.perf_counter() - started:.0f} s ({args.backend} backend, seed {args.seed})")


def write_outputs(results, args):
    """The table, the histories, metrics.json and the figure, in ``args.out``."""
    write_histories(results, args.out)
    with open(os.path.join(args.out, "table.md"), "w") as file:
        file.write(table(results) + "\n")
    with open(os.path.join(args.out, "metrics.json"), "w") as file:
        json.dump({"config": vars(args),
                   "final": {t: {n: r["final"] for n, r in runs.items()}
                             for t, runs in results.items()},
                   "history": {t: {n: r["history"] for n, r in runs.items()}
                               for t, runs in results.items()}}, file, indent=1)
    figure = os.path.join(args.out, "compare_optimizers.png")
    drawn = plot(results, figure)
    print(f"wrote {'compare_optimizers.png, ' if drawn else ''}histories.json, histories.csv, "
          f"table.md, metrics.json and runs/ in {args.out}")


def _duration(seconds):
    if seconds < 10:
        return "a few seconds"
    return f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} min"


if __name__ == "__main__":
    cli.run_main(main)
