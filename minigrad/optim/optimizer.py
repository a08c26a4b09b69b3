"""The Optimizer base: parameter groups, per-parameter state, step, zero_grad, state_dict.

Semantics follow ``torch.optim.Optimizer``. A subclass sets ``update``, its algorithm's update
function: one plain function over one parameter's arrays, the paper's equations in a loop (see
backends.py for how it runs three ways). Its signature is the contract with this base::

    update(param, grad, <state arrays...>, *, <hyper-parameters...>, step)

The state arrays it names (``exp_avg``, ...) are the keys of ``optimizer.state[p]``, None when the
group does not keep one (``_state_names``); its keyword-only parameters are the param group's keys
of the same names (``step`` aside, which the base counts). So a step is, per parameter with a
gradient::

    state = optimizer.state[p]                 # on the first update: step 0, arrays of zeros
    state["step"] += 1
    update(p.data, p.grad, *state arrays, **group's hyper-parameters, step=state["step"])
    p._version += 1                            # so backward can tell that p changed in place

A step first checks every parameter of every group and only then writes: a step that raises has
changed nothing. The checked calls of a group's step are kept and reused at the next step while
nothing they rely on has changed (plan.py): for many small tensors, the checks cost more than
the arithmetic. So are a group's checked hyper-parameters, checked again whenever one of them
changed.
"""

import inspect
from collections import defaultdict

import numpy as np

