"""The Optimizer base: parameter groups, per-parameter state, step, zero_grad, state_dict.

Semantics follow ``torch.optim.Optimizer``. A subclass says which state arrays it keeps
(``_state_names``) and how one step updates a batch of tensors (``_update``); the base does the
bookkeeping, and keeps the per-step Python work small because for small models it, not the
arithmetic, is what a step costs.
"""

import numbers
from collections import defaultdict

import numpy as np

from ..tensor import Tensor
from .backends import check_backend, get_kernel
from .flat import build_flat_group

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Optimizer:
    """Base class of all optimizers: holds ``param_groups`` and per-parameter ``state``.

    ``params`` is an iterable of Tensors, or of dicts each holding ``'params'`` (an iterable of
    Tensors) and any hyper-parameters that override ``defaults`` for that group.

    Small parameters are re-homed: on their first step, the ``.data`` of the parameters of a
    group with at most ``flat.FLAT_MAX_SIZE`` elements (65536 by default) and a gradient is
    copied into one flat buffer owned by the optimizer, and each ``p.data`` becomes a view into it
    (as cuDNN's ``flatten_parameters`` does); their state arrays and gradients likewise. A step
    then updates all of them with one kernel call, 2-3x faster for a model of many small
    tensors (see flat.py). Values, shapes, dtypes and the state dict are unchanged, and in-place
    edits of ``p.data``, ``p.grad`` or of state arrays are seen by the next step. Replacing an
    array (``p.data = new_array``, ``state[p]['exp_avg'] = ...``, ``load_state_dict``) is
    detected, by identity, at the next step, which re-homes the new values. Backward writes
    these parameters' gradients into the optimizer's gradient buffer, so after ``zero_grad()``
    the next backward overwrites the previous ``p.grad`` in place (as with PyTorch's
    ``zero_grad(set_to_none=False)``): keep ``p.grad.copy()`` to hold on to an old gradient.
    Set $MINIGRAD_OPTIM_FLAT_MAX_SIZE=0 to turn all this off.
    """

    def __init__(self, params, defaults):
        if isinstance(params, Tensor) or not hasattr(params, "__iter__"):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}")
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)  # Tensor -> {'step': int, state name: ndarray}
        self.param_groups = []
        self._flat = {}  # id(param group) -> its FlatGroup (see flat.py), or None
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with ``'params'``) with its own hyper-parameters."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set) or not hasattr(params, "__iter__"):
            raise TypeError(f"{name}: a param group's 'params' must be an ordered iterable of "
                            f"Tensors, got {type(params).__name__}")
        group["params"] = list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if p.data.dtype not in _FLOATS:
                raise TypeError(f"{name}: can only optimize float32 or float64 Tensors, got "
                                f"dtype {p.data.dtype}")
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            raise ValueError(f"{name}: a param group contains a parameter more than once")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        group["backend"] = check_backend(name, group.get("backend"))
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group):
        """Raise ValueError/TypeError for invalid hyper-parameters (subclasses extend this)."""

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of all parameters.

        With ``set_to_none=False`` each gradient is replaced by a new zero array rather than
        zeroed in place, because gradient arrays may be shared with other tensors.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else np.zeros_like(p.grad)

    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss if given.

        ``closure``, when given, re-evaluates the model and returns the loss; it is called once,
        before the update.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group):
        """Update one group: its small parameters in one kernel call, the others per tensor."""
        state_names = self._state_names(group)
        flat = self._flat_group(group, state_names)
        if flat is not None and flat.gather_grads():
            step = flat.count_step()
            states = [(flat.state[key],) for key in state_names]
            self._update(group, flat.dtype.type, step, (flat.data,), (flat.grad,), *states)
            if flat.others:
                self._step_tensors(group, flat.others, state_names)
        else:
            if flat is not None:
                # A member lacks its gradient (or has a wrong one): update tensor by tensor. The
                # members' step counts may now differ, so the next step builds a new flat group.
                self._drop_flat_group(group)
            self._step_tensors(group, group["params"], state_names)

    def _flat_group(self, group, state_names):
        """The group's FlatGroup, rebuilt when stale; None when it has no small parameters."""
        flat = self._flat.get(id(group))
        if flat is None or not flat.is_current(group["params"], state_names, self.state):
            self._drop_flat_group(group)
            flat = build_flat_group(group["params"], self.state, state_names,
                                    lambda p: self._init_state(p, state_names))
            self._flat[id(group)] = flat
        return flat

    def _drop_flat_group(self, group):
        """Forget the group's FlatGroup, if any, and take back its gradient homes."""
        flat = self._flat.pop(id(group), None)
        if flat is not None:
            flat.release()

    def _init_state(self, p, state_names):
        """``p``'s state, created (step 0, zero arrays) on its first update."""
        state = self.state[p]
        if not state:
            state["step"] = 0
            for key in state_names:
                state[key] = np.zeros_like(p.data)
        return state

    def _step_tensors(self, group, params, state_names):
        """Update ``params`` (of ``group``) per tensor, batching those that share dtype and step."""
        batches = {}  # (dtype, step) -> ([params], [grads], [states]): one kernel call each
        for p in params:
            grad = p.grad
            if grad is None:
                continue
            data = p.data
            if grad.shape != data.shape:
                raise ValueError(f"{type(self).__name__}: gradient of shape {grad.shape} does "
                                 f"not match its parameter of shape {data.shape}")
            state = self._init_state(p, state_names)
            batch = batches.setdefault((data.dtype, state["step"]), ([], [], []))
            batch[0].append(data.ravel())
            batch[1].append(grad.ravel())
            batch[2].append(state)
        for (dtype, step), (params, grads, states) in batches.items():
            for state in states:
                state["step"] = step + 1
            arrays = tuple(tuple(s[key].ravel() for s in states) for key in state_names)
            self._update(group, dtype.type, step + 1, tuple(params), tuple(grads), *arrays)

    def _state_names(self, group):
        """The names of the state arrays kept per parameter, in the kernel's argument order."""
        raise NotImplementedError

    def _update(self, group, cast, step, params, grads, *states):
        """Apply one step to tuples of 1-D views; ``cast`` is the dtype's scalar type."""
        raise NotImplementedError

    def _kernel(self, group, name):
        """The kernel ``name`` for this group's backend."""
        return get_kernel(name, group["backend"])

    def state_dict(self):
        """Return the optimizer's state as nested dicts and lists of arrays and numbers.

        Like PyTorch: ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index]}]}``,
        parameters numbered in group order. Arrays are copies.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(saved)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {
                        k: v.copy() if isinstance(v, np.ndarray) else v
                        for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a state from ``state_dict()`` (arrays are copied into the parameters' dtype)."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has {len(saved_groups)} parameter "
                             f"groups, the optimizer has {len(self.param_groups)}")
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}: loaded state dict contains a parameter group that "
                                 f"doesn't match the size of the optimizer's group")
        params = {}
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            params.update(zip(saved["params"], group["params"], strict=True))
            for key, value in saved.items():
                if key not in ("params", "backend"):  # the backend is this run's choice
                    group[key] = tuple(value) if isinstance(value, list) else value
        self.state = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            p = params[int(index)]
            self.state[p] = {
                k: self._restore_array(name, k, v, p) if isinstance(v, np.ndarray) and v.ndim
                else _plain_number(v)
                for k, v in saved_state.items()}

    @staticmethod
    def _restore_array(name, key, value, p):
        """A C-contiguous copy of a saved state array, checked against its parameter."""
        if value.shape != p.data.shape:
            raise ValueError(f"{name}: state {key!r} has shape {value.shape}, its parameter "
                             f"{p.data.shape}")
        return np.array(value, dtype=p.data.dtype, order="C")


def _plain_number(value):
    """A Python int/float from a saved number (0-d arrays and NumPy scalars come back so)."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.item()
    return value


def check_number(owner, description, value, valid, expected):
    """Raise TypeError if ``value`` is not a real number, ValueError unless ``valid(value)``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {description} must be a real number, got "
                        f"{type(value).__name__}")
    if not valid(value):  # NaN fails every comparison, so it lands here too
        raise ValueError(f"{owner}: invalid {description}: {value} (expected {expected})")


def check_betas(owner, betas):
    """Check a (beta1, beta2) pair: each in [0, 1)."""
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise TypeError(f"{owner}: beta at index {i} must be a real number, got "
                            f"{type(beta).__name__}")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{owner}: invalid beta parameter at index {i}: {beta} "
                             f"(expected 0 <= beta < 1)")


def check_flag(owner, name, value):
    """Raise TypeError unless ``value`` is a bool."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner}: {name} must be a bool, got {type(value).__name__}")


def resolve_lr(owner, lr, learning_rate, default):
    """The learning rate from ``lr`` or its Keras-style alias ``learning_rate`` (not both)."""
    if lr is not None and learning_rate is not None:
        raise TypeError(f"{owner}: got both lr={lr} and learning_rate={learning_rate}; "
                        f"give one of them")
    if lr is None:
        lr = default if learning_rate is None else learning_rate
    return lr
