"""Tensor: a NumPy array, its gradient, and the operation that produced it."""

import numpy as np

from minigrad import autograd

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype):
    """Set the floating dtype that Python numbers and lists become (float32 or float64)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"set_default_dtype: expected float32 or float64, got {dtype}")
    _default_dtype = dtype


def get_default_dtype():
    """Return the floating dtype that Python numbers and lists become."""
    return _default_dtype


def as_array(data, dtype=None):
    """Turn ``data`` into a contiguous ndarray following minigrad's dtype rules.

    An explicit ``dtype`` wins. Otherwise an ndarray keeps its dtype, while Python numbers and
    lists of floats take the default floating dtype (lists of ints and bools stay integer/bool).
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"unknown dtype {dtype!r}") from None
        return _native(np.asarray(data, dtype=dtype, order="C"))
    if isinstance(data, np.ndarray | np.generic):
        return _native(np.asarray(data, order="C"))
    array = np.asarray(data)
    if array.dtype.kind == "f":
        array = array.astype(_default_dtype)
    elif array.dtype.kind not in "iub":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} (dtype {array.dtype})")
    return array


def _native(array):
    """``array`` in the machine's byte order (a big-endian array, as read from IDX files, is
    converted: compiled kernels and BLAS expect native order)."""
    if array.dtype.byteorder not in "=|":
        array = array.astype(array.dtype.newbyteorder("="))
    return array


