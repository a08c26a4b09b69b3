"""The few helpers generated drivers call at run time."""

from operator import is_

import numpy as np

from minigrad.ops.xp_numpy import sum_to


def fit(grad, shape, dtype):
    """A gradient from an operation called whole, as the engine takes it: summed back to the
    input's ``shape`` (a rule may return the broadcast shape) and in its ``dtype``; and
    C-contiguous, as the compiled loops that read it next expect."""
    grad = np.asarray(grad)
    if grad.shape != shape:
        grad = sum_to(grad, shape)
    return np.ascontiguousarray(grad, dtype=dtype)


def fail(status, index_arrays, checks):
    """Raise the error eager raises for the check numbered ``status`` (a class index out of
    range), with the same message."""
    classes, what = checks[status - 1]
    index = np.asarray(index_arrays[status - 1])
    bad = index[(index < 0) | (index >= classes)]
    raise ValueError(f"{what}: target values must be in [0, {classes}), got "
                     f"{bad[:5].tolist()}")


def same_groups(param_groups, traced):
    """Whether an optimizer's groups hold, one by one, the parameters they held when traced."""
    return len(param_groups) == len(traced) and all(
        len(group["params"]) == len(params) and all(map(is_, group["params"], params))
        for group, params in zip(param_groups, traced, strict=True))


def plain(value):
    """A hyper-parameter as the compiled update takes it: a bool, a float, a tuple of floats
    (as the optimizers pass them to their update functions)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, tuple | list):
        return tuple(float(v) for v in value)
    return float(value)


class StateChanged(Exception):
    """The optimizer now keeps other state arrays than when the step was traced."""


def check_group(optimizer, group, kept):
    """What ``optimizer.step()`` checks of a group whose hyper-parameters changed: their
    values, and that they call for the state arrays the program was made with."""
    optimizer._check_group(group)
    if tuple(optimizer._state_names(group)) != kept:
        raise StateChanged


def state_of(optimizer, param, kept):
    """``optimizer.state[param]``, with what it lacks made as a step makes it (step 0, zeros)."""
    state = optimizer.state[param]
    if len(state) != len(kept) + 1:
        state.setdefault("step", 0)
        for key in kept:
            if key not in state:
                state[key] = np.zeros(param.data.shape, param.data.dtype)
    return state
