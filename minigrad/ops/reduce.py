"""Reductions over axes (sum, mean, max, min, var, logsumexp) and softmax.

A reduction's backward spreads the output gradient back over the reduced axes: it gives the
gradient back the reduced axes as length one (``_unreduce``), so that it broadcasts against the
input. Axes are normalised once, by ``axes.normalize_axes``, into a sorted tuple.
"""

import math

import numpy as np

from minigrad.autograd import Function
from minigrad.ops.axes import normalize_axes


def _unreduce(xp, grad, axes, keepdims):
    """``grad`` with the reduced ``axes`` back as length one (unless they were kept)."""
    return grad if keepdims else xp.expand_dims(grad, axes)


def _kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` kept as length one."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class _Reduction(Function):
    """Shared set-up of the reductions: remember the input shape, the axes and keepdims."""

    def _remember(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims


class Sum(_Reduction):
    """Sum over axes; every input element gets the output's gradient."""

    saves_inputs = False

    def forward(self, a, axes, keepdims):
        self._remember(a, axes, keepdims)
        return np.asarray(a.sum(axis=axes, keepdims=keepdims))

    def backward(self, xp, grad, a, out):
        return (xp.broadcast_to(_unreduce(xp, grad, self.axes, self.keepdims), self.shape),)

    def jvp(self, xp, tangents, a, out):
        return xp.sum(tangents[0], axis=self.axes, keepdims=self.keepdims)


class Mean(_Reduction):
    """Mean over axes; every input element gets 1/n of the output's gradient.

    float16 is summed in float32 (as PyTorch does), so a long float16 mean cannot overflow.
    """

    saves_inputs = False

    def forward(self, a, axes, keepdims):
        self._remember(a, axes, keepdims)
        self.count = math.prod(a.shape[ax] for ax in axes)
        if a.dtype == np.float16:
            return np.mean(a, axis=axes, keepdims=keepdims, dtype=np.float32).astype(a.dtype)
        if a.dtype.kind != "f":
            return np.asarray(np.mean(a, axis=axes, keepdims=keepdims))
        return np.asarray(a.sum(axis=axes, keepdims=keepdims) / self.count)

    def backward(self, xp, grad, a, out):
        spread = _unreduce(xp, grad, self.axes, self.keepdims) / self.count
        return (xp.broadcast_to(spread, self.shape),)

    def jvp(self, xp, tangents, a, out):
        return xp.sum(tangents[0], axis=self.axes, keepdims=self.keepdims) / self.count


class _Extreme(_Reduction):
    """Max or min over axes: the gradient goes to the extreme elements.

    Tied extremes share the gradient equally (as ``torch.amax``). When the result is NaN, the
    NaNs are the extremes and share the gradient (as ``torch.max`` does).
    """

    saves_inputs = False
    reduce = None

    def forward(self, a, axes, keepdims):
        if any(a.shape[ax] == 0 for ax in axes) or (not axes and a.size == 0):
            raise ValueError(f"{self.name.lower()}: cannot reduce an empty axis of a tensor of "
                             f"shape {a.shape}")
        self._remember(a, axes, keepdims)
        out = self.reduce(a, axis=axes, keepdims=True)
        winners = a == out
        if a.dtype.kind == "f":
            winners |= np.isnan(a) & np.isnan(out)
        self.share = (winners / winners.sum(axis=axes, keepdims=True)).astype(a.dtype)
        return out if keepdims else np.squeeze(out, axis=axes)

    def backward(self, xp, grad, a, out):
        return (_unreduce(xp, grad, self.axes, self.keepdims) * self.share,)

    def jvp(self, xp, tangents, a, out):
        return xp.sum(tangents[0] * self.share, axis=self.axes, keepdims=self.keepdims)


class Max(_Extreme):
    """Maximum over axes."""

    reduce = staticmethod(np.max)


class Min(_Extreme):
    """Minimum over axes."""

    reduce = staticmethod(np.min)


class Var(_Reduction):
    """Variance sum((a - mean)^2) / (n - ddof); derivative 2 (a - mean) / (n - ddof)."""

    def forward(self, a, axes, keepdims, ddof):
        self._remember(a, axes, keepdims)
        n = math.prod(a.shape[ax] for ax in axes)
        if n - ddof <= 0:
            raise ValueError(f"var: ddof={ddof} leaves no degrees of freedom for {n} elements")
        self.dof = n - ddof
        centered = a - a.mean(axis=axes, keepdims=True)
        return np.asarray(np.sum(centered * centered, axis=axes, keepdims=keepdims) / self.dof)

    def _centered(self, xp, a):
        return a - xp.mean(a, axis=self.axes, keepdims=True)

    def backward(self, xp, grad, a, out):
        grad = _unreduce(xp, grad, self.axes, self.keepdims)
        return (grad * (2 / self.dof) * self._centered(xp, a),)

    def jvp(self, xp, tangents, a, out):
        # The mean's own tangent drops out: the centered values sum to zero.
        spread = xp.sum(self._centered(xp, a) * tangents[0], axis=self.axes,
                        keepdims=self.keepdims)
        return spread * (2 / self.dof)


def _logsumexp_kept(a, axes):
    """log(sum(exp(a))) over ``axes`` with keepdims, shifting by the max so exp cannot overflow.

    Over an empty axis the sum is 0 and the result -inf, as in PyTorch.
    """
    if any(a.shape[ax] == 0 for ax in axes):
        return np.full(_kept_shape(a.shape, axes), -np.inf, dtype=a.dtype)
    shift = _finite_max(a, axes)
    return shift + np.log(np.sum(np.exp(a - shift), axis=axes, keepdims=True))


def _finite_max(a, axes):
    """The max over ``axes`` (kept), or 0 where it is infinite: the shift that keeps exp finite."""
    shift = np.max(a, axis=axes, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0)


class LogSumExp(_Reduction):
    """log(sum(exp(a))); its derivative is softmax(a) = exp(a - logsumexp(a))."""

    def forward(self, a, axes, keepdims):
        self._remember(a, axes, keepdims)
        out = _logsumexp_kept(a, axes)
        return out if keepdims else np.squeeze(out, axis=axes)

    def _softmax(self, xp, a, out):
        return xp.exp(a - _unreduce(xp, out, self.axes, self.keepdims))

    def backward(self, xp, grad, a, out):
        return (_unreduce(xp, grad, self.axes, self.keepdims) * self._softmax(xp, a, out),)

    def jvp(self, xp, tangents, a, out):
        return xp.sum(tangents[0] * self._softmax(xp, a, out), axis=self.axes,
                      keepdims=self.keepdims)


class Softmax(Function):
    """s = exp(a) / sum(exp(a)); backward s * (g - sum(g * s)), and the same form for jvp."""

    saves_inputs = False

    def forward(self, a, axes):
        self.axes = axes
        e = np.exp(a - np.max(a, axis=axes, keepdims=True))
        return e / np.sum(e, axis=axes, keepdims=True)

    def backward(self, xp, grad, a, out):
        return (out * (grad - xp.sum(grad * out, axis=self.axes, keepdims=True)),)

    def jvp(self, xp, tangents, a, out):
        da = tangents[0]
        return out * (da - xp.sum(da * out, axis=self.axes, keepdims=True))


class LogSoftmax(Function):
    """a - logsumexp(a); backward g - softmax * sum(g), jvp t - sum(softmax * t)."""

    saves_inputs = False

    def forward(self, a, axes):
        self.axes = axes
        if any(a.shape[ax] == 0 for ax in axes):
            return a.copy()
        # (a - max) - log(sum(exp(a - max))): subtracting the max first keeps float32 exact for
        # logits near 1e4, where max + log(sum) would round to the spacing of 1e4.
        shifted = a - _finite_max(a, axes)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axes, keepdims=True))

    def backward(self, xp, grad, a, out):
        return (grad - xp.exp(out) * xp.sum(grad, axis=self.axes, keepdims=True),)

    def jvp(self, xp, tangents, a, out):
        da = tangents[0]
        return da - xp.sum(xp.exp(out) * da, axis=self.axes, keepdims=True)


def sum(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Sum of elements over ``axis`` (None: all; int or tuple)."""
    return Sum.apply(a, axes=normalize_axes(axis, a.ndim, "sum"), keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    """Mean of elements over ``axis``."""
    return Mean.apply(a, axes=normalize_axes(axis, a.ndim, "mean"), keepdims=keepdims)


def max(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    return Max.apply(a, axes=normalize_axes(axis, a.ndim, "max"), keepdims=keepdims)


def min(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Minimum over ``axis``; tied minima share the gradient equally."""
    return Min.apply(a, axes=normalize_axes(axis, a.ndim, "min"), keepdims=keepdims)


def var(a, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (default 0, as NumPy)."""
    return Var.apply(a, axes=normalize_axes(axis, a.ndim, "var"), keepdims=keepdims, ddof=ddof)


def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) over ``axis``, computed without overflow (-inf over an empty axis)."""
    return LogSumExp.apply(a, axes=normalize_axes(axis, a.ndim, "logsumexp"), keepdims=keepdims)


def softmax(a, axis=-1):
    """Softmax along ``axis``, computed without overflow."""
    return Softmax.apply(a, axes=normalize_axes(axis, a.ndim, "softmax"))


def log_softmax(a, axis=-1):
    """Log-softmax along ``axis``, computed without overflow or NaN."""
    return LogSoftmax.apply(a, axes=normalize_axes(axis, a.ndim, "log_softmax"))
