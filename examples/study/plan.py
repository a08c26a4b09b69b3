"""The study's plan: which cells run, in what order, and the summaries read from them.

For every task and optimizer:

1. Tuning. The optimizer runs at ``grid_points`` learning rates, ``per_decade`` to a decade,
   centred on a usual good value for it (GRID_CENTRE), on the tuning seeds. A run is scored by
   its final held-out loss (see ``score``), capped at the task's trivial loss (what the best
   constant prediction scores: a run that diverged or learned nothing scores that). The best
   learning rate has the
   lowest mean score; while it lies at an end of the grid, the grid grows by one point at that
   end (at most ``max_extend`` times per end), so that "best" is never an artefact of where the
   grid stopped. The scores against the learning rate are the sensitivity curve, and the width of
   the good range is the span, in decades, over which the curve keeps at least GOOD of the best
   run's improvement on the trivial loss.
2. Evaluation. At its best learning rate and at its default one (its constructor's), the
   optimizer runs on every evaluation seed. The tuning seeds are among them: the best rate was
   picked on two of the five seeds (reported as such, in the report).
3. The learning-rate finder, run on each task and optimizer from several seeds.

Extra cells test particular claims: weight-decay variants on the overfitting task, clipping on
the exploding-gradient task. Cells shared between steps (the default rate is on the grid, say)
run once: the store keys them by (task, optimizer, lr, seed).
"""

import math

import numpy as np

from minigrad import nn, optim

from . import runs, tasks
from .runs import cell_key, default_lr, run_cell

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "adabelief", "lion",
              "lookahead")
#: log10 of the centre of each optimizer's grid: a usual good rate for it (compare_optimizers.py
#: lists the rates that suit the spirals and the adding problem).
GRID_CENTRE = {"sgd": -1.0, "momentum": -2.0, "nesterov": -2.0, "rmsprop": -3.0, "adam": -2.5,
               "adamw": -2.5, "adabelief": -2.5, "lookahead": -2.5, "lion": -3.5}
#: The exploding-gradient task with clipping is run for these only (the Lion claim's baselines).
CLIP_OPTIMIZERS = ("sgd", "momentum", "adam", "lion")
#: Weight decay on the overfitting task, at Adam's best learning rate (claim 2), beside AdamW's
#: default decay (0.01) at that rate.
DECAY_VARIANTS = ("adamw-wd0.1", "adamw-wd1", "adam-l2-1e-4", "adam-l2-1e-3")
GOOD = 0.8  # a rate is good when it keeps this share of the best improvement on trivial
EARLY = 0.2  # "early in training": the first fifth of the steps

CONFIGS = {
    "default": {"size": "default", "per_decade": 2, "grid_points": 7, "max_extend": 2,
                "tuning_seeds": [0, 1], "eval_seeds": [0, 1, 2, 3, 4], "finder_seeds": [0, 1, 2],
                "finder_steps": 100, "surface_steps": 300, "surface_repeats": 8,
                "escape_starts": 200, "escape_steps": 400, "escape_amplitudes": [1.0, 2.0, 4.0],
                "memory_elements": 1 << 20, "timing_repeats": 15},
    "quick": {"size": "quick", "per_decade": 1, "grid_points": 3, "max_extend": 1,
              "tuning_seeds": [0], "eval_seeds": [0, 1], "finder_seeds": [0],
              "finder_steps": 40, "surface_steps": 60, "surface_repeats": 2,
              "escape_starts": 40, "escape_steps": 100, "escape_amplitudes": [1.0],
              "memory_elements": 1 << 16, "timing_repeats": 3},
}


class Progress:
    """What the plan tells a progress display: more work planned, one piece of it done."""

    def add(self, count):
        """``count`` more cells are planned."""

    def done(self, label):
        """One cell finished (``label`` says which)."""


def optimizers_for(task_name):
    """The optimizers a task is run with."""
    return CLIP_OPTIMIZERS if task_name == "exploding-clip" else OPTIMIZERS


