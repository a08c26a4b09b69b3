"""The program: a traced training step as a straight-line list of operations on whole arrays.

A :class:`Program` is what ``minigrad.compile`` makes of one traced call: its inputs (the
call's arrays), what it reads at every call (parameters, the gradients already there), the
constants it captured, and its instructions in three sections (forward, backward, update), each
one primitive operation: ``t3 = t1 + b0``, ``t4 = max(t3, axis=1, keepdims)``,
``t9 = matmul(t8, w1.T)``. It names every value, knows every shape and dtype, and has no Python
control flow left: that is what lets the next stages fuse and compile it.

``str(program)`` prints it as readable code, one line per operation, as ``jax.make_jaxpr``
prints a jaxpr.
"""

import numpy as np

SECTIONS = ("forward", "backward", "update")

#: Names the generated code uses itself: no value may take them.
RESERVED = {"np", "numba", "jit", "run", "fail", "fit", "random", "xp_numpy", "status", "grads",
            "k", "j", "CHECKS", "arenas", "a_ik", "is_"}

# How each operation prints. Binary operators print as Python expressions; everything else as
# a call, its static attributes after its arguments.
_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "gt": ">", "ge": ">=",
          "lt": "<", "le": "<=", "eq": "==", "ne": "!=", "and": "&", "or": "|"}
_SHORT_DTYPES = {"float32": "f32", "float64": "f64", "float16": "f16", "int64": "i64",
                 "int32": "i32", "int8": "i8", "uint8": "u8", "bool": "bool"}


def type_string(shape, dtype):
    """``f32[32,64]``: a value's dtype and shape, as the printout shows them."""
    name = _SHORT_DTYPES.get(np.dtype(dtype).name, np.dtype(dtype).name)
    return f"{name}[{','.join(map(str, shape))}]"


class Value:
    """One array of the program: a name, a shape, a dtype, and what it is.

    ``kind`` is one of:

    - ``'input'``: an array passed to the call (the data of a Tensor argument);
    - ``'param'``: a tensor's ``.data`` read at every call (parameters, module buffers);
    - ``'grad_in'``: a parameter's ``.grad`` as the call found it (when backward adds to it);
    - ``'state'``: an optimizer's state array, read at every call;
    - ``'const'``: an array captured while tracing (``constant`` holds it);
    - ``'literal'``: a Python number written into the code (``constant`` holds it);
    - ``'temp'``: computed by an instruction (``instr``).

    Operators on values record instructions (``a + b``, ``a @ b.T``) through their builder: that
    is how the operations' own derivative rules, run with the builder as ``xp``, become code.
    """

    __slots__ = ("builder", "name", "shape", "dtype", "kind", "constant", "instr", "label")

    def __init__(self, builder, name, shape, dtype, kind, constant=None, label=None):
        self.builder, self.name, self.kind = builder, name, kind
        self.shape, self.dtype = tuple(int(n) for n in shape), np.dtype(dtype)
        self.constant, self.instr, self.label = constant, None, label

    def __repr__(self):
        return f"{self.name}:{type_string(self.shape, self.dtype)}"

    @property
    def ndim(self):
        """The number of axes."""
        return len(self.shape)

    @property
    def size(self):
        """The number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def T(self):
        """The value with its axes reversed (a view: no copy in the compiled code)."""
        return self.builder.transpose(self)

    # Arithmetic records instructions; the builder implements NumPy's rules for them.
    def __add__(self, other):
        return self.builder.add(self, other)

    def __radd__(self, other):
        return self.builder.add(other, self)

    def __sub__(self, other):
        return self.builder.subtract(self, other)

    def __rsub__(self, other):
        return self.builder.subtract(other, self)

    def __mul__(self, other):
        return self.builder.multiply(self, other)

    def __rmul__(self, other):
        return self.builder.multiply(other, self)

    def __truediv__(self, other):
        return self.builder.divide(self, other)

    def __rtruediv__(self, other):
        return self.builder.divide(other, self)

    def __pow__(self, other):
        return self.builder.power(self, other)

    def __rpow__(self, other):
        return self.builder.power(other, self)

    def __matmul__(self, other):
        return self.builder.matmul(self, other)

    def __rmatmul__(self, other):
        return self.builder.matmul(other, self)

    def __neg__(self):
        return self.builder.negative(self)

    def __gt__(self, other):
        return self.builder.greater(self, other)

    def __ge__(self, other):
        return self.builder.greater_equal(self, other)

    def __lt__(self, other):
        return self.builder.less(self, other)

    def __le__(self, other):
        return self.builder.less_equal(self, other)

    def __eq__(self, other):
        return self.builder.equal(self, other)

    def __ne__(self, other):
        return self.builder.not_equal(self, other)

    def __and__(self, other):
        return self.builder.logical_and(self, other)

    def __or__(self, other):
        return self.builder.logical_or(self, other)

    def __invert__(self):
        return self.builder.logical_not(self)

    __hash__ = object.__hash__

    def __bool__(self):
        # A rule that branches on a value cannot become straight-line code.
        raise self.builder.not_lowerable("a derivative rule branches on an array's value")

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        raise self.builder.not_lowerable("indexing")

    def reshape(self, *shape):
        """The same elements in another shape."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return self.builder.reshape(self, shape)

    def sum(self, axis=None, keepdims=False, dtype=None):
        """The sum over ``axis``, as ``ndarray.sum``."""
        return self.builder.sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def astype(self, dtype, copy=True):
        """The value converted to ``dtype``."""
        return self.builder.astype(self, dtype)


