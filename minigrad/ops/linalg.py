"""Matrix multiplication with NumPy's ``matmul`` semantics."""

import numpy as np

from minigrad.autograd import Function
from minigrad.ops.elementwise import sum_tangents
from minigrad.tensor import as_tensor


class MatMul(Function):
    """a @ b for 1-D, 2-D and batched (broadcast) operands.

    For C = A B the gradients are dA = dC B^T and dB = A^T dC, and the tangent is
    dC = dA B + A dB. A 1-D operand is treated as a row (a) or column (b) matrix, and batch axes
    that were broadcast are summed back.
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least 1 dimension, got {a.shape} "
                             f"and {b.shape}")
        inner_a, inner_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if inner_a != inner_b:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned ({inner_a} != {inner_b})"
            )
        try:
            return np.matmul(a, b)
        except ValueError:
            raise ValueError(
                f"matmul: batch shapes of {a.shape} and {b.shape} cannot be broadcast"
            ) from None

    def backward(self, xp, grad, a, b, out):
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without the reshaping below
            return (grad @ b.T if need_a else None), (a.T @ grad if need_b else None)
        a2 = xp.expand_dims(a, 0) if a.ndim == 1 else a      # a row (1, k)
        b2 = xp.expand_dims(b, -1) if b.ndim == 1 else b     # a column (k, 1)
        if b.ndim == 1:  # (..., m) -> (..., m, 1); first, so 1-D @ 1-D becomes (1, 1)
            grad = xp.expand_dims(grad, -1)
        if a.ndim == 1:
            grad = xp.expand_dims(grad, -2)
        grad_a = grad_b = None
        if need_a:
            grad_a = xp.matmul(grad, xp.swapaxes(b2, -1, -2))
            grad_a = xp.reshape(xp.sum_to(grad_a, a2.shape), a.shape)
        if need_b:
            grad_b = xp.matmul(xp.swapaxes(a2, -1, -2), grad)
            grad_b = xp.reshape(xp.sum_to(grad_b, b2.shape), b.shape)
        return grad_a, grad_b

    def jvp(self, xp, tangents, a, b, out):
        da, db = tangents
        return sum_tangents(None if da is None else xp.matmul(da, b),
                            None if db is None else xp.matmul(a, db))


def matmul(a, b):
    """Matrix product with NumPy's rules (1-D, 2-D, batched with broadcasting)."""
    return MatMul.apply(as_tensor(a), as_tensor(b))
