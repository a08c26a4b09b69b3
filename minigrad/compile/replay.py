"""The compiled step: trace on the first calls, replay the compiled program on the next ones.

For each *signature* (the shapes and dtypes of the call's arrays, its other arguments, grad
mode, the modules' training flags, which gradients exist) a :class:`_Entry` goes through:

1. two eager calls, each recorded and lowered to a Program (``trace.py``, ``lower.py``); the
   two programs must be the same, constants included: a difference means the step depends on
   something the recording cannot see (a value computed with NumPy from ``.data``, a Python
   variable that changes), and compiling it would replay a stale copy of it;
2. compilation: schedule, generate, load (``schedule.py``, ``codegen.py``, ``loader.py``);
3. replays: check the guards (the same parameters, still in their modules, still wanting
   gradients), read the arrays, run the generated driver, hand out the results.
"""

import functools
import inspect
import os
import warnings
from operator import attrgetter, is_

import numpy as np

from minigrad import autograd
from minigrad._numba import numba_disabled
from minigrad.compile import check as checking
from minigrad.compile import runtime
from minigrad.compile.codegen import Generator
from minigrad.compile.discover import parameter_names, parameter_slots, reachable
from minigrad.compile.loader import load
from minigrad.compile.lower import lower
from minigrad.compile.program import RESERVED
from minigrad.compile.schedule import schedule
from minigrad.compile.trace import Recorder, Trace, refuse
from minigrad.tensor import Tensor, get_default_dtype

_training = attrgetter("training")

TRACED_CALLS = 2  # eager, recorded calls per signature before the compiled replays


def check_requested():
    """True when $MINIGRAD_COMPILE_CHECK asks every compiled step to run side by side."""
    return os.environ.get("MINIGRAD_COMPILE_CHECK", "") not in ("", "0")


class CompiledStep:
    """``fn`` compiled by :func:`minigrad.compile`: call it as you would call ``fn``.

    ``program`` prints the last program replayed (or traced); ``source`` is its generated code.
    ``reset()`` forgets every trace, so that the next call traces again.
    """

    def __init__(self, fn, check=False):
        if not callable(fn):
            raise TypeError(f"minigrad.compile: expected a callable, got {type(fn).__name__}")
        self.fn = fn
        self.check = bool(check) or check_requested()
        self._entries = {}
        self._last = None
        self._reached = None   # (modules, optimizers) the step can reach
        self._roots = None     # what those were found through, to notice a rebinding
        self._warned = False
        self._eager = None     # True when Numba is absent or disabled: the step runs eagerly
        self._sources = _Sources(fn)
        functools.update_wrapper(self, fn, updated=())

    def __repr__(self):
        return f"<minigrad.compile of {getattr(self.fn, '__qualname__', self.fn)!r}>"

    # ------------------------------------------------------------------- calls
    def __call__(self, *args, **kwargs):
        if self._eager is None:  # decided at the first call, and kept
            self._eager = numba_disabled() or not _numba_available()
        if self._eager:
            if not self._warned:
                self._warned = True
                warnings.warn("minigrad.compile: Numba is absent or disabled, so the step runs "
                              "eagerly", RuntimeWarning, stacklevel=2)
            return self.fn(*args, **kwargs)
        self._discover(args, kwargs)
        key = self._signature(args, kwargs)
        try:
            entry = self._entries.get(key)
        except TypeError:
            raise refuse("the step's arguments must be Tensors, arrays, or hashable values "
                         "(numbers, strings, None); got an unhashable one") from None
        if entry is None:
            entry = self._entries[key] = _Entry(self)
        self._last = entry
        return entry(args, kwargs)

    def reset(self):
        """Forget every trace and compiled program: the next call traces again."""
        self._entries.clear()
        self._last = None
        self._reached = self._roots = None

    @property
    def program(self):
        """The Program of the signature called last (printable: ``print(compiled.program)``)."""
        if self._last is None or self._last.program is None:
            raise RuntimeError("minigrad.compile: no program yet; call the step first")
        return self._last.program

    @property
    def source(self):
        """The generated code (Numba kernels and driver) of the signature called last."""
        if self._last is None or self._last.source is None:
            raise RuntimeError("minigrad.compile: not compiled yet; it compiles after "
                               f"{TRACED_CALLS} traced calls")
        return self._last.source

    @property
    def compiled(self):
        """True once the signature called last replays compiled code."""
        return self._last is not None and self._last.module is not None

    # ------------------------------------------------------------ what it sees
    def _discover(self, args, kwargs):
        """Find the modules and optimizers (again, if the step's closure or globals moved)."""
        roots = self._sources.now(args, kwargs)
        if self._roots is not None and len(roots) == len(self._roots) and \
                all(map(is_, roots, self._roots)):
            return
        if self._roots is not None:
            self._entries.clear()
        self._roots = roots
        modules, optimizers, tensors = reachable(self.fn, args, kwargs)
        self._modules = modules
        self._optimizers = optimizers
        self._tensors = tensors
        self._submodules = list({id(m): m for top in modules for m in top.modules()}.values())
        known = {}
        for module in modules:
            for p in module.parameters():
                known[id(p)] = p
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                for p in group["params"]:
                    known[id(p)] = p
        self._known_params = list(known.values())
        self._param_names = parameter_names(modules)
        for tensor, name in tensors.items():
            self._param_names.setdefault(id(tensor), name)

    def _signature(self, args, kwargs):
        """What a replay depends on besides the arrays' values (see the module docstring)."""
        return (tuple(map(_structure, args)), _structure(kwargs) if kwargs else None,
                autograd._state.grad_enabled, get_default_dtype(),
                tuple(map(_training, self._submodules)))


