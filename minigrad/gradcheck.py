"""Finite-difference checking of derivatives: gradients, second derivatives and jvps.

``gradcheck`` holds each backward rule to central differences, ``gradgradcheck`` does the same
for the derivative of the backward pass itself (``create_graph=True``), and ``jvpcheck`` holds
forward mode to a central difference along a random direction.
"""

import numpy as np

from minigrad import autograd
from minigrad.ops import concatenate
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
    leaves, checked = _float64_leaves(inputs, "gradcheck")

    output = fn(*leaves)
    weights = np.random.default_rng(seed).standard_normal(output.shape)

    def objective():
        return float(np.sum(fn(*leaves).data * weights))

    if output.requires_grad:  # else the output is constant in the inputs: zero gradients
        output.backward(weights)
    for i in checked:
        x = leaves[i]
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad
        numeric = np.zeros_like(x.data)
        for index in np.ndindex(x.shape):
            numeric[index] = central_difference(objective, x.data, index, eps)
        _compare(analytic, numeric, atol, rtol, f"gradcheck: input {i} (shape {x.shape}), element")
    return True


def _float64_leaves(inputs, name):
    """Float64 copies of the inputs that require grad (others as they are), and their positions."""
    leaves = [
        Tensor(t.data, requires_grad=True, dtype=np.float64)
        if isinstance(t, Tensor) and t.requires_grad
        else t
        for t in inputs
    ]
    checked = [i for i, t in enumerate(leaves) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError(f"{name}: no input requires grad")
    return leaves, checked


def gradgradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check the second derivatives of ``fn(*inputs)`` against central differences, in float64.

    The first derivative, the vector-Jacobian product of ``fn`` with a fixed random cotangent, is
    computed with ``create_graph=True`` so that it is itself a differentiable function of the
    inputs; ``gradcheck`` then holds its gradient (the backward of the backward) to central
    differences. Returns True, or raises GradcheckError.
    """
    leaves, checked = _float64_leaves(inputs, "gradgradcheck")
    output = fn(*leaves)
    cotangent = Tensor(np.random.default_rng(seed + 1).standard_normal(output.shape),
                       dtype=np.float64)

    def first_derivative(*args):
        wrt = [args[i] for i in checked]
        grads = autograd.grad(fn(*args), wrt, cotangent, create_graph=True, allow_unused=True)
        pieces = [(g if g is not None else x * 0).reshape(-1) for g, x in zip(grads, wrt)]
        return pieces[0] if len(pieces) == 1 else concatenate(pieces)

    return gradcheck(first_derivative, *leaves, eps=eps, atol=atol, rtol=rtol, seed=seed)


def jvpcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check forward mode: the jvp of ``fn(*inputs)`` along a random direction, in float64.

    Every input that requires grad gets a random tangent; ``minigrad.func.jvp`` must agree with
    the central difference (f(x + eps v) - f(x - eps v)) / 2 eps, element by element of the
    output. Returns True, or raises GradcheckError.
    """
    from minigrad import func

    leaves, checked = _float64_leaves(inputs, "jvpcheck")
    rng = np.random.default_rng(seed)
    directions = {i: rng.standard_normal(leaves[i].shape) for i in checked}

    def at(step):
        moved = list(leaves)
        for i in checked:
            moved[i] = Tensor(leaves[i].data + step * directions[i], dtype=np.float64)
        return fn(*moved).data

    def restricted(*values):
        args = list(leaves)
        for i, value in zip(checked, values):
            args[i] = value
        return fn(*args)

    primals = tuple(leaves[i].detach() for i in checked)
    tangents = tuple(Tensor(directions[i], dtype=np.float64) for i in checked)
    _, analytic = func.jvp(restricted, primals, tangents)
    numeric = (at(eps) - at(-eps)) / (2 * eps)
    _compare(analytic.data, numeric, atol, rtol, "jvpcheck: output element")
    return True


def _compare(analytic, numeric, atol, rtol, where):
    """Raise GradcheckError at the worst element unless |analytic - numeric| is within tolerance."""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if np.any(excess > 0) or not np.all(np.isfinite(analytic)):
        worst = np.unravel_index(np.argmax(np.where(np.isfinite(excess), excess, np.inf)),
                                 numeric.shape)
        raise GradcheckError(
            f"{where} {tuple(map(int, worst))}: analytic {analytic[worst]!r} vs numeric "
            f"{numeric[worst]!r} (atol={atol}, rtol={rtol})")
