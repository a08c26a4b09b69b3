"""Elementwise operations: arithmetic, the usual functions, and selection.

Each Function computes its forward on arrays and returns, in ``backward``, the upstream gradient
times the local derivative. Broadcast inputs need no care here: the engine sums every gradient
back to its input's shape.
"""

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor, as_tensor


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
    """a + b."""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """a - b."""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Mul(Function):
    """a * b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return (grad * self.b if need_a else None), (grad * self.a if need_b else None)


class Div(Function):
    """a / b."""

    def forward(self, a, b):
        self.b = b
        self.out = a / b
        return self.out

    def backward(self, grad):
        grad_a = grad / self.b
        need_a, need_b = self.needs_input_grad
        return (grad_a if need_a else None), (-grad_a * self.out if need_b else None)


class Neg(Function):
    """-a."""

    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)


class Pow(Function):
    """a ** exponent for a constant (Python number) exponent."""

    def forward(self, a, exponent):
        self.a, self.exponent = a, exponent
        return a**exponent

    def backward(self, grad):
        return (grad * self.exponent * self.a ** (self.exponent - 1),)


class PowTensor(Function):
    """a ** b with a tensor exponent: d/da = b a^(b-1), d/db = a^b log(a)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        grad_a = grad * self.b * self.a ** (self.b - 1) if need_a else None
        grad_b = None
        if need_b:
            # a^b log(a) -> 0 as a -> 0 for b > 0; take that limit instead of 0 * -inf = nan.
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(self.a == 0, 0, np.log(self.a))
            grad_b = grad * self.out * log_a
        return grad_a, grad_b


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

    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    """Natural logarithm; derivative 1/a."""

    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, grad):
        return (grad / self.a,)


class Sqrt(Function):
    """Square root; derivative 1 / (2 sqrt(a))."""

    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Abs(Function):
    """|a|; derivative sign(a), taken as 0 at a = 0 (as PyTorch)."""

    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, grad):
        return (grad * np.sign(self.a),)


class Tanh(Function):
    """tanh(a); derivative 1 - tanh(a)^2."""

    def forward(self, a):
        self.out = np.tanh(a)
        return self.out

    def backward(self, grad):
        return (grad * (1 - self.out * self.out),)


class Sigmoid(Function):
    """1 / (1 + e^-a); derivative s (1 - s)."""

    def forward(self, a):
        # The tanh form never overflows, unlike 1 / (1 + exp(-a)) for a << 0.
        self.out = 0.5 * (1 + np.tanh(0.5 * a))
        return self.out

    def backward(self, grad):
        return (grad * self.out * (1 - self.out),)


class ReLU(Function):
    """max(a, 0); derivative 1 where a > 0, else 0."""

    def forward(self, a):
        self.positive = a > 0
        return a * self.positive

    def backward(self, grad):
        return (grad * self.positive,)


class Clip(Function):
    """Clamp a into [low, high]; the gradient passes where low <= a <= high (as PyTorch)."""

    def forward(self, a, low, high):
        self.inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            self.inside &= a >= low
        if high is not None:
            self.inside &= a <= high
        return np.clip(a, low, high)

    def backward(self, grad):
        return (grad * self.inside,)


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


# ------------------------------------------------------------------------- selection
class Maximum(Function):
    """Elementwise max(a, b); where a == b each side gets half the gradient (as PyTorch)."""

    def forward(self, a, b):
        self.share_a = (a > b) + 0.5 * (a == b)
        return np.maximum(a, b)

    def backward(self, grad):
        grad_a = grad * self.share_a
        return grad_a, grad - grad_a


class Minimum(Function):
    """Elementwise min(a, b); where a == b each side gets half the gradient (as PyTorch)."""

    def forward(self, a, b):
        self.share_a = (a < b) + 0.5 * (a == b)
        return np.minimum(a, b)

    def backward(self, grad):
        grad_a = grad * self.share_a
        return grad_a, grad - grad_a


class Where(Function):
    """cond ? a : b elementwise; the gradient goes to the side that was chosen."""

    def forward(self, a, b, cond):
        self.cond = cond
        return np.where(cond, a, b)

    def backward(self, grad):
        return np.where(self.cond, grad, 0), np.where(self.cond, 0, grad)


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