def score(record, trivial):
    """A run's score: its final held-out loss, capped at the task's trivial loss.

    A task measured along training (the overfitting task) scores the lowest held-out loss the
    run reached instead, what early stopping would keep: its learning rate is then tuned for
    the best model it passes through, and what happens after that point is the overfitting.
    """
    if record["final"] is None:
        return trivial
    if "eval_curve" in record:
        return min(min(loss for _, loss in record["eval_curve"]), trivial)
    return min(record["final"], trivial)


def summary(values):
    """Mean, sample standard deviation and count of a list of numbers (plus the numbers)."""
    values = [float(v) for v in values]
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "std": std, "n": len(values),
            "values": [float(f"{v:.6g}") for v in values]}


def curve_metrics(record):
    """A run's early loss (mean training loss over the first EARLY of the steps) and its AUC.

    The AUC is the mean training loss over the whole run, the area under its curve: lower is
    faster. Windows a diverged run never reached count at its initial loss.
    """
    curve = list(record["train_curve"])
    curve += [record["initial"]] * (runs.CURVE_WINDOWS - len(curve))
    early = max(1, round(EARLY * runs.CURVE_WINDOWS))
    return float(np.mean(curve[:early])), float(np.mean(curve))


def _mean_curve(curves):
    """The mean of the curves that reached the end (diverged runs stop short), or None."""
    full = [c for c in curves if len(c) == runs.CURVE_WINDOWS]
    return runs.rounded(np.mean(full, axis=0), 5) if full else None


def overfit_metrics(record):
    """How much a run overfits: held-out loss rise from its lowest point, and train/test gap."""
    if record["final"] is None or "eval_curve" not in record:
        return None
    losses = [loss for _, loss in record["eval_curve"]]  # the last one is at the final step
    return {"rise": losses[-1] - min(losses), "gap": record["final"] - record["train_loss"]}


def good_range(exponents, scores, best_score, trivial):
    """The span (decades) of the good range around the best rate, interpolated, and its ends.

    Good means a score at most ``trivial - GOOD * (trivial - best)``. Returns (width, low, high,
    open_low, open_high); open_* says the range reaches the end of the grid (so it may be wider).
    """
    threshold = trivial - GOOD * (trivial - best_score)
    scores = np.asarray(scores)
    best = int(np.argmin(scores))
    low = high = float(exponents[best])
    i = best
    while i > 0 and scores[i - 1] <= threshold:
        i -= 1
    low = float(exponents[i]) if i == 0 or scores[i - 1] <= threshold else _cross(
        exponents[i - 1], scores[i - 1], exponents[i], scores[i], threshold)
    open_low = i == 0
    j = best
    while j < len(scores) - 1 and scores[j + 1] <= threshold:
        j += 1
    high = float(exponents[j]) if j == len(scores) - 1 else _cross(
        exponents[j + 1], scores[j + 1], exponents[j], scores[j], threshold)
    open_high = j == len(scores) - 1
    return high - low, low, high, open_low, open_high


def _cross(x_bad, y_bad, x_good, y_good, level):
    """Where the line from (x_good, y_good) to (x_bad, y_bad) crosses ``level``."""
    if y_bad == y_good:
        return float(x_good)
    return float(x_good + (level - y_good) / (y_bad - y_good) * (x_bad - x_good))


