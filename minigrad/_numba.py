"""Numba outside the optimizers is an optimisation: compiled modules are loaded lazily, if at all.

Every computation compiled with Numba outside ``minigrad.optim`` has a readable NumPy original
beside it, which runs when Numba is not installed, or when ``MINIGRAD_DISABLE_NUMBA=1`` or Numba's
own ``NUMBA_DISABLE_JIT=1`` is set (that one would run the compiled loops in the interpreter, far
slower than their NumPy originals). The compiled module is imported on first use, so that
``import minigrad`` never loads Numba.
"""

import importlib
import os

_loaded = {}  # module name -> the imported module, or None when Numba is absent or disabled


def numba_disabled():
    """True when $MINIGRAD_DISABLE_NUMBA or $NUMBA_DISABLE_JIT is set (to anything but '' or 0)."""
    return any(os.environ.get(name, "") not in ("", "0")
               for name in ("MINIGRAD_DISABLE_NUMBA", "NUMBA_DISABLE_JIT"))


def compiled(module_name):
    """The module ``module_name`` of Numba-compiled code, or None if Numba is absent or disabled.

    Looked up once per process (it is asked for on every call of a hot function); tests that
    change the environment call ``forget()``.
    """
    try:
        return _loaded[module_name]
    except KeyError:
        pass
    module = None
    if not numba_disabled():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != "numba":
                raise
    _loaded[module_name] = module
    return module


def forget():
    """Forget which compiled modules were loaded, so the next call reads the environment again."""
    _loaded.clear()
