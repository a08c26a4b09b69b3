"""Operations that move elements without changing them: reshape, transpose, indexing, joining.

Their backward passes move the gradient back the same way: reshape it back, transpose it back,
scatter it back into the indexed positions, split it back into the joined pieces. They are linear,
so their jvp rules apply the operation itself to the tangent.
"""

import numpy as np

from minigrad.autograd import Function
from minigrad.ops.axes import normalize_axes, normalize_axis, normalize_insert_axis
from minigrad.tensor import Tensor, as_tensor


class Reshape(Function):
    """The same elements in another shape."""

    saves_inputs = False

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            out = np.asarray(a, order="C").reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape {a.shape} ({a.size} elements) into {shape}"
            ) from None
        self.out_shape = out.shape
        return out

    def backward(self, xp, grad, a, out):
        return (xp.reshape(grad, self.shape),)

    def jvp(self, xp, tangents, a, out):
        return xp.reshape(tangents[0], self.out_shape)


class Transpose(Function):
    """Permute the axes; the gradient is permuted back by the inverse permutation."""

    saves_inputs = False

    def forward(self, a, axes):
        self.axes = axes
        self.inverse = tuple(int(i) for i in np.argsort(axes))
        return np.asarray(a.transpose(axes), order="C")

    def backward(self, xp, grad, a, out):
        return (xp.transpose(grad, self.inverse),)

    def jvp(self, xp, tangents, a, out):
        return xp.transpose(tangents[0], self.axes)


class BroadcastTo(Function):
    """Broadcast to a larger shape; the engine sums the gradient back."""

    saves_inputs = False

    def forward(self, a, shape):
        self.out_shape = shape
        try:
            return np.asarray(np.broadcast_to(a, shape), order="C")
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {a.shape} to {shape}") from None

    def backward(self, xp, grad, a, out):
        return (grad,)

    def jvp(self, xp, tangents, a, out):
        return xp.broadcast_to(tangents[0], self.out_shape)


