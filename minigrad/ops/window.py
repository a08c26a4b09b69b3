"""Sliding windows over the last axis: unfold (im2col) and fold (col2im), each other's adjoint.

``unfold1d`` lists the input values a 1-D convolution reads, one block per kernel tap:
(N, C, L) -> (K, N, L_out, C), where block k holds x[n, c, l * stride + k * dilation - left]
(zero where that falls in the padding). Each block is a shifted, strided copy of the signal laid
out channels-last, and a convolution is the sum over taps of block k times the weights of tap k:
out = sum_k cols[k] W[:, :, k]^T, K matrix products.

``fold1d`` goes the other way: it adds every block back onto the positions it was read from.
That is exactly the vector-Jacobian product of unfold (each input value receives the sum of the
gradients of the entries that copied it), and unfold is fold's: both operations are linear, so
each one's backward and jvp is the other or itself, and a convolution built from them has
second derivatives with nothing more to write.

Why blocks per tap, channels last: every copy and every add then moves runs of C (whole
rows of L_out * C when stride is 1) instead of a few values at a time.
"""

import numpy as np

from minigrad.autograd import Function


def output_length(length, kernel_size, dilation, padding, stride):
    """The number of windows: floor((L + left + right - dilation (K - 1) - 1) / stride) + 1."""
    left, right = padding
    return (length + left + right - dilation * (kernel_size - 1) - 1) // stride + 1


def unfold1d_array(x, kernel_size, dilation=1, padding=(0, 0), stride=1):
    """``unfold1d`` on an ndarray x (N, C, L): a new (K, N, L_out, C) array."""
    batch, channels, length = x.shape
    left, right = padding
    signal = np.zeros((batch, left + length + right, channels), dtype=x.dtype)
    signal[:, left:left + length] = x.transpose(0, 2, 1)  # channels last, zero-padded
    count = output_length(length, kernel_size, dilation, padding, stride)
    last = stride * (count - 1) + 1
    cols = np.empty((kernel_size, batch, count, channels), dtype=x.dtype)
    for k in range(kernel_size):  # tap k reads positions k * dilation, + stride, + 2 stride ...
        cols[k] = signal[:, k * dilation:k * dilation + last:stride]
    return cols


def fold1d_array(cols, length, kernel_size, dilation=1, padding=(0, 0), stride=1):
    """``fold1d`` on an ndarray cols (K, N, L_out, C): the sums at each of L positions."""
    _, batch, count, channels = cols.shape
    left, right = padding
    signal = np.zeros((batch, left + length + right, channels), dtype=cols.dtype)
    last = stride * (count - 1) + 1
    for k in range(kernel_size):  # tap k's block goes back where unfold read it
        signal[:, k * dilation:k * dilation + last:stride] += cols[k]
    return np.ascontiguousarray(signal[:, left:left + length].transpose(0, 2, 1))


def _pair(padding):
    """An int padding as (left, right); a pair as it is."""
    if isinstance(padding, tuple | list):
        return int(padding[0]), int(padding[1])
    return int(padding), int(padding)


class Unfold1d(Function):
    """The windows of a 1-D convolution as rows (im2col); backward folds them back (col2im)."""

    saves_inputs = False

    def forward(self, x, kernel_size, dilation, padding, stride):
        self.length = x.shape[2]
        self.window = (kernel_size, dilation, padding, stride)
        return unfold1d_array(x, *self.window)

    def backward(self, xp, grad, x, out):
        return (xp.fold1d(grad, self.length, *self.window),)

    def jvp(self, xp, tangents, x, out):
        return xp.unfold1d(tangents[0], *self.window)


class Fold1d(Function):
    """Window rows added back onto the positions they were read from (col2im); backward unfolds."""

    saves_inputs = False

    def forward(self, cols, length, kernel_size, dilation, padding, stride):
        self.length = length
        self.window = (kernel_size, dilation, padding, stride)
        return fold1d_array(cols, length, *self.window)

    def backward(self, xp, grad, cols, out):
        return (xp.unfold1d(grad, *self.window),)

    def jvp(self, xp, tangents, cols, out):
        return xp.fold1d(tangents[0], self.length, *self.window)


def unfold1d(x, kernel_size, dilation=1, padding=0, stride=1):
    """The input windows of a 1-D convolution, one block per tap: (N, C, L) -> (K, N, L_out, C).

    cols[k, n, l, c] is x[n, c, l * stride + k * dilation - left]: what output position l reads
    through tap k. ``padding`` (an int, or a pair (left, right)) adds zeros at the ends.
    Differentiable; its backward is ``fold1d``.
    """
    return Unfold1d.apply(x, kernel_size=kernel_size, dilation=dilation, padding=_pair(padding),
                          stride=stride)


def fold1d(cols, length, kernel_size, dilation=1, padding=0, stride=1):
    """Add tap blocks (K, N, L_out, C) back onto a (N, C, length) signal: unfold1d's adjoint."""
    return Fold1d.apply(cols, length=length, kernel_size=kernel_size, dilation=dilation,
                        padding=_pair(padding), stride=stride)
