"""Elementwise operations: arithmetic, the usual functions, and selection.

Each Function computes its forward on arrays; ``backward`` returns the upstream gradient times the
local derivative, and ``jvp`` the inputs' tangents times the same derivative. Broadcast inputs
need no care here: the engine sums every gradient back to its input's shape.
"""

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor, as_tensor


def sum_tangents(*terms):
    """The sum of the tangent terms that are not None (None when all are: a zero tangent)."""
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total


def _binary(function, a, b):
    """Apply a two-input Function, turning NumPy's broadcasting error into one naming the op."""
    if not isinstance(a, Tensor):
        a = as_tensor(a, b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = as_tensor(b, a)
    try:
        return function.apply(a, b)
    except ValueError as error:
        if "broadcast" not in str(error):
            raise
        name = function.__name__.lower()
        raise ValueError(f"{name}: cannot broadcast shapes {a.shape} and {b.shape}") from None


# ---------------------------------------------------------------------------- arithmetic
class Add(Function):
    """a + b; d/da = d/db = 1."""

    saves_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, xp, grad, a, b, out):
        return grad, grad

    def jvp(self, xp, tangents, a, b, out):
        da, db = tangents
        return sum_tangents(da, db)


class Sub(Function):
    """a - b; d/da = 1, d/db = -1."""

    saves_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, xp, grad, a, b, out):
        return grad, -grad

    def jvp(self, xp, tangents, a, b, out):
        da, db = tangents
        return sum_tangents(da, None if db is None else -db)


class Mul(Function):
    """a * b; d/da = b, d/db = a."""

    def forward(self, a, b):
        return a * b

    def backward(self, xp, grad, a, b, out):
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)

    def jvp(self, xp, tangents, a, b, out):
        da, db = tangents
        return sum_tangents(None if da is None else da * b, None if db is None else a * db)


class Div(Function):
    """a / b; d/da = 1/b, d/db = -a/b^2 = -out/b."""

    def forward(self, a, b):
        return a / b

    def backward(self, xp, grad, a, b, out):
        grad_a = grad / b
        need_a, need_b = self.needs_input_grad
        return (grad_a if need_a else None), (-grad_a * out if need_b else None)

    def jvp(self, xp, tangents, a, b, out):
        da, db = tangents
        return sum_tangents(None if da is None else da / b, None if db is None else -db * out / b)


class Neg(Function):
    """-a; d/da = -1."""

    saves_inputs = False

    def forward(self, a):
        return -a

    def backward(self, xp, grad, a, out):
        return (-grad,)

    def jvp(self, xp, tangents, a, out):
        return -tangents[0]


class Pow(Function):
    """a ** e for a constant (Python number) exponent; d/da = e a^(e-1), and 0 when e == 0.

    The e == 0 case is explicit because a^(e-1) is infinite at a = 0, and 0 * inf is NaN, while
    a^0 is the constant 1 (PyTorch's rule too).
    """

    def forward(self, a, exponent):
        self.exponent = exponent
        return a**exponent

    def _derivative(self, a):
        return self.exponent * a ** (self.exponent - 1)

    def backward(self, xp, grad, a, out):
        if self.exponent == 0:
            return (grad * 0,)
        return (grad * self._derivative(a),)

    def jvp(self, xp, tangents, a, out):
        if self.exponent == 0:
            return None
        return tangents[0] * self._derivative(a)


class PowTensor(Function):
    """a ** b with a tensor exponent: d/da = b a^(b-1), d/db = a^b log(a).

    As in PyTorch, d/da is 0 where b == 0, and d/db is 0 where a == 0 and b >= 0 (the limit of
    a^b log(a) as a -> 0+), rather than the NaN of 0 * inf.
    """

    def forward(self, a, b):
        return a**b

    def _derivatives(self, xp, a, b, out):
        d_a = xp.where(b == 0, 0, b * a ** (b - 1))
        at_zero = (a == 0) & (b >= 0)
        d_b = xp.where(at_zero, 0, out * xp.log(xp.where(at_zero, 1, a)))
        return d_a, d_b

    def backward(self, xp, grad, a, b, out):
        with np.errstate(divide="ignore", invalid="ignore"):
            d_a, d_b = self._derivatives(xp, a, b, out)
        need_a, need_b = self.needs_input_grad
        return (grad * d_a if need_a else None), (grad * d_b if need_b else None)

    def jvp(self, xp, tangents, a, b, out):
        da, db = tangents
        with np.errstate(divide="ignore", invalid="ignore"):
            d_a, d_b = self._derivatives(xp, a, b, out)
        return sum_tangents(None if da is None else da * d_a, None if db is None else db * d_b)


