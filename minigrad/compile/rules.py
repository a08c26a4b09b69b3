"""How each minigrad operation becomes primitives: its forward written here, its backward its own.

``FORWARD[cls](xp, fn, *inputs, **params)`` records the forward of the Function class ``cls``
with the builder ``xp`` on Values, mirroring ``cls.forward`` line by line (same operations,
same order, so the compiled step computes what eager computes). ``fn`` is a copy of the traced
Function instance: a rule sets on it, as Values, what the forward keeps for the backward that
depends on the data (a mask, the softmax of a loss), exactly as ``cls.forward`` sets arrays.

The backward is then the operation's own rule, ``cls.backward(fn, xp, grad, *inputs, out)``,
run on Values: derivative rules are written once, for arrays, Tensors and Values alike. Only the
fused losses whose array rule calls compiled loops have their backward here (``BACKWARD``).

An operation with no rule here, or whose rule raises ``NotLowerable`` (batched matmul, fancy
indexing), is called whole at every replay: ``cls().forward(...)`` and its backward on arrays,
exactly as the eager engine calls them. The recurrent layers are such calls.
"""

import numpy as np

from minigrad.nn import functional, loss_ops
from minigrad.ops import elementwise as ew
from minigrad.ops import linalg, reduce, shape

FORWARD = {}
BACKWARD = {}


def lowers(*classes):
    """Register the decorated function as the forward rule of ``classes``."""
    def register(rule):
        for cls in classes:
            FORWARD[cls] = rule
        return rule
    return register


def backward_rule(fn, xp, grad, inputs, out):
    """The gradients of ``fn``'s inputs as Values: its class's rule, or one of ``BACKWARD``."""
    rule = BACKWARD.get(type(fn))
    if rule is not None:
        return rule(xp, fn, grad, *inputs, out=out)
    return type(fn).backward(fn, xp, grad, *inputs, out=out)


# ------------------------------------------------------------------------------ elementwise
@lowers(ew.Add)
def _add(xp, fn, a, b):
    return a + b


@lowers(ew.Sub)
def _sub(xp, fn, a, b):
    return a - b


@lowers(ew.Mul)
def _mul(xp, fn, a, b):
    return a * b


@lowers(ew.Div)
def _div(xp, fn, a, b):
    return a / b


@lowers(ew.Neg)
def _neg(xp, fn, a):
    return -a


@lowers(ew.Pow)
def _pow(xp, fn, a, exponent):
    return a**exponent


@lowers(ew.PowTensor)
def _pow_tensor(xp, fn, a, b):
    return a**b


@lowers(ew.Exp)
def _exp(xp, fn, a):
    return xp.exp(a)


@lowers(ew.Log)
def _log(xp, fn, a):
    return xp.log(a)


@lowers(ew.Sqrt)
def _sqrt(xp, fn, a):
    return xp.sqrt(a)


@lowers(ew.Abs)
def _abs(xp, fn, a):
    return xp.abs(a)


@lowers(ew.Tanh)
def _tanh(xp, fn, a):
    return xp.tanh(a)


@lowers(ew.Sigmoid)
def _sigmoid(xp, fn, a):
    return xp.sigmoid(a)


@lowers(ew.ReLU)
def _relu(xp, fn, a):
    return xp.maximum(a, a.dtype.type(0))


@lowers(ew.Clip)
def _clip(xp, fn, a, low, high):
    out, inside = a, []
    if low is not None:
        inside.append(a >= low)
        out = xp.maximum(out, low)
    if high is not None:
        inside.append(a <= high)
        out = xp.minimum(out, high)
    fn.inside = inside[0] if len(inside) == 1 else inside[0] & inside[1]
    return out


@lowers(ew.Maximum)
def _maximum(xp, fn, a, b):
    out = xp.maximum(a, b)
    fn.share_a = xp.astype((a > b) + 0.5 * (a == b), out.dtype)
    return out