class _Entry:
    """One signature's trace, program and compiled code."""

    def __init__(self, owner):
        self.owner = owner
        self.programs = []
        self.program = None
        self.source = None
        self.module = None

    def __call__(self, args, kwargs):
        if self.module is None:
            return self._trace_call(args, kwargs)
        if self.owner.check:
            return checking.side_by_side(self, args, kwargs)
        try:
            return self.call(args, kwargs)
        except runtime.StateChanged:  # hyper-parameters that call for other optimizer state
            return self._retrace(args, kwargs)

    # ------------------------------------------------------------------ tracing
    def _trace_call(self, args, kwargs):
        owner = self.owner
        result, program, _ = trace_and_lower(owner, args, kwargs)
        self.programs.append(program)
        self.program = program
        if len(self.programs) >= TRACED_CALLS:
            first = self.programs[0]
            if _reads_of(first) != _reads_of(program):
                # The gradients the call found differ (none yet, then some to add to): that is
                # a different start, not a different step. Trace again from this one.
                self.programs = [program]
                return result
            difference = checking.difference(first, program)
            if difference:
                raise refuse(f"the step did not do the same thing on its first two calls "
                             f"({difference}); it depends on something a replay cannot see "
                             "(a value computed with NumPy from .data, a Python variable that "
                             "changes, random numbers not drawn from minigrad's generator)")
            self._compile(program)
        return result

    def _compile(self, program):
        plan = schedule(program)
        self.guard_info = _Guards(self.owner, program)
        generator = Generator(plan, getattr(self.owner.fn, "__qualname__", "step"),
                              self.guard_info)
        self.source = generator.module()
        self.module = load(self.source, generator.bindings, plan)
        self.module.changed = self.guards
        self.module.retrace = self._retrace
        self.call = self.module.call
        self.programs = []

    def _retrace(self, args, kwargs):
        """Trace again (the gradients the program adds to are gone): back to eager calls."""
        self.module, self.programs = None, []
        return self._trace_call(args, kwargs)

    # ------------------------------------------------------------------- replay
    def guards(self):
        """Raise, naming it, the change that made the generated checks fail (if there is one:
        they compare dtypes by identity, and an equal dtype made elsewhere is no change)."""
        info = self.guard_info
        for module, name, param in info.slots:
            if getattr(module, name) is not param:
                label = self.owner._param_names.get(id(param), name)
                raise refuse(f"parameter {label} was replaced since the step was traced; "
                             "call reset() on the compiled step to trace it again")
        for tensor, flag in zip(info.leaves, info.requires, strict=True):
            if tensor._requires_grad != flag:
                raise refuse("the parameters with gradients changed since the step was traced "
                             "(requires_grad was switched on or off); call reset() on the "
                             "compiled step to trace it again")
        for optimizer, groups in info.optimizers:
            if not runtime.same_groups(optimizer.param_groups, groups):
                raise refuse(f"the parameters of {type(optimizer).__name__} changed since the "
                             "step was traced; call reset() on the compiled step to trace it "
                             "again")
        for value, tensor in self.program.params:
            data = tensor.data
            if data.shape != value.shape or data.dtype != value.dtype:
                raise refuse(f"a parameter's data changed shape or dtype since the step was "
                             f"traced ({value.shape}, {value.dtype} -> {data.shape}, "
                             f"{data.dtype}); call reset() on the compiled step to trace it "
                             "again")
            if id(value) in info.updated and not data.flags.c_contiguous:
                raise refuse(f"{value.label}'s data is no longer C-contiguous (the compiled "
                             "update needs it so); give it a contiguous array, or call reset()")

    def replay(self, args, kwargs):
        """Run the compiled program on this call's arrays; return what ``fn`` would."""
        return self.call(args, kwargs)


