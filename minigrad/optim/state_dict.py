"""Checking an optimizer state dict completely before anything of it is loaded.

``check_state_dict`` builds, from a state dict, the param groups and the per-parameter state an
optimizer would have after loading it, checking everything on the way; it changes nothing, so a
load that raises leaves the optimizer as it was (``Optimizer.load_state_dict`` then installs the
result). The format is PyTorch's::

    {"state": {index: {"step": int, name: ndarray, ...}},
     "param_groups": [{hyper-parameter: value, ..., "params": [index, ...]}, ...]}
"""

import numbers
from collections import defaultdict

import numpy as np


def check_state_dict(optimizer, state_dict):
    """Return ``(param_groups, state)`` as loading ``state_dict`` into ``optimizer`` gives them.

    Raises TypeError or ValueError, naming what is wrong, for: a state dict of the wrong shape
    (keys, group count, group sizes, indices), invalid hyper-parameters, a param group or a
    parameter's state of another algorithm, a missing or invalid ``step``, and state arrays that
    are not arrays or whose shape differs from their parameter's. Arrays are copied (C order, in
    the parameter's dtype); the backend of each group stays the optimizer's.
    """
    owner = type(optimizer).__name__
    if not isinstance(state_dict, dict):
        raise TypeError(f"{owner}: a state dict must be a dict, got {type(state_dict).__name__}")
    for key in ("state", "param_groups"):
        if key not in state_dict:
            raise ValueError(f"{owner}: the loaded state dict has no {key!r}")
    groups, group_of = _check_groups(optimizer, owner, state_dict["param_groups"])
    saved_state = state_dict["state"]
    if not isinstance(saved_state, dict):
        raise TypeError(f"{owner}: the loaded state dict's 'state' must be a dict, got "
                        f"{type(saved_state).__name__}")
    state = defaultdict(dict)
    for index, saved in saved_state.items():
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"{owner}: the loaded state is keyed by parameter index; got key "
                            f"{index!r}")
        if int(index) not in group_of:
            raise ValueError(f"{owner}: the loaded state has an entry for parameter {index}, "
                             f"which no loaded param group lists")
        p, group = group_of[int(index)]
        state[p] = _check_param_state(optimizer, owner, int(index), saved, p, group)
    return groups, state


def _check_groups(optimizer, owner, saved_groups):
    """The loaded param groups, and saved index -> (parameter, its loaded group)."""
    if not isinstance(saved_groups, list | tuple):
        raise TypeError(f"{owner}: the loaded 'param_groups' must be a list, got "
                        f"{type(saved_groups).__name__}")
    if len(saved_groups) != len(optimizer.param_groups):
        raise ValueError(f"{owner}: loaded state dict has {len(saved_groups)} parameter "
                         f"groups, the optimizer has {len(optimizer.param_groups)}")
    required = [key for key in optimizer.defaults if key != "backend"]
    groups, group_of = [], {}
    for i, (group, saved) in enumerate(zip(optimizer.param_groups, saved_groups, strict=True)):
        if not isinstance(saved, dict):
            raise TypeError(f"{owner}: loaded param group {i} must be a dict, got "
                            f"{type(saved).__name__}")
        indices = saved.get("params")
        if not isinstance(indices, list | tuple) or not all(
                isinstance(j, numbers.Integral) and not isinstance(j, bool) for j in indices):
            raise TypeError(f"{owner}: loaded param group {i} must list its parameters as "
                            f"indices, got {indices!r}")
        if len(indices) != len(group["params"]):
            raise ValueError(f"{owner}: loaded state dict contains a parameter group that "
                             f"doesn't match the size of the optimizer's group ({i}: "
                             f"{len(indices)} parameters, the optimizer's has "
                             f"{len(group['params'])})")
        loaded = {key: tuple(value) if isinstance(value, list) else value
                  for key, value in saved.items() if key not in ("params", "backend")}
        for key in optimizer._keys_added_later:  # absent from older checkpoints
            loaded.setdefault(key, optimizer.defaults[key])
        missing = ", ".join(repr(key) for key in required if key not in loaded)
        if missing:
            raise ValueError(f"{owner}: loaded param group {i} has no {missing} (is it another "
                             f"optimizer's state dict?)")
        loaded["params"] = group["params"]
        loaded["backend"] = group["backend"]  # the backend is this run's choice
        optimizer._check_group(loaded)
        for j, p in zip(indices, group["params"], strict=True):
            if int(j) in group_of:
                raise ValueError(f"{owner}: the loaded param groups list parameter {j} twice")
            group_of[int(j)] = (p, loaded)
        groups.append(loaded)
    return groups, group_of


def _check_param_state(optimizer, owner, index, saved, p, group):
    """Parameter ``index``'s loaded state: its step and its arrays, checked and copied."""
    where = f"{owner}: loaded state of parameter {index}"
    if not isinstance(saved, dict):
        raise TypeError(f"{where} must be a dict, got {type(saved).__name__}")
    names = optimizer._state_names(group)
    expected = {"step", *names}
    unexpected = sorted(set(saved) - expected, key=str)
    missing = sorted(expected - set(saved))
    if unexpected or missing:
        raise ValueError(f"{where} has keys {sorted(saved, key=str)}, expected "
                         f"{sorted(expected)} (is it another optimizer's state, or of other "
                         f"hyper-parameters?)")
    state = {"step": _check_step(where, saved["step"])}
    for name in names:
        state[name] = loaded_array(f"{where}: {name!r}", saved[name], p.data)
    return state


def loaded_array(where, value, parameter):
    """A loaded array for ``parameter`` (an ndarray): checked, and copied into its dtype."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{where} must be an ndarray, got {type(value).__name__}")
    if value.dtype.kind not in "fiu":
        raise TypeError(f"{where} must hold numbers, got dtype {value.dtype}")
    if value.shape != parameter.shape:
        raise ValueError(f"{where} has shape {value.shape}, its parameter {parameter.shape}")
    return np.array(value, dtype=parameter.dtype, order="C")


def plain_number(value):
    """A loaded number as a Python one (NumPy scalars and 0-d arrays come back from files)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 or isinstance(value, np.generic):
        return value.item()
    return value


def _check_step(where, step):
    """A saved step count as an int (PyTorch saves it as a float)."""
    step = plain_number(step)
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise TypeError(f"{where}: 'step' must be a number, got {type(step).__name__}")
    if not (step >= 0 and float(step).is_integer()):
        raise ValueError(f"{where}: invalid 'step': {step} (expected a whole number >= 0)")
    return int(step)
