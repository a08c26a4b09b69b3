"""1-D convolution and max-pooling, with PyTorch's signatures, shapes, semantics and init.

A convolution is lowered to one matrix product: ``unfold1d`` (``minigrad/ops/window.py``) lists
the window of input values each output position reads, one row per position (tap by tap:
column k * C + c), and the rows times the weight laid out the same way, (out_channels,
kernel_size * in_channels), are the outputs. Its backward is the transposed products and
``fold1d``, unfold's adjoint; there is no loop over positions. The three rules are written once
with the ``xp`` namespace, so the backward runs on Tensors when it must itself be differentiated
(second derivatives).

Max-pooling takes the maximum of each window and sends each window's gradient to that maximum
(the first one, where several tie, as PyTorch does).
"""

import math

import numpy as np

from minigrad.autograd import Function
from minigrad.nn.layers import check_size, uniform_parameter
from minigrad.nn.module import Module
from minigrad.ops import xp_numpy
from minigrad.ops.elementwise import sum_tangents
from minigrad.ops.window import output_length
from minigrad.tensor import Tensor, as_tensor

__all__ = ["Conv1d", "MaxPool1d", "conv1d", "max_pool1d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _one(owner, name, value, minimum):
    """An int option that PyTorch also takes as a 1-tuple ((2,) for 2), checked >= minimum."""
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    check_size(owner, name, value, minimum)
    return int(value)


def _as_batch(owner, x, what):
    """x as a floating Tensor (N, C, L); (C, L) is one unbatched sample. Returns (x, unbatched)."""
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{owner}: input must be floating-point, got dtype {x.dtype}")
    if x.ndim not in (2, 3):
        raise ValueError(f"{owner}: input has shape {x.shape}, expected (batch, {what}, length) "
                         f"or ({what}, length) unbatched")
    return (x.unsqueeze(0), True) if x.ndim == 2 else (x, False)


def _same_padding(kernel_size, dilation):
    """(left, right) zero padding that keeps the length: PyTorch puts the odd one on the right."""
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def _padding(owner, padding, kernel_size, stride, dilation):
    """``padding`` (an int >= 0, a 1-tuple, 'same' or 'valid') as a pair (left, right)."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        if stride != 1:
            raise ValueError(f"{owner}: padding='same' is not supported for strided "
                             f"convolutions (stride={stride})")
        return _same_padding(kernel_size, dilation)
    if isinstance(padding, str):
        raise ValueError(f"{owner}: padding must be an int, 'same' or 'valid', got {padding!r}")
    pad = _one(owner, "padding", padding, 0)
    return pad, pad


# ---------------------------------------------------------------------------- convolution
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution (cross-correlation), as ``torch.nn.functional.conv1d``.

    input (N, C_in, L) or (C_in, L) unbatched; weight (C_out, C_in / groups, K); bias (C_out,)
    or None. out[n, o, l] = bias[o] + sum over c, k of weight[o, c, k] * x[n, c', l * stride +
    k * dilation - left], where c' runs over the channels of o's group and x is zero-padded by
    ``padding`` (an int, or 'same' / 'valid'). Returns (N, C_out, L_out) (or (C_out, L_out)),
    L_out = floor((L + 2 padding - dilation (K - 1) - 1) / stride) + 1.
    """
    x, unbatched = _as_batch("conv1d", input, "in_channels")
    weight = as_tensor(weight)
    stride = _one("conv1d", "stride", stride, 1)
    dilation = _one("conv1d", "dilation", dilation, 1)
    groups = _one("conv1d", "groups", groups, 1)
    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight has shape {weight.shape}, expected (out_channels, "
                         "in_channels / groups, kernel_size)")
    pad = _padding("conv1d", padding, weight.shape[2], stride, dilation)
    out = _convolve(x, weight, bias, stride, pad, dilation, groups)
    return out.squeeze(0) if unbatched else out


def _convolve(x, weight, bias, stride, pad, dilation, groups):
    """conv1d of x (N, C, L) zero-padded by ``pad`` = (left, right), once options are checked."""
    out_channels, group_channels, kernel_size = weight.shape
    batch, channels, length = x.shape
    if channels != group_channels * groups or out_channels % groups:
        raise ValueError(
            f"conv1d: input of shape {x.shape} has {channels} channels, but weight of shape "
            f"{weight.shape} with groups={groups} expects {group_channels * groups} (and "
            f"out_channels divisible by groups)")
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (out_channels,):
            raise ValueError(f"conv1d: bias has shape {bias.shape}, expected ({out_channels},)")
    count = output_length(length, kernel_size, dilation, pad, stride)
    if count < 1:
        raise ValueError(
            f"conv1d: input of shape {x.shape} padded by {pad} is shorter than the kernel's "
            f"span, dilation * (kernel_size - 1) + 1 = {dilation * (kernel_size - 1) + 1}")

    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Convolution1d.apply(*inputs, stride=stride, padding=pad, dilation=dilation,
                               groups=groups)


class Convolution1d(Function):
    """conv1d as one graph node: unfold, one matrix product, and the bias.

        forward   rows = unfold(x)                 (N L_out, K C): each position's window
                  out = rows W^T + b               W laid out as (C_out, K C), tap by tap
        backward  dW = g^T rows     db = sum of g over N and L_out     dx = fold(g W)
        jvp       d out = conv(dx, W) + conv(x, dW) + db

    where g is the output's gradient laid out as (N L_out, C_out). With groups the channels of
    rows, W and g split into G blocks and one batched matrix product does every group: the
    arrays below carry a leading group axis, rows (G, N L_out, K C / G) and so on.
    """

    def forward(self, x, weight, *bias, stride, padding, dilation, groups):
        self.window = (weight.shape[2], dilation, padding, stride)
        self.groups, self.length = groups, x.shape[2]
        self.rows = self._rows(xp_numpy, x)  # kept for dW: unfolding again would cost as much
        out = self._products(xp_numpy, self.rows, weight, *bias, batch=x.shape[0])
        return np.ascontiguousarray(out)

    def backward(self, xp, grad, x, weight, *bias, out):
        rows = self.rows if xp is xp_numpy else self._rows(xp, x)
        g = self._grouped_grad(xp, grad)
        need_x, need_w = self.needs_input_grad[:2]
        dx = dw = db = None
        if need_x:
            d_rows = self._ungrouped_rows(xp, xp.matmul(g, self._weights(xp, weight)),
                                          x.shape[0])
            dx = xp.fold1d(d_rows, self.length, *self.window)
        if need_w:
            dw = self._unweights(xp, xp.matmul(xp.swapaxes(g, 1, 2), rows), weight.shape)
        if bias and self.needs_input_grad[2]:
            db = xp.reshape(xp.sum(g, axis=1), (-1,))
        return (dx, dw, db) if bias else (dx, dw)

    def jvp(self, xp, tangents, x, weight, *bias, out):
        dx, dw = tangents[:2]
        db = tangents[2] if bias else None
        batch = x.shape[0]
        return sum_tangents(
            None if dx is None else self._products(xp, self._rows(xp, dx), weight, batch=batch),
            None if dw is None else self._products(xp, self._rows(xp, x), dw, batch=batch),
            None if db is None else xp.reshape(db, (-1, 1)))

    # The layouts, each a reshape or transpose of the one before (views, for arrays).
    def _rows(self, xp, x):
        """unfold(x) (N, L_out, K C) as (G, N L_out, K C / G)."""
        cols = xp.unfold1d(x, *self.window)
        batch, count, width = cols.shape
        kernel_size, groups = self.window[0], self.groups
        cols = xp.reshape(cols, (batch * count, kernel_size, groups, -1))
        return xp.reshape(xp.transpose(cols, (2, 0, 1, 3)), (groups, batch * count, -1))

    def _ungrouped_rows(self, xp, rows, batch):
        """The inverse of ``_rows``' layout change: (G, N L_out, K C / G) -> (N, L_out, K C)."""
        groups, count, _ = rows.shape
        rows = xp.reshape(rows, (groups, count, self.window[0], -1))
        return xp.reshape(xp.transpose(rows, (1, 2, 0, 3)), (batch, count // batch, -1))

    def _weights(self, xp, weight):
        """W (C_out, C / G, K) as (G, C_out / G, K C / G), tap by tap like the rows."""
        out_channels, group_channels, kernel_size = weight.shape
        weight = xp.reshape(weight, (self.groups, -1, group_channels, kernel_size))
        return xp.reshape(xp.transpose(weight, (0, 1, 3, 2)),
                          (self.groups, out_channels // self.groups, -1))

    def _unweights(self, xp, grouped, shape):
        """The inverse of ``_weights``' layout change, back to (C_out, C / G, K)."""
        out_channels, group_channels, kernel_size = shape
        grouped = xp.reshape(grouped, (self.groups, -1, kernel_size, group_channels))
        return xp.reshape(xp.transpose(grouped, (0, 1, 3, 2)), shape)

    def _products(self, xp, rows, weight, *bias, batch):
        """rows W^T (+ b) for every group, channels first: (N, C_out, L_out)."""
        out = xp.matmul(rows, xp.swapaxes(self._weights(xp, weight), 1, 2))  # (G, NL, C_out/G)
        groups, count, width = out.shape
        out = xp.reshape(xp.transpose(out, (1, 0, 2)), (count, groups * width))
        if bias:
            out = out + bias[0]
        return xp.transpose(xp.reshape(out, (batch, count // batch, -1)), (0, 2, 1))

    def _grouped_grad(self, xp, grad):
        """The output's gradient (N, C_out, L_out) as (G, N L_out, C_out / G)."""
        batch, out_channels, count = grad.shape
        grad = xp.reshape(xp.transpose(grad, (0, 2, 1)), (batch * count, self.groups, -1))
        return xp.transpose(grad, (1, 0, 2))


def _pad_indices(length, left, right, mode):
    """The positions to read for each padded position, for the non-zero padding modes."""
    index = np.arange(-left, length + right)
    if mode == "reflect":  # ... 2 1 | 0 1 2 ... L-1 | L-2 L-3 ...
        index = np.abs(index)
        return np.where(index > length - 1, 2 * (length - 1) - index, index)
    if mode == "replicate":  # 0 0 | 0 1 2 ... L-1 | L-1 L-1
        return np.clip(index, 0, length - 1)
    return index % length  # circular: the signal wraps around


def _pad(x, left, right, mode):
    """x (N, C, L) padded at the end of its last axis by reading ``mode``'s positions."""
    length = x.shape[2]
    limit = length if mode == "circular" else length - 1
    if max(left, right) > limit:
        raise ValueError(f"Conv1d: padding ({left}, {right}) in mode {mode!r} must be at most "
                         f"{limit} for an input of length {length} (shape {x.shape})")
    return x[:, :, _pad_indices(length, left, right, mode)]


class Conv1d(Module):
    """A 1-D convolution layer, as ``torch.nn.Conv1d``.

    Parameters weight (out_channels, in_channels / groups, kernel_size) and bias
    (out_channels,), both from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in =
    in_channels / groups * kernel_size (PyTorch's default). ``padding``: an int, 'same' (output
    as long as the input; stride 1 only) or 'valid' (none). ``padding_mode``: 'zeros',
    'reflect', 'replicate' or 'circular'. ``forward(input)``: (N, in_channels, L) or
    (in_channels, L) unbatched -> (N, out_channels, L_out).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=None):
        super().__init__()
        in_channels = _one("Conv1d", "in_channels", in_channels, 1)
        out_channels = _one("Conv1d", "out_channels", out_channels, 1)
        kernel_size = _one("Conv1d", "kernel_size", kernel_size, 1)
        stride = _one("Conv1d", "stride", stride, 1)
        dilation = _one("Conv1d", "dilation", dilation, 1)
        groups = _one("Conv1d", "groups", groups, 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv1d: in_channels={in_channels} and out_channels="
                             f"{out_channels} must both be divisible by groups={groups}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"Conv1d: padding_mode must be one of {PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self._pad = _padding("Conv1d", padding, kernel_size, stride, dilation)
        # PyTorch's attributes: sizes as 1-tuples, padding a 1-tuple or the string given.
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.dilation = (kernel_size,), (stride,), (dilation,)
        self.padding = padding if isinstance(padding, str) else (self._pad[0],)
        self.padding_mode = padding_mode
        bound = 1 / math.sqrt(in_channels // groups * kernel_size)
        self.weight = uniform_parameter((out_channels, in_channels // groups, kernel_size),
                                        bound, dtype)
        if bias:
            self.bias = uniform_parameter((out_channels,), bound, dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        """Convolve ``input`` (N, in_channels, L) or (in_channels, L)."""
        x, unbatched = _as_batch("Conv1d", input, "in_channels")
        pad = self._pad
        if self.padding_mode != "zeros":
            x, pad = _pad(x, *pad, self.padding_mode), (0, 0)
        out = _convolve(x, self.weight, self.bias, self.stride[0], pad, self.dilation[0],
                        self.groups)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,):
            text += f", padding={self.padding}"
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


# ---------------------------------------------------------------------------- max pooling
def _pooled_length(owner, length, kernel_size, stride, padding, dilation, ceil_mode):
    """PyTorch's output length; with ceil_mode a last partial window counts if it starts inside
    the input or the left padding."""
    span = dilation * (kernel_size - 1) + 1
    extra = stride - 1 if ceil_mode else 0
    count = (length + 2 * padding - span + extra) // stride + 1
    if ceil_mode and (count - 1) * stride >= length + padding:
        count -= 1
    if count < 1:
        raise ValueError(f"{owner}: input of length {length} padded by {padding} is shorter "
                         f"than the pooling window's span {span}")
    return count


def _maxima(x, kernel_size, stride, padding, dilation, count):
    """Where along L each window of x (N, C, L) has its maximum, the first of ties: (N, C, count).

    The input is padded with -inf, so a window's maximum is never in the padding.
    """
    length = x.shape[2]
    right = max(0, (count - 1) * stride + dilation * (kernel_size - 1) + 1 - padding - length)
    padded = np.pad(x, ((0, 0), (0, 0), (padding, right)), constant_values=-np.inf)
    step_n, step_c, step_l = padded.strides
    windows = np.lib.stride_tricks.as_strided(
        padded, padded.shape[:2] + (count, kernel_size),
        (step_n, step_c, stride * step_l, dilation * step_l), writeable=False)
    return np.arange(count) * stride + windows.argmax(axis=3) * dilation - padding


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """Max over sliding windows of the last axis, as ``torch.nn.functional.max_pool1d``.

    input (N, C, L) or (C, L); ``stride`` defaults to ``kernel_size``; ``padding`` (at most half
    the kernel size) pads both ends with -inf. Each window's gradient goes to its maximum, the
    first one where several tie (PyTorch's rule): the maxima are found without a graph, then
    picked out by indexing, whose backward scatters the gradient back. With ``return_indices``
    also returns, as an int64 Tensor, the position along L of each maximum.
    """
    x, unbatched = _as_batch("max_pool1d", input, "channels")
    kernel_size = _one("max_pool1d", "kernel_size", kernel_size, 1)
    stride = kernel_size if stride is None else _one("max_pool1d", "stride", stride, 1)
    padding = _one("max_pool1d", "padding", padding, 0)
    dilation = _one("max_pool1d", "dilation", dilation, 1)
    if padding > kernel_size // 2:
        raise ValueError(f"max_pool1d: padding={padding} must be at most half of kernel_size="
                         f"{kernel_size}")
    batch, channels, length = x.shape
    count = _pooled_length("max_pool1d", length, kernel_size, stride, padding, dilation,
                           ceil_mode)
    positions = _maxima(x.data, kernel_size, stride, padding, dilation, count)
    out = x[np.arange(batch)[:, None, None], np.arange(channels)[None, :, None], positions]
    if unbatched:
        out, positions = out.squeeze(0), positions[0]
    return (out, Tensor(positions)) if return_indices else out


class MaxPool1d(Module):
    """Max-pooling over the last axis, as ``torch.nn.MaxPool1d`` (see ``max_pool1d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = _one("MaxPool1d", "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _one("MaxPool1d", "stride",
                                                                   stride, 1)
        self.padding = _one("MaxPool1d", "padding", padding, 0)
        self.dilation = _one("MaxPool1d", "dilation", dilation, 1)
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        """Pool ``input`` (N, C, L) or (C, L)."""
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