class Tensor:
    """An n-dimensional array that records the operations on it, for reverse-mode autograd.

    ``data`` is a contiguous ``numpy.ndarray``. ``grad`` is None until a backward pass reaches
    the tensor, then an ndarray of the same shape and dtype (a Tensor, differentiable, after
    ``backward(create_graph=True)``). A tensor made by an operation keeps that operation in
    ``grad_fn``; a tensor made by the user is a *leaf* (``grad_fn`` is None).

    ``_version`` counts in-place changes made through minigrad (optimizer steps, ``nn.init``), so
    that backward can refuse to use a saved input that changed after the forward pass.
    ``_tangent`` is the tangent carried in forward mode (``minigrad.func.jvp``), and ``_hooks``
    the functions ``register_hook`` added.
    """

    __slots__ = ("data", "grad", "_requires_grad", "grad_fn", "_retains_grad", "_version",
                 "_tangent", "_hooks", "__weakref__")
    # Make NumPy hand `ndarray + tensor` to Tensor.__radd__ instead of broadcasting over it.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None):
        array = as_array(data, dtype)
        if array is data or (isinstance(data, Tensor) and array is data.data):
            array = array.copy()  # like torch.tensor: never share memory with the caller
        self.data = array
        self.grad = None
        self.grad_fn = None
        self._retains_grad = False
        self._version = 0
        self._tangent = None
        self._hooks = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _from_op(cls, data, grad_fn):
        """Wrap an operation's output array, made by ``grad_fn`` (skips the dtype rules)."""
        t = cls.__new__(cls)
        t.data = data if isinstance(data, np.ndarray) else np.asarray(data)
        t.grad = None
        t.grad_fn = grad_fn
        t._requires_grad = grad_fn is not None
        t._retains_grad = False
        t._version = 0
        t._tangent = None
        t._hooks = None
        return t

    @classmethod
    def _constant(cls, data):
        """Wrap an array as a tensor that no operation made and that needs no grad (no copy)."""
        return cls._from_op(data, None)

    # ----------------------------------------------------------------- properties
    @property
    def requires_grad(self):
        """Whether gradients flow to this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require grad, got dtype {self.data.dtype}"
            )
        if not flag and self.grad_fn is not None:
            raise ValueError("cannot turn off requires_grad on a non-leaf tensor; use detach()")
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag=True):
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = flag
        return self

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by an operation."""
        return self.grad_fn is None

    @property
    def shape(self):
        """The shape tuple of ``data``."""
        return self.data.shape

    @property
    def ndim(self):
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self):
        """The number of elements."""
        return self.data.size

    @property
    def dtype(self):
        """The NumPy dtype of ``data``."""
        return self.data.dtype

    @property
    def T(self):
        """The tensor with its axes reversed."""
        return self.transpose()

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self._requires_grad:
            raise ValueError("retain_grad: the tensor does not require grad")
        self._retains_grad = True

    def detach(self):
        """A new leaf sharing ``data`` but cut from the graph (requires_grad False)."""
        return Tensor._constant(self.data)

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever a backward pass computes this tensor's gradient.

        As PyTorch's: the hook gets the gradient as a Tensor and may return a replacement (of
        the same shape), which is what flows on (and into ``.grad`` for a leaf). Returns a handle
        whose ``remove()`` takes the hook off.
        """
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        if not callable(hook):
            raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
        if self._hooks is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, hook)

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        autograd.value_read(self, "numpy()")
        return self.data

    def item(self):
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: the tensor has {self.data.size} elements, expected 1")
        autograd.value_read(self, "item()")
        return self.data.item()

    def tolist(self):
        """The data as nested Python lists."""
        autograd.value_read(self, "tolist()")
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        autograd.value_read(self, "numpy.asarray()")
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous"
            )
        autograd.value_read(self, "bool()")
        return bool(self.data)

    # Hash by identity (== builds a boolean tensor instead of answering). The autograd engine
    # keys its dicts by tensors: distinct live objects never share an identity hash, so a dict
    # never needs to call __eq__ on them.
    __hash__ = object.__hash__

    # ------------------------------------------------------------------- backward
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        ``gradient`` is d(result)/d(self); it may be left out only for a single-element tensor.
        As in PyTorch: the graph is freed afterwards unless ``retain_graph`` (which defaults to
        ``create_graph``); with ``create_graph=True`` the gradients stored in ``.grad`` are Tensors
        that can be differentiated again; ``inputs`` limits which tensors accumulate a gradient.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "backward: the tensor does not require grad and has no grad_fn "
                "(was it made under no_grad, or from tensors without requires_grad=True?)"
            )
        gradient = autograd.seed_gradient(self, gradient, create_graph, "backward")
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        autograd.backward([self], [gradient], retain_graph, create_graph, inputs)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, exponent):
        return ops.power(self, exponent)

    def __rpow__(self, base):
        return ops.power(base, self)

    def __neg__(self):
        return ops.neg(self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # Comparisons and logic give boolean tensors and carry no gradient. A comparison reads the
    # values it compares out of the graph (so it tells autograd.value_read).
    def __eq__(self, other):
        return Tensor._constant(self.data == _compared(self, other, "a comparison (==)"))

    def __ne__(self, other):
        return Tensor._constant(self.data != _compared(self, other, "a comparison (!=)"))

    def __lt__(self, other):
        return Tensor._constant(self.data < _compared(self, other, "a comparison (<)"))

    def __le__(self, other):
        return Tensor._constant(self.data <= _compared(self, other, "a comparison (<=)"))

    def __gt__(self, other):
        return Tensor._constant(self.data > _compared(self, other, "a comparison (>)"))

    def __ge__(self, other):
        return Tensor._constant(self.data >= _compared(self, other, "a comparison (>=)"))

    def __and__(self, other):
        return Tensor._constant(self.data & _raw(other))

    def __or__(self, other):
        return Tensor._constant(self.data | _raw(other))

    def __invert__(self):
        return Tensor._constant(~self.data)

    # ---------------------------------------------------------- elementwise methods
    def exp(self):
        """Elementwise e**x."""
        return ops.exp(self)

    def log(self):
        """Elementwise natural logarithm."""
        return ops.log(self)

    def sqrt(self):
        """Elementwise square root."""
        return ops.sqrt(self)

    def abs(self):
        """Elementwise absolute value."""
        return ops.abs(self)

    def tanh(self):
        """Elementwise hyperbolic tangent."""
        return ops.tanh(self)

    def sigmoid(self):
        """Elementwise logistic sigmoid 1 / (1 + e**-x)."""
        return ops.sigmoid(self)

    def relu(self):
        """Elementwise max(x, 0)."""
        return ops.relu(self)

    def clip(self, min=None, max=None):
        """Elementwise clamp into [min, max]; either bound may be None."""
        return ops.clip(self, min, max)

    # ------------------------------------------------------------ reduction methods
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (None for all, an int, or a tuple)."""
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis``."""
        return ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis``; tied maxima share the gradient equally."""
        return ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        """Minimum over ``axis``; tied minima share the gradient equally."""
        return ops.min(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        """Variance over ``axis`` with ``ddof`` delta degrees of freedom (0: population)."""
        return ops.var(self, axis, keepdims, ddof)

    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(x))) over ``axis``, computed without overflow."""
        return ops.logsumexp(self, axis, keepdims)

    def softmax(self, axis=-1):
        """exp(x) / sum(exp(x)) along ``axis``, computed without overflow."""
        return ops.softmax(self, axis)

    def log_softmax(self, axis=-1):
        """log(softmax(x)) along ``axis``, computed without overflow."""
        return ops.log_softmax(self, axis)

    # ----------------------------------------------------------------- shape methods
    def reshape(self, *shape):
        """The same elements in a new shape (one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def transpose(self, *axes):
        """Permute the axes (reverse them when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    def flatten(self):
        """A 1-D tensor of all elements."""
        return ops.reshape(self, (-1,))

    def squeeze(self, axis=None):
        """Remove axes of length one (all of them, or the given ``axis``)."""
        return ops.squeeze(self, axis)

    def unsqueeze(self, axis):
        """Insert an axis of length one at ``axis``."""
        return ops.unsqueeze(self, axis)

    def broadcast_to(self, shape):
        """Broadcast to ``shape`` as NumPy would."""
        return ops.broadcast_to(self, shape)


def _raw(value):
    """The ndarray behind a Tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value


def _compared(tensor, other, how):
    """``other``'s array (or ``other``), after telling the read watchers that a comparison
    (``how``) reads the values of ``tensor`` and ``other``."""
    autograd.value_read(tensor, how)
    if isinstance(other, Tensor):
        autograd.value_read(other, how)
        return other.data
    return other


def as_tensor(value, like=None):
    """Return ``value`` as a Tensor operand, without copying.

    A Tensor is returned as is; an ndarray is wrapped; a Python number takes the dtype NumPy's
    promotion gives it next to ``like`` (so ``float32_tensor * 2.0`` stays float32).
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._constant(value)
    if like is not None and isinstance(value, int | float | bool):
        dtype = np.result_type(like.data.dtype, value)
        return Tensor._constant(np.asarray(value, dtype=dtype))
    return Tensor._constant(as_array(value))


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off again."""

    _next_id = 0

    def __init__(self, hooks, hook):
        self.hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self):
        """Take the hook off (doing it twice is harmless)."""
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def tensor(data, requires_grad=False, dtype=None):
    """Make a Tensor from data (array, list, number or Tensor), copying it."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# ops builds on Tensor, and Tensor's operators call ops: import it once Tensor exists, and hand
# the engine the two namespaces its derivative rules compute with.
from minigrad import ops  # noqa: E402
from minigrad.ops import xp_numpy, xp_tensor  # noqa: E402

autograd._xp_numpy, autograd._xp_tensor = xp_numpy, xp_tensor
