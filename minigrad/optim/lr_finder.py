"""The learning-rate range test (Smith, 2017; fastai's ``lr_find``): sweep the rate, watch the loss.

>>> result = optim.lr_find(model, optimizer, lambda batch: loss_of(model, batch), loader)
>>> optimizer.param_groups[0]["lr"] = result.suggested_lr
>>> result.plot()                      # when matplotlib is installed

The test trains for ``num_steps`` steps while the learning rate grows exponentially from
``start_lr`` to ``end_lr``, recording the loss of every step. At tiny rates nothing happens,
then the loss falls, then the rate is too large and the loss climbs and diverges. Afterwards the
parameters, their gradients, the optimizer (state, hyper-parameters, Lookahead's slow weights)
and minigrad's random generator are put back exactly as they were, so training continues as if
the test had never run.

How the suggestion is made, and why. Finders are blamed for suggestions that jump from run to
run; the choices below are aimed at that, and the optimizer study (examples/optimizer_study.py,
docs/optimizer_study.md) measures how far the suggestion lands from the best rate of a grid
search, per optimizer and task:

1. The curve is smoothed without lag. fastai smooths with an exponential moving average
   (beta=0.98: a memory of ~50 steps of a 100-step sweep, about four decades of learning rate), so
   its curve lags the losses it summarises and its minimum sits at a rate the loss only reached
   later. Here the log-losses are smoothed by a centred Gaussian window in step index, which
   moves nothing; a moving average is kept only to decide, online, when to stop.
2. The landmark is the valley floor, not its lowest point. The bottom of the smoothed curve is
   flat, so where exactly its minimum lies is decided by noise. The floor is the run of rates
   around the minimum where the smoothed loss is within ``floor`` (10%) of the whole descent
   (first loss minus lowest loss) of its lowest value; its geometric centre moves less than the
   minimum when noise tilts the floor.
3. The suggestion is that centre divided by ``factor`` (2): the right half of the floor is where
   the loss is about to run away, stable only for a short sweep's few steps.

Measured on the study's tasks (docs/optimizer_study.md), the suggestion lands within 3x of the
grid's best rate for about 60% of the (task, optimizer) pairs and inside the range of good rates
for about two thirds; other landmarks (the minimum, the steepest descent, the minimum / 10) did
no better. What a 100-step sweep cannot see is how long training will be: the best rate of a
long run is lower (to settle into a noise floor) or higher (to leave a plateau) depending on the
task. Treat the suggestion as the centre of a small search, not as the answer.

``repeats`` > 1 runs the sweep several times (on successive batches, from the same start) and
averages the log-losses step by step before smoothing, which makes the suggestion steadier.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from minigrad import random
from minigrad.tensor import Tensor


@dataclass
class LRFinderResult:
    """The range test's curve and its reading.

    ``lrs`` is the learning rate of every step, ``losses`` the raw loss (the mean over repeats,
    taken in log space), ``smoothed`` the smoothed curve the suggestion is read from.
    ``min_lr`` is where the smoothed loss is lowest, ``floor`` the (low, high) rates of the
    valley floor around it, and ``suggested_lr`` the floor's geometric centre divided by the
    factor. ``diverged`` says whether the sweep stopped early because the loss ran away.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    min_lr: float
    floor: tuple
    suggested_lr: float
    diverged: bool

    def plot(self, ax=None, path=None):
        """Draw loss against learning rate (log x); return the Axes, or None without matplotlib.

        ``ax``: the matplotlib Axes to draw on (a new figure when None); ``path``: also save the
        figure there. matplotlib is optional: without it nothing is drawn and None is returned.
        """
        try:
            import matplotlib
        except ImportError:
            return None
        if ax is None:
            if path is not None:
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.losses, color="0.75", linewidth=0.8, label="loss per step")
        ax.plot(self.lrs, self.smoothed, color="C0", linewidth=1.6, label="smoothed")
        ax.axvline(self.suggested_lr, color="C3", linestyle="--",
                   label=f"suggested {self.suggested_lr:.2g}")
        ax.axvspan(*self.floor, color="C0", alpha=0.1, label="valley floor")
        ax.set_xscale("log")
        finite = self.losses[np.isfinite(self.losses)]
        if finite.size:
            top = min(float(finite.max()), 4 * float(np.min(self.smoothed)))
            ax.set_ylim(top=max(top, float(self.smoothed[0]) * 1.05))
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8)
        if path is not None:
            ax.figure.savefig(path, dpi=110, bbox_inches="tight")
        return ax


