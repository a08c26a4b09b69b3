"""Loss functions, each one fused Function with PyTorch's formula and its closed-form derivatives.

A loss built from primitive ops (log_softmax, indexing, mean) would leave four or five graph nodes
and as many temporary arrays per step; a fused loss is one node whose backward is the closed
form, e.g. softmax(x) - onehot(y) for cross-entropy. Like every Function, each has a backward and
a jvp rule written with ``xp``, so losses support second derivatives and forward mode.
``reduction`` is 'mean' (the default), 'sum' or 'none' (one loss per element, or per sample for
the class losses).
"""

import numpy as np

from minigrad._numba import compiled
from minigrad.autograd import Function
from minigrad.ops import xp_numpy
from minigrad.ops.elementwise import sum_tangents
from minigrad.tensor import Tensor, as_array, as_tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, loss):
    """Raise ValueError unless ``reduction`` is 'mean', 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(xp, loss, reduction):
    """Reduce the per-element ``loss`` as asked: its mean, its sum, or itself ('none')."""
    if reduction == "mean":
        return xp.mean(loss)
    if reduction == "sum":
        return xp.sum(loss)
    return loss


def _upstream(grad, reduction, count):
    """The incoming gradient as a factor per element: scaled by 1/count for 'mean'."""
    if reduction == "mean":
        return grad / count
    return grad


def _pair(input, target, loss):
    """Input and target as Tensors of the same shape (floating), else ValueError naming both."""
    input = as_tensor(input)
    target = as_tensor(target, input)
    if input.shape != target.shape:
        raise ValueError(
            f"{loss}: target shape {target.shape} differs from input shape {input.shape} "
            "(broadcasting them is almost always a bug, so it is refused)"
        )
    if target.dtype.kind != "f":
        raise ValueError(f"{loss}: target must be floating-point, got dtype {target.dtype}")
    return input, target


def _class_targets(target, batch, loss):
    """Check integer class targets of shape (batch,) and return them as an array."""
    target = as_array(target.data if isinstance(target, Tensor) else target)
    if target.dtype.kind not in "iu":
        raise ValueError(
            f"{loss}: target must hold integer class indices, got dtype {target.dtype}"
        )
    if target.shape != (batch,):
        raise ValueError(f"{loss}: target has shape {target.shape}, expected ({batch},)")
    return target


def _out_of_range(target, classes, loss):
    """The ValueError for class targets outside [0, classes), listing the first few."""
    bad = target[(target < 0) | (target >= classes)]
    return ValueError(f"{loss}: target values must be in [0, {classes}), got {bad[:5].tolist()}")


def _check_logits(input, loss):
    input = as_tensor(input)
    if input.ndim != 2:
        raise ValueError(f"{loss}: input must have shape (N, C), got {input.shape}")
    return input


# ------------------------------------------------------------------------ regression
class MSELoss(Function):
    """(input - target)^2; d/d input = 2 (input - target), d/d target the negative."""

    def forward(self, input, target, reduction):
        self.reduction = reduction
        diff = input - target
        return np.asarray(_reduce(np, diff * diff, reduction))

    def backward(self, xp, grad, input, target, out):
        grad_input = 2 * _upstream(grad, self.reduction, input.size) * (input - target)
        return grad_input, (-grad_input if self.needs_input_grad[1] else None)

    def jvp(self, xp, tangents, input, target, out):
        d_diff = sum_tangents(tangents[0], None if tangents[1] is None else -tangents[1])
        return _reduce(xp, 2 * (input - target) * d_diff, self.reduction)


class L1Loss(Function):
    """|input - target|; d/d input = sign(input - target) (0 where they are equal)."""

    def forward(self, input, target, reduction):
        self.reduction = reduction
        return np.asarray(_reduce(np, np.abs(input - target), reduction))

    def backward(self, xp, grad, input, target, out):
        grad_input = _upstream(grad, self.reduction, input.size) * xp.sign(input - target)
        return grad_input, (-grad_input if self.needs_input_grad[1] else None)

    def jvp(self, xp, tangents, input, target, out):
        d_diff = sum_tangents(tangents[0], None if tangents[1] is None else -tangents[1])
        return _reduce(xp, xp.sign(input - target) * d_diff, self.reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (input - target)^2, as ``torch.nn.functional.mse_loss``."""
    check_reduction(reduction, "mse_loss")
    input, target = _pair(input, target, "mse_loss")
    return MSELoss.apply(input, target, reduction=reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error |input - target|, as ``torch.nn.functional.l1_loss``."""
    check_reduction(reduction, "l1_loss")
    input, target = _pair(input, target, "l1_loss")
    return L1Loss.apply(input, target, reduction=reduction)


# ------------------------------------------------------------------- classification
def softmax_cross_entropy(logits, target, smoothing):
    """(probs, loss): each row's softmax and cross-entropy; None if a target is out of range.

    The NumPy original of the compiled loops in loss_numba.py (used when Numba is absent or
    disabled). loss_i = -log p_iy, or with label smoothing e, (1 - e) (-log p_iy) +
    e mean_c(-log p_ic), where -log p_ic = log(sum_c exp(z_ic - m_i)) - (z_ic - m_i) and m_i is the
    row's maximum (so exp cannot overflow). Sums of exponentials are taken in float64.
    """
    rows, classes = logits.shape
    if rows and (target.min() < 0 or target.max() >= classes):
        return None
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True, dtype=np.float64)
    probs = (exp / total).astype(logits.dtype)
    log_total = np.log(total[:, 0])
    loss = log_total - shifted[np.arange(rows), target]
    if smoothing != 0:
        loss = (1 - smoothing) * loss + smoothing * (log_total - shifted.mean(axis=1))
    return probs, loss.astype(logits.dtype)


def cross_entropy_grad(probs, target, smoothing, scale):
    """(probs - q) * scale, q the smoothed one-hot targets: the gradient of the loss's sum.

    The NumPy original of the compiled loop in loss_numba.py.
    """
    rows, classes = probs.shape
    grad = probs - probs.dtype.type(smoothing / classes)
    grad[np.arange(rows), target] -= probs.dtype.type(1 - smoothing)
    grad *= scale
    return grad


def _cross_entropy_loops():
    """The compiled row loops when Numba is available and enabled, else the NumPy originals."""
    return compiled("minigrad.nn.loss_numba") or _NUMPY_LOOPS


class _NumpyLoops:
    """The NumPy originals under the names the compiled module uses."""

    softmax_cross_entropy = staticmethod(softmax_cross_entropy)
    cross_entropy_grad = staticmethod(cross_entropy_grad)


_NUMPY_LOOPS = _NumpyLoops()


class CrossEntropy(Function):
    """Softmax cross-entropy of logits (N, C) against class indices, with label smoothing.

    With smoothing e the target distribution is q = (1 - e) onehot(y) + e / C, so
    loss_i = (1 - e) (-log p_iy) + e * mean_c(-log p_ic) (PyTorch's formula), and the gradient
    with respect to the logits is simply p - q, where p = softmax(logits). The row loops run
    compiled when Numba is available (``loss_numba.py``), else as their NumPy originals above.
    """

    saves_inputs = False

    def forward(self, logits, target, label_smoothing, reduction):
        result = _cross_entropy_loops().softmax_cross_entropy(logits, target, label_smoothing)
        if result is None:
            raise _out_of_range(target, logits.shape[1], "cross_entropy")
        self.probs, loss = result
        self.target, self.smoothing, self.reduction = target, label_smoothing, reduction
        return np.asarray(_reduce(np, loss, reduction))

    def _target_distribution(self):
        """q = (1 - e) onehot(y) + e / C, as an array."""
        rows, classes = self.probs.shape
        q = np.full(self.probs.shape, self.smoothing / classes, dtype=self.probs.dtype)
        q[np.arange(rows), self.target] += 1 - self.smoothing
        return q

    def _per_row(self, xp, upstream):
        """The incoming gradient as a column factor for each row (shape (N, 1) or a scalar)."""
        return xp.expand_dims(upstream, 1) if self.reduction == "none" else upstream

    def backward(self, xp, grad, logits, out):
        upstream = _upstream(grad, self.reduction, len(self.target))
        if xp is not xp_numpy:  # differentiable: p - q with p = softmax(logits) as an operation
            probs = xp.softmax(logits, axis=1)
            return ((probs - self._target_distribution()) * self._per_row(xp, upstream),)
        if self.reduction == "none":
            loops = _cross_entropy_loops()
            return (loops.cross_entropy_grad(self.probs, self.target, self.smoothing, 1.0)
                    * upstream[:, None],)
        return (_cross_entropy_loops().cross_entropy_grad(self.probs, self.target,
                                                          self.smoothing, float(upstream)),)

    def jvp(self, xp, tangents, logits, out):
        probs = self.probs if xp is xp_numpy else xp.softmax(logits, axis=1)
        per_row = xp.sum((probs - self._target_distribution()) * tangents[0], axis=1)
        return _reduce(xp, per_row, self.reduction)


class NLLLoss(Function):
    """-input[i, y_i] for log-probabilities (N, C); the gradient is -1 at each target entry."""

    saves_inputs = False

    def forward(self, log_probs, target, reduction):
        self.picks = (np.arange(len(target)), target)
        self.shape, self.reduction = log_probs.shape, reduction
        return np.asarray(_reduce(np, -log_probs[self.picks], reduction))

    def backward(self, xp, grad, log_probs, out):
        upstream = _upstream(grad, self.reduction, len(self.picks[0]))
        if self.reduction != "none":
            upstream = xp.broadcast_to(upstream, self.picks[0].shape)
        return (xp.scatter_add(-upstream, self.picks, self.shape),)

    def jvp(self, xp, tangents, log_probs, out):
        return _reduce(xp, -tangents[0][self.picks], self.reduction)


def cross_entropy(input, target, label_smoothing=0.0, reduction="mean"):
    """Cross-entropy of logits ``input`` (N, C) and integer class ``target`` (N,).

    Equal to ``nll_loss(log_softmax(input, axis=1), target)`` when ``label_smoothing`` is 0, but
    computed in one stable pass (logits of +-1e4 are fine). As PyTorch, without class weights or
    ``ignore_index``.
    """
    check_reduction(reduction, "cross_entropy")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(
            f"cross_entropy: label_smoothing={label_smoothing} is outside [0, 1]"
        )
    input = _check_logits(input, "cross_entropy")
    if input.dtype not in (np.float32, np.float64):  # minigrad's float dtypes
        raise ValueError(
            f"cross_entropy: logits must be float32 or float64, got dtype {input.dtype}"
        )
    target = _class_targets(target, input.shape[0], "cross_entropy")
    return CrossEntropy.apply(
        input, target=target, label_smoothing=float(label_smoothing), reduction=reduction
    )


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C) at class ``target`` (N,)."""
    check_reduction(reduction, "nll_loss")
    input = _check_logits(input, "nll_loss")
    target = _class_targets(target, input.shape[0], "nll_loss")
    # One pass instead of min() and max(): seen as unsigned, a negative index is huge.
    if len(target) and target.view(f"u{target.dtype.itemsize}").max() >= input.shape[1]:
        raise _out_of_range(target, input.shape[1], "nll_loss")
    return NLLLoss.apply(input, target=target, reduction=reduction)


# ---------------------------------------------------------------------------- binary
class BCEWithLogits(Function):
    """Binary cross-entropy of sigmoid(x) against y, computed from the logit x.

    loss = max(x, 0) - x y + log(1 + e^-|x|) is exact and never overflows;
    d/dx = sigmoid(x) - y and d/dy = -x.
    """

    def forward(self, logits, target, reduction):
        self.reduction = reduction
        decay = np.exp(-np.abs(logits))  # in (0, 1]: log1p(decay) stays finite
        loss = np.maximum(logits, 0) - logits * target + np.log1p(decay)
        return np.asarray(_reduce(np, loss, reduction))

    def backward(self, xp, grad, logits, target, out):
        upstream = _upstream(grad, self.reduction, logits.size)
        grad_target = -upstream * logits if self.needs_input_grad[1] else None
        return upstream * (xp.sigmoid(logits) - target), grad_target

    def jvp(self, xp, tangents, logits, target, out):
        dx, dy = tangents
        per_element = sum_tangents(None if dx is None else (xp.sigmoid(logits) - target) * dx,
                                   None if dy is None else -logits * dy)
        return _reduce(xp, per_element, self.reduction)


class BCE(Function):
    """-(y log p + (1 - y) log(1 - p)) with each log clamped at -100, as PyTorch.

    d/dp = (p - y) / max(p (1 - p), 1e-12) and d/dy = log(1 - p) - log(p) (clamped logs).
    """

    def forward(self, probs, target, reduction):
        self.reduction = reduction
        log_p, log_q = self._clamped_logs(np, probs)
        return np.asarray(_reduce(np, -(target * log_p + (1 - target) * log_q), reduction))

    @staticmethod
    def _clamped_logs(xp, p):
        """(log p, log(1 - p)), each clamped at -100 so that p = 0 or 1 gives a finite loss."""
        with np.errstate(divide="ignore"):
            return xp.maximum(xp.log(p), -100), xp.maximum(xp.log(1 - p), -100)

    def _derivatives(self, xp, p, y):
        log_p, log_q = self._clamped_logs(xp, p)
        return (p - y) / xp.maximum(p * (1 - p), 1e-12), log_q - log_p

    def backward(self, xp, grad, probs, target, out):
        upstream = _upstream(grad, self.reduction, probs.size)
        d_probs, d_target = self._derivatives(xp, probs, target)
        grad_target = upstream * d_target if self.needs_input_grad[1] else None
        return upstream * d_probs, grad_target

    def jvp(self, xp, tangents, probs, target, out):
        dp, dy = tangents
        d_probs, d_target = self._derivatives(xp, probs, target)
        per_element = sum_tangents(None if dp is None else d_probs * dp,
                                   None if dy is None else d_target * dy)
        return _reduce(xp, per_element, self.reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(input)`` and ``target`` in [0, 1], stable for any logit."""
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _pair(input, target, "binary_cross_entropy_with_logits")
    return BCEWithLogits.apply(input, target, reduction=reduction)


def binary_cross_entropy(input, target, reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` in [0, 1] and ``target`` in [0, 1]."""
    check_reduction(reduction, "binary_cross_entropy")
    input, target = _pair(input, target, "binary_cross_entropy")
    # Written so that NaN fails it too: every comparison with NaN is False.
    if input.size and not (input.data.min() >= 0 and input.data.max() <= 1):
        raise ValueError(
            "binary_cross_entropy: input must hold probabilities in [0, 1], got values from "
            f"{input.data.min()} to {input.data.max()} (use binary_cross_entropy_with_logits "
            "for logits)"
        )
    return BCE.apply(input, target, reduction=reduction)
