"""The few helpers generated drivers call at run time."""

import numpy as np

from minigrad.ops.xp_numpy import sum_to


def fit(grad, shape, dtype):
    """A gradient from an operation called whole, as the engine takes it: summed back to the
    input's ``shape`` (a rule may return the broadcast shape) and in its ``dtype``."""
    grad = np.asarray(grad)
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    return grad.astype(dtype, copy=False)


def fail(status, index_arrays, checks):
    """Raise the error eager raises for the check numbered ``status`` (a class index out of
    range), with the same message."""
    classes, what = checks[status - 1]
    index = np.asarray(index_arrays[status - 1])
    bad = index[(index < 0) | (index >= classes)]
    raise ValueError(f"{what}: target values must be in [0, {classes}), got "
                     f"{bad[:5].tolist()}")
