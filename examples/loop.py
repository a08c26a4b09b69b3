"""The training loop every example shares: epochs of mini-batches, progress, checkpoints, resume.

A script describes its problem as a *task* (any object with these members):

    model                    the nn.Module being trained
    num_batches()            batches per epoch
    batches(epoch)           that epoch's batches, each a tuple passed to ``loss``; the same
                             ``epoch`` must give the same batches in the same order on every run
    loss(batch)              the scalar loss Tensor of one batch (the model in training mode)
    evaluate()               a dict of float metrics, e.g. {"loss": .., "accuracy": ..}

and optionally ``describe(entry)`` (an epoch's history entry in words, naming each number),
``header()`` (a line printed once before training) and ``baseline`` (a dict of constants of
the data, written once to metrics.json). ``ShuffledBatches`` provides the first three members
for a task whose data are two arrays. ``fit`` does the rest. Resuming is exact because
everything a step depends on is either in the checkpoint (see checkpoints.py) or recomputed
from the seed (the data order of each epoch). Ctrl-C only raises a flag that the loop checks
between steps, so the checkpoint it saves is never taken half way through an update.
"""

import itertools
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field

import checkpoints
import cli
import learning_rates
import optimizers
import plots
from checkpoints import CHECKPOINT, METRICS
from cli import EXIT_INTERRUPTED, ExampleError

import minigrad
from minigrad import data, nn

#: Without a terminal for the progress bar (output piped to a file or another program), a
#: plain progress line is printed when this many seconds have passed since the last line.
PROGRESS_SECONDS = 5.0
#: A batch loss this many times the first epoch's (or first step's) means the run diverged: a
#: loss that grows by four orders of magnitude will not come back to anything useful.
DIVERGED_FACTOR = 1e4


