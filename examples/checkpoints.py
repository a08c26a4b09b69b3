"""A run's folder (``--out DIR``): the checkpoint and metrics.json, written safely and read back.

The checkpoint holds everything a step depends on that the seed does not recompute: parameters,
optimizer and scheduler state, minigrad's random generator, and the position inside the epoch.
It is written atomically (``minigrad.save``), so a crash or a Ctrl-C never leaves half a file,
and a run started without ``--resume`` refuses to replace an earlier run's checkpoint unless
told to with ``--force``.
"""

import json
import os

from cli import EXIT_USAGE, ExampleError, check_out_folder

import minigrad
from minigrad import random

CHECKPOINT = "checkpoint.npz"
METRICS = "metrics.json"
FORMAT = "minigrad-examples-checkpoint-1"
#: Settings that may differ between a run and its resumption; any other change is refused,
#: because the resumed run would no longer be the continuation of the first one.
RESUMABLE_CHANGES = {"epochs", "out", "resume", "force", "quiet", "lr_reason", "compile"}
_KEYS = {"format", "config", "epoch", "batch", "loss_sum", "model", "optimizer", "scheduler",
         "rng", "history"}


def check_out(out, resume, force):
    """Refuse, before anything is trained or created, an ``--out`` that cannot be used.

    ``--resume`` needs a checkpoint there; a fresh run must not silently replace one (that
    would throw away an earlier, perhaps much longer, run): it needs ``--force``.
    """
    if out is None:
        return
    check_out_folder(out)
    path = os.path.join(out, CHECKPOINT)
    if resume and not os.path.lexists(path):
        raise ExampleError(f"--resume: no checkpoint at {path}")
    if not resume and not force and os.path.lexists(path):
        raise ExampleError(f"{out} already holds a run ({_progress(path)}): add --resume to "
                           "continue it, or --force to replace it", EXIT_USAGE)


def _progress(path):
    """How far the run saved in ``path`` got, in a few words, for the refusal message."""
    try:
        state = minigrad.load(path)
        return f"{state['epoch']} of {state['config']['epochs']} epochs done"
    except Exception:  # unreadable is still a file we must not destroy
        return f"{CHECKPOINT}, unreadable"


def load(path, model, optimizer, scheduler, config):
    """Restore model, optimizer, scheduler and generator from ``path``; return (position,
    history). Any failure, whatever its cause, is one ExampleError line."""
    try:
        state = minigrad.load(path)
    except FileNotFoundError:
        raise ExampleError(f"--resume: no checkpoint at {path}") from None
    except Exception as error:  # a bad file is the user's problem, not a bug
        raise ExampleError(f"--resume: cannot read {path}: {_one_line(error)}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ExampleError(f"--resume: {path} is not a checkpoint written by these examples")
    missing = _KEYS - set(state)
    if missing:
        raise ExampleError(f"--resume: {path} lacks {', '.join(sorted(missing))}")
    saved = state["config"]
    if not isinstance(saved, dict):
        raise ExampleError(f"--resume: {path} has no readable config")
    changed = sorted(key for key in set(config) | set(saved)
                     if key not in RESUMABLE_CHANGES and config.get(key) != saved.get(key))
    if changed:
        details = ", ".join(f"{key}={saved.get(key)!r} (now {config.get(key)!r})"
                            for key in changed)
        raise ExampleError(f"--resume: the checkpoint was made with {details}; use the same "
                           "settings (only --epochs may change)")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        random.set_state(state["rng"])
        position = (int(state["epoch"]), int(state["batch"]), float(state["loss_sum"]))
        history = list(state["history"])
    except Exception as error:  # as above: any broken content is one line
        raise ExampleError(f"--resume: {path} does not fit this model: {_one_line(error)}") \
            from None
    return position, history


def _one_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def save(path, model, optimizer, scheduler, config, position, history):
    """Write the checkpoint atomically; ``position`` is (epochs done, steps done in the next
    epoch, their summed loss)."""
    epoch, batch, loss_sum = position
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)  # --out is made at the first save
    minigrad.save({
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "format": FORMAT,
        "config": config,
        "epoch": epoch,  # epochs completed
        "batch": batch,  # steps completed in the epoch after those (non-zero after a Ctrl-C)
        "loss_sum": loss_sum,  # their summed loss, so the epoch's mean comes out the same
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": random.get_state(),  # dropout and anything else drawing from minigrad's generator
        "history": history,
    }, path)


def write_json(path, obj):
    """Write JSON atomically, so a reader (or a Ctrl-C) never sees half a file."""
    temp = f"{path}.tmp"
    with open(temp, "w") as file:
        json.dump(obj, file, indent=2)
        file.write("\n")
    os.replace(temp, path)
