"""Compare the optimizer family on an MLP and an RNN: same model, same start, same data order.

    python examples/compare_optimizers.py --out runs/compare
    python examples/compare_optimizers.py --optimizer sgd adam lion --task mlp

For each task every optimizer trains a fresh copy of the same network from the same seed
(hence the same initial weights) on batches in the same order, at a learning rate chosen for it
(see ``LEARNING_RATES`` below, with the reasons). Prints a table of final loss, accuracy, wall
time and optimizer state per parameter; with --out also writes the loss curves (PNG, needs
matplotlib) and the histories (JSON and CSV).

Tasks: 'mlp' is train_mlp.py's spirals (constant learning rate here, so that the curves show
each algorithm rather than a schedule); 'rnn' is train_rnn.py's adding problem with an LSTM
(T=50), where reaching MSE < 0.0167 means the network learned to carry a value over 25+ steps.
"""

import csv
import json
import os
import time

import cli
import loop
import numpy as np
import optimizers
import train_mlp
import train_rnn

#: Per task: optimizer -> (learning rate, why). MLP: each rate is the best (lowest final loss,
#: default seed) of three values a factor ~3 apart around the usual one. RNN: not swept (a run
#: costs ~20 s); Adam's 3e-3 was measured to solve the task reliably, and the others keep their
#: usual ratio to Adam's rate. Round numbers on purpose: a comparison, not a tuning contest.
LEARNING_RATES = {
    "mlp": {
        "sgd": (0.3, "no momentum or scaling: the largest step that stays stable (1.0 is worse)"),
        "momentum": (0.1, "momentum 0.9 makes the effective step lr/(1-0.9) = 1.0"),
        "nesterov": (0.1, "as momentum; the look-ahead gradient damps the overshoot"),
        "rmsprop": (3e-3, "steps ~lr per weight (gradient / its RMS) from the first step, with "
                          "no bias correction: a bit below Adam's rate"),
        "adam": (0.01, "small network, smooth loss: 10x the usual 1e-3 (3e-3 ties)"),
        "adamw": (0.01, "as Adam, so the decoupled weight decay (0.01) is the only difference"),
        "adabelief": (0.01, "as Adam: the same step with a belief-based denominator"),
        "lion": (1e-3, "sign updates move every weight by lr: 10x below Adam, as its paper says"),
        "lookahead": (0.03, "the slow weights average out the inner Adam's noise, so it can run "
                            "3x hotter than Adam alone"),
    },
    "rnn": {
        "sgd": (0.1, "plain SGD on an LSTM: larger steps blow up even with clipping"),
        "momentum": (0.01, "momentum 0.9: SGD's rate / 10 for the same effective step"),
        "nesterov": (0.01, "as momentum"),
        "rmsprop": (1e-3, "no bias correction: its first steps are ~3x Adam's, so a lower rate"),
        "adam": (3e-3, "measured: solves the task by epoch 7 on three seeds"),
        "adamw": (3e-3, "as Adam"),
        "adabelief": (3e-3, "as Adam"),
        "lion": (3e-4, "sign updates: 10x below Adam, as its paper recommends"),
        "lookahead": (3e-3, "the inner Adam at Adam's rate"),
    },
}
#: Epochs and batch size per task (the same for every optimizer).
SCHEDULE = {"mlp": {"epochs": 30, "batch_size": 32}, "rnn": {"epochs": 8, "batch_size": 50}}


def build_task(name, seed, batch_size, train_size):
    """A fresh task (model initialised from ``seed``) for one optimizer's run."""
    if name == "mlp":
        return train_mlp.build_task("spirals", seed, batch_size)
    return train_rnn.build_task("adding", "lstm", 64, 50, batch_size, seed,
                                train_size=train_size)


def run_one(task_name, optimizer_name, args):
    """Train one optimizer on one task; return its record (curves, metrics, time, state)."""
    lr, reason = LEARNING_RATES[task_name][optimizer_name]
    epochs = args.epochs or SCHEDULE[task_name]["epochs"]
    task = build_task(task_name, args.seed, args.batch_size or SCHEDULE[task_name]["batch_size"],
                      args.train_size)
    params = list(task.model.parameters())
    optimizer = optimizers.build(optimizer_name, params, lr, args.backend)
    step_losses = []
    grad_clip = train_rnn.GRAD_CLIP if task_name == "rnn" else None
    settings = loop.Settings(epochs=epochs, quiet=True, grad_clip=grad_clip,
                             compile=args.compile)
    result = loop.fit(task, optimizer, settings, on_step=step_losses.append)
    return {
        "lr": lr, "reason": reason, "epochs": epochs,
        "final": result.final, "history": result.history, "step_loss": step_losses,
        "seconds": result.seconds,
        "state_bytes_per_param": optimizers.state_bytes_per_parameter(optimizer, params),
    }


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


def _smooth(values, weight=0.9):
    """Exponential moving average, bias-corrected, so a noisy per-step curve becomes readable."""
    out, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**i))
    return np.array(out)


def plot(results, path):
    """Training-loss curves, one panel per task; returns False when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")  # files only: works without a display
    import matplotlib.pyplot as plt

    titles = {"mlp": "MLP on spirals (cross-entropy)", "rnn": "LSTM on the adding problem (MSE)"}
    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.5), squeeze=False)
    for ax, (task_name, runs) in zip(axes[0], results.items()):
        for name, run in runs.items():
            ax.plot(_smooth(run["step_loss"]), label=f"{name} ({run['lr']:g})", linewidth=1.2)
        ax.set_yscale("log")
        ax.set_title(titles[task_name])
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (smoothed)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.splitlines()[0], epochs=None, batch_size=None,
                             comparison=True)
    parser.add_argument("--task", nargs="+", choices=sorted(LEARNING_RATES),
                        default=sorted(LEARNING_RATES), help="the tasks to compare them on")
    parser.add_argument("--train-size", type=cli.positive_int, default=train_rnn.ADDING_TRAIN,
                        help="rnn: number of training sequences")
    parser.epilog = ("Each optimizer uses its rate from LEARNING_RATES (so there is no --lr). "
                     "--epochs and --batch-size, when given, replace every task's own "
                     "(mlp: 30 epochs of 32, rnn: 8 epochs of 50).")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.out is not None:
        os.makedirs(args.out, exist_ok=True)
    results = {}
    started = time.perf_counter()
    for task_name in args.task:
        results[task_name] = {}
        for name in args.optimizer:
            if not args.quiet:
                print(f"{task_name}: {name} ...", flush=True)
            results[task_name][name] = run_one(task_name, name, args)
    print(table(results))
    if args.out is not None:
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
        if plot(results, figure):
            print(f"wrote {figure}, histories.json, histories.csv, table.md, metrics.json")
        else:
            print("note: matplotlib is not installed, so no loss-curve PNG was drawn "
                  "(pip install matplotlib); the histories are in histories.json and .csv")
    print(f"compared {len(args.optimizer)} optimizers on {len(args.task)} task(s) in "
          f"{time.perf_counter() - started:.0f} s ({args.backend} backend, seed {args.seed})")


if __name__ == "__main__":
    cli.run_main(main)
