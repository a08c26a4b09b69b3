"""Run a kernel of ``kernels.py`` three ways: 'numba' (compiled), 'python' (as is), 'numpy'.

``get_kernel(name, backend)`` returns a callable with the kernel's signature. Numba is imported
only when a 'numba' kernel is first asked for, so ``import minigrad`` stays light.

What makes the Numba build fast (each measured with perf/bench_optim.py):
- ``error_model='numpy'``: Python's error model adds a zero-division check that blocks SIMD.
- scalars arrive already cast to the arrays' dtype (done by the optimizers), so a float32 loop
  never widens to float64.
- one call updates a whole tuple of tensors, so dispatch is paid per call, not per tensor; tuples
  have a fixed width (numba compiles one machine-code version per tuple length, so a fixed width
  means one compile per kernel and dtype, cached on disk by ``cache=True``), except that a single
  tensor goes alone, in 1-tuples: the optimizers' flat buffers (flat.py) and large tensors.
- tensors of at least ``PARALLEL_MIN_SIZE[kernel]`` elements go to a second build with
  ``parallel=True``, whose element loop is a ``prange`` over the cores (see below).
"""

import os
import types

import numpy as np

from . import kernels, vectorised

BACKENDS = ("numba", "python", "numpy")

# Tensors this large or larger are updated by the multi-threaded build. Starting and joining
# the threads costs ~10 us, so splitting pays once a kernel's serial loop takes longer than about
# 40 us: sooner for kernels with a square root and a division per element (~0.5 ns/element)
# than for SGD's multiply-adds, which run near memory speed. Measured on a 2-core EPYC (Zen 3),
# float32, one tensor, the parallel/serial step-time ratio: Adam 1.33 at 32768 elements, 0.83 at
# 65536; RMSprop and Lion 1.08-1.12 at 65536, 0.80-0.90 at 131072; SGD 1.07 at 262144, 0.77 at
# 524288 (perf/README.md). $MINIGRAD_OPTIM_PARALLEL_MIN_SIZE sets one threshold for all kernels
# (a huge value turns the parallel build off). Like any OpenMP code, PyTorch's included, the
# parallel build slows down badly when other processes hold the cores.
PARALLEL_MIN_SIZE = {"adam": 65_536, "adabelief": 65_536, "rmsprop": 131_072, "lion": 131_072,
                     "sgd": 524_288, "lookahead": 524_288}
if "MINIGRAD_OPTIM_PARALLEL_MIN_SIZE" in os.environ:
    PARALLEL_MIN_SIZE = dict.fromkeys(
        PARALLEL_MIN_SIZE, int(os.environ["MINIGRAD_OPTIM_PARALLEL_MIN_SIZE"]))

# How many tensors one compiled call takes; shorter tuples are padded with empty arrays.
TUPLE_WIDTH = 8

_compiled = {}  # (kernel name, parallel) -> numba dispatcher
_numba_kernels = {}  # kernel name -> its _NumbaKernel (built once: optimizers ask every step)
_empty = {}  # dtype -> an empty 1-D array used as padding


def default_backend():
    """The backend used when an optimizer is given none: $MINIGRAD_OPTIM_BACKEND or 'numba'."""
    return os.environ.get("MINIGRAD_OPTIM_BACKEND", "numba")


def check_backend(owner, backend):
    """Return ``backend`` (or the default when None) after checking that it is a known name."""
    if backend is None:
        backend = default_backend()
    if not isinstance(backend, str):
        raise TypeError(f"{owner}: backend must be a string, got {type(backend).__name__}")
    if backend not in BACKENDS:
        raise ValueError(f"{owner}: unknown backend {backend!r} (expected one of {BACKENDS})")
    return backend


def get_kernel(name, backend):
    """Return the kernel ``name`` of kernels.py for ``backend``, a callable over tuples."""
    if backend == "python":
        return getattr(kernels, name)
    if backend == "numpy":
        return getattr(vectorised, name)
    if name not in _numba_kernels:
        _numba_kernels[name] = _NumbaKernel(name, _compile(name, parallel=False),
                                            _compile(name, parallel=True))
    return _numba_kernels[name]


def _compile(name, parallel):
    """The Numba dispatcher for a kernel; compiled lazily per argument types, cached on disk."""
    key = (name, parallel)
    if key not in _compiled:
        import numba  # here, not at the top: importing minigrad must not import numba

        function = getattr(kernels, name)
        if parallel:
            # Same code, but with `prange` bound to numba.prange and its own name, so the two
            # builds get separate on-disk cache entries (numba keys its cache by name and code).
            function = types.FunctionType(
                function.__code__, {**function.__globals__, "prange": numba.prange},
                f"{name}_parallel", function.__defaults__, function.__closure__)
            function.__qualname__ = f"{name}_parallel"
        _compiled[key] = numba.njit(cache=True, error_model="numpy", parallel=parallel)(function)
    return _compiled[key]


class _NumbaKernel:
    """Calls a compiled kernel over fixed-width tuples, large tensors on the parallel build."""

    def __init__(self, name, serial, parallel):
        self.name = name
        self.serial = serial
        self.parallel = parallel

    def __call__(self, *args):
        params = args[0]
        threshold = PARALLEL_MIN_SIZE[self.name]  # read at call time: tests and benchmarks set it
        if len(params) == 1:  # one tensor (a flat buffer, say): no chunking or padding to do
            (self.serial if params[0].size < threshold else self.parallel)(*args)
            return
        arrays = [a for a in args if isinstance(a, tuple)]
        scalars = args[len(arrays):]
        large = [t for t, p in enumerate(params) if p.size >= threshold]
        if not large:
            _call_in_chunks(self.serial, arrays, scalars)
            return
        small = [t for t in range(len(params)) if params[t].size < threshold]
        for compiled, picked in ((self.parallel, large), (self.serial, small)):
            if picked:
                _call_in_chunks(compiled, [tuple(a[t] for t in picked) for a in arrays], scalars)


def _call_in_chunks(compiled, arrays, scalars):
    """Call ``compiled`` on TUPLE_WIDTH tensors at a time, padding the last call.

    A single tensor (a flat buffer, or one large tensor) goes alone in 1-tuples: Numba unboxes
    every array it is passed, padding included (~0.2-0.4 us each), so this saves ~3 us per call
    for the price of a second compiled version of the kernel.
    """
    count = len(arrays[0])
    if count == 1:
        compiled(*arrays, *scalars)
        return
    for start in range(0, count, TUPLE_WIDTH):
        chunk = [a[start:start + TUPLE_WIDTH] for a in arrays]
        missing = TUPLE_WIDTH - len(chunk[0])
        if missing:
            pad = (_empty_like(chunk[0][0]),) * missing
            chunk = [c + pad for c in chunk]
        compiled(*chunk, *scalars)


def _empty_like(array):
    """A cached empty 1-D array of ``array``'s dtype (a no-op tensor for padding tuples)."""
    if array.dtype not in _empty:
        _empty[array.dtype] = np.empty(0, array.dtype)
    return _empty[array.dtype]