from ..tensor import Tensor
from .backends import build, check_backend, update_in_place
from .keras_names import check_argument_names
from .plan import CheckedSettings, StepPlan
from .state_dict import check_state_dict

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Optimizer:
    """Base class of all optimizers: holds ``param_groups`` and per-parameter ``state``.

    ``params`` is an iterable of Tensors, or of dicts each holding ``'params'`` (an iterable of
    Tensors) and any hyper-parameters that override ``defaults`` for that group. Each parameter
    is updated in place, in its own array, with its own gradient, as PyTorch does: parameters
    that share memory (tied weights) stay tied, and a non-contiguous ``p.data`` is updated too.
    """

    update = None  # the algorithm's update function (set by each subclass)
    _keys_added_later = ()  # group keys older checkpoints lack: loading gives them the default

    def __init_subclass__(cls, **kwargs):
        """Read the contract off the update function's signature (see the module docstring)."""
        super().__init_subclass__(**kwargs)
        if cls.update is None:
            return
        parameters = list(inspect.signature(cls.update).parameters.values())
        names = [p.name for p in parameters]
        if "step" in names[:-1]:
            raise TypeError(f"{cls.__name__}: the update function's step must come last")
        #: the update function's state arrays, in its argument order (after param and grad)
        cls._state_arrays = tuple(p.name for p in parameters[2:]
                                  if p.kind is p.POSITIONAL_OR_KEYWORD)
        #: the param-group keys it takes as keywords, in its order
        cls._hyperparameters = tuple(p.name for p in parameters
                                     if p.kind is p.KEYWORD_ONLY and p.name != "step")
        cls._takes_step = names[-1] == "step"

    def __new__(cls, *args, **kwargs):
        """Make the optimizer; Keras' argument names get a TypeError naming PyTorch's."""
        accepted = inspect.signature(cls.__init__).parameters
        check_argument_names(cls.__name__, accepted, kwargs)
        learning_rate = kwargs.get("learning_rate")
        if learning_rate is not None and ("lr" in kwargs or len(args) > 1):
            lr = kwargs["lr"] if "lr" in kwargs else args[1]
            raise TypeError(f"{cls.__name__}: got both lr={lr} and learning_rate={learning_rate}"
                            f" (Keras' name for lr); give one of them")
        return super().__new__(cls)

    def __init__(self, params, defaults):
        if isinstance(params, Tensor) or not hasattr(params, "__iter__"):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}")
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)  # Tensor -> {'step': int, state name: ndarray}
        self.param_groups = []
        self._plans = {}  # id(param group) -> the StepPlan of its last step (plan.py)
        self._settings = {}  # id(param group) -> its CheckedSettings (plan.py)
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
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group):
        """Raise ValueError/TypeError for invalid hyper-parameters (subclasses extend this)."""
        check_backend(type(self).__name__, group["backend"])

    def _state_names(self, group):
        """The state arrays ``group`` keeps per parameter (some of ``_state_arrays``)."""
        return self._state_arrays

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
        before the update. Every group is checked before anything is written.
        """
        loss = closure() if closure is not None else None
        plans = [self._plan(group) for group in self.param_groups]
        for plan, settings, gradients in plans:
            plan.run(self, settings, gradients)
        return loss

    def _plan(self, group):
        """The group's checked step plan (plan.py), its settings and gradients; writes nothing."""
        settings = self._checked_settings(group)
        plan = self._plans.get(id(group))
        gradients = plan.current_gradients(self, group) if plan is not None else None
        if gradients is None:
            plan = self._plans[id(group)] = StepPlan(self, group)
            gradients = plan.first_gradients()
        return plan, settings, gradients

    def _checked_settings(self, group):
        """The group's :class:`CheckedSettings`, checked again if anything in it changed.

        A scheduler or the user may change a group between steps: any value replaced, or a list
        in it edited in place, and the group is checked (``_check_group``) before the next write.
        """
        settings = self._settings.get(id(group))
        if settings is None or not settings.holds(group):
            self._check_group(group)
            settings = CheckedSettings(group, self._hyperparameters_of(group),
                                       self._state_names(group))
            self._settings[id(group)] = settings
        return settings

    def _hyperparameters_of(self, group):
        """The group's hyper-parameters in the update function's order, as floats and bools.

        Plain types keep Numba to one compiled version per array types (an int ``lr`` or a
        NumPy float would each compile another).
        """
        return tuple(_plain(group[key]) for key in self._hyperparameters)

    def _check_param(self, p, names):
        """Raise before any write if ``p``'s arrays cannot be updated safely and correctly.

        The update function's loop runs over ``p.data``'s elements, reading and writing the
        gradient and every state array at the same index: their shapes must be the parameter's.
        """
        data = p.data
        shape = data.shape
        if p.grad.shape != shape:
            raise ValueError(f"{self._where(p)}: gradient of shape {p.grad.shape} does not "
                             f"match its parameter of shape {shape}")
        dtype = data.dtype
        if dtype not in _FLOATS:
            raise TypeError(f"{self._where(p)}: can only optimize float32 or float64 arrays, "
                            f"got dtype {dtype}")
        if not data.flags.writeable:
            raise ValueError(f"{self._where(p)}: the parameter's array is read-only")
        state = self.state.get(p)
        if not state:
            return
        for key in names:
            array = state.get(key)
            if array is None:
                continue
            if array.shape != shape:
                raise ValueError(
                    f"{self._where(p)}: the parameter has shape {shape} but its state {key!r} "
                    f"has shape {array.shape} (did its array change shape after the first "
                    f"step?)")
            if array.dtype != dtype or not array.flags.c_contiguous:
                raise ValueError(f"{self._where(p)}: state {key!r} must be a C-contiguous "
                                 f"{dtype} array like its parameter")

    def _where(self, p):
        """``'Adam: parameter 3'``: the owner and ``p``'s index in the state dict numbering."""
        params = [q for group in self.param_groups for q in group["params"]]
        index = next(i for i, q in enumerate(params) if q is p)
        return f"{type(self).__name__}: parameter {index}"

    def _state_of(self, p, names):
        """``p``'s state, with whatever it lacks created: step 0, arrays of zeros."""
        state = self.state[p]
        state.setdefault("step", 0)
        for key in names:
            if key not in state:
                state[key] = np.zeros(p.data.shape, p.data.dtype)
        return state

    def update_arrays(self, group, param, grad, state):
        """One step of this algorithm on plain arrays, with ``group``'s current hyper-parameters.

        The seam for a compiled training step (``minigrad.compile``): it runs the same update
        function, on the group's backend, as ``step()`` does. ``param`` (updated in place) and
        ``grad`` are arrays of one shape and dtype; ``state`` is a dict like
        ``optimizer.state[p]``, with ``'step'`` and the arrays that ``_state_names(group)``
        names, C-contiguous, of ``param``'s shape and dtype (updated in place; ``'step'`` is
        advanced). Hyper-parameters are read from ``group`` at every call, so schedulers keep
        working. Nothing is checked: the caller guarantees the shapes.
        """
        names = self._state_names(group)
        arrays = [state[key].ravel() if key in names else None for key in self._state_arrays]
        step = state["step"] + 1
        steps = (step,) if self._takes_step else ()
        update_in_place(build(self.update, group["backend"]), param, grad.ravel(), *arrays,
                        *self._hyperparameters_of(group), *steps)
        state["step"] = step

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
        """Restore a state from ``state_dict()``; a bad one raises and changes nothing.

        Everything is checked first (structure, hyper-parameters, each parameter's state: its
        keys, its step, its arrays' shapes), then applied. Arrays are copied into the
        parameters' dtype. The backend stays this optimizer's.
        """
        groups, state = self._loaded(state_dict)
        self._apply_loaded(groups, state)

    def _loaded(self, state_dict):
        """The param groups and state ``state_dict`` would give, checked; nothing is applied."""
        return check_state_dict(self, state_dict)

    def _apply_loaded(self, groups, state):
        """Install what ``_loaded`` returned."""
        for group, loaded in zip(self.param_groups, groups, strict=True):
            group.clear()
            group.update(loaded)
        self.state = state


def _plain(value):
    """``value`` as Numba should see it: a bool, a float, or a tuple of floats."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, tuple | list):
        return tuple(float(v) for v in value)
    return float(value)

