"""The study's outputs: study.json (verdicts and finder accuracy) and the Markdown report."""

import json
import math

import numpy as np

from . import claims
from .plan import GOOD, OPTIMIZERS


def clean(obj):
    """``obj`` with NumPy numbers turned into Python ones and nan/inf into None (valid JSON)."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def study_json(verdicts, finder_rows, config):
    """The document study.json holds: claims, lr_finder and config, exactly."""
    return clean({
        "claims": verdicts,
        "lr_finder": [{k: row[k] for k in ("task", "optimizer", "suggested_lr", "grid_best_lr")}
                      for row in finder_rows],
        "config": config,
    })


def write_json(path, document):
    with open(path, "w") as file:
        json.dump(document, file, indent=1)
        file.write("\n")


# ------------------------------------------------------------------------------ formatting
def num(x, digits=3):
    """A number with ``digits`` significant digits ('-' for None)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}"


def stat(summary, digits=3):
    """'mean ± std' of a summary."""
    return f"{num(summary['mean'], digits)} ± {num(summary['std'], 2)}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def outcomes_line(part):
    """'holds on 5 of 8 tasks, against on 1' plus the per-task marks."""
    marks = {1: "+", -1: "−", 0: "0"}
    per = ", ".join(f"{t} {marks[v]}" for t, v in part["outcomes"].items())
    return (f"holds on {part['holds']} of {part['tasks']}, opposite on {part['against']} "
            f"({per})")


