"""The builder: records primitive operations into a Program, with NumPy's names and rules.

The builder is an array namespace. Its functions have the names and signatures of NumPy's
(``sum(a, axis, keepdims)``, ``where(cond, a, b)``, ``matmul(a, b)`` ...) and of ``xp_numpy``'s
additions (``sum_to``, ``sigmoid``, ``softmax``), but instead of computing they append an
instruction to the program and return its result as a :class:`~minigrad.compile.program.Value`,
with the shape and dtype NumPy's rules give. So the very same derivative rule that the engine
runs with ``xp = xp_numpy`` on arrays, run here with ``xp = builder`` on Values, writes the
backward pass into the program: each operation's rule is written once.

What cannot become straight-line code (indexing with arrays, a rule that branches on a value)
raises :class:`NotLowerable`; the tracer then keeps that operation whole, as a call.
"""

import functools
import math
import numbers

import numpy as np

from minigrad.compile.program import Instr, Value
from minigrad.ops.axes import broadcast_axes, normalize_axes


class NotLowerable(Exception):
    """An operation the builder cannot express as primitives (it is then called as a whole)."""


# Elementwise operations: name -> the NumPy function whose dtype rules they follow.
UNARY = {"neg": np.negative, "exp": np.exp, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt,
         "abs": np.absolute, "tanh": np.tanh, "sign": np.sign, "not": np.logical_not,
         "isnan": np.isnan, "isfinite": np.isfinite}
BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
          "pow": np.power, "maximum": np.maximum, "minimum": np.minimum, "gt": np.greater,
          "ge": np.greater_equal, "lt": np.less, "le": np.less_equal, "eq": np.equal,
          "ne": np.not_equal, "and": np.logical_and, "or": np.logical_or}
ELEMENTWISE = set(UNARY) | set(BINARY) | {"where", "cast", "index_eq", "pick"}
REDUCTIONS = {"sum", "max"}
VIEWS = {"reshape", "transpose", "broadcast_to"}


@functools.lru_cache(maxsize=4096)
def _result_dtype(op, kinds):
    """The dtype NumPy gives ``op`` on operands described by ``kinds`` (dtype or Python type)."""
    samples = [kind(0) if isinstance(kind, type) and issubclass(kind, bool | int | float)
               else np.zeros((), kind) for kind in kinds]
    with np.errstate(all="ignore"):
        if op == "where":
            return np.where(True, samples[1], samples[2]).dtype
        function = UNARY.get(op) or BINARY[op]
        return np.asarray(function(*samples)).dtype


def _is_identity(op, args, dtype):
    """Whether ``op(*args)`` is one argument unchanged (x - 0, x * 1, 1 * x, x / 1, x ** 1).

    Not x + 0: in floating point -0.0 + 0.0 is +0.0, and the compiled step must compute what
    eager computes.
    """
    if op not in ("sub", "mul", "div", "pow") or len(args) != 2:
        return False
    neutral = 0 if op == "sub" else 1
    for value, other, position in ((args[1], args[0], 1), (args[0], args[1], 0)):
        if position == 0 and op != "mul":
            continue
        if value.kind == "literal" and value.constant == neutral and other.kind != "literal" \
                and other.dtype == dtype and np.broadcast_shapes(other.shape, value.shape) == \
                other.shape:
            return True
    return False


def _kind(value):
    """How an operand takes part in type promotion: a dtype, or a Python type (weak scalar)."""
    if value.kind == "literal" and type(value.constant) in (bool, int, float):
        return type(value.constant)
    return value.dtype


