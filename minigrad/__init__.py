"""minigrad: a small reverse-mode autograd library on NumPy, with Numba-compiled optimizers.

>>> import minigrad
>>> w = minigrad.tensor([1.0, 2.0], requires_grad=True)
>>> (w * w).sum().backward()
>>> w.grad
array([2., 4.], dtype=float32)
"""

from minigrad import autograd, compile, data, func, graph, nn, optim  # compile: callable
from minigrad.autograd import (
    Function,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from minigrad.creation import (
    arange,
    full,
    ones,
    ones_like,
    rand,
    randn,
    zeros,
    zeros_like,
)
from minigrad.gradcheck import GradcheckError, gradcheck, gradgradcheck, jvpcheck
from minigrad.ops import (
    abs,
    broadcast_to,
    clip,
    concatenate,
    exp,
    expand_dims,
    log,
    log_softmax,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    relu,
    reshape,
    sigmoid,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    where,
)
from minigrad.random import manual_seed
from minigrad.serialization import load, save
from minigrad.tensor import Tensor, get_default_dtype, set_default_dtype, tensor

__version__ = "0.1.0"

__all__ = [
    "abs", "arange", "autograd", "broadcast_to", "clip", "compile", "concatenate", "data",
    "enable_grad",
    "exp", "expand_dims", "full", "func", "Function", "get_default_dtype", "gradcheck",
    "GradcheckError", "gradgradcheck", "graph", "inference_mode", "is_grad_enabled", "jvpcheck",
    "load", "log", "log_softmax", "logsumexp", "manual_seed", "matmul", "maximum", "mean",
    "minimum", "nn", "no_grad", "ones", "ones_like", "optim", "rand", "randn", "relu", "reshape",
    "save", "set_default_dtype", "set_grad_enabled", "sigmoid", "softmax", "split", "sqrt",
    "squeeze", "stack", "swapaxes", "tanh", "Tensor", "tensor", "transpose", "unsqueeze", "where",
    "zeros", "zeros_like",
]
