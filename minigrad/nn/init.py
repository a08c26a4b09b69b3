"""In-place initialisers with PyTorch's names and formulas, drawing from minigrad's generator.

Each fills ``tensor.data`` in the tensor's own dtype and returns the tensor, so
``minigrad.manual_seed`` makes every model's initial weights repeatable. Like every in-place
change made through minigrad, filling bumps the tensor's version: a graph that saved the old
values refuses to backpropagate through them.
"""

import math

import numpy as np

from minigrad import random


def _fill_uniform(tensor, low, high):
    """Fill with U(low, high), generated directly into the tensor's array (no temporary)."""
    data = tensor.data
    random.generator().random(out=data, dtype=data.dtype)
    data *= high - low
    data += low
    tensor._version += 1
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill ``tensor`` with samples from the uniform distribution U(a, b)."""
    if not a <= b:
        raise ValueError(f"uniform_: expected a <= b, got a={a}, b={b}")
    return _fill_uniform(tensor, a, b)


def normal_(tensor, mean=0.0, std=1.0):
    """Fill ``tensor`` with samples from the normal distribution N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    data = tensor.data
    random.generator().standard_normal(out=data, dtype=data.dtype)
    data *= std
    data += mean
    tensor._version += 1
    return tensor


def constant_(tensor, value):
    """Fill ``tensor`` with ``value``."""
    tensor.data[...] = value
    tensor._version += 1
    return tensor


def zeros_(tensor):
    """Fill ``tensor`` with zeros."""
    return constant_(tensor, 0)


def ones_(tensor):
    """Fill ``tensor`` with ones."""
    return constant_(tensor, 1)


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``."""
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r} "
        "(expected linear, sigmoid, tanh, relu or leaky_relu)"
    )


def _fans(tensor):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as PyTorch computes them."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor of at least 2 dimensions, got shape {tensor.shape}"
        )
    receptive = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He initialisation: U(-bound, bound) with bound = gain * sqrt(3 / fan).

    ``a=math.sqrt(5)`` gives bound = 1/sqrt(fan_in), PyTorch's default for Linear weights.
    """
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming_uniform_: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan) if fan else 0.0
    return _fill_uniform(tensor, -bound, bound)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot initialisation: U(-bound, bound) with bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return _fill_uniform(tensor, -bound, bound)
