"""The training loop every example shares: epochs of mini-batches, progress, checkpoints, resume.

A script describes its problem as a *task* (any object with these members):

    model                    the nn.Module being trained
    num_batches()            batches per epoch
    batches(epoch)           that epoch's batches, each a tuple passed to ``loss``; the same
                             ``epoch`` must give the same batches in the same order on every run
    loss(batch)              the scalar loss Tensor of one batch (the model in training mode)
    evaluate()               a dict of float metrics, e.g. {"loss": .., "accuracy": ..}

and ``fit`` does the rest. Resuming is exact because everything a step depends on is either in
the checkpoint (parameters, optimizer state, minigrad's random generator, the position inside
the epoch) or recomputed from the seed (the data order of each epoch). Ctrl-C only raises a flag
that the loop checks between steps, so the checkpoint it saves is never taken half way through
an update.
"""

import itertools
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field

from cli import EXIT_INTERRUPTED, ExampleError

import minigrad
from minigrad import nn, random

CHECKPOINT = "checkpoint.npz"
METRICS = "metrics.json"
CHECKPOINT_FORMAT = "minigrad-examples-checkpoint-1"
#: Settings that may differ between a run and its resumption; any other change is refused,
#: because the resumed run would no longer be the continuation of the first one.
RESUMABLE_CHANGES = {"epochs", "out", "resume", "quiet", "compile"}


@dataclass
class Settings:
    """How to train: the loop's own options, and the config recorded with the results."""

    epochs: int
    out: str | None = None
    resume: bool = False
    quiet: bool = False
    grad_clip: float | None = None  # clip the gradients' joint norm to this before each step
    compile: bool = False  # run the training step through minigrad.compile
    config: dict = field(default_factory=dict)


@dataclass
class Result:
    """What ``fit`` returns: per-epoch history, final metrics and this run's training time."""

    history: list
    final: dict
    seconds: float


class _StopOnCtrlC:
    """While active, the first Ctrl-C only sets ``requested``; a second one interrupts at once."""

    requested = False

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


class _Progress:
    """A tqdm bar over one epoch's steps with the running loss; does nothing when disabled."""

    def __init__(self, total, desc, enabled):
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional: the epoch lines still show progress
                return
            self.bar = tqdm(total=total, desc=desc, leave=False)

    def update(self, done, running_loss):
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{running_loss:.4f}", refresh=False)
            self.bar.update(done - self.bar.n)  # redraws at most every 0.1 s (tqdm's default)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _write_json(path, obj):
    """Write JSON atomically, so a reader (or a Ctrl-C) never sees half a file."""
    temp = f"{path}.tmp"
    with open(temp, "w") as file:
        json.dump(obj, file, indent=2)
        file.write("\n")
    os.replace(temp, path)


