"""The softmax cross-entropy's row loops, compiled with Numba: the optimisation of loss_ops.py's
NumPy original (``softmax_cross_entropy`` and ``cross_entropy_grad`` there), with the same
signatures and results (tests/test_nn_losses.py holds the two together).

Written with NumPy, the loss is a dozen whole-array calls (row max, subtract, exp, row sum, log,
a gather, the target range check), and on the small batches minigrad trains on, each call's fixed
cost is most of the time. Here the row-wise work is two loops, one before and one after the
exponential. The exponential stays in NumPy (``np.exp`` in place between the two loops): its SIMD
exp beats the scalar exp a Numba loop calls per element (perf/NOTES.md has the measurement).

Sums of exponentials are accumulated in float64 whatever the dtype, then rounded once. Imported
only when ``cross_entropy`` first runs, so ``import minigrad`` never loads Numba.
"""

import numba
import numpy as np

_jit = numba.njit(cache=True, error_model="numpy")


def softmax_cross_entropy(logits, target, smoothing):
    """(probs, loss): each row's softmax and cross-entropy; None if a target is out of range."""
    rows = len(target)
    probs = np.empty(logits.shape, logits.dtype)
    top, loss = np.empty(rows, logits.dtype), np.empty(rows, logits.dtype)
    if shift_rows(logits, target, probs, top) >= 0:
        return None
    np.exp(probs, out=probs)
    normalise_rows(logits, target, smoothing, top, probs, loss)
    return probs, loss


def cross_entropy_grad(probs, target, smoothing, scale):
    """(probs - q) * scale, q the smoothed one-hot targets: the gradient of the loss's sum."""
    grad = np.empty_like(probs)
    _cross_entropy_grad(probs, target, smoothing, scale, grad)
    return grad


@_jit
def shift_rows(logits, target, shifted, top):
    """shifted <- logits minus each row's maximum, kept in ``top``; so exp can never overflow.

    Returns -1, or the first row whose target is not a class index in [0, classes).
    """
    rows, classes = logits.shape
    for i in range(rows):
        if target[i] < 0 or target[i] >= classes:
            return i
        largest = logits[i, 0]
        for j in range(1, classes):
            largest = max(largest, logits[i, j])
        top[i] = largest
        for j in range(classes):
            shifted[i, j] = logits[i, j] - largest
    return -1


@_jit
def normalise_rows(logits, target, smoothing, top, probs, loss):
    """probs (holding exp(shifted) on entry) <- softmax rows; loss <- each row's cross-entropy.

    loss_i = -log p_iy, or with label smoothing e (PyTorch's formula)
    (1 - e) (-log p_iy) + e mean_c(-log p_ic), where -log p_ic = log(total_i) - shifted_ic.
    """
    rows, classes = logits.shape
    for i in range(rows):
        total = 0.0
        for j in range(classes):
            total += probs[i, j]
        for j in range(classes):
            probs[i, j] /= total
        log_total = np.log(total)
        nll = log_total - (logits[i, target[i]] - top[i])
        if smoothing != 0:
            shifted_sum = 0.0
            for j in range(classes):
                shifted_sum += logits[i, j] - top[i]
            nll = (1 - smoothing) * nll + smoothing * (log_total - shifted_sum / classes)
        loss[i] = nll


@_jit
def _cross_entropy_grad(probs, target, smoothing, scale, grad):
    """grad <- (probs - q) * scale for the smoothed one-hot q = (1 - e) onehot(y) + e / classes.

    ``scale`` is the incoming gradient of a reduced loss (divided by the batch size for a mean).
    """
    rows, classes = probs.shape
    hit = 1 - smoothing
    uniform = smoothing / classes
    for i in range(rows):
        for j in range(classes):
            g = probs[i, j] - hit if j == target[i] else probs[i, j]
            grad[i, j] = (g - uniform) * scale
