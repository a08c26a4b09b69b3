"""The study's training problems, built from the project's own examples.

Each task is a recipe: ``spec.build(seed)`` returns a fresh problem in the protocol of
``loop.py`` (``model``, ``batches(epoch)``, ``loss(batch)``, ``evaluate()``), with the model
initialised from ``seed`` and the batches in a ``seed``-fixed order. The problems are those of
``train_mlp.py`` (spirals), ``train_rnn.py`` (the adding problem and the character language
model, each with an Elman RNN, an LSTM and a GRU) and MNIST-1D, made small enough that thousands
of runs fit in a few minutes, plus two problems built for particular claims:

overfit     60 spiral points, 30% of them with a wrong label, and an MLP big enough to memorise
            the wrong labels, after which its held-out loss rises (the regularisation claims).
exploding   the adding problem with an IRNN (Le, Jaitly & Hinton, 2015: a ReLU RNN whose
            recurrent weights start as the identity), the identity scaled by 1.2 so that
            gradients grow like 1.2^T and explode (median norms of 10-40, peaks in the
            thousands); trained without clipping (the Lion claim), and as ``exploding-clip``
            with clipping.
"""

import copy
import functools
from dataclasses import dataclass, field

import numpy as np
import train_mlp
import train_rnn

import minigrad
from minigrad import nn

#: The tasks' sizes for a default study and for ``--quick`` (same code, smaller numbers).
SIZES = {
    "default": {"mlp_steps": 600, "rnn_steps": 500, "lm_steps": 300, "overfit_steps": 1200,
                "spiral_points": train_mlp.SPIRAL_POINTS, "overfit_curve": 12,
                "adding_len": 20, "rnn_hidden": 24, "lm_hidden": 32, "lm_len": 16,
                "lm_batch": 16, "adding_train": 4000},
    "quick": {"mlp_steps": 100, "rnn_steps": 50, "lm_steps": 40, "overfit_steps": 150,
              "spiral_points": 150, "overfit_curve": 5,
              "adding_len": 10, "rnn_hidden": 16, "lm_hidden": 16, "lm_len": 12,
              "lm_batch": 8, "adding_train": 500},
}
CELLS = ("rnn", "lstm", "gru")
OVERFIT_POINTS, OVERFIT_LABEL_NOISE = 60, 0.3
EXPLODING_SCALE = 1.2  # the IRNN's recurrent weights start as this times the identity
ADDING_TEST = 500


@dataclass(frozen=True)
class TaskSpec:
    """How to build and train one task.

    ``family`` is 'feed-forward' or 'recurrent'; ``grad_clip`` the joint gradient norm to clip
    to (None: no clipping); ``curve_points`` how many times the held-out loss is measured along
    training (0: only at the end); ``train_loss`` whether the final loss on the whole training
    set is measured too.
    """

    name: str
    family: str
    steps: int
    build: object = field(repr=False, compare=False)
    grad_clip: float | None = None
    curve_points: int = 0
    train_loss: bool = False
    description: str = ""


def trivial_loss(task):
    """The held-out loss of the best constant prediction: the level that means "learned nothing".

    Class frequencies for a classifier (their entropy), the mean target for the adding problem
    (the targets' variance), the character frequencies for the language model (the unigram
    entropy, in nats).
    """
    if hasattr(task, "unigram_bpc"):
        return float(task.unigram_bpc * np.log(2))
    if hasattr(task, "test_targets"):
        return float(np.var(task.test_targets))
    counts = np.bincount(task.eval_y)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def held_out_loss(metrics):
    """The held-out loss from a task's ``evaluate()`` dict (cross-entropy or MSE)."""
    return metrics["loss"] if "loss" in metrics else metrics["mse"]


@functools.cache
def mnist1d_arrays():
    """MNIST-1D (Greydanus, 2020) from the ``mnist1d`` package, or None when it is absent.

    Returns ((X, y), (X_test, y_test)): 4000 training and 1000 test signals of length 40,
    float32, with int64 labels. The package generates them (no download) from a fixed seed.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        return None
    state = np.random.get_state()  # make_dataset seeds NumPy's global generator
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    return ((data["x"].astype(np.float32), data["y"].astype(np.int64)),
            (data["x_test"].astype(np.float32), data["y_test"].astype(np.int64)))


@functools.cache
def corpus():
    """The character corpus of ``train_rnn.py``: the Zen of Python and stdlib docstrings."""
    return train_rnn.default_corpus()


def _classification(sizes, train, test, seed, batch_size):
    """An MLP classifier (ReLU between layers) on ``train``, scored on ``test``."""
    minigrad.manual_seed(seed)
    model = train_mlp.make_mlp(sizes)
    return train_mlp.Classification(model, train, test, batch_size, seed)


def spirals(seed, sizes):
    """train_mlp.py's spirals (1500 points, as many held out, in a default study), MLP 2-64-64-3."""
    train, test = train_mlp.spirals(seed, sizes["spiral_points"])
    return _classification((2, 64, 64, 3), train, test, seed, 32)


def mnist1d(seed):
    """MNIST-1D with an MLP 40-128-128-10."""
    train, test = mnist1d_arrays()
    return _classification((40, 128, 128, 10), train, test, seed, 64)


