"""Operations that move elements without changing them: reshape, transpose, indexing, joining.

Their backward passes move the gradient back the same way: reshape it back, transpose it back,
scatter it back into the indexed positions, split it back into the joined pieces.
"""

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor, as_tensor


class Reshape(Function):
    """The same elements in another shape."""

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return np.asarray(a, order="C").reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape {a.shape} ({a.size} elements) into {shape}"
            ) from None

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Transpose(Function):
    """Permute the axes; the gradient is permuted back by the inverse permutation."""

    def forward(self, a, axes):
        if axes is None:
            axes = tuple(reversed(range(a.ndim)))
        if sorted(int(ax) % max(a.ndim, 1) for ax in axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of {a.ndim} axes")
        self.inverse = tuple(np.argsort(axes))
        return np.asarray(a.transpose(axes), order="C")

    def backward(self, grad):
        return (grad.transpose(self.inverse),)


class BroadcastTo(Function):
    """Broadcast to a larger shape; the engine sums the gradient back."""

    def forward(self, a, shape):
        try:
            return np.asarray(np.broadcast_to(a, shape), order="C")
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {a.shape} to {shape}") from None

    def backward(self, grad):
        return (grad,)


def _is_basic_index(index):
    """True when ``index`` uses only ints, slices, None and Ellipsis (each element picked once)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(part, int | slice | np.integer) or part is None or part is Ellipsis
        for part in parts
    )


class GetItem(Function):
    """a[index] for ints, slices and integer or boolean arrays.

    With integer arrays an element can be picked several times; ``np.add.at`` then adds up every
    pick's gradient instead of keeping only the last one.
    """

    def forward(self, a, index):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return np.asarray(a[index], order="C")

    def backward(self, grad):
        full = np.zeros(self.shape, dtype=grad.dtype)
        if _is_basic_index(self.index):
            full[self.index] = grad
        else:
            np.add.at(full, self.index, grad)
        return (full,)


def _unwrap_index(index):
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(_unwrap_index(part) for part in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


class Concatenate(Function):
    """Join tensors along an existing axis; the gradient is split back at the same places."""

    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad):
        return tuple(np.split(grad, self.bounds, axis=self.axis))


class Stack(Function):
    """Join tensors along a new axis; the gradient of input i is slice i along that axis."""

    def forward(self, *arrays, axis):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad):
        return tuple(np.moveaxis(grad, self.axis, 0))


def reshape(a, shape):
    """``a`` with a new shape (one entry may be -1)."""
    return Reshape.apply(a, shape=tuple(shape))


def transpose(a, axes=None):
    """Permute the axes of ``a`` (reverse them when ``axes`` is None)."""
    return Transpose.apply(a, axes=None if axes is None else tuple(axes))


def squeeze(a, axis=None):
    """Remove axes of length one: all of them, or those in ``axis``."""
    if axis is None:
        shape = tuple(n for n in a.shape if n != 1)
    else:
        axes = {ax % a.ndim for ax in ((axis,) if isinstance(axis, int) else axis)}
        for ax in axes:
            if a.shape[ax] != 1:
                raise ValueError(f"squeeze: axis {ax} of shape {a.shape} has length {a.shape[ax]}")
        shape = tuple(n for i, n in enumerate(a.shape) if i not in axes)
    return Reshape.apply(a, shape=shape)


def unsqueeze(a, axis):
    """Insert an axis of length one at position ``axis``."""
    if not -a.ndim - 1 <= axis <= a.ndim:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for {a.ndim} dimensions")
    axis = axis % (a.ndim + 1)
    return Reshape.apply(a, shape=a.shape[:axis] + (1,) + a.shape[axis:])


def flatten(a):
    """All elements of ``a`` in one axis."""
    return Reshape.apply(a, shape=(-1,))


def broadcast_to(a, shape):
    """Broadcast ``a`` to ``shape`` with NumPy's rules."""
    return BroadcastTo.apply(a, shape=tuple(shape))


def getitem(a, index):
    """``a[index]`` with ints, slices, None, Ellipsis, integer and boolean arrays."""
    return GetItem.apply(a, index=_unwrap_index(index))


def _as_tensors(tensors, op):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [as_tensor(t, first) for t in tensors]


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing ``axis``."""
    tensors = _as_tensors(tensors, "concatenate")
    try:
        return Concatenate.apply(*tensors, axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concatenate: shapes {shapes} do not match outside axis {axis}") from None


def stack(tensors, axis=0):
    """Join a sequence of same-shaped tensors along a new ``axis``."""
    tensors = _as_tensors(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    axis = axis % (tensors[0].ndim + 1)
    return Stack.apply(*tensors, axis=axis)


def split(a, indices_or_sections, axis=0):
    """Split ``a`` along ``axis`` into a list of tensors, as ``numpy.split``.

    An int gives that many equal pieces; a list gives the indices where to cut.
    """
    length = a.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or length % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of length {length} does not divide into "
                f"{indices_or_sections} equal pieces"
            )
        step = length // indices_or_sections
        cuts = list(range(step, length, step))
    else:
        cuts = list(indices_or_sections)
    bounds = [0, *cuts, length]
    prefix = (slice(None),) * (axis % a.ndim)
    return [getitem(a, prefix + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]
