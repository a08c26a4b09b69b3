"""The one rule for axis arguments, used by every operation that takes one.

Negative axes count from the end; an axis out of range raises ``numpy.exceptions.AxisError``
(both a ValueError and an IndexError, so it is caught as either, like PyTorch's IndexError) and
never wraps around. As in PyTorch, a 0-d tensor accepts axis 0 and -1, meaning "no axis".
"""

import operator

from numpy.exceptions import AxisError


def normalize_axis(axis, ndim, op):
    """``axis`` as an int in [0, ndim), or AxisError naming ``op``; a 0-d tensor accepts 0 and -1.

    For a 0-d tensor the result is 0 (there is no axis to point at: callers treat it as none).
    """
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}") from None
    bound = max(ndim, 1)
    if not -bound <= axis < bound:
        raise AxisError(axis, ndim, op)
    return axis % bound


def normalize_axes(axis, ndim, op):
    """``axis`` (None, an int or a sequence of ints) as a sorted tuple of axes in [0, ndim).

    None means every axis. A repeated axis is a ValueError. On a 0-d tensor 0 and -1 are accepted
    and give no axes (the reduction then leaves the value as it is, as PyTorch's does).
    """
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    normalized = [normalize_axis(ax, ndim, op) for ax in axes]
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(normalized)) if ndim else ()


def normalize_insert_axis(axis, ndim, op):
    """An axis at which to insert a new axis into ``ndim`` dimensions: in [0, ndim]."""
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}") from None
    if not -ndim - 1 <= axis <= ndim:
        raise AxisError(axis, ndim + 1, op)
    return axis % (ndim + 1)


def broadcast_axes(shape, target):
    """The axes of ``shape`` that broadcasting ``target`` up to it added or stretched.

    Summing a gradient of ``shape`` over them gives the gradient of an input of shape ``target``:
    an input of shape (5, 1) broadcast to (3, 5, 4) gets the sum over axes 0 and 2.
    """
    leading = len(shape) - len(target)
    stretched = tuple(leading + i for i, n in enumerate(target)
                      if n == 1 and shape[leading + i] != 1)
    return tuple(range(leading)) + stretched
