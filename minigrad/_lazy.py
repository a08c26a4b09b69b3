"""Numba-compiled kernels with a NumPy original beside them, chosen and imported on first use.

Outside the optimizers, Numba is an optimisation: every compiled module has a twin written in
NumPy with the same functions, the readable original that the compiled loops speed up. The
original runs when Numba is not installed, or when it is turned off for the process with either

    MINIGRAD_DISABLE_NUMBA=1   (minigrad's switch)
    NUMBA_DISABLE_JIT=1        (Numba's own: it would run the loops in the interpreter, far
                                slower than the NumPy original, so minigrad takes that instead)

Both are read once, when the first kernel is needed. Importing lazily keeps ``import minigrad``
free of Numba's import cost.

>>> _kernels = Kernels("minigrad.nn.rnn_numba", "minigrad.nn.rnn_steps")
>>> _kernels().lstm_step_backward(...)     # compiled, or the NumPy original
"""

import importlib
import os

_SWITCHES = ("MINIGRAD_DISABLE_NUMBA", "NUMBA_DISABLE_JIT")


def numba_enabled():
    """True when Numba is importable and neither switch above turns it off."""
    if any(os.environ.get(name, "0").strip() not in ("", "0") for name in _SWITCHES):
        return False
    try:
        importlib.import_module("numba")
    except ImportError:
        return False
    return True


class Kernels:
    """Call to get the module ``compiled`` when Numba can run it, else ``original`` (NumPy).

    The choice is made and the module imported on the first call, then kept: later calls cost
    one attribute read. ``reset()`` forgets the choice (tests use it to switch paths).
    """

    def __init__(self, compiled, original):
        self.compiled, self.original = compiled, original
        self._module = None

    def __call__(self):
        if self._module is None:
            name = self.compiled if numba_enabled() else self.original
            self._module = importlib.import_module(name)
        return self._module

    def reset(self):
        """Forget the module chosen, so the next call chooses again."""
        self._module = None
