"""A param group's step, prepared once and reused while nothing it relies on has changed.

For a model of many small tensors a step's cost is Python's, not the arithmetic's: per
parameter, looking up its state, checking the shape, dtype and layout of each of its arrays,
taking 1-D views of them. So the optimizer prepares a group's step once (:class:`StepPlan`: each
check made, each update call's arrays in hand) and, at the next step, only checks that the plan
still holds: that the group's parameters, their ``.data`` arrays, their state dicts and state
arrays are the very objects it was made from, and that the new gradients have the planned shapes
and dtypes. These checks compare identities and run in C (``map``), a few tens of nanoseconds
per parameter. Anything else (a parameter added or given a gradient, a ``p.data`` or state
array replaced, a gradient missing or misshapen, a state dict loaded, hyper-parameters that keep
other state, another backend) makes the optimizer plan afresh, with every check. A group's
hyper-parameters are kept alike (:class:`CheckedSettings`): checked and converted for the update
once, and again whenever one of them changed.

What is left of a small tensor's cost is its update call: Numba checks the type of each argument
and converts ("unboxes") each array it is passed. That conversion, not the dispatch, is most of
the call, and it is paid per array whether the array is passed alone or inside a tuple: one
compiled call looping over a group's tensors (PyTorch's multi-tensor ``foreach``) was measured
no faster than one call per tensor, so there is none.

A plan writes only where a step writes (each parameter's array and state, in place); the only
memory it keeps is a contiguous buffer for each non-contiguous parameter.
"""

from operator import attrgetter, getitem, is_

from ..tensor import Tensor
from .backends import build, through_a_copy

_data, _grad, _shape, _dtype = (attrgetter(name) for name in ("data", "grad", "shape", "dtype"))


def _arrays(gradients):
    """The gradients as arrays: after ``backward(create_graph=True)`` a ``.grad`` is a Tensor."""
    gradients = list(gradients)
    if Tensor in map(type, gradients):
        gradients = [g.data if isinstance(g, Tensor) else g for g in gradients]
    return gradients


class CheckedSettings:
    """A param group's settings as they were when last checked, and what a step derives from them.

    ``hyperparameters`` are the values the update function takes (``_hyperparameters_of``),
    ``state_names`` the state arrays the group keeps, ``backend`` its backend. ``holds(group)``
    tells, by identity, whether the group still has the very values it was checked with: the
    same keys, each value the same object and, for a list (``betas`` may be one), each of its
    items the same objects still, since a list can be edited in place. Anything else (a value
    replaced, even by an equal one, a key added or removed) fails it, and the optimizer checks
    the group again before it writes.
    """

    def __init__(self, group, hyperparameters, state_names):
        self.group = group  # kept alive, so that its id names no other dict
        self.keys = list(group)
        self.values = list(group.values())
        self.lists = [value for key, value in group.items()
                      if isinstance(value, list) and key != "params"]  # StepPlan checks params
        self.items = [tuple(value) for value in self.lists]
        self.hyperparameters = hyperparameters
        self.state_names = state_names
        self.backend = group["backend"]

    def holds(self, group):
        """Whether ``group`` still holds exactly the values it was checked with."""
        return (group is self.group and len(group) == len(self.keys)
                and all(map(is_, group, self.keys))
                and all(map(is_, group.values(), self.values))
                and all(map(_same_items, self.lists, self.items)))


def _same_items(values, items):
    """Whether the list ``values`` holds the objects ``items`` holds, in order."""
    return len(values) == len(items) and all(map(is_, values, items))


class StepPlan:
    """The update calls of one step over one param group, made and checked once.

    ``StepPlan(optimizer, group)`` checks every parameter that has a gradient (raising, before
    anything is written, if one cannot be updated safely); ``run`` then makes the calls;
    ``current_gradients`` tells whether the plan still holds for the next step.
    """

    def __init__(self, optimizer, group):
        settings = optimizer._settings[id(group)]  # as the optimizer checked them for this step
        self.state_table = optimizer.state  # load_state_dict replaces it
        self.backend = settings.backend
        self.names = settings.state_names
        self.group_params = list(group["params"])
        self.params = [p for p in self.group_params if p.grad is not None]
        self.idle = [p for p in self.group_params if p.grad is None]
        for p in self.params:
            optimizer._check_param(p, self.names)
        self.datas = list(map(_data, self.params))
        self.shapes = list(map(_shape, self.datas))
        self.dtypes = list(map(_dtype, self.datas))
        self.calls = None  # made at the first run, once every parameter has its state

    def first_gradients(self):
        """The gradients for the plan's first run, each in its parameter's dtype.

        A gradient of another dtype is read through a copy (a plan is not reused for those).
        """
        return [g if g.dtype == dtype else g.astype(dtype)
                for g, dtype in zip(_arrays(map(_grad, self.params)), self.dtypes, strict=True)]

    def current_gradients(self, optimizer, group):
        """The group's gradients if this plan still holds for them, else None."""
        settings = optimizer._settings[id(group)]  # as the optimizer checked them for this step
        if (optimizer.state is not self.state_table or settings.backend != self.backend
                or settings.state_names != self.names
                or len(group["params"]) != len(self.group_params)
                or not all(map(is_, group["params"], self.group_params))
                or self.idle and any(p.grad is not None for p in self.idle)
                or not all(map(is_, map(_data, self.params), self.datas))
                or self.calls is not None and not self._state_unchanged()):
            return None
        gradients = list(map(_grad, self.params))
        try:
            if list(map(_shape, gradients)) != self.shapes:
                return None
        except AttributeError:  # a gradient is None now
            return None
        if list(map(_dtype, gradients)) != self.dtypes:
            return None
        return _arrays(gradients)

    def _state_unchanged(self):
        """Whether each parameter's state dict, and each array in it, is still the planned one."""
        return (all(map(is_, map(self.state_table.get, self.params), self.states))
                and all(map(is_, map(getitem, self._dicts, self._keys), self._arrays)))

    def run(self, optimizer, settings, gradients):
        """Update every planned parameter, in place, with its gradient in ``gradients``."""
        if self.calls is None:
            self._make_calls(optimizer, build(optimizer.update, self.backend))
        hyperparameters = settings.hyperparameters
        takes_step = optimizer._takes_step
        for (p, update, data, arrays, state), grad in zip(self.calls, gradients, strict=True):
            step = state["step"] + 1
            if takes_step:
                update(data, grad.ravel(), *arrays, *hyperparameters, step)
            else:
                update(data, grad.ravel(), *arrays, *hyperparameters)
            state["step"] = step
            p._version += 1

    def _make_calls(self, optimizer, run):
        """Create missing state, then each parameter's call: its update and 1-D arrays."""
        keys = [key if key in self.names else None for key in optimizer._state_arrays]
        self.states = []
        self.calls = []
        for p, data in zip(self.params, self.datas, strict=True):
            state = optimizer._state_of(p, self.names)
            arrays = [state[key].ravel() if key is not None else None for key in keys]
            update = run.for_size(data.size)
            if not data.flags.c_contiguous:  # updated through a copy, written back each step
                update = through_a_copy(update, data)
            self.states.append(state)
            self.calls.append((p, update, data.ravel(), arrays, state))
        # For _state_unchanged: every (state dict, name) pair and the array planned there.
        self._dicts = [state for state in self.states for _ in self.names]
        self._keys = list(self.names) * len(self.states)
        self._arrays = [state[name] for state in self.states for name in self.names]

