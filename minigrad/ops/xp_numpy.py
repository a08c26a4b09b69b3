"""The array namespace ``xp`` of the fast path: derivative rules computing on plain ndarrays.

A backward or jvp rule is written once, with operators and ``xp`` functions. On the fast path the
engine passes this namespace and ndarrays; when the derivative must itself be differentiable
(``create_graph=True``, forward mode over reverse) it passes ``xp_tensor`` and Tensors instead,
whose functions of the same names are minigrad's differentiable operations. Most names here are
NumPy's own; the few that NumPy lacks are defined below, with the same signatures as their
twins in ``xp_tensor``.
"""

import numpy as np
from numpy import (  # noqa: F401 - re-exported: this module is a namespace
    abs,
    broadcast_to,
    concatenate,
    exp,
    expand_dims,
    log,
    matmul,
    maximum,
    mean,
    reshape,
    sign,
    split,
    sqrt,
    stack,
    sum,
    swapaxes,
    tanh,
    transpose,
    where,
    zeros_like,
)

from minigrad.ops.axes import broadcast_axes
from minigrad.ops.elementwise import stable_sigmoid as sigmoid  # noqa: F401
from minigrad.ops.shape import scatter_add_arrays as scatter_add  # noqa: F401
from minigrad.ops.window import fold1d_array as fold1d  # noqa: F401
from minigrad.ops.window import unfold1d_array as unfold1d  # noqa: F401


def sum_to(a, shape):
    """Sum ``a`` over the axes that broadcasting ``shape`` up to ``a.shape`` added or stretched."""
    if a.shape == shape:
        return a
    return np.sum(a, axis=broadcast_axes(a.shape, shape)).reshape(shape)


def softmax(a, axis):
    """exp(a) / sum(exp(a)) along ``axis``, shifted by the max so exp cannot overflow."""
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