class _Guards:
    """What a replay checks before it runs (the generated code reads these).

    ``updated``: id() of the parameter Values updated in a kernel (their data must stay
    C-contiguous); ``slots``: (module, attribute, parameter) for every place a module holds a
    parameter the program reads; ``leaves`` and ``requires``: the tensors whose gradients it
    computes or reads, and their ``requires_grad`` then; ``optimizers``: (optimizer, the
    parameters of each of its groups then).
    """

    def __init__(self, owner, program):
        self.updated = {id(i.args[0]) for i in program.instrs if i.op == "update"}
        leaves = {id(t): t for _, t in program.params}
        leaves.update((id(t), t) for t, _ in program.grads_out)
        self.leaves = list(leaves.values())
        self.requires = [t._requires_grad for t in self.leaves]
        self.slots = parameter_slots(owner._modules, self.leaves)
        self.optimizers = [(optimizer, [list(g["params"]) for g in optimizer.param_groups])
                           for optimizer in owner._optimizers]


def trace_and_lower(owner, args, kwargs):
    """Call ``owner.fn`` eagerly, recording; return (result, program, trace)."""
    trace = Trace(args, kwargs, owner._modules, owner._optimizers)
    with Recorder(trace):
        trace.result = owner.fn(*args, **kwargs)
    name = getattr(owner.fn, "__name__", "step")
    name = name if name.isidentifier() else "step"
    program = lower(trace, name, _named_inputs(owner.fn, args, kwargs), owner._param_names,
                    list(owner._tensors))
    return trace.result, program, trace


# -------------------------------------------------------------------------- helpers
def _reads_of(program):
    """The tensors whose existing gradient ``program`` reads (to add to it)."""
    return [id(t) for _, t in program.grads_in]



def _numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