class ShuffledBatches:
    """Batches of two arrays (inputs, targets), in an order fixed by (seed, epoch).

    The order depends only on the seed and the epoch's number: that is what makes --resume
    exact. Subclasses set ``inputs``, ``targets``, ``batch_size`` and ``seed``.
    """

    def num_batches(self):
        """Batches per epoch (the last one may be smaller)."""
        return -(-len(self.inputs) // self.batch_size)

    def batches(self, epoch):
        """The (inputs, targets) batches of ``epoch``, shuffled by (seed, epoch)."""
        return data.DataLoader(self.inputs, self.targets, batch_size=self.batch_size,
                               shuffle=True, seed=[self.seed, epoch])


@dataclass
class Settings:
    """How to train: the loop's own options, and the config recorded with the results."""

    epochs: int
    out: str | None = None
    resume: bool = False
    force: bool = False  # replace an earlier run's checkpoint in ``out``
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
    """Progress through one epoch: a tqdm bar when stderr is a terminal, else a plain line on
    stdout every ``PROGRESS_SECONDS``; nothing when disabled."""

    def __init__(self, total, desc, enabled):
        self.total, self.desc, self.bar, self.lines = total, desc, None, False
        if not enabled:
            return
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional: the epoch lines still show progress
                return
            self.bar = tqdm(total=total, desc=desc, leave=False)
        else:
            self.lines, self.started = True, time.perf_counter()
            self.last = self.started

    def update(self, done, running_loss):
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{running_loss:.4f}", refresh=False)
            self.bar.update(done - self.bar.n)  # redraws at most every 0.1 s (tqdm's default)
        elif self.lines and time.perf_counter() - self.last >= PROGRESS_SECONDS:
            self.last = time.perf_counter()
            print(f"  {self.desc}: step {done}/{self.total} ({done / self.total:.0%}), mean "
                  f"batch loss so far {running_loss:.4f}, {self.last - self.started:.0f} s",
                  flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _describe(task, entry):
    """An epoch's history entry in words, by the task if it knows how."""
    if hasattr(task, "describe"):
        return task.describe(entry)
    metrics = "  ".join(f"{key} {value:.4f}" for key, value in entry.items()
                        if key not in ("epoch", "train_loss", "seconds"))
    return f"mean batch loss {entry['train_loss']:.4f} | evaluation: {metrics}"


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


def _diverged(where, value, optimizer, saved):
    """The one-line error for a loss that is no longer finite, or grew out of all proportion."""
    lr = optimizer.param_groups[0]["lr"] if hasattr(optimizer, "param_groups") else None
    rate = f" at lr {lr:g}" if lr is not None else ""
    kept = f"; {saved} still holds the last good epoch" if saved else "; nothing was saved"
    return ExampleError(f"training diverged{rate}: {where} is {value:.4g}; try a smaller "
                        f"--lr{kept}")


def fit(task, optimizer, settings, scheduler=None, on_step=None):
    """Train ``task.model`` with ``optimizer`` for ``settings.epochs`` epochs; return a Result.

    ``scheduler`` (an ``optim.lr_scheduler`` object, optional) is stepped after every epoch.

    With ``settings.out`` a checkpoint and metrics.json are written there after every epoch, and
    on Ctrl-C (then ExampleError is raised with the Ctrl-C exit status). With ``settings.resume``
    training continues from that checkpoint. ``on_step(loss)`` is called after every step. A
    loss or metric that stops being finite ends the run with an ExampleError, saving nothing.
    """
    model, config = task.model, settings.config
    show = not settings.quiet
    checkpoints.check_out(settings.out, settings.resume, settings.force)
    checkpoint = metrics_path = None
    if settings.out is not None:
        checkpoint = os.path.join(settings.out, CHECKPOINT)
        metrics_path = os.path.join(settings.out, METRICS)
    position, history = (0, 0, 0.0), []
    if settings.resume:
        position, history = checkpoints.load(checkpoint, model, optimizer, scheduler, config)
        if show:
            print(f"resuming from {checkpoint}: epoch {position[0]}, step {position[1]}")
    baseline = getattr(task, "baseline", None)

    def write_metrics(final):
        metrics = {"config": config, "final": final, "history": history}
        if baseline:
            metrics["baseline"] = baseline
        checkpoints.write_json(metrics_path, metrics)

    if show and hasattr(task, "header"):
        print(task.header(), flush=True)
    steps = task.num_batches()
    train_step = _train_step(task, optimizer, settings)
    started = time.perf_counter()
    saved = checkpoint if settings.resume else None
    # The scale a loss is judged by: epoch 1's mean if known (after --resume), else step 1's.
    reference = history[0]["train_loss"] if history else None

    with _StopOnCtrlC() as ctrl_c:
        for epoch in range(position[0], settings.epochs):
            skip, loss_sum = (position[1], position[2]) if epoch == position[0] else (0, 0.0)
            epoch_start = time.perf_counter()
            model.train()
            bar = _Progress(steps, f"epoch {epoch + 1}/{settings.epochs}", show)
            done = skip
            for batch in itertools.islice(task.batches(epoch), skip, None):
                value = train_step(*batch).item()
                reference = value if reference is None else reference
                if not math.isfinite(value) or abs(value) > DIVERGED_FACTOR * abs(reference):
                    bar.close()
                    raise _diverged(f"the loss at epoch {epoch + 1}, step {done + 1}", value,
                                    optimizer, saved)
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
            for key, value in metrics.items():
                if not math.isfinite(value):
                    raise _diverged(f"the evaluation's {key} after epoch {epoch + 1}", value,
                                    optimizer, saved)
            history.append({"epoch": epoch + 1, "train_loss": loss_sum / steps, **metrics,
                            "seconds": round(time.perf_counter() - epoch_start, 3)})
            if show:
                print(f"epoch {epoch + 1}/{settings.epochs}  {_describe(task, history[-1])}",
                      flush=True)
            if checkpoint is not None:
                checkpoints.save(checkpoint, model, optimizer, scheduler, config,
                                 (epoch + 1, 0, 0.0), history)
                write_metrics(metrics)
                saved = checkpoint
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
        write_metrics(final)
    return Result(history, final, time.perf_counter() - started)


def _interrupted(checkpoint, model, optimizer, scheduler, config, position, history,
                 saved=None):
    """Save where we are (if there is an --out folder) and stop with the Ctrl-C exit status."""
    if checkpoint is not None:
        checkpoints.save(checkpoint, model, optimizer, scheduler, config, position, history)
        saved = checkpoint
    if saved is None:
        raise ExampleError("interrupted (no checkpoint: pass --out DIR to keep one)",
                           EXIT_INTERRUPTED)
    raise ExampleError(f"interrupted; checkpoint saved to {saved}: add --resume to continue",
                       EXIT_INTERRUPTED)


def complete_args(args, task_name, defaults, names):
    """Fill in what the command line left to the task, and check ``--out`` before any work.

    ``names`` get their values from ``defaults`` (see ``cli.fill_defaults``); ``args.lr`` and
    ``args.lr_reason`` come from learning_rates.py for ``task_name``; a bad ``--out``,
    ``--resume`` or ``--force`` is refused in one line before a model is built.
    """
    cli.fill_defaults(args, defaults, names)
    args.lr, args.lr_reason = learning_rates.choose(task_name, args.optimizer, args.lr)
    cli.check_out_flags(args)
    checkpoints.check_out(args.out, args.resume, args.force)
    return args


def train(task, args, scheduler=None, grad_clip=None):
    """What every training script's ``main`` does with its task and parsed ``args``: build the
    optimizer, say which learning rate it uses and why, ``fit``, and plot the curves.

    ``scheduler``, when given, is a function of the optimizer returning the scheduler.
    """
    optimizer = optimizers.build(args.optimizer, task.model.parameters(), args.lr, args.backend)
    if not args.quiet:
        print(f"{args.optimizer} at lr {args.lr:g}, {args.lr_reason}. ({args.backend} backend)",
              flush=True)
    settings = Settings(epochs=args.epochs, out=args.out, resume=args.resume, force=args.force,
                        compile=args.compile,
                        quiet=args.quiet, grad_clip=grad_clip, config=vars(args))
    result = fit(task, optimizer, settings, scheduler and scheduler(optimizer))
    if args.out is not None:
        plots.training_curves(result.history, os.path.join(args.out, plots.CURVES),
                              title=getattr(task, "title", None),
                              labels=getattr(task, "labels", None))
    return result
