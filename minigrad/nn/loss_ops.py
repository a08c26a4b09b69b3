"""Loss functions, each one fused Function with PyTorch's formula and a hand-written backward.

A loss built from primitive ops (log_softmax, indexing, mean) would leave four or five graph nodes
and as many temporary arrays per step; a fused loss is one node whose backward is the closed
form, e.g. softmax(x) - onehot(y) for cross-entropy. ``reduction`` is 'mean' (the default),
'sum' or 'none' (one loss per element, or per sample for the class losses).
"""

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor, as_tensor

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction, loss):
    """Raise ValueError unless ``reduction`` is 'mean', 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction):
    """Reduce the per-element ``loss`` array as asked (a 0-d array for 'mean' and 'sum')."""
    if reduction == "mean":
        return np.asarray(loss.sum() / loss.size)  # loss.mean() costs ~3x more per call
    if reduction == "sum":
        return np.asarray(loss.sum())
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
    if isinstance(target, Tensor):
        target = target.data
    elif not isinstance(target, np.ndarray):
        target = np.asarray(target)
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


def _kernels():
    """The compiled cross-entropy loops, imported on first use: ``import minigrad`` stays light."""
    global _loss_numba
    if _loss_numba is None:  # an import statement here would cost ~1 us on every call
        from minigrad.nn import loss_numba as _loss_numba
    return _loss_numba


_loss_numba = None


def _check_logits(input, loss):
    input = as_tensor(input)
    if input.ndim != 2:
        raise ValueError(f"{loss}: input must have shape (N, C), got {input.shape}")
    return input


# ------------------------------------------------------------------------ regression
class MSELoss(Function):
    """(input - target)^2; d/d input = 2 (input - target), d/d target the negative."""

    def forward(self, input, target, reduction):
        self.diff, self.reduction = input - target, reduction
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, grad):
        grad_input = 2 * _upstream(grad, self.reduction, self.diff.size) * self.diff
        return grad_input, (-grad_input if self.needs_input_grad[1] else None)


class L1Loss(Function):
    """|input - target|; d/d input = sign(input - target) (0 where they are equal)."""

    def forward(self, input, target, reduction):
        self.diff, self.reduction = input - target, reduction
        return _reduce(np.abs(self.diff), reduction)

    def backward(self, grad):
        grad_input = _upstream(grad, self.reduction, self.diff.size) * np.sign(self.diff)
        return grad_input, (-grad_input if self.needs_input_grad[1] else None)


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
class CrossEntropy(Function):
    """Softmax cross-entropy of logits (N, C) against class indices, with label smoothing.

    With smoothing e the target distribution is q = (1 - e) onehot(y) + e / C, so
    loss_i = (1 - e) (-log p_iy) + e * mean_c(-log p_ic) (PyTorch's formula), and the gradient
    with respect to the logits is simply p - q, where p = softmax(logits). The row loops run
    compiled (``loss_numba.py``); the target range is checked in the same pass.
    """

    def forward(self, logits, target, label_smoothing, reduction):
        kernels = _kernels()
        rows = len(target)
        probs = np.empty(logits.shape, logits.dtype)
        top, loss = np.empty(rows, logits.dtype), np.empty(rows, logits.dtype)
        if kernels.shift_rows(logits, target, probs, top) >= 0:
            raise _out_of_range(target, logits.shape[1], "cross_entropy")
        np.exp(probs, out=probs)
        kernels.normalise_rows(logits, target, label_smoothing, top, probs, loss)
        self.probs, self.target = probs, target
        self.smoothing, self.reduction = label_smoothing, reduction
        return _reduce(loss, reduction)

    def backward(self, grad):
        upstream = _upstream(grad, self.reduction, len(self.target))
        per_row = self.reduction == "none"
        grad_logits = np.empty_like(self.probs)
        _kernels().cross_entropy_grad(self.probs, self.target, self.smoothing,
                                      1.0 if per_row else float(upstream), grad_logits)
        if per_row:
            grad_logits *= upstream[:, None]
        return (grad_logits,)


class NLLLoss(Function):
    """-input[i, y_i] for log-probabilities (N, C); the gradient is -1 at each target entry."""

    def forward(self, log_probs, target, reduction):
        self.rows, self.target = np.arange(len(target)), target
        self.shape, self.reduction = log_probs.shape, reduction
        return _reduce(-log_probs[self.rows, target], reduction)

    def backward(self, grad):
        upstream = _upstream(grad, self.reduction, len(self.target))
        grad_input = np.zeros(self.shape, dtype=grad.dtype)
        grad_input[self.rows, self.target] = -upstream
        return (grad_input,)


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
    if input.dtype not in (np.float32, np.float64):  # the dtypes the compiled loops take
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
        self.logits, self.reduction = logits, reduction
        decay = np.exp(-np.abs(logits))  # in (0, 1]: both forms below stay finite
        loss = np.maximum(logits, 0) - logits * target + np.log1p(decay)
        # sigmoid(x) = 1 / (1 + e^-x) for x >= 0, and e^x / (1 + e^x) for x < 0.
        self.residual = np.where(logits >= 0, 1, decay) / (1 + decay) - target
        return _reduce(loss, reduction)

    def backward(self, grad):
        upstream = _upstream(grad, self.reduction, self.logits.size)
        grad_target = -upstream * self.logits if self.needs_input_grad[1] else None
        return upstream * self.residual, grad_target


class BCE(Function):
    """-(y log p + (1 - y) log(1 - p)) with each log clamped at -100, as PyTorch.

    d/dp = (p - y) / max(p (1 - p), 1e-12) and d/dy = log(1 - p) - log(p) (clamped logs).
    """

    def forward(self, probs, target, reduction):
        with np.errstate(divide="ignore"):
            self.log_p = np.maximum(np.log(probs), -100)
            self.log_q = np.maximum(np.log1p(-probs), -100)
        self.probs, self.target, self.reduction = probs, target, reduction
        return _reduce(-(target * self.log_p + (1 - target) * self.log_q), reduction)

    def backward(self, grad):
        upstream = _upstream(grad, self.reduction, self.probs.size)
        p = self.probs
        grad_probs = upstream * (p - self.target) / np.maximum(p * (1 - p), 1e-12)
        grad_target = None
        if self.needs_input_grad[1]:
            grad_target = upstream * (self.log_q - self.log_p)
        return grad_probs, grad_target


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """Binary cross-entropy of ``sigmoid(input)`` and ``target`` in [0, 1], stable for any logit."""
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _pair(input, target, "binary_cross_entropy_with_logits")
    return BCEWithLogits.apply(input, target, reduction=reduction)


def binary_cross_entropy(input, target, reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` in [0, 1] and ``target`` in [0, 1]."""
    check_reduction(reduction, "binary_cross_entropy")
    input, target = _pair(input, target, "binary_cross_entropy")
    if input.size and (input.data.min() < 0 or input.data.max() > 1):
        raise ValueError(
            "binary_cross_entropy: input must hold probabilities in [0, 1], got values from "
            f"{input.data.min()} to {input.data.max()} (use binary_cross_entropy_with_logits "
            "for logits)"
        )
    return BCE.apply(input, target, reduction=reduction)
