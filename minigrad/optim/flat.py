"""Flat buffers for a group's small parameters: one kernel call per step instead of one per tensor.

For a model of many small tensors the arithmetic of a step is cheap and the per-tensor Python
work costs more than the update itself: raveled views of the data, the gradient and every state
array, state look-ups, argument tuples, and Numba checking and unboxing each array it is passed
(~0.1-0.4 us each, five arrays per tensor for Adam). So, like cuDNN's ``flatten_parameters``,
the optimizer moves the data of a group's small parameters into one flat buffer it owns, and each
of their state arrays into one flat buffer per state name: ``p.data`` and ``state[p][name]``
become reshaped views into those buffers, so the model, the state dict and in-place edits see
the same numbers as before. The gradients live in a flat buffer too: each small parameter gets a
*gradient home* (``p._grad_home``), a view into that buffer, and backward writes the parameter's
first gradient there instead of into a new array (the copy it makes anyway; autograd.py), so that
``p.grad`` is the view. A step then only checks, by identity, that every gradient is at home
(gradients assigned by hand are copied in once) and runs the very same kernel, once, over the
flat arrays. Like PyTorch's ``zero_grad(set_to_none=False)``, this means the next backward after
``zero_grad()`` overwrites the memory of the previous ``p.grad``: keep ``p.grad.copy()`` to hold
on to an old gradient.

Measured (perf/bench_optim.py --flat-sweep --threads 2): Adam over 40 float32 tensors of n
elements is 2.9-3.0x faster flat at n = 1024 and 4096, 2.5x at 16384, 1.5x at 65536 and 1.14x at
262144 (there the per-tensor overhead is small against the arithmetic, and both paths use the
multi-threaded kernel); an earlier run gave 2.2-2.4x, 1.8x, 1.2x and 1.1x. ``FLAT_MAX_SIZE`` is
65536: up to a 256 x 256 matrix, beyond which the gain is small and re-homing would copy large
arrays. (Before gradients had a home, the step copied them into the buffer with
``np.concatenate``, which made flat buffers lose from 12288 elements on. Passing the gradients
to the kernel as tuples instead was only 5-14% faster than that copy: Numba's unboxing of the
tuples costs most of what the copy does.)
"""

import os
from operator import attrgetter, getitem, is_

import numpy as np

# Largest tensor (in elements) homed in a flat buffer (measured: see above); 0 turns it off.
FLAT_MAX_SIZE = int(os.environ.get("MINIGRAD_OPTIM_FLAT_MAX_SIZE", 65536))

# map() with these keeps the per-step checks over all members in C: no Python-level loop.
_data, _grad, _shape = attrgetter("data"), attrgetter("grad"), attrgetter("shape")