class Builder:
    """Appends instructions to ``program``; ``section`` and ``note`` label what comes next."""

    def __init__(self, program):
        self.program = program
        self.section = "forward"
        self.note = ""
        self._counter = 0
        self._literals = {}

    # ------------------------------------------------------------------ values
    def not_lowerable(self, why):
        """The exception to raise for something that cannot be straight-line code."""
        return NotLowerable(why)

    def new_value(self, shape, dtype, kind="temp", name=None, constant=None, label=None):
        """A new named Value (temporaries are t0, t1, ...)."""
        if name is None:
            name = f"t{self._counter}"
            self._counter += 1
        return Value(self, name, shape, dtype, kind, constant, label)

    def literal(self, number):
        """A Python or NumPy number as a Value written into the code."""
        if isinstance(number, np.ndarray):
            number = number[()]
        if isinstance(number, np.generic):
            dtype = number.dtype
        elif isinstance(number, bool | int | float):
            dtype = np.asarray(number).dtype
        else:
            raise NotLowerable(f"a {type(number).__name__} operand")
        key = (type(number), repr(number), dtype)
        if key not in self._literals:
            self._literals[key] = Value(self, repr(number), (), dtype, "literal", number)
        return self._literals[key]

    def operand(self, x):
        """``x`` as a Value: Values as they are, numbers as literals, arrays as constants."""
        if isinstance(x, Value):
            return x
        if isinstance(x, np.ndarray) and x.ndim:
            return self.constant(x)
        if isinstance(x, numbers.Number | np.ndarray | np.generic):
            return self.literal(x)
        raise NotLowerable(f"an operand of type {type(x).__name__}")

    def constant(self, array):
        """A captured array (0-d arrays become literals of their dtype)."""
        if array.ndim == 0:
            return self.literal(array)
        value = self.new_value(array.shape, array.dtype, "const",
                               name=f"c{len(self.program.consts)}", constant=array)
        self.program.consts.append(value)
        return value

    def emit(self, op, args, out_shape, out_dtype, **attrs):
        """Append ``op(args, **attrs)`` with one output of ``out_shape`` and ``out_dtype``."""
        out = self.new_value(out_shape, out_dtype)
        self.emit_many(op, args, [out], **attrs)
        return out

    def emit_many(self, op, args, outs, **attrs):
        """Append an instruction with several outputs (or none); return it."""
        instr = Instr(op, outs, args, attrs, self.section, self.note)
        for out in outs:
            if out is not None:
                out.instr = instr
        self.program.instrs.append(instr)
        return instr

    # -------------------------------------------------------------- elementwise
    def elementwise(self, op, *operands):
        """An elementwise operation with NumPy broadcasting and type promotion."""
        args = [self.operand(x) for x in operands]
        try:
            shape = np.broadcast_shapes(*[a.shape for a in args])
        except ValueError:
            raise NotLowerable(f"{op}: shapes {[a.shape for a in args]} do not broadcast") \
                from None
        dtype = _result_dtype(op, tuple(_kind(a) for a in args))
        if _is_identity(op, args, dtype):  # x - 0, x * 1, x / 1: exactly x
            return args[0] if args[1].kind == "literal" else args[1]
        if all(a.kind == "literal" for a in args):  # fold: nothing to compute at run time
            with np.errstate(all="ignore"):
                if op == "where":
                    folded = np.where(*[a.constant for a in args])
                else:
                    folded = (UNARY.get(op) or BINARY[op])(*[a.constant for a in args])
            return self.literal(np.asarray(folded, dtype=dtype)[()])
        return self.emit(op, args, shape, dtype)

    def add(self, a, b):
        """a + b."""
        return self.elementwise("add", a, b)

    def subtract(self, a, b):
        """a - b."""
        return self.elementwise("sub", a, b)

    def multiply(self, a, b):
        """a * b."""
        return self.elementwise("mul", a, b)

    def divide(self, a, b):
        """a / b."""
        return self.elementwise("div", a, b)

    def power(self, a, b):
        """a ** b."""
        return self.elementwise("pow", a, b)

    def negative(self, a):
        """-a."""
        return self.elementwise("neg", a)

    def greater(self, a, b):
        """a > b (boolean)."""
        return self.elementwise("gt", a, b)

    def greater_equal(self, a, b):
        """a >= b (boolean)."""
        return self.elementwise("ge", a, b)

    def less(self, a, b):
        """a < b (boolean)."""
        return self.elementwise("lt", a, b)

    def less_equal(self, a, b):
        """a <= b (boolean)."""
        return self.elementwise("le", a, b)

    def equal(self, a, b):
        """a == b (boolean)."""
        return self.elementwise("eq", a, b)

    def not_equal(self, a, b):
        """a != b (boolean)."""
        return self.elementwise("ne", a, b)

    def logical_and(self, a, b):
        """a & b on booleans."""
        return self.elementwise("and", a, b)

    def logical_or(self, a, b):
        """a | b on booleans."""
        return self.elementwise("or", a, b)

    def logical_not(self, a):
        """~a on booleans."""
        return self.elementwise("not", a)

    def exp(self, a):
        """e ** a."""
        return self.elementwise("exp", a)

    def log(self, a):
        """Natural logarithm."""
        return self.elementwise("log", a)

    def log1p(self, a):
        """log(1 + a)."""
        return self.elementwise("log1p", a)

    def sqrt(self, a):
        """Square root."""
        return self.elementwise("sqrt", a)

    def abs(self, a):
        """|a|."""
        return self.elementwise("abs", a)

    def tanh(self, a):
        """Hyperbolic tangent."""
        return self.elementwise("tanh", a)

    def sign(self, a):
        """-1, 0 or 1."""
        return self.elementwise("sign", a)

    def isnan(self, a):
        """a is NaN (boolean)."""
        return self.elementwise("isnan", a)

    def isfinite(self, a):
        """a is finite (boolean)."""
        return self.elementwise("isfinite", a)

    def maximum(self, a, b):
        """Elementwise max (NaN wins, as NumPy's)."""
        return self.elementwise("maximum", a, b)

    def minimum(self, a, b):
        """Elementwise min (NaN wins, as NumPy's)."""
        return self.elementwise("minimum", a, b)

    def where(self, cond, a, b):
        """a where cond, else b."""
        return self.elementwise("where", cond, a, b)

    def astype(self, a, dtype):
        """``a`` converted to ``dtype`` (itself when it has that dtype already)."""
        a, dtype = self.operand(a), np.dtype(dtype)
        if a.dtype == dtype:
            return a
        if a.kind == "literal":
            return self.literal(np.asarray(a.constant, dtype=dtype)[()])
        return self.emit("cast", [a], a.shape, dtype, dtype=dtype)

    def sigmoid(self, a):
        """1 / (1 + e^-a), computed as minigrad's ``stable_sigmoid`` (never overflows)."""
        decay = self.exp(-self.abs(a))
        return self.where(a >= 0, 1, decay) / (1 + decay)

    def zeros_like(self, a):
        """Zeros of ``a``'s shape and dtype."""
        return self.broadcast_to(self.literal(np.zeros((), a.dtype)[()]), a.shape)

    # --------------------------------------------------------------- reductions
    def sum(self, a, axis=None, keepdims=False, dtype=None):
        """The sum over ``axis`` (all axes when None)."""
        return self._reduce("sum", a, axis, keepdims, dtype)

    def max(self, a, axis=None, keepdims=False):
        """The maximum over ``axis`` (NaN wins, as NumPy's)."""
        return self._reduce("max", a, axis, keepdims, None)

    def mean(self, a, axis=None, keepdims=False):
        """The mean over ``axis``: the sum divided by the count."""
        a = self.operand(a)
        axes = normalize_axes(axis, a.ndim, "mean")
        count = math.prod(a.shape[ax] for ax in axes)
        return self.sum(a, axes, keepdims) / count

    def _reduce(self, op, a, axis, keepdims, dtype):
        a = self.operand(a)
        axes = normalize_axes(axis, a.ndim, op)
        if dtype is None:
            dtype = a.dtype if op == "max" or a.dtype.kind in "fc" else \
                np.sum(np.zeros(1, a.dtype)).dtype
        kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
        shape = kept if keepdims else tuple(n for i, n in enumerate(a.shape) if i not in axes)
        if not axes:
            return self.astype(a, dtype)
        if op == "max" and any(a.shape[ax] == 0 for ax in axes):
            raise NotLowerable("max over an empty axis")
        return self.emit(op, [a], shape, dtype, axes=axes, keepdims=bool(keepdims))

    def sum_to(self, a, shape):
        """Sum ``a`` over the axes that broadcasting ``shape`` to ``a.shape`` added or stretched."""
        shape = tuple(shape)
        if a.shape == shape:
            return a
        return self.reshape(self.sum(a, axis=broadcast_axes(a.shape, shape)), shape)

    def softmax(self, a, axis):
        """exp(a) / sum(exp(a)) along ``axis``, shifted by the max (as ``xp_numpy.softmax``)."""
        e = self.exp(a - self.max(a, axis=axis, keepdims=True))
        return e / self.sum(e, axis=axis, keepdims=True)

    # --------------------------------------------------------------------- views
    def reshape(self, a, shape):
        """The same elements in ``shape`` (one entry may be -1)."""
        a = self.operand(a)
        shape = tuple(int(n) for n in (shape if isinstance(shape, tuple | list) else (shape,)))
        if -1 in shape:
            known = math.prod(n for n in shape if n != -1)
            shape = tuple(a.size // known if n == -1 else n for n in shape)
        if math.prod(shape) != a.size:
            raise NotLowerable(f"reshape {a.shape} -> {shape}")
        if shape == a.shape:
            return a
        return self.emit("reshape", [a], shape, a.dtype, shape=shape)

    def transpose(self, a, axes=None):
        """The axes of ``a`` permuted (reversed when ``axes`` is None)."""
        a = self.operand(a)
        axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(
            ax % a.ndim for ax in axes)
        if axes == tuple(range(a.ndim)):
            return a
        return self.emit("transpose", [a], tuple(a.shape[ax] for ax in axes), a.dtype,
                         axes=axes)

    def swapaxes(self, a, axis1, axis2):
        """``a`` with two axes exchanged."""
        axes = list(range(a.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(a, axes)

    def broadcast_to(self, a, shape):
        """``a`` broadcast to ``shape`` (a view: elements are read again, never copied)."""
        a, shape = self.operand(a), tuple(shape)
        if a.shape == shape:
            return a
        if np.broadcast_shapes(a.shape, shape) != shape:
            raise NotLowerable(f"broadcast {a.shape} -> {shape}")
        return self.emit("broadcast_to", [a], shape, a.dtype, shape=shape)

    def expand_dims(self, a, axis):
        """``a`` with axes of length one inserted at ``axis`` (an int or a tuple)."""
        axes = axis if isinstance(axis, tuple | list) else (axis,)
        ndim = a.ndim + len(axes)
        positions = normalize_axes(axes, ndim, "expand_dims")
        rest = iter(a.shape)
        return self.reshape(a, tuple(1 if i in positions else next(rest) for i in range(ndim)))

    # -------------------------------------------------------------------- others
    def matmul(self, a, b):
        """a @ b for 2-D operands (a with more axes is flattened to 2-D and back)."""
        a, b = self.operand(a), self.operand(b)
        if b.ndim != 2 or a.ndim < 2 or a.shape[-1] != b.shape[0]:
            raise NotLowerable(f"matmul of shapes {a.shape} and {b.shape}")
        if a.ndim > 2:
            flat = self.reshape(a, (-1, a.shape[-1]))
            return self.reshape(self.matmul(flat, b), a.shape[:-1] + (b.shape[1],))
        dtype = np.result_type(a.dtype, b.dtype)
        return self.emit("matmul", [a, b], (a.shape[0], b.shape[1]), dtype)

    def index_eq(self, index, classes):
        """The one-hot mask ``index[i] == j`` of shape (len(index), classes)."""
        return self.emit("index_eq", [index], (index.shape[0], classes), np.bool_,
                         classes=int(classes))

    def pick(self, a, index):
        """``a[i, index[i]]`` for every row i (a of shape (N, C), index of shape (N,))."""
        return self.emit("pick", [a, index], (a.shape[0],), a.dtype)

    def check_index(self, index, classes, what):
        """Raise ``what``'s out-of-range error at run time unless 0 <= index < classes."""
        self.emit_many("check_index", [index], [], classes=int(classes), what=what)

    def uniform(self, shape, dtype):
        """Numbers drawn from minigrad's generator at every call, as ``random(shape, dtype)``."""
        return self.emit("uniform", [], shape, dtype, shape=tuple(shape), dtype=np.dtype(dtype))

    # What the rules may call but the builder does not express: the operation is called whole.
    def _not_lowerable(self, *args, **kwargs):
        raise NotLowerable("scatter, concatenation, splitting or stacking")

    scatter_add = concatenate = split = stack = _not_lowerable