def overfit(seed, sizes):
    """60 noisy spiral points (30% relabelled at random), a 2-128-128-3 MLP, clean test set."""
    (X, y), test = train_mlp.spirals(seed, sizes["spiral_points"])
    rng = np.random.default_rng([seed, 2])
    pick = rng.choice(len(X), OVERFIT_POINTS, replace=False)
    X, y = X[pick], y[pick].copy()
    flip = rng.random(OVERFIT_POINTS) < OVERFIT_LABEL_NOISE
    y[flip] = (y[flip] + rng.integers(1, 3, int(flip.sum()))) % 3  # a wrong class, uniformly
    return _classification((2, 128, 128, 3), (X, y), test, seed, 20)


def adding(seed, cell, sizes):
    """The adding problem (train_rnn.py) with ``cell``, 500 test sequences."""
    task = train_rnn.Adding(cell, sizes["rnn_hidden"], sizes["adding_len"], 32, seed,
                            train_size=sizes["adding_train"])
    task.test_inputs, task.test_targets = (a[:ADDING_TEST] for a in
                                           (task.test_inputs, task.test_targets))
    return task


def exploding(seed, sizes):
    """The adding problem with an IRNN whose recurrent weights start at EXPLODING_SCALE * I."""
    task = adding(seed, "rnn", sizes)
    hidden = sizes["rnn_hidden"]
    minigrad.manual_seed(seed)
    rnn = nn.RNN(2, hidden, nonlinearity="relu", batch_first=True)
    rnn.weight_hh_l0.data[...] = EXPLODING_SCALE * np.eye(hidden, dtype=np.float32)
    rnn.bias_ih_l0.data[...] = 0.0
    rnn.bias_hh_l0.data[...] = 0.0
    task.model.rnn = rnn
    return task


@functools.cache
def _char_lm_data(cell, hidden, seq_len, batch_size):
    """A LanguageModel whose text is encoded and cut into windows once (the slow part)."""
    task = train_rnn.LanguageModel(corpus(), cell, hidden, seq_len, batch_size, 0)
    task.val_inputs, task.val_targets = task.val_inputs[:200], task.val_targets[:200]
    return task


def char_lm(seed, cell, sizes):
    """train_rnn.py's character language model, validated on 200 fixed windows."""
    hidden = sizes["lm_hidden"]
    task = copy.copy(_char_lm_data(cell, hidden, sizes["lm_len"], sizes["lm_batch"]))
    task.seed = seed  # the batch order; then a model of its own, as LanguageModel makes it
    minigrad.manual_seed(seed)
    task.model = train_rnn.CharModel(len(task.chars), cell, hidden)
    return task


def make_tasks(size="default", include_mnist1d=True):
    """The study's tasks, by name, at ``size`` ('default' or 'quick').

    MNIST-1D is left out when the ``mnist1d`` package is not installed (or when asked).
    """
    s = SIZES[size]
    clip = train_rnn.GRAD_CLIP
    tasks = [
        TaskSpec("spirals", "feed-forward", s["mlp_steps"], functools.partial(spirals, sizes=s),
                 description="train_mlp.py's spirals: MLP 2-64-64-3, batches of 32"),
    ]
    if include_mnist1d and mnist1d_arrays() is not None:
        tasks.append(TaskSpec("mnist1d", "feed-forward", s["mlp_steps"], mnist1d,
                              description="MNIST-1D: MLP 40-128-128-10, batches of 64"))
    for cell in CELLS:
        tasks.append(TaskSpec(
            f"adding-{cell}", "recurrent", s["rnn_steps"],
            functools.partial(adding, cell=cell, sizes=s), grad_clip=clip,
            description=f"adding problem, T={s['adding_len']}: {cell.upper()} "
                        f"{s['rnn_hidden']}, batches of 32, clipping at {clip:g}"))
    for cell in CELLS:
        tasks.append(TaskSpec(
            f"charlm-{cell}", "recurrent", s["lm_steps"],
            functools.partial(char_lm, cell=cell, sizes=s), grad_clip=clip,
            description=f"character LM on stdlib docstrings: {cell.upper()} {s['lm_hidden']}, "
                        f"windows of {s['lm_len']}, batches of {s['lm_batch']}, clipping "
                        f"at {clip:g}"))
    tasks.append(TaskSpec(
        "overfit", "feed-forward", s["overfit_steps"], functools.partial(overfit, sizes=s),
        curve_points=s["overfit_curve"],
        train_loss=True,
        description=f"{OVERFIT_POINTS} spiral points, {OVERFIT_LABEL_NOISE:.0%} mislabelled: "
                    "MLP 2-128-128-3, batches of 20"))
    irnn = functools.partial(exploding, sizes=s)
    tasks.append(TaskSpec(
        "exploding", "recurrent", s["rnn_steps"], irnn,
        description=f"adding problem, T={s['adding_len']}: IRNN {s['rnn_hidden']} (ReLU, "
                    f"recurrent weights {EXPLODING_SCALE:g} I at init), no clipping"))
    tasks.append(TaskSpec(
        "exploding-clip", "recurrent", s["rnn_steps"], irnn, grad_clip=clip,
        description=f"the same, clipping at {clip:g}"))
    return {task.name: task for task in tasks}
