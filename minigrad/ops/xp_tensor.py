"""The array namespace ``xp`` for differentiable derivatives: the names of ``xp_numpy``, on Tensors.

Under ``create_graph=True`` (and when forward mode runs through a backward pass) the engine
hands the derivative rules this namespace and Tensors: every function here is a differentiable
minigrad operation, so the gradient computation is itself recorded in a graph, and can be
differentiated again. ``tests/test_xp.py`` holds the two namespaces to the same names.
"""

import numpy as np

from minigrad.ops.axes import broadcast_axes
from minigrad.ops.elementwise import (  # noqa: F401 - re-exported: this module is a namespace
    abs,
    exp,
    log,
    maximum,
    sigmoid,
    sign,
    sqrt,
    tanh,
    where,
)
from minigrad.ops.linalg import matmul  # noqa: F401
from minigrad.ops.reduce import mean, softmax, sum  # noqa: F401
from minigrad.ops.shape import (  # noqa: F401
    broadcast_to,
    concatenate,
    expand_dims,
    reshape,
    scatter_add,
    split,
    stack,
    swapaxes,
    transpose,
)
from minigrad.ops.window import fold1d, unfold1d  # noqa: F401
from minigrad.tensor import Tensor


def sum_to(a, shape):
    """Sum ``a`` over the axes that broadcasting ``shape`` up to ``a.shape`` added or stretched."""
    if a.shape == shape:
        return a
    return reshape(sum(a, axis=broadcast_axes(a.shape, shape)), shape)


def zeros_like(a):
    """A constant Tensor of zeros with ``a``'s shape and dtype."""
    return Tensor._constant(np.zeros(a.shape, dtype=a.dtype))