class FlatGroup:
    """The small parameters of one param group, with data, gradients and state in flat buffers.

    Built once over ``members`` (parameters of one dtype and one step count); ``is_current``
    then checks cheaply, by identity, that nothing it relies on was replaced behind its back.
    """

    def __init__(self, group_params, members, states, state_names, state_table):
        self.group_params = list(group_params)  # the group's list as it was at build time
        self.members = list(members)
        member_ids = {id(p) for p in members}
        self.others = [p for p in group_params if id(p) not in member_ids]  # per-tensor path
        self.states = list(states)  # the members' state dicts, in order
        self.state_names = state_names
        self.state_table = state_table  # the optimizer's ``state``, replaced by load_state_dict
        self.step = states[0]["step"]
        self.shapes = [p.data.shape for p in members]
        self.dtype = members[0].data.dtype
        ends = np.cumsum([p.data.size for p in members])
        self.spans = list(zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True))
        total = self.spans[-1][1]
        self.data = np.empty(total, self.dtype)
        self.views = self._home(self.data, [p.data for p in members])
        self.grad = np.empty(total, self.dtype)  # the members' gradients live here
        self.grad_views = self._home(self.grad, [p.grad for p in members])
        self.state = {}  # state name -> flat buffer
        # For is_current: each (state dict, name) pair of the members and the array expected
        # there, as three parallel lists (one map() over them checks them all).
        self._state_dicts, self._state_keys, self._state_arrays = [], [], []
        for name in state_names:
            self.state[name] = np.empty(total, self.dtype)
            views = self._home(self.state[name], [s[name] for s in states])
            for state, view in zip(states, views, strict=True):
                state[name] = view
            self._state_dicts += states
            self._state_keys += [name] * len(states)
            self._state_arrays += views
        for p, view, grad_view in zip(members, self.views, self.grad_views, strict=True):
            p.data = view  # re-home: from now on the parameter lives in self.data
            p.grad = grad_view

    def _home(self, buffer, arrays):
        """Copy each of ``arrays`` into its span of ``buffer``; return the views, shaped alike."""
        views = []
        for array, shape, (start, stop) in zip(arrays, self.shapes, self.spans, strict=True):
            if array.shape != shape:
                raise ValueError(f"a state array of shape {array.shape} does not match its "
                                 f"parameter of shape {shape}")
            view = buffer[start:stop].reshape(shape)
            view[...] = array
            views.append(view)
        return views

    def is_current(self, group_params, state_names, state_table):
        """Whether this layout still describes the group (checked by identity: cheap).

        It is stale if the group's parameter list changed, a parameter's ``.data`` was replaced
        (say by ``p.data = new_array`` or a dtype conversion), the optimizer's state was replaced
        (``load_state_dict``), a member's state dict or one of its arrays was replaced, or the
        hyper-parameters now call for other state arrays. A stale layout is simply rebuilt,
        copying the current values.
        """
        return (state_table is self.state_table and state_names == self.state_names
                and len(group_params) == len(self.group_params)
                and all(map(is_, group_params, self.group_params))
                and all(map(is_, map(_data, self.members), self.views))
                and all(map(is_, map(state_table.get, self.members), self.states))
                and all(map(is_, map(getitem, self._state_dicts, self._state_keys),
                            self._state_arrays)))

    def gather_grads(self):
        """Have the members' gradients in ``self.grad``; False if one is missing or misshapen.

        Usually there is nothing to do: backward wrote each gradient into its home, a view into
        ``self.grad``. Gradients that arrived otherwise (assigned by the user, say) are copied in,
        and ``p.grad`` becomes the view. When a gradient is missing or misshapen the caller falls
        back to the per-tensor path for this step (which skips a missing gradient and reports a
        wrong shape).
        """
        if all(map(is_, map(_grad, self.members), self.grad_views)):
            return True
        grads = list(map(_grad, self.members))
        try:
            if list(map(_shape, grads)) != self.shapes:
                return False
        except AttributeError:  # a None gradient
            return False
        np.concatenate(grads, axis=None, out=self.grad)
        for p, view in zip(self.members, self.grad_views, strict=True):
            p.grad = view
        return True

    def release(self):
        """Stop backward writing the members' gradients here (the layout is being dropped)."""
        return None

    def count_step(self):
        """Advance the members' step counters (kept per parameter, as the state dict shows)."""
        self.step += 1
        for state in self.states:
            state["step"] = self.step
        return self.step


def build_flat_group(group_params, state_table, state_names, init_state):
    """A FlatGroup over the group's small parameters that have a gradient, or None.

    Candidates are parameters of at most ``FLAT_MAX_SIZE`` elements with a gradient this step;
    the largest set of them sharing a dtype and a step count becomes the flat group (they must
    share the step's scalars). ``init_state(p)`` creates a parameter's state if it has none.
    Returns None when fewer than two parameters qualify: one tensor gains nothing.
    """
    classes = {}
    for p in group_params:
        size = p.data.size
        if p.grad is None or not 0 < size <= FLAT_MAX_SIZE or p.grad.shape != p.data.shape:
            continue
        state = init_state(p)
        classes.setdefault((p.data.dtype, state["step"]), []).append(p)
    if not classes:
        return None
    members = max(classes.values(), key=len)
    if len(members) < 2:
        return None
    return FlatGroup(group_params, members, [state_table[p] for p in members], state_names,
                     state_table)
