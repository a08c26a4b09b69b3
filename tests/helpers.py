"""Small helpers shared by the tests."""

import numpy as np

import minigrad


def leaf(rng, *shape, low=-1.0, high=1.0):
    """A float64 leaf tensor of uniform values that requires grad."""
    return minigrad.tensor(rng.uniform(low, high, size=shape), dtype="float64", requires_grad=True)


def positive(rng, *shape):
    """A float64 leaf with values in [0.5, 2], safe for log, sqrt and division."""
    return leaf(rng, *shape, low=0.5, high=2.0)


def apart(rng, *shape):
    """A float64 leaf whose values are distinct and well apart (no ties, no kinks nearby)."""
    count = int(np.prod(shape))
    values = (rng.permutation(count) - count / 2 + 0.5) * (2.0 / count)  # never 0, gaps >= 2/n
    return minigrad.tensor(values.reshape(shape), dtype="float64", requires_grad=True)


def training_step(model, optimizer, loss_fn):
    """The usual step: clear the gradients, loss, backward, update; returns the loss."""
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step
