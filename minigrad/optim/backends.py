"""Run an optimizer's update function three ways: 'numba' (compiled), 'python' (as is), 'numpy'.

Each algorithm's update is one plain Python function over the 1-D arrays of one parameter
(``param, grad, state...``), with the paper's hyper-parameters as keywords. It computes its
per-step scalars first, casting them to the arrays' dtype (a Python float is float64 and would
widen a float32 loop), then runs its element loop, written ``for i in prange(param.size):``
with ``prange`` imported from here, where it is plain ``range``. The three backends run that one
function:

- 'python' runs it in the interpreter, element by element (it is the ``py_func`` of the
  'numba' build).
- 'numba' compiles it with ``numba.njit``: one machine-code version per combination of argument
  types (a state array being None is a type of its own, and its branches are compiled away),
  each cached on disk. For large tensors a second build binds ``prange`` to ``numba.prange``,
  which splits the loop over the cores.
- 'numpy' runs it with ``prange`` bound to :func:`whole_array_pass`, a "loop" of one iteration
  whose index is ``...``: every ``x[i]`` is then the whole array, and each statement of the loop
  body becomes one vectorised NumPy operation. An update function must therefore read and write
  its arrays only at ``[i]`` and never change a local in place (``d += ...``): under 'numpy' a
  local may be a view of an array.

Numba is imported only when a 'numba' update is first asked for, so ``import minigrad`` stays light.
"""

import os
import types

import numpy as np

BACKENDS = ("numba", "python", "numpy")

#: The range of the update functions' element loops; the backends rebind it (see above).
prange = range

#: The backend an optimizer uses when given none: $MINIGRAD_OPTIM_BACKEND (read when minigrad is
#: imported) or 'numba'.
DEFAULT_BACKEND = os.environ.get("MINIGRAD_OPTIM_BACKEND", "numba")

# A tensor this large or larger is updated by the multi-threaded build. Starting and joining the
# threads costs ~10 us, so splitting pays once the serial loop takes longer than ~40 us: sooner for
# updates with a square root and a division per element than for SGD's multiply-adds, which run
# near memory speed (the measurements are in perf/README.md). $MINIGRAD_OPTIM_PARALLEL_MIN_SIZE
# sets one threshold for all (a huge value turns the multi-threaded build off).
PARALLEL_MIN_SIZE = {"sgd": 524_288, "rmsprop": 131_072, "adam": 65_536, "adabelief": 65_536,
                     "lion": 131_072, "lookahead": 524_288}
if "MINIGRAD_OPTIM_PARALLEL_MIN_SIZE" in os.environ:
    PARALLEL_MIN_SIZE = dict.fromkeys(
        PARALLEL_MIN_SIZE, int(os.environ["MINIGRAD_OPTIM_PARALLEL_MIN_SIZE"]))

# cache=True: compiled once per machine, not per process. error_model='numpy': Python's error
# model adds a zero-division check that keeps the loops from being vectorised (SIMD).
NUMBA_OPTIONS = dict(cache=True, error_model="numpy")

_builds = {}  # (update function, backend) -> its Build
_positional = {}  # update function -> the same function taking every argument positionally


def whole_array_pass(size):
    """The 'numpy' backend's ``prange``: one iteration, whose index ``...`` selects everything."""
    return (...,)


def check_backend(owner, backend):
    """Return ``backend`` after checking that it is a known name."""
    if not isinstance(backend, str):
        raise TypeError(f"{owner}: backend must be a string, got {type(backend).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"{owner}: unknown backend {backend!r} (expected one of {BACKENDS})")
    return backend


class Build:
    """An update function made ready for one backend, with a multi-threaded twin for large sizes.

    ``for_size(n)`` is the callable to run on a tensor of ``n`` elements; it takes the update
    function's own arguments.
    """

    def __init__(self, name, serial, parallel=None):
        self.name = name
        self.serial = serial
        self.parallel = parallel

    def for_size(self, size):
        """The build to run on a tensor of ``size`` elements."""
        # PARALLEL_MIN_SIZE is read at call time: tests and benchmarks change it.
        if self.parallel is not None and size >= PARALLEL_MIN_SIZE.get(self.name, 65_536):
            return self.parallel
        return self.serial


def build(update, backend):
    """The :class:`Build` of the update function ``update`` for ``backend`` (made once, kept).

    The builds take every argument positionally, in the signature's order, the keyword-only
    hyper-parameters included: Numba checks keyword arguments in Python, which costs more than
    a small tensor's whole update.
    """
    key = (update, backend)
    if key not in _builds:
        name = update.__name__
        if backend == "python":
            _builds[key] = Build(name, _interpreted(update))
        elif backend == "numpy":
            _builds[key] = Build(name, _rebind(update, whole_array_pass, f"{name}_numpy"))
        else:
            _builds[key] = Build(name, _compile(update, parallel=False),
                                 _compile(update, parallel=True))
    return _builds[key]


def _interpreted(update):
    """``update`` as the 'python' backend runs it, and as 'numba' compiles it (made once)."""
    if update not in _positional:
        _positional[update] = _rebind(update, range, update.__name__)
    return _positional[update]


def _rebind(update, prange, name):
    """``update`` named ``name``, with ``prange`` bound as given and every parameter positional."""
    code = update.__code__
    code = code.replace(co_argcount=code.co_argcount + code.co_kwonlyargcount,
                        co_kwonlyargcount=0)
    function = types.FunctionType(code, {**update.__globals__, "prange": prange}, name)
    function.__qualname__ = name
    function.__doc__ = update.__doc__
    return function


def _compile(update, parallel):
    """``numba.njit`` of ``update``; the parallel build binds ``prange`` to ``numba.prange``."""
    import numba  # here, not at the top: importing minigrad must not import numba

    if parallel:
        # Its own name gives the parallel build its own entries in Numba's on-disk cache.
        function = _rebind(update, numba.prange, f"{update.__name__}_parallel")
    else:
        function = _interpreted(update)
    return numba.njit(**NUMBA_OPTIONS, parallel=parallel)(function)


def update_in_place(run, data, *arguments):
    """Run the :class:`Build` ``run`` on ``data`` (any layout) and ``arguments``, in place.

    The update functions loop over 1-D arrays: a C-contiguous ``data`` is passed as its 1-D view,
    any other (a transposed or reversed view, say) through a contiguous copy written back after.
    """
    update = run.for_size(data.size)
    if data.flags.c_contiguous:
        update(data.ravel(), *arguments)
    else:
        through_a_copy(update, data)(np.empty(data.size, data.dtype), *arguments)


def through_a_copy(update, data):
    """``update`` for a non-contiguous ``data``: it runs on a contiguous copy, then written back.

    The returned function takes, in place of ``data``'s 1-D view, a 1-D buffer of its size.
    The memory ``data`` views is thus updated as it would be in place, and parameters tied to it
    (sharing its memory) stay tied.
    """
    def copy_in_and_out(buffer, *arguments):
        copy = buffer.reshape(data.shape)
        np.copyto(copy, data)  # the current values: a parameter tied to this one may have moved
        update(buffer, *arguments)
        np.copyto(data, copy)
    return copy_in_and_out
