"""minigrad.compile: trace a whole training step once, replay it as one compiled program.

    step = minigrad.compile(step)          # or @minigrad.compile above its def
    loss = step(x, y)                      # calls 1-2: eager, recorded; then compiled

What a compiler does to a training step, in four stages, one file each:

1. **Trace** (``trace.py``): the first calls run eagerly while a recorder watches every
   operation, every ``backward()``, every ``optimizer.step()``.
2. **Program** (``lower.py``, ``program.py``): the recording becomes a straight-line list of
   primitive operations on whole arrays: the forward as each operation's forward rule
   (``rules.py``), the backward as the engine's loop unrolled, each operation's own backward
   rule run on symbolic values (``builder.py``: the ``xp`` namespace that records instead of
   computing), and the update. ``print(step.program)`` shows it, one line per operation.
3. **Fused loops** (``schedule.py``): consecutive elementwise operations over the same shape
   become one loop in which intermediate values never touch memory; large matrix products go
   to BLAS; buffers are allocated once.
4. **Generated code** (``codegen.py``, ``loader.py``): Numba kernels and a Python driver,
   written to a cache directory and imported, so that Numba's cache keeps the machine code
   between processes. ``step.source`` shows it.

A replay is only right if the trace was the whole story. So a compiled step may compute with
minigrad operations, call ``backward()``, ``optimizer.step()`` and ``nn.utils`` gradient
clipping, and return Tensors; it is refused, with an error naming the cause, when it reads a
tensor's value into Python (``.item()``, ``if loss < 1``), changes parameters or gradients
with NumPy, changes hyper-parameters inside the step, or does something else on its second call
than on its first. Hyper-parameters are read at every call (schedulers and ``param_groups``
edits work between calls), new shapes trace again, and the returned tensors are new at every
call (they do not require grad). ``check=True`` runs every call eagerly too and compares.
"""

import sys
import types

from minigrad.compile.replay import CompiledStep, compile
from minigrad.compile.trace import CompileError

__all__ = ["CompileError", "CompiledStep", "compile"]


class _CallablePackage(types.ModuleType):
    """This package, callable: ``minigrad.compile(fn)`` is ``minigrad.compile.compile(fn)``.

    So the one name is both the function users call and the package whose modules they read
    (``minigrad.compile.CompileError``, ``import minigrad.compile.trace``).
    """

    def __call__(self, fn=None, *, check=False):
        return compile(fn, check=check)


sys.modules[__name__].__class__ = _CallablePackage