def add(a, b):
    """a + b with broadcasting."""
    return _binary(Add, a, b)


def sub(a, b):
    """a - b with broadcasting."""
    return _binary(Sub, a, b)


def mul(a, b):
    """a * b with broadcasting."""
    return _binary(Mul, a, b)


def div(a, b):
    """a / b with broadcasting."""
    return _binary(Div, a, b)


def neg(a):
    """-a."""
    return Neg.apply(a)


def power(a, exponent):
    """a ** exponent; the exponent may be a Python number or a tensor."""
    if isinstance(a, Tensor) and isinstance(exponent, int | float) and not isinstance(
        exponent, bool
    ):
        return Pow.apply(a, exponent=exponent)
    return _binary(PowTensor, a, exponent)


# ------------------------------------------------------------------------- functions
class Exp(Function):
    """e**a; its derivative is itself."""

    saves_inputs = False

    def forward(self, a):
        return np.exp(a)

    def backward(self, xp, grad, a, out):
        return (grad * out,)

    def jvp(self, xp, tangents, a, out):
        return tangents[0] * out


class Log(Function):
    """Natural logarithm; d log(a)/da = 1/a."""

    def forward(self, a):
        return np.log(a)

    def backward(self, xp, grad, a, out):
        return (grad / a,)

    def jvp(self, xp, tangents, a, out):
        return tangents[0] / a


class Sqrt(Function):
    """Square root; d sqrt(a)/da = 1 / (2 sqrt(a))."""

    saves_inputs = False

    def forward(self, a):
        return np.sqrt(a)

    def backward(self, xp, grad, a, out):
        return (grad / (2 * out),)

    def jvp(self, xp, tangents, a, out):
        return tangents[0] / (2 * out)


class Abs(Function):
    """|a|; d|a|/da = sign(a), taken as 0 at a = 0 (as PyTorch)."""

    def forward(self, a):
        return np.abs(a)

    def backward(self, xp, grad, a, out):
        return (grad * xp.sign(a),)

    def jvp(self, xp, tangents, a, out):
        return tangents[0] * xp.sign(a)


class Tanh(Function):
    """tanh(a); d tanh(a)/da = 1 - tanh(a)^2."""

    saves_inputs = False

    def forward(self, a):
        return np.tanh(a)

    def backward(self, xp, grad, a, out):
        return (grad * (1 - out * out),)

    def jvp(self, xp, tangents, a, out):
        return tangents[0] * (1 - out * out)


def stable_sigmoid(a):
    """1 / (1 + e^-a) on an array, accurate in both tails and never overflowing.

    For a >= 0 it is 1 / (1 + e^-a); for a < 0 the same value is e^a / (1 + e^a), which keeps
    the lower tail's relative precision (1 + tanh(a/2) would cancel to 0 in float32 near -17).
    """
    decay = np.exp(-np.abs(a))
    return np.where(a >= 0, 1, decay) / (1 + decay)


class Sigmoid(Function):
    """sigmoid(a) = 1 / (1 + e^-a); d sigmoid(a)/da = s (1 - s)."""

    saves_inputs = False

    def forward(self, a):
        return stable_sigmoid(a)

    def backward(self, xp, grad, a, out):
        return (grad * out * (1 - out),)

    def jvp(self, xp, tangents, a, out):
        return tangents[0] * out * (1 - out)


class ReLU(Function):
    """max(a, 0); d relu(a)/da = 1 where a > 0, else 0 (so relu(-inf) = 0 with gradient 0)."""

    saves_inputs = False

    def forward(self, a):
        return np.maximum(a, a.dtype.type(0))

    def backward(self, xp, grad, a, out):
        return (grad * (out > 0),)

    def jvp(self, xp, tangents, a, out):
        return tangents[0] * (out > 0)