# ------------------------------------------------------------------------------ the report
class Report:
    """Builds the Markdown report from the results, the verdicts and the figures' names."""

    def __init__(self, results, verdicts, finder_rows, figures, run):
        self.r, self.verdicts, self.finder_rows = results, verdicts, finder_rows
        self.figures, self.run = figures, run
        self.lines = []

    def add(self, *texts):
        self.lines.extend(texts)

    def figure(self, key, alt):
        if key in self.figures:
            self.add(f"![{alt}]({self.run['figure_dir']}/{self.figures[key]})", "")

    def build(self):
        self.header()
        self.summary()
        self.rules()
        self.tasks()
        self.claims()
        self.sensitivity()
        self.results_table()
        self.finder()
        self.trajectories()
        self.memory()
        self.decisions()
        return "\n".join(self.lines).rstrip() + "\n"

    def header(self):
        run, config = self.run, self.r["config"]
        self.add("# The optimizer study: the guide's claims, measured", "",
                 f"Produced by `{run['command']}` ({run['mode']} configuration) in "
                 f"{run['minutes']:.1f} minutes on {run['machine']}, shared with other work "
                 f"(load average {run['load']}){run['resumed']}. Every number "
                 "below comes from that run; `study.json` holds the verdicts and the finder's "
                 "accuracy, `optimizer_study/cells.jsonl` every run.", "",
                 f"Each optimizer is tuned on a grid of learning rates ({config['per_decade']} "
                 f"per decade, {config['grid_points']} points, grown at an end while the best "
                 f"rate sits there) with seeds {config['tuning_seeds']}, then run at its best "
                 f"rate and at its default rate on seeds {config['eval_seeds']}. Numbers are "
                 "mean ± standard deviation over those seeds. The best rate was picked on seeds "
                 f"{config['tuning_seeds']}, which are among them: that flatters every "
                 "optimizer's tuned result a little, and all alike.", "")

    def summary(self):
        self.add("## Verdicts", "")
        rows = []
        for verdict in self.verdicts:
            parts = [f"{name.replace('_', ' ')}: {part['verdict']}"
                     for name, part in verdict["evidence"].items() if part.get("verdict")]
            rows.append([f"{verdict['id']}", verdict["verdict"].upper(), "; ".join(parts)])
        self.add(table(["claim", "verdict", "parts"], rows), "")

    def rules(self):
        doc = claims.__doc__.split("\n\n", 2)[2]
        self.add("## How the verdicts are decided", "",
                 "Fixed before the runs (`examples/study/claims.py`):", "", doc.strip(), "",
                 f"A run's score is its final held-out loss, capped at the task's *trivial loss* "
                 "(the best constant prediction: class frequencies, the mean target, character "
                 "frequencies); a run that diverged scores the trivial loss. On the overfitting "
                 "task the score is the lowest held-out loss reached along training (what early "
                 "stopping keeps), so that its best rate is the one that generalises best, and "
                 "the rise after that point measures the overfitting. A learning rate is "
                 f"*good* when its score keeps at least {GOOD:.0%} of the best score's "
                 "improvement on the trivial loss; the *width* of the good range is its span in "
                 "decades, interpolated between grid points.", "")

    def tasks(self):
        self.add("## The tasks", "")
        rows = [[name, t["description"], f"{t['parameters']:,}", t["steps"], num(t["trivial"])]
                for name, t in self.r["tasks"].items()]
        self.add(table(["task", "what", "parameters", "steps", "trivial loss"], rows), "")
        if "mnist1d" not in self.r["tasks"]:
            self.add("MNIST-1D was skipped: the `mnist1d` package is not installed.", "")

    # -------------------------------------------------------------------------- claims
    def claims(self):
        self.add("## Claim by claim", "")
        for verdict in self.verdicts:
            self.add(f"### {verdict['id']}: {verdict['verdict']}", "",
                     f"> {verdict['claim']}", "")
            for name, part in verdict["evidence"].items():
                self.add(f"- **{name.replace('_', ' ')}** ({part.get('verdict') or 'not judged'})"
                         f": {part['test']}. " + self.part_numbers(verdict["id"], name, part))
            self.add("")
            extra = getattr(self, f"claim_{verdict['id']}", None)
            if extra:
                extra(verdict)

    def part_numbers(self, claim_id, name, part):
        """The deciding numbers of one part, in a sentence."""
        if "outcomes" in part and "tasks" in part:
            return outcomes_line(part) + "."
        if "outcomes" in part:
            marks = {1: "AdamW better", -1: "Adam better", 0: "tie"}
            return ", ".join(f"{t}: {marks[v]}" for t, v in part["outcomes"].items()) + "."
        shown = {k: v for k, v in part.items() if k not in ("test", "verdict")}
        return "; ".join(f"{k.replace('_', ' ')} {self.describe(v)}" for k, v in shown.items())

    def describe(self, value):
        if isinstance(value, dict) and "mean" in value:
            return stat(value)
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {self.describe(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
            return f"{value[0]}/{value[1]}"
        if isinstance(value, float):
            return num(value)
        return str(value)

    def metric_table(self, tasks, optimizers, metric):
        rows = [[t] + [stat(self.r["evaluation"][t][o]["best"][metric]) for o in optimizers]
                for t in tasks]
        return table(["task"] + list(optimizers), rows)

    def claim_adam(self, verdict):
        main = _main(self.r)
        self.add("Early loss (mean training loss over the first fifth of the steps), at each "
                 "optimizer's best rate:", "",
                 self.metric_table(main, ("adam", "sgd", "momentum"), "early"), "")
        self.figure("training_curves", "Training curves at the best rates")

    def claim_adamw(self, verdict):
        self.figure("overfitting", "Held-out loss along training on the overfitting task")

    def claim_lookahead(self, verdict):
        self.add(self.metric_table(_main(self.r), ("lookahead", "adam"), "final"), "")

    def claim_sgd(self, verdict):
        self.add("Mean training loss over the whole run (lower = faster), at the best rates:", "",
                 self.metric_table(_main(self.r), ("sgd", "momentum", "nesterov", "adam"), "auc"),
                 "")
        if "escape" in self.r:
            rows = [[a] + [f"{num(row[o]['share'], 2)} (lr {num(row[o]['lr'], 2)})"
                           for o in row] for a, row in self.r["escape"].items()]
            names = list(next(iter(self.r["escape"].values())))
            self.add("Rastrigin escape shares (fresh starts, at the rate that was best on "
                     "other starts), by amplitude A of the local minima:", "",
                     table(["A"] + names, rows), "")
            self.figure("escape", "Escape share against learning rate")

    def claim_rmsprop(self, verdict):
        rows = [[t] + [claims.Judge(self.r).ranks(t)[o] for o in OPTIMIZERS]
                for t in _main(self.r)]
        self.add("Rank of each optimizer at its best rate (1 = lowest final loss):", "",
                 table(["task"] + list(OPTIMIZERS), rows), "")

    def claim_lion(self, verdict):
        if "exploding" in self.r["evaluation"]:
            free = self.r["evaluation"]["exploding"]
            clipped = self.r["evaluation"].get("exploding-clip", {})
            rows = [[o, stat(free[o]["best"]["final"]),
                     stat(clipped[o]["best"]["final"]) if o in clipped else "-",
                     num(free[o]["best"].get("grad_norm_max")), free[o]["best"]["diverged"]]
                    for o in OPTIMIZERS]
            self.add("Exploding-gradient task, each at its best rate:", "",
                     table(["optimizer", "no clipping", "clipping at 1", "largest gradient "
                            "norm (no clipping)", "diverged seeds (no clipping)"], rows), "")

    # -------------------------------------------------------------------------- sections
    def sensitivity(self):
        self.add("## Learning-rate sensitivity", "",
                 "Final held-out loss against learning rate, every optimizer on every task "
                 "(mean of the tuning seeds; Schmidt et al., 2021, argue that this curve matters "
                 "more than the one tuned number):", "")
        self.figure("sensitivity", "Sensitivity curves")
        tuning = self.r["tuning"]
        rows = []
        for t, per in tuning.items():
            cells = []
            for o in OPTIMIZERS:
                if o in per:
                    w = per[o]
                    mark = "≥" if any(w["open"]) else ""
                    cells.append(f"{mark}{w['width']:.1f}")
                else:
                    cells.append("")
            rows.append([t] + cells)
        widths = {o: np.mean([tuning[t][o]["width"] for t in _main(self.r)]) for o in OPTIMIZERS}
        rows.append(["**mean (main tasks)**"] + [f"**{widths[o]:.2f}**" for o in OPTIMIZERS])
        self.add("Width of the good range, in decades (≥: the range reaches the end of the grid, "
                 "so it may be wider):", "", table(["task"] + list(OPTIMIZERS), rows), "")
        rows = [[t] + [(num(tuning[t][o]["best_lr"], 2) + ("*" if tuning[t][o]["at_edge"]
                                                            else "")) if o in tuning[t] else ""
                       for o in OPTIMIZERS] for t in tuning]
        self.add("Best learning rate on the grid (*: at an end of the grid after it grew as far "
                 "as allowed):", "", table(["task"] + list(OPTIMIZERS), rows), "")

    def results_table(self):
        self.add("## Final held-out loss at the best and at the default rate", "",
                 "(On the overfitting task, the score: the lowest held-out loss along training.)",
                 "")
        rows = []
        for t, per in self.r["evaluation"].items():
            for o, runs in per.items():
                best, default = runs["best"], runs["default"]
                rows.append([t, o, num(best["lr"], 2), stat(best["final"]),
                             num(default["lr"], 2), stat(default["final"]),
                             best["diverged"] + default["diverged"]])
        self.add(table(["task", "optimizer", "best lr", "final (best lr)", "default lr",
                        "final (default lr)", "diverged runs"], rows), "")

    def finder(self):
        rows = self.finder_rows
        within = [abs(math.log10(r["ratio"])) <= math.log10(3) for r in rows]
        good = [self.r["tuning"][r["task"]][r["optimizer"]]["good_low"] <= r["suggested_lr"]
                <= self.r["tuning"][r["task"]][r["optimizer"]]["good_high"] for r in rows]
        seeds = sum(r["seeds_within_3x"] for r in rows), sum(r["seeds"] for r in rows)
        spread = float(np.mean([r["spread"] for r in rows]))
        met = "Met." if all(within) else "Not met."
        self.add("## The learning-rate finder", "",
                 "`minigrad.optim.lr_find` (Smith, 2017): 100 steps with the rate growing "
                 "exponentially from 1e-7 to 10, parameters and optimizer restored afterwards. "
                 "The suggestion is the geometric centre of the valley floor of the "
                 "lag-free smoothed curve, halved (the module docstring says why). Run from "
                 f"{len(self.r['config']['finder_seeds'])} seeds per task and optimizer; the "
                 "suggestion below is their median.", "",
                 f"**Target: within 3x of the grid-best rate for every optimizer on every task. "
                 f"Met for {sum(within)} of {len(rows)} pairs ({sum(within) / len(rows):.0%}); "
                 f"{seeds[0]} of {seeds[1]} single runs. {met}** The suggestion lies inside "
                 f"the good range for {sum(good)} of {len(rows)} pairs. Across seeds it varies "
                 f"by {spread:.2f} decades (standard deviation of log10), so most of the misses "
                 "are systematic rather than noise. The median ratio of suggestion to grid best "
                 "per task shows which way: a 100-step sweep cannot see how long training will "
                 "be, and the best rate of the full run lies below the sweep's landmark on some "
                 "tasks and above it on others.", "")
        ratios = {}
        for r in rows:
            ratios.setdefault(r["task"], []).append(r["ratio"])
        self.add(table(["task", "median suggested / grid best"],
                       [[t, num(float(np.median(v)), 2)] for t, v in ratios.items()]), "")
        self.figure("lr_finder_accuracy", "Suggested against grid-best learning rate")
        self.figure("lr_finder", "Range-test curves")
        table_rows = [[r["task"], r["optimizer"], num(r["suggested_lr"], 2),
                       num(r["grid_best_lr"], 2), num(r["ratio"], 2),
                       "yes" if w else "no", f"{r['seeds_within_3x']}/{r['seeds']}",
                       num(r["spread"], 2)] for r, w in zip(rows, within)]
        self.add(table(["task", "optimizer", "suggested", "grid best", "ratio", "within 3x",
                        "seeds within 3x", "spread (decades)"], table_rows), "")
        per_optimizer = [[o, f"{sum(w for r, w in zip(rows, within) if r['optimizer'] == o)}/"
                             f"{sum(r['optimizer'] == o for r in rows)}"] for o in OPTIMIZERS]
        self.add("Within 3x, per optimizer:", "", table(["optimizer", "tasks"], per_optimizer),
                 "")

    def trajectories(self):
        self.add("## Trajectories on 2-D test functions", "",
                 "Each optimizer from the same start, at the learning rate (from a grid, 2 per "
                 "decade, 1e-5 to 3) whose path is lowest on average (low early and low at the "
                 "end); on the right with gradient noise as in "
                 "DeepOBS's 2-D problems (the noisy rate is tuned on the mean over "
                 f"{self.r['config']['surface_repeats']} noise draws, the path shown is the "
                 "first).", "")
        newton = any(entry["newton"] for entry in self.r["surfaces"].values())
        if newton:
            self.add("Newton's method (dashed black) is drawn as a reference, its Hessians from "
                     "`minigrad.func.hessian`; Rastrigin has none (minigrad has no cosine).", "")
        else:
            self.add("Newton's method is left out: `minigrad.func.hessian` (higher-order "
                     "autograd) does not exist in this build.", "")
        self.figure("race", "The race: every optimizer on the four surfaces")
        for name in self.r["surfaces"]:
            self.figure(f"trajectories_{name}", f"Paths on {name}")
        rows = [[name, key] + [f"{num(e['final'])} ({num(e['lr'], 1)})" for e in
                               (entry[key][o] for o in OPTIMIZERS)]
                for name, entry in self.r["surfaces"].items() for key in ("clean", "noisy")]
        self.add("Final value (learning rate):", "",
                 table(["function", ""] + list(OPTIMIZERS), rows), "")

    def memory(self):
        memory = self.r["memory"]
        rows = [[o, num(memory[o]["traced"]), num(memory[o]["state_dict"]),
                 num(memory[o]["step_ns_per_element"], 2)] for o in OPTIMIZERS]
        self.add("## Memory and step time, measured", "",
                 f"One float32 tensor of {self.r['config']['memory_elements']:,} elements, "
                 "Numba backend on one thread. *Held* is what tracemalloc sees allocated from "
                 "before the optimizer is built to after two steps; *state dict* the bytes of "
                 "the arrays `state_dict()` returns. The guide's claim: Adam-like methods need "
                 "extra memory (two moments: 8 bytes per float32 parameter), Lion one moment "
                 "(4), SGD with momentum one buffer (4), plain SGD none.", "",
                 table(["optimizer", "held (bytes/param)", "state dict (bytes/param)",
                        "step (ns/param)"], rows), "")

    def decisions(self):
        self.add("## Decisions and limits", "", *[f"- {line}" for line in DECISIONS], "")


DECISIONS = [
    "The default learning rate is each constructor's (PyTorch's): 1e-3 for SGD (with or without "
    "momentum), Adam, AdamW, AdaBelief and Lookahead(Adam), 1e-2 for RMSprop, 1e-4 for Lion.",
    "Momentum and Nesterov mean SGD with momentum 0.9; Lookahead wraps Adam (k=5, alpha=0.5).",
    "The grids are centred per optimizer on a usual good rate and grown at an end while the best "
    "rate is there (at most twice), so a best rate at the end of its grid is marked as such.",
    "The models are small (see the task table) and the runs short, to fit a few thousand runs "
    "into minutes on two cores: the verdicts are about this regime. Lion's 'for large models' "
    "is not tested.",
    "The character model is train_rnn.py's (embedding, one recurrent layer, linear head), "
    "smaller; the adding problem has T=20 so that an LSTM and a GRU can solve it within the "
    "steps given (the Elman RNN cannot, as expected).",
    "The exploding-gradient task is an IRNN whose recurrent weights start at 1.2 times the "
    "identity; the clipping comparison runs SGD, momentum, Adam and Lion only.",
    "Weight decay variants run at Adam's best rate, not retuned: the comparison is of decay "
    "alone.",
    "Everything runs on one thread (BLAS and Numba), which is fastest for many small runs on a "
    "shared machine and keeps results bit-for-bit repeatable.",
]


def _main(results):
    return [t for t in results["evaluation"]
            if t not in ("overfit", "exploding", "exploding-clip")]