def _load_checkpoint(path, model, optimizer, scheduler, config):
    """Restore model, optimizer and generator from ``path``; return (position, history)."""
    try:
        state = minigrad.load(path)
    except FileNotFoundError:
        raise ExampleError(f"--resume: no checkpoint at {path}") from None
    except (OSError, ValueError) as error:
        raise ExampleError(f"--resume: cannot read {path}: {_one_line(error)}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ExampleError(f"--resume: {path} is not a checkpoint written by these examples")
    missing = {"config", "epoch", "batch", "loss_sum", "model", "optimizer", "scheduler", "rng",
               "history"} - set(state)
    if missing:
        raise ExampleError(f"--resume: {path} lacks {', '.join(sorted(missing))}")
    changed = sorted(
        key for key in set(config) | set(state["config"])
        if key not in RESUMABLE_CHANGES and config.get(key) != state["config"].get(key)
    )
    if changed:
        details = ", ".join(
            f"{key}={state['config'].get(key)!r} (now {config.get(key)!r})" for key in changed
        )
        raise ExampleError(f"--resume: the checkpoint was made with {details}; use the same "
                           "settings (only --epochs may change)")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
    except (ValueError, TypeError, KeyError) as error:
        raise ExampleError(f"--resume: {path} does not fit this model: {_one_line(error)}") \
            from None
    random.set_state(state["rng"])
    return (state["epoch"], state["batch"], state["loss_sum"]), list(state["history"])


def _one_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _save_checkpoint(path, model, optimizer, scheduler, config, position, history):
    epoch, batch, loss_sum = position
    minigrad.save({
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "format": CHECKPOINT_FORMAT,
        "config": config,
        "epoch": epoch,  # epochs completed
        "batch": batch,  # steps completed in the epoch after those (non-zero after a Ctrl-C)
        "loss_sum": loss_sum,  # their summed loss, so the epoch's mean comes out the same
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": random.get_state(),  # dropout and anything else drawing from minigrad's generator
        "history": history,
    }, path)


def _describe(metrics):
    return "  ".join(f"{key} {value:.4f}" for key, value in metrics.items())


def fit(task, optimizer, settings, scheduler=None, on_step=None):
    """Train ``task.model`` with ``optimizer`` for ``settings.epochs`` epochs; return a Result.

    ``scheduler`` (an ``optim.lr_scheduler`` object, optional) is stepped after every epoch.

    With ``settings.out`` a checkpoint and metrics.json are written there after every epoch, and
    on Ctrl-C (then ExampleError is raised with the Ctrl-C exit status). With ``settings.resume``
    training continues from that checkpoint. ``on_step(loss)`` is called after every step.
    """
    model, config = task.model, settings.config
    show = not settings.quiet
    checkpoint = metrics_path = None
    if settings.out is not None:
        os.makedirs(settings.out, exist_ok=True)
        checkpoint = os.path.join(settings.out, CHECKPOINT)
        metrics_path = os.path.join(settings.out, METRICS)
    position, history = (0, 0, 0.0), []
    if settings.resume:
        position, history = _load_checkpoint(checkpoint, model, optimizer, scheduler, config)
        if show:
            print(f"resuming from {checkpoint}: epoch {position[0]}, step {position[1]}")
    steps = task.num_batches()
    bar_enabled = show and sys.stderr.isatty()
    train_step = _train_step(task, optimizer, settings)
    started = time.perf_counter()

    with _StopOnCtrlC() as ctrl_c:
        for epoch in range(position[0], settings.epochs):
            skip, loss_sum = (position[1], position[2]) if epoch == position[0] else (0, 0.0)
            epoch_start = time.perf_counter()
            model.train()
            bar = _Progress(steps, f"epoch {epoch + 1}/{settings.epochs}", bar_enabled)
            done = skip
            for batch in itertools.islice(task.batches(epoch), skip, None):
                value = train_step(*batch).item()
                loss_sum += value
                done += 1
                bar.update(done, loss_sum / done)
                if on_step is not None:
                    on_step(value)
                if ctrl_c.requested:
                    bar.close()
                    _interrupted(checkpoint, model, optimizer, scheduler, config,
                                 (epoch, done, loss_sum), history)
            bar.close()
            if scheduler is not None:
                scheduler.step()
            model.eval()
            with minigrad.no_grad():
                metrics = task.evaluate()
            history.append({"epoch": epoch + 1, "train_loss": loss_sum / steps, **metrics,
                            "seconds": round(time.perf_counter() - epoch_start, 3)})
            if show:
                print(f"epoch {epoch + 1}/{settings.epochs}  train_loss {loss_sum / steps:.4f}  "
                      f"{_describe(metrics)}", flush=True)
            if checkpoint is not None:
                _save_checkpoint(checkpoint, model, optimizer, scheduler, config,
                                 (epoch + 1, 0, 0.0), history)
                _write_json(metrics_path, {"config": config, "final": metrics,
                                           "history": history})
            if ctrl_c.requested:  # pressed during evaluation: the checkpoint is already saved
                _interrupted(None, model, optimizer, scheduler, config, None, history,
                             saved=checkpoint)

    if history and history[-1]["epoch"] == settings.epochs:
        final = {key: history[-1][key] for key in history[-1]
                 if key not in ("epoch", "train_loss", "seconds")}
    else:  # resumed a run that had already done all the epochs asked for
        model.eval()
        with minigrad.no_grad():
            final = task.evaluate()
    if metrics_path is not None:
        _write_json(metrics_path, {"config": config, "final": final, "history": history})
    return Result(history, final, time.perf_counter() - started)


def _train_step(task, optimizer, settings):
    """The step ``fit`` repeats, on one batch: gradients, clipping, update; returns the loss.

    With ``settings.compile`` it goes through ``minigrad.compile``: the first calls of each
    batch shape run as written, later ones replay them compiled, with the same numbers.
    """
    params = list(task.model.parameters())

    def train_step(*batch):
        optimizer.zero_grad()
        loss = task.loss(batch)
        loss.backward()
        if settings.grad_clip is not None:
            nn.utils.clip_grad_norm_(params, settings.grad_clip)
        optimizer.step()
        return loss

    return minigrad.compile(train_step) if settings.compile else train_step


def _interrupted(checkpoint, model, optimizer, scheduler, config, position, history,
                 saved=None):
    """Save where we are (if there is an --out folder) and stop with the Ctrl-C exit status."""
    if checkpoint is not None:
        _save_checkpoint(checkpoint, model, optimizer, scheduler, config, position, history)
        saved = checkpoint
    if saved is None:
        raise ExampleError("interrupted (no checkpoint: pass --out DIR to keep one)",
                           EXIT_INTERRUPTED)
    raise ExampleError(f"interrupted; checkpoint saved to {saved}: add --resume to continue",
                       EXIT_INTERRUPTED)
