"""Finite-difference checking of analytic gradients."""

import numpy as np

from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def central_difference(f, array, index, eps=1e-6):
    """(f(x + eps) - f(x - eps)) / 2 eps, nudging ``array[index]`` in place and restoring it.

    ``f`` takes no arguments and returns a float computed from ``array``: the slope of ``f``
    along one element, with an error of order eps**2.
    """
    original = array[index]
    array[index] = original + eps
    plus = f()
    array[index] = original - eps
    minus = f()
    array[index] = original
    return (plus - minus) / (2 * eps)


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the gradients of ``fn(*inputs)`` against central differences, in float64.

    Every floating input that requires grad is copied to float64 and checked. A non-scalar output
    is reduced to ``sum(output * r)`` with a fixed random ``r``, so every output element counts.
    Returns True, or raises GradcheckError naming the input, the worst element and both values.
    """
    leaves = [
        Tensor(t.data, requires_grad=True, dtype=np.float64)
        if isinstance(t, Tensor) and t.requires_grad
        else t
        for t in inputs
    ]
    checked = [i for i, t in enumerate(leaves) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")

    output = fn(*leaves)
    weights = np.random.default_rng(seed).standard_normal(output.shape)

    def objective():
        return float(np.sum(fn(*leaves).data * weights))

    output.backward(weights)
    for i in checked:
        x = leaves[i]
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        numeric = np.zeros_like(x.data)
        for index in np.ndindex(x.shape):
            numeric[index] = central_difference(objective, x.data, index, eps)
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(excess > 0) or not np.all(np.isfinite(analytic)):
            worst = np.unravel_index(np.argmax(np.where(np.isfinite(excess), excess, np.inf)),
                                     x.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}), element {tuple(map(int, worst))}: "
                f"analytic {analytic[worst]!r} vs numeric {numeric[worst]!r} "
                f"(atol={atol}, rtol={rtol})"
            )
    return True
