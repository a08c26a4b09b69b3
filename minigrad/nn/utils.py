"""Gradient clipping, applied in place to the ``.grad`` arrays between backward and step."""

import math

import numpy as np

from minigrad.tensor import Tensor


def _grads(parameters):
    """The existing gradients of ``parameters`` (one Tensor or an iterable of them), as arrays.

    A gradient left by ``backward(create_graph=True)`` is a Tensor: its array is clipped in
    place, as PyTorch clips the gradient tensor in place.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data if isinstance(p.grad, Tensor) else p.grad
            for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients as if concatenated into one vector (``norm_type`` may be
    ``float('inf')`` for the largest absolute value). As PyTorch, the scale is
    max_norm / (total_norm + 1e-6), applied only when it is below 1. Returns the total norm before
    clipping, as a Python float. With ``error_if_nonfinite`` a nan or inf norm raises ValueError.
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if norm_type <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0, got {norm_type}")
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        # The norm of the per-tensor norms is the norm of everything concatenated.
        norms = [np.linalg.norm(g.ravel(), norm_type) for g in grads]
        total = float(np.linalg.norm(np.asarray(norms, dtype=np.float64), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise ValueError(
            f"clip_grad_norm_: the total {norm_type}-norm of the gradients is {total}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        with np.errstate(invalid="ignore"):  # an infinite norm gives scale 0 and inf * 0 = nan
            for g in grads:
                g *= g.dtype.type(scale)
    return total


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