@lowers(ew.Minimum)
def _minimum(xp, fn, a, b):
    out = xp.minimum(a, b)
    fn.share_a = xp.astype((a < b) + 0.5 * (a == b), out.dtype)
    return out


@lowers(ew.Where)
def _where(xp, fn, a, b, cond):
    fn.cond = cond
    return xp.where(cond, a, b)


# ------------------------------------------------------------------------- linear algebra
@lowers(linalg.MatMul)
def _matmul(xp, fn, a, b):
    return xp.matmul(a, b)


@lowers(functional.Linear)
def _linear(xp, fn, x, weight, bias=None):
    out = xp.matmul(x, weight.T)
    return out if bias is None else out + bias


@lowers(functional.Dropout)
def _dropout(xp, fn, x, p):
    if p == 1:
        fn.mask = xp.zeros_like(x)
    else:
        keep = xp.uniform(x.shape, x.dtype) >= p
        fn.mask = xp.astype(keep, x.dtype) * x.dtype.type(1 / (1 - p))
    return x * fn.mask


# ----------------------------------------------------------------------------- reductions
@lowers(reduce.Sum)
def _sum(xp, fn, a, axes, keepdims):
    return xp.sum(a, axis=axes, keepdims=keepdims)


@lowers(reduce.Mean)
def _mean(xp, fn, a, axes, keepdims):
    if a.dtype.kind != "f" or a.dtype == np.float16:
        raise xp.not_lowerable("a mean of integers or float16")
    return xp.sum(a, axis=axes, keepdims=keepdims) / fn.count


@lowers(reduce.Max, reduce.Min)
def _extreme(xp, fn, a, axes, keepdims):
    if isinstance(fn, reduce.Min):
        kept = -xp.max(-a, axis=axes, keepdims=True)
    else:
        kept = xp.max(a, axis=axes, keepdims=True)
    winners = a == kept
    if a.dtype.kind == "f":
        winners = winners | (xp.isnan(a) & xp.isnan(kept))
    fn.share = xp.astype(winners / xp.sum(winners, axis=axes, keepdims=True), a.dtype)
    return kept if keepdims else xp.reshape(kept, _without(a.shape, axes))


def _without(shape, axes):
    """``shape`` with ``axes`` removed."""
    return tuple(n for i, n in enumerate(shape) if i not in axes)


@lowers(reduce.Var)
def _var(xp, fn, a, axes, keepdims, ddof):
    centered = a - xp.mean(a, axis=axes, keepdims=True)
    return xp.sum(centered * centered, axis=axes, keepdims=keepdims) / fn.dof


def _finite_max(xp, a, axes):
    shift = xp.max(a, axis=axes, keepdims=True)
    return xp.where(xp.isfinite(shift), shift, 0)


@lowers(reduce.LogSumExp)
def _logsumexp(xp, fn, a, axes, keepdims):
    if any(a.shape[ax] == 0 for ax in axes):
        raise xp.not_lowerable("logsumexp over an empty axis")
    shift = _finite_max(xp, a, axes)
    kept = shift + xp.log(xp.sum(xp.exp(a - shift), axis=axes, keepdims=True))
    return kept if keepdims else xp.reshape(kept, _without(a.shape, axes))


@lowers(reduce.Softmax)
def _softmax(xp, fn, a, axes):
    e = xp.exp(a - xp.max(a, axis=axes, keepdims=True))
    return e / xp.sum(e, axis=axes, keepdims=True)


@lowers(reduce.LogSoftmax)
def _log_softmax(xp, fn, a, axes):
    if any(a.shape[ax] == 0 for ax in axes):
        raise xp.not_lowerable("log_softmax over an empty axis")
    shifted = a - _finite_max(xp, a, axes)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axes, keepdims=True))


# ---------------------------------------------------------------------------------- shapes
@lowers(shape.Reshape)
def _reshape(xp, fn, a, shape):
    return xp.reshape(a, shape)