def lr_find(model, optimizer, loss_fn, batches, *, start_lr=1e-7, end_lr=10.0, num_steps=100,
            repeats=1, stop_factor=4.0, before_step=None, factor=2.0, floor=0.1):
    """Run the learning-rate range test; return an ``LRFinderResult``, leaving everything as it was.

    ``model``: an ``nn.Module`` or an iterable of Tensors (whose values are restored at the end,
    as are those of every parameter of ``optimizer``). ``optimizer``: any minigrad optimizer,
    Lookahead included; every parameter group gets the swept rate. ``loss_fn(batch)`` returns
    the scalar loss Tensor of one batch; ``batches`` is an iterable of batches, started again
    whenever it runs out. ``before_step()``, if given, is called between backward and step (to
    clip gradients, say). Each step multiplies the rate by (end_lr/start_lr)**(1/(num_steps-1));
    a sweep stops early when the loss is not finite or its moving average exceeds
    ``stop_factor`` times its lowest value. ``factor`` and ``floor`` set the suggestion (see the
    module docstring).
    """
    _check_arguments(start_lr, end_lr, num_steps, repeats, stop_factor, factor, floor)
    params = _parameters(model, optimizer)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / max(num_steps - 1, 1))
    saved = _snapshot(params, optimizer)
    runs = []
    source = _cycle(batches)
    try:
        for repeat in range(repeats):
            if repeat:
                _restore(params, optimizer, saved)
            runs.append(_sweep(optimizer, loss_fn, source, lrs, stop_factor, before_step))
    finally:
        _restore(params, optimizer, saved)
    length = min(len(run) for run in runs)
    if length == 0:
        raise ValueError("lr_find: the loss was not finite at the very first step "
                         f"(lr={start_lr:g}); check the model and the loss")
    log_losses = np.mean([np.log(run[:length]) for run in runs], axis=0)
    return read_curve(lrs[:length], np.exp(log_losses), diverged=length < num_steps,
                      factor=factor, floor=floor)


def read_curve(lrs, losses, *, diverged=False, factor=2.0, floor=0.1):
    """Smooth a range-test curve and read its suggestion (see the module docstring)."""
    lrs, losses = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    log_smoothed = smooth_log(losses)
    lowest = int(np.argmin(log_smoothed))
    level = log_smoothed[lowest] + floor * (log_smoothed[0] - log_smoothed[lowest])
    low = high = lowest
    while low > 0 and log_smoothed[low - 1] <= level:
        low -= 1
    while high < len(lrs) - 1 and log_smoothed[high + 1] <= level:
        high += 1
    centre = math.sqrt(lrs[low] * lrs[high])
    return LRFinderResult(lrs=lrs, losses=losses, smoothed=np.exp(log_smoothed),
                          min_lr=float(lrs[lowest]), floor=(float(lrs[low]), float(lrs[high])),
                          suggested_lr=centre / factor, diverged=diverged)