class Study:
    """Runs the plan over ``task_specs`` with ``config``, keeping every cell in ``store``."""

    def __init__(self, config, task_specs, store, progress=None, backend="numba"):
        self.config, self.tasks, self.store = config, task_specs, store
        self.progress = progress or Progress()
        self.backend = backend
        self.described = {}

    # ------------------------------------------------------------------------------ cells
    def cell(self, task_name, optimizer, lr, seed):
        """The record of one cell: from the store, or run now and stored."""
        key = cell_key(task_name, optimizer, lr, seed)
        record = self.store.get(key)
        if record is None:
            record = self.store.put(key, run_cell(self.tasks[task_name], optimizer, lr, seed,
                                                  self.backend))
        self.progress.done(f"{task_name} {optimizer}")
        return record

    def cached(self, key, compute):
        """A non-cell result (finder run, surfaces, memory) from the store, or computed now."""
        record = self.store.get(key)
        if record is None:
            record = self.store.put(key, {"value": compute()})
        self.progress.done(key.split("|")[0])
        return record["value"]

    def trivial_loss(self, task_name):
        """The task's trivial loss (from its seed-0 instance)."""
        return self._describe(task_name)["trivial"]

    def _describe(self, task_name):
        """The trivial loss and the model's size, from the task's seed-0 instance."""
        if task_name not in self.described:
            task = self.tasks[task_name].build(0)
            self.described[task_name] = {
                "trivial": tasks.trivial_loss(task),
                "parameters": sum(p.data.size for p in task.model.parameters())}
        return self.described[task_name]

    # ------------------------------------------------------------------------------ steps
    def tune(self, task_name, optimizer):
        """Step 1 for one task and optimizer: the sensitivity curve and the best rate."""
        c = self.config
        step = 1 / c["per_decade"]
        half = (c["grid_points"] - 1) / 2
        exponents = [round(GRID_CENTRE[optimizer] + (i - half) * step, 6)
                     for i in range(c["grid_points"])]
        trivial = self.trivial_loss(task_name)
        extended = {"low": 0, "high": 0}
        seeds = c["tuning_seeds"]
        records = {}
        while True:
            for e in exponents:
                if e not in records:
                    records[e] = [self.cell(task_name, optimizer, 10.0**e, s) for s in seeds]
            scores = [float(np.mean([score(r, trivial) for r in records[e]])) for e in exponents]
            best = int(np.argmin(scores))
            end = "low" if best == 0 else "high" if best == len(exponents) - 1 else None
            if end is None or extended[end] >= c["max_extend"]:
                break
            extended[end] += 1
            self.progress.add(len(seeds))
            if end == "low":
                exponents.insert(0, round(exponents[0] - step, 6))
            else:
                exponents.append(round(exponents[-1] + step, 6))
        width, low, high, open_low, open_high = good_range(exponents, scores, scores[best],
                                                           trivial)
        return {"lrs": [10.0**e for e in exponents], "scores": scores,
                "diverged": [sum(r["diverged"] for r in records[e]) for e in exponents],
                "failed": [sum(r["final"] is None or r["final"] >= trivial for r in records[e])
                           for e in exponents],
                "best_lr": 10.0 ** exponents[best], "best_score": scores[best],
                "width": width, "good_low": 10.0**low, "good_high": 10.0**high,
                "open": [open_low, open_high], "extended": extended,
                "at_edge": best in (0, len(exponents) - 1)}

    def evaluate(self, task_name, optimizer, lr):
        """Step 2: the optimizer at ``lr`` on every evaluation seed, summarised."""
        trivial = self.trivial_loss(task_name)
        records = [self.cell(task_name, optimizer, lr, s) for s in self.config["eval_seeds"]]
        early, auc = zip(*(curve_metrics(r) for r in records))
        result = {"lr": lr, "final": summary([score(r, trivial) for r in records]),
                  "early": summary(early), "auc": summary(auc),
                  "diverged": sum(r["diverged"] for r in records),
                  "curve": _mean_curve([r["train_curve"] for r in records])}
        if "eval_curve" in records[0]:
            curves = [r["eval_curve"] for r in records if "eval_curve" in r]
            result["eval_curve"] = [[points[0][0], float(np.mean([p[1] for p in points]))]
                                    for points in zip(*curves)]
        overfitting = [overfit_metrics(r) for r in records]
        if all(o is not None for o in overfitting) and overfitting:
            result["end"] = summary([r["final"] for r in records])
            result["rise"] = summary([o["rise"] for o in overfitting])
            result["gap"] = summary([o["gap"] for o in overfitting])
        if "grad_norm" in records[0]:
            result["grad_norm_max"] = max(r["grad_norm"]["max"] for r in records)
        return result

    def find_lr(self, task_name, optimizer, seed):
        """Step 3: the learning-rate finder on a fresh instance of the task, from ``seed``."""
        spec = self.tasks[task_name]

        def compute():
            task = spec.build(seed)
            params = list(task.model.parameters())
            model_optimizer = runs.build_optimizer(optimizer, params, runs.default_lr(optimizer),
                                                   self.backend)
            clip = None
            if spec.grad_clip is not None:
                def clip():
                    nn.utils.clip_grad_norm_(params, spec.grad_clip)
            with np.errstate(all="ignore"):
                result = optim.lr_find(task.model, model_optimizer, task.loss,
                                       runs.batches_forever(task),
                                       num_steps=self.config["finder_steps"], before_step=clip)
            out = {"suggested_lr": result.suggested_lr, "min_lr": result.min_lr,
                   "floor": list(result.floor), "diverged": result.diverged}
            if seed == self.config["finder_seeds"][0]:
                out["curve"] = {k: runs.rounded(getattr(result, k), 5)
                                for k in ("lrs", "losses", "smoothed")}
            return out

        return self.cached(f"finder|{task_name}|{optimizer}|{seed}", compute)

    # ------------------------------------------------------------------------------ the lot
    def planned_cells(self):
        """How many cells the plan needs before any grid grows (for the progress bar)."""
        c = self.config
        total = 0
        for name in self.tasks:
            count = len(optimizers_for(name))
            total += count * (c["grid_points"] * len(c["tuning_seeds"])
                              + 2 * len(c["eval_seeds"]) + len(c["finder_seeds"]))
        if "overfit" in self.tasks:
            total += (1 + len(DECAY_VARIANTS)) * len(c["eval_seeds"])
        return total

    def run_training(self):
        """Steps 1-3 on every task; returns {"tasks", "tuning", "evaluation", "finder", ...}."""
        self.progress.add(self.planned_cells())
        out = {"tasks": {}, "tuning": {}, "evaluation": {}, "finder": {}, "decay": {}}
        for name, spec in self.tasks.items():
            out["tasks"][name] = {"family": spec.family, "steps": spec.steps,
                                  "description": spec.description, **self._describe(name)}
            out["tuning"][name], out["evaluation"][name], out["finder"][name] = {}, {}, {}
            for optimizer in optimizers_for(name):
                tuned = self.tune(name, optimizer)
                out["tuning"][name][optimizer] = tuned
                default = default_lr(optimizer)
                out["evaluation"][name][optimizer] = {
                    "best": self.evaluate(name, optimizer, tuned["best_lr"]),
                    "default": self.evaluate(name, optimizer, default)}
                out["finder"][name][optimizer] = [self.find_lr(name, optimizer, s)
                                                  for s in self.config["finder_seeds"]]
            if name == "overfit":
                adam_lr = out["tuning"][name]["adam"]["best_lr"]
                out["decay"] = {variant: self.evaluate(name, variant, adam_lr)
                                for variant in ("adamw", *DECAY_VARIANTS)}
        return out


def finder_accuracy(finder, tuning):
    """Per task and optimizer: the finder's suggestion (median over seeds) against the grid best.

    Returns a list of rows {task, optimizer, suggested_lr, grid_best_lr, ratio, seeds_within_3x,
    seeds, spread} where ratio = suggested / grid best and spread is the standard deviation of
    log10(suggestion) over the finder's seeds.
    """
    rows = []
    for task_name, per_optimizer in finder.items():
        for optimizer, results in per_optimizer.items():
            suggestions = np.array([r["suggested_lr"] for r in results])
            best = tuning[task_name][optimizer]["best_lr"]
            logs = np.log10(suggestions)
            median = float(10 ** np.median(logs))
            rows.append({
                "task": task_name, "optimizer": optimizer, "suggested_lr": median,
                "grid_best_lr": best, "ratio": median / best,
                "seeds_within_3x": int(np.sum(np.abs(logs - math.log10(best)) <= math.log10(3))),
                "seeds": len(results),
                "spread": float(np.std(logs)) if len(logs) > 1 else 0.0})
    return rows
