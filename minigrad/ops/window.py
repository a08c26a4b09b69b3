"""Sliding windows over the last axis: unfold (im2col) and fold (col2im), each other's adjoint.

``unfold1d`` lists, for every output position of a 1-D convolution, the input values it reads:
(N, C, L) -> (N, L_out, K * C), with row l holding x[n, c, l * stride + k * dilation - left]
at column k * C + c (zero where that falls in the padding). A convolution is then one matrix
product of these rows with the weight (out_channels, C, K) laid out as (out_channels, K * C).

``fold1d`` goes the other way: it adds every window entry back onto the position it was read
from. That is exactly the vector-Jacobian product of unfold (each input value receives the sum
of the gradients of the window entries that copied it), and unfold is fold's: both operations are
linear, so each one's backward and jvp is the other or itself, and a convolution built from them
has second derivatives with nothing more to write.

Why columns tap by tap (k * C + c, not c * K + k): with the signal copied channels-last once,
every window is K runs of C contiguous values (one run when stride and dilation are 1), so
building the rows, and folding them back, moves whole runs instead of K values at a time.
"""

import numpy as np

from minigrad.autograd import Function


def output_length(length, kernel_size, dilation, padding, stride):
    """The number of windows: floor((L + left + right - dilation (K - 1) - 1) / stride) + 1."""
    left, right = padding
    return (length + left + right - dilation * (kernel_size - 1) - 1) // stride + 1


def unfold1d_array(x, kernel_size, dilation=1, padding=(0, 0), stride=1):
    """``unfold1d`` on an ndarray x (N, C, L): the windows as one new (N, L_out, K * C) array."""
    batch, channels, length = x.shape
    left, right = padding
    signal = np.zeros((batch, left + length + right, channels), dtype=x.dtype)
    signal[:, left:left + length] = x.transpose(0, 2, 1)  # channels last, zero-padded
    count = output_length(length, kernel_size, dilation, padding, stride)
    step_n, step_l, step_c = signal.strides
    # A read-only strided view of the windows, (N, L_out, K, C), copied at once into rows.
    windows = np.lib.stride_tricks.as_strided(
        signal, (batch, count, kernel_size, channels),
        (step_n, stride * step_l, dilation * step_l, step_c), writeable=False)
    return np.array(windows, order="C").reshape(batch, count, kernel_size * channels)


def fold1d_array(cols, length, kernel_size, dilation=1, padding=(0, 0), stride=1):
    """``fold1d`` on an ndarray cols (N, L_out, K * C): the sums at each of L positions."""
    batch, count, width = cols.shape
    left, right = padding
    signal = np.zeros((batch, left + length + right, width // kernel_size), dtype=cols.dtype)
    taps = cols.reshape(batch, count, kernel_size, width // kernel_size)
    last = stride * (count - 1) + 1
    for k in range(kernel_size):  # tap k's entries go back where unfold read them
        signal[:, k * dilation:k * dilation + last:stride] += taps[:, :, k]
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
    """The input windows of a 1-D convolution: x (N, C, L) -> (N, L_out, kernel_size * C).

    Row l of sample n holds the K * C values output position l reads, tap by tap: column
    k * C + c is x[n, c, l * stride + k * dilation - left]. ``padding`` (an int, or a pair
    (left, right)) adds zeros at the ends. Differentiable; its backward is ``fold1d``.
    """
    return Unfold1d.apply(x, kernel_size=kernel_size, dilation=dilation, padding=_pair(padding),
                          stride=stride)


def fold1d(cols, length, kernel_size, dilation=1, padding=0, stride=1):
    """Add window rows (N, L_out, K * C) back onto a (N, C, length) signal: unfold1d's adjoint."""
    return Fold1d.apply(cols, length=length, kernel_size=kernel_size, dilation=dilation,
                        padding=_pair(padding), stride=stride)