class Clip(Function):
    """Clamp a into [low, high]; the gradient passes where low <= a <= high (as PyTorch)."""

    saves_inputs = False

    def forward(self, a, low, high):
        self.inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            self.inside &= a >= low
        if high is not None:
            self.inside &= a <= high
        return np.clip(a, low, high)

    def backward(self, xp, grad, a, out):
        return (grad * self.inside,)

    def jvp(self, xp, tangents, a, out):
        return tangents[0] * self.inside


def exp(a):
    """Elementwise e**a."""
    return Exp.apply(a)


def log(a):
    """Elementwise natural logarithm."""
    return Log.apply(a)


def sqrt(a):
    """Elementwise square root."""
    return Sqrt.apply(a)


def abs(a):  # noqa: A001 - the name users expect
    """Elementwise absolute value."""
    return Abs.apply(a)


def tanh(a):
    """Elementwise hyperbolic tangent."""
    return Tanh.apply(a)


def sigmoid(a):
    """Elementwise logistic sigmoid."""
    return Sigmoid.apply(a)


def relu(a):
    """Elementwise max(a, 0)."""
    return ReLU.apply(a)


def clip(a, min=None, max=None):  # noqa: A002 - NumPy's and PyTorch's argument names
    """Clamp ``a`` into [min, max]; either bound may be None."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip.apply(a, low=min, high=max)


def sign(a):
    """Elementwise sign (-1, 0 or 1): a constant, whose derivative is 0 almost everywhere."""
    return Tensor._constant(np.sign(a.data if isinstance(a, Tensor) else a))


# ------------------------------------------------------------------------- selection
class Maximum(Function):
    """Elementwise max(a, b); where a == b each side gets half the gradient (as PyTorch)."""

    saves_inputs = False

    def forward(self, a, b):
        out = np.maximum(a, b)
        self.share_a = ((a > b) + 0.5 * (a == b)).astype(out.dtype)
        return out

    def backward(self, xp, grad, a, b, out):
        grad_a = grad * self.share_a
        return grad_a, grad - grad_a

    def jvp(self, xp, tangents, a, b, out):
        da, db = tangents
        return sum_tangents(None if da is None else da * self.share_a,
                            None if db is None else db * (1 - self.share_a))


class Minimum(Maximum):
    """Elementwise min(a, b); where a == b each side gets half the gradient (as PyTorch)."""

    def forward(self, a, b):
        out = np.minimum(a, b)
        self.share_a = ((a < b) + 0.5 * (a == b)).astype(out.dtype)
        return out


class Where(Function):
    """cond ? a : b elementwise; the gradient goes to the side that was chosen."""

    saves_inputs = False

    def forward(self, a, b, cond):
        self.cond = cond
        return np.where(cond, a, b)

    def backward(self, xp, grad, a, b, out):
        return xp.where(self.cond, grad, 0), xp.where(self.cond, 0, grad)

    def jvp(self, xp, tangents, a, b, out):
        da, db = tangents
        return xp.where(self.cond, 0 if da is None else da, 0 if db is None else db)


def maximum(a, b):
    """Elementwise maximum with broadcasting."""
    return _binary(Maximum, a, b)


def minimum(a, b):
    """Elementwise minimum with broadcasting."""
    return _binary(Minimum, a, b)


def where(cond, a, b):
    """Choose ``a`` where ``cond`` is true, else ``b`` (broadcasting all three)."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond)
    if cond.dtype != bool:
        raise TypeError(f"where: cond must be boolean, got dtype {cond.dtype}")
    a = as_tensor(a, b if isinstance(b, Tensor) else None)
    b = as_tensor(b, a)
    try:
        return Where.apply(a, b, cond=cond)
    except ValueError as error:
        if "broadcast" not in str(error):
            raise
        raise ValueError(
            f"where: cannot broadcast shapes {cond.shape}, {a.shape} and {b.shape}"
        ) from None
