"""Factories: tensors filled with constants, ranges or random numbers."""

import numpy as np

from minigrad import random
from minigrad.tensor import Tensor, get_default_dtype


def _shape(shape):
    """Accept ``zeros(2, 3)`` as well as ``zeros((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    for n in shape:
        if not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"invalid shape {shape}: expected non-negative ints")
    return tuple(int(n) for n in shape)


def _float_dtype(dtype):
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def _leaf(array, requires_grad):
    t = Tensor._constant(array)
    t.requires_grad = requires_grad
    return t


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros."""
    return _leaf(np.zeros(_shape(shape), dtype=_float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones."""
    return _leaf(np.ones(_shape(shape), dtype=_float_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value``."""
    shape = _shape(shape if isinstance(shape, tuple | list) else (shape,))
    return _leaf(np.full(shape, fill_value, dtype=_float_dtype(dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape (and, by default, dtype) of ``t``."""
    return _leaf(np.zeros(t.shape, dtype=t.dtype if dtype is None else dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape (and, by default, dtype) of ``t``."""
    return _leaf(np.ones(t.shape, dtype=t.dtype if dtype is None else dtype), requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Samples from the standard normal distribution, from minigrad's seeded generator."""
    data = random.generator().standard_normal(_shape(shape)).astype(_float_dtype(dtype))
    return _leaf(data, requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Samples from U[0, 1), from minigrad's seeded generator."""
    data = random.generator().random(_shape(shape)).astype(_float_dtype(dtype))
    return _leaf(data, requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop), as ``numpy.arange`` (ints stay int64)."""
    if stop is None:
        start, stop = 0, start
    data = np.arange(start, stop, step)
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype.kind == "f":
        data = data.astype(get_default_dtype())
    return _leaf(data, requires_grad)