class Instr:
    """One operation of the program: ``outs = op(args, **attrs)``.

    ``note`` says which minigrad operation it comes from (``Linear``, ``vjp Linear``, ...), so
    the printout can show where each line came from.
    """

    __slots__ = ("op", "outs", "args", "attrs", "section", "note")

    def __init__(self, op, outs, args, attrs, section, note):
        self.op, self.outs, self.args, self.attrs = op, tuple(outs), tuple(args), dict(attrs)
        self.section, self.note = section, note

    @property
    def out(self):
        """The single output (most operations have one)."""
        return self.outs[0]

    def __repr__(self):
        return f"<{format_instr(self)}>"


def operand(value):
    """A value as an argument in the printout: its name, or a literal's number."""
    if value is None:
        return "None"
    if value.kind == "literal":
        number = value.constant
        return repr(number.item() if isinstance(number, np.generic) else number)
    return value.name


def format_instr(instr):
    """One instruction as a line of code, e.g. ``t3 = t1 + b0``."""
    args = [operand(a) for a in instr.args]
    attrs = instr.attrs
    op = instr.op
    if op in _INFIX:
        text = f"{args[0]} {_INFIX[op]} {args[1]}"
    elif op == "neg":
        text = f"-{args[0]}"
    elif op == "transpose" and attrs["axes"] == tuple(reversed(range(len(attrs["axes"])))):
        text = f"{args[0]}.T"
    elif op == "call":
        params = [f"{key}={_param(value)}" for key, value in attrs["params"].items()]
        text = f"{attrs['function'].__name__}({', '.join(args + params)})"
    elif op == "call_vjp":
        forward = attrs["forward"]
        text = f"vjp[{forward.attrs['function'].__name__}]({args[0]})"
    elif op == "update":
        state = [key for key in attrs["state"] if key is not None]
        text = (f"{attrs['label']}.update({', '.join(args + state)}, group "
                f"{attrs['group']})  # in place")
    elif op == "step":
        grads = iter(args)
        given = [f"{name}.grad={next(grads) if has else 'None'}"
                 for name, has in zip(attrs["names"], attrs["has_grad"], strict=True)]
        text = f"{attrs['label']}.step({', '.join(given)})"
    else:
        shown = [f"{key}={_attr(value)}" for key, value in attrs.items()
                 if key not in _HIDDEN_ATTRS]
        text = f"{op}({', '.join(args + shown)})"
    outs = ", ".join("_" if v is None else v.name for v in instr.outs)
    return f"{outs} = {text}" if instr.outs else text


_HIDDEN_ATTRS = {"function", "forward", "label", "optimizer", "grads", "names", "has_grad",
                 "params", "needs"}


