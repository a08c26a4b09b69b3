"""Every differentiable operation as a test case: a minigrad function, its PyTorch twin, inputs.

The derivative tests (first and second order, forward mode, against finite differences and
against torch) run over this one list, so an operation added here is checked every way. Inputs
are float64 and chosen away from kinks and ties (see helpers.py), so finite differences hold.
"""

from dataclasses import dataclass

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import ops


@dataclass
class Case:
    """One operation: ``fn(*tensors)`` and ``torch_fn(*torch_tensors)`` on inputs from ``make``."""

    name: str
    fn: object
    make: object  # rng -> list of float64 arrays
    torch_fn: object = None


def uniform(*shape, low=-1.0, high=1.0):
    return lambda rng: rng.uniform(low, high, size=shape)


def apart(*shape):
    """Distinct values well apart, never 0 (no ties, no kinks nearby)."""
    def make(rng):
        count = int(np.prod(shape))
        values = (rng.permutation(count) - count / 2 + 0.5) * (2.0 / count)
        return values.reshape(shape)
    return make


def apart_from(*shape, shift=0.1):
    """Like ``apart``, shifted so that it never ties with ``apart`` of the same shape."""
    base = apart(*shape)
    return lambda rng: base(rng) + shift


def inputs(*makers):
    return lambda rng: [make(rng) for make in makers]


TARGETS = np.array([1, 0, 3, 3])  # class targets for the (4, 5) logits below
BINARY = np.array([[0.0, 1.0, 0.3], [1.0, 0.2, 0.0]])


def _torch_ce(x, smoothing=0.0, reduction="mean"):
    import torch
    return torch.nn.functional.cross_entropy(x, torch.as_tensor(TARGETS),
                                             label_smoothing=smoothing, reduction=reduction)


def _torch_unfold(x):
    import torch
    n, c, _ = x.shape
    cols = torch.nn.functional.unfold(x[..., None], (3, 1), dilation=(2, 1), padding=(1, 0),
                                      stride=(2, 1))  # (N, C * K, L_out)
    return cols.reshape(n, c, 3, -1).permute(0, 3, 2, 1).reshape(n, -1, 3 * c)


def _torch_fold(cols):
    import torch
    n, count, width = cols.shape
    c = width // 3
    torch_cols = cols.reshape(n, count, 3, c).permute(0, 3, 2, 1).reshape(n, c * 3, count)
    return torch.nn.functional.fold(torch_cols, (9, 1), (3, 1), dilation=(2, 1),
                                    padding=(1, 0), stride=(2, 1))[..., 0]


def _t(fn):
    """Wrap a lambda over torch so that torch is imported lazily."""
    def call(*args):
        import torch
        return fn(torch, *args)
    return call