@lowers(shape.Transpose)
def _transpose(xp, fn, a, axes):
    return xp.transpose(a, axes)


@lowers(shape.BroadcastTo)
def _broadcast_to(xp, fn, a, shape):
    return xp.broadcast_to(a, shape)


# ---------------------------------------------------------------------------------- losses
@lowers(loss_ops.MSELoss)
def _mse(xp, fn, input, target, reduction):
    diff = input - target
    return loss_ops._reduce(xp, diff * diff, reduction)


@lowers(loss_ops.L1Loss)
def _l1(xp, fn, input, target, reduction):
    return loss_ops._reduce(xp, xp.abs(input - target), reduction)


@lowers(loss_ops.BCEWithLogits)
def _bce_with_logits(xp, fn, logits, target, reduction):
    decay = xp.exp(-xp.abs(logits))
    loss = xp.maximum(logits, 0) - logits * target + xp.log1p(decay)
    return loss_ops._reduce(xp, loss, reduction)


@lowers(loss_ops.BCE)
def _bce(xp, fn, probs, target, reduction):
    log_p, log_q = xp.maximum(xp.log(probs), -100), xp.maximum(xp.log(1 - probs), -100)
    return loss_ops._reduce(xp, -(target * log_p + (1 - target) * log_q), reduction)


@lowers(loss_ops.CrossEntropy)
def _cross_entropy(xp, fn, logits, target, label_smoothing, reduction):
    """As ``loss_numba.softmax_cross_entropy``: shift by the row max, sum exp in float64."""
    rows, classes = logits.shape
    xp.check_index(target, classes, "cross_entropy")
    shifted = logits - xp.max(logits, axis=1, keepdims=True)
    exp = xp.exp(shifted)
    total = xp.sum(exp, axis=1, keepdims=True, dtype=np.float64)
    fn.probs, fn.target = xp.astype(exp / total, logits.dtype), target
    log_total = xp.reshape(xp.log(total), (rows,))
    loss = log_total - xp.pick(shifted, target)
    if label_smoothing != 0:
        mean_shifted = xp.sum(shifted, axis=1, dtype=np.float64) / classes
        loss = (1 - label_smoothing) * loss + label_smoothing * (log_total - mean_shifted)
    return loss_ops._reduce(xp, xp.astype(loss, logits.dtype), reduction)


def _cross_entropy_backward(xp, fn, grad, logits, out):
    """(p - q) * upstream, q the smoothed one-hot targets (as ``loss_numba``'s loop)."""
    rows, classes = logits.shape
    upstream = loss_ops._upstream(grad, fn.reduction, rows)
    hit = xp.where(xp.index_eq(fn.target, classes), 1 - fn.smoothing, 0.0)
    p_minus_q = xp.astype(fn.probs, np.float64) - hit - fn.smoothing / classes
    if fn.reduction == "none":
        return (xp.astype(p_minus_q, logits.dtype) * xp.expand_dims(upstream, 1),)
    return (xp.astype(p_minus_q * xp.astype(upstream, np.float64), logits.dtype),)


BACKWARD[loss_ops.CrossEntropy] = _cross_entropy_backward


@lowers(loss_ops.NLLLoss)
def _nll(xp, fn, log_probs, target, reduction):
    xp.check_index(target, log_probs.shape[1], "nll_loss")
    fn.target = target
    return loss_ops._reduce(xp, -xp.pick(log_probs, target), reduction)


def _nll_backward(xp, fn, grad, log_probs, out):
    """-upstream at each row's target entry, 0 elsewhere (the scatter of the eager rule)."""
    rows, classes = log_probs.shape
    upstream = loss_ops._upstream(grad, fn.reduction, rows)
    column = xp.expand_dims(upstream, 1) if fn.reduction == "none" else upstream
    return (xp.where(xp.index_eq(fn.target, classes), -column, 0),)


BACKWARD[loss_ops.NLLLoss] = _nll_backward

