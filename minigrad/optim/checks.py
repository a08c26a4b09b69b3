"""Checks of hyper-parameter values, raising errors in the house style.

Bad types raise TypeError, bad values ValueError, each naming the owner, the value and what was
expected: ``Adam: invalid beta parameter at index 0: 1.5 (expected 0 <= beta < 1)``.
"""

import numbers

import numpy as np


def check_number(owner, description, value, valid, expected):
    """Raise TypeError if ``value`` is not a real number, ValueError unless ``valid(value)``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {description} must be a real number, got "
                        f"{type(value).__name__}")
    if not valid(value):  # NaN fails every comparison, so it lands here too
        raise ValueError(f"{owner}: invalid {description}: {value} (expected {expected})")


def check_int(owner, description, value, valid, expected):
    """Raise TypeError if ``value`` is not an int, ValueError unless ``valid(value)``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {description} must be an int, got {type(value).__name__}")
    if not valid(value):
        raise ValueError(f"{owner}: invalid {description}: {value} (expected {expected})")


def check_betas(owner, betas):
    """Check a (beta1, beta2) pair: each in [0, 1)."""
    if not isinstance(betas, tuple | list):
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    if len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {len(betas)} "
                         f"values: {betas!r}")
    for i, beta in enumerate(betas):
        if isinstance(beta, bool | np.bool_) or not isinstance(beta, numbers.Real):
            raise TypeError(f"{owner}: beta at index {i} must be a real number, got "
                            f"{type(beta).__name__}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{owner}: invalid beta parameter at index {i}: {beta} "
                             f"(expected 0 <= beta < 1)")


def check_flag(owner, name, value):
    """Raise TypeError unless ``value`` is a bool."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner}: {name} must be a bool, got {type(value).__name__}")