CASES = [
    # arithmetic, with broadcasting
    Case("add", lambda a, b: a + b, inputs(uniform(3, 1), uniform(1, 4)),
         _t(lambda t, a, b: a + b)),
    Case("sub", lambda a, b: a - b, inputs(uniform(3, 4), uniform(4)), _t(lambda t, a, b: a - b)),
    Case("mul", lambda a, b: a * b, inputs(uniform(2, 3), uniform(2, 1)),
         _t(lambda t, a, b: a * b)),
    Case("div", lambda a, b: a / b, inputs(uniform(2, 3), uniform(3, low=0.5, high=2)),
         _t(lambda t, a, b: a / b)),
    Case("neg", lambda a: -a, inputs(uniform(3, 2)), _t(lambda t, a: -a)),
    Case("pow", lambda a: a ** 2.5, inputs(uniform(4, low=0.5, high=2)), _t(lambda t, a: a ** 2.5)),
    Case("pow_negative", lambda a: a ** -1.5, inputs(uniform(4, low=0.5, high=2)),
         _t(lambda t, a: a ** -1.5)),
    Case("pow_int", lambda a: a ** 3, inputs(uniform(2, 3)), _t(lambda t, a: a ** 3)),
    Case("pow_tensor", lambda a, b: a ** b, inputs(uniform(2, 3, low=0.5, high=2), uniform(2, 3)),
         _t(lambda t, a, b: a ** b)),
    # functions
    Case("exp", lambda a: a.exp(), inputs(uniform(2, 3)), _t(lambda t, a: a.exp())),
    Case("log", lambda a: a.log(), inputs(uniform(5, low=0.5, high=2)), _t(lambda t, a: a.log())),
    Case("sqrt", lambda a: a.sqrt(), inputs(uniform(5, low=0.5, high=2)),
         _t(lambda t, a: a.sqrt())),
    Case("abs", lambda a: a.abs(), inputs(apart(2, 3)), _t(lambda t, a: a.abs())),
    Case("tanh", lambda a: a.tanh(), inputs(uniform(2, 3, low=-2, high=2)),
         _t(lambda t, a: a.tanh())),
    Case("sigmoid", lambda a: a.sigmoid(), inputs(uniform(2, 3, low=-3, high=3)),
         _t(lambda t, a: a.sigmoid())),
    Case("relu", lambda a: a.relu(), inputs(apart(2, 3)), _t(lambda t, a: a.relu())),
    Case("clip", lambda a: a.clip(-0.4, 0.45), inputs(apart(3, 4)),
         _t(lambda t, a: a.clamp(-0.4, 0.45))),
    Case("maximum", lambda a, b: ops.maximum(a, b), inputs(apart(2, 3), apart_from(2, 3)),
         _t(lambda t, a, b: t.maximum(a, b))),
    Case("minimum", lambda a, b: ops.minimum(a, b), inputs(apart(2, 3), uniform(3)),
         _t(lambda t, a, b: t.minimum(a, b))),
    Case("where", lambda a, b: ops.where(np.array([[True, False, True]]), a, b),
         inputs(uniform(2, 3), uniform(2, 3)),
         _t(lambda t, a, b: t.where(t.tensor([[True, False, True]]), a, b))),
    # reductions
    Case("sum_all", lambda a: a.sum(), inputs(uniform(2, 3)), _t(lambda t, a: a.sum())),
    Case("sum_axes", lambda a: a.sum(axis=(0, -1)), inputs(uniform(2, 3, 4)),
         _t(lambda t, a: a.sum(dim=(0, -1)))),
    Case("sum_keepdims", lambda a: a.sum(axis=-2, keepdims=True), inputs(uniform(2, 3, 4)),
         _t(lambda t, a: a.sum(dim=-2, keepdim=True))),
    Case("mean", lambda a: a.mean(axis=-1), inputs(uniform(3, 4)),
         _t(lambda t, a: a.mean(dim=-1))),
    Case("max", lambda a: a.max(axis=1), inputs(apart(3, 4)), _t(lambda t, a: a.amax(dim=1))),
    Case("min_keepdims", lambda a: a.min(axis=-1, keepdims=True), inputs(apart(3, 4)),
         _t(lambda t, a: a.amin(dim=-1, keepdim=True))),
    Case("var", lambda a: a.var(axis=0, ddof=1), inputs(uniform(4, 3)),
         _t(lambda t, a: a.var(dim=0, correction=1))),
    Case("var_all", lambda a: a.var(), inputs(uniform(2, 3)),
         _t(lambda t, a: a.var(correction=0))),
    Case("logsumexp", lambda a: a.logsumexp(axis=-1), inputs(uniform(3, 4)),
         _t(lambda t, a: a.logsumexp(dim=-1))),
    Case("softmax", lambda a: a.softmax(axis=0), inputs(uniform(3, 4)),
         _t(lambda t, a: a.softmax(dim=0))),
    Case("log_softmax", lambda a: a.log_softmax(axis=-1), inputs(uniform(3, 4)),
         _t(lambda t, a: a.log_softmax(dim=-1))),
    # shapes
    Case("reshape", lambda a: a.reshape(4, -1), inputs(uniform(2, 3, 2)),
         _t(lambda t, a: a.reshape(4, -1))),
    Case("transpose", lambda a: a.transpose((-2, -1, 1, 0)), inputs(uniform(2, 3, 4, 5)),
         _t(lambda t, a: a.permute(-2, -1, 1, 0))),
    Case("swapaxes", lambda a: ops.swapaxes(a, 0, -1), inputs(uniform(2, 3, 4)),
         _t(lambda t, a: a.transpose(0, -1))),
    Case("squeeze", lambda a: a.squeeze(-2), inputs(uniform(3, 1, 2)),
         _t(lambda t, a: a.squeeze(-2))),
    Case("unsqueeze", lambda a: a.unsqueeze(-1), inputs(uniform(3, 2)),
         _t(lambda t, a: a.unsqueeze(-1))),
    Case("expand_dims", lambda a: ops.expand_dims(a, (0, -1)), inputs(uniform(3, 2)),
         _t(lambda t, a: a[None, ..., None])),
    Case("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), inputs(uniform(3, 1)),
         _t(lambda t, a: a.broadcast_to((2, 3, 4)))),
    Case("getitem_slice", lambda a: a[1:, ::2], inputs(uniform(3, 4)),
         _t(lambda t, a: a[1:, ::2])),
    Case("getitem_repeats", lambda a: a[np.array([2, 0, 2, 2])], inputs(uniform(3, 2)),
         _t(lambda t, a: a[t.tensor([2, 0, 2, 2])])),
    Case("getitem_mask", lambda a: a[np.array([True, False, True])], inputs(uniform(3, 2)),
         _t(lambda t, a: a[t.tensor([True, False, True])])),
    Case("concatenate", lambda a, b: ops.concatenate([a, b], axis=-1),
         inputs(uniform(2, 3), uniform(2, 2)), _t(lambda t, a, b: t.cat([a, b], dim=-1))),
    Case("stack", lambda a, b: ops.stack([a, b], axis=-2), inputs(uniform(2, 3), uniform(2, 3)),
         _t(lambda t, a, b: t.stack([a, b], dim=-2))),
    Case("split", lambda a: ops.split(a, [1], axis=-1)[1] * 2, inputs(uniform(2, 3)),
         _t(lambda t, a: a[:, 1:] * 2)),
    # linear algebra
    Case("matmul", lambda a, b: a @ b, inputs(uniform(2, 3), uniform(3, 4)),
         _t(lambda t, a, b: a @ b)),
    Case("matmul_vector_matrix", lambda a, b: a @ b, inputs(uniform(3), uniform(3, 2)),
         _t(lambda t, a, b: a @ b)),
    Case("matmul_matrix_vector", lambda a, b: a @ b, inputs(uniform(2, 3), uniform(3)),
         _t(lambda t, a, b: a @ b)),
    Case("matmul_dot", lambda a, b: a @ b, inputs(uniform(3), uniform(3)),
         _t(lambda t, a, b: a @ b)),
    Case("matmul_batched", lambda a, b: a @ b, inputs(uniform(2, 1, 2, 3), uniform(3, 3, 2)),
         _t(lambda t, a, b: a @ b)),
    Case("linear", lambda x, w, b: F.linear(x, w, b),
         inputs(uniform(2, 3, 4), uniform(5, 4), uniform(5)),
         _t(lambda t, x, w, b: t.nn.functional.linear(x, w, b))),
    Case("linear_no_bias", lambda x, w: F.linear(x, w), inputs(uniform(3, 4), uniform(2, 4)),
         _t(lambda t, x, w: t.nn.functional.linear(x, w))),
    # losses
    Case("mse", lambda a, b: F.mse_loss(a, b), inputs(uniform(2, 3), uniform(2, 3)),
         _t(lambda t, a, b: t.nn.functional.mse_loss(a, b))),
    Case("mse_none", lambda a, b: F.mse_loss(a, b, reduction="none"),
         inputs(uniform(2, 3), uniform(2, 3)),
         _t(lambda t, a, b: t.nn.functional.mse_loss(a, b, reduction="none"))),
    Case("l1", lambda a, b: F.l1_loss(a, b, reduction="sum"), inputs(apart(2, 3), uniform(2, 3)),
         _t(lambda t, a, b: t.nn.functional.l1_loss(a, b, reduction="sum"))),
    Case("cross_entropy", lambda a: F.cross_entropy(a, TARGETS),
         inputs(uniform(4, 5, low=-2, high=2)), _torch_ce),
    Case("cross_entropy_smoothing_sum",
         lambda a: F.cross_entropy(a, TARGETS, label_smoothing=0.2, reduction="sum"),
         inputs(uniform(4, 5)), lambda a: _torch_ce(a, 0.2, "sum")),
    Case("cross_entropy_none", lambda a: F.cross_entropy(a, TARGETS, reduction="none"),
         inputs(uniform(4, 5)), lambda a: _torch_ce(a, 0.0, "none")),
    Case("nll", lambda a: F.nll_loss(a, TARGETS), inputs(uniform(4, 5)),
         _t(lambda t, a: t.nn.functional.nll_loss(a, t.as_tensor(TARGETS)))),
    Case("nll_none", lambda a: F.nll_loss(a, TARGETS, reduction="none"), inputs(uniform(4, 5)),
         _t(lambda t, a: t.nn.functional.nll_loss(a, t.as_tensor(TARGETS), reduction="none"))),
    Case("bce_with_logits", lambda a, b: F.binary_cross_entropy_with_logits(a, b),
         inputs(uniform(2, 3, low=-3, high=3), uniform(2, 3, low=0, high=1)),
         _t(lambda t, a, b: t.nn.functional.binary_cross_entropy_with_logits(a, b))),
    Case("bce", lambda a, b: F.binary_cross_entropy(a, b),
         inputs(uniform(2, 3, low=0.1, high=0.9), uniform(2, 3, low=0, high=1)),
         _t(lambda t, a, b: t.nn.functional.binary_cross_entropy(a, b))),
    # convolution and pooling (lowered to unfold, a matrix product and folds back)
    # unfold1d's rows are (N, L_out, K * C), tap by tap; torch's unfold gives (N, C * K, L_out).
    Case("unfold1d", lambda x: ops.unfold1d(x, 3, dilation=2, padding=1, stride=2),
         inputs(uniform(2, 3, 9)), lambda x: _torch_unfold(x)),
    Case("fold1d", lambda c: ops.fold1d(c, 9, 3, dilation=2, padding=1, stride=2),
         inputs(uniform(2, 4, 9)), lambda c: _torch_fold(c)),
    Case("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
         inputs(uniform(2, 3, 9), uniform(4, 3, 3), uniform(4)),
         _t(lambda t, x, w, b: t.nn.functional.conv1d(x, w, b, stride=2, padding=1,
                                                       dilation=2))),
    Case("conv1d_groups", lambda x, w: F.conv1d(x, w, groups=2, padding="same"),
         inputs(uniform(2, 4, 7), uniform(6, 2, 3)),
         _t(lambda t, x, w: t.nn.functional.conv1d(x, w, groups=2, padding="same"))),
    Case("max_pool1d", lambda x: F.max_pool1d(x, 3, stride=2, padding=1), inputs(apart(2, 3, 8)),
         _t(lambda t, x: t.nn.functional.max_pool1d(x, 3, stride=2, padding=1))),
    # composites a student writes
    Case("mlp", lambda x, w1, w2: (x @ w1).tanh() @ w2,
         inputs(uniform(3, 4), uniform(4, 5), uniform(5, 2)),
         _t(lambda t, x, w1, w2: (x @ w1).tanh() @ w2)),
]


def as_tensors(arrays):
    """Float64 leaves that require grad, one per array."""
    return [minigrad.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
