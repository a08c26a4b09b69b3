"""Reductions over axes (sum, mean, max, min, var, logsumexp) and softmax.

A reduction's backward spreads the output gradient back over the reduced axes. ``_expand``
re-inserts those axes (when ``keepdims`` was False) so the gradient broadcasts against the input.
"""

import builtins
import math

import numpy as np

from minigrad.autograd import Function


def _normalize_axis(axis, ndim):
    """Return ``axis`` as a sorted tuple of non-negative ints (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    normalized = []
    for ax in axes:
        if not -ndim <= ax < builtins.max(ndim, 1):
            raise ValueError(f"axis {ax} is out of bounds for a tensor of {ndim} dimensions")
        normalized.append(int(ax) % builtins.max(ndim, 1))
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(normalized))


def _kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` kept as length one."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(grad, axes, keepdims):
    """Give ``grad`` back the reduced axes (as length one) so it broadcasts over the input."""
    return grad if keepdims else np.expand_dims(grad, axes)


def _spread(grad, kept_shape, shape):
    """Copy ``grad`` (reduced shape) over every element of ``shape``.

    A filled fresh array costs a third of what ``np.broadcast_to`` does for small tensors.
    """
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad.reshape(kept_shape)
    return out


class Sum(Function):
    """Sum over axes; every input element gets the output's gradient."""

    def forward(self, a, axes, keepdims):
        self.shape, self.kept_shape = a.shape, _kept_shape(a.shape, axes)
        return a.sum(axis=axes, keepdims=keepdims)

    def backward(self, grad):
        return (_spread(grad, self.kept_shape, self.shape),)


class Mean(Function):
    """Mean over axes; every input element gets 1/n of the output's gradient."""

    def forward(self, a, axes, keepdims):
        self.shape, self.kept_shape = a.shape, _kept_shape(a.shape, axes)
        self.count = math.prod(a.shape[ax] for ax in axes)
        if a.dtype.kind != "f":
            return np.mean(a, axis=axes, keepdims=keepdims)
        return a.sum(axis=axes, keepdims=keepdims) / self.count

    def backward(self, grad):
        return (_spread(grad / self.count, self.kept_shape, self.shape),)


class _Extreme(Function):
    """Max or min over axes. Tied extremes share the gradient equally (as torch.amax)."""

    reduce = None

    def forward(self, a, axes, keepdims):
        if a.size == 0:
            raise ValueError(f"{self.name.lower()}: cannot reduce an empty tensor")
        self.axes, self.keepdims = axes, keepdims
        out = self.reduce(a, axis=axes, keepdims=True)
        self.winners = a == out
        return out if keepdims else np.squeeze(out, axis=axes)

    def backward(self, grad):
        share = self.winners / self.winners.sum(axis=self.axes, keepdims=True)
        return (_expand(grad, self.axes, self.keepdims) * share,)


class Max(_Extreme):
    """Maximum over axes."""

    reduce = staticmethod(np.max)


class Min(_Extreme):
    """Minimum over axes."""

    reduce = staticmethod(np.min)


class Var(Function):
    """Variance sum((a - mean)^2) / (n - ddof); derivative 2 (a - mean) / (n - ddof)."""

    def forward(self, a, axes, keepdims, ddof):
        self.axes, self.keepdims = axes, keepdims
        n = math.prod(a.shape[ax] for ax in axes)
        if n - ddof <= 0:
            raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {n} elements")
        self.centered = a - a.mean(axis=axes, keepdims=True)
        self.dof = n - ddof
        return np.sum(self.centered**2, axis=axes, keepdims=keepdims) / self.dof

    def backward(self, grad):
        return (_expand(grad, self.axes, self.keepdims) * (2 / self.dof) * self.centered,)


def _stable_logsumexp(a, axes):
    """log(sum(exp(a))) over ``axes`` with keepdims, shifting by the max so exp cannot overflow."""
    shift = np.max(a, axis=axes, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    return shift + np.log(np.sum(np.exp(a - shift), axis=axes, keepdims=True))


class LogSumExp(Function):
    """log(sum(exp(a))); its derivative is softmax(a)."""

    def forward(self, a, axes, keepdims):
        self.a, self.axes, self.keepdims = a, axes, keepdims
        self.out = _stable_logsumexp(a, axes)
        return self.out if keepdims else np.squeeze(self.out, axis=axes)

    def backward(self, grad):
        return (_expand(grad, self.axes, self.keepdims) * np.exp(self.a - self.out),)


class Softmax(Function):
    """exp(a) / sum(exp(a)); backward s * (g - sum(g * s))."""

    def forward(self, a, axis):
        self.axis = axis
        e = np.exp(a - np.max(a, axis=axis, keepdims=True))
        self.out = e / np.sum(e, axis=axis, keepdims=True)
        return self.out

    def backward(self, grad):
        s = self.out
        return (s * (grad - np.sum(grad * s, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """a - logsumexp(a); backward g - softmax * sum(g)."""

    def forward(self, a, axis):
        self.axis = axis
        self.out = a - _stable_logsumexp(a, axis)
        return self.out

    def backward(self, grad):
        softmax = np.exp(self.out)
        return (grad - softmax * np.sum(grad, axis=self.axis, keepdims=True),)


def sum(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Sum of elements over ``axis`` (None: all; int or tuple)."""
    return Sum.apply(a, axes=_normalize_axis(axis, a.ndim), keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    """Mean of elements over ``axis``."""
    return Mean.apply(a, axes=_normalize_axis(axis, a.ndim), keepdims=keepdims)


def max(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    return Max.apply(a, axes=_normalize_axis(axis, a.ndim), keepdims=keepdims)


def min(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Minimum over ``axis``; tied minima share the gradient equally."""
    return Min.apply(a, axes=_normalize_axis(axis, a.ndim), keepdims=keepdims)


def var(a, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (default 0, as NumPy)."""
    return Var.apply(a, axes=_normalize_axis(axis, a.ndim), keepdims=keepdims, ddof=ddof)


def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) over ``axis``, computed without overflow."""
    return LogSumExp.apply(a, axes=_normalize_axis(axis, a.ndim), keepdims=keepdims)


def softmax(a, axis=-1):
    """Softmax along ``axis``, computed without overflow."""
    return Softmax.apply(a, axis=_normalize_axis(axis, a.ndim))


def log_softmax(a, axis=-1):
    """Log-softmax along ``axis``, computed without overflow or NaN."""
    return LogSoftmax.apply(a, axis=_normalize_axis(axis, a.ndim))