def is_basic_index(index):
    """True when ``index`` uses only ints, slices, None and Ellipsis (each element picked once)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(part, int | slice | np.integer) or part is None or part is Ellipsis
        for part in parts
    )


class GetItem(Function):
    """a[index] for ints, slices and integer or boolean arrays; its backward scatters back."""

    saves_inputs = False

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        return np.asarray(a[index], order="C")

    def backward(self, xp, grad, a, out):
        return (xp.scatter_add(grad, self.index, self.shape),)

    def jvp(self, xp, tangents, a, out):
        return tangents[0][self.index]


class ScatterAdd(Function):
    """zeros(shape) with ``values`` added at ``index``: the backward of indexing, and its inverse.

    With integer arrays an element can be picked several times; ``np.add.at`` then adds up every
    pick instead of keeping only the last one. Its own backward is indexing again.
    """

    saves_inputs = False

    def forward(self, values, index, shape):
        self.index = index
        full = np.zeros(shape, dtype=values.dtype)
        if is_basic_index(index):
            full[index] = values
        else:
            np.add.at(full, index, values)
        return full

    def backward(self, xp, grad, values, out):
        return (grad[self.index],)

    def jvp(self, xp, tangents, values, out):
        return xp.scatter_add(tangents[0], self.index, out.shape)


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

    saves_inputs = False

    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = [int(b) for b in np.cumsum([a.shape[axis] for a in arrays])[:-1]]
        return np.concatenate(arrays, axis=axis)

    def backward(self, xp, grad, *inputs, out):
        return tuple(xp.split(grad, self.bounds, axis=self.axis))

    def jvp(self, xp, tangents, *inputs, out):
        pieces = [xp.zeros_like(a) if t is None else t for t, a in zip(tangents, inputs)]
        return xp.concatenate(pieces, axis=self.axis)


class Stack(Function):
    """Join tensors along a new axis; the gradient of input i is slice i along that axis."""

    saves_inputs = False

    def forward(self, *arrays, axis):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, xp, grad, *inputs, out):
        before = (slice(None),) * self.axis
        return tuple(grad[before + (i,)] for i in range(len(inputs)))

    def jvp(self, xp, tangents, *inputs, out):
        pieces = [xp.zeros_like(a) if t is None else t for t, a in zip(tangents, inputs)]
        return xp.stack(pieces, axis=self.axis)


def reshape(a, shape):
    """``a`` with a new shape (one entry may be -1)."""
    return Reshape.apply(a, shape=tuple(shape))


def transpose(a, axes=None):
    """Permute the axes of ``a`` (reverse them when ``axes`` is None)."""
    if axes is None:
        axes = tuple(reversed(range(a.ndim)))
    axes = tuple(normalize_axis(ax, a.ndim, "transpose") for ax in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {a.ndim} axes")
    return Transpose.apply(a, axes=axes)


def swapaxes(a, axis1, axis2):
    """``a`` with two axes exchanged."""
    axes = list(range(a.ndim))
    i, j = normalize_axis(axis1, a.ndim, "swapaxes"), normalize_axis(axis2, a.ndim, "swapaxes")
    axes[i], axes[j] = axes[j], axes[i]
    return Transpose.apply(a, axes=tuple(axes))


def squeeze(a, axis=None):
    """Remove axes of length one: all of them, or those in ``axis`` (which must have length 1)."""
    if axis is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        axes = normalize_axes(axis, a.ndim, "squeeze")
        for ax in axes:
            if a.shape[ax] != 1:
                raise ValueError(f"squeeze: axis {ax} of shape {a.shape} has length {a.shape[ax]}")
    shape = tuple(n for i, n in enumerate(a.shape) if i not in axes)
    return Reshape.apply(a, shape=shape)


def unsqueeze(a, axis):
    """Insert an axis of length one at position ``axis`` (in [-ndim - 1, ndim])."""
    axis = normalize_insert_axis(axis, a.ndim, "unsqueeze")
    return Reshape.apply(a, shape=a.shape[:axis] + (1,) + a.shape[axis:])


def expand_dims(a, axis):
    """Insert axes of length one at the positions ``axis`` (an int or a tuple) of the result."""
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    ndim = a.ndim + len(axes)
    positions = normalize_axes(axes, ndim, "expand_dims")
    rest = iter(a.shape)
    shape = tuple(1 if i in positions else next(rest) for i in range(ndim))
    return Reshape.apply(a, shape=shape)


def flatten(a):
    """All elements of ``a`` in one axis."""
    return Reshape.apply(a, shape=(-1,))


def broadcast_to(a, shape):
    """Broadcast ``a`` to ``shape`` with NumPy's rules."""
    return BroadcastTo.apply(a, shape=tuple(shape))


def getitem(a, index):
    """``a[index]`` with ints, slices, None, Ellipsis, integer and boolean arrays."""
    return GetItem.apply(a, index=_unwrap_index(index))


def scatter_add(values, index, shape):
    """zeros(shape) with ``values`` added at ``index`` (repeated picks add up)."""
    return ScatterAdd.apply(as_tensor(values), index=_unwrap_index(index), shape=tuple(shape))


def _as_tensors(tensors, op):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [as_tensor(t, first) for t in tensors]


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing ``axis``."""
    tensors = _as_tensors(tensors, "concatenate")
    if tensors[0].ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated (use stack)")
    axis = normalize_axis(axis, tensors[0].ndim, "concatenate")
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
    axis = normalize_insert_axis(axis, tensors[0].ndim, "stack")
    return Stack.apply(*tensors, axis=axis)


def split(a, indices_or_sections, axis=0):
    """Split ``a`` along ``axis`` into a list of tensors, as ``numpy.split``.

    An int gives that many equal pieces; a list gives the indices where to cut.
    """
    if a.ndim == 0:
        raise ValueError("split: a 0-d tensor cannot be split")
    axis = normalize_axis(axis, a.ndim, "split")
    length = a.shape[axis]
    if isinstance(indices_or_sections, int | np.integer):
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
    prefix = (slice(None),) * axis
    return [getitem(a, prefix + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]
