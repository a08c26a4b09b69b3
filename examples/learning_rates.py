"""The default learning rate of every optimizer on every task of the examples, with the reason.

One table, used by every script: ``train_mlp.py`` (tasks 'spirals' and 'mnist'),
``train_rnn.py`` ('adding' and 'lm'), ``compare_optimizers.py`` (its 'mlp' is 'spirals', its
'rnn' is 'adding') and ``train_mnist1d.py`` ('mnist1d'). A script asks ``choose(task,
optimizer, lr)`` and prints the rate and the reason it returns, so a user always knows where a
rate came from. A learning rate belongs to an optimizer *and* a problem: the same Lion that
needs 1e-3 on the spirals is ten times slower than it should be at its paper's usual 1e-4.

How the rates were chosen is said per task below. Round numbers on purpose: these are
defaults that work, not the result of a tuning contest.
"""

from optimizers import OPTIMIZERS

#: task -> optimizer -> (learning rate, why). An optimizer missing from a task's table gets its
#: usual rate (``optimizers.OPTIMIZERS``), and the reason says that it was not chosen for the task.
LEARNING_RATES = {
    # Spirals (train_mlp.py, 2-64-64-3 ReLU MLP, batches of 32). Each rate is the best (lowest
    # final loss, seed 0) of values a factor ~3 apart, for compare_optimizers.py's 30 epochs at
    # a constant rate; at train_mlp.py's 60 epochs with the rate decayed by 0.95 per epoch
    # every one reaches 97-99% training accuracy (tests/test_examples.py holds it above 96%).
    "spirals": {
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
    # MNIST (train_mlp.py --dataset mnist, 784-256-128-10): Adam's usual 1e-3 is the classic
    # choice for this network; the others keep their usual rates. Not measured here (the
    # machine these defaults were set on has no network access to download MNIST).
    "mnist": {
        "adam": (1e-3, "the usual rate for this classic 784-256-128-10 network"),
    },
    # The adding problem (train_rnn.py --task adding, LSTM, T=50, batches of 50, gradient norm
    # clipped to 1). Not swept: Adam's 3e-3 was measured to solve the task by epoch 7 on three
    # seeds, and the others keep their usual ratio to Adam's rate. Only the Adam family leaves
    # the 0.167 plateau within 12 epochs.
    "adding": {
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
    # The character language model (train_rnn.py, LSTM 128, windows of 64, batches of 32,
    # gradient norm clipped to 1, so a large rate is still a bounded step). Each rate is the
    # lowest validation bits/char (seed 0) of two or three values a factor ~3 apart: after the
    # default 6 epochs where given, else after one epoch; a rate whose last epoch was already
    # getting worse was not taken. The unigram baseline is 4.88 bits/char.
    "lm": {
        "sgd": (10.0, "2.76 bits/char after 6 epochs (3: 2.85); with clipping, the step is "
                      "at most 10 per unit of gradient norm"),
        "momentum": (1.0, "2.69 bits/char after 6 epochs (0.3: 2.80): the same effective step "
                          "as SGD's 10"),
        "nesterov": (1.0, "2.70 bits/char after 6 epochs (0.3: 2.80), as momentum"),
        "rmsprop": (3e-3, "2.79 bits/char after 6 epochs (1e-2 ended at 2.75 but was getting "
                          "worse)"),
        "adam": (3e-3, "2.92 bits/char after 6 epochs, steadily down (1e-2 ended at 2.78 but "
                       "was getting worse)"),
        "adamw": (3e-3, "as Adam, so the decoupled weight decay is the only difference"),
        "adabelief": (1e-2, "2.78 bits/char after 6 epochs; better than 3e-3 after one"),
        "lion": (1e-3, "sign updates: the better of 3e-4 and 1e-3 after one epoch"),
        "lookahead": (1e-2, "the slow weights average the inner Adam's noise: the better of "
                            "3e-3 and 1e-2 after one epoch"),
    },
    # MNIST-1D (train_mnist1d.py): the reference recipe of the mnist1d repository (Greydanus,
    # 2020) trains every model with Adam at 1e-2.
    "mnist1d": {
        "adam": (1e-2, "the MNIST-1D reference recipe (Greydanus, 2020): Adam at 1e-2"),
    },
}


def choose(task, optimizer, lr=None):
    """(learning rate, reason) for ``optimizer`` on ``task``; ``lr``, when given, wins."""
    if lr is not None:
        return lr, "as given with --lr"
    if optimizer in LEARNING_RATES.get(task, {}):
        rate, why = LEARNING_RATES[task][optimizer]
        return rate, f"chosen for {task}: {why}"
    rate = OPTIMIZERS[optimizer][1]
    return rate, f"{optimizer}'s usual rate (learning_rates.py has none for it on {task})"
