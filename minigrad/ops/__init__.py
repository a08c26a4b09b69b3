"""Differentiable operations, grouped by kind; each is a Function with forward and backward."""

from minigrad.ops.elementwise import (
    abs,
    add,
    clip,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    power,
    relu,
    sigmoid,
    sign,
    sqrt,
    sub,
    tanh,
    where,
)
from minigrad.ops.linalg import matmul
from minigrad.ops.reduce import log_softmax, logsumexp, max, mean, min, softmax, sum, var
from minigrad.ops.shape import (
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    reshape,
    scatter_add,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
)
from minigrad.ops.window import fold1d, unfold1d

__all__ = [
    "abs", "add", "broadcast_to", "clip", "concatenate", "div", "exp", "expand_dims", "flatten",
    "fold1d", "getitem", "log", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean",
    "min", "minimum", "mul", "neg", "power", "relu", "reshape", "scatter_add", "sigmoid", "sign",
    "softmax", "split", "sqrt", "squeeze", "stack", "sub", "sum", "swapaxes", "tanh",
    "transpose", "unfold1d", "unsqueeze", "var", "where",
]
