"""One training run per cell, and the store of finished cells that makes ``--resume`` work.

A cell is (task, optimizer, learning rate, seed). Its run depends on nothing else: the model's
initial weights and the batch order come from the seed, the optimizer is built fresh, BLAS runs
on one thread (see optimizer_study.py). So a cell computed today, or after an interruption, or
in another order, gives the same numbers; the store keeps each finished cell as one JSON line,
and a resumed study only runs the cells it does not hold yet.
"""

import inspect
import json
import math
import os
import time
import warnings

import numpy as np
import optimizers

import minigrad
from minigrad import nn, optim

from .tasks import held_out_loss

#: Optimizers beyond the examples' nine, for the weight-decay experiments (claim 2).
VARIANTS = {
    "adamw-wd0.1": lambda params, lr, backend: optim.AdamW(params, lr=lr, weight_decay=0.1,
                                                           backend=backend),
    "adamw-wd1": lambda params, lr, backend: optim.AdamW(params, lr=lr, weight_decay=1.0,
                                                         backend=backend),
    "adam-l2-1e-4": lambda params, lr, backend: optim.Adam(params, lr=lr, weight_decay=1e-4,
                                                           backend=backend),
    "adam-l2-1e-3": lambda params, lr, backend: optim.Adam(params, lr=lr, weight_decay=1e-3,
                                                           backend=backend),
}
CURVE_WINDOWS = 20  # the training-loss curve is kept as the means of this many windows
DIVERGED = 1e3  # a run stops as diverged when a batch's loss exceeds this times the initial loss


def build_optimizer(name, params, lr, backend="numba"):
    """The optimizer called ``name`` (one of the examples' nine, or a VARIANTS entry)."""
    if name in VARIANTS:
        return VARIANTS[name](list(params), lr, backend)
    return optimizers.build(name, params, lr, backend)


def default_lr(name):
    """The learning rate ``name`` gets when none is given: its constructor's default."""
    probe = minigrad.zeros(1, requires_grad=True)
    optimizer = build_optimizer(name, [probe], 1.0)
    if isinstance(optimizer, optim.Lookahead):
        optimizer = optimizer.optimizer
    return float(inspect.signature(type(optimizer)).parameters["lr"].default)


def cell_key(task, optimizer, lr, seed):
    """The store's key for a cell."""
    return f"{task}|{optimizer}|{lr:.6g}|{seed}"


def rounded(values, digits=6):
    """``values`` as a list of floats with ``digits`` significant digits (for compact JSON)."""
    return [float(f"{v:.{digits}g}") for v in values]


def batches_forever(task):
    """The task's batches, epoch after epoch, without end."""
    epoch = 0
    while True:
        yield from task.batches(epoch)
        epoch += 1


def _evaluate(task):
    task.model.eval()
    with minigrad.no_grad():
        metrics = task.evaluate()
    task.model.train()
    return metrics


def _train_set_loss(task):
    """The loss over the whole training set (for the tasks that ask for it)."""
    with minigrad.no_grad():
        return float(task.loss((minigrad.tensor(task.inputs),
                                minigrad.tensor(task.targets))).item())


def run_cell(spec, optimizer_name, lr, seed, backend="numba"):
    """Train ``spec``'s task from ``seed`` with the optimizer at ``lr``; return the cell record.

    The record holds the held-out loss before and after training (``initial``, ``final``; final
    is None when the run diverged), the training loss as CURVE_WINDOWS window means, the
    held-out loss along training when the task asks for it (``eval_curve``, [step, loss] pairs),
    the gradient norms of recurrent tasks (before clipping) and the wall time.
    """
    started = time.perf_counter()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        task = spec.build(seed)
        params = list(task.model.parameters())
        optimizer = build_optimizer(optimizer_name, params, lr, backend)
        initial = held_out_loss(_evaluate(task))
        eval_at = set(np.linspace(0, spec.steps, spec.curve_points + 1, dtype=int)[1:]) \
            if spec.curve_points else set()
        losses, norms, eval_curve = [], [], []
        diverged = False
        batches = batches_forever(task)
        for step in range(1, spec.steps + 1):
            optimizer.zero_grad()
            loss = task.loss(next(batches))
            loss.backward()
            if spec.family == "recurrent":
                norms.append(nn.utils.clip_grad_norm_(params, spec.grad_clip or math.inf))
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value) or value > DIVERGED * initial:
                diverged = True
                break
            losses.append(value)
            if step in eval_at:
                eval_curve.append([step, held_out_loss(_evaluate(task))])
        metrics = {} if diverged else _evaluate(task)
        final = None if diverged else held_out_loss(metrics)
        if final is not None and not math.isfinite(final):
            final, diverged = None, True
        record = {
            "task": spec.name, "optimizer": optimizer_name, "lr": float(lr), "seed": int(seed),
            "initial": initial, "final": final, "diverged": diverged, "steps": len(losses),
            "metrics": {k: v for k, v in metrics.items() if k not in ("loss", "mse")},
            "train_curve": rounded(_window_means(losses, spec.steps)),
        }
        if eval_curve:
            record["eval_curve"] = [[s, float(f"{v:.6g}")] for s, v in eval_curve]
        if spec.train_loss and not diverged:
            record["train_loss"] = _train_set_loss(task)
        if norms:
            norms = np.asarray(norms)
            finite = norms[np.isfinite(norms)]
            record["grad_norm"] = {"median": float(np.median(finite)) if finite.size else None,
                                   "max": float(norms.max()),
                                   "over_10": float(np.mean(norms > 10))}
    record["seconds"] = round(time.perf_counter() - started, 4)
    return record


def _window_means(losses, steps):
    """Means of the losses in CURVE_WINDOWS equal windows of the planned ``steps``.

    Windows the run never reached (it diverged) are left out, so the curve is shorter.
    """
    edges = np.linspace(0, steps, CURVE_WINDOWS + 1).astype(int)
    losses = np.asarray(losses, dtype=np.float64)
    return [float(losses[a:b].mean()) for a, b in zip(edges[:-1], edges[1:])
            if b <= len(losses) and b > a]


class Store:
    """Finished cells, kept as JSON lines in ``path`` (one per cell, appended as they finish).

    The first line holds the study's configuration; ``open`` with ``resume`` refuses a store
    made with another one, since its cells would not belong to this study.
    """

    def __init__(self, path, config, resume):
        self.path, self.records = path, {}
        if resume and os.path.exists(path):
            self._load(config)
        else:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w") as file:
                file.write(json.dumps({"config": config}) + "\n")

    def _load(self, config):
        with open(path := self.path) as file:
            lines = file.read().splitlines()
        try:
            stored = json.loads(lines[0])["config"] if lines else None
        except (ValueError, KeyError, TypeError):
            stored = None
        if stored != config:
            changed = sorted(k for k in set(config) | set(stored or {})
                             if (stored or {}).get(k) != config.get(k))
            raise ValueError(f"--resume: {path} was made with different settings "
                             f"({', '.join(changed) or 'unreadable header'}); run without "
                             "--resume to start again")
        for line in lines[1:]:
            try:
                record = json.loads(line)
            except ValueError:  # the last line of an interrupted write
                continue
            self.records[record["key"]] = record

    def get(self, key):
        """The finished record of ``key``, or None."""
        return self.records.get(key)

    def put(self, key, record):
        """Keep ``record`` under ``key``, on disk at once (so a Ctrl-C loses at most one cell)."""
        record = {"key": key, **record}
        self.records[key] = record
        with open(self.path, "a") as file:
            file.write(json.dumps(record) + "\n")
        return record
