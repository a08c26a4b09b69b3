"""Functional forms of layers and losses: ``import minigrad.nn.functional as F``.

``linear`` is one fused Function (forward and backward are two or three BLAS calls), because an
MLP spends its time there and a chain of matmul, transpose and add nodes would triple the Python
overhead per layer. The activations are the core ops; the losses live in ``loss_ops``.
"""

import numpy as np

from minigrad import random
from minigrad.autograd import Function
from minigrad.nn.conv import conv1d, max_pool1d
from minigrad.nn.loss_ops import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from minigrad.ops import log_softmax, relu, sigmoid, softmax, tanh
from minigrad.ops.elementwise import sum_tangents
from minigrad.tensor import Tensor, as_tensor

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv1d", "cross_entropy",
    "dropout", "embedding", "l1_loss", "linear", "log_softmax", "max_pool1d", "mse_loss",
    "nll_loss", "relu", "sigmoid", "softmax", "tanh",
]


class Linear(Function):
    """y = x W^T + b for x of shape (..., in), W (out, in), b (out,).

    Backward: dx = g W, dW = g^T x and db = sum of g over every leading axis, with the leading
    axes flattened into one so that each gradient is a single matrix product. Forward mode:
    dy = dx W^T + x dW^T + db.
    """

    def forward(self, x, weight, bias=None):
        if x.shape[-1:] != weight.shape[1:]:
            raise ValueError(
                f"linear: input has shape {x.shape}, expected last axis {weight.shape[1]} "
                f"(weight shape {weight.shape})"
            )
        out = x @ weight.T
        if bias is not None:
            out += bias  # in place: out is a fresh array, save one allocation
        return out

    def backward(self, xp, grad, x, weight, *bias, out):
        need_x, need_w = self.needs_input_grad[:2]
        grad_x = grad @ weight if need_x else None
        grad_2d = grad if grad.ndim == 2 else grad.reshape(-1, weight.shape[0])
        x_2d = x if x.ndim == 2 else x.reshape(-1, weight.shape[1])
        grad_w = grad_2d.T @ x_2d if need_w else None
        if not bias:
            return grad_x, grad_w
        grad_b = grad_2d.sum(axis=0) if self.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b

    def jvp(self, xp, tangents, x, weight, *bias, out):
        dx, dw = tangents[:2]
        return sum_tangents(None if dx is None else dx @ weight.T,
                            None if dw is None else x @ dw.T,
                            tangents[2] if bias else None)


def linear(x, weight, bias=None):
    """x @ weight.T + bias, as ``torch.nn.functional.linear``; x may have any leading axes."""
    if not isinstance(x, Tensor):
        x = as_tensor(x)
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)


class Dropout(Function):
    """x * mask, with a mask drawn from minigrad's generator: 0 with probability p, else 1/(1-p).

    One Function rather than a product with a constant mask, so that the draw is an operation
    of the graph: ``minigrad.compile`` sees it and draws a new mask at every replayed call.
    """

    saves_inputs = False

    def forward(self, x, p):
        if p == 1:
            self.mask = np.zeros(x.shape, dtype=x.dtype)
        else:
            keep = random.generator().random(x.shape, dtype=x.dtype) >= p
            self.mask = keep.astype(x.dtype) * x.dtype.type(1 / (1 - p))
        return x * self.mask

    def backward(self, xp, grad, x, out):
        return (grad * self.mask,)

    def jvp(self, xp, tangents, x, out):
        return tangents[0] * self.mask


def dropout(x, p=0.5, training=True):
    """Inverted dropout: zero each element with probability ``p``, scale the rest by 1 / (1 - p).

    Outside training, or with ``p == 0``, ``x`` is returned unchanged. The mask is drawn from
    minigrad's generator, so ``minigrad.manual_seed`` makes it repeatable.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability p={p} is outside [0, 1]")
    if not training or p == 0:
        return x
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise ValueError(f"dropout: expected a floating-point input, got dtype {x.dtype}")
    return Dropout.apply(x, p=p)


def embedding(indices, weight):
    """Rows of ``weight`` picked by integer ``indices`` (any shape): result (*indices.shape, dim).

    The gradient of a row picked several times is the sum over its picks.
    """
    indices = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise ValueError(f"embedding: indices must be integers, got dtype {indices.dtype}")
    num = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= num):
        raise ValueError(
            f"embedding: indices must be in [0, {num}), got values from {indices.min()} "
            f"to {indices.max()}"
        )
    return weight[indices]