def smooth_log(losses, width=None):
    """Gaussian-smoothed log-losses, centred (no lag); ``width`` is sigma in steps.

    The default sigma is 1/40 of the curve's length (at least one step). Near the ends the
    window is cut and renormalised, so the first and last points are not pulled toward zero.
    """
    log = np.log(np.asarray(losses, dtype=np.float64))
    sigma = max(len(log) / 40, 1.0) if width is None else float(width)
    offsets = np.arange(-math.ceil(3 * sigma), math.ceil(3 * sigma) + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    total = np.convolve(log, kernel, mode="same")
    weight = np.convolve(np.ones_like(log), kernel, mode="same")
    return total / weight


def _sweep(optimizer, loss_fn, batches, lrs, stop_factor, before_step):
    """One exponential sweep; return the finite losses recorded before it stopped."""
    losses, average, best = [], 0.0, math.inf
    for step, lr in enumerate(lrs, start=1):
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        optimizer.zero_grad()
        loss = loss_fn(next(batches))
        loss.backward()
        if before_step is not None:
            before_step()
        optimizer.step()
        value = float(loss.item())
        if not math.isfinite(value):
            break
        losses.append(value)
        # A moving average (bias-corrected) only to decide when the loss has run away.
        average = 0.9 * average + 0.1 * value
        smoothed = average / (1 - 0.9**step)
        best = min(best, smoothed)
        if smoothed > stop_factor * best:
            break
    return np.array(losses, dtype=np.float64)


def _cycle(batches):
    """Yield from ``batches`` forever, iterating it again whenever it is exhausted."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("lr_find: batches is empty")


def _parameters(model, optimizer):
    """The Tensors to restore: the model's and the optimizer's, each once, in order."""
    if not hasattr(optimizer, "param_groups") or not hasattr(optimizer, "state_dict"):
        raise TypeError(f"lr_find: expected a minigrad optimizer, got {type(optimizer).__name__}")
    found = model.parameters() if hasattr(model, "parameters") else model
    if isinstance(found, Tensor) or not hasattr(found, "__iter__"):
        raise TypeError(f"lr_find: model must be an nn.Module or an iterable of Tensors, got "
                        f"{type(model).__name__}")
    params, seen = [], set()
    for p in [*found, *(p for group in optimizer.param_groups for p in group["params"])]:
        if not isinstance(p, Tensor):
            raise TypeError(f"lr_find: expected Tensors, got {type(p).__name__}")
        if id(p) not in seen:
            seen.add(id(p))
            params.append(p)
    return params


def _snapshot(params, optimizer):
    """Copies of everything the sweep changes."""
    return {"data": [p.data.copy() for p in params],
            "grad": [None if p.grad is None else p.grad.copy() for p in params],
            "optimizer": optimizer.state_dict(),
            "rng": random.get_state()}


def _restore(params, optimizer, saved):
    """Put back what ``_snapshot`` copied: values in place, the optimizer from its state dict."""
    optimizer.load_state_dict(saved["optimizer"])
    for p, data, grad in zip(params, saved["data"], saved["grad"], strict=True):
        p.data[...] = data  # in place: the optimizer and any tied view keep this very array
        p.grad = None if grad is None else grad.copy()
    random.set_state(saved["rng"])


def _check_arguments(start_lr, end_lr, num_steps, repeats, stop_factor, factor, floor):
    """Raise TypeError for a non-number, ValueError for a value out of range."""
    for name, value, kind, minimum in (
            ("start_lr", start_lr, numbers.Real, 0), ("end_lr", end_lr, numbers.Real, 0),
            ("factor", factor, numbers.Real, 0), ("stop_factor", stop_factor, numbers.Real, 1),
            ("floor", floor, numbers.Real, 0), ("num_steps", num_steps, numbers.Integral, 1),
            ("repeats", repeats, numbers.Integral, 0)):
        if isinstance(value, bool) or not isinstance(value, kind):
            expected = "an int" if kind is numbers.Integral else "a real number"
            raise TypeError(f"lr_find: {name} must be {expected}, got {type(value).__name__}")
        if not value > minimum:  # NaN fails too
            raise ValueError(f"lr_find: invalid {name}: {value} (expected {name} > {minimum})")
    if not end_lr > start_lr:
        raise ValueError(f"lr_find: end_lr ({end_lr}) must be larger than start_lr ({start_lr})")
