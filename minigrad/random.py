"""The one random generator behind minigrad's factories, initialisers and data shuffling."""

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed minigrad's random generator, making factories and initialisation repeatable."""
    global _generator
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"manual_seed: expected a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def generator():
    """Return the current ``numpy.random.Generator``."""
    return _generator


def get_state():
    """The generator's state as a dict (to store in a checkpoint)."""
    return _generator.bit_generator.state


def set_state(state):
    """Restore a state returned by ``get_state``."""
    _generator.bit_generator.state = state
