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
    flatten,
    getitem,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)

__all__ = [
    "abs", "add", "broadcast_to", "clip", "concatenate", "div", "exp", "flatten", "getitem",
    "log", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum",
    "mul", "neg", "power", "relu", "reshape", "sigmoid", "softmax", "split", "sqrt", "squeeze",
    "stack", "sub", "sum", "tanh", "transpose", "unsqueeze", "var", "where",
]