def _param(value):
    if isinstance(value, Value):
        return operand(value)
    if isinstance(value, tuple):
        return f"({', '.join(_param(v) for v in value)}{',' if len(value) == 1 else ''})"
    return repr(value)


def _attr(value):
    if isinstance(value, np.dtype | type):
        return np.dtype(value).name
    return repr(value)


class Program:
    """A traced step: inputs, what it reads, constants, instructions, outputs and effects.

    Filled in by the tracer (``trace.py``); read by the scheduler and code generator.

    - ``inputs``: the call's arrays, in argument order (``Value``, how to find it in the call);
    - ``params``: ``(Value, Tensor)``: tensors whose ``.data`` is read at every call;
    - ``grads_in``: ``(Value, Tensor)``: gradients read as the call finds them;
    - ``consts``: ``Value`` s of kind ``'const'``;
    - ``instrs``: the instructions, in order;
    - ``outputs``: the returned structure, with Values (or Tensors returned as they are);
    - ``grads_out``: ``(Tensor, Value or None)``: what each ``.grad`` is after the call.
    """

    def __init__(self, name):
        self.name = name
        self.inputs, self.params, self.grads_in, self.consts = [], [], [], []
        self.instrs, self.grads_out = [], []
        self.outputs = None

    def values(self):
        """Every value the program names: inputs, reads, constants, then results in order."""
        seen = [v for v, _ in self.inputs] + [v for v, _ in self.params]
        seen += [v for v, _ in self.grads_in] + self.consts
        for instr in self.instrs:
            seen += [v for v in instr.outs if v is not None]
        return seen

    def __str__(self):
        return self.format()

    def format(self, types=True):
        """The program as code, one line per operation, each with its type and origin."""
        header = ", ".join(f"{v.name}: {type_string(v.shape, v.dtype)}" for v, _ in self.inputs)
        lines = [f"def {self.name}({header}):"]
        reads = [v for v, _ in self.params] + [v for v, _ in self.grads_in]
        if reads:
            lines.append("    # read at every call:")
        for value in reads:
            source = "" if value.label == value.name else f" = {value.label}"
            lines.append(f"    #   {value.name}: {type_string(value.shape, value.dtype)}{source}")
        if self.consts:
            lines.append("    # constants captured while tracing:")
        for value in self.consts:
            lines.append(f"    #   {value.name}: {type_string(value.shape, value.dtype)}")
        section = None
        body = []
        for instr in self.instrs:
            if instr.section != section:
                section = instr.section
                body.append(("", f"# {section}", ""))
            kind = ""
            if types and instr.outs and instr.outs[0] is not None:
                kind = type_string(instr.outs[0].shape, instr.outs[0].dtype)
            body.append((format_instr(instr), kind, instr.note or ""))
        width = max([len(code) for code, _, _ in body] + [0]) + 2
        kind_width = max([len(kind) for _, kind, _ in body] + [0]) + 2
        for code, kind, note in body:
            if not code:
                lines.append(f"    {kind}")
                continue
            lines.append(f"    {code.ljust(width)}{kind.ljust(kind_width)}{note}".rstrip())
        for tensor, value in self.grads_out:
            target = _label_of(tensor, self)
            lines.append(f"    {target}.grad = {'None' if value is None else operand(value)}")
        lines.append(f"    return {_format_outputs(self.outputs)}")
        return "\n".join(lines)


def _label_of(tensor, program):
    for value, t in program.params:
        if t is tensor:
            return value.label
    return "tensor"


def _format_outputs(outputs):
    if isinstance(outputs, Value):
        return operand(outputs)
    if isinstance(outputs, tuple | list):
        inner = ", ".join(_format_outputs(o) for o in outputs)
        return f"({inner},)" if isinstance(outputs, tuple) and len(outputs) == 1 else \
            (f"({inner})" if isinstance(outputs, tuple) else f"[{inner}]")
    if isinstance(outputs, dict):
        return "{" + ", ".join(f"{k!r}: {_format_outputs(v)}" for k, v in outputs.items()) + "}"
    if outputs is None:
        return "None"
    return getattr(outputs, "_compile_label", type(outputs).__name__)