class _Sources:
    """Where ``fn`` finds what it uses: its closure's cells, the globals it names, ``self``.

    ``now()`` lists the objects found there (and the call's non-array arguments), to be
    compared by identity with the last call's: a rebound ``model`` or ``optimizer`` means the
    step must be discovered and traced again.
    """

    def __init__(self, fn):
        self.fixed = []
        while isinstance(fn, functools.partial):
            self.fixed += list(fn.args) + list(fn.keywords.values())
            fn = fn.func
        if inspect.ismethod(fn):
            self.fixed.append(fn.__self__)
            fn = fn.__func__
        code = getattr(fn, "__code__", None)
        self.cells = list(fn.__closure__ or ()) if code is not None else []
        self.namespace = getattr(fn, "__globals__", {})
        # co_names also lists attribute names: keep those that are globals (a global the
        # step names but that does not exist yet is not followed).
        self.names = sorted(n for n in code.co_names if n in self.namespace) if code else []
        if code is None:
            self.fixed.append(fn)

    def now(self, args, kwargs):
        try:  # map(attrgetter) runs in C: this is paid at every call
            roots = list(map(_cell_contents, self.cells))
        except ValueError:  # a cell not assigned yet
            roots = list(map(_contents, self.cells))
        roots += self.fixed
        if self.names:
            roots += map(self.namespace.get, self.names)
        if args:
            roots += [a for a in args if not isinstance(a, _ARRAYS)]
        if kwargs:
            roots += [a for a in kwargs.values() if not isinstance(a, _ARRAYS)]
        return roots


_ARRAYS = (Tensor, np.ndarray)
_cell_contents = attrgetter("cell_contents")


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # not assigned yet
        return None


def _structure(obj):
    """A hashable description of an argument: arrays by shape and dtype, the rest by value."""
    if isinstance(obj, Tensor):
        data = obj.data
        return (data.shape, data.dtype, obj._requires_grad)
    if isinstance(obj, np.ndarray):
        return ("array", obj.shape, obj.dtype)
    if isinstance(obj, tuple | list):
        return (type(obj).__name__, tuple(_structure(o) for o in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((k, _structure(v)) for k, v in obj.items()))
    return ("=", obj)


def _named_inputs(fn, args, kwargs):
    """``(path, name, array or Tensor)`` for every array in the arguments, named after them."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        names = {}
        for name, value in bound.arguments.items():
            names[id(value)] = name
    except (TypeError, ValueError):
        names = {}
    found = []
    taken = set()

    def walk(obj, path, name):
        if isinstance(obj, Tensor | np.ndarray):
            label = _identifier(name, taken)
            found.append(((*path, "tensor" if isinstance(obj, Tensor) else "array"), label, obj))
        elif isinstance(obj, tuple | list):
            for i, item in enumerate(obj):
                walk(item, (*path, i), f"{name}_{i}")
        elif isinstance(obj, dict):
            for key, item in obj.items():
                walk(item, (*path, key), f"{name}_{key}")

    for i, arg in enumerate(args):
        walk(arg, ("args", i), names.get(id(arg), f"arg{i}"))
    for key, arg in kwargs.items():
        walk(arg, ("kwargs", key), key)
    return found


def _identifier(name, taken):
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name)) or "arg"
    if not name.isidentifier() or name in RESERVED or name.startswith("dtype_") or \
            name[0] in "tcwbpdsgfij" and name[1:].isdigit():
        name = f"in_{name}"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def compile(fn=None, *, check=False):  # noqa: A001 - the name the issue asks for
    """Compile a training (or inference) step: trace it on its first calls, then replay it.

    ``fn`` is an ordinary eager step (forward, loss, ``zero_grad``, ``backward``,
    ``optimizer.step()``) returning Tensors, or a tuple, list or dict of them. The first two
    calls with new shapes run eagerly while being recorded; later calls replay the recorded
    program, forward, backward and update, as compiled code, with the same results. Usable as
    a decorator, with or without arguments. With ``check=True`` (or
    ``$MINIGRAD_COMPILE_CHECK=1``) every replay also runs eagerly, side by side, and raises
    on the first difference. See ``minigrad.compile``'s docstring for what a step may do.
    """
    if fn is None:
        return functools.partial(compile, check=check)
    return CompiledStep(fn, check=check)

